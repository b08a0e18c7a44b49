// SPDX-License-Identifier: GPL-2.0
/*
 * vfs collector in every attach mode, on the same known workload: exact
 * call, byte and size-bucket counts and the per-file table. glue needs
 * khist.ko, fentry and kprobe need a kernel that allows them: each mode the
 * kernel refuses is skipped with the loader's reason. Files read in turn on
 * one CPU are counted exactly across its pending slots.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <khist_hist.h>
#include <uapi/khist.h>

#include "collector_util.h"
#include "kmod_util.h"

#define TEST_FILE	"/tmp/khist-vfs-test"
#define FILE_SIZE	10000
#define READS		200
#define READ_SIZE	100
#define WRITES		50
#define WRITE_SIZE	10
#define FAILED_READS	7	/* of a write-only fd: EBADF from vfs_read */

struct observed {
	__u64 read_calls, read_bytes, read_errors, write_calls, write_bytes;
	__u64 size_bucket, latency_samples;
	struct khist_file_value file;
	bool file_found;
};

static void workload(int fd)
{
	int write_only = open("/dev/null", O_WRONLY);
	char buf[READ_SIZE];

	if (write_only < 0)
		ktap_exit_fail("/dev/null: %s", strerror(errno));
	for (int i = 0; i < FAILED_READS; i++)
		if (read(write_only, buf, 1) != -1 || errno != EBADF)
			ktap_exit_fail("read of a write-only fd did not fail with EBADF");
	close(write_only);

	for (int i = 0; i < READS; i++)
		if (pread(fd, buf, READ_SIZE, (off_t)i * 10) != READ_SIZE)
			ktap_exit_fail("pread: %s", strerror(errno));
	memset(buf, 'w', sizeof(buf));
	for (int i = 0; i < WRITES; i++)
		if (pwrite(fd, buf, WRITE_SIZE, FILE_SIZE + i * WRITE_SIZE) != WRITE_SIZE)
			ktap_exit_fail("pwrite: %s", strerror(errno));
}

/* The counts of one file of this process, from the khist_file_* families. */
static bool file_counts(const struct snapshot *snapshot, const struct stat *st,
			struct khist_file_value *file)
{
	static const char *const kinds[KHIST_FILE_KIND_COUNT] = KHIST_FILE_KIND_NAMES;
	const struct snapshot_family *reads = snapshot_find(snapshot, "khist_file_reads");
	char device[24], inode[24], pid[16];

	memset(file, 0, sizeof(*file));
	snprintf(device, sizeof(device), "%u:%u", major(st->st_dev), minor(st->st_dev));
	snprintf(inode, sizeof(inode), "%llu", (unsigned long long)st->st_ino);
	snprintf(pid, sizeof(pid), "%d", getpid());
	for (unsigned int s = 0; reads && s < reads->series_count; s++) {
		const struct snapshot_series *series = &reads->series[s];
		const char *kind = snapshot_label(series, "kind");

		if (strcmp(snapshot_label(series, "device"), device) ||
		    strcmp(snapshot_label(series, "inode"), inode) ||
		    strcmp(snapshot_label(series, "pid"), pid))
			continue;
		file->reads = series->value;
		file->writes = family_sum(snapshot, "khist_file_writes", "device", device, "inode", inode,
					  "pid", pid, NULL);
		file->read_bytes = family_sum(snapshot, "khist_file_read_bytes", "device", device,
					      "inode", inode, "pid", pid, NULL);
		file->write_bytes = family_sum(snapshot, "khist_file_written_bytes", "device", device,
					       "inode", inode, "pid", pid, NULL);
		snprintf(file->name, sizeof(file->name), "%s", snapshot_label(series, "file"));
		snprintf(file->comm, sizeof(file->comm), "%s", snapshot_label(series, "comm"));
		file->kind = KHIST_FILE_KIND_COUNT;
		for (unsigned int k = 0; k < KHIST_FILE_KIND_COUNT; k++)
			if (!strcmp(kind, kinds[k]))
				file->kind = k;
		return true;
	}
	return false;
}

