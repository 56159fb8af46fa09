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
#include <sys/stat.h>
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
	int ro;			/* the mailbox only read: nothing goes back */
	int made, gone;
} F;

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

/* BOX/.ids: "upas-fs-ids 2 NEXT", then "N FLAGS ID" lines (FLAGS: what the
 * tree was given); version 1 had no FLAGS; anything else starts afresh. */
static void
loadids(void)
{
	char *t, *l, *e, *sp, *id;
	size_t n;
	int fd, v, wf;
	unsigned long k;

	F.next = 1;
	if ((fd = openat(F.boxfd, ".ids", O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return;
	t = NULL;
	{
		Str s = { 0 };
		char buf[65536];
		ssize_t r;

		while ((r = read(fd, buf, sizeof buf)) > 0 && s.n < (64u << 20))
			str_addn(&s, buf, r);
		close(fd);
		t = s.p;
		n = s.n;
	}
	if (t == NULL || sscanf(t, "upas-fs-ids %d %lu\n", &v, &k) != 2 || (v != 1 && v != 2) || strchr(t, '\n') == NULL) {
		free(t);
		return;
	}
	F.next = k;
	for (l = strchr(t, '\n') + 1; l < t + n && *l; l = e + 1) {
		if ((e = strchr(l, '\n')) == NULL)
			break;
		*e = 0;
		if ((sp = strchr(l, ' ')) == NULL)
			continue;
		*sp = 0;
		k = strtoul(l, NULL, 10);
		id = sp + 1;
		wf = -1;
		if (v == 2) {
			if ((sp = strchr(id, ' ')) == NULL)
				continue;
			*sp = 0;
			wf = atoi(id) & MF_ALL;
			id = sp + 1;
		}
		if (k == 0 || k >= F.next)
			continue;
		addidn(id, k, wf);
	}
	free(t);
	if (F.nv > 1)
		qsort(F.v, F.nv, sizeof *F.v, cmpidn);
}

static int
saveids(void)
{
	Str s = { 0 };
	int fd, i, r = 0;

	str_fmt(&s, "upas-fs-ids 2 %u\n", F.next);
	for (i = 0; i < F.nv; i++)
		if (F.v[i].live) {
			str_num(&s, F.v[i].n, 10);
			str_addc(&s, ' ');
			str_num(&s, F.v[i].wflags < 0 ? 0 : F.v[i].wflags, 10);
			str_addc(&s, ' ');
			str_adds(&s, F.v[i].id);
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
		r = putfile(dirfd, *name, s.p ? s.p : "", s.n, strcmp(*name, "flags") == 0 ? 0600 : 0400);
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
static int
fromtree(int nold)
{
	char name[32], buf[64];
	struct stat st;
	ssize_t r;
	int i, fd, want, changed = 0;
	Idn *hit;

	if (F.ro)
		return 0;
	for (i = 0; i < mb_count(F.mb); i++) {
		if ((hit = known(F.mb, i, nold)) == NULL || hit->wflags < 0)
			continue;
		snprintf(name, sizeof name, "%u", hit->n);
		if (fstatat(F.boxfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode)) {
			mb_setflags(F.mb, i, MF_DELETED, 0);
			changed = 1;
			continue;
		}
		snprintf(name, sizeof name, "%u/flags", hit->n);
		if ((fd = openat(F.boxfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0)
			continue;
		r = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (r < 0 || (want = mf_flags(buf, r, hit->wflags)) < 0 || want == hit->wflags)
			continue;
		/* what the file changed, over the mailbox's flags as they are now */
		mb_setflags(F.mb, i, want & ~hit->wflags, hit->wflags & ~want);
		changed = 1;
	}
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
	int r = 0;

	if (mb_read(F.mb, i, &raw) < 0 || msg_parse(&m, raw.p ? raw.p : "", raw.n) < 0) {
		str_free(&raw);
		return -1;
	}
	ctx(&c, i, mm);
	for (k = 0; k < nelem(f) && r == 0; k++) {
		str_reset(&s);
		mf_file(&m, m.root, &c, f[k], &s);
		snprintf(name, sizeof name, "%u/%s", hit->n, f[k]);
		snprintf(tmp, sizeof tmp, "%u/.%s.tmp", hit->n, f[k]);
		unlinkat(F.boxfd, tmp, 0);
		r = putfile(F.boxfd, tmp, s.p ? s.p : "", s.n, k == 0 ? 0600 : 0400);
		if (r == 0 && renameat(F.boxfd, tmp, F.boxfd, name) < 0)
			r = -1;
	}
	hit->wflags = mm->flags & MF_ALL;
	msg_free(&m);
	str_free(&raw);
	str_free(&s);
	return r;
}

static int
export(void)
{
	char b[MB_IDLEN], name[32];
	Idn *hit;
	int i, nold = F.nv, bad = 0;

	if (fromtree(nold) < 0) {
		fprintf(stderr, "fs: %s\n", lasterr());
		bad = 1;
	}
	for (i = 0; i < mb_count(F.mb); i++) {
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
			bad = 1;
			continue;
		}
		hit->wflags = mb_msg(F.mb, i)->flags & MF_ALL;
	}
	for (i = 0; i < nold; i++)
		if (!F.v[i].live) {
			snprintf(name, sizeof name, "%u", F.v[i].n);
			rmtree(F.boxfd, name);
			F.gone++;
		}
	if (saveids() < 0)
		bad = 1;
	return bad ? -1 : 0;
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

	while ((c = getopt(argc, argv, "f:m:xv")) != -1) {
		switch (c) {
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
	if (optind != argc || !once)
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
	loadids();
	if (export() < 0)
		die(EX_IOERR, "%s: not all written", boxdir);
	if (verbose)
		fprintf(stderr, "fs: %s: %d messages, %d new, %d gone\n", boxdir, mb_count(F.mb), F.made, F.gone);
	mb_close(F.mb);
	return 0;
}
