// SPDX-License-Identifier: GPL-2.0
/*
 * Glue between vfs_read()/vfs_write() and the khist trace events: a probe
 * on each function (an fprobe, or a kretprobe where the kernel has none:
 * khist_probe_*.c) records the entry time per call and fires the event on
 * return with the measured latency. A probe exists only while its event
 * has at least one consumer, so an unused glue costs nothing.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/timekeeping.h>

#include "khist.h"

#define CREATE_TRACE_POINTS
#include "khist-events.h"

struct khist_glue {
	const char *symbol;
	khist_probe_exit_fn exit;
	struct khist_probe *probe;	/* under khist_glue_lock */
	struct khist_glue_state state;	/* under khist_glue_lock */
	u64 missed_before;		/* under khist_glue_lock */
};

/* Serialises registration (called under the tracepoint core's mutex) with SET_CONFIG. */
static DEFINE_MUTEX(khist_glue_lock);

static void khist_glue_read_exit(const struct khist_probe_call *call, ssize_t ret)
{
	khist_stat_inc(KHIST_STAT_GLUE_READ_EVENTS);
	trace_khist_vfs_read(call->file, call->count, ret, ktime_get_ns() - call->start_ns);
}

static void khist_glue_write_exit(const struct khist_probe_call *call, ssize_t ret)
{
	khist_stat_inc(KHIST_STAT_GLUE_WRITE_EVENTS);
	trace_khist_vfs_write(call->file, call->count, ret, ktime_get_ns() - call->start_ns);
}

static struct khist_glue khist_glues[KHIST_GLUE_COUNT] = {
	[KHIST_GLUE_READ] = {
		.symbol = "vfs_read",
		.exit = khist_glue_read_exit,
		.state = { .enabled = true },
	},
	[KHIST_GLUE_WRITE] = {
		.symbol = "vfs_write",
		.exit = khist_glue_write_exit,
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
	struct khist_probe *probe;
	int err = 0;

	if (!try_module_get(THIS_MODULE))
		return -ENODEV;
	mutex_lock(&khist_glue_lock);
	if (!glue->state.enabled) {
		err = -EACCES;
		goto out;
	}
	probe = khist_probe_register(glue->symbol, glue->exit);
	if (IS_ERR(probe)) {
		err = PTR_ERR(probe);
		pr_err("cannot probe %s (%s): %d\n", glue->symbol, khist_probe_kind, err);
		goto out;
	}
	glue->probe = probe;
	glue->state.active = true;
	pr_debug("%s on %s registered\n", khist_probe_kind, glue->symbol);
out:
	mutex_unlock(&khist_glue_lock);
	if (err)
		module_put(THIS_MODULE);
	return err;
}

static void khist_glue_unregister(struct khist_glue *glue)
{
	struct khist_probe *probe;

	mutex_lock(&khist_glue_lock);
	probe = glue->probe;
	if (probe) {
		khist_probe_unregister(probe);
		glue->missed_before += khist_probe_missed(probe);
		glue->probe = NULL;
		glue->state.active = false;
		pr_debug("%s on %s unregistered\n", khist_probe_kind, glue->symbol);
	}
	mutex_unlock(&khist_glue_lock);
	if (probe) {
		khist_probe_free(probe);
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
		if (glue->probe)
			khist_probe_set_enabled(glue->probe, enabled);
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
		missed += khist_probe_missed(glue->probe);
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
