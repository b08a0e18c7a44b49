// SPDX-License-Identifier: GPL-2.0
/*
 * Every kind of consumer of the khist: events against rmmod: BPF (tp_btf,
 * raw_tp), tracefs enable, event triggers, perf_event_open. While one is
 * attached rmmod fails with EAGAIN ("in use") and the module keeps working;
 * after it leaves rmmod succeeds and nothing is left in ftrace or tracefs.
 * A loop races insmod/rmmod against tracefs consumers coming and going.
 * The VM runner fails the run on any kernel WARNING, BUG or lockdep report.
 * Also: khist_file_path() is refused outside its attach points, and file
 * arguments must be trusted.
 */
#include <linux/perf_event.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

#include "../agent/bpffs.h"
#include "ktap.h"
#include "kmod_util.h"
#include "progs/kmod_glue_test.h"
#include "kmod_glue_test.skel.h"
#include "kmod_kfunc_refused.skel.h"

#define TRACING		"/sys/kernel/tracing"
#define READ_EVENT	TRACING "/events/khist/khist_vfs_read"
#define RACE_CYCLES	30
#define LOAD_CYCLES	50

static bool write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	close(fd);
	return ok;
}

static bool vfs_traced(void)
{
	FILE *f = fopen(TRACING "/enabled_functions", "r");
	bool traced = false;
	char line[512];

	while (f && fgets(line, sizeof(line), f))
		traced |= !strncmp(line, "vfs_read ", 9) || !strncmp(line, "vfs_write ", 10);
	if (f)
		fclose(f);
	return traced;
}

static void read_some(void)
{
	char buf[16];
	int fd = open("/proc/version", O_RDONLY);

	for (int i = 0; fd >= 0 && i < 10; i++)
		if (pread(fd, buf, sizeof(buf), 0) < 0)
			break;
	if (fd >= 0)
		close(fd);
}

/*
 * With a consumer attached by @attach: rmmod is refused, events flow; once
 * @detach ran: rmmod works, no probe and no events directory are left.
 */
static void check_consumer(const char *name, bool (*attach)(void), void (*detach)(void))
{
	bool ok = true;
	int err;

	if (!kmod_loaded() && (err = kmod_load(NULL)))
		ktap_exit_fail("insmod: %s", strerror(-err));
	if (!attach()) {
		ktap_print_msg("%s: could not attach: %s", name, strerror(errno));
		ktap_test_result(false, "%s_holds_the_module", name);
		kmod_unload();
		return;
	}
	read_some();
	EXPECT(ok, vfs_traced(), "%s: no probe on vfs_read while attached", name);
	err = kmod_unload_retry(1);
	EXPECT(ok, (err == -EAGAIN || err == -EBUSY) && kmod_loaded(),
	       "%s: rmmod while attached: %s", name, err ? strerror(-err) : "succeeded");
	if (!kmod_loaded()) {
		/* The bug this guards against: the module went with its probe live. */
		detach();
		ktap_test_result(ok, "%s_holds_the_module", name);
		return;
	}
	read_some();
	detach();
	err = kmod_unload();
	EXPECT(ok, err == 0 && !kmod_loaded(), "%s: rmmod after detach: %s", name, strerror(-err));
	EXPECT(ok, !vfs_traced(), "%s: vfs_read still traced after rmmod", name);
	EXPECT(ok, access(TRACING "/events/khist", F_OK) && errno == ENOENT,
	       "%s: events/khist left after rmmod", name);
	ktap_test_result(ok, "%s_holds_the_module", name);
}

static bool enable_event(void) { return write_file(READ_EVENT "/enable", "1"); }
static void disable_event(void) { write_file(READ_EVENT "/enable", "0"); }

static const char *trigger;
static bool add_trigger(void) { return write_file(READ_EVENT "/trigger", trigger); }
static void remove_trigger(void)
{
	char text[128];

	snprintf(text, sizeof(text), "!%s", trigger);
	write_file(READ_EVENT "/trigger", text);
}

