#include <stdio.h>
#include <string.h>
#include "applet.h"

static int
list(FILE *f, int names)
{
	size_t i;

	if (names) {
		for (i = 0; i < napplets; i++)
			fprintf(f, "%s\n", applets[i].name);
		return 0;
	}
	fprintf(f, "usage: upas applet [arg...]   (or run through a link named after the applet)\napplets:\n");
	for (i = 0; i < napplets; i++)
		fprintf(f, "  %s %s\n", applets[i].name, applets[i].usage);
	return 0;
}

/* Busybox-style dispatch: the name we were run as, or the first argument of "upas". */
int
main(int argc, char **argv)
{
	const char *name = argc > 0 ? argv[0] : "upas", *s;
	const Applet *a;

	if ((s = strrchr(name, '/')) != NULL)
		name = s + 1;
	if (strcmp(name, "upas") == 0) {
		if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
			return list(stdout, 0);
		if (strcmp(argv[1], "--list") == 0)
			return list(stdout, 1);
		argc--, argv++;
		name = argv[0];
	}
	if ((a = applet_lookup(name)) == NULL) {
		fprintf(stderr, "upas: unknown applet: %s\n", name);
		list(stderr, 0);
		return EX_USAGE;
	}
	return applet_run(a, argc, argv);
}
