/* Unit tests over core/mbox.h: mbox, mdir and Maildir; locks; the index. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "unit.h"
#include "mbox.h"

static const char *tricky[] = {
	"Subject: one\nMessage-ID: <1@x>\n\nFrom me to you\n>From quoted\n>>From twice\n\nFrom here\n",
	"Subject: two\r\nMessage-ID: <2@x>\r\n\r\nCRLF body\r\nFrom  spaced\r\n",
	"Subject: three\nMessage-ID: <3@x>\n\nno final newline",
	"Subject: four\nMessage-ID: <4@x>\n\n\n\nblank lines above and below\n\n\n",
	"Subject: five\nMessage-ID: <5@x>\n\n From upas escaped\nFrom Mon Jan  2 15:04:05 2006\n",
	"Subject: six\nMessage-ID: <6@x>\n",
};

/* What a message reads back as: LF line ends and a final newline. */
static char *
norm(const char *m)
{
	Str s = { 0 };

	mb_quote(&s, m, strlen(m), 0);
	return s.p;
}

static char *
tpath(const char *name)
{
	static char buf[8][LIM_PATHNAME];
	static int i;
	char *p = buf[i++ % 8];

	snprintf(p, LIM_PATHNAME, "%s/%s", unit_tmpdir(), name);
	return p;
}

static char *
slurp(const char *path, size_t *n)
{
	size_t len;
	char *p = readfile(path, 1 << 26, &len);

	if (n)
		*n = p ? len : 0;
	return p;
}

static void
mkmaildir(const char *p)
{
	char sub[LIM_PATHNAME];

	mkdir(p, 0700);
	snprintf(sub, sizeof sub, "%s/cur", p);
	mkdir(sub, 0700);
	snprintf(sub, sizeof sub, "%s/new", p);
	mkdir(sub, 0700);
	snprintf(sub, sizeof sub, "%s/tmp", p);
	mkdir(sub, 0700);
}

/* Append every tricky message, read each back byte for byte. */
static void
roundtrip(const char *path, int kind)
{
	Mailbox *mb;
	Str s = { 0 };
	char *want;
	size_t i;

	for (i = 0; i < nelem(tricky); i++)
		CHECK(mb_append(path, "glenda@example.org", 1136214245 + i, tricky[i], strlen(tricky[i])) == 0);
	CHECK(mb_type(path) == kind);
	mb = mb_open(path, MB_RDONLY);
	if (!CHECK(mb != NULL))
		return;
	CHECK(mb_count(mb) == (int)nelem(tricky) && mb_kind(mb) == kind);
	for (i = 0; i < nelem(tricky) && (int)i < mb_count(mb); i++) {
		str_reset(&s);
		CHECK(mb_read(mb, i, &s) == 0);
		want = norm(tricky[i]);
		CHECKSTR(s.p, want);
		CHECK(mb_msg(mb, i)->size == s.n);
		if (kind != MB_MAILDIR) {
			CHECKSTR(mb_sender(mb, i), "glenda@example.org");
			CHECK(mb_msg(mb, i)->date == (time_t)(1136214245 + i));
		}
		free(want);
	}
	mb_close(mb);
	str_free(&s);
}

TEST(mb_fromline)
{
	char buf[256], *s = NULL;
	time_t t;

	setenv("TZ", "UTC", 1);
	tzset();
	CHECK(mb_fromline(buf, sizeof buf, "glenda", 1136214245) == 0);
	CHECKSTR(buf, "From glenda Mon Jan  2 15:04:05 2006\n");
	CHECK(mb_parsefrom(buf, strlen(buf), &s, &t) == 0 && t == 1136214245);
	CHECKSTR(s, "glenda");
	free(s);
	CHECK(mb_parsefrom("From a b\n", 9, NULL, &t) < 0);
	CHECK(mb_parsefrom("From me to you\n", 15, NULL, &t) < 0);
	CHECK(mb_parsefrom("From x Mon Jan  2 15:04:05 EST 2006\n", 36, NULL, &t) == 0 && t == 1136214245);
	CHECK(mb_parsefrom("From x Mon, 2 Jan 2006 15:04:05 -0700\n", 38, NULL, &t) == 0 && t == 1136214245 + 7 * 3600);
	CHECK(mb_parsefrom("From x Mon Jan  2 15:04:05 2006 remote from sys\n", 48, &s, &t) == 0 && t == 1136214245);
	CHECKSTR(s, "x");
	free(s);
	CHECK(mb_fromline(buf, sizeof buf, "a b\tc", 1136214245) == 0);
	CHECKSTR(buf, "From a_b_c Mon Jan  2 15:04:05 2006\n");
	CHECK(mb_fromline(buf, sizeof buf, "", 1136214245) == 0);
	CHECKSTR(buf, "From MAILER-DAEMON Mon Jan  2 15:04:05 2006\n");
}

