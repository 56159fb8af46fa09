#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core.h"

/* The owner of path itself: a symlink is refused, never followed. */
int
priv_owner(const char *path, uid_t *uid, gid_t *gid)
{
	struct stat st;

	if (lstat(path, &st) < 0) {
		seterr("%s:", path);
		return -1;
	}
	if (S_ISLNK(st.st_mode)) {
		seterr("%s: is a symbolic link", path);
		return -1;
	}
	*uid = st.st_uid;
	*gid = st.st_gid;
	return 0;
}

/*
 * Who delivery for a mail user acts as: the owner of ROOT/box/USER, which
 * must be a real directory not owned by root, so that no address (say "0" or
 * "root") can make delivery or pipeto run with root's rights.
 */
int
priv_box(const char *user, uid_t *uid, gid_t *gid)
{
	char path[LIM_PATHNAME];
	struct stat st;

	if (upas_path(path, sizeof path, "box", user, NULL) < 0)
		return -1;
	if (lstat(path, &st) < 0) {
		seterr("%s:", path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		seterr("%s: not a directory", path);
		return -1;
	}
	if (st.st_uid == 0) {
		seterr("%s: owned by root; mail is never delivered as root", path);
		return -1;
	}
	*uid = st.st_uid;
	*gid = st.st_gid;
	return 0;
}

static int
number(const char *s, unsigned long *v)
{
	char *e;

	if (*s < '0' || *s > '9')
		return 0;
	errno = 0;
	*v = strtoul(s, &e, 10);
	return *e == 0 && errno == 0 && *v < 0xfffffffful;
}

/*
 * The ids an operator names (listen -u): "uid" or "uid:gid", a passwd entry,
 * the owner of the mail directory ROOT/box/USER (not root), or nobody; so no
 * /etc/passwd is needed. Never feed it an address: use priv_box for that.
 */
int
priv_lookup(const char *user, uid_t *uid, gid_t *gid)
{
	char *colon, num[32];
	struct passwd *pw;
	unsigned long u, g;

	if (strlen(user) < sizeof num && (colon = strchr(strcpy(num, user), ':')) != NULL) {
		*colon = 0;
		if (number(num, &u) && number(colon + 1, &g)) {
			*uid = u;
			*gid = g;
			return 0;
		}
	} else if (number(user, &u)) {
		*uid = u;
		*gid = u;
		return 0;
	}
	if ((pw = getpwnam(user)) != NULL) {
		*uid = pw->pw_uid;
		*gid = pw->pw_gid;
		return 0;
	}
	if (priv_box(user, uid, gid) == 0)
		return 0;
	if (strcmp(user, "nobody") == 0) {
		*uid = *gid = NOBODY;
		return 0;
	}
	seterr("unknown user %s", user);
	return -1;
}

/* Become uid/gid for good; verify root cannot be regained. */
int
priv_become(uid_t uid, gid_t gid)
{
	if (geteuid() != 0) {
		if (geteuid() == uid)
			return 0;
		seterr("cannot become uid %u: not root", (unsigned)uid);
		return -1;
	}
	/* a user never keeps root's group, which a box directory made by
	 * root and given to its user often has */
	if (uid != 0 && gid == 0)
		gid = NOBODY;
	if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0) {
		seterr("cannot become uid %u:", (unsigned)uid);
		return -1;
	}
	if (uid != 0 && (setuid(0) == 0 || geteuid() == 0)) {
		seterr("could regain root after dropping it");
		return -1;
	}
	return 0;
}
