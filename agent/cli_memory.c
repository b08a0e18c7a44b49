// SPDX-License-Identifier: GPL-2.0
/* khist memory: what the loaded collectors' maps take in the kernel, here and on N CPUs. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "cli.h"
#include "collector_list.h"
#include "loader.h"
#include "memory.h"

enum { OPT_PIN_ROOT = 256, OPT_CPUS, OPT_JSON, OPT_CHECK };

static double mib(__u64 bytes)
{
	return bytes / 1048576.0;
}

int cli_memory(int argc, char **argv)
{
	static const struct option options[] = {
		{ "pin-root", required_argument, NULL, OPT_PIN_ROOT },
		{ "cpus", required_argument, NULL, OPT_CPUS },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "check", no_argument, NULL, OPT_CHECK },
		{}
	};
	json_object *root = NULL, *list = NULL;
	__u64 total_here = 0, total_memlock = 0, total_at = 0;
	struct error_context error = {};
	struct kernel_sizes sizes;
	long long cpus = 128;
	bool json = false, check = false;
	unsigned int mismatches = 0, loaded = 0;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case OPT_PIN_ROOT: cli_set_pin_root(optarg); break;
		case OPT_CPUS:
			if (!cli_parse_number("--cpus", optarg, 1, 8192, &cpus))
				return EXIT_USAGE;
			break;
		case OPT_JSON: json = true; break;
		case OPT_CHECK: check = true; break;
		default: return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "khist: memory takes no arguments\n");
		return EXIT_USAGE;
	}
	if (check && !memory_kernel_reports_usage()) {
		fprintf(stderr, "khist: memory --check: before 6.4 the kernel reports an estimate, "
			"not what a map uses: nothing to check the formulas against\n");
		return EXIT_RUNTIME;
	}
	if (memory_kernel_sizes(&sizes, &error))
		return cli_runtime_error("memory", error.code, error.text);
	if (json) {
		root = json_object_new_object();
		list = json_object_new_array();
		json_object_object_add(root, "maps", list);
	}
	if (!json)
		printf("%-10s %-16s %-15s %8s %7s %12s %12s %14s\n", "COLLECTOR", "MAP", "TYPE",
		       "ENTRIES", "VALUE", "KERNEL", "FORMULA", "AT CPUS");
	for (unsigned int i = 0; i < collector_count; i++) {
		const struct collector *collector = collectors[i];
		struct map_memory *maps;
		unsigned int count;

		if (!loader_is_loaded(cli_pin_root(), collector))
			continue;
		if (memory_collector_maps(cli_pin_root(), collector, &maps, &count, &error)) {
			json_object_put(root);
			return cli_runtime_error("memory", error.code, error.text);
		}
		loaded++;
		for (unsigned int m = 0; m < count; m++) {
			__u64 here = memory_bytes(&maps[m], &sizes, sizes.possible_cpus);
			__u64 at = memory_bytes(&maps[m], &sizes, cpus);

			total_here += here;
			total_memlock += maps[m].memlock;
			total_at += at;
			if (maps[m].modelled && here != maps[m].memlock) {
				mismatches++;
				fprintf(stderr, "khist: %s/%s (%s): the formula gives %llu bytes, the kernel "
					"%llu\n", collector->name, maps[m].name,
					memory_type_name(maps[m].type), (unsigned long long)here,
					(unsigned long long)maps[m].memlock);
			}
			if (json) {
				json_object *one = json_object_new_object();

				json_object_object_add(one, "collector",
						       json_object_new_string(collector->name));
				json_object_object_add(one, "map", json_object_new_string(maps[m].name));
				json_object_object_add(one, "type", json_object_new_string(
						       memory_type_name(maps[m].type)));
				json_object_object_add(one, "max_entries",
						       json_object_new_int64(maps[m].max_entries));
				json_object_object_add(one, "value_size",
						       json_object_new_int64(maps[m].value_size));
				json_object_object_add(one, "kernel_bytes",
						       json_object_new_uint64(maps[m].memlock));
				json_object_object_add(one, "formula_bytes", json_object_new_uint64(here));
				json_object_object_add(one, "bytes_at_cpus", json_object_new_uint64(at));
				json_object_object_add(one, "modelled",
						       json_object_new_boolean(maps[m].modelled));
				json_object_array_add(list, one);
			} else {
				printf("%-10s %-16s %-15s %8u %7u %12llu %12llu %14llu%s\n",
				       collector->name, maps[m].name, memory_type_name(maps[m].type),
				       maps[m].max_entries, maps[m].value_size,
				       (unsigned long long)maps[m].memlock, (unsigned long long)here,
				       (unsigned long long)at, maps[m].modelled ? "" : " (not modelled)");
			}
		}
		free(maps);
	}
	if (json) {
		json_object_object_add(root, "possible_cpus", json_object_new_int(sizes.possible_cpus));
		json_object_object_add(root, "cpus", json_object_new_int(cpus));
		json_object_object_add(root, "kernel_bytes", json_object_new_uint64(total_memlock));
		json_object_object_add(root, "formula_bytes", json_object_new_uint64(total_here));
		json_object_object_add(root, "bytes_at_cpus", json_object_new_uint64(total_at));
		cli_print_json(root);
	} else {
		printf("total: %.2f MiB here (%u possible CPUs; the kernel says %.2f MiB), %.2f MiB "
		       "with %lld CPUs\n", mib(total_here), sizes.possible_cpus, mib(total_memlock),
		       mib(total_at), cpus);
		printf("(task storage elements are charged to the memory cgroup, not counted here)\n");
	}
	if (!loaded) {
		fprintf(stderr, "khist: no collector is loaded under %s\n", cli_pin_root());
		return EXIT_RUNTIME;
	}
	return check && mismatches ? EXIT_RUNTIME : EXIT_OK;
}
