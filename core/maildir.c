/*
 * Maildir (cr.yp.to/proto/maildir.html): a message is written under a
 * unique name in tmp/, fsync'ed, linked into new/, and new/ fsync'ed; no
 * reader ever sees a part of one. Readers move it to cur/ with ":2,"
 * and the flag letters, sorted: D draft, F flagged, R replied, S seen,
 * T trashed (deleted); other letters are kept as found.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include "mbox.h"

const char *maildir_tag;
time_t maildir_when;

/* "secs.MusecPpidQcountRrandom[tag].host", host with '/' and ':' escaped. */
static void
uniqname(char *buf, size_t n)
{
	static unsigned count;
	char host[64], h[256], *o = h;
	struct timeval tv;
	unsigned r = 0;
	size_t i;

	gettimeofday(&tv, NULL);
	if (getrandom(&r, sizeof r, GRND_NONBLOCK) != sizeof r)
		r ^= (unsigned)tv.tv_usec * 2654435761u ^ (unsigned)getpid();
	if (gethostname(host, sizeof host) < 0 || host[0] == 0)
		snprintf(host, sizeof host, "localhost");
	host[sizeof host - 1] = 0;
	for (i = 0; host[i] && o < h + sizeof h - 5; i++) {
		if (host[i] == '/' || host[i] == ':' || (unsigned char)host[i] <= ' ')
			o += sprintf(o, "\\%03o", (unsigned char)host[i]);
		else
			*o++ = host[i];
	}
	*o = 0;
	snprintf(buf, n, "%lld.M%06ldP%ldQ%uR%08x%s.%s", (long long)(maildir_when > 0 ? maildir_when : tv.tv_sec),
	    (long)tv.tv_usec,
	    (long)getpid(), ++count, r, maildir_tag ? maildir_tag : "", h);
}

