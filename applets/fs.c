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
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "applet.h"
#include "mbox.h"
#include "mimeenc.h"
#include "msg.h"
#include "msgfiles.h"
#include "imap.h"
#include "remote.h"

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE 2
#endif

enum {
	MAXPARTS = 1000,	/* parts of one message in the tree */
	FICLONE_ = 0x40049409,	/* <linux/fs.h> FICLONE, _IOW(0x94, 9, int) */
};

typedef struct Idn {
	char *id;
	unsigned n;
	int wflags;		/* the flags the tree was last given, or -1 */
	int live;		/* still in the mailbox */
	int leased;		/* a header-only message: its files leased (1), or could not be (-1) */
	int rewrite;		/* its flags file is not in fs's form: written again */
} Idn;

/* A mailbox in the tree: DIR/NAME. */
typedef struct Box Box;
struct Box {
	Box *link;
	char *name;		/* its directory in the tree */
	char *path;		/* the mailbox */
	Mailbox *mb;
	int boxfd;		/* DIR/NAME */
	Idn *v;
	int nv, av;
	unsigned next;		/* the next number to give */
	unsigned firstnew;	/* numbers from here are new this run */
	char boxdir[2 * LIM_PATHNAME + 2];
	int ro;			/* the mailbox only read: nothing goes back */
	time_t since;		/* flags files older than this second were read before */
	time_t start;		/* of the run going on */
	int rebuilt;		/* .ids was no use: numbered directories it lacks go */
	int wbox;		/* the watch of its directory in the tree */
	int wmail[2];		/* the watches of the mailbox */
	int quiet;		/* the first run: no announcements */
	int treechanged;	/* a run must look at the tree (else only at the mailbox) */
	int hit;		/* the mailbox changed */
	int slot;		/* the box's number in G.wd, 1 to 255 */
	Remote *rm;		/* a remote account: the mailbox is its local copy */
	int64_t due;		/* ms: the account's next sync */
	int pushed;		/* changes made to the copy this run, for the server */
	int made, gone;
	pid_t idler;		/* an IMAP account's watcher (IDLE), or 0 */
	int idlefd;		/* what it writes, or -1 */
	int noidle;		/* the server has no IDLE */
	int relet;		/* header-only messages may wait for their leases */
	int stale;		/* an mbox rewritten by another program during a run */
	int wrote;		/* messages written or reflagged by a run */
	int nsorted;		/* v[0..nsorted) sorted by id */
	int64_t idledue;	/* ms: a watcher may start again */
};

static struct {
	Box *boxes;
	char top[LIM_PATHNAME];	/* DIR */
	const char *login;
	int daemon;		/* runs on events, not -x */
	int watch;		/* the inotify fd, or -1 */
	struct Wd {
		int wd;
		int slot;	/* its box's, or 0: gone */
	} *wd;			/* message directories' watches, by wd */
	int nwd, awd, deadwd;
	int topfd;		/* DIR, locked by the daemon */
	int announce;		/* -b: a line a new message */
	const char *cmd;	/* -c: a program run a new message */
	int verbose;
	int noplumb;		/* -p: no announcements */
	int parts;		/* of the message being written */
	int64_t budget;		/* octets it may still write */
	Mmsg *msg;		/* the message being written */
	int exit;		/* openbox's failure: an exit status */
	int ctl;		/* DIR/ctl, or -1 */
	char ctlbuf[4096];	/* a line of it */
	size_t nctl;
	int ctlskip;		/* in a line too long */
	int inctl;		/* doing a ctl command */
	int refresh;		/* -r: seconds between syncs of a remote mailbox */
	int64_t cachemax;	/* -C: octets of IMAP bodies kept, or 0: bodies fetched whole */
	int sigfd;		/* signalfd of leases broken, or -1 */
	struct Lease {
		int fd;
		Box *b;
		unsigned n;
		int k;		/* its name in leasednames */
	} *lease;		/* the files of header-only messages, leased */
	int nlease, alease, maxlease;
} G;

