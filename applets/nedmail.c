/*
 * nedmail: an ed-like reader of a mailbox (mail(1), upas.md §2), reading
 * the mailbox through core/mbox.h: no fs needed. Commands are
 * "[range] command [args]" on messages and their MIME parts; flags and
 * deletions are written back at q (or y), under the mailbox's locks, and
 * x leaves the mailbox as it was. Everything a message holds is shown
 * through safe(): no byte of it reaches the terminal as a control.
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "applet.h"
#include "htmlfmt.h"
#include "mbox.h"
#include "regexp.h"
#include "mimeenc.h"
#include "msg.h"
#include "msgfiles.h"

enum {
	LINE = 4096,		/* a command line */
	MAXSUB = 16,		/* subpart numbers in an address */
};

typedef struct Sum {
	char *from;		/* From:'s first address, else the envelope's */
	char *to;		/* To:, for -t */
	char *subj;		/* at most 50 octets */
	unsigned char parts;	/* multipart or message/rfc822 */
} Sum;

typedef struct Pos {
	int m;			/* message id as shown (1...); 0: none, the top */
	int sub[MAXSUB];	/* part numbers below it, from 1 */
	int nsub;
} Pos;

static struct {
	Mailbox *mb;
	char path[LIM_PATHNAME];	/* the mailbox */
	char dir[LIM_PATHNAME];		/* where s and f put folders: box/LOGIN */
	const char *login;
	int n;			/* messages */
	int rev;		/* -r: oldest first */
	int useto;		/* -t: To: in header lines */
	int single;		/* -s: one message file */
	Pos cur;
	int fromw;		/* width of the from column; 0: not yet known */
	Sum *sum;		/* by mailbox index */
	Str sraw;		/* the header a summary is made from */
	Arena sumar;
	int sumnew;		/* summaries made since the cache was read */
	int sumread;		/* the cache was read (at the first summary) */
	/* the message last read, parsed */
	int cidx;
	Str craw;
	Msg cmsg;
	int cparsed;
	/* its header alone, for summaries */
	int hidx;
	Str hraw;
	Msg hmsg;
	int hparsed;
	Regex *re;
	int hasre;
	char *fmt;		/* t: a formatter for text bodies, or NULL */
	Str out;
} N;

static void
flush(void)
{
	if (N.out.n > 0)
		fd_writeall(1, N.out.p, N.out.n);
	str_reset(&N.out);
}

/* Errors and prompts go to stderr, after what stdout holds. */
static void
say(const char *fmt, ...) PRINTF(1, 2);
static void
say(const char *fmt, ...)
{
	va_list ap;

	flush();
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
}

/*
 * Message text made harmless for a terminal: controls but tab and (in
 * bodies) newline, DEL, C1 controls, invalid UTF-8 and the bidirectional
 * overrides become '?'.
 */
static void
safe(Str *o, const char *s, size_t n, int body)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i, k;
	unsigned long c;

	for (i = 0; i < n; i += k) {
		k = 1;
		if (p[i] >= ' ' && p[i] < 0x7f) {
			/* a run of plain characters at once */
			while (i + k < n && p[i + k] >= ' ' && p[i + k] < 0x7f)
				k++;
			str_addn(o, s + i, k);
			continue;
		}
		if (p[i] < 0x80) {
			if (body && p[i] == '\r' && i + 1 < n && p[i + 1] == '\n')
				continue;	/* CRLF text: the line end alone */
			if ((p[i] < ' ' && p[i] != '\t' && !(body && p[i] == '\n')) || p[i] == 0x7f)
				str_addc(o, '?');
			else
				str_addc(o, p[i]);
			continue;
		}
		if ((p[i] & 0xe0) == 0xc0)
			k = 2, c = p[i] & 0x1f;
		else if ((p[i] & 0xf0) == 0xe0)
			k = 3, c = p[i] & 0x0f;
		else if ((p[i] & 0xf8) == 0xf0)
			k = 4, c = p[i] & 0x07;
		else {
			str_addc(o, '?');
			continue;
		}
		if (i + k > n) {
			str_addc(o, '?');
			k = 1;
			continue;
		}
		for (size_t j = 1; j < k; j++) {
			if ((p[i + j] & 0xc0) != 0x80) {
				k = j;
				c = 0xfffd + 0x1000000;
				break;
			}
			c = c << 6 | (p[i + j] & 0x3f);
		}
		if (c > 0x10ffff || (c >= 0x80 && c < 0xa0) || (c >= 0x202a && c <= 0x202e) ||
		    (c >= 0x2066 && c <= 0x2069) || (c >= 0xd800 && c < 0xe000) ||
		    (k == 3 && c < 0x800) || (k == 4 && c < 0x10000) || (k == 2 && c < 0x80))
			str_addc(o, '?');
		else
			str_addn(o, s + i, k);
	}
}

static void
safes(Str *o, const char *s)
{
	safe(o, s, strlen(s), 0);
}

/* Body text for the terminal, ending in a line end. */
static void
safetext(const char *s, size_t n)
{
	safe(&N.out, s, n, 1);
	if (n > 0 && s[n - 1] != '\n')
		str_addc(&N.out, '\n');
}

/* ---- messages ---- */

static int
midx(int id)
{
	return N.rev ? id - 1 : N.n - id;
}

static int
mid(int idx)
{
	return N.rev ? idx + 1 : N.n - idx;
}

static Mmsg *
mm(int id)
{
	return mb_msg(N.mb, midx(id));
}

static void
uncache(void)
{
	if (N.cparsed)
		msg_free(&N.cmsg);
	if (N.hparsed)
		msg_free(&N.hmsg);
	N.cparsed = N.hparsed = 0;
	N.cidx = N.hidx = -1;
}

/* Message id, read and parsed whole. */
static Msg *
load(int id)
{
	int i = midx(id);

	if (N.cparsed && N.cidx == i)
		return &N.cmsg;
	if (N.cparsed)
		msg_free(&N.cmsg);
	N.cparsed = 0;
	str_reset(&N.craw);
	if (mb_read(N.mb, i, &N.craw) < 0 || msg_parse(&N.cmsg, N.craw.p ? N.craw.p : "", N.craw.n) < 0) {
		say("!%s\n", lasterr());
		return NULL;
	}
	N.cparsed = 1;
	N.cidx = i;
	return &N.cmsg;
}

/* Message id's header, parsed: the whole message when it is at hand. */
static Msg *
head(int id)
{
	int i = midx(id);

	if (N.cparsed && N.cidx == i)
		return &N.cmsg;
	if (N.hparsed && N.hidx == i)
		return &N.hmsg;
	if (N.hparsed)
		msg_free(&N.hmsg);
	N.hparsed = 0;
	str_reset(&N.hraw);
	if (mb_head(N.mb, i, &N.hraw) < 0 || msg_parse(&N.hmsg, N.hraw.p ? N.hraw.p : "", N.hraw.n) < 0)
		return NULL;
	N.hparsed = 1;
	N.hidx = i;
	return &N.hmsg;
}

/* The part at p (the message for no subpart numbers), or NULL. */
static Part *
part(Pos *p, Msg **mp)
{
	Msg *m;
	Part *q;
	int i, k;

	if (p->m < 1 || p->m > N.n)
		return NULL;
	m = p->nsub ? load(p->m) : head(p->m);
	if (m == NULL)
		return NULL;
	if (mp)
		*mp = m;
	q = m->root;
	for (i = 0; i < p->nsub && q; i++)
		for (q = q->child, k = 1; q && k < p->sub[i]; k++)
			q = q->next;
	return q;
}

/* The same part, parsed whole (for bodies). */
static Part *
wpart(Pos *p, Msg **mp)
{
	Msg *m;
	Part *q;
	int i, k;

	if (p->m < 1 || p->m > N.n || (m = load(p->m)) == NULL)
		return NULL;
	if (mp)
		*mp = m;
	q = m->root;
	for (i = 0; i < p->nsub && q; i++)
		for (q = q->child, k = 1; q && k < p->sub[i]; k++)
			q = q->next;
	return q;
}

static int
nchildren(Pos *p)
{
	Part *q = wpart(p, NULL);
	int n = 0;

	for (q = q ? q->child : NULL; q; q = q->next)
		n++;
	return n;
}

static void
posstr(Str *s, Pos *p)
{
	int i;

	if (p->m == 0)
		return;
	str_num(s, p->m, 10);
	for (i = 0; i < p->nsub; i++) {
		str_addc(s, '.');
		str_num(s, p->sub[i], 10);
	}
}

/* A header's text, decoded, or "". */
static char *
field(Msg *m, Part *p, const char *name)
{
	char *s = msg_hdrtext(m, p, name);

	return s ? s : "";
}

/* The sender for summaries: From:'s address, else the envelope's. */
static const char *
fromaddr(Msg *m, int id)
{
	char *a = mf_addrs(&m->ar, m->root, "from"), *sp;

	if ((sp = strchr(a, ' ')) != NULL)
		*sp = 0;
	if (*a)
		return a;
	return arena_strdup(&m->ar, mb_sender(N.mb, midx(id)));
}

/* The first addr and the rest cut to " ..." for the To: column. */
static char *
tocolumn(const char *a)
{
	size_t n = strcspn(a, " ");
	Str s = { 0 };
	char *r;

	str_addn(&s, a, n < 30 ? n : 30);
	if (a[n] == ' ' || n > 30)
		str_adds(&s, " ...");
	r = arena_strdup(&N.sumar, s.p);
	str_free(&s);
	return r;
}

static void loadsums(void);
static int readall(int fd, Str *s);

/*
 * What a summary line shows of message id, from one read of its header
 * (kept till the mailbox is scanned again), or NULL: From: (To: with -t),
 * Subject: and whether Content-Type: has parts, found by a scan of the
 * header lines alone, not a parse of the message.
 */
