/* SPDX-License-Identifier: GPL-2.0 */
/* Loading collectors under a private pin root from selftests. */
#ifndef KHIST_COLLECTOR_UTIL_H
#define KHIST_COLLECTOR_UTIL_H

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include <stdarg.h>

#include "cgroup.h"
#include "collector.h"
#include "ktap.h"
#include "loader.h"
#include "reader.h"
#include "snapshot.h"

static char test_pin_root[64];

/* A pin root of this test's own, removed with everything in it at exit. */
static inline const char *test_root(void)
{
	if (!test_pin_root[0])
		snprintf(test_pin_root, sizeof(test_pin_root), "/sys/fs/bpf/khist-test-%d", getpid());
	return test_pin_root;
}

static inline void unload_all(void)
{
	for (unsigned int i = 0; i < collector_count; i++)
		if (loader_is_loaded(test_root(), collectors[i]))
			loader_unload(test_root(), collectors[i]);
	rmdir(test_root());
}

static inline void require_root_or_skip(void)
{
	if (geteuid() != 0)
		ktap_exit_skip("needs root for bpf() and bpffs");
	if (loader_prepare_bpffs("/sys/fs/bpf"))
		ktap_exit_skip("no bpffs: %s", loader_error());
}

/* Loads @name with @options (pin root forced to the test's), or bails out. */
static inline enum khist_attach_mode load_or_fail(const char *name, struct loader_options *options)
{
	enum khist_attach_mode mode = KHIST_ATTACH_NONE;
	int err;

	options->pin_root = test_root();
	err = loader_load(collector_find(name), options, &mode);
	if (err)
		ktap_exit_fail("loading %s: %s", name, loader_error());
	return mode;
}

/*
 * A collector loaded in its typed and its raw tracepoint modes at once,
 * each under a pin root of its own, so both see the same workload.
 */
#define BOTH_MODES	2

struct both_modes {
	const struct collector *collector;
	enum khist_attach_mode mode[BOTH_MODES];
	char root[BOTH_MODES][96];
	bool loaded[BOTH_MODES];
};

/* Loads @name in both modes; false (each failure printed) unless both loaded. */
static inline bool load_both_modes(struct both_modes *both, const char *name)
{
	struct loader_options options;
	enum khist_attach_mode mode;
	bool ok = true;

	both->collector = collector_find(name);
	both->mode[0] = KHIST_ATTACH_TP_BTF;
	both->mode[1] = KHIST_ATTACH_RAW_TP;
	for (int m = 0; m < BOTH_MODES; m++) {
		snprintf(both->root[m], sizeof(both->root[m]), "%s-%s", test_root(),
			 collector_mode_name(both->mode[m]));
		loader_default_options(&options);
		options.pin_root = both->root[m];
		options.mode = both->mode[m];
		both->loaded[m] = loader_load(both->collector, &options, &mode) == 0;
		if (!both->loaded[m]) {
			ktap_print_msg("load %s in %s mode: %s", name,
				       collector_mode_name(both->mode[m]), loader_error());
			ok = false;
		}
	}
	return ok;
}

static inline void unload_both_modes(struct both_modes *both)
{
	for (int m = 0; m < BOTH_MODES; m++) {
		if (both->loaded[m])
			loader_unload(both->root[m], both->collector);
		rmdir(both->root[m]);
	}
}

/* Sum over CPUs of entry @key, field @field, of a per-CPU array pinned by a collector. */
static inline __u64 pinned_percpu(const char *collector, const char *map, unsigned int entries,
				  unsigned int fields, unsigned int key, unsigned int field)
{
	struct reader_rows rows;
	__u64 value = 0;

	if (reader_rows(test_root(), collector, map, &rows, NULL))
		return 0;
	if (key < rows.count && key < entries && field < fields &&
	    rows.value_size == fields * sizeof(__u64))
		value = reader_value_u64(&rows, key, field * sizeof(__u64));
	reader_rows_free(&rows);
	return value;
}

/* A snapshot of every row and slot of the collectors under @root (the test's when NULL). */
static inline int test_snapshot(const char *root, struct snapshot *snapshot)
{
	struct snapshot_options options;
	struct error_context error = {};

	snapshot_default_options(&options, root ? root : test_root());
	options.every_slot = true;
	options.self = true;
	if (snapshot_take(snapshot, &options, &error)) {
		ktap_print_msg("snapshot: %s", error.text);
		return -1;
	}
	return 0;
}

