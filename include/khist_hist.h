/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Log-linear histogram buckets, shared by the BPF collectors (which compute
 * the index of each value) and user space (which derives each bucket's
 * bounds), so both agree by construction.
 *
 * Precision k (0..KHIST_HIST_MAX_PRECISION) splits every power of two into
 * 2^k equal buckets, so a bucket is at most 2^-k of its lower bound wide.
 *  - k = 0 is exactly BCC's log2 layout: bucket 0 holds 0 and 1, bucket i
 *    holds [2^i, 2^(i+1) - 1].
 *  - k > 0: values below 2^k have a bucket each (so 0 and 1 are apart);
 *    above, the power of two [2^e, 2^(e+1)) is cut into 2^k buckets.
 * Values of 2^KHIST_HIST_VALUE_BITS and more land in the last bucket.
 */
#ifndef KHIST_HIST_H
#define KHIST_HIST_H

/*
 * Two layouts: log-linear (precision k; k = 0 is BCC's log2) and
 * exponential (native histogram schema s), below.
 */
enum khist_layout {
	KHIST_LAYOUT_LOG_LINEAR,
	KHIST_LAYOUT_EXPONENTIAL,
	KHIST_LAYOUTS,
};

#define KHIST_HIST_MAX_PRECISION	5
#define KHIST_HIST_VALUE_BITS		48

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* floor(log2(v)) for v > 0, in a form the BPF verifier accepts (no loops). */
static __always_inline unsigned int khist_log2(unsigned long long v)
{
	unsigned int r = 0, shift;

	shift = (v > 0xFFFFFFFFULL) << 5; v >>= shift; r |= shift;
	shift = (v > 0xFFFF) << 4; v >>= shift; r |= shift;
	shift = (v > 0xFF) << 3; v >>= shift; r |= shift;
	shift = (v > 0xF) << 2; v >>= shift; r |= shift;
	shift = (v > 0x3) << 1; v >>= shift; r |= shift;
	r |= (v >> 1);
	return r;
}

/* Number of buckets at precision @k. */
static __always_inline unsigned int khist_hist_buckets(unsigned int k)
{
	if (k == 0)
		return KHIST_HIST_VALUE_BITS;
	return (KHIST_HIST_VALUE_BITS - k + 1) << k;
}

/* Bucket index of @value at precision @k (k <= KHIST_HIST_MAX_PRECISION). */
static __always_inline unsigned int khist_hist_index(unsigned long long value, unsigned int k)
{
	unsigned int e;

	if (value >= (1ULL << KHIST_HIST_VALUE_BITS))
		value = (1ULL << KHIST_HIST_VALUE_BITS) - 1;
	if (k == 0)
		return value ? khist_log2(value) : 0;
	if (value < (1ULL << k))
		return (unsigned int)value;
	e = khist_log2(value);
	return ((e - k + 1) << k) + (unsigned int)((value >> (e - k)) - (1ULL << k));
}

/* Smallest value that lands in bucket @index. */
static __always_inline unsigned long long khist_hist_lower(unsigned int index, unsigned int k)
{
	unsigned int group, sub;

	if (k == 0)
		return index ? 1ULL << index : 0;
	if (index < (1U << k))
		return index;
	group = index >> k;
	sub = index & ((1U << k) - 1);
	return ((1ULL << k) + sub) << (group - 1);
}

/* Largest value that lands in bucket @index (the last one also takes larger values). */
static __always_inline unsigned long long khist_hist_upper(unsigned int index, unsigned int k)
{
	if (k == 0)
		return (1ULL << (index + 1)) - 1;
	if (index < (1U << k))
		return index;
	return khist_hist_lower(index, k) + (1ULL << ((index >> k) - 1)) - 1;
}

/*
 * Exponential buckets, the layout of Prometheus native histograms (schema s)
 * and OpenTelemetry exponential histograms (scale s): bucket i holds values
 * in (2^((i-1)/2^s), 2^(i/2^s)] of the exported base unit (seconds for
 * latencies measured in ns, bytes for sizes), and a zero bucket holds the
 * values up to a zero threshold that is itself a bucket boundary.
 *
 * The boundaries are irrational, but values are integers: a bucket is known
 * exactly by the largest integer it holds. User space computes those
 * (khist_exp_fill) and hands the table to the BPF programs before load; an
 * index is then found with one log2 and s + 1 compares. Row bucket 0 is the
 * zero bucket, row bucket b >= 1 native bucket first_index + b - 1. Values
 * of 2^KHIST_HIST_VALUE_BITS and more land in the last bucket.
 */
#define KHIST_EXP_MAX_SCHEMA	5
/* A power of two above the most buckets (1 + 48 << 5 + 1) plus a search window. */
#define KHIST_EXP_TABLE_SIZE	2048

enum khist_unit {
	KHIST_UNIT_NS,		/* exported in seconds */
	KHIST_UNIT_BYTES,	/* exported in bytes */
	KHIST_UNITS,
};

