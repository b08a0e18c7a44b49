// SPDX-License-Identifier: GPL-2.0
/*
 * signals collector against signals this test makes: sent with kill(),
 * ignored, raised by the kernel for a fault (SIGSEGV) and for a write to a
 * closed pipe (SIGPIPE), with exact counts per signal, result, sender and
 * target, and the processes they ended.
 */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "collector_util.h"

#define USR1_SENT	37
#define WINCH_IGNORED	5

static volatile sig_atomic_t usr1_seen;

static void on_usr1(int sig)
{
	(void)sig;
	usr1_seen++;
}

/* A child named @comm that runs @body and is expected to die of @sig. */
static bool child_dies_of(const char *comm, void (*body)(void), int sig)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		struct rlimit no_core = { 0, 0 };

		prctl(PR_SET_NAME, comm);
		setrlimit(RLIMIT_CORE, &no_core);
		/*
		 * The kernel's default action, not a sanitizer's handler (ASan
		 * ignores signal() for SIGSEGV: the system call it is).
		 */
		struct { void *handler; unsigned long flags; void *restorer; __u64 mask; }
			default_action = { SIG_DFL, 0, NULL, 0 };

		syscall(SYS_rt_sigaction, sig, &default_action, NULL, sizeof(__u64));
		body();
		_exit(0);
	}
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFSIGNALED(status) &&
	       WTERMSIG(status) == sig;
}

static void segfault(void)
{
	/* Unmapped, and not NULL (UBSan would stop a NULL store itself). */
	volatile int *nowhere = (volatile int *)((uintptr_t)getenv("KHIST_NO_SUCH_VARIABLE") + 64);

	*nowhere = 1;	/* the kernel raises SIGSEGV */
}

static void write_to_closed_pipe(void)
{
	int fds[2];

	if (pipe(fds))
		_exit(2);
	close(fds[0]);
	if (write(fds[1], "x", 1) < 0)
		_exit(3);	/* EPIPE without the signal: the test fails */
}

static __u64 signals(const struct snapshot *snapshot, const char *signal, const char *result,
		     const char *sender, const char *target)
{
	return family_sum(snapshot, "khist_signals", "signal", signal, "result", result, "sender",
			  sender, "target", target, NULL);
}

static __u64 kills(const struct snapshot *snapshot, const char *signal)
{
	return family_sum(snapshot, "khist_signal_kills", "signal", signal, NULL);
}

/*
 * By cgroup: a child in a nested cgroup gets SIGUSR2 a known number of
 * times; its cgroup counts exactly those.
 */
#define USR2_SENT	23
#define USR2_AFTER_MOVE	17	/* then moved by this process to its sibling cgroup */

