/*
 * Remote mailboxes as upas/fs names them (upas.md §3, Mailbox kinds):
 * /pop/host[/user] and its TLS and APOP forms, /imap/host[/user[/box]]
 * and /imaps/. A remote mailbox is kept as a local copy, a Maildir in
 * ROOT/box/LOGIN (pop.HOST[.USER]), which fs exports like any other.
 */
#ifndef UPAS_REMOTE_H
#define UPAS_REMOTE_H

#include "core.h"

enum { RM_POP = 1, RM_IMAP };
/* TLS: none (the form says notls), STARTTLS/STLS when offered, STARTTLS
 * required, TLS from the start */
enum { RT_NONE, RT_MAY, RT_STARTTLS, RT_IMPLICIT };

typedef struct Remote {
	int proto, tls, apop;
	char host[LIM_DOMAIN + 1];
	char port[16];		/* or "" */
	char user[LIM_AUTHUSER + 1];	/* or "": the keys file's */
	char box[LIM_PATHNAME];	/* IMAP: the mailbox ("" INBOX) */
} Remote;

/* 1 a remote mailbox (r filled), 0 a local one, -1 a remote name
 * malformed (lasterr). Host may carry a port: host:port, [v6]:port. */
int remote_parse(const char *name, Remote *r);
/* Its local copy: ROOT/box/LOGIN/pop.HOST[.USER] (imap.HOST[.USER][.BOX]). */
int remote_cache(const Remote *r, const char *login, char *buf, size_t n);
/*
 * Bring the local copy (a Maildir, made when missing) and the POP3 account
 * together: messages whose UIDL is new are fetched (each durably, as a
 * delivery), messages fetched before and since deleted from the copy are
 * deleted on the server (DELE, done at QUIT). Credentials from the keys file
 * (service=pop3); APOP or CRAM-MD5 when offered, USER/PASS only under TLS or
 * when the form says notls. 0 or -1 (lasterr; the copy stays as it was or
 * with what was fetched whole). *got and *gone: the counts.
 */
int pop_sync(const Remote *r, const char *login, const char *cache, int *got, int *gone);
/*
 * The same for an IMAP account's mailbox (UIDVALIDITY, UIDs): new messages
 * fetched, flags both ways (seen, answered, flagged, draft: what changed on
 * one side since the last sync goes to the other), messages deleted from
 * the copy deleted and expunged on the server, messages expunged there
 * deleted from the copy. Credentials service=imap; CRAM-MD5 when offered,
 * LOGIN only under TLS.
 */
int imap_sync(const Remote *r, const char *login, const char *cache, int *got, int *gone);
/*
 * Wait on an IMAP account's mailbox with IDLE, writing a byte to wake each
 * time the server says it changed. Returns only when it cannot go on: 1 the
 * server has no IDLE, -1 (lasterr) the session or wake lost.
 */
int imap_idle(const Remote *r, const char *login, int wake);
/*
 * With imap_headers set, imap_sync fetches a new message's header only
 * (BODY.PEEK[HEADER]) and tags it "-h" rather than "-i"; imap_fetch brings
 * its whole text when it is wanted: the message of that UIDVALIDITY and UID
 * into out. 0, or -1 (lasterr; also when the UIDVALIDITY changed).
 */
extern int imap_headers;
int imap_fetch(const Remote *r, const char *login, uint32_t validity, uint32_t uid, Str *out);
/* pop_sync or imap_sync */
int remote_sync(const Remote *r, const char *login, const char *cache, int *got, int *gone);
/* For the fuzzers (tests/fuzz/imapc.c, pop.c): responses read from c as a session
 * reads them, until c ends. imapc_read: the greeting, then each command's (u1 a UID
 * FETCH 1:*); the OKs, the UIDs listed and their flags. pop_read: the greeting, CAPA,
 * UIDL, then RETRs; the messages' octets, the UIDLs. Arrays *n long, the caller frees. */
int imapc_read(Conn *c, uint32_t **uid, int **flags, int *n);
size_t pop_read(Conn *c, char ***uidl, int *n);

/* For pop.c and imapc.c */
enum {
	REMOTE_IDLE = 120,	/* seconds a response may take */
	REMOTE_REIDLE = 25 * 60,	/* seconds an IDLE lasts before it is begun again (RFC 2177: 29 min) */
};
struct Tlstrust;
int remote_dial(Conn *c, Bio *b, const Remote *r, const char *svc, const char *tlssvc, struct Tlstrust *t,
    char *pins, char *ca);
int remote_mkcopy(const char *path);	/* a Maildir, made when missing */
/* COPY/name made s (freed), durably: a temporary file, fsync, rename. */
int remote_putstate(const char *cache, const char *name, Str *s);
/* The copy's tags ('-', one of pfx, 16 hex digits) and their messages' indexes; the count or -1. */
int remote_tags(const char *cache, const char *pfx, char ***v, int **at);
const char *remote_tagin(const char *id, const char *pfx);	/* the tag in an id, or NULL */
#endif
