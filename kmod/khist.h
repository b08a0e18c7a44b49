/* SPDX-License-Identifier: GPL-2.0 */
/* khist module internals shared between its files. */
#ifndef _KHIST_H
#define _KHIST_H

#include <linux/percpu.h>
#include <linux/types.h>

#include <uapi/khist.h>

struct bpf_map;

/* khist_stats.c: per-CPU statistics and their publication into a BPF map. */
struct khist_stat_counters {
	u64 value[KHIST_STAT_COUNT];
};
extern struct khist_stat_counters __percpu *khist_stat_counters;

static inline void khist_stat_inc(enum khist_stat id)
{
	this_cpu_inc(khist_stat_counters->value[id]);
}

static inline void khist_stat_add_value(enum khist_stat id, u64 delta)
{
	this_cpu_add(khist_stat_counters->value[id], delta);
}

u64 khist_stat_read(enum khist_stat id);
int khist_stats_init(unsigned int publish_interval_ms);
void khist_stats_exit(void);
int khist_stats_bind_map(struct bpf_map *map);
int khist_stats_unbind_map(void);
int khist_stats_publish(void);
u32 khist_stats_bound_map_id(void);
void khist_stats_set_interval(unsigned int interval_ms);
unsigned int khist_stats_interval(void);

/*
 * khist_probe_fprobe.c or khist_probe_kretprobe.c, whichever the kernel
 * can have (khist_compat.h): the probe on a function behind a glue event.
 */
struct file;
struct khist_probe;

/* A call of vfs_read() or vfs_write() in flight, kept by the probe. */
struct khist_probe_call {
	struct file *file;
	size_t count;
	u64 start_ns;
};

/* Called as the function returns @ret, in the context it ran in. */
typedef void (*khist_probe_exit_fn)(const struct khist_probe_call *call, ssize_t ret);

extern const char khist_probe_kind[];	/* "fprobe" or "kretprobe" */
struct khist_probe *khist_probe_register(const char *symbol, khist_probe_exit_fn exit);
void khist_probe_unregister(struct khist_probe *probe);
u64 khist_probe_missed(const struct khist_probe *probe);
void khist_probe_set_enabled(struct khist_probe *probe, bool enabled);
void khist_probe_free(struct khist_probe *probe);	/* after unregistering */

/* khist_glue.c: the probes behind the khist_vfs_read/khist_vfs_write events. */
enum khist_glue_id {
	KHIST_GLUE_READ,
	KHIST_GLUE_WRITE,
	KHIST_GLUE_COUNT,
};

struct khist_glue_state {
	bool enabled;	/* consumers may attach */
	bool active;	/* the probe is registered */
};

void khist_glue_get_state(enum khist_glue_id id, struct khist_glue_state *state);
void khist_glue_set_enabled(enum khist_glue_id id, bool enabled);
u64 khist_glue_missed(enum khist_glue_id id);
void khist_glue_exit(void);

/* khist_kfuncs.c */
int khist_kfuncs_init(void);

/* khist_netlink.c */
int khist_netlink_init(void);
void khist_netlink_exit(void);

#endif /* _KHIST_H */
