// SPDX-License-Identifier: GPL-2.0
/*
 * khist: load collectors, show what they counted, control the module.
 * Exit codes: 0 ok, 1 runtime error, 2 usage error.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <khist_hist.h>

#include "cli.h"
#include "buckets.h"
#include "collector.h"
#include "json.h"
#include "loader.h"
#include "snapshot.h"

static const char usage_text[] =
"usage: khist COMMAND [OPTIONS]\n"
"\n"
"Collectors (pinned under --pin-root, default " LOADER_DEFAULT_PIN_ROOT "):\n"
"  load [COLLECTOR...]    load and pin collectors (default: all but stacks, which\n"
"                         is loaded only when named)\n"
"      --layout LAYOUT    bucket layout: exponential (default; native histogram\n"
"                         buckets), log-linear, or log2 (BCC's)\n"
"      --precision P      0..5: the schema of exponential buckets (default 3, buckets\n"
"                         at most 9 % wide), or k of log-linear ones (default 2)\n"
"      --mode MODE        attach mode (vfs: glue, fentry, kprobe, syscalls; sched, signals,\n"
"                         process, block, stacks: tp_btf, raw_tp)\n"
"      --pid PID --comm COMM --cgroup PATH   count only these tasks\n"
"      --by-cgroup DEPTH  series per cgroup DEPTH levels below the cgroup2 root\n"
"                         (1..15; 0 = off)\n"
"      --cgroups N        cgroups with series of their own (default 63; later ones:\n"
"                         cgroup=\"other\")\n"
"      --processes N      per-process table size (default 10240)\n"
"      --files N          per-file table size (default 1024, 0 = no table)\n"
"      --reset            replace pinned maps that do not match this load\n"
"      --pin-mode MODE --pin-group GROUP    pinned files' mode (0600 or 0640) and group\n"
"  unload [COLLECTOR...]  detach and remove the collectors' pins (default: all loaded)\n"
"  status [--json]        collectors, attach modes, programs, table fill levels\n"
"  list [--json]          every collector, histogram, counter and gauge\n"
"  filter --pid PID       count only this process from now on (0 = all)\n"
"  memory [--cpus N] [--json] [--check]\n"
"                         kernel memory of the loaded collectors' maps, here and with N\n"
"                         possible CPUs (default 128); --check: fail unless the formula\n"
"                         gives what the kernel reports\n"
"  stacks offcpu [--rows N] [--folded | --json | --svg FILE]\n"
"                         kernel stacks by off-CPU time (the stacks collector): the\n"
"                         top N, the folded format of flame-graph tools (microseconds),\n"
"                         JSON, or a self-contained SVG flame graph\n"
"\n"
"Reading (from the pins; works whether khistd runs or not):\n"
"  hist NAME [--slot LABEL] [--interval S] [--count N] [--us|--ms] [--clear] [--json]\n"
"  top TABLE [--rows N] [--interval S] [--count N] [--json]\n"
"                         TABLE: syscalls, processes, files, signals, process_counts,\n"
"                         ... (khist list); cgroups: a row per cgroup (collectors\n"
"                         loaded --by-cgroup)\n"
"\n"
"Module (khist.ko):\n"
"  kmod info | set KEY=VALUE... | bind [--pin PATH] | publish | unbind\n"
"\n"
"Common: --pin-root PATH, -v (libbpf messages), -h\n";

static const char *pin_root = LOADER_DEFAULT_PIN_ROOT;

const char *cli_pin_root(void)
{
	return pin_root;
}

void cli_set_pin_root(const char *root)
{
	pin_root = root;
}

bool cli_parse_number(const char *option, const char *text, long long min, long long max,
		      long long *value)
{
	char *end;

	errno = 0;
	*value = strtoll(text, &end, 10);
	if (errno || end == text || *end || *value < min || *value > max) {
		fprintf(stderr, "khist: %s takes a number from %lld to %lld, got '%s'\n", option,
			min, max, text);
		return false;
	}
	return true;
}

int cli_runtime_error(const char *what, int err, const char *detail)
{
	fprintf(stderr, "khist: %s: %s", what, detail && *detail ? detail : strerror(-err));
	/* EPERM is capabilities; an EACCES on a pin is explained by the reader. */
	if (err == -EPERM)
		fprintf(stderr, " (needs root, or CAP_BPF and CAP_PERFMON)");
	fputc('\n', stderr);
	return EXIT_RUNTIME;
}

