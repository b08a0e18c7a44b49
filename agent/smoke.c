// SPDX-License-Identifier: GPL-2.0
/*
 * khist-smoke: counts every syscall on the machine for a few seconds with
 * the smoke collector and prints the rate. Stands in for `make run` until
 * the daemon exists.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "bpffs.h"
#include "smoke.skel.h"

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct smoke_bpf *skel;
	unsigned long long previous = 0, total;
	unsigned int zero = 0;
	long seconds = 5;
	int opt, err;

	while ((opt = getopt_long(argc, argv, "s:h", options, NULL)) != -1) {
		char *end;

		switch (opt) {
		case 's':
			errno = 0;
			seconds = strtol(optarg, &end, 10);
			if (errno || *end || seconds < 1 || seconds > 86400) {
				fprintf(stderr, "khist-smoke: --seconds takes 1..86400, got '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h':
			printf("usage: khist-smoke [--seconds N]\n");
			return 0;
		default:
			return 2;
		}
	}

	skel = smoke_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "khist-smoke: loading the BPF program failed: %s%s\n",
			strerror(errno), geteuid() ? " (run as root)" : "");
		return 1;
	}
	err = smoke_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "khist-smoke: attaching raw_tp/sys_enter failed: %s\n", strerror(-err));
		smoke_bpf__destroy(skel);
		return 1;
	}
	printf("counting syscalls on every CPU for %ld s\n", seconds);
	for (long s = 1; s <= seconds; s++) {
		sleep(1);
		err = percpu_map_sum(bpf_map__fd(skel->maps.smoke_counts), &zero, &total);
		if (err) {
			fprintf(stderr, "khist-smoke: reading counts: %s\n", strerror(-err));
			break;
		}
		printf("%3lds  syscalls/s %10llu  total %12llu\n", s, total - previous, total);
		fflush(stdout);
		previous = total;
	}
	smoke_bpf__destroy(skel);
	return err ? 1 : 0;
}
