// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <khist_hist.h>

#include "reader.h"

static char last_error[512];

static int fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return err;
}

const char *reader_error(void)
{
	return last_error;
}

int reader_open(const char *pin_root, const char *collector, const char *map)
{
	LIBBPF_OPTS(bpf_obj_get_opts, opts, .file_flags = BPF_F_RDONLY);
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s/%s", pin_root, collector, map);
	/* Read-only: a group-readable (0640) pin is enough. */
	fd = bpf_obj_get_opts(path, &opts);
	if (fd < 0) {
		int err = -errno;

		if (err == -ENOENT)
			return fail(err, "%s: %s (is the %s collector loaded?)", path,
				    strerror(-err), collector);
		/* EACCES is the pin's mode and group (EPERM, capabilities: the caller's to explain). */
		return fail(err, "%s: %s%s", path, strerror(-err),
			    err == -EACCES ? " (its mode and group do not let this user read it: run as "
					  "root, or in its group with CAP_BPF)" : "");
	}
	return fd;
}

int reader_meta(const char *pin_root, const char *collector, struct khist_meta *meta)
{
	__u32 zero = 0;
	int fd = reader_open(pin_root, collector, "meta"), err = 0;

	if (fd < 0)
		return fd;
	if (bpf_map_lookup_elem(fd, &zero, meta))
		err = fail(-errno, "%s/%s/meta: %s", pin_root, collector, strerror(errno));
	else if (meta->version != KHIST_META_VERSION)
		err = fail(-EPROTO, "%s/%s/meta: version %u, this khist reads %u", pin_root,
			   collector, meta->version, KHIST_META_VERSION);
	close(fd);
	return err;
}

/*
 * Entries [first, first + count) of a per-CPU array whose values are @fields
 * u64s, summed over CPUs into @out (count * fields). Per-CPU values come as
 * one 8-byte-aligned value per possible CPU. An array's batch cursor is the
 * key before the first one wanted.
 */
int reader_percpu_range(int fd, unsigned int first, unsigned int count, unsigned int fields,
			__u64 *out)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	int cpus = libbpf_num_possible_cpus();
	unsigned int chunk = count < 1024 ? count : 1024, done = 0;
	size_t stride = (size_t)fields * cpus;
	__u32 *keys, in_batch = first - 1, out_batch = 0;
	__u64 *values;
	int err = 0;

	if (cpus <= 0)
		return fail(-EINVAL, "cannot count CPUs");
	memset(out, 0, sizeof(*out) * count * fields);
	if (!count)
		return 0;
	keys = calloc(chunk, sizeof(*keys));
	values = calloc(chunk * stride, sizeof(*values));
	if (!keys || !values) {
		err = fail(-ENOMEM, "out of memory");
		goto out;
	}
	while (done < count) {
		__u32 batch = count - done < chunk ? count - done : chunk;

		err = bpf_map_lookup_batch(fd, first + done ? &in_batch : NULL, &out_batch, keys,
					   values, &batch, &opts);
		if (err && errno != ENOENT) {
			err = fail(-errno, "batch lookup: %s", strerror(errno));
			goto out;
		}
		for (__u32 i = 0; i < batch; i++) {
			if (keys[i] < first || keys[i] >= first + count)
				continue;
			for (int cpu = 0; cpu < cpus; cpu++)
				for (unsigned int f = 0; f < fields; f++)
					out[(keys[i] - first) * fields + f] +=
						values[i * stride + cpu * fields + f];
		}
		done += batch;
		in_batch = out_batch;
		if (err || !batch) {
			err = 0;
			break;
		}
	}
out:
	free(keys);
	free(values);
	return err;
}

int reader_percpu_sum(int fd, unsigned int entries, unsigned int fields, __u64 *out)
{
	return reader_percpu_range(fd, 0, entries, fields, out);
}

static int read_percpu_pin(const char *pin_root, const char *collector, const char *map,
			   unsigned int entries, unsigned int fields, __u64 *out)
{
	int fd = reader_open(pin_root, collector, map), err;

	if (fd < 0)
		return fd;
	err = reader_percpu_sum(fd, entries, fields, out);
	if (err)
		err = fail(err, "%s/%s/%s: %s", pin_root, collector, map, last_error);
	close(fd);
	return err;
}

