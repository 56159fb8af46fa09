#include <stdio.h>
#include "unit.h"
#include "addr.h"

#define X8 "xxxxxxxx"
#define X61 X8 X8 X8 X8 X8 X8 X8 "xxxxx"
#define X62 X61 "x"
#define X63 X62 "x"
#define X64 X63 "x"
#define D189 X63 "." X63 "." X61	/* octets: the name says how many */
#define D190 X63 "." X63 "." X62
#define D255 X63 "." X63 "." X63 "." X63
#define D256 X63 "." X63 "." X63 "." X62 ".a"

typedef struct Row {
	int kind;		/* P path, L list, A addr_parse, B bang, D domain */
	const char *in;
	const char *want;	/* show() of the result */
	const char *err;	/* or part of the error */
} Row;

static const Row rows[] = {
	/* RFC 5321 paths */
	{ 'P', "<>", "<>", 0 },
	{ 'P', "<userx@y.foo.org>", "userx@y.foo.org", 0 },
	{ 'P', "<JQP@bar.com>", "JQP@bar.com", 0 },
	{ 'P', "<@hosta.int,@jkl.org:userc@d.bar.org>", "userc@d.bar.org", 0 },
	{ 'P', "<@hosta.int:u@d.org>", "u@d.org", 0 },
	{ 'P', "<Postmaster>", "Postmaster", 0 },
	{ 'P', "<postmaster>", "postmaster", 0 },
	{ 'P', "<POSTMASTER>", "POSTMASTER", 0 },
	{ 'P', "<Postmaster@example.org>", "Postmaster@example.org", 0 },
	{ 'P', "<\"Smith, John\"@example.com>", "Smith, John@example.com", 0 },
	{ 'P', "<\"Abc\\@def\"@example.com>", "Abc@def@example.com", 0 },
	{ 'P', "<\"Fred\\ Bloggs\"@example.com>", "Fred Bloggs@example.com", 0 },
	{ 'P', "<\"Joe\\\\Blow\"@example.com>", "Joe\\Blow@example.com", 0 },
	{ 'P', "<\"a\\\"b\"@example.com>", "a\"b@example.com", 0 },
	{ 'P', "<\"john\"@example.com>", "john@example.com", 0 },
	{ 'P', "<\"a..b\"@example.com>", "a..b@example.com", 0 },
	{ 'P', "<customer/department=shipping@example.com>", "customer/department=shipping@example.com", 0 },
	{ 'P', "<$A12345@example.com>", "$A12345@example.com", 0 },
	{ 'P', "<!def!xyz%abc@example.com>", "!def!xyz%abc@example.com", 0 },
	{ 'P', "<_somename@example.com>", "_somename@example.com", 0 },
	{ 'P', "<a.b.c@example.com>", "a.b.c@example.com", 0 },
	{ 'P', "<user@[192.0.2.1]>", "user@[192.0.2.1]", 0 },
	{ 'P', "<user@[IPv6:2001:db8::1]>", "user@[IPv6:2001:db8::1]", 0 },
	{ 'P', "<user@[ipv6:::1]>", "user@[ipv6:::1]", 0 },
	{ 'P', "<user@[IPv6:::ffff:192.0.2.1]>", "user@[IPv6:::ffff:192.0.2.1]", 0 },
	{ 'P', "<用户@例子.广告>", "用户@例子.广告", 0 },
	{ 'P', "<θσερ@εχαμπλε.ψομ>", "θσερ@εχαμπλε.ψομ", 0 },
	{ 'P', "<\"ünï cødé\"@example.com>", "ünï cødé@example.com", 0 },
	{ 'P', "<x@xn--bcher-kva.example>", "x@xn--bcher-kva.example", 0 },
	{ 'P', "<a@b-c.d>", "a@b-c.d", 0 },
	{ 'P', "<a@1.2.3.4>", "a@1.2.3.4", 0 },
	{ 'P', "  <a@b>", "a@b", 0 },
	{ 'P', "<" X64 "@a.b>", X64 "@a.b", 0 },
	{ 'P', "<" X64 "@" D189 ">", X64 "@" D189, 0 },
	{ 'P', "<a@" X63 ".b>", "a@" X63 ".b", 0 },
	{ 'P', "a@b", 0, "missing <" },
	{ 'P', "", 0, "missing <" },
	{ 'P', "\r\n", 0, "control character" },
	{ 'P', "<a@b", 0, "missing >" },
	{ 'P', "<a", 0, "missing >" },
	{ 'P', "<a@b\r\n>", 0, "control character" },
	{ 'P', "<a\r@b>", 0, "control character" },
	{ 'P', "<a\nb@c>", 0, "control character" },
	{ 'P', "<a\tb@c>", 0, "control character" },
	{ 'P', "<\"a\tb\"@c>", 0, "control character" },
	{ 'P', "<\"a\\\x01\"@c>", 0, "control character" },
	{ 'P', "<a\x7f@b>", 0, "control character" },
	{ 'P', "<" X64 "x@a.b>", 0, "local part too long" },
	{ 'P', "<\"" X64 "\"@a.b>", 0, "local part too long" },
	{ 'P', "<a@" X64 ".b>", 0, "label too long" },
	{ 'P', "<" X64 "@" D190 ">", 0, "path too long" },
	{ 'P', "<a@" D256 ">", 0, "path too long" },
	{ 'P', "<a..b@c>", 0, "misplaced dot" },
	{ 'P', "<.a@c>", 0, "misplaced dot" },
	{ 'P', "<a.@c>", 0, "misplaced dot" },
	{ 'P', "<a@b..c>", 0, "empty label" },
	{ 'P', "<a@.b>", 0, "empty label" },
	{ 'P', "<a@b.>", 0, "empty label" },
	{ 'P', "<a@-b.c>", 0, "label starts or ends with -" },
	{ 'P', "<a@b-.c>", 0, "label starts or ends with -" },
	{ 'P', "<a@b_c.d>", 0, "bad character in domain" },
	{ 'P', "<a@b c>", 0, "bad character in domain" },
	{ 'P', "<a@>", 0, "empty domain" },
	{ 'P', "<@a>", 0, "bad source route" },
	{ 'P', "<@a,b:c@d>", 0, "bad source route" },
	{ 'P', "<@[1.2.3.4]:c@d>", 0, "bad source route" },
	{ 'P', "<@a:>", 0, "empty local part" },
	{ 'P', "<@a:@b>", 0, "empty local part" },
	{ 'P', "<user>", 0, "missing domain" },
	{ 'P', "<\"postmaster\">", 0, "missing domain" },
	{ 'P', "<a b@c>", 0, "bad character in local part" },
	{ 'P', "< a@b>", 0, "bad character in local part" },
	{ 'P', "<a\\b@c>", 0, "bad character in local part" },
	{ 'P', "<\"a@b>", 0, "unbalanced quote" },
	{ 'P', "<\"a\"b@c>", 0, "bad character in local part" },
	{ 'P', "<a@[1.2.3]>", 0, "bad address literal" },
	{ 'P', "<a@[256.1.1.1]>", 0, "bad address literal" },
	{ 'P', "<a@[1.2.3.4.5]>", 0, "bad address literal" },
	{ 'P', "<a@[01.2.3.4]>", 0, "bad address literal" },
	{ 'P', "<a@[IPv6:1::2::3]>", 0, "bad address literal" },
	{ 'P', "<a@[IPv6:12345::]>", 0, "bad address literal" },
	{ 'P', "<a@[IPv6:1.2.3.4]>", 0, "bad address literal" },
	{ 'P', "<a@[IPv6:::1%eth0]>", 0, "bad address literal" },
	{ 'P', "<a@[IPv7:1::2]>", 0, "bad address literal" },
	{ 'P', "<a@[]>", 0, "bad address literal" },
	{ 'P', "<a@[1.2.3.4>", 0, "unbalanced bracket" },
	{ 'P', "<-oQ/tmp@x.org>", 0, "local part starts with -" },
	{ 'P', "<\"-x\"@x.org>", 0, "local part starts with -" },
	{ 'P', "<\"\"@x.org>", 0, "empty local part" },
	{ 'P', "<a@\xc3\x28.com>", 0, "bad UTF-8" },
	{ 'P', "<\xc0\xaf@x.com>", 0, "bad UTF-8" },
	{ 'P', "<\xed\xa0\x80@x.com>", 0, "bad UTF-8" },
	{ 'P', "<\xf4\x90\x80\x80@x.com>", 0, "bad UTF-8" },
	{ 'P', "<\xe4\xbd@x.com>", 0, "bad UTF-8" },

	/* RFC 5322 address lists, Appendix A first */
	{ 'L', "John Doe <jdoe@machine.example>", "jdoe@machine.example (John Doe)", 0 },
	{ 'L', "Mary Smith <mary@example.net>", "mary@example.net (Mary Smith)", 0 },
	{ 'L', "\"Joe Q. Public\" <john.q.public@example.com>", "john.q.public@example.com (Joe Q. Public)", 0 },
	{ 'L', "Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>",
	    "mary@x.test (Mary Smith), jdoe@example.org, one@y.test (Who?)", 0 },
	{ 'L', "<boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>",
	    "boss@nil.test, sysservices@example.net (Giant; \"Big\" Box)", 0 },
	{ 'L', "A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;",
	    "c@a.test (Ed Jones) [A Group], joe@where.test [A Group], jdoe@one.test (John) [A Group]", 0 },
	{ 'L', "Undisclosed recipients:;", "", 0 },
	{ 'L', "Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>", "pete@silly.test (Pete)", 0 },
	{ 'L', "A Group(Some people)\r\n     :Chris Jones <c@(Chris's host.)public.example>,\r\n"
	    "         joe@example.org,\r\n  John <jdoe@one.test> (my dear friend); (the end of the group)",
	    "c@public.example (Chris Jones) [A Group], joe@example.org [A Group], jdoe@one.test (John) [A Group]", 0 },
	{ 'L', "(Empty list)(start)Hidden recipients  :(nobody(that I know))  ;", "", 0 },
	{ 'L', "Joe Q. Public <john.q.public@example.com>", "john.q.public@example.com (Joe Q. Public)", 0 },
	{ 'L', "Mary Smith <@node.test:mary@example.net>, , jdoe@test  . example",
	    "mary@example.net (Mary Smith), jdoe@test.example", 0 },
	{ 'L', "<@a.test,,@b.test:x@c.test>", "x@c.test", 0 },
	{ 'L', "John Doe <jdoe@machine(comment).  example>", "jdoe@machine.example (John Doe)", 0 },
	{ 'L', "Mary Smith\r\n  \r\n <mary@example.net>", "mary@example.net (Mary Smith)", 0 },
	{ 'L', "john . doe @ example . com", "john.doe@example.com", 0 },
	{ 'L', "\"john\".doe@example.com", "john.doe@example.com", 0 },
	{ 'L', "\"john doe\"@example.com", "john doe@example.com", 0 },
	{ 'L', "joe", "joe", 0 },
	{ 'L', "root, joe@x.org", "root, joe@x.org", 0 },
	{ 'L', "Joe <joe>", "joe (Joe)", 0 },
	{ 'L', "undisclosed-recipients:", "", 0 },
	{ 'L', "g: a@b.c", "a@b.c [g]", 0 },
	{ 'L', "g: a@b.c;, d@e.f", "a@b.c [g], d@e.f", 0 },
	{ 'L', "g:,,a@b.c,,;", "a@b.c [g]", 0 },
	{ 'L', "Jörg <jörg@bücher.example>", "jörg@bücher.example (Jörg)", 0 },
	{ 'L', "=?utf-8?q?J=C3=B6rg?= <j@x.org>", "j@x.org (=?utf-8?q?J=C3=B6rg?=)", 0 },
	{ 'L', ", , a@b.c ,,", "a@b.c", 0 },
	{ 'L', "", "", 0 },
	{ 'L', " \t ", "", 0 },
	{ 'L', "a@[IPv6:::1]", "a@[IPv6:::1]", 0 },
	{ 'L', "a@ [1.2.3.4] (x)", "a@[1.2.3.4]", 0 },
	{ 'L', "Joe(x)Bloggs <a@b.c>", "a@b.c (Joe Bloggs)", 0 },
	{ 'L', "Joe\t Bloggs <a@b.c>", "a@b.c (Joe Bloggs)", 0 },
	{ 'L', "\"\" <a@b.c>", "a@b.c", 0 },
	{ 'L', "\"a\\\tb\" <x@y.z>", "x@y.z (a\tb)", 0 },
	{ 'L', "\" Joe  \" <x@y.z>", "x@y.z ( Joe  )", 0 },
	{ 'L', "a@b.c,\n d@e.f", "a@b.c, d@e.f", 0 },
	{ 'L', "((a)(b(c))) a@b.c", "a@b.c", 0 },
	{ 'L', "(\\(\\)\xc3\xa9) a@b.c", "a@b.c", 0 },
	{ 'L', X64 "@" D189, X64 "@" D189, 0 },
	{ 'L', "a@b.c\r\nd@e.f", 0, "control character" },
	{ 'L', "a@b.c\r\n", 0, "control character" },
	{ 'L', "a@b.c\x7f", 0, "control character" },
	{ 'L', "(comment \x01) a@b.c", 0, "control character" },
	{ 'L', "\"a\x01\" <a@b.c>", 0, "control character" },
	{ 'L', "John Doe <jdoe@machine.example", 0, "missing >" },
	{ 'L', "John Doe jdoe@machine.example>", 0, "space in local part" },
	{ 'L', "John Doe, a@b.c", 0, "space in local part" },
	{ 'L', "a@b.c d@e.f", 0, "missing comma" },
	{ 'L', "Joe <a@b.c> d@e.f", 0, "missing comma" },
	{ 'L', "\"unterminated <a@b.c>", 0, "unbalanced quote" },
	{ 'L', "(unterminated a@b.c", 0, "unbalanced parenthesis" },
	{ 'L', "a@b.c)", 0, "unbalanced parenthesis" },
	{ 'L', "a@[1.2.3.4", 0, "unbalanced bracket" },
	{ 'L', "a@b.c]", 0, "unbalanced bracket" },
	{ 'L', "a@[1.2.3.4.5]", 0, "bad address literal" },
	{ 'L', "a@[ 1.2.3.4]", 0, "bad address literal" },
	{ 'L', ".joe <a@b.c>", 0, "bad display name" },
	{ 'L', "A:B:c@d;", 0, "nested group" },
	{ 'L', ":a@b;", 0, "missing group name" },
	{ 'L', "a@b;", 0, "; outside a group" },
	{ 'L', "g:;h:;", 0, "missing comma" },
	{ 'L', "<>", 0, "empty address" },
	{ 'L', "Joe <>", 0, "empty address" },
	{ 'L', "@b.c", 0, "missing local part" },
	{ 'L', "a@", 0, "missing domain" },
	{ 'L', "a@b..c", 0, "empty label" },
	{ 'L', "a@b.c.", 0, "empty label" },
	{ 'L', "a.@b.c", 0, "misplaced dot" },
	{ 'L', "a..b@c.d", 0, "misplaced dot" },
	{ 'L', "a@b_c.d", 0, "bad character in domain" },
	{ 'L', "-x@b.c", 0, "local part starts with -" },
	{ 'L', "\"a\tb\"@c.d", 0, "control character" },
	{ 'L', X64 "x@a.b", 0, "local part too long" },
	{ 'L', X64 "@" D190, 0, "address too long" },
	{ 'L', "\"" X61 "\\\"\"@a.b", 0, "local part too long" },
	{ 'L', "\"" X61 "\"@a.b", X61 "@a.b", 0 },
	{ 'L', "\"" X61 " \"@a.b", X61 " @a.b", 0 },
	{ 'L', "a@" D256, 0, "domain too long" },
	{ 'L', "Jo\x80" "e <a@b.c>", 0, "bad UTF-8" },
	{ 'L', "a\\b@c.d", 0, "bad character" },
	{ 'L', "a@b.c, <x@y.z", 0, "missing >" },

	/* upas bang form */
	{ 'B', "user", "user", 0 },
	{ 'B', "dom!user", "user@dom", 0 },
	{ 'B', "a!b!user", "user@b via a", 0 },
	{ 'B', "a.org!b.net!c.com!u", "u@c.com via a.org!b.net", 0 },
	{ 'B', "[1.2.3.4]!u", "u@[1.2.3.4]", 0 },
	{ 'B', "dom!\"a!b\"", "a!b@dom", 0 },
	{ 'B', "\"a!b\"", "a!b", 0 },
	{ 'B', "dom!\"john doe\"", "john doe@dom", 0 },
	{ 'B', "dom!john.doe", "john.doe@dom", 0 },
	{ 'B', "bücher.example!jörg", "jörg@bücher.example", 0 },
	{ 'B', "-oQ/tmp", 0, "local part starts with -" },
	{ 'B', "dom!-x", 0, "local part starts with -" },
	{ 'B', "!user", 0, "empty domain" },
	{ 'B', "dom!", 0, "empty local part" },
	{ 'B', "", 0, "empty local part" },
	{ 'B', "a!!b", 0, "empty domain" },
	{ 'B', "dom!a@b", 0, "bad character in local part" },
	{ 'B', "dom!a b", 0, "bad character in local part" },
	{ 'B', "dom!a\nb", 0, "control character" },
	{ 'B', "do_m!a", 0, "bad character in domain" },
	{ 'B', "dom!\"a", 0, "unbalanced quote" },
	{ 'B', "dom!\"a\"b", 0, "bad character in local part" },
	{ 'B', D190 "!" X64, 0, "address too long" },

	/* a user's command line */
	{ 'A', "joe", "joe", 0 },
	{ 'A', "joe@example.com", "joe@example.com", 0 },
	{ 'A', "Joe Bloggs <joe@example.com>", "joe@example.com (Joe Bloggs)", 0 },
	{ 'A', "example.com!joe", "joe@example.com", 0 },
	{ 'A', "a!b!c", "c@b via a", 0 },
	{ 'A', "a!b@c.d", "a!b@c.d", 0 },
	{ 'A', " joe@x.org (Joe) ", "joe@x.org", 0 },
	{ 'A', "a@b.c, d@e.f", 0, "not one address" },
	{ 'A', "g: a@b.c;", 0, "not one address" },
	{ 'A', "", 0, "no address" },
	{ 'A', "-oQ/tmp", 0, "local part starts with -" },
	{ 'A', "a@b.c\n", 0, "control character" },

	/* domains */
	{ 'D', "example.com", "ok", 0 },
	{ 'D', "localhost", "ok", 0 },
	{ 'D', "a", "ok", 0 },
	{ 'D', "例子.广告", "ok", 0 },
	{ 'D', D255, "ok", 0 },
	{ 'D', X63 ".a", "ok", 0 },
	{ 'D', "[127.0.0.1]", "ok", 0 },
	{ 'D', "[IPv6:::1]", "ok", 0 },
	{ 'D', D256, 0, "domain too long" },
	{ 'D', X64 ".a", 0, "label too long" },
	{ 'D', "", 0, "empty domain" },
	{ 'D', "a..b", 0, "empty label" },
	{ 'D', ".a", 0, "empty label" },
	{ 'D', "a.", 0, "empty label" },
	{ 'D', "-a.b", 0, "label starts or ends with -" },
	{ 'D', "a b", 0, "bad character in domain" },
	{ 'D', "a\rb", 0, "control character" },
	{ 'D', "[1.2.3.04]", 0, "bad address literal" },
};

