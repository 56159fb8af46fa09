/*
 * A message or part as upas/fs shows it: the files of upas.md §3, made
 * from the parsed message on demand. Decoding is core/msg.c's; what is
 * added here is the choice of field and its shape (addresses bare and
 * blank-separated, ids without <>, upas's dates and flag letters).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "digest.h"
#include "mbox.h"
#include "msgfiles.h"

const char *const mf_names[] = {
	"body", "raw", "rawunix", "rawbody", "rawheader", "header", "mimeheader", "unixheader",
	"unixdate", "fileid", "date", "from", "ffrom", "to", "cc", "bcc", "replyto", "sender",
	"inreplyto", "messageid", "references", "subject", "type", "disposition", "filename",
	"digest", "lines", "size", "flags", "info", NULL,
};

/* The addr-spec in one address: comments and blanks outside quotes gone. */
static char *
bare(char *one)
{
	char *o = one, *r;
	int d = 0, q = 0;

	for (r = one; *r; r++) {
		if (q) {
			if (*r == '\\' && r[1])
				*o++ = *r++;
			else if (*r == '"')
				q = 0;
			*o++ = *r;
		} else if (*r == '(')
			d++;
		else if (*r == ')' && d > 0)
			d--;
		else if (d > 0 || *r == ' ' || *r == '\t' || *r == '\r' || *r == '\n')
			continue;
		else {
			if (*r == '"')
				q = 1;
			*o++ = *r;
		}
	}
	*o = 0;
	return one;
}

void
mf_addrlist(Arena *ar, char *v, Str *s)
{
	char *lt, *gt, *one, *q, *c;
	int inq, depth, run, after = 0, angle = 0;
	size_t i, st, j;

	/* split at commas (and a group's ':' and ';') outside quotes, <> and
	 * comments, and after an angle address words follow without a comma
	 * (as Python's email package can write one encoded) */
	for (i = st = 0, inq = depth = 0;; i++) {
		run = 0;
		if (!inq && v[i] == '>' && depth == 1 && angle) {
			for (j = i + 1; v[j] == ' ' || v[j] == '\t'; j++)
				;
			run = v[j] && v[j] != ',' && v[j] != ';' && v[j] != '(';
		}
		if (run || v[i] == 0 || ((v[i] == ',' || v[i] == ';' || v[i] == ':') && !inq && depth == 0)) {
			one = arena_strndup(ar, v + st, i - st + run);
			if (v[i] == ':') {
				st = i + 1;	/* a group's name */
				continue;
			}
			if ((lt = strrchr(one, '<')) != NULL && (gt = strchr(lt, '>')) != NULL) {
				*gt = 0;
				q = lt + 1;
				if ((c = strrchr(q, ':')) != NULL)
					q = c + 1;	/* a route */
			} else if (after && (c = strrchr(one, ' ')) != NULL && strchr(c, '@') != NULL)
				q = c + 1;	/* words run on: the address is the last */
			else
				q = one;
			after = run;
			q = bare(q);
			if (*q && *q != '-' && *q != '@') {	/* never an option */
				if (s->n)
					str_addc(s, ' ');
				str_adds(s, q);
			}
			if (v[i] == 0)
				break;
			st = i + 1;
			depth = angle = 0;
		} else if (v[i] == '\\' && v[i + 1] && (inq || depth > 0))
			i++;
		else if (v[i] == '"' && depth == 0)
			inq = !inq;
		else if (!inq && (v[i] == '<' || v[i] == '(')) {
			angle |= depth == 0 && v[i] == '<';	/* an angle address, not in a comment */
			depth++;
		} else if (!inq && (v[i] == '>' || v[i] == ')') && depth > 0 && --depth == 0)
			angle = 0;
	}
}

char *
mf_addrs(Arena *ar, Part *p, const char *name)
{
	Hdr *h;
	Str s = { 0 };
	char *v;

	for (h = msg_hdr(p, name); h; h = msg_hdrnext(p, h))
		mf_addrlist(ar, msg_unfold(ar, h->val, h->vlen), &s);
	v = arena_strdup(ar, s.p ? s.p : "");
	str_free(&s);
	return v;
}

/* The message-ids of a field, without <>, at most max, sep between. */
static void
ids(Msg *m, Part *p, const char *name, int max, const char *sep, Str *out)
{
	char *v = msg_hdrtext(m, p, name), *lt, *gt;
	int k = 0;

	if (v == NULL)
		return;
	while (k < max && (lt = strchr(v, '<')) != NULL && (gt = strchr(lt, '>')) != NULL) {
		if (k++ > 0)
			str_adds(out, sep);
		str_addn(out, lt + 1, gt - lt - 1);
		v = gt + 1;
	}
	if (k == 0 && *v)
		str_adds(out, v);	/* no <>: as it is */
}

