// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <errno.h>
#include <dirent.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <khist_hist.h>
#include <uapi/khist.h>

#include "catalog.h"
#include "kmod_client.h"
#include "kmod_stats.h"
#include "prometheus.h"
#include "reader.h"

/*
 * The page is built in one growing buffer and written out at the end:
 * formatting thousands of samples through stdio calls cost more than
 * reading the maps.
 */
struct writer {
	char *data;
	size_t len, size;
	bool openmetrics;
	bool failed;
};

static void put(struct writer *w, const char *text, size_t len)
{
	if (w->len + len > w->size) {
		size_t size = w->size ? w->size : 65536;
		char *data;

		while (size < w->len + len)
			size *= 2;
		data = realloc(w->data, size);
		if (!data) {
			w->failed = true;
			return;
		}
		w->data = data;
		w->size = size;
	}
	memcpy(w->data + w->len, text, len);
	w->len += len;
}

static void put_str(struct writer *w, const char *text)
{
	put(w, text, strlen(text));
}

static void put_char(struct writer *w, char c)
{
	put(w, &c, 1);
}

static void put_u64(struct writer *w, unsigned long long value)
{
	char digits[24], *p = digits + sizeof(digits);

	do {
		*--p = '0' + value % 10;
		value /= 10;
	} while (value);
	put(w, p, digits + sizeof(digits) - p);
}

/* HELP text: backslash and newline escaped. */
static void put_help(struct writer *w, const char *text)
{
	for (; *text; text++) {
		if (*text == '\\')
			put_str(w, "\\\\");
		else if (*text == '\n')
			put_str(w, "\\n");
		else
			put_char(w, *text);
	}
}

/*
 * A label value: backslash, quote and newline escaped, and bytes that are
 * not valid UTF-8 (file names can hold anything) replaced by '?'.
 */
static void put_label_value(struct writer *w, const char *value, size_t max)
{
	const unsigned char *p = (const unsigned char *)value, *end = p + strnlen(value, max);

	while (p < end) {
		int extra = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2 :
			    (*p & 0xf8) == 0xf0 ? 3 : -1;
		bool valid = extra >= 0 && p + extra < end;

		for (int i = 1; valid && i <= extra; i++)
			valid = (p[i] & 0xc0) == 0x80;
		if (!valid) {
			put_char(w, '?');
			p++;
			continue;
		}
		if (*p == '\\')
			put_str(w, "\\\\");
		else if (*p == '"')
			put_str(w, "\\\"");
		else if (*p == '\n')
			put_str(w, "\\n");
		else
			put(w, (const char *)p, extra + 1);
		p += extra + 1;
	}
}

/*
 * # HELP / # TYPE (/ # UNIT) of a family. @base is the family name without
 * the _total of counters: OpenMetrics names the family so, 0.0.4 does not.
 */
static void family(struct writer *w, const char *base, const char *type, const char *unit,
		   const char *help)
{
	const char *suffix = !w->openmetrics && !strcmp(type, "counter") ? "_total" : "";

	put_str(w, "# HELP ");
	put_str(w, base);
	put_str(w, suffix);
	put_char(w, ' ');
	put_help(w, help);
	put_str(w, "\n# TYPE ");
	put_str(w, base);
	put_str(w, suffix);
	put_char(w, ' ');
	put_str(w, type);
	put_char(w, '\n');
	if (w->openmetrics && unit) {
		put_str(w, "# UNIT ");
		put_str(w, base);
		put_char(w, ' ');
		put_str(w, unit);
		put_char(w, '\n');
	}
}

struct label {
	const char *name;
	const char *value;
};

static void sample_start(struct writer *w, const char *name, const char *suffix,
			 const struct label *labels, int count)
{
	put_str(w, name);
	put_str(w, suffix);
	if (!count)
		return;
	put_char(w, '{');
	for (int i = 0; i < count; i++) {
		if (i)
			put_char(w, ',');
		put_str(w, labels[i].name);
		put_str(w, "=\"");
		put_label_value(w, labels[i].value, 4096);
		put_char(w, '"');
	}
	put_char(w, '}');
}

