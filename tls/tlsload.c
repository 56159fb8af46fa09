/*
 * The files TLS reads: PEM certificates and private keys for servers, a PEM
 * bundle of trust anchors and a Plan 9 thumbprint file for clients.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "core.h"
#include "tlsimpl.h"

typedef int Pemfn(void *arg, const char *name, const unsigned char *der, size_t n);

typedef struct Load {
	Tlscert *k;
	const char *file;
	int certs, key;		/* what this file may supply */
	size_t cap;
} Load;

static void
collect(void *arg, const void *p, size_t n)
{
	str_addn(arg, p, n);
}

static unsigned char *
keep(Arena *a, const void *p, size_t n)
{
	unsigned char *d = arena_alloc(a, n);

	if (n > 0)
		memcpy(d, p, n);
	return d;
}

/*
 * Call fn on every PEM object in text. A last line without its newline still
 * ends its object. Decoded bytes may be a private key, so they are wiped.
 */
static int
pem_each(const char *file, const char *text, size_t len, Pemfn *fn, void *arg)
{
	br_pem_decoder_context pc;
	Str der = { 0 };
	char name[128] = "";
	const char *p;
	size_t n, k;
	int pass, in = 0, r = 0;

	br_pem_decoder_init(&pc);
	for (pass = 0; pass < 2 && r == 0; pass++) {
		p = pass == 0 ? text : "\n";
		n = pass == 0 ? len : 1;
		while (n > 0 && r == 0) {
			k = br_pem_decoder_push(&pc, p, n);
			p += k;
			n -= k;
			switch (br_pem_decoder_event(&pc)) {
			case BR_PEM_BEGIN_OBJ:
				snprintf(name, sizeof name, "%s", br_pem_decoder_name(&pc));
				str_reset(&der);
				br_pem_decoder_setdest(&pc, collect, &der);
				in = 1;
				break;
			case BR_PEM_END_OBJ:
				in = 0;
				r = fn(arg, name, (unsigned char *)der.p, der.n);
				break;
			case BR_PEM_ERROR:
				seterr("%s: bad PEM data", file);
				r = -1;
				break;
			}
		}
	}
	if (r == 0 && in) {
		seterr("%s: unterminated PEM object %s", file, name);
		r = -1;
	}
	if (der.p)
		explicit_bzero(der.p, der.cap);
	str_free(&der);
	return r;
}

static int
pem_file(const char *file, Pemfn *fn, void *arg)
{
	size_t len;
	char *text;
	int r;

	if ((text = readfile(file, LIM_CONFFILE, &len)) == NULL)
		return -1;
	r = pem_each(file, text, len, fn, arg);
	explicit_bzero(text, len);
	free(text);
	return r;
}

static int
iscert(const char *name)
{
	return strcmp(name, "CERTIFICATE") == 0 || strcmp(name, "X509 CERTIFICATE") == 0;
}

static unsigned char *
put(unsigned char **at, const unsigned char *p, size_t n)
{
	unsigned char *d = *at;

	memcpy(d, p, n);
	*at += n;
	return d;
}

/* BearSSL's decoded key points into its decoder: copy it into one block we own. */
static int
takekey(Load *l, const unsigned char *der, size_t n)
{
	br_skey_decoder_context sd;
	const br_rsa_private_key *rk;
	const br_ec_private_key *ek;
	Tlscert *k = l->k;
	unsigned char *at;
	int r = 0;

	br_skey_decoder_init(&sd);
	br_skey_decoder_push(&sd, der, n);
	if ((rk = br_skey_decoder_get_rsa(&sd)) != NULL) {
		k->keylen = rk->plen + rk->qlen + rk->dplen + rk->dqlen + rk->iqlen;
		at = k->key = xmalloc(k->keylen);
		k->rsa = *rk;
		k->rsa.p = put(&at, rk->p, rk->plen);
		k->rsa.q = put(&at, rk->q, rk->qlen);
		k->rsa.dp = put(&at, rk->dp, rk->dplen);
		k->rsa.dq = put(&at, rk->dq, rk->dqlen);
		k->rsa.iq = put(&at, rk->iq, rk->iqlen);
		k->keytype = BR_KEYTYPE_RSA;
	} else if ((ek = br_skey_decoder_get_ec(&sd)) != NULL) {
		k->keylen = ek->xlen;
		at = k->key = xmalloc(k->keylen);
		k->ec = *ek;
		k->ec.x = put(&at, ek->x, ek->xlen);
		k->keytype = BR_KEYTYPE_EC;
	} else {
		seterr("%s: unusable private key", l->file);
		r = -1;
	}
	explicit_bzero(&sd, sizeof sd);
	return r;
}

