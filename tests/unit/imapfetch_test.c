/* Unit tests over core/imapfetch.c: ENVELOPE, BODYSTRUCTURE, BODY[section], BINARY. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "unit.h"
#include "imap.h"

static Msg M;
static Str O;

static void
load(const char *s)
{
	msg_free(&M);
	if (msg_parse(&M, s, strlen(s)) < 0)
		CHECK(!"msg_parse");
}

static const char *
env(const char *s)
{
	load(s);
	str_reset(&O);
	imap_envelope(&O, &M, M.root);
	return O.p;
}

static const char *
bs(const char *s, int ext)
{
	load(s);
	str_reset(&O);
	imap_bodystructure(&O, &M, M.root, ext);
	return O.p;
}

/* BODY[sect] of the loaded message: the octets, "NONE" for no such part, "BAD" for a syntax error. */
static const char *
sect(const char *sect)
{
	int ok;

	str_reset(&O);
	if (imap_section(&O, &M, sect, strlen(sect), &ok) < 0)
		return "BAD";
	return ok ? O.p : "NONE";
}

static const char *
bin(const char *sect)
{
	int ok, r;

	str_reset(&O);
	if ((r = imap_binary(&O, &M, sect, strlen(sect), &ok)) < 0)
		return r == IMAP_UNKNOWNCTE ? "UNKNOWN-CTE" : "BAD";
	return ok ? O.p : "NONE";
}

static const char *
name(const char *sect)
{
	str_reset(&O);
	str_adds(&O, "");
	if (imap_sectname(&O, sect, strlen(sect)) < 0)
		return "BAD";
	return O.p;
}

