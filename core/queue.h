/*
 * The queue for remote delivery (qer writes, runq drains).
 *
 * A queue directory ROOT/queue/SUB holds, per job ID:
 *	D.ID	the message, written and fsync'ed first
 *	F.ID.k	extra files (qer -f), k = 1..
 *	C.ID	the control file: created last, atomically (T.ID, fsync,
 *		rename, directory fsync), so a C file never exists without
 *		complete data; removed first when the job is done
 *	E.ID	the mailers' standard error, appended; its mtime is the
 *		time of the last attempt
 *	Q.ID	a control file that did not parse, moved aside, never run
 *	L.runq	flock(2)ed by the one runq working on the directory
 *
 * The control file is text, one argument per line, every byte outside
 * [A-Za-z0-9!+,-./:=@_~] written as %XX (upper case), so no argument can
 * smuggle a newline or a field; it must read back exactly:
 *	upasq 1 ID
 *	a ARG		(once per argument: tag reply args... extra-paths)
 *	end N
 * An argument may not begin with '-' (it becomes a mailer's argv), be
 * longer than LIM_QARG or hold NUL; at most LIM_QARGS of them, tag and
 * reply always present.
 */
#ifndef UPAS_QUEUE_H
#define UPAS_QUEUE_H

#include <stdio.h>
#include <time.h>
#include "core.h"

enum { LIM_QID = 48 };	/* octets in a job id, with the NUL */

typedef struct Qjob {
	char id[LIM_QID];
	char **argv;	/* tag reply args..., NULL-terminated, in the caller's arena */
	int argc;
	time_t qtime;	/* when queued: D's mtime */
	time_t etime;	/* last attempt: E's mtime; 0 if never tried */
	off_t size;	/* of D */
} Qjob;

/* What queue_job found. */
enum { QOK = 0, QERR = -1, QBAD = -2, QNODATA = -3 };

/* The control file for argv[0..argc-1]; -1 if an argument breaks the rules above. */
int queue_encode(Str *out, const char *id, char **argv, int argc);

/* Parse a control file strictly (any deviation is -1); the arguments land in a. */
int queue_decode(Arena *a, const char *id, const char *p, size_t n, char ***argv, int *argc);

/* ROOT/queue for "-", else root itself. */
int queue_root(char *buf, size_t n, const char *root);

/* The invoking user's name for the default subdirectory: $USER, the
 * login name, or the uid as a number; always passes name_ok. */
const char *queue_user(void);

/* The queue directory root/sub, opened (O_DIRECTORY, not through a symlink);
 * created, with root, when create is set. -1 if it cannot be. */
int queue_opendir(const char *root, const char *sub, int create, char *path, size_t pn);

/*
 * Queue the message read from fd in with the extra files and argv
 * (tag reply args...; the extra files' queued paths are appended).
 * 0 with the job id in id, or -1 with nothing left behind.
 */
int queue_put(int dfd, const char *dir, int in, char **files, int nfiles,
    char **argv, int argc, char *id);

/* The ids of the control files in dfd, malloc'ed, sorted; -1 on error. */
int queue_ids(int dfd, char ***ids, int *n);
void queue_freeids(char **ids, int n);

/* Read job id: QOK, QBAD (control file does not parse), QNODATA (D missing), QERR. */
int queue_job(Arena *a, int dfd, const char *id, Qjob *j);

/* Move C.ID aside to Q.ID, never to run. */
int queue_quarantine(int dfd, const char *id);

/* Remove a finished job: C first, then D, E and F. The caller fsyncs the
 * directory once per batch: a power loss before that may run a finished job
 * again (at least once, as SMTP allows), never lose one. */
int queue_remove(int dfd, const char *id);

/* Remove D, E, F and T files with no C or Q file that are older than
 * LIM_QORPHAN: what a killed qer or runq left. Files removed. */
int queue_sweep(int dfd);

/* The last at most max octets of E.ID (NUL-terminated, malloc'ed), or NULL. */
char *queue_errtail(int dfd, const char *id, size_t max, size_t *len);

/* List every queued job under root (NULL: ROOT/queue), like sendmail -bp:
 * id, age, size, sender, destination, recipients, last error. Jobs listed;
 * nothing is printed for an empty queue. */
int queue_list(FILE *out, const char *root);
#endif
