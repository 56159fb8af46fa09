/*
 * A DNS stub resolver of our own: musl's res_query cannot ask a server on
 * another port, never falls back to TCP, and mail needs strict parsing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "dns.h"
#include "mimeenc.h"

enum {
	HDRLEN = 12,
	CLASS_IN = 1,
	F_QR = 0x8000,
	F_TC = 0x0200,
	F_RD = 0x0100,
	DEFTIMEOUT = 5,
	DEFATTEMPTS = 2,
};

typedef struct Ans {
	size_t owner, rdata;
	unsigned type, rdlen;
} Ans;

static unsigned
get16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static void
put16(unsigned char *p, unsigned v)
{
	p[0] = v >> 8;
	p[1] = v;
}

/*
 * The name at off as text without the trailing dot ("" for the root) into
 * out[LIM_DOMAIN + 1]; *end is where the name ends in place. A compression
 * pointer must point before every part of the name read so far, so no name
 * can loop, and at most LIM_DNSHOPS are followed. 0; 1 for a well-formed
 * name that text cannot carry (a dot, blank, control or non-ASCII octet in
 * a label: it comes out with '?' and matches nothing); -1 malformed.
 */
static int
getname(const unsigned char *msg, size_t n, size_t off, char *out, size_t *end)
{
	size_t p = off, lim = off, wire = 0, o = 0, ptr;
	unsigned c, i, ch;
	int hops = 0, odd = 0;

	*end = 0;
	for (;;) {
		if (p >= n)
			return -1;
		c = msg[p];
		if ((c & 0xc0) == 0xc0) {
			if (p + 1 >= n)
				return -1;
			ptr = (c & 0x3f) << 8 | msg[p + 1];
			if (ptr >= lim || ++hops > LIM_DNSHOPS)
				return -1;
			if (*end == 0)
				*end = p + 2;
			p = lim = ptr;
			continue;
		}
		if (c & 0xc0)	/* extended label types (RFC 6891 §5) */
			return -1;
		wire += c + 1;
		if (wire > LIM_DOMAIN)
			return -1;
		if (c == 0)
			break;
		if (p + 1 + c > n)
			return -1;
		if (o > 0)
			out[o++] = '.';
		for (i = 0; i < c; i++) {
			ch = msg[p + 1 + i];
			if (ch <= ' ' || ch >= 0x7f || ch == '.') {
				odd = 1;
				ch = '?';
			}
			out[o++] = ch;
		}
		p += 1 + c;
	}
	out[o] = 0;
	if (*end == 0)
		*end = p + 1;
	return odd;
}

/* Length of name without one trailing dot, or -1 if it is no name to ask for. */
static int
qnamelen(const char *name)
{
	size_t n = strnlen(name, LIM_DOMAIN + 2), i, lab = 0;
	int c;

	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n == 0 || n > LIM_DOMAIN - 2)
		return -1;
	for (i = 0; i < n; i++) {
		c = (unsigned char)name[i];
		if (c == '.') {
			if (lab == 0)
				return -1;
			lab = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_') || ++lab > LIM_LABEL)
			return -1;
	}
	return lab == 0 ? -1 : (int)n;
}

