/*
 * RFC 5322 header fields and the MIME tree, parsed in place in one pass.
 *
 * Each line is read once, by the innermost part it belongs to.  The
 * boundaries of the enclosing multiparts sit on a stack; a line that is a
 * delimiter of any of them ends the current part, so a part whose close
 * delimiter is missing still ends where its parent's next part begins.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "msg.h"

typedef struct P {
	Msg *m;
	const char *s;
	size_t n;
	const char *bnd[LIM_MSGDEPTH + 1];	/* boundaries of the enclosing multiparts */
	size_t blen[LIM_MSGDEPTH + 1];
	int nb;
	Hdr *tmp;	/* the fields of the part being read */
	int ntmp, captmp;
} P;

static char *
lower(char *s)
{
	char *p;

	for (p = s; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p += 'a' - 'A';
	return s;
}

/* The line at pos: *len without its line end, *next where the next begins. */
static int
line(P *ps, size_t pos, size_t *len, size_t *next)
{
	size_t max = ps->n - pos, lim = LIM_MSGLINE + 2, l;
	const char *e = memchr(ps->s + pos, '\n', max < lim ? max : lim);

	if (e == NULL && max >= lim) {
		seterr("line too long (limit %d octets)", LIM_MSGLINE);
		return -1;
	}
	l = e ? (size_t)(e - (ps->s + pos)) : max;
	*next = e ? pos + l + 1 : ps->n;
	if (l > 0 && ps->s[pos + l - 1] == '\r')
		l--;
	if (l > LIM_MSGLINE) {
		seterr("line too long (limit %d octets)", LIM_MSGLINE);
		return -1;
	}
	*len = l;
	return 0;
}

/*
 * The stack level whose delimiter line l is, innermost first, or -1;
 * *close for a close delimiter.  RFC 2046 §5.1.1: "--" boundary, "--" to
 * close, then only blanks.
 */
static int
delim(P *ps, const char *l, size_t len, int *close)
{
	size_t k, bl;
	int i;

	if (ps->nb == 0 || len < 2 || l[0] != '-' || l[1] != '-')
		return -1;
	for (i = ps->nb - 1; i >= 0; i--) {
		bl = ps->blen[i];
		if (len < 2 + bl || memcmp(l + 2, ps->bnd[i], bl) != 0)
			continue;
		k = 2 + bl;
		*close = len >= k + 2 && l[k] == '-' && l[k + 1] == '-';
		if (*close)
			k += 2;
		while (k < len && (l[k] == ' ' || l[k] == '\t'))
			k++;
		if (k == len)
			return i;
	}
	return -1;
}

/* A field's first line: name, optional blanks (obs-syntax), colon. */
static int
isfield(const char *l, size_t len, size_t *nlen, size_t *voff)
{
	size_t i, k;

	for (i = 0; i < len && l[i] > 32 && l[i] < 127 && l[i] != ':'; i++)
		;
	if (i == 0)
		return 0;
	for (k = i; k < len && (l[k] == ' ' || l[k] == '\t'); k++)
		;
	if (k == len || l[k] != ':')
		return 0;
	*nlen = i;
	for (k++; k < len && (l[k] == ' ' || l[k] == '\t'); k++)
		;
	*voff = k;
	return 1;
}

/* Where a part ended by a delimiter line at d ends: the line break before d belongs to the delimiter. */
static size_t
partend(const char *s, size_t start, size_t d)
{
	if (d > start && s[d - 1] == '\n') {
		d--;
		if (d > start && s[d - 1] == '\r')
			d--;
	}
	return d;
}

/*
 * A part that begins right at the delimiter ending its parent is empty,
 * and lies one line break past the parent's end: move it, and the empty
 * parts inside it, back to that end.
 */
static void
clamp(Part *c, const char *end)
{
	for (; c; c = c->child) {
		while (c->next)
			c = c->next;
		if (c->raw + c->rawlen <= end)
			return;
		c->raw = c->hdr = c->body = end;
		c->rawlen = c->hdrlen = c->bodylen = 0;
	}
}

static int
istoken(const char *s)
{
	if (*s == 0)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= 32 || *s == 127 || strchr("()<>@,;:\\\"/[]?=", *s))
			return 0;
	return 1;
}