int reader_hist(const char *pin_root, const struct catalog_histogram *def, struct reader_hist *hist)
{
	char map[64];
	struct khist_meta meta;
	unsigned int words;
	__u64 *rows;
	int err;

	memset(hist, 0, sizeof(*hist));
	err = reader_meta(pin_root, def->collector, &meta);
	if (err)
		return err;
	if (meta.precision > KHIST_HIST_MAX_PRECISION)
		return fail(-EPROTO, "%s/%s/meta: precision %u", pin_root, def->collector,
			    meta.precision);
	hist->def = def;
	hist->precision = meta.precision;
	hist->mode = meta.attach_mode;
	hist->buckets = khist_hist_buckets(meta.precision);
	words = KHIST_HIST_ROW_WORDS(hist->buckets);
	rows = calloc((size_t)def->slots * words, sizeof(*rows));
	hist->counts = calloc((size_t)def->slots * hist->buckets, sizeof(*hist->counts));
	hist->totals = calloc(def->slots, sizeof(*hist->totals));
	if (!rows || !hist->counts || !hist->totals) {
		free(rows);
		reader_hist_free(hist);
		return fail(-ENOMEM, "out of memory");
	}
	/* One row per slot: a batch of a few hundred entries reads them all. */
	snprintf(map, sizeof(map), "%s_hist", def->name);
	err = read_percpu_pin(pin_root, def->collector, map, def->slots, words, rows);
	for (unsigned int slot = 0; !err && slot < def->slots; slot++) {
		const __u64 *row = rows + (size_t)slot * words;

		hist->totals[slot].count = row[KHIST_HIST_ROW_COUNT];
		hist->totals[slot].sum = row[KHIST_HIST_ROW_SUM];
		memcpy(hist->counts + (size_t)slot * hist->buckets, row + KHIST_HIST_ROW_BUCKETS,
		       hist->buckets * sizeof(__u64));
	}
	free(rows);
	if (err)
		reader_hist_free(hist);
	return err;
}

__u64 reader_hist_count(const struct reader_hist *hist, unsigned int slot)
{
	const __u64 *counts = hist->counts + (size_t)slot * hist->buckets;
	__u64 sum = 0;

	for (unsigned int i = 0; i < hist->buckets; i++)
		sum += counts[i];
	return sum;
}

void reader_hist_free(struct reader_hist *hist)
{
	free(hist->counts);
	free(hist->totals);
	hist->counts = NULL;
	hist->totals = NULL;
}

int reader_table(const char *pin_root, const char *collector, const char *map,
		 struct reader_table *table)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), in_batch = 0, out_batch = 0;
	int fd, err = 0;
	bool first = true, percpu;
	size_t stride;

	memset(table, 0, sizeof(*table));
	fd = reader_open(pin_root, collector, map);
	if (fd < 0)
		return fd;
	if (bpf_map_get_info_by_fd(fd, &info, &len)) {
		err = fail(-errno, "%s/%s/%s: %s", pin_root, collector, map, strerror(errno));
		goto out;
	}
	table->key_size = info.key_size;
	table->value_size = info.value_size;
	/* A per-CPU table's values come per CPU, 8-byte aligned: summed below. */
	percpu = info.type == BPF_MAP_TYPE_PERCPU_HASH || info.type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
	stride = percpu ? ((info.value_size + 7) & ~7U) * (size_t)libbpf_num_possible_cpus() :
		 info.value_size;
	table->keys = calloc(info.max_entries, info.key_size);
	table->values = calloc(info.max_entries, stride);
	if (!table->keys || !table->values) {
		err = fail(-ENOMEM, "out of memory");
		goto out;
	}
	/* Hash batches are opaque cursors; a full table fits in max_entries. */
	while (table->count < info.max_entries) {
		__u32 count = info.max_entries - table->count;

		err = bpf_map_lookup_batch(fd, first ? NULL : &in_batch, &out_batch,
					   (char *)table->keys + (size_t)table->count * info.key_size,
					   (char *)table->values + (size_t)table->count * stride,
					   &count, &opts);
		table->count += count;
		if (err) {
			err = errno == ENOENT ? 0 : fail(-errno, "%s/%s/%s: batch lookup: %s",
							  pin_root, collector, map, strerror(errno));
			break;
		}
		in_batch = out_batch;
		first = false;
	}
	if (!err && percpu && info.value_size % 8 == 0) {
		unsigned int words = info.value_size / 8, cpus = stride / info.value_size;
		__u64 *values = table->values;

		for (unsigned int i = 0; i < table->count; i++)
			for (unsigned int f = 0; f < words; f++) {
				__u64 sum = 0;

				for (unsigned int cpu = 0; cpu < cpus; cpu++)
					sum += values[(size_t)i * words * cpus + cpu * words + f];
				values[(size_t)i * words + f] = sum;
			}
	} else if (!err && percpu) {
		err = fail(-EINVAL, "%s/%s/%s: per-CPU values that are not u64s", pin_root,
			   collector, map);
	}