TEST(mb_mbox_roundtrip)
{
	char *p = tpath("rt.mbox"), *text;
	struct stat st;

	roundtrip(p, MB_MBOX);
	CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600);
	text = slurp(p, NULL);
	/* mboxrd quoting on disk, upas's space escape left alone */
	CHECK(text && strstr(text, "\n>From me to you\n>>From quoted\n>>>From twice\n\n>From here\n\n"));
	CHECK(text && strstr(text, "\n From upas escaped\n>From Mon Jan  2"));
	CHECK(text && strstr(text, "no final newline\n\nFrom glenda"));
	CHECK(text && !strchr(text, '\r'));
	free(text);
}

TEST(mb_mdir_roundtrip)
{
	char *p = tpath("rt.mdir"), *f;

	mkdir(p, 0700);
	roundtrip(p, MB_MDIR);
	f = slurp(tpath("rt.mdir/1136214245.00"), NULL);
	CHECK(f && strncmp(f, "From glenda@example.org Mon Jan  2 15:04:05 2006\nSubject: one\n", 62) == 0);
	free(f);
	CHECK(access(tpath("rt.mdir/1136214246.00"), F_OK) == 0);
	CHECK(mb_append(p, "x", 1136214245, "a\n", 2) == 0);
	CHECK(access(tpath("rt.mdir/1136214245.01"), F_OK) == 0);
	CHECK(access(tpath("rt.mdir/1136214245.01.tmp"), F_OK) < 0);
}

TEST(mb_maildir_roundtrip)
{
	char ib0[MB_IDLEN], ib1[MB_IDLEN];
	char fb[600];
	char *p = tpath("rt.maildir");
	Mailbox *mb;

	mkmaildir(p);
	roundtrip(p, MB_MAILDIR);
	mb = mb_open(p, MB_RDONLY);
	if (CHECK(mb != NULL)) {
		CHECK(strncmp(mb_file(mb, mb_msg(mb, 0), fb, sizeof fb), "new/", 4) == 0);
		CHECK(strchr(mb_id(mb, 0, ib0), '/') == NULL && strstr(mb_id(mb, 0, ib1), ".M") != NULL);
		CHECK(mb_msg(mb, 0)->flags == 0);
		mb_close(mb);
	}
}

/* Set flags, sync, reopen: flags kept, contents unchanged, ids stable. */
static void
flags(const char *p)
{
	char ib0[MB_IDLEN];
	Mailbox *mb;
	Str s = { 0 }, t = { 0 };
	char *id1;
	int n;

	mb = mb_open(p, MB_RDWR);
	if (!CHECK(mb != NULL))
		return;
	n = mb_count(mb);
	CHECK(mb_read(mb, 1, &s) == 0);
	id1 = xstrdup(mb_id(mb, 1, ib0));
	mb_setflags(mb, 1, MF_SEEN | MF_OLD | MF_ANSWERED | MF_FLAGGED, 0);
	mb_setflags(mb, 2, MF_DRAFT | MF_OLD, 0);
	mb_setflags(mb, 3, MF_DELETED, 0);
	CHECK(mb_sync(mb) == 0);
	CHECK(mb_count(mb) == n - 1);
	mb_close(mb);
	mb = mb_open(p, MB_RDONLY);
	if (!CHECK(mb != NULL))
		return;
	CHECK(mb_count(mb) == n - 1);
	CHECK(mb_msg(mb, 0)->flags == 0);
	CHECK(mb_msg(mb, 1)->flags == (MF_SEEN | MF_OLD | MF_ANSWERED | MF_FLAGGED));
	CHECK(mb_msg(mb, 2)->flags == (MF_DRAFT | MF_OLD));
	CHECKSTR(mb_id(mb, 1, ib0), id1);
	CHECK(mb_read(mb, 1, &t) == 0);
	CHECKSTR(t.p, s.p);
	CHECK(mb_msg(mb, 1)->size == t.n);
	str_reset(&t);
	CHECK(mb_read(mb, 3, &t) == 0);
	CHECK(strstr(t.p, "Subject: five") != NULL);
	mb_close(mb);
	free(id1);
	str_free(&s);
	str_free(&t);
}

TEST(mb_mbox_flags)
{
	char *p = tpath("fl.mbox"), *text;

	roundtrip(p, MB_MBOX);
	flags(p);
	text = slurp(p, NULL);
	/* as mutt writes them, at the end of the header */
	CHECK(text && strstr(text, "Message-ID: <2@x>\nStatus: RO\nX-Status: AF\n\nCRLF body\n"));
	CHECK(text && strstr(text, "Subject: four") == NULL);
	free(text);
	CHECK(access(tpath(".fl.mbox.journal"), F_OK) < 0);
	CHECK(access(tpath("fl.mbox.lock"), F_OK) < 0);
}

