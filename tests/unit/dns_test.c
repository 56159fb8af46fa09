/* Unit tests over core/dns.c: hand-built packets, resolv.conf, and lookups against a fake server. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "unit.h"
#include "dns.h"

enum { ID = 0x1234, QR = 0x8000, TC = 0x0200, RDRA = 0x0180 };

typedef struct Pk {
	unsigned char b[4096];
	size_t n;
} Pk;

static void
pk8(Pk *p, unsigned v)
{
	if (p->n < sizeof p->b)
		p->b[p->n++] = v;
}

static void
pk16(Pk *p, unsigned v)
{
	pk8(p, v >> 8 & 0xff);
	pk8(p, v & 0xff);
}

static void
pkbytes(Pk *p, const void *d, size_t n)
{
	const unsigned char *s = d;

	while (n-- > 0)
		pk8(p, *s++);
}

/* a name as labels; "" is the root; NULL points at the question (offset 12) */
static void
pkname(Pk *p, const char *s)
{
	const char *e;

	if (s == NULL) {
		pk16(p, 0xc00c);
		return;
	}
	while (*s) {
		e = strchr(s, '.');
		if (e == NULL)
			e = s + strlen(s);
		pk8(p, e - s);
		pkbytes(p, s, e - s);
		s = *e ? e + 1 : e;
	}
	pk8(p, 0);
}

static void
pkhdr(Pk *p, unsigned id, unsigned flags, unsigned an)
{
	p->n = 0;
	pk16(p, id);
	pk16(p, flags);
	pk16(p, 1);
	pk16(p, an);
	pk16(p, 0);
	pk16(p, 0);
}

static void
pkq(Pk *p, const char *name, int type)
{
	pkname(p, name);
	pk16(p, type);
	pk16(p, 1);
}

/* owner, type, class IN, TTL; returns where RDLENGTH goes, for pkend */
static size_t
pkrr(Pk *p, const char *owner, int type)
{
	size_t at;

	pkname(p, owner);
	pk16(p, type);
	pk16(p, 1);
	pk16(p, 0);
	pk16(p, 300);
	at = p->n;
	pk16(p, 0);
	return at;
}

static void
pkend(Pk *p, size_t at)
{
	size_t len = p->n - at - 2;

	p->b[at] = len >> 8;
	p->b[at + 1] = len;
}

static void
pka(Pk *p, const char *owner, const char *addr)
{
	unsigned char a[16];
	size_t at = pkrr(p, owner, strchr(addr, ':') ? DNS_AAAA : DNS_A);

	if (strchr(addr, ':')) {
		inet_pton(AF_INET6, addr, a);
		pkbytes(p, a, 16);
	} else {
		inet_pton(AF_INET, addr, a);
		pkbytes(p, a, 4);
	}
	pkend(p, at);
}

static void
pkmx(Pk *p, const char *owner, int pref, const char *host)
{
	size_t at = pkrr(p, owner, DNS_MX);

	pk16(p, pref);
	pkname(p, host);
	pkend(p, at);
}

static void
pkcname(Pk *p, const char *owner, int type, const char *target)
{
	size_t at = pkrr(p, owner, type);

	pkname(p, target);
	pkend(p, at);
}

static int
parse(Pk *p, Dnsreply *r)
{
	return dns_parse(p->b, p->n, r);
}

TEST(dns_query)
{
	static const unsigned char want[] = {
		0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
		7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'o', 'r', 'g', 0, 0, 15, 0, 1,
	};
	static const char *bad[] = { "", ".", "a..b", ".a", "a b", "ex@mple.org", "a\nb", "bücher.de" };
	unsigned char q[512];
	char name[300];
	size_t i;

	CHECK(dns_query(q, sizeof q, ID, "example.org", DNS_MX) == (int)sizeof want);
	CHECK(memcmp(q, want, sizeof want) == 0);
	CHECK(dns_query(q, sizeof q, ID, "example.org.", DNS_MX) == (int)sizeof want);
	CHECK(memcmp(q, want, sizeof want) == 0);
	CHECK(dns_query(q, 20, ID, "example.org", DNS_MX) < 0);
	for (i = 0; i < nelem(bad); i++)
		CHECK(dns_query(q, sizeof q, ID, bad[i], DNS_A) < 0);
	CHECK(strstr(lasterr(), "bad domain name") != NULL);
	/* labels of 63 are fine, 64 not; names of 253 (+ dot) fine, 254 not */
	memset(name, 'a', 63);
	strcpy(name + 63, ".org");
	CHECK(dns_query(q, sizeof q, ID, name, DNS_A) > 0);
	memset(name, 'a', 64);
	strcpy(name + 64, ".org");
	CHECK(dns_query(q, sizeof q, ID, name, DNS_A) < 0);
	for (i = 0; i < 253; i++)
		name[i] = i % 2 ? '.' : 'a';
	name[253] = 0;
	CHECK(dns_query(q, sizeof q, ID, name, DNS_A) == 12 + 255 + 4);
	strcat(name, ".");
	CHECK(dns_query(q, sizeof q, ID, name, DNS_A) > 0);
	name[253] = 'a';
	name[254] = 'a';
	name[255] = 0;
	CHECK(dns_query(q, sizeof q, ID, name, DNS_A) < 0);
}

