// SPDX-License-Identifier: GPL-2.0
/*
 * khistd: loads (or adopts) the configured collectors and serves what they
 * count over HTTP, for Prometheus. Collectors stay pinned and counting when
 * khistd stops, so counters never go backwards across restarts.
 * Exit status: 0 stopped cleanly, 1 runtime error, 2 usage or configuration.
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <systemd/sd-daemon.h>

#include <uapi/khist.h>

#include "bpffs.h"
#include "collector.h"
#include "config.h"
#include "http.h"
#include "kmod_client.h"
#include "kmod_stats.h"
#include "loader.h"
#include "snapshot.h"

static const char usage_text[] =
"usage: khistd [--config PATH] [--listen ADDR:PORT] [--check-config] [--foreground]\n"
"\n"
"  --config PATH         read PATH over the embedded defaults (default: none)\n"
"  --listen ADDR:PORT    override [khistd] listen (default " CONFIG_DEFAULT_LISTEN ")\n"
"  --check-config        validate the configuration and exit (0 valid, 2 not)\n"
"  --foreground          log with timestamps for a terminal (khistd never forks)\n"
"  --print-default-config  print the embedded configuration\n"
"  --version, --help\n"
"\n"
"Serves GET /metrics (Prometheus text 0.0.4; OpenMetrics 1.0 or protobuf\n"
"with native histograms on request; gzip), GET /api/v1/histograms (JSON),\n"
"GET /api/v1/stacks (JSON), GET /flamegraph.svg and GET /healthz. SIGHUP reloads the configuration; SIGTERM stops, leaving\n"
"the collectors pinned and counting unless unload_on_exit = true.\n"
"See khistd(8) and khistd.conf(5).\n";

static struct daemon_config config;
static pthread_rwlock_t state_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct snapshot_options snapshot_options;
static struct exposition_options exposition_options;
static char kmod_stats_pin[PATH_MAX];
static volatile bool ready;
static bool foreground, under_systemd;
static const char *config_path;

static void log_at(enum log_level level, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	static const int priorities[] = { 3, 4, 6, 7 };
	char stamp[32] = "";
	va_list ap;

	if (level > config.log_level)
		return;
	if (foreground) {
		time_t now = time(NULL);

		strftime(stamp, sizeof(stamp), "%H:%M:%S ", localtime(&now));
	}
	if (under_systemd)
		fprintf(stderr, "<%d>", priorities[level]);
	fprintf(stderr, "%skhistd: %s%s", stamp, level <= LOG_LEVEL_WARNING ? names[level] : "",
		level <= LOG_LEVEL_WARNING ? ": " : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void options_for(const struct collector_config *c, struct loader_options *options)
{
	loader_default_options(options);
	options->pin_root = config.pin_root;
	options->layout = c->layout;
	options->by_cgroup = c->by_cgroup;
	options->cgroup_rows = c->cgroups + 1;
	options->precision = c->precision;
	options->mode = c->mode;
	options->filter_tgid = c->pid;
	memcpy(options->filter_comm, c->comm, sizeof(options->filter_comm));
	options->filter_cgroup = c->cgroup[0] ? c->cgroup : NULL;
	options->process_table_size = c->processes;
	options->track_files = c->files > 0;
	options->file_table_size = c->files ? c->files : 1;
	options->pin_mode = config.pin_mode;
	options->pin_gid = config.pin_gid;
}

static bool module_present(void)
{
	struct kmod_client *client;

	if (kmod_client_open(&client))
		return false;
	kmod_client_close(client);
	return true;
}

static int load_collector(unsigned int index)
{
	const struct collector *collector = collectors[index];
	struct collector_config c = config.collectors[index];
	struct loader_options options;
	enum khist_attach_mode mode;
	int err = -ENOENT;

	bool has_glue = false;

	for (unsigned int m = 0; m < collector->mode_count; m++)
		has_glue |= collector->modes[m].mode == KHIST_ATTACH_GLUE;
	/* module = off: no collector may use the glue. */
	if (config.module == MODULE_OFF && c.mode < 0 && has_glue) {
		for (unsigned int m = 0; m < collector->mode_count; m++) {
			if (collector->modes[m].mode == KHIST_ATTACH_GLUE)
				continue;
			c.mode = collector->modes[m].mode;
			options_for(&c, &options);
			err = loader_load(collector, &options, &mode);
			if (!err)
				goto loaded;
		}
		log_at(LOG_LEVEL_ERROR, "%s", loader_error());
		return err;
	}
	options_for(&c, &options);
	err = loader_load(collector, &options, &mode);
	if (err) {
		bool owner = strstr(loader_error(), "setting owner/mode") != NULL;

		log_at(LOG_LEVEL_ERROR, "%s%s", loader_error(),
		       err != -EPERM && err != -EACCES ? "" : owner ?
		       " (a pin_group other than root needs CAP_CHOWN)" :
		       " (khistd needs root, or at least CAP_BPF and CAP_PERFMON)");
		return err;
	}
