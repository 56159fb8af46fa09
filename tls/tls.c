/*
 * TLS over a Conn. BearSSL's engine is driven here rather than through
 * br_sslio, so every wait goes through conn_wait (timeouts, deadlines) and
 * every failure becomes a sentence in seterr(). BearSSL allocates nothing:
 * each connection gets one block, engine and buffers, freed by close.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "core.h"
#include "tlsimpl.h"

enum {
	Day0 = 719528,		/* 1970-01-01 in BearSSL's days since 0 AD */
};

/*
 * The client's X.509 engine: hashes and decodes the leaf for the pins, and
 * hands the chain to BearSSL's minimal engine when a CA bundle is configured.
 */
typedef struct Xcheck {
	const br_x509_class *vtable;	/* first: BearSSL's handle points here */
	br_x509_minimal_context ca;
	br_x509_decoder_context leaf;
	br_sha1_context sha1;
	br_sha256_context sha256;
	unsigned char h1[br_sha1_SIZE], h256[br_sha256_SIZE];
	const br_x509_pkey *key;	/* the leaf's, when not judged by the CA */
	int ncert;
	int useca, insecure;
	int byca;		/* the verdict is the CA engine's */
	int refused;		/* no pin matched and nothing else was configured */
	const char *pins;	/* the pins file's text, during the handshake */
	char host[LIM_DOMAIN + 1];
	unsigned char ip[16];	/* host as an address: its octets */
	int iplen;		/* 4, 16, or 0 for a name */
	unsigned char der[4096];	/* the leaf, for its iPAddress names */
	size_t nder;		/* its length; past the buffer: too long to look at */
} Xcheck;

typedef struct Tls {
	br_ssl_engine_context *eng;
	int eof;		/* the peer closed the transport */
	int hup;		/* the peer will take nothing more */
	unsigned char first[5];	/* the peer's first bytes: a record header, or plaintext */
	size_t nfirst;
	int dead;		/* the transport failed, and so does every later call */
	char err[LIM_ERR];
	union {
		struct {
			br_ssl_client_context cc;
			Xcheck x;
		} c;
		br_ssl_server_context sc;
	} u;
	unsigned char buf[BR_SSL_BUFSIZE_BIDI];
} Tls;

static const struct {
	short code;
	const char *text;
} errs[] = {
	{ BR_ERR_BAD_PARAM, "bad parameter" },
	{ BR_ERR_BAD_STATE, "bad engine state" },
	{ BR_ERR_UNSUPPORTED_VERSION, "no protocol version in common (BearSSL speaks TLS 1.0 to 1.2)" },
	{ BR_ERR_BAD_VERSION, "record version mismatch" },
	{ BR_ERR_BAD_LENGTH, "bad record length" },
	{ BR_ERR_TOO_LARGE, "record too large" },
	{ BR_ERR_BAD_MAC, "bad record MAC" },
	{ BR_ERR_NO_RANDOM, "no random seed" },
	{ BR_ERR_UNKNOWN_TYPE, "unknown record type" },
	{ BR_ERR_UNEXPECTED, "unexpected message" },
	{ BR_ERR_BAD_CCS, "bad ChangeCipherSpec" },
	{ BR_ERR_BAD_ALERT, "malformed alert" },
	{ BR_ERR_BAD_HANDSHAKE, "malformed handshake message" },
	{ BR_ERR_OVERSIZED_ID, "oversized session ID" },
	{ BR_ERR_BAD_CIPHER_SUITE, "cipher suite not offered" },
	{ BR_ERR_BAD_COMPRESSION, "compression not offered" },
	{ BR_ERR_BAD_FRAGLEN, "bad maximum fragment length" },
	{ BR_ERR_BAD_SECRENEG, "secure renegotiation failed" },
	{ BR_ERR_EXTRA_EXTENSION, "unexpected extension" },
	{ BR_ERR_BAD_SNI, "bad server name extension" },
	{ BR_ERR_BAD_HELLO_DONE, "bad ServerHelloDone" },
	{ BR_ERR_LIMIT_EXCEEDED, "peer's key too large" },
	{ BR_ERR_BAD_FINISHED, "bad Finished message" },
	{ BR_ERR_RESUME_MISMATCH, "session resumption mismatch" },
	{ BR_ERR_INVALID_ALGORITHM, "no curve, signature or hash algorithm in common" },
	{ BR_ERR_BAD_SIGNATURE, "bad handshake signature" },
	{ BR_ERR_WRONG_KEY_USAGE, "peer's key not usable with the cipher suite" },
	{ BR_ERR_NO_CLIENT_AUTH, "client certificate missing or invalid" },
	{ BR_ERR_IO, "I/O error" },
	{ BR_ERR_X509_EMPTY_CHAIN, "no certificate sent" },
	{ BR_ERR_X509_BAD_DN, "malformed name in certificate" },
	{ BR_ERR_X509_BAD_TIME, "malformed date in certificate" },
	{ BR_ERR_X509_UNSUPPORTED, "certificate uses unsupported features" },
	{ BR_ERR_X509_LIMIT_EXCEEDED, "certificate key or signature too large" },
	{ BR_ERR_X509_WRONG_KEY_TYPE, "unexpected certificate key type" },
	{ BR_ERR_X509_BAD_SIGNATURE, "bad certificate signature" },
	{ BR_ERR_X509_TIME_UNKNOWN, "no time to check certificate dates against" },
	{ BR_ERR_X509_EXPIRED, "certificate expired or not yet valid" },
	{ BR_ERR_X509_DN_MISMATCH, "certificate chain does not link up" },
	{ BR_ERR_X509_BAD_SERVER_NAME, "certificate does not match host name" },
	{ BR_ERR_X509_CRITICAL_EXTENSION, "certificate has an unknown critical extension" },
	{ BR_ERR_X509_NOT_CA, "certificate issuer is not a CA" },
	{ BR_ERR_X509_FORBIDDEN_KEY_USAGE, "certificate key usage forbids this use" },
	{ BR_ERR_X509_WEAK_PUBLIC_KEY, "certificate key too weak" },
	{ BR_ERR_X509_NOT_TRUSTED, "certificate not trusted" },
};

