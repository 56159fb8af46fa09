/*
 * listen: a small inetd. Accept on one address, fork, run an applet or a program
 * with the connection on fds 0 and 1; optionally terminate TLS first, as Plan 9's
 * tlssrv does, so any server gets implicit-TLS (465/993/995) behaviour.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "applet.h"
#include "tls.h"

typedef struct Child {
	pid_t pid;
	int64_t start;
	char addr[64];
} Child;

static struct {
	int quiet;
	const char *log;
	int max, peraddr, idle;
	Tlscert *cert;
	Child *kids;
	int nkids;
} L;
static volatile sig_atomic_t stopping;

static void
onsig(int s)
{
	if (s != SIGCHLD)
		stopping = s;
}

/* Connections are counted per address, and per /64 for IPv6, where one
 * client commonly holds the whole prefix. */
static void
addrkey(const char *host, char *key, size_t n)
{
	unsigned char a[16];

	if (inet_pton(AF_INET6, host, a) == 1) {
		memset(a + 8, 0, 8);
		if (inet_ntop(AF_INET6, a, key, n) != NULL)
			return;
	}
	snprintf(key, n, "%s", host);
}

static int
number(const char *s, int max)
{
	char *e;
	long v;

	errno = 0;
	v = strtol(s, &e, 10);
	if (*s == 0 || *e != 0 || errno != 0 || v <= 0 || v > max)
		usage();
	return (int)v;
}

static int
count(const char *addr)
{
	int i, n = 0;

	for (i = 0; i < L.nkids; i++)
		n += strcmp(L.kids[i].addr, addr) == 0;
	return n;
}

static void
reap(int hang)
{
	int st, i;
	pid_t pid;

	while ((pid = waitpid(-1, &st, hang ? 0 : WNOHANG)) > 0) {
		for (i = 0; i < L.nkids && L.kids[i].pid != pid; i++)
			;
		if (i == L.nkids)
			continue;
		if (!L.quiet)
			logmsg(L.log, "%s pid %d %s %d after %.1fs", L.kids[i].addr, (int)pid,
			    WIFEXITED(st) ? "exit" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st),
			    (now_ms() - L.kids[i].start) / 1000.0);
		L.kids[i] = L.kids[--L.nkids];
		if (hang)
			return;
	}
}

/*
 * Carry bytes between the TLS connection and the program's socket until the
 * program is done or the connection is idle too long. The program's side is
 * non-blocking and input for it waits in one buffer, so a program that writes
 * much while not reading can never wedge the relay: its output is drained
 * while its input waits. 0 when the program ended its output, -1 otherwise.
 */
static int
relay(Conn *c, int fd, const char *addr)
{
	struct pollfd p[2];
	char in[LIM_BIOBUF * 4], out[LIM_BIOBUF * 4];
	size_t pend = 0, off = 0;
	int tlsopen = 1, eofsent = 0, ready;
	ssize_t n;

	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	for (;;) {
		p[0].fd = tlsopen && pend == 0 ? c->rfd : -1;
		p[0].events = POLLIN;
		p[1].fd = fd;
		p[1].events = POLLIN | (pend ? POLLOUT : 0);
		p[0].revents = p[1].revents = 0;
		if (p[0].fd >= 0 && tls_pending(c))
			p[0].revents = POLLIN;
		else {
			ready = poll(p, 2, L.idle * 1000);
			if (ready < 0 && errno == EINTR)
				continue;
			if (ready <= 0) {
				logmsg(L.log, "%s %s", addr, ready == 0 ? "idle timeout" : "poll failed");
				return -1;
			}
		}
		if (p[0].revents) {
			n = c->read(c, in, sizeof in);
			if (n <= 0)
				tlsopen = 0;
			else
				pend = n, off = 0;
		}
		if (pend > 0) {
			n = write(fd, in + off, pend);
			if (n > 0)
				off += n, pend -= n;
			else if (n < 0 && errno != EAGAIN && errno != EINTR)
				return -1;
		}
		if (!tlsopen && pend == 0 && !eofsent) {
			shutdown(fd, SHUT_WR);
			eofsent = 1;
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			n = read(fd, out, sizeof out);
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
				return 0;
			if (n > 0 && !tlsopen)
				return -1;
			if (n > 0 && c->write(c, out, n) < 0) {
				logmsg(L.log, "%s client: %s", addr, lasterr());
				return -1;
			}
		}
	}
}

static void
setenvs(int fd)
{
	char host[64], port[16];

	setenv("PROTO", "TCP", 1);
	if (sock_name(fd, 1, host, sizeof host, port, sizeof port) == 0) {
		setenv("TCPREMOTEIP", host, 1);
		setenv("TCPREMOTEPORT", port, 1);
	}
	if (sock_name(fd, 0, host, sizeof host, port, sizeof port) == 0) {
		setenv("TCPLOCALIP", host, 1);
		setenv("TCPLOCALPORT", port, 1);
	}
}

/* A program whose connection is gone gets SIGTERM, then 5 s, then SIGKILL. */
static int
ending(pid_t pid)
{
	int st, i;

	kill(pid, SIGTERM);
	for (i = 0; i < 50; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		usleep(100000);
	}
	kill(pid, SIGKILL);
	return proc_wait(pid);
}

