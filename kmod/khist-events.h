/* SPDX-License-Identifier: GPL-2.0 */
/*
 * khist: trace events fired when vfs_read()/vfs_write() return, with the
 * latency measured in the kernel. The probe behind them is registered only
 * while the event has a consumer (reg/unreg of DEFINE_EVENT_FN).
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM khist

#if !defined(_KHIST_EVENTS_H) || defined(TRACE_HEADER_MULTI_READ)
#define _KHIST_EVENTS_H

#include <linux/fs.h>
#include <linux/tracepoint.h>

int khist_glue_read_reg(void);
void khist_glue_read_unreg(void);
int khist_glue_write_reg(void);
void khist_glue_write_unreg(void);

DECLARE_EVENT_CLASS(khist_vfs_io,

	TP_PROTO(struct file *file, size_t count, ssize_t ret, u64 latency_ns),

	TP_ARGS(file, count, ret, latency_ns),

	TP_STRUCT__entry(
		__field(dev_t,		dev)
		__field(unsigned long,	ino)
		__field(size_t,		count)
		__field(ssize_t,	ret)
		__field(u64,		latency_ns)
	),

	TP_fast_assign(
		__entry->dev = file ? file_inode(file)->i_sb->s_dev : 0;
		__entry->ino = file ? file_inode(file)->i_ino : 0;
		__entry->count = count;
		__entry->ret = ret;
		__entry->latency_ns = latency_ns;
	),

	TP_printk("dev=%u:%u ino=%lu count=%zu ret=%zd latency_ns=%llu",
		  MAJOR(__entry->dev), MINOR(__entry->dev), __entry->ino,
		  __entry->count, __entry->ret, __entry->latency_ns)
);

DEFINE_EVENT_FN(khist_vfs_io, khist_vfs_read,
	TP_PROTO(struct file *file, size_t count, ssize_t ret, u64 latency_ns),
	TP_ARGS(file, count, ret, latency_ns),
	khist_glue_read_reg, khist_glue_read_unreg);

DEFINE_EVENT_FN(khist_vfs_io, khist_vfs_write,
	TP_PROTO(struct file *file, size_t count, ssize_t ret, u64 latency_ns),
	TP_ARGS(file, count, ret, latency_ns),
	khist_glue_write_reg, khist_glue_write_unreg);

#endif /* _KHIST_EVENTS_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE khist-events
#include <trace/define_trace.h>
