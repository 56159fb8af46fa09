/*
 * The mail root's lib/secrets: "user secret" (a plaintext-equivalent secret,
 * for CRAM-MD5 and PLAIN/LOGIN) or "user {crypt}HASH" (crypt(3), PLAIN/LOGIN
 * only). The file is used only when it is a regular file owned by the
 * effective uid or root and closed to group and other.
 */
#ifndef UPAS_SECRETS_H
#define UPAS_SECRETS_H

#include <stddef.h>

enum { SEC_NONE, SEC_PLAIN, SEC_CRYPT };

int secrets_usable(void);	/* 0, or -1 and why in lasterr() */
/* SEC_PLAIN or SEC_CRYPT with the secret or hash in buf, SEC_NONE for an unknown user, -1 */
int secrets_get(const char *user, char *buf, size_t n);
int secrets_verify(const char *user, const char *pass);	/* 1 right, 0 wrong or unknown, -1 */
int secrets_equal(const char *a, const char *b);	/* time depends on b's length only */
#endif