TEST(mb_mdir_flags)
{
	char *p = tpath("fl.mdir");

	mkdir(p, 0700);
	roundtrip(p, MB_MDIR);
	flags(p);
	CHECK(access(tpath("fl.mdir/1136214248.00"), F_OK) < 0);
	CHECK(access(tpath("fl.mdir/.idx"), F_OK) == 0);
}

TEST(mb_maildir_flags)
{
	char fb[600];
	char *p = tpath("fl.maildir");
	Mailbox *mb;

	mkmaildir(p);
	roundtrip(p, MB_MAILDIR);
	flags(p);
	mb = mb_open(p, MB_RDONLY);
	if (CHECK(mb != NULL)) {
		CHECK(strncmp(mb_file(mb, mb_msg(mb, 0), fb, sizeof fb), "new/", 4) == 0);
		CHECK(strncmp(mb_file(mb, mb_msg(mb, 1), fb, sizeof fb), "cur/", 4) == 0);
		CHECK(strstr(mb_file(mb, mb_msg(mb, 1), fb, sizeof fb), ":2,FRS") != NULL);
		CHECK(strstr(mb_file(mb, mb_msg(mb, 2), fb, sizeof fb), ":2,D") != NULL);
		mb_close(mb);
	}
}

/* Flags another program sets in a Maildir name are read, and kept under
 * ours; letters we do not know are kept. */
TEST(mb_maildir_foreign)
{
	char ib0[MB_IDLEN];
	char fb[600];
	char *p = tpath("fo.maildir"), from[LIM_PATHNAME], to[LIM_PATHNAME];
	Mailbox *mb;

	mkmaildir(p);
	CHECK(mb_append(p, "x", 0, "Return-Path: <bob@example.com>\nSubject: a\n\nb\n", 45) == 0);
	mb = mb_open(p, MB_RDWR);
	if (!CHECK(mb != NULL))
		return;
	CHECKSTR(mb_sender(mb, 0), "bob@example.com");
	snprintf(from, sizeof from, "%s/%s", p, mb_file(mb, mb_msg(mb, 0), fb, sizeof fb));
	snprintf(to, sizeof to, "%s/cur/%s:2,Sa", p, mb_id(mb, 0, ib0));
	CHECK(rename(from, to) == 0);
	mb_setflags(mb, 0, MF_FLAGGED, 0);
	CHECK(mb_sync(mb) == 0);	/* follows the rename, keeps its S */
	CHECK(strstr(mb_file(mb, mb_msg(mb, 0), fb, sizeof fb), ":2,FSa") != NULL);
	CHECK(mb_refresh(mb) == 1);
	CHECK(mb_msg(mb, 0)->flags == (MF_FLAGGED | MF_SEEN | MF_OLD));
	mb_close(mb);
}

TEST(mb_symlink)
{
	char *p = tpath("real.mbox"), *l = tpath("link.mbox"), *d = tpath("dangling.mbox");

	CHECK(mb_append(p, "x", 0, "a\n", 2) == 0);
	CHECK(symlink(p, l) == 0);
	CHECK(symlink(tpath("nowhere"), d) == 0);
	CHECK(mb_append(l, "x", 0, "b\n", 2) < 0 && errno == ELOOP);
	CHECK(strstr(lasterr(), "symbolic link") != NULL);
	CHECK(mb_append(d, "x", 0, "b\n", 2) < 0);
	CHECK(access(tpath("nowhere"), F_OK) < 0);
	CHECK(mb_open(l, MB_RDONLY) == NULL);
}

/* The file as a byte string, for "left exactly as before". */
static int
samefile(const char *p, const char *want, size_t wn)
{
	size_t n;
	char *got = slurp(p, &n);
	int ok = got && n == wn && memcmp(got, want, n) == 0;

	free(got);
	return ok;
}

TEST(mb_append_fails_cleanly)
{
	char *p = tpath("full.mbox"), *before, *big;
	size_t bn, i;
	struct rlimit rl;
	pid_t pid;
	int st;

	CHECK(mb_append(p, "x", 0, tricky[0], strlen(tricky[0])) == 0);
	before = slurp(p, &bn);
	big = xmalloc(20000);
	for (i = 0; i < 20000; i++)
		big[i] = i % 80 == 79 ? '\n' : 'a' + i % 26;
	fflush(stdout);
	if ((pid = fork()) == 0) {
		/* the file system is full after 1000 more bytes */
		signal(SIGXFSZ, SIG_IGN);
		rl.rlim_cur = rl.rlim_max = bn + 1000;
		setrlimit(RLIMIT_FSIZE, &rl);
		_exit(mb_append(p, "x", 0, big, 20000) == -1 ? 0 : 1);
	}
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK(samefile(p, before, bn));
	CHECK(access(tpath("full.mbox.lock"), F_OK) < 0);
	free(before);
	free(big);
}

