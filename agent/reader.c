// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "reader.h"

/* Attempts at a consistent read of a table and its slots before giving up. */
#define PENDING_ATTEMPTS 64

int reader_open(const char *pin_root, const char *collector, const char *map,
		struct error_context *error)
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
			return error_fail(error, err, "%s: %s (is the %s collector loaded?)", path,
					  strerror(-err), collector);
		/* EACCES is the pin's mode and group (EPERM, capabilities: the caller's to explain). */
		return error_fail(error, err, "%s: %s%s", path, strerror(-err),
				  err == -EACCES ? " (its mode and group do not let this user read "
						   "it: run as root, or in its group with CAP_BPF)" : "");
	}
	return fd;
}

int reader_meta(const char *pin_root, const char *collector, struct khist_meta *meta,
		struct error_context *error)
{
	__u32 zero = 0;
	int fd = reader_open(pin_root, collector, "meta", error), err = 0;

	if (fd < 0)
		return fd;
	if (bpf_map_lookup_elem(fd, &zero, meta))
		err = error_fail(error, -errno, "%s/%s/meta: %s", pin_root, collector, strerror(errno));
	else if (meta->version != KHIST_META_VERSION)
		err = error_fail(error, -EPROTO, "%s/%s/meta: version %u, this khist reads %u (unload "
				 "and load the collector again)", pin_root, collector, meta->version,
				 KHIST_META_VERSION);
	close(fd);
	return err;
}

/* A map's entries as the kernel hands them out: per-CPU values not summed. */
struct raw_rows {
	unsigned int count, cpus;
	size_t stride;			/* bytes of one entry's values */
	void *keys, *values;
};

static void raw_free(struct raw_rows *raw)
{
	free(raw->keys);
	free(raw->values);
	memset(raw, 0, sizeof(*raw));
}

static bool is_percpu(__u32 type)
{
	return type == BPF_MAP_TYPE_PERCPU_ARRAY || type == BPF_MAP_TYPE_PERCPU_HASH ||
	       type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

/* Every entry in as few batches as the kernel allows (a full map fits in max_entries). */
static int read_raw(int fd, const struct bpf_map_info *info, struct raw_rows *raw)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 in_batch = 0, out_batch = 0;
	bool first = true;
	int err = 0;

	memset(raw, 0, sizeof(*raw));
	raw->cpus = is_percpu(info->type) ? libbpf_num_possible_cpus() : 1;
	if ((int)raw->cpus <= 0)
		return -EINVAL;
	raw->stride = is_percpu(info->type) ? ((info->value_size + 7) & ~7U) * (size_t)raw->cpus :
		      info->value_size;
	raw->keys = calloc(info->max_entries + 1, info->key_size);
	raw->values = calloc(info->max_entries + 1, raw->stride);
	if (!raw->keys || !raw->values) {
		raw_free(raw);
		return -ENOMEM;
	}
	while (raw->count < info->max_entries) {
		__u32 count = info->max_entries - raw->count;

		err = bpf_map_lookup_batch(fd, first ? NULL : &in_batch, &out_batch,
					   (char *)raw->keys + (size_t)raw->count * info->key_size,
					   (char *)raw->values + (size_t)raw->count * raw->stride,
					   &count, &opts);
		raw->count += count;
		if (err) {
			err = errno == ENOENT ? 0 : -errno;
			break;
		}
		in_batch = out_batch;
		first = false;
	}
	if (err)
		raw_free(raw);
	return err;
}

/* Sums each entry's per-CPU values (u64 words) in place. */
static int sum_cpus(const struct bpf_map_info *info, struct raw_rows *raw)
{
	unsigned int words = info->value_size / 8;
	__u64 *values = raw->values;

	if (raw->cpus == 1 && !is_percpu(info->type))
		return 0;
	if (info->value_size % 8)
		return -EINVAL;
	for (unsigned int i = 0; i < raw->count; i++)
		for (unsigned int w = 0; w < words; w++) {
			__u64 sum = 0;

			for (unsigned int cpu = 0; cpu < raw->cpus; cpu++)
				sum += values[((size_t)i * raw->cpus + cpu) * words + w];
			values[(size_t)i * words + w] = sum;
		}
	return 0;
}

static int map_info(int fd, struct bpf_map_info *info)
{
	__u32 len = sizeof(*info);

	memset(info, 0, sizeof(*info));
	return bpf_map_get_info_by_fd(fd, info, &len) ? -errno : 0;
}