/* The collectors named in argv, or when none is every one (@optional: with the optional ones). */
static int pick_collectors(int argc, char **argv, const struct collector **picked,
			   unsigned int *count, bool optional)
{
	*count = 0;
	if (argc == 0) {
		for (unsigned int i = 0; i < collector_count; i++)
			if (optional || !collectors[i]->optional)
				picked[(*count)++] = collectors[i];
		return 0;
	}
	for (int i = 0; i < argc; i++) {
		const struct collector *collector = collector_find(argv[i]);

		if (!collector) {
			fprintf(stderr, "khist: unknown collector '%s' (", argv[i]);
			for (unsigned int c = 0; c < collector_count; c++)
				fprintf(stderr, "%s%s", c ? ", " : "", collectors[c]->name);
			fprintf(stderr, ")\n");
			return -1;
		}
		/* Named twice is loaded once: at most one slot per collector. */
		for (unsigned int p = 0; p < *count && collector; p++)
			if (picked[p] == collector)
				collector = NULL;
		if (collector)
			picked[(*count)++] = collector;
	}
	return 0;
}

enum {
	OPT_PIN_ROOT = 256, OPT_LAYOUT, OPT_PRECISION, OPT_BY_CGROUP, OPT_CGROUPS, OPT_MODE, OPT_PID, OPT_COMM, OPT_CGROUP,
	OPT_PROCESSES, OPT_FILES, OPT_RESET, OPT_PIN_MODE, OPT_PIN_GROUP, OPT_JSON,
};

