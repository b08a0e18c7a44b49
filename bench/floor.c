// SPDX-License-Identifier: GPL-2.0
/*
 * floor SET: attaches the empty programs of SET, prints "attached", and
 * holds them until SIGTERM or SIGINT. Sets: syscalls, syscalls-clock,
 * syscalls-timed, sched, read-syscalls, read-fentry, read-kprobe, read-glue,
 * and halves of the read pairs (read-fentry-entry, read-kprobe-entry,
 * read-kretprobe) to tell the entry hook's cost from the return hook's.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "floor.skel.h"

static const struct {
	const char *set;
	const char *programs[4];
} sets[] = {
	{ "syscalls", { "floor_sys_enter", "floor_sys_exit" } },
	{ "syscalls-clock", { "floor_clock_sys_enter", "floor_clock_sys_exit" } },
	{ "syscalls-timed", { "floor_timed_sys_enter", "floor_timed_sys_exit" } },
	{ "sched", { "floor_sched_switch", "floor_sched_wakeup", "floor_sched_wakeup_new" } },
	{ "read-syscalls", { "floor_read_enter", "floor_read_exit" } },
	{ "read-fentry", { "floor_vfs_read_fentry", "floor_vfs_read_fexit" } },
	{ "read-kprobe", { "floor_vfs_read_kprobe", "floor_vfs_read_kretprobe" } },
	{ "read-glue", { "floor_vfs_read_glue" } },
	{ "read-fentry-entry", { "floor_vfs_read_fentry" } },
	{ "read-kprobe-entry", { "floor_vfs_read_kprobe" } },
	{ "read-kretprobe", { "floor_vfs_read_kretprobe" } },
};

static volatile sig_atomic_t stop;

static void on_signal(int signal_number)
{
	(void)signal_number;
	stop = 1;
}

static int no_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level, (void)fmt, (void)ap;
	return 0;
}

int main(int argc, char **argv)
{
	struct floor_bpf *skel;
	struct bpf_program *prog;
	int chosen = -1;

	for (unsigned int i = 0; argc == 2 && i < sizeof(sets) / sizeof(sets[0]); i++)
		if (!strcmp(argv[1], sets[i].set))
			chosen = i;
	if (chosen < 0) {
		fprintf(stderr, "usage: floor SET, one of:");
		for (unsigned int i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
			fprintf(stderr, " %s", sets[i].set);
		fprintf(stderr, "\n");
		return 2;
	}
	libbpf_set_print(no_print);
	skel = floor_bpf__open();
	if (!skel)
		return 1;
	bpf_object__for_each_program(prog, skel->obj) {
		bool wanted = false;

		for (int i = 0; i < 4 && sets[chosen].programs[i]; i++)
			wanted |= !strcmp(bpf_program__name(prog), sets[chosen].programs[i]);
		bpf_program__set_autoload(prog, wanted);
	}
	if (floor_bpf__load(skel) || floor_bpf__attach(skel)) {
		fprintf(stderr, "floor %s: cannot load or attach: %s\n", argv[1], strerror(errno));
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	printf("attached\n");
	fflush(stdout);
	while (!stop)
		pause();
	floor_bpf__destroy(skel);
	return 0;
}
