#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core.h"

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		die(EX_TEMPFAIL, "out of memory");
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
		die(EX_TEMPFAIL, "out of memory");
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = 0;
	return p;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

/* The value of a hexadecimal digit, or -1. */
int
hexdigit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * Small string buffers freed are kept for the next string: musl's malloc
 * hands a size class's whole group back to the kernel when its last slot
 * is freed, so short-lived strings would each cost an mmap and a munmap.
 */
#if defined(__SANITIZE_ADDRESS__)
#define NOCACHE 1	/* under ASan every free is a real one, so misuse is caught */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NOCACHE 1
#endif
#endif
#ifdef NOCACHE
enum { SMALL = 64, NSMALL = 0 };
#else
enum { SMALL = 64, NSMALL = 16 };
#endif
static char *small[NSMALL + 1];
static int nsmall;

void
str_reserve(Str *s, size_t more)
{
	size_t cap;

	if (s->n + more + 1 <= s->cap)
		return;
	if (more > ((size_t)-1) / 4 - s->n)
		die(EX_TEMPFAIL, "string too large");
	cap = s->cap ? s->cap : SMALL;
	while (cap < s->n + more + 1)
		cap *= 2;
	if (s->cap == 0 && cap == SMALL && nsmall > 0)
		s->p = small[--nsmall];
	else
		s->p = xrealloc(s->p, cap);
	s->cap = cap;
}

void
str_addn(Str *s, const char *p, size_t n)
{
	str_reserve(s, n);
	if (n > 0)
		memcpy(s->p + s->n, p, n);
	s->n += n;
	s->p[s->n] = 0;
}

void
str_adds(Str *s, const char *p)
{
	str_addn(s, p, strlen(p));
}

void
str_addc(Str *s, int c)
{
	if (s->n + 2 > s->cap)
		str_reserve(s, 1);
	s->p[s->n++] = c;
	s->p[s->n] = 0;
}

void
str_fmt(Str *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	str_reserve(s, n);
	va_start(ap, fmt);
	vsnprintf(s->p + s->n, n + 1, fmt, ap);
	va_end(ap);
	s->n += n;
}

void
str_reset(Str *s)
{
	s->n = 0;
	if (s->p)
		s->p[0] = 0;
}

void
str_free(Str *s)
{
	if (s->cap == SMALL && nsmall < NSMALL)
		small[nsmall++] = s->p;
	else
		free(s->p);
	s->p = NULL;
	s->n = s->cap = 0;
}

/* Arenas: chunks of at least 4 KB, freed together. */
typedef union {
	long double d;
	long long l;
	void *p;
} Align;

struct Achunk {
	struct Achunk *next;
	size_t used, cap;
	Align data[];
};

/*
 * Freed chunks of the usual size wait here for the next arena: malloc
 * would give each back to the kernel and map it again moments later.
 */
enum { ACHUNK = 4096, NSPARE = NSMALL ? 8 : 0 };
static struct Achunk *spare;
static int nspare;

void *
arena_alloc(Arena *a, size_t n)
{
	struct Achunk *c = a->c;
	size_t al = sizeof(Align), cap;
	void *p;

	n = (n + al - 1) / al * al;
	if (n == 0)
		n = al;
	if (c == NULL || c->cap - c->used < n) {
		cap = n > ACHUNK - sizeof *c ? n : ACHUNK - sizeof *c;
		if (cap == ACHUNK - sizeof *c && spare != NULL) {
			c = spare;
			spare = c->next;
			nspare--;
		} else
			c = xmalloc(sizeof *c + cap);
		c->used = 0;
		c->cap = cap;
		c->next = a->c;
		a->c = c;
	}
	p = (char *)c->data + c->used;
	c->used += n;
	return p;
}

char *
arena_strndup(Arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);

	memcpy(p, s, n);
	p[n] = 0;
	return p;
}

char *
arena_strdup(Arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

void
arena_free(Arena *a)
{
	struct Achunk *c, *next;

	for (c = a->c; c; c = next) {
		next = c->next;
		if (c->cap == ACHUNK - sizeof *c && nspare < NSPARE) {
			c->next = spare;
			spare = c;
			nspare++;
		} else
			free(c);
	}
	a->c = NULL;
}

void
str_word(Str *s, const char *p)
{
	if (p == NULL || *p == 0) {
		str_addc(s, '-');
		return;
	}
	if (strcmp(p, "-") == 0 || strcmp(p, "*") == 0) {
		str_fmt(s, "%%%02X", *p);
		return;
	}
	while (*p) {
		const char *q = p;

		while ((unsigned char)*q > ' ' && *q != 0x7f && *q != '%')
			q++;
		str_addn(s, p, q - p);	/* a run at once */
		if (*q == 0)
			break;
		str_addc(s, '%');
		str_addc(s, "0123456789ABCDEF"[(unsigned char)*q >> 4]);
		str_addc(s, "0123456789ABCDEF"[*q & 0xf]);
		p = q + 1;
	}
}

void
str_num(Str *s, uint64_t v, int base)
{
	char b[24];
	int i = sizeof b;

	do
		b[--i] = "0123456789abcdef"[v % base];
	while ((v /= base) > 0);
	str_addn(s, b + i, sizeof b - i);
}

const char *
str_scan(const char *s, const char *fmt, ...)
{
	va_list ap;
	uint64_t v;
	int w, neg, base, d, k;
	char c, *out;

	va_start(ap, fmt);
	for (; *fmt && s; fmt++) {
		if (*fmt == ' ') {
			while (*s == ' ' || *s == '\t')
				s++;
			continue;
		}
		if (*fmt != '%') {
			if (*s++ != *fmt)
				s = NULL;
			continue;
		}
		w = fmt[1] >= '1' && fmt[1] <= '9' ? *++fmt - '0' : 0;
		if ((c = *++fmt) == 'c') {
			out = va_arg(ap, char *);
			for (k = 0; s && k < (w ? w : 1); k++)
				if ((out[k] = *s++) == 0)
					s = NULL;
			continue;
		}
		while (*s == ' ' || *s == '\t')
			s++;
		neg = c == 'd' && *s == '-';
		s += neg || (c == 'd' && *s == '+');
		base = c == 'x' ? 16 : 10;
		for (v = 0, k = 0; (w == 0 || k < w) && (d = hexdigit(*s)) >= 0 && d < base; k++, s++) {
			if (v > (UINT64_MAX - d) / base)
				break;
			v = v * base + d;
		}
		if (k == 0 || (w == 0 && hexdigit(*s) >= 0 && hexdigit(*s) < base))
			s = NULL;	/* no digits, or too many */
		else if (c == 'd')
			*va_arg(ap, int64_t *) = neg ? -(int64_t)v : (int64_t)v;
		else
			*va_arg(ap, uint64_t *) = v;
	}
	va_end(ap);
	return s;
}
