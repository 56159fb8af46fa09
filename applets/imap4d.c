/*
 * imap4d: the IMAP4rev1 server (RFC 3501) on fds 0 and 1, as inetd or
 * listen runs it, with STARTTLS, SASL-IR, LITERAL+, IDLE, UIDPLUS, MOVE,
 * UNSELECT, NAMESPACE, ID, ENABLE, CHILDREN and SPECIAL-USE.
 *
 * The selected mailbox is seen through a view: its messages by UID, each
 * with the flags last told to the client. Before a command the view is
 * brought up to date when the mailbox or its .imp changed (a stat each),
 * reporting EXISTS, RECENT and FETCH FLAGS; messages others removed are
 * reported as EXPUNGE only where RFC 3501 §7.4.1 allows it (not during
 * FETCH, STORE, SEARCH, nor around commands numbering by sequence), until
 * then they stay in the view as ghosts.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "applet.h"
#include "imap.h"
#include "mbox.h"
#include "policy.h"
#include "rewrite.h"
#include "sasl.h"
#include "secrets.h"
#include "tls.h"

enum { Snoauth = 1, Sauth = 2, Ssel = 4 };	/* states, as bits for the command table */

typedef struct Imsg {
	uint32_t uid;	/* what finds it in the Mailbox after a scan */
	int idx;	/* in the Mailbox now; -1: gone, not yet reported */
	uint32_t size;	/* RFC822.SIZE once known (a message is under LIM_MBOXMSG) */
	uint16_t flags;	/* as last told: MF_* | IF_RECENT */
	unsigned char sized;
} Imsg;

/* What a stat tells of a mailbox, to see whether it changed. */
typedef struct Mark {
	struct timespec t[4];
	off_t size[4];
	ino_t ino[4];
} Mark;

static struct {
	Conn c;
	Bio b;
	Tlscert *cert;
	const char *host;
	char peer[64];
	int trust, plainok, auth, verbose;
	int dbg;
	int state;
	int authfails, bad;
	char *user;	/* logged in as */
	Arena ar;	/* the command's */
	Str out;	/* a response being built */
	/* the selected mailbox */
	char *boxname;	/* as the client named it */
	char *path;
	int ro;
	Mailbox *mb;
	Imp imp;
	Imsg *m;
	Kwmap kw;	/* the view's keywords as last told, by UID */
	int nm, am;
	uint32_t uidnext;	/* as told */
	int nrecent;
	uint32_t validity;	/* as told at SELECT */
	Mark mark;
	int ghosts;
	int pending;	/* a quiet rescan left changes to tell */
	int condstore;	/* RFC 7162 enabled: MODSEQ goes with every FETCH FLAGS */
	/* the message read last */
	uint32_t cuid;
	Str craw;
	Msg cmsg;
	int cparsed;
} S;

static void update(int expunges);

/* -d: the conversation, credentials left out. */
static void
debug(const char *dir, const char *s, size_t n)
{
	char line[512];
	int k, i;

	if (S.dbg < 0)
		return;
	k = snprintf(line, sizeof line, "%lld %s %s %.*s", (long long)time(NULL), S.peer, dir,
	    (int)(n > 400 ? 400 : n), s);
	if (k < 0)
		return;
	if ((size_t)k >= sizeof line - 1)
		k = sizeof line - 2;
	for (i = 0; i < k; i++)
		if ((unsigned char)line[i] < ' ' || line[i] == 0x7f)
			line[i] = '?';
	line[k++] = '\n';
	fd_writeall(S.dbg, line, k);
}

static void
flush(void)
{
	if (bio_flush(&S.b) < 0)
		exit(0);
}

/* Send S.out as it is (it holds one or more complete lines). */
static void
sendout(void)
{
	if (S.out.n > 0) {
		bio_write(&S.b, S.out.p, S.out.n);
		debug(">", S.out.p, S.out.n);
	}
	str_reset(&S.out);
}

static void
reply(const char *fmt, ...) PRINTF(1, 2);

static void
reply(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof buf)
		n = sizeof buf - 1;
	bio_write(&S.b, buf, n);
	bio_write(&S.b, "\r\n", 2);
	debug(">", buf, n);
}

static void
hangup(const char *msg) __attribute__((noreturn));

static void
hangup(const char *msg)
{
	reply("* BYE %s", msg);
	bio_flush(&S.b);
	exit(0);
}

static int
plainok(void)
{
	return S.plainok || tls_active(&S.c);
}

static void
capas(Str *s)
{
	str_adds(s, "IMAP4rev1 SASL-IR LITERAL+ ID ENABLE IDLE");
	if (S.state == Snoauth) {
		if (S.cert != NULL && !tls_active(&S.c))
			str_adds(s, " STARTTLS");
		if (!plainok())
			str_adds(s, " LOGINDISABLED");
		if (S.auth)
			str_adds(s, plainok() ? " AUTH=PLAIN AUTH=LOGIN AUTH=CRAM-MD5" : " AUTH=CRAM-MD5");
	} else
		str_adds(s, " NAMESPACE UIDPLUS MOVE UNSELECT CHILDREN SPECIAL-USE BINARY WITHIN CONDSTORE");
}

/* ---- the view of the selected mailbox ---- */

static void
markimp(Mark *k)
{
	struct stat st;

	memset(&k->t[3], 0, sizeof k->t[3]);
	k->size[3] = k->ino[3] = 0;
	if (stat(S.imp.path, &st) == 0)
		k->t[3] = st.st_mtim, k->size[3] = st.st_size, k->ino[3] = st.st_ino;
}

static void
markbox(Mark *k)
{
	static const char *sub[] = { "", "/cur", "/new" };
	char p[LIM_PATHNAME + 8];
	struct stat st;
	int i, n = mb_kind(S.mb) == MB_MAILDIR ? 3 : 1;

	memset(k, 0, sizeof *k);
	for (i = 0; i < n; i++) {
		snprintf(p, sizeof p, "%s%s", S.path, sub[i]);
		if (stat(p, &st) == 0)
			k->t[i] = st.st_mtim, k->size[i] = st.st_size, k->ino[i] = st.st_ino;
	}
	if (n == 3)
		memset(&k->t[0], 0, sizeof k->t[0]), k->size[0] = 0;	/* a Maildir's own: .idx, .imp */
	markimp(k);
}

static uint32_t *sortuid;	/* for cmpidx: the UIDs of the Mailbox's messages */

static int
cmpidx(const void *a, const void *b)
{
	uint32_t x = sortuid[*(const int *)a], y = sortuid[*(const int *)b];

	return (x > y) - (x < y);
}

static int
tellflags(Mailbox *mb, int idx)
{
	return mb_msg(mb, idx)->flags & (MF_SEEN | MF_ANSWERED | MF_FLAGGED | MF_DELETED | MF_DRAFT);
}

static void
flagstr(Str *s, int flags, const char *kw)
{
	static const struct { int f; const char *name; } fl[] = {
		{ MF_SEEN, "\\Seen" }, { MF_ANSWERED, "\\Answered" }, { MF_FLAGGED, "\\Flagged" },
		{ MF_DELETED, "\\Deleted" }, { MF_DRAFT, "\\Draft" }, { IF_RECENT, "\\Recent" },
	};
	size_t i, n0 = s->n;

	str_addc(s, '(');
	for (i = 0; i < nelem(fl); i++)
		if (flags & fl[i].f)
			str_fmt(s, "%s%s", s->n > n0 + 1 ? " " : "", fl[i].name);
	if (kw != NULL)
		str_fmt(s, "%s%s", s->n > n0 + 1 ? " " : "", kw);
	str_addc(s, ')');
}

static int
samekw(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Messages the client was told of that are gone: EXPUNGE, from the end. */
static void
expunged(void)
{
	int i, j;

	if (S.ghosts == 0)
		return;
	for (i = S.nm - 1; i >= 0; i--)
		if (S.m[i].idx < 0) {
			str_fmt(&S.out, "* %d EXPUNGE\r\n", i + 1);
			if (S.m[i].flags & IF_RECENT)
				S.nrecent--;
		}
	for (i = j = 0; i < S.nm; i++) {
		if (S.m[i].idx < 0) {
			kw_set(&S.kw, S.m[i].uid, NULL);
			continue;
		}
		S.m[j++] = S.m[i];
	}
	S.nm = j;
	S.ghosts = 0;
	sendout();
}

enum { Rselect, Rtell, Rquiet };

/*
 * With the .imp locked: scan the mailbox again, give new messages their
 * UIDs and find the view's messages by UID (the ones gone become ghosts,
 * reported when expunges may be). Rselect and Rtell also add the new
 * messages to the view and take up the mailbox's flags and the keywords,
 * Rtell telling the client what changed; Rquiet does neither (the view's
 * array and what the client was told stay as they are) and leaves that to
 * the next update. The messages added, or -1.
 */
static int
rescan(int mode)
{
	int n, i, *v, lo, hi, mid, c, nrec = 0, old = S.nm;
	uint32_t *uid, rec = 0xffffffffu, maxuid;
	Imsg *m;

	markbox(&S.mark);
	S.pending = mode == Rquiet;
	if (mb_refresh(S.mb) < 0)
		return -1;
	n = mb_count(S.mb);
	S.imp.claim = !S.ro && mode != Rquiet;
	if (imp_match(&S.imp, S.mb) == 0)
		return -1;
	uid = S.imp.uid;
	if (mode != Rselect && S.imp.validity != S.validity) {
		imp_unlock(&S.imp);
		hangup("[UIDVALIDITY] The mailbox was replaced; select it again.");
	}
	if (!S.ro && mode != Rquiet)
		rec = S.imp.claimed;
	/* the view's messages, found by UID */
	v = xmalloc((n + 1) * sizeof *v);
	for (i = 0; i < n; i++)
		v[i] = i;
	sortuid = uid;
	if (n > 1)
		qsort(v, n, sizeof *v, cmpidx);
	maxuid = 0;
	for (m = S.m; m < S.m + S.nm; m++) {
		if (m->uid > maxuid)
			maxuid = m->uid;
		if (m->idx < 0)
			continue;
		lo = 0, hi = n;
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			if (uid[v[mid]] < m->uid)
				lo = mid + 1;
			else
				hi = mid;
		}
		m->idx = lo < n && uid[v[lo]] == m->uid ? v[lo] : -1;
		if (m->idx < 0)
			S.ghosts++;
	}
	if (mode == Rquiet) {
		free(v);
		return 0;
	}
	/* new messages, by UID (v is in UID order); one below what the view
	 * holds stays unseen till the mailbox is selected again */
	for (i = c = 0; i < n; i++)
		if (uid[v[i]] > maxuid)
			v[c++] = v[i];
	if (S.nm + c > S.am) {
		S.am = S.nm + c + 64;
		S.m = xrealloc(S.m, S.am * sizeof *S.m);
	}
	for (i = 0; i < c; i++) {
		m = &S.m[S.nm++];
		memset(m, 0, sizeof *m);
		m->uid = uid[v[i]];
		m->idx = v[i];
		if (m->uid > rec) {
			m->flags = IF_RECENT;
			nrec++;
		}
	}
	free(v);
	/* flags: the mailbox's, keywords from the .imp; new messages are told by EXISTS */
	for (m = S.m; m < S.m + S.nm; m++) {
		int fl;
		char *kw;

		if (m->idx < 0)
			continue;
		fl = tellflags(S.mb, m->idx) | (m->flags & IF_RECENT);
		kw = (char *)imp_kw(&S.imp, m->idx);
		if (mode == Rtell && m - S.m < old && (fl != m->flags || !samekw(kw, kw_get(&S.kw, m->uid)))) {
			str_fmt(&S.out, "* %d FETCH (UID %u FLAGS ", (int)(m - S.m) + 1, m->uid);
			flagstr(&S.out, fl, kw);
			if (S.condstore)
				str_fmt(&S.out, " MODSEQ (%llu)", (unsigned long long)imp_modseq(&S.imp, m->idx));
			str_adds(&S.out, ")\r\n");
		}
		m->flags = fl;
		if (!samekw(kw, kw_get(&S.kw, m->uid)))
			kw_set(&S.kw, m->uid, kw);
	}
	S.nrecent += nrec;
	return S.nm - old;
}

