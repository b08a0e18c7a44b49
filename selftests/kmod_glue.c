// SPDX-License-Identifier: GPL-2.0
/*
 * khist.ko glue events: visible in tracefs, fired by ftrace and BPF
 * (tp_btf, raw_tp) with the right arguments, file kind and path kfuncs,
 * probe registered only while used, missed events counted, and rmmod
 * refused while a program is attached.
 */
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "../agent/bpffs.h"
#include "kmod_client.h"
#include <linux/types.h>

#include "progs/kmod_glue_test.h"
#include "kmod_glue_test.skel.h"
#include "kmod_util.h"

#define TEST_FILE	"/tmp/khist-glue-test"
#define FILE_SIZE	10000
#define READS		64
#define READ_SIZE	100
#define WRITES		32
#define WRITE_SIZE	50
#define TRACING		"/sys/kernel/tracing"
#define MAX_LATENCY_NS	(10ULL * 1000 * 1000 * 1000)

static struct kmod_client *client;
static struct kmod_glue_test_bpf *skel;
static bool preempt_rt;
/* The module offers khist_file_path (not where the kernel has no kfunc filters, 6.1). */
static bool path_kfunc;

/* What one read looked like from the glue event and from fexit on vfs_read. */
struct read_views {
	struct observation glue;
	struct observation fexit;
};

/*
 * khist_file_path() gives @want, except where it must refuse: from the glue
 * (preemption disabled) on PREEMPT_RT, for a path d_path() may lock for.
 */
static void expect_path(bool *ok, const char *via, const struct observation *seen,
			const char *want, bool refused)
{
	/* Without the kfunc the program records -ENOSYS and no path. */
	if (!path_kfunc) {
		if (seen->path_len == -ENOSYS && !seen->path[0])
			return;
		ktap_print_msg("%s: path '%s' length %d, expected -ENOSYS: the module has no "
			       "khist_file_path (no kfunc filters before 6.8)", via, seen->path,
			       seen->path_len);
		*ok = false;
		return;
	}
	if (refused ? seen->path_len == -EAGAIN && !seen->path[0] :
		      !strcmp(seen->path, want) && seen->path_len == (int)strlen(want))
		return;
	ktap_print_msg("%s: path '%s' length %d, expected %s%s", via, seen->path, seen->path_len,
		       refused ? "-EAGAIN and nothing on PREEMPT_RT, not " : "", want);
	*ok = false;
}

static bool write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	bool ok;

	if (!f)
		return false;
	ok = fputs(text, f) >= 0;
	return fclose(f) == 0 && ok;
}

static bool probe_state(bool *read_active, bool *write_active)
{
	struct kmod_info info;

	if (kmod_get_info(client, &info))
		return false;
	*read_active = info.read_active;
	*write_active = info.write_active;
	return true;
}

static int make_test_file(void)
{
	char buf[FILE_SIZE];
	int fd;

	memset(buf, 'k', sizeof(buf));
	fd = open(TEST_FILE, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, buf, sizeof(buf)) != sizeof(buf))
		ktap_exit_fail("creating %s: %s", TEST_FILE, strerror(errno));
	return fd;
}

/* READS reads of READ_SIZE bytes from the start of the test file. */
static void read_test_file(int fd)
{
	char buf[READ_SIZE];

	lseek(fd, 0, SEEK_SET);
	for (int i = 0; i < READS; i++)
		if (read(fd, buf, sizeof(buf)) != sizeof(buf))
			ktap_exit_fail("read %s: %s", TEST_FILE, strerror(errno));
}

static void test_tracefs_events(void)
{
	static const char *const events[] = { "khist_vfs_read", "khist_vfs_write" };
	char path[256], line[256];
	bool ok = true;

	for (int i = 0; i < 2; i++) {
		bool has_latency = false, has_ret = false;
		FILE *f;

		snprintf(path, sizeof(path), TRACING "/events/khist/%s/format", events[i]);
		f = fopen(path, "r");
		EXPECT(ok, f != NULL, "%s: %s", path, strerror(errno));
		while (f && fgets(line, sizeof(line), f)) {
			has_latency |= strstr(line, "field:u64 latency_ns;") != NULL;
			has_ret |= strstr(line, "field:ssize_t ret;") != NULL;
		}
		if (f)
			fclose(f);
		EXPECT(ok, has_latency && has_ret, "%s lacks the latency_ns/ret fields", events[i]);
	}
	ktap_test_result(ok, "tracefs_events_present");
}

