// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ini.h>

#include <khist_hist.h>

#include "buckets.h"
#include "snapshot.h"
#include "config.h"
#include "loader.h"

static const char config_default_text[] =
"# khistd configuration. Comments start a line with # or ;, or follow ' ;'.\n"
"[khistd]\n"
"# Address and port of the HTTP endpoint (/metrics, /api/v1/histograms, /healthz).\n"
"listen = " CONFIG_DEFAULT_LISTEN "\n"
"# Where collectors pin their maps and links.\n"
"pin_root = " LOADER_DEFAULT_PIN_ROOT "\n"
"# Mode (0600 or 0640) and group of the pinned files.\n"
"pin_mode = 0600\n"
"pin_group = root\n"
"# Use khist.ko: auto (when loaded), off, required (refuse to start without it).\n"
"module = auto\n"
"# error, warning, info or debug.\n"
"log_level = info\n"
"# Unload the collectors when khistd stops (default: they keep counting).\n"
"unload_on_exit = false\n"
"# Turn on kernel.bpf_stats_enabled while running, for per-program run counts and time.\n"
"bpf_stats = true\n"
"# Concurrent HTTP connections.\n"
"max_connections = 64\n"
"# How many of the busiest processes, files and signal senders become series.\n"
"export_processes = 20\n"
"export_files = 20\n"
"export_signals = 20\n"
"# Classic histogram buckets (the le series of the text formats) of exponential\n"
"# histograms: merged to this schema, one bucket per power of two at 0 (exact:\n"
"# the bounds coincide), or 'full' for every bucket.\n"
"classic_schema = 0\n"
"# In the protobuf format histograms are native; also send classic buckets\n"
"# (for Prometheus' scrape_classic_histograms / always_scrape_classic_histograms).\n"
"classic_in_protobuf = false\n"
"# Seconds a removed cgroup's series stay (collectors loaded by cgroup): a\n"
"# cgroup of the same path created meanwhile (a restarted service) continues them.\n"
"cgroup_grace_period = 300\n"
"\n";

/*
 * Each collector's section, from its descriptor: every collector but the
 * optional ones is enabled unless its section says otherwise.
 */
void config_print_defaults(FILE *out)
{
	fputs(config_default_text, out);
	fputs("\n# One section per collector: enabled, layout (exponential: native histogram\n"
	      "# buckets; log-linear; log2: BCC's), precision (0..5: the schema of\n"
	      "# exponential buckets, k of log-linear ones), mode (auto or a mode name), pid,\n"
	      "# comm, cgroup (a cgroup v2 directory); processes and files size the\n"
	      "# per-process and per-file tables; by_cgroup (a depth below the cgroup2 root,\n"
	      "# 0 = off) gives series per cgroup, for up to 'cgroups' of them.\n"
	      "# Without a layout or precision, a collector\n"
	      "# that is already pinned keeps the one it was loaded with (else: the default\n"
	      "# shown).\n", out);
	for (unsigned int i = 0; i < collector_count; i++) {
		const struct collector *collector = collectors[i];

		fprintf(out, "[collector.%s]\n# %s\nenabled = %s\n# layout = exponential\n"
			"# precision = %u\n", collector->name, collector->description,
			collector->optional ? "false" : "true", BUCKETS_DEFAULT_SCHEMA);
		if (collector->mode_count > 1)
			fprintf(out, "mode = auto\n");
		for (unsigned int t = 0; t < collector->table_count; t++) {
			if (collector->tables[t].sizing == SIZE_PROCESSES)
				fprintf(out, "processes = %u\n", LOADER_DEFAULT_PROCESSES);
			if (collector->tables[t].sizing == SIZE_FILES)
				fprintf(out, "files = %u\n", LOADER_DEFAULT_FILES);
		}
		if (i + 1 < collector_count)
			fputc('\n', out);
	}
}

struct parse_state {
	struct daemon_config *config;
	char error[512];
};

static int set_error(struct parse_state *state, const char *fmt, const char *a, const char *b,
		     const char *c)
{
	if (!state->error[0])
		snprintf(state->error, sizeof(state->error), fmt, a, b, c);
	return 0;
}

static bool parse_bool(const char *value, bool *out)
{
	if (!strcmp(value, "true") || !strcmp(value, "yes") || !strcmp(value, "1"))
		*out = true;
	else if (!strcmp(value, "false") || !strcmp(value, "no") || !strcmp(value, "0"))
		*out = false;
	else
		return false;
	return true;
}