static void sample_u64(struct writer *w, const char *name, const char *suffix,
		       const struct label *labels, int count, unsigned long long value)
{
	sample_start(w, name, suffix, labels, count);
	put_char(w, ' ');
	put_u64(w, value);
	put_char(w, '\n');
}

/* An integer count of 10^-@decimals units, printed exactly ("0.000001023"). */
static void format_scaled(char *buf, size_t size, unsigned long long value, int decimals)
{
	unsigned long long scale = 1;
	int len;

	for (int i = 0; i < decimals; i++)
		scale *= 10;
	len = snprintf(buf, size, "%llu.%0*llu", value / scale, decimals, value % scale);
	while (len > 0 && buf[len - 1] == '0')
		buf[--len] = '\0';
	if (len > 0 && buf[len - 1] == '.')
		buf[--len] = '\0';
}

static void sample_scaled(struct writer *w, const char *name, const char *suffix,
			  const struct label *labels, int count, unsigned long long value, int decimals)
{
	char text[48];

	format_scaled(text, sizeof(text), value, decimals);
	sample_start(w, name, suffix, labels, count);
	put_char(w, ' ');
	put_str(w, text);
	put_char(w, '\n');
}

static void metric_name(char *buf, size_t size, const struct catalog_histogram *def)
{
	snprintf(buf, size, "khist_%s_%s", def->name, !strcmp(def->unit, "ns") ? "seconds" : "bytes");
}

static void render_histogram(struct writer *w, const struct reader_hist *hist)
{
	const struct catalog_histogram *def = hist->def;
	int decimals = !strcmp(def->unit, "ns") ? 9 : 0;
	char name[96], slot_name[32], (*le)[32];
	struct writer series = {};

	/* The bucket bounds are the same for every series: format them once. */
	le = calloc(hist->buckets, sizeof(*le));
	if (!le) {
		w->failed = true;
		return;
	}
	for (unsigned int i = 0; i < hist->buckets; i++)
		format_scaled(le[i], sizeof(le[i]), khist_hist_upper(i, hist->precision), decimals);
	metric_name(name, sizeof(name), def);
	family(w, name, "histogram", decimals ? "seconds" : "bytes", def->description);
	for (unsigned int slot = 0; slot < def->slots; slot++) {
		const __u64 *counts = hist->counts + (size_t)slot * hist->buckets;
		__u64 count = reader_hist_count(hist, slot), cumulative = 0;
		struct label label;

		if (def->label && !count)
			continue;
		/* "NAME_bucket{LABEL="VALUE",le="" once per series. */
		series.len = 0;
		put_str(&series, name);
		put_str(&series, "_bucket{");
		if (def->label) {
			label = (struct label){ def->label,
						def->slot_name(slot, slot_name, sizeof(slot_name)) };
			put_str(&series, label.name);
			put_str(&series, "=\"");
			put_label_value(&series, label.value, sizeof(slot_name));
			put_str(&series, "\",");
		}
		put_str(&series, "le=\"");
		if (series.failed)
			break;
		for (unsigned int i = 0; i < hist->buckets; i++) {
			cumulative += counts[i];
			put(w, series.data, series.len);
			put_str(w, le[i]);
			put_str(w, "\"} ");
			put_u64(w, cumulative);
			put_char(w, '\n');
		}
		put(w, series.data, series.len);
		put_str(w, "+Inf\"} ");
		put_u64(w, count);
		put_char(w, '\n');
		sample_scaled(w, name, "_sum", &label, def->label ? 1 : 0, hist->totals[slot].sum,
			      decimals);
		sample_u64(w, name, "_count", &label, def->label ? 1 : 0, count);
	}
	free(series.data);
	free(le);
}

static int read_percpu(const char *root, const char *collector, const char *map,
		       unsigned int entries, unsigned int fields, __u64 *out)
{
	int fd = reader_open(root, collector, map), err;

	if (fd < 0)
		return fd;
	err = reader_percpu_sum(fd, entries, fields, out);
	close(fd);
	return err;
}

