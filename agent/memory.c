// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/utsname.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "memory.h"

#define PAGE_BYTES		4096ULL
#define HASH_LOCK_COUNT		8	/* HASHTAB_MAP_LOCK_COUNT */

/* The size of struct @name; with @member, of the one that has that first member. */
static unsigned int struct_size(const struct btf *btf, const char *name, const char *member)
{
	for (__u32 id = 1; id < btf__type_cnt(btf); id++) {
		const struct btf_type *type = btf__type_by_id(btf, id);

		if (!btf_is_struct(type) || strcmp(btf__name_by_offset(btf, type->name_off), name))
			continue;
		if (member && (!btf_vlen(type) ||
			       strcmp(btf__name_by_offset(btf, btf_members(type)->name_off), member)))
			continue;
		return type->size;
	}
	return 0;
}

int memory_kernel_sizes(struct kernel_sizes *sizes, struct error_context *error)
{
	struct btf *btf = btf__load_vmlinux_btf();
	int cpus = libbpf_num_possible_cpus();

	memset(sizes, 0, sizeof(*sizes));
	if (!btf)
		return error_fail(error, -errno, "reading the kernel's BTF: %s", strerror(errno));
	sizes->bpf_array = struct_size(btf, "bpf_array", NULL);
	sizes->bpf_htab = struct_size(btf, "bpf_htab", NULL);
	sizes->local_storage_map = struct_size(btf, "bpf_local_storage_map", NULL);
	/* kernel/bpf/hashtab.c's own struct bucket (a generic name): the one that starts with head. */
	sizes->hash_bucket = struct_size(btf, "bucket", "head");
	sizes->hash_elem = struct_size(btf, "htab_elem", NULL);
	sizes->storage_bucket = struct_size(btf, "bpf_local_storage_map_bucket", NULL);
	sizes->stack_map = struct_size(btf, "bpf_stack_map", NULL);
	sizes->stack_bucket = struct_size(btf, "stack_map_bucket", NULL);
	btf__free(btf);
	sizes->possible_cpus = cpus > 0 ? (unsigned int)cpus : 1;
	if (!sizes->bpf_array || !sizes->bpf_htab || !sizes->local_storage_map ||
	    !sizes->hash_bucket || !sizes->hash_elem || !sizes->storage_bucket)
		return error_fail(error, -ENOENT, "the kernel's BTF lacks struct bpf_array, bpf_htab, "
				  "bpf_local_storage_map, bucket, htab_elem or "
				  "bpf_local_storage_map_bucket");
	return 0;
}

static __u64 round8(__u64 v)
{
	return (v + 7) & ~7ULL;
}

static __u64 page_align(__u64 v)
{
	return (v + PAGE_BYTES - 1) & ~(PAGE_BYTES - 1);
}

static __u64 pow2_at_least(__u64 v)
{
	__u64 p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

__u64 memory_bytes(const struct map_memory *map, const struct kernel_sizes *sizes,
		   unsigned int cpus)
{
	__u64 entries = map->max_entries, value = round8(map->value_size), key = round8(map->key_size);
	__u64 hash_base = sizes->bpf_htab + sizes->hash_bucket * pow2_at_least(entries) +
			  sizeof(int) * (__u64)cpus * HASH_LOCK_COUNT;

	switch (map->type) {
	case BPF_MAP_TYPE_ARRAY:
		if (map->flags & BPF_F_MMAPABLE)
			return page_align(sizes->bpf_array) + page_align(entries * value);
		return sizes->bpf_array + entries * value;
	case BPF_MAP_TYPE_PERCPU_ARRAY:
		return sizes->bpf_array + entries * sizeof(void *) + entries * value * cpus;
	case BPF_MAP_TYPE_HASH:
		/* One spare element per CPU, and a pointer per CPU to it. */
		return hash_base + (sizes->hash_elem + key + value) * (entries + cpus) +
		       sizeof(void *) * (__u64)cpus;
	case BPF_MAP_TYPE_LRU_HASH:
		return hash_base + (sizes->hash_elem + key + value) * entries;
	case BPF_MAP_TYPE_PERCPU_HASH:
	case BPF_MAP_TYPE_LRU_PERCPU_HASH:
		return hash_base + (sizes->hash_elem + key + sizeof(void *)) * entries +
		       value * cpus * entries;
	case BPF_MAP_TYPE_TASK_STORAGE:
		return sizes->local_storage_map + sizes->storage_bucket *
		       (cpus > 2 ? pow2_at_least(cpus) : 2);
	case BPF_MAP_TYPE_STACK_TRACE:
		/* A bucket pointer per slot, and every stack preallocated. */
		if (!sizes->stack_map || !sizes->stack_bucket)
			return map->memlock;
		return sizes->stack_map + sizeof(void *) * pow2_at_least(entries) +
		       (sizes->stack_bucket + (__u64)map->value_size) * entries;
	default:
		return map->memlock;
	}
}

const char *memory_type_name(__u32 type)
{
	const char *name = libbpf_bpf_map_type_str(type);

	return name ? name : "unknown";
}

static __u64 fdinfo_memlock(int fd)
{
	char path[64], line[256];
	unsigned long long memlock = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %llu", &memlock) == 1)
			break;
	fclose(f);
	return memlock;
}

static int add_map(struct map_memory **maps, unsigned int *count, __u32 id)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	struct map_memory *grown, *one;
	int fd;

	for (unsigned int i = 0; i < *count; i++)
		if ((*maps)[i].id == id)
			return 0;
	fd = bpf_map_get_fd_by_id(id);
	if (fd < 0)
		return -errno;
	if (bpf_map_get_info_by_fd(fd, &info, &len)) {
		close(fd);
		return -errno;
	}
	grown = realloc(*maps, (*count + 1) * sizeof(**maps));
	if (!grown) {
		close(fd);
		return -ENOMEM;
	}
	*maps = grown;
	one = &grown[(*count)++];
	memset(one, 0, sizeof(*one));
	snprintf(one->name, sizeof(one->name), "%s", info.name);
	one->id = info.id;
	one->type = info.type;
	one->key_size = info.key_size;
	one->value_size = info.value_size;
	one->max_entries = info.max_entries;
	one->flags = info.map_flags;
	one->memlock = fdinfo_memlock(fd);
	switch (info.type) {
	case BPF_MAP_TYPE_ARRAY: case BPF_MAP_TYPE_PERCPU_ARRAY: case BPF_MAP_TYPE_HASH:
	case BPF_MAP_TYPE_LRU_HASH: case BPF_MAP_TYPE_PERCPU_HASH:
	case BPF_MAP_TYPE_LRU_PERCPU_HASH: case BPF_MAP_TYPE_TASK_STORAGE:
	case BPF_MAP_TYPE_STACK_TRACE:
		/* Preallocated hashes only: others hold what is in them. */
		one->modelled = !(info.map_flags & BPF_F_NO_PREALLOC) ||
				info.type == BPF_MAP_TYPE_TASK_STORAGE;
		break;
	}
	close(fd);
	return 0;
}

