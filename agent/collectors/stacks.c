// SPDX-License-Identifier: GPL-2.0
/* stacks: off-CPU time by kernel stack and comm (offcputime), and the switches dropped. */
#include <stddef.h>

#include "collector.h"
#include "stacks.skel.h"

#define PROG(name) SKEL_PROG(stacks_bpf, name)
#define MAP(name) SKEL_MAP(stacks_bpf, name)

static const struct collector_mode modes[] = {
	{ KHIST_ATTACH_TP_BTF, { PROG(stacks_switch_btf) } },
	{ KHIST_ATTACH_RAW_TP, { PROG(stacks_switch_raw) } },
};

static const struct stack_desc stacks[] = {
	{
		.name = "offcpu",
		.help = "off-CPU time by kernel stack",
		.map = MAP(offcpu_stacks),
		.traces_map = MAP(stack_traces),
		.drops_map = MAP(stack_drops),
	},
};

static const char *const drop_reasons[KHIST_STACK_DROPS] = KHIST_STACK_DROP_NAMES;

static const struct table_desc tables[] = {
	{
		.name = "stack_drops",
		.map = MAP(stack_drops),
		.labels = { NAMES_FIELD("reason", drop_reasons, KHIST_STACK_DROPS) },
		.label_count = 1,
		.metrics = { COUNTER("khist_stack_drops",
				     "Switches whose off-CPU time no stack got: no_stack (the stack "
				     "trace map was full, or the slot of the stack held another), "
				     "table_full (no room for a new stack and comm)", 0, "DROPS") },
		.metric_count = 1,
	},
};

const struct collector stacks_collector = {
	.name = "stacks",
	.description = "off-CPU time by kernel stack and comm (khist stacks offcpu, flame graphs)",
	.elf_bytes = stacks_bpf__elf_bytes,
	COLLECTOR_MODES(modes),
	COLLECTOR_TABLES(tables),
	COLLECTOR_STACKS(stacks),
	.optional = 1,
};
