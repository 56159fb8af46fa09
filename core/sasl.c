#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "sasl.h"
#include "digest.h"
#include "mimeenc.h"
#include "secrets.h"

ssize_t
sasl_b64dec(const char *s, unsigned char *out, size_t max)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(s), i, o = 0;
	unsigned v = 0;
	const char *p;
	int pad = 0, k;

	if (n % 4 != 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] == '=' && i >= n - 2 && (i == n - 1 || s[n - 1] == '=')) {
			pad++;
			k = 0;
		} else if (pad || s[i] == 0 || (p = strchr(al, s[i])) == NULL)
			return -1;
		else
			k = p - al;
		v = v << 6 | k;
		if (i % 4 == 3) {
			if (o + 3 - pad > max)
				return -1;
			out[o++] = v >> 16;
			if (pad < 2)
				out[o++] = v >> 8;
			if (pad < 1)
				out[o++] = v;
			v = 0;
		}
	}
	return o;
}

int
sasl_getline(Bio *b, char *line, size_t max)
{
	ssize_t n = bio_line(b, line, max);

	if (n == BIO_EOF || n == BIO_ERR)
		return SASL_IO;
	if (n == BIO_LONG)
		return SASL_LONG;
	bio_chomp(line, &n);
	return n;
}

unsigned
sasl_delay(int n)
{
	return n > 3 || n < 1 ? LIM_AUTHDELAY : 1u << (n - 1);
}

int
sasl_known(const char *mech)
{
	return strcasecmp(mech, "PLAIN") == 0 || strcasecmp(mech, "LOGIN") == 0 ||
	    strcasecmp(mech, "CRAM-MD5") == 0;
}

int
sasl_name(const char *u, size_t n)
{
	size_t i;

	if (n == 0 || n > LIM_AUTHUSER || strlen(u) != n)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)u[i] <= ' ' || u[i] == 0x7f)
			return 0;
	return 1;
}

static void
who(Sasl *s, const char *u)
{
	snprintf(s->user, sizeof s->user, "%s", u != NULL && sasl_name(u, strlen(u)) ? u : "?");
}

/*
 * Send a challenge of n bytes (unless ir answers it already) and decode the
 * response into out, NUL terminated: its length, or a SASL_ code.
 */
static ssize_t
response(Sasl *s, const char *ir, const void *chal, size_t cn, unsigned char *out, size_t max)
{
	char line[LIM_SMTPCMDBUF];
	Str b = {0};
	ssize_t n;

	if (ir == NULL) {
		mime_base64(&b, chal, cn, 0);
		if (b.n > 0 && b.p[b.n - 1] == '\n')
			b.p[--b.n] = 0;
		n = s->exchange(s->arg, b.p ? b.p : "", line, sizeof line);
		str_free(&b);
		if (n < 0)
			return n;
		ir = line;
	}
	if (strcmp(ir, "*") == 0)
		return SASL_CANCEL;
	if (strcmp(ir, "=") == 0)
		n = 0;
	else if ((n = sasl_b64dec(ir, out, max - 1)) < 0)
		return SASL_BADB64;
	out[n] = 0;
	return n;
}

/* RFC 4616: authzid NUL authcid NUL passwd; an authzid must name the authcid. */
static int
plain(Sasl *s, const char *ir)
{
	unsigned char buf[LIM_AUTHDEC + 1];
	char *z, *u, *pw;
	ssize_t n;
	size_t zn, un;
	int r;

	if ((n = response(s, ir, "", 0, buf, sizeof buf)) < 0)
		return n;
	z = (char *)buf;
	zn = strlen(z);
	if ((size_t)n <= zn + 1 || (un = strlen(u = z + zn + 1), zn + 1 + un + 1 > (size_t)n)) {
		explicit_bzero(buf, sizeof buf);
		return SASL_FAIL;
	}
	pw = u + un + 1;
	who(s, u);
	if (strlen(pw) != (size_t)n - (zn + un + 2) || !sasl_name(u, un) || (zn > 0 && strcmp(z, u) != 0))
		r = SASL_FAIL;
	else if ((r = secrets_verify(u, pw)) < 0)
		r = SASL_TEMP;
	else
		r = r == 1 ? SASL_OK : SASL_FAIL;
	explicit_bzero(buf, sizeof buf);
	return r;
}

static int
login(Sasl *s, const char *ir)
{
	unsigned char u[LIM_AUTHDEC + 1], pw[LIM_AUTHDEC + 1];
	ssize_t un, n;
	int r;

	if ((un = response(s, ir, "Username:", 9, u, sizeof u)) < 0)
		return un;
	who(s, (char *)u);
	if ((n = response(s, NULL, "Password:", 9, pw, sizeof pw)) < 0)
		return n;
	if (!sasl_name((char *)u, un) || strlen((char *)pw) != (size_t)n)
		r = SASL_FAIL;
	else if ((r = secrets_verify((char *)u, (char *)pw)) < 0)
		r = SASL_TEMP;
	else
		r = r == 1 ? SASL_OK : SASL_FAIL;
	explicit_bzero(pw, sizeof pw);
	return r;
}

/* RFC 2195: the client proves it knows the secret by keying HMAC-MD5 of our challenge with it. */
static int
cram(Sasl *s, const char *ir)
{
	char chal[LIM_DOMAIN + 64], secret[LIM_SECRET + 1], hex[33], *sp;
	unsigned char buf[LIM_AUTHDEC + 1], mac[16];
	unsigned rnd;
	ssize_t n;
	int i, r;

	if (ir != NULL)
		return SASL_FAIL;	/* CRAM-MD5 takes no initial response */
	mime_random(&rnd, sizeof rnd);
	snprintf(chal, sizeof chal, "<%u.%lld@%s>", rnd, (long long)time(NULL), s->host);
	if ((n = response(s, NULL, chal, strlen(chal), buf, sizeof buf)) < 0)
		return n;
	sp = strrchr((char *)buf, ' ');
	if (sp == NULL || strlen((char *)buf) != (size_t)n || strlen(sp + 1) != 32)
		return SASL_FAIL;
	*sp++ = 0;
	who(s, (char *)buf);
	if (!sasl_name((char *)buf, sp - 1 - (char *)buf))
		return SASL_FAIL;
	r = secrets_get((char *)buf, secret, sizeof secret);
	if (r == SEC_PLAIN) {
		hmac_md5(secret, strlen(secret), chal, strlen(chal), mac);
		for (i = 0; i < 16; i++)
			snprintf(hex + 2 * i, 3, "%02x", mac[i]);
		for (i = 0; i < 32; i++)
			if (sp[i] >= 'A' && sp[i] <= 'F')
				sp[i] += 'a' - 'A';
		r = secrets_equal(sp, hex) ? SASL_OK : SASL_FAIL;
	} else
		r = r < 0 ? SASL_TEMP : SASL_FAIL;	/* unknown, or only a hash: CRAM-MD5 needs the secret itself */
	explicit_bzero(secret, sizeof secret);
	return r;
}

int
sasl_server(Sasl *s, const char *mech, const char *ir)
{
	s->user[0] = 0;
	if (strcasecmp(mech, "PLAIN") == 0)
		return plain(s, ir);
	if (strcasecmp(mech, "LOGIN") == 0)
		return login(s, ir);
	if (strcasecmp(mech, "CRAM-MD5") == 0)
		return cram(s, ir);
	return SASL_FAIL;
}
