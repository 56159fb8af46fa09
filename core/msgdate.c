/*
 * Dates as mail writes them.  Rather than follow RFC 5322's grammar, the
 * parser sorts tokens by shape (a time has colons, a month is a name, a
 * zone is signed or named, a year is big or comes after the day), which
 * takes RFC 5322, RFC 822's obsolete forms and ctime's order alike.
 */
#include <string.h>
#include <strings.h>
#include "msg.h"

static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";

static const struct {
	const char *name;
	int off;	/* minutes east of UTC */
} zones[] = {
	{ "ut", 0 }, { "utc", 0 }, { "gmt", 0 }, { "z", 0 },
	{ "est", -300 }, { "edt", -240 }, { "cst", -360 }, { "cdt", -300 },
	{ "mst", -420 }, { "mdt", -360 }, { "pst", -480 }, { "pdt", -420 },
};

static int
leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
mdays(int y, int m)
{
	static const char d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return d[m] + (m == 1 && leap(y));
}

/* Days from 1970-01-01 to y-m-d (m from 0). */
static long
days(int y, int m, int d)
{
	static const short cum[] = { 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334 };
	long p = y - 1;

	return 365L * (y - 1970) + (p / 4 - p / 100 + p / 400) - (1969 / 4 - 1969 / 100 + 1969 / 400)
	    + cum[m] + (m > 1 && leap(y)) + d - 1;
}

static int
isalpha_(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
isdigit_(int c)
{
	return c >= '0' && c <= '9';
}

/* RFC 5322 §4.3: two-digit years from 1950 to 2049, three-digit years from 1900. */
static int
fullyear(long v, int nd)
{
	if (nd <= 2)
		return v < 50 ? 2000 + v : 1900 + v;
	return nd == 3 ? 1900 + v : v;
}

/* Up to max digits at s[*i]: their value, and how many in *nd. */
static long
num(const char *s, size_t n, size_t *i, int max, int *nd)
{
	long v = 0;

	for (*nd = 0; *i < n && isdigit_(s[*i]); (*i)++)
		if (++*nd <= max)
			v = v * 10 + s[*i] - '0';
	return v;
}

/*
 * Comments out, blank runs to one space, and no blanks beside ':', so that
 * RFC 5322's obsolete "09(comment):   55  :  06" reads as a time.
 */
static size_t
clean(const char *s, size_t n, char *buf, size_t max)
{
	size_t i, k = 0;
	int depth, c;

	for (i = 0; i < n; i++) {
		c = s[i];
		if (c == '(') {
			for (depth = 0; i < n; i++) {
				if (s[i] == '\\' && i + 1 < n)
					i++;
				else if (s[i] == '(')
					depth++;
				else if (s[i] == ')' && --depth == 0)
					break;
			}
			c = ' ';
		}
		if (c == '\t' || c == '\r' || c == '\n')
			c = ' ';
		if (c == ' ' && (k == 0 || buf[k - 1] == ' ' || buf[k - 1] == ':'))
			continue;
		if (c == ':' && k > 0 && buf[k - 1] == ' ')
			k--;
		if (k + 1 >= max)
			return 0;
		buf[k++] = c;
	}
	buf[k] = 0;
	return k;
}

time_t
msg_date(const char *raw, size_t rawn)
{
	int year = -1, mon = -1, day = -1, hour = -1, min = 0, sec = 0, off = 0, zoned = 0, nd, k;
	size_t i = 0, w, n;
	char word[16], s[256];
	long v;

	if ((n = clean(raw, rawn, s, sizeof s)) == 0)
		return -1;
	while (i < n) {
		if (isdigit_(s[i])) {
			v = num(s, n, &i, 9, &nd);
			if (i < n && s[i] == ':' && hour < 0) {
				hour = v;
				i++;
				min = num(s, n, &i, 2, &nd);
				if (nd != 2 && nd != 1)
					return -1;
				if (i + 1 < n && s[i] == ':' && isdigit_(s[i + 1])) {
					i++;
					sec = num(s, n, &i, 2, &nd);
					if (nd > 2)
						return -1;
				}
			} else if ((nd >= 3 || v > 31) && year < 0) {
				year = fullyear(v, nd);
				if (nd > 4)
					return -1;
			} else if (day < 0 && nd <= 2)
				day = v;
			else if (year < 0 && nd <= 2)
				year = fullyear(v, nd);
			else
				return -1;
		} else if ((s[i] == '+' || s[i] == '-') && i + 1 < n && isdigit_(s[i + 1])
		    && (hour >= 0 || (year >= 0 && day >= 0))) {
			k = s[i++] == '-' ? -1 : 1;
			v = num(s, n, &i, 4, &nd);
			if (nd == 4)
				off = k * (v / 100 * 60 + v % 100);
			else if (nd <= 2)
				off = k * v * 60;
			else
				return -1;
			if (off > 24 * 60 || off < -24 * 60)
				return -1;
			zoned = 1;
		} else if (isalpha_(s[i])) {
			for (w = 0; i < n && isalpha_(s[i]); i++)
				if (w + 1 < sizeof word)
					word[w++] = s[i] | 0x20;
			word[w] = 0;
			if (w >= 3 && mon < 0) {
				for (k = 0; k < 12; k++)
					if (memcmp(word, months + 3 * k, 3) == 0)
						mon = k;
				if (mon >= 0)
					continue;
			}
			for (k = 0; k < (int)nelem(zones) && !zoned; k++)
				if (strcmp(word, zones[k].name) == 0)
					off = zones[k].off;
			if (strcmp(word, "pm") == 0 && hour >= 0 && hour < 12)
				hour += 12;
			else if (strcmp(word, "am") == 0 && hour == 12)
				hour = 0;
		} else
			i++;
	}
	if (hour < 0)
		hour = 0;
	if (year < 1900 || year > 9999 || mon < 0 || day < 1 || day > mdays(year, mon)
	    || hour > 23 || min > 59 || sec > 60)
		return -1;
	if (sec == 60)
		sec = 59;
	return (time_t)days(year, mon, day) * 86400 + hour * 3600 + min * 60 + sec - off * 60;
}
