/* libFuzzer: the address parsers on untrusted bytes; every result must format and round-trip. */
#include <string.h>
#include "addr.h"

int
LLVMFuzzerTestOneInput(const unsigned char *d, size_t n)
{
	Arena ar = { 0 };
	Addr a, b, *v;
	size_t used;
	int nv, i;
	char *s;

	if (addr_path(&ar, (const char *)d, n, &a, &used) == 0) {
		if (used > n)
			__builtin_trap();
		if (a.local && (s = addr_text(&ar, &a)) != NULL && *s && addr_parse(&ar, s, &b) < 0)
			__builtin_trap();
	}
	if (addr_list(&ar, (const char *)d, n, &v, &nv) == 0)
		for (i = 0; i < nv; i++)
			if ((s = addr_bang(&ar, &v[i])) == NULL || addr_frombang(&ar, s, &b) < 0)
				__builtin_trap();
	s = arena_strndup(&ar, (const char *)d, n);
	if (strlen(s) == n)
		addr_parse(&ar, s, &a);
	arena_free(&ar);
	return 0;
}
