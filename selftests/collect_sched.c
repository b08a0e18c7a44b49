// SPDX-License-Identifier: GPL-2.0
/*
 * sched collector against a pipe ping-pong pinned to one CPU: every round
 * trip switches both tasks out and in, so each histogram gets a known
 * minimum of samples. Runs in each attach mode the kernel offers.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include "cgroup.h"
#include "collector_util.h"

#define ROUNDS 5000
#define COMM "khist-pingpong"

/*
 * Two processes named COMM bounce a byte ROUNDS times on CPU 0 (in @cgroup,
 * if set); with @then, each moves itself there half way.
 */
static int ping_pong_moving(const char *cgroup, const char *then)
{
	int there[2], back[2], status;
	cpu_set_t cpu0;
	pid_t child;
	char byte = 0;

	CPU_ZERO(&cpu0);
	CPU_SET(0, &cpu0);
	if (pipe(there) || pipe(back))
		return -1;
	child = fork();
	if (child == 0) {
		if (cgroup && !cgroup_move_pid(cgroup, getpid()))
			_exit(1);
		sched_setaffinity(0, sizeof(cpu0), &cpu0);
		prctl(PR_SET_NAME, COMM);
		for (int i = 0; i < ROUNDS; i++)
			if ((then && i == ROUNDS / 2 && !cgroup_move_pid(then, getpid())) ||
			    read(there[0], &byte, 1) != 1 || write(back[1], &byte, 1) != 1)
				_exit(1);
		_exit(0);
	}
	if (fork() == 0) {
		if (cgroup && !cgroup_move_pid(cgroup, getpid()))
			_exit(1);
		sched_setaffinity(0, sizeof(cpu0), &cpu0);
		prctl(PR_SET_NAME, COMM);
		for (int i = 0; i < ROUNDS; i++)
			if ((then && i == ROUNDS / 2 && !cgroup_move_pid(then, getpid())) ||
			    write(there[1], &byte, 1) != 1 || read(back[0], &byte, 1) != 1)
				_exit(1);
		_exit(0);
	}
	close(there[0]), close(there[1]), close(back[0]), close(back[1]);
	for (int i = 0; i < 2; i++) {
		if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
			return -1;
	}
	return 0;
}

static int ping_pong_in(const char *cgroup)
{
	return ping_pong_moving(cgroup, NULL);
}

static int ping_pong(void)
{
	return ping_pong_in(NULL);
}

static void check_mode(const char *mode_name)
{
	struct loader_options options;
	enum khist_attach_mode mode;
	__u64 runq, offcpu, oncpu, switches, forks;
	char name[64];
	bool ok = true;
	int err;

	loader_default_options(&options);
	options.mode = collector_mode_by_name(mode_name);
	strcpy(options.filter_comm, COMM);
	options.pin_root = test_root();
	err = loader_load(collector_find("sched"), &options, &mode);
	snprintf(name, sizeof(name), "%s_ping_pong_samples", mode_name);
	if (err) {
		ktap_test_skip(name, "%s", loader_error());
		return;
	}
	EXPECT(ok, ping_pong() == 0, "ping-pong failed");
	runq = hist_total("runq_latency", 0, 0);
	offcpu = hist_total("offcpu_time", 0, 0);
	oncpu = hist_total("oncpu_slice", 0, 0);
	/* Wakeup preemption turns some of them involuntary: count both kinds. */
	switches = pinned_percpu("sched", "switch_counts", KHIST_SWITCH_KINDS, 1,
				 KHIST_SWITCH_VOLUNTARY, 0) +
		   pinned_percpu("sched", "switch_counts", KHIST_SWITCH_KINDS, 1,
				 KHIST_SWITCH_INVOLUNTARY, 0);
	forks = pinned_percpu("sched", "fork_count", 1, 1, 0, 0);
	/* Each round blocks each side once: at least 2 switches out and in per round. */
	EXPECT(ok, offcpu >= 2 * ROUNDS - 10, "off-CPU samples %llu", (unsigned long long)offcpu);
	EXPECT(ok, oncpu >= 2 * ROUNDS - 10, "on-CPU samples %llu", (unsigned long long)oncpu);
	EXPECT(ok, runq >= 2 * ROUNDS - 10, "run-queue samples %llu", (unsigned long long)runq);
	EXPECT(ok, switches >= 2 * ROUNDS, "switches %llu", (unsigned long long)switches);
	EXPECT(ok, forks >= 2, "forks %llu", (unsigned long long)forks);
	EXPECT(ok, mode == (enum khist_attach_mode)options.mode, "attached as %s",
	       collector_mode_name(mode));
	ktap_print_msg("%s: %d rounds -> runq %llu, off-CPU %llu, on-CPU %llu samples", mode_name,
		       ROUNDS, (unsigned long long)runq, (unsigned long long)offcpu,
		       (unsigned long long)oncpu);
	ktap_test_result(ok, "%s", name);
	loader_unload(test_root(), collector_find("sched"));
}