static int
certobj(void *arg, const char *name, const unsigned char *der, size_t n)
{
	Load *l = arg;
	Tlscert *k = l->k;

	if (iscert(name)) {
		if (!l->certs)
			return 0;
		if (k->nchain == l->cap) {
			l->cap = l->cap ? 2 * l->cap : 4;
			k->chain = xrealloc(k->chain, l->cap * sizeof *k->chain);
		}
		k->chain[k->nchain].data = keep(&k->der, der, n);
		k->chain[k->nchain++].data_len = n;
		return 0;
	}
	if (!l->key || k->keytype)
		return 0;
	if (strcmp(name, "ENCRYPTED PRIVATE KEY") == 0) {
		seterr("%s: encrypted private keys are not supported", l->file);
		return -1;
	}
	if (strcmp(name, "RSA PRIVATE KEY") == 0 || strcmp(name, "EC PRIVATE KEY") == 0 ||
	    strcmp(name, "PRIVATE KEY") == 0)
		return takekey(l, der, n);
	return 0;
}

/* Big-endian integers, equal but for leading zeros. */
static int
sameint(const unsigned char *a, size_t na, const unsigned char *b, size_t nb)
{
	for (; na > 0 && *a == 0; a++, na--)
		;
	for (; nb > 0 && *b == 0; b++, nb--)
		;
	return na == nb && memcmp(a, b, na) == 0;
}

/* A key that is not the leaf's other half would fail every handshake later, obscurely. */
static int
checkleaf(Tlscert *k, const char *certfile, const char *keyfile)
{
	br_x509_decoder_context d;
	br_rsa_compute_modulus modulus = br_rsa_compute_modulus_get_default();
	const br_x509_pkey *pk;
	unsigned char buf[512];
	size_t n;

	br_x509_decoder_init(&d, NULL, NULL);
	br_x509_decoder_push(&d, k->chain[0].data, k->chain[0].data_len);
	if ((pk = br_x509_decoder_get_pkey(&d)) == NULL) {
		seterr("%s: unusable certificate", certfile);
		return -1;
	}
	k->issuer = br_x509_decoder_get_signer_key_type(&d);
	if (pk->key_type == k->keytype && k->keytype == BR_KEYTYPE_RSA) {
		n = modulus(NULL, &k->rsa);
		if (n > 0 && n <= sizeof buf && modulus(buf, &k->rsa) == n &&
		    sameint(buf, n, pk->key.rsa.n, pk->key.rsa.nlen))
			return 0;
	} else if (pk->key_type == k->keytype) {
		n = br_ec_compute_pub(br_ec_get_default(), NULL, buf, &k->ec);
		if (n > 0 && pk->key.ec.curve == k->ec.curve && n == pk->key.ec.qlen &&
		    memcmp(buf, pk->key.ec.q, n) == 0)
			return 0;
	}
	seterr("private key in %s does not match the certificate in %s", keyfile, certfile);
	return -1;
}

Tlscert *
tls_loadcert(const char *certfile, const char *keyfile)
{
	Tlscert *k = xmalloc(sizeof *k);
	Load l = { k, certfile, 1, keyfile == NULL, 0 };

	memset(k, 0, sizeof *k);
	if (pem_file(certfile, certobj, &l) < 0)
		goto bad;
	if (k->nchain == 0) {
		seterr("no certificate in %s", certfile);
		goto bad;
	}
	if (keyfile) {
		l.file = keyfile;
		l.certs = 0;
		l.key = 1;
		if (pem_file(keyfile, certobj, &l) < 0)
			goto bad;
	}
	if (k->keytype == 0) {
		seterr("no private key in %s", l.file);
		goto bad;
	}
	if (checkleaf(k, certfile, l.file) < 0)
		goto bad;
	return k;
bad:
	tls_freecert(k);
	return NULL;
}

void
tls_freecert(Tlscert *k)
{
	if (k == NULL)
		return;
	if (k->key) {
		explicit_bzero(k->key, k->keylen);
		free(k->key);
	}
	free(k->chain);
	arena_free(&k->der);
	free(k);
}