TEST(imapfetch_envelope)
{
	CHECKSTR(env("From: \"Joe Q.\" <joe@x.org>\nTo: a@b, Grp: c@d, \"E F\" <e@f>;, (c) g@h (G H)\n"
	    "Subject:  a\t\tb  \n c \nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <a@b>\n\t<c>\n\nx\n"),
	    "(\"Mon, 1 Jan 2024 00:00:00 +0000\" \"a b c\" ((\"Joe Q.\" NIL \"joe\" \"x.org\")) "
	    "((\"Joe Q.\" NIL \"joe\" \"x.org\")) ((\"Joe Q.\" NIL \"joe\" \"x.org\")) "
	    "((NIL NIL \"a\" \"b\")(NIL NIL \"Grp\" NIL)(NIL NIL \"c\" \"d\")(\"E F\" NIL \"e\" \"f\")"
	    "(NIL NIL NIL NIL)(\"G H\" NIL \"g\" \"h\")) NIL NIL NIL \"<a@b>\t<c>\")");
	/* nothing at all; the last Subject wins, as in Dovecot */
	CHECKSTR(env("X: y\n\nbody\n"), "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
	CHECKSTR(env("Subject: one\nSubject: two\nSender: s@t\nReply-To:\n\n"),
	    "(NIL \"two\" NIL ((NIL NIL \"s\" \"t\")) NIL NIL NIL NIL NIL NIL)");
	/* broken addresses render, never fail */
	CHECKSTR(env("From: foo\nTo: undisclosed-recipients:;\nCc: x@, @y, <>, \"a\\\\b\" <@r,@s:q@r>\n"
	    "Bcc: bad <<x@y>>, more\n\n"),
	    "(NIL NIL ((NIL NIL \"foo\" \"MISSING_DOMAIN\")) ((NIL NIL \"foo\" \"MISSING_DOMAIN\")) "
	    "((NIL NIL \"foo\" \"MISSING_DOMAIN\")) ((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)) "
	    "((NIL NIL \"x\" \"MISSING_DOMAIN\")(NIL NIL \"MISSING_MAILBOX\" \"y\")"
	    "(NIL NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\")(\"a\\\\b\" \"@r,@s\" \"q\" \"r\")) "
	    "((\"bad\" NIL \"MISSING_MAILBOX\" \"SYNTAX_ERROR\")) NIL NIL)");
	/* 8-bit and NUL: a literal, NUL as 0x80 */
	load("Subject: caf\xc3\xa9\n\n");
	str_reset(&O);
	imap_envelope(&O, &M, M.root);
	CHECK(strstr(O.p, "{5}\r\ncaf\xc3\xa9") != NULL);
	/* an unterminated comment or quote ends the list */
	CHECKSTR(env("To: a@b (x, c@d\nCc: \"q, r@s\n\n"),
	    "(NIL NIL NIL NIL NIL ((NIL NIL \"a\" \"MISSING_DOMAIN\")) ((NIL NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\")) NIL NIL NIL)");
}

TEST(imapfetch_bodystructure)
{
	CHECKSTR(bs("Subject: x\n\nhello\nworld\n", 1),
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 14 2 NIL NIL NIL NIL)");
	CHECKSTR(bs("Content-Type: TEXT/Plain; CHARSET=\"UTF-8\"; Name*=utf-8''%C3%A9\n\nhello\n", 0),
	    "(\"TEXT\" \"Plain\" (\"CHARSET\" \"UTF-8\" \"Name*\" \"utf-8''%C3%A9\") NIL NIL \"7bit\" 7 1)");
	/* RFC 2231 sections joined, still encoded; plain values %-escaped when joined to encoded ones */
	CHECKSTR(bs("Content-Type: application/x; a*0=\"x y\"; a*1=z; c*0*=us-ascii''%41; c*1=\"%42\"; b*2=q\n\nx", 0),
	    "(\"application\" \"x\" (\"a\" \"x yz\" \"b*2\" \"q\" \"c*\" \"us-ascii''%41%2542\") NIL NIL \"7bit\" 1)");
	CHECKSTR(bs("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/html\n\n<p>x</p>\n"
	    "--b\nContent-Type: message/rfc822\nContent-Disposition: attachment; filename=m\n\n"
	    "Subject: in\nFrom: a@b\n\nbody\n--b\nContent-Type: image/png\nContent-Transfer-Encoding: base64\n"
	    "Content-ID: <i@d>\nContent-Language: en, fr\nContent-Location: x\n\nAAAA\n--b--\n", 1),
	    "((\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 8 0 NIL NIL NIL NIL)"
	    "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 30 (NIL \"in\" ((NIL NIL \"a\" \"b\")) ((NIL NIL \"a\" \"b\")) "
	    "((NIL NIL \"a\" \"b\")) NIL NIL NIL NIL NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	    "4 0 NIL NIL NIL NIL) 3 NIL (\"attachment\" (\"filename\" \"m\")) NIL NIL)"
	    "(\"image\" \"png\" NIL \"<i@d>\" NIL \"base64\" 4 NIL NIL (\"en\" \"fr\") \"x\") "
	    "\"mixed\" (\"boundary\" \"b\") NIL NIL NIL)");
	/* a multipart without parts gets an empty text/plain one */
	CHECKSTR(bs("Content-Type: multipart/mixed; boundary=b\n\nno parts\n", 0),
	    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0) \"mixed\")");
	/* a base64 message/rfc822 is not parsed, but its structure has the fields IMAP requires */
	CHECKSTR(bs("Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\naGVsbG8K\n", 0),
	    "(\"message\" \"rfc822\" NIL NIL NIL \"base64\" 10 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) "
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0) 1)");
	/* broken Content-Type: as written, no parameters */
	CHECKSTR(bs("Content-Type: text\n\nx\n", 0), "(\"text\" \"\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 1)");
	/* CRLF stored: sizes are the same */
	CHECKSTR(bs("Subject: x\r\n\r\nhello\r\nworld\r\n", 0),
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 14 2)");
}

