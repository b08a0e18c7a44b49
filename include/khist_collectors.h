/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Map layouts shared by the BPF collectors and the agent that reads their
 * pinned maps. Plain C types only: included by BPF (after vmlinux.h) and by
 * user space (after <linux/types.h>).
 */
#ifndef KHIST_COLLECTORS_H
#define KHIST_COLLECTORS_H

#define KHIST_COMM_LEN		16
#define KHIST_FILE_NAME_LEN	128
/* Syscall numbers below this are counted (x86-64 has about 460). */
#define KHIST_SYSCALL_SLOTS	512
/* Per-CPU latency rows for the syscalls that occur first; the rest share rows. */
#define KHIST_SYSCALL_LATENCY_ROWS	56
/* Failed syscalls are counted per (syscall, errno) in a per-CPU hash: sparse by nature. */
#define KHIST_ERRNO_ENTRIES	4096

struct khist_errno_key {
	__u32 syscall;
	__u32 error;	/* errno */
};

/*
 * One histogram slot (a series): a per-CPU array entry of
 * KHIST_HIST_ROW_WORDS(buckets) u64s: the count and sum of its values, then
 * its bucket counts. One lookup per event updates all three.
 */
#define KHIST_HIST_ROW_COUNT	0
#define KHIST_HIST_ROW_SUM	1
#define KHIST_HIST_ROW_BUCKETS	2
#define KHIST_HIST_ROW_WORDS(buckets)	(KHIST_HIST_ROW_BUCKETS + (buckets))

/* Count and sum of the values of one histogram slot (Prometheus _count and _sum). */
struct khist_totals {
	__u64 count;
	__u64 sum;
};

/* What the loader records in each collector's `meta` map (key 0). */
struct khist_meta {
	__u32 version;		/* KHIST_META_VERSION */
	__u32 attach_mode;	/* enum khist_attach_mode */
	__u32 precision;	/* precision k or schema s of its histograms */
	__u32 layout;		/* enum khist_layout */
	__u32 by_cgroup;	/* series per cgroup at this depth; 0: not broken down */
	__u32 cgroup_rows;	/* rows of the cgroup table, row 0 for "other" */
	__u64 loaded_at_ns;	/* CLOCK_REALTIME of the first load */
};
#define KHIST_META_VERSION 3	/* 2: pending slots with generations, 3: layouts, cgroups */

/*
 * Series per cgroup: a collector loaded with a depth D keeps one row per
 * cgroup v2 directory D levels below the root (tasks higher up: their own
 * cgroup), the first KHIST_CGROUP_ROWS - 1 that show up; row 0 takes
 * every later one ("other"). Depths past this are refused.
 */
#define KHIST_CGROUP_ROWS	64
#define KHIST_CGROUP_MAX_DEPTH	16

/*
 * What a row's cgroup went through (cgroup_rows_info, one per row), times
 * in CLOCK_MONOTONIC: a removed cgroup's series stay under its path for a
 * grace period, and rows of one path, removed and created again (a
 * restarted service), stay one series while they follow each other.
 */
#define KHIST_CGROUP_PATH_LEN	256
struct khist_cgroup_row_info {
	__u64 assigned_ns;	/* the row was given to the cgroup */
	__u64 removed_ns;	/* the cgroup was removed (rmdir); 0: it is not */
	char path[KHIST_CGROUP_PATH_LEN];	/* at removal, as the kernel printed it */
};

enum khist_attach_mode {
	KHIST_ATTACH_NONE,
	KHIST_ATTACH_RAW_TP,	/* raw tracepoints */
	KHIST_ATTACH_TP_BTF,	/* BTF-typed tracepoints */
	KHIST_ATTACH_GLUE,	/* khist.ko glue events + kfuncs */
	KHIST_ATTACH_FENTRY,	/* fentry/fexit */
	KHIST_ATTACH_KPROBE,	/* kprobe/kretprobe */
	KHIST_ATTACH_SYSCALLS,	/* read/write-family syscall tracepoints */
	KHIST_ATTACH_MODE_COUNT,
};

#define KHIST_ATTACH_MODE_NAMES {				\
	[KHIST_ATTACH_NONE]	= "none",			\
	[KHIST_ATTACH_RAW_TP]	= "raw_tp",			\
	[KHIST_ATTACH_TP_BTF]	= "tp_btf",			\
	[KHIST_ATTACH_GLUE]	= "glue",			\
	[KHIST_ATTACH_FENTRY]	= "fentry",			\
	[KHIST_ATTACH_KPROBE]	= "kprobe",			\
	[KHIST_ATTACH_SYSCALLS]	= "syscalls",			\
}

