#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "core.h"

int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until fd is ready, within the idle timeout and before the deadline. */
int
conn_wait(Conn *c, int fd, int events)
{
	struct pollfd p = { .fd = fd, .events = events };
	int64_t t, left;
	int r;

	for (;;) {
		t = c->timeout > 0 ? c->timeout : -1;
		if (c->idle > 0 && (t < 0 || c->idle < t))
			t = c->idle;
		if (c->deadline > 0) {
			left = c->deadline - now_ms();
			if (left <= 0) {
				errno = ETIMEDOUT;
				seterr("deadline passed");
				return -1;
			}
			if (t < 0 || left < t)
				t = left;
		}
		r = poll(&p, 1, (int)t);
		if (r > 0)
			return 0;
		if (r == 0) {
			errno = ETIMEDOUT;
			seterr("timed out");
			return -1;
		}
		if (errno != EINTR) {
			seterr("poll:");
			return -1;
		}
	}
}

/*
 * After EAGAIN: on a non-blocking fd, wait for it; on a blocking one the
 * socket's own SO_RCVTIMEO/SO_SNDTIMEO (set by listen) has expired: time out.
 */
int
conn_again(Conn *c, int fd, int events)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0 && !(fl & O_NONBLOCK)) {
		errno = ETIMEDOUT;
		seterr("timed out");
		return -1;
	}
	return conn_wait(c, fd, events);
}

int
fd_writeall(int fd, const void *p, size_t n)
{
	const char *s = p;
	ssize_t w;

	while (n > 0) {
		w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		s += w;
		n -= w;
	}
	return 0;
}

static ssize_t
plain_read(Conn *c, void *p, size_t n)
{
	ssize_t r;

	for (;;) {
		if ((c->timeout > 0 || c->deadline > 0) && conn_wait(c, c->rfd, POLLIN) < 0)
			return -1;
		r = read(c->rfd, p, n);
		if (r >= 0)
			return r;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			if (conn_again(c, c->rfd, POLLIN) < 0)
				return -1;
			continue;
		}
		seterr("read:");
		return -1;
	}
}

static int
plain_write(Conn *c, const void *p, size_t n)
{
	const char *s = p;
	ssize_t w;

	while (n > 0) {
		if ((c->timeout > 0 || c->deadline > 0) && conn_wait(c, c->wfd, POLLOUT) < 0)
			return -1;
		w = write(c->wfd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			if (conn_again(c, c->wfd, POLLOUT) < 0)
				return -1;
			continue;
		}
		if (w <= 0) {
			seterr("write:");
			return -1;
		}
		s += w;
		n -= w;
	}
	return 0;
}

static void
plain_close(Conn *c)
{
	if (c->rfd >= 0)
		close(c->rfd);
	if (c->wfd >= 0 && c->wfd != c->rfd)
		close(c->wfd);
	c->rfd = c->wfd = -1;
}

/*
 * The idle time listen gave a plaintext socket as its SO_RCVTIMEO, in ms; 0
 * if none. A wait in poll would not see it, so conn_wait takes it as a bound.
 */
static int
sockidle(int fd)
{
	struct timeval tv;
	socklen_t n = sizeof tv;

	if (getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &n) < 0 || tv.tv_sec > 86400)
		return 0;
	return tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

void
conn_init(Conn *c, int rfd, int wfd)
{
	c->rfd = rfd;
	c->wfd = wfd;
	c->idle = sockidle(rfd);
	c->timeout = 0;
	c->deadline = 0;
	c->read = plain_read;
	c->write = plain_write;
	c->close = plain_close;
	c->tls = NULL;
}
