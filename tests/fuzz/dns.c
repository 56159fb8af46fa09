/* libFuzzer: DNS replies and resolv.conf from untrusted bytes; what parses must keep its bounds. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include "dns.h"

int
LLVMFuzzerTestOneInput(const unsigned char *d, size_t n)
{
	unsigned char q[LIM_DNSUDP], a[16];
	static Dnsreply r;
	Dnsconf c;
	char *text;
	int i;

	if (dns_parse(d, n, &r) == 0) {
		if (r.nrr < 0 || r.nrr > LIM_DNSRR || strlen(r.qname) > LIM_DOMAIN - 2 ||
		    strlen(r.name) > LIM_DOMAIN - 2)
			__builtin_trap();
		if (dns_query(q, sizeof q, r.id, r.qname, r.qtype) > 0 && !dns_match(&r, r.id, r.qname, r.qtype))
			__builtin_trap();
		for (i = 0; i < r.nrr; i++)
			switch (r.qtype) {
			case DNS_A:
			case DNS_AAAA:
				if (inet_pton(r.qtype == DNS_A ? AF_INET : AF_INET6, r.rr[i].data, a) != 1)
					__builtin_trap();
				break;
			case DNS_MX:
				if (r.rr[i].data[0] && !dns_hostok(r.rr[i].data))
					__builtin_trap();
				break;
			default:
				if (!dns_hostok(r.rr[i].data))
					__builtin_trap();
			}
	}
	text = malloc(n + 1);
	memcpy(text, d, n);
	text[n] = 0;
	dns_confparse(&c, text, n);
	if (c.nns < 1 || c.nns > LIM_DNSSERVERS || c.timeout < 1 || c.timeout > LIM_DNSTIMEOUT ||
	    c.attempts < 1 || c.attempts > LIM_DNSATTEMPTS)
		__builtin_trap();
	free(text);
	return 0;
}