/* ftrace (the path perf and trace-cmd use) records each read with its args. */
static void test_ftrace_fires(int fd)
{
	char filter[64], line[512], expected[64];
	struct stat st;
	unsigned int matching = 0, other = 0;
	bool ok = true, read_active = false, write_active = false;
	FILE *trace;

	fstat(fd, &st);
	snprintf(filter, sizeof(filter), "ino == %lu", (unsigned long)st.st_ino);
	EXPECT(ok, write_text(TRACING "/trace", ""), "clearing the trace buffer");
	EXPECT(ok, write_text(TRACING "/events/khist/khist_vfs_read/filter", filter), "filter");
	EXPECT(ok, write_text(TRACING "/events/khist/khist_vfs_read/enable", "1"), "enable");
	EXPECT(ok, probe_state(&read_active, &write_active) && read_active && !write_active,
	       "read probe registered %d, write %d while ftrace uses the read event",
	       read_active, write_active);
	read_test_file(fd);
	EXPECT(ok, write_text(TRACING "/events/khist/khist_vfs_read/enable", "0"), "disable");
	write_text(TRACING "/events/khist/khist_vfs_read/filter", "0");
	EXPECT(ok, probe_state(&read_active, &write_active) && !read_active,
	       "read probe still registered after ftrace stopped using it");

	snprintf(expected, sizeof(expected), "count=%d ret=%d latency_ns=", READ_SIZE, READ_SIZE);
	trace = fopen(TRACING "/trace", "r");
	EXPECT(ok, trace != NULL, "opening the trace: %s", strerror(errno));
	while (trace && fgets(line, sizeof(line), trace)) {
		if (line[0] == '#' || !strstr(line, "khist_vfs_read:"))
			continue;
		if (strstr(line, expected))
			matching++;
		else
			other++;
	}
	if (trace)
		fclose(trace);
	EXPECT(ok, matching == READS && other == 0, "%u matching events, %u others, made %d reads",
	       matching, other, READS);
	ktap_test_result(ok, "ftrace_event_fires_per_read");
}

/*
 * Reads one byte from @fd with the glue and fexit programs attached; what
 * they saw. @glue_held: the caller has the glue program attached already
 * (6.1 attaches a tracing program once at most: EEXIST).
 */
static struct read_views observe_read(int fd, bool glue_held)
{
	struct bpf_link *glue = glue_held ? NULL : bpf_program__attach(skel->progs.on_read);
	struct bpf_link *fexit = bpf_program__attach(skel->progs.fexit_read);
	struct read_views views;
	char byte;

	if ((!glue && !glue_held) || !fexit)
		ktap_exit_fail("attaching the read programs: %s", strerror(errno));
	memset(&skel->bss->read_seen, 0, sizeof(skel->bss->read_seen));
	memset(&skel->bss->fexit_read_seen, 0, sizeof(skel->bss->fexit_read_seen));
	if (read(fd, &byte, 1) != 1)
		skel->bss->read_seen.ret = -errno;
	views.glue = skel->bss->read_seen;
	views.fexit = skel->bss->fexit_read_seen;
	bpf_link__destroy(glue);
	bpf_link__destroy(fexit);
	return views;
}

