/*
 * smtp: deliver one message to one destination by SMTP (RFC 5321), as
 * runq runs it for the queue (through remotemail) or as a user runs it.
 * The destination's MX hosts are tried in order of preference; the exit
 * status tells the queue what to do: 0 sent, 75 try again later ("Retry"
 * in the output, as upas's runq looks for), 69 failed for good.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
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

enum { Ok, Next, Temp, Perm };	/* a session's outcome; Next: try the next host */

typedef struct Host {
	char name[LIM_DOMAIN + 1];	/* for TLS and keys; the address itself when none */
	char addr[INET6_ADDRSTRLEN];
} Host;

static struct {
	int auth, autistic, debug, filter, plainok, ping, starttls, opportunistic, implicit, loopok;
	const char *bust[LIM_SMTPBUST];
	int nbust;
	const char *gateway, *helo, *user, *domain;
	const char *dest, *sender;
	char **rcpt;
	int nrcpt;
	char port[32];
	Arena ar;
	char *from;	/* MAIL FROM's address, "" for <> */
	char **to;	/* RCPT TO's addresses */
	int *refused;	/* per recipient: its 5xx reply went to why */
	int utf8;	/* an address needs SMTPUTF8 */
	Str text;	/* the message with the fields we add, LF line ends */
	Str msg;	/* the message as it goes on the wire: CRLF, dot-stuffed, no final dot */
	Str qp;	/* the same with every 8-bit part made quoted-printable, made when needed */
	int eightbit;
	Str why;	/* the replies that decided, for the caller */
	/* the session */
	Conn c;
	Bio b;
	Host *h;
	int tls;
	int lastperm;	/* the last host refused with a 5xx before any transaction */
	int secret;	/* AUTH is running: -d shows no command */
	struct {
		int esmtp, pipelining, eightbitmime, smtputf8, starttls;
		long long size;
		char auth[128];
	} ext;
	char reply[LIM_SMTPREPLY];	/* the last reply, lines joined by blanks */
	char lines[LIM_SMTPREPLY];	/* the same, each line's text after the code ending in a newline */
} S;

static void
dprint(const char *fmt, ...) PRINTF(1, 2);

