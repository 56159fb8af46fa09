/* Unit tests over core/rewrite.c: rule parsing, matching, substitution, the shipped rules, binding. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/utsname.h>
#include "unit.h"
#include "rewrite.h"

/* Tests run with a known system name and mail root; the caller's are put back. */
static char *oldroot, *oldsite;

static void
env(void)
{
	oldroot = getenv("UPASROOT") ? xstrdup(getenv("UPASROOT")) : NULL;
	oldsite = getenv("site") ? xstrdup(getenv("site")) : NULL;
	setenv("UPASROOT", "/mail", 1);
	setenv("site", "kremvax", 1);
}

static void
unenv(void)
{
	if (oldroot)
		setenv("UPASROOT", oldroot, 1);
	else
		unsetenv("UPASROOT");
	if (oldsite)
		setenv("site", oldsite, 1);
	else
		unsetenv("site");
	free(oldroot);
	free(oldsite);
}

static void
rules(Rewrite *rw, const char *text)
{
	rw_text(rw, xstrdup(text), strlen(text), "test");
}

/* What rewrite makes of addr: "type arg1 [arg2]" with literal markers gone, or "none". */
static char *
route(Rewrite *rw, Arena *ar, const char *addr, const char *sender)
{
	static const char *types[] = { ">>", "|", "alias", "translate", "auth" };
	Rwmsg m = { sender, 0 };
	char *a1, *a2, *r;
	Str s = { 0 };
	int i;

	if ((i = rw_match(rw, ar, addr, &m, 1, &a1, &a2)) < 0)
		return "none";
	str_fmt(&s, "%s", types[rw->r[i].type]);
	if (a1)
		str_fmt(&s, " %s", rw_plain(ar, a1));
	if (a2)
		str_fmt(&s, " %s", rw_plain(ar, a2));
	r = arena_strdup(ar, s.p);
	str_free(&s);
	return r;
}

TEST(rewrite_parse)
{
	Rewrite rw;
	struct utsname u;

	env();
	rules(&rw, "# comment\n"
	    "local!(.*)\t>>\t\\m/box/\\1/mbox\n"
	    "x  bogus  y\n"
	    "Foo\\\\.BAR   alias  'a \\\\ b'  \"c d\"\n"
	    "only-a-pattern\n"
	    "\\l!(.*)\talias\t\\1\n");
	uname(&u);
	CHECK(rw.n == 4);
	CHECKSTR(rw.r[0].pat, "local!(.*)");
	CHECK(rw.r[0].type == RW_CAT);
	CHECKSTR(rw.r[0].arg1, "/mail/box/\\1/mbox");
	CHECK(rw.r[0].arg2 == NULL);
	CHECKSTR(rw.r[1].pat, "foo\\.bar");
	CHECKSTR(rw.r[1].arg1, "a \\ b");
	CHECKSTR(rw.r[1].arg2, "c d");
	/* a rule naming the system is added again for the other name */
	CHECKSTR(rw.r[2].pat, "kremvax!(.*)");
	CHECK(rw.r[3].type == RW_ALIAS && strstr(rw.r[3].pat, "!(.*)") != NULL);
	rw_free(&rw);
	/* a dotted name is escaped in a pattern */
	setenv("site", "mail.example.com", 1);
	rules(&rw, "\\l!(.*) alias \\1\n");
	CHECKSTR(rw.r[0].pat, "mail\\.example\\.com!(.*)");
	rw_free(&rw);
	unenv();
}

TEST(rewrite_subst)
{
	Rewrite rw;
	Arena ar = { 0 };
	Rwmsg m = { "o'brien@x.org", 0 };
	char *a1, *a2, **v;

	env();
	rules(&rw, "([^!]*)!(.*)\t|\t\"qer -K - mail '\\s' 'net!\\1'\"\t\"'\\2'\"\n"
	    "x([0-9])y\talias\t\"<&> <\\1> <\\\\\\\\> <\\q> <\\p>\"\n");
	CHECK(rw_match(&rw, &ar, "Example.COM!Bob", &m, 1, &a1, &a2) == 0);
	CHECK(rw_split(&ar, a1, &v) == 6);
	CHECKSTR(v[0], "qer");
	CHECKSTR(v[4], "o'brien@x.org");
	CHECKSTR(v[5], "net!Example.COM");
	CHECK(rw_split(&ar, a2, &v) == 1);
	CHECKSTR(v[0], "Bob");
	/* a quote or blank inside the address stays inside its word */
	CHECK(rw_match(&rw, &ar, "h!\"a 'b\"", &m, 1, &a1, &a2) == 0);
	CHECK(rw_split(&ar, a2, &v) == 1);
	CHECKSTR(v[0], "\"a 'b\"");
	/* & the whole match, \1, \\ a backslash, \q a q, \p the precedence */
	CHECK(rw_match(&rw, &ar, "X7Y", &m, 1, &a1, &a2) == 1);
	CHECKSTR(rw_plain(&ar, a1), "<X7Y> <7> <\\> <q> <normal>");
	m.bulk = 1;
	CHECK(rw_match(&rw, &ar, "x1y", &m, 1, &a1, &a2) == 1);
	CHECK(strstr(a1, "<bulk>") != NULL);
	/* the pattern must span the whole address */
	CHECK(rw_match(&rw, &ar, "ax1y", &m, 1, &a1, &a2) == -1);
	CHECK(rw_match(&rw, &ar, "x1yz", &m, 1, &a1, &a2) == -1);
	rw_free(&rw);
	arena_free(&ar);
	unenv();
}

