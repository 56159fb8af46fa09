/* Unit tests over core/regexp.c: Plan 9 regexp(6) syntax, leftmost-longest matches, subexpressions. */
#include <stdio.h>
#include <string.h>
#include "unit.h"
#include "regexp.h"

/* "so-eo" of the match and each subexpression (" -" one that took no part),
 * "none", or "error: why". */
static char *
m(const char *pat, int flags, const char *text)
{
	static char out[256];
	Rematch v[RE_NSUB];
	Regex *re;
	size_t n = 0;
	int i, last = 0;

	if ((re = re_comp(pat, flags)) == NULL) {
		snprintf(out, sizeof out, "error: %s", lasterr());
		return out;
	}
	if (!re_exec(re, text, strlen(text), v, RE_NSUB)) {
		re_free(re);
		return "none";
	}
	for (i = 0; i < RE_NSUB; i++)
		if (v[i].so >= 0)
			last = i;
	for (i = 0; i <= last && n < sizeof out - 16; i++)
		n += v[i].so < 0 ? snprintf(out + n, sizeof out - n, "%s-", i ? " " : "") :
		    snprintf(out + n, sizeof out - n, "%s%d-%d", i ? " " : "", v[i].so, v[i].eo);
	re_free(re);
	return out;
}

TEST(regexp_match)
{
	CHECKSTR(m("abc", 0, "xabcx"), "1-4");
	CHECKSTR(m("abc", 0, "xabx"), "none");
	CHECKSTR(m("", 0, "abc"), "0-0");
	CHECKSTR(m("x*", 0, "aaa"), "0-0");
	CHECKSTR(m("a+", 0, "baaa"), "1-4");
	CHECKSTR(m("ba?c", 0, "bc bac"), "0-2");
	CHECKSTR(m("a\\.b", 0, "axb a.b"), "4-7");
	CHECKSTR(m("a{2}", 0, "aa a{2}"), "3-7");	/* braces are literal */
	/* the leftmost match, and of those the longest */
	CHECKSTR(m("a|ab", 0, "xab"), "1-3");
	CHECKSTR(m("b|abc", 0, "abc"), "0-3");
	CHECKSTR(m("(a|ab)(c|bcd)", 0, "abcd"), "0-4 0-1 1-4");
	CHECKSTR(m("(.*)!(.*)", 0, "a!b!c"), "0-5 0-3 4-5");
	CHECKSTR(m("^(([^!]*)!(.*))$", 0, "a!b!c"), "0-5 0-5 0-1 2-5");
	CHECKSTR(m("(a)|(b)", 0, "b"), "0-1 - 0-1");
	CHECKSTR(m("(a*)+", 0, "b"), "0-0 0-0");
	CHECKSTR(m("((((((((((a))))))))))", 0, "a"), "0-1 0-1 0-1 0-1 0-1 0-1 0-1 0-1 0-1 0-1 0-1");
	/* lines: . and [^] stop at a newline, ^ and $ match at one */
	CHECKSTR(m("a.b", 0, "a\nb"), "none");
	CHECKSTR(m("a[^x]b", 0, "a\nb"), "none");
	CHECKSTR(m("^b", 0, "a\nb"), "2-3");
	CHECKSTR(m("a$", 0, "a\nb"), "0-1");
	CHECKSTR(m("^$", 0, "a\n\nb"), "2-2");
	/* classes */
	CHECKSTR(m("[a-c]+", 0, "xxbcay"), "2-5");
	CHECKSTR(m("[]a]+", 0, "x]a]"), "1-4");
	CHECKSTR(m("[^a-z]", 0, "abC"), "2-3");
	CHECKSTR(m("[a\\-]+", 0, "x-a-"), "1-4");
	CHECKSTR(m("[a-]+", 0, "x-a-"), "1-4");
	/* case */
	CHECKSTR(m("ABC", 0, "abc"), "none");
	CHECKSTR(m("ABC", RE_ICASE, "xabc"), "1-4");
	CHECKSTR(m("abc", RE_ICASE, "xABC"), "1-4");
	CHECKSTR(m("[A-C]+", RE_ICASE, "abc"), "0-3");
	CHECKSTR(m("[a-c]", RE_ICASE, "B"), "0-1");
	CHECKSTR(m("[^a-c]", RE_ICASE, "Bd"), "1-2");
	/* UTF-8: a rune is one character */
	CHECKSTR(m("\xc3\xa9.", 0, "a\xc3\xa9\xc3\xa8"), "1-5");
	CHECKSTR(m("[\xc3\xa0-\xc3\xbc]", 0, "x\xc3\xb6"), "1-3");
	CHECKSTR(m("a.b", 0, "a\xff" "b"), "0-3");	/* a stray byte is one too */
	/* text with NULs */
	{
		Regex *re = re_comp("b.c", 0);
		Rematch v[1];

		CHECK(re != NULL && re_exec(re, "ab\0cd", 5, v, 1) == 1 && v[0].so == 1 && v[0].eo == 4);
		re_free(re);
	}
}

TEST(regexp_errors)
{
	char deep[200];
	int i;

	CHECKSTR(m("(a", 0, ""), "error: unmatched (");
	CHECKSTR(m("a)", 0, ""), "error: unmatched )");
	CHECKSTR(m("[a", 0, ""), "error: unmatched [");
	CHECKSTR(m("*a", 0, ""), "error: missing operand for *");
	CHECKSTR(m("a|+", 0, ""), "error: missing operand for +");
	CHECKSTR(m("a\\", 0, ""), "error: trailing \\");
	CHECKSTR(m("[z-a]", 0, ""), "error: bad range in class");
	for (i = 0; i < 70; i++)
		deep[i] = '(';
	for (; i < 140; i++)
		deep[i] = ')';
	deep[i] = 0;
	CHECKSTR(m(deep, 0, ""), "error: parentheses nested too deep");
	deep[RE_DEPTH] = 0;
	memset(deep + RE_DEPTH / 2, ')', RE_DEPTH / 2);
	CHECKSTR(m(deep, 0, "x"), "0-0 0-0 0-0 0-0 0-0 0-0 0-0 0-0 0-0 0-0 0-0");
}

/* Time linear in the text whatever the pattern: what backtracking makes exponential */
TEST(regexp_linear)
{
	static char text[200001];
	Regex *re;

	memset(text, 'a', sizeof text - 1);
	CHECKSTR(m("(a*)*b", 0, text), "none");
	CHECKSTR(m("(a|aa)*c", 0, text), "none");
	re = re_comp("(x+x+)+y", 0);
	memset(text, 'x', sizeof text - 1);
	CHECK(re != NULL && re_exec(re, text, strlen(text), NULL, 0) == 0);
	re_free(re);
}
