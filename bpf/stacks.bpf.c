// SPDX-License-Identifier: GPL-2.0
/*
 * stacks collector: off-CPU time by kernel stack (offcputime). As a task
 * is switched out its kernel stack goes to a stack trace map and its id
 * and the time to its per-task state; when it is switched back in, the
 * time it was off is added to its (stack, comm) entry. Stacks that find
 * no room, and pairs that find the table full, are counted as drops
 * (self-metrics), never lost silently. The idle task is not measured.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "khist_common.bpf.h"

struct offcpu_start {
	__u64 start_ns;		/* 0: not switched out while measured */
	__s64 stack_id;
};

/* tp_btf programs keep the start in task storage... */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct offcpu_start);
} offcpu_start SEC(".maps");

/* ...raw_tp programs, whose task pointers are untyped, in a hash by pid. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct offcpu_start);
} offcpu_start_by_pid SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, KHIST_STACK_TRACES);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, KHIST_STACK_DEPTH * sizeof(__u64));
} stack_traces SEC(".maps");

/* A plain hash, not an LRU: a pair that finds it full is counted, not another evicted. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KHIST_STACK_ENTRIES);
	__type(key, struct khist_stack_key);
	__type(value, struct khist_stack_value);
} offcpu_stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KHIST_STACK_DROPS);
	__type(key, __u32);
	__type(value, __u64);
} stack_drops SEC(".maps");

static __always_inline void count_drop(__u32 reason)
{
	__u64 *count = bpf_map_lookup_elem(&stack_drops, &reason);

	if (count)
		*count += 1;
}

/* @prev leaves the CPU: where it stopped, and when (no state for it: a failure counted). */
static __always_inline void switched_out(void *ctx, struct offcpu_start *start)
{
	if (!start) {
		khist_count_failure();
		return;
	}
	start->stack_id = bpf_get_stackid(ctx, &stack_traces, 0);
	start->start_ns = bpf_ktime_get_ns();
	if (start->stack_id < 0)
		count_drop(KHIST_STACK_DROP_NO_STACK);
}

/* @next comes back: the time it was off goes to its stack. */
static __always_inline void switched_in(struct task_struct *next, struct offcpu_start *start)
{
	struct khist_stack_key key = {};
	struct khist_stack_value *value;
	__u64 delta;

	if (!start || !start->start_ns)
		return;
	delta = bpf_ktime_get_ns() - start->start_ns;
	start->start_ns = 0;
	if (start->stack_id < 0)
		return;
	key.stack_id = start->stack_id;
	BPF_CORE_READ_INTO(&key.comm, next, comm);
	value = bpf_map_lookup_elem(&offcpu_stacks, &key);
	if (!value) {
		bpf_map_update_elem(&offcpu_stacks, &key, &(struct khist_stack_value){},
				    BPF_NOEXIST);
		value = bpf_map_lookup_elem(&offcpu_stacks, &key);
		if (!value) {
			count_drop(KHIST_STACK_DROP_TABLE_FULL);
			return;
		}
	}
	__sync_fetch_and_add(&value->time_ns, delta);
	__sync_fetch_and_add(&value->count, 1);
}

/* Not the idle task, nor a task switched out for the last time (it has exited). */
static __always_inline bool measured(struct task_struct *task)
{
	return BPF_CORE_READ(task, pid) != 0 && !BPF_CORE_READ(task, exit_state) &&
	       khist_task_wanted(task);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(stacks_switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	if (measured(prev))
		switched_out(ctx, bpf_task_storage_get(&offcpu_start, prev, 0,
						       BPF_LOCAL_STORAGE_GET_F_CREATE));
	if (next->pid)
		switched_in(next, bpf_task_storage_get(&offcpu_start, next, 0, 0));
	return 0;
}

static __always_inline struct offcpu_start *start_by_pid(__u32 pid, bool create)
{
	struct offcpu_start *start = bpf_map_lookup_elem(&offcpu_start_by_pid, &pid);

	if (start || !create)
		return start;
	bpf_map_update_elem(&offcpu_start_by_pid, &pid, &(struct offcpu_start){}, BPF_NOEXIST);
	return bpf_map_lookup_elem(&offcpu_start_by_pid, &pid);
}

/* Where typed tracepoints cannot attach: the same, the start kept by pid. */
SEC("raw_tp/sched_switch")
int BPF_PROG(stacks_switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u32 next_pid = BPF_CORE_READ(next, pid);

	if (measured(prev))
		switched_out(ctx, start_by_pid(BPF_CORE_READ(prev, pid), true));
	if (next_pid)
		switched_in(next, start_by_pid(next_pid, false));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
