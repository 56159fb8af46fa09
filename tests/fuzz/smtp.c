/*
 * libFuzzer: what an SMTP server answers, through the smtp applet's own
 * session (applets/smtp.c is included here, so its static functions are
 * reached and the binary stays as it is): getreply's multiline replies and
 * codes, ehlo's extension lines, STARTTLS (as far as its 220: TLS wants a
 * socket), AUTH (a key for "fuzz" in box/fuzz/keys), the transaction with
 * and without PIPELINING. The dial is replaced by a Conn reading the input
 * from memory in chunks its first octet chooses; the first octet of the
 * input sets options (-A, -p, -a, -o, one to four recipients, an 8-bit
 * message, the message from the input up to its first NUL).
 *
 * What the client wrote is read back as commands and paired in order with
 * the replies it read (the greeting first), grouped here as RFC 5321 says:
 * commands are lines without CR, LF or NUL; MAIL follows a 2xx to EHLO or
 * HELO; DATA only after a 2xx to MAIL and to a RCPT and no 4xx to any RCPT;
 * the text goes only after 354, once, whole, ended by CRLF.CRLF and never
 * before (no line "." in it, every line ends in CRLF); a message over the
 * server's SIZE is not offered; the outcome is Ok only when every
 * recipient and the text were taken, and never Temp once the text was
 * taken (a retry would deliver twice); the refused recipients are those
 * answered 5xx; what is kept of replies for the queue holds no control
 * characters.
 * FUZZ_SHOW=1 build/fuzz/fuzz-smtp FILE prints what the client wrote.
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
#include "addr.h"
#include "digest.h"
#include "dns.h"
#include "keys.h"
#include "mimeenc.h"
#include "msg.h"
#include "queue.h"
#include "rewrite.h"
#include "tls.h"

#include "memconn.h"
#include "stand.h"

enum { Maxin = 4100 };

static const char plain[] =
	"From: Sender <sender@upas.example>\n"
	"Subject: test\n"
	"\n"
	".a line with a dot\n"
	".\n"
	"body\r\n";
static const char eight[] =
	"Subject: =?utf-8?q?caf=C3=A9?=\n"
	"MIME-Version: 1.0\n"
	"Content-Type: multipart/mixed; boundary=b\n"
	"\n"
	"--b\n"
	"Content-Type: text/plain; charset=utf-8\n"
	"\n"
	"caf\xc3\xa9\n"
	".\n"
	"--b--\n";

static const unsigned char *fzd;
static size_t fzn;
static struct {
	ssize_t n;
	char *s;
} fzin[Maxin];		/* the lines it read */
static int fznin;

static void
fzclose(Conn *c)
{
	(void)c;
}

static void
fzconninit(Conn *c, int rfd, int wfd)
{
	(void)rfd, (void)wfd;
	memconn(c, fzd, fzn);
	c->write = fzwrite;
	c->close = fzclose;
}

static int fznull = -1;	/* what the dial returns: the Conn never uses it */

static int
fzdial(const char *s, const char *svc, int ms)
{
	(void)s, (void)svc, (void)ms;
	return fznull;
}

/* TLS needs a socket: STARTTLS's 220 is as far as the fuzzer goes */
static int
fzstarttls(Bio *b, const char *host, const Tlstrust *t)
{
	(void)b, (void)host, (void)t;
	seterr("no TLS in the fuzzer");
	return -1;
}

/* getreply's reading, recorded */
static ssize_t
fzbioline(Bio *b, char *buf, size_t max)
{
	ssize_t n = bio_line(b, buf, max);

	if (fznin == Maxin)
		abort();	/* more lines than an input of -max_len 4096 holds */
	fzin[fznin].n = n;
	fzin[fznin].s = NULL;
	if (n > 0) {
		fzin[fznin].s = xmalloc(n + 1);
		memcpy(fzin[fznin].s, buf, n + 1);
	}
	fznin++;
	return n;
}

#define logmsg fzlogmsg
#define conn_init fzconninit
#define dial fzdial
#define bio_line fzbioline
#define tls_starttls_client fzstarttls
#define smtp_main fuzz_smtp_main
#include "../../applets/smtp.c"
#undef logmsg
#undef conn_init
#undef dial
#undef bio_line
#undef tls_starttls_client

