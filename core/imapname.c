/*
 * IMAP mailbox names (RFC 3501 §5.1): modified UTF-7 on the wire, UTF-8 on
 * disk under box/USER, '/' the separator; LIST, LSUB, imap.subscribed,
 * CREATE, DELETE and RENAME. The layout (docs/mailbox.5, FOLDERS): INBOX
 * is box/USER/mbox; every other folder is a file or directory below
 * box/USER. A file is an mbox (empty, or starting "From ") and holds no
 * other mailbox; every directory is a mailbox (Maildir, else mdir, as
 * mb_type says) that may hold others, a Maildir only directories. Names
 * upas and the formats use for other things are never listed nor accepted,
 * and no symbolic link below box/USER is followed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "imap.h"
#include "mbox.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#endif

enum {
	ODIR = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
	PATW = (LIM_PATHNAME + 63) / 64,	/* words of a pattern's state set */
};

static const char SUBS[] = "imap.subscribed";
static const char SUBSTMP[] = "imap-tmp.subscribed";
static const char SUBSDEF[] = "#imap4 subscription list\nINBOX\n";
static const char *const sides[] = { ".idx", ".imp", ".journal" };

/*
 * Names that are no folder: =name and ~name (any case) only at the top,
 * /name only below it (Maildir's own directories), ^prefix and $suffix
 * everywhere. Dot names and mdir message names are refused in code.
 */
static const char *const notbox[] = {
	"=dead.letter", "=forward", "=headers", "=imap.subscribed", "~inbox", "=keys",
	"=mbox", "=names", "=nospamfiltering", "=pipefrom", "=pipeto",
	"/cur", "/new", "/tmp",
	"^L.", "^gone.", "^imap-tmp.",
	"$-", "$.00", "$.idx", "$.imp", "$.lock",
};

/* RFC 6154 attributes of top-level folders by name (any case). */
static const struct {
	const char *name, *attr;
} special[] = {
	{ "Archive", "\\Archive" }, { "Deleted Items", "\\Trash" }, { "Deleted Messages", "\\Trash" },
	{ "Drafts", "\\Drafts" }, { "Junk", "\\Junk" }, { "Sent", "\\Sent" }, { "Sent Items", "\\Sent" },
	{ "Sent Messages", "\\Sent" }, { "Spam", "\\Junk" }, { "Trash", "\\Trash" },
};

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int
refuse(int e, const char *msg)
{
	seterr("%s", msg);
	errno = e;
	return -1;
}

/* One code point of strict UTF-8 at s: its length, or 0 (*c = U+FFFD). */
static int
utf8get(const unsigned char *s, size_t n, unsigned *c)
{
	unsigned v, min;
	size_t k, i;

	*c = 0xfffd;
	if (s[0] < 0x80) {
		*c = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0)
		k = 2, v = s[0] & 0x1f, min = 0x80;
	else if ((s[0] & 0xf0) == 0xe0)
		k = 3, v = s[0] & 0x0f, min = 0x800;
	else if ((s[0] & 0xf8) == 0xf0)
		k = 4, v = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	if (k > n)
		return 0;
	for (i = 1; i < k; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v < 0xe000))
		return 0;
	*c = v;
	return k;
}

static int
utf8ok(const char *s, size_t n)
{
	unsigned c;
	size_t i, k;

	for (i = 0; i < n; i += k)
		if ((k = utf8get((const unsigned char *)s + i, n - i, &c)) == 0)
			return 0;
	return 1;
}

void
imap_mutf7_encode(const char *utf8, size_t n, Str *out)
{
	const unsigned char *s = (const unsigned char *)utf8;
	unsigned c, u[2], bits = 0, nbits = 0;
	int run = 0, nu, j;
	size_t i, k;

	str_addn(out, "", 0);
	for (i = 0; i < n; i += k) {
		if ((k = utf8get(s + i, n - i, &c)) == 0)
			k = 1;
		if (c >= 0x20 && c < 0x7f) {
			if (run) {
				if (nbits > 0)
					str_addc(out, b64[bits << (6 - nbits) & 63]);
				str_addc(out, '-');
				run = 0;
			}
			if (c == '&')
				str_adds(out, "&-");
			else
				str_addc(out, c);
			continue;
		}
		if (!run) {
			str_addc(out, '&');
			run = 1;
			bits = nbits = 0;
		}
		nu = 1;
		u[0] = c;
		if (c >= 0x10000) {
			u[0] = 0xd800 | (c - 0x10000) >> 10;
			u[1] = 0xdc00 | (c & 0x3ff);
			nu = 2;
		}
		for (j = 0; j < nu; j++) {
			bits = bits << 16 | u[j];
			for (nbits += 16; nbits >= 6; nbits -= 6)
				str_addc(out, b64[bits >> (nbits - 6) & 63]);
			bits &= (1u << nbits) - 1;
		}
	}
	if (run) {
		if (nbits > 0)
			str_addc(out, b64[bits << (6 - nbits) & 63]);
		str_addc(out, '-');
	}
}

/*
 * Modified UTF-7 to UTF-8. Only the canonical form is accepted (what the
 * encoder makes of the result: no printable ASCII encoded, no adjacent or
 * empty runs, no stray bits), so that a mailbox has one name on the wire.
 */
