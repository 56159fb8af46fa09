/* libFuzzer: the names upas takes from configuration and users: dial strings (dial_parse) and fs's remote mailbox names (remote_parse); what they accept must be bounded and well formed. */
#include <string.h>
#include "core.h"
#include "remote.h"

int
LLVMFuzzerTestOneInput(const unsigned char *d, size_t n)
{
	char s[1024];
	Dial dl;
	Remote r;

	if (n >= sizeof s)
		return 0;
	memcpy(s, d, n);
	s[n] = 0;
	if (dial_parse(s, "smtp", &dl) == 0 &&
	    (memchr(dl.net, 0, sizeof dl.net) == NULL || memchr(dl.host, 0, sizeof dl.host) == NULL ||
	    memchr(dl.port, 0, sizeof dl.port) == NULL || strspn(dl.port, "0123456789") != strlen(dl.port)))
		__builtin_trap();
	if (remote_parse(s, &r) == 1 &&
	    ((r.proto != RM_POP && r.proto != RM_IMAP) || r.host[0] == 0 || memchr(r.host, 0, sizeof r.host) == NULL ||
	    strchr(r.host, '/') != NULL || memchr(r.user, 0, sizeof r.user) == NULL || memchr(r.box, 0, sizeof r.box) == NULL))
		__builtin_trap();
	return 0;
}
