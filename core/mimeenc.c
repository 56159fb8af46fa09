#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "core.h"
#include "addr.h"
#include "mimeenc.h"

enum {
	LINE = 76,	/* RFC 2047 §2: a line with encoded words; RFC 2045 §6.8 */
	WORD = 75,	/* RFC 2047 §2: one encoded word */
	WORDOVER = 12,	/* =?UTF-8?B? and ?= */
};

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char hex[] = "0123456789ABCDEF";

static void
b64quad(Str *out, const unsigned char *p, size_t n)
{
	unsigned v = p[0] << 16 | (n > 1 ? p[1] << 8 : 0) | (n > 2 ? p[2] : 0);
	char q[4];

	q[0] = b64[v >> 18 & 63];
	q[1] = b64[v >> 12 & 63];
	q[2] = n > 1 ? b64[v >> 6 & 63] : '=';
	q[3] = n > 2 ? b64[v & 63] : '=';
	str_addn(out, q, 4);
}

void
mime_base64(Str *out, const void *p, size_t n, int linelen)
{
	const unsigned char *s = p;
	size_t i, col = 0, per = linelen > 0 ? (size_t)linelen / 4 * 4 : 0;

	for (i = 0; i < n; i += 3) {
		b64quad(out, s + i, n - i < 3 ? n - i : 3);
		col += 4;
		if (per && col >= per) {
			str_addc(out, '\n');
			col = 0;
		}
	}
	if (col > 0 || n == 0 || !per)
		str_addc(out, '\n');
}

/* Length of the UTF-8 sequence at s (1 for a stray byte), at most n. */
static size_t
u8len(const unsigned char *s, size_t n)
{
	size_t l, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		l = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		l = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		l = 4;
	else
		return 1;
	if (l > n)
		return 1;
	for (i = 1; i < l; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 1;
	return l;
}

/* Strictly well-formed: no overlongs, surrogates or code points past U+10FFFF. */
static int
u8valid(const unsigned char *s, size_t n)
{
	size_t l;

	if (s[0] < 0x80)
		return 1;
	if ((l = u8len(s, n)) == 1)
		return 0;
	if (l == 3 && ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f)))
		return 0;
	if (l == 4 && ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f)))
		return 0;
	return (int)l;
}

/* The characters RFC 2047 §5(3) lets a Q word carry as themselves anywhere, phrases included. */
static int
qsafe(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '!' || c == '*' || c == '+' || c == '-' || c == '/';
}

static size_t
qlen(const unsigned char *s, size_t n)
{
	size_t i, l = 0;

	for (i = 0; i < n; i++)
		l += qsafe(s[i]) || s[i] == ' ' ? 1 : 3;
	return l;
}

static void
qword(Str *out, const unsigned char *s, size_t n)
{
	size_t i;

	str_adds(out, "=?UTF-8?Q?");
	for (i = 0; i < n; i++)
		if (s[i] == ' ')
			str_addc(out, '_');
		else if (qsafe(s[i]))
			str_addc(out, s[i]);
		else {
			str_addc(out, '=');
			str_addc(out, hex[s[i] >> 4]);
			str_addc(out, hex[s[i] & 15]);
		}
	str_adds(out, "?=");
}

static void
bword(Str *out, const unsigned char *s, size_t n)
{
	size_t i;

	str_adds(out, "=?UTF-8?B?");
	for (i = 0; i < n; i += 3)
		b64quad(out, s + i, n - i < 3 ? n - i : 3);
	str_adds(out, "?=");
}

/*
 * Cut s into encoded words that each fit the room left on their line,
 * cutting only between UTF-8 sequences, and put each on a line of its own.
 */
static void
encwords(Str *out, const unsigned char *s, size_t n, size_t col)
{
	size_t i, start, room, l, c, wl;
	int useq = qlen(s, n) <= (n + 2) / 3 * 4;

	if (col + WORDOVER + 12 > LINE) {
		str_adds(out, "\n ");
		col = 1;
	}
	start = 0;
	while (start < n) {
		room = (LINE - col < WORD ? LINE - col : WORD) - WORDOVER;
		wl = 0;
		for (i = start; i < n; i += l) {
			l = u8len(s + i, n - i);
			if (useq)
				c = wl + qlen(s + i, l);
			else
				c = (i + l - start + 2) / 3 * 4;
			if (c > room && i > start)
				break;
			wl = c;
		}
		if (useq)
			qword(out, s + start, i - start);
		else
			bword(out, s + start, i - start);
		start = i;
		if (start < n) {
			str_adds(out, "\n ");
			col = 1;
		}
	}
}

