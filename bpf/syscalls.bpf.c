// SPDX-License-Identifier: GPL-2.0
/*
 * syscalls collector: per-syscall latency histograms (whose counts are the
 * calls), errors per (syscall, errno), per-process counts (bounded LRU table
 * fed through a per-CPU slot) and signals sent with kill/tkill/tgkill, from
 * raw sys_enter/sys_exit.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "khist_common.bpf.h"

#define NR_KILL		62
#define NR_TKILL	200
#define NR_TGKILL	234

/* The syscall in progress, per task: filtered at entry, measured at exit. */
struct syscall_call {
	__u64 start_ns;		/* 0: none being measured */
	__u32 nr;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct syscall_call);
} syscall_start SEC(".maps");

/* Latency per syscall: slot = syscall number. */
KHIST_HISTOGRAM(syscall_latency);

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
	__uint(max_entries, 10240);	/* set by the loader */
	__type(key, struct khist_process_key);
	__type(value, struct khist_process_value);
} process_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KHIST_PENDING_SLOTS);
	__type(key, __u32);
	__type(value, struct khist_process_pending);
} process_pending SEC(".maps");

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
	struct syscall_call *call;

	if (!khist_current_wanted())
		return 0;
	call = bpf_task_storage_get(&syscall_start, bpf_get_current_task_btf(), 0,
				    BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!call) {
		khist_count_failure();
		return 0;
	}
	call->nr = nr;
	call->start_ns = bpf_ktime_get_ns();
	if (nr == NR_KILL || nr == NR_TKILL || nr == NR_TGKILL)
		count_signal(nr, regs);
	return 0;
}

/* Moves a CPU's pending counts into the table (a new process got the CPU). */
static __always_inline void flush_process(struct khist_process_pending *pending)
{
	struct khist_process_key key = { .tgid = pending->tgid };
	struct khist_process_value *value;

	value = bpf_map_lookup_elem(&process_counts, &key);
	if (value) {
		__sync_fetch_and_add(&value->syscalls, pending->value.syscalls);
		__sync_fetch_and_add(&value->errors, pending->value.errors);
	} else if (bpf_map_update_elem(&process_counts, &key, &pending->value, BPF_NOEXIST)) {
		/* Another CPU created it meanwhile, or the table is full. */
		value = bpf_map_lookup_elem(&process_counts, &key);
		if (value) {
			__sync_fetch_and_add(&value->syscalls, pending->value.syscalls);
			__sync_fetch_and_add(&value->errors, pending->value.errors);
		} else {
			khist_count_failure();
		}
	}
}

static __always_inline void count_process(bool failed)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32, slot = tgid & (KHIST_PENDING_SLOTS - 1);
	struct khist_process_pending *pending;

	pending = bpf_map_lookup_elem(&process_pending, &slot);
	if (!pending)
		return;
	if (pending->tgid != tgid) {
		if (pending->tgid)
			flush_process(pending);
		pending->tgid = tgid;
		pending->value.syscalls = 0;
		pending->value.errors = 0;
		bpf_get_current_comm(pending->value.comm, sizeof(pending->value.comm));
	}
	pending->value.syscalls += 1;
	if (failed)
		pending->value.errors += 1;
}

SEC("raw_tp/sys_exit")
int BPF_PROG(syscalls_exit, struct pt_regs *regs, long ret)
{
	struct syscall_call *call;
	__u64 latency;

	/* Filtered at entry: an unwanted task has no start time. */
	call = bpf_task_storage_get(&syscall_start, bpf_get_current_task_btf(), 0, 0);
	if (!call || !call->start_ns)
		return 0;
	latency = bpf_ktime_get_ns() - call->start_ns;
	call->start_ns = 0;
	if (call->nr >= KHIST_SYSCALL_SLOTS)
		return 0;

	khist_hist_record(&syscall_latency_hist, call->nr, latency);
	count_process(ret < 0);
	if (ret < 0) {
		struct khist_errno_key key = { .syscall = call->nr, .error = -ret };
		__u64 one = 1, *count = bpf_map_lookup_elem(&syscall_errors, &key);

		if (count)
			*count += 1;
		else if (bpf_map_update_elem(&syscall_errors, &key, &one, BPF_NOEXIST))
			khist_count_failure();
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
