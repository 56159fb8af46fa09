#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core.h"

#ifndef MAILROOT
#define MAILROOT "/mail"
#endif

const char *
upas_root(void)
{
	const char *r = getenv("UPASROOT");

	return r && r[0] == '/' ? r : MAILROOT;
}

/*
 * A name that may become one path component: not empty, not . or ..,
 * no slash, no control characters, not longer than a file name.
 */
int
name_ok(const char *s)
{
	size_t n = 0;

	if (s == NULL || *s == 0 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return 0;
	for (; s[n]; n++)
		if (s[n] == '/' || (unsigned char)s[n] < ' ' || s[n] == 0x7f)
			return 0;
	return n <= 255;
}

/*
 * A path built from rules and addresses: no empty, "." or ".." component and
 * no control characters, so text from an address cannot climb out of the
 * directory a rule names, nor alias another file in it.
 */
int
path_clean(const char *p)
{
	const char *c = p, *e;

	if (*p == '/')
		c++;
	for (;;) {
		e = strchr(c, '/');
		if (e == NULL)
			e = c + strlen(c);
		if (e == c || (e - c == 1 && c[0] == '.') || (e - c == 2 && c[0] == '.' && c[1] == '.'))
			return 0;
		for (; c < e; c++)
			if ((unsigned char)*c < ' ' || *c == 0x7f)
				return 0;
		if (*e == 0)
			return 1;
		c = e + 1;
	}
}

/* ROOT/c1/c2/...: each component must pass name_ok. */
int
upas_path(char *buf, size_t n, ...)
{
	const char *root = upas_root(), *c;
	size_t l = strlen(root), k;
	va_list ap;

	if (l >= n) {
		seterr("path too long");
		return -1;
	}
	memcpy(buf, root, l + 1);
	va_start(ap, n);
	while ((c = va_arg(ap, const char *)) != NULL) {
		if (!name_ok(c)) {
			va_end(ap);
			seterr("bad name in path");
			return -1;
		}
		k = strlen(c);
		if (l + 1 + k >= n) {
			va_end(ap);
			seterr("path too long");
			return -1;
		}
		if (l == 0 || buf[l - 1] != '/')
			buf[l++] = '/';
		memcpy(buf + l, c, k + 1);
		l += k;
	}
	va_end(ap);
	return 0;
}

/*
 * The whole of a regular file of at most max bytes, NUL-terminated. errno
 * says why not: ELOOP a symlink (readfileat), EFBIG too large or not a
 * regular file (FIFOs never block: O_NONBLOCK), else the open or read error.
 */
static char *
slurp(int dfd, const char *name, int flags, size_t max, size_t *len, Str *into)
{
	struct stat st;
	char *buf;
	size_t n = 0;
	ssize_t r;
	int fd, e;

	if ((fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | flags)) < 0) {
		e = errno;
		seterr("%s:", name);
		errno = e;
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
		seterr("%s: %s", name, S_ISREG(st.st_mode) ? "too large" : "not a regular file");
		close(fd);
		errno = EFBIG;
		return NULL;
	}
	if (into != NULL) {
		str_reserve(into, st.st_size);
		buf = into->p + into->n;
	} else
		buf = xmalloc((size_t)st.st_size + 1);
	while (n < (size_t)st.st_size && (r = read(fd, buf + n, st.st_size - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			e = errno;
			seterr("%s:", name);
			if (into == NULL)
				free(buf);
			else
				into->p[into->n] = 0;
			close(fd);
			errno = e;
			return NULL;
		}
		n += r;
	}
	close(fd);
	buf[n] = 0;
	if (len)
		*len = n;
	if (into != NULL)
		into->n += n;
	return buf;
}

/* Config files may be symlinks (an operator's choice); mail files may not. */
char *
readfile(const char *path, size_t max, size_t *len)
{
	return slurp(AT_FDCWD, path, 0, max, len, NULL);
}

char *
readfileat(int dfd, const char *name, size_t max, size_t *len)
{
	return slurp(dfd, name, O_NOFOLLOW, max, len, NULL);
}

int
readfileinto(int dfd, const char *name, size_t max, Str *out)
{
	return slurp(dfd, name, O_NOFOLLOW, max, NULL, out) == NULL ? -1 : 0;
}