static const struct {
	unsigned char code;
	const char *name;
} alerts[] = {
	{ 0, "close notify" },
	{ 10, "unexpected message" },
	{ 20, "bad record MAC" },
	{ 21, "decryption failed" },
	{ 22, "record overflow" },
	{ 30, "decompression failure" },
	{ 40, "handshake failure" },
	{ 41, "no certificate" },
	{ 42, "bad certificate" },
	{ 43, "unsupported certificate" },
	{ 44, "certificate revoked" },
	{ 45, "certificate expired" },
	{ 46, "certificate unknown" },
	{ 47, "illegal parameter" },
	{ 48, "unknown CA" },
	{ 49, "access denied" },
	{ 50, "decode error" },
	{ 51, "decrypt error" },
	{ 60, "export restriction" },
	{ 70, "protocol version" },
	{ 71, "insufficient security" },
	{ 80, "internal error" },
	{ 86, "inappropriate fallback" },
	{ 90, "user canceled" },
	{ 100, "no renegotiation" },
	{ 109, "missing extension" },
	{ 110, "unsupported extension" },
	{ 112, "unrecognized name" },
	{ 113, "bad certificate status response" },
	{ 115, "unknown PSK identity" },
	{ 116, "certificate required" },
	{ 120, "no application protocol" },
};

char *
tls_strerror(int err, char *buf, size_t n)
{
	const char *who = "peer sent";
	size_t i;
	int a;

	if (err >= BR_ERR_RECV_FATAL_ALERT && err < BR_ERR_SEND_FATAL_ALERT + 256) {
		if (err >= BR_ERR_SEND_FATAL_ALERT)
			who = "sent";
		a = err & 0xff;
		for (i = 0; i < nelem(alerts) && alerts[i].code != a; i++)
			;
		if (i < nelem(alerts))
			snprintf(buf, n, "%s fatal alert %d (%s)", who, a, alerts[i].name);
		else
			snprintf(buf, n, "%s fatal alert %d", who, a);
		return buf;
	}
	if (err > BR_ERR_X509_OK && err <= BR_ERR_X509_OVERFLOW && err != BR_ERR_X509_EMPTY_CHAIN) {
		snprintf(buf, n, "malformed certificate");
		return buf;
	}
	for (i = 0; i < nelem(errs); i++)
		if (errs[i].code == err) {
			snprintf(buf, n, "%s", errs[i].text);
			return buf;
		}
	snprintf(buf, n, "tls error %d", err);
	return buf;
}

static void
engerr(br_ssl_engine_context *e)
{
	char msg[LIM_ERR];

	seterr("%s", tls_strerror(br_ssl_engine_last_error(e), msg, sizeof msg));
}

/* The transport is gone: remember why, so later calls report the same. */
static int
broken(Tls *t)
{
	t->dead = 1;
	snprintf(t->err, sizeof t->err, "%s", lasterr());
	return -1;
}

/* Before a read or write honour the timeouts; after EAGAIN wait, or time out
 * if the socket's own timeout expired (conn_again). */
static int
ready(Conn *c, int fd, int events, int again)
{
	if (again)
		return conn_again(c, fd, events);
	if (c->timeout > 0 || c->deadline > 0)
		return conn_wait(c, fd, events);
	return 0;
}