static void observe(int fd, struct observed *seen)
{
	const struct snapshot_family *sizes;
	struct snapshot snapshot;
	struct stat st;

	memset(seen, 0, sizeof(*seen));
	if (test_snapshot(NULL, &snapshot))
		return;
	seen->read_calls = family_sum(&snapshot, "khist_vfs_calls", "op", "read", NULL);
	seen->read_bytes = family_sum(&snapshot, "khist_vfs_bytes", "op", "read", NULL);
	seen->read_errors = family_sum(&snapshot, "khist_vfs_errors", "op", "read", NULL);
	seen->write_calls = family_sum(&snapshot, "khist_vfs_calls", "op", "write", NULL);
	seen->write_bytes = family_sum(&snapshot, "khist_vfs_bytes", "op", "write", NULL);
	sizes = snapshot_find(&snapshot, "khist_vfs_size_bytes");
	seen->size_bucket = sizes && hist_slot(&snapshot, "vfs_size", KHIST_VFS_READ) ?
		hist_slot(&snapshot, "vfs_size", KHIST_VFS_READ)->buckets[bucket_of(&sizes->buckets,
										    READ_SIZE)] : 0;
	seen->latency_samples = family_sum(&snapshot, "khist_vfs_latency_seconds", "op", "read", NULL);
	fstat(fd, &st);
	seen->file_found = file_counts(&snapshot, &st, &seen->file);
	snapshot_free(&snapshot);
}

static void check_mode(const char *mode_name, int fd)
{
	struct loader_options options;
	enum khist_attach_mode mode;
	struct observed before, seen;
	const char *want_name;
	char name[64];
	bool ok = true;
	int err;

	snprintf(name, sizeof(name), "%s_mode_counts_the_workload", mode_name);
	loader_default_options(&options);
	options.mode = collector_mode_by_name(mode_name);
	options.filter_tgid = getpid();
	options.pin_root = test_root();
	err = loader_load(collector_find("vfs"), &options, &mode);
	if (err) {
		/* The test VM's kernel has every mode: there, one that fails is a failure. */
		if (getenv("KHIST_TEST_VM")) {
			ktap_print_msg("%s", loader_error());
			ktap_test_result(false, name);
		} else {
			ktap_test_skip(name, "%s", loader_error());
		}
		return;
	}
	/*
	 * Counts from before the workload are subtracted: attaching the later
	 * programs of a mode reads tracefs files, which the earlier ones see.
	 * Nothing is printed from here to the snapshot: it would be a write.
	 */
	observe(fd, &before);
	workload(fd);
	observe(fd, &seen);
	seen.read_calls -= before.read_calls;
	seen.read_bytes -= before.read_bytes;
	seen.read_errors -= before.read_errors;
	seen.write_calls -= before.write_calls;
	seen.write_bytes -= before.write_bytes;
	seen.size_bucket -= before.size_bucket;
	seen.latency_samples -= before.latency_samples;

	EXPECT(ok, mode == (enum khist_attach_mode)options.mode, "attached as %s", collector_mode_name(mode));
	EXPECT(ok, seen.read_calls == READS + FAILED_READS && seen.read_bytes == READS * READ_SIZE &&
		   seen.read_errors == FAILED_READS, "reads %llu bytes %llu errors %llu",
	       (unsigned long long)seen.read_calls, (unsigned long long)seen.read_bytes,
	       (unsigned long long)seen.read_errors);
	EXPECT(ok, seen.write_calls == WRITES && seen.write_bytes == WRITES * WRITE_SIZE,
	       "writes %llu bytes %llu", (unsigned long long)seen.write_calls,
	       (unsigned long long)seen.write_bytes);
	EXPECT(ok, seen.size_bucket == READS, "%llu reads in the %d-byte bucket",
	       (unsigned long long)seen.size_bucket, READ_SIZE);
	EXPECT(ok, seen.latency_samples == READS + FAILED_READS, "%llu latency samples",
	       (unsigned long long)seen.latency_samples);
	/*
	 * The glue names files by path, except where the kfunc cannot
	 * (PREEMPT_RT) or the module has none (a kernel without kfunc filters).
	 */
	want_name = mode == KHIST_ATTACH_GLUE && !kernel_is_preempt_rt() &&
		    (kmod_features() & KHIST_FEATURE_PATH_KFUNC) ? TEST_FILE :
		    strrchr(TEST_FILE, '/') + 1;
	EXPECT(ok, seen.file_found, "no file table entry for %s", TEST_FILE);
	if (seen.file_found) {
		EXPECT(ok, seen.file.reads == READS && seen.file.writes == WRITES &&
			   seen.file.read_bytes == READS * READ_SIZE &&
			   seen.file.write_bytes == WRITES * WRITE_SIZE,
		       "file: %llu reads %llu writes", (unsigned long long)seen.file.reads,
		       (unsigned long long)seen.file.writes);
		EXPECT(ok, !strcmp(seen.file.name, want_name), "file name '%s', want '%s'",
		       seen.file.name, want_name);
		EXPECT(ok, seen.file.kind == KHIST_FILE_REGULAR, "kind %u", seen.file.kind);
		EXPECT(ok, !strcmp(seen.file.comm, "collect_vfs"), "comm '%s'", seen.file.comm);
	}
	ktap_test_result(ok, "%s", name);
	loader_unload(test_root(), collector_find("vfs"));
}

