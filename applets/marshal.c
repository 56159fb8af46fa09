/*
 * marshal: compose a message from the headers and text a user types, the
 * options and attachments, and hand it to send (or the user's pipefrom).
 * As upas: typed headers end at the first line without a colon or with an
 * unknown name; Date, From, To, Cc, Subject and the MIME headers are added;
 * bodies are 7bit US-ASCII or 8bit UTF-8, never quoted-printable; no
 * Message-ID (the SMTP client adds one). -ps and -pe make RFC 3156
 * PGP/MIME with gpg.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include "applet.h"
#include "addr.h"
#include "mbox.h"
#include "mimeenc.h"

typedef struct List {
	char **v;
	int n, cap;
} List;

typedef struct Hdr {
	char *name;	/* as typed */
	char *val;	/* after the colon, folds kept, no final newline */
} Hdr;

typedef struct Att {
	char *path;
	char *type;	/* -t, or NULL */
	int inl;	/* -A, Include: */
	char *data;
	size_t n;
} Att;

static struct {
	Arena ar;
	const char *login;
	List to, cc, bcc;	/* recipients as given, aliases not yet expanded */
	List rcpt;		/* what send gets */
	Hdr *hdr;
	int nhdr;
	Att *att;
	int natt;
	List alias;		/* "name\0addr addr" lines of box/LOGIN/names */
	char sendflags[8];
	int pgp;		/* PGPSIGN|PGPENC */
} M;

enum {
	PGPSIGN = 1,
	PGPENC = 2,
};

static const char *known[] = {
	"from", "to", "cc", "bcc", "sender", "reply-to", "in-reply-to", "date", "subject",
	"priority", "message-id", "precedence", "attach", "include",
};

static void
ladd(List *l, char *s)
{
	if (l->n >= LIM_ADDRS)
		die(EX_USAGE, "too many addresses");
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->v = xrealloc(l->v, l->cap * sizeof l->v[0]);
	}
	l->v[l->n++] = s;
}

static int
isknown(const char *name, size_t n)
{
	size_t i;

	if ((n > 2 && strncasecmp(name, "x-", 2) == 0) || (n > 5 && strncasecmp(name, "mime-", 5) == 0) ||
	    (n > 8 && strncasecmp(name, "content-", 8) == 0))
		return 1;
	for (i = 0; i < nelem(known); i++)
		if (strlen(known[i]) == n && strncasecmp(name, known[i], n) == 0)
			return 1;
	return 0;
}

static int
iscontent(const char *name)
{
	return strncasecmp(name, "content-", 8) == 0 || strcasecmp(name, "mime-version") == 0;
}

static Hdr *
typed(const char *name)
{
	int i;

	for (i = 0; i < M.nhdr; i++)
		if (M.hdr[i].name && strcasecmp(M.hdr[i].name, name) == 0)
			return &M.hdr[i];
	return NULL;
}

static char *
trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t' || *s == '\n')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n'))
		s[--n] = 0;
	return s;
}

/*
 * The typed header block: lines "Name: value" with known names, and their
 * continuation lines. Returns where the body starts.
 */
static size_t
readheaders(char *in, size_t n)
{
	size_t p = 0, e, k;
	Hdr *h;

	while (p < n) {
		e = p;
		while (e < n && in[e] != '\n')
			e++;
		if (e == p)
			return e + 1 < n ? e + 1 : n;
		if ((in[p] == ' ' || in[p] == '\t') && M.nhdr > 0) {
			h = &M.hdr[M.nhdr - 1];
			h->val = xrealloc(h->val, strlen(h->val) + (e - p) + 2);
			strcat(h->val, "\n");
			strncat(h->val, in + p, e - p);
			p = e + 1;
			continue;
		}
		for (k = p; k < e && in[k] != ':' && in[k] > ' ' && in[k] < 0x7f; k++)
			;
		if (k == e || in[k] != ':' || k == p || !isknown(in + p, k - p))
			return p;
		if (M.nhdr >= LIM_MSGHDRS)
			die(EX_DATAERR, "too many header lines");
		M.hdr = xrealloc(M.hdr, (M.nhdr + 1) * sizeof M.hdr[0]);
		h = &M.hdr[M.nhdr++];
		h->name = xstrndup(in + p, k - p);
		k++;
		h->val = xstrndup(in + k, e - k);
		p = e < n ? e + 1 : n;
	}
	return n;
}