/* A copy with control characters turned into spaces: header text is one logical line. */
static unsigned char *
flatten(const char *s, size_t *np)
{
	size_t i, n = strlen(s);
	unsigned char *t = (unsigned char *)xstrdup(s);

	for (i = 0; i < n; i++)
		if (t[i] < ' ' || t[i] == 0x7f)
			t[i] = ' ';
	*np = n;
	return t;
}

/* Whether text must be encoded: 8-bit, would decode as an encoded word, or a word too long to fold. */
static int
mustencode(const unsigned char *s, size_t n, int longwords)
{
	size_t i, run = 0;

	for (i = 0; i < n; i++) {
		if (s[i] >= 0x80 || (s[i] == '=' && i + 1 < n && s[i + 1] == '?'))
			return 1;
		run = s[i] == ' ' ? 0 : run + 1;
		if (longwords && run > WORD)
			return 1;
	}
	return 0;
}

void
mime_hdrtext(Str *out, const char *s, size_t col)
{
	size_t n, i, ws, we;
	unsigned char *t = flatten(s, &n);

	if (mustencode(t, n, 1)) {
		encwords(out, t, n, col);
		free(t);
		return;
	}
	/* fold before a run of blanks, keeping the blanks, so unfolding restores the text */
	for (i = 0; i < n;) {
		for (ws = i; i < n && t[i] == ' '; i++)
			;
		for (we = i; we < n && t[we] != ' '; we++)
			;
		if (ws > 0 && ws < i && col + (we - ws) > LINE) {
			str_addc(out, '\n');
			col = 0;
		}
		str_addn(out, (char *)t + ws, we - ws);
		col += we - ws;
		i = we;
	}
	free(t);
}