static Sum *
summary(int id)
{
	Sum *u = &N.sum[midx(id)];
	const char *p, *e, *end, *v;
	char *subj = NULL, *sp;
	Str a = { 0 }, t = { 0 }, val = { 0 };
	size_t k;
	int which;

	if (!N.sumread) {
		N.sumread = 1;
		loadsums();
		if (u->from != NULL)
			return u;
	}
	if (u->from != NULL)
		return u;
	str_reset(&N.sraw);
	if (mb_head(N.mb, midx(id), &N.sraw) < 0)
		return NULL;
	p = N.sraw.p ? N.sraw.p : "";
	end = p + N.sraw.n;
	while (p < end && *p != '\n') {
		/* a field and its folds */
		for (e = p; e < end && (e == p || e[-1] != '\n' || *e == ' ' || *e == '\t'); e++)
			;
		k = strcspn(p, ":\n");
		which = 0;
		if (p + k < e && p[k] == ':') {
			if (k == 4 && strncasecmp(p, "from", 4) == 0)
				which = 1;
			else if (k == 2 && strncasecmp(p, "to", 2) == 0)
				which = 4;
			else if (k == 7 && strncasecmp(p, "subject", 7) == 0 && subj == NULL)
				which = 2;
			else if (k == 12 && strncasecmp(p, "content-type", 12) == 0)
				which = 3;
		}
		if (which) {
			v = p + k + 1;
			while (v < e && (*v == ' ' || *v == '\t'))
				v++;
			if (which == 1 || which == 4) {
				str_reset(&val);
				str_adds(&val, msg_unfold(&N.sumar, v, e - v));
				mf_addrlist(&N.sumar, val.p, which == 1 ? &a : &t);
			} else if (which == 2)
				subj = msg_hdrdecode(&N.sumar, v, e - v);
			else
				u->parts = strncasecmp(v, "multipart/", 10) == 0 || strncasecmp(v, "message/rfc822", 14) == 0;
		}
		p = e;
	}
	if (a.n == 0)
		str_adds(&a, mb_sender(N.mb, midx(id)));
	if ((sp = strchr(a.p ? a.p : "", ' ')) != NULL)
		*sp = 0;
	u->from = arena_strdup(&N.sumar, a.p ? a.p : "");
	u->to = tocolumn(t.p ? t.p : "");
	if (subj == NULL)
		subj = "";
	while (*subj == ' ' || *subj == '\t')
		subj++;
	if (strlen(subj) > 50) {
		sp = subj + 50;
		while (sp > subj && ((unsigned char)*sp & 0xc0) == 0x80)
			sp--;
		*sp = 0;
	}
	u->subj = subj;
	N.sumnew++;
	str_free(&a);
	str_free(&t);
	str_free(&val);
	return u;
}

/*
 * The summaries kept between sessions, beside the index: ".NAME.sum" by an
 * mbox, ".sum" in a directory. A cache, never trusted for more than it is:
 * lines "id parts from to subject", words %XX-escaped, found by message id.
 */
static int
sumpath(char *buf, size_t n)
{
	struct stat st;

	if (stat(N.path, &st) == 0 && S_ISDIR(st.st_mode))
		return snprintf(buf, n, "%s/.sum", N.path) < (int)n ? 0 : -1;
	return mb_sidepath(buf, n, N.path, ".sum");
}

static char *
sumunesc(char *w)
{
	char *o = w, *r = w;

	if (strcmp(w, "-") == 0)
		return arena_strdup(&N.sumar, "");
	for (; *r; r++)
		if (*r == '%' && hexdigit(r[1]) >= 0 && hexdigit(r[2]) >= 0 && (hexdigit(r[1]) | hexdigit(r[2])) != 0) {
			*o++ = hexdigit(r[1]) * 16 + hexdigit(r[2]);
			r += 2;
		} else
			*o++ = *r;
	*o = 0;
	return arena_strdup(&N.sumar, w);
}

typedef struct Idrow {
	const char *id;
	int i;
} Idrow;

static int
cmprow(const void *a, const void *b)
{
	return strcmp(((const Idrow *)a)->id, ((const Idrow *)b)->id);
}

static void
loadsums(void)
{
	char path[LIM_PATHNAME], *t, *l, *e, *w[5], ib[MB_IDLEN];
	Idrow *v, key, *hit;
	size_t n;
	int i, k;

	if (N.single || sumpath(path, sizeof path) < 0 || (t = readfile(path, 64 << 20, &n)) == NULL)
		return;
	if (strncmp(t, "upas-sum 1\n", 11) != 0) {
		free(t);
		return;
	}
	v = xmalloc((N.n + 1) * sizeof *v);
	for (i = 0; i < N.n; i++) {
		v[i].id = arena_strdup(&N.sumar, mb_id(N.mb, i, ib));
		v[i].i = i;
	}
	qsort(v, N.n, sizeof *v, cmprow);
	for (l = t + 11; l < t + n && *l; l = e + 1) {
		if ((e = strchr(l, '\n')) == NULL)
			break;
		*e = 0;
		for (k = 0; k < 5; k++)
			w[k] = strsep(&l, " ");
		if (w[4] == NULL || l != NULL)
			continue;
		key.id = sumunesc(w[0]);
		if ((hit = bsearch(&key, v, N.n, sizeof *v, cmprow)) == NULL || N.sum[hit->i].from != NULL)
			continue;
		N.sum[hit->i].parts = w[1][0] == '1';
		N.sum[hit->i].from = sumunesc(w[2]);
		N.sum[hit->i].to = sumunesc(w[3]);
		N.sum[hit->i].subj = sumunesc(w[4]);
	}
	free(v);
	free(t);
	N.sumnew = 0;
}

/* When summaries were made, all that are known, temporary file then rename. */
static void
savesums(void)
{
	char path[LIM_PATHNAME], tmp[LIM_PATHNAME + 32], ib[MB_IDLEN];
	Str s = { 0 };
	int i, fd, bad = 0;

	if (N.single || N.sumnew == 0 || N.mb == NULL || sumpath(path, sizeof path) < 0)
		return;
	snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
		return;
	str_adds(&s, "upas-sum 1\n");
	for (i = 0; i <= N.n && !bad; i++) {
		if (i == N.n || s.n > 65536) {
			bad = fd_writeall(fd, s.p, s.n) < 0;
			str_reset(&s);
		}
		if (i == N.n || N.sum[i].from == NULL)
			continue;
		str_word(&s, mb_id(N.mb, i, ib));
		str_fmt(&s, " %d ", N.sum[i].parts);
		str_word(&s, N.sum[i].from);
		str_addc(&s, ' ');
		str_word(&s, N.sum[i].to);
		str_addc(&s, ' ');
		str_word(&s, N.sum[i].subj);
		str_addc(&s, '\n');
	}
	str_free(&s);
	if (close(fd) < 0 || bad || rename(tmp, path) < 0)
		unlink(tmp);
	N.sumnew = 0;
}

static void
forgetsums(void)
{
	N.sumnew = 0;
	N.sumread = 0;
	arena_free(&N.sumar);
	free(N.sum);
	N.sum = xmalloc((N.n + 1) * sizeof *N.sum);
	memset(N.sum, 0, (N.n + 1) * sizeof *N.sum);
	N.fromw = 0;
}

/*
 * Many summaries to make (a first ,h): a child process makes those of the
 * second half of the mailbox while this one makes the first, as mlist |
 * mscan would, and hands them back in a memfd ("index size parts from to
 * subject", words as in .sum). Anything amiss and this process makes them.
 */
static void
halves(void)
{
	int i, k, fd, st, todo = 0, half = N.n / 2;
	char *t, *l, *e, *w[6];
	Str s = { 0 };
	Sum *u;
	pid_t pid;

	for (i = half; i < N.n; i++)
		if (N.sum[i].from == NULL)
			todo++;
	if (todo < 2000 || (fd = memfd_create("nedmail", MFD_CLOEXEC)) < 0)
		return;
	flush();
	fflush(stderr);
	if ((pid = fork()) < 0) {
		close(fd);
		return;
	}
	if (pid == 0) {
		for (i = half; i < N.n; i++) {
			if (N.sum[i].from != NULL || (u = summary(mid(i))) == NULL)
				continue;
			str_num(&s, i, 10);
			str_addc(&s, ' ');
			str_num(&s, mb_msg(N.mb, i)->size, 10);
			str_addc(&s, ' ');
			str_num(&s, u->parts, 10);
			str_addc(&s, ' ');
			str_word(&s, u->from);
			str_addc(&s, ' ');
			str_word(&s, u->to);
			str_addc(&s, ' ');
			str_word(&s, u->subj);
			str_addc(&s, '\n');
			if (s.n > 65536) {
				if (fd_writeall(fd, s.p, s.n) < 0)
					_exit(1);
				str_reset(&s);
			}
		}
		_exit(fd_writeall(fd, s.p ? s.p : "", s.n) < 0);
	}
	for (i = 0; i < half; i++)
		summary(mid(i));
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
	    lseek(fd, 0, SEEK_SET) != 0 || readall(fd, &s) < 0) {
		close(fd);
		str_free(&s);
		return;
	}
	close(fd);
	str_addc(&s, 0);
	for (t = s.p, l = t; l && *l; l = e + 1) {
		if ((e = strchr(l, '\n')) == NULL)
			break;
		*e = 0;
		for (k = 0; k < 6; k++)
			w[k] = strsep(&l, " ");
		if (w[5] == NULL || l != NULL || (i = atoi(w[0])) < half || i >= N.n || N.sum[i].from != NULL)
			continue;
		if (mb_msg(N.mb, i)->size == 0 && atoll(w[1]) > 0) {
			mb_msg(N.mb, i)->size = mb_u32(atoll(w[1]));
			N.mb->dirty = 1;
		}
		N.sum[i].parts = w[2][0] == '1';
		N.sum[i].from = sumunesc(w[3]);
		N.sum[i].to = sumunesc(w[4]);
		N.sum[i].subj = sumunesc(w[5]);
		N.sumnew++;
	}
	str_free(&s);
}

/* Width of the from (or to) column: the longest over all messages, 12 at least. */
static int
fromwidth(void)
{
	int id, w, max = 40;
	Sum *u;

	if (N.fromw > 0)
		return N.fromw;
	N.fromw = 12;
	if (N.n > 0 && summary(1) != NULL)	/* the kept summaries read */
		halves();
	for (id = 1; id <= N.n; id++)
		if ((u = summary(id)) != NULL) {
			w = strlen(N.useto ? u->to : u->from);
			if (w > N.fromw)
				N.fromw = w < max ? w : max;
		}
	return N.fromw;
}

static void
flagstr(char *f, int id, int parts)
{
	Mmsg *m = mm(id);

	f[0] = parts ? 'H' : ' ';
	f[1] = m->flags & MF_DELETED ? 'd' : ' ';
	f[2] = m->flags & MF_STORED ? 's' : ' ';
	f[3] = m->flags & MF_SEEN ? ' ' : '*';
	if (m->flags & MF_ANSWERED)
		f[3] = 'a';
	if (m->flags & MF_FLAGGED)
		f[3] = '\'';
	f[4] = 0;
}

/* v (0 to 99) in two places, the first padc when v < 10. */
static void
two(char *b, int v, int padc)
{
	b[0] = v >= 10 ? '0' + v / 10 % 10 : padc;
	b[1] = '0' + v % 10;
}

/* "m/dd hh:mm" for the last half year, else "m/dd  yyyy", as upas shows dates. */
static void
datestr(char *b, size_t n, time_t t)
{
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL) {
		snprintf(b, n, "%s", "");
		return;
	}
	if (n < 12)
		return;
	/* "%2d/%02d %02d:%02d" or "%2d/%02d  %4d", by hand: ,h makes many */
	two(b, tm.tm_mon + 1, ' ');
	b[2] = '/';
	two(b + 3, tm.tm_mday, '0');
	if (time(NULL) - t < 15768000) {
		b[5] = ' ';
		two(b + 6, tm.tm_hour, '0');
		b[8] = ':';
		two(b + 9, tm.tm_min, '0');
		b[11] = 0;
	} else {
		b[5] = b[6] = ' ';
		two(b + 7, (tm.tm_year + 1900) / 100 % 100, '0');
		two(b + 9, (tm.tm_year + 1900) % 100, '0');
		b[11] = 0;
	}
}

