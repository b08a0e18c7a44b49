// SPDX-License-Identifier: GPL-2.0
/*
 * process collector: the lifecycle of processes (pidpersec, execsnoop's
 * counts): forks and new threads from sched_process_fork, execs from
 * sched_process_exec, how each process ended (its exit code, or the
 * signal that killed it) and how long it lived from the sched_process_exit
 * of its last thread, and OOM kills from oom:mark_victim. Counted per comm,
 * and per cgroup when loaded by cgroup. These events are rare next to
 * syscalls or context switches: shared tables with atomic adds.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "khist_common.bpf.h"
#include "khist_cgroup.bpf.h"
#include "khist_process_end.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);	/* set by the loader */
	__type(key, struct khist_comm_key);
	__type(value, struct khist_process_counts);
} process_counts SEC(".maps");

/* Processes that exited, per (comm, exit code)... */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);	/* set by the loader */
	__type(key, struct khist_process_end_key);
	__type(value, __u64);
} process_exits SEC(".maps");

/* ...and those a signal ended, per (comm, signal). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);	/* set by the loader */
	__type(key, struct khist_process_end_key);
	__type(value, __u64);
} process_kills SEC(".maps");

/* By cgroup: index = row * KHIST_PROCESS_EVENTS + event. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);		/* by cgroup: rows x KHIST_PROCESS_EVENTS, set by the loader */
	__type(key, __u32);
	__type(value, __u64);
} cgroup_process_events SEC(".maps");

/* From a process's start (its first thread's) to the exit of its last thread. */
KHIST_HISTOGRAM(process_lifetime);

/* @btf: @task is BTF-typed (a constant, so each caller keeps one of the paths). */
static __always_inline __u32 task_row(struct task_struct *task, bool btf)
{
	if (!by_cgroup)
		return 0;
	return khist_cgroup_row(btf ? khist_task_cgroup_btf(task) : khist_task_cgroup(task));
}

static __always_inline void count_by_cgroup(__u32 row, enum khist_process_event event)
{
	if (by_cgroup)
		khist_shared_count(&cgroup_process_events, row * KHIST_PROCESS_EVENTS + event);
}

/* The counts of @task's comm, made when missing. */
static __always_inline struct khist_process_counts *counts_of(struct task_struct *task)
{
	struct khist_comm_key key = {};

	BPF_CORE_READ_INTO(&key.comm, task, comm);
	return khist_hash_value(&process_counts, &key, &(struct khist_process_counts){});
}

static __always_inline void count_end(void *table, struct task_struct *task, __u32 status)
{
	struct khist_process_end_key key = { .status = status };
	__u64 *count;

	BPF_CORE_READ_INTO(&key.comm, task, comm);
	count = khist_hash_value(table, &key, &(__u64){ 0 });
	if (count)
		__sync_fetch_and_add(count, 1);
}

static __always_inline void on_fork(struct task_struct *parent, struct task_struct *child,
				    bool btf)
{
	struct khist_process_counts *counts;
	bool thread;

	if (!khist_task_wanted(parent))
		return;
	thread = BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid);
	count_by_cgroup(task_row(parent, btf), thread ? KHIST_PROCESS_THREAD : KHIST_PROCESS_FORK);
	counts = counts_of(parent);
	if (counts)
		__sync_fetch_and_add(thread ? &counts->threads : &counts->forks, 1);
}

static __always_inline void on_exec(struct task_struct *task, bool btf)
{
	struct khist_process_counts *counts;

	if (!khist_task_wanted(task))
		return;
	count_by_cgroup(task_row(task, btf), KHIST_PROCESS_EXEC);
	counts = counts_of(task);
	if (counts)
		__sync_fetch_and_add(&counts->execs, 1);
}

/* A thread exits: when it is its process's last, the process has ended. */
static __always_inline void on_exit(struct task_struct *task, bool btf)
{
	__u32 code, sig, row;
	__u64 lifetime;

	if (!khist_task_wanted(task) || !khist_process_ended(task))
		return;
	row = task_row(task, btf);	/* once, for the counts and the histogram */
	/* wait(2)'s status: a signal in the low 7 bits (0x80: core), else the code << 8. */
	code = BPF_CORE_READ(task, exit_code);
	sig = code & 0x7f;
	if (sig) {
		count_by_cgroup(row, KHIST_PROCESS_KILLED);
		count_end(&process_kills, task, sig);
	} else {
		code = (code >> 8) & 0xff;
		count_by_cgroup(row, code ? KHIST_PROCESS_EXIT_NONZERO : KHIST_PROCESS_EXIT_ZERO);
		count_end(&process_exits, task, code);
	}
	lifetime = bpf_ktime_get_ns() - BPF_CORE_READ(task, group_leader, start_time);
	khist_hist_record(&process_lifetime_hist, row, lifetime, KHIST_UNIT_NS);
}

/* @task: the victim, not the task that ran out of memory (current). */
static __always_inline void on_oom_victim(struct task_struct *task, bool btf)
{
	struct khist_process_counts *counts;

	if (!task || !khist_task_wanted(task))
		return;
	count_by_cgroup(task_row(task, btf), KHIST_PROCESS_OOM_KILL);
	counts = counts_of(task);
	if (counts)
		__sync_fetch_and_add(&counts->oom_kills, 1);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(process_fork_btf, struct task_struct *parent, struct task_struct *child)
{
	on_fork(parent, child, true);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(process_exec_btf, struct task_struct *task)
{
	on_exec(task, true);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(process_exit_btf, struct task_struct *task)
{
	on_exit(task, true);
	return 0;
}

SEC("tp_btf/mark_victim")
int BPF_PROG(process_oom_btf, struct task_struct *task)
{
	on_oom_victim(task, true);
	return 0;
}

/* Where typed tracepoints cannot attach: the same through probe reads. */
SEC("raw_tp/sched_process_fork")
int BPF_PROG(process_fork_raw, struct task_struct *parent, struct task_struct *child)
{
	on_fork(parent, child, false);
	return 0;
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(process_exec_raw, struct task_struct *task)
{
	on_exec(task, false);
	return 0;
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(process_exit_raw, struct task_struct *task)
{
	on_exit(task, false);
	return 0;
}

SEC("raw_tp/mark_victim")
int BPF_PROG(process_oom_raw, struct task_struct *task)
{
	on_oom_victim(task, false);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