/*
 * Unlock the .imp. UIDs given out that could not be recorded must never
 * reach the client: another session could give them again (disk full,
 * quota). Anything else unrecorded (keywords, the \Recent mark) is retried
 * at the next unlock.
 */
static void
unlockimp(void)
{
	if (imp_unlock(&S.imp) < 0) {
		logmsg("imap4d", "%s %s: %s", S.peer, S.user, lasterr());
		if (S.imp.next != S.imp.saved)
			hangup("[UNAVAILABLE] Cannot record the mailbox's UIDs.");
	}
}

static int
resync(int mode)
{
	int n;

	if (imp_lock(&S.imp, S.path, mb_kind(S.mb)) < 0)
		return -1;
	n = rescan(mode);
	if (n >= 0 && mode != Rquiet)
		markimp(&S.mark);	/* what this rescan wrote there is no news */
	unlockimp();
	return n;
}

/* Bring the view up to date and tell the client; expunges: whether EXPUNGE may be sent. */
static void
update(int expunges)
{
	Mark k;
	int n;

	if (S.mb == NULL)
		return;
	markbox(&k);
	if (S.pending || memcmp(&k, &S.mark, sizeof k) != 0) {
		n = resync(Rtell);
		if (n < 0)
			logmsg("imap4d", "%s %s: %s: %s", S.peer, S.user, S.path, lasterr());
		if (expunges)
			expunged();
		if (n > 0)
			str_fmt(&S.out, "* %d EXISTS\r\n* %d RECENT\r\n", S.nm, S.nrecent);
		sendout();
		return;
	}
	if (expunges)
		expunged();
}

static void
closebox(void)
{
	if (S.mb != NULL) {
		mb_purge(S.mb);
		mb_close(S.mb);
	}
	S.mb = NULL;
	imp_close(&S.imp);
	kw_free(&S.kw);
	free(S.m);
	S.m = NULL;
	S.nm = S.am = 0;
	S.ghosts = 0;
	S.nrecent = 0;
	free(S.path);
	free(S.boxname);
	S.path = S.boxname = NULL;
	S.cuid = 0;
	if (S.cparsed)
		msg_free(&S.cmsg);
	S.cparsed = 0;
	str_free(&S.craw);
	S.state = Sauth;
}

/* ---- messages ---- */

/* Octets of the header of p[0..n), with the blank line ending it. */
static size_t
hdrlen(const char *p, size_t n)
{
	const char *s = p, *e, *end = p + n;

	while (s < end && (e = memchr(s, '\n', end - s)) != NULL) {
		if (e == s || (e == s + 1 && *s == '\r'))
			return e + 1 - p;
		s = e + 1;
	}
	return n;
}

/*
 * The message into S.craw and, with parse, parsed: 1 its header only (all
 * ENVELOPE and header sections need), 2 whole. 0, -1 when it is gone or
 * unreadable, -3 when it is there but past the parser's bounds (msg.c).
 */
static int
readmsg(Imsg *m, int parse)
{
	int i;

	if (m->idx < 0)
		return -1;
	if (S.cuid != m->uid) {
		if (S.cparsed)
			msg_free(&S.cmsg);
		S.cparsed = 0;
		S.cuid = 0;
		str_reset(&S.craw);
		if (mb_read(S.mb, m->idx, &S.craw) < 0) {
			/* rewritten by another program: scan again and find it,
			 * quietly (the view keeps its numbers) */
			if (resync(Rquiet) < 0 || m->idx < 0)
				return -1;
			str_reset(&S.craw);
			if (mb_read(S.mb, m->idx, &S.craw) < 0) {
				logmsg("imap4d", "%s %s: %s", S.peer, S.user, lasterr());
				return -1;
			}
		}
		if (S.craw.p == NULL)
			str_addn(&S.craw, "", 0), S.craw.p[0] = 0;
		S.cuid = m->uid;
		if (!m->sized) {
			m->size = imap_crlfsize(S.craw.p, S.craw.n, NULL);
			m->sized = 1;
		}
	}
	if (parse > S.cparsed) {
		if (S.cparsed)
			msg_free(&S.cmsg);
		S.cparsed = 0;
		i = msg_parse(&S.cmsg, S.craw.p, parse == 1 ? hdrlen(S.craw.p, S.craw.n) : S.craw.n);
		if (i < 0) {
			logmsg("imap4d", "%s %s: uid %u: %s", S.peer, S.user, m->uid, lasterr());
			msg_free(&S.cmsg);
			return -3;
		}
		S.cparsed = parse;
	}
	return 0;
}

/* The first message of the view with a UID of at least u. */
static int
uidpos(uint32_t u)
{
	int a = 0, b = S.nm, mid;

	while (a < b) {
		mid = a + (b - a) / 2;
		if (S.m[mid].uid < u)
			a = mid + 1;
		else
			b = mid;
	}
	return a;
}

/* Which view messages a set names: mark[i] for message i; -1 (after BAD) when out of range. */
static char *
selectset(const char *set, int uid)
{
	Seqset ss;
	char *mark;
	uint32_t lo, hi, t, star;
	int i, a, b, *d, run;

	if (seq_parse(&S.ar, set, &ss) < 0)
		return NULL;
	mark = arena_alloc(&S.ar, S.nm + 1);
	d = arena_alloc(&S.ar, (S.nm + 1) * sizeof *d);
	memset(d, 0, (S.nm + 1) * sizeof *d);
	star = uid ? (S.nm ? S.m[S.nm - 1].uid : 0) : (uint32_t)S.nm;
	/* each range as its first and past-last message, counted in d: linear however many ranges overlap */
	for (i = 0; i < ss.n; i++) {
		lo = ss.lo[i] ? ss.lo[i] : star;
		hi = ss.hi[i] ? ss.hi[i] : star;
		if (lo > hi)
			t = lo, lo = hi, hi = t;
		if (!uid) {
			if (lo == 0 || hi > (uint32_t)S.nm) {
				seterr("no such message");
				return NULL;
			}
			d[lo - 1]++;
			d[hi]--;
			continue;
		}
		a = uidpos(lo);
		b = hi == 0xffffffffu ? S.nm : uidpos(hi + 1);
		if (a < b) {
			d[a]++;
			d[b]--;
		}
	}
	for (i = run = 0; i < S.nm; i++) {
		run += d[i];
		mark[i] = run > 0;
	}
	return mark;
}

static void
internaldate(Str *s, time_t t)
{
	static const char *mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	long off;

	localtime_r(&t, &tm);
	off = tm.tm_gmtoff / 60;
	str_fmt(s, "\"%02d-%s-%04d %02d:%02d:%02d %c%02ld%02ld\"", tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900,
	    tm.tm_hour, tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60);
}


/* ---- flags given by the client ---- */

static const struct { int f; const char *name; } sysflags[] = {
	{ MF_SEEN, "\\Seen" }, { MF_ANSWERED, "\\Answered" }, { MF_FLAGGED, "\\Flagged" },
	{ MF_DELETED, "\\Deleted" }, { MF_DRAFT, "\\Draft" },
};

/* A keyword: an atom without specials, bounded. */
static int
kwok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > LIM_IMAPKWLEN)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f || strchr("(){%*\"\\]", *s))
			return 0;
	return 1;
}

/* Flags in a list (or one atom): system flags into *flags, keywords into kw; -1 if bad. */
static int
parseflags(Tok *t, int *flags, Str *kw)
{
	Tok *v = t;
	int n = 1, i, j, nk = 0;
	size_t k;

	*flags = 0;
	if (t->type == T_LIST)
		v = t->kid, n = t->nkid;
	else if (t->type != T_ATOM)
		return -1;
	for (i = 0; i < n; i++) {
		if (v[i].type != T_ATOM)
			return -1;
		if (v[i].s[0] == '\\') {
			for (j = 0; j < (int)nelem(sysflags) && strcasecmp(v[i].s, sysflags[j].name) != 0; j++)
				;
			if (j < (int)nelem(sysflags))
				*flags |= sysflags[j].f;
			else if (strcasecmp(v[i].s, "\\Recent") != 0)
				return -1;	/* \Recent cannot be set, and is ignored */
			continue;
		}
		if (!kwok(v[i].s))
			return -1;
		/* each keyword once */
		for (k = 0; kw->p != NULL && k < kw->n; k += strcspn(kw->p + k, " ") + 1)
			if (strncasecmp(kw->p + k, v[i].s, strcspn(kw->p + k, " ")) == 0 &&
			    strcspn(kw->p + k, " ") == strlen(v[i].s))
				break;
		if (kw->p != NULL && k < kw->n)
			continue;
		if (++nk > LIM_IMAPKEYWORDS)
			return -1;
		if (kw->n > 0)
			str_addc(kw, ' ');
		str_adds(kw, v[i].s);
	}
	return 0;
}

/* Keyword list old changed by op ('+', '-', or 0 to replace) with kw: a new string or NULL. */
static char *
kwapply(const char *old, int op, const char *kw)
{
	Str s = { 0 };
	const char *p, *q;
	size_t n, m;
	int nk = 0;

	if (op == 0)
		return kw && *kw ? xstrdup(kw) : NULL;
	for (p = old; p != NULL && *p; p += n + (p[n] == ' ')) {
		n = strcspn(p, " ");
		for (q = kw; op == '-' && q != NULL && *q; q += m + (q[m] == ' ')) {
			m = strcspn(q, " ");
			if (m == n && strncasecmp(p, q, n) == 0)
				break;
		}
		if (op == '-' && q != NULL && *q)
			continue;
		if (s.n > 0)
			str_addc(&s, ' ');
		str_addn(&s, p, n);
		nk++;
	}
	for (q = kw; op == '+' && q != NULL && *q; q += m + (q[m] == ' ')) {
		m = strcspn(q, " ");
		for (p = old; p != NULL && *p; p += n + (p[n] == ' ')) {
			n = strcspn(p, " ");
			if (m == n && strncasecmp(p, q, n) == 0)
				break;
		}
		if ((p != NULL && *p) || nk >= LIM_IMAPKEYWORDS)
			continue;
		if (s.n > 0)
			str_addc(&s, ' ');
		str_addn(&s, q, m);
		nk++;
	}
	return s.p;
}

