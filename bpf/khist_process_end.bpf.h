/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A process ends with the exit of its last thread, but sched_process_exit
 * does not say which thread that is before 6.16 (group_dead). Each exiting
 * thread has dropped signal->live before the tracepoint; a thread whose
 * tracepoint runs late (after a pthread_join let the main thread exit_group)
 * reads 0 as well as the last one does. So the first thread to see 0 claims
 * the process, by its tgid and its leader's start time (a pid is reused).
 * The claims are an LRU hash: a claim is needed only while the process's
 * threads finish exiting. A thread leaves signal->nr_threads only when it
 * is released, after its tracepoint. So a thread that sees 1 there is the
 * only one of its process left: no other can claim after it, and one that
 * claimed before it was released first (its claim visible by then: x86
 * orders the stores and the loads). That thread looks the claim up
 * instead of inserting one, which a single-threaded process (most of
 * them) always finds missing, at a fraction of an insert's cost. Include
 * after khist_common.bpf.h.
 */
#ifndef KHIST_PROCESS_END_BPF_H
#define KHIST_PROCESS_END_BPF_H

struct khist_process_id {
	__u32 tgid;
	__u32 reserved;
	__u64 start_time;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct khist_process_id);
	__type(value, __u8);
} process_ended SEC(".maps");

/* True for one exiting thread of each process: the first to see it has ended. */
static __always_inline bool khist_process_ended(struct task_struct *task)
{
	struct khist_process_id id = {};
	__u8 claimed = 1;

	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return false;
	id.tgid = BPF_CORE_READ(task, tgid);
	id.start_time = BPF_CORE_READ(task, group_leader, start_time);
	if (BPF_CORE_READ(task, signal, nr_threads) == 1)
		return !bpf_map_lookup_elem(&process_ended, &id);
	return bpf_map_update_elem(&process_ended, &id, &claimed, BPF_NOEXIST) == 0;
}

#endif /* KHIST_PROCESS_END_BPF_H */
