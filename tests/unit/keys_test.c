/* Unit tests over core/keys.c: the keys file's syntax, matching, and the checks on the file. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "keys.h"
#include "secrets.h"
#include "unit.h"

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

static char *
at(const char *rel)
{
	static char buf[512];

	snprintf(buf, sizeof buf, "%s/%s", root, rel);
	return buf;
}

/* ROOT/rel holding n bytes of text, with mode. */
static void
putn(const char *rel, const char *text, size_t n, int mode)
{
	int fd;

	unlink(at(rel));
	fd = open(at(rel), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK(write(fd, text, n) == (ssize_t)n);
		CHECK(fchmod(fd, mode) == 0);
		close(fd);
	}
}

static void
put(const char *text)
{
	putn("box/alice/keys", text, strlen(text), 0600);
}

/* keys_find for alice, printing "user password" into out, or "" when none. */
static int
find(const char *service, const char *server, const char *wantuser, char *out, size_t n)
{
	Key k;
	int r;

	r = keys_find("alice", service, server, wantuser, &k);
	if (r == 1)
		snprintf(out, n, "%s %s", k.user, k.password);
	else
		out[0] = 0;
	keys_wipe(&k);
	return r;
}

static int
has(const char *s, const char *sub)
{
	return strstr(s, sub) != NULL;
}

TEST(keys_parse)
{
	char got[600];

	newroot("parse");
	put("# client keys\n"
	    "\n"
	    "   # indented comment\n"
	    "key proto=pass service=smtp server=mail.example.com user=alice !password='s3cret with space'\n"
	    "proto=pass service=imap server=imap.example.com user=bob !password=xyz # trailing comment\n"
	    "key proto=pass service=pop3 server=pop.example.com user='o''brien' !password='it''s' ''''\n"
	    "proto=pass service=smtp server=quoted.example.com user=carol !password=a'b c'd'e''f'\n"
	    "proto=pass service=smtp server=hash.example.com user=dan !password=x#y=z role=client dom=example.com flag\r\n"
	    "proto=pass service=smtp server=empty.example.com user=erin !password=''\n"
	    "\tproto=pass\tservice=smtp\tserver=tab.example.com\tuser=fay\t!password='#'");
	CHECK(find("smtp", "mail.example.com", NULL, got, sizeof got) == 1);
	CHECKSTR(got, "alice s3cret with space");
	CHECK(find("imap", "imap.example.com", NULL, got, sizeof got) == 1);
	CHECKSTR(got, "bob xyz");
	CHECK(find("pop3", "pop.example.com", NULL, got, sizeof got) == 1);
	CHECKSTR(got, "o'brien it's");
	CHECK(find("smtp", "quoted.example.com", NULL, got, sizeof got) == 1);
	CHECKSTR(got, "carol ab cde'f");
	CHECK(find("smtp", "hash.example.com", NULL, got, sizeof got) == 1);
	CHECKSTR(got, "dan x#y=z");
	CHECK(find("smtp", "empty.example.com", NULL, got, sizeof got) == 1);
	CHECKSTR(got, "erin ");
	CHECK(find("smtp", "tab.example.com", NULL, got, sizeof got) == 1);
	CHECKSTR(got, "fay #");
	unsetenv("UPASROOT");
}