int
dns_hostok(const char *s)
{
	size_t n = strnlen(s, LIM_DOMAIN + 1), i, lab = 0;
	int c;

	if (n == 0 || n > LIM_DOMAIN - 2)
		return 0;
	for (i = 0; i <= n; i++) {
		c = (unsigned char)s[i];
		if (c == '.' || c == 0) {
			if (lab == 0 || s[i - 1] == '-')
				return 0;
			lab = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
			return 0;
		if ((lab == 0 && c == '-') || ++lab > LIM_LABEL)
			return 0;
	}
	return 1;
}

int
dns_query(unsigned char *buf, size_t n, unsigned id, const char *name, int type)
{
	int len = qnamelen(name);
	size_t p = HDRLEN, i, lab;

	if (len < 0) {
		seterr("%.*s: bad domain name", LIM_DOMAIN, name);
		return -1;
	}
	if ((size_t)len + 2 + 4 + HDRLEN > n) {
		seterr("query buffer too small");
		return -1;
	}
	memset(buf, 0, HDRLEN);
	put16(buf, id);
	put16(buf + 2, F_RD);
	put16(buf + 4, 1);
	for (i = 0; i < (size_t)len; i += lab + 1) {
		for (lab = 0; i + lab < (size_t)len && name[i + lab] != '.'; lab++)
			;
		buf[p++] = lab;
		memcpy(buf + p, name + i, lab);
		p += lab;
	}
	buf[p++] = 0;
	put16(buf + p, type);
	put16(buf + p + 2, CLASS_IN);
	return p + 4;
}

static int
bad(const char *why)
{
	seterr("malformed DNS reply: %s", why);
	return -1;
}

/* The data of a record of the asked type into rr; 0, 1 to leave it out, -1 malformed. */
static int
rrdata(const unsigned char *msg, size_t n, const Ans *a, Dnsrr *rr)
{
	size_t end;
	int k;

	switch (a->type) {
	case DNS_A:
	case DNS_AAAA:
		if (a->rdlen != (a->type == DNS_A ? 4u : 16u))
			return bad("address of the wrong size");
		inet_ntop(a->type == DNS_A ? AF_INET : AF_INET6, msg + a->rdata, rr->data, sizeof rr->data);
		return 0;
	case DNS_MX:
		if (a->rdlen < 3)
			return bad("short MX record");
		rr->pref = get16(msg + a->rdata);
		k = getname(msg, n, a->rdata + 2, rr->data, &end);
		break;
	default:
		k = getname(msg, n, a->rdata, rr->data, &end);
		break;
	}
	if (k < 0 || end != a->rdata + a->rdlen)
		return bad("bad name in record data");
	/* the root is kept for MX: a null MX (RFC 7505) */
	if (k > 0 || (rr->data[0] == 0 ? a->type != DNS_MX : !dns_hostok(rr->data)))
		return 1;
	return 0;
}

int
dns_parse(const unsigned char *msg, size_t n, Dnsreply *r)
{
	Ans ans[LIM_DNSANSWERS];
	char owner[LIM_DOMAIN + 1];
	unsigned flags, an, i, cls, hops = 0;
	size_t p, e;
	int k;

	memset(r, 0, sizeof *r);
	if (n < HDRLEN)
		return bad("short header");
	r->id = get16(msg);
	flags = get16(msg + 2);
	if (!(flags & F_QR) || (flags >> 11 & 0xf) != 0)
		return bad("not a reply to a query");
	r->tc = !!(flags & F_TC);
	r->rcode = flags & 0xf;
	if (get16(msg + 4) != 1)
		return bad("not one question");
	an = get16(msg + 6);
	if (an > LIM_DNSANSWERS)
		return bad("too many answers");
	if (getname(msg, n, HDRLEN, r->qname, &p) != 0 || r->qname[0] == 0 || p + 4 > n)
		return bad("bad question");
	r->qtype = get16(msg + p);
	if (get16(msg + p + 2) != CLASS_IN || !(r->qtype == DNS_A || r->qtype == DNS_AAAA ||
	    r->qtype == DNS_MX || r->qtype == DNS_PTR))
		return bad("unexpected question");
	p += 4;
	strcpy(r->name, r->qname);
	/* a truncated reply is asked again over TCP; an error carries nothing we use */
	if (r->tc || r->rcode != DNS_NOERROR)
		return 0;
	for (i = 0; i < an; i++) {
		ans[i].owner = p;
		if (getname(msg, n, p, owner, &e) < 0 || e + 10 > n)
			return bad("truncated answer");
		ans[i].type = get16(msg + e);
		cls = get16(msg + e + 2);
		ans[i].rdlen = get16(msg + e + 8);
		ans[i].rdata = e + 10;
		if (ans[i].rdata + ans[i].rdlen > n)
			return bad("truncated record data");
		if (cls != CLASS_IN)
			ans[i].type = 0;
		p = ans[i].rdata + ans[i].rdlen;
	}
	/* the chain from the question to the name that owns the data */
	for (;;) {
		for (i = 0; i < an; i++)
			if (ans[i].type == DNS_CNAME && getname(msg, n, ans[i].owner, owner, &e) == 0 &&
			    strcasecmp(owner, r->name) == 0)
				break;
		if (i == an)
			break;
		if (++hops > LIM_DNSCNAME)
			return bad("CNAME chain too long");
		k = getname(msg, n, ans[i].rdata, r->name, &e);
		if (k < 0 || e != ans[i].rdata + ans[i].rdlen || r->name[0] == 0)
			return bad("bad CNAME");
		if (k > 0)	/* a target no text can name owns nothing we can match */
			break;
	}
	for (i = 0; i < an && r->nrr < LIM_DNSRR; i++) {
		if (ans[i].type != (unsigned)r->qtype || getname(msg, n, ans[i].owner, owner, &e) != 0 ||
		    strcasecmp(owner, r->name) != 0)
			continue;
		if ((k = rrdata(msg, n, &ans[i], &r->rr[r->nrr])) < 0)
			return -1;
		if (k > 0)
			r->nbad++;
		else
			r->nrr++;
	}
	return 0;
}

int
dns_match(const Dnsreply *r, unsigned id, const char *name, int type)
{
	int len = qnamelen(name);

	return len >= 0 && r->id == id && r->qtype == type && strlen(r->qname) == (size_t)len &&
	    strncasecmp(r->qname, name, len) == 0;
}

/* ADDR or ADDR#PORT (dnsmasq's form) as the next nameserver; nonsense is ignored. */
static void
addns(Dnsconf *c, const char *s)
{
	struct addrinfo hints = { 0 }, *ai;
	char host[INET6_ADDRSTRLEN + 16], *port = "53", *h;
	size_t n = strlen(s);
	long v;
	char *e;

	if (c->nns == LIM_DNSSERVERS || n >= sizeof host)
		return;
	memcpy(host, s, n + 1);
	if ((h = strrchr(host, '#')) != NULL) {
		*h = 0;
		port = h + 1;
		v = strtol(port, &e, 10);
		if (*port < '0' || *port > '9' || *e || v < 1 || v > 65535)
			return;
	}
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if (getaddrinfo(host, port, &hints, &ai) != 0)
		return;
	if (ai->ai_addrlen <= sizeof c->ns[0]) {
		memcpy(&c->ns[c->nns], ai->ai_addr, ai->ai_addrlen);
		c->nslen[c->nns] = ai->ai_addrlen;
		snprintf(c->nsname[c->nns], sizeof c->nsname[0], "%s", s);
		c->nns++;
	}
	freeaddrinfo(ai);
}

static int
optval(const char *s, int max)
{
	long v;
	char *e;

	if (*s < '0' || *s > '9')
		return -1;
	v = strtol(s, &e, 10);
	if (*e)
		return -1;
	return v < 1 ? 1 : v > max ? max : (int)v;
}

void
dns_confparse(Dnsconf *c, char *text, size_t n)
{
	char *f[LIM_CONFFIELDS];
	Conf cf;
	int k, i, v;

	memset(c, 0, sizeof *c);
	c->timeout = DEFTIMEOUT;
	c->attempts = DEFATTEMPTS;
	conf_text(&cf, text, n, "resolv.conf");
	while ((k = conf_line(&cf, f, nelem(f))) != 0) {
		if (k < 2)
			continue;
		if (strcmp(f[0], "nameserver") == 0)
			addns(c, f[1]);
		else if (strcmp(f[0], "options") == 0) {
			for (i = 1; i < k; i++) {
				if (strncmp(f[i], "timeout:", 8) == 0 && (v = optval(f[i] + 8, LIM_DNSTIMEOUT)) > 0)
					c->timeout = v;
				else if (strncmp(f[i], "attempts:", 9) == 0 && (v = optval(f[i] + 9, LIM_DNSATTEMPTS)) > 0)
					c->attempts = v;
			}
		}
	}
	if (c->nns == 0)
		addns(c, "127.0.0.1");
}

void
dns_confload(Dnsconf *c)
{
	char path[LIM_PATHNAME], *t = NULL;
	size_t n = 0;

	if (upas_path(path, sizeof path, "lib", "resolv.conf", NULL) == 0)
		t = readfile(path, LIM_CONFFILE, &n);
	if (t == NULL)
		t = readfile("/etc/resolv.conf", LIM_CONFFILE, &n);
	if (t == NULL) {
		t = xstrdup("");
		n = 0;
	}
	dns_confparse(c, t, n);
	free(t);
}

static int64_t
earliest(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* The rest of a TCP exchange: the reply's length, then the reply. */
static int
tcpread(Conn *cn, unsigned char *p, size_t n)
{
	ssize_t k;

	while (n > 0) {
		if ((k = cn->read(cn, p, n)) <= 0)
			return -1;
		p += k;
		n -= k;
	}
	return 0;
}

/* The question again over TCP after a truncated reply; DNS_OK with r, or DNS_TEMP. */
static int
asktcp(const Dnsconf *c, int s, const unsigned char *q, size_t qn, const char *name, int type,
    int64_t end, Dnsreply *r)
{
	unsigned char len[2], out[2 + LIM_DNSUDP], *buf = NULL;
	size_t sent = 0;
	ssize_t k;
	int fd, err = 0, st = DNS_TEMP;
	socklen_t el = sizeof err;
	Conn cn;

	if ((fd = socket(c->ns[s].ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0) {
		seterr("socket:");
		return DNS_TEMP;
	}
	conn_init(&cn, fd, fd);
	cn.deadline = end;
	if (connect(fd, (const struct sockaddr *)&c->ns[s], c->nslen[s]) < 0 && errno != EINPROGRESS) {
		seterr("%s: TCP to %s:", name, c->nsname[s]);
		goto out;
	}
	if (conn_wait(&cn, fd, POLLOUT) < 0) {
		seterr("%s: timeout asking %s over TCP", name, c->nsname[s]);
		goto out;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err != 0) {
		errno = err;
		seterr("%s: TCP to %s:", name, c->nsname[s]);
		goto out;
	}
	/* MSG_NOSIGNAL: a server that hangs up must not kill us with SIGPIPE */
	put16(out, qn);
	memcpy(out + 2, q, qn);
	while (sent < qn + 2) {
		if (conn_wait(&cn, fd, POLLOUT) < 0) {
			seterr("%s: timeout asking %s over TCP", name, c->nsname[s]);
			goto out;
		}
		k = send(fd, out + sent, qn + 2 - sent, MSG_NOSIGNAL);
		if (k < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k < 0) {
			seterr("%s: TCP to %s:", name, c->nsname[s]);
			goto out;
		}
		sent += k;
	}
	if (tcpread(&cn, len, 2) < 0) {
		seterr("%s: no reply from %s over TCP", name, c->nsname[s]);
		goto out;
	}
	buf = xmalloc(LIM_DNSTCP);
	if (tcpread(&cn, buf, get16(len)) < 0) {
		seterr("%s: short reply from %s over TCP", name, c->nsname[s]);
		goto out;
	}
	if (dns_parse(buf, get16(len), r) < 0) {
		seterr("%s: %s from %s over TCP", name, lasterr(), c->nsname[s]);
		goto out;
	}
	if (!dns_match(r, get16(q), name, type) || r->tc) {
		seterr("%s: bad reply from %s over TCP", name, c->nsname[s]);
		goto out;
	}
	st = DNS_OK;
out:
	free(buf);
	close(fd);
	return st;
}

/*
 * One exchange with server s: UDP on a fresh connected socket, so only the
 * server asked can answer; replies that are malformed or answer another
 * question are dropped while the wait goes on. DNS_OK with r, or DNS_TEMP.
 */
static int
ask(const Dnsconf *c, int s, const unsigned char *q, size_t qn, const char *name, int type,
    int64_t deadline, Dnsreply *r)
{
	unsigned char buf[LIM_DNSUDP + 1];
	struct pollfd pf;
	int64_t end = earliest(now_ms() + c->timeout * 1000, deadline), left;
	char why[LIM_ERR] = "";
	ssize_t k;
	int fd;

	if ((fd = socket(c->ns[s].ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0) {
		seterr("socket:");
		return DNS_TEMP;
	}
	if (connect(fd, (const struct sockaddr *)&c->ns[s], c->nslen[s]) < 0 || send(fd, q, qn, 0) != (ssize_t)qn) {
		seterr("%s: asking %s:", name, c->nsname[s]);
		close(fd);
		return DNS_TEMP;
	}
	pf.fd = fd;
	pf.events = POLLIN;
	while ((left = end - now_ms()) > 0) {
		if (poll(&pf, 1, (int)left) <= 0)
			continue;
		k = recv(fd, buf, sizeof buf, 0);
		if (k < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			seterr("%s: asking %s:", name, c->nsname[s]);
			close(fd);
			return DNS_TEMP;
		}
		if (k > LIM_DNSUDP) {
			snprintf(why, sizeof why, "oversized reply");
			continue;
		}
		if (dns_parse(buf, k, r) < 0) {
			snprintf(why, sizeof why, "%s", lasterr());
			continue;
		}
		if (!dns_match(r, get16(q), name, type)) {
			snprintf(why, sizeof why, "reply to another question");
			continue;
		}
		close(fd);
		if (!r->tc)
			return DNS_OK;
		return asktcp(c, s, q, qn, name, type, earliest(now_ms() + c->timeout * 1000, deadline), r);
	}
	close(fd);
	if (why[0])
		seterr("%s: timeout asking %s (%s)", name, c->nsname[s], why);
	else
		seterr("%s: timeout asking %s", name, c->nsname[s]);
	return DNS_TEMP;
}

static const char *
rcodename(int rc)
{
	switch (rc) {
	case DNS_SERVFAIL:
		return "server failure";
	case DNS_REFUSED:
		return "query refused";
	case 1:
		return "format error";
	case 4:
		return "not implemented";
	}
	return "error";
}

/*
 * One question to the servers in turn, attempts times over, until one
 * answers NOERROR or NXDOMAIN. DNS_OK with r (NOERROR), DNS_NONE for
 * NXDOMAIN or a name that cannot be asked, DNS_TEMP.
 */
static int
resolve(const Dnsconf *c, int64_t deadline, const char *name, int type, Dnsreply *r)
{
	unsigned char q[LIM_DNSUDP];
	unsigned short id;
	int qn, a, s;

	if ((qn = dns_query(q, sizeof q, 0, name, type)) < 0)
		return DNS_NONE;
	for (a = 0; a < c->attempts; a++)
		for (s = 0; s < c->nns; s++) {
			if (now_ms() >= deadline) {
				seterr("%s: timeout asking %s", name, c->nsname[s]);
				return DNS_TEMP;
			}
			mime_random(&id, sizeof id);
			put16(q, id);
			if (ask(c, s, q, qn, name, type, deadline, r) != DNS_OK)
				continue;
			if (r->rcode == DNS_NOERROR)
				return DNS_OK;
			if (r->rcode == DNS_NXDOMAIN) {
				seterr("%s: no such domain", name);
				return DNS_NONE;
			}
			seterr("%s: %s from %s", name, rcodename(r->rcode), c->nsname[s]);
		}
	return DNS_TEMP;
}

/* Every lookup ends within timeout x attempts x servers. */
static int64_t
lookupend(const Dnsconf *c)
{
	return now_ms() + (int64_t)c->timeout * 1000 * c->attempts * c->nns;
}

/* RFC 7505: one MX whose host is the root. */
static int
nullmx(const Dnsreply *r)
{
	return r->nrr == 1 && r->rr[0].data[0] == 0;
}

int
dns_mx(const char *dom, Mx *mx, int max)
{
	Dnsreply *r = xmalloc(sizeof *r);
	Dnsconf c;
	Dnsrr t;
	unsigned short rnd;
	int st, i, j, n = 0;

	dns_confload(&c);
	if ((st = resolve(&c, lookupend(&c), dom, DNS_MX, r)) != DNS_OK)
		goto out;
	if (nullmx(r)) {
		seterr("%s: domain accepts no mail", dom);
		st = DNS_NONE;
		goto out;
	}
	/* the hosts in random order, then a stable sort by preference, so
	 * equal preferences stay shuffled (RFC 5321 §5.1) */
	for (i = 0; i < r->nrr; i++) {
		if (r->rr[i].data[0] == 0)
			continue;
		mime_random(&rnd, sizeof rnd);
		j = rnd % (n + 1);
		t = r->rr[i];
		r->rr[n] = r->rr[j];
		r->rr[j] = t;
		n++;
	}
	if (n == 0 && r->nrr + r->nbad > 0) {
		seterr("%s: no MX host is a valid host name", dom);
		st = DNS_NONE;
		goto out;
	}
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && r->rr[j - 1].pref > r->rr[j].pref; j--) {
			t = r->rr[j];
			r->rr[j] = r->rr[j - 1];
			r->rr[j - 1] = t;
		}
	for (i = 0; i < n && i < max; i++) {
		memcpy(mx[i].host, r->rr[i].data, sizeof mx[i].host);
		mx[i].pref = r->rr[i].pref;
	}
	st = i;
out:
	free(r);
	return st;
}

/* A textual address in canonical form into out; its family, or 0. */
static int
addrtext(const char *s, char *out)
{
	unsigned char a[16];

	if (inet_pton(AF_INET, s, a) == 1) {
		inet_ntop(AF_INET, a, out, INET6_ADDRSTRLEN);
		return AF_INET;
	}
	if (inet_pton(AF_INET6, s, a) == 1) {
		inet_ntop(AF_INET6, a, out, INET6_ADDRSTRLEN);
		return AF_INET6;
	}
	return 0;
}

/* Is a (from /etc/hosts) name, ignoring case and one trailing dot on either? */
static int
samename(const char *a, const char *name, size_t len)
{
	size_t n = strlen(a);

	if (n > 0 && a[n - 1] == '.')
		n--;
	return n == len && strncasecmp(a, name, len) == 0;
}

/* Addresses for host in /etc/hosts, IPv4 first; count, 0 if none. */
static int
hostsfile(const char *host, size_t len, char (*addrs)[INET6_ADDRSTRLEN], int max)
{
	char *f[LIM_CONFFIELDS], *t, a[LIM_DNSRR][INET6_ADDRSTRLEN];
	int fam[LIM_DNSRR], na = 0, k, i, n = 0;
	char tmp[INET6_ADDRSTRLEN];
	size_t tn;
	Conf cf;

	if ((t = readfile("/etc/hosts", LIM_CONFFILE, &tn)) == NULL)
		return 0;
	conf_text(&cf, t, tn, "/etc/hosts");
	while (na < LIM_DNSRR && (k = conf_line(&cf, f, nelem(f))) != 0) {
		if (k < 2 || (fam[na] = addrtext(f[0], tmp)) == 0)
			continue;
		for (i = 1; i < k; i++)
			if (samename(f[i], host, len)) {
				memcpy(a[na++], tmp, sizeof tmp);
				break;
			}
	}
	conf_close(&cf);
	for (i = 0; i < na && n < max; i++)
		if (fam[i] == AF_INET)
			memcpy(addrs[n++], a[i], sizeof a[i]);
	for (i = 0; i < na && n < max; i++)
		if (fam[i] == AF_INET6)
			memcpy(addrs[n++], a[i], sizeof a[i]);
	return n;
}

int
dns_addrs(const char *host, char (*addrs)[INET6_ADDRSTRLEN], int max)
{
	static const int types[] = { DNS_A, DNS_AAAA };
	char temp[LIM_ERR] = "";
	Dnsreply *r;
	Dnsconf c;
	int64_t end;
	int len = qnamelen(host), n = 0, i, j, st;

	if (max < 1) {
		seterr("%s: no room for addresses", host);
		return DNS_TEMP;
	}
	if (addrtext(host, addrs[0]))
		return 1;
	if (len < 0) {
		seterr("%.*s: bad host name", LIM_DOMAIN, host);
		return DNS_NONE;
	}
	if ((n = hostsfile(host, len, addrs, max)) > 0)
		return n;
	dns_confload(&c);
	end = lookupend(&c);
	r = xmalloc(sizeof *r);
	for (i = 0; i < (int)nelem(types) && n < max; i++) {
		st = resolve(&c, end, host, types[i], r);
		if (st == DNS_NONE) {
			free(r);
			return DNS_NONE;
		}
		if (st == DNS_TEMP) {
			snprintf(temp, sizeof temp, "%s", lasterr());
			continue;
		}
		for (j = 0; j < r->nrr && n < max; j++)
			memcpy(addrs[n++], r->rr[j].data, INET6_ADDRSTRLEN);
	}
	free(r);
	if (n > 0)
		return n;
	if (temp[0]) {
		seterr("%s", temp);
		return DNS_TEMP;
	}
	seterr("%s: no address", host);
	return DNS_NONE;
}

int
dns_ptr(const char *ip, char *name, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char q[LIM_DOMAIN + 1], *p = q;
	struct in6_addr a6;
	unsigned char *a = a6.s6_addr;
	Dnsreply *r;
	Dnsconf c;
	int st, i;

	if (inet_pton(AF_INET6, ip, &a6) == 1 && !IN6_IS_ADDR_V4MAPPED(&a6)) {
		for (i = 15; i >= 0; i--) {
			*p++ = hex[a[i] & 0xf];
			*p++ = '.';
			*p++ = hex[a[i] >> 4];
			*p++ = '.';
		}
		strcpy(p, "ip6.arpa");
	} else if (inet_pton(AF_INET6, ip, &a6) == 1 || inet_pton(AF_INET, ip, a + 12) == 1)
		snprintf(q, sizeof q, "%u.%u.%u.%u.in-addr.arpa", a[15], a[14], a[13], a[12]);
	else {
		seterr("%.*s: not an IP address", INET6_ADDRSTRLEN, ip);
		return DNS_NONE;
	}
	dns_confload(&c);
	r = xmalloc(sizeof *r);
	st = resolve(&c, lookupend(&c), q, DNS_PTR, r);
	if (st == DNS_OK) {
		if (r->nrr == 0) {
			seterr(r->nbad ? "%s: reverse name is no host name" : "%s: no reverse name", ip);
			st = DNS_NONE;
		} else if (strlen(r->rr[0].data) >= n) {
			seterr("%s: reverse name too long", ip);
			st = DNS_NONE;
		} else
			strcpy(name, r->rr[0].data);
	} else if (st == DNS_NONE)
		seterr("%s: no reverse name", ip);
	free(r);
	return st;
}

int
dns_exists(const char *dom)
{
	static const int types[] = { DNS_A, DNS_AAAA };
	char temp[LIM_ERR] = "";
	Dnsreply *r = xmalloc(sizeof *r);
	Dnsconf c;
	int64_t end;
	int st, i;

	dns_confload(&c);
	end = lookupend(&c);
	if ((st = resolve(&c, end, dom, DNS_MX, r)) != DNS_OK)
		goto out;
	if (nullmx(r)) {
		seterr("%s: domain accepts no mail", dom);
		st = DNS_NONE;
		goto out;
	}
	if (r->nrr > 0)
		goto out;
	if (r->nbad > 0) {
		seterr("%s: no MX host is a valid host name", dom);
		st = DNS_NONE;
		goto out;
	}
	for (i = 0; i < (int)nelem(types); i++) {
		st = resolve(&c, end, dom, types[i], r);
		if (st == DNS_OK && r->nrr > 0)
			goto out;
		if (st == DNS_NONE)
			goto out;
		if (st == DNS_TEMP)
			snprintf(temp, sizeof temp, "%s", lasterr());
	}
	if (temp[0]) {
		seterr("%s", temp);
		st = DNS_TEMP;
	} else {
		seterr("%s: no MX, A or AAAA record", dom);
		st = DNS_NONE;
	}
out:
	free(r);
	return st;
}
