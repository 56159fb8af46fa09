/*
 * libFuzzer: a certificate's subjectAltName walked for an iPAddress
 * (tls_ipnamed) on untrusted DER. The first byte picks IPv4 or IPv6, the
 * address follows, then the certificate; a match must be in it.
 */
#include <string.h>
#include "tls.h"

int
LLVMFuzzerTestOneInput(const unsigned char *d, size_t n)
{
	unsigned char want[18];
	size_t len;

	if (n < 1)
		return 0;
	len = d[0] & 1 ? 16 : 4;
	if (n < 1 + len)
		return 0;
	want[0] = 0x87;
	want[1] = len;
	memcpy(want + 2, d + 1, len);
	if (tls_ipnamed(d + 1 + len, n - 1 - len, d + 1, len) &&
	    memmem(d + 1 + len, n - 1 - len, want, len + 2) == NULL)
		__builtin_trap();
	return 0;
}
