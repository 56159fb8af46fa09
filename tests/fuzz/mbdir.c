/*
 * libFuzzer: the directory mailboxes on untrusted names and bytes. The
 * first octet chooses Maildir or mdir, whether the last entry is an index
 * (its lines, given the header and checksum that make it parse), and
 * whether flags are then changed; the rest is entries "name\0bytes\0...",
 * written as the mailbox's files (a Maildir name may start with new/,
 * cur/ or tmp/; any other '/' becomes '_').
 *
 * Every file a scan must see (Maildir: regular files in new/ and cur/ not
 * starting with '.'; mdir: names "secs.NN", secs at least 1e6) is one
 * message and every message one of them; a Maildir message's flags are its
 * name's letters (D F R S T) and MF_OLD for cur/, its id the name up to ':',
 * its text the file's; an mdir message reads as long as its size says.
 * Opened again, with the index the first open wrote, the mailbox is the
 * same. With flag changes, each message is given flags from the input (T
 * deletes), synced, and opened again: exactly the others remain, each with
 * the flags it was given.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "mbox.h"

enum { Maxent = 64 };

static char dir[64], box[96];

typedef struct Ent {
	char name[256];		/* relative to the box */
	const unsigned char *p;
	size_t n;
	int seen;
} Ent;

static Ent ent[Maxent];
static int nent;

static void
put(const char *path, const unsigned char *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || (n > 0 && write(fd, p, n) != (ssize_t)n))
		abort();
	close(fd);
}

/* Everything in the box from the last run. */
static void
empty(const char *sub)
{
	char p[512];
	struct dirent *d;
	DIR *dd;

	snprintf(p, sizeof p, "%s%s%s", box, sub[0] ? "/" : "", sub);
	if ((dd = opendir(p)) == NULL)
		return;
	while ((d = readdir(dd)) != NULL) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		if (sub[0] == 0 && (strcmp(d->d_name, "new") == 0 || strcmp(d->d_name, "cur") == 0 ||
		    strcmp(d->d_name, "tmp") == 0))
			continue;
		if (unlinkat(dirfd(dd), d->d_name, 0) < 0)
			abort();
	}
	closedir(dd);
}

static void
setup(int maildir)
{
	char p[128];

	if (dir[0] == 0) {
		/* tmpfs where there is one: every run writes and syncs files */
		snprintf(dir, sizeof dir, "/dev/shm/fuzz-mbdir.XXXXXX");
		if (mkdtemp(dir) == NULL) {
			snprintf(dir, sizeof dir, "/tmp/fuzz-mbdir.XXXXXX");
			if (mkdtemp(dir) == NULL)
				abort();
		}
	}
	snprintf(box, sizeof box, "%s/%s", dir, maildir ? "Maildir" : "mdir");
	mkdir(box, 0700);
	if (maildir) {
		snprintf(p, sizeof p, "%s/new", box);
		mkdir(p, 0700);
		snprintf(p, sizeof p, "%s/cur", box);
		mkdir(p, 0700);
		snprintf(p, sizeof p, "%s/tmp", box);
		mkdir(p, 0700);
		empty("new");
		empty("cur");
		empty("tmp");
	}
	empty("");
}

/* A name for the file of an entry, or "" to skip it. */
static void
entname(char *out, size_t max, const unsigned char *s, size_t n, int maildir)
{
	const char *sub = "";
	size_t i, k;

	if (maildir) {
		sub = "new/";
		if (n >= 4 && (memcmp(s, "new/", 4) == 0 || memcmp(s, "cur/", 4) == 0 || memcmp(s, "tmp/", 4) == 0)) {
			sub = (const char *)s;
			s += 4, n -= 4;
		}
	}
	if (n == 0 || n > 200 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.') ||
	    (!maildir && (n == 3 && memcmp(s, "idx", 3) == 0))) {
		out[0] = 0;
		return;
	}
	k = snprintf(out, max, "%.4s", sub);
	for (i = 0; i < n; i++)
		out[k++] = s[i] == '/' ? '_' : s[i];
	out[k] = 0;
}