/* box/LOGIN/names: "name addr..." lines, as aliasmail reads its files. */
static void
loadnames(void)
{
	char path[LIM_PATHNAME], *f[LIM_CONFFIELDS];
	Str s = { 0 };
	Conf c;
	int nf, i;

	if (upas_path(path, sizeof path, "box", M.login, "names", NULL) < 0 || access(path, R_OK) < 0)
		return;
	if (conf_open(&c, path) < 0) {
		warn("%s", lasterr());
		return;
	}
	while ((nf = conf_line(&c, f, nelem(f))) != 0) {
		if (nf < 2)
			continue;
		str_reset(&s);
		str_adds(&s, f[0]);
		str_addc(&s, 0);
		for (i = 1; i < nf; i++)
			str_fmt(&s, "%s%s", i > 1 ? " " : "", f[i]);
		ladd(&M.alias, arena_strndup(&M.ar, s.p, s.n));
	}
	str_free(&s);
	conf_close(&c);
}

/* Replace a personal alias by its addresses, aliases inside aliases too (8 deep). */
static void
expand(List *out, char *a, int depth)
{
	char *p, *q, *copy;
	int i;

	if (depth < 8 && strpbrk(a, "@!<") == NULL)
		for (i = 0; i < M.alias.n; i++)
			if (strcasecmp(M.alias.v[i], a) == 0) {
				copy = arena_strdup(&M.ar, M.alias.v[i] + strlen(M.alias.v[i]) + 1);
				for (p = strtok_r(copy, " ", &q); p; p = strtok_r(NULL, " ", &q))
					expand(out, p, depth + 1);
				return;
			}
	ladd(out, a);
}

/* Check an address and add it to the envelope, once. */
static void
addrcpt(const Addr *a)
{
	char *t = addr_text(&M.ar, a);
	int i;

	if (t == NULL || *t == 0)
		die(EX_DATAERR, "bad recipient: %s", lasterr());
	for (i = 0; i < M.rcpt.n; i++)
		if (strcmp(M.rcpt.v[i], t) == 0)
			return;
	ladd(&M.rcpt, t);
}

static void
parseaddr(const char *s, Addr *a)
{
	if (s[0] == '-')
		die(EX_USAGE, "bad recipient %s: begins with '-'", s);
	if (addr_parse(&M.ar, s, a) < 0)
		die(EX_DATAERR, "bad recipient %s: %s", s, lasterr());
}

/* "Name" <addr> with the name RFC 2047-encoded when it must be. */
static void
mailbox(Str *o, const Addr *a, size_t col)
{
	char *t = addr_text(&M.ar, a);

	if (t == NULL)
		die(EX_DATAERR, "bad address: %s", lasterr());
	mime_mailbox(o, a->name, t, col);
}

/* An address header: the typed list (re-encoded) and then the given addresses. */
static void
addrhdr(Str *o, const char *name, Hdr *h, List *extra)
{
	Addr *v, a;
	int nv = 0, i, first = 1;
	size_t col, start;

	if (h == NULL && extra->n == 0)
		return;
	str_fmt(o, "%s: ", h ? h->name : name);
	col = strlen(name) + 2;
	if (h && addr_list(&M.ar, h->val, strlen(h->val), &v, &nv) < 0)
		die(EX_DATAERR, "bad address in %s: %s", h->name, lasterr());
	for (i = 0; i < nv + extra->n; i++) {
		if (i < nv)
			a = v[i];
		else
			parseaddr(extra->v[i - nv], &a);
		if (!first) {
			str_adds(o, ",\n ");
			col = 1;
		}
		start = o->n;
		mailbox(o, &a, col);
		col += o->n - start;
		first = 0;
	}
	str_addc(o, '\n');
}

