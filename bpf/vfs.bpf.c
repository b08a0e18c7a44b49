// SPDX-License-Identifier: GPL-2.0
/*
 * vfs collector: latency and size histograms, call/byte/error counters and
 * a per-file top table for vfs_read and vfs_write. Four attach modes; the
 * loader enables one group of programs, best first:
 *   glue      khist.ko's khist_vfs_read/write events (tp_btf), its kfuncs
 *             for the file kind and full path
 *   fentry    fentry/fexit on vfs_read/vfs_write
 *   kprobe    kprobe/kretprobe on vfs_read/vfs_write
 *   syscalls  the read/write-family syscall tracepoints (read, pread64,
 *             readv, preadv and their write twins): an approximation of
 *             vfs_read/vfs_write that misses in-kernel callers
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "khist_common.bpf.h"
#include "khist_kfuncs.h"
#include <khist_file_kind.h>

/* Keep the per-file top table (set by the loader). */
const volatile bool track_files = true;

/* The call in progress, per task (not used in glue mode). */
struct vfs_call {
	__u64 start_ns;
	__u64 file;	/* struct file *, or the fd in syscalls mode */
	__u32 op;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct vfs_call);
} vfs_calls SEC(".maps");

/* slot = enum khist_vfs_op */
KHIST_HISTOGRAM(vfs_latency);
KHIST_HISTOGRAM(vfs_size);

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KHIST_VFS_OPS);
	__type(key, __u32);
	__type(value, struct khist_vfs_counts);
} vfs_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);	/* set by the loader */
	__type(key, struct khist_file_key);
	__type(value, struct khist_file_value);
} file_table SEC(".maps");

static __always_inline void record_call(__u32 op, __s64 ret, __u64 latency)
{
	struct khist_vfs_counts *counts = bpf_map_lookup_elem(&vfs_counts, &op);

	if (counts) {
		counts->calls += 1;
		if (ret >= 0)
			counts->bytes += ret;
		else
			counts->errors += 1;
	}
	khist_hist_record(&vfs_latency_hist, op, latency);
	if (ret >= 0)
		khist_hist_record(&vfs_size_hist, op, ret);
}

static __always_inline void account_file(struct khist_file_value *value, __u32 op, __s64 ret)
{
	__u64 bytes = ret > 0 ? ret : 0;

	if (op == KHIST_VFS_READ) {
		__sync_fetch_and_add(&value->reads, 1);
		__sync_fetch_and_add(&value->read_bytes, bytes);
	} else {
		__sync_fetch_and_add(&value->writes, 1);
		__sync_fetch_and_add(&value->write_bytes, bytes);
	}
}

static __always_inline struct khist_file_value *
file_entry(struct khist_file_key *key, struct file *file, bool *created)
{
	struct khist_file_value *value;

	*created = false;
	key->ino = BPF_CORE_READ(file, f_inode, i_ino);
	key->dev = BPF_CORE_READ(file, f_inode, i_sb, s_dev);
	key->tgid = bpf_get_current_pid_tgid() >> 32;
	value = bpf_map_lookup_elem(&file_table, key);
	*created = !value;
	return value;
}

/* Names are copied once, when a file enters the table: never per event. */
static __always_inline void track_file_by_name(__u32 op, struct file *file, __s64 ret)
{
	struct khist_file_value *value, fresh = {};
	struct khist_file_key key = {};
	const unsigned char *name;
	bool created;

	if (!track_files || !file)
		return;
	value = file_entry(&key, file, &created);
	if (created) {
		bpf_get_current_comm(fresh.comm, sizeof(fresh.comm));
		fresh.kind = khist_classify_file(BPF_CORE_READ(file, f_inode, i_mode),
						 BPF_CORE_READ(file, f_inode, i_sb, s_magic));
		name = BPF_CORE_READ(file, f_path.dentry, d_name.name);
		bpf_probe_read_kernel_str(fresh.name, sizeof(fresh.name), name);
		bpf_map_update_elem(&file_table, &key, &fresh, BPF_NOEXIST);
		value = bpf_map_lookup_elem(&file_table, &key);
	}
	if (value)
		account_file(value, op, ret);
	else
		khist_count_failure();
}

/* glue: the module measured the latency; its kfuncs name the file. */

static __always_inline void glue_event(__u32 op, struct file *file, __s64 ret, __u64 latency)
{
	struct khist_file_value *value, fresh = {};
	struct khist_file_key key = {};
	bool created;

	if (!khist_current_wanted())
		return;
	record_call(op, ret, latency);
	if (!track_files || !file)
		return;
	value = file_entry(&key, file, &created);
	if (created) {
		bpf_get_current_comm(fresh.comm, sizeof(fresh.comm));
		fresh.kind = khist_file_kind(file);
		fresh.name_is_path = khist_file_path(file, fresh.name, sizeof(fresh.name)) >= 0;
		bpf_map_update_elem(&file_table, &key, &fresh, BPF_NOEXIST);
		value = bpf_map_lookup_elem(&file_table, &key);
	}
	if (value)
		account_file(value, op, ret);
	else
		khist_count_failure();
}

