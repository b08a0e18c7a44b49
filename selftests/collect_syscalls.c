// SPDX-License-Identifier: GPL-2.0
/*
 * syscalls collector against exactly known workloads of this process:
 * counts, latency histogram totals, per-process table, errors per errno,
 * and the CLI views of the same numbers.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <json-c/json.h>

#include "collector_util.h"

#define CALLS		100000
#define SLACK		16
#define FAILED_CLOSES	1000

static void test_counts(void)
{
	__u64 calls, errors, latency_count, latency_sum;
	bool ok = true;

	for (int i = 0; i < CALLS; i++)
		syscall(SYS_getppid);
	calls = syscall_count(SYS_getppid, false);
	errors = syscall_count(SYS_getppid, true);
	latency_count = hist_total("syscall_latency", SYS_getppid, 0);
	latency_sum = hist_total("syscall_latency", SYS_getppid, 1);
	EXPECT(ok, calls >= CALLS && calls <= CALLS + SLACK, "getppid count %llu for %d calls",
	       (unsigned long long)calls, CALLS);
	EXPECT(ok, errors == 0, "getppid errors %llu", (unsigned long long)errors);
	EXPECT(ok, latency_count == calls, "latency samples %llu, calls %llu",
	       (unsigned long long)latency_count, (unsigned long long)calls);
	EXPECT(ok, latency_sum > 0 && latency_sum / calls < 1000000, "mean latency %llu ns",
	       (unsigned long long)(calls ? latency_sum / calls : 0));
	ktap_print_msg("getppid: %llu calls, mean %llu ns", (unsigned long long)calls,
		       (unsigned long long)(calls ? latency_sum / calls : 0));
	ktap_test_result(ok, "exact_syscall_count_and_latency_samples");
}

static void test_hist_buckets_sum_to_count(void)
{
	const struct snapshot_series *series;
	const struct snapshot_family *family;
	struct snapshot snapshot;
	__u64 sum = 0, calls;
	bool ok = true;
	int err = test_snapshot(NULL, &snapshot);

	EXPECT(ok, err == 0, "no snapshot");
	if (!err) {
		family = snapshot_find(&snapshot, "khist_syscall_latency_seconds");
		series = hist_slot(&snapshot, "syscall_latency", SYS_getppid);
		calls = family_sum(&snapshot, "khist_syscalls", "syscall", "getppid", NULL);
		EXPECT(ok, family && series, "no getppid series");
		for (unsigned int i = 0; series && i < family->buckets.count; i++)
			sum += series->buckets[i];
		EXPECT(ok, series && sum == series->count && sum == calls && sum >= CALLS,
		       "buckets hold %llu, count %llu, khist_syscalls %llu", (unsigned long long)sum,
		       (unsigned long long)(series ? series->count : 0), (unsigned long long)calls);
		EXPECT(ok, family && family->buckets.kind == KHIST_LAYOUT_EXPONENTIAL &&
			   family->buckets.precision == 3 && family->mode == KHIST_ATTACH_RAW_TP,
		       "layout %u schema %u mode %u", family ? family->buckets.kind : 0,
		       family ? family->buckets.precision : 0, family ? family->mode : 0);
		snapshot_free(&snapshot);
	}
	ktap_test_result(ok, "histogram_buckets_sum_to_its_count");
}

/*
 * More distinct syscalls than per-CPU latency rows: x86-64 leaves 340..423
 * unassigned (ENOSYS; 335 and 336 are uretprobe and uprobe since 6.11), and
 * each still gets exact counts, from its own row or, once the rows are all
 * taken, from the row it shares across CPUs.
 */
#define UNASSIGNED_FIRST	340
#define UNASSIGNED_LAST		423
#define UNASSIGNED_CALLS	7

