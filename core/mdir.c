/*
 * mdir, as 9front's upas: a directory with one file per message, named
 * "secs.NN" (arrival time, NN the lowest free 00-99), each holding the
 * message in mbox form with its From line. A delivery writes "secs.NN.tmp"
 * (O_EXCL, so two writers never share one) and links it to its final name
 * once written and fsync'ed; link, unlike rename, never replaces a message
 * that another writer put there first. The flags live in the index.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "mbox.h"

/* "secs.NN": digits, a dot, digits, secs at least 1e6 as upas demands. */
static int
mdirname(const char *s, long long *secs, long *nn)
{
	char *e;

	if (*s < '0' || *s > '9')
		return 0;
	*secs = strtoll(s, &e, 10);
	if (*e != '.' || e[1] < '0' || e[1] > '9' || *secs < 1000000)
		return 0;
	*nn = strtol(e + 1, &e, 10);
	return *e == 0;
}

int
mdir_append(const char *path, const char *sender, time_t when, const char *msg, size_t n)
{
	char from[LIM_PATH + 64], name[64], tmp[80];
	long long secs = when;
	Str s = { 0 };
	struct stat st;
	int dfd, fd = -1, nn = 0, tries;

	if (mb_fromline(from, sizeof from, sender, when) < 0) {
		seterr("%s: bad date", path);
		return -1;
	}
	if ((dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		seterr("%s:", path);
		return -1;
	}
	str_adds(&s, from);
	mb_quote(&s, msg, n, 1);
	str_addc(&s, '\n');
	for (tries = 0; fd < 0 && tries < 10 * LIM_MDIRNN; tries++, nn++) {
		if (nn == LIM_MDIRNN)
			nn = 0, secs++;
		snprintf(name, sizeof name, "%lld.%02d", secs, nn);
		snprintf(tmp, sizeof tmp, "%s.tmp", name);
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		fd = openat(dfd, tmp, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST) {
			seterr("%s/%s:", path, tmp);
			goto fail;
		}
	}
	if (fd < 0) {
		seterr("%s: no free name", path);
		goto fail;
	}
	nn--;
	if (mb_writeall(fd, s.p, s.n) < 0 || fsync(fd) < 0) {
		seterr("%s/%s:", path, tmp);
		close(fd);
		unlinkat(dfd, tmp, 0);
		goto fail;
	}
	close(fd);
	for (tries = 0; tries < 10 * LIM_MDIRNN; tries++) {
		snprintf(name, sizeof name, "%lld.%02d", secs, nn);
		if (linkat(dfd, tmp, dfd, name, 0) == 0)
			break;
		if (errno != EEXIST) {
			seterr("%s/%s:", path, name);
			unlinkat(dfd, tmp, 0);
			goto fail;
		}
		if (++nn == LIM_MDIRNN)
			nn = 0, secs++;
	}
	unlinkat(dfd, tmp, 0);
	if (tries == 10 * LIM_MDIRNN || fsync(dfd) < 0) {
		seterr("%s:", path);
		if (tries < 10 * LIM_MDIRNN)
			unlinkat(dfd, name, 0);
		goto fail;
	}
	snprintf(mb_appended, sizeof mb_appended, "%s", name);
	close(dfd);
	str_free(&s);
	return 0;
fail:
	tries = errno;
	close(dfd);
	str_free(&s);
	errno = tries;
	return -1;
}

typedef struct Ent {
	long long secs;
	long nn;
	char *name;
} Ent;

static int
cmpent(const void *a, const void *b)
{
	const Ent *x = a, *y = b;

	if (x->secs != y->secs)
		return x->secs < y->secs ? -1 : 1;
	return (x->nn > y->nn) - (x->nn < y->nn);
}

static int
cmpfile(const void *a, const void *b)
{
	return strcmp((*(Mmsg *const *)a)->id, (*(Mmsg *const *)b)->id);
}

/* Litter of a delivery that died: a .tmp already linked to its final name
 * goes now, any other after LIM_MAILDIR_TMPAGE. */
static void
sweep(int dfd, const char *name, struct stat *st)
{
	char final[64];
	struct stat fs;
	size_t n = strlen(name);

	if (n > sizeof final || n < 5)
		return;
	snprintf(final, sizeof final, "%.*s", (int)(n - 4), name);
	if ((fstatat(dfd, final, &fs, AT_SYMLINK_NOFOLLOW) == 0 && fs.st_ino == st->st_ino && fs.st_dev == st->st_dev) ||
	    time(NULL) - st->st_mtime > LIM_MAILDIR_TMPAGE)
		unlinkat(dfd, name, 0);
}

/* A message not in the index: its From line, and its size as mb_read gives it. */
static int
readnew(Mailbox *mb, Mmsg *m, long long secs)
{
	size_t n, fl = 0;
	char *buf, *nl, *sender;
	time_t date;

	if ((buf = readfileat(mb->fd, m->id, LIM_MBOXMSG, &n)) == NULL)
		return -1;
	m->date = mb_u32(secs);
	if (n >= 5 && memcmp(buf, "From ", 5) == 0 && (nl = memchr(buf, '\n', n)) != NULL) {
		fl = nl - buf + 1;
		if (mb_parsefrom(buf, fl, &sender, &date) == 0) {
			m->date = mb_u32(date);
			free(sender);
		}
	}
	m->size = mb_u32(mb_unmbox(NULL, buf + fl, n - fl, 0, NULL));
	free(buf);
	return 0;
}

/* List the directory; messages the index or an earlier scan knows by name
 * are kept as they are, only new names are read. */
int
mdir_scan(Mailbox *mb)
{
	Ent *e = NULL;
	int ne = 0, i, fd;
	Mmsg **old, key, *kp = &key, **hit, *m;
	Mailbox t;
	struct dirent *d;
	struct stat st;
	long long secs;
	long nn;
	char *used;
	DIR *dir;

	if ((fd = openat(mb->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || (dir = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		seterr("%s:", mb->path);
		return -1;
	}
	while ((d = readdir(dir)) != NULL) {
		if (mdirname(d->d_name, &secs, &nn)) {
			e = xrealloc(e, (ne + 1) * sizeof *e);
			e[ne].secs = secs;
			e[ne].nn = nn;
			e[ne++].name = xstrdup(d->d_name);
		} else if (mb->mode == MB_RDWR && strlen(d->d_name) > 4 &&
		    strcmp(d->d_name + strlen(d->d_name) - 4, ".tmp") == 0 && d->d_name[0] != '.' &&
		    fstatat(mb->fd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			sweep(mb->fd, d->d_name, &st);
	}
	closedir(dir);
	if (ne > 1)
		qsort(e, ne, sizeof *e, cmpent);
	old = xmalloc((mb->nmsg + 1) * sizeof *old);
	used = xmalloc(mb->nmsg + 1);
	memset(used, 0, mb->nmsg + 1);
	for (i = 0; i < mb->nmsg; i++)
		old[i] = &mb->msg[i];
	qsort(old, mb->nmsg, sizeof *old, cmpfile);
	memset(&t, 0, sizeof t);
	mb_reserve(&t, ne + 1);
	t.fd = mb->fd;
	for (i = 0; i < ne; i++) {
		key.id = e[i].name;
		hit = bsearch(&kp, old, mb->nmsg, sizeof *old, cmpfile);
		m = mb_add(&t);
		if (hit && !used[hit - old]) {
			used[hit - old] = 1;
			*m = **hit;
			free(e[i].name);
			continue;
		}
		m->id = mb_newid(e[i].name, strlen(e[i].name), "");
		free(e[i].name);
		if (readnew(&t, m, e[i].secs) < 0) {
			mb_freemsg(m);
			t.nmsg--;
			continue;
		}
		mb->dirty = 1;
	}
	free(e);
	mb_adopt(mb, &t, old, used);
	return 0;
}

char *
mdir_sender(Mailbox *mb, Mmsg *m)
{
	int fd = openat(mb->fd, m->id, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	char *s;

	if (fd < 0)
		return xstrdup("");
	s = mb_senderat(fd, 0, LIM_PATH + 128);
	close(fd);
	return s;
}

int
mdir_read(Mailbox *mb, Mmsg *m, Str *out)
{
	size_t n, fl = 0;
	char *buf, *nl;

	if ((buf = readfileat(mb->fd, m->id, LIM_MBOXMSG, &n)) == NULL)
		return -1;
	if (n >= 5 && memcmp(buf, "From ", 5) == 0 && (nl = memchr(buf, '\n', n)) != NULL)
		fl = nl - buf + 1;
	mb_unmbox(out, buf + fl, n - fl, 0, NULL);
	free(buf);
	return 0;
}

/* Serialise the writers of the flags: flock on the directory. */
int
mb_flockdir(int fd, const char *path)
{
	int64_t deadline = now_ms() + mb_lockwait * 1000;
	struct timespec ts = { 0, 20 * 1000000 };

	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			seterr("lock %s:", path);
			return -1;
		}
		if (now_ms() >= deadline) {
			seterr("mailbox busy: %s", path);
			errno = EWOULDBLOCK;
			return -1;
		}
		nanosleep(&ts, NULL);
	}
	return 0;
}

/*
 * Expunge by unlinking, then record the flags in the index under the
 * directory lock, taking the flags other writers recorded meanwhile for
 * messages this one did not change.
 */
int
mdir_sync(Mailbox *mb)
{
	Mailbox cur;
	Mmsg **v, key, *kp = &key, **hit, *m;
	int i, j, gone = 0, r = 0;

	if (mb_flockdir(mb->fd, mb->path) < 0)
		return -1;
	memset(&cur, 0, sizeof cur);
	cur.kind = mb->kind;
	cur.path = mb->path;
	if (idx_load(&cur) == 0) {
		v = xmalloc((cur.nmsg + 1) * sizeof *v);
		for (i = 0; i < cur.nmsg; i++)
			v[i] = &cur.msg[i];
		qsort(v, cur.nmsg, sizeof *v, cmpfile);
		/* the flags others wrote since, with this one's changes over them */
		for (i = 0; i < mb->nmsg; i++) {
			m = &mb->msg[i];
			key.id = m->id;
			if ((hit = bsearch(&kp, v, cur.nmsg, sizeof *v, cmpfile)) != NULL) {
				m->flags = mb_over(m->flags, m->dflags, (*hit)->dflags);
				m->dflags = (*hit)->dflags;
			}
		}
		free(v);
	}
	mb_freemsgs(&cur, 0);
	free(cur.msg);
	for (i = j = 0; i < mb->nmsg; i++) {
		if (mb_gone(mb, &mb->msg[i])) {
			if (unlinkat(mb->fd, mb->msg[i].id, 0) < 0 && errno != ENOENT) {
				seterr("%s/%s:", mb->path, mb->msg[i].id);
				r = -1;
			} else {
				mb_freemsg(&mb->msg[i]);
				gone++;
				continue;
			}
		}
		mb->msg[i].dflags = mb->msg[i].flags;
		mb->msg[j++] = mb->msg[i];
	}
	mb->nmsg = j;
	if (gone && fsync(mb->fd) < 0) {
		seterr("%s:", mb->path);
		r = -1;
	}
	if (idx_save(mb) < 0)
		r = -1;
	flock(mb->fd, LOCK_UN);
	return r;
}
