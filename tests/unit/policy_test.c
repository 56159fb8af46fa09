/* Unit tests over core/policy.c: networks, smtpd.conf, ratification, names.blocked, greylisting. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "policy.h"
#include "unit.h"

static char root[256];

/* A fresh mail root unit_tmpdir()/name for one test. */
static void
newroot(const char *name)
{
	snprintf(root, sizeof root, "%s/%s", unit_tmpdir(), name);
	CHECK(mkdir(root, 0755) == 0);
	setenv("UPASROOT", root, 1);
	policy_reset();
}

static void
endroot(void)
{
	unsetenv("UPASROOT");
	policy_reset();
}

/* ROOT/rel, its directories made as needed */
static char *
at(const char *rel)
{
	static char buf[512];
	char *p;

	snprintf(buf, sizeof buf, "%s/%s", root, rel);
	for (p = buf + strlen(root) + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = 0;
		mkdir(buf, 0755);
		*p = '/';
	}
	return buf;
}

static void
put(const char *rel, const char *text)
{
	int fd = open(at(rel), O_WRONLY | O_CREAT | O_TRUNC, 0644);

	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
		close(fd);
	}
}

/* Date ROOT/rel secs seconds back (negative: ahead). */
static void
age(const char *rel, long secs)
{
	struct timeval tv[2];

	gettimeofday(&tv[0], NULL);
	tv[0].tv_sec -= secs;
	tv[1] = tv[0];
	CHECK(utimes(at(rel), tv) == 0);
}

static int
exists(const char *rel)
{
	struct stat st;

	return lstat(at(rel), &st) == 0;
}

TEST(policy_net)
{
	static const struct {
		const char *net, *ip;
		int want;
	} t[] = {
		{ "1.2.3.4", "1.2.3.4", 1 },
		{ "1.2.3.4", "1.2.3.5", 0 },
		{ "1.2.3.0/24", "1.2.3.255", 1 },
		{ "1.2.3.0/24", "1.2.4.0", 0 },
		{ "1.2.3.77/24", "1.2.3.1", 1 },	/* host bits masked off */
		{ "1.2.3.0#24", "1.2.3.9", 1 },
		{ "1.2.3.4#32", "1.2.3.4", 1 },
		{ "1.2.3.4#32", "::ffff:1.2.3.4", 1 },
		{ "1.2.3.0/24", "::ffff:1.2.3.200", 1 },
		{ "::ffff:1.2.3.0/120", "1.2.3.7", 1 },
		{ "0.0.0.0/0", "200.1.1.1", 1 },
		{ "0.0.0.0/0", "2001:db8::1", 0 },
		{ "::/0", "2001:db8::1", 1 },
		{ "::/0", "10.0.0.1", 1 },
		{ "2001:db8::/32", "2001:db8:ffff::1", 1 },
		{ "2001:db8::/32", "2001:db9::1", 0 },
		{ "2001:DB8::1", "2001:db8::1", 1 },
		{ "::1", "::1", 1 },
		{ "::1", "127.0.0.1", 0 },
		{ "127.0.0.1", "::1", 0 },
		{ "10.1/16", "10.1.200.3", 1 },
		{ "10.1", "10.1.200.3", 1 },	/* upas's short form: 10.1.0.0/16 */
		{ "10.1", "10.2.0.0", 0 },
		{ "10", "10.0.9.9", 1 },	/* never wider than /16 */
		{ "10", "10.1.0.0", 0 },
		{ "10.1.2", "10.1.2.3", 1 },
		{ "10.1.2", "10.1.3.3", 0 },
		{ "1.2.3.4", "1.2.3.04", 0 },	/* the peer must be a plain dotted quad */
		{ "1.2.3.4", "1.2.3", 0 },
		{ "1.2.3.4", "", 0 },
		{ "1.2.3.4", "1.2.3.4/32", 0 },
		{ "128.0.0.0/1", "200.0.0.1", 1 },
		{ "128.0.0.0/1", "100.0.0.1", 0 },
		{ "fe80::/10", "febf::1", 1 },
		{ "fe80::/10", "fec0::1", 0 },
	};
	static const char *bad[] = {
		"", "/24", "1.2.3.4/", "1.2.3.4/33", "1.2.3.4#-1", "1.2.3.4/2x", "1.2.3.4/1234",
		"1.2.3.256", "1.2.3.04", "01.2.3.4", "1.2.3.4.5", "1..3.4", ".1.2.3", "1.2.3.",
		"a.b.c.d", "2001:db8::/129", "2001:db8:::1", "fe80::1%eth0", "1.2.3.4/24/8",
		"1.2.3.4/24#8", " 1.2.3.4", "example.com",
		"1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb:cccc:dddd:eeee/128",
	};
	Net n;
	size_t i;

	for (i = 0; i < nelem(t); i++) {
		CHECK(net_parse(t[i].net, &n) == 0);
		if (net_match(&n, t[i].ip) != t[i].want)
			printf("#   %s ~ %s: want %d\n", t[i].net, t[i].ip, t[i].want);
		CHECK(net_match(&n, t[i].ip) == t[i].want);
	}
	for (i = 0; i < nelem(bad); i++) {
		if (net_parse(bad[i], &n) == 0)
			printf("#   \"%s\" parsed\n", bad[i]);
		CHECK(net_parse(bad[i], &n) < 0);
	}
	CHECK(net_parse("1.2.3.77/24", &n) == 0 && n.bits == 120 && n.a[15] == 0 && n.a[14] == 3);
	CHECK(net_parse("2001:db8::/32", &n) == 0 && n.bits == 32);
	CHECK(net_parse("10.1", &n) == 0 && n.bits == 96 + 16);
	CHECK(net_parse(NULL, &n) < 0);
}

