// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <khist_hist.h>

#include "kmod_stats.h"
#include "loader.h"
#include "reader.h"
#include "snapshot.h"

/* Labels, series and strings come from chunks freed together with the snapshot. */
struct snapshot_arena {
	struct snapshot_arena *next;
	size_t used, size;
	char data[];
};

#define ARENA_CHUNK (256 * 1024)

static void *arena_alloc(struct snapshot *snapshot, size_t size)
{
	struct snapshot_arena *chunk = snapshot->arena;
	void *at;

	size = (size + 15) & ~(size_t)15;
	if (!chunk || chunk->used + size > chunk->size) {
		size_t room = size > ARENA_CHUNK ? size : ARENA_CHUNK;

		chunk = malloc(sizeof(*chunk) + room);
		if (!chunk) {
			snapshot->failed = true;
			return NULL;
		}
		chunk->next = snapshot->arena;
		chunk->used = 0;
		chunk->size = room;
		snapshot->arena = chunk;
	}
	at = chunk->data + chunk->used;
	chunk->used += size;
	return at;
}

/* @text, of at most @max bytes (a fixed-size field need not hold a NUL). */
static const char *arena_string_n(struct snapshot *snapshot, const char *text, size_t max)
{
	size_t len = strnlen(text, max);
	char *copy = arena_alloc(snapshot, len + 1);

	if (!copy)
		return "";
	memcpy(copy, text, len);
	copy[len] = '\0';
	return copy;
}

static const char *arena_string(struct snapshot *snapshot, const char *text)
{
	size_t len = strlen(text) + 1;
	char *copy = arena_alloc(snapshot, len);

	if (!copy)
		return "";
	memcpy(copy, text, len);
	return copy;
}

static struct snapshot_label *labels_one(struct snapshot *snapshot, const char *name,
					 const char *value)
{
	struct snapshot_label *label = arena_alloc(snapshot, sizeof(*label));

	if (label)
		*label = (struct snapshot_label){ name, arena_string(snapshot, value) };
	return label;
}

/* Keeps a map read alive for the series that point into it. */
static bool keep_buffer(struct snapshot *snapshot, void *buffer)
{
	if (snapshot->buffer_count == snapshot->buffer_capacity) {
		unsigned int capacity = snapshot->buffer_capacity ? snapshot->buffer_capacity * 2 : 16;
		void **buffers = realloc(snapshot->buffers, capacity * sizeof(*buffers));

		if (!buffers) {
			free(buffer);
			snapshot->failed = true;
			return false;
		}
		snapshot->buffers = buffers;
		snapshot->buffer_capacity = capacity;
	}
	snapshot->buffers[snapshot->buffer_count++] = buffer;
	return true;
}

static struct snapshot_family *add_family(struct snapshot *snapshot, const char *name,
					  enum metric_type type, const char *help,
					  unsigned int series_capacity)
{
	struct snapshot_family *family;

	if (snapshot->family_count == snapshot->family_capacity) {
		unsigned int capacity = snapshot->family_capacity ? snapshot->family_capacity * 2 : 64;
		struct snapshot_family *families = realloc(snapshot->families,
							   capacity * sizeof(*families));

		if (!families) {
			snapshot->failed = true;
			return NULL;
		}
		snapshot->families = families;
		snapshot->family_capacity = capacity;
	}
	family = &snapshot->families[snapshot->family_count];
	memset(family, 0, sizeof(*family));
	family->name = name;
	family->type = type;
	family->help = help;
	family->series = arena_alloc(snapshot, (series_capacity + 1) * sizeof(*family->series));
	if (!family->series)
		return NULL;
	snapshot->family_count++;
	return family;
}

static void add_value(struct snapshot_family *family, const struct snapshot_label *labels,
		      unsigned int label_count, __u64 value)
{
	family->series[family->series_count++] = (struct snapshot_series){
		.labels = labels, .label_count = label_count, .value = value,
	};
}

static unsigned int unit_decimals(enum collector_unit unit)
{
	return unit == UNIT_NS ? 9 : 0;
}

/*
 * A histogram with rows on demand, as if it had a row per slot: each slot's
 * shared row plus the per-CPU row it was given, if any. Both only grow, so
 * reading one before the other never shows a count going down.
 */
static int read_rows_on_demand(const char *pin_root, const char *collector,
			       const struct histogram_desc *desc, unsigned int words,
			       struct reader_rows *rows)
{
	struct reader_rows percpu, assigned, shared;
	size_t row_size = words * sizeof(__u64);
	int err;

	memset(rows, 0, sizeof(*rows));
	err = reader_rows(pin_root, collector, desc->rows_map, &assigned, NULL);
	if (err)
		return err;
	err = reader_rows(pin_root, collector, desc->map, &percpu, NULL);
	if (err)
		goto out_assigned;
	err = reader_rows(pin_root, collector, desc->shared_map, &shared, NULL);
	if (err)
		goto out_percpu;
	err = -EPROTO;
	if (percpu.value_size != row_size || shared.value_size != row_size ||
	    assigned.value_size != sizeof(__u64) || shared.count != assigned.count)
		goto out_shared;
	/* Arrays: keys are 0..count-1, in order. */
	*rows = shared;
	memset(&shared, 0, sizeof(shared));
	for (unsigned int slot = 0; slot < rows->count; slot++) {
		__u64 row = reader_value_u64(&assigned, slot, 0);
		__u64 *to = (__u64 *)rows->values + (size_t)slot * words;
		const __u64 *from;

		if (!row || row > percpu.count)
			continue;
		from = (const __u64 *)percpu.values + (size_t)(row - 1) * words;
		for (unsigned int w = 0; w < words; w++)
			to[w] += from[w];
	}
	err = 0;
out_shared:
	reader_rows_free(&shared);
out_percpu:
	reader_rows_free(&percpu);
out_assigned:
	reader_rows_free(&assigned);
	return err;
}