static const char nested[] =
    "Subject: top\n"
    "Content-Type: multipart/mixed; boundary=b\n"
    "\n"
    "--b\n"
    "\n"
    "part1\n"
    "--b\n"
    "Content-Type: multipart/alternative; boundary=c\n"
    "\n"
    "--c\n"
    "\n"
    "alt1\n"
    "--c\n"
    "Content-Type: text/html\n"
    "\n"
    "alt2\n"
    "--c--\n"
    "--b\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "Subject: inner\n"
    "From: x@y\n"
    "Content-Type: multipart/mixed; boundary=d\n"
    "\n"
    "--d\n"
    "\n"
    "inner 1\n"
    "--d\n"
    "Content-Type: text/plain\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "Caf=C3=A9=\n"
    " x\n"
    "y=0Az\n"
    "--d--\n"
    "--b\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "Subject: single\n"
    "\n"
    "just text\n"
    "--b\n"
    "Content-Type: application/octet-stream\n"
    "Content-Transfer-Encoding: x-uuencode\n"
    "\n"
    "begin 644 x\n"
    "--b--\n";

TEST(imapfetch_sections)
{
	load(nested);
	CHECKSTR(sect("1"), "part1");
	CHECKSTR(sect("1.MIME"), "\r\n");
	CHECKSTR(sect("1.1"), "part1");	/* part 1 of a leaf is itself, as in Dovecot */
	CHECKSTR(sect("2.2"), "alt2");
	CHECKSTR(sect("2.2.MIME"), "Content-Type: text/html\r\n\r\n");
	/* the line break after --c-- ends part 2 as Dovecot counts it */
	CHECKSTR(sect("2"), "--c\r\n\r\nalt1\r\n--c\r\nContent-Type: text/html\r\n\r\nalt2\r\n--c--\r\n");
	CHECKSTR(sect("3.HEADER"), "Subject: inner\r\nFrom: x@y\r\nContent-Type: multipart/mixed; boundary=d\r\n\r\n");
	CHECKSTR(sect("3.1"), "inner 1");
	CHECKSTR(sect("3.2.MIME"), "Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n");
	CHECKSTR(sect("3.HEADER.FIELDS (from)"), "From: x@y\r\n\r\n");
	CHECKSTR(sect("3.header.fields.not (From \"content-type\")"), "Subject: inner\r\n\r\n");
	CHECKSTR(sect("4.TEXT"), "just text");
	CHECKSTR(sect("4.1"), "just text");	/* a non-multipart message's part 1 is its body */
	CHECKSTR(sect("4.1.MIME"), "Subject: single\r\n\r\n");
	CHECKSTR(sect("HEADER.FIELDS (X-None)"), "\r\n");
	CHECKSTR(sect("HEADER.FIELDS (SUBJECT)"), "Subject: top\r\n\r\n");
	CHECK(strncmp(sect("TEXT"), "--b\r\n\r\npart1\r\n", 14) == 0);
	CHECKSTR(sect(""), O.p);
	CHECK(O.n == imap_crlfsize(M.raw, M.n, NULL));
	/* parts that do not exist, and texts only messages have */
	CHECKSTR(sect("6"), "NONE");
	CHECKSTR(sect("2.3"), "NONE");
	CHECKSTR(sect("1.2"), "NONE");
	CHECKSTR(sect("1.HEADER"), "NONE");
	CHECKSTR(sect("2.TEXT"), "NONE");
	CHECKSTR(sect("4294967296"), "NONE");
	CHECKSTR(sect("99999999999999999999999"), "NONE");
	/* syntax errors */
	CHECKSTR(sect("0"), "BAD");
	CHECKSTR(sect("1.0"), "BAD");
	CHECKSTR(sect("01"), "BAD");
	CHECKSTR(sect("MIME"), "BAD");
	CHECKSTR(sect("1."), "BAD");
	CHECKSTR(sect(".1"), "BAD");
	CHECKSTR(sect("1..2"), "BAD");
	CHECKSTR(sect("HEADERS"), "BAD");
	CHECKSTR(sect("HEAD"), "BAD");	/* names cut short */
	CHECKSTR(sect("1.MIM"), "BAD");
	CHECKSTR(sect("HEADER.FIELDS.NO (X)"), "BAD");
	CHECKSTR(sect("HEADER.FIELDS."), "BAD");
	CHECKSTR(sect("TEXT "), "BAD");
	CHECKSTR(sect("HEADER.FIELDS"), "BAD");
	CHECKSTR(sect("HEADER.FIELDS ()"), "BAD");
	CHECKSTR(sect("HEADER.FIELDS(FROM)"), "BAD");
	CHECKSTR(sect("HEADER.FIELDS (FROM"), "BAD");
	CHECKSTR(sect("HEADER.FIELDS (FROM) x"), "BAD");
	CHECKSTR(sect("HEADER.FIELDS (\"FROM)"), "BAD");
	CHECKSTR(sect("HEADER.FIELDS ({4}\r\nFROM)"), "BAD");
	CHECKSTR(sect("1.2x"), "BAD");
}

