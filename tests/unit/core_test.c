/* Unit tests over core/: strings, arenas, Bio, paths, config, dial strings, processes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include "unit.h"

TEST(str_grow)
{
	Str s = { 0 };
	int i;

	for (i = 0; i < 1000; i++)
		str_addc(&s, 'a' + i % 26);
	CHECK(s.n == 1000 && s.p[1000] == 0 && s.p[26] == 'a');
	str_reset(&s);
	str_fmt(&s, "%d-%s", 42, "x");
	str_adds(&s, "yz");
	CHECKSTR(s.p, "42-xyz");
	str_free(&s);
	CHECK(s.p == NULL && s.n == 0);
}

TEST(arena)
{
	Arena a = { 0 };
	char *p, *q;
	int i;

	p = arena_strdup(&a, "hello");
	for (i = 0; i < 5000; i++)
		q = arena_alloc(&a, i % 97 + 1), memset(q, 'x', i % 97 + 1);
	q = arena_alloc(&a, 100000);
	memset(q, 0, 100000);
	CHECKSTR(p, "hello");
	CHECK(((uintptr_t)arena_alloc(&a, 3) % sizeof(void *)) == 0);
	arena_free(&a);
	CHECK(a.c == NULL);
}

/* A Bio over one end of a socketpair, the other end written by the test. */
static void
feed(int fd, const char *s)
{
	CHECK(fd_writeall(fd, s, strlen(s)) == 0);
}

TEST(bio_lines)
{
	int sv[2];
	Conn c;
	Bio b;
	char buf[16];

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	conn_init(&c, sv[0], sv[0]);
	bio_init(&b, &c);
	feed(sv[1], "HELO x\r\nthis line is far too long for the buffer\r\nok\nlast");
	shutdown(sv[1], SHUT_WR);
	CHECK(bio_line(&b, buf, sizeof buf) == 8);
	CHECKSTR(buf, "HELO x\r\n");
	CHECK(bio_line(&b, buf, sizeof buf) == BIO_LONG);
	CHECK(bio_line(&b, buf, sizeof buf) == 3);
	CHECKSTR(buf, "ok\n");
	CHECK(bio_line(&b, buf, sizeof buf) == 4);
	CHECKSTR(buf, "last");
	CHECK(bio_line(&b, buf, sizeof buf) == BIO_EOF);
	c.close(&c);
	close(sv[1]);
}

TEST(bio_discard)
{
	int sv[2];
	Conn c;
	Bio b;
	char buf[64];

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	conn_init(&c, sv[0], sv[0]);
	bio_init(&b, &c);
	feed(sv[1], "STARTTLS\r\nMAIL FROM:<evil>\r\n");
	CHECK(bio_line(&b, buf, sizeof buf) == 10);
	CHECK(bio_buffered(&b) == 18);
	bio_discard(&b);
	CHECK(bio_buffered(&b) == 0);
	feed(sv[1], "after\n");
	CHECK(bio_line(&b, buf, sizeof buf) == 6);
	CHECKSTR(buf, "after\n");
	c.close(&c);
	close(sv[1]);
}

TEST(bio_timeout)
{
	int sv[2];
	Conn c;
	Bio b;
	char buf[64];
	int64_t t0 = now_ms();

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	conn_init(&c, sv[0], sv[0]);
	c.timeout = 100;
	bio_init(&b, &c);
	CHECK(bio_line(&b, buf, sizeof buf) == BIO_ERR);
	CHECK(now_ms() - t0 >= 90);
	c.timeout = 0;
	c.deadline = now_ms() - 1;
	bio_init(&b, &c);
	CHECK(bio_line(&b, buf, sizeof buf) == BIO_ERR);
	c.close(&c);
	close(sv[1]);
}

/* listen's plaintext idle timeout: the socket's SO_RCVTIMEO ends a blocking read */
TEST(bio_sockettimeout)
{
	struct timeval tv = { 0, 100000 };
	int sv[2];
	Conn c;
	Bio b;
	char buf[64];

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
	conn_init(&c, sv[0], sv[0]);
	bio_init(&b, &c);
	CHECK(bio_line(&b, buf, sizeof buf) == BIO_ERR);
	CHECKSTR(lasterr(), "timed out");
	c.close(&c);
	close(sv[1]);
}

