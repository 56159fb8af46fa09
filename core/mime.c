/* MIME decoders: base64, quoted-printable, charsets to UTF-8, RFC 2047 words. */
#include <errno.h>
#include <string.h>
#include <strings.h>
#include "msg.h"

/* Output through a small buffer: a Str call per decoded byte would dominate. */
typedef struct Out {
	Str *s;
	size_t n;
	char b[4096];
} Out;

static void
put(Out *o, int c)
{
	if (o->n == sizeof o->b) {
		str_addn(o->s, o->b, o->n);
		o->n = 0;
	}
	o->b[o->n++] = c;
}

static void
flush(Out *o)
{
	str_addn(o->s, o->b, o->n);
	o->n = 0;
}

static int
b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Anything outside the alphabet is skipped, as mail readers do with the
 * junk some mailers leave in base64.  '=' ends a quantum early rather than
 * the whole body, so bodies glued from several encodings still decode.
 */
void
msg_b64dec(const char *s, size_t n, Str *out)
{
	Out o = { .s = out };
	unsigned long acc = 0;
	size_t i;
	int k = 0, v;

	for (i = 0; i < n; i++) {
		if (s[i] == '=') {
			if (k >= 2)
				put(&o, acc >> (k == 2 ? 4 : 10));
			if (k == 3)
				put(&o, acc >> 2);
			acc = k = 0;
			continue;
		}
		if ((v = b64val((unsigned char)s[i])) < 0)
			continue;
		acc = acc << 6 | v;
		if (++k == 4) {
			put(&o, acc >> 16);
			put(&o, acc >> 8);
			put(&o, acc);
			acc = k = 0;
		}
	}
	if (k >= 2)
		put(&o, acc >> (k == 2 ? 4 : 10));
	if (k == 3)
		put(&o, acc >> 2);
	flush(&o);
}

/*
 * RFC 2045 §6.7: trailing blanks are transport padding and go; '=' at the
 * end of a line (blanks after it allowed) joins it to the next; an '='
 * that starts no escape stays as it is.
 */
void
msg_qpdec(const char *s, size_t n, int hdr, Str *out)
{
	Out o = { .s = out };
	size_t i, e, end, next;
	const char *nl;
	int soft, crlf, h, l;

	for (i = 0; i < n; i = next) {
		nl = memchr(s + i, '\n', n - i);
		end = nl ? (size_t)(nl - s) : n;
		next = nl ? end + 1 : n;
		e = end;
		crlf = e > i && s[e - 1] == '\r';
		if (crlf)
			e--;
		if (!hdr)
			while (e > i && (s[e - 1] == ' ' || s[e - 1] == '\t'))
				e--;
		soft = e > i && s[e - 1] == '=';
		if (soft)
			e--;
		for (; i < e; i++) {
			if (s[i] == '=' && i + 2 < e && (h = hexdigit((unsigned char)s[i + 1])) >= 0
			    && (l = hexdigit((unsigned char)s[i + 2])) >= 0) {
				put(&o, h << 4 | l);
				i += 2;
			} else if (s[i] == '_' && hdr)
				put(&o, ' ');
			else
				put(&o, s[i]);
		}
		if (!soft && nl) {
			if (crlf)
				put(&o, '\r');
			put(&o, '\n');
		}
	}
	flush(&o);
}

/* Charset names compared with case and punctuation ignored. */
static void
csnorm(const char *cs, char *buf, size_t n)
{
	size_t k = 0;

	for (; *cs && k + 1 < n; cs++)
		if ((*cs >= 'a' && *cs <= 'z') || (*cs >= '0' && *cs <= '9'))
			buf[k++] = *cs;
		else if (*cs >= 'A' && *cs <= 'Z')
			buf[k++] = *cs - 'A' + 'a';
	buf[k] = 0;
}

static int
csmatch(const char *norm, const char *list)
{
	size_t l;

	for (; *list; list += l + 1) {
		l = strlen(list);
		if (strcmp(norm, list) == 0)
			return 1;
	}
	return 0;
}

/* windows-1252's 0x80-0x9f; the five holes keep their C1 code points. */
static const unsigned short cp1252[32] = {
	0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d, 0x17d, 0x8f,
	0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x2dc, 0x2122, 0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178,
};

static void
latin(const char *s, size_t n, Str *out)
{
	unsigned c;
	size_t i;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c < 0x80)
			str_addn(out, s + i, 1);
		else
			utf8_put(out, c < 0xa0 ? cp1252[c - 0x80] : c);
	}
}

int
msg_toutf8(const char *charset, const char *s, size_t n, Str *out)
{
	char norm[64];

	csnorm(charset ? charset : "", norm, sizeof norm);
	if (norm[0] == 0 || csmatch(norm, "utf8\0usascii\0ascii\0ansix341968\0iso646us\0us\0")) {
		str_addn(out, s, n);
		return 0;
	}
	if (csmatch(norm, "iso88591\0latin1\0l1\0cp819\0ibm819\0isoir100\0iso885911987\0"
	    "windows1252\0cp1252\0xcp1252\0")) {
		latin(s, n, out);
		return 0;
	}
	if (charset_toutf8(norm, s, n, out) < 0) {
		str_addn(out, s, n);
		return -1;
	}
	return 0;
}

