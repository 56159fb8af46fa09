/*
 * UIDs, keywords and \Recent of one mailbox: the .imp file beside an mbox
 * (".NAME.imp") or inside a directory (".imp"), the one file imap4d
 * sessions share. Text:
 *
 *	upas imp 1 VALIDITY NEXT RECENT
 *	UID ID [KEYWORD...]		one line per message, UIDs ascending
 *
 * ID is the mailbox's id for the message (core/mbox.h), %XX-encoded where
 * it holds blanks or controls. RECENT is the highest UID some session took
 * as \Recent. The file is read and replaced (temporary file, fsync, rename)
 * under an flock on it; a locker finding the name moved to a new file
 * locks that one instead. A file that does not parse is replaced with a new
 * UIDVALIDITY past the old one, so clients forget what they cached.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "imap.h"
#include "mbox.h"

static int
cmpid(const void *a, const void *b)
{
	return strcmp(((const Impmsg *)a)->id, ((const Impmsg *)b)->id);
}

static int
cmpvuid(const void *a, const void *b)
{
	uint32_t x = (*(Impmsg *const *)a)->uid, y = (*(Impmsg *const *)b)->uid;

	return (x > y) - (x < y);
}

static void
freemsgs(Imp *p)
{
	int i;

	for (i = 0; i < p->n; i++) {
		free(p->m[i].id);
		free(p->m[i].kw);
	}
	p->n = 0;
}

/* %XX-decode s in place; -1 if malformed. */
static int
unesc(char *s)
{
	char *d = s;
	int hi, lo;

	for (; *s; s++) {
		if (*s != '%') {
			*d++ = *s;
			continue;
		}
		if ((hi = hexdigit(s[1])) < 0 || (lo = hexdigit(s[2])) < 0 || (hi == 0 && lo == 0))
			return -1;
		*d++ = hi << 4 | lo;
		s += 2;
	}
	*d = 0;
	return 0;
}

static void
esc(Str *out, const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == '%' || *s == 0x7f)
			str_fmt(out, "%%%02X", (unsigned char)*s);
		else
			str_addc(out, *s);
}

/* The file's text into p; -1 if it does not parse. */
static int
parse(Imp *p, char *text, size_t len)
{
	char *line, *next, *f[3], *e;
	unsigned long long v[3];
	uint32_t last = 0;
	int i;
	Impmsg *m;

	if (memchr(text, 0, len) != NULL || len == 0 || text[len - 1] != '\n')
		return -1;
	line = text;
	next = strchr(line, '\n');
	*next++ = 0;
	if (strncmp(line, "upas imp 1 ", 11) != 0)
		return -1;
	line += 11;
	for (i = 0; i < 3; i++) {
		v[i] = strtoull(line, &e, 10);
		if (e == line || v[i] > 0xffffffffu || (*e != (i == 2 ? 0 : ' ')))
			return -1;
		line = e + 1;
	}
	if (v[0] == 0 || v[1] == 0)
		return -1;
	p->validity = v[0], p->next = v[1], p->recent = v[2];
	for (i = 0, e = next; (e = strchr(e, '\n')) != NULL; e++)
		i++;
	if (i + 16 > p->cap) {
		p->cap = i + 16;
		p->m = xrealloc(p->m, p->cap * sizeof *p->m);
	}
	for (line = next; *line; line = next) {
		next = strchr(line, '\n');
		*next++ = 0;
		f[0] = strsep(&line, " ");
		f[1] = strsep(&line, " ");
		v[0] = strtoull(f[0], &e, 10);
		if (f[1] == NULL || *e != 0 || v[0] <= last || v[0] >= p->next || unesc(f[1]) < 0 || *f[1] == 0)
			return -1;
		last = v[0];
		if (p->n == p->cap) {
			p->cap = p->cap ? 2 * p->cap : 256;
			p->m = xrealloc(p->m, p->cap * sizeof *p->m);
		}
		m = &p->m[p->n++];
		m->uid = v[0];
		m->id = xstrdup(f[1]);
		m->kw = line != NULL && *line ? xstrdup(line) : NULL;
	}
	return 0;
}

