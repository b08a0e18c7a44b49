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

#include "catalog.h"
#include "cli.h"
#include "loader.h"
#include "reader.h"

static const char usage_text[] =
"usage: khist COMMAND [OPTIONS]\n"
"\n"
"Collectors (pinned under --pin-root, default " LOADER_DEFAULT_PIN_ROOT "):\n"
"  load [COLLECTOR...]    load and pin collectors (default: all)\n"
"      --precision K      bucket precision 0..5 (0 = BCC's log2 buckets)\n"
"      --mode MODE        attach mode (vfs: glue, fentry, kprobe, syscalls; sched: tp_btf, raw_tp)\n"
"      --pid PID --comm COMM --cgroup PATH   count only these tasks\n"
"      --processes N      per-process table size (default 10240)\n"
"      --files N          per-file table size (default 1024, 0 = no table)\n"
"      --reset            replace pinned maps that do not match this load\n"
"      --pin-mode MODE --pin-group GROUP    pinned files' mode (0600 or 0640) and group\n"
"  unload [COLLECTOR...]  detach and remove the collectors' pins (default: all loaded)\n"
"  status                 collectors, attach modes, programs, table fill levels\n"
"  list                   every histogram and counter\n"
"  filter --pid PID       count only this process from now on (0 = all)\n"
"\n"
"Reading (from the pins; works whether khistd runs or not):\n"
"  hist NAME [--slot LABEL] [--interval S] [--count N] [--us|--ms] [--clear] [--json]\n"
"  top syscalls|processes|files [--rows N] [--interval S] [--count N]\n"
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

/* The collectors named in argv, or every one when none is. */
static int pick_collectors(int argc, char **argv, const struct catalog_collector **picked,
			   unsigned int *count)
{
	*count = 0;
	if (argc == 0) {
		for (unsigned int i = 0; i < catalog_collector_count; i++)
			picked[(*count)++] = &catalog_collectors[i];
		return 0;
	}
	for (int i = 0; i < argc; i++) {
		const struct catalog_collector *collector = catalog_find_collector(argv[i]);

		if (!collector) {
			fprintf(stderr, "khist: unknown collector '%s' (", argv[i]);
			for (unsigned int c = 0; c < catalog_collector_count; c++)
				fprintf(stderr, "%s%s", c ? ", " : "", catalog_collectors[c].name);
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
	OPT_PIN_ROOT = 256, OPT_PRECISION, OPT_MODE, OPT_PID, OPT_COMM, OPT_CGROUP,
	OPT_PROCESSES, OPT_FILES, OPT_RESET, OPT_PIN_MODE, OPT_PIN_GROUP,
};

int cli_load(int argc, char **argv)
{
	static const struct option options[] = {
		{ "pin-root", required_argument, NULL, OPT_PIN_ROOT },
		{ "precision", required_argument, NULL, OPT_PRECISION },
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
	const struct catalog_collector *picked[8];
	struct loader_options load;
	unsigned int count;
	long long number;
	int opt, status = EXIT_OK;

	loader_default_options(&load);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "v", options, NULL)) != -1) {
		switch (opt) {
		case OPT_PIN_ROOT:
			load.pin_root = pin_root = optarg;
			break;
		case OPT_PRECISION:
			if (!cli_parse_number("--precision", optarg, 0, KHIST_HIST_MAX_PRECISION, &number))
				return EXIT_USAGE;
			load.precision = number;
			break;
		case OPT_MODE:
			load.mode = catalog_mode_by_name(optarg);
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
	if (pick_collectors(argc - optind, argv + optind, picked, &count))
		return EXIT_USAGE;
	for (unsigned int i = 0; i < count; i++) {
		enum khist_attach_mode mode;
		int err = loader_load(picked[i], &load, &mode);

		if (err) {
			/* The loader's message names the collector already. */
			status = cli_runtime_error("load", err, loader_error());
			continue;
		}
		printf("%s: loaded, attach mode %s, pinned under %s/%s\n", picked[i]->name,
		       catalog_mode_name(mode), load.pin_root, picked[i]->name);
	}
	return status;
}

static int parse_common(int argc, char **argv)
{
	static const struct option options[] = {
		{ "pin-root", required_argument, NULL, OPT_PIN_ROOT },
		{ "verbose", no_argument, NULL, 'v' },
		{}
	};
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "v", options, NULL)) != -1) {
		if (opt == OPT_PIN_ROOT)
			pin_root = optarg;
		else if (opt == 'v')
			loader_set_verbose(true);
		else
			return -1;
	}
	return 0;
}

