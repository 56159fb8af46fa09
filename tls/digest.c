/* Digests from BearSSL, behind a header that does not include it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bearssl.h>
#include "core.h"
#include "digest.h"
#include "mimeenc.h"
#include "msg.h"

void
hmac_md5(const void *key, size_t kn, const void *msg, size_t mn, unsigned char out[16])
{
	br_hmac_key_context kc;
	br_hmac_context hc;

	br_hmac_key_init(&kc, &br_md5_vtable, key, kn);
	br_hmac_init(&hc, &kc, 0);
	br_hmac_update(&hc, msg, mn);
	br_hmac_out(&hc, out);
}

void
md5(const void *p, size_t n, unsigned char out[16])
{
	br_md5_context c;

	br_md5_init(&c);
	br_md5_update(&c, p, n);
	br_md5_out(&c, out);
}

void
sha1(const void *p, size_t n, unsigned char out[20])
{
	br_sha1_context c;

	br_sha1_init(&c);
	br_sha1_update(&c, p, n);
	br_sha1_out(&c, out);
}

static const unsigned char perm512[] = {
	0, 21, 42, 22, 43, 1, 44, 2, 23, 3, 24, 45, 25, 46, 4, 47, 5, 26, 6, 27, 48,
	28, 49, 7, 50, 8, 29, 9, 30, 51, 31, 52, 10, 53, 11, 32, 12, 33, 54, 34, 55, 13,
	56, 14, 35, 15, 36, 57, 37, 58, 16, 59, 17, 38, 18, 39, 60, 40, 61, 19, 62, 20, 41,
};
static const unsigned char perm256[] = {
	0, 10, 20, 21, 1, 11, 12, 22, 2, 3, 13, 23, 24, 4, 14, 15, 25, 5, 6, 16, 26,
	27, 7, 17, 18, 28, 8, 9, 19, 29,
};

static void
add(br_hash_compat_context *h, const void *p, size_t n)
{
	h->vtable->update(&h->vtable, p, n);
}

/* n bytes of md repeated to fill len */
static void
addrep(br_hash_compat_context *h, const unsigned char *md, size_t n, size_t len)
{
	for (; len > n; len -= n)
		add(h, md, n);
	add(h, md, len);
}

static char *
b64put(char *o, unsigned w, int n)
{
	static const char al[] = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

	while (n-- > 0) {
		*o++ = al[w & 63];
		w >>= 6;
	}
	return o;
}

/* Ulrich Drepper's "Unix crypt using SHA-256 and SHA-512" specification. */
char *
sha_crypt(const char *pass, const char *setting, char *out, size_t n)
{
	const br_hash_class *hc;
	br_hash_compat_context h;
	unsigned char a[64], b[64], dp[64], ds[64];
	const unsigned char *perm;
	const char *salt, *e;
	unsigned long rounds = 5000, i;
	size_t pl = strlen(pass), sl, hl, np, k;
	int custom = 0;
	char *o, *end;

	if (strncmp(setting, "$6$", 3) == 0) {
		hc = &br_sha512_vtable;
		hl = 64, perm = perm512, np = sizeof perm512;
	} else if (strncmp(setting, "$5$", 3) == 0) {
		hc = &br_sha256_vtable;
		hl = 32, perm = perm256, np = sizeof perm256;
	} else
		return NULL;
	salt = setting + 3;
	if (strncmp(salt, "rounds=", 7) == 0) {
		rounds = strtoul(salt + 7, &end, 10);
		if (salt[7] < '0' || salt[7] > '9' || *end != '$')
			return NULL;
		rounds = rounds < 1000 ? 1000 : rounds > 999999999 ? 999999999 : rounds;
		salt = end + 1;
		custom = 1;
	}
	e = strchr(salt, '$');
	sl = e != NULL ? (size_t)(e - salt) : strlen(salt);
	if (sl > 16)
		sl = 16;
	if (n < LIM_CRYPTOUT || pl > 256)
		return NULL;

	hc->init(&h.vtable); add(&h, pass, pl); add(&h, salt, sl); add(&h, pass, pl);
	hc->out(&h.vtable, b);
	hc->init(&h.vtable); add(&h, pass, pl); add(&h, salt, sl);
	addrep(&h, b, hl, pl);
	for (k = pl; k > 0; k >>= 1)
		if (k & 1)
			add(&h, b, hl);
		else
			add(&h, pass, pl);
	hc->out(&h.vtable, a);
	hc->init(&h.vtable);
	for (k = 0; k < pl; k++)
		add(&h, pass, pl);
	hc->out(&h.vtable, dp);
	hc->init(&h.vtable);
	for (k = 0; k < 16u + a[0]; k++)
		add(&h, salt, sl);
	hc->out(&h.vtable, ds);
	for (i = 0; i < rounds; i++) {
		hc->init(&h.vtable);
		if (i & 1)
			addrep(&h, dp, hl, pl);
		else
			add(&h, a, hl);
		if (i % 3)
			addrep(&h, ds, hl, sl);
		if (i % 7)
			addrep(&h, dp, hl, pl);
		if (i & 1)
			add(&h, a, hl);
		else
			addrep(&h, dp, hl, pl);
		hc->out(&h.vtable, a);
	}
	o = out + snprintf(out, n, "%.3s", setting);
	if (custom)
		o += snprintf(o, n - (o - out), "rounds=%lu$", rounds);
	memcpy(o, salt, sl);
	o += sl;
	*o++ = '$';
	for (k = 0; k < np; k += 3)
		o = b64put(o, a[perm[k]] << 16 | a[perm[k + 1]] << 8 | a[perm[k + 2]], 4);
	if (hl == 64)
		o = b64put(o, a[63], 2);
	else
		o = b64put(o, a[31] << 8 | a[30], 3);
	*o = 0;
	return out;
}

void
cram_md5(Str *out, const char *user, const char *secret, const char *b64chal)
{
	Str chal = { 0 }, s = { 0 };
	unsigned char mac[16];
	int i;

	msg_b64dec(b64chal, strlen(b64chal), &chal);
	hmac_md5(secret, strlen(secret), chal.p ? chal.p : "", chal.n, mac);
	str_fmt(&s, "%s ", user);
	for (i = 0; i < 16; i++)
		str_fmt(&s, "%02x", mac[i]);
	mime_base64(out, s.p, s.n, 0);
	if (out->n > 0 && out->p[out->n - 1] == '\n')
		out->p[--out->n] = 0;
	str_free(&chal);
	explicit_bzero(s.p, s.cap);
	str_free(&s);
}
