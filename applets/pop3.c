/*
 * pop3: the POP3 server (RFC 1939, 2449, 5034, 2595) on fds 0 and 1, as
 * inetd or listen runs it. The session sees the mailbox as it was at login,
 * numbered once; deletions wait for QUIT (or upas's SYNC) and are applied by
 * message id after a fresh scan, so mail delivered meanwhile is kept.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "applet.h"
#include "digest.h"
#include "mbox.h"
#include "mimeenc.h"
#include "policy.h"
#include "rewrite.h"
#include "sasl.h"
#include "secrets.h"
#include "tls.h"

enum { Any = -1, Sauth, Strans };	/* AUTHORIZATION, TRANSACTION */

typedef struct Cmd {
	const char *verb;
	int state;	/* the state it runs in, or Any */
	int args;	/* takes arguments */
	void (*fn)(char *arg);
} Cmd;

/* A message of the session, numbered at login. */
typedef struct Pmsg {
	char *id;	/* the mailbox's id for it (an mbox copy's without its count) */
	int occ;	/* 1 for the first message with that id not expunged, 2 for a second... */
	int idx;	/* where the Mailbox holds it now; -1: another program removed it */
	uint64_t size;	/* octets RETR sends, once known */
	unsigned char sized, dele, retr;
	unsigned char gone;	/* deleted and synced: no RSET brings it back */
	char uidl[LIM_UIDL + 1];
} Pmsg;

static struct {
	Conn c;
	Bio b;
	Tlscert *cert;
	const char *host;
	char peer[64];
	int trust;	/* -r: POP-before-SMTP */
	int plainok;	/* -p */
	int dbg;	/* -d: the debug file, or -1 */
	int auth;	/* lib/secrets is usable */
	char chal[LIM_DOMAIN + 64];	/* the APOP timestamp */
	char user[LIM_AUTHUSER + 1];	/* USER's name, waiting for PASS */
	const char *who;	/* logged in as */
	int authfails, bad, state;
	char *box;	/* the mailbox's path */
	Mailbox *mb;	/* NULL: there was no mailbox at login */
	struct stat st;	/* an mbox as last scanned */
	Pmsg *m;
	int nm;
	Str buf;	/* the message being sent */
} S;

/* -d: the conversation, one line each way, credentials left out. */
static void
debug(const char *dir, const char *s)
{
	char line[LIM_POPCMD + 128];
	int n, i;

	if (S.dbg < 0)
		return;
	n = snprintf(line, sizeof line, "%lld %s %s %s", (long long)time(NULL), S.peer, dir, s);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof line - 1)
		n = sizeof line - 2;
	for (i = 0; i < n; i++)
		if ((unsigned char)line[i] < ' ' || line[i] == 0x7f)
			line[i] = '?';
	line[n++] = '\n';
	fd_writeall(S.dbg, line, n);
}

static void
reply(const char *fmt, ...) PRINTF(1, 2);

static void
reply(const char *fmt, ...)
{
	char buf[LIM_POPCMD];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	bio_puts(&S.b, buf);
	bio_write(&S.b, "\r\n", 2);
	debug(">", buf);
}

/* A reply to bad input: too many of them end the session. */
static void
bad(const char *msg)
{
	reply("-ERR %s", msg);
	S.bad++;
}

/* Replies wait while pipelined commands do; anything else sends them. */
static void
flush(void)
{
	if (bio_flush(&S.b) < 0)
		exit(0);
}

/* A last word; nothing is deleted. */
static void
hangup(const char *msg) __attribute__((noreturn));

static void
hangup(const char *msg)
{
	reply("-ERR %s", msg);
	bio_flush(&S.b);
	exit(0);
}

static int
plainok(void)
{
	return S.plainok || tls_active(&S.c);
}

/*
 * The message as RETR and TOP send it: every line ends in CRLF (a CR
 * already before the LF is not doubled), a last line without a newline gets
 * one, a line starting with '.' gets another in front. With b NULL nothing
 * is sent and the result is what LIST reports: the octets the client holds
 * once it removed the stuffed dots (RFC 1939 §11). body: the lines of the
 * body to send after the header and its blank line; all if UINT64_MAX.
 */
