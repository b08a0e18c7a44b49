// SPDX-License-Identifier: GPL-2.0
/*
 * Cost of khistd's /metrics page as the number of series grows.
 *   render synth PIN_ROOT SYSCALLS   pins a syscalls collector with no links
 *                                    (nothing counts) and fills SYSCALLS slots
 *   render time PIN_ROOT N [FORMAT [gzip]]
 *                                    takes a snapshot and renders the page N
 *                                    times (text, openmetrics or protobuf,
 *                                    gzipped as khistd does); prints "series
 *                                    SERIES p50_ms P50 p99_ms P99
 *                                    snapshot_p50_ms P50 bytes BYTES
 *                                    encode_p50_ms P50" (encode: the
 *                                    encoder and gzip, without the snapshot)
 *                                    (series: samples of the text formats,
 *                                    metrics of the protobuf one)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <khist_hist.h>

#include "collector.h"
#include "http.h"
#include "loader.h"
#include "metrics.pb-c.h"
#include "prometheus.h"
#include "snapshot.h"

/* Writes one element (reader_open() gives read-only descriptors). */
static int fill(const char *root, const char *map, const void *key, const void *per_cpu_value)
{
	char path[512];
	int fd, err;

	snprintf(path, sizeof(path), "%s/syscalls/%s", root, map);
	fd = bpf_obj_get(path);
	if (fd < 0 || bpf_map_update_elem(fd, key, per_cpu_value, BPF_ANY)) {
		err = -errno;
		fprintf(stderr, "render: writing %s: %s\n", path, strerror(-err));
	} else {
		err = 0;
	}
	if (fd >= 0)
		close(fd);
	return err;
}

/*
 * SYSCALLS slots of syscall_latency with 8 busy buckets each (in the rows
 * the slots share: any row is read the same way), their call counts, and
 * one errno each: what a busy host shows. The default layout.
 */
static int synth(const char *root, int syscalls)
{
	struct loader_options options;
	enum khist_attach_mode mode;
	struct bucket_layout layout;
	int cpus = libbpf_num_possible_cpus();
	unsigned int words;
	__u64 *values;
	char links[512];

	buckets_layout(&layout, KHIST_LAYOUT_EXPONENTIAL, BUCKETS_DEFAULT_SCHEMA, UNIT_NS);
	words = KHIST_HIST_ROW_WORDS(layout.count);
	values = calloc((size_t)cpus * words, sizeof(__u64));
	loader_default_options(&options);
	options.pin_root = root;
	if (!values || loader_load(collector_find("syscalls"), &options, &mode)) {
		fprintf(stderr, "render: %s\n", loader_error());
		return 1;
	}
	/* Only the maps are wanted: remove the links so nothing counts. */
	snprintf(links, sizeof(links), "rm -f %s/syscalls/links/*", root);
	if (system(links))
		return 1;
	for (__u32 nr = 0; nr < (__u32)syscalls; nr++) {
		struct khist_errno_key error = { nr, 2 };

		memset(values, 0, sizeof(__u64) * words);
		values[KHIST_HIST_ROW_COUNT] = 80;
		values[KHIST_HIST_ROW_SUM] = 123456;
		for (unsigned int b = 150; b < 158; b++)
			values[KHIST_HIST_ROW_BUCKETS + b] = 10;
		if (fill(root, "syscall_latency_shared", &nr, values))
			return 1;
		for (int cpu = 0; cpu < cpus; cpu++)
			values[cpu] = 3;
		if (fill(root, "syscall_errors", &error, values))
			return 1;
	}
	return 0;
}

