/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What khist collects: the collectors, their attach modes and programs, and
 * the histograms and counters they publish. The loader, the reader, the CLI
 * and the daemon all work from this one description.
 */
#ifndef KHIST_CATALOG_H
#define KHIST_CATALOG_H

#include <stddef.h>
#include <linux/types.h>

#include <khist_collectors.h>

#define CATALOG_MAX_PROGRAMS 16

struct catalog_mode {
	enum khist_attach_mode mode;
	const char *programs[CATALOG_MAX_PROGRAMS];	/* NULL-terminated */
};

struct catalog_collector {
	const char *name;
	const char *description;
	const void *(*elf_bytes)(size_t *size);
	unsigned int default_precision;
	/* Attach modes, best first: the loader takes the first that loads and attaches. */
	const struct catalog_mode *modes;
	unsigned int mode_count;
};

/* One histogram; a labelled one has a series per slot. */
struct catalog_histogram {
	const char *name;		/* its map is NAME_hist */
	const char *collector;
	const char *unit;		/* "ns" or "bytes" */
	const char *description;
	const char *label;		/* NULL: a single series */
	unsigned int slots;
	const char *(*slot_name)(unsigned int slot, char *buf, size_t size);
};

/* One counter family, for `khist list` and the exporters. */
struct catalog_counter {
	const char *name;
	const char *collector;
	const char *map;
	const char *description;
};

extern const struct catalog_collector catalog_collectors[];
extern const unsigned int catalog_collector_count;
extern const struct catalog_histogram catalog_histograms[];
extern const unsigned int catalog_histogram_count;
extern const struct catalog_counter catalog_counters[];
extern const unsigned int catalog_counter_count;

const struct catalog_collector *catalog_find_collector(const char *name);
const struct catalog_histogram *catalog_find_histogram(const char *name);
const char *catalog_mode_name(unsigned int mode);
/* The enum value of a mode name, or -1. */
int catalog_mode_by_name(const char *name);
/* The syscall's name, or "sys_N". */
const char *catalog_syscall_name(unsigned int nr, char *buf, size_t size);
/* The syscall number of @name, or -1. */
int catalog_syscall_number(const char *name);
const char *catalog_file_kind_name(unsigned int kind);

#endif
