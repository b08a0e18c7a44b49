// SPDX-License-Identifier: GPL-2.0
/*
 * Unit test of the exponential bucket layout (include/khist_hist.h) against
 * an integer-only reference: value v (ns or bytes) is at most the bound of
 * native bucket i, 2^(i/2^s) base units, exactly when
 *	v^(2^s) * 2^max(0,-i) <= scale^(2^s) * 2^max(0,i)
 * (scale: 10^9 ns per second, or 1), decided with big integers. No floating
 * point takes part in the reference.
 */
#include <stdint.h>
#include <string.h>

#include <khist_hist.h>

#include "ktap.h"

#define LIMBS 112	/* 3584 bits: (2^49)^32 * 2^960 fits */

struct big {
	uint32_t limb[LIMBS];
	unsigned int used;
};

static void big_set(struct big *a, uint64_t v)
{
	memset(a, 0, sizeof(*a));
	a->limb[0] = (uint32_t)v;
	a->limb[1] = (uint32_t)(v >> 32);
	a->used = a->limb[1] ? 2 : a->limb[0] ? 1 : 0;
}

static void big_square(struct big *a)
{
	uint32_t out[LIMBS] = { 0 };

	for (unsigned int i = 0; i < a->used; i++) {
		uint64_t carry = 0;

		for (unsigned int j = 0; j < a->used; j++) {
			uint64_t t = (uint64_t)a->limb[i] * a->limb[j] + out[i + j] + carry;

			out[i + j] = (uint32_t)t;
			carry = t >> 32;
		}
		out[i + a->used] = (uint32_t)carry;
	}
	memcpy(a->limb, out, sizeof(out));
	a->used *= 2;
	while (a->used && !a->limb[a->used - 1])
		a->used--;
}

static void big_shift_left(struct big *a, unsigned int bits)
{
	unsigned int words = bits / 32, rest = bits % 32;

	for (int i = LIMBS - 1; i >= 0; i--) {
		uint64_t hi = i - (int)words >= 0 ? a->limb[i - words] : 0;
		uint64_t lo = i - (int)words - 1 >= 0 ? a->limb[i - words - 1] : 0;

		a->limb[i] = (uint32_t)(((hi << 32 | lo) << rest) >> 32);
	}
	a->used = LIMBS;
	while (a->used && !a->limb[a->used - 1])
		a->used--;
}

static int big_compare(const struct big *a, const struct big *b)
{
	for (int i = LIMBS - 1; i >= 0; i--)
		if (a->limb[i] != b->limb[i])
			return a->limb[i] < b->limb[i] ? -1 : 1;
	return 0;
}

/* v^(2^schema) * 2^shift */
static void big_power(struct big *a, uint64_t v, unsigned int schema, unsigned int shift)
{
	big_set(a, v);
	for (unsigned int i = 0; i < schema; i++)
		big_square(a);
	big_shift_left(a, shift);
}

/* Exactly: is @value (in the unit's integers) at most 2^(index/2^schema) base units? */
static bool at_most_bound(uint64_t value, int index, unsigned int schema, enum khist_unit unit)
{
	struct big lhs, rhs;

	big_power(&lhs, value, schema, index < 0 ? (unsigned int)-index : 0);
	big_power(&rhs, unit == KHIST_UNIT_NS ? 1000000000 : 1, schema,
		  index > 0 ? (unsigned int)index : 0);
	return big_compare(&lhs, &rhs) <= 0;
}

/* @value is in row bucket @bucket, by the reference alone. */
static bool in_bucket(const struct khist_exp_table *t, uint64_t value, unsigned int bucket)
{
	int index = bucket ? khist_exp_native_index(t, bucket) : t->first_index - 1;
	uint64_t top = (1ULL << KHIST_HIST_VALUE_BITS) - 1;

	if (value > top)
		value = top;
	if (bucket == 0)
		return t->unit == KHIST_UNIT_BYTES ? value == 0 : at_most_bound(value, index, t->schema, t->unit);
	if (bucket + 1 < t->buckets && !at_most_bound(value, index, t->schema, t->unit))
		return false;
	if (bucket == 1)	/* above the zero threshold */
		return t->unit == KHIST_UNIT_BYTES ? value > 0 : !at_most_bound(value, index - 1, t->schema, t->unit);
	return !at_most_bound(value, index - 1, t->schema, t->unit);
}

static const char *const unit_names[] = { "ns", "bytes" };
static struct khist_exp_table tables[KHIST_UNITS][KHIST_EXP_MAX_SCHEMA + 1];

