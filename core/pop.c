/*
 * Remote mailboxes: the names (remote_parse), their local copies, and the
 * POP3 client that keeps a copy in step with its account (RFC 1939, 2449
 * CAPA, 2595 STLS, 5034 AUTH; upas.md §3, Mailbox kinds).
 *
 * The copy is a Maildir. Each message fetched carries in its file name a
 * tag made from its UIDL ("-p" and 16 hex digits of its SHA-1), and
 * COPY/.pop lists the UIDLs fetched: a UIDL listed whose tag is gone was
 * deleted here and is deleted on the server; one not listed is fetched,
 * unless its tag is there already (fetched whole before a crash cut the
 * session). Nothing is deleted on the server but what was deleted here.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core.h"
#include "digest.h"
#include "keys.h"
#include "mbox.h"
#include "mimeenc.h"
#include "remote.h"
#include "tls.h"

enum {
	LIM_POPLINE = 1024,	/* a response line (RFC 2449: 512) */
	LIM_POPMSGS = 1 << 20,	/* messages of one account */
};

static const struct {
	const char *name;
	int proto, tls, apop;
} forms[] = {
	{ "pop", RM_POP, RT_MAY, 0 }, { "apop", RM_POP, RT_MAY, 1 },
	{ "pops", RM_POP, RT_IMPLICIT, 0 }, { "apops", RM_POP, RT_IMPLICIT, 1 },
	{ "poptls", RM_POP, RT_STARTTLS, 0 }, { "apoptls", RM_POP, RT_STARTTLS, 1 },
	{ "popnotls", RM_POP, RT_NONE, 0 }, { "apopnotls", RM_POP, RT_NONE, 1 },
	{ "imap", RM_IMAP, RT_MAY, 0 }, { "imaps", RM_IMAP, RT_IMPLICIT, 0 },
};

int
remote_parse(const char *name, Remote *r)
{
	char buf[LIM_PATHNAME], *w[4], *p, *c;
	size_t i;
	int n;

	memset(r, 0, sizeof *r);
	if (name[0] != '/' || snprintf(buf, sizeof buf, "%s", name + 1) >= (int)sizeof buf)
		return 0;
	for (n = 0, p = buf; n < 4 && p; n++)
		w[n] = strsep(&p, "/");
	for (i = 0; i < nelem(forms) && strcmp(w[0], forms[i].name) != 0; i++)
		;
	if (i == nelem(forms) || n < 2)
		return 0;
	r->proto = forms[i].proto;
	r->tls = forms[i].tls;
	r->apop = forms[i].apop;
	if (w[1][0] == '[' && (c = strchr(w[1], ']')) != NULL) {	/* [v6]:port */
		*c++ = 0;
		memmove(w[1], w[1] + 1, strlen(w[1] + 1) + 1);
		c = *c == ':' ? c + 1 : NULL;
	} else if ((c = strchr(w[1], ':')) != NULL)
		*c++ = 0;
	if (w[1][0] == 0 || strlen(w[1]) > LIM_DOMAIN || !name_ok(w[1]) ||
	    (c && (strlen(c) == 0 || strlen(c) >= sizeof r->port || strspn(c, "0123456789") != strlen(c))) ||
	    (n > 2 && (strlen(w[2]) > LIM_AUTHUSER || !name_ok(w[2]))) ||
	    (n > 3 && (r->proto != RM_IMAP || p != NULL || strlen(w[3]) >= sizeof r->box || !name_ok(w[3])))) {
		seterr("%s: not a remote mailbox (/%s/host[:port]%s)", name, forms[i].name,
		    r->proto == RM_IMAP ? "[/user[/box]]" : "[/user]");
		return -1;
	}
	snprintf(r->host, sizeof r->host, "%s", w[1]);
	snprintf(r->port, sizeof r->port, "%s", c ? c : "");
	if (n > 2)
		snprintf(r->user, sizeof r->user, "%s", w[2]);
	if (n > 3)
		snprintf(r->box, sizeof r->box, "%s", w[3]);
	return 1;
}

int
remote_cache(const Remote *r, const char *login, char *buf, size_t n)
{
	char name[LIM_DOMAIN + LIM_AUTHUSER + LIM_PATHNAME + 16];

	snprintf(name, sizeof name, "%s.%s%s%s%s%s", r->proto == RM_POP ? "pop" : "imap", r->host,
	    r->user[0] ? "." : "", r->user, r->box[0] ? "." : "", r->box);
	return upas_path(buf, n, "box", login, name, NULL);
}

