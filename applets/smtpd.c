/*
 * smtpd: the SMTP server on fds 0 and 1, as inetd or listen runs it.
 * One command table drives the protocol; a message goes to the mailer (send
 * -r), once per accepted recipient, and the 250 after the text means every
 * copy is on disk. Policy comes from the options, lib/smtpd.conf, lib/blocked
 * and the ratify/ tree (core/policy.c).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
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

enum { Sinit, Shelo, Smail, Srcpt };	/* before HELO, idle, after MAIL, after a RCPT */

/* What went wrong in the text; the reply waits for its end. */
enum {
	Dbare = 1 << 0,	/* a CR or LF not in a CRLF pair */
	Dnul = 1 << 1,
	Dlong = 1 << 2,
	Dbig = 1 << 3,
	Dio = 1 << 4,
	Dloop = 1 << 5,	/* too many Received: lines */
};

typedef struct Cmd {
	const char *verb;
	int need;	/* the least state it runs in */
	void (*fn)(char *arg);
} Cmd;

/*
 * The text of one message, from DATA or from BDAT chunks, taken a byte at a
 * time into lines. The header is held until its end so the fields we add
 * can go in front of it once we know which are missing.
 */
typedef struct Body {
	int fd;	/* the session's spool file */
	Str out;	/* what waits to be written to it */
	int flags;
	int dot;	/* DATA: dot-stuffed, and CRLF.CRLF ends it */
	long long size;
	char line[LIM_TEXTLINE + 2];
	size_t n, len;	/* kept, and seen, of the current line */
	int cr, prevcrlf;
	int inhdr;
	Str hdr;
	int received, hasdate, hasmsgid;
	char *from;	/* the header's From: or Sender: domain, for -f */
} Body;

static struct {
	Conn c;
	Bio b;
	Tlscert *cert;
	const char *host;
	const char *doms[LIM_SMTPDOMS];
	int ndoms;
	Smtpdconf conf;
	Net drop[LIM_SMTPDROP];	/* -k: hang up on these silently */
	int ndrop;
	const char *mailer;	/* -m */
	int trustlo, vrfy, reqauth, submit, tarpit, debug, noextra, heloauth;
	int warn, grey, quiet, verify, saveblocked, barelf;
	long long maxsize;
	char peer[64], me[64];
	int trusted;
	int lo;	/* the peer is on a loopback address: local software */
	int class;	/* what lib/blocked and ratify/ say of the peer, then of the sender */
	const char *refused;	/* every command but QUIT gets this 554 */
	int needauth;	/* HELO checks failed under -E */
	int local;	/* -L: a local program on a pipe (sendmail -bs) */
	int plainok;	/* -p: PLAIN and LOGIN without TLS */
	int auth;	/* lib/secrets is usable */
	char authuser[LIM_AUTHUSER + 1];	/* who authenticated, "" if nobody */
	int authfails;
	int state;
	int esmtp;
	int errors, rejects, tarpitted;
	char helo[LIM_DOMAIN + 1];
	Arena ar;	/* the transaction's addresses */
	char *from;	/* bang form, "/dev/null" for <> */
	char *fromdom;	/* the sender's domain, NULL for <> */
	int utf8;
	int sclass;	/* the sender's class, for this transaction */
	char *rcpt[LIM_SMTPRCPT];	/* the mailer's argument for each recipient */
	char *rcpttext[LIM_SMTPRCPT];	/* as the client wrote it, for Received: */
	int nrcpt;
	Body *bdat;	/* a BDAT transfer in progress */
	int spool, errfd;	/* scratch files, made once per session and reused */
	int spoolmem, errmem;	/* ... and in memory */
} S;

static void
reply(const char *fmt, ...) PRINTF(1, 2);
static int scratch(int *fd, int *mem);

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
	if (S.debug)
		logmsg("smtpd.db", "%s > %s", S.peer, buf);
	if (buf[0] == '4' || buf[0] == '5')
		S.errors++;
	if (buf[0] == '5')
		S.rejects++;
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
	S.from = S.fromdom = NULL;
	S.utf8 = 0;
	S.nrcpt = 0;
	S.sclass = RatNone;
	if (S.state > Shelo)
		S.state = Shelo;
}

/* Policy that protects us from strangers skips those we know. */
static int
stranger(void)
{
	return !S.trusted && !S.lo && S.authuser[0] == 0 && S.class != RatAllow &&
	    S.sclass != RatAllow;
}

