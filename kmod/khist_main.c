// SPDX-License-Identifier: GPL-2.0
/*
 * khist: kernel histograms companion module. Tracepoint glue on vfs_read and
 * vfs_write, kfuncs for BPF programs, statistics published into a BPF map and
 * a generic netlink family for control.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

#include "khist.h"

static unsigned int publish_interval_ms = 1000;
module_param(publish_interval_ms, uint, 0444);
MODULE_PARM_DESC(publish_interval_ms,
		 "Initial interval between publications of the statistics into the bound map, in ms (0 = only on demand, max 3600000; change at run time with the netlink SET_CONFIG command)");

static int __init khist_init(void)
{
	int err;

	if (publish_interval_ms > KHIST_PUBLISH_INTERVAL_MAX_MS) {
		pr_err("publish_interval_ms=%u is out of range 0..%u\n",
		       publish_interval_ms, KHIST_PUBLISH_INTERVAL_MAX_MS);
		return -EINVAL;
	}
	err = khist_stats_init(publish_interval_ms);
	if (err)
		return err;
	err = khist_kfuncs_init();
	if (err)
		goto err_stats;
	/* Last: from here on user space can reach the module. */
	err = khist_netlink_init();
	if (err) {
		pr_err("registering the generic netlink family failed: %d\n", err);
		goto err_stats;
	}
	pr_info("version %s loaded\n", KHIST_VERSION_STRING);
	return 0;

err_stats:
	khist_stats_exit();
	return err;
}

static void __exit khist_exit(void)
{
	khist_netlink_exit();
	/* Before the counters its handlers write are freed. */
	khist_glue_exit();
	khist_stats_exit();
	pr_info("unloaded\n");
}

module_init(khist_init);
module_exit(khist_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("khist: kernel histograms - tracepoint glue, kfuncs and statistics for BPF");
MODULE_AUTHOR("khist developers");
MODULE_VERSION(KHIST_VERSION_STRING);
