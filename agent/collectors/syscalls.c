// SPDX-License-Identifier: GPL-2.0
/* syscalls: counts, errors and latency per system call, counts per process. */
#include <stddef.h>

#include "collector.h"
#include "syscalls.skel.h"

#define PROG(name) SKEL_PROG(syscalls_bpf, name)
#define MAP(name) SKEL_MAP(syscalls_bpf, name)

static const struct collector_mode modes[] = {
	{ KHIST_ATTACH_RAW_TP, { PROG(syscalls_enter), PROG(syscalls_exit) } },
};

static const struct histogram_desc histograms[] = {
	{
		.name = "syscall_latency",
		.map = MAP(syscall_latency_hist),
		.unit = UNIT_NS,
		.help = "Time from sys_enter to sys_exit, per system call",
		.slots = KHIST_SYSCALL_SLOTS,
		.slot = INDEX_FIELD("syscall", DECODE_SYSCALL),
		.count_family = "khist_syscalls",
		.count_help = "System calls completed, per system call",
		.rows_map = MAP(syscall_rows),
		.shared_map = MAP(syscall_latency_shared),
		.rows = KHIST_SYSCALL_LATENCY_ROWS,
	},
	{
		.name = "cgroup_syscall_latency",
		.map = MAP(cgroup_syscall_latency_hist),
		.unit = UNIT_NS,
		.help = "Time from sys_enter to sys_exit, over all system calls, per cgroup "
			"(--by-cgroup)",
		.slots = 1,
		.by_cgroup = 1,
		.only_by_cgroup = 1,
	},
};

static const unsigned short process_sums[] = {
	offsetof(struct khist_process_value, syscalls),
	offsetof(struct khist_process_value, errors),
};

static const struct pending_desc process_pending =
	PENDING_SLOTS(MAP(process_pending), MAP(flush_hold), struct khist_process_pending, tgid, tgid,
		      value, process_sums);

static const unsigned short process_weight[] = { offsetof(struct khist_process_value, syscalls) };

static const unsigned short cgroup_syscall_weight[] = {
	offsetof(struct khist_cgroup_syscall_value, calls),
};

static const struct table_desc tables[] = {
	{
		.name = "syscall_errors",
		.map = MAP(syscall_errors),
		.labels = {
			KEY_FIELD("syscall", DECODE_SYSCALL, struct khist_errno_key, syscall),
			KEY_FIELD("errno", DECODE_ERRNO, struct khist_errno_key, error),
		},
		.label_count = 2,
		.metrics = { COUNTER("khist_syscall_errors",
				     "System calls that returned an error, per system call and errno",
				     0, "ERRORS") },
		.metric_count = 1,
	},
	{
		.name = "cgroup_syscalls",
		.map = MAP(cgroup_syscalls),
		.only_by_cgroup = 1,
		.per_cgroup = KHIST_CGROUP_SYSCALL_ENTRIES,
		.rows_map = MAP(syscall_rows),
		.skip_zero = 1,
		.labels = { INDEX_FIELD("syscall", DECODE_SYSCALL) },
		.label_count = 1,
		.metrics = {
			COUNTER("khist_cgroup_syscalls", "System calls completed, per cgroup and system "
				"call (--by-cgroup)",
				offsetof(struct khist_cgroup_syscall_value, calls), "SYSCALLS"),
			COUNTER("khist_cgroup_syscall_errors", "System calls that returned an error, per "
				"cgroup and system call (--by-cgroup)",
				offsetof(struct khist_cgroup_syscall_value, errors), "ERRORS"),
		},
		.metric_count = 2,
		.weight_offsets = cgroup_syscall_weight,
		.weight_count = ARRAY_SIZE(cgroup_syscall_weight),
	},
	{
		.name = "processes",
		.map = MAP(process_counts),
		.sizing = SIZE_PROCESSES,
		.limit = LIMIT_PROCESSES,
		.bounded = 1,
		.labels = {
			KEY_FIELD("pid", DECODE_UINT, struct khist_process_key, tgid),
			VALUE_FIELD("comm", DECODE_STRING, struct khist_process_value, comm),
		},
		.label_count = 2,
		.metrics = {
			COUNTER("khist_process_syscalls",
				"System calls per process, for the busiest processes",
				offsetof(struct khist_process_value, syscalls), "SYSCALLS"),
			COUNTER("khist_process_syscall_errors",
				"System calls that failed per process, for the busiest processes",
				offsetof(struct khist_process_value, errors), "ERRORS"),
		},
		.metric_count = 2,
		.weight_offsets = process_weight,
		.weight_count = ARRAY_SIZE(process_weight),
		.pending = &process_pending,
	},
};

const struct collector syscalls_collector = {
	.name = "syscalls",
	.description = "system calls: counts, errors, latency, per process",
	.elf_bytes = syscalls_bpf__elf_bytes,
	COLLECTOR_MODES(modes),
	COLLECTOR_HISTOGRAMS(histograms),
	COLLECTOR_TABLES(tables),
};