static uint64_t
wire(Bio *b, const char *p, size_t n, uint64_t body)
{
	const char *e, *end = p + n;
	uint64_t size = 0;
	size_t len;
	int hdr = 1;

	while (p < end) {
		if (!hdr && body-- == 0)
			break;
		e = memchr(p, '\n', end - p);
		len = (e ? e : end) - p;
		if (len > 0 && p[len - 1] == '\r')
			len--;
		if (b != NULL) {
			if (*p == '.')
				bio_write(b, ".", 1);
			bio_write(b, p, len);
			bio_write(b, "\r\n", 2);
		}
		size += len + 2;
		if (len == 0)
			hdr = 0;
		p = e ? e + 1 : end;
	}
	return size;
}

/* RFC 1939 §7: 1 to 70 characters from 0x21 to 0x7E. The mailbox's id when
 * it is one, else its MD5; a repeated id gets "-2", "-3"... */
static void
setuidl(Pmsg *m)
{
	unsigned char d[16];
	char sfx[16] = "";
	size_t n = strlen(m->id), i;
	int ok = n > 0;

	if (m->occ > 1)
		snprintf(sfx, sizeof sfx, "-%d", m->occ);
	for (i = 0; i < n && ok; i++)
		ok = m->id[i] > ' ' && m->id[i] < 0x7f;
	if (ok && n + strlen(sfx) <= LIM_UIDL) {
		snprintf(m->uidl, sizeof m->uidl, "%s%s", m->id, sfx);
		return;
	}
	md5(m->id, n, d);
	for (i = 0; i < 16; i++)
		snprintf(m->uidl + 2 * i, 3, "%02x", d[i]);
	snprintf(m->uidl + 32, sizeof m->uidl - 32, "%s", sfx);
}

/* A message's id without the count an mbox adds to a copy's ("-2"): the
 * session counts copies itself (occ). */
static const char *
baseid(int i, char *b)
{
	const char *id = mb_id(S.mb, i, b);

	if (id == b)	/* an mbox's, made in b: hex, then "-n" for a copy */
		b[strcspn(b, "-")] = 0;
	return id;
}

static int
cmpmb(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b, c;
	char bx[MB_IDLEN], by[MB_IDLEN];

	c = strcmp(baseid(x, bx), baseid(y, by));
	return c != 0 ? c : (x > y) - (x < y);
}

/* The Mailbox's messages by id, then by position. */
static int *
byid(int *n)
{
	int *v, i;

	*n = mb_count(S.mb);
	v = xmalloc((*n + 1) * sizeof *v);
	for (i = 0; i < *n; i++)
		v[i] = i;
	qsort(v, *n, sizeof *v, cmpmb);
	return v;
}

