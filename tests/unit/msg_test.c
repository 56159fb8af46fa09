/* Unit tests over core/msg.c, core/mime.c and core/msgdate.c: the message parser and decoders. */
#include <stdio.h>
#include <stdlib.h>
#include "unit.h"
#include "msg.h"

static int
parse(Msg *m, const char *s)
{
	return msg_parse(m, s, strlen(s));
}

/* A part's decoded body as a C string, in the message's arena. */
static char *
body(Msg *m, Part *p)
{
	Str s = { 0 };
	char *r;

	str_adds(&s, "");
	msg_body(p, &s);
	r = arena_strndup(&m->ar, s.p, s.n);
	str_free(&s);
	return r;
}

static char *
span(Msg *m, const char *p, size_t n)
{
	return arena_strndup(&m->ar, p, n);
}

static char *
hdr(Msg *m, Part *p, const char *name)
{
	Hdr *h = msg_hdr(p, name);

	return h ? span(m, h->val, h->vlen) : NULL;
}

static char *
dec2047(Arena *ar, const char *s)
{
	return msg_hdrdecode(ar, s, strlen(s));
}

static char *
type(Msg *m, Part *p)
{
	Str s = { 0 };
	char *r;

	str_fmt(&s, "%s/%s", p->type, p->subtype);
	r = arena_strdup(&m->ar, s.p);
	str_free(&s);
	return r;
}

/* RFC 5322 Appendix A.1.1 and A.4, with LF and with CRLF line ends. */
TEST(msg_simple)
{
	static const char a11[] =
	    "From: John Doe <jdoe@machine.example>\n"
	    "To: Mary Smith <mary@example.net>\n"
	    "Subject: Saying Hello\n"
	    "Date: Fri, 21 Nov 1997 09:55:06 -0600\n"
	    "Message-ID: <1234@local.machine.example>\n"
	    "\n"
	    "This is a message just to say hello.\n"
	    "So, \"Hello\".\n";
	static const char a4[] =
	    "Received: from x.y.test\r\n"
	    "   by example.net\r\n"
	    "   via TCP\r\n"
	    "   with ESMTP\r\n"
	    "   id ABC12345\r\n"
	    "   for <mary@example.net>;  21 Nov 1997 10:05:43 -0600\r\n"
	    "Received: from node.example by x.y.test; 21 Nov 1997 10:01:22 -0600\r\n"
	    "From: John Doe <jdoe@node.example>\r\n"
	    "To: Mary Smith <mary@example.net>\r\n"
	    "Subject: Saying Hello\r\n"
	    "Date: Fri, 21 Nov 1997 09:55:06 -0600\r\n"
	    "Message-ID: <1234@local.node.example>\r\n"
	    "\r\n"
	    "This is a message just to say hello.\r\n"
	    "So, \"Hello\".\r\n";
	Msg m;
	Hdr *h;
	Part *p;
	char *s;
	int n;

	CHECK(parse(&m, a11) == 0);
	p = m.root;
	CHECK(p->nh == 5 && m.nparts == 1 && p->child == NULL);
	CHECKSTR(hdr(&m, p, "subject"), "Saying Hello");
	CHECKSTR(hdr(&m, p, "MESSAGE-ID"), "<1234@local.machine.example>");
	CHECKSTR(span(&m, p->body, p->bodylen), "This is a message just to say hello.\nSo, \"Hello\".\n");
	CHECK(p->hdr == a11 && p->hdrlen == (size_t)(strstr(a11, "\n\n") + 2 - a11));
	CHECK(p->raw == a11 && p->rawlen == strlen(a11));
	CHECKSTR(type(&m, p), "text/plain");
	CHECKSTR(p->charset, "us-ascii");
	CHECKSTR(p->cte, "7bit");
	CHECK(p->enc == ENC_NONE && p->disp == NULL && p->filename == NULL);
	CHECK(msg_date(p->h[3].val, p->h[3].vlen) == 880127706);
	CHECK(msg_hdr(p, "cc") == NULL && msg_hdrtext(&m, p, "cc") == NULL);
	msg_free(&m);

	CHECK(parse(&m, a4) == 0);
	p = m.root;
	CHECK(p->nh == 7);
	for (n = 0, h = msg_hdr(p, "received"); h; h = msg_hdrnext(p, h))
		n++;
	CHECK(n == 2);
	h = msg_hdr(p, "Received");
	s = msg_unfold(&m.ar, h->val, h->vlen);
	CHECKSTR(s, "from x.y.test   by example.net   via TCP   with ESMTP   id ABC12345"
	    "   for <mary@example.net>;  21 Nov 1997 10:05:43 -0600");
	CHECK(msg_date(strchr(s, ';') + 1, strlen(strchr(s, ';') + 1)) == 880128343);
	CHECKSTR(msg_hdrtext(&m, p, "subject"), "Saying Hello");
	CHECKSTR(span(&m, p->body, p->bodylen), "This is a message just to say hello.\r\nSo, \"Hello\".\r\n");
	msg_free(&m);
}

