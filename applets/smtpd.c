/*
 * smtpd: the SMTP server on fds 0 and 1, as inetd or listen runs it.
 * One command table drives the protocol; a message goes to send -r, once per
 * accepted recipient, and the 250 after DATA means every copy is on disk.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "applet.h"
#include "addr.h"
#include "digest.h"
#include "mimeenc.h"
#include "rewrite.h"
#include "secrets.h"
#include "tls.h"

enum { Sinit, Shelo, Smail, Srcpt };	/* before HELO, idle, after MAIL, after a RCPT */

/* What went wrong inside DATA; the reply waits for the end of the text. */
enum {
	Dbare = 1 << 0,	/* a CR or LF not in a CRLF pair */
	Dnul = 1 << 1,
	Dlong = 1 << 2,
	Dbig = 1 << 3,
	Dio = 1 << 4,
};

typedef struct Cmd {
	const char *verb;
	int need;	/* the least state it runs in */
	void (*fn)(char *arg);
} Cmd;

static struct {
	Conn c;
	Bio b;
	Tlscert *cert;
	const char *host;
	const char *doms[LIM_SMTPDOMS];
	int ndoms;
	int trustlo, vrfy;
	long long maxsize;
	char peer[64];
	int trusted;
	int local;	/* -L: a local program on a pipe (sendmail -bs) */
	int plainok;	/* -p: PLAIN and LOGIN without TLS */
	int auth;	/* lib/secrets is usable */
	char authuser[LIM_AUTHUSER + 1];	/* who authenticated, "" if nobody */
	int authfails;
	int state;
	int esmtp;
	int errors;
	char helo[LIM_DOMAIN + 1];
	Arena ar;	/* the transaction's addresses */
	char *from;	/* bang form, "" for <> */
	int utf8;
	char *rcpt[LIM_SMTPRCPT];	/* send's argument for each recipient */
	char *rcpttext[LIM_SMTPRCPT];	/* as the client wrote it, for Received: */
	int nrcpt;
} S;

static void
reply(const char *fmt, ...) PRINTF(1, 2);

static void
reply(const char *fmt, ...)
{
	char buf[LIM_CMDLINE];
	va_list ap;

	va_start(ap, fmt);
	fmtv(buf, sizeof buf, fmt, ap);
	va_end(ap);
	bio_puts(&S.b, buf);
	bio_puts(&S.b, "\r\n");
	if (buf[0] == '4' || buf[0] == '5')
		S.errors++;
}

/* Replies wait while pipelined commands do; anything else flushes them. */
static void
flush(void)
{
	if (bio_flush(&S.b) < 0)
		exit(0);
}

static void
hangup(const char *code, const char *why)
{
	reply("421 %s %s %s, closing connection", code, S.host, why);
	bio_flush(&S.b);
	exit(0);
}

static void
reset(void)
{
	arena_free(&S.ar);
	S.from = NULL;
	S.utf8 = 0;
	S.nrcpt = 0;
	if (S.state > Shelo)
		S.state = Shelo;
}

static int
ourdomain(const char *d)
{
	int i;

	if (strcasecmp(d, "localhost") == 0 || strcasecmp(d, S.host) == 0)
		return 1;
	for (i = 0; i < S.ndoms; i++)
		if (strcasecmp(d, S.doms[i]) == 0)
			return 1;
	return 0;
}

/* A HELO name is kept for Received: only; it must not inject anything there. */
static int
heloname(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > LIM_DOMAIN)
		return 0;
	for (; *s; s++)
		if (*s <= ' ' || *s > '~' || *s == '(' || *s == ')' || *s == ';')
			return 0;
	return 1;
}

/* HELO and EHLO alike: check the name and start a fresh session; 0 if refused. */
static int
hello(char *arg, int esmtp)
{
	if (!heloname(arg)) {
		reply("501 5.5.4 %s needs a domain", esmtp ? "EHLO" : "HELO");
		return 0;
	}
	reset();
	snprintf(S.helo, sizeof S.helo, "%s", arg);
	S.esmtp = esmtp;
	S.state = Shelo;
	return 1;
}