static int perf_fd = -1;

static bool open_perf(void)
{
	struct perf_event_attr attr = { .type = PERF_TYPE_TRACEPOINT, .size = sizeof(attr),
					.sample_period = 1, .disabled = 0 };
	char id[32] = "";
	FILE *f = fopen(READ_EVENT "/id", "r");

	if (!f || !fgets(id, sizeof(id), f)) {
		if (f)
			fclose(f);
		return false;
	}
	fclose(f);
	attr.config = strtoull(id, NULL, 10);
	/* All CPUs of this process: what perf record -e khist:khist_vfs_read -p PID does. */
	perf_fd = syscall(SYS_perf_event_open, &attr, getpid(), -1, -1, 0);
	return perf_fd >= 0;
}

static void close_perf(void)
{
	close(perf_fd);
	perf_fd = -1;
}

static struct kmod_glue_test_bpf *skel;
static struct bpf_program *(*which_program)(struct kmod_glue_test_bpf *);

static struct bpf_program *tp_btf_program(struct kmod_glue_test_bpf *s) { return s->progs.on_read; }
static struct bpf_program *raw_tp_program(struct kmod_glue_test_bpf *s) { return s->progs.on_read_raw; }

static bool attach_bpf(void)
{
	struct bpf_program *prog;
	struct bpf_link *link;

	skel = kmod_glue_test_bpf__open();
	if (!skel)
		return false;
	bpf_object__for_each_program(prog, skel->obj)
		bpf_program__set_autoload(prog, prog == which_program(skel));
	if (kmod_glue_test_bpf__load(skel))
		return false;
	link = bpf_program__attach(which_program(skel));
	if (!link)
		return false;
	if (which_program(skel) == skel->progs.on_read)
		skel->links.on_read = link;
	else
		skel->links.on_read_raw = link;
	return true;
}

static void detach_bpf(void)
{
	kmod_glue_test_bpf__destroy(skel);
	skel = NULL;
}

static atomic_bool racing;

static void *toggle_consumers(void *arg)
{
	(void)arg;
	while (atomic_load(&racing)) {
		/* Fails while the module is away: that is fine, it must only be safe. */
		write_file(READ_EVENT "/enable", "1");
		read_some();
		write_file(READ_EVENT "/trigger", "stacktrace");
		write_file(READ_EVENT "/trigger", "!stacktrace");
		write_file(READ_EVENT "/enable", "0");
	}
	return NULL;
}

static void test_race(void)
{
	unsigned int loaded = 0, unloaded = 0, refused = 0;
	pthread_t thread;
	bool ok = true;
	int err;

	atomic_store(&racing, true);
	if (pthread_create(&thread, NULL, toggle_consumers, NULL))
		ktap_exit_fail("pthread_create");
	for (int cycle = 0; cycle < RACE_CYCLES; cycle++) {
		if (!kmod_loaded()) {
			err = kmod_load(NULL);
			loaded += err == 0;
		}
		read_some();
		err = kmod_unload_retry(5);
		unloaded += err == 0;
		refused += err == -EAGAIN || err == -EBUSY;
	}
	atomic_store(&racing, false);
	pthread_join(thread, NULL);
	if (kmod_loaded()) {
		disable_event();
		err = kmod_unload();
		EXPECT(ok, err == 0, "final rmmod: %s", strerror(-err));
		unloaded += err == 0;
	}
	EXPECT(ok, !vfs_traced(), "vfs_read still traced after the race");
	EXPECT(ok, access(TRACING "/events/khist", F_OK) && errno == ENOENT,
	       "events/khist left after the race");
	/* Both outcomes happened: the module came and went, and was held at times. */
	EXPECT(ok, unloaded >= 3 && loaded == unloaded, "%u loads, %u unloads in %d cycles", loaded,
	       unloaded, RACE_CYCLES);
	ktap_print_msg("%d cycles: %u loads, %u unloads, %u rmmods refused while a consumer was on",
		       RACE_CYCLES, loaded, unloaded, refused);
	ktap_test_result(ok, "insmod_rmmod_race_with_tracefs_consumers");
}