/* The child: runs with the connection, never returns. */
static void
serve(int fd, char **argv, const char *addr)
{
	struct timeval tv = { .tv_sec = L.idle };
	int sp[2], st, abandon;
	pid_t pid;
	Conn c;

	setenvs(fd);
	if (L.cert == NULL) {
		/* a plain program owns the socket: blocking reads end after the idle time */
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		if (dup2(fd, 0) < 0 || dup2(fd, 1) < 0)
			die(EX_OSERR, "dup2:");
		if (fd > 1)
			close(fd);
		proc_exec(argv);
	}
	conn_init(&c, fd, fd);
	c.deadline = now_ms() + LIM_HANDSHAKE * 1000;
	if (tls_server(&c, L.cert) < 0) {
		logmsg(L.log, "%s tls: %s", addr, lasterr());
		_exit(EX_PROTOCOL);
	}
	/* no renegotiation: the key is never needed again, so the program never sees it */
	tls_freecert(L.cert);
	L.cert = NULL;
	c.deadline = 0;
	c.timeout = L.idle * 1000;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		die(EX_OSERR, "socketpair:");
	if ((pid = proc_start(argv, sp[1], sp[1])) < 0)
		die(EX_OSERR, "%s", lasterr());
	close(sp[1]);
	abandon = relay(&c, sp[0], addr) < 0;
	close(sp[0]);
	c.close(&c);
	if (abandon)
		st = ending(pid);
	else
		st = proc_wait(pid);
	_exit(st < 0 ? EX_OSERR : st);
}

int
listen_main(int argc, char **argv)
{
	const char *certfile = NULL, *keyfile = NULL, *user = NULL;
	struct sigaction sa = { 0 };
	char host[64], port[16], addr[96], key[64];
	int64_t lastrefusal = 0;
	int lfd, fd, o, i;
	Dial dl;
	uid_t uid;
	gid_t gid;
	pid_t pid;

	L.max = LIM_LISTEN_CONNS;
	L.peraddr = LIM_LISTEN_PERADDR;
	L.idle = LIM_LISTEN_IDLE;
	while ((o = getopt(argc, argv, "+qc:k:n:p:t:u:l:")) != -1) {
		switch (o) {
		case 'q': L.quiet = 1; break;
		case 'c': certfile = optarg; break;
		case 'k': keyfile = optarg; break;
		case 'n': L.max = number(optarg, 100000); break;
		case 'p': L.peraddr = number(optarg, 100000); break;
		case 't': L.idle = number(optarg, 86400); break;
		case 'u': user = optarg; break;
		case 'l': L.log = optarg; break;
		default: usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2 || (keyfile && !certfile))
		usage();
	if (dial_parse(argv[0], NULL, &dl) < 0) {
		warn("%s: %s", argv[0], lasterr());
		usage();
	}
	if ((lfd = announce(argv[0], NULL, 128)) < 0)
		die(EX_UNAVAILABLE, "announce %s: %s", argv[0], lasterr());
	if (certfile && (L.cert = tls_loadcert(certfile, keyfile)) == NULL)
		die(EX_CONFIG, "%s", lasterr());
	if (user && (priv_lookup(user, &uid, &gid) < 0 || priv_become(uid, gid) < 0))
		die(EX_NOPERM, "%s", lasterr());
	L.kids = xmalloc(L.max * sizeof *L.kids);

	sa.sa_handler = onsig;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (!L.quiet)
		logmsg(L.log, "listening on %s%s", argv[0], L.cert ? " with tls" : "");

	while (!stopping) {
		struct pollfd p = { .fd = lfd, .events = POLLIN };

		reap(0);
		if (poll(&p, 1, 1000) <= 0)
			continue;
		if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
				usleep(100000);
			continue;
		}
		if (sock_name(fd, 1, host, sizeof host, port, sizeof port) < 0) {
			close(fd);
			continue;
		}
		addrkey(host, key, sizeof key);
		reap(0);
		if (L.nkids >= L.max || count(key) >= L.peraddr) {
			/* a flood must not fill the disk with log lines: one a second */
			if (now_ms() - lastrefusal >= 1000) {
				logmsg(L.log, "%s!%s refused: %s", host, port,
				    L.nkids >= L.max ? "too many connections" : "too many from this address");
				lastrefusal = now_ms();
			}
			close(fd);
			continue;
		}
		if ((pid = fork()) < 0) {
			logmsg(L.log, "fork: %s", strerror(errno));
			close(fd);
			continue;
		}
		if (pid == 0) {
			setpgid(0, 0);
			close(lfd);
			signal(SIGTERM, SIG_DFL);
			signal(SIGINT, SIG_DFL);
			signal(SIGHUP, SIG_DFL);
			signal(SIGCHLD, SIG_DFL);
			signal(SIGPIPE, SIG_DFL);
			snprintf(addr, sizeof addr, "%s!%s", host, port);
			serve(fd, argv + 1, addr);
		}
		setpgid(pid, pid);
		close(fd);
		L.kids[L.nkids].pid = pid;
		L.kids[L.nkids].start = now_ms();
		snprintf(L.kids[L.nkids].addr, sizeof L.kids[L.nkids].addr, "%s", key);
		L.nkids++;
		if (!L.quiet)
			logmsg(L.log, "%s!%s pid %d", host, port, (int)pid);
	}

	/* shut down: no new connections; ask the children to end, then insist */
	close(lfd);
	if (!L.quiet)
		logmsg(L.log, "stopping on signal %d, %d connections open", (int)stopping, L.nkids);
	/* each connection is a process group: the relay and its program */
	for (i = 0; i < L.nkids; i++)
		kill(-L.kids[i].pid, SIGTERM);
	for (i = 0; i < 50 && L.nkids > 0; i++) {
		usleep(100000);
		reap(0);
	}
	for (i = 0; i < L.nkids; i++)
		kill(-L.kids[i].pid, SIGKILL);
	while (L.nkids > 0)
		reap(1);
	return 0;
}
