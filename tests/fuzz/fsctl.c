/*
 * libFuzzer: a line written to fs's DIR/ctl, through fs's own word
 * splitter and name checks (applets/fs.c is included here, so its static
 * functions are reached and the binary stays as it is). Nothing is opened,
 * created or removed: only the names are judged.
 *
 * words: the count is -1 exactly when a quote is left open or there are
 * more than 256 words, else the words are those of a plain reading of rc's
 * quoting ('it''s'), and quoting each again gives the same words back.
 *
 * Each word then as the names it could be: the directory of an open box in
 * the tree (treename: one component, not empty, ".", "..", hidden or
 * "ctl", no control character, at most 255 octets), and a mailbox in the
 * store for create, remove and rename (fs's wirename, then imap_boxpath as
 * box/fuzz holds it: directories, a Maildir, an mbox, and a symbolic link
 * "link" to another user's box). An accepted mailbox name stays in
 * ROOT/box/fuzz/ without an empty, ".", ".." or hidden component or a
 * control character, passes through no symbolic link, and names just what
 * was written (INBOX as "mbox").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>
#include "core.h"
#include "applet.h"
#include "mbox.h"
#include "mimeenc.h"
#include "msg.h"
#include "msgfiles.h"
#include "imap.h"
#include "remote.h"

#define fs_main fuzz_fs_main
#include "../../applets/fs.c"

static char fzroot[64], fzuser[128];

static void
fzsetup(void)
{
	static const char *dirs[] = { "box", "box/fuzz", "box/fuzz/sub", "box/fuzz/sub/inner", "box/fuzz/Maildir",
		"box/fuzz/Maildir/cur", "box/fuzz/Maildir/new", "box/fuzz/Maildir/tmp", "box/victim" };
	static const char *files[] = { "box/fuzz/mbox", "box/fuzz/sub/1000000.00", "box/victim/mbox" };
	static int done;
	char p[192];
	size_t i;
	int fd;

	if (done++)
		return;
	snprintf(fzroot, sizeof fzroot, "/tmp/fuzz-fsctl.XXXXXX");
	if (mkdtemp(fzroot) == NULL)
		abort();
	setenv("UPASROOT", fzroot, 1);
	for (i = 0; i < nelem(dirs); i++) {
		snprintf(p, sizeof p, "%s/%s", fzroot, dirs[i]);
		if (mkdir(p, 0700) < 0)
			abort();
	}
	for (i = 0; i < nelem(files); i++) {
		snprintf(p, sizeof p, "%s/%s", fzroot, files[i]);
		if ((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0 ||
		    write(fd, "From a Tue Jul  1 10:52:37 2003\n\nx\n", 35) != 35)
			abort();
		close(fd);
	}
	snprintf(p, sizeof p, "%s/box/fuzz/link", fzroot);
	if (symlink("../victim", p) < 0)
		abort();
	snprintf(fzuser, sizeof fzuser, "%s/box/fuzz/", fzroot);
}

/* rc's quoting read plainly: the words, their count, or -1. */
static int
fzwords(const char *s, Str *w, int max)
{
	int n = 0, in = 0, q = 0;

	for (; *s; s++) {
		if (!q && (*s == ' ' || *s == '\t' || *s == '\r')) {
			in = 0;
			continue;
		}
		if (!in) {
			if (n == max)
				return -1;
			str_reset(&w[n++]);
			in = 1;
		}
		if (*s != '\'')
			str_addc(&w[n - 1], *s);
		else if (q && s[1] == '\'')
			str_addc(&w[n - 1], *s++);
		else
			q = !q;
	}
	return q ? -1 : n;
}

/* A word quoted so words() gives it back. */
static void
fzquote(Str *out, const char *w)
{
	if (*w != 0 && strpbrk(w, " \t\r'") == NULL) {
		str_adds(out, w);
		return;
	}
	str_addc(out, '\'');
	for (; *w; w++) {
		if (*w == '\'')
			str_addc(out, '\'');
		str_addc(out, *w);
	}
	str_addc(out, '\'');
}

