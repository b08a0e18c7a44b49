// SPDX-License-Identifier: GPL-2.0
/*
 * The probe behind a glue event where the kernel has no usable fprobe
 * (Debian's 6.1 kernels have CONFIG_FPROBE off; khist_compat.h): a
 * kretprobe whose entry handler keeps the arguments and the start time in
 * its per-instance data, and whose return handler hands them to the glue.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "khist_compat.h"

#if !KHIST_HAVE_FPROBE
#include <linux/cpumask.h>
#include <linux/err.h>
#include <linux/kprobes.h>
#include <linux/minmax.h>
#include <linux/ptrace.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>

#include "khist.h"

const char khist_probe_kind[] = "kretprobe";

struct khist_probe {
	struct kretprobe kretprobe;
	khist_probe_exit_fn exit;
};

static int khist_kretprobe_entry(struct kretprobe_instance *instance, struct pt_regs *regs)
{
	struct khist_probe_call *call = (struct khist_probe_call *)instance->data;

	/* vfs_read(file, buf, count, pos) and vfs_write() share the layout. */
	call->file = (struct file *)regs_get_kernel_argument(regs, 0);
	call->count = regs_get_kernel_argument(regs, 2);
	call->start_ns = ktime_get_ns();
	return 0;
}

static int khist_kretprobe_exit(struct kretprobe_instance *instance, struct pt_regs *regs)
{
	struct khist_probe *probe = container_of(get_kretprobe(instance), struct khist_probe,
						 kretprobe);

	probe->exit((struct khist_probe_call *)instance->data, regs_return_value(regs));
	return 0;
}

struct khist_probe *khist_probe_register(const char *symbol, khist_probe_exit_fn exit)
{
	struct khist_probe *probe;
	int err;

	probe = kzalloc(sizeof(*probe), GFP_KERNEL);
	if (!probe)
		return ERR_PTR(-ENOMEM);
	probe->exit = exit;
	probe->kretprobe.kp.symbol_name = symbol;
	probe->kretprobe.entry_handler = khist_kretprobe_entry;
	probe->kretprobe.handler = khist_kretprobe_exit;
	probe->kretprobe.data_size = sizeof(struct khist_probe_call);
	/* Calls in flight, as for the fprobe: blocked reads hold an instance each. */
	probe->kretprobe.maxactive = max(256U, num_possible_cpus() * 32);
	err = register_kretprobe(&probe->kretprobe);
	if (err) {
		kfree(probe);
		return ERR_PTR(err);
	}
	return probe;
}

/* Waits for the handlers running now to return. */
void khist_probe_unregister(struct khist_probe *probe)
{
	unregister_kretprobe(&probe->kretprobe);
}

/* Calls with no instance left, and hits while another kprobe ran on the CPU. */
u64 khist_probe_missed(const struct khist_probe *probe)
{
	return READ_ONCE(probe->kretprobe.nmissed) + READ_ONCE(probe->kretprobe.kp.nmissed);
}

void khist_probe_set_enabled(struct khist_probe *probe, bool enabled)
{
	if (enabled)
		enable_kretprobe(&probe->kretprobe);
	else
		disable_kretprobe(&probe->kretprobe);
}

void khist_probe_free(struct khist_probe *probe)
{
	kfree(probe);
}
#endif /* !KHIST_HAVE_FPROBE */