/* >0 bytes sent, 0 the peer hung up, -1 error. MSG_NOSIGNAL: a vanished peer is no SIGPIPE. */
static ssize_t
sendout(Conn *c, const unsigned char *p, size_t n)
{
	ssize_t w;
	int again = 0;

	for (;;) {
		if (ready(c, c->wfd, POLLOUT, again) < 0)
			return -1;
		w = send(c->wfd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == ENOTSOCK)
			w = write(c->wfd, p, n);
		if (w > 0)
			return w;
		if (w < 0 && (errno == EINTR || errno == EAGAIN)) {
			again = errno == EAGAIN;
			continue;
		}
		if (w < 0 && (errno == EPIPE || errno == ECONNRESET))
			return 0;
		seterr("write:");
		return -1;
	}
}

static ssize_t
recvin(Conn *c, unsigned char *p, size_t n)
{
	ssize_t r;
	int again = 0;

	for (;;) {
		if (ready(c, c->rfd, POLLIN, again) < 0)
			return -1;
		r = read(c->rfd, p, n);
		if (r >= 0)
			return r;
		if (errno == EINTR || errno == EAGAIN) {
			again = errno == EAGAIN;
			continue;
		}
		seterr("read:");
		return -1;
	}
}

/*
 * Carry records between the engine and the descriptors until the engine
 * offers one of the states in want (0: until nothing is left to send).
 * 0 then; 1 when the engine closed cleanly or the peer hung up; -1 on error.
 * A peer that takes nothing more may still have said something: read on.
 */
static int
pump(Conn *c, Tls *t, unsigned want)
{
	br_ssl_engine_context *e = t->eng;
	unsigned char *p;
	unsigned st;
	size_t n;
	ssize_t r;

	for (;;) {
		if (t->dead) {
			seterr("%s", t->err);
			return -1;
		}
		st = br_ssl_engine_current_state(e);
		if (st & BR_SSL_CLOSED) {
			if (br_ssl_engine_last_error(e) == BR_ERR_OK)
				return 1;
			engerr(e);
			return -1;
		}
		if ((st & BR_SSL_SENDREC) && !t->hup) {
			p = br_ssl_engine_sendrec_buf(e, &n);
			if ((r = sendout(c, p, n)) < 0)
				return broken(t);
			if (r == 0)
				t->hup = 1;
			else
				br_ssl_engine_sendrec_ack(e, r);
			continue;
		}
		if (want == 0)
			return (st & BR_SSL_SENDREC) != 0;
		if (st & want)
			return 0;
		if (!(st & BR_SSL_RECVREC)) {
			if (t->hup)
				return 1;
			seterr("tls engine stalled");
			return broken(t);
		}
		if (t->eof)
			return 1;
		p = br_ssl_engine_recvrec_buf(e, &n);
		if ((r = recvin(c, p, n)) < 0)
			return broken(t);
		if (r == 0) {
			t->eof = 1;
			return 1;
		}
		for (n = 0; n < (size_t)r && t->nfirst < sizeof t->first; n++)
			t->first[t->nfirst++] = p[n];
		br_ssl_engine_recvrec_ack(e, r);
	}
}

/* A TCP close without close_notify reads as EOF: every mail protocol ends its data itself. */
static ssize_t
tls_read(Conn *c, void *buf, size_t n)
{
	Tls *t = c->tls;
	unsigned char *p;
	size_t k;
	int r;

	if ((r = pump(c, t, BR_SSL_RECVAPP)) != 0)
		return r > 0 ? 0 : -1;
	p = br_ssl_engine_recvapp_buf(t->eng, &k);
	if (k > n)
		k = n;
	memcpy(buf, p, k);
	br_ssl_engine_recvapp_ack(t->eng, k);
	return k;
}

static int
tls_write(Conn *c, const void *buf, size_t n)
{
	Tls *t = c->tls;
	const unsigned char *s = buf;
	unsigned char *p;
	size_t k;
	int r;

	while (n > 0) {
		if ((r = pump(c, t, BR_SSL_SENDAPP)) != 0)
			goto fail;
		p = br_ssl_engine_sendapp_buf(t->eng, &k);
		if (k > n)
			k = n;
		memcpy(p, s, k);
		br_ssl_engine_sendapp_ack(t->eng, k);
		s += k;
		n -= k;
	}
	br_ssl_engine_flush(t->eng, 0);
	if ((r = pump(c, t, 0)) == 0)
		return 0;
fail:
	if (r > 0)
		seterr("connection closed by peer");
	return -1;
}

static void
tlsfree(Tls *t)
{
	explicit_bzero(t, sizeof *t);
	free(t);
}

/* Best effort: a close_notify if it leaves within LIM_TLSCLOSE, and the caller's last error kept. */
static void
tls_close(Conn *c)
{
	Tls *t = c->tls;
	char saved[LIM_ERR];
	int64_t lim = now_ms() + LIM_TLSCLOSE;

	snprintf(saved, sizeof saved, "%s", lasterr());
	if (!t->dead && !(br_ssl_engine_current_state(t->eng) & BR_SSL_CLOSED)) {
		br_ssl_engine_close(t->eng);
		if (c->deadline == 0 || c->deadline > lim)
			c->deadline = lim;
		pump(c, t, 0);
	}
	seterr("%s", saved);
	tlsfree(t);
	if (c->rfd >= 0)
		close(c->rfd);
	if (c->wfd >= 0 && c->wfd != c->rfd)
		close(c->wfd);
	conn_init(c, -1, -1);
}

