/*
 * The IMAP client that keeps an account's mailbox as a local copy (RFC 3501;
 * 2177 IDLE, 4315 UID EXPUNGE when offered), for fs's /imap/ and /imaps/.
 *
 * The copy is a Maildir whose messages carry "-i", the UIDVALIDITY and the
 * UID in hex in their file names; COPY/.imap holds the UIDVALIDITY and, for
 * each UID, the flags both sides agreed on at the last sync. A flag that
 * changed on one side since then goes to the other; a UID the copy lost is
 * deleted and expunged on the server; a UID the server lost leaves the copy.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "core.h"
#include "keys.h"
#include "mbox.h"
#include "digest.h"
#include "imap.h"
#include "remote.h"
#include "tls.h"

enum {
	SYNCED = MF_SEEN | MF_ANSWERED | MF_FLAGGED | MF_DRAFT,	/* the flags both sides keep */
	LIM_IMAPUIDS = 1 << 20,
};

static const struct { int f; const char *name; } fl[] = {
	{ MF_SEEN, "\\Seen" }, { MF_ANSWERED, "\\Answered" }, { MF_FLAGGED, "\\Flagged" }, { MF_DRAFT, "\\Draft" },
};

typedef struct Ic {
	Conn c;
	Bio b;
	const char *host;
	unsigned tag;
	char curtag[16];
	Str t;			/* a response, its literals each marked \001 */
	Str lit;		/* their octets */
	char caps[2048];	/* " CAP CAP ... " */
	char line[LIM_IMAPLINE];
	uint64_t validity;
	uint32_t *uid;		/* UID FETCH's answers */
	int *flags;
	int n, a;
	int listing;		/* UID FETCH 1:* going on: its answers kept */
	time_t when;		/* the last INTERNALDATE, or -1 */
} Ic;

/* One response into ic->t, its literals added to ic->lit: 1 untagged, 2 a
 * continuation, 3 tagged; -1. */
static int
resp(Ic *ic)
{
	char *p, *e;
	uint64_t len;
	size_t room;
	ssize_t n, k;
	int nlit;

	str_reset(&ic->t);
	for (nlit = 0;; nlit++) {
		if ((n = bio_line(&ic->b, ic->line, sizeof ic->line)) <= 0) {
			seterr("%s: %s", ic->host, n == BIO_LONG ? "response line too long" : "connection lost");
			return -1;
		}
		bio_chomp(ic->line, &n);
		str_addn(&ic->t, ic->line, n);
		/* a literal ends the line: {N}, its octets, then the line goes on */
		if (n < 3 || ic->line[n - 1] != '}' || (p = strrchr(ic->line, '{')) == NULL ||
		    (len = strtoull(p + 1, &e, 10), *e != '}') || e == p + 1)
			break;
		if (nlit >= LIM_IMAPLITS || len > LIM_MBOXMSG - ic->lit.n) {
			seterr("%s: a response with too many or too large literals", ic->host);
			return -1;
		}
		ic->t.n -= ic->line + n - p;
		str_addc(&ic->t, '\001');
		for (; len > 0; len -= k, ic->lit.n += k) {
			/* room for the octets as they come, not for all the server announced */
			str_reserve(&ic->lit, len < LIM_BIOBUF ? len : LIM_BIOBUF);
			room = ic->lit.cap - 1 - ic->lit.n;
			if ((k = bio_read(&ic->b, ic->lit.p + ic->lit.n, room < len ? room : len)) <= 0) {
				seterr("%s: connection lost", ic->host);
				return -1;
			}
		}
	}
	str_addc(&ic->t, 0);
	ic->t.n--;
	return ic->t.p[0] == '*' ? 1 : ic->t.p[0] == '+' ? 2 : 3;
}

/* The flags of a parenthesized list at p. */
static int
flagsat(const char *p)
{
	const char *e = strchr(p, ')');
	size_t i, n;
	int f = 0;

	for (; p && *p && p < e; p += n + 1) {
		n = strcspn(p, " )");
		for (i = 0; i < nelem(fl); i++)
			if (n == strlen(fl[i].name) && strncasecmp(p, fl[i].name, n) == 0)
				f |= fl[i].f;
	}
	return f;
}

