// SPDX-License-Identifier: GPL-2.0
/*
 * The floor: empty programs on the attach points the collectors use, so a
 * collector's overhead can be set against the cost of merely being there.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("raw_tp/sys_enter")
int BPF_PROG(floor_sys_enter) { return 0; }

SEC("raw_tp/sys_exit")
int BPF_PROG(floor_sys_exit) { return 0; }

/*
 * The clocks alone: a clock read at entry and one at exit, kept nowhere. No
 * collector that measures each call's latency can cost less.
 */
__u64 floor_sink;

SEC("raw_tp/sys_enter")
int BPF_PROG(floor_clock_sys_enter)
{
	floor_sink = bpf_ktime_get_ns();
	return 0;
}

SEC("raw_tp/sys_exit")
int BPF_PROG(floor_clock_sys_exit)
{
	floor_sink = bpf_ktime_get_ns() - floor_sink;
	return 0;
}

/*
 * The least a latency measurement needs: a clock read at entry kept in task
 * storage, another at exit, nothing recorded.
 */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} floor_start SEC(".maps");

SEC("raw_tp/sys_enter")
int BPF_PROG(floor_timed_sys_enter)
{
	__u64 *start = bpf_task_storage_get(&floor_start, bpf_get_current_task_btf(), 0,
					    BPF_LOCAL_STORAGE_GET_F_CREATE);

	if (start)
		*start = bpf_ktime_get_ns();
	return 0;
}

SEC("raw_tp/sys_exit")
int BPF_PROG(floor_timed_sys_exit)
{
	__u64 *start = bpf_task_storage_get(&floor_start, bpf_get_current_task_btf(), 0, 0);

	if (start && *start)
		floor_sink = bpf_ktime_get_ns() - *start;
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(floor_sched_switch) { return 0; }

SEC("tp_btf/sched_wakeup")
int BPF_PROG(floor_sched_wakeup) { return 0; }

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(floor_sched_wakeup_new) { return 0; }

SEC("tp/syscalls/sys_enter_read")
int floor_read_enter(void *ctx) { return 0; }

SEC("tp/syscalls/sys_exit_read")
int floor_read_exit(void *ctx) { return 0; }

SEC("fentry/vfs_read")
int BPF_PROG(floor_vfs_read_fentry) { return 0; }

SEC("fexit/vfs_read")
int BPF_PROG(floor_vfs_read_fexit) { return 0; }

SEC("kprobe/vfs_read")
int BPF_KPROBE(floor_vfs_read_kprobe) { return 0; }

SEC("kretprobe/vfs_read")
int BPF_KRETPROBE(floor_vfs_read_kretprobe) { return 0; }

SEC("tp_btf/khist_vfs_read")
int BPF_PROG(floor_vfs_read_glue) { return 0; }

char LICENSE[] SEC("license") = "GPL";