TEST(dns_hostok)
{
	CHECK(dns_hostok("mx1.example.org"));
	CHECK(dns_hostok("a-b.c9"));
	CHECK(dns_hostok("localhost"));
	CHECK(!dns_hostok(""));
	CHECK(!dns_hostok("mx_1.example.org"));
	CHECK(!dns_hostok("-a.example.org"));
	CHECK(!dns_hostok("a-.example.org"));
	CHECK(!dns_hostok("a..b"));
	CHECK(!dns_hostok("example.org."));
	CHECK(!dns_hostok(".example.org"));
	CHECK(!dns_hostok("exa mple.org"));
}

TEST(dns_parse_basic)
{
	Dnsreply r;
	Pk p;

	pkhdr(&p, ID, QR | RDRA, 3);
	pkq(&p, "Example.org", DNS_A);
	pka(&p, NULL, "192.0.2.1");
	pka(&p, NULL, "192.0.2.2");
	pka(&p, "other.example.org", "192.0.2.3");	/* not the owner asked for */
	CHECK(parse(&p, &r) == 0);
	CHECK(r.id == ID && r.qtype == DNS_A && r.rcode == 0 && !r.tc);
	CHECKSTR(r.qname, "Example.org");
	CHECK(r.nrr == 2);
	CHECKSTR(r.rr[0].data, "192.0.2.1");
	CHECKSTR(r.rr[1].data, "192.0.2.2");
	/* the question must be echoed: ID, name (any case, trailing dot), type */
	CHECK(dns_match(&r, ID, "example.ORG", DNS_A));
	CHECK(dns_match(&r, ID, "example.org.", DNS_A));
	CHECK(!dns_match(&r, ID + 1, "example.org", DNS_A));
	CHECK(!dns_match(&r, ID, "example.net", DNS_A));
	CHECK(!dns_match(&r, ID, "www.example.org", DNS_A));
	CHECK(!dns_match(&r, ID, "example.or", DNS_A));
	CHECK(!dns_match(&r, ID, "example.org", DNS_AAAA));

	pkhdr(&p, ID, QR | RDRA, 1);
	pkq(&p, "v6.example.org", DNS_AAAA);
	pka(&p, NULL, "2001:db8::1");
	CHECK(parse(&p, &r) == 0 && r.nrr == 1);
	CHECKSTR(r.rr[0].data, "2001:db8::1");

	/* an address of the wrong size spoils the reply */
	pkhdr(&p, ID, QR | RDRA, 1);
	pkq(&p, "example.org", DNS_A);
	pka(&p, NULL, "2001:db8::1");
	p.b[12 + 17 + 2 + 1] = DNS_A;	/* the record's type: AAAA data under A */
	CHECK(parse(&p, &r) < 0);

	/* records of another class are ignored */
	pkhdr(&p, ID, QR | RDRA, 1);
	pkq(&p, "example.org", DNS_A);
	pka(&p, NULL, "192.0.2.1");
	p.b[12 + 17 + 2 + 3] = 3;	/* CH */
	CHECK(parse(&p, &r) == 0 && r.nrr == 0);

	/* NXDOMAIN and truncation carry no records */
	pkhdr(&p, ID, QR | RDRA | 3, 0);
	pkq(&p, "nx.example.org", DNS_A);
	CHECK(parse(&p, &r) == 0 && r.rcode == DNS_NXDOMAIN && r.nrr == 0);
	pkhdr(&p, ID, QR | RDRA | TC, 1);
	pkq(&p, "example.org", DNS_A);
	pk8(&p, 0xc0);	/* cut mid-record, as a truncating server may */
	CHECK(parse(&p, &r) == 0 && r.tc && r.nrr == 0);
}