/* ---- not authenticated ---- */

/* Authenticated as user: the ratify grant (as root), then the owner of box/USER. */
static int
loggedin(const char *user, const char *how)
{
	char path[LIM_PATHNAME];
	struct stat st;
	uid_t uid;
	gid_t gid;

	if (upas_path(path, sizeof path, "box", user, NULL) < 0 || lstat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
		logmsg("imap4d", "%s %s: no mailbox directory", S.peer, user);
		return -1;
	}
	if (geteuid() == 0 && priv_box(user, &uid, &gid) < 0) {
		logmsg("imap4d", "%s %s: %s", S.peer, user, lasterr());
		return -1;
	}
	logmsg("imap4d", "%s %s login %s", S.peer, how, user);
	if (S.trust && ratify_trust(S.peer) < 0)
		logmsg("imap4d", "%s ratify: %s", S.peer, lasterr());
	if (geteuid() == 0) {
		logkeep("imap4d");
		if (priv_become(uid, gid) < 0) {
			logmsg("imap4d", "%s %s: %s", S.peer, user, lasterr());
			hangup("cannot serve this mailbox");
		}
	}
	S.user = xstrdup(user);
	S.state = Sauth;
	S.c.timeout = LIM_IMAPIDLE * 1000;
	return 0;
}

/* A failed login waits 1, 2, 4... seconds, and too many end the session. */
static void
failed(Imapcmd *c, const char *how, const char *user)
{
	S.authfails++;
	logmsg("imap4d", "%s %s %s failed (%d)", S.peer, how, user[0] ? user : "?", S.authfails);
	flush();
	sleep(sasl_delay(S.authfails));
	reply("%s NO [AUTHENTICATIONFAILED] Authentication failed.", c->tag);
	if (S.authfails >= LIM_AUTHFAILS)
		hangup("Too many failed logins.");
}

static void
authok(Imapcmd *c, const char *user, const char *how)
{
	if (loggedin(user, how) < 0) {
		reply("%s NO [UNAVAILABLE] No mailbox to serve.", c->tag);
		return;
	}
	str_fmt(&S.out, "%s OK [CAPABILITY ", c->tag);
	capas(&S.out);
	str_adds(&S.out, "] Logged in\r\n");
	sendout();
}

static void
cmd_login(Imapcmd *c)
{
	Tok *a = c->arg;
	int r;

	if (c->narg != 2 || !tok_astring(&a[0]) || !tok_astring(&a[1])) {
		reply("%s BAD LOGIN user password", c->tag);
		return;
	}
	if (!S.auth) {
		reply("%s NO [UNAVAILABLE] No authentication is configured.", c->tag);
		return;
	}
	if (!plainok()) {
		reply("%s NO [PRIVACYREQUIRED] Plaintext passwords need TLS.", c->tag);
		return;
	}
	r = sasl_name(a[0].s, a[0].n) ? secrets_verify(a[0].s, a[1].s) : 0;
	explicit_bzero(a[1].s, a[1].n);
	if (r == 1)
		authok(c, a[0].s, "LOGIN");
	else if (r < 0) {
		logmsg("imap4d", "%s LOGIN %s: %s", S.peer, a[0].s, lasterr());
		reply("%s NO [UNAVAILABLE] Temporary authentication failure.", c->tag);
	} else
		failed(c, "LOGIN", a[0].s);
}

/* A "+ " challenge and the client's answer, for core/sasl.c. */
static int
exchange(void *arg, const char *b64, char *line, size_t max)
{
	reply("+ %s", b64);
	flush();
	return sasl_getline(&S.b, line, max);
}

static void
cmd_authenticate(Imapcmd *c)
{
	Sasl sa = { exchange, NULL, NULL, "" };
	const char *mech, *ir = NULL;

	if (c->narg < 1 || c->narg > 2 || c->arg[0].type != T_ATOM || (c->narg == 2 && c->arg[1].type != T_ATOM)) {
		reply("%s BAD AUTHENTICATE mechanism [initial-response]", c->tag);
		return;
	}
	mech = c->arg[0].s;
	if (c->narg == 2)
		ir = c->arg[1].s;
	if (!S.auth) {
		reply("%s NO [UNAVAILABLE] No authentication is configured.", c->tag);
		return;
	}
	if (!sasl_known(mech)) {
		reply("%s NO Unsupported authentication mechanism.", c->tag);
		return;
	}
	if (strcasecmp(mech, "CRAM-MD5") == 0 && ir != NULL) {
		reply("%s BAD CRAM-MD5 takes no initial response.", c->tag);
		return;
	}
	if (strcasecmp(mech, "CRAM-MD5") != 0 && !plainok()) {
		reply("%s NO [PRIVACYREQUIRED] Plaintext passwords need TLS.", c->tag);
		return;
	}
	sa.host = S.host;
	switch (sasl_server(&sa, mech, ir)) {
	case SASL_OK:
		authok(c, sa.user, mech);
		return;
	case SASL_TEMP:
		logmsg("imap4d", "%s AUTHENTICATE %s %s: %s", S.peer, mech, sa.user, lasterr());
		reply("%s NO [UNAVAILABLE] Temporary authentication failure.", c->tag);
		return;
	case SASL_CANCEL:
		reply("%s BAD Authentication cancelled.", c->tag);
		return;
	case SASL_BADB64:
		reply("%s BAD Invalid base64 data.", c->tag);
		return;
	case SASL_LONG:
		reply("%s BAD Response too long.", c->tag);
		return;
	case SASL_IO:
		exit(0);
	}
	failed(c, mech, sa.user);
}

static void
cmd_starttls(Imapcmd *c)
{
	if (S.cert == NULL || tls_active(&S.c)) {
		reply("%s BAD STARTTLS not available.", c->tag);
		return;
	}
	reply("%s OK Begin TLS negotiation now.", c->tag);
	if (tls_starttls_server(&S.b, S.cert) < 0) {
		logmsg("imap4d", "%s starttls: %s", S.peer, lasterr());
		exit(0);
	}
}

/* ---- any state ---- */

static void
cmd_capability(Imapcmd *c)
{
	str_adds(&S.out, "* CAPABILITY ");
	capas(&S.out);
	str_fmt(&S.out, "\r\n%s OK Capability completed.\r\n", c->tag);
	sendout();
}

static void
cmd_noop(Imapcmd *c)
{
	reply("%s OK %s completed.", c->tag, c->verb);
}

static void
cmd_logout(Imapcmd *c)
{
	reply("* BYE Logging out");
	reply("%s OK Logout completed.", c->tag);
	bio_flush(&S.b);
	if (S.mb != NULL)
		mb_purge(S.mb);
	exit(0);
}

static void
cmd_id(Imapcmd *c)
{
	if (c->narg != 1 || (c->arg[0].type != T_LIST && !tok_is(&c->arg[0], "NIL")) ||
	    (c->arg[0].type == T_LIST && (c->arg[0].nkid % 2 != 0 || c->arg[0].nkid > 60))) {
		reply("%s BAD ID (field value ...) or NIL", c->tag);
		return;
	}
	reply("* ID (\"name\" \"upas\" \"vendor\" \"upas for Linux\")");
	reply("%s OK ID completed.", c->tag);
}

static void
cmd_enable(Imapcmd *c)
{
	if (c->narg < 1) {
		reply("%s BAD ENABLE capability...", c->tag);
		return;
	}
	int i, cs = 0;

	for (i = 0; i < c->narg; i++)
		if (tok_is(&c->arg[i], "CONDSTORE"))
			cs = 1;
	reply("* ENABLED%s", cs && !S.condstore ? " CONDSTORE" : "");
	S.condstore |= cs;
	reply("%s OK Enabled.", c->tag);
}

/* ---- authenticated ---- */

/* Mailbox argument i: its path; NULL after answering NO. */
static char *
boxarg(Imapcmd *c, int i, char *buf, size_t n)
{
	if (i >= c->narg || !tok_astring(&c->arg[i])) {
		reply("%s BAD Missing mailbox name.", c->tag);
		return NULL;
	}
	if (imap_boxpath(buf, n, S.user, c->arg[i].s) < 0) {
		reply("%s NO [CANNOT] %s", c->tag, lasterr());
		return NULL;
	}
	return buf;
}

/* The kind CREATE makes: INBOX's. */
static int
inboxkind(void)
{
	char path[LIM_PATHNAME];
	int k;

	if (upas_path(path, sizeof path, "box", S.user, "mbox", NULL) < 0 || (k = mb_type(path)) < 0)
		return MB_MBOX;
	return k;
}

/* INBOX may not exist before the first delivery: it is made empty (an mbox). */
static void
mkinbox(const char *path, const char *name)
{
	int fd;

	if (strcasecmp(name, "INBOX") != 0)
		return;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) >= 0) {
		fsync(fd);
		close(fd);
	}
}

static void
kwlist(Str *s)
{
	char *seen[LIM_IMAPKEYWORDS * 4];
	int ns = 0, i, j;
	const char *p;
	size_t n;

	for (i = 0; i < S.kw.n; i++)
		for (p = S.kw.v[i].kw; p != NULL && *p; p += n + (p[n] == ' ')) {
			n = strcspn(p, " ");
			for (j = 0; j < ns; j++)
				if (strncasecmp(seen[j], p, n) == 0 && seen[j][n] == 0)
					break;
			if (j == ns && ns < (int)nelem(seen)) {
				seen[ns++] = arena_strndup(&S.ar, p, n);
				str_fmt(s, " %.*s", (int)n, p);
			}
		}
}

