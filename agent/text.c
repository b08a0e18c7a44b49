// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>

#include <khist_hist.h>

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

void text_print_hist(FILE *out, const __u64 *counts, unsigned int buckets,
		     unsigned int precision, const char *unit_label, unsigned long long divisor)
{
	struct row *rows;
	int last = -1, width, bar, row_count = 0;
	__u64 max = 0;
	int narrow;

	for (unsigned int i = 0; i < buckets; i++)
		if (counts[i])
			last = i;
	if (last < 0)
		return;
	rows = calloc(last + 1, sizeof(*rows));
	if (!rows)
		return;
	/* In a coarser display unit, buckets that show the same bounds share a row. */
	for (int i = 0; i <= last; i++) {
		struct row row = { khist_hist_lower(i, precision) / divisor,
				   khist_hist_upper(i, precision) / divisor, counts[i] };

		if (row_count && rows[row_count - 1].low == row.low &&
		    rows[row_count - 1].high == row.high)
			rows[row_count - 1].count += row.count;
		else
			rows[row_count++] = row;
	}
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
