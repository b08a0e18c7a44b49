// SPDX-License-Identifier: GPL-2.0
#include <string.h>

#include <khist_hist.h>

#include "json.h"

json_object *json_labels(const struct snapshot_series *series)
{
	json_object *labels = json_object_new_object();

	for (unsigned int l = 0; l < series->label_count; l++)
		json_object_object_add(labels, series->labels[l].name,
				       json_object_new_string(series->labels[l].value));
	return labels;
}

json_object *json_scaled(__u64 value, unsigned int decimals)
{
	double scale = 1;

	if (!decimals)
		return json_object_new_uint64(value);
	for (unsigned int i = 0; i < decimals; i++)
		scale *= 10;
	return json_object_new_double(value / scale);
}

static const char *unit_short(const struct histogram_desc *desc)
{
	return desc->unit == UNIT_NS ? "ns" : "bytes";
}

static json_object *json_series(const struct snapshot_family *family,
				const struct snapshot_series *one)
{
	json_object *series = json_object_new_object();
	json_object *buckets = json_object_new_array();

	json_object_object_add(series, "labels", json_labels(one));
	json_object_object_add(series, "count", json_object_new_uint64(one->count));
	json_object_object_add(series, "sum", json_object_new_uint64(one->sum));
	for (unsigned int i = 0; i < family->buckets.count; i++) {
		json_object *bucket;

		if (!one->buckets[i])
			continue;
		bucket = json_object_new_object();
		json_object_object_add(bucket, "lower",
				       json_object_new_uint64(buckets_lower(&family->buckets, i)));
		json_object_object_add(bucket, "upper",
				       json_object_new_uint64(buckets_upper(&family->buckets, i)));
		/* Exponential: the native bucket (the zero bucket has none). */
		if (family->buckets.kind == KHIST_LAYOUT_EXPONENTIAL && i)
			json_object_object_add(bucket, "index", json_object_new_int(
					       buckets_native_index(&family->buckets, i)));
		json_object_object_add(bucket, "count", json_object_new_uint64(one->buckets[i]));
		json_object_array_add(buckets, bucket);
	}
	json_object_object_add(series, "buckets", buckets);
	return series;
}

json_object *json_histogram(const struct snapshot_family *family, const char *only_slot)
{
	const struct histogram_desc *desc = family->histogram;
	json_object *root = json_object_new_object();
	json_object *series = json_object_new_array();

	json_object_object_add(root, "name", json_object_new_string(desc->name));
	json_object_object_add(root, "collector", json_object_new_string(family->collector->name));
	json_object_object_add(root, "attach_mode",
			       json_object_new_string(collector_mode_name(family->mode)));
	json_object_object_add(root, "unit", json_object_new_string(unit_short(desc)));
	json_object_object_add(root, "layout", json_object_new_string(
			       buckets_layout_name(family->buckets.kind, family->buckets.precision)));
	json_object_object_add(root, "precision", json_object_new_int(family->buckets.precision));
	if (family->buckets.kind == KHIST_LAYOUT_EXPONENTIAL) {
		json_object_object_add(root, "schema", json_object_new_int(family->buckets.precision));
		json_object_object_add(root, "zero_threshold",
				       json_object_new_double(buckets_zero_threshold(&family->buckets)));
	}
	json_object_object_add(root, "description", json_object_new_string(desc->help));
	for (unsigned int s = 0; s < family->series_count; s++) {
		const struct snapshot_series *one = &family->series[s];
		const char *slot = desc->slot.label ? snapshot_label(one, desc->slot.label) : NULL;

		if (only_slot ? !slot || strcmp(slot, only_slot) : desc->slot.label && !one->count)
			continue;
		json_object_array_add(series, json_series(family, one));
	}
	json_object_object_add(root, "series", series);
	return root;
}