/* RFC 5322 A.5 and A.6.3: comments, folding, blank continuation lines, obsolete syntax; an mbox From line. */
TEST(msg_obsolete)
{
	static const char a5[] =
	    "From Pete Thu Feb 13 23:32:00 1969\n"
	    "From: Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>\n"
	    "To:A Group(Some people)\n"
	    "     :Chris Jones <c@(Chris's host.)public.example>,\n"
	    "         joe@example.org,\n"
	    "  John <jdoe@one.test> (my dear friend); (the end of the group)\n"
	    "Cc:(Empty list)(start)Hidden recipients  :(nobody(that I know))  ;\n"
	    "Date: Thu,\n"
	    "      13\n"
	    "        Feb\n"
	    "          1969\n"
	    "      23:32\n"
	    "               -0330 (Newfoundland Time)\n"
	    "Message-ID:              <testabcd.1234@silly.test>\n"
	    "\n"
	    "Testing.\n";
	static const char a63[] =
	    "From  : John Doe <jdoe@machine(comment).  example>\n"
	    "To    : Mary Smith\n"
	    "  \n"
	    "          <mary@example.net>\n"
	    "Subject     : Saying Hello\n"
	    "Date  : Fri, 21 Nov 1997 09(comment):   55  :  06 -0600\n"
	    "Message-ID  : <1234   @   local(blah)  .machine .example>\n"
	    "\n"
	    "This is a message just to say hello.\n"
	    "So, \"Hello\".\n";
	Msg m;
	Hdr *h;

	CHECK(parse(&m, a5) == 0);
	CHECK(m.unixfrom == a5 && m.unixlen == 34 && m.raw == a5 + 35);
	CHECK(m.root->nh == 5);
	CHECKSTR(span(&m, m.root->body, m.root->bodylen), "Testing.\n");
	h = msg_hdr(m.root, "date");
	CHECK(msg_date(h->val, h->vlen) == -27723480);
	CHECK(msg_date(m.unixfrom + 10, m.unixlen - 10) == -27736080);
	CHECKSTR(msg_hdrtext(&m, m.root, "to"), "A Group(Some people)     :Chris Jones <c@(Chris's host.)public.example>,"
	    "         joe@example.org,  John <jdoe@one.test> (my dear friend); (the end of the group)");
	msg_free(&m);

	CHECK(parse(&m, a63) == 0);
	CHECK(m.unixfrom == NULL && m.root->nh == 5);
	CHECKSTR(msg_hdrtext(&m, m.root, "subject"), "Saying Hello");
	CHECKSTR(msg_hdrtext(&m, m.root, "to"), "Mary Smith            <mary@example.net>");
	h = msg_hdr(m.root, "date");
	CHECK(msg_date(h->val, h->vlen) == 880127706);
	msg_free(&m);
}

/* A line that is no field ends the header without a blank line; a header alone is a message too. */
TEST(msg_nobody)
{
	Msg m;

	CHECK(parse(&m, "Subject: x\nthis is body\nmore\n") == 0);
	CHECK(m.root->nh == 1);
	CHECKSTR(span(&m, m.root->body, m.root->bodylen), "this is body\nmore\n");
	msg_free(&m);
	CHECK(parse(&m, "Subject: x\n  folded") == 0);
	CHECK(m.root->nh == 1 && m.root->bodylen == 0);
	CHECKSTR(msg_hdrtext(&m, m.root, "subject"), "x  folded");
	msg_free(&m);
	CHECK(parse(&m, "") == 0);
	CHECK(m.root->nh == 0 && m.root->bodylen == 0 && m.nparts == 1);
	msg_free(&m);
}