TEST(bio_write)
{
	int sv[2];
	Conn c;
	Bio b;
	char big[3 * LIM_BIOBUF + 10], got[sizeof big + 100];
	size_t n = 0;
	ssize_t r;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	conn_init(&c, sv[0], sv[0]);
	bio_init(&b, &c);
	memset(big, 'z', sizeof big - 1);
	big[sizeof big - 1] = 0;
	CHECK(bio_printf(&b, "250 %s\r\n", "ok") == 0);
	CHECK(bio_printf(&b, "%s", big) == 0);
	CHECK(bio_flush(&b) == 0);
	shutdown(sv[0], SHUT_WR);
	while ((r = read(sv[1], got + n, sizeof got - n)) > 0)
		n += r;
	CHECK(n == 8 + sizeof big - 1);
	CHECK(memcmp(got, "250 ok\r\nzzz", 11) == 0);
	c.close(&c);
	close(sv[1]);
}

TEST(path_root)
{
	char buf[64];

	setenv("UPASROOT", "/tmp/r", 1);
	CHECKSTR(upas_root(), "/tmp/r");
	CHECK(upas_path(buf, sizeof buf, "box", "glenda", "mbox", NULL) == 0);
	CHECKSTR(buf, "/tmp/r/box/glenda/mbox");
	CHECK(upas_path(buf, sizeof buf, "box", "..", NULL) < 0);
	CHECK(upas_path(buf, sizeof buf, "box", "a/b", NULL) < 0);
	CHECK(upas_path(buf, sizeof buf, "box", "", NULL) < 0);
	CHECK(upas_path(buf, sizeof buf, "box", "a\nb", NULL) < 0);
	CHECK(upas_path(buf, 12, "box", "glenda", NULL) < 0);
	setenv("UPASROOT", "relative", 1);
	CHECKSTR(upas_root(), MAILROOT);
	unsetenv("UPASROOT");
	CHECK(name_ok("glenda") && name_ok(".x") && !name_ok(".") && !name_ok("a/b"));
	CHECK(path_clean("/mail/box/glenda/mbox") && path_clean("box/.x/mbox") && path_clean("a"));
	CHECK(!path_clean("/mail/box/./mbox") && !path_clean("/mail/box/../x") && !path_clean("/mail/box/x/.."));
	CHECK(!path_clean("/mail//box") && !path_clean("/mail/box/") && !path_clean("") && !path_clean("a\nb"));
}

static char *
writetmp(const char *name, const char *text)
{
	static char path[256];
	int fd;

	snprintf(path, sizeof path, "%s/%s", unit_tmpdir(), name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && fd_writeall(fd, text, strlen(text)) == 0);
	close(fd);
	return path;
}

TEST(conf_tokens)
{
	Conf c;
	char *f[4];

	CHECK(conf_open(&c, writetmp("rewrite",
	    "# comment\n\n"
	    "  local!(.*)\t>>\t/mail/box/\\1/mbox\n"
	    "\\\"(.+)\\\"  translate \"/bin/upas/aliasmail '\\1'\"\n"
	    "joined \\\n   line 'two words'  # trailing\n"
	    "a b c d e\n"
	    "bad 'quote\n"
	    "last")) == 0);
	CHECK(conf_line(&c, f, 4) == 3);
	CHECKSTR(f[0], "local!(.*)");
	CHECKSTR(f[1], ">>");
	CHECKSTR(f[2], "/mail/box/\\1/mbox");
	CHECK(c.lineno == 3);
	CHECK(conf_line(&c, f, 4) == 3);
	CHECKSTR(f[0], "\\\"(.+)\\\"");
	CHECKSTR(f[2], "/bin/upas/aliasmail '\\1'");
	CHECK(conf_line(&c, f, 4) == 3);
	CHECKSTR(f[0], "joined");
	CHECKSTR(f[1], "line");
	CHECKSTR(f[2], "two words");
	CHECK(conf_line(&c, f, 4) == -1);	/* too many fields */
	CHECK(conf_line(&c, f, 4) == -1);	/* unterminated quote */
	CHECK(strstr(lasterr(), ":8: bad line") != NULL);
	CHECK(conf_line(&c, f, 4) == 1);
	CHECKSTR(f[0], "last");
	CHECK(conf_line(&c, f, 4) == 0);
	conf_close(&c);
	CHECK(conf_open(&c, "/nonexistent/file") < 0);
}