json_object *json_histograms(const struct snapshot *snapshot)
{
	json_object *root = json_object_new_object(), *list = json_object_new_array();

	for (unsigned int i = 0; i < snapshot->family_count; i++)
		if (snapshot->families[i].type == METRIC_HISTOGRAM)
			json_object_array_add(list, json_histogram(&snapshot->families[i], NULL));
	json_object_object_add(root, "histograms", list);
	return root;
}

json_object *json_family(const struct snapshot_family *family)
{
	static const char *const types[] = { "counter", "gauge", "histogram" };
	json_object *root = json_object_new_object(), *series = json_object_new_array();

	json_object_object_add(root, "name", json_object_new_string(family->name));
	json_object_object_add(root, "type", json_object_new_string(types[family->type]));
	json_object_object_add(root, "help", json_object_new_string(family->help));
	if (family->unit)
		json_object_object_add(root, "unit", json_object_new_string(family->unit));
	if (family->collector)
		json_object_object_add(root, "collector",
				       json_object_new_string(family->collector->name));
	for (unsigned int s = 0; s < family->series_count; s++) {
		json_object *one = json_object_new_object();

		json_object_object_add(one, "labels", json_labels(&family->series[s]));
		json_object_object_add(one, "value", json_scaled(family->series[s].value,
								 family->decimals));
		json_object_array_add(series, one);
	}
	json_object_object_add(root, "series", series);
	return root;
}

json_object *json_status(const struct snapshot *snapshot)
{
	json_object *root = json_object_new_object(), *list = json_object_new_array();

	json_object_object_add(root, "pin_root", json_object_new_string(snapshot->pin_root));
	for (unsigned int i = 0; i < collector_count; i++) {
		const struct snapshot_collector *state = &snapshot->collectors[i];
		json_object *one = json_object_new_object();

		json_object_object_add(one, "name", json_object_new_string(state->collector->name));
		json_object_object_add(one, "loaded", json_object_new_boolean(state->loaded &&
									      !state->error.code));
		if (state->loaded && state->error.code) {
			json_object_object_add(one, "error", json_object_new_string(state->error.text));
		} else if (state->loaded) {
			json_object *programs = json_object_new_array(), *tables = json_object_new_array();

			json_object_object_add(one, "attach_mode",
					       json_object_new_string(collector_mode_name(state->meta.attach_mode)));
			json_object_object_add(one, "layout", json_object_new_string(
					       buckets_layout_name(state->meta.layout,
								   state->meta.precision)));
			json_object_object_add(one, "precision",
					       json_object_new_int(state->meta.precision));
			json_object_object_add(one, "loaded_at_ns",
					       json_object_new_uint64(state->meta.loaded_at_ns));
			for (unsigned int p = 0; p < state->program_count; p++) {
				const struct snapshot_program *program = &state->programs[p];
				json_object *entry = json_object_new_object();

				json_object_object_add(entry, "name", json_object_new_string(program->name));
				if (program->error) {
					json_object_object_add(entry, "error",
							       json_object_new_string(strerror(-program->error)));
				} else {
					json_object_object_add(entry, "id", json_object_new_int64(program->id));
					json_object_object_add(entry, "run_count",
							       json_object_new_uint64(program->run_count));
					json_object_object_add(entry, "run_time_ns",
							       json_object_new_uint64(program->run_time_ns));
				}
				json_object_array_add(programs, entry);
			}
			for (unsigned int f = 0; f < state->fill_count; f++) {
				json_object *entry = json_object_new_object();

				json_object_object_add(entry, "map",
						       json_object_new_string(state->fills[f].table->map));
				json_object_object_add(entry, "entries",
						       json_object_new_int64(state->fills[f].used));
				json_object_object_add(entry, "capacity",
						       json_object_new_int64(state->fills[f].capacity));
				json_object_array_add(tables, entry);
			}
			json_object_object_add(one, "programs", programs);
			json_object_object_add(one, "tables", tables);
		}
		json_object_array_add(list, one);
	}
	json_object_object_add(root, "collectors", list);
	return root;
}