static bool parse_uint(const char *value, unsigned long long min, unsigned long long max,
		       unsigned long long *out)
{
	char *end;

	if (!*value || *value == '-')
		return false;
	errno = 0;
	*out = strtoull(value, &end, 10);
	return !errno && !*end && *out >= min && *out <= max;
}

int config_parse_listen(const char *text, struct sockaddr_storage *addr, socklen_t *len,
			char *error, size_t size)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon;
	unsigned long long port;
	size_t host_len;

	memset(addr, 0, sizeof(*addr));
	colon = strrchr(text, ':');
	if (!colon || colon == text)
		goto bad;
	host_len = colon - text;
	if (host_len >= sizeof(host) || !parse_uint(colon + 1, 1, 65535, &port))
		goto bad;
	memcpy(host, text, host_len);
	host[host_len] = '\0';
	if (host[0] == '[' && host[host_len - 1] == ']') {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)addr;

		host[host_len - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &in6->sin6_addr) != 1)
			goto bad;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		*len = sizeof(*in6);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)addr;

		if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
			goto bad;
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		*len = sizeof(*in);
	}
	return 0;
bad:
	snprintf(error, size, "listen address '%s' is not ADDRESS:PORT (e.g. 127.0.0.1:9818 or "
		 "[::1]:9818, port 1..65535)", text);
	return -1;
}

#define ACCEPTED_DAEMON_KEYS "listen, pin_root, pin_mode, pin_group, module, log_level, " \
	"unload_on_exit, bpf_stats, max_connections, export_processes, export_files, export_signals, " \
	"classic_schema, classic_in_protobuf, cgroup_grace_period"
#define ACCEPTED_COLLECTOR_KEYS "enabled, layout, precision, by_cgroup, cgroups, mode, pid, comm, " \
	"cgroup, processes, files"

static int daemon_key(struct parse_state *state, const char *name, const char *value)
{
	struct daemon_config *config = state->config;
	unsigned long long number;
	char error[256];

	if (!strcmp(name, "listen")) {
		if (config_parse_listen(value, &config->listen_addr, &config->listen_addr_len, error,
					sizeof(error)))
			return set_error(state, "%s%s%s", error, "", "");
		snprintf(config->listen, sizeof(config->listen), "%s", value);
	} else if (!strcmp(name, "pin_root")) {
		if (value[0] != '/' || strlen(value) > PATH_MAX / 2)
			return set_error(state, "pin_root '%s' must be an absolute path%s%s", value, "", "");
		snprintf(config->pin_root, sizeof(config->pin_root), "%s", value);
	} else if (!strcmp(name, "pin_mode")) {
		if (strcmp(value, "0600") && strcmp(value, "0640"))
			return set_error(state, "pin_mode '%s': accepted values are 0600 and 0640%s%s",
					 value, "", "");
		config->pin_mode = strtol(value, NULL, 8);
	} else if (!strcmp(name, "pin_group")) {
		struct group *group = getgrnam(value);

		if (!group)
			return set_error(state, "pin_group '%s': no such group%s%s", value, "", "");
		config->pin_gid = group->gr_gid;
	} else if (!strcmp(name, "module")) {
		if (!strcmp(value, "auto"))
			config->module = MODULE_AUTO;
		else if (!strcmp(value, "off"))
			config->module = MODULE_OFF;
		else if (!strcmp(value, "required"))
			config->module = MODULE_REQUIRED;
		else
			return set_error(state, "module '%s': accepted values are auto, off, required%s%s",
					 value, "", "");
	} else if (!strcmp(name, "log_level")) {
		static const char *const levels[] = { "error", "warning", "info", "debug" };
		int level;

		for (level = 0; level < 4 && strcmp(value, levels[level]); level++)
			;
		if (level == 4)
			return set_error(state, "log_level '%s': accepted values are error, warning, "
					 "info, debug%s%s", value, "", "");
		config->log_level = level;
	} else if (!strcmp(name, "classic_schema")) {
		if (!strcmp(value, "full"))
			config->classic_schema = -1;
		else if (parse_uint(value, 0, KHIST_EXP_MAX_SCHEMA, &number))
			config->classic_schema = number;
		else
			return set_error(state, "classic_schema '%s': accepted values are 0..5 and "
					 "full%s%s", value, "", "");
	} else if (!strcmp(name, "unload_on_exit") || !strcmp(name, "bpf_stats") ||
		   !strcmp(name, "classic_in_protobuf")) {
		bool *flag = name[0] == 'u' ? &config->unload_on_exit : name[0] == 'b' ?
			     &config->bpf_stats : &config->classic_in_protobuf;

		if (!parse_bool(value, flag))
			return set_error(state, "%s '%s': accepted values are true and false%s", name,
					 value, "");
	} else if (!strcmp(name, "cgroup_grace_period")) {
		if (!parse_uint(value, 0, 86400, &number))
			return set_error(state, "cgroup_grace_period '%s': accepted values are 0..86400 "
					 "(seconds)%s%s", value, "", "");
		config->cgroup_grace_period = number;
	} else if (!strcmp(name, "max_connections")) {
		if (!parse_uint(value, 1, 1024, &number))
			return set_error(state, "max_connections '%s': accepted values are 1..1024%s%s",
					 value, "", "");
		config->max_connections = number;
	} else if (!strncmp(name, "export_", 7) && (!strcmp(name + 7, "processes") ||
		   !strcmp(name + 7, "files") || !strcmp(name + 7, "signals"))) {
		if (!parse_uint(value, 0, 10000, &number))
			return set_error(state, "%s '%s': accepted values are 0..10000%s", name, value, "");
		if (!strcmp(name + 7, "processes"))
			config->export_processes = number;
		else if (!strcmp(name + 7, "files"))
			config->export_files = number;
		else
			config->export_signals = number;
	} else {
		return set_error(state, "unknown key '%s' in [khistd] (accepted: %s)%s", name,
				 ACCEPTED_DAEMON_KEYS, "");
	}
	return 1;
}

