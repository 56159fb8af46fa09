/*
 * The per-mailbox index: what a scan learnt, so the next open reads only
 * what changed (docs/mailbox.5). Beside an mbox as ".NAME.idx", inside an
 * mdir or Maildir as ".idx" (names both formats ignore). Text:
 *
 *	upas-idx 1 KIND DEV INO SIZE MTIME COUNT
 *	DIGEST OFF HOFF END SIZE FLAGS DATE FILE SENDER	(COUNT lines)
 *	end CHECKSUM
 *
 * The checksum covers every line before it; an index that does not parse,
 * check out or match the mailbox's kind is ignored and rebuilt. Written to
 * a temporary file and renamed; for an mdir it is the only record of the
 * flags, so it is fsync'ed too.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "mbox.h"

int
idx_path(Mailbox *mb, char *buf, size_t n)
{
	if (mb->kind == MB_MBOX)
		return mb_sidepath(buf, n, mb->path, ".idx");
	return snprintf(buf, n, "%s/.idx", mb->path) < (int)n ? 0 : -1;
}

static char *
unesc(const char *w)
{
	char *s, *o;

	if (strcmp(w, "-") == 0)
		return xstrdup("");
	o = s = xmalloc(strlen(w) + 1);
	for (; *w; w++) {
		if (*w == '%') {
			if (hexdigit(w[1]) < 0 || hexdigit(w[2]) < 0 || (hexdigit(w[1]) == 0 && hexdigit(w[2]) == 0)) {
				free(s);
				return NULL;
			}
			*o++ = hexdigit(w[1]) * 16 + hexdigit(w[2]);
			w += 2;
		} else
			*o++ = *w;
	}
	*o = 0;
	return s;
}


static int
parseline(Mailbox *mb, char *line)
{
	char *w[9], *p = line, *end;
	unsigned long long v[5];
	long long date;
	long flags;
	char *file;
	Mmsg *m;
	int i;

	for (i = 0; i < 9; i++) {
		w[i] = p;
		if ((p = strchr(p, ' ')) != NULL)
			*p++ = 0;
		else if (i < 8)
			return -1;
	}
	for (i = 0; i < 5; i++) {
		errno = 0;
		v[i] = strtoull(w[i], &end, i == 0 ? 16 : 10);
		if (errno || *end || end == w[i])
			return -1;
	}
	flags = strtol(w[5], &end, 10);
	if (*end || flags < 0 || flags > MF_ALL)
		return -1;
	date = strtoll(w[6], &end, 10);
	if (*end || end == w[6])
		return -1;
	m = mb_add(mb);
	m->h = v[0];
	m->off = v[1];
	m->hlen = v[2] - v[1];
	m->end = v[3];
	m->size = mb_u32(v[4]);
	m->flags = m->dflags = flags;
	m->date = mb_u32(date);
	if (mb->kind == MB_MBOX)
		return v[1] < v[2] && v[2] <= v[3] && v[2] - v[1] <= LIM_MBOXBUF ? 0 : -1;
	/* the sender (w[8]) is read from the message when asked */
	if ((file = unesc(w[7])) == NULL || file[0] == 0 || strchr(file, '/') != strrchr(file, '/') ||
	    (mb->kind == MB_MAILDIR && strncmp(file, "new/", 4) != 0 && strncmp(file, "cur/", 4) != 0) ||
	    (mb->kind == MB_MDIR && strchr(file, '/') != NULL)) {
		free(file);
		return -1;
	}
	if (mb->kind == MB_MAILDIR) {
		/* the directory is in the flags: MF_OLD for cur/ */
		m->id = mb_newid(file + 4, strcspn(file + 4, ":"), file + 4 + strcspn(file + 4, ":"));
		m->dflags = (m->dflags & ~MF_OLD) | (file[0] == 'c' ? MF_OLD : 0);
		m->flags = m->dflags;
	} else
		m->id = mb_newid(file, strlen(file), "");
	free(file);
	return 0;
}

/* The next line of a text whose lines were split in place, or NULL. */
/*
 * Read in pieces, a line at a time, the checksum kept as it goes: the
 * index is never in memory whole beside the messages it makes.
 */
