/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KMOD_FUZZ_H
#define KMOD_FUZZ_H

/* The context of the stat_add program. */
struct stat_request {
	__u32 id;
	__u32 delta;
};

#endif
