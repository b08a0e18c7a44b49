/* SPDX-License-Identifier: GPL-2.0 */
/* Loading and unloading khist.ko from selftests (finit_module/delete_module). */
#ifndef KHIST_KMOD_UTIL_H
#define KHIST_KMOD_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kmod_client.h"
#include "ktap.h"

/* Why the module cannot be loaded here, or NULL when it can. */
static inline const char *kmod_unavailable_reason(void)
{
	if (access("/proc/modules", F_OK))
		return "this kernel cannot load modules (CONFIG_MODULES off: no /proc/modules)";
	if (geteuid() != 0)
		return "loading modules needs root";
	return NULL;
}

/* $KHIST_MODULE, else kmod/<running release>/khist.ko in the build directory $KHIST_BUILD. */
static inline const char *kmod_path(void)
{
	static char path[PATH_MAX];
	const char *build = getenv("KHIST_BUILD");
	struct utsname uts;

	if (getenv("KHIST_MODULE"))
		return getenv("KHIST_MODULE");
	uname(&uts);
	snprintf(path, sizeof(path), "%s/kmod/%s/khist.ko", build ? build : "build", uts.release);
	return path;
}

/* PREEMPT_RT kernels say so in their version string ("... SMP PREEMPT_RT ..."). */
static inline bool kernel_is_preempt_rt(void)
{
	struct utsname uts;

	return uname(&uts) == 0 && strstr(uts.version, "PREEMPT_RT") != NULL;
}

/*
 * What the loaded module offers (enum khist_feature: the kernel it was built
 * for decides); 0 when it is not loaded or cannot be asked.
 */
static inline __u32 kmod_features(void)
{
	struct kmod_client *client = NULL;
	struct kmod_info info = {};

	if (kmod_client_open(&client))
		return 0;
	if (kmod_get_info(client, &info))
		info.features = 0;
	kmod_client_close(client);
	return info.features;
}

static inline int kmod_load(const char *params)
{
	int fd, err = 0;

	fd = open(kmod_path(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (syscall(SYS_finit_module, fd, params ? params : "", 0))
		err = -errno;
	close(fd);
	return err;
}

static inline bool kmod_loaded(void)
{
	return access("/sys/module/khist", F_OK) == 0;
}

/*
 * Module references held by BPF objects are dropped asynchronously after
 * they are freed, so EAGAIN/EBUSY right after a detach is retried briefly.
 */
static inline int kmod_unload_retry(int attempts)
{
	struct timespec pause = { 0, 20 * 1000 * 1000 };

	for (int i = 0; ; i++) {
		if (syscall(SYS_delete_module, "khist", O_NONBLOCK) == 0)
			return 0;
		if ((errno != EAGAIN && errno != EBUSY) || i + 1 >= attempts)
			return -errno;
		nanosleep(&pause, NULL);
	}
}

/* Up to 10 s: RCU grace periods are slow on PREEMPT_RT under emulation. */
static inline int kmod_unload(void)
{
	return kmod_unload_retry(500);
}

/* Runs a SYSCALL program once: its return value, or -errno if it did not run. */
static inline int run_syscall_prog(int prog_fd)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);

	if (bpf_prog_test_run_opts(prog_fd, &opts))
		return -errno;
	return (int)opts.retval;
}

/*
 * Every module test starts from a freshly loaded module (so counters start
 * at zero), or skips the whole program when modules cannot be loaded here.
 */
static inline void kmod_fresh_load_or_skip(const char *params)
{
	const char *why = kmod_unavailable_reason();
	int err;

	if (why)
		ktap_exit_skip("%s", why);
	if (kmod_loaded() && kmod_unload())
		ktap_exit_fail("khist is loaded and cannot be unloaded");
	err = kmod_load(params);
	if (err)
		ktap_exit_fail("loading %s: %s", kmod_path(), strerror(-err));
}

#endif
