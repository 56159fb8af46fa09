#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>
#include "addr.h"
#include "bounce.h"
#include "mimeenc.h"
#include "msg.h"

/* The null reverse-path in its upas and SMTP spellings: nobody to tell. */
static int
nullsender(const char *s)
{
	return s == NULL || *s == 0 || strcmp(s, "<>") == 0 || strcmp(s, "/dev/null") == 0;
}

/* The length of the header block at p, with the blank line ending it. */
static size_t
hdrlen(const char *p, size_t n)
{
	const char *q = p, *e = p + n;

	while (q < e) {
		if (*q == '\n')
			return q + 1 - p;
		if (*q == '\r' && q + 1 < e && q[1] == '\n')
			return q + 2 - p;
		if ((q = memchr(q, '\n', e - q)) == NULL)
			break;
		q++;
	}
	return n;
}

/* Precedence: bulk, junk or list (RFC 2076): mailing lists and robots, which
 * must not be answered. */
static int
bulk(const char *h, size_t n)
{
	static const char *kinds[] = { "bulk", "junk", "list" };
	Msg m;
	Hdr *p;
	char *v;
	size_t i;
	int r = 0;

	if (msg_parse(&m, h, n) < 0)
		return 0;
	if ((p = msg_hdr(m.root, "precedence")) != NULL) {
		v = msg_unfold(&m.ar, p->val, p->vlen);
		for (i = 0; i < nelem(kinds); i++)
			r |= strcasecmp(v, kinds[i]) == 0;
	}
	msg_free(&m);
	return r;
}

/*
 * Append text (a mailer's stderr among it) as a text/plain body: control
 * characters become '?', long lines are broken, and if the rest is no valid
 * UTF-8 its 8-bit bytes become '?' too. Whether 8-bit text remains.
 */
static int
addtext(Str *out, const char *s, size_t n)
{
	size_t i, start = out->n, col = 0;
	int eight = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (c == '\n') {
			str_addc(out, '\n');
			col = 0;
			continue;
		}
		if (col >= LIM_HDRLINE - 8 && (c & 0xc0) != 0x80) {
			str_addc(out, '\n');
			col = 0;
		}
		if ((c < ' ' && c != '\t') || c == 0x7f)
			c = '?';
		str_addc(out, c);
		col++;
	}
	if (out->n > start && out->p[out->n - 1] != '\n')
		str_addc(out, '\n');
	if (out->n > start && !mime_istext(out->p + start, out->n - start, &eight)) {
		for (i = start; i < out->n; i++)
			if ((unsigned char)out->p[i] >= 0x80)
				out->p[i] = '?';
		eight = 0;
	}
	return eight;
}

int
bounce_make(Str *out, const char *sender, const char *reason, const char *orig, size_t n)
{
	char bound[64], date[64], *to, *subj;
	const char *nl, *ctype, *cte = "";
	Str text = { 0 };
	Arena ar = { 0 };
	size_t h;
	Addr a;
	int eight, oeight;

	if (nullsender(sender))
		return 1;
	if (n >= 5 && memcmp(orig, "From ", 5) == 0) {
		nl = memchr(orig, '\n', n);
		h = nl ? (size_t)(nl + 1 - orig) : n;
		orig += h;
		n -= h;
	}
	h = hdrlen(orig, n);
	if (bulk(orig, h))
		return 1;
	if (addr_parse(&ar, sender, &a) < 0 || a.local == NULL || (to = addr_text(&ar, &a)) == NULL) {
		seterr("bounce: bad sender address: %s", lasterr());
		arena_free(&ar);
		return -1;
	}
	eight = addtext(&text, reason, strlen(reason));
	do
		mime_boundary(bound, sizeof bound, orig, n);
	while (text.n > 0 && memmem(text.p, text.n, bound, strlen(bound)) != NULL);
	if (n > LIM_BOUNCEORIG) {
		ctype = "text/rfc822-headers";
		n = h;
	} else
		ctype = "message/rfc822";
	if (!mime_istext(orig, n, &oeight))
		cte = "Content-Transfer-Encoding: binary\n";
	else if (oeight)
		cte = "Content-Transfer-Encoding: 8bit\n";
	mime_date(date, sizeof date, time(0));
	subj = arena_strndup(&ar, reason, strcspn(reason, "\n"));
	str_fmt(out, "From: Mail Delivery System <postmaster@%s>\nTo: %s\nSubject: ", mime_sysname(), to);
	mime_hdrtext(out, subj, 9);
	str_fmt(out, "\nDate: %s\nAuto-Submitted: auto-replied\nMIME-Version: 1.0\n"
	    "Content-Type: multipart/mixed; boundary=\"%s\"\n\n"
	    "This is a multi-part message in MIME format.\n--%s\n"
	    "Content-Type: text/plain; charset=%s\n%s\n",
	    date, bound, bound, eight ? "utf-8" : "us-ascii",
	    eight ? "Content-Transfer-Encoding: 8bit\n" : "");
	str_addn(out, text.p, text.n);
	str_fmt(out, "\n--%s\nContent-Type: %s\nContent-Description: the undelivered message%s\n%s\n",
	    bound, ctype, ctype[0] == 't' ? ", header only" : "", cte);
	str_addn(out, orig, n);
	if (n > 0 && orig[n - 1] != '\n')
		str_addc(out, '\n');
	str_fmt(out, "\n--%s--\n", bound);
	str_free(&text);
	arena_free(&ar);
	return 0;
}

int
bounce_send(const char *sender, const char *reason, const char *orig, size_t n)
{
	char *argv[] = { "send", (char *)sender, NULL }, *old;
	Str b = { 0 };
	pid_t pid;
	int r, fd, st;

	if ((r = bounce_make(&b, sender, reason, orig, n)) != 0)
		return r;
	if ((fd = memfd_create("bounce", MFD_CLOEXEC)) < 0 || fd_writeall(fd, b.p, b.n) < 0 ||
	    lseek(fd, 0, SEEK_SET) < 0) {
		seterr("bounce:");
		if (fd >= 0)
			close(fd);
		str_free(&b);
		return -1;
	}
	str_free(&b);
	old = getenv("upasname") ? xstrdup(getenv("upasname")) : NULL;
	setenv("upasname", "/dev/null", 1);
	pid = proc_start(argv, fd, -1);
	if (old)
		setenv("upasname", old, 1);
	else
		unsetenv("upasname");
	free(old);
	close(fd);
	if (pid < 0)
		return -1;
	if ((st = proc_wait(pid)) != 0) {
		if (st > 0)
			seterr("bounce: send exited %d", st);
		return -1;
	}
	return 0;
}
