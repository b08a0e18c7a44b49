/* SPDX-License-Identifier: GPL-2.0 */
/* JSON (json-c) of a snapshot: histograms, counter and gauge families, collector states. */
#ifndef KHIST_JSON_H
#define KHIST_JSON_H

#include <json-c/json.h>

#include "snapshot.h"

/* One histogram; @only_slot: only the series with that slot label value. */
json_object *json_histogram(const struct snapshot_family *family, const char *only_slot);
/* A counter or gauge family: name, type, help, unit, series of labels and value. */
json_object *json_family(const struct snapshot_family *family);
/* Every collector: loaded, attach mode, precision, programs, table fill levels. */
json_object *json_status(const struct snapshot *snapshot);
/* Every histogram's family in the snapshot: {"histograms": [...]}. */
json_object *json_histograms(const struct snapshot *snapshot);
/* Labels as an object. */
json_object *json_labels(const struct snapshot_series *series);
/* A number of 10^-decimals units: an integer when decimals is 0. */
json_object *json_scaled(__u64 value, unsigned int decimals);

#endif