/* t[0..n) right-aligned in w columns (longer: as it is). */
static void
pad(Str *s, const char *t, size_t n, size_t w)
{
	while (w-- > n)
		str_addc(s, ' ');
	str_addn(s, t, n);
}

/* One summary line into s: the message's, or a part's. */
static int
hline(Str *s, Pos *p)
{
	Msg *m;
	Part *q;
	Str id = { 0 };
	char f[5], d[32];
	Sum *u;
	int w;

	if (p->nsub == 0) {
		w = fromwidth();
		if ((u = summary(p->m)) == NULL)
			return -1;
		posstr(&id, p);
		flagstr(f, p->m, u->parts);
		datestr(d, sizeof d, mm(p->m)->date);
		/* "%3s %s %6lu  %11.11s ", by hand: ,h makes many */
		pad(s, id.p, id.n, 3);
		str_addc(s, ' ');
		str_addn(s, f, 4);
		str_addc(s, ' ');
		{
			Str z = { 0 };

			str_num(&z, mm(p->m)->size, 10);
			pad(s, z.p, z.n, 6);
			str_free(&z);
		}
		str_adds(s, "  ");
		pad(s, d, strlen(d) < 11 ? strlen(d) : 11, 11);
		str_addc(s, ' ');
		if (*u->subj) {
			size_t n0 = s->n, k;

			safes(s, N.useto ? u->to : u->from);
			if (s->n - n0 > (size_t)w) {
				s->n = n0 + w;	/* the from column, cut on a character */
				while (s->n > n0 && ((unsigned char)s->p[s->n] & 0xc0) == 0x80)
					s->n--;
			}
			for (k = s->n - n0; k < (size_t)w; k++)
				str_addc(s, ' ');
			str_addc(s, ' ');
			safes(s, u->subj);
		} else
			safes(s, N.useto ? u->to : u->from);
		str_addc(s, '\n');
		str_free(&id);
		return 0;
	}
	if ((q = part(p, &m)) == NULL)
		return -1;
	posstr(&id, p);
	{
		str_fmt(s, "%3s    ", id.p);
		safe(s, q->type, strlen(q->type), 0);
		str_addc(s, '/');
		safe(s, q->subtype, strlen(q->subtype), 0);
		str_fmt(s, " %6zu  ", q->rawlen);
		if (q->filename)
			safes(s, q->filename);
		str_addc(s, '\n');
		str_free(&id);
		return 0;
	}
	return 0;
}

/* ---- addresses ---- */

/* A regular expression between delimiters d at *sp (the closing one
 * optional, \d a literal d), compiled into N.re; empty: the last one. */
static int
getre(char **sp, int d)
{
	char buf[LINE], *s = *sp;
	size_t n = 0;

	while (*s && *s != d && n + 2 < sizeof buf) {
		if (*s == '\\' && s[1] == d)
			s++;
		buf[n++] = *s++;
	}
	buf[n] = 0;
	if (*s == d)
		s++;
	*sp = s;
	if (n == 0) {
		if (!N.hasre) {
			say("!no previous regular expression\n");
			return -1;
		}
		return 0;
	}
	if (N.hasre)
		re_free(N.re);
	N.hasre = 0;
	if ((N.re = re_comp(buf, 0)) == NULL) {
		say("!badly formed regular expression\n");
		return -1;
	}
	N.hasre = 1;
	return 0;
}

/* Does message id match the search kind ('/' its summary line, '%' its
 * text, '#' a field: fld, "from" by default). */
static int
matches(int id, int kind, const char *fld)
{
	Pos p = { id, { 0 }, 0 };
	Str s = { 0 };
	Msg *m;
	int r = 0;

	if (kind == '/' || kind == '?') {
		if (hline(&s, &p) == 0) {
			str_addc(&s, 0);
			r = re_exec(N.re, s.p, s.n - 1, NULL, 0);
		}
	} else if (kind == '%') {
		if ((m = load(id)) != NULL) {
			str_addn(&s, m->raw, m->n);
			str_addc(&s, 0);
			/* NULs would end the text early: they become blanks */
			for (size_t i = 0; i + 1 < s.n; i++)
				if (s.p[i] == 0)
					s.p[i] = ' ';
			r = re_exec(N.re, s.p, s.n - 1, NULL, 0);
		}
	} else if ((m = head(id)) != NULL) {
		if (fld == NULL || strcasecmp(fld, "from") == 0)
			str_adds(&s, fromaddr(m, id));
		else if (strcasecmp(fld, "body") == 0 && (m = load(id)) != NULL)
			msg_body(m->root, &s);
		else
			str_adds(&s, field(m, m->root, fld));
		str_addc(&s, 0);
		for (size_t i = 0; i + 1 < s.n; i++)
			if (s.p[i] == 0)
				s.p[i] = ' ';
		r = re_exec(N.re, s.p, s.n - 1, NULL, 0);
	}
	str_free(&s);
	return r;
}

/* A search at *sp (its delimiter first) from p, forward or back. */
static int
search(char **sp, Pos *p, int back)
{
	char fld[64] = "", *s = *sp;
	int kind = *s++, id, k = 0;

	if (kind == '?')
		back = 1;
	if (kind == '#') {
		/* #re# or #field#re# */
		char *e = s;

		while (*e && *e != '#')
			e++;
		if (*e == '#' && strchr(e + 1, '#') != NULL) {
			k = e - s < (int)sizeof fld - 1 ? e - s : (int)sizeof fld - 1;
			memcpy(fld, s, k);
			fld[k] = 0;
			s = e + 1;
		}
	}
	if (getre(&s, kind) < 0)
		return -1;
	*sp = s;
	for (id = p->m + (back ? -1 : 1); id >= 1 && id <= N.n; id += back ? -1 : 1)
		if (matches(id, kind, fld[0] ? fld : NULL)) {
			p->m = id;
			p->nsub = 0;
			return 0;
		}
	say("!search\n");
	return -1;
}

/* One address at *sp from N.cur into p; *got: one was there. */
static int
address(char **sp, Pos *p, int *got, int clamp)
{
	char *s = *sp, *e;
	int first = 1, sign, k;
	long v;

	*p = N.cur;
	*got = 0;
	for (;;) {
		if (*s >= '0' && *s <= '9' && first) {
			v = strtol(s, &e, 10);
			s = e;
			if (v < 0 || v > (long)N.n + 1)
				v = (long)N.n + 1;	/* past the end, whatever it said */
			if (v == 0)
				p->m = 0;
			else if (v <= N.n || clamp)
				p->m = v <= N.n ? v : N.n;
			else {
				say("!address\n");
				return -1;
			}
			p->nsub = 0;
		} else if (*s == '.' && s[1] >= '0' && s[1] <= '9' && (!first || *got)) {
			s++;
			v = strtol(s, &e, 10);
			s = e;
			if (p->m == 0 || p->nsub >= MAXSUB || v < 1 || v > nchildren(p)) {
				say(p->m && nchildren(p) == 0 ? "!no sub parts\n" : "!address\n");
				return -1;
			}
			p->sub[p->nsub++] = v;
		} else if (*s == '.' && !*got) {
			s++;
			*p = N.cur;
		} else if (*s == '.' && *got) {
			/* "2." the first part */
			s++;
			if (p->m == 0 || p->nsub >= MAXSUB || nchildren(p) == 0) {
				say("!no sub parts\n");
				return -1;
			}
			p->sub[p->nsub++] = 1;
		} else if (*s == '$' && first) {
			s++;
			if (N.n == 0) {
				say("!address\n");
				return -1;
			}
			p->m = N.n;
			p->nsub = 0;
		} else if (*s == '+' || *s == '-') {
			sign = *s++ == '-' ? -1 : 1;
			if (sign < 0 && (*s == '/' || *s == '%' || *s == '#')) {
				if (search(&s, p, 1) < 0)
					return -1;
			} else {
				v = 1;
				if (*s >= '0' && *s <= '9') {
					v = strtol(s, &e, 10);
					s = e;
					if (v > N.n + LIM_MSGPARTS)
						v = N.n + LIM_MSGPARTS;	/* past any end: no overflow */
				}
				if (p->nsub > 0) {
					k = p->sub[p->nsub - 1] + sign * v;
					p->nsub--;
					if (k < 1 || k > nchildren(p)) {
						say("!address\n");
						return -1;
					}
					p->sub[p->nsub++] = k;
				} else {
					k = p->m + sign * v;
					if (k > N.n && clamp)
						k = N.n;
					if (k < 1 || k > N.n) {
						say("!address\n");
						return -1;
					}
					p->m = k;
				}
			}
		} else if (*s == '/' || *s == '?' || *s == '%' || *s == '#') {
			if (*s == '?' && !first)
				break;
			if (search(&s, p, 0) < 0)
				return -1;
		} else
			break;
		*got = 1;
		first = 0;
	}
	*sp = s;
	return 0;
}

/* ---- the command table ---- */

typedef struct Cmd Cmd;
struct Cmd {
	const char *name;
	int (*fn)(Pos *p, int argc, char **argv, char *line);	/* 0, -1 failed; *p: the new current */
	int noargs;
	int needaddr;
	const char *help;
};


/* Words of an argument string: blanks separate, '' quotes (a doubled ' is one). */
static int
tokenize(char *s, char **v, int max)
{
	int n = 0;
	char *o;

	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == 0 || n == max)
			return n;
		v[n++] = o = s;
		while (*s && *s != ' ' && *s != '\t') {
			if (*s == '\'') {
				for (s++; *s; s++) {
					if (*s == '\'' && s[1] == '\'')
						*o++ = *s++;
					else if (*s == '\'')
						break;
					else
						*o++ = *s;
				}
				if (*s)
					s++;
			} else
				*o++ = *s++;
		}
		if (*s)
			s++;
		*o = 0;
	}
}

static void
plural(Str *s, int n, const char *what)
{
	str_fmt(s, "%d %s%s", n, what, n == 1 ? "" : "s");
}

/* ---- printing ---- */

/* Header fields a reader rarely wants: box/LOGIN/ignore or lib/ignore
 * (one name prefix per line), else these. */
static const char *ignoredef[] = {
	"received", "return-path", "message-id", "mime-version", "content-", "dkim-", "arc-",
	"authentication-results", "received-spf", "x-", "list-", "precedence", "delivered-to",
	"references", "in-reply-to", "thread-", "user-agent", "status", "x-status", "lines",
	"errors-to", "importance", "priority", "domainkey-signature", "feedback-id",
};
static char **ignore;
static int nignore = -1;