/* The @limit busiest entries of a table, then in key order for a stable output. */
struct ranked {
	const void *key;
	const void *value;
	__u64 weight;
};

static size_t ranked_key_size;

static int by_weight(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	return x->weight < y->weight ? 1 : x->weight > y->weight ? -1 : 0;
}

static int by_key(const void *a, const void *b)
{
	return memcmp(((const struct ranked *)a)->key, ((const struct ranked *)b)->key, ranked_key_size);
}

static struct ranked *rank(const struct reader_table *table, unsigned int limit,
			   __u64 (*weight)(const void *value), unsigned int *count)
{
	struct ranked *rows = calloc(table->count + 1, sizeof(*rows));

	*count = 0;
	if (!rows)
		return NULL;
	for (unsigned int i = 0; i < table->count; i++)
		rows[i] = (struct ranked){ (const char *)table->keys + (size_t)i * table->key_size,
					   (const char *)table->values + (size_t)i * table->value_size,
					   weight((const char *)table->values + (size_t)i * table->value_size) };
	qsort(rows, table->count, sizeof(*rows), by_weight);
	*count = table->count < limit ? table->count : limit;
	ranked_key_size = table->key_size;
	qsort(rows, *count, sizeof(*rows), by_key);
	return rows;
}

static __u64 errno_weight(const void *value)
{
	return *(const __u64 *)value;
}

static void render_syscall_counters(struct writer *w, const struct metrics_context *context)
{
	__u64 calls[KHIST_SYSCALL_SLOTS], failures[KHIST_SYSCALL_SLOTS];
	char name[32], errno_name[32];
	struct reader_table errors;
	struct ranked *rows;
	unsigned int count;

	if (reader_syscall_counts(context->pin_root, calls, failures))
		return;
	family(w, "khist_syscalls", "counter", NULL, "System calls completed, per system call");
	for (unsigned int nr = 0; nr < KHIST_SYSCALL_SLOTS; nr++) {
		struct label label = { "syscall", catalog_syscall_name(nr, name, sizeof(name)) };

		if (calls[nr])
			sample_u64(w, "khist_syscalls", "_total", &label, 1, calls[nr]);
	}
	if (reader_table(context->pin_root, "syscalls", "syscall_errors", &errors))
		return;
	/* In key order (syscall, errno) for a stable page. */
	ranked_key_size = sizeof(struct khist_errno_key);
	rows = rank(&errors, errors.count, errno_weight, &count);
	family(w, "khist_syscall_errors", "counter", NULL,
	       "System calls that returned an error, per system call and errno");
	for (unsigned int i = 0; rows && i < count; i++) {
		const struct khist_errno_key *key = rows[i].key;
		const char *symbol = strerrorname_np(key->error);
		struct label labels[2] = {
			{ "syscall", catalog_syscall_name(key->syscall, name, sizeof(name)) },
			{ "errno", symbol ? symbol : errno_name },
		};

		snprintf(errno_name, sizeof(errno_name), "%u", key->error);
		sample_u64(w, "khist_syscall_errors", "_total", labels, 2, *(const __u64 *)rows[i].value);
	}
	free(rows);
	reader_table_free(&errors);
}

static __u64 process_weight(const void *value)
{
	return ((const struct khist_process_value *)value)->syscalls;
}

static __u64 file_weight(const void *value)
{
	const struct khist_file_value *file = value;

	return file->read_bytes + file->write_bytes + file->reads + file->writes;
}

static __u64 signal_weight(const void *value)
{
	return *(const __u64 *)value;
}

