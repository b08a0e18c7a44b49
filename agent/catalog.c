// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <string.h>

#include <uapi/khist.h>

#include "catalog.h"
#include "sched.skel.h"
#include "syscalls.skel.h"
#include "vfs.skel.h"
#include "syscall_names.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const struct catalog_mode syscalls_modes[] = {
	{ KHIST_ATTACH_RAW_TP, { "syscalls_enter", "syscalls_exit" } },
};

static const struct catalog_mode sched_modes[] = {
	{ KHIST_ATTACH_TP_BTF, { "sched_wakeup_btf", "sched_wakeup_new_btf", "sched_switch_btf",
				 "sched_fork_btf" } },
	{ KHIST_ATTACH_RAW_TP, { "sched_wakeup_raw", "sched_wakeup_new_raw", "sched_switch_raw",
				 "sched_fork_raw", "sched_exit_raw" } },
};

static const struct catalog_mode vfs_modes[] = {
	{ KHIST_ATTACH_GLUE, { "vfs_read_glue", "vfs_write_glue" } },
	{ KHIST_ATTACH_FENTRY, { "vfs_read_fentry", "vfs_read_fexit", "vfs_write_fentry",
				 "vfs_write_fexit" } },
	{ KHIST_ATTACH_KPROBE, { "vfs_read_kprobe", "vfs_read_kretprobe", "vfs_write_kprobe",
				 "vfs_write_kretprobe" } },
	{ KHIST_ATTACH_SYSCALLS, { "vfs_sys_enter", "vfs_sys_exit" } },
};

const struct catalog_collector catalog_collectors[] = {
	{
		.name = "syscalls",
		.description = "system calls: counts, errors, latency, per process, signals",
		.elf_bytes = syscalls_bpf__elf_bytes,
		.default_precision = 0,
		.modes = syscalls_modes,
		.mode_count = ARRAY_SIZE(syscalls_modes),
	},
	{
		.name = "sched",
		.description = "scheduler: run-queue latency, off-CPU time, time slices, switches",
		.elf_bytes = sched_bpf__elf_bytes,
		.default_precision = 2,
		.modes = sched_modes,
		.mode_count = ARRAY_SIZE(sched_modes),
	},
	{
		.name = "vfs",
		.description = "vfs_read/vfs_write: latency, sizes, bytes, per-file table",
		.elf_bytes = vfs_bpf__elf_bytes,
		.default_precision = 2,
		.modes = vfs_modes,
		.mode_count = ARRAY_SIZE(vfs_modes),
	},
};
const unsigned int catalog_collector_count = ARRAY_SIZE(catalog_collectors);

static const char *syscall_slot(unsigned int slot, char *buf, size_t size)
{
	return catalog_syscall_name(slot, buf, size);
}

static const char *vfs_op_slot(unsigned int slot, char *buf, size_t size)
{
	snprintf(buf, size, "%s", slot == KHIST_VFS_READ ? "read" : "write");
	return buf;
}

const struct catalog_histogram catalog_histograms[] = {
	{ "syscall_latency", "syscalls", "ns", "Time from sys_enter to sys_exit, per system call",
	  "syscall", KHIST_SYSCALL_SLOTS, syscall_slot },
	{ "runq_latency", "sched", "ns", "Time a task waited on a run queue before it ran",
	  NULL, 1, NULL },
	{ "offcpu_time", "sched", "ns", "Time a task spent off CPU, from switch-out to switch-in",
	  NULL, 1, NULL },
	{ "oncpu_slice", "sched", "ns", "Time a task ran before it was switched out",
	  NULL, 1, NULL },
	{ "vfs_latency", "vfs", "ns", "Latency of vfs_read and vfs_write", "op", KHIST_VFS_OPS,
	  vfs_op_slot },
	{ "vfs_size", "vfs", "bytes", "Bytes transferred by each vfs_read and vfs_write", "op",
	  KHIST_VFS_OPS, vfs_op_slot },
};
const unsigned int catalog_histogram_count = ARRAY_SIZE(catalog_histograms);

const struct catalog_counter catalog_counters[] = {
	{ "syscalls", "syscalls", "syscall_latency_hist", "System calls completed, per system call" },
	{ "syscall_errors", "syscalls", "syscall_errors",
	  "System calls that failed, per system call and errno" },
	{ "process_syscalls", "syscalls", "process_counts",
	  "System calls per process (bounded LRU table)" },
	{ "signals", "syscalls", "signals",
	  "Signals sent with kill/tkill/tgkill, per signal, sender and target" },
	{ "context_switches", "sched", "switch_counts", "Context switches, voluntary and involuntary" },
	{ "forks", "sched", "fork_count", "Processes and threads created" },
	{ "cpu_task", "sched", "cpu_task", "The task running on each CPU at its last switch" },
	{ "vfs_calls", "vfs", "vfs_latency_hist", "vfs_read/vfs_write calls, bytes and errors" },
	{ "file_io", "vfs", "file_table", "Reads, writes and bytes per file and process (LRU table)" },
};
const unsigned int catalog_counter_count = ARRAY_SIZE(catalog_counters);

const struct catalog_collector *catalog_find_collector(const char *name)
{
	for (unsigned int i = 0; i < catalog_collector_count; i++)
		if (!strcmp(catalog_collectors[i].name, name))
			return &catalog_collectors[i];
	return NULL;
}

const struct catalog_histogram *catalog_find_histogram(const char *name)
{
	for (unsigned int i = 0; i < catalog_histogram_count; i++)
		if (!strcmp(catalog_histograms[i].name, name))
			return &catalog_histograms[i];
	return NULL;
}

static const char *const mode_names[KHIST_ATTACH_MODE_COUNT] = KHIST_ATTACH_MODE_NAMES;

const char *catalog_mode_name(unsigned int mode)
{
	return mode < KHIST_ATTACH_MODE_COUNT ? mode_names[mode] : "unknown";
}

int catalog_mode_by_name(const char *name)
{
	for (int mode = 0; mode < KHIST_ATTACH_MODE_COUNT; mode++)
		if (!strcmp(mode_names[mode], name))
			return mode;
	return -1;
}

const char *catalog_syscall_name(unsigned int nr, char *buf, size_t size)
{
	if (nr < ARRAY_SIZE(syscall_names) && syscall_names[nr])
		return syscall_names[nr];
	snprintf(buf, size, "sys_%u", nr);
	return buf;
}

int catalog_syscall_number(const char *name)
{
	for (unsigned int nr = 0; nr < ARRAY_SIZE(syscall_names); nr++)
		if (syscall_names[nr] && !strcmp(syscall_names[nr], name))
			return nr;
	return -1;
}

static const char *const file_kind_names[KHIST_FILE_KIND_COUNT] = KHIST_FILE_KIND_NAMES;

const char *catalog_file_kind_name(unsigned int kind)
{
	return kind < KHIST_FILE_KIND_COUNT ? file_kind_names[kind] : "unknown";
}
