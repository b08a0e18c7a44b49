/* SPDX-License-Identifier: GPL-2.0 */
/* The khist command line: one function per command. */
#ifndef KHIST_CLI_H
#define KHIST_CLI_H

#include <stdbool.h>

#include <json-c/json.h>

#define EXIT_OK		0
#define EXIT_RUNTIME	1
#define EXIT_USAGE	2

int cli_load(int argc, char **argv);
int cli_unload(int argc, char **argv);
int cli_status(int argc, char **argv);
int cli_list(int argc, char **argv);
int cli_filter(int argc, char **argv);
int cli_hist(int argc, char **argv);
int cli_top(int argc, char **argv);
int cli_kmod(int argc, char **argv);
int cli_memory(int argc, char **argv);
int cli_stacks(int argc, char **argv);

const char *cli_pin_root(void);
void cli_set_pin_root(const char *root);

/* Parses a decimal in [min, max]; prints "khist: OPTION ..." and returns false if bad. */
bool cli_parse_number(const char *option, const char *text, long long min, long long max,
		      long long *value);
/* The error for an errno from the kernel, with the hint root is needed when it is EPERM. */
int cli_runtime_error(const char *what, int err, const char *detail);
/* Prints @object on one line and drops it. */
void cli_print_json(json_object *object);

#endif
