#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>
#include "rewrite.h"
#include "addr.h"

static char sysname[256], altname[256];

static void
names(void)
{
	static char lastsite[256];
	static int known;
	struct utsname u;
	const char *site = getenv("site");
	char *dot;

	/* the names change only with $site */
	if (known && strcmp(site ? site : "", lastsite) == 0)
		return;
	known = snprintf(lastsite, sizeof lastsite, "%s", site ? site : "") < (int)sizeof lastsite;
	sysname[0] = altname[0] = 0;
	if (uname(&u) < 0)
		strcpy(u.nodename, "localhost");
	if (site && *site && strlen(site) < sizeof sysname) {
		strcpy(sysname, site);
		if (strcmp(site, u.nodename) != 0)
			snprintf(altname, sizeof altname, "%s", u.nodename);
	} else {
		snprintf(sysname, sizeof sysname, "%s", u.nodename);
		if ((dot = strchr(sysname, '.')) != NULL)
			snprintf(altname, sizeof altname, "%.*s", (int)(dot - sysname), sysname);
	}
}

/* $site if set, else the host name: what \l stands for. */
const char *
rw_sysname(void)
{
	names();
	return sysname;
}

/* The host name when $site names another system, or a dotted host name's first label. */
const char *
rw_altsysname(void)
{
	names();
	return altname[0] ? altname : NULL;
}

static void
addesc(Str *s, const char *p, int pat)
{
	for (; *p; p++) {
		if (pat && strchr(".[]()*+?{}|^$\\", *p))
			str_addc(s, '\\');
		str_addc(s, *p);
	}
}

/*
 * The load-time escapes: \l the system name, \m the mail root (escaped for
 * the regexp when in a pattern), \\ a backslash; any other \x is kept for
 * the substitution.
 */
static char *
expand(Arena *ar, const char *f, const char *sys, int pat, int *backl)
{
	Str s = { 0 };
	char *r;

	if (f == NULL)
		return NULL;
	str_adds(&s, "");
	for (; *f; f++) {
		if (*f != '\\') {
			str_addc(&s, *f);
			continue;
		}
		switch (*++f) {
		case 'l':
			addesc(&s, sys, pat);
			*backl = 1;
			break;
		case 'm':
			addesc(&s, upas_root(), pat);
			break;
		case '\\':
			str_addc(&s, '\\');
			break;
		case 0:
			str_addc(&s, '\\');
			f--;
			break;
		default:
			str_addc(&s, '\\');
			str_addc(&s, *f);
		}
	}
	r = arena_strdup(ar, s.p);
	str_free(&s);
	return r;
}

static int
ruletype(const char *t)
{
	static const char *types[] = { [RW_CAT] = ">>", [RW_PIPE] = "|", [RW_ALIAS] = "alias",
		[RW_TRANSLATE] = "translate", [RW_AUTH] = "auth" };
	size_t i;

	for (i = 0; i < nelem(types); i++)
		if (strcmp(t, types[i]) == 0)
			return i;
	return -1;
}

/* Add the rule in fields f; 1 if it named the system, so it is due again for the other name. */
static int
addrule(Rewrite *rw, char **f, int nf, const char *sys)
{
	Rule *r;
	int backl = 0;
	char *p;

	if (rw->n == rw->cap) {
		rw->cap = rw->cap ? 2 * rw->cap : 32;
		rw->r = xrealloc(rw->r, rw->cap * sizeof *rw->r);
	}
	r = &rw->r[rw->n];
	memset(r, 0, sizeof *r);
	r->pat = expand(&rw->ar, f[0], sys, 1, &backl);
	for (p = r->pat; *p; p++)
		*p = tolower((unsigned char)*p);
	r->type = ruletype(f[1]);
	r->arg1 = expand(&rw->ar, nf > 2 ? f[2] : NULL, sys, 0, &backl);
	r->arg2 = expand(&rw->ar, nf > 3 ? f[3] : NULL, sys, 0, &backl);
	rw->n++;
	return backl;
}

