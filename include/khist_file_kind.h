/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Classifies a file from its inode mode and its filesystem's magic number:
 * one implementation for the module's khist_file_kind() kfunc and for the
 * BPF collectors that cannot call it. Include <uapi/khist.h> first.
 */
#ifndef KHIST_FILE_KIND_H
#define KHIST_FILE_KIND_H

/* From <linux/stat.h> and <linux/magic.h>, which BPF programs do not see. */
#define KHIST_S_IFMT	0170000
#define KHIST_S_IFSOCK	0140000
#define KHIST_S_IFLNK	0120000
#define KHIST_S_IFREG	0100000
#define KHIST_S_IFBLK	0060000
#define KHIST_S_IFDIR	0040000
#define KHIST_S_IFCHR	0020000
#define KHIST_S_IFIFO	0010000

#define KHIST_ANON_INODE_FS_MAGIC	0x09041934
/* Pseudo filesystems: files that describe the kernel, not stored data. */
#define KHIST_PROC_SUPER_MAGIC	0x9fa0
#define KHIST_SYSFS_MAGIC	0x62656572
#define KHIST_DEBUGFS_MAGIC	0x64626720
#define KHIST_TRACEFS_MAGIC	0x74726163
#define KHIST_SECURITYFS_MAGIC	0x73636673
#define KHIST_CGROUP_SUPER_MAGIC	0x27e0eb
#define KHIST_CGROUP2_SUPER_MAGIC	0x63677270
#define KHIST_BPF_FS_MAGIC	0xcafe4a11
#define KHIST_PSTOREFS_MAGIC	0x6165676c
#define KHIST_EFIVARFS_MAGIC	0xde5e81e4
#define KHIST_SELINUX_MAGIC	0xf97cff8c
#define KHIST_SMACK_MAGIC	0x43415d53
#define KHIST_DEVPTS_SUPER_MAGIC	0x1cd1

static inline int khist_is_pseudo_fs(unsigned long magic)
{
	switch (magic) {
	case KHIST_PROC_SUPER_MAGIC:
	case KHIST_SYSFS_MAGIC:
	case KHIST_DEBUGFS_MAGIC:
	case KHIST_TRACEFS_MAGIC:
	case KHIST_SECURITYFS_MAGIC:
	case KHIST_CGROUP_SUPER_MAGIC:
	case KHIST_CGROUP2_SUPER_MAGIC:
	case KHIST_BPF_FS_MAGIC:
	case KHIST_PSTOREFS_MAGIC:
	case KHIST_EFIVARFS_MAGIC:
	case KHIST_SELINUX_MAGIC:
	case KHIST_SMACK_MAGIC:
	case KHIST_DEVPTS_SUPER_MAGIC:
		return 1;
	default:
		return 0;
	}
}

static inline unsigned int khist_classify_file(unsigned int mode, unsigned long magic)
{
	if (magic == KHIST_ANON_INODE_FS_MAGIC)
		return KHIST_FILE_ANON_INODE;
	switch (mode & KHIST_S_IFMT) {
	case KHIST_S_IFREG:
		return khist_is_pseudo_fs(magic) ? KHIST_FILE_PSEUDO_FS : KHIST_FILE_REGULAR;
	case KHIST_S_IFDIR:
		return khist_is_pseudo_fs(magic) ? KHIST_FILE_PSEUDO_FS : KHIST_FILE_DIRECTORY;
	case KHIST_S_IFCHR:
		return KHIST_FILE_CHAR_DEVICE;
	case KHIST_S_IFBLK:
		return KHIST_FILE_BLOCK_DEVICE;
	case KHIST_S_IFIFO:
		return KHIST_FILE_FIFO;
	case KHIST_S_IFSOCK:
		return KHIST_FILE_SOCKET;
	case KHIST_S_IFLNK:
		return KHIST_FILE_SYMLINK;
	default:
		return KHIST_FILE_UNKNOWN;
	}
}

#endif /* KHIST_FILE_KIND_H */