static void test_rows_on_demand(void)
{
	unsigned int shared = 0, wrong = 0;
	struct snapshot snapshot;
	bool ok = true;
	char path[512];
	int rows_fd;

	for (int nr = UNASSIGNED_FIRST; nr <= UNASSIGNED_LAST; nr++)
		for (int i = 0; i < UNASSIGNED_CALLS; i++)
			syscall(nr);
	EXPECT(ok, test_snapshot(NULL, &snapshot) == 0, "no snapshot");
	snprintf(path, sizeof(path), "%s/syscalls/syscall_rows", test_root());
	rows_fd = bpf_obj_get(path);
	EXPECT(ok, rows_fd >= 0, "%s: %s", path, strerror(errno));
	for (unsigned int nr = UNASSIGNED_FIRST; ok && nr <= UNASSIGNED_LAST; nr++) {
		const struct snapshot_series *series = hist_slot(&snapshot, "syscall_latency", nr);
		char name[32];
		__u64 row = 0;

		syscall_name(nr, name, sizeof(name));
		if (!series || series->count != UNASSIGNED_CALLS ||
		    family_sum(&snapshot, "khist_syscalls", "syscall", name, NULL) != UNASSIGNED_CALLS ||
		    family_sum(&snapshot, "khist_syscall_errors", "syscall", name, "errno", "ENOSYS",
			       NULL) != UNASSIGNED_CALLS) {
			if (!wrong++)
				ktap_print_msg("syscall %u: %llu samples, %llu calls", nr,
					       (unsigned long long)(series ? series->count : 0),
					       (unsigned long long)family_sum(&snapshot, "khist_syscalls",
									      "syscall", name, NULL));
		}
		if (rows_fd >= 0 && !bpf_map_lookup_elem(rows_fd, &nr, &row) && !row)
			shared++;
	}
	EXPECT(ok, !wrong, "%u of %d syscalls miscounted", wrong,
	       UNASSIGNED_LAST - UNASSIGNED_FIRST + 1);
	EXPECT(ok, shared > 0, "every syscall got a row of its own: the shared rows were not tested");
	EXPECT(ok, shared < UNASSIGNED_LAST - UNASSIGNED_FIRST + 1,
	       "none got a row of its own: the per-CPU rows were not tested");
	ktap_print_msg("%d syscalls, %u of them in shared rows (%d per-CPU rows)",
		       UNASSIGNED_LAST - UNASSIGNED_FIRST + 1, shared, KHIST_SYSCALL_LATENCY_ROWS);
	if (rows_fd >= 0)
		close(rows_fd);
	snapshot_free(&snapshot);
	ktap_test_result(ok, "more_syscalls_than_rows_all_counted");
}

#define MOVED_CALLS	3000

/*
 * The calls of the syscalls that have no row of the latency histogram, as
 * counted per syscall; *@rowless: how many of them there were.
 */
static __u64 rowless_calls(const struct snapshot *snapshot, const char *root, unsigned int *rowless)
{
	char path[512], name[32];
	__u64 calls = 0;
	int rows_fd;

	*rowless = 0;
	snprintf(path, sizeof(path), "%s/syscalls/syscall_rows", root);
	rows_fd = bpf_obj_get(path);
	for (__u32 nr = 0; rows_fd >= 0 && nr < KHIST_SYSCALL_SLOTS; nr++) {
		__u64 row = 1, count;

		if (bpf_map_lookup_elem(rows_fd, &nr, &row) || row)
			continue;
		count = family_sum(snapshot, "khist_syscalls", "syscall",
				   syscall_name(nr, name, sizeof(name)), NULL);
		*rowless += count > 0;
		calls += count;
	}
	if (rows_fd >= 0)
		close(rows_fd);
	return calls;
}

/*
 * By cgroup: a child in a nested cgroup makes known calls, more syscalls
 * than the latency histogram has rows, then moves to a sibling cgroup and
 * makes more: each cgroup's series count its own exactly, the syscalls
 * without a row count as syscall="other", and the latency histogram over all
 * syscalls holds every call the table counts for the cgroup.
 */