/* BearSSL 0.6 seeds itself from /dev/urandom only, which a scratch container may lack. */
static int
seed(br_ssl_engine_context *e)
{
	unsigned char r[32];
	size_t n = 0;
	ssize_t k;

	while (n < sizeof r) {
		k = getrandom(r + n, sizeof r - n, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			seterr("getrandom:");
			return -1;
		}
		n += k;
	}
	br_ssl_engine_inject_entropy(e, r, sizeof r);
	explicit_bzero(r, sizeof r);
	return 0;
}

static Tls *
tlsnew(Conn *c)
{
	Tls *t;

	if (c->tls) {
		seterr("tls already active");
		return NULL;
	}
	t = xmalloc(sizeof *t);
	memset(t, 0, sizeof *t);
	return t;
}

/* Renegotiation stays off: mail needs none, and a pinned peer must not swap certificates. */
static int
setup(Tls *t)
{
	br_ssl_engine_set_buffer(t->eng, t->buf, sizeof t->buf, 1);
	br_ssl_engine_add_flags(t->eng, BR_OPT_NO_RENEGOTIATION);
	return seed(t->eng);
}

/*
 * A slow or silent peer gets LIM_HANDSHAKE seconds at most, whatever the
 * caller's deadline. A record starts with a type byte below ' ', so a
 * printable first byte means a peer speaking plaintext: say so, not
 * BearSSL's view of it.
 */
static int
handshake(Conn *c, Tls *t)
{
	int64_t saved = c->deadline, lim = now_ms() + LIM_HANDSHAKE * 1000;
	char said[sizeof t->first + 1];
	size_t i;
	int r;

	if (c->deadline == 0 || c->deadline > lim)
		c->deadline = lim;
	r = pump(c, t, BR_SSL_SENDAPP | BR_SSL_RECVAPP);
	c->deadline = saved;
	if (r == 0)
		return 0;
	if (t->nfirst > 0 && t->first[0] >= ' ' && t->first[0] < 0x7f) {
		for (i = 0; i < t->nfirst; i++)
			said[i] = t->first[i] >= ' ' && t->first[i] < 0x7f ? t->first[i] : '.';
		said[i] = 0;
		seterr("peer does not speak tls (it sent \"%s...\")", said);
	} else if (r > 0)
		seterr("connection closed during the tls handshake");
	return -1;
}

static void
install(Conn *c, Tls *t)
{
	c->tls = t;
	c->read = tls_read;
	c->write = tls_write;
	c->close = tls_close;
}

/*
 * BearSSL's "full" profiles but for the 3DES and AES-CCM suites (3DES is
 * broken by Sweet32; CCM is for small devices, not mail servers): what
 * they leave out stays out of the binary. TLS 1.0 to 1.2, every hash, the
 * default (constant-time) implementations.
 */
static void
engine(br_ssl_engine_context *eng, const uint16_t *suites, size_t n)
{
	static const br_hash_class *hashes[] = {
		&br_md5_vtable, &br_sha1_vtable, &br_sha224_vtable,
		&br_sha256_vtable, &br_sha384_vtable, &br_sha512_vtable,
	};
	int id;

	br_ssl_engine_set_versions(eng, BR_TLS10, BR_TLS12);
	br_ssl_engine_set_suites(eng, suites, n);
	for (id = br_md5_ID; id <= br_sha512_ID; id++)
		br_ssl_engine_set_hash(eng, id, hashes[id - 1]);
	br_ssl_engine_set_prf10(eng, &br_tls10_prf);
	br_ssl_engine_set_prf_sha256(eng, &br_tls12_sha256_prf);
	br_ssl_engine_set_prf_sha384(eng, &br_tls12_sha384_prf);
	br_ssl_engine_set_default_aes_cbc(eng);
	br_ssl_engine_set_default_aes_gcm(eng);
	br_ssl_engine_set_default_chapol(eng);
}

