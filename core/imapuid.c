/*
 * UIDs, keywords and \Recent of one mailbox: the .imp file beside an mbox
 * (".NAME.imp") or inside a directory (".imp"), the one file imap4d
 * sessions share. Text:
 *
 *	upas imp 2 VALIDITY NEXT RECENT HIGHESTMODSEQ
 *	UID MODSEQ FLAGS ID [KEYWORD...]	one line per message, UIDs ascending
 *
 * ID is the mailbox's id for the message (core/mbox.h), %XX-encoded where
 * it holds blanks, controls or '%'. RECENT is the highest UID some session
 * took as \Recent. FLAGS are the message's system flags (MF_ bits) as last
 * seen: a match finding others in the mailbox (any program may set them)
 * gives the message a new MODSEQ (RFC 7162), as do new messages, keywords
 * set, and expunges (HIGHESTMODSEQ only). Version 1 files (no MODSEQ, no
 * FLAGS) are read and written anew as version 2. The file is the record: it is read as a stream, line by
 * line, against the mailbox (never held in memory whole), and replaced
 * (temporary file, fsync, rename) under an flock on it; a locker finding the
 * name moved to a new file locks that one instead. A file that does not
 * parse is replaced with a new UIDVALIDITY past the old one, so clients
 * forget what they cached.
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

static void
forget(Imp *p)
{
	int i;

	kw_free(&p->kw);
	free(p->uid);
	free(p->mod);
	free(p->rflags);
	p->uid = NULL;
	p->mod = NULL;
	p->rflags = NULL;
	p->n = 0;
	p->mb = NULL;
	for (i = 0; i < p->nset; i++) {
		free(p->set[i].id);
		free(p->set[i].kw);
	}
	free(p->set);
	p->set = NULL;
	p->nset = 0;
}

int
imp_lock(Imp *p, const char *box, int kind)
{
	struct stat st, lst;
	int tries;

	if (p->path[0] == 0 && (kind == MB_MBOX ? mb_sidepath(p->path, sizeof p->path, box, ".imp") :
	    (snprintf(p->path, sizeof p->path, "%s/.imp", box) < (int)sizeof p->path ? 0 : -1)) < 0) {
		p->path[0] = 0;
		seterr("%s: name too long", box);
		return -1;
	}
	forget(p);
	p->dirty = 0;
	for (tries = 0; tries < 100; tries++) {
		p->fd = open(p->path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
		if (p->fd < 0) {
			seterr("%s:", p->path);
			return -1;
		}
		if (flock(p->fd, LOCK_EX) < 0) {
			seterr("%s: lock:", p->path);
			break;
		}
		if (lstat(p->path, &st) == 0 && fstat(p->fd, &lst) == 0 &&
		    st.st_ino == lst.st_ino && st.st_dev == lst.st_dev) {
			if (!S_ISREG(st.st_mode) || st.st_size > LIM_IMPFILE) {
				seterr("%s: not a file, or too large", p->path);
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

/*
 * The locked file, a line at a time: fn(arg, line) for each message line;
 * the header into p. 0, or -1 if the file does not parse (fn may say so too).
 */
static int
each(Imp *p, int (*fn)(Imp *p, char *line, void *arg), void *arg)
{
	char *buf, *line, *nl, *e;
	unsigned long long v[4];
	size_t have = 0;
	ssize_t got;
	off_t off = 0;
	int hdr = 1, i, r = -1;

	buf = xmalloc(LIM_IDXBUF + 1);
	for (;;) {
		got = have < LIM_IDXBUF ? pread(p->fd, buf + have, LIM_IDXBUF - have, off) : 0;
		if (got < 0)
			goto out;
		off += got;
		have += got;
		for (line = buf; (nl = memchr(line, '\n', buf + have - line)) != NULL; line = nl + 1) {
			*nl = 0;
			if (memchr(line, 0, nl - line) != NULL || nl - line >= LIM_IDXLINE)
				goto out;
			if (!hdr) {
				if (fn(p, line, arg) < 0)
					goto out;
				continue;
			}
			if (strncmp(line, "upas imp ", 9) != 0 || (line[9] != '1' && line[9] != '2') || line[10] != ' ')
				goto out;
			p->version = line[9] - '0';
			line += 11;
			v[3] = 1;
			for (i = 0; i < p->version + 2; i++) {
				v[i] = strtoull(line, &e, 10);
				if (e == line || (i < 3 && v[i] > 0xffffffffu) || v[i] > (1ULL << 62) ||
				    *e != (i == p->version + 1 ? 0 : ' '))
					goto out;
				line = e + 1;
			}
			if (v[0] == 0 || v[1] == 0 || v[3] == 0)
				goto out;
			p->validity = v[0], p->next = v[1], p->recent = v[2], p->highest = v[3];
			hdr = 0;
		}
		have -= line - buf;
		memmove(buf, line, have);
		if (got == 0)
			break;
	}
	r = hdr || have != 0 ? -1 : 0;
out:
	free(buf);
	return r;
}