static void test_by_cgroup(void)
{
	__u64 getppids = 0, close_errors = 0, all_calls = 0, samples = 0, moved_getppids = 0;
	__u64 moved_calls = 0, other_calls = 0, rowless = 0;
	unsigned int rowless_syscalls = 0;
	const struct snapshot_family *family;
	struct loader_options options;
	enum khist_attach_mode mode;
	struct test_cgroup cgroup;
	struct snapshot snapshot;
	char root[96], byte;
	const char *path;
	int go[2], status, err;
	bool ok = true;
	pid_t child;

	if (!test_cgroup_make(&cgroup, "syscalls", "calls_per_cgroup"))
		return;
	path = cgroup.path;
	if (pipe(go))
		ktap_exit_fail("pipe");
	child = fork();
	if (child == 0) {
		if (!cgroup_move_pid(cgroup.dir, getpid()) || read(go[0], &byte, 1) != 1)
			_exit(1);
		for (int i = 0; i < CALLS / 10; i++)
			syscall(SYS_getppid);
		for (int i = 0; i < FAILED_CLOSES; i++)
			close(-1);
		for (int nr = UNASSIGNED_FIRST; nr <= UNASSIGNED_LAST; nr++)
			syscall(nr);
		/* A task that has counted moves: its cached row must not stay. */
		if (!cgroup_move_pid(cgroup.moved, getpid()))
			_exit(1);
		for (int i = 0; i < MOVED_CALLS; i++)
			syscall(SYS_getppid);
		_exit(0);
	}
	snprintf(root, sizeof(root), "%s-bycgroup", test_root());
	loader_default_options(&options);
	options.pin_root = root;
	options.filter_tgid = child;
	options.by_cgroup = 2;
	err = loader_load(collector_find("syscalls"), &options, &mode);
	EXPECT(ok, err == 0, "load --by-cgroup 2: %s", loader_error());
	EXPECT(ok, write(go[1], "g", 1) == 1 && waitpid(child, &status, 0) == child &&
		   WIFEXITED(status) && !WEXITSTATUS(status), "the child failed");
	if (!err && !test_snapshot(root, &snapshot)) {
		getppids = family_sum(&snapshot, "khist_cgroup_syscalls", "cgroup", path, "syscall",
				      "getppid", NULL);
		close_errors = family_sum(&snapshot, "khist_cgroup_syscall_errors", "cgroup", path,
					  "syscall", "close", NULL);
		all_calls = family_sum(&snapshot, "khist_cgroup_syscalls", "cgroup", path, NULL);
		moved_getppids = family_sum(&snapshot, "khist_cgroup_syscalls", "cgroup",
					    cgroup.moved_path, "syscall", "getppid", NULL);
		moved_calls = family_sum(&snapshot, "khist_cgroup_syscalls", "cgroup",
					 cgroup.moved_path, NULL);
		other_calls = family_sum(&snapshot, "khist_cgroup_syscalls", "syscall", "other", NULL);
		rowless = rowless_calls(&snapshot, root, &rowless_syscalls);
		family = snapshot_find(&snapshot, "khist_cgroup_syscall_latency_seconds");
		for (unsigned int s = 0; family && s < family->series_count; s++)
			if (!strcmp(snapshot_label(&family->series[s], "cgroup"), path))
				samples = family->series[s].count;
		snapshot_free(&snapshot);
	}
	EXPECT(ok, getppids == CALLS / 10 && close_errors == FAILED_CLOSES,
	       "%s: %llu getppid for %d, %llu failed closes for %d", path,
	       (unsigned long long)getppids, CALLS / 10, (unsigned long long)close_errors,
	       FAILED_CLOSES);
	EXPECT(ok, samples == all_calls && all_calls >= CALLS / 10 + FAILED_CLOSES,
	       "latency samples %llu, calls %llu", (unsigned long long)samples,
	       (unsigned long long)all_calls);
	EXPECT(ok, moved_getppids == MOVED_CALLS && moved_calls >= MOVED_CALLS,
	       "%s: %llu getppid for %d after the move", cgroup.moved_path,
	       (unsigned long long)moved_getppids, MOVED_CALLS);
	/* Syscalls with no row, wherever they were made: in "other", each call. */
	EXPECT(ok, rowless_syscalls > 0 && other_calls == rowless,
	       "%llu calls under syscall=\"other\", %llu calls of the %u syscalls with no row",
	       (unsigned long long)other_calls, (unsigned long long)rowless, rowless_syscalls);
	ktap_print_msg("by cgroup: %llu calls in %s, %llu of them getppid; %llu getppid after moving "
		       "to %s; %llu calls of %u syscalls with no row under syscall=\"other\"",
		       (unsigned long long)all_calls, path, (unsigned long long)getppids,
		       (unsigned long long)moved_getppids, cgroup.moved_path,
		       (unsigned long long)other_calls, rowless_syscalls);
	loader_unload(root, collector_find("syscalls"));
	rmdir(root);
	test_cgroup_remove(&cgroup);
	ktap_test_result(ok, "calls_per_cgroup");
}

