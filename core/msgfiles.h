/*
 * core/msgfiles.c: a message or MIME part as upas/fs shows it, one file a
 * name (upas.md §3): body, raw, from, subject, info... For fs's tree and
 * nedmail's "p name".
 */
#ifndef UPAS_MSGFILES_H
#define UPAS_MSGFILES_H

#include <time.h>
#include "core.h"
#include "msg.h"

/* What the files need besides the message: the mailbox's word on it. */
typedef struct Mfctx {
	const char *sender;	/* envelope sender, "" if none */
	time_t date;		/* arrival */
	int flags;		/* MF_* of the message (core/mbox.h) */
	char fileid[32];	/* "secs.NN": arrival second and a number within it */
	int (*ignored)(const char *name, size_t n);	/* fields header leaves out, or NULL */
} Mfctx;

/* The files of a message or part, in upas's order, NULL-terminated. */
extern const char *const mf_names[];

/* File name of part p of message m appended to out: 0, or -1 for no such name. */
int mf_file(Msg *m, Part *p, const Mfctx *c, const char *name, Str *out);

/* A flags file's text applied to flags (MF_*): the 7 places fs writes
 * (a letter or '-' each), or changes "[+-]letters"; -1 if neither. */
int mf_flags(const char *s, size_t n, int flags);

/* flags (MF_*) as the 7 places fs writes, into buf[8] */
void mf_flagtext(int flags, char *buf);

/* The addresses of p's header fields called name, blank-separated, display
 * names, comments and group names dropped, never one starting with '-'. */
char *mf_addrs(Arena *ar, Part *p, const char *name);
/* The same for one unfolded address list v (modified). */
void mf_addrlist(Arena *ar, char *v, Str *s);
#endif