static const char nested[] =
    "From: a@example.com\n"
    "Subject: =?iso-8859-1?q?caf=E9?= time\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"outer\"\n"
    "\n"
    "This is the preamble.\n"
    "--outer\n"
    "Content-Type: multipart/alternative; boundary=inner\n"
    "\n"
    "--inner\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "caf=C3=A9 =\n"
    "soft=3D=\n"
    "\n"
    "--inner\n"
    "Content-Type: text/html; charset=\"ISO-8859-1\"\n"
    "Content-Transfer-Encoding: BASE64\n"
    "\n"
    "PHA+Y2Fm\n"
    "6TwvcD4=\n"
    "--inner--\n"
    "inner epilogue\n"
    "--outer\n"
    "Content-Type: message/rfc822\n"
    "Content-Disposition: attachment; filename=\"fwd.eml\"\n"
    "\n"
    "From: x@example.org\n"
    "Subject: inner\n"
    "Content-Type: multipart/mixed; boundary=nested\n"
    "\n"
    "--nested\n"
    "\n"
    "inner text\n"
    "--nested\n"
    "Content-Type: application/octet-stream; name=\"data.bin\"\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "AAEC\n"
    "Aw==\n"
    "--nested--\n"
    "\n"
    "--outer--\n"
    "the epilogue\n";

TEST(msg_nested)
{
	Msg m;
	Part *r, *alt, *plain, *html, *att, *in, *t, *bin;
	Str s = { 0 };

	CHECK(parse(&m, nested) == 0);
	CHECK(m.nparts == 8);
	r = m.root;
	CHECKSTR(type(&m, r), "multipart/mixed");
	CHECKSTR(msg_param(r, "boundary"), "outer");
	CHECKSTR(msg_hdrtext(&m, r, "subject"), "caf\xc3\xa9 time");
	CHECK(r->nchild == 2 && r->charset == NULL);
	alt = r->child;
	att = alt->next;
	CHECK(att->next == NULL && alt->parent == r && alt->depth == 1);
	CHECKSTR(type(&m, alt), "multipart/alternative");
	CHECK(alt->nchild == 2);
	plain = alt->child;
	html = plain->next;
	CHECKSTR(type(&m, plain), "text/plain");
	CHECKSTR(plain->charset, "utf-8");
	CHECK(plain->enc == ENC_QP && plain->depth == 2);
	CHECKSTR(span(&m, plain->body, plain->bodylen), "caf=C3=A9 =\nsoft=3D=\n");
	CHECKSTR(body(&m, plain), "caf\xc3\xa9 soft=");
	CHECKSTR(type(&m, html), "text/html");
	CHECKSTR(html->charset, "iso-8859-1");
	CHECKSTR(html->cte, "base64");
	CHECK(html->enc == ENC_B64);
	CHECKSTR(body(&m, html), "<p>caf\xc3\xa9</p>");
	msg_decode(html, &s);
	CHECK(s.n == 11 && memcmp(s.p, "<p>caf\xe9</p>", 11) == 0);
	str_free(&s);
	CHECKSTR(type(&m, att), "message/rfc822");
	CHECKSTR(att->disp, "attachment");
	CHECKSTR(att->filename, "fwd.eml");
	CHECKSTR(msg_dparam(att, "filename"), "fwd.eml");
	CHECK(att->nchild == 1);
	in = att->child;
	CHECK(in->depth == 2 && in->parent == att && in->raw == att->body && in->rawlen == att->bodylen);
	CHECKSTR(msg_hdrtext(&m, in, "subject"), "inner");
	CHECKSTR(type(&m, in), "multipart/mixed");
	CHECK(in->nchild == 2);
	t = in->child;
	bin = t->next;
	CHECK(t->nh == 0);
	CHECKSTR(type(&m, t), "text/plain");
	CHECKSTR(body(&m, t), "inner text");
	CHECKSTR(type(&m, bin), "application/octet-stream");
	CHECKSTR(bin->filename, "data.bin");
	CHECK(bin->charset == NULL && bin->depth == 3);
	msg_body(bin, &s);
	CHECK(s.n == 4 && memcmp(s.p, "\0\1\2\3", 4) == 0);
	str_free(&s);
	/* the tree points into the input */
	CHECK(r->body > nested && r->body + r->bodylen == nested + strlen(nested));
	CHECKSTR(span(&m, att->body, att->bodylen), strstr(nested, "From: x@") == NULL ? "" :
	    arena_strndup(&m.ar, strstr(nested, "From: x@"), strstr(nested, "\n\n--outer--") + 1 - strstr(nested, "From: x@")));
	msg_free(&m);
}

