/*
 * listen: a small inetd. Accept on one address, fork, run an applet or a program
 * with the connection on fds 0 and 1; optionally terminate TLS first, as Plan 9's
 * tlssrv does, so any server gets implicit-TLS (465/993/995) behaviour.
 */
#include <errno.h>
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
 * Carry bytes between the TLS connection and the program's socket until both
 * directions end or the connection is idle too long. Returns when done.
 */
static void
relay(Conn *c, int fd, const char *addr)
{
	struct pollfd p[2];
	char buf[LIM_BIOBUF * 4];
	int tlsopen = 1, progopen = 1;
	ssize_t n;

	while (progopen) {
		p[0].fd = tlsopen ? c->rfd : -1;
		p[0].events = POLLIN;
		p[1].fd = fd;
		p[1].events = POLLIN;
		p[0].revents = p[1].revents = 0;
		if (!(tlsopen && tls_pending(c))) {
			n = poll(p, 2, L.idle * 1000);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				logmsg(L.log, "%s %s", addr, n == 0 ? "idle timeout" : "poll failed");
				return;
			}
		} else
			p[0].revents = POLLIN;
		if (p[0].revents) {
			n = c->read(c, buf, sizeof buf);
			if (n <= 0) {
				tlsopen = 0;
				shutdown(fd, SHUT_WR);
			} else if (fd_writeall(fd, buf, n) < 0)
				return;
		}
		if (p[1].revents) {
			n = read(fd, buf, sizeof buf);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				progopen = 0;
			else if (!tlsopen || c->write(c, buf, n) < 0)
				return;
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

/* The child: runs with the connection, never returns. */
static void
serve(int fd, char **argv, const char *addr)
{
	struct timeval tv = { .tv_sec = L.idle };
	int sp[2], st;
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
	c.deadline = 0;
	c.timeout = L.idle * 1000;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		die(EX_OSERR, "socketpair:");
	if ((pid = proc_start(argv, sp[1], sp[1])) < 0)
		die(EX_OSERR, "%s", lasterr());
	close(sp[1]);
	relay(&c, sp[0], addr);
	close(sp[0]);
	c.close(&c);
	st = proc_wait(pid);
	_exit(st < 0 ? EX_OSERR : st);
}

int
listen_main(int argc, char **argv)
{
	const char *certfile = NULL, *keyfile = NULL, *user = NULL;
	struct sigaction sa = { 0 };
	char host[64], port[16], addr[96];
	int lfd, fd, o, i;
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
		case 'n': L.max = atoi(optarg); break;
		case 'p': L.peraddr = atoi(optarg); break;
		case 't': L.idle = atoi(optarg); break;
		case 'u': user = optarg; break;
		case 'l': L.log = optarg; break;
		default: usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2 || L.max <= 0 || L.peraddr <= 0 || L.idle <= 0 || (keyfile && !certfile))
		usage();
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
		snprintf(addr, sizeof addr, "%s", host);
		reap(0);
		if (L.nkids >= L.max || count(addr) >= L.peraddr) {
			logmsg(L.log, "%s!%s refused: %s", host, port, L.nkids >= L.max ? "too many connections" : "too many from this address");
			close(fd);
			continue;
		}
		if ((pid = fork()) < 0) {
			logmsg(L.log, "fork: %s", strerror(errno));
			close(fd);
			continue;
		}
		if (pid == 0) {
			close(lfd);
			signal(SIGTERM, SIG_DFL);
			signal(SIGINT, SIG_DFL);
			signal(SIGHUP, SIG_DFL);
			signal(SIGCHLD, SIG_DFL);
			signal(SIGPIPE, SIG_DFL);
			snprintf(addr, sizeof addr, "%s!%s", host, port);
			serve(fd, argv + 1, addr);
		}
		close(fd);
		L.kids[L.nkids].pid = pid;
		L.kids[L.nkids].start = now_ms();
		snprintf(L.kids[L.nkids].addr, sizeof L.kids[L.nkids].addr, "%s", host);
		L.nkids++;
		if (!L.quiet)
			logmsg(L.log, "%s!%s pid %d", host, port, (int)pid);
	}

	/* shut down: no new connections; ask the children to end, then insist */
	close(lfd);
	if (!L.quiet)
		logmsg(L.log, "stopping on signal %d, %d connections open", (int)stopping, L.nkids);
	for (i = 0; i < L.nkids; i++)
		kill(L.kids[i].pid, SIGTERM);
	for (i = 0; i < 50 && L.nkids > 0; i++) {
		usleep(100000);
		reap(0);
	}
	for (i = 0; i < L.nkids; i++)
		kill(L.kids[i].pid, SIGKILL);
	while (L.nkids > 0)
		reap(1);
	return 0;
}