static void
serverinit(br_ssl_server_context *sc, Tlscert *k)
{
	static const uint16_t rsa[] = {
		BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
		BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
		BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
		BR_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384,
		BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
		BR_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
		BR_TLS_RSA_WITH_AES_128_GCM_SHA256,
		BR_TLS_RSA_WITH_AES_256_GCM_SHA384,
		BR_TLS_RSA_WITH_AES_128_CBC_SHA256,
		BR_TLS_RSA_WITH_AES_256_CBC_SHA256,
		BR_TLS_RSA_WITH_AES_128_CBC_SHA,
		BR_TLS_RSA_WITH_AES_256_CBC_SHA,
	};
	static const uint16_t ec[] = {
		BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
		BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
		BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
		BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384,
		BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
		BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
		BR_TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256,
		BR_TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256,
		BR_TLS_ECDH_ECDSA_WITH_AES_256_GCM_SHA384,
		BR_TLS_ECDH_RSA_WITH_AES_256_GCM_SHA384,
		BR_TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256,
		BR_TLS_ECDH_RSA_WITH_AES_128_CBC_SHA256,
		BR_TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA384,
		BR_TLS_ECDH_RSA_WITH_AES_256_CBC_SHA384,
		BR_TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA,
		BR_TLS_ECDH_RSA_WITH_AES_128_CBC_SHA,
		BR_TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA,
		BR_TLS_ECDH_RSA_WITH_AES_256_CBC_SHA,
	};

	br_ssl_server_zero(sc);
	if (k->keytype == BR_KEYTYPE_RSA) {
		engine(&sc->eng, rsa, nelem(rsa));
		br_ssl_engine_set_default_ec(&sc->eng);
		br_ssl_server_set_single_rsa(sc, k->chain, k->nchain, &k->rsa, BR_KEYTYPE_KEYX | BR_KEYTYPE_SIGN,
		    br_rsa_private_get_default(), br_rsa_pkcs1_sign_get_default());
	} else {
		engine(&sc->eng, ec, nelem(ec));
		br_ssl_engine_set_default_ec(&sc->eng);
		br_ssl_server_set_single_ec(sc, k->chain, k->nchain, &k->ec, BR_KEYTYPE_KEYX | BR_KEYTYPE_SIGN,
		    k->issuer, br_ssl_engine_get_ec(&sc->eng), br_ecdsa_i31_sign_asn1);
	}
}

static void
clientinit(br_ssl_client_context *cc, br_x509_minimal_context *xc, const br_x509_trust_anchor *ta, size_t n)
{
	static const uint16_t suites[] = {
		BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
		BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
		BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
		BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
		BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
		BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
		BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384,
		BR_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384,
		BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
		BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
		BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
		BR_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
		BR_TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256,
		BR_TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256,
		BR_TLS_ECDH_ECDSA_WITH_AES_256_GCM_SHA384,
		BR_TLS_ECDH_RSA_WITH_AES_256_GCM_SHA384,
		BR_TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256,
		BR_TLS_ECDH_RSA_WITH_AES_128_CBC_SHA256,
		BR_TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA384,
		BR_TLS_ECDH_RSA_WITH_AES_256_CBC_SHA384,
		BR_TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA,
		BR_TLS_ECDH_RSA_WITH_AES_128_CBC_SHA,
		BR_TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA,
		BR_TLS_ECDH_RSA_WITH_AES_256_CBC_SHA,
		BR_TLS_RSA_WITH_AES_128_GCM_SHA256,
		BR_TLS_RSA_WITH_AES_256_GCM_SHA384,
		BR_TLS_RSA_WITH_AES_128_CBC_SHA256,
		BR_TLS_RSA_WITH_AES_256_CBC_SHA256,
		BR_TLS_RSA_WITH_AES_128_CBC_SHA,
		BR_TLS_RSA_WITH_AES_256_CBC_SHA,
	};
	int id;

	br_ssl_client_zero(cc);
	engine(&cc->eng, suites, nelem(suites));
	br_x509_minimal_init(xc, &br_sha256_vtable, ta, n);
	br_ssl_client_set_default_rsapub(cc);
	br_ssl_engine_set_default_rsavrfy(&cc->eng);
	br_ssl_engine_set_default_ecdsa(&cc->eng);
	br_x509_minimal_set_rsa(xc, br_ssl_engine_get_rsavrfy(&cc->eng));
	br_x509_minimal_set_ecdsa(xc, br_ssl_engine_get_ec(&cc->eng), br_ssl_engine_get_ecdsa(&cc->eng));
	for (id = br_md5_ID; id <= br_sha512_ID; id++)
		br_x509_minimal_set_hash(xc, id, br_ssl_engine_get_hash(&cc->eng, id));
	br_ssl_engine_set_x509(&cc->eng, &xc->vtable);
}

int
tls_server(Conn *c, Tlscert *k)
{
	br_ssl_server_context *sc;
	Tls *t;

	if ((t = tlsnew(c)) == NULL)
		return -1;
	sc = &t->u.sc;
	serverinit(sc, k);
	t->eng = &sc->eng;
	br_ssl_engine_add_flags(t->eng, BR_OPT_ENFORCE_SERVER_PREFERENCES);
	if (setup(t) < 0)
		goto fail;
	if (!br_ssl_server_reset(sc)) {
		engerr(t->eng);
		goto fail;
	}
	if (handshake(c, t) < 0)
		goto fail;
	install(c, t);
	return 0;
fail:
	tlsfree(t);
	return -1;
}