/* Metrics in a delimited protobuf stream. */
static long protobuf_series(const char *body, size_t len)
{
	long series = 0;

	for (size_t at = 0; at < len;) {
		Io__Prometheus__Client__MetricFamily *family;
		size_t size = 0;

		for (unsigned int shift = 0; at < len; shift += 7) {
			unsigned char byte = body[at++];

			size |= (size_t)(byte & 0x7f) << shift;
			if (!(byte & 0x80))
				break;
		}
		family = io__prometheus__client__metric_family__unpack(NULL, size,
								      (const uint8_t *)body + at);
		if (!family)
			return -1;
		series += family->n_metric;
		io__prometheus__client__metric_family__free_unpacked(family, NULL);
		at += size;
	}
	return series;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double ms_between(const struct timespec *start, const struct timespec *end)
{
	return (end->tv_sec - start->tv_sec) * 1e3 + (end->tv_nsec - start->tv_nsec) / 1e6;
}

/* What khistd does per scrape: one snapshot, one page; and the snapshot alone. */
static int time_renders(const char *root, int n, enum exposition_format format, bool gzip)
{
	struct exposition_options exposition = { .format = format, .classic_schema = 0 };
	struct snapshot_options options;
	double *ms = calloc(n, sizeof(double)), *snapshot_ms = calloc(n, sizeof(double));
	double *encode_ms = calloc(n, sizeof(double));
	long lines = 0;
	size_t bytes = 0;

	if (!ms || !snapshot_ms || !encode_ms)
		return 1;
	snapshot_default_options(&options, root);
	options.limits[LIMIT_PROCESSES] = options.limits[LIMIT_FILES] = 20;
	options.limits[LIMIT_SIGNALS] = 20;
	options.self = true;
	for (int i = 0; i < n; i++) {
		struct error_context error = {};
		struct timespec start, taken, end;
		struct snapshot snapshot;
		char *page = NULL;
		size_t len = 0;

		clock_gettime(CLOCK_MONOTONIC, &start);
		if (snapshot_take(&snapshot, &options, &error)) {
			fprintf(stderr, "render: %s\n", error.text);
			return 1;
		}
		clock_gettime(CLOCK_MONOTONIC, &taken);
		if (format == FORMAT_PROTOBUF ? protobuf_render(&snapshot, &exposition, &page, &len) :
		    prometheus_render(&snapshot, &exposition, &page, &len))
			return 1;
		snapshot_free(&snapshot);
		if (i == 0)
			lines = format == FORMAT_PROTOBUF ? protobuf_series(page, len) : -1;
		if (i == 0 && format != FORMAT_PROTOBUF) {
			char *copy = strndup(page, len);

			lines = 0;
			for (char *line = strtok(copy, "\n"); line; line = strtok(NULL, "\n"))
				lines += line[0] != '#';
			free(copy);
		}
		if (gzip) {
			page = http_gzip(page, len, &len);
			if (!page)
				return 1;
		}
		clock_gettime(CLOCK_MONOTONIC, &end);
		ms[i] = ms_between(&start, &end);
		snapshot_ms[i] = ms_between(&start, &taken);
		encode_ms[i] = ms_between(&taken, &end);
		bytes = len;
		free(page);
	}
	qsort(ms, n, sizeof(double), by_value);
	qsort(snapshot_ms, n, sizeof(double), by_value);
	qsort(encode_ms, n, sizeof(double), by_value);
	printf("series %ld p50_ms %.3f p99_ms %.3f snapshot_p50_ms %.3f bytes %zu encode_p50_ms %.3f\n",
	       lines, ms[n / 2], ms[(n * 99) / 100], snapshot_ms[n / 2], bytes, encode_ms[n / 2]);
	free(ms);
	free(snapshot_ms);
	free(encode_ms);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "synth"))
		return synth(argv[2], atoi(argv[3]));
	if (argc >= 4 && argc <= 6 && !strcmp(argv[1], "time")) {
		const char *format = argc > 4 ? argv[4] : "text";

		return time_renders(argv[2], atoi(argv[3]),
				    !strcmp(format, "protobuf") ? FORMAT_PROTOBUF :
				    !strcmp(format, "openmetrics") ? FORMAT_OPENMETRICS : FORMAT_TEXT,
				    argc == 6 && !strcmp(argv[5], "gzip"));
	}
	fprintf(stderr, "usage: render synth PIN_ROOT SYSCALLS | render time PIN_ROOT N "
		"[text|openmetrics|protobuf [gzip]]\n");
	return 2;
}
