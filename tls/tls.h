/* TLS over a Conn. The only module that includes <bearssl.h>; callers see none of it.
 * BearSSL speaks TLS 1.0 to 1.2 (no 1.3). Errors go to seterr() (core/err.c). */
#ifndef UPAS_TLS_H
#define UPAS_TLS_H

#include "core.h"

/* A server's certificate chain and key, loaded once (before forking or dropping
 * privileges) and shared by every connection. */
typedef struct Tlscert Tlscert;
Tlscert *tls_loadcert(const char *certfile, const char *keyfile);	/* key may sit in certfile: keyfile NULL */
void tls_freecert(Tlscert *cert);

/* What a client trusts. A certificate is accepted when its SHA-1 or SHA-256
 * thumbprint is in the pins file, or when it chains to cafile and names the host
 * (RFC 6125/7817); with neither configured, only insecure lets it through. */
typedef struct Tlstrust {
	const char *pins;	/* Plan 9 thumbprint file: "x509 sha1=HEX" / "x509 sha256=HEX|BASE64" */
	const char *cafile;	/* PEM bundle of trust anchors */
	int insecure;		/* accept any certificate (explicit opt-out) */
} Tlstrust;

/* What a client trusts by default: the thumbprint file ROOT/lib/tls/pinsname
 * and ROOT/lib/tls/ca.pem, else the system's bundle (pins and ca: n octets
 * of room for the paths). */
void tls_trustfiles(Tlstrust *t, const char *pinsname, char *pins, char *ca, size_t n);

/* Handshake on c, then swap its read/write/close for TLS ones. 0 or -1 (c is
 * left plaintext: hang up). The handshake gets LIM_HANDSHAKE seconds at most.
 * sni names the host to check; an address literal is checked but not sent as
 * SNI; NULL checks no name. */
int tls_server(Conn *c, Tlscert *cert);
int tls_client(Conn *c, const char *sni, const Tlstrust *t);

/* STARTTLS/STLS: flush pending output, throw away any plaintext the peer sent
 * ahead of the handshake (CVE-2011-0411), then tls_server/tls_client. */
int tls_starttls_server(Bio *b, Tlscert *cert);
int tls_starttls_client(Bio *b, const char *sni, const Tlstrust *t);

int tls_active(Conn *c);
/* "TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256", or "plaintext"; buf returned. */
char *tls_info(Conn *c, char *buf, size_t n);
/* Decrypted bytes wait in c's buffer: read them before polling the fd. */
int tls_pending(Conn *c);

/* For tests: does the thumbprint file's text pin these hashes; BearSSL's error in English;
 * does a DER certificate's subjectAltName hold the address ip (iplen octets: 4 or 16). */
int tls_pinned(const char *text, const unsigned char *sha1, const unsigned char *sha256);
char *tls_strerror(int err, char *buf, size_t n);
int tls_ipnamed(const unsigned char *cert, size_t len, const unsigned char *ip, int iplen);
#endif