int cli_load(int argc, char **argv)
{
	static const struct option options[] = {
		{ "pin-root", required_argument, NULL, OPT_PIN_ROOT },
		{ "layout", required_argument, NULL, OPT_LAYOUT },
		{ "precision", required_argument, NULL, OPT_PRECISION },
		{ "by-cgroup", required_argument, NULL, OPT_BY_CGROUP },
		{ "cgroups", required_argument, NULL, OPT_CGROUPS },
		{ "mode", required_argument, NULL, OPT_MODE },
		{ "pid", required_argument, NULL, OPT_PID },
		{ "comm", required_argument, NULL, OPT_COMM },
		{ "cgroup", required_argument, NULL, OPT_CGROUP },
		{ "processes", required_argument, NULL, OPT_PROCESSES },
		{ "files", required_argument, NULL, OPT_FILES },
		{ "reset", no_argument, NULL, OPT_RESET },
		{ "pin-mode", required_argument, NULL, OPT_PIN_MODE },
		{ "pin-group", required_argument, NULL, OPT_PIN_GROUP },
		{ "verbose", no_argument, NULL, 'v' },
		{}
	};
	const struct collector *picked[collector_count];
	struct loader_options load;
	unsigned int count;
	long long number;
	int opt, status = EXIT_OK;
	bool filtered;

	loader_default_options(&load);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "v", options, NULL)) != -1) {
		switch (opt) {
		case OPT_PIN_ROOT:
			load.pin_root = pin_root = optarg;
			break;
		case OPT_LAYOUT: {
			enum khist_layout kind;

			if (buckets_parse_layout(optarg, &kind)) {
				fprintf(stderr, "khist: --layout: unknown layout '%s' (exponential, "
					"log-linear, log2)\n", optarg);
				return EXIT_USAGE;
			}
			load.layout = kind;
			if (!strcmp(optarg, "log2")) {
				if (load.precision > 0) {
					fprintf(stderr, "khist: --layout log2 is log-linear at precision 0\n");
					return EXIT_USAGE;
				}
				load.precision = 0;
			}
			break;
		}
		case OPT_PRECISION:
			if (!cli_parse_number("--precision", optarg, 0, KHIST_HIST_MAX_PRECISION, &number))
				return EXIT_USAGE;
			if (load.layout == KHIST_LAYOUT_LOG_LINEAR && load.precision == 0 && number) {
				fprintf(stderr, "khist: --layout log2 is log-linear at precision 0\n");
				return EXIT_USAGE;
			}
			load.precision = number;
			break;
		case OPT_BY_CGROUP:
			if (!cli_parse_number("--by-cgroup", optarg, 0, KHIST_CGROUP_MAX_DEPTH - 1, &number))
				return EXIT_USAGE;
			load.by_cgroup = number;
			break;
		case OPT_CGROUPS:
			if (!cli_parse_number("--cgroups", optarg, 1, 65535, &number))
				return EXIT_USAGE;
			load.cgroup_rows = number + 1;
			break;
		case OPT_MODE:
			load.mode = collector_mode_by_name(optarg);
			if (load.mode <= KHIST_ATTACH_NONE) {
				fprintf(stderr, "khist: --mode: unknown mode '%s' (glue, fentry, kprobe, "
					"syscalls, tp_btf, raw_tp)\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_PID:
			if (!cli_parse_number("--pid", optarg, 1, INT_MAX, &number))
				return EXIT_USAGE;
			load.filter_tgid = number;
			break;
		case OPT_COMM:
			if (strlen(optarg) >= KHIST_COMM_LEN || !*optarg) {
				fprintf(stderr, "khist: --comm takes 1 to %d characters, got '%s'\n",
					KHIST_COMM_LEN - 1, optarg);
				return EXIT_USAGE;
			}
			strncpy(load.filter_comm, optarg, KHIST_COMM_LEN - 1);
			break;
		case OPT_CGROUP:
			load.filter_cgroup = optarg;
			break;
		case OPT_PROCESSES:
			if (!cli_parse_number("--processes", optarg, 16, 1 << 20, &number))
				return EXIT_USAGE;
			load.process_table_size = number;
			break;
		case OPT_FILES:
			if (!cli_parse_number("--files", optarg, 0, 1 << 20, &number))
				return EXIT_USAGE;
			load.track_files = number > 0;
			load.file_table_size = number ? number : 1;
			break;
		case OPT_RESET:
			load.reset = true;
			break;
		case OPT_PIN_MODE:
			if (strcmp(optarg, "0600") && strcmp(optarg, "0640")) {
				fprintf(stderr, "khist: --pin-mode takes 0600 or 0640, got '%s'\n", optarg);
				return EXIT_USAGE;
			}
			load.pin_mode = strtol(optarg, NULL, 8);
			break;
		case OPT_PIN_GROUP: {
			struct group *group = getgrnam(optarg);

			if (!group) {
				fprintf(stderr, "khist: --pin-group: no group '%s'\n", optarg);
				return EXIT_USAGE;
			}
			load.pin_gid = group->gr_gid;
			break;
		}
		case 'v':
			loader_set_verbose(true);
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (pick_collectors(argc - optind, argv + optind, picked, &count, false))
		return EXIT_USAGE;
	/* Loading every collector for some tasks: those that count no task's work stay out. */
	filtered = optind == argc && (load.filter_tgid || load.filter_comm[0] || load.filter_cgroup);
	for (unsigned int i = 0; i < count; i++) {
		enum khist_attach_mode mode;
		int err;

		if (filtered && picked[i]->no_task_filters) {
			printf("%s: not loaded: --pid, --comm and --cgroup do not apply to it\n",
			       picked[i]->name);
			continue;
		}
		err = loader_load(picked[i], &load, &mode);
		if (err) {
			/* The loader's message names the collector already. */
			status = cli_runtime_error("load", err, loader_error());
			continue;
		}
		printf("%s: loaded, attach mode %s, pinned under %s/%s\n", picked[i]->name,
		       collector_mode_name(mode), load.pin_root, picked[i]->name);
	}
	return status;
}

/* --pin-root and -v, and --json where @json is given. */
static int parse_common(int argc, char **argv, bool *json)
{
	static const struct option options[] = {
		{ "pin-root", required_argument, NULL, OPT_PIN_ROOT },
		{ "verbose", no_argument, NULL, 'v' },
		{ "json", no_argument, NULL, OPT_JSON },
		{}
	};
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "v", options, NULL)) != -1) {
		if (opt == OPT_PIN_ROOT)
			pin_root = optarg;
		else if (opt == 'v')
			loader_set_verbose(true);
		else if (opt == OPT_JSON && json)
			*json = true;
		else
			return -1;
	}
	return 0;
}

