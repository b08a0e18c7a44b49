/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every collector shares: load-time filters (rodata), the run-time
 * filter map, the meta map the loader fills, and histogram maps with the
 * shared bucket math. Include after vmlinux.h and the libbpf headers.
 */
#ifndef KHIST_COMMON_BPF_H
#define KHIST_COMMON_BPF_H

#include <uapi/khist.h>
#include <khist_collectors.h>
#include <khist_hist.h>

/* Load-time filters and precision, set by the loader before load. */
const volatile __u32 filter_tgid = 0;
const volatile char filter_comm[KHIST_COMM_LEN] = {};
/* cgroup v2 filter: tasks in the cgroup with this id, at this depth, or below. */
const volatile __u64 filter_cgroup_id = 0;
const volatile __u32 filter_cgroup_level = 0;
/* Bucket layout (enum khist_layout) and its precision k or schema s. */
const volatile __u32 layout = KHIST_LAYOUT_LOG_LINEAR;
const volatile __u32 precision = 0;
/* Exponential layout: the bounds user space computed for each unit. */
const volatile struct khist_exp_table exp_ns = {};
const volatile struct khist_exp_table exp_bytes = {};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct khist_meta);
} meta SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct khist_runtime_config);
} runtime_config SEC(".maps");

/* Updates that failed: a full table, or no memory for task storage. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} update_failures SEC(".maps");

static __always_inline void khist_count_failure(void)
{
	__u32 zero = 0;
	__u64 *count = bpf_map_lookup_elem(&update_failures, &zero);

	if (count)
		*count += 1;
}

/*
 * The value of @key in the shared hash @map, inserted as @zero when
 * missing (another CPU may insert it first); NULL, counted as a failure,
 * when the table is full and cannot take it.
 */
static __always_inline void *khist_hash_value(void *map, const void *key, const void *zero)
{
	void *value = bpf_map_lookup_elem(map, key);

	if (value)
		return value;
	bpf_map_update_elem(map, key, zero, BPF_NOEXIST);
	value = bpf_map_lookup_elem(map, key);
	if (!value)
		khist_count_failure();
	return value;
}

/* Adds one to the u64 at @index of @map, an array every CPU shares (rare events). */
static __always_inline void khist_shared_count(void *map, __u32 index)
{
	__u64 *count = bpf_map_lookup_elem(map, &index);

	if (count)
		__sync_fetch_and_add(count, 1);
}

/*
 * A histogram: per-CPU rows of count, sum and buckets, one row per slot
 * (khist_collectors.h). The loader sets max_entries (slots) and value_size
 * (the row, which depends on the layout), so the value has no BTF type.
 */
#define KHIST_HISTOGRAM(name)						\
	struct {							\
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);		\
		__uint(max_entries, 1);					\
		__uint(key_size, sizeof(__u32));			\
		__uint(value_size, sizeof(__u64));			\
	} name##_hist SEC(".maps")

/* Row bucket of @value: the layout and its tables are constants to the verifier. */
static __always_inline __u32 khist_bucket(__u64 value, enum khist_unit unit)
{
	if (layout == KHIST_LAYOUT_EXPONENTIAL)
		return khist_exp_index(unit == KHIST_UNIT_BYTES ? &exp_bytes : &exp_ns, value);
	return khist_hist_index(value, precision);
}

static __always_inline __u32 khist_row_words(enum khist_unit unit)
{
	if (layout == KHIST_LAYOUT_EXPONENTIAL)
		return KHIST_HIST_ROW_WORDS(unit == KHIST_UNIT_BYTES ? exp_bytes.buckets :
					    exp_ns.buckets);
	return KHIST_HIST_ROW_WORDS(khist_hist_buckets(precision));
}

/* The word of a row that counts @value: found once for the rows of several histograms. */
static __always_inline __u32 khist_bucket_word(__u64 value, enum khist_unit unit)
{
	return KHIST_HIST_ROW_BUCKETS + khist_bucket(value, unit);
}

/* Adds @value, whose bucket is at @word, to @row, a row of this CPU's own. */
static __always_inline void khist_row_add_at(__u64 *row, __u64 value, __u32 word,
					     enum khist_unit unit)
{
	row[KHIST_HIST_ROW_COUNT] += 1;
	row[KHIST_HIST_ROW_SUM] += value;
	/*
	 * Always true; it tells the verifier the row holds the bucket. The
	 * barrier keeps the compiler from checking one copy of the register
	 * and indexing with another.
	 */
	barrier_var(word);
	if (word < khist_row_words(unit))
		row[word] += 1;
}

static __always_inline void khist_row_add(__u64 *row, __u64 value, enum khist_unit unit)
{
	khist_row_add_at(row, value, khist_bucket_word(value, unit), unit);
}

