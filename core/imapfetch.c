/*
 * What FETCH takes from a message (RFC 3501 §6.4.5, §7.4.2; RFC 3516):
 * ENVELOPE, BODY and BODYSTRUCTURE, BODY[section] and BINARY[section].
 *
 * Header text goes out as written, unfolded and never decoded, as IMAP
 * servers send it.  Where the RFCs leave room (broken addresses and
 * parameters, header values with odd blanks, the extent of a multipart
 * nested in another) the output follows Dovecot 2.3, which is what clients
 * are used to; docs/DEVIATIONS.md lists where it does not.  Nothing here
 * fails on a malformed message: it renders what it can.
 */
#include <string.h>
#include <strings.h>
#include "imap.h"

/* ---- strings ---- */

/* RFC 5322 atext, 8-bit bytes included; tokens (RFC 2045) also leave out '/', '=' and '?'. */
static int
isatext(int c)
{
	return c >= 0x80 || (c > ' ' && c < 0x7f && strchr("()<>[]:;@\\,.\"", c) == NULL);
}

static int
istoken(int c)
{
	return isatext(c) && c != '/' && c != '=' && c != '?';
}

static int
isfws(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * A header value as an IMAP string.  Line breaks go (a space put in
 * where no blank follows one); for text meant for people (subjects,
 * display names) every run of blanks becomes one space and the ends are
 * trimmed.  NUL, which no IMAP string may hold, becomes 0x80.
 */
static void
hstr(Str *out, const char *v, size_t n, int human)
{
	Str t = { 0 };
	size_t i;
	int c, sp = 1;

	str_adds(&t, "");
	for (i = 0; i < n; i++) {
		c = (unsigned char)v[i];
		if (human && isfws(c)) {
			sp = 1;
			continue;
		}
		if (!human && (c == '\r' || c == '\n')) {
			if (i + 1 < n && !isfws((unsigned char)v[i + 1]))
				str_addc(&t, ' ');
			continue;
		}
		if (human && sp && t.n > 0)
			str_addc(&t, ' ');
		sp = 0;
		str_addc(&t, c ? c : 0x80);
	}
	imap_str(out, t.p, t.n);
	str_free(&t);
}

static void
hnstr(Str *out, Hdr *h, int human)
{
	if (h == NULL)
		str_adds(out, "NIL");
	else
		hstr(out, h->val, h->vlen, human);
}

static void
sstr(Str *out, const char *s)
{
	if (s == NULL)
		str_adds(out, "NIL");
	else
		hstr(out, s, strlen(s), 0);
}

/* The last (envelope) or first (MIME) field called name. */
static Hdr *
lasthdr(Part *p, const char *name)
{
	Hdr *h, *r = NULL;

	for (h = msg_hdr(p, name); h != NULL; h = msg_hdrnext(p, h))
		r = h;
	return r;
}

/* ---- the RFC 5322 lexer ---- */

/*
 * The scanners return -1 on a syntax error, 0 when the text ran out and 1
 * when more follows, so a caller can look at *s without checking.
 */
typedef struct Lx {
	const char *s, *e;
	Str *com;		/* the last comment's text, if wanted */
} Lx;

static void
addspan(Str *w, const char *a, const char *b)
{
	str_addn(w, a, b - a);
}

static int
comment(Lx *x)
{
	const char *st;
	int depth = 1;

	if (x->com)
		str_reset(x->com);
	for (st = ++x->s; x->s < x->e; x->s++) {
		if (*x->s == '(')
			depth++;
		else if (*x->s == ')' && --depth == 0) {
			if (x->com)
				addspan(x->com, st, x->s);
			x->s++;
			return x->s < x->e;
		} else if (*x->s == '\\') {
			if (x->com)
				addspan(x->com, st, x->s);
			st = x->s + 1;
			if (++x->s >= x->e)
				return -1;
		}
	}
	return -1;
}

/* Blanks and comments. */
static int
lwsp(Lx *x)
{
	while (x->s < x->e) {
		if (isfws((unsigned char)*x->s))
			x->s++;
		else if (*x->s != '(')
			break;
		else if (comment(x) < 0)
			return -1;
	}
	return x->s < x->e;
}

/* A run of chars that pass ok (possibly empty), then lwsp. */
static int
run(Lx *x, Str *w, int (*ok)(int), int dots)
{
	const char *st = x->s;

	while (x->s < x->e && (ok((unsigned char)*x->s) || (dots && *x->s == '.')))
		x->s++;
	addspan(w, st, x->s);
	return x->s < x->e ? lwsp(x) : 0;
}

static int
atom(Lx *x, Str *w)
{
	if (x->s >= x->e || !isatext((unsigned char)*x->s))
		return -1;
	return run(x, w, isatext, 0);
}

/* Dot-atom, blanks allowed around the dots (RFC 822). */
static int
dotatom(Lx *x, Str *w)
{
	int r;

	if (x->s >= x->e || !isatext((unsigned char)*x->s))
		return -1;
	for (;;) {
		if ((r = run(x, w, isatext, 0)) <= 0 || *x->s != '.')
			return r;
		x->s++;
		str_addc(w, '.');
		if ((r = lwsp(x)) <= 0)
			return r;
	}
}

/* A quoted string without its quotes and quoting, folds removed. */
static int
quoted(Lx *x, Str *w)
{
	const char *st;
	size_t l;

	for (st = ++x->s; x->s < x->e; x->s++) {
		if (*x->s == '"') {
			addspan(w, st, x->s);
			x->s++;
			return lwsp(x);
		} else if (*x->s == '\n') {
			l = x->s - st;
			if (l > 0 && st[l - 1] == '\r')
				l--;
			str_addn(w, st, l);
			st = x->s + 1;
		} else if (*x->s == '\\') {
			if (++x->s >= x->e)
				return -1;
			addspan(w, st, x->s - 1);
			st = x->s;
		}
	}
	return -1;
}

/* Words and dots (obs-phrase), one space between words. */
static int
phrase(Lx *x, Str *w)
{
	int r, c;

	if (x->s >= x->e)
		return 0;
	if (*x->s == '.')
		return -1;
	for (;;) {
		r = *x->s == '"' ? quoted(x, w) : run(x, w, isatext, 1);
		if (r <= 0)
			return r;
		c = (unsigned char)*x->s;
		if (!isatext(c) && c != '"' && c != '.')
			break;
		str_addc(w, ' ');
	}
	return lwsp(x);
}

/* "@" domain, appended to w. */
static int
domain(Lx *x, Str *w)
{
	const char *st;

	x->s++;
	if (lwsp(x) <= 0)
		return -1;
	if (*x->s != '[')
		return dotatom(x, w);
	for (st = x->s; x->s < x->e; x->s++) {
		if (*x->s == '\\') {
			if (++x->s >= x->e)
				break;
		} else if (*x->s == ']') {
			addspan(w, st, ++x->s);
			return lwsp(x);
		}
	}
	return -1;
}

/* ---- ENVELOPE addresses ---- */

/*
 * An address list is read as Dovecot reads it, so that broken ones come
 * out the same: a missing part is MISSING_MAILBOX or MISSING_DOMAIN, an
 * unreadable <...> has the domain SYNTAX_ERROR, a comment after a bare
 * address is its name, and reading stops at what cannot be an address.
 */
typedef struct Ap {
	Lx x;
	Str com, w;
	Arena ar;
	Str *out;
	size_t start;		/* where the list begins in out */
	int n;			/* addresses written */
	char *name, *route, *mbox, *dom;	/* the address being read */
	int bad;
} Ap;

static char *
wdup(Ap *a, Str *w)
{
	return arena_strndup(&a->ar, w->p ? w->p : "", w->n);
}

static void
emit(Ap *a)
{
	Str *o = a->out;

	str_adds(o, a->n++ ? "(" : "((");
	if (a->name == NULL)
		str_adds(o, "NIL");
	else
		hstr(o, a->name, strlen(a->name), 1);
	str_addc(o, ' ');
	sstr(o, a->route);
	str_addc(o, ' ');
	sstr(o, a->mbox);
	str_addc(o, ' ');
	sstr(o, a->dom);
	str_addc(o, ')');
	a->name = a->route = a->mbox = a->dom = NULL;
	a->bad = 0;
}

static void
emitfixed(Ap *a)
{
	if (a->mbox == NULL)
		a->mbox = "MISSING_MAILBOX";
	if (a->dom == NULL || *a->dom == 0)
		a->dom = "MISSING_DOMAIN";
	emit(a);
}

/* A local part with dots anywhere ("a..b", ".a", "a."), as Dovecot takes it. */
static int
dots(Lx *x, Str *w)
{
	int r = -1;

	do {
		while (*x->s == '.') {
			str_addc(w, '.');
			if (++x->s >= x->e)
				return 0;
			r = 1;
		}
		if (*x->s == '@')
			break;
		r = atom(x, w);
	} while (r > 0 && *x->s == '.');
	return r;
}

static int
localpart(Ap *a)
{
	int r;

	str_reset(&a->w);
	r = *a->x.s == '"' ? quoted(&a->x, &a->w) : dots(&a->x, &a->w);
	if (r < 0)
		return -1;
	a->mbox = wdup(a, &a->w);
	return r;
}

static int
domainpart(Ap *a)
{
	int r;

	str_reset(&a->w);
	if ((r = domain(&a->x, &a->w)) < 0)
		return -1;
	a->dom = wdup(a, &a->w);
	return r;
}

static int
angle(Ap *a)
{
	Lx *x = &a->x;
	int r;

	x->s++;
	if (lwsp(x) <= 0)
		return -1;
	if (*x->s == '@') {
		/* obs-route: "@a,@b:" */
		str_reset(&a->w);
		for (r = 1; r > 0;) {
			if (x->s >= x->e) {
				r = 0;
				break;
			}
			if (*x->s != '@')
				break;
			if (a->w.n > 0)
				str_addc(&a->w, ',');
			str_addc(&a->w, '@');
			if ((r = domain(x, &a->w)) <= 0)
				break;
			while (lwsp(x) > 0 && *x->s == ',')
				x->s++;
		}
		if (r > 0)
			a->route = wdup(a, &a->w);
		if (r > 0 && *x->s == ':')
			x->s++;
		else {
			a->route = "INVALID_ROUTE";
			if (x->s >= x->e)
				return -1;
		}
		if (lwsp(x) <= 0)
			return -1;
	}
	if (*x->s != '>') {
		if (localpart(a) <= 0)
			return -1;
		if (*x->s == '@' && domainpart(a) <= 0)
			return -1;
	}
	if (*x->s != '>')
		return -1;
	x->s++;
	return lwsp(x);
}

static int
nameaddr(Ap *a)
{
	str_reset(&a->w);
	if (phrase(&a->x, &a->w) <= 0 || *a->x.s != '<')
		return -1;
	a->name = a->w.n ? wdup(a, &a->w) : NULL;
	if (angle(a) < 0) {
		a->dom = "SYNTAX_ERROR";
		a->bad = 1;
	}
	return a->x.s < a->x.e;
}

static int
addrspec(Ap *a)
{
	int r, r2 = -2, q = *a->x.s == '"';
	size_t n;

	str_reset(&a->com);
	if ((r = localpart(a)) <= 0)
		a->bad = 1;
	if (r != 0 && a->x.s < a->x.e && *a->x.s == '@' && (r2 = domainpart(a)) <= 0)
		r = r2;
	if (a->com.n > 0)
		a->name = wdup(a, &a->com);
	else if (r2 == -2) {
		/* a word without @domain: more words make it a name */
		str_addc(&a->w, ' ');
		n = a->w.n;
		phrase(&a->x, &a->w);
		if (a->w.n != n) {
			a->mbox = NULL;
			a->name = wdup(a, &a->w);
		} else if (!q)
			a->dom = "";
		a->bad = 1;
		r = -1;
	}
	return r;
}

static int
mailbox(Ap *a)
{
	const char *st = a->x.s;
	int r;

	if ((r = nameaddr(a)) < 0) {
		a->x.s = st;
		r = addrspec(a);
		if (a->bad && a->name == NULL && a->mbox != NULL && a->dom == NULL) {
			a->name = a->mbox;
			a->mbox = NULL;
		}
	}
	emitfixed(a);
	return r;
}

static int
group(Ap *a)
{
	Lx *x = &a->x;
	int r;

	str_reset(&a->w);
	if (phrase(x, &a->w) <= 0 || *x->s != ':')
		return -1;
	x->s++;
	r = lwsp(x);
	a->mbox = wdup(a, &a->w);
	emit(a);
	if (r > 0 && *x->s != ';')
		for (;;) {
			mailbox(a);
			if (x->s >= x->e || *x->s != ',')
				break;
			x->s++;
			if (lwsp(x) <= 0) {
				r = -1;
				break;
			}
		}
	if (r >= 0) {
		if (x->s >= x->e || *x->s != ';')
			r = -1;
		else {
			x->s++;
			r = lwsp(x);
		}
	}
	emit(a);
	return r != 0;
}

/* An address list, or NIL when it holds none. */
static void
addrlist(Str *out, Hdr *h)
{
	Ap a;
	const char *st;
	int r;

	if (h == NULL) {
		str_adds(out, "NIL");
		return;
	}
	memset(&a, 0, sizeof a);
	a.out = out;
	a.x.s = h->val;
	a.x.e = h->val + h->vlen;
	a.x.com = &a.com;
	if (lwsp(&a.x) > 0)
		for (;;) {
			st = a.x.s;
			if ((r = group(&a)) < 0) {
				a.x.s = st;
				r = mailbox(&a);
			}
			if (r == 0)
				break;
			if (a.x.s >= a.x.e || *a.x.s != ',')
				break;
			a.x.s++;
			if ((r = lwsp(&a.x)) <= 0) {
				if (r < 0)
					emitfixed(&a);
				break;
			}
		}
	str_adds(out, a.n ? ")" : "NIL");
	str_free(&a.com);
	str_free(&a.w);
	arena_free(&a.ar);
}

/* The list of the last field called name, or NIL if it holds no address. */
static int
addrfield(Str *out, Part *p, const char *name)
{
	size_t n = out->n;

	addrlist(out, lasthdr(p, name));
	return out->n - n == 3 && memcmp(out->p + n, "NIL", 3) == 0;
}

void
imap_envelope(Str *out, Msg *m, Part *p)
{
	Str from = { 0 };

	(void)m;
	str_addc(out, '(');
	hnstr(out, lasthdr(p, "date"), 0);
	str_addc(out, ' ');
	hnstr(out, lasthdr(p, "subject"), 1);
	str_addc(out, ' ');
	addrfield(&from, p, "from");
	str_addn(out, from.p, from.n);
	str_addc(out, ' ');
	/* Sender and Reply-To default to From */
	if (addrfield(out, p, "sender")) {
		out->n -= 3;
		str_addn(out, from.p, from.n);
	}
	str_addc(out, ' ');
	if (addrfield(out, p, "reply-to")) {
		out->n -= 3;
		str_addn(out, from.p, from.n);
	}
	str_addc(out, ' ');
	addrfield(out, p, "to");
	str_addc(out, ' ');
	addrfield(out, p, "cc");
	str_addc(out, ' ');
	addrfield(out, p, "bcc");
	str_addc(out, ' ');
	hnstr(out, lasthdr(p, "in-reply-to"), 0);
	str_addc(out, ' ');
	hnstr(out, lasthdr(p, "message-id"), 0);
	str_addc(out, ')');
	str_free(&from);
}

/* ---- MIME fields ---- */

/* A Content-Type or -Disposition parameter, name and value as written. */
typedef struct Kv {
	char *k, *v;
	int idx, ext;	/* RFC 2231 section and '*' while merging */
} Kv;

/* What a Content-Type says, read as Dovecot reads it. */
typedef struct Ct {
	char *type, *sub;	/* type NULL: no Content-Type field */
	Kv *par;
	int npar;
} Ct;

/* ";" name "=" value; -1 when it is no parameter, 0 at the end. */
static int
param(Lx *x, Str *k, Str *v)
{
	int r;

	str_reset(k);
	str_reset(v);
	str_adds(v, "");
	if (x->s >= x->e)
		return 0;
	if (*x->s != ';')
		return -1;
	x->s++;
	if (lwsp(x) <= 0 || run(x, k, istoken, 1) <= 0 || *x->s != '=')
		return -1;
	x->s++;
	if ((r = lwsp(x)) <= 0)
		return r < 0 ? -1 : 1;
	if (*x->s == '"')
		r = quoted(x, v);
	else if (*x->s == '=') {
		/* name==?utf-8?b?...?= from broken mailers */
		while (x->s < x->e && *x->s != ';' && !isfws((unsigned char)*x->s))
			str_addc(v, *x->s++);
	} else
		r = run(x, v, istoken, 1);
	return r < 0 ? -1 : 1;
}

/*
 * Parameters to the end of x: plain ones in order, then RFC 2231 sections
 * joined under "name" or "name*" (values still encoded), sorted by name;
 * a name with a section missing keeps its pieces as "name*N".
 */
static void
params(Arena *ar, Lx *x, Kv **pv, int *np)
{
	Kv v[LIM_MSGPARAMS], c[LIM_MSGPARAMS], t;
	Str k = { 0 }, val = { 0 }, j = { 0 };
	int nv = 0, nc = 0, r, a, b, i, ok, ext;
	char *star, *q;

	while ((r = param(x, &k, &val)) != 0) {
		if (r < 0) {
			if (x->s >= x->e)
				break;
			x->s++;
			continue;
		}
		if (nv + nc == LIM_MSGPARAMS)
			continue;
		str_adds(&k, "");
		t.k = arena_strndup(ar, k.p, k.n);
		t.v = arena_strndup(ar, val.p, val.n);
		t.idx = t.ext = 0;
		if ((star = strchr(t.k, '*')) != NULL) {
			q = star;
			if (q[1] != 0)
				for (q++; *q >= '0' && *q <= '9'; q++)
					if (t.idx < 100000)
						t.idx = t.idx * 10 + *q - '0';
			if (*q == '*') {
				t.ext = 1;
				q++;
			}
			if (*q == 0) {
				*star = 0;
				c[nc++] = t;
				continue;
			}
		}
		v[nv++] = t;
	}
	/* sort the sections by name, then number */
	for (a = 1; a < nc; a++)
		for (b = a; b > 0; b--) {
			r = strcmp(c[b - 1].k, c[b].k);
			if (r < 0 || (r == 0 && c[b - 1].idx <= c[b].idx))
				break;
			t = c[b];
			c[b] = c[b - 1];
			c[b - 1] = t;
		}
	for (a = 0; a < nc; a = b) {
		ok = 1;
		ext = 0;
		for (b = a; b < nc && strcasecmp(c[a].k, c[b].k) == 0; b++) {
			ok &= c[b].idx == b - a;
			ext |= c[b].ext;
		}
		if (!ok) {
			for (i = a; i < b; i++) {
				str_reset(&j);
				str_fmt(&j, "%s*%d%s", c[i].k, c[i].idx, c[i].ext ? "*" : "");
				v[nv].k = arena_strdup(ar, j.p);
				v[nv++].v = c[i].v;
			}
			continue;
		}
		str_reset(&j);
		str_adds(&j, ext && !c[a].ext ? "''" : "");
		for (i = a; i < b; i++)
			for (q = c[i].v; *q; q++)
				if (ext && !c[i].ext && *q == '%')
					str_adds(&j, "%25");
				else
					str_addc(&j, *q);
		v[nv].v = arena_strndup(ar, j.p, j.n);
		str_reset(&j);
		str_fmt(&j, "%s%s", c[a].k, ext ? "*" : "");
		v[nv++].k = arena_strdup(ar, j.p);
	}
	*pv = arena_alloc(ar, (nv ? nv : 1) * sizeof **pv);
	memcpy(*pv, v, nv * sizeof v[0]);
	*np = nv;
	str_free(&k);
	str_free(&val);
	str_free(&j);
}

static Lx
hlex(Hdr *h)
{
	Lx x = { h->val, h->val + h->vlen, NULL };

	return x;
}

/* type "/" subtype, then parameters unless the type was broken */
static void
ctype(Arena *ar, Part *p, Ct *ct)
{
	Hdr *h = msg_hdr(p, "content-type");
	Str w = { 0 };
	Lx x;
	int r;

	memset(ct, 0, sizeof *ct);
	if (h == NULL)
		return;
	x = hlex(h);
	ct->sub = "";
	str_adds(&w, "");
	r = lwsp(&x) <= 0 ? -1 : run(&x, &w, istoken, 1);
	ct->type = arena_strndup(ar, w.p, w.n);
	if (r > 0 && *x.s == '/') {
		x.s++;
		str_reset(&w);
		str_adds(&w, "");
		r = lwsp(&x) <= 0 ? -1 : run(&x, &w, istoken, 1);
		ct->sub = arena_strndup(ar, w.p, w.n);
		if (r >= 0)
			params(ar, &x, &ct->par, &ct->npar);
	}
	str_free(&w);
}

static int
ismulti(Part *p)
{
	return strcmp(p->type, "multipart") == 0;
}

/* message/rfc822 (message/global is a plain body to IMAP4rev1) */
static int
ismsg(Part *p)
{
	return strcmp(p->type, "message") == 0 && strcmp(p->subtype, "rfc822") == 0;
}

/* Whether s[0..n) holds an empty line. */
static int
hasblankline(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] == '\n' && (i == 0 || s[i - 1] == '\n' || (s[i - 1] == '\r' && (i == 1 || s[i - 2] == '\n'))))
			return 1;
	return 0;
}

