/*
 * mail: read mail with nedmail, or send it with marshal (mail(1)).
 * No arguments, or a first argument -f, -r, -c or -m (with or without a
 * value attached): nedmail; otherwise marshal -8 with the arguments.
 */
#include <stdlib.h>
#include <string.h>
#include "applet.h"

int
mail_main(int argc, char **argv)
{
	char **v = xmalloc((argc + 2) * sizeof *v);
	int i, n = 0;

	if (argc < 2 || (argv[1][0] == '-' && strchr("frcm", argv[1][1]) && argv[1][1] != 0)) {
		v[n++] = "nedmail";
	} else {
		v[n++] = "marshal";
		v[n++] = "-8";
	}
	for (i = 1; i < argc; i++)
		v[n++] = argv[i];
	v[n] = NULL;
	proc_exec(v);
}
