// SPDX-License-Identifier: GPL-2.0
/*
 * The map khist.ko publishes its statistics into, and the SYSCALL program
 * that binds it (run once with BPF_PROG_RUN). Pinned, the map stays bound
 * and readable after the binding process exits.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include <uapi/khist.h>
#include "khist_kfuncs.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KHIST_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} kmod_stats SEC(".maps");

SEC("syscall")
int bind_stats_map(void *ctx)
{
	return khist_stats_map_bind(&kmod_stats);
}

SEC("syscall")
int unbind_stats_map(void *ctx)
{
	return khist_stats_map_unbind();
}

char LICENSE[] SEC("license") = "GPL";
