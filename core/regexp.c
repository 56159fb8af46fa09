/*
 * Regular expressions as Plan 9's regexp(6) has them: literal runes, \c for
 * any rune c, '.', classes [a-z] and [^a-z], '^' and '$' (start and end of a
 * line), postfix '*' '+' '?', concatenation, '|', and parentheses, which
 * also mark subexpressions \1-\9 (up to RE_NSUB - 1). '.' and a negated class
 * never match a newline. Patterns and text are UTF-8; a byte that starts no
 * rune is a rune of its own.
 *
 * Compiled to a small program and run as a Pike VM: one thread a program
 * counter, all of them stepped together over the text, so time is linear in
 * the text and the program whatever the pattern. The match is the leftmost,
 * and of those the longest, as Plan 9's regexec finds.
 */
#include <stdlib.h>
#include <string.h>
#include "core.h"
#include "regexp.h"

enum { CHAR, ANY, CLASS, NCLASS, BOL, EOL, SAVE, SPLIT, JMP, MATCH };

typedef struct Inst {
	unsigned char op;
	int x, y;		/* CHAR: the rune; CLASS: first range, count; SPLIT, JMP: offsets; SAVE: slot */
} Inst;

struct Regex {
	Inst *p;
	int n, a;
	int *r;			/* class ranges, pairs */
	int nr, ar;
	int icase;
	int nsave;		/* slots a thread keeps: 2 * groups */
};

typedef struct Parse {
	Regex *re;
	const char *s, *e;
	int ngroup, depth;
} Parse;

/* The rune at s (before e) into *r; its length. */
static int
rune(const char *s, const char *e, int *r)
{
	const unsigned char *u = (const unsigned char *)s;
	int n, c, i;

	if (u[0] < 0x80 || e - s < 2) {
		*r = u[0];
		return 1;
	}
	n = u[0] >= 0xf0 ? 4 : u[0] >= 0xe0 ? 3 : u[0] >= 0xc0 ? 2 : 0;
	if (n == 0 || u[0] > 0xf4 || e - s < n) {
		*r = u[0];
		return 1;
	}
	c = u[0] & (0x7f >> n);
	for (i = 1; i < n; i++) {
		if ((u[i] & 0xc0) != 0x80) {
			*r = u[0];
			return 1;
		}
		c = c << 6 | (u[i] & 0x3f);
	}
	*r = c;
	return n;
}

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int
upper(int c)
{
	return c >= 'a' && c <= 'z' ? c - 32 : c;
}

static int
emit(Regex *re, int op, int x, int y)
{
	if (re->n == re->a)
		re->p = xrealloc(re->p, (re->a = re->a ? 2 * re->a : 32) * sizeof *re->p);
	re->p[re->n] = (Inst){ op, x, y };
	return re->n++;
}

/* An instruction put before the block at 'at' (its jumps are relative, and
 * none comes into it from outside). */
static void
insert(Regex *re, int at, int op, int x, int y)
{
	emit(re, 0, 0, 0);
	memmove(re->p + at + 1, re->p + at, (re->n - 1 - at) * sizeof *re->p);
	re->p[at] = (Inst){ op, x, y };
}

static int alt(Parse *p);

/* A class after its '['. */
static int
class(Parse *p)
{
	Regex *re = p->re;
	int neg = 0, first = re->nr, lo, hi, n = 0;

	if (p->s < p->e && *p->s == '^') {
		neg = 1;
		p->s++;
	}
	for (;; n++) {
		if (p->s >= p->e) {
			seterr("unmatched [");
			return -1;
		}
		if (*p->s == ']' && n > 0)
			break;
		if (*p->s == '\\' && p->s + 1 < p->e)
			p->s++;
		p->s += rune(p->s, p->e, &lo);
		hi = lo;
		if (p->s + 1 < p->e && *p->s == '-' && p->s[1] != ']') {
			p->s++;
			if (*p->s == '\\' && p->s + 1 < p->e)
				p->s++;
			p->s += rune(p->s, p->e, &hi);
			if (hi < lo) {
				seterr("bad range in class");
				return -1;
			}
		}
		if (re->nr + 2 > re->ar)
			re->r = xrealloc(re->r, (re->ar = re->ar ? 2 * re->ar : 32) * sizeof *re->r);
		re->r[re->nr++] = lo;
		re->r[re->nr++] = hi;
	}
	p->s++;
	emit(re, neg ? NCLASS : CLASS, first, (re->nr - first) / 2);
	return 0;
}