static void
loadignore(void)
{
	char path[LIM_PATHNAME], *t, *l, *e;
	size_t n;

	nignore = 0;
	t = NULL;
	if (upas_path(path, sizeof path, "box", N.login, "ignore", NULL) == 0)
		t = readfile(path, 64 * 1024, &n);
	if (t == NULL && upas_path(path, sizeof path, "lib", "ignore", NULL) == 0)
		t = readfile(path, 64 * 1024, &n);
	if (t == NULL) {
		ignore = (char **)ignoredef;
		nignore = nelem(ignoredef);
		return;
	}
	for (l = t; l && *l; l = e) {
		if ((e = strchr(l, '\n')) != NULL)
			*e++ = 0;
		while (*l == ' ' || *l == '\t')
			l++;
		if (*l == 0 || *l == '#')
			continue;
		ignore = xrealloc(ignore, (nignore + 1) * sizeof *ignore);
		ignore[nignore++] = l;
	}
}

static int
ignored(const char *name, size_t n)
{
	int i;
	size_t k;

	if (nignore < 0)
		loadignore();
	for (i = 0; i < nignore; i++) {
		k = strlen(ignore[i]);
		if (k > 0 && ignore[i][k - 1] == ':')
			k--;
		if (k > 0 && k <= n && strncasecmp(name, ignore[i], k) == 0 && (k == n || ignore[i][k - 1] == '-'))
			return 1;
	}
	return 0;
}

/* The header a reader sees: fields not ignored, decoded, one line each. */
static void
pheader(Msg *m, Part *p)
{
	int i, any = 0;

	for (i = 0; i < p->nh; i++) {
		Hdr *h = &p->h[i];

		if (ignored(h->name, h->nlen))
			continue;
		safe(&N.out, h->name, h->nlen, 0);
		str_adds(&N.out, ": ");
		safes(&N.out, msg_hdrdecode(&m->ar, h->val, h->vlen));
		str_addc(&N.out, '\n');
		any = 1;
	}
	if (any)
		str_addc(&N.out, '\n');
}

/* The mbox "From " line of message id. */
static void
unixheader(int id)
{
	char b[LIM_PATH + 128];

	mb_fromline(b, sizeof b, mb_sender(N.mb, midx(id)), mm(id)->date);
	b[strcspn(b, "\n")] = 0;
	safes(&N.out, b);
	str_addc(&N.out, '\n');
}

static int
istext(Part *p)
{
	return strcmp(p->type, "text") == 0 || (strcmp(p->type, "message") == 0 &&
	    (strcmp(p->subtype, "delivery-status") == 0 || strcmp(p->subtype, "disposition-notification") == 0));
}

/* All of fd (up to LIM_MBOXMSG) appended to s. */
static int
readall(int fd, Str *s)
{
	ssize_t r;

	for (;;) {
		if (s->n >= LIM_MBOXMSG)
			return 0;
		str_reserve(s, 65536);
		if ((r = read(fd, s->p + s->n, 65536)) < 0 && errno != EINTR)
			return -1;
		if (r == 0)
			return 0;
		if (r > 0)
			s->n += r;
	}
}

static int rawmsg(Pos *p);

/* Text through the formatter t set, when there is one (and a shell). */
static void
showtext(const char *s, size_t n)
{
	if (N.fmt != NULL && access("/bin/sh", X_OK) == 0) {
		char *argv[] = { "/bin/sh", "-c", N.fmt, NULL };
		int fd = memfd_create("nedmail", MFD_CLOEXEC), ofd = memfd_create("nedmail", MFD_CLOEXEC);
		Str o = { 0 };
		pid_t pid;

		/* what the formatter makes is the message's text still: through safe() */
		if (fd >= 0 && ofd >= 0 && fd_writeall(fd, s, n) == 0 && lseek(fd, 0, SEEK_SET) == 0 &&
		    (pid = proc_start(argv, fd, ofd)) > 0) {
			proc_wait(pid);
			close(fd);
			if (lseek(ofd, 0, SEEK_SET) == 0 && readall(ofd, &o) == 0) {
				close(ofd);
				safetext(o.p ? o.p : "", o.n);
				str_free(&o);
				return;
			}
			str_free(&o);
		}
		if (fd >= 0)
			close(fd);
		if (ofd >= 0)
			close(ofd);
	}
	safetext(s, n);
}

/* A part's summary for lists: "1.2 image/png 1234 (file,a.png)". */
static void
pdesc(Str *s, Pos *p, Part *q)
{
	posstr(s, p);
	str_addc(s, ' ');
	safes(s, q->type);
	str_addc(s, '/');
	safes(s, q->subtype);
	str_fmt(s, " %zu", q->rawlen);
	if (q->filename) {
		str_adds(s, " (file,");
		safes(s, q->filename);
		str_addc(s, ')');
	}
}

static void pbody(Msg *m, Part *q, Pos *p);

/* A part with its header. */
static void
ppart(Msg *m, Part *q, Pos *p)
{
	pheader(m, q);
	pbody(m, q, p);
}

static void
pbody(Msg *m, Part *q, Pos *p)
{
	Str b = { 0 };
	Part *c, *pick = NULL;
	Pos cp;
	int k;

	if (strcmp(q->type, "multipart") == 0 && q->child) {
		cp = *p;
		if (cp.nsub >= MAXSUB) {
			str_adds(&N.out, "\n!--- parts nested too deep to number\n");
			return;
		}
		cp.nsub++;
		if (strcmp(q->subtype, "alternative") == 0) {
			for (c = q->child, k = 1; c; c = c->next, k++)
				if (strcmp(c->type, "text") == 0 && strcmp(c->subtype, "plain") == 0) {
					pick = c;
					break;
				}
			if (pick == NULL)
				for (c = q->child, k = 1; c; c = c->next, k++)
					if (istext(c) || strcmp(c->type, "multipart") == 0) {
						pick = c;
						break;
					}
			if (pick == NULL) {
				cp.sub[cp.nsub - 1] = 1;
				str_adds(&N.out, "!--- ");
				pdesc(&N.out, &cp, q->child);
				str_addc(&N.out, '\n');
				return;
			}
			cp.sub[cp.nsub - 1] = k;
			pbody(m, pick, &cp);
			return;
		}
		for (c = q->child, k = 1; c; c = c->next, k++) {
			cp.sub[cp.nsub - 1] = k;
			if (k == 1) {
				ppart(m, c, &cp);
				continue;
			}
			if (c->disp && strcmp(c->disp, "inline") == 0 && (istext(c) || strcmp(c->type, "multipart") == 0)) {
				str_adds(&N.out, "\n--- ");
				pdesc(&N.out, &cp, c);
				str_adds(&N.out, "\n\n");
				pbody(m, c, &cp);
			} else {
				str_adds(&N.out, "\n!--- ");
				pdesc(&N.out, &cp, c);
				str_addc(&N.out, '\n');
			}
		}
		return;
	}
	if (strcmp(q->type, "message") == 0 && strcmp(q->subtype, "rfc822") == 0 && q->child) {
		cp = *p;
		if (cp.nsub < MAXSUB)
			cp.sub[cp.nsub++] = 1;
		ppart(m, q->child, &cp);
		return;
	}
	if (strcmp(q->type, "text") == 0 && strcmp(q->subtype, "html") == 0) {
		Str t = { 0 };

		msg_body(q, &t);
		html_text(&b, t.p ? t.p : "", t.n, 70);
		str_free(&t);
		showtext(b.p ? b.p : "", b.n);
	} else if (istext(q)) {
		msg_body(q, &b);
		showtext(b.p ? b.p : "", b.n);
	} else {
		str_adds(&N.out, "\n!--- cannot display ");
		safes(&N.out, q->type);
		str_addc(&N.out, '/');
		safes(&N.out, q->subtype);
		str_adds(&N.out, "; w saves it\n");
	}
	str_free(&b);
}

static void
setflag(int id, int set, int clear)
{
	mb_setflags(N.mb, midx(id), set, clear);
}

static Pos
top(Pos *p)
{
	Pos t = { p->m, { 0 }, 0 };

	return t;
}

/* p name...: the files upas/fs would show of the message or part (msgfiles.h). */
static int
pfiles(Pos *p, Msg *m, Part *q, int argc, char **argv)
{
	Mfctx c;
	Mmsg *mm0 = mm(p->m);
	Str f = { 0 };
	int i;

	memset(&c, 0, sizeof c);
	c.sender = arena_strdup(&m->ar, mb_sender(N.mb, midx(p->m)));
	c.date = mm0->date;
	c.flags = mm0->flags;
	c.ignored = ignored;
	if (mb_kind(N.mb) == MB_MDIR)
		snprintf(c.fileid, sizeof c.fileid, "%.31s", mm0->id);
	else
		snprintf(c.fileid, sizeof c.fileid, "%lu.00", (unsigned long)mm0->date);
	for (i = 0; i < argc; i++) {
		str_reset(&f);
		if (mf_file(m, q, &c, argv[i], &f) == 0) {
			if (strcmp(argv[i], "body") == 0 || strcmp(argv[i], "rawunix") == 0)
				setflag(p->m, MF_SEEN | MF_OLD, 0);
			safe(&N.out, f.p ? f.p : "", f.n, 1);
		} else if (strcmp(argv[i], "id") == 0) {
			posstr(&N.out, p);
			str_addc(&N.out, ' ');
		} else if (strcmp(argv[i], "fpath") == 0) {
			safes(&N.out, N.path);
			str_addc(&N.out, ' ');
		} else {
			safes(&N.out, argv[i]);
			str_addc(&N.out, ' ');
		}
	}
	if (N.out.n > 0 && N.out.p[N.out.n - 1] != '\n')
		str_addc(&N.out, '\n');
	str_free(&f);
	return 0;
}

static int
c_p(Pos *p, int argc, char **argv, char *line)
{
	Msg *m;
	Part *q = wpart(p, &m);

	if (p->m == 0) {
		say("!address\n");
		return -1;
	}
	if (q == NULL) {
		if (p->nsub > 0)
			return -1;
		say("!not parsed (%s): as stored\n", lasterr());
		setflag(p->m, MF_SEEN | MF_OLD, 0);
		return rawmsg(p);
	}
	if (argc > 0)
		return pfiles(p, m, q, argc, argv);
	if (p->nsub == 0) {
		setflag(p->m, MF_SEEN | MF_OLD, 0);
		unixheader(p->m);
	}
	ppart(m, q, p);
	return 0;
}

/* A message that does not parse (past a bound): as stored. */
static int
rawmsg(Pos *p)
{
	Str s = { 0 };

	if (p->m < 1 || p->m > N.n || p->nsub > 0 || mb_read(N.mb, midx(p->m), &s) < 0) {
		say("!address\n");
		return -1;
	}
	unixheader(p->m);
	safetext(s.p ? s.p : "", s.n);
	str_free(&s);
	return 0;
}

static int
c_P(Pos *p, int argc, char **argv, char *line)
{
	Msg *m;
	Part *q = wpart(p, &m);

	if (q == NULL)
		return rawmsg(p);
	if (p->nsub == 0)
		unixheader(p->m);
	safetext(q->raw, q->rawlen);
	return 0;
}

static int
c_h(Pos *p, int argc, char **argv, char *line)
{
	if (p->m == 0) {
		say("!address\n");
		return -1;
	}
	return hline(&N.out, p);
}

