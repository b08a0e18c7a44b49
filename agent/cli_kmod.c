// SPDX-License-Identifier: GPL-2.0
/* khist kmod: the module's state, configuration and statistics map. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpffs.h"
#include "cli.h"
#include "kmod_client.h"
#include "kmod_stats.h"

#define DEFAULT_STATS_PIN "/sys/fs/bpf/khist/kmod/kmod_stats"

static const char *const stat_names[KHIST_STAT_COUNT] = KHIST_STAT_NAMES;

static int kmod_usage(FILE *out, int status)
{
	fprintf(out,
		"usage: khist kmod info              show the module's state and statistics\n"
		"       khist kmod set KEY=VALUE...  read=on|off write=on|off interval_ms=0..%u\n"
		"       khist kmod bind [--pin PATH] publish statistics into a pinned map\n"
		"                                    (default %s)\n"
		"       khist kmod publish           publish statistics into the bound map now\n"
		"       khist kmod unbind            drop the bound map after a last publication\n",
		KHIST_PUBLISH_INTERVAL_MAX_MS, DEFAULT_STATS_PIN);
	return status;
}

static int report(const char *what, int err, struct kmod_client *client)
{
	const char *detail = client ? kmod_client_error(client) : "";

	if (err == -ENOENT && !client)
		fprintf(stderr, "khist: %s: the khist module is not loaded "
			"(generic netlink family '%s' not found)\n", what, KHIST_GENL_NAME);
	else if (err == -EPERM)
		fprintf(stderr, "khist: %s: %s (needs CAP_NET_ADMIN)\n", what, strerror(-err));
	else
		fprintf(stderr, "khist: %s: %s%s%s\n", what, strerror(-err),
			*detail ? ": " : "", detail);
	return 1;
}

static int kmod_info(struct kmod_client *client)
{
	struct kmod_info info;
	int err = kmod_get_info(client, &info);

	if (err)
		return report("kmod info", err, client);
	printf("khist.ko %s\n", info.version);
	printf("glue probes:          %s\n", info.probe_kind[0] ? info.probe_kind : "unknown");
	printf("path kfunc:           %s\n", info.features & KHIST_FEATURE_PATH_KFUNC ?
	       "khist_file_path" : "none (this kernel cannot filter kfuncs per program)");
	printf("statistics binding:   %s\n", info.features & KHIST_FEATURE_MAP_KFUNC ?
	       "khist_stats_map_bind kfunc" : "netlink, by map descriptor");
	printf("glue khist_vfs_read:  %s, probe %s\n", info.read_enabled ? "enabled" : "disabled",
	       info.read_active ? "registered" : "not registered");
	printf("glue khist_vfs_write: %s, probe %s\n", info.write_enabled ? "enabled" : "disabled",
	       info.write_active ? "registered" : "not registered");
	printf("publish interval:     %u ms%s\n", info.publish_interval_ms,
	       info.publish_interval_ms ? "" : " (on demand only)");
	if (info.bound_map_id)
		printf("statistics map:       id %u\n", info.bound_map_id);
	else
		printf("statistics map:       none bound\n");
	printf("statistics:\n");
	for (int id = 0; id < KHIST_STAT_COUNT; id++)
		printf("  %-20s %llu\n", stat_names[id], (unsigned long long)info.stats[id]);
	return 0;
}

static int parse_switch(const char *value, int *out)
{
	if (!strcmp(value, "on") || !strcmp(value, "1"))
		*out = 1;
	else if (!strcmp(value, "off") || !strcmp(value, "0"))
		*out = 0;
	else
		return -1;
	return 0;
}

static int kmod_set(struct kmod_client *client, int argc, char **argv)
{
	struct kmod_config config = KMOD_CONFIG_UNCHANGED;
	int err;

	if (argc < 1) {
		fprintf(stderr, "khist: kmod set: give at least one KEY=VALUE\n");
		return EXIT_USAGE;
	}
	for (int i = 0; i < argc; i++) {
		char *value = strchr(argv[i], '=');
		char *end;

		if (!value) {
			fprintf(stderr, "khist: kmod set: '%s' is not KEY=VALUE\n", argv[i]);
			return EXIT_USAGE;
		}
		*value++ = '\0';
		if (!strcmp(argv[i], "read") || !strcmp(argv[i], "write")) {
			int *field = argv[i][0] == 'r' ? &config.read_enabled : &config.write_enabled;

			if (parse_switch(value, field)) {
				fprintf(stderr, "khist: kmod set: %s takes on or off, got '%s'\n",
					argv[i], value);
				return EXIT_USAGE;
			}
		} else if (!strcmp(argv[i], "interval_ms")) {
			errno = 0;
			config.publish_interval_ms = strtoll(value, &end, 10);
			if (errno || *end || !*value || config.publish_interval_ms < 0 ||
			    config.publish_interval_ms > KHIST_PUBLISH_INTERVAL_MAX_MS) {
				fprintf(stderr, "khist: kmod set: interval_ms takes 0..%u, got '%s'\n",
					KHIST_PUBLISH_INTERVAL_MAX_MS, value);
				return EXIT_USAGE;
			}
		} else {
			fprintf(stderr, "khist: kmod set: unknown key '%s' (read, write, interval_ms)\n",
				argv[i]);
			return EXIT_USAGE;
		}
	}
	err = kmod_set_config(client, &config);
	return err ? report("kmod set", err, client) : 0;
}

/* Creates or reuses the pinned statistics map and binds it in the module. */
static int kmod_bind(int argc, char **argv)
{
	const char *pin = DEFAULT_STATS_PIN;
	char error[512];
	int err;

	if (argc == 2 && !strcmp(argv[0], "--pin"))
		pin = argv[1];
	else if (argc != 0)
		return kmod_usage(stderr, EXIT_USAGE);
	err = bpffs_ensure_mounted("/sys/fs/bpf");
	if (err) {
		fprintf(stderr, "khist: kmod bind: cannot mount bpffs on /sys/fs/bpf: %s\n",
			strerror(-err));
		return EXIT_RUNTIME;
	}
	err = kmod_stats_bind(pin, error, sizeof(error));
	if (err) {
		fprintf(stderr, "khist: kmod bind: %s\n", error);
		return EXIT_RUNTIME;
	}
	printf("statistics published into %s\n", pin);
	return EXIT_OK;
}

