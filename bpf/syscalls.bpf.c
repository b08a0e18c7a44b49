// SPDX-License-Identifier: GPL-2.0
/*
 * syscalls collector: per-syscall latency histograms (whose counts are the
 * calls), errors per (syscall, errno), per-process counts (bounded LRU table
 * fed through per-CPU slots), from raw sys_enter/sys_exit. Signals have a
 * collector of their own.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "khist_common.bpf.h"
#include "khist_pending.bpf.h"
#include "khist_cgroup.bpf.h"

/* The syscall in progress, per task: filtered at entry, measured at exit. */
struct syscall_call {
	__u64 start_ns;		/* 0: none being measured */
	__u32 nr;
	__u32 reserved;
	struct khist_cgroup_cache cgroup;	/* by_cgroup: the task's row */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct syscall_call);
} syscall_start SEC(".maps");

/*
 * Latency per syscall. A machine makes a few dozen of the ~460 syscalls, so
 * per-CPU rows go to syscalls as they first occur (syscall_rows: syscall
 * number -> row + 1, 0 for none yet) and syscalls past the last row share
 * one row each across CPUs (syscall_latency_shared, atomic adds): no count
 * is lost, and kernel memory does not grow with rows nobody uses.
 */
KHIST_HISTOGRAM(syscall_latency);

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KHIST_SYSCALL_SLOTS);
	__type(key, __u32);
	__type(value, __u64);	/* 64 bits: what BPF's atomics take without alu32 */
} syscall_rows SEC(".maps");

/* Rows handed out (key 0): kept with the rows across reloads. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} syscall_rows_used SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KHIST_SYSCALL_SLOTS);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u64));	/* set by the loader, as the histogram's */
} syscall_latency_shared SEC(".maps");

/*
 * By cgroup: latency over all syscalls per cgroup, and calls and errors per
 * (cgroup row, syscall row): the syscall's row of syscall_latency_hist, or
 * for a syscall that has none, the last entry of the cgroup's row.
 */
KHIST_HISTOGRAM(cgroup_syscall_latency);

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);	/* by cgroup: rows x KHIST_CGROUP_SYSCALL_ENTRIES, set by the loader */
	__type(key, __u32);
	__type(value, struct khist_cgroup_syscall_value);
} cgroup_syscalls SEC(".maps");

/* Per-CPU rows of syscall_latency_hist: the loader sets ROWS_MAP_count of a rows map. */
const volatile __u32 syscall_rows_count = 1;

/*
 * Only failing calls look this up: a hash keeps it small to read, where an
 * array of every (syscall, errno) pair would be mostly zeros.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, KHIST_ERRNO_ENTRIES);
	__type(key, struct khist_errno_key);
	__type(value, __u64);
} syscall_errors SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 10240);	/* set by the loader */
	__type(key, struct khist_process_key);
	__type(value, struct khist_process_value);
} process_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KHIST_PENDING_SLOTS);
	__type(key, __u32);
	__type(value, struct khist_process_pending);
} process_pending SEC(".maps");

SEC("raw_tp/sys_enter")
int BPF_PROG(syscalls_enter, struct pt_regs *regs, long nr)
{
	struct syscall_call *call;

	if (!khist_current_wanted())
		return 0;
	call = bpf_task_storage_get(&syscall_start, bpf_get_current_task_btf(), 0,
				    BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!call) {
		khist_count_failure();
		return 0;
	}
	call->nr = nr;
	call->start_ns = bpf_ktime_get_ns();
	return 0;
}

/*
 * Records the call's latency, whose bucket is at @word; returns the
 * syscall's per-CPU row, -1 when it has none.
 */
static __always_inline int record_latency(__u32 nr, __u64 latency, __u32 word)
{
	int row = khist_row_of_slot(&syscall_rows, &syscall_rows_used, nr, syscall_rows_count);

	khist_hist_record_on_demand(&syscall_latency_hist, &syscall_latency_shared, row, nr,
				    latency, word, KHIST_UNIT_NS);
	return row;
}

/*
 * The call in its cgroup's latency histogram and its (cgroup, syscall)
 * entry, which the syscall's latency row points at: no lookup of its own.
 */
