/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * khist user-space API: shared by the kernel module (kmod/) and the agent
 * (agent/). Generic netlink family, commands, attributes, statistic ids and
 * the file kinds returned by the khist_file_kind() kfunc.
 */
#ifndef _UAPI_KHIST_H
#define _UAPI_KHIST_H

#define KHIST_VERSION_STRING	"0.1.0"

#define KHIST_GENL_NAME		"khist"
#define KHIST_GENL_VERSION	1

enum khist_cmd {
	KHIST_CMD_UNSPEC,
	KHIST_CMD_GET_INFO,	/* version, glue state, bound map, stats */
	KHIST_CMD_SET_CONFIG,	/* glue availability, publish interval */
	KHIST_CMD_PUBLISH,	/* publish statistics into the bound map now */
	KHIST_CMD_UNBIND_MAP,	/* drop the bound statistics map */
	/*
	 * Bind the statistics map by its file descriptor (MAP_FD), where the
	 * kernel cannot pass a map to the khist_stats_map_bind() kfunc (before
	 * 6.9: FEATURES has KHIST_FEATURE_NETLINK_BIND); EOPNOTSUPP elsewhere.
	 */
	KHIST_CMD_BIND_MAP,
	__KHIST_CMD_MAX,
};
#define KHIST_CMD_MAX (__KHIST_CMD_MAX - 1)

enum khist_attr {
	KHIST_ATTR_UNSPEC,
	KHIST_ATTR_VERSION,		/* string */
	KHIST_ATTR_GLUE_READ_ENABLED,	/* u8: khist_vfs_read may be used */
	KHIST_ATTR_GLUE_WRITE_ENABLED,	/* u8: khist_vfs_write may be used */
	KHIST_ATTR_GLUE_READ_ACTIVE,	/* u8: its probe is registered now */
	KHIST_ATTR_GLUE_WRITE_ACTIVE,	/* u8 */
	KHIST_ATTR_PUBLISH_INTERVAL_MS,	/* u32, 0 = only on demand */
	KHIST_ATTR_BOUND_MAP_ID,	/* u32, 0 = none */
	KHIST_ATTR_STATS,		/* nest of KHIST_ATTR_STAT */
	KHIST_ATTR_STAT,		/* nest: STAT_ID, STAT_NAME, STAT_VALUE */
	KHIST_ATTR_STAT_ID,		/* u32 */
	KHIST_ATTR_STAT_NAME,		/* string */
	KHIST_ATTR_STAT_VALUE,		/* u64 */
	KHIST_ATTR_PAD,
	KHIST_ATTR_MAP_FD,		/* u32: BIND_MAP */
	KHIST_ATTR_FEATURES,		/* u32: enum khist_feature bits */
	KHIST_ATTR_PROBE_KIND,		/* string: "fprobe" or "kretprobe", behind the glue */
	__KHIST_ATTR_MAX,
};
#define KHIST_ATTR_MAX (__KHIST_ATTR_MAX - 1)

/* What this build of the module offers; the kernel it is built for decides. */
enum khist_feature {
	KHIST_FEATURE_PATH_KFUNC	= 1 << 0,	/* khist_file_path() (6.8+) */
	KHIST_FEATURE_MAP_KFUNC		= 1 << 1,	/* khist_stats_map_bind() (6.9+) */
	KHIST_FEATURE_NETLINK_BIND	= 1 << 2,	/* KHIST_CMD_BIND_MAP (before 6.9) */
	KHIST_FEATURE_TRUSTED_FILES	= 1 << 3,	/* file kfuncs refuse untrusted files (6.2+) */
	KHIST_FEATURE_NULL_FILES	= 1 << 4,	/* file kfuncs take NULL (__nullable; not 6.1) */
};

/* Largest publish interval accepted by SET_CONFIG and the module parameter. */
#define KHIST_PUBLISH_INTERVAL_MAX_MS	3600000U