/* Read the locked file unless it is the one read last. */
static int
load(Imp *p)
{
	struct stat st;
	size_t len;
	char *text;
	uint32_t old;

	if (fstat(p->fd, &st) < 0)
		return -1;
	if (p->loaded && st.st_ino == p->st.st_ino && st.st_dev == p->st.st_dev &&
	    st.st_size == p->st.st_size && st.st_mtim.tv_sec == p->st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == p->st.st_mtim.tv_nsec)
		return 0;
	old = p->validity;
	freemsgs(p);
	p->st = st;
	p->loaded = 1;
	p->dirty = 0;
	text = NULL;
	len = 0;
	if (st.st_size > 0 && st.st_size <= LIM_IMPFILE) {
		text = xmalloc(st.st_size + 1);
		len = pread(p->fd, text, st.st_size, 0) == st.st_size ? (size_t)st.st_size : 0;
		text[len] = 0;
	}
	if (len > 0 && parse(p, text, len) == 0) {
		p->saved = p->next;
		free(text);
		if (p->n > 1)
			qsort(p->m, p->n, sizeof *p->m, cmpid);
		return 0;
	}
	free(text);
	freemsgs(p);
	/* new or unusable: a UIDVALIDITY no client has seen here */
	p->validity = time(NULL);
	if (p->validity <= old)
		p->validity = old + 1;
	p->next = 1;
	p->saved = 1;
	p->recent = 0;
	p->dirty = 1;
	return 0;
}

int
imp_lock(Imp *p, const char *box, int kind)
{
	struct stat st;
	int tries;

	if (p->path[0] == 0) {
		if ((kind == MB_MBOX ? mb_sidepath(p->path, sizeof p->path, box, ".imp") :
		    (snprintf(p->path, sizeof p->path, "%s/.imp", box) < (int)sizeof p->path ? 0 : -1)) < 0) {
			seterr("%s: name too long", box);
			return -1;
		}
	}
	for (tries = 0; tries < 100; tries++) {
		p->fd = open(p->path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
		if (p->fd < 0) {
			seterr("%s:", p->path);
			return -1;
		}
		if (flock(p->fd, LOCK_EX) < 0) {
			seterr("%s: lock:", p->path);
			close(p->fd);
			return -1;
		}
		if (lstat(p->path, &st) == 0 && fstat(p->fd, &p->lst) == 0 &&
		    st.st_ino == p->lst.st_ino && st.st_dev == p->lst.st_dev) {
			if (!S_ISREG(st.st_mode)) {
				seterr("%s: not a file", p->path);
				break;
			}
			if (load(p) < 0) {
				seterr("%s:", p->path);
				break;
			}
			return 0;
		}
		close(p->fd);	/* replaced meanwhile: lock the new one */
	}
	close(p->fd);
	p->fd = -1;
	return -1;
}

/* Write and rename into place; the lock stays on the old file until unlock. */
static int
save(Imp *p)
{
	char tmp[LIM_PATHNAME + 8];
	struct stat st;
	Impmsg **v;
	Str s = { 0 };
	int fd, i, r = -1;

	v = xmalloc((p->n + 1) * sizeof *v);
	for (i = 0; i < p->n; i++)
		v[i] = &p->m[i];
	qsort(v, p->n, sizeof *v, cmpvuid);
	str_fmt(&s, "upas imp 1 %u %u %u\n", p->validity, p->next, p->recent);
	for (i = 0; i < p->n; i++) {
		str_fmt(&s, "%u ", v[i]->uid);
		esc(&s, v[i]->id);
		if (v[i]->kw != NULL)
			str_fmt(&s, " %s", v[i]->kw);
		str_addc(&s, '\n');
	}
	free(v);
	snprintf(tmp, sizeof tmp, "%s.tmp", p->path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600)) < 0) {
		seterr("%s:", tmp);
		goto out;
	}
	if (mb_writeall(fd, s.p, s.n) < 0 || fsync(fd) < 0 || fstat(fd, &st) < 0) {
		seterr("%s:", tmp);
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (rename(tmp, p->path) < 0) {
		seterr("%s:", p->path);
		unlink(tmp);
		goto out;
	}
	/* what we wrote is what we know: no reason to read it back (the file
	 * as written, not whatever the name holds by now) */
	p->st = st;
	p->loaded = 1;
	p->dirty = 0;
	p->saved = p->next;
	r = 0;
out:
	str_free(&s);
	return r;
}

