#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "core.h"

const char *argv0 = "upas";
static char errbuf[LIM_ERR];

/* Format into buf; a trailing ':' in fmt asks for the errno text. */
void
fmtv(char *buf, size_t n, const char *fmt, va_list ap)
{
	int e = errno;
	size_t f = strlen(fmt), l;

	vsnprintf(buf, n, fmt, ap);
	l = strlen(buf);
	if (f > 0 && fmt[f - 1] == ':' && l + 1 < n)
		snprintf(buf + l, n - l, " %s", strerror(e));
}

static void
vwarn(const char *fmt, va_list ap)
{
	char buf[LIM_ERR];

	fmtv(buf, sizeof buf, fmt, ap);
	fprintf(stderr, "%s: %s\n", argv0, buf);
}

void
die(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
	fflush(stdout);
	_exit(status);
}

void
warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
}

void
seterr(const char *fmt, ...)
{
	char buf[LIM_ERR];
	va_list ap;

	va_start(ap, fmt);
	fmtv(buf, sizeof buf, fmt, ap);
	va_end(ap);
	memcpy(errbuf, buf, sizeof buf);
}

/*
 * Is a failure with this errno worth trying again later? Only what the
 * message or its address caused, or what no retry can mend, is permanent:
 * bouncing mail for a full disk, a busy lock or a lack of file descriptors
 * would lose it.
 */
int
err_temporary(int e)
{
	switch (e) {
	case ENOENT: case ENOTDIR: case EACCES: case EPERM: case ELOOP:
	case EISDIR: case EINVAL: case EFBIG: case ENAMETOOLONG:
		return 0;
	}
	return 1;
}

const char *
lasterr(void)
{
	return errbuf[0] ? errbuf : "unknown error";
}

/*
 * One line per event in ROOT/log/<log>, like Plan 9's /sys/log.
 * With log NULL the line goes to stderr without a time stamp (s6, runit and
 * journald add their own); so it does, time-stamped, when the log file cannot
 * be written, so nothing is lost in containers that only collect stderr.
 */
/*
 * The log's file, kept open for the process: a server that gave up root
 * after its first line can still write it, and a busy one opens it once.
 * A kept descriptor is used (or closed) only while it still is that file:
 * an applet run in this process may have closed it, and the number may
 * name a socket now. *own says the caller must close what it got.
 */
static struct {
	char name[32];
	int fd;
	dev_t dev;
	ino_t ino;
} logs[4];

static int
stillours(int i)
{
	struct stat st;

	return logs[i].name[0] && fstat(logs[i].fd, &st) == 0 && st.st_dev == logs[i].dev &&
	    st.st_ino == logs[i].ino;
}

static int
logfd(const char *log, char *path, size_t n, int *own)
{
	static int next;
	struct stat st;
	int i, fd;

	*own = 0;
	if (upas_path(path, n, "log", log, NULL) < 0)
		return -1;
	for (i = 0; i < (int)nelem(logs); i++)
		if (logs[i].name[0] && strcmp(logs[i].name, log) == 0) {
			/* a log rotated away (renamed or removed) is opened anew */
			if (stillours(i) && (stat(path, &st) < 0 ? errno != ENOENT :
			    st.st_dev == logs[i].dev && st.st_ino == logs[i].ino))
				return logs[i].fd;
			if (stillours(i))
				close(logs[i].fd);
			logs[i].name[0] = 0;
		}
	if (
	    (fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0640)) < 0)
		return -1;
	if (strlen(log) >= sizeof logs[0].name || fstat(fd, &st) < 0) {
		*own = 1;
		return fd;
	}
	i = next++ % nelem(logs);
	if (stillours(i))
		close(logs[i].fd);
	snprintf(logs[i].name, sizeof logs[i].name, "%s", log);
	logs[i].fd = fd;
	logs[i].dev = st.st_dev;
	logs[i].ino = st.st_ino;
	return fd;
}

void
logmsg(const char *log, const char *fmt, ...)
{
	char path[LIM_PATHNAME], msg[LIM_ERR * 2], line[LIM_ERR * 3];
	va_list ap;
	time_t t = time(0);
	struct tm tm;
	int fd = -1, n, own = 0;
	char *p;

	va_start(ap, fmt);
	fmtv(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (log == NULL) {
		fprintf(stderr, "%s: %s\n", argv0, msg);
		return;
	}
	for (p = msg; *p; p++)
		if ((unsigned char)*p < ' ')
			*p = ' ';
	gmtime_r(&t, &tm);
	n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02dZ %s[%d] %s\n",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    argv0, (int)getpid(), msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof line)
		n = sizeof line - 1, line[n - 1] = '\n';
	if ((fd = logfd(log, path, sizeof path, &own)) < 0 || fd_writeall(fd, line, n) < 0)
		fd_writeall(2, line, n);
	if (own)
		close(fd);
}

/*
 * Once root becomes a user, ROOT/log/NAME may be closed to it: opened now,
 * it becomes fd 2, where logmsg writes when it cannot open the log (and
 * where inetd would have left the socket).
 */
void
logkeep(const char *log)
{
	char path[LIM_PATHNAME];
	int fd;

	if (geteuid() != 0 || upas_path(path, sizeof path, "log", log, NULL) < 0 ||
	    (fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0640)) < 0)
		return;
	if (fd != 2) {
		dup2(fd, 2);
		close(fd);
	}
}
