/* Unit tests over core/imapname.c: modified UTF-7, names, LIST, LSUB, subscriptions, CREATE/DELETE/RENAME. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "unit.h"
#include "imap.h"
#include "mbox.h"

static char root[256];

/* A fresh mail root unit_tmpdir()/name with box/alice/ for one test. */
static void
newroot(const char *name)
{
	char p[512];

	snprintf(root, sizeof root, "%s/%s", unit_tmpdir(), name);
	CHECK(mkdir(root, 0755) == 0);
	snprintf(p, sizeof p, "%s/box", root);
	CHECK(mkdir(p, 0755) == 0);
	snprintf(p, sizeof p, "%s/box/alice", root);
	CHECK(mkdir(p, 0700) == 0);
	setenv("UPASROOT", root, 1);
}

/* ROOT/box/alice/rel */
static char *
at(const char *rel)
{
	static char buf[4][LIM_PATHNAME];
	static int i;
	char *p = buf[i++ % 4];

	snprintf(p, LIM_PATHNAME, "%s/box/alice/%s", root, rel);
	return p;
}

static void
put(const char *rel, const char *text)
{
	int fd = open(at(rel), O_WRONLY | O_CREAT | O_TRUNC, 0600);

	CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
}

static void
mkd(const char *rel)
{
	CHECK(mkdir(at(rel), 0700) == 0);
}

static void
mkmaildir(const char *rel)
{
	char p[LIM_PATHNAME];

	mkd(rel);
	snprintf(p, sizeof p, "%s/cur", rel);
	mkd(p);
	snprintf(p, sizeof p, "%s/new", rel);
	mkd(p);
	snprintf(p, sizeof p, "%s/tmp", rel);
	mkd(p);
}

static int
exists(const char *rel)
{
	struct stat st;

	return lstat(at(rel), &st) == 0;
}