#define GRACE_COMM "khist-grace"

/* A child named GRACE_COMM makes @calls getppid in cgroup @dir. */
static bool getppids_in(const char *dir, int calls)
{
	int status;
	pid_t child = fork();

	if (child == 0) {
		prctl(PR_SET_NAME, GRACE_COMM);
		if (!cgroup_move_pid(dir, getpid()))
			_exit(1);
		for (int i = 0; i < calls; i++)
			syscall(SYS_getppid);
		_exit(0);
	}
	return child > 0 && waitpid(child, &status, 0) == child && WIFEXITED(status) &&
	       !WEXITSTATUS(status);
}

/* getppid calls of cgroup @path and the series of that label, with a grace period of @grace_s. */
static __u64 getppids_of(const char *root, const char *path, __u64 grace_s, unsigned int *series)
{
	struct snapshot_options options;
	struct error_context error = {};
	const struct snapshot_family *family;
	struct snapshot snapshot;
	__u64 calls = 0;

	*series = 0;
	snapshot_default_options(&options, root);
	options.cgroup_grace_ns = grace_s * 1000000000ULL;
	if (snapshot_take(&snapshot, &options, &error)) {
		ktap_print_msg("snapshot: %s", error.text);
		return ~0ULL;
	}
	family = snapshot_find(&snapshot, "khist_cgroup_syscalls");
	for (unsigned int s = 0; family && s < family->series_count; s++) {
		const char *cgroup = snapshot_label(&family->series[s], "cgroup");
		const char *name = snapshot_label(&family->series[s], "syscall");

		if (!strncmp(cgroup, "removed:", 8))
			*series += 1000;	/* a removed cgroup that lost its path */
		if (strcmp(cgroup, path) || strcmp(name, "getppid"))
			continue;
		calls += family->series[s].value;
		(*series)++;
	}
	/* The latency histogram of the cgroup is one series too, of every call. */
	family = snapshot_find(&snapshot, "khist_cgroup_syscall_latency_seconds");
	for (unsigned int s = 0; family && s < family->series_count; s++)
		if (!strcmp(snapshot_label(&family->series[s], "cgroup"), path) &&
		    family->series[s].count < calls)
			*series += 100;
	snapshot_free(&snapshot);
	return calls;
}

/* Exactly @want getppid of cgroup @path, in one series (none when 0), with a grace period of @grace_s. */
static bool calls_seen(const char *root, const char *path, __u64 grace_s, __u64 want,
		       const char *when)
{
	unsigned int series;
	__u64 calls = getppids_of(root, path, grace_s, &series);

	if (calls == want && series == (want ? 1 : 0))
		return true;
	ktap_print_msg("%s: %llu calls in %u series, want %llu in %u", when,
		       (unsigned long long)calls, series, (unsigned long long)want, want ? 1 : 0);
	return false;
}

/*
 * A removed cgroup keeps its series under its path for the grace period;
 * created again under the same path (a restarted service) within it, the
 * old and new rows are one series, their counts added, until both are gone.
 */
