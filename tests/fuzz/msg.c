/* libFuzzer: the message parser and every decoder on untrusted bytes; the tree must stay inside the input. */
#include <string.h>
#include "msg.h"

static void
walk(Msg *m, Part *p, const char *lo, const char *hi, Str *s)
{
	const char *v;
	Part *c;
	int i, n = 0;

	if (p->raw < lo || p->raw + p->rawlen > hi || p->hdr != p->raw || p->hdrlen > p->rawlen
	    || p->body < p->raw || p->body + p->bodylen != p->raw + p->rawlen)
		__builtin_trap();
	for (i = 0; i < p->nh; i++) {
		if (p->h[i].name < p->hdr || p->h[i].val + p->h[i].vlen > p->hdr + p->hdrlen)
			__builtin_trap();
		v = msg_hdrdecode(&m->ar, p->h[i].val, p->h[i].vlen);
		if (strpbrk(v, "\r\n"))
			__builtin_trap();
		msg_date(p->h[i].val, p->h[i].vlen);
	}
	str_reset(s);
	msg_body(p, s);
	for (c = p->child; c; c = c->next) {
		if (c->parent != p || c->depth != p->depth + 1)
			__builtin_trap();
		walk(m, c, p->body, p->body + p->bodylen, s);
		n++;
	}
	if (n != p->nchild)
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const unsigned char *d, size_t n)
{
	Str s = { 0 };
	Msg m;

	if (msg_parse(&m, (const char *)d, n) == 0) {
		walk(&m, m.root, m.raw, m.raw + m.n, &s);
		msg_free(&m);
	}
	str_free(&s);
	return 0;
}
