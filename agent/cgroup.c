// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cgroup.h"

int cgroup_mount_point(char *mount, size_t size)
{
	char line[8192], dir[4096], type[64];
	FILE *mounts = fopen("/proc/self/mounts", "r");
	int err = -ENOENT;

	while (mounts && err && fgets(line, sizeof(line), mounts))
		if (sscanf(line, "%*s %4095s %63s", dir, type) == 2 && !strcmp(type, "cgroup2")) {
			snprintf(mount, size, "%s", dir);
			err = 0;
		}
	if (mounts)
		fclose(mounts);
	return err;
}

static int by_id(const void *a, const void *b)
{
	const struct cgroup_name *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static int add_name(struct cgroup_names *names, unsigned int *capacity, __u64 id,
		    const char *path)
{
	if (names->count == *capacity) {
		unsigned int more = *capacity ? *capacity * 2 : 64;
		struct cgroup_name *grown = realloc(names->names, more * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		names->names = grown;
		*capacity = more;
	}
	names->names[names->count].path = strdup(*path ? path : "/");
	if (!names->names[names->count].path)
		return -ENOMEM;
	names->names[names->count++].id = id;
	return 0;
}

/*
 * Every directory below @dir_fd (@path relative to the mount). Only
 * directories are looked at: a cgroup holds dozens of files and a scrape
 * should not stat them.
 */
static int walk(int dir_fd, char *path, size_t len, size_t size, struct cgroup_names *names,
		unsigned int *capacity, unsigned int depth)
{
	DIR *dir = fdopendir(dir_fd);
	struct dirent *entry;
	int err = 0;

	if (!dir) {
		close(dir_fd);
		return -errno;
	}
	while (!err && (entry = readdir(dir))) {
		struct stat st;
		int child;

		if (entry->d_type != DT_DIR || entry->d_name[0] == '.')
			continue;
		if (len + 1 + strlen(entry->d_name) >= size || depth > 64)
			continue;
		child = openat(dirfd(dir), entry->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (child < 0)
			continue;	/* removed meanwhile */
		if (fstat(child, &st)) {
			close(child);
			continue;
		}
		snprintf(path + len, size - len, "/%s", entry->d_name);
		err = add_name(names, capacity, st.st_ino, path);
		if (!err)
			err = walk(child, path, strlen(path), size, names, capacity, depth + 1);
		else
			close(child);
		path[len] = '\0';
	}
	closedir(dir);
	return err;
}

int cgroup_names_load(struct cgroup_names *names, struct error_context *error)
{
	char mount[4096], path[4096] = "";
	unsigned int capacity = 0;
	struct stat st;
	int fd, err;

	memset(names, 0, sizeof(*names));
	if (cgroup_mount_point(mount, sizeof(mount)))
		return error_fail(error, -ENOENT, "no cgroup v2 hierarchy is mounted");
	fd = open(mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		err = -errno;
		if (fd >= 0)
			close(fd);
		return error_fail(error, err, "%s: %s", mount, strerror(-err));
	}
	err = add_name(names, &capacity, st.st_ino, "/");
	if (!err)
		err = walk(fd, path, 0, sizeof(path), names, &capacity, 0);
	else
		close(fd);
	if (err) {
		cgroup_names_free(names);
		return error_fail(error, err, "%s: %s", mount, strerror(-err));
	}
	qsort(names->names, names->count, sizeof(*names->names), by_id);
	return 0;
}

const char *cgroup_names_find(const struct cgroup_names *names, __u64 id)
{
	struct cgroup_name key = { .id = id };
	const struct cgroup_name *found = names->count ?
		bsearch(&key, names->names, names->count, sizeof(key), by_id) : NULL;

	return found ? found->path : NULL;
}

void cgroup_names_free(struct cgroup_names *names)
{
	for (unsigned int i = 0; i < names->count; i++)
		free(names->names[i].path);
	free(names->names);
	memset(names, 0, sizeof(*names));
}
