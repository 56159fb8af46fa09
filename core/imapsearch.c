/*
 * SEARCH programs (RFC 3501 §6.4.4, RFC 5032 OLDER and YOUNGER).  The keys
 * compile into a tree in the command's arena; search_match walks it once
 * per message, flags, numbers and dates before anything that needs the
 * message's content, which is loaded, decoded and searched at most once
 * per message.  Text is found by a case-insensitive substring match (ASCII
 * and Latin-1 letters folded) in linear time: Knuth-Morris-Pratt over
 * folded bytes, so no pattern makes a large message costly.
 */
#include <string.h>
#include <strings.h>
#include <time.h>
#include "imap.h"
#include "mbox.h"

enum {
	K_AND, K_OR, K_NOT,
	K_FLAGS,		/* (flags & mask) == want */
	K_SEQ, K_UID,
	K_KW, K_UNKW,
	K_BEFORE, K_ON, K_SINCE,	/* the INTERNALDATE's local calendar day */
	K_SBEFORE, K_SON, K_SSINCE,	/* the Date: field's day as written */
	K_OLDER, K_YOUNGER,	/* seconds before now */
	K_LARGER, K_SMALLER,
	K_MODSEQ,		/* RFC 7162 */
	K_HDR, K_BODY, K_TEXT,
};

static const struct {
	char name[12];
	unsigned char op;
	short mask, want;	/* K_FLAGS; K_HDR: mask 1 takes the field name */
} keys[] = {
	{ "ALL", K_FLAGS, 0, 0 },
	{ "ANSWERED", K_FLAGS, MF_ANSWERED, MF_ANSWERED },
	{ "BCC", K_HDR, 0, 0 },
	{ "BEFORE", K_BEFORE, 0, 0 },
	{ "BODY", K_BODY, 0, 0 },
	{ "CC", K_HDR, 0, 0 },
	{ "DELETED", K_FLAGS, MF_DELETED, MF_DELETED },
	{ "DRAFT", K_FLAGS, MF_DRAFT, MF_DRAFT },
	{ "FLAGGED", K_FLAGS, MF_FLAGGED, MF_FLAGGED },
	{ "FROM", K_HDR, 0, 0 },
	{ "HEADER", K_HDR, 1, 0 },
	{ "KEYWORD", K_KW, 0, 0 },
	{ "LARGER", K_LARGER, 0, 0 },
	{ "MODSEQ", K_MODSEQ, 0, 0 },
	{ "NEW", K_FLAGS, IF_RECENT | MF_SEEN, IF_RECENT },
	{ "NOT", K_NOT, 0, 0 },
	{ "OLD", K_FLAGS, IF_RECENT, 0 },
	{ "OLDER", K_OLDER, 0, 0 },
	{ "ON", K_ON, 0, 0 },
	{ "OR", K_OR, 0, 0 },
	{ "RECENT", K_FLAGS, IF_RECENT, IF_RECENT },
	{ "SEEN", K_FLAGS, MF_SEEN, MF_SEEN },
	{ "SENTBEFORE", K_SBEFORE, 0, 0 },
	{ "SENTON", K_SON, 0, 0 },
	{ "SENTSINCE", K_SSINCE, 0, 0 },
	{ "SINCE", K_SINCE, 0, 0 },
	{ "SMALLER", K_SMALLER, 0, 0 },
	{ "SUBJECT", K_HDR, 0, 0 },
	{ "TEXT", K_TEXT, 0, 0 },
	{ "TO", K_HDR, 0, 0 },
	{ "UID", K_UID, 0, 0 },
	{ "UNANSWERED", K_FLAGS, MF_ANSWERED, 0 },
	{ "UNDELETED", K_FLAGS, MF_DELETED, 0 },
	{ "UNDRAFT", K_FLAGS, MF_DRAFT, 0 },
	{ "UNFLAGGED", K_FLAGS, MF_FLAGGED, 0 },
	{ "UNKEYWORD", K_UNKW, 0, 0 },
	{ "UNSEEN", K_FLAGS, MF_SEEN, 0 },
	{ "YOUNGER", K_YOUNGER, 0, 0 },
};