/*
 * The labels of a collector's cgroup rows: a cgroup's path below the cgroup2
 * mount, "other" for row 0 (every cgroup past the table's rows). A removed
 * cgroup keeps its path, as the kernel printed it at rmdir, for the grace
 * period, and for as long after as rows of the same path follow it (each
 * given before the grace period of the one before ran out): a service
 * restarted in a new cgroup of the same path stays one series, its counts
 * those of all its rows, and never goes down while it is exported.
 */
static int by_label_then_row(const void *a, const void *b, void *context)
{
	const char *const *labels = context;
	unsigned int x = *(const unsigned int *)a, y = *(const unsigned int *)b;
	int order = strcmp(labels[x], labels[y]);

	return order ? order : x < y ? -1 : x > y;
}

static bool cgroup_rows_of(struct snapshot *snapshot, const struct snapshot_options *options,
			   struct snapshot_collector *state)
{
	static const struct khist_cgroup_row_info never_removed;
	struct reader_rows ids, infos = {};
	__u64 now = (__u64)snapshot->started.tv_sec * 1000000000ULL + snapshot->started.tv_nsec;
	__u64 grace = options->cgroup_grace_ns;
	unsigned int count, labelled = 0, *order = NULL;
	bool *live = NULL, *removed = NULL;
	const char **labels;
	char buf[64];

	if (state->cgroup_rows_read)
		return state->cgroup_labels;
	state->cgroup_rows_read = true;
	if (reader_rows(options->pin_root, state->collector->name, CGROUP_IDS_MAP, &ids, NULL))
		return false;
	/* Pins of a load older than rmdir records have none: nothing was removed then. */
	if (reader_rows(options->pin_root, state->collector->name, CGROUP_INFO_MAP, &infos, NULL))
		memset(&infos, 0, sizeof(infos));
	count = ids.count;
	if (ids.value_size != sizeof(__u64) ||
	    (infos.values && infos.value_size != sizeof(struct khist_cgroup_row_info)))
		goto out;
	labels = arena_alloc(snapshot, (count + 1) * sizeof(*labels));
	live = calloc(count + 1, sizeof(*live));
	removed = calloc(count + 1, sizeof(*removed));
	order = calloc(count + 1, sizeof(*order));
	if (!labels || !live || !removed || !order)
		goto out;
	if (!snapshot->cgroups_loaded) {
		snapshot->cgroups_loaded = true;
		cgroup_names_load(&snapshot->cgroups, NULL);
	}
#define INFO(row) ((row) < infos.count ? \
	&((const struct khist_cgroup_row_info *)infos.values)[row] : &never_removed)
	for (unsigned int row = 0; row < count; row++) {
		__u64 id = reader_value_u64(&ids, row, 0);
		const char *path = row ? cgroup_names_find(&snapshot->cgroups, id) : "other";
		const struct khist_cgroup_row_info *info = INFO(row);

		labels[row] = NULL;
		if (row && !id)
			continue;	/* not given (yet) */
		live[row] = true;
		if (!path && info->removed_ns) {
			/* Removed: its own grace period, for now. */
			live[row] = now < info->removed_ns + grace;
			removed[row] = true;
			path = info->path[0] ? info->path : NULL;
		}
		if (!path) {
			/* Gone with no record of it (loaded before rmdir was watched). */
			snprintf(buf, sizeof(buf), "removed:%llu", (unsigned long long)id);
			path = buf;
		}
		labels[row] = arena_string_n(snapshot, path, path == info->path ?
					     sizeof(info->path) : strlen(path));
		order[labelled++] = row;
	}
	/*
	 * Rows of one label next to each other, in the order they were given:
	 * a removed row lives on in a later one of its label that followed it
	 * in time, and rows of one label that both live make one series.
	 */
	qsort_r(order, labelled, sizeof(*order), by_label_then_row, labels);
	for (unsigned int first = 0, end; first < labelled; first = end) {
		unsigned int alive = 0;

		for (end = first + 1; end < labelled && !strcmp(labels[order[end]], labels[order[first]]);
		     end++)
			;
		for (unsigned int i = end; i-- > first;) {
			unsigned int row = order[i];

			for (unsigned int later = i + 1; later < end && removed[row] && !live[row]; later++)
				live[row] = live[order[later]] &&
					    INFO(order[later])->assigned_ns < INFO(row)->removed_ns + grace;
			alive += live[row];
		}
		state->cgroup_merge |= alive > 1;
	}
#undef INFO
	for (unsigned int row = 0; row < count; row++)
		if (!live[row])
			labels[row] = NULL;
	state->cgroup_labels = labels;
	state->cgroup_row_count = count;
out:
	free(live);
	free(removed);
	free(order);
	reader_rows_free(&ids);
	reader_rows_free(&infos);
	return state->cgroup_labels;
}

/* The label of cgroup row @row, or NULL: the row has no series. */
static const char *cgroup_row_label(const struct snapshot_collector *state, unsigned int row)
{
	return row < state->cgroup_row_count ? state->cgroup_labels[row] : NULL;
}

int snapshot_compare_labels(const struct snapshot_series *x, const struct snapshot_series *y)
{
	if (x->label_count != y->label_count)
		return x->label_count < y->label_count ? -1 : 1;
	for (unsigned int l = 0; l < x->label_count; l++) {
		int order = strcmp(x->labels[l].name, y->labels[l].name);

		if (!order)
			order = strcmp(x->labels[l].value, y->labels[l].value);
		if (order)
			return order;
	}
	return 0;
}

/* Series indices by labels, then by index: the first of equal ones stays first. */
static int by_labels(const void *a, const void *b, void *context)
{
	const struct snapshot_series *series = context;
	unsigned int x = *(const unsigned int *)a, y = *(const unsigned int *)b;
	int order = snapshot_compare_labels(&series[x], &series[y]);

	return order ? order : x < y ? -1 : 1;
}

/*
 * Series of @family with the same labels (rows of one cgroup path) become
 * one, at the place of the first, holding the sum of their values.
 */
