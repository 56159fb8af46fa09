/*
 * Plan 9 regular expressions (regexp(6)); see regexp.c.
 */
#ifndef UPAS_REGEXP_H
#define UPAS_REGEXP_H

#include <stddef.h>

enum {
	RE_ICASE = 1,		/* ASCII letters match either case */
	RE_NSUB = 11,		/* the match and subexpressions \1-\10 kept */
	RE_DEPTH = 64,		/* parentheses inside parentheses */
	RE_MAXPAT = 8192,	/* octets of a pattern */
};

typedef struct Regex Regex;
typedef struct Rematch {
	int so, eo;		/* offsets in the text, or -1 */
} Rematch;

Regex *re_comp(const char *pat, int flags);	/* NULL: lasterr says why */
/* 1 when pat matches in s (n octets), m[0..nm) filled; 0 when not. */
int re_exec(const Regex *re, const char *s, size_t n, Rematch *m, int nm);
void re_free(Regex *re);
#endif
