/*
 * IMAP command arguments, sequence sets and quoting (RFC 3501 §4, §9).
 * imap_readcmd reads one command whole: its lines and the literals between
 * them, every part bounded before it is read.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "imap.h"

int
tok_is(const Tok *t, const char *word)
{
	return t != NULL && t->type == T_ATOM && strcasecmp(t->s, word) == 0;
}

int
tok_astring(const Tok *t)
{
	return t != NULL && (t->type == T_ATOM || t->type == T_STR);
}

/* A number of 1 to 4294967295 at *p, or '*' (0); -1 if none. */
static int
seqnum(const char **p, uint32_t *v)
{
	uint64_t x = 0;
	const char *s = *p;

	if (*s == '*') {
		*v = 0;
		*p = s + 1;
		return 0;
	}
	if (*s < '1' || *s > '9')
		return -1;
	while (*s >= '0' && *s <= '9') {
		x = x * 10 + (*s++ - '0');
		if (x > 0xffffffffu)
			return -1;
	}
	*v = x;
	*p = s;
	return 0;
}

int
seq_parse(Arena *ar, const char *s, Seqset *ss)
{
	const char *p;
	int n = 1, i;

	for (p = s; *p; p++)
		if (*p == ',')
			n++;
	if (n > LIM_IMAPSEQ) {
		seterr("sequence set too long");
		return -1;
	}
	ss->lo = arena_alloc(ar, n * sizeof *ss->lo);
	ss->hi = arena_alloc(ar, n * sizeof *ss->hi);
	ss->n = n;
	p = s;
	for (i = 0; i < n; i++) {
		if (seqnum(&p, &ss->lo[i]) < 0)
			goto bad;
		ss->hi[i] = ss->lo[i];
		if (*p == ':') {
			p++;
			if (seqnum(&p, &ss->hi[i]) < 0)
				goto bad;
		}
		if (*p != (i == n - 1 ? 0 : ','))
			goto bad;
		p++;
	}
	return 0;
bad:
	seterr("bad sequence set");
	return -1;
}

int
seq_has(const Seqset *ss, uint32_t v, uint32_t star)
{
	uint32_t lo, hi, t;
	int i;

	for (i = 0; i < ss->n; i++) {
		lo = ss->lo[i] ? ss->lo[i] : star;
		hi = ss->hi[i] ? ss->hi[i] : star;
		if (lo > hi)
			t = lo, lo = hi, hi = t;
		if (v >= lo && v <= hi)
			return 1;
	}
	return 0;
}

void
imap_str(Str *out, const char *s, size_t n)
{
	size_t i;

	if (n <= 256) {
		for (i = 0; i < n; i++)
			if (s[i] == 0 || s[i] == '\r' || s[i] == '\n' || (unsigned char)s[i] >= 0x80)
				break;
		if (i == n) {
			str_addc(out, '"');
			for (i = 0; i < n; i++) {
				if (s[i] == '"' || s[i] == '\\')
					str_addc(out, '\\');
				str_addc(out, s[i]);
			}
			str_addc(out, '"');
			return;
		}
	}
	str_fmt(out, "{%zu}\r\n", n);
	str_addn(out, s, n);
}

void
imap_nstr(Str *out, const char *s, size_t n)
{
	if (s == NULL)
		str_adds(out, "NIL");
	else
		imap_str(out, s, n);
}

void
imap_crlf(Str *out, const char *p, size_t n)
{
	const char *e, *end = p + n;

	while (p < end) {
		if ((e = memchr(p, '\n', end - p)) == NULL) {
			str_addn(out, p, end - p);
			break;
		}
		if (e > p && e[-1] == '\r')
			str_addn(out, p, e + 1 - p);
		else {
			str_addn(out, p, e - p);
			str_addn(out, "\r\n", 2);
		}
		p = e + 1;
	}
}

uint64_t
imap_crlfsize(const char *p, size_t n, uint64_t *lines)
{
	const char *e, *s = p, *end = p + n;
	uint64_t size = n, nl = 0;

	while (s < end && (e = memchr(s, '\n', end - s)) != NULL) {
		nl++;
		if (e == p || e[-1] != '\r')
			size++;
		s = e + 1;
	}
	if (lines != NULL)
		*lines = nl;
	return size;
}

/* ---- reading a command ---- */

/* A character that ends an atom. */
static int
atomend(int c)
{
	return c == ' ' || c == '(' || c == ')' || c == '"' || c == '{' || c < ' ' || c == 0x7f;
}

typedef struct Rd {
	Imapin *in;
	char *line;	/* the current line, without CRLF */
	size_t n, pos;
	int nlit;
	uint64_t litbytes;
	int ntok;
} Rd;