typedef struct Skey Skey;
struct Skey {
	int op, mask, want;
	int cost;		/* needs the message's content */
	Skey *kid;		/* K_AND, K_OR, K_NOT: operands, linked by next */
	Skey *next;
	Seqset set;		/* K_SEQ, K_UID */
	int64_t v;		/* a size, a time, a day number */
	const char *field;	/* K_HDR */
	char *pat;		/* folded text, or a keyword */
	size_t plen;
	uint32_t *fail;		/* KMP: longest proper border of pat[0..i] */
};

struct Search {
	Skey *root;
	int modseq;	/* a MODSEQ key is in it */
};

typedef struct P {
	Arena *ar;
	int nkeys;
	int modseq;
} P;

/* c folded: ASCII letters, and in UTF-8 the Latin-1 capitals U+00C0-U+00DE but U+00D7. */
static int
fold(int c, int prev)
{
	if (c >= 'A' && c <= 'Z')
		return c | 0x20;
	if (prev == 0xc3 && c >= 0x80 && c <= 0x9e && c != 0x97)
		return c + 0x20;
	return c;
}

static void
compile(Arena *ar, Skey *k, const char *s, size_t n)
{
	size_t i, j;
	int prev = 0;

	k->pat = arena_alloc(ar, n + 1);
	k->fail = arena_alloc(ar, (n + 1) * sizeof *k->fail);
	k->plen = n;
	for (i = 0; i < n; i++) {
		k->pat[i] = fold((unsigned char)s[i], prev);
		prev = (unsigned char)s[i];
	}
	k->fail[0] = 0;
	for (i = 1, j = 0; i < n; i++) {
		while (j > 0 && k->pat[i] != k->pat[j])
			j = k->fail[j - 1];
		if (k->pat[i] == k->pat[j])
			j++;
		k->fail[i] = j;
	}
}

/* Is k's text in s[0..n)?  Each byte of s is looked at once, the border steps amortised. */
static int
find(Skey *k, const char *s, size_t n)
{
	size_t i, j = 0;
	int c, prev = 0;

	if (k->plen == 0)
		return 1;
	for (i = 0; i < n; i++) {
		c = fold((unsigned char)s[i], prev);
		prev = (unsigned char)s[i];
		if (j == 0 && c != (unsigned char)k->pat[0])
			continue;
		while (j > 0 && c != (unsigned char)k->pat[j])
			j = k->fail[j - 1];
		if (c == (unsigned char)k->pat[j] && ++j == k->plen)
			return 1;
	}
	return 0;
}

static int
leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* A day number (days since 1 Jan of year 1) of y-m-d, m from 0: only compared. */
static int64_t
daynum(int64_t y, int m, int d)
{
	static const short cum[] = { 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334 };
	int64_t p = y - 1;

	return 365 * p + p / 4 - p / 100 + p / 400 + cum[m] + (m > 1 && leap(y)) + d - 1;
}

static int64_t
tmday(const struct tm *tm)
{
	return daynum(tm->tm_year + 1900LL, tm->tm_mon, tm->tm_mday);
}

/* RFC 3501 date: 1*2DIGIT "-" month "-" 4DIGIT, month names in any case. */
static int
date(const char *s, int64_t *day)
{
	static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	static const char mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int d = 0, m, y = 0, i = 0;
	char mon[3];

	while (i < 2 && s[i] >= '0' && s[i] <= '9')
		d = d * 10 + s[i++] - '0';
	if (i == 0 || s[i++] != '-')
		return -1;
	for (m = 0; m < 3; m++)
		if ((mon[m] = s[i + m] | 0x20) < 'a' || mon[m] > 'z')
			return -1;
	for (m = 0; m < 12 && memcmp(mon, months + 3 * m, 3) != 0; m++)
		;
	i += 3;
	if (m == 12 || s[i++] != '-')
		return -1;
	for (; y < 10000 && s[i] >= '0' && s[i] <= '9'; i++)
		y = y * 10 + s[i] - '0';
	if (s[i] != 0 || y < 1000 || y > 9999 || d < 1 || d > mdays[m] || (m == 1 && d == 29 && !leap(y)))
		return -1;
	*day = daynum(y, m, d);
	return 0;
}

