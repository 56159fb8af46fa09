/*
 * libFuzzer: what an SMTP client sends, through smtpd's own code
 * (applets/smtpd.c is included here, so its static functions are reached
 * and the binary stays as it is). The top bit of the first octet chooses:
 *
 * session: smtpd_main as a peer runs it, with options from the other bits
 * (trusted loopback peer or stranger, -B, -S, -a, -p, -z 4096, -E); the rest
 * is the client's stream, read from memory in chunks its first octet
 * chooses: verbs, HELO names, MAIL FROM/RCPT TO with ESMTP parameters,
 * AUTH (core/sasl.c against a lib/secrets holding "fuzz secret"), DATA and
 * BDAT. The mailer never runs: its argv and the spool it would read are
 * checked where it would start. Every reply is one line "ddd text" or
 * "ddd-text" of at most 512 octets with CRLF; each command line read gets
 * exactly one final reply (plus the 354 and 334 that ask for more, and a
 * 421 that ends the session); between commands the transaction's state is
 * whole (a sender from MAIL on, a recipient for each RCPT taken, at most
 * LIM_SMTPRCPT, a login only as lib/secrets has it); nothing that reaches
 * an argv or Received: starts with '-' or holds a control character, nor
 * the From line's sender a blank; a spool handed on starts with the From
 * line and Received:, and has no CR, no NUL and no line over 998 octets.
 * FUZZ_SHOW=1 build/fuzz/fuzz-smtpd FILE prints the session's replies.
 *
 * text: the rest is one message's text fed to the byte reader (putbyte) as
 * DATA (dot-stuffed, ended by CRLF.CRLF) or as one BDAT LAST chunk, with
 * -B and a size limit from the first octet. A line-by-line reading here
 * says where the text ends and what is wrong with it (bare CR or LF, NUL,
 * long line, size, Received: count): the reader must agree, and when
 * nothing is wrong the spool must be the envelope then exactly those
 * lines, unstuffed, with LF ends.
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/stat.h>
#include <fcntl.h>
#include "core.h"
#include "applet.h"
#include "addr.h"
#include "bounce.h"
#include "dns.h"
#include "mimeenc.h"
#include "policy.h"
#include "rewrite.h"
#include "sasl.h"
#include "secrets.h"
#include "tls.h"

#include "memconn.h"
#include "stand.h"

static const unsigned char *fzd;
static size_t fzn;
static Str fzspool;
static void *fzbody;	/* the one Body alive, for after a longjmp */
static int fzcmds, fzstatus, fzdelivered, fzcheck;

static void fzinvariants(void);
static pid_t fzprocstart(char **argv, int in, int out);

static void *
fzxmalloc(size_t n)
{
	return fzbody = xmalloc(n);
}

static void
fzfree(void *p)
{
	if (p == fzbody)
		fzbody = NULL;
	free(p);
}

static void
fzconninit(Conn *c, int rfd, int wfd)
{
	(void)rfd, (void)wfd;
	memconn(c, fzd, fzn);
	c->write = fzwrite;
}

/* Between commands (the session's only bio_line): the state is whole. */
static ssize_t
fzbioline(Bio *b, char *buf, size_t max)
{
	ssize_t n;

	fzinvariants();
	n = bio_line(b, buf, max);
	if (n != BIO_EOF && n != BIO_ERR)
		fzcmds++;
	return n;
}

/* An argument that becomes an argv element, a From line's sender or Received: text. */
static void
fzword(const char *s, int blank)
{
	if (s == NULL || *s == 0 || *s == '-')
		__builtin_trap();
	for (; *s; s++)
		if ((unsigned char)*s < ' ' || *s == 0x7f || (!blank && *s == ' '))
			__builtin_trap();
}

/* What the mailer answers for dest: its name says. */
static int
fzverdict(const char *dest, int expand)
{
	if (strstr(dest, expand ? "unknown" : "bad") != NULL)
		return expand ? EX_NOUSER : EX_UNAVAILABLE;
	if (strstr(dest, "later") != NULL)
		return EX_TEMPFAIL;
	return 0;
}

