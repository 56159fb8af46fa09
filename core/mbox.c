/*
 * Mailboxes behind one interface: detection, the mbox text conventions shared
 * by mbox and mdir (From lines, quoting, Status headers), and the dispatch to
 * mbfile.c, mdir.c and maildir.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "mbox.h"

int
mb_type(const char *path)
{
	struct stat st, sub;
	static const char *dirs[] = { "cur", "new", "tmp" };
	char p[LIM_PATHNAME];
	size_t i;

	if (lstat(path, &st) < 0)
		return -1;
	if (S_ISLNK(st.st_mode)) {
		errno = ELOOP;
		return -1;
	}
	if (S_ISREG(st.st_mode))
		return MB_MBOX;
	if (!S_ISDIR(st.st_mode)) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < nelem(dirs); i++) {
		if (snprintf(p, sizeof p, "%s/%s", path, dirs[i]) >= (int)sizeof p)
			return MB_MDIR;
		if (lstat(p, &sub) < 0 || !S_ISDIR(sub.st_mode))
			return MB_MDIR;
	}
	return MB_MAILDIR;
}

char mb_appended[512];

int
mb_append(const char *path, const char *sender, time_t when, const char *msg, size_t n)
{
	int kind = mb_type(path);

	if (when <= 0)
		when = time(NULL);
	if (kind < 0 && errno != ENOENT) {
		seterr("%s: %s", path, errno == ELOOP ? "a symbolic link: refused" :
		    errno == EINVAL ? "not a file or directory" : strerror(errno));
		return -1;
	}
	switch (kind) {
	case MB_MDIR:
		return mdir_append(path, sender, when, msg, n);
	case MB_MAILDIR:
		return maildir_append(path, msg, n);
	default:
		return mbox_append(path, sender, when, msg, n);
	}
}

static Mailbox *findmb;

static int
cmpwhere(const void *a, const void *b)
{
	Mmsg *x = mb_msg(findmb, *(const int *)a), *y = mb_msg(findmb, *(const int *)b);

	if (mb_kind(findmb) == MB_MBOX)
		return (x->off > y->off) - (x->off < y->off);
	return strcmp(x->id, y->id);
}

/* One sort of the mailbox, then a binary search a message. */
void
mb_findput(Mailbox *mb, const char *const *where, int n, int *at)
{
	int *ix, cnt = mb_count(mb), i, lo, hi, mid, c;
	unsigned long long off;
	Mmsg *m;

	ix = xmalloc((cnt + 1) * sizeof *ix);
	for (i = 0; i < cnt; i++)
		ix[i] = i;
	findmb = mb;
	if (cnt > 1)
		qsort(ix, cnt, sizeof *ix, cmpwhere);
	for (i = 0; i < n; i++) {
		at[i] = -1;
		if (where[i] == NULL)
			continue;
		off = where[i][0] == '@' ? strtoull(where[i] + 1, NULL, 10) : 0;
		for (lo = 0, hi = cnt; lo < hi;) {
			mid = lo + (hi - lo) / 2;
			m = mb_msg(mb, ix[mid]);
			if (mb_kind(mb) == MB_MBOX)
				c = m->off < off ? -1 : m->off > off;
			else
				c = strcmp(m->id, where[i]);
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		m = lo < cnt ? mb_msg(mb, ix[lo]) : NULL;
		if (m != NULL && (mb_kind(mb) == MB_MBOX ? where[i][0] == '@' && m->off == off : strcmp(m->id, where[i]) == 0))
			at[i] = ix[lo];
	}
	free(ix);
}

int
mb_writeall(int fd, const char *p, size_t n)
{
	ssize_t r;

	while (n > 0) {
		r = write(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EIO;
			return -1;
		}
		p += r;
		n -= r;
	}
	return 0;
}

/* fsync a directory, given open (dirfd >= 0) or by name. */
int
mb_fsyncdir(int dirfd, const char *path)
{
	int fd = dirfd, r;

	if (fd < 0 && (fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	r = fsync(fd);
	if (r < 0 && (errno == EINVAL || errno == EROFS))
		r = 0;	/* file systems that cannot sync directories */
	if (dirfd < 0) {
		int e = errno;
		close(fd);
		errno = e;
	}
	return r;
}

/* fsync the directory holding path. */
int
mb_fsyncparent(const char *path)
{
	char dir[LIM_PATHNAME];
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return mb_fsyncdir(-1, ".");
	snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
	return mb_fsyncdir(-1, dir);
}

/* FNV-1a, 64 bits: ids and index checksums, not security. */
uint64_t
mb_hash(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	if (h == 0)
		h = 0xcbf29ce484222325ULL;
	while (n-- > 0) {
		h ^= *s++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* "From sender date\n": ctime format, as upas writes (upas.md §5). The
 * sender is one word: blanks and controls become '_'. */
int
mb_fromline(char *buf, size_t n, const char *sender, time_t when)
{
	char s[LIM_PATH + 1], date[64];
	struct tm tm;
	size_t i;

	if (sender == NULL || sender[0] == 0)
		sender = "MAILER-DAEMON";
	for (i = 0; sender[i] && i < LIM_PATH; i++)
		s[i] = ((unsigned char)sender[i] <= ' ' || sender[i] == 0x7f) ? '_' : sender[i];
	s[i] = 0;
	if (localtime_r(&when, &tm) == NULL || strftime(date, sizeof date, "%a %b %e %H:%M:%S %Y", &tm) == 0)
		return -1;
	return snprintf(buf, n, "From %s %s\n", s, date) < (int)n ? 0 : -1;
}

static int
month(const char *s, size_t n)
{
	static const char m[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	int i;

	if (n != 3)
		return -1;
	for (i = 0; i < 12; i++)
		if (strncasecmp(s, m + 3 * i, 3) == 0)
			return i;
	return -1;
}

static int
num(const char *s, size_t n, int *v)
{
	size_t i;

	*v = 0;
	if (n == 0 || n > 4)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + s[i] - '0';
	}
	return 0;
}

/* hh:mm or hh:mm:ss */
static int
parsetime(const char *w, size_t n, int *hh, int *mm, int *ss)
{
	const char *c1 = memchr(w, ':', n), *c2;

	c2 = memchr(c1 + 1, ':', w + n - c1 - 1);
	*ss = 0;
	if (num(w, c1 - w, hh) < 0 || c1 - w > 2)
		return -1;
	if (c2 == NULL)
		return w + n - c1 - 1 == 2 ? num(c1 + 1, 2, mm) : -1;
	if (c2 - c1 != 3 || w + n - c2 - 1 != 2 || num(c1 + 1, 2, mm) < 0)
		return -1;
	return num(c2 + 1, 2, ss);
}

/* a weekday, or a zone name like EST: allowed, not used */
static int
alphazone(const char *w, size_t n)
{
	static const char days[] = "montuewedthufrisatsun";
	size_t i;

	if (n == 3)
		for (i = 0; i < 7; i++)
			if (strncasecmp(w, days + 3 * i, 3) == 0)
				return 1;
	if (n < 1 || n > 5)
		return 0;
	for (i = 0; i < n; i++)
		if (w[i] < 'A' || w[i] > 'Z')
			return 0;
	return 1;
}

/* +hhmm or -hhmm: seconds east of UTC */
static int
zoneword(const char *w, size_t n, int *zone)
{
	int v;

	if (n != 5 || (w[0] != '+' && w[0] != '-') || num(w + 1, 4, &v) < 0)
		return -1;
	*zone = (v / 100 * 60 + v % 100) * 60 * (w[0] == '-' ? -1 : 1);
	return 0;
}

/* The date of a From line, ctime order ("Mon Jan  2 15:04:05 [EST] 2006")
 * or RFC 5322 order ("Mon, 2 Jan 2006 15:04:05 -0700"), as the writers of
 * mboxes use; what follows the year ("remote from x") is ignored. */
static int
parsedate(const char *s, const char *e, time_t *t)
{
	struct tm tm;
	int mon = -1, day = -1, year = -1, hh = -1, mm = -1, ss = 0, zone = 0, haszone = 0, v;
	const char *w;
	size_t n;

	memset(&tm, 0, sizeof tm);
	while (s < e && (mon < 0 || day < 0 || year < 0 || hh < 0)) {
		while (s < e && (*s == ' ' || *s == '\t' || *s == ','))
			s++;
		for (w = s; s < e && *s != ' ' && *s != '\t' && *s != ',' && *s != '\n' && *s != '\r'; s++)
			;
		if ((n = s - w) == 0)
			break;
		if (mon < 0 && month(w, n) >= 0)
			mon = month(w, n);
		else if (hh < 0 && memchr(w, ':', n)) {
			if (parsetime(w, n, &hh, &mm, &ss) < 0)
				return -1;
		} else if (day < 0 && num(w, n, &v) == 0 && n <= 2)
			day = v;
		else if (year < 0 && num(w, n, &v) == 0 && n == 4)
			year = v;
		else if (zoneword(w, n, &zone) == 0)
			haszone = 1;
		else if (!alphazone(w, n))
			return -1;
	}
	while (s < e && *s == ' ')
		s++;
	for (w = s; s < e && *s != ' ' && *s != '\n'; s++)
		;
	if (!haszone && zoneword(w, s - w, &zone) == 0)
		haszone = 1;
	if (mon < 0 || day < 1 || day > 31 || year < 1970 || hh < 0 || hh > 23 || mm > 59 || ss > 60)
		return -1;
	tm.tm_year = year - 1900;
	tm.tm_mon = mon;
	tm.tm_mday = day;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	tm.tm_isdst = -1;
	*t = haszone ? timegm(&tm) - zone : mktime(&tm);
	return *t == (time_t)-1 ? -1 : 0;
}

/*
 * A separator line "From sender date": the sender is a word (or a quoted
 * string) and the date must parse, as mutt demands, so a body line "From me"
 * that escaped quoting is not taken for one. sender may be NULL.
 */
int
mb_parsefrom(const char *line, size_t n, char **sender, time_t *date)
{
	const char *s = line + 5, *e = line + n, *w;
	time_t t;

	if (n < 5 || memcmp(line, "From ", 5) != 0)
		return -1;
	while (s < e && *s == ' ')
		s++;
	w = s;
	if (s < e && *s == '"') {
		for (s++; s < e && *s != '"' && *s != '\n'; s++)
			;
		if (s < e && *s == '"')
			s++;
	}
	while (s < e && *s != ' ' && *s != '\t' && *s != '\n')
		s++;
	if (parsedate(s, e, &t) < 0) {
		if (parsedate(w, e, &t) < 0)
			return -1;
		s = w;
	}
	if (sender)
		*sender = xstrndup(w, s - w);
	if (date)
		*date = t;
	return 0;
}

/*
 * The message as every format stores it: CRLF made LF, a final newline
 * added; with quote, as an mbox holds it: each line matching ^>*From  given
 * one more '>' (mboxrd), so reading strips exactly one and gets every line
 * back.
 */
void
mb_quote(Str *out, const char *msg, size_t n, int quote)
{
	size_t i = 0, len, q;
	const char *e;

	while (i < n) {
		e = memchr(msg + i, '\n', n - i);
		len = e ? (size_t)(e - msg) - i : n - i;	/* without the newline */
		for (q = 0; q < len && msg[i + q] == '>'; q++)
			;
		if (quote && len - q >= 5 && memcmp(msg + i + q, "From ", 5) == 0)
			str_addc(out, '>');
		if (len > 0 && msg[i + len - 1] == '\r' && (e || i + len == n))
			str_addn(out, msg + i, len - 1);
		else
			str_addn(out, msg + i, len);
		str_addc(out, '\n');
		i += len + (e != NULL);
	}
}

/* ^>+From : a quoted From line, shown with one '>' less. */
int
mb_unquoteline(const char *p, size_t n)
{
	size_t q;

	for (q = 0; q < n && p[q] == '>'; q++)
		;
	return q > 0 && n - q >= 5 && memcmp(p + q, "From ", 5) == 0;
}

/* A Status: or X-Status: header line, as mutt and Dovecot write them; its
 * letters are or'ed into *flags. */
int
mb_statusline(const char *p, size_t n, int *flags)
{
	size_t i;
	int x;

	if (n >= 7 && strncasecmp(p, "Status:", 7) == 0)
		x = 0, i = 7;
	else if (n >= 9 && strncasecmp(p, "X-Status:", 9) == 0)
		x = 1, i = 9;
	else
		return 0;
	for (; i < n; i++) {
		switch (p[i]) {
		case 'R': *flags |= x ? 0 : MF_SEEN; break;
		case 'O': *flags |= x ? 0 : MF_OLD; break;
		case 'A': *flags |= x ? MF_ANSWERED : 0; break;
		case 'F': *flags |= x ? MF_FLAGGED : 0; break;
		case 'T': *flags |= x ? MF_DRAFT : 0; break;
		case 'D': *flags |= x ? MF_DELETED : 0; break;
		case 'S': *flags |= x ? MF_STORED : 0; break;
		}
	}
	return 1;
}

/* The Status: and X-Status: lines for flags, as mutt writes them (Dovecot's
 * letters T and D as well). */
void
mb_statuslines(Str *out, int flags)
{
	if (flags & (MF_SEEN | MF_OLD))
		str_fmt(out, "Status: %s%s\n", flags & MF_SEEN ? "R" : "", flags & MF_OLD ? "O" : "");
	if (flags & (MF_ANSWERED | MF_FLAGGED | MF_DRAFT | MF_DELETED | MF_STORED))
		str_fmt(out, "X-Status: %s%s%s%s%s\n", flags & MF_ANSWERED ? "A" : "",
		    flags & MF_FLAGGED ? "F" : "", flags & MF_DRAFT ? "T" : "", flags & MF_DELETED ? "D" : "",
		    flags & MF_STORED ? "S" : "");
}

/* The length of a blank line ending p: the separator before the next From
 * line, not part of the message. */
size_t
mb_blanktail(const char *p, size_t n)
{
	if (n >= 1 && p[n - 1] == '\n') {
		if (n == 1 || p[n - 2] == '\n')
			return 1;
		if (p[n - 2] == '\r' && (n == 2 || p[n - 3] == '\n'))
			return 2;
	}
	return 0;
}

/*
 * A message as an mbox holds it (after its From line) made what mb_read
 * gives: the separator blank line dropped, quoted From lines unquoted, and
 * with status set, Status: lines in the header left out (their flags or'ed
 * into *flags). The size; the text is appended to out unless it is NULL.
 */
uint64_t
mb_unmbox(Str *out, const char *p, size_t n, int status, int *flags)
{
	size_t i = 0, len;
	uint64_t size = 0;
	const char *e;
	int hdr = 1, f = 0;

	n -= mb_blanktail(p, n);
	while (i < n) {
		e = memchr(p + i, '\n', n - i);
		len = e ? (size_t)(e - p) + 1 - i : n - i;
		if (hdr && (p[i] == '\n' || (len == 2 && p[i] == '\r')))
			hdr = 0;
		else if (hdr && status && mb_statusline(p + i, len, &f)) {
			i += len;
			continue;
		}
		if (mb_unquoteline(p + i, len)) {
			if (out)
				str_addn(out, p + i + 1, len - 1);
			size += len - 1;
		} else {
			if (out)
				str_addn(out, p + i, len);
			size += len;
		}
		i += len;
	}
	if (flags)
		*flags = f;
	return size;
}

/* "<dir>/.<name><suffix>": the index and journal beside an mbox. */
int
mb_sidepath(char *buf, size_t n, const char *path, const char *suffix)
{
	const char *base = strrchr(path, '/');
	int dl = base ? (int)(base - path) + 1 : 0;

	base = base ? base + 1 : path;
	return snprintf(buf, n, "%.*s.%s%s", dl, path, base, suffix) < (int)n ? 0 : -1;
}

/*
 * A directory rescan's end: the messages in t replace mb's. Entries of mb
 * that moved into t (used) are emptied so freeing mb's list spares them;
 * the rest are gone, which marks mb dirty. Frees old and used.
 */
void
mb_adopt(Mailbox *mb, Mailbox *t, Mmsg **old, char *used)
{
	int i;

	for (i = 0; i < mb->nmsg; i++)
		if (used[i])
			memset(old[i], 0, sizeof *old[i]);
		else
			mb->dirty = 1;
	mb_freemsgs(mb, 0);
	free(mb->msg);
	free(old);
	free(used);
	mb->msg = t->msg;
	mb->nmsg = t->nmsg;
	mb->amsg = t->amsg;
	mb_trim(mb);
}

/* What a scan grew beyond its messages goes back. */
void
mb_trim(Mailbox *mb)
{
	if (mb->amsg > mb->nmsg + mb->nmsg / 8 + 64) {
		mb->amsg = mb->nmsg + 16;
		mb->msg = xrealloc(mb->msg, mb->amsg * sizeof *mb->msg);
	}
}

Mmsg *
mb_add(Mailbox *mb)
{
	Mmsg *m;

	if (mb->nmsg == mb->amsg) {
		mb->amsg = mb->amsg ? mb->amsg + mb->amsg / 2 : 64;
		mb->msg = xrealloc(mb->msg, mb->amsg * sizeof *mb->msg);
	}
	m = &mb->msg[mb->nmsg++];
	memset(m, 0, sizeof *m);
	return m;
}

void
mb_reserve(Mailbox *mb, int n)
{
	if (n > mb->amsg) {
		mb->amsg = n;
		mb->msg = xrealloc(mb->msg, mb->amsg * sizeof *mb->msg);
	}
}

char *
mb_newid(const char *id, size_t n, const char *rest)
{
	size_t nr = strlen(rest);
	char *p = xmalloc(n + 1 + nr + 1);

	memcpy(p, id, n);
	p[n] = 0;
	memcpy(p + n + 1, rest, nr + 1);
	return p;
}

const char *
mb_msgid(Mailbox *mb, const Mmsg *m, char *buf)
{
	if (mb->kind != MB_MBOX)
		return m->id ? m->id : "";
	static const char hex[] = "0123456789abcdef";
	int i;

	/* by hand: sorts and searches make ids by the hundred thousand */
	for (i = 0; i < 16; i++)
		buf[i] = hex[(m->h >> (60 - 4 * i)) & 0xf];
	buf[16] = 0;
	if (m->dup > 1)
		snprintf(buf + 16, MB_IDLEN - 16, "-%u", m->dup);
	return buf;
}

const char *
mb_id(Mailbox *mb, int i, char *buf)
{
	return i >= 0 && i < mb->nmsg ? mb_msgid(mb, &mb->msg[i], buf) : "";
}

void
mb_freeid(char *id)
{
	free(id);
}

const char *
mb_file(Mailbox *mb, const Mmsg *m, char *buf, size_t n)
{
	const char *id = m->id;

	size_t k, r;

	buf[0] = 0;
	if (id == NULL || mb->kind == MB_MBOX || n < 5)
		return buf;
	if (mb->kind == MB_MDIR) {
		snprintf(buf, n, "%s", id);
		return buf;
	}
	/* "cur/" or "new/", the name, the info: by hand, a scan makes many */
	memcpy(buf, m->dflags & MF_OLD ? "cur/" : "new/", 4);
	k = strlen(id);
	r = strlen(id + k + 1);
	if (4 + k + r + 1 > n) {
		buf[0] = 0;
		return buf;
	}
	memcpy(buf + 4, id, k);
	memcpy(buf + 4 + k, id + k + 1, r + 1);
	return buf;
}

void
mb_freemsg(Mmsg *m)
{
	mb_freeid(m->id);
	memset(m, 0, sizeof *m);
}

void
mb_freemsgs(Mailbox *mb, int from)
{
	int i;

	for (i = from; i < mb->nmsg; i++)
		mb_freemsg(&mb->msg[i]);
	mb->nmsg = from;
}

static int
scan(Mailbox *mb, int locked)
{
	int r;

	switch (mb->kind) {
	case MB_MBOX:
		r = mbox_scan(mb, locked);
		mb_trim(mb);
		return r;
	case MB_MDIR:
		return mdir_scan(mb);
	default:
		return maildir_scan(mb);
	}
}

Mailbox *
mb_open(const char *path, int mode)
{
	Mailbox *mb;
	struct stat st;
	int kind = mb_type(path), fl;

	if (kind < 0) {
		seterr("%s: %s", path, errno == ELOOP ? "a symbolic link: refused" :
		    errno == EINVAL ? "not a mailbox" : strerror(errno));
		return NULL;
	}
	fl = O_NOFOLLOW | O_CLOEXEC | O_NOCTTY;
	if (kind == MB_MBOX)
		fl |= (mode == MB_RDWR ? O_RDWR : O_RDONLY) | O_NONBLOCK;
	else
		fl |= O_RDONLY | O_DIRECTORY;
	mb = xmalloc(sizeof *mb);
	memset(mb, 0, sizeof *mb);
	mb->kind = kind;
	mb->mode = mode;
	mb->path = xstrdup(path);
	if ((mb->fd = open(path, fl)) < 0 || fstat(mb->fd, &st) < 0) {
		seterr("%s:", path);
		mb_close(mb);
		return NULL;
	}
	if (kind == MB_MBOX && (!S_ISREG(st.st_mode) || fcntl(mb->fd, F_SETFL, 0) < 0)) {
		seterr("%s: not a mailbox", path);
		mb_close(mb);
		return NULL;
	}
	if (idx_load(mb) < 0)
		mb_freemsgs(mb, 0);
	if (scan(mb, 0) < 0) {
		mb_close(mb);
		return NULL;
	}
	if (mb->dirty && !mb_indexatclose)
		idx_save(mb);
	return mb;
}

int
mb_refresh(Mailbox *mb)
{
	return mb_rescan(mb, 0);
}

/* Flag changes not yet synced, kept across a scan by id: as changes, so
 * what others wrote meanwhile to the flags this one did not touch stays. */
typedef struct Keep {
	char *id;
	int flags, dflags;
} Keep;

static int
cmpkeep(const void *a, const void *b)
{
	return strcmp(((const Keep *)a)->id, ((const Keep *)b)->id);
}

int
mb_rescan(Mailbox *mb, int locked)
{
	char idb[MB_IDLEN];
	Keep *k = NULL, key, *hit;
	int nk = 0, i, r;

	for (i = 0; i < mb->nmsg; i++)
		if (mb->msg[i].flags != mb->msg[i].dflags) {
			if (nk == 0)
				k = xmalloc(mb->nmsg * sizeof *k);
			k[nk].id = xstrdup(mb_id(mb, i, idb));
			k[nk].flags = mb->msg[i].flags;
			k[nk++].dflags = mb->msg[i].dflags;
		}
	r = scan(mb, locked);
	if (nk > 0) {
		qsort(k, nk, sizeof *k, cmpkeep);
		for (i = 0; r >= 0 && i < mb->nmsg; i++) {
			key.id = (char *)mb_id(mb, i, idb);
			if ((hit = bsearch(&key, k, nk, sizeof *k, cmpkeep)) != NULL)
				mb->msg[i].flags = mb_over(hit->flags, hit->dflags, mb->msg[i].dflags);
		}
		for (i = 0; i < nk; i++)
			free(k[i].id);
	}
	free(k);
	if (mb->dirty && !mb_indexatclose)
		idx_save(mb);
	return r < 0 ? -1 : mb->nmsg;
}

int mb_indexatclose;

int
mb_count(Mailbox *mb)
{
	return mb->nmsg;
}

Mmsg *
mb_msg(Mailbox *mb, int i)
{
	return i >= 0 && i < mb->nmsg ? &mb->msg[i] : NULL;
}

int
mb_kind(Mailbox *mb)
{
	return mb->kind;
}

int
mb_read(Mailbox *mb, int i, Str *out)
{
	if (i < 0 || i >= mb->nmsg) {
		seterr("%s: no message %d", mb->path, i + 1);
		return -1;
	}
	switch (mb->kind) {
	case MB_MBOX:
		return mbox_read(mb, &mb->msg[i], out);
	case MB_MDIR:
		return mdir_read(mb, &mb->msg[i], out);
	default:
		return maildir_read(mb, &mb->msg[i], out);
	}
}

/*
 * Message i's header as stored, up to and with the blank line that ends it
 * (or all of a message without one), appended to out: what a summary needs,
 * read in pieces so the body is rarely touched. -1 and seterr on failure.
 */
int
mb_head(Mailbox *mb, int i, Str *out)
{
	char file[600], *e;
	struct stat st;
	uint64_t at, lim;
	size_t n0 = out->n, k, scan;
	ssize_t r;
	int fd, eof = 0;
	Mmsg *m;

	if (i < 0 || i >= mb->nmsg) {
		seterr("%s: no message %d", mb->path, i + 1);
		return -1;
	}
	m = &mb->msg[i];
	if (mb->kind == MB_MBOX) {
		fd = mb->fd;
		at = m->off + m->hlen;
		lim = m->end;
	} else {
		int dfd = mb->fd, k2 = m->dflags & MF_OLD ? 1 : 0;
		const char *f = mb_file(mb, m, file, sizeof file);

		/* a Maildir's new/ and cur/ opened once: one name to look up a message */
		if (mb->kind == MB_MAILDIR && f[0]) {
			if (mb->subfd[k2] == 0 && (mb->subfd[k2] = openat(mb->fd, k2 ? "cur" : "new",
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
				mb->subfd[k2] = -1;
			if (mb->subfd[k2] > 0) {
				dfd = mb->subfd[k2];
				f += 4;
			}
		}
		if ((fd = openat(dfd, f, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
			seterr("%s/%s:", mb->path, file);
			return -1;
		}
		at = 0;
		lim = UINT64_MAX;
	}
	scan = n0;
	for (;;) {
		k = lim - at < 4096 ? lim - at : 4096;
		if (k == 0 || out->n - n0 >= LIM_MSGHDRSIZE)
			break;
		str_reserve(out, k + 1);	/* read in place */
		if ((r = pread(fd, out->p + out->n, k, at)) < 0) {
			seterr("%s:", mb->path);
			if (fd != mb->fd)
				close(fd);
			out->n = n0;
			return -1;
		}
		if (r == 0) {
			eof = 1;
			break;
		}
		out->n += r;
		at += r;
		if ((size_t)r < k)
			eof = 1;
		/* an mdir file starts with its From line */
		if (mb->kind == MB_MDIR && scan == n0 && out->n - n0 >= 5 && memcmp(out->p + n0, "From ", 5) == 0) {
			if ((e = memchr(out->p + n0, '\n', out->n - n0)) == NULL)
				continue;
			k = e + 1 - (out->p + n0);
			memmove(out->p + n0, out->p + n0 + k, out->n - n0 - k);
			out->n -= k;
		}
		if (out->n - n0 > 0 && out->p[n0] == '\n')
			break;	/* no header */
		for (; scan + 1 < out->n; scan++)
			if (out->p[scan] == '\n' && out->p[scan + 1] == '\n')
				break;
		if (scan + 1 < out->n) {
			out->n = scan + 2;
			break;
		}
	}
	/* a Maildir message's size, as mb_read gives it: the file's, known
	 * when it was read to its end, else asked */
	if (mb->kind == MB_MAILDIR && m->size == 0 && (eof || (fstat(fd, &st) == 0 && (at = st.st_size) > 0))) {
		m->size = mb_u32(at);
		mb->dirty = 1;
	}
	if (fd != mb->fd)
		close(fd);
	str_addc(out, 0);
	out->n--;
	return 0;
}

const char *
mb_sender(Mailbox *mb, int i)
{
	free(mb->sender);
	mb->sender = NULL;
	if (i < 0 || i >= mb->nmsg)
		return "";
	switch (mb->kind) {
	case MB_MBOX:
		mb->sender = mbox_sender(mb, &mb->msg[i]);
		break;
	case MB_MDIR:
		mb->sender = mdir_sender(mb, &mb->msg[i]);
		break;
	default:
		mb->sender = maildir_sender(mb, &mb->msg[i]);
		break;
	}
	return mb->sender ? mb->sender : "";
}

void
mb_setflags(Mailbox *mb, int i, int set, int clear)
{
	if (i >= 0 && i < mb->nmsg)
		mb->msg[i].flags = ((mb->msg[i].flags & ~clear) | set) & (MF_ALL | MF_EXPUNGE);
}

/* Only what this program set and cleared goes over what others wrote. */
int
mb_over(int flags, int dflags, int now)
{
	return (now & ~(dflags & ~flags)) | (flags & ~dflags);
}

int
mb_gone(Mailbox *mb, Mmsg *m)
{
	return (m->flags & (mb->keepdel ? MF_EXPUNGE : MF_DELETED)) != 0;
}

void
mb_keepdeleted(Mailbox *mb, int on)
{
	mb->keepdel = on;
}

int
mb_sync(Mailbox *mb)
{
	int r;

	if (mb->mode != MB_RDWR) {
		seterr("%s: opened read-only", mb->path);
		return -1;
	}
	switch (mb->kind) {
	case MB_MBOX:
		r = mbox_sync(mb);
		break;
	case MB_MDIR:
		r = mdir_sync(mb);
		break;
	default:
		r = maildir_sync(mb);
		break;
	}
	if (mb->dirty)
		idx_save(mb);
	return r;
}

void
mb_purge(Mailbox *mb)
{
	int i;

	for (i = 0; i < mb->npurge; i++) {
		unlinkat(mb->fd, mb->purge[i], 0);
		free(mb->purge[i]);
	}
	free(mb->purge);
	mb->purge = NULL;
	mb->npurge = 0;
}

void
mb_close(Mailbox *mb)
{
	if (mb == NULL)
		return;
	mb_purge(mb);
	if (mb->dirty && mb->mode == MB_RDWR)
		idx_save(mb);	/* what was learnt since (sizes, flags read): a cache */
	if (mb->subfd[0] > 0)
		close(mb->subfd[0]);
	if (mb->subfd[1] > 0)
		close(mb->subfd[1]);
	mb_freemsgs(mb, 0);
	free(mb->msg);
	if (mb->fd >= 0)
		close(mb->fd);
	free(mb->path);
	free(mb->sender);
	free(mb);
}