TEST(dns_parse_header)
{
	Dnsreply r;
	Pk p;

	pkhdr(&p, ID, RDRA, 0);	/* a query, not a reply */
	pkq(&p, "example.org", DNS_A);
	CHECK(parse(&p, &r) < 0);
	pkhdr(&p, ID, QR | 0x0800, 0);	/* opcode IQUERY */
	pkq(&p, "example.org", DNS_A);
	CHECK(parse(&p, &r) < 0);
	pkhdr(&p, ID, QR, 0);
	p.b[5] = 2;	/* two questions */
	pkq(&p, "example.org", DNS_A);
	pkq(&p, "example.org", DNS_A);
	CHECK(parse(&p, &r) < 0);
	pkhdr(&p, ID, QR, 0);
	p.b[5] = 0;	/* none */
	CHECK(parse(&p, &r) < 0);
	pkhdr(&p, ID, QR, 0);
	pkq(&p, "example.org", DNS_A);
	p.b[p.n - 1] = 3;	/* class CH */
	CHECK(parse(&p, &r) < 0);
	pkhdr(&p, ID, QR, 0);
	pkq(&p, "example.org", 16);	/* TXT: never asked */
	CHECK(parse(&p, &r) < 0);
	pkhdr(&p, ID, QR, 0);
	pkq(&p, "", DNS_A);	/* the root */
	CHECK(parse(&p, &r) < 0);
	pkhdr(&p, ID, QR, LIM_DNSANSWERS + 1);
	pkq(&p, "example.org", DNS_A);
	CHECK(parse(&p, &r) < 0);
	CHECK(strstr(lasterr(), "too many answers") != NULL);
	CHECK(dns_parse(p.b, 11, &r) < 0);
}

TEST(dns_parse_truncated)
{
	Dnsreply r;
	size_t n;
	Pk p;

	pkhdr(&p, ID, QR | RDRA, 2);
	pkq(&p, "example.org", DNS_MX);
	pkmx(&p, NULL, 10, "mx.example.org");
	pkmx(&p, NULL, 20, "mx2.example.org");
	CHECK(parse(&p, &r) == 0 && r.nrr == 2);
	for (n = 0; n < p.n; n++)
		if (!CHECK(dns_parse(p.b, n, &r) < 0))
			printf("#   a prefix of %zu octets parsed\n", n);
	/* a record's data longer than the message */
	p.b[p.n - 19 - 1]++;
	CHECK(parse(&p, &r) < 0);
}

TEST(dns_parse_compression)
{
	Dnsreply r;
	size_t at;
	Pk p;

	/* MX hosts as a label plus a pointer into the question, and a pointer
	 * to a pointer to a name */
	pkhdr(&p, ID, QR | RDRA, 2);
	pkq(&p, "example.org", DNS_MX);	/* example at 12, org at 20 */
	at = pkrr(&p, NULL, DNS_MX);
	pk16(&p, 10);
	pkbytes(&p, "\3mx1\300\14", 6);	/* mx1 at 43 */
	pkend(&p, at);
	at = pkrr(&p, NULL, DNS_MX);
	pk16(&p, 20);
	pkbytes(&p, "\3mx2\300\53", 6);	/* mx2, then mx1.example.org */
	pkend(&p, at);
	CHECK(parse(&p, &r) == 0 && r.nrr == 2);
	CHECKSTR(r.rr[0].data, "mx1.example.org");
	CHECKSTR(r.rr[1].data, "mx2.mx1.example.org");
	CHECK(r.rr[0].pref == 10 && r.rr[1].pref == 20);

	/* a pointer to itself, forward, or into the same name again */
	pkhdr(&p, ID, QR | RDRA, 1);
	pkq(&p, "example.org", DNS_MX);
	at = pkrr(&p, NULL, DNS_MX);
	pk16(&p, 10);
	pk8(&p, 0xc0);
	pk8(&p, p.n - 1);
	pkend(&p, at);
	CHECK(parse(&p, &r) < 0);
	pkhdr(&p, ID, QR | RDRA, 1);
	pkq(&p, "example.org", DNS_MX);
	at = pkrr(&p, NULL, DNS_MX);
	pk16(&p, 10);
	pk8(&p, 0xc0);
	pk8(&p, p.n + 1);
	pk8(&p, 0);
	pkend(&p, at);
	CHECK(parse(&p, &r) < 0);
	pkhdr(&p, ID, QR | RDRA, 1);
	pkq(&p, "example.org", DNS_MX);
	at = pkrr(&p, NULL, DNS_MX);
	pk16(&p, 10);
	pkbytes(&p, "\1a\1b", 4);
	pk8(&p, 0xc0);
	pk8(&p, p.n - 3);	/* back to "b": a loop b, b, b... */
	pkend(&p, at);
	CHECK(parse(&p, &r) < 0);
	/* the owner points into the header */
	pkhdr(&p, ID, QR | RDRA, 1);
	pkq(&p, "example.org", DNS_A);
	pk16(&p, 0xc002);
	pk16(&p, DNS_A);
	CHECK(parse(&p, &r) < 0);
	/* a pointer as the first thing in the question */
	pkhdr(&p, ID, QR | RDRA, 0);
	pk16(&p, 0xc000);
	pk16(&p, DNS_A);
	pk16(&p, 1);
	CHECK(parse(&p, &r) < 0);
}

