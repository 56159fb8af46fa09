/* libFuzzer: the config tokenizer and dial strings on untrusted bytes. */
#include <stdlib.h>
#include <string.h>
#include "core.h"

int
LLVMFuzzerTestOneInput(const unsigned char *d, size_t n)
{
	char *f[LIM_CONFFIELDS], *text = xmalloc(n + 1);
	Conf c;
	Dial dl;
	int k, i;

	memcpy(text, d, n);
	text[n] = 0;
	if (strlen(text) == n)
		dial_parse(text, "smtp", &dl);
	conf_text(&c, text, n, "fuzz");
	while ((k = conf_line(&c, f, nelem(f))) != 0)
		for (i = 0; i < k; i++)
			if (strlen(f[i]) > n)
				__builtin_trap();
	conf_close(&c);
	return 0;
}
