/*
 * libFuzzer: what a POP3 client sends, through pop3's own code
 * (applets/pop3.c is included here, so its static functions are reached
 * and the binary stays as it is). The first octet sets options: -p, -a
 * (preauthenticated) or a login against a lib/secrets holding "fuzz
 * secret", and whether the mailbox (box/fuzz/mbox) is the input up to its
 * first NUL or a fixed one; the rest is the client's stream, read from
 * memory in chunks its first octet chooses, through pop3_main's loop.
 *
 * Each command's answer is checked as a client reads it: CRLF lines, one
 * status line (+OK or -ERR; "+ " challenges before it in AUTH), and for a
 * multi-line +OK the lines up to ".", every line starting with '.' stuffed,
 * nothing after it but the -ERR of a hangup. RETR's octet count is what
 * the client holds once the stuffing is undone, and agrees with LIST; TOP
 * sends at most the lines asked for; STAT, LIST and UIDL list exactly the
 * messages not deleted, UIDLs 1-70 printable octets and distinct; a
 * login is the one in lib/secrets. After QUIT's +OK the mailbox, read
 * again, holds exactly the messages not deleted.
 * FUZZ_SHOW=1 build/fuzz/fuzz-pop3 FILE prints the session's replies.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>
#include "core.h"
#include "applet.h"
#include "digest.h"
#include "mbox.h"
#include "mimeenc.h"
#include "policy.h"
#include "rewrite.h"
#include "sasl.h"
#include "secrets.h"
#include "tls.h"

#include "memconn.h"
#include "stand.h"

static const char fixed[] =
	"From alice@example.net Tue Jul  1 10:52:37 2003\n"
	"From: alice@example.net\n"
	"Subject: one\n"
	"\n"
	".a line with a dot\n"
	"..two dots\n"
	".\n"
	"\n"
	"From bob@example.org Wed Jul  2 11:00:00 2003\n"
	"From: bob@example.org\r\n"
	"Subject: crlf\r\n"
	"\r\n"
	"body\r\n"
	"\n"
	"From alice@example.net Tue Jul  1 10:52:37 2003\n"
	"From: alice@example.net\n"
	"Subject: one\n"
	"\n"
	".a line with a dot\n"
	"..two dots\n"
	".\n"
	"\n"
	"From carol@example.com Thu Jul  3 12:00:00 2003\n"
	"From: carol@example.com\n"
	"Status: RO\n"
	"Subject: read, no final newline\n"
	"\n"
	"x";

static const unsigned char *fzd;
static size_t fzn;
static char fzroot[64], fzbox[128];
static size_t fzpos;	/* where the answer to the last command starts */
static char fzverb[8], fzarg[LIM_POPCMD];
static int fzpreauth, fzok;
static uint64_t *fzsize;	/* per message: the octets LIST or RETR said, or UINT64_MAX */
static int fznsize;

static void fzinvariants(void);
static void fzanswer(int last);

static void
fzlogkeep(const char *log)
{
	(void)log;
}

static int
fzowner(uid_t *uid, gid_t *gid)
{
	*uid = 1000;
	*gid = 1000;
	return 0;
}

static int
fzbecome(uid_t uid, gid_t gid)
{
	(void)uid, (void)gid;
	return 0;
}

static void
fzconninit(Conn *c, int rfd, int wfd)
{
	(void)rfd, (void)wfd;
	memconn(c, fzd, fzn);
}

static int
fzbiowrite(Bio *b, const void *p, size_t n)
{
	str_addn(&fzwire, p, n);
	return bio_write(b, p, n);
}

static int
fzbioputs(Bio *b, const char *s)
{
	str_adds(&fzwire, s);
	return bio_puts(b, s);
}

