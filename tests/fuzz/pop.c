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

#include "memconn.h"

int
LLVMFuzzerTestOneInput(const unsigned char *d, size_t n)
{
	char **uidl;
	int k, i;
	size_t all, len;
	Conn c;

	if (n < 1)
		return 0;
	memconn(&c, d, n);
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
