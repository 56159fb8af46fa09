#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "core.h"

/* Scratch containers have no /etc/services: the names mail needs are built in. */
static const struct {
	const char *name;
	unsigned short port;
} services[] = {
	{ "domain", 53 },
	{ "http", 80 },
	{ "https", 443 },
	{ "imap", 143 },
	{ "imap4", 143 },
	{ "imaps", 993 },
	{ "lmtp", 24 },
	{ "pop3", 110 },
	{ "pop3s", 995 },
	{ "smtp", 25 },
	{ "smtps", 465 },
	{ "ssmtp", 465 },
	{ "submission", 587 },
	{ "submissions", 465 },
};

/* A port number for a service name or decimal string, or -1. */
int
svc_port(const char *name, const char *net)
{
	size_t i;
	long v;
	char *e;

	if (name == NULL || *name == 0)
		return -1;
	if (*name >= '0' && *name <= '9') {
		errno = 0;
		v = strtol(name, &e, 10);
		if (*e || errno || v < 0 || v > 65535)
			return -1;
		return (int)v;
	}
	for (i = 0; i < nelem(services); i++)
		if (strcmp(name, services[i].name) == 0)
			return services[i].port;
	return -1;
}

static int
hostchar(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '.' || c == '-' || c == '_' || c == ':' || c == '%';
}

static int
sethost(Dial *d, const char *s, size_t n)
{
	size_t i;

	if (n >= 2 && s[0] == '[' && s[n - 1] == ']')
		s++, n -= 2;
	if (n == 0 || n >= sizeof d->host) {
		seterr("bad host in dial string");
		return -1;
	}
	if (!(n == 1 && s[0] == '*'))
		for (i = 0; i < n; i++)
			if (!hostchar((unsigned char)s[i])) {
				seterr("bad host in dial string");
				return -1;
			}
	memcpy(d->host, s, n);
	d->host[n] = 0;
	return 0;
}

static int
setport(Dial *d, const char *s, const char *defsvc)
{
	int p = svc_port(s && *s ? s : defsvc, d->net);

	if (p < 0) {
		seterr("unknown service: %s", s && *s ? s : defsvc ? defsvc : "(none)");
		return -1;
	}
	snprintf(d->port, sizeof d->port, "%d", p);
	return 0;
}

/*
 * Plan 9 dial strings and the forms Linux users type:
 *	tcp!host!port  net!host!smtp  host!port  host  host:port  [v6]:port  v6  [v6]
 * "net" means tcp; "*" as host means every address (for announce).
 */
int
dial_parse(const char *s, const char *defsvc, Dial *d)
{
	const char *b1, *b2, *c, *host = s;
	size_t n;

	memset(d, 0, sizeof *d);
	strcpy(d->net, "tcp");
	if (s == NULL || *s == 0 || strlen(s) > LIM_DOMAIN + 64) {
		seterr("bad dial string");
		return -1;
	}
	if ((b1 = strchr(s, '!')) != NULL) {
		b2 = strchr(b1 + 1, '!');
		if (b2 != NULL || strncmp(s, "tcp!", 4) == 0 || strncmp(s, "net!", 4) == 0 ||
		    strncmp(s, "udp!", 4) == 0) {
			n = b1 - s;
			if (n == 3 && strncmp(s, "udp", 3) == 0)
				strcpy(d->net, "udp");
			else if (!(n == 3 && (strncmp(s, "tcp", 3) == 0 || strncmp(s, "net", 3) == 0))) {
				seterr("unknown network in dial string");
				return -1;
			}
			host = b1 + 1;
			if (b2 == NULL)
				return sethost(d, host, strlen(host)) < 0 ? -1 : setport(d, NULL, defsvc);
			if (strchr(b2 + 1, '!')) {
				seterr("bad dial string");
				return -1;
			}
			return sethost(d, host, b2 - host) < 0 ? -1 : setport(d, b2 + 1, defsvc);
		}
		return sethost(d, s, b1 - s) < 0 ? -1 : setport(d, b1 + 1, defsvc);
	}
	if (s[0] == '[') {
		if ((c = strchr(s, ']')) == NULL) {
			seterr("bad dial string");
			return -1;
		}
		if (c[1] == ':')
			return sethost(d, s, c + 1 - s) < 0 ? -1 : setport(d, c + 2, defsvc);
		if (c[1] != 0) {
			seterr("bad dial string");
			return -1;
		}
		return sethost(d, s, c + 1 - s) < 0 ? -1 : setport(d, NULL, defsvc);
	}
	c = strchr(s, ':');
	if (c != NULL && strchr(c + 1, ':') == NULL)
		return sethost(d, s, c - s) < 0 ? -1 : setport(d, c + 1, defsvc);
	return sethost(d, s, strlen(s)) < 0 ? -1 : setport(d, NULL, defsvc);
}

