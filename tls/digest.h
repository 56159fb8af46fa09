/* Message digests for callers that must not see <bearssl.h> (CRAM-MD5, APOP). */
#ifndef UPAS_DIGEST_H
#define UPAS_DIGEST_H

#include <stddef.h>

/* RFC 2104 HMAC with MD5, as RFC 2195 CRAM-MD5 uses it. */
void hmac_md5(const void *key, size_t kn, const void *msg, size_t mn, unsigned char out[16]);
/* RFC 2195 CRAM-MD5: the base64 answer to the base64 challenge, appended to out. */
struct Str;
void cram_md5(struct Str *out, const char *user, const char *secret, const char *b64chal);
/* RFC 1321 MD5, as POP3's APOP (RFC 1939 §7) uses it. */
void md5(const void *p, size_t n, unsigned char out[16]);
/* SHA-1, as upas/fs names a message by (its digest file). */
void sha1(const void *p, size_t n, unsigned char out[20]);

/* crypt(3) for the SHA-crypt hashes "$5$" and "$6$" (with or without rounds=):
 * the hash of pass in setting's scheme and salt, into out; NULL for any other scheme. */
enum { LIM_CRYPTOUT = 128 };
char *sha_crypt(const char *pass, const char *setting, char *out, size_t n);
#endif
