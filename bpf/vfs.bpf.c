// SPDX-License-Identifier: GPL-2.0
/*
 * vfs collector: latency and size histograms, call/byte/error counters and
 * a per-file top table for vfs_read and vfs_write. Four attach modes; the
 * loader enables one group of programs, best first:
 *   glue      khist.ko's khist_vfs_read/write events (tp_btf), its kfuncs
 *             for the file kind and full path
 *   fentry    fentry/fexit on vfs_read/vfs_write
 *   kprobe    kprobe/kretprobe on vfs_read/vfs_write
 *   syscalls  the syscall tracepoints sys_enter/sys_exit, kept for the
 *             read and write families (read, pread64, readv, preadv, preadv2 and their
 *             write twins): an approximation of vfs_read/vfs_write that
 *             misses in-kernel callers
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "khist_common.bpf.h"
#include "khist_pending.bpf.h"
#include "khist_cgroup.bpf.h"
#include "khist_kfuncs.h"
#include <khist_file_kind.h>

/* Keep the per-file top table (set by the loader). */
const volatile bool track_files = true;

/* The call in progress, per task (not used in glue mode). */
struct vfs_call {
	__u64 start_ns;
	__u64 file;	/* struct file *, or the fd in syscalls mode */
	__u32 op;
	__u32 reserved;
	struct khist_cgroup_cache cgroup;	/* by_cgroup: the task's row */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct vfs_call);
} vfs_calls SEC(".maps");

/* slot = enum khist_vfs_op; calls and bytes derive from these two. */
KHIST_HISTOGRAM(vfs_latency);
KHIST_HISTOGRAM(vfs_size);

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);	/* set by the loader */
	__type(key, struct khist_file_key);
	__type(value, struct khist_file_value);
} file_table SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KHIST_PENDING_SLOTS);
	__type(key, __u32);
	__type(value, struct khist_file_pending);
} file_pending SEC(".maps");

/*
 * A call made while a reader holds the slots still (khist_pending.bpf.h) is
 * counted here, then added to the table at once; readers never read it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct khist_file_pending);
} file_direct SEC(".maps");

/*
 * Failed calls per op, counted rather than derived from the two histograms'
 * counts, which readers cannot read at one instant: a counter that only grows.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KHIST_VFS_OPS);	/* by cgroup: per row, set by the loader */
	__type(key, __u32);
	__type(value, __u64);
} vfs_errors SEC(".maps");

/* @row: the caller's cgroup row (0 when not by cgroup). */
static __always_inline void record_call(__u32 row, __u32 op, __s64 ret, __u64 latency)
{
	/* By cgroup: slot = row * KHIST_VFS_OPS + op. */
	__u32 slot = row * KHIST_VFS_OPS + op;

	khist_hist_record(&vfs_latency_hist, slot, latency, KHIST_UNIT_NS);
	if (ret >= 0) {
		khist_hist_record(&vfs_size_hist, slot, ret, KHIST_UNIT_BYTES);
	} else {
		__u64 *errors = bpf_map_lookup_elem(&vfs_errors, &slot);

		if (errors)
			*errors += 1;
	}
}

static __always_inline void add_counts(struct khist_file_value *to, const struct khist_file_value *from)
{
	__sync_fetch_and_add(&to->reads, from->reads);
	__sync_fetch_and_add(&to->writes, from->writes);
	__sync_fetch_and_add(&to->read_bytes, from->read_bytes);
	__sync_fetch_and_add(&to->write_bytes, from->write_bytes);
}

/* Moves a CPU's pending counts into the file table: the CPU saw another file. */
static __always_inline void flush_file(struct khist_file_pending *pending)
{
	struct khist_file_value *value = bpf_map_lookup_elem(&file_table, &pending->key);

	if (value) {
		add_counts(value, &pending->value);
	} else if (bpf_map_update_elem(&file_table, &pending->key, &pending->value, BPF_NOEXIST)) {
		value = bpf_map_lookup_elem(&file_table, &pending->key);
		if (value)
			add_counts(value, &pending->value);
		else
			khist_count_failure();
	}
}

static __always_inline bool holds(const struct khist_file_pending *pending, __u64 file,
				  __u64 inode, __u32 tgid)
{
	return pending->file == file && pending->inode == inode && pending->key.tgid == tgid;
}

/*
 * The per-CPU slot for (@file, @inode) of the current process: one of two
 * candidates hashed from the inode number and the process (the verifier
 * allows no arithmetic on the pointers but adding), so a few files in use
 * by turns on a CPU keep their slots. When the slot taken held another file
 * (an empty slot first, else the less busy one), that one is flushed and
 * *@fresh tells the caller to fill in the key and the name: copied once per
 * change of file in the slot, never per event. While a reader holds the
 * slots still, the call gets the file_direct slot instead (*@direct: the
 * caller adds it to the table after counting).
 */
