// SPDX-License-Identifier: GPL-2.0
/*
 * khist.ko statistics: kfunc misuse counted, maps of the wrong shape
 * refused, statistics published into a bound pinned map (on demand,
 * periodically, per CPU), readable with bpftool, and a last publication on
 * unbind and on unload.
 */
#include <linux/types.h>
#include <string.h>
#include <sys/wait.h>

#include "../agent/bpffs.h"
#include "kmod_client.h"
#include "progs/kmod_glue_test.h"
#include "kmod_glue_test.skel.h"
#include "kmod_util.h"

#define PIN_DIR		"/sys/fs/bpf/khist-selftest-stats"
#define PIN_PATH	PIN_DIR "/stats"
#define TEST_FILE	"/tmp/khist-stats-test"

static struct kmod_client *client;
static struct kmod_glue_test_bpf *skel;

/* The module takes a map in a kfunc; else (before 6.9) over netlink, by descriptor. */
static bool map_kfunc;

static int run(struct bpf_program *prog)
{
	return run_syscall_prog(bpf_program__fd(prog));
}

/* Binds @map the way the module takes it: @prog calls the kfunc with it. */
static int bind(struct bpf_program *prog, struct bpf_map *map)
{
	return map_kfunc ? run(prog) : kmod_bind_map_fd(client, bpf_map__fd(map));
}

static int unbind(void)
{
	return map_kfunc ? run(skel->progs.unbind) : kmod_unbind_map(client);
}

/* Where a refused bind is counted. */
static enum khist_stat bind_error_stat(void)
{
	return map_kfunc ? KHIST_STAT_KFUNC_ERRORS : KHIST_STAT_NETLINK_ERRORS;
}

static uint64_t stat_now(enum khist_stat id)
{
	struct kmod_info info;

	if (kmod_get_info(client, &info))
		ktap_exit_fail("GET_INFO: %s", kmod_client_error(client));
	return info.stats[id];
}

static uint64_t pinned_value(enum khist_stat id)
{
	uint64_t value = 0;
	uint32_t key = id;
	int fd = bpf_obj_get(PIN_PATH);

	if (fd < 0)
		ktap_exit_fail("opening %s: %s", PIN_PATH, strerror(errno));
	if (bpf_map_lookup_elem(fd, &key, &value))
		ktap_exit_fail("lookup in %s: %s", PIN_PATH, strerror(errno));
	close(fd);
	return value;
}

static uint32_t map_id(struct bpf_map *map)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);

	if (bpf_map_get_info_by_fd(bpf_map__fd(map), &info, &len))
		return 0;
	return info.id;
}

static void do_reads(int count)
{
	char buf[16];
	int fd = open(TEST_FILE, O_RDONLY);

	for (int i = 0; i < count; i++)
		if (pread(fd, buf, sizeof(buf), 0) != sizeof(buf))
			ktap_exit_fail("pread %s: %s", TEST_FILE, strerror(errno));
	close(fd);
}

static void test_misuse(void)
{
	uint64_t errors = stat_now(KHIST_STAT_KFUNC_ERRORS);
	uint64_t bind_errors = stat_now(KHIST_STAT_MAP_BIND_ERRORS);
	uint64_t user = stat_now(KHIST_STAT_USER_0);
	bool ok = true;
	int ret;

	ret = run(skel->progs.stat_add_bad_id);
	EXPECT(ok, ret == -EINVAL, "bad stat id: %d", ret);
	EXPECT(ok, stat_now(KHIST_STAT_KFUNC_ERRORS) == errors + 1, "kfunc_errors %llu, was %llu",
	       (unsigned long long)stat_now(KHIST_STAT_KFUNC_ERRORS), (unsigned long long)errors);
	ret = run(skel->progs.stat_add_user);
	EXPECT(ok, ret == 0 && stat_now(KHIST_STAT_USER_0) == user + 7, "user_0 add: %d", ret);
	ktap_test_result(ok, "stat_add_counts_bad_ids");

	ok = true;
	errors = stat_now(bind_error_stat());
	ret = bind(skel->progs.bind_hash, skel->maps.stats_hash);
	EXPECT(ok, ret == -EINVAL, "hash map: %d", ret);
	ret = bind(skel->progs.bind_too_small, skel->maps.stats_too_small);
	EXPECT(ok, ret == -EINVAL, "too few entries: %d", ret);
	ret = bind(skel->progs.bind_narrow, skel->maps.stats_narrow);
	EXPECT(ok, ret == -EINVAL, "4-byte values: %d", ret);
	EXPECT(ok, stat_now(KHIST_STAT_MAP_BIND_ERRORS) == bind_errors + 3, "map_bind_errors");
	/* stat_now() asks over netlink too: one request, no error, each time. */
	EXPECT(ok, stat_now(bind_error_stat()) == errors + 3, "%s errors",
	       map_kfunc ? "kfunc" : "netlink");
	EXPECT(ok, stat_now(KHIST_STAT_MAP_BINDS) == 0, "a bad map was bound");
	ktap_test_result(ok, "bind_refuses_wrong_maps");
}

