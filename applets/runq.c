/*
 * runq: deliver what qer queued (core/queue.h). One runner per queue
 * directory (flock on L.runq); each job runs as "cmd tag reply args..." with
 * the message on stdin and stdout and stderr appended to its E file.
 * Exit 0: done. Exit 75, "Retry" in the output, a signal, a mailer that
 * cannot be run or one that runs too long: try again later (RFC 5321
 * §4.5.4.1), until the job is older than the give-up age. Anything else:
 * bounce to the sender and remove the job.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "applet.h"
#include "bounce.h"
#include "queue.h"

typedef struct Run {
	pid_t pid;
	Qjob j;
	Arena ar;
	int efd;		/* this attempt's output: in memory, or the E file itself */
	int mem;		/* efd is in memory: E gets it only if the job stays or bounces */
	off_t eoff;		/* where this attempt's output starts in efd */
	int64_t deadline;
	int killed;
} Run;

static struct {
	int debug, now, never, njobs, maxjobs, tried;
	time_t interval, giveup;
	const char *cmd, *sub;
	char dir[LIM_PATHNAME];
	int dfd;
	uid_t uid;	/* the mailer runs as this user (-1: as we are) */
	gid_t gid;
	char **bad;		/* destinations that failed for now in this run */
	int nbad;
	Run *run;
	int nrun;
} R;

static void
dbg(const char *fmt, ...)
{
	char buf[LIM_ERR * 2];
	va_list ap;

	if (!R.debug)
		return;
	va_start(ap, fmt);
	fmtv(buf, sizeof buf, fmt, ap);
	va_end(ap);
	fprintf(stderr, "runq: %s\n", buf);
}

static const char *
dest(Qjob *j)
{
	return j->argc > 2 ? j->argv[2] : "";
}

static int
isbad(const char *d)
{
	int i;

	for (i = 0; i < R.nbad; i++)
		if (strcmp(R.bad[i], d) == 0)
			return 1;
	return 0;
}

static void
addbad(const char *d)
{
	if (isbad(d))
		return;
	R.bad = xrealloc(R.bad, (R.nbad + 1) * sizeof *R.bad);
	R.bad[R.nbad++] = xstrdup(d);
}

/* Whether cmd can run at all: an applet, a path, or a program in PATH, as proc_exec finds it. */
static int
runnable(const char *cmd)
{
	const char *path = getenv("PATH"), *p, *e;
	char buf[LIM_PATHNAME];

	if (strchr(cmd, '/') != NULL)
		return access(cmd, X_OK) == 0;
	if (applet_lookup(cmd) != NULL)
		return 1;
	if (path == NULL)
		path = "/bin:/usr/bin:/sbin:/usr/sbin";
	for (p = path; *p; p = *e ? e + 1 : e) {
		e = p + strcspn(p, ":");
		if ((size_t)snprintf(buf, sizeof buf, "%.*s/%s", (int)(e - p), e > p ? p : ".", cmd) < sizeof buf &&
		    access(buf, X_OK) == 0)
			return 1;
	}
	return 0;
}

static void
words(Str *s, Qjob *j, int from)
{
	int i;

	for (i = from; i < j->argc; i++)
		str_fmt(s, "%s%s", i > from ? " " : "", j->argv[i]);
}

/*
 * Return the message to its sender (core/bounce.c) and remove the job. If
 * the bounce cannot be sent the job stays for the next run, or is moved
 * aside (Q file) once past the give-up age, so nothing loops or is lost.
 */