/* The part tree: one line a part. */
static void
hlist(Msg *m, Part *q, Pos *p)
{
	Str id = { 0 }, l = { 0 };
	Part *c;
	Pos cp;
	int k;
	char *from, *subj;

	posstr(&id, p);
	str_fmt(&l, "%s    %s/%s", id.p, q->type, q->subtype);
	safe(&N.out, l.p, l.n, 0);
	for (k = l.n; k < (p->nsub < 6 ? 32 : 64); k++)
		str_addc(&N.out, ' ');
	str_fmt(&N.out, " %-6zu ", q->rawlen);
	if (q->filename) {
		str_adds(&N.out, "(file,");
		safes(&N.out, q->filename);
		str_addc(&N.out, ')');
	}
	from = mf_addrs(&m->ar, q, "from");
	if (*from) {
		str_adds(&N.out, "(from,");
		safes(&N.out, from);
		str_addc(&N.out, ')');
	}
	subj = msg_hdrtext(m, q, "subject");
	if (subj && *subj) {
		str_adds(&N.out, "(subj,");
		safes(&N.out, subj);
		str_addc(&N.out, ')');
	}
	str_addc(&N.out, '\n');
	str_free(&id);
	str_free(&l);
	if (p->nsub >= MAXSUB) {
		if (q->child)
			str_adds(&N.out, "!--- parts nested too deep to number\n");
		return;
	}
	cp = *p;
	cp.nsub++;
	for (c = q->child, k = 1; c; c = c->next, k++) {
		cp.sub[cp.nsub - 1] = k;
		hlist(m, c, &cp);
	}
}

static int
c_H(Pos *p, int argc, char **argv, char *line)
{
	Msg *m;
	Part *q = wpart(p, &m);

	if (q == NULL) {
		say("!address\n");
		return -1;
	}
	hlist(m, q, p);
	return 1;	/* the current message stays */
}

static int
c_b(Pos *p, int argc, char **argv, char *line)
{
	Pos q = top(p);
	int i;

	if (N.n == 0) {
		say("!address\n");
		return -1;
	}
	if (q.m == 0)
		q.m = 1;
	for (i = 0; i < 10 && q.m <= N.n; i++, q.m++)
		hline(&N.out, &q);
	p->m = q.m <= N.n ? q.m : N.n;
	p->nsub = 0;
	return 0;
}

static int
c_eq(Pos *p, int argc, char **argv, char *line)
{
	posstr(&N.out, p);
	str_addc(&N.out, '\n');
	return 0;
}

static int
c_d(Pos *p, int argc, char **argv, char *line)
{
	*p = top(p);
	setflag(p->m, MF_DELETED, 0);
	return 0;
}

static int
c_u(Pos *p, int argc, char **argv, char *line)
{
	if (p->m == 0)
		return 1;
	*p = top(p);
	setflag(p->m, 0, MF_DELETED);
	return 0;
}

/* Flag letters: a answered, D deleted, d draft, f flagged, r recent,
 * s seen, S stored; + and - switch between setting and clearing. */
static int
flags(int id, const char *s)
{
	int set = 0, clear = 0, add = 1, f;

	for (; *s; s++) {
		switch (*s) {
		case '+': add = 1; continue;
		case '-': add = 0; continue;
		case 'a': f = MF_ANSWERED; break;
		case 'D': f = MF_DELETED; break;
		case 'd': f = MF_DRAFT; break;
		case 'f': f = MF_FLAGGED; break;
		case 'r': f = MF_OLD; add = !add; break;	/* recent: not yet seen to arrive */
		case 's': f = MF_SEEN; break;
		case 'S': f = MF_STORED; break;
		default:
			say("!bad flag %c\n", *s);
			return -1;
		}
		if (add)
			set |= f;
		else
			clear |= f;
		if (*s == 'r')
			add = !add;
	}
	setflag(id, set, clear);
	return 0;
}

/* k and K: flags set (clear), f by default. */
static int
kflags(Pos *p, int argc, char **argv, const char *name, const char *def)
{
	if (argc > 1) {
		say("!usage %s [flags]\n", name);
		return -1;
	}
	*p = top(p);
	return flags(p->m, argc ? argv[0] : def);
}

static int c_k(Pos *p, int c, char **v, char *l) { return kflags(p, c, v, "k", "f"); }
static int c_K(Pos *p, int c, char **v, char *l) { return kflags(p, c, v, "K", "-f"); }

static int
c_F(Pos *p, int argc, char **argv, char *line)
{
	int i;

	*p = top(p);
	for (i = 0; i < argc; i++)
		if (flags(p->m, argv[i]) < 0)
			return -1;
	return 0;
}

/* Append message id, as stored, to the mailbox at path. */
static int
save(int id, const char *path)
{
	struct stat st;
	Str s = { 0 };
	int r;

	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		say("!won't overwrite %s\n", path);
		return -1;
	}
	if (mb_read(N.mb, midx(id), &s) < 0) {
		say("!%s\n", lasterr());
		return -1;
	}
	r = mb_append(path, mb_sender(N.mb, midx(id)), mm(id)->date, s.p ? s.p : "", s.n);
	str_free(&s);
	if (r < 0) {
		say("!error %s\n", lasterr());
		return -1;
	}
	setflag(id, MF_STORED, 0);
	say("!saved in %s\n", path);
	return 0;
}

/* A name under box/LOGIN, or the path itself when it starts / ./ or ../. */
static int
boxpath(char *buf, size_t n, const char *name)
{
	if (name[0] == '/' || strncmp(name, "./", 2) == 0 || strncmp(name, "../", 3) == 0) {
		if (snprintf(buf, n, "%s", name) >= (int)n)
			return -1;
		return 0;
	}
	if (snprintf(buf, n, "%s/%s", N.dir, name) >= (int)n)
		return -1;
	return 0;
}

/* A folder s saves in: relative to the mailbox's own directory. */
static int
folderpath(char *buf, size_t n, const char *name)
{
	const char *sl = strrchr(N.path, '/');

	if (name[0] == '/' || sl == NULL)
		return snprintf(buf, n, "%s", name) >= (int)n ? -1 : 0;
	return snprintf(buf, n, "%.*s/%s", (int)(sl - N.path), N.path, name) >= (int)n ? -1 : 0;
}

/* The one argument a command may take (else def) as a path by resolve. */
static int
onepath(char *path, size_t n, int argc, char **argv, const char *usage, const char *def,
    int (*resolve)(char *, size_t, const char *))
{
	if (argc > 1) {
		say("!usage: %s\n", usage);
		return -1;
	}
	if (resolve(path, n, argc ? argv[0] : def) < 0) {
		say("!name too long\n");
		return -1;
	}
	return 0;
}

static int
c_s(Pos *p, int argc, char **argv, char *line)
{
	char path[LIM_PATHNAME];

	*p = top(p);
	if (onepath(path, sizeof path, argc, argv, "s filename", "stored", folderpath) < 0)
		return -1;
	return save(p->m, path);
}

/* A file name from a message made harmless in place: letters, digits and
 * ".-_+=@,", the rest '_', no leading '.' or '-', never empty. */
static void
harmless(char *b, size_t n)
{
	size_t k;

	if (n < 2)
		return;
	b[n - 2] = 0;
	for (k = 0; b[k]; k++)
		if (!((b[k] >= 'a' && b[k] <= 'z') || (b[k] >= 'A' && b[k] <= 'Z') || (b[k] >= '0' && b[k] <= '9') ||
		    strchr(".-_+=@,", b[k])))
			b[k] = '_';
	if (b[0] == '.' || b[0] == '-' || b[0] == 0) {
		memmove(b + 1, b, k + 1);
		b[0] = '_';
	}
}

/* The folder f files a message in: the sender's name (fromtab- may map it). */
static void
fname(char *b, size_t n, int id)
{
	char path[LIM_PATHNAME], *t, *l, *e, *sp, *q;
	const char *a;
	Msg *m = head(id);

	a = m ? fromaddr(m, id) : mb_sender(N.mb, midx(id));
	if (upas_path(path, sizeof path, "box", N.login, "fromtab-", NULL) == 0 &&
	    (t = readfile(path, 64 * 1024, NULL)) != NULL) {
		for (l = t; l && *l; l = e) {
			if ((e = strchr(l, '\n')) != NULL)
				*e++ = 0;
			if ((sp = strpbrk(l, " \t")) == NULL)
				continue;
			*sp++ = 0;
			sp += strspn(sp, " \t");
			if (strcasecmp(l, a) == 0 && *sp) {
				snprintf(b, n, "%s", sp);
				free(t);
				goto clean;
			}
		}
		free(t);
	}
	if ((q = strrchr(a, '!')) != NULL)
		a = q + 1;
	snprintf(b, n, "%.*s", (int)strcspn(a, "@"), a);
clean:
	harmless(b, n);
}

static int
ffile(int id)
{
	char name[256], path[LIM_PATHNAME], fdir[LIM_PATHNAME + 8];
	struct stat st;

	fname(name, sizeof name, id);
	snprintf(fdir, sizeof fdir, "%s/f", N.dir);
	if (snprintf(path, sizeof path, "%s/%s", stat(fdir, &st) == 0 && S_ISDIR(st.st_mode) ? fdir : N.dir,
	    name) >= (int)sizeof path) {
		say("!name too long\n");
		return -1;
	}
	return save(id, path);
}

static int
c_f(Pos *p, int argc, char **argv, char *line)
{
	*p = top(p);
	return ffile(p->m);
}

static int
c_fq(Pos *p, int argc, char **argv, char *line)
{
	char name[256];

	*p = top(p);
	fname(name, sizeof name, p->m);
	str_adds(&N.out, "! ");
	safes(&N.out, name);
	str_addc(&N.out, '\n');
	return 0;
}

/* The part's body, transfer encoding undone (text converted to UTF-8). */
static int
c_w(Pos *p, int argc, char **argv, char *line)
{
	Msg *m;
	Part *q = wpart(p, &m);
	const char *name;
	char *b, wname[256];
	Str s = { 0 };
	int fd;

	if (q == NULL) {
		say("!address\n");
		return -1;
	}
	if (argc > 1 || (argc == 0 && q->filename == NULL)) {
		say("!usage: w filename\n");
		return -1;
	}
	if (argc == 0) {
		/* the part's file name, its last component, harmless */
		b = q->filename;
		if (strrchr(b, '/'))
			b = strrchr(b, '/') + 1;
		if (strrchr(b, '\\'))
			b = strrchr(b, '\\') + 1;
		snprintf(wname, sizeof wname, "%s", *b ? b : "part");
		harmless(wname, sizeof wname);
		name = wname;
	} else
		name = argv[0];
	if ((fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666)) < 0) {
		say("!can't create %s: %s\n", name, strerror(errno));	/* harmless, or the user's */
		return -1;
	}
	if (strcmp(q->type, "text") == 0)
		msg_body(q, &s);
	else
		msg_decode(q, &s);
	if (fd_writeall(fd, s.p ? s.p : "", s.n) < 0 || fsync(fd) < 0 || close(fd) < 0) {
		say("!error writing %s: %s\n", name, strerror(errno));
		str_free(&s);
		return -1;
	}
	str_free(&s);
	setflag(p->m, MF_STORED, 0);
	say("!saved in %s\n", name);
	return 0;
}

