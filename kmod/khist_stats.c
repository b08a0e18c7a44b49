// SPDX-License-Identifier: GPL-2.0
/*
 * Module statistics: per-CPU counters, published into a BPF map bound by a
 * BPF program (khist_stats_map_bind kfunc) through that map's own bpf_map_ops,
 * periodically from a delayed work item and on demand.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bpf.h>
#include <linux/jiffies.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/string.h>
#include <linux/workqueue.h>

#include "khist.h"
#include "khist_compat.h"

struct khist_stat_counters __percpu *khist_stat_counters;

static DEFINE_MUTEX(khist_bind_lock);
static struct bpf_map *khist_bound_map;		/* under khist_bind_lock */
static unsigned int khist_publish_interval_ms;	/* under khist_bind_lock */
static bool khist_stats_stopping;		/* under khist_bind_lock */

static void khist_publish_work_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(khist_publish_work, khist_publish_work_fn);

/* The publisher runs only while a map is bound. */
static void khist_schedule_publish_locked(void)
{
	if (khist_bound_map && khist_publish_interval_ms && !khist_stats_stopping)
		mod_delayed_work(system_wq, &khist_publish_work,
				 msecs_to_jiffies(khist_publish_interval_ms));
}

/*
 * Counts that do not live in the per-CPU counters (reported on CPU 0).
 * Reading them takes the glue's mutex: collect them before any RCU section.
 */
static void khist_stat_extras(u64 extra[KHIST_STAT_COUNT])
{
	memset(extra, 0, sizeof(u64) * KHIST_STAT_COUNT);
	extra[KHIST_STAT_GLUE_READ_MISSED] = khist_glue_missed(KHIST_GLUE_READ);
	extra[KHIST_STAT_GLUE_WRITE_MISSED] = khist_glue_missed(KHIST_GLUE_WRITE);
}

static u64 khist_stat_cpu_value(enum khist_stat id, int cpu, const u64 *extra)
{
	u64 value = READ_ONCE(per_cpu_ptr(khist_stat_counters, cpu)->value[id]);

	return cpu == 0 ? value + extra[id] : value;
}

static u64 khist_stat_total(enum khist_stat id, const u64 *extra)
{
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += khist_stat_cpu_value(id, cpu, extra);
	return sum;
}

/* May sleep. */
u64 khist_stat_read(enum khist_stat id)
{
	u64 extra[KHIST_STAT_COUNT];

	khist_stat_extras(extra);
	return khist_stat_total(id, extra);
}

/*
 * Plain u64 values only: a value with special fields (a kptr is 8 bytes
 * too) must not be overwritten, nor a map whose contents the verifier may
 * have taken as constants (frozen, or read-only for programs).
 */
static bool khist_map_fits(const struct bpf_map *map)
{
	return (map->map_type == BPF_MAP_TYPE_ARRAY ||
		map->map_type == BPF_MAP_TYPE_PERCPU_ARRAY) &&
	       map->key_size == sizeof(u32) && map->value_size == sizeof(u64) &&
	       map->max_entries >= KHIST_STAT_COUNT &&
	       !khist_map_has_special_fields(map) && !READ_ONCE(map->frozen) &&
	       !(map->map_flags & BPF_F_RDONLY_PROG);
}

/*
 * Writes every statistic with the map's own ops: one total per key for an
 * array, each CPU's own share for a per-CPU array. The ops of both map types
 * neither sleep nor take locks; RCU is held as the syscall path does.
 */