static int
isatext(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    (c && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

void
mime_phrase(Str *out, const char *s, size_t col)
{
	size_t n, i;
	unsigned char *t = flatten(s, &n);
	int atoms = n > 0 && t[0] != ' ' && t[n - 1] != ' ';

	if (mustencode(t, n, 0)) {
		encwords(out, t, n, col);
		free(t);
		return;
	}
	for (i = 0; i < n && atoms; i++)
		if (!isatext(t[i]) && !(t[i] == ' ' && t[i + 1] != ' '))
			atoms = 0;
	if (atoms)
		str_addn(out, (char *)t, n);
	else {
		str_addc(out, '"');
		for (i = 0; i < n; i++) {
			if (t[i] == '"' || t[i] == '\\')
				str_addc(out, '\\');
			str_addc(out, t[i]);
		}
		str_addc(out, '"');
	}
	free(t);
}

void
mime_mailbox(Str *out, const char *name, const char *addr, size_t col)
{
	size_t start = out->n;
	const char *nl;

	if (name == NULL || *name == 0) {
		str_adds(out, addr);
		return;
	}
	mime_phrase(out, name, col);
	nl = memrchr(out->p + start, '\n', out->n - start);
	col = nl ? (size_t)(out->p + out->n - nl - 1) : col + out->n - start;
	str_adds(out, col + 2 + strlen(addr) + 1 > LINE ? "\n <" : " <");
	str_adds(out, addr);
	str_addc(out, '>');
}

/* RFC 2045 token characters: printable ASCII but blanks and tspecials. */
static int
istoken(int c)
{
	return c > ' ' && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* RFC 2231 attribute-char: a token character but '*', '\'' and '%'. */
static int
isattrchar(int c)
{
	return istoken(c) && c != '*' && c != '\'' && c != '%';
}

void
mime_param(Str *out, const char *name, const char *value)
{
	const unsigned char *v = (const unsigned char *)value;
	size_t i, n = strlen(value), l = strlen(name), seglen, room, qlen = n + 2;
	int plain = 1, token = n > 0, seg;
	Str e = { 0 };

	for (i = 0; i < n; i++) {
		if (v[i] < ' ' || v[i] >= 0x7f)
			plain = 0;
		if (!istoken(v[i]))
			token = 0;
		qlen += v[i] == '"' || v[i] == '\\';
		/* some readers decode encoded words even inside quoted parameters */
		if (v[i] == '=' && v[i + 1] == '?')
			plain = 0;
	}
	/* each parameter on a line of its own: " name=value;" within LINE */
	if (plain && 1 + l + 1 + (token ? n : qlen) + 1 <= LINE) {
		str_fmt(out, ";\n %s=", name);
		if (token)
			str_adds(out, value);
		else {
			str_addc(out, '"');
			for (i = 0; i < n; i++) {
				if (v[i] == '"' || v[i] == '\\')
					str_addc(out, '\\');
				str_addc(out, v[i]);
			}
			str_addc(out, '"');
		}
		return;
	}
	for (i = 0; i < n; i++)
		if (isattrchar(v[i]))
			str_addc(&e, v[i]);
		else
			str_fmt(&e, "%%%c%c", hex[v[i] >> 4], hex[v[i] & 15]);
	if (1 + l + 2 + 7 + e.n + 1 <= LINE) {
		str_fmt(out, ";\n %s*=UTF-8''%s", name, e.p);
		str_free(&e);
		return;
	}
	for (i = 0, seg = 0; i < e.n; i += seglen, seg++) {
		/* " name*NN*=" and, first, "UTF-8''"; then ";" */
		room = LINE - (1 + l + 5 + (seg > 9) + (seg == 0 ? 7 : 0) + 1);
		seglen = e.n - i < room ? e.n - i : room;
		/* never cut a %XX triplet */
		if (i + seglen < e.n && e.p[i + seglen - 1] == '%')
			seglen--;
		else if (i + seglen < e.n && e.p[i + seglen - 2] == '%')
			seglen -= 2;
		str_fmt(out, ";\n %s*%d*=%s%.*s", name, seg, seg == 0 ? "UTF-8''" : "", (int)seglen, e.p + i);
	}
	str_free(&e);
}

static const struct {
	const char *ext, *type;
} exts[] = {
	{ "7z", "application/x-7z-compressed" },
	{ "bz2", "application/x-bzip2" },
	{ "c", "text/x-c" },
	{ "css", "text/css" },
	{ "csv", "text/csv" },
	{ "diff", "text/x-diff" },
	{ "doc", "application/msword" },
	{ "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document" },
	{ "eml", "message/rfc822" },
	{ "epub", "application/epub+zip" },
	{ "flac", "audio/flac" },
	{ "gif", "image/gif" },
	{ "gz", "application/gzip" },
	{ "h", "text/x-c" },
	{ "htm", "text/html" },
	{ "html", "text/html" },
	{ "ics", "text/calendar" },
	{ "jpeg", "image/jpeg" },
	{ "jpg", "image/jpeg" },
	{ "js", "text/javascript" },
	{ "json", "application/json" },
	{ "md", "text/markdown" },
	{ "mp3", "audio/mpeg" },
	{ "mp4", "video/mp4" },
	{ "odp", "application/vnd.oasis.opendocument.presentation" },
	{ "ods", "application/vnd.oasis.opendocument.spreadsheet" },
	{ "odt", "application/vnd.oasis.opendocument.text" },
	{ "ogg", "audio/ogg" },
	{ "patch", "text/x-diff" },
	{ "pdf", "application/pdf" },
	{ "png", "image/png" },
	{ "ppt", "application/vnd.ms-powerpoint" },
	{ "pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation" },
	{ "ps", "application/postscript" },
	{ "rtf", "application/rtf" },
	{ "rtx", "text/richtext" },
	{ "svg", "image/svg+xml" },
	{ "tar", "application/x-tar" },
	{ "tgz", "application/gzip" },
	{ "tif", "image/tiff" },
	{ "tiff", "image/tiff" },
	{ "tsv", "text/tab-separated-values" },
	{ "txt", "text/plain" },
	{ "wav", "audio/wav" },
	{ "webm", "video/webm" },
	{ "webp", "image/webp" },
	{ "xls", "application/vnd.ms-excel" },
	{ "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" },
	{ "xml", "application/xml" },
	{ "xz", "application/x-xz" },
	{ "zip", "application/zip" },
};

const char *
mime_typebyname(const char *name)
{
	const char *dot = strrchr(name, '.'), *slash = strrchr(name, '/');
	size_t lo = 0, hi = nelem(exts), mid;
	int c;

	if (dot == NULL || (slash && slash > dot) || dot[1] == 0)
		return NULL;
	dot++;
	while (lo < hi) {
		mid = (lo + hi) / 2;
		c = strcasecmp(dot, exts[mid].ext);
		if (c == 0)
			return exts[mid].type;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

int
mime_istext(const void *p, size_t n, int *eightbit)
{
	const unsigned char *s = p;
	size_t i, col = 0;
	int l;

	*eightbit = 0;
	for (i = 0; i < n; i += l) {
		l = 1;
		if (s[i] == 0 || s[i] == '\r')
			return 0;
		if (s[i] == '\n') {
			col = 0;
			continue;
		}
		if (s[i] >= 0x80) {
			*eightbit = 1;
			if ((l = u8valid(s + i, n - i)) == 0)
				return 0;
		}
		if ((col += l) > LIM_HDRLINE)
			return 0;
	}
	return 1;
}

/* A header field name followed by a colon, at the start of line s. */
static size_t
hdrname(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n && s[i] > ' ' && s[i] < 0x7f && s[i] != ':'; i++)
		;
	return i > 0 && i < n && s[i] == ':' ? i : 0;
}

/* A header block (after an optional mbox "From " line) with an originator field or a trace. */
static int
looksmessage(const char *s, size_t n)
{
	static const char *const marks[] = { "from", "date", "received", "message-id", "return-path" };
	const char *e, *end = s + n;
	size_t k, j;
	int found = 0, lines = 0;

	if (n > 5 && memcmp(s, "From ", 5) == 0) {
		if ((e = memchr(s, '\n', n)) == NULL)
			return 0;
		s = e + 1;
	}
	for (; s < end && *s != '\n'; s = e + 1, lines++) {
		if ((e = memchr(s, '\n', end - s)) == NULL || lines > 200)
			return 0;
		if (*s == ' ' || *s == '\t') {
			if (lines == 0)
				return 0;
			continue;
		}
		if ((k = hdrname(s, e - s)) == 0)
			return 0;
		for (j = 0; j < nelem(marks); j++)
			if (k == strlen(marks[j]) && strncasecmp(s, marks[j], k) == 0)
				found = 1;
	}
	return found && s < end;
}

static int
prefix(const unsigned char *s, size_t n, const char *magic, size_t m)
{
	return n >= m && memcmp(s, magic, m) == 0;
}

const char *
mime_sniff(const void *p, size_t n)
{
	const unsigned char *s = p, *t;
	size_t k;
	int eight;

	if (prefix(s, n, "%PDF-", 5))
		return "application/pdf";
	if (prefix(s, n, "\x89PNG\r\n\x1a\n", 8))
		return "image/png";
	if (prefix(s, n, "\xff\xd8\xff", 3))
		return "image/jpeg";
	if (prefix(s, n, "GIF87a", 6) || prefix(s, n, "GIF89a", 6))
		return "image/gif";
	if (prefix(s, n, "PK\x03\x04", 4) || prefix(s, n, "PK\x05\x06", 4))
		return "application/zip";
	if (prefix(s, n, "\x1f\x8b", 2))
		return "application/gzip";
	if (prefix(s, n, "%!PS", 4))
		return "application/postscript";
	if (n >= 12 && prefix(s, n, "RIFF", 4) && memcmp(s + 8, "WEBP", 4) == 0)
		return "image/webp";
	if (!mime_istext(p, n, &eight))
		return "application/octet-stream";
	t = s;
	if (prefix(t, n, "\xef\xbb\xbf", 3))
		t += 3;
	while (t < s + n && (*t == ' ' || *t == '\t' || *t == '\n'))
		t++;
	k = s + n - t;
	if ((k >= 14 && strncasecmp((const char *)t, "<!doctype html", 14) == 0) ||
	    (k >= 5 && strncasecmp((const char *)t, "<html", 5) == 0))
		return "text/html";
	if (looksmessage(p, n))
		return "message/rfc822";
	return "text/plain";
}

void
mime_random(void *p, size_t n)
{
	static unsigned long count;
	unsigned char *b = p;
	unsigned long long x;
	struct timespec ts;
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = getrandom(b + got, n - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += r;
	}
	/* no getrandom (old kernel, seccomp): unique enough for boundaries and Message-IDs */
	for (; got < n; got++) {
		clock_gettime(CLOCK_REALTIME, &ts);
		x = (unsigned long long)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (unsigned long long)ts.tv_sec << 20 ^
		    (unsigned long long)getpid() << 40 ^ ++count * 0xbf58476d1ce4e5b9ull;
		x ^= x >> 31;
		b[got] = (unsigned char)(x ^ x >> 17 ^ x >> 41);
	}
}

static void
letters(char *buf, size_t n)
{
	unsigned char r[64];
	size_t i;

	mime_random(r, n < sizeof r ? n : sizeof r);
	for (i = 0; i < n && i < sizeof r; i++)
		buf[i] = 'a' + r[i] % 26;
}

void
mime_boundary(char *buf, size_t bn, const void *p, size_t n)
{
	if (bn < 32)
		die(EX_SOFTWARE, "mime_boundary: buffer too small");
	do {
		memcpy(buf, "upas-", 5);
		letters(buf + 5, 26);
		buf[31] = 0;
	} while (n > 0 && memmem(p, n, buf, 31) != NULL);
}

void
mime_date(char *buf, size_t n, time_t t)
{
	static const char days[] = "SunMonTueWedThuFriSat", months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	struct tm tm;
	long off;

	localtime_r(&t, &tm);
	off = tm.tm_gmtoff / 60;
	snprintf(buf, n, "%.3s, %d %.3s %d %02d:%02d:%02d %c%02ld%02ld", days + 3 * tm.tm_wday, tm.tm_mday,
	    months + 3 * tm.tm_mon, tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+',
	    labs(off) / 60, labs(off) % 60);
}

void
mime_msgid(Str *out, const char *host)
{
	char r[20];

	letters(r, sizeof r);
	str_fmt(out, "<%lld.%.*s@%s>", (long long)time(NULL), (int)sizeof r, r, host);
}

const char *
mime_sysname(void)
{
	static char name[LIM_DOMAIN + 1];
	struct utsname u;
	const char *s = getenv("site");

	if (name[0])
		return name;
	if (s && strlen(s) <= LIM_DOMAIN && addr_domainok(s))
		snprintf(name, sizeof name, "%s", s);
	else if (uname(&u) == 0 && strlen(u.nodename) <= LIM_DOMAIN && addr_domainok(u.nodename))
		snprintf(name, sizeof name, "%s", u.nodename);
	else
		snprintf(name, sizeof name, "localhost");
	return name;
}

const char *
mime_login(void)
{
	static char name[256];
	struct passwd *pw;
	const char *s;

	if (name[0])
		return name;
	if ((pw = getpwuid(getuid())) != NULL && name_ok(pw->pw_name))
		snprintf(name, sizeof name, "%s", pw->pw_name);
	else if (((s = getenv("LOGNAME")) != NULL && name_ok(s)) || ((s = getenv("USER")) != NULL && name_ok(s)))
		snprintf(name, sizeof name, "%s", s);
	else
		snprintf(name, sizeof name, "%u", (unsigned)getuid());
	return name;
}

/* An unlinked file holding msg: a pipe would stay open in an applet run in a forked child. */
static int
msgfd(const char *msg, size_t n)
{
	char path[LIM_PATHNAME];
	int fd;

	if ((fd = memfd_create("upasmsg", MFD_CLOEXEC)) < 0) {
		if (upas_path(path, sizeof path, "tmp", "msgXXXXXX", NULL) < 0 ||
		    (fd = mkostemp(path, O_CLOEXEC)) < 0) {
			snprintf(path, sizeof path, "/tmp/upasmsgXXXXXX");
			if ((fd = mkostemp(path, O_CLOEXEC)) < 0) {
				seterr("temporary file:");
				return -1;
			}
		}
		unlink(path);
	}
	if (fd_writeall(fd, msg, n) < 0 || lseek(fd, 0, SEEK_SET) < 0) {
		seterr("temporary file:");
		close(fd);
		return -1;
	}
	return fd;
}

int
mime_run(char **argv, const char *msg, size_t n)
{
	pid_t pid;
	int fd, st;

	if ((fd = msgfd(msg, n)) < 0)
		return -1;
	pid = proc_start(argv, fd, -1);
	close(fd);
	if (pid < 0)
		return -1;
	st = proc_wait(pid);
	return st;
}

int
mime_pipefrom(char *buf, size_t n)
{
	struct stat st;

	if (upas_path(buf, n, "box", mime_login(), "pipefrom", NULL) < 0)
		return 0;
	return stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, X_OK) == 0;
}

void
mime_qp(Str *out, const char *p, size_t n)
{
	const char *e = p + n, *nl, *q;
	size_t col;
	unsigned char c;
	int enc;

	while (p < e) {
		nl = memchr(p, '\n', e - p);
		if (nl == NULL)
			nl = e;
		q = nl > p && nl[-1] == '\r' && nl < e ? nl - 1 : nl;	/* the CR of a CRLF */
		for (col = 0; p < q; p++) {
			c = *p;
			enc = c >= 0x7f || c == '=' || (c < ' ' && c != '\t') ||
			    ((c == ' ' || c == '\t') && p + 1 == q);
			if (col + (enc ? 3 : 1) > 75) {
				str_adds(out, "=\n");
				col = 0;
			}
			if (enc) {
				str_fmt(out, "=%02X", c);
				col += 3;
			} else {
				str_addc(out, c);
				col++;
			}
		}
		if (nl < e)
			str_addc(out, '\n');
		p = nl < e ? nl + 1 : e;
	}
}