/* What an untagged response says that we keep. */
static int
untagged(Ic *ic)
{
	char *t = ic->t.p, *p, d[32];

	if ((p = strcasestr(t, "INTERNALDATE \"")) != NULL && strlen(p + 14) > 26) {
		snprintf(d, sizeof d, "%.26s", p + 14);
		ic->when = imap_parsedate(d);
	}

	if ((strncasecmp(t, "* CAPABILITY ", 13) == 0 && (t += 2)) || ((p = strcasestr(t, "[CAPABILITY ")) != NULL && (t = p + 1))) {
		snprintf(ic->caps, sizeof ic->caps, " %.*s ", (int)strcspn(t + 11, "]"), t + 11);
		for (p = ic->caps; *p; p++)
			*p = *p >= 'a' && *p <= 'z' ? *p - 32 : *p;
	} else if ((p = strcasestr(t, "[UIDVALIDITY ")) != NULL)
		ic->validity = strtoull(p + 13, NULL, 10);
	else if ((p = strcasestr(t, " FETCH (")) != NULL && (p = strcasestr(p, "UID ")) != NULL && ic->listing) {
		if (ic->n == LIM_IMAPUIDS) {
			seterr("%s: more than %d messages", ic->host, LIM_IMAPUIDS);
			return -1;
		}
		if (ic->n == ic->a) {
			ic->a = ic->a ? 2 * ic->a : 256;
			ic->uid = xrealloc(ic->uid, ic->a * sizeof *ic->uid);
			ic->flags = xrealloc(ic->flags, ic->a * sizeof *ic->flags);
		}
		/* UIDs are nonzero (RFC 3501 §2.3.1.1); 0 marks one deleted here */
		if ((ic->uid[ic->n] = strtoul(p + 4, NULL, 10)) != 0)
			ic->flags[ic->n++] = (p = strcasestr(t, "FLAGS (")) != NULL ? flagsat(p + 7) : 0;
	}
	return 0;
}

/* Responses up to the command's tagged one: 1 OK, 0 NO or BAD (ic->t), 2 a
 * continuation, -1. */
static int
await(Ic *ic)
{
	size_t n = strlen(ic->curtag);
	int r;

	while ((r = resp(ic)) > 0) {
		if (r == 2)
			return 2;
		if (r == 1 && untagged(ic) < 0)
			return -1;
		if (r == 3 && strncmp(ic->t.p, ic->curtag, n) == 0) {
			if (strcasestr(ic->t.p, "[CAPABILITY ") != NULL)
				untagged(ic);	/* a login's: what the server offers now */
			return strncasecmp(ic->t.p + n, "OK", 2) == 0;
		}
	}
	return -1;
}

static int
send(Ic *ic, const char *p, size_t n)
{
	if (bio_write(&ic->b, p, n) < 0 || bio_flush(&ic->b) < 0) {
		seterr("%s: connection lost", ic->host);
		return -1;
	}
	return 0;
}

static int
cmd(Ic *ic, const char *fmt, const char *arg, const char *arg2)
{
	Str s = { 0 };
	int r;

	snprintf(ic->curtag, sizeof ic->curtag, "u%u ", ++ic->tag);
	str_reset(&ic->lit);	/* the command's literals, for the caller */
	str_adds(&s, ic->curtag);
	str_fmt(&s, fmt, arg, arg2);
	str_adds(&s, "\r\n");
	r = send(ic, s.p, s.n) < 0 ? -1 : await(ic);
	explicit_bzero(s.p, s.cap);	/* it may have held a password */
	str_free(&s);
	return r;
}

static int
refused(Ic *ic, const char *what)
{
	seterr("%s: %s: %.200s", ic->host, what, ic->t.p);
	return -1;
}

static int
has(Ic *ic, const char *cap)
{
	char w[64];

	snprintf(w, sizeof w, " %s ", cap);
	return strstr(ic->caps, w) != NULL;
}

