/* SPDX-License-Identifier: GPL-2.0 */
/* Loading collectors under a private pin root from selftests. */
#ifndef KHIST_COLLECTOR_UTIL_H
#define KHIST_COLLECTOR_UTIL_H

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "catalog.h"
#include "ktap.h"
#include "loader.h"
#include "reader.h"

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
	for (unsigned int i = 0; i < catalog_collector_count; i++)
		if (loader_is_loaded(test_root(), &catalog_collectors[i]))
			loader_unload(test_root(), &catalog_collectors[i]);
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
	err = loader_load(catalog_find_collector(name), options, &mode);
	if (err)
		ktap_exit_fail("loading %s: %s", name, loader_error());
	return mode;
}

/* Sum over CPUs of entry @key, field @field, of a per-CPU array pinned by a collector. */
static inline __u64 pinned_percpu(const char *collector, const char *map, unsigned int entries,
				  unsigned int fields, unsigned int key, unsigned int field)
{
	__u64 *values = calloc((size_t)entries * fields, sizeof(*values)), value = 0;
	int fd = reader_open(test_root(), collector, map);

	if (fd >= 0 && values && !reader_percpu_sum(fd, entries, fields, values))
		value = values[(size_t)key * fields + field];
	if (fd >= 0)
		close(fd);
	free(values);
	return value;
}

/* Calls (@errors false) or errors of one syscall, as the reader derives them. */
static inline __u64 syscall_count(unsigned int nr, bool errors)
{
	__u64 calls[KHIST_SYSCALL_SLOTS], failures[KHIST_SYSCALL_SLOTS];

	if (reader_syscall_counts(test_root(), calls, failures))
		return 0;
	return errors ? failures[nr] : calls[nr];
}

/* Count (@word 0) or sum (1) of one slot of a histogram, as the reader sums it. */
static inline __u64 hist_total(const char *histogram, unsigned int slot, int word)
{
	struct reader_hist hist;
	__u64 value;

	if (reader_hist(test_root(), catalog_find_histogram(histogram), &hist))
		return 0;
	value = word ? hist.totals[slot].sum : hist.totals[slot].count;
	reader_hist_free(&hist);
	return value;
}

/* Events of one bucket of one slot of a histogram. */
static inline __u64 hist_bucket(const char *histogram, unsigned int slot, unsigned int bucket)
{
	struct reader_hist hist;
	__u64 value;

	if (reader_hist(test_root(), catalog_find_histogram(histogram), &hist))
		return 0;
	value = hist.counts[(size_t)slot * hist.buckets + bucket];
	reader_hist_free(&hist);
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
	} else {
		char sink[4096];

		while (fread(sink, 1, sizeof(sink), pipe) > 0)
			;
	}
	status = pclose(pipe);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
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