TEST(policy_domain)
{
	CHECK(domain_match("example.com", "example.com"));
	CHECK(domain_match("example.com", "EXAMPLE.Com"));
	CHECK(!domain_match("example.com", "mail.example.com"));
	CHECK(domain_match("*.example.com", "example.com"));
	CHECK(domain_match("*.example.com", "mail.example.com"));
	CHECK(domain_match("*.Example.COM", "a.b.example.com"));
	CHECK(!domain_match("*.example.com", "badexample.com"));
	CHECK(!domain_match("*.example.com", "example.com.evil"));
	CHECK(!domain_match("*.example.com", "com"));
	CHECK(!domain_match("example.com", "example.co"));
	CHECK(!domain_match("*.", "x"));
	CHECK(!domain_match(NULL, "x") && !domain_match("x", NULL));
}

TEST(policy_smtpdconf)
{
	Smtpdconf c;
	char path[300];

	newroot("conf");
	/* missing: all unset */
	CHECK(smtpdconf_load(&c, NULL) == 0);
	CHECK(c.defaultdomain[0] == 0 && c.norelay == -1 && c.verifysenderdom == -1 && c.saveblockedmsg == -1);
	CHECK(c.nournets == 0 && c.nourdomains == 0);

	put("lib/smtpd.conf",
	    "# smtpd.conf\n"
	    "DefaultDomain Example.ORG\n"
	    "norelay on	# no open relay\n"
	    "\n"
	    "verifysenderdom off\n"
	    "ournets 10.0.0.0/8, 192.168.1.0/24,172.16.0.0/12\n"
	    "ournets 2001:db8::/32\n"
	    "ourdomains example.org,*.Example.NET\n"
	    "ourdomains   example.com\n");
	CHECK(smtpdconf_load(&c, NULL) == 0);
	CHECKSTR(c.defaultdomain, "example.org");
	CHECK(c.norelay == 1 && c.verifysenderdom == 0 && c.saveblockedmsg == -1);
	CHECK(c.nournets == 4);
	CHECK(smtpdconf_ournet(&c, "10.9.9.9") && smtpdconf_ournet(&c, "192.168.1.7"));
	CHECK(smtpdconf_ournet(&c, "172.31.0.1") && !smtpdconf_ournet(&c, "172.32.0.1"));
	CHECK(smtpdconf_ournet(&c, "2001:db8::25") && !smtpdconf_ournet(&c, "8.8.8.8"));
	CHECK(smtpdconf_ournet(&c, "::ffff:10.1.1.1"));
	CHECK(c.nourdomains == 3);
	CHECKSTR(c.ourdomains[1], "*.example.net");
	CHECK(smtpdconf_ourdomain(&c, "EXAMPLE.org") && smtpdconf_ourdomain(&c, "mx.example.net"));
	CHECK(smtpdconf_ourdomain(&c, "example.net") && !smtpdconf_ourdomain(&c, "mx.example.org"));
	CHECK(smtpdconf_ourdomain(&c, "example.com") && !smtpdconf_ourdomain(&c, "example.edu"));

	/* the last scalar wins */
	put("lib/smtpd.conf", "norelay on\nnorelay off\nsaveblockedmsg on\n");
	CHECK(smtpdconf_load(&c, NULL) == 0 && c.norelay == 0 && c.saveblockedmsg == 1);

	/* errors name file and line */
	snprintf(path, sizeof path, "%s/lib/smtpd.conf", root);
	put("lib/smtpd.conf", "norelay on\n# x\nnorealy on\n");
	CHECK(smtpdconf_load(&c, NULL) < 0);
	CHECK(strstr(lasterr(), "smtpd.conf:3:") != NULL && strstr(lasterr(), "norealy") != NULL);
	CHECK(strncmp(lasterr(), path, strlen(path)) == 0);
	put("lib/smtpd.conf", "norelay yes\n");
	CHECK(smtpdconf_load(&c, NULL) < 0 && strstr(lasterr(), "smtpd.conf:1:") != NULL);
	put("lib/smtpd.conf", "norelay on off\n");
	CHECK(smtpdconf_load(&c, NULL) < 0);
	put("lib/smtpd.conf", "norelay\n");
	CHECK(smtpdconf_load(&c, NULL) < 0);
	put("lib/smtpd.conf", "\n\nournets 10.0.0.0/8, 10.0.0.0/33\n");
	CHECK(smtpdconf_load(&c, NULL) < 0 && strstr(lasterr(), "smtpd.conf:3:") != NULL);
	put("lib/smtpd.conf", "ourdomains exa mple.com bad_domain.com\n");
	CHECK(smtpdconf_load(&c, NULL) < 0 && strstr(lasterr(), "bad_domain") != NULL);
	put("lib/smtpd.conf", "defaultdomain a.org b.org\n");
	CHECK(smtpdconf_load(&c, NULL) < 0);
	put("lib/smtpd.conf", "ournets\n");
	CHECK(smtpdconf_load(&c, NULL) < 0);
	put("lib/smtpd.conf", "ournets 'unterminated\n");
	CHECK(smtpdconf_load(&c, NULL) < 0 && strstr(lasterr(), "smtpd.conf:1:") != NULL);
	{
		Str s = { 0 };
		int i;

		str_adds(&s, "ournets");
		for (i = 0; i <= LIM_OURNETS; i++)
			str_fmt(&s, ",10.0.%d.0/24", i);
		str_adds(&s, "\n");
		put("lib/smtpd.conf", s.p);
		CHECK(smtpdconf_load(&c, NULL) < 0 && strstr(lasterr(), "ournets") != NULL);
		str_free(&s);
	}
	/* an explicit path; a directory is not a file */
	put("other.conf", "norelay on\n");
	snprintf(path, sizeof path, "%s/other.conf", root);
	CHECK(smtpdconf_load(&c, path) == 0 && c.norelay == 1);
	snprintf(path, sizeof path, "%s/lib", root);
	CHECK(smtpdconf_load(&c, path) < 0);
	endroot();
}