int cli_unload(int argc, char **argv)
{
	const struct catalog_collector *picked[8];
	unsigned int count;
	int status = EXIT_OK;
	bool named;

	if (parse_common(argc, argv))
		return EXIT_USAGE;
	named = optind < argc;
	if (pick_collectors(argc - optind, argv + optind, picked, &count))
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

static void print_programs(const char *collector)
{
	char path[PATH_MAX];
	struct dirent *entry;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/%s/links", pin_root, collector);
	dir = opendir(path);
	if (!dir)
		return;
	while ((entry = readdir(dir))) {
		struct bpf_link_info link = {};
		struct bpf_prog_info prog = {};
		__u32 len = sizeof(link);
		int fd, prog_fd;

		if (entry->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/links/%s", pin_root, collector, entry->d_name);
		fd = bpf_obj_get(path);
		if (fd < 0 || bpf_link_get_info_by_fd(fd, &link, &len)) {
			printf("    %-24s (unreadable: %s)\n", entry->d_name, strerror(errno));
			if (fd >= 0)
				close(fd);
			continue;
		}
		close(fd);
		prog_fd = bpf_prog_get_fd_by_id(link.prog_id);
		len = sizeof(prog);
		if (prog_fd >= 0 && !bpf_prog_get_info_by_fd(prog_fd, &prog, &len) && prog.run_cnt)
			printf("    %-24s prog %u, runs %llu, %.0f ns/run\n", entry->d_name,
			       link.prog_id, (unsigned long long)prog.run_cnt,
			       (double)prog.run_time_ns / prog.run_cnt);
		else
			printf("    %-24s prog %u (run counts need kernel.bpf_stats_enabled=1)\n",
			       entry->d_name, link.prog_id);
		if (prog_fd >= 0)
			close(prog_fd);
	}
	closedir(dir);
}

static const char *const tables[][2] = {
	{ "syscalls", "process_counts" },
	{ "syscalls", "signals" },
	{ "vfs", "file_table" },
};

int cli_status(int argc, char **argv)
{
	int status = EXIT_OK;

	if (parse_common(argc, argv) || optind != argc)
		return EXIT_USAGE;
	printf("pin root: %s\n", pin_root);
	for (unsigned int i = 0; i < catalog_collector_count; i++) {
		const struct catalog_collector *collector = &catalog_collectors[i];
		struct khist_meta meta;
		int err;

		if (!loader_is_loaded(pin_root, collector)) {
			printf("%s: not loaded\n", collector->name);
			continue;
		}
		err = reader_meta(pin_root, collector->name, &meta);
		if (err) {
			printf("%s: unreadable: %s\n", collector->name, reader_error());
			status = EXIT_RUNTIME;
			continue;
		}
		printf("%s: loaded, attach mode %s, precision %u\n", collector->name,
		       catalog_mode_name(meta.attach_mode), meta.precision);
		print_programs(collector->name);
		for (unsigned int t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
			unsigned int used, capacity;

			if (strcmp(tables[t][0], collector->name) ||
			    reader_fill(pin_root, collector->name, tables[t][1], &used, &capacity))
				continue;
			printf("    table %-18s %u of %u entries\n", tables[t][1], used, capacity);
		}
	}
	return status;
}

int cli_list(int argc, char **argv)
{
	if (parse_common(argc, argv) || optind != argc)
		return EXIT_USAGE;
	printf("Collectors:\n");
	for (unsigned int i = 0; i < catalog_collector_count; i++)
		printf("  %-18s %s%s\n", catalog_collectors[i].name, catalog_collectors[i].description,
		       loader_is_loaded(pin_root, &catalog_collectors[i]) ? " [loaded]" : "");
	printf("Histograms (khist hist NAME):\n");
	for (unsigned int i = 0; i < catalog_histogram_count; i++) {
		const struct catalog_histogram *hist = &catalog_histograms[i];

		printf("  %-18s %-9s %-6s %s%s%s\n", hist->name, hist->collector, hist->unit,
		       hist->description, hist->label ? ", by " : "", hist->label ? hist->label : "");
	}
	printf("Counters and tables (khist top, khistd):\n");
	for (unsigned int i = 0; i < catalog_counter_count; i++)
		printf("  %-18s %-9s %s\n", catalog_counters[i].name, catalog_counters[i].collector,
		       catalog_counters[i].description);
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
	for (unsigned int i = 0; i < catalog_collector_count; i++) {
		int err;

		if (!loader_is_loaded(pin_root, &catalog_collectors[i]))
			continue;
		err = loader_set_tgid_filter(pin_root, &catalog_collectors[i], pid);
		if (err)
			status = cli_runtime_error(catalog_collectors[i].name, err, loader_error());
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
