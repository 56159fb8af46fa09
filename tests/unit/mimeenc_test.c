/* Unit tests over core/mimeenc.c: base64, RFC 2047 words, RFC 2231 parameters, types, dates. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "unit.h"
#include "mimeenc.h"

static char *
b64(const char *s, int linelen)
{
	static Str o;

	str_reset(&o);
	mime_base64(&o, s, strlen(s), linelen);
	return o.p;
}

/* RFC 4648 §10 test vectors. */
TEST(mime_base64_vectors)
{
	CHECKSTR(b64("", 76), "\n");
	CHECKSTR(b64("f", 76), "Zg==\n");
	CHECKSTR(b64("fo", 76), "Zm8=\n");
	CHECKSTR(b64("foo", 76), "Zm9v\n");
	CHECKSTR(b64("foob", 76), "Zm9vYg==\n");
	CHECKSTR(b64("fooba", 76), "Zm9vYmE=\n");
	CHECKSTR(b64("foobar", 76), "Zm9vYmFy\n");
	CHECKSTR(b64("foobar", 4), "Zm9v\nYmFy\n");
	CHECKSTR(b64("\xff\xfe\xfd", 0), "//79\n");
}

TEST(mime_base64_lines)
{
	char buf[1000];
	Str o = { 0 };
	char *p, *nl;
	int lines = 0, i;

	for (i = 0; i < 1000; i++)
		buf[i] = (char)i;
	mime_base64(&o, buf, sizeof buf, 72);
	for (p = o.p; *p; p = nl + 1, lines++) {
		nl = strchr(p, '\n');
		CHECK(nl != NULL && nl - p <= 72 && (nl - p) % 4 == 0);
	}
	CHECK(lines == (1336 + 71) / 72);
	str_free(&o);
}

/* Every line at most 76, every encoded word at most 75, no raw 8-bit bytes. */
static int
wellfolded(const char *s, size_t col)
{
	const char *p, *w;
	size_t len = col;

	for (p = s; *p; p++) {
		if ((unsigned char)*p >= 0x80 || (*p < ' ' && *p != '\n'))
			return 0;
		if (*p == '\n') {
			if (p[1] != ' ')
				return 0;
			len = 0;
		} else if (++len > 76)
			return 0;
	}
	for (p = s; (w = strstr(p, "=?")) != NULL; p = w + 2) {
		p = strstr(w + 2, "?=");
		if (p == NULL || p + 2 - w > 75)
			return 0;
		w = p;
	}
	return 1;
}

TEST(mime_hdrtext_ascii)
{
	Str o = { 0 };
	const char *longs = "This is a rather long subject line that goes on and on past the end of one line of text";

	mime_hdrtext(&o, "Hello world", 9);
	CHECKSTR(o.p, "Hello world");
	str_reset(&o);
	mime_hdrtext(&o, "a\r\nb\tc", 9);
	CHECKSTR(o.p, "a  b c");
	str_reset(&o);
	mime_hdrtext(&o, longs, 9);
	CHECK(strchr(o.p, '\n') != NULL && wellfolded(o.p, 9));
	CHECK(strstr(o.p, "=?") == NULL);
	str_reset(&o);
	/* text that would decode as an encoded word is encoded itself */
	mime_hdrtext(&o, "see =?UTF-8?Q?x?=", 9);
	CHECK(strncmp(o.p, "=?UTF-8?", 8) == 0 && wellfolded(o.p, 9));
	str_free(&o);
}

