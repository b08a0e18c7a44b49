// SPDX-License-Identifier: GPL-2.0
/*
 * syscalls collector: per-syscall counts, errors and latency histograms,
 * per-process counts (bounded LRU table), errors per (syscall, errno) and
 * signals sent with kill/tkill/tgkill, from raw sys_enter/sys_exit.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "khist_common.bpf.h"

#define NR_KILL		62
#define NR_TKILL	200
#define NR_TGKILL	234

/* The entry time of the syscall in progress, per task. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} syscall_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KHIST_SYSCALL_SLOTS);
	__type(key, __u32);
	__type(value, struct khist_syscall_counts);
} syscall_counts SEC(".maps");

/* Latency per syscall: slot = syscall number. */
KHIST_HISTOGRAM(syscall_latency);

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 10240);	/* set by the loader */
	__type(key, struct khist_process_key);
	__type(value, struct khist_process_value);
} process_counts SEC(".maps");

/*
 * Only failing calls look this up: a hash keeps it small to read, where an
 * array of every (syscall, errno) pair would be mostly zeros.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, KHIST_ERRNO_ENTRIES);
	__type(key, struct khist_errno_key);
	__type(value, __u64);
} syscall_errors SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct khist_signal_key);
	__type(value, __u64);
} signals SEC(".maps");

static __always_inline void count_signal(long nr, struct pt_regs *regs)
{
	struct khist_signal_key key = {};
	__u64 one = 1, *count;

	if (nr == NR_TGKILL) {
		key.target_pid = BPF_CORE_READ(regs, si);
		key.signal = BPF_CORE_READ(regs, dx);
	} else {
		key.target_pid = BPF_CORE_READ(regs, di);
		key.signal = BPF_CORE_READ(regs, si);
	}
	bpf_get_current_comm(key.sender_comm, sizeof(key.sender_comm));
	count = bpf_map_lookup_elem(&signals, &key);
	if (count)
		__sync_fetch_and_add(count, 1);
	else if (bpf_map_update_elem(&signals, &key, &one, BPF_NOEXIST))
		khist_count_failure();
}

SEC("raw_tp/sys_enter")
int BPF_PROG(syscalls_enter, struct pt_regs *regs, long nr)
{
	__u64 *start;

	if (!khist_current_wanted())
		return 0;
	start = bpf_task_storage_get(&syscall_start, bpf_get_current_task_btf(), 0,
				     BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (start)
		*start = bpf_ktime_get_ns();
	else
		khist_count_failure();
	if (nr == NR_KILL || nr == NR_TKILL || nr == NR_TGKILL)
		count_signal(nr, regs);
	return 0;
}

static __always_inline void count_process(bool failed)
{
	struct khist_process_key key = { .tgid = bpf_get_current_pid_tgid() >> 32 };
	struct khist_process_value *value, fresh = {};

	value = bpf_map_lookup_elem(&process_counts, &key);
	if (!value) {
		bpf_get_current_comm(fresh.comm, sizeof(fresh.comm));
		bpf_map_update_elem(&process_counts, &key, &fresh, BPF_NOEXIST);
		value = bpf_map_lookup_elem(&process_counts, &key);
		if (!value) {
			khist_count_failure();
			return;
		}
	}
	__sync_fetch_and_add(&value->syscalls, 1);
	if (failed)
		__sync_fetch_and_add(&value->errors, 1);
}

SEC("raw_tp/sys_exit")
int BPF_PROG(syscalls_exit, struct pt_regs *regs, long ret)
{
	struct khist_syscall_counts *counts;
	__u64 *start, latency = 0;
	__u32 nr;

	if (!khist_current_wanted())
		return 0;
	/* Only syscalls whose entry was seen: no half-measured latencies. */
	start = bpf_task_storage_get(&syscall_start, bpf_get_current_task_btf(), 0, 0);
	if (!start || !*start)
		return 0;
	latency = bpf_ktime_get_ns() - *start;
	*start = 0;
	nr = BPF_CORE_READ(regs, orig_ax);
	if (nr >= KHIST_SYSCALL_SLOTS)
		return 0;

	counts = bpf_map_lookup_elem(&syscall_counts, &nr);
	if (counts) {
		counts->calls += 1;
		if (ret < 0)
			counts->errors += 1;
	}
	khist_hist_record(&syscall_latency_hist, nr, latency);
	count_process(ret < 0);
	if (ret < 0) {
		struct khist_errno_key key = { .syscall = nr, .error = -ret };
		__u64 one = 1, *count = bpf_map_lookup_elem(&syscall_errors, &key);

		if (count)
			*count += 1;
		else if (bpf_map_update_elem(&syscall_errors, &key, &one, BPF_NOEXIST))
			khist_count_failure();
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
