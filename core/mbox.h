/*
 * Mailboxes: mbox, mdir and Maildir behind one interface (docs/mailbox.5).
 * A file is an mbox; a directory with cur/, new/ and tmp/ is a Maildir; any
 * other directory is an mdir (9front: one "secs.NN" file per message).
 */
#ifndef UPAS_MBOX_H
#define UPAS_MBOX_H

#include <time.h>
#include "core.h"

/*
 * Durable, atomic append of one message (RFC 5322 bytes, LF or CRLF line
 * ends: stored with LF, and a final newline added when missing) to the mailbox
 * at path. A path that does not exist is created as an mbox file (mode 0600).
 * sender and when make the "From sender date" line (mbox, mdir; when 0: now).
 * Locks as mutt, Dovecot and Postfix local(8) do (fcntl, then dotlock); fsyncs
 * file and directory before returning 0; on failure returns -1 (seterr) and
 * leaves the mailbox as before, with errno EWOULDBLOCK when the mailbox stayed
 * locked by others for mb_lockwait seconds (a temporary failure), ELOOP for a
 * symlink. Never follows a symlink in the last path component.
 */
int mb_append(const char *path, const char *sender, time_t when, const char *msg, size_t n);
extern int mb_lockwait;
/* Set: scans leave the index (a cache) for mb_sync and mb_close to write,
 * for a reader that learns more before it closes (nedmail). */
extern int mb_indexatclose;
/* After mb_append: the new message's id (Maildir, mdir), or "@OFFSET" of
 * its From line (mbox), to find it again after a scan. */
extern char mb_appended[512];		/* seconds to wait for a mailbox lock; LIM_MBOX_LOCKWAIT */

enum { MB_MBOX = 1, MB_MDIR, MB_MAILDIR };
int mb_type(const char *path);	/* the format at path (lstat), or -1 */

/* Message flags. MF_OLD: a reader has seen it arrive (mbox "Status: O",
 * Maildir cur/); a message without it is recent. */
enum {
	MF_SEEN = 1 << 0,	/* mbox Status R, Maildir S */
	MF_ANSWERED = 1 << 1,	/* X-Status A, Maildir R */
	MF_FLAGGED = 1 << 2,	/* X-Status F, Maildir F */
	MF_DELETED = 1 << 3,	/* X-Status D, Maildir T; mb_sync expunges */
	MF_DRAFT = 1 << 4,	/* X-Status T, Maildir D */
	MF_OLD = 1 << 5,	/* Status O, Maildir cur/ */
	MF_STORED = 1 << 6,	/* saved elsewhere (upas's S): X-Status S; Maildir and
				 * mdir: the index */
	MF_ALL = (1 << 7) - 1,
	MF_EXPUNGE = 1 << 7,	/* never on disk: mb_sync removes it when keepdel is set */
};

