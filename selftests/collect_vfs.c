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

static void observe(int fd, unsigned int precision, struct observed *seen)
{
	struct reader_table table;
	struct stat st;

	memset(seen, 0, sizeof(*seen));
	struct khist_vfs_counts counts[KHIST_VFS_OPS] = {};

	reader_vfs_counts(test_root(), counts);
	seen->read_calls = counts[KHIST_VFS_READ].calls;
	seen->read_bytes = counts[KHIST_VFS_READ].bytes;
	seen->read_errors = counts[KHIST_VFS_READ].errors;
	seen->write_calls = counts[KHIST_VFS_WRITE].calls;
	seen->write_bytes = counts[KHIST_VFS_WRITE].bytes;
	seen->size_bucket = hist_bucket("vfs_size", KHIST_VFS_READ, khist_hist_index(READ_SIZE, precision));
	seen->latency_samples = hist_total("vfs_latency", KHIST_VFS_READ, 0);
	fstat(fd, &st);
	if (reader_files(test_root(), &table))
		return;
	for (unsigned int i = 0; i < table.count; i++) {
		const struct khist_file_key *key = (const struct khist_file_key *)table.keys + i;

		/* The kernel's dev_t packs major:minor as 12:20 bits. */
		if (key->ino == st.st_ino && key->tgid == (__u32)getpid() &&
		    key->dev == ((major(st.st_dev) << 20) | minor(st.st_dev))) {
			seen->file = ((const struct khist_file_value *)table.values)[i];
			seen->file_found = true;
		}
	}
	reader_table_free(&table);
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
	options.mode = catalog_mode_by_name(mode_name);
	options.filter_tgid = getpid();
	options.pin_root = test_root();
	err = loader_load(catalog_find_collector("vfs"), &options, &mode);
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
	observe(fd, catalog_find_collector("vfs")->default_precision, &before);
	workload(fd);
	observe(fd, catalog_find_collector("vfs")->default_precision, &seen);
	seen.read_calls -= before.read_calls;
	seen.read_bytes -= before.read_bytes;
	seen.read_errors -= before.read_errors;
	seen.write_calls -= before.write_calls;
	seen.write_bytes -= before.write_bytes;
	seen.size_bucket -= before.size_bucket;
	seen.latency_samples -= before.latency_samples;

	EXPECT(ok, mode == (enum khist_attach_mode)options.mode, "attached as %s", catalog_mode_name(mode));
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
	/* The glue names files by path, except where the kfunc cannot (PREEMPT_RT). */
	want_name = mode == KHIST_ATTACH_GLUE && !kernel_is_preempt_rt() ? TEST_FILE :
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
	loader_unload(test_root(), catalog_find_collector("vfs"));
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
	EXPECT(ok, reader_meta(test_root(), "vfs", &meta) == 0 && meta.attach_mode == mode,
	       "meta records %u, loaded %u", meta.attach_mode, mode);
	/* The best mode: glue with the module, fentry where allowed, then kprobe, then syscalls. */
	EXPECT(ok, mode == (kmod_loaded() ? KHIST_ATTACH_GLUE :
			    access("/proc/modules", F_OK) == 0 ? KHIST_ATTACH_FENTRY :
			    KHIST_ATTACH_SYSCALLS),
	       "auto picked %s", catalog_mode_name(mode));
	ktap_print_msg("auto mode: %s", catalog_mode_name(mode));
	ktap_test_result(ok, "auto_picks_the_best_mode_and_records_it");
	loader_unload(test_root(), catalog_find_collector("vfs"));
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
	struct reader_table table = {};
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

	EXPECT(ok, reader_files(test_root(), &table) == 0, "%s", reader_error());
	for (unsigned int row = 0; row < table.count; row++) {
		const struct khist_file_key *key = (const struct khist_file_key *)table.keys + row;
		const struct khist_file_value *value = (const struct khist_file_value *)table.values + row;

		for (int i = 0; i < INTERLEAVED_FILES; i++) {
			if (key->ino != st[i].st_ino ||
			    key->dev != ((major(st[i].st_dev) << 20) | minor(st[i].st_dev)))
				continue;
			found++;
			EXPECT(ok, value->reads == INTERLEAVED_ROUNDS &&
				   value->read_bytes == INTERLEAVED_ROUNDS * READ_SIZE,
			       "file %d: %llu reads, %llu bytes", i, (unsigned long long)value->reads,
			       (unsigned long long)value->read_bytes);
		}
	}
	EXPECT(ok, found == INTERLEAVED_FILES, "%u of %d files in the table", found,
	       INTERLEAVED_FILES);
	reader_table_free(&table);
	ktap_test_result(ok, "interleaved_files_counted_exactly");
	loader_unload(test_root(), catalog_find_collector("vfs"));
	for (int i = 0; i < INTERLEAVED_FILES; i++) {
		close(fds[i]);
		snprintf(path, sizeof(path), "%s-%d", TEST_FILE, i);
		unlink(path);
	}
}

int main(void)
{
	char content[FILE_SIZE];
	int fd;

	ktap_print_header();
	require_root_or_skip();
	ktap_set_plan(7);
	memset(content, 'v', sizeof(content));
	fd = open(TEST_FILE, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, content, sizeof(content)) != sizeof(content))
		ktap_exit_fail("creating %s: %s", TEST_FILE, strerror(errno));

	check_mode("syscalls", fd);
	check_mode("kprobe", fd);
	check_mode("fentry", fd);
	/* The glue needs khist.ko: loaded here when this kernel can load modules. */
	if (!kmod_unavailable_reason() && !kmod_loaded())
		kmod_load(NULL);
	check_mode("glue", fd);
	test_auto_mode();
	test_interleaved_files();
	if (kmod_loaded())
		kmod_unload();
	ktap_test_result(true, "cleanup");
	unload_all();
	close(fd);
	unlink(TEST_FILE);
	ktap_finished();
}