typedef struct Pop {
	Conn c;
	Bio b;
	char line[LIM_POPLINE];
	const char *host;
	int tls;
	int stls;		/* CAPA */
	char mechs[256];
} Pop;

/* One response line: 1 +OK, 0 -ERR, -1 the connection failed. */
static int
reply(Pop *p)
{
	ssize_t n = bio_line(&p->b, p->line, sizeof p->line);

	if (n <= 0) {
		seterr("%s: %s", p->host, n == BIO_LONG ? "response line too long" : "connection lost");
		return -1;
	}
	bio_chomp(p->line, &n);
	if (strncmp(p->line, "+OK", 3) == 0)
		return 1;
	if (strncmp(p->line, "-ERR", 4) == 0 || strncmp(p->line, "+ ", 2) == 0 || strcmp(p->line, "+") == 0)
		return p->line[0] == '+' ? 2 : 0;
	seterr("%s: not POP3: %.80s", p->host, p->line);
	return -1;
}

static int
cmd(Pop *p, const char *fmt, const char *arg)
{
	if (bio_printf(&p->b, fmt, arg) < 0 || bio_puts(&p->b, "\r\n") < 0 || bio_flush(&p->b) < 0) {
		seterr("%s: connection lost", p->host);
		return -1;
	}
	return reply(p);
}

/* A command's failure in lasterr: what the server said. */
static int
refused(Pop *p, const char *what)
{
	seterr("%s: %s: %.200s", p->host, what, p->line);
	return -1;
}

/*
 * A multi-line response's body, dot-stuffing undone and CRLF made LF, into
 * out (at most max octets); 0, or -1.
 */
static int
multiline(Pop *p, Str *out, size_t max)
{
	int c, bol = 1, dot = 0;

	for (;;) {
		if ((c = bio_getc(&p->b)) < 0) {
			seterr("%s: connection lost", p->host);
			return -1;
		}
		if (bol && c == '.' && !dot) {
			dot = 1;	/* stuffing, or the end */
			continue;
		}
		if (dot && bol) {
			if (c == '\r')
				continue;
			if (c == '\n')
				return 0;
		}
		bol = dot = 0;
		if (c == '\r') {
			if ((c = bio_getc(&p->b)) != '\n') {
				str_addc(out, '\r');
				if (c < 0)
					continue;
			}
		}
		if (c == '\n')
			bol = 1;
		str_addc(out, c);
		if (out->n > max) {
			seterr("%s: message larger than %zu octets", p->host, max);
			return -1;
		}
	}
}

static void
capa(Pop *p)
{
	Str s = { 0 };
	char *l, *e;

	p->stls = 0;
	p->mechs[0] = 0;
	if (cmd(p, "CAPA", NULL) != 1 || multiline(p, &s, 64 << 10) < 0) {
		str_free(&s);
		return;
	}
	str_addc(&s, 0);
	for (l = s.p; l && *l; l = e) {
		if ((e = strchr(l, '\n')) != NULL)
			*e++ = 0;
		if (strcasecmp(l, "STLS") == 0)
			p->stls = 1;
		else if (strncasecmp(l, "SASL ", 5) == 0)
			snprintf(p->mechs, sizeof p->mechs, " %s ", l + 5);
	}
	str_free(&s);
}

int
remote_dial(Conn *c, Bio *b, const Remote *r, const char *svc, const char *tlssvc, Tlstrust *t, char *pins, char *ca)
{
	char dialstr[LIM_DOMAIN + 32];
	int fd;

	snprintf(dialstr, sizeof dialstr, strchr(r->host, ':') ? "tcp![%s]!%s" : "tcp!%s!%s", r->host,
	    r->port[0] ? r->port : r->tls == RT_IMPLICIT ? tlssvc : svc);
	if ((fd = dial(dialstr, svc, LIM_DIAL * 1000)) < 0)
		return -1;
	conn_init(c, fd, fd);
	c->timeout = REMOTE_IDLE * 1000;
	bio_init(b, c);
	tls_trustfiles(t, "mail", pins, ca, LIM_PATHNAME);
	if (r->tls == RT_IMPLICIT && tls_client(c, r->host, t) < 0) {
		c->close(c);
		c->close = NULL;
		return -1;
	}
	return 0;
}