int main(void)
{
	const uint64_t top = (1ULL << KHIST_HIST_VALUE_BITS) - 1;
	unsigned int checked = 0;
	bool ok;

	ktap_print_header();
	ktap_set_plan(6);

	ok = true;
	for (unsigned int u = 0; u < KHIST_UNITS; u++)
		for (unsigned int s = 0; s <= KHIST_EXP_MAX_SCHEMA; s++)
			EXPECT(ok, khist_exp_fill(&tables[u][s], s, u), "%s schema %u", unit_names[u], s);
	EXPECT(ok, !khist_exp_fill(&tables[0][0], KHIST_EXP_MAX_SCHEMA + 1, KHIST_UNIT_NS), "schema 6");
	EXPECT(ok, !khist_exp_fill(&tables[0][0], 0, KHIST_UNITS), "no such unit");
	khist_exp_fill(&tables[0][0], 0, KHIST_UNIT_NS);
	ktap_test_result(ok, "tables_for_schemas_0_to_%d", KHIST_EXP_MAX_SCHEMA);

	/* Every stored bound is the exact floor of its irrational boundary. */
	ok = true;
	for (unsigned int u = 0; u < KHIST_UNITS; u++) {
		for (unsigned int s = 0; ok && s <= KHIST_EXP_MAX_SCHEMA; s++) {
			const struct khist_exp_table *t = &tables[u][s];

			if (u == KHIST_UNIT_NS)
				EXPECT(ok, at_most_bound(t->last[0], t->first_index - 1, s, u) &&
					   !at_most_bound(t->last[0] + 1, t->first_index - 1, s, u),
				       "%s schema %u: zero threshold %llu", unit_names[u], s, t->last[0]);
			for (unsigned int b = 1; ok && b < t->buckets; b++) {
				int index = khist_exp_native_index(t, b);

				EXPECT(ok, at_most_bound(t->last[b], index, s, u) &&
					   !at_most_bound(t->last[b] + 1, index, s, u),
				       "%s schema %u bucket %u (index %d): %llu is not the floor",
				       unit_names[u], s, b, index, t->last[b]);
				checked++;
			}
			EXPECT(ok, t->last[t->buckets - 2] < top && t->last[t->buckets - 1] >= top,
			       "%s schema %u: the last bucket does not reach 2^48", unit_names[u], s);
			EXPECT(ok, t->buckets + (1U << s) < KHIST_EXP_TABLE_SIZE, "table too small");
		}
	}
	ktap_print_msg("%u bounds checked", checked);
	ktap_test_result(ok, "every_bound_is_the_exact_floor");

	/* Just below, at and just above every bound, at every schema. */
	ok = true;
	checked = 0;
	for (unsigned int u = 0; u < KHIST_UNITS; u++) {
		for (unsigned int s = 0; ok && s <= KHIST_EXP_MAX_SCHEMA; s++) {
			const struct khist_exp_table *t = &tables[u][s];

			for (unsigned int b = 0; ok && b < t->buckets; b++) {
				for (int d = -1; ok && d <= 1; d++) {
					uint64_t v = t->last[b] + d;
					unsigned int got;

					if (d < 0 && !t->last[b])
						continue;
					got = khist_exp_index(t, v);
					EXPECT(ok, got < t->buckets && in_bucket(t, v, got),
					       "%s schema %u: %llu landed in bucket %u (index %d)",
					       unit_names[u], s, (unsigned long long)v, got,
					       khist_exp_native_index(t, got));
					checked++;
				}
			}
		}
	}
	ktap_print_msg("%u values next to bounds", checked);
	ktap_test_result(ok, "values_around_every_bound");

	ok = true;
	for (unsigned int u = 0; u < KHIST_UNITS; u++)
		for (unsigned int s = 0; ok && s <= KHIST_EXP_MAX_SCHEMA; s++)
			for (uint64_t v = 0; ok && v <= 65536; v++) {
				unsigned int got = khist_exp_index(&tables[u][s], v);

				EXPECT(ok, in_bucket(&tables[u][s], v, got),
				       "%s schema %u: %llu landed in bucket %u", unit_names[u], s,
				       (unsigned long long)v, got);
			}
	ktap_test_result(ok, "every_value_up_to_65536");

	ok = true;
	for (unsigned int u = 0; u < KHIST_UNITS; u++)
		for (unsigned int s = 0; s <= KHIST_EXP_MAX_SCHEMA; s++) {
			const struct khist_exp_table *t = &tables[u][s];

			EXPECT(ok, khist_exp_index(t, top) == t->buckets - 1u &&
				   khist_exp_index(t, top + 1) == t->buckets - 1u &&
				   khist_exp_index(t, UINT64_MAX) == t->buckets - 1u,
			       "%s schema %u", unit_names[u], s);
		}
	ktap_test_result(ok, "large_values_clamp_to_the_last_bucket");

	/* Worked examples, and the bounds user space exports. */
	ok = true;
	{
		const struct khist_exp_table *ns3 = &tables[KHIST_UNIT_NS][3];
		const struct khist_exp_table *bytes0 = &tables[KHIST_UNIT_BYTES][0];
		unsigned int b;

		EXPECT(ok, ns3->last[0] == 14 && ns3->first_index == -207, "ns schema 3 zero bucket");
		/* 1 ms = 2^-9.966 s: bucket index ceil(-9.966 * 8) = -79 */
		b = khist_exp_index(ns3, 1000000);
		EXPECT(ok, khist_exp_native_index(ns3, b) == -79, "1 ms in index %d",
		       khist_exp_native_index(ns3, b));
		/* 2^-9 s = 1953125 ns exactly: the upper bound of index -72, inclusive */
		b = khist_exp_index(ns3, 1953125);
		EXPECT(ok, khist_exp_native_index(ns3, b) == -72 && ns3->last[b] == 1953125, "2^-9 s");
		EXPECT(ok, khist_exp_native_index(ns3, khist_exp_index(ns3, 1953126)) == -71, "above");
		EXPECT(ok, khist_exp_index(bytes0, 0) == 0 && khist_exp_index(bytes0, 1) == 1 &&
			   khist_exp_index(bytes0, 2) == 2 && khist_exp_index(bytes0, 3) == 3 &&
			   khist_exp_index(bytes0, 4) == 3 && khist_exp_index(bytes0, 5) == 4,
		       "bytes schema 0: 0 | 1 | 2 | 3..4 | 5..8");
		EXPECT(ok, khist_exp_bound(-72, 3) == 1.0 / 512 && khist_exp_bound(8, 3) == 2.0 &&
			   khist_exp_bound(0, 0) == 1.0, "bounds at powers of two are exact");
		EXPECT(ok, ns3->buckets == 354 && tables[KHIST_UNIT_BYTES][3].buckets == 386,
		       "bucket counts %u %u", ns3->buckets, tables[KHIST_UNIT_BYTES][3].buckets);
	}
	ktap_test_result(ok, "worked_examples");
	ktap_finished();
}
