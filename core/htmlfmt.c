/*
 * HTML as readable text, for mail readers: tags give line and paragraph
 * breaks, list bullets and table cell gaps; script, style and head are
 * dropped; entities are decoded; links keep their address after the text;
 * text is filled to a width, <pre> kept as it is. Linear in the input, and
 * bounded: a tag or entity longer than a line is text.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "core.h"
#include "htmlfmt.h"

typedef struct H {
	Str *out;
	int width;
	int col;		/* characters on the current line */
	int sp;			/* a blank is due before the next word */
	int nl;			/* line ends at the end of out (2: a blank line) */
	int pre;		/* inside <pre> */
	int skip;		/* inside script, style, head, title: which (its tag index + 1) */
	int list;		/* depth of ul/ol */
	char href[512];
	size_t hrefat;		/* out->n when the link's text began */
} H;

static void
brk(H *h, int n)
{
	if (h->out->n == 0)
		return;
	while (h->nl < n) {
		str_addc(h->out, '\n');
		h->nl++;
	}
	h->col = 0;
	h->sp = 0;
}

static size_t
u8len(const char *p, size_t n)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		if (((unsigned char)p[i] & 0xc0) != 0x80)
			c++;
	return c;
}

/* One word (no blanks in it), filled. */
static void
word(H *h, const char *p, size_t n)
{
	size_t w = u8len(p, n);

	if (n == 0)
		return;
	if (h->col > 0 && h->sp && h->col + 1 + (int)w > h->width) {
		str_addc(h->out, '\n');
		h->col = 0;
	} else if (h->col > 0 && h->sp) {
		str_addc(h->out, ' ');
		h->col++;
	}
	str_addn(h->out, p, n);
	h->col += w;
	h->sp = 0;
	h->nl = 0;
}

static void
text(H *h, const char *p, size_t n)
{
	size_t i, j;

	if (h->skip)
		return;
	if (h->pre) {
		for (i = 0; i < n; i++) {
			if (p[i] == '\r')
				continue;
			str_addc(h->out, p[i]);
			h->nl = p[i] == '\n' ? h->nl + 1 : 0;
			h->col = p[i] == '\n' ? 0 : h->col + 1;
		}
		return;
	}
	for (i = 0; i < n; i = j) {
		if (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r' || p[i] == '\f') {
			h->sp = h->col > 0;
			j = i + 1;
			continue;
		}
		for (j = i; j < n && p[j] != ' ' && p[j] != '\t' && p[j] != '\n' && p[j] != '\r' && p[j] != '\f'; j++)
			;
		word(h, p + i, j - i);
	}
}

/* UTF-8 for code point c into b; its length. */
static int
utf8(char *b, unsigned long c)
{
	if (c == 0 || c > 0x10ffff || (c >= 0xd800 && c < 0xe000))
		c = 0xfffd;
	if (c < 0x80)
		return b[0] = c, 1;
	if (c < 0x800)
		return b[0] = 0xc0 | c >> 6, b[1] = 0x80 | (c & 0x3f), 2;
	if (c < 0x10000)
		return b[0] = 0xe0 | c >> 12, b[1] = 0x80 | (c >> 6 & 0x3f), b[2] = 0x80 | (c & 0x3f), 3;
	b[0] = 0xf0 | c >> 18, b[1] = 0x80 | (c >> 12 & 0x3f), b[2] = 0x80 | (c >> 6 & 0x3f), b[3] = 0x80 | (c & 0x3f);
	return 4;
}