/* Connect, TLS as the form asks, log in. 0 or -1. */
static int
login(Pop *p, const Remote *r, const char *owner)
{
	char pins[LIM_PATHNAME], ca[LIM_PATHNAME], hex[33], stamp[LIM_POPLINE], *ts, *te;
	unsigned char mac[16];
	Tlstrust t;
	Str s = { 0 };
	Key k;
	int i, rc = -1;

	p->host = r->host;
	if (remote_dial(&p->c, &p->b, r, "pop3", "pop3s", &t, pins, ca) < 0)
		return -1;
	p->tls = r->tls == RT_IMPLICIT;
	if ((i = reply(p)) != 1)
		return i < 0 ? -1 : refused(p, "greeting");
	/* APOP's timestamp, before anything else is read into line */
	ts = strchr(p->line, '<');
	te = ts ? strchr(ts, '>') : NULL;
	snprintf(stamp, sizeof stamp, "%.*s", ts && te ? (int)(te - ts + 1) : 0, ts ? ts : "");
	capa(p);
	if (!p->tls && r->tls != RT_NONE && (p->stls || r->tls == RT_STARTTLS)) {
		if ((i = cmd(p, "STLS", NULL)) != 1) {
			rc = i < 0 ? -1 : refused(p, "STLS");
			goto out;
		}
		if (tls_starttls_client(&p->b, r->host, &t) < 0)
			goto out;
		p->tls = 1;
		capa(p);	/* RFC 2595 §4: what was said before counts for nothing */
	}
	if (r->tls == RT_STARTTLS && !p->tls) {
		seterr("%s: no STLS", r->host);
		goto out;
	}
	if ((i = keys_find(owner, "pop3", r->host, r->user[0] ? r->user : NULL, &k)) <= 0) {
		if (i == 0)
			seterr("%s: no key proto=pass service=pop3 server=%s in %s's keys", r->host, r->host, owner);
		goto out;
	}
	if (r->apop) {
		if (stamp[0] == 0) {
			seterr("%s: APOP: the greeting has no timestamp", r->host);
			goto wipe;
		}
		str_adds(&s, stamp);
		str_adds(&s, k.password);
		md5(s.p, s.n, mac);
		for (i = 0; i < 16; i++)
			snprintf(hex + 2 * i, 3, "%02x", mac[i]);
		str_reset(&s);
		str_fmt(&s, "%s %s", k.user, hex);
		i = cmd(p, "APOP %s", s.p);
	} else if (strcasestr(p->mechs, " CRAM-MD5 ") != NULL) {
		if ((i = cmd(p, "AUTH CRAM-MD5", NULL)) == 2) {
			str_reset(&s);
			cram_md5(&s, k.user, k.password, p->line + 1 + (p->line[1] == ' '));
			i = cmd(p, "%s", s.p);
		}
	} else if (p->tls || r->tls == RT_NONE) {
		if ((i = cmd(p, "USER %s", k.user)) == 1)
			i = cmd(p, "PASS %s", k.password);
	} else {
		seterr("%s: no APOP, no CRAM-MD5 and no TLS: the password is not sent in the clear"
		    " (/popnotls/ sends it)", r->host);
		goto wipe;
	}
	if (i == 1)
		rc = 0;
	else if (i >= 0)
		refused(p, "login");
wipe:
	keys_wipe(&k);
out:
	if (s.p)
		explicit_bzero(s.p, s.cap);
	str_free(&s);
	return rc;
}

/* The tag in a message's id: '-', one of pfx, 16 hex digits; or NULL. */
const char *
remote_tagin(const char *id, const char *pfx)
{
	for (; (id = strchr(id, '-')) != NULL; id++)
		if (id[1] && strchr(pfx, id[1]) && strspn(id + 2, "0123456789abcdef") >= 16)
			return id;
	return NULL;
}

int
remote_tags(const char *cache, const char *pfx, char ***v, int **at)
{
	char id[MB_IDLEN];
	const char *sp;
	Mailbox *mb;
	int i, n = 0;

	if ((mb = mb_open(cache, MB_RDONLY)) == NULL)
		return -1;
	*v = xmalloc((mb_count(mb) + 1) * sizeof **v);
	*at = xmalloc((mb_count(mb) + 1) * sizeof **at);
	for (i = 0; i < mb_count(mb); i++)
		if ((sp = remote_tagin(mb_id(mb, i, id), pfx)) != NULL) {
			(*v)[n] = xstrndup(sp, 18);
			(*at)[n++] = i;
		}
	mb_close(mb);
	return n;
}

