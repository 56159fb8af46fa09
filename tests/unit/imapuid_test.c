/* Unit tests over core/imapuid.c: UIDs, keywords and \Recent in the .imp file. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "unit.h"
#include "imap.h"
#include "mbox.h"

static char *
ipath(const char *name)
{
	static char buf[4][LIM_PATHNAME];
	static int i;
	char *p = buf[i++ % 4];

	snprintf(p, LIM_PATHNAME, "%s/%s", unit_tmpdir(), name);
	return p;
}

static void
add(const char *box, const char *subject)
{
	char m[256];

	snprintf(m, sizeof m, "From: a@example.org\nSubject: %s\n\nbody\n", subject);
	mb_append(box, "a@example.org", 0, m, strlen(m));
}

/* The UIDs of the mailbox's messages, with the .imp locked and unlocked around it. */
static int
uids(Imp *p, Mailbox *mb, uint32_t *u)
{
	if (imp_lock(p, mb->path, mb_kind(mb)) < 0)
		return -1;
	mb_refresh(mb);
	if (imp_match(p, mb) == 0) {
		imp_unlock(p);
		return -1;
	}
	memcpy(u, p->uid, mb_count(mb) * sizeof *u);
	return imp_unlock(p);
}

TEST(imapuid_assign)
{
	char *box = ipath("uid.mbox"), *imp = ipath(".uid.mbox.imp");
	uint32_t u[8], v0;
	Imp p, q;
	Mailbox *mb;
	size_t n;
	char *text;
	int fd;

	add(box, "one");
	add(box, "two");
	mb = mb_open(box, MB_RDWR);
	memset(&p, 0, sizeof p);
	p.fd = -1;
	if (!CHECK(mb != NULL && uids(&p, mb, u) == 0))
		return;
	CHECK(u[0] == 1 && u[1] == 2 && p.next == 3);
	v0 = p.validity;
	CHECK(v0 > 0);
	/* the first locker claims both as \Recent, the next nothing */
	CHECK(imp_lock(&p, box, MB_MBOX) == 0);
	p.claim = 1;
	CHECK(imp_match(&p, mb) != 0 && p.claimed == 0);
	CHECK(imp_unlock(&p) == 0);
	CHECK(imp_lock(&p, box, MB_MBOX) == 0);
	p.claim = 1;
	CHECK(imp_match(&p, mb) != 0 && p.claimed == 2);
	imp_setkw(&p, 1, "$Work Later");
	CHECK(imp_unlock(&p) == 0);
	/* another session reads what was written */
	memset(&q, 0, sizeof q);
	q.fd = -1;
	add(box, "three");
	CHECK(uids(&q, mb, u) == 0 && mb_count(mb) == 3);
	CHECK(u[0] == 1 && u[1] == 2 && u[2] == 3 && q.validity == v0);
	CHECK(imp_lock(&q, box, MB_MBOX) == 0 && imp_match(&q, mb) != 0);
	CHECK(imp_kw(&q, 1) != NULL && strcmp(imp_kw(&q, 1), "$Work Later") == 0 && imp_kw(&q, 0) == NULL);
	CHECK(imp_unlock(&q) == 0);
	/* an expunged message's UID is never given again */
	mb_keepdeleted(mb, 1);
	mb_setflags(mb, 2, MF_EXPUNGE, 0);
	CHECK(mb_sync(mb) == 0 && mb_count(mb) == 2);
	add(box, "four");
	CHECK(uids(&q, mb, u) == 0 && mb_count(mb) == 3 && u[2] == 4 && q.next == 5);
	imp_close(&q);
	/* a damaged file: new UIDs under a UIDVALIDITY past the old one */
	text = readfile(imp, 1 << 20, &n);
	CHECK(text != NULL && strncmp(text, "upas imp 2 ", 11) == 0);
	free(text);
	fd = open(imp, O_WRONLY | O_TRUNC);
	CHECK(fd >= 0 && write(fd, "garbage\n", 8) == 8);
	close(fd);
	memset(&q, 0, sizeof q);
	q.fd = -1;
	q.validity = v0;	/* what the session saw before */
	CHECK(uids(&q, mb, u) == 0 && q.validity > v0 && u[0] == 1 && u[2] == 3);
	imp_close(&q);
	imp_close(&p);
	mb_close(mb);
}

