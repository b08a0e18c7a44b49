// SPDX-License-Identifier: GPL-2.0
/*
 * block collector against direct I/O of known sizes on a disk nobody else
 * uses: the VM runner's scratch virtio disk ($KHIST_TEST_DISK), or on a
 * host a loop device made for the test. Requests, bytes and histogram
 * counts per (disk, op) are exact in both attach modes at once, and equal
 * the disk's own statistics (/sys/block/NAME/stat) and, where it runs,
 * what libbpf-tools biolatency counted of the same I/O.
 */
#define _GNU_SOURCE	/* O_DIRECT */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "collector_util.h"

#define READS		40
#define READ_SIZE	4096
#define WRITES		10
#define WRITE_SIZE	8192
#define DISK_BYTES	(16 << 20)

struct test_disk {
	char dev[64];		/* /dev/NAME */
	const char *name;	/* NAME, as the collector labels it */
	char image[64];		/* a loop device's backing file, or "" */
};

static void disk_release(struct test_disk *disk)
{
	char command[256];

	if (!disk->image[0])
		return;
	snprintf(command, sizeof(command), "losetup -d %s 2>&1", disk->dev);
	run_shell(command, NULL, 0);
	unlink(disk->image);
}

/* The disk to test on, or a skip with the reason. */
static bool disk_get(struct test_disk *disk)
{
	char command[256], output[256];
	const char *given = getenv("KHIST_TEST_DISK");
	int fd;

	memset(disk, 0, sizeof(*disk));
	if (given && given[0]) {
		snprintf(disk->dev, sizeof(disk->dev), "%s", given);
	} else {
		snprintf(disk->image, sizeof(disk->image), "/tmp/khist-block-%d.img", getpid());
		fd = open(disk->image, O_CREAT | O_RDWR | O_TRUNC, 0600);
		if (fd < 0 || ftruncate(fd, DISK_BYTES)) {
			ktap_exit_skip("no disk to test on: cannot make %s: %s", disk->image,
				       strerror(errno));
		}
		close(fd);
		snprintf(command, sizeof(command), "losetup -f --show %s 2>&1", disk->image);
		if (run_shell(command, output, sizeof(output)) != 0 ||
		    strncmp(output, "/dev/", 5)) {
			unlink(disk->image);
			if (getenv("KHIST_TEST_VM"))
				ktap_exit_fail("no scratch disk in the VM (KHIST_TEST_DISK unset) and "
					       "no loop device: %s", output);
			ktap_exit_skip("no disk to test on: set KHIST_TEST_DISK, or have losetup "
				       "and loop devices (%.*s)", (int)strcspn(output, "\n"), output);
		}
		output[strcspn(output, "\n")] = '\0';
		snprintf(disk->dev, sizeof(disk->dev), "%.63s", output);
	}
	disk->name = strrchr(disk->dev, '/') ? strrchr(disk->dev, '/') + 1 : disk->dev;
	return true;
}

/* Completed reads and writes of the disk, from its stat file (fields 1 and 5). */
static bool disk_stat(const struct test_disk *disk, __u64 *reads, __u64 *writes)
{
	unsigned long long fields[5];
	char path[128];
	FILE *file;
	int got;

	snprintf(path, sizeof(path), "/sys/block/%s/stat", disk->name);
	file = fopen(path, "r");
	if (!file)
		return false;
	got = fscanf(file, "%llu %llu %llu %llu %llu", &fields[0], &fields[1], &fields[2],
		     &fields[3], &fields[4]);
	fclose(file);
	*reads = fields[0];
	*writes = fields[4];
	return got == 5;
}

/* READS direct reads of READ_SIZE, then WRITES direct writes of WRITE_SIZE, all distinct. */
static bool do_io(const struct test_disk *disk)
{
	void *buffer;
	bool ok = true;
	int fd = open(disk->dev, O_RDWR | O_DIRECT);

	if (fd < 0 || posix_memalign(&buffer, 4096, WRITE_SIZE)) {
		ktap_print_msg("open %s: %s", disk->dev, strerror(errno));
		if (fd >= 0)
			close(fd);
		return false;
	}
	memset(buffer, 0x5a, WRITE_SIZE);
	for (int i = 0; ok && i < READS; i++)
		ok = pread(fd, buffer, READ_SIZE, (off_t)i * 2 * READ_SIZE) == READ_SIZE;
	for (int i = 0; ok && i < WRITES; i++)
		ok = pwrite(fd, buffer, WRITE_SIZE, (off_t)(DISK_BYTES / 2) +
			    (off_t)i * 2 * WRITE_SIZE) == WRITE_SIZE;
	if (!ok)
		ktap_print_msg("I/O on %s: %s", disk->dev, strerror(errno));
	free(buffer);
	close(fd);
	return ok;
}