static int
streq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

/* The fields as they are, unquoted, so a row says exactly what was decoded. */
static void
show(Str *o, const Addr *a)
{
	if (a->local == NULL) {
		str_adds(o, "<>");
		return;
	}
	str_adds(o, a->local);
	if (a->domain)
		str_fmt(o, "@%s", a->domain);
	if (a->route)
		str_fmt(o, " via %s", a->route);
	if (a->name)
		str_fmt(o, " (%s)", a->name);
	if (a->group)
		str_fmt(o, " [%s]", a->group);
}

static int
run(Arena *ar, const Row *r, Addr **v, int *nv)
{
	static Addr one;
	size_t n = strlen(r->in), used;

	*v = &one;
	*nv = 1;
	switch (r->kind) {
	case 'P':
		if (addr_path(ar, r->in, n, &one, &used) < 0)
			return -1;
		return used == n ? 0 : -2;
	case 'L':
		return addr_list(ar, r->in, n, v, nv);
	case 'A':
		return addr_parse(ar, r->in, &one);
	case 'B':
		return addr_frombang(ar, r->in, &one);
	}
	*nv = 0;
	return addr_domainok(r->in) ? 0 : -1;
}

/* Every valid address must come back the same through each written form. */
static void
roundtrip(Arena *ar, const Row *r, const Addr *a)
{
	char *t, *b, *m, buf[LIM_PATH + 8];
	Addr *v, x;
	int nv;
	size_t used;

	if (a->local == NULL) {
		CHECKSTR(addr_text(ar, a), "");
		CHECKSTR(addr_bang(ar, a), "");
		CHECK(addr_mailbox(ar, a) == NULL);
		return;
	}
	t = addr_text(ar, a);
	if (!CHECK(t != NULL)) {
		printf("#   %s: addr_text: %s\n", r->in, lasterr());
		return;
	}
	if (!CHECK(addr_list(ar, t, strlen(t), &v, &nv) == 0 && nv == 1
	    && streq(v->local, a->local) && streq(v->domain, a->domain)))
		printf("#   text %s of %s\n", t, r->in);
	if (a->domain) {
		snprintf(buf, sizeof buf, "<%s>", t);
		if (!CHECK(addr_path(ar, buf, strlen(buf), &x, &used) == 0 && used == strlen(buf)
		    && streq(x.local, a->local) && streq(x.domain, a->domain)))
			printf("#   path %s of %s: %s\n", buf, r->in, lasterr());
	}
	b = addr_bang(ar, a);
	if (!CHECK(b && addr_frombang(ar, b, &x) == 0 && streq(x.local, a->local)
	    && streq(x.domain, a->domain) && streq(x.route, a->route)))
		printf("#   bang %s of %s: %s\n", b ? b : "(null)", r->in, lasterr());
	m = addr_mailbox(ar, a);
	if (!CHECK(m && addr_list(ar, m, strlen(m), &v, &nv) == 0 && nv == 1 && streq(v->local, a->local)
	    && streq(v->domain, a->domain) && streq(v->name, a->name)))
		printf("#   mailbox %s of %s: %s\n", m ? m : "(null)", r->in, lasterr());
}