int
imap_mutf7_decode(const char *in, size_t n, Str *out)
{
	size_t start = out->n, i;
	unsigned bits, nbits, u, hi;
	const char *p;
	Str re = { 0 };
	int ok = 0;

	str_addn(out, "", 0);
	for (i = 0; i < n; i++) {
		if (in[i] < 0x20 || in[i] > 0x7e)
			goto bad;
		if (in[i] != '&') {
			str_addc(out, in[i]);
			continue;
		}
		if (i + 1 < n && in[i + 1] == '-') {
			str_addc(out, '&');
			i++;
			continue;
		}
		bits = nbits = hi = 0;
		for (i++; i < n && in[i] != '-'; i++) {
			if (in[i] == 0 || (p = strchr(b64, in[i])) == NULL)
				goto bad;
			bits = bits << 6 | (unsigned)(p - b64);
			if ((nbits += 6) < 16)
				continue;
			nbits -= 16;
			u = bits >> nbits & 0xffff;
			bits &= (1u << nbits) - 1;
			if (hi) {
				if (u < 0xdc00 || u > 0xdfff)
					goto bad;
				utf8_put(out, 0x10000 + ((hi - 0xd800) << 10) + (u - 0xdc00));
				hi = 0;
			} else if (u >= 0xd800 && u < 0xdc00)
				hi = u;
			else if (u == 0 || (u >= 0xdc00 && u < 0xe000))
				goto bad;
			else
				utf8_put(out, u);
		}
		if (i >= n || hi)
			goto bad;
	}
	imap_mutf7_encode(out->p + start, out->n - start, &re);
	ok = re.n == n && memcmp(re.p, in, n) == 0;
bad:
	str_free(&re);
	if (ok)
		return 0;
	out->n = start;
	out->p[start] = 0;
	return -1;
}

static int
isinbox(const char *s)
{
	return strncasecmp(s, "INBOX", 5) == 0 && (s[5] == 0 || s[5] == '/');
}

/* An mdir message or its temporary: "secs.NN" or "secs.NN.tmp", secs >= 1e6. */
static int
mdirmsg(const char *s)
{
	char *e;

	if (*s < '0' || *s > '9' || strtoull(s, &e, 10) < 1000000 || *e != '.' || e[1] < '0' || e[1] > '9')
		return 0;
	strtoul(e + 1, &e, 10);
	return *e == 0 || strcmp(e, ".tmp") == 0;
}

/* May s, a component at the top of box/USER or below, name a folder. */
static int
nameok(const char *s, int top)
{
	size_t n = strlen(s), i, k;
	const char *t;

	if (n == 0 || n > 255 || s[0] == '.' || !utf8ok(s, n) || (!top && mdirmsg(s)))
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < ' ' || s[i] == 0x7f)
			return 0;
	for (i = 0; i < nelem(notbox); i++) {
		t = notbox[i] + 1;
		k = strlen(t);
		switch (notbox[i][0]) {
		case '=':
			if (top && strcmp(s, t) == 0)
				return 0;
			break;
		case '~':
			if (top && strcasecmp(s, t) == 0)
				return 0;
			break;
		case '/':
			if (!top && strcmp(s, t) == 0)
				return 0;
			break;
		case '^':
			if (strncmp(s, t, k) == 0)
				return 0;
			break;
		default:
			if (n >= k && strcmp(s + n - k, t) == 0)
				return 0;
		}
	}
	return 1;
}

/* A wire name made canonical UTF-8 in out (INBOX upper case), every part checked. */
static int
wirename(const char *wire, char *out)
{
	Str s = { 0 };
	char *c, *e;
	int depth = 0, ok = 1;
	size_t n = strlen(wire);

	if (n >= 8 * LIM_PATHNAME || imap_mutf7_decode(wire, n, &s) < 0) {
		str_free(&s);
		return refuse(EINVAL, "mailbox name not in modified UTF-7");
	}
	if (s.n == 0 || s.n >= LIM_PATHNAME) {
		str_free(&s);
		return refuse(EINVAL, "mailbox name empty or too long");
	}
	if (isinbox(s.p))
		memcpy(s.p, "INBOX", 5);
	for (c = s.p; ok; c = e + 1) {
		if ((e = strchr(c, '/')) != NULL)
			*e = 0;
		ok = (depth == 0 && strcmp(c, "INBOX") == 0) || nameok(c, depth == 0);
		depth++;
		if (e == NULL)
			break;
		*e = '/';
	}
	if (ok && depth <= LIM_IMAPNAMEDEPTH)
		memcpy(out, s.p, s.n + 1);
	str_free(&s);
	if (!ok)
		return refuse(EINVAL, "mailbox name with an empty, reserved or invalid part");
	if (depth > LIM_IMAPNAMEDEPTH)
		return refuse(EINVAL, "mailbox name nested too deep");
	return 0;
}

static int
userdir(const char *user)
{
	char p[LIM_PATHNAME];
	int fd;

	if (upas_path(p, sizeof p, "box", user, NULL) < 0)
		return -1;
	if ((fd = open(p, ODIR)) < 0)
		seterr("%s:", p);
	return fd;
}

static DIR *
opendirat(int fd)
{
	int d = openat(fd, ".", ODIR);
	DIR *dir;

	if (d < 0)
		return NULL;
	if ((dir = fdopendir(d)) == NULL)
		close(d);
	return dir;
}

/* A regular file that an mbox may be: empty, or starting with a From line. */
static int
mboxfile(int dfd, const char *name, const struct stat *st)
{
	char b[5];
	int fd, r;

	if (st->st_size == 0)
		return 1;
	if ((fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)) < 0)
		return 0;
	r = pread(fd, b, 5, 0) == 5 && memcmp(b, "From ", 5) == 0;
	close(fd);
	return r;
}

