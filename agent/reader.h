/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reads the pinned maps of loaded collectors as rows (an array's entries or
 * a hash's keys with their values, per-CPU values summed over CPUs) with
 * batch map operations. Knows nothing of any collector: the snapshot tells
 * it which maps to read.
 */
#ifndef KHIST_READER_H
#define KHIST_READER_H

#include <stdbool.h>
#include <linux/types.h>

#include "collector.h"
#include "error.h"

struct reader_rows {
	unsigned int count;
	unsigned int key_size, value_size;	/* value_size: one (summed) value */
	unsigned int max_entries;
	void *keys;
	void *values;
	unsigned int table_rows;		/* rows in the map itself, before slots were added */
	unsigned int attempts;			/* reads it took to be consistent (pending) */
};

int reader_open(const char *pin_root, const char *collector, const char *map,
		struct error_context *error);
int reader_meta(const char *pin_root, const char *collector, struct khist_meta *meta,
		struct error_context *error);
/* Every row of a pinned map. */
int reader_rows(const char *pin_root, const char *collector, const char *map,
		struct reader_rows *rows, struct error_context *error);
/*
 * A table with the counts of its pending slots added, as they all were at
 * one instant: a count is never missed nor counted twice, so a counter read
 * later is never lower.
 */
int reader_rows_pending(const char *pin_root, const char *collector, const char *map,
			const struct pending_desc *pending, struct reader_rows *rows,
			struct error_context *error);
void reader_rows_free(struct reader_rows *rows);
/* Entries in use and capacity of a pinned hash map. */
int reader_fill(const char *pin_root, const char *collector, const char *map,
		unsigned int *used, unsigned int *capacity, struct error_context *error);

/* The u64 at @offset of row @i's value. */
static inline __u64 reader_value_u64(const struct reader_rows *rows, unsigned int i,
				     unsigned int offset)
{
	__u64 value;

	__builtin_memcpy(&value, (const char *)rows->values + (size_t)i * rows->value_size + offset,
			 sizeof(value));
	return value;
}

#endif