/* Well-formed UTF-8: no overlong form, surrogate or code point past U+10FFFF. */
static int
fzutf8(const unsigned char *s)
{
	static const unsigned least[] = { 0, 0x80, 0x800, 0x10000 };
	int k, j;
	unsigned c;

	for (; *s; s++) {
		if (*s < 0x80)
			continue;
		if ((*s & 0xe0) == 0xc0)
			k = 1, c = *s & 0x1f;
		else if ((*s & 0xf0) == 0xe0)
			k = 2, c = *s & 0x0f;
		else if ((*s & 0xf8) == 0xf0)
			k = 3, c = *s & 0x07;
		else
			return 0;
		for (j = k; j > 0; j--) {
			if ((*++s & 0xc0) != 0x80)
				return 0;
			c = c << 6 | (*s & 0x3f);
		}
		if (c < least[k] || (c >= 0xd800 && c < 0xe000) || c > 0x10ffff)
			return 0;
	}
	return 1;
}

static void
fztreename(const char *w)
{
	size_t i, n = strlen(w);

	if (!treename(w))
		return;
	if (n == 0 || n > 255 || w[0] == '.' || strcmp(w, "ctl") == 0)
		__builtin_trap();
	for (i = 0; i < n; i++)
		if (w[i] == '/' || (unsigned char)w[i] < ' ' || w[i] == 0x7f)
			__builtin_trap();
}

/* A mailbox name for create, remove or rename. */
static void
fzstorename(const char *name)
{
	char path[LIM_PATHNAME], p[LIM_PATHNAME];
	const char *rest, *c, *e;
	struct stat st;
	Str w = { 0 };
	size_t k;

	if (wirename(&w, name) < 0 || imap_boxpath(path, sizeof path, "fuzz", w.p) < 0) {
		str_free(&w);
		return;
	}
	str_free(&w);
	k = strlen(fzuser);
	if (strncmp(path, fzuser, k) != 0)
		__builtin_trap();
	rest = path + k;
	for (c = rest;; c = e + 1) {
		e = strchr(c, '/');
		k = e ? (size_t)(e - c) : strlen(c);
		if (k == 0 || c[0] == '.')
			__builtin_trap();
		/* no symbolic link on the way */
		snprintf(p, sizeof p, "%.*s", (int)(c + k - path), path);
		if (lstat(p, &st) == 0 && S_ISLNK(st.st_mode))
			__builtin_trap();
		if (e == NULL)
			break;
	}
	for (c = rest; *c; c++)
		if ((unsigned char)*c < ' ' || *c == 0x7f)
			__builtin_trap();
	/* just what was named */
	if (fzutf8((const unsigned char *)name)) {
		if (strncasecmp(name, "INBOX", 5) == 0 && (name[5] == 0 || name[5] == '/')) {
			if (strncmp(rest, "mbox", 4) != 0 || strcmp(rest + 4, name + 5) != 0)
				__builtin_trap();
		} else if (strcmp(rest, name) != 0)
			__builtin_trap();
	}
}

int
LLVMFuzzerTestOneInput(const unsigned char *d, size_t n)
{
	static Str ref[257];
	char line[sizeof G.ctlbuf], *av[256], *q;
	Str again = { 0 };
	int ac, k, i;

	fzsetup();
	if (n >= sizeof line)
		return 0;
	memcpy(line, d, n);
	line[n] = 0;
	line[strcspn(line, "\n")] = 0;	/* readctl's line */
	k = fzwords(line, ref, nelem(av));
	ac = words(line, av, nelem(av));
	if (ac != k)
		__builtin_trap();
	for (i = 0; i < ac; i++) {
		if (av[i] < line || av[i] >= line + sizeof line || strcmp(av[i], ref[i].p ? ref[i].p : "") != 0)
			__builtin_trap();
		if (i > 0)
			str_addc(&again, ' ');
		fzquote(&again, av[i]);
	}
	if (ac > 0) {
		q = xstrdup(again.p);
		if (words(q, av + 0, nelem(av)) != ac)
			__builtin_trap();
		for (i = 0; i < ac; i++)
			if (strcmp(av[i], ref[i].p ? ref[i].p : "") != 0)
				__builtin_trap();
		for (i = 0; i < ac; i++) {
			fztreename(av[i]);
			fzstorename(av[i]);
		}
		free(q);
	}
	str_free(&again);
	return 0;
}