static void
cmd_select(Imapcmd *c)
{
	char path[LIM_PATHNAME];
	int ro = strcasecmp(c->verb, "EXAMINE") == 0, i, unseen = 0;

	if (S.mb != NULL)
		closebox();
	if (boxarg(c, 0, path, sizeof path) == NULL)
		return;
	if (c->narg > 2 || (c->narg == 2 && (c->arg[1].type != T_LIST || c->arg[1].nkid > 1 ||
	    (c->arg[1].nkid == 1 && !tok_is(&c->arg[1].kid[0], "CONDSTORE"))))) {
		reply("%s BAD SELECT mailbox [(CONDSTORE)]", c->tag);
		return;
	}
	if (c->narg == 2 && c->arg[1].nkid == 1)
		S.condstore = 1;
	mkinbox(path, c->arg[0].s);
	S.imp.fd = -1;
	if ((S.mb = mb_open(path, ro ? MB_RDONLY : MB_RDWR)) == NULL) {
		reply("%s NO %s", c->tag, errno == ENOENT ? "[NONEXISTENT] No such mailbox." :
		    errno == EWOULDBLOCK ? "[INUSE] Mailbox busy, try again." : "[SERVERBUG] Cannot open the mailbox.");
		if (errno != ENOENT)
			logmsg("imap4d", "%s %s: %s", S.peer, S.user, lasterr());
		return;
	}
	mb_keepdeleted(S.mb, 1);
	S.path = xstrdup(path);
	S.boxname = xstrdup(c->arg[0].s);
	S.ro = ro;
	if (resync(Rselect) < 0) {
		logmsg("imap4d", "%s %s: %s: %s", S.peer, S.user, path, lasterr());
		closebox();
		reply("%s NO [SERVERBUG] Cannot read the mailbox.", c->tag);
		return;
	}
	S.state = Ssel;
	S.validity = S.imp.validity;
	str_adds(&S.out, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft");
	kwlist(&S.out);
	str_adds(&S.out, ")\r\n* OK [PERMANENTFLAGS (");
	if (!ro) {
		str_adds(&S.out, "\\Answered \\Flagged \\Deleted \\Seen \\Draft");
		kwlist(&S.out);
		str_adds(&S.out, " \\*");
	}
	str_fmt(&S.out, ")] Flags permitted.\r\n* %d EXISTS\r\n* %d RECENT\r\n", S.nm, S.nrecent);
	for (i = 0; i < S.nm; i++)
		if (!(S.m[i].flags & MF_SEEN)) {
			unseen = i + 1;
			break;
		}
	if (unseen)
		str_fmt(&S.out, "* OK [UNSEEN %d] First unseen.\r\n", unseen);
	str_fmt(&S.out, "* OK [UIDVALIDITY %u] UIDs valid\r\n* OK [UIDNEXT %u] Predicted next UID\r\n"
	    "* OK [HIGHESTMODSEQ %llu] Highest\r\n", S.imp.validity, S.imp.next, (unsigned long long)S.imp.highest);
	str_fmt(&S.out, "%s OK [%s] %s completed.\r\n", c->tag, ro ? "READ-ONLY" : "READ-WRITE", ro ? "Examine" : "Select");
	sendout();
}

static void
cmd_create(Imapcmd *c)
{
	if (c->narg != 1 || !tok_astring(&c->arg[0])) {
		reply("%s BAD CREATE mailbox", c->tag);
		return;
	}
	if (imap_create(S.user, c->arg[0].s, inboxkind()) < 0) {
		reply("%s NO %s%s", c->tag, errno == EEXIST ? "[ALREADYEXISTS] " : "[CANNOT] ", lasterr());
		return;
	}
	reply("%s OK Create completed.", c->tag);
}

static void
cmd_delete(Imapcmd *c)
{
	if (c->narg != 1 || !tok_astring(&c->arg[0])) {
		reply("%s BAD DELETE mailbox", c->tag);
		return;
	}
	if (S.mb != NULL && strcmp(S.boxname, c->arg[0].s) == 0)
		closebox();
	if (imap_delete(S.user, c->arg[0].s) < 0) {
		reply("%s NO %s%s", c->tag, errno == ENOENT ? "[NONEXISTENT] " : "[CANNOT] ", lasterr());
		return;
	}
	reply("%s OK Delete completed.", c->tag);
}

static void
cmd_rename(Imapcmd *c)
{
	if (c->narg != 2 || !tok_astring(&c->arg[0]) || !tok_astring(&c->arg[1])) {
		reply("%s BAD RENAME from to", c->tag);
		return;
	}
	if (S.mb != NULL && strcmp(S.boxname, c->arg[0].s) == 0)
		closebox();
	if (imap_rename(S.user, c->arg[0].s, c->arg[1].s) < 0) {
		reply("%s NO %s%s", c->tag, errno == EEXIST ? "[ALREADYEXISTS] " : errno == ENOENT ? "[NONEXISTENT] " : "[CANNOT] ",
		    lasterr());
		return;
	}
	reply("%s OK Rename completed.", c->tag);
}

static void
cmd_subscribe(Imapcmd *c)
{
	int on = strcasecmp(c->verb, "SUBSCRIBE") == 0;

	if (c->narg != 1 || !tok_astring(&c->arg[0])) {
		reply("%s BAD %s mailbox", c->tag, c->verb);
		return;
	}
	if (imap_subscribe(S.user, c->arg[0].s, on) < 0) {
		reply("%s NO [CANNOT] %s", c->tag, lasterr());
		return;
	}
	reply("%s OK %s completed.", c->tag, on ? "Subscribe" : "Unsubscribe");
}

typedef struct Listarg {
	const char *verb;
} Listarg;

static int
listone(void *arg, const char *name, const char *attrs)
{
	Listarg *la = arg;

	str_fmt(&S.out, "* %s (%s) \"/\" ", la->verb, attrs);
	imap_str(&S.out, name, strlen(name));
	str_adds(&S.out, "\r\n");
	if (S.out.n > LIM_BIOBUF)
		sendout();
	return 0;
}

static void
cmd_list(Imapcmd *c)
{
	Listarg la;
	int lsub = strcasecmp(c->verb, "LSUB") == 0, r;

	if (c->narg != 2 || !tok_astring(&c->arg[0]) || !tok_astring(&c->arg[1])) {
		reply("%s BAD %s reference pattern", c->tag, c->verb);
		return;
	}
	la.verb = lsub ? "LSUB" : "LIST";
	if (!lsub && c->arg[1].n == 0) {
		reply("* LIST (\\Noselect) \"/\" \"\"");
		reply("%s OK List completed.", c->tag);
		return;
	}
	r = lsub ? imap_lsub(S.user, c->arg[0].s, c->arg[1].s, listone, &la) :
	    imap_list(S.user, c->arg[0].s, c->arg[1].s, listone, &la);
	sendout();
	if (r < 0) {
		logmsg("imap4d", "%s %s: %s: %s", S.peer, S.user, la.verb, lasterr());
		reply("%s NO [SERVERBUG] %s", c->tag, lasterr());
		return;
	}
	reply("%s OK %s completed.", c->tag, lsub ? "Lsub" : "List");
}

static void
cmd_namespace(Imapcmd *c)
{
	reply("* NAMESPACE ((\"\" \"/\")) NIL NIL");
	reply("%s OK Namespace completed.", c->tag);
}

static void
cmd_status(Imapcmd *c)
{
	char path[LIM_PATHNAME];
	Mailbox *mb;
	Imp imp;
	int i, n, unseen = 0, recent = 0;
	Tok *it;

	if (c->narg != 2 || c->arg[1].type != T_LIST || c->arg[1].nkid == 0) {
		reply("%s BAD STATUS mailbox (items)", c->tag);
		return;
	}
	if (boxarg(c, 0, path, sizeof path) == NULL)
		return;
	for (i = 0; i < c->arg[1].nkid; i++) {
		it = &c->arg[1].kid[i];
		if (!tok_is(it, "MESSAGES") && !tok_is(it, "RECENT") && !tok_is(it, "UIDNEXT") &&
		    !tok_is(it, "UIDVALIDITY") && !tok_is(it, "UNSEEN") && !tok_is(it, "HIGHESTMODSEQ")) {
			reply("%s BAD Unknown STATUS item.", c->tag);
			return;
		}
	}
	mkinbox(path, c->arg[0].s);
	if ((mb = mb_open(path, MB_RDONLY)) == NULL) {
		reply("%s NO %s", c->tag, errno == ENOENT ? "[NONEXISTENT] No such mailbox." : "[SERVERBUG] Cannot open the mailbox.");
		return;
	}
	memset(&imp, 0, sizeof imp);
	imp.fd = -1;
	/* scanned again under the lock: a scan from before it could miss
	 * messages others gave UIDs meanwhile, and drop them */
	if (imp_lock(&imp, path, mb_kind(mb)) < 0 || mb_refresh(mb) < 0 || imp_match(&imp, mb) == 0) {
		logmsg("imap4d", "%s %s: %s", S.peer, S.user, lasterr());
		reply("%s NO [SERVERBUG] Cannot read the mailbox.", c->tag);
		goto out;
	}
	n = mb_count(mb);
	for (i = 0; i < n; i++) {
		if (!(mb_msg(mb, i)->flags & MF_SEEN))
			unseen++;
		if (imp.uid[i] > imp.recent)
			recent++;
	}
	str_adds(&S.out, "* STATUS ");
	imap_str(&S.out, c->arg[0].s, c->arg[0].n);
	str_adds(&S.out, " (");
	for (i = 0; i < c->arg[1].nkid; i++) {
		it = &c->arg[1].kid[i];
		if (i > 0)
			str_addc(&S.out, ' ');
		if (tok_is(it, "MESSAGES"))
			str_fmt(&S.out, "MESSAGES %d", n);
		else if (tok_is(it, "RECENT"))
			str_fmt(&S.out, "RECENT %d", recent);
		else if (tok_is(it, "UIDNEXT"))
			str_fmt(&S.out, "UIDNEXT %u", imp.next);
		else if (tok_is(it, "UIDVALIDITY"))
			str_fmt(&S.out, "UIDVALIDITY %u", imp.validity);
		else if (tok_is(it, "HIGHESTMODSEQ"))
			str_fmt(&S.out, "HIGHESTMODSEQ %llu", (unsigned long long)imp.highest);
		else
			str_fmt(&S.out, "UNSEEN %d", unseen);
	}
	str_fmt(&S.out, ")\r\n%s OK Status completed.\r\n", c->tag);
	sendout();
out:
	imp_close(&imp);
	mb_close(mb);
}

/* A message going into a mailbox by APPEND, COPY or MOVE. */
typedef struct Put {
	const char *sender;
	time_t date;
	int flags;
	const char *kw;
	char where[sizeof mb_appended];
	uint32_t uid;
} Put;

/* Append one message to the mailbox at path; where it went into p->where. */
static int
putone(const char *path, Put *p, const char *msg, size_t n)
{
	if (mb_append(path, p->sender, p->date, msg, n) < 0)
		return -1;
	snprintf(p->where, sizeof p->where, "%s", mb_appended);
	return 0;
}

/*
 * The messages v[0..n), appended by putone, found again under the target's
 * .imp lock: their flags and keywords set, their UIDs learnt (v[i].uid).
 * With undo, they are removed instead (a COPY that failed half way leaves
 * the target as it was). 0, or -1 with lasterr().
 */
static int
putdone(const char *path, Put *v, int n, uint32_t *validity, int undo)
{
	Mailbox *mb;
	Imp imp;
	int i, r = -1, flagged = 0, *at;
	const char **w;

	memset(&imp, 0, sizeof imp);
	imp.fd = -1;
	if ((mb = mb_open(path, MB_RDWR)) == NULL)
		return -1;
	mb_keepdeleted(mb, 1);
	at = xmalloc((n + 1) * sizeof *at);
	w = xmalloc((n + 1) * sizeof *w);
	for (i = 0; i < n; i++)
		w[i] = v[i].where;
	if (imp_lock(&imp, path, mb_kind(mb)) < 0 || mb_refresh(mb) < 0)
		goto out;
	mb_findput(mb, w, n, at);
	for (i = 0; i < n; i++)
		if (at[i] >= 0 && (undo || v[i].flags)) {
			mb_setflags(mb, at[i], undo ? MF_EXPUNGE : v[i].flags | MF_OLD, 0);
			flagged = 1;
		}
	if (flagged && mb_sync(mb) < 0)
		goto out;
	if (undo) {
		r = 0;
		goto out;
	}
	mb_findput(mb, w, n, at);
	if (imp_match(&imp, mb) == 0)
		goto out;
	for (i = 0; i < n; i++) {
		v[i].uid = at[i] >= 0 ? imp.uid[at[i]] : 0;
		if (at[i] >= 0 && v[i].kw != NULL)
			imp_setkw(&imp, at[i], v[i].kw);
	}
	*validity = imp.validity;
	r = 0;
out:
	if (imp_unlock(&imp) < 0)
		r = -1;
	imp_close(&imp);
	mb_purge(mb);
	mb_close(mb);
	free(at);
	free(w);
	return r;
}

/* "a,b,c" or "a:c" of UIDs in order. */
static void
uidlist(Str *s, uint32_t *u, int n)
{
	int i, j;

	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && u[j] == u[j - 1] + 1; j++)
			;
		str_fmt(s, "%s%u", i ? "," : "", u[i]);
		if (j - i > 1)
			str_fmt(s, ":%u", u[j - 1]);
	}
}