/* ---- other programs ---- */

static int
haveshell(void)
{
	if (access("/bin/sh", X_OK) == 0)
		return 1;
	say("!no shell: /bin/sh is missing\n");
	return 0;
}

/* Run argv with text as its standard input (NULL: ours); its exit status. */
static int
run(char **argv, const char *text, size_t n)
{
	int fd = -1, st;
	pid_t pid;

	flush();
	if (text != NULL) {
		if ((fd = memfd_create("nedmail", MFD_CLOEXEC)) < 0 || fd_writeall(fd, text, n) < 0 ||
		    lseek(fd, 0, SEEK_SET) != 0) {
			say("!%s\n", strerror(errno));
			if (fd >= 0)
				close(fd);
			return -1;
		}
	}
	pid = proc_start(argv, fd >= 0 ? fd : 0, 1);
	if (fd >= 0)
		close(fd);
	if (pid < 0) {
		say("!%s\n", lasterr());
		return -1;
	}
	st = proc_wait(pid);
	return st;
}

static int
c_pipe(Pos *p, int argc, char **argv, char *line, int raw)
{
	char *sh[] = { "/bin/sh", "-c", line, NULL };
	Str s = { 0 };
	Msg *m;
	Part *q;

	while (*line == ' ' || *line == '\t')
		line++;
	sh[2] = line;
	if (*line == 0) {
		say("!usage: | cmd\n");
		return -1;
	}
	if (!haveshell())
		return -1;
	if ((q = wpart(p, &m)) == NULL) {
		say("!address\n");
		return -1;
	}
	if (raw) {
		char b[LIM_PATH + 128];

		if (p->nsub == 0) {
			mb_fromline(b, sizeof b, mb_sender(N.mb, midx(p->m)), mm(p->m)->date);
			str_adds(&s, b);
		}
		str_addn(&s, q->raw, q->rawlen);
	} else if (strcmp(q->type, "text") == 0)
		msg_body(q, &s);
	else
		msg_decode(q, &s);
	if (p->nsub == 0 || !raw)
		setflag(p->m, MF_SEEN | MF_OLD, 0);
	run(sh, s.p ? s.p : "", s.n);
	str_free(&s);
	return 0;
}

static int
c_bar(Pos *p, int argc, char **argv, char *line)
{
	return c_pipe(p, argc, argv, line, 0);
}

static int
c_barbar(Pos *p, int argc, char **argv, char *line)
{
	return c_pipe(p, argc, argv, line, 1);
}

static int
c_bang(Pos *p, int argc, char **argv, char *line)
{
	char *sh[] = { "/bin/sh", "-c", line, NULL };

	while (*line == ' ' || *line == '\t')
		line++;
	sh[2] = line;
	if (!haveshell())
		return -1;
	run(sh, NULL, 0);
	return 1;
}

/* ---- replies and forwards, through marshal ---- */

/* rc-style quoting for the line that shows what runs. */
static void
quote(Str *s, const char *a)
{
	const char *c;
	size_t k;

	if (*a && strpbrk(a, " \t\n'`^$*?[]{}()|&;<>#=~\"\\") == NULL) {
		safes(s, a);
		return;
	}
	str_addc(s, '\'');
	for (c = a; *c; c += k) {
		k = strcspn(c, "'");
		safe(s, c, k, 0);
		if (c[k] == '\'') {
			str_adds(s, "''");
			k++;
		}
	}
	str_addc(s, '\'');
}

static void rmreplydir(const char *dir);

/* A directory holding what marshal -R and -A take of the message: its
 * messageid and its raw text. */
static int
replydir(char *dir, size_t n, Msg *m, Part *q)
{
	char path[LIM_PATHNAME + 16];
	const char *tmp = getenv("TMPDIR");
	char *id;
	int fd;

	snprintf(dir, n, "%s/nedmailXXXXXX", tmp && *tmp == '/' ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		say("!%s: %s\n", dir, strerror(errno));
		return -1;
	}
	id = msg_hdrtext(m, q, "message-id");
	snprintf(path, sizeof path, "%s/messageid", dir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) >= 0) {
		if (id)
			fd_writeall(fd, id, strlen(id));
		close(fd);
	}
	snprintf(path, sizeof path, "%s/raw", dir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0 ||
	    fd_writeall(fd, q->raw, q->rawlen) < 0) {
		say("!%s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		rmreplydir(dir);
		return -1;
	}
	close(fd);
	return 0;
}