static void
cmd_helo(char *arg)
{
	if (hello(arg, 0))
		reply("250 %s you are %s", S.host, S.peer);
}

static int
plainok(void)
{
	return S.plainok || S.local || tls_active(&S.c);
}

static void
cmd_ehlo(char *arg)
{
	if (!hello(arg, 1))
		return;
	reply("250-%s you are %s", S.host, S.peer);
	reply("250-PIPELINING");
	reply("250-SIZE %lld", S.maxsize);
	reply("250-8BITMIME");
	reply("250-ENHANCEDSTATUSCODES");
	if (S.cert != NULL && !tls_active(&S.c))
		reply("250-STARTTLS");
	if (S.auth)
		reply("250-AUTH CRAM-MD5%s", plainok() ? " PLAIN LOGIN" : "");
	reply("250 SMTPUTF8");
}

/* The path after "FROM:" or "TO:"; *rest is what follows it. */
static int
path(char *arg, const char *prefix, Addr *a, char **rest)
{
	size_t n = strlen(prefix), used;

	if (strncasecmp(arg, prefix, n) != 0) {
		reply("501 5.5.4 syntax: %s<address>", prefix);
		return -1;
	}
	arg += n;
	if (addr_path(&S.ar, arg, strlen(arg), a, &used) < 0) {
		reply("553 5.1.3 bad address: %s", lasterr());
		return -1;
	}
	*rest = arg + used;
	return 0;
}

/* ESMTP parameters of MAIL FROM; 0 when all are known and acceptable. */
static int
mailparams(char *p)
{
	char *w, *v, *e;
	long long size;

	while ((w = strsep(&p, " ")) != NULL) {
		if (*w == 0)
			continue;
		if (!S.esmtp) {
			reply("555 5.5.4 parameters need EHLO");
			return -1;
		}
		if ((v = strchr(w, '=')) != NULL)
			*v++ = 0;
		if (strcasecmp(w, "SIZE") == 0 && v != NULL) {
			errno = 0;
			size = strtoll(v, &e, 10);
			if (*v < '0' || *v > '9' || *e != 0 || errno != 0) {
				reply("501 5.5.4 bad SIZE");
				return -1;
			}
			if (size > S.maxsize) {
				reply("552 5.3.4 message too big: limit %lld", S.maxsize);
				return -1;
			}
		} else if (strcasecmp(w, "BODY") == 0 && v != NULL &&
		    (strcasecmp(v, "7BIT") == 0 || strcasecmp(v, "8BITMIME") == 0))
			;
		else if (strcasecmp(w, "SMTPUTF8") == 0 && v == NULL)
			S.utf8 = 1;
		else {
			reply("555 5.5.4 unsupported parameter %.64s", w);
			return -1;
		}
	}
	return 0;
}

static void
cmd_mail(char *arg)
{
	Addr a;
	char *rest;

	if (S.state != Shelo) {
		reply("503 5.5.1 nested MAIL command");
		return;
	}
	if (path(arg, "FROM:", &a, &rest) < 0)
		return;
	if (a.local != NULL && a.domain == NULL) {
		reply("553 5.1.7 sender needs a domain");
		arena_free(&S.ar);
		return;
	}
	S.utf8 = 0;
	if (mailparams(rest) < 0) {
		arena_free(&S.ar);
		return;
	}
	if (addr_utf8(&a) && !S.utf8) {
		reply("553 5.6.7 non-ASCII sender needs SMTPUTF8");
		arena_free(&S.ar);
		return;
	}
	S.from = a.local == NULL ? "/dev/null" : addr_bang(&S.ar, &a);
	if (S.from == NULL) {
		reply("553 5.1.7 bad sender: %s", lasterr());
		arena_free(&S.ar);
		return;
	}
	S.state = Smail;
	reply("250 2.1.0 sender ok");
}