TEST(imapuid_maildir)
{
	char *box = ipath("uid.maildir"), sub[LIM_PATHNAME];
	static const char *d[] = { "", "/cur", "/new", "/tmp" };
	uint32_t u[4];
	struct stat st;
	Imp p;
	Mailbox *mb;
	size_t i;

	for (i = 0; i < nelem(d); i++) {
		snprintf(sub, sizeof sub, "%s%s", box, d[i]);
		mkdir(sub, 0700);
	}
	add(box, "a");
	add(box, "b");
	mb = mb_open(box, MB_RDWR);
	memset(&p, 0, sizeof p);
	p.fd = -1;
	if (!CHECK(mb != NULL && uids(&p, mb, u) == 0))
		return;
	CHECK(u[0] == 1 && u[1] == 2);
	snprintf(sub, sizeof sub, "%s/.imp", box);
	CHECK(lstat(sub, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) == 0);
	/* a flag change renames the file: the UID stays */
	mb_setflags(mb, 0, MF_SEEN | MF_FLAGGED, 0);
	CHECK(mb_sync(mb) == 0);
	CHECK(uids(&p, mb, u) == 0 && u[0] == 1 && u[1] == 2 && p.next == 3);
	imp_close(&p);
	mb_close(mb);
}

/* MODSEQ (RFC 7162): new messages, flags any program sets, keywords,
 * expunges; a version 1 file is taken over as it is. */
