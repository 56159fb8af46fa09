/*
 * aliasmail: expand names through the alias files listed in ROOT/lib/namefiles
 * (aliasmail(8)).  One address per line; a name no file knows, or a name with
 * a '!', comes back as local!name.  -f: the domain of a name's first address,
 * from the files in fromfiles.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "applet.h"
#include "rewrite.h"

static int debug;
static char lib[LIM_PATHNAME];

static void
dprint(const char *fmt, const char *a, const char *b)
{
	if (debug)
		fprintf(stderr, fmt, a, b);
}

/* A file name from namefiles or #include: relative ones live in ROOT/lib. */
static int
libpath(char *buf, size_t n, const char *f)
{
	int k = f[0] == '/' ? snprintf(buf, n, "%s", f) : snprintf(buf, n, "%s/%s", lib, f);

	if (k < 0 || (size_t)k >= n) {
		seterr("%s: path too long", f);
		return -1;
	}
	return 0;
}

/* user@dom as dom!user, to compare with the names of a definition loop. */
static void
attobang(char *buf, size_t n, const char *tok)
{
	const char *at = strchr(tok, '@');

	if (at == NULL)
		snprintf(buf, n, "%s", tok);
	else
		snprintf(buf, n, "%s!%.*s", at + 1, (int)(at - tok), tok);
}

static int lookup(const char *file, char **names, Str *out, int depth);

/*
 * conf_line takes "#include file" for a comment, so the lines between real
 * ones (blank, comments, includes) are read here first.  1 when an include
 * found the name.
 */