/* Missing close delimiters end at the parent's delimiter or at the end; a digest defaults to message/rfc822. */
TEST(msg_unclosed)
{
	static const char s[] =
	    "Content-Type: multipart/mixed; boundary=a\n"
	    "\n"
	    "--a\n"
	    "Content-Type: multipart/digest; boundary=b\n"
	    "\n"
	    "--b\n"
	    "\n"
	    "Subject: one\n"
	    "\n"
	    "first\n"
	    "--b\n"
	    "Subject: two\n"
	    "\n"
	    "second\n"
	    "--a\n"
	    "Content-Type: text/plain\n"
	    "\n"
	    "last\n"
	    "--a-- \n";
	Msg m;
	Part *d, *e1, *e2, *last;

	CHECK(parse(&m, s) == 0);
	CHECK(m.root->nchild == 2);
	d = m.root->child;
	last = d->next;
	CHECKSTR(type(&m, d), "multipart/digest");
	CHECK(d->nchild == 2);
	e1 = d->child;
	e2 = e1->next;
	CHECKSTR(type(&m, e1), "message/rfc822");
	CHECK(e1->nh == 0 && e1->nchild == 1);
	CHECKSTR(msg_hdrtext(&m, e1->child, "subject"), "one");
	CHECKSTR(body(&m, e1->child), "first");
	CHECKSTR(type(&m, e2), "message/rfc822");
	CHECK(e2->nh == 1);
	CHECKSTR(hdr(&m, e2, "subject"), "two");
	CHECK(e2->nchild == 1 && e2->child->nh == 0);
	CHECKSTR(body(&m, e2->child), "second");
	CHECKSTR(body(&m, last), "last");
	msg_free(&m);

	CHECK(parse(&m, "Content-Type: multipart/mixed; boundary=x\n\n--x\n\nno end\n") == 0);
	CHECK(m.root->nchild == 1);
	CHECKSTR(body(&m, m.root->child), "no end\n");
	msg_free(&m);
	/* no delimiter at all, and no boundary: no children */
	CHECK(parse(&m, "Content-Type: multipart/mixed; boundary=x\n\njust text\n") == 0);
	CHECK(m.root->nchild == 0 && m.nparts == 1);
	msg_free(&m);
	CHECK(parse(&m, "Content-Type: multipart/mixed\n\n--x\n\nbody\n--x--\n") == 0);
	CHECK(m.root->nchild == 0);
	msg_free(&m);
	/* a boundary line must hold nothing but the boundary and blanks */
	CHECK(parse(&m, "Content-Type: multipart/mixed; boundary=x\n\n--x\n\n--xy\n--x-\n--x--\n") == 0);
	CHECK(m.root->nchild == 1);
	CHECKSTR(body(&m, m.root->child), "--xy\n--x-");
	msg_free(&m);
	/* base64 message/rfc822 is a leaf; bad types are text/plain */
	CHECK(parse(&m, "Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nU3ViamVjdDogeA==\n") == 0);
	CHECK(m.root->nchild == 0);
	CHECKSTR(body(&m, m.root), "Subject: x");
	msg_free(&m);
	CHECK(parse(&m, "Content-Type: text\n\nx") == 0);
	CHECKSTR(type(&m, m.root), "text/plain");
	CHECKSTR(m.root->charset, "us-ascii");
	msg_free(&m);
	CHECK(parse(&m, "Content-Type: (comment) Text / HTML (more); charset=\"UTF-8\" (x)\n\nx") == 0);
	CHECKSTR(type(&m, m.root), "text/html");
	CHECKSTR(m.root->charset, "utf-8");
	msg_free(&m);
}

TEST(msg_base64)
{
	Str s = { 0 };

	msg_b64dec("SGVsbG8sIHdvcmxkIQ==", 20, &s);
	CHECKSTR(s.p, "Hello, world!");
	str_reset(&s);
	msg_b64dec("SGVs\r\nbG8s IHdv\tcmxk\n*IQ", 25, &s);
	CHECKSTR(s.p, "Hello, world!");
	str_reset(&s);
	msg_b64dec("YQ==YmM=", 8, &s);
	CHECKSTR(s.p, "abc");
	str_reset(&s);
	msg_b64dec("!!!", 3, &s);
	CHECK(s.n == 0);
	msg_b64dec("Y", 1, &s);
	CHECK(s.n == 0);
	str_free(&s);
}

TEST(msg_qp)
{
	static const char in[] =
	    "a=3Db =\r\n"
	    "c  \r\n"
	    "bad =ZZ =4 =\r\n"
	    "end=\n"
	    "=e9=E9\t = \n"
	    "last";
	Str s = { 0 };

	msg_qpdec(in, strlen(in), 0, &s);
	CHECKSTR(s.p, "a=b c\r\nbad =ZZ =4 end\xe9\xe9\t last");
	str_reset(&s);
	msg_qpdec("a_b=5F", 6, 1, &s);
	CHECKSTR(s.p, "a b_");
	str_free(&s);
}

