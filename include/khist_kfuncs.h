/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kfuncs of khist.ko, declared once for the module that defines them
 * and the BPF programs that call them: a prototype change breaks the build
 * of both instead of a program at load. In BPF the declarations are weak
 * ksyms, so a program that guards its calls with bpf_ksym_exists() still
 * loads when the module is absent.
 *
 * khist_file_path() is refused by the verifier outside the glue events
 * (tp_btf/khist_vfs_read, khist_vfs_write), fentry/fexit of vfs_read and
 * vfs_write, and SYSCALL programs; file arguments must be trusted pointers
 * (a program's own arguments, not a pointer walked from them).
 */
#ifndef KHIST_KFUNCS_H
#define KHIST_KFUNCS_H

#ifdef __KERNEL__
#define KHIST_KFUNC
#else
#define KHIST_KFUNC __ksym __weak
#endif

struct file;

extern __u32 khist_file_kind(struct file *file__nullable) KHIST_KFUNC;
extern int khist_file_path(struct file *file__nullable, char *buf, __u32 buf__sz) KHIST_KFUNC;
extern int khist_stat_add(__u32 stat_id, __u64 delta) KHIST_KFUNC;
extern int khist_stats_map_bind(void *map__map) KHIST_KFUNC;
extern int khist_stats_map_unbind(void) KHIST_KFUNC;

#endif