TEST(dns_parse_labels)
{
	char name[300];
	Dnsreply r;
	size_t at, i;
	Pk p;

	/* a label of 64 (its length reads as an extended label type) */
	pkhdr(&p, ID, QR | RDRA, 1);
	pkq(&p, "example.org", DNS_MX);
	at = pkrr(&p, NULL, DNS_MX);
	pk16(&p, 10);
	pk8(&p, 64);
	for (i = 0; i < 64; i++)
		pk8(&p, 'a');
	pk8(&p, 0);
	pkend(&p, at);
	CHECK(parse(&p, &r) < 0);
	/* a name over 255 octets, in labels of 63 */
	pkhdr(&p, ID, QR | RDRA, 1);
	pkq(&p, "example.org", DNS_MX);
	at = pkrr(&p, NULL, DNS_MX);
	pk16(&p, 10);
	for (i = 0; i < 4; i++) {
		pk8(&p, 63);
		memset(name, 'a', 63);
		pkbytes(&p, name, 63);
	}
	pk8(&p, 0);
	pkend(&p, at);
	CHECK(parse(&p, &r) < 0);
	/* MX hosts that are no host names are left out, counted */
	pkhdr(&p, ID, QR | RDRA, 4);
	pkq(&p, "example.org", DNS_MX);
	pkmx(&p, NULL, 10, "mx_1.example.org");
	at = pkrr(&p, NULL, DNS_MX);
	pk16(&p, 10);
	pkbytes(&p, "\3a.b\0", 5);	/* a dot inside a label */
	pkend(&p, at);
	at = pkrr(&p, NULL, DNS_MX);
	pk16(&p, 10);
	pkbytes(&p, "\3a\nb\0", 5);
	pkend(&p, at);
	pkmx(&p, NULL, 20, "good.example.org");
	CHECK(parse(&p, &r) == 0 && r.nrr == 1 && r.nbad == 3);
	CHECKSTR(r.rr[0].data, "good.example.org");
	/* a name that ends before its record data does */
	pkhdr(&p, ID, QR | RDRA, 1);
	pkq(&p, "example.org", DNS_MX);
	at = pkrr(&p, NULL, DNS_MX);
	pk16(&p, 10);
	pkname(&p, "mx.example.org");
	pk8(&p, 0);
	pkend(&p, at);
	CHECK(parse(&p, &r) < 0);
	/* an odd octet in the question */
	pkhdr(&p, ID, QR | RDRA, 0);
	pkq(&p, "exa mple.org", DNS_A);
	CHECK(parse(&p, &r) < 0);
	/* null MX */
	pkhdr(&p, ID, QR | RDRA, 1);
	pkq(&p, "example.org", DNS_MX);
	pkmx(&p, NULL, 0, "");
	CHECK(parse(&p, &r) == 0 && r.nrr == 1 && r.rr[0].data[0] == 0 && r.rr[0].pref == 0);
	/* PTR: a host name, not the root */
	pkhdr(&p, ID, QR | RDRA, 2);
	pkq(&p, "1.2.0.192.in-addr.arpa", DNS_PTR);
	pkcname(&p, NULL, DNS_PTR, "");
	pkcname(&p, NULL, DNS_PTR, "host.example.org");
	CHECK(parse(&p, &r) == 0 && r.nrr == 1 && r.nbad == 1);
	CHECKSTR(r.rr[0].data, "host.example.org");
}

