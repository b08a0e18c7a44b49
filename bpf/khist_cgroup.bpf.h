/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Series per cgroup (khist_collectors.h, KHIST_CGROUP_ROWS): the row of a
 * task's cgroup at the load-time depth. Rows are handed out as cgroups show
 * up (cgroup_row_of: cgroup id -> row; cgroup_ids: row -> id, for the
 * agent); once they run out, row 0. Callers cache a task's row where they
 * keep per-task state (struct khist_cgroup_cache), so the hash is looked up
 * only when a task changes cgroup. Include after khist_common.bpf.h.
 */
#ifndef KHIST_CGROUP_BPF_H
#define KHIST_CGROUP_BPF_H

/* 0: not broken down; else the depth, and the rows the loader gave the tables. */
const volatile __u32 by_cgroup = 0;
const volatile __u32 cgroup_rows = 1;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KHIST_CGROUP_ROWS);	/* set by the loader */
	__type(key, __u64);
	__type(value, __u64);
} cgroup_row_of SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KHIST_CGROUP_ROWS);	/* set by the loader */
	__type(key, __u32);
	__type(value, __u64);
} cgroup_ids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);	/* loaded by cgroup: one per row, set by the loader */
	__type(key, __u32);
	__type(value, struct khist_cgroup_row_info);
} cgroup_rows_info SEC(".maps");

/* Rows handed out (key 0), and tasks of cgroups that found no row left (key 1). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} cgroup_rows_used SEC(".maps");

/*
 * Tasks moved from one cgroup to another (key 0), counted by
 * khist_cgroup_attach: a row cached in task storage holds for as long as
 * this count stays what it was when the row was looked up.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} cgroup_moves SEC(".maps");

/* A task's row, valid while @tag holds: the cgroup id, or the moves seen + 1. */
struct khist_cgroup_cache {
	__u64 tag;	/* 0: nothing cached */
	__u32 row;
	__u32 reserved;
};

/* The id of @task's cgroup at depth by_cgroup, or of its own when that is shallower. */
static __always_inline __u64 khist_task_cgroup(struct task_struct *task)
{
	struct cgroup *cgroup = BPF_CORE_READ(task, cgroups, dfl_cgrp);
	__u32 level;

	if (!cgroup)
		return 0;
	level = BPF_CORE_READ(cgroup, level);
	if (level > by_cgroup)
		cgroup = BPF_CORE_READ(cgroup, ancestors[by_cgroup & (KHIST_CGROUP_MAX_DEPTH - 1)]);
	return cgroup ? BPF_CORE_READ(cgroup, kn, id) : 0;
}

/*
 * The same through a BTF-typed task pointer (tp_btf, fentry, or
 * bpf_get_current_task_btf()): plain loads the verifier turns into guarded
 * memory accesses, no helper call per pointer. ancestors[] is a flexible
 * array the verifier does not let such loads index, so the walk goes up
 * through each css's parent instead: a task sits a few levels below the
 * depth asked for.
 */
static __always_inline __u64 khist_task_cgroup_btf(struct task_struct *task)
{
	struct cgroup *cgroup = task->cgroups->dfl_cgrp;
	int level;

	if (!cgroup)
		return 0;
	level = cgroup->level;
	for (int i = 0; i < KHIST_CGROUP_MAX_DEPTH && level > (int)by_cgroup; i++, level--) {
		struct cgroup_subsys_state *parent = cgroup->self.parent;

		if (!parent || !parent->cgroup)
			break;
		cgroup = parent->cgroup;
	}
	return cgroup->kn ? cgroup->kn->id : 0;
}

/* The row of cgroup @id, taking the next free one the first time. */
static __always_inline __u32 khist_cgroup_row(__u64 id)
{
	__u64 *row = bpf_map_lookup_elem(&cgroup_row_of, &id), *used, taken;
	struct khist_cgroup_row_info *info;
	__u32 zero = 0, one = 1;

	if (row)
		return (__u32)*row;
	used = bpf_map_lookup_elem(&cgroup_rows_used, &zero);
	if (!used)
		return 0;
	taken = __sync_fetch_and_add(used, 1) + 1;
	if (taken >= cgroup_rows) {
		__u64 *overflow = bpf_map_lookup_elem(&cgroup_rows_used, &one);

		if (overflow)
			__sync_fetch_and_add(overflow, 1);
		return 0;
	}
	if (bpf_map_update_elem(&cgroup_row_of, &id, &taken, BPF_NOEXIST)) {
		/* Another CPU gave it a row meanwhile: theirs; this one stays unused. */
		row = bpf_map_lookup_elem(&cgroup_row_of, &id);
		return row ? (__u32)*row : 0;
	}
	bpf_map_update_elem(&cgroup_ids, &(__u32){ (__u32)taken }, &id, BPF_ANY);
	info = bpf_map_lookup_elem(&cgroup_rows_info, &(__u32){ (__u32)taken });
	if (info)
		info->assigned_ns = bpf_ktime_get_ns();
	return (__u32)taken;
}

