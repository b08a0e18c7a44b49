// SPDX-License-Identifier: GPL-2.0
/*
 * Pinning and lifecycle through the khist CLI: collectors keep counting
 * after the loader exits, reloads reuse matching maps, a mismatch is a
 * clear error until --reset, unload removes exactly its pins, pins get the
 * owner and mode asked for, the run-time pid filter works, and bad input
 * gets the documented exit codes and messages.
 */
#include <dirent.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <khist_hist.h>

#include "collector_util.h"

static char args[1024], output[16384];

static int khist(const char *fmt, const char *extra)
{
	char command[512];

	snprintf(command, sizeof(command), fmt, extra ? extra : "");
	snprintf(args, sizeof(args), "%s --pin-root %s", command, test_root());
	return run_khist(args, output, sizeof(output));
}

static __u64 total_syscalls(void)
{
	return current_sum("khist_syscalls", NULL);
}

/* The id of the link pinned for @program, 0 if none. */
static __u32 link_id(const char *collector, const char *program)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s/links/%s", test_root(), collector, program);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	if (bpf_link_get_info_by_fd(fd, &info, &len))
		info.id = 0;
	close(fd);
	return info.id;
}

/*
 * A reload that fails at each step after the new programs are attached
 * (pinning a link aside, the swap, writing meta) leaves the loaded
 * collector as it was: the same links, nothing left aside, still counting;
 * the same for a reload that would change the attach mode. Steps fail on
 * purpose in khist-faults, the CLI built with KHIST_FAULT_INJECTION.
 */
static void test_failed_reload_keeps_collector(void)
{
	static const char *const steps[][2] = {
		{ "pin_link", "pinning link" }, { "exchange", "swapping" }, { "meta", "writing meta" },
	};
	char command[1024], staging[PATH_MAX];
	__u32 enter, exit_link, tp_switch;
	bool ok = true;
	int status;

	EXPECT(ok, khist("load syscalls", NULL) == 0, "load: %s", output);
	enter = link_id("syscalls", "syscalls_enter");
	exit_link = link_id("syscalls", "syscalls_exit");
	EXPECT(ok, enter && exit_link, "no links pinned");
	snprintf(staging, sizeof(staging), "%s/syscalls/links_new", test_root());
	for (unsigned int i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		__u64 before, after;

		snprintf(command, sizeof(command), "KHIST_FAIL_LOAD_AT=%s %s/selftests/khist-faults load "
			 "syscalls --pin-root %s 2>&1", steps[i][0], build_dir(), test_root());
		status = run_shell(command, output, sizeof(output));
		EXPECT(ok, status == 1 && strstr(output, steps[i][1]), "%s: status %d: %s", steps[i][0],
		       status, output);
		EXPECT(ok, link_id("syscalls", "syscalls_enter") == enter &&
			   link_id("syscalls", "syscalls_exit") == exit_link,
		       "%s: links %u %u, were %u %u", steps[i][0], link_id("syscalls", "syscalls_enter"),
		       link_id("syscalls", "syscalls_exit"), enter, exit_link);
		EXPECT(ok, access(staging, F_OK) && errno == ENOENT, "%s: %s left behind", steps[i][0],
		       staging);
		before = syscall_count(SYS_getppid, false);
		for (int n = 0; n < 1000; n++)
			syscall(SYS_getppid);
		after = syscall_count(SYS_getppid, false);
		EXPECT(ok, after >= before + 1000 && after <= before + 1100,
		       "%s: getppid %llu -> %llu after 1000 calls", steps[i][0],
		       (unsigned long long)before, (unsigned long long)after);
	}

	/* A failed change of mode keeps the mode. */
	EXPECT(ok, khist("load sched --mode tp_btf", NULL) == 0, "load sched: %s", output);
	tp_switch = link_id("sched", "sched_switch_btf");
	snprintf(command, sizeof(command), "KHIST_FAIL_LOAD_AT=exchange %s/selftests/khist-faults load "
		 "sched --mode raw_tp --pin-root %s 2>&1", build_dir(), test_root());
	status = run_shell(command, output, sizeof(output));
	EXPECT(ok, status == 1, "mode change: status %d: %s", status, output);
	EXPECT(ok, tp_switch && link_id("sched", "sched_switch_btf") == tp_switch &&
		   !link_id("sched", "sched_switch_raw"), "mode change: links %u %u (were %u)",
	       link_id("sched", "sched_switch_btf"), link_id("sched", "sched_switch_raw"), tp_switch);
	EXPECT(ok, khist("status", NULL) == 0 && strstr(output, "sched: loaded, attach mode tp_btf"),
	       "status: %s", output);

	/* And one that works replaces both links in one step, keeping the counts. */
	{
		__u64 before = syscall_count(SYS_getppid, false), after;

		EXPECT(ok, khist("load syscalls", NULL) == 0, "reload: %s", output);
		after = syscall_count(SYS_getppid, false);
		EXPECT(ok, link_id("syscalls", "syscalls_enter") != enter &&
			   link_id("syscalls", "syscalls_exit") != exit_link &&
			   link_id("syscalls", "syscalls_enter") && link_id("syscalls", "syscalls_exit"),
		       "reload kept the old links");
		EXPECT(ok, after >= before && access(staging, F_OK) && errno == ENOENT,
		       "reload: getppid %llu -> %llu", (unsigned long long)before,
		       (unsigned long long)after);
	}
	khist("unload sched", NULL);
	ktap_test_result(ok, "failed_reload_keeps_the_collector_counting");
}