TEST(dns_parse_cname)
{
	char a[32], b[32];
	Dnsreply r;
	int i;
	Pk p;

	pkhdr(&p, ID, QR | RDRA, 5);
	pkq(&p, "www.example.org", DNS_A);
	pka(&p, "b.example.net", "192.0.2.9");	/* order in the answer does not matter */
	pkcname(&p, NULL, DNS_CNAME, "A.example.com");
	pka(&p, NULL, "192.0.2.1");	/* the alias owns nothing */
	pkcname(&p, "a.example.com", DNS_CNAME, "b.example.net");
	pka(&p, "a.example.com", "192.0.2.2");
	CHECK(parse(&p, &r) == 0);
	CHECKSTR(r.name, "b.example.net");
	CHECK(r.nrr == 1);
	CHECKSTR(r.rr[0].data, "192.0.2.9");

	/* LIM_DNSCNAME hops are followed, one more is not */
	pkhdr(&p, ID, QR | RDRA, LIM_DNSCNAME + 1);
	pkq(&p, "c0.example.org", DNS_MX);
	for (i = 0; i < LIM_DNSCNAME; i++) {
		snprintf(a, sizeof a, "c%d.example.org", i);
		snprintf(b, sizeof b, "c%d.example.org", i + 1);
		pkcname(&p, a, DNS_CNAME, b);
	}
	pkmx(&p, b, 10, "mx.example.org");
	CHECK(parse(&p, &r) == 0 && r.nrr == 1);
	pkhdr(&p, ID, QR | RDRA, LIM_DNSCNAME + 2);
	pkq(&p, "c0.example.org", DNS_MX);
	for (i = 0; i <= LIM_DNSCNAME; i++) {
		snprintf(a, sizeof a, "c%d.example.org", i);
		snprintf(b, sizeof b, "c%d.example.org", i + 1);
		pkcname(&p, a, DNS_CNAME, b);
	}
	pkmx(&p, b, 10, "mx.example.org");
	CHECK(parse(&p, &r) < 0);
	/* a loop */
	pkhdr(&p, ID, QR | RDRA, 2);
	pkq(&p, "a.example.org", DNS_A);
	pkcname(&p, "a.example.org", DNS_CNAME, "b.example.org");
	pkcname(&p, "b.example.org", DNS_CNAME, "a.example.org");
	CHECK(parse(&p, &r) < 0);
	/* a target no text can name: nothing */
	pkhdr(&p, ID, QR | RDRA, 2);
	pkq(&p, "a.example.org", DNS_A);
	pkcname(&p, NULL, DNS_CNAME, "b c.example.org");
	pka(&p, "b c.example.org", "192.0.2.1");
	CHECK(parse(&p, &r) == 0 && r.nrr == 0);
	/* PTR through a CNAME (RFC 2317 classless delegation) */
	pkhdr(&p, ID, QR | RDRA, 2);
	pkq(&p, "5.2.0.192.in-addr.arpa", DNS_PTR);
	pkcname(&p, NULL, DNS_CNAME, "5.0-25.2.0.192.in-addr.arpa");
	pkcname(&p, "5.0-25.2.0.192.in-addr.arpa", DNS_PTR, "host.example.org");
	CHECK(parse(&p, &r) == 0 && r.nrr == 1);
	CHECKSTR(r.rr[0].data, "host.example.org");
}