static void test_auto_mode(void)
{
	struct loader_options options;
	enum khist_attach_mode mode;
	struct khist_meta meta;
	bool ok = true;

	loader_default_options(&options);
	options.filter_tgid = getpid();
	mode = load_or_fail("vfs", &options);
	EXPECT(ok, reader_meta(test_root(), "vfs", &meta, NULL) == 0 && meta.attach_mode == mode,
	       "meta records %u, loaded %u", meta.attach_mode, mode);
	/* The best mode: glue with the module, fentry where allowed, then kprobe, then syscalls. */
	EXPECT(ok, mode == (kmod_loaded() ? KHIST_ATTACH_GLUE :
			    access("/proc/modules", F_OK) == 0 ? KHIST_ATTACH_FENTRY :
			    KHIST_ATTACH_SYSCALLS),
	       "auto picked %s", collector_mode_name(mode));
	ktap_print_msg("auto mode: %s", collector_mode_name(mode));
	ktap_test_result(ok, "auto_picks_the_best_mode_and_records_it");
	loader_unload(test_root(), collector_find("vfs"));
}

#define INTERLEAVED_FILES	(KHIST_PENDING_SLOTS + 5)
#define INTERLEAVED_ROUNDS	25

/*
 * Files read in turn on one CPU, more of them than a CPU has pending slots:
 * some share a slot and flush each other, others keep theirs; the table the
 * reader merges must count each file exactly.
 */
static void test_interleaved_files(void)
{
	struct loader_options options;
	struct snapshot snapshot = {};
	int fds[INTERLEAVED_FILES];
	struct stat st[INTERLEAVED_FILES];
	unsigned int found = 0;
	cpu_set_t cpu0, saved;
	char path[64], buf[READ_SIZE];
	bool ok = true;

	memset(buf, 'i', sizeof(buf));
	for (int i = 0; i < INTERLEAVED_FILES; i++) {
		snprintf(path, sizeof(path), "%s-%d", TEST_FILE, i);
		fds[i] = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (fds[i] < 0 || write(fds[i], buf, sizeof(buf)) != sizeof(buf) || fstat(fds[i], &st[i]))
			ktap_exit_fail("creating %s: %s", path, strerror(errno));
	}
	loader_default_options(&options);
	options.filter_tgid = getpid();
	load_or_fail("vfs", &options);
	CPU_ZERO(&cpu0);
	CPU_SET(0, &cpu0);
	sched_getaffinity(0, sizeof(saved), &saved);
	sched_setaffinity(0, sizeof(cpu0), &cpu0);
	for (int round = 0; round < INTERLEAVED_ROUNDS; round++)
		for (int i = 0; i < INTERLEAVED_FILES; i++)
			if (pread(fds[i], buf, READ_SIZE, 0) != READ_SIZE)
				ktap_exit_fail("pread: %s", strerror(errno));
	sched_setaffinity(0, sizeof(saved), &saved);

	EXPECT(ok, test_snapshot(NULL, &snapshot) == 0, "no snapshot");
	for (int i = 0; ok && i < INTERLEAVED_FILES; i++) {
		struct khist_file_value file;

		if (!file_counts(&snapshot, &st[i], &file))
			continue;
		found++;
		EXPECT(ok, file.reads == INTERLEAVED_ROUNDS &&
			   file.read_bytes == INTERLEAVED_ROUNDS * READ_SIZE,
		       "file %d: %llu reads, %llu bytes", i, (unsigned long long)file.reads,
		       (unsigned long long)file.read_bytes);
	}
	EXPECT(ok, found == INTERLEAVED_FILES, "%u of %d files in the table", found,
	       INTERLEAVED_FILES);
	snapshot_free(&snapshot);
	ktap_test_result(ok, "interleaved_files_counted_exactly");
	loader_unload(test_root(), collector_find("vfs"));
	for (int i = 0; i < INTERLEAVED_FILES; i++) {
		close(fds[i]);
		snprintf(path, sizeof(path), "%s-%d", TEST_FILE, i);
		unlink(path);
	}
}