/* An operand and its postfix operators. */
static int
repeat(Parse *p)
{
	Regex *re = p->re;
	int at = re->n, c, len;

	c = *p->s++;
	switch (c) {
	case '(':
		if (++p->depth > RE_DEPTH) {
			seterr("parentheses nested too deep");
			return -1;
		}
		c = ++p->ngroup;
		if (c < RE_NSUB)
			emit(re, SAVE, 2 * c, 0);
		if (alt(p) < 0)
			return -1;
		if (p->s >= p->e || *p->s != ')') {
			seterr("unmatched (");
			return -1;
		}
		p->s++;
		p->depth--;
		if (c < RE_NSUB)
			emit(re, SAVE, 2 * c + 1, 0);
		break;
	case '.':
		emit(re, ANY, 0, 0);
		break;
	case '^':
		emit(re, BOL, 0, 0);
		break;
	case '$':
		emit(re, EOL, 0, 0);
		break;
	case '[':
		if (class(p) < 0)
			return -1;
		break;
	case '*': case '+': case '?':
		seterr("missing operand for %c", c);
		return -1;
	default:
		if (c == '\\') {
			if (p->s >= p->e) {
				seterr("trailing \\");
				return -1;
			}
		} else
			p->s--;
		p->s += rune(p->s, p->e, &c);
		emit(re, CHAR, re->icase ? lower(c) : c, 0);
	}
	while (p->s < p->e && (*p->s == '*' || *p->s == '+' || *p->s == '?')) {
		len = re->n - at;
		switch (*p->s++) {
		case '*':
			insert(re, at, SPLIT, 1, len + 2);
			emit(re, JMP, -(len + 1), 0);
			break;
		case '+':
			emit(re, SPLIT, -len, 1);
			break;
		case '?':
			insert(re, at, SPLIT, 1, len + 1);
			break;
		}
	}
	return 0;
}

/* Alternatives of concatenations, up to ')' or the end: a|b|c as (a|b)|c. */
static int
alt(Parse *p)
{
	Regex *re = p->re;
	int at = re->n, j = -1;

	for (;;) {
		while (p->s < p->e && *p->s != '|' && *p->s != ')')
			if (repeat(p) < 0)
				return -1;
		if (j >= 0)
			re->p[j].x = re->n - j;
		if (p->s >= p->e || *p->s != '|')
			return 0;
		p->s++;
		insert(re, at, SPLIT, 1, re->n - at + 2);
		j = emit(re, JMP, 0, 0);
	}
}

Regex *
re_comp(const char *pat, int flags)
{
	Regex *re;
	Parse p;

	if (strlen(pat) > RE_MAXPAT) {
		seterr("regular expression longer than %d", RE_MAXPAT);
		return NULL;
	}
	re = xmalloc(sizeof *re);
	memset(re, 0, sizeof *re);
	re->icase = (flags & RE_ICASE) != 0;
	memset(&p, 0, sizeof p);
	p.re = re;
	p.s = pat;
	p.e = pat + strlen(pat);
	emit(re, SAVE, 0, 0);
	if (alt(&p) < 0 || (p.s < p.e && (seterr("unmatched )"), 1))) {
		re_free(re);
		return NULL;
	}
	emit(re, SAVE, 1, 0);
	emit(re, MATCH, 0, 0);
	re->nsave = 2 * (p.ngroup + 1 < RE_NSUB ? p.ngroup + 1 : RE_NSUB);
	return re;
}

void
re_free(Regex *re)
{
	if (re == NULL)
		return;
	free(re->p);
	free(re->r);
	free(re);
}

typedef struct Vm {
	const Regex *re;
	const char *s;
	size_t n;
	unsigned *mark;		/* the step an instruction was last added in */
	unsigned gen;
	int *stack;		/* addthread's: pc, or -2 - slot then the value to restore */
	int *cur;		/* a list: pc then nsave slots, a thread */
	int *next;
	int ncur, nnext;
} Vm;

/* Thread pc with slots sub into list l (its count *nl), following jumps and
 * splits (x before y) and assertions at offset pos, in priority order. */
