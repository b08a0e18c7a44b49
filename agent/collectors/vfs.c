// SPDX-License-Identifier: GPL-2.0
/* vfs: vfs_read/vfs_write latency and sizes, bytes, errors, a per-file table. */
#include <stddef.h>

#include "collector.h"
#include "vfs.skel.h"

#define PROG(name) SKEL_PROG(vfs_bpf, name)
#define MAP(name) SKEL_MAP(vfs_bpf, name)

static const struct collector_mode modes[] = {
	{ KHIST_ATTACH_GLUE, { PROG(vfs_read_glue), PROG(vfs_write_glue) } },
	{ KHIST_ATTACH_FENTRY, { PROG(vfs_read_fentry), PROG(vfs_read_fexit), PROG(vfs_write_fentry),
				 PROG(vfs_write_fexit) } },
	{ KHIST_ATTACH_KPROBE, { PROG(vfs_read_kprobe), PROG(vfs_read_kretprobe),
				 PROG(vfs_write_kprobe), PROG(vfs_write_kretprobe) } },
	{ KHIST_ATTACH_SYSCALLS, { PROG(vfs_sys_enter), PROG(vfs_sys_exit) } },
};

static const char *const ops[KHIST_VFS_OPS] = {
	[KHIST_VFS_READ] = "read",
	[KHIST_VFS_WRITE] = "write",
};

#define OP_FIELD NAMES_FIELD("op", ops, KHIST_VFS_OPS)

static const struct histogram_desc histograms[] = {
	{
		.name = "vfs_latency",
		.map = MAP(vfs_latency_hist),
		.unit = UNIT_NS,
		.help = "Latency of vfs_read and vfs_write",
		.slots = KHIST_VFS_OPS,
		.slot = OP_FIELD,
		.by_cgroup = 1,
		.count_family = "khist_vfs_calls",
		.count_help = "vfs_read and vfs_write calls",
		.all_slots = 1,
	},
	{
		.name = "vfs_size",
		.map = MAP(vfs_size_hist),
		.unit = UNIT_BYTES,
		.help = "Bytes transferred by each vfs_read and vfs_write",
		.slots = KHIST_VFS_OPS,
		.slot = OP_FIELD,
		.by_cgroup = 1,
		.sum_family = "khist_vfs_bytes",
		.sum_help = "Bytes transferred by vfs_read and vfs_write",
		.sum_unit = UNIT_BYTES,
		.all_slots = 1,
	},
};

static const unsigned short file_sums[] = {
	offsetof(struct khist_file_value, reads),
	offsetof(struct khist_file_value, writes),
	offsetof(struct khist_file_value, read_bytes),
	offsetof(struct khist_file_value, write_bytes),
};

static const struct pending_desc file_pending =
	PENDING_SLOTS(MAP(file_pending), MAP(flush_hold), struct khist_file_pending, file, key, value,
		      file_sums);

#define V(field) offsetof(struct khist_file_value, field)

static const struct table_desc tables[] = {
	{
		.name = "vfs_errors",
		.map = MAP(vfs_errors),
		.labels = { OP_FIELD },
		.label_count = 1,
		.metrics = { COUNTER("khist_vfs_errors", "vfs_read and vfs_write calls that failed", 0,
				     "ERRORS") },
		.metric_count = 1,
		.per_cgroup = KHIST_VFS_OPS,
	},
	{
		.name = "files",
		.map = MAP(file_table),
		.sizing = SIZE_FILES,
		.limit = LIMIT_FILES,
		.bounded = 1,
		/* device and inode: two files of one name (or cut path) stay two series. */
		.labels = {
			KEY_FIELD("pid", DECODE_UINT, struct khist_file_key, tgid),
			VALUE_FIELD("comm", DECODE_STRING, struct khist_file_value, comm),
			VALUE_FIELD("file", DECODE_STRING, struct khist_file_value, name),
			VALUE_FIELD("kind", DECODE_FILE_KIND, struct khist_file_value, kind),
			KEY_FIELD("device", DECODE_DEVICE, struct khist_file_key, dev),
			KEY_FIELD("inode", DECODE_UINT, struct khist_file_key, ino),
		},
		.label_count = 6,
		.metrics = {
			COUNTER("khist_file_reads", "Reads per file and process, for the busiest files", V(reads), "READS"),
			COUNTER("khist_file_writes", "Writes per file and process, for the busiest files", V(writes), "WRITES"),
			COUNTER("khist_file_read_bytes", "Bytes read per file and process, for the busiest files", V(read_bytes), "READ_BYTES"),
			COUNTER("khist_file_written_bytes", "Bytes written per file and process, for the busiest files", V(write_bytes), "WRITTEN_BYTES"),
		},
		.metric_count = 4,
		.weight_offsets = file_sums,
		.weight_count = ARRAY_SIZE(file_sums),
		.pending = &file_pending,
	},
};

const struct collector vfs_collector = {
	.name = "vfs",
	.description = "vfs_read/vfs_write: latency, sizes, bytes, per-file table",
	.elf_bytes = vfs_bpf__elf_bytes,
	COLLECTOR_MODES(modes),
	COLLECTOR_HISTOGRAMS(histograms),
	COLLECTOR_TABLES(tables),
};
