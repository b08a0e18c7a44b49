// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "ksyms.h"
#include "reader.h"
#include "stacks.h"

static int by_time(const void *a, const void *b)
{
	const struct stack_entry *x = a, *y = b;

	if (x->time_ns != y->time_ns)
		return x->time_ns < y->time_ns ? 1 : -1;
	return strcmp(x->comm, y->comm);
}

/* A frame of the BPF program or of the tracepoint's call into it. */
static bool tracing_frame(const char *name)
{
	size_t len = strlen(name);

	return !strncmp(name, "bpf_trace_run", 13) || !strncmp(name, "__traceiter_", 12) ||
	       !strncmp(name, "__bpf_trace_", 12) || !strncmp(name, "bpf_prog_", 9) ||
	       (len > 6 && !strcmp(name + len - 6, " [bpf]"));
}

/* Frames of stack @id, named; 0 frames when the id is gone from the map. */
static int name_frames(struct stack_entry *entry, int traces_fd, __u32 id,
		       const struct ksyms *ksyms)
{
	__u64 ips[KHIST_STACK_DEPTH] = {};
	char name[768];

	if (bpf_map_lookup_elem(traces_fd, &id, ips))
		return 0;
	entry->frames = calloc(KHIST_STACK_DEPTH, sizeof(*entry->frames));
	if (!entry->frames)
		return -ENOMEM;
	for (unsigned int f = 0; f < KHIST_STACK_DEPTH && ips[f]; f++) {
		ksyms_name(ksyms, ips[f], name, sizeof(name));
		/* The frames above the tracepoint are the probe's own, not the task's. */
		if (!entry->depth && tracing_frame(name))
			continue;
		entry->frames[entry->depth] = strdup(name);
		if (!entry->frames[entry->depth])
			return -ENOMEM;
		entry->depth++;
	}
	return 0;
}

int stacks_take(struct stack_set *set, const char *pin_root, const struct collector *collector,
		const struct stack_desc *desc, const char *kallsyms, struct error_context *error)
{
	struct reader_rows rows = {}, drops = {};
	struct ksyms ksyms = {};
	int traces_fd = -1, err;

	memset(set, 0, sizeof(*set));
	set->collector = collector;
	set->desc = desc;
	err = reader_rows(pin_root, collector->name, desc->map, &rows, error);
	if (err)
		return err;
	err = reader_rows(pin_root, collector->name, desc->drops_map, &drops, error);
	if (err)
		goto out;
	traces_fd = reader_open(pin_root, collector->name, desc->traces_map, error);
	if (traces_fd < 0) {
		err = traces_fd;
		goto out;
	}
	err = ksyms_load(&ksyms, kallsyms ? kallsyms : "/proc/kallsyms", error);
	if (err)
		goto out;
	for (unsigned int d = 0; d < KHIST_STACK_DROPS && d < drops.count; d++)
		set->drops[d] = reader_value_u64(&drops, d, 0);
	if (rows.key_size != sizeof(struct khist_stack_key) ||
	    rows.value_size != sizeof(struct khist_stack_value)) {
		err = error_fail(error, -EPROTO, "%s: unexpected layout of %s", collector->name,
				 desc->map);
		goto out;
	}
	set->entries = calloc(rows.count + 1, sizeof(*set->entries));
	if (!set->entries) {
		err = error_fail(error, -ENOMEM, "out of memory");
		goto out;
	}
	for (unsigned int i = 0; i < rows.count; i++) {
		const struct khist_stack_key *key =
			(const void *)((const char *)rows.keys + (size_t)i * rows.key_size);
		const struct khist_stack_value *value =
			(const void *)((const char *)rows.values + (size_t)i * rows.value_size);
		struct stack_entry *entry = &set->entries[set->count];

		memcpy(entry->comm, key->comm, sizeof(entry->comm));
		entry->comm[sizeof(entry->comm) - 1] = '\0';
		/*
		 * Any task names itself any bytes (PR_SET_NAME), cut at 15 maybe
		 * inside a UTF-8 character: printable ASCII only, so that the
		 * SVG and the JSON stay valid.
		 */
		for (char *c = entry->comm; *c; c++)
			if (*c < 0x20 || *c > 0x7e)
				*c = '?';
		entry->time_ns = value->time_ns;
		entry->count = value->count;
		set->count++;
		err = name_frames(entry, traces_fd, (__u32)key->stack_id, &ksyms);
		if (err) {
			err = error_fail(error, err, "out of memory naming stacks");
			goto out;
		}
		set->time_ns += entry->time_ns;
	}
	qsort(set->entries, set->count, sizeof(*set->entries), by_time);
	err = 0;
out:
	if (err)
		stacks_free(set);
	if (traces_fd >= 0)
		close(traces_fd);
	ksyms_free(&ksyms);
	reader_rows_free(&rows);
	reader_rows_free(&drops);
	return err;
}

