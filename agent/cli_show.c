// SPDX-License-Identifier: GPL-2.0
/* khist hist and khist top: what the collectors counted, from their pins. */
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <khist_hist.h>

#include "catalog.h"
#include "cli.h"
#include "json.h"
#include "reader.h"
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

/* @current minus @previous, where counts only grow. */
static void subtract_hist(struct reader_hist *current, const struct reader_hist *previous)
{
	size_t entries = (size_t)current->def->slots * current->buckets;

	for (size_t i = 0; i < entries; i++)
		current->counts[i] -= previous->counts[i];
	for (unsigned int slot = 0; slot < current->def->slots; slot++) {
		current->totals[slot].count -= previous->totals[slot].count;
		current->totals[slot].sum -= previous->totals[slot].sum;
	}
}

static int find_slot(const struct catalog_histogram *def, const char *name)
{
	char buf[32];

	for (unsigned int slot = 0; slot < def->slots; slot++)
		if (def->slot_name && !strcmp(def->slot_name(slot, buf, sizeof(buf)), name))
			return slot;
	return -1;
}

static void print_hist_text(const struct reader_hist *hist, int only_slot, const char *unit_label,
			    unsigned long long divisor)
{
	const struct catalog_histogram *def = hist->def;
	char name[32];

	for (unsigned int slot = 0; slot < def->slots; slot++) {
		if ((only_slot >= 0 && (int)slot != only_slot) ||
		    (def->label && !hist->totals[slot].count && only_slot < 0))
			continue;
		if (def->label)
			printf("\n%s = %s\n", def->label, def->slot_name(slot, name, sizeof(name)));
		text_print_hist(stdout, hist->counts + (size_t)slot * hist->buckets, hist->buckets,
				hist->precision, unit_label, divisor);
	}
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
	struct reader_hist current = {}, previous = {};
	const struct catalog_histogram *def;
	struct repeat repeat = {};
	unsigned long long divisor = 1;
	const char *slot_name = NULL, *unit_label;
	bool clear = false, json = false;
	int opt, only_slot = -1, err = 0;

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
	def = catalog_find_histogram(argv[optind]);
	if (!def) {
		fprintf(stderr, "khist: no histogram '%s' (khist list shows them)\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (repeat.count && !repeat.interval)
		repeat.interval = 1;
	if (strcmp(def->unit, "ns") && divisor != 1) {
		fprintf(stderr, "khist: --us/--ms apply to time histograms; %s is in %s\n", def->name,
			def->unit);
		return EXIT_USAGE;
	}
	unit_label = strcmp(def->unit, "ns") ? def->unit :
		     divisor == 1000 ? "usecs" : divisor == 1000000 ? "msecs" : "nsecs";
	if (slot_name) {
		only_slot = def->label ? find_slot(def, slot_name) : -1;
		if (only_slot < 0) {
			fprintf(stderr, "khist: %s has no %s '%s'\n", def->name,
				def->label ? def->label : "label", slot_name);
			return EXIT_USAGE;
		}
	}

	/* --clear with an interval: each table shows its own interval, from a baseline taken now. */
	if (clear && repeat.interval) {
		err = reader_hist(cli_pin_root(), def, &previous);
		if (err)
			return cli_runtime_error("hist", err, reader_error());
	}
	for (long long done = 0; keep_going(&repeat, done); done++) {
		if (repeat.interval)
			sleep(repeat.interval);
		err = reader_hist(cli_pin_root(), def, &current);
		if (err)
			return cli_runtime_error("hist", err, reader_error());
		if (clear && previous.counts) {
			struct reader_hist snapshot = current;

			/* Keep the raw snapshot for the next round, show the difference. */
			current.counts = malloc(sizeof(__u64) * def->slots * current.buckets);
			current.totals = malloc(sizeof(struct khist_totals) * def->slots);
			if (!current.counts || !current.totals)
				return cli_runtime_error("hist", -ENOMEM, NULL);
			memcpy(current.counts, snapshot.counts, sizeof(__u64) * def->slots * current.buckets);
			memcpy(current.totals, snapshot.totals, sizeof(struct khist_totals) * def->slots);
			subtract_hist(&current, &previous);
			reader_hist_free(&previous);
			previous = snapshot;
		}
		if (json) {
			json_object *object = json_histogram(&current, only_slot);

			printf("%s\n", json_object_to_json_string_ext(object, JSON_C_TO_STRING_PLAIN));
			json_object_put(object);
		} else {
			if (repeat.interval)
				print_time_header();
			print_hist_text(&current, only_slot, unit_label, divisor);
		}
		fflush(stdout);
		reader_hist_free(&current);
	}
	reader_hist_free(&previous);
	return EXIT_OK;
}

/* top */

struct top_row {
	const void *key;
	const void *value;
	__u64 sort;
};

static int by_sort_desc(const void *a, const void *b)
{
	const struct top_row *x = a, *y = b;

	return x->sort < y->sort ? 1 : x->sort > y->sort ? -1 : 0;
}

static size_t table_key_size;

static int by_key(const void *a, const void *b)
{
	return memcmp(a, b, table_key_size);
}

/*
 * Subtracts from each entry of @current the same key's u64 fields at
 * @offsets in @previous. Keys are sorted in @previous for the lookups.
 */
static void subtract_table(struct reader_table *current, struct reader_table *previous,
			   const size_t *offsets, unsigned int offset_count)
{
	size_t entry = previous->key_size + previous->value_size;
	char *sorted = malloc(entry * (previous->count + 1));

	if (!sorted)
		return;
	for (unsigned int i = 0; i < previous->count; i++) {
		memcpy(sorted + i * entry, (char *)previous->keys + (size_t)i * previous->key_size,
		       previous->key_size);
		memcpy(sorted + i * entry + previous->key_size,
		       (char *)previous->values + (size_t)i * previous->value_size, previous->value_size);
	}
	table_key_size = previous->key_size;
	qsort(sorted, previous->count, entry, by_key);
	for (unsigned int i = 0; i < current->count; i++) {
		char *key = (char *)current->keys + (size_t)i * current->key_size;
		char *value = (char *)current->values + (size_t)i * current->value_size;
		char *old = bsearch(key, sorted, previous->count, entry, by_key);

		for (unsigned int f = 0; old && f < offset_count; f++) {
			__u64 before, now;

			memcpy(&before, old + previous->key_size + offsets[f], sizeof(before));
			memcpy(&now, value + offsets[f], sizeof(now));
			now = now >= before ? now - before : now;
			memcpy(value + offsets[f], &now, sizeof(now));
		}
	}
	free(sorted);
}

static int table_copy(const struct reader_table *from, struct reader_table *to)
{
	*to = *from;
	to->keys = malloc((size_t)from->count * from->key_size + 1);
	to->values = malloc((size_t)from->count * from->value_size + 1);
	if (!to->keys || !to->values) {
		reader_table_free(to);
		return -ENOMEM;
	}
	memcpy(to->keys, from->keys, (size_t)from->count * from->key_size);
	memcpy(to->values, from->values, (size_t)from->count * from->value_size);
	return 0;
}

/* Turns @table into counts since @previous, and keeps @table's raw counts there. */
static int interval_counts(struct reader_table *table, struct reader_table *previous,
			   const size_t *offsets, unsigned int offset_count)
{
	struct reader_table raw;
	int err = table_copy(table, &raw);

	if (err)
		return err;
	if (previous->keys)
		subtract_table(table, previous, offsets, offset_count);
	reader_table_free(previous);
	*previous = raw;
	return 0;
}

static int top_syscalls(long long rows, __u64 *previous)
{
	__u64 now[KHIST_SYSCALL_SLOTS * 2], latency[KHIST_SYSCALL_SLOTS * 2];
	__u64 calls[KHIST_SYSCALL_SLOTS], errors[KHIST_SYSCALL_SLOTS];
	struct top_row sorted[KHIST_SYSCALL_SLOTS];
	unsigned int count = 0;
	char name[32];
	int err;

	err = reader_syscall_counts(cli_pin_root(), calls, errors);
	if (!err) {
		struct reader_hist hist;

		err = reader_hist(cli_pin_root(), catalog_find_histogram("syscall_latency"), &hist);
		for (unsigned int nr = 0; !err && nr < KHIST_SYSCALL_SLOTS; nr++) {
			now[nr * 2] = calls[nr];
			now[nr * 2 + 1] = errors[nr];
			latency[nr * 2] = hist.totals[nr].count;
			latency[nr * 2 + 1] = hist.totals[nr].sum;
		}
		if (!err)
			reader_hist_free(&hist);
	}
	if (err)
		return cli_runtime_error("top syscalls", err, reader_error());
	for (unsigned int nr = 0; nr < KHIST_SYSCALL_SLOTS; nr++) {
		__u64 calls = now[nr * 2], errors = now[nr * 2 + 1], time_ns = latency[nr * 2 + 1];

		if (previous) {
			calls -= previous[nr * 4];
			errors -= previous[nr * 4 + 1];
			time_ns -= previous[nr * 4 + 2];
			previous[nr * 4] = now[nr * 2];
			previous[nr * 4 + 1] = now[nr * 2 + 1];
			previous[nr * 4 + 2] = latency[nr * 2 + 1];
		}
		now[nr * 2] = calls;
		now[nr * 2 + 1] = errors;
		latency[nr * 2 + 1] = time_ns;
		if (calls)
			sorted[count++] = (struct top_row){ .key = &now[nr * 2],
							    .value = &latency[nr * 2], .sort = calls };
	}
	qsort(sorted, count, sizeof(sorted[0]), by_sort_desc);
	if (!rows)
		return EXIT_OK;
	printf("%-22s %12s %10s %14s %10s\n", "SYSCALL", "COUNT", "ERRORS", "TIME (us)", "AVG (us)");
	for (unsigned int i = 0; i < count && i < rows; i++) {
		const __u64 *counts = sorted[i].key, *totals = sorted[i].value;
		unsigned int nr = (counts - now) / 2;

		printf("%-22s %12llu %10llu %14.1f %10.3f\n", catalog_syscall_name(nr, name, sizeof(name)),
		       (unsigned long long)counts[0], (unsigned long long)counts[1], totals[1] / 1e3,
		       counts[0] ? totals[1] / 1e3 / counts[0] : 0.0);
	}
	return EXIT_OK;
}

static int top_processes(long long rows, struct reader_table *previous)
{
	static const size_t counters[] = {
		offsetof(struct khist_process_value, syscalls),
		offsetof(struct khist_process_value, errors),
	};
	struct reader_table table;
	struct top_row *sorted;
	int err;

	err = reader_processes(cli_pin_root(), &table);
	if (err)
		return cli_runtime_error("top processes", err, reader_error());
	if (previous)
		err = interval_counts(&table, previous, counters, 2);
	if (err)
		return cli_runtime_error("top processes", err, NULL);
	sorted = calloc(table.count + 1, sizeof(*sorted));
	for (unsigned int i = 0; sorted && i < table.count; i++) {
		const struct khist_process_value *value =
			(const struct khist_process_value *)table.values + i;

		sorted[i] = (struct top_row){ (const struct khist_process_key *)table.keys + i, value,
					      value->syscalls };
	}
	if (sorted)
		qsort(sorted, table.count, sizeof(*sorted), by_sort_desc);
	if (rows)
		printf("%-8s %-16s %12s %10s\n", "PID", "COMM", "SYSCALLS", "ERRORS");
	for (unsigned int i = 0; sorted && i < table.count && i < rows; i++) {
		const struct khist_process_key *key = sorted[i].key;
		const struct khist_process_value *value = sorted[i].value;

		if (!value->syscalls)
			break;
		printf("%-8u %-16.16s %12llu %10llu\n", key->tgid, value->comm,
		       (unsigned long long)value->syscalls, (unsigned long long)value->errors);
	}
	free(sorted);
	reader_table_free(&table);
	return EXIT_OK;
}

static int top_files(long long rows, struct reader_table *previous)
{
	static const size_t counters[] = {
		offsetof(struct khist_file_value, reads),
		offsetof(struct khist_file_value, writes),
		offsetof(struct khist_file_value, read_bytes),
		offsetof(struct khist_file_value, write_bytes),
	};
	struct reader_table table;
	struct top_row *sorted;
	int err;

	err = reader_files(cli_pin_root(), &table);
	if (err)
		return cli_runtime_error("top files", err, reader_error());
	if (previous)
		err = interval_counts(&table, previous, counters, 4);
	if (err)
		return cli_runtime_error("top files", err, NULL);
	sorted = calloc(table.count + 1, sizeof(*sorted));
	for (unsigned int i = 0; sorted && i < table.count; i++) {
		const struct khist_file_value *value = (const struct khist_file_value *)table.values + i;

		sorted[i] = (struct top_row){ (const struct khist_file_key *)table.keys + i, value,
					      value->read_bytes + value->write_bytes +
					      value->reads + value->writes };
	}
	if (sorted)
		qsort(sorted, table.count, sizeof(*sorted), by_sort_desc);
	if (rows)
		printf("%-8s %-16s %8s %8s %10s %10s %-8s %s\n", "PID", "COMM", "READS", "WRITES", "R_KB",
	       "W_KB", "KIND", "FILE");
	for (unsigned int i = 0; sorted && i < table.count && i < rows; i++) {
		const struct khist_file_key *key = sorted[i].key;
		const struct khist_file_value *value = sorted[i].value;

		if (!sorted[i].sort)
			break;
		printf("%-8u %-16.16s %8llu %8llu %10llu %10llu %-8s %.*s\n", key->tgid, value->comm,
		       (unsigned long long)value->reads, (unsigned long long)value->writes,
		       (unsigned long long)value->read_bytes / 1024,
		       (unsigned long long)value->write_bytes / 1024,
		       catalog_file_kind_name(value->kind), KHIST_FILE_NAME_LEN, value->name);
	}
	free(sorted);
	reader_table_free(&table);
	return EXIT_OK;
}

int cli_top(int argc, char **argv)
{
	static const struct option options[] = {
		{ "pin-root", required_argument, NULL, OPT_PIN_ROOT },
		{ "rows", required_argument, NULL, OPT_ROWS },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "count", required_argument, NULL, OPT_COUNT },
		{}
	};
	static __u64 previous_syscalls[KHIST_SYSCALL_SLOTS * 4];
	struct reader_table previous_table = {};
	struct repeat repeat = {};
	long long rows = 20;
	const char *what;
	int opt, status = EXIT_OK;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case OPT_PIN_ROOT: cli_set_pin_root(optarg); break;
		case OPT_ROWS:
			if (!cli_parse_number("--rows", optarg, 1, 100000, &rows))
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
		default: return EXIT_USAGE;
		}
	}
	what = optind + 1 == argc ? argv[optind] : "";
	if (strcmp(what, "syscalls") && strcmp(what, "processes") && strcmp(what, "files")) {
		fprintf(stderr, "khist: top takes one of syscalls, processes, files\n");
		return EXIT_USAGE;
	}
	if (repeat.count && !repeat.interval)
		repeat.interval = 1;
	/* With an interval, each table shows that interval's own counts. */
	if (repeat.interval) {
		if (!strcmp(what, "syscalls"))
			status = top_syscalls(0, previous_syscalls);
		else if (!strcmp(what, "processes"))
			status = top_processes(0, &previous_table);
		else
			status = top_files(0, &previous_table);
		if (status)
			return status;
	}
	for (long long done = 0; status == EXIT_OK && keep_going(&repeat, done); done++) {
		if (repeat.interval) {
			sleep(repeat.interval);
			print_time_header();
		}
		if (!strcmp(what, "syscalls"))
			status = top_syscalls(rows, repeat.interval ? previous_syscalls : NULL);
		else if (!strcmp(what, "processes"))
			status = top_processes(rows, repeat.interval ? &previous_table : NULL);
		else
			status = top_files(rows, repeat.interval ? &previous_table : NULL);
		fflush(stdout);
	}
	reader_table_free(&previous_table);
	return status;
}
