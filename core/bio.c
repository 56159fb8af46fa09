#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core.h"

void
bio_init(Bio *b, Conn *c)
{
	b->c = c;
	b->rpos = b->rlen = b->wlen = 0;
	b->err = 0;
}

static int
fill(Bio *b)
{
	ssize_t r;

	if (b->err)
		return -1;
	r = b->c->read(b->c, b->rbuf, sizeof b->rbuf);
	if (r < 0)
		b->err |= BIO_RERR;
	if (r <= 0)
		return (int)r;
	b->rpos = 0;
	b->rlen = r;
	return 1;
}

int
bio_getc(Bio *b)
{
	if (b->rpos == b->rlen && fill(b) <= 0)
		return -1;
	return (unsigned char)b->rbuf[b->rpos++];
}

ssize_t
bio_read(Bio *b, void *p, size_t n)
{
	size_t k;
	int r;

	if (b->rpos == b->rlen) {
		if (n >= sizeof b->rbuf) {
			ssize_t rr = b->c->read(b->c, p, n);
			if (rr < 0)
				b->err |= BIO_RERR;
			return rr;
		}
		if ((r = fill(b)) <= 0)
			return r;
	}
	k = b->rlen - b->rpos;
	if (k > n)
		k = n;
	memcpy(p, b->rbuf + b->rpos, k);
	b->rpos += k;
	return k;
}

/*
 * Read one line, LF included, into buf (NUL-terminated; max counts the NUL).
 * A line that does not fit is consumed up to its LF and reported as BIO_LONG,
 * so a protocol can answer "line too long" and stay in step with the peer.
 * The last line of a stream may lack its LF.
 */
ssize_t
bio_line(Bio *b, char *buf, size_t max)
{
	size_t n = 0, k;
	char *nl;
	int r, longline = 0;

	for (;;) {
		if (b->rpos == b->rlen) {
			r = fill(b);
			if (r < 0)
				return BIO_ERR;
			if (r == 0) {
				if (longline)
					return BIO_LONG;
				buf[n] = 0;
				return n;
			}
		}
		nl = memchr(b->rbuf + b->rpos, '\n', b->rlen - b->rpos);
		k = nl ? (size_t)(nl - (b->rbuf + b->rpos)) + 1 : b->rlen - b->rpos;
		if (!longline && n + k < max) {
			memcpy(buf + n, b->rbuf + b->rpos, k);
			n += k;
		} else
			longline = 1;
		b->rpos += k;
		if (nl) {
			if (longline)
				return BIO_LONG;
			buf[n] = 0;
			return n;
		}
	}
}

int
bio_flush(Bio *b)
{
	if (b->err & BIO_WERR)
		return -1;
	if (b->wlen && b->c->write(b->c, b->wbuf, b->wlen) < 0) {
		b->err |= BIO_WERR;
		return -1;
	}
	b->wlen = 0;
	return 0;
}

int
bio_write(Bio *b, const void *p, size_t n)
{
	const char *s = p;
	size_t k;

	while (n > 0) {
		if (b->wlen == sizeof b->wbuf && bio_flush(b) < 0)
			return -1;
		k = sizeof b->wbuf - b->wlen;
		if (k > n)
			k = n;
		memcpy(b->wbuf + b->wlen, s, k);
		b->wlen += k;
		s += k;
		n -= k;
	}
	return b->err & BIO_WERR ? -1 : 0;
}

int
bio_puts(Bio *b, const char *s)
{
	return bio_write(b, s, strlen(s));
}

int
bio_printf(Bio *b, const char *fmt, ...)
{
	char buf[LIM_TEXTLINE * 2];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n >= sizeof buf) {
		char *big = xmalloc((size_t)n + 1);
		va_start(ap, fmt);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
		n = bio_write(b, big, n);
		free(big);
		return n;
	}
	return bio_write(b, buf, n);
}

size_t
bio_buffered(Bio *b)
{
	return b->rlen - b->rpos;
}

void
bio_discard(Bio *b)
{
	b->rpos = b->rlen = 0;
}

/* Strip a line's CRLF or LF in place; -1 when a NUL or a CR is left inside it. */
int
bio_chomp(char *line, ssize_t *n)
{
	if (*n >= 2 && line[*n - 2] == '\r')
		line[*n -= 2] = 0;
	else if (*n >= 1 && line[*n - 1] == '\n')
		line[--*n] = 0;
	return strlen(line) != (size_t)*n || strchr(line, '\r') != NULL ? -1 : 0;
}
