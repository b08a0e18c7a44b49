/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-CPU pending slots that readers can read at one instant with the table
 * they feed (khist_collectors.h, KHIST_FLUSH_HOLD_NS): the flush_hold map a
 * reader sets, and the generation bumps around every move of a slot's
 * counts. Include after khist_common.bpf.h.
 */
#ifndef KHIST_PENDING_BPF_H
#define KHIST_PENDING_BPF_H

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} flush_hold SEC(".maps");

/* Looked up only when a slot changes hands, never per event. */
static __always_inline bool khist_flush_held(void)
{
	__u32 zero = 0;
	__u64 *until = bpf_map_lookup_elem(&flush_hold, &zero);

	return until && *until > bpf_ktime_get_ns();
}

/*
 * Bracket a move of a slot's counts: odd while moving. The compiler barrier
 * keeps the table updates between the two bumps, and the JIT keeps program
 * order; x86-64 (TSO, the only architecture khist builds for) makes stores
 * visible to other CPUs in that order.
 */
static __always_inline void khist_move_begin(__u32 *generation)
{
	*generation += 1;
	asm volatile("" ::: "memory");
}

static __always_inline void khist_move_end(__u32 *generation)
{
	asm volatile("" ::: "memory");
	*generation += 1;
}

#endif /* KHIST_PENDING_BPF_H */
