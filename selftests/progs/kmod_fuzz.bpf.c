// SPDX-License-Identifier: GPL-2.0
/* kmod_fuzz's BPF side: a statistic id and delta from user space; a map whose shape it sets. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "khist_kfuncs.h"
#include "kmod_fuzz.h"

/* Type, sizes and flags set by the test before load. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u64));
} target SEC(".maps");

SEC("syscall")
int stat_add(struct stat_request *request)
{
	return khist_stat_add(request->id, request->delta);
}

/* -ENOSYS where the module binds over netlink (no map kfunc arguments before 6.9). */
SEC("syscall")
int bind_target(void *ctx)
{
	return bpf_ksym_exists(khist_stats_map_bind) ? khist_stats_map_bind(&target) : -38;
}

SEC("syscall")
int unbind(void *ctx)
{
	return bpf_ksym_exists(khist_stats_map_unbind) ? khist_stats_map_unbind() : -38;
}

char LICENSE[] SEC("license") = "GPL";