/*
 * Relay control. A recipient in one of our domains goes to send by its local
 * part alone, and only if that local part cannot route on (%, !, @ hide a
 * next hop from us but not from rewrite rules); anything else is relaying,
 * for trusted peers only.
 */
static void
cmd_rcpt(char *arg)
{
	Addr a, l;
	char *rest, *dest;

	if (S.nrcpt >= LIM_SMTPRCPT) {
		reply("452 4.5.3 too many recipients");
		return;
	}
	if (path(arg, "TO:", &a, &rest) < 0)
		return;
	if (*rest != 0) {
		reply("555 5.5.4 RCPT TO takes no parameters");
		return;
	}
	if (a.local == NULL) {
		reply("553 5.1.3 the null path is no recipient");
		return;
	}
	if (addr_utf8(&a) && !S.utf8) {
		reply("553 5.6.7 non-ASCII recipient needs SMTPUTF8");
		return;
	}
	if (a.domain == NULL || (a.route == NULL && ourdomain(a.domain) &&
	    strpbrk(a.local, "%!@") == NULL)) {
		l = a;
		l.domain = l.route = NULL;
		dest = addr_bang(&S.ar, &l);
	} else if (S.trusted || S.authuser[0] != 0)
		dest = addr_bang(&S.ar, &a);
	else {
		reply("550 5.7.1 relaying denied");
		return;
	}
	if (dest == NULL) {
		reply("553 5.1.3 bad recipient: %s", lasterr());
		return;
	}
	S.rcpt[S.nrcpt] = dest;
	S.rcpttext[S.nrcpt] = addr_text(&S.ar, &a);
	S.nrcpt++;
	S.state = Srcpt;
	reply("250 2.1.5 recipient ok");
}

/*
 * One line of DATA text, CRLF ended, into buf without its ending; a longer
 * line is cut and marked. Returns the length kept, or -1 at EOF or timeout.
 * *crlf tells whether it ended with CRLF (anything else is a bare LF).
 */
static ssize_t
dataline(char *buf, size_t max, int *flags, int *crlf)
{
	size_t n = 0, len = 0;
	int c, cr = 0;

	for (;;) {
		if ((c = bio_getc(&S.b)) < 0)
			return -1;
		if (c == '\n') {
			*crlf = cr;
			if (!cr)
				*flags |= Dbare;
			if (len > LIM_TEXTLINE - 2)
				*flags |= Dlong;
			return n;
		}
		if (cr) {
			*flags |= Dbare;
			if (n < max)
				buf[n++] = '\r';
		}
		cr = c == '\r';
		if (cr)
			continue;
		if (c == 0)
			*flags |= Dnul;
		len++;
		if (n < max)
			buf[n++] = c;
	}
}

static int
tmpfile_(void)
{
	char path[LIM_PATHNAME];
	int fd;

	if (upas_path(path, sizeof path, "tmp", "smtpd.XXXXXX", NULL) < 0)
		return -1;
	if ((fd = mkstemp(path)) < 0) {
		seterr("%s:", path);
		return -1;
	}
	unlink(path);
	return fd;
}

/* The From line and Received: header that open the message. */
static void
envelope(Str *h)
{
	char date[64], cdate[32];
	time_t t = time(NULL);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S %z", &tm);
	strftime(cdate, sizeof cdate, "%a %b %e %H:%M:%S %Y", &tm);
	str_fmt(h, "From %s %s\n", S.from, cdate);
	str_fmt(h, "Received: from %s ([%s])\n\tby %s with %s%s%s",
	    S.helo, S.peer, S.host, S.utf8 ? "UTF8SMTP" : "ESMTP", tls_active(&S.c) ? "S" : "",
	    S.authuser[0] != 0 ? "A" : "");
	if (S.nrcpt == 1 && S.rcpttext[0] != NULL)
		str_fmt(h, "\n\tfor <%s>", S.rcpttext[0]);
	str_fmt(h, "; %s\n", date);
}

