// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpffs.h"

static int ensure_mounted(const char *path, const char *type, long magic)
{
	struct statfs fs;

	if (statfs(path, &fs) == 0 && fs.f_type == magic)
		return 0;
	if (mkdir(path, 0755) && errno != EEXIST)
		return -errno;
	if (mount(type, path, type, 0, NULL))
		return -errno;
	return 0;
}

int bpffs_ensure_mounted(const char *path)
{
	return ensure_mounted(path, "bpf", BPF_FS_MAGIC);
}

int tracefs_ensure_mounted(void)
{
	return ensure_mounted("/sys/kernel/tracing", "tracefs", TRACEFS_MAGIC);
}

int bpffs_make_dirs(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char saved = *p;

			*p = '\0';
			if (mkdir(buf, mode) && errno != EEXIST)
				return -errno;
			*p = saved;
			if (saved == '\0')
				break;
		}
	}
	return 0;
}

int percpu_map_sum(int map_fd, const void *key, unsigned long long *sum)
{
	int cpus = libbpf_num_possible_cpus();
	unsigned long long *values;

	if (cpus < 0)
		return cpus;
	values = calloc(cpus, sizeof(*values));
	if (!values)
		return -ENOMEM;
	if (bpf_map_lookup_elem(map_fd, key, values)) {
		int err = -errno;

		free(values);
		return err;
	}
	*sum = 0;
	for (int cpu = 0; cpu < cpus; cpu++)
		*sum += values[cpu];
	free(values);
	return 0;
}

bool path_format(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return len >= 0 && (size_t)len < size;
}
