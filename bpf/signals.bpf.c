// SPDX-License-Identifier: GPL-2.0
/*
 * signals collector: every signal the kernel generates (kill(2) and its
 * family, but also SIGSEGV, SIGBUS and SIGPIPE raised by faults and writes,
 * the OOM killer's SIGKILL, timers, job control), counted per (signal,
 * result, sender comm, target comm) from signal:signal_generate; and per
 * signal the processes it ended, from sched_process_exit of the last thread.
 * Filters apply to the target (the task that gets the signal, the process
 * that ends).
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
	__type(key, struct khist_signal_key);
	__type(value, __u64);
} signal_counts SEC(".maps");

/*
 * By cgroup: signals per target cgroup, index = row * KHIST_SIGNAL_SLOTS +
 * signal. Rare events: one array for all CPUs, with atomic adds, costs a
 * CPU count times less memory than one per CPU.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);		/* by cgroup: rows x KHIST_SIGNAL_SLOTS, set by the loader */
	__type(key, __u32);
	__type(value, __u64);
} cgroup_signals SEC(".maps");

/* @btf: @task is BTF-typed (a constant, so each caller keeps one of the paths). */
static __always_inline void count_by_cgroup(int sig, struct task_struct *task, bool btf)
{
	__u32 row;

	/* The target is seldom the current task: its row is cached per CPU. */
	row = btf ? khist_cpu_cached_cgroup_row(task) : khist_cgroup_row(khist_task_cgroup(task));
	khist_shared_count(&cgroup_signals,
			   row * KHIST_SIGNAL_SLOTS + (sig >= 0 && sig < KHIST_SIGNAL_SLOTS ? sig : 0));
}

/* Processes ended by a signal: index = signal number. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KHIST_SIGNAL_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} signal_kills SEC(".maps");

static __always_inline void count_generated(int sig, struct task_struct *task, int result,
					    bool btf)
{
	struct khist_signal_key key = {};
	__u64 *count;

	if (!task || !khist_task_wanted(task))
		return;
	if (by_cgroup)
		count_by_cgroup(sig, task, btf);
	key.signal = sig;
	key.result = result >= 0 && result < KHIST_SIGNAL_RESULTS ? result : KHIST_SIGNAL_RESULTS;
	bpf_get_current_comm(key.sender_comm, sizeof(key.sender_comm));
	BPF_CORE_READ_INTO(&key.target_comm, task, comm);
	count = khist_hash_value(&signal_counts, &key, &(__u64){ 0 });
	if (count)
		__sync_fetch_and_add(count, 1);
}

/* The process is gone when its last thread exits: its exit code says how. */
static __always_inline void count_exit(struct task_struct *task)
{
	__u32 sig;
	__u64 *kills;

	if (!khist_process_ended(task))
		return;
	/* A signal's death is its number in the low 7 bits (0x80: core dumped). */
	sig = BPF_CORE_READ(task, exit_code) & 0x7f;
	if (!sig || !khist_task_wanted(task))
		return;
	kills = bpf_map_lookup_elem(&signal_kills, &sig);
	if (kills)
		*kills += 1;
}

SEC("tp_btf/signal_generate")
int BPF_PROG(signal_generate_btf, int sig, struct kernel_siginfo *info, struct task_struct *task,
	     int group, int result)
{
	count_generated(sig, task, result, true);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(signal_exit_btf, struct task_struct *task)
{
	if (task)
		count_exit(task);
	return 0;
}

/* Where typed tracepoints cannot attach: the same through probe reads. */
SEC("raw_tp/signal_generate")
int BPF_PROG(signal_generate_raw, int sig, struct kernel_siginfo *info, struct task_struct *task,
	     int group, int result)
{
	count_generated(sig, task, result, false);
	return 0;
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(signal_exit_raw, struct task_struct *task)
{
	if (task)
		count_exit(task);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