void
rw_text(Rewrite *rw, char *text, size_t n, const char *name)
{
	char *f[LIM_CONFFIELDS];
	const char *alt = rw_altsysname();
	Conf c;
	int nf;

	memset(rw, 0, sizeof *rw);
	conf_text(&c, text, n, name);
	while ((nf = conf_line(&c, f, nelem(f))) != 0) {
		if (nf < 0) {
			warn("%s", lasterr());
			continue;
		}
		if (nf < 2 || nf > 4 || ruletype(f[1]) < 0) {
			warn("%s:%d: illegal rewrite rule", name, c.lineno);
			continue;
		}
		if (addrule(rw, f, nf, rw_sysname()) && alt)
			addrule(rw, f, nf, alt);
	}
	conf_close(&c);
}

int
rw_load(Rewrite *rw, const char *path)
{
	char buf[LIM_PATHNAME], *text;
	size_t n;

	if (path == NULL) {
		if (upas_path(buf, sizeof buf, "lib", "rewrite", NULL) < 0)
			return -1;
		path = buf;
	}
	if ((text = readfile(path, LIM_CONFFILE, &n)) == NULL)
		return -1;
	rw_text(rw, text, n, path);
	return path == buf ? rw_equivload(rw, NULL) : 0;
}

int
rw_equivload(Rewrite *rw, const char *path)
{
	char buf[LIM_PATHNAME], *text, *f[2];
	size_t n;
	Conf c;
	int nf;

	if (path == NULL) {
		if (upas_path(buf, sizeof buf, "lib", "equivlist", NULL) < 0)
			return -1;
		path = buf;
	}
	if ((text = readfile(path, LIM_EQUIVFILE, &n)) == NULL)
		return errno == ENOENT ? 0 : -1;
	conf_text(&c, text, n, path);
	while ((nf = conf_line(&c, f, nelem(f))) != 0) {
		if (nf < 0) {
			warn("%s", lasterr());
			continue;
		}
		if (nf != 1) {
			warn("%s:%d: one system name per line", path, c.lineno);
			continue;
		}
		if (rw->nequiv == LIM_EQUIV) {
			warn("%s:%d: more than %d names", path, c.lineno, LIM_EQUIV);
			break;
		}
		if (rw->nequiv % 16 == 0)
			rw->equiv = xrealloc(rw->equiv, (rw->nequiv + 16) * sizeof *rw->equiv);
		rw->equiv[rw->nequiv++] = arena_strdup(&rw->ar, f[0]);
	}
	conf_close(&c);
	return 0;
}

const char *
rw_unequiv(const Rewrite *rw, const char *addr)
{
	const char *bang;
	size_t k;
	int i;

	while ((bang = strchr(addr, '!')) != NULL && bang[1] != 0) {
		k = bang - addr;
		for (i = 0; i < rw->nequiv; i++)
			if (strlen(rw->equiv[i]) == k && strncasecmp(addr, rw->equiv[i], k) == 0)
				break;
		if (i == rw->nequiv)
			break;
		addr = bang + 1;
	}
	return addr;
}

void
rw_free(Rewrite *rw)
{
	int i;

	for (i = 0; i < rw->n; i++)
		if (rw->r[i].compiled == 1)
			re_free(rw->r[i].re);
	free(rw->r);
	free(rw->equiv);
	arena_free(&rw->ar);
	memset(rw, 0, sizeof *rw);
}

/* Substituted text: bytes that would split or quote a command word are marked literal. */
static void
addlit(Str *s, const char *p, size_t n)
{
	for (; n > 0; p++, n--) {
		if (strchr(" \t\n'\"", *p) || *p == RW_LIT)
			str_addc(s, RW_LIT);
		str_addc(s, *p);
	}
}