static void
cmd_append(Imapcmd *c)
{
	char path[LIM_PATHNAME];
	Str kw = { 0 };
	Put p;
	Tok *a = c->arg, *msg;
	int i = 1, flags = 0;
	uint32_t validity;
	time_t date = 0;

	memset(&p, 0, sizeof p);
	if (c->narg < 2) {
		reply("%s BAD APPEND mailbox [(flags)] [date-time] literal", c->tag);
		return;
	}
	if (i < c->narg - 1 && a[i].type == T_LIST) {
		if (parseflags(&a[i], &flags, &kw) < 0) {
			reply("%s BAD Invalid flags.", c->tag);
			goto out;
		}
		i++;
	}
	if (i < c->narg - 1 && a[i].type == T_STR && !a[i].lit) {
		if ((date = imap_parsedate(a[i].s)) < 0) {
			reply("%s BAD Invalid date-time.", c->tag);
			goto out;
		}
		if (date > time(NULL))
			date = time(NULL);
		i++;
	}
	msg = &a[i];
	if (i != c->narg - 1 || msg->type != T_STR || !msg->lit) {
		reply("%s BAD APPEND mailbox [(flags)] [date-time] literal", c->tag);
		goto out;
	}
	if (boxarg(c, 0, path, sizeof path) == NULL)
		goto out;
	mkinbox(path, a[0].s);
	if (mb_type(path) < 0) {
		reply("%s NO [TRYCREATE] No such mailbox.", c->tag);
		goto out;
	}
	if (msg->n == 0) {
		reply("%s NO Empty message.", c->tag);
		goto out;
	}
	p.sender = "MAILER-DAEMON";
	p.date = date;
	p.flags = flags;
	p.kw = kw.p;
	if (putone(path, &p, msg->s, msg->n) < 0 || putdone(path, &p, 1, &validity, 0) < 0) {
		logmsg("imap4d", "%s %s: append: %s", S.peer, S.user, lasterr());
		reply("%s NO [%s] %s", c->tag, errno == EWOULDBLOCK ? "INUSE" : errno == ENOSPC || errno == EDQUOT ? "OVERQUOTA" : "SERVERBUG",
		    "Cannot append to the mailbox.");
		goto out;
	}
	update(0);
	if (p.uid)
		reply("%s OK [APPENDUID %u %u] Append completed.", c->tag, validity, p.uid);
	else
		reply("%s OK Append completed.", c->tag);
out:
	str_free(&kw);
}

/* ---- selected ---- */

/* Mark the \Deleted messages (in mark, when given) for removal and sync, under the .imp lock. */
static int
expunge(const char *mark)
{
	int i, any = 0, r;

	if (S.ro)
		return 0;
	if (imp_lock(&S.imp, S.path, mb_kind(S.mb)) < 0)
		return -1;
	if (rescan(Rquiet) < 0) {
		imp_unlock(&S.imp);
		return -1;
	}
	for (i = 0; i < S.nm; i++)
		if (S.m[i].idx >= 0 && (mark == NULL || mark[i]) && (mb_msg(S.mb, S.m[i].idx)->flags & MF_DELETED)) {
			mb_setflags(S.mb, S.m[i].idx, MF_EXPUNGE, 0);
			any = 1;
		}
	r = any ? mb_sync(S.mb) : 0;
	if (r < 0)
		logmsg("imap4d", "%s %s: expunge: %s", S.peer, S.user, lasterr());
	unlockimp();
	return r;
}

static void
cmd_close(Imapcmd *c)
{
	if (strcasecmp(c->verb, "CLOSE") == 0 && expunge(NULL) < 0) {
		closebox();
		reply("%s NO [SERVERBUG] Cannot expunge.", c->tag);
		return;
	}
	closebox();
	reply("%s OK %s completed.", c->tag, c->verb);
}

static void
cmd_expunge(Imapcmd *c)
{
	char *mark = NULL;

	if (c->uid && (c->narg != 1 || c->arg[0].type != T_ATOM || (mark = selectset(c->arg[0].s, 1)) == NULL)) {
		reply("%s BAD UID EXPUNGE uid-set", c->tag);
		return;
	}
	if (!c->uid && c->narg != 0) {
		reply("%s BAD EXPUNGE takes no arguments", c->tag);
		return;
	}
	if (S.ro) {
		reply("%s NO [READ-ONLY] Mailbox is read-only.", c->tag);
		return;
	}
	if (expunge(mark) < 0) {
		update(1);
		reply("%s NO [SERVERBUG] Cannot expunge.", c->tag);
		return;
	}
	update(1);
	reply("%s OK Expunge completed.", c->tag);
	flush();
	mb_purge(S.mb);
}

/* The view's MODSEQs, in view order, read under the .imp lock; NULL after logging why. */
static uint64_t *
modseqs(void)
{
	uint64_t *v;
	int i;

	if (imp_lock(&S.imp, S.path, mb_kind(S.mb)) < 0 || rescan(Rquiet) < 0) {
		logmsg("imap4d", "%s %s: %s", S.peer, S.user, lasterr());
		imp_unlock(&S.imp);
		return NULL;
	}
	v = arena_alloc(&S.ar, (S.nm + 1) * sizeof *v);
	for (i = 0; i < S.nm; i++)
		v[i] = S.m[i].idx >= 0 ? imp_modseq(&S.imp, S.m[i].idx) : 0;
	unlockimp();
	return v;
}

/* ---- SEARCH ---- */

static Msg *
loadmsg(void *arg)
{
	Imsg *m = arg;

	return readmsg(m, 2) < 0 ? NULL : &S.cmsg;
}

static void
smsg(Smsg *s, Imsg *m, int seq)
{
	Mmsg *mm = mb_msg(S.mb, m->idx);

	memset(s, 0, sizeof *s);
	s->seq = seq;
	s->uid = m->uid;
	s->flags = m->flags;
	s->idate = mm->date;
	if (!m->sized)
		readmsg(m, 0);
	s->size = m->size;
	s->load = loadmsg;
	s->arg = m;
}

/* Keywords "a b" as a vector in ar. */
static int
kwvec(const char *kw, char ***v)
{
	int n = 0;
	const char *p;
	size_t k;

	*v = NULL;
	if (kw == NULL)
		return 0;
	*v = arena_alloc(&S.ar, (strlen(kw) / 2 + 2) * sizeof **v);
	for (p = kw; *p; p += k + (p[k] == ' ')) {
		k = strcspn(p, " ");
		(*v)[n++] = arena_strndup(&S.ar, p, k);
	}
	return n;
}

static void
cmd_search(Imapcmd *c)
{
	Search *s;
	Tok *a = c->arg;
	int n = c->narg, i;
	uint64_t *mods = NULL, top = 0;
	Smsg sm;

	if (n >= 2 && tok_is(&a[0], "CHARSET")) {
		if (!tok_astring(&a[1])) {
			reply("%s BAD CHARSET name", c->tag);
			return;
		}
		if (strcasecmp(a[1].s, "UTF-8") != 0 && strcasecmp(a[1].s, "US-ASCII") != 0) {
			reply("%s NO [BADCHARSET (US-ASCII UTF-8)] Unsupported charset.", c->tag);
			return;
		}
		a += 2, n -= 2;
	}
	if (n == 0 || (s = search_parse(&S.ar, a, n)) == NULL) {
		reply("%s BAD %s", c->tag, n == 0 ? "SEARCH needs a key" : lasterr());
		return;
	}
	if (search_modseq(s)) {
		S.condstore = 1;
		if ((mods = modseqs()) == NULL) {
			reply("%s NO [SERVERBUG] Cannot read the MODSEQs.", c->tag);
			return;
		}
	}
	str_adds(&S.out, "* SEARCH");
	for (i = 0; i < S.nm; i++) {
		if (S.m[i].idx < 0)
			continue;
		smsg(&sm, &S.m[i], i + 1);
		sm.nkw = kwvec(kw_get(&S.kw, S.m[i].uid), &sm.kw);
		sm.modseq = mods ? mods[i] : 0;
		if (search_match(s, &sm, S.nm, S.nm ? S.m[S.nm - 1].uid : 0) == 1) {
			str_fmt(&S.out, " %u", c->uid ? S.m[i].uid : (uint32_t)i + 1);
			if (sm.modseq > top)
				top = sm.modseq;
		}
		if (S.out.n > 64 * 1024) {
			bio_write(&S.b, S.out.p, S.out.n);
			str_reset(&S.out);
		}
	}
	if (top > 0)
		str_fmt(&S.out, " (MODSEQ %llu)", (unsigned long long)top);
	str_adds(&S.out, "\r\n");
	sendout();
	reply("%s OK Search completed.", c->tag);
}

/* ---- FETCH ---- */

enum { FUID = 1, FFLAGS, FDATE, FSIZE, FMODSEQ, FENV, FBODY, FBS, FRFC822, FRFC822H, FRFC822T, FSECT, FBIN, FBINSIZE };

typedef struct Fitem {
	int kind;
	const char *name;	/* as echoed: "BODY[1.MIME]" */
	const char *sect;	/* between the brackets */
	size_t sectn;
	int peek;
	uint64_t off, len;	/* <off.len> */
	int partial;
} Fitem;

/* A section item "BODY[...]<o.l>", "BINARY.PEEK[...]"...: into f; -1 if malformed. */
static int
sectitem(const char *s, Fitem *f, int kind, int peek)
{
	const char *lb = strchr(s, '['), *rb, *p;
	char *e;
	Str name = { 0 };

	if (lb == NULL || (rb = strrchr(s, ']')) == NULL || rb < lb)
		return -1;
	f->kind = kind;
	f->peek = peek;
	f->sect = lb + 1;
	f->sectn = rb - lb - 1;
	p = rb + 1;
	if (*p == '<') {
		if (kind == FBINSIZE || p[1] < '0' || p[1] > '9')
			return -1;
		f->off = strtoull(p + 1, &e, 10);
		if (*e != '.' || e[1] < '1' || e[1] > '9')
			return -1;
		f->len = strtoull(e + 1, &e, 10);
		if (*e != '>' || e[1] != 0)
			return -1;
		f->partial = 1;
	} else if (*p != 0)
		return -1;
	str_adds(&name, kind == FSECT ? "BODY[" : kind == FBIN ? "BINARY[" : "BINARY.SIZE[");
	if (kind == FSECT) {
		if (imap_sectname(&name, f->sect, f->sectn) < 0) {
			str_free(&name);
			return -1;
		}
	} else {
		/* BINARY takes a part number only: 1.2.3, no empty or zero part */
		for (p = f->sect; p < rb; p++)
			if ((*p == '.' ? p == f->sect || p[-1] == '.' || p + 1 == rb :
			    *p < '0' || *p > '9' || (*p == '0' && (p == f->sect || p[-1] == '.')))) {
				str_free(&name);
				return -1;
			}
		str_addn(&name, f->sect, f->sectn);
	}
	str_addc(&name, ']');
	if (f->partial)
		str_fmt(&name, "<%llu>", (unsigned long long)f->off);
	f->name = arena_strdup(&S.ar, name.p);
	str_free(&name);
	return 0;
}

