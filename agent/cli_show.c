// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
/* khist hist and khist top: what the collectors counted, from one snapshot per table shown. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <khist_hist.h>

#include "cli.h"
#include "collector.h"
#include "json.h"
#include "snapshot.h"
#include "text.h"

enum {
	OPT_PIN_ROOT = 256, OPT_SLOT, OPT_INTERVAL, OPT_COUNT, OPT_US, OPT_MS, OPT_CLEAR,
	OPT_JSON, OPT_ROWS,
};

struct repeat {
	long long interval;	/* seconds, 0: print once */
	long long count;	/* iterations, 0: forever (with an interval) */
};

static void print_time_header(void)
{
	char stamp[16];
	time_t now = time(NULL);

	strftime(stamp, sizeof(stamp), "%H:%M:%S", localtime(&now));
	printf("\n%s\n", stamp);
}

static bool keep_going(const struct repeat *repeat, long long done)
{
	if (!repeat->interval)
		return done == 0;
	return !repeat->count || done < repeat->count;
}

static int take(struct snapshot *snapshot, const char *collector, struct error_context *error)
{
	struct snapshot_options options;

	snapshot_default_options(&options, cli_pin_root());
	options.only_collector = collector;
	options.every_slot = true;
	return snapshot_take(snapshot, &options, error);
}

/* The histogram's family, or why the collector could not be read. */
static const struct snapshot_family *hist_family(const struct snapshot *snapshot,
						 const struct collector *collector,
						 const struct histogram_desc *desc,
						 struct error_context *error)
{
	const struct snapshot_collector *state = snapshot_collector(snapshot, collector);
	const struct snapshot_family *family = snapshot_histogram(snapshot, desc);
	char path[PATH_MAX];

	if (family)
		return family;
	if (state->error.code) {
		*error = state->error;
	} else if (state->loaded && desc->only_by_cgroup && !state->meta.by_cgroup) {
		error_fail(error, -ENOENT, "%s has series only when %s is loaded with --by-cgroup",
			   desc->name, collector->name);
	} else {
		snprintf(path, sizeof(path), "%s/%s/%s", cli_pin_root(), collector->name,
			 state->loaded ? desc->map : "meta");
		error_fail(error, -ENOENT, "%s: %s (is the %s collector loaded?)", path,
			   strerror(ENOENT), collector->name);
	}
	return NULL;
}

/* The series of @family with the labels of @series, or NULL. */
static const struct snapshot_series *same_series(const struct snapshot_family *family,
						 const struct snapshot_series *series)
{
	for (unsigned int s = 0; family && s < family->series_count; s++)
		if (!snapshot_compare_labels(&family->series[s], series))
			return &family->series[s];
	return NULL;
}

/*
 * Interval counts: @current's buckets minus those of the same series (by
 * labels: by cgroup, series come and go) in @previous, into @delta.
 */
static void subtract(const struct snapshot_family *current, const struct snapshot_family *previous,
		     struct snapshot_family *delta, __u64 *buckets, struct snapshot_series *series)
{
	*delta = *current;
	delta->series = series;
	for (unsigned int s = 0; s < current->series_count; s++) {
		const struct snapshot_series *now = &current->series[s];
		const struct snapshot_series *before = same_series(previous, now);
		__u64 *counts = buckets + (size_t)s * current->buckets.count;

		series[s] = *now;
		series[s].buckets = counts;
		series[s].count = 0;
		for (unsigned int b = 0; b < current->buckets.count; b++) {
			__u64 earlier = before ? before->buckets[b] : 0;

			counts[b] = now->buckets[b] >= earlier ? now->buckets[b] - earlier : 0;
			series[s].count += counts[b];
		}
		if (before)
			series[s].sum = now->sum >= before->sum ? now->sum - before->sum : 0;
	}
}

static void print_hist_text(const struct snapshot_family *family, const char *only_slot,
			    const char *unit_label, unsigned long long divisor)
{
	for (unsigned int s = 0; s < family->series_count; s++) {
		const struct snapshot_series *series = &family->series[s];
		/* The slot's label, or the cgroup of a collector loaded by cgroup. */
		const char *label = family->histogram->slot.label ? family->histogram->slot.label :
				    series->label_count ? series->labels[0].name : NULL;
		const char *slot = label ? snapshot_label(series, label) : NULL;

		if (only_slot ? !slot || strcmp(slot, only_slot) : label && !series->count)
			continue;
		/* One section per series, titled by its labels: "cgroup = /a, op = read". */
		for (unsigned int l = 0; l < series->label_count; l++)
			printf("%s%s = %s", l ? ", " : "\n", series->labels[l].name,
			       series->labels[l].value);
		if (series->label_count)
			putchar('\n');
		text_print_hist(stdout, series->buckets, &family->buckets, unit_label, divisor);
	}
}

