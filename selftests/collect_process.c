// SPDX-License-Identifier: GPL-2.0
/*
 * process collector against a workload with known counts: a process that
 * forks FORKS children and starts THREADS threads, a chain of EXECS execs
 * that exits with code 3, a process killed by SIGTERM and one that lives
 * LIFE_MS; each named by its comm, counted exactly in both attach modes at
 * once, and per cgroup with its lifetimes; and an OOM kill in a cgroup
 * with a memory limit (the kernel logs its report, with a stack).
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "collector_util.h"

#define FORKS		7
#define THREADS		3
#define EXECS		5
#define EXIT_CODE	3
#define LIFE_MS		300

/* What the workload makes its cgroup count (see run_workload). */
#define CGROUP_FORKS	(4 + FORKS)
#define CGROUP_EXITS_ZERO	(FORKS + 3)	/* forker's children, forker, kh-life, kh-work */
#define CGROUP_PROCESSES_ENDED	(CGROUP_EXITS_ZERO + 2)	/* + kh-exec, kh-term */

static char exec_dir[64], exec_link[PATH_MAX];

static void *thread_body(void *arg)
{
	return arg;
}

static void forker(void)
{
	pthread_t threads[THREADS];

	prctl(PR_SET_NAME, "kh-forker");
	for (int i = 0; i < FORKS; i++) {
		pid_t pid = fork();

		if (pid == 0)
			_exit(0);
		if (pid < 0 || waitpid(pid, NULL, 0) != pid)
			_exit(1);
	}
	for (int i = 0; i < THREADS; i++)
		if (pthread_create(&threads[i], NULL, thread_body, NULL))
			_exit(1);
	for (int i = 0; i < THREADS; i++)
		pthread_join(threads[i], NULL);
	_exit(0);
}

/* Runs @body in a child and waits for it; its wait status. */
static int in_child(void (*body)(void))
{
	int status = -1;
	pid_t pid = fork();

	if (pid == 0) {
		body();
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

/* The first of the chain: its comm after each exec is the link's name. */
static void exec_chain(void)
{
	char count[16];

	snprintf(count, sizeof(count), "%d", EXECS - 1);
	execl(exec_link, exec_link, "--exec-chain", count, (char *)NULL);
	_exit(1);
}

static void lives(void)
{
	prctl(PR_SET_NAME, "kh-life");
	usleep(LIFE_MS * 1000);
}

/*
 * The workload, in a child "kh-work" (in @cgroup when given): FORKS + 4
 * processes are forked in it, THREADS threads, EXECS execs; FORKS + 3
 * processes exit with 0, one with EXIT_CODE, one of SIGTERM.
 */
static bool run_workload(const char *cgroup)
{
	int status = -1, ready[2];
	pid_t work;

	work = fork();
	if (work == 0) {
		pid_t term;
		char byte;

		prctl(PR_SET_NAME, "kh-work");
		if ((cgroup && !cgroup_move_pid(cgroup, getpid())) || pipe(ready))
			_exit(10);
		if (in_child(forker) != 0)
			_exit(11);
		status = in_child(exec_chain);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != EXIT_CODE)
			_exit(12);
		term = fork();
		if (term == 0) {
			prctl(PR_SET_NAME, "kh-term");
			if (write(ready[1], "r", 1) != 1)
				_exit(1);
			for (;;)
				pause();
		}
		if (term < 0 || read(ready[0], &byte, 1) != 1 || kill(term, SIGTERM) ||
		    waitpid(term, &status, 0) != term || !WIFSIGNALED(status) ||
		    WTERMSIG(status) != SIGTERM)
			_exit(13);
		if (in_child(lives) != 0)
			_exit(14);
		_exit(0);
	}
	if (work < 0 || waitpid(work, &status, 0) != work)
		return false;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		ktap_print_msg("the workload failed: status %#x", status);
		return false;
	}
	return true;
}

static __u64 comm_counter(const struct snapshot *snapshot, const char *family, const char *comm)
{
	return family_sum(snapshot, family, "comm", comm, NULL);
}

