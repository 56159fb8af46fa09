/* Unit tests over core/queue.c and core/bounce.c; tools for tests/e2e/queue.sh. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "bounce.h"
#include "queue.h"
#include "unit.h"

static char *hostile[] = {
	"mail", "alice@example.org", "net!example.org",
	"two\nlines", "cr\rlf\r\n", "a b\tc", "'single' \"double\" `back`", "100% %0A %%",
	"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7", "", "a\nend 1\n", "upasq 1 x\na injected",
	"\x01\x7f\xff", "trailing-dash-",
};

TEST(queue_roundtrip)
{
	Arena a = { 0 };
	Str s = { 0 };
	char **av;
	size_t i;
	int ac, n = nelem(hostile);

	CHECK(queue_encode(&s, "1.2.3", hostile, n) == 0);
	for (i = 0; i < s.n; i++)
		CHECK(s.p[i] == '\n' || (s.p[i] > ' ' && s.p[i] < 0x7f) || s.p[i] == ' ');
	CHECK(queue_decode(&a, "1.2.3", s.p, s.n, &av, &ac) == 0);
	CHECK(ac == n);
	for (i = 0; i < (size_t)n && (int)i < ac; i++)
		CHECKSTR(av[i], hostile[i]);
	CHECK(av[ac] == NULL);
	/* every line is "a " and an argument, or the two framing lines */
	CHECK(strncmp(s.p, "upasq 1 1.2.3\na mail\n", 21) == 0);
	CHECK(s.n > 6 && strcmp(s.p + s.n - 7, "end 14\n") == 0);
	str_free(&s);
	arena_free(&a);
}

TEST(queue_encode_refuses)
{
	char *dash[] = { "mail", "-oQ/tmp" }, *one[] = { "mail" }, *ok[] = { "mail", "x" };
	char *big[] = { "mail", NULL };
	char **many;
	Str s = { 0 };
	int i;

	CHECK(queue_encode(&s, "1", dash, 2) < 0);
	CHECK(strstr(lasterr(), "'-'") != NULL);
	CHECK(queue_encode(&s, "1", one, 1) < 0);
	CHECK(queue_encode(&s, "../x", ok, 2) < 0);
	CHECK(queue_encode(&s, "a b", ok, 2) < 0);
	big[1] = xmalloc(LIM_QARG + 2);
	memset(big[1], 'x', LIM_QARG + 1);
	big[1][LIM_QARG + 1] = 0;
	CHECK(queue_encode(&s, "1", big, 2) < 0);
	free(big[1]);
	many = xmalloc((LIM_QARGS + 1) * sizeof *many);
	for (i = 0; i <= LIM_QARGS; i++)
		many[i] = "x";
	str_reset(&s);
	CHECK(queue_encode(&s, "1", many, LIM_QARGS) == 0);
	str_reset(&s);
	CHECK(queue_encode(&s, "1", many, LIM_QARGS + 1) < 0);
	free(many);
	str_free(&s);
}

static int
decodes(const char *text)
{
	Arena a = { 0 };
	char **av;
	int ac, r;

	r = queue_decode(&a, "7", text, strlen(text), &av, &ac);
	arena_free(&a);
	return r == 0;
}

TEST(queue_decode_strict)
{
	Str s = { 0 };
	size_t i;

	CHECK(decodes("upasq 1 7\na mail\na bob\nend 2\n"));
	CHECK(decodes("upasq 1 7\na mail\na \nend 2\n"));
	CHECK(decodes("upasq 1 7\na mail\na b%0Ac\nend 2\n"));
	CHECK(!decodes("upasq 1 7\na mail\na b%0ac\nend 2\n"));	/* lower-case hex */
	CHECK(!decodes("upasq 1 7\na mail\na %41\nend 2\n"));	/* 'A' need not be encoded */
	CHECK(!decodes("upasq 1 7\na mail\na %00\nend 2\n"));	/* NUL */
	CHECK(!decodes("upasq 1 7\na mail\na %4\nend 2\n"));
	CHECK(!decodes("upasq 1 7\na mail\na b c\nend 2\n"));	/* raw blank */
	CHECK(!decodes("upasq 1 7\na mail\na -x\nend 2\n"));	/* option */
	CHECK(!decodes("upasq 1 7\na mail\na %2Dx\nend 2\n"));	/* option, encoded */
	CHECK(!decodes("upasq 1 7\na mail\na bob\nend 3\n"));	/* count */
	CHECK(!decodes("upasq 1 7\na mail\na bob\nend 2\na evil\n"));	/* after the end */
	CHECK(!decodes("upasq 1 7\na mail\na bob\nend 2\nend 2\n"));
	CHECK(!decodes("upasq 1 7\na mail\nend 1\n"));	/* no reply */
	CHECK(!decodes("upasq 1 8\na mail\na bob\nend 2\n"));	/* another job's */
	CHECK(!decodes("upasq 2 7\na mail\na bob\nend 2\n"));
	CHECK(!decodes("upasq 1 7\r\na mail\r\na bob\r\nend 2\r\n"));
	CHECK(!decodes("upasq 1 7\na mail\nb bob\nend 2\n"));
	CHECK(!decodes(""));
	/* every truncation of a good file is refused */
	queue_encode(&s, "7", hostile, nelem(hostile));
	for (i = 0; i < s.n; i++) {
		Arena a = { 0 };
		char **av;
		int ac;

		if (!CHECK(queue_decode(&a, "7", s.p, i, &av, &ac) < 0))
			printf("#   truncated at %zu decodes\n", i);
		arena_free(&a);
	}
	str_free(&s);
}