TEST(addr_table)
{
	Arena ar = {0};
	Str o = {0};
	Addr *v;
	size_t i;
	int j, nv, rc;

	for (i = 0; i < nelem(rows); i++) {
		const Row *r = &rows[i];

		str_reset(&o);
		str_adds(&o, "");
		rc = run(&ar, r, &v, &nv);
		if (r->err) {
			if (!CHECK(rc == -1 && strstr(lasterr(), r->err) != NULL))
				printf("#   row %zu %c \"%s\": got rc %d \"%s\", want \"%s\"\n",
				    i, r->kind, r->in, rc, rc == -1 ? lasterr() : "", r->err);
			continue;
		}
		if (!CHECK(rc == 0)) {
			printf("#   row %zu %c \"%s\": %s\n", i, r->kind, r->in, rc == -1 ? lasterr() : "path not all used");
			continue;
		}
		if (r->kind == 'D')
			continue;
		for (j = 0; j < nv; j++) {
			if (j > 0)
				str_adds(&o, ", ");
			show(&o, &v[j]);
		}
		if (!CHECKSTR(o.p, r->want))
			printf("#   row %zu %c \"%s\"\n", i, r->kind, r->in);
		for (j = 0; j < nv; j++)
			roundtrip(&ar, r, &v[j]);
	}
	str_free(&o);
	arena_free(&ar);
}