/* The replies as RFC 5321 groups them: each one's code, -1 for the end of input, -2 if malformed. */
static int
fzreplies(int *code, int max)
{
	int k = 0, i, c = -1, n;
	char *s;

	for (i = 0; i < fznin && k < max; i++) {
		if (fzin[i].n == BIO_EOF || fzin[i].n == BIO_ERR) {
			code[k++] = -1;
			break;
		}
		if (fzin[i].n == BIO_LONG) {
			code[k++] = -2;
			c = -1;
			continue;
		}
		s = fzin[i].s;
		for (n = fzin[i].n; n > 0 && (s[n - 1] == '\r' || s[n - 1] == '\n'); n--)
			;
		if (n < 3 || s[0] < '2' || s[0] > '5' || s[1] < '0' || s[1] > '9' || s[2] < '0' || s[2] > '9' ||
		    (n > 3 && s[3] != ' ' && s[3] != '-') || (c >= 0 && atoi(s) != c)) {
			code[k++] = -2;
			c = -1;
			continue;
		}
		c = atoi(s);
		if (n == 3 || s[3] == ' ') {
			code[k++] = c;
			c = -1;
		}
	}
	return k;
}

static void
fzcheck(int r, Str *m)
{
	int code[Maxin + 1], nr, i, k = 0, mail = -1, data = 0, sent = 0, datareply = 0, rcpt = 0, temp = 0, ok = 0, hello = 0;
	int lost = 0, mailed = 0;
	const char *p = fzwire.p ? fzwire.p : "", *e = p + fzwire.n, *nl, *q;
	size_t n;

	if (r != Ok && r != Next && r != Temp && r != Perm)
		__builtin_trap();
	/* the wire form: CRLF lines, no "." line, nothing else */
	for (q = m->p, n = 0; q < m->p + m->n; q = nl + 1, n++) {
		if ((nl = memchr(q, '\n', m->p + m->n - q)) == NULL || nl == q || nl[-1] != '\r' ||
		    memchr(q, '\r', nl - 1 - q) != NULL || (nl - q == 2 && q[0] == '.') || (q[0] == '.' && q[1] != '.'))
			__builtin_trap();
	}
	nr = fzreplies(code, nelem(code) - 1);
	for (i = nr; i < (int)nelem(code); i++)
		code[i] = -1;	/* never read */
	if (code[0] / 100 != 2 && fzwire.n > 0 && !S.autistic)
		__builtin_trap();	/* spoke after a bad greeting */
	for (; p < e; p = nl + 1, k++) {
		if ((nl = memchr(p, '\n', e - p)) == NULL || nl == p || nl[-1] != '\r' ||
		    memchr(p, '\r', nl - 1 - p) != NULL || memchr(p, 0, nl - p) != NULL)
			__builtin_trap();
		if (k + 1 >= (int)nelem(code))
			__builtin_trap();
		if (strncmp(p, "EHLO ", 5) == 0 || strncmp(p, "HELO ", 5) == 0)
			hello = code[k + 1] / 100 == 2;
		else if (strncmp(p, "STARTTLS\r", 9) == 0 && code[k + 1] == 220)
			return;	/* TLS from here */
		else if (strncmp(p, "MAIL FROM:<", 11) == 0) {
			if (!hello || mailed++)
				__builtin_trap();
			mail = code[k + 1];
			lost = mail / 100 != 2;	/* the pipelined RCPTs' replies are not read */
			if (S.ext.size > 0 && (long long)m->n > S.ext.size)
				__builtin_trap();
		} else if (strncmp(p, "RCPT TO:<", 9) == 0) {
			if (!mailed || rcpt >= S.nrcpt)
				__builtin_trap();
			if (lost) {
				if (S.refused[rcpt++])
					__builtin_trap();
				continue;
			}
			i = code[k + 1];
			lost = i < 0;
			ok += i / 100 == 2;
			temp |= i / 100 != 2 && i < 500;
			if (S.refused[rcpt] != (i >= 500))
				__builtin_trap();
			rcpt++;
		} else if (strncmp(p, "DATA\r", 5) == 0) {
			if (mail / 100 != 2 || ok == 0 || temp || lost || S.ping || data)
				__builtin_trap();
			data = 1;
			if (code[k + 1] == 354) {	/* the text, whole, then its reply */
				if ((size_t)(e - nl - 1) < m->n + 3 || memcmp(nl + 1, m->p, m->n) != 0 ||
				    memcmp(nl + 1 + m->n, ".\r\n", 3) != 0)
					__builtin_trap();
				nl += m->n + 3;
				k++;
				sent = 1;
				datareply = code[k + 1];
			}
		}
	}
	if (r == Ok && (ok != S.nrcpt || (S.ping ? data : !sent || datareply / 100 != 2)))
		__builtin_trap();
	if (sent && datareply / 100 == 2 && r != Ok && r != Perm)
		__builtin_trap();
	for (q = S.reply; q < S.reply + sizeof S.reply && *q; q++)
		if ((unsigned char)*q < ' ')
			__builtin_trap();
	if (q == S.reply + sizeof S.reply)
		__builtin_trap();
	for (q = S.why.p; q != NULL && q < S.why.p + S.why.n; q++)
		if ((unsigned char)*q < ' ' && *q != '\n' && *q != '\t')
			__builtin_trap();
}

