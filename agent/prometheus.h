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

#define PROTOBUF_TYPE		"application/vnd.google.protobuf; " \
				"proto=io.prometheus.client.MetricFamily; encoding=delimited"

enum exposition_format { FORMAT_TEXT, FORMAT_OPENMETRICS, FORMAT_PROTOBUF };

struct exposition_options {
	enum exposition_format format;
	int classic_schema;		/* exponential buckets merged to it in le series; -1: all */
	bool classic_in_protobuf;	/* protobuf: classic buckets next to the native ones */
};

/*
 * The format an Accept header asks for: the acceptable one with the highest
 * q-value (ties: protobuf, then OpenMetrics, then text), text when none is.
 */
enum exposition_format prometheus_negotiate(const char *accept);
const char *prometheus_content_type(enum exposition_format format);

/*
 * The page in a malloc'ed @body (the caller frees it): text or OpenMetrics
 * here, protobuf in protobuf.c. 0, or -ENOMEM.
 */
int prometheus_render(const struct snapshot *snapshot, const struct exposition_options *options,
		      char **body, size_t *len);
int protobuf_render(const struct snapshot *snapshot, const struct exposition_options *options,
		    char **body, size_t *len);

#endif