/* The envelope from typed headers (-8): To, Cc and Bcc. */
static void
typedrcpts(void)
{
	Addr *v;
	int nv, i, j;

	for (i = 0; i < M.nhdr; i++) {
		if (strcasecmp(M.hdr[i].name, "to") && strcasecmp(M.hdr[i].name, "cc") &&
		    strcasecmp(M.hdr[i].name, "bcc"))
			continue;
		if (addr_list(&M.ar, M.hdr[i].val, strlen(M.hdr[i].val), &v, &nv) < 0)
			die(EX_DATAERR, "bad address in %s: %s", M.hdr[i].name, lasterr());
		for (j = 0; j < nv; j++)
			addrcpt(&v[j]);
	}
}

static void
addatt(char *path, char *type, int inl)
{
	Att *a;

	if (M.natt >= LIM_ATTACH)
		die(EX_USAGE, "too many attachments");
	M.att = xrealloc(M.att, (M.natt + 1) * sizeof M.att[0]);
	a = &M.att[M.natt++];
	memset(a, 0, sizeof *a);
	a->path = path;
	a->type = type;
	a->inl = inl;
}

/* A type given with -t: type/subtype and parameters, one line. */
static char *
checktype(char *t)
{
	char *p;

	if (strcmp(t, "mime") == 0)
		return t;
	for (p = t; *p; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			die(EX_USAGE, "bad type: %s", t);
	if ((p = strchr(t, '/')) == NULL || p == t || p[1] == 0 || strlen(t) > 200)
		die(EX_USAGE, "bad type: %s", t);
	return t;
}

static const char *
basename_of(const char *p)
{
	const char *s = strrchr(p, '/');

	return s && s[1] ? s + 1 : p;
}

/* One attachment as a body part. */
static void
attpart(Str *o, Att *a)
{
	const char *type = a->type, *data = a->data, *nl;
	size_t n = a->n;
	int text, eight, plain;

	if (type && strcmp(type, "mime") == 0) {
		str_addn(o, data, n);
		return;
	}
	if (type == NULL && (type = mime_typebyname(a->path)) == NULL)
		type = mime_sniff(data, n);
	if (strncasecmp(type, "message/rfc822", 14) == 0 && n > 5 && memcmp(data, "From ", 5) == 0) {
		nl = memchr(data, '\n', n);
		n -= nl ? (size_t)(nl + 1 - data) : n;
		data = nl ? nl + 1 : data + a->n;
	}
	text = mime_istext(data, n, &eight);
	/* RFC 3156 §3: signed data must be 7bit to survive a relay's downgrade */
	plain = text && (!eight || !(M.pgp & PGPSIGN) || strncasecmp(type, "message/", 8) == 0);
	str_fmt(o, "Content-Type: %s", type);
	if (text && strncasecmp(type, "text/", 5) == 0 && strchr(type, ';') == NULL)
		str_fmt(o, "; charset=%s", eight ? "UTF-8" : "US-ASCII");
	str_fmt(o, "\nContent-Disposition: %s", a->inl ? "inline" : "attachment");
	mime_param(o, "filename", basename_of(a->path));
	if (plain && (strncasecmp(type, "text/", 5) == 0 || strncasecmp(type, "message/", 8) == 0)) {
		str_fmt(o, "\nContent-Transfer-Encoding: %s\n\n", eight ? "8bit" : "7bit");
		str_addn(o, data, n);
	} else if (strncasecmp(type, "message/", 8) == 0) {
		/* RFC 2046 §5.2.1: a message part may not be base64; pass it as binary */
		str_adds(o, "\nContent-Transfer-Encoding: binary\n\n");
		str_addn(o, data, n);
	} else {
		str_adds(o, "\nContent-Transfer-Encoding: base64\n\n");
		mime_base64(o, data, n, 72);
	}
}

/* The text part's header: typed Content-* lines, else text/plain in the charset the bytes need. */
static void
bodyhdr(Str *o, const char *body, size_t n, int b64)
{
	int i, eight = 0;
	size_t k;

	if (typed("content-type")) {
		for (i = 0; i < M.nhdr; i++)
			if (iscontent(M.hdr[i].name) && strcasecmp(M.hdr[i].name, "mime-version"))
				str_fmt(o, "%s:%s\n", M.hdr[i].name, M.hdr[i].val);
		return;
	}
	for (k = 0; k < n; k++)
		if ((unsigned char)body[k] >= 0x80)
			eight = 1;
	str_fmt(o, "Content-Type: text/plain; charset=%s\n", eight || b64 ? "UTF-8" : "US-ASCII");
	str_fmt(o, "Content-Transfer-Encoding: %s\n", b64 ? "base64" : eight ? "8bit" : "7bit");
}

/* The text; a part in a multipart ends without a newline of its own: the one before the boundary is the boundary's. */
static void
bodytext(Str *o, const char *body, size_t n, int b64, int last)
{
	if (b64)
		mime_base64(o, body, n, 72);
	else {
		str_addn(o, body, n);
		if (last && n > 0 && body[n - 1] != '\n')
			str_addc(o, '\n');
	}
}

/* Whether the body or an attachment holds b, so a delimiter line could appear inside a part. */
static int
clash(const char *b, const char *body, size_t n)
{
	int i;

	if (memmem(body, n, b, strlen(b)))
		return 1;
	for (i = 0; i < M.natt; i++)
		if (memmem(M.att[i].data, M.att[i].n, b, strlen(b)))
			return 1;
	return 0;
}

/* The user's own headers file, kept as is, with a final newline. */
static void
headersfile(Str *o)
{
	char path[LIM_PATHNAME], *p;
	size_t n;

	if (upas_path(path, sizeof path, "box", M.login, "headers", NULL) < 0 || access(path, R_OK) < 0)
		return;
	if ((p = readfile(path, LIM_HDRFILE, &n)) == NULL)
		die(EX_CONFIG, "%s", lasterr());
	while (n > 0 && p[n - 1] == '\n')
		n--;
	if (n > 0) {
		str_addn(o, p, n);
		str_addc(o, '\n');
	}
	free(p);
}

static int
hasfield(const char *text, size_t n, const char *name)
{
	size_t l = strlen(name), i;

	for (i = 0; i + l < n; i++)
		if ((i == 0 || text[i - 1] == '\n') && strncasecmp(text + i, name, l) == 0 && text[i + l] == ':')
			return 1;
	return 0;
}

/* The content: Content-* header lines, a blank line and the body, single part or multipart/mixed. */
static void
entity(Str *o, const char *body, size_t nbody, int nobody)
{
	char bound[40];
	int i, b64 = 0, eight = 0;

	/* a typed Content-Type means the user encoded the body */
	if (!nobody && nbody > 0 && !typed("content-type") &&
	    (!mime_istext(body, nbody, &eight) || (eight && (M.pgp & PGPSIGN))))
		b64 = 1;
	if (M.natt == 0) {
		bodyhdr(o, body, nbody, b64);
		str_addc(o, '\n');
		bodytext(o, body, nbody, b64, 1);
		return;
	}
	do
		mime_boundary(bound, sizeof bound, NULL, 0);
	while (clash(bound, body, nbody));
	str_fmt(o, "Content-Type: multipart/mixed;\n boundary=\"%s\"\n\n", bound);
	str_adds(o, "This is a multi-part message in MIME format.");
	if (!nobody && (nbody > 0 || typed("content-type"))) {
		str_fmt(o, "\n--%s\n", bound);
		bodyhdr(o, body, nbody, b64);
		str_addc(o, '\n');
		bodytext(o, body, nbody, b64, 0);
	}
	for (i = 0; i < M.natt; i++) {
		str_fmt(o, "\n--%s\n", bound);
		attpart(o, &M.att[i]);
	}
	str_fmt(o, "\n--%s--\n", bound);
}

/* An unlinked temporary file for gpg's input or output. */
static int
tmpfd(void)
{
	char path[] = "/tmp/upasgpgXXXXXX";
	int fd;

	if ((fd = memfd_create("upasgpg", MFD_CLOEXEC)) >= 0)
		return fd;
	if ((fd = mkostemp(path, O_CLOEXEC)) < 0)
		die(EX_OSERR, "temporary file:");
	unlink(path);
	return fd;
}

/*
 * Run gpg ($GPG when set) with args and in (LF made CRLF: RFC 3156 signs and
 * encrypts the canonical form) on its stdin; what it writes, armoured, goes to out.
 * Its stderr is ours, so its complaint (no key, no agent) is what the user
 * sees; then nothing is sent.
 */
static void
gpg(Str *out, char **args, int nargs, const char *in, size_t n)
{
	char **av, buf[8192];
	const char *g = getenv("GPG");
	Str c = { 0 };
	size_t i;
	ssize_t r;
	int ifd, ofd, ac = 0, st;
	pid_t pid;

	av = xmalloc((nargs + 5) * sizeof av[0]);
	av[ac++] = (char *)(g && *g ? g : "gpg");
	av[ac++] = "--batch";
	av[ac++] = "--quiet";
	av[ac++] = "--armor";
	memcpy(av + ac, args, nargs * sizeof av[0]);
	av[ac + nargs] = NULL;
	for (i = 0; i < n; i++) {
		if (in[i] == '\n')
			str_addc(&c, '\r');
		str_addc(&c, in[i]);
	}
	ifd = tmpfd();
	ofd = tmpfd();
	if (fd_writeall(ifd, c.p, c.n) < 0 || lseek(ifd, 0, SEEK_SET) < 0)
		die(EX_OSERR, "temporary file:");
	str_free(&c);
	if ((pid = proc_start(av, ifd, ofd)) < 0)
		die(EX_OSERR, "%s: %s", av[0], lasterr());
	close(ifd);
	if ((st = proc_wait(pid)) != 0)
		die(EX_UNAVAILABLE, "%s failed (status %d): nothing sent", av[0], st);
	if (lseek(ofd, 0, SEEK_SET) < 0)
		die(EX_OSERR, "temporary file:");
	while ((r = read(ofd, buf, sizeof buf)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			die(EX_IOERR, "reading %s's output:", av[0]);
		}
		if (out->n + r > 2 * (size_t)LIM_MSG)
			die(EX_DATAERR, "%s's output larger than %d bytes", av[0], 2 * LIM_MSG);
		str_addn(out, buf, r);
	}
	close(ofd);
	if (out->n == 0 || out->p[out->n - 1] != '\n')
		die(EX_UNAVAILABLE, "%s wrote no armoured output", av[0]);
	free(av);
}

/*
 * RFC 3156 §5: the entity, then a detached signature of its canonical form.
 * The newline before a boundary is the boundary's, so one is added after the
 * signed text, which keeps its own last newline. SHA-256 is asked for, so
 * micalg can say so.
 */
static void
signpart(Str *o, const char *p, size_t n)
{
	static char *args[] = { "--detach-sign", "--digest-algo", "SHA256" };
	char bound[40];
	Str sig = { 0 };

	gpg(&sig, args, nelem(args), p, n);
	mime_boundary(bound, sizeof bound, p, n);
	str_fmt(o, "Content-Type: multipart/signed; micalg=pgp-sha256;\n"
	    " protocol=\"application/pgp-signature\";\n boundary=\"%s\"\n\n", bound);
	str_fmt(o, "This is an OpenPGP/MIME signed message (RFC 3156).\n--%s\n", bound);
	str_addn(o, p, n);
	str_fmt(o, "\n--%s\n", bound);
	str_adds(o, "Content-Type: application/pgp-signature; name=\"signature.asc\"\n"
	    "Content-Description: OpenPGP digital signature\n"
	    "Content-Disposition: attachment; filename=\"signature.asc\"\n\n");
	str_addn(o, sig.p, sig.n);
	str_fmt(o, "--%s--\n", bound);
	str_free(&sig);
}

/*
 * RFC 3156 §4: the entity encrypted to every recipient, Bcc too. An address
 * with an @ is asked for as <addr>, which gpg matches exactly; a local name
 * as is.
 */
static void
encpart(Str *o, const char *p, size_t n)
{
	char **args, bound[40];
	Str enc = { 0 }, who = { 0 };
	int i, na = 0;

	args = xmalloc((2 * M.rcpt.n + 1) * sizeof args[0]);
	args[na++] = "--encrypt";
	for (i = 0; i < M.rcpt.n; i++) {
		args[na++] = "--recipient";
		if (strchr(M.rcpt.v[i], '@')) {
			str_reset(&who);
			str_fmt(&who, "<%s>", M.rcpt.v[i]);
			args[na++] = arena_strdup(&M.ar, who.p);
		} else
			args[na++] = M.rcpt.v[i];
	}
	gpg(&enc, args, na, p, n);
	mime_boundary(bound, sizeof bound, enc.p, enc.n);
	str_fmt(o, "Content-Type: multipart/encrypted;\n"
	    " protocol=\"application/pgp-encrypted\";\n boundary=\"%s\"\n\n", bound);
	str_fmt(o, "This is an OpenPGP/MIME encrypted message (RFC 3156).\n--%s\n", bound);
	str_adds(o, "Content-Type: application/pgp-encrypted\n"
	    "Content-Description: PGP/MIME version identification\n\nVersion: 1\n");
	str_fmt(o, "\n--%s\n", bound);
	str_adds(o, "Content-Type: application/octet-stream; name=\"encrypted.asc\"\n"
	    "Content-Description: OpenPGP encrypted message\n"
	    "Content-Disposition: inline; filename=\"encrypted.asc\"\n\n");
	str_addn(o, enc.p, enc.n);
	str_fmt(o, "--%s--\n", bound);
	str_free(&enc);
	str_free(&who);
	free(args);
}

static void
compose(Str *o, const Addr *from, const char *subject, const char *replyto, const char *body, size_t nbody, int nobody)
{
	char date[64];
	size_t hstart = o->n;
	int i, eight;
	Hdr *h;
	List none = { 0 };
	Str e = { 0 }, s = { 0 };

	headersfile(o);
	if (!typed("date") && !hasfield(o->p + hstart, o->n - hstart, "date")) {
		mime_date(date, sizeof date, time(NULL));
		str_fmt(o, "Date: %s\n", date);
	}
	if (!typed("from") && !hasfield(o->p + hstart, o->n - hstart, "from")) {
		str_adds(o, "From: ");
		mailbox(o, from, 6);
		str_addc(o, '\n');
	}
	addrhdr(o, "To", typed("to"), &M.to);
	addrhdr(o, "Cc", typed("cc"), &M.cc);
	for (i = 0; i < M.nhdr; i++) {
		h = &M.hdr[i];
		if (!strcasecmp(h->name, "to") || !strcasecmp(h->name, "cc") || !strcasecmp(h->name, "bcc") ||
		    !strcasecmp(h->name, "attach") || !strcasecmp(h->name, "include") || iscontent(h->name))
			continue;
		if (!strcasecmp(h->name, "from") || !strcasecmp(h->name, "reply-to") || !strcasecmp(h->name, "sender"))
			addrhdr(o, h->name, h, &none);
		else if (!mime_istext(h->val, strlen(h->val), &eight) || eight) {
			str_fmt(o, "%s: ", h->name);
			mime_hdrtext(o, trim(h->val), strlen(h->name) + 2);
			str_addc(o, '\n');
		} else
			str_fmt(o, "%s:%s\n", h->name, h->val);
	}
	if (subject && !typed("subject")) {
		str_adds(o, "Subject: ");
		mime_hdrtext(o, subject, 9);
		str_addc(o, '\n');
	}
	if (replyto && !typed("in-reply-to"))
		str_fmt(o, "In-Reply-To: %s\n", replyto);
	str_adds(o, "MIME-Version: 1.0\n");
	if (M.pgp == 0) {
		entity(o, body, nbody, nobody);
		return;
	}
	entity(&e, body, nbody, nobody);
	if (M.pgp & PGPSIGN) {
		signpart(&s, e.p, e.n);
		str_free(&e);
		e = s;
	}
	if (M.pgp & PGPENC)
		encpart(o, e.p, e.n);
	else
		str_addn(o, e.p, e.n);
	str_free(&e);
}

/* Read the whole of stdin, CRLF made LF, at most LIM_MSG octets. */
static char *
readin(size_t *np)
{
	Str s = { 0 };
	char buf[8192];
	ssize_t r;
	size_t i, j;

	while ((r = read(0, buf, sizeof buf)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			die(EX_IOERR, "reading the message:");
		}
		if (s.n + r > LIM_MSG)
			die(EX_DATAERR, "message larger than %d bytes", LIM_MSG);
		str_addn(&s, buf, r);
	}
	for (i = j = 0; i < s.n; i++)
		if (!(s.p[i] == '\r' && i + 1 < s.n && s.p[i + 1] == '\n'))
			s.p[j++] = s.p[i];
	if (s.p == NULL)
		str_adds(&s, "");
	s.p[j] = 0;
	*np = j;
	return s.p;
}

/* The id of the message replied to: DIR/messageid, as upas/fs gives it, with or without <>. */
static char *
messageid(const char *dir)
{
	char path[LIM_PATHNAME], *p, *t;
	size_t i, n;
	Str s = { 0 };

	if (snprintf(path, sizeof path, "%s/messageid", dir) >= (int)sizeof path)
		die(EX_USAGE, "-R: path too long");
	if ((p = readfile(path, 1024, NULL)) == NULL)
		return NULL;
	t = trim(p);
	if (*t == '<')
		t++;
	n = strlen(t);
	if (n > 0 && t[n - 1] == '>')
		t[--n] = 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)t[i] <= ' ' || t[i] == 0x7f || t[i] == '<' || t[i] == '>')
			die(EX_DATAERR, "%s: not a message id", path);
	if (n > 0) {
		str_fmt(&s, "<%s>", t);
		t = arena_strdup(&M.ar, s.p);
		str_free(&s);
	} else
		t = NULL;
	free(p);
	return t;
}