/* Both attach modes at once, each under its own pin root, see the same workload. */
static void test_counts_per_comm(void)
{
	char args[256], output[8192];
	struct both_modes both;
	bool ok = true, ran;

	ok = load_both_modes(&both, "process");
	ran = run_workload(NULL);
	EXPECT(ok, ran, "workload");
	for (int m = 0; m < BOTH_MODES && ran; m++) {
		const char *name = collector_mode_name(both.mode[m]);
		struct snapshot s;

		if (!both.loaded[m] || test_snapshot(both.root[m], &s)) {
			ok = false;
			continue;
		}
		EXPECT(ok, comm_counter(&s, "khist_process_forks", "kh-forker") == FORKS &&
			   comm_counter(&s, "khist_process_threads", "kh-forker") == THREADS,
		       "%s: kh-forker forked %llu and started %llu threads", name,
		       (unsigned long long)comm_counter(&s, "khist_process_forks", "kh-forker"),
		       (unsigned long long)comm_counter(&s, "khist_process_threads", "kh-forker"));
		EXPECT(ok, comm_counter(&s, "khist_process_forks", "kh-work") == 4 &&
			   comm_counter(&s, "khist_process_threads", "kh-work") == 0,
		       "%s: kh-work forked %llu", name,
		       (unsigned long long)comm_counter(&s, "khist_process_forks", "kh-work"));
		EXPECT(ok, comm_counter(&s, "khist_process_execs", "kh-exec") == EXECS,
		       "%s: %llu execs of kh-exec", name,
		       (unsigned long long)comm_counter(&s, "khist_process_execs", "kh-exec"));
		EXPECT(ok, family_sum(&s, "khist_process_exits", "comm", "kh-forker", "code", "0",
				      NULL) == FORKS + 1 &&
			   comm_counter(&s, "khist_process_exits", "kh-forker") == FORKS + 1,
		       "%s: kh-forker exits %llu", name,
		       (unsigned long long)comm_counter(&s, "khist_process_exits", "kh-forker"));
		EXPECT(ok, family_sum(&s, "khist_process_exits", "comm", "kh-exec", "code", "3",
				      NULL) == 1 &&
			   comm_counter(&s, "khist_process_exits", "kh-exec") == 1,
		       "%s: kh-exec exits %llu", name,
		       (unsigned long long)comm_counter(&s, "khist_process_exits", "kh-exec"));
		EXPECT(ok, family_sum(&s, "khist_process_killed", "comm", "kh-term", "signal",
				      "SIGTERM", NULL) == 1 &&
			   comm_counter(&s, "khist_process_killed", "kh-term") == 1 &&
			   comm_counter(&s, "khist_process_exits", "kh-term") == 0,
		       "%s: kh-term killed %llu, exited %llu", name,
		       (unsigned long long)comm_counter(&s, "khist_process_killed", "kh-term"),
		       (unsigned long long)comm_counter(&s, "khist_process_exits", "kh-term"));
		EXPECT(ok, comm_counter(&s, "khist_process_oom_kills", "kh-forker") == 0,
		       "%s: no OOM kill", name);
		snapshot_free(&s);
	}
	if (both.loaded[0]) {
		snprintf(args, sizeof(args), "top process_counts --rows 1000 --pin-root %s",
			 both.root[0]);
		EXPECT(ok, run_khist(args, output, sizeof(output)) == 0 &&
			   strstr(output, "kh-forker"), "top: %s", output);
	}
	unload_both_modes(&both);
	ktap_test_result(ok, "counts_per_comm_in_both_modes");
}

