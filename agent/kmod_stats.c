// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpffs.h"
#include "kmod_client.h"
#include "kmod_stats.h"
#include "kmod_stats.skel.h"

/*
 * Opens the module's netlink family in *@client and says whether the module
 * binds over it (before 6.9): 1 or 0, or -errno when it cannot be asked.
 */
static int binds_over_netlink(struct kmod_client **client, char *error, size_t size)
{
	struct kmod_info info;
	int err;

	err = kmod_client_open(client);
	if (!err)
		err = kmod_get_info(*client, &info);
	if (err) {
		snprintf(error, size, "asking the module how to bind: %s%s", strerror(-err),
			 err == -ENOENT ? " (is the khist module loaded?)" : "");
		return err;
	}
	return !!(info.features & KHIST_FEATURE_NETLINK_BIND);
}

int kmod_stats_bind(const char *pin, char *error, size_t size)
{
	LIBBPF_OPTS(bpf_test_run_opts, run);
	struct kmod_stats_bpf *skel;
	char dir[PATH_MAX];
	struct kmod_client *client = NULL;
	int err, pinned_fd, netlink;

	if (!path_format(dir, sizeof(dir), "%s", pin) || !strrchr(dir, '/')) {
		snprintf(error, size, "bad pin path '%s'", pin);
		return -EINVAL;
	}
	*strrchr(dir, '/') = '\0';
	netlink = binds_over_netlink(&client, error, size);
	if (netlink < 0) {
		kmod_client_close(client);
		return netlink;
	}
	skel = kmod_stats_bpf__open();
	if (!skel) {
		err = -errno;
		snprintf(error, size, "opening the bind program: %s", strerror(-err));
		kmod_client_close(client);
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
	/* Over netlink, the programs (which call kfuncs this kernel lacks) stay out. */
	bpf_program__set_autoload(skel->progs.bind_stats_map, !netlink);
	bpf_program__set_autoload(skel->progs.unbind_stats_map, !netlink);
	err = kmod_stats_bpf__load(skel);
	if (err) {
		snprintf(error, size, "loading the bind program failed: %s%s", strerror(-err),
			 err == -ESRCH || err == -ENOENT || err == -EINVAL ?
			 " (is the khist module loaded?)" : "");
		goto out;
	}
	if (netlink) {
		err = kmod_bind_map_fd(client, bpf_map__fd(skel->maps.kmod_stats));
		if (err) {
			snprintf(error, size, "the module refused the map: %s%s%s", strerror(-err),
				 kmod_client_error(client)[0] ? ": " : "", kmod_client_error(client));
			goto out;
		}
	} else {
		err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.bind_stats_map), &run);
		if (err)
			err = -errno;
		else if (run.retval)
			err = (int)run.retval;
		if (err) {
			snprintf(error, size, "the module refused the map: %s", strerror(-err));
			goto out;
		}
	}
	err = bpffs_make_dirs(dir, 0700);
	if (!err && access(pin, F_OK))
		err = bpf_map__pin(skel->maps.kmod_stats, pin);
	if (err)
		snprintf(error, size, "pinning %s: %s", pin, strerror(-err));
out:
	kmod_stats_bpf__destroy(skel);
	kmod_client_close(client);
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