/* The lengths given are the ends: a NUL inside is a bad byte like any other. */
TEST(addr_nul)
{
	Arena ar = {0};
	Addr a, *v;
	size_t used;
	int nv;

	CHECK(addr_path(&ar, "<a\0b@c>", 8, &a, &used) == -1);
	CHECKSTR(lasterr(), "control character in address");
	CHECK(addr_path(&ar, "<a@b\0c>", 8, &a, &used) == -1);
	CHECKSTR(lasterr(), "control character in address");
	CHECK(addr_path(&ar, "<a@b>", 4, &a, &used) == -1);
	CHECKSTR(lasterr(), "missing >");
	CHECK(addr_list(&ar, "a@b\0.c", 6, &v, &nv) == -1);
	CHECKSTR(lasterr(), "control character in address");
	CHECK(addr_list(&ar, "a@b.c\0", 6, &v, &nv) == -1);
	CHECK(addr_list(&ar, "\"a\0\"@b.c", 8, &v, &nv) == -1);
	CHECK(addr_list(&ar, "(\0) a@b.c", 9, &v, &nv) == -1);
	CHECK(addr_list(&ar, "a@b.c, d@e.f", 5, &v, &nv) == 0 && nv == 1);
	arena_free(&ar);
}

TEST(addr_path_used)
{
	Arena ar = {0};
	Addr a;
	size_t used = 0;

	CHECK(addr_path(&ar, "<a@b> SIZE=100", 14, &a, &used) == 0 && used == 5);
	CHECK(addr_path(&ar, "<> BODY=8BITMIME", 16, &a, &used) == 0 && used == 2);
	CHECK(a.local == NULL && a.domain == NULL);
	CHECK(addr_path(&ar, " <a@b>x", 7, &a, &used) == 0 && used == 6);
	CHECK(addr_path(&ar, "<postmaster> x", 14, &a, &used) == 0 && used == 12);
	arena_free(&ar);
}