TEST(dns_conf)
{
	char text[] = "# comment\n; comment\nsearch example.org\n"
	    "nameserver 127.0.0.1#5353\nnameserver bogus\nnameserver 192.0.2.1#0\n"
	    "nameserver 192.0.2.1#x\nnameserver ::1\nnameserver 192.0.2.2\nnameserver 192.0.2.3\n"
	    "options ndots:2 timeout:0 attempts:99\n";
	char t2[] = "options timeout:3 attempts:1\n";
	char t3[] = "";
	struct sockaddr_in *s4;
	Dnsconf c;

	dns_confparse(&c, text, strlen(text));
	CHECK(c.nns == 3);
	CHECK(c.timeout == 1 && c.attempts == LIM_DNSATTEMPTS);
	s4 = (struct sockaddr_in *)&c.ns[0];
	CHECK(s4->sin_family == AF_INET && ntohs(s4->sin_port) == 5353);
	CHECKSTR(c.nsname[0], "127.0.0.1#5353");
	CHECK(c.ns[1].ss_family == AF_INET6);
	CHECKSTR(c.nsname[2], "192.0.2.2");
	CHECK(ntohs(((struct sockaddr_in *)&c.ns[2])->sin_port) == 53);
	dns_confparse(&c, t2, strlen(t2));
	CHECK(c.nns == 1 && c.timeout == 3 && c.attempts == 1);
	CHECKSTR(c.nsname[0], "127.0.0.1");
	dns_confparse(&c, t3, 0);
	CHECK(c.nns == 1 && c.timeout == 5 && c.attempts == 2);
}

/*
 * A fake nameserver on UDP and TCP at one loopback port, in a child. It
 * answers by the name asked:
 *	mx.test		three MX and one that is no host name
 *	null.test	a null MX
 *	nomx.test	no MX, an A record
 *	spoof.test	a reply with a wrong ID, one to another question, then the answer
 *	big.test	truncated over UDP, 40 A records over TCP
 *	fail.test	SERVFAIL; nx.test NXDOMAIN; silent.test nothing
 *	ptr		1.2.0.192.in-addr.arpa and 2001:db8::1
 */
static size_t
fakeanswer(const unsigned char *q, size_t qn, int tcp, Pk *out, Pk *pre)
{
	char name[LIM_DOMAIN + 1];
	size_t i, o = 0, p = 12;
	unsigned id, type, rc = 0, flags = QR | RDRA;
	int an = 0;
	Pk body = { .n = 0 };

	pre->n = 0;
	if (qn < 17)
		return 0;
	id = q[0] << 8 | q[1];
	while (p < qn && q[p] != 0 && o + q[p] + 1 < sizeof name) {
		if (o)
			name[o++] = '.';
		memcpy(name + o, q + p + 1, q[p]);
		o += q[p];
		p += q[p] + 1;
	}
	name[o] = 0;
	if (p + 5 > qn)
		return 0;
	type = q[p + 1] << 8 | q[p + 2];
	if (strcmp(name, "silent.test") == 0)
		return 0;
	if (strcmp(name, "fail.test") == 0)
		rc = DNS_SERVFAIL;
	else if (strcmp(name, "nx.test") == 0)
		rc = DNS_NXDOMAIN;
	else if (strcmp(name, "mx.test") == 0 && type == DNS_MX) {
		pkmx(&body, NULL, 20, "c.mx.test");
		pkmx(&body, NULL, 10, "a.mx.test");
		pkmx(&body, NULL, 5, "bad_host.mx.test");
		pkmx(&body, NULL, 10, "b.mx.test");
		an = 4;
	} else if (strcmp(name, "null.test") == 0 && type == DNS_MX) {
		pkmx(&body, NULL, 0, "");
		an = 1;
	} else if (strcmp(name, "nomx.test") == 0 && type == DNS_A) {
		pka(&body, NULL, "192.0.2.7");
		an = 1;
	} else if (strcmp(name, "spoof.test") == 0 && type == DNS_A) {
		pka(&body, NULL, "192.0.2.8");
		an = 1;
		pkhdr(pre, id ^ 1, flags, 0);
		pkbytes(pre, q + 12, p + 5 - 12);
	} else if (strcmp(name, "big.test") == 0 && type == DNS_A) {
		if (tcp)
			for (i = 0; i < 40; i++) {
				snprintf(name, sizeof name, "192.0.2.%zu", i + 1);
				pka(&body, NULL, name);
				an++;
			}
		else
			flags |= TC;
	} else if (strcmp(name, "1.2.0.192.in-addr.arpa") == 0 && type == DNS_PTR) {
		pkcname(&body, NULL, DNS_PTR, "host.test");
		an = 1;
	} else if (strncmp(name, "1.0.0.0.", 8) == 0 && strstr(name, ".8.b.d.0.1.0.0.2.ip6.arpa") && type == DNS_PTR) {
		pkcname(&body, NULL, DNS_PTR, "host6.test");
		an = 1;
	}
	pkhdr(out, id, flags | rc, an);
	pkbytes(out, q + 12, p + 5 - 12);
	pkbytes(out, body.b, body.n);
	return out->n;
}

