// SPDX-License-Identifier: GPL-2.0
/*
 * khist's terminal histograms against BCC's print_log2_hist layout: the
 * fixtures were written from BCC's formatting rules, not by khist.
 */
#include <linux/types.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <khist_hist.h>

#include "ktap.h"
#include "text.h"

static char *render_layout(const __u64 *counts, enum khist_layout kind, unsigned int precision,
			   enum collector_unit unit, const char *label, unsigned long long divisor)
{
	static char buf[16384];
	struct bucket_layout layout;
	FILE *out;

	memset(buf, 0, sizeof(buf));
	buckets_layout(&layout, kind, precision, unit);
	out = fmemopen(buf, sizeof(buf), "w");
	text_print_hist(out, counts, &layout, label, divisor);
	fclose(out);
	return buf;
}

/* Log-linear, as BCC's tools print it. */
static char *render(const __u64 *counts, unsigned int buckets, unsigned int precision,
		    const char *unit, unsigned long long divisor)
{
	(void)buckets;
	return render_layout(counts, KHIST_LAYOUT_LOG_LINEAR, precision,
			     strcmp(unit, "bytes") ? UNIT_NS : UNIT_BYTES, unit, divisor);
}

static char *fixture(const char *name)
{
	static char buf[16384];
	char path[1024], self[512];
	ssize_t self_len;
	size_t len = 0;
	FILE *f;

	/* Fixtures are installed beside the test program. */
	self_len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[self_len > 0 ? self_len : 0] = '\0';
	if (strrchr(self, '/'))
		*strrchr(self, '/') = '\0';
	snprintf(path, sizeof(path), "%s/fixtures/%s", self, name);
	f = fopen(path, "r");
	if (f) {
		len = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	} else {
		ktap_print_msg("cannot read %s", path);
	}
	buf[len] = '\0';
	return buf;
}

static bool same(const char *got, const char *want)
{
	if (!strcmp(got, want))
		return true;
	ktap_print_msg("got:\n%s", got);
	ktap_print_msg("want:\n%s", want);
	return false;
}

int main(void)
{
	__u64 counts[KHIST_HIST_VALUE_BITS] = {};
	__u64 fine[188] = {};
	char *out;

	ktap_print_header();
	ktap_set_plan(7);

	counts[0] = 1, counts[1] = 3, counts[3] = 10, counts[4] = 7;
	ktap_test_result(same(render(counts, 48, 0, "usecs", 1), fixture("bcc_log2_narrow.txt")),
			 "bcc_layout_narrow");

	memset(counts, 0, sizeof(counts));
	counts[0] = 1, counts[34] = 2;
	ktap_test_result(same(render(counts, 48, 0, "nsecs", 1), fixture("bcc_log2_wide.txt")),
			 "bcc_layout_wide");

	memset(counts, 0, sizeof(counts));
	ktap_test_result(render(counts, 48, 0, "usecs", 1)[0] == '\0', "empty_prints_nothing");

	/* k=2: rows are the log-linear buckets, same columns. */
	fine[khist_hist_index(5, 2)] = 4;
	fine[khist_hist_index(21, 2)] = 2;
	out = render(fine, 188, 2, "bytes", 1);
	ktap_test_result(strstr(out, "         5 -> 5          : 4        |****************************************|\n") &&
			 strstr(out, "        20 -> 23         : 2        |********************                    |\n") &&
			 !strstr(out, "24 -> "), "log_linear_rows");

	/* Shown in usecs, nanosecond buckets with the same bounds share a row. */
	memset(counts, 0, sizeof(counts));
	counts[1] = 5, counts[2] = 6, counts[11] = 7;	/* 2-3 ns, 4-7 ns, 2048-4095 ns */
	out = render(counts, 48, 0, "usecs", 1000);
	if (!strstr(out, "         0 -> 0          : 11       |"))
		ktap_print_msg("%s", out);
	ktap_test_result(strstr(out, "         0 -> 0          : 11       |") &&
			 strstr(out, "         2 -> 4          : 7        |*************************               |\n"),
			 "unit_conversion_merges_rows");

	/* Exponential (schema 3): one row per bucket from the first to the last counted. */
	{
		const struct khist_exp_table *t = buckets_exp_table(3, KHIST_UNIT_NS);
		__u64 exp[KHIST_EXP_TABLE_SIZE] = {};

		exp[khist_exp_index(t, 1100)] = 8;	/* (1.04us, 1.13us] */
		exp[khist_exp_index(t, 1300)] = 2;	/* (1.24us, 1.35us] */
		out = render_layout(exp, KHIST_LAYOUT_EXPONENTIAL, 3, UNIT_NS, "nsecs", 1);
		ktap_test_result(same(out,
			"                  time : count    distribution\n"
			"   1.04us -> 1.13us    : 8        |****************************************|\n"
			"   1.13us -> 1.24us    : 0        |                                        |\n"
			"   1.24us -> 1.35us    : 2        |**********                              |\n"),
			"exponential_rows_with_units");

		/*
		 * In usecs, merged exactly to powers of two of seconds first: 1100 and
		 * 1300 ns are both in (954ns, 1907ns]; everything below shows as 0 -> 0.
		 */
		out = render_layout(exp, KHIST_LAYOUT_EXPONENTIAL, 3, UNIT_NS, "usecs", 1000);
		ktap_test_result(same(out,
			"     usecs               : count    distribution\n"
			"         0 -> 0          : 0        |                                        |\n"
			"         0 -> 1          : 10       |****************************************|\n"),
			"exponential_merged_to_powers_of_two");
	}
	ktap_finished();
}