SEC("tp_btf/khist_vfs_read")
int BPF_PROG(vfs_read_glue, struct file *file, size_t count, ssize_t ret, __u64 latency_ns)
{
	glue_event(KHIST_VFS_READ, file, ret, latency_ns);
	return 0;
}

SEC("tp_btf/khist_vfs_write")
int BPF_PROG(vfs_write_glue, struct file *file, size_t count, ssize_t ret, __u64 latency_ns)
{
	glue_event(KHIST_VFS_WRITE, file, ret, latency_ns);
	return 0;
}

/* fentry, kprobe and syscalls: time the call from entry to return. */

static __always_inline void call_enter(__u32 op, __u64 file)
{
	struct vfs_call *call;

	if (!khist_current_wanted())
		return;
	call = bpf_task_storage_get(&vfs_calls, bpf_get_current_task_btf(), 0,
				    BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!call) {
		khist_count_failure();
		return;
	}
	call->op = op;
	call->file = file;
	call->start_ns = bpf_ktime_get_ns();
}

/* The call that is returning, or NULL when its entry was not seen. */
static __always_inline struct vfs_call *call_exit(__u32 op, __u64 *latency)
{
	struct vfs_call *call;

	call = bpf_task_storage_get(&vfs_calls, bpf_get_current_task_btf(), 0, 0);
	if (!call || !call->start_ns || call->op != op)
		return NULL;
	*latency = bpf_ktime_get_ns() - call->start_ns;
	call->start_ns = 0;
	return call;
}

static __always_inline void file_call_exit(__u32 op, __s64 ret)
{
	struct vfs_call *call;
	__u64 latency;

	call = call_exit(op, &latency);
	if (!call)
		return;
	record_call(op, ret, latency);
	track_file_by_name(op, (struct file *)call->file, ret);
}

SEC("fentry/vfs_read")
int BPF_PROG(vfs_read_fentry, struct file *file)
{
	call_enter(KHIST_VFS_READ, (__u64)file);
	return 0;
}

SEC("fexit/vfs_read")
int BPF_PROG(vfs_read_fexit, struct file *file, char *buf, size_t count, loff_t *pos, ssize_t ret)
{
	file_call_exit(KHIST_VFS_READ, ret);
	return 0;
}

SEC("fentry/vfs_write")
int BPF_PROG(vfs_write_fentry, struct file *file)
{
	call_enter(KHIST_VFS_WRITE, (__u64)file);
	return 0;
}

SEC("fexit/vfs_write")
int BPF_PROG(vfs_write_fexit, struct file *file, const char *buf, size_t count, loff_t *pos,
	     ssize_t ret)
{
	file_call_exit(KHIST_VFS_WRITE, ret);
	return 0;
}

SEC("kprobe/vfs_read")
int BPF_KPROBE(vfs_read_kprobe, struct file *file)
{
	call_enter(KHIST_VFS_READ, (__u64)file);
	return 0;
}

SEC("kretprobe/vfs_read")
int BPF_KRETPROBE(vfs_read_kretprobe, ssize_t ret)
{
	file_call_exit(KHIST_VFS_READ, ret);
	return 0;
}

SEC("kprobe/vfs_write")
int BPF_KPROBE(vfs_write_kprobe, struct file *file)
{
	call_enter(KHIST_VFS_WRITE, (__u64)file);
	return 0;
}

SEC("kretprobe/vfs_write")
int BPF_KRETPROBE(vfs_write_kretprobe, ssize_t ret)
{
	file_call_exit(KHIST_VFS_WRITE, ret);
	return 0;
}

/* syscalls: the fd is resolved to its file when the call returns. */

static __always_inline struct file *file_of_fd(__u64 fd)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds, *file = NULL;

	if (!fdt || fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]);
	return file;
}

static __always_inline void syscall_exit(__u32 op, __s64 ret)
{
	struct vfs_call *call;
	__u64 latency;

	call = call_exit(op, &latency);
	if (!call)
		return;
	record_call(op, ret, latency);
	if (track_files)
		track_file_by_name(op, file_of_fd(call->file), ret);
}

#define SYSCALL_PAIR(name, op)							\
SEC("tp/syscalls/sys_enter_" #name)						\
int name##_enter(struct trace_event_raw_sys_enter *ctx)				\
{										\
	call_enter(op, ctx->args[0]);						\
	return 0;								\
}										\
SEC("tp/syscalls/sys_exit_" #name)						\
int name##_exit(struct trace_event_raw_sys_exit *ctx)				\
{										\
	syscall_exit(op, ctx->ret);						\
	return 0;								\
}

SYSCALL_PAIR(read, KHIST_VFS_READ)
SYSCALL_PAIR(pread64, KHIST_VFS_READ)
SYSCALL_PAIR(readv, KHIST_VFS_READ)
SYSCALL_PAIR(preadv, KHIST_VFS_READ)
SYSCALL_PAIR(write, KHIST_VFS_WRITE)
SYSCALL_PAIR(pwrite64, KHIST_VFS_WRITE)
SYSCALL_PAIR(writev, KHIST_VFS_WRITE)
SYSCALL_PAIR(pwritev, KHIST_VFS_WRITE)

char LICENSE[] SEC("license") = "GPL";