static void merge_same_series(struct snapshot *snapshot, struct snapshot_family *family,
			      unsigned int buckets)
{
	unsigned int *order = malloc((family->series_count + 1) * sizeof(*order)), kept = 0;
	bool *gone = calloc(family->series_count + 1, sizeof(*gone));

	if (!order || !gone) {
		snapshot->failed = true;
		goto out;
	}
	for (unsigned int i = 0; i < family->series_count; i++)
		order[i] = i;
	qsort_r(order, family->series_count, sizeof(*order), by_labels, family->series);
	for (unsigned int i = 1, first = 0; i < family->series_count; i++) {
		struct snapshot_series *into = &family->series[order[first]];
		const struct snapshot_series *from = &family->series[order[i]];

		if (snapshot_compare_labels(into, from)) {
			first = i;
			continue;
		}
		into->value += from->value;
		into->count += from->count;
		into->sum += from->sum;
		if (buckets) {
			__u64 *sum = arena_alloc(snapshot, buckets * sizeof(*sum));

			if (!sum)
				break;
			for (unsigned int b = 0; b < buckets; b++)
				sum[b] = into->buckets[b] + from->buckets[b];
			into->buckets = sum;
		}
		gone[order[i]] = true;
	}
	for (unsigned int i = 0; i < family->series_count; i++)
		if (!gone[i])
			family->series[kept++] = family->series[i];
	family->series_count = kept;
out:
	free(order);
	free(gone);
}

/*
 * The label of each of a histogram's slot groups, from its group map: NULL
 * for a group that holds nothing yet. NULL when the map cannot be read.
 * Histograms that share the map (block's three) share one read of it.
 */
static const char **group_labels_of(struct snapshot *snapshot,
				    const struct snapshot_options *options,
				    struct snapshot_collector *state,
				    const struct histogram_desc *desc)
{
	const char **labels;
	struct reader_rows entries;
	char buf[PATH_MAX];

	if (state->group_labels && !strcmp(state->group_labels_map, desc->group_map))
		return state->group_labels;
	labels = arena_alloc(snapshot, (desc->groups + 1) * sizeof(*labels));
	if (!labels || reader_rows(options->pin_root, state->collector->name, desc->group_map,
				   &entries, NULL))
		return NULL;
	for (unsigned int group = 0; group < desc->groups; group++) {
		const char *entry = (const char *)entries.values + (size_t)group * entries.value_size;
		bool empty = true;

		labels[group] = NULL;
		if (desc->group_other && group == desc->groups - 1) {
			labels[group] = "other";
			continue;
		}
		if (group >= entries.count)
			continue;
		for (unsigned int b = 0; b < entries.value_size; b++)
			empty &= !entry[b];
		if (!empty)
			labels[group] = arena_string(snapshot, collector_decode(
				&desc->group, NULL, entry, buf, sizeof(buf)));
	}
	reader_rows_free(&entries);
	state->group_labels_map = desc->group_map;
	state->group_labels = labels;
	return labels;
}

/* A histogram's family and the counters derived from its counts and sums. */
static void take_histogram(struct snapshot *snapshot, const struct snapshot_options *options,
			   struct snapshot_collector *state, const struct histogram_desc *desc)
{
	const struct collector *collector = state->collector;
	struct snapshot_family *family, *count_family = NULL, *sum_family = NULL;
	struct snapshot_label **slot_labels;
	const char **group_labels = NULL;
	unsigned int *label_counts;
	bool by_cgroup = desc->by_cgroup && state->meta.by_cgroup;
	struct reader_rows rows;
	struct bucket_layout layout;
	unsigned int family_index;
	const char *unit = collector_unit_name(desc->unit);
	unsigned int buckets, words;
	char name[96], buf[64];