static void khist_publish_locked(void)
{
	struct bpf_map *map = khist_bound_map;
	u64 extra[KHIST_STAT_COUNT];
	u32 key;
	int cpu;

	lockdep_assert_held(&khist_bind_lock);
	if (!map)
		return;
	khist_stat_inc(KHIST_STAT_PUBLISHES);
	khist_stat_extras(extra);
	rcu_read_lock();
	for (key = 0; key < KHIST_STAT_COUNT; key++) {
		if (map->map_type == BPF_MAP_TYPE_ARRAY) {
			u64 value = khist_stat_total(key, extra);

			map->ops->map_update_elem(map, &key, &value, BPF_ANY);
			continue;
		}
		for_each_possible_cpu(cpu) {
			u64 *slot = map->ops->map_lookup_percpu_elem(map, &key, cpu);

			if (slot)
				WRITE_ONCE(*slot, khist_stat_cpu_value(key, cpu, extra));
		}
	}
	rcu_read_unlock();
}

int khist_stats_bind_map(struct bpf_map *map)
{
	struct bpf_map *old;

	if (!map || !khist_map_fits(map)) {
		khist_stat_inc(KHIST_STAT_MAP_BIND_ERRORS);
		return -EINVAL;
	}
	bpf_map_inc(map);
	mutex_lock(&khist_bind_lock);
	if (khist_stats_stopping) {
		mutex_unlock(&khist_bind_lock);
		bpf_map_put(map);
		return -ESHUTDOWN;
	}
	/* The map being replaced gets a last, complete publication. */
	khist_publish_locked();
	old = khist_bound_map;
	khist_bound_map = map;
	khist_stat_inc(KHIST_STAT_MAP_BINDS);
	khist_publish_locked();
	khist_schedule_publish_locked();
	mutex_unlock(&khist_bind_lock);
	if (old)
		bpf_map_put(old);
	return 0;
}

int khist_stats_unbind_map(void)
{
	struct bpf_map *old;

	mutex_lock(&khist_bind_lock);
	khist_publish_locked();
	old = khist_bound_map;
	khist_bound_map = NULL;
	cancel_delayed_work(&khist_publish_work);
	mutex_unlock(&khist_bind_lock);
	if (!old)
		return -ENOENT;
	bpf_map_put(old);
	return 0;
}

int khist_stats_publish(void)
{
	int err = 0;

	mutex_lock(&khist_bind_lock);
	if (khist_bound_map)
		khist_publish_locked();
	else
		err = -ENOENT;
	mutex_unlock(&khist_bind_lock);
	return err;
}

u32 khist_stats_bound_map_id(void)
{
	u32 id = 0;

	mutex_lock(&khist_bind_lock);
	if (khist_bound_map)
		id = khist_bound_map->id;
	mutex_unlock(&khist_bind_lock);
	return id;
}

static void khist_publish_work_fn(struct work_struct *work)
{
	mutex_lock(&khist_bind_lock);
	khist_publish_locked();
	khist_schedule_publish_locked();
	mutex_unlock(&khist_bind_lock);
}

void khist_stats_set_interval(unsigned int interval_ms)
{
	mutex_lock(&khist_bind_lock);
	khist_publish_interval_ms = interval_ms;
	if (interval_ms)
		khist_schedule_publish_locked();
	else
		cancel_delayed_work(&khist_publish_work);
	mutex_unlock(&khist_bind_lock);
}

unsigned int khist_stats_interval(void)
{
	unsigned int interval;

	mutex_lock(&khist_bind_lock);
	interval = khist_publish_interval_ms;
	mutex_unlock(&khist_bind_lock);
	return interval;
}

int khist_stats_init(unsigned int publish_interval_ms)
{
	khist_stat_counters = alloc_percpu(struct khist_stat_counters);
	if (!khist_stat_counters)
		return -ENOMEM;
	khist_stats_set_interval(publish_interval_ms);
	return 0;
}

/* Stops the publisher, publishes a last time and drops the bound map. */
void khist_stats_exit(void)
{
	mutex_lock(&khist_bind_lock);
	khist_stats_stopping = true;
	mutex_unlock(&khist_bind_lock);
	cancel_delayed_work_sync(&khist_publish_work);
	khist_stats_unbind_map();
	free_percpu(khist_stat_counters);
	khist_stat_counters = NULL;
}