static int collector_key(struct parse_state *state, const struct collector *collector,
			 struct collector_config *c, const char *name, const char *value)
{
	unsigned long long number;

	if (!strcmp(name, "enabled")) {
		if (!parse_bool(value, &c->enabled))
			return set_error(state, "enabled '%s': accepted values are true and false%s%s",
					 value, "", "");
	} else if (!strcmp(name, "layout")) {
		enum khist_layout kind;

		if (buckets_parse_layout(value, &kind))
			return set_error(state, "layout '%s': accepted values are exponential, "
					 "log-linear and log2%s%s", value, "", "");
		c->layout = kind;
		if (!strcmp(value, "log2"))
			c->precision = 0;
	} else if (!strcmp(name, "by_cgroup")) {
		if (!parse_uint(value, 0, KHIST_CGROUP_MAX_DEPTH - 1, &number))
			return set_error(state, "by_cgroup '%s': accepted values are 0 (off) and 1..15 "
					 "(a depth below the cgroup2 root)%s%s", value, "", "");
		c->by_cgroup = number;
	} else if (!strcmp(name, "cgroups")) {
		if (!parse_uint(value, 1, 65535, &number))
			return set_error(state, "cgroups '%s': accepted values are 1..65535%s%s", value,
					 "", "");
		c->cgroups = number;
	} else if (!strcmp(name, "precision")) {
		if (!parse_uint(value, 0, KHIST_HIST_MAX_PRECISION, &number))
			return set_error(state, "precision '%s': accepted values are 0..5%s%s", value, "", "");
		c->precision = number;
	} else if (!strcmp(name, "mode")) {
		int mode = collector_mode_by_name(value);
		bool known = false;

		for (unsigned int i = 0; mode > 0 && i < collector->mode_count; i++)
			known |= (int)collector->modes[i].mode == mode;
		if (!strcmp(value, "auto")) {
			c->mode = -1;
		} else if (!known) {
			char accepted[128] = "auto";

			for (unsigned int i = 0; i < collector->mode_count; i++) {
				strcat(accepted, ", ");
				strcat(accepted, collector_mode_name(collector->modes[i].mode));
			}
			return set_error(state, "mode '%s': accepted values are %s%s", value, accepted, "");
		} else {
			c->mode = mode;
		}
	} else if (!strcmp(name, "pid")) {
		if (!parse_uint(value, 0, 4194304, &number))
			return set_error(state, "pid '%s': accepted values are 0 (all) to 4194304%s%s",
					 value, "", "");
		c->pid = number;
	} else if (!strcmp(name, "comm")) {
		if (strlen(value) >= KHIST_COMM_LEN)
			return set_error(state, "comm '%s' is longer than 15 characters%s%s", value, "", "");
		snprintf(c->comm, sizeof(c->comm), "%s", value);
	} else if (!strcmp(name, "cgroup")) {
		if (*value && strncmp(value, "/sys/fs/cgroup", 14))
			return set_error(state, "cgroup '%s' must be a directory under /sys/fs/cgroup%s%s",
					 value, "", "");
		snprintf(c->cgroup, sizeof(c->cgroup), "%s", value);
	} else if (!strcmp(name, "processes")) {
		if (!parse_uint(value, 16, 1 << 20, &number))
			return set_error(state, "processes '%s': accepted values are 16..1048576%s%s",
					 value, "", "");
		c->processes = number;
	} else if (!strcmp(name, "files")) {
		if (!parse_uint(value, 0, 1 << 20, &number))
			return set_error(state, "files '%s': accepted values are 0..1048576%s%s", value, "", "");
		c->files = number;
	} else {
		return set_error(state, "unknown key '%s' in [collector.%s] (accepted: %s)", name,
				 collector->name, ACCEPTED_COLLECTOR_KEYS);
	}
	return 1;
}