/* Run-time filter written by user space, read by every program (key 0). */
struct khist_runtime_config {
	__u32 tgid;		/* 0: every process */
};

/*
 * syscalls collector. Calls per syscall are the counts of its latency
 * histogram, errors per syscall the sum of its errno counts: no map of
 * their own to update on every call.
 */

/*
 * syscalls by cgroup: calls and errors per (cgroup row, syscall), in an
 * array of KHIST_CGROUP_SYSCALL_ENTRIES per cgroup row: one per row of the
 * latency histogram (the syscall that row was given), then one for the
 * syscalls that have no row.
 */
struct khist_cgroup_syscall_value {
	__u64 calls;
	__u64 errors;
};

#define KHIST_CGROUP_SYSCALL_ENTRIES	(KHIST_SYSCALL_LATENCY_ROWS + 1)

struct khist_process_key {
	__u32 tgid;
};

struct khist_process_value {
	char comm[KHIST_COMM_LEN];
	__u64 syscalls;
	__u64 errors;
};

/*
 * Per-process counts pile up in per-CPU slots and go to the table when a
 * slot is taken by another process: one array lookup per syscall instead of
 * a hash lookup. Each CPU has KHIST_PENDING_SLOTS slots, a process's slot
 * chosen by its tgid, so processes that take turns on a CPU (a pipe
 * ping-pong, a server and its workers) keep their own slots instead of
 * flushing on every call. Readers add every slot to the table.
 */
#define KHIST_PENDING_SLOTS	8	/* a power of two, at most 8 (3 hash bits) */
struct khist_process_pending {
	__u32 tgid;			/* 0: empty */
	__u32 generation;		/* odd while its counts move to the table */
	struct khist_process_value value;
};

/*
 * A reader that wants the table and the slots at one instant writes a
 * CLOCK_MONOTONIC deadline into the collector's flush_hold map (key 0):
 * until then a CPU whose slot is wanted by another process (file) counts
 * that call straight into the table instead of moving the slot's counts.
 * Counts then only ever grow in the slot or in the table, never move, and
 * the generation of every slot stays even and unchanged; a reader that sees
 * one change (a hold it could not set, or one that ran out) reads again.
 */
#define KHIST_FLUSH_HOLD_NS	(50 * 1000 * 1000ULL)

/* signals collector */
enum khist_signal_result {	/* the kernel's enum trace_signal_result */
	KHIST_SIGNAL_DELIVERED,
	KHIST_SIGNAL_IGNORED,
	KHIST_SIGNAL_ALREADY_PENDING,
	KHIST_SIGNAL_OVERFLOW_FAIL,
	KHIST_SIGNAL_LOSE_INFO,
	KHIST_SIGNAL_RESULTS,
};

#define KHIST_SIGNAL_RESULT_NAMES { "delivered", "ignored", "already_pending", \
				    "overflow_fail", "lose_info" }

/* Signal numbers below this are counted (Linux has 64). */
#define KHIST_SIGNAL_SLOTS	65

struct khist_signal_key {
	__u32 signal;
	__u32 result;			/* enum khist_signal_result */
	char sender_comm[KHIST_COMM_LEN];
	char target_comm[KHIST_COMM_LEN];
};

/*
 * process collector: lifecycle events per comm. Forks are counted under
 * the parent's comm, execs under the comm the program got, exits, kills
 * and OOM kills under the comm of the process that ended.
 */
struct khist_comm_key {
	char comm[KHIST_COMM_LEN];
};

struct khist_process_counts {
	__u64 forks;		/* new processes (no CLONE_THREAD) */
	__u64 threads;		/* new threads */
	__u64 execs;		/* successful execve(at) */
	__u64 oom_kills;	/* chosen by the OOM killer (oom:mark_victim) */
};

/* How a process ended, per comm: its exit code, or the signal that killed it. */
struct khist_process_end_key {
	char comm[KHIST_COMM_LEN];
	__u32 status;		/* exit code 0..255, or signal number */
};

/* By cgroup: KHIST_PROCESS_EVENTS counts per cgroup row. */
enum khist_process_event {
	KHIST_PROCESS_FORK,
	KHIST_PROCESS_THREAD,
	KHIST_PROCESS_EXEC,
	KHIST_PROCESS_EXIT_ZERO,
	KHIST_PROCESS_EXIT_NONZERO,
	KHIST_PROCESS_KILLED,
	KHIST_PROCESS_OOM_KILL,
	KHIST_PROCESS_EVENTS,
};

#define KHIST_PROCESS_EVENT_NAMES { "fork", "thread", "exec", "exit_zero", "exit_nonzero", \
				    "killed", "oom_kill" }

