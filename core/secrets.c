/* Credentials for SMTP AUTH from lib/secrets; crypt hashes are checked by tls/digest.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core.h"
#include "digest.h"
#include "secrets.h"

/* The file's text, checked on the descriptor read from, so no rename slips past. */
static char *
load(size_t *len)
{
	char path[LIM_PATHNAME];
	struct stat st;
	char *buf = NULL;
	ssize_t r;
	size_t n = 0;
	int fd;

	if (upas_path(path, sizeof path, "lib", "secrets", NULL) < 0)
		return NULL;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0) {
		seterr("%s:", path);
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		seterr("%s:", path);
		close(fd);
		return NULL;
	}
	errno = EACCES;	/* refused by the checks below, not missing */
	if (!S_ISREG(st.st_mode))
		seterr("%s: not a regular file", path);
	else if (st.st_uid != geteuid() && st.st_uid != 0)
		seterr("%s: owned by uid %u, not by %u or root", path, (unsigned)st.st_uid, (unsigned)geteuid());
	else if (st.st_mode & 077)
		seterr("%s: mode %03o: group or other may read it", path, (unsigned)(st.st_mode & 0777));
	else if (st.st_size > LIM_SECRETS)
		seterr("%s: larger than %d bytes", path, LIM_SECRETS);
	else {
		buf = xmalloc(LIM_SECRETS + 1);
		while (n < LIM_SECRETS && (r = read(fd, buf + n, LIM_SECRETS - n)) != 0) {
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				seterr("%s:", path);
				free(buf);
				buf = NULL;
				break;
			}
			n += r;
		}
		if (buf != NULL) {
			buf[n] = 0;
			*len = n;
		}
	}
	close(fd);
	return buf;
}

int
secrets_usable(void)
{
	size_t n;
	char *p;

	if ((p = load(&n)) == NULL)
		return -1;
	free(p);
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
	conf_close(&c);
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