	if (buckets_layout(&layout, state->meta.layout, state->meta.precision, desc->unit) ||
	    (desc->only_by_cgroup && !state->meta.by_cgroup))
		return;
	buckets = layout.count;
	words = KHIST_HIST_ROW_WORDS(buckets);
	if (desc->rows_map ? read_rows_on_demand(options->pin_root, collector->name, desc, words,
						 &rows) :
	    reader_rows(options->pin_root, collector->name, desc->map, &rows, NULL))
		return;
	if ((by_cgroup && !cgroup_rows_of(snapshot, options, state)) ||
	    (desc->group_map && !(group_labels = group_labels_of(snapshot, options, state, desc)))) {
		reader_rows_free(&rows);
		return;
	}
	if (rows.value_size != words * sizeof(__u64) || !keep_buffer(snapshot, rows.values)) {
		if (rows.value_size != words * sizeof(__u64))
			free(rows.values);
		free(rows.keys);
		return;
	}
	snprintf(name, sizeof(name), "khist_%s_%s", desc->name, unit ? unit : "values");
	family = add_family(snapshot, arena_string(snapshot, name), METRIC_HISTOGRAM, desc->help,
			    rows.count);
	family_index = snapshot->family_count - 1;
	slot_labels = arena_alloc(snapshot, (rows.count + 1) * sizeof(*slot_labels));
	label_counts = arena_alloc(snapshot, (rows.count + 1) * sizeof(*label_counts));
	if (!family || !slot_labels || !label_counts) {
		free(rows.keys);
		return;
	}
	family->unit = unit;
	family->decimals = unit_decimals(desc->unit);
	family->collector = collector;
	family->histogram = desc;
	family->buckets = layout;
	family->mode = state->meta.attach_mode;
	for (unsigned int i = 0; i < rows.count; i++) {
		const __u64 *row = (const __u64 *)rows.values + (size_t)i * words;
		__u32 slot = ((const __u32 *)rows.keys)[i];
		struct snapshot_series series = { .buckets = row + KHIST_HIST_ROW_BUCKETS,
						  .sum = row[KHIST_HIST_ROW_SUM] };

		/* The buckets' sum, not the row's count: +Inf and _count always agree. */
		for (unsigned int b = 0; b < buckets; b++)
			series.count += series.buckets[b];
		slot_labels[i] = NULL;
		label_counts[i] = 0;
		if (by_cgroup) {
			/* By cgroup: slot = row * slots + the slot within the row. */
			struct snapshot_label *labels;
			unsigned int inner = slot % desc->slots;
			const char *cgroup = cgroup_row_label(state, slot / desc->slots);

			/* A row no cgroup was given (yet), or one removed long ago: not a series. */
			if (!cgroup)
				continue;
			labels = arena_alloc(snapshot, 2 * sizeof(*labels));
			if (!labels)
				break;
			labels[0] = (struct snapshot_label){ "cgroup", cgroup };
			label_counts[i] = 1;
			if (desc->slot.label) {
				labels[1] = (struct snapshot_label){ desc->slot.label, arena_string(
					snapshot, collector_decode_slot(&desc->slot, inner, buf,
									sizeof(buf))) };
				label_counts[i] = 2;
			}
			slot_labels[i] = labels;
		} else if (desc->group_map) {
			struct snapshot_label *labels;
			const char *group = slot / desc->slots < desc->groups ?
					    group_labels[slot / desc->slots] : NULL;

			if (!group)
				continue;
			labels = arena_alloc(snapshot, 2 * sizeof(*labels));
			if (!labels)
				break;
			labels[0] = (struct snapshot_label){ desc->group.label, group };
			labels[1] = (struct snapshot_label){ desc->slot.label, arena_string(
				snapshot, collector_decode_slot(&desc->slot, slot % desc->slots, buf,
								sizeof(buf))) };
			slot_labels[i] = labels;
			label_counts[i] = 2;
		} else if (desc->slot.label) {
			slot_labels[i] = labels_one(snapshot, desc->slot.label,
						    collector_decode_slot(&desc->slot, slot, buf,
									  sizeof(buf)));
			label_counts[i] = 1;
		}
		series.labels = slot_labels[i];
		series.label_count = label_counts[i];
		if (label_counts[i] && !series.count && !options->every_slot)
			continue;
		family->series[family->series_count++] = series;
	}
	{
		unsigned int count_index = 0, sum_index = 0;

		if (desc->count_family && add_family(snapshot, desc->count_family, METRIC_COUNTER,
						     desc->count_help, rows.count))
			count_index = snapshot->family_count - 1;
		if (desc->sum_family && add_family(snapshot, desc->sum_family, METRIC_COUNTER,
						   desc->sum_help, rows.count))
			sum_index = snapshot->family_count - 1;
		/* Adding families may move them: take the pointers once all are there. */
		count_family = count_index ? &snapshot->families[count_index] : NULL;
		sum_family = sum_index ? &snapshot->families[sum_index] : NULL;
	}
	for (unsigned int i = 0; i < rows.count && (count_family || sum_family); i++) {
		const __u64 *row = (const __u64 *)rows.values + (size_t)i * words;
		unsigned int label_count = label_counts[i];
		__u64 count = 0;

		for (unsigned int b = 0; b < buckets; b++)
			count += row[KHIST_HIST_ROW_BUCKETS + b];
		/* By cgroup, rows nobody was given would be series of zeros (or none at all). */
		if ((!count && (!desc->all_slots || by_cgroup) && label_count) ||
		    ((by_cgroup || desc->group_map) && !slot_labels[i]))
			continue;
		if (count_family)
			add_value(count_family, slot_labels[i], label_count, count);
		if (sum_family)
			add_value(sum_family, slot_labels[i], label_count, row[KHIST_HIST_ROW_SUM]);
	}
	if (count_family) {
		count_family->collector = collector;
		count_family->histogram = desc;
	}
	if (sum_family) {
		sum_family->collector = collector;
		sum_family->histogram = desc;
		sum_family->unit = collector_unit_name(desc->sum_unit);
		sum_family->decimals = unit_decimals(desc->sum_unit);
	}
	/*
	 * Rows of one cgroup path, or groups naming the same disk (one that came
	 * back with another queue id): one series each.
	 */
	if ((by_cgroup && state->cgroup_merge) || desc->group_map) {
		/* @family may have moved as the derived families were added. */
		family = &snapshot->families[family_index];
		merge_same_series(snapshot, family, buckets);
		if (count_family)
			merge_same_series(snapshot, count_family, 0);
		if (sum_family)
			merge_same_series(snapshot, sum_family, 0);
	}
	free(rows.keys);
}

struct ranked_row {
	unsigned int index;
	__u64 weight;
};

static int by_weight(const void *a, const void *b)
{
	const struct ranked_row *x = a, *y = b;

	return x->weight < y->weight ? 1 : x->weight > y->weight ? -1 :
	       x->index < y->index ? -1 : x->index > y->index;
}

static int by_key(const void *a, const void *b, void *context)
{
	const struct reader_rows *rows = context;
	const struct ranked_row *x = a, *y = b;

	return memcmp((const char *)rows->keys + (size_t)x->index * rows->key_size,
		      (const char *)rows->keys + (size_t)y->index * rows->key_size, rows->key_size);
}

static bool row_wanted(const struct table_desc *desc, const struct reader_rows *rows, unsigned int i)
{
	const char *value = (const char *)rows->values + (size_t)i * rows->value_size;

	if (desc->skip_empty)
		for (unsigned int l = 0; l < desc->label_count; l++)
			if (desc->labels[l].decoder == DECODE_STRING) {
				const char *at = (const char *)(desc->labels[l].in_value ? value :
					(const char *)rows->keys + (size_t)i * rows->key_size) +
					desc->labels[l].offset;

				if (!at[0])
					return false;
				break;
			}
	if (desc->skip_zero) {
		for (unsigned int m = 0; m < desc->metric_count; m++)
			if (reader_value_u64(rows, i, desc->metrics[m].offset))
				return true;
		return false;
	}
	return true;
}