/*
 * A cgroup with a row is removed: when, and its path, which the agent can
 * no longer find. Attached by the loader when the collector is loaded by
 * cgroup; raw_tp, so any kernel has it. The path comes with the event
 * (built only while the event has a consumer), from the root of the
 * cgroup's hierarchy. Every hierarchy has the event and numbers its ids
 * on its own: only the v2 one (hierarchy 0) is ours.
 */
SEC("raw_tp/cgroup_rmdir")
int BPF_PROG(khist_cgroup_rmdir, struct cgroup *cgroup, const char *path)
{
	struct khist_cgroup_row_info *info;
	__u64 id, *row;

	if (BPF_CORE_READ(cgroup, root, hierarchy_id) != 0)
		return 0;
	id = BPF_CORE_READ(cgroup, kn, id);
	row = bpf_map_lookup_elem(&cgroup_row_of, &id);
	if (!row)
		return 0;
	info = bpf_map_lookup_elem(&cgroup_rows_info, &(__u32){ (__u32)*row });
	if (!info || info->removed_ns)
		return 0;
	bpf_probe_read_kernel_str(info->path, sizeof(info->path), path);
	/* After the path (a full barrier): a reader that sees the time sees the path. */
	__sync_val_compare_and_swap(&info->removed_ns, 0, bpf_ktime_get_ns());
	return 0;
}

/*
 * A task changed cgroup (any hierarchy: a move in a v1 one costs a lookup
 * again, no more). The event comes after the move, from the only path that
 * changes a task's cgroup v2 once it runs (a fork starts in its cgroup, and
 * so with no cached row), and only when the move succeeded. Attached with
 * khist_cgroup_rmdir.
 */
SEC("raw_tp/cgroup_attach_task")
int BPF_PROG(khist_cgroup_attach, struct cgroup *cgroup, const char *path, struct task_struct *task,
	     bool threadgroup)
{
	__u64 *moves = bpf_map_lookup_elem(&cgroup_moves, &(__u32){ 0 });

	if (moves)
		__sync_fetch_and_add(moves, 1);
	return 0;
}

/*
 * @task's row, cached by its cgroup id in @cache: for a cache that may
 * outlive the task it is of (per CPU, or a hash by pid). @btf: @task is
 * BTF-typed (a constant, so each caller keeps one of the paths).
 */
static __always_inline __u32 khist_cgroup_row_by_id(struct task_struct *task, bool btf,
						    struct khist_cgroup_cache *cache)
{
	__u64 id;

	if (!by_cgroup)
		return 0;
	id = btf ? khist_task_cgroup_btf(task) : khist_task_cgroup(task);
	if (id != cache->tag || !id) {
		cache->tag = id;
		cache->row = khist_cgroup_row(id);
	}
	return cache->row;
}

/*
 * @task's row, cached in @cache in its own task storage: looked up again
 * only after some task changed cgroup, so the steady state is one load and
 * a compare, no walk up the hierarchy. @task is BTF-typed.
 */
static __always_inline __u32 khist_cgroup_row_by_moves(struct task_struct *task,
						       struct khist_cgroup_cache *cache)
{
	__u64 *moves = bpf_map_lookup_elem(&cgroup_moves, &(__u32){ 0 }), seen, id;

	if (!by_cgroup || !moves)
		return 0;
	seen = *(volatile __u64 *)moves + 1;
	if (cache->tag == seen)
		return cache->row;
	/*
	 * The count before the cgroup: a move that this walk misses counts
	 * after it (x86-64 keeps loads in order; the compiler is told to).
	 */
	asm volatile("" ::: "memory");
	id = khist_task_cgroup_btf(task);
	cache->row = khist_cgroup_row(id);
	cache->tag = id ? seen : 0;
	return cache->row;
}

/*
 * For collectors with no per-task state at hand: the last task each CPU
 * saw, and its row. A task is its address and its start time, as the
 * address of one that has ended can be another's.
 */
struct khist_cgroup_cpu_cache {
	__u64 task;
	__u64 start_time;
	struct khist_cgroup_cache row;	/* by moves */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct khist_cgroup_cpu_cache);
} cgroup_cache SEC(".maps");

/*
 * @task's row (BTF-typed), through this CPU's cache: two loads and the
 * compares while the CPU sees the same task, and no cgroup changed.
 */
static __always_inline __u32 khist_cpu_cached_cgroup_row(struct task_struct *task)
{
	struct khist_cgroup_cpu_cache *cache;
	__u64 start_time;
	__u32 zero = 0;

	if (!by_cgroup)
		return 0;
	cache = bpf_map_lookup_elem(&cgroup_cache, &zero);
	if (!cache)
		return 0;
	start_time = task->start_time;
	if (cache->task != (__u64)task || cache->start_time != start_time) {
		cache->task = (__u64)task;
		cache->start_time = start_time;
		cache->row.tag = 0;
	}
	return khist_cgroup_row_by_moves(task, &cache->row);
}

static __always_inline __u32 khist_current_cgroup_row(void)
{
	return by_cgroup ? khist_cpu_cached_cgroup_row(bpf_get_current_task_btf()) : 0;
}

#endif /* KHIST_CGROUP_BPF_H */