static __u32 map_id(const char *collector, const char *map)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd = reader_open(test_root(), collector, map, NULL);

	if (fd < 0)
		return 0;
	bpf_map_get_info_by_fd(fd, &info, &len);
	close(fd);
	return info.id;
}

static void test_survives_loader_exit(void)
{
	__u64 first, second;
	bool ok = true;
	int status = khist("load syscalls", NULL);

	EXPECT(ok, status == 0, "khist load: %d %s", status, output);
	EXPECT(ok, strstr(output, "syscalls: loaded, attach mode raw_tp") != NULL, "said: %s", output);
	first = total_syscalls();
	for (int i = 0; i < 1000; i++)
		syscall(SYS_getppid);
	second = total_syscalls();
	EXPECT(ok, second >= first + 1000, "counts %llu then %llu", (unsigned long long)first,
	       (unsigned long long)second);
	ktap_test_result(ok, "counts_after_the_loader_exited");
}

static void test_reload_reuses(void)
{
	__u32 id = map_id("syscalls", "syscall_latency_hist");
	__u64 before = total_syscalls();
	bool ok = true;
	int status = khist("load syscalls", NULL);

	EXPECT(ok, status == 0, "reload: %d %s", status, output);
	EXPECT(ok, id && map_id("syscalls", "syscall_latency_hist") == id, "map id %u -> %u", id,
	       map_id("syscalls", "syscall_latency_hist"));
	EXPECT(ok, total_syscalls() >= before, "counts went back from %llu", (unsigned long long)before);
	ktap_test_result(ok, "reload_reuses_the_pinned_maps");
}