TEST(mb_lock_busy)
{
	char *p = tpath("busy.mbox"), *before;
	struct flock fl;
	size_t bn;
	int fd, save = mb_lockwait, sv[2];
	pid_t pid;
	char c;

	CHECK(mb_append(p, "x", 0, "a\n", 2) == 0);
	before = slurp(p, &bn);
	CHECK(pipe(sv) == 0);
	fflush(stdout);
	if ((pid = fork()) == 0) {
		/* another program's classic POSIX lock, as mutt and Postfix take */
		close(sv[0]);
		fd = open(p, O_RDWR);
		memset(&fl, 0, sizeof fl);
		fl.l_type = F_WRLCK;
		fcntl(fd, F_SETLK, &fl);
		write(sv[1], "x", 1);
		pause();
		_exit(0);
	}
	close(sv[1]);
	CHECK(read(sv[0], &c, 1) == 1);
	close(sv[0]);
	mb_lockwait = 1;
	CHECK(mb_append(p, "x", 0, "b\n", 2) < 0 && errno == EWOULDBLOCK);
	CHECK(strstr(lasterr(), "busy") != NULL);
	mb_lockwait = save;
	CHECK(samefile(p, before, bn));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	CHECK(mb_append(p, "x", 0, "b\n", 2) == 0);
	free(before);
}

static void
writefile(const char *p, const char *s)
{
	int fd = open(p, O_CREAT | O_TRUNC | O_WRONLY, 0600);

	CHECK(fd >= 0 && write(fd, s, strlen(s)) == (ssize_t)strlen(s));
	close(fd);
}

static pid_t
deadpid(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	return pid;
}

TEST(mb_dotlock)
{
	char *p = tpath("dot.mbox"), *dot = tpath("dot.mbox.lock"), host[256], text[512];
	struct timespec old[2] = { { time(NULL) - 3600, 0 }, { time(NULL) - 3600, 0 } };
	int save = mb_lockwait;
	size_t n, n2;
	char *f;
	Mailbox *mb;

	CHECK(mb_append(p, "x", 1136214245, "Subject: a\n\nb\n", 14) == 0);
	f = slurp(p, &n);
	free(f);
	/* a live holder (us, from the lock's point of view): busy */
	mb_lockwait = 1;
	writefile(dot, "");
	CHECK(mb_append(p, "x", 0, "c\n", 2) < 0 && errno == EWOULDBLOCK);
	/* the same lock, untouched for an hour with the mailbox: broken */
	CHECK(utimensat(AT_FDCWD, dot, old, 0) == 0 && utimensat(AT_FDCWD, p, old, 0) == 0);
	CHECK(mb_append(p, "x", 0, "Subject: c\n\nd\n", 14) == 0);
	CHECK(access(dot, F_OK) < 0);
	f = slurp(p, &n2);
	free(f);
	/* an appender that died mid-message: its lock says how long the file was */
	gethostname(host, sizeof host);
	snprintf(text, sizeof text, "%ld:%s:%zu", (long)deadpid(), host, n2);
	writefile(dot, text);
	f = slurp(p, NULL);
	CHECK((n = strlen(f)) == n2);
	free(f);
	CHECK((f = xmalloc(n2 + 64)) != NULL);
	{
		int fd = open(p, O_WRONLY | O_APPEND);
		CHECK(write(fd, "From y Mon Jan  2 15:04:05 2006\nSubject: partial\n\nhal", 53) == 53);
		close(fd);
	}
	free(f);
	mb = mb_open(p, MB_RDONLY);	/* a reader does not see the partial message */
	CHECK(mb && mb_count(mb) == 2);
	mb_close(mb);
	CHECK(mb_append(p, "x", 1136214245, "Subject: e\n\nf\n", 14) == 0);
	CHECK(access(dot, F_OK) < 0);
	f = slurp(p, NULL);
	CHECK(f && strstr(f, "partial") == NULL && strstr(f, "\n\nFrom x Mon Jan  2 15:04:05 2006\nSubject: e\n\nf\n\n"));
	free(f);
	mb = mb_open(p, MB_RDONLY);
	CHECK(mb && mb_count(mb) == 3);
	mb_close(mb);
	mb_lockwait = save;
}

/* A file that does not end in a blank line (someone died without a dotlock
 * to say how far they got) still gets the next message after one. */