/*
 * The length of p's body as Dovecot counts it: when a multipart's close
 * delimiter is followed at once by the enclosing multipart's delimiter,
 * the line break between them (which RFC 2046 gives to the latter) also
 * ends the inner multipart, and every part ending there with it.
 */
static size_t
bodylen(Msg *m, Part *p)
{
	const char *end = p->body + p->bodylen, *mend = m->raw + m->n, *l, *b;
	size_t bl, k, nl;
	Part *q = p, *c;

	if (end >= mend)
		return p->bodylen;
	nl = *end == '\n' ? 1 : end + 1 < mend && end[0] == '\r' && end[1] == '\n' ? 2 : 0;
	/* an encoded message/rfc822 is to Dovecot a message of header lines only */
	if (ismsg(p) && p->child == NULL && !hasblankline(p->body, p->bodylen))
		return p->bodylen + nl;
	while (nl > 0) {
		if (ismsg(q) && q->child && q->child->raw + q->child->rawlen == end) {
			q = q->child;
			continue;
		}
		if (!ismulti(q))
			break;
		if ((b = msg_param(q, "boundary")) != NULL) {
			for (l = end; l > q->body && l[-1] != '\n'; l--)
				;
			for (k = end - l; k > 0 && (l[k - 1] == ' ' || l[k - 1] == '\t' || l[k - 1] == '\r'); k--)
				;
			bl = strlen(b);
			if (k == bl + 4 && memcmp(l, "--", 2) == 0 && memcmp(l + 2, b, bl) == 0
			    && memcmp(l + 2 + bl, "--", 2) == 0)
				return p->bodylen + nl;
		}
		for (c = q->child; c && c->next; c = c->next)
			;
		if (c == NULL || c->raw + c->rawlen != end)
			break;
		q = c;
	}
	return p->bodylen;
}