#define MOVED_READS	300

/*
 * Series per cgroup: a child in a nested cgroup makes READS reads of
 * READ_SIZE bytes, then moves to a sibling cgroup and makes MOVED_READS
 * more; each cgroup's series count exactly its own, apart from the reads of
 * this process outside.
 */
static void test_by_cgroup(const char *mode_name, int fd)
{
	__u64 calls = 0, bytes = 0, samples = 0, errors = 0, write_errors = ~0ULL;
	__u64 moved_calls = 0, moved_bytes = 0;
	struct loader_options options;
	enum khist_attach_mode mode;
	struct test_cgroup cgroup;
	struct snapshot snapshot;
	char name[64], root[96], byte;
	const char *path;
	int go[2], status, err;
	bool ok = true;
	pid_t child;

	snprintf(name, sizeof(name), "%s_mode_series_per_cgroup", mode_name);
	if (!test_cgroup_make(&cgroup, "vfs", name))
		return;
	path = cgroup.path;
	if (pipe(go))
		ktap_exit_fail("pipe");
	child = fork();
	if (child == 0) {
		int write_only = open("/dev/null", O_WRONLY);
		char buf[READ_SIZE];

		if (!cgroup_move_pid(cgroup.dir, getpid()) || read(go[0], &byte, 1) != 1 ||
		    write_only < 0)
			_exit(1);
		for (int i = 0; i < READS; i++)
			if (pread(fd, buf, READ_SIZE, 0) != READ_SIZE)
				_exit(1);
		for (int i = 0; i < FAILED_READS; i++)
			if (read(write_only, buf, 1) != -1 || errno != EBADF)
				_exit(1);
		/* A task that has counted moves: its cached row must not stay. */
		if (!cgroup_move_pid(cgroup.moved, getpid()))
			_exit(1);
		for (int i = 0; i < MOVED_READS; i++)
			if (pread(fd, buf, READ_SIZE, 0) != READ_SIZE)
				_exit(1);
		_exit(0);
	}
	snprintf(root, sizeof(root), "%s-cgroup", test_root());
	loader_default_options(&options);
	options.mode = collector_mode_by_name(mode_name);
	options.pin_root = root;
	options.filter_tgid = child;
	options.by_cgroup = 2;
	err = loader_load(collector_find("vfs"), &options, &mode);
	if (err && !getenv("KHIST_TEST_VM")) {
		ktap_test_skip(name, "%s", loader_error());
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		rmdir(root);
		test_cgroup_remove(&cgroup);
		return;
	}
	EXPECT(ok, err == 0, "load --by-cgroup 2: %s", loader_error());
	EXPECT(ok, write(go[1], "g", 1) == 1 && waitpid(child, &status, 0) == child &&
		   WIFEXITED(status) && !WEXITSTATUS(status), "the reader failed");
	if (!test_snapshot(root, &snapshot)) {
		calls = family_sum(&snapshot, "khist_vfs_calls", "cgroup", path, "op", "read", NULL);
		bytes = family_sum(&snapshot, "khist_vfs_bytes", "cgroup", path, "op", "read", NULL);
		samples = family_sum(&snapshot, "khist_vfs_latency_seconds", "cgroup", path, "op",
				     "read", NULL);
		errors = family_sum(&snapshot, "khist_vfs_errors", "cgroup", path, "op", "read", NULL);
		write_errors = family_sum(&snapshot, "khist_vfs_errors", "cgroup", path, "op", "write",
					  NULL);
		moved_calls = family_sum(&snapshot, "khist_vfs_calls", "cgroup", cgroup.moved_path,
					 "op", "read", NULL);
		moved_bytes = family_sum(&snapshot, "khist_vfs_bytes", "cgroup", cgroup.moved_path,
					 "op", "read", NULL);
		snapshot_free(&snapshot);
	}
	/* Failed calls are calls, with a latency and no size. */
	EXPECT(ok, calls == READS + FAILED_READS && bytes == READS * READ_SIZE &&
		   samples == READS + FAILED_READS && errors == FAILED_READS && write_errors == 0,
	       "%s: %llu reads, %llu bytes, %llu latency samples, %llu and %llu errors; the child "
	       "made %d reads of %d bytes and %d that failed",
	       path, (unsigned long long)calls, (unsigned long long)bytes,
	       (unsigned long long)samples, (unsigned long long)errors,
	       (unsigned long long)write_errors, READS, READ_SIZE, FAILED_READS);
	EXPECT(ok, moved_calls == MOVED_READS && moved_bytes == MOVED_READS * READ_SIZE,
	       "%s: %llu reads, %llu bytes after the move; the child made %d of %d bytes",
	       cgroup.moved_path, (unsigned long long)moved_calls, (unsigned long long)moved_bytes,
	       MOVED_READS, READ_SIZE);
	ktap_print_msg("%s by cgroup: %llu reads, %llu bytes, %llu errors in %s; %llu reads after "
		       "moving to %s", mode_name, (unsigned long long)calls,
		       (unsigned long long)bytes, (unsigned long long)errors, path,
		       (unsigned long long)moved_calls, cgroup.moved_path);
	loader_unload(root, collector_find("vfs"));
	rmdir(root);
	test_cgroup_remove(&cgroup);
	ktap_test_result(ok, "%s", name);
}

