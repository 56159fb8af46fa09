/* libFuzzer: HTML bodies as text (core/htmlfmt.c): no crash, output bounded by the input. */
#include <string.h>
#include "htmlfmt.h"

int
LLVMFuzzerTestOneInput(const unsigned char *d, size_t n)
{
	static const int widths[] = { 0, 11, 70 };
	Str s = { 0 };
	size_t i;

	for (i = 0; i < sizeof widths / sizeof widths[0]; i++) {
		str_reset(&s);
		html_text(&s, (const char *)d, n, widths[i]);
		/* a tag or entity never grows past a list bullet's indent, a link's
		 * address or a line end per input octet */
		if (s.n > 8 * n + 1100)
			__builtin_trap();
	}
	str_free(&s);
	return 0;
}