TEST(addr_format)
{
	Arena ar = {0};
	Addr a = {0};

	a.local = "john doe";
	a.domain = "example.com";
	CHECKSTR(addr_text(&ar, &a), "\"john doe\"@example.com");
	CHECKSTR(addr_bang(&ar, &a), "example.com!\"john doe\"");
	a.local = "a\"b\\c";
	CHECKSTR(addr_text(&ar, &a), "\"a\\\"b\\\\c\"@example.com");
	a.local = "a!b";
	CHECKSTR(addr_text(&ar, &a), "a!b@example.com");
	CHECKSTR(addr_bang(&ar, &a), "example.com!\"a!b\"");
	a.local = "john.q.public";
	a.name = "Joe Q. Public";
	CHECKSTR(addr_mailbox(&ar, &a), "\"Joe Q. Public\" <john.q.public@example.com>");
	a.name = "Joe Public";
	CHECKSTR(addr_mailbox(&ar, &a), "Joe Public <john.q.public@example.com>");
	a.name = "Giant; \"Big\" Box";
	CHECKSTR(addr_mailbox(&ar, &a), "\"Giant; \\\"Big\\\" Box\" <john.q.public@example.com>");
	a.name = NULL;
	CHECKSTR(addr_mailbox(&ar, &a), "john.q.public@example.com");
	a.route = "a.org!b.org";
	CHECKSTR(addr_bang(&ar, &a), "a.org!b.org!example.com!john.q.public");
	CHECKSTR(addr_text(&ar, &a), "john.q.public@example.com");
	a.route = NULL;
	a.domain = NULL;
	CHECKSTR(addr_text(&ar, &a), "john.q.public");
	CHECKSTR(addr_bang(&ar, &a), "john.q.public");
	arena_free(&ar);
}