/* Names in directory rel, . and .. aside. */
static int
entries(const char *rel)
{
	struct dirent *e;
	DIR *d = opendir(at(rel));
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

static char *
slurp(const char *rel)
{
	char *p = readfile(at(rel), 1 << 20, NULL);

	return p ? p : xstrdup("(none)");
}

static int
collect(void *arg, const char *name, const char *attrs)
{
	str_fmt(arg, "%s(%s) ", name, attrs);
	return 0;
}

static char *
list(const char *ref, const char *pat)
{
	static Str s;

	str_reset(&s);
	str_adds(&s, "");
	if (imap_list("alice", ref, pat, collect, &s) < 0)
		str_fmt(&s, "error: %s", lasterr());
	return s.p;
}

static char *
lsub(const char *ref, const char *pat)
{
	static Str s;

	str_reset(&s);
	str_adds(&s, "");
	if (imap_lsub("alice", ref, pat, collect, &s) < 0)
		str_fmt(&s, "error: %s", lasterr());
	return s.p;
}

static const char *
dec(const char *in)
{
	static Str s;

	str_reset(&s);
	return imap_mutf7_decode(in, strlen(in), &s) < 0 ? "BAD" : s.p;
}

static const char *
enc(const char *in)
{
	static Str s;

	str_reset(&s);
	imap_mutf7_encode(in, strlen(in), &s);
	return s.p;
}

TEST(imapname_mutf7)
{
	static const char *pair[][2] = {
		{ "plain", "plain" }, { "a&b", "a&-b" }, { "&", "&-" }, { "é", "&AOk-" }, { "été", "&AOk-t&AOk-" },
		{ "日本語", "&ZeVnLIqe-" }, { "~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-" },
		{ "😀", "&2D3eAA-" }, { "Ω/x", "&A6k-/x" }, { "\x01", "&AAE-" }, { "", "" },
	};
	static const char *bad[] = {
		"&", "&AOk", "&AGE-", "&AOk-&AOk-", "&AOl-", "&AOkA-", "&2D0-", "&3gA-", "&AAA-", "&Jjo!-",
		"\x80", "a\tb", "caf\xc3\xa9", "&ZeVnLIqe", "&A-",
	};
	size_t i;

	for (i = 0; i < nelem(pair); i++) {
		CHECKSTR(enc(pair[i][0]), pair[i][1]);
		CHECKSTR(dec(pair[i][1]), pair[i][0]);
	}
	for (i = 0; i < nelem(bad); i++)
		if (!CHECK(strcmp(dec(bad[i]), "BAD") == 0))
			printf("#   accepted %s\n", bad[i]);
	CHECKSTR(enc("a\xff" "b"), "a&,,0-b");
}

TEST(imapname_match)
{
	char pat[1001], name[1001];
	int i;

	CHECK(imap_match("*", "a/b/c"));
	CHECK(imap_match("%", "abc"));
	CHECK(!imap_match("%", "a/b"));
	CHECK(imap_match("a/%", "a/b"));
	CHECK(!imap_match("a/%", "a/b/c"));
	CHECK(imap_match("a/%/%", "a/b/c"));
	CHECK(imap_match("a%", "a"));
	CHECK(imap_match("*x", "a/bx"));
	CHECK(!imap_match("*x", "a/xb"));
	CHECK(imap_match("a*b%c", "a/b/bxc"));
	CHECK(!imap_match("a*b%c", "a/b/b/c"));
	CHECK(imap_match("%*", "a/b"));
	CHECK(imap_match("*%", "a/b"));
	CHECK(!imap_match("%%", "a/b"));
	CHECK(imap_match("inbox", "INBOX"));
	CHECK(imap_match("InBoX/%", "INBOX/sub"));
	CHECK(imap_match("inb*", "INBOX"));
	CHECK(imap_match("i%", "INBOX"));
	CHECK(!imap_match("*b*", "INBOX"));
	CHECK(imap_match("*B*", "INBOX"));
	CHECK(!imap_match("inbox", "INBOXES"));
	CHECK(!imap_match("sent", "Sent"));
	CHECK(!imap_match("a", "ab"));
	CHECK(!imap_match("ab", "a"));
	/* hostile: many wildcards against a long name stays linear */
	memset(pat, 0, sizeof pat);
	for (i = 0; i < 1000; i += 2)
		memcpy(pat + i, "%a", 2);
	pat[999] = 'b';
	memset(name, 'a', 1000);
	name[1000] = 0;
	CHECK(!imap_match(pat, name));
	pat[999] = 'a';
	CHECK(imap_match(pat, name));
}

TEST(imapname_paths)
{
	static const char *refused[] = {
		"", "/abs", "../x", "a/../b", "a//b", "a/", ".hidden", "a/.b", "x.imp", "x.idx", "x.lock", "L.mbox",
		"imap-tmp.1", "fromtab-", "x.00", "mbox", "mbox/x", "forward", "dead.letter", "imap.subscribed",
		"pipeto", "names", "keys", "a/cur", "a/new", "INBOX/tmp", "a/1234567890.00", "a/1234567890.01.tmp",
		"a\x01z", "a&AAE-z", "a\x7fz", "a\nb", "&AGE-",
	};
	char buf[LIM_PATHNAME], want[LIM_PATHNAME], deep[LIM_PATHNAME * 2];
	size_t i;

	newroot("paths");
	for (i = 0; i < nelem(refused); i++) {
		errno = 0;
		if (!CHECK(imap_boxpath(buf, sizeof buf, "alice", refused[i]) < 0 && errno == EINVAL))
			printf("#   accepted \"%s\"\n", refused[i]);
	}
	CHECK(imap_boxpath(buf, sizeof buf, "alice", "INBOX") == 0);
	CHECKSTR(buf, at("mbox"));
	CHECK(imap_boxpath(buf, sizeof buf, "alice", "inBox") == 0);
	CHECKSTR(buf, at("mbox"));
	CHECK(imap_boxpath(buf, sizeof buf, "alice", "Inbox/x") == 0);
	CHECKSTR(buf, at("mbox/x"));
	CHECK(imap_boxpath(buf, sizeof buf, "alice", "a/b") == 0);
	CHECKSTR(buf, at("a/b"));
	CHECK(imap_boxpath(buf, sizeof buf, "alice", "&AOk-t&AOk-/日") < 0);	/* raw UTF-8 on the wire */
	CHECK(imap_boxpath(buf, sizeof buf, "alice", "&AOk-t&AOk-/&ZeU-") == 0);
	CHECKSTR(buf, at("été/日"));
	CHECK(imap_boxpath(buf, sizeof buf, "alice", "1234567890.01") == 0);	/* no mdir message at the top */
	CHECK(imap_boxpath(buf, sizeof buf, "alice", "tmp") == 0);
	CHECK(imap_boxpath(buf, sizeof buf, "alice", "..x") < 0);
	CHECK(imap_boxpath(buf, sizeof buf, "nosuchuser", "x") < 0);
	CHECK(imap_boxpath(buf, sizeof buf, "../alice", "x") < 0);

	/* depth and length */
	deep[0] = 0;
	for (i = 0; i < LIM_IMAPNAMEDEPTH; i++)
		strcat(deep, i ? "/d" : "d");
	CHECK(imap_boxpath(buf, sizeof buf, "alice", deep) == 0);
	strcat(deep, "/d");
	CHECK(imap_boxpath(buf, sizeof buf, "alice", deep) < 0);
	memset(deep, 'x', 256);
	deep[256] = 0;
	CHECK(imap_boxpath(buf, sizeof buf, "alice", deep) < 0);
	deep[255] = 0;
	CHECK(imap_boxpath(buf, sizeof buf, "alice", deep) == 0);
	memset(deep, 'x', 1300);
	for (i = 1; i < 6; i++)
		deep[i * 200] = '/';
	deep[1300] = 0;
	CHECK(imap_boxpath(buf, sizeof buf, "alice", deep) < 0);

	/* symbolic links, anywhere below box/USER; files that are no mailbox */
	put("real", "");
	CHECK(symlink("real", at("link")) == 0);
	CHECK(symlink("/tmp", at("dirlink")) == 0);
	errno = 0;
	CHECK(imap_boxpath(buf, sizeof buf, "alice", "link") < 0 && errno == ELOOP);
	errno = 0;
	CHECK(imap_boxpath(buf, sizeof buf, "alice", "dirlink/x") < 0 && errno == ELOOP);
	put("notes", "hello\n");
	errno = 0;
	CHECK(imap_boxpath(buf, sizeof buf, "alice", "notes") < 0 && errno == EINVAL);
	put("box1", "From a Mon Jan  2 15:04:05 2006\n\n");
	CHECK(imap_boxpath(buf, sizeof buf, "alice", "box1") == 0);
	CHECK(imap_boxpath(buf, sizeof buf, "alice", "box1/x") == 0);	/* no such mailbox: open says so */
	CHECK(mkfifo(at("fifo"), 0600) == 0);
	CHECK(imap_boxpath(buf, sizeof buf, "alice", "fifo") < 0);
	CHECK(imap_boxpath(buf, 10, "alice", "box1") < 0);

	/* side files */
	mkd("dir");
	CHECK(imap_sidepath(buf, sizeof buf, at("box1"), "imp") == 0);
	CHECKSTR(buf, at(".box1.imp"));
	CHECK(imap_sidepath(buf, sizeof buf, at("dir"), "imp") == 0);
	CHECKSTR(buf, at("dir/.imp"));
	CHECK(imap_sidepath(buf, sizeof buf, at("new"), "idx") == 0);
	snprintf(want, sizeof want, "%s", at(".new.idx"));
	CHECKSTR(buf, want);
	unsetenv("UPASROOT");
}

static int
stopper(void *arg, const char *name, const char *attrs)
{
	return ++*(int *)arg == 2 ? 7 : 0;
}

TEST(imapname_list)
{
	char p[LIM_PATHNAME];
	Str s = { 0 };
	int i, n = 0;

	newroot("list");
	put("mbox", "From a Mon Jan  2 15:04:05 2006\nSubject: x\n\nhi\n\n");
	put("Sent", "");
	put("spam", "From a Mon Jan  2 15:04:05 2006\n\n");
	mkmaildir("Drafts");
	put("Drafts/maildirfolder", "");
	put("Drafts/dovecot-uidlist", "From x\n");
	mkmaildir("Drafts/old");
	mkd("work");
	put("work/1234567890.00", "From a Mon Jan  2 15:04:05 2006\n\n");
	put("work/.idx", "upas-idx 1\n");
	put("work/a", "");
	put("work/.a.idx", "x");
	put("work/a.lock", "");
	mkmaildir("work/b");
	mkd("work/b/c");
	mkd("work/b/cur/inside");
	put("été", "");
	put("bad\xff", "");
	put("notes.txt", "hello\n");
	put(".hidden", "");
	put("x.idx", "");
	put("x.imp", "");
	put("L.mbox", "");
	put("forward", "");
	put("imap.subscribed", "#imap4 subscription list\nINBOX\nSent\n");
	put("imap-tmp.1", "");
	put("Inbox", "");
	CHECK(symlink("Sent", at("link")) == 0);
	CHECK(symlink("work", at("dlink")) == 0);
	CHECK(mkfifo(at("fifo"), 0600) == 0);

	CHECKSTR(list("", "*"), "INBOX(\\Noinferiors) Drafts(\\HasChildren \\Drafts) Drafts/old(\\HasNoChildren) "
	    "Sent(\\Noinferiors \\Sent) spam(\\Noinferiors \\Junk) work(\\HasChildren) work/a(\\Noinferiors) "
	    "work/b(\\HasChildren) work/b/c(\\HasNoChildren) &AOk-t&AOk-(\\Noinferiors) ");
	CHECKSTR(list("", "%"), "INBOX(\\Noinferiors) Drafts(\\HasChildren \\Drafts) Sent(\\Noinferiors \\Sent) "
	    "spam(\\Noinferiors \\Junk) work(\\HasChildren) &AOk-t&AOk-(\\Noinferiors) ");
	CHECKSTR(list("work/", "%"), "work/a(\\Noinferiors) work/b(\\HasChildren) ");
	CHECKSTR(list("", "work/%/%"), "work/b/c(\\HasNoChildren) ");
	CHECKSTR(list("", "inbox"), "INBOX(\\Noinferiors) ");
	CHECKSTR(list("", "*b*"), "work/b(\\HasChildren) work/b/c(\\HasNoChildren) ");
	CHECKSTR(list("", "&AOk-*"), "&AOk-t&AOk-(\\Noinferiors) ");
	CHECKSTR(list("", "&AOk"), "");
	CHECKSTR(list("", "nosuch/*"), "");
	CHECKSTR(list("", "/*"), "");
	CHECKSTR(list("", "Drafts/%/cur"), "");
	CHECK(imap_list("nosuchuser", "", "*", collect, &s) < 0);
	CHECK(imap_list("alice", "", "*", stopper, &n) == 7 && n == 2);

	str_reset(&s);
	str_adds(&s, "");
	CHECK(imap_listf("alice", "", "%", IMAP_LSUBSCRIBED, collect, &s) == 0);
	CHECKSTR(s.p, "INBOX(\\Noinferiors \\Subscribed) Drafts(\\HasChildren \\Drafts) Sent(\\Noinferiors \\Sent \\Subscribed) "
	    "spam(\\Noinferiors \\Junk) work(\\HasChildren) &AOk-t&AOk-(\\Noinferiors) ");
	str_free(&s);

	/* INBOX a Maildir with a child folder */
	CHECK(unlink(at("mbox")) == 0);
	mkmaildir("mbox");
	CHECKSTR(list("", "INBOX*"), "INBOX(\\HasNoChildren) ");
	mkd("mbox/sub");
	CHECKSTR(list("", "inbox*"), "INBOX(\\HasChildren) INBOX/sub(\\HasNoChildren) ");
	CHECKSTR(list("INBOX/", "%"), "INBOX/sub(\\HasNoChildren) ");

	/* no deeper than LIM_IMAPNAMEDEPTH */
	snprintf(p, sizeof p, "deep");
	mkd(p);
	for (i = 1; i < LIM_IMAPNAMEDEPTH + 2; i++) {
		strcat(p, "/d");
		mkd(p);
	}
	CHECKSTR(list("", "deep/d/d/d/d/d/d/d/d/d/d/d/d/d/*"), "deep/d/d/d/d/d/d/d/d/d/d/d/d/d/d(\\HasChildren) "
	    "deep/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d(\\HasNoChildren) ");
	unsetenv("UPASROOT");
}

TEST(imapname_subscribe)
{
	char *t;

	newroot("subs");
	mkd("work");
	put("Sent", "");
	CHECKSTR(lsub("", "*"), "INBOX() ");
	t = slurp("imap.subscribed");
	CHECKSTR(t, "#imap4 subscription list\nINBOX\n");
	free(t);
	CHECK(imap_subscribed("alice", "inbox") == 1);
	CHECK(imap_subscribed("alice", "Sent") == 0);
	CHECK(imap_subscribe("alice", "Sent", 1) == 0);
	CHECK(imap_subscribe("alice", "Sent", 1) == 0);
	CHECK(imap_subscribe("alice", "work/b/c", 1) == 0);
	CHECK(imap_subscribe("alice", "&AOk-t&AOk-", 1) == 0);
	CHECK(imap_subscribe("alice", "../x", 1) < 0);
	CHECK(imap_subscribe("alice", "&AOk", 1) < 0);
	t = slurp("imap.subscribed");
	CHECKSTR(t, "#imap4 subscription list\nINBOX\nSent\nwork/b/c\nété\n");
	free(t);
	CHECK(!exists("imap-tmp.subscribed"));
	CHECK(imap_subscribed("alice", "Sent") == 1);
	CHECKSTR(lsub("", "*"), "INBOX() Sent() work/b/c() &AOk-t&AOk-() ");
	CHECKSTR(lsub("", "%"), "INBOX() Sent() work(\\Noselect) &AOk-t&AOk-() ");
	CHECKSTR(lsub("work/", "%"), "work/b(\\Noselect) ");
	CHECKSTR(lsub("", "*/c"), "work/b/c() ");
	CHECK(imap_subscribe("alice", "Sent", 0) == 0);
	errno = 0;
	CHECK(imap_subscribe("alice", "Sent", 0) < 0 && errno == ENOENT);
	t = slurp("imap.subscribed");
	CHECKSTR(t, "#imap4 subscription list\nINBOX\nwork/b/c\nété\n");
	free(t);

	/* hand edits: comments, blanks, CRLF, any case INBOX, junk lines, duplicates, no final newline */
	put("imap.subscribed", "# mine\n\ninbox\r\nwork\nbad\x01line\nbad\xff\nwork\n  spaced\ngone/away");
	CHECK(imap_subscribed("alice", "INBOX") == 1);
	CHECK(imap_subscribed("alice", "work") == 1);
	CHECKSTR(lsub("", "*"), "  spaced() INBOX() gone/away() work() ");
	CHECKSTR(lsub("", "%"), "  spaced() INBOX() gone(\\Noselect) work() ");
	CHECK(imap_subscribe("alice", "INBOX", 0) == 0);
	CHECK(imap_subscribe("alice", "new", 1) == 0);
	t = slurp("imap.subscribed");
	CHECKSTR(t, "# mine\n\nwork\nbad\x01line\nbad\xff\nwork\n  spaced\ngone/away\nnew\n");
	free(t);
	CHECK(imap_subscribe("alice", "work", 0) == 0);
	CHECK(imap_subscribed("alice", "work") == 0);
	unsetenv("UPASROOT");
}

TEST(imapname_create_delete)
{
	struct stat st;

	newroot("create");
	CHECK(imap_create("alice", "a/b/c", MB_MBOX) == 0);
	CHECK(lstat(at("a/b/c"), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0600 && st.st_size == 0);
	CHECK(lstat(at("a/b"), &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);
	errno = 0;
	CHECK(imap_create("alice", "a/b/c", MB_MBOX) < 0 && errno == EEXIST);
	errno = 0;
	CHECK(imap_create("alice", "inbox", MB_MBOX) < 0 && errno == EEXIST);
	errno = 0;
	CHECK(imap_create("alice", "a/b/c/d", MB_MBOX) < 0 && errno == ENOTDIR);
	CHECK(imap_create("alice", "INBOX/x", MB_MBOX) < 0 && !exists("mbox"));
	put("mbox", "");
	CHECK(imap_create("alice", "INBOX/x", MB_MBOX) < 0);
	CHECK(imap_create("alice", "mbox", MB_MBOX) < 0);
	CHECK(imap_create("alice", "x.imp", MB_MBOX) < 0);
	CHECK(imap_create("alice", "p/", MB_MBOX) == 0);
	CHECK(lstat(at("p"), &st) == 0 && S_ISDIR(st.st_mode));
	errno = 0;
	CHECK(imap_create("alice", "p/", MB_MBOX) < 0 && errno == EEXIST);
	CHECK(imap_create("alice", "md", MB_MAILDIR) == 0 && mb_type(at("md")) == MB_MAILDIR);
	CHECK(imap_create("alice", "md/sub", MB_MBOX) == 0 && mb_type(at("md/sub")) == MB_MAILDIR);
	CHECK(imap_create("alice", "dir", MB_MDIR) == 0 && mb_type(at("dir")) == MB_MDIR);
	CHECK(imap_create("alice", "x", 0) < 0);
	CHECKSTR(list("", "*"), "INBOX(\\Noinferiors) a(\\HasChildren) a/b(\\HasChildren) a/b/c(\\Noinferiors) "
	    "dir(\\HasNoChildren) md(\\HasChildren) md/sub(\\HasNoChildren) p(\\HasNoChildren) ");

	errno = 0;
	CHECK(imap_delete("alice", "a") < 0 && errno == ENOTEMPTY && exists("a/b/c"));
	errno = 0;
	CHECK(imap_delete("alice", "INBOX") < 0 && errno == EPERM);
	errno = 0;
	CHECK(imap_delete("alice", "nosuch") < 0 && errno == ENOENT);
	put("a/b/.c.idx", "x");
	put("a/b/.c.imp", "x");
	put("a/b/.c.journal", "x");
	CHECK(imap_delete("alice", "a/b/c") == 0);
	CHECK(!exists("a/b/c") && !exists("a/b/.c.idx") && !exists("a/b/.c.imp") && !exists("a/b/.c.journal") &&
	    !exists("a/b/c.lock"));
	put("a/b/1234567890.00", "From a Mon Jan  2 15:04:05 2006\n\n");
	put("a/b/.idx", "x");
	CHECK(imap_delete("alice", "a/b") == 0 && !exists("a/b"));
	CHECK(imap_delete("alice", "a") == 0 && !exists("a"));
	errno = 0;
	CHECK(imap_delete("alice", "md") < 0 && errno == ENOTEMPTY);
	CHECK(mb_append(at("md/sub"), "bob", 0, "Subject: x\n\nhi\n", 15) == 0);
	put("md/sub/.imp", "x");
	CHECK(imap_delete("alice", "md/sub") == 0 && !exists("md/sub"));
	CHECK(mb_append(at("md"), "bob", 0, "Subject: x\n\nhi\n", 15) == 0);
	put("md/maildirfolder", "");
	CHECK(imap_delete("alice", "md") == 0 && !exists("md"));
	mkd("dir/.Sent");
	errno = 0;
	CHECK(imap_delete("alice", "dir") < 0 && errno == ENOTEMPTY && exists("dir"));
	CHECK(rmdir(at("dir/.Sent")) == 0);
	put("dir/kid", "From a Mon Jan  2 15:04:05 2006\n\n");
	CHECK(imap_delete("alice", "dir") < 0 && exists("dir/kid"));
	CHECK(unlink(at("dir/kid")) == 0);
	CHECK(imap_delete("alice", "dir") == 0);
	CHECK(symlink("p", at("plink")) == 0);
	CHECK(imap_delete("alice", "plink") < 0 && exists("p"));
	unsetenv("UPASROOT");
}

TEST(imapname_rename)
{
	static const char *msgs[] = {
		"Subject: one\n\nfirst\n", "Subject: two\n\nsecond\n", "Subject: three\n\nthird\n",
	};
	Mailbox *mb;
	Str s = { 0 };
	int i;

	newroot("rename");
	CHECK(imap_create("alice", "x/f", MB_MBOX) == 0);
	put("x/.f.imp", "imp");
	put("x/.f.idx", "idx");
	CHECK(imap_rename("alice", "x", "y/z") == 0);
	CHECK(!exists("x") && exists("y/z/f") && exists("y/z/.f.imp"));
	CHECK(imap_rename("alice", "y/z/f", "g") == 0);
	CHECK(exists("g") && exists(".g.imp") && exists(".g.idx") && !exists("y/z/.f.imp") && !exists("y/z/f.lock"));
	errno = 0;
	CHECK(imap_rename("alice", "g", "y/z") < 0 && errno == EEXIST && exists("g"));
	errno = 0;
	CHECK(imap_rename("alice", "nosuch", "h") < 0 && errno == ENOENT);
	errno = 0;
	CHECK(imap_rename("alice", "y", "y/q") < 0 && errno == EINVAL);
	errno = 0;
	CHECK(imap_rename("alice", "g", "inbox") < 0 && errno == EEXIST);
	CHECK(imap_rename("alice", "g", "x.lock") < 0 && exists("g"));
	CHECK(imap_rename("alice", "g", "g/h") < 0 && exists("g"));
	CHECK(imap_create("alice", "md", MB_MAILDIR) == 0);
	CHECK(imap_rename("alice", "g", "md/g") < 0 && exists("g"));
	CHECK(imap_rename("alice", "y", "md/y") == 0 && exists("md/y/z"));

	/* INBOX: the messages move, flags and dates kept; INBOX stays, empty */
	for (i = 0; i < 3; i++)
		CHECK(mb_append(at("mbox"), "bob", 1136214245 + i, msgs[i], strlen(msgs[i])) == 0);
	mb = mb_open(at("mbox"), MB_RDWR);
	if (CHECK(mb != NULL)) {
		mb_keepdeleted(mb, 1);
		mb_setflags(mb, 0, MF_SEEN | MF_OLD, 0);
		mb_setflags(mb, 2, MF_FLAGGED | MF_DELETED, 0);
		CHECK(mb_sync(mb) == 0);
		mb_close(mb);
	}
	CHECK(imap_rename("alice", "INBOX", "old/in") == 0);
	CHECK(mb_type(at("old/in")) == MB_MBOX);
	mb = mb_open(at("old/in"), MB_RDONLY);
	if (CHECK(mb != NULL) && CHECK(mb_count(mb) == 3)) {
		for (i = 0; i < 3; i++) {
			str_reset(&s);
			CHECK(mb_read(mb, i, &s) == 0);
			CHECKSTR(s.p, msgs[i]);
			CHECK(mb_msg(mb, i)->date == 1136214245u + i);
		}
		CHECK(mb_msg(mb, 0)->flags == (MF_SEEN | MF_OLD));
		CHECK(mb_msg(mb, 1)->flags == 0);
		CHECK(mb_msg(mb, 2)->flags == (MF_FLAGGED | MF_DELETED));
	}
	mb_close(mb);
	mb = mb_open(at("mbox"), MB_RDONLY);
	CHECK(mb != NULL && mb_count(mb) == 0);
	mb_close(mb);
	errno = 0;
	CHECK(imap_rename("alice", "INBOX", "old/in") < 0 && errno == EEXIST);

	/* a Maildir INBOX makes a Maildir; a missing INBOX an empty mbox */
	CHECK(unlink(at("mbox")) == 0);
	mkmaildir("mbox");
	for (i = 0; i < 3; i++)
		CHECK(mb_append(at("mbox"), "bob", 0, msgs[i], strlen(msgs[i])) == 0);
	CHECK(imap_rename("alice", "INBOX", "md2") == 0 && mb_type(at("md2")) == MB_MAILDIR);
	mb = mb_open(at("md2"), MB_RDONLY);
	if (CHECK(mb != NULL) && CHECK(mb_count(mb) == 3))
		for (i = 0; i < 3; i++) {
			str_reset(&s);
			CHECK(mb_read(mb, i, &s) == 0);
			CHECKSTR(s.p, msgs[i]);
		}
	mb_close(mb);
	CHECK(mb_type(at("mbox")) == MB_MAILDIR && entries("mbox/new") == 0 && entries("mbox/cur") == 0);
	CHECK(mkdir(at("../bob"), 0700) == 0);
	CHECK(imap_rename("bob", "INBOX", "empty") == 0 && mb_type(at("../bob/empty")) == MB_MBOX);
	str_free(&s);
	unsetenv("UPASROOT");
}
