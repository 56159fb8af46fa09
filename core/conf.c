#include <stdlib.h>
#include <string.h>
#include "core.h"

int
conf_open(Conf *c, const char *path)
{
	size_t n;
	char *buf = readfile(path, LIM_CONFFILE, &n);

	if (buf == NULL)
		return -1;
	conf_text(c, buf, n, path);
	return 0;
}

/* Tokenize text the caller owns: n bytes plus a NUL; conf_close frees it. */
void
conf_text(Conf *c, char *text, size_t n, const char *name)
{
	c->buf = c->p = text;
	c->end = text + n;
	c->lineno = 0;
	c->name = name;
}

void
conf_close(Conf *c)
{
	free(c->buf);
	c->buf = c->p = c->end = NULL;
}

static int
blank(int ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

/*
 * The next logical line, split into at most max fields, NUL-terminated in place.
 * Returns the field count, 0 at the end of the text, -1 for a bad line (an
 * unterminated quote, too many fields, a NUL byte), which is then skipped.
 */
int
conf_line(Conf *c, char **field, int max)
{
	char *src, *w, *line, q;
	int n, bad;

	while (c->p < c->end) {
		/* join continued lines in place; the text only shrinks */
		line = w = src = c->p;
		bad = 0;
		c->lineno++;
		while (src < c->end && *src != '\n') {
			if (src[0] == '\\' && src + 1 < c->end && src[1] == '\n') {
				src += 2;
				c->lineno++;
				continue;
			}
			if (*src == 0)
				bad = 1;
			*w++ = *src++;
		}
		c->p = src < c->end ? src + 1 : src;
		*w = 0;
		n = 0;
		for (src = line; !bad;) {
			while (blank(*src))
				src++;
			if (*src == 0 || *src == '#')
				break;
			if (n == max) {
				bad = 1;
				break;
			}
			if (*src == '\'' || *src == '"') {
				q = *src++;
				field[n++] = src;
				while (*src && *src != q)
					src++;
				if (*src != q)
					bad = 1;
				else
					*src++ = 0;
				continue;
			}
			field[n++] = src;
			while (*src && !blank(*src))
				src++;
			if (*src)
				*src++ = 0;
		}
		if (bad) {
			seterr("%s:%d: bad line", c->name ? c->name : "config", c->lineno);
			return -1;
		}
		if (n > 0)
			return n;
	}
	return 0;
}