static void render_processes(struct writer *w, const struct metrics_context *context)
{
	struct reader_table table;
	struct ranked *rows;
	unsigned int count;
	char pid[16];

	if (!context->export_processes ||
	    reader_processes(context->pin_root, &table))
		return;
	rows = rank(&table, context->export_processes, process_weight, &count);
	family(w, "khist_process_syscalls", "counter", NULL,
	       "System calls per process, for the busiest processes");
	for (unsigned int i = 0; rows && i < count; i++) {
		const struct khist_process_value *value = rows[i].value;
		struct label labels[2] = { { "pid", pid }, { "comm", value->comm } };

		snprintf(pid, sizeof(pid), "%u", ((const struct khist_process_key *)rows[i].key)->tgid);
		sample_u64(w, "khist_process_syscalls", "_total", labels, 2, value->syscalls);
	}
	free(rows);
	reader_table_free(&table);
}

static void render_signals(struct writer *w, const struct metrics_context *context)
{
	struct reader_table table;
	struct ranked *rows;
	unsigned int count;
	char signal[16], target[16];

	if (!context->export_signals || reader_table(context->pin_root, "syscalls", "signals", &table))
		return;
	rows = rank(&table, context->export_signals, signal_weight, &count);
	family(w, "khist_signals", "counter", NULL,
	       "Signals sent with kill, tkill and tgkill, per signal, sender and target");
	for (unsigned int i = 0; rows && i < count; i++) {
		const struct khist_signal_key *key = rows[i].key;
		const char *abbrev = sigabbrev_np(key->signal);
		char symbol_buf[16];
		const char *symbol = abbrev && snprintf(symbol_buf, sizeof(symbol_buf), "SIG%s", abbrev) > 0 ? symbol_buf : NULL;
		struct label labels[3] = {
			{ "signal", symbol ? symbol : signal },
			{ "sender", key->sender_comm },
			{ "target_pid", target },
		};

		snprintf(signal, sizeof(signal), "%u", key->signal);
		snprintf(target, sizeof(target), "%u", key->target_pid);
		sample_u64(w, "khist_signals", "_total", labels, 3, *(const __u64 *)rows[i].value);
	}
	free(rows);
	reader_table_free(&table);
}

static void render_sched_counters(struct writer *w, const struct metrics_context *context)
{
	__u64 switches[KHIST_SWITCH_KINDS], forks;
	struct label voluntary = { "kind", "voluntary" }, involuntary = { "kind", "involuntary" };

	if (!read_percpu(context->pin_root, "sched", "switch_counts", KHIST_SWITCH_KINDS, 1, switches)) {
		family(w, "khist_context_switches", "counter", NULL,
		       "Context switches, voluntary (the task blocked) and involuntary (preempted)");
		sample_u64(w, "khist_context_switches", "_total", &voluntary, 1,
			   switches[KHIST_SWITCH_VOLUNTARY]);
		sample_u64(w, "khist_context_switches", "_total", &involuntary, 1,
			   switches[KHIST_SWITCH_INVOLUNTARY]);
	}
	if (!read_percpu(context->pin_root, "sched", "fork_count", 1, 1, &forks)) {
		family(w, "khist_forks", "counter", NULL, "Processes and threads created");
		sample_u64(w, "khist_forks", "_total", NULL, 0, forks);
	}
}

static void render_vfs_counters(struct writer *w, const struct metrics_context *context)
{
	static const char *const families[][2] = {
		{ "khist_vfs_calls", "vfs_read and vfs_write calls" },
		{ "khist_vfs_bytes", "Bytes transferred by vfs_read and vfs_write" },
		{ "khist_vfs_errors", "vfs_read and vfs_write calls that failed" },
	};
	struct khist_vfs_counts counts[KHIST_VFS_OPS];

	if (reader_vfs_counts(context->pin_root, counts))
		return;
	for (int f = 0; f < 3; f++) {
		family(w, families[f][0], "counter", f == 1 ? "bytes" : NULL, families[f][1]);
		for (int op = 0; op < KHIST_VFS_OPS; op++) {
			struct label label = { "op", op == KHIST_VFS_READ ? "read" : "write" };

			sample_u64(w, families[f][0], "_total", &label, 1,
				   f == 0 ? counts[op].calls : f == 1 ? counts[op].bytes : counts[op].errors);
		}
	}
}