TEST(mime_hdrtext_utf8)
{
	Str o = { 0 };
	Str in = { 0 };
	int i;

	mime_hdrtext(&o, "caf\xc3\xa9 au lait", 9);
	CHECKSTR(o.p, "=?UTF-8?Q?caf=C3=A9_au_lait?=");
	str_reset(&o);
	/* mostly non-ASCII: B is shorter */
	mime_hdrtext(&o, "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 9);
	CHECKSTR(o.p, "=?UTF-8?B?5pel5pys6Kqe?=");
	str_reset(&o);
	for (i = 0; i < 60; i++)
		str_adds(&in, "\xe2\x82\xac ");
	mime_hdrtext(&o, in.p, 9);
	CHECK(wellfolded(o.p, 9));
	CHECK(strchr(o.p, '\n') != NULL);
	str_reset(&o);
	mime_hdrtext(&o, in.p, 70);
	CHECK(o.p[0] == '\n' && wellfolded(o.p, 70));
	str_free(&o);
	str_free(&in);
}

TEST(mime_phrase)
{
	Str o = { 0 };

	mime_phrase(&o, "Glenda Bunny", 6);
	CHECKSTR(o.p, "Glenda Bunny");
	str_reset(&o);
	mime_phrase(&o, "Bunny, \"Glenda\"", 6);
	CHECKSTR(o.p, "\"Bunny, \\\"Glenda\\\"\"");
	str_reset(&o);
	mime_phrase(&o, "J\xc3\xb6rg Schmidt", 6);
	CHECKSTR(o.p, "=?UTF-8?Q?J=C3=B6rg_Schmidt?=");
	str_reset(&o);
	mime_phrase(&o, "a.b (c)", 6);
	CHECKSTR(o.p, "\"a.b (c)\"");
	str_free(&o);
}

TEST(mime_param)
{
	Str o = { 0 };
	Str in = { 0 };
	int i;

	mime_param(&o, "filename", "report.pdf");
	CHECKSTR(o.p, ";\n filename=report.pdf");
	str_reset(&o);
	mime_param(&o, "filename", "my report \"v2\".pdf");
	CHECKSTR(o.p, ";\n filename=\"my report \\\"v2\\\".pdf\"");
	str_reset(&o);
	mime_param(&o, "filename", "\xe2\x82\xac 1.txt");
	CHECKSTR(o.p, ";\n filename*=UTF-8''%E2%82%AC%201.txt");
	str_reset(&o);
	for (i = 0; i < 20; i++)
		str_adds(&in, "\xc3\xa9t\xc3\xa9");
	mime_param(&o, "filename", in.p);
	CHECK(strstr(o.p, "filename*0*=UTF-8''%C3%A9t") != NULL);
	CHECK(strstr(o.p, ";\n filename*1*=") != NULL);
	{
		/* no segment cuts a %XX triplet, and no line is long */
		const char *p = o.p, *eq;
		while ((p = strstr(p, "*=")) != NULL) {
			eq = p + 2;
			p = strchr(eq, '\n');
			if (p == NULL)
				p = eq + strlen(eq);
			CHECK(p - eq <= 64);
			CHECK(p[-1] != '%' && p[-2] != '%');
		}
	}
	str_free(&o);
	str_free(&in);
}

TEST(mime_types)
{
	static const unsigned char png[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
	const char *msg = "From glenda Mon Jan  2 15:04:05 2006\nFrom: glenda\nSubject: hi\n\nbody\n";

	CHECKSTR(mime_typebyname("a/b.PDF"), "application/pdf");
	CHECKSTR(mime_typebyname("x.tar.gz"), "application/gzip");
	CHECKSTR(mime_typebyname("notes.txt"), "text/plain");
	CHECK(mime_typebyname("README") == NULL);
	CHECK(mime_typebyname("dir.d/file") == NULL);
	CHECK(mime_typebyname("x.unknownext") == NULL);
	CHECKSTR(mime_sniff(png, sizeof png - 1), "image/png");
	CHECKSTR(mime_sniff("%PDF-1.4\n", 9), "application/pdf");
	CHECKSTR(mime_sniff("\xff\xd8\xff\xe0", 4), "image/jpeg");
	CHECKSTR(mime_sniff("GIF89a..", 8), "image/gif");
	CHECKSTR(mime_sniff("PK\x03\x04xx", 6), "application/zip");
	CHECKSTR(mime_sniff("\x1f\x8b\x08", 3), "application/gzip");
	CHECKSTR(mime_sniff("  <!DOCTYPE html><p>", 20), "text/html");
	CHECKSTR(mime_sniff("hello \xc3\xa9\n", 9), "text/plain");
	CHECKSTR(mime_sniff("hi\0there", 8), "application/octet-stream");
	CHECKSTR(mime_sniff("caf\xe9\n", 5), "application/octet-stream");
	CHECKSTR(mime_sniff(msg, strlen(msg)), "message/rfc822");
	CHECKSTR(mime_sniff("Subject: hi\n\nbody\n", 18), "text/plain");
}

TEST(mime_istext)
{
	char line[1100];
	int e;

	CHECK(mime_istext("abc\n", 4, &e) && !e);
	CHECK(mime_istext("\xc3\xa9\n", 3, &e) && e);
	CHECK(!mime_istext("a\r\nb", 4, &e));
	CHECK(!mime_istext("\xed\xa0\x80", 3, &e));	/* a surrogate */
	CHECK(!mime_istext("\xc0\xaf", 2, &e));	/* overlong */
	memset(line, 'x', sizeof line);
	CHECK(mime_istext(line, 998, &e));
	CHECK(!mime_istext(line, 999, &e));
}

TEST(mime_boundary)
{
	char a[40], b[40];
	int i;

	mime_boundary(a, sizeof a, "", 0);
	mime_boundary(b, sizeof b, a, strlen(a));
	CHECK(strlen(a) == 31 && strncmp(a, "upas-", 5) == 0 && strcmp(a, b) != 0);
	for (i = 5; i < 31; i++)
		CHECK(a[i] >= 'a' && a[i] <= 'z');
}

TEST(mime_date)
{
	char buf[64];
	char *tz = getenv("TZ") ? xstrdup(getenv("TZ")) : NULL;

	setenv("TZ", "UTC0", 1);
	tzset();
	mime_date(buf, sizeof buf, 1136214245);
	CHECKSTR(buf, "Mon, 2 Jan 2006 15:04:05 +0000");
	setenv("TZ", "EST5", 1);
	tzset();
	mime_date(buf, sizeof buf, 1136214245);
	CHECKSTR(buf, "Mon, 2 Jan 2006 10:04:05 -0500");
	if (tz)
		setenv("TZ", tz, 1);
	else
		unsetenv("TZ");
	tzset();
	free(tz);
}

TEST(mime_msgid)
{
	Str a = { 0 }, b = { 0 };

	mime_msgid(&a, "example.org");
	mime_msgid(&b, "example.org");
	CHECK(a.p[0] == '<' && strstr(a.p, "@example.org>") != NULL && strcmp(a.p, b.p) != 0);
	str_free(&a);
	str_free(&b);
}

/* For e2e round trips: print what mime_hdrtext, mime_phrase or mime_param make of argv[2]. */
TOOL(mimeenc)
{
	Str o = { 0 };

	if (argc != 3)
		return 64;
	if (strcmp(argv[1], "text") == 0) {
		str_adds(&o, "Subject: ");
		mime_hdrtext(&o, argv[2], 9);
	} else if (strcmp(argv[1], "phrase") == 0) {
		str_adds(&o, "From: ");
		mime_mailbox(&o, argv[2], "a@b.example", 6);
	} else if (strcmp(argv[1], "param") == 0) {
		str_adds(&o, "Content-Disposition: attachment");
		mime_param(&o, "filename", argv[2]);
	} else
		return 64;
	printf("%s\n", o.p);
	str_free(&o);
	return 0;
}