/* The rows to export: the @limit heaviest, in key order for a stable page. */
static struct ranked_row *pick_rows(const struct table_desc *desc, const struct reader_rows *rows,
				    unsigned int limit, unsigned int *count)
{
	struct ranked_row *picked = malloc((rows->count + 1) * sizeof(*picked));

	*count = 0;
	if (!picked)
		return NULL;
	for (unsigned int i = 0; i < rows->count; i++) {
		__u64 weight = 0;

		if (!row_wanted(desc, rows, i))
			continue;
		for (unsigned int w = 0; w < desc->weight_count; w++)
			weight += reader_value_u64(rows, i, desc->weight_offsets[w]);
		picked[(*count)++] = (struct ranked_row){ i, weight };
	}
	if (desc->limit != LIMIT_NONE && *count > limit) {
		qsort(picked, *count, sizeof(*picked), by_weight);
		*count = limit;
	}
	qsort_r(picked, *count, sizeof(*picked), by_key, (void *)rows);
	return picked;
}

/*
 * The slot each on-demand row of @desc was given (UINT_MAX: none yet), for
 * the per_cgroup - 1 rows; NULL when the rows cannot be read.
 */
static unsigned int *rows_on_demand(const char *pin_root, const char *collector,
				    const struct table_desc *desc)
{
	unsigned int rows = desc->per_cgroup - 1, *slot_of_row;
	struct reader_rows assigned;

	if (reader_rows(pin_root, collector, desc->rows_map, &assigned, NULL))
		return NULL;
	slot_of_row = assigned.value_size == sizeof(__u64) ? malloc(rows * sizeof(*slot_of_row)) :
							     NULL;
	for (unsigned int r = 0; slot_of_row && r < rows; r++)
		slot_of_row[r] = UINT_MAX;
	/* Arrays: keys are 0..count-1, in order. */
	for (unsigned int slot = 0; slot_of_row && slot < assigned.count; slot++) {
		__u64 row = reader_value_u64(&assigned, slot, 0);

		if (row && row <= rows)
			slot_of_row[row - 1] = slot;
	}
	reader_rows_free(&assigned);
	return slot_of_row;
}

static void take_table(struct snapshot *snapshot, const struct snapshot_options *options,
		       struct snapshot_collector *state, const struct table_desc *desc)
{
	const struct collector *collector = state->collector;
	unsigned int limit = desc->limit == LIMIT_NONE ? UINT_MAX : options->limits[desc->limit];
	unsigned int count, first_family;
	struct ranked_row *picked;
	struct reader_rows rows;
	char buf[KHIST_FILE_NAME_LEN + 32];
	bool cgroup_labelled = false;
	unsigned int by_cgroup, *slot_of_row = NULL;
	int err;

	if (desc->only_by_cgroup && !state->meta.by_cgroup)
		return;
	if (!limit) {
		if (desc->bounded && state->fills) {
			struct snapshot_fill *fill = &state->fills[state->fill_count];

			if (!reader_fill(options->pin_root, collector->name, desc->map, &fill->used,
					 &fill->capacity, NULL)) {
				fill->table = desc;
				state->fill_count++;
			}
		}
		return;
	}
	/* Broken down by cgroup: a cgroup label, then the labels of the index within its row. */
	by_cgroup = desc->per_cgroup && state->meta.by_cgroup;
	/* Before the counts: an entry whose row was given after this shows next time. */
	if (by_cgroup && desc->rows_map) {
		slot_of_row = rows_on_demand(options->pin_root, collector->name, desc);
		if (!slot_of_row)
			return;
	}
	err = desc->pending ? reader_rows_pending(options->pin_root, collector->name, desc->map,
						  desc->pending, &rows, NULL) :
			      reader_rows(options->pin_root, collector->name, desc->map, &rows, NULL);
	if (err) {
		free(slot_of_row);
		return;
	}
	if (rows.attempts > state->read_attempts)
		state->read_attempts = rows.attempts;
	if (desc->bounded && state->fills)
		/* In the table itself: the rows before the slots were added. */
		state->fills[state->fill_count++] = (struct snapshot_fill){ desc, rows.table_rows,
									   rows.max_entries };
	for (unsigned int l = 0; l < desc->label_count + by_cgroup; l++)
		cgroup_labelled |= l == desc->label_count || desc->labels[l].decoder == DECODE_CGROUP;
	if (cgroup_labelled && !cgroup_rows_of(snapshot, options, state)) {
		reader_rows_free(&rows);
		free(slot_of_row);
		return;
	}
	picked = pick_rows(desc, &rows, limit, &count);
	first_family = snapshot->family_count;
	for (unsigned int m = 0; picked && m < desc->metric_count; m++) {
		const struct table_metric *metric = &desc->metrics[m];
		struct snapshot_family *family = add_family(snapshot, metric->family, metric->type,
							    metric->help, count);

		if (!family)
			break;
		family->collector = collector;
		family->table = desc;
		family->metric = metric;
		family->unit = collector_unit_name(metric->unit);
		family->decimals = unit_decimals(metric->unit);
		family->mode = state->meta.attach_mode;
	}
	/* One label array per row, shared by the families of the table. */
	for (unsigned int r = 0; picked && r < count && snapshot->family_count == first_family +
	     desc->metric_count; r++) {
		unsigned int i = picked[r].index;
		const char *key = (const char *)rows.keys + (size_t)i * rows.key_size;
		const char *value = (const char *)rows.values + (size_t)i * rows.value_size;
		unsigned int label_count = desc->label_count + by_cgroup;
		struct snapshot_label *labels = NULL, *own;
		bool unlabelled = false, other = false;
		__u32 index_in_row;

		if (by_cgroup) {
			__u32 index;
			const char *cgroup;

			memcpy(&index, key, sizeof(index));
			index_in_row = index % desc->per_cgroup;
			if (slot_of_row) {
				other = index_in_row == desc->per_cgroup - 1;
				if (!other && slot_of_row[index_in_row] == UINT_MAX)
					continue;	/* a row not given yet */
				if (!other)
					index_in_row = slot_of_row[index_in_row];
			}
			key = (const char *)&index_in_row;
			/* A row no cgroup was given (yet), or one removed long ago: not a series. */
			cgroup = cgroup_row_label(state, index / desc->per_cgroup);
			if (!cgroup)
				continue;
			labels = arena_alloc(snapshot, label_count * sizeof(*labels));
			if (!labels)
				break;
			labels[0] = (struct snapshot_label){ "cgroup", cgroup };
		} else if (label_count) {
			labels = arena_alloc(snapshot, label_count * sizeof(*labels));
			if (!labels)
				break;
		}
		own = labels + by_cgroup;
		for (unsigned int l = 0; l < desc->label_count; l++) {
			const struct field *field = &desc->labels[l];
			const char *text;
			__u32 row;

			if (field->decoder == DECODE_CGROUP) {
				memcpy(&row, key + field->offset, sizeof(row));
				text = cgroup_row_label(state, row);
				unlabelled |= !text;
				own[l] = (struct snapshot_label){ field->label, text };
				continue;
			}
			text = other && !field->in_value ? "other" :
			       collector_decode(field, key, value, buf, sizeof(buf));
			own[l] = (struct snapshot_label){ field->label, arena_string(snapshot, text) };
		}
		if (unlabelled)
			continue;
		for (unsigned int m = 0; m < desc->metric_count; m++)
			add_value(&snapshot->families[first_family + m], labels, label_count,
				  desc->metrics[m].constant_one ? 1 :
				  reader_value_u64(&rows, i, desc->metrics[m].offset));
	}
	if (cgroup_labelled && state->cgroup_merge && snapshot->family_count == first_family +
	    desc->metric_count)
		for (unsigned int m = 0; m < desc->metric_count; m++)
			merge_same_series(snapshot, &snapshot->families[first_family + m], 0);
	free(picked);
	free(slot_of_row);
	reader_rows_free(&rows);
}