/* Content-Type, -Transfer-Encoding and -Disposition, with RFC 2045 and 2046's defaults. */
static int
interpret(Msg *m, Part *p, int indigest)
{
	char *v, *slash;
	const char *cs;
	Hdr *h;

	p->type = indigest ? "message" : "text";
	p->subtype = indigest ? "rfc822" : "plain";
	if ((h = msg_hdr(p, "content-type")) != NULL) {
		if (msg_params(&m->ar, h->val, h->vlen, &v, &p->param, &p->nparam) < 0)
			return -1;
		lower(v);
		if ((slash = strchr(v, '/')) != NULL) {
			*slash++ = 0;
			if (istoken(v) && istoken(slash)) {
				p->type = v;
				p->subtype = slash;
			}
		}
	}
	if ((cs = msg_param(p, "charset")) != NULL && *cs)
		p->charset = lower(arena_strdup(&m->ar, cs));
	else if (strcmp(p->type, "text") == 0)
		p->charset = "us-ascii";
	p->cte = "7bit";
	if ((h = msg_hdr(p, "content-transfer-encoding")) != NULL) {
		v = msg_unfold(&m->ar, h->val, h->vlen);
		v[strcspn(v, " \t(;")] = 0;
		if (*v)
			p->cte = lower(v);
	}
	if (strcmp(p->cte, "quoted-printable") == 0)
		p->enc = ENC_QP;
	else if (strcmp(p->cte, "base64") == 0)
		p->enc = ENC_B64;
	if ((h = msg_hdr(p, "content-disposition")) != NULL) {
		if (msg_params(&m->ar, h->val, h->vlen, &v, &p->dparam, &p->ndparam) < 0)
			return -1;
		if (*v)
			p->disp = lower(v);
	}
	if ((cs = msg_dparam(p, "filename")) == NULL)
		cs = msg_param(p, "name");
	p->filename = (char *)cs;
	return 0;
}

/* From pos, the lines up to the next delimiter of any level (its start in *d, or n). */
static int
skip(P *ps, size_t pos, size_t *d, int *lv, int *close)
{
	size_t len, next;

	for (; pos < ps->n; pos = next) {
		if (line(ps, pos, &len, &next) < 0)
			return -1;
		if ((*lv = delim(ps, ps->s + pos, len, close)) >= 0)
			break;
	}
	*d = pos;
	return 0;
}

static Part *
newpart(Msg *m, Part *parent)
{
	Part *p = arena_alloc(&m->ar, sizeof *p);

	memset(p, 0, sizeof *p);
	p->parent = parent;
	if (parent)
		p->depth = parent->depth + 1;
	return p;
}

/*
 * The part starting at pos; *at gets where it ended: the start of a
 * delimiter line of an enclosing multipart, or n.
 */