/* Whether @series has every NAME, VALUE pair of the NULL-terminated list @pairs. */
static inline bool series_has(const struct snapshot_series *series, va_list pairs)
{
	const char *name, *value, *have;
	va_list copy;
	bool match = true;

	va_copy(copy, pairs);
	while (match && (name = va_arg(copy, const char *))) {
		value = va_arg(copy, const char *);
		have = snapshot_label(series, name);
		match = have && !strcmp(have, value);
	}
	va_end(copy);
	return match;
}

static inline __u64 family_vsum(const struct snapshot *snapshot, const char *family, va_list pairs)
{
	const struct snapshot_family *found = snapshot_find(snapshot, family);
	__u64 sum = 0;

	for (unsigned int s = 0; found && s < found->series_count; s++)
		if (series_has(&found->series[s], pairs))
			sum += found->type == METRIC_HISTOGRAM ? found->series[s].count :
			       found->series[s].value;
	return sum;
}

/*
 * The sum of the values (counters, gauges) or counts (histograms) of the
 * series of @family that have the labels NAME, VALUE, ..., NULL.
 */
static inline __u64 family_sum(const struct snapshot *snapshot, const char *family, ...)
{
	va_list pairs;
	__u64 sum;

	va_start(pairs, family);
	sum = family_vsum(snapshot, family, pairs);
	va_end(pairs);
	return sum;
}

/* The same, from a snapshot taken now under the test's pin root. */
static inline __u64 current_sum(const char *family, ...)
{
	struct snapshot snapshot;
	va_list pairs;
	__u64 sum;

	if (test_snapshot(NULL, &snapshot))
		return 0;
	va_start(pairs, family);
	sum = family_vsum(&snapshot, family, pairs);
	va_end(pairs);
	snapshot_free(&snapshot);
	return sum;
}

static inline const char *syscall_name(unsigned int nr, char *buf, size_t size)
{
	const struct field field = INDEX_FIELD("syscall", DECODE_SYSCALL);

	return collector_decode_slot(&field, nr, buf, size);
}

/* Calls (@errors false) or errors of one syscall, as exported. */
static inline __u64 syscall_count(unsigned int nr, bool errors)
{
	char buf[32];

	return current_sum(errors ? "khist_syscall_errors" : "khist_syscalls",
			   "syscall", syscall_name(nr, buf, sizeof(buf)), NULL);
}