static void
rmreplydir(const char *dir)
{
	char path[LIM_PATHNAME + 16];

	snprintf(path, sizeof path, "%s/messageid", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/raw", dir);
	unlink(path);
	rmdir(dir);
}

/* The enclosing message part (one with a From: or Reply-To:), or the root. */
static Part *
msgpart(Msg *m, Part *q)
{
	for (; q; q = q->parent)
		if (msg_hdr(q, "from") || msg_hdr(q, "reply-to") || q->parent == NULL)
			return q;
	return m->root;
}

/* "Re: " before a subject that has none of Re: or AW:; "Fwd: " likewise. */
static void
prefixed(Str *s, const char *subj, int fwd)
{
	while (*subj == ' ')
		subj++;
	if (fwd ? strncasecmp(subj, "fwd:", 4) != 0 :
	    strncasecmp(subj, "re:", 3) != 0 && strncasecmp(subj, "aw:", 3) != 0)
		str_adds(s, fwd ? "Fwd: " : "Re: ");
	str_adds(s, subj);
}

/*
 * how: 'r' reply to the sender, 'a' to all, 'm' forward; with the message
 * attached (R, A, M's text typed), filed first (rf, Rf).
 */
static int
mail(Pos *p, int argc, char **argv, const char *name)
{
	char dir[LIM_PATHNAME], att[LIM_PATHNAME + 8], **v;
	int how = name[0] | 0x20, attach = name[0] == 'R' || name[0] == 'A', file = name[1] == 'f', n = 0, i, st;
	Str subj = { 0 }, line = { 0 }, to = { 0 };
	Msg *m;
	Part *q = wpart(p, &m), *mp;
	char *a, *w[LIM_ADDRS];
	const char *marshal = getenv("marshal");

	if (q == NULL) {
		say("!address\n");
		return -1;
	}
	if (how == 'm' && argc == 0) {
		say("!usage: %c list-of addresses\n", name[0]);
		return -1;
	}
	mp = msgpart(m, q);
	if (how == 'r') {
		a = mf_addrs(&m->ar, mp, "reply-to");
		if (*a == 0)
			a = mf_addrs(&m->ar, mp, "from");
		if (*a == 0 && p->nsub == 0)
			a = arena_strdup(&m->ar, mb_sender(N.mb, midx(p->m)));
		if (*a == 0) {
			say("!no reply address\n");
			return -1;
		}
		str_adds(&to, a);
	} else if (how == 'a') {
		const char *f[] = { "from", "to", "cc" };

		for (i = 0; i < 3; i++) {
			a = mf_addrs(&m->ar, mp, f[i]);
			if (*a) {
				if (to.n)
					str_addc(&to, ' ');
				str_adds(&to, a);
			}
		}
		if (to.n == 0) {
			say("!bad message\n");
			return -1;
		}
	}
	if ((file && ffile(p->m) < 0) || replydir(dir, sizeof dir, m, q) < 0) {
		str_free(&to);
		return -1;
	}
	snprintf(att, sizeof att, "%s/raw", dir);
	v = xmalloc((argc + LIM_ADDRS + 16) * sizeof *v);
	v[n++] = marshal && *marshal ? (char *)marshal : "marshal";
	if (how == 'm') {
		prefixed(&subj, field(m, mp, "subject"), 1);
		v[n++] = "-s";
		v[n++] = subj.p;
		v[n++] = "-t";
		v[n++] = p->nsub == 0 || mp == q ? "message/rfc822" : "mime";
		v[n++] = "-A";
		v[n++] = att;
		v[n++] = name[0] == 'M' ? "-8" : "-n";
	} else {
		v[n++] = "-8";
		if (*field(m, mp, "subject") || how == 'r') {
			prefixed(&subj, field(m, mp, "subject"), 0);
			v[n++] = "-s";
			v[n++] = subj.p;
		}
		v[n++] = "-R";
		v[n++] = dir;
		if (file)
			v[n++] = "-F";
		if (attach) {
			v[n++] = "-t";
			v[n++] = "message/rfc822";
			v[n++] = "-A";
			v[n++] = att;
		}
	}
	for (i = 0; i < argc; i++)
		v[n++] = argv[i];
	if (to.n)
		for (i = 0, a = to.p; i < LIM_ADDRS && (w[i] = strsep(&a, " ")) != NULL; i++)
			if (*w[i] && *w[i] != '-')	/* an address from the message is never an option */
				v[n++] = w[i];
	v[n] = NULL;
	str_addc(&line, '!');
	for (i = 0; i < n; i++) {
		if (i)
			str_addc(&line, ' ');
		quote(&line, v[i]);
	}
	str_addc(&line, '\n');
	str_addn(&N.out, line.p, line.n);
	st = run(v, NULL, 0);
	if (st != 0)
		say("!mailer failed: exit status %d\n", st);
	else if (how != 'm')
		setflag(p->m, MF_ANSWERED, 0);
	rmreplydir(dir);
	free(v);
	str_free(&subj);
	str_free(&line);
	str_free(&to);
	return st == 0 ? 0 : -1;
}

static int c_r(Pos *p, int c, char **v, char *l) { return mail(p, c, v, "r"); }
static int c_R(Pos *p, int c, char **v, char *l) { return mail(p, c, v, "R"); }
static int c_rf(Pos *p, int c, char **v, char *l) { return mail(p, c, v, "rf"); }
static int c_Rf(Pos *p, int c, char **v, char *l) { return mail(p, c, v, "Rf"); }
static int c_a(Pos *p, int c, char **v, char *l) { return mail(p, c, v, "a"); }
static int c_A(Pos *p, int c, char **v, char *l) { return mail(p, c, v, "A"); }
static int c_m(Pos *p, int c, char **v, char *l) { return mail(p, c, v, "m"); }
static int c_M(Pos *p, int c, char **v, char *l) { return mail(p, c, v, "M"); }

/* ---- quoting, formatting ---- */

/* The text to quote: a text part's body, the first text of a multipart. */
static Part *
textpart(Part *q)
{
	Part *c, *t;

	if (strcmp(q->type, "multipart") == 0) {
		for (c = q->child; c; c = c->next)
			if (strcmp(c->type, "text") == 0 && strcmp(c->subtype, "plain") == 0)
				return c;
		for (c = q->child; c; c = c->next)
			if ((t = textpart(c)) != NULL)
				return t;
		return NULL;
	}
	if (strcmp(q->type, "message") == 0 && q->child)
		return textpart(q->child);
	return strcmp(q->type, "text") == 0 ? q : NULL;
}

/* Lines of s, "> " before each; fill: paragraphs refilled to 70 columns first. */
static void
quoted(const char *s, size_t n, int fill)
{
	Str f = { 0 };
	size_t i, e, col = 0;

	if (fill) {
		/* words of a paragraph joined, lines broken at 70 */
		for (i = 0; i < n; i = e + 1) {
			e = i;
			while (e < n && s[e] != '\n')
				e++;
			if (e == i || s[i] == '>') {
				if (col)
					str_addc(&f, '\n');
				str_addn(&f, s + i, e - i);
				str_addc(&f, '\n');
				col = 0;
				continue;
			}
			for (size_t w = i, we; w < e; w = we) {
				while (w < e && (s[w] == ' ' || s[w] == '\t'))
					w++;
				for (we = w; we < e && s[we] != ' ' && s[we] != '\t'; we++)
					;
				if (we == w)
					break;
				if (col && col + 1 + (we - w) > 70) {
					str_addc(&f, '\n');
					col = 0;
				}
				if (col)
					str_addc(&f, ' '), col++;
				str_addn(&f, s + w, we - w);
				col += we - w;
			}
		}
		if (col)
			str_addc(&f, '\n');
		s = f.p ? f.p : "";
		n = f.n;
	}
	for (i = 0; i < n; i = e + 1) {
		e = i;
		while (e < n && s[e] != '\n')
			e++;
		if (e == n && e == i)
			break;
		str_adds(&N.out, "> ");
		safe(&N.out, s + i, e - i, 0);
		str_addc(&N.out, '\n');
	}
	str_free(&f);
}

static int
quotecmd(Pos *p, int fill)
{
	Msg *m;
	Part *q = wpart(p, &m), *t;
	Str b = { 0 };
	const char *from;

	if (q == NULL) {
		say("!address\n");
		return -1;
	}
	str_addc(&N.out, '\n');
	from = p->nsub == 0 ? fromaddr(m, p->m) : "";
	if (*from) {
		char d[64];
		time_t tm = mm(p->m)->date;

		strftime(d, sizeof d, "%a %b %e %H:%M:%S %Z %Y", localtime(&tm));
		str_adds(&N.out, "On ");
		str_adds(&N.out, d);
		str_adds(&N.out, ", ");
		safes(&N.out, from);
		str_adds(&N.out, " wrote:\n");
	}
	if ((t = textpart(q)) != NULL) {
		if (strcmp(t->subtype, "html") == 0) {
			Str h = { 0 };

			msg_body(t, &h);
			html_text(&b, h.p ? h.p : "", h.n, 70);
			str_free(&h);
		} else
			msg_body(t, &b);
		quoted(b.p ? b.p : "", b.n, fill);
	}
	str_addc(&N.out, '\n');
	str_free(&b);
	return 0;
}

static int c_quote(Pos *p, int c, char **v, char *l) { return quotecmd(p, 0); }
static int c_quote2(Pos *p, int c, char **v, char *l) { return quotecmd(p, 1); }

static int
c_t(Pos *p, int argc, char **argv, char *line)
{
	while (*line == ' ' || *line == '\t')
		line++;
	free(N.fmt);
	if (*line)
		N.fmt = xstrdup(line);
	else
		N.fmt = N.fmt ? NULL : xstrdup("fmt");
	say("!textfmt %s\n", N.fmt ? N.fmt : "");
	return 1;
}

/* ---- the mailbox ---- */

static void
counts(void)
{
	Str s = { 0 };
	int i, unread = 0;

	if (N.n == 0)
		return;
	for (i = 0; i < N.n; i++)
		if (!(mb_msg(N.mb, i)->flags & MF_SEEN))
			unread++;
	plural(&s, N.n, "message");
	if (unread)
		str_fmt(&s, ", %d unread", unread);
	say("%s\n", s.p);
	str_free(&s);
}

/* Around a scan: the current message's id, then the message found by it
 * (flags not yet written the Mailbox keeps itself). */
static char *
curid(void)
{
	char b[MB_IDLEN];

	return N.cur.m ? xstrdup(mb_id(N.mb, midx(N.cur.m), b)) : NULL;
}

static void
refind(char *id)
{
	char b[MB_IDLEN];
	int i;

	N.n = mb_count(N.mb);
	N.cur.m = 0;
	N.cur.nsub = 0;
	forgetsums();
	uncache();
	for (i = 0; id != NULL && i < N.n; i++)
		if (strcmp(mb_id(N.mb, i, b), id) == 0) {
			N.cur.m = mid(i);
			break;
		}
	free(id);
}

/* i: new mail in, y: deletions out too. */
static int
incorporate(int sync)
{
	char *id;
	int old = N.n, gone = 0, i, n;
	Str s = { 0 };

	if (N.single) {
		say("!illegal command\n");
		return -1;
	}
	for (i = 0; sync && i < N.n; i++)
		if (mb_msg(N.mb, i)->flags & MF_DELETED)
			gone++;
	savesums();
	id = curid();
	if (sync && mb_sync(N.mb) < 0) {
		say("!%s\n", lasterr());
		gone = 0;
	}
	n = mb_refresh(N.mb);
	refind(id);
	if (n < 0) {
		say("!%s\n", lasterr());
		return -1;
	}
	if (sync && gone) {
		plural(&s, gone, "message");
		str_fmt(&N.out, "!%s deleted\n", s.p);
		str_reset(&s);
	}
	if (N.n + gone > old) {
		plural(&s, N.n + gone - old, "new message");
		str_adds(&N.out, s.p);
		str_addc(&N.out, '\n');
	}
	str_free(&s);
	return 1;
}

static int c_i(Pos *p, int c, char **v, char *l) { return incorporate(0); }
static int c_y(Pos *p, int c, char **v, char *l) { return incorporate(1); }

static int openbox(const char *path);

static int
c_mb(Pos *p, int argc, char **argv, char *line)
{
	char path[LIM_PATHNAME];

	if (onepath(path, sizeof path, argc, argv, "mb [mbox]", "mbox", boxpath) < 0)
		return -1;
	if (openbox(path) < 0) {
		say("!no mb: %s\n", lasterr());	/* the old one stays, marks and all */
		return -1;
	}
	counts();
	p->m = 0;
	p->nsub = 0;
	return 0;
}

/* q: flags and deletions written, under the mailbox's locks. */
static int
c_q(Pos *p, int argc, char **argv, char *line)
{
	Str s = { 0 };
	int i, gone = 0;

	savesums();
	if (!N.single) {
		for (i = 0; i < N.n; i++)
			if (mb_msg(N.mb, i)->flags & MF_DELETED)
				gone++;
		if (N.mb->mode == MB_RDONLY) {
			if (gone)
				say("!%s is read-only: nothing deleted\n", N.path);
			gone = 0;
		} else if (mb_sync(N.mb) < 0) {
			/* nothing is lost: the marks stay for another q, or x */
			say("!%s: %s\n", N.path, lasterr());
			if (feof(stdin))
				exit(1);
			return -1;
		}
		mb_purge(N.mb);
	}
	if (gone) {
		plural(&s, gone, "message");
		str_fmt(&N.out, "!%s deleted\n", s.p);
	}
	flush();
	exit(0);
}

static int
c_x(Pos *p, int argc, char **argv, char *line)
{
	flush();
	savesums();
	if (!N.single)
		mb_close(N.mb);	/* the mailbox as it was; the index may learn */
	exit(0);
}

static int c_help(Pos *p, int c, char **v, char *l);

static const Cmd cmdtab[] = {
	/* name, fn, no arguments, needs an address, help */
	{ "a", c_a, 0, 1, "a\treply to sender and recipients" },
	{ "A", c_A, 0, 1, "A\treply to sender and recipients with copy" },
	{ "b", c_b, 1, 0, "b\tprint the next 10 headers" },
	{ "d", c_d, 1, 1, "d\tmark for deletion" },
	{ "F", c_F, 0, 1, "F\tset message flags [+-][aDdfrSs]" },
	{ "f", c_f, 1, 1, "f\tfile message by from address" },
	{ "fq", c_fq, 1, 1, "fq\tprint mailbox f appends" },
	{ "H", c_H, 1, 0, "H\tprint message's MIME structure" },
	{ "h", c_h, 1, 0, "h\tprint message summary (,h for all)" },
	{ "help", c_help, 1, 0, "help\tprint this info" },
	{ "i", c_i, 1, 0, "i\tincorporate new mail" },
	{ "k", c_k, 0, 1, "k [flags]\tmark mail" },
	{ "K", c_K, 0, 1, "K [flags]\tunmark mail" },
	{ "m", c_m, 0, 1, "m addr\tforward mail" },
	{ "M", c_M, 0, 1, "M addr\tforward mail with message" },
	{ "mb", c_mb, 0, 0, "mb mbox\tswitch mailboxes" },
	{ "p", c_p, 0, 0, "p\tprint the processed message" },
	{ "P", c_P, 1, 0, "P\tprint the raw message" },
	{ "\"", c_quote, 1, 0, "\"\tprint a quoted version of msg" },
	{ "\"\"", c_quote2, 1, 0, "\"\"\tformat and quote message" },
	{ "q", c_q, 1, 0, "q\texit and remove all deleted mail" },
	{ "r", c_r, 0, 1, "r [addr]\treply to sender plus any addrs specified" },
	{ "rf", c_rf, 0, 1, "rf [addr]\tfile message and reply" },
	{ "R", c_R, 0, 1, "R [addr]\treply including copy of message" },
	{ "Rf", c_Rf, 0, 1, "Rf [addr]\tfile message and reply with copy" },
	{ "s", c_s, 0, 1, "s file\tappend raw message to file" },
	{ "t", c_t, 0, 0, "t\ttext formatter" },
	{ "u", c_u, 1, 0, "u\tremove deletion mark" },
	{ "w", c_w, 0, 1, "w file\tstore message contents as file" },
	{ "x", c_x, 1, 0, "x\texit without flushing deleted messages" },
	{ "y", c_y, 1, 0, "y\tsynchronize with mail box" },
	{ "=", c_eq, 0, 0, "=\tprint current message number" },
	{ "|", c_bar, 0, 1, "|cmd\tpipe message body to a command" },
	{ "||", c_barbar, 0, 1, "||cmd\tpipe raw message to a command" },
	{ "!", c_bang, 0, 0, "!cmd\trun a command" },
};

static int
c_help(Pos *p, int argc, char **argv, char *line)
{
	size_t i;

	str_adds(&N.out, "Commands are of the form [<range>] <command> [args]\n"
	    "<range> := <addr> | <addr>','<addr>| 'g'<search>\n"
	    "<addr> := '.' | '$' | <number> | <search> | <addr>'+'<addr> | <addr>'-'<addr> | <addr>'.'<number>\n"
	    "<search> := 'k' | '/'<re>'/' | '?'<re>'?' | '%'<re>'%' | '#' <field> '#' <re> '#'\n"
	    "<command> :=\n");
	for (i = 0; i < nelem(cmdtab); i++)
		str_fmt(&N.out, "%s\n", cmdtab[i].help);
	return 1;
}

/* ---- commands ---- */

/* The messages a range names, in the order they are visited, into v. */
static int
range(char **sp, Pos **v, int *nv, int *given)
{
	char *s = *sp, fld[64];
	Pos a, b;
	int ga, gb, id, step, n = 0, kind;

	*given = 0;
	*nv = 0;
	*v = NULL;
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == 'g') {
		s++;
		*given = 1;
		kind = *s;
		if (kind == 'k')
			s++;
		else if (kind == '/' || kind == '%' || kind == '#' || kind == '?') {
			Pos t = { 0, { 0 }, 0 };
			char *e;

			fld[0] = 0;
			s++;
			if (kind == '#' && (e = strchr(s, '#')) != NULL && strchr(e + 1, '#') != NULL) {
				snprintf(fld, sizeof fld, "%.*s", (int)(e - s), s);
				s = e + 1;
			}
			(void)t;
			if (getre(&s, kind) < 0)
				return -1;
		}
		*v = xmalloc((N.n + 1) * sizeof **v);
		for (id = 1; id <= N.n; id++) {
			if (kind == 'k' ? !(mm(id)->flags & MF_FLAGGED) :
			    (kind == '/' || kind == '%' || kind == '#' || kind == '?') && !matches(id, kind, fld[0] ? fld : NULL))
				continue;
			(*v)[n].m = id;
			(*v)[n++].nsub = 0;
		}
		*nv = n;
		*sp = s;
		return 0;
	}
	if (*s == ',') {
		ga = 1;
		a.m = N.n ? 1 : 0;
		a.nsub = 0;
	} else if (address(&s, &a, &ga, 0) < 0)
		return -1;
	if (*s != ',') {
		*given = ga;
		*sp = s;
		*v = xmalloc(sizeof **v);
		(*v)[0] = a;
		*nv = 1;
		return 0;
	}
	s++;
	*given = 1;
	if (a.m == 0)
		a.m = 1, a.nsub = 0;
	if (address(&s, &b, &gb, 1) < 0)
		return -1;
	if (!gb)
		b.m = N.n, b.nsub = 0;
	if (N.n == 0 || a.m < 1 || b.m < 1) {
		say("!null address range\n");
		return -1;
	}
	step = a.m <= b.m ? 1 : -1;
	*v = xmalloc((abs(b.m - a.m) + 2) * sizeof **v);
	for (id = a.m;; id += step) {
		(*v)[n].m = id;
		(*v)[n++].nsub = 0;
		if (id == b.m)
			break;
	}
	*nv = n;
	*sp = s;
	return 0;
}

