/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel memory of a loaded collector's maps: the kernel's own figure (the
 * memlock of each map's fdinfo, its map_mem_usage) and the same computed
 * from the map's definition, so that it can be told for any number of
 * possible CPUs. Hash and array formulas follow kernel/bpf/{arraymap,
 * hashtab,bpf_local_storage}.c; struct sizes come from the running kernel's
 * BTF.
 */
#ifndef KHIST_MEMORY_H
#define KHIST_MEMORY_H

#include <stdbool.h>
#include <linux/types.h>

#include "collector.h"
#include "error.h"

struct map_memory {
	char name[16];			/* BPF_OBJ_NAME_LEN */
	__u32 id, type, key_size, value_size, max_entries, flags;
	__u64 memlock;			/* the kernel's figure, on this machine */
	bool modelled;			/* a formula exists for its type */
};

/* Sizes of the kernel structs the formulas need (0 when BTF lacks one). */
struct kernel_sizes {
	unsigned int bpf_array, bpf_htab, local_storage_map;
	/* Bigger with lock debugging (lockdep makes a spinlock 64 bytes or more). */
	unsigned int hash_bucket, hash_elem, storage_bucket;
	unsigned int stack_map, stack_bucket;	/* 0: not in this kernel's BTF */
	unsigned int possible_cpus;
};

int memory_kernel_sizes(struct kernel_sizes *sizes, struct error_context *error);

/*
 * Whether fdinfo's memlock is what a map uses (6.4+, map_mem_usage); before,
 * the kernel reports an estimate (entries x key and value, in pages) that
 * the formulas do not try to match.
 */
bool memory_kernel_reports_usage(void);

/*
 * Every map the collector's pins and pinned programs hold (its .rodata and
 * .bss too), each once. A malloc'ed array in @maps.
 */
int memory_collector_maps(const char *pin_root, const struct collector *collector,
			  struct map_memory **maps, unsigned int *count, struct error_context *error);

/* Bytes of @map with @cpus possible CPUs; task storage elements are not counted (memcg). */
__u64 memory_bytes(const struct map_memory *map, const struct kernel_sizes *sizes,
		   unsigned int cpus);

const char *memory_type_name(__u32 type);

#endif
