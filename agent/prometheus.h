/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Prometheus exposition of a snapshot: text format 0.0.4, or
 * OpenMetrics 1.0 when the scraper asks for it. Names are snake_case with
 * the khist_ prefix, in base units (seconds, bytes); counters end in _total.
 */
#ifndef KHIST_PROMETHEUS_H
#define KHIST_PROMETHEUS_H

#include <stdbool.h>
#include <stddef.h>

#include "snapshot.h"

#define PROMETHEUS_TEXT_TYPE	"text/plain; version=0.0.4; charset=utf-8"
#define OPENMETRICS_TEXT_TYPE	"application/openmetrics-text; version=1.0.0; charset=utf-8"

/* The page in a malloc'ed @body (the caller frees it). 0, or -ENOMEM. */
int prometheus_render(const struct snapshot *snapshot, bool openmetrics, char **body, size_t *len);

#endif