static void
x_start_chain(const br_x509_class **ctx, const char *server_name)
{
	Xcheck *x = (Xcheck *)ctx;

	x->ncert = 0;
	x->key = NULL;
	x->byca = x->refused = 0;
	x->nder = 0;
	/* an address is matched against iPAddress names here, not by BearSSL */
	if (x->useca)
		x->ca.vtable->start_chain(&x->ca.vtable, x->host[0] && !x->iplen ? x->host : NULL);
}

static void
x_start_cert(const br_x509_class **ctx, uint32_t length)
{
	Xcheck *x = (Xcheck *)ctx;

	if (x->ncert == 0) {
		br_sha1_init(&x->sha1);
		br_sha256_init(&x->sha256);
		br_x509_decoder_init(&x->leaf, NULL, NULL);
	}
	if (x->useca)
		x->ca.vtable->start_cert(&x->ca.vtable, length);
}

static void
x_append(const br_x509_class **ctx, const unsigned char *buf, size_t len)
{
	Xcheck *x = (Xcheck *)ctx;

	if (x->ncert == 0) {
		br_sha1_update(&x->sha1, buf, len);
		br_sha256_update(&x->sha256, buf, len);
		br_x509_decoder_push(&x->leaf, buf, len);
		if (x->iplen && x->nder + len <= sizeof x->der)
			memcpy(x->der + x->nder, buf, len);
		x->nder += len;
	}
	if (x->useca)
		x->ca.vtable->append(&x->ca.vtable, buf, len);
}

static void
x_end_cert(const br_x509_class **ctx)
{
	Xcheck *x = (Xcheck *)ctx;

	if (x->ncert == 0) {
		br_sha1_out(&x->sha1, x->h1);
		br_sha256_out(&x->sha256, x->h256);
	}
	x->ncert++;
	if (x->useca)
		x->ca.vtable->end_cert(&x->ca.vtable);
}

/* One DER element at *p: its tag, and its contents [*p, *p + *n) after. */
static int
der(const unsigned char **p, const unsigned char *end, int *tag, size_t *n)
{
	const unsigned char *q = *p;
	size_t k;

	if (end - q < 2)
		return -1;
	*tag = *q++;
	if ((*n = *q++) & 0x80) {
		if ((k = *n & 0x7f) == 0 || k > 3 || (size_t)(end - q) < k)
			return -1;
		for (*n = 0; k > 0; k--)
			*n = *n << 8 | *q++;
	}
	if (*n > (size_t)(end - q))
		return -1;
	*p = q;
	return 0;
}

/* The rest of a subjectAltName extension, from p to end: [critical] OCTET
 * STRING holding SEQUENCE OF GeneralName. An iPAddress [7] equal to the host's? */
static int
sanip(const unsigned char *ip, int iplen, const unsigned char *p, const unsigned char *end)
{
	size_t n;
	int tag;

	if (der(&p, end, &tag, &n) < 0)
		return 0;
	if (tag == 0x01) {	/* critical */
		p += n;
		if (der(&p, end, &tag, &n) < 0)
			return 0;
	}
	if (tag != 0x04 || der(&p, p + n, &tag, &n) < 0 || tag != 0x30)
		return 0;
	for (end = p + n; p < end; p += n) {
		if (der(&p, end, &tag, &n) < 0)
			return 0;
		if (tag == 0x87 && n == (size_t)iplen && memcmp(p, ip, n) == 0)
			return 1;
	}
	return 0;
}

/* Does the leaf, cert[0..len) (RFC 5280: tbsCertificate's extensions,
 * subjectAltName), name the address (RFC 6125 §6.2.1: iPAddress, octet for octet)? */
int
tls_ipnamed(const unsigned char *cert, size_t len, const unsigned char *ip, int iplen)
{
	static const unsigned char san[] = { 0x55, 0x1d, 0x11 };
	const unsigned char *p = cert, *end, *e, *f, *g;
	size_t n, xn;
	int tag;

	if (der(&p, p + len, &tag, &n) < 0 || tag != 0x30 ||
	    der(&p, p + n, &tag, &n) < 0 || tag != 0x30)
		return 0;
	for (end = p + n; p < end; p += n) {	/* the tbsCertificate's fields */
		if (der(&p, end, &tag, &n) < 0)
			return 0;
		if (tag != 0xa3)
			continue;
		e = p;
		if (der(&e, p + n, &tag, &n) < 0 || tag != 0x30)
			return 0;
		for (f = e + n; e < f; e += xn) {	/* each Extension */
			if (der(&e, f, &tag, &xn) < 0 || tag != 0x30)
				return 0;
			g = e;
			if (der(&g, e + xn, &tag, &n) == 0 && tag == 0x06 && n == sizeof san && memcmp(g, san, n) == 0)
				return sanip(ip, iplen, g + n, e + xn);
		}
		return 0;
	}
	return 0;
}

