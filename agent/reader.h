/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reads the pinned maps of loaded collectors: histograms, per-CPU counters
 * (summed over CPUs) and tables, with batch map operations.
 */
#ifndef KHIST_READER_H
#define KHIST_READER_H

#include <stdbool.h>
#include <linux/types.h>

#include "catalog.h"

struct reader_hist {
	const struct catalog_histogram *def;
	unsigned int precision;
	unsigned int buckets;		/* per slot */
	enum khist_attach_mode mode;
	__u64 *counts;			/* [slot * buckets + bucket], summed over CPUs */
	struct khist_totals *totals;	/* [slot] */
};

/* A hash table's entries: keys and values back to back (per-CPU values summed). */
struct reader_table {
	unsigned int count;
	unsigned int key_size, value_size;
	void *keys;
	void *values;
};

/* Why the last reader call failed (names the pin path and errno text). */
const char *reader_error(void);

int reader_open(const char *pin_root, const char *collector, const char *map);
int reader_meta(const char *pin_root, const char *collector, struct khist_meta *meta);
/* Every entry of a per-CPU array whose values are @fields u64s, summed over CPUs. */
int reader_percpu_sum(int fd, unsigned int entries, unsigned int fields, __u64 *out);
/* The same for the entries [first, first + count) only. */
int reader_percpu_range(int fd, unsigned int first, unsigned int count, unsigned int fields,
			__u64 *out);
int reader_hist(const char *pin_root, const struct catalog_histogram *def, struct reader_hist *hist);
void reader_hist_free(struct reader_hist *hist);
/*
 * Events in one slot: the sum of its buckets. Exporters use this rather
 * than the totals' count, which a reader can catch a moment apart from the
 * buckets, so that the +Inf bucket and _count always agree.
 */
__u64 reader_hist_count(const struct reader_hist *hist, unsigned int slot);
int reader_table(const char *pin_root, const char *collector, const char *map,
		 struct reader_table *table);
void reader_table_free(struct reader_table *table);
/* Calls and errors per syscall (counts of syscall_latency, sums of syscall_errors). */
int reader_syscall_counts(const char *pin_root, __u64 calls[KHIST_SYSCALL_SLOTS],
			  __u64 errors[KHIST_SYSCALL_SLOTS]);
/* Calls, bytes and errors per vfs op, from the two vfs histograms. */
int reader_vfs_counts(const char *pin_root, struct khist_vfs_counts counts[KHIST_VFS_OPS]);
/* The per-process and per-file tables with the counts still in per-CPU slots. */
int reader_processes(const char *pin_root, struct reader_table *table);
int reader_files(const char *pin_root, struct reader_table *table);

/* Entries in use and capacity of a pinned hash map. */
int reader_fill(const char *pin_root, const char *collector, const char *map,
		unsigned int *used, unsigned int *capacity);

#endif