static void test_removed_cgroup(void)
{
	const char *name = "removed_cgroup_grace_period";
	struct loader_options options;
	enum khist_attach_mode mode;
	struct test_cgroup cgroup;
	char root[96];
	bool ok = true;
	int err;

	if (!test_cgroup_make(&cgroup, "grace", name))
		return;
	snprintf(root, sizeof(root), "%s-grace", test_root());
	loader_default_options(&options);
	options.pin_root = root;
	strcpy(options.filter_comm, GRACE_COMM);
	options.by_cgroup = 2;
	err = loader_load(collector_find("syscalls"), &options, &mode);
	EXPECT(ok, err == 0, "load --by-cgroup 2: %s", loader_error());
	EXPECT(ok, getppids_in(cgroup.dir, 300), "the first child failed");
	EXPECT(ok, rmdir(cgroup.dir) == 0, "rmdir %s: %s", cgroup.dir, strerror(errno));
	ok &= calls_seen(root, cgroup.path, 3600, 300, "removed, within the grace period");
	ok &= calls_seen(root, cgroup.path, 0, 0, "removed, past the grace period");

	/* Created again: a new cgroup (a new id, a new row) of the same path. */
	EXPECT(ok, mkdir(cgroup.dir, 0755) == 0, "mkdir %s: %s", cgroup.dir, strerror(errno));
	EXPECT(ok, getppids_in(cgroup.dir, 200), "the second child failed");
	ok &= calls_seen(root, cgroup.path, 3600, 500, "created again within the grace period");
	ok &= calls_seen(root, cgroup.path, 0, 200, "created again after the grace period");
	EXPECT(ok, rmdir(cgroup.dir) == 0, "rmdir %s: %s", cgroup.dir, strerror(errno));
	ok &= calls_seen(root, cgroup.path, 3600, 500, "both removed, within the grace period");
	ok &= calls_seen(root, cgroup.path, 0, 0, "both removed, past the grace period");
	ktap_print_msg("removed cgroup %s: 300 + 200 calls, one series while the rows follow "
		       "each other", cgroup.path);
	loader_unload(root, collector_find("syscalls"));
	rmdir(root);
	test_cgroup_remove(&cgroup);
	ktap_test_result(ok, "%s", name);
}

static void test_process_table(void)
{
	const struct snapshot_family *family;
	struct snapshot snapshot;
	bool ok = true, found = false;
	char pid[16];
	int err = test_snapshot(NULL, &snapshot);

	snprintf(pid, sizeof(pid), "%d", getpid());
	EXPECT(ok, err == 0, "no snapshot");
	family = err ? NULL : snapshot_find(&snapshot, "khist_process_syscalls");
	for (unsigned int i = 0; family && i < family->series_count; i++) {
		const struct snapshot_series *series = &family->series[i];

		if (strcmp(snapshot_label(series, "pid"), pid))
			continue;
		found = true;
		EXPECT(ok, series->value >= CALLS, "%llu syscalls", (unsigned long long)series->value);
		EXPECT(ok, !strcmp(snapshot_label(series, "comm"), "collect_syscall"), "comm '%s'",
		       snapshot_label(series, "comm"));
	}
	EXPECT(ok, found, "pid %d not in the table", getpid());
	EXPECT(ok, family && family->series_count == 1, "%u processes with a pid filter",
	       family ? family->series_count : 0);
	if (!err)
		snapshot_free(&snapshot);
	ktap_test_result(ok, "per_process_table_has_this_process_only");
}

static __u64 close_ebadf(void)
{
	return current_sum("khist_syscall_errors", "syscall", "close", "errno", "EBADF", NULL);
}

static void test_errors(void)
{
	__u64 before, after;
	bool ok = true;

	before = close_ebadf();
	for (int i = 0; i < FAILED_CLOSES; i++)
		syscall(SYS_close, -1);
	after = close_ebadf();
	EXPECT(ok, after - before == FAILED_CLOSES, "close/EBADF grew by %llu for %d",
	       (unsigned long long)(after - before), FAILED_CLOSES);
	ktap_test_result(ok, "errors_per_syscall_and_errno");
}

static void test_cli_views(void)
{
	char args[256], output[65536];
	json_object *root, *series, *count;
	__u64 calls;
	bool ok = true;
	int status;

	calls = syscall_count(SYS_getppid, false);
	snprintf(args, sizeof(args), "hist syscall_latency --slot getppid --json --pin-root %s",
		 test_root());
	status = run_khist(args, output, sizeof(output));
	root = json_tokener_parse(output);
	EXPECT(ok, status == 0 && root, "khist hist --json: status %d, output %.200s", status, output);
	if (root && json_object_object_get_ex(root, "series", &series)) {
		for (size_t i = 0; i < json_object_array_length(series); i++) {
			json_object *labels, *syscall;
			json_object *entry = json_object_array_get_idx(series, i);

			json_object_object_get_ex(entry, "labels", &labels);
			if (json_object_object_get_ex(labels, "syscall", &syscall) &&
			    !strcmp(json_object_get_string(syscall), "getppid") &&
			    json_object_object_get_ex(entry, "count", &count))
				EXPECT(ok, (__u64)json_object_get_uint64(count) >= CALLS &&
					   (__u64)json_object_get_uint64(count) <= calls + SLACK,
				       "JSON count %llu, map %llu",
				       (unsigned long long)json_object_get_uint64(count),
				       (unsigned long long)calls);
		}
	}
	json_object_put(root);

	snprintf(args, sizeof(args), "top syscalls --rows 3 --pin-root %s", test_root());
	status = run_khist(args, output, sizeof(output));
	EXPECT(ok, status == 0 && strstr(output, "\ngetppid "), "top syscalls: %s", output);
	ktap_test_result(ok, "cli_hist_json_and_top_agree");
}

