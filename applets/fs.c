/*
 * fs: a mailbox as a tree of ordinary directories and files, as upas/fs
 * shows it (upas.md §3), that any program can read: DIR/BOX/N/ a message,
 * with upas's files (core/msgfiles.c), its MIME parts as N/1, N/2...
 *
 * -x exports once and exits. BOX/.ids keeps each message's number by id,
 * so numbers hold from run to run and are never given again; a run writes
 * only the messages new since the last (each made as N.tmp, then renamed)
 * and removes the directories of those gone. Nothing in a message names a
 * file: names are upas's and numbers; no symbolic link is followed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "applet.h"
#include "mbox.h"
#include "mimeenc.h"
#include "msg.h"
#include "msgfiles.h"

enum {
	MAXPARTS = 1000,	/* parts of one message in the tree */
};

typedef struct Idn {
	char *id;
	unsigned n;
	int wflags;		/* the flags the tree was last given, or -1 */
	int live;		/* still in the mailbox */
} Idn;

static struct {
	Mailbox *mb;
	int boxfd;		/* DIR/BOX */
	Idn *v;
	int nv, av;
	unsigned next;		/* the next number to give */
	int parts;		/* of the message being written */
	unsigned firstnew;	/* numbers from here are new this run */
	char boxdir[2 * LIM_PATHNAME + 2];
	int ro;			/* the mailbox only read: nothing goes back */
	time_t since;		/* flags files older than this second were read before */
	time_t start;		/* of the run going on */
	int rebuilt;		/* .ids was no use: numbered directories it lacks go */
	int daemon;		/* runs on events, not -x */
	int watch;		/* the inotify fd, or -1 */
	int wbox;		/* its watch of the box's directory */
	int announce;		/* -b: a line a new message */
	const char *cmd;	/* -c: a program run a new message */
	int quiet;		/* the first run: no announcements */
	int treechanged;	/* a run must look at the tree (else only at the mailbox) */
	int made, gone;
} F;

static int
cmpuint(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return (x > y) - (x < y);
}

static int
cmpidn(const void *a, const void *b)
{
	return strcmp(((const Idn *)a)->id, ((const Idn *)b)->id);
}

static Idn *
addidn(const char *id, unsigned n, int wflags)
{
	if (F.nv == F.av) {
		F.av = F.av ? F.av * 2 : 64;
		F.v = xrealloc(F.v, F.av * sizeof *F.v);
	}
	F.v[F.nv].id = xstrdup(id);
	F.v[F.nv].n = n;
	F.v[F.nv].wflags = wflags;
	F.v[F.nv].live = 0;
	return &F.v[F.nv++];
}

/* %XX undone in place (str_word's escapes); -1 for a bad one. */
static int
unword(char *w)
{
	char *o = w, *r;

	if (strcmp(w, "-") == 0) {
		*w = 0;
		return 0;
	}
	for (r = w; *r; r++) {
		if (*r != '%') {
			*o++ = *r;
			continue;
		}
		if (hexdigit(r[1]) < 0 || hexdigit(r[2]) < 0)
			return -1;
		*o++ = hexdigit(r[1]) * 16 + hexdigit(r[2]);
		r += 2;
	}
	*o = 0;
	return 0;
}

static void
forgetids(void)
{
	int i;

	for (i = 0; i < F.nv; i++)
		free(F.v[i].id);
	F.nv = 0;
}