/* Run send -r for each recipient; 0 all delivered, else 4 or 5 and why in err. */
static int
deliver(int fd, char *err, size_t nerr)
{
	char *argv[4], buf[LIM_SMTPSENDERR], *p;
	int i, st, efd, save, worst = 0;
	pid_t pid;
	ssize_t n;

	err[0] = 0;
	for (i = 0; i < S.nrcpt; i++) {
		if ((efd = tmpfile_()) < 0 || lseek(fd, 0, SEEK_SET) < 0) {
			snprintf(err, nerr, "%s", lasterr());
			return 4;
		}
		argv[0] = "send";
		argv[1] = "-r";
		argv[2] = S.rcpt[i];
		argv[3] = NULL;
		fflush(stderr);
		save = dup(2);
		dup2(efd, 2);
		pid = proc_start(argv, fd, efd);
		if (save >= 0) {
			dup2(save, 2);
			close(save);
		}
		st = pid < 0 ? EX_TEMPFAIL : proc_wait(pid);
		if (st != 0) {
			n = pread(efd, buf, sizeof buf - 1, 0);
			buf[n > 0 ? n : 0] = 0;
			for (p = buf; *p; p++)
				if (*p == '\r' || *p == '\n' || (unsigned char)*p < ' ')
					*p = ' ';
			p = strstr(buf, "mail refused: ");
			if (worst != 5)
				snprintf(err, nerr, "%s", p ? p + 14 : buf[0] ? buf : "delivery failed");
			if (st == EX_TEMPFAIL || st >= 128 || st < 0) {
				if (worst == 0)
					worst = 4;
			} else
				worst = 5;
			logmsg("smtpd", "%s %s From %s: status %d: %s", S.peer, S.rcpt[i], S.from, st, buf);
		} else
			logmsg("smtpd", "%s delivered %s From %s", S.peer, S.rcpt[i], S.from);
		close(efd);
	}
	return worst;
}

/*
 * The text ends at CRLF.CRLF and nowhere else. Whatever is wrong with it is
 * only answered after that end, so the client and we agree where the next
 * command starts; nothing is delivered from a message with a bare CR or LF,
 * which is how SMTP smuggling hides a second message inside the first.
 */
static void
cmd_data(char *arg)
{
	char line[LIM_TEXTLINE + 2], err[LIM_SMTPSENDERR];
	int fd, flags = 0, crlf, prevcrlf = 1, r;
	long long size = 0;
	ssize_t n;
	Str h = {0};
	char *p;

	if (*arg != 0) {
		reply("501 5.5.4 DATA takes no arguments");
		return;
	}
	if ((fd = tmpfile_()) < 0) {
		logmsg("smtpd", "%s: %s", S.peer, lasterr());
		reply("451 4.3.0 cannot store the message");
		return;
	}
	envelope(&h);
	if (fd_writeall(fd, h.p, h.n) < 0)
		flags |= Dio;
	str_free(&h);
	reply("354 go ahead, end with <CRLF>.<CRLF>");
	flush();
	S.c.timeout = LIM_SMTPDATA * 1000;
	for (;;) {
		if ((n = dataline(line, sizeof line - 1, &flags, &crlf)) < 0) {
			close(fd);
			hangup("4.4.2", "timeout or end of input in DATA");
		}
		if (n == 1 && line[0] == '.' && crlf && prevcrlf)
			break;
		prevcrlf = crlf;
		p = line;
		if (n > 0 && line[0] == '.')
			p++, n--;
		size += n + 2;
		if (size > S.maxsize)
			flags |= Dbig;
		if (flags & (Dbare | Dnul | Dlong | Dbig | Dio))
			continue;
		p[n] = '\n';
		if (fd_writeall(fd, p, n + 1) < 0)
			flags |= Dio;
	}
	S.c.timeout = LIM_SMTPIDLE * 1000;
	if (flags & Dbare)
		reply("550 5.6.11 bare CR or LF in the message text");
	else if (flags & Dnul)
		reply("550 5.6.0 NUL in the message text");
	else if (flags & Dbig)
		reply("552 5.3.4 message too big: limit %lld", S.maxsize);
	else if (flags & Dlong)
		reply("500 5.5.6 text line longer than %d octets", LIM_TEXTLINE);
	else if (flags & Dio)
		reply("451 4.3.0 cannot store the message");
	else if ((r = deliver(fd, err, sizeof err)) == 0)
		reply("250 2.0.0 delivered");
	else if (r == 4)
		reply("451 4.3.0 temporary failure, try again: %.200s", err);
	else
		reply("554 5.0.0 mail refused: %.200s", err);
	close(fd);
	reset();
}