TEST(mb_mbox_repair)
{
	char *p = tpath("torn.mbox");
	Mailbox *mb;
	Str s = { 0 };

	writefile(p, "From a Mon Jan  2 15:04:05 2006\nSubject: torn\n\nhal");
	CHECK(mb_append(p, "x", 0, "Subject: next\n\nbody\n", 20) == 0);
	mb = mb_open(p, MB_RDONLY);
	if (CHECK(mb != NULL) && CHECK(mb_count(mb) == 2)) {
		CHECK(mb_read(mb, 1, &s) == 0);
		CHECKSTR(s.p, "Subject: next\n\nbody\n");
	}
	mb_close(mb);
	str_free(&s);
}

/* A rewrite that crashed after its journal was complete is finished by the
 * next opener; an incomplete journal is dropped. */
TEST(mb_journal)
{
	char *p = tpath("j.mbox"), *jp = tpath(".j.mbox.journal"), *text, trailer[128];
	Mailbox *mb;
	uint64_t start, h;
	size_t n, i;
	int fd;

	for (i = 0; i < 3; i++)
		CHECK(mb_append(p, "x", 1136214245, tricky[i], strlen(tricky[i])) == 0);
	mb = mb_open(p, MB_RDONLY);
	if (!CHECK(mb != NULL))
		return;
	start = mb_msg(mb, 1)->off;
	mb_close(mb);
	text = slurp(p, &n);
	/* incomplete: no trailer */
	writefile(jp, "garbage");
	mb = mb_open(p, MB_RDWR);
	CHECK(mb && mb_count(mb) == 3);
	mb_close(mb);
	CHECK(access(jp, F_OK) < 0);
	/* complete: drop message 2, half copied when the writer died */
	h = mb_hash(0, text, 0);
	{
		char *m3 = strstr(text, "From x Mon Jan  2 15:04:05 2006\nSubject: three");
		size_t tail = n - (m3 - text);

		h = mb_hash(0, m3, tail);
		fd = open(jp, O_CREAT | O_TRUNC | O_WRONLY, 0600);
		CHECK(write(fd, m3, tail) == (ssize_t)tail);
		snprintf(trailer, sizeof trailer, "upas-journal 1 %llu %zu %zu %llx\n", (unsigned long long)start, n,
		    tail, (unsigned long long)h);
		CHECK(write(fd, trailer, strlen(trailer)) == (ssize_t)strlen(trailer));
		close(fd);
		fd = open(p, O_WRONLY);
		CHECK(pwrite(fd, m3, 20, start) == 20);
		close(fd);
	}
	mb = mb_open(p, MB_RDWR);
	CHECK(mb && mb_count(mb) == 2);
	if (mb && mb_count(mb) == 2) {
		Str s = { 0 };
		CHECK(mb_read(mb, 1, &s) == 0);
		CHECK(strstr(s.p, "Subject: three") != NULL);
		str_free(&s);
	}
	mb_close(mb);
	CHECK(access(jp, F_OK) < 0);
	free(text);
}

/* A rewrite that finished its copy and truncation but not the journal's
 * removal, then a small message appended by a program that knows nothing of
 * journals: the replay must not overwrite that message. */