static void test_publish(void)
{
	struct kmod_config on_demand = { -1, -1, 0 }, fast = { -1, -1, 100 };
	struct bpf_link *link;
	uint64_t first, second, published;
	bool ok = true;
	int ret;

	ret = kmod_set_config(client, &on_demand);
	EXPECT(ok, ret == 0, "interval 0: %s", strerror(-ret));
	ret = bind(skel->progs.bind_array, skel->maps.stats_array);
	EXPECT(ok, ret == 0, "bind: %d", ret);
	ret = bpffs_make_dirs(PIN_DIR, 0700);
	if (!ret)
		ret = bpf_map__pin(skel->maps.stats_array, PIN_PATH);
	EXPECT(ok, ret == 0, "pin: %s", strerror(-ret));
	{
		struct kmod_info info;

		kmod_get_info(client, &info);
		EXPECT(ok, info.bound_map_id == map_id(skel->maps.stats_array) && info.bound_map_id,
		       "bound id %u, map id %u", info.bound_map_id, map_id(skel->maps.stats_array));
	}
	EXPECT(ok, pinned_value(KHIST_STAT_MAP_BINDS) == 1, "binds %llu",
	       (unsigned long long)pinned_value(KHIST_STAT_MAP_BINDS));
	ktap_test_result(ok, "bind_array_map");

	ok = true;
	link = bpf_program__attach(skel->progs.on_read);
	do_reads(50);
	ret = kmod_publish(client);
	first = pinned_value(KHIST_STAT_GLUE_READ_EVENTS);
	EXPECT(ok, ret == 0, "PUBLISH: %s", strerror(-ret));
	EXPECT(ok, first >= 50 && first <= stat_now(KHIST_STAT_GLUE_READ_EVENTS),
	       "published %llu after 50 reads", (unsigned long long)first);
	do_reads(50);
	EXPECT(ok, pinned_value(KHIST_STAT_GLUE_READ_EVENTS) == first, "changed without a publish");
	kmod_publish(client);
	second = pinned_value(KHIST_STAT_GLUE_READ_EVENTS);
	EXPECT(ok, second >= first + 50, "published %llu after 50 more reads, was %llu",
	       (unsigned long long)second, (unsigned long long)first);
	ktap_print_msg("glue_read_events published: %llu then %llu", (unsigned long long)first,
		       (unsigned long long)second);
	ktap_test_result(ok, "publish_on_demand_grows");

	ok = true;
	ret = kmod_set_config(client, &fast);
	EXPECT(ok, ret == 0, "interval 100: %s", strerror(-ret));
	do_reads(20);
	published = 0;
	for (int i = 0; i < 100 && published < second + 20; i++) {
		usleep(50 * 1000);
		published = pinned_value(KHIST_STAT_GLUE_READ_EVENTS);
	}
	EXPECT(ok, published >= second + 20, "periodic publication: %llu, expected >= %llu",
	       (unsigned long long)published, (unsigned long long)second + 20);
	ktap_test_result(ok, "publish_periodically");
	bpf_link__destroy(link);
	kmod_set_config(client, &on_demand);
}