TEST(rewrite_split)
{
	Arena ar = { 0 };
	char **v, lit[] = { 'a', RW_LIT, '\'', 'b', 0 };

	CHECK(rw_split(&ar, "  a  'b c'd \"e'f\" '' ", &v) == 4);
	CHECKSTR(v[0], "a");
	CHECKSTR(v[1], "b cd");
	CHECKSTR(v[2], "e'f");
	CHECKSTR(v[3], "");
	CHECK(v[4] == NULL);
	CHECK(rw_split(&ar, "a 'b", &v) == -1);
	CHECK(rw_split(&ar, lit, &v) == 1);
	CHECKSTR(v[0], "a'b");
	CHECK(rw_words(&ar, " x  \"a b\"@c\n\ty ", &v) == 3);
	CHECKSTR(v[1], "\"a b\"@c");
	CHECKSTR(v[2], "y");
	arena_free(&ar);
}

TEST(rewrite_addr)
{
	Arena ar = { 0 };

	CHECKSTR(rw_addr(&ar, "glenda"), "glenda");
	CHECKSTR(rw_addr(&ar, "Glenda Bunny <glenda@Example.com>"), "glenda@Example.com");
	CHECKSTR(rw_addr(&ar, "kremvax!glenda"), "kremvax!glenda");
	CHECKSTR(rw_addr(&ar, "local!\"a b\""), "local!\"a b\"");
	CHECK(rw_addr(&ar, "a\nb@c") == NULL);
	CHECK(rw_addr(&ar, "x\r@y") == NULL);
	CHECK(rw_addr(&ar, "-oQ/tmp@x") == NULL);
	CHECK(rw_addr(&ar, "`touch /tmp/x`") == NULL);
	CHECK(rw_addr(&ar, "<>") == NULL);
	arena_free(&ar);
}

TEST(rewrite_fromlines)
{
	Str s = { 0 };
	const char *m1 = "From bob Mon Jan  2 15:04:05 UTC 2006 remote from gw\n"
	    "From alice Mon Jan  2 15:04:05 UTC 2006 remote from hub\nSubject: x\n";
	const char *m2 = "From glenda Mon Jan  2 15:04:05 UTC 2006\nFrom the desk\n";
	const char *m3 = "From bob@x.org Mon Jan  2 15:04:05 2006 remote from \nx\n";

	CHECK(rw_fromlines(m1, strlen(m1), &s) == strlen(m1) - strlen("Subject: x\n"));
	CHECKSTR(s.p, "gw!hub!alice");
	str_reset(&s);
	CHECK(rw_fromlines(m2, strlen(m2), &s) == strlen(m2) - strlen("From the desk\n"));
	CHECKSTR(s.p, "glenda");
	str_reset(&s);
	CHECK(rw_fromlines(m3, strlen(m3), &s) == strlen(m3) - 2);
	CHECKSTR(s.p, "bob@x.org");
	str_reset(&s);
	CHECK(rw_fromlines("Subject: x\n", 11, &s) == 0);
	CHECKSTR(s.p, "");
	str_free(&s);
}

