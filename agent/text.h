/* SPDX-License-Identifier: GPL-2.0 */
/* Terminal output: BCC-style histograms. */
#ifndef KHIST_TEXT_H
#define KHIST_TEXT_H

#include <stdio.h>
#include <linux/types.h>

/*
 * Prints a histogram of @buckets counts at @precision the way BCC's
 * print_log2_hist does: at precision 0 byte for byte, above it the same
 * columns with log-linear bounds. Bounds are divided by @divisor (1000 to
 * show nanoseconds as usecs). Prints nothing when every count is zero.
 */
void text_print_hist(FILE *out, const __u64 *counts, unsigned int buckets,
		     unsigned int precision, const char *unit_label, unsigned long long divisor);

#endif