static void
fzreadspool(int fd)
{
	char buf[4096];
	off_t off = 0;
	ssize_t r;

	str_reset(&fzspool);
	while ((r = pread(fd, buf, sizeof buf, off)) > 0) {
		str_addn(&fzspool, buf, r);
		off += r;
	}
}

static int
fzprocwait(pid_t pid)
{
	(void)pid;
	return fzstatus;
}

static int
fzbouncesend(const char *sender, const char *reason, const char *orig, size_t n)
{
	(void)reason, (void)orig, (void)n;
	fzword(sender, 1);
	return 0;
}

#define exit(n) fzexit(n)
#define sleep(n) fzsleep(n)
#define logmsg fzlogmsg
#define xmalloc fzxmalloc
#define free fzfree
#define conn_init fzconninit
#define bio_line fzbioline
#define proc_start fzprocstart
#define proc_wait fzprocwait
#define bounce_send fzbouncesend
#define smtpd_main fuzz_smtpd_main
#include "../../applets/smtpd.c"
#undef exit
#undef sleep
#undef logmsg
#undef xmalloc
#undef free
#undef conn_init
#undef bio_line
#undef proc_start
#undef proc_wait
#undef bounce_send

/* send -x DEST (validate) or send -r DEST < spool (deliver). */
static pid_t
fzprocstart(char **argv, int in, int out)
{
	const char *p, *e, *nl;
	char from[LIM_PATH + 16];
	int i;

	(void)out;
	if (strcmp(argv[0], "send") != 0 || argv[2] == NULL || argv[3] != NULL)
		__builtin_trap();
	fzword(argv[2], 1);
	if (strcmp(argv[1], "-x") == 0) {
		fzstatus = fzverdict(argv[2], 1);
		return 100;
	}
	if (strcmp(argv[1], "-r") != 0 || S.state != Srcpt || S.nrcpt < 1 || S.from == NULL)
		__builtin_trap();
	for (i = 0; i < S.nrcpt && strcmp(S.rcpt[i], argv[2]) != 0; i++)
		;
	if (i == S.nrcpt)
		__builtin_trap();
	fzreadspool(in);
	p = fzspool.p ? fzspool.p : "";
	e = p + fzspool.n;
	snprintf(from, sizeof from, "From %s ", S.from);
	if (fzspool.n < strlen(from) || memcmp(p, from, strlen(from)) != 0)
		__builtin_trap();
	if ((nl = memchr(p, '\n', e - p)) == NULL || e - nl < 11 || memcmp(nl + 1, "Received: ", 10) != 0)
		__builtin_trap();
	if (memchr(p, '\r', e - p) != NULL || memchr(p, 0, e - p) != NULL || e[-1] != '\n')
		__builtin_trap();
	for (; p < e; p = nl + 1) {
		nl = memchr(p, '\n', e - p);
		if (nl - p > LIM_TEXTLINE - 2)
			__builtin_trap();
	}
	fzdelivered++;
	fzstatus = fzverdict(argv[2], 0);
	return 101;
}

static void
fzinvariants(void)
{
	int i;

	if (!fzcheck)
		return;
	if (S.state < Sinit || S.state > Srcpt || S.nrcpt < 0 || S.nrcpt > LIM_SMTPRCPT ||
	    (S.state >= Smail) != (S.from != NULL) || (S.state == Srcpt) != (S.nrcpt > 0) ||
	    (S.authuser[0] != 0 && strcmp(S.authuser, "fuzz") != 0) ||
	    (S.helo[0] != 0 && !heloname(S.helo)) || (S.state > Sinit && S.helo[0] == 0))
		__builtin_trap();
	if (S.from != NULL)
		fzword(S.from, 0);
	for (i = 0; i < S.nrcpt; i++) {
		fzword(S.rcpt[i], 1);
		fzword(S.rcpttext[i], 1);
	}
}