int main(void)
{
	char content[FILE_SIZE], vfs_dir[128];
	bool clean = true, loaded_here = false;
	int fd, load_err = 0;

	ktap_print_header();
	require_root_or_skip();
	ktap_set_plan(9);
	memset(content, 'v', sizeof(content));
	fd = open(TEST_FILE, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, content, sizeof(content)) != sizeof(content))
		ktap_exit_fail("creating %s: %s", TEST_FILE, strerror(errno));

	check_mode("syscalls", fd);
	check_mode("kprobe", fd);
	check_mode("fentry", fd);
	/* The glue needs khist.ko: loaded here when this kernel can load modules. */
	if (!kmod_unavailable_reason() && !kmod_loaded()) {
		load_err = kmod_load(NULL);
		loaded_here = load_err == 0;
		if (load_err)
			ktap_print_msg("insmod khist.ko: %s", strerror(-load_err));
	}
	check_mode("glue", fd);
	test_by_cgroup("syscalls", fd);
	test_by_cgroup("glue", fd);
	test_auto_mode();
	test_interleaved_files();
	/* What this test loaded goes again, and nothing of the vfs collector stays pinned. */
	if (loaded_here) {
		int unload_err = kmod_unload();

		EXPECT(clean, unload_err == 0, "rmmod khist: %s", strerror(-unload_err));
		EXPECT(clean, !kmod_loaded(), "khist.ko still loaded");
	}
	EXPECT(clean, !load_err, "khist.ko could be loaded but insmod failed");
	snprintf(vfs_dir, sizeof(vfs_dir), "%s/vfs", test_root());
	EXPECT(clean, access(vfs_dir, F_OK) && errno == ENOENT, "%s is still there", vfs_dir);
	ktap_test_result(clean, "cleanup");
	unload_all();
	close(fd);
	unlink(TEST_FILE);
	ktap_finished();
}