static void
cmd_rset(char *arg)
{
	reset();
	reply("250 2.0.0 reset");
}

static void
cmd_noop(char *arg)
{
	reply("250 2.0.0 ok");
}

static void
cmd_quit(char *arg)
{
	reply("221 2.0.0 %s closing connection", S.host);
	bio_flush(&S.b);
	exit(0);
}

static void
cmd_help(char *arg)
{
	reply("214 2.0.0 commands: HELO EHLO AUTH MAIL RCPT DATA RSET NOOP QUIT HELP VRFY STARTTLS");
}

static void
cmd_vrfy(char *arg)
{
	if (S.vrfy)
		reply("252 2.1.5 cannot verify, but will try to deliver");
	else
		reply("502 5.5.1 VRFY disabled");
}

/* Plaintext the client sent after STARTTLS is thrown away (tls_starttls_server). */
static void
cmd_starttls(char *arg)
{
	if (S.cert == NULL) {
		reply("502 5.5.1 STARTTLS not offered");
		return;
	}
	if (tls_active(&S.c)) {
		reply("503 5.5.1 TLS already active");
		return;
	}
	if (*arg != 0) {
		reply("501 5.5.4 STARTTLS takes no arguments");
		return;
	}
	reply("220 2.0.0 ready to start TLS");
	if (tls_starttls_server(&S.b, S.cert) < 0) {
		logmsg("smtpd", "%s starttls: %s", S.peer, lasterr());
		exit(0);
	}
	reset();
	S.state = Sinit;
	S.helo[0] = 0;
	S.esmtp = 0;
}

/* Strict RFC 4648 base64 into out; its length, or -1 if malformed or longer than max. */
static ssize_t
b64dec(const char *s, unsigned char *out, size_t max)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(s), i, o = 0;
	unsigned v = 0;
	const char *p;
	int pad = 0, k;

	if (n % 4 != 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] == '=' && i >= n - 2 && (i == n - 1 || s[n - 1] == '=')) {
			pad++;
			k = 0;
		} else if (pad || s[i] == 0 || (p = strchr(al, s[i])) == NULL)
			return -1;
		else
			k = p - al;
		v = v << 6 | k;
		if (i % 4 == 3) {
			if (o + 3 - pad > max)
				return -1;
			out[o++] = v >> 16;
			if (pad < 2)
				out[o++] = v >> 8;
			if (pad < 1)
				out[o++] = v;
			v = 0;
		}
	}
	return o;
}

/* A 334 continuation carrying n bytes at p, base64 encoded. */
static void
challenge(const void *p, size_t n)
{
	Str s = {0};

	mime_base64(&s, p, n, 0);
	if (s.n > 0 && s.p[s.n - 1] == '\n')
		s.p[--s.n] = 0;
	reply("334 %s", s.n > 0 ? s.p : "");
	str_free(&s);
}

/*
 * The client's answer to a 334, or an initial response: decoded into out
 * and NUL terminated; -1 after replying when it cancels or is malformed.
 */