static void render_files(struct writer *w, const struct metrics_context *context)
{
	static const struct {
		const char *name, *help;
		size_t offset;
	} families[] = {
		{ "khist_file_reads", "Reads per file and process, for the busiest files",
		  offsetof(struct khist_file_value, reads) },
		{ "khist_file_writes", "Writes per file and process, for the busiest files",
		  offsetof(struct khist_file_value, writes) },
		{ "khist_file_read_bytes", "Bytes read per file and process, for the busiest files",
		  offsetof(struct khist_file_value, read_bytes) },
		{ "khist_file_written_bytes", "Bytes written per file and process, for the busiest files",
		  offsetof(struct khist_file_value, write_bytes) },
	};
	struct reader_table table;
	struct ranked *rows;
	unsigned int count;
	char pid[16], device[24], inode[24];

	if (!context->export_files || reader_files(context->pin_root, &table))
		return;
	rows = rank(&table, context->export_files, file_weight, &count);
	for (unsigned int f = 0; rows && f < sizeof(families) / sizeof(families[0]); f++) {
		family(w, families[f].name, "counter", NULL, families[f].help);
		for (unsigned int i = 0; i < count; i++) {
			const struct khist_file_key *key = rows[i].key;
			const struct khist_file_value *value = rows[i].value;
			char file[KHIST_FILE_NAME_LEN + 1];
			/* device and inode: two files of one name (or cut path) stay two series. */
			struct label labels[6] = {
				{ "pid", pid }, { "comm", value->comm }, { "file", file },
				{ "kind", catalog_file_kind_name(value->kind) },
				{ "device", device }, { "inode", inode },
			};
			__u64 sample;

			memcpy(file, value->name, KHIST_FILE_NAME_LEN);
			file[KHIST_FILE_NAME_LEN] = '\0';
			snprintf(pid, sizeof(pid), "%u", key->tgid);
			/* The kernel's dev_t: 12 bits of major, 20 of minor. */
			snprintf(device, sizeof(device), "%u:%u", key->dev >> 20, key->dev & 0xfffff);
			snprintf(inode, sizeof(inode), "%llu", (unsigned long long)key->ino);
			memcpy(&sample, (const char *)value + families[f].offset, sizeof(sample));
			sample_u64(w, families[f].name, "_total", labels, 6, sample);
		}
	}
	free(rows);
	reader_table_free(&table);
}

static void render_cpu_tasks(struct writer *w, const struct metrics_context *context)
{
	struct khist_cpu_task task;
	char cpu_text[16], pid[16];
	int fd = reader_open(context->pin_root, "sched", "cpu_task");
	int cpus = libbpf_num_possible_cpus();

	if (fd < 0)
		return;
	family(w, "khist_cpu_task", "gauge", NULL, "The task on each CPU at its last context switch");
	for (__u32 cpu = 0; (int)cpu < cpus; cpu++) {
		struct label labels[3] = { { "cpu", cpu_text }, { "pid", pid }, { "comm", task.comm } };

		if (bpf_map_lookup_elem(fd, &cpu, &task) || !task.comm[0])
			continue;
		snprintf(cpu_text, sizeof(cpu_text), "%u", cpu);
		snprintf(pid, sizeof(pid), "%u", task.pid);
		sample_u64(w, "khist_cpu_task", "", labels, 3, 1);
	}
	close(fd);
}