static void read_programs(struct snapshot *snapshot, const char *pin_root,
			  struct snapshot_collector *state)
{
	char path[PATH_MAX];
	struct dirent *entry;
	unsigned int capacity = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/%s/links", pin_root, state->collector->name);
	dir = opendir(path);
	if (!dir)
		return;
	while ((entry = readdir(dir)))
		capacity += entry->d_name[0] != '.';
	rewinddir(dir);
	state->programs = arena_alloc(snapshot, (capacity + 1) * sizeof(*state->programs));
	while (state->programs && (entry = readdir(dir)) && state->program_count < capacity) {
		struct snapshot_program *program = &state->programs[state->program_count];
		struct bpf_link_info link = {};
		struct bpf_prog_info prog = {};
		__u32 len = sizeof(link);
		int fd, prog_fd;

		if (entry->d_name[0] == '.')
			continue;
		memset(program, 0, sizeof(*program));
		program->name = arena_string(snapshot, entry->d_name);
		state->program_count++;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s/links/%s", pin_root,
				     state->collector->name, entry->d_name) >= sizeof(path)) {
			program->error = -ENAMETOOLONG;
			continue;
		}
		fd = bpf_obj_get(path);
		if (fd < 0 || bpf_link_get_info_by_fd(fd, &link, &len)) {
			program->error = -errno;
			if (fd >= 0)
				close(fd);
			continue;
		}
		close(fd);
		program->id = link.prog_id;
		prog_fd = bpf_prog_get_fd_by_id(link.prog_id);
		len = sizeof(prog);
		if (prog_fd >= 0 && !bpf_prog_get_info_by_fd(prog_fd, &prog, &len)) {
			program->run_count = prog.run_cnt;
			program->run_time_ns = prog.run_time_ns;
			program->has_runs = true;
		}
		if (prog_fd >= 0)
			close(prog_fd);
	}
	closedir(dir);
}

static void take_collector(struct snapshot *snapshot, const struct snapshot_options *options,
			   struct snapshot_collector *state)
{
	const struct collector *collector = state->collector;

	if (!state->loaded ||
	    reader_meta(options->pin_root, collector->name, &state->meta, &state->error))
		return;
	if (buckets_layout(&(struct bucket_layout){}, state->meta.layout, state->meta.precision,
			   UNIT_NS)) {
		error_fail(&state->error, -EPROTO, "%s/%s/meta: layout %u precision %u",
			   options->pin_root, collector->name, state->meta.layout,
			   state->meta.precision);
		return;
	}
	if (options->self) {
		read_programs(snapshot, options->pin_root, state);
		state->fills = arena_alloc(snapshot, (collector->table_count + 1) * sizeof(*state->fills));
	}
	for (unsigned int h = 0; h < collector->histogram_count; h++)
		take_histogram(snapshot, options, state, &collector->histograms[h]);
	for (unsigned int t = 0; t < collector->table_count; t++)
		take_table(snapshot, options, state, &collector->tables[t]);
}

static struct snapshot_family *self_family(struct snapshot *snapshot, const char *name,
					   enum metric_type type, const char *help,
					   unsigned int capacity)
{
	return add_family(snapshot, name, type, help, capacity);
}

static struct snapshot_label *collector_label(struct snapshot *snapshot,
					      const struct collector *collector)
{
	struct snapshot_label *label = arena_alloc(snapshot, sizeof(*label));

	if (label)
		*label = (struct snapshot_label){ "collector", collector->name };
	return label;
}

