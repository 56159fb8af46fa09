/*
 * Text in the charsets mail carries, converted to UTF-8 without iconv: musl's
 * iconv brings CJK tables that alone would cost more than half of the binary's
 * size budget. Single-byte charsets come from tables (core/charsets.h, made by
 * scripts/charsets.py); UTF-16 and UTF-32 are decoded here; anything else is
 * unknown and the caller keeps the bytes as they are (docs/DEVIATIONS.md).
 */
#include <string.h>
#include "core.h"
#include "charsets.h"

void
utf8_put(Str *out, unsigned c)
{
	char b[4];

	if (c > 0x10ffff || (c >= 0xd800 && c < 0xe000))
		c = 0xfffd;
	if (c < 0x80) {
		b[0] = c;
		str_addn(out, b, 1);
	} else if (c < 0x800) {
		b[0] = 0xc0 | c >> 6;
		b[1] = 0x80 | (c & 0x3f);
		str_addn(out, b, 2);
	} else if (c < 0x10000) {
		b[0] = 0xe0 | c >> 12;
		b[1] = 0x80 | (c >> 6 & 0x3f);
		b[2] = 0x80 | (c & 0x3f);
		str_addn(out, b, 3);
	} else {
		b[0] = 0xf0 | c >> 18;
		b[1] = 0x80 | (c >> 12 & 0x3f);
		b[2] = 0x80 | (c >> 6 & 0x3f);
		b[3] = 0x80 | (c & 0x3f);
		str_addn(out, b, 4);
	}
}

static int
table(const char *norm)
{
	const char *p;

	for (p = csname; p < csname + sizeof csname - 1; p += strlen(p + 1) + 2)
		if (strcmp(norm, p + 1) == 0)
			return (unsigned char)p[0];
	return -1;
}

static unsigned
unit(const unsigned char *p, int size, int big)
{
	if (size == 2)
		return big ? (unsigned)p[0] << 8 | p[1] : (unsigned)p[1] << 8 | p[0];
	return big ? (unsigned)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]
	    : (unsigned)p[3] << 24 | p[2] << 16 | p[1] << 8 | p[0];
}

/* UTF-16 or UTF-32, big- or little-endian; a byte order mark decides when the
 * name does not. Unpaired surrogates and stray bytes become U+FFFD. */
static void
wide(const unsigned char *s, size_t n, int size, int big, Str *out)
{
	size_t i = 0;
	unsigned c, d;

	if (n >= (size_t)size) {
		c = unit(s, size, big);
		if (c == 0xfeff)
			i = size;
		else if (c == 0xfffe || c == 0xfffe0000u) {
			big = !big;
			i = size;
		}
	}
	for (; i + size <= n; i += size) {
		c = unit(s + i, size, big);
		if (size == 2 && c >= 0xd800 && c < 0xdc00 && i + 4 <= n) {
			d = unit(s + i + 2, 2, big);
			if (d >= 0xdc00 && d < 0xe000) {
				c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
				i += 2;
			}
		}
		utf8_put(out, c);
	}
	if (i < n)
		utf8_put(out, 0xfffd);
}

/* norm: the charset name lowercased with punctuation removed. 0, or -1 unknown. */
int
charset_toutf8(const char *norm, const char *s, size_t n, Str *out)
{
	const unsigned char *u = (const unsigned char *)s;
	int t;
	size_t i;

	if (strncmp(norm, "utf16", 5) == 0 || strncmp(norm, "utf32", 5) == 0) {
		const char *e = norm + 5;
		if (*e && strcmp(e, "be") != 0 && strcmp(e, "le") != 0)
			return -1;
		wide(u, n, norm[3] == '1' ? 2 : 4, strcmp(e, "le") != 0, out);
		return 0;
	}
	if ((t = table(norm)) < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (u[i] < 0x80)
			str_addn(out, s + i, 1);
		else
			utf8_put(out, cstab[t][u[i] - 0x80] ? cstab[t][u[i] - 0x80] : 0xfffd);
	return 0;
}