out:
	if (err)
		reader_table_free(table);
	close(fd);
	return err;
}

void reader_table_free(struct reader_table *table)
{
	free(table->keys);
	free(table->values);
	table->keys = table->values = NULL;
	table->count = 0;
}

int reader_fill(const char *pin_root, const char *collector, const char *map,
		unsigned int *used, unsigned int *capacity)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char *key, *next;
	int fd;

	fd = reader_open(pin_root, collector, map);
	if (fd < 0)
		return fd;
	if (bpf_map_get_info_by_fd(fd, &info, &len)) {
		close(fd);
		return fail(-errno, "%s: %s", map, strerror(errno));
	}
	*capacity = info.max_entries;
	*used = 0;
	key = calloc(2, info.key_size);
	if (!key) {
		close(fd);
		return fail(-ENOMEM, "out of memory");
	}
	next = key + info.key_size;
	/* Counting keys needs no values: get_next_key is enough. */
	for (void *cursor = NULL; bpf_map_get_next_key(fd, cursor, next) == 0; cursor = key) {
		memcpy(key, next, info.key_size);
		(*used)++;
	}
	free(key);
	close(fd);
	return 0;
}

int reader_syscall_counts(const char *pin_root, __u64 calls[KHIST_SYSCALL_SLOTS],
			  __u64 errors[KHIST_SYSCALL_SLOTS])
{
	struct reader_hist hist;
	struct reader_table table;
	int err;

	err = reader_hist(pin_root, catalog_find_histogram("syscall_latency"), &hist);
	if (err)
		return err;
	for (unsigned int nr = 0; nr < KHIST_SYSCALL_SLOTS; nr++) {
		calls[nr] = hist.totals[nr].count;
		errors[nr] = 0;
	}
	reader_hist_free(&hist);
	err = reader_table(pin_root, "syscalls", "syscall_errors", &table);
	if (err)
		return err;
	for (unsigned int i = 0; i < table.count; i++) {
		const struct khist_errno_key *key = (const struct khist_errno_key *)table.keys + i;

		if (key->syscall < KHIST_SYSCALL_SLOTS)
			errors[key->syscall] += ((const __u64 *)table.values)[i];
	}
	reader_table_free(&table);
	return 0;
}

int reader_vfs_counts(const char *pin_root, struct khist_vfs_counts counts[KHIST_VFS_OPS])
{
	__u64 errors[KHIST_VFS_OPS];
	struct reader_hist latency, size;
	int err;

	err = read_percpu_pin(pin_root, "vfs", "vfs_errors", KHIST_VFS_OPS, 1, errors);
	if (err)
		return err;
	err = reader_hist(pin_root, catalog_find_histogram("vfs_latency"), &latency);
	if (err)
		return err;
	err = reader_hist(pin_root, catalog_find_histogram("vfs_size"), &size);
	if (err) {
		reader_hist_free(&latency);
		return err;
	}
	for (int op = 0; op < KHIST_VFS_OPS; op++) {
		counts[op].calls = latency.totals[op].count;
		counts[op].bytes = size.totals[op].sum;
		counts[op].errors = errors[op];
	}
	reader_hist_free(&latency);
	reader_hist_free(&size);
	return 0;
}

/* Room for @count rows in @table's keys and values. */
static bool reader_table_reserve(struct reader_table *table, size_t count)
{
	void *keys, *values;

	keys = realloc(table->keys, count * table->key_size);
	if (!keys)
		return false;
	table->keys = keys;
	values = realloc(table->values, count * table->value_size);
	if (!values)
		return false;
	table->values = values;
	return true;
}