/* khist's own state as families: what is loaded, how, and how it runs. */
static void take_self(struct snapshot *snapshot, const struct snapshot_options *options)
{
	struct snapshot_family *family;
	unsigned int programs = 0, fills = 0;
	char text[32];

	family = self_family(snapshot, "khist_collector_loaded", METRIC_GAUGE,
			     "1 when the collector is loaded", collector_count);
	for (unsigned int i = 0; family && i < collector_count; i++) {
		struct snapshot_collector *state = &snapshot->collectors[i];

		if (options->only_collector && strcmp(options->only_collector, state->collector->name))
			continue;
		add_value(family, collector_label(snapshot, state->collector), 1,
			  state->loaded && !state->error.code);
	}
	family = self_family(snapshot, "khist_collector_attach_mode", METRIC_GAUGE,
			     "The attach mode of each loaded collector (always 1)", collector_count);
	for (unsigned int i = 0; family && i < collector_count; i++) {
		struct snapshot_collector *state = &snapshot->collectors[i];
		struct snapshot_label *labels;

		if (!state->loaded || state->error.code)
			continue;
		programs += state->program_count;
		fills += state->fill_count;
		labels = arena_alloc(snapshot, 4 * sizeof(*labels));
		if (!labels)
			break;
		snprintf(text, sizeof(text), "%u", state->meta.precision);
		labels[0] = (struct snapshot_label){ "collector", state->collector->name };
		labels[1] = (struct snapshot_label){ "mode", collector_mode_name(state->meta.attach_mode) };
		labels[2] = (struct snapshot_label){ "layout", buckets_layout_name(state->meta.layout,
										   state->meta.precision) };
		labels[3] = (struct snapshot_label){ "precision", arena_string(snapshot, text) };
		add_value(family, labels, 4, 1);
	}
	for (int time = 0; time < 2; time++) {
		family = self_family(snapshot, time ? "khist_program_run_seconds" : "khist_program_runs",
				     METRIC_COUNTER, time ?
				     "Time spent in each BPF program (kernel.bpf_stats_enabled)" :
				     "Runs of each BPF program (kernel.bpf_stats_enabled)", programs);
		if (!family)
			break;
		if (time) {
			family->unit = "seconds";
			family->decimals = 9;
		}
		for (unsigned int i = 0; i < collector_count; i++) {
			struct snapshot_collector *state = &snapshot->collectors[i];

			for (unsigned int p = 0; !state->error.code && p < state->program_count; p++) {
				struct snapshot_label *labels;

				if (state->programs[p].error || !state->programs[p].has_runs)
					continue;
				labels = arena_alloc(snapshot, 2 * sizeof(*labels));
				if (!labels)
					break;
				labels[0] = (struct snapshot_label){ "collector", state->collector->name };
				labels[1] = (struct snapshot_label){ "program", state->programs[p].name };
				add_value(family, labels, 2, time ? state->programs[p].run_time_ns :
					  state->programs[p].run_count);
			}
		}
	}
	for (int capacity = 0; capacity < 2; capacity++) {
		family = self_family(snapshot, capacity ? "khist_map_capacity" : "khist_map_entries",
				     METRIC_GAUGE, capacity ? "Capacity of each bounded table" :
				     "Entries in use in each bounded table", fills);
		for (unsigned int i = 0; family && i < collector_count; i++) {
			struct snapshot_collector *state = &snapshot->collectors[i];

			for (unsigned int f = 0; f < state->fill_count; f++) {
				struct snapshot_label *labels = arena_alloc(snapshot, 2 * sizeof(*labels));

				if (!labels)
					break;
				labels[0] = (struct snapshot_label){ "collector", state->collector->name };
				labels[1] = (struct snapshot_label){ "map", state->fills[f].table->map };
				add_value(family, labels, 2, capacity ? state->fills[f].capacity :
					  state->fills[f].used);
			}
		}
	}
	for (int kind = 0; kind < 3; kind++) {
		static const char *const names[] = { "khist_cgroups_tracked", "khist_cgroup_capacity",
						     "khist_cgroup_overflow" };
		static const char *const helps[] = {
			"cgroups with series of their own, of a collector loaded by cgroup",
			"cgroups a collector loaded by cgroup can give series of their own",
			"Times a cgroup found no row left: its events count in cgroup=\"other\"",
		};

		family = self_family(snapshot, names[kind], kind == 2 ? METRIC_COUNTER : METRIC_GAUGE,
				     helps[kind], collector_count);
		for (unsigned int i = 0; family && i < collector_count; i++) {
			struct snapshot_collector *state = &snapshot->collectors[i];
			struct reader_rows used;
			__u64 value;

			if (!state->loaded || state->error.code || !state->meta.by_cgroup ||
			    reader_rows(options->pin_root, state->collector->name, CGROUP_USED_MAP,
					&used, NULL))
				continue;
			value = used.count < 2 ? 0 : kind == 2 ? reader_value_u64(&used, 1, 0) :
				kind == 1 ? state->meta.cgroup_rows - 1 :
				reader_value_u64(&used, 0, 0);
			/* Rows past the table were handed out and given back to "other". */
			if (kind == 0 && value > state->meta.cgroup_rows - 1)
				value = state->meta.cgroup_rows - 1;
			add_value(family, collector_label(snapshot, state->collector), 1, value);
			reader_rows_free(&used);
		}
	}
	family = self_family(snapshot, "khist_table_read_attempts", METRIC_GAUGE,
			     "Reads this scrape took to see a table and its pending slots at one "
			     "instant (1 on a quiet machine)", collector_count);
	for (unsigned int i = 0; family && i < collector_count; i++) {
		struct snapshot_collector *state = &snapshot->collectors[i];

		if (state->read_attempts)
			add_value(family, collector_label(snapshot, state->collector), 1,
				  state->read_attempts);
	}
	family = self_family(snapshot, "khist_map_update_failures", METRIC_COUNTER,
			     "Map updates the collectors could not make (full table, no memory)",
			     collector_count);
	for (unsigned int i = 0; family && i < collector_count; i++) {
		struct snapshot_collector *state = &snapshot->collectors[i];
		struct reader_rows rows;

		if (!state->loaded || state->error.code ||
		    reader_rows(options->pin_root, state->collector->name, "update_failures", &rows,
				NULL))
			continue;
		add_value(family, collector_label(snapshot, state->collector), 1,
			  rows.count ? reader_value_u64(&rows, 0, 0) : 0);
		reader_rows_free(&rows);
	}
}

