/* Unit tests over core/imapsearch.c: SEARCH keys, their errors, and linear text search. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "unit.h"
#include "imap.h"
#include "mbox.h"

static const char m1[] =
    "From: =?iso-8859-1?q?Ren=E9_Dupont?= <rene@example.org>\n"
    "To: Mary Smith <mary@example.net>, bob@example.com\n"
    "Cc: carol@example.com\n"
    "Subject: Quarterly report =?utf-8?q?caf=C3=A9?=\n"
    "Date: Mon, 31 Jan 2022 23:30:00 -0800\n"
    "X-Empty:\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"b1\"\n"
    "\n"
    "preamble unseen\n"
    "--b1\n"
    "Content-Type: text/plain; charset=iso-8859-1\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "Le d=E9jeuner est pr=EAt. Hello World.\n"
    "--b1\n"
    "Content-Type: text/html; charset=utf-8\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "PHA+U2VjcmV0ICBIVE1MIHdvcmRzPC9wPgo=\n"
    "--b1\n"
    "Content-Type: application/octet-stream\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "YmluYXJ5bmVlZGxlCg==\n"
    "--b1\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "From: inner@example.org\n"
    "Subject: Inner subject zebra\n"
    "\n"
    "Inner body giraffe.\n"
    "--b1--\n";

static const char m2[] =
    "From: alice@example.com\n"
    "To: bob@example.com\n"
    "Bcc: hidden@example.com\n"
    "Subject: lunch\n"
    "Date: Tue, 1 Feb 2022 00:10:00 +0100\n"
    "Received: from a by b\n"
    "Received: from c\n"
    "  by d\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "\n"
    "Plain body with UPPER case and \xc3\x89" "COLE.\n";

static const char m3[] =
    "From: \"Zed\" <zed@example.net>\n"
    "\n"
    "No subject, no date.\n";

typedef struct Tmsg {
	Smsg s;
	Msg msg;
	int ok, loads;
} Tmsg;

static Msg *
tload(void *arg)
{
	Tmsg *t = arg;

	t->loads++;
	return t->ok ? &t->msg : NULL;
}

static void
tinit(Tmsg *t, const char *raw, size_t n, uint32_t seq, uint32_t uid)
{
	memset(t, 0, sizeof *t);
	t->ok = raw != NULL && msg_parse(&t->msg, raw, n) == 0;
	t->s.seq = seq;
	t->s.uid = uid;
	t->s.load = tload;
	t->s.arg = t;
}

/* Compile keys read as the server reads them: "tag SEARCH keys" through imap_readcmd. */
static Search *
compile(Arena *ar, const char *keys)
{
	Imapin in = { 0 };
	Imapcmd cmd;
	Conn c;
	Bio *b;
	int fd[2], r;

	if (pipe(fd) < 0)
		return NULL;
	fd_writeall(fd[1], "t SEARCH ", 9);
	fd_writeall(fd[1], keys, strlen(keys));
	fd_writeall(fd[1], "\r\n", 2);
	close(fd[1]);
	b = xmalloc(sizeof *b);
	conn_init(&c, fd[0], -1);
	bio_init(b, &c);
	in.b = b;
	in.ar = ar;
	in.maxlit = LIM_IMAPLIT;
	r = imap_readcmd(&in, &cmd);
	close(fd[0]);
	free(b);
	if (!CHECK(r == 0))
		return NULL;
	return search_parse(ar, cmd.arg, cmd.narg);
}

static Tmsg tm[3];

/* The sequence numbers of tm[] that keys match, "ERR" when keys do not compile. */
static char *
hits(const char *keys)
{
	static char buf[64];
	Arena ar = { 0 };
	Search *s;
	char *p = buf;
	int i;

	buf[0] = 0;
	if ((s = compile(&ar, keys)) == NULL) {
		printf("#   %s: %s\n", keys, lasterr());
		strcpy(buf, "ERR");
	} else
		for (i = 0; i < 3; i++)
			if (search_match(s, &tm[i].s, 3, 30))
				p += sprintf(p, "%s%u", p == buf ? "" : " ", tm[i].s.seq);
	arena_free(&ar);
	return buf;
}

