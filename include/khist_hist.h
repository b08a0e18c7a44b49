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

#endif /* KHIST_HIST_H */
