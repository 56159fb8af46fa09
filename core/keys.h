/*
 * Client credentials from the mail root's box/USER/keys, one key a line in
 * Plan 9 factotum syntax (see keys(5)):
 *	key proto=pass service=smtp server=mail.example.com user=alice !password='s3cret'
 * Files of secrets (this one and lib/secrets) are used only when they are
 * regular files, not symlinks, owned by the effective uid or root, closed to
 * group and other, and within their size bound.
 */
#ifndef UPAS_KEYS_H
#define UPAS_KEYS_H

#include <stddef.h>
#include "limits.h"

typedef struct Key {
	char user[LIM_AUTHUSER + 1];
	char password[LIM_SECRET + 1];
} Key;

/*
 * The first key in owner's keys file with proto=pass, service=service,
 * server=server (host compared without case) and, when wantuser is not NULL,
 * user=wantuser. 1 found (k filled), 0 none (a missing file too; lasterr
 * says what was looked for, or why the last bad line was skipped), -1 the
 * file is unusable (lasterr says why).
 */
int keys_find(const char *owner, const char *service, const char *server, const char *wantuser, Key *k);
void keys_wipe(Key *k);

/*
 * The whole of a file of secrets, checked as above on the descriptor read
 * from, NUL-terminated. NULL with lasterr and errno: open's (ENOENT when it
 * is missing, ELOOP a symlink), or EACCES when the checks refuse it.
 * keys_freetext wipes and frees it.
 */
char *keys_readfile(const char *path, size_t max, size_t *len);
void keys_freetext(char *text, size_t len);
#endif