TEST(policy_blocked)
{
	newroot("blocked");
	CHECK(ratify_ip("1.2.3.4") == RatNone);
	CHECK(ratify_account("bob", "example.com") == RatNone);
	policy_reset();
	put("lib/blocked",
	    "# classification\n"
	    "trusted 10.0.0.0/8\n"
	    "relay 2001:db8:1::/48\n"
	    "BLOCK 192.0.2.0/24, 198.51.100.7\n"
	    "allow 192.0.2.5\n"
	    "accept 203.0.113.0#24\n"
	    "deny 10.9.9.9\n"
	    "dial 100.64.0.0/10\n"
	    "delay 2001:db8:2::/48\n"
	    "*block spam.example, *.junk.example\n"
	    "* deny liar@Example.COM\n"
	    "*allow friend@spam.example\n"
	    "*dial example.net!badguy, !anon*\n"
	    "*delay slow@*\n");
	CHECK(ratify_ip("10.1.2.3") == RatTrusted);
	CHECK(ratify_ip("10.9.9.9") == RatTrusted);	/* trusted comes first */
	CHECK(ratify_ip("2001:db8:1::5") == RatTrusted);
	CHECK(ratify_ip("192.0.2.1") == RatBlock);
	CHECK(ratify_ip("::ffff:192.0.2.1") == RatBlock);
	CHECK(ratify_ip("192.0.2.5") == RatAllow);	/* allow overrides block */
	CHECK(ratify_ip("198.51.100.7") == RatBlock);
	CHECK(ratify_ip("198.51.100.8") == RatNone);
	CHECK(ratify_ip("203.0.113.9") == RatAllow);
	CHECK(ratify_ip("100.100.1.1") == RatDial);
	CHECK(ratify_ip("2001:db8:2::1") == RatDelay);
	CHECK(ratify_ip("2001:db8:3::1") == RatNone);
	CHECK(ratify_ip("not-an-ip") < 0);
	CHECK(ratify_ip(NULL) < 0);

	CHECK(ratify_account("x", "spam.example") == RatBlock);
	CHECK(ratify_account("x", "mx.spam.example") == RatNone);	/* plain dom is that domain only */
	CHECK(ratify_account("x", "junk.example") == RatBlock);
	CHECK(ratify_account("x", "a.b.JUNK.example") == RatBlock);
	CHECK(ratify_account("friend", "spam.example") == RatAllow);
	CHECK(ratify_account("FRIEND", "Spam.Example") == RatAllow);
	CHECK(ratify_account("liar", "example.com") == RatDeny);
	CHECK(ratify_account("liar", "mail.example.com") == RatNone);
	CHECK(ratify_account("honest", "example.com") == RatNone);
	CHECK(ratify_account("badguy", "example.net") == RatDial);
	CHECK(ratify_account("badguy", "example.org") == RatNone);
	CHECK(ratify_account("anonymous", "anywhere.example") == RatDial);
	CHECK(ratify_account("anon", "x.example") == RatDial);
	CHECK(ratify_account("ano", "x.example") == RatNone);
	CHECK(ratify_account("slow", "x.example") == RatDelay);
	CHECK(ratify_account("", "") == RatNone);
	CHECK(ratify_account(NULL, NULL) == RatNone);

	/* read once: changes show after policy_reset */
	put("lib/blocked", "block 198.51.100.8\n");
	CHECK(ratify_ip("198.51.100.8") == RatNone);
	policy_reset();
	CHECK(ratify_ip("198.51.100.8") == RatBlock);
	CHECK(ratify_ip("192.0.2.1") == RatNone);

	CHECKSTR(ratify_name(RatNone), "none");
	CHECKSTR(ratify_name(RatTrusted), "trusted");
	CHECKSTR(ratify_name(RatAllow), "allow");
	CHECKSTR(ratify_name(RatBlock), "block");
	CHECKSTR(ratify_name(RatDeny), "deny");
	CHECKSTR(ratify_name(RatDial), "dial");
	CHECKSTR(ratify_name(RatDelay), "delay");
	CHECKSTR(ratify_name(99), "unknown");
	CHECKSTR(ratify_name(-1), "unknown");
	endroot();
}