/* After a scan: where each message of the session is now, found by id. */
static void
remap(void)
{
	int *v, n, lo, hi, mid;
	char b[MB_IDLEN];
	Pmsg *m;

	v = byid(&n);
	for (m = S.m; m < S.m + S.nm; m++) {
		if (m->gone)
			continue;
		lo = 0, hi = n;
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			if (strcmp(baseid(v[mid], b), m->id) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		lo += m->occ - 1;
		m->idx = lo < n && strcmp(baseid(v[lo], b), m->id) == 0 ? v[lo] : -1;
	}
	free(v);
}

static int
cmpocc(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b, c = strcmp(S.m[x].id, S.m[y].id);

	return c != 0 ? c : (x > y) - (x < y);
}

/*
 * Copies of one message share an id (an mbox's identical messages) and
 * are told apart by their order: the first, the second... of those not
 * yet expunged, so once one goes, the copies after it count one less.
 */
static void
recount(void)
{
	int *v = xmalloc((S.nm + 1) * sizeof *v), i, n = 0;

	for (i = 0; i < S.nm; i++)
		if (!S.m[i].gone)
			v[n++] = i;
	qsort(v, n, sizeof *v, cmpocc);
	for (i = 0; i < n; i++)
		S.m[v[i]].occ = i > 0 && strcmp(S.m[v[i]].id, S.m[v[i - 1]].id) == 0 ? S.m[v[i - 1]].occ + 1 : 1;
	free(v);
}

static void
mark(void)
{
	if (mb_kind(S.mb) != MB_MBOX || stat(S.box, &S.st) < 0)
		memset(&S.st, 0, sizeof S.st);
}

/* Scan again and find the session's messages. The mbox is looked at
 * before the scan, so a change during it is seen next time. */
static int
refresh(void)
{
	int r;

	mark();
	r = mb_refresh(S.mb);
	remap();
	return r < 0 ? -1 : 0;
}

/* An mbox another program rewrote puts other messages at the offsets we
 * know: anything but what we saw last sends us to scan it again. */
static int
rewritten(void)
{
	struct stat st;

	if (mb_kind(S.mb) != MB_MBOX)
		return 0;
	return stat(S.box, &st) < 0 || st.st_ino != S.st.st_ino || st.st_dev != S.st.st_dev ||
	    st.st_size != S.st.st_size || st.st_mtim.tv_sec != S.st.st_mtim.tv_sec ||
	    st.st_mtim.tv_nsec != S.st.st_mtim.tv_nsec;
}

/* Message m into S.buf, its size learnt: 0; -1 with lasterr(); -2 when
 * another program removed it. */
static int
readmsg(Pmsg *m)
{
	str_reset(&S.buf);
	if (rewritten() && refresh() < 0)
		return -1;
	if (m->idx < 0)
		return -2;
	if (mb_read(S.mb, m->idx, &S.buf) < 0) {
		if (refresh() < 0)
			return -1;
		if (m->idx < 0)
			return -2;
		str_reset(&S.buf);
		if (mb_read(S.mb, m->idx, &S.buf) < 0)
			return -1;
	}
	m->size = wire(NULL, S.buf.p ? S.buf.p : "", S.buf.n, UINT64_MAX);
	m->sized = 1;
	return 0;
}

/* The answer when readmsg failed. */
static void
unreadable(Pmsg *m, int r)
{
	if (r == -2) {
		reply("-ERR message %d was removed by another program", (int)(m - S.m) + 1);
		return;
	}
	logmsg("pop3", "%s %s: %s", S.peer, S.who, lasterr());
	reply("-ERR [SYS/TEMP] cannot read message %d", (int)(m - S.m) + 1);
}

static int
live(const Pmsg *m)
{
	return !m->dele && !m->gone && m->idx >= 0;
}

/* Sizes of every message still listed; 0, or -1 after answering. */
static int
sizeall(void)
{
	Pmsg *m;
	int r;

	for (m = S.m; m < S.m + S.nm; m++)
		if (live(m) && !m->sized && (r = readmsg(m)) < 0 && r != -2) {
			unreadable(m, r);
			return -1;
		}
	return 0;
}

/* A message number argument: the message, or NULL after answering. */
static Pmsg *
msgarg(const char *s)
{
	unsigned long v;
	size_t i, n = strlen(s);
	Pmsg *m;

	for (i = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++)
		;
	if (n == 0 || i != n || n > 9) {
		bad("syntax: a message number");
		return NULL;
	}
	v = strtoul(s, NULL, 10);
	if (v < 1 || v > (unsigned long)S.nm) {
		reply("-ERR no message %lu", v);
		return NULL;
	}
	m = &S.m[v - 1];
	if (m->dele || m->gone) {
		reply("-ERR message %lu is deleted", v);
		return NULL;
	}
	if (m->idx < 0) {
		reply("-ERR message %lu was removed by another program", v);
		return NULL;
	}
	return m;
}

/*
 * QUIT and SYNC: a fresh scan (others may have appended, or moved messages
 * about), then the session's wishes set on the messages found by id, and
 * one sync under the mailbox's locks. Retrieved messages that stay are
 * marked seen (and no longer new), as Dovecot does. Flags a failed sync
 * left pending are dropped first, so only what the session now says counts.
 */
static int
update(void)
{
	Pmsg *m;
	int todo = 0, r;

	for (m = S.m; m < S.m + S.nm; m++)
		if ((m->dele && !m->gone) || m->retr)
			todo = 1;
	if (!todo)
		return 0;
	if (refresh() < 0)
		return -1;
	for (m = S.m; m < S.m + S.nm; m++) {
		if (m->gone || m->idx < 0)
			continue;
		mb_setflags(S.mb, m->idx, mb_msg(S.mb, m->idx)->dflags, MF_ALL | MF_EXPUNGE);
		if (m->dele)
			mb_setflags(S.mb, m->idx, MF_EXPUNGE, 0);
		else if (m->retr)
			mb_setflags(S.mb, m->idx, MF_SEEN | MF_OLD, 0);
	}
	if ((r = mb_sync(S.mb)) < 0) {
		logmsg("pop3", "%s %s: sync: %s", S.peer, S.who, lasterr());
		refresh();
	} else {
		/* expunged: gone, before the copies left are found again */
		for (m = S.m; m < S.m + S.nm; m++)
			if (m->dele && m->idx >= 0)
				m->gone = 1;
		recount();
		mark();
		remap();
	}
	for (m = S.m; m < S.m + S.nm; m++)
		if (m->dele && !m->gone && m->idx < 0)
			m->gone = 1;
	return r;
}

/* The session's messages, numbered once: as the mailbox holds them now. */
static void
snapshot(void)
{
	char b[MB_IDLEN];
	int i;

	S.nm = mb_count(S.mb);
	S.m = xmalloc((S.nm + 1) * sizeof *S.m);
	memset(S.m, 0, (S.nm + 1) * sizeof *S.m);
	for (i = 0; i < S.nm; i++) {
		S.m[i].idx = i;
		S.m[i].id = xstrdup(baseid(i, b));
	}
	recount();
	for (i = 0; i < S.nm; i++)
		setuidl(&S.m[i]);
}

/* Open the mailbox at path (none there: an empty maildrop); hangs up if it cannot. */
static void
openbox(const char *path)
{
	struct stat st;
	int busy;

	S.box = xstrdup(path);
	S.state = Strans;
	if (lstat(path, &st) < 0 && errno == ENOENT)
		return;
	memset(&st, 0, sizeof st);
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
		S.st = st;
	if ((S.mb = mb_open(path, MB_RDWR)) == NULL) {
		busy = errno == EWOULDBLOCK;
		logmsg("pop3", "%s %s: %s", S.peer, S.who, lasterr());
		hangup(busy ? "[IN-USE] the mailbox is busy, try again later" :
		    "[SYS/TEMP] cannot open the mailbox");
	}
	/* what IMAP marked \Deleted stays for IMAP's EXPUNGE */
	mb_keepdeleted(S.mb, 1);
	snapshot();
}

/* Authenticated: the ratify entry (as root), then become the owner of
 * box/USER (never root), then the mailbox. */
static void
loggedin(const char *user, const char *how)
{
	char path[LIM_PATHNAME];
	uid_t uid;
	gid_t gid;

	S.who = xstrdup(user);
	logmsg("pop3", "%s %s login %s", S.peer, how, user);
	if (S.trust && ratify_trust(S.peer) < 0)
		logmsg("pop3", "%s ratify: %s", S.peer, lasterr());
	logkeep("pop3");
	if (upas_path(path, sizeof path, "box", user, "mbox", NULL) < 0 ||
	    priv_box(user, &uid, &gid) < 0 || priv_become(uid, gid) < 0) {
		logmsg("pop3", "%s %s: %s", S.peer, user, lasterr());
		hangup("[SYS/PERM] no mailbox to serve");
	}
	openbox(path);
	reply("+OK %s has %d messages", user, S.nm);
}

/* A failed login waits 1, 2, 4... seconds, and too many end the session. */
static void
failed(const char *how, const char *user)
{
	S.authfails++;
	logmsg("pop3", "%s %s %s failed (%d)", S.peer, how, user[0] ? user : "?", S.authfails);
	flush();
	sleep(sasl_delay(S.authfails));
	reply("-ERR [AUTH] authentication failed");
	if (S.authfails >= LIM_AUTHFAILS) {
		bio_flush(&S.b);
		exit(0);
	}
}

static int
noauth(void)
{
	if (S.auth)
		return 0;
	reply("-ERR [SYS/PERM] no authentication is configured");
	return 1;
}

static void
cmd_user(char *arg)
{
	if (noauth())
		return;
	if (!plainok()) {
		reply("-ERR [AUTH] plaintext passwords are refused without TLS");
		return;
	}
	if (!sasl_name(arg, strlen(arg))) {
		bad("syntax: USER name");
		return;
	}
	snprintf(S.user, sizeof S.user, "%s", arg);
	reply("+OK now PASS");
}

static void
cmd_pass(char *arg)
{
	char user[LIM_AUTHUSER + 1];
	int r;

	if (S.user[0] == 0) {
		explicit_bzero(arg, strlen(arg));
		bad("USER first");
		return;
	}
	snprintf(user, sizeof user, "%s", S.user);
	S.user[0] = 0;
	r = secrets_verify(user, arg);
	explicit_bzero(arg, strlen(arg));
	if (r == 1)
		loggedin(user, "USER");
	else if (r < 0) {
		logmsg("pop3", "%s USER %s: %s", S.peer, user, lasterr());
		reply("-ERR [SYS/TEMP] temporary authentication failure");
	} else
		failed("USER", user);
}

/* RFC 1939 §7: the MD5 of our timestamp and the shared secret, in hex. */
static void
cmd_apop(char *arg)
{
	char secret[LIM_SECRET + 1], buf[sizeof S.chal + LIM_SECRET + 1], hex[33], *d;
	unsigned char dig[16];
	int r, i;

	if (noauth())
		return;
	if ((d = strrchr(arg, ' ')) == NULL) {
		bad("syntax: APOP name digest");
		return;
	}
	*d++ = 0;
	for (i = 0; d[i] != 0 && hexdigit(d[i]) >= 0; i++)
		d[i] |= 0x20;
	if (!sasl_name(arg, strlen(arg)) || i != 32 || d[i] != 0) {
		bad("syntax: APOP name digest");
		return;
	}
	r = secrets_get(arg, secret, sizeof secret);
	if (r == SEC_PLAIN) {
		snprintf(buf, sizeof buf, "%s%s", S.chal, secret);
		md5(buf, strlen(buf), dig);
		for (i = 0; i < 16; i++)
			snprintf(hex + 2 * i, 3, "%02x", dig[i]);
		r = secrets_equal(d, hex);
	} else if (r >= 0)
		r = 0;	/* unknown, or only a hash: APOP needs the secret itself */
	explicit_bzero(secret, sizeof secret);
	explicit_bzero(buf, sizeof buf);
	if (r == 1)
		loggedin(arg, "APOP");
	else if (r < 0) {
		logmsg("pop3", "%s APOP %s: %s", S.peer, arg, lasterr());
		reply("-ERR [SYS/TEMP] temporary authentication failure");
	} else
		failed("APOP", arg);
}

/* A "+ " challenge and the client's answer, for core/sasl.c (RFC 5034). */
static int
exchange(void *arg, const char *b64, char *line, size_t max)
{
	int n;

	reply("+ %s", b64);
	flush();
	n = sasl_getline(&S.b, line, max);
	debug("<", "(SASL response)");
	return n;
}

static void
cmd_auth(char *arg)
{
	char *mech, *ir;
	Sasl sa = { exchange, NULL, NULL, "" };
	int r;

	if (noauth())
		return;
	if (*arg == 0) {
		/* the mechanisms, as clients of RFC 1734 ask */
		reply("+OK");
		reply("CRAM-MD5");
		if (plainok()) {
			reply("PLAIN");
			reply("LOGIN");
		}
		reply(".");
		return;
	}
	mech = strsep(&arg, " ");
	ir = arg;
	if (ir != NULL && (*ir == 0 || strchr(ir, ' ') != NULL)) {
		bad("syntax: AUTH mechanism [initial-response]");
		return;
	}
	if (!sasl_known(mech)) {
		reply("-ERR unknown authentication mechanism");
		return;
	}
	if (strcasecmp(mech, "CRAM-MD5") == 0 && ir != NULL) {
		bad("CRAM-MD5 takes no initial response");
		return;
	}
	if (strcasecmp(mech, "CRAM-MD5") != 0 && !plainok()) {
		reply("-ERR [AUTH] plaintext passwords are refused without TLS");
		return;
	}
	sa.host = S.host;
	switch (r = sasl_server(&sa, mech, ir)) {
	case SASL_OK:
		loggedin(sa.user, mech);
		return;
	case SASL_TEMP:
		logmsg("pop3", "%s AUTH %s %s: %s", S.peer, mech, sa.user, lasterr());
		reply("-ERR [SYS/TEMP] temporary authentication failure");
		return;
	case SASL_CANCEL:
		reply("-ERR authentication cancelled");
		return;
	case SASL_BADB64:
		bad("bad base64 in the response");
		return;
	case SASL_LONG:
		bad("line too long");
		return;
	case SASL_IO:
		exit(0);
	}
	failed(mech, sa.user);
}

/* Plaintext the client sent after STLS is thrown away (tls_starttls_server). */
static void
cmd_stls(char *arg)
{
	if (S.cert == NULL) {
		reply("-ERR STLS not offered");
		return;
	}
	if (tls_active(&S.c)) {
		reply("-ERR TLS already active");
		return;
	}
	reply("+OK begin TLS");
	if (tls_starttls_server(&S.b, S.cert) < 0) {
		logmsg("pop3", "%s stls: %s", S.peer, lasterr());
		exit(0);
	}
	S.user[0] = 0;
}

/* RFC 2449: the same list in both states. */
static void
cmd_capa(char *arg)
{
	reply("+OK capabilities follow");
	reply("TOP");
	reply("UIDL");
	reply("RESP-CODES");
	reply("AUTH-RESP-CODE");
	reply("PIPELINING");
	if (S.auth && plainok())
		reply("USER");
	if (S.auth)
		reply("SASL CRAM-MD5%s", plainok() ? " PLAIN LOGIN" : "");
	if (S.cert != NULL && !tls_active(&S.c))
		reply("STLS");
	reply("IMPLEMENTATION upas");
	reply(".");
}

static void
cmd_stat(char *arg)
{
	uint64_t total = 0;
	int n = 0;
	Pmsg *m;

	if (sizeall() < 0)
		return;
	for (m = S.m; m < S.m + S.nm; m++)
		if (live(m)) {
			n++;
			total += m->size;
		}
	reply("+OK %d %llu", n, (unsigned long long)total);
}

static void
cmd_list(char *arg)
{
	uint64_t total = 0;
	int n = 0, r;
	Pmsg *m;

	if (*arg != 0) {
		if ((m = msgarg(arg)) == NULL)
			return;
		if (!m->sized && (r = readmsg(m)) < 0)
			unreadable(m, r);
		else
			reply("+OK %d %llu", (int)(m - S.m) + 1, (unsigned long long)m->size);
		return;
	}
	if (sizeall() < 0)
		return;
	for (m = S.m; m < S.m + S.nm; m++)
		if (live(m)) {
			n++;
			total += m->size;
		}
	reply("+OK %d messages (%llu octets)", n, (unsigned long long)total);
	for (m = S.m; m < S.m + S.nm; m++)
		if (live(m))
			reply("%d %llu", (int)(m - S.m) + 1, (unsigned long long)m->size);
	reply(".");
}

static void
cmd_uidl(char *arg)
{
	Pmsg *m;

	if (*arg != 0) {
		if ((m = msgarg(arg)) != NULL)
			reply("+OK %d %s", (int)(m - S.m) + 1, m->uidl);
		return;
	}
	reply("+OK unique-id listing follows");
	for (m = S.m; m < S.m + S.nm; m++)
		if (live(m))
			reply("%d %s", (int)(m - S.m) + 1, m->uidl);
	reply(".");
}

/* RETR (body UINT64_MAX) and TOP: the message, or its header and that many lines of its body. */
static void
transmit(Pmsg *m, uint64_t body)
{
	int r;

	if ((r = readmsg(m)) < 0) {
		unreadable(m, r);
		return;
	}
	if (body == UINT64_MAX) {
		reply("+OK %llu octets", (unsigned long long)m->size);
		m->retr = 1;
	} else
		reply("+OK top of message follows");
	wire(&S.b, S.buf.p ? S.buf.p : "", S.buf.n, body);
	bio_write(&S.b, ".\r\n", 3);
}

static void
cmd_retr(char *arg)
{
	Pmsg *m;

	if ((m = msgarg(arg)) != NULL)
		transmit(m, UINT64_MAX);
}

static void
cmd_top(char *arg)
{
	char *n = strchr(arg, ' ');
	Pmsg *m;
	size_t i;

	if (n == NULL) {
		bad("syntax: TOP message lines");
		return;
	}
	*n++ = 0;
	for (i = 0; n[i] >= '0' && n[i] <= '9'; i++)
		;
	if (i == 0 || n[i] != 0 || i > 18) {
		bad("syntax: TOP message lines");
		return;
	}
	if ((m = msgarg(arg)) != NULL)
		transmit(m, strtoull(n, NULL, 10));
}

static void
cmd_dele(char *arg)
{
	Pmsg *m;

	if ((m = msgarg(arg)) == NULL)
		return;
	m->dele = 1;
	reply("+OK message %d deleted", (int)(m - S.m) + 1);
}

/* Undelete what QUIT or SYNC has not yet removed. */
static void
cmd_rset(char *arg)
{
	Pmsg *m;
	int n = 0;

	for (m = S.m; m < S.m + S.nm; m++) {
		if (!m->gone)
			m->dele = 0;
		n += live(m);
	}
	reply("+OK %d messages", n);
}

static void
cmd_noop(char *arg)
{
	reply("+OK");
}

/* upas's SYNC: apply the deletions now; the numbers stay as they are. */
static void
cmd_sync(char *arg)
{
	if (update() < 0)
		reply("-ERR [SYS/TEMP] the deletions were not all applied");
	else
		reply("+OK synced");
	flush();
	mb_purge(S.mb);
}

static void
cmd_quit(char *arg)
{
	Pmsg *m;
	int nretr = 0, ndele = 0;

	if (S.state == Strans) {
		for (m = S.m; m < S.m + S.nm; m++) {
			nretr += m->retr;
			ndele += m->dele;
		}
		if (update() < 0)
			hangup("[SYS/TEMP] some deleted messages were not removed");
		logmsg("pop3", "%s %s quit: %d retrieved, %d deleted", S.peer, S.who, nretr, ndele);
	}
	reply("+OK %s POP3 server signing off", S.host);
	bio_flush(&S.b);
	if (S.mb != NULL)
		mb_purge(S.mb);	/* the client has its answer; the files are already out of the mailbox */
	exit(0);
}

static const Cmd cmds[] = {
	{"APOP", Sauth, 1, cmd_apop},
	{"AUTH", Sauth, 1, cmd_auth},
	{"CAPA", Any, 0, cmd_capa},
	{"DELE", Strans, 1, cmd_dele},
	{"LIST", Strans, 1, cmd_list},
	{"NOOP", Any, 0, cmd_noop},
	{"PASS", Sauth, 1, cmd_pass},
	{"QUIT", Any, 0, cmd_quit},
	{"RETR", Strans, 1, cmd_retr},
	{"RSET", Strans, 0, cmd_rset},
	{"STAT", Strans, 0, cmd_stat},
	{"STLS", Sauth, 0, cmd_stls},
	{"SYNC", Strans, 0, cmd_sync},
	{"TOP", Strans, 1, cmd_top},
	{"UIDL", Strans, 1, cmd_uidl},
	{"USER", Sauth, 1, cmd_user},
};

/*
 * "VERB[ args]": the verb in any case; PASS keeps its argument whole (a
 * password may hold blanks), the others lose surrounding blanks.
 */
static void
command(char *line)
{
	const Cmd *c;
	char *arg, *e;
	size_t n;

	n = strcspn(line, " ");
	for (c = cmds; c < cmds + nelem(cmds); c++)
		if (strlen(c->verb) == n && strncasecmp(c->verb, line, n) == 0)
			break;
	if (c < cmds + nelem(cmds) && (c->fn == cmd_pass || c->fn == cmd_auth || c->fn == cmd_apop))
		debug("<", c->verb);
	else
		debug("<", line);
	arg = line + n;
	if (*arg == ' ')
		*arg++ = 0;
	if (c == cmds + nelem(cmds) || c->fn != cmd_pass) {
		while (*arg == ' ')
			arg++;
		for (e = arg + strlen(arg); e > arg && e[-1] == ' '; e--)
			;
		*e = 0;
		S.user[0] = 0;	/* PASS must come right after USER */
	}
	if (c == cmds + nelem(cmds)) {
		bad("unknown command");
		return;
	}
	if (c->state != Any && c->state != S.state) {
		bad(S.state == Sauth ? "log in first" : "already logged in");
		return;
	}
	if (!c->args && *arg != 0) {
		bad("no arguments expected");
		return;
	}
	c->fn(arg);
}

/* The peer's address: -r, the socket, or what tcpserver-like front ends (listen too) export. */
static void
peer(const char *given)
{
	if (given != NULL && strcmp(given, "-") != 0)
		snprintf(S.peer, sizeof S.peer, "%s", given);
	else
		sock_addr(0, 1, S.peer, sizeof S.peer, "unknown");
}

/* -a: the mailbox at path, no login; as root, as its owner (never root). */
static void
preauth(const char *path)
{
	uid_t uid;
	gid_t gid;

	S.who = path;
	if (geteuid() == 0) {
		if (priv_owner(path, &uid, &gid) < 0)
			die(EX_NOPERM, "%s", lasterr());
		if (uid == 0)
			die(EX_NOPERM, "%s: owned by root: never served as root", path);
		logkeep("pop3");
		if (priv_become(uid, gid) < 0)
			die(EX_NOPERM, "%s", lasterr());
	}
	openbox(path);
	logmsg("pop3", "%s preauthenticated %s", S.peer, path);
}

int
pop3_main(int argc, char **argv)
{
	char line[LIM_POPCMD];
	const char *certfile = NULL, *keyfile = NULL, *given = NULL, *dbgfile = NULL, *box = NULL;
	unsigned rnd;
	ssize_t n;
	Net net;
	int o;

	while ((o = getopt(argc, argv, "a:d:K:pr:t:")) != -1) {
		switch (o) {
		case 'a': box = optarg; break;
		case 'd': dbgfile = optarg; break;
		case 'K': keyfile = optarg; break;
		case 'p': S.plainok = 1; break;
		case 'r':
			if (strcmp(optarg, "-") != 0 && (net_parse(optarg, &net) < 0 || strlen(optarg) >= sizeof S.peer))
				usage();
			given = optarg;
			S.trust = 1;
			break;
		case 't': certfile = optarg; break;
		default: usage();
		}
	}
	if (optind != argc || (keyfile != NULL && certfile == NULL))
		usage();
	S.dbg = -1;
	if (dbgfile != NULL && (S.dbg = open(dbgfile, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600)) < 0)
		die(EX_CANTCREAT, "%s:", dbgfile);
	if (certfile != NULL && (S.cert = tls_loadcert(certfile, keyfile)) == NULL)
		die(EX_CONFIG, "%s: %s", certfile, lasterr());
	signal(SIGPIPE, SIG_IGN);
	S.host = rw_sysname();
	peer(given);
	conn_init(&S.c, 0, 1);
	S.c.timeout = LIM_POPIDLE * 1000;
	bio_init(&S.b, &S.c);
	if (box != NULL) {
		preauth(box);
		reply("+OK %s POP3 server ready", S.host);
	} else {
		if (secrets_usable() == 0)
			S.auth = 1;
		else if (errno != ENOENT)
			logmsg("pop3", "authentication off: %s", lasterr());
		mime_random(&rnd, sizeof rnd);
		snprintf(S.chal, sizeof S.chal, "<%d.%u.%lld@%s>", (int)getpid(), rnd, (long long)time(NULL), S.host);
		if (S.auth)
			reply("+OK %s POP3 server ready %s", S.host, S.chal);
		else
			reply("+OK %s POP3 server ready", S.host);
	}
	for (;;) {
		if (S.bad >= LIM_POPERRS)
			hangup("too many bad commands, closing");
		if (bio_buffered(&S.b) == 0 && !tls_pending(&S.c))
			flush();
		n = bio_line(&S.b, line, sizeof line);
		/* RFC 1939 §3: an idle session ends without a word and without UPDATE */
		if (n == BIO_EOF || n == BIO_ERR)
			exit(0);
		if (n == BIO_LONG) {
			bad("line too long");
			continue;
		}
		if (bio_chomp(line, &n) < 0) {
			bad("NUL or CR in command");
			continue;
		}
		command(line);
	}
}