int
imp_unlock(Imp *p)
{
	int r = 0;

	if (p->fd < 0)
		return 0;
	if (p->dirty)
		r = save(p);
	close(p->fd);
	p->fd = -1;
	return r;
}

Impmsg *
imp_find(Imp *p, const char *id)
{
	Impmsg key;

	key.id = (char *)id;
	return p->n ? bsearch(&key, p->m, p->n, sizeof *p->m, cmpid) : NULL;
}

/*
 * Match the mailbox's messages: uid[i] for message i, new UIDs for messages
 * not seen before (in mailbox order), entries of messages gone dropped.
 * Returns the first UID given out now (p->next when none was).
 */
uint32_t
imp_match(Imp *p, Mailbox *mb, uint32_t *uid)
{
	int n = mb_count(mb), i, j, keep;
	uint32_t first = p->next;
	char *used;
	Impmsg *f;

	used = xmalloc(p->n + 1);
	memset(used, 0, p->n + 1);
	for (i = 0; i < n; i++) {
		f = imp_find(p, mb_msg(mb, i)->id);
		if (f != NULL) {
			uid[i] = f->uid;
			used[f - p->m] = 1;
		} else
			uid[i] = 0;
	}
	for (i = j = 0, keep = 0; i < p->n; i++) {
		if (used[i]) {
			p->m[j++] = p->m[i];
			continue;
		}
		free(p->m[i].id);
		free(p->m[i].kw);
		p->dirty = 1;
	}
	p->n = j;
	free(used);
	for (i = 0; i < n; i++) {
		if (uid[i] != 0)
			continue;
		if (p->next == 0xffffffffu) {
			seterr("%s: out of UIDs", mb->path);
			return 0;
		}
		if (p->n == p->cap) {
			p->cap = p->cap ? 2 * p->cap : 256;
			p->m = xrealloc(p->m, p->cap * sizeof *p->m);
		}
		p->m[p->n].uid = uid[i] = p->next++;
		p->m[p->n].id = xstrdup(mb_msg(mb, i)->id);
		p->m[p->n++].kw = NULL;
		keep = 1;
	}
	if (keep) {
		qsort(p->m, p->n, sizeof *p->m, cmpid);
		p->dirty = 1;
	}
	return first;
}

void
imp_setkw(Imp *p, const char *id, const char *kw)
{
	Impmsg *f = imp_find(p, id);

	if (f == NULL)
		return;
	if (kw != NULL && *kw == 0)
		kw = NULL;
	if ((f->kw == NULL) == (kw == NULL) && (kw == NULL || strcmp(f->kw, kw) == 0))
		return;
	free(f->kw);
	f->kw = kw ? xstrdup(kw) : NULL;
	p->dirty = 1;
}

/* UIDs above the recent mark are this session's \Recent; the mark moves past them. */
uint32_t
imp_claimrecent(Imp *p)
{
	uint32_t r = p->recent;

	if (p->recent != p->next - 1) {
		p->recent = p->next - 1;
		p->dirty = 1;
	}
	return r;
}

void
imp_close(Imp *p)
{
	imp_unlock(p);
	freemsgs(p);
	free(p->m);
	memset(p, 0, sizeof *p);
	p->fd = -1;
}
