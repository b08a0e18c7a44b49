/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel stacks with the time spent in them (a collector's stack_desc),
 * read from the pins in one pass and named from /proc/kallsyms; and what
 * shows them: a top list, the folded format flame-graph tools read, JSON,
 * and (flamegraph.c) an SVG flame graph.
 */
#ifndef KHIST_STACKS_H
#define KHIST_STACKS_H

#include <stdio.h>
#include <json-c/json.h>
#include <linux/types.h>

#include "collector.h"
#include "error.h"

struct stack_entry {
	char comm[KHIST_COMM_LEN];
	unsigned int depth;
	char **frames;		/* innermost first, as the kernel walked it */
	__u64 time_ns, count;
};

struct stack_set {
	const struct collector *collector;
	const struct stack_desc *desc;
	struct stack_entry *entries;	/* most time first */
	unsigned int count;
	__u64 time_ns;			/* over every entry */
	__u64 drops[KHIST_STACK_DROPS];
};

/* The stacks of @desc (@collector's) under @pin_root; -ENOENT when not loaded. */
int stacks_take(struct stack_set *set, const char *pin_root, const struct collector *collector,
		const struct stack_desc *desc, const char *kallsyms, struct error_context *error);
void stacks_free(struct stack_set *set);

/* The @rows stacks with most time, each with its frames (offcputime's layout). */
void stacks_print_top(FILE *out, const struct stack_set *set, unsigned int rows);
/* "comm;outermost;...;innermost MICROSECONDS", a line per stack. */
void stacks_print_folded(FILE *out, const struct stack_set *set);
json_object *stacks_json(const struct stack_set *set, unsigned int rows);
/* A self-contained SVG flame graph (flamegraph.c); -errno when @out fails. */
int stacks_write_svg(FILE *out, const struct stack_set *set, const char *title);

#endif