/*
 * Module statistics. Their ids index the statistics map bound with
 * khist_stats_map_bind(): key = id, value = u64.
 */
enum khist_stat {
	KHIST_STAT_GLUE_READ_EVENTS,
	KHIST_STAT_GLUE_WRITE_EVENTS,
	KHIST_STAT_GLUE_READ_MISSED,
	KHIST_STAT_GLUE_WRITE_MISSED,
	KHIST_STAT_KFUNC_CALLS,
	KHIST_STAT_KFUNC_ERRORS,
	KHIST_STAT_PATH_FAILURES,
	KHIST_STAT_NETLINK_REQUESTS,
	KHIST_STAT_NETLINK_ERRORS,
	KHIST_STAT_MAP_BINDS,
	KHIST_STAT_MAP_BIND_ERRORS,
	KHIST_STAT_PUBLISHES,
	KHIST_STAT_USER_0,	/* free for BPF programs via khist_stat_add() */
	KHIST_STAT_USER_1,
	KHIST_STAT_USER_2,
	KHIST_STAT_USER_3,
	KHIST_STAT_COUNT,
};

#define KHIST_STAT_NAMES {					\
	[KHIST_STAT_GLUE_READ_EVENTS]	= "glue_read_events",	\
	[KHIST_STAT_GLUE_WRITE_EVENTS]	= "glue_write_events",	\
	[KHIST_STAT_GLUE_READ_MISSED]	= "glue_read_missed",	\
	[KHIST_STAT_GLUE_WRITE_MISSED]	= "glue_write_missed",	\
	[KHIST_STAT_KFUNC_CALLS]	= "kfunc_calls",	\
	[KHIST_STAT_KFUNC_ERRORS]	= "kfunc_errors",	\
	[KHIST_STAT_PATH_FAILURES]	= "path_failures",	\
	[KHIST_STAT_NETLINK_REQUESTS]	= "netlink_requests",	\
	[KHIST_STAT_NETLINK_ERRORS]	= "netlink_errors",	\
	[KHIST_STAT_MAP_BINDS]		= "map_binds",		\
	[KHIST_STAT_MAP_BIND_ERRORS]	= "map_bind_errors",	\
	[KHIST_STAT_PUBLISHES]		= "publishes",		\
	[KHIST_STAT_USER_0]		= "user_0",		\
	[KHIST_STAT_USER_1]		= "user_1",		\
	[KHIST_STAT_USER_2]		= "user_2",		\
	[KHIST_STAT_USER_3]		= "user_3",		\
}

/* What khist_file_kind() returns. */
enum khist_file_kind {
	KHIST_FILE_UNKNOWN,
	KHIST_FILE_REGULAR,
	KHIST_FILE_DIRECTORY,
	KHIST_FILE_CHAR_DEVICE,
	KHIST_FILE_BLOCK_DEVICE,
	KHIST_FILE_FIFO,
	KHIST_FILE_SOCKET,
	KHIST_FILE_SYMLINK,
	KHIST_FILE_PSEUDO_FS,	/* proc, sysfs, debugfs, tracefs, ... */
	KHIST_FILE_ANON_INODE,
	KHIST_FILE_KIND_COUNT,
};

#define KHIST_FILE_KIND_NAMES {				\
	[KHIST_FILE_UNKNOWN]		= "unknown",	\
	[KHIST_FILE_REGULAR]		= "regular",	\
	[KHIST_FILE_DIRECTORY]		= "directory",	\
	[KHIST_FILE_CHAR_DEVICE]	= "char",	\
	[KHIST_FILE_BLOCK_DEVICE]	= "block",	\
	[KHIST_FILE_FIFO]		= "fifo",	\
	[KHIST_FILE_SOCKET]		= "socket",	\
	[KHIST_FILE_SYMLINK]		= "symlink",	\
	[KHIST_FILE_PSEUDO_FS]		= "pseudofs",	\
	[KHIST_FILE_ANON_INODE]		= "anon",	\
}

#endif /* _UAPI_KHIST_H */
