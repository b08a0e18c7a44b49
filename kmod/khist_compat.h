/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What differs between the kernels khist.ko builds for, 6.1 LTS and 6.12
 * LTS, in one place: a name an older kernel lacks is defined here, and a
 * feature it lacks is a KHIST_HAVE_* constant the code tests (so both
 * sides always compile) and the module reports over netlink.
 */
#ifndef _KHIST_COMPAT_H
#define _KHIST_COMPAT_H

#include <linux/bpf.h>
#include <linux/btf_ids.h>
#include <linux/compiler.h>
#include <linux/version.h>

/* Sets of kfuncs with flags: 6.0's BTF_SET8, renamed in 6.9. */
#ifndef BTF_KFUNCS_START
#define BTF_KFUNCS_START(name)	BTF_SET8_START(name)
#define BTF_KFUNCS_END(name)	BTF_SET8_END(name)
#endif

/* A kfunc (6.5): a global function only BPF calls, kept out of line and in BTF. */
#ifndef __bpf_kfunc
#define __bpf_kfunc __used noinline
#endif

/* Kfuncs have no prototype in a header (6.7 wraps their definitions so). */
#ifndef __bpf_kfunc_start_defs
#define __bpf_kfunc_start_defs()					\
	__diag_push();							\
	__diag_ignore_all("-Wmissing-prototypes",			\
			  "kfuncs are defined for BPF programs only")
#define __bpf_kfunc_end_defs() __diag_pop()
#endif

/*
 * Kfunc sets with a filter per program (6.8). khist_file_path needs one
 * (d_path() only where no lock of its is held), so without it the module
 * does not offer the path kfunc at all.
 */
#define KHIST_HAVE_KFUNC_FILTER	(LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0))

/*
 * KF_TRUSTED_ARGS takes any trusted pointer, such as a tracing program's
 * own arguments, from 6.2; 6.1 takes only referenced ones, which no
 * tracepoint argument is. There the file kfuncs take any pointer to a file
 * (so they read through it without faulting).
 */
#define KHIST_HAVE_TRUSTED_ARGS	(LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0))
#if KHIST_HAVE_TRUSTED_ARGS	/* a plain constant: BTF_ID_FLAGS writes it into assembly */
#define KHIST_KF_FILE_ARG	KF_TRUSTED_ARGS
#else
#define KHIST_KF_FILE_ARG	0
#endif

/*
 * A kfunc argument named __nullable may be NULL (not in 6.1, where the
 * verifier refuses a NULL file pointer before the kfunc is called).
 */
#define KHIST_HAVE_NULLABLE_ARGS	(LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0))

/*
 * A map as a kfunc argument (__map, 6.9): the statistics map is bound by a
 * BPF program. Before, the verifier cannot pass one, and the map is bound
 * over netlink by its file descriptor instead.
 */
#define KHIST_HAVE_KFUNC_MAP_ARG	(LINUX_VERSION_CODE >= KERNEL_VERSION(6, 9, 0))

/*
 * fprobe with per-call entry data and nr_maxactive, as the glue uses it
 * (6.12 here); Debian's 6.1 kernels have CONFIG_FPROBE off, and the glue
 * uses a kretprobe there.
 */
#define KHIST_HAVE_FPROBE	(IS_ENABLED(CONFIG_FPROBE) && \
				 LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0))

/* A map value holds fields the kernel manages (a lock, a timer, a kptr...). */
static inline bool khist_map_has_special_fields(const struct bpf_map *map)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
	return !IS_ERR_OR_NULL(map->record);
#else
	return map_value_has_spin_lock(map) || map_value_has_timer(map) ||
	       map_value_has_kptrs(map);
#endif
}

#endif /* _KHIST_COMPAT_H */
