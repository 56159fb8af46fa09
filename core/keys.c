/* Client credentials from box/USER/keys, in Plan 9 factotum's key syntax. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core.h"
#include "keys.h"

typedef struct Attr {
	char *name;	/* with its '!' when secret */
	char *val;	/* NULL for a bare attribute */
} Attr;

/* Checked on the descriptor read from, so no rename between check and read slips past. */
char *
keys_readfile(const char *path, size_t max, size_t *len)
{
	struct stat st;
	char *buf;
	size_t n = 0;
	ssize_t r = 0;
	int fd, e = EACCES;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)) < 0) {
		e = errno;
		if (e == ELOOP)
			seterr("%s: a symbolic link", path);
		else
			seterr("%s:", path);
		errno = e;
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		e = errno;
		seterr("%s:", path);
		close(fd);
		errno = e;
		return NULL;
	}
	if (!S_ISREG(st.st_mode))
		seterr("%s: not a regular file", path);
	else if (st.st_uid != geteuid() && st.st_uid != 0)
		seterr("%s: owned by uid %u, not by %u or root", path, (unsigned)st.st_uid, (unsigned)geteuid());
	else if (st.st_mode & 077)
		seterr("%s: mode %03o: group or other may read it", path, (unsigned)(st.st_mode & 0777));
	else if ((uint64_t)st.st_size > max)
		seterr("%s: larger than %zu bytes", path, max);
	else {
		/* one byte more than allowed shows a file that grew since fstat */
		buf = xmalloc(max + 1);
		while (n <= max && (r = read(fd, buf + n, max + 1 - n)) != 0) {
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				e = errno;
				seterr("%s:", path);
				break;
			}
			n += r;
		}
		if (n <= max && r == 0) {
			close(fd);
			buf[n] = 0;
			*len = n;
			return buf;
		}
		if (n > max)
			seterr("%s: larger than %zu bytes", path, max);
		explicit_bzero(buf, max + 1);
		free(buf);
		close(fd);
		errno = e;
		return NULL;
	}
	close(fd);
	errno = EACCES;	/* refused, not missing */
	return NULL;
}

void
keys_freetext(char *text, size_t len)
{
	if (text == NULL)
		return;
	explicit_bzero(text, len + 1);
	free(text);
}

void
keys_wipe(Key *k)
{
	explicit_bzero(k, sizeof *k);
}

static int
blank(int c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/*
 * Split a line into attributes in place, as factotum and rc quote: words
 * are separated by blanks, a quote may open anywhere in a word and runs to
 * the next lone quote, '' inside quotes is one quote, and a '#' opening a
 * word starts a comment. Each word is attr=value (split at its first '=',
 * once unquoted) or a bare attr; a leading "key" is dropped.
 */
static int
parse(char *s, Attr *a, int max, const char **why)
{
	char *w, *word, *eq;
	int n = 0, first = 1, q, i;

	for (;;) {
		while (blank(*s))
			s++;
		if (*s == 0 || *s == '#')
			return n;
		word = w = s;
		for (q = 0; *s && (q || !blank(*s)); ) {
			if (*s != '\'')
				*w++ = *s++;
			else if (q && s[1] == '\'') {
				*w++ = '\'';
				s += 2;
			} else {
				q = !q;
				s++;
			}
		}
		if (q) {
			*why = "unterminated quote";
			return -1;
		}
		if (*s)
			s++;
		*w = 0;
		if (first && strcmp(word, "key") == 0) {
			first = 0;
			continue;
		}
		first = 0;
		if (n == max) {
			*why = "too many attributes";
			return -1;
		}
		if ((eq = strchr(word, '=')) != NULL)
			*eq++ = 0;
		if (*word == 0) {
			*why = "attribute without a name";
			return -1;
		}
		for (i = 0; i < n; i++)
			if (strcmp(a[i].name, word) == 0) {
				*why = "an attribute given twice";
				return -1;
			}
		a[n].name = word;
		a[n].val = eq;
		n++;
	}
}

static const char *
attr(Attr *a, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(a[i].name, name) == 0)
			return a[i].val;
	return NULL;
}

/* 1 the key answers the query (k filled), 0 it does not, -1 it would but cannot: why says. */
static int
match(Attr *a, int n, const char *service, const char *server, const char *wantuser, Key *k, const char **why)
{
	const char *v, *user, *pw;

	if ((v = attr(a, n, "proto")) == NULL || strcmp(v, "pass") != 0
	    || (v = attr(a, n, "service")) == NULL || strcmp(v, service) != 0
	    || (v = attr(a, n, "server")) == NULL || strcasecmp(v, server) != 0)
		return 0;
	if ((user = attr(a, n, "user")) == NULL)
		*why = "no user";
	else if (wantuser != NULL && strcmp(user, wantuser) != 0)
		return 0;
	else if ((pw = attr(a, n, "!password")) == NULL)
		*why = "no !password";
	else if (strlen(user) > LIM_AUTHUSER)
		*why = "user too long";
	else if (strlen(pw) > LIM_SECRET)
		*why = "!password too long";
	else {
		strcpy(k->user, user);
		strcpy(k->password, pw);
		return 1;
	}
	return -1;
}

/*
 * When no key answers, lasterr names the first line skipped for a key that
 * would have, else the first line that could not be read, else the query.
 */
int
keys_find(const char *owner, const char *service, const char *server, const char *wantuser, Key *k)
{
	char path[LIM_PATHNAME], *text, *p, *e, *end;
	const char *why = "unreadable";
	Attr a[LIM_KEYATTRS];
	size_t len;
	int n, r, line = 0, found = 0, rank, bad = 0;

	keys_wipe(k);
	if (!name_ok(owner)) {
		seterr("keys: bad box name");
		return -1;
	}
	if (upas_path(path, sizeof path, "box", owner, "keys", NULL) < 0)
		return -1;
	if ((text = keys_readfile(path, LIM_KEYSFILE, &len)) == NULL)
		return errno == ENOENT ? 0 : -1;
	end = text + len;
	for (p = text; p < end && !found; p = e + 1) {
		line++;
		if ((e = memchr(p, '\n', end - p)) == NULL)
			e = end;
		*e = 0;
		rank = 1;
		if (strlen(p) != (size_t)(e - p))
			why = "a NUL byte";
		else if ((n = parse(p, a, nelem(a), &why)) < 0)
			;
		else if ((r = match(a, n, service, server, wantuser, k, &why)) >= 0) {
			found = r;
			continue;
		} else
			rank = 2;
		if (rank > bad) {
			seterr("%s:%d: %s: key skipped", path, line, why);
			bad = rank;
		}
	}
	keys_freetext(text, len);
	if (!found && !bad)
		seterr("%s: no key for proto=pass service=%s server=%s%s%s", path, service, server,
		    wantuser ? " user=" : "", wantuser ? wantuser : "");
	return found;
}