/* One fetch-att (or a macro) into v; n items so far; -1 if unknown. */
static int
fetchatt(const char *s, Fitem *v, int *n)
{
	static const struct { const char *name; int kind; } simple[] = {
		{ "UID", FUID }, { "FLAGS", FFLAGS }, { "INTERNALDATE", FDATE }, { "RFC822.SIZE", FSIZE },
		{ "MODSEQ", FMODSEQ },
		{ "ENVELOPE", FENV }, { "BODY", FBODY }, { "BODYSTRUCTURE", FBS }, { "RFC822", FRFC822 },
		{ "RFC822.HEADER", FRFC822H }, { "RFC822.TEXT", FRFC822T },
	};
	static const struct { const char *name; const char *items; } macro[] = {
		{ "ALL", "FLAGS INTERNALDATE RFC822.SIZE ENVELOPE" },
		{ "FAST", "FLAGS INTERNALDATE RFC822.SIZE" },
		{ "FULL", "FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY" },
	};
	char buf[64], *w, *p;
	size_t i;

	if (*n >= 64)
		return -1;
	for (i = 0; i < nelem(simple); i++)
		if (strcasecmp(s, simple[i].name) == 0) {
			memset(&v[*n], 0, sizeof v[*n]);
			v[*n].kind = simple[i].kind;
			v[(*n)++].name = simple[i].name;
			return 0;
		}
	for (i = 0; i < nelem(macro); i++)
		if (strcasecmp(s, macro[i].name) == 0) {
			snprintf(buf, sizeof buf, "%s", macro[i].items);
			for (p = buf; (w = strsep(&p, " ")) != NULL;)
				fetchatt(w, v, n);
			return 0;
		}
	memset(&v[*n], 0, sizeof v[*n]);
	if (strncasecmp(s, "BODY[", 5) == 0)
		return sectitem(s, &v[(*n)++], FSECT, 0);
	if (strncasecmp(s, "BODY.PEEK[", 10) == 0)
		return sectitem(s, &v[(*n)++], FSECT, 1);
	if (strncasecmp(s, "BINARY[", 7) == 0)
		return sectitem(s, &v[(*n)++], FBIN, 0);
	if (strncasecmp(s, "BINARY.PEEK[", 12) == 0)
		return sectitem(s, &v[(*n)++], FBIN, 1);
	if (strncasecmp(s, "BINARY.SIZE[", 12) == 0)
		return sectitem(s, &v[(*n)++], FBINSIZE, 1);
	return -1;
}

/* Octets of a section as a literal (~{n} for BINARY), cut to <off.len>. */
static void
partial(Str *out, Fitem *f, const char *p, size_t n)
{
	if (f->partial) {
		if (f->off >= n)
			n = 0;
		else {
			p += f->off;
			n -= f->off;
			if (f->len < n)
				n = f->len;
		}
	}
	str_fmt(out, "%s{%zu}\r\n", f->kind == FBIN ? "~" : "", n);
	str_addn(out, p, n);
}

/* One message's FETCH response into S.out; 0, or -1 when it is gone, -2
 * when a BINARY part has an encoding we cannot undo, -3 when it does not
 * parse. */
static int
fetchone(int i, Fitem *v, int nv, int uid, int setseen, uint64_t mod)
{
	Imsg *m = &S.m[i];
	Str t = { 0 };
	int ok, first = 1, flags = m->flags, needmsg = 0, needparse = 0, r;
	Fitem *f;

	for (f = v; f < v + nv; f++) {
		if (f->kind >= FENV || (f->kind == FSIZE && !m->sized))
			needmsg = 1;
		if (f->kind == FENV || f->kind == FRFC822H ||
		    (f->kind == FSECT && f->sectn >= 6 && strncasecmp(f->sect, "HEADER", 6) == 0))
			needparse = needparse > 1 ? 2 : 1;
		else if (f->kind >= FENV && f->kind != FRFC822 && !(f->kind == FSECT && f->sectn == 0))
			needparse = 2;	/* BODY[] and RFC822 are the raw octets */
	}
	/* a message gone before it could be reported: what the view knows of it */
	if (m->idx < 0) {
		for (f = v; f < v + nv && (f->kind == FUID || f->kind == FFLAGS || (f->kind == FSIZE && m->sized)); f++)
			;
		if (f < v + nv)
			return -1;
		setseen = 0;
	} else if (needmsg && (r = readmsg(m, needparse)) < 0)
		return r == -3 ? -3 : -1;
	if (setseen)
		flags |= MF_SEEN;
	str_fmt(&S.out, "* %d FETCH (", i + 1);
	if (uid) {
		str_fmt(&S.out, "UID %u", m->uid);
		first = 0;
	}
	for (f = v; f < v + nv; f++) {
		if (f->kind == FUID && uid)
			continue;
		if (!first)
			str_addc(&S.out, ' ');
		first = 0;
		str_adds(&S.out, f->name);
		str_addc(&S.out, ' ');
		switch (f->kind) {
		case FUID:
			str_fmt(&S.out, "%u", m->uid);
			break;
		case FFLAGS:
			flagstr(&S.out, flags, kw_get(&S.kw, m->uid));
			break;
		case FDATE:
			internaldate(&S.out, mb_msg(S.mb, m->idx)->date);
			break;
		case FSIZE:
			str_fmt(&S.out, "%llu", (unsigned long long)m->size);
			break;
		case FMODSEQ:
			str_fmt(&S.out, "(%llu)", (unsigned long long)mod);
			break;
		case FENV:
			imap_envelope(&S.out, &S.cmsg, S.cmsg.root);
			break;
		case FBODY:
		case FBS:
			imap_bodystructure(&S.out, &S.cmsg, S.cmsg.root, f->kind == FBS);
			break;
		case FRFC822:
		case FRFC822H:
		case FRFC822T:
			str_reset(&t);
			if (f->kind == FRFC822)
				imap_crlf(&t, S.craw.p, S.craw.n);
			else
				imap_section(&t, &S.cmsg, f->kind == FRFC822H ? "HEADER" : "TEXT",
				    f->kind == FRFC822H ? 6 : 4, &ok);
			str_fmt(&S.out, "{%zu}\r\n", t.n);
			str_addn(&S.out, t.p ? t.p : "", t.n);
			break;
		case FSECT:
		case FBIN:
		case FBINSIZE:
			str_reset(&t);
			ok = 1;
			if (f->kind == FSECT && f->sectn == 0)
				imap_crlf(&t, S.craw.p, S.craw.n);
			else if (f->kind == FSECT)
				imap_section(&t, &S.cmsg, f->sect, f->sectn, &ok);
			else if (imap_binary(&t, &S.cmsg, f->sect, f->sectn, &ok) == IMAP_UNKNOWNCTE) {
				str_free(&t);
				return -2;
			}
			if (!ok)
				str_reset(&t);
			if (f->kind == FBINSIZE)
				str_fmt(&S.out, "%zu", t.n);
			else
				partial(&S.out, f, t.p ? t.p : "", t.n);
			break;
		}
	}
	if (setseen && !(m->flags & MF_SEEN)) {
		for (f = v; f < v + nv && f->kind != FFLAGS; f++)
			;
		if (f == v + nv) {
			str_adds(&S.out, " FLAGS ");
			flagstr(&S.out, flags, kw_get(&S.kw, m->uid));
		}
	}
	str_adds(&S.out, ")\r\n");
	str_free(&t);
	return 0;
}

static void
cmd_fetch(Imapcmd *c)
{
	Fitem v[66];
	char *mark, *e;
	int nv = 0, i, j, seen, gone = 0, changed = 0, cte = 0, bad = 0, r, flags = 0, mod = 0;
	uint64_t *mods = NULL, since = 0;
	Tok *it;

	if (c->narg < 2 || c->narg > 3 || c->arg[0].type != T_ATOM || (c->narg > 2 && c->arg[2].type != T_LIST)) {
		reply("%s BAD FETCH sequence-set items [(CHANGEDSINCE modseq)]", c->tag);
		return;
	}
	/* RFC 7162's modifier */
	if (c->narg == 3) {
		it = &c->arg[2];
		if (it->nkid != 2 || !tok_is(&it->kid[0], "CHANGEDSINCE") || it->kid[1].type != T_ATOM ||
		    (since = strtoull(it->kid[1].s, &e, 10)) == 0 || *e != 0 || it->kid[1].s[0] < '1' ||
		    it->kid[1].s[0] > '9') {
			reply("%s BAD Invalid FETCH modifier.", c->tag);
			return;
		}
	}
	if ((mark = selectset(c->arg[0].s, c->uid)) == NULL) {
		reply("%s BAD %s", c->tag, lasterr());
		return;
	}
	it = &c->arg[1];
	if (it->type == T_LIST) {
		for (i = 0; i < it->nkid; i++)
			if (it->kid[i].type != T_ATOM || fetchatt(it->kid[i].s, v, &nv) < 0)
				break;
		if (i < it->nkid || nv == 0) {
			reply("%s BAD Invalid fetch item.", c->tag);
			return;
		}
	} else if (it->type != T_ATOM || fetchatt(it->s, v, &nv) < 0) {
		reply("%s BAD Invalid fetch item.", c->tag);
		return;
	}
	/* sections that do not parse are BAD before anything is sent */
	for (j = 0; j < nv; j++)
		if (v[j].kind == FSECT && v[j].sectn > 0) {
			Msg empty;
			Str t = { 0 };
			int ok;
			if (msg_parse(&empty, "\n", 1) == 0) {
				i = imap_section(&t, &empty, v[j].sect, v[j].sectn, &ok);
				msg_free(&empty);
				str_free(&t);
				if (i < 0) {
					reply("%s BAD %s", c->tag, lasterr());
					return;
				}
			}
		}
	seen = 0;
	for (j = 0; j < nv; j++) {
		if ((v[j].kind == FSECT || v[j].kind == FBIN || v[j].kind == FRFC822 || v[j].kind == FRFC822T) && !v[j].peek)
			seen = !S.ro;
		flags |= v[j].kind == FFLAGS;
		mod |= v[j].kind == FMODSEQ;
	}
	if (mod || since)
		S.condstore = 1;
	/* with CONDSTORE, MODSEQ goes with FLAGS (RFC 7162 §3.1.4.1) */
	if (!mod && (since || (S.condstore && (flags || seen)))) {
		memset(&v[nv], 0, sizeof v[nv]);
		v[nv].kind = FMODSEQ;
		v[nv++].name = "MODSEQ";
		mod = 1;
	}
	if (mod && (mods = modseqs()) == NULL) {
		reply("%s NO [SERVERBUG] Cannot read the MODSEQs.", c->tag);
		return;
	}
	for (i = 0; i < S.nm; i++) {
		if (!mark[i] || (since && mods[i] <= since))
			continue;
		if ((r = fetchone(i, v, nv, c->uid, seen, mods ? mods[i] : 0)) < 0) {
			str_reset(&S.out);
			if (r == -2)
				cte = 1;
			else if (r == -3)
				bad = 1;
			else
				gone = 1;
			continue;
		}
		if (seen && S.m[i].idx >= 0 && !(S.m[i].flags & MF_SEEN)) {
			S.m[i].flags |= MF_SEEN;
			mark[i] = 2;
			changed = 1;
		}
		bio_write(&S.b, S.out.p, S.out.n);
		debug(">", S.out.p, S.out.n);
		str_reset(&S.out);
	}
	/* \\Seen on what was read, under the lock, on the mailbox as it is now */
	if (changed && imp_lock(&S.imp, S.path, mb_kind(S.mb)) == 0) {
		if (rescan(Rquiet) == 0) {
			for (i = 0; i < S.nm; i++)
				if (mark[i] == 2 && S.m[i].idx >= 0)
					mb_setflags(S.mb, S.m[i].idx, MF_SEEN, 0);
			if (mb_sync(S.mb) < 0)
				logmsg("imap4d", "%s %s: setting \\Seen: %s", S.peer, S.user, lasterr());
		}
		unlockimp();
	}
	if (cte)
		reply("%s NO [UNKNOWN-CTE] A part's transfer encoding is unknown.", c->tag);
	else if (bad)
		reply("%s NO [PARSE] A message is past the parser's limits; BODY[] still gives it whole.", c->tag);
	else if (gone)
		reply("%s NO [EXPUNGEISSUED] Some messages were expunged.", c->tag);
	else
		reply("%s OK Fetch completed.", c->tag);
}