/* Decoded words wait here so that a character split across two words
 * of one charset (a common encoder bug) converts whole. */
typedef struct Pend {
	Str raw;
	char cs[64];
} Pend;

static void
pendflush(Pend *p, Str *out)
{
	if (p->raw.n > 0)
		msg_toutf8(p->cs, p->raw.p, p->raw.n, out);
	str_reset(&p->raw);
}

/*
 * The first "?=" at or after t, or (size_t)-1.  Q remembers the first at
 * or after some earlier point, so that looking for the ends of many false
 * starts stays linear.
 */
typedef struct Qend {
	size_t from, q;
} Qend;

static size_t
qend(const char *u, size_t len, size_t t, Qend *m)
{
	size_t k;

	if (t < m->from) {
		for (k = t; k < m->from && k + 1 < len; k++)
			if (u[k] == '?' && u[k + 1] == '=')
				return k;
		return m->q;
	}
	if (m->q >= t)
		return m->q;
	m->from = t;
	m->q = (size_t)-1;
	for (k = t; k + 1 < len; k++)
		if (u[k] == '?' && u[k + 1] == '=') {
			m->q = k;
			break;
		}
	return m->q;
}

/* An encoded word "=?charset[*lang]?B|Q?text?=" at u[i]: its end, or 0. */
static size_t
word(const char *u, size_t len, size_t i, Qend *m, char *cs, int *enc, size_t *tx, size_t *tl)
{
	size_t c, k, q;

	if (len - i < 2 || u[i] != '=' || u[i + 1] != '?')
		return 0;
	for (c = i + 2; c < len && c - i < 62 && u[c] != '?' && u[c] != ' ' && u[c] != '\t'; c++)
		;
	if (c == i + 2 || c + 2 >= len || u[c] != '?' || u[c + 2] != '?')
		return 0;
	*enc = u[c + 1] | 0x20;
	if (*enc != 'b' && *enc != 'q')
		return 0;
	for (k = i + 2; k < c && u[k] != '*'; k++)
		cs[k - i - 2] = u[k];
	cs[k - i - 2] = 0;
	if ((q = qend(u, len, c + 3, m)) == (size_t)-1)
		return 0;
	*tx = c + 3;
	*tl = q - *tx;
	return q + 2;
}

/*
 * RFC 2047 §6.2: white space between two encoded words is dropped; words
 * are decoded wherever they appear, not only between blanks.
 */
char *
msg_hdrdecode(Arena *ar, const char *v, size_t n)
{
	Str out = { 0 }, dec = { 0 };
	Pend pd = { .cs = "" };
	char *u, *r, cs[64];
	size_t len, i, lit, e, tx, tl, k;
	Qend m = { 0, 0 };
	int enc, prevword = 0, blank;

	u = msg_unfold(ar, v, n);
	len = strlen(u);
	str_adds(&out, "");
	for (i = lit = 0; i < len;) {
		if (u[i] != '=' || (e = word(u, len, i, &m, cs, &enc, &tx, &tl)) == 0) {
			i++;
			continue;
		}
		blank = 1;
		for (k = lit; k < i; k++)
			if (u[k] != ' ' && u[k] != '\t')
				blank = 0;
		if (!(prevword && blank) && i > lit) {
			pendflush(&pd, &out);
			str_addn(&out, u + lit, i - lit);
		}
		str_reset(&dec);
		if (enc == 'b')
			msg_b64dec(u + tx, tl, &dec);
		else
			msg_qpdec(u + tx, tl, 1, &dec);
		if (strcasecmp(cs, pd.cs) != 0) {
			pendflush(&pd, &out);
			strcpy(pd.cs, cs);
		}
		if (dec.n > 0)
			str_addn(&pd.raw, dec.p, dec.n);
		prevword = 1;
		i = lit = e;
	}
	pendflush(&pd, &out);
	str_addn(&out, u + lit, len - lit);
	for (k = 0; k < out.n; k++)
		if (out.p[k] == '\r' || out.p[k] == '\n' || out.p[k] == 0)
			out.p[k] = ' ';
	r = arena_strndup(ar, out.p, out.n);
	str_free(&out);
	str_free(&dec);
	str_free(&pd.raw);
	return r;
}

void
msg_decode(Part *p, Str *out)
{
	if (p->enc == ENC_B64)
		msg_b64dec(p->body, p->bodylen, out);
	else if (p->enc == ENC_QP)
		msg_qpdec(p->body, p->bodylen, 0, out);
	else
		str_addn(out, p->body, p->bodylen);
}

int
msg_body(Part *p, Str *out)
{
	Str d = { 0 };
	int r;

	if (strcmp(p->type, "text") != 0) {
		msg_decode(p, out);
		return 0;
	}
	if (p->enc == ENC_NONE)
		return msg_toutf8(p->charset, p->body, p->bodylen, out) < 0;
	str_adds(&d, "");
	msg_decode(p, &d);
	r = msg_toutf8(p->charset, d.p, d.n, out);
	str_free(&d);
	return r < 0;
}