/* ---- BODY and BODYSTRUCTURE ---- */

#define EMPTYBODY "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0"

static void
kvlist(Str *out, Kv *v, int n, int charset)
{
	int i, seen = 0;

	if (n == 0 && !charset) {
		str_adds(out, "NIL");
		return;
	}
	str_addc(out, '(');
	for (i = 0; i < n; i++) {
		if (i > 0)
			str_addc(out, ' ');
		seen |= strcasecmp(v[i].k, "charset") == 0;
		sstr(out, v[i].k);
		str_addc(out, ' ');
		sstr(out, v[i].v);
	}
	if (charset && !seen)
		str_adds(out, i > 0 ? " \"charset\" \"us-ascii\"" : "\"charset\" \"us-ascii\"");
	str_addc(out, ')');
}

/* body-ext: disposition, language, location */
static void
bodyext(Str *out, Arena *ar, Part *p)
{
	Str w = { 0 };
	Kv *dv = NULL;
	char *disp = NULL;
	int ndv = 0, n = 0;
	Hdr *h;
	Lx x;

	/* the first Content-Disposition with parameters, else the last */
	for (h = msg_hdr(p, "content-disposition"); h != NULL && ndv == 0; h = msg_hdrnext(p, h)) {
		x = hlex(h);
		str_reset(&w);
		str_adds(&w, "");
		lwsp(&x);
		if (run(&x, &w, istoken, 1) < 0)
			continue;
		disp = arena_strndup(ar, w.p, w.n);
		params(ar, &x, &dv, &ndv);
	}
	str_addc(out, ' ');
	if (disp == NULL)
		str_adds(out, "NIL");
	else {
		str_addc(out, '(');
		sstr(out, disp);
		str_addc(out, ' ');
		kvlist(out, dv, ndv, 0);
		str_addc(out, ')');
	}
	/* Content-Language: atoms separated by commas */
	str_addc(out, ' ');
	if ((h = msg_hdr(p, "content-language")) != NULL) {
		x = hlex(h);
		lwsp(&x);
		for (;;) {
			str_reset(&w);
			if (atom(&x, &w) < 0)
				break;
			str_addc(out, n++ ? ' ' : '(');
			imap_str(out, w.p, w.n);
			if (x.s >= x.e || *x.s != ',')
				break;
			x.s++;
			lwsp(&x);
		}
	}
	str_adds(out, n ? ")" : "NIL");
	str_addc(out, ' ');
	hnstr(out, msg_hdr(p, "content-location"), 0);
	str_free(&w);
}

