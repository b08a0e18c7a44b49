// SPDX-License-Identifier: GPL-2.0
/*
 * block collector: block I/O (biolatency, biosnoop's counts). A request is
 * timed from block_rq_issue (the driver got it) to block_rq_complete, and
 * its queue time from block_rq_insert (it entered a scheduler or the
 * dispatch list; direct issue skips this) to its issue; a request merged
 * into another (block_rq_merge) is freed uncompleted and forgotten. Histograms of
 * latency, queue time and size per (disk, op); requests, bytes and errors
 * per (disk, op). Completions run in interrupt context, on whatever task
 * was there: the task filters do not apply (the loader refuses them).
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "khist_common.bpf.h"

/* The kernel's REQ_OP_* (blk_types.h), stable since 4.10. */
#define REQ_OP_MASK	0xff
#define REQ_OP_READ	0
#define REQ_OP_WRITE	1
#define REQ_OP_FLUSH	2
#define REQ_OP_DISCARD	3
#define MINORBITS	20

struct in_flight {
	__u64 insert_ns;	/* 0: not inserted while khist looked */
	__u64 issue_ns;		/* 0: not issued yet */
	__u64 bytes;		/* at issue: the whole request */
};

/* Requests between insert or issue and completion, by address. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KHIST_BLOCK_IN_FLIGHT);
	__type(key, __u64);
	__type(value, struct in_flight);
} block_in_flight SEC(".maps");

/* The disk of each group (the request queue's id), for the agent to name. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KHIST_BLOCK_DISKS);
	__type(key, __u32);
	__type(value, struct khist_block_disk);
} block_disks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct khist_block_key);
	__type(value, struct khist_block_counts);
} block_counts SEC(".maps");

/*
 * Histograms per slot = disk group * KHIST_BLOCK_OPS + op, with per-CPU
 * rows handed to the slots that occur first (block_rows, shared by the
 * three) and shared rows for the rest, as syscalls does.
 */
KHIST_HISTOGRAM(block_latency);
KHIST_HISTOGRAM(block_queue_time);
KHIST_HISTOGRAM(block_size);

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KHIST_BLOCK_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} block_rows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} block_rows_used SEC(".maps");

#define SHARED_ROWS(name)							\
	struct {								\
		__uint(type, BPF_MAP_TYPE_ARRAY);				\
		__uint(max_entries, KHIST_BLOCK_SLOTS);			\
		__uint(key_size, sizeof(__u32));				\
		__uint(value_size, sizeof(__u64));	/* set by the loader */	\
	} name SEC(".maps")

SHARED_ROWS(block_latency_shared);
SHARED_ROWS(block_queue_time_shared);
SHARED_ROWS(block_size_shared);

/* Per-CPU rows of the three histograms (a slot's row is its row in each): set by the loader. */
const volatile __u32 block_rows_count = 1;

static __always_inline __u32 op_of(struct request *rq)
{
	switch (BPF_CORE_READ(rq, cmd_flags) & REQ_OP_MASK) {
	case REQ_OP_READ: return KHIST_BLOCK_READ;
	case REQ_OP_WRITE: return KHIST_BLOCK_WRITE;
	case REQ_OP_FLUSH: return KHIST_BLOCK_FLUSH;
	case REQ_OP_DISCARD: return KHIST_BLOCK_DISCARD;
	default: return KHIST_BLOCK_OTHER;
	}
}

/* The disk's group, its dev_t noted for the agent on the way. */
static __always_inline __u32 group_of(struct request_queue *q, __u32 dev)
{
	__u32 group = BPF_CORE_READ(q, id);
	struct khist_block_disk *disk;

	if (group >= KHIST_BLOCK_DISKS - 1 || !dev)
		return KHIST_BLOCK_DISKS - 1;
	disk = bpf_map_lookup_elem(&block_disks, &group);
	/* A queue id another disk had before (it went away): the new disk's now. */
	if (disk && disk->dev != dev)
		disk->dev = dev;
	return group;
}

static __always_inline void on_insert(struct request *rq)
{
	__u64 key = (__u64)rq;
	struct in_flight start = { .insert_ns = bpf_ktime_get_ns() };

	if (bpf_map_update_elem(&block_in_flight, &key, &start, BPF_ANY))
		khist_count_failure();
}

/* A request merged into another is freed without a completion: forget its start. */
static __always_inline void on_merge(struct request *rq)
{
	__u64 key = (__u64)rq;

	bpf_map_delete_elem(&block_in_flight, &key);
}

