// SPDX-License-Identifier: GPL-2.0
/* Unit test of the shared histogram bucket math (include/khist_hist.h). */
#include <stdint.h>

#include <khist_hist.h>

#include "ktap.h"

/* floor(log2(v)) the slow, obvious way. */
static unsigned int reference_log2(unsigned long long v)
{
	unsigned int r = 0;

	while (v >>= 1)
		r++;
	return r;
}

/* Values around every power of two and every sub-bucket edge. */
static bool check_value(unsigned long long v, unsigned int k, const char **why)
{
	unsigned int buckets = khist_hist_buckets(k);
	unsigned int i = khist_hist_index(v, k);
	unsigned long long clamped = v >= (1ULL << KHIST_HIST_VALUE_BITS) ?
				     (1ULL << KHIST_HIST_VALUE_BITS) - 1 : v;

	if (i >= buckets)
		return *why = "index out of range", false;
	if (khist_hist_lower(i, k) > clamped || khist_hist_upper(i, k) < clamped)
		return *why = "value outside its bucket's bounds", false;
	if (k == 0 && i != (clamped ? reference_log2(clamped) : 0))
		return *why = "k=0 differs from BCC's log2 slot", false;
	if (k > 0 && clamped >= (1ULL << k) &&
	    (khist_hist_upper(i, k) - khist_hist_lower(i, k) + 1) << k > khist_hist_lower(i, k))
		return *why = "bucket wider than 2^-k of its lower bound", false;
	return true;
}

int main(void)
{
	static const long long deltas[] = { -3, -2, -1, 0, 1, 2, 3 };
	const char *why = "";
	unsigned long long bad_value = 0;
	unsigned int bad_k = 0;
	bool ok;

	ktap_print_header();
	ktap_set_plan(6);

	ok = true;
	for (unsigned int k = 0; ok && k <= KHIST_HIST_MAX_PRECISION; k++) {
		for (unsigned int e = 0; ok && e <= 63; e++) {
			for (unsigned int s = 0; ok && s < (1U << k) + 1; s++) {
				/* edges of sub-bucket s of [2^e, 2^(e+1)) */
				unsigned long long edge = (1ULL << e) + (e >= k ? (unsigned long long)s << (e - k) : s);

				for (unsigned int d = 0; ok && d < sizeof(deltas) / sizeof(deltas[0]); d++) {
					unsigned long long v = edge + deltas[d];

					if (deltas[d] < 0 && edge < (unsigned long long)-deltas[d])
						continue;
					if (!check_value(v, k, &why))
						ok = false, bad_value = v, bad_k = k;
				}
			}
		}
		for (unsigned long long v = 0; ok && v < 100000; v++)
			if (!check_value(v, k, &why))
				ok = false, bad_value = v, bad_k = k;
	}
	if (!ok)
		ktap_print_msg("k=%u value %llu: %s", bad_k, bad_value, why);
	ktap_test_result(ok, "every_value_in_its_bucket_near_all_edges");

	/* Buckets tile the value range with no gap or overlap. */
	ok = true;
	for (unsigned int k = 0; ok && k <= KHIST_HIST_MAX_PRECISION; k++) {
		unsigned int buckets = khist_hist_buckets(k);

		EXPECT(ok, khist_hist_lower(0, k) == 0, "k=%u starts at %llu", k, khist_hist_lower(0, k));
		for (unsigned int i = 0; ok && i + 1 < buckets; i++)
			EXPECT(ok, khist_hist_upper(i, k) + 1 == khist_hist_lower(i + 1, k),
			       "k=%u bucket %u ends at %llu, next starts at %llu", k, i,
			       khist_hist_upper(i, k), khist_hist_lower(i + 1, k));
		EXPECT(ok, khist_hist_upper(buckets - 1, k) == (1ULL << KHIST_HIST_VALUE_BITS) - 1,
		       "k=%u last bucket ends at %llu", k, khist_hist_upper(buckets - 1, k));
	}
	ktap_test_result(ok, "buckets_tile_the_range");

	ok = true;
	for (unsigned int k = 0; k <= KHIST_HIST_MAX_PRECISION; k++) {
		unsigned int last = khist_hist_buckets(k) - 1;

		EXPECT(ok, khist_hist_index(UINT64_MAX, k) == last, "k=%u", k);
		EXPECT(ok, khist_hist_index(1ULL << KHIST_HIST_VALUE_BITS, k) == last, "k=%u", k);
	}
	ktap_test_result(ok, "large_values_clamp_to_the_last_bucket");

	/* BCC's layout at k=0: 0 and 1 share slot 0, then one slot per power of two. */
	ok = true;
	EXPECT(ok, khist_hist_index(0, 0) == 0 && khist_hist_index(1, 0) == 0, "0 and 1");
	EXPECT(ok, khist_hist_index(2, 0) == 1 && khist_hist_index(3, 0) == 1, "2..3");
	EXPECT(ok, khist_hist_index(4, 0) == 2 && khist_hist_index(7, 0) == 2, "4..7");
	EXPECT(ok, khist_hist_index(1023, 0) == 9 && khist_hist_index(1024, 0) == 10, "1024");
	EXPECT(ok, khist_hist_lower(10, 0) == 1024 && khist_hist_upper(10, 0) == 2047, "bounds");
	ktap_test_result(ok, "k0_is_bcc_log2");

	/* k > 0: 0 and 1 apart, and four sub-buckets per power of two at k=2. */
	ok = true;
	EXPECT(ok, khist_hist_index(0, 2) == 0 && khist_hist_index(1, 2) == 1, "0 and 1");
	EXPECT(ok, khist_hist_index(4, 2) == 4 && khist_hist_index(5, 2) == 5 &&
		   khist_hist_index(7, 2) == 7 && khist_hist_index(8, 2) == 8 &&
		   khist_hist_index(9, 2) == 8 && khist_hist_index(10, 2) == 9, "4..10");
	EXPECT(ok, khist_hist_lower(8, 2) == 8 && khist_hist_upper(8, 2) == 9, "[8,9]");
	EXPECT(ok, khist_hist_lower(13, 2) == 20 && khist_hist_upper(13, 2) == 23, "[20,23]");
	ktap_test_result(ok, "k2_sub_buckets");

	ok = true;
	EXPECT(ok, khist_hist_buckets(0) == 48 && khist_hist_buckets(1) == 96 &&
		   khist_hist_buckets(2) == 188 && khist_hist_buckets(5) == 1408, "bucket counts");
	ktap_test_result(ok, "bucket_counts");
	ktap_finished();
}