static void
bounce(Run *r, int status, int giveup)
{
	Qjob *j = &r->j;
	Str why = { 0 };
	char name[LIM_QID + 8], *err, *orig;
	struct stat st;
	size_t n = 0;
	int fd, sent;

	str_adds(&why, giveup ? "Giveup" : "permanent failure");
	str_adds(&why, "\n\nYour message could not be delivered to ");
	words(&why, j, 3);
	str_fmt(&why, " (via %s).\n", dest(j));
	if (giveup)
		str_fmt(&why, "It was queued %lld hours ago; runq gives up after %lld hours.\n",
		    (long long)(time(0) - j->qtime) / 3600, (long long)R.giveup / 3600);
	else
		str_fmt(&why, "The mailer %s exited with status %d.\n", R.cmd, status);
	str_adds(&why, "The symptom was:\n\n");
	if ((err = queue_errtail(R.dfd, j->id, LIM_QERRTAIL, &n)) != NULL)
		str_addn(&why, err, n);
	free(err);
	n = 0;
	snprintf(name, sizeof name, "D.%s", j->id);
	if ((fd = openat(R.dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) >= 0 && fstat(fd, &st) == 0 &&
	    st.st_size > 0 && (orig = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)) != MAP_FAILED)
		n = st.st_size;
	else
		orig = "";
	if (fd >= 0)
		close(fd);
	sent = bounce_send(j->argv[1], why.p, orig, n);
	if (n > 0)
		munmap(orig, n);
	str_free(&why);
	if (sent >= 0) {
		logmsg("runq", "%s/%s: %s (status %d), %s %s", R.sub, j->id,
		    giveup ? "giving up" : "permanent failure", status,
		    sent == 0 ? "returned to" : "no bounce (null sender or bulk mail) for", j->argv[1]);
		if (queue_remove(R.dfd, j->id) < 0)
			logmsg("runq", "%s/%s: %s", R.sub, j->id, lasterr());
		return;
	}
	logmsg("runq", "%s/%s: cannot bounce to %s: %s", R.sub, j->id, j->argv[1], lasterr());
	if (!R.never && time(0) - j->qtime > R.giveup) {
		if (queue_quarantine(R.dfd, j->id) == 0)
			logmsg("runq", "%s/%s: moved aside as Q.%s", R.sub, j->id, j->id);
	}
}

/* What this attempt's output says: upas mailers ask for a retry with "Retry". */
static int
saysretry(Run *r)
{
	char buf[LIM_QERRTAIL];
	struct stat st;
	off_t off = r->eoff;
	ssize_t n;

	if (fstat(r->efd, &st) < 0 || st.st_size <= off)
		return 0;
	if (st.st_size - off > (off_t)sizeof buf)
		off = st.st_size - sizeof buf;
	if ((n = pread(r->efd, buf, sizeof buf, off)) <= 0)
		return 0;
	return memmem(buf, n, "Retry", 5) != NULL;
}

/* A job that stays or bounces: its output onto the E file, whose mtime says when it was tried. */
static void
keeperr(Run *r)
{
	char name[LIM_QID + 8], buf[LIM_MBOXBUF];
	off_t off = 0;
	ssize_t n;
	int fd;

	snprintf(name, sizeof name, "E.%s", r->j.id);
	if ((fd = openat(R.dfd, name, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0660)) < 0) {
		logmsg("runq", "%s/%s: %s:", R.sub, r->j.id, name);
		return;
	}
	while ((n = pread(r->efd, buf, sizeof buf, off)) > 0 && fd_writeall(fd, buf, n) == 0)
		off += n;
	futimens(fd, NULL);
	close(fd);
}

/* A job ended with status (-1: could not run, or killed for taking too long). */
static void
finish(Run *r, int status)
{
	Qjob *j = &r->j;
	int temp;

	if (status != 0 && r->mem)
		keeperr(r);
	else if (!r->mem)
		futimens(r->efd, NULL);
	temp = status < 0 || status == EX_TEMPFAIL || status >= 128 || saysretry(r);
	close(r->efd);
	dbg("%s/%s: %s exit status %d%s", R.sub, j->id, R.cmd, status, r->killed ? " (killed: too slow)" : "");
	if (status == 0) {
		logmsg("runq", "%s/%s: delivered to %s via %s", R.sub, j->id,
		    j->argc > 3 ? j->argv[3] : "", dest(j));
		if (queue_remove(R.dfd, j->id) < 0)
			logmsg("runq", "%s/%s: %s", R.sub, j->id, lasterr());
	} else if (!temp)
		bounce(r, status, 0);
	else if (!R.never && time(0) - j->qtime > R.giveup)
		bounce(r, status, 1);
	else {
		logmsg("runq", "%s/%s: status %d, will retry", R.sub, j->id, status);
		addbad(dest(j));
	}
	arena_free(&r->ar);
}