static void test_by_cgroup(void)
{
	struct loader_options options;
	enum khist_attach_mode mode;
	struct test_cgroup cgroup;
	struct snapshot snapshot;
	char root[96], byte;
	__u64 got = 0, got_moved = 0, kills_moved = 0;
	int go[2], status, err;
	bool ok = true;
	pid_t child;

	if (!test_cgroup_make(&cgroup, "signals", "signals_per_target_cgroup"))
		return;
	if (pipe(go))
		ktap_exit_fail("pipe");
	child = fork();
	if (child == 0) {
		signal(SIGUSR2, SIG_IGN);
		if (!cgroup_move_pid(cgroup.dir, getpid()) || write(go[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	EXPECT(ok, read(go[0], &byte, 1) == 1, "the child did not start");
	snprintf(root, sizeof(root), "%s-bycgroup", test_root());
	loader_default_options(&options);
	options.pin_root = root;
	options.filter_tgid = child;
	options.by_cgroup = 2;
	err = loader_load(collector_find("signals"), &options, &mode);
	EXPECT(ok, err == 0, "load --by-cgroup 2: %s", loader_error());
	for (int i = 0; i < USR2_SENT; i++)
		kill(child, SIGUSR2);
	EXPECT(ok, cgroup_move_pid(cgroup.moved, child), "moving %d to %s", child, cgroup.moved);
	for (int i = 0; i < USR2_AFTER_MOVE; i++)
		kill(child, SIGUSR2);
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
	if (!err && !test_snapshot(root, &snapshot)) {
		got = family_sum(&snapshot, "khist_cgroup_signals", "cgroup", cgroup.path, "signal",
				 "SIGUSR2", NULL);
		got_moved = family_sum(&snapshot, "khist_cgroup_signals", "cgroup",
				       cgroup.moved_path, "signal", "SIGUSR2", NULL);
		kills_moved = family_sum(&snapshot, "khist_cgroup_signals", "cgroup",
					 cgroup.moved_path, "signal", "SIGKILL", NULL);
		snapshot_free(&snapshot);
	}
	EXPECT(ok, got == USR2_SENT, "%s: %llu SIGUSR2 for %d sent", cgroup.path,
	       (unsigned long long)got, USR2_SENT);
	EXPECT(ok, got_moved == USR2_AFTER_MOVE && kills_moved == 1,
	       "%s: %llu SIGUSR2 for %d sent after the move, %llu SIGKILL for 1", cgroup.moved_path,
	       (unsigned long long)got_moved, USR2_AFTER_MOVE, (unsigned long long)kills_moved);
	loader_unload(root, collector_find("signals"));
	rmdir(root);
	test_cgroup_remove(&cgroup);
	ktap_test_result(ok, "signals_per_target_cgroup");
}

int main(void)
{
	struct snapshot before, after;
	struct loader_options options;
	enum khist_attach_mode mode;
	bool ok = true, died;
	char args[256], output[16384];
	int status;

	ktap_print_header();
	require_root_or_skip();
	ktap_set_plan(6);
	prctl(PR_SET_NAME, "collect_signals");
	loader_default_options(&options);
	mode = load_or_fail("signals", &options);
	ktap_print_msg("attach mode %s", collector_mode_name(mode));
	if (test_snapshot(NULL, &before))
		ktap_exit_fail("no snapshot");

	signal(SIGUSR1, on_usr1);
	for (int i = 0; i < USR1_SENT; i++)
		kill(getpid(), SIGUSR1);	/* to itself: delivered before kill returns */
	signal(SIGWINCH, SIG_IGN);
	for (int i = 0; i < WINCH_IGNORED; i++)
		kill(getpid(), SIGWINCH);
	died = child_dies_of("sigtest-segv", segfault, SIGSEGV);
	died = child_dies_of("sigtest-pipe", write_to_closed_pipe, SIGPIPE) && died;
	if (test_snapshot(NULL, &after))
		ktap_exit_fail("no snapshot");

	EXPECT(ok, usr1_seen == USR1_SENT, "handler ran %d times", (int)usr1_seen);
	EXPECT(ok, signals(&after, "SIGUSR1", "delivered", "collect_signals", "collect_signals") -
		   signals(&before, "SIGUSR1", "delivered", "collect_signals", "collect_signals") ==
		   USR1_SENT, "SIGUSR1 delivered %llu times",
	       (unsigned long long)signals(&after, "SIGUSR1", "delivered", "collect_signals",
					   "collect_signals"));
	ktap_test_result(ok, "kill_delivered_counted_exactly");

	ok = true;
	EXPECT(ok, signals(&after, "SIGWINCH", "ignored", "collect_signals", "collect_signals") -
		   signals(&before, "SIGWINCH", "ignored", "collect_signals", "collect_signals") ==
		   WINCH_IGNORED, "SIGWINCH ignored %llu times",
	       (unsigned long long)signals(&after, "SIGWINCH", "ignored", "collect_signals",
					   "collect_signals"));
	ktap_test_result(ok, "ignored_signals_have_their_result");

	ok = true;
	EXPECT(ok, died, "the children did not die of SIGSEGV and SIGPIPE");
	EXPECT(ok, signals(&after, "SIGSEGV", "delivered", "sigtest-segv", "sigtest-segv") == 1,
	       "SIGSEGV from the fault: %llu",
	       (unsigned long long)signals(&after, "SIGSEGV", "delivered", "sigtest-segv",
					   "sigtest-segv"));
	EXPECT(ok, signals(&after, "SIGPIPE", "delivered", "sigtest-pipe", "sigtest-pipe") == 1,
	       "SIGPIPE from the write: %llu",
	       (unsigned long long)signals(&after, "SIGPIPE", "delivered", "sigtest-pipe",
					   "sigtest-pipe"));
	/* Each child's death tells the parent (at SIGCHLD's default disposition: ignored). */
	EXPECT(ok, signals(&after, "SIGCHLD", "ignored", "sigtest-segv", "collect_signals") == 1 &&
		   signals(&after, "SIGCHLD", "ignored", "sigtest-pipe", "collect_signals") == 1,
	       "SIGCHLD from the children: %llu, %llu",
	       (unsigned long long)signals(&after, "SIGCHLD", "ignored", "sigtest-segv",
					   "collect_signals"),
	       (unsigned long long)signals(&after, "SIGCHLD", "ignored", "sigtest-pipe",
					   "collect_signals"));
	ktap_test_result(ok, "kernel_generated_signals_counted");

	ok = true;
	EXPECT(ok, kills(&after, "SIGSEGV") - kills(&before, "SIGSEGV") == 1 &&
		   kills(&after, "SIGPIPE") - kills(&before, "SIGPIPE") == 1,
	       "processes ended: SIGSEGV %llu, SIGPIPE %llu",
	       (unsigned long long)(kills(&after, "SIGSEGV") - kills(&before, "SIGSEGV")),
	       (unsigned long long)(kills(&after, "SIGPIPE") - kills(&before, "SIGPIPE")));
	EXPECT(ok, kills(&after, "SIGUSR1") == kills(&before, "SIGUSR1"), "SIGUSR1 killed nobody");
	ktap_test_result(ok, "processes_ended_by_signal");
	snapshot_free(&before);
	snapshot_free(&after);

	ok = true;
	snprintf(args, sizeof(args), "top signals --rows 100 --pin-root %s", test_root());
	status = run_khist(args, output, sizeof(output));
	EXPECT(ok, status == 0 && strstr(output, "SIGSEGV") && strstr(output, "sigtest-segv"),
	       "top signals: %d %s", status, output);
	snprintf(args, sizeof(args), "top signals --json --pin-root %s", test_root());
	status = run_khist(args, output, sizeof(output));
	EXPECT(ok, status == 0 && strstr(output, "\"signal\":\"SIGUSR1\""), "top --json: %d %s",
	       status, output);
	ktap_test_result(ok, "cli_top_signals");

	test_by_cgroup();
	unload_all();
	ktap_finished();
}
