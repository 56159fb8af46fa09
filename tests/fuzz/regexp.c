/* libFuzzer: core/regexp.c on untrusted patterns and text (filter's and nedmail's patterns are a user's, the text a sender's). The first byte picks the flags, the pattern runs to the first newline, the text is the rest; every match must lie in the text, its subexpressions inside it. */
#include <string.h>
#include "regexp.h"

int
LLVMFuzzerTestOneInput(const unsigned char *d, size_t n)
{
	char pat[512];
	const char *nl;
	Rematch m[RE_NSUB];
	Regex *re;
	size_t k;
	int i;

	if (n < 1)
		return 0;
	nl = memchr(d + 1, '\n', n - 1);
	k = nl ? (size_t)(nl - (const char *)d) - 1 : n - 1;
	if (k >= sizeof pat)
		return 0;
	memcpy(pat, d + 1, k);
	pat[k] = 0;
	if ((re = re_comp(pat, d[0] & 1 ? RE_ICASE : 0)) == NULL)
		return 0;
	d += 1 + k + (nl != NULL);
	n -= 1 + k + (nl != NULL);
	if (re_exec(re, (const char *)d, n, m, RE_NSUB)) {
		if (m[0].so < 0 || m[0].so > m[0].eo || (size_t)m[0].eo > n)
			__builtin_trap();
		for (i = 1; i < RE_NSUB; i++)
			if (m[i].so >= 0 && (m[i].so > m[i].eo || (size_t)m[i].eo > n))
				__builtin_trap();
	}
	re_free(re);
	return 0;
}
