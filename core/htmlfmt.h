/* core/htmlfmt.c: HTML mail bodies as text a terminal shows. */
#ifndef UPAS_HTMLFMT_H
#define UPAS_HTMLFMT_H

#include "core.h"

/* Append the text of the HTML p[0..n) (UTF-8), filled to width columns. */
void html_text(Str *out, const char *p, size_t n, int width);
#endif
