/*
 * send: deliver a message read on stdin to addresses, through the rewrite
 * rules (send(8)): local mailboxes, forward and pipeto files, aliases,
 * translators, and commands such as the queue for remote mail.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "applet.h"
#include "addr.h"
#include "bounce.h"
#include "mbox.h"
#include "mimeenc.h"
#include "msg.h"
#include "rewrite.h"

typedef struct Send {
	int flagn, flagx, debug, dotend, rmail, noto, interactive;
	int background;		/* the detached child running | deliveries */
	Arena ar;
	char *sender;		/* envelope sender; "/dev/null" for none */
	char *login;		/* who runs send: dead.letter goes to box/login */
	time_t when;
	char date[64];		/* "Mon Jan  2 15:04:05 UTC 2006" */
	int bulk;
	/* the message as delivered, without a From line */
	char *msg;
	size_t n;
	size_t maplen;		/* msg is mmapped from a spill file */
	/* what its header said */
	int received, havedate, havemime, haveto, havefrom, hdrfirst, eight;
	/* failures */
	Str errs;
	int nperm, ntemp, permcode;
} Send;

static Send S;

static void
dprint(const char *fmt, ...)
{
	va_list ap;

	if (!S.debug)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

static char *
loginname(void)
{
	struct passwd *pw;
	char buf[32];
	const char *s;

	if ((s = getenv("USER")) != NULL && name_ok(s))
		return arena_strdup(&S.ar, s);
	if ((s = getenv("LOGNAME")) != NULL && name_ok(s))
		return arena_strdup(&S.ar, s);
	if ((pw = getpwuid(getuid())) != NULL && name_ok(pw->pw_name))
		return arena_strdup(&S.ar, pw->pw_name);
	snprintf(buf, sizeof buf, "%u", (unsigned)getuid());
	return arena_strdup(&S.ar, buf);
}

static int
fieldis(const char *p, size_t n, const char *name)
{
	size_t k = strlen(name);

	return n > k && strncasecmp(p, name, k) == 0 && p[k] == ':';
}

/* The few header fields send cares about, from a scan of the header block. */
static void
scanheader(const char *p, size_t n)
{
	const char *e, *end = p + n, *v;
	size_t len;
	int first = 1;

	while (p < end) {
		e = memchr(p, '\n', end - p);
		len = (e ? e : end) - p;
		if (len == 0 || (len == 1 && *p == '\r'))
			break;
		if (*p != ' ' && *p != '\t') {
			for (v = p; v < p + len && *v > ' ' && *v < 0x7f && *v != ':'; v++)
				;
			if (v == p || v == p + len || *v != ':')
				break;
			if (first)
				S.hdrfirst = 1;
			S.received += fieldis(p, len, "received");
			S.havedate |= fieldis(p, len, "date");
			S.havemime |= fieldis(p, len, "mime-version");
			S.haveto |= fieldis(p, len, "to");
			S.havefrom |= fieldis(p, len, "from");
			if (fieldis(p, len, "precedence")) {
				for (v++; v < p + len && (*v == ' ' || *v == '\t'); v++)
					;
				if ((size_t)(p + len - v) >= 4 && (strncasecmp(v, "bulk", 4) == 0 ||
				    strncasecmp(v, "junk", 4) == 0 || strncasecmp(v, "list", 4) == 0))
					S.bulk = 1;
			}
		}
		first = 0;
		if (e == NULL)
			break;
		p = e + 1;
	}
}

static int
eightbit(const char *p, size_t n)
{
	for (; n > 0; p++, n--)
		if (*p & 0x80)
			return 1;
	return 0;
}

/* Where a line holding only "." starts, looking from about off on; -1 if none. */
static ssize_t
dotline(Str *in, size_t off)
{
	size_t i = off > 2 ? off - 2 : 0;

	if (in->n >= 2 && memcmp(in->p, ".\n", 2) == 0)
		return 0;
	for (; i + 3 <= in->n; i++)
		if (memcmp(in->p + i, "\n.\n", 3) == 0)
			return i + 1;
	return -1;
}

/* Read until EOF, or a line "." with -i: at most LIM_MSG octets. */
static int
readall(int fd, Str *in, size_t max)
{
	char buf[8192];
	ssize_t r, e;

	for (;;) {
		if (in->n >= max)
			return 1;
		r = read(fd, buf, sizeof buf < max - in->n ? sizeof buf : max - in->n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die(EX_IOERR, "reading the message:");
		if (r == 0)
			return 0;
		str_addn(in, buf, r);
		if (S.dotend && (e = dotline(in, in->n - r)) >= 0) {
			in->n = e;
			in->p[e] = 0;
			return 0;
		}
	}
}

/*
 * Spill a large message to an unlinked file under ROOT/tmp and map it, so
 * a 128 MiB message costs page cache rather than heap: head, then the n
 * octets at p, then (from >= 0) the rest of that descriptor.
 */
static int
spillfd(Str *head, const char *p, size_t n, int from)
{
	char path[LIM_PATHNAME], buf[65536];
	size_t total = head->n + n;
	ssize_t r;
	int fd;
	void *m;

	if (upas_path(path, sizeof path, "tmp", "sendXXXXXX", NULL) < 0)
		return -1;
	if ((fd = mkstemp(path)) < 0) {
		seterr("%s:", path);
		return -1;
	}
	unlink(path);
	if (fd_writeall(fd, head->p, head->n) < 0 || fd_writeall(fd, p, n) < 0) {
		seterr("spill file:");
		close(fd);
		return -1;
	}
	while (from >= 0) {
		r = read(from, buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die(EX_IOERR, "reading the message:");
		if (r == 0)
			break;
		S.eight |= eightbit(buf, r);
		if ((total += r) > (size_t)LIM_MSG)
			die(EX_DATAERR, "message too long");
		if (fd_writeall(fd, buf, r) < 0)
			die(EX_TEMPFAIL, "spill file:");
	}
	if (total == 0 || (m = mmap(NULL, total, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED) {
		seterr("mmap:");
		close(fd);
		return -1;
	}
	close(fd);
	S.msg = m;
	S.n = S.maplen = total;
	return 0;
}

static int
spillbuf(Str *head, const char *p, size_t n)
{
	return spillfd(head, p, n, -1);
}

static char *to;	/* the To: line, built from the arguments or the expansion */

static void
addto(Str *s, const char *a, int *col)
{
	if (strncmp(a, "local!", 6) == 0)
		a += 6;
	if (*col > 4) {
		str_adds(s, ",");
		*col += 1;
		if (*col + strlen(a) > 72) {
			str_adds(s, "\n\t");
			*col = 8;
		} else {
			str_addc(s, ' ');
			*col += 1;
		}
	}
	str_adds(s, a);
	*col += strlen(a);
}

/* The header fields send adds: Date, MIME for 8-bit text, To, From. */
static void
addheaders(Str *h, int body8)
{
	char d[64];

	if (S.rmail)
		return;
	if (!S.havedate) {
		mime_date(d, sizeof d, S.when);
		str_fmt(h, "Date: %s\n", d);
	}
	if (!S.havemime && body8)
		str_adds(h, "MIME-Version: 1.0\nContent-Type: text/plain; charset=\"UTF-8\"\n"
		    "Content-Transfer-Encoding: 8bit\n");
	if (to && !S.noto && !S.haveto)
		str_fmt(h, "%s\n", to);
	if (!S.havefrom)
		str_fmt(h, "From: %s\n", strcmp(S.sender, "/dev/null") == 0 ? "Postmaster" : S.sender);
}

/*
 * The date of rmail's leading "From sender date [remote from sys]" line,
 * the time the message entered the mail system: -1 when it does not parse.
 */
static time_t
envdate(const char *p, size_t n)
{
	const char *e, *w[64];
	size_t len[64];
	int nw;

	if (n < 5 || strncmp(p, "From ", 5) != 0 || (e = memchr(p, '\n', n)) == NULL)
		return -1;
	nw = rw_words1(p, e, w, len, 64);
	if (nw >= 5 && len[nw - 2] == 6 && strncmp(w[nw - 2], "remote", 6) == 0 && len[nw - 1] == 4 &&
	    strncmp(w[nw - 1], "from", 4) == 0)
		nw -= 2;
	else if (nw >= 6 && len[nw - 3] == 6 && strncmp(w[nw - 3], "remote", 6) == 0 && len[nw - 2] == 4 &&
	    strncmp(w[nw - 2], "from", 4) == 0)
		nw -= 3;
	if (nw < 3)
		return -1;
	return msg_date(w[2], w[nw - 1] + len[nw - 1] - w[2]);
}

/*
 * Read the message: rmail From lines, the header scan, then the message
 * with send's header fields in front, in memory or spilled.
 */
static void
readmsg(void)
{
	Str in = { 0 }, sender = { 0 }, h = { 0 };
	size_t skip = 0, max = S.dotend ? LIM_MSG : LIM_MSGMEM;
	time_t when;
	int more;

	more = readall(0, &in, max);
	str_adds(&in, "");
	if (S.rmail && (skip = rw_fromlines(in.p, in.n, &sender)) > 0 && (when = envdate(in.p, skip)) >= 0)
		S.when = when;
	if (sender.n && sender.p[0] && !S.sender)
		S.sender = arena_strdup(&S.ar, sender.p);
	str_free(&sender);
	scanheader(in.p + skip, in.n - skip);
	S.eight = eightbit(in.p + skip, in.n - skip);
	if (more) {
		/* the 8-bit check must see the whole body: spill first, then decide */
		str_adds(&h, "");
		if (spillfd(&h, in.p + skip, in.n - skip, 0) == 0) {
			str_free(&h);
			str_free(&in);
			return;
		}
		str_free(&h);
		readall(0, &in, LIM_MSG + 4096);
		S.eight = eightbit(in.p + skip, in.n - skip);
	}
	if (in.n - skip > LIM_MSG)
		die(EX_DATAERR, "message too long");
	S.msg = xmalloc(in.n - skip + 1);
	memcpy(S.msg, in.p + skip, in.n - skip);
	S.n = in.n - skip;
	str_free(&in);
}

/* The final message: added header fields, a blank line when the input had no header, the input. */
static void
finishmsg(void)
{
	Str h = { 0 };
	char *m;
	size_t n;

	str_adds(&h, "");
	addheaders(&h, S.eight);
	if (h.n && !S.hdrfirst && (S.n == 0 || S.msg[0] != '\n'))
		str_addc(&h, '\n');
	if (h.n == 0) {
		str_free(&h);
		return;
	}
	if (S.maplen) {
		/* a spilled message gets a new spill file with the header in front */
		m = S.msg;
		n = S.maplen;
		S.maplen = 0;
		if (spillbuf(&h, m, n) < 0)
			die(EX_TEMPFAIL, "spill file: %s", lasterr());
		munmap(m, n);
		str_free(&h);
		return;
	} else {
		m = xmalloc(h.n + S.n + 1);
		memcpy(m, h.p, h.n);
		memcpy(m + h.n, S.msg, S.n);
		free(S.msg);
	}
	S.msg = m;
	S.n += h.n;
	str_free(&h);
}

/*
 * Run argv with in as stdin (-1: /dev/null), collecting its output and
 * error text (bounded); as uid when running as root and uid is not -1,
 * with upasname set when name is. Exit status, or -1 if it could not start.
 */
static int
runcmd(char **argv, int in, Str *out, Str *err, uid_t uid, gid_t gid, const char *name)
{
	int po[2], pe[2], st, nopen = 2, i;
	struct pollfd pf[2];
	char buf[4096];
	ssize_t r;
	pid_t pid;

	if (pipe2(po, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(pe, O_CLOEXEC) < 0) {
		close(po[0]);
		close(po[1]);
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) < 0) {
		close(po[0]), close(po[1]), close(pe[0]), close(pe[1]);
		return -1;
	}
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		if (in < 0)
			in = open("/dev/null", O_RDONLY);
		if (in < 0 || dup2(in, 0) < 0 || dup2(po[1], 1) < 0 || dup2(pe[1], 2) < 0)
			_exit(EX_OSERR);
		if (uid != (uid_t)-1 && geteuid() == 0 && priv_become(uid, gid) < 0)
			die(EX_OSERR, "%s", lasterr());
		if (name)
			setenv("upasname", name, 1);
		proc_exec(argv);
	}
	close(po[1]);
	close(pe[1]);
	pf[0].fd = po[0];
	pf[1].fd = pe[0];
	while (nopen > 0) {
		pf[0].events = pf[1].events = POLLIN;
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (i = 0; i < 2; i++) {
			if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			r = read(pf[i].fd, buf, sizeof buf);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				close(pf[i].fd);
				pf[i].fd = -1;
				nopen--;
				continue;
			}
			if (i == 0 && out && out->n < LIM_RWOUT)
				str_addn(out, buf, r);
			if (i == 1 && err && err->n < LIM_RWOUT)
				str_addn(err, buf, r);
		}
	}
	for (i = 0; i < 2; i++)
		if (pf[i].fd >= 0)
			close(pf[i].fd);
	st = proc_wait(pid);
	if (err)
		str_adds(err, "");
	return st;
}

static int
bindrun(Binder *b, char **argv, Str *out, Str *err)
{
	int st;

	/* the usual translator is our own applet: no process for it */
	if (strcmp(argv[0], "aliasmail") == 0) {
		if ((st = aliasmail_expand(argv, out)) != 0)
			str_adds(err, lasterr());
		str_adds(err, "");
		dprint("aliasmail: status %d\n", st);
		return st;
	}
	st = runcmd(argv, -1, out, err, (uid_t)-1, 0, NULL);

	dprint("run %s: status %d\n", argv[0], st);
	return st;
}

static char *
userof(Arena *ar, const char *addr)
{
	const char *u = strrchr(addr, '!');
	char *s, *w;

	s = arena_strdup(ar, u ? u + 1 : addr);
	if (s[0] == '"') {
		for (w = s; w[1] && w[1] != '"'; w++)
			w[0] = w[1];
		*w = 0;
	}
	return s;
}

/* The box directory of a mailbox path, and a file in it. */
static char *
boxfile(Arena *ar, const char *mbox, const char *file)
{
	const char *sl = strrchr(mbox, '/');
	size_t k = sl ? (size_t)(sl - mbox) : 0;
	char *p = arena_alloc(ar, k + strlen(file) + 2);

	memcpy(p, mbox, k);
	p[k] = '/';
	strcpy(p + k + 1, file);
	return p;
}

/*
 * A >> destination (upas's expand_local): a path with ".." is unknown; a
 * forward file names other addresses; an executable pipeto file takes the
 * message; else the box directory must exist for the user to be known.
 */
static int
bindlocal(Binder *b, Dest *d, Str *fwd)
{
	char *path = d->repl1, *f, *text;
	struct stat st;
	size_t n;
	char **v;

	d->user = userof(b->ar, d->addr);
	if (path[0] != '/' || !path_clean(path)) {
		d->status = D_UNKNOWN;
		return 0;
	}
	if (fwd && (text = readfileat(AT_FDCWD, boxfile(b->ar, path, "forward"), LIM_FORWARD, &n)) != NULL) {
		str_addn(fwd, text, n);
		free(text);
		dprint("forward %s: %s\n", d->addr, fwd->p);
		return 1;
	}
	f = boxfile(b->ar, path, "pipeto");
	if (lstat(f, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111)) {
		v = arena_alloc(b->ar, 4 * sizeof *v);
		v[0] = f;
		v[1] = d->addr;
		v[2] = path;
		v[3] = NULL;
		d->pipeto = v;
		d->repl1 = f;
		d->status = D_PIPETO;
		return 0;
	}
	f = boxfile(b->ar, path, ".");
	f[strlen(f) - 2] = 0;
	if (lstat(f, &st) == 0 && S_ISDIR(st.st_mode))
		d->status = D_CAT;
	else
		d->status = D_UNKNOWN;
	return 0;
}

/* One failure: logged, and kept for the report at the end. */
static void
fail(Dest *d, const char *why, int temp, int code)
{
	Dest *x;

	for (x = d; x; x = x->same) {
		if (!S.flagn)
			logmsg("mail", "error%s %s From %s %s: %s", temp ? "+" : "", x->addr, S.sender, S.date, why);
		str_fmt(&S.errs, "mail from %s to %s failed: %s\n", S.sender, x->addr, why);
		if (S.flagn)
			printf("%s: %s\n", why, x->addr);
	}
	if (temp)
		S.ntemp++;
	else if (S.nperm++ == 0)
		S.permcode = code;
}

/* The first line of a command's error text, for the report. */
static const char *
firstline(Arena *ar, const char *s)
{
	size_t k;

	if (s == NULL || *s == 0)
		return NULL;
	k = strcspn(s, "\n");
	return arena_strndup(ar, s, k);
}

static void
delivered(const char *rcvr, const char *how)
{
	logmsg("mail", "%s %s From %s %s %zu", how, rcvr, S.sender, S.date, S.n);
}

/*
 * Append to a local mailbox.  As root, the append runs in a child that has
 * become the owner of the box directory, so what it creates belongs to the
 * user and a symlink the user planted cannot make root write elsewhere.
 */
static void
catmail(Dest *d)
{
	char *dir = boxfile(&S.ar, d->repl1, "."), ebuf[LIM_ERR];
	struct stat st;
	uid_t uid;
	gid_t gid;
	int p[2], st2, temp;
	ssize_t r;
	pid_t pid;

	dir[strlen(dir) - 2] = 0;
	if (lstat(d->repl1, &st) == 0 && S_ISLNK(st.st_mode)) {
		fail(d, "mailbox is a symbolic link", 0, EX_NOPERM);
		return;
	}
	if (geteuid() == 0 && priv_owner(dir, &uid, &gid) < 0) {
		fail(d, lasterr(), 0, EX_NOPERM);
		return;
	}
	/* not root, or a root-owned box: we are who writes it, no process needed */
	if (geteuid() != 0 || (uid == 0 && gid == getegid())) {
		if (mb_append(d->repl1, S.sender, S.when, S.msg, S.n) < 0) {
			temp = err_temporary(errno);
			fail(d, lasterr(), temp, EX_CANTCREAT);
			return;
		}
		delivered(d->user, "delivered");
		return;
	}
	if (pipe2(p, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
		fail(d, "out of processes or pipes", 1, EX_TEMPFAIL);
		return;
	}
	if (pid == 0) {
		close(p[0]);
		if (priv_become(uid, gid) < 0) {
			fd_writeall(p[1], lasterr(), strlen(lasterr()));
			_exit(EX_OSERR);
		}
		if (mb_append(d->repl1, S.sender, S.when, S.msg, S.n) < 0) {
			temp = err_temporary(errno);
			fd_writeall(p[1], lasterr(), strlen(lasterr()));
			_exit(temp ? EX_TEMPFAIL : EX_CANTCREAT);
		}
		_exit(0);
	}
	close(p[1]);
	r = 0;
	while ((size_t)r < sizeof ebuf - 1) {
		ssize_t k = read(p[0], ebuf + r, sizeof ebuf - 1 - r);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		r += k;
	}
	ebuf[r] = 0;
	close(p[0]);
	st2 = proc_wait(pid);
	if (st2 != 0) {
		fail(d, r ? ebuf : "mailbox append failed", st2 == EX_TEMPFAIL || st2 > 128, st2 == EX_TEMPFAIL ? EX_TEMPFAIL : EX_CANTCREAT);
		return;
	}
	delivered(d->user, "delivered");
}

/* The message as a command reads it: "From sender date remote from sys" first, as upas. */
static int
msgfd(void)
{
	char path[LIM_PATHNAME];
	Str h = { 0 };
	int fd;

	str_fmt(&h, "From %s %s remote from %s\n", S.sender, S.date, rw_sysname());
	if (upas_path(path, sizeof path, "tmp", "sendXXXXXX", NULL) < 0 || (fd = mkstemp(path)) < 0) {
		str_free(&h);
		return -1;
	}
	unlink(path);
	if (fd_writeall(fd, h.p, h.n) < 0 || fd_writeall(fd, S.msg, S.n) < 0 || lseek(fd, 0, SEEK_SET) < 0) {
		close(fd);
		fd = -1;
	}
	str_free(&h);
	return fd;
}

/*
 * Who a pipeto runs as when we are root: the owner of the box directory
 * holding it (a symlink refused), so it can file the user's mail; never root
 * or root's group: a root-owned box's pipeto runs as nobody.
 */
static int
pipetouser(const char *pipeto, uid_t *uid, gid_t *gid)
{
	char dir[LIM_PATHNAME], *sl;

	snprintf(dir, sizeof dir, "%s", pipeto);
	if ((sl = strrchr(dir, '/')) != NULL)
		*sl = 0;
	if (priv_owner(dir, uid, gid) < 0)
		return -1;
	if (*uid == 0)
		*uid = NOBODY;
	if (*uid == NOBODY)
		*gid = NOBODY;	/* root's group, for any other user: priv_become */
	return 0;
}

static void
pipemail(Dest *d, char **argv, int pipeto)
{
	Str err = { 0 };
	uid_t uid = (uid_t)-1;
	gid_t gid = 0;
	const char *why;
	Dest *x;
	int fd, st;

	if (pipeto && geteuid() == 0 && pipetouser(argv[0], &uid, &gid) < 0) {
		fail(d, lasterr(), 0, EX_NOPERM);
		return;
	}
	if ((fd = msgfd()) < 0) {
		fail(d, "cannot write a temporary file", 1, EX_TEMPFAIL);
		return;
	}
	st = runcmd(argv, fd, NULL, &err, uid, gid, pipeto ? d->user : NULL);
	close(fd);
	dprint("%s: status %d\n", argv[0], st);
	if (st != 0) {
		why = firstline(&S.ar, err.p);
		if (why == NULL)
			why = st < 0 ? "cannot run the mailer" : "the mailer failed";
		fail(d, why, st < 0 || st == EX_TEMPFAIL || st > 128, EX_UNAVAILABLE);
	} else
		for (x = d; x; x = x->same)
			delivered(pipeto ? x->user : x->addr, pipeto ? "delivered" : "remote");
	str_free(&err);
}

/* A word quoted for printing when it would not read back as one word. */
static void
printargv(char **v)
{
	int i;

	for (i = 0; v[i]; i++) {
		if (*v[i] && strcspn(v[i], " \t\n'\"") == strlen(v[i]))
			printf("%s%s", i ? " " : "", v[i]);
		else
			printf("%s'%s'", i ? " " : "", v[i]);
	}
	printf("\n");
}

static void
deliver(Dest *d)
{
	char **argv;
	const char *why;
	Dest *x;

	switch (d->status) {
	case D_CAT:
	case D_DISCARD:
		if (S.flagx) {
			printf("%s\n", d->addr);
			return;
		}
		if (S.flagn) {
			printf(">> %s\n", d->repl1);
			return;
		}
		if (d->status == D_DISCARD)
			delivered(d->addr, "delivered");
		else
			catmail(d);
		return;
	case D_PIPETO:
		if (S.flagx) {
			printf("%s\n", d->addr);
			return;
		}
		if (S.flagn) {
			printargv(d->pipeto);
			return;
		}
		pipemail(d, d->pipeto, 1);
		return;
	case D_PIPE:
		if (rw_bundleargv(&S.ar, d, &argv) <= 0) {
			fail(d, "bad command in rewrite rule", 0, EX_CONFIG);
			return;
		}
		if (S.flagx) {
			for (x = d; x; x = x->same)
				printf("%s\n", x->addr);
			return;
		}
		if (S.flagn) {
			printargv(argv);
			return;
		}
		pipemail(d, argv, 0);
		return;
	}
	why = rw_status(d->status);
	if (d->status == D_FAIL && d->err)
		why = d->err;
	else if ((d->status == D_TRANSLATE || d->status == D_NOFORWARD) && firstline(&S.ar, d->err))
		why = firstline(&S.ar, d->err);
	fail(d, why, d->temp, d->status == D_UNKNOWN || d->status == D_INVALID || d->status == D_SYNTAX ?
	    EX_NOUSER : EX_UNAVAILABLE);
}

static void
deadletter(void)
{
	char path[LIM_PATHNAME];
	int fd;

	if (upas_path(path, sizeof path, "box", S.login, "dead.letter", NULL) < 0)
		return;
	/* created 0660 whatever the umask, as upas does */
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0660)) >= 0) {
		fchmod(fd, 0660);
		close(fd);
	} else if (errno == EEXIST)
		fd = 0;
	if (fd < 0 || mb_append(path, S.sender, S.when, S.msg, S.n) < 0)
		fprintf(stderr, "send: cannot save the message in %s: %s\n", path, fd < 0 ? strerror(errno) : lasterr());
	else
		fprintf(stderr, "saved in %s\n", path);
}

/*
 * Failures are reported as upas does: rmail to the caller, interactive to
 * the user, else a bounce; in the background a temporary failure bounces
 * too, as nothing would try again.
 */
static int
report(void)
{
	if (S.nperm == 0 && S.ntemp == 0)
		return 0;
	if (S.flagn)
		return S.ntemp ? EX_TEMPFAIL : S.permcode;
	str_adds(&S.errs, "");
	if (S.rmail)
		fprintf(stderr, "%s%s", S.nperm ? "mail refused: " : "Mail ", S.errs.p);
	else if (S.interactive) {
		fprintf(stderr, "Mail %s", S.errs.p);
		deadletter();
	} else {
		fprintf(stderr, "%s", S.errs.p);
		if ((S.nperm || S.background) && bounce_send(S.sender, S.errs.p, S.msg, S.n) < 0)
			warn("cannot bounce: %s", lasterr());
	}
	return S.ntemp ? EX_TEMPFAIL : S.permcode;
}

/*
 * The | deliveries, in a child detached from the caller (new session,
 * stdin, stdout and stderr on /dev/null) that reports its own failures
 * by bounce; the caller returns once the child has forked away.  When no
 * process can be had they run here.
 */
static void
background(Dest *bound)
{
	Dest *d;
	pid_t pid;
	int fd;

	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) > 0) {
		proc_wait(pid);
		return;
	}
	if (pid == 0) {
		/* the grandchild runs on; its parent exits at once so no zombie is left */
		if ((pid = fork()) > 0)
			_exit(0);
		setsid();
		if ((fd = open("/dev/null", O_RDWR)) >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
			if (fd > 2)
				close(fd);
		}
		str_reset(&S.errs);
		S.nperm = S.ntemp = 0;
		S.background = 1;
	}
	for (d = bound; d; d = d->next)
		if (d->status == D_PIPE)
			deliver(d);
	if (pid == 0 || S.background)
		_exit(report());
}