void cli_print_json(json_object *object)
{
	printf("%s\n", json_object_to_json_string_ext(object, JSON_C_TO_STRING_PLAIN));
	json_object_put(object);
}

int cli_unload(int argc, char **argv)
{
	const struct collector *picked[collector_count];
	unsigned int count;
	int status = EXIT_OK;
	bool named;

	if (parse_common(argc, argv, NULL))
		return EXIT_USAGE;
	named = optind < argc;
	if (pick_collectors(argc - optind, argv + optind, picked, &count, true))
		return EXIT_USAGE;
	for (unsigned int i = 0; i < count; i++) {
		int err;

		if (!named && !loader_is_loaded(pin_root, picked[i]))
			continue;
		err = loader_unload(pin_root, picked[i]);
		if (err)
			status = cli_runtime_error(picked[i]->name, err, loader_error());
		else
			printf("%s: unloaded\n", picked[i]->name);
	}
	return status;
}

static void print_status(const struct snapshot *snapshot)
{
	printf("pin root: %s\n", snapshot->pin_root);
	for (unsigned int i = 0; i < collector_count; i++) {
		const struct snapshot_collector *state = &snapshot->collectors[i];

		if (!state->loaded) {
			printf("%s: not loaded\n", state->collector->name);
			continue;
		}
		if (state->error.code) {
			printf("%s: unreadable: %s\n", state->collector->name, state->error.text);
			continue;
		}
		printf("%s: loaded, attach mode %s, %s buckets, %s %u", state->collector->name,
		       collector_mode_name(state->meta.attach_mode),
		       buckets_layout_name(state->meta.layout, state->meta.precision),
		       state->meta.layout == KHIST_LAYOUT_EXPONENTIAL ? "schema" : "precision",
		       state->meta.precision);
		if (state->meta.by_cgroup)
			printf(", by cgroup at depth %u (%u cgroups)", state->meta.by_cgroup,
			       state->meta.cgroup_rows - 1);
		putchar('\n');
		for (unsigned int p = 0; p < state->program_count; p++) {
			const struct snapshot_program *program = &state->programs[p];

			if (program->error)
				printf("    %-24s (unreadable: %s)\n", program->name,
				       strerror(-program->error));
			else if (program->run_count)
				printf("    %-24s prog %u, runs %llu, %.0f ns/run\n", program->name,
				       program->id, (unsigned long long)program->run_count,
				       (double)program->run_time_ns / program->run_count);
			else
				printf("    %-24s prog %u (run counts need kernel.bpf_stats_enabled=1)\n",
				       program->name, program->id);
		}
		for (unsigned int f = 0; f < state->fill_count; f++)
			printf("    table %-18s %u of %u entries\n", state->fills[f].table->map,
			       state->fills[f].used, state->fills[f].capacity);
	}
}

int cli_status(int argc, char **argv)
{
	struct snapshot_options options;
	struct error_context error = {};
	struct snapshot snapshot;
	bool json = false;
	int status = EXIT_OK;

	if (parse_common(argc, argv, &json) || optind != argc)
		return EXIT_USAGE;
	snapshot_default_options(&options, pin_root);
	options.self = true;
	if (snapshot_take(&snapshot, &options, &error))
		return cli_runtime_error("status", error.code, error.text);
	if (json)
		cli_print_json(json_status(&snapshot));
	else
		print_status(&snapshot);
	for (unsigned int i = 0; i < collector_count; i++)
		if (snapshot.collectors[i].loaded && snapshot.collectors[i].error.code)
			status = EXIT_RUNTIME;
	snapshot_free(&snapshot);
	return status;
}

