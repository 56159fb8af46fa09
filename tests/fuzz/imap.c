/*
 * libFuzzer: an IMAP client's byte stream through imap_readcmd, as imap4d
 * reads it (a Bio over a Conn, here reading from memory in chunks the first
 * byte chooses). Each command's tokens must keep their promises; atoms go
 * through seq_parse and a selectset like imap4d's (checked against
 * seq_has), the arguments through search_parse and search_match, section
 * atoms through imap_sectname, imap_section and imap_binary on a fixed
 * multipart message, or on the last APPEND literal once one parsed.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "imap.h"
#include "mbox.h"

static const char fixed[] =
	"From: \"A. Sender\" <a@example.net>, =?utf-8?q?B=C3=A9a?= <b@example.org>\n"
	"To: undisclosed-recipients:;\n"
	"Cc: c@example.com (comment (nested))\n"
	"Subject: =?iso-8859-1?q?caf=E9?= test\n"
	"Date: Tue, 1 Jul 2003 10:52:37 +0200\n"
	"Message-ID: <fixed@example.net>\n"
	"MIME-Version: 1.0\n"
	"Content-Type: multipart/mixed; boundary=\"outer\"\n"
	"\n"
	"preamble\n"
	"--outer\n"
	"Content-Type: text/plain; charset=iso-8859-1\n"
	"Content-Transfer-Encoding: quoted-printable\n"
	"\n"
	"caf=E9 soft=\n"
	"break\n"
	"--outer\n"
	"Content-Type: application/octet-stream; name=\"a.bin\"\n"
	"Content-Disposition: attachment; filename*=utf-8''%C3%A9.bin\n"
	"Content-Transfer-Encoding: base64\n"
	"\n"
	"AAECAwQFBgcICQ==\n"
	"--outer\n"
	"Content-Type: message/rfc822\n"
	"\n"
	"From: inner@example.net\n"
	"Subject: inner\n"
	"Content-Type: multipart/alternative; boundary=inner\n"
	"\n"
	"--inner\n"
	"Content-Type: text/plain\n"
	"\n"
	"plain\n"
	"--inner\n"
	"Content-Type: text/html\n"
	"Content-Transfer-Encoding: x-uuencode\n"
	"\n"
	"<p>html</p>\n"
	"--inner--\n"
	"--outer--\n"
	"epilogue\n";

#include "memconn.h"

static int
cont(void *arg)
{
	(void)arg;
	return 0;
}

static void
verb(void *arg, Imapcmd *c)
{
	Imapin *in = arg;

	in->maxlit = strcasecmp(c->verb, "APPEND") == 0 ? 1 << 20 : LIM_IMAPLIT;
}

/* Every token as the header promises; the count of tokens. */
static int
checktoks(Tok *t, int n, int depth)
{
	int i, k = 0;

	if (n < 0 || depth > LIM_IMAPNEST + 1 || (n > 0 && t == NULL))
		__builtin_trap();
	for (i = 0; i < n; i++, k++)
		switch (t[i].type) {
		case T_ATOM:
			if (t[i].n == 0 || strlen(t[i].s) != t[i].n)
				__builtin_trap();
			break;
		case T_STR:
			if (t[i].s[t[i].n] != 0 || (t[i].lit != 2 && strlen(t[i].s) != t[i].n))
				__builtin_trap();
			break;
		case T_LIST:
			k += checktoks(t[i].kid, t[i].nkid, depth + 1);
			break;
		default:
			__builtin_trap();
		}
	return k;
}

/* imap4d's selectset over a view of nm messages with UIDs uid[]: mark[i]; -1 out of range. */
static int
selectset(const Seqset *ss, const uint32_t *uid, int nm, int byuid, char *mark)
{
	uint32_t lo, hi, t, star = byuid ? (nm ? uid[nm - 1] : 0) : (uint32_t)nm;
	int i, a, b, mid;

	memset(mark, 0, nm + 1);
	for (i = 0; i < ss->n; i++) {
		lo = ss->lo[i] ? ss->lo[i] : star;
		hi = ss->hi[i] ? ss->hi[i] : star;
		if (lo > hi)
			t = lo, lo = hi, hi = t;
		if (!byuid) {
			if (lo == 0 || hi > (uint32_t)nm)
				return -1;
			memset(mark + lo - 1, 1, hi - lo + 1);
			continue;
		}
		a = 0, b = nm;
		while (a < b) {
			mid = a + (b - a) / 2;
			if (uid[mid] < lo)
				a = mid + 1;
			else
				b = mid;
		}
		for (; a < nm && uid[a] <= hi; a++)
			mark[a] = 1;
	}
	return 0;
}

static void
seqs(Arena *ar, const char *s)
{
	static uint32_t uid[40];
	char mark[41];
	Seqset ss;
	int i, nm, byuid;

	if (uid[0] == 0)
		for (i = 0; i < 40; i++)
			uid[i] = 3 * i + 1 + (i > 30 ? 4000000000u : 0);
	if (seq_parse(ar, s, &ss) < 0)
		return;
	if (ss.n < 1 || ss.n > LIM_IMAPSEQ)
		__builtin_trap();
	for (nm = 0; nm <= 40; nm += 13)
		for (byuid = 0; byuid < 2; byuid++) {
			if (selectset(&ss, uid, nm, byuid, mark) < 0)
				continue;
			for (i = 0; i < nm; i++)
				if (mark[i] != seq_has(&ss, byuid ? uid[i] : (uint32_t)i + 1,
				    byuid ? (nm ? uid[nm - 1] : 0) : (uint32_t)nm))
					__builtin_trap();
		}
}

static Msg *cur;

static Msg *
load(void *arg)
{
	(void)arg;
	return cur;
}

