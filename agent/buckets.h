/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A histogram's bucket layout as user space sees it: how many row buckets,
 * the integer values each holds, and the bounds exported for it (seconds or
 * bytes). Both layouts of include/khist_hist.h.
 */
#ifndef KHIST_BUCKETS_H
#define KHIST_BUCKETS_H

#include <stdbool.h>
#include <stddef.h>

#include <khist_hist.h>

#include "collector.h"

struct bucket_layout {
	enum khist_layout kind;
	unsigned int precision;		/* k, or the schema */
	enum collector_unit unit;
	unsigned int count;		/* row buckets */
	const struct khist_exp_table *exp;	/* exponential only */
};

/* Defaults: schema 3 (buckets at most 9 % wide), and k = 2 for log-linear. */
#define BUCKETS_DEFAULT_SCHEMA		3
#define BUCKETS_DEFAULT_PRECISION	2

/* Fills @layout; -EINVAL when the precision is out of range for the layout. */
int buckets_layout(struct bucket_layout *layout, enum khist_layout kind, unsigned int precision,
		   enum collector_unit unit);

/* The bounds table of @schema and @unit, computed once per process. */
const struct khist_exp_table *buckets_exp_table(unsigned int schema, enum khist_unit unit);

/* Smallest and largest integer value (ns, bytes) of row bucket @bucket. */
unsigned long long buckets_lower(const struct bucket_layout *layout, unsigned int bucket);
unsigned long long buckets_upper(const struct bucket_layout *layout, unsigned int bucket);

/* Exponential only: the native index of row bucket @bucket >= 1. */
int buckets_native_index(const struct bucket_layout *layout, unsigned int bucket);
/* Exponential only: the zero threshold in the base unit (native histograms need one > 0). */
double buckets_zero_threshold(const struct bucket_layout *layout);

/*
 * Classic buckets: cumulative counts at upper bounds, in the base unit.
 * Exponential buckets merge exactly to @classic_schema (< 0 or at least the
 * layout's schema: every bucket); log-linear ones are taken as they are.
 * Returns the number of classic buckets (not +Inf), the row bucket each
 * ends at in @ends (NULL to count only).
 */
unsigned int buckets_classic(const struct bucket_layout *layout, int classic_schema,
			     unsigned int *ends, double *bounds);

/* The shortest text that reads back as @value ("0.000001", "1.0905077326652577e-06"). */
void buckets_format_bound(char *buf, size_t size, double value);

/* Names: "log2", "log-linear", "exponential". */
const char *buckets_layout_name(enum khist_layout kind, unsigned int precision);
int buckets_parse_layout(const char *text, enum khist_layout *kind);

#endif