static void
fakeserve(int u, int t)
{
	unsigned char q[512];
	struct sockaddr_storage from;
	socklen_t fl;
	struct pollfd pf[2] = { { .fd = u, .events = POLLIN }, { .fd = t, .events = POLLIN } };
	Pk out, pre;
	ssize_t n;
	unsigned char len[2];
	int c;

	for (;;) {
		if (poll(pf, 2, -1) <= 0)
			continue;
		if (pf[0].revents & POLLIN) {
			fl = sizeof from;
			n = recvfrom(u, q, sizeof q, 0, (struct sockaddr *)&from, &fl);
			if (n > 0 && fakeanswer(q, n, 0, &out, &pre) > 0) {
				if (pre.n > 0) {
					sendto(u, pre.b, pre.n, 0, (struct sockaddr *)&from, fl);
					/* the same reply for another question */
					memcpy(pre.b, out.b, out.n);
					pre.b[13 + 1]++;
					sendto(u, pre.b, out.n, 0, (struct sockaddr *)&from, fl);
				}
				sendto(u, out.b, out.n, 0, (struct sockaddr *)&from, fl);
			}
		}
		if (pf[1].revents & POLLIN && (c = accept(t, NULL, NULL)) >= 0) {
			if (read(c, len, 2) == 2 && (n = read(c, q, len[0] << 8 | len[1])) > 0 &&
			    fakeanswer(q, n, 1, &out, &pre) > 0) {
				len[0] = out.n >> 8;
				len[1] = out.n;
				if (write(c, len, 2) != 2 || write(c, out.b, out.n) != (ssize_t)out.n)
					_exit(1);
			}
			close(c);
		}
	}
}