static void
addthread(Vm *v, int *l, int *nl, int pc, int *sub, size_t pos)
{
	const Inst *in;
	int sp = 0, w = 1 + v->re->nsave, k;

	v->stack[sp++] = pc;
	while (sp > 0) {
		pc = v->stack[--sp];
		if (pc <= -2) {
			sub[-2 - pc] = v->stack[--sp];
			continue;
		}
		if (v->mark[pc] == v->gen)
			continue;
		v->mark[pc] = v->gen;
		in = &v->re->p[pc];
		switch (in->op) {
		case JMP:
			v->stack[sp++] = pc + in->x;
			break;
		case SPLIT:
			v->stack[sp++] = pc + in->y;
			v->stack[sp++] = pc + in->x;
			break;
		case SAVE:
			if (in->x < v->re->nsave) {
				v->stack[sp++] = sub[in->x];
				v->stack[sp++] = -2 - in->x;
				sub[in->x] = (int)pos;
			}
			v->stack[sp++] = pc + 1;
			break;
		case BOL:
			if (pos == 0 || v->s[pos - 1] == '\n')
				v->stack[sp++] = pc + 1;
			break;
		case EOL:
			if (pos == v->n || v->s[pos] == '\n')
				v->stack[sp++] = pc + 1;
			break;
		default:
			l[*nl * w] = pc;
			for (k = 0; k < v->re->nsave; k++)
				l[*nl * w + 1 + k] = sub[k];
			(*nl)++;
		}
	}
}

static int
inclass(const Regex *re, const Inst *in, int c)
{
	int i;

	for (i = 0; i < in->y; i++)
		if (c >= re->r[in->x + 2 * i] && c <= re->r[in->x + 2 * i + 1])
			return 1;
	return 0;
}

int
re_exec(const Regex *re, const char *s, size_t n, Rematch *m, int nm)
{
	Vm v;
	int w = 1 + re->nsave, *sub, *best, *t, i, k, c = 0, len = 0, ok, found = 0, *tmp;
	size_t pos;

	if (n >= (size_t)1 << 30) {
		seterr("text too long for a regular expression");
		return 0;
	}
	memset(&v, 0, sizeof v);
	v.re = re;
	v.s = s;
	v.n = n;
	v.mark = xmalloc(re->n * sizeof *v.mark);
	memset(v.mark, 0, re->n * sizeof *v.mark);
	v.stack = xmalloc(3 * re->n * sizeof *v.stack + 16);
	v.cur = xmalloc(re->n * w * sizeof *v.cur);
	v.next = xmalloc(re->n * w * sizeof *v.next);
	sub = xmalloc(2 * w * sizeof *sub);
	best = sub + w;
	v.gen = 1;
	for (pos = 0;; pos += len) {
		if (!found) {
			/* a thread starting here, last in priority */
			for (k = 0; k < re->nsave; k++)
				sub[k] = -1;
			addthread(&v, v.cur, &v.ncur, 0, sub, pos);
		}
		len = pos < n ? rune(s + pos, s + n, &c) : 0;
		if (v.ncur == 0) {
			if (found || pos >= n)
				break;
			v.gen++;
			continue;
		}
		v.gen++;
		v.nnext = 0;
		for (i = 0; i < v.ncur; i++) {
			t = v.cur + i * w;
			if (found && t[1] > best[0])
				continue;	/* starts later than a match found */
			switch (re->p[t[0]].op) {
			case MATCH:
				if (!found || t[1] < best[0] || (t[1] == best[0] && t[2] > best[1])) {
					memcpy(best, t + 1, re->nsave * sizeof *best);
					found = 1;
				}
				continue;
			case CHAR:
				ok = pos < n && (re->icase ? lower(c) : c) == re->p[t[0]].x;
				break;
			case ANY:
				ok = pos < n && c != '\n';
				break;
			case CLASS:
			case NCLASS:
				if (pos >= n) {
					ok = 0;
					break;
				}
				ok = inclass(re, &re->p[t[0]], c) || (re->icase &&
				    (inclass(re, &re->p[t[0]], lower(c)) || inclass(re, &re->p[t[0]], upper(c))));
				if (re->p[t[0]].op == NCLASS)
					ok = c != '\n' && !ok;
				break;
			default:
				ok = 0;
			}
			if (ok) {
				memcpy(sub, t + 1, re->nsave * sizeof *sub);
				addthread(&v, v.next, &v.nnext, t[0] + 1, sub, pos + len);
			}
		}
		tmp = v.cur, v.cur = v.next, v.next = tmp;
		v.ncur = v.nnext;
		if (pos >= n)
			break;
	}
	for (i = 0; found && i < nm; i++) {
		m[i].so = 2 * i < re->nsave ? best[2 * i] : -1;
		m[i].eo = 2 * i < re->nsave ? best[2 * i + 1] : -1;
		if (m[i].so < 0 || m[i].eo < 0)
			m[i].so = m[i].eo = -1;
	}
	free(v.mark);
	free(v.stack);
	free(v.cur);
	free(v.next);
	free(sub);
	return found;
}