/* The same for a row every CPU shares. */
static __always_inline void khist_row_add_shared_at(__u64 *row, __u64 value, __u32 word,
						    enum khist_unit unit)
{
	__sync_fetch_and_add(&row[KHIST_HIST_ROW_COUNT], 1);
	__sync_fetch_and_add(&row[KHIST_HIST_ROW_SUM], value);
	barrier_var(word);
	if (word < khist_row_words(unit))
		__sync_fetch_and_add(&row[word], 1);
}

static __always_inline void khist_row_add_shared(__u64 *row, __u64 value, enum khist_unit unit)
{
	khist_row_add_shared_at(row, value, khist_bucket_word(value, unit), unit);
}

static __always_inline void khist_hist_record_at(void *hist, __u32 slot, __u64 value, __u32 word,
						 enum khist_unit unit)
{
	__u64 *row = bpf_map_lookup_elem(hist, &slot);

	if (row)
		khist_row_add_at(row, value, word, unit);
}

static __always_inline void khist_hist_record(void *hist, __u32 slot, __u64 value,
					      enum khist_unit unit)
{
	khist_hist_record_at(hist, slot, value, khist_bucket_word(value, unit), unit);
}

/*
 * A histogram with rows on demand (collector.h: rows_map, shared_map): the
 * per-CPU row of @slot in @rows (slot -> row + 1), taking the next free one
 * of @max_rows (@used, key 0, counts those handed out) the first time; -1
 * when none is left.
 */
static __always_inline int khist_row_of_slot(void *rows, void *used, __u32 slot, __u32 max_rows)
{
	__u64 *row = bpf_map_lookup_elem(rows, &slot), *handed_out, taken, won;
	__u32 zero = 0;

	if (!row)
		return -1;
	if (*row)
		return *row - 1;
	handed_out = bpf_map_lookup_elem(used, &zero);
	if (!handed_out || *handed_out >= max_rows)
		return -1;
	taken = __sync_fetch_and_add(handed_out, 1) + 1;
	if (taken > max_rows)
		return -1;
	/* Another CPU may have given it a row meanwhile: theirs wins, this one stays unused. */
	won = __sync_val_compare_and_swap(row, 0, taken);
	return (int)(won ? won : taken) - 1;
}

/* Records @value (bucket at @word) in @slot's per-CPU @row of @hist, or in @shared's row of it. */
static __always_inline void khist_hist_record_on_demand(void *hist, void *shared, int row,
							__u32 slot, __u64 value, __u32 word,
							enum khist_unit unit)
{
	__u64 *values;

	if (row >= 0) {
		khist_hist_record_at(hist, row, value, word, unit);
		return;
	}
	values = bpf_map_lookup_elem(shared, &slot);
	if (values)
		khist_row_add_shared_at(values, value, word, unit);
}

static __always_inline bool khist_in_filter_cgroup(struct task_struct *task)
{
	struct cgroup *cgroup = BPF_CORE_READ(task, cgroups, dfl_cgrp);
	struct cgroup *ancestor;

	if (!cgroup || BPF_CORE_READ(cgroup, level) < filter_cgroup_level)
		return false;
	/* ancestors[] holds every level from the root down to the cgroup itself. */
	ancestor = BPF_CORE_READ(cgroup, ancestors[filter_cgroup_level]);
	return ancestor && BPF_CORE_READ(ancestor, kn, id) == filter_cgroup_id;
}

static __always_inline struct khist_runtime_config *khist_runtime(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&runtime_config, &zero);
}

/* True when @task passes the load-time filters and the run-time @config. */
static __always_inline bool khist_task_passes(struct task_struct *task,
					      const struct khist_runtime_config *config)
{
	__u32 tgid;

	if (filter_tgid || (config && config->tgid)) {
		tgid = BPF_CORE_READ(task, tgid);
		if (filter_tgid && tgid != filter_tgid)
			return false;
		if (config && config->tgid && tgid != config->tgid)
			return false;
	}
	if (filter_comm[0]) {
		char comm[KHIST_COMM_LEN];

		BPF_CORE_READ_INTO(&comm, task, comm);
		for (int i = 0; i < KHIST_COMM_LEN; i++) {
			if (comm[i] != filter_comm[i])
				return false;
			if (!comm[i])
				break;
		}
	}
	if (filter_cgroup_id && !khist_in_filter_cgroup(task))
		return false;
	return true;
}

/* The same with the run-time filter looked up: one array lookup with no filter set. */
static __always_inline bool khist_task_wanted(struct task_struct *task)
{
	return khist_task_passes(task, khist_runtime());
}

static __always_inline bool khist_current_wanted(void)
{
	return khist_task_wanted(bpf_get_current_task_btf());
}

#endif /* KHIST_COMMON_BPF_H */