/* "Mon Jan  2 15:04:05 MST 2006", local time. */
static void
unixdate(time_t t, Str *out)
{
	char b[64];
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL || strftime(b, sizeof b, "%a %b %e %H:%M:%S %Z %Y", &tm) == 0)
		b[0] = 0;
	str_adds(out, b);
}

static int
top(Part *p)
{
	return p->parent == NULL;
}

/* The envelope sender, or From:'s first address. */
static void
fromfile(Msg *m, Part *p, const Mfctx *c, Str *out)
{
	char *a = mf_addrs(&m->ar, p, "from");

	if (*a == 0 && top(p) && c->sender)
		a = (char *)c->sender;
	str_adds(out, a);
}

/* The From: display name, decoded. */
static void
ffrom(Msg *m, Part *p, Str *out)
{
	char *v = msg_hdrtext(m, p, "from"), *lt;
	size_t n;

	if (v == NULL)
		return;
	if ((lt = strchr(v, '<')) == NULL)
		return;
	n = lt - v;
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n >= 2 && v[0] == '"' && v[n - 1] == '"')
		str_addn(out, v + 1, n - 2);
	else
		str_addn(out, v, n);
}

static void
replyto(Msg *m, Part *p, const Mfctx *c, Str *out)
{
	static const char *f[] = { "reply-to", "from", "sender" };
	char *a;
	size_t i;

	for (i = 0; i < nelem(f); i++)
		if (*(a = mf_addrs(&m->ar, p, f[i]))) {
			str_adds(out, a);
			return;
		}
	if (top(p) && c->sender)
		str_adds(out, c->sender);
}

/* upas's flag letters in their order; recent is MF_OLD not set */
static const struct {
	int f;
	char c;
} letters[] = {
	{ MF_ANSWERED, 'a' }, { MF_DELETED, 'D' }, { MF_DRAFT, 'd' }, { MF_FLAGGED, 'f' },
	{ MF_OLD, 'r' }, { MF_SEEN, 's' }, { MF_STORED, 'S' },
};

/* flags as the 7 places of a flags file, NUL-terminated */
void
mf_flagtext(int flags, char *buf)
{
	size_t i;

	for (i = 0; i < nelem(letters); i++)
		if (letters[i].f == MF_OLD)
			buf[i] = flags & MF_OLD ? '-' : 'r';	/* recent: not yet old */
		else
			buf[i] = flags & letters[i].f ? letters[i].c : '-';
	buf[i] = 0;
}

int
mf_flags(const char *s, size_t n, int flags)
{
	size_t i, k;
	int add = 1, f;

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
		n--;
	for (i = 0; n == nelem(letters) && i < n && (s[i] == '-' || s[i] == letters[i].c); i++)
		;
	if (n == nelem(letters) && i == n) {
		/* the form fs writes: a letter or '-' in each place */
		for (i = 0, f = flags & ~MF_ALL; i < n; i++) {
			if (letters[i].f == MF_OLD)
				f |= s[i] == '-' ? MF_OLD : 0;
			else if (s[i] != '-')
				f |= letters[i].f;
		}
		return f;
	}
	for (i = 0; i < n; i++) {
		if (s[i] == '+' || s[i] == '-') {
			add = s[i] == '+';
			continue;
		}
		for (k = 0; k < nelem(letters) && letters[k].c != s[i]; k++)
			;
		if (k == nelem(letters))
			return -1;
		f = letters[k].f;
		if (f == MF_OLD)
			flags = add ? flags & ~MF_OLD : flags | MF_OLD;
		else
			flags = add ? flags | f : flags & ~f;
	}
	return flags;
}

static size_t
lines(const char *p, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		k += p[i] == '\n';
	return k + (n > 0 && p[n - 1] != '\n');
}

/* info: upas's 20 lines, each one file's content on one line. */
static void
info(Msg *m, Part *p, const Mfctx *c, Str *out)
{
	static const char *f[] = {
		"from", "to", "cc", "replyto", "unixdate", "subject", "type", "disposition", "filename",
		"digest", "bcc", "inreplyto", "date", "sender", "messageid", "lines", "size", "flags",
		"fileid", "ffrom",
	};
	Str one = { 0 };
	size_t i, k;

	for (i = 0; i < nelem(f); i++) {
		str_reset(&one);
		mf_file(m, p, c, f[i], &one);
		for (k = 0; k < one.n; k++)
			if (one.p[k] == '\n')
				one.p[k] = ' ';
		while (one.n > 0 && one.p[one.n - 1] == ' ')
			one.n--;
		str_addn(out, one.p ? one.p : "", one.n);
		str_addc(out, '\n');
	}
	str_free(&one);
}