static void
savecopy(const char *where, const Addr *from, const char *msg, size_t n)
{
	char path[LIM_PATHNAME];

	if (where[0] == '/')
		snprintf(path, sizeof path, "%s", where);
	else if (upas_path(path, sizeof path, "box", M.login, where, NULL) < 0) {
		warn("copy to %s: %s", where, lasterr());
		return;
	}
	if (mb_append(path, addr_text(&M.ar, from), 0, msg, n) < 0)
		warn("copy to %s: %s", path, lasterr());
}

/* Everything M holds: marshal may run inside another applet's process. */
static void
release(void)
{
	int i;

	for (i = 0; i < M.nhdr; i++) {
		free(M.hdr[i].name);
		free(M.hdr[i].val);
	}
	for (i = 0; i < M.natt; i++)
		free(M.att[i].data);
	free(M.hdr);
	free(M.att);
	free(M.to.v);
	free(M.cc.v);
	free(M.bcc.v);
	free(M.rcpt.v);
	free(M.alias.v);
	arena_free(&M.ar);
}

int
marshal_main(int argc, char **argv)
{
	char *subject = NULL, *replydir = NULL, *saveto = NULL, *type = NULL, *in = NULL, *msgid = NULL;
	char *body = "", *up, pipefrom[LIM_PATHNAME], **av;
	int c, i, j, folder = 0, eight = 0, nobody = 0, noread = 0, nf = 0, ac, st;
	size_t n = 0, bodystart, nbody = 0;
	Addr from;
	List rcc = { 0 }, rbcc = { 0 };
	Str o = { 0 };

	memset(&M, 0, sizeof M);
	while ((c = getopt(argc, argv, "a:A:C:B:Fr#xnd8p:S:R:s:t:")) != -1) {
		switch (c) {
		case 'a':
		case 'A':
			addatt(optarg, type, c == 'A');
			type = NULL;
			break;
		case 'C':
			ladd(&rcc, optarg);
			break;
		case 'B':
			ladd(&rbcc, optarg);
			break;
		case 'F':
			folder = 1;
			break;
		case 'r':
		case '#':
		case 'x':
		case 'd':
			if (!strchr(M.sendflags, c))
				M.sendflags[nf++] = c;
			noread |= c != 'r';
			break;
		case 'n':
			nobody = 1;
			break;
		case '8':
			eight = 1;
			break;
		case 'p':
			if (*optarg == 0)
				usage();
			for (up = optarg; *up; up++)
				if (*up == 's')
					M.pgp |= PGPSIGN;
				else if (*up == 'e')
					M.pgp |= PGPENC;
				else
					usage();
			break;
		case 'S':
			saveto = optarg;
			break;
		case 'R':
			replydir = optarg;
			break;
		case 's':
			subject = optarg;
			break;
		case 't':
			type = checktype(optarg);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if ((argc == 0 && !eight) || (eight && nobody))
		usage();
	M.login = mime_login();
	loadnames();
	for (i = 0; i < argc; i++)
		expand(&M.to, argv[i], 0);
	for (i = 0; i < rcc.n; i++)
		expand(&M.cc, rcc.v[i], 0);
	for (i = 0; i < rbcc.n; i++)
		expand(&M.bcc, rbcc.v[i], 0);

	if ((up = getenv("upasname")) != NULL && *up) {
		if (up[0] == '-' || addr_parse(&M.ar, up, &from) < 0)
			die(EX_USAGE, "bad $upasname %s: %s", up, up[0] == '-' ? "begins with '-'" : lasterr());
	} else if (addr_parse(&M.ar, M.login, &from) < 0)
		die(EX_NOUSER, "login name %s is no address: %s", M.login, lasterr());

	if (!noread && !nobody) {
		in = readin(&n);
		bodystart = readheaders(in, n);
		body = in + bodystart;
		nbody = n - bodystart;
	}
	for (i = 0; i < M.nhdr; i++)
		if (!strcasecmp(M.hdr[i].name, "attach") || !strcasecmp(M.hdr[i].name, "include"))
			addatt(arena_strdup(&M.ar, trim(M.hdr[i].val)), NULL, !strcasecmp(M.hdr[i].name, "include"));

	for (j = 0; j < 3; j++) {
		List *l = j == 0 ? &M.to : j == 1 ? &M.cc : &M.bcc;
		Addr a;
		for (i = 0; i < l->n; i++) {
			parseaddr(l->v[i], &a);
			addrcpt(&a);
		}
	}
	if (eight)
		typedrcpts();
	if (M.rcpt.n == 0)
		die(EX_USAGE, "no recipients");

	/* -x, -# and -d only ask send about the addresses */
	if (!noread) {
		for (i = 0; i < M.natt; i++) {
			if ((M.att[i].data = readfile(M.att[i].path, LIM_MSG, &M.att[i].n)) == NULL)
				die(EX_NOINPUT, "attachment %s", lasterr());
		}
		if (replydir) {
			msgid = messageid(replydir);
			setenv("replymsg", replydir, 1);
		}
		compose(&o, &from, subject, msgid, body, nbody, nobody);
		if (o.n > LIM_MSG)
			die(EX_DATAERR, "message larger than %d bytes", LIM_MSG);
		if (saveto)
			savecopy(saveto, &from, o.p, o.n);
		if (folder)
			savecopy(M.rcpt.v[0], &from, o.p, o.n);
	}
	if (o.p == NULL)
		str_adds(&o, "");

	/* send takes the sender from $upasname: give it the bare address */
	setenv("upasname", addr_text(&M.ar, &from), 1);
	av = xmalloc((M.rcpt.n + nf + 3) * sizeof av[0]);
	ac = 0;
	av[ac++] = mime_pipefrom(pipefrom, sizeof pipefrom) ? pipefrom : "send";
	av[ac++] = "-b";
	for (i = 0; i < nf; i++) {
		char *f = arena_alloc(&M.ar, 3);
		f[0] = '-', f[1] = M.sendflags[i], f[2] = 0;
		av[ac++] = f;
	}
	for (i = 0; i < M.rcpt.n; i++)
		av[ac++] = M.rcpt.v[i];
	av[ac] = NULL;
	if ((st = mime_run(av, o.p, o.n)) < 0)
		die(EX_UNAVAILABLE, "%s: %s", av[0], lasterr());
	free(av);
	free(in);
	str_free(&o);
	free(rcc.v);
	free(rbcc.v);
	release();
	return st;
}