static int
dirkind(int fd)
{
	static const char *const sub[] = { "cur", "new", "tmp" };
	struct stat st;
	size_t i;

	for (i = 0; i < nelem(sub); i++)
		if (fstatat(fd, sub[i], &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
			return MB_MDIR;
	return MB_MAILDIR;
}

/*
 * The kind of mailbox dfd/name is (0: none). In a Maildir only directories
 * count. With fdp a directory is opened there and its kind told;
 * without, it is just MB_MDIR.
 */
static int
classify(int dfd, const char *name, int inmaildir, int *fdp)
{
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	if (S_ISREG(st.st_mode))
		return !inmaildir && mboxfile(dfd, name, &st) ? MB_MBOX : 0;
	if (!S_ISDIR(st.st_mode))
		return 0;
	if (fdp == NULL)
		return MB_MDIR;
	if ((*fdp = openat(dfd, name, ODIR)) < 0)
		return 0;
	return dirkind(*fdp);
}

/* ---- LIST patterns: a bit-parallel automaton, linear in the name ---- */

typedef struct Pat {
	int w, m;		/* words of a state set; states 0..m */
	int fold;		/* INBOX matches in any case: the pattern starts as it does */
	uint64_t lit[256][PATW];	/* states a byte leads to */
	uint64_t star[PATW], pct[PATW];	/* states that loop on any byte, on any but '/' */
	uint64_t wild[PATW];	/* states before a wildcard, which may skip it */
} Pat;

#define SETBIT(a, i) ((a)[(i) >> 6] |= 1ULL << ((i) & 63))

/* Runs of wildcards become one: '*' if any, else '%'. */
static Pat *
patcomp(const char *s, size_t n)
{
	Pat *p;
	size_t i, j = 0;
	int c, prev = 0;

	if (n >= LIM_PATHNAME)
		return NULL;
	p = xmalloc(sizeof *p);
	memset(p, 0, sizeof *p);
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '*' || c == '%') {
			if (prev) {
				if (c == '*') {
					p->pct[j >> 6] &= ~(1ULL << (j & 63));
					SETBIT(p->star, j);
				}
				continue;
			}
			SETBIT(p->wild, j);
			if (c == '*')
				SETBIT(p->star, j + 1);
			else
				SETBIT(p->pct, j + 1);
		} else
			SETBIT(p->lit[c], j + 1);
		prev = c == '*' || c == '%';
		j++;
	}
	p->m = j;
	p->w = j / 64 + 1;
	for (i = 0; i < n && i < 5 && s[i] != '*' && s[i] != '%'; i++)
		;
	p->fold = i > 0 && strncasecmp(s, "INBOX", i) == 0;
	return p;
}

/* Follow the wildcards that may match nothing (one step: they never adjoin). */
static void
patclose(const Pat *p, uint64_t *d)
{
	uint64_t x, carry = 0;
	int i;

	for (i = 0; i < p->w; i++) {
		x = d[i] & p->wild[i];
		d[i] |= x << 1 | carry;
		carry = x >> 63;
	}
}

static void
patinit(const Pat *p, uint64_t *d)
{
	memset(d, 0, PATW * sizeof *d);
	d[0] = 1;
	patclose(p, d);
}

/* Read byte c (any case if fold); 0 when no state is left. */
static int
patstep(const Pat *p, uint64_t *d, int c, int fold)
{
	const uint64_t *l = p->lit[c & 255], *l2 = l;
	uint64_t x, carry = 0, any = 0;
	int i;

	if (fold && ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'))
		l2 = p->lit[c ^ 0x20];
	for (i = 0; i < p->w; i++) {
		x = d[i];
		d[i] = ((x << 1 | carry) & (l[i] | l2[i])) | (x & p->star[i]) | (c != '/' ? x & p->pct[i] : 0);
		carry = x >> 63;
	}
	patclose(p, d);
	for (i = 0; i < p->w; i++)
		any |= d[i];
	return any != 0;
}

/* Read s[0..n), its first fold bytes in any case. */
static int
patfeed(const Pat *p, uint64_t *d, const char *s, size_t n, size_t fold)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!patstep(p, d, (unsigned char)s[i], i < fold))
			return 0;
	return 1;
}

static int
patok(const Pat *p, const uint64_t *d)
{
	return d[p->m >> 6] >> (p->m & 63) & 1;
}

int
imap_match(const char *pat, const char *name)
{
	Pat *p = patcomp(pat, strlen(pat));
	uint64_t d[PATW];
	int r;

	if (p == NULL)
		return 0;
	patinit(p, d);
	r = patfeed(p, d, name, strlen(name), p->fold && isinbox(name) ? 5 : 0) && patok(p, d);
	free(p);
	return r;
}

/* ref and pat as one pattern in UTF-8; *pp NULL if it can match nothing. */
static int
listpat(const char *ref, const char *pat, Pat **pp)
{
	Str w = { 0 }, u = { 0 };
	int r = 0;

	*pp = NULL;
	str_adds(&w, ref);
	str_adds(&w, pat);
	if (w.n >= 8 * LIM_PATHNAME)
		r = refuse(EINVAL, "pattern too long");
	else if (imap_mutf7_decode(w.p, w.n, &u) == 0) {
		if (u.n >= LIM_PATHNAME)
			r = refuse(EINVAL, "pattern too long");
		else
			*pp = patcomp(u.p, u.n);
	}
	str_free(&w);
	str_free(&u);
	return r;
}

/* ---- subscriptions ---- */

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

typedef struct Subs {
	Arena ar;
	char **v;
	int n;
} Subs;

/* A line of imap.subscribed as a canonical name in out, or 0 to skip it. */
static int
subsline(const char *p, size_t n, char *out)
{
	size_t i;

	if (n > 0 && p[n - 1] == '\n')
		n--;
	if (n > 0 && p[n - 1] == '\r')
		n--;
	if (n == 0 || p[0] == '#' || n >= LIM_PATHNAME || !utf8ok(p, n))
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] < ' ' || p[i] == 0x7f)
			return 0;
	memcpy(out, p, n);
	out[n] = 0;
	if (isinbox(out))
		memcpy(out, "INBOX", 5);
	return 1;
}

