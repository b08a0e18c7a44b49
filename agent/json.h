/* SPDX-License-Identifier: GPL-2.0 */
/* JSON renderings (json-c), shared by `khist ... --json` and khistd's API. */
#ifndef KHIST_JSON_H
#define KHIST_JSON_H

#include <json-c/json.h>

#include "reader.h"

/*
 * A histogram: name, collector, attach mode, unit, precision, description
 * and its series (labels, count, sum, and the non-empty buckets with their
 * inclusive bounds). Labelled histograms list only series with events;
 * with @only_slot >= 0, only that series, listed even when it has none.
 */
json_object *json_histogram(const struct reader_hist *hist, int only_slot);

#endif
