/*
 * mbox locks that Postfix local(8), mutt and Debian's Dovecot honour: an fcntl
 * lock on the whole file first, then the dotlock "<mbox>.lock", released in the
 * reverse order. The same order everywhere is what keeps two programs from
 * each holding one lock and waiting for the other.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "mbox.h"

int mb_lockwait = LIM_MBOX_LOCKWAIT;

/* An open file description lock conflicts with the classic POSIX locks the
 * peers take, and is not dropped when this process closes another descriptor
 * of the same file; kernels before 3.15 get the classic kind. */
static int
fcntl_try(int fd, int type)
{
	struct flock fl;

	memset(&fl, 0, sizeof fl);
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
		return 0;
	if (errno == EINVAL)
		return fcntl(fd, F_SETLK, &fl);
	return -1;
}

static void
onalarm(int sig)
{
}

/*
 * Wait for the fcntl lock until deadline, woken by the kernel the moment
 * it is free: polling would leave the mailbox idle while waiters sleep. A
 * periodic SIGALRM (no SA_RESTART) interrupts the wait to check the clock,
 * and also covers a signal that comes just before the wait begins. The
 * caller's SIGALRM handler and timer are put back.
 */
static int
fcntl_wait(int fd, int type, int64_t deadline)
{
	struct sigaction sa, osa;
	struct itimerval it, oit;
	struct flock fl;
	int r, cmd = F_OFD_SETLKW;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = onalarm;
	sigemptyset(&sa.sa_mask);
	memset(&it, 0, sizeof it);
	it.it_interval.tv_usec = it.it_value.tv_usec = 50000;
	sigaction(SIGALRM, &sa, &osa);
	setitimer(ITIMER_REAL, &it, &oit);
	for (;;) {
		memset(&fl, 0, sizeof fl);
		fl.l_type = type;
		fl.l_whence = SEEK_SET;
		if ((r = fcntl(fd, cmd, &fl)) == 0)
			break;
		if (errno == EINVAL && cmd == F_OFD_SETLKW) {
			cmd = F_SETLKW;
			continue;
		}
		if (errno != EINTR || now_ms() >= deadline) {
			if (errno == EINTR)
				errno = EAGAIN;
			break;
		}
	}
	setitimer(ITIMER_REAL, &oit, NULL);
	sigaction(SIGALRM, &osa, NULL);
	return r;
}

static void
napms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void
hostname(char *buf, size_t n)
{
	char *p;

	if (gethostname(buf, n) < 0 || buf[0] == 0)
		snprintf(buf, n, "localhost");
	buf[n - 1] = 0;
	for (p = buf; *p; p++)
		if (*p == ':' || *p == '\n' || *p == ' ' || *p == '/')
			*p = '_';
}

/* A dotlock's text: "pid:host" as Dovecot writes, then ":size" once an
 * appender knows the size it will truncate back to. */
typedef struct Dot {
	long pid;
	int64_t size;
	char host[256];
} Dot;

static int
dotparse(const char *s, Dot *d)
{
	const char *h, *e;
	char *end;

	d->pid = strtol(s, &end, 10);
	d->size = -1;
	if (end == s || *end != ':' || d->pid <= 0)
		return -1;
	h = end + 1;
	e = h + strcspn(h, ":\n");
	if ((size_t)(e - h) >= sizeof d->host)
		return -1;
	memcpy(d->host, h, e - h);
	d->host[e - h] = 0;
	if (*e == ':') {
		d->size = strtoll(e + 1, &end, 10);
		if (end == e + 1 || d->size < 0)
			d->size = -1;
	}
	return 0;
}

/* A holder on this host that no longer runs. */
static int
dotdead(const Dot *d)
{
	char me[256];

	hostname(me, sizeof me);
	return strcmp(me, d->host) == 0 && kill((pid_t)d->pid, 0) < 0 && errno == ESRCH;
}

