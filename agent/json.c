// SPDX-License-Identifier: GPL-2.0
#include <khist_hist.h>

#include "json.h"

static json_object *json_series(const struct reader_hist *hist, unsigned int slot)
{
	const struct catalog_histogram *def = hist->def;
	const __u64 *counts = hist->counts + (size_t)slot * hist->buckets;
	json_object *series = json_object_new_object();
	json_object *labels = json_object_new_object();
	json_object *buckets = json_object_new_array();
	char name[32];

	if (def->label)
		json_object_object_add(labels, def->label,
				       json_object_new_string(def->slot_name(slot, name, sizeof(name))));
	json_object_object_add(series, "labels", labels);
	json_object_object_add(series, "count", json_object_new_uint64(reader_hist_count(hist, slot)));
	json_object_object_add(series, "sum", json_object_new_uint64(hist->totals[slot].sum));
	for (unsigned int i = 0; i < hist->buckets; i++) {
		json_object *bucket;

		if (!counts[i])
			continue;
		bucket = json_object_new_object();
		json_object_object_add(bucket, "lower",
				       json_object_new_uint64(khist_hist_lower(i, hist->precision)));
		json_object_object_add(bucket, "upper",
				       json_object_new_uint64(khist_hist_upper(i, hist->precision)));
		json_object_object_add(bucket, "count", json_object_new_uint64(counts[i]));
		json_object_array_add(buckets, bucket);
	}
	json_object_object_add(series, "buckets", buckets);
	return series;
}

json_object *json_histogram(const struct reader_hist *hist, int only_slot)
{
	const struct catalog_histogram *def = hist->def;
	json_object *root = json_object_new_object();
	json_object *series = json_object_new_array();

	json_object_object_add(root, "name", json_object_new_string(def->name));
	json_object_object_add(root, "collector", json_object_new_string(def->collector));
	json_object_object_add(root, "attach_mode",
			       json_object_new_string(catalog_mode_name(hist->mode)));
	json_object_object_add(root, "unit", json_object_new_string(def->unit));
	json_object_object_add(root, "precision", json_object_new_int(hist->precision));
	json_object_object_add(root, "description", json_object_new_string(def->description));
	for (unsigned int slot = 0; slot < def->slots; slot++) {
		if (only_slot >= 0 ? (int)slot != only_slot : def->label && !reader_hist_count(hist, slot))
			continue;
		json_object_array_add(series, json_series(hist, slot));
	}
	json_object_object_add(root, "series", series);
	return root;
}
