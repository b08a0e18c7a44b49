// SPDX-License-Identifier: GPL-2.0
/*
 * Glue between vfs_read()/vfs_write() and the khist trace events: an fprobe
 * on each function records the entry time in its per-call entry data and
 * fires the event on return with the measured latency. A probe exists only
 * while its event has at least one consumer, so an unused glue costs nothing.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fprobe.h>
#include <linux/fs.h>
#include <linux/minmax.h>
#include <linux/module.h>
#include <linux/cpumask.h>
#include <linux/mutex.h>
#include <linux/ptrace.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>

#include "khist.h"

#define CREATE_TRACE_POINTS
#include "khist-events.h"

struct khist_glue_call {
	struct file *file;
	size_t count;
	u64 start_ns;
};

struct khist_glue {
	const char *symbol;
	fprobe_exit_cb exit_handler;
	/*
	 * A new fprobe for every registration: a struct fprobe is not reusable
	 * after unregister_fprobe() on 6.12 (reusing one ended in a NULL RCU
	 * callback during the second unregistration).
	 */
	struct fprobe *probe;		/* under khist_glue_lock */
	struct khist_glue_state state;	/* under khist_glue_lock */
	u64 missed_before;		/* under khist_glue_lock */
};

/* Serialises registration (called under the tracepoint core's mutex) with SET_CONFIG. */
static DEFINE_MUTEX(khist_glue_lock);

static int khist_glue_entry(struct fprobe *probe, unsigned long entry_ip,
			    unsigned long ret_ip, struct pt_regs *regs,
			    void *entry_data)
{
	struct khist_glue_call *call = entry_data;

	/* vfs_read(file, buf, count, pos) and vfs_write() share the layout. */
	call->file = (struct file *)regs_get_kernel_argument(regs, 0);
	call->count = regs_get_kernel_argument(regs, 2);
	call->start_ns = ktime_get_ns();
	return 0;
}

static void khist_glue_read_exit(struct fprobe *probe, unsigned long entry_ip,
				 unsigned long ret_ip, struct pt_regs *regs,
				 void *entry_data)
{
	struct khist_glue_call *call = entry_data;

	khist_stat_inc(KHIST_STAT_GLUE_READ_EVENTS);
	trace_khist_vfs_read(call->file, call->count, regs_return_value(regs),
			     ktime_get_ns() - call->start_ns);
}

static void khist_glue_write_exit(struct fprobe *probe, unsigned long entry_ip,
				  unsigned long ret_ip, struct pt_regs *regs,
				  void *entry_data)
{
	struct khist_glue_call *call = entry_data;

	khist_stat_inc(KHIST_STAT_GLUE_WRITE_EVENTS);
	trace_khist_vfs_write(call->file, call->count, regs_return_value(regs),
			      ktime_get_ns() - call->start_ns);
}

static struct khist_glue khist_glues[KHIST_GLUE_COUNT] = {
	[KHIST_GLUE_READ] = {
		.symbol = "vfs_read",
		.exit_handler = khist_glue_read_exit,
		.state = { .enabled = true },
	},
	[KHIST_GLUE_WRITE] = {
		.symbol = "vfs_write",
		.exit_handler = khist_glue_write_exit,
		.state = { .enabled = true },
	},
};

/*
 * Called when an event gets its first consumer. BPF programs and perf hold
 * a reference on the module, but an event enabled through tracefs, or by a
 * trigger, does not: the registered probe holds one instead, so rmmod fails
 * with EAGAIN ("in use") until the last consumer has gone, and a consumer
 * arriving while the module is going away is refused.
 */
static int khist_glue_register(struct khist_glue *glue)
{
	struct fprobe *probe;
	int err;

	if (!try_module_get(THIS_MODULE))
		return -ENODEV;
	mutex_lock(&khist_glue_lock);
	if (!glue->state.enabled) {
		err = -EACCES;
		goto out;
	}
	probe = kzalloc(sizeof(*probe), GFP_KERNEL);
	if (!probe) {
		err = -ENOMEM;
		goto out;
	}
	probe->entry_handler = khist_glue_entry;
	probe->exit_handler = glue->exit_handler;
	probe->entry_data_size = sizeof(struct khist_glue_call);
	/*
	 * Each call in flight holds a return node until it returns, and reads
	 * can block (pipes, sockets): leave room for many; running out is
	 * counted as missed events, never an error.
	 */
	probe->nr_maxactive = max(256U, num_possible_cpus() * 32);
	err = register_fprobe(probe, glue->symbol, NULL);
	if (err) {
		pr_err("cannot probe %s: %d\n", glue->symbol, err);
		kfree(probe);
		goto out;
	}
	glue->probe = probe;
	glue->state.active = true;
	pr_debug("probe on %s registered\n", glue->symbol);
out:
	mutex_unlock(&khist_glue_lock);
	if (err)
		module_put(THIS_MODULE);
	return err;
}

static void khist_glue_unregister(struct khist_glue *glue)
{
	struct fprobe *probe;

	mutex_lock(&khist_glue_lock);
	probe = glue->probe;
	if (probe) {
		unregister_fprobe(probe);
		glue->missed_before += READ_ONCE(probe->nmissed);
		glue->probe = NULL;
		glue->state.active = false;
		pr_debug("probe on %s unregistered\n", glue->symbol);
	}
	mutex_unlock(&khist_glue_lock);
	if (probe) {
		/* Handlers that started before the unregistration have returned. */
		synchronize_rcu();
		kfree(probe);
		module_put(THIS_MODULE);
	}
}

int khist_glue_read_reg(void)
{
	return khist_glue_register(&khist_glues[KHIST_GLUE_READ]);
}

void khist_glue_read_unreg(void)
{
	khist_glue_unregister(&khist_glues[KHIST_GLUE_READ]);
}

int khist_glue_write_reg(void)
{
	return khist_glue_register(&khist_glues[KHIST_GLUE_WRITE]);
}

void khist_glue_write_unreg(void)
{
	khist_glue_unregister(&khist_glues[KHIST_GLUE_WRITE]);
}

void khist_glue_get_state(enum khist_glue_id id, struct khist_glue_state *state)
{
	mutex_lock(&khist_glue_lock);
	*state = khist_glues[id].state;
	mutex_unlock(&khist_glue_lock);
}

/*
 * Disabling makes new attachments fail with -EACCES and silences a probe
 * that is registered now; consumers already attached stay attached.
 */
void khist_glue_set_enabled(enum khist_glue_id id, bool enabled)
{
	struct khist_glue *glue = &khist_glues[id];

	mutex_lock(&khist_glue_lock);
	if (glue->state.enabled != enabled) {
		glue->state.enabled = enabled;
		if (glue->probe) {
			if (enabled)
				enable_fprobe(glue->probe);
			else
				disable_fprobe(glue->probe);
		}
	}
	mutex_unlock(&khist_glue_lock);
}

u64 khist_glue_missed(enum khist_glue_id id)
{
	struct khist_glue *glue = &khist_glues[id];
	u64 missed;

	mutex_lock(&khist_glue_lock);
	missed = glue->missed_before;
	if (glue->probe)
		missed += READ_ONCE(glue->probe->nmissed);
	mutex_unlock(&khist_glue_lock);
	return missed;
}

/* A registered probe holds a module reference, so none is left here: a safety net. */
void khist_glue_exit(void)
{
	for (int id = 0; id < KHIST_GLUE_COUNT; id++) {
		if (WARN_ON_ONCE(khist_glues[id].state.active))
			khist_glue_unregister(&khist_glues[id]);
	}
}
