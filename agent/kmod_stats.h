/* SPDX-License-Identifier: GPL-2.0 */
/* The pinned map khist.ko publishes its statistics into. */
#ifndef KHIST_KMOD_STATS_H
#define KHIST_KMOD_STATS_H

#include <stddef.h>
#include <linux/types.h>

#include <uapi/khist.h>

/*
 * Creates (or reuses) the map pinned at @pin and has the module bind it:
 * with the khist_stats_map_bind kfunc, or over netlink by its descriptor
 * where the kernel cannot pass a map to a kfunc (the module says which).
 * 0, or a negative errno with the reason in @error.
 */
int kmod_stats_bind(const char *pin, char *error, size_t size);
/* Reads every statistic from the map pinned at @pin. 0 or a negative errno. */
int kmod_stats_read(const char *pin, __u64 stats[KHIST_STAT_COUNT]);

#endif