static bool has_slot(const struct histogram_desc *desc, const char *name)
{
	char buf[32];

	for (unsigned int slot = 0; slot < desc->slots; slot++)
		if (!strcmp(collector_decode_slot(&desc->slot, slot, buf, sizeof(buf)), name))
			return true;
	return false;
}

int cli_hist(int argc, char **argv)
{
	static const struct option options[] = {
		{ "pin-root", required_argument, NULL, OPT_PIN_ROOT },
		{ "slot", required_argument, NULL, OPT_SLOT },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "count", required_argument, NULL, OPT_COUNT },
		{ "us", no_argument, NULL, OPT_US },
		{ "ms", no_argument, NULL, OPT_MS },
		{ "clear", no_argument, NULL, OPT_CLEAR },
		{ "json", no_argument, NULL, OPT_JSON },
		{}
	};
	struct snapshot current = {}, previous = {};
	struct error_context error = {};
	const struct histogram_desc *desc;
	const struct collector *collector;
	struct repeat repeat = {};
	unsigned long long divisor = 1;
	const char *slot_name = NULL, *unit_label;
	bool clear = false, json = false;
	int opt, status = EXIT_OK;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case OPT_PIN_ROOT: cli_set_pin_root(optarg); break;
		case OPT_SLOT: slot_name = optarg; break;
		case OPT_INTERVAL:
			if (!cli_parse_number("--interval", optarg, 1, 86400, &repeat.interval))
				return EXIT_USAGE;
			break;
		case OPT_COUNT:
			if (!cli_parse_number("--count", optarg, 1, 1000000, &repeat.count))
				return EXIT_USAGE;
			break;
		case OPT_US: divisor = 1000; break;
		case OPT_MS: divisor = 1000000; break;
		case OPT_CLEAR: clear = true; break;
		case OPT_JSON: json = true; break;
		default: return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "khist: hist takes one histogram name (khist list shows them)\n");
		return EXIT_USAGE;
	}
	desc = collector_find_histogram(argv[optind], &collector);
	if (!desc) {
		fprintf(stderr, "khist: no histogram '%s' (khist list shows them)\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (repeat.count && !repeat.interval)
		repeat.interval = 1;
	if (desc->unit != UNIT_NS && divisor != 1) {
		fprintf(stderr, "khist: --us/--ms apply to time histograms; %s is in bytes\n",
			desc->name);
		return EXIT_USAGE;
	}
	unit_label = desc->unit != UNIT_NS ? "bytes" :
		     divisor == 1000 ? "usecs" : divisor == 1000000 ? "msecs" : "nsecs";
	if (slot_name && (!desc->slot.label || !has_slot(desc, slot_name))) {
		fprintf(stderr, "khist: %s has no %s '%s'\n", desc->name,
			desc->slot.label ? desc->slot.label : "label", slot_name);
		return EXIT_USAGE;
	}

	/* --clear with an interval: each table shows its own interval, from a baseline taken now. */
	if (clear && repeat.interval) {
		if (take(&previous, collector->name, &error) ||
		    !hist_family(&previous, collector, desc, &error))
			status = cli_runtime_error("hist", error.code, error.text);
	}
	for (long long done = 0; status == EXIT_OK && keep_going(&repeat, done); done++) {
		const struct snapshot_family *family;
		struct snapshot_family delta;
		struct snapshot_series *series = NULL;
		__u64 *buckets = NULL;

		if (repeat.interval)
			sleep(repeat.interval);
		if (take(&current, collector->name, &error) ||
		    !(family = hist_family(&current, collector, desc, &error))) {
			status = cli_runtime_error("hist", error.code, error.text);
			snapshot_free(&current);
			break;
		}
		if (clear && previous.families) {
			series = calloc(family->series_count + 1, sizeof(*series));
			buckets = calloc((size_t)family->series_count * family->buckets.count + 1,
					 sizeof(*buckets));
			if (!series || !buckets) {
				free(series);
				free(buckets);
				status = cli_runtime_error("hist", -ENOMEM, NULL);
				snapshot_free(&current);
				break;
			}
			subtract(family, snapshot_histogram(&previous, desc), &delta, buckets, series);
			family = &delta;
		}
		if (json) {
			cli_print_json(json_histogram(family, slot_name));
		} else {
			if (repeat.interval)
				print_time_header();
			print_hist_text(family, slot_name, unit_label, divisor);
		}
		fflush(stdout);
		free(series);
		free(buckets);
		if (clear) {
			snapshot_free(&previous);
			previous = current;
		} else {
			snapshot_free(&current);
		}
	}
	snapshot_free(&previous);
	return status;
}

/*
 * top: a table's families (or a histogram's counts, sums and the tables of
 * its collector that share its label) joined into rows by their labels.
 */

#define TOP_MAX_COLUMNS (COLLECTOR_MAX_LABELS + COLLECTOR_MAX_METRICS + 4)

struct top_column {
	const char *header;
	const char *label;			/* a label column, or */
	const char *family;			/* a family whose values are summed per row */
	bool histogram_sum;			/* the histogram's sums (not its counts) */
	bool average;				/* time per call: the two columns before */
	unsigned int decimals;			/* values in 10^-decimals units */
};

struct top_view {
	const struct collector *collector;
	const struct histogram_desc *histogram;	/* rows: its slots, or */
	const struct table_desc *table;		/* rows: its rows */
	struct top_column columns[TOP_MAX_COLUMNS];
	unsigned int column_count, key_count;	/* label columns come first */
	char headers[TOP_MAX_COLUMNS][32];
};

struct top_row {
	const struct snapshot_series *key;	/* labels of the row */
	double values[TOP_MAX_COLUMNS];
};

static const char *upper(const char *text, char *buf, size_t size)
{
	size_t i;

	for (i = 0; text[i] && i + 1 < size; i++)
		buf[i] = text[i] >= 'a' && text[i] <= 'z' ? text[i] - 32 : text[i];
	buf[i] = '\0';
	return buf;
}

/* A view by table name, histogram name, or a histogram's count family (khist_syscalls: syscalls). */

/* Appends @column, whose header may be in headers[view->column_count]. */
static void add_column(struct top_view *view, struct top_column column)
{
	view->columns[view->column_count++] = column;
}

static bool find_view(const char *name, struct top_view *view)
{
	char (*headers)[32] = view->headers;

	memset(view, 0, sizeof(*view));
	for (unsigned int i = 0; i < collector_count; i++) {
		const struct collector *collector = collectors[i];

		for (unsigned int t = 0; t < collector->table_count; t++) {
			const struct table_desc *table = &collector->tables[t];

			if (strcmp(table->name, name))
				continue;
			view->collector = collector;
			view->table = table;
			for (unsigned int l = 0; l < table->label_count; l++)
				add_column(view, (struct top_column){
					.header = upper(table->labels[l].label, headers[view->column_count],
							sizeof(headers[0])),
					.label = table->labels[l].label });
			view->key_count = view->column_count;
			for (unsigned int m = 0; m < table->metric_count; m++)
				add_column(view, (struct top_column){
					.header = table->metrics[m].column ? table->metrics[m].column :
						  upper(table->metrics[m].family + 6,
							headers[view->column_count], sizeof(headers[0])),
					.family = table->metrics[m].family });
			return true;
		}
		for (unsigned int h = 0; h < collector->histogram_count; h++) {
			const struct histogram_desc *desc = &collector->histograms[h];

			if (strcmp(desc->name, name) &&
			    (!desc->count_family || strcmp(desc->count_family + 6, name)))
				continue;
			if (!desc->slot.label)
				return false;
			view->collector = collector;
			view->histogram = desc;
			/* Slots in groups: a row per (group, slot), the group first (disk, op). */
			if (desc->group_map)
				add_column(view, (struct top_column){
					.header = upper(desc->group.label, headers[view->column_count],
							sizeof(headers[0])),
					.label = desc->group.label });
			add_column(view, (struct top_column){
				.header = upper(desc->slot.label, headers[view->column_count],
						sizeof(headers[0])),
				.label = desc->slot.label });
			view->key_count = view->column_count;
			add_column(view, (struct top_column){ .header = "COUNT" });
			/* Tables of the collector labelled by the same thing: summed per slot. */
			for (unsigned int t = 0; t < collector->table_count; t++) {
				const struct table_desc *table = &collector->tables[t];

				if (!table->label_count || strcmp(table->labels[0].label, desc->slot.label))
					continue;
				for (unsigned int m = 0; m < table->metric_count &&
				     view->column_count + 2 < TOP_MAX_COLUMNS; m++)
					add_column(view, (struct top_column){
						.header = table->metrics[m].column ? table->metrics[m].column :
							  upper(table->metrics[m].family + 6,
								headers[view->column_count],
								sizeof(headers[0])),
						.family = table->metrics[m].family });
			}
			if (desc->unit == UNIT_NS) {
				add_column(view, (struct top_column){
					.header = "TIME (us)", .histogram_sum = true, .decimals = 3 });
				add_column(view, (struct top_column){
					.header = "AVG (us)", .average = true, .decimals = 3 });
			} else {
				add_column(view, (struct top_column){
					.header = "BYTES", .histogram_sum = true });
			}
			return true;
		}
	}
	return false;
}

/*
 * A collector loaded by cgroup has a series per cgroup of what @view shows:
 * its rows are keyed by the cgroup first. Once per view.
 */
static void key_by_cgroup(struct top_view *view, const struct snapshot *snapshot)
{
	const struct snapshot_collector *state = snapshot_collector(snapshot, view->collector);

	if (!state->loaded || !state->meta.by_cgroup ||
	    (view->column_count && view->columns[0].label && !strcmp(view->columns[0].label, "cgroup")) ||
	    view->column_count == TOP_MAX_COLUMNS ||
	    !((view->table && view->table->per_cgroup) || (view->histogram && view->histogram->by_cgroup)))
		return;
	memmove(&view->columns[1], &view->columns[0], view->column_count * sizeof(view->columns[0]));
	view->columns[0] = (struct top_column){ .header = "CGROUP", .label = "cgroup" };
	view->column_count++;
	view->key_count++;
}

static bool same_keys(const struct top_view *view, const struct snapshot_series *a,
		      const struct snapshot_series *b)
{
	for (unsigned int k = 0; k < view->key_count; k++) {
		const char *x = snapshot_label(a, view->columns[k].label);
		const char *y = snapshot_label(b, view->columns[k].label);

		if (!x || !y || strcmp(x, y))
			return false;
	}
	return true;
}

/* The rows of @view in @snapshot: -1 when its collector is not readable. */
static int top_rows(const struct snapshot *snapshot, const struct top_view *view,
		    struct top_row **rows_out, unsigned int *count, struct error_context *error)
{
	const struct snapshot_collector *state = snapshot_collector(snapshot, view->collector);
	const struct snapshot_family *driver = NULL;
	struct top_row *rows;

	*rows_out = NULL;
	*count = 0;
	if (!state->loaded || state->error.code) {
		if (state->error.code)
			*error = state->error;
		else
			error_fail(error, -ENOENT, "%s/%s/meta: %s (is the %s collector loaded?)",
				   snapshot->pin_root, view->collector->name, strerror(ENOENT),
				   view->collector->name);
		return -1;
	}
	if (!state->meta.by_cgroup && ((view->table && view->table->only_by_cgroup) ||
				       (view->histogram && view->histogram->only_by_cgroup))) {
		error_fail(error, -ENOENT, "%s has rows only when %s is loaded with --by-cgroup",
			   view->table ? view->table->name : view->histogram->name,
			   view->collector->name);
		return -1;
	}
	if (view->histogram)
		driver = snapshot_histogram(snapshot, view->histogram);
	else
		for (unsigned int i = 0; i < snapshot->family_count && !driver; i++)
			if (snapshot->families[i].table == view->table)
				driver = &snapshot->families[i];
	if (!driver)
		return 0;
	rows = calloc(driver->series_count + 1, sizeof(*rows));
	if (!rows) {
		error_fail(error, -ENOMEM, "out of memory");
		return -1;
	}
	for (unsigned int s = 0; s < driver->series_count; s++) {
		const struct snapshot_series *series = &driver->series[s];
		struct top_row *row = &rows[*count];

		if (view->histogram && !series->count)
			continue;
		row->key = series;
		for (unsigned int c = view->key_count; c < view->column_count; c++) {
			const struct top_column *column = &view->columns[c];
			const struct snapshot_family *family;

			if (column->average) {
				row->values[c] = row->values[view->key_count] ?
						 row->values[c - 1] / row->values[view->key_count] : 0;
			} else if (column->histogram_sum || (!column->family && view->histogram)) {
				row->values[c] = column->histogram_sum ? series->sum : series->count;
			} else if ((family = snapshot_find(snapshot, column->family))) {
				for (unsigned int f = 0; f < family->series_count; f++)
					if (same_keys(view, &family->series[f], series))
						row->values[c] += family->series[f].value;
			}
		}
		(*count)++;
	}
	*rows_out = rows;
	return 0;
}

static int by_first_value_desc(const void *a, const void *b, void *context)
{
	const struct top_view *view = context;
	double x = ((const struct top_row *)a)->values[view->key_count];
	double y = ((const struct top_row *)b)->values[view->key_count];

	return x < y ? 1 : x > y ? -1 : 0;
}

/* @rows minus the same rows of @previous (rows only grow; new rows count from 0). */
static void subtract_rows(const struct top_view *view, struct top_row *rows, unsigned int count,
			  const struct top_row *previous, unsigned int previous_count)
{
	for (unsigned int r = 0; r < count; r++)
		for (unsigned int p = 0; p < previous_count; p++) {
			if (!same_keys(view, rows[r].key, previous[p].key))
				continue;
			for (unsigned int c = view->key_count; c < view->column_count; c++) {
				if (view->columns[c].average)
					continue;
				rows[r].values[c] = rows[r].values[c] >= previous[p].values[c] ?
						    rows[r].values[c] - previous[p].values[c] : 0;
			}
			break;
		}
	/* Averages over the interval's own calls. */
	for (unsigned int r = 0; r < count; r++)
		for (unsigned int c = view->key_count; c < view->column_count; c++)
			if (view->columns[c].average)
				rows[r].values[c] = rows[r].values[view->key_count] ?
					rows[r].values[c - 1] / rows[r].values[view->key_count] : 0;
}

static double column_value(const struct top_column *column, double value)
{
	for (unsigned int i = 0; i < column->decimals; i++)
		value /= 10;
	return value;
}

static void print_rows(const struct top_view *view, const struct top_row *rows, unsigned int count,
		       long long limit)
{
	for (unsigned int c = 0; c < view->column_count; c++) {
		bool last = c + 1 == view->column_count;

		if (c < view->key_count)
			printf(last ? "%s" : "%-16s ", view->columns[c].header);
		else
			printf(last ? "%14s" : "%14s ", view->columns[c].header);
	}
	putchar('\n');
	for (unsigned int r = 0; r < count && r < limit; r++) {
		if (!rows[r].values[view->key_count])
			break;
		for (unsigned int c = 0; c < view->column_count; c++) {
			const struct top_column *column = &view->columns[c];
			bool last = c + 1 == view->column_count;

			if (c < view->key_count)
				printf(last ? "%s" : "%-16s ", snapshot_label(rows[r].key, column->label));
			else if (column->decimals)
				printf(last ? "%14.3f" : "%14.3f ", column_value(column, rows[r].values[c]));
			else
				printf(last ? "%14.0f" : "%14.0f ", rows[r].values[c]);
		}
		putchar('\n');
	}
}

static json_object *rows_json(const struct top_view *view, const struct top_row *rows,
			      unsigned int count, long long limit)
{
	json_object *root = json_object_new_object(), *list = json_object_new_array();
	json_object *columns = json_object_new_array();

	for (unsigned int c = 0; c < view->column_count; c++)
		json_object_array_add(columns, json_object_new_string(view->columns[c].header));
	json_object_object_add(root, "collector", json_object_new_string(view->collector->name));
	json_object_object_add(root, "columns", columns);
	for (unsigned int r = 0; r < count && r < limit; r++) {
		json_object *row = json_object_new_object(), *values = json_object_new_object();

		if (!rows[r].values[view->key_count])
			break;
		json_object_object_add(row, "labels", json_labels(rows[r].key));
		for (unsigned int c = view->key_count; c < view->column_count; c++)
			json_object_object_add(values, view->columns[c].header,
					       view->columns[c].decimals || view->columns[c].average ?
					       json_object_new_double(rows[r].values[c]) :
					       json_object_new_uint64(rows[r].values[c]));
		json_object_object_add(row, "values", values);
		json_object_array_add(list, row);
	}
	json_object_object_add(root, "rows", list);
	return root;
}

/* Per cgroup: one column per family with a cgroup label (histograms: their counts). */
#define CGROUP_COLUMNS	12

struct cgroup_row {
	const char *cgroup;
	double values[CGROUP_COLUMNS];
};

static int by_first_column(const void *a, const void *b)
{
	const struct cgroup_row *x = a, *y = b;

	return x->values[0] < y->values[0] ? 1 : x->values[0] > y->values[0] ? -1 :
	       strcmp(x->cgroup, y->cgroup);
}

static int top_cgroups(bool json, long long limit)
{
	const struct snapshot_family *columns[CGROUP_COLUMNS];
	struct snapshot snapshot;
	struct error_context error = {};
	struct cgroup_row *rows = NULL;
	unsigned int column_count = 0, row_count = 0, capacity = 0;
	char header[64];

	if (take(&snapshot, NULL, &error))
		return cli_runtime_error("top", error.code, error.text);
	for (unsigned int f = 0; f < snapshot.family_count && column_count < CGROUP_COLUMNS; f++) {
		const struct snapshot_family *family = &snapshot.families[f];

		if (family->series_count && snapshot_label(&family->series[0], "cgroup") &&
		    family->type != METRIC_GAUGE)
			columns[column_count++] = family;
	}
	if (!column_count) {
		snapshot_free(&snapshot);
		fprintf(stderr, "khist: top cgroups: no collector is loaded with --by-cgroup under %s\n",
			cli_pin_root());
		return EXIT_RUNTIME;
	}
	for (unsigned int c = 0; c < column_count; c++)
		for (unsigned int s = 0; s < columns[c]->series_count; s++) {
			const struct snapshot_series *series = &columns[c]->series[s];
			const char *cgroup = snapshot_label(series, "cgroup");
			unsigned int r;

			if (!cgroup)
				continue;
			for (r = 0; r < row_count && strcmp(rows[r].cgroup, cgroup); r++)
				;
			if (r == row_count) {
				if (row_count == capacity) {
					struct cgroup_row *grown;

					capacity = capacity ? 2 * capacity : 32;
					grown = realloc(rows, capacity * sizeof(*rows));
					if (!grown) {
						free(rows);
						snapshot_free(&snapshot);
						return cli_runtime_error("top", -ENOMEM, NULL);
					}
					rows = grown;
				}
				memset(&rows[row_count], 0, sizeof(*rows));
				rows[row_count++].cgroup = cgroup;
			}
			rows[r].values[c] += columns[c]->type == METRIC_HISTOGRAM ? series->count :
					     series->value;
		}
	/* Rows of nothing (every_slot snapshots keep them): left out. */
	for (unsigned int r = 0; r < row_count;) {
		bool empty = true;

		for (unsigned int c = 0; c < column_count; c++)
			empty &= rows[r].values[c] == 0;
		if (empty)
			rows[r] = rows[--row_count];
		else
			r++;
	}
	qsort(rows, row_count, sizeof(*rows), by_first_column);
	if (json) {
		json_object *root = json_object_new_array();

		for (unsigned int r = 0; r < row_count && r < limit; r++) {
			json_object *one = json_object_new_object();

			json_object_object_add(one, "cgroup", json_object_new_string(rows[r].cgroup));
			for (unsigned int c = 0; c < column_count; c++)
				json_object_object_add(one, columns[c]->name,
						       json_object_new_uint64(rows[r].values[c]));
			json_object_array_add(root, one);
		}
		cli_print_json(root);
	} else {
		int widths[CGROUP_COLUMNS];

		printf("%-40s", "CGROUP");
		for (unsigned int c = 0; c < column_count; c++) {
			/* khist_runq_latency_seconds: RUNQ_LATENCY (a histogram: its samples) */
			const char *name = columns[c]->name + 6;
			size_t len = strlen(name);

			if (columns[c]->type == METRIC_HISTOGRAM && columns[c]->unit &&
			    len > strlen(columns[c]->unit) + 1)
				len -= strlen(columns[c]->unit) + 1;
			snprintf(header, sizeof(header), "%.*s", (int)len, name);
			widths[c] = len > 12 ? (int)len : 12;
			printf(" %*s", widths[c], upper(header, header, sizeof(header)));
		}
		putchar('\n');
		for (unsigned int r = 0; r < row_count && r < limit; r++) {
			printf("%-40s", rows[r].cgroup);
			for (unsigned int c = 0; c < column_count; c++)
				printf(" %*.0f", widths[c], rows[r].values[c]);
			putchar('\n');
		}
	}
	free(rows);
	snapshot_free(&snapshot);
	return EXIT_OK;
}

int cli_top(int argc, char **argv)
{
	static const struct option options[] = {
		{ "pin-root", required_argument, NULL, OPT_PIN_ROOT },
		{ "rows", required_argument, NULL, OPT_ROWS },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "count", required_argument, NULL, OPT_COUNT },
		{ "json", no_argument, NULL, OPT_JSON },
		{}
	};
	struct snapshot current = {}, previous = {};
	struct top_row *rows = NULL, *previous_rows = NULL;
	unsigned int count = 0, previous_count = 0;
	struct error_context error = {};
	struct repeat repeat = {};
	struct top_view view;
	long long limit = 20;
	bool json = false;
	int opt, status = EXIT_OK;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case OPT_PIN_ROOT: cli_set_pin_root(optarg); break;
		case OPT_ROWS:
			if (!cli_parse_number("--rows", optarg, 1, 100000, &limit))
				return EXIT_USAGE;
			break;
		case OPT_INTERVAL:
			if (!cli_parse_number("--interval", optarg, 1, 86400, &repeat.interval))
				return EXIT_USAGE;
			break;
		case OPT_COUNT:
			if (!cli_parse_number("--count", optarg, 1, 1000000, &repeat.count))
				return EXIT_USAGE;
			break;
		case OPT_JSON: json = true; break;
		default: return EXIT_USAGE;
		}
	}
	if (optind + 1 == argc && !strcmp(argv[optind], "cgroups"))
		return top_cgroups(json, limit);
	if (optind + 1 != argc || !find_view(argv[optind], &view)) {
		fprintf(stderr, "khist: top takes one table: syscalls, processes, files, signals, "
			"cgroups, or "
			"another that khist list shows\n");
		return EXIT_USAGE;
	}
	if (repeat.count && !repeat.interval)
		repeat.interval = 1;
	/* With an interval, each table shows that interval's own counts. */
	if (repeat.interval && (take(&previous, view.collector->name, &error) ||
				(key_by_cgroup(&view, &previous),
				 top_rows(&previous, &view, &previous_rows, &previous_count, &error))))
		status = cli_runtime_error("top", error.code, error.text);
	for (long long done = 0; status == EXIT_OK && keep_going(&repeat, done); done++) {
		if (repeat.interval) {
			sleep(repeat.interval);
			if (!json)
				print_time_header();
		}
		if (take(&current, view.collector->name, &error) ||
		    (key_by_cgroup(&view, &current),
		     top_rows(&current, &view, &rows, &count, &error))) {
			status = cli_runtime_error("top", error.code, error.text);
			break;
		}
		if (repeat.interval) {
			/* Keep the raw counts for the next interval's baseline. */
			struct top_row *raw = malloc((count + 1) * sizeof(*raw));

			if (!raw) {
				status = cli_runtime_error("top", -ENOMEM, NULL);
				break;
			}
			memcpy(raw, rows, count * sizeof(*raw));
			subtract_rows(&view, rows, count, previous_rows, previous_count);
			free(previous_rows);
			snapshot_free(&previous);
			previous_rows = raw;
			previous_count = count;
		}
		qsort_r(rows, count, sizeof(*rows), by_first_value_desc, &view);
		if (json)
			cli_print_json(rows_json(&view, rows, count, limit));
		else
			print_rows(&view, rows, count, limit);
		fflush(stdout);
		free(rows);
		rows = NULL;
		if (repeat.interval)
			previous = current;
		else
			snapshot_free(&current);
		memset(&current, 0, sizeof(current));
	}
	free(rows);
	free(previous_rows);
	snapshot_free(&previous);
	snapshot_free(&current);
	return status;
}