/* A header-only message's files that a reader's open brings the body into */
static const char *const leasednames[] = { "raw", "rawunix", "rawbody", "body" };

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
addidn(Box *b, const char *id, unsigned n, int wflags)
{
	if (b->nv == b->av) {
		b->av = b->av ? b->av * 2 : 64;
		b->v = xrealloc(b->v, b->av * sizeof *b->v);
	}
	b->v[b->nv].id = xstrdup(id);
	b->v[b->nv].n = n;
	b->v[b->nv].wflags = wflags;
	b->v[b->nv].live = 0;
	b->v[b->nv].leased = 0;
	b->v[b->nv].rewrite = 0;
	return &b->v[b->nv++];
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
forgetids(Box *b)
{
	int i;

	for (i = 0; i < b->nv; i++)
		free(b->v[i].id);
	b->nv = b->nsorted = 0;
}

/* The highest number a directory in BOX has: numbers above it are free. */
static unsigned
highest(Box *b)
{
	struct dirent *d;
	DIR *dir;
	unsigned long k, max = 0;
	char *e;
	int fd;

	if ((fd = openat(b->boxfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || (dir = fdopendir(fd)) == NULL) {
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
loadids(Box *b)
{
	char *t = NULL, *l, *e, *w[3];
	Str s = { 0 };
	struct stat st;
	uint64_t next = 0;
	int64_t since = 0;
	unsigned long k;
	char buf[65536];
	ssize_t r;
	int fd, i, wf, ok = 0;

	b->next = 1;
	if ((fd = openat(b->boxfd, ".ids", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) >= 0) {
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size < (64 << 20))
			while ((r = read(fd, buf, sizeof buf)) > 0)
				str_addn(&s, buf, r);
		close(fd);
		str_addc(&s, 0);
		t = s.p;
	}
	if (t != NULL && (l = (char *)str_scan(t, "upas-fs-ids 3 %u %d", &next, &since)) != NULL && *l == '\n' &&
	    next > 0 && next < UINT32_MAX / 2) {
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
			addidn(b, w[2], k, wf);
		}
	}
	free(t);
	if (ok && b->nv > 1) {
		/* no id twice, no number twice */
		qsort(b->v, b->nv, sizeof *b->v, cmpidn);
		for (i = 1; ok && i < b->nv; i++)
			ok = strcmp(b->v[i - 1].id, b->v[i].id) != 0;
		{
			unsigned *nums = xmalloc(b->nv * sizeof *nums);

			for (i = 0; i < b->nv; i++)
				nums[i] = b->v[i].n;
			qsort(nums, b->nv, sizeof *nums, cmpuint);
			for (i = 1; ok && i < b->nv; i++)
				ok = nums[i - 1] != nums[i];
			free(nums);
		}
	}
	if (!ok) {
		forgetids(b);
		next = 0;
		since = 0;
		b->rebuilt = 1;	/* unknown directories are removed */
	}
	b->next = next > highest(b) ? next : highest(b) + 1;
	b->since = since;
}

static int
saveids(Box *b)
{
	Str s = { 0 };
	int fd, i, r = 0;

	str_fmt(&s, "upas-fs-ids 3 %u %lld\n", b->next, (long long)b->start);
	for (i = 0; i < b->nv; i++)
		if (b->v[i].live) {
			str_num(&s, b->v[i].n, 10);
			str_addc(&s, ' ');
			if (b->v[i].wflags < 0)
				str_addc(&s, '-');
			else
				str_num(&s, b->v[i].wflags, 10);
			str_addc(&s, ' ');
			str_word(&s, b->v[i].id);
			str_addc(&s, '\n');
		}
	unlinkat(b->boxfd, ".ids.tmp", 0);
	if ((fd = openat(b->boxfd, ".ids.tmp", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0 ||
	    fd_writeall(fd, s.p, s.n) < 0 || fsync(fd) < 0 || close(fd) < 0 ||
	    renameat(b->boxfd, ".ids.tmp", b->boxfd, ".ids") < 0) {
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

/*
 * A Maildir message's raw, an mdir's rawunix: the mailbox's own file, when
 * it holds those very octets, linked rather than copied (on one file
 * system), its write permissions taken away. 0, or -1: write a copy.
 */
static int
linkraw(Box *b, int dirfd, const char *name, const char *p, size_t n)
{
	char file[600], path[LIM_PATHNAME + 640], *buf = NULL;
	struct stat st, lt;
	size_t len;
	int same, src, dst;

	if (snprintf(path, sizeof path, "%s/%s", b->path, mb_file(b->mb, G.msg, file, sizeof file)) >= (int)sizeof path ||
	    lstat(path, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != n)
		return -1;
	same = (buf = readfileat(AT_FDCWD, path, n + 1, &len)) != NULL && len == n && memcmp(buf, p, n) == 0;
	free(buf);
	if (!same)
		return -1;
	/* a reflink where the file system has them: the octets shared, the
	 * file the tree's own */
	if ((src = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) >= 0) {
		if (fstat(src, &lt) == 0 && lt.st_ino == st.st_ino && lt.st_dev == st.st_dev &&
		    (dst = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0400)) >= 0) {
			if (ioctl(dst, FICLONE_, src) == 0 && close(dst) == 0) {
				close(src);
				return 0;
			}
			close(dst);
			unlinkat(dirfd, name, 0);
		}
		close(src);
	}
	if (linkat(AT_FDCWD, path, dirfd, name, 0) < 0)
		return -1;
	/* the file compared, and no other, is what was linked */
	if (fstatat(dirfd, name, &lt, AT_SYMLINK_NOFOLLOW) < 0 || lt.st_ino != st.st_ino || lt.st_dev != st.st_dev ||
	    fchmodat(dirfd, name, st.st_mode & 0444, 0) < 0) {
		unlinkat(dirfd, name, 0);
		return -1;
	}
	return 0;
}

/* Part p's files into dirfd, its parts into numbered directories. */
static int
putpart(Box *b, int dirfd, Msg *m, Part *p, const Mfctx *c)
{
	const char *const *name;
	char num[16];
	Str s = { 0 };
	Part *q;
	int k, fd, r = 0;

	for (name = mf_names; *name && r == 0; name++) {
		str_reset(&s);
		mf_file(m, p, c, *name, &s);
		if (p == m->root && G.msg != NULL &&
		    strcmp(*name, mb_kind(b->mb) == MB_MAILDIR ? "raw" : mb_kind(b->mb) == MB_MDIR ? "rawunix" : "") == 0 &&
		    linkraw(b, dirfd, *name, s.p ? s.p : "", s.n) == 0)
			continue;
		r = putfile(dirfd, *name, s.p ? s.p : "", s.n, strcmp(*name, "flags") == 0 && !b->ro ? 0600 : 0400);
		G.budget -= s.n;
	}
	str_free(&s);
	for (q = p->child, k = 1; q && r == 0; q = q->next, k++) {
		if (++G.parts > MAXPARTS || G.budget < 0)
			break;	/* the rest stay in raw */
		snprintf(num, sizeof num, "%d", k);
		if (mkdirat(dirfd, num, 0700) < 0 ||
		    (fd = openat(dirfd, num, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
			return -1;
		r = putpart(b, fd, m, q, c);
		close(fd);
	}
	return r;
}

/* What message i's files need from the mailbox. */
static void
ctx(Box *b, Mfctx *c, int i, Mmsg *mm)
{
	memset(c, 0, sizeof *c);
	c->sender = mb_sender(b->mb, i);
	c->date = mm->date;
	c->flags = mm->flags;
	if (mb_kind(b->mb) == MB_MDIR)
		snprintf(c->fileid, sizeof c->fileid, "%.31s", mm->id);
	else
		snprintf(c->fileid, sizeof c->fileid, "%lu.00", (unsigned long)mm->date);
}

/*
 * An IMAP account's message fetched as its header only (-C): its tag in the
 * copy ("-h", UIDVALIDITY, UID), or NULL.
 */
static const char *
stubtag(Box *b, int i, char *buf)
{
	return b->rm != NULL && b->rm->proto == RM_IMAP ? remote_tagin(mb_id(b->mb, i, buf), "h") : NULL;
}

/* Its whole text from the box's body cache (DIR/box/.bodies/HEX), made the
 * most recently used: 1, or 0 when not there. */
static int
cachedbody(Box *b, const char *tag, Str *out)
{
	char name[32];

	snprintf(name, sizeof name, ".bodies/%.16s", tag + 2);
	str_reset(out);
	if (readfileinto(b->boxfd, name, LIM_MBOXMSG, out) < 0 || out->n == 0)
		return 0;
	utimensat(b->boxfd, name, NULL, AT_SYMLINK_NOFOLLOW);
	return 1;
}

static void unlease(Box *b, unsigned n);

/* What a failed mb_read says for putmsg and reflag: -2 when another
 * program removed the message's file since the scan, -3 when another
 * rewrote the mbox since (a scan again finds it), else -1. */
static int
readfail(void)
{
	return errno == ENOENT ? -2 : errno == ESTALE ? -3 : -1;
}

/* Message i as directory n: made as n.tmp, renamed when whole. 1 when it
 * went in as its header only (a body to fetch when read), 0, or readfail's
 * -1, -2 or -3.
 * Remaking, the directory must be there: it is exchanged for the new one,
 * never removed, so nothing fs does reads as the user's deletion, even
 * after a crash; where the file system cannot exchange, it stays. */
static int
putmsg(Box *b, int i, unsigned n, int remaking)
{
	char tmp[32], dir[32], id[MB_IDLEN];
	const char *tag;
	Str raw = { 0 };
	Mfctx c;
	Mmsg *mm = mb_msg(b->mb, i);
	Msg m;
	int fd, r, stub = 0;

	snprintf(dir, sizeof dir, "%u", n);
	snprintf(tmp, sizeof tmp, "%u.tmp", n);
	unlease(b, n);
	rmtree(b->boxfd, tmp);
	if ((tag = stubtag(b, i, id)) != NULL)
		mm = NULL;	/* nothing shared with the copy: its files are leased or whole */
	if (tag == NULL || !cachedbody(b, tag, &raw)) {
		if (mb_read(b->mb, i, &raw) < 0)
			return readfail();
		stub = tag != NULL;
	}
	if (msg_parse(&m, raw.p ? raw.p : "", raw.n) < 0) {
		seterr("message %u: %s", n, lasterr());
		str_free(&raw);
		return -1;
	}
	ctx(b, &c, i, mb_msg(b->mb, i));
	G.parts = 0;
	G.budget = 16 * (int64_t)raw.n + (1 << 20);	/* deep nesting repeats a part's octets */
	r = -1;
	if (mkdirat(b->boxfd, tmp, 0700) == 0 &&
	    (fd = openat(b->boxfd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
		G.msg = mm;
		r = putpart(b, fd, &m, m.root, &c);
		G.msg = NULL;
		close(fd);
		/* a directory there is exchanged for the new one, never missing
		 * meanwhile (a crash then would read as the user's deletion) */
		if (r == 0 && syscall(SYS_renameat2, b->boxfd, tmp, b->boxfd, dir, RENAME_EXCHANGE) == 0)
			rmtree(b->boxfd, tmp);
		else if (r == 0 && remaking)
			r = -1;
		else if (r == 0 && (errno == ENOENT || (rmtree(b->boxfd, dir), 1)) &&
		    renameat(b->boxfd, tmp, b->boxfd, dir) < 0)
			r = -1;
	}
	if (r < 0) {
		seterr("%u:", n);
		rmtree(b->boxfd, tmp);
	}
	msg_free(&m);
	str_free(&raw);
	return r < 0 ? -1 : stub;
}

static Idn *
known(Box *b, int i, int nold)
{
	char buf[MB_IDLEN];
	Idn key;

	key.id = (char *)mb_id(b->mb, i, buf);
	return nold > 0 ? bsearch(&key, b->v, nold, sizeof *b->v, cmpidn) : NULL;
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
msgdir(Box *b, unsigned n)
{
	char name[16];

	snprintf(name, sizeof name, "%u", n);
	return openat(b->boxfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

static int
fromtree(Box *b, int nold)
{
	char buf[64], text[8];
	struct stat st;
	ssize_t r;
	int i, fd, dfd, want, changed = 0, known0 = 0, missing = 0;
	unsigned char *gone;
	Idn *hit;

	if (b->ro)
		return 0;
	gone = xmalloc(mb_count(b->mb) + 1);
	memset(gone, 0, mb_count(b->mb) + 1);
	for (i = 0; i < mb_count(b->mb); i++) {
		if ((hit = known(b, i, nold)) == NULL || hit->wflags < 0)
			continue;	/* never written: nothing of the user's to take */
		known0++;
		if ((dfd = msgdir(b, hit->n)) < 0) {
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
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (G.daemon && !b->quiet && st.st_mtim.tv_sec < b->since)) {
			close(fd);
			continue;
		}
		r = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (r < 0)
			continue;
		while (r > 0 && (buf[r - 1] == '\n' || buf[r - 1] == ' '))
			r--;
		buf[r] = 0;
		mf_flagtext(hit->wflags, text);
		/* a change that changes nothing, or no flags at all: the file
		 * says again what the message has */
		hit->rewrite = strcmp(buf, text) != 0;
		if ((want = mf_flags(buf, r, hit->wflags)) < 0 || want == hit->wflags)
			continue;
		/* what the file changed, over the mailbox's flags as they are now */
		mb_setflags(b->mb, i, want & ~hit->wflags, hit->wflags & ~want);
		b->pushed++;
		changed = 1;
	}
	/* every directory gone (the tree removed, a disk emptied): that is no
	 * one deleting every message; the tree is written again */
	if (missing > 0 && !(missing == known0 && known0 > 1)) {
		for (i = 0; i < mb_count(b->mb); i++)
			if (gone[i])
				mb_setflags(b->mb, i, MF_DELETED, 0), b->pushed++;
		changed = 1;
	}
	free(gone);
	if (changed && mb_sync(b->mb) < 0)
		return -1;
	return changed;
}

/* A message's flags changed since the tree was written: flags and info again.
 * -2 and -3 as putmsg's. */
static int
reflag(Box *b, int i, Idn *hit)
{
	char name[48], tmp[48];
	const char *f[] = { "flags", "info" };
	Str raw = { 0 }, s = { 0 };
	Mmsg *mm = mb_msg(b->mb, i);
	Mfctx c;
	Msg m;
	size_t k;
	int r = 0, dfd;

	if (mb_read(b->mb, i, &raw) < 0)
		return readfail();
	if (msg_parse(&m, raw.p ? raw.p : "", raw.n) < 0) {
		str_free(&raw);
		return -1;
	}
	ctx(b, &c, i, mm);
	if ((dfd = msgdir(b, hit->n)) < 0)
		r = -1;
	for (k = 0; k < nelem(f) && r == 0; k++) {
		str_reset(&s);
		mf_file(&m, m.root, &c, f[k], &s);
		snprintf(name, sizeof name, "%s", f[k]);
		snprintf(tmp, sizeof tmp, ".%s.tmp", f[k]);
		unlinkat(dfd, tmp, 0);
		r = putfile(dfd, tmp, s.p ? s.p : "", s.n, k == 0 && !b->ro ? 0600 : 0400);
		if (r == 0 && renameat(dfd, tmp, dfd, name) < 0)
			r = -1;
	}
	if (dfd >= 0)
		close(dfd);
	if (r == 0) {
		hit->wflags = mm->flags & MF_ALL;
		hit->rewrite = 0;
	}
	msg_free(&m);
	str_free(&raw);
	str_free(&s);
	return r;
}

/* A new message: -b's line, -c's program (argv: path, sender, subject). */
static void
tell(Box *b, unsigned n)
{
	char name[48], path[sizeof b->boxdir + 16], from[256], subj[256];
	char *argv[5];
	int fd;
	ssize_t r;
	pid_t pid;

	if (!G.announce && G.cmd == NULL)
		return;
	snprintf(path, sizeof path, "%s/%u", b->boxdir, n);
	from[0] = subj[0] = 0;
	snprintf(name, sizeof name, "%u/from", n);
	if ((fd = openat(b->boxfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
		r = read(fd, from, sizeof from - 1);
		from[r > 0 ? r : 0] = 0;
		close(fd);
	}
	snprintf(name, sizeof name, "%u/subject", n);
	if ((fd = openat(b->boxfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
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
	if (G.announce) {
		printf("%s\t%s\t%s\n", path, from, subj);
		fflush(stdout);
	}
	if (G.cmd != NULL) {
		argv[0] = (char *)G.cmd;
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
resetids(Box *b)
{
	int i, j;

	for (i = j = 0; i < b->nv; i++)
		if (b->v[i].live) {
			b->v[i].live = 0;
			b->v[j++] = b->v[i];
		} else
			free(b->v[i].id);
	b->nv = j;
	if (b->nv > 1)
		qsort(b->v, b->nv, sizeof *b->v, cmpidn);
	b->nsorted = b->nv;
}

static Mailbox *sortmb;
static void watchmsg(Box *b, unsigned n);
static void leasemsg(Box *b, Idn *hit);
static void run(Box *b);
static int msgindex(Box *b, const char *num);

static int
cmpmbid(const void *a, const void *b)
{
	char x[MB_IDLEN], y[MB_IDLEN];

	return strcmp(mb_id(sortmb, *(const int *)a, x), mb_id(sortmb, *(const int *)b, y));
}

/* Messages whose id another has too (a broken Maildir: one name in new/
 * and cur/): all but the first are left out of the tree. */
static unsigned char *
dupids(Box *b)
{
	int n = mb_count(b->mb), *v, i;
	unsigned char *dup = xmalloc(n + 1);
	char x[MB_IDLEN], y[MB_IDLEN];

	memset(dup, 0, n + 1);
	v = xmalloc((n + 1) * sizeof *v);
	for (i = 0; i < n; i++)
		v[i] = i;
	sortmb = b->mb;
	if (n > 1)
		qsort(v, n, sizeof *v, cmpmbid);
	for (i = 1; i < n; i++)
		if (strcmp(mb_id(b->mb, v[i - 1], x), mb_id(b->mb, v[i], y)) == 0)
			dup[v[i] > v[i - 1] ? v[i] : v[i - 1]] = 1;
	free(v);
	return dup;
}

/* After a .ids that was no use: numbered directories no message has go. */
static void
sweep(Box *b)
{
	struct dirent *d;
	DIR *dir;
	char *e;
	unsigned long k;
	int fd, i, live;
	Str names = { 0 };

	if ((fd = openat(b->boxfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || (dir = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((d = readdir(dir)) != NULL) {
		k = strtoul(d->d_name, &e, 10);
		if (e == d->d_name || (*e != 0 && strcmp(e, ".tmp") != 0))
			continue;
		for (i = live = 0; *e == 0 && i < b->nv && !live; i++)
			live = b->v[i].live && b->v[i].n == k;
		if (!live) {
			str_adds(&names, d->d_name);
			str_addc(&names, 0);
		}
	}
	closedir(dir);
	for (e = names.p; e && e < names.p + names.n; e += strlen(e) + 1)
		rmtree(b->boxfd, e);
	str_free(&names);
}

static int exportonce(Box *b);

/* A run that found the mbox rewritten under it (a reader expunged or
 * flagged meanwhile) scans again and goes on with what is left, as long
 * as each pass writes something (a busy mbox is rewritten more often than
 * a big tree is written). */
static int
export(Box *b)
{
	int idle = 0, r;

	for (;;) {
		b->stale = 0;
		b->wrote = 0;
		r = exportonce(b);
		if (!b->stale)
			return r;
		if (b->wrote == 0 && ++idle == 5) {
			fprintf(stderr, "fs: %s: rewritten by others at every try\n", b->path);
			return -1;
		}
		if (mb_refresh(b->mb) < 0) {
			fprintf(stderr, "fs: %s\n", lasterr());
			return -1;
		}
		resetids(b);
	}
}

static int
exportonce(Box *b)
{
	char ib[MB_IDLEN], name[32];
	unsigned char *dup;
	Idn *hit;
	int i, nold = b->nv, bad = 0, r;

	b->start = time(NULL);
	b->firstnew = b->next;
	if (b->treechanged && (r = fromtree(b, nold)) != 0) {
		if (r < 0) {
			/* the tree keeps what the user did; the next run tries again */
			fprintf(stderr, "fs: %s\n", lasterr());
			return -1;
		}
	}
	dup = dupids(b);
	for (i = 0; i < mb_count(b->mb); i++) {
		if (dup[i])
			continue;
		hit = known(b, i, nold);
		if (hit != NULL && !hit->live) {
			struct stat st;

			snprintf(name, sizeof name, "%u", hit->n);
			hit->live = 1;
			if (fstatat(b->boxfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
				if ((mb_msg(b->mb, i)->flags & MF_ALL) == hit->wflags && !hit->rewrite)
					continue;
				if ((r = reflag(b, i, hit)) >= 0)
					b->wrote++;
				else if (r == -2)
					hit->live = 0;	/* gone meanwhile: its directory goes */
				else if (r == -3)
					b->stale = 1;	/* flags written at the next scan */
				else {
					fprintf(stderr, "fs: %u: %s\n", hit->n, lasterr());
					bad = 1;
				}
				continue;
			}
		} else {
			hit = addidn(b, mb_id(b->mb, i, ib), b->next++, -1);
			hit->live = 1;
			b->made++;
		}
		if ((r = putmsg(b, i, hit->n, 0)) == -2) {
			/* gone since the scan (another reader expunged it): as if
			 * the scan had not found it; the next run knows */
			hit->live = 0;
			hit->wflags = -1;
			continue;
		}
		if (r == -3) {
			/* the mbox rewritten since the scan: the next one finds it */
			b->stale = 1;
			if (hit->n >= b->firstnew && hit->wflags < 0)
				hit->live = 0, b->made--;
			continue;
		}
		if (r < 0) {
			fprintf(stderr, "fs: %s\n", lasterr());
			hit->wflags = -1;	/* never taken for one the user removed */
			bad = 1;
			continue;
		}
		hit->wflags = mb_msg(b->mb, i)->flags & MF_ALL;
		b->wrote++;
		if (G.watch >= 0)
			watchmsg(b, hit->n);
		/* announced before it is leased: a -c program that reads the
		 * body would wait on us while we wait on it */
		if (hit->n >= b->firstnew && !b->quiet)
			tell(b, hit->n);
		if (r == 1)
			leasemsg(b, hit);
	}
	free(dup);
	for (i = 0; i < nold; i++)
		if (!b->v[i].live) {
			snprintf(name, sizeof name, "%u", b->v[i].n);
			unlease(b, b->v[i].n);
			rmtree(b->boxfd, name);
			b->gone++;
		}
	if (b->rebuilt) {
		sweep(b);
		b->rebuilt = 0;
	}
	if (saveids(b) < 0)
		bad = 1;
	b->since = b->start - 1;	/* a second's slack: a write in the same second is read again */
	return bad ? -1 : 0;
}

static int mkdirs(char *path);

/* The box's directory removed (the tree deleted to be rebuilt): made again,
 * what .ids knew forgotten, so no message is taken for deleted. */
static int
boxgone(Box *b)
{
	struct stat st, at;
	int fd;

	/* still there, under its name */
	if (fstat(b->boxfd, &st) == 0 && st.st_nlink > 0 && lstat(b->boxdir, &at) == 0 &&
	    at.st_dev == st.st_dev && at.st_ino == st.st_ino)
		return 0;
	if (mkdirs(b->boxdir) < 0 || (fd = open(b->boxdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		seterr("%s:", b->boxdir);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		seterr("%s: another fs works on it", b->boxdir);
		close(fd);
		return -1;
	}
	unlease(b, 0);
	close(b->boxfd);
	b->boxfd = fd;
	forgetids(b);	/* b->next stays: no number is given twice while fs runs */
	b->wbox = inotify_add_watch(G.watch, b->boxdir, IN_DELETE | IN_MOVED_FROM | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW);
	return 0;
}

static int
cmpwd(const void *a, const void *b)
{
	int x = *(const int *)a, y = ((const struct Wd *)b)->wd;

	return (x > y) - (x < y);
}

static struct Wd *
findwd(int wd)
{
	return G.nwd ? bsearch(&wd, G.wd, G.nwd, sizeof *G.wd, cmpwd) : NULL;
}

/* Watch one more message directory for a written flags file. */
static void
watchmsg(Box *b, unsigned n)
{
	char name[sizeof b->boxdir + 16];
	struct Wd *w;
	int wd, k;

	if (G.watch < 0)
		return;
	snprintf(name, sizeof name, "%s/%u", b->boxdir, n);
	if ((wd = inotify_add_watch(G.watch, name, IN_CLOSE_WRITE | IN_MOVED_TO | IN_ONLYDIR | IN_DONT_FOLLOW)) < 0)
		return;
	if ((w = findwd(wd)) != NULL) {
		G.deadwd -= w->slot == 0;
		w->slot = b->slot;
		return;
	}
	if (G.nwd == G.awd) {
		G.awd = G.awd ? G.awd * 2 : 256;
		G.wd = xrealloc(G.wd, G.awd * sizeof *G.wd);
	}
	/* the kernel gives them in increasing order, but for a wrap */
	for (k = G.nwd; k > 0 && G.wd[k - 1].wd > wd; k--)
		G.wd[k] = G.wd[k - 1];
	G.wd[k].wd = wd;
	G.wd[k].slot = b->slot;
	G.nwd++;
}

/* A watch gone: its entry marked, the table compacted when half are. */
static void
dropwd(int wd)
{
	struct Wd *w = findwd(wd);
	int i, j;

	if (w == NULL || w->slot == 0)
		return;
	w->slot = 0;
	if (++G.deadwd > G.nwd / 2) {
		for (i = j = 0; i < G.nwd; i++)
			if (G.wd[i].slot != 0)
				G.wd[j++] = G.wd[i];
		G.nwd = j;
		G.deadwd = 0;
	}
}

/* The mailbox's watches: an mbox's directory (appends, rewrites, a file put
 * in its place), a Maildir's new/ and cur/, an mdir; and the box's own
 * directory in the tree (message directories removed, the box moved). */
static int
watchbox(Box *b)
{
	char sub[LIM_PATHNAME + 8];
	const char *base = strrchr(b->path, '/') ? strrchr(b->path, '/') + 1 : b->path;
	int kind = mb_kind(b->mb), i;

	b->wmail[0] = b->wmail[1] = -1;
	if (kind == MB_MBOX) {
		snprintf(sub, sizeof sub, "%.*s", base > b->path ? (int)(base - b->path - 1) : 1, base > b->path ? b->path : ".");
		b->wmail[0] = inotify_add_watch(G.watch, sub[0] ? sub : "/", IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE);
	} else if (kind == MB_MAILDIR) {
		for (i = 0; i < 2; i++) {
			snprintf(sub, sizeof sub, "%s/%s", b->path, i ? "cur" : "new");
			b->wmail[i] = inotify_add_watch(G.watch, sub, IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ONLYDIR);
		}
	} else
		b->wmail[0] = inotify_add_watch(G.watch, b->path, IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ONLYDIR);
	b->wbox = inotify_add_watch(G.watch, b->boxdir, IN_DELETE | IN_MOVED_FROM | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW);
	if (b->wmail[0] < 0 || b->wbox < 0) {
		seterr("inotify %s:", b->path);
		return -1;
	}
	return 0;
}

/* An inotify event to the box it concerns. */
static void
event(struct inotify_event *e)
{
	struct Wd *w;
	Box *b;
	const char *base;

	for (b = G.boxes; b; b = b->link)
		if (e->wd == b->wbox) {
			/* a message's directory, or the box's own */
			if ((e->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) || (e->len > 0 && strchr(e->name, '.') == NULL))
				b->hit = b->treechanged = 1;
			return;
		}
	for (b = G.boxes; b; b = b->link)
		if (e->wd == b->wmail[0] || e->wd == b->wmail[1]) {
			/* one directory can hold several boxes' mbox files */
			base = strrchr(b->path, '/') ? strrchr(b->path, '/') + 1 : b->path;
			if (mb_kind(b->mb) == MB_MBOX)
				b->hit |= e->len > 0 && strcmp(e->name, base) == 0;
			else if (mb_kind(b->mb) == MB_MDIR)
				b->hit |= e->len > 0 && e->name[0] != '.';
			else
				b->hit |= e->len > 0;
		}
	if (e->mask & IN_Q_OVERFLOW)
		for (b = G.boxes; b; b = b->link)	/* events lost: look at everything */
			b->hit = b->treechanged = 1;
	else if (e->mask & IN_IGNORED)
		dropwd(e->wd);
	else if (e->len > 0 && strcmp(e->name, "flags") == 0 && (w = findwd(e->wd)) != NULL && w->slot != 0)
		for (b = G.boxes; b; b = b->link)
			if (b->slot == w->slot)
				b->hit = b->treechanged = 1;
}

/* The inotify events waiting, taken. */
static void
events(void)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	struct inotify_event *e;
	ssize_t r;
	char *p;

	while (G.watch >= 0 && (r = read(G.watch, buf, sizeof buf)) > 0)
		for (p = buf; p < buf + r; p += sizeof *e + e->len)
			event(e = (struct inotify_event *)p);
}

/*
 * Header-only messages (-C). Their raw, rawunix, rawbody and body are
 * leased (F_SETLEASE F_WRLCK): a reader's open waits while the daemon, told
 * by a signal, fetches the whole message, writes that file's text into the
 * very file opened and lets go. Then the message's directory is made again
 * from the whole text, parts and all, and the body cache is trimmed to -C
 * octets, the least recently used messages going back to their headers.
 */
static void
unlease(Box *b, unsigned n)
{
	int i, j;

	for (i = j = 0; i < G.nlease; i++)
		if (G.lease[i].b == b && (n == 0 || G.lease[i].n == n)) {
			fcntl(G.lease[i].fd, F_SETLEASE, F_UNLCK);
			close(G.lease[i].fd);
		} else
			G.lease[j++] = G.lease[i];
	if (j == G.nlease)
		return;
	G.nlease = j;
	for (i = 0; i < b->nv; i++)
		if (n == 0 || b->v[i].n == n)
			b->v[i].leased = 0;
}

/* Message hit's four files leased, all or none (our own open of one would
 * break the others); a reader holding one open: tried again later. */
static void
leasemsg(Box *b, Idn *hit)
{
	struct stat st;
	char p[48];
	int k, fd, ro;

	for (k = 0; G.sigfd >= 0 && k < (int)nelem(leasednames); k++) {
		if (G.nlease >= G.maxlease) {
			fprintf(stderr, "fs: %s: %u: too many files open: its body is not fetched when read\n", b->name, hit->n);
			break;
		}
		/* a file of ours: writable by this fd alone, read-only again for others */
		snprintf(p, sizeof p, "%u/%s", hit->n, leasednames[k]);
		if ((ro = openat(b->boxfd, p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0)
			break;
		fd = fstat(ro, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1 && fchmod(ro, 0600) == 0 ?
		    openat(b->boxfd, p, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) : -1;
		fchmod(ro, 0400);
		close(ro);
		if (fd < 0)
			break;
		if (fcntl(fd, F_SETSIG, SIGRTMIN + 1) < 0 || fcntl(fd, F_SETLEASE, F_WRLCK) < 0) {
			if (errno == EAGAIN)
				b->relet = 1;
			close(fd);
			break;
		}
		if (G.nlease == G.alease) {
			G.alease = G.alease ? 2 * G.alease : 64;
			G.lease = xrealloc(G.lease, G.alease * sizeof *G.lease);
		}
		G.lease[G.nlease++] = (struct Lease){ fd, b, hit->n, k };
	}
	if (k < (int)nelem(leasednames)) {
		unlease(b, hit->n);
		hit->leased = errno == EAGAIN ? 0 : -1;
	} else
		hit->leased = 1;
}

/* The Idn of message i, or NULL: a binary search of what the last run
 * sorted, then the few it added. */
static Idn *
idnof(Box *b, int i)
{
	char buf[MB_IDLEN];
	Idn key, *hit;
	int k;

	key.id = (char *)mb_id(b->mb, i, buf);
	if (b->nsorted > 0 && (hit = bsearch(&key, b->v, b->nsorted, sizeof *b->v, cmpidn)) != NULL)
		return hit->live ? hit : NULL;
	for (k = b->nsorted; k < b->nv; k++)
		if (b->v[k].live && strcmp(b->v[k].id, key.id) == 0)
			return &b->v[k];
	return NULL;
}

/*
 * Message i's directory made again as it is now (whole, or its header),
 * after what the tree says was taken: a directory the user removed is not
 * made again, a flags file they wrote is read first.
 */
static void
remake(Box *b, int i, Idn *hit)
{
	char num[16], ib[MB_IDLEN], *id = xstrdup(mb_id(b->mb, i, ib));
	struct stat st;
	unsigned n = hit->n;
	int r;

	events();
	if (b->treechanged || b->hit) {
		run(b);
		/* the run may have numbered or removed it anew */
		snprintf(num, sizeof num, "%u", n);
		if ((i = msgindex(b, num)) < 0 || strcmp(mb_id(b->mb, i, ib), id) != 0 || (hit = idnof(b, i)) == NULL)
			i = -1;
	}
	free(id);
	if (i < 0)
		return;
	snprintf(num, sizeof num, "%u", n);
	if (fstatat(b->boxfd, num, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
		return;
	if ((r = putmsg(b, i, n, 1)) < 0) {
		fprintf(stderr, "fs: %s\n", lasterr());
		return;
	}
	hit->wflags = mb_msg(b->mb, i)->flags & MF_ALL;
	if (G.watch >= 0)
		watchmsg(b, n);
	if (r == 1)
		leasemsg(b, hit);
}

struct Ent {
	char name[17];
	off_t size;
	struct timespec t;
};

static int
cmpent(const void *a, const void *b)
{
	const struct Ent *x = a, *y = b;

	return x->t.tv_sec != y->t.tv_sec ? (x->t.tv_sec > y->t.tv_sec) - (x->t.tv_sec < y->t.tv_sec) :
	    (x->t.tv_nsec > y->t.tv_nsec) - (x->t.tv_nsec < y->t.tv_nsec);
}

/* The body cache at most -C octets: the least recently used go, their
 * messages back to their headers; keep stays (just fetched). */
static void
trim(Box *b, const char *keep)
{
	struct Ent *v = NULL;
	char id[MB_IDLEN], p[32];
	const char *tag;
	struct dirent *d;
	struct stat st;
	int64_t total = 0;
	int n = 0, a = 0, j, i, fd;
	DIR *dir;
	Idn *hit;

	if ((fd = openat(b->boxfd, ".bodies", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    (dir = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((d = readdir(dir)) != NULL)
		if (strlen(d->d_name) == 16 && fstatat(fd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			if (n == a)
				v = xrealloc(v, (a = a ? 2 * a : 64) * sizeof *v);
			memcpy(v[n].name, d->d_name, sizeof v[n].name);
			v[n].size = st.st_size;
			v[n++].t = st.st_mtim;
			total += st.st_size;
		}
	closedir(dir);
	qsort(v, n, sizeof *v, cmpent);
	for (j = 0; j < n && total > G.cachemax; j++) {
		if (strcmp(v[j].name, keep) == 0)
			continue;
		snprintf(p, sizeof p, ".bodies/%s", v[j].name);
		if (unlinkat(b->boxfd, p, 0) < 0)
			continue;
		total -= v[j].size;
		for (i = 0; i < mb_count(b->mb); i++)
			if ((tag = stubtag(b, i, id)) != NULL && strncmp(tag + 2, v[j].name, 16) == 0) {
				if ((hit = idnof(b, i)) != NULL && hit->wflags >= 0)
					remake(b, i, hit);
				break;
			}
	}
	free(v);
}

/* Message i whole: from the body cache, else fetched (and cached) when a
 * header-only one; else the mailbox's. 0 or -1. */
static int
wholemsg(Box *b, int i, Str *out)
{
	char id[MB_IDLEN], name[32], tmp[40], vh[9];
	const char *tag;
	int fd, ok;

	if ((tag = stubtag(b, i, id)) == NULL)
		return mb_read(b->mb, i, out);
	if (cachedbody(b, tag, out))
		return 0;
	snprintf(vh, sizeof vh, "%.8s", tag + 2);
	if (imap_fetch(b->rm, G.login, strtoul(vh, NULL, 16), strtoul(tag + 10, NULL, 16) & 0xffffffff, out) < 0)
		return -1;
	/* into the cache whole or not at all */
	snprintf(name, sizeof name, ".bodies/%.16s", tag + 2);
	snprintf(tmp, sizeof tmp, "%s.tmp", name);
	mkdirat(b->boxfd, ".bodies", 0700);
	unlinkat(b->boxfd, tmp, 0);
	if ((fd = openat(b->boxfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) >= 0) {
		ok = fd_writeall(fd, out->p, out->n) == 0 && fsync(fd) == 0;
		close(fd);
		if (!ok || renameat(b->boxfd, tmp, b->boxfd, name) < 0)
			unlinkat(b->boxfd, tmp, 0);
	}
	return 0;
}

/* A reader opened a leased file of message l.n: the message fetched, every
 * leased file of it filled with its text (other readers may wait on them
 * too), the leases let go, the directory made whole. */
static void
fetchbody(struct Lease l)
{
	char num[16], id[MB_IDLEN], hex[17];
	const char *tag;
	Box *b = l.b;
	Str full = { 0 }, s = { 0 };
	Mfctx c;
	Msg m;
	Idn *hit = NULL;
	int i, k, ok = 0;

	snprintf(num, sizeof num, "%u", l.n);
	if ((i = msgindex(b, num)) >= 0 && (tag = stubtag(b, i, id)) != NULL && (hit = idnof(b, i)) != NULL) {
		snprintf(hex, sizeof hex, "%.16s", tag + 2);
		if (wholemsg(b, i, &full) < 0)
			fprintf(stderr, "fs: %s: %u: %s\n", b->name, l.n, lasterr());
		else if (msg_parse(&m, full.p ? full.p : "", full.n) == 0) {
			ctx(b, &c, i, mb_msg(b->mb, i));
			for (k = ok = 0; k < G.nlease; k++)
				if (G.lease[k].b == b && G.lease[k].n == l.n) {
					str_reset(&s);
					mf_file(&m, m.root, &c, leasednames[G.lease[k].k], &s);
					ok += pwrite(G.lease[k].fd, s.p ? s.p : "", s.n, 0) == (ssize_t)s.n &&
					    ftruncate(G.lease[k].fd, s.n) == 0;
				}
			ok = ok == (int)nelem(leasednames);
			msg_free(&m);
		}
	}
	unlease(b, l.n);	/* the readers go on */
	if (ok) {
		remake(b, i, hit);
		trim(b, hex);
	} else
		b->relet = 1;	/* leased again when the readers let go */
	str_free(&full);
	str_free(&s);
}

/* The leases a signal says are breaking (SIGIO: the signal queue overflowed,
 * so every lease is looked at). A lease no longer ours is a stale signal. */
static void
leasebreaks(void)
{
	struct signalfd_siginfo si;
	int i, all = 0;

	while (read(G.sigfd, &si, sizeof si) == sizeof si) {
		if (si.ssi_signo == SIGIO) {
			all = 1;
			continue;
		}
		for (i = 0; i < G.nlease; i++)
			if (G.lease[i].fd == (int)si.ssi_fd) {
				if (fcntl(G.lease[i].fd, F_GETLEASE) != F_WRLCK)
					fetchbody(G.lease[i]);
				break;
			}
	}
	for (i = 0; all && i < G.nlease; i++)
		if (fcntl(G.lease[i].fd, F_GETLEASE) != F_WRLCK) {
			fetchbody(G.lease[i]);
			i = -1;	/* the table changed */
		}
}

/* Header-only messages whose files are not leased: leased (after a restart,
 * or readers that held a file open); one the cache has whole is made whole. */
static void
relet(Box *b)
{
	char id[MB_IDLEN], p[32];
	const char *tag;
	struct stat st;
	Idn *hit;
	int i;

	b->relet = 0;
	for (i = 0; i < mb_count(b->mb); i++)
		if ((tag = stubtag(b, i, id)) != NULL && (hit = idnof(b, i)) != NULL && hit->leased == 0 && hit->wflags >= 0) {
			snprintf(p, sizeof p, ".bodies/%.16s", tag + 2);
			if (faccessat(b->boxfd, p, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
				leasemsg(b, hit);
			else {
				/* a header-only directory has an empty rawbody */
				snprintf(p, sizeof p, "%u/rawbody", hit->n);
				if (fstatat(b->boxfd, p, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_size == 0)
					remake(b, i, hit);
			}
		}
}

/* One more run of a box that was exported before; after a ctl command the
 * tree is looked at too, for what inotify has not told yet. */
static void
run(Box *b)
{
	b->hit = 0;
	b->treechanged |= G.inctl;
	if (boxgone(b) < 0 || mb_refresh(b->mb) < 0) {
		fprintf(stderr, "fs: %s\n", lasterr());
		return;
	}
	resetids(b);
	b->made = b->gone = 0;
	if (export(b) < 0)
		fprintf(stderr, "fs: %s: not all written\n", b->boxdir);
	else
		b->treechanged = 0;
	if (G.verbose)
		fprintf(stderr, "fs: %s: %d messages, %d new, %d gone\n", b->boxdir, mb_count(b->mb), b->made, b->gone);
	if (b->rm && b->pushed)
		b->due = 0;	/* the tree's deletions to the server soon */
	b->pushed = 0;
}

/* A remote account and its local copy together; errors reported. 0 or -1. */
static int
remotesync(const Remote *rm, const char *path)
{
	int got, gone;

	if (remote_sync(rm, G.login, path, &got, &gone) < 0) {
		fprintf(stderr, "fs: %s: %s\n", rm->host, lasterr());
		return -1;
	}
	if (G.verbose)
		fprintf(stderr, "fs: %s: %d fetched, %d deleted on the server\n", rm->host, got, gone);
	return 0;
}

/*
 * An IMAP account's watcher: a child holding an IDLE session, which writes
 * a byte to b->idlefd when the server says the mailbox changed, so the copy
 * syncs at once rather than at its next refresh. One that ends starts again
 * no sooner than a refresh later; a server without IDLE has the refresh only.
 */
static void
idlestart(Box *b)
{
	pid_t pid, parent = getpid();
	int p[2], r;

	if (b->idler > 0 || b->noidle || b->rm == NULL || b->rm->proto != RM_IMAP || b->idledue > now_ms())
		return;
	b->idledue = now_ms() + G.refresh * 1000LL;
	if (pipe2(p, O_CLOEXEC) < 0)
		return;
	fflush(stderr);
	if ((pid = fork()) == 0) {
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent || dup2(p[1], 3) < 0)
			_exit(1);
		proc_closefrom(4);	/* the tree's lock, inotify, ctl, mailboxes */
		r = imap_idle(b->rm, G.login, 3);
		if (r < 0 && G.verbose)
			fprintf(stderr, "fs: %s: IDLE: %s\n", b->rm->host, lasterr());
		_exit(r > 0 ? 2 : 1);
	}
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return;
	}
	b->idler = pid;
	b->idlefd = p[0];
}

/* What the watcher wrote: a sync due now. Its end: reaped. */
static void
idleread(Box *b)
{
	char buf[64];
	ssize_t n;
	int st;

	if ((n = read(b->idlefd, buf, sizeof buf)) > 0) {
		b->due = now_ms();
		return;
	}
	if (n < 0 && errno == EINTR)
		return;
	close(b->idlefd);
	b->idlefd = -1;
	if (waitpid(b->idler, &st, 0) == b->idler && WIFEXITED(st) && WEXITSTATUS(st) == 2) {
		b->noidle = 1;
		if (G.verbose)
			fprintf(stderr, "fs: %s: no IDLE: synced every %d s\n", b->rm->host, G.refresh);
	}
	b->idler = 0;
}

static void
idlestop(Box *b)
{
	if (b->idler <= 0)
		return;
	kill(b->idler, SIGKILL);	/* it may not have its own handlers yet */
	close(b->idlefd);
	waitpid(b->idler, NULL, 0);
	b->idler = 0;
	b->idlefd = -1;
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

/* A mailbox named as -f and ctl do: relative to ROOT/box/LOGIN unless it
 * starts with /, ./ or ../. */
static int
boxpath(char *path, size_t n, const char *file)
{
	char top[LIM_PATHNAME];

	if (file[0] == '/' || strncmp(file, "./", 2) == 0 || strncmp(file, "../", 3) == 0) {
		if (snprintf(path, n, "%s", file) >= (int)n)
			return -1;
	} else if (upas_path(top, sizeof top, "box", G.login, NULL) < 0 || snprintf(path, n, "%s/%s", top, file) >= (int)n)
		return -1;
	while (strlen(path) > 1 && path[strlen(path) - 1] == '/')
		path[strlen(path) - 1] = 0;
	return 0;
}

static Box *
findbox(const char *name)
{
	Box *b;

	for (b = G.boxes; b; b = b->link)
		if (strcmp(b->name, name) == 0)
			return b;
	seterr("%s: no such box open", name);
	return NULL;
}

/* The box whose mailbox is the file at path, or NULL. */
static Box *
boxof(const char *path)
{
	struct stat st, bt;
	Box *b;

	if (lstat(path, &st) < 0)
		return NULL;
	for (b = G.boxes; b; b = b->link)
		if (lstat(b->path, &bt) == 0 && bt.st_dev == st.st_dev && bt.st_ino == st.st_ino)
			return b;
	return NULL;
}

/* Stop keeping a box; its directory in the tree goes with rm. */
static void
closebox(Box *b, int rm)
{
	Box **l, *o;
	int i, k, shared;

	for (l = &G.boxes; *l != b; l = &(*l)->link)
		;
	*l = b->link;
	idlestop(b);
	unlease(b, 0);
	if (G.watch >= 0) {
		inotify_rm_watch(G.watch, b->wbox);
		for (k = 0; k < 2; k++) {
			for (o = G.boxes, shared = 0; o; o = o->link)
				shared |= b->wmail[k] >= 0 && (o->wmail[0] == b->wmail[k] || o->wmail[1] == b->wmail[k]);
			if (b->wmail[k] >= 0 && !shared)
				inotify_rm_watch(G.watch, b->wmail[k]);
		}
		for (i = 0; i < G.nwd; i++)
			if (G.wd[i].slot == b->slot) {
				G.wd[i].slot = 0;
				G.deadwd++;
			}
	}
	mb_purge(b->mb);
	mb_close(b->mb);
	if (rm)
		rmtree(AT_FDCWD, b->boxdir);
	if (b->boxfd >= 0)
		close(b->boxfd);
	forgetids(b);
	free(b->v);
	free(b->name);
	free(b->path);
	free(b->rm);
	free(b);
}

/* A box's directory in the tree: one component, not hidden, not ctl. */
static int
treename(const char *s)
{
	return name_ok(s) && s[0] != '.' && strcmp(s, "ctl") != 0;
}

/*
 * Open the mailbox file (as -f names it) as the box name (default: its
 * last name) and bring it and the tree together. The box, or NULL (errno,
 * lasterr); *bad when not every message could be written.
 */
static Box *
openbox(const char *file, const char *name, int *bad)
{
	char path[LIM_PATHNAME];
	const char *base;
	Remote rm;
	Box *b, *o;
	int slot = 1, i;

	*bad = 0;
	if ((i = remote_parse(file, &rm)) != 0) {
		if (i < 0 || remote_cache(&rm, G.login, path, sizeof path) < 0) {
			if (i > 0)
				seterr("%s: name too long", file);
			G.exit = EX_USAGE;
			return NULL;
		}
		/* the account into its copy; when it cannot be reached, -x fails
		 * and the daemon goes on with the copy as it is */
		if (remotesync(&rm, path) < 0 && (!G.daemon || mb_type(path) != MB_MAILDIR)) {
			G.exit = EX_UNAVAILABLE;
			return NULL;
		}
	} else if (boxpath(path, sizeof path, file) < 0) {
		seterr("%s: name too long", file);
		G.exit = EX_USAGE;
		return NULL;
	}
	base = name ? name : strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	if (!treename(base)) {
		seterr("%s: no name for its directory", base);
		G.exit = EX_USAGE;
		return NULL;
	}
	for (o = G.boxes; o; o = o->link)
		if (strcmp(o->name, base) == 0) {
			seterr("%s: open already", base);
			return NULL;
		}
	/* a free slot: the lowest no box has */
	for (slot = 1; slot < 256; slot++) {
		for (o = G.boxes; o && o->slot != slot; o = o->link)
			;
		if (o == NULL)
			break;
	}
	if (slot == 256) {
		seterr("too many boxes open");
		return NULL;
	}
	if ((o = boxof(path)) != NULL) {
		seterr("%s: open already as %s", path, o->name);
		return NULL;
	}
	b = xmalloc(sizeof *b);
	memset(b, 0, sizeof *b);
	b->slot = slot;
	if ((b->mb = mb_open(path, MB_RDWR)) == NULL && (errno == EACCES || errno == EROFS || errno == EPERM)) {
		b->mb = mb_open(path, MB_RDONLY);
		b->ro = 1;
	}
	if (b->mb == NULL) {
		G.exit = errno == ENOENT ? EX_NOINPUT : EX_IOERR;
		free(b);
		return NULL;
	}
	b->name = xstrdup(base);
	b->path = xstrdup(path);
	if (rm.proto) {
		b->rm = xmalloc(sizeof rm);
		*b->rm = rm;
		b->due = now_ms() + G.refresh * 1000LL;
		b->relet = G.cachemax > 0;	/* a tree from before: its header-only messages leased */
	}
	b->wbox = b->wmail[0] = b->wmail[1] = b->idlefd = -1;
	snprintf(b->boxdir, sizeof b->boxdir, "%s/%s", G.top, base);
	b->link = G.boxes;
	G.boxes = b;
	if (mkdirs(b->boxdir) < 0 ||
	    (b->boxfd = open(b->boxdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		seterr("%s:", b->boxdir);
		b->boxfd = -1;
		closebox(b, 0);
		G.exit = EX_CANTCREAT;
		return NULL;
	}
	if (flock(b->boxfd, LOCK_EX | LOCK_NB) < 0) {
		seterr("%s: another fs works on it", b->boxdir);
		closebox(b, 0);
		G.exit = EX_TEMPFAIL;
		return NULL;
	}
	loadids(b);
	b->quiet = 1;
	b->treechanged = 1;
	if (G.watch >= 0 && watchbox(b) < 0) {
		closebox(b, 0);
		G.exit = EX_OSERR;
		return NULL;
	}
	if (export(b) < 0) {
		fprintf(stderr, "fs: %s: not all written\n", b->boxdir);
		*bad = 1;
	} else
		b->treechanged = 0;
	for (i = 0; i < b->nv; i++)
		if (b->v[i].live)
			watchmsg(b, b->v[i].n);
	b->quiet = 0;
	if (G.verbose)
		fprintf(stderr, "fs: %s: %d messages, %d new, %d gone\n", b->boxdir, mb_count(b->mb), b->made, b->gone);
	if (b->rm && b->pushed)
		b->due = 0;	/* the tree's deletions to the server soon */
	if (b->rm && b->pushed && !G.daemon && remotesync(b->rm, b->path) < 0)
		*bad = 1;
	b->pushed = 0;
	return b;
}

/* Message number num of box b: its index in the mailbox, or -1. */
static int
msgindex(Box *b, const char *num)
{
	char buf[MB_IDLEN], *e;
	unsigned long n = strtoul(num, &e, 10);
	const char *id = NULL;
	int i;

	for (i = 0; e != num && *e == 0 && i < b->nv && id == NULL; i++)
		if (b->v[i].live && b->v[i].n == n)
			id = b->v[i].id;
	for (i = 0; id != NULL && i < mb_count(b->mb); i++)
		if (strcmp(mb_id(b->mb, i, buf), id) == 0)
			return i;
	seterr("%s: no message %s", b->name, num);
	return -1;
}

/*
 * delete BOX N...; flag BOX N FLAGS [N FLAGS]...: every number checked
 * first, then the flags written under the mailbox's locks, and the tree
 * follows.
 */
static int
change(Box *b, char **av, int ac, int del)
{
	int k, n = 0, *at = xmalloc((ac + 1) * sizeof *at), *want = xmalloc((ac + 1) * sizeof *want), cur, r = -1;

	if (b->ro)
		seterr("%s: read-only", b->name);
	else if (ac == 0 || (!del && ac % 2))
		seterr(del ? "no message" : "numbers and flags in pairs");
	else {
		for (k = 0; k < ac; k += del ? 1 : 2, n++) {
			if ((at[n] = msgindex(b, av[k])) < 0)
				goto out;
			cur = mb_msg(b->mb, at[n])->flags & MF_ALL;
			if ((want[n] = del ? cur | MF_DELETED : mf_flags(av[k + 1], strlen(av[k + 1]), cur)) < 0) {
				seterr("%s: bad flags", av[k + 1]);
				goto out;
			}
		}
		for (k = 0; k < n; k++) {
			cur = mb_msg(b->mb, at[k])->flags & MF_ALL;
			mb_setflags(b->mb, at[k], want[k] & ~cur, cur & ~want[k]);
		}
		if ((r = mb_sync(b->mb)) == 0) {
			b->pushed++;
			run(b);
		}
	}
out:
	free(at);
	free(want);
	return r;
}

/* A message's octets as a mailbox keeps them: CR before LF and a last
 * newline do not count. */
static uint64_t
msgsum(const char *p, size_t n)
{
	uint64_t h = 0;
	size_t i, st;

	if (n > 0 && p[n - 1] == '\n')
		n--;
	for (i = st = 0; i < n; i++)
		if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n') {
			h = mb_hash(h, p + st, i - st);
			st = i + 1;
		}
	return mb_hash(h, p + st, n - st);
}

/*
 * move BOX N... TARGET: each message appended to the mailbox TARGET
 * (durably, as mb_append does) with its flags, then deleted from BOX. A
 * copy that fails takes back the ones made.
 */
static int
move(Box *b, char **av, int ac)
{
	char path[LIM_PATHNAME], **where = NULL, err[512];
	int *at = NULL, *put = NULL, k, i, n = ac - 1, r = -1, undo = 0;
	uint64_t *sum = NULL;
	Mailbox *t;
	Str raw = { 0 };

	if (ac < 2 || boxpath(path, sizeof path, av[ac - 1]) < 0) {
		seterr("messages and a mailbox");
		return -1;
	}
	if (b->ro || boxof(path) == b) {
		seterr(b->ro ? "%s: read-only" : "%s: move within itself", b->name);
		return -1;
	}
	at = xmalloc(n * sizeof *at);
	put = xmalloc(n * sizeof *put);
	sum = xmalloc(n * sizeof *sum);
	where = xmalloc(n * sizeof *where);
	memset(where, 0, n * sizeof *where);
	for (k = 0; k < n; k++)
		if ((at[k] = msgindex(b, av[k])) < 0)
			goto out;
	for (k = 0; k < n && !undo; k++) {
		str_reset(&raw);
		if (wholemsg(b, at[k], &raw) < 0 ||	/* a header-only one fetched first */
		    mb_append(path, mb_sender(b->mb, at[k]), mb_msg(b->mb, at[k])->date, raw.p ? raw.p : "", raw.n) < 0) {
			snprintf(err, sizeof err, "%s", lasterr());
			undo = 1;
		} else {
			where[k] = xstrdup(mb_appended);
			sum[k] = msgsum(raw.p, raw.n);
		}
	}
	/* the copies found again, each checked to be the one made (an mbox's
	 * offset can be another's after an expunge meanwhile): their flags
	 * set, or they are taken back */
	i = -1;
	if ((t = mb_open(path, MB_RDWR)) != NULL) {
		mb_findput(t, (const char *const *)where, n, put);
		for (k = 0; k < n; k++) {
			str_reset(&raw);
			if (put[k] >= 0 && mb_read(t, put[k], &raw) == 0 && msgsum(raw.p, raw.n) == sum[k])
				mb_setflags(t, put[k], undo ? MF_DELETED : mb_msg(b->mb, at[k])->flags & MF_ALL & ~MF_DELETED, 0);
		}
		i = mb_sync(t);
		mb_purge(t);
		mb_close(t);
	}
	if (undo) {
		seterr(i < 0 ? "%s (and the copies made stay)" : "%s", err);
		goto out;
	}
	if (i < 0) {
		snprintf(err, sizeof err, "%s", lasterr());
		seterr("%s: the copies' flags: %s; nothing deleted", path, err);
		goto out;
	}
	for (k = 0; k < n; k++)
		mb_setflags(b->mb, at[k], MF_DELETED, 0);
	if ((r = mb_sync(b->mb)) == 0) {
		b->pushed++;
		run(b);
	}
out:
	for (k = 0; k < n; k++)
		free(where[k]);
	free(where);
	free(at);
	free(put);
	free(sum);
	str_free(&raw);
	return r;
}

/* A name in ROOT/box/LOGIN as IMAP's functions take it (modified UTF-7). */
static int
wirename(Str *w, const char *name)
{
	str_reset(w);
	if (name[0] == '/' || strncmp(name, "./", 2) == 0 || strncmp(name, "../", 3) == 0) {
		seterr("%s: not a name in the mail store", name);
		return -1;
	}
	imap_mutf7_encode(name, strlen(name), w);
	str_addc(w, 0);
	return 0;
}

static int
collect(void *arg, const char *name, const char *attrs)
{
	str_adds(arg, name);
	str_addc(arg, 0);
	return 0;
}

/* One mailbox removed, or with -t emptied; an open box with it. */
static int
rmone(const char *wire, int trunc)
{
	char path[LIM_PATHNAME], err[LIM_PATHNAME + 256], *name = NULL;
	Mailbox *mb;
	Box *b;
	int i, r;

	if (imap_boxpath(path, sizeof path, G.login, wire) < 0)
		return -1;
	b = boxof(path);
	if (!trunc) {
		/* the box closed first, its tree kept until the mailbox is gone */
		if (b != NULL) {
			name = xstrdup(b->name);
			closebox(b, 0);
		}
		if ((r = imap_delete(G.login, wire)) < 0) {
			snprintf(err, sizeof err, "%s", lasterr());
			if (name != NULL && openbox(path, name, &i) == NULL)
				fprintf(stderr, "fs: %s: %s\n", name, lasterr());
			seterr("%s: %s", wire, err);
		} else if (name != NULL) {
			snprintf(err, sizeof err, "%s/%s", G.top, name);
			rmtree(AT_FDCWD, err);
		}
		free(name);
		return r;
	}
	if ((mb = b ? b->mb : mb_open(path, MB_RDWR)) == NULL)
		return -1;
	for (i = 0; i < mb_count(mb); i++)
		mb_setflags(mb, i, MF_DELETED, 0);
	r = mb_sync(mb);
	if (b != NULL && r == 0)
		run(b);
	if (b == NULL) {
		mb_purge(mb);
		mb_close(mb);
	}
	return r;
}

/* remove [-r] [-t] NAME...: -r its mailboxes within first, -t emptied, not removed. */
static int
rmboxes(char **av, int ac)
{
	Str w = { 0 }, pat = { 0 }, kids = { 0 };
	int k, rec = 0, trunc = 0, r = 0;
	char *p, *last;

	for (k = 0; k < ac && av[k][0] == '-' && av[k][1]; k++)
		for (p = av[k] + 1; *p; p++)
			if (*p == 'r')
				rec = 1;
			else if (*p == 't')
				trunc = 1;
			else {
				seterr("-%c: no such option", *p);
				return -1;
			}
	if (k == ac) {
		seterr("no mailbox");
		return -1;
	}
	for (; k < ac && r == 0; k++) {
		if (wirename(&w, av[k]) < 0) {
			r = -1;
			break;
		}
		if (rec) {
			str_reset(&pat);
			str_fmt(&pat, "%s/*", w.p);
			str_reset(&kids);
			imap_list(G.login, "", pat.p, collect, &kids);
			/* listed parents first: taken from the end, children go first */
			while (r == 0 && kids.n > 0) {
				for (last = kids.p + kids.n - 1; last > kids.p && last[-1]; last--)
					;
				r = rmone(last, trunc);
				kids.n = last - kids.p;
			}
		}
		if (r == 0)
			r = rmone(w.p, trunc);
	}
	str_free(&w);
	str_free(&pat);
	str_free(&kids);
	return r;
}

/* rename [-t] OLD NEW: side files and mailboxes within go along; -t leaves
 * an empty OLD. Boxes open on OLD, or on a mailbox within, keep their
 * names and trees, opened again where their mailboxes went. */
static int
renamebox(char **av, int ac)
{
	char path[LIM_PATHNAME], npath[LIM_PATHNAME], p[2 * LIM_PATHNAME], *bp, **names = NULL, **rest = NULL;
	Str o = { 0 }, n = { 0 };
	int trunc = ac > 0 && strcmp(av[0], "-t") == 0, r = -1, kind, bad, k, nb = 0;
	size_t l;
	Box *b, *next;

	av += trunc;
	ac -= trunc;
	if (ac != 2) {
		seterr("an old name and a new");
		return -1;
	}
	if (wirename(&o, av[0]) < 0 || wirename(&n, av[1]) < 0 || imap_boxpath(path, sizeof path, G.login, o.p) < 0 ||
	    imap_boxpath(npath, sizeof npath, G.login, n.p) < 0)
		goto out;
	kind = mb_type(path);
	/* the box on it (however named), and boxes named within it */
	for (b = G.boxes, l = strlen(path); b; b = next) {
		next = b->link;
		bp = b->path;
		if (b == boxof(path) || (strncmp(bp, path, l) == 0 && bp[l] == '/')) {
			names = xrealloc(names, (nb + 1) * sizeof *names);
			rest = xrealloc(rest, (nb + 1) * sizeof *rest);
			names[nb] = xstrdup(b->name);
			rest[nb++] = xstrdup(b == boxof(path) ? "" : bp + l);
			closebox(b, 0);
		}
	}
	if ((r = imap_rename(G.login, o.p, n.p)) == 0 && trunc && mb_type(path) < 0)
		r = imap_create(G.login, o.p, kind);
	if (r < 0)
		snprintf(p, sizeof p, "%s", lasterr());
	for (k = 0; k < nb; k++) {
		if (snprintf(p + LIM_PATHNAME, LIM_PATHNAME, "%s%s", r == 0 ? npath : path, rest[k]) >= LIM_PATHNAME)
			fprintf(stderr, "fs: %s: name too long\n", names[k]);
		else if (openbox(p + LIM_PATHNAME, names[k], &bad) == NULL)
			fprintf(stderr, "fs: %s: %s\n", names[k], lasterr());
		free(names[k]);
		free(rest[k]);
	}
	if (r < 0)
		seterr("%.*s", LIM_PATHNAME - 1, p);
out:
	free(names);
	free(rest);
	str_free(&o);
	str_free(&n);
	return r;
}

/* create NAME [BOX]: a new mdir in ROOT/box/LOGIN, opened; taken back when
 * it cannot be. */
static int
createbox(const char *name, const char *as)
{
	char path[LIM_PATHNAME];
	Str w = { 0 };
	int r = -1, bad;

	if (wirename(&w, name) == 0 && imap_boxpath(path, sizeof path, G.login, w.p) == 0 &&
	    imap_create(G.login, w.p, MB_MDIR) == 0) {
		if (openbox(path, as ? as : strrchr(name, '/') ? strrchr(name, '/') + 1 : name, &bad) != NULL)
			r = 0;
		else
			rmdir(path);
	}
	str_free(&w);
	return r;
}

/* Words of a ctl line, quoted as rc does ('it''s'); their count, or -1. */
static int
words(char *s, char **w, int max)
{
	int n = 0;
	char *o, c;

	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == '\r')
			s++;
		if (*s == 0)
			return n;
		if (n == max)
			return -1;
		w[n++] = o = s;
		while (*s && *s != ' ' && *s != '\t' && *s != '\r') {
			if (*s != '\'') {
				*o++ = *s++;
				continue;
			}
			for (s++; *s && (*s != '\'' || s[1] == '\''); s++) {
				if (*s == '\'')
					s++;
				*o++ = *s;
			}
			if (*s++ == 0)
				return -1;
		}
		c = *s;
		*o = 0;
		if (c)
			s++;
	}
}

/* One line written to DIR/ctl; errors go to standard error. */
static void
ctlline(char *line)
{
	char *av[256];
	int ac = words(line, av, nelem(av)), r = -1, bad, k;
	Box *b;

	if (ac <= 0) {
		if (ac < 0)
			fprintf(stderr, "fs: ctl: unbalanced quote or too many words\n");
		return;
	}
	if (strcmp(av[0], "open") == 0 || strcmp(av[0], "create") == 0) {
		if (ac < 2 || ac > 3)
			seterr("a mailbox and a name");
		else if (av[0][0] == 'o')
			r = openbox(av[1], ac == 3 ? av[2] : NULL, &bad) ? 0 : -1;
		else
			r = createbox(av[1], ac == 3 ? av[2] : NULL);
	} else if (strcmp(av[0], "close") == 0) {
		if (ac == 1)
			seterr("no box");
		for (k = 1, r = ac > 1 ? 0 : -1; k < ac; k++)
			if ((b = findbox(av[k])) == NULL)
				r = -1;
			else
				closebox(b, 1);
	} else if (strcmp(av[0], "delete") == 0 || strcmp(av[0], "flag") == 0 || strcmp(av[0], "move") == 0) {
		if (ac < 2)
			seterr("no box");
		else if ((b = findbox(av[1])) != NULL)
			r = av[0][0] == 'm' ? move(b, av + 2, ac - 2) : change(b, av + 2, ac - 2, av[0][0] == 'd');
	} else if (strcmp(av[0], "remove") == 0)
		r = rmboxes(av + 1, ac - 1);
	else if (strcmp(av[0], "rename") == 0)
		r = renamebox(av + 1, ac - 1);
	else
		seterr("unknown ctl message");
	if (r < 0)
		fprintf(stderr, "fs: ctl: %s: %s\n", ac > 0 ? av[0] : "", lasterr());
}

static volatile sig_atomic_t stop;

static void
onterm(int sig)
{
	stop = 1;
}

/*
 * DIR/ctl, a named pipe: each line a command. It is made again when gone
 * (the tree removed), and anything else in its place is replaced.
 */
static void
ctlcheck(void)
{
	char p[LIM_PATHNAME + 8];
	struct stat st, ct;
	int fd;

	snprintf(p, sizeof p, "%s/ctl", G.top);
	if (lstat(p, &st) == 0 && S_ISFIFO(st.st_mode) && G.ctl >= 0 && fstat(G.ctl, &ct) == 0 &&
	    st.st_ino == ct.st_ino && st.st_dev == ct.st_dev)
		return;
	if (lstat(p, &st) == 0 && !S_ISFIFO(st.st_mode) && unlink(p) < 0)
		return;
	/* the tree made again: locked again, or another daemon has it */
	if (mkdirs(G.top) < 0 || lstat(G.top, &st) < 0 || fstat(G.topfd, &ct) < 0)
		return;
	if (st.st_ino != ct.st_ino || st.st_dev != ct.st_dev) {
		if ((fd = open(G.top, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
			return;
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			fprintf(stderr, "fs: %s: another fs serves it now\n", G.top);
			close(fd);
			stop = 1;
			return;
		}
		close(G.topfd);
		G.topfd = fd;
	}
	if ((mkfifo(p, 0600) < 0 && errno != EEXIST) ||
	    (fd = open(p, O_RDWR | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		fprintf(stderr, "fs: %s: %s\n", p, strerror(errno));
		return;
	}
	if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode)) {
		close(fd);
		return;
	}
	if (G.ctl >= 0)
		close(G.ctl);
	G.ctl = fd;
	G.nctl = 0;
}

/* What DIR/ctl holds: whole lines are done; a line longer than the
 * buffer is dropped up to its end. */
static void
readctl(void)
{
	char *nl;
	ssize_t r;

	while ((r = read(G.ctl, G.ctlbuf + G.nctl, sizeof G.ctlbuf - 1 - G.nctl)) > 0) {
		G.nctl += r;
		while ((nl = memchr(G.ctlbuf, '\n', G.nctl)) != NULL) {
			*nl = 0;
			G.inctl = 1;
			if (!G.ctlskip)
				ctlline(G.ctlbuf);
			G.inctl = 0;
			G.ctlskip = 0;
			G.nctl -= nl + 1 - G.ctlbuf;
			memmove(G.ctlbuf, nl + 1, G.nctl);
		}
		if (G.nctl == sizeof G.ctlbuf - 1) {
			if (!G.ctlskip)
				fprintf(stderr, "fs: ctl: line too long\n");
			G.ctlskip = 1;
			G.nctl = 0;
		}
	}
}


/*
 * The daemon: a run of a box each time its mailbox or its tree changes
 * (inotify, events gathered for 50 ms: the mailbox's file or directories,
 * the tree's removed directories and written flags files), and what comes
 * on DIR/ctl. Our own writes in the tree are renames of files not watched
 * or of flags files already as the mailbox has them, so runs settle.
 */
static void
serve(void)
{
	struct pollfd pf[3 + 256];
	Box *b, *nb, *ib[256];
	int i, ni;

	signal(SIGTERM, onterm);
	signal(SIGINT, onterm);
	signal(SIGHUP, onterm);
	signal(SIGPIPE, SIG_IGN);
	while (!stop) {
		ctlcheck();
		/* remote accounts due: their copies change, inotify tells */
		ni = 0;
		for (b = G.boxes; b; b = b->link) {
			if (b->rm && b->due <= now_ms()) {
				remotesync(b->rm, b->path);
				b->due = now_ms() + G.refresh * 1000LL;
			}
			idlestart(b);
			if (b->idler > 0 && ni < (int)nelem(ib)) {
				ib[ni] = b;
				pf[3 + ni].fd = b->idlefd;
				pf[3 + ni++].events = POLLIN;
			}
			if (b->relet)
				relet(b);
		}
		pf[0].fd = G.watch;
		pf[1].fd = G.ctl;
		pf[2].fd = G.sigfd;
		pf[0].events = pf[1].events = pf[2].events = POLLIN;
		if (poll(pf, 3 + ni, 1000) <= 0)
			continue;
		if (pf[2].revents & POLLIN)
			leasebreaks();
		for (i = 0; i < ni; i++)
			if (pf[3 + i].revents)
				idleread(ib[i]);
		if (pf[1].revents & POLLIN)
			readctl();
		if (pf[0].revents & POLLIN) {
			/* what happens within 50 ms is one change; a change in the
			 * tree stays to be looked at until a run has done so */
			do
				events();
			while (poll(pf, 1, 50) > 0);
			for (b = G.boxes; b; b = nb) {
				nb = b->link;
				if (b->hit || b->treechanged)
					run(b);
			}
		}
	}
}

/* Does the file system of directory dfd give write leases? */
static int
leases(int dfd)
{
	char name[32];
	int fd, r;

	snprintf(name, sizeof name, ".lease.%d", (int)getpid());
	if ((fd = openat(dfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
		return 0;
	r = fcntl(fd, F_SETLEASE, F_WRLCK) == 0;
	fcntl(fd, F_SETLEASE, F_UNLCK);
	close(fd);
	unlinkat(dfd, name, 0);
	return r;
}

/* "N", "Nk", "Nm" or "Ng" in octets, or -1. */
static int64_t
sizearg(const char *s)
{
	char *e;
	long long n = strtoll(s, &e, 10);
	const char *u = "kmg", *k;
	int64_t m = 1;

	if (e == s || n < 0 || n > 1LL << 40)
		return -1;
	if (*e && ((k = strchr(u, *e | 0x20)) == NULL || e[1]))
		return -1;
	for (; *e && k >= u; k--)
		m <<= 10;
	return n * m;
}

int
fs_main(int argc, char **argv)
{
	const char *file = "mbox", *tree = NULL;
	int c, once = 0, none = 0, bad, fd;
	Box *b = NULL;

	G.login = mime_login();
	G.watch = G.ctl = -1;
	G.refresh = 60;
	while ((c = getopt(argc, argv, "bc:C:f:m:npr:xv")) != -1) {
		switch (c) {
		case 'C':
			if ((G.cachemax = sizearg(optarg)) <= 0)
				usage();
			break;
		case 'b':
			G.announce = 1;
			break;
		case 'c':
			G.cmd = optarg;
			break;
		case 'f':
			file = optarg;
			break;
		case 'm':
			tree = optarg;
			break;
		case 'n':
			none = 1;
			break;
		case 'p':
			G.noplumb = 1;
			break;
		case 'r':
			if ((G.refresh = atoi(optarg)) < 1 || G.refresh > 86400)
				usage();
			break;
		case 'x':
			once = 1;
			break;
		case 'v':
			G.verbose = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || (once && none) || (once && G.cachemax))
		usage();
	G.sigfd = -1;
	if (G.cachemax) {
		/* header-only IMAP messages, their bodies fetched when read */
		struct rlimit rl;
		sigset_t ss;

		imap_headers = 1;
		sigemptyset(&ss);
		sigaddset(&ss, SIGRTMIN + 1);
		sigaddset(&ss, SIGIO);	/* what the kernel sends when the queue is full */
		sigprocmask(SIG_BLOCK, &ss, NULL);
		if ((G.sigfd = signalfd(-1, &ss, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
			die(EX_OSERR, "signalfd:");
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
			rl.rlim_cur = rl.rlim_max > 1 << 20 ? 1 << 20 : rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
			getrlimit(RLIMIT_NOFILE, &rl);
		}
		G.maxlease = rl.rlim_cur > 256 ? (int)rl.rlim_cur - 256 : 0;
	}
	if (G.noplumb)
		G.announce = 0, G.cmd = NULL;
	if (tree == NULL) {
		if (upas_path(G.top, sizeof G.top, "fs", G.login, NULL) < 0)
			die(EX_USAGE, "login name too long");
	} else if (snprintf(G.top, sizeof G.top, "%s", tree) >= (int)sizeof G.top)
		die(EX_USAGE, "name too long");
	while (strlen(G.top) > 1 && G.top[strlen(G.top) - 1] == '/')
		G.top[strlen(G.top) - 1] = 0;
	if (!once) {
		/* one daemon a tree: it alone reads DIR/ctl */
		if (mkdirs(G.top) < 0 || (fd = open(G.top, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
			die(EX_CANTCREAT, "%s:", G.top);
		if (flock(fd, LOCK_EX | LOCK_NB) < 0)
			die(EX_TEMPFAIL, "%s: another fs serves it (its ctl opens more boxes)", G.top);
		G.topfd = fd;
		if (G.cachemax && !leases(fd))
			die(EX_UNAVAILABLE, "%s: -C needs file leases, which this file system does not give", G.top);
		if ((G.watch = inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) < 0)
			die(EX_OSERR, "inotify:");
		G.daemon = 1;
	}
	if (!none && (b = openbox(file, NULL, &bad)) == NULL)
		die(G.exit, "%s", lasterr());
	if (once) {
		closebox(b, 0);
		return bad ? EX_IOERR : 0;	/* openbox said what was not written */
	}
	serve();
	while (G.boxes)
		closebox(G.boxes, 0);
	return 0;
}