TEST(policy_blocked_errors)
{
	static const struct {
		const char *text;
		int line;
	} t[] = {
		{ "block 1.2.3.4\nreject 1.2.3.4\n", 2 },
		{ "block 1.2.3.4, 1.2.3.400\n", 1 },
		{ "# x\n\nblock spam.example\n", 3 },
		{ "*trusted friend@example.com\n", 1 },
		{ "*relay example.com\n", 1 },
		{ "*block *\n", 1 },
		{ "*block *!*\n", 1 },
		{ "*block !\n", 1 },
		{ "*block @\n", 1 },
		{ "*block bad_dom.example\n", 1 },
		{ "*block a*b@example.com\n", 1 },
		{ "*block a/b@example.com\n", 1 },
		{ "block\n", 1 },
		{ "*\n", 1 },
		{ "block 'x\n", 1 },
	};
	char want[32];
	size_t i;

	newroot("blockederr");
	for (i = 0; i < nelem(t); i++) {
		put("lib/blocked", t[i].text);
		policy_reset();
		snprintf(want, sizeof want, "blocked:%d:", t[i].line);
		CHECK(ratify_ip("1.2.3.4") < 0);
		if (strstr(lasterr(), want) == NULL)
			printf("#   %s: %s\n", t[i].text, lasterr());
		CHECK(strstr(lasterr(), want) != NULL);
		CHECK(ratify_account("a", "example.com") < 0);
	}
	{
		Str s = { 0 };
		int k;

		for (k = 0; k <= LIM_BLOCKED; k++)
			str_fmt(&s, "block 10.%d.%d.0/24\n", k / 256, k % 256);
		put("lib/blocked", s.p);
		policy_reset();
		CHECK(ratify_ip("1.2.3.4") < 0 && strstr(lasterr(), "more than") != NULL);
		str_free(&s);
	}
	endroot();
}