typedef struct Mmsg {
	char *id;		/* Maildir: the base name, mdir: the file name (mb_newid;
				 * the file's name from it: mb_file); mbox: NULL (mb_id) */
	/* mbox */
	uint64_t off, end;	/* From line, next separator */
	uint64_t h;		/* digest of the From line and header */
	uint32_t hlen;		/* the From line's length: the header is at off + hlen */
	uint32_t date;		/* arrival (From line, Maildir name), in seconds since
				 * 1970, as mb_u32 keeps it */
	uint32_t size;		/* octets mb_read gives, as mb_u32 keeps it (mb_read
				 * refuses more than LIM_MBOXMSG); Maildir: 0 until read
				 * unless the name says (",S=") */
	unsigned char flags;	/* current; mb_sync writes them */
	unsigned char dflags;	/* as on disk */
	uint16_t dup;		/* mbox: this is the dup'th message with digest h */
} Mmsg;
/* A date or size as an Mmsg keeps it: 0 to UINT32_MAX. */
static inline uint32_t
mb_u32(int64_t v)
{
	return v < 0 ? 0 : v > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

typedef struct Mailbox Mailbox;
/*
 * A message's id, stable while it exists: the Maildir base name, the mdir
 * file name, or for an mbox the digest of its From line and header in hex,
 * with "-2", "-3"... for later copies of one message (made in buf).
 */
enum { MB_IDLEN = 32 };
const char *mb_id(Mailbox *mb, int i, char *buf);
const char *mb_msgid(Mailbox *mb, const Mmsg *m, char *buf);
/* The file of a Maildir or mdir message, relative to the mailbox
 * ("cur/name:2,FS", "new/name", "secs.NN"), in buf; "" for an mbox's.
 * A Maildir message is in cur/ when its dflags have MF_OLD. */
const char *mb_file(Mailbox *mb, const Mmsg *m, char *buf, size_t n);
/* The messages appended as where[0..n) said (mb_appended; NULL: none): each
 * one's index in mb, or -1, into at. */
void mb_findput(Mailbox *mb, const char *const *where, int n, int *at);

enum { MB_RDONLY = 0, MB_RDWR = 1 };
/* Open and scan, reusing the index where it is still true. */
Mailbox *mb_open(const char *path, int mode);
/* Scan again: messages others appended or removed. Flag changes not yet
 * synced are kept for messages still present. Messages, or -1. */
int mb_refresh(Mailbox *mb);
int mb_count(Mailbox *mb);
Mmsg *mb_msg(Mailbox *mb, int i);
int mb_kind(Mailbox *mb);
/* Message i as stored, appended to out: header and body (what mb_append
 * stored has LF line ends and a final newline), mbox quoting undone, the
 * mbox Status:/X-Status: lines (the flags) left out. */
int mb_read(Mailbox *mb, int i, Str *out);
/* Message i's header up to and with its blank line, appended to out (as
 * stored: an mbox's Status: lines kept); the body is not read. */
int mb_head(Mailbox *mb, int i, Str *out);
/* Message i's envelope sender, or "": valid until the next call. */
const char *mb_sender(Mailbox *mb, int i);
void mb_setflags(Mailbox *mb, int i, int set, int clear);
/* Write changed flags and expunge every message marked MF_DELETED, under
 * the mailbox's locks; an mbox is rewritten crash-safely (journal, then in
 * place). 0 or -1; afterwards the messages are numbered anew. */
int mb_sync(Mailbox *mb);
/* What mb_sync expunged from a Maildir left in tmp/ (out of the mailbox
 * already, durably): unlink it now. A server answers first and purges after;
 * mb_close purges too, and a scan removes what a dead process left. */
void mb_purge(Mailbox *mb);
/* on: \Deleted (MF_DELETED) is kept as a flag, MF_EXPUNGE expunges (IMAP). */
void mb_keepdeleted(Mailbox *mb, int on);
void mb_close(Mailbox *mb);

/* lock.c: mbox locks, in the order of Postfix local(8), mutt and Debian's
 * Dovecot: fcntl, then the dotlock "<mbox>.lock" (skipped where the directory
 * is not writable, as mutt does). A dead holder's dotlock is broken at once,
 * another's when it and the mailbox were untouched for LIM_DOTLOCK_STALE s. */
typedef struct Mlock {
	int fd;			/* the mailbox */
	int dotfd;		/* our dotlock, or -1 */
	char dot[LIM_PATHNAME];	/* its name, or "" */
} Mlock;
enum { LK_READ, LK_WRITE };
int lock_mbox(Mlock *l, int fd, const char *path, int how, int waitms);
int lock_setsize(Mlock *l, uint64_t size);
int lock_touch(Mlock *l);
void lock_dropdot(Mlock *l);
void lock_release(Mlock *l);
/* A dead appender's dotlock: the size the mailbox had before it, or -1. */
int64_t lock_crashed(const char *path);

/* Private to core/mb*.c and index.c */
struct Mailbox {
	int kind, mode;
	char *path;
	int fd;			/* mbox: the file; mdir, Maildir: the directory */
	uint64_t dev, ino;	/* mbox, as scanned */
	uint64_t size;		/* mbox: bytes scanned */
	int64_t mtime;		/* mbox: ns, as scanned */
	Mmsg *msg;
	int nmsg, amsg;
	int dirty;		/* the index needs writing */
	int keepdel;		/* MF_DELETED is a flag like the others, and MF_EXPUNGE
				 * marks what mb_sync removes (IMAP); else MF_DELETED does */
	char **purge;		/* Maildir: expunged files moved to tmp/, unlinked by mb_purge */
	int npurge;
	char *sender;		/* what mb_sender last gave */
	int subfd[2];		/* Maildir: new/ and cur/ once mb_head opened them, else 0 */
};
Mmsg *mb_add(Mailbox *mb);
void mb_reserve(Mailbox *mb, int n);	/* room for n messages in all, before mb_add */
void mb_trim(Mailbox *mb);	/* give back room a scan did not use */
int mb_gone(Mailbox *mb, Mmsg *m);	/* does mb_sync expunge m */
/* flags now on disk with the unsynced changes (flags against dflags) over them */
int mb_over(int flags, int dflags, int now);
void mb_freemsg(Mmsg *m);
/* An id: the id's n octets, then after its NUL the rest of a Maildir name
 (":2,FS"), one allocation that mb_freeid frees. */
char *mb_newid(const char *id, size_t n, const char *rest);
void mb_freeid(char *id);
void mb_freemsgs(Mailbox *mb, int from);
void mb_adopt(Mailbox *mb, Mailbox *t, Mmsg **old, char *used);
int mb_fromline(char *buf, size_t n, const char *sender, time_t when);
int mb_parsefrom(const char *line, size_t n, char **sender, time_t *date);
char *mb_senderat(int fd, uint64_t off, size_t n);
void mb_quote(Str *out, const char *msg, size_t n, int quote);
int mb_unquoteline(const char *p, size_t n);
int mb_statusline(const char *p, size_t n, int *flags);
void mb_statuslines(Str *out, int flags);
size_t mb_blanktail(const char *p, size_t n);
uint64_t mb_unmbox(Str *out, const char *p, size_t n, int status, int *flags);
int mb_fsyncdir(int dirfd, const char *path);
int mb_fsyncparent(const char *path);
uint64_t mb_hash(uint64_t h, const void *p, size_t n);
int mb_writeall(int fd, const char *p, size_t n);
int mb_sidepath(char *buf, size_t n, const char *path, const char *suffix);
int mb_rescan(Mailbox *mb, int locked);

int mbox_append(const char *path, const char *sender, time_t when, const char *msg, size_t n);
int mbox_scan(Mailbox *mb, int locked);
int mbox_read(Mailbox *mb, Mmsg *m, Str *out);
char *mbox_sender(Mailbox *mb, Mmsg *m);
int mbox_sync(Mailbox *mb);
int mdir_append(const char *path, const char *sender, time_t when, const char *msg, size_t n);
int mdir_scan(Mailbox *mb);
int mdir_read(Mailbox *mb, Mmsg *m, Str *out);
int mdir_sync(Mailbox *mb);
int mb_flockdir(int fd, const char *path);
int maildir_append(const char *path, const char *msg, size_t n);
extern const char *maildir_tag;	/* set: in the next name maildir_append makes (no '/', ':' or '.') */
extern time_t maildir_when;	/* set: the arrival second the next name says (IMAP's INTERNALDATE) */
int maildir_scan(Mailbox *mb);
int maildir_read(Mailbox *mb, Mmsg *m, Str *out);
char *maildir_sender(Mailbox *mb, Mmsg *m);
char *mdir_sender(Mailbox *mb, Mmsg *m);
int maildir_sync(Mailbox *mb);

/* index.c: the per-mailbox index, a cache never trusted blindly (mdir's
 * flags live only there). idx_load replaces mb's messages and recorded
 * state with the index's; idx_save writes them, temp file and rename. */
int idx_path(Mailbox *mb, char *buf, size_t n);
int idx_load(Mailbox *mb);
int idx_save(Mailbox *mb);
#endif