static int rows_from_fd(int fd, struct reader_rows *rows)
{
	struct bpf_map_info info;
	struct raw_rows raw;
	int err = map_info(fd, &info);

	memset(rows, 0, sizeof(*rows));
	if (!err)
		err = read_raw(fd, &info, &raw);
	if (err)
		return err;
	err = sum_cpus(&info, &raw);
	if (err) {
		raw_free(&raw);
		return err;
	}
	*rows = (struct reader_rows){ raw.count, info.key_size, info.value_size, info.max_entries,
				      raw.keys, raw.values, raw.count, 1 };
	return 0;
}

int reader_rows(const char *pin_root, const char *collector, const char *map,
		struct reader_rows *rows, struct error_context *error)
{
	int fd = reader_open(pin_root, collector, map, error), err;

	memset(rows, 0, sizeof(*rows));
	if (fd < 0)
		return fd;
	err = rows_from_fd(fd, rows);
	close(fd);
	if (err == -EINVAL)
		return error_fail(error, err, "%s/%s/%s: per-CPU values that are not u64s", pin_root,
				  collector, map);
	if (err)
		return error_fail(error, err, "%s/%s/%s: batch lookup: %s", pin_root, collector, map,
				  strerror(-err));
	return 0;
}

void reader_rows_free(struct reader_rows *rows)
{
	free(rows->keys);
	free(rows->values);
	memset(rows, 0, sizeof(*rows));
}

static __u64 monotonic_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec * 1000000000ULL + now.tv_nsec;
}

/*
 * Asks the collector's programs to leave their slots in place for a while
 * (never shortening a hold another reader set). A reader that may not write
 * the pin (a group member with a read-only pin) still reads correctly, by
 * retrying until no slot moved during its read.
 */
static int open_hold(const char *pin_root, const char *collector, const char *hold_map)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s/%s", pin_root, collector, hold_map);
	return bpf_obj_get(path);
}

static void hold_slots(int hold_fd, __u64 span_ns)
{
	__u64 until = monotonic_ns() + span_ns, current = 0;
	__u32 zero = 0;

	if (hold_fd < 0)
		return;
	if (bpf_map_lookup_elem(hold_fd, &zero, &current) || current < until - span_ns / 2)
		bpf_map_update_elem(hold_fd, &zero, &until, BPF_ANY);
}

/*
 * A hold must outlast the read it covers, or slots move while it runs and
 * the read starts over: on a loaded machine a big table takes longer to
 * read than KHIST_FLUSH_HOLD_NS. Each retry holds for a few times what the
 * last attempt took, up to a bound that keeps the slots useful.
 */
#define HOLD_MAX_NS	(2000 * 1000 * 1000ULL)

static __u64 next_hold(__u64 attempt_ns)
{
	__u64 span = 4 * attempt_ns;

	if (span < KHIST_FLUSH_HOLD_NS)
		span = KHIST_FLUSH_HOLD_NS;
	return span < HOLD_MAX_NS ? span : HOLD_MAX_NS;
}

static __u32 slot_generation(const struct pending_desc *pending, const struct raw_rows *raw,
			     unsigned int slot, unsigned int cpu)
{
	size_t cpu_stride = (pending->size + 7) & ~(size_t)7;
	__u32 generation;

	memcpy(&generation, (const char *)raw->values + slot * raw->stride + cpu * cpu_stride +
	       pending->generation_offset, sizeof(generation));
	return generation;
}

/* True when no slot was moving at @before and none moved until @after. */
static bool slots_still(const struct pending_desc *pending, const struct raw_rows *before,
			const struct raw_rows *after)
{
	if (before->count != after->count)
		return false;
	for (unsigned int slot = 0; slot < before->count; slot++)
		for (unsigned int cpu = 0; cpu < before->cpus; cpu++) {
			__u32 generation = slot_generation(pending, before, slot, cpu);

			if (generation & 1 || generation != slot_generation(pending, after, slot, cpu))
				return false;
		}
	return true;
}

static bool slot_in_use(const struct pending_desc *pending, const char *slot)
{
	for (unsigned int i = 0; i < pending->in_use_size; i++)
		if (slot[pending->in_use_offset + i])
			return true;
	return false;
}

/* Adds every slot in use to the rows: to the row of its key, or as a row of its own. */
static int merge_slots(const struct pending_desc *pending, const struct raw_rows *slots,
		       struct reader_rows *rows)
{
	size_t cpu_stride = (pending->size + 7) & ~(size_t)7, extra = (size_t)slots->count * slots->cpus;
	char *keys = realloc(rows->keys, (rows->count + extra + 1) * (size_t)rows->key_size);
	char *values;