/* The tag of a UIDL in a message's file name. */
static void
tag(const char *uidl, char *out)
{
	unsigned char h[20];
	int i;

	sha1(uidl, strlen(uidl), h);
	out[0] = '-';
	out[1] = 'p';
	for (i = 0; i < 8; i++)
		snprintf(out + 2 + 2 * i, 3, "%02x", h[i]);
}

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
has(char **v, int n, const char *s)
{
	return n > 0 && bsearch(&s, v, n, sizeof *v, cmpstr) != NULL;
}

/* COPY/.pop: "upas-pop 1", then a UIDL a line (str_word); sorted into *v. */
static int
loadstate(const char *cache, char ***v)
{
	char path[LIM_PATHNAME + 8], *t, *l, *e, *o, *r;
	size_t len;
	int n = 0, a = 0;

	*v = NULL;
	snprintf(path, sizeof path, "%s/.pop", cache);
	if ((t = readfile(path, 64 << 20, &len)) == NULL)
		return errno == ENOENT ? 0 : -1;
	if (strncmp(t, "upas-pop 1\n", 11) == 0)
		for (l = t + 11; (e = strchr(l, '\n')) != NULL; l = e + 1) {
			*e = 0;
			for (o = r = l; *r; r++)	/* %XX undone */
				if (*r == '%' && hexdigit(r[1]) >= 0 && hexdigit(r[2]) >= 0) {
					*o++ = hexdigit(r[1]) * 16 + hexdigit(r[2]);
					r += 2;
				} else
					*o++ = *r;
			*o = 0;
			if (n == a)
				*v = xrealloc(*v, (a = a ? 2 * a : 64) * sizeof **v);
			(*v)[n++] = xstrdup(l);
		}
	free(t);
	if (n > 1)
		qsort(*v, n, sizeof **v, cmpstr);
	return n;
}

int
remote_putstate(const char *cache, const char *name, Str *s)
{
	char path[LIM_PATHNAME + 8], tmp[LIM_PATHNAME + 16];
	int fd, r = -1;

	snprintf(path, sizeof path, "%s/%s", cache, name);
	snprintf(tmp, sizeof tmp, "%s/%s.tmp", cache, name);
	unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) >= 0 &&
	    fd_writeall(fd, s->p, s->n) == 0 && fsync(fd) == 0 && close(fd) == 0 && rename(tmp, path) == 0 &&
	    mb_fsyncparent(path) == 0)
		r = 0;
	else
		seterr("%s:", path);
	str_free(s);
	return r;
}

int
remote_mkcopy(const char *path)
{
	static const char *const sub[] = { "", "/cur", "/new", "/tmp" };
	char p[LIM_PATHNAME + 8];
	size_t i;

	for (i = 0; i < nelem(sub); i++) {
		snprintf(p, sizeof p, "%s%s", path, sub[i]);
		if (mkdir(p, 0700) < 0 && errno != EEXIST) {
			seterr("%s:", p);
			return -1;
		}
	}
	return mb_fsyncparent(path);
}

/* UIDL's lines after its +OK, up to ".": the UIDLs and their numbers,
 * *n of them (none on entry; kept on failure too, for the caller to free); 0 or -1. */
static int
uidls(Pop *p, char ***uidl, unsigned **num, int *n)
{
	unsigned long m;
	char *sp;
	int a = 0;

	for (;;) {
		ssize_t len = bio_line(&p->b, p->line, sizeof p->line);

		if (len <= 0) {
			seterr("%s: UIDL: %s", p->host, len == BIO_LONG ? "line too long" : "connection lost");
			return -1;
		}
		bio_chomp(p->line, &len);
		if (strcmp(p->line, ".") == 0)
			return 0;
		m = strtoul(p->line, &sp, 10);
		while (*sp == ' ')
			sp++;
		if (m == 0 || sp == p->line || *sp == 0 || strlen(sp) > LIM_UIDL || strchr(sp, ' ') || *n >= LIM_POPMSGS) {
			seterr("%s: UIDL: a bad line: %.80s", p->host, p->line);
			return -1;
		}
		if (*n == a) {
			a = a ? 2 * a : 256;
			*uidl = xrealloc(*uidl, a * sizeof **uidl);
			*num = xrealloc(*num, a * sizeof **num);
		}
		(*uidl)[*n] = xstrdup(sp);
		(*num)[(*n)++] = m;
	}
}

