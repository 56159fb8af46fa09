/*
 * A strict DNS stub resolver: MX, A, AAAA and PTR over UDP, TCP when the
 * reply is truncated, nameservers from ROOT/lib/resolv.conf, else
 * /etc/resolv.conf, else 127.0.0.1. Names are absolute: no search list.
 * Every negative result seterr()s why.
 */
#ifndef UPAS_DNS_H
#define UPAS_DNS_H

#include <netinet/in.h>
#include <sys/socket.h>
#include "core.h"

enum { DNS_OK = 0, DNS_TEMP = -1, DNS_NONE = -2 };	/* temporary: timeout, SERVFAIL, network; permanent: NXDOMAIN, no such records */
enum { DNS_A = 1, DNS_CNAME = 5, DNS_PTR = 12, DNS_MX = 15, DNS_AAAA = 28 };
enum { DNS_NOERROR = 0, DNS_SERVFAIL = 2, DNS_NXDOMAIN = 3, DNS_REFUSED = 5 };

typedef struct Mx {
	char host[LIM_DOMAIN + 1];
	int pref;
} Mx;

/* Sorted by preference, equal ones shuffled (RFC 5321 §5.1); 0: the domain
 * exists without MX (use the domain itself); a null MX (RFC 7505) is DNS_NONE. */
int dns_mx(const char *dom, Mx *mx, int max);
/* /etc/hosts first, then A and AAAA; textual addresses; count > 0. An address
 * given as host comes back as it is. */
int dns_addrs(const char *host, char (*addrs)[INET6_ADDRSTRLEN], int max);
/* The name of a textual IPv4 or IPv6 address: DNS_OK. */
int dns_ptr(const char *ip, char *name, size_t n);
/* For a sender's domain: DNS_OK when it has MX, A or AAAA (and no null MX). */
int dns_exists(const char *dom);

/* The packet layer, for the lookups above, the unit tests and the fuzzer. */
typedef struct Dnsrr {
	int pref;	/* MX */
	char data[LIM_DOMAIN + 1];	/* a textual address, or a name ("" for the root) */
} Dnsrr;

typedef struct Dnsreply {
	unsigned id;
	int qtype, rcode, tc;
	char qname[LIM_DOMAIN + 1];	/* the question, without trailing dot */
	char name[LIM_DOMAIN + 1];	/* the owner of rr: qname at the end of its CNAME chain */
	int nrr;	/* records of type qtype owned by name, in rr */
	int nbad;	/* MX or PTR records left out for a name that is no host name */
	Dnsrr rr[LIM_DNSRR];
} Dnsreply;

/* A query for name (absolute, a trailing dot allowed) into buf; its length, or -1. */
int dns_query(unsigned char *buf, size_t n, unsigned id, const char *name, int type);
/*
 * Parse a reply to a question of type A, AAAA, MX or PTR: header, the one
 * question, and (unless truncated) the answers, following CNAMEs from the
 * question. Bounds names, labels, compression pointers (backwards only),
 * answer counts and chain length; 0, or -1 with seterr.
 */
int dns_parse(const unsigned char *msg, size_t n, Dnsreply *r);
/* Is r the answer to this query (ID, and the question echoed up to case)? */
int dns_match(const Dnsreply *r, unsigned id, const char *name, int type);
/* Is s a host name: letters, digits and hyphens in dot-separated labels? */
int dns_hostok(const char *s);

typedef struct Dnsconf {
	struct sockaddr_storage ns[LIM_DNSSERVERS];
	socklen_t nslen[LIM_DNSSERVERS];
	char nsname[LIM_DNSSERVERS][INET6_ADDRSTRLEN + 8];	/* "ADDR#PORT" for messages */
	int nns, timeout, attempts;	/* timeout in seconds */
} Dnsconf;

/* resolv.conf text (modified) into c: nameserver ADDR[#PORT], options timeout:N attempts:N. */
void dns_confparse(Dnsconf *c, char *text, size_t n);
/* ROOT/lib/resolv.conf, else /etc/resolv.conf, else 127.0.0.1. */
void dns_confload(Dnsconf *c);
#endif