/* Per-program run count and time from the pinned links (bpf stats must be on). */
static void render_programs(struct writer *w, const struct metrics_context *context, bool *header,
			    const char *collector, bool time)
{
	char path[PATH_MAX];
	struct dirent *entry;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/%s/links", context->pin_root, collector);
	dir = opendir(path);
	if (!dir)
		return;
	if (!*header) {
		if (time)
			family(w, "khist_program_run_seconds", "counter", "seconds",
			       "Time spent in each BPF program (kernel.bpf_stats_enabled)");
		else
			family(w, "khist_program_runs", "counter", NULL,
			       "Runs of each BPF program (kernel.bpf_stats_enabled)");
		*header = true;
	}
	while ((entry = readdir(dir))) {
		struct bpf_link_info link = {};
		struct bpf_prog_info prog = {};
		__u32 len = sizeof(link);
		struct label labels[2] = { { "collector", collector }, { "program", entry->d_name } };
		int fd, prog_fd;

		if (entry->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s/links/%s", context->pin_root, collector,
				     entry->d_name) >= sizeof(path))
			continue;
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		if (!bpf_link_get_info_by_fd(fd, &link, &len)) {
			prog_fd = bpf_prog_get_fd_by_id(link.prog_id);
			len = sizeof(prog);
			if (prog_fd >= 0 && !bpf_prog_get_info_by_fd(prog_fd, &prog, &len)) {
				if (time)
					sample_scaled(w, "khist_program_run_seconds", "_total", labels, 2,
						      prog.run_time_ns, 9);
				else
					sample_u64(w, "khist_program_runs", "_total", labels, 2, prog.run_cnt);
			}
			if (prog_fd >= 0)
				close(prog_fd);
		}
		close(fd);
	}
	closedir(dir);
}

static void render_self(struct writer *w, const struct metrics_context *context)
{
	static const char *const tables[][2] = {
		{ "syscalls", "process_counts" }, { "syscalls", "signals" }, { "vfs", "file_table" },
	};
	bool runs_header = false, time_header = false;

	family(w, "khist_collector_loaded", "gauge", NULL, "1 when the collector is loaded");
	for (unsigned int i = 0; i < catalog_collector_count; i++) {
		struct label label = { "collector", catalog_collectors[i].name };
		struct khist_meta meta;

		sample_u64(w, "khist_collector_loaded", "", &label, 1,
			   reader_meta(context->pin_root, catalog_collectors[i].name, &meta) == 0);
	}
	family(w, "khist_collector_attach_mode", "gauge", NULL,
	       "The attach mode of each loaded collector (always 1)");
	for (unsigned int i = 0; i < catalog_collector_count; i++) {
		struct khist_meta meta;
		char precision[8];
		struct label labels[3] = {
			{ "collector", catalog_collectors[i].name }, { "mode", "" },
			{ "precision", precision },
		};

		if (reader_meta(context->pin_root, catalog_collectors[i].name, &meta))
			continue;
		labels[1].value = catalog_mode_name(meta.attach_mode);
		snprintf(precision, sizeof(precision), "%u", meta.precision);
		sample_u64(w, "khist_collector_attach_mode", "", labels, 3, 1);
	}
	for (unsigned int i = 0; i < catalog_collector_count; i++)
		render_programs(w, context, &runs_header, catalog_collectors[i].name, false);
	for (unsigned int i = 0; i < catalog_collector_count; i++)
		render_programs(w, context, &time_header, catalog_collectors[i].name, true);

	family(w, "khist_map_entries", "gauge", NULL, "Entries in use in each bounded table");
	for (unsigned int t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		struct label labels[2] = { { "collector", tables[t][0] }, { "map", tables[t][1] } };
		unsigned int used, capacity;

		if (!reader_fill(context->pin_root, tables[t][0], tables[t][1], &used, &capacity))
			sample_u64(w, "khist_map_entries", "", labels, 2, used);
	}
	family(w, "khist_map_capacity", "gauge", NULL, "Capacity of each bounded table");
	for (unsigned int t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		struct label labels[2] = { { "collector", tables[t][0] }, { "map", tables[t][1] } };
		unsigned int used, capacity;

		if (!reader_fill(context->pin_root, tables[t][0], tables[t][1], &used, &capacity))
			sample_u64(w, "khist_map_capacity", "", labels, 2, capacity);
	}
	family(w, "khist_map_update_failures", "counter", NULL,
	       "Map updates the collectors could not make (full table, no memory)");
	for (unsigned int i = 0; i < catalog_collector_count; i++) {
		struct label label = { "collector", catalog_collectors[i].name };
		__u64 failures;

		if (!read_percpu(context->pin_root, catalog_collectors[i].name, "update_failures", 1, 1,
				 &failures))
			sample_u64(w, "khist_map_update_failures", "_total", &label, 1, failures);
	}
}

