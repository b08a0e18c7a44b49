/* SPDX-License-Identifier: GPL-2.0 */
/* Shared by kmod_glue_test.bpf.c and the tests reading its globals. */
#ifndef KMOD_GLUE_TEST_H
#define KMOD_GLUE_TEST_H

#define OBSERVED_PATH_SIZE 256

/* What the last events of the target process on one glue event saw. */
struct observation {
	__u64 events;
	__u64 bytes;		/* sum of positive ret */
	__u64 count;
	__s64 ret;
	__u64 latency_ns;
	__u64 latency_min_ns;
	__u64 latency_max_ns;
	__u32 kind;
	__s32 path_len;
	char path[OBSERVED_PATH_SIZE];
};

#endif