static int handle(void *user, const char *section, const char *name, const char *value)
{
	struct parse_state *state = user;

	if (!name)	/* a section header alone */
		return 1;
	if (!strcmp(section, "khistd"))
		return daemon_key(state, name, value);
	if (!strncmp(section, "collector.", 10)) {
		unsigned int index;

		for (index = 0; index < collector_count; index++)
			if (!strcmp(collectors[index]->name, section + 10))
				break;
		if (index == collector_count) {
			char accepted[256] = "";

			for (unsigned int i = 0; i < collector_count; i++)
				snprintf(accepted + strlen(accepted), sizeof(accepted) - strlen(accepted),
					 "%scollector.%s", i ? ", " : "", collectors[i]->name);
			return set_error(state, "unknown collector [%s] (accepted: %s)%s", section,
					 accepted, "");
		}
		return collector_key(state, collectors[index], &state->config->collectors[index],
				     name, value);
	}
	return set_error(state, "unknown section [%s] (accepted: khistd, collector.NAME)%s%s",
			 section, "", "");
}

static void set_defaults(struct daemon_config *config)
{
	memset(config, 0, sizeof(*config));
	config->pin_mode = 0600;
	config->module = MODULE_AUTO;
	config->log_level = LOG_LEVEL_INFO;
	config->bpf_stats = true;
	config->max_connections = 64;
	config->export_processes = config->export_files = config->export_signals = 20;
	config->classic_schema = 0;
	config->cgroup_grace_period = SNAPSHOT_CGROUP_GRACE_NS / 1000000000ULL;
	snprintf(config->pin_root, sizeof(config->pin_root), "%s", LOADER_DEFAULT_PIN_ROOT);
	for (unsigned int i = 0; i < collector_count; i++) {
		config->collectors[i].enabled = !collectors[i]->optional;
		config->collectors[i].layout = -1;
		config->collectors[i].by_cgroup = -1;
		config->collectors[i].cgroups = KHIST_CGROUP_ROWS - 1;
		config->collectors[i].precision = -1;
		config->collectors[i].mode = -1;
		config->collectors[i].processes = LOADER_DEFAULT_PROCESSES;
		config->collectors[i].files = LOADER_DEFAULT_FILES;
	}
}

static int parse(const char *path, const char *text, struct daemon_config *config, char *error,
		 size_t size)
{
	struct parse_state state = { .config = config };
	int line = path ? ini_parse(path, handle, &state) : ini_parse_string(text, handle, &state);

	if (line == -1) {
		snprintf(error, size, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (line == -2) {
		snprintf(error, size, "%s: out of memory", path ? path : "embedded defaults");
		return -1;
	}
	if (line > 0) {
		snprintf(error, size, "%s:%d: %s", path ? path : "embedded defaults", line,
			 state.error[0] ? state.error : "not a section, a KEY = VALUE line or a comment");
		return -1;
	}
	return 0;
}

int config_load(const char *path, struct daemon_config *config, char *error, size_t size)
{
	set_defaults(config);
	if (parse(NULL, config_default_text, config, error, size))
		return -1;
	snprintf(config->source, sizeof(config->source), "%s", path ? path : "embedded defaults");
	return path ? parse(path, NULL, config, error, size) : 0;
}
