/*
 * Writing MIME: what marshal and sendmail need to compose a message.
 * Output lines end in a bare LF, as mailboxes store them; the SMTP client
 * turns them into CRLF on the wire.
 */
#ifndef UPAS_MIMEENC_H
#define UPAS_MIMEENC_H

#include <time.h>
#include "core.h"

/* RFC 4648 base64, lines of at most linelen characters (0: one line), each ending in LF. */
void mime_base64(Str *out, const void *p, size_t n, int linelen);

/* RFC 2045 §6.7 quoted-printable of text with LF (or CRLF) line ends, lines
 * of at most 76 characters ending in LF; "=", 8-bit and control bytes, and
 * blanks before a line end are encoded. */
void mime_qp(Str *out, const char *p, size_t n);

/*
 * An unstructured header body (Subject:) starting at column col: ASCII text
 * is folded at blanks; text with bytes >= 0x80, or that would read as an
 * encoded word, becomes RFC 2047 UTF-8 encoded words (B or Q, whichever is
 * shorter), each at most 75 characters, never splitting a UTF-8 sequence,
 * one per line so no line passes 76 characters. Control characters become
 * spaces. No trailing newline.
 */
void mime_hdrtext(Str *out, const char *s, size_t col);

/* A display name (RFC 5322 phrase): an atom list as is, else a quoted string,
 * else (non-ASCII) RFC 2047 encoded words restricted to the phrase alphabet. */
void mime_phrase(Str *out, const char *s, size_t col);

/* name-addr: the phrase, then " <addr>", on a line of its own when the last one is full. */
void mime_mailbox(Str *out, const char *name, const char *addr, size_t col);

/*
 * "; name=value" for a Content-Type or Content-Disposition parameter:
 * a token or quoted string when ASCII and short, else RFC 2231
 * (name*=UTF-8''%XX..., split into name*0*, name*1*... on folded lines).
 */
void mime_param(Str *out, const char *name, const char *value);

/* The type for a file name's extension, or NULL. */
const char *mime_typebyname(const char *name);

/* The type the content looks like (magic numbers, then text or binary); never NULL. */
const char *mime_sniff(const void *p, size_t n);

/* Whether p is text that may travel unencoded: valid UTF-8, no NUL, no bare CR,
 * lines of at most LIM_HDRLINE octets. *eightbit is set if any byte is >= 0x80. */
int mime_istext(const void *p, size_t n, int *eightbit);

/* Random bytes from getrandom(2); without it, a mix of clock, pid and a counter. */
void mime_random(void *p, size_t n);

/* A boundary "upas-" + 26 random lowercase letters, not occurring in the n bytes at p. */
void mime_boundary(char *buf, size_t bn, const void *p, size_t n);

/* An RFC 5322 date-time in local time: "Mon, 2 Jan 2006 15:04:05 -0700". */
void mime_date(char *buf, size_t n, time_t t);

/* A Message-ID "<secs.random@host>". */
void mime_msgid(Str *out, const char *host);

/* This system's name: $site, else the host name, else "localhost". */
const char *mime_sysname(void);

/* The login name: the password entry of the real uid, else $LOGNAME or $USER
 * when they pass name_ok, else the uid as a number. */
const char *mime_login(void);

/* Run argv (an applet or a program, never a shell) with msg on its stdin; its exit status, or -1. */
int mime_run(char **argv, const char *msg, size_t n);

/* Whether box/LOGIN/pipefrom is an executable file (its path in buf): upas sends through it. */
int mime_pipefrom(char *buf, size_t n);

#endif
