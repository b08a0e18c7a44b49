// SPDX-License-Identifier: GPL-2.0
/* Smallest useful collector: counts sys_enter events, optionally filtered. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

const volatile __u32 target_tgid = 0;		/* 0: every process */
const volatile long target_syscall = -1;	/* -1: every syscall */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} smoke_counts SEC(".maps");

SEC("raw_tp/sys_enter")
int BPF_PROG(smoke_sys_enter, struct pt_regs *regs, long id)
{
	__u32 zero = 0;
	__u64 *count;

	if (target_tgid && (bpf_get_current_pid_tgid() >> 32) != target_tgid)
		return 0;
	if (target_syscall >= 0 && id != target_syscall)
		return 0;
	count = bpf_map_lookup_elem(&smoke_counts, &zero);
	if (count)
		(*count)++;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