loaded:
	log_at(LOG_LEVEL_INFO, "%s: loaded, attach mode %s", collector->name, collector_mode_name(mode));
	return 0;
}

/* Binds the module's statistics map when the module is there and has none bound. */
static void bind_module_statistics(void)
{
	struct kmod_client *client;
	struct kmod_info info;
	char error[512];

	if (config.module == MODULE_OFF || kmod_client_open(&client))
		return;
	if (!kmod_get_info(client, &info) &&
	    (!info.bound_map_id || access(kmod_stats_pin, F_OK))) {
		if (kmod_stats_bind(kmod_stats_pin, error, sizeof(error)))
			log_at(LOG_LEVEL_WARNING, "module statistics: %s", error);
		else
			log_at(LOG_LEVEL_INFO, "module statistics published into %s", kmod_stats_pin);
	}
	kmod_client_close(client);
}

/* The first read of every loaded collector's maps: what READY=1 waits for. */
static int first_read(void)
{
	struct error_context error = {};
	struct snapshot snapshot;
	int err = 0;

	if (snapshot_take(&snapshot, &snapshot_options, &error)) {
		log_at(LOG_LEVEL_ERROR, "reading the collectors: %s", error.text);
		return -1;
	}
	for (unsigned int i = 0; i < collector_count; i++) {
		const struct snapshot_collector *state = &snapshot.collectors[i];

		if (!config.collectors[i].enabled)
			continue;
		if (!state->loaded || state->error.code) {
			log_at(LOG_LEVEL_ERROR, "reading %s: %s", collectors[i]->name,
			       state->error.code ? state->error.text : "not loaded");
			err = -1;
		}
	}
	snapshot_free(&snapshot);
	return err;
}

static void update_snapshot_options(void)
{
	/* pin_root is at most PATH_MAX / 2 long (config.c). */
	path_format(kmod_stats_pin, sizeof(kmod_stats_pin), "%s/kmod/kmod_stats", config.pin_root);
	snapshot_default_options(&snapshot_options, config.pin_root);
	snapshot_options.limits[LIMIT_PROCESSES] = config.export_processes;
	snapshot_options.limits[LIMIT_FILES] = config.export_files;
	snapshot_options.limits[LIMIT_SIGNALS] = config.export_signals;
	snapshot_options.self = true;
	snapshot_options.cgroup_grace_ns = config.cgroup_grace_period * 1000000000ULL;
	exposition_options.classic_schema = config.classic_schema;
	exposition_options.classic_in_protobuf = config.classic_in_protobuf;
	snapshot_options.module = config.module != MODULE_OFF;
	snapshot_options.kmod_stats_pin = kmod_stats_pin;
}