/*
 * block collector: requests per disk (its request queue's id, which the
 * kernel hands out from 0 as disks appear) and op. Disks past the last
 * group share the "other" group; a group's entry of block_disks holds its
 * disk's dev_t for the agent to name.
 */
enum khist_block_op {
	KHIST_BLOCK_READ,
	KHIST_BLOCK_WRITE,
	KHIST_BLOCK_FLUSH,
	KHIST_BLOCK_DISCARD,
	KHIST_BLOCK_OTHER,	/* write-zeroes, secure erase, zone and driver ops */
	KHIST_BLOCK_OPS,
};

#define KHIST_BLOCK_OP_NAMES	{ "read", "write", "flush", "discard", "other" }

/* Disk groups: one per request queue id below KHIST_BLOCK_DISKS - 1, then "other". */
#define KHIST_BLOCK_DISKS	64
#define KHIST_BLOCK_SLOTS	(KHIST_BLOCK_DISKS * KHIST_BLOCK_OPS)
/* Per-CPU histogram rows for the (disk, op) pairs that occur first; the rest share rows. */
#define KHIST_BLOCK_ROWS	24
/* Requests between issue and completion that are timed at once. */
#define KHIST_BLOCK_IN_FLIGHT	16384

struct khist_block_disk {
	__u32 dev;		/* the kernel's dev_t of the disk; 0: no disk yet */
};

struct khist_block_key {
	__u32 dev;		/* the disk's dev_t */
	__u32 op;		/* enum khist_block_op */
};

struct khist_block_counts {
	__u64 requests;		/* completed in full */
	__u64 bytes;		/* completed, partial completions included */
	__u64 errors;		/* completions with an error status */
};

/*
 * stacks collector: off-CPU time per (kernel stack, comm). A task's stack
 * is taken as it is switched out; the time it stayed off is added when it
 * is switched back in.
 */
#define KHIST_STACK_DEPTH	48	/* frames kept of each stack */
#define KHIST_STACK_TRACES	8192	/* distinct stacks */
#define KHIST_STACK_ENTRIES	16384	/* (stack, comm) pairs */

struct khist_stack_key {
	__s32 stack_id;		/* in the stack trace map */
	__u32 reserved;
	char comm[KHIST_COMM_LEN];
};

struct khist_stack_value {
	__u64 time_ns;		/* off CPU, summed */
	__u64 count;		/* times switched back in */
};

enum khist_stack_drop {
	KHIST_STACK_DROP_NO_STACK,	/* the stack trace map was full, or the stack's slot taken */
	KHIST_STACK_DROP_TABLE_FULL,	/* a new (stack, comm) found the table full */
	KHIST_STACK_DROPS,
};

#define KHIST_STACK_DROP_NAMES	{ "no_stack", "table_full" }

/* sched collector */
enum khist_switch_kind {
	KHIST_SWITCH_VOLUNTARY,
	KHIST_SWITCH_INVOLUNTARY,
	KHIST_SWITCH_KINDS,
};

struct khist_cpu_task {
	__u32 pid;
	__u32 tgid;
	char comm[KHIST_COMM_LEN];
};

/*
 * vfs collector: slot 0 read, slot 1 write. Calls are the counts of the
 * latency histogram, bytes the sum of the size histogram (which only
 * successful calls enter), errors a per-CPU counter of their own.
 */
enum khist_vfs_op {
	KHIST_VFS_READ,
	KHIST_VFS_WRITE,
	KHIST_VFS_OPS,
};

struct khist_vfs_counts {
	__u64 calls;
	__u64 bytes;
	__u64 errors;
};

struct khist_file_key {
	__u64 ino;
	__u32 dev;
	__u32 tgid;
};

struct khist_file_value {
	char comm[KHIST_COMM_LEN];
	char name[KHIST_FILE_NAME_LEN];	/* full path in glue mode, else the last component */
	__u32 kind;			/* enum khist_file_kind */
	__u32 name_is_path;
	__u64 reads;
	__u64 writes;
	__u64 read_bytes;
	__u64 write_bytes;
};

/*
 * Files each CPU saw recently, with counts not yet in the file table (see
 * above): KHIST_PENDING_SLOTS per CPU, a file's slot one of two chosen by
 * its inode number and the process.
 */
struct khist_file_pending {
	__u64 file;			/* struct file * and struct inode * it was seen */
	__u64 inode;			/* with: identity only, never dereferenced */
	struct khist_file_key key;
	struct khist_file_value value;
	__u32 generation;		/* odd while its counts move to the table */
	__u32 reserved;
};

#endif /* KHIST_COLLECTORS_H */
