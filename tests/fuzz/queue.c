/* libFuzzer: queue control files from untrusted bytes; what decodes must re-encode identically. */
#include <string.h>
#include "queue.h"

int
LLVMFuzzerTestOneInput(const unsigned char *d, size_t n)
{
	Arena ar = { 0 };
	Str s = { 0 };
	char **argv;
	int argc;

	if (queue_decode(&ar, "fuzz", (const char *)d, n, &argv, &argc) == 0) {
		if (queue_encode(&s, "fuzz", argv, argc) < 0 || s.n != n || memcmp(s.p, d, n) != 0)
			__builtin_trap();
		str_free(&s);
	}
	arena_free(&ar);
	return 0;
}