/* By cgroup: the workload's events and lifetimes under its cgroup's path. */
static void test_by_cgroup(void)
{
	static const char *const events[] = { "fork", "thread", "exec", "exit_zero",
					      "exit_nonzero", "killed", "oom_kill" };
	const __u64 want[] = { CGROUP_FORKS, THREADS, EXECS, CGROUP_EXITS_ZERO, 1, 1, 0 };
	const struct snapshot_series *lifetime;
	const struct snapshot_family *family;
	struct loader_options options;
	enum khist_attach_mode mode;
	struct test_cgroup cgroup;
	struct snapshot s;
	char root[96];
	bool ok = true;
	int err;

	if (!test_cgroup_make(&cgroup, "process", "events_and_lifetimes_per_cgroup"))
		return;
	snprintf(root, sizeof(root), "%s-bycgroup", test_root());
	loader_default_options(&options);
	options.pin_root = root;
	options.by_cgroup = 2;
	err = loader_load(collector_find("process"), &options, &mode);
	EXPECT(ok, err == 0, "load --by-cgroup 2: %s", loader_error());
	EXPECT(ok, run_workload(cgroup.dir), "workload");
	if (!err && !test_snapshot(root, &s)) {
		for (unsigned int e = 0; e < ARRAY_SIZE(events); e++) {
			__u64 got = family_sum(&s, "khist_cgroup_process_events", "cgroup",
					       cgroup.path, "event", events[e], NULL);

			EXPECT(ok, got == want[e], "%s: %llu %s, want %llu", cgroup.path,
			       (unsigned long long)got, events[e], (unsigned long long)want[e]);
		}
		lifetime = NULL;
		family = snapshot_histogram(&s, collector_find_histogram("process_lifetime", NULL));
		for (unsigned int i = 0; family && i < family->series_count; i++)
			if (!strcmp(snapshot_label(&family->series[i], "cgroup"), cgroup.path))
				lifetime = &family->series[i];
		EXPECT(ok, lifetime && lifetime->count == CGROUP_PROCESSES_ENDED &&
			   lifetime->sum >= 2 * LIFE_MS * 1000000ULL,
		       "lifetimes in %s: %llu processes, %llu ns in all", cgroup.path,
		       lifetime ? (unsigned long long)lifetime->count : 0,
		       lifetime ? (unsigned long long)lifetime->sum : 0);
		snapshot_free(&s);
	} else {
		ok = false;
	}
	loader_unload(root, collector_find("process"));
	rmdir(root);
	test_cgroup_remove(&cgroup);
	ktap_test_result(ok, "events_and_lifetimes_per_cgroup");
}

/* Writes @text to @dir/@file; false when it cannot. */
static bool write_cgroup_file(const char *dir, const char *file, const char *text)
{
	char path[512];
	bool ok;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY);
	ok = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	if (fd >= 0)
		close(fd);
	return ok;
}

static bool swap_in_use(void)
{
	char line[256];
	int lines = 0;
	FILE *swaps = fopen("/proc/swaps", "r");

	while (swaps && fgets(line, sizeof(line), swaps))
		lines++;
	if (swaps)
		fclose(swaps);
	return lines > 1;
}

#define OOM_LIMIT	(32 << 20)

/*
 * A cgroup limited to OOM_LIMIT bytes and no swap, in @dir: cgroup v2 when
 * its memory controller can be enabled, else v1's memory hierarchy (as on
 * a host whose memory controller is bound to v1). False, with @why, if
 * neither works.
 */
static bool memory_cgroup_make(char *dir, size_t size, char *why, size_t why_size)
{
	char mount[256], limit[32], controllers[256] = "";
	FILE *file;

	snprintf(limit, sizeof(limit), "%d", OOM_LIMIT);
	if (!cgroup_mount_point(mount, sizeof(mount))) {
		snprintf(dir, size, "%s/cgroup.controllers", mount);
		file = fopen(dir, "r");
		if (file) {
			if (!fgets(controllers, sizeof(controllers), file))
				controllers[0] = '\0';
			fclose(file);
		}
	}
	if (strstr(controllers, "memory") && write_cgroup_file(mount, "cgroup.subtree_control",
								"+memory")) {
		snprintf(dir, size, "%s/khist-oom-%d", mount, getpid());
		if (mkdir(dir, 0755) == 0) {
			write_cgroup_file(dir, "memory.swap.max", "0");
			if (write_cgroup_file(dir, "memory.max", limit))
				return true;
			rmdir(dir);
		}
	}
	snprintf(dir, size, "/sys/fs/cgroup/memory/khist-oom-%d", getpid());
	if (mkdir(dir, 0755) == 0) {
		/* Without swap accounting the limit holds only with no swap. */
		if (write_cgroup_file(dir, "memory.limit_in_bytes", limit) &&
		    (write_cgroup_file(dir, "memory.memsw.limit_in_bytes", limit) || !swap_in_use()))
			return true;
		rmdir(dir);
	}
	snprintf(why, why_size, "no memory cgroup can be limited (cgroup v2 controllers: '%.*s', "
		 "no v1 memory hierarchy without swap)", (int)strcspn(controllers, "\n"), controllers);
	return false;
}