	if (!keys)
		return -ENOMEM;
	rows->keys = keys;
	values = realloc(rows->values, (rows->count + extra + 1) * (size_t)rows->value_size);
	if (!values)
		return -ENOMEM;
	rows->values = values;
	for (unsigned int slot = 0; slot < slots->count; slot++)
		for (unsigned int cpu = 0; cpu < slots->cpus; cpu++) {
			const char *at = (const char *)slots->values + slot * slots->stride +
					 cpu * cpu_stride;
			unsigned int i;

			if (!slot_in_use(pending, at))
				continue;
			for (i = 0; i < rows->count; i++)
				if (!memcmp(keys + (size_t)i * rows->key_size, at + pending->key_offset,
					    rows->key_size))
					break;
			if (i == rows->count) {
				memcpy(keys + (size_t)i * rows->key_size, at + pending->key_offset,
				       rows->key_size);
				memcpy(values + (size_t)i * rows->value_size, at + pending->value_offset,
				       rows->value_size);
				rows->count++;
				continue;
			}
			for (unsigned int s = 0; s < pending->sum_count; s++) {
				char *to = values + (size_t)i * rows->value_size + pending->sum_offsets[s];
				__u64 a, b;

				memcpy(&a, to, sizeof(a));
				memcpy(&b, at + pending->value_offset + pending->sum_offsets[s], sizeof(b));
				a += b;
				memcpy(to, &a, sizeof(a));
			}
		}
	return 0;
}

/*
 * Slots before the table, the slots' generations after it: when no slot
 * moved in between, the table held then what it holds now (only moves change
 * it... besides calls counted straight into it, which only add), so slots
 * plus table are the counts at one instant.
 */
int reader_rows_pending(const char *pin_root, const char *collector, const char *map,
			const struct pending_desc *pending, struct reader_rows *rows,
			struct error_context *error)
{
	struct bpf_map_info table_info, slots_info;
	struct raw_rows before = {}, after = {};
	int table_fd, slots_fd, hold_fd, err = 0;
	__u64 hold_ns = KHIST_FLUSH_HOLD_NS;
	unsigned int attempt;

	memset(rows, 0, sizeof(*rows));
	table_fd = reader_open(pin_root, collector, map, error);
	if (table_fd < 0)
		return table_fd;
	slots_fd = reader_open(pin_root, collector, pending->map, error);
	if (slots_fd < 0) {
		close(table_fd);
		return slots_fd;
	}
	err = map_info(table_fd, &table_info);
	if (!err)
		err = map_info(slots_fd, &slots_info);
	if (!err && (table_info.key_size + pending->key_offset > pending->size ||
		     table_info.value_size + pending->value_offset > pending->size ||
		     slots_info.value_size != pending->size))
		err = -EPROTO;
	/* Writable only for readers that may write the pins: others rely on the retries. */
	hold_fd = open_hold(pin_root, collector, pending->hold_map);
	for (attempt = 1; !err && attempt <= PENDING_ATTEMPTS; attempt++) {
		__u64 started = monotonic_ns();

		hold_slots(hold_fd, hold_ns);
		err = read_raw(slots_fd, &slots_info, &before);
		if (!err)
			err = rows_from_fd(table_fd, rows);
		if (!err)
			err = read_raw(slots_fd, &slots_info, &after);
		if (!err && (slots_still(pending, &before, &after) || attempt == PENDING_ATTEMPTS)) {
			/* The last attempt is taken as it is: at worst a moment's undercount. */
			err = merge_slots(pending, &before, rows);
			rows->attempts = attempt;
			break;
		}
		raw_free(&before);
		raw_free(&after);
		reader_rows_free(rows);
		hold_ns = next_hold(monotonic_ns() - started);
	}
	raw_free(&before);
	raw_free(&after);
	if (hold_fd >= 0)
		close(hold_fd);
	close(table_fd);
	close(slots_fd);
	if (err) {
		reader_rows_free(rows);
		return error_fail(error, err, "%s/%s/%s with %s: %s", pin_root, collector, map,
				  pending->map, err == -EPROTO ? "layout does not match this khist" :
				  strerror(-err));
	}
	return 0;
}

int reader_fill(const char *pin_root, const char *collector, const char *map,
		unsigned int *used, unsigned int *capacity, struct error_context *error)
{
	struct bpf_map_info info;
	char *key, *next;
	int fd, err;

	fd = reader_open(pin_root, collector, map, error);
	if (fd < 0)
		return fd;
	err = map_info(fd, &info);
	if (err) {
		close(fd);
		return error_fail(error, err, "%s: %s", map, strerror(-err));
	}
	*capacity = info.max_entries;
	*used = 0;
	key = calloc(2, info.key_size);
	if (!key) {
		close(fd);
		return error_fail(error, -ENOMEM, "out of memory");
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
