/*
 * IMAP4rev1 (RFC 3501) pieces shared by imap4d's modules:
 *	imap.c		command arguments (Tok), sequence sets, quoting
 *	imapfetch.c	ENVELOPE, BODYSTRUCTURE, BODY[section], BINARY[section]
 *	imapsearch.c	SEARCH programs
 *	imapname.c	mailbox names, LIST, subscriptions, CREATE/DELETE/RENAME
 *	imapuid.c	UIDs, keywords and \Recent: the .imp file
 *
 * Messages reach these modules as stored (LF line ends, core/mbox.h); the
 * wire form IMAP counts octets in has CRLF: every LF not after a CR gets one.
 */
#ifndef UPAS_IMAP_H
#define UPAS_IMAP_H

#include <sys/stat.h>
#include <time.h>
#include "core.h"
#include "msg.h"

/* ---- command arguments (imap.c) ---- */
enum {
	T_ATOM = 1,	/* an atom; with '[' the section and partial up to and past
			 * its ']' belong to it, blanks and parens included:
			 * "BODY.PEEK[HEADER.FIELDS (FROM TO)]<0.100>" is one atom */
	T_STR,		/* a quoted string or a literal: s[0..n), NUL-terminated,
			 * never containing NUL (literal8 aside, see lit8) */
	T_LIST,		/* ( ... ): kid[0..nkid) */
};

typedef struct Tok Tok;
struct Tok {
	int type;
	char *s;	/* T_ATOM, T_STR */
	size_t n;
	int lit;	/* T_STR: came as a literal; 2: literal8 ~{n} (may hold NUL) */
	Tok *kid;	/* T_LIST */
	int nkid;
};

/* An atom (any case) equal to word. */
int tok_is(const Tok *t, const char *word);
/* T_ATOM or T_STR: an astring. */
int tok_astring(const Tok *t);

/* A sequence set "1:3,5,7:*": ranges with 0 standing for '*'. */
typedef struct Seqset {
	uint32_t *lo, *hi;	/* as written; 0 is '*' */
	int n;
} Seqset;

/* Parse s (a sequence-set or "$" refused) into ss (allocated in ar); -1 if malformed. */
int seq_parse(Arena *ar, const char *s, Seqset *ss);
/* Does the set hold v, with '*' meaning star (the largest number in use). */
int seq_has(const Seqset *ss, uint32_t v, uint32_t star);

/*
 * Reading one command: "tag [UID] verb args", its literals included. The
 * reader asks for a literal's octets (cont: "+ ..." and a flush) only once
 * its size passed maxlit; verb, when set, is called once the verb is known
 * (to set maxlit, say). Returns 0; -1 or -2 for a command to answer BAD
 * (lasterr(); c->tag is the tag, "*" when there was none); -3 at the end of
 * input; -4 when the session must end (octets of a literal too large are
 * already on their way).
 */
typedef struct Imapcmd {
	char *tag, *verb;
	int uid;	/* "UID verb" */
	Tok *arg;
	int narg;
} Imapcmd;

typedef struct Imapin {
	Bio *b;
	Arena *ar;	/* everything the command holds */
	uint64_t maxlit;	/* octets of all literals of one command */
	int (*cont)(void *arg);
	void (*verb)(void *arg, Imapcmd *c);
	void *arg;
} Imapin;

int imap_readcmd(Imapin *in, Imapcmd *c);

/* ---- writing responses ---- */
/* An astring/nstring: NIL for s NULL, a quoted string when short and plain,
 * else a literal {n}\r\n... */
void imap_str(Str *out, const char *s, size_t n);
void imap_nstr(Str *out, const char *s, size_t n);	/* NIL when s is NULL */
/* Wire form of p[0..n): bare LF becomes CRLF. */
void imap_crlf(Str *out, const char *p, size_t n);
/* Octets and lines of the wire form of p[0..n). */
uint64_t imap_crlfsize(const char *p, size_t n, uint64_t *lines);
/* An IMAP date-time "dd-Mon-yyyy hh:mm:ss +zzzz" (day may be " d"), or -1. */
time_t imap_parsedate(const char *s);

/* ---- flags ---- */
enum {
	/* MF_SEEN ... MF_DRAFT from mbox.h, then: */
	IF_RECENT = 1 << 8,
};

/* ---- what SEARCH looks at, per message (imapsearch.c) ---- */
typedef struct Smsg {
	uint32_t seq, uid;
	int flags;		/* MF_* | IF_RECENT */
	char **kw;		/* keywords set */
	int nkw;
	time_t idate;		/* INTERNALDATE */
	uint64_t size;		/* RFC822.SIZE */
	uint64_t modseq;	/* MODSEQ (RFC 7162) */
	/* the parsed message, loaded on demand; NULL on failure (the key fails) */
	Msg *(*load)(void *arg);
	void *arg;
} Smsg;

