// SPDX-License-Identifier: GPL-2.0
/*
 * khist: kernel histograms companion module.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/module.h>

#include <uapi/khist.h>

static int __init khist_init(void)
{
	pr_info("version %s loaded\n", KHIST_VERSION_STRING);
	return 0;
}

static void __exit khist_exit(void)
{
	pr_info("unloaded\n");
}

module_init(khist_init);
module_exit(khist_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("khist: kernel histograms - tracepoint glue, kfuncs and statistics for BPF");
MODULE_AUTHOR("khist developers");
MODULE_VERSION(KHIST_VERSION_STRING);