static void
dprint(const char *fmt, ...)
{
	va_list ap;

	if (!S.debug)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

/* Remember why, in the words the queue and the bounce will show. */
static void
because(const char *fmt, ...) PRINTF(1, 2);

static void
because(const char *fmt, ...)
{
	char buf[LIM_SMTPREPLY + LIM_DOMAIN + 64];
	va_list ap;

	va_start(ap, fmt);
	fmtv(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (S.why.n < LIM_QERRTAIL)
		str_fmt(&S.why, "%s\n", buf);
}

/* ---- the message */

/* Does the header (up to the blank line) have this field? */
static int
hasfield(const char *h, size_t n, const char *name)
{
	size_t k = strlen(name);
	const char *p = h, *e = h + n;

	while (p < e) {
		if ((size_t)(e - p) > k && strncasecmp(p, name, k) == 0 && p[k] == ':')
			return 1;
		if ((p = memchr(p, '\n', e - p)) == NULL)
			break;
		p++;
	}
	return 0;
}

/* One line onto the wire: a leading dot doubled, a CR that ends nothing made a blank. */
static void
wireline(Str *out, const char *p, size_t n)
{
	size_t i;

	if (n > 0 && p[n - 1] == '\r')
		n--;
	if (n > 0 && p[0] == '.')
		str_addc(out, '.');
	for (i = 0; i < n; i++)
		str_addc(out, p[i] == '\r' ? ' ' : p[i]);
	str_addn(out, "\r\n", 2);
}

static void
wiretext(Str *out, const char *p, size_t n)
{
	const char *e = p + n, *nl;

	while (p < e) {
		nl = memchr(p, '\n', e - p);
		wireline(out, p, (nl ? nl : e) - p);
		p = nl ? nl + 1 : e;
	}
}

/*
 * The header fields upas adds when a message lacks them, then the message,
 * each line ended in CRLF with leading dots doubled: what DATA sends.
 */
static void
prepare(const char *m, size_t n)
{
	const char *body, *p;
	char date[64];
	size_t hn;
	Str h = {0};
	int i;

	if (n >= 5 && strncmp(m, "From ", 5) == 0) {	/* the mbox envelope line */
		p = memchr(m, '\n', n);
		n -= p ? (size_t)(p + 1 - m) : n;
		m = p ? p + 1 : m + n;
	}
	body = n > 0 && m[0] == '\n' ? m : NULL;
	for (p = m; body == NULL && (p = memchr(p, '\n', m + n - p)) != NULL; p++)
		if (p + 1 < m + n && (p[1] == '\n' || (p[1] == '\r' && p + 2 < m + n && p[2] == '\n')))
			body = p + 1;
	hn = body ? (size_t)(body - m) : n;
	for (i = 0; i < (int)n; i++)
		if ((unsigned char)m[i] >= 0x80) {
			S.eightbit = 1;
			break;
		}
	if (!hasfield(m, hn, "Message-ID")) {
		str_adds(&h, "Message-ID: ");
		mime_msgid(&h, S.helo);
		str_adds(&h, "\n");
	}
	if (!hasfield(m, hn, "Date")) {
		mime_date(date, sizeof date, time(NULL));
		str_fmt(&h, "Date: %s\n", date);
	}
	if (!hasfield(m, hn, "From") && S.from[0] != 0)
		str_fmt(&h, "From: %s\n", S.from);
	if (!hasfield(m, hn, "To") && !hasfield(m, hn, "Cc") && !hasfield(m, hn, "Bcc")) {
		str_adds(&h, "To: ");
		for (i = 0; i < S.nrcpt; i++)
			str_fmt(&h, "%s%s", i ? ",\n\t" : "", S.to[i]);
		str_adds(&h, "\n");
	}
	str_addn(&S.text, h.p ? h.p : "", h.n);
	str_addn(&S.text, m, n);
	if (hn == n)
		str_addc(&S.text, '\n');
	wiretext(&S.msg, S.text.p, S.text.n);
	str_free(&h);
}

static int
has8bit(const char *p, size_t n)
{
	const char *e = p + n;

	for (; p < e; p++)
		if ((unsigned char)*p >= 0x80)
			return 1;
	return 0;
}

/* A header block without its Content-Transfer-Encoding field (and the field's folds). */
static void
hdrsans(Str *out, const char *h, size_t n)
{
	const char *e = h + n, *nl;
	int skip = 0;

	for (; h < e; h = nl) {
		nl = memchr(h, '\n', e - h);
		nl = nl ? nl + 1 : e;
		if (*h != ' ' && *h != '\t')
			skip = strncasecmp(h, "Content-Transfer-Encoding:", 26) == 0;
		if (!skip)
			str_addn(out, h, nl - h);
	}
}

/*
 * p into out with every 8-bit leaf made quoted-printable (RFC 6152 §3), for
 * a server without 8BITMIME: composite parts keep their structure, and the
 * bytes between parts (delimiters, preamble, epilogue) go as they are.
 */
static void
conv(Part *p, Str *out)
{
	const char *cur, *end, *blank;
	Part *c;

	if (p->child == NULL) {
		if (!has8bit(p->body, p->bodylen) || p->enc != ENC_NONE) {
			str_addn(out, p->raw, p->rawlen);
			return;
		}
		/* the header up to its blank line, our encoding, the blank line, the body */
		blank = p->hdrlen > 0 && p->hdr[p->hdrlen - 1] == '\n' ? p->hdr + p->hdrlen - 1 : p->hdr + p->hdrlen;
		if (blank > p->hdr && blank[-1] == '\r')
			blank--;
		hdrsans(out, p->hdr, blank - p->hdr);
		if (p->depth == 0 && msg_hdr(p, "MIME-Version") == NULL)
			str_adds(out, "MIME-Version: 1.0\n");
		str_adds(out, "Content-Transfer-Encoding: quoted-printable\n\n");
		mime_qp(out, p->body, p->bodylen);
		if (p->bodylen > 0 && p->body[p->bodylen - 1] == '\n' && (out->n == 0 || out->p[out->n - 1] != '\n'))
			str_addc(out, '\n');
		return;
	}
	hdrsans(out, p->hdr, p->hdrlen);	/* a composite part's encoding is 7bit once its parts are */
	cur = p->body;
	end = p->body + p->bodylen;
	for (c = p->child; c != NULL; c = c->next) {
		if (c->raw < cur || c->raw + c->rawlen > end)
			continue;
		str_addn(out, cur, c->raw - cur);
		conv(c, out);
		cur = c->raw + c->rawlen;
	}
	str_addn(out, cur, end - cur);
}

static int
toqp(void)
{
	Msg m;
	Str t = {0};

	if (msg_parse(&m, S.text.p, S.text.n) < 0)
		return -1;
	conv(m.root, &t);
	wiretext(&S.qp, t.p ? t.p : "", t.n);
	msg_free(&m);
	str_free(&t);
	return 0;
}

/* ---- addresses */

/* A bang or @ address as it goes in MAIL or RCPT; unqualified names get dom. */
static char *
wireaddr(const char *s, const char *dom)
{
	Addr a;
	char *t;

	if (strcmp(s, "/dev/null") == 0 || s[0] == 0)
		return "";
	if (addr_parse(&S.ar, s, &a) < 0)
		return NULL;
	if (a.domain == NULL) {
		a.domain = (char *)(S.domain ? S.domain : dom);
		if (a.domain == NULL || a.domain[0] == 0) {
			seterr("%s: no domain to qualify it with", s);
			return NULL;
		}
	}
	if (addr_utf8(&a))
		S.utf8 = 1;
	t = addr_text(&S.ar, &a);
	return t;
}

/* ---- the conversation */

/* A server's words go to the queue's and the bounce's: no control characters. */
static void
noctl(char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < ' ')
			s[i] = ' ';
}

/*
 * A reply: its code, the lines joined in S.reply. -1 when the server hung
 * up or went silent, -2 when the reply was malformed.
 */
static int
getreply(void)
{
	char line[LIM_SMTPREPLY];
	size_t used = 0;
	ssize_t n;
	int code = -1, k;

	size_t ln = 0;

	S.reply[0] = S.lines[0] = 0;
	for (;;) {
		n = bio_line(&S.b, line, sizeof line);
		if (n == BIO_EOF || n == BIO_ERR) {
			snprintf(S.reply, sizeof S.reply, "%s", n == BIO_EOF ? "connection closed" : "timeout");
			return -1;
		}
		if (n == BIO_LONG) {	/* its code unseen, where the reply ends is lost */
			snprintf(S.reply, sizeof S.reply, "malformed reply: a line over %d octets", LIM_SMTPREPLY - 1);
			return -2;
		}
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = 0;
		dprint("<- %s\n", line);
		if (n < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '9' ||
		    line[2] < '0' || line[2] > '9' || (n > 3 && line[3] != ' ' && line[3] != '-')) {
			snprintf(S.reply, sizeof S.reply, "malformed reply: %.100s", line);
			noctl(S.reply, strlen(S.reply));
			return -2;
		}
		k = atoi(line);
		if (code >= 0 && k != code) {
			snprintf(S.reply, sizeof S.reply, "reply codes differ within a reply");
			return -2;
		}
		code = k;
		if (n > 4 && ln + n - 4 + 2 < sizeof S.lines) {
			memcpy(S.lines + ln, line + 4, n - 4);
			noctl(S.lines + ln, n - 4);
			ln += n - 4;
			S.lines[ln++] = '\n';
			S.lines[ln] = 0;
		}
		for (k = 0; line[k] && used + 2 < sizeof S.reply; k++)
			S.reply[used++] = (unsigned char)line[k] < ' ' ? ' ' : line[k];
		if (n <= 3 || line[3] == ' ') {
			S.reply[used] = 0;
			return code;
		}
		if (used + 2 < sizeof S.reply)
			S.reply[used++] = ' ';
	}
}

static int
send_(const char *fmt, ...) PRINTF(1, 2);

static int
send_(const char *fmt, ...)
{
	char buf[LIM_SMTPCMDBUF];
	va_list ap;

	va_start(ap, fmt);
	fmtv(buf, sizeof buf, fmt, ap);
	va_end(ap);
	dprint("-> %s\n", S.secret ? "(credentials)" : buf);
	bio_puts(&S.b, buf);
	return bio_puts(&S.b, "\r\n");
}

/* Send, flush, read the reply. */
static int
cmd(const char *fmt, ...) PRINTF(1, 2);

static int
cmd(const char *fmt, ...)
{
	char buf[LIM_SMTPCMDBUF];
	va_list ap;

	va_start(ap, fmt);
	fmtv(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (send_("%s", buf) < 0 || bio_flush(&S.b) < 0) {
		snprintf(S.reply, sizeof S.reply, "connection lost");
		return -1;
	}
	return getreply();
}

/* What a failed reply means for this attempt: Next before a transaction, else Temp or Perm. */
static int
verdict(int code, const char *what, int intx)
{
	because("%s %s: %s", S.h->name, what, S.reply);
	S.lastperm = code >= 500;
	if (code >= 500)
		return intx ? Perm : Next;
	return intx ? Temp : Next;
}

/* The extensions an EHLO reply lists, one per line after the greeting line. */
static void
ehlo(void)
{
	char *w, *nl;
	uint64_t v;

	memset(&S.ext, 0, sizeof S.ext);
	S.ext.esmtp = 1;
	for (w = strchr(S.lines, '\n'); w != NULL && *++w; w = nl) {
		if ((nl = strchr(w, '\n')) != NULL)
			*nl = 0;
		if (strncasecmp(w, "PIPELINING", 10) == 0)
			S.ext.pipelining = 1;
		else if (strncasecmp(w, "8BITMIME", 8) == 0)
			S.ext.eightbitmime = 1;
		else if (strncasecmp(w, "SMTPUTF8", 8) == 0)
			S.ext.smtputf8 = 1;
		else if (strncasecmp(w, "STARTTLS", 8) == 0)
			S.ext.starttls = 1;
		else if (strncasecmp(w, "SIZE", 4) == 0) {
			/* what is no size (a sign, no digits, past 2^63) is no limit */
			if (w[4] != ' ' || str_scan(w + 5, "%u", &v) == NULL || v > INT64_MAX)
				v = 0;
			S.ext.size = (long long)v;
		}
		else if (strncasecmp(w, "AUTH", 4) == 0 && (w[4] == ' ' || w[4] == '='))
			snprintf(S.ext.auth, sizeof S.ext.auth, " %s ", w + 5);
		if (nl == NULL)
			break;
	}
}

static int
hello(void)
{
	int r;

	if ((r = cmd("EHLO %s", S.helo)) / 100 == 2) {
		ehlo();
		return 0;
	}
	if (r < 0)
		return verdict(r, "EHLO", 0);
	memset(&S.ext, 0, sizeof S.ext);
	if ((r = cmd("HELO %s", S.helo)) / 100 == 2)
		return 0;
	return verdict(r, "HELO", 0);
}

static void
trust(Tlstrust *t, char *pins, char *ca, size_t n)
{
	tls_trustfiles(t, "smtp", pins, ca, n);
	if (S.opportunistic && !S.starttls) {	/* RFC 7435: encryption without authentication */
		memset(t, 0, sizeof *t);
		t->insecure = 1;
	}
}

static int
has(const char *mech)
{
	char w[32];

	snprintf(w, sizeof w, " %s ", mech);
	return strcasestr(S.ext.auth, w) != NULL;
}

/* One base64 line for AUTH. */
static void
b64(Str *out, const void *p, size_t n)
{
	mime_base64(out, p, n, 0);
	if (out->n > 0 && out->p[out->n - 1] == '\n')
		out->p[--out->n] = 0;
}

/* RFC 4954 with the first mechanism we share: CRAM-MD5, LOGIN, PLAIN (upas's order). */
static int
authenticate(void)
{
	char owner[LIM_AUTHUSER + 1];
	Str s = {0}, t = {0};
	Key k;
	int r;

	snprintf(owner, sizeof owner, "%s", S.user ? S.user : geteuid() == 0 ? "root" : queue_user());
	r = keys_find(owner, "smtp", S.h->name, S.user, &k);
	if (r < 0) {
		because("%s: %s", S.h->name, lasterr());
		return Temp;
	}
	if (r == 0) {
		because("%s: %s", S.h->name, lasterr());
		return Perm;
	}
	S.secret = 1;
	if (has("CRAM-MD5")) {
		r = cmd("AUTH CRAM-MD5");
		if (r == 334) {
			cram_md5(&t, k.user, k.password, S.reply + 4);
			r = cmd("%s", t.p);
		}
	} else if (has("LOGIN")) {
		r = cmd("AUTH LOGIN");
		if (r == 334) {
			b64(&t, k.user, strlen(k.user));
			r = cmd("%s", t.p);
		}
		if (r == 334) {
			str_reset(&t);
			b64(&t, k.password, strlen(k.password));
			r = cmd("%s", t.p);
		}
	} else if (has("PLAIN")) {
		str_addc(&s, 0);
		str_adds(&s, k.user);
		str_addc(&s, 0);
		str_adds(&s, k.password);
		b64(&t, s.p, s.n);
		r = cmd("AUTH PLAIN %s", t.p);
	} else {
		because("%s offers no mechanism we know:%s", S.h->name, S.ext.auth);
		r = 0;
	}
	S.secret = 0;
	keys_wipe(&k);
	if (s.p)
		explicit_bzero(s.p, s.cap);
	if (t.p)
		explicit_bzero(t.p, t.cap);
	str_free(&s);
	str_free(&t);
	if (r == 0)
		return Perm;
	if (r == 235)
		return Ok;
	because("%s AUTH: %s", S.h->name, S.reply);
	return r >= 500 ? Perm : Temp;
}

/*
 * The transaction: MAIL, each RCPT (pipelined when offered), DATA. Ok when
 * every recipient has it; Temp when nothing was sent and a retry is due;
 * Perm when it is refused, or went to some recipients and not the others.
 */
static int
transaction(void)
{
	Str *m = S.eightbit && !S.ext.eightbitmime && S.qp.n ? &S.qp : &S.msg;
	char size[48] = "";
	int r, i, nok = 0, temp = 0;

	if (S.ext.size > 0 && (long long)m->n > S.ext.size) {
		because("%s: the message (%zu octets) is over the server's limit of %lld", S.h->name, m->n, S.ext.size);
		return Perm;
	}
	if (S.utf8 && !S.ext.smtputf8) {
		because("%s: the addresses need SMTPUTF8, which the server lacks", S.h->name);
		return Perm;
	}
	if (S.ext.size > 0)
		snprintf(size, sizeof size, " SIZE=%zu", m->n);
	send_("MAIL FROM:<%s>%s%s%s", S.from, size, S.eightbit && S.ext.eightbitmime ? " BODY=8BITMIME" : "",
	    S.utf8 ? " SMTPUTF8" : "");
	/* pipelined (RFC 2920), the RCPTs go with MAIL; the replies come in order */
	for (i = 0; S.ext.pipelining && i < S.nrcpt; i++)
		send_("RCPT TO:<%s>", S.to[i]);
	if (bio_flush(&S.b) < 0) {
		because("%s: connection lost", S.h->name);
		return Temp;
	}
	r = getreply();
	if (r / 100 != 2) {
		because("%s MAIL FROM:<%s>: %s", S.h->name, S.from, S.reply);
		return r >= 500 ? Perm : Temp;
	}
	for (i = 0; i < S.nrcpt; i++) {
		if (!S.ext.pipelining)
			r = cmd("RCPT TO:<%s>", S.to[i]);
		else
			r = getreply();
		if (r / 100 == 2) {
			nok++;
			continue;
		}
		because("%s RCPT TO:<%s>: %s", S.h->name, S.to[i], S.reply);
		if (r >= 500)
			S.refused[i] = 1;
		else
			temp = 1;
		if (r < 0)
			return Temp;
	}
	if (temp || nok == 0 || S.ping) {
		cmd("RSET");
		if (temp)
			return Temp;
		return nok == 0 ? Perm : nok == S.nrcpt ? Ok : Perm;
	}
	if ((r = cmd("DATA")) != 354) {
		because("%s DATA: %s", S.h->name, S.reply);
		return r >= 500 ? Perm : Temp;
	}
	S.c.timeout = LIM_SMTPDATA * 1000;
	if (bio_write(&S.b, m->p, m->n) < 0 || bio_puts(&S.b, ".\r\n") < 0 || bio_flush(&S.b) < 0) {
		because("%s: connection lost while sending the message", S.h->name);
		return Temp;
	}
	r = getreply();
	S.c.timeout = LIM_SMTPIDLE * 1000;
	if (r / 100 != 2) {
		because("%s end of DATA: %s", S.h->name, S.reply);
		return r >= 500 ? Perm : Temp;
	}
	logmsg("smtp", "%s sent %zu bytes to %d of %d recipients (%s %s): %s", S.from, m->n, nok,
	    S.nrcpt, S.h->name, S.h->addr, S.reply);
	return nok == S.nrcpt ? Ok : Perm;
}

/* One attempt at one host. */
static int
session(Host *h)
{
	char dialstr[LIM_DOMAIN + 64], pins[LIM_PATHNAME], ca[LIM_PATHNAME];
	Tlstrust t;
	int fd, r;

	S.h = h;
	snprintf(dialstr, sizeof dialstr, strchr(h->addr, ':') ? "tcp![%s]!%s" : "tcp!%s!%s", h->addr, S.port);
	dprint("dial %s (%s)\n", dialstr, h->name);
	if ((fd = dial(dialstr, "smtp", (S.ping ? 10 : LIM_DIAL) * 1000)) < 0) {
		because("%s (%s): %s", h->name, h->addr, lasterr());
		return Next;
	}
	/* the final ".\r\n" is a small write after a large one: Nagle would hold it for the ACK */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
	conn_init(&S.c, fd, fd);
	S.c.timeout = (S.ping ? 10 : LIM_SMTPIDLE) * 1000;
	bio_init(&S.b, &S.c);
	S.tls = 0;
	trust(&t, pins, ca, sizeof pins);
	if (S.implicit && tls_client(&S.c, h->name, &t) < 0) {
		because("%s: TLS: %s", h->name, lasterr());
		r = S.opportunistic ? Next : Perm;
		goto out;
	}
	S.tls = S.implicit;
	if (S.autistic) {	/* a server that speaks only when spoken to */
		send_("NOOP");
		bio_flush(&S.b);
	}
	if ((r = getreply()) / 100 != 2) {
		r = verdict(r, "greeting", 0);
		goto out;
	}
	if (S.autistic)
		getreply();
	if ((r = hello()) != 0)
		goto out;
	if ((S.starttls || S.opportunistic || S.auth) && !S.tls && S.ext.starttls) {
		if ((r = cmd("STARTTLS")) != 220) {
			r = verdict(r, "STARTTLS", 0);
			goto out;
		}
		if (tls_starttls_client(&S.b, h->name, &t) < 0) {
			because("%s: TLS: %s", h->name, lasterr());
			r = S.opportunistic && !S.starttls ? Next : Perm;
			goto out;
		}
		S.tls = 1;
		if ((r = hello()) != 0)
			goto out;
	}
	if (S.auth && S.ext.auth[0] && (S.tls || S.plainok) && (r = authenticate()) != Ok)
		goto out;
	r = transaction();
	if (r != Temp || S.b.err == 0)
		cmd("QUIT");
out:
	S.c.close(&S.c);
	return r;
}

/* The hosts of name, in the order to try them; the count, or DNS_TEMP / DNS_NONE. */
static int
addhosts(Host *h, int n, int max, const char *name, int mx)
{
	char addrs[LIM_SMTPADDRS][INET6_ADDRSTRLEN];
	int k, i;

	if ((k = dns_addrs(name, addrs, nelem(addrs))) < 0)
		return k;
	for (i = 0; i < k && n < max; i++) {
		if (mx && addr_loopback(addrs[i]) && !S.loopok) {
			because("%s: MX host %s is a loopback address (%s): a mail loop", S.dest, name, addrs[i]);
			continue;
		}
		snprintf(h[n].name, sizeof h[n].name, "%s", name);
		snprintf(h[n].addr, sizeof h[n].addr, "%s", addrs[i]);
		n++;
	}
	return n;
}

/*
 * Where the destination's mail goes: for net!dom (or a bare dom) its MX
 * hosts by preference, else its own addresses (RFC 5321 §5.1), else -g's
 * gateway; for tcp!host the host itself.
 */
static int
route(Host *h, int max, int *temp)
{
	Dial d;
	Mx mx[LIM_SMTPMX];
	unsigned char a6[16];
	int n = 0, k = 0, i, j, usemx;

	*temp = 0;
	if (dial_parse(S.dest, "smtp", &d) < 0) {
		because("%s: %s", S.dest, lasterr());
		return 0;
	}
	snprintf(S.port, sizeof S.port, "%s", d.port);
	usemx = strncmp(S.dest, "tcp!", 4) != 0 && d.host[0] != '[' && inet_pton(AF_INET, d.host, a6) != 1 &&
	    inet_pton(AF_INET6, d.host, a6) != 1;
	if (usemx && (k = dns_mx(d.host, mx, nelem(mx))) != 0) {
		if (k == DNS_TEMP) {
			because("%s: %s", S.dest, lasterr());
			*temp = 1;
			return 0;
		}
		for (i = 0; i < k && n < max; i++) {
			for (j = 0; j < S.nbust; j++)
				if (strcasecmp(S.bust[j], mx[i].host) == 0)
					break;
			if (j < S.nbust) {
				dprint("skip MX %s\n", mx[i].host);
				continue;
			}
			if ((j = addhosts(h, n, max, mx[i].host, 1)) == DNS_TEMP)
				*temp = 1;
			else if (j >= 0)
				n = j;
		}
		if (k > 0 || n > 0)
			return n;
		if (k == DNS_NONE && !S.gateway) {
			because("%s: %s", S.dest, lasterr());
			return 0;
		}
	}
	if (k == 0 || !usemx) {
		if ((n = addhosts(h, 0, max, d.host, 0)) == DNS_TEMP) {
			because("%s: %s", d.host, lasterr());
			*temp = 1;
			return 0;
		}
		if (n > 0)
			return n;
		because("%s: %s", d.host, lasterr());
	}
	if (S.gateway && (n = addhosts(h, 0, max, S.gateway, 0)) > 0)
		return n;
	if (S.gateway)
		because("gateway %s: %s", S.gateway, lasterr());
	if (n == DNS_TEMP)
		*temp = 1;
	return 0;
}

static int
finish(int r)
{
	const char *word = r == Ok ? "" : r == Perm ? "Permanent Failure" : "Retry, Temporary Failure";

	if (r == Ok)
		return 0;
	fprintf(stderr, "%s: %s", word, S.why.n ? S.why.p : "no host to try\n");
	logmsg("smtp.fail", "%s to %s: %s: %.*s", S.sender, S.dest, word,
	    (int)strcspn(S.why.p ? S.why.p : "", "\n"), S.why.p ? S.why.p : "");
	return r == Perm ? EX_UNAVAILABLE : EX_TEMPFAIL;
}

int
smtp_main(int argc, char **argv)
{
	Host h[LIM_SMTPHOSTS];
	Str in = {0};
	char buf[LIM_MBOXBUF], helo[LIM_DOMAIN + 1];
	ssize_t n;
	int o, i, nh, r = Next, temp;

	signal(SIGPIPE, SIG_IGN);	/* a server that hangs up mid-text is a temporary failure, not our death */
	while ((o = getopt(argc, argv, "aAb:dfg:h:ilopstu:")) != -1) {
		switch (o) {
		case 'a': S.auth = 1; break;
		case 'A': S.autistic = 1; break;
		case 'b':
			if (S.nbust == LIM_SMTPBUST)
				usage();
			S.bust[S.nbust++] = optarg;
			break;
		case 'd': S.debug = 1; break;
		case 'f': S.filter = 1; break;
		case 'g': S.gateway = optarg; break;
		case 'h': S.helo = optarg; break;
		case 'i': S.plainok = 1; break;
		case 'l': S.loopok = 1; break;
		case 'o': S.opportunistic = 1; break;
		case 'p': S.ping = 1; break;
		case 's': S.starttls = 1; break;
		case 't': S.implicit = 1; break;
		case 'u': S.user = optarg; break;
		default: usage();
		}
	}
	if (optind < argc && argv[optind][0] == '.')
		S.domain = argv[optind++] + 1;
	if (argc - optind < 3)
		usage();
	S.dest = argv[optind];
	S.sender = argv[optind + 1];
	S.rcpt = argv + optind + 2;
	S.nrcpt = argc - optind - 2;
	if (S.nrcpt > LIM_ADDRS)
		die(EX_USAGE, "more than %d recipients", LIM_ADDRS);
	if (strstr(S.dest, "![") != NULL && strncmp(S.dest, "tcp![", 5) != 0 && strncmp(S.dest, "net![", 5) != 0)
		die(EX_UNAVAILABLE, "Permanent Failure: %s: illegal destination", S.dest);
	if (S.helo == NULL) {
		snprintf(helo, sizeof helo, "%s%s%s", rw_sysname(), S.domain && !strchr(rw_sysname(), '.') ? "." : "",
		    S.domain && !strchr(rw_sysname(), '.') ? S.domain : "");
		S.helo = helo;
	}
	if (!addr_domainok(S.helo))
		die(EX_USAGE, "%s: not a domain for HELO", S.helo);
	if ((S.from = wireaddr(S.sender, S.helo)) == NULL)
		die(EX_UNAVAILABLE, "Permanent Failure: bad sender: %s", lasterr());
	S.to = arena_alloc(&S.ar, S.nrcpt * sizeof *S.to);
	S.refused = arena_alloc(&S.ar, S.nrcpt * sizeof *S.refused);
	for (i = 0; i < S.nrcpt; i++) {
		Dial d;

		S.refused[i] = 0;
		if (dial_parse(S.dest, "smtp", &d) < 0)
			die(EX_UNAVAILABLE, "Permanent Failure: %s: %s", S.dest, lasterr());
		if ((S.to[i] = wireaddr(S.rcpt[i], d.host)) == NULL || S.to[i][0] == 0)
			die(EX_UNAVAILABLE, "Permanent Failure: bad recipient %s: %s", S.rcpt[i],
			    S.to[i] ? "the null address" : lasterr());
	}
	while ((n = read(0, buf, sizeof buf)) > 0) {
		if (in.n + n > LIM_MSG)
			die(EX_UNAVAILABLE, "Permanent Failure: message over %d octets", LIM_MSG);
		str_addn(&in, buf, n);
	}
	if (n < 0)
		die(EX_TEMPFAIL, "Retry, Temporary Failure: reading the message:");
	prepare(in.p ? in.p : "", in.n);
	str_free(&in);
	/* root has no business on the network: -u's box owner speaks, and reads its own keys */
	if (geteuid() == 0 && S.user != NULL) {
		uid_t uid;
		gid_t gid;

		if (priv_box(S.user, &uid, &gid) < 0 || priv_become(uid, gid) < 0)
			die(EX_TEMPFAIL, "Retry, Temporary Failure: -u %s: %s", S.user, lasterr());
	}
	if (S.filter) {
		fwrite(S.msg.p, 1, S.msg.n, stdout);
		return fflush(stdout) == 0 ? 0 : EX_IOERR;
	}
	if (S.eightbit && toqp() < 0)
		str_free(&S.qp);
	nh = route(h, nelem(h), &temp);
	for (i = 0; i < nh && r == Next; i++)
		r = session(&h[i]);
	if (nh == 0)
		r = temp ? Temp : Perm;
	else if (r == Next)
		r = S.lastperm ? Perm : Temp;
	return finish(r);
}
