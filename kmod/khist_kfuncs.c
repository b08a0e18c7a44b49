// SPDX-License-Identifier: GPL-2.0
/*
 * kfuncs for BPF programs: what kind of file a struct file is, its path,
 * module statistics, and binding the map the statistics are published into.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>
#include <linux/dcache.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <linux/stat.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "khist.h"
#include "khist_compat.h"
#include <khist_file_kind.h>
#include <khist_kfuncs.h>

/* The shared classification must agree with the kernel's own constants. */
static_assert(KHIST_S_IFMT == S_IFMT && KHIST_S_IFREG == S_IFREG && KHIST_S_IFSOCK == S_IFSOCK &&
	      KHIST_S_IFIFO == S_IFIFO && KHIST_S_IFCHR == S_IFCHR && KHIST_S_IFDIR == S_IFDIR);
static_assert(KHIST_S_IFLNK == S_IFLNK && KHIST_S_IFBLK == S_IFBLK);
static_assert(KHIST_ANON_INODE_FS_MAGIC == ANON_INODE_FS_MAGIC);
static_assert(KHIST_PROC_SUPER_MAGIC == PROC_SUPER_MAGIC && KHIST_SYSFS_MAGIC == SYSFS_MAGIC &&
	      KHIST_DEBUGFS_MAGIC == DEBUGFS_MAGIC && KHIST_TRACEFS_MAGIC == TRACEFS_MAGIC &&
	      KHIST_SECURITYFS_MAGIC == SECURITYFS_MAGIC &&
	      KHIST_CGROUP_SUPER_MAGIC == CGROUP_SUPER_MAGIC &&
	      KHIST_CGROUP2_SUPER_MAGIC == CGROUP2_SUPER_MAGIC && KHIST_BPF_FS_MAGIC == BPF_FS_MAGIC &&
	      KHIST_PSTOREFS_MAGIC == PSTOREFS_MAGIC && KHIST_EFIVARFS_MAGIC == EFIVARFS_MAGIC &&
	      KHIST_SELINUX_MAGIC == SELINUX_MAGIC && KHIST_SMACK_MAGIC == SMACK_MAGIC &&
	      KHIST_DEVPTS_SUPER_MAGIC == DEVPTS_SUPER_MAGIC);

__bpf_kfunc_start_defs();

/**
 * khist_file_kind - classify a file
 * @file__nullable: the file, may be NULL
 *
 * Return: an enum khist_file_kind; KHIST_FILE_UNKNOWN for NULL.
 */
__bpf_kfunc u32 khist_file_kind(struct file *file__nullable)
{
	struct super_block *sb;
	struct inode *inode;
	unsigned long magic;
	umode_t mode;

	khist_stat_inc(KHIST_STAT_KFUNC_CALLS);
	if (!file__nullable)
		return KHIST_FILE_UNKNOWN;
	/*
	 * Where the verifier cannot insist on a trusted file (6.1:
	 * khist_compat.h), a pointer walked from another may be stale: reads
	 * that cannot fault, on every kernel (once per file a CPU sees).
	 */
	if (get_kernel_nofault(inode, &file__nullable->f_inode) || !inode ||
	    get_kernel_nofault(mode, &inode->i_mode) || get_kernel_nofault(sb, &inode->i_sb) ||
	    !sb || get_kernel_nofault(magic, &sb->s_magic))
		return KHIST_FILE_UNKNOWN;
	return khist_classify_file(mode, magic);
}

#if KHIST_HAVE_KFUNC_FILTER
/*
 * Whether d_path() gives @path a synthetic name (pipes, sockets, anonymous
 * inodes), formatted by d_dname() without a lock. Other paths are walked
 * locklessly first, but a walk that races with a rename or mount change is
 * retried under rename_lock/mount_lock, and reading current->fs waits for
 * its spinlock while a writer holds it.
 */
static bool khist_path_is_synthetic(const struct path *path)
{
	const struct dentry *dentry = path->dentry;

	return dentry->d_op && dentry->d_op->d_dname &&
	       (!IS_ROOT(dentry) || dentry != path->mnt->mnt_root);
}

