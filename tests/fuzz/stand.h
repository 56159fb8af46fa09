/*
 * What the session fuzzers (smtpd, pop3, smtp) put in place of what a
 * fuzzer cannot do: exit (a longjmp to fzout), sleep (none), the log (the
 * text formatted, then dropped), the connection's writes (kept in fzwire).
 * Included before the applet's source, which the fuzzer's #defines aim at
 * these.
 */
#include <setjmp.h>
#include <stdarg.h>

#define FZUNUSED __attribute__((unused))

static jmp_buf fzout;
static Str fzwire;	/* what the session wrote */

static void fzexit(int) __attribute__((noreturn, unused));

static void
fzexit(int st)
{
	(void)st;
	longjmp(fzout, 1);
}

static FZUNUSED unsigned
fzsleep(unsigned s)
{
	(void)s;
	return 0;
}

static FZUNUSED void
fzlogmsg(const char *log, const char *fmt, ...)
{
	char buf[LIM_ERR * 2];
	va_list ap;

	(void)log;
	va_start(ap, fmt);
	fmtv(buf, sizeof buf, fmt, ap);
	va_end(ap);
}

static FZUNUSED int
fzwrite(Conn *c, const void *p, size_t n)
{
	(void)c;
	str_addn(&fzwire, p, n);
	return 0;
}
