#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "queue.h"

static const char magic[] = "upasq 1 ";

/* Bytes a control file may hold as themselves; everything else is %XX. */
static int
safe(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    (c != 0 && strchr("!+,-./:=@_~", c) != NULL);
}

static int
idok(const char *s)
{
	size_t n;

	for (n = 0; s[n]; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'z') || s[n] == '.'))
			return 0;
	return n > 0 && n < LIM_QID && s[0] != '.';
}

static int
argok(const char *s, size_t n)
{
	if (n > LIM_QARG) {
		seterr("queue argument longer than %d octets", LIM_QARG);
		return 0;
	}
	if (n > 0 && s[0] == '-') {
		seterr("queue argument begins with '-'");
		return 0;
	}
	if (memchr(s, 0, n) != NULL) {
		seterr("queue argument holds NUL");
		return 0;
	}
	return 1;
}

int
queue_encode(Str *out, const char *id, char **argv, int argc)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	int i;

	if (!idok(id)) {
		seterr("bad queue id");
		return -1;
	}
	if (argc < 2 || argc > LIM_QARGS) {
		seterr("queue jobs take 2 to %d arguments", LIM_QARGS);
		return -1;
	}
	str_adds(out, magic);
	str_adds(out, id);
	str_addc(out, '\n');
	for (i = 0; i < argc; i++) {
		if (!argok(argv[i], strlen(argv[i])))
			return -1;
		str_adds(out, "a ");
		for (p = (const unsigned char *)argv[i]; *p; p++)
			if (safe(*p))
				str_addc(out, *p);
			else {
				str_addc(out, '%');
				str_addc(out, hex[*p >> 4]);
				str_addc(out, hex[*p & 15]);
			}
		str_addc(out, '\n');
	}
	str_fmt(out, "end %d\n", argc);
	return 0;
}

static int
unhex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode the argument on [p, e) into buf; its length, or -1 if not canonical. */
static long
decodearg(const char *p, const char *e, char *buf)
{
	long n = 0;
	int h, l;

	for (; p < e; p++) {
		if (*p != '%') {
			if (!safe((unsigned char)*p))
				return -1;
			buf[n++] = *p;
			continue;
		}
		if (e - p < 3 || (h = unhex(p[1])) < 0 || (l = unhex(p[2])) < 0)
			return -1;
		if (h * 16 + l == 0 || safe(h * 16 + l))
			return -1;
		buf[n++] = h * 16 + l;
		p += 2;
	}
	buf[n] = 0;
	return n;
}

int
queue_decode(Arena *a, const char *id, const char *p, size_t n, char ***argvp, int *argcp)
{
	const char *e = p + n, *nl;
	char **argv, *buf, num[24];
	size_t lines = 0, k;
	long len;
	int argc = 0;

	if (n > LIM_QCTL)
		goto bad;
	for (nl = p; (nl = memchr(nl, '\n', e - nl)) != NULL; nl++)
		lines++;
	k = strlen(magic);
	if (n < k || memcmp(p, magic, k) != 0 || (nl = memchr(p, '\n', n)) == NULL)
		goto bad;
	if ((size_t)(nl - p - k) != strlen(id) || memcmp(p + k, id, nl - p - k) != 0)
		goto bad;
	p = nl + 1;
	argv = arena_alloc(a, (lines + 1) * sizeof *argv);
	buf = arena_alloc(a, n + lines + 1);
	while (p < e && e - p > 2 && p[0] == 'a' && p[1] == ' ') {
		if ((nl = memchr(p, '\n', e - p)) == NULL || argc >= LIM_QARGS)
			goto bad;
		if ((len = decodearg(p + 2, nl, buf)) < 0 || !argok(buf, len))
			goto bad;
		argv[argc++] = buf;
		buf += len + 1;
		p = nl + 1;
	}
	snprintf(num, sizeof num, "end %d\n", argc);
	if (argc < 2 || (size_t)(e - p) != strlen(num) || memcmp(p, num, e - p) != 0)
		goto bad;
	argv[argc] = NULL;
	*argvp = argv;
	*argcp = argc;
	return 0;
bad:
	seterr("control file %s does not parse", id);
	return -1;
}

