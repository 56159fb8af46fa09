/*
 * smtpd's policy data: networks and domain patterns, smtpd.conf, the ratfs
 * classification (lib/blocked and the ratify/ tree), names.blocked and the
 * greylist. See policy.h for the rules and docs/ratify.5 for the formats.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "addr.h"
#include "policy.h"

enum {
	IPTEXT = 64,		/* an address or network as text, with room to spare */
	NAMETEXT = LIM_PATH + LIM_DOMAIN + 8,	/* an account name in ratify/ */
	Absent = -1,		/* dirat: no such directory */
	Failed = -2,		/* dirat: an error, in lasterr() */
};

static const unsigned char v4pre[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static const char *ratnames[] = {
	[RatNone] = "none", [RatTrusted] = "trusted", [RatAllow] = "allow",
	[RatBlock] = "block", [RatDeny] = "deny", [RatDial] = "dial", [RatDelay] = "delay",
};

static const struct {
	const char *verb;
	int class;
} verbs[] = {
	{ "trusted", RatTrusted }, { "relay", RatTrusted },
	{ "allow", RatAllow }, { "accept", RatAllow },
	{ "block", RatBlock }, { "deny", RatDeny }, { "dial", RatDial }, { "delay", RatDelay },
};

typedef struct Rnet {
	Net net;
	int class;
} Rnet;

/* a sender pattern: user NULL any, "x*" a prefix; dom NULL any, else a domain pattern */
typedef struct Racct {
	char *user, *dom;
	int class;
} Racct;

/* what policy_reset forgets */
static struct {
	int blocked, names;	/* loaded */
	Rnet *nets;
	int nnets;
	Racct *accts;
	int naccts;
	char **name;
	int nname;
	Arena ar;
} P;

static int
isv4(const unsigned char *a)
{
	return memcmp(a, v4pre, sizeof v4pre) == 0;
}

/*
 * Dotted decimal of 1 to 4 octets without leading zeros into out[4]; octets
 * not written are zero (Plan 9's parseip). The number of octets, or -1.
 */
static int
v4parse(const char *s, size_t n, unsigned char *out)
{
	size_t i = 0;
	int parts = 0, v, d;

	memset(out, 0, 4);
	for (;;) {
		if (parts == 4 || i == n || !isdigit((unsigned char)s[i]))
			return -1;
		for (v = d = 0; i < n && isdigit((unsigned char)s[i]); i++, d++) {
			if (d == 1 && v == 0)
				return -1;
			if ((v = v * 10 + s[i] - '0') > 255)
				return -1;
		}
		out[parts++] = v;
		if (i == n)
			return parts;
		if (s[i++] != '.')
			return -1;
	}
}

/* A whole address: a dotted quad or IPv6 text; IPv4 comes back v4-mapped. */
static int
ipparse(const char *s, unsigned char *a)
{
	size_t n;

	if (s == NULL || (n = strnlen(s, IPTEXT)) == 0 || n == IPTEXT)
		return -1;
	if (strchr(s, ':') == NULL) {
		memcpy(a, v4pre, sizeof v4pre);
		return v4parse(s, n, a + 12) == 4 ? 0 : -1;
	}
	return inet_pton(AF_INET6, s, a) == 1 ? 0 : -1;
}

/*
 * The canonical text: a dotted quad for IPv4, else RFC 5952 (lowercase, no
 * leading zeros, the first longest run of two or more zero groups as "::").
 * Written here so that every libc names the same ratify and grey files.
 */
static void
ipfmt(const unsigned char *a, char *buf, size_t n)
{
	unsigned w[8];
	int i, start, best = -1, bestlen = 1;
	size_t l = 0;

	if (isv4(a)) {
		snprintf(buf, n, "%u.%u.%u.%u", a[12], a[13], a[14], a[15]);
		return;
	}
	for (i = 0; i < 8; i++)
		w[i] = a[2 * i] << 8 | a[2 * i + 1];
	for (i = 0; i < 8;) {
		if (w[i] != 0) {
			i++;
			continue;
		}
		for (start = i; i < 8 && w[i] == 0; i++)
			;
		if (i - start > bestlen) {
			best = start;
			bestlen = i - start;
		}
	}
	buf[0] = 0;
	for (i = 0; i < 8 && l < n; i++) {
		if (i == best) {
			l += snprintf(buf + l, n - l, "::");
			i += bestlen - 1;
		} else
			l += snprintf(buf + l, n - l, "%s%x", l > 0 && buf[l - 1] != ':' ? ":" : "", w[i]);
	}
}

static void
maskbits(unsigned char *a, int bits)
{
	int i;

	for (i = 0; i < 16; i++, bits -= 8)
		if (bits <= 0)
			a[i] = 0;
		else if (bits < 8)
			a[i] &= 0xff << (8 - bits);
}

static int
netmatch(const Net *n, const unsigned char *a)
{
	unsigned char m[16];

	memcpy(m, a, sizeof m);
	maskbits(m, n->bits);
	return memcmp(m, n->a, sizeof m) == 0;
}

int
net_parse(const char *s, Net *n)
{
	char buf[IPTEXT];
	const char *p;
	size_t l, al;
	int bits = -1, parts;

	l = s ? strnlen(s, sizeof buf) : 0;
	if (l == 0 || l == sizeof buf)
		goto bad;
	al = strcspn(s, "/#");
	if (al < l) {
		p = s + al + 1;
		if (*p == 0 || strlen(p) > 3)
			goto bad;
		for (bits = 0; *p; p++) {
			if (!isdigit((unsigned char)*p))
				goto bad;
			bits = bits * 10 + *p - '0';
		}
	}
	memset(n, 0, sizeof *n);
	if (memchr(s, ':', al) != NULL) {
		memcpy(buf, s, al);
		buf[al] = 0;
		if (inet_pton(AF_INET6, buf, n->a) != 1 || bits > 128)
			goto bad;
		n->bits = bits < 0 ? 128 : bits;
	} else {
		memcpy(n->a, v4pre, sizeof v4pre);
		if ((parts = v4parse(s, al, n->a + 12)) < 0 || bits > 32)
			goto bad;
		/* upas's minimal mask: the octets written, never less than a /16 */
		if (bits < 0)
			bits = parts < 2 ? 16 : 8 * parts;
		n->bits = 96 + bits;
	}
	maskbits(n->a, n->bits);
	return 0;
bad:
	seterr("bad network: %.64s", s ? s : "");
	return -1;
}

int
net_match(const Net *n, const char *ip)
{
	unsigned char a[16];

	return ipparse(ip, a) == 0 && netmatch(n, a);
}

int
domain_match(const char *pat, const char *dom)
{
	size_t ld, ls;

	if (pat == NULL || dom == NULL)
		return 0;
	if (pat[0] == '*' && pat[1] == '.' && pat[2] != 0) {
		pat += 2;
		ld = strlen(dom);
		ls = strlen(pat);
		if (ld < ls || (ld > ls && dom[ld - ls - 1] != '.'))
			return 0;
		dom += ld - ls;
	}
	return strcasecmp(pat, dom) == 0;
}

/* An error at the current line of a policy file. */
static int PRINTF(2, 3)
cferr(Conf *cf, const char *fmt, ...)
{
	char buf[LIM_ERR];
	va_list ap;

	va_start(ap, fmt);
	fmtv(buf, sizeof buf, fmt, ap);
	va_end(ap);
	seterr("%s:%d: %s", cf->name, cf->lineno, buf);
	return -1;
}

/*
 * The next line of smtpd.conf or lib/blocked as lowercased tokens: fields
 * split on blanks by conf_line, then on commas, as upas's getline does.
 * The token count, 0 at the end, -1 for a bad line.
 */
static int
tokens(Conf *cf, char **tok, int max)
{
	char *f[LIM_POLICYFIELDS], *p, *q;
	int nf, i, n;

	for (;;) {
		if ((nf = conf_line(cf, f, nelem(f))) <= 0)
			return nf;
		for (n = i = 0; i < nf; i++) {
			for (p = f[i]; *p; p++)
				*p = tolower((unsigned char)*p);
			for (p = f[i]; p != NULL; p = q) {
				if ((q = strchr(p, ',')) != NULL)
					*q++ = 0;
				if (*p == 0)
					continue;
				if (n == max)
					return cferr(cf, "more than %d values", max);
				tok[n++] = p;
			}
		}
		if (n > 0)
			return n;
	}
}

/* "dom" or "*.dom" */
static int
dompatok(const char *p)
{
	if (p[0] == '*' && p[1] == '.')
		p += 2;
	return addr_domainok(p);
}

static int
onoff(Conf *cf, char **t, int n, int *v)
{
	if (n != 2 || (strcmp(t[1], "on") != 0 && strcmp(t[1], "off") != 0))
		return cferr(cf, "%s wants on or off", t[0]);
	*v = strcmp(t[1], "on") == 0;
	return 0;
}

static int
confline(Conf *cf, Smtpdconf *c, char **t, int n)
{
	int i;

	if (strcmp(t[0], "norelay") == 0)
		return onoff(cf, t, n, &c->norelay);
	if (strcmp(t[0], "verifysenderdom") == 0)
		return onoff(cf, t, n, &c->verifysenderdom);
	if (strcmp(t[0], "saveblockedmsg") == 0)
		return onoff(cf, t, n, &c->saveblockedmsg);
	if (strcmp(t[0], "defaultdomain") == 0) {
		if (n != 2 || !addr_domainok(t[1]))
			return cferr(cf, "defaultdomain wants one domain");
		snprintf(c->defaultdomain, sizeof c->defaultdomain, "%s", t[1]);
		return 0;
	}
	if (strcmp(t[0], "ournets") == 0) {
		if (n < 2)
			return cferr(cf, "ournets wants networks");
		for (i = 1; i < n; i++) {
			if (c->nournets == LIM_OURNETS)
				return cferr(cf, "more than %d ournets", LIM_OURNETS);
			if (net_parse(t[i], &c->ournets[c->nournets]) < 0)
				return cferr(cf, "bad network %.64s", t[i]);
			c->nournets++;
		}
		return 0;
	}
	if (strcmp(t[0], "ourdomains") == 0) {
		if (n < 2)
			return cferr(cf, "ourdomains wants domains");
		for (i = 1; i < n; i++) {
			if (c->nourdomains == LIM_OURDOMS)
				return cferr(cf, "more than %d ourdomains", LIM_OURDOMS);
			if (!dompatok(t[i]))
				return cferr(cf, "bad domain %.64s", t[i]);
			snprintf(c->ourdomains[c->nourdomains++], sizeof c->ourdomains[0], "%s", t[i]);
		}
		return 0;
	}
	return cferr(cf, "unknown key %.64s", t[0]);
}

int
smtpdconf_load(Smtpdconf *c, const char *path)
{
	char buf[LIM_PATHNAME], *t[LIM_POLICYFIELDS];
	Conf cf;
	int n;

	memset(c, 0, sizeof *c);
	c->norelay = c->verifysenderdom = c->saveblockedmsg = -1;
	if (path == NULL) {
		if (upas_path(buf, sizeof buf, "lib", "smtpd.conf", NULL) < 0)
			return -1;
		path = buf;
	}
	if (conf_open(&cf, path) < 0)
		return errno == ENOENT ? 0 : -1;
	while ((n = tokens(&cf, t, nelem(t))) > 0)
		if (confline(&cf, c, t, n) < 0) {
			n = -1;
			break;
		}
	conf_close(&cf);
	return n;
}

int
smtpdconf_ournet(const Smtpdconf *c, const char *ip)
{
	unsigned char a[16];
	int i;

	if (ipparse(ip, a) < 0)
		return 0;
	for (i = 0; i < c->nournets; i++)
		if (netmatch(&c->ournets[i], a))
			return 1;
	return 0;
}

int
smtpdconf_ourdomain(const Smtpdconf *c, const char *dom)
{
	int i;

	for (i = 0; i < c->nourdomains; i++)
		if (domain_match(c->ourdomains[i], dom))
			return 1;
	return 0;
}

/* Room for element n of an array grown by doubling. */
static void *
grow(void *p, int n, size_t size)
{
	if (n > 0 && (n & (n - 1)) != 0)
		return p;
	return xrealloc(p, (size_t)(n > 0 ? 2 * n : 1) * size);
}

/* a user part of an account pattern: a local part, '*' only at its end */
static int
userok(const char *u)
{
	size_t n = strlen(u), i;

	if (n == 0 || n > LIM_LOCALPART + 1)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)u[i] <= ' ' || u[i] == 0x7f || strchr("@!/", u[i]) != NULL ||
		    (u[i] == '*' && i + 1 < n))
			return 0;
	return 1;
}