TEST(dns_lookups)
{
	char path[LIM_PATHNAME], addrs[50][INET6_ADDRSTRLEN], name[LIM_DOMAIN + 1], conf[200];
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof sa;
	int u, t, on = 1, n, i, a, b;
	int64_t t0;
	pid_t pid;
	Mx mx[8];
	FILE *f;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	u = socket(AF_INET, SOCK_DGRAM, 0);
	t = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
	if (!CHECK(bind(u, (struct sockaddr *)&sa, sizeof sa) == 0 && getsockname(u, (struct sockaddr *)&sa, &sl) == 0 &&
	    bind(t, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(t, 8) == 0))
		return;
	fflush(stdout);
	if ((pid = fork()) == 0)
		fakeserve(u, t);
	close(u);
	close(t);
	setenv("UPASROOT", unit_tmpdir(), 1);
	snprintf(path, sizeof path, "%s/lib", unit_tmpdir());
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/lib/resolv.conf", unit_tmpdir());
	/* the first server refuses: every lookup moves on to the second */
	snprintf(conf, sizeof conf, "nameserver 127.0.0.1#1\nnameserver 127.0.0.1#%d\noptions timeout:1 attempts:1\n",
	    ntohs(sa.sin_port));
	f = fopen(path, "w");
	fputs(conf, f);
	fclose(f);

	n = dns_mx("mx.test", mx, nelem(mx));
	CHECK(n == 3);
	if (n == 3) {
		CHECK(mx[0].pref == 10 && mx[1].pref == 10 && mx[2].pref == 20);
		CHECKSTR(mx[2].host, "c.mx.test");
		CHECK(strcmp(mx[0].host, mx[1].host) != 0);
	}
	/* equal preferences come in both orders */
	for (i = a = b = 0; i < 40 && !(a && b); i++)
		if (dns_mx("mx.test.", mx, nelem(mx)) == 3)
			strcmp(mx[0].host, "a.mx.test") == 0 ? a++ : b++;
	CHECK(a && b);
	CHECK(dns_mx("mx.test", mx, 1) == 1 && mx[0].pref == 10);
	CHECK(dns_mx("null.test", mx, nelem(mx)) == DNS_NONE);
	CHECK(strstr(lasterr(), "accepts no mail") != NULL);
	CHECK(dns_mx("nomx.test", mx, nelem(mx)) == 0);
	CHECK(dns_mx("nx.test", mx, nelem(mx)) == DNS_NONE);
	CHECKSTR(lasterr(), "nx.test: no such domain");
	CHECK(dns_mx("fail.test", mx, nelem(mx)) == DNS_TEMP);
	CHECK(strstr(lasterr(), "server failure") != NULL);
	CHECK(dns_mx("bad..name", mx, nelem(mx)) == DNS_NONE);

	CHECK(dns_addrs("nomx.test", addrs, 50) == 1);
	CHECKSTR(addrs[0], "192.0.2.7");
	CHECK(dns_addrs("spoof.test", addrs, 50) == 1);
	CHECKSTR(addrs[0], "192.0.2.8");
	n = dns_addrs("big.test", addrs, 50);
	CHECK(n == 40);
	if (n == 40)
		CHECKSTR(addrs[39], "192.0.2.40");
	CHECK(dns_addrs("big.test", addrs, 3) == 3);
	CHECK(dns_addrs("nx.test", addrs, 50) == DNS_NONE);
	CHECK(dns_addrs("mx.test", addrs, 50) == DNS_NONE);
	CHECKSTR(lasterr(), "mx.test: no address");
	CHECK(dns_addrs("2001:DB8::5", addrs, 50) == 1);
	CHECKSTR(addrs[0], "2001:db8::5");

	CHECK(dns_ptr("192.0.2.1", name, sizeof name) == DNS_OK);
	CHECKSTR(name, "host.test");
	CHECK(dns_ptr("::ffff:192.0.2.1", name, sizeof name) == DNS_OK);
	CHECKSTR(name, "host.test");
	CHECK(dns_ptr("2001:db8::1", name, sizeof name) == DNS_OK);
	CHECKSTR(name, "host6.test");
	CHECK(dns_ptr("192.0.2.1", name, 4) == DNS_NONE);
	CHECK(dns_ptr("192.0.2.2", name, sizeof name) == DNS_NONE);
	CHECK(dns_ptr("192.0.2", name, sizeof name) == DNS_NONE);

	CHECK(dns_exists("mx.test") == DNS_OK);
	CHECK(dns_exists("nomx.test") == DNS_OK);
	CHECK(dns_exists("null.test") == DNS_NONE);
	CHECK(dns_exists("nx.test") == DNS_NONE);
	CHECK(dns_exists("big.test") == DNS_OK);
	CHECK(dns_exists("spoof.test") == DNS_OK);

	/* a silent server: temporary, within timeout x attempts x servers */
	t0 = now_ms();
	CHECK(dns_exists("silent.test") == DNS_TEMP);
	CHECK(strstr(lasterr(), "timeout asking 127.0.0.1#") != NULL);
	CHECK(now_ms() - t0 < 2500);

	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	unlink(path);
	unsetenv("UPASROOT");
}

/* build/unit dnsq mx|a|ptr|exists NAME: what the resolver says; exit 0, 1 (none) or 75 (temporary) */
TOOL(dnsq)
{
	char addrs[LIM_DNSRR][INET6_ADDRSTRLEN], name[LIM_DOMAIN + 1];
	Mx mx[LIM_DNSRR];
	int n, i;

	if (argc != 3) {
		fprintf(stderr, "usage: dnsq mx|a|ptr|exists name\n");
		return 64;
	}
	if (strcmp(argv[1], "mx") == 0) {
		if ((n = dns_mx(argv[2], mx, nelem(mx))) >= 0)
			for (i = 0; i < n; i++)
				printf("%d %s\n", mx[i].pref, mx[i].host);
	} else if (strcmp(argv[1], "a") == 0) {
		if ((n = dns_addrs(argv[2], addrs, nelem(addrs))) > 0)
			for (i = 0; i < n; i++)
				printf("%s\n", addrs[i]);
	} else if (strcmp(argv[1], "ptr") == 0) {
		if ((n = dns_ptr(argv[2], name, sizeof name)) == DNS_OK)
			printf("%s\n", name);
	} else if (strcmp(argv[1], "exists") == 0) {
		if ((n = dns_exists(argv[2])) == DNS_OK)
			printf("ok\n");
	} else {
		fprintf(stderr, "dnsq: unknown query %s\n", argv[1]);
		return 64;
	}
	if (n == DNS_NONE || n == DNS_TEMP) {
		printf("%s: %s\n", n == DNS_NONE ? "none" : "temp", lasterr());
		return n == DNS_NONE ? 1 : 75;
	}
	return 0;
}