static __always_inline void count_cgroup_syscall(__u32 cgroup_row, int syscall_row, bool failed,
						 __u64 latency, __u32 word)
{
	__u32 entry = cgroup_row * KHIST_CGROUP_SYSCALL_ENTRIES +
		      (syscall_row >= 0 ? syscall_row : KHIST_CGROUP_SYSCALL_ENTRIES - 1);
	struct khist_cgroup_syscall_value *value;

	khist_hist_record_at(&cgroup_syscall_latency_hist, cgroup_row, latency, word,
			     KHIST_UNIT_NS);
	value = bpf_map_lookup_elem(&cgroup_syscalls, &entry);
	if (!value)
		return;
	value->calls += 1;
	if (failed)
		value->errors += 1;
}

/* Adds @count to the table's entry for its tgid, creating it if need be. */
static __always_inline void add_to_table(struct khist_process_pending *count)
{
	struct khist_process_key key = { .tgid = count->tgid };
	struct khist_process_value *value;

	value = bpf_map_lookup_elem(&process_counts, &key);
	if (value) {
		__sync_fetch_and_add(&value->syscalls, count->value.syscalls);
		__sync_fetch_and_add(&value->errors, count->value.errors);
	} else if (bpf_map_update_elem(&process_counts, &key, &count->value, BPF_NOEXIST)) {
		/* Another CPU created it meanwhile, or the table is full. */
		value = bpf_map_lookup_elem(&process_counts, &key);
		if (value) {
			__sync_fetch_and_add(&value->syscalls, count->value.syscalls);
			__sync_fetch_and_add(&value->errors, count->value.errors);
		} else {
			khist_count_failure();
		}
	}
}

static __always_inline void count_process(bool failed)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32, slot = tgid & (KHIST_PENDING_SLOTS - 1);
	struct khist_process_pending *pending;

	pending = bpf_map_lookup_elem(&process_pending, &slot);
	if (!pending)
		return;
	if (pending->tgid != tgid) {
		if (pending->tgid && khist_flush_held()) {
			/* A reader wants the slots to stay put: this call goes to the table. */
			struct khist_process_pending call = {
				.tgid = tgid,
				.value = { .syscalls = 1, .errors = failed },
			};

			bpf_get_current_comm(call.value.comm, sizeof(call.value.comm));
			add_to_table(&call);
			return;
		}
		khist_move_begin(&pending->generation);
		if (pending->tgid)
			add_to_table(pending);
		pending->tgid = tgid;
		pending->value.syscalls = 0;
		pending->value.errors = 0;
		bpf_get_current_comm(pending->value.comm, sizeof(pending->value.comm));
		khist_move_end(&pending->generation);
	}
	pending->value.syscalls += 1;
	if (failed)
		pending->value.errors += 1;
}

SEC("raw_tp/sys_exit")
int BPF_PROG(syscalls_exit, struct pt_regs *regs, long ret)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct syscall_call *call;
	__u64 latency;
	__u32 word;
	int row;

	/* Filtered at entry: an unwanted task has no start time. */
	call = bpf_task_storage_get(&syscall_start, task, 0, 0);
	if (!call || !call->start_ns)
		return 0;
	latency = bpf_ktime_get_ns() - call->start_ns;
	call->start_ns = 0;
	if (call->nr >= KHIST_SYSCALL_SLOTS)
		return 0;

	/* The bucket is found once, for the two histograms by cgroup. */
	word = khist_bucket_word(latency, KHIST_UNIT_NS);
	row = record_latency(call->nr, latency, word);
	if (by_cgroup)
		count_cgroup_syscall(khist_cgroup_row_by_moves(task, &call->cgroup), row, ret < 0,
				     latency, word);
	count_process(ret < 0);
	if (ret < 0) {
		struct khist_errno_key key = { .syscall = call->nr, .error = -ret };
		__u64 one = 1, *count = bpf_map_lookup_elem(&syscall_errors, &key);

		if (count)
			*count += 1;
		else if (bpf_map_update_elem(&syscall_errors, &key, &one, BPF_NOEXIST))
			khist_count_failure();
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