/* RFC 2047 §8's examples, and what real mail does. */
TEST(msg_2047)
{
	static const char *ex[][2] = {
		{ "(=?ISO-8859-1?Q?a?=)", "(a)" },
		{ "(=?ISO-8859-1?Q?a?= b)", "(a b)" },
		{ "(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)", "(ab)" },
		{ "(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)", "(ab)" },
		{ "(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)", "(ab)" },
		{ "(=?ISO-8859-1?Q?a_b?=)", "(a b)" },
		{ "(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)", "(a b)" },
		{ "=?US-ASCII?Q?Keith_Moore?= <moore@cs.utk.edu>", "Keith Moore <moore@cs.utk.edu>" },
		{ "=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?= <keld@dkuug.dk>", "Keld J\xc3\xb8rn Simonsen <keld@dkuug.dk>" },
		{ "=?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>", "Andr\xc3\xa9 Pirard <PIRARD@vm1.ulg.ac.be>" },
		{ "=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?=\n    =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=",
		  "If you can read this you understand the example." },
		/* RFC 2231 §5 language tags */
		{ "=?US-ASCII*EN?Q?Keith_Moore?=", "Keith Moore" },
		/* a UTF-8 character split across two words */
		{ "=?UTF-8?B?w6k=?= =?utf-8?B?4oKs?= =?UTF-8?Q?=E2=82?= =?UTF-8?Q?=AC?=", "\xc3\xa9\xe2\x82\xac\xe2\x82\xac" },
		/* words glued to text, spaces inside Q, bad words left alone */
		{ "Re:=?utf-8?q?caf=C3=A9?=!", "Re:caf\xc3\xa9!" },
		{ "=?utf-8?q?two words?=", "two words" },
		{ "=?utf-8?x?abc?= =? =?utf-8?q?unterminated", "=?utf-8?x?abc?= =? =?utf-8?q?unterminated" },
		{ "=?koi8-r?B?8NLJ18XU?=", "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82" },
		{ "=?x-unknown?Q?a=E9?=", "a\xe9" },
		/* no header smuggling through decoded control characters */
		{ "=?utf-8?Q?a=0D=0Ab=00c?=", "a  b c" },
		{ "  plain  text  ", "plain  text" },
	};
	Arena ar = { 0 };
	Str s = { 0 };
	size_t i;

	for (i = 0; i < nelem(ex); i++)
		CHECKSTR(dec2047(&ar, ex[i][0]), ex[i][1]);
	/* many false starts stay linear */
	for (i = 0; i < 200000; i++)
		str_adds(&s, "=?a?q?x");
	CHECK(strlen(dec2047(&ar, s.p)) == s.n);
	str_free(&s);
	arena_free(&ar);
}

/* RFC 2231's examples, and parameters as real mail writes them. */
TEST(msg_2231)
{
	static const char ct[] =
	    "Content-Type: message/external-body; access-type=URL;\n"
	    " URL*0=\"ftp://\";\n"
	    " URL*1=\"cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar\"\n"
	    "\n";
	Arena ar = { 0 };
	Param *v;
	char *val;
	int n;
	Msg m;

	CHECK(parse(&m, ct) == 0);
	CHECKSTR(type(&m, m.root), "message/external-body");
	CHECKSTR(msg_param(m.root, "access-type"), "URL");
	CHECKSTR(msg_param(m.root, "url"), "ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar");
	msg_free(&m);

#define P(s) msg_params(&ar, s, strlen(s), &val, &v, &n)
	CHECK(P("application/x-stuff;\n title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A") == 0);
	CHECKSTR(val, "application/x-stuff");
	CHECK(n == 1);
	CHECKSTR(v[0].name, "title");
	CHECKSTR(v[0].val, "This is ***fun***");
	CHECK(P("application/x-stuff;\n title*0*=us-ascii'en'This%20is%20even%20more%20;\n"
	    " title*1*=%2A%2A%2Afun%2A%2A%2A%20;\n title*2=\"isn't it!\"") == 0);
	CHECK(n == 1);
	CHECKSTR(v[0].val, "This is even more ***fun*** isn't it!");
	/* sections out of order; the extended form wins over the plain one */
	CHECK(P("attachment; filename=\"fallback.txt\"; filename*1=\".txt\"; filename*0*=iso-8859-1''caf%E9") == 0);
	CHECKSTR(val, "attachment");
	CHECK(n == 1);
	CHECKSTR(v[0].val, "caf\xc3\xa9.txt");
	CHECK(P("attachment; filename*=UTF-8''%E2%82%AC%20rates.pdf; size=12") == 0);
	CHECK(n == 2);
	CHECKSTR(v[0].val, "\xe2\x82\xac rates.pdf");
	CHECKSTR(v[1].name, "size");
	CHECKSTR(v[1].val, "12");
	/* RFC 2047 in a parameter, as many mailers send it */
	CHECK(P("image/png; name=\"=?UTF-8?B?w6lsw6k=?= .png\"") == 0);
	CHECKSTR(v[0].val, "\xc3\xa9l\xc3\xa9 .png");
	/* quoting, comments, junk */
	CHECK(P("text/plain; charset=us-ascii (Plain text); ; junk; x=\"a;b\\\"c\"; Y = my file.txt ;") == 0);
	CHECK(n == 3);
	CHECKSTR(v[0].val, "us-ascii");
	CHECKSTR(v[1].name, "x");
	CHECKSTR(v[1].val, "a;b\"c");
	CHECKSTR(v[2].name, "y");
	CHECKSTR(v[2].val, "my file.txt");
	CHECK(P("inline") == 0 && n == 0);
	CHECKSTR(val, "inline");
#undef P
	arena_free(&ar);
}