/* ---- imapuid.c: the .imp file (UIDs, keywords, \Recent) ---- */
struct Mailbox;
typedef struct Impset {
	char *id, *kw;
	uint64_t mod;		/* the MODSEQ setting it gave */
} Impset;

/*
 * Keywords of the few messages that have some, by a number (an index, a
 * UID): sorted, but for a short unsorted tail merged in as it grows.
 */
typedef struct Kwent {
	uint32_t key;
	char *kw;		/* blank-separated, or NULL: none any more */
} Kwent;
typedef struct Kwmap {
	Kwent *v;
	int n, a, sorted;
} Kwmap;
const char *kw_get(Kwmap *k, uint32_t key);	/* or NULL */
void kw_set(Kwmap *k, uint32_t key, const char *kw);	/* NULL or "": none */
void kw_free(Kwmap *k);

typedef struct Imp {
	char path[LIM_PATHNAME];
	int fd;			/* locked, or -1 */
	uint32_t validity, next, recent;
	uint64_t highest;	/* HIGHESTMODSEQ (RFC 7162) */
	uint32_t saved;		/* UIDNEXT as on disk: below next, UIDs given are not recorded yet */
	int dirty, version;
	/* from imp_match to imp_unlock: */
	struct Mailbox *mb;	/* the mailbox matched */
	uint32_t *uid;		/* uid[i]: message i's UID */
	uint32_t *mod;		/* mod[i]: its MODSEQ less modbase (imp_modseq) */
	uint64_t modbase;
	Kwmap kw;		/* keywords by message index (imp_kw) */
	unsigned char *rflags;	/* rflags[i]: its system flags as recorded */
	int n;
	int claim;		/* set before imp_match: take \\Recent, the old mark into claimed */
	uint32_t claimed;
	Impset *set;		/* keywords set since (imp_setkw), by id */
	int nset, setsorted;
} Imp;

/* Lock the .imp of the mailbox at box of that kind (p zeroed, fd -1, the first time). */
int imp_lock(Imp *p, const char *box, int kind);
/*
 * Read the .imp against mb as it is now: uid[i] for each message (new UIDs
 * in mailbox order), kw[i]; lines of messages gone dropped; changes written
 * at once. The first UID given now, or 0 (lasterr()) when the file cannot
 * be written or UIDs ran out.
 */
uint32_t imp_match(Imp *p, struct Mailbox *mb);
/* Message i's keywords (blank-separated), or NULL. */
const char *imp_kw(Imp *p, int i);
/* Message i's MODSEQ. */
uint64_t imp_modseq(Imp *p, int i);
/* Keywords for message i, a new MODSEQ when they change; written at imp_unlock. */
void imp_setkw(Imp *p, int i, const char *kw);
/* Write what was set since the match, then unlock. */
int imp_unlock(Imp *p);
void imp_close(Imp *p);

/* ---- imapsearch.c ---- */
/*
 * A compiled SEARCH program (RFC 3501 §6.4.4 and RFC 5032 OLDER/YOUNGER).
 * Strings are UTF-8 (the server answers NO [BADCHARSET] for other
 * CHARSETs) and match as case-insensitive substrings, ASCII and Latin-1
 * letters folded: header keys on RFC 2047-decoded values of every field of
 * that name (an empty string: any message with the field), BODY on the
 * text/ parts decoded to UTF-8 and the headers of enclosed messages, TEXT on
 * the header fields too.  BEFORE/ON/SINCE take the INTERNALDATE's day in
 * local time, SENT* the Date: field's day as written in its own zone.
 */
typedef struct Search Search;
/* Compile the keys t[0..n) (after any CHARSET) into ar; NULL with seterr() on a syntax error (BAD). */
Search *search_parse(Arena *ar, Tok *t, int n);
/* 1 if m matches; '*' is maxseq in sequence sets, maxuid in UID sets. Calls
 * m->load at most once, and only for keys that need the content; what it
 * returns stays the caller's. */
int search_match(Search *s, Smsg *m, uint32_t maxseq, uint32_t maxuid);
/* Whether search_match may need the message's content. */
int search_needsmsg(Search *s);
/* Whether it holds a MODSEQ key (RFC 7162: the answer then tells the highest MODSEQ found). */
int search_modseq(Search *s);

/* ---- imapfetch.c ---- */
/*
 * FETCH items of a parsed message (m as msg_parse left it), appended to out
 * in wire form: octets counted with CRLF line ends, strings through imap_str.
 * Header text is sent as written (unfolded, not RFC 2047 decoded), and
 * broken fields are rendered the way Dovecot 2.3 renders them: nothing here
 * fails on a malformed message.
 */
