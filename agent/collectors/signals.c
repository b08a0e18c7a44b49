// SPDX-License-Identifier: GPL-2.0
/* signals: every signal generated, by result, sender and target; processes ended by one. */
#include <stddef.h>

#include "collector.h"
#include "signals.skel.h"

#define PROG(name) SKEL_PROG(signals_bpf, name)
#define MAP(name) SKEL_MAP(signals_bpf, name)

static const struct collector_mode modes[] = {
	{ KHIST_ATTACH_TP_BTF, { PROG(signal_generate_btf), PROG(signal_exit_btf) } },
	{ KHIST_ATTACH_RAW_TP, { PROG(signal_generate_raw), PROG(signal_exit_raw) } },
};

static const char *const results[KHIST_SIGNAL_RESULTS] = KHIST_SIGNAL_RESULT_NAMES;

#define K(field) offsetof(struct khist_signal_key, field)

static const unsigned short count_weight[] = { 0 };

static const struct table_desc tables[] = {
	{
		.name = "signals",
		.map = MAP(signal_counts),
		.sizing = SIZE_FIXED,
		.limit = LIMIT_SIGNALS,
		.bounded = 1,
		.labels = {
			KEY_FIELD("signal", DECODE_SIGNAL, struct khist_signal_key, signal),
			{ .label = "result", .decoder = DECODE_NAMES, .offset = K(result),
			  .size = sizeof(__u32), .names = results, .name_count = KHIST_SIGNAL_RESULTS },
			KEY_FIELD("sender", DECODE_STRING, struct khist_signal_key, sender_comm),
			KEY_FIELD("target", DECODE_STRING, struct khist_signal_key, target_comm),
		},
		.label_count = 4,
		.metrics = { COUNTER("khist_signals",
				     "Signals generated, per signal, result, sender comm and target "
				     "comm, for the busiest", 0, "SIGNALS") },
		.metric_count = 1,
		.weight_offsets = count_weight,
		.weight_count = 1,
	},
	{
		.name = "cgroup_signals",
		.map = MAP(cgroup_signals),
		.only_by_cgroup = 1,
		.per_cgroup = KHIST_SIGNAL_SLOTS,
		.skip_zero = 1,
		.labels = { INDEX_FIELD("signal", DECODE_SIGNAL) },
		.label_count = 1,
		.metrics = { COUNTER("khist_cgroup_signals",
				     "Signals generated, per target cgroup and signal (--by-cgroup)", 0,
				     "SIGNALS") },
		.metric_count = 1,
		.weight_offsets = count_weight,
		.weight_count = 1,
	},
	{
		.name = "kills",
		.map = MAP(signal_kills),
		.skip_zero = 1,
		.labels = { INDEX_FIELD("signal", DECODE_SIGNAL) },
		.label_count = 1,
		.metrics = { COUNTER("khist_signal_kills",
				     "Processes ended by a signal, per signal (their last thread's exit)",
				     0, "KILLS") },
		.metric_count = 1,
	},
};

const struct collector signals_collector = {
	.name = "signals",
	.description = "signals: every signal generated, its result, sender and target; kills",
	.elf_bytes = signals_bpf__elf_bytes,
	COLLECTOR_MODES(modes),
	COLLECTOR_TABLES(tables),
};
