/*
 * Addresses: RFC 5321 paths, RFC 5322 address lists, and upas's bang form.
 *
 * The parsers return -1 and call seterr() on bad input; what they return
 * lives in the caller's arena.  An Addr they return always holds:
 *	local	the local part with quotes and quoted-pairs removed: 1 to 64
 *		octets once quoted again, printable ASCII or valid UTF-8,
 *		never beginning with '-';
 *	domain	NULL, or a domain or address literal as written (case kept);
 *	route	NULL, or the bang hops before domain ("a!b"), each a domain;
 *	and "<local@domain>" fits in LIM_PATH.
 * The null path <> is local == domain == NULL.
 *
 * Rules beyond the RFCs (docs/DEVIATIONS.md):
 *	- a local part may not begin with '-', quoted or not: local parts end
 *	  up as argv elements and file names, where '-' starts an option
 *	  (the sendmail "-oQ/tmp" class of attack);
 *	- the empty quoted local part "" is refused;
 *	- bytes >= 0x80 must be well-formed UTF-8 (RFC 6531/6532) everywhere;
 *	  whether SMTPUTF8 was negotiated is the caller's check (addr_utf8);
 *	- a source route (<@a,@b:u@d>, RFC 5321 appendix C) is checked and
 *	  dropped, never followed;
 *	- addr_path skips spaces before '<', which many clients send;
 *	- in lists and on command lines an address without "@domain" is a
 *	  local name (domain NULL), as sendmail -t needs;
 *	- a group left open at the end of a list ("undisclosed-recipients:")
 *	  is accepted; an empty group yields no addresses.
 */
#ifndef UPAS_ADDR_H
#define UPAS_ADDR_H

#include "core.h"

typedef struct Addr {
	char *local;	/* NULL only for the null path */
	char *domain;	/* NULL: a local name */
	char *route;	/* bang hops before domain, "a!b"; NULL if none */
	char *name;	/* display name, decoded; NULL if none */
	char *group;	/* the group it was listed in; NULL if none */
} Addr;

/*
 * An RFC 5321 Reverse-path or Forward-path: s holds the text after "FROM:"
 * or "TO:"; *used is set to just past the '>' so the caller can read the
 * ESMTP parameters.  <postmaster> (any case) comes back with domain NULL;
 * MAIL FROM must refuse it, and RCPT TO must refuse <>.
 */
int addr_path(Arena *ar, const char *s, size_t n, Addr *a, size_t *used);

/*
 * An RFC 5322 address-list (To, Cc, From...), folded or not, with at most
 * LIM_ADDRS addresses in LIM_ADDRS * LIM_HDRLINE octets, comments nested at
 * most 8 deep; groups come flat.
 */
int addr_list(Arena *ar, const char *s, size_t n, Addr **v, int *nv);

/*
 * One address as a user types it: addr-spec, name-addr, or, when it has a
 * '!' but no '@' or '<', bang form.
 */
int addr_parse(Arena *ar, const char *s, Addr *a);

/*
 * Bang form: "dom!user", "a!b!user" (route a, domain b), or "user".  A local
 * part that is no Dot-string, or holds a '!', is quoted: dom!"a!b".
 */
int addr_frombang(Arena *ar, const char *s, Addr *a);

/*
 * The writers check the whole Addr against the rules above first (it may
 * have been built by hand) and return NULL with seterr() if it breaks one.
 */
char *addr_bang(Arena *ar, const Addr *a);	/* "" for <> */

/* local@domain, local quoted only when not a Dot-string; route dropped; "" for <>. */
char *addr_text(Arena *ar, const Addr *a);

/* "Display Name" <local@domain>, or local@domain without a name; not for <>. */
char *addr_mailbox(Arena *ar, const Addr *a);

int addr_domainok(const char *s);	/* a domain or address literal */
int addr_utf8(const Addr *a);		/* needs SMTPUTF8 */

#endif
