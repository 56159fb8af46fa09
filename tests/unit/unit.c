/*
 * build/unit [all | name...]: run tests, TAP output, exit 1 on any failure.
 * build/unit tool args...: run a test tool (used by tests/e2e).
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "unit.h"

static Test *tests;
static int failed, checks;
static char tmpdir[64];

void
unit_register(Test *t)
{
	Test **p;

	for (p = &tests; *p && strcmp((*p)->name, t->name) < 0; p = &(*p)->next)
		;
	t->next = *p;
	*p = t;
}

int
unit_check(int ok, const char *what, const char *file, int line)
{
	checks++;
	if (!ok) {
		failed++;
		printf("#   %s:%d: check failed: %s\n", file, line, what);
	}
	return ok;
}

int
unit_checkstr(const char *got, const char *want, const char *what, const char *file, int line)
{
	int ok = (got == NULL && want == NULL) || (got && want && strcmp(got, want) == 0);

	if (!ok)
		printf("#   %s:%d: %s is \"%s\", want \"%s\"\n", file, line, what,
		    got ? got : "(null)", want ? want : "(null)");
	return unit_check(ok, what, file, line);
}

const char *
unit_tmpdir(void)
{
	if (tmpdir[0] == 0) {
		snprintf(tmpdir, sizeof tmpdir, "/tmp/upas-unit.XXXXXX");
		if (mkdtemp(tmpdir) == NULL)
			die(1, "mkdtemp:");
	}
	return tmpdir;
}

static int
rmone(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	remove(path);
	return 0;
}

static int
run(Test *t, int n)
{
	int before = failed;

	t->fn();
	printf("%s %d - %s\n", failed == before ? "ok" : "not ok", n, t->name);
	fflush(stdout);
	return failed == before;
}

int
main(int argc, char **argv)
{
	Test *t;
	int n = 0, i, bad = 0, all = argc < 2 || strcmp(argv[1], "all") == 0;

	argv0 = "unit";
	if (!all)
		for (t = tests; t; t = t->next)
			if (t->tool && strcmp(t->name, argv[1]) == 0)
				return t->tool(argc - 1, argv + 1);
	for (t = tests; t; t = t->next) {
		if (!t->fn)
			continue;
		if (!all) {
			for (i = 1; i < argc; i++)
				if (strcmp(argv[i], t->name) == 0)
					break;
			if (i == argc)
				continue;
		}
		n++;
		bad += !run(t, n);
	}
	printf("1..%d\n", n);
	if (n == 0) {
		fprintf(stderr, "unit: no such test\n");
		return 1;
	}
	if (tmpdir[0])
		nftw(tmpdir, rmone, 16, FTW_DEPTH | FTW_PHYS);
	printf("# %d checks, %d failed, %d tests failed\n", checks, failed, bad);
	return bad ? 1 : 0;
}