/*
 * The zero threshold in base units is 2^KHIST_EXP_ZERO_LOG2: 2^-26 s (14.9 ns,
 * below any latency BPF can measure between two events), and for bytes 0 so
 * that only empty reads and writes are in the zero bucket.
 */
#define KHIST_EXP_ZERO_LOG2_NS	(-26)

struct khist_exp_table {
	/* Largest value of row bucket b; ~0 past the last bucket. */
	unsigned long long last[KHIST_EXP_TABLE_SIZE];
	/* First row bucket b >= 1 with last[b] >= 2^e (64: a mask bounds the index). */
	unsigned short first[64];
	unsigned short buckets;		/* row buckets, the zero bucket included */
	unsigned int schema;
	int first_index;		/* native index of row bucket 1 */
	unsigned int unit;		/* enum khist_unit */
};

/* Row bucket of @value: s + 1 compares in the octave of @value. */
static __always_inline unsigned int khist_exp_index(const volatile struct khist_exp_table *table,
						    unsigned long long value)
{
	unsigned int bucket, step, octave;

	if (value >= (1ULL << KHIST_HIST_VALUE_BITS))
		value = (1ULL << KHIST_HIST_VALUE_BITS) - 1;
	if (value <= table->last[0])
		return 0;
	octave = khist_log2(value);
#ifdef __bpf__
	/*
	 * The compiler knows the log is below 64 and drops the mask; the 6.1
	 * verifier cannot follow the log's arithmetic, so the mask must stay.
	 */
	barrier_var(octave);
#endif
	bucket = table->first[octave & 63];
	for (step = 1U << (KHIST_EXP_MAX_SCHEMA - 1); step; step >>= 1) {
		if (step >= (1U << table->schema))
			continue;
		if (table->last[(bucket + step - 1) & (KHIST_EXP_TABLE_SIZE - 1)] < value)
			bucket += step;
	}
	if (table->last[bucket & (KHIST_EXP_TABLE_SIZE - 1)] < value)
		bucket++;
	return bucket;
}

#ifndef __bpf__
#include <math.h>
#include <stdbool.h>

/* Native bucket index of row bucket @bucket (>= 1). */
static inline int khist_exp_native_index(const struct khist_exp_table *table, unsigned int bucket)
{
	return table->first_index + (int)bucket - 1;
}

/* 2^(index/2^schema) in the base unit: the upper bound of native bucket @index. */
static inline double khist_exp_bound(int index, unsigned int schema)
{
	int octaves = index >> schema;	/* floor, also for negative indexes */
	unsigned int step = (unsigned int)(index - octaves * (1 << schema));

	return ldexp(exp2((double)step / (double)(1U << schema)), octaves);
}

/* floor(2^(index/2^schema) * scale), scale being the unit's integers per base unit. */
static inline unsigned long long khist_exp_floor(int index, unsigned int schema, long double scale)
{
	int octaves = index >> schema;
	unsigned int step = (unsigned int)(index - octaves * (1 << schema));
	long double bound = ldexpl(exp2l((long double)step / (long double)(1U << schema)), octaves);

	return (unsigned long long)floorl(bound * scale);
}

/* Fills @table for @schema (0..KHIST_EXP_MAX_SCHEMA) and @unit; false if out of range. */
static inline bool khist_exp_fill(struct khist_exp_table *table, unsigned int schema,
				  enum khist_unit unit)
{
	const unsigned long long top = (1ULL << KHIST_HIST_VALUE_BITS) - 1;
	long double scale = unit == KHIST_UNIT_NS ? 1e9L : 1.0L;
	unsigned int b, e;
	int index;

	if (schema > KHIST_EXP_MAX_SCHEMA || unit >= KHIST_UNITS)
		return false;
	table->schema = schema;
	table->unit = unit;
	if (unit == KHIST_UNIT_NS) {
		table->first_index = KHIST_EXP_ZERO_LOG2_NS * (1 << schema) + 1;
		table->last[0] = khist_exp_floor(table->first_index - 1, schema, scale);
	} else {
		table->first_index = 0;	/* (2^(-1/2^s), 1] holds 1 */
		table->last[0] = 0;
	}
	b = 1;
	index = table->first_index;
	do {
		table->last[b] = khist_exp_floor(index++, schema, scale);
	} while (table->last[b++] < top && b < KHIST_EXP_TABLE_SIZE);
	table->buckets = (unsigned short)b;
	for (; b < KHIST_EXP_TABLE_SIZE; b++)
		table->last[b] = ~0ULL;
	for (e = 0, b = 1; e < 64; e++) {
		while (e < KHIST_HIST_VALUE_BITS && table->last[b] < (1ULL << e))
			b++;
		table->first[e] = (unsigned short)b;
	}
	return true;
}
#endif /* !__bpf__ */

#endif /* KHIST_HIST_H */