int
pop_sync(const Remote *r, const char *login_, const char *cache, int *got, int *gone)
{
	Pop *p = xmalloc(sizeof *p);
	char **state = NULL, **uidl = NULL, **local = NULL, tg[24], id[MB_IDLEN];
	unsigned *num = NULL;
	Str s = { 0 };
	int nstate = 0, n = 0, nlocal = 0, i, k, rc = -1, *dele = NULL, ndele = 0, *lat = NULL;

	*got = *gone = 0;
	memset(p, 0, sizeof *p);
	p->c.close = NULL;
	if (remote_mkcopy(cache) < 0 || (nstate = loadstate(cache, &state)) < 0)
		goto out;
	/* the tags the copy holds */
	if ((nlocal = remote_tags(cache, "p", &local, &lat)) < 0)
		goto out;
	if (nlocal > 1)
		qsort(local, nlocal, sizeof *local, cmpstr);
	if (login(p, r, login_) < 0)
		goto out;
	if ((i = cmd(p, "UIDL", NULL)) != 1) {
		if (i == 0)
			refused(p, "UIDL (a server without it cannot be kept in step)");
		goto out;
	}
	if (uidls(p, &uidl, &num, &n) < 0)
		goto out;
	dele = xmalloc((n + 1) * sizeof *dele);
	for (k = 0; k < n; k++) {
		tag(uidl[k], tg);
		if (has(local, nlocal, tg))
			continue;	/* here (perhaps fetched before a crash) */
		if (has(state, nstate, uidl[k])) {
			/* fetched, then deleted here */
			snprintf(tg, sizeof tg, "%u", num[k]);
			if ((i = cmd(p, "DELE %s", tg)) != 1) {
				if (i == 0)
					refused(p, "DELE");
				goto out;
			}
			dele[ndele++] = k;
			continue;
		}
		snprintf(id, sizeof id, "%u", num[k]);
		if ((i = cmd(p, "RETR %s", id)) != 1) {
			if (i == 0)
				refused(p, "RETR");
			goto out;
		}
		str_reset(&s);
		if (multiline(p, &s, LIM_MBOXMSG) < 0)
			goto out;
		maildir_tag = tg;
		i = maildir_append(cache, s.p ? s.p : "", s.n);
		maildir_tag = NULL;
		if (i < 0)
			goto out;
		(*got)++;
	}
	if ((i = cmd(p, "QUIT", NULL)) != 1) {
		if (i == 0)
			refused(p, "QUIT (nothing deleted)");
		goto out;
	}
	/* what the server has and the copy had or has now; the deleted go */
	for (k = 0; k < ndele; k++) {
		free(uidl[dele[k]]);
		uidl[dele[k]] = NULL;
	}
	*gone = ndele;
	str_reset(&s);
	str_adds(&s, "upas-pop 1\n");
	for (i = 0; i < n; i++)
		if (uidl[i] != NULL) {
			str_word(&s, uidl[i]);
			str_addc(&s, '\n');
		}
	rc = remote_putstate(cache, ".pop", &s);
out:
	if (p->c.close != NULL)
		p->c.close(&p->c);
	for (i = 0; i < nstate; i++)
		free(state[i]);
	for (i = 0; i < n; i++)
		free(uidl[i]);
	for (i = 0; i < nlocal; i++)
		free(local[i]);
	free(state);
	free(uidl);
	free(num);
	free(local);
	free(lat);
	free(dele);
	free(p);
	str_free(&s);
	return rc;
}

int
remote_sync(const Remote *r, const char *login, const char *cache, int *got, int *gone)
{
	return (r->proto == RM_POP ? pop_sync : imap_sync)(r, login, cache, got, gone);
}

size_t
pop_read(Conn *c, char ***uidl, int *n)
{
	Pop *p = xmalloc(sizeof *p);
	unsigned *num = NULL;
	Str s = { 0 };
	size_t all = 0;

	memset(p, 0, sizeof *p);
	bio_init(&p->b, c);
	p->host = "pop";
	*uidl = NULL;
	*n = 0;
	if (reply(p) >= 0) {
		capa(p);
		if (cmd(p, "UIDL", NULL) == 1)
			uidls(p, uidl, &num, n);
		while (cmd(p, "RETR 1", NULL) == 1 && multiline(p, &s, LIM_MBOXMSG) == 0) {
			all += s.n;
			str_reset(&s);
		}
	}
	free(num);
	free(p);
	str_free(&s);
	return all;
}