static int
parse(P *ps, Part *p, size_t pos, int indigest, size_t *at)
{
	size_t start = pos, len, next, hend, bstart, d, e;
	size_t nlen, voff;
	const char *l, *b;
	Part *c, **link;
	int lv = -1, close, my;
	Msg *m = ps->m;

	if (p->depth > LIM_MSGDEPTH) {
		seterr("MIME parts nested too deep (limit %d)", LIM_MSGDEPTH);
		return -1;
	}
	if (++m->nparts > LIM_MSGPARTS) {
		seterr("too many MIME parts (limit %d)", LIM_MSGPARTS);
		return -1;
	}
	ps->ntmp = 0;
	for (;;) {
		if (pos >= ps->n) {
			hend = bstart = pos;
			break;
		}
		if (line(ps, pos, &len, &next) < 0)
			return -1;
		l = ps->s + pos;
		if (len == 0) {
			hend = bstart = next;
			break;
		}
		if (delim(ps, l, len, &close) >= 0) {
			hend = bstart = pos;
			break;
		}
		if (l[0] == ' ' || l[0] == '\t') {
			if (ps->ntmp == 0) {
				hend = bstart = pos;
				break;
			}
			ps->tmp[ps->ntmp - 1].vlen = l + len - ps->tmp[ps->ntmp - 1].val;
		} else if (isfield(l, len, &nlen, &voff)) {
			if (ps->ntmp == LIM_MSGHDRS) {
				seterr("too many header fields (limit %d)", LIM_MSGHDRS);
				return -1;
			}
			if (ps->ntmp == ps->captmp) {
				ps->captmp = ps->captmp ? 2 * ps->captmp : 32;
				ps->tmp = xrealloc(ps->tmp, ps->captmp * sizeof ps->tmp[0]);
			}
			ps->tmp[ps->ntmp++] = (Hdr){ l, nlen, l + voff, len - voff };
		} else {
			hend = bstart = pos;
			break;
		}
		if (next - start > LIM_MSGHDRSIZE) {
			seterr("header too large (limit %d octets)", LIM_MSGHDRSIZE);
			return -1;
		}
		pos = next;
	}
	p->nh = ps->ntmp;
	p->h = arena_alloc(&m->ar, (p->nh ? p->nh : 1) * sizeof p->h[0]);
	if (p->nh > 0)
		memcpy(p->h, ps->tmp, p->nh * sizeof p->h[0]);
	if (interpret(m, p, indigest) < 0)
		return -1;

	if (strcmp(p->type, "multipart") == 0 && (b = msg_param(p, "boundary")) != NULL && *b) {
		my = ps->nb++;
		ps->bnd[my] = b;
		ps->blen[my] = strlen(b);
		if (skip(ps, bstart, &d, &lv, &close) < 0)
			return -1;
		link = &p->child;
		/* line() below rereads lines it has already passed: it cannot fail */
		while (d < ps->n && lv == my && !close) {
			line(ps, d, &len, &next);
			c = newpart(m, p);
			*link = c;
			link = &c->next;
			p->nchild++;
			if (parse(ps, c, next, strcmp(p->subtype, "digest") == 0, &d) < 0)
				return -1;
			if (d < ps->n) {
				line(ps, d, &len, &next);
				lv = delim(ps, ps->s + d, len, &close);
			}
		}
		ps->nb--;
		if (d < ps->n && lv == my) {
			line(ps, d, &len, &next);
			if (skip(ps, next, &d, &lv, &close) < 0)
				return -1;
		}
	} else if (strcmp(p->type, "message") == 0 && p->enc == ENC_NONE
	    && (strcmp(p->subtype, "rfc822") == 0 || strcmp(p->subtype, "global") == 0)) {
		c = newpart(m, p);
		p->child = c;
		p->nchild = 1;
		if (parse(ps, c, bstart, 0, &d) < 0)
			return -1;
	} else if (skip(ps, bstart, &d, &lv, &close) < 0)
		return -1;

	e = d < ps->n ? partend(ps->s, start, d) : ps->n;
	if (hend > e)
		hend = e;
	if (bstart > e)
		bstart = e;
	p->raw = ps->s + start;
	p->rawlen = e - start;
	p->hdr = p->raw;
	p->hdrlen = hend - start;
	p->body = ps->s + bstart;
	p->bodylen = e - bstart;
	clamp(p->child, ps->s + e);
	*at = d;
	return 0;
}

int
msg_parse(Msg *m, const char *raw, size_t n)
{
	P ps = { 0 };
	size_t len, next, d, nlen, voff;
	int r;

	memset(m, 0, sizeof *m);
	ps.m = m;
	ps.s = raw;
	ps.n = n;
	if (n >= 5 && memcmp(raw, "From ", 5) == 0) {
		if (line(&ps, 0, &len, &next) < 0)
			return -1;
		if (!isfield(raw, len, &nlen, &voff)) {
			m->unixfrom = raw;
			m->unixlen = len;
			raw += next;
			n -= next;
			ps.s = raw;
			ps.n = n;
		}
	}
	m->raw = raw;
	m->n = n;
	m->root = newpart(m, NULL);
	r = parse(&ps, m->root, 0, 0, &d);
	free(ps.tmp);
	if (r < 0)
		msg_free(m);
	return r;
}

void
msg_free(Msg *m)
{
	arena_free(&m->ar);
	m->root = NULL;
	m->nparts = 0;
}

