/*
 * Server-side SASL (RFC 4422) for smtpd, pop3 and imap4d: PLAIN (RFC 4616),
 * LOGIN and CRAM-MD5 (RFC 2195), checked against lib/secrets. The protocol
 * supplies the exchange: how a challenge goes out ("334 ", "+ ") and how a
 * response line comes back; the verdict's wording and delays stay its own.
 */
#ifndef UPAS_SASL_H
#define UPAS_SASL_H

#include "core.h"

enum {
	SASL_OK = 1,	/* authenticated: user is set */
	SASL_FAIL = 0,	/* wrong credentials, unknown user or a malformed exchange */
	SASL_TEMP = -1,	/* lib/secrets cannot be read now */
	SASL_CANCEL = -2,	/* the client answered "*" */
	SASL_BADB64 = -3,	/* a response that is not base64 */
	SASL_IO = -4,	/* the connection ended or timed out; the caller hangs up */
	SASL_LONG = -5,	/* a response longer than a line may be */
};

typedef struct Sasl {
	/*
	 * Send the challenge (base64 text, "" for an empty one) and read the
	 * response line, its line end removed, into line: its length, or
	 * SASL_IO or SASL_LONG.
	 */
	int (*exchange)(void *arg, const char *b64, char *line, size_t max);
	void *arg;
	const char *host;	/* names the server in CRAM-MD5's challenge */
	char user[LIM_AUTHUSER + 1];	/* who it was, or claimed to be ("?" if not even that) */
} Sasl;

/* For an exchange: the response line from b, its end removed; its length, or SASL_IO or SASL_LONG. */
int sasl_getline(Bio *b, char *line, size_t max);
/* An identity to look up: n octets, printable, no blanks, at most LIM_AUTHUSER. */
int sasl_name(const char *u, size_t n);
/* Is mech one we know: PLAIN, LOGIN or CRAM-MD5, any case. */
int sasl_known(const char *mech);
/* Run mech with the initial response ir (NULL for none; "=" is an empty one). */
int sasl_server(Sasl *s, const char *mech, const char *ir);
/* Strict RFC 4648 base64 into out: its length, or -1 if malformed or longer than max. */
ssize_t sasl_b64dec(const char *s, unsigned char *out, size_t max);
/* The seconds a server waits before answering the n-th failure: 1, 2, 4..., at most LIM_AUTHDELAY. */
unsigned sasl_delay(int n);
#endif
