// SPDX-License-Identifier: GPL-2.0
/* block: block I/O latency, queue time and sizes per disk and op; requests, bytes, errors. */
#include <stddef.h>

#include "collector.h"
#include "block.skel.h"

#define PROG(name) SKEL_PROG(block_bpf, name)
#define MAP(name) SKEL_MAP(block_bpf, name)

static const struct collector_mode modes[] = {
	{ KHIST_ATTACH_TP_BTF, { PROG(block_insert_btf), PROG(block_merge_btf),
				 PROG(block_issue_btf), PROG(block_complete_btf) } },
	{ KHIST_ATTACH_RAW_TP, { PROG(block_insert_raw), PROG(block_merge_raw),
				 PROG(block_issue_raw), PROG(block_complete_raw) } },
};

static const char *const ops[KHIST_BLOCK_OPS] = KHIST_BLOCK_OP_NAMES;

/* Slot = disk group * KHIST_BLOCK_OPS + op; the group's disk is its entry of block_disks. */
#define BLOCK_HISTOGRAM(hist, what, text)						\
	{ .name = #hist, .map = MAP(hist##_hist), .unit = what, .help = text,		\
	  .slots = KHIST_BLOCK_OPS, .slot = NAMES_FIELD("op", ops, KHIST_BLOCK_OPS),	\
	  .group_map = MAP(block_disks), .groups = KHIST_BLOCK_DISKS,			\
	  .group = VALUE_FIELD("disk", DECODE_DISK, struct khist_block_disk, dev),	\
	  .group_other = 1, .rows_map = MAP(block_rows),				\
	  .shared_map = MAP(hist##_shared), .rows = KHIST_BLOCK_ROWS }

static const struct histogram_desc histograms[] = {
	BLOCK_HISTOGRAM(block_latency, UNIT_NS,
			"Time from a request's issue to the driver to its completion"),
	BLOCK_HISTOGRAM(block_queue_time, UNIT_NS,
			"Time a request waited between its insertion (into an I/O scheduler or "
			"the dispatch list) and its issue"),
	BLOCK_HISTOGRAM(block_size, UNIT_BYTES, "Bytes of each completed request"),
};

#define C(member) offsetof(struct khist_block_counts, member)

static const unsigned short counts_weight[] = { C(requests) };

static const struct table_desc tables[] = {
	{
		.name = "disks",
		.map = MAP(block_counts),
		.labels = {
			KEY_FIELD("disk", DECODE_DISK, struct khist_block_key, dev),
			{ .label = "op", .decoder = DECODE_NAMES,
			  .offset = offsetof(struct khist_block_key, op), .size = sizeof(__u32),
			  .names = ops, .name_count = KHIST_BLOCK_OPS },
		},
		.label_count = 2,
		.metrics = {
			COUNTER("khist_block_requests",
				"Block requests completed, per disk and op", C(requests), "REQUESTS"),
			{ .family = "khist_block_bytes", .type = METRIC_COUNTER,
			  .help = "Bytes of block requests completed, per disk and op",
			  .unit = UNIT_BYTES, .offset = C(bytes), .column = "BYTES" },
			COUNTER("khist_block_errors",
				"Block request completions with an error status, per disk and op",
				C(errors), "ERRORS"),
		},
		.metric_count = 3,
		.weight_offsets = counts_weight,
		.weight_count = ARRAY_SIZE(counts_weight),
	},
};

const struct collector block_collector = {
	.name = "block",
	.description = "block I/O: latency, queue time and sizes per disk and op; requests, bytes, "
		       "errors",
	.elf_bytes = block_bpf__elf_bytes,
	COLLECTOR_MODES(modes),
	COLLECTOR_HISTOGRAMS(histograms),
	COLLECTOR_TABLES(tables),
	.no_task_filters = 1,
};