/* Ours: -h, the default domain, ourdomains, our name, localhost, and any name without a dot. */
static int
ourdomain(const char *d)
{
	int i;

	if (strchr(d, '.') == NULL && d[0] != '[')
		return 1;
	if (strcasecmp(d, "localhost") == 0 || strcasecmp(d, S.host) == 0 ||
	    strcasecmp(d, rw_sysname()) == 0 || strcasecmp(d, S.conf.defaultdomain) == 0)
		return 1;
	for (i = 0; i < S.ndoms; i++)
		if (strcasecmp(d, S.doms[i]) == 0)
			return 1;
	for (i = 0; i < S.conf.nourdomains; i++)
		if (domain_match(S.conf.ourdomains[i], d))
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

/*
 * Is this HELO name believable from this peer? Claiming to be us is a lie
 * whatever -e says; the rest (upas's extra checks) go with -e.
 */
static const char *
helocheck(const char *name)
{
	static const char *fake[] = {"localdomain", "localhost", "local", "example", "invalid", "lan", "test"};
	char addrs[8][INET6_ADDRSTRLEN], lit[64];
	const char *tld, *p;
	size_t i;
	int n;
	Net net;

	if (ourdomain(name) && strchr(name, '.') != NULL)
		return "Liar! you are not us";
	if (S.noextra)
		return NULL;
	if (name[0] == '[') {
		n = strlen(name);
		p = strncasecmp(name, "[IPv6:", 6) == 0 ? name + 6 : name + 1;
		snprintf(lit, sizeof lit, "%.*s", (int)(name + n - 1 - p), p);
		if (name[n - 1] != ']' || net_parse(lit, &net) < 0 || !net_match(&net, S.peer))
			return "address literal is not your address";
		return NULL;
	}
	if ((tld = strrchr(name, '.')) == NULL)
		return "name has no dot";
	for (i = 0; i < nelem(fake); i++)
		if (strcasecmp(tld + 1, fake[i]) == 0)
			return "name is not in the DNS";
	if (strcasecmp(name, "example.com") == 0 || strcasecmp(name, "example.net") == 0 ||
	    strcasecmp(name, "example.org") == 0)
		return "name is an example";
	for (p = name; *p && !((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z'); p++)
		;
	if (*p == 0)
		return "name has no letters";
	if (S.verify) {
		n = dns_addrs(name, addrs, nelem(addrs));
		if (n == DNS_NONE)
			return "name does not resolve";
		for (i = 0; n > 0 && i < (size_t)n; i++)
			if (net_parse(addrs[i], &net) == 0 && net_match(&net, S.peer))
				break;
		if (n > 0 && i == (size_t)n)
			return "name does not resolve to your address";
	}
	return NULL;
}

/* HELO and EHLO alike: check the name and start a fresh session; 0 if refused. */
static int
hello(char *arg, int esmtp)
{
	const char *why;

	if (!heloname(arg)) {
		reply("501 5.5.4 %s needs a domain", esmtp ? "EHLO" : "HELO");
		return 0;
	}
	if (S.tarpit && stranger()) {
		flush();
		sleep(LIM_SMTPTARPIT);
	}
	if (stranger() && (why = helocheck(arg)) != NULL) {
		if (!S.quiet)
			logmsg("smtpd", "%s HELO %s refused: %s", S.peer, arg, why);
		if (S.heloauth && S.auth && strncmp(why, "Liar", 4) != 0)
			S.needauth = 1;
		else {
			reply("554 5.7.1 %s", why);
			bio_flush(&S.b);
			exit(0);
		}
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
	reply("250-CHUNKING");
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

/* RFC 3461 xtext, as AUTH= carries it: printable ASCII, + introducing two hex digits. */
static int
xtext(const char *s)
{
	for (; *s; s++) {
		if (*s == '+') {
			if (hexdigit(s[1]) < 0 || hexdigit(s[2]) < 0)
				return 0;
			s += 2;
		} else if (*s < '!' || *s > '~' || *s == '=')
			return 0;
	}
	return 1;
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
		    (strcasecmp(v, "7BIT") == 0 || strcasecmp(v, "8BITMIME") == 0 ||
		    strcasecmp(v, "BINARYMIME") == 0))
			;
		else if (strcasecmp(w, "SMTPUTF8") == 0 && v == NULL)
			S.utf8 = 1;
		else if (strcasecmp(w, "AUTH") == 0 && v != NULL && S.auth) {
			/* RFC 4954 §5: we relay no AUTH= onward, so the value is only checked */
			if (*v == 0 || !xtext(v)) {
				reply("501 5.5.4 bad AUTH= value");
				return -1;
			}
		} else {
			reply("555 5.5.4 unsupported parameter %.64s", w);
			return -1;
		}
	}
	return 0;
}

/* Submission (-S): the envelope sender is the authenticated user in one of our domains. */
static int
ownsender(const Addr *a)
{
	return a->local == NULL || (a->route == NULL && a->domain != NULL && ourdomain(a->domain) &&
	    strcasecmp(a->local, S.authuser) == 0);
}

/* Is the sender's domain real (-r)? 0 yes or cannot tell for good; -1 after replying. */
static int
senderdomain(const char *dom)
{
	int r;

	if (dom == NULL || dom[0] == '[' || !stranger())
		return 0;
	if ((r = dns_exists(dom)) == DNS_OK)
		return 0;
	if (r == DNS_NONE)
		reply("553 5.1.8 sender domain %.100s does not exist", dom);
	else
		reply("451 4.1.8 cannot check the sender's domain now: %.100s", lasterr());
	return -1;
}

static void
cmd_mail(char *arg)
{
	Addr a;
	char *rest;
	int c;

	if (S.state != Shelo) {
		reply("503 5.5.1 nested MAIL command");
		return;
	}
	if (S.authuser[0] == 0 && (S.reqauth || S.submit || S.needauth)) {
		reply("530 5.7.0 authentication required");
		return;
	}
	if (path(arg, "FROM:", &a, &rest) < 0)
		return;
	if (a.local != NULL && a.domain == NULL) {
		reply("553 5.1.7 sender needs a domain");
		goto bad;
	}
	S.utf8 = 0;
	if (mailparams(rest) < 0)
		goto bad;
	if (addr_utf8(&a) && !S.utf8) {
		reply("553 5.6.7 non-ASCII sender needs SMTPUTF8");
		goto bad;
	}
	if (S.submit && !ownsender(&a)) {
		reply("553 5.7.1 %s may not send as that address", S.authuser);
		goto bad;
	}
	S.sclass = RatNone;
	if (a.local != NULL && S.class != RatAllow && !S.trusted) {
		c = ratify_account(a.local, a.domain);
		if (c < 0) {
			logmsg("smtpd", "%s ratify: %s", S.peer, lasterr());
			reply("451 4.3.0 server configuration error, try again later");
			goto bad;
		}
		if (c == RatDeny || c == RatDial) {
			logmsg("smtpd", "%s sender %s@%s %s", S.peer, a.local, a.domain, ratify_name(c));
			reply("554 5.7.1 mail from that address is refused");
			goto bad;
		}
		S.sclass = c;
	}
	if (S.verify && senderdomain(a.domain) < 0)
		goto bad;
	S.from = a.local == NULL ? "/dev/null" : addr_bang(&S.ar, &a);
	if (S.from == NULL) {
		reply("553 5.1.7 bad sender: %s", lasterr());
		goto bad;
	}
	S.fromdom = a.domain;
	S.state = Smail;
	reply("250 2.1.0 sender ok");
	return;
bad:
	arena_free(&S.ar);
	S.sclass = RatNone;
}

/*
 * Would send take this local recipient? send -x expands it as delivery
 * would (aliases, forward files, rewrite) without delivering: 0 yes, else
 * the reply has been given. Only with send as the mailer: another mailer
 * judges its own recipients at delivery.
 */
static int
validate(const char *dest)
{
	char *argv[] = { "send", "-x", (char *)dest, NULL }, box[LIM_PATHNAME];
	struct stat st_;
	int efd, st, null;
	pid_t pid;

	if (strcmp(S.mailer, "send") != 0 || strcasecmp(dest, "postmaster") == 0)
		return 0;	/* RFC 5321 §4.5.1: postmaster is always taken */
	/* a user with a box needs no expansion to exist */
	if (name_ok(dest) && upas_path(box, sizeof box, "box", dest, NULL) == 0 &&
	    lstat(box, &st_) == 0 && S_ISDIR(st_.st_mode))
		return 0;
	if ((efd = scratch(&S.errfd, &S.errmem)) < 0 || (null = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0) {
		logmsg("smtpd", "%s: %s", S.peer, lasterr());
		return 0;	/* delivery will judge */
	}
	pid = proc_start(argv, null, efd);
	close(null);
	st = pid < 0 ? EX_TEMPFAIL : proc_wait(pid);
	if (st == 0)
		return 0;
	if (st == EX_NOUSER)
		reply("550 5.1.1 %.64s: no such user here", dest);
	else if (st == EX_TEMPFAIL || st >= 128 || st < 0)
		reply("450 4.2.0 %.64s: cannot check the recipient now", dest);
	else
		reply("553 5.1.3 %.64s: recipient refused", dest);
	return -1;
}

/*
 * Relay control. A recipient in one of our domains goes to the mailer by its
 * local part alone, and only if that local part cannot route on (%, !, @ hide
 * a next hop from us but not from rewrite rules); anything else is relaying,
 * for trusted or authenticated peers only.
 */
static void
cmd_rcpt(char *arg)
{
	Addr a, l;
	char *rest, *dest;
	int r;

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
		if ((r = policy_nameblocked(a.local)) != 0) {
			if (r < 0) {
				logmsg("smtpd", "%s names.blocked: %s", S.peer, lasterr());
				reply("451 4.3.0 server configuration error, try again later");
			} else
				reply("550 5.1.1 %.64s: recipient refused", a.local);
			return;
		}
		l = a;
		l.domain = l.route = NULL;
		if ((dest = addr_bang(&S.ar, &l)) != NULL && validate(dest) < 0)
			return;
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
	if (S.grey && stranger() && strcmp(S.from, "/dev/null") != 0) {
		r = grey_check(S.me, S.peer, a.local);
		if (r < 0)
			logmsg("smtpd", "%s greylist: %s", S.peer, lasterr());
		else if (r == 0) {
			reply("451 4.7.1 greylisted, please try again soon from the same IP");
			return;
		}
	}
	S.rcpt[S.nrcpt] = dest;
	S.rcpttext[S.nrcpt] = addr_text(&S.ar, &a);
	S.nrcpt++;
	S.state = Srcpt;
	reply("250 2.1.5 recipient ok");
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

/* The From line, Received:, and for submission the Date: and Message-ID: the header lacks. */
static void
envelope(Body *b, Str *h)
{
	char date[64], cdate[32], tls[96];
	time_t t = time(NULL);
	struct tm tm;
	unsigned r[2];

	localtime_r(&t, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S %z", &tm);
	strftime(cdate, sizeof cdate, "%a %b %e %H:%M:%S %Y", &tm);
	str_fmt(h, "From %s %s\n", S.from, cdate);
	str_fmt(h, "Received: from %s ([%s])\n", S.helo, S.peer);
	if (tls_active(&S.c)) {
		tls_info(&S.c, tls, sizeof tls);
		str_fmt(h, "\t(using %.*s with cipher %s)\n", (int)strcspn(tls, " "), tls,
		    tls + strcspn(tls, " ") + 1);
	}
	str_fmt(h, "\tby %s with %s%s%s", S.host, S.utf8 ? "UTF8SMTP" : "ESMTP",
	    tls_active(&S.c) ? "S" : "", S.authuser[0] != 0 ? "A" : "");
	if (S.nrcpt == 1 && S.rcpttext[0] != NULL)
		str_fmt(h, "\n\tfor <%s>", S.rcpttext[0]);
	str_fmt(h, "; %s\n", date);
	if (S.warn && stranger() && S.fromdom != NULL && ourdomain(S.fromdom))
		str_fmt(h, "X-warning: suspect envelope domain %s from %s\n", S.fromdom, S.peer);
	if (S.warn && stranger() && b->from != NULL && ourdomain(b->from))
		str_fmt(h, "X-warning: suspect header domain %s from %s\n", b->from, S.peer);
	if (S.submit && !b->hasdate)
		str_fmt(h, "Date: %s\n", date);
	if (S.submit && !b->hasmsgid) {
		mime_random(r, sizeof r);
		str_fmt(h, "Message-ID: <%lld.%08x%08x@%s>\n", (long long)t, r[0], r[1], S.host);
	}
}

/* The spool is too big for memory: copy it to a file under tmp/ and go on there. */
static int
spill(Body *b)
{
	char buf[LIM_MBOXBUF];
	ssize_t n;
	off_t off = 0;
	int fd;

	if ((fd = tmpfile_()) < 0)
		return -1;
	while ((n = pread(b->fd, buf, sizeof buf, off)) > 0) {
		if (fd_writeall(fd, buf, n) < 0) {
			close(fd);
			return -1;
		}
		off += n;
	}
	close(b->fd);
	S.spool = b->fd = fd;
	S.spoolmem = 0;
	return 0;
}

static void
bflush(Body *b)
{
	if (!(b->flags & Dio) && b->out.n > 0 && fd_writeall(b->fd, b->out.p, b->out.n) < 0)
		b->flags |= Dio;
	str_reset(&b->out);
	if (!(b->flags & Dio) && S.spoolmem && b->size > LIM_SPOOLMEM && spill(b) < 0) {
		logmsg("smtpd", "%s: %s", S.peer, lasterr());
		b->flags |= Dio;
	}
}

static void
bwrite(Body *b, const char *p, size_t n)
{
	str_addn(&b->out, p, n);
	if (b->out.n >= LIM_MBOXBUF)
		bflush(b);
}

/* The header is complete: write what we add, then it. */
static void
endheader(Body *b)
{
	Str h = {0};

	b->inhdr = 0;
	envelope(b, &h);
	bwrite(b, h.p, h.n);
	bwrite(b, b->hdr.p, b->hdr.n);
	str_free(&h);
	str_free(&b->hdr);
}

/* The domain of a From: or Sender: value, kept for -f's warning. */
static void
hdrdomain(Body *b, const char *v, size_t n)
{
	const char *at = NULL, *p, *e = v + n;

	for (p = v; p < e; p++)
		if (*p == '@')
			at = p + 1;
	if (at == NULL || b->from != NULL)
		return;
	for (p = at; p < e && p - at < LIM_DOMAIN && (isalnum((unsigned char)*p) || strchr(".-[]:", *p)); p++)
		;
	if (p > at)
		b->from = arena_strndup(&S.ar, at, p - at);
}

/* One line of text, its ending and stuffed dot gone. */
static void
bodyline(Body *b, char *p, size_t n)
{
	b->size += n + 2;
	if (b->size > S.maxsize)
		b->flags |= Dbig;
	if (b->flags & (Dbare | Dnul | Dlong | Dbig | Dio | Dloop))
		return;
	if (b->inhdr) {
		if (n == 0) {
			endheader(b);
			bwrite(b, "\n", 1);
			return;
		}
		p[n] = 0;	/* the buffer holds the end of longer lines before */
		if (strncasecmp(p, "Received:", 9) == 0 && ++b->received > LIM_RECEIVED)
			b->flags |= Dloop;
		else if (strncasecmp(p, "Date:", 5) == 0)
			b->hasdate = 1;
		else if (strncasecmp(p, "Message-ID:", 11) == 0)
			b->hasmsgid = 1;
		else if (strncasecmp(p, "From:", 5) == 0 || strncasecmp(p, "Sender:", 7) == 0)
			hdrdomain(b, p, n);
		str_addn(&b->hdr, p, n);
		str_addc(&b->hdr, '\n');
		if (b->hdr.n > LIM_MSGHDRSIZE)
			endheader(b);
		return;
	}
	p[n] = '\n';
	bwrite(b, p, n + 1);
}

/* A line ended at LF; 1 when it is the "." that ends DATA. */
static int
endline(Body *b)
{
	int crlf = b->cr;
	char *p = b->line;
	size_t n = b->n;

	b->cr = 0;
	if (!crlf && !S.barelf)
		b->flags |= Dbare;
	if (b->len > LIM_TEXTLINE - 2)
		b->flags |= Dlong;
	b->n = b->len = 0;
	if (b->dot && n == 1 && p[0] == '.' && crlf && b->prevcrlf)
		return 1;
	b->prevcrlf = crlf;
	if (b->dot && n > 0 && p[0] == '.')
		p++, n--;
	bodyline(b, p, n);
	return 0;
}

/* One byte of text; 1 at the end of DATA. */
static int
putbyte(Body *b, int c)
{
	if (c == '\n')
		return endline(b);
	if (b->cr) {
		b->flags |= Dbare;
		if (b->n < LIM_TEXTLINE)
			b->line[b->n++] = '\r';
	}
	b->cr = c == '\r';
	if (b->cr)
		return 0;
	if (c == 0)
		b->flags |= Dnul;
	b->len++;
	if (b->n < LIM_TEXTLINE)
		b->line[b->n++] = c;
	return 0;
}

/*
 * A scratch file, emptied: made at its first use, then reused. It starts in
 * memory (no inode on the mail disk to create and free for every message);
 * the spool moves to tmp/ once a message outgrows LIM_SPOOLMEM (spill).
 */
static int
scratch(int *fd, int *mem)
{
	if (*fd >= 0 && !*mem) {	/* a spilled spool: the next message starts in memory again */
		close(*fd);
		*fd = -1;
	}
	if (*fd < 0) {
		if ((*fd = memfd_create("smtpd", MFD_CLOEXEC)) >= 0)
			*mem = 1;
		else if ((*fd = tmpfile_()) < 0)
			return -1;
	}
	if (ftruncate(*fd, 0) < 0 || lseek(*fd, 0, SEEK_SET) < 0) {
		seterr("tmp:");
		return -1;
	}
	return *fd;
}

static Body *
body_new(int dot)
{
	Body *b = xmalloc(sizeof *b);

	memset(b, 0, sizeof *b);
	b->dot = dot;
	b->inhdr = 1;
	b->prevcrlf = 1;
	if ((b->fd = scratch(&S.spool, &S.spoolmem)) < 0) {
		logmsg("smtpd", "%s: %s", S.peer, lasterr());
		b->flags |= Dio;
	}
	return b;
}

static void
body_free(Body *b)
{
	str_free(&b->hdr);
	str_free(&b->out);
	free(b);
}

/*
 * Run the mailer for each recipient. The worst outcome decides: 0 all
 * delivered, 4 some failed for now, 5 some failed for good; why in err, and
 * the recipients that failed for good, one per line, in bad.
 */
static int
deliver(int fd, char *err, size_t nerr, Str *bad, int *nok)
{
	char *argv[4], buf[LIM_SMTPSENDERR], *p, *why;
	int i, st, efd, save, worst = 0;
	pid_t pid;
	ssize_t n;

	err[0] = 0;
	*nok = 0;
	for (i = 0; i < S.nrcpt; i++) {
		if ((efd = scratch(&S.errfd, &S.errmem)) < 0 || lseek(fd, 0, SEEK_SET) < 0) {
			snprintf(err, nerr, "%s", lasterr());
			return 4;
		}
		argv[0] = (char *)S.mailer;
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
		if (st == 0) {
			(*nok)++;
			logmsg("smtpd", "%s delivered %s From %s", S.peer, S.rcpt[i], S.from);
			continue;
		}
		n = pread(efd, buf, sizeof buf - 1, 0);
		buf[n > 0 ? n : 0] = 0;
		for (p = buf; *p; p++)
			if (*p == '\r' || *p == '\n' || (unsigned char)*p < ' ')
				*p = ' ';
		p = strstr(buf, "mail refused: ");
		why = p ? p + 14 : buf[0] ? buf : "delivery failed";
		if (st == EX_TEMPFAIL || st >= 128 || st < 0) {
			if (worst == 0)
				worst = 4;
		} else {
			worst = 5;
			str_fmt(bad, "%s: %s\n", S.rcpttext[i], why);
		}
		if (worst != 5 || st != EX_TEMPFAIL)
			snprintf(err, nerr, "%s", why);
		logmsg("smtpd", "%s %s From %s: status %d: %s", S.peer, S.rcpt[i], S.from, st, buf);
	}
	return worst;
}

/*
 * Some recipients have the message and others refused it for good: the
 * client must not send it again, so the sender hears of the failures from
 * us. 0 when the bounce went (or none is due), -1 if it could not.
 */
static int
bouncebad(int fd, const Str *bad)
{
	struct stat st;
	char *m;
	Str why = {0};
	int r;

	if (fstat(fd, &st) < 0 || st.st_size == 0)
		return -1;
	if ((m = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED)
		return -1;
	str_fmt(&why, "Your message could not be delivered to some recipients.\n\n%s", bad->p);
	r = bounce_send(S.from, why.p, m, st.st_size);
	munmap(m, st.st_size);
	str_free(&why);
	return r < 0 ? -1 : 0;
}

/* -s: a blocked message is kept under queue.dump/MonDD/ for the postmaster to read. */
static void
saveblocked(int fd)
{
	char dir[LIM_PATHNAME], day[16], path[LIM_PATHNAME], buf[LIM_MBOXBUF];
	time_t t = time(NULL);
	struct tm tm;
	int out;
	ssize_t n;

	localtime_r(&t, &tm);
	strftime(day, sizeof day, "%b%d", &tm);
	if (upas_path(dir, sizeof dir, "queue.dump", NULL) < 0 ||
	    (mkdir(dir, 0700) < 0 && errno != EEXIST) ||
	    upas_path(dir, sizeof dir, "queue.dump", day, NULL) < 0 ||
	    (mkdir(dir, 0700) < 0 && errno != EEXIST) ||
	    snprintf(path, sizeof path, "%s/msg.XXXXXX", dir) >= (int)sizeof path ||
	    (out = mkstemp(path)) < 0) {
		logmsg("smtpd", "%s: cannot save a blocked message: %s", S.peer, strerror(errno));
		return;
	}
	lseek(fd, 0, SEEK_SET);
	while ((n = read(fd, buf, sizeof buf)) > 0)
		if (fd_writeall(out, buf, n) < 0)
			break;
	close(out);
}

/* The text is all here: answer for it. The reply for bad text waits until its end. */
static void
finish(Body *b)
{
	char err[LIM_SMTPSENDERR];
	int r, nok, class = S.sclass != RatNone ? S.sclass : S.class;
	Str bad = {0};

	if (b->inhdr && !(b->flags & (Dbare | Dnul | Dlong | Dbig | Dio | Dloop)))
		endheader(b);
	bflush(b);
	if (b->flags & Dbare)
		reply("550 5.6.11 bare CR or LF in the message text");
	else if (b->flags & Dnul)
		reply("550 5.6.0 NUL in the message text");
	else if (b->flags & Dbig)
		reply("552 5.3.4 message too big: limit %lld", S.maxsize);
	else if (b->flags & Dlong)
		reply("500 5.5.6 text line longer than %d octets", LIM_TEXTLINE);
	else if (b->flags & Dloop)
		reply("554 5.4.6 more than %d Received: lines: a mail loop", LIM_RECEIVED);
	else if (b->flags & Dio)
		reply("451 4.3.0 cannot store the message");
	else if (class == RatBlock && !S.trusted && S.authuser[0] == 0) {
		logmsg("smtpd", "%s blocked From %s%s", S.peer, S.from, S.saveblocked ? ", saved" : "");
		if (S.saveblocked)
			saveblocked(b->fd);
		reply("554 5.7.1 message blocked");
	} else if (class == RatDelay && !S.trusted && S.authuser[0] == 0)
		reply("450 4.7.1 delayed, try again later");
	else if ((r = deliver(b->fd, err, sizeof err, &bad, &nok)) == 0)
		reply("250 2.0.0 delivered");
	else if (r == 4)
		reply("451 4.3.0 temporary failure, try again later");	/* why: in log/smtpd, not for the client (paths) */
	else if (nok > 0 && bouncebad(b->fd, &bad) == 0)
		reply("250 2.0.0 delivered to %d of %d recipients, the sender hears of the rest", nok, S.nrcpt);
	else
		reply("554 5.0.0 mail refused: %.200s", err);
	str_free(&bad);
	body_free(b);
	reset();
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
	Body *b;
	int c;

	if (*arg != 0) {
		reply("501 5.5.4 DATA takes no arguments");
		return;
	}
	if (S.bdat != NULL) {
		reply("503 5.5.1 DATA inside a BDAT transfer");
		return;
	}
	b = body_new(1);
	if (b->flags & Dio) {
		body_free(b);
		reply("451 4.3.0 cannot store the message");
		return;
	}
	reply("354 go ahead, end with <CRLF>.<CRLF>");
	flush();
	S.c.timeout = LIM_SMTPDATA * 1000;
	for (;;) {
		if ((c = bio_getc(&S.b)) < 0)
			hangup("4.4.2", "timeout or end of input in DATA");
		if (putbyte(b, c))
			break;
	}
	S.c.timeout = LIM_SMTPIDLE * 1000;
	finish(b);
}

/*
 * RFC 3030 BDAT size [LAST]: exactly size octets follow, unstuffed, with
 * the same rules for line ends as DATA. The octets are read whatever the
 * verdict, so the command stream stays in step; a size we cannot trust
 * ends the session, since nothing after it could be parsed.
 */
static void
cmd_bdat(char *arg)
{
	char *e, *w;
	long long n;
	int last = 0, c;
	const char *why = NULL;

	w = strsep(&arg, " ");
	errno = 0;
	n = strtoll(w, &e, 10);
	if (*w < '0' || *w > '9' || *e != 0 || errno != 0 || n > LIM_MSG)
		hangup("5.5.4", "bad BDAT size");
	if (arg != NULL) {
		if (strcasecmp(arg, "LAST") != 0)
			hangup("5.5.4", "bad BDAT argument");
		last = 1;
	}
	if (S.state != Srcpt)
		why = S.state == Smail ? "503 5.5.1 RCPT first" : "503 5.5.1 MAIL first";
	else if (S.bdat == NULL && (S.bdat = body_new(0))->flags & Dio)
		why = "451 4.3.0 cannot store the message";
	S.c.timeout = LIM_SMTPDATA * 1000;
	for (; n > 0; n--) {
		if ((c = bio_getc(&S.b)) < 0)
			hangup("4.4.2", "timeout or end of input in BDAT");
		if (why == NULL)
			putbyte(S.bdat, c);
	}
	S.c.timeout = LIM_SMTPIDLE * 1000;
	if (why != NULL) {
		if (S.bdat != NULL) {
			body_free(S.bdat);
			S.bdat = NULL;
			reset();
		}
		reply("%s", why);
		return;
	}
	if (!last) {
		reply("250 2.0.0 %lld octets so far", S.bdat->size);
		return;
	}
	if (S.bdat->n > 0 || S.bdat->cr) {	/* a last line without CRLF */
		S.bdat->cr = 1;
		endline(S.bdat);
	}
	finish(S.bdat);
	S.bdat = NULL;
}

static void
cmd_rset(char *arg)
{
	if (S.bdat != NULL) {
		body_free(S.bdat);
		S.bdat = NULL;
	}
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
	reply("214 2.0.0 commands: HELO EHLO AUTH MAIL RCPT DATA BDAT RSET NOOP QUIT HELP VRFY EXPN STARTTLS");
}

static void
cmd_vrfy(char *arg)
{
	if (S.vrfy)
		reply("252 2.1.5 cannot verify, but will try to deliver");
	else
		reply("502 5.5.1 VRFY and EXPN disabled");
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

/* A 334 challenge and the client's answer, for core/sasl.c. */
static int
exchange(void *arg, const char *b64, char *line, size_t max)
{
	reply("334 %s", b64);
	flush();
	return sasl_getline(&S.b, line, max);
}

/* The verdict: a failure waits 1, 2, 4... seconds, and too many end the session. */
static void
verdict(const char *mech, Sasl *sa, int r)
{
	switch (r) {
	case SASL_OK:
		snprintf(S.authuser, sizeof S.authuser, "%s", sa->user);
		logmsg("smtpd", "%s auth %s %s ok", S.peer, mech, sa->user);
		reply("235 2.7.0 authentication succeeded");
		return;
	case SASL_TEMP:
		logmsg("smtpd", "%s auth %s %s: %s", S.peer, mech, sa->user, lasterr());
		reply("454 4.7.0 temporary authentication failure");
		return;
	case SASL_CANCEL:
		reply("501 5.0.0 authentication cancelled");
		return;
	case SASL_BADB64:
		reply("501 5.5.2 bad base64 in the response");
		return;
	case SASL_LONG:
		reply("500 5.5.2 line too long");
		return;
	case SASL_IO:
		hangup("4.4.2", "timeout");
	}
	S.authfails++;
	logmsg("smtpd", "%s auth %s %s failed (%d)", S.peer, mech, sa->user[0] ? sa->user : "?", S.authfails);
	flush();
	sleep(sasl_delay(S.authfails));
	reply("535 5.7.8 authentication credentials invalid");
	if (S.authfails >= LIM_AUTHFAILS)
		hangup("4.7.0", "too many authentication failures");
}

static void
cmd_auth(char *arg)
{
	char *mech, *ir;
	Sasl sa = { exchange, NULL, NULL, "" };

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
	if (!sasl_known(mech))
		reply("504 5.5.4 unknown authentication mechanism");
	else if (strcasecmp(mech, "CRAM-MD5") == 0 && ir != NULL)
		reply("501 5.5.2 CRAM-MD5 takes no initial response");
	else if (strcasecmp(mech, "CRAM-MD5") != 0 && !plainok())
		reply("538 5.7.11 encryption required for requested authentication mechanism");
	else {
		sa.host = S.host;
		verdict(mech, &sa, sasl_server(&sa, mech, ir));
	}
}

static const Cmd cmds[] = {
	{"AUTH", Shelo, cmd_auth},
	{"BDAT", Sinit, cmd_bdat},
	{"DATA", Srcpt, cmd_data},
	{"EHLO", Sinit, cmd_ehlo},
	{"EXPN", Sinit, cmd_vrfy},
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
	if (S.debug)
		logmsg("smtpd.db", "%s < %.*s%s", S.peer, (int)n, line,
		    n == 4 && strncasecmp(line, "AUTH", 4) == 0 ? " ..." : arg - n == line ? "" : line + n);
	for (c = cmds; c < cmds + nelem(cmds); c++)
		if (strlen(c->verb) == n && strncasecmp(c->verb, line, n) == 0)
			break;
	if (S.refused != NULL && c->fn != cmd_quit) {
		if (c->fn == cmd_bdat)
			hangup("5.7.1", S.refused);
		reply("554 5.7.1 %s", S.refused);
		return;
	}
	if (c == cmds + nelem(cmds)) {
		reply("500 5.5.1 unknown command");
		return;
	}
	if (S.bdat != NULL && c->fn != cmd_bdat && c->fn != cmd_rset && c->fn != cmd_quit &&
	    c->fn != cmd_noop) {
		body_free(S.bdat);
		S.bdat = NULL;
		reset();
		reply("503 5.5.1 BDAT transfer abandoned");
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

/* The peer's address: -n, the socket, or what tcpserver-like front ends export. */
static void
peer(const char *given)
{
	if (given != NULL)
		snprintf(S.peer, sizeof S.peer, "%s", given);
	else
		sock_addr(0, 1, S.peer, sizeof S.peer, "unknown");
	sock_addr(0, 0, S.me, sizeof S.me, "0.0.0.0");
}

/* Who is calling, and what do lib/blocked, ratify/ and smtpd.conf say of them? */
static void
classify(void)
{
	Net n;
	int i;

	for (i = 0; i < S.ndrop; i++)
		if (net_match(&S.drop[i], S.peer))
			exit(0);
	S.lo = addr_loopback(S.peer);
	S.trusted = S.trustlo && S.lo;
	for (i = 0; i < S.conf.nournets; i++)
		if (net_match(&S.conf.ournets[i], S.peer))
			S.trusted = 1;
	if (net_parse(S.peer, &n) < 0)
		return;
	S.class = ratify_ip(S.peer);
	if (S.class < 0) {
		/* a broken table defers mail, as Postfix does: it may hold the deny that matters */
		logmsg("smtpd", "%s ratify: %s", S.peer, lasterr());
		printf("421 4.3.0 %s server configuration error, try again later\r\n", S.host);
		exit(0);
	}
	if (S.class == RatTrusted)
		S.trusted = 1;
	else if (S.class == RatDeny)
		S.refused = "mail from your address is refused, contact postmaster";
	else if (S.class == RatDial)
		S.refused = "mail from dial-up addresses goes through your provider's server";
	if (S.refused != NULL)
		logmsg("smtpd", "%s %s", S.peer, ratify_name(S.class));
}

static void
onoff(int *flag, int conf)
{
	if (*flag == 0 && conf == 1)
		*flag = 1;
}

int
smtpd_main(int argc, char **argv)
{
	char line[LIM_SMTPCMDBUF];
	const char *certfile = NULL, *keyfile = NULL, *given = NULL;
	char *e;
	ssize_t n;
	int o;
	Net net;

	S.maxsize = LIM_SMTPSIZE;
	S.mailer = "send";
	S.spool = S.errfd = -1;
	while ((o = getopt(argc, argv, "aBc:DdEefgh:K:k:Lm:n:pqrSstvz:")) != -1) {
		switch (o) {
		case 'a': S.reqauth = 1; break;
		case 'B': S.barelf = 1; break;
		case 'c': certfile = optarg; break;
		case 'D': S.tarpit = 1; break;
		case 'd': S.debug = 1; break;
		case 'E': S.heloauth = 1; break;
		case 'e': S.noextra = 1; break;
		case 'f': S.warn = 1; break;
		case 'g': S.grey = 1; break;
		case 'h':
			if (S.ndoms == LIM_SMTPDOMS || !addr_domainok(optarg))
				usage();
			S.doms[S.ndoms++] = optarg;
			break;
		case 'K': keyfile = optarg; break;
		case 'k':
			if (S.ndrop == LIM_SMTPDROP || net_parse(optarg, &S.drop[S.ndrop]) < 0)
				usage();
			S.ndrop++;
			break;
		case 'L': S.local = 1; break;
		case 'm':
			if (!applet_known(optarg) && optarg[0] != '/')
				usage();
			S.mailer = optarg;
			break;
		case 'n':
			if (net_parse(optarg, &net) < 0 || strlen(optarg) >= sizeof S.peer)
				usage();
			given = optarg;
			break;
		case 'p': S.plainok = 1; break;
		case 'q': S.quiet = 1; break;
		case 'r': S.verify = 1; break;
		case 'S': S.submit = 1; break;
		case 's': S.saveblocked = 1; break;
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
	if (smtpdconf_load(&S.conf, NULL) < 0)
		die(EX_CONFIG, "%s", lasterr());
	onoff(&S.warn, S.conf.norelay);
	onoff(&S.verify, S.conf.verifysenderdom);
	onoff(&S.saveblocked, S.conf.saveblockedmsg);
	if (certfile != NULL && (S.cert = tls_loadcert(certfile, keyfile)) == NULL)
		die(EX_CONFIG, "%s: %s", certfile, lasterr());
	S.host = S.ndoms > 0 ? S.doms[0] : S.conf.defaultdomain[0] ? S.conf.defaultdomain : rw_sysname();
	if (S.local) {
		snprintf(S.peer, sizeof S.peer, "localhost");
		snprintf(S.me, sizeof S.me, "localhost");
		S.trusted = S.lo = 1;
	} else {
		peer(given);
		classify();
	}
	if (secrets_usable() == 0)
		S.auth = 1;
	else if (errno != ENOENT)
		logmsg("smtpd", "AUTH off: %s", lasterr());
	conn_init(&S.c, 0, 1);
	S.c.timeout = LIM_SMTPIDLE * 1000;
	bio_init(&S.b, &S.c);
	if (S.refused != NULL) {
		reply("554 5.7.1 %s %s", S.host, S.refused);
		S.errors = 0;
	} else
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
		/* upas's tarpit: every refusal makes a stranger wait longer for the next answer */
		if (S.rejects > S.tarpitted && stranger() && S.refused == NULL) {
			flush();
			sleep(S.rejects > 4 ? LIM_SMTPTARPIT * 4 : 4u << (S.rejects - 1));
			S.tarpitted = S.rejects;
		}
		if (n == BIO_LONG) {
			reply("500 5.5.2 line too long");
			continue;
		}
		if (bio_chomp(line, &n) < 0) {
			reply("500 5.5.2 NUL or CR in command");
			continue;
		}
		command(line);
	}
}
