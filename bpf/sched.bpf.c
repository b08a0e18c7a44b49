// SPDX-License-Identifier: GPL-2.0
/*
 * sched collector: run-queue latency, off-CPU time and on-CPU time-slice
 * histograms, voluntary/involuntary switch counts, the task on each CPU and
 * the fork count, from sched_switch, sched_wakeup(_new) and
 * sched_process_fork. The loader enables the tp_btf programs, or the raw_tp
 * ones where BTF-typed tracepoints cannot attach.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "khist_common.bpf.h"
#include "khist_cgroup.bpf.h"

#define TASK_RUNNING 0

struct sched_task {
	__u64 enqueued_ns;	/* woken or preempted: waiting to run */
	__u64 switched_in_ns;
	__u64 switched_out_ns;
	struct khist_cgroup_cache cgroup;	/* by_cgroup: the task's row */
};

/* tp_btf programs keep their per-task state in task storage... */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sched_task);
} task_state SEC(".maps");

/* ...raw_tp programs, whose task pointers are untyped, in a hash by pid. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct sched_task);
} task_state_by_pid SEC(".maps");

KHIST_HISTOGRAM(runq_latency);
KHIST_HISTOGRAM(offcpu_time);
KHIST_HISTOGRAM(oncpu_slice);

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KHIST_SWITCH_KINDS);	/* by cgroup: per row, set by the loader */
	__type(key, __u32);
	__type(value, __u64);
} switch_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} fork_count SEC(".maps");

/* The task running on each CPU: key = CPU number, sized by the loader. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct khist_cpu_task);
} cpu_task SEC(".maps");

static __always_inline struct sched_task *state_by_pid(__u32 pid)
{
	struct sched_task *state, fresh = {};

	state = bpf_map_lookup_elem(&task_state_by_pid, &pid);
	if (state)
		return state;
	bpf_map_update_elem(&task_state_by_pid, &pid, &fresh, BPF_NOEXIST);
	state = bpf_map_lookup_elem(&task_state_by_pid, &pid);
	if (!state)
		khist_count_failure();
	return state;
}

static __always_inline void on_wakeup(struct sched_task *state)
{
	if (state)
		state->enqueued_ns = bpf_ktime_get_ns();
}

static __always_inline void count_switch(__u32 kind)
{
	__u64 *count = bpf_map_lookup_elem(&switch_counts, &kind);

	if (count)
		*count += 1;
}

/*
 * Task storage goes with its task; an entry by pid may outlive it (a pid
 * used again), so there the cached row is checked against the cgroup id.
 */
static __always_inline __u32 task_cgroup_row(struct task_struct *task, bool btf,
					     struct sched_task *state)
{
	return btf ? khist_cgroup_row_by_moves(task, &state->cgroup) :
		     khist_cgroup_row_by_id(task, false, &state->cgroup);
}

/* @prev leaves the CPU at @now. */
static __always_inline void on_switch_out(struct sched_task *state, struct task_struct *task,
					  bool btf, unsigned int prev_state, __u64 now,
					  const struct khist_runtime_config *config)
{
	bool preempted = (prev_state & 0xff) == TASK_RUNNING, passes;
	__u32 row;

	/* No state: the idle task, which is always "running" and never preempted. */
	if (!state)
		return;
	/*
	 * Switches are counted for every task; by cgroup, KHIST_SWITCH_KINDS
	 * per cgroup row. Tasks the filters leave out count in "other" and
	 * take no row: the rows stay for the cgroups of the tasks measured.
	 */
	passes = khist_task_passes(task, config);
	row = passes ? task_cgroup_row(task, btf, state) : 0;
	count_switch(row * KHIST_SWITCH_KINDS +
		     (preempted ? KHIST_SWITCH_INVOLUNTARY : KHIST_SWITCH_VOLUNTARY));
	if (!passes)
		return;
	if (state->switched_in_ns)
		khist_hist_record(&oncpu_slice_hist, row, now - state->switched_in_ns,
				  KHIST_UNIT_NS);
	state->switched_in_ns = 0;
	state->switched_out_ns = now;
	/* Still runnable: it waits on the run queue from now on. */
	if (preempted)
		state->enqueued_ns = now;
}