static const char *const type_names[] = { "counter", "gauge", "histogram" };

static json_object *list_json(const struct snapshot *snapshot)
{
	json_object *root = json_object_new_object(), *list = json_object_new_array();

	for (unsigned int i = 0; i < collector_count; i++) {
		const struct collector *collector = collectors[i];
		json_object *one = json_object_new_object(), *histograms = json_object_new_array();
		json_object *tables = json_object_new_array(), *modes = json_object_new_array();

		json_object_object_add(one, "name", json_object_new_string(collector->name));
		json_object_object_add(one, "description", json_object_new_string(collector->description));
		json_object_object_add(one, "loaded",
				       json_object_new_boolean(snapshot->collectors[i].loaded));
		for (unsigned int m = 0; m < collector->mode_count; m++)
			json_object_array_add(modes, json_object_new_string(
				collector_mode_name(collector->modes[m].mode)));
		json_object_object_add(one, "modes", modes);
		for (unsigned int h = 0; h < collector->histogram_count; h++) {
			const struct histogram_desc *desc = &collector->histograms[h];
			json_object *entry = json_object_new_object();

			json_object_object_add(entry, "name", json_object_new_string(desc->name));
			json_object_object_add(entry, "unit", json_object_new_string(
				desc->unit == UNIT_NS ? "ns" : "bytes"));
			json_object_object_add(entry, "description", json_object_new_string(desc->help));
			if (desc->slot.label)
				json_object_object_add(entry, "label",
						       json_object_new_string(desc->slot.label));
			if (desc->group_map)
				json_object_object_add(entry, "group_label",
						       json_object_new_string(desc->group.label));
			json_object_array_add(histograms, entry);
		}
		for (unsigned int t = 0; t < collector->table_count; t++) {
			const struct table_desc *desc = &collector->tables[t];
			json_object *entry = json_object_new_object(), *labels = json_object_new_array();
			json_object *families = json_object_new_array();

			json_object_object_add(entry, "name", json_object_new_string(desc->name));
			for (unsigned int l = 0; l < desc->label_count; l++)
				json_object_array_add(labels, json_object_new_string(desc->labels[l].label));
			for (unsigned int m = 0; m < desc->metric_count; m++) {
				json_object *family = json_object_new_object();

				json_object_object_add(family, "name",
						       json_object_new_string(desc->metrics[m].family));
				json_object_object_add(family, "type", json_object_new_string(
					type_names[desc->metrics[m].type]));
				json_object_object_add(family, "help",
						       json_object_new_string(desc->metrics[m].help));
				json_object_array_add(families, family);
			}
			json_object_object_add(entry, "labels", labels);
			json_object_object_add(entry, "families", families);
			json_object_array_add(tables, entry);
		}
		json_object_object_add(one, "histograms", histograms);
		json_object_object_add(one, "tables", tables);
		if (collector->stack_count) {
			json_object *stack_list = json_object_new_array();

			for (unsigned int k = 0; k < collector->stack_count; k++)
				json_object_array_add(stack_list, json_object_new_string(
					collector->stacks[k].name));
			json_object_object_add(one, "stacks", stack_list);
		}
		json_object_array_add(list, one);
	}
	json_object_object_add(root, "collectors", list);
	return root;
}