/* Matching: the mailbox's messages by id, and the UIDs seen so far. */
typedef struct Match {
	int *byid;
	uint32_t last;
	int dropped;
} Match;

static Mailbox *sortmb;

static int
cmpid(const void *a, const void *b)
{
	char x[MB_IDLEN], y[MB_IDLEN];

	return strcmp(mb_id(sortmb, *(const int *)a, x), mb_id(sortmb, *(const int *)b, y));
}

/* MODSEQs as 32 bits above modbase; one below it reads as modbase, which
 * at worst makes a client fetch flags that did not change. */
static void
setmod(Imp *p, int i, uint64_t mod)
{
	p->mod[i] = mod < p->modbase ? 0 : mod - p->modbase > UINT32_MAX ? UINT32_MAX : mod - p->modbase;
}

static int
cmpkw(const void *a, const void *b)
{
	uint32_t x = ((const Kwent *)a)->key, y = ((const Kwent *)b)->key;

	return (x > y) - (x < y);
}

static Kwent *
findkw(Kwmap *k, uint32_t key)
{
	int lo = 0, hi = k->sorted, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (k->v[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < k->sorted && k->v[lo].key == key)
		return &k->v[lo];
	for (lo = k->sorted; lo < k->n; lo++)
		if (k->v[lo].key == key)
			return &k->v[lo];
	return NULL;
}

const char *
kw_get(Kwmap *k, uint32_t key)
{
	Kwent *e = findkw(k, key);

	return e ? e->kw : NULL;
}

/* New keys join the sorted part at once when they come in order (a
 * STORE over a range, a file read), else the tail, merged in at 32. */
void
kw_set(Kwmap *k, uint32_t key, const char *kw)
{
	Kwent *e, *t;
	int i, j, n;

	if (kw != NULL && *kw == 0)
		kw = NULL;
	if ((e = findkw(k, key)) != NULL) {
		free(e->kw);
		e->kw = kw ? xstrdup(kw) : NULL;
		return;
	}
	if (kw == NULL)
		return;
	if (k->n == k->a) {
		k->a = k->a ? k->a * 2 : 16;
		k->v = xrealloc(k->v, k->a * sizeof *k->v);
	}
	k->v[k->n].key = key;
	k->v[k->n++].kw = xstrdup(kw);
	if (k->sorted == k->n - 1 && (k->sorted == 0 || k->v[k->sorted - 1].key < key)) {
		k->sorted++;
		return;
	}
	if (k->n - k->sorted < 32)
		return;
	/* the tail sorted, merged in from the end; the emptied dropped */
	n = k->n - k->sorted;
	t = xmalloc(n * sizeof *t);
	memcpy(t, k->v + k->sorted, n * sizeof *t);
	qsort(t, n, sizeof *t, cmpkw);
	i = k->sorted - 1;
	j = k->n;
	while (n > 0) {
		if (i >= 0 && k->v[i].key > t[n - 1].key)
			k->v[--j] = k->v[i--];
		else
			k->v[--j] = t[--n];
	}
	free(t);
	for (i = j = 0; i < k->n; i++)
		if (k->v[i].kw != NULL)
			k->v[j++] = k->v[i];
	k->n = k->sorted = j;
}

void
kw_free(Kwmap *k)
{
	int i;

	for (i = 0; i < k->n; i++)
		free(k->v[i].kw);
	free(k->v);
	memset(k, 0, sizeof *k);
}

static int
matchline(Imp *p, char *line, void *arg)
{
	Match *mt = arg;
	char *f, *id, *e, *ms = NULL, *fl = NULL, b[MB_IDLEN];
	unsigned long long u, mod = 1, flags = 0xff;
	int lo, hi, mid, c;

	f = strsep(&line, " ");
	if (p->version == 2) {
		ms = strsep(&line, " ");
		fl = strsep(&line, " ");
	}
	id = strsep(&line, " ");
	u = strtoull(f, &e, 10);
	if (id == NULL || *e != 0 || u <= mt->last || u >= p->next || unesc(id) < 0 || *id == 0)
		return -1;
	if (ms != NULL && ((mod = strtoull(ms, &e, 10)) == 0 || *e != 0 || mod > p->highest ||
	    (flags = strtoull(fl, &e, 10)) > MF_ALL || *e != 0 || *fl == 0))
		return -1;
	mt->last = u;
	for (lo = 0, hi = p->n; lo < hi;) {
		mid = lo + (hi - lo) / 2;
		if ((c = strcmp(mb_id(p->mb, mt->byid[mid], b), id)) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == p->n || strcmp(mb_id(p->mb, mt->byid[lo], b), id) != 0) {
		mt->dropped = 1;	/* gone from the mailbox */
		return 0;
	}
	lo = mt->byid[lo];
	p->uid[lo] = u;
	if (p->modbase == 0 && p->highest > 0x7fffffff)
		p->modbase = p->highest - 0x7fffffff;	/* room for 2^31 changes more */
	setmod(p, lo, mod);
	p->rflags[lo] = flags;
	if (line != NULL && *line)
		kw_set(&p->kw, lo, line);
	return 0;
}

static uint32_t *sortuid;

static int
cmpuid(const void *a, const void *b)
{
	uint32_t x = sortuid[*(const int *)a], y = sortuid[*(const int *)b];

	return (x > y) - (x < y);
}

static int
cmpset0(const void *a, const void *b)
{
	return strcmp(((const Impset *)a)->id, ((const Impset *)b)->id);
}

static int
cmpset(const void *a, const void *b)
{
	const Impset *x = a, *y = b;
	int c = strcmp(x->id, y->id);

	return c != 0 ? c : (x->mod > y->mod) - (x->mod < y->mod);
}

/* What the caller set for id since the match, or NULL: the set sorted (once) by id, the last setting kept. */
static Impset *
setof(Imp *p, const char *id)
{
	Impset key;
	int i, j;

	if (!p->setsorted) {
		if (p->nset > 1)
			qsort(p->set, p->nset, sizeof *p->set, cmpset);
		for (i = j = 0; i < p->nset; i++) {
			if (i + 1 < p->nset && strcmp(p->set[i].id, p->set[i + 1].id) == 0) {
				free(p->set[i].id);
				free(p->set[i].kw);
				continue;
			}
			p->set[j++] = p->set[i];
		}
		p->nset = j;
		p->setsorted = 1;
	}
	key.id = (char *)id;
	return p->nset > 0 ? bsearch(&key, p->set, p->nset, sizeof *p->set, cmpset0) : NULL;
}

/*
 * Write the file anew from the matched mailbox, UIDs ascending, and rename
 * it into place locked: the lock moves to the new file with the name, so
 * the caller keeps it (lockers of the old file find it replaced).
 */
static int
save(Imp *p)
{
	char tmp[LIM_PATHNAME + 8], b[MB_IDLEN];
	const char *kw;
	Str s = { 0 };
	int fd, i, *v, r = -1;

	v = xmalloc((p->n + 1) * sizeof *v);
	for (i = 0; i < p->n; i++)
		v[i] = i;
	sortuid = p->uid;
	if (p->n > 1)
		qsort(v, p->n, sizeof *v, cmpuid);
	snprintf(tmp, sizeof tmp, "%s.tmp", p->path);
	if ((fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600)) < 0 ||
	    flock(fd, LOCK_EX) < 0) {
		seterr("%s:", tmp);
		if (fd >= 0)
			close(fd);
		free(v);
		return -1;
	}
	str_fmt(&s, "upas imp 2 %u %u %u %llu\n", p->validity, p->next, p->recent, (unsigned long long)p->highest);
	for (i = 0; i <= p->n; i++) {
		if (i == p->n || s.n > LIM_IDXBUF) {
			if (mb_writeall(fd, s.p, s.n) < 0)
				goto fail;
			str_reset(&s);
		}
		if (i == p->n)
			break;
		str_fmt(&s, "%u %llu %d ", p->uid[v[i]], (unsigned long long)p->mod[v[i]], p->rflags[v[i]]);
		esc(&s, mb_id(p->mb, v[i], b));
		kw = imp_kw(p, v[i]);
		if (kw != NULL && *kw)
			str_fmt(&s, " %s", kw);
		str_addc(&s, '\n');
	}
	if (fsync(fd) < 0 || rename(tmp, p->path) < 0)
		goto fail;
	close(p->fd);
	p->fd = fd;
	p->saved = p->next;
	p->dirty = 0;
	r = 0;
	goto out;
fail:
	seterr("%s:", tmp);
	if (fd >= 0)
		close(fd);
	unlink(tmp);
out:
	str_free(&s);
	free(v);
	return r;
}

static int rewrite(Imp *p);

uint32_t
imp_match(Imp *p, Mailbox *mb)
{
	Match mt;
	uint32_t old = p->validity, first;
	uint64_t high;
	int i, n = mb_count(mb), cur, changed = 0;

	/* what was set since an earlier match goes to the file first */
	if (p->dirty && p->validity != 0 && p->fd >= 0 && rewrite(p) < 0)
		return 0;
	forget(p);
	p->mb = mb;
	p->n = n;
	p->uid = xmalloc((n + 1) * sizeof *p->uid);
	p->mod = xmalloc((n + 1) * sizeof *p->mod);
	p->modbase = 0;
	p->rflags = xmalloc(n + 1);
	memset(p->uid, 0, (n + 1) * sizeof *p->uid);
	memset(&mt, 0, sizeof mt);
	mt.byid = xmalloc((n + 1) * sizeof *mt.byid);
	for (i = 0; i < n; i++)
		mt.byid[i] = i;
	sortmb = mb;
	if (n > 1)
		qsort(mt.byid, n, sizeof *mt.byid, cmpid);
	p->validity = 0;
	if (each(p, matchline, &mt) < 0) {
		/* new or unusable: a UIDVALIDITY no client has seen here */
		kw_free(&p->kw);
		for (i = 0; i < n; i++)
			p->uid[i] = 0;
		p->modbase = 0;
		p->validity = time(NULL);
		if (p->validity <= old)
			p->validity = old + 1;
		p->next = 1;
		p->recent = 0;
		p->highest = 1;
		p->version = 2;
		p->dirty = 1;
	}
	free(mt.byid);
	p->saved = p->next;
	first = p->next;
	high = p->highest;
	if (mt.dropped)
		p->highest++;	/* an expunge is a change too */
	for (i = 0; i < n; i++) {
		cur = mb_msg(mb, i)->flags & (MF_ALL & ~MF_OLD);
		if (p->uid[i] != 0) {
			if (p->rflags[i] != cur) {
				/* flags others set (0xff: a version 1 line, taken as it is) */
				if (p->rflags[i] != 0xff)
					setmod(p, i, ++p->highest);
				p->rflags[i] = cur;
				changed = 1;
			}
			continue;
		}
		if (p->next == 0xffffffffu) {
			seterr("%s: out of UIDs", mb->path);
			return 0;
		}
		p->uid[i] = p->next++;
		setmod(p, i, ++p->highest);
		p->rflags[i] = cur;
	}
	if (p->claim) {
		/* the caller's \\Recent, taken before the file is written */
		p->claimed = p->recent;
		if (p->recent != p->next - 1) {
			p->recent = p->next - 1;
			p->dirty = 1;
		}
		p->claim = 0;
	}
	/* what changed goes to the file at once: later syncs may renumber the mailbox */
	if ((p->dirty || changed || mt.dropped || p->next != first || p->highest != high || p->version != 2) &&
	    save(p) < 0)
		return p->next == first ? first : 0;
	return first;
}

void
imp_setkw(Imp *p, int i, const char *kw)
{
	const char *old;
	char b[MB_IDLEN];

	if (i < 0 || i >= p->n)
		return;
	if (kw != NULL && *kw == 0)
		kw = NULL;
	old = imp_kw(p, i);
	if ((kw == NULL) == (old == NULL) && (kw == NULL || strcmp(kw, old) == 0))
		return;
	kw_set(&p->kw, i, kw);
	setmod(p, i, ++p->highest);
	/* by id too: the rewrite at unlock finds the line by it */
	p->set = xrealloc(p->set, (p->nset + 1) * sizeof *p->set);
	p->set[p->nset].id = xstrdup(mb_id(p->mb, i, b));
	p->set[p->nset].kw = kw ? xstrdup(kw) : NULL;
	p->set[p->nset++].mod = p->highest;
	p->setsorted = 0;
	p->dirty = 1;
}

const char *
imp_kw(Imp *p, int i)
{
	return i >= 0 && i < p->n ? kw_get(&p->kw, i) : NULL;
}

uint64_t
imp_modseq(Imp *p, int i)
{
	return i >= 0 && i < p->n ? p->modbase + p->mod[i] : 0;
}

/*
 * Keywords and the recent mark set since the match: the file rewritten
 * with them, line by line as it stands (the mailbox may have changed under
 * the caller since the match: the file is the record), in pieces.
 */
typedef struct Copy {
	Str s;
	int fd, bad;
} Copy;

static int
copyline(Imp *p, char *line, void *arg)
{
	Copy *c = arg;
	char *f[3], *id, *kw, *rest = line;
	Impset *e;
	size_t n;
	int i;

	if (p->nset == 0) {
		/* nothing set: the line as it is */
		str_adds(&c->s, line);
		str_addc(&c->s, '\n');
		goto out;
	}
	for (i = 0; i < 3; i++)
		if ((f[i] = strsep(&rest, " ")) == NULL || rest == NULL)
			return -1;
	n = strcspn(rest, " ");
	kw = rest[n] ? rest + n + 1 : NULL;
	id = xstrndup(rest, n);
	if (unesc(id) < 0) {
		free(id);
		return -1;
	}
	e = setof(p, id);
	free(id);
	if (e != NULL)
		str_fmt(&c->s, "%s %llu %s %.*s", f[0], (unsigned long long)e->mod, f[2], (int)n, rest);
	else
		str_fmt(&c->s, "%s %s %s %.*s", f[0], f[1], f[2], (int)n, rest);
	kw = e != NULL ? e->kw : kw;
	if (kw != NULL && *kw)
		str_fmt(&c->s, " %s", kw);
	str_addc(&c->s, '\n');
out:
	if (c->s.n > LIM_IDXBUF) {
		c->bad |= mb_writeall(c->fd, c->s.p, c->s.n) < 0;
		str_reset(&c->s);
	}
	return 0;
}

/* Write the file anew, as it stands but for what was set; the lock moves to it (see save). */
static int
rewrite(Imp *p)
{
	char tmp[LIM_PATHNAME + 8];
	uint32_t v = p->validity, n = p->next, r = p->recent;
	uint64_t h = p->highest;
	Copy c;

	memset(&c, 0, sizeof c);
	snprintf(tmp, sizeof tmp, "%s.tmp", p->path);
	if ((c.fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600)) < 0 ||
	    flock(c.fd, LOCK_EX) < 0) {
		seterr("%s:", tmp);
		if (c.fd >= 0)
			close(c.fd);
		return -1;
	}
	str_fmt(&c.s, "upas imp 2 %u %u %u %llu\n", v, n, r, (unsigned long long)h);
	if (each(p, copyline, &c) < 0 || p->validity != v || p->next != n || p->version != 2) {
		seterr("%s: changed under its lock", p->path);
		c.bad = 2;
	}
	p->validity = v, p->next = n, p->recent = r, p->highest = h;
	if (!c.bad && (mb_writeall(c.fd, c.s.p, c.s.n) < 0 || fsync(c.fd) < 0))
		c.bad = 1;
	str_free(&c.s);
	if (c.bad || rename(tmp, p->path) < 0) {
		if (c.bad != 2)
			seterr("%s:", tmp);
		close(c.fd);
		unlink(tmp);
		return -1;
	}
	close(p->fd);
	p->fd = c.fd;
	p->dirty = 0;
	return 0;
}

int
imp_unlock(Imp *p)
{
	int r = 0;

	if (p->fd < 0)
		return 0;
	if (p->dirty && p->n >= 0 && p->validity != 0)
		r = rewrite(p);
	close(p->fd);
	p->fd = -1;
	forget(p);
	return r;
}

void
imp_close(Imp *p)
{
	imp_unlock(p);
	memset(p, 0, sizeof *p);
	p->fd = -1;
}