static __u64 disk_op(const struct snapshot *s, const char *family, const struct test_disk *disk,
		     const char *op)
{
	return family_sum(s, family, "disk", disk->name, "op", op, NULL);
}

/* The histogram series of (disk, op), or NULL. */
static const struct snapshot_series *hist_series(const struct snapshot *s, const char *name,
						 const struct test_disk *disk, const char *op)
{
	const struct snapshot_family *family =
		snapshot_histogram(s, collector_find_histogram(name, NULL));

	for (unsigned int i = 0; family && i < family->series_count; i++) {
		const char *d = snapshot_label(&family->series[i], "disk");
		const char *o = snapshot_label(&family->series[i], "op");

		if (d && o && !strcmp(d, disk->name) && !strcmp(o, op))
			return &family->series[i];
	}
	return NULL;
}

/* Every count of the test's I/O in one mode's snapshot. */
static bool check_counts(const struct snapshot *s, const char *mode, const struct test_disk *disk)
{
	static const struct {
		const char *op;
		__u64 requests, size;
	} want[] = { { "read", READS, READ_SIZE }, { "write", WRITES, WRITE_SIZE } };
	bool ok = true;

	for (unsigned int w = 0; w < ARRAY_SIZE(want); w++) {
		const struct snapshot_series *latency = hist_series(s, "block_latency", disk,
								    want[w].op);
		const struct snapshot_series *size = hist_series(s, "block_size", disk, want[w].op);
		const struct snapshot_series *queued = hist_series(s, "block_queue_time", disk,
								   want[w].op);
		__u64 requests = disk_op(s, "khist_block_requests", disk, want[w].op);
		__u64 bytes = disk_op(s, "khist_block_bytes", disk, want[w].op);

		EXPECT(ok, requests == want[w].requests && bytes == want[w].requests * want[w].size,
		       "%s: %s %s: %llu requests, %llu bytes; want %llu, %llu", mode, disk->name,
		       want[w].op, (unsigned long long)requests, (unsigned long long)bytes,
		       (unsigned long long)want[w].requests,
		       (unsigned long long)(want[w].requests * want[w].size));
		EXPECT(ok, latency && latency->count == want[w].requests && latency->sum > 0,
		       "%s: %s %s latency: %llu requests timed", mode, disk->name, want[w].op,
		       latency ? (unsigned long long)latency->count : 0);
		EXPECT(ok, size && size->count == want[w].requests &&
			   size->sum == want[w].requests * want[w].size,
		       "%s: %s %s sizes: %llu requests, %llu bytes", mode, disk->name, want[w].op,
		       size ? (unsigned long long)size->count : 0,
		       size ? (unsigned long long)size->sum : 0);
		/* Only requests that went through insert (a scheduler, a plug) have a queue time. */
		EXPECT(ok, !queued || queued->count <= want[w].requests,
		       "%s: %s %s: %llu queue times for %llu requests", mode, disk->name,
		       want[w].op, (unsigned long long)queued->count,
		       (unsigned long long)want[w].requests);
	}
	EXPECT(ok, disk_op(s, "khist_block_requests", disk, "flush") == 0 &&
		   disk_op(s, "khist_block_requests", disk, "discard") == 0 &&
		   disk_op(s, "khist_block_requests", disk, "other") == 0 &&
		   disk_op(s, "khist_block_errors", disk, "read") == 0 &&
		   disk_op(s, "khist_block_errors", disk, "write") == 0,
		   "%s: no flush, discard, other op or error on %s", mode, disk->name);
	return ok;
}

/*
 * libbpf-tools biolatency, per disk, started before the I/O and stopped
 * after it: the count of requests it saw on @disk, -1 when it cannot run.
 */
static long long biolatency_start(const struct test_disk *disk, char *out, size_t size, pid_t *pid)
{
	char interval[16];
	int fd;

	snprintf(out, size, "/tmp/khist-biolatency-%d.out", getpid());
	if (access("/usr/sbin/biolatency", X_OK))
		return -1;
	snprintf(interval, sizeof(interval), "%d", 3600);
	*pid = fork();
	if (*pid == 0) {
		fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		execl("/usr/sbin/biolatency", "biolatency", "-D", "-d", disk->name, interval, "1",
		      (char *)NULL);
		_exit(127);
	}
	/* It sleeps until the interval ends once its programs are attached. */
	if (*pid > 0 && wait_until_sleeping(*pid, 120))
		return 0;
	if (*pid > 0) {
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
	}
	ktap_print_msg("biolatency did not start tracing");
	return -1;
}

