/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One read of the pins of every loaded collector (and of khist.ko's state)
 * into memory: metric families of histograms, counters and gauges, each a
 * list of series with their labels, plus each collector's state. Taken once
 * per scrape or CLI call; every encoder renders a snapshot and nothing else.
 */
#ifndef KHIST_SNAPSHOT_H
#define KHIST_SNAPSHOT_H

#include <stdbool.h>
#include <time.h>
#include <linux/types.h>

#include <uapi/khist.h>

#include "buckets.h"
#include "cgroup.h"
#include "collector.h"
#include "error.h"
#include "kmod_client.h"
#include "reader.h"

struct snapshot_label {
	const char *name;
	const char *value;
};

struct snapshot_series {
	const struct snapshot_label *labels;
	unsigned int label_count;
	__u64 value;			/* counters and gauges, in 10^-decimals units */
	const __u64 *buckets;		/* histograms: each bucket's own count */
	__u64 count, sum;		/* histograms: count (= the buckets' sum) and sum */
};

struct snapshot_family {
	const char *name;		/* counters without _total */
	enum metric_type type;
	const char *help;
	const char *unit;		/* "seconds", "bytes" or NULL */
	unsigned int decimals;		/* values (and bucket bounds) are 10^-decimals of unit */
	const struct collector *collector;	/* NULL: khist's own */
	const struct histogram_desc *histogram;	/* the histogram it is or derives from */
	const struct table_desc *table;		/* the table it comes from */
	const struct table_metric *metric;
	struct bucket_layout buckets;	/* histograms */
	enum khist_attach_mode mode;
	struct snapshot_series *series;
	unsigned int series_count;
};

struct snapshot_program {
	const char *name;
	__u32 id;
	__u64 run_count, run_time_ns;
	bool has_runs;			/* the program itself could be read (CAP_SYS_ADMIN) */
	int error;			/* the link could not be read: -errno */
};

struct snapshot_fill {
	const struct table_desc *table;
	unsigned int used, capacity;
};

struct snapshot_collector {
	const struct collector *collector;
	bool loaded;			/* known for every collector, read or not */
	struct error_context error;	/* loaded but unreadable: why */
	struct khist_meta meta;
	struct snapshot_program *programs;
	unsigned int program_count;
	struct snapshot_fill *fills;
	unsigned int fill_count;
	unsigned int read_attempts;	/* most reads a table with pending slots took */
	/*
	 * Loaded by cgroup, read once: the label of each cgroup row, NULL for
	 * rows without series (never given, or removed past the grace period).
	 */
	const char **cgroup_labels;
	unsigned int cgroup_row_count;
	bool cgroup_rows_read;
	bool cgroup_merge;		/* rows that share a label: their series add up */
	/* The labels of the slot groups of group_labels_map, read once for its histograms. */
	const char *group_labels_map;
	const char **group_labels;
};

struct snapshot_options {
	const char *pin_root;
	const char *only_collector;	/* NULL: every collector */
	/* Rows exported of tables with that limit: 0 none, UINT_MAX all. */
	unsigned int limits[LIMIT_COUNT];
	bool every_slot;		/* labelled histograms keep slots that counted nothing */
	bool self;			/* khist's own families: loaded, modes, programs, fills */
	bool module;			/* ask khist.ko (netlink) for its state */
	const char *kmod_stats_pin;	/* read the module statistics published there */
	/* A removed cgroup's series stay this long (SNAPSHOT_CGROUP_GRACE_NS by default). */
	__u64 cgroup_grace_ns;
};

#define SNAPSHOT_CGROUP_GRACE_NS (300 * 1000000000ULL)	/* Prometheus' staleness period */

struct snapshot_arena;

struct snapshot {
	struct timespec started;	/* CLOCK_MONOTONIC */
	const char *pin_root;
	struct snapshot_collector *collectors;	/* collector_count, in order */
	struct snapshot_family *families;
	unsigned int family_count, family_capacity;
	bool module_present;
	struct kmod_info module;
	struct snapshot_arena *arena;
	void **buffers;			/* map reads the series point into */
	unsigned int buffer_count, buffer_capacity;
	bool failed;			/* out of memory: incomplete */
	struct cgroup_names cgroups;	/* read when a series by cgroup needs them */
	bool cgroups_loaded;
};

void snapshot_default_options(struct snapshot_options *options, const char *pin_root);
/* 0, or -errno with @error set when no snapshot could be made at all. */
int snapshot_take(struct snapshot *snapshot, const struct snapshot_options *options,
		  struct error_context *error);
void snapshot_free(struct snapshot *snapshot);
const struct snapshot_family *snapshot_find(const struct snapshot *snapshot, const char *name);
/* The family of a histogram (not one derived from it). */
const struct snapshot_family *snapshot_histogram(const struct snapshot *snapshot,
						 const struct histogram_desc *histogram);
const struct snapshot_collector *snapshot_collector(const struct snapshot *snapshot,
						    const struct collector *collector);
/* 0 when @a and @b have the same labels (names and values, in order), else their order. */
int snapshot_compare_labels(const struct snapshot_series *a, const struct snapshot_series *b);
/* The value of label @name in @series, or NULL. */
const char *snapshot_label(const struct snapshot_series *series, const char *name);

#endif