/* "secs.NN", secs at least 1e6, as an mdir names its messages. */
static int
mdirname(const char *s)
{
	const char *d = strchr(s, '.');
	size_t i, n;

	if (d == NULL || d == s || d[1] == 0 || strspn(s, "0123456789") != (size_t)(d - s) ||
	    strspn(d + 1, "0123456789") != strlen(d + 1))
		return 0;
	for (i = 0; s[i] == '0'; i++)
		;
	n = d - s - i;
	return n > 7 || (n == 7 && s[i] >= '1');
}

static int
letters(const char *name)
{
	const char *p = strstr(name, ":2,");
	int f = 0;

	for (p = p ? p + 3 : ""; *p; p++)
		f |= *p == 'D' ? MF_DRAFT : *p == 'F' ? MF_FLAGGED : *p == 'R' ? MF_ANSWERED :
		    *p == 'S' ? MF_SEEN : *p == 'T' ? MF_DELETED : 0;
	return f;
}

/* Should a scan see this file as a message? */
static int
shown(const char *name, int maildir)
{
	if (!maildir)
		return mdirname(name);
	return (strncmp(name, "new/", 4) == 0 || strncmp(name, "cur/", 4) == 0) && name[4] != '.';
}

static Ent *
find(const char *file)
{
	int i;

	for (i = 0; i < nent; i++)
		if (strcmp(ent[i].name, file) == 0)
			return &ent[i];
	return NULL;
}

/* A Maildir file with the unique name of one before it (a broken Maildir). */
static int
sameid(const char *name)
{
	size_t k = strcspn(name + 4, ":");
	int i;

	for (i = 0; i < nent; i++)
		if (strcspn(ent[i].name + 4, ":") == k && strncmp(ent[i].name + 4, name + 4, k) == 0)
			return 1;
	return 0;
}

/* The messages against the files; their count. */
static int
walk(Mailbox *mb, int maildir, int forged)
{
	char file[600], b[MB_IDLEN];
	Str s = { 0 };
	int i, k = 0, n = mb_count(mb);
	Mmsg *m;
	Ent *e;

	for (i = 0; i < nent; i++)
		ent[i].seen = 0;
	for (i = 0; i < n; i++) {
		m = mb_msg(mb, i);
		mb_file(mb, m, file, sizeof file);
		if ((e = find(file)) == NULL || !shown(file, maildir) || e->seen++)
			__builtin_trap();
		if (m->flags & ~MF_ALL || m->dflags & ~MF_ALL)
			__builtin_trap();
		if (maildir && ((m->dflags & ~MF_STORED) != (letters(file) | (file[0] == 'c' ? MF_OLD : 0)) ||
		    strncmp(mb_id(mb, i, b), file + 4, strcspn(file + 4, ":")) != 0 ||
		    mb_id(mb, i, b)[strcspn(file + 4, ":")] != 0))
			__builtin_trap();
		if (!maildir && (strcmp(mb_id(mb, i, b), file) != 0 || (!forged && m->dflags != 0)))
			__builtin_trap();
		str_reset(&s);
		if (mb_read(mb, i, &s) < 0)
			__builtin_trap();
		if (maildir && (s.n != e->n || (s.n > 0 && memcmp(s.p, e->p, s.n) != 0) || m->size != s.n))
			__builtin_trap();
		if (!maildir && !forged && s.n != m->size && m->size != UINT32_MAX)
			__builtin_trap();
		str_reset(&s);
		mb_head(mb, i, &s);
		mb_sender(mb, i);
	}
	for (i = 0; i < nent; i++)
		k += shown(ent[i].name, maildir);
	if (k != n)
		__builtin_trap();
	str_free(&s);
	return n;
}