/* The highest number a directory in BOX has: numbers above it are free. */
static unsigned
highest(void)
{
	struct dirent *d;
	DIR *dir;
	unsigned long k, max = 0;
	char *e;
	int fd;

	if ((fd = openat(F.boxfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || (dir = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while ((d = readdir(dir)) != NULL) {
		k = strtoul(d->d_name, &e, 10);
		if (e != d->d_name && (*e == 0 || strcmp(e, ".tmp") == 0) && k > max && k < UINT32_MAX / 2)
			max = k;
	}
	closedir(dir);
	return max;
}

/*
 * BOX/.ids: "upas-fs-ids 3 NEXT SINCE", then "N FLAGS ID" lines: FLAGS what
 * the tree was given ("-": nothing written yet), ID escaped as str_word
 * does, SINCE the start of the run that wrote it. The file is in the tree,
 * which others can write: any line out of place, a number or id twice, and
 * it counts for nothing (nothing is then deleted from the mailbox for a
 * directory missing), and numbers start above the highest directory.
 */
static void
loadids(void)
{
	char *t = NULL, *l, *e, *w[3];
	Str s = { 0 };
	struct stat st;
	unsigned long next = 0, k;
	long long since = 0;
	char buf[65536];
	ssize_t r;
	int fd, i, wf, ok = 0;

	F.next = 1;
	if ((fd = openat(F.boxfd, ".ids", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) >= 0) {
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size < (64 << 20))
			while ((r = read(fd, buf, sizeof buf)) > 0)
				str_addn(&s, buf, r);
		close(fd);
		str_addc(&s, 0);
		t = s.p;
	}
	if (t != NULL && sscanf(t, "upas-fs-ids 3 %lu %lld\n", &next, &since) == 2 && next > 0 &&
	    next < UINT32_MAX / 2 && (l = strchr(t, '\n')) != NULL) {
		ok = 1;
		for (l++; ok && *l; l = e + 1) {
			if ((e = strchr(l, '\n')) == NULL) {
				ok = 0;
				break;
			}
			*e = 0;
			for (i = 0; i < 3; i++)
				w[i] = strsep(&l, " ");
			if (w[2] == NULL || l != NULL || unword(w[2]) < 0 || w[2][0] == 0 ||
			    (k = strtoul(w[0], NULL, 10)) == 0 || k >= next) {
				ok = 0;
				break;
			}
			wf = strcmp(w[1], "-") == 0 ? -1 : atoi(w[1]) & MF_ALL;
			addidn(w[2], k, wf);
		}
	}
	free(t);
	if (ok && F.nv > 1) {
		/* no id twice, no number twice */
		qsort(F.v, F.nv, sizeof *F.v, cmpidn);
		for (i = 1; ok && i < F.nv; i++)
			ok = strcmp(F.v[i - 1].id, F.v[i].id) != 0;
		{
			unsigned *nums = xmalloc(F.nv * sizeof *nums);

			for (i = 0; i < F.nv; i++)
				nums[i] = F.v[i].n;
			qsort(nums, F.nv, sizeof *nums, cmpuint);
			for (i = 1; ok && i < F.nv; i++)
				ok = nums[i - 1] != nums[i];
			free(nums);
		}
	}
	if (!ok) {
		forgetids();
		next = 0;
		since = 0;
		F.rebuilt = 1;	/* unknown directories are removed */
	}
	F.next = next > highest() ? next : highest() + 1;
	F.since = since;
}

static int
saveids(void)
{
	Str s = { 0 };
	int fd, i, r = 0;

	str_fmt(&s, "upas-fs-ids 3 %u %lld\n", F.next, (long long)F.start);
	for (i = 0; i < F.nv; i++)
		if (F.v[i].live) {
			str_num(&s, F.v[i].n, 10);
			str_addc(&s, ' ');
			if (F.v[i].wflags < 0)
				str_addc(&s, '-');
			else
				str_num(&s, F.v[i].wflags, 10);
			str_addc(&s, ' ');
			str_word(&s, F.v[i].id);
			str_addc(&s, '\n');
		}
	unlinkat(F.boxfd, ".ids.tmp", 0);
	if ((fd = openat(F.boxfd, ".ids.tmp", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0 ||
	    fd_writeall(fd, s.p, s.n) < 0 || fsync(fd) < 0 || close(fd) < 0 ||
	    renameat(F.boxfd, ".ids.tmp", F.boxfd, ".ids") < 0) {
		seterr(".ids:");
		r = -1;
	}
	str_free(&s);
	return r;
}

/* Remove the tree at name in dirfd, never following a link. */
static void
rmtree(int dirfd, const char *name)
{
	struct dirent *d;
	DIR *dir;
	int fd;

	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return;
	if ((fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return;
	if ((dir = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((d = readdir(dir)) != NULL)
		if (strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0)
			rmtree(fd, d->d_name);
	closedir(dir);
	unlinkat(dirfd, name, AT_REMOVEDIR);
}

static int
putfile(int dirfd, const char *name, const char *p, size_t n, int mode)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);

	if (fd < 0 || fd_writeall(fd, p, n) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return close(fd);
}

/* Part p's files into dirfd, its parts into numbered directories. */
static int
putpart(int dirfd, Msg *m, Part *p, const Mfctx *c)
{
	const char *const *name;
	char num[16];
	Str s = { 0 };
	Part *q;
	int k, fd, r = 0;

	for (name = mf_names; *name && r == 0; name++) {
		str_reset(&s);
		mf_file(m, p, c, *name, &s);
		r = putfile(dirfd, *name, s.p ? s.p : "", s.n, strcmp(*name, "flags") == 0 && !F.ro ? 0600 : 0400);
	}
	str_free(&s);
	for (q = p->child, k = 1; q && r == 0; q = q->next, k++) {
		if (++F.parts > MAXPARTS)
			break;	/* the rest stay in raw */
		snprintf(num, sizeof num, "%d", k);
		if (mkdirat(dirfd, num, 0700) < 0 ||
		    (fd = openat(dirfd, num, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
			return -1;
		r = putpart(fd, m, q, c);
		close(fd);
	}
	return r;
}

/* What message i's files need from the mailbox. */
static void
ctx(Mfctx *c, int i, Mmsg *mm)
{
	memset(c, 0, sizeof *c);
	c->sender = mb_sender(F.mb, i);
	c->date = mm->date;
	c->flags = mm->flags;
	if (mb_kind(F.mb) == MB_MDIR)
		snprintf(c->fileid, sizeof c->fileid, "%.31s", mm->id);
	else
		snprintf(c->fileid, sizeof c->fileid, "%lu.00", (unsigned long)mm->date);
}

/* Message i as directory n: made as n.tmp, renamed when whole. */
static int
putmsg(int i, unsigned n)
{
	char tmp[32], dir[32];
	Str raw = { 0 };
	Mfctx c;
	Mmsg *mm = mb_msg(F.mb, i);
	Msg m;
	int fd, r;

	snprintf(dir, sizeof dir, "%u", n);
	snprintf(tmp, sizeof tmp, "%u.tmp", n);
	rmtree(F.boxfd, tmp);
	rmtree(F.boxfd, dir);
	if (mb_read(F.mb, i, &raw) < 0)
		return -1;
	if (msg_parse(&m, raw.p ? raw.p : "", raw.n) < 0) {
		str_free(&raw);
		return -1;
	}
	ctx(&c, i, mm);
	F.parts = 0;
	r = -1;
	if (mkdirat(F.boxfd, tmp, 0700) == 0 &&
	    (fd = openat(F.boxfd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
		r = putpart(fd, &m, m.root, &c);
		close(fd);
		if (r == 0 && renameat(F.boxfd, tmp, F.boxfd, dir) < 0)
			r = -1;
	}
	if (r < 0) {
		seterr("%u:", n);
		rmtree(F.boxfd, tmp);
	}
	msg_free(&m);
	str_free(&raw);
	return r;
}

static Idn *
known(Mailbox *mb, int i, int nold)
{
	char b[MB_IDLEN];
	Idn key;

	key.id = (char *)mb_id(mb, i, b);
	return nold > 0 ? bsearch(&key, F.v, nold, sizeof *F.v, cmpidn) : NULL;
}

/*
 * The tree to the mailbox: a known message whose directory is gone is
 * deleted; a flags file that says other than what the tree was given is
 * the user's, and its flags go to the mailbox. mb_sync writes both under
 * the mailbox's locks. Changes made meanwhile by others to the mailbox
 * are kept: only what the file changed is applied.
 */
/* Message n's directory, never through a link: its fd, or -1 (errno). */
static int
msgdir(unsigned n)
{
	char name[16];

	snprintf(name, sizeof name, "%u", n);
	return openat(F.boxfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

static int
fromtree(int nold)
{
	char buf[64];
	struct stat st;
	ssize_t r;
	int i, fd, dfd, want, changed = 0, known0 = 0, missing = 0;
	unsigned char *gone;
	Idn *hit;

	if (F.ro)
		return 0;
	gone = xmalloc(mb_count(F.mb) + 1);
	memset(gone, 0, mb_count(F.mb) + 1);
	for (i = 0; i < mb_count(F.mb); i++) {
		if ((hit = known(F.mb, i, nold)) == NULL || hit->wflags < 0)
			continue;	/* never written: nothing of the user's to take */
		known0++;
		if ((dfd = msgdir(hit->n)) < 0) {
			/* removed: only "no such directory" says so */
			if (errno == ENOENT) {
				gone[i] = 1;
				missing++;
			}
			continue;
		}
		fd = openat(dfd, "flags", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		close(dfd);
		if (fd < 0)
			continue;
		/* the daemon reads a flags file written since its last run; -x all */
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (F.daemon && st.st_mtim.tv_sec < F.since)) {
			close(fd);
			continue;
		}
		r = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (r < 0 || (want = mf_flags(buf, r, hit->wflags)) < 0 || want == hit->wflags)
			continue;
		/* what the file changed, over the mailbox's flags as they are now */
		mb_setflags(F.mb, i, want & ~hit->wflags, hit->wflags & ~want);
		changed = 1;
	}
	/* every directory gone (the tree removed, a disk emptied): that is no
	 * one deleting every message; the tree is written again */
	if (missing > 0 && !(missing == known0 && known0 > 1)) {
		for (i = 0; i < mb_count(F.mb); i++)
			if (gone[i])
				mb_setflags(F.mb, i, MF_DELETED, 0);
		changed = 1;
	}
	free(gone);
	if (changed && mb_sync(F.mb) < 0)
		return -1;
	return changed;
}

/* A message's flags changed since the tree was written: flags and info again. */
static int
reflag(int i, Idn *hit)
{
	char name[48], tmp[48];
	const char *f[] = { "flags", "info" };
	Str raw = { 0 }, s = { 0 };
	Mmsg *mm = mb_msg(F.mb, i);
	Mfctx c;
	Msg m;
	size_t k;
	int r = 0, dfd;

	if (mb_read(F.mb, i, &raw) < 0 || msg_parse(&m, raw.p ? raw.p : "", raw.n) < 0) {
		str_free(&raw);
		return -1;
	}
	ctx(&c, i, mm);
	if ((dfd = msgdir(hit->n)) < 0)
		r = -1;
	for (k = 0; k < nelem(f) && r == 0; k++) {
		str_reset(&s);
		mf_file(&m, m.root, &c, f[k], &s);
		snprintf(name, sizeof name, "%s", f[k]);
		snprintf(tmp, sizeof tmp, ".%s.tmp", f[k]);
		unlinkat(dfd, tmp, 0);
		r = putfile(dfd, tmp, s.p ? s.p : "", s.n, k == 0 && !F.ro ? 0600 : 0400);
		if (r == 0 && renameat(dfd, tmp, dfd, name) < 0)
			r = -1;
	}
	if (dfd >= 0)
		close(dfd);
	if (r == 0)
		hit->wflags = mm->flags & MF_ALL;
	msg_free(&m);
	str_free(&raw);
	str_free(&s);
	return r;
}

/* A new message: -b's line, -c's program (argv: path, sender, subject). */
static void
tell(unsigned n)
{
	char name[48], path[sizeof F.boxdir + 16], from[256], subj[256];
	char *argv[5];
	int fd;
	ssize_t r;
	pid_t pid;

	if (!F.announce && F.cmd == NULL)
		return;
	snprintf(path, sizeof path, "%s/%u", F.boxdir, n);
	from[0] = subj[0] = 0;
	snprintf(name, sizeof name, "%u/from", n);
	if ((fd = openat(F.boxfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
		r = read(fd, from, sizeof from - 1);
		from[r > 0 ? r : 0] = 0;
		close(fd);
	}
	snprintf(name, sizeof name, "%u/subject", n);
	if ((fd = openat(F.boxfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
		r = read(fd, subj, sizeof subj - 1);
		subj[r > 0 ? r : 0] = 0;
		close(fd);
	}
	for (r = 0; from[r]; r++)
		if ((unsigned char)from[r] < ' ' || from[r] == 0x7f)
			from[r] = '?';
	for (r = 0; subj[r]; r++)
		if ((unsigned char)subj[r] < ' ' || subj[r] == 0x7f)
			subj[r] = '?';
	if (F.announce) {
		printf("%s\t%s\t%s\n", path, from, subj);
		fflush(stdout);
	}
	if (F.cmd != NULL) {
		argv[0] = (char *)F.cmd;
		argv[1] = path;
		argv[2] = from;
		argv[3] = subj;
		argv[4] = NULL;
		if ((pid = proc_start(argv, -1, -1)) > 0)
			proc_wait(pid);
	}
}

/* For the next run: the numbers of messages still there, sorted by id. */
static void
resetids(void)
{
	int i, j;

	for (i = j = 0; i < F.nv; i++)
		if (F.v[i].live) {
			F.v[i].live = 0;
			F.v[j++] = F.v[i];
		} else
			free(F.v[i].id);
	F.nv = j;
	if (F.nv > 1)
		qsort(F.v, F.nv, sizeof *F.v, cmpidn);
}

static Mailbox *sortmb;
static void watchmsg(int in, unsigned n);

static int
cmpmbid(const void *a, const void *b)
{
	char x[MB_IDLEN], y[MB_IDLEN];

	return strcmp(mb_id(sortmb, *(const int *)a, x), mb_id(sortmb, *(const int *)b, y));
}

/* Messages whose id another has too (a broken Maildir: one name in new/
 * and cur/): all but the first are left out of the tree. */
static unsigned char *
dupids(void)
{
	int n = mb_count(F.mb), *v, i;
	unsigned char *dup = xmalloc(n + 1);
	char x[MB_IDLEN], y[MB_IDLEN];

	memset(dup, 0, n + 1);
	v = xmalloc((n + 1) * sizeof *v);
	for (i = 0; i < n; i++)
		v[i] = i;
	sortmb = F.mb;
	if (n > 1)
		qsort(v, n, sizeof *v, cmpmbid);
	for (i = 1; i < n; i++)
		if (strcmp(mb_id(F.mb, v[i - 1], x), mb_id(F.mb, v[i], y)) == 0)
			dup[v[i] > v[i - 1] ? v[i] : v[i - 1]] = 1;
	free(v);
	return dup;
}

/* After a .ids that was no use: numbered directories no message has go. */
static void
sweep(void)
{
	struct dirent *d;
	DIR *dir;
	char *e;
	unsigned long k;
	int fd, i, live;
	Str names = { 0 };

	if ((fd = openat(F.boxfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || (dir = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((d = readdir(dir)) != NULL) {
		k = strtoul(d->d_name, &e, 10);
		if (e == d->d_name || (*e != 0 && strcmp(e, ".tmp") != 0))
			continue;
		for (i = live = 0; *e == 0 && i < F.nv && !live; i++)
			live = F.v[i].live && F.v[i].n == k;
		if (!live) {
			str_adds(&names, d->d_name);
			str_addc(&names, 0);
		}
	}
	closedir(dir);
	for (e = names.p; e && e < names.p + names.n; e += strlen(e) + 1)
		rmtree(F.boxfd, e);
	str_free(&names);
}

static int
export(void)
{
	char b[MB_IDLEN], name[32];
	unsigned char *dup;
	Idn *hit;
	int i, nold = F.nv, bad = 0, r;

	F.start = time(NULL);
	F.firstnew = F.next;
	if (F.treechanged && (r = fromtree(nold)) != 0) {
		if (r < 0) {
			/* the tree keeps what the user did; the next run tries again */
			fprintf(stderr, "fs: %s\n", lasterr());
			return -1;
		}
	}
	dup = dupids();
	for (i = 0; i < mb_count(F.mb); i++) {
		if (dup[i])
			continue;
		hit = known(F.mb, i, nold);
		if (hit != NULL && !hit->live) {
			struct stat st;

			snprintf(name, sizeof name, "%u", hit->n);
			hit->live = 1;
			if (fstatat(F.boxfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
				if ((mb_msg(F.mb, i)->flags & MF_ALL) != hit->wflags && reflag(i, hit) < 0) {
					fprintf(stderr, "fs: %u: %s\n", hit->n, lasterr());
					bad = 1;
				}
				continue;
			}
		} else {
			hit = addidn(mb_id(F.mb, i, b), F.next++, -1);
			hit->live = 1;
			F.made++;
		}
		if (putmsg(i, hit->n) < 0) {
			fprintf(stderr, "fs: %s\n", lasterr());
			hit->wflags = -1;	/* never taken for one the user removed */
			bad = 1;
			continue;
		}
		hit->wflags = mb_msg(F.mb, i)->flags & MF_ALL;
		if (F.watch >= 0)
			watchmsg(F.watch, hit->n);
		if (hit->n >= F.firstnew && !F.quiet)
			tell(hit->n);
	}
	free(dup);
	for (i = 0; i < nold; i++)
		if (!F.v[i].live) {
			snprintf(name, sizeof name, "%u", F.v[i].n);
			rmtree(F.boxfd, name);
			F.gone++;
		}
	if (F.rebuilt) {
		sweep();
		F.rebuilt = 0;
	}
	if (saveids() < 0)
		bad = 1;
	F.since = F.start - 1;	/* a second's slack: a write in the same second is read again */
	return bad ? -1 : 0;
}

static int mkdirs(char *path);

/* The box's directory removed (the tree deleted to be rebuilt): made again,
 * what .ids knew forgotten, so no message is taken for deleted. */
static int
boxgone(void)
{
	struct stat st, at;
	int fd;

	/* still there, under its name */
	if (fstat(F.boxfd, &st) == 0 && st.st_nlink > 0 && lstat(F.boxdir, &at) == 0 &&
	    at.st_dev == st.st_dev && at.st_ino == st.st_ino)
		return 0;
	if (mkdirs(F.boxdir) < 0 ||
	    (fd = open(F.boxdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
		seterr("%s:", F.boxdir);
		return -1;
	}
	close(F.boxfd);
	F.boxfd = fd;
	forgetids();	/* F.next stays: no number is given twice while fs runs */
	F.wbox = inotify_add_watch(F.watch, F.boxdir, IN_DELETE | IN_MOVED_FROM | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW);
	return 0;
}

static volatile sig_atomic_t stop;

static void
onterm(int sig)
{
	stop = 1;
}

/* Watch one more message directory for a written flags file. */
static void
watchmsg(int in, unsigned n)
{
	char name[sizeof F.boxdir + 16];

	snprintf(name, sizeof name, "%s/%u", F.boxdir, n);
	inotify_add_watch(in, name, IN_CLOSE_WRITE | IN_MOVED_TO | IN_ONLYDIR | IN_DONT_FOLLOW);
}

/*
 * The daemon: after the first run, one more each time the mailbox or the
 * tree changes (inotify, events gathered for 50 ms): the mailbox's file or
 * directories, the tree's removed directories and written flags files. Our
 * own writes there are renames, which are not watched, so runs settle.
 */
static void
watch(const char *path, int verbose)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	char sub[LIM_PATHNAME + 8], dir[LIM_PATHNAME];
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	struct pollfd pf;
	int in, i, kind = mb_kind(F.mb), hit;
	ssize_t r;

	signal(SIGTERM, onterm);
	signal(SIGINT, onterm);
	signal(SIGHUP, onterm);
	if ((in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) < 0)
		die(EX_OSERR, "inotify:");
	if (kind == MB_MBOX) {
		/* the file's directory: appends, rewrites and a file put in its place */
		snprintf(dir, sizeof dir, "%.*s", base > path ? (int)(base - path - 1) : 1, base > path ? path : ".");
		if (inotify_add_watch(in, dir[0] ? dir : "/", IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE) < 0)
			die(EX_OSERR, "inotify %s:", dir);
	} else if (kind == MB_MAILDIR) {
		snprintf(sub, sizeof sub, "%s/new", path);
		inotify_add_watch(in, sub, IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ONLYDIR);
		snprintf(sub, sizeof sub, "%s/cur", path);
		inotify_add_watch(in, sub, IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ONLYDIR);
	} else
		inotify_add_watch(in, path, IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ONLYDIR);
	if ((F.wbox = inotify_add_watch(in, F.boxdir, IN_DELETE | IN_MOVED_FROM | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW)) < 0)
		die(EX_OSERR, "inotify %s:", F.boxdir);
	for (i = 0; i < F.nv; i++)
		if (F.v[i].live)
			watchmsg(in, F.v[i].n);
	F.watch = in;
	F.daemon = 1;
	F.quiet = 0;
	F.treechanged = 0;
	pf.fd = in;
	pf.events = POLLIN;
	while (!stop) {
		if (poll(&pf, 1, 1000) <= 0)
			continue;
		/* gather: what happens within 50 ms is one change; a change in
		 * the tree stays to be looked at until a run has done so */
		hit = 0;
		do {
			while ((r = read(in, buf, sizeof buf)) > 0) {
				char *p;
				struct inotify_event *e;

				for (p = buf; p < buf + r; p += sizeof *e + e->len) {
					e = (struct inotify_event *)p;
					if (e->wd == F.wbox) {
						/* a message's directory, or the box's own */
						if ((e->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) ||
						    (e->len > 0 && strchr(e->name, '.') == NULL))
							hit = F.treechanged = 1;
					} else if (e->len > 0 && strcmp(e->name, "flags") == 0)
						hit = F.treechanged = 1;
					else if (kind == MB_MBOX)
						hit |= e->len > 0 && strcmp(e->name, base) == 0;
					else if (kind == MB_MDIR)
						hit |= e->len > 0 && e->name[0] != '.';
					else
						hit |= e->len > 0;
				}
			}
		} while (poll(&pf, 1, 50) > 0);
		if (!hit && !F.treechanged)
			continue;
		if (boxgone() < 0 || mb_refresh(F.mb) < 0) {
			fprintf(stderr, "fs: %s\n", lasterr());
			continue;
		}
		resetids();
		F.made = F.gone = 0;
		if (export() < 0)
			fprintf(stderr, "fs: %s: not all written\n", F.boxdir);
		else
			F.treechanged = 0;
		if (verbose)
			fprintf(stderr, "fs: %s: %d messages, %d new, %d gone\n", F.boxdir, mb_count(F.mb), F.made, F.gone);
	}
	close(in);
}

/* mkdir -p, each level 0700, no link followed. */
static int
mkdirs(char *path)
{
	char *s;

	for (s = path + 1;; s++) {
		if (*s != '/' && *s != 0)
			continue;
		if (*s == '/') {
			*s = 0;
			if (mkdir(path, 0700) < 0 && errno != EEXIST)
				return -1;
			*s = '/';
		} else
			return mkdir(path, 0700) < 0 && errno != EEXIST ? -1 : 0;
	}
}

int
fs_main(int argc, char **argv)
{
	const char *login = mime_login(), *file = "mbox", *tree = NULL, *base;
	char path[LIM_PATHNAME], top[LIM_PATHNAME], boxdir[2 * LIM_PATHNAME + 2];
	int c, once = 0, verbose = 0;

	while ((c = getopt(argc, argv, "bc:f:m:xv")) != -1) {
		switch (c) {
		case 'b':
			F.announce = 1;
			break;
		case 'c':
			F.cmd = optarg;
			break;
		case 'f':
			file = optarg;
			break;
		case 'm':
			tree = optarg;
			break;
		case 'x':
			once = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (file[0] == '/' || strncmp(file, "./", 2) == 0 || strncmp(file, "../", 3) == 0) {
		if (snprintf(path, sizeof path, "%s", file) >= (int)sizeof path)
			die(EX_USAGE, "name too long");
	} else if (upas_path(top, sizeof top, "box", login, NULL) < 0 ||
	    snprintf(path, sizeof path, "%s/%s", top, file) >= (int)sizeof path)
		die(EX_USAGE, "name too long");
	if (tree == NULL) {
		if (upas_path(top, sizeof top, "fs", login, NULL) < 0)
			die(EX_USAGE, "login name too long");
	} else if (snprintf(top, sizeof top, "%s", tree) >= (int)sizeof top)
		die(EX_USAGE, "name too long");
	/* the box's directory: the mailbox's last component, never "." or ".." */
	while (strlen(path) > 1 && path[strlen(path) - 1] == '/')
		path[strlen(path) - 1] = 0;
	base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	if (!name_ok(base))
		die(EX_USAGE, "%s: no name for its directory", path);
	if ((F.mb = mb_open(path, MB_RDWR)) == NULL && (errno == EACCES || errno == EROFS || errno == EPERM)) {
		F.mb = mb_open(path, MB_RDONLY);
		F.ro = 1;
	}
	if (F.mb == NULL)
		die(errno == ENOENT ? EX_NOINPUT : EX_IOERR, "%s", lasterr());
	snprintf(boxdir, sizeof boxdir, "%s/%s", top, base);
	if (mkdirs(boxdir) < 0 ||
	    (F.boxfd = open(boxdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		die(EX_CANTCREAT, "%s:", boxdir);
	snprintf(F.boxdir, sizeof F.boxdir, "%s", boxdir);
	if (flock(F.boxfd, LOCK_EX | LOCK_NB) < 0)
		die(EX_TEMPFAIL, "%s: another fs works on it", boxdir);
	F.watch = -1;
	loadids();
	F.quiet = 1;
	F.treechanged = 1;
	if (export() < 0) {
		if (once)
			die(EX_IOERR, "%s: not all written", boxdir);
		fprintf(stderr, "fs: %s: not all written\n", boxdir);
	}
	if (verbose)
		fprintf(stderr, "fs: %s: %d messages, %d new, %d gone\n", boxdir, mb_count(F.mb), F.made, F.gone);
	if (!once)
		watch(path, verbose);
	mb_close(F.mb);
	return 0;
}