static ssize_t
response(const char *given, unsigned char *out, size_t max)
{
	char line[LIM_SMTPCMDBUF];
	ssize_t n;

	if (given == NULL) {
		flush();
		n = bio_line(&S.b, line, sizeof line);
		if (n == BIO_EOF)
			exit(0);
		if (n == BIO_ERR)
			hangup("4.4.2", "timeout");
		if (n == BIO_LONG) {
			reply("500 5.5.2 line too long");
			return -1;
		}
		if (n >= 2 && line[n - 2] == '\r')
			line[n -= 2] = 0;
		else if (n >= 1 && line[n - 1] == '\n')
			line[--n] = 0;
		given = line;
	}
	if (strcmp(given, "*") == 0) {
		reply("501 5.0.0 authentication cancelled");
		return -1;
	}
	if (strcmp(given, "=") == 0)
		n = 0;
	else if ((n = b64dec(given, out, max - 1)) < 0) {
		reply("501 5.5.2 bad base64 in the response");
		return -1;
	}
	out[n] = 0;
	return n;
}

/* An identity we look up: printable, no blanks, bounded. */
static int
authname(const char *u, size_t n)
{
	size_t i;

	if (n == 0 || n > LIM_AUTHUSER || strlen(u) != n)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)u[i] <= ' ' || u[i] == 0x7f)
			return 0;
	return 1;
}

/* The verdict: a failure waits 1, 2, 4... seconds, and too many end the session. */
static void
verdict(const char *mech, const char *user, int r)
{
	char u[LIM_AUTHUSER + 1];

	snprintf(u, sizeof u, "%s", user != NULL && authname(user, strlen(user)) ? user : "?");
	if (r == 1) {
		snprintf(S.authuser, sizeof S.authuser, "%s", u);
		logmsg("smtpd", "%s auth %s %s ok", S.peer, mech, u);
		reply("235 2.7.0 authentication succeeded");
		return;
	}
	if (r < 0) {
		logmsg("smtpd", "%s auth %s %s: %s", S.peer, mech, u, lasterr());
		reply("454 4.7.0 temporary authentication failure");
		return;
	}
	S.authfails++;
	logmsg("smtpd", "%s auth %s %s failed (%d)", S.peer, mech, u, S.authfails);
	flush();
	sleep(S.authfails > 3 ? LIM_AUTHDELAY : 1u << (S.authfails - 1));
	reply("535 5.7.8 authentication credentials invalid");
	if (S.authfails >= LIM_AUTHFAILS)
		hangup("4.7.0", "too many authentication failures");
}

/* RFC 4616: authzid NUL authcid NUL passwd; an authzid must name the authcid. */
static void
auth_plain(char *ir)
{
	unsigned char buf[LIM_AUTHDEC + 1];
	char *z, *u, *pw;
	ssize_t n;
	size_t zn, un;

	if (ir == NULL)
		reply("334 ");
	if ((n = response(ir, buf, sizeof buf)) < 0)
		return;
	z = (char *)buf;
	zn = strlen(z);
	if ((size_t)n <= zn + 1 || (un = strlen(u = z + zn + 1), zn + 1 + un + 1 > (size_t)n)) {
		reply("501 5.5.2 malformed PLAIN response");
		return;
	}
	pw = u + un + 1;
	if (strlen(pw) != (size_t)n - (zn + un + 2) || !authname(u, un) || (zn > 0 && strcmp(z, u) != 0)) {
		explicit_bzero(buf, sizeof buf);
		verdict("PLAIN", u, 0);
		return;
	}
	verdict("PLAIN", u, secrets_verify(u, pw));
	explicit_bzero(buf, sizeof buf);
}

static void
auth_login(char *ir)
{
	unsigned char u[LIM_AUTHDEC + 1], pw[LIM_AUTHDEC + 1];
	ssize_t un, n;

	if (ir == NULL)
		reply("334 VXNlcm5hbWU6");
	if ((un = response(ir, u, sizeof u)) < 0)
		return;
	reply("334 UGFzc3dvcmQ6");
	if ((n = response(NULL, pw, sizeof pw)) < 0)
		return;
	if (!authname((char *)u, un) || strlen((char *)pw) != (size_t)n)
		verdict("LOGIN", (char *)u, 0);
	else
		verdict("LOGIN", (char *)u, secrets_verify((char *)u, (char *)pw));
	explicit_bzero(pw, sizeof pw);
}