static void render_module(struct writer *w, const struct metrics_context *context)
{
	static const char *const stat_names[KHIST_STAT_COUNT] = KHIST_STAT_NAMES;
	struct kmod_client *client = NULL;
	struct kmod_info info;
	__u64 stats[KHIST_STAT_COUNT];
	bool present = context->use_module && kmod_client_open(&client) == 0 &&
		       kmod_get_info(client, &info) == 0;

	family(w, "khist_module_present", "gauge", NULL, "1 when khist.ko is loaded and answering");
	sample_u64(w, "khist_module_present", "", NULL, 0, present);
	if (present) {
		struct label version = { "version", info.version };
		struct label read = { "event", "khist_vfs_read" }, write = { "event", "khist_vfs_write" };

		family(w, "khist_module_info", "gauge", NULL, "khist.ko version (always 1)");
		sample_u64(w, "khist_module_info", "", &version, 1, 1);
		family(w, "khist_module_glue_probe_registered", "gauge", NULL,
		       "1 while the probe behind a glue event is registered (it has consumers)");
		sample_u64(w, "khist_module_glue_probe_registered", "", &read, 1, info.read_active);
		sample_u64(w, "khist_module_glue_probe_registered", "", &write, 1, info.write_active);
		family(w, "khist_module_publish_interval_seconds", "gauge", "seconds",
		       "Interval at which khist.ko publishes its statistics into the bound map");
		sample_scaled(w, "khist_module_publish_interval_seconds", "", NULL, 0,
			      info.publish_interval_ms, 3);
	}
	/* The statistics as published into the bound map (readable without the module). */
	if (context->kmod_stats_pin && kmod_stats_read(context->kmod_stats_pin, stats) == 0) {
		family(w, "khist_module_statistic", "counter", NULL,
		       "khist.ko statistics, as published into its bound statistics map");
		for (int id = 0; id < KHIST_STAT_COUNT; id++) {
			struct label label = { "name", stat_names[id] };

			sample_u64(w, "khist_module_statistic", "_total", &label, 1, stats[id]);
		}
	}
	kmod_client_close(client);
}

int prometheus_render(FILE *out, const struct metrics_context *context, bool openmetrics)
{
	struct writer w = { .openmetrics = openmetrics };
	int err;
	struct timespec start, end;
	char duration[32];

	clock_gettime(CLOCK_MONOTONIC, &start);
	family(&w, "khist_build_info", "gauge", NULL, "khist version (always 1)");
	{
		struct label version = { "version", KHIST_VERSION_STRING };

		sample_u64(&w, "khist_build_info", "", &version, 1, 1);
	}
	for (unsigned int i = 0; i < catalog_histogram_count; i++) {
		struct reader_hist hist;

		if (reader_hist(context->pin_root, &catalog_histograms[i], &hist))
			continue;
		render_histogram(&w, &hist);
		reader_hist_free(&hist);
	}
	render_syscall_counters(&w, context);
	render_processes(&w, context);
	render_signals(&w, context);
	render_sched_counters(&w, context);
	render_cpu_tasks(&w, context);
	render_vfs_counters(&w, context);
	render_files(&w, context);
	render_self(&w, context);
	render_module(&w, context);

	clock_gettime(CLOCK_MONOTONIC, &end);
	format_scaled(duration, sizeof(duration),
		      (end.tv_sec - start.tv_sec) * 1000000000ULL + end.tv_nsec - start.tv_nsec, 9);
	family(&w, "khist_scrape_duration_seconds", "gauge", "seconds",
	       "Time khistd took to read the maps and render this page");
	sample_start(&w, "khist_scrape_duration_seconds", "", NULL, 0);
	put_char(&w, ' ');
	put_str(&w, duration);
	put_char(&w, '\n');
	if (openmetrics)
		put_str(&w, "# EOF\n");
	err = w.failed ? -ENOMEM : fwrite(w.data, 1, w.len, out) == w.len ? 0 : -EIO;
	free(w.data);
	return err;
}