TEST(imapuid_modseq)
{
	char ib0[MB_IDLEN], ib1[MB_IDLEN];
	char *box = ipath("mod.mbox"), *imp = ipath(".mod.mbox.imp");
	uint64_t m0, m1, h;
	Mailbox *mb;
	Imp p;
	int fd;

	add(box, "one");
	add(box, "two");
	/* a version 1 file from before: its UIDs stand */
	fd = open(imp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	mb = mb_open(box, MB_RDWR);
	if (!CHECK(fd >= 0 && mb != NULL))
		return;
	dprintf(fd, "upas imp 1 77 9 0\n5 %s\n8 %s $Old\n", mb_id(mb, 0, ib0), mb_id(mb, 1, ib1));
	close(fd);
	memset(&p, 0, sizeof p);
	p.fd = -1;
	CHECK(imp_lock(&p, box, MB_MBOX) == 0 && imp_match(&p, mb) != 0);
	CHECK(p.validity == 77 && p.uid[0] == 5 && p.uid[1] == 8 && imp_kw(&p, 1) != NULL);
	m0 = imp_modseq(&p, 0);
	m1 = imp_modseq(&p, 1);
	h = p.highest;
	CHECK(m0 >= 1 && m1 >= 1 && h >= m0 && h >= m1);
	CHECK(imp_unlock(&p) == 0);
	/* another program marks message 0 seen: a new MODSEQ at the next match */
	mb_setflags(mb, 0, MF_SEEN, 0);
	CHECK(mb_sync(mb) == 0);
	CHECK(imp_lock(&p, box, MB_MBOX) == 0 && imp_match(&p, mb) != 0);
	CHECK(imp_modseq(&p, 0) > h && imp_modseq(&p, 1) == m1 && p.highest == imp_modseq(&p, 0));
	h = p.highest;
	/* keywords */
	imp_setkw(&p, 1, "$New");
	CHECK(imp_modseq(&p, 1) == h + 1);
	CHECK(imp_unlock(&p) == 0);
	CHECK(imp_lock(&p, box, MB_MBOX) == 0 && imp_match(&p, mb) != 0);
	CHECK(imp_modseq(&p, 1) == h + 1 && strcmp(imp_kw(&p, 1), "$New") == 0 && p.highest == h + 1);
	/* nothing changed: nothing moves */
	CHECK(imp_unlock(&p) == 0);
	CHECK(imp_lock(&p, box, MB_MBOX) == 0 && imp_match(&p, mb) != 0 && p.highest == h + 1);
	CHECK(imp_unlock(&p) == 0);
	/* an expunge raises HIGHESTMODSEQ */
	mb_keepdeleted(mb, 1);
	mb_setflags(mb, 0, MF_EXPUNGE, 0);
	CHECK(mb_sync(mb) == 0);
	CHECK(imp_lock(&p, box, MB_MBOX) == 0 && imp_match(&p, mb) != 0 && p.highest > h + 1 && p.uid[0] == 8);
	imp_close(&p);
	mb_close(mb);
}


/* Keywords on some of many messages, set in any order and taken back,
 * read back the same in this session and the next; a MODSEQ past 32 bits
 * survives. */
TEST(imapuid_kwmany)
{
	char *box = ipath("kw.mbox"), *imp = ipath(".kw.mbox.imp"), kw[32], *text, *nl = NULL;
	Imp p, q;
	Mailbox *mb;
	size_t n;
	int i, k, fd, bad = 0;
	uint64_t h;
	Str s = { 0 };

	for (i = 0; i < 300; i++) {
		snprintf(kw, sizeof kw, "m%d", i);
		add(box, kw);
	}
	mb = mb_open(box, MB_RDWR);
	memset(&p, 0, sizeof p);
	p.fd = -1;
	if (!CHECK(mb != NULL && imp_lock(&p, box, MB_MBOX) == 0 && imp_match(&p, mb) != 0))
		return;
	/* every third, in a scattered order; then every ninth taken back */
	for (k = 0; k < 300; k++) {
		i = (k * 7) % 300;
		if (i % 3 == 0) {
			snprintf(kw, sizeof kw, "k%d", i);
			imp_setkw(&p, i, kw);
		}
	}
	for (i = 0; i < 300; i += 9)
		imp_setkw(&p, i, NULL);
	for (i = 0; i < 300; i++) {
		snprintf(kw, sizeof kw, "k%d", i);
		if (i % 3 == 0 && i % 9 != 0 ? imp_kw(&p, i) == NULL || strcmp(imp_kw(&p, i), kw) != 0 : imp_kw(&p, i) != NULL)
			bad++;
	}
	CHECK(bad == 0);
	CHECK(imp_unlock(&p) == 0);
	memset(&q, 0, sizeof q);
	q.fd = -1;
	CHECK(imp_lock(&q, box, MB_MBOX) == 0 && imp_match(&q, mb) != 0);
	for (i = bad = 0; i < 300; i++) {
		snprintf(kw, sizeof kw, "k%d", i);
		if (i % 3 == 0 && i % 9 != 0 ? imp_kw(&q, i) == NULL || strcmp(imp_kw(&q, i), kw) != 0 : imp_kw(&q, i) != NULL)
			bad++;
	}
	CHECK(bad == 0);
	CHECK(imp_unlock(&q) == 0);
	imp_close(&q);
	imp_close(&p);
	/* HIGHESTMODSEQ and one message's MODSEQ made past 2^32 by hand */
	text = readfile(imp, 1 << 20, &n);
	if (!CHECK(text != NULL && (nl = strchr(text, '\n')) != NULL))
		return;
	*nl = 0;
	{
		unsigned v, nx, rc;
		unsigned long long hi;

		CHECK(sscanf(text, "upas imp 2 %u %u %u %llu", &v, &nx, &rc, &hi) == 4);
		str_fmt(&s, "upas imp 2 %u %u %u %llu\n", v, nx, rc, hi + 5000000000ULL);
		h = hi + 5000000000ULL;
	}
	{
		char *line = nl + 1, *e;
		unsigned long long u, m;

		for (i = 0; *line; i++, line = e + 1) {
			e = strchr(line, '\n');
			*e = 0;
			u = strtoull(line, &line, 10);
			m = strtoull(line, &line, 10);
			str_fmt(&s, "%llu %llu%s\n", u, i == 5 ? h : m, line);
		}
	}
	free(text);
	fd = open(imp, O_WRONLY | O_TRUNC);
	CHECK(fd >= 0 && write(fd, s.p, s.n) == (ssize_t)s.n);
	close(fd);
	str_free(&s);
	memset(&q, 0, sizeof q);
	q.fd = -1;
	CHECK(imp_lock(&q, box, MB_MBOX) == 0 && imp_match(&q, mb) != 0);
	CHECK(q.highest == h && imp_modseq(&q, 5) == h);
	CHECK(imp_modseq(&q, 4) >= 1 && imp_modseq(&q, 4) < h);
	imp_setkw(&q, 4, "$Big");
	CHECK(imp_modseq(&q, 4) == h + 1 && q.highest == h + 1);
	CHECK(imp_unlock(&q) == 0);
	imp_close(&q);
	mb_close(mb);
}