TEST(policy_ratify_tree)
{
	char real[512];

	newroot("tree");
	put("ratify/block/ip/192.0.2.0#24", "");
	put("ratify/allow/ip/192.0.2.5", "");
	put("ratify/deny/ip/2001:db8::#32", "");
	put("ratify/dial/ip/0.0.0.0#0", "");
	put("ratify/delay/ip/2001:db9:0:1::7#128", "");
	put("ratify/block/account/spam.example", "");
	put("ratify/block/account/*.junk.example", "");
	put("ratify/deny/account/liar@example.com", "");
	put("ratify/allow/account/friend@spam.example", "");
	put("lib/blocked", "block 198.51.100.0/24\n*block example.org\n");
	put("ratify/allow/ip/198.51.100.9#32", "");
	put("ratify/allow/account/ok@example.org", "");

	CHECK(ratify_ip("192.0.2.1") == RatBlock);
	CHECK(ratify_ip("192.0.2.5") == RatAllow);
	CHECK(ratify_ip("::ffff:192.0.2.5") == RatAllow);
	CHECK(ratify_ip("2001:db8:ffff::1") == RatDeny);
	CHECK(ratify_ip("2001:db9:0:1::7") == RatDelay);
	CHECK(ratify_ip("2001:db9:0:1::8") == RatNone);
	CHECK(ratify_ip("2001:db9::1") == RatNone);	/* 0.0.0.0#0 is IPv4 only */
	CHECK(ratify_ip("8.8.8.8") == RatDial);
	CHECK(ratify_ip("198.51.100.1") == RatBlock);	/* file */
	CHECK(ratify_ip("198.51.100.9") == RatAllow);	/* tree allow beats file block */

	CHECK(ratify_account("x", "spam.example") == RatBlock);
	CHECK(ratify_account("x", "SPAM.example") == RatBlock);
	CHECK(ratify_account("x", "sub.spam.example") == RatNone);
	CHECK(ratify_account("x", "a.b.junk.example") == RatBlock);
	CHECK(ratify_account("x", "junk.example") == RatBlock);
	CHECK(ratify_account("Liar", "Example.com") == RatDeny);
	CHECK(ratify_account("friend", "spam.example") == RatAllow);
	CHECK(ratify_account("x", "example.org") == RatBlock);
	CHECK(ratify_account("ok", "example.org") == RatAllow);
	CHECK(ratify_account("../../lib/blocked", "example.net") == RatNone);
	CHECK(ratify_account("a/b", "") == RatNone);

	/* symlinks in the tree count for nothing */
	CHECK(symlink("/etc/passwd", at("ratify/block/ip/203.0.113.0#24")) == 0);
	CHECK(symlink("spam.example", at("ratify/block/account/evil.example")) == 0);
	CHECK(ratify_ip("203.0.113.1") == RatDial);
	CHECK(ratify_account("x", "evil.example") == RatNone);
	/* nor do directories */
	CHECK(mkdir(at("ratify/deny/ip/203.0.113.7"), 0755) == 0);
	CHECK(ratify_ip("203.0.113.7") == RatDial);
	/* a symlinked class directory is an error, not a quiet nothing */
	snprintf(real, sizeof real, "%s", at("ratify/dial.real"));
	CHECK(rename(at("ratify/dial"), real) == 0);
	CHECK(symlink("dial.real", at("ratify/dial")) == 0);
	CHECK(ratify_ip("8.8.8.8") < 0);
	CHECK(unlink(at("ratify/dial")) == 0);
	CHECK(ratify_ip("8.8.8.8") == RatNone);
	endroot();
}