/* A pinned thumbprint wins; then the CA's verdict; then insecure; else refused. */
static unsigned
x_end_chain(const br_x509_class **ctx)
{
	Xcheck *x = (Xcheck *)ctx;
	int err;

	if (x->ncert == 0)
		return BR_ERR_X509_EMPTY_CHAIN;
	if ((x->pins && tls_pinned(x->pins, x->h1, x->h256)) || (!x->useca && x->insecure)) {
		if ((x->key = br_x509_decoder_get_pkey(&x->leaf)) != NULL)
			return 0;
		err = br_x509_decoder_last_error(&x->leaf);
		return err ? err : BR_ERR_X509_TRUNCATED;
	}
	if (x->useca) {
		x->byca = 1;
		err = x->ca.vtable->end_chain(&x->ca.vtable);
		if (err == 0 && x->iplen &&
		    (x->nder > sizeof x->der || !tls_ipnamed(x->der, x->nder, x->ip, x->iplen)))
			err = BR_ERR_X509_BAD_SERVER_NAME;
		return err;
	}
	x->refused = 1;
	return BR_ERR_X509_NOT_TRUSTED;
}

static const br_x509_pkey *
x_get_pkey(const br_x509_class *const *ctx, unsigned *usages)
{
	const Xcheck *x = (const Xcheck *)ctx;

	if (x->byca)
		return x->ca.vtable->get_pkey(&x->ca.vtable, usages);
	if (usages)
		*usages = BR_KEYTYPE_KEYX | BR_KEYTYPE_SIGN;
	return x->key;
}

static const br_x509_class xcheck = {
	sizeof(Xcheck), x_start_chain, x_start_cert, x_append, x_end_cert, x_end_chain, x_get_pkey
};

void
tls_trustfiles(Tlstrust *t, const char *pinsname, char *pins, char *ca, size_t n)
{
	memset(t, 0, sizeof *t);
	if (upas_path(pins, n, "lib", "tls", pinsname, NULL) == 0 && access(pins, R_OK) == 0)
		t->pins = pins;
	if (upas_path(ca, n, "lib", "tls", "ca.pem", NULL) == 0 && access(ca, R_OK) == 0)
		t->cafile = ca;
	else if (access("/etc/ssl/certs/ca-certificates.crt", R_OK) == 0)
		t->cafile = "/etc/ssl/certs/ca-certificates.crt";
}

/* SNI carries a host name, never an address literal (RFC 6066 §3). */
static int
ishostname(const char *s)
{
	unsigned char a[sizeof(struct in_addr)];

	return s[0] && strchr(s, ':') == NULL && inet_pton(AF_INET, s, a) != 1;
}