/* The maps a pinned link's program uses. */
static int add_link_maps(const char *path, struct map_memory **maps, unsigned int *count)
{
	struct bpf_link_info link = {};
	struct bpf_prog_info prog = {};
	__u32 len = sizeof(link), ids[64];
	int fd = bpf_obj_get(path), prog_fd, err = 0;

	if (fd < 0)
		return -errno;
	if (bpf_link_get_info_by_fd(fd, &link, &len)) {
		err = -errno;
		goto out;
	}
	prog_fd = bpf_prog_get_fd_by_id(link.prog_id);
	if (prog_fd < 0) {
		err = -errno;
		goto out;
	}
	len = sizeof(prog);
	prog.nr_map_ids = sizeof(ids) / sizeof(ids[0]);
	prog.map_ids = (__u64)(unsigned long)ids;
	if (bpf_prog_get_info_by_fd(prog_fd, &prog, &len))
		err = -errno;
	for (__u32 i = 0; !err && i < prog.nr_map_ids && i < sizeof(ids) / sizeof(ids[0]); i++)
		err = add_map(maps, count, ids[i]);
	close(prog_fd);
out:
	close(fd);
	return err;
}

int memory_collector_maps(const char *pin_root, const struct collector *collector,
			  struct map_memory **maps, unsigned int *count, struct error_context *error)
{
	char dir[PATH_MAX], path[PATH_MAX + 256];
	struct dirent *entry;
	int err = 0;
	DIR *d;

	*maps = NULL;
	*count = 0;
	for (int links = 0; !err && links < 2; links++) {
		snprintf(dir, sizeof(dir), "%s/%s%s", pin_root, collector->name, links ? "/links" : "");
		d = opendir(dir);
		if (!d)
			return error_fail(error, -errno, "%s: %s", dir, strerror(errno));
		while (!err && (entry = readdir(d))) {
			struct bpf_map_info info = {};
			__u32 len = sizeof(info);
			int fd;

			if (entry->d_name[0] == '.' || (!links && !strcmp(entry->d_name, "links")))
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, entry->d_name);
			if (links) {
				err = add_link_maps(path, maps, count);
				continue;
			}
			fd = bpf_obj_get(path);
			if (fd < 0) {
				err = -errno;
				continue;
			}
			if (bpf_map_get_info_by_fd(fd, &info, &len) == 0)
				err = add_map(maps, count, info.id);
			close(fd);
		}
		closedir(d);
	}
	if (err) {
		free(*maps);
		*maps = NULL;
		*count = 0;
		return error_fail(error, err, "%s/%s: %s", pin_root, collector->name, strerror(-err));
	}
	return 0;
}

bool memory_kernel_reports_usage(void)
{
	unsigned int major = 0, minor = 0;
	struct utsname uts;

	if (uname(&uts) || sscanf(uts.release, "%u.%u", &major, &minor) != 2)
		return true;
	return major > 6 || (major == 6 && minor >= 4);
}