static void test_bpf_read_write(int fd)
{
	struct read_views views;
	struct observation read_seen, write_seen;
	unsigned long long raw_events;
	struct bpf_link *read_link, *write_link, *raw_link;
	bool ok = true, read_active = false, write_active = false, before_r = true, before_w = true;
	char buf[WRITE_SIZE];

	probe_state(&before_r, &before_w);
	read_link = bpf_program__attach(skel->progs.on_read);
	write_link = bpf_program__attach(skel->progs.on_write);
	raw_link = bpf_program__attach(skel->progs.on_read_raw);
	if (!read_link || !write_link || !raw_link)
		ktap_exit_fail("attaching to the glue events: %s", strerror(errno));
	probe_state(&read_active, &write_active);

	/* No output from here to the snapshot: it would count as writes. */
	memset(&skel->bss->read_seen, 0, sizeof(skel->bss->read_seen));
	memset(&skel->bss->write_seen, 0, sizeof(skel->bss->write_seen));
	skel->bss->raw_read_events = 0;
	read_test_file(fd);
	memset(buf, 'w', sizeof(buf));
	for (int i = 0; i < WRITES; i++)
		if (pwrite(fd, buf, sizeof(buf), FILE_SIZE + i * WRITE_SIZE) != WRITE_SIZE)
			break;
	read_seen = skel->bss->read_seen;
	write_seen = skel->bss->write_seen;
	raw_events = skel->bss->raw_read_events;

	EXPECT(ok, !before_r && !before_w, "probes registered before any consumer");
	EXPECT(ok, read_active && write_active, "probes not registered while attached");
	ktap_test_result(ok, "probes_registered_only_while_used");

	ok = true;
	EXPECT(ok, read_seen.events == READS, "%llu read events", (unsigned long long)read_seen.events);
	EXPECT(ok, read_seen.bytes == READS * READ_SIZE, "%llu bytes", (unsigned long long)read_seen.bytes);
	EXPECT(ok, read_seen.count == READ_SIZE && read_seen.ret == READ_SIZE,
	       "count %llu ret %lld", (unsigned long long)read_seen.count, (long long)read_seen.ret);
	EXPECT(ok, read_seen.latency_min_ns > 0 && read_seen.latency_max_ns < MAX_LATENCY_NS,
	       "latency %llu..%llu ns", (unsigned long long)read_seen.latency_min_ns,
	       (unsigned long long)read_seen.latency_max_ns);
	EXPECT(ok, raw_events == READS, "raw_tp saw %llu events", raw_events);
	ktap_print_msg("tp_btf: %llu reads, latency %llu..%llu ns", (unsigned long long)read_seen.events,
		       (unsigned long long)read_seen.latency_min_ns,
		       (unsigned long long)read_seen.latency_max_ns);
	ktap_test_result(ok, "tp_btf_and_raw_tp_see_each_read");

	ok = true;
	EXPECT(ok, write_seen.events == WRITES, "%llu write events", (unsigned long long)write_seen.events);
	EXPECT(ok, write_seen.bytes == WRITES * WRITE_SIZE, "%llu bytes",
	       (unsigned long long)write_seen.bytes);
	EXPECT(ok, write_seen.latency_min_ns > 0 && write_seen.latency_max_ns < MAX_LATENCY_NS,
	       "latency %llu..%llu ns", (unsigned long long)write_seen.latency_min_ns,
	       (unsigned long long)write_seen.latency_max_ns);
	EXPECT(ok, write_seen.count == WRITE_SIZE && write_seen.ret == WRITE_SIZE,
	       "count %llu ret %lld", (unsigned long long)write_seen.count, (long long)write_seen.ret);
	EXPECT(ok, write_seen.kind == KHIST_FILE_REGULAR, "kind %u", write_seen.kind);
	expect_path(&ok, "write", &write_seen, TEST_FILE, preempt_rt);
	ktap_test_result(ok, "tp_btf_sees_each_write");

	ok = true;
	EXPECT(ok, read_seen.kind == KHIST_FILE_REGULAR, "kind %u", read_seen.kind);
	expect_path(&ok, "glue", &read_seen, TEST_FILE, preempt_rt);
	if (!path_kfunc)
		EXPECT(ok, skel->bss->small_path_len == -ENOSYS && !skel->bss->small_path[0],
		       "8-byte buffer: %d '%s' without the path kfunc", skel->bss->small_path_len,
		       skel->bss->small_path);
	else if (preempt_rt)
		EXPECT(ok, skel->bss->small_path_len == -EAGAIN && !skel->bss->small_path[0],
		       "8-byte buffer: %d '%s'", skel->bss->small_path_len, skel->bss->small_path);
	else
		EXPECT(ok, skel->bss->small_path_len == -ENAMETOOLONG &&
			   !strcmp(skel->bss->small_path, TEST_FILE + strlen(TEST_FILE) - 7),
		       "8-byte buffer: %d '%s'", skel->bss->small_path_len, skel->bss->small_path);
	views = observe_read(fd, true);
	EXPECT(ok, views.fexit.events == 1, "fexit: events %llu",
	       (unsigned long long)views.fexit.events);
	ktap_test_result(ok, "regular_file_kind_and_path");

	/* The read event keeps its probe while the raw_tp program still uses it. */
	ok = true;
	bpf_link__destroy(read_link);
	EXPECT(ok, probe_state(&read_active, &write_active) && read_active && write_active,
	       "after detaching tp_btf from the read event: read %d write %d", read_active,
	       write_active);
	bpf_link__destroy(write_link);
	EXPECT(ok, probe_state(&read_active, &write_active) && read_active && !write_active,
	       "after detaching the write event's only program: read %d write %d", read_active,
	       write_active);
	ktap_test_result(ok, "probe_stays_while_a_consumer_remains");

	bpf_link__destroy(raw_link);
	ok = probe_state(&read_active, &write_active) && !read_active && !write_active;
	ktap_test_result(ok, "probes_unregistered_after_last_detach");
}