static int
number(const char *s, int64_t *v)
{
	int i;

	*v = 0;
	for (i = 0; s[i] >= '0' && s[i] <= '9'; i++)
		if (i < 18)
			*v = *v * 10 + s[i] - '0';
	return i > 0 && i <= 18 && s[i] == 0 ? 0 : -1;
}

static Skey *keylist(P *p, Tok *t, int n, int depth);

/* One key from t[*i], its arguments after it. */
static Skey *
key(P *p, Tok *t, int n, int *i, int depth)
{
	Skey *k, *a;
	Tok *w, *x;
	const char *name;
	int j;

	if (*i >= n) {
		seterr("missing search key");
		return NULL;
	}
	if (depth > LIM_IMAPSEARCHDEPTH) {
		seterr("search keys nested too deeply");
		return NULL;
	}
	if (++p->nkeys > LIM_IMAPSEARCHKEYS) {
		seterr("too many search keys");
		return NULL;
	}
	w = &t[(*i)++];
	if (w->type == T_LIST)
		return keylist(p, w->kid, w->nkid, depth + 1);
	if (w->type != T_ATOM) {
		seterr("search key expected");
		return NULL;
	}
	k = arena_alloc(p->ar, sizeof *k);
	memset(k, 0, sizeof *k);
	if ((w->s[0] >= '0' && w->s[0] <= '9') || w->s[0] == '*') {
		k->op = K_SEQ;
		if (seq_parse(p->ar, w->s, &k->set) < 0)
			return NULL;
		return k;
	}
	for (j = 0; j < (int)nelem(keys) && strcasecmp(w->s, keys[j].name) != 0; j++)
		;
	if (j == nelem(keys)) {
		seterr("unknown search key %.40s", w->s);
		return NULL;
	}
	name = keys[j].name;
	k->op = keys[j].op;
	k->mask = keys[j].mask;
	k->want = keys[j].want;
	if (k->op == K_FLAGS)
		return k;
	if (k->op == K_NOT || k->op == K_OR) {
		if ((k->kid = a = key(p, t, n, i, depth + 1)) == NULL)
			return NULL;
		k->cost = a->cost;
		if (k->op == K_NOT)
			return k;
		if ((a->next = key(p, t, n, i, depth + 1)) == NULL)
			return NULL;
		k->cost |= a->next->cost;
		if (a->cost && !a->next->cost) {
			k->kid = a->next;
			k->kid->next = a;
			a->next = NULL;
		}
		return k;
	}
	if (*i >= n || !tok_astring(&t[*i])) {
		seterr("%s needs an argument", name);
		return NULL;
	}
	x = &t[(*i)++];
	if (memchr(x->s, 0, x->n) != NULL) {
		seterr("NUL in a search argument");
		return NULL;
	}
	if (k->op == K_MODSEQ && x->type == T_STR) {
		/* an entry name and type ("/flags/\\seen" all): every entry is the message's */
		if (*i + 1 >= n || t[*i].type != T_ATOM || (!tok_is(&t[*i], "priv") && !tok_is(&t[*i], "shared") &&
		    !tok_is(&t[*i], "all"))) {
			seterr("MODSEQ entry needs a type and a number");
			return NULL;
		}
		x = &t[*i + 1];
		*i += 2;
	}
	switch (k->op) {
	case K_UID:
		if (x->type != T_ATOM || seq_parse(p->ar, x->s, &k->set) < 0) {
			seterr("bad UID set");
			return NULL;
		}
		break;
	case K_KW:
	case K_UNKW:
		k->pat = x->s;
		break;
	case K_BEFORE: case K_ON: case K_SINCE:
	case K_SBEFORE: case K_SON: case K_SSINCE:
		if (date(x->s, &k->v) < 0) {
			seterr("bad date for %s: %.40s", name, x->s);
			return NULL;
		}
		k->cost = k->op >= K_SBEFORE;
		break;
	case K_OLDER: case K_YOUNGER:
	case K_LARGER: case K_SMALLER:
	case K_MODSEQ:
		p->modseq |= k->op == K_MODSEQ;
		if (number(x->s, &k->v) < 0) {
			seterr("bad number for %s: %.40s", name, x->s);
			return NULL;
		}
		if (k->op == K_OLDER || k->op == K_YOUNGER)
			k->v = (int64_t)time(NULL) - k->v;
		break;
	default:	/* K_HDR, K_BODY, K_TEXT */
		k->cost = 1;
		k->field = name;
		if (k->mask) {
			k->field = x->s;
			if (*i >= n || !tok_astring(&t[*i])) {
				seterr("HEADER needs a field name and a string");
				return NULL;
			}
			x = &t[(*i)++];
		}
		compile(p->ar, k, x->s, x->n);
	}
	return k;
}

