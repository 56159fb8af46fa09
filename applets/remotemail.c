/*
 * remotemail: the mailer runq runs for queued remote mail, as upas's
 * /mail/lib/remotemail script: "remotemail tag sender dest rcpt..." becomes
 * "smtp [options] -h domain dest sender rcpt...", the domain being the
 * sender's (aliasmail -f), and the options those in ROOT/lib/remotemail.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "applet.h"
#include "addr.h"
#include "rewrite.h"

/* The words of ROOT/lib/remotemail: options only, so no line there can name a destination. */
static int
options(Arena *ar, char **v, int max)
{
	char path[LIM_PATHNAME], *f[LIM_CONFFIELDS];
	Conf c;
	int n = 0, nf, i;

	if (upas_path(path, sizeof path, "lib", "remotemail", NULL) < 0)
		return -1;
	if (conf_open(&c, path) < 0)
		return errno == ENOENT ? 0 : -1;
	while ((nf = conf_line(&c, f, nelem(f))) != 0) {
		for (i = 0; i < nf; i++) {
			if ((f[i][0] != '-' && f[i][0] != '.') || n == max) {
				seterr("%s: %s: only smtp options belong here", path, f[i]);
				conf_close(&c);
				return -1;
			}
			v[n++] = arena_strdup(ar, f[i]);
		}
	}
	conf_close(&c);
	return n;
}

int
remotemail_main(int argc, char **argv)
{
	char *av[] = { "aliasmail", "-f", NULL, NULL }, **nv;
	Arena ar = {0};
	Str dom = {0};
	int n, k, i;

	if (argc < 5)
		usage();
	nv = arena_alloc(&ar, (argc + LIM_CONFFIELDS + 4) * sizeof *nv);
	nv[0] = "smtp";
	av[2] = argv[2];
	if (strcmp(argv[2], "/dev/null") != 0 && aliasmail_expand(av, &dom) == 0 && dom.n > 0 &&
	    strchr(dom.p, '.') != NULL && addr_domainok(dom.p)) {
		nv[1] = "-h";
		nv[2] = dom.p;
		n = 3;
	} else
		n = 1;
	if ((k = options(&ar, nv + n, LIM_CONFFIELDS)) < 0)
		die(EX_TEMPFAIL, "Retry, Temporary Failure: %s", lasterr());
	n += k;
	nv[n++] = argv[3];
	nv[n++] = argv[2];
	for (i = 4; i < argc; i++)
		nv[n++] = argv[i];
	nv[n] = NULL;
	return applet_call(nv);
}