/* An account value of lib/blocked (lowercased, in the arena) into a. */
static int
acctparse(char *v, Racct *a)
{
	char *s;

	a->user = a->dom = NULL;
	if ((s = strrchr(v, '@')) != NULL) {
		*s++ = 0;
		a->user = v;
		a->dom = s;
	} else if ((s = strchr(v, '!')) != NULL) {
		*s++ = 0;
		a->dom = v;
		a->user = s;
	} else
		a->dom = v;
	if (a->user != NULL && (a->user[0] == 0 || strcmp(a->user, "*") == 0))
		a->user = NULL;
	if (a->dom != NULL && (a->dom[0] == 0 || strcmp(a->dom, "*") == 0))
		a->dom = NULL;
	if (a->user == NULL && a->dom == NULL)
		return -1;
	if (a->user != NULL && !userok(a->user))
		return -1;
	if (a->dom != NULL && !dompatok(a->dom))
		return -1;
	return 0;
}

static int
acctmatch(const Racct *a, const char *user, const char *dom)
{
	size_t n;

	if (a->user != NULL) {
		n = strlen(a->user);
		if (a->user[n - 1] == '*') {
			if (strncasecmp(user, a->user, n - 1) != 0)
				return 0;
		} else if (strcasecmp(user, a->user) != 0)
			return 0;
	}
	return a->dom == NULL || domain_match(a->dom, dom);
}