/* bpftool, the tool any operator has, reads the same numbers from the pin. */
static void test_bpftool(void)
{
	char command[256], output[4096] = "";
	unsigned long long value = ~0ULL, expected;
	const char *at;
	size_t len;
	FILE *pipe;

	if (system("command -v bpftool >/dev/null 2>&1")) {
		ktap_test_skip("bpftool_reads_the_pin", "bpftool not installed");
		return;
	}
	kmod_publish(client);
	expected = pinned_value(KHIST_STAT_GLUE_READ_EVENTS);
	snprintf(command, sizeof(command), "bpftool -j map lookup pinned %s key %d 0 0 0 2>&1",
		 PIN_PATH, KHIST_STAT_GLUE_READ_EVENTS);
	pipe = popen(command, "r");
	len = pipe ? fread(output, 1, sizeof(output) - 1, pipe) : 0;
	output[len] = '\0';
	if (pipe)
		pclose(pipe);
	/* With BTF, bpftool prints "formatted":{"key":N,"value":N}. */
	at = strstr(output, "\"formatted\":");
	if (at)
		at = strstr(at, "\"value\":");
	if (at)
		sscanf(at + 8, "%llu", &value);
	if (value != expected)
		ktap_print_msg("bpftool said: %s", output);
	ktap_test_result(value == expected, "bpftool_reads_the_pin");
}

static void test_percpu_and_unbind(void)
{
	struct kmod_info info;
	uint64_t sum = 0, publishes;
	uint32_t key = KHIST_STAT_GLUE_READ_EVENTS;
	int cpus = libbpf_num_possible_cpus();
	uint64_t values[cpus];
	bool ok = true;
	int ret;

	publishes = pinned_value(KHIST_STAT_PUBLISHES);
	ret = bind(skel->progs.bind_percpu, skel->maps.stats_percpu);
	EXPECT(ok, ret == 0, "bind percpu: %d", ret);
	kmod_get_info(client, &info);
	EXPECT(ok, info.bound_map_id == map_id(skel->maps.stats_percpu), "bound id %u",
	       info.bound_map_id);
	/* The replaced map got a last publication before it was dropped. */
	EXPECT(ok, pinned_value(KHIST_STAT_PUBLISHES) == publishes + 1, "publishes %llu, was %llu",
	       (unsigned long long)pinned_value(KHIST_STAT_PUBLISHES), (unsigned long long)publishes);
	EXPECT(ok, bpf_map_lookup_elem(bpf_map__fd(skel->maps.stats_percpu), &key, values) == 0,
	       "lookup");
	for (int cpu = 0; cpu < cpus; cpu++)
		sum += values[cpu];
	EXPECT(ok, sum >= pinned_value(KHIST_STAT_GLUE_READ_EVENTS) &&
		   sum <= stat_now(KHIST_STAT_GLUE_READ_EVENTS),
	       "per-CPU sum %llu, array %llu", (unsigned long long)sum,
	       (unsigned long long)pinned_value(KHIST_STAT_GLUE_READ_EVENTS));
	ktap_test_result(ok, "rebind_to_percpu_map");

	ok = true;
	ret = unbind();
	EXPECT(ok, ret == 0, "unbind: %d", ret);
	kmod_get_info(client, &info);
	EXPECT(ok, info.bound_map_id == 0, "still bound: %u", info.bound_map_id);
	ret = unbind();
	EXPECT(ok, ret == -ENOENT, "second unbind: %d", ret);
	ret = kmod_publish(client);
	EXPECT(ok, ret == -ENOENT && !strcmp(kmod_client_error(client), "no statistics map is bound"),
	       "PUBLISH unbound: %d '%s'", ret, kmod_client_error(client));
	ret = kmod_unbind_map(client);
	EXPECT(ok, ret == -ENOENT, "UNBIND_MAP unbound: %d", ret);
	ktap_test_result(ok, "unbind_and_errors_when_unbound");

	/* The netlink command unbinds too, after a last publication. */
	ok = true;
	ret = bind(skel->progs.bind_percpu, skel->maps.stats_percpu);
	EXPECT(ok, ret == 0, "bind percpu again: %d", ret);
	publishes = stat_now(KHIST_STAT_PUBLISHES);
	ret = kmod_unbind_map(client);
	EXPECT(ok, ret == 0, "UNBIND_MAP: %d '%s'", ret, kmod_client_error(client));
	kmod_get_info(client, &info);
	EXPECT(ok, info.bound_map_id == 0, "still bound: %u", info.bound_map_id);
	EXPECT(ok, stat_now(KHIST_STAT_PUBLISHES) == publishes + 1, "publishes %llu, was %llu",
	       (unsigned long long)stat_now(KHIST_STAT_PUBLISHES), (unsigned long long)publishes);
	ktap_test_result(ok, "netlink_unbind_map");
}

