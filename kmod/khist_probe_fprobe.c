// SPDX-License-Identifier: GPL-2.0
/*
 * The probe behind a glue event where the kernel has fprobes with per-call
 * entry data (khist_compat.h): the entry handler keeps the arguments and
 * the start time, the exit handler hands them to the glue with the result.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "khist_compat.h"

#if KHIST_HAVE_FPROBE
#include <linux/cpumask.h>
#include <linux/err.h>
#include <linux/fprobe.h>
#include <linux/minmax.h>
#include <linux/ptrace.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>

#include "khist.h"

const char khist_probe_kind[] = "fprobe";

struct khist_probe {
	struct fprobe fprobe;
	khist_probe_exit_fn exit;
};

static int khist_fprobe_entry(struct fprobe *fprobe, unsigned long entry_ip,
			      unsigned long ret_ip, struct pt_regs *regs, void *entry_data)
{
	struct khist_probe_call *call = entry_data;

	/* vfs_read(file, buf, count, pos) and vfs_write() share the layout. */
	call->file = (struct file *)regs_get_kernel_argument(regs, 0);
	call->count = regs_get_kernel_argument(regs, 2);
	call->start_ns = ktime_get_ns();
	return 0;
}

static void khist_fprobe_exit(struct fprobe *fprobe, unsigned long entry_ip,
			      unsigned long ret_ip, struct pt_regs *regs, void *entry_data)
{
	struct khist_probe *probe = container_of(fprobe, struct khist_probe, fprobe);

	probe->exit(entry_data, regs_return_value(regs));
}

/*
 * A new fprobe for every registration: a struct fprobe is not reusable
 * after unregister_fprobe() on 6.12 (reusing one ended in a NULL RCU
 * callback during the second unregistration).
 */
struct khist_probe *khist_probe_register(const char *symbol, khist_probe_exit_fn exit)
{
	struct khist_probe *probe;
	int err;

	probe = kzalloc(sizeof(*probe), GFP_KERNEL);
	if (!probe)
		return ERR_PTR(-ENOMEM);
	probe->exit = exit;
	probe->fprobe.entry_handler = khist_fprobe_entry;
	probe->fprobe.exit_handler = khist_fprobe_exit;
	probe->fprobe.entry_data_size = sizeof(struct khist_probe_call);
	/*
	 * Each call in flight holds a return node until it returns, and reads
	 * can block (pipes, sockets): leave room for many; running out is
	 * counted as missed events, never an error.
	 */
	probe->fprobe.nr_maxactive = max(256U, num_possible_cpus() * 32);
	err = register_fprobe(&probe->fprobe, symbol, NULL);
	if (err) {
		kfree(probe);
		return ERR_PTR(err);
	}
	return probe;
}

void khist_probe_unregister(struct khist_probe *probe)
{
	unregister_fprobe(&probe->fprobe);
}

u64 khist_probe_missed(const struct khist_probe *probe)
{
	return READ_ONCE(probe->fprobe.nmissed);
}

void khist_probe_set_enabled(struct khist_probe *probe, bool enabled)
{
	if (enabled)
		enable_fprobe(&probe->fprobe);
	else
		disable_fprobe(&probe->fprobe);
}

void khist_probe_free(struct khist_probe *probe)
{
	/* Handlers that started before the unregistration have returned. */
	synchronize_rcu();
	kfree(probe);
}
#endif /* KHIST_HAVE_FPROBE */