/* The keys t[0..n), all to hold: the cheap ones first. */
static Skey *
keylist(P *p, Tok *t, int n, int depth)
{
	Skey *k, *all, *cheap = NULL, *costly = NULL, **ct = &cheap, **xt = &costly;
	int i = 0, nk = 0;

	if (n == 0) {
		seterr("missing search key");
		return NULL;
	}
	while (i < n) {
		if ((k = key(p, t, n, &i, depth)) == NULL)
			return NULL;
		nk++;
		if (k->cost) {
			*xt = k;
			xt = &k->next;
		} else {
			*ct = k;
			ct = &k->next;
		}
	}
	*ct = costly;
	if (nk == 1)
		return cheap;
	all = arena_alloc(p->ar, sizeof *all);
	memset(all, 0, sizeof *all);
	all->op = K_AND;
	all->kid = cheap;
	all->cost = costly != NULL;
	return all;
}

Search *
search_parse(Arena *ar, Tok *t, int n)
{
	P p = { ar, 0, 0 };
	Search *s;
	Skey *k;

	if ((k = keylist(&p, t, n, 0)) == NULL)
		return NULL;
	s = arena_alloc(ar, sizeof *s);
	s->root = k;
	s->modseq = p.modseq;
	return s;
}

int
search_modseq(Search *s)
{
	return s->modseq;
}

int
search_needsmsg(Search *s)
{
	return s->root->cost;
}

/* One message's evaluation: what was loaded and decoded, kept for every key. */
typedef struct C {
	Smsg *m;
	uint32_t maxseq, maxuid;
	Arena ar;
	Msg *msg;
	int loaded;
	Str hdr, body;
	int havehdr, havebody, havesent;
	int64_t sentday;
} C;

static Msg *
load(C *c)
{
	if (!c->loaded) {
		c->loaded = 1;
		c->msg = c->m->load != NULL ? c->m->load(c->m->arg) : NULL;
		if (c->msg != NULL && c->msg->root == NULL)
			c->msg = NULL;
	}
	return c->msg;
}

/* A part's header fields as "Name: decoded value" lines. */
static void
hdrlines(C *c, Part *p, Str *out)
{
	int i;

	for (i = 0; i < p->nh; i++) {
		str_addn(out, p->h[i].name, p->h[i].nlen);
		str_adds(out, ": ");
		str_adds(out, msg_hdrdecode(&c->ar, p->h[i].val, p->h[i].vlen));
		str_addc(out, '\n');
	}
}

/* The next part after p in document order, within root. */
static Part *
nextpart(Part *p, Part *root)
{
	if (p->child != NULL)
		return p->child;
	for (; p != root; p = p->parent)
		if (p->next != NULL)
			return p->next;
	return NULL;
}

/* The body's text: every text/ part decoded to UTF-8, and the header of every enclosed message. */
static Str *
bodytext(C *c)
{
	Msg *m;
	Part *p;

	if (c->havebody)
		return &c->body;
	c->havebody = 1;
	str_adds(&c->body, "");
	if ((m = load(c)) == NULL)
		return &c->body;
	for (p = m->root; p != NULL; p = nextpart(p, m->root)) {
		if (p->parent != NULL && strcmp(p->parent->type, "message") == 0)
			hdrlines(c, p, &c->body);
		if (p->child == NULL && strcmp(p->type, "text") == 0) {
			msg_body(p, &c->body);
			str_addc(&c->body, '\n');
		}
	}
	return &c->body;
}

static int
hdrmatch(C *c, Skey *k)
{
	Msg *m;
	Hdr *h;
	char *v;

	if ((m = load(c)) == NULL)
		return 0;
	for (h = msg_hdr(m->root, k->field); h != NULL; h = msg_hdrnext(m->root, h)) {
		if (k->plen == 0)
			return 1;
		v = msg_hdrdecode(&c->ar, h->val, h->vlen);
		if (find(k, v, strlen(v)))
			return 1;
	}
	return 0;
}