static void
setup(void)
{
	static char *kw1[] = { "$Forwarded", "Work" }, *kw3[] = { "work" };

	tinit(&tm[0], m1, sizeof m1 - 1, 1, 10);
	tinit(&tm[1], m2, sizeof m2 - 1, 2, 20);
	tinit(&tm[2], m3, sizeof m3 - 1, 3, 30);
	tm[0].s.flags = MF_SEEN | MF_ANSWERED;
	tm[0].s.kw = kw1;
	tm[0].s.nkw = 2;
	tm[0].s.idate = 1643745600;	/* 2022-02-01 20:00 UTC */
	tm[0].s.size = 5000;
	tm[1].s.flags = IF_RECENT | MF_FLAGGED | MF_DRAFT;
	tm[1].s.idate = 1643675400;	/* 2022-02-01 00:30 UTC */
	tm[1].s.size = 300;
	tm[2].s.flags = IF_RECENT | MF_SEEN | MF_DELETED;
	tm[2].s.kw = kw3;
	tm[2].s.nkw = 1;
	tm[2].s.idate = 1643630400;	/* 2022-01-31 12:00 UTC */
	tm[2].s.size = 1000;
}

static void
teardown(void)
{
	int i;

	for (i = 0; i < 3; i++)
		if (tm[i].ok)
			msg_free(&tm[i].msg);
}

static int
parses(const char *keys)
{
	Arena ar = { 0 };
	Search *s = compile(&ar, keys);

	arena_free(&ar);
	return s != NULL;
}

TEST(imapsearch_errors)
{
	static const struct {
		const char *keys, *err;
	} bad[] = {
		{ "FOO", "unknown search key FOO" },
		{ "SEEN BOGUS", "unknown" },
		{ "BEFORE", "BEFORE needs" },
		{ "SINCE (1-Feb-2022)", "SINCE needs" },
		{ "BEFORE 32-Jan-2022", "bad date" },
		{ "BEFORE 29-Feb-2021", "bad date" },
		{ "ON 1-Foo-2022", "bad date" },
		{ "ON 1-Jan-22", "bad date" },
		{ "ON 001-Jan-2022", "bad date" },
		{ "ON 1/Jan/2022", "bad date" },
		{ "ON \"1-Jan-2022 \"", "bad date" },
		{ "LARGER x", "bad number" },
		{ "LARGER -1", "bad number" },
		{ "SMALLER 1234567890123456789", "bad number" },
		{ "NOT", "missing search key" },
		{ "OR SEEN", "missing search key" },
		{ "HEADER Subject", "HEADER needs" },
		{ "UID", "UID needs" },
		{ "UID x", "bad UID set" },
		{ "UID \"1\"", "bad UID set" },
		{ "1:x", "sequence set" },
		{ "0", "sequence set" },
		{ "()", "missing search key" },
		{ "\"SEEN\"", "search key expected" },
		{ "KEYWORD", "KEYWORD needs" },
	};
	Str s = { 0 };
	Arena ar = { 0 };
	Tok t[2] = { { T_ATOM, "BODY", 4, 0, NULL, 0 }, { T_STR, "a\0b", 3, 2, NULL, 0 } };
	size_t i;

	for (i = 0; i < nelem(bad); i++) {
		Arena a = { 0 };

		if (!CHECK(compile(&a, bad[i].keys) == NULL) || !CHECK(strstr(lasterr(), bad[i].err) != NULL))
			printf("#   %s: %s\n", bad[i].keys, lasterr());
		arena_free(&a);
	}
	CHECK(search_parse(&ar, t, 0) == NULL);
	CHECK(search_parse(&ar, t, 2) == NULL && strstr(lasterr(), "NUL") != NULL);
	arena_free(&ar);
	CHECK(parses("1:* UID 5:* 29-feb-2024 SEEN") == 0);
	CHECK(parses("ON 29-Feb-2024 SENTON \"1-jAN-2022\" BEFORE 9-Dec-9999"));
	CHECK(parses("OLDER 0 YOUNGER 100 LARGER 0 SMALLER 123456789012345678"));
	CHECK(parses("HEADER \"\" \"\" BODY {3+}\r\nabc TEXT \"\""));

	/* nesting: a NOT, an OR or a list is one level */
	for (i = 0; i < LIM_IMAPSEARCHDEPTH; i++)
		str_adds(&s, "NOT ");
	str_adds(&s, "SEEN");
	CHECK(parses(s.p));
	str_reset(&s);
	for (i = 0; i <= LIM_IMAPSEARCHDEPTH; i++)
		str_adds(&s, "NOT ");
	str_adds(&s, "SEEN");
	CHECK(!parses(s.p) && strstr(lasterr(), "nested too deeply") != NULL);
	str_reset(&s);
	for (i = 0; i <= LIM_IMAPSEARCHDEPTH; i++)
		str_adds(&s, "OR ");
	for (i = 0; i <= LIM_IMAPSEARCHDEPTH + 1; i++)
		str_adds(&s, "SEEN ");
	CHECK(!parses(s.p) && strstr(lasterr(), "nested too deeply") != NULL);
	/* keys: every key counts, operators too */
	str_reset(&s);
	for (i = 0; i < LIM_IMAPSEARCHKEYS; i++)
		str_adds(&s, i ? " ALL" : "ALL");
	CHECK(parses(s.p));
	str_adds(&s, " ALL");
	CHECK(!parses(s.p) && strstr(lasterr(), "too many") != NULL);
	str_free(&s);
}

