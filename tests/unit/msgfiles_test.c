/* Unit tests over core/msgfiles.c: the files upas/fs shows of a message. */
#include <string.h>
#include "unit.h"
#include "mbox.h"
#include "msgfiles.h"

static const char msg[] =
    "From: \"Alice A.\" <alice@example.org>\n"
    "To: bob@example.com, \"Carol\" <carol@example.net> (work), -opt@x.org\n"
    "Cc: undisclosed-recipients:;\n"
    "Subject: =?UTF-8?B?w6l0w6k=?= plans\n"
    "Message-ID: <m1@example.org>\n"
    "In-Reply-To: <m0@example.org>\n"
    "References: <r1@x> <r2@x>\n"
    "Content-Type: multipart/mixed; boundary=B\n"
    "\n"
    "--B\n"
    "Content-Type: text/plain; charset=iso-8859-1\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "caf=E9\n"
    "--B\n"
    "Content-Type: application/octet-stream; name=\"my file.bin\"\n"
    "Content-Disposition: attachment\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "AAEC\n"
    "--B--\n";

static char *
file(Msg *m, Part *p, const Mfctx *c, const char *name)
{
	static Str s;

	str_reset(&s);
	if (mf_file(m, p, c, name, &s) < 0)
		return "(none)";
	str_addc(&s, 0);
	return s.p;
}

TEST(msgfiles_message)
{
	Mfctx c;
	Msg m;
	Part *t, *a;
	char *info;

	memset(&c, 0, sizeof c);
	c.sender = "alice@example.org";
	c.date = 1136214245;
	c.flags = MF_SEEN | MF_OLD | MF_STORED;
	strcpy(c.fileid, "1136214245.00");
	if (!CHECK(msg_parse(&m, msg, strlen(msg)) == 0))
		return;
	CHECKSTR(file(&m, m.root, &c, "from"), "alice@example.org");
	CHECKSTR(file(&m, m.root, &c, "ffrom"), "Alice A.");
	CHECKSTR(file(&m, m.root, &c, "to"), "bob@example.com carol@example.net");
	CHECKSTR(file(&m, m.root, &c, "cc"), "");
	CHECKSTR(file(&m, m.root, &c, "replyto"), "alice@example.org");
	CHECKSTR(file(&m, m.root, &c, "subject"), "\xc3\xa9t\xc3\xa9 plans");
	CHECKSTR(file(&m, m.root, &c, "messageid"), "m1@example.org");
	CHECKSTR(file(&m, m.root, &c, "inreplyto"), "m0@example.org");
	CHECKSTR(file(&m, m.root, &c, "references"), "r1@x\nr2@x");
	CHECKSTR(file(&m, m.root, &c, "type"), "multipart/mixed");
	CHECKSTR(file(&m, m.root, &c, "flags"), "-----sS");
	CHECKSTR(file(&m, m.root, &c, "fileid"), "1136214245.00");
	CHECKSTR(file(&m, m.root, &c, "nosuch"), "(none)");
	CHECK(strncmp(file(&m, m.root, &c, "unixheader"), "From alice@example.org ", 23) == 0);
	CHECK(strlen(file(&m, m.root, &c, "digest")) == 40);
	CHECK(strncmp(file(&m, m.root, &c, "rawunix"), "From alice@example.org ", 23) == 0);
	CHECKSTR(file(&m, m.root, &c, "raw"), msg);
	info = file(&m, m.root, &c, "info");
	CHECK(strncmp(info, "alice@example.org\nbob@example.com carol@example.net\n\nalice@example.org\n", 71) == 0);
	{
		int lines = 0;

		for (char *q = info; *q; q++)
			lines += *q == '\n';
		CHECK(lines == 20);
	}
	t = m.root->child;
	a = t ? t->next : NULL;
	if (CHECK(t != NULL && a != NULL)) {
		CHECKSTR(file(&m, t, &c, "body"), "caf\xc3\xa9");	/* the line end before a boundary is the boundary's */
		CHECKSTR(file(&m, t, &c, "type"), "text/plain");
		CHECKSTR(file(&m, t, &c, "unixheader"), "");
		CHECKSTR(file(&m, a, &c, "filename"), "my_file.bin");
		CHECKSTR(file(&m, a, &c, "disposition"), "file");
		CHECK(memcmp(file(&m, a, &c, "body"), "\0\1\2", 3) == 0);
		CHECKSTR(file(&m, a, &c, "mimeheader"), "Content-Type: application/octet-stream; name=\"my file.bin\"\n"
		    "Content-Disposition: attachment\nContent-Transfer-Encoding: base64\n");
	}
	msg_free(&m);
}

/* A flags file: the seven places fs writes, or [+-]letters. */
TEST(msgfiles_addrlist)
{
	Arena ar = { 0 };
	Str s = { 0 };
	char v[] = "A <a@x.org> =?utf-8?q?=2C?= B <b@x.org>, <c@x.org> (note), \"d, e\" <d@x.org> =?utf-8?q?=2C?= e@x.org, f@x.org (x > y), Jo <j@x.org> (a > b), k@x.org";

	/* an angle address with words after it and no comma ends there */
	mf_addrlist(&ar, v, &s);
	str_addc(&s, 0);
	CHECKSTR(s.p, "a@x.org b@x.org c@x.org d@x.org e@x.org f@x.org j@x.org k@x.org");
	str_free(&s);
	arena_free(&ar);
}

TEST(msgfiles_flags)
{
	CHECK(mf_flags("-------\n", 8, MF_SEEN) == MF_OLD);
	CHECK(mf_flags("a--f-sS", 7, 0) == (MF_ANSWERED | MF_FLAGGED | MF_OLD | MF_SEEN | MF_STORED));
	CHECK(mf_flags("----r--", 7, MF_OLD) == 0);
	CHECK(mf_flags("+f", 2, MF_SEEN) == (MF_SEEN | MF_FLAGGED));
	CHECK(mf_flags("-s+D\n", 5, MF_SEEN | MF_OLD) == (MF_DELETED | MF_OLD));
	CHECK(mf_flags("+r", 2, MF_OLD) == 0);
	CHECK(mf_flags("+x", 2, 0) == -1);
	CHECK(mf_flags("a-------", 8, 0) == MF_ANSWERED);	/* not the seven places: changes */
	CHECK(mf_flags("", 0, MF_SEEN) == MF_SEEN);
}