static void
mkdate(void)
{
	struct tm tm;

	localtime_r(&S.when, &tm);
	strftime(S.date, sizeof S.date, "%a %b %e %H:%M:%S %Z %Y", &tm);
}

/* The To: line: the arguments, or the expansion when a translator asked for it. */
static void
mkto(char **argv, int argc, Dest *bound, int nosummary)
{
	Str s = { 0 };
	Dest *d, *x;
	char *a;
	int i, col = 4;

	str_adds(&s, "To: ");
	if (nosummary) {
		for (d = bound; d; d = d->next)
			for (x = d; x; x = x->same)
				addto(&s, x->addr, &col);
	} else
		for (i = 0; i < argc; i++)
			if ((a = rw_addr(&S.ar, argv[i])) != NULL)
				addto(&s, a, &col);
	if (col > 4)
		to = arena_strdup(&S.ar, s.p);
	str_free(&s);
}

int
send_main(int argc, char **argv)
{
	Binder b = { 0 };
	Rewrite rw;
	Rwmsg rm;
	Dest *bound, *d;
	const char *s;
	int c, i, bg, npipe = 0;

	/* an applet may run again in a child of this process: start afresh */
	memset(&S, 0, sizeof S);
	to = NULL;
	while ((c = getopt(argc, argv, "#bdirx")) != -1)
		switch (c) {
		case '#': S.flagn = 1; break;
		case 'b': S.noto = 1; break;
		case 'd': S.debug = 1; break;
		case 'i': S.dotend = 1; break;
		case 'r': S.rmail = 1; break;
		case 'x': S.flagn = S.flagx = 1; break;
		default: usage();
		}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	for (i = 0; i < argc; i++)
		if (strpbrk(argv[i], "\r\n"))
			die(EX_DATAERR, "illegal characters in destination");
	signal(SIGPIPE, SIG_IGN);
	S.when = time(NULL);
	S.login = loginname();
	S.interactive = S.dotend || isatty(0);
	if (S.rmail)
		S.noto = 1;
	if (!S.flagn)
		readmsg();
	mkdate();
	if (rw_load(&rw, NULL) < 0)
		die(EX_CONFIG, "%s", lasterr());
	if (S.sender == NULL && (s = getenv("upasname")) != NULL && *s)
		S.sender = arena_strdup(&S.ar, s);
	if (S.sender == NULL || *S.sender == 0)
		S.sender = S.login;
	if (strcmp(S.sender, "/dev/null") == 0 || strcmp(S.sender, "<>") == 0)
		S.sender = "/dev/null", S.bulk = 1;
	else if ((S.sender = rw_addr(&S.ar, S.sender)) == NULL)
		die(EX_DATAERR, "%sbad sender address: %s", S.rmail ? "mail refused: " : "", lasterr());
	else
		S.sender = (char *)rw_unequiv(&rw, S.sender);
	rm.sender = S.sender;
	rm.bulk = S.bulk;
	b.rw = &rw;
	b.ar = &S.ar;
	b.msg = &rm;
	b.authorized = !S.rmail;
	b.run = bindrun;
	b.local = bindlocal;
	if (S.received > LIM_RECEIVED) {
		for (i = 0; i < argc; i++) {
			d = arena_alloc(&S.ar, sizeof *d);
			memset(d, 0, sizeof *d);
			d->addr = argv[i];
			fail(d, "possible forward loop", 0, EX_DATAERR);
		}
		return report();
	}
	bound = rw_bind(&b, argv, argc);
	if (S.debug)
		for (d = bound; d; d = d->next)
			dprint("%s: %d %s %s\n", d->addr, d->status, d->repl1 ? d->repl1 : "",
			    d->repl2 ? d->repl2 : "");
	if (!S.flagn) {
		mkto(argv, argc, bound, b.nosummary);
		finishmsg();
	}
	/* upas's "lesstedious": when nobody waits on the status, commands run detached */
	bg = !S.rmail && !S.interactive && !S.flagn;
	for (d = bound; d; d = d->next)
		if (!bg || d->status != D_PIPE)
			deliver(d);
		else
			npipe++;
	fflush(stdout);
	if (npipe)
		background(bound);
	rw_free(&rw);
	return report();
}