/* The shipped rules give upas's results. */
static const struct {
	const char *file, *addr, *want;
} shipped[] = {
	{ "rewrite.direct", "glenda", "translate aliasmail 'glenda'" },
	{ "rewrite.direct", "\"Glenda Bunny\"", "translate aliasmail 'Glenda Bunny'" },
	{ "rewrite.direct", "first.last", "none" },
	{ "rewrite.direct", "kremvax!glenda", "alias glenda" },
	{ "rewrite.direct", "KremVax!Glenda", "alias Glenda" },
	{ "rewrite.direct", "kremvax.yourdomain.dom!glenda", "alias glenda" },
	{ "rewrite.direct", "kremvaxxyourdomain.dom!glenda", "| qer -K - mail 'glenda' 'net!kremvaxxyourdomain.dom' 'glenda'" },
	{ "rewrite.direct", "local!glenda", ">> /mail/box/glenda/mbox" },
	{ "rewrite.direct", "local!\"a b\"", ">> /mail/box/a b/mbox" },
	{ "rewrite.direct", "glenda@kremvax", "alias kremvax!glenda" },
	{ "rewrite.direct", "bob@example.com", "alias example.com!bob" },
	{ "rewrite.direct", "a@b@c", "alias b!a@c" },
	{ "rewrite.direct", "@a:u@d", "alias u@d@a" },
	{ "rewrite.direct", "@a,@b:u@d", "alias @a:u@d@b" },
	{ "rewrite.direct", "example.com!bob", "| qer -K - mail 'glenda' 'net!example.com' 'bob'" },
	{ "rewrite.direct", "a!b!c", "| qer -K - mail 'glenda' 'net!a' 'b!c'" },
	{ "rewrite.gateway", "glenda", "translate aliasmail 'glenda'" },
	{ "rewrite.gateway", "local!glenda", "alias glenda@YOURDOMAIN.DOM" },
	{ "rewrite.gateway", "bob@example.com", "alias example.com!bob" },
	{ "rewrite.gateway", "example.com!bob", "| qer -K - mail 'glenda' 'net!YOURGATEWAY.DOM' 'bob@example.com'" },
	{ "rewrite.gateway", "kremvax!glenda", "| qer -K - mail 'glenda' 'net!YOURGATEWAY.DOM' 'glenda@kremvax'" },
	{ "rewrite", "glenda", "translate aliasmail 'glenda'" },
	{ "rewrite", "first.last", "translate aliasmail 'first.last'" },
	{ "rewrite", "kremvax!glenda", "alias glenda" },
	{ "rewrite", "localhost!glenda", "alias glenda" },
	{ "rewrite", "local!glenda", ">> /mail/box/glenda/mbox" },
	{ "rewrite", "glenda@kremvax", "alias kremvax!glenda" },
	{ "rewrite", "bob@example.com", "alias example.com!bob" },
	{ "rewrite", "example.com!bob", "| qer -K - mail 'glenda' 'net!example.com' 'bob'" },
};

TEST(rewrite_shipped)
{
	char path[256];
	Rewrite rw;
	Arena ar = { 0 };
	size_t i;
	char *got;

	env();
	for (i = 0; i < nelem(shipped); i++) {
		snprintf(path, sizeof path, "configs/root/lib/%s", shipped[i].file);
		if (!CHECK(rw_load(&rw, path) == 0))
			break;
		got = route(&rw, &ar, shipped[i].addr, "glenda");
		if (strcmp(got, shipped[i].want) != 0)
			printf("#   %s: %s\n", shipped[i].file, shipped[i].addr);
		CHECKSTR(got, shipped[i].want);
		rw_free(&rw);
	}
	arena_free(&ar);
	unenv();
}

/* A fake aliasmail and fake mailboxes for binding. */
static int
fakerun(Binder *b, char **argv, Str *out, Str *err)
{
	if (strcmp(argv[0], "aliasmail") != 0 || argv[1] == NULL) {
		str_adds(err, "no such program\n");
		return 1;
	}
	if (strcmp(argv[1], "staff") == 0)
		str_adds(out, "local!alice\nlocal!bob\n_nosummary_\nlocal!alice\n");
	else if (strcmp(argv[1], "loop1") == 0)
		str_adds(out, "loop2\n");
	else if (strcmp(argv[1], "loop2") == 0)
		str_adds(out, "loop1\n");
	else if (strcmp(argv[1], "broken") == 0) {
		str_adds(err, "alias file unreadable\n");
		return 1;
	} else
		str_fmt(out, "local!%s\n", argv[1]);
	return 0;
}

static int
fakelocal(Binder *b, Dest *d, Str *fwd)
{
	if (strcmp(d->addr, "local!fwd") == 0 && fwd) {
		str_adds(fwd, "local!carol  local!fwd\n");
		return 1;
	}
	d->status = strcmp(d->addr, "local!ghost") == 0 ? D_UNKNOWN : D_CAT;
	return 0;
}