int
queue_root(char *buf, size_t n, const char *root)
{
	if (strcmp(root, "-") == 0)
		return upas_path(buf, n, "queue", NULL);
	if (strlen(root) >= n) {
		seterr("queue root too long");
		return -1;
	}
	strcpy(buf, root);
	return 0;
}

const char *
queue_user(void)
{
	static char num[32];
	const char *u = getenv("USER");
	struct passwd *pw;

	if (u != NULL && name_ok(u) && u[0] != '.')
		return u;
	if ((pw = getpwuid(getuid())) != NULL && name_ok(pw->pw_name) && pw->pw_name[0] != '.')
		return pw->pw_name;
	snprintf(num, sizeof num, "%u", (unsigned)getuid());
	return num;
}

int
queue_opendir(const char *root, const char *sub, int create, char *path, size_t pn)
{
	int fd;

	if (!name_ok(sub)) {
		seterr("bad queue subdirectory name");
		return -1;
	}
	if ((size_t)snprintf(path, pn, "%s/%s", root, sub) >= pn) {
		seterr("queue path too long");
		return -1;
	}
	if (create) {
		if (mkdir(root, 0775) < 0 && errno != EEXIST) {
			seterr("%s:", root);
			return -1;
		}
		if (mkdir(path, 0775) < 0 && errno != EEXIST) {
			seterr("%s:", path);
			return -1;
		}
	}
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		seterr("%s:", path);
	return fd;
}

/* Copy all of in to out, at most LIM_QDATA octets, then fsync out. */
static int
copyfd(int in, int out, const char *what)
{
	char buf[65536];
	size_t total = 0;
	ssize_t r;

	for (;;) {
		if ((r = read(in, buf, sizeof buf)) < 0) {
			if (errno == EINTR)
				continue;
			seterr("reading %s:", what);
			return -1;
		}
		if (r == 0)
			break;
		if ((total += r) > LIM_QDATA) {
			seterr("%s larger than %d octets", what, LIM_QDATA);
			return -1;
		}
		if (fd_writeall(out, buf, r) < 0) {
			seterr("writing %s:", what);
			return -1;
		}
	}
	if (fsync(out) < 0) {
		seterr("fsync %s:", what);
		return -1;
	}
	return 0;
}

/* Create name in dfd exclusively and fill it from in, durably. */
static int
putfile(int dfd, const char *name, int in, const char *what)
{
	int fd;

	if ((fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0660)) < 0) {
		seterr("%s:", name);
		return -1;
	}
	if (copyfd(in, fd, what) < 0) {
		close(fd);
		return -1;
	}
	if (close(fd) < 0) {
		seterr("close %s:", name);
		return -1;
	}
	return 0;
}

static void
unlinkjob(int dfd, const char *id, int nfiles)
{
	char name[LIM_QID + 16];
	int k;

	/* extra files are numbered from 1 without gaps (qer writes them in order) */
	for (k = 1; k <= nfiles; k++) {
		snprintf(name, sizeof name, "F.%s.%d", id, k);
		if (unlinkat(dfd, name, 0) < 0 && errno == ENOENT)
			break;
	}
	snprintf(name, sizeof name, "T.%s", id);
	unlinkat(dfd, name, 0);
	snprintf(name, sizeof name, "D.%s", id);
	unlinkat(dfd, name, 0);
}

/* A fresh D.ID, created exclusively: secs.nsecs.pid is unique on this host. */
static int
newdata(int dfd, char *id)
{
	char name[LIM_QID + 8];
	struct timespec ts;
	int fd, i;

	for (i = 0; i < 100; i++) {
		clock_gettime(CLOCK_REALTIME, &ts);
		snprintf(id, LIM_QID, "%lld.%09ld.%d", (long long)ts.tv_sec, ts.tv_nsec + i, (int)getpid());
		snprintf(name, sizeof name, "D.%s", id);
		fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0660);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	if (fd < 0) {
		i = errno;
		seterr("creating %s:", name);
		errno = i;	/* ENOENT: the directory went away */
	}
	return fd;
}