/* Moves @pid into the cgroup v2 directory @dir. */
static inline bool cgroup_move_pid(const char *dir, pid_t pid)
{
	char path[512], text[16];
	bool ok;
	int fd;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	snprintf(text, sizeof(text), "%d", pid);
	fd = open(path, O_WRONLY);
	ok = fd >= 0 && write(fd, text, strlen(text)) > 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/*
 * A cgroup for a test, two levels down (for --by-cgroup 2):
 * MOUNT/khist-NAME-PID/inner, and beside it MOUNT/khist-NAME-PID/moved for
 * a task to move to while it runs.
 */
struct test_cgroup {
	char top[320], dir[352], moved[352];
	const char *path;		/* @dir below the cgroup2 mount: the series' label */
	const char *moved_path;		/* the same of @moved */
};

/* False, with test @test skipped, when there is no writable cgroup v2 hierarchy. */
static inline bool test_cgroup_make(struct test_cgroup *cgroup, const char *name, const char *test)
{
	char mount[256];

	if (cgroup_mount_point(mount, sizeof(mount))) {
		ktap_test_skip(test, "no cgroup v2 hierarchy");
		return false;
	}
	snprintf(cgroup->top, sizeof(cgroup->top), "%s/khist-%s-%d", mount, name, getpid());
	snprintf(cgroup->dir, sizeof(cgroup->dir), "%s/inner", cgroup->top);
	snprintf(cgroup->moved, sizeof(cgroup->moved), "%s/moved", cgroup->top);
	if (mkdir(cgroup->top, 0755) || mkdir(cgroup->dir, 0755) || mkdir(cgroup->moved, 0755)) {
		ktap_test_skip(test, "cannot create cgroups under %s: %s", mount, strerror(errno));
		rmdir(cgroup->dir);
		rmdir(cgroup->top);
		return false;
	}
	cgroup->path = cgroup->dir + strlen(mount);
	cgroup->moved_path = cgroup->moved + strlen(mount);
	return true;
}

static inline void test_cgroup_remove(const struct test_cgroup *cgroup)
{
	rmdir(cgroup->dir);
	rmdir(cgroup->moved);
	rmdir(cgroup->top);
}

/* The row bucket of @value in @layout, as the BPF programs find it. */
static inline unsigned int bucket_of(const struct bucket_layout *layout, __u64 value)
{
	if (layout->kind == KHIST_LAYOUT_EXPONENTIAL)
		return khist_exp_index(layout->exp, value);
	return khist_hist_index(value, layout->precision);
}

/* The series of one slot of a histogram, in @snapshot. */
static inline const struct snapshot_series *hist_slot(const struct snapshot *snapshot,
						      const char *histogram, unsigned int slot)
{
	const struct histogram_desc *desc = collector_find_histogram(histogram, NULL);
	const struct snapshot_family *family = desc ? snapshot_histogram(snapshot, desc) : NULL;
	const char *name;
	char buf[32];

	if (!family)
		return NULL;
	if (!desc->slot.label)
		return family->series_count ? &family->series[0] : NULL;
	name = collector_decode_slot(&desc->slot, slot, buf, sizeof(buf));
	for (unsigned int s = 0; s < family->series_count; s++)
		if (!strcmp(snapshot_label(&family->series[s], desc->slot.label), name))
			return &family->series[s];
	return NULL;
}

/* Count (@word 0) or sum (1) of one slot of a histogram. */
static inline __u64 hist_total(const char *histogram, unsigned int slot, int word)
{
	const struct snapshot_series *series;
	struct snapshot snapshot;
	__u64 value = 0;

	if (test_snapshot(NULL, &snapshot))
		return 0;
	series = hist_slot(&snapshot, histogram, slot);
	if (series)
		value = word ? series->sum : series->count;
	snapshot_free(&snapshot);
	return value;
}

/* Events of one bucket of one slot of a histogram. */
static inline __u64 hist_bucket(const char *histogram, unsigned int slot, unsigned int bucket)
{
	const struct snapshot_series *series;
	struct snapshot snapshot;
	__u64 value = 0;

	if (test_snapshot(NULL, &snapshot))
		return 0;
	series = hist_slot(&snapshot, histogram, slot);
	if (series)
		value = series->buckets[bucket];
	snapshot_free(&snapshot);
	return value;
}

/* Runs a shell command; its exit status, and its output (stdout and what it redirects) in @output. */
static inline int run_shell(const char *command, char *output, size_t size)
{
	size_t len = 0;
	FILE *pipe;
	int status;

	pipe = popen(command, "r");
	if (!pipe)
		return -1;
	if (output && size) {
		len = fread(output, 1, size - 1, pipe);
		output[len] = '\0';
	}
	/* The rest unread: the command must not die of SIGPIPE for writing more. */
	for (char sink[4096]; fread(sink, 1, sizeof(sink), pipe) > 0;)
		;
	status = pclose(pipe);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/*
 * Whether @pid is asleep in clock_nanosleep within @seconds. A tool that
 * sleeps only once it is ready (the CLI between snapshots, a peer once
 * its programs are attached) is then ready: a wait on that, not on a
 * fixed time, holds on a slow (debug, loaded) machine.
 */
static inline bool wait_until_sleeping(pid_t pid, unsigned int seconds)
{
	char path[64], text[64];

	snprintf(path, sizeof(path), "/proc/%d/syscall", pid);
	for (unsigned int tries = 0; tries < seconds * 100; tries++) {
		FILE *file = fopen(path, "r");
		bool sleeping = false;

		if (!file)
			return false;
		if (fgets(text, sizeof(text), file))
			sleeping = atoi(text) == SYS_clock_nanosleep || atoi(text) == SYS_nanosleep;
		fclose(file);
		if (sleeping)
			return true;
		usleep(10000);
	}
	return false;
}

/* Where the khist binary is: $KHIST_BUILD, else ./build. */
static inline const char *build_dir(void)
{
	return getenv("KHIST_BUILD") ? getenv("KHIST_BUILD") : "build";
}

/* Runs the khist CLI with @args (a shell word list); its exit status and output. */
static inline int run_khist(const char *args, char *output, size_t size)
{
	char command[1024];

	snprintf(command, sizeof(command), "%s/khist %s 2>&1", build_dir(), args);
	return run_shell(command, output, size);
}

#endif