static int
subswrite(int ufd, const char *p, size_t n)
{
	int fd;

	unlinkat(ufd, SUBSTMP, 0);
	if ((fd = openat(ufd, SUBSTMP, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
		seterr("%s:", SUBS);
		return -1;
	}
	if (mb_writeall(fd, p, n) < 0 || fsync(fd) < 0) {
		seterr("%s:", SUBS);
		close(fd);
		unlinkat(ufd, SUBSTMP, 0);
		return -1;
	}
	close(fd);
	if (renameat(ufd, SUBSTMP, ufd, SUBS) < 0 || mb_fsyncdir(ufd, "") < 0) {
		seterr("%s:", SUBS);
		unlinkat(ufd, SUBSTMP, 0);
		return -1;
	}
	return 0;
}

/*
 * The text of imap.subscribed, the default when it is missing; with
 * create the default is written then, under the directory's lock (held
 * until ufd is closed), so that it never replaces another's update.
 */
static int
substext(int ufd, int create, Str *text)
{
	size_t n;
	char *p;

	p = readfileat(ufd, SUBS, LIM_IMAPSUBS, &n);
	if (p == NULL && errno == ENOENT && create) {
		if (mb_flockdir(ufd, SUBS) < 0)
			return -1;
		p = readfileat(ufd, SUBS, LIM_IMAPSUBS, &n);
	}
	if (p == NULL && errno != ENOENT)
		return -1;
	if (p == NULL) {
		if (create && subswrite(ufd, SUBSDEF, strlen(SUBSDEF)) < 0)
			logmsg("imap4d", "%s", lasterr());	/* a read-only box still lists INBOX */
		p = xstrdup(SUBSDEF);
		n = strlen(p);
	}
	str_addn(text, p, n);
	free(p);
	return 0;
}

/* The subscribed names, sorted, each once. */
static int
subsload(int ufd, int create, Subs *s)
{
	char name[LIM_PATHNAME], *p, *e, *end;
	Str t = { 0 };
	int a = 0, i, j;

	memset(s, 0, sizeof *s);
	if (substext(ufd, create, &t) < 0)
		return -1;
	end = t.p + t.n;
	for (p = t.p; p < end && s->n < LIM_IMAPLIST; p = e) {
		e = memchr(p, '\n', end - p);
		e = e ? e + 1 : end;
		if (!subsline(p, e - p, name))
			continue;
		if (s->n == a)
			s->v = xrealloc(s->v, (a = a ? 2 * a : 16) * sizeof *s->v);
		s->v[s->n++] = arena_strdup(&s->ar, name);
	}
	str_free(&t);
	if (s->n > 0)
		qsort(s->v, s->n, sizeof *s->v, cmpstr);
	for (i = j = 0; i < s->n; i++)
		if (j == 0 || strcmp(s->v[j - 1], s->v[i]) != 0)
			s->v[j++] = s->v[i];
	s->n = j;
	return 0;
}

static void
subsfree(Subs *s)
{
	arena_free(&s->ar);
	free(s->v);
}

int
imap_subscribed(const char *user, const char *name)
{
	char canon[LIM_PATHNAME];
	Str u = { 0 };
	Subs s;
	int ufd, r = 0;

	if (imap_mutf7_decode(name, strlen(name), &u) < 0 || !subsline(u.p, u.n, canon)) {
		str_free(&u);
		return refuse(EINVAL, "mailbox name not in modified UTF-7");
	}
	str_free(&u);
	if ((ufd = userdir(user)) < 0)
		return -1;
	if (subsload(ufd, 0, &s) < 0)
		r = -1;
	else {
		r = bsearch(&(char *){ canon }, s.v, s.n, sizeof *s.v, cmpstr) != NULL;
		subsfree(&s);
	}
	close(ufd);
	return r;
}

/* Lines naming the mailbox go; a new one goes at the end; the rest stays as written. */
int
imap_subscribe(const char *user, const char *name, int on)
{
	char canon[LIM_PATHNAME], line[LIM_PATHNAME], *p, *e, *end;
	Str text = { 0 }, out = { 0 };
	int ufd, found = 0, r = -1;

	if (wirename(name, canon) < 0 || (ufd = userdir(user)) < 0)
		return -1;
	if (mb_flockdir(ufd, SUBS) < 0 || substext(ufd, 1, &text) < 0)
		goto out;
	end = text.p + text.n;
	for (p = text.p; p < end; p = e) {
		e = memchr(p, '\n', end - p);
		e = e ? e + 1 : end;
		if (subsline(p, e - p, line) && strcmp(line, canon) == 0) {
			found = 1;
			if (!on)
				continue;
		}
		str_addn(&out, p, e - p);
	}
	if (on && found)
		r = 0;
	else if (!on && !found)
		refuse(ENOENT, "not subscribed");
	else {
		if (on) {
			if (out.n > 0 && out.p[out.n - 1] != '\n')
				str_addc(&out, '\n');
			str_adds(&out, canon);
			str_addc(&out, '\n');
		}
		r = subswrite(ufd, out.p ? out.p : "", out.n);
	}
out:
	close(ufd);
	str_free(&text);
	str_free(&out);
	return r;
}

/* ---- LIST ---- */

typedef struct Walk {
	Pat *pat;
	Imaplistfn *fn;
	void *arg;
	Subs *subs;
	int nlisted, nseen;
	char name[LIM_PATHNAME];	/* the mailbox at hand, UTF-8 */
	Str wire;
} Walk;

/* The names in directory fd that may be folders, sorted; -1 past LIM_IMAPSCAN. */
static int
dirnames(Walk *w, int fd, int top, char ***vp)
{
	struct dirent *e;
	char **v = NULL;
	int n = 0, a = 0;
	DIR *d;

	*vp = NULL;
	if ((d = opendirat(fd)) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (!nameok(e->d_name, top))
			continue;
		if (++w->nseen > LIM_IMAPSCAN) {
			closedir(d);
			while (n > 0)
				free(v[--n]);
			free(v);
			return refuse(E2BIG, "too many files to list");
		}
		if (n == a)
			v = xrealloc(v, (a = a ? 2 * a : 16) * sizeof *v);
		v[n++] = xstrdup(e->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(v, n, sizeof *v, cmpstr);
	*vp = v;
	return n;
}

/* Does directory fd, a mailbox of that kind at that depth, hold another. */
static int
haschild(Walk *w, int fd, int kind, int depth)
{
	struct dirent *e;
	int r = 0;
	DIR *d;

	if (depth >= LIM_IMAPNAMEDEPTH || (d = opendirat(fd)) == NULL)
		return 0;
	while (r == 0 && (e = readdir(d)) != NULL)
		if (nameok(e->d_name, 0) && w->nseen++ < LIM_IMAPSCAN)
			r = classify(fd, e->d_name, kind == MB_MAILDIR, NULL) != 0;
	closedir(d);
	return r;
}

/* w->name to fn: a file (fd < 0) or directory fd of that kind. */
static int
report(Walk *w, int fd, int kind, int depth)
{
	char a[128];
	size_t i;

	if (++w->nlisted > LIM_IMAPLIST)
		return refuse(E2BIG, "too many mailboxes to list");
	snprintf(a, sizeof a, "%s", fd < 0 ? "\\Noinferiors" :
	    haschild(w, fd, kind, depth) ? "\\HasChildren" : "\\HasNoChildren");
	for (i = 0; depth == 1 && i < nelem(special); i++)
		if (strcasecmp(w->name, special[i].name) == 0)
			snprintf(a + strlen(a), sizeof a - strlen(a), " %s", special[i].attr);
	if (w->subs && bsearch(&(char *){ w->name }, w->subs->v, w->subs->n, sizeof(char *), cmpstr))
		snprintf(a + strlen(a), sizeof a - strlen(a), " \\Subscribed");
	str_reset(&w->wire);
	imap_mutf7_encode(w->name, strlen(w->name), &w->wire);
	return w->fn(w->arg, w->wire.p, a);
}

/*
 * The mailboxes in directory fd (a mailbox of that kind, or box/USER),
 * whose names continue w->name[0..len); d0 is the pattern's state after
 * that prefix. A subtree is entered only while the pattern may still match.
 */
static int
walk(Walk *w, int fd, size_t len, const uint64_t *d0, int depth, int kind)
{
	uint64_t d[PATW];
	char **v;
	int n, i, r = 0, k, cfd;
	size_t nl;

	if ((n = dirnames(w, fd, depth == 1, &v)) < 0)
		return -1;
	for (i = 0; i < n && r == 0; i++) {
		nl = strlen(v[i]);
		memcpy(d, d0, sizeof d);
		if (len + nl + 1 >= LIM_PATHNAME || !patfeed(w->pat, d, v[i], nl, 0))
			continue;
		cfd = -1;
		if ((k = classify(fd, v[i], kind == MB_MAILDIR, &cfd)) == 0)
			continue;
		memcpy(w->name + len, v[i], nl + 1);
		if (patok(w->pat, d))
			r = report(w, cfd, k, depth);
		if (r == 0 && cfd >= 0 && depth < LIM_IMAPNAMEDEPTH && patstep(w->pat, d, '/', 0)) {
			memcpy(w->name + len + nl, "/", 2);
			r = walk(w, cfd, len + nl + 1, d, depth + 1, k);
		}
		if (cfd >= 0)
			close(cfd);
	}
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return r;
}

/* INBOX always, whatever box/USER/mbox is; its children if it is a directory. */
static int
listinbox(Walk *w, int ufd)
{
	uint64_t d[PATW];
	struct stat st;
	int fd = -1, kind = 0, r = 0;

	strcpy(w->name, "INBOX");
	patinit(w->pat, d);
	if (!patfeed(w->pat, d, "INBOX", 5, w->pat->fold ? 5 : 0))
		return 0;
	if (fstatat(ufd, "mbox", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode) &&
	    (fd = openat(ufd, "mbox", ODIR)) >= 0)
		kind = dirkind(fd);
	if (patok(w->pat, d))
		r = report(w, fd, kind, 1);
	if (r == 0 && fd >= 0 && patstep(w->pat, d, '/', 0)) {
		strcpy(w->name, "INBOX/");
		r = walk(w, fd, 6, d, 2, kind);
	}
	if (fd >= 0)
		close(fd);
	return r;
}

int
imap_listf(const char *user, const char *ref, const char *pat, int flags, Imaplistfn *fn, void *arg)
{
	uint64_t d[PATW];
	Subs subs;
	Walk w;
	int ufd, r;

	memset(&w, 0, sizeof w);
	if (listpat(ref, pat, &w.pat) < 0)
		return -1;
	if (w.pat == NULL)
		return 0;
	if ((ufd = userdir(user)) < 0) {
		free(w.pat);
		return -1;
	}
	w.fn = fn;
	w.arg = arg;
	if ((r = (flags & IMAP_LSUBSCRIBED) ? subsload(ufd, 0, &subs) : 0) == 0) {
		w.subs = (flags & IMAP_LSUBSCRIBED) ? &subs : NULL;
		if ((r = listinbox(&w, ufd)) == 0) {
			patinit(w.pat, d);
			r = walk(&w, ufd, 0, d, 1, 0);
		}
		if (w.subs)
			subsfree(w.subs);
	}
	close(ufd);
	free(w.pat);
	str_free(&w.wire);
	return r;
}

int
imap_list(const char *user, const char *ref, const char *pat, Imaplistfn *fn, void *arg)
{
	return imap_listf(user, ref, pat, 0, fn, arg);
}

typedef struct Lent {
	const char *name;
	size_t n;
	int noselect;
} Lent;

static int
cmplent(const void *a, const void *b)
{
	const Lent *x = a, *y = b;
	int c = memcmp(x->name, y->name, x->n < y->n ? x->n : y->n);

	if (c == 0 && x->n != y->n)
		c = x->n < y->n ? -1 : 1;
	return c ? c : x->noselect - y->noselect;
}

/*
 * Subscribed names matching, whether their mailboxes exist or not; a
 * parent of a subscribed name that does not match, itself unsubscribed
 * but matching (as "%" matches "a" of "a/b"), is told as \Noselect.
 */
int
imap_lsub(const char *user, const char *ref, const char *pat, Imaplistfn *fn, void *arg)
{
	uint64_t d[PATW];
	Lent *v = NULL;
	int n = 0, a = 0, i, k, ufd, r;
	Str wire = { 0 };
	const char *s;
	size_t j, l;
	Subs subs;
	Pat *p;

	if (listpat(ref, pat, &p) < 0)
		return -1;
	if (p == NULL)
		return 0;
	if ((ufd = userdir(user)) < 0 || (r = subsload(ufd, 1, &subs)) < 0) {
		if (ufd >= 0)
			close(ufd);
		free(p);
		return -1;
	}
	close(ufd);
	for (i = 0; i < subs.n && r == 0; i++) {
		s = subs.v[i];
		l = strlen(s);
		k = n;
		patinit(p, d);
		for (j = 0; j <= l && r == 0; j++) {
			if ((j == l || s[j] == '/') && patok(p, d)) {
				if (n >= LIM_IMAPLIST) {
					r = refuse(E2BIG, "too many mailboxes to list");
					break;
				}
				if (n == a)
					v = xrealloc(v, (a = a ? 2 * a : 16) * sizeof *v);
				v[n].name = s;
				v[n].n = j;
				v[n++].noselect = j < l;
			}
			if (j == l || !patstep(p, d, (unsigned char)s[j], p->fold && j < 5 && isinbox(s)))
				break;
		}
		if (n > k && v[n - 1].n == l) {
			v[k] = v[n - 1];
			n = k + 1;
		}
	}
	if (n > 0)
		qsort(v, n, sizeof *v, cmplent);
	for (i = 0; i < n && r == 0; i++) {
		if (i > 0 && v[i].n == v[i - 1].n && memcmp(v[i].name, v[i - 1].name, v[i].n) == 0)
			continue;
		str_reset(&wire);
		imap_mutf7_encode(v[i].name, v[i].n, &wire);
		r = fn(arg, wire.p, v[i].noselect ? "\\Noselect" : "");
	}
	free(v);
	str_free(&wire);
	subsfree(&subs);
	free(p);
	return r;
}

/* ---- a mailbox by name: its path walked without following links ---- */

typedef struct Where {
	int dfd;		/* the directory holding it; -1 when missing */
	int kind;		/* MB_* as it is, 0 when missing */
	int pkind;		/* the parent's: 0 for box/USER */
	int inbox;		/* the name is INBOX */
	char name[LIM_PATHNAME];	/* canonical UTF-8 */
	char path[LIM_PATHNAME];	/* ROOT/box/USER/..., INBOX as mbox */
	const char *base;	/* its last component, in path */
} Where;

/*
 * Find the wire name's mailbox, its parent directories made (0700) if mk.
 * 0 also when it or a parent is missing. A symbolic link anywhere, a
 * regular file that is not an mbox, and anything else is refused.
 */
static int
where(Where *w, const char *user, const char *wire, int mk)
{
	char *c, *e;
	struct stat st;
	int fd, ufd, inboxdir;
	size_t l;

	w->dfd = -1;
	w->kind = w->pkind = 0;
	if (wirename(wire, w->name) < 0 || upas_path(w->path, sizeof w->path, "box", user, NULL) < 0)
		return -1;
	w->inbox = strcmp(w->name, "INBOX") == 0;
	l = strlen(w->path);
	if (snprintf(w->path + l, sizeof w->path - l, "/%s%s", isinbox(w->name) ? "mbox" : "",
	    w->name + (isinbox(w->name) ? 5 : 0)) >= (int)(sizeof w->path - l))
		return refuse(ENAMETOOLONG, "mailbox name too long");
	if ((ufd = userdir(user)) < 0)
		return -1;
	w->dfd = ufd;
	w->base = strrchr(w->path, '/') + 1;
	for (c = w->path + l + 1; (e = strchr(c, '/')) != NULL; c = e + 1) {
		*e = 0;
		inboxdir = c == w->path + l + 1 && isinbox(w->name);
		fd = openat(w->dfd, c, ODIR);
		if (fd < 0 && errno == ENOENT && mk && !inboxdir && mkdirat(w->dfd, c, 0700) == 0) {
			mb_fsyncdir(w->dfd, "");
			fd = openat(w->dfd, c, ODIR);
		}
		if (fd < 0) {
			int err = errno, lnk = fstatat(w->dfd, c, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);

			*e = '/';
			close(w->dfd);
			w->dfd = -1;
			if (lnk)
				return refuse(ELOOP, "a symbolic link in the mailbox's path: refused");
			if (mk && inboxdir)
				return refuse(EINVAL, "INBOX is not a directory: it holds no other mailboxes");
			if (mk && err == ENOTDIR)
				return refuse(ENOTDIR, "a mailbox file holds no other mailboxes");
			if (err == ENOENT || err == ENOTDIR)
				return 0;
			errno = err;
			seterr("%s:", w->path);
			return -1;
		}
		*e = '/';
		w->pkind = dirkind(fd);
		close(w->dfd);
		w->dfd = fd;
	}
	if (fstatat(w->dfd, w->base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		seterr("%s:", w->path);
		return -1;
	}
	if (S_ISLNK(st.st_mode))
		return refuse(ELOOP, "the mailbox is a symbolic link: refused");
	if (S_ISDIR(st.st_mode) && (fd = openat(w->dfd, w->base, ODIR)) >= 0) {
		w->kind = dirkind(fd);
		close(fd);
	} else if (S_ISREG(st.st_mode) && w->pkind != MB_MAILDIR && mboxfile(w->dfd, w->base, &st))
		w->kind = MB_MBOX;
	else
		return refuse(EINVAL, "not a mailbox");
	return 0;
}

static void
wclose(Where *w)
{
	if (w->dfd >= 0)
		close(w->dfd);
	w->dfd = -1;
}

int
imap_boxpath(char *buf, size_t n, const char *user, const char *name)
{
	Where w;
	int r = -1;

	if (where(&w, user, name, 0) == 0) {
		if (snprintf(buf, n, "%s", w.path) < (int)n)
			r = 0;
		else
			refuse(ENAMETOOLONG, "mailbox path too long");
	}
	wclose(&w);
	return r;
}

int
imap_sidepath(char *buf, size_t n, const char *boxpath, const char *ext)
{
	struct stat st;
	char suf[64];

	if (lstat(boxpath, &st) == 0 && S_ISDIR(st.st_mode))
		return snprintf(buf, n, "%s/.%s", boxpath, ext) < (int)n ? 0 : -1;
	if (snprintf(suf, sizeof suf, ".%s", ext) >= (int)sizeof suf)
		return -1;
	return mb_sidepath(buf, n, boxpath, suf);
}

/* A new empty mailbox dfd/base of that kind; 0 or -1 (EEXIST when it exists). */
static int
mkbox(int dfd, const char *base, int kind)
{
	static const char *const sub[] = { "cur", "new", "tmp" };
	int fd;
	size_t i;

	if (kind == MB_MBOX) {
		if ((fd = openat(dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
			goto bad;
		close(fd);
	} else {
		if (mkdirat(dfd, base, 0700) < 0)
			goto bad;
		if (kind == MB_MAILDIR) {
			if ((fd = openat(dfd, base, ODIR)) < 0)
				goto bad;
			for (i = 0; i < nelem(sub); i++)
				if (mkdirat(fd, sub[i], 0700) < 0) {
					close(fd);
					goto bad;
				}
			mb_fsyncdir(fd, "");
			close(fd);
		}
	}
	if (mb_fsyncdir(dfd, "") < 0)
		goto bad;
	return 0;
bad:
	if (errno == EEXIST)
		return refuse(EEXIST, "mailbox exists");
	seterr("create mailbox:");
	return -1;
}

/* A trailing '/' asks for a directory to hold others: an empty mdir here. */
int
imap_create(const char *user, const char *name, int kind)
{
	char nm[LIM_PATHNAME];
	size_t l = strlen(name);
	int dir = l > 1 && name[l - 1] == '/', r = -1;
	Where w;

	if (l >= sizeof nm)
		return refuse(EINVAL, "mailbox name too long");
	memcpy(nm, name, l - dir);
	nm[l - dir] = 0;
	if (kind != MB_MBOX && kind != MB_MDIR && kind != MB_MAILDIR)
		return refuse(EINVAL, "unknown mailbox format");
	if (dir)
		kind = MB_MDIR;
	if (where(&w, user, nm, 1) < 0)
		goto out;
	if (w.inbox || w.kind)
		refuse(EEXIST, "mailbox exists");
	else if (w.dfd < 0)
		refuse(ENOENT, "no such parent mailbox");
	else
		r = mkbox(w.dfd, w.base, kind == MB_MBOX && w.pkind == MB_MAILDIR ? MB_MAILDIR : kind);
out:
	wclose(&w);
	return r;
}

/* The side files of mbox file od/o go to nd/n, or away when n is NULL. */
static int
sidefiles(int od, const char *o, int nd, const char *n)
{
	char a[300], b[300];
	size_t i;

	for (i = 0; i < nelem(sides); i++) {
		snprintf(a, sizeof a, ".%s%s", o, sides[i]);
		if (n)
			snprintf(b, sizeof b, ".%s%s", n, sides[i]);
		if ((n ? renameat(od, a, nd, b) : unlinkat(od, a, 0)) < 0 && errno != ENOENT) {
			seterr("%s:", a);
			return -1;
		}
	}
	return 0;
}

/* Open and write-lock the mbox file of w, so no append or rewrite is under way. */
static int
lockbox(Where *w, Mlock *l)
{
	int fd;

	if ((fd = openat(w->dfd, w->base, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)) < 0) {
		seterr("%s:", w->path);
		return -1;
	}
	if (lock_mbox(l, fd, w->path, LK_WRITE, mb_lockwait * 1000) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Remove every file in directory fd; a directory there is an error. */
static int
clear(int fd)
{
	struct dirent *e;
	int r = 0;
	DIR *d;

	if ((d = opendirat(fd)) == NULL)
		return -1;
	while (r == 0 && (e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			r = unlinkat(fd, e->d_name, 0);
	closedir(d);
	return r;
}

/*
 * A directory mailbox goes with its messages, index and .imp, but not
 * with child mailboxes (RFC 3501 §6.3.4 allows refusing) nor with any
 * directory that is not part of its format.
 */
static int
rmdirbox(Where *w)
{
	static const char *const sub[] = { "cur", "new", "tmp" };
	struct dirent *e;
	struct stat st;
	int fd, sfd, r = 0, md = w->kind == MB_MAILDIR;
	size_t i;
	DIR *d;

	if ((fd = openat(w->dfd, w->base, ODIR)) < 0 || (d = opendirat(fd)) == NULL) {
		seterr("%s:", w->path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while (r == 0 && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		    (md && (strcmp(e->d_name, "cur") == 0 || strcmp(e->d_name, "new") == 0 || strcmp(e->d_name, "tmp") == 0)))
			continue;
		if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			r = refuse(ENOTEMPTY, nameok(e->d_name, 0) ? "the mailbox holds other mailboxes: delete them first" :
			    "the mailbox holds a directory that is not a mailbox");
		else if (S_ISREG(st.st_mode) && !md && nameok(e->d_name, 0) && mboxfile(fd, e->d_name, &st))
			r = refuse(ENOTEMPTY, "the mailbox holds other mailboxes: delete them first");
	}
	closedir(d);
	for (i = 0; r == 0 && md && i < nelem(sub); i++) {
		if ((sfd = openat(fd, sub[i], ODIR)) < 0)
			r = -1;
		else {
			r = clear(sfd);
			close(sfd);
		}
		if (r == 0)
			r = unlinkat(fd, sub[i], AT_REMOVEDIR);
		if (r < 0)
			seterr("%s/%s:", w->path, sub[i]);
	}
	if (r == 0 && (r = clear(fd)) < 0)
		seterr("%s:", w->path);
	close(fd);
	if (r == 0 && ((r = unlinkat(w->dfd, w->base, AT_REMOVEDIR)) < 0 || (r = mb_fsyncdir(w->dfd, "")) < 0))
		seterr("%s:", w->path);
	return r;
}

static int
rmbox(Where *w)
{
	Mlock l;
	int fd, r = 0;

	if (w->kind != MB_MBOX)
		return rmdirbox(w);
	if ((fd = lockbox(w, &l)) < 0)
		return -1;
	if (sidefiles(w->dfd, w->base, -1, NULL) < 0)
		r = -1;
	else if (unlinkat(w->dfd, w->base, 0) < 0 || mb_fsyncdir(w->dfd, "") < 0) {
		seterr("%s:", w->path);
		r = -1;
	}
	lock_release(&l);
	close(fd);
	return r;
}

int
imap_delete(const char *user, const char *name)
{
	Where w;
	int r = -1;

	if (where(&w, user, name, 0) < 0)
		;
	else if (w.inbox)
		refuse(EPERM, "INBOX cannot be deleted");
	else if (w.kind == 0)
		refuse(ENOENT, "no such mailbox");
	else
		r = rmbox(&w);
	wclose(&w);
	return r;
}

/* rename(2) that never replaces what is there (RENAME_NOREPLACE where the file system has it). */
static int
norename(int od, const char *o, int nd, const char *n)
{
	struct stat st;

	if (syscall(SYS_renameat2, od, o, nd, n, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != ENOSYS && errno != EINVAL)
		return -1;
	if (fstatat(nd, n, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		errno = EEXIST;
		return -1;
	}
	return renameat(od, o, nd, n);
}

/*
 * RENAME INBOX (RFC 3501 §6.3.5): its messages move to a new mailbox of
 * INBOX's kind, their dates and flags kept, and leave INBOX, which stays.
 * A failure before INBOX is expunged removes the new mailbox again.
 */
static int
moveinbox(Where *f, Where *t)
{
	Mailbox *mb, *tb;
	Str s = { 0 };
	Mmsg *m;
	int i, n, r = -1;

	if (mkbox(t->dfd, t->base, f->kind ? f->kind : MB_MBOX) < 0)
		return -1;
	t->kind = f->kind ? f->kind : MB_MBOX;
	if (f->kind == 0)
		return 0;
	if ((mb = mb_open(f->path, MB_RDWR)) == NULL)
		goto undo;
	n = mb_count(mb);
	for (i = 0; i < n; i++) {
		m = mb_msg(mb, i);
		str_reset(&s);
		if (mb_read(mb, i, &s) < 0 || mb_append(t->path, mb_sender(mb, i), m->date, s.p ? s.p : "", s.n) < 0)
			break;
	}
	str_free(&s);
	if (i < n) {
		mb_close(mb);
		goto undo;
	}
	if ((tb = mb_open(t->path, MB_RDWR)) != NULL) {
		mb_keepdeleted(tb, 1);
		if (mb_count(tb) == n) {
			for (i = 0; i < n; i++)
				mb_setflags(tb, i, mb_msg(mb, i)->flags & MF_ALL, 0);
			if (mb_sync(tb) < 0)
				logmsg("imap4d", "rename INBOX: flags not kept: %s", lasterr());
		}
		mb_close(tb);
	}
	for (i = 0; i < n; i++)
		mb_setflags(mb, i, MF_DELETED, 0);
	r = mb_sync(mb);
	mb_close(mb);
	return r;
undo:
	{
		char err[LIM_ERR];

		snprintf(err, sizeof err, "%s", lasterr());
		rmbox(t);
		seterr("%s", err);
	}
	return -1;
}

/* The mailbox moves with its side files and children; the new parents are made. */
int
imap_rename(const char *user, const char *from, const char *to)
{
	char tn[LIM_PATHNAME];
	Where f, t;
	Mlock l;
	int r = -1, fd = -1;
	size_t n;

	t.dfd = -1;
	if (where(&f, user, from, 0) < 0 || wirename(to, tn) < 0)
		goto out;
	n = strlen(f.name);
	if (strcmp(tn, "INBOX") == 0) {
		refuse(EEXIST, "INBOX exists");
		goto out;
	}
	if (!f.inbox && f.kind == 0) {
		refuse(ENOENT, "no such mailbox");
		goto out;
	}
	if (!f.inbox && strncmp(tn, f.name, n) == 0 && tn[n] == '/') {
		refuse(EINVAL, "a mailbox cannot move into itself");
		goto out;
	}
	if (where(&t, user, to, 1) < 0)
		goto out;
	if (t.kind) {
		refuse(EEXIST, "mailbox exists");
		goto out;
	}
	if (t.dfd < 0) {
		refuse(ENOENT, "no such parent mailbox");
		goto out;
	}
	if (f.inbox) {
		r = moveinbox(&f, &t);
		goto out;
	}
	if (f.kind == MB_MBOX && t.pkind == MB_MAILDIR) {
		refuse(EINVAL, "a Maildir holds only directory mailboxes");
		goto out;
	}
	if (f.kind == MB_MBOX && (fd = lockbox(&f, &l)) < 0)
		goto out;
	if (norename(f.dfd, f.base, t.dfd, t.base) < 0) {
		if (errno == EEXIST)
			refuse(EEXIST, "mailbox exists");
		else
			seterr("rename %s:", f.path);
	} else {
		/* the mailbox has moved: a side file left behind is only rebuilt */
		if (fd >= 0 && sidefiles(f.dfd, f.base, t.dfd, t.base) < 0)
			logmsg("imap4d", "rename %s: %s", f.path, lasterr());
		r = 0;
		if (mb_fsyncdir(t.dfd, "") < 0 || mb_fsyncdir(f.dfd, "") < 0) {
			seterr("rename %s:", f.path);
			r = -1;
		}
	}
	if (fd >= 0) {
		lock_release(&l);
		close(fd);
	}
out:
	wclose(&f);
	wclose(&t);
	return r;
}