/* Between commands (the session's only bio_line): the last answer, the state; then the next command. */
static ssize_t
fzbioline(Bio *b, char *buf, size_t max)
{
	char line[LIM_POPCMD];
	ssize_t n, k;
	size_t v;

	fzanswer(0);
	fzinvariants();
	n = bio_line(b, buf, max);
	fzverb[0] = fzarg[0] = 0;
	if (n == BIO_EOF || n == BIO_ERR)
		return n;
	memcpy(line, buf, n > 0 ? n + 1 : 1);
	k = n;
	v = strcspn(line, " ");
	if (n == BIO_LONG || bio_chomp(line, &k) < 0 || (v = strcspn(line, " ")) >= sizeof fzverb) {
		snprintf(fzverb, sizeof fzverb, "?");	/* a bad line: -ERR */
		return n;
	}
	snprintf(fzverb, sizeof fzverb, "%.*s", (int)v, line);
	for (v = 0; fzverb[v]; v++)
		if (fzverb[v] >= 'a' && fzverb[v] <= 'z')
			fzverb[v] -= 'a' - 'A';
	snprintf(fzarg, sizeof fzarg, "%s", line + strlen(fzverb));
	return n;
}

#define exit(n) fzexit(n)
#define sleep(n) fzsleep(n)
#define logmsg fzlogmsg
#define logkeep fzlogkeep
#define priv_box(u, uid, gid) fzowner(uid, gid)
#define priv_owner(p, uid, gid) fzowner(uid, gid)
#define priv_become fzbecome
#define conn_init fzconninit
#define bio_line fzbioline
#define bio_write fzbiowrite
#define bio_puts fzbioputs
#define pop3_main fuzz_pop3_main
#include "../../applets/pop3.c"
#undef exit
#undef sleep
#undef logmsg
#undef logkeep
#undef priv_box
#undef priv_owner
#undef priv_become
#undef conn_init
#undef bio_line
#undef bio_write
#undef bio_puts

static int
fzuidlok(const char *u)
{
	size_t n = strlen(u), i;

	for (i = 0; i < n; i++)
		if (u[i] < 0x21 || u[i] > 0x7e)
			return 0;
	return n >= 1 && n <= LIM_UIDL;
}

static void
fzinvariants(void)
{
	int i, j;

	if (S.state != Sauth && S.state != Strans)
		__builtin_trap();
	if (S.state == Sauth && (S.mb != NULL || S.nm != 0 || S.who != NULL))
		__builtin_trap();
	if (S.state == Strans && (S.who == NULL || (!fzpreauth && strcmp(S.who, "fuzz") != 0)))
		__builtin_trap();
	for (i = 0; i < S.nm; i++) {
		if (!fzuidlok(S.m[i].uidl) || (S.m[i].gone && !S.m[i].dele) ||
		    (!S.m[i].gone && S.mb != NULL && S.m[i].idx >= mb_count(S.mb)))
			__builtin_trap();
		for (j = 0; j < i; j++)
			if (strcmp(S.m[i].uidl, S.m[j].uidl) == 0)
				__builtin_trap();
	}
}

/* A message number as a reply gives it: 1 to S.nm, or 0. */
static int
fznum(const char *s, const char **end)
{
	char *e;
	unsigned long v = strtoul(s, &e, 10);

	if (e == s || v < 1 || v > (unsigned long)S.nm)
		return 0;
	if (end != NULL)
		*end = e;
	return (int)v;
}

static void
fzsized(int k, uint64_t size)
{
	int i;

	if (fznsize != S.nm) {
		fzsize = realloc(fzsize, (S.nm + 1) * sizeof *fzsize);
		for (i = 0; i <= S.nm; i++)
			fzsize[i] = UINT64_MAX;
		fznsize = S.nm;
	}
	if (k < 1 || k > S.nm)
		__builtin_trap();
	if (fzsize[k - 1] != UINT64_MAX && fzsize[k - 1] != size)
		__builtin_trap();
	fzsize[k - 1] = size;
}

/*
 * The answer to the last command, fzwire[fzpos..]: as a client reads it.
 * last: the session ended after it (a hangup may add an -ERR line).
 */