/**
 * khist_file_path - write a file's path into a BPF buffer
 * @file__nullable: the file
 * @buf: destination
 * @buf__sz: its size
 *
 * d_path() walks dentries under RCU and allocates nothing; only a walk
 * that races with a rename or mount change takes a spinlock (see
 * khist_path_is_synthetic()). That is safe where glue events and fexit
 * programs run on a non-RT kernel (process context, preemption or
 * migration disabled). On PREEMPT_RT those spinlocks sleep: a caller that
 * cannot sleep there (every tracepoint program, the glue events included)
 * gets -EAGAIN for a path that is not synthetic; fexit programs, which
 * stay preemptible on RT, get every path.
 *
 * Return: the path's length without the NUL; -EINVAL for a NULL file, an
 * empty buffer, or a caller with no filesystem context (interrupt, exit);
 * -EAGAIN as above; -ENAMETOOLONG when the path did not fit, in which case
 * the buffer holds its tail (the end of the path); other negative errnos
 * from d_path(). The buffer is NUL-terminated in every case (empty when a
 * synthetic name such as "pipe:[123]" did not fit).
 */
__bpf_kfunc int khist_file_path(struct file *file__nullable, char *buf, u32 buf__sz)
{
	char *path;
	int len;

	khist_stat_inc(KHIST_STAT_KFUNC_CALLS);
	if (!buf || !buf__sz) {
		khist_stat_inc(KHIST_STAT_KFUNC_ERRORS);
		return -EINVAL;
	}
	buf[0] = '\0';
	/*
	 * d_path() resolves against current->fs: there is none in interrupt
	 * context, nor once an exiting task has dropped it (__fput from exit).
	 */
	if (!file__nullable || !in_task() || !current->fs) {
		khist_stat_inc(KHIST_STAT_KFUNC_ERRORS);
		return -EINVAL;
	}
	if (IS_ENABLED(CONFIG_PREEMPT_RT) && !preemptible() &&
	    !khist_path_is_synthetic(&file__nullable->f_path)) {
		khist_stat_inc(KHIST_STAT_PATH_FAILURES);
		return -EAGAIN;
	}
	path = d_path(&file__nullable->f_path, buf, buf__sz);
	if (IS_ERR(path)) {
		khist_stat_inc(KHIST_STAT_PATH_FAILURES);
		/* Real paths overflow keeping their tail; synthetic names write nothing. */
		buf[buf__sz - 1] = '\0';
		if (PTR_ERR(path) != -ENAMETOOLONG ||
		    khist_path_is_synthetic(&file__nullable->f_path))
			buf[0] = '\0';
		return PTR_ERR(path);
	}
	len = buf + buf__sz - 1 - path;
	memmove(buf, path, len + 1);
	return len;
}
#endif /* KHIST_HAVE_KFUNC_FILTER */

/**
 * khist_stat_add - add to one of the module's statistics
 * @stat_id: an enum khist_stat
 * @delta: amount
 *
 * Return: 0, or -EINVAL (counted as a kfunc error) for an unknown id.
 */
__bpf_kfunc int khist_stat_add(u32 stat_id, u64 delta)
{
	khist_stat_inc(KHIST_STAT_KFUNC_CALLS);
	if (stat_id >= KHIST_STAT_COUNT) {
		khist_stat_inc(KHIST_STAT_KFUNC_ERRORS);
		return -EINVAL;
	}
	khist_stat_add_value(stat_id, delta);
	return 0;
}

#if KHIST_HAVE_KFUNC_MAP_ARG
/**
 * khist_stats_map_bind - publish the module's statistics into a map
 * @map__map: an ARRAY or PERCPU_ARRAY map, key u32, value u64, with at
 *	      least KHIST_STAT_COUNT entries
 *
 * The module keeps a reference to the map until it is unbound, replaced by
 * another bind, or the module is unloaded.
 *
 * Return: 0, or -EINVAL for a map of the wrong shape.
 */
__bpf_kfunc int khist_stats_map_bind(void *map__map)
{
	int err;

	khist_stat_inc(KHIST_STAT_KFUNC_CALLS);
	err = khist_stats_bind_map(map__map);
	if (err)
		khist_stat_inc(KHIST_STAT_KFUNC_ERRORS);
	return err;
}

/**
 * khist_stats_map_unbind - publish a last time and drop the bound map
 *
 * Return: 0, or -ENOENT when no map is bound.
 */
__bpf_kfunc int khist_stats_map_unbind(void)
{
	khist_stat_inc(KHIST_STAT_KFUNC_CALLS);
	return khist_stats_unbind_map();
}
#endif /* KHIST_HAVE_KFUNC_MAP_ARG */

