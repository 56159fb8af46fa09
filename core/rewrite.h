/*
 * rewrite(6): the rules that turn a mail address into an action, and the
 * binding of a list of addresses to the actions send runs.
 *
 * A rule is "pattern type [arg1 [arg2]]", read with the conf tokenizer.
 * At load, \l in any field becomes the local system name (the rule is added
 * a second time for the alternate name, as upas does), \m the mail root (an
 * extension), \\ a backslash; the pattern is lowercased and must match the
 * whole lowercased address (POSIX ERE, see docs/DEVIATIONS.md).  When a rule
 * matches, \0-\9 and & in arg1 and arg2 become the subexpressions of the
 * address as written, \s the sender, \p "bulk" or "normal".
 *
 * Text substituted from an address or the sender can never open or close a
 * quote or split a word of the command it lands in: it is marked with
 * RW_LIT bytes, which rw_split removes after splitting.
 */
#ifndef UPAS_REWRITE_H
#define UPAS_REWRITE_H

#include "regexp.h"
#include "core.h"

enum {
	RW_CAT,		/* >>: append to the mailbox arg1 */
	RW_PIPE,	/* |: run arg1, bundled, with each arg2 appended */
	RW_ALIAS,	/* the address list arg1 replaces the address */
	RW_TRANSLATE,	/* run arg1; its output replaces the address */
	RW_AUTH,	/* run arg1; failure: forwarding disallowed */
};
enum { RW_LIT = 1 };	/* the next byte is literal */

typedef struct Rule {
	char *pat;
	int type;
	char *arg1, *arg2;	/* NULL when absent */
	Regex *re;
	int compiled;		/* 1 compiled, -1 bad pattern (skipped) */
} Rule;

typedef struct Rewrite {
	Rule *r;
	int n, cap;
	Arena ar;
	char **equiv;		/* equivlist: other names of this system */
	int nequiv;
} Rewrite;

/* What a substitution needs to know of the message. */
typedef struct Rwmsg {
	const char *sender;	/* the reply address */
	int bulk;
} Rwmsg;

/* The local system name ($site, else the host name); alt: a second name or NULL. */
const char *rw_sysname(void);
const char *rw_altsysname(void);

/* Load ROOT/lib/rewrite (path NULL) or path; bad lines are warned about and skipped. */
int rw_load(Rewrite *rw, const char *path);
/*
 * Load the system names of an equivlist file (ROOT/lib/equivlist when path
 * is NULL; a missing file is an empty list): one name per line, '#'
 * comments, at most LIM_EQUIV names in LIM_EQUIVFILE octets.  rw_load
 * with a NULL path loads the default one too.
 */
int rw_equivload(Rewrite *rw, const char *path);
/* addr with the leading "name!" hops naming this system (equivlist) removed. */
const char *rw_unequiv(const Rewrite *rw, const char *addr);
/* Rules from text the caller owns (n bytes plus a NUL; rw_free frees it). */
void rw_text(Rewrite *rw, char *text, size_t n, const char *name);
void rw_free(Rewrite *rw);

/*
 * The first rule whose pattern spans all of addr (skipping auth rules when
 * authorized): its index, with arg1 and arg2 substituted into ar (NULL when
 * the rule has none).  -1 when no rule matches.
 */
int rw_match(Rewrite *rw, Arena *ar, const char *addr, const Rwmsg *m, int authorized,
    char **arg1, char **arg2);

/*
 * Split a command into argv: words separated by blanks, ' and " quote without
 * escapes (a quoted part joins the text next to it), RW_LIT marks a literal
 * byte. The argv lives in ar; -1 on an open quote or more than LIM_RWARGS words.
 */
int rw_split(Arena *ar, const char *s, char ***argv);

/*
 * Split an address list (alias, translate output, forward file) into
 * words on white space; "..." spans are kept, quotes included, as upas does.
 */
int rw_words(Arena *ar, const char *s, char ***v);

/* An address as send takes it: validated (core/addr.h), in bang or @ form; NULL + seterr if bad. */
char *rw_addr(Arena *ar, const char *s);

/*
 * rmail's envelope: the leading "From sender date [remote from sys]" lines,
 * each remote hop putting "sys!" in front of the sender (sender gets ""
 * when there are none).  Returns the octets the lines took.
 */
size_t rw_fromlines(const char *p, size_t n, Str *sender);
int rw_words1(const char *p, const char *e, const char **w, size_t *len, int max);

/* Binding: what each address turns into. */
enum {
	D_CAT = 1,	/* local mailbox: repl1 the path */
	D_PIPE,		/* command: repl1, repl2 appended */
	D_PIPETO,	/* the user's pipeto: argv in pipeto, uid change */
	D_DISCARD,	/* >> /dev/null */
	D_UNKNOWN,	/* unknown user */
	D_INVALID,	/* no rule matched: "Invalid address" */
	D_SYNTAX,	/* "invalid address" */
	D_LOOP,		/* forwarding loop */
	D_TRANSLATE,	/* name translation failed */
	D_NOFORWARD,	/* auth refused */
	D_FAIL,		/* another error, in err */
};

typedef struct Dest Dest;
struct Dest {
	char *addr;
	int status;
	int type;		/* the rule's type while binding */
	char *repl1, *repl2;
	char *user;		/* D_CAT, D_PIPETO: the mailbox's user */
	char **pipeto;		/* D_PIPETO: argv */
	char *err;		/* why it failed, when known */
	int temp;		/* a temporary failure */
	int authorized;		/* auth rules no longer apply */
	Dest *parent;
	Dest *next;		/* the bound list, in order */
	Dest *same;		/* the rest of this bundle */
	int nsame;
	size_t nchar;
};

typedef struct Binder Binder;
struct Binder {
	Rewrite *rw;
	Arena *ar;
	const Rwmsg *msg;
	int authorized;		/* not rmail: auth rules are skipped */
	int nosummary;		/* a translator printed _nosummary_ */
	/* run argv, stdin empty: its output in out, error text in err; exit status or -1 */
	int (*run)(Binder *, char **argv, Str *out, Str *err);
	/*
	 * A >> destination: 1 and the forward file's addresses in fwd; or 0 with
	 * d->status set to D_CAT, D_PIPETO (d->pipeto set) or an error.
	 */
	int (*local)(Binder *, Dest *d, Str *fwd);
	void *aux;
};

/* Bind addrs through the rules: the list of bound (and failed) destinations. */
Dest *rw_bind(Binder *b, char **addrs, int n);
/* The printable text of a status ("unknown user"...), NULL for deliveries. */
const char *rw_status(int status);
/* A bundle's argv: repl1 then each repl2, split. */
int rw_bundleargv(Arena *ar, Dest *d, char ***argv);
/* Literal markers removed, for printing. */
char *rw_plain(Arena *ar, const char *s);
#endif