int
maildir_append(const char *path, const char *msg, size_t n)
{
	char name[512];
	int dfd, tfd = -1, nfd = -1, fd = -1, tries;
	Str s = { 0 };

	if ((dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    (tfd = openat(dfd, "tmp", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    (nfd = openat(dfd, "new", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		seterr("%s:", path);
		goto fail;
	}
	mb_quote(&s, msg, n, 0);
	for (tries = 0; fd < 0 && tries < 8; tries++) {
		uniqname(name, sizeof name);
		if ((fd = openat(tfd, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0 &&
		    errno != EEXIST)
			break;
	}
	if (fd < 0) {
		seterr("%s/tmp/%s:", path, name);
		goto fail;
	}
	if (mb_writeall(fd, s.p, s.n) < 0 || fsync(fd) < 0) {
		seterr("%s/tmp/%s:", path, name);
		close(fd);
		unlinkat(tfd, name, 0);
		goto fail;
	}
	close(fd);
	if (linkat(tfd, name, nfd, name, 0) < 0) {
		seterr("%s/new/%s:", path, name);
		unlinkat(tfd, name, 0);
		goto fail;
	}
	unlinkat(tfd, name, 0);
	if (fsync(nfd) < 0) {
		seterr("%s/new:", path);
		unlinkat(nfd, name, 0);
		goto fail;
	}
	snprintf(mb_appended, sizeof mb_appended, "%s", name);
	close(nfd);
	close(tfd);
	close(dfd);
	str_free(&s);
	return 0;
fail:
	tries = errno;
	if (nfd >= 0)
		close(nfd);
	if (tfd >= 0)
		close(tfd);
	if (dfd >= 0)
		close(dfd);
	str_free(&s);
	errno = tries;
	return -1;
}

static int
nameflags(const char *name)
{
	const char *p = strstr(name, ":2,");
	int f = 0;

	if (p == NULL)
		return 0;
	for (p += 3; *p; p++) {
		switch (*p) {
		case 'D': f |= MF_DRAFT; break;
		case 'F': f |= MF_FLAGGED; break;
		case 'R': f |= MF_ANSWERED; break;
		case 'S': f |= MF_SEEN; break;
		case 'T': f |= MF_DELETED; break;
		}
	}
	return f;
}

/* cur/base:2,letters for flags, keeping letters of others (P, keywords). */
static void
flagname(char *buf, size_t n, const char *file, int flags)
{
	const char *b = strchr(file, '/'), *info;
	char let[64];
	int nl = 0, i, j;

	b = b ? b + 1 : file;
	if ((info = strstr(b, ":2,")) != NULL)
		for (i = 3; info[i] && nl < (int)sizeof let - 8; i++)
			if (!strchr("DFRST", info[i]) && !memchr(let, info[i], nl))
				let[nl++] = info[i];
	if (flags & MF_DRAFT)
		let[nl++] = 'D';
	if (flags & MF_FLAGGED)
		let[nl++] = 'F';
	if (flags & MF_ANSWERED)
		let[nl++] = 'R';
	if (flags & MF_SEEN)
		let[nl++] = 'S';
	if (flags & MF_DELETED)
		let[nl++] = 'T';
	for (i = 1; i < nl; i++)
		for (j = i; j > 0 && let[j - 1] > let[j]; j--) {
			char c = let[j];
			let[j] = let[j - 1];
			let[j - 1] = c;
		}
	snprintf(buf, n, "cur/%.*s:2,%.*s", (int)strcspn(b, ":"), b, nl, let);
}

/* The envelope sender a delivery agent recorded in Return-Path:. */
static char *
returnpath(int dfd, const char *file)
{
	char buf[8192], *p, *e, *lt;
	ssize_t n;
	int fd;

	if ((fd = openat(dfd, file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0)
		return xstrdup("");
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return xstrdup("");
	buf[n] = 0;
	for (p = buf; p && *p && *p != '\n' && !(*p == '\r' && p[1] == '\n'); p = (e = strchr(p, '\n')) ? e + 1 : NULL) {
		if (strncasecmp(p, "Return-Path:", 12) != 0)
			continue;
		p += 12;
		e = p + strcspn(p, "\r\n");
		if ((lt = memchr(p, '<', e - p)) != NULL) {
			p = lt + 1;
			e = memchr(p, '>', e - p) ? memchr(p, '>', e - p) : e;
		}
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		return xstrndup(p, e - p);
	}
	return xstrdup("");
}

/* The id for the file "new/name" or "cur/name:2,FS": the name, the info
 * after it (mb_file); the directory is MF_OLD in the dflags. */
static char *
fileid(const char *file)
{
	return mb_newid(file + 4, strcspn(file + 4, ":"), file + 4 + strcspn(file + 4, ":"));
}

static int
cmpid(const void *a, const void *b)
{
	return strcmp((*(Mmsg *const *)a)->id, (*(Mmsg *const *)b)->id);
}

static int
cmparrival(const void *a, const void *b)
{
	const Mmsg *x = a, *y = b;

	if (x->date != y->date)
		return x->date < y->date ? -1 : 1;
	return strcmp(x->id, y->id);
}

static Mailbox *sortbox;

static int
cmpat(const void *a, const void *b)
{
	return cmparrival(&sortbox->msg[*(const int *)a], &sortbox->msg[*(const int *)b]);
}

/*
 * The messages in order of arrival: their indexes sorted, then each moved
 * once along its cycle (a qsort of the messages themselves would move 48
 * octets at every swap).
 */
static void
sortarrival(Mailbox *mb)
{
	int *v, i, j, k, n = mb->nmsg;
	Mmsg t;

	for (i = 1; i < n && cmparrival(&mb->msg[i - 1], &mb->msg[i]) <= 0; i++)
		;
	if (i >= n)
		return;
	v = xmalloc(n * sizeof *v);
	for (i = 0; i < n; i++)
		v[i] = i;
	sortbox = mb;
	qsort(v, n, sizeof *v, cmpat);
	/* v[i]: the message that belongs at i */
	for (i = 0; i < n; i++) {
		if (v[i] == i)
			continue;
		t = mb->msg[i];
		for (j = i; v[j] != i; j = k) {
			k = v[j];
			mb->msg[j] = mb->msg[k];
			v[j] = j;
		}
		mb->msg[j] = t;
		v[j] = j;
	}
	free(v);
}

/* An expunged message mb_sync moved to tmp/ for mb_purge: "name.expunged". */
static int
expunged(const char *name)
{
	size_t n = strlen(name);

	return n > 9 && strcmp(name + n - 9, ".expunged") == 0;
}

/* Litter of deliveries that died, after LIM_MAILDIR_TMPAGE, and expunged messages left unpurged. */
static void
sweeptmp(Mailbox *mb)
{
	struct dirent *d;
	struct stat st;
	DIR *dir;
	int fd;

	if ((fd = openat(mb->fd, "tmp", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return;
	if ((dir = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((d = readdir(dir)) != NULL)
		if (d->d_name[0] != '.' && fstatat(fd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode) && (time(NULL) - st.st_atime > LIM_MAILDIR_TMPAGE || expunged(d->d_name)))
			unlinkat(fd, d->d_name, 0);
	closedir(dir);
}

/*
 * The times new/ and cur/ last changed, in ns, as one stamp each (kept in
 * the Mailbox's size and mtime, and so in the index): 0 for a time less than
 * two seconds old, which a change in the same clock tick could still share.
 */
static int rescan(Mailbox *mb);

/* The size a Maildir name may carry (",S=1234" before the info), else 0. */
static off_t
namesize(const char *name)
{
	const char *s;
	size_t n = strcspn(name, ":");

	for (s = name; (s = strstr(s, ",S=")) != NULL && (size_t)(s - name) < n; s += 3)
		if (s[3] >= '0' && s[3] <= '9')
			return atoll(s + 3);
	return 0;
}

static int
stamps(Mailbox *mb, int64_t *nw, int64_t *cur)
{
	struct stat sn, sc;
	int64_t now = (int64_t)time(NULL) * 1000000000;

	if (fstatat(mb->fd, "new", &sn, AT_SYMLINK_NOFOLLOW) < 0 || fstatat(mb->fd, "cur", &sc, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	*nw = (int64_t)sn.st_mtim.tv_sec * 1000000000 + sn.st_mtim.tv_nsec;
	*cur = (int64_t)sc.st_mtim.tv_sec * 1000000000 + sc.st_mtim.tv_nsec;
	if (now - *nw < 2000000000LL || now - *cur < 2000000000LL)
		*nw = *cur = 0;
	return 0;
}

/* new/ and cur/: names the index or an earlier scan knows keep what was
 * learnt (size, sender); only new names are stat'ed and read. Neither
 * directory changed since the scan the stamps come from: nothing to read. */
int
maildir_scan(Mailbox *mb)
{
	int64_t nw = 0, cur = 0;

	if (stamps(mb, &nw, &cur) == 0 && nw != 0 && (uint64_t)nw == mb->size && cur == mb->mtime)
		return 0;
	if (rescan(mb) < 0)
		return -1;
	if (mb->size != (uint64_t)nw || mb->mtime != cur) {
		mb->size = nw;
		mb->mtime = cur;
		mb->dirty = 1;
	}
	return 0;
}

static int
rescan(Mailbox *mb)
{
	static const char *subs[] = { "new", "cur" };
	char file[600], name[512], had[600];
	Mmsg **old, key, *kp = &key, **hit, *m;
	struct dirent *d;
	struct stat st;
	Mailbox t;
	size_t k;
	DIR *dir;
	char *used;
	int i, j, fd;

	/*
	 * Messages known from the index or the last scan are updated where
	 * they are; only new ones are made, in t: no second array of them all.
	 */
	used = xmalloc(mb->nmsg + 1);
	memset(used, 0, mb->nmsg + 1);
	old = xmalloc((mb->nmsg + 1) * sizeof *old);
	for (i = 0; i < mb->nmsg; i++)
		old[i] = &mb->msg[i];
	if (mb->nmsg > 1)
		qsort(old, mb->nmsg, sizeof *old, cmpid);
	memset(&t, 0, sizeof t);
	key.id = name;
	for (k = 0; k < nelem(subs); k++) {
		if ((fd = openat(mb->fd, subs[k], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
		    (dir = fdopendir(fd)) == NULL) {
			seterr("%s/%s:", mb->path, subs[k]);
			if (fd >= 0)
				close(fd);
			mb_freemsgs(mb, 0);
			mb_freemsgs(&t, 0);
			free(t.msg);
			free(old);
			free(used);
			return -1;
		}
		while ((d = readdir(dir)) != NULL) {
			if (d->d_name[0] == '.' || snprintf(file, sizeof file, "%s/%s", subs[k], d->d_name) >= (int)sizeof file)
				continue;
			snprintf(name, sizeof name, "%.*s", (int)strcspn(d->d_name, ":"), d->d_name);
			hit = mb->nmsg > 0 ? bsearch(&kp, old, mb->nmsg, sizeof *old, cmpid) : NULL;
			if (hit && !used[hit - old]) {
				used[hit - old] = 1;
				m = *hit;
				if (strcmp(mb_file(mb, m, had, sizeof had), file) != 0) {
					mb_freeid(m->id);
					m->id = fileid(file);
					mb->dirty = 1;
				}
			} else if ((d->d_type == DT_REG && atoll(d->d_name) > 0 && (st.st_size = namesize(d->d_name)) >= 0) ||
			    (fstatat(mb->fd, file, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))) {
				/* a regular file named by its time needs no stat: the size
				 * comes from ",S=" or when it is read */
				m = mb_add(&t);
				m->id = fileid(file);
				m->size = mb_u32(st.st_size);
				m->date = mb_u32(atoll(d->d_name) > 0 ? atoll(d->d_name) : st.st_mtime);
				mb->dirty = 1;
			} else
				continue;
			/* stored has no letter: a known message keeps it from the index */
			m->dflags = nameflags(d->d_name) | (k == 1 ? MF_OLD : 0) | (hit ? m->dflags & MF_STORED : 0);
			m->flags = m->dflags;
		}
		closedir(dir);
	}
	/* the known that are gone go, the new join, all in order of arrival */
	for (i = j = 0; i < mb->nmsg; i++) {
		if (!used[i]) {
			mb_freemsg(old[i]);	/* id NULL: marked gone */
			mb->dirty = 1;
		}
	}
	for (i = j = 0; i < mb->nmsg; i++)
		if (mb->msg[i].id != NULL)
			mb->msg[j++] = mb->msg[i];
	mb->nmsg = j;
	if (mb->nmsg == 0) {
		/* all new (the first scan): t's array is the mailbox's */
		free(mb->msg);
		mb->msg = t.msg;
		mb->nmsg = t.nmsg;
		mb->amsg = t.amsg;
	} else {
		if (t.nmsg > 0) {
			mb_reserve(mb, mb->nmsg + t.nmsg);
			memcpy(mb->msg + mb->nmsg, t.msg, t.nmsg * sizeof *t.msg);
			mb->nmsg += t.nmsg;
		}
		free(t.msg);
	}
	free(old);
	free(used);
	sortarrival(mb);
	mb_trim(mb);
	if (mb->mode == MB_RDWR)
		sweeptmp(mb);
	return 0;
}

/* The message, followed if another reader renamed it (new flags). */
static int
locate(Mailbox *mb, Mmsg *m)
{
	size_t n = strlen(m->id);
	struct dirent *d;
	DIR *dir;
	int fd, found = 0, now;

	if ((fd = openat(mb->fd, "cur", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -1;
	if ((dir = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while (!found && (d = readdir(dir)) != NULL)
		if (strncmp(d->d_name, m->id, n) == 0 && d->d_name[n] == ':') {
			/* its flags as the other left them, with this one's changes */
			mb_freeid(m->id);
			m->id = mb_newid(d->d_name, n, d->d_name + n);
			now = nameflags(d->d_name) | MF_OLD | (m->dflags & MF_STORED);	/* in cur/ */
			m->flags = mb_over(m->flags, m->dflags, now);
			m->dflags = now;
			found = 1;
		}
	closedir(dir);
	return found ? 0 : -1;
}

char *
maildir_sender(Mailbox *mb, Mmsg *m)
{
	char file[600];

	return returnpath(mb->fd, mb_file(mb, m, file, sizeof file));
}

int
maildir_read(Mailbox *mb, Mmsg *m, Str *out)
{
	size_t n, n0 = out->n;
	char file[600];
	int r, e;

	if ((r = readfileinto(mb->fd, mb_file(mb, m, file, sizeof file), LIM_MBOXMSG, out)) < 0 && errno == ENOENT) {
		if (locate(mb, m) == 0)
			r = readfileinto(mb->fd, mb_file(mb, m, file, sizeof file), LIM_MBOXMSG, out);
		else
			errno = ENOENT;	/* gone: another reader expunged it */
	}
	if (r < 0) {
		e = errno;
		seterr("%s/%s:", mb->path, file);
		errno = e;
		return -1;
	}
	n = out->n - n0;
	if (m->size != mb_u32(n)) {
		m->size = mb_u32(n);
		mb->dirty = 1;
	}
	return 0;
}

static void
syncdir(Mailbox *mb, const char *sub)
{
	int fd = openat(mb->fd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd >= 0) {
		mb_fsyncdir(fd, sub);
		close(fd);
	}
}

/* Renames carry the flags, and any message given one moves to cur/, as the
 * format wants; expunge unlinks. A message another reader renamed is
 * followed. */
int
maildir_sync(Mailbox *mb)
{
	char name[640], file[600];
	int i, j, r = 0, changed = 0;
	Mmsg *m;

	for (i = j = 0; i < mb->nmsg; i++) {
		m = &mb->msg[i];
		mb_file(mb, m, file, sizeof file);
		if (mb_gone(mb, m)) {
			/*
			 * Out of new/ or cur/ into tmp/, which no reader shows: a
			 * rename costs a third of an unlink, and mb_purge unlinks
			 * once the caller has answered.
			 */
			snprintf(name, sizeof name, "tmp/%s.expunged", file + 4);
			if (renameat(mb->fd, file, mb->fd, name) == 0 || (errno == ENOENT &&
			    (locate(mb, m) < 0 || (mb_file(mb, m, file, sizeof file),
			    snprintf(name, sizeof name, "tmp/%s.expunged", file + 4),
			    renameat(mb->fd, file, mb->fd, name) == 0) || errno == ENOENT))) {
				mb->purge = xrealloc(mb->purge, (mb->npurge + 1) * sizeof *mb->purge);
				mb->purge[mb->npurge++] = xstrdup(name);
				mb_freemsg(m);
				changed = 1;
				continue;
			}
			seterr("%s/%s:", mb->path, file);
			r = -1;
		} else if (m->flags != m->dflags) {
			m->flags |= MF_OLD;
			flagname(name, sizeof name, file, m->flags);
			if (renameat(mb->fd, file, mb->fd, name) == 0 || (errno == ENOENT && locate(mb, m) == 0 &&
			    (flagname(name, sizeof name, mb_file(mb, m, file, sizeof file), m->flags),
			    renameat(mb->fd, file, mb->fd, name) == 0))) {
				mb_freeid(m->id);
				m->id = fileid(name);
				m->dflags = m->flags;
				changed = 1;
			} else {
				seterr("%s/%s:", mb->path, file);
				r = -1;
			}
		}
		mb->msg[j++] = *m;
	}
	mb->nmsg = j;
	if (changed) {
		syncdir(mb, "cur");
		syncdir(mb, "new");
		mb->dirty = 1;
	}
	return r;
}