static void test_mismatch(void)
{
	char expected[256];
	struct khist_meta meta;
	bool ok = true;
	int status = khist("load syscalls --layout log-linear --precision 3", NULL);

	/* Loaded with the default layout (exponential, schema 3) before. */
	snprintf(expected, sizeof(expected), "pinned map %s/syscalls/syscall_latency_hist does not "
		 "match: value_size %zu, this load needs %zu", test_root(),
		 KHIST_HIST_ROW_WORDS(buckets_exp_table(3, KHIST_UNIT_NS)->buckets) * sizeof(__u64),
		 KHIST_HIST_ROW_WORDS(khist_hist_buckets(3)) * sizeof(__u64));
	EXPECT(ok, status == 1 && strstr(output, expected), "status %d: %s", status, output);
	EXPECT(ok, strstr(output, "--reset") != NULL, "no hint at --reset: %s", output);
	ktap_test_result(ok, "mismatched_pinned_map_is_a_clear_error");

	ok = true;
	status = khist("load syscalls --layout log-linear --precision 3 --reset", NULL);
	EXPECT(ok, status == 0, "--reset: %d %s", status, output);
	EXPECT(ok, reader_meta(test_root(), "syscalls", &meta, NULL) == 0 && meta.precision == 3 &&
		   meta.layout == KHIST_LAYOUT_LOG_LINEAR, "layout %u precision %u after --reset",
	       meta.layout, meta.precision);
	/* A plain reload keeps the layout and precision the maps have. */
	status = khist("load syscalls", NULL);
	EXPECT(ok, status == 0 && reader_meta(test_root(), "syscalls", &meta, NULL) == 0 &&
		   meta.precision == 3 && meta.layout == KHIST_LAYOUT_LOG_LINEAR,
	       "plain reload: %d, layout %u precision %u: %s", status, meta.layout, meta.precision,
	       output);
	/* Back to the default layout, as --reset replaces the maps again. */
	status = khist("load syscalls --layout exponential --reset", NULL);
	EXPECT(ok, status == 0 && reader_meta(test_root(), "syscalls", &meta, NULL) == 0 &&
		   meta.precision == 3 && meta.layout == KHIST_LAYOUT_EXPONENTIAL,
	       "exponential again: %d, layout %u precision %u: %s", status, meta.layout,
	       meta.precision, output);
	ktap_test_result(ok, "reset_replaces_mismatched_maps");
}

static int count_entries(const char *dir)
{
	struct dirent *entry;
	int count = 0;
	DIR *d = opendir(dir);

	while (d && (entry = readdir(d)))
		count += entry->d_name[0] != '.';
	if (d)
		closedir(d);
	return d ? count : -1;
}

static void test_unload_exact(void)
{
	char sched_dir[256], other[256], syscalls_dir[256];
	int sched_before, status;
	bool ok = true;

	status = khist("load sched", NULL);
	EXPECT(ok, status == 0, "load sched: %s", output);
	snprintf(sched_dir, sizeof(sched_dir), "%s/sched", test_root());
	snprintf(syscalls_dir, sizeof(syscalls_dir), "%s/syscalls", test_root());
	snprintf(other, sizeof(other), "%s/not-khist", test_root());
	mkdir(other, 0700);
	sched_before = count_entries(sched_dir);
	status = khist("unload syscalls", NULL);
	EXPECT(ok, status == 0 && strstr(output, "syscalls: unloaded"), "unload: %d %s", status, output);
	EXPECT(ok, access(syscalls_dir, F_OK) != 0, "%s still there", syscalls_dir);
	EXPECT(ok, count_entries(sched_dir) == sched_before && sched_before > 10,
	       "sched pins %d -> %d", sched_before, count_entries(sched_dir));
	EXPECT(ok, access(other, F_OK) == 0, "unrelated %s removed", other);
	rmdir(other);
	status = khist("unload syscalls", NULL);
	EXPECT(ok, status == 1 && strstr(output, "syscalls is not loaded"), "second unload: %d %s",
	       status, output);
	ktap_test_result(ok, "unload_removes_exactly_its_pins");
}

