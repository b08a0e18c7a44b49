// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpffs.h"
#include "kmod_stats.h"
#include "kmod_stats.skel.h"

int kmod_stats_bind(const char *pin, char *error, size_t size)
{
	LIBBPF_OPTS(bpf_test_run_opts, run);
	struct kmod_stats_bpf *skel;
	char dir[PATH_MAX];
	int err, pinned_fd;

	if (!path_format(dir, sizeof(dir), "%s", pin) || !strrchr(dir, '/')) {
		snprintf(error, size, "bad pin path '%s'", pin);
		return -EINVAL;
	}
	*strrchr(dir, '/') = '\0';
	skel = kmod_stats_bpf__open();
	if (!skel) {
		err = -errno;
		snprintf(error, size, "opening the bind program: %s", strerror(-err));
		return err;
	}
	pinned_fd = bpf_obj_get(pin);
	if (pinned_fd >= 0) {
		err = bpf_map__reuse_fd(skel->maps.kmod_stats, pinned_fd);
		close(pinned_fd);
		if (err) {
			snprintf(error, size, "%s exists but cannot be reused: %s", pin, strerror(-err));
			goto out;
		}
	}
	err = kmod_stats_bpf__load(skel);
	if (err) {
		snprintf(error, size, "loading the bind program failed: %s%s", strerror(-err),
			 err == -ESRCH || err == -ENOENT || err == -EINVAL ?
			 " (is the khist module loaded?)" : "");
		goto out;
	}
	err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.bind_stats_map), &run);
	if (err)
		err = -errno;
	else if (run.retval)
		err = (int)run.retval;
	if (err) {
		snprintf(error, size, "the module refused the map: %s", strerror(-err));
		goto out;
	}
	err = bpffs_make_dirs(dir, 0700);
	if (!err && access(pin, F_OK))
		err = bpf_map__pin(skel->maps.kmod_stats, pin);
	if (err)
		snprintf(error, size, "pinning %s: %s", pin, strerror(-err));
out:
	kmod_stats_bpf__destroy(skel);
	return err;
}

int kmod_stats_read(const char *pin, __u64 stats[KHIST_STAT_COUNT])
{
	int fd = bpf_obj_get(pin), err = 0;

	if (fd < 0)
		return -errno;
	for (__u32 id = 0; id < KHIST_STAT_COUNT; id++) {
		stats[id] = 0;
		if (bpf_map_lookup_elem(fd, &id, &stats[id]))
			err = -errno;
	}
	close(fd);
	return err;
}