static void
fzsetup(void)
{
	static int done;
	char dir[64], p[128];
	int fd;

	if (done++)
		return;
	snprintf(dir, sizeof dir, "/tmp/fuzz-smtpd.XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	setenv("UPASROOT", dir, 1);
	snprintf(p, sizeof p, "%s/lib", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/tmp", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/box", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/box/fuzz", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/lib/secrets", dir);
	if ((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0 || write(fd, "fuzz secret\n", 12) != 12)
		abort();
	close(fd);
	snprintf(p, sizeof p, "%s/lib/names.blocked", dir);
	if ((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0 || write(fd, "blocked\n", 8) != 8)
		abort();
	close(fd);
}

static void
fzclean(void)
{
	if (fzbody != NULL)
		body_free(fzbody);
	arena_free(&S.ar);
	if (S.spool >= 0)
		close(S.spool);
	if (S.errfd >= 0)
		close(S.errfd);
	memset(&S, 0, sizeof S);
}

/* The reply lines: well formed, one final reply a command. */
static void
fzreplies(void)
{
	const char *p = fzwire.p, *e = fzwire.p + fzwire.n, *nl, *last = NULL;
	int finals = 0, more = 0;

	for (; p < e; p = nl + 1) {
		if ((nl = memchr(p, '\n', e - p)) == NULL || nl - p < 5 || nl[-1] != '\r' || nl - p + 1 > 512 ||
		    memchr(p, '\r', nl - 1 - p) != NULL || memchr(p, 0, nl - p) != NULL ||
		    p[0] < '2' || p[0] > '5' || p[1] < '0' || p[1] > '9' || p[2] < '0' || p[2] > '9' ||
		    (p[3] != ' ' && p[3] != '-'))
			__builtin_trap();
		if (p[3] == ' ') {
			finals++;
			last = p;
			more += strncmp(p, "354 ", 4) == 0 || strncmp(p, "334 ", 4) == 0;
		}
	}
	if (finals != 1 + fzcmds + more && !(finals == 2 + fzcmds + more && strncmp(last, "421 ", 4) == 0))
		__builtin_trap();
}

static int
session(const unsigned char *d, size_t n)
{
	char *argv[24];
	int argc = 0, o = d[0];

	argv[argc++] = "smtpd";
	argv[argc++] = "-d";
	argv[argc++] = "-h";
	argv[argc++] = "upas.example";
	argv[argc++] = "-n";
	if (o & 1) {
		argv[argc++] = "127.0.0.1";
		argv[argc++] = "-t";
	} else
		argv[argc++] = "192.0.2.1";
	if (o & 2)
		argv[argc++] = "-B";
	if (o & 4)
		argv[argc++] = "-S";
	if (o & 8)
		argv[argc++] = "-a";
	if (o & 16)
		argv[argc++] = "-p";
	if (o & 32) {
		argv[argc++] = "-z";
		argv[argc++] = "4096";
	}
	if (o & 64)
		argv[argc++] = "-E";
	argv[argc] = NULL;
	fzd = d + 1;
	fzn = n - 1;
	fzcmds = 0;
	str_reset(&fzwire);
	optind = 0;
	fzcheck = 1;
	if (setjmp(fzout) == 0)
		fuzz_smtpd_main(argc, argv);
	fzcheck = 0;
	if (S.b.wlen > 0)
		str_addn(&fzwire, S.b.wbuf, S.b.wlen);
	if (getenv("FUZZ_SHOW"))
		fprintf(stderr, "%.*s", (int)fzwire.n, fzwire.p);
	fzreplies();
	fzclean();
	return 0;
}

/*
 * Text t[0..n) read line by line as the byte reader should: whether DATA
 * ends in it, the octets taken (up to and with the ending ".\r\n"), the
 * complaints, the size, and the lines as they are spooled.
 */
static size_t
reference(const unsigned char *t, size_t n, int dot, int barelf, long long max, int *ended, int *flags,
    long long *size, Str *out)
{
	size_t end = n, i, j, len, k, kept, hdr = 0;
	const unsigned char *l, *nl, *p;
	int crlf, inhdr = 1, received = 0, f;

	*ended = *flags = 0;
	*size = 0;
	if (dot)
		for (i = 0; i + 3 <= n; i++)
			if ((i == 0 || (i >= 2 && t[i - 2] == '\r' && t[i - 1] == '\n')) && memcmp(t + i, ".\r\n", 3) == 0) {
				end = i;
				*ended = 1;
				break;
			}
	for (l = t; l < t + end; l = nl + 1) {
		if ((nl = memchr(l, '\n', t + end - l)) == NULL) {
			if (dot)
				break;	/* DATA: a line not yet ended */
			nl = t + end;	/* BDAT LAST: a last line without CRLF has one */
		}
		len = nl - l;
		crlf = nl == t + end || (len > 0 && l[len - 1] == '\r');
		if (len > 0 && l[len - 1] == '\r')
			len--;
		f = !crlf && !barelf ? Dbare : 0;
		for (j = k = 0; j < len; j++) {
			if (l[j] == '\r')
				f |= Dbare;
			else
				k++;
			if (l[j] == 0)
				f |= Dnul;
		}
		if (k > LIM_TEXTLINE - 2)
			f |= Dlong;
		kept = len < LIM_TEXTLINE ? len : LIM_TEXTLINE;
		p = l;
		if (dot && kept > 0 && p[0] == '.')
			p++, kept--;
		*flags |= f;
		*size += kept + 2;
		if (*size > max)
			*flags |= Dbig;
		str_addn(out, (const char *)p, kept);
		str_addc(out, '\n');
		if (*flags || !inhdr)
			continue;
		if (kept == 0)
			inhdr = 0;
		else if (kept >= 9 && strncasecmp((const char *)p, "Received:", 9) == 0 && ++received > LIM_RECEIVED)
			*flags |= Dloop;
		else if ((hdr += kept + 1) > LIM_MSGHDRSIZE)
			inhdr = 0;
	}
	return *ended ? end + 3 : n;
}

static int
text(const unsigned char *d, size_t n)
{
	static const long long sizes[] = { 64, 200, 1000, 4000, LIM_SMTPSIZE };
	int o = d[0], dot = o & 1, ended, flags, r = 0;
	long long size;
	size_t taken, i;
	Body *b;
	Str want = { 0 };

	d++, n--;
	fzd = (const unsigned char *)"\1";
	fzn = 1;
	fzconninit(&S.c, 0, 1);
	bio_init(&S.b, &S.c);
	S.spool = S.errfd = -1;
	S.host = "upas.example";
	S.mailer = "send";
	snprintf(S.peer, sizeof S.peer, "192.0.2.1");
	snprintf(S.helo, sizeof S.helo, "client.example.net");
	S.barelf = (o & 2) != 0;
	S.maxsize = sizes[(o >> 2) % nelem(sizes)];
	S.from = "example.net!sender";
	S.rcpt[0] = S.rcpttext[0] = "fuzz";
	S.nrcpt = 1;
	S.state = Srcpt;
	taken = reference(d, n, dot, S.barelf, S.maxsize, &ended, &flags, &size, &want);
	b = body_new(dot);
	if (b->flags & Dio)
		abort();
	for (i = 0; i < n && r == 0; i++)
		r = putbyte(b, d[i]);
	/* DATA ends where the reading says, and only there */
	if (dot && (r != ended || i != taken))
		__builtin_trap();
	if (dot && !ended) {	/* a session would wait for more */
		body_free(b);
		goto out;
	}
	if (!dot && (b->n > 0 || b->cr)) {	/* as cmd_bdat ends a LAST chunk */
		b->cr = 1;
		endline(b);
	}
	if (b->flags != flags || b->size != size)
		__builtin_trap();
	fzdelivered = 0;
	finish(b);
	if (fzdelivered != (flags == 0) ||
	    (flags == 0 && want.n > 0 && (fzspool.n < want.n || memcmp(fzspool.p + fzspool.n - want.n, want.p, want.n) != 0)))
		__builtin_trap();
out:
	str_free(&want);
	str_reset(&fzwire);
	fzclean();
	return 0;
}

int
LLVMFuzzerTestOneInput(const unsigned char *d, size_t n)
{
	fzsetup();
	if (n < 2)
		return 0;
	return d[0] & 0x80 ? text(d, n) : session(d, n);
}
