// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ksyms.h"

static int by_address(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	return x->address < y->address ? -1 : x->address > y->address;
}

int ksyms_load(struct ksyms *ksyms, const char *path, struct error_context *error)
{
	size_t capacity = 0, names_size = 0, names_used = 0;
	char line[1024], type, name[600], module[128];
	unsigned long long address;
	bool any_address = false;
	FILE *file;
	int err = 0;

	memset(ksyms, 0, sizeof(*ksyms));
	file = fopen(path, "re");
	if (!file)
		return error_fail(error, -errno, "cannot open %s: %s", path, strerror(errno));
	/* Names are kept as offsets while the buffer grows, pointers once it is done. */
	while (fgets(line, sizeof(line), file)) {
		int fields;
		size_t need;

		module[0] = '\0';
		fields = sscanf(line, "%llx %c %599s [%127[^]]]", &address, &type, name, module);
		if (fields < 3)
			continue;
		any_address |= address != 0;
		if (type != 't' && type != 'T' && type != 'w' && type != 'W')
			continue;
		if (ksyms->count == capacity) {
			struct ksym *grown;

			capacity = capacity ? capacity * 2 : 65536;
			grown = realloc(ksyms->symbols, capacity * sizeof(*grown));
			if (!grown)
				goto no_memory;
			ksyms->symbols = grown;
		}
		need = strlen(name) + 1 + (module[0] ? strlen(module) + 1 : 0);
		if (names_used + need > names_size) {
			char *grown;

			names_size = names_size ? names_size * 2 : 1 << 20;
			if (names_used + need > names_size)
				names_size = names_used + need;
			grown = realloc(ksyms->names, names_size);
			if (!grown)
				goto no_memory;
			ksyms->names = grown;
		}
		ksyms->symbols[ksyms->count].address = address;
		ksyms->symbols[ksyms->count].name = (const char *)(uintptr_t)names_used;
		strcpy(ksyms->names + names_used, name);
		names_used += strlen(name) + 1;
		ksyms->symbols[ksyms->count].module = NULL;
		if (module[0]) {
			/* Never offset 0: the name comes first. */
			ksyms->symbols[ksyms->count].module = (const char *)(uintptr_t)names_used;
			strcpy(ksyms->names + names_used, module);
			names_used += strlen(module) + 1;
		}
		ksyms->count++;
	}
	fclose(file);
	if (!any_address) {
		ksyms_free(ksyms);
		return error_fail(error, -EPERM, "%s shows no addresses (kernel.kptr_restrict; "
				  "needs root or CAP_SYSLOG)", path);
	}
	for (unsigned int i = 0; i < ksyms->count; i++) {
		ksyms->symbols[i].name = ksyms->names + (uintptr_t)ksyms->symbols[i].name;
		if (ksyms->symbols[i].module)
			ksyms->symbols[i].module = ksyms->names + (uintptr_t)ksyms->symbols[i].module;
	}
	qsort(ksyms->symbols, ksyms->count, sizeof(*ksyms->symbols), by_address);
	return 0;
no_memory:
	err = error_fail(error, -ENOMEM, "out of memory reading %s", path);
	fclose(file);
	ksyms_free(ksyms);
	return err;
}

const struct ksym *ksyms_find(const struct ksyms *ksyms, __u64 address)
{
	unsigned int low = 0, high = ksyms->count;

	/* The first symbol above @address, then the one before it. */
	while (low < high) {
		unsigned int middle = low + (high - low) / 2;

		if (ksyms->symbols[middle].address <= address)
			low = middle + 1;
		else
			high = middle;
	}
	return low ? &ksyms->symbols[low - 1] : NULL;
}

const char *ksyms_name(const struct ksyms *ksyms, __u64 address, char *buf, size_t size)
{
	const struct ksym *symbol = ksyms_find(ksyms, address);

	if (!symbol)
		snprintf(buf, size, "0x%llx", (unsigned long long)address);
	else if (symbol->module)
		snprintf(buf, size, "%s [%s]", symbol->name, symbol->module);
	else
		snprintf(buf, size, "%s", symbol->name);
	return buf;
}

void ksyms_free(struct ksyms *ksyms)
{
	free(ksyms->symbols);
	free(ksyms->names);
	memset(ksyms, 0, sizeof(*ksyms));
}