int
mf_file(Msg *m, Part *p, const Mfctx *c, const char *name, Str *out)
{
	unsigned char d[20];
	char fl[8];
	char *v;
	size_t i;
	int k;

	if (strcmp(name, "body") == 0) {
		if (strcmp(p->type, "multipart") == 0)
			str_addn(out, p->body, p->bodylen);
		else if (strcmp(p->type, "text") == 0)
			msg_body(p, out);
		else
			msg_decode(p, out);
	} else if (strcmp(name, "raw") == 0)
		str_addn(out, p->raw, p->rawlen);
	else if (strcmp(name, "rawunix") == 0) {
		if (top(p)) {
			mf_file(m, p, c, "unixheader", out);
		}
		str_addn(out, p->raw, p->rawlen);
	} else if (strcmp(name, "rawbody") == 0)
		str_addn(out, p->body, p->bodylen);
	else if (strcmp(name, "rawheader") == 0)
		str_addn(out, p->hdr, p->hdrlen);
	else if (strcmp(name, "header") == 0) {
		for (k = 0; k < p->nh; k++) {
			if (c->ignored && c->ignored(p->h[k].name, p->h[k].nlen))
				continue;
			str_addn(out, p->h[k].name, p->h[k].nlen);
			str_adds(out, ": ");
			str_adds(out, msg_hdrdecode(&m->ar, p->h[k].val, p->h[k].vlen));
			str_addc(out, '\n');
		}
	} else if (strcmp(name, "mimeheader") == 0) {
		for (k = 0; k < p->nh; k++)
			if (p->h[k].nlen >= 8 && (strncasecmp(p->h[k].name, "content-", 8) == 0 ||
			    (p->h[k].nlen == 12 && strncasecmp(p->h[k].name, "mime-version", 12) == 0))) {
				str_addn(out, p->h[k].name, p->h[k].nlen);
				str_adds(out, ": ");
				str_adds(out, msg_unfold(&m->ar, p->h[k].val, p->h[k].vlen));
				str_addc(out, '\n');
			}
	} else if (strcmp(name, "unixheader") == 0) {
		char b[LIM_PATH + 128];

		if (top(p) && mb_fromline(b, sizeof b, c->sender && *c->sender ? c->sender : "???", c->date) == 0)
			str_adds(out, b);
	} else if (strcmp(name, "unixdate") == 0)
		unixdate(c->date, out);
	else if (strcmp(name, "fileid") == 0)
		str_adds(out, c->fileid);
	else if (strcmp(name, "date") == 0) {
		if ((v = msg_hdrtext(m, p, "date")) != NULL)
			str_adds(out, v);
		else
			unixdate(c->date, out);
	} else if (strcmp(name, "from") == 0)
		fromfile(m, p, c, out);
	else if (strcmp(name, "ffrom") == 0)
		ffrom(m, p, out);
	else if (strcmp(name, "to") == 0 || strcmp(name, "cc") == 0 || strcmp(name, "bcc") == 0 ||
	    strcmp(name, "sender") == 0)
		str_adds(out, mf_addrs(&m->ar, p, name));
	else if (strcmp(name, "replyto") == 0)
		replyto(m, p, c, out);
	else if (strcmp(name, "inreplyto") == 0)
		ids(m, p, "in-reply-to", 1, "", out);
	else if (strcmp(name, "messageid") == 0)
		ids(m, p, "message-id", 1, "", out);
	else if (strcmp(name, "references") == 0)
		ids(m, p, "references", 10, "\n", out);
	else if (strcmp(name, "subject") == 0) {
		if ((v = msg_hdrtext(m, p, "subject")) != NULL)
			str_adds(out, v);
	} else if (strcmp(name, "type") == 0)
		str_fmt(out, "%s/%s", p->type, p->subtype);
	else if (strcmp(name, "disposition") == 0) {
		if (p->disp)
			str_adds(out, strcmp(p->disp, "attachment") == 0 ? "file" : p->disp);
	} else if (strcmp(name, "filename") == 0) {
		if (p->filename)
			for (v = p->filename; *v; v++)
				str_addc(out, *v == ' ' || *v == '\t' ? '_' : *v);
	} else if (strcmp(name, "digest") == 0) {
		sha1(p->raw, p->rawlen, d);
		for (i = 0; i < sizeof d; i++) {
			str_addc(out, "0123456789abcdef"[d[i] >> 4]);
			str_addc(out, "0123456789abcdef"[d[i] & 15]);
		}
	} else if (strcmp(name, "lines") == 0)
		str_num(out, lines(p->body, p->bodylen), 10);
	else if (strcmp(name, "size") == 0)
		str_num(out, p->rawlen, 10);
	else if (strcmp(name, "flags") == 0)
		mf_flagtext(c->flags, fl), str_adds(out, fl);
	else if (strcmp(name, "info") == 0)
		info(m, p, c, out);
	else
		return -1;
	return 0;
}
