/* SPDX-License-Identifier: GPL-2.0 */
/* Terminal output: BCC-style histograms. */
#ifndef KHIST_TEXT_H
#define KHIST_TEXT_H

#include <stdio.h>
#include <linux/types.h>

#include "buckets.h"

/*
 * Prints a histogram of counts in @layout the way BCC's print_log2_hist
 * does: log2 byte for byte, log-linear with the same columns. Bounds are
 * divided by @divisor (1000 to show nanoseconds as usecs). Exponential
 * buckets show one row each with bounds and units ("1.19us -> 1.41us"), or
 * with a @divisor merged to powers of two first. Prints nothing when every
 * count is zero.
 */
void text_print_hist(FILE *out, const __u64 *counts, const struct bucket_layout *layout,
		     const char *unit_label, unsigned long long divisor);

#endif