static void
blockedfree(void)
{
	free(P.nets);
	free(P.accts);
	P.nets = NULL;
	P.accts = NULL;
	P.nnets = P.naccts = P.blocked = 0;
}

static int
blockedline(Conf *cf, char **t, int n, int *total)
{
	const char *verb = t[0];
	int i = 1, acct = 0, class = -1;
	size_t k;

	if (verb[0] == '*') {
		acct = 1;
		if (*++verb == 0 && n > 1)
			verb = t[i++];
	}
	for (k = 0; k < nelem(verbs); k++)
		if (strcmp(verb, verbs[k].verb) == 0)
			class = verbs[k].class;
	if (class < 0)
		return cferr(cf, "unknown verb %.64s", t[0]);
	if (acct && class == RatTrusted)
		return cferr(cf, "sender accounts cannot be trusted: anyone may claim one");
	if (i == n)
		return cferr(cf, "%s wants values", verb);
	for (; i < n; i++) {
		if (++*total > LIM_BLOCKED)
			return cferr(cf, "more than %d values", LIM_BLOCKED);
		if (acct) {
			P.accts = grow(P.accts, P.naccts, sizeof *P.accts);
			if (acctparse(arena_strdup(&P.ar, t[i]), &P.accts[P.naccts]) < 0)
				return cferr(cf, "bad account %.64s", t[i]);
			P.accts[P.naccts++].class = class;
		} else {
			P.nets = grow(P.nets, P.nnets, sizeof *P.nets);
			if (net_parse(t[i], &P.nets[P.nnets].net) < 0)
				return cferr(cf, "bad network %.64s", t[i]);
			P.nets[P.nnets++].class = class;
		}
	}
	return 0;
}