static int
dotread(const char *dot, Dot *d, struct stat *st)
{
	char buf[384];
	ssize_t r;
	int fd;

	if ((fd = open(dot, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0)
		return -1;
	if (fstat(fd, st) < 0 || (r = read(fd, buf, sizeof buf - 1)) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	buf[r] = 0;
	if (dotparse(buf, d) < 0)
		d->pid = 0, d->size = -1;
	return 0;
}

int64_t
lock_crashed(const char *path)
{
	char dot[LIM_PATHNAME];
	struct stat st;
	Dot d;

	if (snprintf(dot, sizeof dot, "%s.lock", path) >= (int)sizeof dot)
		return -1;
	if (dotread(dot, &d, &st) < 0 || d.pid == 0 || d.size < 0 || !dotdead(&d))
		return -1;
	return d.size;
}

/*
 * Create the dotlock holding text, never empty for an instant: the text goes
 * into an unnamed file that is then linked under the lock's name, so a crash
 * leaves either no lock or a lock that says whose it was. Without O_TMPFILE
 * or /proc, the lock is created and written in two steps.
 * The descriptor, -2 when the lock exists, -1 on error.
 */
static int
dotcreate(const char *dot, const char *text)
{
	char dir[LIM_PATHNAME], proc[64], *slash;
	size_t n = strlen(text);
	int fd;

	snprintf(dir, sizeof dir, "%s", dot);
	slash = strrchr(dir, '/');
	if (slash == dir)
		dir[1] = 0;
	else if (slash)
		*slash = 0;
	else
		snprintf(dir, sizeof dir, ".");
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0) {
		snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
		if (mb_writeall(fd, text, n) == 0 &&
		    linkat(AT_FDCWD, proc, AT_FDCWD, dot, AT_SYMLINK_FOLLOW) == 0)
			return fd;
		if (errno == EEXIST || errno == EACCES || errno == EPERM || errno == EROFS) {
			int e = errno;
			close(fd);
			errno = e;
			return e == EEXIST ? -2 : -1;
		}
		close(fd);
	} else if (errno == EACCES || errno == EPERM || errno == EROFS)
		return -1;
	fd = open(dot, O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno == EEXIST ? -2 : -1;
	if (mb_writeall(fd, text, n) < 0) {
		unlink(dot);
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Break the dotlock when its holder is dead, or when neither it nor the
 * mailbox changed for LIM_DOTLOCK_STALE seconds (what mutt and Dovecot do
 * for locks of other hosts and of programs that write no pid). Only called
 * with the fcntl write lock held, so no other locker breaks it at the same
 * time. A dead appender's partial message is cut off: it had written nothing
 * before the size its lock records. 1 broken, 0 not.
 */
static int
dotbreak(Mlock *l)
{
	struct stat st, mst, now;
	time_t t = time(NULL);
	Dot d;
	int dead;

	if (dotread(l->dot, &d, &st) < 0)
		return errno == ENOENT;
	if (fstat(l->fd, &mst) < 0)
		return 0;
	dead = d.pid > 0 && dotdead(&d);
	if (!dead && (t - st.st_mtime < LIM_DOTLOCK_STALE || t - mst.st_mtime < LIM_DOTLOCK_STALE))
		return 0;
	if (dead && d.size >= 0 && (uint64_t)mst.st_size > (uint64_t)d.size) {
		if (ftruncate(l->fd, d.size) < 0 || fsync(l->fd) < 0)
			return 0;
		logmsg("mbox", "%s: cut %lld bytes a dead writer (pid %ld) left",
		    l->dot, (long long)(mst.st_size - d.size), d.pid);
	}
	if (lstat(l->dot, &now) == 0 && now.st_dev == st.st_dev && now.st_ino == st.st_ino)
		unlink(l->dot);
	return 1;
}

static int
busy(Mlock *l, const char *path)
{
	lock_release(l);
	seterr("mailbox busy: %s is locked by another program", path);
	errno = EWOULDBLOCK;
	return -1;
}

int
lock_mbox(Mlock *l, int fd, const char *path, int how, int waitms)
{
	int64_t deadline = now_ms() + waitms;
	char text[384], host[256];
	int delay = 2, r;

	l->fd = fd;
	l->dotfd = -1;
	l->dot[0] = 0;
	if (fcntl_try(fd, how == LK_READ ? F_RDLCK : F_WRLCK) < 0) {
		if (errno != EAGAIN && errno != EACCES && errno != EINTR) {
			seterr("lock %s:", path);
			return -1;
		}
		if (fcntl_wait(fd, how == LK_READ ? F_RDLCK : F_WRLCK, deadline) < 0) {
			if (errno == EAGAIN)
				return busy(l, path);
			seterr("lock %s:", path);
			return -1;
		}
	}
	if (how == LK_READ)
		return 0;
	if (snprintf(l->dot, sizeof l->dot, "%s.lock", path) >= (int)sizeof l->dot) {
		l->dot[0] = 0;
		lock_release(l);
		seterr("%s: name too long", path);
		return -1;
	}
	hostname(host, sizeof host);
	snprintf(text, sizeof text, "%ld:%s", (long)getpid(), host);
	delay = 2;
	while ((r = dotcreate(l->dot, text)) < 0) {
		if (r == -1) {
			if (errno == EACCES || errno == EPERM || errno == EROFS) {
				/* no write permission on the directory: fcntl alone, as mutt */
				l->dot[0] = 0;
				break;
			}
			seterr("%s:", l->dot);
			l->dot[0] = 0;
			lock_release(l);
			return -1;
		}
		if (dotbreak(l))
			continue;
		if (now_ms() >= deadline) {
			l->dot[0] = 0;
			return busy(l, path);
		}
		napms(delay);
		delay = delay < 250 ? delay * 2 : 500;
	}
	if (r >= 0)
		l->dotfd = r;
	return 0;
}

/* Record in our dotlock the size an appender will cut the mailbox back to
 * if it dies before it is done. */
int
lock_setsize(Mlock *l, uint64_t size)
{
	char text[384], host[256];
	int n;

	if (l->dotfd < 0)
		return 0;
	hostname(host, sizeof host);
	n = snprintf(text, sizeof text, "%ld:%s:%llu", (long)getpid(), host, (unsigned long long)size);
	if (pwrite(l->dotfd, text, n, 0) != n || ftruncate(l->dotfd, n) < 0) {
		seterr("%s:", l->dot);
		return -1;
	}
	return 0;
}

/* Keep a long rewrite's dotlock fresh, so no one takes it for stale. */
int
lock_touch(Mlock *l)
{
	if (l->dotfd >= 0 && futimens(l->dotfd, NULL) < 0) {
		seterr("%s:", l->dot);
		return -1;
	}
	return 0;
}

/* Give up the dotlock, keeping the fcntl lock. */
void
lock_dropdot(Mlock *l)
{
	if (l->dot[0])
		unlink(l->dot);
	if (l->dotfd >= 0)
		close(l->dotfd);
	l->dotfd = -1;
	l->dot[0] = 0;
}

void
lock_release(Mlock *l)
{
	struct flock fl;

	lock_dropdot(l);
	if (l->fd >= 0) {
		memset(&fl, 0, sizeof fl);
		fl.l_type = F_UNLCK;
		fl.l_whence = SEEK_SET;
		if (fcntl(l->fd, F_OFD_SETLK, &fl) < 0)
			fcntl(l->fd, F_SETLK, &fl);
	}
	l->fd = -1;
}