TEST(msg_charsets)
{
	static const char s[] =
	    "Content-Type: multipart/mixed; boundary=b\n"
	    "\n"
	    "--b\n"
	    "Content-Type: text/plain; charset=iso-8859-1\n"
	    "\n"
	    "caf\xe9\n"
	    "--b\n"
	    "Content-Type: text/plain; charset=windows-1252\n"
	    "\n"
	    "\x93quoted\x94 \x80\n"
	    "--b\n"
	    "Content-Type: text/plain; charset=koi8-r\n"
	    "Content-Transfer-Encoding: 8bit\n"
	    "\n"
	    "\xf0\xd2\xc9\xd7\xc5\xd4\n"
	    "--b\n"
	    "Content-Type: text/plain; charset=x-nonesuch\n"
	    "\n"
	    "raw \xe9\xff\n"
	    "--b\n"
	    "Content-Type: text/plain\n"
	    "\n"
	    "mislabelled \xc3\xa9 \xff\n"
	    "--b\n"
	    "Content-Type: text/plain; charset=utf-8\n"
	    "\n"
	    "broken \xc3\n"
	    "--b\n"
	    "Content-Type: image/gif; charset=iso-8859-1\n"
	    "\n"
	    "\xe9\n"
	    "--b--\n";
	Str o = { 0 };
	Part *p;
	Msg m;

	CHECK(parse(&m, s) == 0);
	p = m.root->child;
	CHECKSTR(body(&m, p), "caf\xc3\xa9");
	p = p->next;
	CHECKSTR(body(&m, p), "\xe2\x80\x9cquoted\xe2\x80\x9d \xe2\x82\xac");
	p = p->next;
	CHECKSTR(p->cte, "8bit");
	CHECKSTR(body(&m, p), "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82");
	p = p->next;
	CHECK(msg_body(p, &o) == 1);
	CHECKSTR(o.p, "raw \xe9\xff");
	p = p->next;
	CHECKSTR(body(&m, p), "mislabelled \xc3\xa9 \xff");
	p = p->next;
	CHECKSTR(body(&m, p), "broken \xc3");
	p = p->next;
	CHECKSTR(body(&m, p), "\xe9");
	msg_free(&m);
	str_reset(&o);
	/* CJK charsets are not converted: the bytes pass through, marked unknown */
	CHECK(msg_toutf8("shift_jis", "a\x82\xa0" "b", 4, &o) == -1);
	CHECK(o.n == 4 && memcmp(o.p, "a\x82\xa0" "b", 4) == 0);
	str_reset(&o);
	/* undefined bytes become U+FFFD, and conversion goes on */
	CHECK(msg_toutf8("windows-1253", "a\xaa" "b", 3, &o) == 0);
	CHECKSTR(o.p, "a\xef\xbf\xbd" "b");
	str_reset(&o);
	CHECK(msg_toutf8("ISO_8859-5", "\xbf", 1, &o) == 0);
	CHECKSTR(o.p, "\xd0\x9f");
	str_reset(&o);
	CHECK(msg_toutf8("utf-16le", "a\0b\0", 4, &o) == 0);
	CHECKSTR(o.p, "ab");
	str_reset(&o);
	CHECK(msg_toutf8("UTF-16", "\xfe\xff\xd8\x3d\xde\x00", 6, &o) == 0);
	CHECKSTR(o.p, "\xf0\x9f\x98\x80");
	str_reset(&o);
	CHECK(msg_toutf8("utf-16be", "\xdc\x00\x00", 3, &o) == 0);
	CHECKSTR(o.p, "\xef\xbf\xbd\xef\xbf\xbd");
	str_reset(&o);
	CHECK(msg_toutf8("", "\xe9", 1, &o) == 0);
	CHECK(msg_toutf8(NULL, "\xe9", 1, &o) == 0);
	CHECK(msg_toutf8("utf-7", "+AOk-", 5, &o) == -1 || strstr(o.p, "\xc3\xa9") != NULL);
	str_free(&o);
}