/* One synthetic-name file (a pipe or socket): kind and "NAME:[inode]" from the glue. */
static void expect_synthetic(bool *ok, int fd, const char *prefix, unsigned int kind)
{
	struct read_views views = observe_read(fd, false);
	char want[64];
	struct stat st;

	if (fstat(fd, &st))
		ktap_exit_fail("fstat: %s", strerror(errno));
	snprintf(want, sizeof(want), "%s:[%lu]", prefix, (unsigned long)st.st_ino);
	EXPECT(*ok, views.glue.events == 1 && views.glue.kind == kind && views.glue.ret == 1,
	       "glue: events %llu kind %u ret %lld", (unsigned long long)views.glue.events,
	       views.glue.kind, (long long)views.glue.ret);
	EXPECT(*ok, views.fexit.events == 1, "fexit: events %llu",
	       (unsigned long long)views.fexit.events);
	/* d_dname() formats these without a lock: given even on PREEMPT_RT. */
	expect_path(ok, "glue", &views.glue, want, false);
}

static void test_kinds(void)
{
	struct read_views views;
	int fd, fds[2];
	bool ok;

	ok = true;
	fd = open("/proc/version", O_RDONLY);
	views = observe_read(fd, false);
	close(fd);
	EXPECT(ok, views.glue.events == 1 && views.glue.kind == KHIST_FILE_PSEUDO_FS,
	       "glue: events %llu kind %u", (unsigned long long)views.glue.events, views.glue.kind);
	EXPECT(ok, views.fexit.events == 1, "fexit: events %llu",
	       (unsigned long long)views.fexit.events);
	expect_path(&ok, "glue", &views.glue, "/proc/version", preempt_rt);
	ktap_test_result(ok, "proc_file_kind_and_path");

	ok = true;
	if (pipe(fds) || write(fds[1], "p", 1) != 1)
		ktap_exit_fail("pipe: %s", strerror(errno));
	expect_synthetic(&ok, fds[0], "pipe", KHIST_FILE_FIFO);
	close(fds[0]);
	close(fds[1]);
	ktap_test_result(ok, "pipe_kind_and_path");

	ok = true;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) || write(fds[1], "s", 1) != 1)
		ktap_exit_fail("socketpair: %s", strerror(errno));
	expect_synthetic(&ok, fds[0], "socket", KHIST_FILE_SOCKET);
	close(fds[0]);
	close(fds[1]);
	ktap_test_result(ok, "socket_kind_and_path");

	if (!(kmod_features() & KHIST_FEATURE_NULL_FILES)) {
		EXPECT(ok, run_syscall_prog(bpf_program__fd(skel->progs.null_file)) == -ENOSYS,
		       "run without NULL arguments");
		ktap_test_skip("null_file_is_safe", "this kernel's verifier refuses a NULL file "
			       "before the kfunc (no __nullable arguments)");
		return;
	}
	ok = true;
	EXPECT(ok, run_syscall_prog(bpf_program__fd(skel->progs.null_file)) == 0, "run");
	EXPECT(ok, skel->bss->null_kind == KHIST_FILE_UNKNOWN, "kind %u", skel->bss->null_kind);
	EXPECT(ok, skel->bss->null_path_len == (path_kfunc ? -EINVAL : -ENOSYS) &&
		   skel->bss->null_path[0] == '\0',
	       "path %d '%s'", skel->bss->null_path_len, skel->bss->null_path);
	ktap_test_result(ok, "null_file_is_safe");
}

static void test_disable_glue(void)
{
	struct kmod_config off = KMOD_CONFIG_UNCHANGED, on = KMOD_CONFIG_UNCHANGED;
	struct bpf_link *link;
	bool ok = true;
	int err;

	off.read_enabled = 0;
	on.read_enabled = 1;
	err = kmod_set_config(client, &off);
	EXPECT(ok, err == 0, "disabling: %s", strerror(-err));
	link = bpf_program__attach(skel->progs.on_read);
	err = link ? 0 : -errno;
	EXPECT(ok, err == -EACCES, "attach while disabled: %s", strerror(-err));
	bpf_link__destroy(link);
	err = kmod_set_config(client, &on);
	EXPECT(ok, err == 0, "enabling: %s", strerror(-err));
	link = bpf_program__attach(skel->progs.on_read);
	EXPECT(ok, link != NULL, "attach after enabling: %s", strerror(errno));
	bpf_link__destroy(link);
	ktap_test_result(ok, "disabled_glue_refuses_consumers");
}

#define BLOCKED_READERS 320

static int reader_pipes[BLOCKED_READERS][2];

static void *blocked_reader(void *arg)
{
	char byte;

	return (void *)(long)read(reader_pipes[(long)arg][0], &byte, 1);
}

