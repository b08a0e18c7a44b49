// SPDX-License-Identifier: GPL-2.0
/* process: forks, threads, execs, exits by code or signal, OOM kills, lifetimes. */
#include <stddef.h>

#include "collector.h"
#include "process.skel.h"

#define PROG(name) SKEL_PROG(process_bpf, name)
#define MAP(name) SKEL_MAP(process_bpf, name)

static const struct collector_mode modes[] = {
	{ KHIST_ATTACH_TP_BTF, { PROG(process_fork_btf), PROG(process_exec_btf),
				 PROG(process_exit_btf), PROG(process_oom_btf) } },
	{ KHIST_ATTACH_RAW_TP, { PROG(process_fork_raw), PROG(process_exec_raw),
				 PROG(process_exit_raw), PROG(process_oom_raw) } },
};

static const struct histogram_desc histograms[] = {
	{
		.name = "process_lifetime",
		.map = MAP(process_lifetime_hist),
		.unit = UNIT_NS,
		.help = "How long processes lived, from their start to the exit of their last thread",
		.slots = 1,
		.by_cgroup = 1,
	},
};

static const char *const events[KHIST_PROCESS_EVENTS] = KHIST_PROCESS_EVENT_NAMES;

#define C(member) offsetof(struct khist_process_counts, member)

static const unsigned short counts_weight[] = { C(forks), C(threads), C(execs), C(oom_kills) };
static const unsigned short end_weight[] = { 0 };

static const struct table_desc tables[] = {
	{
		.name = "process_counts",
		.map = MAP(process_counts),
		.sizing = SIZE_PROCESSES,
		.limit = LIMIT_PROCESSES,
		.bounded = 1,
		.labels = { KEY_FIELD("comm", DECODE_STRING, struct khist_comm_key, comm) },
		.label_count = 1,
		.metrics = {
			COUNTER("khist_process_forks",
				"Processes created (fork, vfork, clone without CLONE_THREAD), per "
				"comm of the parent, for the busiest", C(forks), "FORKS"),
			COUNTER("khist_process_threads",
				"Threads created, per comm of the process, for the busiest",
				C(threads), "THREADS"),
			COUNTER("khist_process_execs",
				"Programs executed (execve that succeeded), per comm of the program, "
				"for the busiest", C(execs), "EXECS"),
			COUNTER("khist_process_oom_kills",
				"Processes the OOM killer chose, per comm, for the busiest",
				C(oom_kills), "OOM"),
		},
		.metric_count = 4,
		.weight_offsets = counts_weight,
		.weight_count = ARRAY_SIZE(counts_weight),
	},
	{
		.name = "process_exits",
		.map = MAP(process_exits),
		.sizing = SIZE_PROCESSES,
		.limit = LIMIT_PROCESSES,
		.bounded = 1,
		.labels = {
			KEY_FIELD("comm", DECODE_STRING, struct khist_process_end_key, comm),
			KEY_FIELD("code", DECODE_UINT, struct khist_process_end_key, status),
		},
		.label_count = 2,
		.metrics = { COUNTER("khist_process_exits",
				     "Processes that exited, per comm and exit code, for the busiest",
				     0, "EXITS") },
		.metric_count = 1,
		.weight_offsets = end_weight,
		.weight_count = 1,
	},
	{
		.name = "process_kills",
		.map = MAP(process_kills),
		.sizing = SIZE_PROCESSES,
		.limit = LIMIT_PROCESSES,
		.bounded = 1,
		.labels = {
			KEY_FIELD("comm", DECODE_STRING, struct khist_process_end_key, comm),
			KEY_FIELD("signal", DECODE_SIGNAL, struct khist_process_end_key, status),
		},
		.label_count = 2,
		.metrics = { COUNTER("khist_process_killed",
				     "Processes a signal ended, per comm and signal, for the busiest",
				     0, "KILLED") },
		.metric_count = 1,
		.weight_offsets = end_weight,
		.weight_count = 1,
	},
	{
		.name = "cgroup_process_events",
		.map = MAP(cgroup_process_events),
		.only_by_cgroup = 1,
		.per_cgroup = KHIST_PROCESS_EVENTS,
		.skip_zero = 1,
		.labels = { NAMES_FIELD("event", events, KHIST_PROCESS_EVENTS) },
		.label_count = 1,
		.metrics = { COUNTER("khist_cgroup_process_events",
				     "Forks, threads, execs, exits (by code zero or not), kills and "
				     "OOM kills, per cgroup (--by-cgroup)", 0, "EVENTS") },
		.metric_count = 1,
	},
};

const struct collector process_collector = {
	.name = "process",
	.description = "processes: forks, threads, execs, exits by code or signal, OOM kills, lifetimes",
	.elf_bytes = process_bpf__elf_bytes,
	COLLECTOR_MODES(modes),
	COLLECTOR_HISTOGRAMS(histograms),
	COLLECTOR_TABLES(tables),
};