/* RFC 2195: the client proves it knows the secret by keying HMAC-MD5 of our challenge with it. */
static void
auth_cram(char *ir)
{
	char chal[LIM_DOMAIN + 64], secret[LIM_SECRET + 1], hex[33], *sp;
	unsigned char buf[LIM_AUTHDEC + 1], mac[16];
	unsigned rnd;
	ssize_t n;
	int i, r;

	if (ir != NULL) {
		reply("501 5.5.2 CRAM-MD5 takes no initial response");
		return;
	}
	mime_random(&rnd, sizeof rnd);
	snprintf(chal, sizeof chal, "<%u.%lld@%s>", rnd, (long long)time(NULL), S.host);
	challenge(chal, strlen(chal));
	if ((n = response(NULL, buf, sizeof buf)) < 0)
		return;
	sp = strrchr((char *)buf, ' ');
	if (sp == NULL || strlen((char *)buf) != (size_t)n || strlen(sp + 1) != 32) {
		verdict("CRAM-MD5", NULL, 0);
		return;
	}
	*sp++ = 0;
	if (!authname((char *)buf, sp - 1 - (char *)buf)) {
		verdict("CRAM-MD5", NULL, 0);
		return;
	}
	r = secrets_get((char *)buf, secret, sizeof secret);
	if (r == SEC_PLAIN) {
		hmac_md5(secret, strlen(secret), chal, strlen(chal), mac);
		for (i = 0; i < 16; i++)
			snprintf(hex + 2 * i, 3, "%02x", mac[i]);
		for (i = 0; i < 32; i++)
			if (sp[i] >= 'A' && sp[i] <= 'F')
				sp[i] += 'a' - 'A';
		r = secrets_equal(sp, hex);
	} else if (r >= 0)
		r = 0;	/* unknown, or only a hash: CRAM-MD5 needs the secret itself */
	explicit_bzero(secret, sizeof secret);
	verdict("CRAM-MD5", (char *)buf, r);
}

static void
cmd_auth(char *arg)
{
	char *mech, *ir;

	if (!S.auth || !S.esmtp) {
		reply("502 5.5.1 AUTH not offered");
		return;
	}
	if (S.authuser[0] != 0) {
		reply("503 5.5.1 already authenticated");
		return;
	}
	if (S.state != Shelo) {
		reply("503 5.5.1 AUTH not inside a mail transaction");
		return;
	}
	mech = strsep(&arg, " ");
	ir = arg;
	if (ir != NULL && (strchr(ir, ' ') != NULL || *ir == 0)) {
		reply("501 5.5.4 syntax: AUTH mechanism [initial-response]");
		return;
	}
	if (strcasecmp(mech, "CRAM-MD5") == 0)
		auth_cram(ir);
	else if (strcasecmp(mech, "PLAIN") != 0 && strcasecmp(mech, "LOGIN") != 0)
		reply("504 5.5.4 unknown authentication mechanism");
	else if (!plainok())
		reply("538 5.7.11 encryption required for requested authentication mechanism");
	else if (strcasecmp(mech, "PLAIN") == 0)
		auth_plain(ir);
	else
		auth_login(ir);
}

static const Cmd cmds[] = {
	{"AUTH", Shelo, cmd_auth},
	{"DATA", Srcpt, cmd_data},
	{"EHLO", Sinit, cmd_ehlo},
	{"HELO", Sinit, cmd_helo},
	{"HELP", Sinit, cmd_help},
	{"MAIL", Shelo, cmd_mail},
	{"NOOP", Sinit, cmd_noop},
	{"QUIT", Sinit, cmd_quit},
	{"RCPT", Smail, cmd_rcpt},
	{"RSET", Sinit, cmd_rset},
	{"STARTTLS", Shelo, cmd_starttls},
	{"VRFY", Sinit, cmd_vrfy},
};