static const struct {
	const char *s, *def;
	const char *net, *host, *port;	/* NULL host: must fail */
} dials[] = {
	{ "tcp!mail.example.com!25", NULL, "tcp", "mail.example.com", "25" },
	{ "net!mail.example.com!smtp", NULL, "tcp", "mail.example.com", "25" },
	{ "net!mail.example.com", "smtp", "tcp", "mail.example.com", "25" },
	{ "tcp!*!993", NULL, "tcp", "*", "993" },
	{ "tcp![::1]!1143", NULL, "tcp", "::1", "1143" },
	{ "tcp!::1!imaps", NULL, "tcp", "::1", "993" },
	{ "udp!10.0.0.1!domain", NULL, "udp", "10.0.0.1", "53" },
	{ "example.com!submission", NULL, "tcp", "example.com", "587" },
	{ "example.com", "pop3", "tcp", "example.com", "110" },
	{ "example.com:465", NULL, "tcp", "example.com", "465" },
	{ "127.0.0.1:smtps", NULL, "tcp", "127.0.0.1", "465" },
	{ "[2001:db8::1]:25", NULL, "tcp", "2001:db8::1", "25" },
	{ "[2001:db8::1]", "imap", "tcp", "2001:db8::1", "143" },
	{ "2001:db8::1", "imap", "tcp", "2001:db8::1", "143" },
	{ "example.com", NULL, NULL, NULL, NULL },	/* no service */
	{ "example.com:nosuch", NULL, NULL, NULL, NULL },
	{ "example.com:70000", NULL, NULL, NULL, NULL },
	{ "ipx!host!25", NULL, NULL, NULL, NULL },
	{ "tcp!a!b!c", NULL, NULL, NULL, NULL },
	{ "tcp!!25", NULL, NULL, NULL, NULL },
	{ "tcp!ho st!25", NULL, NULL, NULL, NULL },
	{ "tcp!$(reboot)!25", NULL, NULL, NULL, NULL },
	{ "[::1", "smtp", NULL, NULL, NULL },
	{ "", "smtp", NULL, NULL, NULL },
};

TEST(dial_strings)
{
	size_t i;
	Dial d;
	int r;

	for (i = 0; i < nelem(dials); i++) {
		r = dial_parse(dials[i].s, dials[i].def, &d);
		if (dials[i].host == NULL) {
			if (!CHECK(r < 0))
				printf("#   accepted %s\n", dials[i].s);
			continue;
		}
		if (!CHECK(r == 0)) {
			printf("#   refused %s: %s\n", dials[i].s, lasterr());
			continue;
		}
		CHECKSTR(d.net, dials[i].net);
		CHECKSTR(d.host, dials[i].host);
		CHECKSTR(d.port, dials[i].port);
	}
	CHECK(svc_port("smtp", "tcp") == 25 && svc_port("imaps", "tcp") == 993);
	CHECK(svc_port("65535", "tcp") == 65535 && svc_port("-1", "tcp") == -1 && svc_port("25x", "tcp") == -1);
}

TEST(dial_loopback)
{
	char ds[64], host[64], port[16];
	int l, c, a;

	l = announce("tcp!127.0.0.1!0", NULL, 4);
	CHECK(l >= 0);
	CHECK(sock_name(l, 0, host, sizeof host, port, sizeof port) == 0);
	CHECKSTR(host, "127.0.0.1");
	snprintf(ds, sizeof ds, "127.0.0.1:%s", port);
	c = dial(ds, NULL, 2000);
	CHECK(c >= 0);
	a = accept(l, NULL, NULL);
	CHECK(a >= 0);
	CHECK(sock_name(a, 1, host, sizeof host, port, sizeof port) == 0);
	CHECKSTR(host, "127.0.0.1");
	close(a);
	close(c);
	close(l);
	/* a port nobody listens on: refused, with a message */
	CHECK(dial("tcp!127.0.0.1!1", NULL, 2000) < 0);
	CHECK(strstr(lasterr(), "refused") != NULL);
}

TEST(proc_run)
{
	char *ok[] = { "true", NULL }, *bad[] = { "false", NULL };
	char *none[] = { "/nonexistent/program", NULL };
	char *echo[] = { "/bin/echo", "a b", ";", "$(x)", NULL };
	int p[2];
	char buf[64];
	ssize_t n;

	CHECK(proc_wait(proc_start(ok, -1, -1)) == 0);
	CHECK(proc_wait(proc_start(bad, -1, -1)) == 1);
	CHECK(proc_wait(proc_start(none, -1, -1)) == EX_UNAVAILABLE);
	CHECK(pipe(p) == 0);
	CHECK(proc_wait(proc_start(echo, -1, p[1])) == 0);
	close(p[1]);
	n = read(p[0], buf, sizeof buf - 1);
	close(p[0]);
	CHECK(n == 11);
	buf[n > 0 ? n : 0] = 0;
	CHECKSTR(buf, "a b ; $(x)\n");
}

