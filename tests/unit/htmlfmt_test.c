/* Unit tests over core/htmlfmt.c: HTML bodies as text. */
#include <stdio.h>
#include <string.h>
#include "unit.h"
#include "htmlfmt.h"

static char *
fmt(const char *html, int width)
{
	static Str o;

	str_reset(&o);
	html_text(&o, html, strlen(html), width);
	str_addc(&o, 0);
	return o.p;
}

TEST(html_blocks)
{
	CHECKSTR(fmt("<html><head><title>T</title><style>p{x}</style></head><body>"
	    "<h1>Hello &amp; welcome</h1><p>One <b>two</b>\n three.</p><p>Four</p></body></html>", 60),
	    "Hello & welcome\n\nOne two three.\n\nFour\n");
	CHECKSTR(fmt("a<br>b<br/>c<div>d</div>e", 60), "a\nb\nc\nd\ne\n");
	CHECKSTR(fmt("<ul><li>one</li><li>two<ul><li>in</li></ul></li></ul>", 60), "* one\n* two\n  * in\n");
	CHECKSTR(fmt("<pre>  keep   this\n   as is</pre>after", 60), "  keep   this\n   as is\n\nafter\n");
	CHECKSTR(fmt("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td><td>d</td></tr></table>", 60), "a b\nc d\n");
	CHECKSTR(fmt("x<script>alert(1)</script><!-- <p>no --> y", 60), "x y\n");
	CHECKSTR(fmt("<hr>", 60), "----------\n");
}

TEST(html_inline)
{
	CHECKSTR(fmt("AT&amp;T &#233;t&eacute; &lt;t&gt; &#x263A; a&nbsp;b &bogus; &#0;", 60),
	    "AT&T \xc3\xa9t&eacute; <t> \xe2\x98\xba a b &bogus; \xef\xbf\xbd\n");
	CHECKSTR(fmt("see <a href=\"https://example.org/x\">the page</a>.", 60), "see the page <https://example.org/x>.\n");
	CHECKSTR(fmt("<a href='https://e.org/'>https://e.org/</a>", 60), "https://e.org/\n");
	CHECKSTR(fmt("<a href=\"mailto:a@b.org\">a@b.org</a> <a href=\"javascript:x\">j</a>", 60), "a@b.org j\n");
	CHECKSTR(fmt("<img src=x alt=\"a pic\">", 60), "[a pic]\n");
	CHECKSTR(fmt("1 < 2 and 3 > 2 <", 60), "1 < 2 and 3 > 2 <\n");
	CHECKSTR(fmt("<p title=\"a>b\">x</p>", 60), "x\n");
}

TEST(html_fill)
{
	CHECKSTR(fmt("aaa bbb ccc ddd eee", 11), "aaa bbb ccc\nddd eee\n");
	CHECKSTR(fmt("\xc3\xa9\xc3\xa9\xc3\xa9 \xc3\xa9\xc3\xa9\xc3\xa9 x", 11), "\xc3\xa9\xc3\xa9\xc3\xa9 \xc3\xa9\xc3\xa9\xc3\xa9 x\n");
	CHECKSTR(fmt("", 60), "");
	CHECKSTR(fmt("   ", 60), "");
}
