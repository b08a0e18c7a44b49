// SPDX-License-Identifier: GPL-2.0
/*
 * Host smoke test: a raw_tp program on sys_enter filtered to this process
 * and getppid() counts exactly the calls made, read back through its pin.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../agent/bpffs.h"
#include "ktap.h"
#include "smoke.skel.h"

#define PIN_DIR		"/sys/fs/bpf/khist-selftest-smoke"
#define PIN_PATH	PIN_DIR "/smoke_counts"
#define CALLS		100000

static void make_calls(int calls)
{
	for (int i = 0; i < calls; i++)
		syscall(SYS_getppid);
}

static int read_pinned_count(unsigned long long *count)
{
	unsigned int zero = 0;
	int fd, err;

	fd = bpf_obj_get(PIN_PATH);
	if (fd < 0)
		return -errno;
	err = percpu_map_sum(fd, &zero, count);
	close(fd);
	return err;
}

int main(void)
{
	struct smoke_bpf *skel;
	unsigned long long count = 0, after_detach = 0;
	bool ok;
	int err;

	ktap_print_header();
	if (geteuid() != 0)
		ktap_exit_skip("needs root for bpf() and mounting bpffs");
	ktap_set_plan(4);

	err = bpffs_ensure_mounted("/sys/fs/bpf");
	if (err)
		ktap_exit_skip("cannot mount bpffs: %s", strerror(-err));
	unlink(PIN_PATH);
	rmdir(PIN_DIR);

	skel = smoke_bpf__open();
	if (!skel) {
		ktap_test_result(false, "open_load_attach");
		ktap_finished();
	}
	skel->rodata->target_tgid = getpid();
	skel->rodata->target_syscall = SYS_getppid;
	err = smoke_bpf__load(skel);
	if (!err)
		err = smoke_bpf__attach(skel);
	if (!err)
		err = bpffs_make_dirs(PIN_DIR, 0700);
	if (!err)
		err = bpf_map__pin(skel->maps.smoke_counts, PIN_PATH);
	ktap_test_result(err == 0, "open_load_attach_pin");
	if (err) {
		ktap_print_msg("error: %s", strerror(-err));
		smoke_bpf__destroy(skel);
		ktap_finished();
	}

	make_calls(CALLS);
	ok = true;
	err = read_pinned_count(&count);
	EXPECT(ok, err == 0, "reading %s: %s", PIN_PATH, strerror(-err));
	EXPECT(ok, count == CALLS, "count %llu, made %d getppid() calls", count, CALLS);
	ktap_print_msg("pinned counter after %d getppid(): %llu", CALLS, count);
	ktap_test_result(ok, "counts_exactly_the_calls_made");

	/* Other syscalls of this process must not count. */
	ok = true;
	for (int i = 0; i < 1000; i++)
		syscall(SYS_getpid);
	err = read_pinned_count(&after_detach);
	EXPECT(ok, err == 0 && after_detach == count, "count moved to %llu", after_detach);
	ktap_test_result(ok, "filters_other_syscalls");

	/* Once detached, the pinned map keeps its value and stops counting. */
	ok = true;
	bpf_link__destroy(skel->links.smoke_sys_enter);
	skel->links.smoke_sys_enter = NULL;
	make_calls(1000);
	err = read_pinned_count(&after_detach);
	EXPECT(ok, err == 0 && after_detach == count, "count %llu after detach, was %llu",
	       after_detach, count);
	ktap_test_result(ok, "detached_program_stops_counting");

	smoke_bpf__destroy(skel);
	unlink(PIN_PATH);
	rmdir(PIN_DIR);
	ktap_finished();
}