static void notify_status(void)
{
	char names[256] = "";

	for (unsigned int i = 0; i < collector_count; i++)
		if (config.collectors[i].enabled)
			snprintf(names + strlen(names), sizeof(names) - strlen(names), " %s",
				 collectors[i]->name);
	sd_notifyf(0, "STATUS=serving http://%s/metrics; collectors:%s", config.listen, names);
}

/*
 * SIGHUP: collectors that left the configuration are unloaded, new ones
 * loaded, and those that stay are reloaded over their pinned maps (their
 * counts continue). A bad file changes nothing.
 */
static void reload(void)
{
	struct daemon_config next;
	char error[1024];

	sd_notify(0, "RELOADING=1");
	if (config_load(config_path, &next, error, sizeof(error))) {
		log_at(LOG_LEVEL_ERROR, "reload refused, keeping the running configuration: %s", error);
		sd_notify(0, "READY=1");
		return;
	}
	if (strcmp(next.listen, config.listen))
		log_at(LOG_LEVEL_WARNING, "listen changed to %s: takes effect on restart", next.listen);
	snprintf(next.listen, sizeof(next.listen), "%s", config.listen);
	pthread_rwlock_wrlock(&state_lock);
	for (unsigned int i = 0; i < collector_count; i++) {
		if (config.collectors[i].enabled && !next.collectors[i].enabled &&
		    loader_is_loaded(config.pin_root, collectors[i])) {
			if (loader_unload(config.pin_root, collectors[i]))
				log_at(LOG_LEVEL_ERROR, "%s", loader_error());
			else
				log_at(LOG_LEVEL_INFO, "%s: unloaded", collectors[i]->name);
		}
	}
	config = next;
	update_snapshot_options();
	for (unsigned int i = 0; i < collector_count; i++)
		if (config.collectors[i].enabled)
			load_collector(i);
	pthread_rwlock_unlock(&state_lock);
	log_at(LOG_LEVEL_INFO, "configuration reloaded from %s", config.source);
	notify_status();
	sd_notify(0, "READY=1");
}