static void test_cpu_task(void)
{
	struct loader_options options;
	struct khist_cpu_task task = {};
	cpu_set_t cpu0, saved;
	__u32 cpu = 0;
	bool ok = true;
	int fd;

	loader_default_options(&options);
	load_or_fail("sched", &options);
	/* Switch on CPU 0 for sure: an idle CPU only switches to and from the idle task. */
	CPU_ZERO(&cpu0);
	CPU_SET(0, &cpu0);
	sched_getaffinity(0, sizeof(saved), &saved);
	sched_setaffinity(0, sizeof(cpu0), &cpu0);
	for (int i = 0; i < 10; i++)
		usleep(1000);
	sched_setaffinity(0, sizeof(saved), &saved);
	fd = reader_open(test_root(), "sched", "cpu_task", NULL);
	EXPECT(ok, fd >= 0 && bpf_map_lookup_elem(fd, &cpu, &task) == 0, "lookup: %s", strerror(errno));
	/* CPU 0 switched since loading: whatever runs there now has a name. */
	EXPECT(ok, task.comm[0] != '\0', "CPU 0 task %u '%s'", task.pid, task.comm);
	if (fd >= 0)
		close(fd);
	ktap_test_result(ok, "cpu_task_array");
	loader_unload(test_root(), collector_find("sched"));
}

/* The sum of @family's series of one cgroup (by its path below the mount), and of @kind. */
static __u64 cgroup_sum(const char *root, const char *family, const char *cgroup,
			const char *kind)
{
	struct snapshot snapshot;
	__u64 sum;

	if (test_snapshot(root, &snapshot))
		return ~0ULL;
	sum = kind ? family_sum(&snapshot, family, "cgroup", cgroup, "kind", kind, NULL) :
		     family_sum(&snapshot, family, "cgroup", cgroup, NULL);
	snapshot_free(&snapshot);
	return sum;
}

static __u64 runq_of(const char *root, const char *cgroup)
{
	return cgroup_sum(root, "khist_runq_latency_seconds", cgroup, NULL);
}

/* The cgroups other than "other" that @family has series of. */
static unsigned int cgroups_in(const char *root, const char *family)
{
	const struct snapshot_family *found;
	struct snapshot snapshot;
	unsigned int count = 0;

	if (test_snapshot(root, &snapshot))
		return ~0U;
	found = snapshot_find(&snapshot, family);
	for (unsigned int s = 0; found && s < found->series_count; s++) {
		const char *cgroup = snapshot_label(&found->series[s], "cgroup");
		bool seen = false;

		for (unsigned int before = 0; cgroup && before < s && !seen; before++) {
			const char *other = snapshot_label(&found->series[before], "cgroup");

			seen = other && !strcmp(other, cgroup);
		}
		count += cgroup && strcmp(cgroup, "other") && !seen;
	}
	snapshot_free(&snapshot);
	return count;
}

/*
 * Series per cgroup at depth 2: a ping-pong in one nested cgroup, nothing
 * in its sibling; then a table of one cgroup, where the second one shows up
 * as "other" and nothing is lost.
 */