/* ---- STORE ---- */

static void
cmd_store(Imapcmd *c)
{
	Str kw = { 0 }, mod = { 0 };
	char *mark, *nkw, *op, *e;
	int flags, i, silent, o, nf, gone = 0, r, a = 1;
	uint64_t since = 0, *ms;
	Imsg *m;

	/* RFC 7162: STORE set (UNCHANGEDSINCE modseq) ... */
	if (c->narg == 4 && c->arg[1].type == T_LIST) {
		Tok *t = &c->arg[1];
		if (t->nkid != 2 || !tok_is(&t->kid[0], "UNCHANGEDSINCE") || t->kid[1].type != T_ATOM ||
		    t->kid[1].s[0] < '0' || t->kid[1].s[0] > '9' || (since = strtoull(t->kid[1].s, &e, 10), *e != 0)) {
			reply("%s BAD Invalid STORE modifier.", c->tag);
			return;
		}
		since++;	/* 0 is a value too: kept as since - 1 */
		S.condstore = 1;
		a = 2;
	}
	if (c->narg != a + 2 || c->arg[0].type != T_ATOM || c->arg[a].type != T_ATOM) {
		reply("%s BAD STORE sequence-set [(UNCHANGEDSINCE modseq)] [+-]FLAGS[.SILENT] (flags)", c->tag);
		return;
	}
	op = c->arg[a].s;
	o = *op == '+' || *op == '-' ? *op++ : 0;
	silent = strcasecmp(op, "FLAGS.SILENT") == 0;
	if ((!silent && strcasecmp(op, "FLAGS") != 0) || parseflags(&c->arg[a + 1], &flags, &kw) < 0) {
		reply("%s BAD Invalid STORE arguments.", c->tag);
		str_free(&kw);
		return;
	}
	if ((mark = selectset(c->arg[0].s, c->uid)) == NULL) {
		reply("%s BAD %s", c->tag, lasterr());
		str_free(&kw);
		return;
	}
	if (S.ro) {
		reply("%s NO [READ-ONLY] Mailbox is read-only.", c->tag);
		str_free(&kw);
		return;
	}
	/*
	 * Under the lock, from the mailbox's flags and the .imp's keywords as
	 * they are now: a STORE another session made meanwhile stands.
	 */
	if (imp_lock(&S.imp, S.path, mb_kind(S.mb)) < 0 || rescan(Rquiet) < 0) {
		logmsg("imap4d", "%s %s: %s", S.peer, S.user, lasterr());
		imp_unlock(&S.imp);
		reply("%s NO [SERVERBUG] Cannot store flags.", c->tag);
		str_free(&kw);
		return;
	}
	for (i = 0; i < S.nm; i++) {
		int cur;

		m = &S.m[i];
		if (!mark[i])
			continue;
		if (m->idx < 0) {
			gone = 1;
			continue;
		}
		if (since && imp_modseq(&S.imp, m->idx) > since - 1) {
			/* changed since the client looked: left alone, and said so */
			str_fmt(&mod, "%s%u", mod.n ? "," : "", c->uid ? m->uid : (uint32_t)i + 1);
			mark[i] = 0;
			continue;
		}
		cur = tellflags(S.mb, m->idx);
		nf = o == '+' ? (cur | flags) : o == '-' ? (cur & ~flags) : flags;
		mb_setflags(S.mb, m->idx, nf & MF_ALL, MF_SEEN | MF_ANSWERED | MF_FLAGGED | MF_DELETED | MF_DRAFT);
		nkw = kwapply(imp_kw(&S.imp, m->idx), o, kw.p);
		imp_setkw(&S.imp, m->idx, nkw);
		kw_set(&S.kw, m->uid, nkw);
		free(nkw);
		m->flags = nf | (m->flags & IF_RECENT);
		mark[i] = 2;
	}
	r = mb_sync(S.mb);
	if (r < 0) {
		logmsg("imap4d", "%s %s: store: %s", S.peer, S.user, lasterr());
		imp_unlock(&S.imp);
		str_free(&kw);
		str_free(&mod);
		S.pending = 1;
		update(0);
		reply("%s NO [SERVERBUG] Cannot store flags.", c->tag);
		return;
	}
	/* the MODSEQs the changes got: matched again (the flags are the mailbox's) */
	ms = NULL;
	if (S.condstore && rescan(Rquiet) == 0) {
		ms = arena_alloc(&S.ar, (S.nm + 1) * sizeof *ms);
		for (i = 0; i < S.nm; i++)
			ms[i] = S.m[i].idx >= 0 ? imp_modseq(&S.imp, S.m[i].idx) : 0;
	}
	unlockimp();
	str_free(&kw);
	for (i = 0; i < S.nm; i++)
		if (mark[i] == 2 && (!silent || ms != NULL)) {
			str_fmt(&S.out, "* %d FETCH (", i + 1);
			if (c->uid)
				str_fmt(&S.out, "UID %u ", S.m[i].uid);
			if (!silent) {
				str_adds(&S.out, "FLAGS ");
				flagstr(&S.out, S.m[i].flags, kw_get(&S.kw, S.m[i].uid));
			}
			if (ms != NULL)
				str_fmt(&S.out, "%sMODSEQ (%llu)", silent ? "" : " ", (unsigned long long)ms[i]);
			str_adds(&S.out, ")\r\n");
			if (S.out.n > 64 * 1024)
				sendout();
		}
	sendout();
	if (gone)
		reply("%s NO [EXPUNGEISSUED] Some messages were expunged.", c->tag);
	else if (mod.n) {
		str_fmt(&S.out, "%s OK [MODIFIED %s] Conditional STORE failed.\r\n", c->tag, mod.p);
		sendout();
	} else
		reply("%s OK Store completed.", c->tag);
	str_free(&mod);
}

/* ---- COPY and MOVE ---- */

static void
cmd_copy(Imapcmd *c)
{
	char path[LIM_PATHNAME], *mark;
	int move = strcasecmp(c->verb, "MOVE") == 0, i, n = 0, k, bad = 0;
	Put *v;
	uint32_t validity, *src, *dst;
	Str s = { 0 };

	if (c->narg != 2 || c->arg[0].type != T_ATOM) {
		reply("%s BAD %s sequence-set mailbox", c->tag, c->verb);
		return;
	}
	if ((mark = selectset(c->arg[0].s, c->uid)) == NULL) {
		reply("%s BAD %s", c->tag, lasterr());
		return;
	}
	if (boxarg(c, 1, path, sizeof path) == NULL)
		return;
	mkinbox(path, c->arg[1].s);
	if (mb_type(path) < 0) {
		reply("%s NO [TRYCREATE] No such mailbox.", c->tag);
		return;
	}
	if (move && S.ro) {
		reply("%s NO [READ-ONLY] Mailbox is read-only.", c->tag);
		return;
	}
	for (i = 0; i < S.nm; i++)
		if (mark[i])
			n++;
	v = xmalloc((n + 1) * sizeof *v);
	src = xmalloc((n + 1) * sizeof *src);
	dst = xmalloc((n + 1) * sizeof *dst);
	/* one message in memory at a time */
	for (i = k = 0; i < S.nm && !bad; i++) {
		if (!mark[i])
			continue;
		if (readmsg(&S.m[i], 0) < 0) {
			bad = 1;
			break;
		}
		memset(&v[k], 0, sizeof v[k]);
		v[k].sender = *mb_sender(S.mb, S.m[i].idx) ? mb_sender(S.mb, S.m[i].idx) : "MAILER-DAEMON";
		v[k].date = mb_msg(S.mb, S.m[i].idx)->date;
		v[k].flags = S.m[i].flags & (MF_SEEN | MF_ANSWERED | MF_FLAGGED | MF_DELETED | MF_DRAFT);
		v[k].kw = kw_get(&S.kw, S.m[i].uid);
		src[k] = S.m[i].uid;
		if (putone(path, &v[k], S.craw.p, S.craw.n) < 0) {
			bad = 2;
			break;
		}
		k++;
	}
	if (bad || (n > 0 && putdone(path, v, n, &validity, 0) < 0)) {
		if (!bad)
			bad = 2;
		if (bad == 2)
			logmsg("imap4d", "%s %s: copy: %s", S.peer, S.user, lasterr());
		if (k > 0 && putdone(path, v, k, &validity, 1) < 0)
			logmsg("imap4d", "%s %s: copy: cannot take back the copies: %s", S.peer, S.user, lasterr());
		if (bad == 1)
			reply("%s NO [EXPUNGEISSUED] Some messages were expunged.", c->tag);
		else
			reply("%s NO [%s] Cannot copy.", c->tag, errno == ENOSPC || errno == EDQUOT ? "OVERQUOTA" : "SERVERBUG");
		goto out;
	}
	for (i = 0; i < n; i++)
		dst[i] = v[i].uid;
	for (i = 0; i < n && dst[i] != 0; i++)
		;
	if (n > 0 && i == n) {
		str_fmt(&s, "[COPYUID %u ", validity);
		uidlist(&s, src, n);
		str_addc(&s, ' ');
		uidlist(&s, dst, n);
		str_adds(&s, "]");
	}
	if (!move) {
		update(0);
		reply("%s OK %s%sCopy completed.", c->tag, s.p ? s.p : "", s.p ? " " : "");
		goto out;
	}
	if (s.p)
		reply("* OK %s Moved UIDs.", s.p);
	k = -1;
	if (imp_lock(&S.imp, S.path, mb_kind(S.mb)) == 0) {
		if (rescan(Rquiet) == 0) {
			for (i = 0; i < S.nm; i++)
				if (mark[i] && S.m[i].idx >= 0)
					mb_setflags(S.mb, S.m[i].idx, MF_EXPUNGE, 0);
			k = mb_sync(S.mb);
		}
		unlockimp();
	}
	update(1);
	if (k < 0) {
		logmsg("imap4d", "%s %s: move: %s", S.peer, S.user, lasterr());
		reply("%s NO [SERVERBUG] Copied, but the originals could not be removed.", c->tag);
		goto out;
	}
	reply("%s OK Move completed.", c->tag);
	flush();
	mb_purge(S.mb);
out:
	free(v);
	free(src);
	free(dst);
	str_free(&s);
}

