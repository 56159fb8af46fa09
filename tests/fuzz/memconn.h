/*
 * For the fuzzers of protocol readers: a Conn reading the fuzz input from
 * memory in chunks its first octet chooses (1-128 octets, or 64 KB), so a
 * reader meets every way a stream can be cut; writes go nowhere.
 */
#include <string.h>
#include "core.h"

static const unsigned char *rp;
static size_t rn, rchunk;

static ssize_t
memread(Conn *c, void *p, size_t n)
{
	(void)c;
	if (n > rn)
		n = rn;
	if (n > rchunk)
		n = rchunk;
	memcpy(p, rp, n);
	rp += n;
	rn -= n;
	return n;
}

static int
memwrite(Conn *c, const void *p, size_t n)
{
	(void)c, (void)p, (void)n;
	return 0;
}

/* c reads d[1..n) (n >= 1). */
static void
memconn(Conn *c, const unsigned char *d, size_t n)
{
	rchunk = d[0] < 0x80 ? (size_t)d[0] + 1 : 1 << 16;
	rp = d + 1, rn = n - 1;
	memset(c, 0, sizeof *c);
	c->rfd = c->wfd = -1;
	c->read = memread;
	c->write = memwrite;
}