TEST(keys_match)
{
	char got[600];

	newroot("match");
	put("proto=pass service=imap server=mail.example.com user=imapuser !password=i\n"
	    "proto=apop service=smtp server=mail.example.com user=apop !password=a\n"
	    "proto=pass service=smtp server=other.example.com user=other !password=o\n"
	    "proto=pass service=smtp server=Mail.Example.COM user=first !password=1\n"
	    "proto=pass service=smtp server=mail.example.com user=second !password=2\n"
	    "proto=pass service=SMTP server=case.example.com user=x !password=x\n"
	    "service=smtp server=noproto.example.com user=x !password=x\n");
	CHECK(find("smtp", "mail.example.com", NULL, got, sizeof got) == 1);
	CHECKSTR(got, "first 1");
	CHECK(find("smtp", "MAIL.example.com", NULL, got, sizeof got) == 1);
	CHECKSTR(got, "first 1");
	CHECK(find("smtp", "mail.example.com", "second", got, sizeof got) == 1);
	CHECKSTR(got, "second 2");
	CHECK(find("smtp", "mail.example.com", "Second", got, sizeof got) == 0);
	CHECK(find("smtp", "mail.example.com", "nobody", got, sizeof got) == 0);
	CHECK(has(lasterr(), "no key for proto=pass service=smtp server=mail.example.com user=nobody"));
	CHECK(find("imap", "mail.example.com", NULL, got, sizeof got) == 1);
	CHECKSTR(got, "imapuser i");
	CHECK(find("pop3", "mail.example.com", NULL, got, sizeof got) == 0);
	CHECK(find("smtp", "example.com", NULL, got, sizeof got) == 0);
	CHECK(find("smtp", "mail.example.com.evil", NULL, got, sizeof got) == 0);
	/* service and proto are compared exactly, as factotum does */
	CHECK(find("smtp", "case.example.com", NULL, got, sizeof got) == 0);
	CHECK(find("smtp", "noproto.example.com", NULL, got, sizeof got) == 0);
	unsetenv("UPASROOT");
}

/* Lines that cannot be keys are skipped, never end the search, and say why when nothing matched. */
TEST(keys_badlines)
{
	static const char nul[] = "proto=pass service=smtp server=a.example.com user=x\0 !password=p\n"
	    "proto=pass service=smtp server=a.example.com user=z !password=q\n";
	char got[600], text[4096], big[LIM_SECRET + 2];
	int i;

	newroot("badlines");
	put("proto=pass service=smtp server=a.example.com user=x !password='unterminated\n"
	    "proto=pass service=smtp server=a.example.com user=y !password=later\n"
	    "proto=pass service=smtp server=b.example.com user=x password=notsecret\n"
	    "proto=pass service=smtp server=c.example.com !password=nouser\n"
	    "proto=pass service=smtp server=c.example.com user=x\n");
	CHECK(find("smtp", "a.example.com", NULL, got, sizeof got) == 1);
	CHECKSTR(got, "y later");
	/* a bad line of the key asked for tells more than one of any key */
	CHECK(find("smtp", "b.example.com", NULL, got, sizeof got) == 0);
	CHECK(has(lasterr(), "keys:3: no !password: key skipped"));
	CHECK(find("smtp", "c.example.com", NULL, got, sizeof got) == 0);
	CHECK(has(lasterr(), "keys:4: no user: key skipped"));
	CHECK(find("smtp", "c.example.com", "x", got, sizeof got) == 0);
	CHECK(has(lasterr(), "keys:4: no user"));
	CHECK(find("smtp", "z.example.com", NULL, got, sizeof got) == 0);
	CHECK(has(lasterr(), "keys:1: unterminated quote: key skipped"));
	CHECK(!has(lasterr(), "nouser") && !has(lasterr(), "later") && !has(lasterr(), "notsecret"));
	put("proto=pass service=smtp server=a.example.com user=x user=y !password=p\n");
	CHECK(find("smtp", "a.example.com", "y", got, sizeof got) == 0);
	CHECK(has(lasterr(), "keys:1: an attribute given twice"));
	put("\n\nproto=pass service=smtp server=a.example.com =x user=x !password=p\n");
	CHECK(find("smtp", "a.example.com", NULL, got, sizeof got) == 0);
	CHECK(has(lasterr(), "keys:3: attribute without a name"));
	put("proto=pass service=smtp server=a.example.com user=x !password=p '\n");
	CHECK(find("smtp", "a.example.com", NULL, got, sizeof got) == 0);
	CHECK(has(lasterr(), "keys:1: unterminated quote"));

	/* a NUL byte spoils only its own line */
	putn("box/alice/keys", nul, sizeof nul - 1, 0600);
	CHECK(find("smtp", "a.example.com", NULL, got, sizeof got) == 1);
	CHECKSTR(got, "z q");

	/* bounds: attributes per key, the user and the password */
	snprintf(text, sizeof text, "proto=pass service=smtp server=a.example.com user=x !password=p");
	for (i = 0; i < LIM_KEYATTRS; i++)
		snprintf(text + strlen(text), sizeof text - strlen(text), " a%d=%d", i, i);
	put(text);
	CHECK(find("smtp", "a.example.com", NULL, got, sizeof got) == 0);
	CHECK(has(lasterr(), "too many attributes"));
	memset(big, 'u', LIM_AUTHUSER + 1);
	big[LIM_AUTHUSER + 1] = 0;
	snprintf(text, sizeof text, "proto=pass service=smtp server=a.example.com user=%s !password=p\n", big);
	put(text);
	CHECK(find("smtp", "a.example.com", NULL, got, sizeof got) == 0);
	CHECK(has(lasterr(), "user too long"));
	big[LIM_AUTHUSER] = 0;
	snprintf(text, sizeof text, "proto=pass service=smtp server=a.example.com user=%s !password=p\n", big);
	put(text);
	CHECK(find("smtp", "a.example.com", NULL, got, sizeof got) == 1);
	memset(big, 'p', LIM_SECRET + 1);
	big[LIM_SECRET + 1] = 0;
	snprintf(text, sizeof text, "proto=pass service=smtp server=a.example.com user=x !password=%s\n", big);
	put(text);
	CHECK(find("smtp", "a.example.com", NULL, got, sizeof got) == 0);
	CHECK(has(lasterr(), "!password too long"));
	big[LIM_SECRET] = 0;
	snprintf(text, sizeof text, "proto=pass service=smtp server=a.example.com user=x !password=%s\n", big);
	put(text);
	CHECK(find("smtp", "a.example.com", NULL, got, sizeof got) == 1);
	CHECK(strlen(got) == 2 + LIM_SECRET);
	unsetenv("UPASROOT");
}

