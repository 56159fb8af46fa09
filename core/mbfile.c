/*
 * mbox: one file, each message after a "From sender date" line, a blank line
 * before the next (docs/mailbox.5). Appends are locked, fsync'ed and cut back
 * on failure; rewrites (flags, expunge) go through a journal beside the box
 * and are copied in place, so peers that wait on the same inode never append
 * to a file that was renamed away.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "mbox.h"

/* A line reader over [pos, lim) of a file, by pread. */
typedef struct Rd {
	int fd;
	uint64_t pos, lim;	/* file offset of buf[0]; where to stop */
	size_t i, n;		/* next byte in buf; bytes in buf */
	int bol;		/* the next piece starts a line */
	char *buf;
} Rd;

static void
rd_init(Rd *r, int fd, uint64_t start, uint64_t lim)
{
	r->fd = fd;
	r->pos = start;
	r->lim = lim;
	r->i = r->n = 0;
	r->bol = 1;
	r->buf = xmalloc(LIM_MBOXBUF);
}

/* The next line, or LIM_MBOXBUF bytes of a longer one: 1 with *p, *len,
 * *off and *bol set; 0 at the end; -1 on error. */
static int
rd_line(Rd *r, const char **p, size_t *len, uint64_t *off, int *bol)
{
	char *e;
	size_t want;
	ssize_t got;

	for (;;) {
		e = memchr(r->buf + r->i, '\n', r->n - r->i);
		if (e || (r->i < r->n && (r->n - r->i == LIM_MBOXBUF || r->pos + r->n == r->lim))) {
			*len = e ? (size_t)(e - (r->buf + r->i)) + 1 : r->n - r->i;
			*p = r->buf + r->i;
			*off = r->pos + r->i;
			*bol = r->bol;
			r->bol = e != NULL;
			r->i += *len;
			return 1;
		}
		if (r->pos + r->n >= r->lim)
			return 0;
		memmove(r->buf, r->buf + r->i, r->n - r->i);
		r->pos += r->i;
		r->n -= r->i;
		r->i = 0;
		want = LIM_MBOXBUF - r->n;
		if (want > r->lim - (r->pos + r->n))
			want = r->lim - (r->pos + r->n);
		got = pread(r->fd, r->buf + r->n, want, r->pos + r->n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -1;
		if (got == 0)
			r->lim = r->pos + r->n;	/* cut short under us */
		r->n += got;
	}
}

static int
pwriteall(int fd, const char *p, size_t n, uint64_t off)
{
	ssize_t r;

	while (n > 0) {
		r = pwrite(fd, p, n, off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = ENOSPC;
			return -1;
		}
		p += r;
		n -= r;
		off += r;
	}
	return 0;
}

static int
blankline(const char *p, size_t len, int bol)
{
	return bol && ((len == 1 && p[0] == '\n') || (len == 2 && p[0] == '\r' && p[1] == '\n'));
}

/*
 * Header fields other programs add or change when they rewrite an mbox:
 * mutt's Content-Length: and Lines:, c-client's and Dovecot's X-UID:,
 * X-Keywords:, X-IMAP:, X-IMAPbase:. Like Status:, they stay out of a
 * message's digest, so its id (and a POP3 UIDL) holds across such rewrites.
 */
static int
volatileline(const char *p, size_t n)
{
	static const char *f[] = { "Content-Length:", "Lines:", "X-UID:", "X-Keywords:", "X-IMAP:", "X-IMAPbase:" };
	size_t i, k;

	for (i = 0; i < nelem(f); i++)
		if (n >= (k = strlen(f[i])) && strncasecmp(p, f[i], k) == 0)
			return 1;
	return 0;
}

static void
finish(Mmsg *m, uint64_t end, uint64_t size, size_t blank)
{
	m->end = end;
	m->size = mb_u32(size - blank);
	m->flags = m->dflags;
}

/*
 * Parse messages from start (at a From line, or at 0) to lim into mb; with
 * max > 0, stop after that many. A separator is a From line with a date at
 * the start or after a blank line; the message's digest covers its From
 * line and the header lines but Status: and the volatile ones, within
 * LIM_MBOXBUF octets, so flag changes and other mailers' rewrites keep its
 * id. Its size is what mb_unmbox makes of it.
 * Messages found, or -1.
 */
static int
scanfrom(Mailbox *mb, int fd, uint64_t start, uint64_t lim, int max)
{
	Rd r;
	Mmsg *m = NULL;
	const char *p;
	size_t len, blank = 0;
	uint64_t off, size = 0;
	int bol, k, found = 0, hdr = 0, prevblank = 1, skip = 0, vol = 0, sf = 0;
	char *sender;
	time_t date;

	rd_init(&r, fd, start, lim);
	while ((k = rd_line(&r, &p, &len, &off, &bol)) > 0) {
		if (bol && prevblank && len >= 5 && p[len - 1] == '\n' && memcmp(p, "From ", 5) == 0 &&
		    mb_parsefrom(p, len, &sender, &date) == 0) {
			if (m)
				finish(m, off, size, blank);
			if (max > 0 && found == max) {
				free(sender);
				m = NULL;
				break;
			}
			m = mb_add(mb);
			m->off = off;
			m->hlen = len;
			sf = 0;
			free(sender);	/* read again from the From line when asked (mb_sender) */
			m->date = mb_u32(date);
			size = 0;
			m->h = mb_hash(0, p, len);
			hdr = 1;
			found++;
			prevblank = 0;
			blank = 0;
			continue;
		}
		prevblank = blankline(p, len, bol);
		blank = prevblank ? len : 0;
		if (m == NULL)
			continue;
		if (skip) {
			skip = p[len - 1] != '\n';
			continue;
		}
		if (bol)
			vol = hdr && volatileline(p, len);
		if (hdr && prevblank)
			hdr = 0;
		else if (hdr && bol && mb_statusline(p, len, &sf)) {
			m->dflags |= sf;
			skip = p[len - 1] != '\n';
			continue;
		} else if (hdr && !vol && off < m->off + m->hlen + LIM_MBOXBUF)
			/* the header's first LIM_MBOXBUF octets, a line cut there as
			 * digest() cuts it (the hash runs octet by octet) */
			m->h = mb_hash(m->h, p, off + len <= m->off + m->hlen + LIM_MBOXBUF ? len :
			    m->off + m->hlen + LIM_MBOXBUF - off);
		size += len - (bol && mb_unquoteline(p, len));
	}
	if (m)
		finish(m, r.pos + r.n < r.lim ? r.pos + r.n : r.lim, size, blank);
	free(r.buf);
	return k < 0 ? -1 : found;
}

static int
cmpid(const void *a, const void *b)
{
	const Mmsg *x = *(Mmsg *const *)a, *y = *(Mmsg *const *)b;

	if (x->h != y->h)
		return x->h < y->h ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* Ids from digests; the second and later copies of one message get "-2"
 * (mb_id), up to the 65535th. */
static void
setids(Mailbox *mb)
{
	Mmsg **v = xmalloc((mb->nmsg + 1) * sizeof *v);
	int i, dup = 1;

	for (i = 0; i < mb->nmsg; i++)
		v[i] = &mb->msg[i];
	qsort(v, mb->nmsg, sizeof *v, cmpid);
	for (i = 0; i < mb->nmsg; i++) {
		dup = i > 0 && v[i - 1]->h == v[i]->h ? dup + 1 : 1;
		v[i]->dup = dup < 0xffff ? dup : 0xffff;
	}
	free(v);
}

static int
samemsg(const Mmsg *a, const Mmsg *b)
{
	return a->off == b->off && a->hlen == b->hlen && a->end == b->end && a->h == b->h &&
	    a->size == b->size && a->dflags == b->dflags;
}

static int64_t
mtimens(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/*
 * Bring mb up to the file's first lim octets. What mb holds (from the index
 * or an earlier scan) is kept when the file is the same inode, no shorter,
 * its first message still parses the same, and either nothing changed or it
 * grew: then only the last message and what follows are parsed. Anything
 * else is a full scan.
 */
static int
rescan(Mailbox *mb, struct stat *st, uint64_t lim)
{
	Mailbox t;
	int last, i, ok = 0;

	memset(&t, 0, sizeof t);
	if (mb->nmsg > 0 && mb->dev == (uint64_t)st->st_dev && mb->ino == (uint64_t)st->st_ino && lim >= mb->size &&
	    scanfrom(&t, mb->fd, mb->msg[0].off, mb->msg[0].end, 1) == 1 && samemsg(&t.msg[0], &mb->msg[0])) {
		if (lim == mb->size && mtimens(st) == mb->mtime)
			ok = 1;
		else if (lim > mb->size) {
			last = mb->nmsg - 1;
			mb_freemsgs(&t, 0);
			if (scanfrom(&t, mb->fd, mb->msg[last].off, lim, 0) > 0 && t.msg[0].off == mb->msg[last].off &&
			    t.msg[0].h == mb->msg[last].h) {
				mb_freemsgs(mb, last);
				for (i = 0; i < t.nmsg; i++) {
					*mb_add(mb) = t.msg[i];
					memset(&t.msg[i], 0, sizeof t.msg[i]);
				}
				ok = 2;
			}
		}
	}
	mb_freemsgs(&t, 0);
	free(t.msg);
	if (ok == 1) {
		setids(mb);
		return 0;
	}
	if (ok == 0) {
		mb_freemsgs(mb, 0);
		if (scanfrom(mb, mb->fd, 0, lim, 0) < 0) {
			seterr("%s:", mb->path);
			return -1;
		}
	}
	mb->dev = st->st_dev;
	mb->ino = st->st_ino;
	mb->size = lim;
	mb->mtime = mtimens(st);
	mb->dirty = 1;
	setids(mb);
	return 0;
}

/*
 * The journal of a rewrite: the new tail of the mbox, then a trailer line
 * "upas-journal 1 start oldsize tailsize digest". Once it is complete and
 * fsync'ed the tail is copied over the mbox from start and the file cut to
 * start+tailsize; replaying it again is harmless, so a crash at any point
 * is finished by the next locker. A journal without its trailer or with a
 * bad digest was never started on, and is removed.
 */
typedef struct Journal {
	uint64_t start, oldsize, tailsize, h;
} Journal;

static int
copyjournal(int fd, int jfd, const Journal *j, Mlock *l)
{
	char *buf = xmalloc(LIM_MBOXBUF);
	uint64_t done = 0;
	int64_t touched = now_ms();
	ssize_t r;
	size_t want;

	while (done < j->tailsize) {
		want = j->tailsize - done < LIM_MBOXBUF ? j->tailsize - done : LIM_MBOXBUF;
		if ((r = pread(jfd, buf, want, done)) <= 0 || pwrite(fd, buf, r, j->start + done) != r) {
			free(buf);
			return -1;
		}
		done += r;
		if (l && now_ms() - touched > LIM_MBOXSYNC * 1000) {
			lock_touch(l);
			touched = now_ms();
		}
	}
	free(buf);
	if (ftruncate(fd, j->start + j->tailsize) < 0 || fsync(fd) < 0)
		return -1;
	return 0;
}

static int
readjournal(int jfd, Journal *j)
{
	char buf[256], *nl, *line, *end;
	struct stat st;
	uint64_t h = 0, done = 0;
	char *data;
	ssize_t r, n;
	size_t tl;

	if (fstat(jfd, &st) < 0 || st.st_size < 16)
		return -1;
	n = st.st_size < (off_t)sizeof buf - 1 ? st.st_size : (off_t)sizeof buf - 1;
	if (pread(jfd, buf, n, st.st_size - n) != n || buf[n - 1] != '\n')
		return -1;
	buf[n - 1] = 0;
	line = (nl = strrchr(buf, '\n')) ? nl + 1 : buf;
	tl = strlen(line) + 1;
	if (strncmp(line, "upas-journal 1 ", 15) != 0)
		return -1;
	errno = 0;
	j->start = strtoull(line + 15, &end, 10);
	j->oldsize = strtoull(end, &end, 10);
	j->tailsize = strtoull(end, &end, 10);
	j->h = strtoull(end, &end, 16);
	if (errno || *end != 0 || j->tailsize + tl != (uint64_t)st.st_size)
		return -1;
	data = xmalloc(LIM_MBOXBUF);
	while (done < j->tailsize) {
		r = pread(jfd, data, j->tailsize - done < LIM_MBOXBUF ? j->tailsize - done : LIM_MBOXBUF, done);
		if (r <= 0)
			break;
		h = mb_hash(h, data, r);
		done += r;
	}
	free(data);
	return done == j->tailsize && h == j->h ? 0 : -1;
}

/* Do the mailbox's bytes [from, to) equal the journal's new text there? */
static int
journalmatch(int fd, int jfd, const Journal *j, uint64_t from, uint64_t to)
{
	char *a = xmalloc(LIM_MBOXBUF), *b = xmalloc(LIM_MBOXBUF);
	size_t want;
	int same = from >= j->start && to <= j->start + j->tailsize;

	while (same && from < to) {
		want = to - from < LIM_MBOXBUF ? to - from : LIM_MBOXBUF;
		same = pread(fd, a, want, from) == (ssize_t)want &&
		    pread(jfd, b, want, from - j->start) == (ssize_t)want && memcmp(a, b, want) == 0;
		from += want;
	}
	free(a);
	free(b);
	return same;
}

/*
 * Finish a rewrite that crashed; called with the write locks held. Only a
 * mailbox in a state the rewrite itself leaves is touched: its old size, or
 * grown by exactly the journal's bytes. Any other size means another program
 * appended since the crash: replaying would overwrite that message, so the
 * journal is set aside (or dropped, when the rewrite had in fact finished).
 */
static int
replay(int fd, const char *path, Mlock *l)
{
	char jp[LIM_PATHNAME], aside[LIM_PATHNAME + 32];
	struct stat st;
	uint64_t size, end;
	Journal j;
	int jfd;

	if (mb_sidepath(jp, sizeof jp, path, ".journal") < 0)
		return 0;
	if ((jfd = open(jp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return errno == ENOENT ? 0 : -1;
	if (readjournal(jfd, &j) < 0) {
		close(jfd);
		unlink(jp);
		return 0;
	}
	if (fstat(fd, &st) < 0) {
		close(jfd);
		return -1;
	}
	size = st.st_size;
	end = j.start + j.tailsize;
	if (size != j.oldsize && size == end && journalmatch(fd, jfd, &j, j.start, end)) {
		close(jfd);
		unlink(jp);
		return 0;
	}
	if (size != j.oldsize && !(size > j.oldsize && size <= end && journalmatch(fd, jfd, &j, j.oldsize, size))) {
		/* someone wrote to the mailbox after the crash: keep the journal for a human */
		close(jfd);
		snprintf(aside, sizeof aside, "%s.%lld", jp, (long long)time(NULL));
		rename(jp, aside);
		logmsg("mbox", "%s: interrupted rewrite not replayed, the mailbox changed since; journal kept as %s",
		    path, aside);
		return 0;
	}
	if (copyjournal(fd, jfd, &j, l) < 0) {
		seterr("%s: replaying %s:", path, jp);
		close(jfd);
		return -1;
	}
	close(jfd);
	unlink(jp);
	mb_fsyncparent(path);
	logmsg("mbox", "%s: finished an interrupted rewrite", path);
	return 1;
}

int
mbox_scan(Mailbox *mb, int locked)
{
	char jp[LIM_PATHNAME];
	struct stat st;
	int64_t crashed;
	uint64_t lim;
	Mlock l;
	int r;

	if (!locked && mb->mode == MB_RDWR && mb_sidepath(jp, sizeof jp, mb->path, ".journal") == 0 &&
	    lstat(jp, &st) == 0) {
		if (lock_mbox(&l, mb->fd, mb->path, LK_WRITE, mb_lockwait * 1000) < 0)
			return -1;
		r = replay(mb->fd, mb->path, &l);
		lock_release(&l);
		if (r < 0)
			return -1;
	}
	if (!locked && lock_mbox(&l, mb->fd, mb->path, LK_READ, mb_lockwait * 1000) < 0)
		return -1;
	if (fstat(mb->fd, &st) < 0) {
		seterr("%s:", mb->path);
		r = -1;
	} else {
		/* a dead appender's partial message is not a message */
		lim = st.st_size;
		if ((crashed = lock_crashed(mb->path)) >= 0 && (uint64_t)crashed < lim)
			lim = crashed;
		r = rescan(mb, &st, lim);
	}
	if (!locked)
		lock_release(&l);
	return r;
}

/* A message's digest as scanfrom makes it, from the message in memory (From line first). */
static uint64_t
digest(const char *p, size_t n)
{
	const char *e = p + n, *nl, *hdr;
	uint64_t h;
	int dummy = 0;

	nl = memchr(p, '\n', n);
	h = mb_hash(0, p, nl + 1 - p);
	hdr = nl + 1;
	for (p = hdr; p < e && p < hdr + LIM_MBOXBUF; p = nl + 1) {
		if ((nl = memchr(p, '\n', e - p)) == NULL)
			nl = e - 1;
		if (blankline(p, nl + 1 - p, 1))
			break;
		if (!mb_statusline(p, nl + 1 - p, &dummy) && !volatileline(p, nl + 1 - p))
			h = mb_hash(h, p, nl + 1 <= hdr + LIM_MBOXBUF ? (size_t)(nl + 1 - p) : (size_t)(hdr + LIM_MBOXBUF - p));
	}
	return h;
}

/* The message; a mailbox that changed under us since the scan is an error, never another message. */
int
mbox_read(Mailbox *mb, Mmsg *m, Str *out)
{
	uint64_t n = m->end - m->off;
	char *buf, *nl;
	ssize_t r;

	if (n > LIM_MBOXMSG) {
		seterr("%s: message too large", mb->path);
		return -1;
	}
	buf = xmalloc(n + 1);
	r = pread(mb->fd, buf, n, m->off);
	if (r != (ssize_t)n || n < 5 || memcmp(buf, "From ", 5) != 0 ||
	    (nl = memchr(buf, '\n', n)) == NULL || (uint64_t)(nl - buf) + 1 != m->hlen ||
	    digest(buf, n) != m->h) {
		free(buf);
		seterr("%s: changed by another program; scan it again", mb->path);
		errno = ESTALE;
		return -1;
	}
	mb_unmbox(out, buf + m->hlen, m->end - m->off - m->hlen, 1, NULL);
	free(buf);
	return 0;
}

/*
 * Under the locks: finish an interrupted rewrite, record the size in the
 * dotlock, and start the message after a blank line even when the file does
 * not end in one (a writer that died without a dotlock to say so). Then one
 * write, fsync of the file and the directory; any failure cuts the file back
 * to the recorded size.
 */
int
mbox_append(const char *path, const char *sender, time_t when, const char *msg, size_t n)
{
	const int fl = O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY;
	char from[LIM_PATH + 64], tail[2];
	const char *pad = "";
	struct stat st;
	Str s = { 0 };
	Mlock l;
	off_t size;
	int fd, e;

	if (mb_fromline(from, sizeof from, sender, when) < 0) {
		seterr("%s: bad date", path);
		return -1;
	}
	if ((fd = open(path, fl | O_CREAT | O_EXCL, 0600)) < 0 && errno == EEXIST)
		fd = open(path, fl);
	if (fd < 0) {
		seterr("%s: %s", path, errno == ELOOP ? "a symbolic link: refused" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || fcntl(fd, F_SETFL, 0) < 0) {
		seterr("%s: not a regular file", path);
		close(fd);
		return -1;
	}
	str_adds(&s, from);
	mb_quote(&s, msg, n, 1);
	str_addc(&s, '\n');
	if (lock_mbox(&l, fd, path, LK_WRITE, mb_lockwait * 1000) < 0) {
		int e = errno;
		str_free(&s);
		close(fd);
		errno = e;
		return -1;
	}
	if (replay(fd, path, &l) < 0 || fstat(fd, &st) < 0 || lock_setsize(&l, st.st_size) < 0)
		goto fail0;
	if (st.st_nlink == 0) {
		/* removed (IMAP DELETE) while we waited: a temporary failure, never a write into nothing */
		seterr("%s: removed while waiting for its lock", path);
		errno = EWOULDBLOCK;
		goto fail0;
	}
	size = st.st_size;
	if (size > 0) {
		if (pread(fd, tail, 2, size >= 2 ? size - 2 : 0) != (size >= 2 ? 2 : 1)) {
			seterr("%s:", path);
			goto fail0;
		}
		if (size == 1)
			pad = tail[0] == '\n' ? "" : "\n\n";
		else if (tail[1] != '\n')
			pad = "\n\n";
		else if (tail[0] != '\n')
			pad = "\n";
	}
	/*
	 * The dotlock holds the size to cut back to. It goes (and its removal
	 * is made durable by the directory fsync) before success is reported:
	 * left to reappear after a power loss it would cut off a delivered
	 * message. The next writer may start during that fsync: the message
	 * is on disk, and a dotlock of its own records a size past ours.
	 */
	if ((pad[0] && pwrite(fd, pad, strlen(pad), size) != (ssize_t)strlen(pad)) ||
	    pwriteall(fd, s.p, s.n, size + strlen(pad)) < 0 || fsync(fd) < 0) {
		seterr("%s:", path);
		if (ftruncate(fd, size) < 0 || fsync(fd) < 0)
			logmsg("mbox", "%s: cannot cut back a failed append: %s", path, strerror(errno));
		goto fail0;
	}
	snprintf(mb_appended, sizeof mb_appended, "@%llu", (unsigned long long)(size + strlen(pad)));
	lock_dropdot(&l);
	lock_release(&l);
	str_free(&s);
	close(fd);
	return mb_fsyncparent(path) < 0 ? (seterr("%s:", path), -1) : 0;
fail0:
	e = errno;
	lock_release(&l);
	str_free(&s);
	close(fd);
	errno = e;
	return -1;
}

/* A message with its Status: lines made to say flags, placed where the
 * header ends. */
static void
rewritemsg(Mailbox *mb, Str *out, const char *p, size_t n, size_t fromlen, int flags)
{
	size_t i = fromlen, len;
	const char *e;
	int hdr = 1, f = 0;

	if (!mb->keepdel)
		flags &= ~MF_DELETED;
	str_addn(out, p, fromlen);
	while (i < n) {
		e = memchr(p + i, '\n', n - i);
		len = e ? (size_t)(e - p) + 1 - i : n - i;
		if (hdr && blankline(p + i, len, 1)) {
			mb_statuslines(out, flags);
			hdr = 0;
		}
		if (!hdr || !mb_statusline(p + i, len, &f))
			str_addn(out, p + i, len);
		i += len;
	}
	if (hdr) {
		if (out->n > 0 && out->p[out->n - 1] != '\n')
			str_addc(out, '\n');
		mb_statuslines(out, flags);
	}
}

static int
firstchange(Mailbox *mb)
{
	int i;

	for (i = 0; i < mb->nmsg && mb->msg[i].flags == mb->msg[i].dflags && !mb_gone(mb, &mb->msg[i]); i++)
		;
	return i;
}

/* The new tail from message i0 on into the journal, complete and fsync'ed. */
static int
writejournal(Mailbox *mb, int i0, const char *jp, Journal *j)
{
	Str s = { 0 };
	char *buf = NULL;
	uint64_t n;
	Mmsg *m;
	int jfd, i;

	if ((jfd = open(jp, O_CREAT | O_TRUNC | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
		return -1;
	j->start = mb->msg[i0].off;
	j->tailsize = 0;
	j->h = 0;
	for (i = i0; i < mb->nmsg; i++) {
		m = &mb->msg[i];
		if (mb_gone(mb, m))
			continue;
		n = m->end - m->off;
		buf = xrealloc(buf, n + 1);
		if (pread(mb->fd, buf, n, m->off) != (ssize_t)n) {
			errno = errno ? errno : EIO;
			goto fail;
		}
		str_reset(&s);
		if (m->flags == m->dflags)
			str_addn(&s, buf, n);
		else
			rewritemsg(mb, &s, buf, n, m->hlen, m->flags);
		if (mb_writeall(jfd, s.p, s.n) < 0)
			goto fail;
		j->h = mb_hash(j->h, s.p, s.n);
		j->tailsize += s.n;
	}
	str_reset(&s);
	str_fmt(&s, "upas-journal 1 %llu %llu %llu %llx\n", (unsigned long long)j->start,
	    (unsigned long long)j->oldsize, (unsigned long long)j->tailsize, (unsigned long long)j->h);
	if (mb_writeall(jfd, s.p, s.n) < 0 || fsync(jfd) < 0 || close(jfd) < 0)
		goto fail1;
	free(buf);
	str_free(&s);
	return mb_fsyncparent(jp);
fail:
	close(jfd);
fail1:
	free(buf);
	str_free(&s);
	unlink(jp);
	return -1;
}

/*
 * Write flags and expunge: under the write locks, catch up with what others
 * appended, write the new tail (from the first changed message) to the
 * journal, then copy it in place and cut the file.
 */
int
mbox_sync(Mailbox *mb)
{
	char jp[LIM_PATHNAME];
	struct stat st;
	Journal j;
	Mlock l;
	int i0, jfd;

	if (firstchange(mb) == mb->nmsg)
		return 0;
	if (mb_sidepath(jp, sizeof jp, mb->path, ".journal") < 0) {
		seterr("%s: name too long", mb->path);
		return -1;
	}
	if (lock_mbox(&l, mb->fd, mb->path, LK_WRITE, mb_lockwait * 1000) < 0)
		return -1;
	if (replay(mb->fd, mb->path, &l) < 0 || mb_rescan(mb, 1) < 0)
		goto fail;
	if ((i0 = firstchange(mb)) == mb->nmsg) {
		lock_release(&l);
		return 0;
	}
	if (fstat(mb->fd, &st) < 0)
		goto fail;
	j.oldsize = st.st_size;
	if (writejournal(mb, i0, jp, &j) < 0) {
		seterr("%s: writing the journal %s:", mb->path, jp);
		goto fail;
	}
	if ((jfd = open(jp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0 || copyjournal(mb->fd, jfd, &j, &l) < 0) {
		/* the journal stays: the next locker finishes the copy */
		seterr("%s: rewriting:", mb->path);
		if (jfd >= 0)
			close(jfd);
		goto fail;
	}
	close(jfd);
	unlink(jp);
	mb_fsyncparent(jp);
	mb_freemsgs(mb, i0);
	if (scanfrom(mb, mb->fd, j.start, j.start + j.tailsize, 0) < 0 || fstat(mb->fd, &st) < 0) {
		seterr("%s:", mb->path);
		goto fail;
	}
	mb->size = st.st_size;
	mb->mtime = mtimens(&st);
	mb->dirty = 1;
	setids(mb);
	lock_release(&l);
	return 0;
fail:
	lock_release(&l);
	return -1;
}

/* The envelope sender from the From line at off in fd (n octets at most), or "". */
char *
mb_senderat(int fd, uint64_t off, size_t n)
{
	char buf[LIM_PATH + 128], *nl, *sender;
	ssize_t r;
	time_t date;

	r = pread(fd, buf, n < sizeof buf - 1 ? n : sizeof buf - 1, off);
	if (r <= 0 || (nl = memchr(buf, '\n', r)) == NULL || mb_parsefrom(buf, nl + 1 - buf, &sender, &date) < 0)
		return xstrdup("");
	return sender;
}

char *
mbox_sender(Mailbox *mb, Mmsg *m)
{
	return mb_senderat(mb->fd, m->off, m->hlen);
}

