/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cgroup v2 ids to paths: an id is the inode number of the cgroup's
 * directory, so one walk of the cgroup2 mount (wherever it is mounted)
 * names every cgroup. Paths are relative to the mount: "/" for the root,
 * "/system.slice/ssh.service".
 */
#ifndef KHIST_CGROUP_H
#define KHIST_CGROUP_H

#include <linux/types.h>

#include "error.h"

struct cgroup_name {
	__u64 id;
	char *path;
};

struct cgroup_names {
	struct cgroup_name *names;	/* sorted by id */
	unsigned int count;
};

/* The mount point of the cgroup2 hierarchy into @mount; -ENOENT when none is mounted. */
int cgroup_mount_point(char *mount, size_t size);
int cgroup_names_load(struct cgroup_names *names, struct error_context *error);
/* NULL when no cgroup has @id (any more). */
const char *cgroup_names_find(const struct cgroup_names *names, __u64 id);
void cgroup_names_free(struct cgroup_names *names);

#endif