static char *
substitute(Arena *ar, const char *src, const char *addr, Rematch *pm, const Rwmsg *m)
{
	Str s = { 0 };
	const char *p;
	char *r;
	int i;

	if (src == NULL)
		return NULL;
	str_adds(&s, "");
	for (p = src; *p; p++) {
		if (*p == '&') {
			addlit(&s, addr + pm[0].so, pm[0].eo - pm[0].so);
			continue;
		}
		if (*p != '\\') {
			str_addc(&s, *p);
			continue;
		}
		switch (*++p) {
		case 0:
			p--;
			break;
		case '0': case '1': case '2': case '3': case '4':
		case '5': case '6': case '7': case '8': case '9':
			i = *p - '0' + 1;
			if (pm[i].so >= 0)
				addlit(&s, addr + pm[i].so, pm[i].eo - pm[i].so);
			break;
		case 's':
			addlit(&s, m->sender, strlen(m->sender));
			break;
		case 'p':
			str_adds(&s, m->bulk ? "bulk" : "normal");
			break;
		default:
			str_addc(&s, *p);
		}
	}
	r = arena_strdup(ar, s.p);
	str_free(&s);
	return r;
}

/*
 * Can the pattern match s at all, judged by its literal beginning? Most
 * rules start with a fixed name ("local!", "localhost!", the system name);
 * checking that first spares compiling the ones that cannot match. 1 when
 * it might (a pattern with a top-level | is always tried).
 */
static int
mightmatch(const char *pat, const char *s)
{
	size_t n = 0;

	if (strchr(pat, '|') != NULL)
		return 1;
	while (pat[n] && strchr(".[]()*+?|^$\\", pat[n]) == NULL)
		n++;
	if (n > 0 && pat[n] && strchr("*+?", pat[n]) != NULL)
		n--;	/* the last letter is repeated or optional */
	return strncasecmp(pat, s, n) == 0;
}

static int
compile(Rule *r)
{
	Str s = { 0 };

	if (r->compiled)
		return r->compiled;
	str_fmt(&s, "^(%s)$", r->pat);
	if ((r->re = re_comp(s.p, RE_ICASE)) == NULL) {
		warn("rewrite: %s: %s", r->pat, lasterr());
		r->compiled = -1;
	} else
		r->compiled = 1;
	str_free(&s);
	return r->compiled;
}

int
rw_match(Rewrite *rw, Arena *ar, const char *addr, const Rwmsg *m, int authorized,
    char **arg1, char **arg2)
{
	Rematch pm[RE_NSUB];	/* 0 and 1: all of it (our anchoring group); 2-10: \1-\9 */
	char *low = arena_strdup(ar, addr), *p;
	int i;

	for (p = low; *p; p++)
		*p = tolower((unsigned char)*p);
	for (i = 0; i < rw->n; i++) {
		if (rw->r[i].type == RW_AUTH && authorized)
			continue;
		if (!mightmatch(rw->r[i].pat, low) || compile(&rw->r[i]) < 0)
			continue;
		if (!re_exec(rw->r[i].re, low, strlen(low), pm, nelem(pm)))
			continue;
		*arg1 = substitute(ar, rw->r[i].arg1, addr, pm, m);
		*arg2 = substitute(ar, rw->r[i].arg2, addr, pm, m);
		return i;
	}
	return -1;
}

