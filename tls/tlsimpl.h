/* Inside tls/ only: the BearSSL shapes of certificates, keys and trust anchors. */
#ifndef UPAS_TLSIMPL_H
#define UPAS_TLSIMPL_H

#include <bearssl.h>
#include "tls.h"

struct Tlscert {
	br_x509_certificate *chain;	/* leaf first */
	size_t nchain;
	int keytype;		/* BR_KEYTYPE_RSA or BR_KEYTYPE_EC */
	unsigned issuer;	/* key type of the leaf's signer (ECDH suites need it) */
	br_rsa_private_key rsa;
	br_ec_private_key ec;
	unsigned char *key;	/* the private key's bytes, wiped when freed */
	size_t keylen;
	Arena der;		/* the certificates */
};

typedef struct Anchors {
	br_x509_trust_anchor *ta;
	size_t n, cap;
	Arena mem;		/* names and keys */
} Anchors;

int tls_anchors(Anchors *a, const char *file);
void tls_freeanchors(Anchors *a);
#endif
