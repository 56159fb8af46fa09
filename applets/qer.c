/*
 * qer: put a message in the queue for remote delivery (core/queue.h), as
 * upas's /mail/lib/qmail does; with -K, start runq on the queue afterwards.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "applet.h"
#include "queue.h"

/*
 * Start "runq -n 10 -q sub root remotemail" detached (new session, double
 * fork), like qmail's "runq -n 10 /mail/queue /mail/lib/remotemail &", so
 * neither we nor our caller wait for the delivery.
 */
static void
kick(const char *root, const char *sub)
{
	char *argv[] = { "runq", "-n", "10", "-q", (char *)sub, (char *)root, "remotemail", NULL };
	pid_t pid;
	int fd;

	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) < 0) {
		warn("kick runq: fork:");
		return;
	}
	if (pid == 0) {
		setsid();
		if (fork() != 0)
			_exit(0);
		if ((fd = open("/dev/null", O_RDWR)) >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
			if (fd > 2)
				close(fd);
		}
		proc_exec(argv);
	}
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

int
qer_main(int argc, char **argv)
{
	char *files[LIM_QFILES], rootbuf[LIM_PATHNAME], dir[LIM_PATHNAME], id[LIM_QID];
	const char *sub = NULL, *root;
	int nfiles = 0, dokick = 0, c, dfd, r, try;
	Str check = { 0 };

	while ((c = getopt(argc, argv, "+Kq:f:")) != -1)
		switch (c) {
		case 'K':
			dokick = 1;
			break;
		case 'q':
			sub = optarg;
			break;
		case 'f':
			if (nfiles == LIM_QFILES)
				die(EX_USAGE, "at most %d extra files", LIM_QFILES);
			files[nfiles++] = optarg;
			break;
		default:
			usage();
		}
	argc -= optind;
	argv += optind;
	if (argc < 3)
		usage();
	root = argv[0];
	argc--, argv++;
	if (sub == NULL)
		sub = queue_user();
	if (!name_ok(sub))
		die(EX_USAGE, "bad queue subdirectory: %s", sub);
	/* refuse what no control file could hold before reading a byte */
	r = queue_encode(&check, "0", argv, argc);
	str_free(&check);
	if (r < 0)
		die(EX_DATAERR, "%s", lasterr());
	if (queue_root(rootbuf, sizeof rootbuf, root) < 0)
		die(EX_TEMPFAIL, "%s", lasterr());
	/* a runq -a may remove the directory while empty: make it again */
	for (try = 0;; try++) {
		if ((dfd = queue_opendir(rootbuf, sub, 1, dir, sizeof dir)) < 0)
			die(EX_TEMPFAIL, "%s", lasterr());
		if ((r = queue_put(dfd, dir, 0, files, nfiles, argv, argc, id)) == 0)
			break;
		close(dfd);
		if (errno != ENOENT || try == 3)
			die(EX_TEMPFAIL, "%s", lasterr());
	}
	close(dfd);
	logmsg("runq", "queued %s/%s %s from %s to %s", sub, id, argv[0], argv[1], argc > 2 ? argv[2] : "");
	if (dokick)
		kick(root, sub);
	return 0;
}
