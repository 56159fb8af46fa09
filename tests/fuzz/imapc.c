/*
 * libFuzzer: an IMAP server's byte stream through the client's response
 * reader (core/imapc.c: resp, untagged, flagsat, await, by imapc_read), as
 * a session reads it (a Bio over a Conn, here reading from memory in
 * chunks the first byte chooses). The listing keeps at most a UID per
 * line, each with only the flags a sync keeps.
 */
#include <stdlib.h>
#include <string.h>
#include "mbox.h"
#include "remote.h"

#include "memconn.h"

int
LLVMFuzzerTestOneInput(const unsigned char *d, size_t n)
{
	uint32_t *uid;
	int *flags, k, i, ok;
	size_t lines = 1, j;
	Conn c;

	if (n < 1)
		return 0;
	memconn(&c, d, n);
	ok = imapc_read(&c, &uid, &flags, &k);
	for (j = 1; j < n; j++)
		lines += d[j] == '\n';
	if (ok < 0 || k < 0 || (size_t)ok > lines || (size_t)k > lines ||
	    (k > 0 && (uid == NULL || flags == NULL)))
		__builtin_trap();
	for (i = 0; i < k; i++)
		if (flags[i] & ~(MF_SEEN | MF_ANSWERED | MF_FLAGGED | MF_DRAFT))
			__builtin_trap();
	free(uid);
	free(flags);
	return 0;
}