static int
named(Hdr *h, const char *name, size_t n)
{
	return h->nlen == n && strncasecmp(h->name, name, n) == 0;
}

Hdr *
msg_hdr(Part *p, const char *name)
{
	size_t n = strlen(name);
	int i;

	for (i = 0; i < p->nh; i++)
		if (named(&p->h[i], name, n))
			return &p->h[i];
	return NULL;
}

Hdr *
msg_hdrnext(Part *p, Hdr *h)
{
	Hdr *e = p->h + p->nh;
	const char *name = h->name;
	size_t n = h->nlen;

	for (h++; h < e; h++)
		if (named(h, name, n))
			return h;
	return NULL;
}

char *
msg_unfold(Arena *ar, const char *v, size_t n)
{
	char *r = arena_alloc(ar, n + 1), *e;
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		if (v[i] != '\r' && v[i] != '\n' && (k > 0 || (v[i] != ' ' && v[i] != '\t')))
			r[k++] = v[i];
	for (e = r + k; e > r && (e[-1] == ' ' || e[-1] == '\t'); e--)
		;
	*e = 0;
	return r;
}

char *
msg_hdrtext(Msg *m, Part *p, const char *name)
{
	Hdr *h = msg_hdr(p, name);

	return h ? msg_hdrdecode(&m->ar, h->val, h->vlen) : NULL;
}

static const char *
param(Param *v, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return v[i].val;
	return NULL;
}

const char *
msg_param(Part *p, const char *name)
{
	return param(p->param, p->nparam, name);
}

const char *
msg_dparam(Part *p, const char *name)
{
	return param(p->dparam, p->ndparam, name);
}

/* One name=value as written; RFC 2231 sections are joined later. */
typedef struct Seg {
	char *name;	/* lowercased, without the '*' suffixes */
	int sect;	/* -1: no section number */
	int ext;	/* ends in '*': charset'lang'%XX */
	char *val;
	size_t len;
} Seg;

/* A comment at s[i] ("(" ... ")", nested, quoted pairs): the index after it. */
static size_t
comment(const char *s, size_t n, size_t i)
{
	int depth = 0;

	for (; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n)
			i++;
		else if (s[i] == '(')
			depth++;
		else if (s[i] == ')' && --depth == 0)
			return i + 1;
	}
	return n;
}

