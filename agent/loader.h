/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Loads collectors into the kernel and pins their maps and links under the
 * pin root, so they count with no process running:
 *   <root>/<collector>/<map>           every map of the collector
 *   <root>/<collector>/links/<program> every attached program's link
 */
#ifndef KHIST_LOADER_H
#define KHIST_LOADER_H

#include <stdbool.h>
#include <sys/types.h>
#include <linux/types.h>

#include "collector.h"

#define LOADER_DEFAULT_PIN_ROOT		"/sys/fs/bpf/khist"
#define LOADER_DEFAULT_PROCESSES	10240
#define LOADER_DEFAULT_FILES		1024
#define LOADER_ERROR_SIZE		512

struct loader_options {
	const char *pin_root;
	int layout;			/* -1: as pinned, else exponential; enum khist_layout */
	int precision;			/* -1: as pinned, else the layout's default */
	int mode;			/* -1: the best that works, else enum khist_attach_mode */
	int by_cgroup;			/* -1: as pinned (else 0), 0: off, else the cgroup depth */
	unsigned int cgroup_rows;	/* rows of the cgroup table, "other" included */
	__u32 filter_tgid;
	char filter_comm[KHIST_COMM_LEN];
	const char *filter_cgroup;	/* cgroup v2 directory, or NULL */
	unsigned int process_table_size;
	unsigned int file_table_size;
	bool track_files;
	bool reset;			/* replace pinned maps that do not match */
	mode_t pin_mode;		/* of pinned files; directories get x where r is */
	uid_t pin_uid;
	gid_t pin_gid;
};

void loader_default_options(struct loader_options *options);

/* Why the last loader call failed, naming the path or map and the errno text. */
const char *loader_error(void);

/*
 * Returns 0 and the mode it attached in, or a negative errno. A reload is
 * atomic: the new links are pinned aside and swapped in with one rename, so
 * when any step fails the collector as it was stays attached and counting.
 */
int loader_load(const struct collector *collector, const struct loader_options *options,
		enum khist_attach_mode *mode);
/* Removes the collector's links and pins, and nothing else. -ENOENT if not loaded. */
int loader_unload(const char *pin_root, const struct collector *collector);
bool loader_is_loaded(const char *pin_root, const struct collector *collector);
/* Sets the run-time process filter (0: every process) of a loaded collector. */
int loader_set_tgid_filter(const char *pin_root, const struct collector *collector,
			   __u32 tgid);
/* Mounts bpffs on /sys/fs/bpf when @pin_root is below it and it is missing. */
int loader_prepare_bpffs(const char *pin_root);
/* Forwards libbpf's messages to stderr (otherwise kept quiet). */
void loader_set_verbose(bool verbose);

#endif
