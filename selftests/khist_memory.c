// SPDX-License-Identifier: GPL-2.0
/*
 * `khist memory` computes each map's kernel memory from its definition;
 * with this machine's possible CPUs that must be exactly what the kernel
 * reports (fdinfo memlock) for every map of every default collector. check
 * runs it once more in a VM booted with 32 CPUs (KHIST_MEMORY_CPUS=32),
 * where the per-CPU terms dominate.
 */
#include "collector_util.h"
#include "memory.h"

static void test_formula(void)
{
	struct error_context error = {};
	struct kernel_sizes sizes;
	unsigned int maps_seen = 0, wrong = 0;
	__u64 kernel = 0, formula = 0, at_one = 0, at_128 = 0;
	const char *want_cpus = getenv("KHIST_MEMORY_CPUS");
	bool ok = true;

	if (!memory_kernel_reports_usage()) {
		ktap_test_skip("formula_is_what_the_kernel_reports", "this kernel reports an estimate "
			       "in fdinfo memlock, not what a map uses (map_mem_usage, 6.4)");
		return;
	}

	EXPECT(ok, memory_kernel_sizes(&sizes, &error) == 0, "%s", error.text);
	for (unsigned int i = 0; ok && i < collector_count; i++) {
		struct map_memory *maps;
		unsigned int count;

		if (memory_collector_maps(test_root(), collectors[i], &maps, &count, &error)) {
			EXPECT(ok, false, "%s", error.text);
			break;
		}
		for (unsigned int m = 0; m < count; m++) {
			__u64 here = memory_bytes(&maps[m], &sizes, sizes.possible_cpus);

			if (!maps[m].modelled || here != maps[m].memlock) {
				if (!wrong++)
					ktap_print_msg("%s/%s (%s, %u entries of %u bytes): formula %llu, "
						       "kernel %llu%s", collectors[i]->name, maps[m].name,
						       memory_type_name(maps[m].type), maps[m].max_entries,
						       maps[m].value_size, (unsigned long long)here,
						       (unsigned long long)maps[m].memlock,
						       maps[m].modelled ? "" : " (not modelled)");
			}
			kernel += maps[m].memlock;
			formula += here;
			at_one += memory_bytes(&maps[m], &sizes, 1);
			at_128 += memory_bytes(&maps[m], &sizes, 128);
			maps_seen++;
		}
		free(maps);
	}
	ktap_print_msg("%u maps: %llu bytes in the kernel, %llu by the formula, %u possible CPUs; "
		       "%llu bytes with 1 CPU, %llu with 128", maps_seen, (unsigned long long)kernel,
		       (unsigned long long)formula, sizes.possible_cpus, (unsigned long long)at_one,
		       (unsigned long long)at_128);
	EXPECT(ok, !wrong, "%u maps where the formula is not the kernel's figure", wrong);
	EXPECT(ok, maps_seen > 30 && kernel == formula && at_one < at_128, "totals");
	EXPECT(ok, !want_cpus || sizes.possible_cpus == (unsigned int)atoi(want_cpus),
	       "booted with %s CPUs, %u possible", want_cpus, sizes.possible_cpus);
	ktap_test_result(ok, "formula_is_what_the_kernel_reports");
}

static void test_cli(void)
{
	char output[16384], args[512];
	bool ok = true;
	int status;

	snprintf(args, sizeof(args), "memory --check --pin-root %s", test_root());
	status = run_khist(args, output, sizeof(output));
	if (memory_kernel_reports_usage())
		EXPECT(ok, status == 0 && strstr(output, "total: ") && strstr(output, "with 128 CPUs"),
		       "%d %s", status, output);
	else
		EXPECT(ok, status == 1 && strstr(output, "nothing to check the formulas against"),
		       "--check before 6.4: %d %s", status, output);
	snprintf(args, sizeof(args), "memory --cpus 0 --pin-root %s", test_root());
	status = run_khist(args, output, sizeof(output));
	EXPECT(ok, status == 2 && strstr(output, "--cpus"), "--cpus 0: %d %s", status, output);
	status = run_khist("memory --pin-root /sys/fs/bpf/khist-nothing-here", output, sizeof(output));
	EXPECT(ok, status == 1 && strstr(output, "no collector is loaded"), "empty root: %d %s",
	       status, output);
	ktap_test_result(ok, "cli_checks_and_refuses_bad_input");
}

int main(void)
{
	struct loader_options options;

	ktap_print_header();
	require_root_or_skip();
	ktap_set_plan(2);
	for (unsigned int i = 0; i < collector_count; i++) {
		loader_default_options(&options);
		load_or_fail(collectors[i]->name, &options);
	}
	test_formula();
	test_cli();
	unload_all();
	ktap_finished();
}