TEST(policy_trusted)
{
	newroot("trusted");
	CHECK(ratify_ip("192.0.2.9") == RatNone);
	CHECK(ratify_trust("::ffff:192.0.2.9") == 0);
	CHECK(exists("ratify/trusted/192.0.2.9#32"));
	CHECK(ratify_ip("192.0.2.9") == RatTrusted);
	CHECK(ratify_ip("192.0.2.10") == RatNone);
	CHECK(ratify_trust("2001:DB8:0:0::1") == 0);
	CHECK(exists("ratify/trusted/2001:db8::1#128"));
	CHECK(ratify_ip("2001:db8::1") == RatTrusted);
	CHECK(ratify_trust("bogus") < 0);
	CHECK(ratify_trust("1.2.3.4/24") < 0);

	/* trusted overrides every other class */
	put("lib/blocked", "block 192.0.2.0/24\n");
	put("ratify/deny/ip/192.0.2.9", "");
	policy_reset();
	CHECK(ratify_ip("192.0.2.9") == RatTrusted);

	/* grants expire, and ratify_trust renews them */
	age("ratify/trusted/192.0.2.9#32", LIM_RATIFYTRUST - 60);
	CHECK(ratify_ip("192.0.2.9") == RatTrusted);
	age("ratify/trusted/192.0.2.9#32", LIM_RATIFYTRUST + 60);
	CHECK(ratify_ip("192.0.2.9") == RatBlock);
	CHECK(ratify_trust("192.0.2.9") == 0);
	CHECK(ratify_ip("192.0.2.9") == RatTrusted);
	age("ratify/trusted/192.0.2.9#32", -(LIM_RATIFYTRUST + 60));
	CHECK(ratify_ip("192.0.2.9") == RatBlock);	/* far future dates do not last */

	/* wider grants, bare names */
	put("ratify/trusted/198.51.100.0#24", "");
	put("ratify/trusted/203.0.113.3", "");
	CHECK(ratify_ip("198.51.100.77") == RatTrusted);
	CHECK(ratify_ip("203.0.113.3") == RatTrusted);
	age("ratify/trusted/198.51.100.0#24", LIM_RATIFYTRUST + 1);
	CHECK(ratify_ip("198.51.100.77") == RatNone);

	/* lib/blocked's trusted never expires */
	put("lib/blocked", "trusted 192.0.2.0/24\n");
	policy_reset();
	CHECK(ratify_ip("192.0.2.200") == RatTrusted);

	/* a symlink where the grant would go is refused, never followed */
	put("victim", "keep");
	CHECK(symlink("../../victim", at("ratify/trusted/192.0.2.50#32")) == 0);
	CHECK(ratify_trust("192.0.2.50") < 0);
	{
		char *b = readfile(at("victim"), 100, NULL);

		CHECKSTR(b, "keep");
		free(b);
	}
	put("lib/blocked", "");
	policy_reset();
	CHECK(ratify_ip("192.0.2.50") == RatNone);
	endroot();
}

