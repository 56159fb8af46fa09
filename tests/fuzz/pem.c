/* libFuzzer: PEM files as tls_loadcert and tls_anchors read them (tls/tlsload.c: the PEM walk, BearSSL's key and certificate decoders, the check that the leaf carries the key), from a file on a tmpfs written anew each run. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "tls.h"
#include "tlsimpl.h"

static char path[64];
static int fd = -1;

static void
gone(void)
{
	unlink(path);
}

int
LLVMFuzzerTestOneInput(const unsigned char *d, size_t n)
{
	Tlscert *k;
	Anchors a;

	if (fd < 0) {
		snprintf(path, sizeof path, "/dev/shm/fuzz-pem.XXXXXX");
		if ((fd = mkstemp(path)) < 0) {
			snprintf(path, sizeof path, "/tmp/fuzz-pem.XXXXXX");
			if ((fd = mkstemp(path)) < 0)
				abort();
		}
		atexit(gone);
	}
	if (ftruncate(fd, 0) < 0 || pwrite(fd, d, n, 0) != (ssize_t)n)
		abort();
	if ((k = tls_loadcert(path, NULL)) != NULL)
		tls_freecert(k);
	if (tls_anchors(&a, path) == 0) {
		if (a.n == 0)
			__builtin_trap();
		tls_freeanchors(&a);
	}
	return 0;
}