static int
blank(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int
rw_split(Arena *ar, const char *s, char ***argv)
{
	char **v = arena_alloc(ar, (LIM_RWARGS + 1) * sizeof *v);
	Str w = { 0 };
	int n = 0, inword = 0, q = 0;

	for (;; s++) {
		if (*s == 0 || (!q && blank(*s))) {
			if (q) {
				seterr("unmatched quote in command");
				str_free(&w);
				return -1;
			}
			if (inword) {
				if (n == LIM_RWARGS) {
					seterr("too many words in command");
					str_free(&w);
					return -1;
				}
				v[n++] = arena_strndup(ar, w.p ? w.p : "", w.n);
				str_reset(&w);
				inword = 0;
			}
			if (*s == 0)
				break;
			continue;
		}
		inword = 1;
		if (*s == RW_LIT && s[1]) {
			str_addc(&w, *++s);
		} else if (q && *s == q) {
			q = 0;
		} else if (!q && (*s == '\'' || *s == '"')) {
			q = *s;
		} else
			str_addc(&w, *s);
	}
	str_free(&w);
	v[n] = NULL;
	*argv = v;
	return n;
}

int
rw_words(Arena *ar, const char *s, char ***vp)
{
	char **v = NULL;
	Str w = { 0 };
	int n = 0, cap = 0, q = 0;

	for (;; s++) {
		if (*s == 0 || (!q && blank(*s))) {
			if (w.n > 0) {
				if (n == LIM_ADDRS) {
					seterr("too many addresses");
					str_free(&w);
					return -1;
				}
				if (n + 1 >= cap) {
					cap = cap ? 2 * cap : 16;
					v = xrealloc(v, cap * sizeof *v);
				}
				v[n++] = arena_strndup(ar, w.p, w.n);
				str_reset(&w);
			}
			if (*s == 0)
				break;
			continue;
		}
		if (*s == RW_LIT && s[1])
			str_addc(&w, *++s);
		else {
			if (*s == '"')
				q = !q;
			str_addc(&w, *s);
		}
	}
	str_free(&w);
	*vp = arena_alloc(ar, (n + 1) * sizeof **vp);
	if (n)
		memcpy(*vp, v, n * sizeof *v);
	(*vp)[n] = NULL;
	free(v);
	return n;
}

char *
rw_plain(Arena *ar, const char *s)
{
	char *r = arena_strdup(ar, s), *w = r;

	for (; *s; s++) {
		if (*s == RW_LIT && s[1])
			s++;
		*w++ = *s;
	}
	*w = 0;
	return r;
}

char *
rw_addr(Arena *ar, const char *s)
{
	const char *p;
	Addr a;
	char *r;

	for (p = s; *p; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f) {
			seterr("control character in address");
			return NULL;
		}
	if (addr_parse(ar, s, &a) < 0)
		return NULL;
	if (a.local == NULL) {
		seterr("null address");
		return NULL;
	}
	if (strchr(s, '!') && !strchr(s, '@') && !strchr(s, '<'))
		r = addr_bang(ar, &a);
	else
		r = addr_text(ar, &a);
	return r;
}

const char *
rw_status(int status)
{
	switch (status) {
	case D_UNKNOWN: return "unknown user";
	case D_INVALID: return "Invalid address";
	case D_SYNTAX: return "invalid address";
	case D_LOOP: return "forwarding loop";
	case D_TRANSLATE: return "name translation failed";
	case D_NOFORWARD: return "destination unknown or forwarding disallowed";
	case D_FAIL: return "delivery failed";
	}
	return NULL;
}

/* The blank-separated words of the line [p, e), at most max of them. */
int
rw_words1(const char *p, const char *e, const char **w, size_t *len, int max)
{
	int nw = 0;

	while (p < e && nw < max) {
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		if (p == e)
			break;
		w[nw] = p;
		while (p < e && *p != ' ' && *p != '\t')
			p++;
		len[nw] = p - w[nw];
		nw++;
	}
	return nw;
}

size_t
rw_fromlines(const char *p, size_t n, Str *sender)
{
	const char *e, *w[64];
	size_t used = 0, len[64];
	Str hops = { 0 };
	int nw, remote, first = 1;

	str_adds(sender, "");
	str_adds(&hops, "");
	while (n - used > 5 && (strncmp(p + used, "From ", 5) == 0 || strncmp(p + used, ">From ", 6) == 0)) {
		if ((e = memchr(p + used, '\n', n - used)) == NULL)
			break;
		nw = rw_words1(p + used, e, w, len, 64);
		if (nw < 3)
			break;
		remote = 0;
		if (len[nw - 2] == 6 && strncmp(w[nw - 2], "remote", 6) == 0 && len[nw - 1] == 4 && strncmp(w[nw - 1], "from", 4) == 0)
			remote = 1;
		else if (nw >= 4 && len[nw - 3] == 6 && strncmp(w[nw - 3], "remote", 6) == 0 &&
		    len[nw - 2] == 4 && strncmp(w[nw - 2], "from", 4) == 0) {
			remote = 1;
			str_addn(&hops, w[nw - 1], len[nw - 1]);
			str_addc(&hops, '!');
		}
		if (!remote && !first)
			break;
		str_reset(sender);
		str_addn(sender, hops.p, hops.n);
		str_addn(sender, w[1], len[1]);
		used = e + 1 - p;
		first = 0;
		if (!remote)
			break;
	}
	str_free(&hops);
	return used;
}

typedef struct List {
	Dest *head, *tail;
} List;

static void
put(List *l, Dest *d)
{
	d->next = NULL;
	if (l->tail)
		l->tail->next = d;
	else
		l->head = d;
	l->tail = d;
}

static Dest *
take(List *l)
{
	Dest *d = l->head;

	if (d && (l->head = d->next) == NULL)
		l->tail = NULL;
	return d;
}

typedef struct Bind {
	Binder *b;
	List bound;
	int ndest;
} Bind;

/*
 * Bound destinations go on the list once: | and >> destinations with the
 * same command join one bundle (at most LIM_BUNDLE addresses and
 * LIM_BUNDLECHARS octets), and exact duplicates are dropped.
 */
static void
bind(Bind *bd, Dest *d)
{
	size_t len = d->repl2 ? strlen(d->repl2) : 0;
	Dest *o, *x;

	if (d->status == D_PIPE || d->status == D_CAT || d->status == D_PIPETO || d->status == D_DISCARD) {
		for (o = bd->bound.head; o; o = o->next) {
			if (o->status != d->status || strcmp(o->repl1, d->repl1) != 0)
				continue;
			if (d->repl2 == NULL || d->status != D_PIPE)
				return;
			for (x = o; x; x = x->same)
				if (x->repl2 && strcmp(x->repl2, d->repl2) == 0)
					return;
			if (o->nsame < LIM_BUNDLE && o->nchar + len < LIM_BUNDLECHARS) {
				for (x = o; x->same; x = x->same)
					;
				x->same = d;
				o->nchar += len + 1;
				o->nsame++;
				return;
			}
		}
		d->nsame = 1;
		d->nchar = strlen(d->repl1) + len + 1;
	}
	put(&bd->bound, d);
}

static Dest *
newdest(Bind *bd, const char *text, Dest *parent)
{
	Arena *ar = bd->b->ar;
	Dest *d = arena_alloc(ar, sizeof *d);
	char *a;

	memset(d, 0, sizeof *d);
	d->parent = parent;
	d->authorized = parent ? parent->authorized : bd->b->authorized;
	if (++bd->ndest > LIM_DESTS) {
		d->addr = arena_strdup(ar, "...");
		d->status = D_FAIL;
		d->err = arena_strdup(ar, "too many addresses");
		return d;
	}
	if ((a = rw_addr(ar, text)) == NULL) {
		d->addr = arena_strdup(ar, text);
		d->status = D_SYNTAX;
		d->err = arena_strdup(ar, lasterr());
		return d;
	}
	d->addr = (char *)rw_unequiv(bd->b->rw, a);
	return d;
}

/* upas's loop check: our name as a hop of a bang path LIM_SYSLOOP times. */
static int
sysloop(const char *addr)
{
	const char *sys = rw_sysname();
	size_t n = strlen(sys);
	int found = 0;

	while ((addr = strchr(addr, '!')) != NULL) {
		addr++;
		if (strncasecmp(addr, sys, n) == 0 && addr[n] == '!' && ++found == LIM_SYSLOOP)
			return 1;
	}
	return 0;
}

/* Children of d from an address list; 0 when the list was empty. */
static int
children(Bind *bd, List *next, Dest *d, const char *text)
{
	char **w;
	int n, i;

	if ((n = rw_words(bd->b->ar, text, &w)) < 0) {
		d->status = D_FAIL;
		d->err = arena_strdup(bd->b->ar, lasterr());
		return -1;
	}
	for (i = 0; i < n; i++) {
		Dest *c = newdest(bd, w[i], d);

		if (c->status)
			bind(bd, c);
		else
			put(next, c);
	}
	return n;
}

/* Below a forward file's addresses no forward file is read again, as upas does. */
static int
forwarded(Dest *d)
{
	for (d = d->parent; d; d = d->parent)
		if (d->type == RW_CAT)
			return 1;
	return 0;
}

static void
step(Bind *bd, Dest *d, List *next)
{
	Binder *b = bd->b;
	Str out = { 0 }, err = { 0 };
	char **argv, *p;
	int st, r;

	if ((r = rw_match(b->rw, b->ar, d->addr, b->msg, d->authorized, &d->repl1, &d->repl2)) < 0) {
		d->status = D_INVALID;
		bind(bd, d);
		return;
	}
	d->type = b->rw->r[r].type;
	switch (d->type) {
	case RW_AUTH:
		if (d->repl1 == NULL || rw_split(b->ar, d->repl1, &argv) <= 0 ||
		    (st = b->run(b, argv, &out, &err)) != 0) {
			d->status = D_NOFORWARD;
			d->err = err.n ? arena_strdup(b->ar, err.p) : NULL;
			bind(bd, d);
		} else {
			d->authorized = 1;
			put(next, d);
		}
		break;
	case RW_CAT:
		if (d->repl1 == NULL) {
			d->status = D_FAIL;
			d->err = "no mailbox in rule";
			bind(bd, d);
			break;
		}
		d->repl1 = rw_plain(b->ar, d->repl1);
		if (strcmp(d->repl1, "/dev/null") == 0) {
			d->status = D_DISCARD;
			bind(bd, d);
			break;
		}
		if (b->local(b, d, forwarded(d) ? NULL : &out) == 1) {
			str_adds(&out, "");
			if ((r = children(bd, next, d, out.p)) != 0) {
				if (r < 0)
					bind(bd, d);
				break;
			}
			b->local(b, d, NULL);
		}
		bind(bd, d);
		break;
	case RW_PIPE:
		if (d->repl1 == NULL) {
			d->status = D_FAIL;
			d->err = "no command in rule";
		} else
			d->status = D_PIPE;
		bind(bd, d);
		break;
	case RW_ALIAS:
		if ((r = children(bd, next, d, d->repl1 ? d->repl1 : "")) <= 0) {
			if (r == 0)
				d->status = D_FAIL, d->err = "broken alias";
			bind(bd, d);
		}
		break;
	case RW_TRANSLATE:
		if (d->repl1 == NULL || rw_split(b->ar, d->repl1, &argv) <= 0) {
			d->status = D_TRANSLATE;
			bind(bd, d);
			break;
		}
		st = b->run(b, argv, &out, &err);
		str_adds(&out, "");
		if (st == 0) {
			/* a line "_nosummary_" asks for To: to list the expansion */
			while ((p = strstr(out.p, "_nosummary_")) != NULL &&
			    (p == out.p || p[-1] == '\n')) {
				b->nosummary = 1;
				memset(p, ' ', 11);
			}
			if ((r = children(bd, next, d, out.p)) != 0) {
				if (r < 0)
					bind(bd, d);
				break;
			}
		}
		d->status = D_TRANSLATE;
		if (err.n)
			d->err = arena_strdup(b->ar, err.p);
		d->temp = st < 0 || st == EX_TEMPFAIL;
		bind(bd, d);
		break;
	}
	str_free(&out);
	str_free(&err);
}

Dest *
rw_bind(Binder *b, char **addrs, int n)
{
	Bind bd = { b, { 0 }, 0 };
	List cur = { 0 }, next = { 0 };
	Dest *d;
	int i, pass;

	for (i = 0; i < n; i++) {
		d = newdest(&bd, addrs[i], NULL);
		if (!d->status && (sysloop(d->addr) || sysloop(b->msg->sender)))
			d->status = D_LOOP;
		if (d->status)
			bind(&bd, d);
		else
			put(&cur, d);
	}
	for (pass = 0; cur.head && pass < LIM_RWPASSES; pass++) {
		while ((d = take(&cur)) != NULL)
			step(&bd, d, &next);
		cur = next;
		next.head = next.tail = NULL;
	}
	while ((d = take(&cur)) != NULL) {
		d->status = D_LOOP;
		bind(&bd, d);
	}
	return bd.bound.head;
}

int
rw_bundleargv(Arena *ar, Dest *d, char ***argv)
{
	Str s = { 0 };
	Dest *x;
	int n;

	str_adds(&s, d->repl1);
	for (x = d; x; x = x->same)
		if (x->repl2) {
			str_addc(&s, ' ');
			str_adds(&s, x->repl2);
		}
	n = rw_split(ar, s.p, argv);
	str_free(&s);
	return n;
}
