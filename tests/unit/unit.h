/* A small test harness: TEST(name) { CHECK(...); } registers itself. */
#ifndef UPAS_UNIT_H
#define UPAS_UNIT_H

#include <string.h>
#include "core.h"

typedef struct Test {
	const char *name;
	void (*fn)(void);
	int (*tool)(int, char **);
	struct Test *next;
} Test;
void unit_register(Test *t);
int unit_check(int ok, const char *what, const char *file, int line);
int unit_checkstr(const char *got, const char *want, const char *what, const char *file, int line);
const char *unit_tmpdir(void);

#define TEST(n) \
	static void test_##n(void); \
	static Test t_##n = { #n, test_##n, 0, 0 }; \
	__attribute__((constructor)) static void reg_##n(void) { unit_register(&t_##n); } \
	static void test_##n(void)
/* A tool: a program the e2e scripts run as "unit NAME args..." */
#define TOOL(n) \
	static int tool_##n(int, char **); \
	static Test t_##n = { #n, 0, tool_##n, 0 }; \
	__attribute__((constructor)) static void reg_##n(void) { unit_register(&t_##n); } \
	static int tool_##n(int argc, char **argv)

#define CHECK(c) unit_check(!!(c), #c, __FILE__, __LINE__)
#define CHECKSTR(got, want) unit_checkstr((got), (want), #got, __FILE__, __LINE__)
#endif