int
idx_load(Mailbox *mb)
{
	char path[LIM_PATHNAME], *buf, *line, *nl;
	uint64_t dev, ino, size, h, sum = 0;
	int64_t mtime, kind, cnt;
	const char *e;
	int count = -1, fd, done = 0, n = 0;
	size_t have = 0, len;
	ssize_t got;
	struct stat st;

	mb_freemsgs(mb, 0);
	if (idx_path(mb, path, sizeof path) < 0 ||
	    (fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)) < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > LIM_IDXFILE) {
		close(fd);
		return -1;
	}
	buf = xmalloc(LIM_IDXBUF + 1);
	for (;;) {
		got = have < LIM_IDXBUF ? read(fd, buf + have, LIM_IDXBUF - have) : 0;
		if (got < 0)
			goto bad;
		have += got;
		line = buf;
		while ((nl = memchr(line, '\n', buf + have - line)) != NULL) {
			*nl = 0;
			len = nl - line;
			if (done || memchr(line, 0, len) != NULL || len >= LIM_IDXLINE)
				goto bad;
			if (count < 0) {
				if ((e = str_scan(line, "upas-idx 1 %d %u %u %u %d %d", &kind, &dev, &ino, &size, &mtime,
				    &cnt)) == NULL || *e != 0 || kind != mb->kind || cnt < 0 || cnt > st.st_size / 16)
					goto bad;
				count = cnt;
				mb_reserve(mb, count + 16);
			} else if (n == count) {
				if ((e = str_scan(line, "end %x", &h)) == NULL || *e != 0 || h != sum)
					goto bad;
				done = 1;
			} else {
				*nl = '\n';
				sum = mb_hash(sum, line, len + 1);
				*nl = 0;
				if (parseline(mb, line) < 0)
					goto bad;
				n++;
				line = nl + 1;
				continue;
			}
			*nl = '\n';
			if (!done)
				sum = mb_hash(sum, line, len + 1);
			line = nl + 1;
		}
		have -= line - buf;
		memmove(buf, line, have);
		if (got == 0)
			break;
	}
	if (!done || have != 0)
		goto bad;
	mb->dev = dev;
	mb->ino = ino;
	mb->size = size;
	mb->mtime = mtime;
	free(buf);
	close(fd);
	return 0;
bad:
	free(buf);
	close(fd);
	mb_freemsgs(mb, 0);
	return -1;
}

int
idx_save(Mailbox *mb)
{
	char path[LIM_PATHNAME], tmp[LIM_PATHNAME + 32], file[600];
	unsigned long long sum = 0;
	Str s = { 0 };
	Mmsg *m;
	int fd, i, bad = 0, durable = mb->kind == MB_MDIR;

	if (idx_path(mb, path, sizeof path) < 0)
		return -1;
	snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
	unlink(tmp);
	if ((fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
		seterr("%s:", tmp);
		return -1;
	}
	/* written in pieces, the checksum kept as it goes */
	str_fmt(&s, "upas-idx 1 %d %llu %llu %llu %lld %d\n", mb->kind, (unsigned long long)mb->dev,
	    (unsigned long long)mb->ino, (unsigned long long)mb->size, (long long)mb->mtime, mb->nmsg);
	for (i = 0; i <= mb->nmsg && !bad; i++) {
		if (i == mb->nmsg || s.n > LIM_IDXBUF) {
			sum = mb_hash(sum, s.p, s.n);
			bad = mb_writeall(fd, s.p, s.n) < 0;
			str_reset(&s);
		}
		if (i == mb->nmsg)
			break;
		m = &mb->msg[i];
		/* "%llx %llu %llu %llu %llu %d %lld ", by hand: an index has many lines */
		str_num(&s, m->h, 16);
		str_addc(&s, ' ');
		str_num(&s, m->off, 10);
		str_addc(&s, ' ');
		str_num(&s, m->off + m->hlen, 10);
		str_addc(&s, ' ');
		str_num(&s, m->end, 10);
		str_addc(&s, ' ');
		str_num(&s, m->size, 10);
		str_addc(&s, ' ');
		str_num(&s, m->dflags, 10);
		str_addc(&s, ' ');
		str_num(&s, m->date, 10);
		str_addc(&s, ' ');
		str_word(&s, mb->kind == MB_MBOX ? "" : mb_file(mb, m, file, sizeof file));
		str_addc(&s, ' ');
		str_addc(&s, '*');	/* the sender: read when asked */
		str_addc(&s, '\n');
	}
	str_fmt(&s, "end %llx\n", sum);
	if (bad || mb_writeall(fd, s.p, s.n) < 0 || (durable && fsync(fd) < 0)) {
		close(fd);
		fd = -1;
	}
	str_free(&s);
	if (fd < 0 || close(fd) < 0 || rename(tmp, path) < 0 || (durable && mb_fsyncparent(path) < 0)) {
		seterr("%s:", path);
		unlink(tmp);
		return -1;
	}
	mb->dirty = 0;
	return 0;
}