int cli_list(int argc, char **argv)
{
	struct snapshot_options options;
	struct error_context error = {};
	struct snapshot snapshot;
	bool json = false;

	if (parse_common(argc, argv, &json) || optind != argc)
		return EXIT_USAGE;
	/* Only whether each collector is loaded: no maps are read. */
	snapshot_default_options(&options, pin_root);
	options.only_collector = "";
	if (snapshot_take(&snapshot, &options, &error))
		return cli_runtime_error("list", error.code, error.text);
	if (json) {
		cli_print_json(list_json(&snapshot));
		snapshot_free(&snapshot);
		return EXIT_OK;
	}
	printf("Collectors:\n");
	for (unsigned int i = 0; i < collector_count; i++)
		printf("  %-18s %s%s\n", collectors[i]->name, collectors[i]->description,
		       snapshot.collectors[i].loaded ? " [loaded]" : "");
	printf("Histograms (khist hist NAME):\n");
	for (unsigned int i = 0; i < collector_count; i++)
		for (unsigned int h = 0; h < collectors[i]->histogram_count; h++) {
			const struct histogram_desc *desc = &collectors[i]->histograms[h];

			printf("  %-18s %-9s %-6s %s%s%s%s%s\n", desc->name, collectors[i]->name,
			       desc->unit == UNIT_NS ? "ns" : "bytes", desc->help,
			       desc->slot.label ? ", by " : "",
			       desc->group_map ? desc->group.label : "",
			       desc->group_map ? " and " : "",
			       desc->slot.label ? desc->slot.label : "");
		}
	printf("Tables (khist top NAME) and their families (khistd):\n");
	for (unsigned int i = 0; i < collector_count; i++)
		for (unsigned int t = 0; t < collectors[i]->table_count; t++) {
			const struct table_desc *desc = &collectors[i]->tables[t];

			for (unsigned int m = 0; m < desc->metric_count; m++)
				printf("  %-18s %-9s %-28s %s\n", m ? "" : desc->name,
				       collectors[i]->name, desc->metrics[m].family, desc->metrics[m].help);
		}
	printf("Stacks (khist stacks NAME):\n");
	for (unsigned int i = 0; i < collector_count; i++)
		for (unsigned int k = 0; k < collectors[i]->stack_count; k++)
			printf("  %-18s %-9s %s\n", collectors[i]->stacks[k].name, collectors[i]->name,
			       collectors[i]->stacks[k].help);
	snapshot_free(&snapshot);
	return EXIT_OK;
}

int cli_filter(int argc, char **argv)
{
	static const struct option options[] = {
		{ "pin-root", required_argument, NULL, OPT_PIN_ROOT },
		{ "pid", required_argument, NULL, OPT_PID },
		{}
	};
	long long pid = -1;
	int opt, status = EXIT_OK, applied = 0;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (opt == OPT_PIN_ROOT)
			pin_root = optarg;
		else if (opt == OPT_PID) {
			if (!cli_parse_number("--pid", optarg, 0, INT_MAX, &pid))
				return EXIT_USAGE;
		} else
			return EXIT_USAGE;
	}
	if (pid < 0 || optind != argc) {
		fprintf(stderr, "khist: filter takes --pid PID (0 = every process)\n");
		return EXIT_USAGE;
	}
	for (unsigned int i = 0; i < collector_count; i++) {
		int err;

		if (!loader_is_loaded(pin_root, collectors[i]))
			continue;
		err = loader_set_tgid_filter(pin_root, collectors[i], pid);
		if (err)
			status = cli_runtime_error(collectors[i]->name, err, loader_error());
		else
			applied++;
	}
	if (!applied && status == EXIT_OK) {
		fprintf(stderr, "khist: no collector is loaded under %s\n", pin_root);
		return EXIT_RUNTIME;
	}
	return status;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(int argc, char **argv);
	} commands[] = {
		{ "load", cli_load }, { "unload", cli_unload }, { "status", cli_status },
		{ "list", cli_list }, { "filter", cli_filter }, { "hist", cli_hist },
		{ "memory", cli_memory }, { "stacks", cli_stacks },
		{ "top", cli_top }, { "kmod", cli_kmod },
	};

	if (argc < 2) {
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		fputs(usage_text, stdout);
		return EXIT_OK;
	}
	for (unsigned int i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "khist: unknown command '%s'\n%s", argv[1], usage_text);
	return EXIT_USAGE;
}