TEST(imapfetch_sectname)
{
	CHECKSTR(name(""), "");
	CHECKSTR(name("header"), "HEADER");
	CHECKSTR(name("1.2.mime"), "1.2.MIME");
	CHECKSTR(name("3.Text"), "3.TEXT");
	CHECKSTR(name("header.fields (from \"To\")"), "HEADER.FIELDS (FROM \"TO\")");
	CHECKSTR(name("2.HEADER.FIELDS.NOT  (x-a  \"a \\\"b\" )"), "2.HEADER.FIELDS.NOT (X-A \"A \\\"B\")");
	CHECKSTR(name("1.2.3"), "1.2.3");
	CHECKSTR(name("0"), "BAD");
}

TEST(imapfetch_binary)
{
	load(nested);
	CHECKSTR(bin("3.2"), "Caf\xc3\xa9 x\r\ny\nz");
	CHECKSTR(bin("1"), "part1");
	CHECKSTR(bin("4"), "Subject: single\r\n\r\njust text");
	CHECKSTR(bin("5"), "UNKNOWN-CTE");
	CHECKSTR(bin("7"), "NONE");
	CHECKSTR(bin("1.MIME"), "BAD");
	CHECKSTR(bin("HEADER"), "BAD");
	load("Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\nAAEC\nAw==\n");
	CHECK(strcmp(bin("1"), "") == 0 && O.n == 4 && memcmp(O.p, "\0\1\2\3", 4) == 0);
}

/* A message of n parts, each nested in the one before when deep. */
static char *
hostile(int n, int deep)
{
	Str s = { 0 };
	int i;

	str_adds(&s, "Subject: many\nContent-Type: multipart/mixed; boundary=b0\n\n");
	for (i = 0; i < n; i++) {
		if (deep && i > 0)
			str_fmt(&s, "--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n", i - 1, i);
		str_fmt(&s, "--b%d\nContent-Type: text/plain\nX-N: %d\n\nx\n", deep ? i : 0, i);
	}
	str_adds(&s, deep ? "" : "--b0--\n");
	return s.p;
}