int
queue_put(int dfd, const char *dir, int in, char **files, int nfiles, char **argv, int argc, char *id)
{
	char name[LIM_QID + 16], tmp[LIM_QID + 8], path[LIM_PATHNAME];
	char **av;
	Str ctl = { 0 };
	int fd, src, i, done = 0;

	if (nfiles > LIM_QFILES || argc + nfiles > LIM_QARGS) {
		seterr("too many files or arguments to queue");
		return -1;
	}
	if ((fd = newdata(dfd, id)) < 0)
		return -1;
	if (copyfd(in, fd, "message") < 0) {
		close(fd);
		unlinkjob(dfd, id, 0);
		return -1;
	}
	if (close(fd) < 0) {
		seterr("close message:");
		unlinkjob(dfd, id, 0);
		return -1;
	}
	av = xmalloc((argc + nfiles + 1) * sizeof *av);
	memcpy(av, argv, argc * sizeof *av);
	for (i = 0; i < nfiles; i++) {
		av[argc + i] = NULL;
		if ((src = open(files[i], O_RDONLY | O_CLOEXEC)) < 0) {
			seterr("%s:", files[i]);
			goto fail;
		}
		snprintf(name, sizeof name, "F.%s.%d", id, i + 1);
		done = i + 1;
		if (putfile(dfd, name, src, files[i]) < 0) {
			close(src);
			goto fail;
		}
		close(src);
		snprintf(path, sizeof path, "%s/%s", dir, name);
		av[argc + i] = xstrdup(path);
	}
	if (queue_encode(&ctl, id, av, argc + nfiles) < 0)
		goto fail;
	snprintf(tmp, sizeof tmp, "T.%s", id);
	snprintf(name, sizeof name, "C.%s", id);
	if ((fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0660)) < 0) {
		seterr("%s:", tmp);
		goto fail;
	}
	if (fd_writeall(fd, ctl.p, ctl.n) < 0 || fsync(fd) < 0) {
		seterr("writing %s:", tmp);
		close(fd);
		goto fail;
	}
	if (close(fd) < 0 || renameat(dfd, tmp, dfd, name) < 0) {
		seterr("%s:", name);
		goto fail;
	}
	if (fsync(dfd) < 0) {
		seterr("fsync %s:", dir);
		unlinkat(dfd, name, 0);
		goto fail;
	}
	for (i = argc; i < argc + nfiles; i++)
		free(av[i]);
	free(av);
	str_free(&ctl);
	return 0;
fail:
	for (i = argc; i < argc + done; i++)
		free(av[i]);
	free(av);
	str_free(&ctl);
	unlinkjob(dfd, id, done);
	return -1;
}

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
queue_ids(int dfd, char ***idsp, int *np)
{
	struct dirent *d;
	char **ids = NULL;
	int n = 0, cap = 0, fd;
	DIR *dir;

	if ((fd = dup(dfd)) < 0 || (dir = fdopendir(fd)) == NULL) {
		seterr("queue directory:");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	rewinddir(dir);
	while ((d = readdir(dir)) != NULL && n < LIM_QJOBS) {
		if (d->d_name[0] != 'C' || d->d_name[1] != '.' || !idok(d->d_name + 2))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			ids = xrealloc(ids, cap * sizeof *ids);
		}
		ids[n++] = xstrdup(d->d_name + 2);
	}
	closedir(dir);
	if (n > 0)
		qsort(ids, n, sizeof *ids, cmpstr);
	*idsp = ids;
	*np = n;
	return 0;
}

void
queue_freeids(char **ids, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

int
queue_job(Arena *a, int dfd, const char *id, Qjob *j)
{
	char name[LIM_QID + 8], *ctl;
	struct stat st;
	size_t n;
	int r;

	memset(j, 0, sizeof *j);
	if (!idok(id)) {
		seterr("bad queue id");
		return QBAD;
	}
	strcpy(j->id, id);
	snprintf(name, sizeof name, "C.%s", id);
	if ((ctl = readfileat(dfd, name, LIM_QCTL, &n)) == NULL)
		return errno == EFBIG || errno == ELOOP ? QBAD : QERR;
	r = queue_decode(a, id, ctl, n, &j->argv, &j->argc);
	free(ctl);
	if (r < 0)
		return QBAD;
	snprintf(name, sizeof name, "D.%s", id);
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode)) {
		seterr("%s: missing or not a file", name);
		return QNODATA;
	}
	j->qtime = st.st_mtime;
	j->size = st.st_size;
	snprintf(name, sizeof name, "E.%s", id);
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		j->etime = st.st_mtime;
	return QOK;
}

