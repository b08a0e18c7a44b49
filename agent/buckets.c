// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buckets.h"

static struct khist_exp_table exp_tables[KHIST_UNITS][KHIST_EXP_MAX_SCHEMA + 1];
static pthread_once_t exp_tables_once = PTHREAD_ONCE_INIT;

/* Written once, before any reader sees them: nothing mutable is shared. */
static void fill_exp_tables(void)
{
	for (unsigned int unit = 0; unit < KHIST_UNITS; unit++)
		for (unsigned int schema = 0; schema <= KHIST_EXP_MAX_SCHEMA; schema++)
			khist_exp_fill(&exp_tables[unit][schema], schema, unit);
}

const struct khist_exp_table *buckets_exp_table(unsigned int schema, enum khist_unit unit)
{
	if (schema > KHIST_EXP_MAX_SCHEMA || unit >= KHIST_UNITS)
		return NULL;
	pthread_once(&exp_tables_once, fill_exp_tables);
	return &exp_tables[unit][schema];
}

int buckets_layout(struct bucket_layout *layout, enum khist_layout kind, unsigned int precision,
		   enum collector_unit unit)
{
	memset(layout, 0, sizeof(*layout));
	layout->kind = kind;
	layout->precision = precision;
	layout->unit = unit;
	if (kind == KHIST_LAYOUT_LOG_LINEAR) {
		if (precision > KHIST_HIST_MAX_PRECISION)
			return -EINVAL;
		layout->count = khist_hist_buckets(precision);
		return 0;
	}
	if (kind != KHIST_LAYOUT_EXPONENTIAL || precision > KHIST_EXP_MAX_SCHEMA)
		return -EINVAL;
	layout->exp = buckets_exp_table(precision, unit == UNIT_BYTES ? KHIST_UNIT_BYTES :
					KHIST_UNIT_NS);
	layout->count = layout->exp->buckets;
	return 0;
}

unsigned long long buckets_lower(const struct bucket_layout *layout, unsigned int bucket)
{
	if (layout->kind == KHIST_LAYOUT_LOG_LINEAR)
		return khist_hist_lower(bucket, layout->precision);
	return bucket ? layout->exp->last[bucket - 1] + 1 : 0;
}

unsigned long long buckets_upper(const struct bucket_layout *layout, unsigned int bucket)
{
	if (layout->kind == KHIST_LAYOUT_LOG_LINEAR)
		return khist_hist_upper(bucket, layout->precision);
	return layout->exp->last[bucket];
}

int buckets_native_index(const struct bucket_layout *layout, unsigned int bucket)
{
	return khist_exp_native_index(layout->exp, bucket);
}

double buckets_zero_threshold(const struct bucket_layout *layout)
{
	/* Bytes: any threshold below 1 holds only 0; 2^-128 as client_golang uses. */
	if (layout->exp->unit == KHIST_UNIT_BYTES)
		return ldexp(1.0, -128);
	return ldexp(1.0, KHIST_EXP_ZERO_LOG2_NS);
}

/* Upper bound of row bucket @bucket in the base unit, as classic `le`. */
static double classic_bound(const struct bucket_layout *layout, unsigned int bucket)
{
	unsigned long long upper = buckets_upper(layout, bucket);

	if (layout->kind == KHIST_LAYOUT_LOG_LINEAR)
		return layout->unit == UNIT_NS ? (double)upper / 1e9 : (double)upper;
	if (bucket == 0)
		return layout->exp->unit == KHIST_UNIT_BYTES ? 0 : ldexp(1.0, KHIST_EXP_ZERO_LOG2_NS);
	return khist_exp_bound(buckets_native_index(layout, bucket), layout->precision);
}

unsigned int buckets_classic(const struct bucket_layout *layout, int classic_schema,
			     unsigned int *ends, double *bounds)
{
	unsigned int n = 0, shift;

	if (layout->kind == KHIST_LAYOUT_LOG_LINEAR || classic_schema < 0 ||
	    (unsigned int)classic_schema >= layout->precision) {
		for (unsigned int b = 0; b < layout->count; b++, n++) {
			if (ends)
				ends[n] = b;
			if (bounds)
				bounds[n] = classic_bound(layout, b);
		}
		return n;
	}
	/* Native bucket i at schema s lies in bucket ceil(i / 2^(s - c)) at schema c. */
	shift = layout->precision - (unsigned int)classic_schema;
	for (unsigned int b = 0; b < layout->count; b++) {
		int index = b ? buckets_native_index(layout, b) : 0;
		bool group_ends = b == 0 || b + 1 == layout->count ||
				  (index & ((1 << shift) - 1)) == 0;

		if (!group_ends)
			continue;
		if (ends)
			ends[n] = b;
		if (bounds)
			bounds[n] = b == 0 ? classic_bound(layout, 0) :
				    khist_exp_bound((index + (1 << shift) - 1) >> shift,
						    (unsigned int)classic_schema);
		n++;
	}
	return n;
}

void buckets_format_bound(char *buf, size_t size, double value)
{
	for (int digits = 1; digits <= 17; digits++) {
		snprintf(buf, size, "%.*g", digits, value);
		if (strtod(buf, NULL) == value)
			return;
	}
}

const char *buckets_layout_name(enum khist_layout kind, unsigned int precision)
{
	if (kind == KHIST_LAYOUT_EXPONENTIAL)
		return "exponential";
	return precision ? "log-linear" : "log2";
}

int buckets_parse_layout(const char *text, enum khist_layout *kind)
{
	if (!strcmp(text, "exponential"))
		*kind = KHIST_LAYOUT_EXPONENTIAL;
	else if (!strcmp(text, "log-linear") || !strcmp(text, "log2"))
		*kind = KHIST_LAYOUT_LOG_LINEAR;
	else
		return -EINVAL;
	return 0;
}
