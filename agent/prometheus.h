/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Prometheus exposition of everything khist counts: text format 0.0.4,
 * or OpenMetrics 1.0 when the scraper asks for it. Names are snake_case with
 * the khist_ prefix, in base units (seconds, bytes); counters end in _total.
 */
#ifndef KHIST_PROMETHEUS_H
#define KHIST_PROMETHEUS_H

#include <stdbool.h>
#include <stdio.h>

#define PROMETHEUS_TEXT_TYPE	"text/plain; version=0.0.4; charset=utf-8"
#define OPENMETRICS_TEXT_TYPE	"application/openmetrics-text; version=1.0.0; charset=utf-8"

struct metrics_context {
	const char *pin_root;
	unsigned int export_processes;
	unsigned int export_files;
	unsigned int export_signals;
	bool use_module;		/* ask khist.ko for its state */
	const char *kmod_stats_pin;	/* the bound statistics map */
};

/* Writes every metric family in a stable order. 0, or -errno on write errors. */
int prometheus_render(FILE *out, const struct metrics_context *context, bool openmetrics);

#endif
