#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "applet.h"

const Applet applets[] = {
#define APPLET(n, u) { #n, n##_main, u },
#include "applets.h"
#undef APPLET
};
const size_t napplets = nelem(applets);
static const Applet *current;

const Applet *
applet_lookup(const char *name)
{
	size_t lo = 0, hi = napplets, mid;
	int c;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		c = strcmp(name, applets[mid].name);
		if (c == 0)
			return &applets[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

int
applet_known(const char *name)
{
	return applet_lookup(name) != NULL;
}

/* For core's proc_exec: an applet named as a program runs from this binary. */
int
applet_call(char **argv)
{
	const Applet *a = applet_lookup(argv[0]);
	int argc = 0;

	if (a == NULL)
		return -1;
	while (argv[argc])
		argc++;
	return applet_run(a, argc, argv);
}

/* Run an applet in this process: reset getopt so it may run after another. */
int
applet_run(const Applet *a, int argc, char **argv)
{
	current = a;
	argv0 = a->name;
	optind = 0;
	opterr = 1;
	return a->main(argc, argv);
}

void
usage(void)
{
	if (current)
		fprintf(stderr, "usage: %s %s\n", current->name, current->usage);
	fflush(stdout);
	_exit(EX_USAGE);
}