/* @next gets the CPU at @now. */
static __always_inline void on_switch_in(struct sched_task *state, struct task_struct *task,
					 bool btf, __u64 now, const struct khist_runtime_config *config)
{
	__u32 row;

	if (!state || !khist_task_passes(task, config))
		return;
	row = task_cgroup_row(task, btf, state);
	if (state->enqueued_ns)
		khist_hist_record(&runq_latency_hist, row, now - state->enqueued_ns, KHIST_UNIT_NS);
	if (state->switched_out_ns)
		khist_hist_record(&offcpu_time_hist, row, now - state->switched_out_ns,
				  KHIST_UNIT_NS);
	state->enqueued_ns = 0;
	state->switched_out_ns = 0;
	state->switched_in_ns = now;
}

static __always_inline struct khist_cpu_task *this_cpu_task(void)
{
	__u32 cpu = bpf_get_smp_processor_id();

	return bpf_map_lookup_elem(&cpu_task, &cpu);
}

static __always_inline void count_fork(void)
{
	__u32 zero = 0;
	__u64 *count = bpf_map_lookup_elem(&fork_count, &zero);

	if (count)
		*count += 1;
}

/* tp_btf: typed task pointers, per-task storage. */

static __always_inline struct sched_task *state_of(struct task_struct *task)
{
	struct sched_task *state;

	if (!task->pid)	/* the idle task is no task to measure */
		return NULL;
	state = bpf_task_storage_get(&task_state, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!state)
		khist_count_failure();
	return state;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(sched_wakeup_btf, struct task_struct *task)
{
	on_wakeup(state_of(task));
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(sched_wakeup_new_btf, struct task_struct *task)
{
	on_wakeup(state_of(task));
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch_btf, bool preempt, struct task_struct *prev,
	     struct task_struct *next, unsigned int prev_state)
{
	const struct khist_runtime_config *config = khist_runtime();
	struct khist_cpu_task *slot = this_cpu_task();
	__u64 now = bpf_ktime_get_ns();

	on_switch_out(state_of(prev), prev, true, prev_state, now, config);
	on_switch_in(state_of(next), next, true, now, config);
	if (slot) {
		slot->pid = next->pid;
		slot->tgid = next->tgid;
		/* Typed pointer: two plain loads, no helper call. */
		__builtin_memcpy(slot->comm, next->comm, sizeof(slot->comm));
	}
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(sched_fork_btf, struct task_struct *parent, struct task_struct *child)
{
	count_fork();
	return 0;
}

/* raw_tp: the same from untyped arguments. */

static __always_inline struct sched_task *state_of_raw(struct task_struct *task)
{
	__u32 pid = BPF_CORE_READ(task, pid);

	return pid ? state_by_pid(pid) : NULL;
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(sched_wakeup_raw, struct task_struct *task)
{
	on_wakeup(state_of_raw(task));
	return 0;
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(sched_wakeup_new_raw, struct task_struct *task)
{
	on_wakeup(state_of_raw(task));
	return 0;
}

SEC("raw_tp/sched_switch")
int BPF_PROG(sched_switch_raw, bool preempt, struct task_struct *prev,
	     struct task_struct *next, unsigned int prev_state)
{
	const struct khist_runtime_config *config = khist_runtime();
	struct khist_cpu_task *slot = this_cpu_task();
	__u64 now = bpf_ktime_get_ns();

	on_switch_out(state_of_raw(prev), prev, false, prev_state, now, config);
	on_switch_in(state_of_raw(next), next, false, now, config);
	if (slot) {
		slot->pid = BPF_CORE_READ(next, pid);
		slot->tgid = BPF_CORE_READ(next, tgid);
		bpf_probe_read_kernel_str(slot->comm, sizeof(slot->comm), next->comm);
	}
	return 0;
}

SEC("raw_tp/sched_process_fork")
int BPF_PROG(sched_fork_raw, struct task_struct *parent, struct task_struct *child)
{
	count_fork();
	return 0;
}

/* Exited tasks leave no entry behind in the hash. */
SEC("raw_tp/sched_process_exit")
int BPF_PROG(sched_exit_raw, struct task_struct *task)
{
	__u32 pid = BPF_CORE_READ(task, pid);

	bpf_map_delete_elem(&task_state_by_pid, &pid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
