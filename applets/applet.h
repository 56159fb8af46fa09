/* What applets share beyond core: the registry and usage. */
#ifndef UPAS_APPLET_H
#define UPAS_APPLET_H

#include "core.h"

#define APPLET(n, u) int n##_main(int argc, char **argv);
#include "applets.h"
#undef APPLET

typedef int Appletmain(int argc, char **argv);
typedef struct Applet {
	const char *name;
	Appletmain *main;
	const char *usage;
} Applet;
extern const Applet applets[];
extern const size_t napplets;

const Applet *applet_lookup(const char *name);
int applet_run(const Applet *a, int argc, char **argv);
void usage(void) __attribute__((noreturn));

/* aliasmail's expansion without a process: send's translate rules use it. */
int aliasmail_expand(char **argv, Str *out);
#endif