/* ROOT/lib/blocked, once per process. */
static int
blockedload(void)
{
	char path[LIM_PATHNAME], *t[LIM_POLICYFIELDS];
	Conf cf;
	int n, total = 0;

	if (P.blocked)
		return 0;
	if (upas_path(path, sizeof path, "lib", "blocked", NULL) < 0)
		return -1;
	if (conf_open(&cf, path) < 0) {
		if (errno != ENOENT)
			return -1;
		P.blocked = 1;
		return 0;
	}
	while ((n = tokens(&cf, t, nelem(t))) > 0)
		if (blockedline(&cf, t, n, &total) < 0) {
			n = -1;
			break;
		}
	conf_close(&cf);
	if (n < 0) {
		blockedfree();
		return -1;
	}
	P.blocked = 1;
	return 0;
}

void
policy_reset(void)
{
	blockedfree();
	free(P.name);
	P.name = NULL;
	P.nname = P.names = 0;
	arena_free(&P.ar);
}

/*
 * Directory name in dfd, never through a symlink; made with mode if missing
 * and mode is not 0. A descriptor, Absent, or Failed with lasterr() set.
 */
static int
dirat(int dfd, const char *name, mode_t mode, const char *what)
{
	int fd;

	if (dfd < 0)
		return dfd;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && mode != 0) {
		if (mkdirat(dfd, name, mode) < 0 && errno != EEXIST) {
			seterr("%s: mkdir:", what);
			return Failed;
		}
		fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd >= 0)
		return fd;
	if (errno == ENOENT)
		return Absent;
	seterr("%s:", what);
	return Failed;
}