static const struct {
	const char *name;
	unsigned long c;
} ents[] = {
	{ "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' }, { "apos", '\'' },
	{ "nbsp", 0xa0 }, { "copy", 0xa9 }, { "reg", 0xae }, { "trade", 0x2122 },
	{ "mdash", 0x2014 }, { "ndash", 0x2013 }, { "hellip", 0x2026 }, { "bull", 0x2022 },
	{ "lsquo", 0x2018 }, { "rsquo", 0x2019 }, { "ldquo", 0x201c }, { "rdquo", 0x201d },
	{ "laquo", 0xab }, { "raquo", 0xbb }, { "euro", 0x20ac }, { "pound", 0xa3 },
	{ "yen", 0xa5 }, { "cent", 0xa2 }, { "deg", 0xb0 }, { "times", 0xd7 },
	{ "middot", 0xb7 }, { "shy", 0xad }, { "zwnj", 0x200c }, { "zwj", 0x200d },
};

/* The entity at p ("&...;"): its text into b, the octets it takes; 0 if none. */
static size_t
entity(const char *p, size_t n, char *b, int *bn)
{
	size_t i, e;
	unsigned long c = 0;

	for (e = 1; e < n && e < 12 && p[e] != ';'; e++)
		;
	if (e >= n || p[e] != ';' || e == 1)
		return 0;
	if (p[1] == '#') {
		int hex = e > 2 && (p[2] == 'x' || p[2] == 'X');

		for (i = 2 + hex; i < e; i++) {
			int d = hexdigit(p[i]);

			if (d < 0 || (!hex && d > 9))
				return 0;
			c = c * (hex ? 16 : 10) + d;
			if (c > 0x10ffff)
				c = 0x110000;
		}
		if (i == 2u + hex)
			return 0;
	} else {
		for (i = 0; i < nelem(ents); i++)
			if (strlen(ents[i].name) == e - 1 && memcmp(ents[i].name, p + 1, e - 1) == 0)
				break;
		if (i == nelem(ents))
			return 0;
		c = ents[i].c;
	}
	if (c == 0xad || c == 0x200c || c == 0x200d)
		*bn = 0;
	else if (c == 0xa0)
		*bn = (b[0] = ' ', 1);
	else
		*bn = utf8(b, c);
	return e + 1;
}

static const char *skiptags[] = { "script", "style", "head", "title" };

/* The value of attribute name in the tag text t[0..n), into v. */
static void
attr(const char *t, size_t n, const char *name, char *v, size_t vn)
{
	size_t i, k = strlen(name), s;
	char q;

	v[0] = 0;
	for (i = 0; i + k < n; i++) {
		if ((i > 0 && t[i - 1] != ' ' && t[i - 1] != '\t' && t[i - 1] != '\n') ||
		    strncasecmp(t + i, name, k) != 0)
			continue;
		s = i + k;
		while (s < n && (t[s] == ' ' || t[s] == '\t'))
			s++;
		if (s >= n || t[s] != '=')
			continue;
		for (s++; s < n && (t[s] == ' ' || t[s] == '\t'); s++)
			;
		q = s < n && (t[s] == '"' || t[s] == '\'') ? t[s++] : 0;
		for (i = 0; s < n && i + 1 < vn && (q ? t[s] != q : t[s] != ' ' && t[s] != '>'); s++)
			if ((unsigned char)t[s] >= ' ')
				v[i++] = t[s];
		v[i] = 0;
		return;
	}
}

static void
tag(H *h, const char *t, size_t n)
{
	char name[16], alt[256];
	size_t i, k = 0;
	int end = 0;

	i = 0;
	if (i < n && t[i] == '/')
		end = 1, i++;
	for (; i < n && k + 1 < sizeof name && ((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') ||
	    (t[i] >= '0' && t[i] <= '9')); i++)
		name[k++] = t[i] | 0x20;
	name[k] = 0;
	for (k = 0; k < nelem(skiptags); k++)
		if (strcmp(name, skiptags[k]) == 0) {
			if (!end && !h->skip)
				h->skip = k + 1;
			else if (end && h->skip == (int)k + 1)
				h->skip = 0;
			return;
		}
	if (h->skip)
		return;
	if (strcmp(name, "br") == 0) {
		str_addc(h->out, '\n');
		h->nl++;
		h->col = h->sp = 0;
	} else if (strcmp(name, "p") == 0 || strcmp(name, "blockquote") == 0 || strcmp(name, "table") == 0 ||
	    (name[0] == 'h' && name[1] >= '1' && name[1] <= '6' && name[2] == 0))
		brk(h, 2);
	else if (strcmp(name, "pre") == 0) {
		brk(h, 2);
		h->pre = !end;
	} else if (strcmp(name, "ul") == 0 || strcmp(name, "ol") == 0) {
		h->list += end ? (h->list > 0 ? -1 : 0) : 1;
		brk(h, 1);
	} else if (strcmp(name, "li") == 0) {
		brk(h, 1);
		if (!end) {
			for (k = 1; (int)k < h->list && k < 8; k++)
				str_adds(h->out, "  ");
			str_adds(h->out, "* ");
			h->col = 2 * (k - 1) + 2;
			h->nl = 0;
		}
	} else if (strcmp(name, "div") == 0 || strcmp(name, "tr") == 0 || strcmp(name, "dt") == 0 ||
	    strcmp(name, "dd") == 0 || strcmp(name, "section") == 0 || strcmp(name, "article") == 0 ||
	    strcmp(name, "header") == 0 || strcmp(name, "footer") == 0 || strcmp(name, "center") == 0)
		brk(h, 1);
	else if (strcmp(name, "hr") == 0) {
		brk(h, 1);
		word(h, "----------", 10);
		brk(h, 1);
	} else if ((strcmp(name, "td") == 0 || strcmp(name, "th") == 0) && !end)
		h->sp = h->col > 0;
	else if (strcmp(name, "img") == 0) {
		attr(t, n, "alt", alt + 1, sizeof alt - 2);
		if (alt[1]) {
			alt[0] = '[';
			strcat(alt, "]");
			word(h, alt, strlen(alt));
		}
	} else if (strcmp(name, "a") == 0) {
		if (!end) {
			attr(t, n, "href", h->href, sizeof h->href);
			h->hrefat = h->out->n;
		} else if (h->href[0] && (strncasecmp(h->href, "http", 4) == 0 || strncasecmp(h->href, "mailto:", 7) == 0)) {
			/* the address after the text, unless the text is the address */
			const char *u = strncasecmp(h->href, "mailto:", 7) == 0 ? h->href + 7 : h->href;

			if (h->out->n < h->hrefat || h->out->n - h->hrefat != strlen(u) ||
			    memcmp(h->out->p + h->hrefat, u, strlen(u)) != 0) {
				char b[sizeof h->href + 2];

				snprintf(b, sizeof b, "<%s>", u);
				h->sp = 1;
				word(h, b, strlen(b));
			}
			h->href[0] = 0;
		}
	}
}

void
html_text(Str *out, const char *p, size_t n, int width)
{
	H h;
	size_t i, j, e, run;
	char b[8];
	int bn;

	memset(&h, 0, sizeof h);
	h.out = out;
	h.width = width > 10 ? width : 70;
	h.nl = 2;
	for (i = run = 0; i < n;) {
		if (p[i] == '<' && i + 3 < n && memcmp(p + i, "<!--", 4) == 0) {
			text(&h, p + run, i - run);
			for (j = i + 4; j + 2 < n && memcmp(p + j, "-->", 3) != 0; j++)
				;
			i = run = j + 2 < n ? j + 3 : n;
		} else if (p[i] == '<' && i + 1 < n && (p[i + 1] == '/' || p[i + 1] == '!' ||
		    ((p[i + 1] | 0x20) >= 'a' && (p[i + 1] | 0x20) <= 'z'))) {
			char q = 0;

			for (e = i + 1; e < n && (q || p[e] != '>'); e++)
				if (q && p[e] == q)
					q = 0;
				else if (!q && (p[e] == '"' || p[e] == '\'') && p[e - 1] == '=')
					q = p[e];
			if (e >= n) {
				/* no '>' to the end: nothing after is a tag (no rescans) */
				text(&h, p + run, n - run);
				run = i = n;
				break;
			}
			text(&h, p + run, i - run);
			tag(&h, p + i + 1, e - i - 1);
			i = run = e + 1;
		} else if (p[i] == '&' && (e = entity(p + i, n - i, b, &bn)) > 0) {
			text(&h, p + run, i - run);
			if (bn > 0 && !h.skip) {
				if (h.pre)
					text(&h, b, bn);
				else
					word(&h, b, bn);	/* glued to the text around it */
			}
			i = run = i + e;
		} else
			i++;
	}
	text(&h, p + run, n - run);
	while (out->n > 0 && (out->p[out->n - 1] == '\n' || out->p[out->n - 1] == ' '))
		out->n--;
	if (out->n > 0)
		str_addc(out, '\n');
}