static void
body1(Str *out, Msg *m, Part *p, int ext)
{
	Arena ar = { 0 };
	Str w = { 0 };
	Part *c;
	Ct ct;
	Hdr *h;
	Lx x;
	uint64_t size, lines;
	int text;

	ctype(&ar, p, &ct);
	if (ismulti(p)) {
		if (p->child == NULL)
			str_adds(out, ext ? EMPTYBODY " NIL NIL NIL NIL)" : EMPTYBODY ")");
		for (c = p->child; c != NULL; c = c->next) {
			str_addc(out, '(');
			body1(out, m, c, ext);
			str_addc(out, ')');
		}
		str_addc(out, ' ');
		sstr(out, ct.sub ? ct.sub : p->subtype);
		if (ext) {
			str_addc(out, ' ');
			kvlist(out, ct.par, ct.npar, 0);
			bodyext(out, &ar, p);
		}
		arena_free(&ar);
		return;
	}
	text = 0;
	if (ismsg(p))
		str_adds(out, "\"message\" \"rfc822\"");
	else if (ct.type == NULL) {
		str_adds(out, "\"text\" \"plain\"");
		text = 1;
	} else {
		sstr(out, ct.type);
		str_addc(out, ' ');
		sstr(out, ct.sub);
		text = strcasecmp(ct.type, "text") == 0;
	}
	str_addc(out, ' ');
	kvlist(out, ct.par, ct.npar, text);
	str_addc(out, ' ');
	hnstr(out, msg_hdr(p, "content-id"), 0);
	str_addc(out, ' ');
	hnstr(out, msg_hdr(p, "content-description"), 0);
	str_addc(out, ' ');
	/* Content-Transfer-Encoding: one token, else 7bit */
	str_adds(&w, "");
	if ((h = msg_hdr(p, "content-transfer-encoding")) != NULL) {
		x = hlex(h);
		lwsp(&x);
		if (run(&x, &w, istoken, 1) < 0 || lwsp(&x) != 0)
			w.n = 0;
	}
	sstr(out, w.n ? w.p : "7bit");
	size = imap_crlfsize(p->body, bodylen(m, p), &lines);
	str_fmt(out, " %llu", (unsigned long long)size);
	if (text)
		str_fmt(out, " %llu", (unsigned long long)lines);
	else if (ismsg(p)) {
		/* an encoded message/rfc822 was not parsed: an empty one */
		str_addc(out, ' ');
		if (p->child)
			imap_envelope(out, m, p->child);
		else
			str_adds(out, "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
		str_addc(out, ' ');
		if (p->child) {
			str_addc(out, '(');
			body1(out, m, p->child, ext);
			str_addc(out, ')');
		} else
			str_adds(out, ext ? EMPTYBODY " NIL NIL NIL NIL)" : EMPTYBODY ")");
		str_fmt(out, " %llu", (unsigned long long)lines);
	}
	if (ext) {
		str_addc(out, ' ');
		hnstr(out, msg_hdr(p, "content-md5"), 0);
		bodyext(out, &ar, p);
	}
	str_free(&w);
	arena_free(&ar);
}

int
imap_bodystructure(Str *out, Msg *m, Part *p, int ext)
{
	str_addc(out, '(');
	body1(out, m, p, ext);
	str_addc(out, ')');
	return 0;
}

/* ---- sections ---- */

enum { S_ALL, S_HEADER, S_FIELDS, S_NOT, S_TEXT, S_MIME };
static const char *specname[] = { "", "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT", "MIME" };

typedef struct Sect {
	uint32_t num[LIM_IMAPSECTDEPTH];	/* 0: larger than any part number */
	int nnum;
	size_t pathlen;		/* of the numbers as written */
	int spec;
	int nf;			/* HEADER.FIELDS names, unquoted in names */
	size_t foff[LIM_IMAPFIELDS], flen[LIM_IMAPFIELDS];
	char fq[LIM_IMAPFIELDS];	/* was quoted */
	Str names;
} Sect;

static int
isdigit_(int c)
{
	return c >= '0' && c <= '9';
}

/* ASTRING-CHAR, ']' included: the caller has found the section's end. */
static int
isastr(int c)
{
	return c > ' ' && c < 0x7f && strchr("(){%*\"\\", c) == NULL;
}

static int
bad(const char *what)
{
	seterr("invalid section: %s", what);
	return -1;
}

/*
 * section-spec (RFC 3501 §9): [part ["." text]] where part is nz-numbers
 * joined by dots and text HEADER, HEADER.FIELDS[.NOT] (names), TEXT or
 * (after a part) MIME, in any case.  Blanks in the name list are as
 * lenient as Dovecot's.
 */
static int
parsesect(Sect *sc, const char *s, size_t n)
{
	const char *e = s + n, *st = s, *k;
	uint32_t v;
	int dot = 0, i;

	sc->nnum = sc->nf = 0;
	sc->spec = S_ALL;
	str_reset(&sc->names);
	str_adds(&sc->names, "");
	while (s < e && isdigit_(*s)) {
		if (*s == '0')
			return bad("part number 0");
		for (v = 0; s < e && isdigit_(*s); s++)
			if (v <= LIM_MSGPARTS)
				v = v * 10 + *s - '0';
		if (sc->nnum == LIM_IMAPSECTDEPTH)
			return bad("too many part numbers");
		sc->num[sc->nnum++] = v <= LIM_MSGPARTS ? v : 0;
		sc->pathlen = s - st;
		dot = s < e && *s == '.';
		if (!dot)
			break;
		s++;
	}
	if (s == e && !dot)
		return 0;
	if (sc->nnum > 0 && !dot)
		return bad("junk after the part number");
	for (k = s; k < e && ((*k >= 'A' && *k <= 'Z') || (*k >= 'a' && *k <= 'z') || *k == '.'); k++)
		;
	for (i = S_HEADER; i <= S_MIME; i++)
		if (strlen(specname[i]) == (size_t)(k - s) && strncasecmp(s, specname[i], k - s) == 0)
			break;
	if (i > S_MIME || (i == S_MIME && sc->nnum == 0))
		return bad("unknown section text");
	sc->spec = i;
	if (i != S_FIELDS && i != S_NOT)
		return k == e ? 0 : bad("junk after the section text");
	/* SP "(" header-fld-name *(SP header-fld-name) ")" */
	if (k == e || *k != ' ')
		return bad("no header field list");
	while (k < e && *k == ' ')
		k++;
	if (k == e || *k++ != '(')
		return bad("no header field list");
	for (;;) {
		while (k < e && *k == ' ')
			k++;
		if (k == e)
			return bad("unterminated header field list");
		if (*k == ')') {
			if (sc->nf == 0)
				return bad("empty header field list");
			k++;
			break;
		}
		if (sc->nf == LIM_IMAPFIELDS)
			return bad("too many header fields");
		sc->foff[sc->nf] = sc->names.n;
		sc->fq[sc->nf] = *k == '"';
		if (*k == '"') {
			for (k++; k < e && *k != '"'; k++) {
				if (*k == '\\' && (++k == e || (*k != '"' && *k != '\\')))
					return bad("bad quoted string");
				if (*k == 0 || *k == '\r' || *k == '\n')
					return bad("bad quoted string");
				str_addc(&sc->names, *k);
			}
			if (k++ == e)
				return bad("unterminated quoted string");
		} else {
			for (st = k; k < e && isastr((unsigned char)*k); k++)
				str_addc(&sc->names, *k);
			if (k == st)
				return bad("bad header field name");
		}
		sc->flen[sc->nf] = sc->names.n - sc->foff[sc->nf];
		sc->nf++;
		if (k < e && *k != ' ' && *k != ')')
			return bad("bad header field name");
	}
	return k == e ? 0 : bad("junk after the header field list");
}

int
imap_sectname(Str *out, const char *sect, size_t n)
{
	Sect sc;
	const char *f;
	size_t i;
	int k;

	memset(&sc, 0, sizeof sc);
	if (parsesect(&sc, sect, n) < 0) {
		str_free(&sc.names);
		return -1;
	}
	str_addn(out, sect, sc.nnum ? sc.pathlen : 0);
	if (sc.spec != S_ALL) {
		if (sc.nnum)
			str_addc(out, '.');
		str_adds(out, specname[sc.spec]);
	}
	for (k = 0; k < sc.nf; k++) {
		str_adds(out, k ? " " : " (");
		if (sc.fq[k])
			str_addc(out, '"');
		for (f = sc.names.p + sc.foff[k], i = 0; i < sc.flen[k]; i++) {
			if (sc.fq[k] && (f[i] == '"' || f[i] == '\\'))
				str_addc(out, '\\');
			str_addc(out, f[i] >= 'a' && f[i] <= 'z' ? f[i] - 'a' + 'A' : f[i]);
		}
		if (sc.fq[k])
			str_addc(out, '"');
	}
	if (sc.nf)
		str_addc(out, ')');
	str_free(&sc.names);
	return 0;
}

static Part *
nth(Part *p, uint32_t n)
{
	Part *c;

	for (c = p->child; c != NULL && --n > 0; c = c->next)
		;
	return c;
}

/*
 * The part a path names (§6.4.5): a multipart's parts count from 1;
 * part 1 of anything else (the message itself included) is its body;
 * below a message/rfc822 part the numbers go on in the enclosed message.
 */
static Part *
resolve(Msg *m, Sect *sc)
{
	Part *p = m->root;
	int i;

	for (i = 0; i < sc->nnum && p != NULL; i++) {
		if (sc->num[i] == 0)
			return NULL;
		if (i > 0 && ismsg(p)) {
			if ((p = p->child) == NULL)
				return NULL;
		}
		if (ismulti(p))
			p = nth(p, sc->num[i]);
		else if (sc->num[i] != 1)
			return NULL;
	}
	return p;
}

/* Whether p's header ends with a blank line (not the end of the message). */
static int
hasblank(Part *p)
{
	const char *h = p->hdr;
	size_t n = p->hdrlen;

	if (n > 0 && h[n - 1] == '\n')
		n--;
	else
		return 0;
	if (n > 0 && h[n - 1] == '\r')
		n--;
	return n == 0 || h[n - 1] == '\n';
}

/*
 * HEADER.FIELDS[.NOT]: the fields named (or the others) as written, in
 * order, and the blank line ending the header, which (as in Dovecot) a
 * header cut short by the end of the message gets when its last field is
 * shown.
 */
static void
fields(Str *out, Part *p, Sect *sc, int not)
{
	const char *end, *hend = p->hdr + p->hdrlen;
	int i, k, hit, blank = hasblank(p);
	Hdr *h;

	for (i = 0; i < p->nh; i++) {
		h = &p->h[i];
		for (hit = k = 0; k < sc->nf && !hit; k++)
			hit = sc->flen[k] == h->nlen && strncasecmp(sc->names.p + sc->foff[k], h->name, h->nlen) == 0;
		if (hit == not)
			continue;
		end = h->val + h->vlen;
		if (end < hend && *end == '\r' && end + 1 < hend && end[1] == '\n')
			end += 2;
		else if (end < hend && *end == '\n')
			end++;
		imap_crlf(out, h->name, end - h->name);
		if (end[-1] != '\n') {
			str_adds(out, "\r\n");
			blank = 1;
		}
	}
	if (blank)
		str_adds(out, "\r\n");
}

int
imap_section(Str *out, Msg *m, const char *sect, size_t n, int *ok)
{
	Sect sc;
	Part *p;

	memset(&sc, 0, sizeof sc);
	*ok = 1;
	str_adds(out, "");
	if (parsesect(&sc, sect, n) < 0) {
		str_free(&sc.names);
		return -1;
	}
	p = resolve(m, &sc);
	if (p != NULL && sc.nnum > 0 && sc.spec != S_ALL && sc.spec != S_MIME)
		p = ismsg(p) ? p->child : NULL;
	if (p == NULL)
		*ok = 0;
	else if (sc.spec == S_ALL && sc.nnum == 0)
		imap_crlf(out, m->raw, m->n);
	else if (sc.spec == S_ALL || sc.spec == S_TEXT)
		imap_crlf(out, p->body, bodylen(m, p));
	else if (sc.spec == S_MIME || sc.spec == S_HEADER)
		imap_crlf(out, p->hdr, p->hdrlen);
	else
		fields(out, p, &sc, sc.spec == S_NOT);
	str_free(&sc.names);
	return 0;
}

/* ---- BINARY ---- */

/* Quoted-printable decoded, hard line breaks as CRLF (RFC 2045 §6.7). */
static void
qpcrlf(Str *out, const char *s, size_t n)
{
	const char *nl;
	size_t i, e, t, next;

	for (i = 0; i < n; i = next) {
		nl = memchr(s + i, '\n', n - i);
		e = nl ? (size_t)(nl - s) : n;
		next = nl ? e + 1 : n;
		if (e > i && s[e - 1] == '\r')
			e--;
		msg_qpdec(s + i, e - i, 0, out);
		for (t = e; t > i && (s[t - 1] == ' ' || s[t - 1] == '\t'); t--)
			;
		if (nl && (t == i || s[t - 1] != '='))
			str_addn(out, "\r\n", 2);
	}
}

int
imap_binary(Str *out, Msg *m, const char *sect, size_t n, int *ok)
{
	Sect sc;
	Part *p;

	memset(&sc, 0, sizeof sc);
	*ok = 1;
	str_adds(out, "");
	if (parsesect(&sc, sect, n) < 0 || (sc.spec != S_ALL && bad("BINARY takes part numbers only"))) {
		str_free(&sc.names);
		return -1;
	}
	str_free(&sc.names);
	if (sc.nnum == 0) {
		imap_crlf(out, m->raw, m->n);
		return 0;
	}
	if ((p = resolve(m, &sc)) == NULL)
		*ok = 0;
	else if (ismulti(p) || (ismsg(p) && p->child) || p->enc == ENC_NONE) {
		if (strcmp(p->cte, "7bit") != 0 && strcmp(p->cte, "8bit") != 0 && strcmp(p->cte, "binary") != 0) {
			seterr("unknown Content-Transfer-Encoding %s", p->cte);
			return IMAP_UNKNOWNCTE;
		}
		imap_crlf(out, p->body, bodylen(m, p));
	} else if (p->enc == ENC_B64)
		msg_b64dec(p->body, p->bodylen, out);
	else
		qpcrlf(out, p->body, p->bodylen);
	return 0;
}