static int
between(Conf *c, char **names, Str *out, int depth)
{
	char *p, *e, *f, file[LIM_PATHNAME];

	for (;;) {
		p = c->p;
		while (p < c->end && (*p == ' ' || *p == '\t' || *p == '\r'))
			p++;
		if (p >= c->end)
			return 0;
		if (*p != '\n' && *p != '#')
			return 0;
		e = memchr(p, '\n', c->end - p);
		if (e == NULL)
			e = c->end;
		if (strncmp(p, "#include", 8) == 0 && (p[8] == ' ' || p[8] == '\t')) {
			for (f = p + 8; f < e && (*f == ' ' || *f == '\t'); f++)
				;
			while (e > f && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
				e--;
			snprintf(file, sizeof file, "%.*s", (int)(e - f), f);
			e = memchr(p, '\n', c->end - p);
			c->p = e ? e + 1 : c->end;
			c->lineno++;
			if (*file && lookup(file, names, out, depth + 1) == 1)
				return 1;
			continue;
		}
		c->p = e < c->end ? e + 1 : c->end;
		c->lineno++;
	}
}

/* The definition of names[0] in file: 1 found (addresses in out), 0 not, -1 error. */
static int
lookup(const char *file, char **names, Str *out, int depth)
{
	char path[LIM_PATHNAME], bang[LIM_PATHNAME], *f[LIM_CONFFIELDS];
	int nf, i, j;
	Conf c;

	if (depth > LIM_ALIASDEPTH) {
		warn("%s: #include nested too deep", file);
		return -1;
	}
	dprint("lookup %s in %s\n", names[0], file);
	if (libpath(path, sizeof path, file) < 0 || conf_open(&c, path) < 0) {
		dprint("%s%s\n", lasterr(), "");
		return -1;
	}
	for (;;) {
		if (between(&c, names, out, depth) == 1) {
			conf_close(&c);
			return 1;
		}
		if ((nf = conf_line(&c, f, nelem(f))) == 0)
			break;
		if (nf < 0) {
			warn("%s", lasterr());
			continue;
		}
		for (i = 0; names[i] && strcasecmp(f[0], names[i]) != 0; i++)
			;
		if (names[i] == NULL)
			continue;
		for (j = 1; j < nf; j++) {
			attobang(bang, sizeof bang, f[j]);
			for (i = 0; names[i] && strcasecmp(bang, names[i]) != 0; i++)
				;
			if (names[i])
				str_fmt(out, "local!%s\n", names[0]);
			else
				str_fmt(out, "%s\n", f[j]);
		}
		conf_close(&c);
		return 1;
	}
	conf_close(&c);
	return 0;
}

/* The alias files: the words of namefiles (or fromfiles). */
static int
dbfiles(const char *list, char ***files)
{
	char path[LIM_PATHNAME], *f[LIM_CONFFIELDS], **v = NULL;
	int nf, n = 0, i;
	Conf c;

	if (libpath(path, sizeof path, list) < 0 || conf_open(&c, path) < 0) {
		dprint("%s%s\n", lasterr(), "");
		*files = NULL;
		return 0;
	}
	while ((nf = conf_line(&c, f, nelem(f))) != 0) {
		if (nf < 0)
			continue;
		v = xrealloc(v, (n + nf) * sizeof *v);
		for (i = 0; i < nf; i++)
			v[n++] = xstrdup(f[i]);
	}
	conf_close(&c);
	*files = v;
	return n;
}

/*
 * The expansion aliasmail prints, into out: argv is "aliasmail [-df] [-n
 * file] name...". send calls this for its translate rules without a
 * process of its own, so it returns where main would exit.
 */
int
aliasmail_expand(char **argv, Str *out)
{
	const char *namefiles = "namefiles", *alt;
	char **files, *names[4], *p, *name;
	int from = 0, i, k, nfiles, rv;
	Str one = { 0 };

	debug = 0;
	for (i = 1; argv[i] != NULL && argv[i][0] == '-' && argv[i][1] != 0; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		for (p = argv[i] + 1; *p; p++)
			if (*p == 'd')
				debug = 1;
			else if (*p == 'f')
				from = 1;
			else if (*p == 'n' && p[1] == 0 && argv[i + 1] != NULL) {
				namefiles = argv[++i];
				break;
			} else {
				seterr("aliasmail: bad option -%c", *p);
				return EX_USAGE;
			}
	}
	if (upas_path(lib, sizeof lib, "lib", NULL) < 0)
		return EX_CONFIG;
	nfiles = dbfiles(from ? "fromfiles" : namefiles, &files);
	for (; argv[i] != NULL; i++) {
		name = xstrdup(argv[i]);
		for (p = name; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p += 'a' - 'A';
		/* the name, and the name on each of our systems, to catch definition loops */
		names[0] = name;
		names[1] = xmalloc(strlen(rw_sysname()) + strlen(name) + 2);
		sprintf(names[1], "%s!%s", rw_sysname(), name);
		names[2] = names[3] = NULL;
		if ((alt = rw_altsysname()) != NULL) {
			names[2] = xmalloc(strlen(alt) + strlen(name) + 2);
			sprintf(names[2], "%s!%s", alt, name);
		}
		str_reset(&one);
		str_adds(&one, "");
		rv = 0;
		if (strchr(name, '!') == NULL)
			for (k = 0; k < nfiles && rv != 1; k++)
				rv = lookup(files[k], names, &one, 0);
		if (from) {
			if (rv == 1 && one.n) {
				one.p[strcspn(one.p, "\n")] = 0;
				if ((p = strchr(one.p, '!')) != NULL)
					str_addn(out, one.p, p - one.p);
				else if ((p = strchr(one.p, '@')) != NULL)
					str_adds(out, p + 1);
				else
					str_adds(out, one.p);
			}
		} else if (rv != 1 || one.n == 0)
			str_fmt(out, "local!%s\n", name);
		else
			str_addn(out, one.p, one.n);
		free(names[1]);
		free(names[2]);
		free(name);
	}
	for (k = 0; k < nfiles; k++)
		free(files[k]);
	free(files);
	str_free(&one);
	return 0;
}

int
aliasmail_main(int argc, char **argv)
{
	Str out = { 0 };
	int st;

	if ((st = aliasmail_expand(argv, &out)) != 0) {
		if (st == EX_USAGE)
			usage();
		die(st, "%s", lasterr());
	}
	if (out.n > 0)
		fwrite(out.p, 1, out.n, stdout);
	str_free(&out);
	fflush(stdout);
	return ferror(stdout) ? EX_IOERR : 0;
}
