// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "text.h"

/* BCC switches to wide columns once bounds need more than 10 digits. */
#define NARROW_MAX ((1ULL << 33) - 1)

struct row {
	unsigned long long low, high;
	__u64 count;
};

static void print_bar(FILE *out, __u64 count, __u64 max, int width)
{
	int stars = max ? (int)(count * width / max) : 0;

	for (int i = 0; i < width; i++)
		fputc(i < stars ? '*' : ' ', out);
}

/* "1.19us", "953ns", "2.5MiB": three digits and a unit. */
static void format_amount(char *buf, size_t size, double value, enum collector_unit unit)
{
	static const char *const time_units[] = { "ns", "us", "ms", "s" };
	static const char *const byte_units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double step = unit == UNIT_NS ? 1000 : 1024;
	int last = unit == UNIT_NS ? 3 : 4, i = 0;

	while (i < last && value >= step) {
		value /= step;
		i++;
	}
	snprintf(buf, size, "%.3g%s", value, unit == UNIT_NS ? time_units[i] : byte_units[i]);
}

/* Exponential buckets, each its own row, bounds with units: (lower, upper]. */
static void print_exponential(FILE *out, const __u64 *counts, const struct bucket_layout *layout,
			      int first, int last)
{
	double scale = layout->unit == UNIT_NS ? 1e9 : 1;
	__u64 max = 0;

	for (int i = first; i <= last; i++)
		if (counts[i] > max)
			max = counts[i];
	fprintf(out, "%22s : count    distribution\n", layout->unit == UNIT_NS ? "time" : "size");
	for (int i = first; i <= last; i++) {
		char low[32], high[32];
		double upper = i == 0 ? (layout->unit == UNIT_NS ?
					 ldexp(1.0, KHIST_EXP_ZERO_LOG2_NS) : 0) :
			       khist_exp_bound(buckets_native_index(layout, i), layout->precision);
		double lower = i == 0 ? 0 : i == 1 ? (layout->unit == UNIT_NS ?
						      ldexp(1.0, KHIST_EXP_ZERO_LOG2_NS) : 0) :
			       khist_exp_bound(buckets_native_index(layout, i) - 1, layout->precision);

		/* Buckets narrower than one ns or byte hold no integer: nothing to show. */
		if (i && buckets_lower(layout, i) > buckets_upper(layout, i))
			continue;
		format_amount(low, sizeof(low), lower * scale, layout->unit);
		format_amount(high, sizeof(high), upper * scale, layout->unit);
		fprintf(out, "%9s -> %-9s : %-8llu |", low, high, (unsigned long long)counts[i]);
		print_bar(out, counts[i], max, 40);
		fputs("|\n", out);
	}
}

void text_print_hist(FILE *out, const __u64 *counts, const struct bucket_layout *layout,
		     const char *unit_label, unsigned long long divisor)
{
	struct bucket_layout merged = *layout;
	unsigned int buckets = layout->count;
	unsigned int *ends = NULL;
	struct row *rows;
	int last = -1, width, bar, row_count = 0;
	__u64 max = 0;
	int narrow;

	for (unsigned int i = 0; i < buckets; i++)
		if (counts[i])
			last = i;
	if (last < 0)
		return;
	if (layout->kind == KHIST_LAYOUT_EXPONENTIAL && divisor == 1) {
		int first = 0;

		while (!counts[first])
			first++;
		print_exponential(out, counts, layout, first, last);
		return;
	}
	rows = calloc(last + 1, sizeof(*rows));
	if (!rows)
		return;
	/*
	 * In a coarser display unit, buckets that show the same bounds share a
	 * row; exponential ones first merge exactly to one per power of two.
	 */
	if (layout->kind == KHIST_LAYOUT_EXPONENTIAL) {
		ends = calloc(buckets + 1, sizeof(*ends));
		if (!ends) {
			free(rows);
			return;
		}
		buckets_classic(layout, 0, ends, NULL);
	}
	for (int i = 0, group = 0; i <= last; i++) {
		unsigned int start = i;
		struct row row;

		if (ends) {
			/* The whole power of two bucket i starts. */
			while (ends[group] < (unsigned int)i)
				group++;
			start = group ? ends[group - 1] + 1 : 0;
			row = (struct row){ buckets_lower(&merged, start) / divisor,
					    buckets_upper(&merged, ends[group]) / divisor, counts[i] };
		} else {
			row = (struct row){ buckets_lower(layout, i) / divisor,
					    buckets_upper(layout, i) / divisor, counts[i] };
		}
		if (row_count && rows[row_count - 1].low == row.low &&
		    rows[row_count - 1].high == row.high)
			rows[row_count - 1].count += row.count;
		else
			rows[row_count++] = row;
	}
	free(ends);
	for (int i = 0; i < row_count; i++)
		if (rows[i].count > max)
			max = rows[i].count;
	narrow = rows[row_count - 1].high <= NARROW_MAX;
	width = narrow ? 10 : 20;
	bar = narrow ? 40 : 20;
	fprintf(out, "%*s%-*s : count    distribution\n", narrow ? 5 : 15, "", narrow ? 19 : 29,
		unit_label);
	for (int i = 0; i < row_count; i++) {
		fprintf(out, "%*llu -> %-*llu : %-8llu |", width, rows[i].low, width, rows[i].high,
			(unsigned long long)rows[i].count);
		print_bar(out, rows[i].count, max, bar);
		fputs("|\n", out);
	}
	free(rows);
}
