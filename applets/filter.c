/*
 * filter: file a message by regular expressions (filter(1)).  Each regexp
 * is tried against the sender, with -h also against the header, with -b
 * against the whole message; the first match picks its file (\0-\9 and &
 * filled in from the match), no match the mailbox.  Reads the message as
 * rmail does, so a pipeto file can run it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "applet.h"
#include "mbox.h"
#include "regexp.h"
#include "rewrite.h"

/* The file name template with a match's text substituted. */
static void
regsub(Str *out, const char *tmpl, const char *s, Rematch *m)
{
	int i;

	for (; *tmpl; tmpl++) {
		if (*tmpl == '\\' && tmpl[1] >= '0' && tmpl[1] <= '9') {
			i = *++tmpl - '0';
			if (m[i].so >= 0)
				str_addn(out, s + m[i].so, m[i].eo - m[i].so);
		} else if (*tmpl == '\\' && tmpl[1] == '\\') {
			str_addc(out, *++tmpl);
		} else if (*tmpl == '&') {
			str_addn(out, s + m[0].so, m[0].eo - m[0].so);
		} else
			str_addc(out, *tmpl);
	}
	str_adds(out, "");
}

static size_t
headerlen(const char *p, size_t n)
{
	const char *e;

	if (n > 0 && p[0] == '\n')
		return 0;
	if ((e = memmem(p, n, "\n\n", 2)) != NULL)
		return e + 1 - p;
	return n;
}

int
filter_main(int argc, char **argv)
{
	int c, flagn = 0, header = 0, body = 0, i;
	Str in = { 0 }, sender = { 0 }, file = { 0 };
	char buf[65536], *msg, *snd, *bang;
	size_t skip, n, hlen;
	Rematch m[10];
	Regex *re;
	ssize_t r;

	while ((c = getopt(argc, argv, "nbh")) != -1)
		switch (c) {
		case 'n': flagn = 1; break;
		case 'h': header = 1; break;
		case 'b': header = body = 1; break;
		default: usage();
		}
	argc -= optind;
	argv += optind;
	if (argc < 2 || argc % 2 != 0)
		usage();
	for (;;) {
		r = read(0, buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die(EX_IOERR, "reading the message:");
		if (r == 0)
			break;
		if (in.n + r > (size_t)LIM_MSG)
			die(EX_DATAERR, "message too long");
		str_addn(&in, buf, r);
	}
	str_adds(&in, "");
	skip = rw_fromlines(in.p, in.n, &sender);
	msg = in.p + skip;
	n = in.n - skip;
	/* the first hop is this system */
	snd = sender.p;
	if ((bang = strchr(snd, '!')) != NULL)
		snd = bang + 1;
	if (*snd == 0)
		snd = getenv("upasname") && *getenv("upasname") ? getenv("upasname") : "postmaster";
	hlen = headerlen(msg, n);
	str_adds(&file, argv[1]);
	for (i = 2; i < argc; i += 2) {
		if ((re = re_comp(argv[i], 0)) == NULL) {
			warn("%s: %s", argv[i], lasterr());
			continue;
		}
		if (re_exec(re, snd, strlen(snd), m, nelem(m))) {
			str_reset(&file);
			regsub(&file, argv[i + 1], snd, m);
			re_free(re);
			break;
		}
		if ((header || body) && re_exec(re, msg, body ? n : hlen, m, nelem(m))) {
			str_reset(&file);
			regsub(&file, argv[i + 1], msg, m);
			re_free(re);
			break;
		}
		re_free(re);
	}
	/* the name may hold text matched in the message: it must not climb */
	if (!path_clean(file.p)) {
		warn("%s: bad mailbox name", file.p);
		return EX_DATAERR;
	}
	if (flagn) {
		printf("%s\n", file.p);
	} else if (mb_append(file.p, snd, time(NULL), msg, n) < 0) {
		int temp = err_temporary(errno);
		warn("%s: %s", file.p, lasterr());
		return temp ? EX_TEMPFAIL : EX_CANTCREAT;
	} else
		logmsg("mail", "delivered %s From %s %zu", argv[0], snd, n);
	str_free(&in);
	str_free(&sender);
	str_free(&file);
	return 0;
}
