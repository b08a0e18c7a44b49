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

static inline int khist_is_pseudo_fs(unsigned long magic)
{
	switch (magic) {
	case 0x9fa0:		/* proc */
	case 0x62656572:	/* sysfs */
	case 0x64626720:	/* debugfs */
	case 0x74726163:	/* tracefs */
	case 0x73636673:	/* securityfs */
	case 0x27e0eb:		/* cgroup */
	case 0x63677270:	/* cgroup2 */
	case 0xcafe4a11:	/* bpffs */
	case 0x6165676c:	/* pstore */
	case 0xde5e81e4:	/* efivarfs */
	case 0xf97cff8c:	/* selinuxfs */
	case 0x43415d53:	/* smackfs */
	case 0x1cd1:		/* devpts */
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