TEST(imapsearch_flags)
{
	setup();
	CHECKSTR(hits("ALL"), "1 2 3");
	CHECKSTR(hits("answered"), "1");
	CHECKSTR(hits("UNANSWERED"), "2 3");
	CHECKSTR(hits("DELETED"), "3");
	CHECKSTR(hits("UNDELETED"), "1 2");
	CHECKSTR(hits("DRAFT"), "2");
	CHECKSTR(hits("UNDRAFT"), "1 3");
	CHECKSTR(hits("FLAGGED"), "2");
	CHECKSTR(hits("UNFLAGGED"), "1 3");
	CHECKSTR(hits("SEEN"), "1 3");
	CHECKSTR(hits("UNSEEN"), "2");
	CHECKSTR(hits("RECENT"), "2 3");
	CHECKSTR(hits("OLD"), "1");
	CHECKSTR(hits("NEW"), "2");
	CHECKSTR(hits("KEYWORD work"), "1 3");
	CHECKSTR(hits("KEYWORD $FORWARDED"), "1");
	CHECKSTR(hits("KEYWORD Nope"), "");
	CHECKSTR(hits("UNKEYWORD WORK"), "2");
	CHECKSTR(hits("UNKEYWORD \\Seen"), "1 2 3");
	CHECKSTR(hits("LARGER 999"), "1 3");
	CHECKSTR(hits("LARGER 1000"), "1");
	CHECKSTR(hits("SMALLER 1000"), "2");
	CHECKSTR(hits("SMALLER 0"), "");
	/* no key above touched the content */
	CHECK(tm[0].loads + tm[1].loads + tm[2].loads == 0);
	teardown();
}

