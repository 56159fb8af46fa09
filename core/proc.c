#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "core.h"

/*
 * What exec would do before an applet runs in this process: close every fd
 * marked close-on-exec, or pipes and files of the caller leak into it (and a
 * detached runq would hold its parent's pipes open for hours).
 */
static void
closeonexec(void)
{
	struct dirent *e;
	long fd, max;
	int fl, dfd;
	DIR *d;

	/* /proc lists the open fds: a handful, where the loop below would make
	 * as many calls as the fd limit allows (often tens of thousands) */
	if ((d = opendir("/proc/self/fd")) != NULL) {
		dfd = dirfd(d);
		while ((e = readdir(d)) != NULL) {
			fd = strtol(e->d_name, NULL, 10);
			if (fd > 2 && fd != dfd && (fl = fcntl(fd, F_GETFD)) >= 0 && (fl & FD_CLOEXEC))
				close(fd);
		}
		closedir(d);
		return;
	}
	max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 65536)
		max = 65536;
	for (fd = 3; fd < max; fd++)
		if ((fl = fcntl(fd, F_GETFD)) >= 0 && (fl & FD_CLOEXEC))
			close(fd);
}

/*
 * Replace this process with argv. A bare name that is one of our applets runs
 * from this binary (no exec, no /bin/sh, no /proc needed); any other bare name
 * is looked up in PATH; a name with a slash is run as given.
 */
void
proc_exec(char **argv)
{
	int r;

	if (argv == NULL || argv[0] == NULL)
		die(EX_SOFTWARE, "exec: empty command");
	if (strchr(argv[0], '/') == NULL && applet_known(argv[0])) {
		closeonexec();
		r = applet_call(argv);
		fflush(stdout);
		_exit(r);
	}
	if (strchr(argv[0], '/') == NULL && getenv("PATH") == NULL)
		setenv("PATH", "/bin:/usr/bin:/sbin:/usr/sbin", 0);
	execvp(argv[0], argv);
	die(errno == ENOENT ? EX_UNAVAILABLE : EX_OSERR, "exec %s:", argv[0]);
}

/*
 * An applet runs in the forked process without an exec, so close-on-exec never
 * happens: close everything past stderr, or it would hold sockets (and keep a
 * connection open after its relay gave up) that were never meant for it.
 */
void
proc_closefrom(int low)
{
	long fd, max;

	if (syscall(SYS_close_range, low, ~0U, 0) == 0)
		return;
	max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 65536)
		max = 65536;
	for (fd = low; fd < max; fd++)
		close(fd);
}

/* Start argv with in and out (when >= 0) as its fds 0 and 1, default signals. */
pid_t
proc_start(char **argv, int in, int out)
{
	return proc_startas(argv, in, out, (uid_t)-1, 0);
}

/* proc_start, the child becoming uid and gid first unless uid is -1. */
pid_t
proc_startas(char **argv, int in, int out, uid_t uid, gid_t gid)
{
	sigset_t none;
	pid_t pid;
	int s;

	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) < 0) {
		seterr("fork:");
		return -1;
	}
	if (pid > 0)
		return pid;
	for (s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (in >= 0 && in != 0 && dup2(in, 0) < 0)
		die(EX_OSERR, "dup2:");
	if (out >= 0 && out != 1 && dup2(out, 1) < 0)
		die(EX_OSERR, "dup2:");
	proc_closefrom(3);
	if (uid != (uid_t)-1 && priv_become(uid, gid) < 0)
		die(EX_TEMPFAIL, "%s", lasterr());
	proc_exec(argv);
}

int
proc_wait(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			seterr("wait:");
			return -1;
		}
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}
