/*
 * The SMTP server's policy data, all under the mail root:
 *	lib/smtpd.conf		upas's keys (defaultdomain, norelay, ...)
 *	lib/blocked		upas's ratfs classification: "verb value, ..."
 *	ratify/			the tree ratfs would serve, as plain files
 *	lib/names.blocked	local names smtpd refuses as recipients
 *	grey/			greylisting state (smtpd -g)
 * docs/ratify.5 describes the formats for operators.
 *
 * Addresses and networks:
 *	- IPv4 lives as v4-mapped IPv6, so "::ffff:1.2.3.4" is 1.2.3.4;
 *	- a network is "addr", "addr/bits" or "addr#bits" (the ratify file
 *	  name form); IPv4 may be written short as upas does: "10.1" is
 *	  10.1.0.0, and without /bits it spans its written octets but at
 *	  least 16 bits ("10" and "10.1" are /16, "10.1.2" /24, "10.1.2.3" /32);
 *	- IPv4 octets are decimal without leading zeros (never octal).
 *
 * Domains: "*.dom" matches dom and every subdomain, "dom" only dom, in any
 * case. In lib/blocked account values this is also so: a plain "dom" is
 * that domain only, as ratfs's dommatch has it; "*.dom" takes subdomains.
 */
#ifndef UPAS_POLICY_H
#define UPAS_POLICY_H

#include "core.h"

/* An IPv4 or IPv6 network; IPv4 is kept as v4-mapped IPv6. */
typedef struct Net {
	unsigned char a[16];	/* host bits beyond the prefix are zero */
	int bits;		/* 0..128; an IPv4 /n is 96 + n */
} Net;
int net_parse(const char *s, Net *n);	/* 0, or -1 and seterr */
int net_match(const Net *n, const char *ip);	/* 1/0; ip: dotted quad or IPv6 text */
int domain_match(const char *pat, const char *dom);	/* 1/0 */

/*
 * ROOT/lib/smtpd.conf: upas's syntax (keys and values lowercased, tokens
 * split on blanks or commas, '#' comments). ournets and ourdomains
 * accumulate; for the others the last line wins. An unknown key, a bad
 * value or too many values is an error naming file:line, so that a typo
 * in "norelay" cannot leave the server open.
 */
typedef struct Smtpdconf {
	char defaultdomain[LIM_DOMAIN + 1];	/* "" if unset */
	int norelay, verifysenderdom, saveblockedmsg;	/* -1 unset, 0 off, 1 on */
	Net ournets[LIM_OURNETS];
	int nournets;
	char ourdomains[LIM_OURDOMS][LIM_DOMAIN + 3];	/* "dom" or "*.dom" */
	int nourdomains;
} Smtpdconf;
/* path NULL: ROOT/lib/smtpd.conf; a missing file is all unset and returns 0 */
int smtpdconf_load(Smtpdconf *c, const char *path);
int smtpdconf_ournet(const Smtpdconf *c, const char *ip);	/* 1 if ip is in ournets */
/* 1 if dom matches ourdomains; upas's "a dotless name is ours" is the caller's rule */
int smtpdconf_ourdomain(const Smtpdconf *c, const char *dom);

/*
 * Ratification, as upas's ratfs but read straight from files: ROOT/lib/blocked
 * (read once per process, kept until policy_reset) and the tree ROOT/ratify/:
 *	trusted/<net>			POP-before-SMTP grants; they last
 *					LIM_RATIFYTRUST seconds from their mtime
 *	<class>/ip/<net>		class: allow block deny dial delay
 *	<class>/account/<value>		value: user@dom, dom or *.dom
 * A <net> name is the canonical address (dotted quad; RFC 5952 IPv6) with
 * "#bits", or the bare address for a single host. A peer is looked up by
 * trying each prefix length, longest first (IPv4 peers under IPv4 names
 * only); account names are tried lowercased. Only regular files count:
 * symlinks and other files in the tree are ignored.
 *
 * lib/blocked lines are "verb value[, value...]". Verbs: trusted, relay
 * (= trusted), allow, accept (= allow), block, deny, dial, delay. Values are
 * networks; with "*verb" (or "* verb") they are sender accounts:
 *	user@dom, dom!user	that user at that domain
 *	dom, *.dom, dom!	any user at the domain (and its subdomains)
 *	!user, *!user, user@*	that user anywhere
 * where a user ending in '*' matches every user it begins. Comparisons
 * ignore case (upas lowercases the file and the sender). Account values
 * matching every sender, and "*trusted" (senders are forged at will), are
 * errors, as are unknown verbs and bad values: file:line in lasterr().
 *
 * Precedence: trusted first; then the first class among allow, block, deny,
 * dial, delay that the file or the tree gives (allow overrides block).
 */
enum { RatNone, RatTrusted, RatAllow, RatBlock, RatDeny, RatDial, RatDelay };
int ratify_ip(const char *ip);	/* the class of a peer address, RatNone, or -1 */
int ratify_account(const char *user, const char *dom);	/* the class of a sender, RatNone, or -1 */
const char *ratify_name(int class);	/* "trusted", "allow", ...; "none" */
/* create or touch ROOT/ratify/trusted/<ip>#32 (#128 for IPv6); 0 or -1 */
int ratify_trust(const char *ip);

/* ROOT/lib/names.blocked: one local name a line; 1 if listed (any case), 0, -1 */
int policy_nameblocked(const char *name);

/* forget the cached lib/blocked and names.blocked (tests, a changed root) */
void policy_reset(void);

/*
 * Greylisting as upas smtpd -g: 1 pass, 0 "try again later", -1 error.
 * A peer in ROOT/grey/whitelist ("net [fqdn]" lines) passes. Otherwise
 * ROOT/grey/tmp/<localip>/<remoteip>/<rcptuser> is the first attempt's
 * time: made now if missing (0); too young (0); between LIM_GREYMIN and
 * LIM_GREYMAX old, the peer is appended to the whitelist (1); older, or
 * dated in the future, its time is reset (0). Addresses are canonicalised
 * (::ffff:1.2.3.4 is 1.2.3.4); nothing here follows a symlink.
 */
int grey_check(const char *localip, const char *remoteip, const char *rcptuser);

#endif