TEST(rewrite_bind)
{
	Rewrite rw;
	Arena ar = { 0 };
	Rwmsg m = { "glenda", 0 };
	Binder b = { 0 };
	char *addrs[40], **argv, buf[32];
	Dest *d, *x;
	int n = 0, i, ncat = 0, npipe = 0, nloop = 0;
	int sizes[4] = { 0 }, nsizes = 0;

	env();
	rules(&rw, "[^!@]+\ttranslate\t\"aliasmail '&'\"\n"
	    "local!(.*)\t>>\t/mail/box/\\1/mbox\n"
	    "([^@]+)@([^@]+)\talias\t\\2!\\1\n"
	    "([^!]*)!(.*)\t|\t\"qer - mail '\\s' 'net!\\1'\"\t\"'\\2'\"\n");
	addrs[n++] = "staff";
	addrs[n++] = "fwd";
	addrs[n++] = "ghost";
	addrs[n++] = "loop1";
	addrs[n++] = "broken";
	addrs[n++] = "bad\raddr";
	for (i = 0; i < 20; i++) {
		snprintf(buf, sizeof buf, "u%c@ex.com", 'a' + i);
		addrs[n++] = arena_strdup(&ar, buf);
	}
	addrs[n++] = "x@other.org";
	addrs[n++] = "X@Other.org";
	addrs[n++] = "x@other.org";
	b.rw = &rw;
	b.ar = &ar;
	b.msg = &m;
	b.authorized = 1;
	b.run = fakerun;
	b.local = fakelocal;
	for (d = rw_bind(&b, addrs, n); d; d = d->next) {
		switch (d->status) {
		case D_CAT:
			ncat++;
			CHECK(d->same == NULL);
			break;
		case D_PIPE:
			npipe++;
			if (nsizes < 4)
				sizes[nsizes++] = d->nsame;
			if (d->nsame == 16) {
				CHECK(rw_bundleargv(&ar, d, &argv) == 5 + 16);
				CHECKSTR(argv[3], "glenda");
				CHECKSTR(argv[4], "net!ex.com");
				CHECKSTR(argv[5], "ua");
			}
			for (x = d; x; x = x->same)
				CHECK(x == d || x->status == D_PIPE);
			break;
		case D_LOOP:
			nloop++;
			CHECKSTR(d->addr, "loop1");
			break;
		case D_UNKNOWN:
			CHECKSTR(d->addr, "local!ghost");
			break;
		case D_TRANSLATE:
			CHECKSTR(d->addr, "broken");
			CHECKSTR(d->err, "alias file unreadable\n");
			break;
		case D_SYNTAX:
			CHECKSTR(d->addr, "bad\raddr");
			break;
		default:
			printf("#   %s: status %d\n", d->addr, d->status);
			CHECK(!"unexpected status");
		}
	}
	/* alice, bob (alice again dropped), carol from fwd's forward file, fwd itself */
	CHECK(ncat == 4);
	/* ex.com: 16 + 4; other.org (the duplicate dropped) and Other.org: case is kept */
	CHECK(npipe == 4);
	CHECK(sizes[0] == 16 && sizes[1] == 4 && sizes[2] == 1 && sizes[3] == 1);
	CHECK(nloop == 1);
	CHECK(b.nosummary == 1);
	rw_free(&rw);
	arena_free(&ar);
	unenv();
}

/* equivlist: names, comments and case; only leading hops go, and never the last word. */
TEST(rewrite_equiv)
{
	char path[] = "/tmp/equivtestXXXXXX";
	const char *text = "# other names\noldname\n\nOther.Example\n";
	Rewrite rw;
	int fd;

	fd = mkstemp(path);
	if (!CHECK(fd >= 0))
		return;
	CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	rules(&rw, "x >> y\n");
	CHECK(rw_equivload(&rw, path) == 0);
	CHECK(rw.nequiv == 2);
	CHECKSTR(rw_unequiv(&rw, "oldname!alice"), "alice");
	CHECKSTR(rw_unequiv(&rw, "other.example!OLDNAME!bob@x.org"), "bob@x.org");
	CHECKSTR(rw_unequiv(&rw, "far!oldname!alice"), "far!oldname!alice");
	CHECKSTR(rw_unequiv(&rw, "oldnamex!alice"), "oldnamex!alice");
	CHECKSTR(rw_unequiv(&rw, "oldname!"), "oldname!");
	CHECKSTR(rw_unequiv(&rw, "alice"), "alice");
	unlink(path);
	rw_free(&rw);
	rules(&rw, "x >> y\n");
	CHECK(rw_equivload(&rw, path) == 0 && rw.nequiv == 0);
	rw_free(&rw);
}