TEST(keys_nofile)
{
	char got[600];
	Key k;

	newroot("nofile");
	CHECK(find("smtp", "a.example.com", NULL, got, sizeof got) == 0);
	CHECK(keys_find("nosuchbox", "smtp", "a.example.com", NULL, &k) == 0);
	CHECK(keys_find("..", "smtp", "a.example.com", NULL, &k) == -1);
	CHECK(has(lasterr(), "bad box name"));
	CHECK(keys_find("alice/../bob", "smtp", "a.example.com", NULL, &k) == -1);
	CHECK(keys_find("", "smtp", "a.example.com", NULL, &k) == -1);
	put("");
	CHECK(find("smtp", "a.example.com", NULL, got, sizeof got) == 0);
	CHECK(has(lasterr(), "no key for"));
	unsetenv("UPASROOT");
}

TEST(keys_refused)
{
	const char *key = "proto=pass service=smtp server=a.example.com user=x !password=p\n";
	char got[600], path[512];

	newroot("refused");
	putn("box/alice/keys", key, strlen(key), 0644);
	CHECK(find("smtp", "a.example.com", NULL, got, sizeof got) == -1);
	CHECK(has(lasterr(), "/box/alice/keys: mode 644: group or other may read it"));
	putn("box/alice/keys", key, strlen(key), 0620);
	CHECK(find("smtp", "a.example.com", NULL, got, sizeof got) == -1);
	CHECK(has(lasterr(), "mode 620"));
	putn("box/alice/keys", key, strlen(key), 0604);
	CHECK(find("smtp", "a.example.com", NULL, got, sizeof got) == -1);
	putn("box/alice/keys", key, strlen(key), 0400);
	CHECK(find("smtp", "a.example.com", NULL, got, sizeof got) == 1);

	/* owned by someone else: only root can make such a file here */
	if (geteuid() == 0) {
		CHECK(chown(at("box/alice/keys"), 1234, 1234) == 0);
		CHECK(find("smtp", "a.example.com", NULL, got, sizeof got) == -1);
		CHECK(has(lasterr(), "owned by uid 1234, not by 0 or root"));
	}

	/* a symlink to a good file, a directory, a FIFO (which must not block) */
	putn("target", key, strlen(key), 0600);
	unlink(at("box/alice/keys"));
	snprintf(path, sizeof path, "%s/target", root);
	CHECK(symlink(path, at("box/alice/keys")) == 0);
	CHECK(find("smtp", "a.example.com", NULL, got, sizeof got) == -1);
	CHECK(has(lasterr(), "keys: a symbolic link"));
	unlink(at("box/alice/keys"));
	CHECK(symlink("nowhere", at("box/alice/keys")) == 0);
	CHECK(find("smtp", "a.example.com", NULL, got, sizeof got) == -1);
	CHECK(has(lasterr(), "keys: a symbolic link"));
	unlink(at("box/alice/keys"));
	CHECK(mkdir(at("box/alice/keys"), 0700) == 0);
	CHECK(find("smtp", "a.example.com", NULL, got, sizeof got) == -1);
	CHECK(has(lasterr(), "not a regular file"));
	rmdir(at("box/alice/keys"));
	CHECK(mkfifo(at("box/alice/keys"), 0600) == 0);
	CHECK(find("smtp", "a.example.com", NULL, got, sizeof got) == -1);
	CHECK(has(lasterr(), "not a regular file"));
	unlink(at("box/alice/keys"));

	/* a hard link is a regular file of the right owner and mode */
	CHECK(link(path, at("box/alice/keys")) == 0);
	CHECK(find("smtp", "a.example.com", NULL, got, sizeof got) == 1);
	unsetenv("UPASROOT");
}