static __always_inline void on_issue(struct request *rq)
{
	__u64 key = (__u64)rq, now = bpf_ktime_get_ns();
	struct in_flight *flight = bpf_map_lookup_elem(&block_in_flight, &key);
	struct in_flight start = { .issue_ns = now };

	start.bytes = BPF_CORE_READ(rq, __data_len);
	if (flight) {
		/* A requeued request is issued again: timed from its last issue. */
		flight->issue_ns = now;
		flight->bytes = start.bytes;
		return;
	}
	if (bpf_map_update_elem(&block_in_flight, &key, &start, BPF_ANY))
		khist_count_failure();
}

/* @row: the slot's per-CPU row, looked up by the first histogram that needs it (-2: not yet). */
static __always_inline void record(void *hist, void *shared, int *row, __u32 slot, __u64 value,
				   enum khist_unit unit)
{
	if (*row == -2)
		*row = khist_row_of_slot(&block_rows, &block_rows_used, slot, block_rows_count);
	khist_hist_record_on_demand(hist, shared, *row, slot, value,
				    khist_bucket_word(value, unit), unit);
}

static __always_inline void on_complete(struct request *rq, __u32 error, __u32 nr_bytes)
{
	__u64 key = (__u64)rq, now = bpf_ktime_get_ns();
	struct request_queue *q = BPF_CORE_READ(rq, q);
	struct khist_block_key counts_key = { .op = op_of(rq) };
	struct khist_block_counts *counts;
	struct in_flight *flight;
	__u32 slot, major, minor;
	int row = -2;
	bool done;

	major = BPF_CORE_READ(q, disk, major);
	minor = BPF_CORE_READ(q, disk, first_minor);
	counts_key.dev = major << MINORBITS | minor;
	/* The bytes still to complete, before this completion takes its share. */
	done = nr_bytes >= BPF_CORE_READ(rq, __data_len);
	counts = khist_hash_value(&block_counts, &counts_key, &(struct khist_block_counts){});
	if (counts) {
		counts->requests += done;
		counts->bytes += nr_bytes;
		counts->errors += error != 0;
	}
	if (!done)
		return;
	slot = group_of(q, counts_key.dev) * KHIST_BLOCK_OPS + counts_key.op;
	flight = bpf_map_lookup_elem(&block_in_flight, &key);
	record(&block_size_hist, &block_size_shared, &row, slot,
	       flight && flight->issue_ns ? flight->bytes : nr_bytes, KHIST_UNIT_BYTES);
	if (!flight)
		return;
	if (flight->issue_ns) {
		record(&block_latency_hist, &block_latency_shared, &row, slot,
		       now - flight->issue_ns, KHIST_UNIT_NS);
		if (flight->insert_ns && flight->insert_ns <= flight->issue_ns)
			record(&block_queue_time_hist, &block_queue_time_shared, &row, slot,
			       flight->issue_ns - flight->insert_ns, KHIST_UNIT_NS);
	}
	bpf_map_delete_elem(&block_in_flight, &key);
}

SEC("tp_btf/block_rq_insert")
int BPF_PROG(block_insert_btf, struct request *rq)
{
	on_insert(rq);
	return 0;
}

SEC("tp_btf/block_rq_merge")
int BPF_PROG(block_merge_btf, struct request *rq)
{
	on_merge(rq);
	return 0;
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(block_issue_btf, struct request *rq)
{
	on_issue(rq);
	return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(block_complete_btf, struct request *rq, blk_status_t error, unsigned int nr_bytes)
{
	on_complete(rq, error, nr_bytes);
	return 0;
}

/* Where typed tracepoints cannot attach: the same through probe reads. */
SEC("raw_tp/block_rq_insert")
int BPF_PROG(block_insert_raw, struct request *rq)
{
	on_insert(rq);
	return 0;
}

SEC("raw_tp/block_rq_merge")
int BPF_PROG(block_merge_raw, struct request *rq)
{
	on_merge(rq);
	return 0;
}

SEC("raw_tp/block_rq_issue")
int BPF_PROG(block_issue_raw, struct request *rq)
{
	on_issue(rq);
	return 0;
}

SEC("raw_tp/block_rq_complete")
int BPF_PROG(block_complete_raw, struct request *rq, int error, unsigned int nr_bytes)
{
	on_complete(rq, error, nr_bytes);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