TEST(imapfetch_hostile)
{
	char *s, fl[8 * LIM_IMAPFIELDS + 64];
	struct timespec t0, t1;
	double el;
	int i, ok;

	s = hostile(LIM_MSGPARTS - 1, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	load(s);
	str_reset(&O);
	imap_bodystructure(&O, &M, M.root, 1);
	CHECK(O.n > 100000);
	str_reset(&O);
	CHECKSTR(sect("9999.MIME"), "Content-Type: text/plain\r\nX-N: 9998\r\n\r\n");
	for (i = 0; i < 100; i++)
		sect("9999");
	/* the longest field list against every field of every part */
	strcpy(fl, "1.HEADER.FIELDS (");
	for (i = 0; i < LIM_IMAPFIELDS; i++)
		strcat(fl, i ? " X-Nn" : "X-N");
	strcat(fl, ")");
	str_reset(&O);
	CHECK(imap_section(&O, &M, fl, strlen(fl), &ok) == 0 && ok == 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	el = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("#   9999 parts: %.3f s\n", el);
	free(s);
	/* one name too many is a syntax error */
	strcpy(fl, "HEADER.FIELDS (");
	for (i = 0; i <= LIM_IMAPFIELDS; i++)
		strcat(fl, " A");
	strcat(fl, ")");
	CHECKSTR(name(fl), "BAD");
	/* as deep as the parser allows, and a path longer than any */
	s = hostile(LIM_MSGDEPTH - 1, 1);
	load(s);
	str_reset(&O);
	imap_bodystructure(&O, &M, M.root, 1);
	CHECK(O.n > 1000);
	free(s);
	str_reset(&O);
	for (i = 0; i < LIM_IMAPSECTDEPTH + 1; i++)
		str_adds(&O, i ? ".1" : "1");
	s = xstrdup(O.p);
	CHECKSTR(sect(s), "BAD");
	s[strlen(s) - 2] = 0;
	CHECKSTR(name(s), s);
	free(s);
	msg_free(&M);
	str_free(&O);
}

/* build/unit imapfetch FILE ITEM...: a FETCH response for the message in
 * FILE, as "* 1 FETCH (ITEM value ...)": ENVELOPE, BODY, BODYSTRUCTURE,
 * RFC822.SIZE, BODY[s], BODY.PEEK[s], BINARY[s], BINARY.PEEK[s],
 * BINARY.SIZE[s]; an item that fails is followed by NO or BAD. */
TOOL(imapfetch)
{
	Str out = { 0 }, t = { 0 };
	char *raw, *item, *lb, *rb;
	size_t n;
	int i, ok, r, bin;
	Msg m;

	if (argc < 3) {
		fprintf(stderr, "usage: imapfetch file item...\n");
		return 64;
	}
	if ((raw = readfile(argv[1], LIM_MBOXMSG, &n)) == NULL || msg_parse(&m, raw, n) < 0) {
		fprintf(stderr, "imapfetch: %s: %s\n", argv[1], lasterr());
		return 1;
	}
	str_adds(&out, "* 1 FETCH (");
	for (i = 2; i < argc; i++) {
		item = argv[i];
		if (i > 2)
			str_addc(&out, ' ');
		lb = strchr(item, '[');
		rb = strrchr(item, ']');
		if (lb == NULL || rb == NULL) {
			str_fmt(&out, "%s ", item);
			if (strcmp(item, "ENVELOPE") == 0)
				imap_envelope(&out, &m, m.root);
			else if (strcmp(item, "BODY") == 0 || strcmp(item, "BODYSTRUCTURE") == 0)
				imap_bodystructure(&out, &m, m.root, item[4] != 0);
			else if (strcmp(item, "RFC822.SIZE") == 0)
				str_fmt(&out, "%llu", (unsigned long long)imap_crlfsize(m.raw, m.n, NULL));
			else
				str_adds(&out, "BAD");
			continue;
		}
		bin = strncmp(item, "BINARY", 6) == 0;
		str_reset(&t);
		str_adds(&t, "");
		if (bin)
			r = imap_binary(&t, &m, lb + 1, rb - lb - 1, &ok);
		else
			r = imap_section(&t, &m, lb + 1, rb - lb - 1, &ok);
		if (strncmp(item, "BINARY.SIZE", 11) == 0)
			str_adds(&out, "BINARY.SIZE[");
		else
			str_adds(&out, bin ? "BINARY[" : "BODY[");
		if (bin)
			str_addn(&out, lb + 1, rb - lb - 1);
		else if (r == 0)
			imap_sectname(&out, lb + 1, rb - lb - 1);
		str_adds(&out, "] ");
		if (r < 0)
			str_adds(&out, r == IMAP_UNKNOWNCTE ? "NO" : "BAD");
		else if (strncmp(item, "BINARY.SIZE", 11) == 0)
			str_fmt(&out, "%zu", ok ? t.n : 0);
		else {
			str_fmt(&out, bin && memchr(t.p, 0, t.n) ? "~{%zu}\r\n" : "{%zu}\r\n", ok ? t.n : 0);
			str_addn(&out, t.p, ok ? t.n : 0);
		}
	}
	str_adds(&out, ")\r\n");
	fwrite(out.p, 1, out.n, stdout);
	msg_free(&m);
	free(raw);
	str_free(&out);
	str_free(&t);
	return 0;
}