TEST(priv_ids)
{
	char dir[256];
	uid_t u;
	gid_t g;

	CHECK(priv_lookup("123", &u, &g) == 0 && u == 123 && g == 123);
	CHECK(priv_lookup("7:8", &u, &g) == 0 && u == 7 && g == 8);
	CHECK(priv_lookup("root", &u, &g) == 0 && u == 0);
	setenv("UPASROOT", unit_tmpdir(), 1);
	snprintf(dir, sizeof dir, "%s/box", unit_tmpdir());
	mkdir(dir, 0755);
	snprintf(dir, sizeof dir, "%s/box/nopasswduser", unit_tmpdir());
	mkdir(dir, 0700);
	if (geteuid() == 0) {
		/* a box owned by root gives no one root */
		CHECK(priv_box("nopasswduser", &u, &g) < 0);
		CHECK(strstr(lasterr(), "owned by root") != NULL);
		CHECK(chown(dir, 4242, 4343) == 0);
		CHECK(priv_lookup("nopasswduser", &u, &g) == 0 && u == 4242 && g == 4343);
	}
	CHECK(priv_box("nopasswduser", &u, &g) == 0 && u != 0);
	CHECK(priv_lookup("no-such-user-anywhere", &u, &g) < 0);
	CHECK(priv_lookup("../etc", &u, &g) < 0);
	snprintf(dir, sizeof dir, "%s/box/link", unit_tmpdir());
	CHECK(symlink("/etc", dir) == 0);
	CHECK(priv_owner(dir, &u, &g) < 0);
	CHECK(priv_box("link", &u, &g) < 0);
	CHECK(priv_box("..", &u, &g) < 0);
	unsetenv("UPASROOT");
}

/* logmsg keeps the log open, follows a rotation, and never writes to a descriptor that is no longer the log. */
TEST(logmsg_kept)
{
	char dir[LIM_PATHNAME / 2], path[LIM_PATHNAME], old[LIM_PATHNAME + 8], *t;
	int sv[2], fd, i;
	size_t n;
	char buf[64];

	snprintf(dir, sizeof dir, "%s/logroot", unit_tmpdir());
	snprintf(path, sizeof path, "%s/log", dir);
	CHECK(mkdir(dir, 0755) == 0 && mkdir(path, 0755) == 0);
	setenv("UPASROOT", dir, 1);
	snprintf(path, sizeof path, "%s/log/kept", dir);
	logmsg("kept", "one");
	snprintf(old, sizeof old, "%s.0", path);
	CHECK(rename(path, old) == 0);
	logmsg("kept", "two");
	t = readfile(path, 4096, &n);
	CHECK(t && strstr(t, "two") && !strstr(t, "one"));
	free(t);
	/* whatever descriptor holds the log now, close it and put a socket in its place */
	for (fd = 3; fd < 64; fd++) {
		char lp[64], target[LIM_PATHNAME];
		ssize_t k;

		snprintf(lp, sizeof lp, "/proc/self/fd/%d", fd);
		if ((k = readlink(lp, target, sizeof target - 1)) > 0 && (target[k] = 0, strcmp(target, path) == 0))
			break;
	}
	CHECK(fd < 64);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
	close(fd);
	CHECK(dup2(sv[0], fd) == fd);
	logmsg("kept", "three");
	CHECK(read(sv[1], buf, sizeof buf) < 0);	/* nothing went to the socket */
	t = readfile(path, 4096, &n);
	CHECK(t && strstr(t, "three"));
	free(t);
	for (i = 0; i < 2; i++)
		close(sv[i]);
	close(fd);
	unsetenv("UPASROOT");
}

TEST(core_str_scan)
{
	uint64_t a, b, c;
	int64_t d;
	char m[4] = { 0 };
	const char *e;

	e = str_scan("upas-idx 1 12  34 -5 rest", "upas-idx 1 %u %x %d", &a, &b, &d);
	CHECK(e != NULL && a == 12 && b == 0x34 && d == -5 && strcmp(e, " rest") == 0);
	e = str_scan(" 2-Jan-2023 10:09:08 +0130", "%2u-%3c-%4u %2u:%2u:%2u %c%4u", &a, m, &b, &c, &c, &c, m + 3, &c);
	CHECK(e != NULL && *e == 0 && a == 2 && memcmp(m, "Jan+", 4) == 0 && b == 2023 && c == 130);
	CHECK(str_scan("end ", "end %x", &a) == NULL);				/* no digits */
	CHECK(str_scan("n 99999999999999999999", "n %u", &a) == NULL);		/* too big */
	CHECK(str_scan("n 1", "m %u", &a) == NULL);				/* not the literal */
	CHECK(str_scan("x", "x%c", m) == NULL);					/* no character */
}
