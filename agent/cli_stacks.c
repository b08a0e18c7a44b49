// SPDX-License-Identifier: GPL-2.0
/* khist stacks NAME: the kernel stacks with most time, folded, JSON or a flame graph. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "loader.h"
#include "stacks.h"

enum { OPT_PIN_ROOT = 256, OPT_ROWS, OPT_FOLDED, OPT_SVG, OPT_JSON };

int cli_stacks(int argc, char **argv)
{
	static const struct option options[] = {
		{ "pin-root", required_argument, NULL, OPT_PIN_ROOT },
		{ "rows", required_argument, NULL, OPT_ROWS },
		{ "folded", no_argument, NULL, OPT_FOLDED },
		{ "svg", required_argument, NULL, OPT_SVG },
		{ "json", no_argument, NULL, OPT_JSON },
		{}
	};
	struct error_context error = {};
	const struct collector *collector;
	const struct stack_desc *desc;
	const char *svg = NULL;
	struct stack_set set;
	bool folded = false, json = false;
	long long rows = 10;
	int opt, status = EXIT_OK;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case OPT_PIN_ROOT: cli_set_pin_root(optarg); break;
		case OPT_ROWS:
			if (!cli_parse_number("--rows", optarg, 1, 1000000, &rows))
				return EXIT_USAGE;
			break;
		case OPT_FOLDED: folded = true; break;
		case OPT_SVG: svg = optarg; break;
		case OPT_JSON: json = true; break;
		default: return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "khist: stacks takes one name: offcpu\n");
		return EXIT_USAGE;
	}
	desc = collector_find_stacks(argv[optind], &collector);
	if (!desc) {
		fprintf(stderr, "khist: no stacks '%s' (there is offcpu, of the stacks collector)\n",
			argv[optind]);
		return EXIT_USAGE;
	}
	if (folded + json + !!svg > 1) {
		fprintf(stderr, "khist: stacks takes one of --folded, --json and --svg\n");
		return EXIT_USAGE;
	}
	if (!loader_is_loaded(cli_pin_root(), collector)) {
		fprintf(stderr, "khist: stacks %s: the %s collector is not loaded (khist load %s)\n",
			desc->name, collector->name, collector->name);
		return EXIT_RUNTIME;
	}
	if (stacks_take(&set, cli_pin_root(), collector, desc, NULL, &error))
		return cli_runtime_error("stacks", error.code, error.text);
	if (svg) {
		FILE *out = fopen(svg, "we");
		char title[128];
		int err;

		if (!out) {
			status = cli_runtime_error("stacks --svg", -errno, svg);
			goto out;
		}
		snprintf(title, sizeof(title), "khist: %s", desc->help);
		err = stacks_write_svg(out, &set, title);
		if (fclose(out) && !err)
			err = -errno;
		if (err)
			status = cli_runtime_error("stacks --svg", err, svg);
	} else if (folded) {
		stacks_print_folded(stdout, &set);
	} else if (json) {
		cli_print_json(stacks_json(&set, (unsigned int)rows));
	} else {
		stacks_print_top(stdout, &set, (unsigned int)rows);
	}
out:
	stacks_free(&set);
	return status;
}