static atomic_bool loading;

/* Reads and writes a file all the time, while the module comes and goes. */
static void *read_write_load(void *arg)
{
	char buf[64] = "khist";
	int fd = open("/tmp/khist-consumers-load", O_RDWR | O_CREAT | O_TRUNC, 0600);

	(void)arg;
	while (fd >= 0 && atomic_load(&loading)) {
		if (pwrite(fd, buf, sizeof(buf), 0) < 0 || pread(fd, buf, sizeof(buf), 0) < 0)
			break;
	}
	if (fd >= 0)
		close(fd);
	unlink("/tmp/khist-consumers-load");
	return NULL;
}

/*
 * LOAD_CYCLES times, under a read/write load: insmod, one kind of consumer
 * (in turn) attached, used and detached, rmmod.
 */
static void test_cycles_under_load(void)
{
	static const struct {
		bool (*attach)(void);
		void (*detach)(void);
	} kinds[] = {
		{ enable_event, disable_event }, { add_trigger, remove_trigger },
		{ open_perf, close_perf }, { attach_bpf, detach_bpf }, { attach_bpf, detach_bpf },
	};
	unsigned int cycles = 0;
	pthread_t thread;
	bool ok = true;
	int err;

	atomic_store(&loading, true);
	if (pthread_create(&thread, NULL, read_write_load, NULL))
		ktap_exit_fail("pthread_create");
	trigger = "stacktrace";
	for (int cycle = 0; ok && cycle < LOAD_CYCLES; cycle++) {
		unsigned int kind = cycle % (sizeof(kinds) / sizeof(kinds[0]));

		which_program = kind == 3 ? tp_btf_program : raw_tp_program;
		err = kmod_load(NULL);
		EXPECT(ok, err == 0, "cycle %d: insmod: %s", cycle, strerror(-err));
		EXPECT(ok, err || kinds[kind].attach(), "cycle %d: consumer %u: %s", cycle, kind,
		       strerror(errno));
		read_some();
		kinds[kind].detach();
		err = kmod_unload();
		EXPECT(ok, err == 0, "cycle %d: rmmod: %s", cycle, strerror(-err));
		cycles += ok;
	}
	atomic_store(&loading, false);
	pthread_join(thread, NULL);
	EXPECT(ok, !vfs_traced(), "vfs_read still traced after the cycles");
	EXPECT(ok, access(TRACING "/events/khist", F_OK) && errno == ENOENT,
	       "events/khist left after the cycles");
	ktap_print_msg("%u insmod/rmmod cycles under a read/write load", cycles);
	ktap_test_result(ok, "%d_cycles_under_load_with_every_consumer", LOAD_CYCLES);
}

/* Loads one program of kmod_kfunc_refused alone: true when the verifier refused it as expected. */
static bool refused(const char *program, const char *expected)
{
	static char log[64 * 1024];
	struct kmod_kfunc_refused_bpf *obj = kmod_kfunc_refused_bpf__open();
	struct bpf_program *prog;
	bool ok = false;
	int err;

	if (!obj)
		return false;
	log[0] = '\0';
	bpf_object__for_each_program(prog, obj->obj) {
		bool chosen = !strcmp(bpf_program__name(prog), program);

		bpf_program__set_autoload(prog, chosen);
		if (chosen)
			bpf_program__set_log_buf(prog, log, sizeof(log));
	}
	err = kmod_kfunc_refused_bpf__load(obj);
	ok = err && strstr(log, expected);
	if (!ok)
		ktap_print_msg("%s: load %s; verifier: %.300s", program, err ? "failed" : "succeeded",
			       log);
	kmod_kfunc_refused_bpf__destroy(obj);
	return ok;
}