/* Wait for one job to end, killing any that ran out of time. */
static void
reap(void)
{
	struct timespec ts;
	sigset_t chld;
	int64_t now, first;
	pid_t pid;
	int st, i;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	for (;;) {
		if ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
			for (i = 0; i < R.nrun && R.run[i].pid != pid; i++)
				;
			if (i == R.nrun)
				continue;
			finish(&R.run[i], R.run[i].killed ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
			R.run[i] = R.run[--R.nrun];
			return;
		}
		if (pid < 0 && errno != EINTR) {
			warn("wait:");
			while (R.nrun > 0)
				finish(&R.run[--R.nrun], -1);
			return;
		}
		now = now_ms();
		first = now + 60000;
		for (i = 0; i < R.nrun; i++) {
			if (R.run[i].deadline <= now && !R.run[i].killed) {
				dprintf(R.run[i].efd, "runq: %s killed after %d seconds\n", R.cmd, LIM_QJOBTIME);
				kill(R.run[i].pid, SIGKILL);
				R.run[i].killed = 1;
			}
			if (R.run[i].deadline > now && R.run[i].deadline < first)
				first = R.run[i].deadline;
		}
		ts.tv_sec = (first - now) / 1000;
		ts.tv_nsec = (first - now) % 1000 * 1000000;
		sigtimedwait(&chld, NULL, &ts);
	}
}