TEST(policy_namesblocked)
{
	newroot("names");
	CHECK(policy_nameblocked("root") == 0);
	policy_reset();
	put("lib/names.blocked", "# reserved\nroot\n  Daemon   # system\nnobody extra words\n");
	CHECK(policy_nameblocked("root") == 1);
	CHECK(policy_nameblocked("ROOT") == 1);
	CHECK(policy_nameblocked("daemon") == 1);
	CHECK(policy_nameblocked("nobody") == 1);
	CHECK(policy_nameblocked("extra") == 0);
	CHECK(policy_nameblocked("glenda") == 0);
	CHECK(policy_nameblocked("") == 0);
	CHECK(policy_nameblocked(NULL) == 0);
	put("lib/names.blocked", "'bad\n");
	policy_reset();
	CHECK(policy_nameblocked("root") < 0 && strstr(lasterr(), "names.blocked:1:") != NULL);
	endroot();
}

TEST(policy_grey)
{
	const char *f = "grey/tmp/192.0.2.1/198.51.100.7/bob";

	newroot("grey");
	CHECK(grey_check("192.0.2.1", "198.51.100.7", "bob") == 0);
	CHECK(exists(f));
	CHECK(grey_check("192.0.2.1", "198.51.100.7", "bob") == 0);	/* too soon */
	age(f, LIM_GREYMIN - 10);
	CHECK(grey_check("192.0.2.1", "198.51.100.7", "bob") == 0);
	{
		struct stat st;

		/* a retry too soon does not restart the clock */
		CHECK(lstat(at(f), &st) == 0 && st.st_mtime <= time(NULL) - (LIM_GREYMIN - 10));
	}
	age(f, LIM_GREYMIN + 10);
	CHECK(!exists("grey/whitelist"));
	CHECK(grey_check("::ffff:192.0.2.1", "::ffff:198.51.100.7", "bob") == 1);
	{
		char *b = readfile(at("grey/whitelist"), 1000, NULL);

		CHECKSTR(b, "198.51.100.7\n");
		free(b);
	}
	/* whitelisted now, for any recipient */
	CHECK(grey_check("192.0.2.1", "198.51.100.7", "carol") == 1);
	CHECK(!exists("grey/tmp/192.0.2.1/198.51.100.7/carol"));

	/* too old: the clock restarts */
	CHECK(grey_check("192.0.2.1", "2001:db8::25", "bob") == 0);
	f = "grey/tmp/192.0.2.1/2001:db8::25/bob";
	CHECK(exists(f));
	age(f, LIM_GREYMAX + 60);
	CHECK(grey_check("192.0.2.1", "2001:DB8:0::25", "bob") == 0);
	{
		struct stat st;

		CHECK(lstat(at(f), &st) == 0 && st.st_mtime >= time(NULL) - 5);
	}
	age(f, LIM_GREYMAX - 60);
	CHECK(grey_check("192.0.2.1", "2001:db8::25", "bob") == 1);
	/* dated in the future: restarted too */
	CHECK(grey_check("192.0.2.1", "203.0.113.1", "bob") == 0);
	age("grey/tmp/192.0.2.1/203.0.113.1/bob", -LIM_GREYMAX);
	CHECK(grey_check("192.0.2.1", "203.0.113.1", "bob") == 0);
	age("grey/tmp/192.0.2.1/203.0.113.1/bob", LIM_GREYMIN);
	CHECK(grey_check("192.0.2.1", "203.0.113.1", "bob") == 1);

	/* operator lines: networks with names, comments; junk whitelists no one */
	put("grey/whitelist", "# friends\n10.0.0.0/8 mx.example.org\nnot-an-address\n'broken\n2001:db8:5::/48\n");
	CHECK(grey_check("192.0.2.1", "10.20.30.40", "bob") == 1);
	CHECK(grey_check("192.0.2.1", "2001:db8:5::1", "bob") == 1);
	CHECK(grey_check("192.0.2.1", "11.0.0.1", "bob") == 0);

	/* bad names never reach the file system */
	CHECK(grey_check("192.0.2.1", "198.51.100.9", "../x") < 0);
	CHECK(grey_check("192.0.2.1", "198.51.100.9", "..") < 0);
	CHECK(grey_check("192.0.2.1", "198.51.100.9", "") < 0);
	CHECK(grey_check("192.0.2.1", "198.51.100.9", "a\nb") < 0);
	CHECK(grey_check("192.0.2.1", "../198.51.100.9", "bob") < 0);
	CHECK(grey_check("192.0.2.1/24", "198.51.100.9", "bob") < 0);
	CHECK(grey_check(NULL, "198.51.100.9", "bob") < 0);

	/* symlinks are never followed */
	put("victim", "keep");
	CHECK(mkdir(at("grey/tmp/192.0.2.1/198.51.100.20"), 0700) == 0);
	CHECK(symlink("../../../../victim", at("grey/tmp/192.0.2.1/198.51.100.20/bob")) == 0);
	CHECK(grey_check("192.0.2.1", "198.51.100.20", "bob") < 0);
	CHECK(symlink("../../victim", at("grey/tmp/192.0.2.1/198.51.100.21")) == 0);
	CHECK(grey_check("192.0.2.1", "198.51.100.21", "bob") < 0);
	CHECK(unlink(at("grey/whitelist")) == 0);
	CHECK(symlink("../victim", at("grey/whitelist")) == 0);
	CHECK(grey_check("192.0.2.1", "198.51.100.22", "bob") < 0);
	{
		char *b = readfile(at("victim"), 100, NULL);

		CHECKSTR(b, "keep");
		free(b);
	}
	{
		struct stat st;

		CHECK(stat(at("grey/tmp"), &st) == 0 && (st.st_mode & 0777) == 0700);
	}
	endroot();
}

/* The names ratify_trust writes are canonical (RFC 5952), whatever the libc. */
TEST(policy_canon)
{
	static const char *t[][2] = {
		{ "2001:0DB8:0:0:1:0:0:1", "2001:db8::1:0:0:1" },
		{ "1:0:0:0:0:0:0:0", "1::" },
		{ "0:0:0:0:0:0:0:1", "::1" },
		{ "::", "::" },
		{ "2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1" },
		{ "2001:db8:0:0:1:0:0:0", "2001:db8:0:0:1::" },
		{ "::1.2.3.4", "::102:304" },
		{ "::FFFF:1.2.3.4", "1.2.3.4" },
		{ "fe80::0001", "fe80::1" },
	};
	char rel[128];
	size_t i;

	newroot("canon");
	for (i = 0; i < nelem(t); i++) {
		CHECK(ratify_trust(t[i][0]) == 0);
		snprintf(rel, sizeof rel, "ratify/trusted/%s#%d", t[i][1], strchr(t[i][1], ':') ? 128 : 32);
		if (!exists(rel))
			printf("#   %s: no %s\n", t[i][0], rel);
		CHECK(exists(rel));
		CHECK(ratify_ip(t[i][0]) == RatTrusted);
	}
	endroot();
}
