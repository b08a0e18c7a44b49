/* SPDX-License-Identifier: GPL-2.0 */
/* JSON renderings (json-c), shared by `khist ... --json` and khistd's API. */
#ifndef KHIST_JSON_H
#define KHIST_JSON_H

#include <json-c/json.h>

#include "reader.h"

/*
 * A histogram: name, collector, attach mode, unit, precision, description
 * and its series (labels, count, sum, and the non-empty buckets with their
 * inclusive bounds). Labelled histograms list only series with events.
 */
json_object *json_histogram(const struct reader_hist *hist);

/* The same with only the series of @slot, listed even when it has no events. */
json_object *json_histogram_slot(const struct reader_hist *hist, unsigned int slot);

#endif