static int
resolve(const Dial *d, int passive, struct addrinfo **res)
{
	struct addrinfo hints = { 0 };
	int r;

	hints.ai_socktype = strcmp(d->net, "udp") == 0 ? SOCK_DGRAM : SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : AI_ADDRCONFIG);
	r = getaddrinfo(strcmp(d->host, "*") == 0 ? NULL : d->host, d->port, &hints, res);
	if (r != 0) {
		seterr("%s: %s", d->host, r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
		return -1;
	}
	return 0;
}

/* Connect within timeout_ms to the first address of host that answers. */
int
dial(const char *s, const char *defsvc, int timeout_ms)
{
	struct addrinfo *res, *ai;
	Dial d;
	Conn c;
	int fd = -1, err = 0, fl;
	socklen_t el = sizeof err;

	if (dial_parse(s, defsvc, &d) < 0 || resolve(&d, 0, &res) < 0)
		return -1;
	seterr("%s: no address", d.host);
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
		if (fd < 0) {
			seterr("socket:");
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
			seterr("%s!%s:", d.host, d.port);
			goto next;
		}
		conn_init(&c, fd, fd);
		c.timeout = timeout_ms;
		if (conn_wait(&c, fd, POLLOUT) < 0) {
			seterr("%s!%s: connection timed out", d.host, d.port);
			goto next;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err != 0) {
			errno = err;
			seterr("%s!%s:", d.host, d.port);
			goto next;
		}
		fl = fcntl(fd, F_GETFL);
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
		freeaddrinfo(res);
		return fd;
	next:
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return -1;
}

/* A listening socket; "*" listens on every IPv6 and IPv4 address at once. */
int
announce(const char *s, const char *defsvc, int backlog)
{
	struct addrinfo *res, *ai;
	struct sockaddr_in6 any6 = { .sin6_family = AF_INET6 };
	Dial d;
	int fd, on = 1, off = 0;

	if (dial_parse(s, defsvc, &d) < 0)
		return -1;
	if (strcmp(d.host, "*") == 0) {
		fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0) {
			any6.sin6_port = htons(atoi(d.port));
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
			if (bind(fd, (struct sockaddr *)&any6, sizeof any6) == 0 && listen(fd, backlog) == 0)
				return fd;
			close(fd);
		}
	}
	if (resolve(&d, 1, &res) < 0)
		return -1;
	seterr("%s: no address", s);
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, backlog) == 0) {
			freeaddrinfo(res);
			return fd;
		}
		seterr("%s:", s);
		close(fd);
	}
	freeaddrinfo(res);
	return -1;
}

/* The numeric address and port of a socket's peer (or its own end); IPv4 shown plainly. */
int
sock_name(int fd, int peer, char *host, size_t hn, char *port, size_t pn)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	char *h;

	if ((peer ? getpeername(fd, (struct sockaddr *)&ss, &sl) : getsockname(fd, (struct sockaddr *)&ss, &sl)) < 0)
		return -1;
	if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)
		return -1;
	if (getnameinfo((struct sockaddr *)&ss, sl, host, hn, port, pn, NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		return -1;
	if (strncmp(host, "::ffff:", 7) == 0 && strchr(host + 7, '.')) {
		h = host + 7;
		memmove(host, h, strlen(h) + 1);
	}
	return 0;
}

/*
 * The address of fd's peer (peer 1) or our own end (peer 0), for a server on
 * fds 0 and 1; where fd is no socket (tcpserver, s6, listen's TLS relay), the
 * address $TCPREMOTEIP or $TCPLOCALIP names, if it is one; else fallback.
 */
void
sock_addr(int fd, int peer, char *buf, size_t n, const char *fallback)
{
	unsigned char a[16];
	char port[16];
	const char *e;

	if (sock_name(fd, peer, buf, n, port, sizeof port) == 0)
		return;
	e = getenv(peer ? "TCPREMOTEIP" : "TCPLOCALIP");
	if (e == NULL || strlen(e) >= n || (inet_pton(AF_INET, e, a) != 1 && inet_pton(AF_INET6, e, a) != 1))
		e = fallback;
	snprintf(buf, n, "%s", e);
}

/* A loopback address (127.0.0.0/8, ::1, or 127/8 mapped into IPv6): local software. */
int
addr_loopback(const char *a)
{
	return strncmp(a, "127.", 4) == 0 || strcmp(a, "::1") == 0 || strncmp(a, "::ffff:127.", 11) == 0;
}