int cli_kmod(int argc, char **argv)
{
	struct kmod_client *client;
	int err, status;

	/* argv[0] is "kmod" */
	argc--;
	argv++;
	if (argc < 1)
		return kmod_usage(stderr, EXIT_USAGE);
	if (!strcmp(argv[0], "-h") || !strcmp(argv[0], "--help"))
		return kmod_usage(stdout, EXIT_OK);
	if (!strcmp(argv[0], "bind"))
		return kmod_bind(argc - 1, argv + 1);
	if (strcmp(argv[0], "info") && strcmp(argv[0], "set") &&
	    strcmp(argv[0], "publish") && strcmp(argv[0], "unbind")) {
		fprintf(stderr, "khist: kmod: unknown command '%s'\n", argv[0]);
		return kmod_usage(stderr, EXIT_USAGE);
	}
	err = kmod_client_open(&client);
	if (err)
		return report("kmod", err, NULL);
	if (!strcmp(argv[0], "info"))
		status = kmod_info(client);
	else if (!strcmp(argv[0], "set"))
		status = kmod_set(client, argc - 1, argv + 1);
	else if (!strcmp(argv[0], "publish"))
		status = (err = kmod_publish(client)) ? report("kmod publish", err, client) : 0;
	else
		status = (err = kmod_unbind_map(client)) ? report("kmod unbind", err, client) : 0;
	kmod_client_close(client);
	return status;
}