static void test_owner_mode(void)
{
	struct group *group = getgrnam("nogroup");
	char path[256], as_member[1024];
	struct stat st = {};
	bool ok = true;
	int status;

	if (!group) {
		ktap_test_skip("pins_get_the_owner_and_mode_asked_for", "no group 'nogroup'");
		ktap_test_skip("group_member_reads_0640_pins_not_0600", "no group 'nogroup'");
		return;
	}
	status = khist("load syscalls --pin-mode 0640 --pin-group nogroup", NULL);
	EXPECT(ok, status == 0, "load: %s", output);
	snprintf(path, sizeof(path), "%s/syscalls/syscall_latency_hist", test_root());
	EXPECT(ok, stat(path, &st) == 0 && (st.st_mode & 07777) == 0640 && st.st_gid == group->gr_gid &&
		   st.st_uid == 0, "%s: mode %o gid %u", path, st.st_mode & 07777, st.st_gid);
	snprintf(path, sizeof(path), "%s/syscalls", test_root());
	EXPECT(ok, stat(path, &st) == 0 && (st.st_mode & 07777) == 0750, "dir mode %o",
	       st.st_mode & 07777);
	EXPECT(ok, stat(test_root(), &st) == 0 && (st.st_mode & 07777) == 0750 &&
		   st.st_gid == group->gr_gid, "pin root mode %o gid %u", st.st_mode & 07777, st.st_gid);
	ktap_test_result(ok, "pins_get_the_owner_and_mode_asked_for");

	/*
	 * A member of the group with CAP_BPF (not root) reads them; 0600 shuts
	 * it out. Needs util-linux's setpriv (busybox's has no --reuid).
	 */
	if (system("setpriv --version 2>&1 | grep -q util-linux")) {
		ktap_test_skip("group_member_reads_0640_pins_not_0600", "no util-linux setpriv");
		return;
	}
	ok = true;
	snprintf(as_member, sizeof(as_member),
		 "setpriv --reuid=65534 --regid=%u --clear-groups --inh-caps=+bpf --ambient-caps=+bpf "
		 "%s/khist hist syscall_latency --json --pin-root %s 2>&1",
		 group->gr_gid, build_dir(), test_root());
	status = run_shell(as_member, output, sizeof(output));
	EXPECT(ok, status == 0 && strstr(output, "\"name\":\"syscall_latency\""),
	       "0640: %d %s", status, output);
	status = khist("unload syscalls", NULL) || khist("load syscalls", NULL);
	EXPECT(ok, status == 0, "reload 0600: %s", output);
	status = run_shell(as_member, output, sizeof(output));
	EXPECT(ok, status == 1 && strstr(output, "/syscalls/meta: Permission denied (its mode and group "
					  "do not let this user read it: run as root, or in its group "
					  "with CAP_BPF)\n"),
	       "0600: %d %s", status, output);
	ktap_test_result(ok, "group_member_reads_0640_pins_not_0600");
}

static void test_runtime_filter(void)
{
	char pid[32];
	__u64 before, after;
	bool ok = true;
	int status;

	snprintf(pid, sizeof(pid), "%d", getppid());	/* a process that makes no getppid() calls */
	status = khist("filter --pid %s", pid);
	EXPECT(ok, status == 0, "filter: %d %s", status, output);
	before = syscall_count(SYS_getppid, false);
	for (int i = 0; i < 1000; i++)
		syscall(SYS_getppid);
	after = syscall_count(SYS_getppid, false);
	EXPECT(ok, after == before, "filtered-out calls counted: %llu -> %llu",
	       (unsigned long long)before, (unsigned long long)after);
	status = khist("filter --pid 0", NULL);
	for (int i = 0; i < 1000; i++)
		syscall(SYS_getppid);
	after = syscall_count(SYS_getppid, false);
	EXPECT(ok, status == 0 && after >= before + 1000, "after clearing the filter: %llu -> %llu",
	       (unsigned long long)before, (unsigned long long)after);
	ktap_test_result(ok, "run_time_pid_filter");
}

/*
 * The CLI as a child whose standard output is *out; its pid. Started with
 * exec so that the pid is the CLI's own.
 */
