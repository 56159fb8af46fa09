/*
 * Unit tests over tls/: thumbprint files, error texts, PEM loading, and real
 * handshakes over socketpairs (a forked server), including the STARTTLS
 * plaintext-injection defence. Tools tlsclient and tlsserve serve the e2e tests.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "unit.h"
#include "tls.h"

/* Test keys and self-signed certificates for CN and DNS:localhost, valid 2000 to 2100. */
static const char rsacrt[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIC7TCCAdWgAwIBAgIBATANBgkqhkiG9w0BAQsFADAUMRIwEAYDVQQDDAlsb2Nh\n"
	"bGhvc3QwIBcNMDAwMTAxMDAwMDAwWhgPMjEwMDAxMDEwMDAwMDBaMBQxEjAQBgNV\n"
	"BAMMCWxvY2FsaG9zdDCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBAJ6B\n"
	"54xkysRocB3ZtIeYQv58es4YCDBGxPzBHVb18DkZLSzfSoZBDQodLPbvloyh/TIx\n"
	"/aE+fMEFFzFLV8F9uoRhkdzCFtoOh9xJyTUrUhvzUrk/XZ6WymmJ6AfL7IDduACa\n"
	"/WOazt2DbL9I0pgvYRO1O889kxwUMSm07pP7dyHih/r67k1gGhLs0109ApFCBI0r\n"
	"I70eysg8HOLRJ27lSkjDK2+MMJpt4lSTT897DPwMDSki+G0kdNc1EamdaC2YFMcZ\n"
	"LPD1hIsmu5n8f2kmIkhUwuvVxos8O2KzGtwvr34P04fkZW0DviplFvnR/ssGXPlR\n"
	"PftZvuQ/Lq3PJLVUBlMCAwEAAaNIMEYwDwYDVR0TAQH/BAUwAwEB/zAUBgNVHREE\n"
	"DTALgglsb2NhbGhvc3QwHQYDVR0OBBYEFCvsvoR68uZsPm+iu+Qv23rWUDL1MA0G\n"
	"CSqGSIb3DQEBCwUAA4IBAQBpqKVQkbMifa/Y23fBdQtKAbmsCwhuwCIZQp55C7ZD\n"
	"AvAgNGN5MA8pOmjITE9EyK8+ywT9IOZsDR4duIEYNpSQYV8e1+uyeRAcWnNoAOMN\n"
	"bE7k+Rdwx4SxbDyD3f/sHiC6/NR06JgfBhpCWM1RzJ9DvTM2QrWQS5ODOURdJRTp\n"
	"0DvJSed43sdDYV5cWbL2gZ/PWjez0ozKIQ1g9YQSVSPi/l5aLq1+EEdZQG7Rof+1\n"
	"mE9mne2gulf4tzWoB0A1fPd8OtgACbAXDYdrnajQGx56pscUr5kWSAGPQx1/C8yu\n"
	"j60Ck5sBSRS+gPB7f+4T7SJV0d0SA2m11z29jJmMvTFS\n"
	"-----END CERTIFICATE-----\n";

static const char rsakey[] =
	"-----BEGIN RSA PRIVATE KEY-----\n"
	"MIIEowIBAAKCAQEAnoHnjGTKxGhwHdm0h5hC/nx6zhgIMEbE/MEdVvXwORktLN9K\n"
	"hkENCh0s9u+WjKH9MjH9oT58wQUXMUtXwX26hGGR3MIW2g6H3EnJNStSG/NSuT9d\n"
	"npbKaYnoB8vsgN24AJr9Y5rO3YNsv0jSmC9hE7U7zz2THBQxKbTuk/t3IeKH+vru\n"
	"TWAaEuzTXT0CkUIEjSsjvR7KyDwc4tEnbuVKSMMrb4wwmm3iVJNPz3sM/AwNKSL4\n"
	"bSR01zURqZ1oLZgUxxks8PWEiya7mfx/aSYiSFTC69XGizw7YrMa3C+vfg/Th+Rl\n"
	"bQO+KmUW+dH+ywZc+VE9+1m+5D8urc8ktVQGUwIDAQABAoIBACn/aG8J+7G7rE00\n"
	"dEFjJgkQyWcW9gB4l9QShOgYJOy0D4SuqyvUS5Ss80+AXsbnWtN0bGvPRzXLWABP\n"
	"IrLZUdSml4PDB1QCepvzDvVgA5L1TytXL0KIWJxLFmgOb50bYhgC+PVtvLbzjhpG\n"
	"vMnm79VNdUntWi+b6ATRdE9QVxnqZTHbK3WbIJPVpbiuxh1+HRmDQA3jknyVxRbY\n"
	"4/2iWZ3vYarP1tO+hghRgYFRUIf+woRGO6Q3janMoCx5CAdf6nl9Cqz1DK8DYbXF\n"
	"q12EYGoDtiVFE++PiIg95x2s9uK8ikloanEvsVWhCMdR4elKeYca9XFs07+PCHhK\n"
	"lB8gVU0CgYEA2EUyNutHDcH2k8LppeWp27TVNrKa9DqRU1sSWuzHnTRG6Iv2jMC6\n"
	"p92wD78/APQ30BADoVV38fUvKY1RhGRZCWevHtm00Gh8c0/H/w8cg0eQtuXt0fIi\n"
	"hQlQZ+A7QavkZovMla+VMQjq1IMdV3pEgQYLJltZgTcyRcJyiI3LQ4UCgYEAu6A5\n"
	"jW+jRAtX7O9+kYqHyzRto3zSIZOoAXKawz36N1VD0xtZSeV9Nt6YRXgfLtdIy2Ew\n"
	"RB6MaSbStoWdjLlvfcFqkZECc0+MZUWT4JyPgDMeIytfFLwyKWeZNmRtjALYBLe0\n"
	"to7SG8x5FOGf+TdSBCUn73IHdllDbZHSNOLRrfcCgYAqavf8WY0oH6DzPkmBZlg4\n"
	"ZXFkNwe5Wzths/0XpFVKehRmS/1hgfOaNRrxG7uJvlysDFgJ7q+F32cOqU8RvnTQ\n"
	"KWvpix2xuqyeGUnKtvYKsaCqntJUWT94BGmm1g4JRWOY0VahDT0fzvXwFH9OxwZk\n"
	"oADT1xrpAyBzGj5IljcF2QKBgQCzdIV3hO6Yl2zqnwrk86X8MtImy61EFjFb6Ryj\n"
	"X3UiVXhAw2i8aDZCM9daopDYwWrLs9JxZPKRZGOn1daiEX7UvhlKz3KTjeNPvaO5\n"
	"8qTCTqIlq0cO0w37Ui5VuuqYPuQUZwz+i03k7sZktYTH3iSg+FThDaSbircWZqGy\n"
	"mbtJcwKBgFCnEapfTgJpzQCj91CN8jAZNTNtVFxp3zfpUf9RQzpZPsHYrRTxORX4\n"
	"mr9G7cgTK24oZQJQMVgbNJUg0e1IPkXBREhRiS0SDIIpaK696+Tto0nI7coTZgx+\n"
	"5TfSfziCx6ohsrKrBdxuZtd93aiyiNIOuhBMW+5PDyAxokx+n1RZ\n"
	"-----END RSA PRIVATE KEY-----\n";

static const char eccrt[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBYTCCAQegAwIBAgIBAjAKBggqhkjOPQQDAjAUMRIwEAYDVQQDDAlsb2NhbGhv\n"
	"c3QwIBcNMDAwMTAxMDAwMDAwWhgPMjEwMDAxMDEwMDAwMDBaMBQxEjAQBgNVBAMM\n"
	"CWxvY2FsaG9zdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABLugEbA6d/4FBT/V\n"
	"PhufoSERkfhTpBPf5Zsh/lz6+2lI51F6rrMNAaXJgsW5IHNGPfMtKg1kdu0PQXkN\n"
	"c7oU0hijSDBGMA8GA1UdEwEB/wQFMAMBAf8wFAYDVR0RBA0wC4IJbG9jYWxob3N0\n"
	"MB0GA1UdDgQWBBShCW0AAwiUeHlC3Fpe3pYYx59A1DAKBggqhkjOPQQDAgNIADBF\n"
	"AiAoUq5EFeHPtawxPG4DaHDZQ7ba/G0i9GLeKdiYDlal2AIhAPxsljy/NMUDtKCe\n"
	"5ZiQav4Pq6X/7cfpJruJ565hoI28\n"
	"-----END CERTIFICATE-----\n";

/* PKCS#8, as openssl writes keys today */
static const char eckey[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgdsSfohmsk9t7eAFQ\n"
	"pqzTOoK+jrBamY8VitaWZIybtvChRANCAAS7oBGwOnf+BQU/1T4bn6EhEZH4U6QT\n"
	"3+WbIf5c+vtpSOdReq6zDQGlyYLFuSBzRj3zLSoNZHbtD0F5DXO6FNIY\n"
	"-----END PRIVATE KEY-----\n";

/* another P-256 key, matching neither certificate */
static const char ec2key[] =
	"-----BEGIN EC PRIVATE KEY-----\n"
	"MHcCAQEEIEqHd0aFyJ3O1soN7dgE6foGtkCK093YtOAepHIVztXroAoGCCqGSM49\n"
	"AwEHoUQDQgAE4Eb7/5plRGz2pmT5WewUL76C0A3evuIXqUZfcOGTgcXLK9wYO9HN\n"
	"qOYrV9KZcBOh0pX8t7sQ3EgyyxrJBhblYA==\n"
	"-----END EC PRIVATE KEY-----\n";

/* Thumbprints of the DER certificates above (openssl dgst). */
#define RSA_SHA1 "33b21ce044e8571fe001806c89c6b98268b33a22"
#define RSA_SHA256 "c54db645a4ef733b02b4f96974fc1ebe054b151f608afae5cc64315fbede871e"
#define RSA_SHA256B64 "xU22RaTvczsCtPlpdPwevgVLFR9givrlzGQxX77ehx4="
#define EC_SHA1 "082037179fe693b45776fa66f317e77cddaeb6fa"
#define EC_SHA256 "a1c31bbed4742c85b7261ef4cf86e8bfc522ef3d88d1ec149255211de2f38b27"
#define EC_SHA256B64 "ocMbvtR0LIW3Jh70z4bov8Ui7z2I0ewUklUhHeLziyc="

static void
unhex(const char *s, unsigned char *out)
{
	unsigned v;

	for (; s[0] && s[1]; s += 2) {
		sscanf(s, "%2x", &v);
		*out++ = v;
	}
}

static char *
tmpfile_with(const char *name, const char *text)
{
	static char path[8][LIM_PATHNAME];
	static int next;
	char *p = path[next++ % nelem(path)];
	FILE *f;

	snprintf(p, LIM_PATHNAME, "%s/%s", unit_tmpdir(), name);
	if ((f = fopen(p, "w")) == NULL)
		die(1, "%s:", p);
	fputs(text, f);
	fclose(f);
	return p;
}

static int
has(const char *s, const char *sub)
{
	if (strstr(s, sub))
		return 1;
	printf("#   \"%s\" lacks \"%s\"\n", s, sub);
	return 0;
}

static int
pinned(const char *text, const char *sha1hex, const char *sha256hex)
{
	unsigned char h1[20], h256[32];

	unhex(sha1hex, h1);
	unhex(sha256hex, h256);
	return tls_pinned(text, h1, h256);
}

TEST(tls_pins)
{
	Str big = { 0 };
	char junk[256];
	int i;

	CHECK(pinned("x509 sha1=" RSA_SHA1 "\n", RSA_SHA1, RSA_SHA256));
	CHECK(pinned("x509 sha1=33:B2:1C:E0:44:E8:57:1F:E0:01:80:6C:89:C6:B9:82:68:B3:3A:22", RSA_SHA1, RSA_SHA256));
	CHECK(pinned("x509 sha256=" RSA_SHA256 " server=mx.example.com\n", RSA_SHA1, RSA_SHA256));
	CHECK(pinned("x509 sha256=" RSA_SHA256B64 "\n", RSA_SHA1, RSA_SHA256));
	CHECK(pinned("x509 sha256=xU22RaTvczsCtPlpdPwevgVLFR9givrlzGQxX77ehx4\n", RSA_SHA1, RSA_SHA256));
	CHECK(pinned("# my servers\n\n  \t\r\nx509 sha1=" EC_SHA1 "\r\nx509   sha256=" RSA_SHA256 "\r\n",
	    RSA_SHA1, RSA_SHA256));
	CHECK(pinned("x509 sha1=" RSA_SHA1 "# trailing comment\n", RSA_SHA1, RSA_SHA256));
	CHECK(pinned("x509 server=a sha1=" RSA_SHA1, RSA_SHA1, RSA_SHA256));

	CHECK(!pinned("", RSA_SHA1, RSA_SHA256));
	CHECK(!pinned("# x509 sha1=" RSA_SHA1 "\n", RSA_SHA1, RSA_SHA256));
	CHECK(!pinned("sha1=" RSA_SHA1 "\n", RSA_SHA1, RSA_SHA256));
	CHECK(!pinned("x509x sha1=" RSA_SHA1 "\n", RSA_SHA1, RSA_SHA256));
	CHECK(!pinned("x509 sha1=" RSA_SHA1 "00\n", RSA_SHA1, RSA_SHA256));
	CHECK(!pinned("x509 sha1=33b21ce044e8571fe001806c89c6b98268b33a2\n", RSA_SHA1, RSA_SHA256));
	CHECK(!pinned("x509 sha1=\nx509 sha256=\nx509 sha256=!!!!\nx509 =\nx509\n", RSA_SHA1, RSA_SHA256));
	CHECK(!pinned("x509 sha256=" RSA_SHA1 "\n", RSA_SHA1, RSA_SHA256));
	CHECK(!pinned("x509 sha1=" RSA_SHA256 "\n", RSA_SHA1, RSA_SHA256));
	CHECK(!pinned("x509 sha1=" EC_SHA1 "\nx509 sha256=" EC_SHA256B64 "\n", RSA_SHA1, RSA_SHA256));

	/* a huge line and binary junk are skipped, and the line after still counts */
	for (i = 0; i < 100000; i++)
		str_addc(&big, i % 2 ? '=' : 'x');
	for (i = 0; i < 255; i++)
		junk[i] = i + 1;
	junk[255] = 0;
	str_adds(&big, "\n");
	str_adds(&big, junk);
	CHECK(!pinned(big.p, RSA_SHA1, RSA_SHA256));
	str_adds(&big, "\nx509 sha256=" RSA_SHA256 "\n");
	CHECK(pinned(big.p, RSA_SHA1, RSA_SHA256));
	str_free(&big);
}

TEST(tls_errors)
{
	char buf[LIM_ERR];

	/* BearSSL's codes, by number: tests see no <bearssl.h> */
	CHECKSTR(tls_strerror(62, buf, sizeof buf), "certificate not trusted");	/* BR_ERR_X509_NOT_TRUSTED */
	CHECKSTR(tls_strerror(56, buf, sizeof buf), "certificate does not match host name");
	CHECKSTR(tls_strerror(54, buf, sizeof buf), "certificate expired or not yet valid");
	CHECKSTR(tls_strerror(40, buf, sizeof buf), "malformed certificate");	/* BR_ERR_X509_EXTRA_ELEMENT */
	CHECKSTR(tls_strerror(35, buf, sizeof buf), "no certificate sent");
	CHECKSTR(tls_strerror(256 + 40, buf, sizeof buf), "peer sent fatal alert 40 (handshake failure)");
	CHECKSTR(tls_strerror(256 + 70, buf, sizeof buf), "peer sent fatal alert 70 (protocol version)");
	CHECKSTR(tls_strerror(512 + 42, buf, sizeof buf), "sent fatal alert 42 (bad certificate)");
	CHECKSTR(tls_strerror(256 + 201, buf, sizeof buf), "peer sent fatal alert 201");
	CHECK(has(tls_strerror(3, buf, sizeof buf), "TLS 1.0 to 1.2"));	/* BR_ERR_UNSUPPORTED_VERSION */
	CHECKSTR(tls_strerror(9999, buf, sizeof buf), "tls error 9999");
	CHECKSTR(tls_strerror(-1, buf, sizeof buf), "tls error -1");
	CHECKSTR(tls_strerror(62, buf, 5), "cert");
}

TEST(tls_loadcert)
{
	char both[8192], *crt, *key, *f;
	Tlscert *k;
	size_t n;

	CHECK(tls_loadcert("/nonexistent/cert.pem", NULL) == NULL);
	CHECK(has(lasterr(), "No such file"));
	CHECK(tls_loadcert(unit_tmpdir(), NULL) == NULL);
	CHECK(has(lasterr(), "not a regular file"));
	f = tmpfile_with("empty.pem", "");
	CHECK(tls_loadcert(f, NULL) == NULL);
	CHECK(has(lasterr(), "no certificate in ") && has(lasterr(), "empty.pem"));
	f = tmpfile_with("junk.pem", "hello\x01\xff world\n-----BEGIN\n-----END X-----\n");
	CHECK(tls_loadcert(f, NULL) == NULL);
	CHECK(has(lasterr(), "no certificate in "));
	f = tmpfile_with("bad.pem", "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n");
	CHECK(tls_loadcert(f, NULL) == NULL);
	CHECK(has(lasterr(), "bad PEM data"));
	f = tmpfile_with("cut.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n");
	CHECK(tls_loadcert(f, NULL) == NULL);
	CHECK(has(lasterr(), "unterminated PEM object CERTIFICATE"));
	f = tmpfile_with("notcert.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
	key = tmpfile_with("notcert.key", eckey);
	CHECK(tls_loadcert(f, key) == NULL);
	CHECK(has(lasterr(), "unusable certificate"));

	crt = tmpfile_with("rsa.crt", rsacrt);
	CHECK(tls_loadcert(crt, NULL) == NULL);
	CHECK(has(lasterr(), "no private key in ") && has(lasterr(), "rsa.crt"));
	CHECK(tls_loadcert(crt, crt) == NULL);
	CHECK(has(lasterr(), "no private key in "));
	key = tmpfile_with("enc.key", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n");
	CHECK(tls_loadcert(crt, key) == NULL);
	CHECK(has(lasterr(), "encrypted private keys are not supported"));
	key = tmpfile_with("badkey.key", "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n");
	CHECK(tls_loadcert(crt, key) == NULL);
	CHECK(has(lasterr(), "unusable private key"));
	key = tmpfile_with("ec.key", eckey);
	CHECK(tls_loadcert(crt, key) == NULL);
	CHECK(has(lasterr(), "does not match"));
	crt = tmpfile_with("ec.crt", eccrt);
	key = tmpfile_with("ec2.key", ec2key);
	CHECK(tls_loadcert(crt, key) == NULL);
	CHECK(has(lasterr(), "private key in ") && has(lasterr(), "ec2.key does not match the certificate in "));

	key = tmpfile_with("ec.key", eckey);
	CHECK((k = tls_loadcert(crt, key)) != NULL);
	tls_freecert(k);
	key = tmpfile_with("rsa.key", rsakey);
	crt = tmpfile_with("rsa.crt", rsacrt);
	CHECK((k = tls_loadcert(crt, key)) != NULL);
	tls_freecert(k);

	/* key first, then the certificate, in one file whose last line has no newline */
	snprintf(both, sizeof both, "%s# comment\n%s", rsakey, rsacrt);
	n = strlen(both);
	both[n - 1] = 0;
	f = tmpfile_with("both.pem", both);
	CHECK((k = tls_loadcert(f, NULL)) != NULL);
	tls_freecert(k);
	tls_freecert(NULL);
}

/* A peer in a child process on one end of a socketpair; the parent keeps the other. */
typedef int Peerfn(int fd, void *arg);

static pid_t
peer(int *fd, Peerfn *fn, void *arg)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		die(1, "socketpair:");
	fflush(stdout);
	if ((pid = fork()) < 0)
		die(1, "fork:");
	if (pid == 0) {
		close(sv[0]);
		_exit(fn(sv[1], arg));
	}
	close(sv[1]);
	*fd = sv[0];
	return pid;
}

static int
reaped(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Answer every line with "got LINE" until the client closes. */
static int
echo(Bio *b)
{
	char line[LIM_TEXTLINE];
	ssize_t n;

	while ((n = bio_line(b, line, sizeof line)) > 0)
		if (bio_printf(b, "got %s", line) < 0 || bio_flush(b) < 0)
			return 3;
	return n == 0 ? 0 : 4;
}

static int
tlsserver(int fd, void *arg)
{
	Conn c;
	Bio b;
	int r;

	conn_init(&c, fd, fd);
	c.timeout = 5000;
	if (tls_server(&c, arg) < 0)
		return 2;
	bio_init(&b, &c);
	r = echo(&b);
	c.close(&c);
	return r;
}

/* STARTTLS with the client's pipelined plaintext still in the Bio, which must go. */
static int
starttlsserver(int fd, void *arg)
{
	char line[LIM_TEXTLINE];
	Conn c;
	Bio b;
	int r;

	conn_init(&c, fd, fd);
	c.timeout = 5000;
	bio_init(&b, &c);
	if (bio_line(&b, line, sizeof line) <= 0 || strcmp(line, "STARTTLS\r\n") != 0)
		return 5;
	if (bio_buffered(&b) == 0)
		return 6;
	bio_puts(&b, "220 go ahead\r\n");
	if (tls_starttls_server(&b, arg) < 0)
		return 2;
	r = echo(&b);
	c.close(&c);
	return r;
}

static Tlscert *
servercert(int ec)
{
	char *crt = tmpfile_with(ec ? "hs-ec.crt" : "hs-rsa.crt", ec ? eccrt : rsacrt);
	char *key = tmpfile_with(ec ? "hs-ec.key" : "hs-rsa.key", ec ? eckey : rsakey);
	Tlscert *k = tls_loadcert(crt, key);

	if (k == NULL)
		die(1, "%s", lasterr());
	return k;
}

/* Handshake as a client against a forked server; 0 or -1 with lasterr(), the peer's status in *st. */
static int
client(Tlscert *k, const char *sni, const Tlstrust *tr, int *st)
{
	char line[LIM_TEXTLINE];
	Conn c;
	Bio b;
	pid_t pid;
	int fd, r = -1;

	pid = peer(&fd, tlsserver, k);
	conn_init(&c, fd, fd);
	c.timeout = 5000;
	bio_init(&b, &c);
	if (tls_client(&c, sni, tr) == 0) {
		bio_puts(&b, "ping\n");
		if (bio_flush(&b) == 0 && bio_line(&b, line, sizeof line) > 0 && strcmp(line, "got ping\n") == 0)
			r = 0;
		else
			seterr("bad echo");
	}
	c.close(&c);
	*st = reaped(pid);
	return r;
}

TEST(tls_roundtrip)
{
	Tlscert *k = servercert(0);
	Tlstrust tr = { .insecure = 1 };
	char line[LIM_TEXTLINE], buf[32];
	Conn c;
	Bio b;
	pid_t pid;
	int fd, i, ok;

	pid = peer(&fd, tlsserver, k);
	conn_init(&c, fd, fd);
	c.timeout = 5000;
	bio_init(&b, &c);
	CHECK(!tls_active(&c) && !tls_pending(&c));
	CHECK(tls_client(&c, "localhost", &tr) == 0);
	CHECK(tls_active(&c));
	CHECK(tls_client(&c, "localhost", &tr) < 0 && has(lasterr(), "already"));

	/* many records each way, more than either buffer holds */
	for (i = 0, ok = 1; i < 300; i++)
		ok &= bio_printf(&b, "line %d %0100d\n", i, i) == 0;
	CHECK(ok && bio_flush(&b) == 0);

	for (i = 0, ok = 1; i < 300 && ok; i++) {
		snprintf(buf, sizeof buf, "got line %d ", i);
		ok = bio_line(&b, line, sizeof line) > 0 && strncmp(line, buf, strlen(buf)) == 0;
	}
	CHECK(ok);

	/* a part read leaves the rest of the record pending in the engine */
	CHECK(c.write(&c, "abcdef\n", 7) == 0);
	CHECK(c.read(&c, buf, 3) == 3 && memcmp(buf, "got", 3) == 0);
	CHECK(tls_pending(&c));
	CHECK(c.read(&c, buf, sizeof buf) == 8 && memcmp(buf, " abcdef\n", 8) == 0);
	CHECK(!tls_pending(&c));

	c.close(&c);
	CHECK(c.rfd == -1 && c.tls == NULL);
	CHECK(reaped(pid) == 0);
	tls_freecert(k);
}

TEST(tls_trust)
{
	Tlscert *rsa = servercert(0), *ec = servercert(1);
	Tlstrust tr = { 0 };
	Str bundle = { 0 };
	char *pins, *ca;
	int st;

	pins = tmpfile_with("pins", "# test pins\nx509 sha1=" RSA_SHA1 "\nx509 sha256=" EC_SHA256B64 " server=localhost\n");
	tr.pins = pins;
	CHECK(client(rsa, "localhost", &tr, &st) == 0 && st == 0);
	CHECK(client(ec, "localhost", &tr, &st) == 0 && st == 0);
	/* a pin needs no matching name */
	CHECK(client(ec, "mail.example.com", &tr, &st) == 0 && st == 0);

	tr.pins = tmpfile_with("pins-ec", "x509 sha256=" EC_SHA256 "\n");
	CHECK(client(rsa, "localhost", &tr, &st) < 0 && st != 0);
	CHECK(has(lasterr(), "certificate thumbprint sha256=" RSA_SHA256 " not in ") && has(lasterr(), "pins-ec"));

	tr.pins = NULL;
	CHECK(client(rsa, "localhost", &tr, &st) < 0);
	CHECK(has(lasterr(), "no trust configured for certificate sha256=" RSA_SHA256));
	tr.insecure = 1;
	CHECK(client(ec, NULL, &tr, &st) == 0 && st == 0);
	tr.insecure = 0;

	/* each certificate is its own CA: the chain validates, and the name decides */
	ca = tmpfile_with("ca.pem", rsacrt);
	tr.cafile = ca;
	CHECK(client(rsa, "localhost", &tr, &st) == 0 && st == 0);
	CHECK(client(rsa, "localhost.", &tr, &st) == 0 && st == 0);
	CHECK(client(rsa, "mail.example.com", &tr, &st) < 0);
	CHECK(has(lasterr(), "certificate does not match host name mail.example.com"));
	CHECK(client(rsa, "127.0.0.1", &tr, &st) < 0);
	CHECK(has(lasterr(), "does not match host name 127.0.0.1"));
	CHECK(client(ec, "localhost", &tr, &st) < 0);
	CHECK(has(lasterr(), "certificate not trusted (sha256=" EC_SHA256 ")"));
	/* insecure does not overrule a CA that said no; a pin does */
	tr.insecure = 1;
	CHECK(client(ec, "localhost", &tr, &st) < 0);
	tr.pins = pins;
	CHECK(client(ec, "localhost", &tr, &st) == 0 && st == 0);
	tr.pins = NULL;
	tr.insecure = 0;

	str_adds(&bundle, eccrt);
	str_adds(&bundle, "garbage between\n");
	str_adds(&bundle, rsacrt);
	tr.cafile = tmpfile_with("bundle.pem", bundle.p);
	str_free(&bundle);
	CHECK(client(ec, "localhost", &tr, &st) == 0 && st == 0);
	CHECK(client(rsa, "localhost", &tr, &st) == 0 && st == 0);

	tr.cafile = "/nonexistent/ca.pem";
	CHECK(client(rsa, "localhost", &tr, &st) < 0 && has(lasterr(), "No such file"));
	tr.cafile = tmpfile_with("noca.pem", "no certificates here\n");
	CHECK(client(rsa, "localhost", &tr, &st) < 0 && has(lasterr(), "no usable CA certificate in "));
	tls_freecert(rsa);
	tls_freecert(ec);
}

/* Say arg in plaintext (NULL: nothing; "": hang up), then read until the other side closes. */
static int
plaintext(int fd, void *arg)
{
	const char *s = arg;
	char buf[512];

	if (s && *s && fd_writeall(fd, s, strlen(s)) < 0)
		return 1;
	if (s && !*s)
		shutdown(fd, SHUT_WR);
	while (read(fd, buf, sizeof buf) > 0)
		;
	return 0;
}

TEST(tls_failures)
{
	Tlstrust tr = { .insecure = 1 };
	Tlscert *k = servercert(1);
	int64_t t0;
	Conn c;
	pid_t pid;
	int fd;

	/* a silent peer: the timeout ends the handshake */
	pid = peer(&fd, plaintext, NULL);
	conn_init(&c, fd, fd);
	c.timeout = 200;
	t0 = now_ms();
	CHECK(tls_client(&c, "localhost", &tr) < 0);
	CHECK(has(lasterr(), "timed out"));
	CHECK(now_ms() - t0 < 3000);
	CHECK(!tls_active(&c));
	c.close(&c);
	CHECK(reaped(pid) == 0);

	/* a deadline already past */
	pid = peer(&fd, plaintext, NULL);
	conn_init(&c, fd, fd);
	c.deadline = now_ms() - 1;
	CHECK(tls_client(&c, "localhost", &tr) < 0);
	CHECK(has(lasterr(), "deadline"));
	c.close(&c);
	reaped(pid);

	/* the peer hangs up */
	pid = peer(&fd, plaintext, "");
	conn_init(&c, fd, fd);
	c.timeout = 5000;
	CHECK(tls_client(&c, "localhost", &tr) < 0);
	CHECK(has(lasterr(), "connection closed during the tls handshake"));
	c.close(&c);
	reaped(pid);

	/* a plaintext server */
	pid = peer(&fd, plaintext, "220 mail.example.com ESMTP\r\n");
	conn_init(&c, fd, fd);
	c.timeout = 5000;
	CHECK(tls_client(&c, "localhost", &tr) < 0);
	CHECK(has(lasterr(), "peer does not speak tls (it sent \"220 m...\")"));
	c.close(&c);
	reaped(pid);

	/* a plaintext client against our server */
	pid = peer(&fd, plaintext, "EHLO there\r\n");
	conn_init(&c, fd, fd);
	c.timeout = 5000;
	CHECK(tls_server(&c, k) < 0);
	CHECK(has(lasterr(), "peer does not speak tls (it sent \"EHLO ...\")"));
	c.close(&c);
	reaped(pid);
	tls_freecert(k);
}

TEST(tls_starttls_discard)
{
	Tlscert *k = servercert(1);
	Tlstrust tr = { .insecure = 1 };
	char line[LIM_TEXTLINE];
	Conn c;
	Bio b;
	pid_t pid;
	int fd;

	/* both lines in one write: the server's Bio holds EVIL when STARTTLS is seen */
	pid = peer(&fd, starttlsserver, k);
	conn_init(&c, fd, fd);
	c.timeout = 5000;
	bio_init(&b, &c);
	CHECK(fd_writeall(fd, "STARTTLS\r\nEVIL\r\n", 16) == 0);
	CHECK(bio_line(&b, line, sizeof line) > 0);
	CHECKSTR(line, "220 go ahead\r\n");
	CHECK(tls_starttls_client(&b, "localhost", &tr) == 0);
	CHECK(bio_puts(&b, "hello\r\n") == 0 && bio_flush(&b) == 0);
	CHECK(bio_line(&b, line, sizeof line) > 0);
	CHECKSTR(line, "got hello\r\n");
	c.close(&c);
	CHECK(reaped(pid) == 0);
	tls_freecert(k);
}

static char *
chomp(char *s)
{
	s[strcspn(s, "\r\n")] = 0;
	return s;
}

static int
toolfail(const char *who)
{
	fprintf(stderr, "%s: %s\n", who, lasterr());
	return 1;
}

/*
 * tlsclient [-k] [-p pins] [-c cafile] [-n name] [-s] port [line]
 * Connect to 127.0.0.1:port, start TLS (-s: after "STARTTLS", SMTP style, printing
 * the first line read over TLS), send line, print the reply line.
 */
TOOL(tlsclient)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	Tlstrust tr = { 0 };
	const char *sni = NULL, *msg = "hello";
	char line[LIM_TEXTLINE];
	int o, starttls = 0, fd;
	Conn c;
	Bio b;

	while ((o = getopt(argc, argv, "kp:c:n:s")) != -1) {
		switch (o) {
		case 'k': tr.insecure = 1; break;
		case 'p': tr.pins = optarg; break;
		case 'c': tr.cafile = optarg; break;
		case 'n': sni = optarg; break;
		case 's': starttls = 1; break;
		default: return 64;
		}
	}
	if (optind >= argc)
		return 64;
	if (optind + 1 < argc)
		msg = argv[optind + 1];
	sa.sin_port = htons(atoi(argv[optind]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		seterr("connect:");
		return toolfail("tlsclient");
	}
	conn_init(&c, fd, fd);
	c.timeout = 10000;
	bio_init(&b, &c);
	if (starttls) {
		if (bio_line(&b, line, sizeof line) <= 0 || bio_puts(&b, "STARTTLS\r\n") < 0 ||
		    bio_flush(&b) < 0 || bio_line(&b, line, sizeof line) <= 0 ||
		    strncmp(line, "220", 3) != 0) {
			seterr("STARTTLS refused");
			return toolfail("tlsclient");
		}
		fprintf(stderr, "tlsclient: discarding %zu bytes\n", bio_buffered(&b));
		if (tls_starttls_client(&b, sni, &tr) < 0 || bio_line(&b, line, sizeof line) <= 0)
			return toolfail("tlsclient");
		printf("%s\n", chomp(line));
	} else if (tls_client(&c, sni, &tr) < 0)
		return toolfail("tlsclient");
	if (bio_printf(&b, "%s\n", msg) < 0 || bio_flush(&b) < 0 || bio_line(&b, line, sizeof line) <= 0)
		return toolfail("tlsclient");
	printf("%s\n", chomp(line));
	c.close(&c);
	return 0;
}

/*
 * tlsserve [-s] certfile [keyfile]
 * One TLS session on fds 0 and 1 (-s: "220 ready", then STARTTLS), each line
 * answered with "got LINE".
 */
TOOL(tlsserve)
{
	char line[LIM_TEXTLINE];
	Tlscert *k;
	int o, starttls = 0, r;
	Conn c;
	Bio b;

	while ((o = getopt(argc, argv, "s")) != -1) {
		if (o != 's')
			return 64;
		starttls = 1;
	}
	if (optind >= argc)
		return 64;
	if ((k = tls_loadcert(argv[optind], argv[optind + 1])) == NULL)
		return toolfail("tlsserve");
	conn_init(&c, 0, 1);
	c.timeout = 10000;
	bio_init(&b, &c);
	if (starttls) {
		if (bio_puts(&b, "220 ready\r\n") < 0 || bio_flush(&b) < 0 ||
		    bio_line(&b, line, sizeof line) <= 0 || strcmp(line, "STARTTLS\r\n") != 0) {
			seterr("no STARTTLS");
			return toolfail("tlsserve");
		}
		fprintf(stderr, "tlsserve: discarding %zu bytes\n", bio_buffered(&b));
		bio_puts(&b, "220 go ahead\r\n");
		if (tls_starttls_server(&b, k) < 0)
			return toolfail("tlsserve");
	} else if (tls_server(&c, k) < 0)
		return toolfail("tlsserve");
	r = echo(&b);
	c.close(&c);
	tls_freecert(k);
	if (r)
		seterr("echo failed");
	return r ? toolfail("tlsserve") : 0;
}
