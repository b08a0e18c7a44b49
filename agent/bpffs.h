/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KHIST_BPFFS_H
#define KHIST_BPFFS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Mounts bpffs on @path unless it already is one. 0 or -errno. */
int bpffs_ensure_mounted(const char *path);
/* Mounts tracefs on /sys/kernel/tracing unless it already is. 0 or -errno. */
int tracefs_ensure_mounted(void);
/* mkdir -p inside bpffs with @mode. 0 or -errno. */
int bpffs_make_dirs(const char *path, mode_t mode);
/* Sum of one u64 value over every possible CPU of a per-CPU map. */
int percpu_map_sum(int map_fd, const void *key, unsigned long long *sum);

/* snprintf for paths: false when the result did not fit in @size. */
bool path_format(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