static int
ishex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int
hexv(int c)
{
	return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* RFC 2231 §4: a value's sections joined, %XX undone in extended ones, converted from its charset. */
static char *
join(Arena *ar, Seg **g, int n)
{
	Str raw = { 0 }, out = { 0 };
	char *cs = NULL, *r, *v, *q;
	size_t len, i;
	int k;

	str_adds(&raw, "");
	for (k = 0; k < n; k++) {
		v = g[k]->val;
		len = g[k]->len;
		if (!g[k]->ext) {
			str_addn(&raw, v, len);
			continue;
		}
		if (k == 0 && (q = memchr(v, '\'', len)) != NULL && memchr(q + 1, '\'', len - (q + 1 - v))) {
			cs = arena_strndup(ar, v, q - v);
			q = memchr(q + 1, '\'', len - (q + 1 - v));
			len -= q + 1 - v;
			v = q + 1;
		}
		for (i = 0; i < len; i++)
			if (v[i] == '%' && i + 2 < len && ishex(v[i + 1]) && ishex(v[i + 2])) {
				str_addc(&raw, hexv(v[i + 1]) << 4 | hexv(v[i + 2]));
				i += 2;
			} else
				str_addc(&raw, v[i]);
	}
	if (cs && *cs) {
		str_adds(&out, "");
		msg_toutf8(cs, raw.p, raw.n, &out);
		r = arena_strndup(ar, out.p, out.n);
	} else if (g[0]->ext || strstr(raw.p, "=?") == NULL)
		r = arena_strndup(ar, raw.p, raw.n);
	else
		r = msg_hdrdecode(ar, raw.p, raw.n);
	str_free(&raw);
	str_free(&out);
	return r;
}

/* name, name*, name*N or name*N*: the base name, section and extension flag. */
static void
segname(Arena *ar, const char *s, size_t n, Seg *g)
{
	size_t i, k;

	g->sect = -1;
	g->ext = n > 0 && s[n - 1] == '*';
	if (g->ext)
		n--;
	for (i = n; i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9'; i--)
		;
	if (i < n && i > 1 && s[i - 1] == '*' && n - i <= 4) {
		g->sect = 0;
		for (k = i; k < n; k++)
			g->sect = g->sect * 10 + s[k] - '0';
		n = i - 1;
	}
	g->name = lower(arena_strndup(ar, s, n));
}

int
msg_params(Arena *ar, const char *s, size_t n, char **value, Param **pv, int *np)
{
	Seg seg[LIM_MSGPARAMS], *grp[LIM_MSGPARAMS], *t;
	Param *v;
	size_t i, ns, ne, j;
	int nseg = 0, nv = 0, k, a, b, q;
	char *val, *buf;

	/* the value: up to the first ';', comments and blanks dropped */
	val = arena_alloc(ar, n + 1);
	for (i = 0, j = 0; i < n && s[i] != ';';) {
		if (s[i] == '(')
			i = comment(s, n, i);
		else {
			if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
				val[j++] = s[i];
			i++;
		}
	}
	val[j] = 0;
	*value = val;
	/* each value is shorter than the text it came from, '=' included: one buffer holds them all */
	buf = arena_alloc(ar, n + 1);
	while (i < n) {
		i++;
		while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n' || s[i] == '(' || s[i] == ';'))
			i = s[i] == '(' ? comment(s, n, i) : i + 1;
		for (ns = i; i < n && s[i] != '=' && s[i] != ';' && (unsigned char)s[i] > 32; i++)
			;
		ne = i;
		while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
			i++;
		if (ne == ns || i >= n || s[i] != '=') {
			while (i < n && s[i] != ';')
				i++;
			continue;
		}
		i++;
		while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
			i++;
		if (nseg == LIM_MSGPARAMS) {
			seterr("too many parameters (limit %d)", LIM_MSGPARAMS);
			return -1;
		}
		segname(ar, s + ns, ne - ns, &seg[nseg]);
		val = buf;
		j = 0;
		if (i < n && s[i] == '"') {
			for (i++; i < n && s[i] != '"'; i++) {
				if (s[i] == '\\' && i + 1 < n)
					i++;
				if (s[i] != '\r' && s[i] != '\n')
					val[j++] = s[i];
			}
			while (i < n && s[i] != ';')
				i++;
		} else {
			while (i < n && s[i] != ';') {
				if (s[i] == '(')
					i = comment(s, n, i);
				else {
					if (s[i] != '\r' && s[i] != '\n')
						val[j++] = s[i];
					i++;
				}
			}
			while (j > 0 && (val[j - 1] == ' ' || val[j - 1] == '\t'))
				j--;
		}
		val[j] = 0;
		buf += j + 1;
		seg[nseg].val = val;
		seg[nseg].len = j;
		nseg++;
	}
	v = arena_alloc(ar, (nseg ? nseg : 1) * sizeof *v);
	/* group the sections of each name, in the order names first appear */
	for (k = 0; k < nseg; k++) {
		if (seg[k].name == NULL)
			continue;
		b = 0;
		for (a = k; a < nseg; a++)
			if (seg[a].name && strcmp(seg[a].name, seg[k].name) == 0)
				grp[b++] = &seg[a];
		/* a continued or extended form wins over a plain one of the same name */
		q = 0;
		for (a = 0; a < b; a++)
			if (grp[a]->sect >= 0 || grp[a]->ext)
				grp[q++] = grp[a];
		if (q == 0)
			q = 1;
		for (a = 1; a < q; a++)
			for (j = a; j > 0 && grp[j - 1]->sect > grp[j]->sect; j--) {
				t = grp[j];
				grp[j] = grp[j - 1];
				grp[j - 1] = t;
			}
		v[nv].name = grp[0]->name;
		v[nv].val = join(ar, grp, q);
		nv++;
		for (a = k + 1; a < nseg; a++)
			if (seg[a].name && strcmp(seg[a].name, v[nv - 1].name) == 0)
				seg[a].name = NULL;
	}
	*pv = v;
	*np = nv;
	return 0;
}