/* SIGINT makes it print its histogram: the sum of its count column. */
static long long biolatency_count(const char *out, pid_t pid)
{
	char line[512];
	long long total = 0;
	FILE *file;

	kill(pid, SIGINT);
	waitpid(pid, NULL, 0);
	file = fopen(out, "r");
	if (!file)
		return -1;
	while (fgets(line, sizeof(line), file)) {
		unsigned long long low, high, count;

		if (sscanf(line, " %llu -> %llu : %llu", &low, &high, &count) == 3)
			total += count;
	}
	fclose(file);
	unlink(out);
	return total;
}

static void test_counts(const struct test_disk *disk)
{
	__u64 reads_before, writes_before, reads_after, writes_after;
	struct both_modes both;
	bool ok, stat_ok, ran;
	long long peer = -1;
	pid_t peer_pid = 0;
	char out[96];

	ok = load_both_modes(&both, "block");
	if (biolatency_start(disk, out, sizeof(out), &peer_pid) == 0)
		peer = 0;
	stat_ok = disk_stat(disk, &reads_before, &writes_before);
	ran = do_io(disk);
	stat_ok = stat_ok && disk_stat(disk, &reads_after, &writes_after);
	EXPECT(ok, ran, "I/O on %s", disk->dev);
	EXPECT(ok, stat_ok && reads_after - reads_before == READS &&
		   writes_after - writes_before == WRITES,
	       "/sys/block/%s/stat: %llu reads, %llu writes completed", disk->name,
	       stat_ok ? (unsigned long long)(reads_after - reads_before) : 0,
	       stat_ok ? (unsigned long long)(writes_after - writes_before) : 0);
	if (peer == 0)
		peer = biolatency_count(out, peer_pid);
	for (int m = 0; m < BOTH_MODES && ran; m++) {
		struct snapshot s;

		if (!both.loaded[m] || test_snapshot(both.root[m], &s)) {
			ok = false;
			continue;
		}
		ok &= check_counts(&s, collector_mode_name(both.mode[m]), disk);
		if (peer >= 0) {
			const struct snapshot_series *read = hist_series(&s, "block_latency", disk,
									 "read");
			const struct snapshot_series *write = hist_series(&s, "block_latency", disk,
									  "write");
			__u64 timed = (read ? read->count : 0) + (write ? write->count : 0);

			EXPECT(ok, (long long)timed == peer,
			       "%s: %llu requests timed on %s, biolatency counted %lld",
			       collector_mode_name(both.mode[m]), (unsigned long long)timed, disk->name,
			       peer);
		}
		snapshot_free(&s);
	}
	if (peer < 0)
		ktap_print_msg("libbpf-tools biolatency does not run here: compared with the "
			       "disk's stat only");
	else
		ktap_print_msg("biolatency counted %lld requests on %s", peer, disk->name);
	unload_both_modes(&both);
	ktap_test_result(ok, "exact_counts_in_both_modes");
}

/*
 * khist top TABLE over one interval in which 8 reads are made on @disk:
 * the reads start once the CLI sleeps, its baseline taken (a debug VM
 * takes longer than any fixed wait). Its exit status, its output in @output.
 */