static int
rootdir(void)
{
	int fd = open(upas_root(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	if (errno == ENOENT)
		return Absent;
	seterr("%s:", upas_root());
	return Failed;
}

/* ROOT/ratify/cls[/sub] */
static int
ratdir(const char *cls, const char *sub)
{
	char what[64];
	int root, rat, d;

	snprintf(what, sizeof what, "ratify/%s%s%s", cls, sub ? "/" : "", sub ? sub : "");
	root = rootdir();
	rat = dirat(root, "ratify", 0, "ratify");
	d = dirat(rat, cls, 0, what);
	if (root >= 0)
		close(root);
	if (rat >= 0)
		close(rat);
	if (d < 0 || sub == NULL)
		return d;
	rat = dirat(d, sub, 0, what);
	close(d);
	return rat;
}

/*
 * Is name in dfd a regular file (not a symlink), with an mtime within
 * maxage seconds of now if maxage is not 0? 1, 0, or -1.
 */
static int
entry(int dfd, const char *name, time_t maxage)
{
	struct stat st;
	time_t now;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		seterr("ratify: %s:", name);
		return -1;
	}
	if (!S_ISREG(st.st_mode))
		return 0;
	if (maxage != 0) {
		now = time(NULL);
		if (st.st_mtime < now - maxage || st.st_mtime > now + maxage)
			return 0;
	}
	return 1;
}

/* The bare address, then each prefix from the longest: "a.b.c.0#24". */
static int
ipentries(int dfd, const unsigned char *a, time_t maxage)
{
	unsigned char m[16];
	char text[IPTEXT], name[IPTEXT + 16];
	int v4 = isv4(a), b, r;

	ipfmt(a, text, sizeof text);
	if ((r = entry(dfd, text, maxage)) != 0)
		return r;
	for (b = v4 ? 32 : 128; b >= 0; b--) {
		memcpy(m, a, sizeof m);
		maskbits(m, v4 ? 96 + b : b);
		ipfmt(m, text, sizeof text);
		snprintf(name, sizeof name, "%s#%d", text, b);
		if ((r = entry(dfd, name, maxage)) != 0)
			return r;
	}
	return 0;
}

static int
treeip(const char *cls, const char *sub, const unsigned char *a, time_t maxage)
{
	int d = ratdir(cls, sub), r;

	if (d == Absent)
		return 0;
	if (d == Failed)
		return -1;
	r = ipentries(d, a, maxage);
	close(d);
	return r;
}

int
ratify_ip(const char *ip)
{
	unsigned char a[16];
	int class, i, r;

	if (ipparse(ip, a) < 0) {
		seterr("bad address: %.64s", ip ? ip : "");
		return -1;
	}
	if (blockedload() < 0)
		return -1;
	for (class = RatTrusted; class <= RatDelay; class++) {
		for (i = 0; i < P.nnets; i++)
			if (P.nets[i].class == class && netmatch(&P.nets[i].net, a))
				return class;
		if (class == RatTrusted)
			r = treeip("trusted", NULL, a, LIM_RATIFYTRUST);
		else
			r = treeip(ratnames[class], "ip", a, 0);
		if (r != 0)
			return r < 0 ? -1 : class;
	}
	return RatNone;
}

/* An account name of len octets in name, lowercased, if it can be a file name. */
static int
acctentry(int dfd, char *name, size_t n, int len)
{
	char *p;

	if (len < 0 || (size_t)len >= n)
		return 0;
	for (p = name; *p; p++)
		*p = tolower((unsigned char)*p);
	return name_ok(name) ? entry(dfd, name, 0) : 0;
}

/* user@dom, dom, then *.dom for dom and each domain above it */
static int
acctentries(int dfd, const char *user, const char *dom)
{
	char name[NAMETEXT];
	const char *s = dom;
	int r = 0;

	if (user[0] && dom[0])
		r = acctentry(dfd, name, sizeof name, snprintf(name, sizeof name, "%s@%s", user, dom));
	if (r == 0 && dom[0])
		r = acctentry(dfd, name, sizeof name, snprintf(name, sizeof name, "%s", dom));
	while (r == 0 && *s) {
		r = acctentry(dfd, name, sizeof name, snprintf(name, sizeof name, "*.%s", s));
		if ((s = strchr(s, '.')) == NULL)
			break;
		s++;
	}
	return r;
}

int
ratify_account(const char *user, const char *dom)
{
	int class, i, d, r;

	if (user == NULL)
		user = "";
	if (dom == NULL)
		dom = "";
	if (strlen(user) > LIM_PATH || strlen(dom) > LIM_DOMAIN) {
		seterr("sender too long");
		return -1;
	}
	if (blockedload() < 0)
		return -1;
	if (user[0] == 0 && dom[0] == 0)
		return RatNone;
	for (class = RatAllow; class <= RatDelay; class++) {
		for (i = 0; i < P.naccts; i++)
			if (P.accts[i].class == class && acctmatch(&P.accts[i], user, dom))
				return class;
		if ((d = ratdir(ratnames[class], "account")) == Failed)
			return -1;
		if (d == Absent)
			continue;
		r = acctentries(d, user, dom);
		close(d);
		if (r != 0)
			return r < 0 ? -1 : class;
	}
	return RatNone;
}

const char *
ratify_name(int class)
{
	if (class < 0 || (size_t)class >= nelem(ratnames))
		return "unknown";
	return ratnames[class];
}

int
ratify_trust(const char *ip)
{
	unsigned char a[16];
	char text[IPTEXT], name[IPTEXT + 16];
	struct stat st;
	int root, rat, tr, fd, r = -1;

	if (ipparse(ip, a) < 0) {
		seterr("bad address: %.64s", ip ? ip : "");
		return -1;
	}
	ipfmt(a, text, sizeof text);
	snprintf(name, sizeof name, "%s#%d", text, isv4(a) ? 32 : 128);
	if ((root = rootdir()) == Absent)
		seterr("%s: no mail root", upas_root());
	rat = dirat(root, "ratify", 0755, "ratify");
	tr = dirat(rat, "trusted", 0755, "ratify/trusted");
	if (tr >= 0) {
		fd = openat(tr, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0644);
		if (fd < 0)
			seterr("ratify/trusted/%s:", name);
		else if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
			seterr("ratify/trusted/%s: not a regular file", name);
		else if (futimens(fd, NULL) < 0)
			seterr("ratify/trusted/%s:", name);
		else
			r = 0;
		if (fd >= 0)
			close(fd);
	}
	if (root >= 0)
		close(root);
	if (rat >= 0)
		close(rat);
	if (tr >= 0)
		close(tr);
	return r;
}

int
policy_nameblocked(const char *name)
{
	char path[LIM_PATHNAME], *f[LIM_CONFFIELDS];
	Conf cf;
	int i, n;

	if (!P.names) {
		if (upas_path(path, sizeof path, "lib", "names.blocked", NULL) < 0)
			return -1;
		if (conf_open(&cf, path) < 0) {
			if (errno != ENOENT)
				return -1;
		} else {
			while ((n = conf_line(&cf, f, nelem(f))) > 0) {
				P.name = grow(P.name, P.nname, sizeof *P.name);
				P.name[P.nname++] = arena_strdup(&P.ar, f[0]);
			}
			conf_close(&cf);
			if (n < 0) {
				free(P.name);
				P.name = NULL;
				P.nname = 0;
				return -1;
			}
		}
		P.names = 1;
	}
	for (i = 0; name != NULL && i < P.nname; i++)
		if (strcasecmp(P.name[i], name) == 0)
			return 1;
	return 0;
}

/* Is the peer listed in grey/whitelist? A line that does not parse lists no one. */
static int
whitelisted(int grey, const unsigned char *a)
{
	char *buf, *f[2];
	size_t n;
	Conf cf;
	Net net;
	int nf, found = 0;

	if ((buf = readfileat(grey, "whitelist", LIM_GREYLIST, &n)) == NULL) {
		if (errno == ENOENT)
			return 0;
		seterr("grey/%s", lasterr());
		return -1;
	}
	conf_text(&cf, buf, n, "grey/whitelist");
	while (!found && (nf = conf_line(&cf, f, nelem(f))) != 0)
		found = nf > 0 && net_parse(f[0], &net) == 0 && netmatch(&net, a);
	conf_close(&cf);
	return found;
}

/* One write with O_APPEND: concurrent servers never interleave a line. */
static int
whiteadd(int grey, const char *ip)
{
	char line[IPTEXT + 1];
	struct stat st;
	int fd, n, r = -1;

	n = snprintf(line, sizeof line, "%s\n", ip);
	fd = openat(grey, "whitelist", O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0600);
	if (fd < 0)
		seterr("grey/whitelist:");
	else if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		seterr("grey/whitelist: not a regular file");
	else if (write(fd, line, n) != n)
		seterr("grey/whitelist: write:");
	else
		r = 0;
	if (fd >= 0)
		close(fd);
	return r;
}

/* The first attempt's file in dir d: 1 pass, 0 later, -1 error. */
static int
greyfile(int d, int grey, const char *rcpt, const char *ip)
{
	struct stat st;
	time_t age;
	int fd;

	if (fstatat(d, rcpt, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT) {
			seterr("grey/tmp: %s:", rcpt);
			return -1;
		}
		fd = openat(d, rcpt, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST) {
			seterr("grey/tmp: %s:", rcpt);
			return -1;
		}
		if (fd >= 0)
			close(fd);
		return 0;
	}
	if (!S_ISREG(st.st_mode)) {
		seterr("grey/tmp: %s: not a regular file", rcpt);
		return -1;
	}
	age = time(NULL) - st.st_mtime;
	if (age >= 0 && age < LIM_GREYMIN)
		return 0;
	if (age >= LIM_GREYMIN && age <= LIM_GREYMAX)
		return whiteadd(grey, ip) < 0 ? -1 : 1;
	if (utimensat(d, rcpt, NULL, AT_SYMLINK_NOFOLLOW) < 0) {
		seterr("grey/tmp: %s:", rcpt);
		return -1;
	}
	return 0;
}

int
grey_check(const char *localip, const char *remoteip, const char *rcptuser)
{
	unsigned char la[16], ra[16];
	char ltext[IPTEXT], rtext[IPTEXT];
	int root, grey, tmp, ld, rd, r = -1;

	if (ipparse(localip, la) < 0 || ipparse(remoteip, ra) < 0) {
		seterr("greylist: bad address");
		return -1;
	}
	if (!name_ok(rcptuser)) {
		seterr("greylist: bad recipient name");
		return -1;
	}
	ipfmt(la, ltext, sizeof ltext);
	ipfmt(ra, rtext, sizeof rtext);
	if ((root = rootdir()) == Absent)
		seterr("%s: no mail root", upas_root());
	grey = dirat(root, "grey", 0700, "grey");
	if (root >= 0)
		close(root);
	if (grey < 0)
		return -1;
	if ((r = whitelisted(grey, ra)) != 0) {
		close(grey);
		return r;
	}
	tmp = dirat(grey, "tmp", 0700, "grey/tmp");
	ld = dirat(tmp, ltext, 0700, "grey/tmp/<localip>");
	rd = dirat(ld, rtext, 0700, "grey/tmp/<localip>/<remoteip>");
	r = rd >= 0 ? greyfile(rd, grey, rcptuser, rtext) : -1;
	if (tmp >= 0)
		close(tmp);
	if (ld >= 0)
		close(ld);
	if (rd >= 0)
		close(rd);
	close(grey);
	return r;
}