static void
command(char *line)
{
	char *s = line, *argv[64], *args;
	const Cmd *c = NULL;
	Pos *v, p;
	int nv, given, dflag = 0, i, k, argc, r, any = 0;
	size_t n;

	if (range(&s, &v, &nv, &given) < 0)
		return;
	while (*s == ' ' || *s == '\t')
		s++;
	if (s[0] == 'd' && s[1] != 0) {
		dflag = 1;
		s++;
		while (*s == ' ' || *s == '\t')
			s++;
	}
	if (*s == 0) {
		for (k = 0; cmdtab[k].fn != c_p; k++)
			;
		c = &cmdtab[k];
		if (!given && !dflag) {
			/* the next message: the next part, else out of parts and on */
			free(v);
			p = N.cur;
			if (p.m == 0)
				p.m = 1;
			else
				for (;;) {
					Pos up = p;

					if (p.nsub == 0) {
						p.m++;
						break;
					}
					up.nsub--;
					if (p.sub[p.nsub - 1] < nchildren(&up)) {
						p.sub[p.nsub - 1]++;
						break;
					}
					p.nsub--;
				}
			if (p.m < 1 || p.m > N.n) {
				say("!address\n");
				return;
			}
			if (c->fn(&p, 0, NULL, "") >= 0)
				N.cur = p;
			return;
		}
	} else {
		for (k = nelem(cmdtab) - 1; k >= 0; k--) {
			n = strlen(cmdtab[k].name);
			if (strncmp(s, cmdtab[k].name, n) == 0) {
				c = &cmdtab[k];
				break;
			}
		}
		if (c == NULL) {
			say("!illegal command\n");
			free(v);
			return;
		}
		s += strlen(c->name);
	}
	args = xstrdup(s);
	argc = tokenize(args, argv, nelem(argv));
	if (c->noargs && argc > 0) {
		say("!%s doesn't take an argument\n", c->name);
		free(args);
		free(v);
		return;
	}
	if ((c->needaddr || dflag) && (nv == 0 || (nv == 1 && v[0].m == 0))) {
		say("!%s requires an address\n", dflag ? "d" : c->name);
		free(args);
		free(v);
		return;
	}
	for (i = 0; i < nv; i++) {
		p = v[i];
		if (dflag) {
			Pos t = p;

			c_d(&t, 0, NULL, "");
			if (c->fn == c_p && !given) {
				/* dp: on to the next message */
				if (t.m + 1 > N.n) {
					say("!address\n");
					N.cur = t;
					break;
				}
				p = t;
				p.m++;
			}
			any = 1;
			N.cur = t;
		}
		r = c->fn(&p, argc, argv, s);
		if (N.out.n > 65536)
			flush();
		if (r == 0) {
			N.cur = p;
			any = 1;
		} else if (r < 0 && nv == 1)
			break;
	}
	(void)any;
	free(args);
	free(v);
}

static int
openbox(const char *path)
{
	Mailbox *mb;

	if ((mb = mb_open(path, MB_RDWR)) == NULL && (errno == EACCES || errno == EROFS || errno == EPERM))
		mb = mb_open(path, MB_RDONLY);
	if (mb == NULL)
		return -1;
	uncache();
	if (N.mb) {
		savesums();
		mb_close(N.mb);
	}
	N.mb = mb;
	snprintf(N.path, sizeof N.path, "%s", path);
	N.n = mb_count(mb);
	N.cur.m = N.cur.nsub = 0;
	forgetsums();
	return 0;
}

/* -c: an empty mbox, box/LOGIN[/dir]/mbox, its directories made. */
static int
create(const char *dir)
{
	char path[LIM_PATHNAME], box[LIM_PATHNAME], *s;
	int fd;

	if (dir != NULL && (dir[0] == '/' || !path_clean(dir)))
		die(EX_USAGE, "%s: not a directory name under box/%s", dir, N.login);
	if (upas_path(box, sizeof box, "box", N.login, NULL) < 0 ||
	    snprintf(path, sizeof path, "%s/%s%smbox", box, dir ? dir : "", dir ? "/" : "") >= (int)sizeof path)
		die(EX_USAGE, "name too long");
	for (s = path + strlen(upas_root()) + 1; (s = strchr(s, '/')) != NULL; s++) {
		*s = 0;
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			die(EX_CANTCREAT, "%s:", path);
		*s = '/';
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
		die(errno == EEXIST ? EX_CANTCREAT : EX_IOERR, "%s:", path);
	if (fsync(fd) < 0 || close(fd) < 0 || mb_fsyncparent(path) < 0)
		die(EX_IOERR, "%s:", path);
	return 0;
}

static char single[LIM_PATHNAME];

static void
rmsingle(void)
{
	char p[LIM_PATHNAME + 260];
	DIR *d;
	struct dirent *e;

	if (single[0] == 0 || (d = opendir(single)) == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.' || (e->d_name[1] != 0 && strcmp(e->d_name, "..") != 0)) {
			snprintf(p, sizeof p, "%s/%s", single, e->d_name);
			unlink(p);
		}
	closedir(d);
	rmdir(single);
}

/* -s: a message file, as a mailbox of one (in a directory of its own). */
static int
opensingle(const char *file)
{
	const char *tmp = getenv("TMPDIR");
	char path[LIM_PATHNAME + 8];
	size_t n;
	char *t;

	if ((t = readfile(file, LIM_MBOXMSG, &n)) == NULL)
		return -1;
	snprintf(single, sizeof single, "%s/nedmailXXXXXX", tmp && *tmp == '/' ? tmp : "/tmp");
	if (mkdtemp(single) == NULL) {
		seterr("%s:", single);
		single[0] = 0;
		free(t);
		return -1;
	}
	atexit(rmsingle);
	snprintf(path, sizeof path, "%s/mbox", single);
	if (n >= 5 && memcmp(t, "From ", 5) == 0) {
		char *nl = memchr(t, '\n', n), *sender = NULL;
		time_t date = 0;

		if (nl && mb_parsefrom(t, nl + 1 - t, &sender, &date) == 0) {
			size_t k = nl + 1 - t;
			int r = mb_append(path, sender, date, t + k, n - k);

			free(sender);
			free(t);
			return r < 0 ? -1 : openbox(path);
		}
	}
	if (mb_append(path, "unknown", 0, t, n) < 0) {
		free(t);
		return -1;
	}
	free(t);
	return openbox(path);
}

int
nedmail_main(int argc, char **argv)
{
	char line[LINE], path[LIM_PATHNAME];
	const char *file = NULL, *msgfile = NULL;
	int c;

	N.login = mime_login();
	N.cidx = N.hidx = -1;
	mb_indexatclose = 1;	/* written once, at q, y or x, with what ,h learnt */
	if (upas_path(N.dir, sizeof N.dir, "box", N.login, NULL) < 0)
		die(EX_USAGE, "login name too long");
	if (argc >= 2 && strcmp(argv[1], "-c") == 0) {
		if (argc > 3)
			usage();
		return create(argc == 3 ? argv[2] : NULL);
	}
	while ((c = getopt(argc, argv, "rntf:s:")) != -1) {
		switch (c) {
		case 'r':
		case 'n':
			N.rev = 1;
			break;
		case 't':
			N.useto = 1;
			break;
		case 'f':
			file = optarg;
			break;
		case 's':
			msgfile = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	signal(SIGPIPE, SIG_IGN);
	if (msgfile) {
		N.single = 1;
		if (opensingle(msgfile) < 0)
			die(EX_NOINPUT, "%s: %s", msgfile, lasterr());
		N.cur.m = 1;
	} else {
		if (boxpath(path, sizeof path, file ? file : "mbox") < 0)
			die(EX_USAGE, "name too long");
		if (openbox(path) < 0)
			die(errno == ENOENT ? EX_NOINPUT : EX_IOERR, "%s", lasterr());
	}
	counts();
	for (;;) {
		Str pr = { 0 };
		size_t n;

		posstr(&pr, &N.cur);
		say("%s: ", pr.p ? pr.p : "");
		str_free(&pr);
		if (fgets(line, sizeof line, stdin) == NULL)
			break;
		n = strlen(line);
		if (n > 0 && line[n - 1] != '\n' && !feof(stdin)) {
			while ((c = getchar()) != EOF && c != '\n')
				;
			say("!line too long\n");
			continue;
		}
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = 0;
		command(line);
		flush();
	}
	say("\n");
	c_q(&N.cur, 0, NULL, "");
	return 0;
}