/* Whether a map with this id still exists, waiting up to 5 s for deferred frees. */
static bool map_id_lingers(uint32_t id)
{
	for (int i = 0; i < 250; i++) {
		int fd = bpf_map_get_fd_by_id(id);

		if (fd < 0 && errno == ENOENT)
			return false;
		if (fd >= 0)
			close(fd);
		usleep(20 * 1000);
	}
	return true;
}

/*
 * Unloading publishes a last time into the bound map, which outlives the
 * module; once nothing else holds them, both maps it was ever bound to are
 * freed: every replacement, unbind and the unload dropped its reference.
 */
static void test_unload_publishes(void)
{
	uint32_t array_id = map_id(skel->maps.stats_array);
	uint32_t percpu_id = map_id(skel->maps.stats_percpu);
	uint64_t publishes;
	bool ok = true;
	int ret;

	ret = bind(skel->progs.bind_array, skel->maps.stats_array);
	EXPECT(ok, ret == 0, "bind: %d", ret);
	publishes = pinned_value(KHIST_STAT_PUBLISHES);
	kmod_glue_test_bpf__destroy(skel);
	skel = NULL;
	kmod_client_close(client);
	client = NULL;
	ret = kmod_unload();
	EXPECT(ok, ret == 0, "rmmod with a bound map: %s", strerror(-ret));
	EXPECT(ok, pinned_value(KHIST_STAT_PUBLISHES) == publishes + 1, "publishes %llu, was %llu",
	       (unsigned long long)pinned_value(KHIST_STAT_PUBLISHES), (unsigned long long)publishes);
	ktap_test_result(ok, "unload_publishes_a_last_time");

	ok = true;
	unlink(PIN_PATH);
	EXPECT(ok, array_id && !map_id_lingers(array_id), "array map %u still exists", array_id);
	EXPECT(ok, percpu_id && !map_id_lingers(percpu_id), "percpu map %u still exists", percpu_id);
	ktap_test_result(ok, "map_references_dropped");
}

int main(void)
{
	int fd, err;

	ktap_print_header();
	kmod_fresh_load_or_skip("publish_interval_ms=0");
	ktap_set_plan(11);
	if (bpffs_ensure_mounted("/sys/fs/bpf"))
		ktap_exit_fail("cannot mount bpffs");
	unlink(PIN_PATH);
	fd = open(TEST_FILE, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, "0123456789abcdef", 16) != 16)
		ktap_exit_fail("creating %s", TEST_FILE);
	close(fd);
	err = kmod_client_open(&client);
	if (err)
		ktap_exit_fail("netlink: %s", strerror(-err));
	map_kfunc = kmod_features() & KHIST_FEATURE_MAP_KFUNC;
	if (!map_kfunc)
		ktap_print_msg("maps are bound over netlink: this kernel cannot pass one to a kfunc "
			       "(6.9)");
	skel = kmod_glue_test_bpf__open();
	if (!skel)
		ktap_exit_fail("opening the BPF object: %s", strerror(errno));
	skel->rodata->target_tgid = getpid();
	err = kmod_glue_test_bpf__load(skel);
	if (err)
		ktap_exit_fail("loading the BPF object: %s", strerror(-err));

	test_misuse();
	test_publish();
	test_bpftool();
	test_percpu_and_unbind();
	test_unload_publishes();

	unlink(PIN_PATH);
	rmdir(PIN_DIR);
	unlink(TEST_FILE);
	ktap_finished();
}