static void
command(char *line)
{
	const Cmd *c;
	char *arg;
	size_t n;

	arg = line + strcspn(line, " ");
	n = arg - line;
	while (*arg == ' ')
		arg++;
	for (c = cmds; c < cmds + nelem(cmds); c++)
		if (strlen(c->verb) == n && strncasecmp(c->verb, line, n) == 0)
			break;
	if (c == cmds + nelem(cmds)) {
		reply("500 5.5.1 unknown command");
		return;
	}
	if (S.state < c->need) {
		if (S.state == Sinit)
			reply("503 5.5.1 say HELO or EHLO first");
		else if (c->need == Smail)
			reply("503 5.5.1 MAIL first");
		else
			reply("503 5.5.1 RCPT first");
		return;
	}
	c->fn(arg);
}

static void
peer(void)
{
	char port[16];
	const char *e;

	if (sock_name(0, 1, S.peer, sizeof S.peer, port, sizeof port) == 0)
		return;
	e = getenv("TCPREMOTEIP");
	snprintf(S.peer, sizeof S.peer, "%s", e != NULL && heloname(e) ? e : "unknown");
}

static int
loopback(const char *a)
{
	return strncmp(a, "127.", 4) == 0 || strcmp(a, "::1") == 0;
}

int
smtpd_main(int argc, char **argv)
{
	char line[LIM_SMTPCMDBUF];
	const char *certfile = NULL, *keyfile = NULL;
	char *e;
	ssize_t n;
	int o;

	S.maxsize = LIM_SMTPSIZE;
	while ((o = getopt(argc, argv, "c:k:h:Lptvz:")) != -1) {
		switch (o) {
		case 'c': certfile = optarg; break;
		case 'k': keyfile = optarg; break;
		case 'h':
			if (S.ndoms == LIM_SMTPDOMS || !addr_domainok(optarg))
				usage();
			S.doms[S.ndoms++] = optarg;
			break;
		case 'L': S.local = 1; break;
		case 'p': S.plainok = 1; break;
		case 't': S.trustlo = 1; break;
		case 'v': S.vrfy = 1; break;
		case 'z':
			errno = 0;
			S.maxsize = strtoll(optarg, &e, 10);
			if (*optarg < '0' || *optarg > '9' || *e != 0 || errno != 0 || S.maxsize <= 0 || S.maxsize > LIM_MSG)
				usage();
			break;
		default: usage();
		}
	}
	if (optind != argc || (keyfile != NULL && certfile == NULL))
		usage();
	if (certfile != NULL && (S.cert = tls_loadcert(certfile, keyfile)) == NULL)
		die(EX_CONFIG, "%s: %s", certfile, lasterr());
	S.host = S.ndoms > 0 ? S.doms[0] : rw_sysname();
	if (S.local) {
		snprintf(S.peer, sizeof S.peer, "localhost");
		S.trusted = 1;
	} else {
		peer();
		S.trusted = S.trustlo && loopback(S.peer);
	}
	if (secrets_usable() == 0)
		S.auth = 1;
	else if (errno != ENOENT)
		logmsg("smtpd", "AUTH off: %s", lasterr());
	conn_init(&S.c, 0, 1);
	S.c.timeout = LIM_SMTPIDLE * 1000;
	bio_init(&S.b, &S.c);
	reply("220 %s ESMTP upas", S.host);
	for (;;) {
		if (S.errors >= LIM_SMTPERRS)
			hangup("4.7.0", "too many errors");
		if (bio_buffered(&S.b) == 0 && !tls_pending(&S.c))
			flush();
		n = bio_line(&S.b, line, sizeof line);
		if (n == BIO_EOF)
			exit(0);
		if (n == BIO_ERR)
			hangup("4.4.2", "timeout");
		if (n == BIO_LONG) {
			reply("500 5.5.2 line too long");
			continue;
		}
		if (n >= 2 && line[n - 2] == '\r')
			line[n -= 2] = 0;
		else if (n >= 1 && line[n - 1] == '\n')
			line[--n] = 0;
		if (strlen(line) != (size_t)n || strchr(line, '\r') != NULL) {
			reply("500 5.5.2 NUL or CR in command");
			continue;
		}
		command(line);
	}
}
