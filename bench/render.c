// SPDX-License-Identifier: GPL-2.0
/*
 * Cost of khistd's /metrics page as the number of series grows.
 *   render synth PIN_ROOT SYSCALLS   pins a syscalls collector with no links
 *                                    (nothing counts) and fills SYSCALLS slots
 *   render time PIN_ROOT N           takes a snapshot and renders the page N
 *                                    times; prints "series LINES p50_ms P50
 *                                    p99_ms P99 snapshot_p50_ms P50"
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
#include "loader.h"
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
 * SYSCALLS slots of syscall_latency with 8 busy buckets each, their call
 * counts, and one errno each: what a busy host shows.
 */
static int synth(const char *root, int syscalls)
{
	struct loader_options options;
	enum khist_attach_mode mode;
	int cpus = libbpf_num_possible_cpus();
	unsigned int words = KHIST_HIST_ROW_WORDS(khist_hist_buckets(0));
	__u64 *values = calloc((size_t)cpus * words, sizeof(__u64));
	char links[512];

	loader_default_options(&options);
	options.pin_root = root;
	options.precision = 0;
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

		memset(values, 0, sizeof(__u64) * cpus * words);
		for (int cpu = 0; cpu < cpus; cpu++) {
			__u64 *row = values + (size_t)cpu * words;

			row[KHIST_HIST_ROW_COUNT] = 80;
			row[KHIST_HIST_ROW_SUM] = 123456;
			for (unsigned int b = 4; b < 12; b++)
				row[KHIST_HIST_ROW_BUCKETS + b] = 10;
		}
		if (fill(root, "syscall_latency_hist", &nr, values))
			return 1;
		for (int cpu = 0; cpu < cpus; cpu++)
			values[cpu] = 3;
		if (fill(root, "syscall_errors", &error, values))
			return 1;
	}
	return 0;
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
static int time_renders(const char *root, int n)
{
	struct snapshot_options options;
	double *ms = calloc(n, sizeof(double)), *snapshot_ms = calloc(n, sizeof(double));
	long lines = 0;

	if (!ms || !snapshot_ms)
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
		if (prometheus_render(&snapshot, false, &page, &len))
			return 1;
		snapshot_free(&snapshot);
		clock_gettime(CLOCK_MONOTONIC, &end);
		ms[i] = ms_between(&start, &end);
		snapshot_ms[i] = ms_between(&start, &taken);
		if (i == 0) {
			lines = 0;
			for (char *line = strtok(page, "\n"); line; line = strtok(NULL, "\n"))
				lines += line[0] != '#';
		}
		free(page);
	}
	qsort(ms, n, sizeof(double), by_value);
	qsort(snapshot_ms, n, sizeof(double), by_value);
	printf("series %ld p50_ms %.3f p99_ms %.3f snapshot_p50_ms %.3f\n", lines, ms[n / 2],
	       ms[(n * 99) / 100], snapshot_ms[n / 2]);
	free(ms);
	free(snapshot_ms);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "synth"))
		return synth(argv[2], atoi(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "time"))
		return time_renders(argv[2], atoi(argv[3]));
	fprintf(stderr, "usage: render synth PIN_ROOT SYSCALLS | render time PIN_ROOT N\n");
	return 2;
}