/* A CA that BearSSL cannot use (an Ed25519 key, say) is skipped, not fatal. */
static int
anchorobj(void *arg, const char *name, const unsigned char *der, size_t n)
{
	Anchors *a = arg;
	br_x509_decoder_context d;
	const br_x509_pkey *pk;
	br_x509_trust_anchor *ta;
	Str dn = { 0 };

	if (!iscert(name))
		return 0;
	br_x509_decoder_init(&d, collect, &dn);
	br_x509_decoder_push(&d, der, n);
	if ((pk = br_x509_decoder_get_pkey(&d)) != NULL) {
		if (a->n == a->cap) {
			a->cap = a->cap ? 2 * a->cap : 16;
			a->ta = xrealloc(a->ta, a->cap * sizeof *a->ta);
		}
		ta = &a->ta[a->n++];
		ta->dn.data = keep(&a->mem, dn.p, dn.n);
		ta->dn.len = dn.n;
		ta->flags = br_x509_decoder_isCA(&d) ? BR_X509_TA_CA : 0;
		ta->pkey.key_type = pk->key_type;
		if (pk->key_type == BR_KEYTYPE_RSA) {
			ta->pkey.key.rsa.n = keep(&a->mem, pk->key.rsa.n, pk->key.rsa.nlen);
			ta->pkey.key.rsa.nlen = pk->key.rsa.nlen;
			ta->pkey.key.rsa.e = keep(&a->mem, pk->key.rsa.e, pk->key.rsa.elen);
			ta->pkey.key.rsa.elen = pk->key.rsa.elen;
		} else {
			ta->pkey.key.ec.curve = pk->key.ec.curve;
			ta->pkey.key.ec.q = keep(&a->mem, pk->key.ec.q, pk->key.ec.qlen);
			ta->pkey.key.ec.qlen = pk->key.ec.qlen;
		}
	}
	str_free(&dn);
	return 0;
}

int
tls_anchors(Anchors *a, const char *file)
{
	memset(a, 0, sizeof *a);
	if (pem_file(file, anchorobj, a) < 0) {
		tls_freeanchors(a);
		return -1;
	}
	if (a->n == 0) {
		seterr("no usable CA certificate in %s", file);
		tls_freeanchors(a);
		return -1;
	}
	return 0;
}

void
tls_freeanchors(Anchors *a)
{
	free(a->ta);
	arena_free(&a->mem);
	memset(a, 0, sizeof *a);
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* A thumbprint in hex (colons allowed, as openssl prints them) or base64: exactly n bytes. */
static int
thumb(const char *s, size_t len, unsigned char *out, size_t n)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *q;
	size_t i, k = 0;
	unsigned acc = 0;
	int v, hi = -1, bits = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == ':' && hi < 0)
			continue;
		if ((v = hexval(s[i])) < 0)
			break;
		if (hi < 0)
			hi = v;
		else if (k == n)
			break;
		else {
			out[k++] = hi << 4 | v;
			hi = -1;
		}
	}
	if (i == len && k == n && hi < 0)
		return 0;
	for (k = 0; len > 0 && s[len - 1] == '='; len--)
		;
	for (i = 0; i < len; i++) {
		if (s[i] == 0 || (q = strchr(b64, s[i])) == NULL)
			return -1;
		acc = (acc << 6 | (unsigned)(q - b64)) & 0xffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (k == n)
				return -1;
			out[k++] = acc >> bits;
		}
	}
	return k == n ? 0 : -1;
}

static int
attr(const char *f, size_t n, const char *name, const unsigned char *want, size_t wn)
{
	size_t l = strlen(name);
	unsigned char got[32];

	return n > l && strncasecmp(f, name, l) == 0 && thumb(f + l, n - l, got, wn) == 0 &&
	    memcmp(got, want, wn) == 0;
}

/*
 * Plan 9's thumbprint file: "x509 sha1=HEX" lines, 9front's "x509 sha256=BASE64",
 * other attributes after them and '#' comments ignored, anything else skipped.
 */
int
tls_pinned(const char *text, const unsigned char *sha1, const unsigned char *sha256)
{
	const char *p = text, *e, *f, *fe;
	int first;

	while (*p) {
		e = p + strcspn(p, "\n");
		first = 1;
		for (f = p;; f = fe) {
			while (f < e && (*f == ' ' || *f == '\t' || *f == '\r'))
				f++;
			if (f == e || *f == '#')
				break;
			for (fe = f; fe < e && *fe != ' ' && *fe != '\t' && *fe != '\r' && *fe != '#'; fe++)
				;
			if (first) {
				if (fe - f != 4 || strncasecmp(f, "x509", 4) != 0)
					break;
				first = 0;
			} else if (attr(f, fe - f, "sha1=", sha1, 20) || attr(f, fe - f, "sha256=", sha256, 32))
				return 1;
		}
		p = *e ? e + 1 : e;
	}
	return 0;
}