static void
fzanswer(int last)
{
	const char *p = fzwire.p + fzpos, *e = fzwire.p + fzwire.n, *nl, *st, *q;
	int multi, ok, k = 0, live = 0, i, body = 0, prev = 0, nlisted = 0;
	uint64_t size = 0, want = 0, top = 0;
	const char *arg = fzarg + strspn(fzarg, " ");

	if (fzverb[0] == 0 && fzpos == 0 && fzwire.n > 0) {	/* the greeting */
		if (strncmp(p, "+OK ", 4) != 0)
			__builtin_trap();
	}
	if (fzverb[0] == 0) {
		fzpos = fzwire.n;
		return;
	}
	if (p == e) {
		if (!last)	/* every command is answered */
			__builtin_trap();
		return;
	}
	for (q = p; q < e; q = nl + 1)
		if ((nl = memchr(q, '\n', e - q)) == NULL || nl == q || nl[-1] != '\r')
			__builtin_trap();
	/* AUTH's challenges */
	if (strcmp(fzverb, "AUTH") == 0 && *arg != 0)
		while (p < e && strncmp(p, "+ ", 2) == 0)
			p = (const char *)memchr(p, '\n', e - p) + 1;
	if (p == e) {
		if (!last)
			__builtin_trap();
		fzpos = fzwire.n;
		return;
	}
	st = p;
	nl = memchr(p, '\n', e - p);
	if (memchr(p, '\r', nl - 1 - p) != NULL)
		__builtin_trap();
	ok = strncmp(p, "+OK", 3) == 0 && (p[3] == ' ' || p[3] == '\r');
	if (!ok && !(strncmp(p, "-ERR", 4) == 0 && (p[4] == ' ' || p[4] == '\r')))
		__builtin_trap();
	fzok = ok;
	p = nl + 1;
	multi = ok && (strcmp(fzverb, "CAPA") == 0 || strcmp(fzverb, "RETR") == 0 || strcmp(fzverb, "TOP") == 0 ||
	    ((strcmp(fzverb, "LIST") == 0 || strcmp(fzverb, "UIDL") == 0 || strcmp(fzverb, "AUTH") == 0) && *arg == 0));
	if (multi) {
		for (;; p = nl + 1) {
			if (p == e)
				__builtin_trap();	/* no end */
			nl = memchr(p, '\n', e - p);
			if (nl - p == 2 && p[0] == '.')
				break;
			if (p[0] == '.' && p[1] != '.')
				__builtin_trap();	/* not stuffed */
			size += nl - 1 - p - (p[0] == '.') + 2;
			if (nl - 1 == p)
				body = 1;
			else if (body)
				top++;
			if (strcmp(fzverb, "LIST") == 0 || strcmp(fzverb, "UIDL") == 0) {
				if ((k = fznum(p, &q)) <= prev || *q != ' ' || S.m[k - 1].dele || S.m[k - 1].idx < 0)
					__builtin_trap();
				prev = k;
				nlisted++;
				if (strcmp(fzverb, "UIDL") == 0 &&
				    (strncmp(q + 1, S.m[k - 1].uidl, strlen(S.m[k - 1].uidl)) != 0 ||
				    q + 1 + strlen(S.m[k - 1].uidl) != nl - 1))
					__builtin_trap();
				if (strcmp(fzverb, "LIST") == 0)
					fzsized(k, strtoull(q + 1, NULL, 10));
			}
		}
		p = nl + 1;
	}
	/* nothing more, but a hangup's last word */
	if (p != e && !(last && strncmp(p, "-ERR ", 5) == 0 && memchr(p, '\n', e - p) == e - 1))
		__builtin_trap();
	for (i = 0; i < S.nm; i++)
		live += !S.m[i].dele && !S.m[i].gone && S.m[i].idx >= 0;
	if (!ok)
		;
	else if (strcmp(fzverb, "RETR") == 0) {
		if ((k = fznum(arg, NULL)) == 0 || sscanf(st, "+OK %" SCNu64 " octets", &want) != 1 || want != size)
			__builtin_trap();
		fzsized(k, size);
	} else if (strcmp(fzverb, "TOP") == 0) {
		if (fznum(arg, &q) == 0 || sscanf(q, " %" SCNu64, &want) != 1 || top > want)
			__builtin_trap();
	} else if (strcmp(fzverb, "LIST") == 0 && *arg == 0) {
		if (nlisted != live)
			__builtin_trap();
	} else if (strcmp(fzverb, "LIST") == 0) {
		if ((k = fznum(arg, NULL)) == 0 || fznum(st + 4, &q) != k || *q != ' ')
			__builtin_trap();
		fzsized(k, strtoull(q + 1, NULL, 10));
	} else if (strcmp(fzverb, "UIDL") == 0 && *arg == 0) {
		if (nlisted != live)
			__builtin_trap();
	} else if (strcmp(fzverb, "STAT") == 0) {
		if (sscanf(st, "+OK %d", &k) != 1 || k != live)
			__builtin_trap();
	} else if (strcmp(fzverb, "DELE") == 0) {
		if ((k = fznum(arg, NULL)) == 0 || !S.m[k - 1].dele)
			__builtin_trap();
	}
	fzpos = fzwire.n;
}