static void take_module(struct snapshot *snapshot, const struct snapshot_options *options)
{
	static const char *const stat_names[KHIST_STAT_COUNT] = KHIST_STAT_NAMES;
	struct kmod_client *client = NULL;
	struct snapshot_family *family;
	__u64 stats[KHIST_STAT_COUNT];

	snapshot->module_present = options->module && kmod_client_open(&client) == 0 &&
				   kmod_get_info(client, &snapshot->module) == 0;
	kmod_client_close(client);
	if (!options->self)
		return;
	family = self_family(snapshot, "khist_module_present", METRIC_GAUGE,
			     "1 when khist.ko is loaded and answering", 1);
	if (family)
		add_value(family, NULL, 0, snapshot->module_present);
	if (snapshot->module_present) {
		struct snapshot_label *events = arena_alloc(snapshot, 2 * sizeof(*events));

		family = self_family(snapshot, "khist_module_info", METRIC_GAUGE,
				     "khist.ko version (always 1)", 1);
		if (family)
			add_value(family, labels_one(snapshot, "version", snapshot->module.version), 1, 1);
		family = self_family(snapshot, "khist_module_glue_probe_registered", METRIC_GAUGE,
				     "1 while the probe behind a glue event is registered (it has "
				     "consumers)", 2);
		if (family && events) {
			events[0] = (struct snapshot_label){ "event", "khist_vfs_read" };
			events[1] = (struct snapshot_label){ "event", "khist_vfs_write" };
			add_value(family, &events[0], 1, snapshot->module.read_active);
			add_value(family, &events[1], 1, snapshot->module.write_active);
		}
		family = self_family(snapshot, "khist_module_publish_interval_seconds", METRIC_GAUGE,
				     "Interval at which khist.ko publishes its statistics into the "
				     "bound map", 1);
		if (family) {
			family->unit = "seconds";
			family->decimals = 3;
			add_value(family, NULL, 0, snapshot->module.publish_interval_ms);
		}
	}
	/* As published into the bound map: readable without the module's netlink. */
	if (options->kmod_stats_pin && kmod_stats_read(options->kmod_stats_pin, stats) == 0) {
		family = self_family(snapshot, "khist_module_statistic", METRIC_COUNTER,
				     "khist.ko statistics, as published into its bound statistics map",
				     KHIST_STAT_COUNT);
		for (int id = 0; family && id < KHIST_STAT_COUNT; id++) {
			struct snapshot_label *label = arena_alloc(snapshot, sizeof(*label));

			if (!label)
				break;
			*label = (struct snapshot_label){ "name", stat_names[id] };
			add_value(family, label, 1, stats[id]);
		}
	}
}

void snapshot_default_options(struct snapshot_options *options, const char *pin_root)
{
	memset(options, 0, sizeof(*options));
	options->pin_root = pin_root;
	options->cgroup_grace_ns = SNAPSHOT_CGROUP_GRACE_NS;
	for (int limit = 0; limit < LIMIT_COUNT; limit++)
		options->limits[limit] = UINT_MAX;
}

int snapshot_take(struct snapshot *snapshot, const struct snapshot_options *options,
		  struct error_context *error)
{
	memset(snapshot, 0, sizeof(*snapshot));
	clock_gettime(CLOCK_MONOTONIC, &snapshot->started);
	snapshot->pin_root = options->pin_root;
	snapshot->collectors = calloc(collector_count, sizeof(*snapshot->collectors));
	if (!snapshot->collectors)
		return error_fail(error, -ENOMEM, "out of memory");
	if (options->self) {
		struct snapshot_family *family = self_family(snapshot, "khist_build_info", METRIC_GAUGE,
							     "khist version (always 1)", 1);

		if (family)
			add_value(family, labels_one(snapshot, "version", KHIST_VERSION_STRING), 1, 1);
	}
	for (unsigned int i = 0; i < collector_count; i++) {
		snapshot->collectors[i].collector = collectors[i];
		/* Whether each is loaded is known even for those not read. */
		snapshot->collectors[i].loaded = loader_is_loaded(options->pin_root, collectors[i]);
		if (options->only_collector && strcmp(options->only_collector, collectors[i]->name))
			continue;
		take_collector(snapshot, options, &snapshot->collectors[i]);
	}
	if (options->self)
		take_self(snapshot, options);
	if (options->module || options->kmod_stats_pin)
		take_module(snapshot, options);
	if (snapshot->failed) {
		snapshot_free(snapshot);
		return error_fail(error, -ENOMEM, "out of memory");
	}
	return 0;
}

void snapshot_free(struct snapshot *snapshot)
{
	while (snapshot->arena) {
		struct snapshot_arena *next = snapshot->arena->next;

		free(snapshot->arena);
		snapshot->arena = next;
	}
	for (unsigned int i = 0; i < snapshot->buffer_count; i++)
		free(snapshot->buffers[i]);
	free(snapshot->buffers);
	free(snapshot->families);
	free(snapshot->collectors);
	cgroup_names_free(&snapshot->cgroups);
	memset(snapshot, 0, sizeof(*snapshot));
}

const struct snapshot_family *snapshot_find(const struct snapshot *snapshot, const char *name)
{
	for (unsigned int i = 0; i < snapshot->family_count; i++)
		if (!strcmp(snapshot->families[i].name, name))
			return &snapshot->families[i];
	return NULL;
}

const struct snapshot_family *snapshot_histogram(const struct snapshot *snapshot,
						 const struct histogram_desc *histogram)
{
	for (unsigned int i = 0; i < snapshot->family_count; i++)
		if (snapshot->families[i].histogram == histogram &&
		    snapshot->families[i].type == METRIC_HISTOGRAM)
			return &snapshot->families[i];
	return NULL;
}

const struct snapshot_collector *snapshot_collector(const struct snapshot *snapshot,
						    const struct collector *collector)
{
	for (unsigned int i = 0; i < collector_count; i++)
		if (snapshot->collectors[i].collector == collector)
			return &snapshot->collectors[i];
	return NULL;
}

const char *snapshot_label(const struct snapshot_series *series, const char *name)
{
	for (unsigned int i = 0; i < series->label_count; i++)
		if (!strcmp(series->labels[i].name, name))
			return series->labels[i].value;
	return NULL;
}