/* ---- IDLE ---- */

static void
cmd_idle(Imapcmd *c)
{
	char line[64];
	struct pollfd p;
	int64_t end = now_ms() + LIM_IMAPIDLE * 1000LL;
	ssize_t n;

	reply("+ idling");
	for (;;) {
		update(1);
		flush();
		if (bio_buffered(&S.b) == 0 && !tls_pending(&S.c)) {
			p.fd = S.c.rfd;
			p.events = POLLIN;
			if (now_ms() > end)
				hangup("Idle for too long.");
			if (poll(&p, 1, S.mb != NULL ? LIM_IMAPPOLL * 1000 : 30000) == 0)
				continue;
		}
		n = bio_line(&S.b, line, sizeof line);
		if (n == BIO_EOF || n == BIO_ERR)
			exit(0);
		if (n > 0 && bio_chomp(line, &n) == 0 && strcasecmp(line, "DONE") == 0) {
			update(1);
			reply("%s OK Idle completed.", c->tag);
			return;
		}
		reply("%s BAD Expected DONE.", c->tag);
		return;
	}
}

/* ---- the command loop ---- */

typedef struct Cmd {
	const char *verb;
	int states;
	int uid;	/* may follow UID */
	void (*fn)(Imapcmd *c);
} Cmd;

static const Cmd cmds[] = {
	{ "APPEND", Sauth | Ssel, 0, cmd_append },
	{ "AUTHENTICATE", Snoauth, 0, cmd_authenticate },
	{ "CAPABILITY", Snoauth | Sauth | Ssel, 0, cmd_capability },
	{ "CHECK", Ssel, 0, cmd_noop },
	{ "CLOSE", Ssel, 0, cmd_close },
	{ "COPY", Ssel, 1, cmd_copy },
	{ "CREATE", Sauth | Ssel, 0, cmd_create },
	{ "DELETE", Sauth | Ssel, 0, cmd_delete },
	{ "ENABLE", Sauth | Ssel, 0, cmd_enable },
	{ "EXAMINE", Sauth | Ssel, 0, cmd_select },
	{ "EXPUNGE", Ssel, 1, cmd_expunge },
	{ "FETCH", Ssel, 1, cmd_fetch },
	{ "ID", Snoauth | Sauth | Ssel, 0, cmd_id },
	{ "IDLE", Sauth | Ssel, 0, cmd_idle },
	{ "LIST", Sauth | Ssel, 0, cmd_list },
	{ "LOGIN", Snoauth, 0, cmd_login },
	{ "LOGOUT", Snoauth | Sauth | Ssel, 0, cmd_logout },
	{ "LSUB", Sauth | Ssel, 0, cmd_list },
	{ "MOVE", Ssel, 1, cmd_copy },
	{ "NAMESPACE", Sauth | Ssel, 0, cmd_namespace },
	{ "NOOP", Snoauth | Sauth | Ssel, 0, cmd_noop },
	{ "RENAME", Sauth | Ssel, 0, cmd_rename },
	{ "SEARCH", Ssel, 1, cmd_search },
	{ "SELECT", Sauth | Ssel, 0, cmd_select },
	{ "STARTTLS", Snoauth, 0, cmd_starttls },
	{ "STATUS", Sauth | Ssel, 0, cmd_status },
	{ "STORE", Ssel, 1, cmd_store },
	{ "SUBSCRIBE", Sauth | Ssel, 0, cmd_subscribe },
	{ "UNSELECT", Ssel, 0, cmd_close },
	{ "UNSUBSCRIBE", Sauth | Ssel, 0, cmd_subscribe },
};

static const Cmd *
lookup(const char *verb)
{
	int lo = 0, hi = nelem(cmds) - 1, mid, c;

	while (lo <= hi) {
		mid = (lo + hi) / 2;
		if ((c = strcasecmp(verb, cmds[mid].verb)) == 0)
			return &cmds[mid];
		if (c < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* Literals: APPEND may carry a message, anything else a little text. */
static void
verbseen(void *arg, Imapcmd *c)
{
	Imapin *in = arg;

	in->maxlit = S.state != Snoauth && strcasecmp(c->verb, "APPEND") == 0 ? LIM_IMAPAPPEND : LIM_IMAPLIT;
	/* credentials stay out of the debug file */
	if (strcasecmp(c->verb, "LOGIN") == 0 || strcasecmp(c->verb, "AUTHENTICATE") == 0)
		debug("<", c->verb, strlen(c->verb));
}

static int
cont(void *arg)
{
	reply("+ OK");
	return bio_flush(&S.b);
}

static void
command(void)
{
	Imapin in;
	Imapcmd c;
	const Cmd *cmd;
	int r;

	arena_free(&S.ar);
	memset(&in, 0, sizeof in);
	in.b = &S.b;
	in.ar = &S.ar;
	in.maxlit = LIM_IMAPLIT;
	in.cont = cont;
	in.verb = verbseen;
	in.arg = &in;
	seterr("%s", "");
	r = imap_readcmd(&in, &c);
	if (r == -3) {
		if (strcmp(lasterr(), "timed out") == 0)
			hangup("Autologout; idle for too long.");
		exit(0);
	}
	if (r == -4)
		hangup(lasterr());
	if (c.verb != NULL && strcasecmp(c.verb, "LOGIN") != 0 && strcasecmp(c.verb, "AUTHENTICATE") != 0 && S.dbg >= 0)
		debug("<", c.verb, strlen(c.verb));
	if (r < 0) {
		reply("%s BAD %s", c.tag ? c.tag : "*", lasterr());
		if (++S.bad >= LIM_IMAPERRS)
			hangup("Too many invalid commands.");
		return;
	}
	cmd = lookup(c.verb);
	if (cmd == NULL || (c.uid && !cmd->uid)) {
		reply("%s BAD Unknown command.", c.tag);
		if (++S.bad >= LIM_IMAPERRS)
			hangup("Too many invalid commands.");
		return;
	}
	if (!(cmd->states & S.state)) {
		reply("%s BAD %s", c.tag, S.state == Snoauth ? "Log in first." : S.state == Sauth ?
		    "No mailbox selected." : "Already logged in.");
		if (++S.bad >= LIM_IMAPERRS)
			hangup("Too many invalid commands.");
		return;
	}
	S.bad = 0;
	if (S.verbose)
		logmsg("imap4d", "%s %s %s%s", S.peer, S.user ? S.user : "-", c.uid ? "UID " : "", cmd->verb);
	/*
	 * What others changed is told before the answer, EXPUNGE only where
	 * sequence numbers cannot be misread (RFC 3501 §7.4.1); SELECT, CLOSE
	 * and IDLE look for themselves.
	 */
	if (S.mb != NULL && cmd->fn != cmd_select && cmd->fn != cmd_close && cmd->fn != cmd_idle &&
	    cmd->fn != cmd_logout && cmd->fn != cmd_delete && cmd->fn != cmd_rename)
		update(c.uid || (cmd->fn != cmd_fetch && cmd->fn != cmd_store && cmd->fn != cmd_search && cmd->fn != cmd_copy));
	cmd->fn(&c);
}

static void
peer(const char *given)
{
	if (given != NULL && strcmp(given, "-") != 0)
		snprintf(S.peer, sizeof S.peer, "%s", given);
	else
		sock_addr(0, 1, S.peer, sizeof S.peer, "unknown");
}

int
imap4d_main(int argc, char **argv)
{
	const char *certfile = NULL, *keyfile = NULL, *given = NULL, *dbgfile = NULL, *pre = NULL;
	Net net;
	int o;

	while ((o = getopt(argc, argv, "a:d:K:pr:s:t:v")) != -1) {
		switch (o) {
		case 'a': pre = optarg; break;
		case 'd': dbgfile = optarg; break;
		case 'K': keyfile = optarg; break;
		case 'p': S.plainok = 1; break;
		case 'r':
			if (strcmp(optarg, "-") != 0 && (net_parse(optarg, &net) < 0 || strlen(optarg) >= sizeof S.peer))
				usage();
			given = optarg;
			S.trust = 1;
			break;
		case 's': S.host = optarg; break;
		case 't': certfile = optarg; break;
		case 'v': S.verbose = 1; break;
		default: usage();
		}
	}
	if (optind != argc || (keyfile != NULL && certfile == NULL) || (pre != NULL && !sasl_name(pre, strlen(pre))))
		usage();
	S.dbg = -1;
	S.imp.fd = -1;
	if (dbgfile != NULL && (S.dbg = open(dbgfile, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600)) < 0)
		die(EX_CANTCREAT, "%s:", dbgfile);
	if (certfile != NULL && (S.cert = tls_loadcert(certfile, keyfile)) == NULL)
		die(EX_CONFIG, "%s: %s", certfile, lasterr());
	signal(SIGPIPE, SIG_IGN);
	if (S.host == NULL)
		S.host = rw_sysname();
	peer(given);
	conn_init(&S.c, 0, 1);
	S.c.timeout = LIM_IMAPAUTHIDLE * 1000;
	bio_init(&S.b, &S.c);
	S.state = Snoauth;
	if (pre != NULL) {
		if (loggedin(pre, "preauth") < 0)
			die(EX_NOUSER, "%s: no mailbox to serve", pre);
		str_adds(&S.out, "* PREAUTH [CAPABILITY ");
	} else {
		if (secrets_usable() == 0)
			S.auth = 1;
		else if (errno != ENOENT)
			logmsg("imap4d", "authentication off: %s", lasterr());
		str_adds(&S.out, "* OK [CAPABILITY ");
	}
	capas(&S.out);
	str_fmt(&S.out, "] %s IMAP4rev1 server ready\r\n", S.host);
	sendout();
	for (;;) {
		if (bio_buffered(&S.b) == 0 && !tls_pending(&S.c))
			flush();
		command();
	}
}
