// SPDX-License-Identifier: GPL-2.0
/*
 * Programs the verifier must refuse (each loaded on its own by
 * kmod_consumers): khist_file_path() outside the attach points allowed for
 * it, and a walked (untrusted) file pointer at an allowed one.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "khist_kfuncs.h"

char path[64];

/* The scheduler's tracepoint: d_path() under the runqueue lock. */
SEC("tp_btf/sched_switch")
int BPF_PROG(path_in_sched_switch, bool preempt, struct task_struct *prev,
	     struct task_struct *next)
{
	return khist_file_path(NULL, path, sizeof(path));
}

/* fentry on another function, with a trusted file argument. */
SEC("fentry/vfs_fsync")
int BPF_PROG(path_in_other_fentry, struct file *file, int datasync)
{
	return khist_file_path(file, path, sizeof(path));
}

/* An allowed attach point, but a file pointer walked from the task: not trusted. */
SEC("tp_btf/khist_vfs_read")
int BPF_PROG(path_of_walked_file, struct file *file, size_t count, ssize_t ret, __u64 latency_ns)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct file *exe = task->mm->exe_file;

	return khist_file_path(exe, path, sizeof(path));
}

/*
 * An allowed attach point whose arguments 6.12 does not trust (fentry and
 * fexit arguments are plain pointers there): refused as well.
 */
SEC("fexit/vfs_read")
int BPF_PROG(path_in_fexit, struct file *file, char *buf, size_t count, loff_t *pos, ssize_t ret)
{
	return khist_file_path(file, path, sizeof(path));
}

/* The same walked pointer for the kind. */
SEC("fexit/vfs_read")
int BPF_PROG(kind_of_walked_file, struct file *file, char *buf, size_t count, loff_t *pos,
	     ssize_t ret)
{
	struct task_struct *task = bpf_get_current_task_btf();

	return khist_file_kind(task->mm->exe_file);
}

char LICENSE[] SEC("license") = "GPL";