/* The next line of the command, after a literal. */
static int
nextline(Rd *r)
{
	ssize_t n;

	n = bio_line(r->in->b, r->line, LIM_IMAPLINE);
	if (n == BIO_LONG) {
		seterr("line too long");
		return -2;
	}
	if (n <= 0)
		return -3;
	if (bio_chomp(r->line, &n) < 0) {
		seterr("NUL or CR in a command");
		return -2;
	}
	r->n = n;
	r->pos = 0;
	return 0;
}

/* A literal {n}, {n+} or ~{n} ending the line: read its octets. */
static int
literal(Rd *r, Tok *t, int lit8)
{
	Imapin *in = r->in;
	char *s = r->line + r->pos, *e;
	uint64_t n = 0;
	int plus = 0, k;
	ssize_t got;
	size_t have;

	s++;
	if (*s < '0' || *s > '9')
		goto bad;
	for (e = s; *e >= '0' && *e <= '9'; e++) {
		n = n * 10 + (*e - '0');
		if (n > (uint64_t)1 << 40)
			goto bad;
	}
	if (*e == '+')
		plus = 1, e++;
	if (*e != '}' || e + 1 != r->line + r->n)
		goto bad;
	if (++r->nlit > LIM_IMAPLITS || n > in->maxlit || r->litbytes + n > in->maxlit) {
		seterr("literal too large");
		if (plus)
			return -4;	/* its octets are coming: nothing to do but hang up */
		return -2;
	}
	r->litbytes += n;
	if (!plus && in->cont != NULL && in->cont(in->arg) < 0)
		return -3;
	t->type = T_STR;
	t->lit = lit8 ? 2 : 1;
	t->n = n;
	t->s = arena_alloc(in->ar, n + 1);
	for (have = 0; have < n; have += got)
		if ((got = bio_read(in->b, t->s + have, n - have)) <= 0)
			return -3;
	t->s[n] = 0;
	if (!lit8 && memchr(t->s, 0, n) != NULL) {
		seterr("NUL in a literal");
		k = nextline(r);
		return k < 0 ? k : -1;
	}
	return nextline(r);
bad:
	seterr("bad literal");
	return -1;
}

static int
quoted(Rd *r, Tok *t)
{
	char *s = r->line + r->pos + 1, *e = r->line + r->n, *d;

	t->type = T_STR;
	t->s = d = arena_alloc(r->in->ar, e - s + 1);
	for (; s < e && *s != '"'; s++) {
		if (*s == '\\') {
			if (++s == e || (*s != '"' && *s != '\\'))
				break;
		}
		*d++ = *s;
	}
	if (s >= e || *s != '"') {
		seterr("bad quoted string");
		return -1;
	}
	*d = 0;
	t->n = d - t->s;
	r->pos = s + 1 - r->line;
	return 0;
}

/* An atom; a '[' takes everything up to its ']' (quoted strings inside kept). */
static int
atom(Rd *r, Tok *t)
{
	char *s = r->line + r->pos, *p = s, *e = r->line + r->n;
	int q;

	while (p < e && !atomend(*p)) {
		if (*p++ != '[')
			continue;
		for (q = 0; p < e && (q || *p != ']'); p++) {
			if (*p == '"')
				q = !q;
			else if (q && *p == '\\' && p + 1 < e)
				p++;
		}
		if (p == e) {
			seterr("missing ]");
			return -1;
		}
		p++;
	}
	if (p == s) {
		seterr("syntax error at \"%.20s\"", s);
		return -1;
	}
	t->type = T_ATOM;
	t->s = arena_strndup(r->in->ar, s, p - s);
	t->n = p - s;
	r->pos = p - r->line;
	return 0;
}

/* Tokens up to the end of the command (depth 0) or the closing paren. */
static int
tokens(Rd *r, Tok **v, int *nv, int depth)
{
	Tok *t, *a = NULL;
	int n = 0, cap = 0, k;

	for (;;) {
		if (r->pos == r->n) {
			if (depth > 0) {
				seterr("missing )");
				return -1;
			}
			break;
		}
		if (r->line[r->pos] == ' ') {
			r->pos++;
			continue;
		}
		if (r->line[r->pos] == ')') {
			if (depth == 0) {
				seterr("unexpected )");
				return -1;
			}
			r->pos++;
			break;
		}
		if (++r->ntok > LIM_IMAPTOKENS) {
			seterr("too many arguments");
			return -1;
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 8;
			t = arena_alloc(r->in->ar, cap * sizeof *t);
			if (n)
				memcpy(t, a, n * sizeof *t);
			a = t;
		}
		t = &a[n++];
		memset(t, 0, sizeof *t);
		switch (r->line[r->pos]) {
		case '(':
			if (depth >= LIM_IMAPNEST) {
				seterr("lists nested too deeply");
				return -1;
			}
			r->pos++;
			t->type = T_LIST;
			if ((k = tokens(r, &t->kid, &t->nkid, depth + 1)) < 0)
				return k;
			break;
		case '"':
			if ((k = quoted(r, t)) < 0)
				return k;
			break;
		case '~':
			if (r->pos + 1 < r->n && r->line[r->pos + 1] == '{') {
				r->pos++;
				if ((k = literal(r, t, 1)) < 0)
					return k;
				break;
			}
			if ((k = atom(r, t)) < 0)
				return k;
			break;
		case '{':
			if ((k = literal(r, t, 0)) < 0)
				return k;
			break;
		default:
			if ((k = atom(r, t)) < 0)
				return k;
		}
	}
	*v = a;
	*nv = n;
	return 0;
}