/* A process that touches four times its cgroup's limit is the OOM killer's victim. */
static void test_oom_kill(void)
{
	char dir[512], why[384], root[96];
	struct loader_options options;
	enum khist_attach_mode mode;
	int status = -1, err;
	struct snapshot s;
	bool ok = true;
	pid_t child;

	if (!memory_cgroup_make(dir, sizeof(dir), why, sizeof(why))) {
		ktap_test_skip("oom_kill_counted", "%s", why);
		return;
	}
	snprintf(root, sizeof(root), "%s-oom", test_root());
	loader_default_options(&options);
	options.pin_root = root;
	err = loader_load(collector_find("process"), &options, &mode);
	EXPECT(ok, err == 0, "load: %s", loader_error());
	child = fork();
	if (child == 0) {
		size_t bytes = 4 * (size_t)OOM_LIMIT;
		char *memory;

		prctl(PR_SET_NAME, "kh-oom");
		if (!cgroup_move_pid(dir, getpid()))
			_exit(10);
		memory = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			      -1, 0);
		if (memory == MAP_FAILED)
			_exit(11);
		for (size_t at = 0; at < bytes; at += 4096)
			memory[at] = 1;
		_exit(12);	/* the limit did not hold */
	}
	EXPECT(ok, child > 0 && waitpid(child, &status, 0) == child && WIFSIGNALED(status) &&
		   WTERMSIG(status) == SIGKILL, "kh-oom: wait status %#x", status);
	if (!err && !test_snapshot(root, &s)) {
		EXPECT(ok, comm_counter(&s, "khist_process_oom_kills", "kh-oom") == 1,
		       "%llu OOM kills of kh-oom",
		       (unsigned long long)comm_counter(&s, "khist_process_oom_kills", "kh-oom"));
		EXPECT(ok, family_sum(&s, "khist_process_killed", "comm", "kh-oom", "signal",
				      "SIGKILL", NULL) == 1, "kh-oom killed by SIGKILL %llu times",
		       (unsigned long long)family_sum(&s, "khist_process_killed", "comm", "kh-oom",
						      "signal", "SIGKILL", NULL));
		snapshot_free(&s);
	} else {
		ok = false;
	}
	if (!err)
		loader_unload(root, collector_find("process"));
	rmdir(root);
	rmdir(dir);
	ktap_test_result(ok, "oom_kill_counted");
}

int main(int argc, char **argv)
{
	char self[PATH_MAX];
	ssize_t length;

	/* A link of the chain: exec the next, the last exits with EXIT_CODE. */
	if (argc == 3 && !strcmp(argv[1], "--exec-chain")) {
		int left = atoi(argv[2]);
		char count[16];

		/*
		 * _exit: a sanitizer's leak check at exit() would clone a
		 * process of its own (LeakSanitizer's tracer), one more fork.
		 */
		if (left <= 0)
			_exit(EXIT_CODE);
		snprintf(count, sizeof(count), "%d", left - 1);
		execl(argv[0], argv[0], "--exec-chain", count, (char *)NULL);
		return 1;
	}
	ktap_print_header();
	require_root_or_skip();
	ktap_set_plan(3);
	length = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (length < 0)
		ktap_exit_fail("readlink /proc/self/exe");
	self[length] = '\0';
	snprintf(exec_dir, sizeof(exec_dir), "/tmp/khist-process-%d", getpid());
	snprintf(exec_link, sizeof(exec_link), "%s/kh-exec", exec_dir);
	if (mkdir(exec_dir, 0755) || symlink(self, exec_link))
		ktap_exit_fail("symlink %s", exec_link);
	test_counts_per_comm();
	test_by_cgroup();
	test_oom_kill();
	unlink(exec_link);
	rmdir(exec_dir);
	unload_all();
	ktap_finished();
}
