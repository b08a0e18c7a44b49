/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Minimal KTAP (version 1) output for khist selftests, shaped like the
 * kernel's kselftest.h: a plan, one result line per test case, a totals line
 * and the kselftest exit codes.
 */
#ifndef KHIST_KTAP_H
#define KHIST_KTAP_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KSFT_PASS 0
#define KSFT_FAIL 1
#define KSFT_SKIP 4

struct ktap_counts {
	unsigned int pass, fail, skip, planned, reported;
};

static struct ktap_counts ktap;

static inline void ktap_print_header(void)
{
	printf("KTAP version 1\n");
	fflush(stdout);
}

static inline void ktap_set_plan(unsigned int count)
{
	ktap.planned = count;
	printf("1..%u\n", count);
	fflush(stdout);
}

static inline void ktap_print_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("# ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
}

static inline void ktap_test_result(bool passed, const char *fmt, ...)
{
	va_list ap;

	ktap.reported++;
	if (passed)
		ktap.pass++;
	else
		ktap.fail++;
	va_start(ap, fmt);
	printf("%s %u ", passed ? "ok" : "not ok", ktap.reported);
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
}

static inline void ktap_test_skip(const char *name, const char *fmt, ...)
{
	va_list ap;

	ktap.reported++;
	ktap.skip++;
	va_start(ap, fmt);
	printf("ok %u %s # SKIP ", ktap.reported, name);
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
}

/* Prints the totals line and exits with the kselftest status. */
static inline void ktap_finished(void)
{
	unsigned int missing = 0;

	if (ktap.reported < ktap.planned) {
		missing = ktap.planned - ktap.reported;
		ktap_print_msg("planned %u tests but ran %u", ktap.planned,
			       ktap.reported);
	}
	printf("# Totals: pass:%u fail:%u xfail:0 xpass:0 skip:%u error:%u\n",
	       ktap.pass, ktap.fail, ktap.skip, missing);
	fflush(stdout);
	if (ktap.fail || missing)
		exit(KSFT_FAIL);
	if (ktap.skip && !ktap.pass)
		exit(KSFT_SKIP);
	exit(KSFT_PASS);
}

/* Skips the whole program: plan 0, a reason, exit code 4. */
static inline void ktap_exit_skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("1..0 # SKIP ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
	exit(KSFT_SKIP);
}

/* Gives up on the whole program: a KTAP "Bail out!" line, exit code 1. */
static inline void ktap_exit_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("Bail out! ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	printf("# Totals: pass:%u fail:%u xfail:0 xpass:0 skip:%u error:1\n",
	       ktap.pass, ktap.fail, ktap.skip);
	fflush(stdout);
	exit(KSFT_FAIL);
}

/*
 * Evaluates an expectation inside a test case, printing what was expected
 * and what was seen when it fails. Use with a local `bool ok = true;`.
 */
#define EXPECT(ok, cond, fmt, ...)					\
	do {								\
		if (!(cond)) {						\
			ktap_print_msg("%s:%d: expected %s: " fmt,	\
				       __FILE__, __LINE__, #cond,	\
				       ##__VA_ARGS__);			\
			(ok) = false;					\
		}							\
	} while (0)

#endif /* KHIST_KTAP_H */