static __always_inline struct khist_file_pending *file_slot(__u64 file, __u64 inode, __u64 ino,
							     bool *fresh, bool *direct)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u32 hash = ((__u32)ino * 0x9e3779b1u + tgid) * 0x85ebca6bu;
	__u32 first = (hash >> 29) & (KHIST_PENDING_SLOTS - 1);
	__u32 second = (hash >> 26) & (KHIST_PENDING_SLOTS - 1);
	struct khist_file_pending *pending, *other;
	__u32 zero = 0;

	*fresh = false;
	*direct = false;
	pending = bpf_map_lookup_elem(&file_pending, &first);
	if (!pending)
		return NULL;
	if (holds(pending, file, inode, tgid))
		return pending;
	if (second == first)
		second ^= 1;
	other = bpf_map_lookup_elem(&file_pending, &second);
	if (!other)
		return NULL;
	if (holds(other, file, inode, tgid))
		return other;
	if (pending->file && (!other->file || other->value.reads + other->value.writes <
					      pending->value.reads + pending->value.writes))
		pending = other;
	if (pending->file && khist_flush_held()) {
		pending = bpf_map_lookup_elem(&file_direct, &zero);
		if (!pending)
			return NULL;
		*direct = true;
	} else {
		khist_move_begin(&pending->generation);
		if (pending->file)
			flush_file(pending);
	}
	__builtin_memset(&pending->value, 0, sizeof(pending->value));
	pending->file = file;
	pending->inode = inode;
	pending->key.tgid = tgid;
	bpf_get_current_comm(pending->value.comm, sizeof(pending->value.comm));
	if (!*direct)
		khist_move_end(&pending->generation);
	*fresh = true;
	return pending;
}

static __always_inline void count_file(struct khist_file_pending *pending, __u32 op, __s64 ret,
				       bool direct)
{
	__u64 bytes = ret > 0 ? ret : 0;

	if (op == KHIST_VFS_READ) {
		pending->value.reads += 1;
		pending->value.read_bytes += bytes;
	} else {
		pending->value.writes += 1;
		pending->value.write_bytes += bytes;
	}
	if (direct) {
		flush_file(pending);
		pending->file = 0;
	}
}

/* Modes whose file pointer is not typed: every field through probe reads. */
static __always_inline void track_file_by_name(__u32 op, struct file *file, __s64 ret)
{
	struct khist_file_pending *pending;
	struct inode *inode;
	__u64 ino;
	bool fresh, direct;

	if (!track_files || !file)
		return;
	inode = BPF_CORE_READ(file, f_inode);
	ino = BPF_CORE_READ(inode, i_ino);
	pending = file_slot((__u64)file, (__u64)inode, ino, &fresh, &direct);
	if (!pending)
		return;
	if (fresh) {
		pending->key.ino = ino;
		pending->key.dev = BPF_CORE_READ(inode, i_sb, s_dev);
		pending->value.kind = khist_classify_file(BPF_CORE_READ(inode, i_mode),
							  BPF_CORE_READ(inode, i_sb, s_magic));
		bpf_probe_read_kernel_str(pending->value.name, sizeof(pending->value.name),
					  BPF_CORE_READ(file, f_path.dentry, d_name.name));
	}
	count_file(pending, op, ret, direct);
}

/* fentry and glue: a typed file pointer, read with plain loads. */
static __always_inline void track_typed_file(__u32 op, struct file *file, __s64 ret, bool glue)
{
	struct khist_file_pending *pending;
	struct inode *inode;
	__u64 ino;
	bool fresh, direct;

	if (!track_files || !file)
		return;
	inode = file->f_inode;
	ino = inode ? inode->i_ino : 0;
	pending = file_slot((__u64)file, (__u64)inode, ino, &fresh, &direct);
	if (!pending)
		return;
	if (fresh && inode) {
		pending->key.ino = ino;
		pending->key.dev = inode->i_sb->s_dev;
		if (glue) {
			pending->value.kind = khist_file_kind(file);
			/* A module built for a kernel without kfunc filters (6.1) has no path kfunc. */
			pending->value.name_is_path =
				bpf_ksym_exists(khist_file_path) &&
				khist_file_path(file, pending->value.name,
						sizeof(pending->value.name)) >= 0;
		} else {
			pending->value.kind = khist_classify_file(inode->i_mode, inode->i_sb->s_magic);
		}
		/* No path (PREEMPT_RT in the glue, or a synthetic name too long): the last component. */
		if (!pending->value.name[0])
			bpf_probe_read_kernel_str(pending->value.name, sizeof(pending->value.name),
						  file->f_path.dentry->d_name.name);
	}
	count_file(pending, op, ret, direct);
}