/* A cgroup v2 filter counts the tasks in that cgroup, and none outside it. */
static void test_cgroup_filter(void)
{
	char mount_point[256] = "", line[512], dir[320], procs[340], root[96], pid[16];
	struct snapshot snapshot;
	__u64 calls = 0;
	struct loader_options options;
	enum khist_attach_mode mode;
	int go[2], status, fd, err;
	bool ok = true;
	FILE *mounts = fopen("/proc/self/mounts", "r");
	pid_t child;

	while (mounts && fgets(line, sizeof(line), mounts)) {
		char where[256], type[32];

		if (sscanf(line, "%*s %255s %31s", where, type) == 2 && !strcmp(type, "cgroup2"))
			snprintf(mount_point, sizeof(mount_point), "%s", where);
	}
	if (mounts)
		fclose(mounts);
	snprintf(dir, sizeof(dir), "%s/khist-test-%d", mount_point, getpid());
	if (!mount_point[0] || mkdir(dir, 0755)) {
		ktap_test_skip("cgroup_filter", "no writable cgroup v2 hierarchy");
		return;
	}
	if (pipe(go))
		ktap_exit_fail("pipe");
	child = fork();
	if (child == 0) {
		char byte;

		if (read(go[0], &byte, 1) != 1)
			_exit(1);
		for (int i = 0; i < 3000; i++)
			syscall(SYS_getppid);
		_exit(0);
	}
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
	snprintf(pid, sizeof(pid), "%d", child);
	fd = open(procs, O_WRONLY);
	if (fd < 0 || write(fd, pid, strlen(pid)) < 0) {
		ktap_test_skip("cgroup_filter", "cannot move a process into %s: %s", dir, strerror(errno));
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		rmdir(dir);
		return;
	}
	close(fd);
	snprintf(root, sizeof(root), "%s-cgroup", test_root());
	loader_default_options(&options);
	options.pin_root = root;
	options.filter_cgroup = dir;
	err = loader_load(collector_find("syscalls"), &options, &mode);
	EXPECT(ok, err == 0, "load with --cgroup: %s", loader_error());
	for (int i = 0; i < 2000; i++)
		syscall(SYS_getppid);	/* outside the cgroup: not counted */
	if (write(go[1], "g", 1) != 1 || waitpid(child, &status, 0) != child)
		ok = false;
	EXPECT(ok, test_snapshot(root, &snapshot) == 0, "no snapshot");
	calls = family_sum(&snapshot, "khist_syscalls", "syscall", "getppid", NULL);
	snapshot_free(&snapshot);
	EXPECT(ok, calls == 3000, "getppid counted %llu times, the cgroup made 3000",
	       (unsigned long long)calls);
	loader_unload(root, collector_find("syscalls"));
	rmdir(root);
	rmdir(dir);
	ktap_test_result(ok, "cgroup_filter");
}

int main(void)
{
	struct loader_options options;

	ktap_print_header();
	require_root_or_skip();
	ktap_set_plan(9);
	loader_default_options(&options);
	options.filter_tgid = getpid();
	load_or_fail("syscalls", &options);

	test_counts();
	test_hist_buckets_sum_to_count();
	test_rows_on_demand();
	test_process_table();
	test_errors();
	test_cli_views();
	test_cgroup_filter();
	test_by_cgroup();
	test_removed_cgroup();

	unload_all();
	ktap_finished();
}