/* An Addr built by hand is checked before it is written anywhere. */
TEST(addr_format_bad)
{
	static const Addr bad[] = {
		{ "a\r\nRCPT TO:<x@y>", "b.c", 0, 0, 0 },
		{ "-oQ/tmp", 0, 0, 0, 0 },
		{ "", "b.c", 0, 0, 0 },
		{ "a", "b_c", 0, 0, 0 },
		{ "a", "b.c", 0, "Joe\nBcc: x@y", 0 },
		{ "a", "b.c", 0, "\xff", 0 },
		{ "a", 0, "r.org", 0, 0 },
		{ "a", "b.c", "r..org", 0, 0 },
		{ 0, "b.c", 0, 0, 0 },
		{ X64 "x", "b.c", 0, 0, 0 },
		{ X64, D190, 0, 0, 0 },
	};
	Arena ar = {0};
	size_t i;

	for (i = 0; i < nelem(bad); i++) {
		if (bad[i].local == NULL) {
			CHECK(addr_text(&ar, &bad[i]) == NULL);
			continue;
		}
		if (!CHECK(addr_mailbox(&ar, &bad[i]) == NULL))
			printf("#   entry %zu\n", i);
		if (bad[i].name == NULL)
			CHECK(addr_text(&ar, &bad[i]) == NULL && addr_bang(&ar, &bad[i]) == NULL);
	}
	arena_free(&ar);
}