/* A bad line ending in a non-synchronizing literal: its octets are on their way. */
static int
plustail(Rd *r)
{
	size_t i = r->n;

	if (i < 4 || r->line[i - 1] != '}' || r->line[i - 2] != '+')
		return 0;
	for (i -= 3; i > 0 && r->line[i] >= '0' && r->line[i] <= '9'; i--)
		;
	return r->line[i] == '{' && i + 3 < r->n;
}

int
imap_readcmd(Imapin *in, Imapcmd *c)
{
	static char star[] = "*";
	Rd r = { in, NULL, 0, 0, 0, 0, 0 };
	ssize_t n;
	char *sp, *p;
	int k;

	memset(c, 0, sizeof *c);
	c->tag = star;
	r.line = arena_alloc(in->ar, LIM_IMAPLINE);
	n = bio_line(in->b, r.line, LIM_IMAPLINE);
	if (n == BIO_LONG) {
		seterr("line too long");
		return -2;
	}
	if (n <= 0)
		return -3;
	if (bio_chomp(r.line, &n) < 0) {
		seterr("NUL or CR in a command");
		return -2;
	}
	r.n = n;
	/* tag: astring chars but '+' */
	for (p = r.line; *p && !atomend(*p) && *p != '+' && *p != '%' && *p != '*' && *p != ']'; p++)
		;
	if (p == r.line || *p != ' ' || p - r.line > LIM_IMAPTAG) {
		seterr("bad tag");
		return -2;
	}
	c->tag = arena_strndup(in->ar, r.line, p - r.line);
	p++;
	for (sp = p; *sp && *sp != ' '; sp++)
		;
	if (sp == p || sp - p > 32) {
		seterr("bad command");
		return -1;
	}
	c->verb = arena_strndup(in->ar, p, sp - p);
	if (strcasecmp(c->verb, "UID") == 0 && *sp == ' ') {
		for (p = ++sp; *sp && *sp != ' '; sp++)
			;
		c->uid = 1;
		c->verb = arena_strndup(in->ar, p, sp - p);
	}
	if (in->verb != NULL)
		in->verb(in->arg, c);
	r.pos = sp - r.line;
	if (r.pos < r.n)
		r.pos++;
	if ((k = tokens(&r, &c->arg, &c->narg, 0)) < 0 && k != -3 && plustail(&r))
		return -4;
	return k < 0 ? k : 0;
}

/* An IMAP date-time "dd-Mon-yyyy hh:mm:ss +zzzz" (day may be " d"), or -1. */
time_t
imap_parsedate(const char *s)
{
	static const char mon[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	struct tm tm;
	uint64_t d, y, H, M, Sec, z;
	int i;
	char m[4], sign;
	const char *e;
	time_t t;

	if ((e = str_scan(s, "%2u-%3c-%4u %2u:%2u:%2u %c%4u", &d, m, &y, &H, &M, &Sec, &sign, &z)) == NULL ||
	    *e != 0 || (sign != '+' && sign != '-'))
		return -1;
	m[3] = 0;
	for (i = 0; i < 3; i++)
		m[i] |= 0x20;
	if (strstr(mon, m) == NULL || (strstr(mon, m) - mon) % 3 != 0 || d < 1 || d > 31 || H > 23 || M > 59 ||
	    Sec > 60 || y < 1970 || z % 100 > 59)
		return -1;
	memset(&tm, 0, sizeof tm);
	tm.tm_mday = d, tm.tm_mon = (strstr(mon, m) - mon) / 3, tm.tm_year = y - 1900;
	tm.tm_hour = H, tm.tm_min = M, tm.tm_sec = Sec;
	t = timegm(&tm);
	z = (z / 100) * 3600 + (z % 100) * 60;
	return sign == '+' ? t - (time_t)z : t + (time_t)z;
}
