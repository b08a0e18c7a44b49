/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kfuncs of khist.ko, for BPF programs. Weak: a program that guards its
 * calls with bpf_ksym_exists() still loads when the module is absent.
 */
#ifndef KHIST_KFUNCS_H
#define KHIST_KFUNCS_H

extern __u32 khist_file_kind(struct file *file) __ksym __weak;
extern int khist_file_path(struct file *file, char *buf, __u32 buf__sz) __ksym __weak;
extern int khist_stat_add(__u32 stat_id, __u64 delta) __ksym __weak;
extern int khist_stats_map_bind(void *map) __ksym __weak;
extern int khist_stats_map_unbind(void) __ksym __weak;

#endif
