/*
 * libFuzzer: the mailbox readers on untrusted bytes. The input is split at
 * its first NUL: the first piece is an mbox file, the rest that mbox's
 * index. Every message found must be readable (whole and header alone)
 * within the file, and reopening with the index must find the same ones.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "mbox.h"

static char dir[64];

static void
put(const char *path, const unsigned char *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || (n > 0 && write(fd, p, n) != (ssize_t)n))
		abort();
	close(fd);
}

static int
walk(Mailbox *mb, uint64_t fsize)
{
	Str s = { 0 };
	char b[MB_IDLEN];
	int i, n = mb_count(mb);

	for (i = 0; i < n; i++) {
		Mmsg *m = mb_msg(mb, i);

		if (m->off > m->end || m->end > fsize || m->off + m->hlen > m->end)
			__builtin_trap();
		str_reset(&s);
		if (mb_read(mb, i, &s) == 0 && s.n != m->size && m->size != UINT32_MAX)
			__builtin_trap();
		str_reset(&s);
		mb_head(mb, i, &s);
		mb_id(mb, i, b);
		mb_sender(mb, i);
	}
	str_free(&s);
	return n;
}

int
LLVMFuzzerTestOneInput(const unsigned char *d, size_t n)
{
	char box[128], idx[128];
	const unsigned char *z = memchr(d, 0, n);
	size_t nb = z ? (size_t)(z - d) : n;
	Mailbox *mb;
	int k1 = -1, k2;

	if (dir[0] == 0) {
		snprintf(dir, sizeof dir, "/tmp/fuzz-mbox.XXXXXX");
		if (mkdtemp(dir) == NULL)
			abort();
	}
	snprintf(box, sizeof box, "%s/mbox", dir);
	snprintf(idx, sizeof idx, "%s/.mbox.idx", dir);
	unlink(idx);
	put(box, d, nb);
	if ((mb = mb_open(box, MB_RDONLY)) != NULL) {
		k1 = walk(mb, nb);
		mb_close(mb);
	}
	/* the same mbox with the rest of the input as its index */
	if (z != NULL) {
		put(idx, z + 1, n - nb - 1);
		if ((mb = mb_open(box, MB_RDONLY)) != NULL) {
			k2 = walk(mb, nb);
			if (k1 >= 0 && k2 != k1)
				__builtin_trap();
			mb_close(mb);
		}
	}
	return 0;
}
