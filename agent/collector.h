/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A collector, described once: its BPF object, attach modes and programs,
 * how its maps are sized at load, and what it exports (histograms, counters
 * and gauges read from its maps, each label decoded from a key, value or
 * slot field). The loader, the snapshot and through it every encoder work
 * from these descriptors alone; agent/collectors/<name>.c holds one each.
 */
#ifndef KHIST_COLLECTOR_H
#define KHIST_COLLECTOR_H

#include <stddef.h>
#include <linux/types.h>

#include <khist_collectors.h>
#include <khist_hist.h>	/* the skeletons' rodata holds its tables */

#define COLLECTOR_MAX_PROGRAMS	16
#define COLLECTOR_MAX_LABELS	6
#define COLLECTOR_MAX_METRICS	4

/*
 * Program and map names taken from the typed skeleton: a name that is not
 * a member of the skeleton does not compile.
 */
#define SKEL_PROG(skel, prog) \
	((const char *)(#prog + 0 * sizeof(((struct skel *)0)->progs.prog)))
#define SKEL_MAP(skel, map) \
	((const char *)(#map + 0 * sizeof(((struct skel *)0)->maps.map)))

struct collector_mode {
	enum khist_attach_mode mode;
	const char *programs[COLLECTOR_MAX_PROGRAMS];	/* NULL-terminated */
};

/* How a key, value or slot field becomes a label value. */
enum field_decoder {
	DECODE_UINT,		/* decimal */
	DECODE_SYSCALL,		/* x86-64 syscall name, else sys_N */
	DECODE_ERRNO,		/* ENOENT, else the number */
	DECODE_SIGNAL,		/* SIGUSR1, else the number */
	DECODE_STRING,		/* a fixed-size char array: comm, file name */
	DECODE_DEVICE,		/* the kernel's dev_t: major:minor */
	DECODE_DISK,		/* a disk's dev_t: its name (vda, nvme0n1), else major:minor */
	DECODE_FILE_KIND,	/* enum khist_file_kind */
	DECODE_NAMES,		/* an index into @names */
	DECODE_CGROUP,		/* a cgroup row: the cgroup's path, "other" for row 0 */
};

struct field {
	const char *label;
	enum field_decoder decoder;
	unsigned short offset, size;	/* in the key or value; size 4 or 8 for numbers */
	unsigned char in_value;		/* the field is in the value, not the key */
	const char *const *names;	/* DECODE_NAMES */
	unsigned int name_count;
};

/* A label from a member of the key or value type (the size comes from the type). */
#define KEY_FIELD(name, how, type, member) \
	{ .label = name, .decoder = how, .offset = offsetof(type, member), \
	  .size = sizeof(((type *)0)->member) }
#define VALUE_FIELD(name, how, type, member) \
	{ .label = name, .decoder = how, .offset = offsetof(type, member), \
	  .size = sizeof(((type *)0)->member), .in_value = 1 }
/* The key of an array (its index) or a histogram's slot. */
#define INDEX_FIELD(name, how) { .label = name, .decoder = how, .size = sizeof(__u32) }
#define NAMES_FIELD(name, table, count) \
	{ .label = name, .decoder = DECODE_NAMES, .size = sizeof(__u32), .names = table, \
	  .name_count = count }

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

enum collector_unit { UNIT_NONE, UNIT_NS, UNIT_BYTES };

/*
 * A histogram map NAME_hist: one per-CPU row per slot (count, sum,
 * buckets). Exported as khist_NAME_seconds / khist_NAME_bytes; optionally
 * also a counter of each slot's count and one of its sum.
 */
struct histogram_desc {
	const char *name;		/* khist hist NAME */
	const char *map;
	enum collector_unit unit;
	const char *help;
	unsigned int slots;
	struct field slot;		/* .label NULL: one unlabelled series */
	const char *count_family, *count_help;	/* e.g. khist_syscalls(_total) */
	const char *sum_family, *sum_help;
	enum collector_unit sum_unit;
	unsigned char all_slots;	/* derived counters keep slots that counted nothing */
	/*
	 * Rows on demand: @map has @rows per-CPU rows, @rows_map gives each
	 * slot its row + 1 (a u64, 0: none), and slots without one count in
	 * their row of @shared_map, shared by all CPUs. NULL: row = slot. The
	 * loader sets the BPF object's ROWS_MAP_count to @rows: histograms that
	 * share a rows map have the same @rows.
	 */
	const char *rows_map, *shared_map;
	unsigned int rows;
	/*
	 * Slots in groups (a disk's): slot = group * @slots + the slot in the
	 * group, for @groups groups. @group labels a group by its entry of
	 * @group_map (an array the BPF side fills, indexed by group); groups
	 * whose entry is all zeros have no series, and the last one, when
	 * @group_other, is labelled "other" (what did not fit).
	 */
	const char *group_map;
	unsigned int groups;
	struct field group;
	unsigned char group_other;
	/* Loaded by cgroup: @slots per cgroup row, slot = row * @slots + slot. */
	unsigned char by_cgroup;
	unsigned char only_by_cgroup;	/* exported only when loaded by cgroup */
};

/* Every slot of a histogram, over its groups. */
static inline unsigned int histogram_slots(const struct histogram_desc *desc)
{
	return desc->group_map ? desc->groups * desc->slots : desc->slots;
}

/* One u64 of a table's value, exported as a family with one series per row. */
struct table_metric {
	const char *family;		/* without _total */
	enum metric_type type;		/* METRIC_COUNTER or METRIC_GAUGE */
	const char *help;
	enum collector_unit unit;
	unsigned short offset;		/* of the u64 in the value */
	unsigned char constant_one;	/* an info-style gauge: always 1 */
	const char *column;		/* khist top's header; NULL: from the family name */
};

#define COUNTER(name, text, value_offset, header) \
	{ .family = name, .type = METRIC_COUNTER, .help = text, .offset = value_offset, \
	  .column = header }

/* Bounded exports, set per daemon (export_*) or per CLI call (--rows). */
enum export_limit { LIMIT_NONE, LIMIT_PROCESSES, LIMIT_FILES, LIMIT_SIGNALS, LIMIT_COUNT };

/*
 * Per-CPU pending slots that feed a table (khist_collectors.h): the reader
 * adds each slot's key and value to the table, reading slots and table at
 * one instant (generations, flush_hold).
 */
struct pending_desc {
	const char *map;
	const char *hold_map;
	unsigned short size;			/* of one slot */
	unsigned short in_use_offset, in_use_size;	/* nonzero: the slot holds counts */
	unsigned short key_offset, value_offset, generation_offset;
	const unsigned short *sum_offsets;	/* u64 counts in the value to add */
	unsigned int sum_count;
};

/* Sizing of a map at load. */
enum table_sizing { SIZE_FIXED, SIZE_PROCESSES, SIZE_FILES, SIZE_CPUS };

/*
 * A map read as rows (an array's entries or a hash's keys, per-CPU values
 * summed): its labels, the families its values feed, and the top-N rule.
 */
struct table_desc {
	const char *name;		/* for khist top and khist status */
	const char *map;
	enum table_sizing sizing;
	enum export_limit limit;	/* LIMIT_NONE: every row */
	unsigned char bounded;		/* a bounded table: fill level is a self-metric */
	unsigned char skip_empty;	/* rows whose first string label is empty are left out */
	unsigned char skip_zero;	/* rows whose metrics are all 0 are left out */
	struct field labels[COLLECTOR_MAX_LABELS];
	unsigned int label_count;
	struct table_metric metrics[COLLECTOR_MAX_METRICS];
	unsigned int metric_count;
	const unsigned short *weight_offsets;	/* u64s summed for the top-N rank */
	unsigned int weight_count;
	const struct pending_desc *pending;
	unsigned char only_by_cgroup;	/* exported (and sized) only when loaded by cgroup */
	/*
	 * An array broken down by cgroup: loaded by cgroup it holds these
	 * entries (those of its index labels) once per cgroup row, at index
	 * row * per_cgroup + index, and its series get a cgroup label first.
	 * 0: the same rows either way.
	 */
	unsigned int per_cgroup;
	/*
	 * With per_cgroup: the index within a cgroup's row is a row given on
	 * demand, as in a histogram's @rows_map (slot -> row + 1, a u64 array),
	 * and its index label decodes the slot; the last entry of each cgroup's
	 * row counts the slots that have no row, labelled "other".
	 */
	const char *rows_map;
};

/*
 * Kernel stacks and the time spent in them: a hash of struct
 * khist_stack_key (stack id, comm) -> struct khist_stack_value, and the
 * stack trace map the ids point into. Read whole by stacks.c (khist
 * stacks, khistd's /api/v1/stacks and /flamegraph.svg), not exported as
 * series: a fleet's stacks are too many labels.
 */
struct stack_desc {
	const char *name;		/* khist stacks NAME */
	const char *help;
	const char *map;
	const char *traces_map;		/* BPF_MAP_TYPE_STACK_TRACE */
	const char *drops_map;		/* u64 per enum khist_stack_drop, per CPU */
};

struct collector {
	const char *name;
	const char *description;
	const void *(*elf_bytes)(size_t *size);
	const struct collector_mode *modes;	/* best first: the loader takes the first that works */
	unsigned int mode_count;
	const struct histogram_desc *histograms;
	unsigned int histogram_count;
	const struct table_desc *tables;
	unsigned int table_count;
	const struct stack_desc *stacks;
	unsigned int stack_count;
	/* What it counts runs on no task of its own (I/O completions): filters are refused. */
	unsigned char no_task_filters;
	/*
	 * Loaded only when named (khist load NAME, enabled = true in khistd's
	 * configuration): it costs on every context switch, for a tool one
	 * reaches for rather than a fleet's default.
	 */
	unsigned char optional;
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The parts of a descriptor, from arrays: .modes and .mode_count, and so on. */
#define COLLECTOR_MODES(array) .modes = array, .mode_count = ARRAY_SIZE(array)
#define COLLECTOR_HISTOGRAMS(array) .histograms = array, .histogram_count = ARRAY_SIZE(array)
#define COLLECTOR_TABLES(array) .tables = array, .table_count = ARRAY_SIZE(array)
#define COLLECTOR_STACKS(array) .stacks = array, .stack_count = ARRAY_SIZE(array)

/* Maps of bpf/khist_cgroup.bpf.h, in collectors that can break down by cgroup. */
#define CGROUP_ROW_MAP		"cgroup_row_of"
#define CGROUP_IDS_MAP		"cgroup_ids"
#define CGROUP_USED_MAP		"cgroup_rows_used"
#define CGROUP_INFO_MAP		"cgroup_rows_info"
/* Attached when loaded by cgroup. */
#define CGROUP_RMDIR_PROG	"khist_cgroup_rmdir"
#define CGROUP_ATTACH_PROG	"khist_cgroup_attach"

/*
 * Pending slots of @type (khist_collectors.h: a generation, a key and a
 * value), in use when @in_use is nonzero, whose u64s at @sums add up.
 */
#define PENDING_SLOTS(slots_map, hold, type, in_use, key_member, value_member, sums) {	\
	.map = slots_map, .hold_map = hold, .size = sizeof(type),			\
	.in_use_offset = offsetof(type, in_use),					\
	.in_use_size = sizeof(((type *)0)->in_use),					\
	.key_offset = offsetof(type, key_member),					\
	.value_offset = offsetof(type, value_member),					\
	.generation_offset = offsetof(type, generation),				\
	.sum_offsets = sums, .sum_count = ARRAY_SIZE(sums),				\
}

/* Every collector, in a stable order (agent/collectors/, generated list). */
extern const struct collector *const collectors[];
extern const unsigned int collector_count;

const struct collector *collector_find(const char *name);
/* The histogram NAME of any collector, and its collector. */
const struct histogram_desc *collector_find_histogram(const char *name,
						       const struct collector **owner);
/* The stack set NAME of any collector, and its collector. */
const struct stack_desc *collector_find_stacks(const char *name, const struct collector **owner);
const char *collector_mode_name(unsigned int mode);
/* The enum value of a mode name, or -1. */
int collector_mode_by_name(const char *name);
/* A field of @key / @value decoded as a label value into @buf. */
const char *collector_decode(const struct field *field, const void *key, const void *value,
			     char *buf, size_t size);
/* A slot number decoded by a histogram's slot field. */
const char *collector_decode_slot(const struct field *field, __u32 slot, char *buf, size_t size);
/* The syscall number of @name, or -1 (for --slot and tests). */
int collector_syscall_number(const char *name);
const char *collector_unit_name(enum collector_unit unit);	/* "seconds", "bytes", NULL */

#endif