static void
fzsetup(void)
{
	static int done;
	static const char key[] = "key proto=pass service=smtp server=mx.remote.example user=fuzz !password=secret\n";
	char dir[64], p[128];
	int fd;

	if (done++)
		return;
	if ((fznull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
		abort();
	snprintf(dir, sizeof dir, "/tmp/fuzz-smtp.XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	setenv("UPASROOT", dir, 1);
	snprintf(p, sizeof p, "%s/box", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/box/fuzz", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/box/fuzz/keys", dir);
	if ((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0 || write(fd, key, sizeof key - 1) != sizeof key - 1)
		abort();
	close(fd);
}

int
LLVMFuzzerTestOneInput(const unsigned char *d, size_t n)
{
	static const char *rcpts[] = { "a@remote.example", "b@remote.example", "later@remote.example", "d" };
	Host h = { "mx.remote.example", "192.0.2.25" };
	const unsigned char *z;
	const char *msg;
	size_t mn;
	int o, i, r;

	fzsetup();
	if (n < 2)
		return 0;
	o = d[0];
	d++, n--;
	msg = o & 0x80 ? eight : plain;
	mn = o & 0x80 ? sizeof eight - 1 : sizeof plain - 1;
	if (o & 0x10) {	/* the message from the input */
		if ((z = memchr(d, 0, n)) == NULL || (size_t)(z - d) + 2 > n)
			return 0;
		msg = (const char *)d;
		mn = z - d;
		n -= z + 1 - d;
		d = z + 1;
	}
	S.autistic = o & 1;
	S.ping = (o & 2) != 0;
	if (o & 4) {
		S.auth = S.plainok = 1;
		S.user = "fuzz";
	}
	S.opportunistic = (o & 8) != 0;
	S.helo = "client.upas.example";
	S.sender = "sender@upas.example";
	S.dest = "mx.remote.example";
	snprintf(S.port, sizeof S.port, "25");
	S.from = wireaddr(S.sender, S.helo);
	S.nrcpt = 1 + (o >> 5 & 3);
	S.rcpt = (char **)rcpts;
	S.to = arena_alloc(&S.ar, S.nrcpt * sizeof *S.to);
	S.refused = arena_alloc(&S.ar, S.nrcpt * sizeof *S.refused);
	for (i = 0; i < S.nrcpt; i++) {
		S.refused[i] = 0;
		if ((S.to[i] = wireaddr(rcpts[i], "remote.example")) == NULL)
			abort();
	}
	prepare(msg, mn);
	if (S.eightbit && toqp() < 0)
		str_free(&S.qp);
	fzd = d;
	fzn = n;
	str_reset(&fzwire);
	fznin = 0;
	r = session(&h);
	if (getenv("FUZZ_SHOW"))
		fprintf(stderr, "%.*s-> %d, refused %d\n%s", (int)fzwire.n, fzwire.p, r, S.refused[0], S.why.p ? S.why.p : "");
	fzcheck(r, S.eightbit && !S.ext.eightbitmime && S.qp.n ? &S.qp : &S.msg);
	for (i = 0; i < fznin; i++)
		free(fzin[i].s);
	str_free(&S.text);
	str_free(&S.msg);
	str_free(&S.qp);
	str_free(&S.why);
	arena_free(&S.ar);
	memset(&S, 0, sizeof S);
	return 0;
}