int
queue_quarantine(int dfd, const char *id)
{
	char from[LIM_QID + 8], to[LIM_QID + 8];

	snprintf(from, sizeof from, "C.%s", id);
	snprintf(to, sizeof to, "Q.%s", id);
	if (renameat(dfd, from, dfd, to) < 0 || fsync(dfd) < 0) {
		seterr("quarantine %s:", from);
		return -1;
	}
	return 0;
}

int
queue_remove(int dfd, const char *id)
{
	char name[LIM_QID + 8];

	snprintf(name, sizeof name, "C.%s", id);
	if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT) {
		seterr("remove %s:", name);
		return -1;
	}
	snprintf(name, sizeof name, "E.%s", id);
	unlinkat(dfd, name, 0);
	unlinkjob(dfd, id, LIM_QFILES);
	return 0;
}

/* Whether job id still has a control file, live or quarantined. */
static int
hasctl(int dfd, const char *id, size_t n)
{
	char name[LIM_QID + 8];
	struct stat st;

	if (n >= LIM_QID)
		return 0;
	snprintf(name, sizeof name, "C.%.*s", (int)n, id);
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 1;
	name[0] = 'Q';
	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

int
queue_sweep(int dfd)
{
	struct dirent *d;
	struct stat st;
	time_t now = time(0);
	const char *id, *dot;
	int fd, n = 0;
	DIR *dir;

	if ((fd = dup(dfd)) < 0 || (dir = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	rewinddir(dir);
	while ((d = readdir(dir)) != NULL) {
		if (strchr("DEFT", d->d_name[0]) == NULL || d->d_name[1] != '.')
			continue;
		id = d->d_name + 2;
		dot = d->d_name[0] == 'F' ? strrchr(id, '.') : id + strlen(id);
		if (dot == NULL || hasctl(dfd, id, dot - id))
			continue;
		if (fstatat(dfd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || now - st.st_mtime < LIM_QORPHAN)
			continue;
		if (unlinkat(dfd, d->d_name, 0) == 0)
			n++;
	}
	closedir(dir);
	return n;
}

char *
queue_errtail(int dfd, const char *id, size_t max, size_t *len)
{
	char name[LIM_QID + 8], *buf;
	struct stat st;
	ssize_t r;
	off_t off;
	int fd;

	snprintf(name, sizeof name, "E.%s", id);
	if ((fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return NULL;
	}
	off = st.st_size > (off_t)max ? st.st_size - (off_t)max : 0;
	buf = xmalloc(max + 1);
	r = pread(fd, buf, st.st_size - off, off);
	close(fd);
	if (r < 0) {
		free(buf);
		return NULL;
	}
	buf[r] = 0;
	*len = r;
	return buf;
}

/* Print s with control characters and non-ASCII shown safely. */
static void
putsafe(FILE *out, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] >= ' ' && (unsigned char)s[i] < 0x7f)
			fputc(s[i], out);
		else if (s[i] == '\t')
			fputc(' ', out);
		else
			fprintf(out, "\\x%02x", (unsigned char)s[i]);
}

/* The last three lines of the E file: what the mailer said last. */
static void
listerr(FILE *out, int dfd, const char *id)
{
	char *e, *p, *q, *end;
	size_t n;
	int k = 0;

	if ((e = queue_errtail(dfd, id, LIM_QERRTAIL, &n)) == NULL)
		return;
	end = e + n;
	while (end > e && end[-1] == '\n')
		end--;
	for (p = end; p > e; p--)
		if (p[-1] == '\n' && ++k == 3)
			break;
	for (; p < end; p = q + 1) {
		if ((q = memchr(p, '\n', end - p)) == NULL)
			q = end;
		fputs("\terror: ", out);
		putsafe(out, p, q - p);
		fputc('\n', out);
	}
	free(e);
}

static void
listjob(FILE *out, int dfd, const char *sub, const char *id)
{
	Arena a = { 0 };
	Qjob j;
	time_t age;
	int r, i;

	r = queue_job(&a, dfd, id, &j);
	fprintf(out, "%s/%s", sub, id);
	if (r == QBAD || r == QERR) {
		fprintf(out, "  unreadable control file: %s\n", lasterr());
		arena_free(&a);
		return;
	}
	if (r == QNODATA) {
		fprintf(out, "  no data file\n");
		arena_free(&a);
		return;
	}
	age = time(0) - j.qtime;
	fprintf(out, "  %lld octets  queued %lldh%02lldm ago%s\n", (long long)j.size,
	    (long long)age / 3600, (long long)age / 60 % 60, j.etime ? "" : "  (not tried yet)");
	fprintf(out, "\ttag: ");
	putsafe(out, j.argv[0], strlen(j.argv[0]));
	fprintf(out, "\n\tsender: ");
	putsafe(out, j.argv[1], strlen(j.argv[1]));
	if (j.argc > 2) {
		fprintf(out, "\n\tdestination: ");
		putsafe(out, j.argv[2], strlen(j.argv[2]));
	}
	if (j.argc > 3)
		fprintf(out, "\n\trecipients:");
	for (i = 3; i < j.argc; i++) {
		fputc(' ', out);
		putsafe(out, j.argv[i], strlen(j.argv[i]));
	}
	fputc('\n', out);
	if (j.etime) {
		age = time(0) - j.etime;
		fprintf(out, "\tlast tried %lldh%02lldm ago\n", (long long)age / 3600, (long long)age / 60 % 60);
		listerr(out, dfd, id);
	}
	arena_free(&a);
}

static int
listdir(FILE *out, int dfd, const char *sub)
{
	struct dirent *d;
	char **ids;
	int n, i, fd;
	DIR *dir;

	if (queue_ids(dfd, &ids, &n) < 0)
		return 0;
	for (i = 0; i < n; i++)
		listjob(out, dfd, sub, ids[i]);
	queue_freeids(ids, n);
	if ((fd = dup(dfd)) < 0 || (dir = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return n;
	}
	rewinddir(dir);
	while ((d = readdir(dir)) != NULL)
		if (d->d_name[0] == 'Q' && d->d_name[1] == '.') {
			fprintf(out, "%s/", sub);
			putsafe(out, d->d_name + 2, strlen(d->d_name + 2));
			fprintf(out, "  quarantined: control file did not parse (%s)\n", d->d_name);
		}
	closedir(dir);
	return n;
}

int
queue_list(FILE *out, const char *root)
{
	char rbuf[LIM_PATHNAME], path[LIM_PATHNAME];
	struct dirent *d;
	char **subs = NULL;
	int n = 0, ns = 0, i, dfd;
	DIR *dir;

	if (root == NULL)
		root = "-";
	if (queue_root(rbuf, sizeof rbuf, root) < 0)
		return -1;
	if ((dir = opendir(rbuf)) == NULL) {
		if (errno == ENOENT)
			return 0;
		seterr("%s:", rbuf);
		return -1;
	}
	while ((d = readdir(dir)) != NULL && ns < LIM_QJOBS)
		if (name_ok(d->d_name) && d->d_name[0] != '.') {
			subs = xrealloc(subs, (ns + 1) * sizeof *subs);
			subs[ns++] = xstrdup(d->d_name);
		}
	closedir(dir);
	if (ns > 0)
		qsort(subs, ns, sizeof *subs, cmpstr);
	for (i = 0; i < ns; i++) {
		if ((dfd = queue_opendir(rbuf, subs[i], 0, path, sizeof path)) >= 0) {
			n += listdir(out, dfd, subs[i]);
			close(dfd);
		}
		free(subs[i]);
	}
	free(subs);
	return n;
}