TEST(keys_size)
{
	const char *key = "proto=pass service=smtp server=a.example.com user=x !password=p";
	char *text = xmalloc(LIM_KEYSFILE + 2), got[600];
	size_t n = strlen(key);

	newroot("size");
	/* a full file whose last line is the key, then one byte more */
	memset(text, '#', LIM_KEYSFILE + 1);
	text[LIM_KEYSFILE - n - 1] = '\n';
	memcpy(text + LIM_KEYSFILE - n, key, n);
	putn("box/alice/keys", text, LIM_KEYSFILE, 0600);
	CHECK(find("smtp", "a.example.com", NULL, got, sizeof got) == 1);
	CHECKSTR(got, "x p");
	text[LIM_KEYSFILE] = '\n';
	putn("box/alice/keys", text, LIM_KEYSFILE + 1, 0600);
	CHECK(find("smtp", "a.example.com", NULL, got, sizeof got) == -1);
	CHECK(has(lasterr(), "larger than 65536 bytes"));
	free(text);
	unsetenv("UPASROOT");
}

/* lib/secrets goes through the same checked read. */
TEST(keys_secretsfile)
{
	char buf[LIM_SECRET + 1];

	newroot("secretsfile");
	CHECK(mkdir(at("lib"), 0755) == 0);
	CHECK(secrets_usable() == -1 && errno == ENOENT);
	putn("lib/secrets", "alice wonder\n", 13, 0644);
	CHECK(secrets_usable() == -1 && errno == EACCES);
	CHECK(has(lasterr(), "lib/secrets: mode 644: group or other may read it"));
	putn("lib/secrets", "alice wonder\n", 13, 0600);
	CHECK(secrets_usable() == 0);
	CHECK(secrets_get("alice", buf, sizeof buf) == SEC_PLAIN);
	CHECKSTR(buf, "wonder");
	CHECK(secrets_verify("alice", "wonder") == 1);
	CHECK(secrets_verify("bob", "wonder") == 0);
	unsetenv("UPASROOT");
}
