// SPDX-License-Identifier: GPL-2.0
/* Programs on khist.ko's glue events and kfuncs, driven by selftests. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include <uapi/khist.h>
#include "khist_kfuncs.h"
#include "kmod_glue_test.h"

const volatile __u32 target_tgid;
/* The module's file kfuncs take NULL (KHIST_FEATURE_NULL_FILES): set by the test. */
const volatile bool null_file_args;

struct observation read_seen;
struct observation write_seen;
struct observation fexit_read_seen;
__u64 raw_read_events;
__s32 small_path_len;
char small_path[8];

/* Results of the SYSCALL programs, for checks beyond their return value. */
__u32 null_kind;
__s32 null_path_len;
char null_path[16];

static __always_inline bool is_target(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == target_tgid;
}

static __always_inline void observe(struct observation *seen, struct file *file,
				    size_t count, ssize_t ret, __u64 latency_ns)
{
	seen->events++;
	if (ret > 0)
		seen->bytes += ret;
	seen->count = count;
	seen->ret = ret;
	seen->latency_ns = latency_ns;
	if (!seen->latency_min_ns || latency_ns < seen->latency_min_ns)
		seen->latency_min_ns = latency_ns;
	if (latency_ns > seen->latency_max_ns)
		seen->latency_max_ns = latency_ns;
	seen->kind = khist_file_kind(file);
	/* -ENOSYS: the module offers no path kfunc (a kernel without kfunc filters). */
	seen->path_len = bpf_ksym_exists(khist_file_path) ?
			 khist_file_path(file, seen->path, sizeof(seen->path)) : -38;
}

SEC("tp_btf/khist_vfs_read")
int BPF_PROG(on_read, struct file *file, size_t count, ssize_t ret, __u64 latency_ns)
{
	if (!is_target() || !file)
		return 0;
	observe(&read_seen, file, count, ret, latency_ns);
	small_path_len = bpf_ksym_exists(khist_file_path) ?
			 khist_file_path(file, small_path, sizeof(small_path)) : -38;
	return 0;
}

SEC("tp_btf/khist_vfs_write")
int BPF_PROG(on_write, struct file *file, size_t count, ssize_t ret, __u64 latency_ns)
{
	if (!is_target() || !file)
		return 0;
	observe(&write_seen, file, count, ret, latency_ns);
	return 0;
}

/*
 * fexit on the same read, beside the glue event. No kfuncs here: on 6.12
 * fexit arguments are not trusted pointers, so the verifier refuses them
 * as kfunc arguments (kmod_consumers tests that refusal).
 */
SEC("fexit/vfs_read")
int BPF_PROG(fexit_read, struct file *file, char *buf, size_t count, loff_t *pos, ssize_t ret)
{
	if (!is_target() || !file)
		return 0;
	fexit_read_seen.events++;
	return 0;
}

SEC("raw_tp/khist_vfs_read")
int BPF_PROG(on_read_raw, struct file *file, size_t count, ssize_t ret, __u64 latency_ns)
{
	if (is_target())
		raw_read_events++;
	return 0;
}

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KHIST_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} stats_array SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KHIST_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} stats_percpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KHIST_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} stats_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KHIST_STAT_COUNT - 1);
	__type(key, __u32);
	__type(value, __u64);
} stats_too_small SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KHIST_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u32);
} stats_narrow SEC(".maps");

/*
 * -ENOSYS where the module binds over netlink instead (no map kfunc
 * arguments before 6.9): the test binds these maps by descriptor there.
 */
#define BIND(map) (bpf_ksym_exists(khist_stats_map_bind) ? khist_stats_map_bind(&(map)) : -38)

SEC("syscall")
int bind_array(void *ctx) { return BIND(stats_array); }

SEC("syscall")
int bind_percpu(void *ctx) { return BIND(stats_percpu); }

SEC("syscall")
int bind_hash(void *ctx) { return BIND(stats_hash); }

SEC("syscall")
int bind_too_small(void *ctx) { return BIND(stats_too_small); }

SEC("syscall")
int bind_narrow(void *ctx) { return BIND(stats_narrow); }

SEC("syscall")
int unbind(void *ctx)
{
	return bpf_ksym_exists(khist_stats_map_unbind) ? khist_stats_map_unbind() : -38;
}

SEC("syscall")
int stat_add_bad_id(void *ctx) { return khist_stat_add(KHIST_STAT_COUNT + 1000, 1); }

SEC("syscall")
int stat_add_user(void *ctx) { return khist_stat_add(KHIST_STAT_USER_0, 7); }

SEC("syscall")
int null_file(void *ctx)
{
	if (!null_file_args)
		return -38;
	null_kind = khist_file_kind(NULL);
	null_path_len = bpf_ksym_exists(khist_file_path) ?
			khist_file_path(NULL, null_path, sizeof(null_path)) : -38;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
