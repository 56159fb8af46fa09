#include <arpa/inet.h>
#include <string.h>
#include <strings.h>
#include "addr.h"


enum { Tend = 256, Tatom, Tqstr, Tlit };

static int
isalnumc(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int
isatext(int c)
{
	return isalnumc(c) || (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static int
isctl(int c)
{
	return c < 0x20 || c == 0x7f;
}

/* A control character gets the same message wherever it turns up. */
static const char *
bad(int c, const char *msg)
{
	return isctl(c) ? "control character in address" : msg;
}

/*
 * The length of the well-formed UTF-8 sequence at p, or 0: overlong forms,
 * surrogates and code points past U+10FFFF are refused so that no two byte
 * strings spell the same address.
 */
static size_t
utf8len(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned lo = 0x80, hi = 0xbf;
	size_t k, i;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		k = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		k = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;
		if (p[0] == 0xed)
			hi = 0x9f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		k = 4;
		if (p[0] == 0xf0)
			lo = 0x90;
		if (p[0] == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (n < k || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < k; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return k;
}

/* inet_pton is the one judge of address literals, so they mean what they say. */
static const char *
litcheck(const char *s, size_t n)
{
	char buf[INET6_ADDRSTRLEN + 1];
	unsigned char bin[16];
	int af = AF_INET;

	if (n < 2 || s[n - 1] != ']')
		return "unbalanced bracket";
	s++;
	n -= 2;
	if (n >= 5 && strncasecmp(s, "IPv6:", 5) == 0) {
		af = AF_INET6;
		s += 5;
		n -= 5;
	}
	if (n == 0 || n >= sizeof buf || memchr(s, 0, n) != NULL)
		return "bad address literal";
	memcpy(buf, s, n);
	buf[n] = 0;
	if (inet_pton(af, buf, bin) != 1)
		return "bad address literal";
	return NULL;
}

/* Every place a domain appears is judged here, so all of them agree. */
static const char *
domcheck(const char *s, size_t n)
{
	size_t i, start = 0, k;
	int c;

	if (n == 0)
		return "empty domain";
	if (n > LIM_DOMAIN)
		return "domain too long";
	if (s[0] == '[')
		return litcheck(s, n);
	for (i = 0;;) {
		if (i == n || s[i] == '.') {
			if (i == start)
				return "empty label in domain";
			if (i - start > LIM_LABEL)
				return "label too long";
			if (s[start] == '-' || s[i - 1] == '-')
				return "label starts or ends with -";
			if (i == n)
				return NULL;
			start = ++i;
			continue;
		}
		c = (unsigned char)s[i];
		if (isalnumc(c) || c == '-')
			i++;
		else if (c >= 0x80) {
			if ((k = utf8len(s + i, n - i)) == 0)
				return "bad UTF-8";
			i += k;
		} else
			return bad(c, "bad character in domain");
	}
}

/* Atoms joined by single dots need no quotes; in bang form '!' does. */
static int
isdotstring(const char *s, size_t n, int bang)
{
	size_t i;
	int c;

	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '.' ? s[i - 1] == '.' : !(isatext(c) || c >= 0x80) || (bang && c == '!'))
			return 0;
	}
	return 1;
}

static size_t
quotedlen(const char *s, size_t n, int bang)
{
	size_t i, q = 2;

	if (isdotstring(s, n, bang))
		return n;
	for (i = 0; i < n; i++)
		q += s[i] == '"' || s[i] == '\\';
	return n + q;
}

/*
 * A decoded local part must survive being quoted back into an RFC 5321
 * path (no tabs or controls there) and being passed as an argument.
 */
static const char *
localcheck(const char *s, size_t n)
{
	size_t i, k;
	int c;

	if (n == 0)
		return "empty local part";
	if (s[0] == '-')
		return "local part starts with -";
	for (i = 0; i < n; i += k) {
		c = (unsigned char)s[i];
		k = 1;
		if (c >= 0x80 && (k = utf8len(s + i, n - i)) == 0)
			return "bad UTF-8";
		if (isctl(c))
			return "control character in address";
	}
	if (quotedlen(s, n, 0) > LIM_LOCALPART)
		return "local part too long";
	return NULL;
}

static const char *
lencheck(const char *l, size_t ln, const char *d, size_t dn)
{
	if (2 + quotedlen(l, ln, 0) + (d ? 1 + dn : 0) > LIM_PATH)
		return "address too long";
	return NULL;
}

static int
fail(const char *err)
{
	seterr("%s", err);
	return -1;
}

/*
 * An RFC 5321 Local-part at s[*ip], stopping at the first byte that cannot
 * continue it; decoded into out, which holds max+1 octets.  max bounds the
 * raw text, so nothing past it is ever read.
 */
static const char *
local5321(const char *s, size_t e, size_t *ip, size_t max, char *out, size_t *outn, int *quoted)
{
	size_t i = *ip, start = i, k = 0, m;
	int c;

	*quoted = i < e && s[i] == '"';
	if (*quoted) {
		for (i++;; i += m) {
			if (i == e)
				return "unbalanced quote";
			c = (unsigned char)s[i];
			m = 1;
			if (c == '"') {
				i++;
				break;
			}
			if (c == '\\') {
				if (i + 1 == e)
					return "unbalanced quote";
				c = (unsigned char)s[i + 1];
				if (c < 0x20 || c > 0x7e)
					return bad(c, "bad character in local part");
				m = 2;
			} else if (c >= 0x80) {
				if ((m = utf8len(s + i, e - i)) == 0)
					return "bad UTF-8";
			} else if (isctl(c))
				return "control character in address";
			if (i + m - start > max)
				return "local part too long";
			if (m == 2 && s[i] == '\\')
				out[k++] = c;
			else {
				memcpy(out + k, s + i, m);
				k += m;
			}
		}
	} else {
		for (; i < e; i += m) {
			c = (unsigned char)s[i];
			m = 1;
			if (c == '.') {
				if (i == start || s[i - 1] == '.')
					return "misplaced dot in local part";
			} else if (c >= 0x80) {
				if ((m = utf8len(s + i, e - i)) == 0)
					return "bad UTF-8";
			} else if (!isatext(c))
				break;
			if (i + m - start > max)
				return "local part too long";
			memcpy(out + k, s + i, m);
			k += m;
		}
		if (k > 0 && out[k - 1] == '.')
			return "misplaced dot in local part";
	}
	*ip = i;
	*outn = k;
	return NULL;
}

/* The A-d-l of an obsolete source route, checked and then forgotten. */
static const char *
route5321(const char *s, size_t e, size_t *ip)
{
	size_t i = *ip, j;
	const char *err;

	for (;;) {
		i++;
		for (j = i; j < e && s[j] != ',' && s[j] != ':'; j++)
			;
		if (j == e || j == i || s[i] == '[')
			return "bad source route";
		if ((err = domcheck(s + i, j - i)) != NULL)
			return err;
		i = j + 1;
		if (s[j] == ':')
			break;
		if (i == e || s[i] != '@')
			return "bad source route";
	}
	*ip = i;
	return NULL;
}

int
addr_path(Arena *ar, const char *s, size_t n, Addr *a, size_t *used)
{
	char loc[LIM_LOCALPART + 1];
	const char *err, *end;
	size_t i = 0, e, j, ln;
	int quoted;

	memset(a, 0, sizeof *a);
	while (i < n && s[i] == ' ')
		i++;
	if (i == n || s[i] != '<')
		return fail(i < n && isctl((unsigned char)s[i]) ? "control character in address" : "missing <");
	e = n - i > LIM_PATH ? i + LIM_PATH : n;
	end = e < n ? "path too long" : "missing >";
	if (++i < e && s[i] == '>') {
		*used = i + 1;
		return 0;
	}
	if (i < e && s[i] == '@' && (err = route5321(s, e, &i)) != NULL)
		return fail(err);
	if ((err = local5321(s, e, &i, LIM_LOCALPART, loc, &ln, &quoted)) != NULL)
		return fail(err);
	if (i == e)
		return fail(end);
	if (s[i] == '>') {
		if (ln == 0)
			return fail("empty local part");
		if (quoted || ln != 10 || strncasecmp(loc, "postmaster", 10) != 0)
			return fail("missing domain");
		a->local = arena_strndup(ar, loc, ln);
		*used = i + 1;
		return 0;
	}
	if (s[i] != '@')
		return fail(bad((unsigned char)s[i], "bad character in local part"));
	for (j = ++i; j < e && s[j] != '>'; j++)
		;
	if (j == e)
		return fail(end);
	if ((err = domcheck(s + i, j - i)) != NULL || (err = localcheck(loc, ln)) != NULL)
		return fail(err);
	a->local = arena_strndup(ar, loc, ln);
	a->domain = arena_strndup(ar, s + i, j - i);
	*used = j + 1;
	return 0;
}

/* RFC 5322: a lexer over the field body, skipping CFWS between tokens. */
typedef struct Lex {
	const char *s;
	size_t n, i;
	int tok;	/* Tend, Tatom, Tqstr, Tlit, or one of <>@,:;. */
	int ws;		/* white space or a comment came before tok */
	Str t;		/* the decoded text of an atom, quoted string or literal */
	const char *err;
} Lex;

static int
iswsp(int c)
{
	return c == ' ' || c == '\t';
}

/* A line break is allowed only as a fold: CRLF (or bare LF) before white space. */
static size_t
foldlen(const char *s, size_t n, size_t i)
{
	if (s[i] == '\r' && i + 2 < n && s[i + 1] == '\n' && iswsp(s[i + 2]))
		return 2;
	if (s[i] == '\n' && i + 1 < n && iswsp(s[i + 1]))
		return 1;
	return 0;
}

static int
lexerr(Lex *L, const char *err)
{
	L->err = err;
	return -1;
}

/* Iterative, so depth costs no stack; the bound stops pathological input. */
static int
comment(Lex *L)
{
	int depth = 0, c;
	size_t k;

	do {
		if (L->i == L->n)
			return lexerr(L, "unbalanced parenthesis");
		c = (unsigned char)L->s[L->i];
		k = 1;
		if (c == '(') {
			if (++depth > LIM_COMMENTDEPTH)
				return lexerr(L, "comments nested too deeply");
		} else if (c == ')')
			depth--;
		else if (c == '\\') {
			if (L->i + 1 == L->n)
				return lexerr(L, "unbalanced parenthesis");
			c = (unsigned char)L->s[L->i + 1];
			if (c >= 0x80) {
				if ((k = utf8len(L->s + L->i + 1, L->n - L->i - 1)) == 0)
					return lexerr(L, "bad UTF-8");
			} else if (isctl(c) && c != '\t')
				return lexerr(L, "control character in address");
			k++;
		} else if (c >= 0x80) {
			if ((k = utf8len(L->s + L->i, L->n - L->i)) == 0)
				return lexerr(L, "bad UTF-8");
		} else if (isctl(c) && c != '\t' && (k = foldlen(L->s, L->n, L->i)) == 0)
			return lexerr(L, "control character in address");
		L->i += k;
	} while (depth > 0);
	return 0;
}

static int
qstr(Lex *L)
{
	size_t k;
	int c;

	for (L->i++;; L->i += k) {
		if (L->i == L->n)
			return lexerr(L, "unbalanced quote");
		c = (unsigned char)L->s[L->i];
		k = 1;
		if (c == '"') {
			L->i++;
			return L->tok = Tqstr;
		}
		if (c == '\\') {
			if (L->i + 1 == L->n)
				return lexerr(L, "unbalanced quote");
			c = (unsigned char)L->s[L->i + 1];
			if (c >= 0x80) {
				if ((k = utf8len(L->s + L->i + 1, L->n - L->i - 1)) == 0)
					return lexerr(L, "bad UTF-8");
				str_addn(&L->t, L->s + L->i + 1, k);
			} else if (isctl(c) && c != '\t')
				return lexerr(L, "control character in address");
			else
				str_addc(&L->t, c);
			k++;
		} else if (c >= 0x80) {
			if ((k = utf8len(L->s + L->i, L->n - L->i)) == 0)
				return lexerr(L, "bad UTF-8");
			str_addn(&L->t, L->s + L->i, k);
		} else if (!isctl(c) || c == '\t')
			str_addc(&L->t, c);
		else if ((k = foldlen(L->s, L->n, L->i)) == 0)
			return lexerr(L, "control character in address");
	}
}

static int
lex(Lex *L)
{
	size_t k, j;
	int c;

	L->ws = 0;
	str_reset(&L->t);
	for (;; L->ws = 1) {
		if (L->i == L->n)
			return L->tok = Tend;
		c = (unsigned char)L->s[L->i];
		if (iswsp(c))
			L->i++;
		else if ((k = foldlen(L->s, L->n, L->i)) > 0)
			L->i += k;
		else if (c == '(') {
			if (comment(L) < 0)
				return -1;
		} else
			break;
	}
	if (c == '"')
		return qstr(L);
	if (c == '[') {
		for (j = L->i + 1; j < L->n && L->s[j] != ']'; j++) {
			c = (unsigned char)L->s[j];
			if (c < 33 || c > 126 || c == '[' || c == '\\')
				return lexerr(L, bad(c, "bad address literal"));
		}
		if (j == L->n)
			return lexerr(L, "unbalanced bracket");
		str_addn(&L->t, L->s + L->i, j + 1 - L->i);
		L->i = j + 1;
		return L->tok = Tlit;
	}
	if (isatext(c) || c >= 0x80) {
		for (; L->i < L->n; L->i += k) {
			c = (unsigned char)L->s[L->i];
			k = 1;
			if (c >= 0x80) {
				if ((k = utf8len(L->s + L->i, L->n - L->i)) == 0)
					return lexerr(L, "bad UTF-8");
			} else if (!isatext(c))
				break;
			str_addn(&L->t, L->s + L->i, k);
		}
		return L->tok = Tatom;
	}
	if (c != 0 && strchr("<>@,:;.", c) != NULL) {
		L->i++;
		return L->tok = c;
	}
	if (c == ')')
		return lexerr(L, "unbalanced parenthesis");
	if (c == ']')
		return lexerr(L, "unbalanced bracket");
	return lexerr(L, bad(c, "bad character in address"));
}

typedef struct List {
	Arena *ar;
	Lex L;
	Str phrase, local, dom;
	const char *perr, *lerr;	/* why the words are no phrase, no local part */
	Addr *v;
	int nv, cap;
	char *group;
} List;

static char *
sdup(Arena *ar, Str *s)
{
	return arena_strndup(ar, s->n ? s->p : "", s->n);
}

/*
 * A run of words and dots is a display name or a local part, and only the
 * token after it tells which: build both at once and let the caller pick.
 * 1 if the run is empty.
 */
static int
words(List *p)
{
	Lex *L = &p->L;
	int first = 1, dot = 1;

	str_reset(&p->phrase);
	str_reset(&p->local);
	p->perr = p->lerr = NULL;
	for (; L->tok == Tatom || L->tok == Tqstr || L->tok == '.'; first = 0) {
		if (!first && L->ws)
			str_addc(&p->phrase, ' ');
		if (L->tok == '.') {
			if (first)
				p->perr = "bad display name";
			if (dot)
				p->lerr = "misplaced dot in local part";
			dot = 1;
			str_addc(&p->phrase, '.');
			str_addc(&p->local, '.');
		} else {
			if (!dot && !p->lerr)
				p->lerr = "space in local part";
			dot = 0;
			if (L->t.n > 0) {
				str_addn(&p->phrase, L->t.p, L->t.n);
				str_addn(&p->local, L->t.p, L->t.n);
			}
		}
		if (lex(L) < 0)
			return -1;
	}
	if (dot && !first && !p->lerr)
		p->lerr = "misplaced dot in local part";
	return first;
}

/* The domain after '@': a literal, or atoms and dots with CFWS between. */
static int
domain(List *p)
{
	Lex *L = &p->L;

	str_reset(&p->dom);
	for (;;) {
		if (L->tok == Tlit && p->dom.n == 0) {
			str_addn(&p->dom, L->t.p, L->t.n);
			if (lex(L) < 0)
				return -1;
			break;
		}
		if (L->tok != Tatom)
			return lexerr(L, p->dom.n ? "empty label in domain" : "missing domain");
		str_addn(&p->dom, L->t.p, L->t.n);
		if (lex(L) < 0)
			return -1;
		if (L->tok != '.')
			break;
		str_addc(&p->dom, '.');
		if (lex(L) < 0)
			return -1;
	}
	if ((L->err = domcheck(p->dom.p, p->dom.n)) != NULL)
		return -1;
	return 0;
}

static int
add(List *p, int hasdom, char *name)
{
	Addr *a;

	if (p->lerr)
		return lexerr(&p->L, p->lerr);
	if ((p->L.err = localcheck(p->local.p, p->local.n)) != NULL)
		return -1;
	if ((p->L.err = lencheck(p->local.p, p->local.n, hasdom ? p->dom.p : NULL, p->dom.n)) != NULL)
		return -1;
	if (p->nv == LIM_ADDRS)
		return lexerr(&p->L, "too many addresses");
	if (p->nv == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 8;
		a = arena_alloc(p->ar, p->cap * sizeof *a);
		if (p->nv)
			memcpy(a, p->v, p->nv * sizeof *a);
		p->v = a;
	}
	a = &p->v[p->nv++];
	memset(a, 0, sizeof *a);
	a->local = sdup(p->ar, &p->local);
	a->domain = hasdom ? sdup(p->ar, &p->dom) : NULL;
	a->name = name;
	a->group = p->group;
	return 0;
}

/* After the '<': an obsolete route (dropped), an addr-spec, the '>'. */
static int
angle(List *p, char *name)
{
	Lex *L = &p->L;
	int hasdom = 0;

	if (lex(L) < 0)
		return -1;
	if (L->tok == '@' || L->tok == ',') {
		for (;;) {
			while (L->tok == ',')
				if (lex(L) < 0)
					return -1;
			if (L->tok != '@')
				return lexerr(L, "bad source route");
			if (lex(L) < 0 || domain(p) < 0)
				return -1;
			if (L->tok == ':')
				break;
			if (L->tok != ',')
				return lexerr(L, "bad source route");
		}
		if (lex(L) < 0)
			return -1;
	}
	switch (words(p)) {
	case -1:
		return -1;
	case 1:
		return lexerr(L, L->tok == '>' ? "empty address" : "missing local part");
	}
	if (L->tok == '@') {
		if (lex(L) < 0 || domain(p) < 0)
			return -1;
		hasdom = 1;
	}
	if (L->tok != '>')
		return lexerr(L, "missing >");
	if (lex(L) < 0)
		return -1;
	return add(p, hasdom, name);
}

/* One mailbox, or the opening of a group: 1 then, for no comma follows. */
static int
address(List *p)
{
	Lex *L = &p->L;
	char *name = NULL;
	int empty;

	if ((empty = words(p)) < 0)
		return -1;
	switch (L->tok) {
	case ':':
		if (empty)
			return lexerr(L, "missing group name");
		if (p->perr)
			return lexerr(L, "bad group name");
		if (p->group)
			return lexerr(L, "nested group");
		p->group = sdup(p->ar, &p->phrase);
		return lex(L) < 0 ? -1 : 1;
	case '<':
		if (p->perr)
			return lexerr(L, p->perr);
		if (!empty && p->phrase.n > 0)
			name = sdup(p->ar, &p->phrase);
		return angle(p, name);
	case '@':
		if (empty)
			return lexerr(L, "missing local part");
		if (lex(L) < 0 || domain(p) < 0)
			return -1;
		return add(p, 1, NULL);
	}
	if (empty)
		return lexerr(L, "bad address syntax");
	return add(p, 0, NULL);
}

static int
list(List *p)
{
	Lex *L = &p->L;

	if (lex(L) < 0)
		return -1;
	for (;;) {
		switch (L->tok) {
		case Tend:
			return 0;
		case ',':
			if (lex(L) < 0)
				return -1;
			continue;
		case ';':
			if (!p->group)
				return lexerr(L, "; outside a group");
			p->group = NULL;
			if (lex(L) < 0)
				return -1;
			if (L->tok != ',' && L->tok != Tend)
				return lexerr(L, "missing comma");
			continue;
		}
		switch (address(p)) {
		case -1:
			return -1;
		case 0:
			if (L->tok != ',' && L->tok != ';' && L->tok != Tend)
				return lexerr(L, "missing comma");
		}
	}
}

int
addr_list(Arena *ar, const char *s, size_t n, Addr **v, int *nv)
{
	List p;
	int r;

	*v = NULL;
	*nv = 0;
	if (n > LIM_ADDRLIST)
		return fail("address list too long");
	memset(&p, 0, sizeof p);
	p.ar = ar;
	p.L.s = s;
	p.L.n = n;
	r = list(&p);
	str_free(&p.L.t);
	str_free(&p.phrase);
	str_free(&p.local);
	str_free(&p.dom);
	if (r < 0)
		return fail(p.L.err);
	*v = p.v;
	*nv = p.nv;
	return 0;
}

int
addr_frombang(Arena *ar, const char *s, Addr *a)
{
	char loc[LIM_LOCALPART + 3];
	const char *err, *q;
	size_t n = strlen(s), i = 0, ds = 0, de = 0, ln;
	int hops = 0, quoted;

	memset(a, 0, sizeof *a);
	while (s[i] != '"' && (q = memchr(s + i, '!', n - i)) != NULL) {
		if ((err = domcheck(s + i, q - s - i)) != NULL)
			return fail(err);
		hops++;
		ds = i;
		de = q - s;
		i = de + 1;
	}
	if (ds > LIM_PATH + 1)
		return fail("route too long");
	if ((err = local5321(s, n, &i, LIM_LOCALPART + 2, loc, &ln, &quoted)) != NULL)
		return fail(err);
	if (i != n)
		return fail(bad((unsigned char)s[i], "bad character in local part"));
	if ((err = localcheck(loc, ln)) != NULL || (err = lencheck(loc, ln, hops ? s + ds : NULL, de - ds)) != NULL)
		return fail(err);
	a->local = arena_strndup(ar, loc, ln);
	if (hops > 0)
		a->domain = arena_strndup(ar, s + ds, de - ds);
	if (hops > 1)
		a->route = arena_strndup(ar, s, ds - 1);
	return 0;
}

int
addr_parse(Arena *ar, const char *s, Addr *a)
{
	size_t n = strnlen(s, LIM_ADDRLIST + 1);
	Addr *v;
	int nv;

	memset(a, 0, sizeof *a);
	if (strchr(s, '!') && !strchr(s, '@') && !strchr(s, '<'))
		return addr_frombang(ar, s, a);
	if (addr_list(ar, s, n, &v, &nv) < 0)
		return -1;
	if (nv != 1 || v->group)
		return fail(nv == 0 ? "no address" : "not one address");
	*a = *v;
	return 0;
}

/* An Addr may come from anywhere; check it before it becomes text. */
static const char *
check(const Addr *a)
{
	const char *err, *h, *q;
	size_t i, k, n;
	int c;

	if (a->local == NULL)
		return a->domain || a->route ? "domain without local part" : NULL;
	if ((err = localcheck(a->local, strlen(a->local))) != NULL)
		return err;
	if (a->domain && (err = domcheck(a->domain, strlen(a->domain))) != NULL)
		return err;
	if (a->route) {
		if (a->domain == NULL)
			return "route without domain";
		if (strlen(a->route) > LIM_PATH)
			return "route too long";
		for (h = a->route;; h = q + 1) {
			q = strchr(h, '!');
			if ((err = domcheck(h, q ? (size_t)(q - h) : strlen(h))) != NULL)
				return err;
			if (q == NULL)
				break;
		}
	}
	n = a->name ? strlen(a->name) : 0;
	for (i = 0; i < n; i += k) {
		c = (unsigned char)a->name[i];
		k = 1;
		if (c >= 0x80 && (k = utf8len(a->name + i, n - i)) == 0)
			return "bad UTF-8";
		if (isctl(c) && c != '\t')
			return "control character in address";
	}
	return lencheck(a->local, strlen(a->local), a->domain, a->domain ? strlen(a->domain) : 0);
}

static void
quote(Str *o, const char *s, int need)
{
	if (!need) {
		str_adds(o, s);
		return;
	}
	str_addc(o, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			str_addc(o, '\\');
		str_addc(o, *s);
	}
	str_addc(o, '"');
}

static char *
done(Arena *ar, Str *o)
{
	char *r = sdup(ar, o);

	str_free(o);
	return r;
}

char *
addr_text(Arena *ar, const Addr *a)
{
	const char *err;
	Str o = {0};

	if ((err = check(a)) != NULL) {
		seterr("%s", err);
		return NULL;
	}
	if (a->local) {
		quote(&o, a->local, !isdotstring(a->local, strlen(a->local), 0));
		if (a->domain) {
			str_addc(&o, '@');
			str_adds(&o, a->domain);
		}
	}
	return done(ar, &o);
}

char *
addr_bang(Arena *ar, const Addr *a)
{
	const char *err;
	Str o = {0};

	if ((err = check(a)) != NULL) {
		seterr("%s", err);
		return NULL;
	}
	if (a->local) {
		if (a->route) {
			str_adds(&o, a->route);
			str_addc(&o, '!');
		}
		if (a->domain) {
			str_adds(&o, a->domain);
			str_addc(&o, '!');
		}
		quote(&o, a->local, !isdotstring(a->local, strlen(a->local), 1));
	}
	return done(ar, &o);
}

/* Atoms separated by single spaces read back the same without quotes. */
static int
isphrase(const char *s)
{
	const char *p;

	if (*s == 0 || *s == ' ')
		return 0;
	for (p = s; *p; p++)
		if (*p == ' ' ? p[1] == ' ' || p[1] == 0 : !(isatext((unsigned char)*p) || (unsigned char)*p >= 0x80))
			return 0;
	return 1;
}

char *
addr_mailbox(Arena *ar, const Addr *a)
{
	char *t;
	Str o = {0};

	if (a->local == NULL) {
		seterr("null address");
		return NULL;
	}
	if ((t = addr_text(ar, a)) == NULL)
		return NULL;
	if (a->name == NULL || a->name[0] == 0)
		return t;
	quote(&o, a->name, !isphrase(a->name));
	str_adds(&o, " <");
	str_adds(&o, t);
	str_addc(&o, '>');
	return done(ar, &o);
}

int
addr_domainok(const char *s)
{
	const char *err = domcheck(s, strnlen(s, LIM_DOMAIN + 1));

	if (err)
		seterr("%s", err);
	return err == NULL;
}

int
addr_utf8(const Addr *a)
{
	const char *f[] = { a->local, a->domain, a->route };
	const char *p;
	size_t i;

	for (i = 0; i < nelem(f); i++)
		for (p = f[i]; p && *p; p++)
			if ((unsigned char)*p >= 0x80)
				return 1;
	return 0;
}