static void
bound(const char *s, size_t n, const char *err)
{
	Msg m;

	if (CHECK(msg_parse(&m, s, n) == -1))
		CHECKSTR(lasterr(), err);
	CHECK(m.root == NULL);
}

/* Each bound gives its own error. */
TEST(msg_limits)
{
	Str s = { 0 };
	int i;

	for (i = 0; i < LIM_MSGHDRS; i++)
		str_fmt(&s, "X-H%d: v\n", i);
	str_adds(&s, "\nbody\n");
	{
		Msg m;

		CHECK(msg_parse(&m, s.p, s.n) == 0 && m.root->nh == LIM_MSGHDRS);
		msg_free(&m);
	}
	str_reset(&s);
	for (i = 0; i <= LIM_MSGHDRS; i++)
		str_fmt(&s, "X-H%d: v\n", i);
	str_adds(&s, "\nbody\n");
	bound(s.p, s.n, "too many header fields (limit 1000)");

	str_reset(&s);
	for (i = 0; i < 600; i++) {
		str_fmt(&s, "X-H%d: ", i);
		while (s.n % 2000)
			str_addc(&s, 'x');
		str_addc(&s, '\n');
	}
	bound(s.p, s.n, "header too large (limit 1048576 octets)");

	str_reset(&s);
	str_adds(&s, "Content-Type: text/plain; ");
	for (i = 0; i <= LIM_MSGPARAMS; i++)
		str_fmt(&s, "p%d=v; ", i);
	str_adds(&s, "\n\n");
	bound(s.p, s.n, "too many parameters (limit 100)");

	str_reset(&s);
	str_adds(&s, "Subject: x\n\n");
	for (i = 0; i < LIM_MSGLINE; i++)
		str_addc(&s, 'y');
	{
		Msg m;

		CHECK(msg_parse(&m, s.p, s.n) == 0);
		msg_free(&m);
	}
	str_addc(&s, 'y');
	bound(s.p, s.n, "line too long (limit 1048576 octets)");
	str_free(&s);
}

/* Inputs built to be slow: each must end quickly, rejected or bounded. */
TEST(msg_pathological)
{
	Str s = { 0 };
	Msg m;
	int i;

	for (i = 0; i < 100000; i++)
		str_fmt(&s, "Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n", i, i);
	bound(s.p, s.n, "MIME parts nested too deep (limit 50)");

	str_reset(&s);
	str_adds(&s, "Content-Type: multipart/mixed; boundary=b\n\n");
	while (s.n < (1 << 20))
		str_adds(&s, "--b\n");
	bound(s.p, s.n, "too many MIME parts (limit 10000)");

	/* a million lines that look like boundaries, under fifty open multiparts */
	str_reset(&s);
	for (i = 0; i < 49; i++)
		str_fmt(&s, "Content-Type: multipart/mixed; boundary=bb%d\n\n--bb%d\n", i, i);
	str_adds(&s, "\n");
	for (i = 0; i < 1000000; i++)
		str_adds(&s, "--bb1x\n");
	CHECK(msg_parse(&m, s.p, s.n) == 0);
	CHECK(m.nparts == 50);
	msg_free(&m);

	str_reset(&s);
	str_adds(&s, "Subject: ");
	for (i = 0; i < 10 << 20; i++)
		str_addc(&s, 'z');
	str_adds(&s, "\n\nbody\n");
	bound(s.p, s.n, "line too long (limit 1048576 octets)");

	str_reset(&s);
	str_adds(&s, "Subject: x");
	for (i = 0; i < 100000; i++)
		str_adds(&s, "\n y");
	str_adds(&s, "\n\n");
	CHECK(msg_parse(&m, s.p, s.n) == 0);
	CHECK(strlen(msg_hdrtext(&m, m.root, "subject")) == 200001);
	msg_free(&m);
	str_free(&s);
}

