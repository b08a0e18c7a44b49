/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel symbols from /proc/kallsyms, module symbols included, to name the
 * frames of kernel stacks. Loaded per use: nothing is cached between
 * callers.
 */
#ifndef KHIST_KSYMS_H
#define KHIST_KSYMS_H

#include <stddef.h>
#include <linux/types.h>

#include "error.h"

struct ksym {
	__u64 address;
	const char *name;
	const char *module;	/* NULL: the kernel image */
};

struct ksyms {
	struct ksym *symbols;	/* by address */
	unsigned int count;
	char *names;
};

/* The text symbols of @path (/proc/kallsyms); -EPERM when its addresses are hidden. */
int ksyms_load(struct ksyms *ksyms, const char *path, struct error_context *error);
/* The symbol @address is in (the last at or below it), or NULL. */
const struct ksym *ksyms_find(const struct ksyms *ksyms, __u64 address);
/* "name" or "name [module]" of @address, else its hex value, into @buf. */
const char *ksyms_name(const struct ksyms *ksyms, __u64 address, char *buf, size_t size);
void ksyms_free(struct ksyms *ksyms);

#endif
