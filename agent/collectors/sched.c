// SPDX-License-Identifier: GPL-2.0
/* sched: run-queue latency, off-CPU time, time slices, switches, forks. */
#include <stddef.h>

#include "collector.h"
#include "sched.skel.h"

#define PROG(name) SKEL_PROG(sched_bpf, name)
#define MAP(name) SKEL_MAP(sched_bpf, name)

static const struct collector_mode modes[] = {
	{ KHIST_ATTACH_TP_BTF, { PROG(sched_wakeup_btf), PROG(sched_wakeup_new_btf),
				 PROG(sched_switch_btf), PROG(sched_fork_btf) } },
	{ KHIST_ATTACH_RAW_TP, { PROG(sched_wakeup_raw), PROG(sched_wakeup_new_raw),
				 PROG(sched_switch_raw), PROG(sched_fork_raw), PROG(sched_exit_raw) } },
};

#define TIME_HISTOGRAM(hist, text) \
	{ .name = #hist, .map = MAP(hist##_hist), .unit = UNIT_NS, .help = text, .slots = 1, \
	  .by_cgroup = 1 }

static const struct histogram_desc histograms[] = {
	TIME_HISTOGRAM(runq_latency, "Time a task waited on a run queue before it ran"),
	TIME_HISTOGRAM(offcpu_time, "Time a task spent off CPU, from switch-out to switch-in"),
	TIME_HISTOGRAM(oncpu_slice, "Time a task ran before it was switched out"),
};

static const char *const switch_kinds[KHIST_SWITCH_KINDS] = {
	[KHIST_SWITCH_VOLUNTARY] = "voluntary",
	[KHIST_SWITCH_INVOLUNTARY] = "involuntary",
};

static const struct table_desc tables[] = {
	{
		.name = "switches",
		.map = MAP(switch_counts),
		.labels = { NAMES_FIELD("kind", switch_kinds, KHIST_SWITCH_KINDS) },
		.label_count = 1,
		.metrics = { COUNTER("khist_context_switches",
				     "Context switches, voluntary (the task blocked) and involuntary "
				     "(preempted)", 0, "SWITCHES") },
		.metric_count = 1,
		.per_cgroup = KHIST_SWITCH_KINDS,
	},
	{
		.name = "forks",
		.map = MAP(fork_count),
		.metrics = { COUNTER("khist_forks", "Processes and threads created", 0, "FORKS") },
		.metric_count = 1,
	},
	{
		.name = "cpu_task",
		.map = MAP(cpu_task),
		.sizing = SIZE_CPUS,
		.skip_empty = 1,
		.labels = {
			INDEX_FIELD("cpu", DECODE_UINT),
			VALUE_FIELD("pid", DECODE_UINT, struct khist_cpu_task, pid),
			VALUE_FIELD("comm", DECODE_STRING, struct khist_cpu_task, comm),
		},
		.label_count = 3,
		.metrics = { { .family = "khist_cpu_task", .type = METRIC_GAUGE,
			       .help = "The task on each CPU at its last context switch",
			       .constant_one = 1, .column = "TASKS" } },
		.metric_count = 1,
	},
};

const struct collector sched_collector = {
	.name = "sched",
	.description = "scheduler: run-queue latency, off-CPU time, time slices, switches",
	.elf_bytes = sched_bpf__elf_bytes,
	COLLECTOR_MODES(modes),
	COLLECTOR_HISTOGRAMS(histograms),
	COLLECTOR_TABLES(tables),
};