static void
search(Arena *ar, Tok *a, int n)
{
	static char *kw[] = { "$Forwarded", "Junk" };
	Search *s;
	Smsg m;
	int i;

	if (n >= 2 && tok_is(&a[0], "CHARSET"))
		a += 2, n -= 2;
	if (n <= 0 || (s = search_parse(ar, a, n)) == NULL)
		return;
	for (i = 0; i < 3; i++) {
		memset(&m, 0, sizeof m);
		m.seq = i + 1;
		m.uid = 10 * i + 7;
		m.flags = i == 1 ? MF_SEEN | IF_RECENT : MF_DELETED;
		m.kw = i == 2 ? kw : NULL;
		m.nkw = i == 2 ? 2 : 0;
		m.idate = 1057049557 + 86400 * i;
		m.size = 1000 * i;
		m.load = load;
		if (search_match(s, &m, 3, 27) < 0)
			__builtin_trap();
	}
}

/* A BODY[...], BINARY[...] item: its section on the current message. */
static void
section(const char *s)
{
	static Msg empty;
	static int emptyok;
	const char *lb = strchr(s, '['), *rb = strrchr(s, ']');
	Str out = { 0 };
	int ok, r, r0;
	size_t n;

	if (lb == NULL || rb == NULL || rb < lb)
		return;
	if (!emptyok)
		emptyok = msg_parse(&empty, "\n", 1) == 0 ? 1 : -1;
	n = rb - lb - 1;
	lb++;
	if (strncasecmp(s, "BINARY", 6) == 0) {
		imap_binary(&out, cur, lb, n, &ok);
		str_free(&out);
		return;
	}
	imap_sectname(&out, lb, n);
	str_reset(&out);
	ok = 1;
	r = imap_section(&out, cur, lb, n, &ok);
	str_reset(&out);
	/* imap4d checks the syntax on an empty message before answering */
	if (emptyok == 1) {
		r0 = imap_section(&out, &empty, lb, n, &ok);
		if ((r < 0) != (r0 < 0))
			__builtin_trap();
	}
	str_free(&out);
}

static void
walk(Arena *ar, Tok *t, int n)
{
	Str s = { 0 };
	uint64_t lines;
	int i;

	for (i = 0; i < n; i++) {
		if (t[i].type == T_LIST) {
			walk(ar, t[i].kid, t[i].nkid);
			continue;
		}
		if (t[i].type == T_ATOM) {
			seqs(ar, t[i].s);
			if (strchr(t[i].s, '['))
				section(t[i].s);
		}
		str_reset(&s);
		imap_crlf(&s, t[i].s, t[i].n);
		if (imap_crlfsize(t[i].s, t[i].n, &lines) != s.n)
			__builtin_trap();
		str_reset(&s);
		imap_str(&s, t[i].s, t[i].n);
		if (t[i].lit != 2 && imap_mutf7_decode(t[i].s, t[i].n, &s) == 0 && s.p != NULL)
			imap_match(t[i].s, s.p);
	}
	str_free(&s);
}

int
LLVMFuzzerTestOneInput(const unsigned char *d, size_t n)
{
	static Msg fmsg;
	static int fok;
	Conn c;
	Bio *b;
	Arena ar = { 0 };
	Imapin in;
	Imapcmd cmd;
	Msg am;
	Str out = { 0 };
	int r, k, ncmd, have = 0;
	char *keep = NULL;

	if (!fok) {
		if (msg_parse(&fmsg, fixed, sizeof fixed - 1) < 0)
			__builtin_trap();
		fok = 1;
	}
	if (n < 1)
		return 0;
	memconn(&c, d, n);
	b = xmalloc(sizeof *b);
	bio_init(b, &c);
	cur = &fmsg;
	for (ncmd = 0; ncmd < 200; ncmd++) {
		arena_free(&ar);
		memset(&in, 0, sizeof in);
		in.b = b;
		in.ar = &ar;
		in.maxlit = LIM_IMAPLIT;
		in.cont = cont;
		in.verb = verb;
		in.arg = &in;
		r = imap_readcmd(&in, &cmd);
		if (r == -3 || r == -4)
			break;
		if (r < 0)	/* BAD; the tag is NULL after a long line or a NUL */
			continue;
		if (cmd.tag == NULL || cmd.verb == NULL || strlen(cmd.tag) > LIM_IMAPTAG)
			__builtin_trap();
		if (checktoks(cmd.arg, cmd.narg, 0) > LIM_IMAPTOKENS)
			__builtin_trap();
		/* an APPEND's message becomes the one FETCH looks at */
		if (strcasecmp(cmd.verb, "APPEND") == 0 && cmd.narg > 0 && cmd.arg[cmd.narg - 1].type == T_STR) {
			k = cmd.narg - 1;
			if (have)
				msg_free(&am);
			free(keep);
			have = 0;
			cur = &fmsg;
			keep = xmalloc(cmd.arg[k].n + 1);
			memcpy(keep, cmd.arg[k].s, cmd.arg[k].n + 1);
			if (msg_parse(&am, keep, cmd.arg[k].n) == 0) {
				have = 1;
				cur = &am;
				str_reset(&out);
				imap_envelope(&out, cur, cur->root);
				str_reset(&out);
				imap_bodystructure(&out, cur, cur->root, 0);
				str_reset(&out);
				imap_bodystructure(&out, cur, cur->root, 1);
			}
		}
		walk(&ar, cmd.arg, cmd.narg);
		search(&ar, cmd.arg, cmd.narg);
	}
	arena_free(&ar);
	if (have)
		msg_free(&am);
	free(keep);
	free(b);
	str_free(&out);
	return 0;
}