TEST(imapsearch_sets)
{
	setup();
	CHECKSTR(hits("2:*"), "2 3");
	CHECKSTR(hits("*"), "3");
	CHECKSTR(hits("*:2"), "2 3");
	CHECKSTR(hits("3:1"), "1 2 3");
	CHECKSTR(hits("1,3"), "1 3");
	CHECKSTR(hits("4:5"), "");
	CHECKSTR(hits("UID 20:*"), "2 3");
	CHECKSTR(hits("UID *"), "3");
	CHECKSTR(hits("UID 25:100"), "3");
	CHECKSTR(hits("UID 40:*"), "3");
	CHECKSTR(hits("UID 2"), "");
	CHECKSTR(hits("UID 1:15,30"), "1 3");
	CHECKSTR(hits("1:2 UID 20:30"), "2");
	teardown();
}

TEST(imapsearch_logic)
{
	setup();
	CHECKSTR(hits("SEEN UNDELETED"), "1");
	CHECKSTR(hits("OR SEEN FLAGGED"), "1 2 3");
	CHECKSTR(hits("NOT SEEN"), "2");
	CHECKSTR(hits("NOT NOT SEEN"), "1 3");
	CHECKSTR(hits("OR (SEEN ANSWERED) DELETED"), "1 3");
	CHECKSTR(hits("NOT OR DELETED DRAFT"), "1");
	CHECKSTR(hits("(OR 1 2) NOT 2"), "1");
	CHECKSTR(hits("OR NOT SEEN KEYWORD work"), "1 2 3");
	CHECKSTR(hits("OR OR 1 2 OR 3 4"), "1 2 3");
	CHECKSTR(hits("OR (OR FROM alice FROM zed) (SUBJECT \"caf\xc3\xa9\" NOT DELETED)"), "1 2 3");
	CHECKSTR(hits("((SEEN) (NOT (DELETED)))"), "1");
	CHECKSTR(hits("NOT (SEEN DELETED)"), "1 2");
	teardown();
}

TEST(imapsearch_text)
{
	setup();
	CHECKSTR(hits("FROM \"ren\xc3\xa9\""), "1");
	CHECKSTR(hits("FROM \"REN\xc3\x89 dupont\""), "1");
	CHECKSTR(hits("FROM example"), "1 2 3");
	CHECKSTR(hits("FROM \"\""), "1 2 3");
	CHECKSTR(hits("FROM inner"), "");
	CHECKSTR(hits("SUBJECT \"\""), "1 2");
	CHECKSTR(hits("SUBJECT \"CAF\xc3\x89\""), "1");
	CHECKSTR(hits("SUBJECT \"report caf\""), "1");
	CHECKSTR(hits("SUBJECT \"=?utf-8\""), "");
	CHECKSTR(hits("TO bob"), "1 2");
	CHECKSTR(hits("TO \"MARY SMITH\""), "1");
	CHECKSTR(hits("CC carol"), "1");
	CHECKSTR(hits("BCC hidden"), "2");
	CHECKSTR(hits("HEADER Received \"from c  by d\""), "2");
	CHECKSTR(hits("HEADER Received \"by d\""), "2");
	CHECKSTR(hits("HEADER received \"FROM A\""), "2");
	CHECKSTR(hits("HEADER X-Empty \"\""), "1");
	CHECKSTR(hits("HEADER x-empty x"), "");
	CHECKSTR(hits("HEADER X-Missing \"\""), "");
	CHECKSTR(hits("BODY \"d\xc3\xa9jeuner\""), "1");
	CHECKSTR(hits("BODY \"D\xc3\x89JEUNER EST PR\xc3\x8aT\""), "1");
	CHECKSTR(hits("BODY \"secret  html\""), "1");
	CHECKSTR(hits("BODY binaryneedle"), "");
	CHECKSTR(hits("BODY preamble"), "");
	CHECKSTR(hits("BODY giraffe"), "1");
	CHECKSTR(hits("BODY zebra"), "1");
	CHECKSTR(hits("BODY quarterly"), "");
	CHECKSTR(hits("TEXT quarterly"), "1");
	CHECKSTR(hits("TEXT \"Mary Smith\""), "1");
	CHECKSTR(hits("BODY \"\xc3\xa9" "cole\""), "2");
	CHECKSTR(hits("BODY {10+}\r\nupper CASE"), "2");
	CHECKSTR(hits("TEXT lunch"), "2");
	CHECKSTR(hits("BODY lunch"), "");
	CHECKSTR(hits("TEXT \"no date\""), "3");
	CHECKSTR(hits("BODY \"\""), "1 2 3");
	teardown();
}