/* An IMAP quoted string of s, or -1 when it cannot be one. */
static int
quote(Str *out, const char *s)
{
	str_addc(out, '"');
	for (; *s; s++) {
		if (*s == '\r' || *s == '\n')
			return -1;
		if (*s == '"' || *s == '\\')
			str_addc(out, '\\');
		str_addc(out, *s);
	}
	str_addc(out, '"');
	return 0;
}

static int
login(Ic *ic, const Remote *r, const char *owner)
{
	char pins[LIM_PATHNAME], ca[LIM_PATHNAME];
	Tlstrust t;
	Str s = { 0 }, u = { 0 };
	Key k;
	int i, tls = r->tls == RT_IMPLICIT, rc = -1;

	ic->host = r->host;
	if (remote_dial(&ic->c, &ic->b, r, "imap", "imaps", &t, pins, ca) < 0)
		return -1;
	if ((i = resp(ic)) != 1 || (strncasecmp(ic->t.p, "* OK", 4) != 0 && strncasecmp(ic->t.p, "* PREAUTH", 9) != 0))
		return i < 0 ? -1 : refused(ic, "greeting");
	untagged(ic);
	if (ic->caps[0] == 0 && cmd(ic, "CAPABILITY", NULL, NULL) != 1)
		return refused(ic, "CAPABILITY");
	if (!tls && r->tls != RT_NONE && (has(ic, "STARTTLS") || r->tls == RT_STARTTLS)) {
		if ((i = cmd(ic, "STARTTLS", NULL, NULL)) != 1)
			return i < 0 ? -1 : refused(ic, "STARTTLS");
		if (tls_starttls_client(&ic->b, r->host, &t) < 0)
			return -1;
		tls = 1;
		ic->caps[0] = 0;	/* RFC 3501 §6.2.1: asked again */
		if (cmd(ic, "CAPABILITY", NULL, NULL) != 1)
			return refused(ic, "CAPABILITY");
	}
	if (strncasecmp(ic->t.p, "* PREAUTH", 9) == 0)
		return 0;
	if ((i = keys_find(owner, "imap", r->host, r->user[0] ? r->user : NULL, &k)) <= 0) {
		if (i == 0)
			seterr("%s: no key proto=pass service=imap server=%s in %s's keys", r->host, r->host, owner);
		return -1;
	}
	if (has(ic, "AUTH=CRAM-MD5")) {
		if ((i = cmd(ic, "AUTHENTICATE CRAM-MD5", NULL, NULL)) == 2) {
			cram_md5(&s, k.user, k.password, ic->t.p + 1 + (ic->t.p[1] == ' '));
			str_adds(&s, "\r\n");
			i = send(ic, s.p, s.n) < 0 ? -1 : await(ic);
		}
	} else if (tls && !has(ic, "LOGINDISABLED")) {
		if (quote(&s, k.password) < 0 || quote(&u, k.user) < 0) {
			seterr("%s: a user name or password an IMAP string cannot hold", r->host);
			goto wipe;
		}
		i = cmd(ic, "LOGIN %s %s", u.p, s.p);
	} else {
		seterr("%s: no CRAM-MD5 and no TLS: the password is not sent in the clear", r->host);
		goto wipe;
	}
	if (i == 1)
		rc = 0;
	else if (i >= 0)
		refused(ic, "login");
wipe:
	keys_wipe(&k);
	if (s.p)
		explicit_bzero(s.p, s.cap);
	str_free(&s);
	str_free(&u);
	return rc;
}

static void
icfree(Ic *ic)
{
	if (ic == NULL)
		return;
	if (ic->c.close != NULL)
		ic->c.close(&ic->c);
	str_free(&ic->t);
	str_free(&ic->lit);
	free(ic->uid);
	free(ic->flags);
	free(ic);
}

/* A session on the account's mailbox, logged in, the mailbox selected with
 * verb (SELECT, or EXAMINE: read-only); NULL (lasterr). */
