/* SPDX-License-Identifier: GPL-2.0 */
/* khistd configuration: one INI file (inih), with embedded defaults. */
#ifndef KHIST_CONFIG_H
#define KHIST_CONFIG_H

#include <limits.h>
#include <stdio.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <linux/types.h>

#include "collector.h"
#include "collector_list.h"

#define CONFIG_DEFAULT_LISTEN	"127.0.0.1:9818"

enum module_use { MODULE_AUTO, MODULE_OFF, MODULE_REQUIRED };
enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARNING, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

struct collector_config {
	bool enabled;
	int layout;			/* -1: as pinned, else exponential */
	int precision;			/* -1: as pinned, else the layout's default */
	int mode;			/* -1: the best that works */
	int by_cgroup;			/* -1: as pinned; 0: off; else the depth */
	unsigned int cgroups;		/* cgroups with rows of their own */
	__u32 pid;
	char comm[KHIST_COMM_LEN];
	char cgroup[PATH_MAX];
	unsigned int processes;
	unsigned int files;		/* 0: no per-file table */
};

struct daemon_config {
	char source[PATH_MAX];		/* the file, or "embedded defaults" */
	char listen[128];
	struct sockaddr_storage listen_addr;
	socklen_t listen_addr_len;
	char pin_root[PATH_MAX];
	mode_t pin_mode;
	gid_t pin_gid;
	enum module_use module;
	enum log_level log_level;
	bool unload_on_exit;
	bool bpf_stats;			/* enable kernel.bpf_stats_enabled while running */
	unsigned int max_connections;
	unsigned int export_processes;	/* top N processes exported as series */
	unsigned int export_files;
	unsigned int export_signals;
	int classic_schema;		/* classic buckets merged to it; -1: every bucket */
	bool classic_in_protobuf;	/* classic buckets next to native ones */
	unsigned int cgroup_grace_period;	/* seconds a removed cgroup's series stay */
	struct collector_config collectors[COLLECTOR_COUNT];	/* in collectors[] order */
};

/* Prints the embedded default configuration, in the file format. */
void config_print_defaults(FILE *out);

/*
 * Reads @path (NULL: the embedded defaults) over the defaults. 0, or -1 with
 * "FILE:LINE: what is wrong (accepted values)" in @error.
 */
int config_load(const char *path, struct daemon_config *config, char *error, size_t size);
/* Parses "ADDR:PORT" / "[ADDR6]:PORT". 0 or -1 with a message in @error. */
int config_parse_listen(const char *text, struct sockaddr_storage *addr, socklen_t *len,
			char *error, size_t size);

#endif