TEST(mb_journal_foreign)
{
	char *p = tpath("jf.mbox"), *jp = tpath(".jf.mbox.journal"), *text, trailer[128];
	static const char foreign[] = "From y Mon Jan  2 15:04:05 2006\nSubject: new\n\nz\n\n";
	Mailbox *mb;
	uint64_t start;
	size_t n, tail;
	char *m3;
	int fd;

	static const char one[] = "Subject: one\n\n1\n", three[] = "Subject: three\n\n3\n";
	static const char two[] = "Subject: two\n\nthe second message is the long one, long enough\n"
	    "that a short message appended later fits in the space it left\n";

	CHECK(mb_append(p, "x", 1136214245, one, strlen(one)) == 0);
	CHECK(mb_append(p, "x", 1136214245, two, strlen(two)) == 0);
	CHECK(mb_append(p, "x", 1136214245, three, strlen(three)) == 0);
	mb = mb_open(p, MB_RDONLY);
	if (!CHECK(mb != NULL))
		return;
	start = mb_msg(mb, 1)->off;
	mb_close(mb);
	text = slurp(p, &n);
	if (!CHECK((m3 = strstr(text, "From x Mon Jan  2 15:04:05 2006\nSubject: three")) != NULL))
		return;
	tail = n - (m3 - text);
	fd = open(jp, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	CHECK(write(fd, m3, tail) == (ssize_t)tail);
	snprintf(trailer, sizeof trailer, "upas-journal 1 %llu %zu %zu %llx\n", (unsigned long long)start, n,
	    tail, (unsigned long long)mb_hash(0, m3, tail));
	CHECK(write(fd, trailer, strlen(trailer)) == (ssize_t)strlen(trailer));
	close(fd);
	/* the rewrite's own work, done: message two gone, then a foreign append */
	fd = open(p, O_WRONLY);
	CHECK(pwrite(fd, m3, tail, start) == (ssize_t)tail && ftruncate(fd, start + tail) == 0);
	CHECK(pwrite(fd, foreign, strlen(foreign), start + tail) == (ssize_t)strlen(foreign));
	close(fd);
	mb = mb_open(p, MB_RDWR);
	CHECK(mb && mb_count(mb) == 3);
	if (mb && mb_count(mb) == 3) {
		Str s = { 0 };
		CHECK(mb_read(mb, 2, &s) == 0);
		CHECK(strstr(s.p, "Subject: new") != NULL);
		str_free(&s);
	}
	mb_close(mb);
	free(text);
}

/* The index is used when the mailbox is unchanged or grew, and rebuilt
 * when it is stale or corrupt. */
TEST(mb_index)
{
	char ib0[MB_IDLEN], ib1[MB_IDLEN];
	char *p = tpath("ix.mbox"), *ip = tpath(".ix.mbox.idx"), *text, *st;
	struct timespec ts[2];
	struct stat sb;
	Mailbox *mb;
	size_t n;
	int fd;

	roundtrip(p, MB_MBOX);
	CHECK(access(ip, F_OK) == 0);
	/* change a flag in place, same size, same mtime: the index is believed */
	CHECK(stat(p, &sb) == 0);
	text = slurp(p, &n);
	CHECK(mb_append(p, "x", 1136214245, "Subject: st\nStatus: O\n\nb\n", 25) == 0);
	mb = mb_open(p, MB_RDONLY);
	CHECK(mb && mb_count(mb) == (int)nelem(tricky) + 1 && mb_msg(mb, nelem(tricky))->flags == MF_OLD);
	mb_close(mb);
	free(text);
	text = slurp(p, &n);
	CHECK(stat(p, &sb) == 0);
	st = strstr(text, "Status: O");
	fd = open(p, O_WRONLY);
	CHECK(st && pwrite(fd, "Status: R", 9, st - text) == 9);
	close(fd);
	ts[0] = sb.st_atim;
	ts[1] = sb.st_mtim;
	CHECK(utimensat(AT_FDCWD, p, ts, 0) == 0);
	mb = mb_open(p, MB_RDONLY);
	CHECK(mb && mb_msg(mb, nelem(tricky))->flags == MF_OLD);
	mb_close(mb);
	/* a new mtime: scanned again */
	CHECK(utimensat(AT_FDCWD, p, NULL, 0) == 0);
	mb = mb_open(p, MB_RDONLY);
	CHECK(mb && mb_msg(mb, nelem(tricky))->flags == MF_SEEN);
	mb_close(mb);
	/* grown: only the tail is read; a second copy of a message gets its own id */
	CHECK(mb_append(p, "glenda@example.org", 1136214245, tricky[0], strlen(tricky[0])) == 0);
	mb = mb_open(p, MB_RDONLY);
	CHECK(mb && mb_count(mb) == (int)nelem(tricky) + 2);
	CHECK(mb && strcmp(mb_id(mb, 0, ib0), mb_id(mb, nelem(tricky)+1, ib1)) != 0);
	CHECK(mb && strncmp(mb_id(mb, 0, ib0), mb_id(mb, nelem(tricky)+1, ib1), 16) == 0);
	mb_close(mb);
	/* corrupt index: rebuilt */
	free(text);
	text = slurp(ip, &n);
	CHECK(text && n > 40);
	if (text) {
		text[n / 2] ^= 1;
		fd = open(ip, O_WRONLY | O_TRUNC);
		CHECK(write(fd, text, n) == (ssize_t)n);
		close(fd);
	}
	mb = mb_open(p, MB_RDONLY);
	CHECK(mb && mb_count(mb) == (int)nelem(tricky) + 2);
	mb_close(mb);
	/* a different file under the same name: rebuilt */
	CHECK(unlink(p) == 0);
	CHECK(mb_append(p, "x", 0, "a\n", 2) == 0);
	mb = mb_open(p, MB_RDONLY);
	CHECK(mb && mb_count(mb) == 1);
	mb_close(mb);
	free(text);
}

TEST(mb_index_dirs)
{
	char fb[600];
	char *md = tpath("ix.maildir"), *dd = tpath("ix.mdir"), path[LIM_PATHNAME];
	Mailbox *mb;

	mkmaildir(md);
	mkdir(dd, 0700);
	roundtrip(md, MB_MAILDIR);
	roundtrip(dd, MB_MDIR);
	snprintf(path, sizeof path, "%s/.idx", md);
	CHECK(access(path, F_OK) == 0);
	/* a message vanishes behind our back; one more arrives */
	mb = mb_open(md, MB_RDONLY);
	snprintf(path, sizeof path, "%s/%s", md, mb_file(mb, mb_msg(mb, 0), fb, sizeof fb));
	mb_close(mb);
	CHECK(unlink(path) == 0);
	CHECK(mb_append(md, "x", 0, "a\n", 2) == 0);
	mb = mb_open(md, MB_RDONLY);
	CHECK(mb && mb_count(mb) == (int)nelem(tricky));
	mb_close(mb);
	snprintf(path, sizeof path, "%s/1136214245.00", dd);
	CHECK(unlink(path) == 0);
	mb = mb_open(dd, MB_RDONLY);
	CHECK(mb && mb_count(mb) == (int)nelem(tricky) - 1);
	mb_close(mb);
}

/* build/unit mbappend [-w secs] PATH SENDER < message: deliver; exit 0,
 * 75 (busy) or 1 */
TOOL(mbappend)
{
	Str s = { 0 };
	char buf[65536];
	ssize_t n;

	if (argc == 5 && strcmp(argv[1], "-w") == 0) {
		mb_lockwait = atoi(argv[2]);
		argc -= 2;
		argv += 2;
	}
	if (argc != 3) {
		fprintf(stderr, "usage: mbappend [-w secs] path sender <message\n");
		return 64;
	}
	while ((n = read(0, buf, sizeof buf)) > 0)
		str_addn(&s, buf, n);
	if (mb_append(argv[1], argv[2], 0, s.p ? s.p : "", s.n) < 0) {
		n = errno == EWOULDBLOCK ? 75 : 1;
		fprintf(stderr, "mbappend: %s\n", lasterr());
		str_free(&s);
		return n;
	}
	str_free(&s);
	return 0;
}

/* build/unit mbdump PATH DIR: each message into DIR/N (1, 2...); prints
 * "N id size flags sender" per message. */
TOOL(mbdump)
{
	char name[LIM_PATHNAME], ib[MB_IDLEN];
	Mailbox *mb;
	Str s = { 0 };
	Mmsg *m;
	int i, fd;

	if (argc != 3) {
		fprintf(stderr, "usage: mbdump path dir\n");
		return 64;
	}
	if ((mb = mb_open(argv[1], MB_RDONLY)) == NULL) {
		fprintf(stderr, "mbdump: %s\n", lasterr());
		return 1;
	}
	for (i = 0; i < mb_count(mb); i++) {
		m = mb_msg(mb, i);
		str_reset(&s);
		snprintf(name, sizeof name, "%s/%d", argv[2], i + 1);
		if (mb_read(mb, i, &s) < 0 || (fd = open(name, O_CREAT | O_TRUNC | O_WRONLY, 0600)) < 0 ||
		    write(fd, s.p ? s.p : "", s.n) != (ssize_t)s.n) {
			fprintf(stderr, "mbdump: %d: %s\n", i + 1, lasterr());
			mb_close(mb);
			str_free(&s);
			return 1;
		}
		close(fd);
		printf("%d %s %llu %d %s\n", i + 1, mb_id(mb, i, ib), (unsigned long long)m->size, m->flags,
		    *mb_sender(mb, i) ? mb_sender(mb, i) : "-");
	}
	mb_close(mb);
	str_free(&s);
	return 0;
}

/* mutt rewriting an mbox adds Content-Length: and Lines:; ids (POP3 UIDLs) stay, and reads check the digest. */
TEST(mb_mbox_foreign_rewrite)
{
	char ib0[MB_IDLEN], ib1[MB_IDLEN];
	const char *a = "From a@x Mon Jan  2 15:04:05 2006\nSubject: one\nMessage-ID: <1@x>\n\nbody one\n\n"
	    "From b@x Mon Jan  2 15:04:06 2006\nSubject: two\n\nbody two\n";
	const char *b = "From a@x Mon Jan  2 15:04:05 2006\nSubject: one\nMessage-ID: <1@x>\nStatus: RO\n"
	    "Content-Length: 9\nLines: 1\nX-UID: 7\n\nbody one\n\n"
	    "From b@x Mon Jan  2 15:04:06 2006\nSubject: two\nContent-Length: 9\nLines: 1\n\nbody two\n";
	const char *c = "From a@x Mon Jan  2 15:04:05 2006\nSubject: ONE\nMessage-ID: <1@x>\n\nbody one\n\n";
	char *p = tpath("mutt.mbox"), *id0, *id1;
	Mailbox *mb;
	Str s = { 0 };
	FILE *f;

	CHECK((f = fopen(p, "w")) != NULL && fputs(a, f) >= 0 && fclose(f) == 0);
	CHECK((mb = mb_open(p, MB_RDONLY)) != NULL && mb_count(mb) == 2);
	id0 = xstrdup(mb_id(mb, 0, ib0));
	id1 = xstrdup(mb_id(mb, 1, ib0));
	mb_close(mb);
	CHECK((f = fopen(p, "w")) != NULL && fputs(b, f) >= 0 && fclose(f) == 0);
	CHECK((mb = mb_open(p, MB_RDONLY)) != NULL && mb_count(mb) == 2);
	CHECK(strcmp(mb_id(mb, 0, ib0), id0) == 0 && strcmp(mb_id(mb, 1, ib1), id1) == 0);
	CHECK(mb_read(mb, 0, &s) == 0 && strstr(s.p, "Lines: 1\n") != NULL);
	/* the same offsets now hold another header: the read must not pass it off */
	CHECK((f = fopen(p, "w")) != NULL && fputs(c, f) >= 0 && fputs(b + strlen(c), f) >= 0 && fclose(f) == 0);
	str_reset(&s);
	CHECK(mb_read(mb, 0, &s) < 0);
	mb_close(mb);
	str_free(&s);
	free(id0);
	free(id1);
}

/* A Maildir expunge moves the files to tmp/ at once and unlinks them at mb_purge; a scan sweeps leftovers. */
TEST(mb_maildir_purge)
{
	char *p = tpath("purge.maildir"), tmp[LIM_PATHNAME], left[LIM_PATHNAME];
	Mailbox *mb;
	DIR *d;
	struct dirent *e;
	int n, fd;

	mkmaildir(p);
	CHECK(mb_append(p, "a@x", 0, "Subject: one\n\n1\n", 16) == 0);
	CHECK(mb_append(p, "a@x", 0, "Subject: two\n\n2\n", 16) == 0);
	CHECK((mb = mb_open(p, MB_RDWR)) != NULL && mb_count(mb) == 2);
	mb_setflags(mb, 0, MF_DELETED, 0);
	CHECK(mb_sync(mb) == 0 && mb_count(mb) == 1);
	snprintf(tmp, sizeof tmp, "%s/tmp", p);
	n = 0;
	CHECK((d = opendir(tmp)) != NULL);
	while (d && (e = readdir(d)) != NULL)
		n += strstr(e->d_name, ".expunged") != NULL;
	if (d)
		closedir(d);
	CHECK(n == 1);
	mb_purge(mb);
	n = 0;
	CHECK((d = opendir(tmp)) != NULL);
	while (d && (e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	CHECK(n == 0);
	mb_close(mb);
	/* one a dead process left behind goes at the next scan for writing */
	CHECK(snprintf(left, sizeof left, "%.900s/123.M1P1.host:2,S.expunged", tmp) < (int)sizeof left);
	CHECK((fd = open(left, O_WRONLY | O_CREAT, 0600)) >= 0);
	close(fd);
	CHECK((mb = mb_open(p, MB_RDWR)) != NULL && mb_count(mb) == 1);
	CHECK(access(left, F_OK) < 0 && errno == ENOENT);
	mb_close(mb);
}

/* Two programs change flags of one message at once: each sync keeps what
 * the other wrote to the flags it did not touch (no lost update). */
static void
bothflags(const char *p, int kind)
{
	Mailbox *a, *b, *c;

	CHECK(mb_append(p, "a@x", 1136214245, "Subject: one\n\nbody one\n", 23) == 0);
	CHECK(mb_append(p, "b@x", 1136214246, "Subject: two\n\nbody two\n", 23) == 0);
	a = mb_open(p, MB_RDWR);
	b = mb_open(p, MB_RDWR);
	if (!CHECK(a != NULL && b != NULL && mb_kind(a) == kind)) {
		mb_close(a);
		mb_close(b);
		return;
	}
	mb_setflags(a, 0, MF_FLAGGED, 0);
	mb_setflags(a, 1, MF_DRAFT, 0);
	mb_setflags(b, 0, MF_ANSWERED, 0);
	mb_setflags(b, 1, MF_SEEN, 0);
	CHECK(mb_sync(b) == 0);
	CHECK(mb_sync(a) == 0);	/* a's view of the flags is older than b's sync */
	c = mb_open(p, MB_RDONLY);
	if (CHECK(c != NULL && mb_count(c) == 2)) {
		CHECK((mb_msg(c, 0)->flags & MF_ALL & ~MF_OLD) == (MF_FLAGGED | MF_ANSWERED));
		CHECK((mb_msg(c, 1)->flags & MF_ALL & ~MF_OLD) == (MF_SEEN | MF_DRAFT));
		mb_close(c);
	}
	mb_close(a);
	mb_close(b);
}

TEST(mb_flags_merge)
{
	char *p;

	bothflags(tpath("merge.mbox"), MB_MBOX);
	p = tpath("merge.mdir");
	mkdir(p, 0700);
	bothflags(p, MB_MDIR);
	p = tpath("merge.maildir");
	mkmaildir(p);
	bothflags(p, MB_MAILDIR);
}