static Ic *
icopen(const Remote *r, const char *owner, const char *verb)
{
	Ic *ic = xmalloc(sizeof *ic);
	Str s = { 0 };
	int i = -1;

	memset(ic, 0, sizeof *ic);
	if (login(ic, r, owner) < 0)
		goto fail;
	if (quote(&s, r->box[0] ? r->box : "INBOX") < 0) {
		seterr("%s: a mailbox name an IMAP string cannot hold", r->host);
		goto fail;
	}
	if ((i = cmd(ic, verb[0] == 'S' ? "SELECT %s" : "EXAMINE %s", s.p, NULL)) == 1) {
		str_free(&s);
		return ic;
	}
	if (i == 0)
		refused(ic, verb);
fail:
	str_free(&s);
	icfree(ic);
	return NULL;
}

/* "+FLAGS.SILENT (\Seen \Flagged)" of f, into out. */
static void
flagstr(Str *out, int f)
{
	size_t i;
	int n = 0;

	str_addc(out, '(');
	for (i = 0; i < nelem(fl); i++)
		if (f & fl[i].f)
			str_fmt(out, "%s%s", n++ ? " " : "", fl[i].name);
	str_addc(out, ')');
}

/* COPY/.imap: "upas-imap 2 VALIDITY", then "UID FLAGS" lines, by UID.
 * Version 2 since copies hold header-only ("-h") messages: a reader of
 * version 1 alone would take their UIDs for messages the copy lost. */
static int
loadstate(const char *cache, uint64_t *validity, uint32_t **uid, int **flags)
{
	char path[LIM_PATHNAME + 8], *t, *l, *e;
	const char *r;
	uint64_t u, f;
	size_t len;
	int n = 0;

	*uid = NULL;
	*flags = NULL;
	*validity = 0;
	snprintf(path, sizeof path, "%s/.imap", cache);
	if ((t = readfile(path, 64 << 20, &len)) == NULL)
		return errno == ENOENT ? 0 : -1;
	if (((l = (char *)str_scan(t, "upas-imap 2 %u", validity)) != NULL ||
	    (l = (char *)str_scan(t, "upas-imap 1 %u", validity)) != NULL) && *l == '\n') {
		*uid = xmalloc((len / 4 + 1) * sizeof **uid);
		*flags = xmalloc((len / 4 + 1) * sizeof **flags);
		for (l++; (e = strchr(l, '\n')) != NULL; l = e + 1) {
			*e = 0;
			if ((r = str_scan(l, "%u %u", &u, &f)) != NULL && *r == 0 && u > 0 && u <= UINT32_MAX) {
				(*uid)[n] = u;
				(*flags)[n++] = f & SYNCED;
			}
		}
	}
	free(t);
	return n;
}