/* The index's lines as the input gives them, between the header and the checksum that make it parse. */
static void
index_(const unsigned char *p, size_t n, int kind)
{
	char path[160];
	Str s = { 0 };
	size_t i, lines = 0;

	for (i = 0; i < n; i++)
		lines += p[i] == '\n';
	str_fmt(&s, "upas-idx 1 %d 0 0 0 0 %zu\n", kind, lines);
	str_addn(&s, (const char *)p, n);
	str_fmt(&s, "end %llx\n", (unsigned long long)mb_hash(0, s.p, s.n));
	snprintf(path, sizeof path, "%s/.idx", box);
	put(path, (const unsigned char *)s.p, s.n);
	str_free(&s);
}

int
LLVMFuzzerTestOneInput(const unsigned char *d, size_t n)
{
	const unsigned char *p, *e, *z, *ix = NULL, *fl = NULL;
	size_t ixn = 0, fln = 0;
	int o, maildir, i, k, cnt, want[Maxent], gone;
	char path[512], b[MB_IDLEN], *ids[Maxent];
	Mailbox *mb;
	Mmsg *m;
	Ent *t;

	if (n < 1)
		return 0;
	o = d[0];
	maildir = o & 1;
	setup(maildir);
	nent = 0;
	for (p = d + 1, e = d + n; p < e && nent < Maxent;) {
		z = memchr(p, 0, e - p);
		t = &ent[nent];
		entname(t->name, sizeof t->name, p, z ? (size_t)(z - p) : (size_t)(e - p), maildir);
		if (z == NULL)
			break;
		p = z + 1;
		z = memchr(p, 0, e - p);
		t->p = p;
		t->n = z ? (size_t)(z - p) : (size_t)(e - p);
		p = z ? z + 1 : e;
		if (t->name[0] == 0 || find(t->name) != NULL || (maildir && sameid(t->name)))
			continue;
		nent++;
	}
	/* the rest: the index's lines, then flags */
	if (p < e && (o & 2)) {
		z = memchr(p, 0, e - p);
		ix = p;
		ixn = z ? (size_t)(z - p) : (size_t)(e - p);
		p = z ? z + 1 : e;
	}
	if (p < e) {
		fl = p;
		fln = e - p;
	}
	for (i = 0; i < nent; i++) {
		snprintf(path, sizeof path, "%s/%s", box, ent[i].name);
		put(path, ent[i].p, ent[i].n);
	}
	if (ix != NULL)
		index_(ix, ixn, maildir ? MB_MAILDIR : MB_MDIR);
	if ((mb = mb_open(box, MB_RDONLY)) == NULL)
		__builtin_trap();
	cnt = walk(mb, maildir, ix != NULL);
	mb_close(mb);
	/* again, with the index it wrote */
	if ((mb = mb_open(box, (o & 4) ? MB_RDWR : MB_RDONLY)) == NULL || walk(mb, maildir, ix != NULL) != cnt)
		__builtin_trap();
	if (!(o & 4) || fl == NULL) {
		mb_close(mb);
		return 0;
	}
	/* new flags, T deleting; synced; then exactly the others, with theirs */
	for (i = gone = 0; i < cnt; i++) {
		k = fl[i % fln] & MF_ALL & ~MF_OLD;
		mb_setflags(mb, i, k, ~k & MF_ALL & ~MF_OLD);
		m = mb_msg(mb, i);
		want[i] = m->flags | (maildir && m->flags != m->dflags ? MF_OLD : 0);
		ids[i] = xstrdup(mb_id(mb, i, b));
		gone += (k & MF_DELETED) != 0;
	}
	if (mb_sync(mb) < 0)
		__builtin_trap();
	mb_purge(mb);
	mb_close(mb);
	if ((mb = mb_open(box, MB_RDONLY)) == NULL || mb_count(mb) != cnt - gone)
		__builtin_trap();
	for (k = 0; k < mb_count(mb); k++) {
		mb_id(mb, k, b);
		for (i = 0; i < cnt && strcmp(ids[i], mb_id(mb, k, b)) != 0; i++)
			;
		if (i == cnt || (want[i] & MF_DELETED) || mb_msg(mb, k)->flags != want[i])
			__builtin_trap();
	}
	mb_close(mb);
	for (i = 0; i < cnt; i++)
		free(ids[i]);
	return 0;
}
