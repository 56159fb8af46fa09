/*
 * sendmail: the interface every Linux program calls (cron, PHP's mail(),
 * git send-email, mutt), mapped onto send. Options are read as Postfix's
 * sendmail(1) reads them; those it ignores are accepted quietly. The
 * message is completed as Postfix's cleanup(8) would (Date:, From:,
 * Message-ID: when missing; Bcc: removed) because callers expect a
 * finished message to leave the machine.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include "applet.h"
#include "addr.h"
#include "mimeenc.h"
#include "queue.h"

enum { DELIVER, LISTQ, RUNQ, SMTP, NOTHING };

static struct {
	Arena ar;
	char **rcpt;
	int nrcpt;
	int dot;		/* a line "." ends the message */
	int xrcpt;		/* -t */
} S;

static void
addrcpt(const Addr *a, int status)
{
	char *t = addr_text(&S.ar, a);
	int i;

	if (t == NULL || *t == 0)
		die(status, "bad recipient: %s", lasterr());
	for (i = 0; i < S.nrcpt; i++)
		if (strcmp(S.rcpt[i], t) == 0)
			return;
	if (S.nrcpt >= LIM_ADDRS)
		die(EX_DATAERR, "more than %d recipients", LIM_ADDRS);
	S.rcpt = xrealloc(S.rcpt, (S.nrcpt + 1) * sizeof S.rcpt[0]);
	S.rcpt[S.nrcpt++] = t;
}

/* A line of exactly "." (before any CR) at the start of s. */
static int
dotline(const char *s, size_t n)
{
	return n >= 2 && s[0] == '.' && (s[1] == '\n' || (s[1] == '\r' && n >= 3 && s[2] == '\n'));
}

/*
 * The message from stdin, CRLF made LF. Unless -i, a "." line ends it,
 * and is seen as soon as it arrives: a caller may wait for us after it.
 */
static char *
readmsg(size_t *np)
{
	Str s = { 0 };
	char buf[8192];
	size_t scan = 0, i, j;
	char *nl;
	ssize_t r;
	int done = 0;

	while (!done && (r = read(0, buf, sizeof buf)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			die(EX_IOERR, "reading the message:");
		}
		if (s.n + r > LIM_MSG)
			die(EX_DATAERR, "message larger than %d bytes", LIM_MSG);
		str_addn(&s, buf, r);
		while (S.dot && (nl = memchr(s.p + scan, '\n', s.n - scan)) != NULL) {
			if (dotline(s.p + scan, nl + 1 - (s.p + scan))) {
				s.n = scan;
				done = 1;
				break;
			}
			scan = nl + 1 - s.p;
		}
	}
	if (S.dot && !done && s.n - scan >= 1 && s.n - scan <= 2 && s.p[scan] == '.' &&
	    (s.n - scan == 1 || s.p[scan + 1] == '\r'))
		s.n = scan;
	str_adds(&s, "");
	for (i = j = 0; i < s.n; i++)
		if (!(s.p[i] == '\r' && i + 1 < s.n && s.p[i + 1] == '\n'))
			s.p[j++] = s.p[i];
	s.p[j] = 0;
	*np = j;
	return s.p;
}

/* Length of a header field name followed by ':' at s, or 0. */
static size_t
fieldname(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n && s[i] > ' ' && s[i] < 0x7f && s[i] != ':'; i++)
		;
	return i > 0 && i < n && s[i] == ':' ? i : 0;
}

static int
isname(const char *s, size_t k, const char *name)
{
	return strlen(name) == k && strncasecmp(s, name, k) == 0;
}

/* With -t: the addresses in a To, Cc or Bcc field, groups flattened. */
static void
fieldrcpts(const char *s, size_t n, size_t k)
{
	Addr *v;
	int nv, i;

	while (n > k + 1 && s[n - 1] == '\n')
		n--;
	if (addr_list(&S.ar, s + k + 1, n - k - 1, &v, &nv) < 0)
		die(EX_DATAERR, "bad address in %.*s: %s", (int)k, s, lasterr());
	for (i = 0; i < nv; i++)
		addrcpt(&v[i], EX_DATAERR);
}