/* u in v[0..n), sorted: its index, or -1. */
static int
find(const uint32_t *v, int n, uint32_t u)
{
	int lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (v[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && v[lo] == u ? lo : -1;
}

typedef struct Loc {
	uint32_t uid;	/* 0: another UIDVALIDITY's */
	int at;		/* the message's index in the copy */
	int seen;	/* the server has it */
	int head;	/* its header only ("-h") */
} Loc;

/* Message uid fetched into the copy: whole ("-i"), or its header ("-h")
 * under imap_headers. 0 or -1. */
static int
fetchnew(Ic *ic, const char *cache, uint32_t uid)
{
	char set[16], tg[24];
	int j;

	snprintf(set, sizeof set, "%u", uid);
	ic->when = -1;
	if ((j = cmd(ic, imap_headers ? "UID FETCH %s (INTERNALDATE BODY.PEEK[HEADER])" :
	    "UID FETCH %s (INTERNALDATE BODY.PEEK[])", set, NULL)) != 1)
		return j == 0 ? refused(ic, "UID FETCH BODY.PEEK[]") : -1;
	snprintf(tg, sizeof tg, "-%c%08x%08x", imap_headers ? 'h' : 'i', (unsigned)ic->validity, uid);
	maildir_tag = tg;
	maildir_when = ic->when;	/* arrived when the server says */
	j = maildir_append(cache, ic->lit.p ? ic->lit.p : "", ic->lit.n);
	maildir_tag = NULL;
	maildir_when = 0;
	return j < 0 ? -1 : 0;
}

static int
cmploc(const void *a, const void *b)
{
	uint32_t x = ((const Loc *)a)->uid, y = ((const Loc *)b)->uid;

	return (x > y) - (x < y);
}

static int
cmpuid64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* UIDs of v[0..n) with their flags, sorted by UID (pairs moved together). */
static void
sortuids(uint32_t *uid, int *flags, int n)
{
	uint64_t *t = xmalloc((n + 1) * sizeof *t);
	int i;

	for (i = 0; i < n; i++)
		t[i] = (uint64_t)uid[i] << 32 | (uint32_t)flags[i];
	qsort(t, n, sizeof *t, cmpuid64);
	for (i = 0; i < n; i++) {
		uid[i] = t[i] >> 32;
		flags[i] = (int)(t[i] & 0xffffffff);
	}
	free(t);
}

int
imap_sync(const Remote *r, const char *owner, const char *cache, int *got, int *gone)
{
	Ic *ic = NULL;
	char **tags = NULL, tg[24], set[32], id[MB_IDLEN];
	const char *sp;
	int *tat = NULL, ntags = 0, nst, i, k, j, rc = -1, *sflags = NULL, ndel = 0, changed = 0, f, want, nloc = 0;
	uint32_t *suid = NULL, v;
	uint64_t validity;
	Loc *loc = NULL, key, *hit;
	Mailbox *mb = NULL;
	Str s = { 0 }, del = { 0 };

	*got = *gone = 0;
	if (remote_mkcopy(cache) < 0 || (nst = loadstate(cache, &validity, &suid, &sflags)) < 0 ||
	    (ntags = remote_tags(cache, "ih", &tags, &tat)) < 0)
		goto out;
	sortuids(suid, sflags, nst);
	if ((ic = icopen(r, owner, "SELECT")) == NULL)
		goto out;
	ic->a = 256;
	ic->uid = xmalloc(ic->a * sizeof *ic->uid);
	ic->flags = xmalloc(ic->a * sizeof *ic->flags);
	ic->listing = 1;
	i = cmd(ic, "UID FETCH 1:* (UID FLAGS)", NULL, NULL);
	ic->listing = 0;
	if (i != 1) {
		if (i == 0)
			refused(ic, "UID FETCH");
		goto out;
	}
	if (validity != ic->validity)
		nst = 0;	/* another mailbox now: nothing agreed before counts */
	sortuids(ic->uid, ic->flags, ic->n);
	/* the copy's messages by UID; another validity's are 0 */
	loc = xmalloc((ntags + 1) * sizeof *loc);
	for (k = 0; k < ntags; k++, nloc++) {
		snprintf(tg, sizeof tg, "%.8s", tags[k] + 2);
		v = strtoul(tg, NULL, 16);
		loc[k].uid = v == (uint32_t)ic->validity ? strtoul(tags[k] + 10, NULL, 16) : 0;
		loc[k].at = tat[k];
		loc[k].seen = 0;
		loc[k].head = tags[k][1] == 'h';
	}
	qsort(loc, nloc, sizeof *loc, cmploc);
	if ((mb = mb_open(cache, MB_RDWR)) == NULL)
		goto out;
	for (i = 0; i < ic->n; i++) {
		j = find(suid, nst, ic->uid[i]);
		key.uid = ic->uid[i];
		snprintf(set, sizeof set, "%u", ic->uid[i]);
		if ((hit = nloc ? bsearch(&key, loc, nloc, sizeof *loc, cmploc) : NULL) != NULL) {
			/* in both: what changed on either side since the last sync */
			f = mb_msg(mb, hit->at)->flags & SYNCED;
			want = j >= 0 ? sflags[j] ^ ((f ^ sflags[j]) | (ic->flags[i] ^ sflags[j])) : ic->flags[i];
			for (k = 0; k < 2; k++) {
				str_reset(&s);
				str_adds(&s, k ? "-FLAGS.SILENT " : "+FLAGS.SILENT ");
				flagstr(&s, k ? ic->flags[i] & ~want : want & ~ic->flags[i]);
				if ((k ? ic->flags[i] & ~want : want & ~ic->flags[i]) && cmd(ic, "UID STORE %s %s", set, s.p) != 1)
					goto storefail;
			}
			if (want != f) {
				mb_setflags(mb, hit->at, want & ~f, f & ~want);
				changed = 1;
			}
			ic->flags[i] = want;
			hit->seen = 1;
			if (hit->head && !imap_headers) {
				/* a header only, from a run with -C: now whole */
				if (fetchnew(ic, cache, ic->uid[i]) < 0)
					goto out;
				mb_setflags(mb, hit->at, MF_DELETED, 0);
				changed = 1;
				(*got)++;
			}
		} else if (j >= 0) {
			/* the copy lost it: deleted here */
			if (cmd(ic, "UID STORE %s +FLAGS.SILENT (\\Deleted)", set, NULL) != 1)
				goto storefail;
			str_fmt(&del, "%s%u", ndel++ ? "," : "", ic->uid[i]);
			ic->uid[i] = 0;
		} else {
			if (fetchnew(ic, cache, ic->uid[i]) < 0)
				goto out;
			(*got)++;
		}
	}
	/* only ours: another client's \Deleted stay, where the server lets us */
	if (ndel > 0 && (i = cmd(ic, has(ic, "UIDPLUS") && del.n < 8000 ? "UID EXPUNGE %s" : "EXPUNGE", del.p, NULL)) != 1) {
		if (i == 0)
			refused(ic, "EXPUNGE");
		goto out;
	}
	cmd(ic, "LOGOUT", NULL, NULL);
	*gone = ndel;
	/* what the server lost, or of another UIDVALIDITY, leaves the copy */
	for (k = 0; k < nloc; k++)
		if (!loc[k].seen) {
			mb_setflags(mb, loc[k].at, MF_DELETED, 0);
			changed = 1;
		}
	/* what was fetched gets the server's flags */
	if (*got > 0 && mb_refresh(mb) >= 0)
		for (k = 0; k < mb_count(mb); k++)
			if ((sp = remote_tagin(mb_id(mb, k, id), "ih")) != NULL &&
			    (snprintf(tg, sizeof tg, "%.8s", sp + 2), strtoul(tg, NULL, 16) == (uint32_t)ic->validity) &&
			    (j = find(ic->uid, ic->n, strtoul((snprintf(tg, sizeof tg, "%.8s", sp + 10), tg), NULL, 16))) >= 0 &&
			    (mb_msg(mb, k)->flags & SYNCED) != ic->flags[j]) {
				mb_setflags(mb, k, ic->flags[j], 0);
				changed = 1;
			}
	if (changed && mb_sync(mb) < 0)
		goto out;
	str_reset(&s);
	str_fmt(&s, "upas-imap 2 %llu\n", (unsigned long long)ic->validity);
	for (i = 0; i < ic->n; i++)
		if (ic->uid[i] != 0)
			str_fmt(&s, "%u %d\n", ic->uid[i], ic->flags[i]);
	rc = remote_putstate(cache, ".imap", &s);
	goto out;
storefail:
	refused(ic, "UID STORE");
out:
	if (mb != NULL) {
		mb_purge(mb);
		mb_close(mb);
	}
	icfree(ic);
	for (k = 0; k < ntags; k++)
		free(tags[k]);
	free(tags);
	free(tat);
	free(suid);
	free(sflags);
	free(loc);
	str_free(&s);
	str_free(&del);
	return rc;
}

int imap_headers;

/* Something to read within the time left: 1, 0 the time is up, -1. */
static int
idlewait(Ic *ic, int64_t until)
{
	struct pollfd p = { .fd = ic->c.rfd, .events = POLLIN };
	int64_t left;
	int r;

	while (bio_buffered(&ic->b) == 0 && !tls_pending(&ic->c)) {
		if ((left = until - now_ms()) <= 0)
			return 0;
		if ((r = poll(&p, 1, left > 60000 ? 60000 : (int)left)) > 0)
			return 1;
		if (r < 0 && errno != EINTR) {
			seterr("poll:");
			return -1;
		}
	}
	return 1;
}

int
imap_fetch(const Remote *r, const char *owner, uint32_t validity, uint32_t uid, Str *out)
{
	Ic *ic;
	char set[16];
	int i, rc = -1;

	if ((ic = icopen(r, owner, "EXAMINE")) == NULL)
		return -1;
	if ((uint32_t)ic->validity != validity) {
		seterr("%s: the mailbox's UIDVALIDITY changed", r->host);
		goto out;
	}
	snprintf(set, sizeof set, "%u", uid);
	if ((i = cmd(ic, "UID FETCH %s BODY.PEEK[]", set, NULL)) != 1 || ic->lit.n == 0) {
		if (i >= 0)
			seterr("%s: UID %u: %s", r->host, uid, i == 0 ? ic->t.p : "gone from the server");
		goto out;
	}
	str_reset(out);
	str_addn(out, ic->lit.p, ic->lit.n);
	cmd(ic, "LOGOUT", NULL, NULL);
	rc = 0;
out:
	icfree(ic);
	return rc;
}

/*
 * Wait on the account's mailbox with IDLE (RFC 2177) and write a byte to
 * wake each time the server says the mailbox changed (EXISTS, EXPUNGE,
 * FETCH). The IDLE is begun again every REMOTE_REIDLE seconds, before
 * servers drop a silent client. Returns only when it cannot go on: 1 the
 * server has no IDLE, -1 (lasterr) the session or wake is lost.
 */
int
imap_idle(const Remote *r, const char *owner, int wake)
{
	Ic *ic;
	int64_t until;
	char *t;
	int i = -1, rc = -1, w;

	if ((ic = icopen(r, owner, "EXAMINE")) == NULL)
		return -1;
	if (!has(ic, "IDLE") && (cmd(ic, "CAPABILITY", NULL, NULL) != 1 || !has(ic, "IDLE"))) {
		rc = 1;
		goto out;
	}
	/* what changed between the last sync and this session */
	if (write(wake, "i", 1) != 1) {
		seterr("wake:");
		goto out;
	}
	for (;;) {
		if ((i = cmd(ic, "IDLE", NULL, NULL)) != 2) {
			if (i == 0)
				refused(ic, "IDLE");
			goto out;
		}
		/* until the time to begin again, or the server ends it; the
		 * wait is ours, so a quiet server breaks nothing */
		until = now_ms() + REMOTE_REIDLE * 1000LL;
		while ((w = idlewait(ic, until)) > 0 && ((i = resp(ic)) == 1 || i == 2)) {
			t = ic->t.p;
			if (strncasecmp(t, "* BYE", 5) == 0) {
				seterr("%s: %.200s", ic->host, t);
				goto out;
			}
			if (t[1] != 0 && (t = strchr(t + 2, ' ')) != NULL &&
			    (strncasecmp(t, " EXISTS", 7) == 0 || strncasecmp(t, " EXPUNGE", 8) == 0 ||
			    strncasecmp(t, " FETCH ", 7) == 0) && write(wake, "i", 1) != 1) {
				seterr("wake:");
				goto out;
			}
		}
		if (w < 0 || (w > 0 && i < 0))
			goto out;
		if (w > 0 && strncasecmp(ic->t.p + strlen(ic->curtag), "OK", 2) != 0) {
			refused(ic, "IDLE");	/* the server ended it with NO or BAD */
			goto out;
		}
		if (w == 0 && (send(ic, "DONE\r\n", 6) < 0 || await(ic) != 1))
			goto out;
		/* what came between DONE and the next IDLE went by unseen */
		if (write(wake, "i", 1) != 1) {
			seterr("wake:");
			goto out;
		}
	}
out:
	icfree(ic);
	return rc;
}

int
imapc_read(Conn *c, uint32_t **uid, int **flags, int *n)
{
	Ic *ic = xmalloc(sizeof *ic);
	int r, ok = 0;

	memset(ic, 0, sizeof *ic);
	bio_init(&ic->b, c);
	ic->host = "imapc";
	if (resp(ic) == 1)
		untagged(ic);
	for (ic->listing = 1;; ic->listing = 0) {
		snprintf(ic->curtag, sizeof ic->curtag, "u%u ", ++ic->tag);
		str_reset(&ic->lit);
		while ((r = await(ic)) == 2)
			;
		if (r < 0)
			break;
		ok += r;
	}
	*uid = ic->uid;
	*flags = ic->flags;
	*n = ic->n;
	str_free(&ic->t);
	str_free(&ic->lit);
	free(ic);
	return ok;
}