static int parse_arguments(int argc, char **argv, const char **listen, bool *check_only)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "print-default-config", no_argument, NULL, 'P' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "c:l:fh", options, NULL)) != -1) {
		switch (opt) {
		case 'c': config_path = optarg; break;
		case 'l': *listen = optarg; break;
		case 'C': *check_only = true; break;
		case 'f': foreground = true; break;
		case 'P': config_print_defaults(stdout); exit(0);
		case 'V': printf("khistd %s\n", KHIST_VERSION_STRING); exit(0);
		case 'h': fputs(usage_text, stdout); exit(0);
		default: fputs(usage_text, stderr); return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "khistd: unexpected argument '%s'\n%s", argv[optind], usage_text);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct http_context http_context = { &state_lock, &snapshot_options, &exposition_options,
					     &ready };
	struct http_server *server;
	const char *listen = NULL;
	bool check_only = false;
	char error[1024];
	int listen_fd, stats_fd = -1, status = 0;
	sigset_t signals;
	uint64_t watchdog_usec = 0;

	/*
	 * A small resident set for a daemon on every host: pages are rendered
	 * in buffers that get mmapped and returned whole, and the HTTP threads
	 * share the main heap instead of growing arenas of their own.
	 */
	mallopt(M_MMAP_THRESHOLD, 64 * 1024);
	mallopt(M_ARENA_MAX, 1);
	under_systemd = getenv("NOTIFY_SOCKET") || getenv("JOURNAL_STREAM");
	if (parse_arguments(argc, argv, &listen, &check_only))
		return 2;
	if (config_load(config_path, &config, error, sizeof(error))) {
		fprintf(stderr, "khistd: %s\n", error);
		return 2;
	}
	if (listen) {
		if (config_parse_listen(listen, &config.listen_addr, &config.listen_addr_len, error,
					sizeof(error))) {
			fprintf(stderr, "khistd: --listen: %s\n", error);
			return 2;
		}
		snprintf(config.listen, sizeof(config.listen), "%s", listen);
	}
	if (check_only) {
		printf("khistd: %s: configuration OK\n", config.source);
		return 0;
	}
	update_snapshot_options();

	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		log_at(LOG_LEVEL_ERROR, "no kernel BTF at /sys/kernel/btf/vmlinux: the collectors need "
		       "a kernel built with CONFIG_DEBUG_INFO_BTF");
		return 1;
	}
	if (loader_prepare_bpffs(config.pin_root)) {
		log_at(LOG_LEVEL_ERROR, "%s", loader_error());
		return 1;
	}
	if (config.module == MODULE_REQUIRED && !module_present()) {
		log_at(LOG_LEVEL_ERROR, "module = required, but khist.ko is not loaded (no generic "
		       "netlink family '%s')", KHIST_GENL_NAME);
		return 1;
	}
	listen_fd = http_listen((struct sockaddr *)&config.listen_addr, config.listen_addr_len,
				config.listen, error, sizeof(error));
	if (listen_fd < 0) {
		log_at(LOG_LEVEL_ERROR, "%s", error);
		return 1;
	}
	for (unsigned int i = 0; i < collector_count; i++)
		if (config.collectors[i].enabled && load_collector(i))
			return 1;
	/* Run counts and times per program, for as long as this fd is open. */
	if (config.bpf_stats) {
		stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		if (stats_fd < 0)
			log_at(LOG_LEVEL_WARNING, "cannot enable BPF run-time statistics: %s",
			       strerror(errno));
	}
	bind_module_statistics();
	/* Loading parsed the kernel's BTF: give that memory back. */
	malloc_trim(0);

	/* Signals are taken synchronously by this thread only. */
	sigemptyset(&signals);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &signals, NULL);
	signal(SIGPIPE, SIG_IGN);

	server = http_start(listen_fd, config.max_connections, &http_context, error, sizeof(error));
	if (!server) {
		log_at(LOG_LEVEL_ERROR, "%s", error);
		return 1;
	}
	if (first_read())
		return 1;
	ready = true;
	sd_notify(0, "READY=1");
	notify_status();
	printf("khistd: serving http://%s/metrics\n", config.listen);
	fflush(stdout);
	sd_watchdog_enabled(0, &watchdog_usec);

	for (unsigned int ticks = 0;; ) {
		struct timespec wait = { 1, 0 };
		int signal_number;

		/* Ping the watchdog at half its period at least. */
		if (watchdog_usec && watchdog_usec / 2 < 1000000)
			wait = (struct timespec){ 0, (long)(watchdog_usec / 2 * 1000) };
		signal_number = sigtimedwait(&signals, NULL, &wait);
		if (watchdog_usec)
			sd_notify(0, "WATCHDOG=1");
		if (signal_number == SIGHUP) {
			reload();
		} else if (signal_number == SIGTERM || signal_number == SIGINT) {
			break;
		} else if (signal_number < 0) {
			/* A module loaded after start gets its statistics map bound. */
			if (++ticks % 5 == 0)
				bind_module_statistics();
		}
	}

	sd_notify(0, "STOPPING=1");
	ready = false;
	http_stop(server);
	close(listen_fd);
	if (config.unload_on_exit) {
		for (unsigned int i = 0; i < collector_count; i++) {
			if (!config.collectors[i].enabled ||
			    !loader_is_loaded(config.pin_root, collectors[i]))
				continue;
			if (loader_unload(config.pin_root, collectors[i])) {
				log_at(LOG_LEVEL_ERROR, "%s", loader_error());
				status = 1;
			}
		}
		log_at(LOG_LEVEL_INFO, "stopped; collectors unloaded (unload_on_exit)");
	} else {
		log_at(LOG_LEVEL_INFO, "stopped; collectors stay pinned under %s and keep counting",
		       config.pin_root);
	}
	if (stats_fd >= 0)
		close(stats_fd);
	return status;
}