static pid_t start_khist(const char *command, FILE **out)
{
	int fds[2];
	pid_t pid;

	if (pipe(fds))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execl("/bin/sh", "sh", "-c", command, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	*out = pid > 0 ? fdopen(fds[0], "r") : NULL;
	if (!*out)
		close(fds[0]);
	return pid;
}

/* --clear --interval: N tables, each with only its own interval's calls. */
static void test_hist_clear(void)
{
	char command[512], pid[32], *line, *next;
	unsigned int tables = 0;
	int status = -1;
	bool ok = true;
	FILE *out;
	pid_t cli;

	snprintf(pid, sizeof(pid), "%d", getpid());
	EXPECT(ok, khist("filter --pid %s", pid) == 0, "filter: %s", output);
	snprintf(command, sizeof(command), "exec %s/khist hist syscall_latency --slot getppid --json "
		 "--clear --interval 2 --count 2 --pin-root %s",
		 build_dir(), test_root());
	cli = start_khist(command, &out);
	if (cli < 0 || !out) {
		ktap_test_result(false, "hist_clear_shows_each_interval");
		return;
	}
	EXPECT(ok, wait_until_sleeping(cli, 60), "the CLI never slept after its baseline");
	for (int i = 0; i < 700; i++)	/* in the first interval */
		syscall(SYS_getppid);
	output[fread(output, 1, sizeof(output) - 1, out)] = '\0';
	fclose(out);
	EXPECT(ok, waitpid(cli, &status, 0) == cli && WIFEXITED(status) &&
		   WEXITSTATUS(status) == 0, "exit status %d", status);
	for (line = output; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (!strstr(line, "\"name\":\"syscall_latency\""))
			continue;
		tables++;
		/* Only this process is counted (run-time filter), one series (--slot). */
		EXPECT(ok, strstr(line, tables == 1 ?
				  "\"series\":[{\"labels\":{\"syscall\":\"getppid\"},\"count\":700," :
				  "\"series\":[{\"labels\":{\"syscall\":\"getppid\"},\"count\":0,") &&
			   !strstr(line, "\"syscall\":\"read\""), "table %u: %s", tables, line);
	}
	EXPECT(ok, tables == 2, "%u tables", tables);
	EXPECT(ok, khist("filter --pid 0", NULL) == 0, "filter: %s", output);
	ktap_test_result(ok, "hist_clear_shows_each_interval");
}

static void test_bad_input(void)
{
	bool ok = true;
	int status;

	status = run_khist("hist no_such_histogram", output, sizeof(output));
	EXPECT(ok, status == 2 && strstr(output, "no histogram 'no_such_histogram'"), "%d %s", status, output);
	status = run_khist("load --precision 9 syscalls", output, sizeof(output));
	EXPECT(ok, status == 2 && strstr(output, "--precision takes a number from 0 to 5"), "%d %s",
	       status, output);
	status = run_khist("load nosuch", output, sizeof(output));
	EXPECT(ok, status == 2 && strstr(output, "unknown collector 'nosuch'"), "%d %s", status, output);
	status = run_khist("top everything", output, sizeof(output));
	EXPECT(ok, status == 2, "top everything: %d", status);
	status = run_khist("frobnicate", output, sizeof(output));
	EXPECT(ok, status == 2 && strstr(output, "unknown command 'frobnicate'"), "%d %s", status, output);
	status = khist("hist vfs_latency", NULL);
	EXPECT(ok, status == 1 && strstr(output, "/vfs/meta: No such file or directory") &&
		   strstr(output, "is the vfs collector loaded?"), "%d %s", status, output);
	status = khist("load syscalls --mode glue", NULL);
	EXPECT(ok, status == 1 && strstr(output, "has no attach mode 'glue'"), "%d %s", status, output);
	/* A collector named many times is handled once (it once overran a fixed array). */
	status = khist("unload vfs vfs vfs vfs vfs vfs vfs vfs vfs vfs vfs vfs", NULL);
	EXPECT(ok, status == 1 && strstr(output, "khist: vfs: vfs is not loaded (no ") == output &&
		   strchr(output, '\n') == output + strlen(output) - 1, "%d %s", status, output);
	ktap_test_result(ok, "bad_input_exit_codes_and_messages");
}

static void test_unprivileged(void)
{
	char command[512];
	int status;
	bool ok = true;

	/* nobody cannot open root's 0600 pins: the message says why and what to do. */
	snprintf(command, sizeof(command),
		 "%s/khist hist syscall_latency --pin-root %s 2>&1 | grep -q 'Permission denied (its mode and group do not let this user read it: run as root, or in its group with CAP_BPF)$' ",
		 build_dir(), test_root());
	if (fork() == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(3);
		_exit(system(command) == 0 ? 0 : 1);
	}
	wait(&status);
	EXPECT(ok, WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
	ktap_test_result(ok, "unprivileged_reader_told_why");
}

int main(void)
{
	ktap_print_header();
	require_root_or_skip();
	ktap_set_plan(12);
	test_survives_loader_exit();
	test_reload_reuses();
	test_failed_reload_keeps_collector();
	test_mismatch();
	test_unload_exact();
	test_owner_mode();
	test_runtime_filter();
	test_hist_clear();
	test_bad_input();
	test_unprivileged();
	unload_all();
	ktap_finished();
}