/*
 * Adds the pending entries of every slot and CPU (@pending_map, per-CPU
 * slots each holding a key at @key_offset and a table value at
 * @value_offset) to @table: @add sums the counts of one value into another.
 */
static int merge_pending(const char *pin_root, const char *collector, const char *pending_map,
			 size_t pending_size, size_t key_offset, size_t value_offset,
			 bool (*empty)(const void *pending),
			 void (*add)(void *to, const void *from), struct reader_table *table)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	int cpus = libbpf_num_possible_cpus(), fd, err = 0;
	size_t stride = (pending_size + 7) & ~(size_t)7;
	struct bpf_map_info info = {};
	__u32 info_len = sizeof(info), out_batch, count;
	__u32 *slot_keys = NULL;
	char *slots = NULL;

	fd = reader_open(pin_root, collector, pending_map);
	if (fd < 0)
		return fd;
	if (bpf_map_get_info_by_fd(fd, &info, &info_len)) {
		err = -errno;
		goto out;
	}
	/* Every slot of every CPU in one batch. */
	count = info.max_entries;
	slot_keys = calloc(count, sizeof(*slot_keys));
	slots = calloc((size_t)count * cpus, stride);
	if (!slot_keys || !slots ||
	    !reader_table_reserve(table, table->count + (size_t)count * cpus)) {
		err = -ENOMEM;
		goto out;
	}
	if (bpf_map_lookup_batch(fd, NULL, &out_batch, slot_keys, slots, &count, &opts) &&
	    errno != ENOENT) {
		err = -errno;
		goto out;
	}
	for (size_t n = 0; n < (size_t)count * cpus; n++) {
		const char *slot = slots + n * stride;
		char *keys = table->keys, *values = table->values;
		unsigned int i;

		if (empty(slot))
			continue;
		for (i = 0; i < table->count; i++)
			if (!memcmp(keys + (size_t)i * table->key_size, slot + key_offset,
				    table->key_size))
				break;
		if (i == table->count) {
			memcpy(keys + (size_t)i * table->key_size, slot + key_offset, table->key_size);
			memcpy(values + (size_t)i * table->value_size, slot + value_offset,
			       table->value_size);
			table->count++;
		} else {
			add(values + (size_t)i * table->value_size, slot + value_offset);
		}
	}
out:
	free(slot_keys);
	free(slots);
	close(fd);
	if (err)
		return fail(err, "%s/%s/%s: %s", pin_root, collector, pending_map, strerror(-err));
	return 0;
}

static bool process_slot_empty(const void *pending)
{
	return !((const struct khist_process_pending *)pending)->tgid;
}

static void process_add(void *to, const void *from)
{
	struct khist_process_value *a = to;
	const struct khist_process_value *b = from;

	a->syscalls += b->syscalls;
	a->errors += b->errors;
}

int reader_processes(const char *pin_root, struct reader_table *table)
{
	int err = reader_table(pin_root, "syscalls", "process_counts", table);

	if (!err)
		err = merge_pending(pin_root, "syscalls", "process_pending",
				    sizeof(struct khist_process_pending),
				    offsetof(struct khist_process_pending, tgid),
				    offsetof(struct khist_process_pending, value),
				    process_slot_empty, process_add, table);
	if (err)
		reader_table_free(table);
	return err;
}

static bool file_slot_empty(const void *pending)
{
	return !((const struct khist_file_pending *)pending)->file;
}

static void file_add(void *to, const void *from)
{
	struct khist_file_value *a = to;
	const struct khist_file_value *b = from;

	a->reads += b->reads;
	a->writes += b->writes;
	a->read_bytes += b->read_bytes;
	a->write_bytes += b->write_bytes;
}

int reader_files(const char *pin_root, struct reader_table *table)
{
	int err = reader_table(pin_root, "vfs", "file_table", table);

	if (!err)
		err = merge_pending(pin_root, "vfs", "file_pending", sizeof(struct khist_file_pending),
				    offsetof(struct khist_file_pending, key),
				    offsetof(struct khist_file_pending, value),
				    file_slot_empty, file_add, table);
	if (err)
		reader_table_free(table);
	return err;
}