TEST(addr_utf8)
{
	Arena ar = {0};
	Addr a;

	CHECK(addr_frombang(&ar, "example.com!joe", &a) == 0 && !addr_utf8(&a));
	CHECK(addr_frombang(&ar, "bücher.example!joe", &a) == 0 && addr_utf8(&a));
	CHECK(addr_frombang(&ar, "例子.广告!用户", &a) == 0 && addr_utf8(&a));
	CHECK(addr_parse(&ar, "Jörg <joe@x.org>", &a) == 0 && !addr_utf8(&a));
	arena_free(&ar);
}

/* A hostile list costs no more than LIM_ADDRS addresses' worth of work. */
TEST(addr_many)
{
	Arena ar = {0};
	Str s = {0};
	Addr *v;
	int i, nv;

	for (i = 0; i < LIM_ADDRS; i++)
		str_adds(&s, "a@b.c,");
	CHECK(addr_list(&ar, s.p, s.n, &v, &nv) == 0 && nv == LIM_ADDRS);
	CHECK(strcmp(v[LIM_ADDRS - 1].domain, "b.c") == 0);
	for (; i < 100000; i++)
		str_adds(&s, "a@b.c,");
	CHECK(addr_list(&ar, s.p, s.n, &v, &nv) == -1 && nv == 0);
	CHECKSTR(lasterr(), "too many addresses");
	str_reset(&s);
	for (i = 0; i < LIM_ADDRS * LIM_HDRLINE; i += 8)
		str_adds(&s, "        ");
	str_adds(&s, "a@b.c");
	CHECK(addr_list(&ar, s.p, s.n, &v, &nv) == -1);
	CHECKSTR(lasterr(), "address list too long");
	str_free(&s);
	arena_free(&ar);
}

TEST(addr_deep)
{
	Arena ar = {0};
	Str s = {0};
	Addr *v;
	int i, nv;

	for (i = 0; i < 8; i++)
		str_addc(&s, '(');
	for (i = 0; i < 8; i++)
		str_addc(&s, ')');
	str_adds(&s, "a@b.c");
	CHECK(addr_list(&ar, s.p, s.n, &v, &nv) == 0 && nv == 1);
	str_reset(&s);
	for (i = 0; i < 100000; i++)
		str_addc(&s, '(');
	for (i = 0; i < 100000; i++)
		str_addc(&s, ')');
	str_adds(&s, "a@b.c");
	CHECK(addr_list(&ar, s.p, s.n, &v, &nv) == -1);
	CHECKSTR(lasterr(), "comments nested too deeply");
	str_free(&s);
	arena_free(&ar);
}