static void test_by_cgroup(const char *mode_name)
{
	char mount[256], top[320], busy[352], idle[352], name[64], root[96];
	const char *busy_path, *idle_path;
	struct loader_options options;
	enum khist_attach_mode mode;
	__u64 in_busy, in_idle, other, in_first;
	bool ok = true;
	int err;

	snprintf(name, sizeof(name), "%s_series_per_cgroup", mode_name);
	if (cgroup_mount_point(mount, sizeof(mount))) {
		ktap_test_skip(name, "no cgroup v2 hierarchy");
		return;
	}
	snprintf(top, sizeof(top), "%s/khist-test-%d", mount, getpid());
	snprintf(busy, sizeof(busy), "%s/busy", top);
	snprintf(idle, sizeof(idle), "%s/idle", top);
	if (mkdir(top, 0755) || mkdir(busy, 0755) || mkdir(idle, 0755)) {
		ktap_test_skip(name, "cannot create cgroups under %s: %s", mount, strerror(errno));
		rmdir(busy), rmdir(idle), rmdir(top);
		return;
	}
	busy_path = busy + strlen(mount);
	idle_path = idle + strlen(mount);
	snprintf(root, sizeof(root), "%s-cgroup", test_root());
	loader_default_options(&options);
	options.mode = collector_mode_by_name(mode_name);
	options.pin_root = root;
	strcpy(options.filter_comm, COMM);
	options.by_cgroup = 2;
	err = loader_load(collector_find("sched"), &options, &mode);
	EXPECT(ok, err == 0, "load --by-cgroup 2: %s", loader_error());
	EXPECT(ok, ping_pong_in(busy) == 0, "ping-pong in %s failed", busy);
	in_busy = runq_of(root, busy_path);
	in_idle = runq_of(root, idle_path);
	/* More when preempted besides (a debug kernel under TCG: +3 %): not twice as many. */
	EXPECT(ok, in_busy >= 2 * ROUNDS - 10 && in_busy <= 2 * ROUNDS + ROUNDS / 5,
	       "run-queue samples in %s: %llu for %d rounds", busy_path,
	       (unsigned long long)in_busy, ROUNDS);
	EXPECT(ok, in_idle == 0, "%llu samples in %s, where nothing ran", (unsigned long long)in_idle,
	       idle_path);
	{
		/*
		 * Switch counts are of every task: in the cgroup, one switch out per
		 * switch in (a read that blocks, or a writer preempted by the reader
		 * it woke), and one as each of the two exits.
		 */
		__u64 voluntary = cgroup_sum(root, "khist_context_switches", busy_path, "voluntary");
		__u64 involuntary = cgroup_sum(root, "khist_context_switches", busy_path,
					       "involuntary");
		__u64 idle_switches = cgroup_sum(root, "khist_context_switches", idle_path, NULL);

		EXPECT(ok, voluntary + involuntary >= in_busy && voluntary + involuntary <= in_busy + 20 &&
			   voluntary >= ROUNDS,
		       "switches in %s: %llu voluntary, %llu involuntary for %llu run-queue samples",
		       busy_path, (unsigned long long)voluntary, (unsigned long long)involuntary,
		       (unsigned long long)in_busy);
		EXPECT(ok, idle_switches == 0, "%llu switches in %s, where nothing ran",
		       (unsigned long long)idle_switches, idle_path);
		ktap_print_msg("%s by cgroup: %llu voluntary and %llu involuntary switches in %s",
			       mode_name, (unsigned long long)voluntary,
			       (unsigned long long)involuntary, busy_path);
	}
	{
		char output[8192], args[256], want[512];
		int status;

		/* khist top cgroups: the busy cgroup's row, with the same count. */
		snprintf(args, sizeof(args), "top cgroups --json --pin-root %s", root);
		status = run_khist(args, output, sizeof(output));
		snprintf(want, sizeof(want), "{\"cgroup\":\"%s\",\"khist_runq_latency_seconds\":%llu,",
			 busy_path, (unsigned long long)in_busy);
		for (char *at = strstr(want, "/"); at; at = strstr(at + 2, "/")) {
			/* json-c escapes slashes */
			memmove(at + 1, at, strlen(at) + 1);
			*at = '\\';
		}
		EXPECT(ok, status == 0 && strstr(output, want), "top cgroups: %d %s, want %s",
		       status, output, want);
	}
	{
		/* Tasks that move half way: their cached rows follow them. */
		__u64 before = in_busy, stayed, moved;

		EXPECT(ok, ping_pong_moving(busy, idle) == 0, "ping-pong from %s to %s failed",
		       busy, idle);
		stayed = runq_of(root, busy_path) - before;
		moved = runq_of(root, idle_path);
		EXPECT(ok, stayed >= ROUNDS - 10 && stayed <= ROUNDS + ROUNDS / 5 &&
			   moved >= ROUNDS - 10 && moved <= ROUNDS + ROUNDS / 5,
		       "moved half way: %llu run-queue samples in %s, %llu in %s, for %d rounds "
		       "in each", (unsigned long long)stayed, busy_path, (unsigned long long)moved,
		       idle_path, ROUNDS / 2);
		ktap_print_msg("%s by cgroup: moved half way, %llu run-queue samples before, %llu "
			       "after", mode_name, (unsigned long long)stayed,
			       (unsigned long long)moved);
	}
	ktap_print_msg("%s by cgroup: %llu run-queue samples in %s, %llu in %s", mode_name,
		       (unsigned long long)in_busy, busy_path, (unsigned long long)in_idle, idle_path);
	loader_unload(root, collector_find("sched"));

	/* Depth 1: the ping-pong two levels down counts in its ancestor one level down. */
	options.by_cgroup = 1;
	err = loader_load(collector_find("sched"), &options, &mode);
	EXPECT(ok, err == 0, "load --by-cgroup 1: %s", loader_error());
	EXPECT(ok, ping_pong_in(busy) == 0, "ping-pong in %s failed", busy);
	in_busy = runq_of(root, top + strlen(mount));
	EXPECT(ok, in_busy >= 2 * ROUNDS - 10 && runq_of(root, busy_path) == 0,
	       "depth 1: %llu run-queue samples in %s", (unsigned long long)in_busy,
	       top + strlen(mount));
	loader_unload(root, collector_find("sched"));
	options.by_cgroup = 2;

	/* One row: the first cgroup keeps it, the next one's samples go to "other". */
	options.cgroup_rows = 2;
	err = loader_load(collector_find("sched"), &options, &mode);
	EXPECT(ok, err == 0, "load --cgroups 1: %s", loader_error());
	EXPECT(ok, ping_pong_in(busy) == 0 && ping_pong_in(idle) == 0, "ping-pongs failed");
	in_first = runq_of(root, busy_path);
	other = runq_of(root, "other");
	/* Tasks the filter leaves out take no row: the switch counts have the same one cgroup. */
	EXPECT(ok, in_first >= 2 * ROUNDS - 10 && other >= 2 * ROUNDS - 10 &&
		   runq_of(root, idle_path) == 0 && cgroups_in(root, "khist_runq_latency_seconds") == 1 &&
		   cgroups_in(root, "khist_context_switches") == 1,
	       "one row: %llu in %s, %llu in other, %u and %u cgroups", (unsigned long long)in_first,
	       busy_path, (unsigned long long)other, cgroups_in(root, "khist_runq_latency_seconds"),
	       cgroups_in(root, "khist_context_switches"));
	{
		struct reader_rows used;

		EXPECT(ok, reader_rows(root, "sched", CGROUP_USED_MAP, &used, NULL) == 0 &&
			   used.count == 2 && reader_value_u64(&used, 1, 0) >= 1,
		       "no cgroup counted as past the table");
		reader_rows_free(&used);
	}
	loader_unload(root, collector_find("sched"));

	/* Bad input: a depth out of range, no cgroups of its own. */
	{
		char output[4096], args[256];
		int status;

		snprintf(args, sizeof(args), "load sched --by-cgroup 16 --pin-root %s", root);
		status = run_khist(args, output, sizeof(output));
		EXPECT(ok, status == 2 && strstr(output, "--by-cgroup takes a number from 0 to 15"),
		       "depth 16: %d %s", status, output);
		snprintf(args, sizeof(args), "load sched --by-cgroup 2 --cgroups 0 --pin-root %s", root);
		status = run_khist(args, output, sizeof(output));
		EXPECT(ok, status == 2 && strstr(output, "--cgroups"), "0 cgroups: %d %s", status,
		       output);
		/*
		 * A host without cgroup v2 (v1 only, as the host's v1 controllers
		 * stay): in a mount namespace of its own, without the cgroup2 mount.
		 */
		snprintf(args, sizeof(args), "unshare -m sh -c 'umount -l \"$(awk \"\\$3 == \\\"cgroup2\\\" "
			 "{ print \\$2 }\" /proc/mounts)\" && exec %s/khist load sched --by-cgroup 2 "
			 "--pin-root %s' 2>&1", build_dir(), root);
		status = run_shell(args, output, sizeof(output));
		EXPECT(ok, status == 1 && strstr(output, "series by cgroup need a cgroup v2 hierarchy: "
						 "none is mounted") && !strchr(strchr(output, '\n') ?
						 strchr(output, '\n') + 1 : "", '\n'),
		       "no cgroup2: %d %s", status, output);
	}
	rmdir(root);
	rmdir(busy), rmdir(idle), rmdir(top);
	ktap_test_result(ok, "%s", name);
}

int main(void)
{
	ktap_print_header();
	require_root_or_skip();
	ktap_set_plan(5);
	check_mode("tp_btf");
	check_mode("raw_tp");
	test_by_cgroup("tp_btf");
	test_by_cgroup("raw_tp");
	test_cpu_task();
	unload_all();
	ktap_finished();
}