__bpf_kfunc_end_defs();

/*
 * Callable from tracing programs (tp_btf, fentry, fexit) and SYSCALL
 * programs; file arguments must be trusted (KF_TRUSTED_ARGS, from 6.2), so
 * a pointer walked from another one, which may be stale, is refused at load.
 */
BTF_KFUNCS_START(khist_tracing_kfunc_ids)
BTF_ID_FLAGS(func, khist_file_kind, KHIST_KF_FILE_ARG)
#if KHIST_HAVE_KFUNC_FILTER
BTF_ID_FLAGS(func, khist_file_path, KF_TRUSTED_ARGS)
#endif
BTF_ID_FLAGS(func, khist_stat_add)
BTF_KFUNCS_END(khist_tracing_kfunc_ids)

#if KHIST_HAVE_KFUNC_FILTER

/*
 * d_path() may spin on rename_lock or mount_lock, or wait for fs->lock: from
 * a program attached inside one of their write sections, or in interrupt
 * context, it could deadlock. Like bpf_d_path's allowlist upstream, the
 * path is only for the attach points known to run in plain process context
 * with no such lock held: khist's own events and vfs_read/vfs_write.
 */
BTF_ID_LIST(khist_path_kfunc_id)
BTF_ID(func, khist_file_path)

static const char *const khist_path_attach_points[] = {
	"khist_vfs_read", "khist_vfs_write",	/* tp_btf, the glue events */
	"vfs_read", "vfs_write",		/* fentry, fexit */
};

static int khist_tracing_filter(const struct bpf_prog *prog, u32 kfunc_id)
{
	const char *target = prog->aux->attach_func_name;

	if (kfunc_id != khist_path_kfunc_id[0])
		return 0;
	switch (prog->expected_attach_type) {
	case BPF_TRACE_RAW_TP:
	case BPF_TRACE_FENTRY:
	case BPF_TRACE_FEXIT:
		break;
	default:
		return -EACCES;
	}
	for (int i = 0; target && i < ARRAY_SIZE(khist_path_attach_points); i++) {
		/* The glue events only as tp_btf, vfs_read/vfs_write only as fentry/fexit. */
		if ((i < 2) != (prog->expected_attach_type == BPF_TRACE_RAW_TP))
			continue;
		if (!strcmp(target, khist_path_attach_points[i]))
			return 0;
	}
	return -EACCES;
}

#endif /* KHIST_HAVE_KFUNC_FILTER */

static const struct btf_kfunc_id_set khist_tracing_kfunc_set = {
	.owner = THIS_MODULE,
	.set = &khist_tracing_kfunc_ids,
#if KHIST_HAVE_KFUNC_FILTER
	.filter = khist_tracing_filter,
#endif
};

/* Binding takes a mutex: sleepable SYSCALL programs only (BPF_PROG_RUN). */
BTF_KFUNCS_START(khist_syscall_kfunc_ids)
BTF_ID_FLAGS(func, khist_file_kind, KHIST_KF_FILE_ARG)
#if KHIST_HAVE_KFUNC_FILTER
BTF_ID_FLAGS(func, khist_file_path, KF_TRUSTED_ARGS)
#endif
BTF_ID_FLAGS(func, khist_stat_add)
#if KHIST_HAVE_KFUNC_MAP_ARG
BTF_ID_FLAGS(func, khist_stats_map_bind, KF_SLEEPABLE)
BTF_ID_FLAGS(func, khist_stats_map_unbind, KF_SLEEPABLE)
#endif
BTF_KFUNCS_END(khist_syscall_kfunc_ids)

static const struct btf_kfunc_id_set khist_syscall_kfunc_set = {
	.owner = THIS_MODULE,
	.set = &khist_syscall_kfunc_ids,
};

int khist_kfuncs_init(void)
{
	int err;

	err = register_btf_kfunc_id_set(BPF_PROG_TYPE_TRACING, &khist_tracing_kfunc_set);
	if (err) {
		pr_err("registering tracing kfuncs failed: %d\n", err);
		return err;
	}
	err = register_btf_kfunc_id_set(BPF_PROG_TYPE_SYSCALL, &khist_syscall_kfunc_set);
	if (err)
		pr_err("registering syscall kfuncs failed: %d\n", err);
	return err;
}