static void test_kfunc_restrictions(void)
{
	struct kmod_glue_test_bpf *allowed;
	bool ok = true;
	__u32 features;
	int err;

	if (!kmod_loaded() && (err = kmod_load(NULL)))
		ktap_exit_fail("insmod: %s", strerror(-err));
	features = kmod_features();
	if (features & KHIST_FEATURE_PATH_KFUNC) {
		EXPECT(ok, refused("path_in_sched_switch",
				   "calling kernel function khist_file_path is not allowed"),
		       "tp_btf/sched_switch was not refused");
		EXPECT(ok, refused("path_in_other_fentry",
				   "calling kernel function khist_file_path is not allowed"),
		       "fentry/vfs_fsync was not refused");
	}
	/* The allowed ones: the glue events and fexit/vfs_read (kmod_glue_test uses them all). */
	allowed = kmod_glue_test_bpf__open_and_load();
	EXPECT(ok, allowed != NULL, "the allowed attach points did not load: %s", strerror(errno));
	kmod_glue_test_bpf__destroy(allowed);
	if (features & KHIST_FEATURE_PATH_KFUNC)
		ktap_test_result(ok, "file_path_only_where_it_is_safe");
	else if (ok)
		ktap_test_skip("file_path_only_where_it_is_safe", "the module has no khist_file_path: "
			       "this kernel has no kfunc filters (6.8)");
	else
		ktap_test_result(ok, "file_path_only_where_it_is_safe");

	ok = true;
	if (!(features & KHIST_FEATURE_TRUSTED_FILES)) {
		ktap_test_skip("file_arguments_must_be_trusted", "this kernel's KF_TRUSTED_ARGS "
			       "takes only referenced pointers (trusted ones from 6.2)");
		kmod_unload();
		return;
	}
	EXPECT(ok, refused("kind_of_walked_file", "must be referenced or trusted"),
	       "a walked file pointer was not refused (khist_file_kind)");
	if (features & KHIST_FEATURE_PATH_KFUNC) {
		EXPECT(ok, refused("path_of_walked_file", "must be referenced or trusted"),
		       "a walked file pointer was not refused (khist_file_path)");
		EXPECT(ok, refused("path_in_fexit", "must be referenced or trusted"),
		       "an fexit argument (not trusted on 6.12) was not refused");
	}
	ktap_test_result(ok, "file_arguments_must_be_trusted");
	kmod_unload();
}

int main(void)
{
	const char *why = kmod_unavailable_reason();

	ktap_print_header();
	if (why)
		ktap_exit_skip("%s", why);
	ktap_set_plan(10);
	if (tracefs_ensure_mounted())
		ktap_exit_fail("cannot mount tracefs");
	if (kmod_loaded() && kmod_unload())
		ktap_exit_fail("khist is loaded and cannot be unloaded");

	check_consumer("tracefs_enable", enable_event, disable_event);
	trigger = "stacktrace";
	check_consumer("event_trigger", add_trigger, remove_trigger);
	trigger = "hist:keys=ino";
	if (kmod_load(NULL))
		ktap_exit_fail("insmod failed");
	if (write_file(READ_EVENT "/trigger", trigger)) {
		remove_trigger();
		check_consumer("hist_trigger", add_trigger, remove_trigger);
	} else {
		ktap_test_skip("hist_trigger_holds_the_module", "no hist triggers in this kernel "
			       "(CONFIG_HIST_TRIGGERS): %s", strerror(errno));
		kmod_unload();
	}
	check_consumer("perf_event_open", open_perf, close_perf);
	which_program = tp_btf_program;
	check_consumer("bpf_tp_btf", attach_bpf, detach_bpf);
	which_program = raw_tp_program;
	check_consumer("bpf_raw_tp", attach_bpf, detach_bpf);
	test_race();
	test_cycles_under_load();
	test_kfunc_restrictions();
	ktap_finished();
}