TEST(msg_dates)
{
	static const struct {
		const char *s;
		time_t t;
	} d[] = {
		{ "Fri, 21 Nov 1997 09:55:06 -0600", 880127706 },
		{ "21 Nov 1997 09:55:06 -0600", 880127706 },
		{ "Fri, 21 Nov 97 09:55:06 CST", 880127706 },
		{ "Fri, 21 Nov 1997 15:55 GMT", 880127700 },
		{ "Fri,21 Nov 1997 15:55:06 +0000 (UTC)", 880127706 },
		{ "Fri, 21 Nov 1997 15:55:06 UT", 880127706 },
		{ "Fri, 21 Nov 1997 15:55:06 Z", 880127706 },
		{ "Fri, 21 Nov 1997 15:55:06 A", 880127706 },
		{ "Fri, 21 Nov 1997 15:55:06", 880127706 },
		{ "Fri, 21 Nov 1997 07:55:06 PST", 880127706 },
		{ "Fri, 21 Nov 1997 08:55:06 PDT", 880127706 },
		{ "Fri, 21 Nov 1997 17:25:06 +0130 (CET)", 880127706 },
		{ "Fri, 21 Nov 1997 17:25:06 +0130 EST", 880127706 },
		{ "Friday, 21 November 1997 15:55:06 +0000", 880127706 },
		{ "Fri, 21 NOV 097 15:55:06 +0000", 880127706 },
		{ "Fri Nov 21 15:55:06 1997", 880127706 },
		{ "Fri Nov 21 10:55:06 EST 1997", 880127706 },
		{ "Fri, 21 Nov 1997 3:55:06 PM +0000", 880127706 },
		{ "  21 Nov 1997 15:55:06 +00", 880127706 },
		{ "Sat, 1 Jan 2000 00:00:00 +0000", 946684800 },
		{ "1 Jan 00 00:00 +0000", 946684800 },
		{ "Thu, 29 Feb 2024 12:00:00 +0000", 1709208000 },
		{ "Thu, 01 Jan 1970 00:00:00 +0000", 0 },
		{ "Tue, 19 Jan 2038 03:14:08 +0000", 2147483648LL },
		{ "31 Dec 1999 23:59:60 +0000", 946684799 },
		{ "Wed, 17 Jul 1996 02:23:25 -0700 (PDT)", 837595405 },
		{ "Mon, 2 Jan 2006 15:04:05 -0700 (MST)", 1136239445 },
		{ "2 Jan 2006", 1136160000 },
		{ "", -1 },
		{ "yesterday", -1 },
		{ "30 Feb 2006 10:00 +0000", -1 },
		{ "2006-01-02T15:04:05Z", -1 },
		{ "Fri, 21 Nov 1997 25:55:06 +0000", -1 },
		{ "Fri, 21 Nov 1997 09:55:06 +9999", -1 },
		{ "Fri, 21 1997 09:55:06", -1 },
		{ "Fri, 21 Nov 1997 09:555:06", -1 },
		{ "Fri, 21 Nov 123456 09:55:06", -1 },
	};
	size_t i;

	for (i = 0; i < nelem(d); i++)
		if (!CHECK(msg_date(d[i].s, strlen(d[i].s)) == d[i].t))
			printf("#   %s: %lld\n", d[i].s, (long long)msg_date(d[i].s, strlen(d[i].s)));
}

/*
 * unit msgdump FILE: the part tree, one line per part in walk order:
 * depth, type, charset, transfer encoding, decoded size, filename, subject
 * (tab-separated, "-" for none; containers have no size).
 */
TOOL(msgdump)
{
	size_t n;
	char *raw, *subj;
	Part *p;
	Str b = { 0 };
	Msg m;

	if (argc != 2)
		die(EX_USAGE, "usage: msgdump file");
	if ((raw = readfile(argv[1], 64 << 20, &n)) == NULL)
		die(EX_NOINPUT, "%s", lasterr());
	if (msg_parse(&m, raw, n) < 0)
		die(EX_DATAERR, "%s: %s", argv[1], lasterr());
	for (p = m.root; p;) {
		printf("%d\t%s/%s\t%s\t%s\t", p->depth, p->type, p->subtype, p->charset ? p->charset : "-", p->cte);
		if (p->child || strcmp(p->type, "multipart") == 0)
			printf("-");
		else {
			str_reset(&b);
			msg_body(p, &b);
			printf("%zu", b.n);
		}
		subj = msg_hdrtext(&m, p, "subject");
		printf("\t%s\t%s\n", p->filename ? p->filename : "-", subj ? subj : "-");
		if (p->child)
			p = p->child;
		else {
			while (p && p->next == NULL)
				p = p->parent;
			if (p)
				p = p->next;
		}
	}
	str_free(&b);
	msg_free(&m);
	free(raw);
	return 0;
}