static int top_during_io(const struct test_disk *disk, const char *table, char *output,
			 size_t size)
{
	char path[64], binary[PATH_MAX], buffer[4096] __attribute__((aligned(4096)));
	int status = -1, fd;
	ssize_t len;
	pid_t cli;

	snprintf(path, sizeof(path), "/tmp/khist-block-top-%d.out", getpid());
	snprintf(binary, sizeof(binary), "%s/khist", build_dir());
	cli = fork();
	if (cli == 0) {
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		execl(binary, "khist", "top", table, "--count", "1", "--interval", "2",
		      "--pin-root", test_root(), (char *)NULL);
		_exit(127);
	}
	output[0] = '\0';
	if (cli < 0)
		return -1;
	if (wait_until_sleeping(cli, 60)) {
		fd = open(disk->dev, O_RDONLY | O_DIRECT);
		for (int i = 0; fd >= 0 && i < 8; i++)
			if (pread(fd, buffer, sizeof(buffer), (off_t)i * sizeof(buffer)) < 0)
				break;
		if (fd >= 0)
			close(fd);
	}
	if (waitpid(cli, &status, 0) != cli)
		return -1;
	fd = open(path, O_RDONLY);
	len = fd >= 0 ? read(fd, output, size - 1) : -1;
	output[len > 0 ? len : 0] = '\0';
	if (fd >= 0)
		close(fd);
	unlink(path);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* What a terminal user sees: the series titled by disk and op, and the disks table. */
static void test_cli(const struct test_disk *disk)
{
	char args[256], output[16384], title[96];
	struct loader_options options;
	bool ok = true;
	int status;

	loader_default_options(&options);
	load_or_fail("block", &options);
	EXPECT(ok, do_io(disk), "I/O on %s", disk->dev);
	snprintf(title, sizeof(title), "disk = %s, op = write", disk->name);
	snprintf(args, sizeof(args), "hist block_latency --us --slot write --pin-root %s",
		 test_root());
	status = run_khist(args, output, sizeof(output));
	EXPECT(ok, status == 0 && strstr(output, title) && !strstr(output, "op = read"),
	       "hist --slot write: status %d: %s", status, output);
	snprintf(args, sizeof(args), "hist block_size --json --pin-root %s", test_root());
	status = run_khist(args, output, sizeof(output));
	EXPECT(ok, status == 0 && strstr(output, "\"disk\"") && strstr(output, disk->name),
	       "hist block_size --json: status %d: %.300s", status, output);
	snprintf(args, sizeof(args), "hist block_size --slot nosuchop --pin-root %s", test_root());
	status = run_khist(args, output, sizeof(output));
	EXPECT(ok, status == 2 && strstr(output, "no op 'nosuchop'"),
	       "hist --slot nosuchop: status %d: %s", status, output);
	status = top_during_io(disk, "disks", output, sizeof(output));
	EXPECT(ok, status == 0 && strstr(output, "DISK") && strstr(output, disk->name),
	       "top disks: status %d: %s", status, output);
	/* A histogram's top view keys its rows by disk and op, not by op over every disk. */
	status = top_during_io(disk, "block_latency", output, sizeof(output));
	snprintf(title, sizeof(title), "%s ", disk->name);
	EXPECT(ok, status == 0 && strstr(output, "DISK") && strstr(output, " OP ") &&
		   strstr(output, title), "top block_latency: status %d: %s", status, output);
	unload_all();
	ktap_test_result(ok, "cli_shows_disks_and_ops");
}

/* Filters on the task are refused: completions run on whatever task was there. */
static void test_filters_refused(void)
{
	char args[128], output[1024];
	struct loader_options options;
	enum khist_attach_mode mode;
	bool ok = true;
	int err, status;

	loader_default_options(&options);
	options.pin_root = test_root();
	options.filter_tgid = (__u32)getpid();
	err = loader_load(collector_find("block"), &options, &mode);
	EXPECT(ok, err == -EINVAL && strstr(loader_error(), "do not apply"),
	       "load --pid: %d: %s", err, loader_error());
	EXPECT(ok, !loader_is_loaded(test_root(), collector_find("block")), "nothing loaded");
	snprintf(args, sizeof(args), "load block --comm sh --pin-root %s", test_root());
	status = run_khist(args, output, sizeof(output));
	EXPECT(ok, status != 0 && strstr(output, "do not apply"),
	       "khist load block --comm: status %d: %s", status, output);
	/* Every collector for one process: block is left out, saying why; the rest load. */
	snprintf(args, sizeof(args), "load --pid %d --pin-root %s", getpid(), test_root());
	status = run_khist(args, output, sizeof(output));
	EXPECT(ok, status == 0 && strstr(output, "block: not loaded: --pid") &&
		   strstr(output, "syscalls: loaded") &&
		   !loader_is_loaded(test_root(), collector_find("block")),
	       "khist load --pid (every collector): status %d: %s", status, output);
	unload_all();
	snprintf(args, sizeof(args), "load block --by-cgroup 1 --pin-root %s", test_root());
	status = run_khist(args, output, sizeof(output));
	EXPECT(ok, status != 0 && strstr(output, "cannot break"),
	       "khist load block --by-cgroup: status %d: %s", status, output);
	unload_all();
	ktap_test_result(ok, "task_filters_refused");
}

int main(void)
{
	struct test_disk disk;

	ktap_print_header();
	require_root_or_skip();
	disk_get(&disk);
	ktap_print_msg("testing on %s", disk.dev);
	ktap_set_plan(3);
	test_counts(&disk);
	test_cli(&disk);
	test_filters_refused();
	disk_release(&disk);
	unload_all();
	ktap_finished();
}