/*
 * The day of the Date: field in its own zone, as Dovecot has it: msg_date
 * gives UTC and keeps no zone, but takes the last numeric zone it meets, so
 * the same text with " +0000" after it reads as its wall-clock time.  No
 * date, or none that parses, is 1 Jan 1970 (Dovecot too).
 */
static int
sentday(C *c, int64_t *day)
{
	char buf[256];
	struct tm tm;
	Msg *m;
	Hdr *h;
	time_t t = -1;

	if (!c->havesent) {
		if ((m = load(c)) == NULL)
			return -1;
		c->havesent = 1;
		if ((h = msg_hdr(m->root, "Date")) != NULL) {
			if (h->vlen + 6 < sizeof buf) {
				memcpy(buf, h->val, h->vlen);
				memcpy(buf + h->vlen, " +0000", 6);
				t = msg_date(buf, h->vlen + 6);
			}
			if (t == -1)
				t = msg_date(h->val, h->vlen);
		}
		if (t == -1)
			t = 0;
		c->sentday = gmtime_r(&t, &tm) != NULL ? tmday(&tm) : 0;
	}
	*day = c->sentday;
	return 0;
}

static int
cmpday(int op, int64_t day, int64_t v)
{
	switch (op) {
	case K_BEFORE:
		return day < v;
	case K_ON:
		return day == v;
	default:
		return day >= v;
	}
}

static int
eval(C *c, Skey *k)
{
	Smsg *m = c->m;
	Skey *q;
	Str *b;
	struct tm tm;
	int64_t day;
	int i;

	switch (k->op) {
	case K_AND:
		for (q = k->kid; q != NULL; q = q->next)
			if (!eval(c, q))
				return 0;
		return 1;
	case K_OR:
		return eval(c, k->kid) || eval(c, k->kid->next);
	case K_NOT:
		return !eval(c, k->kid);
	case K_FLAGS:
		return (m->flags & k->mask) == k->want;
	case K_SEQ:
		return seq_has(&k->set, m->seq, c->maxseq);
	case K_UID:
		return seq_has(&k->set, m->uid, c->maxuid);
	case K_KW:
	case K_UNKW:
		for (i = 0; i < m->nkw; i++)
			if (strcasecmp(m->kw[i], k->pat) == 0)
				break;
		return (i < m->nkw) == (k->op == K_KW);
	case K_BEFORE:
	case K_ON:
	case K_SINCE:
		if (localtime_r(&m->idate, &tm) == NULL)
			return 0;
		return cmpday(k->op, tmday(&tm), k->v);
	case K_SBEFORE:
	case K_SON:
	case K_SSINCE:
		if (sentday(c, &day) < 0)
			return 0;
		return cmpday(k->op - K_SBEFORE + K_BEFORE, day, k->v);
	case K_OLDER:
		return m->idate <= k->v;
	case K_YOUNGER:
		return m->idate >= k->v;
	case K_MODSEQ:
		return m->modseq >= (uint64_t)k->v;
	case K_LARGER:
		return m->size > (uint64_t)k->v;
	case K_SMALLER:
		return m->size < (uint64_t)k->v;
	case K_HDR:
		return hdrmatch(c, k);
	case K_TEXT:
		if (load(c) == NULL)
			return 0;
		if (!c->havehdr) {
			c->havehdr = 1;
			str_adds(&c->hdr, "");
			hdrlines(c, c->msg->root, &c->hdr);
		}
		if (find(k, c->hdr.p, c->hdr.n))
			return 1;
		/* fall through */
	case K_BODY:
		if (load(c) == NULL)
			return 0;
		b = bodytext(c);
		return find(k, b->p, b->n);
	}
	return 0;
}

int
search_match(Search *s, Smsg *m, uint32_t maxseq, uint32_t maxuid)
{
	C c;
	int r;

	memset(&c, 0, sizeof c);
	c.m = m;
	c.maxseq = maxseq;
	c.maxuid = maxuid;
	r = eval(&c, s->root);
	arena_free(&c.ar);
	str_free(&c.hdr);
	str_free(&c.body);
	return r;
}