/* ENVELOPE of p: m->root, or the child of a message/rfc822 part. */
void imap_envelope(Str *out, Msg *m, Part *p);
/* BODY (ext 0) or BODYSTRUCTURE (ext 1) of p (normally m->root); 0. */
int imap_bodystructure(Str *out, Msg *m, Part *p, int ext);
/*
 * BODY[sect]: sect[0..n) is the text between the brackets ("", "1.2.MIME",
 * "HEADER.FIELDS (From \"To\")"...).  -1 with seterr() on a syntax error
 * (the server answers BAD); else 0 with *ok = 0 when the part does not exist
 * (or is no message/rfc822 for HEADER, TEXT and HEADER.FIELDS): Dovecot then
 * answers an empty string, BODY[4] {0}.  "" is the whole message.
 */
int imap_section(Str *out, Msg *m, const char *sect, size_t n, int *ok);
/* The section as the response names it: keywords and field names upper case,
 * "1.header.fields (from \"To\")" -> "1.HEADER.FIELDS (FROM \"TO\")"; -1 as imap_section. */
int imap_sectname(Str *out, const char *sect, size_t n);
/*
 * BINARY[sect] (RFC 3516): sect is "" or part numbers.  A leaf part comes
 * with its Content-Transfer-Encoding undone (quoted-printable hard line
 * breaks as CRLF), a multipart, message/rfc822 or 7bit/8bit/binary part in
 * wire form, "" as the whole message.  BINARY.SIZE is out's length.  0 (*ok
 * as for imap_section), -1 on a syntax error, IMAP_UNKNOWNCTE (seterr) for
 * an encoding it cannot undo: the server answers NO [UNKNOWN-CTE].  The
 * content may hold NUL: it goes out as literal8 ~{n} then.
 */
enum { IMAP_UNKNOWNCTE = -2 };
int imap_binary(Str *out, Msg *m, const char *sect, size_t n, int *ok);

/* ---- imapname.c ---- */
/*
 * Mailbox names: modified UTF-7 on the wire (RFC 3501 §5.1.3), UTF-8 on
 * disk under box/USER, '/' the separator; INBOX (any case) is
 * box/USER/mbox. What is a mailbox and which names are refused:
 * docs/mailbox.5, FOLDERS. Functions that fail return -1 with lasterr()
 * (any name in it checked: no control characters) and errno: ENOENT no
 * such mailbox, EEXIST it
 * exists, ELOOP a symbolic link, EINVAL a name or file that cannot be a
 * mailbox, ENOTEMPTY child mailboxes, else the file system's.
 */
/* -1 if malformed or not canonical (what the encoder would not make) */
int imap_mutf7_decode(const char *in, size_t n, Str *out);
void imap_mutf7_encode(const char *utf8, size_t n, Str *out);	/* bad UTF-8: U+FFFD */
/* ROOT/box/USER/... of a wire name, walked without following links; 0
 * also when it does not exist (yet). */
int imap_boxpath(char *buf, size_t n, const char *user, const char *name);
/* A side file: ".NAME.ext" beside an mbox file, "DIR/.ext" inside a directory. */
int imap_sidepath(char *buf, size_t n, const char *boxpath, const char *ext);
/* RFC 3501 LIST pattern: '*' anything, '%' anything but '/'; INBOX in any case. */
int imap_match(const char *pat, const char *name);

/* Called with a wire name and its attributes; nonzero ends the listing and is returned. */
typedef int Imaplistfn(void *arg, const char *name, const char *attrs);
/* LIST ref+pat: INBOX first, then depth first in byte order. Attributes:
 * \Noinferiors (a file), \HasChildren or \HasNoChildren (a directory),
 * RFC 6154 ones by top-level name (Sent, Sent Messages, Sent Items,
 * Drafts, Trash, Deleted Messages, Deleted Items, Junk, Spam, Archive). */
int imap_list(const char *user, const char *ref, const char *pat, Imaplistfn *fn, void *arg);
enum { IMAP_LSUBSCRIBED = 1 };	/* imap_listf: add \Subscribed */
int imap_listf(const char *user, const char *ref, const char *pat, int flags, Imaplistfn *fn, void *arg);
/* LSUB: subscribed names matching, existing or not; an unsubscribed parent
 * matched where its subscribed child is not, as \Noselect. */
int imap_lsub(const char *user, const char *ref, const char *pat, Imaplistfn *fn, void *arg);
/* box/USER/imap.subscribed: one UTF-8 name a line, '#' and blank lines
 * skipped; made with INBOX when missing; rewritten atomically under a lock. */
int imap_subscribed(const char *user, const char *name);	/* 1, 0, -1 */
int imap_subscribe(const char *user, const char *name, int on);	/* ENOENT: was not subscribed */
/* A new empty mailbox of kind MB_* (a name ending in '/': a directory),
 * parents made (0700); an mbox inside a Maildir becomes a Maildir. */
int imap_create(const char *user, const char *name, int kind);
/* The mailbox and its side files; never INBOX; refused with children. */
int imap_delete(const char *user, const char *name);
/* rename(2) with side files and children, new parents made; INBOX's
 * messages move to a new mailbox of its kind, INBOX stays, empty. */
int imap_rename(const char *user, const char *from, const char *to);

#endif