/*
 * Every read in flight holds one of the probe's return nodes: more blocked
 * readers than nodes must be counted as missed events.
 */
static void test_missed_events(void)
{
	unsigned long long nodes = 256, expected_min;
	struct kmod_info info;
	pthread_t threads[BLOCKED_READERS];
	pthread_attr_t attr;
	struct bpf_link *link;
	long cpus = libbpf_num_possible_cpus();
	bool ok = true;
	int started = 0;

	if (cpus * 32 > (long)nodes)
		nodes = cpus * 32;
	if (nodes >= BLOCKED_READERS) {
		ktap_test_skip("missed_events_counted", "%llu return nodes, more than %d readers",
			       nodes, BLOCKED_READERS);
		return;
	}
	expected_min = BLOCKED_READERS - nodes;
	link = bpf_program__attach(skel->progs.on_read);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (int i = 0; i < BLOCKED_READERS; i++) {
		if (pipe(reader_pipes[i]))
			break;
		if (pthread_create(&threads[i], &attr, blocked_reader, (void *)(long)i))
			break;
		started++;
	}
	usleep(500 * 1000);
	for (int i = 0; i < started; i++) {
		if (write(reader_pipes[i][1], "x", 1) != 1)
			ok = false;
	}
	for (int i = 0; i < started; i++) {
		pthread_join(threads[i], NULL);
		close(reader_pipes[i][0]);
		close(reader_pipes[i][1]);
	}
	bpf_link__destroy(link);
	EXPECT(ok, started == BLOCKED_READERS, "started %d readers", started);
	EXPECT(ok, kmod_get_info(client, &info) == 0, "GET_INFO");
	EXPECT(ok, info.stats[KHIST_STAT_GLUE_READ_MISSED] >= expected_min &&
		   info.stats[KHIST_STAT_GLUE_READ_MISSED] <= BLOCKED_READERS + 64,
	       "missed %llu, expected %llu..%d",
	       (unsigned long long)info.stats[KHIST_STAT_GLUE_READ_MISSED], expected_min,
	       BLOCKED_READERS + 64);
	ktap_print_msg("%d blocked readers, %llu return nodes: %llu missed", BLOCKED_READERS, nodes,
		       (unsigned long long)info.stats[KHIST_STAT_GLUE_READ_MISSED]);
	ktap_test_result(ok, "missed_events_counted");
}

static void test_rmmod_while_attached(void)
{
	struct bpf_link *link = bpf_program__attach(skel->progs.on_read);
	bool ok = true;
	int err;

	EXPECT(ok, link != NULL, "attach: %s", strerror(errno));
	err = kmod_unload_retry(1);
	EXPECT(ok, (err == -EAGAIN || err == -EBUSY) && kmod_loaded(),
	       "rmmod while attached: %s", strerror(-err));
	bpf_link__destroy(link);
	kmod_glue_test_bpf__destroy(skel);
	skel = NULL;
	kmod_client_close(client);
	client = NULL;
	err = kmod_unload();
	EXPECT(ok, err == 0 && !kmod_loaded(), "rmmod after detaching: %s", strerror(-err));
	ktap_test_result(ok, "rmmod_refused_while_attached");
}

int main(void)
{
	int fd, err;

	ktap_print_header();
	kmod_fresh_load_or_skip(NULL);
	ktap_set_plan(15);
	if (tracefs_ensure_mounted())
		ktap_exit_fail("cannot mount tracefs");
	err = kmod_client_open(&client);
	if (err)
		ktap_exit_fail("netlink: %s", strerror(-err));
	preempt_rt = kernel_is_preempt_rt();
	path_kfunc = kmod_features() & KHIST_FEATURE_PATH_KFUNC;
	if (!path_kfunc)
		ktap_print_msg("the module has no khist_file_path (no kfunc filters before 6.8): "
			       "paths are checked to be absent");
	skel = kmod_glue_test_bpf__open();
	if (!skel)
		ktap_exit_fail("opening the BPF object: %s", strerror(errno));
	skel->rodata->target_tgid = getpid();
	skel->rodata->null_file_args = kmod_features() & KHIST_FEATURE_NULL_FILES;
	err = kmod_glue_test_bpf__load(skel);
	if (err)
		ktap_exit_fail("loading the BPF object: %s", strerror(-err));
	fd = make_test_file();

	test_tracefs_events();
	test_ftrace_fires(fd);
	test_bpf_read_write(fd);
	test_kinds();
	test_disable_glue();
	test_missed_events();
	test_rmmod_while_attached();

	close(fd);
	unlink(TEST_FILE);
	ktap_finished();
}