static void
fzsetup(void)
{
	static int done;
	char p[160];
	int fd;

	if (done++)
		return;
	/* tmpfs where there is one: the mailbox is written and synced every run */
	snprintf(fzroot, sizeof fzroot, "/dev/shm/fuzz-pop3.XXXXXX");
	if (mkdtemp(fzroot) == NULL) {
		snprintf(fzroot, sizeof fzroot, "/tmp/fuzz-pop3.XXXXXX");
		if (mkdtemp(fzroot) == NULL)
			abort();
	}
	setenv("UPASROOT", fzroot, 1);
	snprintf(p, sizeof p, "%s/lib", fzroot);
	mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/box", fzroot);
	mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/box/fuzz", fzroot);
	mkdir(p, 0700);
	snprintf(fzbox, sizeof fzbox, "%s/box/fuzz/mbox", fzroot);
	snprintf(p, sizeof p, "%s/lib/secrets", fzroot);
	if ((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0 || write(fd, "fuzz secret\n", 12) != 12)
		abort();
	close(fd);
}

/* The mailbox afresh, without the side files of the last run. */
static void
fzmailbox(const char *m, size_t n)
{
	char p[192];
	int fd;

	snprintf(p, sizeof p, "%s/box/fuzz/.mbox.idx", fzroot);
	unlink(p);
	snprintf(p, sizeof p, "%s/box/fuzz/.mbox.journal", fzroot);
	unlink(p);
	if ((fd = open(fzbox, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0 || (n > 0 && write(fd, m, n) != (ssize_t)n))
		abort();
	close(fd);
}

int
LLVMFuzzerTestOneInput(const unsigned char *d, size_t n)
{
	char *argv[8];
	const unsigned char *z;
	Mailbox *mb;
	int argc = 0, o, quit, i, ndele = 0, r;

	fzsetup();
	if (n < 2)
		return 0;
	o = d[0];
	d++, n--;
	if (o & 4) {	/* the mailbox from the input */
		z = memchr(d, 0, n);
		if (z == NULL || (size_t)(z - d) + 2 > n)
			return 0;
		fzmailbox((const char *)d, z - d);
		n -= z + 1 - d;
		d = z + 1;
	} else
		fzmailbox(fixed, sizeof fixed - 1);
	argv[argc++] = "pop3";
	if (o & 1)
		argv[argc++] = "-p";
	fzpreauth = (o & 2) != 0;
	if (fzpreauth) {
		argv[argc++] = "-a";
		argv[argc++] = fzbox;
	}
	argv[argc] = NULL;
	fzd = d;
	fzn = n;
	str_reset(&fzwire);
	fzpos = 0;
	fzverb[0] = fzarg[0] = 0;
	fznsize = 0;
	optind = 0;
	if (setjmp(fzout) == 0)
		fuzz_pop3_main(argc, argv);
	fzok = 0;
	if (getenv("FUZZ_SHOW"))
		fprintf(stderr, "%.*s", (int)fzwire.n, fzwire.p);
	fzanswer(1);
	quit = strcmp(fzverb, "QUIT") == 0 && fzok && S.state == Strans && S.mb != NULL;
	for (i = 0; i < S.nm; i++)
		ndele += S.m[i].dele;
	/* after QUIT: exactly the messages not deleted */
	if (quit) {
		if ((mb = mb_open(fzbox, MB_RDONLY)) == NULL)
			__builtin_trap();
		r = mb_count(mb);
		mb_close(mb);
		if (r != S.nm - ndele)
			__builtin_trap();
	}
	for (i = 0; i < S.nm; i++)
		free(S.m[i].id);
	free(S.m);
	if (S.mb != NULL)
		mb_close(S.mb);
	free(S.box);
	if (!fzpreauth)
		free((char *)S.who);
	str_free(&S.buf);
	memset(&S, 0, sizeof S);
	return 0;
}