/* Start the mailer on job j (its arena a passes to the Run). */
static void
start(Qjob *j, Arena *a)
{
	char name[LIM_QID + 8], **argv;
	Run *r = &R.run[R.nrun];
	int in, saved, i;

	memset(r, 0, sizeof *r);
	r->j = *j;
	r->ar = *a;
	snprintf(name, sizeof name, "D.%s", j->id);
	if ((in = openat(R.dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		logmsg("runq", "%s/%s: %s:", R.sub, j->id, name);
		arena_free(&r->ar);
		return;
	}
	/*
	 * The output goes to memory first: a job that succeeds (most do) then
	 * never makes an E file, a new inode to create and remove.
	 */
	snprintf(name, sizeof name, "E.%s", j->id);
	if ((r->efd = memfd_create("runq", MFD_CLOEXEC)) >= 0)
		r->mem = 1;
	else if ((r->efd = openat(R.dfd, name, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0660)) < 0) {
		logmsg("runq", "%s/%s: %s:", R.sub, j->id, name);
		close(in);
		arena_free(&r->ar);
		return;
	}
	r->eoff = lseek(r->efd, 0, SEEK_END);
	R.tried++;
	if (!runnable(R.cmd)) {
		dprintf(r->efd, "runq: cannot run %s\n", R.cmd);
		close(in);
		finish(r, -1);
		return;
	}
	argv = arena_alloc(&r->ar, (j->argc + 2) * sizeof *argv);
	argv[0] = (char *)R.cmd;
	for (i = 0; i <= j->argc; i++)
		argv[i + 1] = j->argv[i];
	dbg("%s/%s: running %s for %s", R.sub, j->id, R.cmd, dest(j));
	saved = fcntl(2, F_DUPFD_CLOEXEC, 3);
	dup2(r->efd, 2);
	r->pid = proc_startas(argv, in, r->efd, R.uid, R.gid);
	if (saved >= 0) {
		dup2(saved, 2);
		close(saved);
	} else
		close(2);
	close(in);
	if (r->pid < 0) {
		dprintf(r->efd, "runq: %s\n", lasterr());
		finish(r, -1);
		return;
	}
	r->deadline = now_ms() + (int64_t)LIM_QJOBTIME * 1000;
	R.nrun++;
}

/* Look at job id and start it if it is due. */
static void
consider(const char *id)
{
	Arena a = { 0 };
	Qjob j;

	if (R.maxjobs > 0 && R.tried >= R.maxjobs)
		return;
	switch (queue_job(&a, R.dfd, id, &j)) {
	case QBAD:
		logmsg("runq", "%s/%s: bad control file, moved aside as Q.%s: %s", R.sub, id, id, lasterr());
		if (queue_quarantine(R.dfd, id) < 0)
			logmsg("runq", "%s/%s: %s", R.sub, id, lasterr());
		break;
	case QNODATA:
		logmsg("runq", "%s/%s: no data file, removed", R.sub, id);
		queue_remove(R.dfd, id);
		break;
	case QERR:
		dbg("%s/%s: %s", R.sub, id, lasterr());
		break;
	case QOK:
		/* an E file from the future means the clock went back: due */
		if (!R.now && j.etime != 0 && time(0) - j.etime < R.interval && j.etime <= time(0) + 60) {
			dbg("%s/%s: not due yet", R.sub, id);
			break;
		}
		while (R.nrun >= R.njobs)
			reap();
		if (isbad(dest(&j))) {
			dbg("%s/%s: %s failed in this run, skipped", R.sub, id, dest(&j));
			break;
		}
		start(&j, &a);
		return;
	}
	arena_free(&a);
}

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Whether the queue directory holds nothing but our lock file. */
static int
empty(void)
{
	struct dirent *d;
	int fd, n = 0;
	DIR *dir;

	if ((fd = dup(R.dfd)) < 0 || (dir = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	rewinddir(dir);
	while ((d = readdir(dir)) != NULL)
		n += strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0 &&
		    strcmp(d->d_name, "L.runq") != 0;
	closedir(dir);
	return n == 0;
}

/*
 * Run the queue root/sub, unless another runq has it. Jobs go in id order
 * (the time they were queued); the directory is read again after each pass
 * so that jobs queued meanwhile go out in this run too.
 */
static void
dodir(const char *root, const char *sub, int rmempty)
{
	char **seen = NULL, **ids;
	int nseen = 0, nids, i, lock, more, kick, kicked;
	struct stat st;

	R.sub = sub;
	if ((R.dfd = queue_opendir(root, sub, 0, R.dir, sizeof R.dir)) < 0) {
		if (errno != ENOENT)
			logmsg("runq", "%s", lasterr());
		return;
	}
	/* as root, a user's mail leaves as that user: the owner of the queue directory */
	R.uid = (uid_t)-1;
	if (geteuid() == 0 && fstat(R.dfd, &st) == 0 && st.st_uid != 0) {
		R.uid = st.st_uid;
		R.gid = st.st_gid;
	}
	lock = openat(R.dfd, "L.runq", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0660);
	if (lock >= 0 && flock(lock, LOCK_EX | LOCK_NB) < 0) {
		/*
		 * Another runq has it. K.runq asks it to look again once it lets
		 * go; if it let go before we made the file, we get the lock now.
		 */
		if ((kick = openat(R.dfd, "K.runq", O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0660)) >= 0)
			close(kick);
		if (flock(lock, LOCK_EX | LOCK_NB) < 0) {
			close(lock);
			lock = -1;
			errno = EWOULDBLOCK;
		}
	}
	if (lock < 0) {
		dbg("%s: %s", R.dir, errno == EWOULDBLOCK ? "another runq has it" : "cannot lock");
		close(R.dfd);
		return;
	}
	unlinkat(R.dfd, "K.runq", 0);
	do {
		if (queue_ids(R.dfd, &ids, &nids) < 0) {
			logmsg("runq", "%s", lasterr());
			break;
		}
		more = 0;
		for (i = 0; i < nids; i++) {
			if (nseen > 0 && bsearch(&ids[i], seen, nseen, sizeof *seen, cmpstr) != NULL)
				continue;
			more = 1;
			consider(ids[i]);
		}
		while (R.nrun > 0)
			reap();
		fsync(R.dfd);	/* the removals of this pass (queue_remove) */
		seen = xrealloc(seen, (nseen + nids) * sizeof *seen);
		for (i = 0; i < nids; i++)
			if (nseen == 0 || bsearch(&ids[i], seen, nseen, sizeof *seen, cmpstr) == NULL)
				seen[nseen++] = ids[i];
			else
				free(ids[i]);
		free(ids);
		qsort(seen, nseen, sizeof *seen, cmpstr);
	} while (more && !(R.maxjobs > 0 && R.tried >= R.maxjobs));
	queue_freeids(seen, nseen);
	if (queue_sweep(R.dfd) > 0)
		logmsg("runq", "%s: removed files left by an interrupted qer or runq", sub);
	if (rmempty && empty()) {
		unlinkat(R.dfd, "L.runq", 0);
		if (rmdir(R.dir) == 0)
			dbg("%s: empty, removed", R.dir);
	}
	close(lock);
	/* kicked while we held the lock: a job may have come after our last look */
	kicked = faccessat(R.dfd, "K.runq", F_OK, AT_SYMLINK_NOFOLLOW) == 0;
	close(R.dfd);
	if (kicked && !(R.maxjobs > 0 && R.tried >= R.maxjobs))
		dodir(root, sub, rmempty);
}

/* Every subdirectory of root, for -a. */
static void
doall(const char *root)
{
	struct dirent *d;
	struct stat st;
	char **subs = NULL;
	int n = 0, i;
	DIR *dir;

	if ((dir = opendir(root)) == NULL) {
		if (errno != ENOENT)
			die(EX_TEMPFAIL, "%s:", root);
		return;
	}
	while ((d = readdir(dir)) != NULL && n < LIM_QJOBS)
		if (d->d_name[0] != '.' && name_ok(d->d_name) &&
		    fstatat(dirfd(dir), d->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
			subs = xrealloc(subs, (n + 1) * sizeof *subs);
			subs[n++] = xstrdup(d->d_name);
		}
	closedir(dir);
	if (n > 0)
		qsort(subs, n, sizeof *subs, cmpstr);
	for (i = 0; i < n; i++)
		dodir(root, subs[i], 1);
	for (i = 0; i < n; i++)
		free(subs[i]);
	free(subs);
}

static long
num(const char *s, long max)
{
	char *e;
	long v;

	errno = 0;
	v = strtol(s, &e, 10);
	if (*s == 0 || *e != 0 || errno != 0 || v < 0 || v > max)
		usage();
	return v;
}

int
runq_main(int argc, char **argv)
{
	char root[LIM_PATHNAME];
	sigset_t chld;
	int all = 0, c, i;

	R.njobs = 1;
	R.interval = 30 * 60;
	R.giveup = 120 * 3600;
	while ((c = getopt(argc, argv, "+adERq:t:i:r:n:")) != -1)
		switch (c) {
		case 'a':
			all = 1;
			break;
		case 'd':
			R.debug = 1;
			break;
		case 'E':
			R.now = 1;
			break;
		case 'R':
			R.never = 1;
			break;
		case 'q':
			if (!name_ok(optarg))
				die(EX_USAGE, "bad queue subdirectory: %s", optarg);
			R.sub = optarg;
			break;
		case 't':
			R.giveup = num(optarg, 100000) * 3600;
			break;
		case 'i':
			R.interval = num(optarg, 1000000) * 60;
			break;
		case 'r':
			R.maxjobs = num(optarg, 1000000000);
			break;
		case 'n':
			R.njobs = num(optarg, 1000);
			if (R.njobs == 0)
				usage();
			break;
		default:
			usage();
		}
	if (argc - optind != 2)
		usage();
	R.cmd = argv[optind + 1];
	if (queue_root(root, sizeof root, argv[optind]) < 0)
		die(EX_USAGE, "%s", lasterr());
	R.run = xmalloc(R.njobs * sizeof *R.run);
	/* SIGCHLD stays pending for sigtimedwait in reap; children get a clean mask */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	if (all)
		doall(root);
	else
		dodir(root, R.sub ? R.sub : queue_user(), 0);
	for (i = 0; i < R.nbad; i++)
		free(R.bad[i]);
	free(R.bad);
	free(R.run);
	return 0;
}
