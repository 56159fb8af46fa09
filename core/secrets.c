/* Credentials for SMTP AUTH from lib/secrets; crypt hashes are checked by tls/digest.c. */
#include <string.h>
#include "core.h"
#include "digest.h"
#include "keys.h"
#include "secrets.h"

/* Checked as every file of secrets is (keys.c), so no rename or symlink slips past. */
static char *
load(size_t *len)
{
	char path[LIM_PATHNAME];

	if (upas_path(path, sizeof path, "lib", "secrets", NULL) < 0)
		return NULL;
	return keys_readfile(path, LIM_SECRETS, len);
}

int
secrets_usable(void)
{
	size_t n;
	char *p;

	if ((p = load(&n)) == NULL)
		return -1;
	keys_freetext(p, n);
	return 0;
}

int
secrets_get(const char *user, char *buf, size_t n)
{
	char *text, *f[3];
	size_t len;
	int nf, r = SEC_NONE;
	Conf c;

	if ((text = load(&len)) == NULL)
		return -1;
	conf_text(&c, text, len, "secrets");
	while ((nf = conf_line(&c, f, nelem(f))) != 0) {
		if (nf != 2 || strcmp(f[0], user) != 0)
			continue;
		if (strncmp(f[1], "{crypt}", 7) == 0) {
			r = SEC_CRYPT;
			f[1] += 7;
		} else
			r = SEC_PLAIN;
		if (strlen(f[1]) >= n || strlen(f[1]) > LIM_SECRET) {
			seterr("secrets: %s: secret too long", user);
			r = -1;
		} else
			strcpy(buf, f[1]);
		break;
	}
	keys_freetext(text, len);
	return r;
}

int
secrets_equal(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b), i;
	unsigned d = na != nb;

	for (i = 0; i < nb; i++)
		d |= (unsigned char)(i < na ? a[i] : 0) ^ (unsigned char)b[i];
	return d == 0;
}

int
secrets_verify(const char *user, const char *pass)
{
	char secret[LIM_SECRET + 1], h[LIM_CRYPTOUT];
	int r;

	r = secrets_get(user, secret, sizeof secret);
	if (r == SEC_PLAIN)
		r = secrets_equal(pass, secret);
	else if (r == SEC_CRYPT) {
		if (sha_crypt(pass, secret, h, sizeof h) == NULL) {
			seterr("secrets: %s: not a $5$ or $6$ hash", user);
			r = -1;
		} else
			r = secrets_equal(h, secret);
	}
	explicit_bzero(secret, sizeof secret);
	return r;
}