/* What one message's load costs, and a message that cannot be loaded. */
TEST(imapsearch_load)
{
	Arena ar = { 0 };
	Search *s;
	Tmsg t;

	setup();
	s = compile(&ar, "SEEN FLAGGED");
	CHECK(s != NULL && !search_needsmsg(s));
	s = compile(&ar, "BODY x SEEN");
	CHECK(s != NULL && search_needsmsg(s));
	CHECK(!search_match(s, &tm[1].s, 3, 30) && tm[1].loads == 0);
	s = compile(&ar, "OR BODY world SEEN");
	CHECK(s != NULL && search_match(s, &tm[0].s, 3, 30) && tm[0].loads == 0);
	s = compile(&ar, "TEXT lunch BODY upper SUBJECT lunch SENTON 1-Feb-2022 NOT BODY zzz");
	CHECK(s != NULL && search_match(s, &tm[1].s, 3, 30) && tm[1].loads == 1);
	s = compile(&ar, "NOT (SENTBEFORE 1-Jan-1900 OR TO nobody ANSWERED)");
	CHECK(s != NULL && search_needsmsg(s));
	teardown();

	tinit(&t, NULL, 0, 1, 1);
	t.s.flags = MF_SEEN;
	s = compile(&ar, "BODY \"\"");
	CHECK(s != NULL && !search_match(s, &t.s, 1, 1));
	s = compile(&ar, "OR SENTBEFORE 1-Jan-2100 SUBJECT \"\"");
	CHECK(s != NULL && !search_match(s, &t.s, 1, 1));
	s = compile(&ar, "SEEN NOT TEXT x");
	CHECK(s != NULL && search_match(s, &t.s, 1, 1));
	CHECK(t.loads == 3);	/* once per search_match, however many keys failed */
	arena_free(&ar);
}

static char *
settz(const char *tz)
{
	char *old = getenv("TZ");

	old = old ? xstrdup(old) : NULL;
	setenv("TZ", tz, 1);
	tzset();
	return old;
}

static void
restoretz(char *old)
{
	if (old) {
		setenv("TZ", old, 1);
		free(old);
	} else
		unsetenv("TZ");
	tzset();
}

