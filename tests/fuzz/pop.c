/*
 * libFuzzer: a POP3 server's byte stream through the client's reader
 * (core/pop.c: reply, capa, the UIDL listing, multiline, by pop_read), as
 * a session reads it (a Bio over a Conn, here reading from memory in
 * chunks the first byte chooses). UIDLs within their bounds; messages,
 * stuffing undone, no larger than the stream.
 */
#include <stdlib.h>
#include <string.h>
#include "remote.h"

/* the stream, read in chunks of rchunk octets */
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

int
LLVMFuzzerTestOneInput(const unsigned char *d, size_t n)
{
	char **uidl;
	int k, i;
	size_t all, len;
	Conn c;

	if (n < 1)
		return 0;
	rchunk = d[0] < 0x80 ? (size_t)d[0] + 1 : 1 << 16;
	rp = d + 1, rn = n - 1;
	memset(&c, 0, sizeof c);
	c.rfd = c.wfd = -1;
	c.read = memread;
	c.write = memwrite;
	all = pop_read(&c, &uidl, &k);
	if (all > n || k < 0 || (k > 0 && uidl == NULL))
		__builtin_trap();
	for (i = 0; i < k; i++) {
		len = strlen(uidl[i]);
		if (len == 0 || len > LIM_UIDL || strchr(uidl[i], ' '))
			__builtin_trap();
		free(uidl[i]);
	}
	free(uidl);
	return 0;
}