/* The From: header for a message without one: the sender, qualified, with -F's name. */
static void
fromhdr(Str *o, const Addr *sender, const char *fullname)
{
	Addr a = *sender;
	char *t;

	if (a.domain == NULL)
		a.domain = (char *)mime_sysname();
	a.route = NULL;
	if ((t = addr_text(&S.ar, &a)) == NULL)
		die(EX_DATAERR, "bad sender: %s", lasterr());
	str_adds(o, "From: ");
	mime_mailbox(o, fullname, t, 6);
	str_addc(o, '\n');
}

/*
 * Copy the message to o with Bcc: fields removed and the missing Date:,
 * From: and Message-ID: added at the end of the header; with -t the
 * recipients come from To:, Cc: and Bcc:.
 */
static void
complete(Str *o, const char *m, size_t n, const Addr *sender, const char *fullname)
{
	size_t p = 0, e, f, k;
	int hasfrom = 0, hasdate = 0, hasid = 0, nh = 0, bcc;
	char date[64];

	/* an mbox envelope line is not part of the message */
	if (n > 5 && memcmp(m, "From ", 5) == 0) {
		while (p < n && m[p] != '\n')
			p++;
		p = p < n ? p + 1 : n;
	}
	while (p < n && m[p] != '\n') {
		if ((k = fieldname(m + p, n - p)) == 0)
			break;
		/* the field and its continuation lines */
		for (f = e = p; f < n; f = e + 1) {
			e = f;
			while (e < n && m[e] != '\n')
				e++;
			if (e + 1 >= n || (m[e + 1] != ' ' && m[e + 1] != '\t'))
				break;
		}
		e = e < n ? e + 1 : n;
		if (++nh > LIM_MSGHDRS || e - p > LIM_MSGHDRSIZE)
			die(EX_DATAERR, "message header too large");
		hasfrom |= isname(m + p, k, "from");
		hasdate |= isname(m + p, k, "date");
		hasid |= isname(m + p, k, "message-id");
		bcc = isname(m + p, k, "bcc");
		if (S.xrcpt && (bcc || isname(m + p, k, "to") || isname(m + p, k, "cc")))
			fieldrcpts(m + p, e - p, k);
		if (!bcc) {
			str_addn(o, m + p, e - p);
			if (m[e - 1] != '\n')
				str_addc(o, '\n');
		}
		p = e;
	}
	if (!hasdate) {
		mime_date(date, sizeof date, time(NULL));
		str_fmt(o, "Date: %s\n", date);
	}
	if (!hasfrom)
		fromhdr(o, sender, fullname);
	if (!hasid) {
		str_adds(o, "Message-ID: ");
		mime_msgid(o, mime_sysname());
		str_addc(o, '\n');
	}
	/* a body that began without the empty line still gets one */
	str_addc(o, '\n');
	if (p < n && m[p] == '\n')
		p++;
	str_addn(o, m + p, n - p);
}

/* The envelope sender: -f, $upasname or the login name; "" and <> are the null sender. */
static char *
envsender(const char *f, Addr *a)
{
	const char *s = f ? f : getenv("upasname");
	char *t;

	if (s == NULL || *s == 0) {
		if (f)
			s = "<>";
		else
			s = mime_login();
	}
	if (strcmp(s, "<>") == 0 || strcmp(s, "/dev/null") == 0) {
		if (addr_parse(&S.ar, mime_login(), a) < 0)
			die(EX_NOUSER, "login name %s is no address: %s", mime_login(), lasterr());
		return "/dev/null";
	}
	if (s[0] == '-')
		die(EX_USAGE, "bad sender %s: begins with '-'", s);
	if (addr_parse(&S.ar, s, a) < 0 || (t = addr_text(&S.ar, a)) == NULL)
		die(EX_USAGE, "bad sender %s: %s", s, lasterr());
	return t;
}