TEST(imapsearch_dates)
{
	static const char named[] = "Date: Tue, 1 Feb 2022 22:30 EST\n\nx\n";
	static const char ctimed[] = "Date: Tue Feb  1 23:59:59 2022\n\nx\n";
	static const char bad[] = "Date: someday\n\nx\n";
	char *old = settz("UTC0");
	Arena ar = { 0 };
	Search *s;
	Tmsg t;

	setup();
	CHECKSTR(hits("ON 1-Feb-2022"), "1 2");
	CHECKSTR(hits("ON 31-Jan-2022"), "3");
	CHECKSTR(hits("BEFORE 1-Feb-2022"), "3");
	CHECKSTR(hits("BEFORE 2-Feb-2022"), "1 2 3");
	CHECKSTR(hits("SINCE 1-feb-2022"), "1 2");
	CHECKSTR(hits("SINCE 2-Feb-2022"), "");
	free(settz("XXX-10"));	/* UTC+10 */
	CHECKSTR(hits("ON 1-Feb-2022"), "2");
	CHECKSTR(hits("ON 2-FEB-2022"), "1");
	CHECKSTR(hits("BEFORE \"1-Feb-2022\""), "3");
	CHECKSTR(hits("SINCE 2-Feb-2022"), "1");
	free(settz("XXX+8"));	/* UTC-8 */
	CHECKSTR(hits("ON 31-Jan-2022"), "2 3");
	/* the Date: field's own day, whatever the local zone */
	CHECKSTR(hits("SENTON 31-Jan-2022"), "1");
	CHECKSTR(hits("SENTON 1-Feb-2022"), "2");
	CHECKSTR(hits("SENTBEFORE 1-Feb-2022"), "1 3");
	CHECKSTR(hits("SENTSINCE 1-Feb-2022"), "2");
	CHECKSTR(hits("SENTSINCE 1-Jan-1971"), "1 2");
	CHECKSTR(hits("SENTON 1-Jan-1970"), "3");
	teardown();

	s = compile(&ar, "SENTON 1-Feb-2022");
	tinit(&t, named, sizeof named - 1, 1, 1);
	CHECK(s != NULL && search_match(s, &t.s, 1, 1));
	msg_free(&t.msg);
	tinit(&t, ctimed, sizeof ctimed - 1, 1, 1);
	CHECK(s != NULL && search_match(s, &t.s, 1, 1));
	msg_free(&t.msg);
	s = compile(&ar, "SENTON 1-Jan-1970");
	tinit(&t, bad, sizeof bad - 1, 1, 1);
	CHECK(s != NULL && search_match(s, &t.s, 1, 1));
	msg_free(&t.msg);

	tinit(&t, NULL, 0, 1, 1);
	t.s.idate = time(NULL) - 100;
	s = compile(&ar, "YOUNGER 200");
	CHECK(s != NULL && search_match(s, &t.s, 1, 1));
	s = compile(&ar, "YOUNGER 50");
	CHECK(s != NULL && !search_match(s, &t.s, 1, 1));
	s = compile(&ar, "OLDER 50");
	CHECK(s != NULL && search_match(s, &t.s, 1, 1));
	s = compile(&ar, "OLDER 200");
	CHECK(s != NULL && !search_match(s, &t.s, 1, 1));
	CHECK(t.loads == 0);
	arena_free(&ar);
	restoretz(old);
}

/* A 1 MB body of 'a' against a 20 KB pattern of 'a' ending in 'b': naive search would take 2e10 steps. */
TEST(imapsearch_linear)
{
	size_t body = 1 << 20, pat = 20000, hdr, start;
	Str raw = { 0 }, cmd = { 0 };
	Arena ar = { 0 };
	Search *miss, *hit, *text;
	int64_t t0;
	Tmsg t;

	str_adds(&raw, "Subject: big\n\n");
	hdr = raw.n;
	while (raw.n < hdr + body)
		str_addc(&raw, 'a');
	str_adds(&raw, "\n");
	str_adds(&cmd, "BODY ");
	str_fmt(&cmd, "{%zu+}\r\n", pat + 1);
	start = cmd.n;
	while (cmd.n < start + pat)
		str_addc(&cmd, 'A');
	str_addc(&cmd, 'b');
	miss = compile(&ar, cmd.p);
	cmd.p[cmd.n - 1] = 'A';
	hit = compile(&ar, cmd.p);
	memcpy(cmd.p, "TEXT", 4);
	text = compile(&ar, cmd.p);
	CHECK(miss != NULL && hit != NULL && text != NULL);
	tinit(&t, raw.p, raw.n, 1, 1);
	t0 = now_ms();
	CHECK(miss != NULL && !search_match(miss, &t.s, 1, 1));
	CHECK(hit != NULL && search_match(hit, &t.s, 1, 1));
	CHECK(text != NULL && search_match(text, &t.s, 1, 1));
	printf("#   3 searches of 1 MB: %lld ms\n", (long long)(now_ms() - t0));
	msg_free(&t.msg);
	arena_free(&ar);
	str_free(&raw);
	str_free(&cmd);
}