/* glue: the module measured the latency; its kfuncs name the file. */

static __always_inline void glue_event(__u32 op, struct file *file, __s64 ret, __u64 latency)
{
	if (!khist_current_wanted())
		return;
	/* No per-task state here: the row is cached per CPU. */
	record_call(khist_current_cgroup_row(), op, ret, latency);
	track_typed_file(op, file, ret, true);
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

/*
 * The call that is returning, or NULL when its entry was not seen; *@row:
 * the task's cgroup row, cached in the task's state next to the call.
 */
static __always_inline struct vfs_call *call_exit(__u32 op, __u64 *latency, __u32 *row)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct vfs_call *call;

	call = bpf_task_storage_get(&vfs_calls, task, 0, 0);
	if (!call || !call->start_ns || call->op != op)
		return NULL;
	*latency = bpf_ktime_get_ns() - call->start_ns;
	call->start_ns = 0;
	*row = khist_cgroup_row_by_moves(task, &call->cgroup);
	return call;
}

static __always_inline void file_call_exit(__u32 op, __s64 ret)
{
	struct vfs_call *call;
	__u64 latency;
	__u32 row;

	call = call_exit(op, &latency, &row);
	if (!call)
		return;
	record_call(row, op, ret, latency);
	track_file_by_name(op, (struct file *)call->file, ret);
}

/* fexit has the file as a typed argument. */
static __always_inline void typed_call_exit(__u32 op, struct file *file, __s64 ret)
{
	__u64 latency;
	__u32 row;

	if (!call_exit(op, &latency, &row))
		return;
	record_call(row, op, ret, latency);
	track_typed_file(op, file, ret, false);
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
	typed_call_exit(KHIST_VFS_READ, file, ret);
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
	typed_call_exit(KHIST_VFS_WRITE, file, ret);
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

/*
 * The task pointer is typed, so the walk to the fd table is plain loads;
 * only the slot of the array needs a probe read. Untyped.
 */
static __always_inline struct file *file_of_fd(__u64 fd)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct files_struct *files = task->files;
	struct fdtable *fdt = files ? files->fdt : NULL;
	struct file *file = NULL;

	if (!fdt || fd >= fdt->max_fds)
		return NULL;
	bpf_probe_read_kernel(&file, sizeof(file), &fdt->fd[fd]);
	return file;
}

static __always_inline void syscall_exit(__u32 op, __s64 ret)
{
	struct vfs_call *call;
	struct file *file;
	__u64 latency;
	__u32 row;

	call = call_exit(op, &latency, &row);
	if (!call)
		return;
	record_call(row, op, ret, latency);
	if (!track_files)
		return;
	file = file_of_fd(call->file);
	/*
	 * Cast to its type (read-only), the file's fields are plain loads; a
	 * kernel without the cast kfunc (before 6.2) reads them with helpers.
	 * The loader resolves the test, so the verifier sees one path.
	 */
	if (bpf_ksym_exists(bpf_rdonly_cast))
		track_typed_file(op, file ? bpf_core_cast(file, struct file) : NULL, ret, false);
	else
		track_file_by_name(op, file, ret);
}

/*
 * x86-64 numbers of the read and write families. The raw sys_enter/sys_exit
 * tracepoints fire for every system call: one compare turns the others away,
 * which costs less than the per-syscall tracepoints' perf buffer on the calls
 * that are kept.
 */
#define NR_READ		0
#define NR_WRITE	1
#define NR_PREAD64	17
#define NR_PWRITE64	18
#define NR_READV	19
#define NR_WRITEV	20
#define NR_PREADV	295
#define NR_PWRITEV	296
#define NR_PREADV2	327
#define NR_PWRITEV2	328

/* enum khist_vfs_op of a system call, or -1 when it is neither. */
static __always_inline int syscall_op(long nr)
{
	switch (nr) {
	case NR_READ:
	case NR_PREAD64:
	case NR_READV:
	case NR_PREADV:
	case NR_PREADV2:
		return KHIST_VFS_READ;
	case NR_WRITE:
	case NR_PWRITE64:
	case NR_WRITEV:
	case NR_PWRITEV:
	case NR_PWRITEV2:
		return KHIST_VFS_WRITE;
	default:
		return -1;
	}
}

/* BTF-typed: the registers are plain loads, not probe reads, on every call. */
SEC("tp_btf/sys_enter")
int BPF_PROG(vfs_sys_enter, struct pt_regs *regs, long nr)
{
	int op = syscall_op(nr);

	if (op >= 0)
		call_enter(op, regs->di);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(vfs_sys_exit, struct pt_regs *regs, long ret)
{
	/* The syscall number of a returning call is in orig_ax. */
	int op = syscall_op(regs->orig_ax);

	if (op >= 0)
		syscall_exit(op, ret);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