void stacks_free(struct stack_set *set)
{
	for (unsigned int i = 0; set->entries && i < set->count; i++) {
		for (unsigned int f = 0; f < set->entries[i].depth; f++)
			free(set->entries[i].frames[f]);
		free(set->entries[i].frames);
	}
	free(set->entries);
	memset(set, 0, sizeof(*set));
}

void stacks_print_top(FILE *out, const struct stack_set *set, unsigned int rows)
{
	for (unsigned int i = 0; i < set->count && i < rows; i++) {
		const struct stack_entry *entry = &set->entries[i];

		for (unsigned int f = 0; f < entry->depth; f++)
			fprintf(out, "    %s\n", entry->frames[f]);
		if (!entry->depth)
			fprintf(out, "    [stack gone from the stack map]\n");
		fprintf(out, "    -                %s\n", entry->comm);
		fprintf(out, "        %llu us in %llu switches\n\n",
			(unsigned long long)(entry->time_ns / 1000), (unsigned long long)entry->count);
	}
	if (set->drops[KHIST_STACK_DROP_NO_STACK] || set->drops[KHIST_STACK_DROP_TABLE_FULL])
		fprintf(out, "dropped: %llu switches without a stack (the stack map was full or "
			"the stack's slot taken), %llu without room in the table\n",
			(unsigned long long)set->drops[KHIST_STACK_DROP_NO_STACK],
			(unsigned long long)set->drops[KHIST_STACK_DROP_TABLE_FULL]);
}

void stacks_print_folded(FILE *out, const struct stack_set *set)
{
	for (unsigned int i = 0; i < set->count; i++) {
		const struct stack_entry *entry = &set->entries[i];

		if (entry->time_ns < 1000)
			continue;
		/* The comm's spaces and semicolons would split the line's fields. */
		for (const char *c = entry->comm; *c; c++)
			fputc(*c == ';' || *c == ' ' ? '_' : *c, out);
		for (unsigned int f = entry->depth; f-- > 0;)
			fprintf(out, ";%s", entry->frames[f]);
		fprintf(out, " %llu\n", (unsigned long long)(entry->time_ns / 1000));
	}
}

json_object *stacks_json(const struct stack_set *set, unsigned int rows)
{
	static const char *const drop_names[KHIST_STACK_DROPS] = KHIST_STACK_DROP_NAMES;
	json_object *root = json_object_new_object(), *list = json_object_new_array();
	json_object *drops = json_object_new_object();

	json_object_object_add(root, "name", json_object_new_string(set->desc->name));
	json_object_object_add(root, "collector", json_object_new_string(set->collector->name));
	json_object_object_add(root, "time_seconds", json_object_new_double(set->time_ns / 1e9));
	for (unsigned int d = 0; d < KHIST_STACK_DROPS; d++)
		json_object_object_add(drops, drop_names[d], json_object_new_uint64(set->drops[d]));
	json_object_object_add(root, "dropped", drops);
	for (unsigned int i = 0; i < set->count && i < rows; i++) {
		const struct stack_entry *entry = &set->entries[i];
		json_object *one = json_object_new_object(), *frames = json_object_new_array();

		json_object_object_add(one, "comm", json_object_new_string(entry->comm));
		json_object_object_add(one, "time_seconds", json_object_new_double(entry->time_ns / 1e9));
		json_object_object_add(one, "count", json_object_new_uint64(entry->count));
		for (unsigned int f = 0; f < entry->depth; f++)
			json_object_array_add(frames, json_object_new_string(entry->frames[f]));
		json_object_object_add(one, "frames", frames);
		json_object_array_add(list, one);
	}
	json_object_object_add(root, "stacks", list);
	return root;
}