static int
deliver(char **args, int nargs, const char *f, const char *fullname)
{
	char *m, *sender, pipefrom[LIM_PATHNAME], **av;
	size_t n;
	Addr a, from;
	Str o = { 0 };
	int i, ac, st;

	sender = envsender(f, &from);
	for (i = 0; i < nargs; i++) {
		if (args[i][0] == '-')
			die(EX_USAGE, "refused recipient %s: begins with '-'", args[i]);
		if (addr_parse(&S.ar, args[i], &a) < 0)
			die(EX_USAGE, "bad recipient %s: %s", args[i], lasterr());
		addrcpt(&a, EX_USAGE);
	}
	m = readmsg(&n);
	complete(&o, m, n, &from, fullname);
	free(m);
	if (S.nrcpt == 0)
		die(EX_USAGE, "no recipients");
	setenv("upasname", sender, 1);
	av = xmalloc((S.nrcpt + 3) * sizeof av[0]);
	ac = 0;
	av[ac++] = mime_pipefrom(pipefrom, sizeof pipefrom) ? pipefrom : "send";
	av[ac++] = "-b";
	for (i = 0; i < S.nrcpt; i++)
		av[ac++] = S.rcpt[i];
	av[ac] = NULL;
	if ((st = mime_run(av, o.p, o.n)) < 0)
		die(EX_UNAVAILABLE, "%s: %s", av[0], lasterr());
	str_free(&o);
	free(av);
	return st;
}

/* Options Postfix's sendmail takes with an argument; all others are flags. */
static const char argopts[] = "ABCFLNORVXbefhopqr";

int
sendmail_main(int argc, char **argv)
{
	char *f = NULL, *fullname = getenv("NAME"), *arg, *p;
	int mode = DELIVER, i, c;
	char *qargv[] = { "runq", "-a", "-", "remotemail", NULL };
	/* -bs: the SMTP server on our stdin and stdout, as a trusted local peer */
	char *sargv[] = { "smtpd", "-L", NULL };

	memset(&S, 0, sizeof S);
	S.dot = 1;
	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		/* a bare -q runs the queue; -qTIME is the daemon's interval */
		if (strcmp(argv[i], "-q") == 0) {
			mode = RUNQ;
			continue;
		}
		for (p = argv[i] + 1; (c = *p) != 0; p++) {
			if (strchr(argopts, c) == NULL) {
				switch (c) {
				case 'i':
					S.dot = 0;
					break;
				case 't':
					S.xrcpt = 1;
					break;
				case 'I':
					mode = NOTHING;
					break;
				case 'G': case 'U': case 'c': case 'm': case 'n': case 'v': case 'x':
					break;
				default:
					usage();
				}
				continue;
			}
			if (p[1])
				arg = p + 1;
			else if (i + 1 < argc)
				arg = argv[++i];
			else
				usage();
			switch (c) {
			case 'b':
				if (strcmp(arg, "m") == 0)
					mode = DELIVER;
				else if (strcmp(arg, "p") == 0)
					mode = LISTQ;
				else if (strcmp(arg, "s") == 0)
					mode = SMTP;
				else if (strcmp(arg, "i") == 0 || strcmp(arg, "h") == 0 || strcmp(arg, "H") == 0)
					mode = NOTHING;	/* aliases are read in place; there is no host status */
				else
					usage();
				break;
			case 'B':
				if (strcmp(arg, "7BIT") && strcmp(arg, "8BITMIME"))
					usage();
				break;
			case 'f':
			case 'r':
				f = arg;
				break;
			case 'F':
				fullname = arg;
				break;
			case 'o':
				if (arg[0] == 'i')
					S.dot = 0;
				break;
			case 'q':
				if (arg[0] < '0' || arg[0] > '9')
					usage();
				mode = NOTHING;
				break;
			}
			break;
		}
	}
	argc -= i;
	argv += i;
	if (fullname && strlen(fullname) > LIM_FULLNAME) {
		if (fullname == getenv("NAME"))
			fullname = NULL;
		else
			die(EX_USAGE, "full name longer than %d bytes", LIM_FULLNAME);
	}
	if (mode != DELIVER && argc > 0)
		usage();
	switch (mode) {
	case LISTQ:
		if (queue_list(stdout, NULL) < 0)
			die(EX_UNAVAILABLE, "%s", lasterr());
		fflush(stdout);
		return 0;
	case RUNQ:
		proc_exec(qargv);
	case SMTP:
		proc_exec(sargv);
	case NOTHING:
		return 0;
	}
	return deliver(argv, argc, f, fullname);
}