/* A queue directory of its own under the unit tests' temporary directory. */
static int
qdir(const char *name, char *path, size_t n)
{
	char root[LIM_PATHNAME];

	snprintf(root, sizeof root, "%s/%s", unit_tmpdir(), name);
	return queue_opendir(root, "user", 1, path, n);
}

static int
writefile(int dfd, const char *name, const char *text)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0660);

	if (fd < 0)
		return -1;
	fd_writeall(fd, text, strlen(text));
	return close(fd);
}

static char *
readname(int dfd, const char *name)
{
	char path[LIM_PATHNAME];

	snprintf(path, sizeof path, "/proc/self/fd/%d/%s", dfd, name);
	return readfile(path, 1 << 20, NULL);
}

TEST(queue_put_job)
{
	char dir[LIM_PATHNAME], id[LIM_QID], name[LIM_QID + 8], extra[LIM_PATHNAME], fpath[LIM_PATHNAME + LIM_QID + 8], *s;
	char *files[1], *av[] = { "mail", "alice", "net!example.org", "bob@example.org", "x y\nz" };
	Arena a = { 0 };
	int dfd, in, n, i;
	char **ids;
	Qjob j;

	CHECK((dfd = qdir("put", dir, sizeof dir)) >= 0);
	snprintf(extra, sizeof extra, "%s/extra", unit_tmpdir());
	in = open(extra, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	fd_writeall(in, "extra file\n", 11);
	close(in);
	files[0] = extra;
	in = open("/proc/self/exe", O_RDONLY);
	CHECK(queue_put(dfd, dir, in, files, 1, av, 5, id) == 0);
	close(in);
	CHECK(queue_ids(dfd, &ids, &n) == 0 && n == 1);
	CHECK(n == 1 && strcmp(ids[0], id) == 0);
	queue_freeids(ids, n);
	CHECK(queue_job(&a, dfd, id, &j) == QOK);
	CHECK(j.argc == 6);
	for (i = 0; i < 5 && i < j.argc; i++)
		CHECKSTR(j.argv[i], av[i]);
	snprintf(fpath, sizeof fpath, "%s/F.%s.1", dir, id);
	CHECKSTR(j.argc == 6 ? j.argv[5] : "", fpath);
	s = readfile(fpath, 100, NULL);
	CHECKSTR(s, "extra file\n");
	free(s);
	CHECK(j.size > 1000 && j.etime == 0 && j.qtime > 0);
	/* no temporary left, and the job goes away whole */
	snprintf(name, sizeof name, "T.%s", id);
	CHECK(faccessat(dfd, name, F_OK, 0) < 0);
	CHECK(queue_remove(dfd, id) == 0);
	CHECK(queue_ids(dfd, &ids, &n) == 0 && n == 0);
	free(ids);
	snprintf(name, sizeof name, "F.%s.1", id);
	CHECK(faccessat(dfd, name, F_OK, 0) < 0);
	snprintf(name, sizeof name, "D.%s", id);
	CHECK(faccessat(dfd, name, F_OK, 0) < 0);
	arena_free(&a);
	close(dfd);
}

TEST(queue_put_fails_clean)
{
	char dir[LIM_PATHNAME], id[LIM_QID], *files[] = { "/nonexistent/file" };
	char *av[] = { "mail", "alice", "x" };
	char **ids;
	int dfd, in, n;

	CHECK((dfd = qdir("putfail", dir, sizeof dir)) >= 0);
	in = open("/dev/null", O_RDONLY);
	CHECK(queue_put(dfd, dir, in, files, 1, av, 3, id) < 0);
	close(in);
	CHECK(queue_ids(dfd, &ids, &n) == 0 && n == 0);
	free(ids);
	/* nothing at all is left: not even the data file */
	CHECK(queue_sweep(dfd) == 0);
	CHECK(rmdir(dir) == 0);
	close(dfd);
}

TEST(queue_tampered)
{
	char dir[LIM_PATHNAME], id[LIM_QID], *q;
	char *av[] = { "mail", "alice", "net!example.org", "bob@example.org" };
	Arena a = { 0 };
	char **ids;
	int dfd, in, n;
	Qjob j;

	CHECK((dfd = qdir("tamper", dir, sizeof dir)) >= 0);
	in = open("/dev/null", O_RDONLY);
	CHECK(queue_put(dfd, dir, in, NULL, 0, av, 4, id) == 0);
	close(in);
	/* a newline trick: a recipient line that would be an option */
	writefile(dfd, "D.9", "data\n");
	writefile(dfd, "C.9", "upasq 1 9\na mail\na alice\na net!x\na bob\n-oQ/tmp\nend 4\n");
	writefile(dfd, "D.10", "data\n");
	writefile(dfd, "C.10", "upasq 1 10\na mail\na alice\n");	/* truncated */
	symlinkat("/etc/passwd", dfd, "C.11");
	CHECK(queue_job(&a, dfd, "9", &j) == QBAD);
	CHECK(queue_job(&a, dfd, "10", &j) == QBAD);
	CHECK(queue_job(&a, dfd, "11", &j) == QBAD);
	CHECK(queue_job(&a, dfd, "12", &j) == QERR);
	CHECK(queue_quarantine(dfd, "9") == 0);
	CHECK(queue_ids(dfd, &ids, &n) == 0 && n == 3);
	CHECK(n == 3 && strcmp(ids[0], "10") == 0 && strcmp(ids[1], "11") == 0 && strcmp(ids[2], id) == 0);
	queue_freeids(ids, n);
	q = readname(dfd, "Q.9");
	CHECK(q != NULL && strstr(q, "-oQ/tmp") != NULL);
	free(q);
	/* a control file without its data is reported, not run */
	unlinkat(dfd, "D.10", 0);
	writefile(dfd, "C.10", "upasq 1 10\na mail\na alice\nend 2\n");
	CHECK(queue_job(&a, dfd, "10", &j) == QNODATA);
	arena_free(&a);
	close(dfd);
}

TEST(queue_sweep_orphans)
{
	char dir[LIM_PATHNAME];
	struct timespec old[2] = { { 0, UTIME_OMIT }, { 0, 0 } };
	int dfd;

	CHECK((dfd = qdir("sweep", dir, sizeof dir)) >= 0);
	old[1].tv_sec = time(0) - LIM_QORPHAN - 60;
	writefile(dfd, "D.1", "old orphan");
	writefile(dfd, "F.1.1", "old orphan");
	writefile(dfd, "T.1", "old orphan");
	writefile(dfd, "D.2", "new orphan: qer may still be writing it");
	writefile(dfd, "D.3", "old, with a control file");
	writefile(dfd, "C.3", "x");
	writefile(dfd, "D.4", "old, quarantined");
	writefile(dfd, "Q.4", "x");
	utimensat(dfd, "D.1", old, 0);
	utimensat(dfd, "F.1.1", old, 0);
	utimensat(dfd, "T.1", old, 0);
	utimensat(dfd, "D.3", old, 0);
	utimensat(dfd, "D.4", old, 0);
	CHECK(queue_sweep(dfd) == 3);
	CHECK(faccessat(dfd, "D.1", F_OK, 0) < 0 && faccessat(dfd, "T.1", F_OK, 0) < 0);
	CHECK(faccessat(dfd, "D.2", F_OK, 0) == 0 && faccessat(dfd, "D.3", F_OK, 0) == 0);
	CHECK(faccessat(dfd, "D.4", F_OK, 0) == 0);
	close(dfd);
}

TEST(queue_listing)
{
	char dir[LIM_PATHNAME], root[LIM_PATHNAME], id[LIM_QID], ename[LIM_QID + 8], *out = NULL;
	char *av[] = { "mail", "alice@example.org", "net!example.org", "bob@example.org", "carol@example.org" };
	size_t n = 0;
	FILE *f;
	int dfd, in;

	CHECK((dfd = qdir("list", dir, sizeof dir)) >= 0);
	in = open("/dev/null", O_RDONLY);
	CHECK(queue_put(dfd, dir, in, NULL, 0, av, 5, id) == 0);
	close(in);
	snprintf(ename, sizeof ename, "E.%s", id);
	writefile(dfd, ename, "first try\n421 busy\nsecond\n450 mailbox \x1b[31mbusy\n");
	snprintf(root, sizeof root, "%s/list", unit_tmpdir());
	f = open_memstream(&out, &n);
	CHECK(queue_list(f, root) == 1);
	fclose(f);
	CHECK(strstr(out, id) != NULL);
	CHECK(strstr(out, "sender: alice@example.org") != NULL);
	CHECK(strstr(out, "destination: net!example.org") != NULL);
	CHECK(strstr(out, "recipients: bob@example.org carol@example.org") != NULL);
	CHECK(strstr(out, "error: 450 mailbox \\x1b[31mbusy") != NULL);
	CHECK(strstr(out, "first try") == NULL);
	free(out);
	close(dfd);
}

static const char orig[] = "From alice Mon Jan  2 15:04:05 2006\n"
    "From: alice@example.org\nTo: bob@example.org\nSubject: hello\n\nbody line\n--upas-looks-like-a-boundary\n";

TEST(bounce_compose)
{
	Str b = { 0 };
	char *p;

	CHECK(bounce_make(&b, "alice@example.org", "permanent failure\n\nThe mailer said:\n550 no such user\x01\n",
	    orig, strlen(orig)) == 0);
	CHECK(strstr(b.p, "To: alice@example.org\n") != NULL);
	CHECK(strstr(b.p, "Subject: permanent failure\n") != NULL);
	CHECK(strstr(b.p, "From: Mail Delivery System <postmaster@") != NULL);
	CHECK(strstr(b.p, "Content-Type: multipart/mixed; boundary=\"upas-") != NULL);
	CHECK(strstr(b.p, "Content-Type: message/rfc822\n") != NULL);
	CHECK(strstr(b.p, "550 no such user?\n") != NULL);
	CHECK(strstr(b.p, "\nFrom alice") == NULL);
	CHECK((p = strstr(b.p, "From: alice@example.org\nTo: bob@example.org\nSubject: hello\n\nbody line\n")) != NULL);
	/* the boundary occurs in neither part's text */
	p = strstr(b.p, "boundary=\"") + 10;
	CHECK(strncmp(p, "upas-", 5) == 0 && p[31] == '"');
	str_free(&b);
}

TEST(bounce_not_due)
{
	static const char list[] = "From: list@example.org\nPrecedence:\n  Bulk\nSubject: x\n\nbody\n";
	static const char junk[] = "Subject: x\nprecedence: junk\n\nbody\n";
	static const char body[] = "Subject: x\n\nPrecedence: bulk\n";
	Str b = { 0 };

	CHECK(bounce_make(&b, "/dev/null", "x", orig, strlen(orig)) == 1);
	CHECK(bounce_make(&b, "", "x", orig, strlen(orig)) == 1);
	CHECK(bounce_make(&b, "<>", "x", orig, strlen(orig)) == 1);
	CHECK(bounce_make(&b, NULL, "x", orig, strlen(orig)) == 1);
	CHECK(bounce_make(&b, "alice", "x", list, strlen(list)) == 1);
	CHECK(bounce_make(&b, "alice", "x", junk, strlen(junk)) == 1);
	CHECK(b.n == 0);
	CHECK(bounce_make(&b, "alice", "x", body, strlen(body)) == 0);
	str_reset(&b);
	CHECK(bounce_make(&b, "-oQ/tmp", "x", orig, strlen(orig)) < 0);
	CHECK(bounce_make(&b, "a\nb@c", "x", orig, strlen(orig)) < 0);
	CHECK(bounce_make(&b, "example.org!alice", "x", orig, strlen(orig)) == 0);
	CHECK(strstr(b.p, "To: alice@example.org\n") != NULL);
	str_free(&b);
}

TEST(bounce_large)
{
	size_t n = LIM_BOUNCEORIG + 100;
	char *big = xmalloc(n);
	Str b = { 0 };

	memset(big, 'x', n);
	memcpy(big, "Subject: big\n\n", 14);
	CHECK(bounce_make(&b, "alice", "Giveup\n", big, n) == 0);
	CHECK(strstr(b.p, "Content-Type: text/rfc822-headers\n") != NULL);
	CHECK(strstr(b.p, "Subject: big\n") != NULL && b.n < 4096);
	CHECK(strstr(b.p, "Subject: Giveup\n") != NULL);
	str_free(&b);
	free(big);
}

/* unit queue_list [root]: what sendmail -bp prints */
TOOL(queue_list)
{
	int n = queue_list(stdout, argc > 1 ? argv[1] : NULL);

	if (n < 0)
		fprintf(stderr, "queue_list: %s\n", lasterr());
	return n < 0;
}

/* unit bounce_make sender reason <orig: the bounce runq would send, on stdout */
TOOL(bounce_make)
{
	Str in = { 0 }, out = { 0 };
	char buf[8192];
	ssize_t r;
	int st;

	if (argc != 3)
		return 64;
	while ((r = read(0, buf, sizeof buf)) > 0)
		str_addn(&in, buf, r);
	st = bounce_make(&out, argv[1], argv[2], in.p ? in.p : "", in.n);
	if (st < 0)
		fprintf(stderr, "bounce_make: %s\n", lasterr());
	else if (st == 0)
		fwrite(out.p, 1, out.n, stdout);
	str_free(&in);
	str_free(&out);
	return st < 0 ? 1 : st == 1 ? 2 : 0;
}