static void
hexstr(const unsigned char *p, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

/* A refusal names the certificate's sha256 thumbprint, ready for the pins file. */
static void
clienterr(Tls *t, const Tlstrust *tr)
{
	Xcheck *x = &t->u.c.x;
	int e = br_ssl_engine_last_error(t->eng);
	char hex[2 * br_sha256_SIZE + 1], msg[LIM_ERR];

	if (x->ncert == 0 || e < BR_ERR_X509_OK || e > BR_ERR_X509_NOT_TRUSTED)
		return;
	hexstr(x->h256, sizeof x->h256, hex);
	if (x->refused && tr->pins)
		seterr("certificate thumbprint sha256=%s not in %s", hex, tr->pins);
	else if (x->refused)
		seterr("no trust configured for certificate sha256=%s", hex);
	else {
		tls_strerror(e, msg, sizeof msg);
		if (e == BR_ERR_X509_BAD_SERVER_NAME)
			seterr("%s %s (sha256=%s)", msg, x->host, hex);
		else
			seterr("%s (sha256=%s)", msg, hex);
	}
}

int
tls_client(Conn *c, const char *sni, const Tlstrust *tr)
{
	br_ssl_client_context *cc;
	Anchors a = { 0 };
	char *pins = NULL;
	size_t n = sni ? strlen(sni) : 0;
	time_t now = time(NULL);
	Xcheck *x;
	Tls *t;
	int r = -1;

	if (n > 0 && sni[n - 1] == '.')
		n--;
	if (n > LIM_DOMAIN) {
		seterr("host name too long");
		return -1;
	}
	if (tr->cafile && n == 0) {
		seterr("no host name to check the certificate against");
		return -1;
	}
	if (tr->pins && (pins = readfile(tr->pins, LIM_CONFFILE, NULL)) == NULL && errno != ENOENT)
		return -1;
	if (tr->cafile && tls_anchors(&a, tr->cafile) < 0)
		goto out;
	if ((t = tlsnew(c)) == NULL)
		goto out;
	cc = &t->u.c.cc;
	x = &t->u.c.x;
	clientinit(cc, &x->ca, a.ta, a.n);
	br_x509_minimal_set_time(&x->ca, (uint32_t)(now / 86400 + Day0), (uint32_t)(now % 86400));
	x->vtable = &xcheck;
	x->useca = tr->cafile != NULL;
	x->insecure = tr->insecure;
	x->pins = pins;
	if (n > 0)
		memcpy(x->host, sni, n);
	if (inet_pton(AF_INET, x->host, x->ip) == 1)
		x->iplen = 4;
	else if (inet_pton(AF_INET6, x->host, x->ip) == 1)
		x->iplen = 16;
	t->eng = &cc->eng;
	br_ssl_engine_set_x509(t->eng, &x->vtable);
	if (setup(t) < 0)
		goto fail;
	if (!br_ssl_client_reset(cc, ishostname(x->host) ? x->host : NULL, 0)) {
		engerr(t->eng);
		goto fail;
	}
	if (handshake(c, t) < 0) {
		clienterr(t, tr);
		goto fail;
	}
	x->pins = NULL;
	install(c, t);
	r = 0;
	goto out;
fail:
	tlsfree(t);
out:
	tls_freeanchors(&a);
	free(pins);
	return r;
}

int
tls_starttls_server(Bio *b, Tlscert *k)
{
	if (bio_flush(b) < 0)
		return -1;
	bio_discard(b);
	return tls_server(b->c, k);
}

int
tls_starttls_client(Bio *b, const char *sni, const Tlstrust *tr)
{
	if (bio_flush(b) < 0)
		return -1;
	bio_discard(b);
	return tls_client(b->c, sni, tr);
}

int
tls_active(Conn *c)
{
	return c->tls != NULL;
}

/* OpenSSL's names for the suites BearSSL can negotiate, as Received: lines carry them. */
static const struct {
	unsigned short id;
	const char *name;
} suites[] = {
	{BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "ECDHE-ECDSA-AES128-GCM-SHA256"},
	{BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, "ECDHE-ECDSA-AES256-GCM-SHA384"},
	{BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE-ECDSA-CHACHA20-POLY1305"},
	{BR_TLS_ECDHE_ECDSA_WITH_AES_128_CCM, "ECDHE-ECDSA-AES128-CCM"},
	{BR_TLS_ECDHE_ECDSA_WITH_AES_256_CCM, "ECDHE-ECDSA-AES256-CCM"},
	{BR_TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8, "ECDHE-ECDSA-AES128-CCM8"},
	{BR_TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8, "ECDHE-ECDSA-AES256-CCM8"},
	{BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, "ECDHE-ECDSA-AES128-SHA256"},
	{BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384, "ECDHE-ECDSA-AES256-SHA384"},
	{BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, "ECDHE-ECDSA-AES128-SHA"},
	{BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, "ECDHE-ECDSA-AES256-SHA"},
	{BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "ECDHE-RSA-AES128-GCM-SHA256"},
	{BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, "ECDHE-RSA-AES256-GCM-SHA384"},
	{BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE-RSA-CHACHA20-POLY1305"},
	{BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, "ECDHE-RSA-AES128-SHA256"},
	{BR_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384, "ECDHE-RSA-AES256-SHA384"},
	{BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, "ECDHE-RSA-AES128-SHA"},
	{BR_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, "ECDHE-RSA-AES256-SHA"},
	{BR_TLS_RSA_WITH_AES_128_GCM_SHA256, "AES128-GCM-SHA256"},
	{BR_TLS_RSA_WITH_AES_256_GCM_SHA384, "AES256-GCM-SHA384"},
	{BR_TLS_RSA_WITH_AES_128_CBC_SHA256, "AES128-SHA256"},
	{BR_TLS_RSA_WITH_AES_256_CBC_SHA256, "AES256-SHA256"},
	{BR_TLS_RSA_WITH_AES_128_CBC_SHA, "AES128-SHA"},
	{BR_TLS_RSA_WITH_AES_256_CBC_SHA, "AES256-SHA"},
	{BR_TLS_RSA_WITH_3DES_EDE_CBC_SHA, "DES-CBC3-SHA"},
};

/* "TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256": what was negotiated, for logs and Received: lines. */
char *
tls_info(Conn *c, char *buf, size_t n)
{
	br_ssl_session_parameters pp;
	const char *name = NULL;
	size_t i;

	if (c->tls == NULL) {
		snprintf(buf, n, "plaintext");
		return buf;
	}
	br_ssl_engine_get_session_parameters(((Tls *)c->tls)->eng, &pp);
	for (i = 0; i < nelem(suites); i++)
		if (suites[i].id == pp.cipher_suite)
			name = suites[i].name;
	if (name != NULL)
		snprintf(buf, n, "TLSv1.%d %s", (pp.version & 0xff) - 1, name);
	else
		snprintf(buf, n, "TLSv1.%d cipher 0x%04X", (pp.version & 0xff) - 1, pp.cipher_suite);
	return buf;
}

/* BearSSL reads one record at a time, so nothing else hides behind a ready engine. */
int
tls_pending(Conn *c)
{
	Tls *t = c->tls;

	return t && (br_ssl_engine_current_state(t->eng) & BR_SSL_RECVAPP) != 0;
}
