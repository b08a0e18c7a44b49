// SPDX-License-Identifier: GPL-2.0
/* khist.ko loads, reports its version and modinfo fields, and unloads. */
#include <gelf.h>
#include <libelf.h>
#include <string.h>
#include <sys/klog.h>

#include <uapi/khist.h>

#include <linux/types.h>

#include "../agent/bpffs.h"
#include "kmod_client.h"
#include "ktap.h"
#include "kmod_util.h"
#include "progs/kmod_glue_test.h"
#include "kmod_glue_test.skel.h"

#define CYCLES 20
#define CYCLE_READS 10
#define TRACING "/sys/kernel/tracing"

/* Looks @field up in the .modinfo section of the module file. */
static bool modinfo_field(const char *path, const char *field, char *value, size_t size)
{
	size_t field_len = strlen(field);
	bool found = false;
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	Elf *elf;
	int fd;

	elf_version(EV_CURRENT);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_getshdrstrndx(elf, &shstrndx))
		goto out;
	while (!found && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;
		Elf_Data *data;
		const char *name;

		if (!gelf_getshdr(scn, &shdr))
			break;
		name = elf_strptr(elf, shstrndx, shdr.sh_name);
		if (!name || strcmp(name, ".modinfo"))
			continue;
		data = elf_getdata(scn, NULL);
		for (size_t off = 0; data && off < data->d_size;) {
			const char *entry = (const char *)data->d_buf + off;
			size_t len = strnlen(entry, data->d_size - off);

			if (len > field_len && !strncmp(entry, field, field_len) &&
			    entry[field_len] == '=') {
				snprintf(value, size, "%s", entry + field_len + 1);
				found = true;
				break;
			}
			off += len + 1;
		}
	}
out:
	if (elf)
		elf_end(elf);
	close(fd);
	return found;
}

static bool read_sysfs(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	bool ok;

	if (!f)
		return false;
	ok = fgets(buf, size, f) != NULL;
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return ok;
}

static bool kernel_log_contains(const char *text)
{
	int size = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
	bool found = false;
	char *buf;
	int len;

	if (size <= 0)
		return false;
	buf = calloc(1, size + 1);
	if (!buf)
		return false;
	len = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, size);
	if (len > 0) {
		buf[len] = '\0';
		found = strstr(buf, text) != NULL;
	}
	free(buf);
	return found;
}

/* Whether ftrace has a callback on vfs_read or vfs_write (the glue's fprobes). */
static bool vfs_functions_traced(void)
{
	FILE *f = fopen(TRACING "/enabled_functions", "r");
	bool traced = false;
	char line[512];

	if (!f)
		ktap_exit_fail("opening enabled_functions: %s", strerror(errno));
	while (fgets(line, sizeof(line), f))
		traced |= !strncmp(line, "vfs_read ", 9) || !strncmp(line, "vfs_write ", 10);
	fclose(f);
	return traced;
}

/*
 * What the module puts in the kernel, seen while it is in use, and gone
 * after rmmod: the probe under ftrace, the trace events, the genl family.
 */
static void test_nothing_left_after_rmmod(void)
{
	struct kmod_glue_test_bpf *skel = NULL;
	struct kmod_client *client = NULL;
	bool ok = true;
	int err;

	err = kmod_load(NULL);
	EXPECT(ok, err == 0, "insmod: %s", strerror(-err));
	EXPECT(ok, !vfs_functions_traced(), "vfs_read/vfs_write traced before any consumer");
	skel = kmod_glue_test_bpf__open_and_load();
	EXPECT(ok, skel && (skel->links.on_read = bpf_program__attach(skel->progs.on_read)),
	       "attaching: %s", strerror(errno));
	EXPECT(ok, vfs_functions_traced(), "no ftrace callback on vfs_read while attached");
	EXPECT(ok, access(TRACING "/events/khist/khist_vfs_read", F_OK) == 0, "no trace event");
	EXPECT(ok, kmod_client_open(&client) == 0, "genl family not found while loaded");
	kmod_client_close(client);
	kmod_glue_test_bpf__destroy(skel);
	EXPECT(ok, !vfs_functions_traced(), "vfs_read still traced after the last detach");
	err = kmod_unload();
	EXPECT(ok, err == 0 && !kmod_loaded(), "rmmod: %s", strerror(-err));
	EXPECT(ok, access(TRACING "/events/khist", F_OK) && errno == ENOENT,
	       "events/khist still in tracefs after rmmod");
	client = NULL;
	err = kmod_client_open(&client);
	EXPECT(ok, err == -ENOENT, "genl family after rmmod: %d", err);
	kmod_client_close(client);
	ktap_test_result(ok, "nothing_left_after_rmmod");
}

/* Loads, uses the read glue from BPF, detaches and unloads, CYCLES times. */
static bool cycles_with_glue_in_use(void)
{
	for (int cycle = 1; cycle <= CYCLES; cycle++) {
		struct kmod_glue_test_bpf *skel;
		unsigned long long events;
		char buf[8];
		int err, fd;

		err = kmod_load(NULL);
		if (err) {
			ktap_print_msg("cycle %d: insmod: %s", cycle, strerror(-err));
			return false;
		}
		skel = kmod_glue_test_bpf__open();
		if (!skel)
			return false;
		skel->rodata->target_tgid = getpid();
		if (kmod_glue_test_bpf__load(skel) ||
		    !(skel->links.on_read = bpf_program__attach(skel->progs.on_read))) {
			ktap_print_msg("cycle %d: loading or attaching: %s", cycle, strerror(errno));
			kmod_glue_test_bpf__destroy(skel);
			return false;
		}
		fd = open("/proc/version", O_RDONLY);
		for (int i = 0; i < CYCLE_READS; i++)
			if (pread(fd, buf, sizeof(buf), 0) != sizeof(buf))
				break;
		close(fd);
		events = skel->bss->read_seen.events;
		kmod_glue_test_bpf__destroy(skel);
		err = kmod_unload();
		if (events != CYCLE_READS || err) {
			ktap_print_msg("cycle %d: %llu events for %d reads, rmmod: %s", cycle, events,
				       CYCLE_READS, strerror(-err));
			return false;
		}
	}
	return true;
}

int main(void)
{
	char value[512], expected[128];
	const char *why;
	bool ok;
	int err;

	ktap_print_header();
	why = kmod_unavailable_reason();
	if (why)
		ktap_exit_skip("%s", why);
	ktap_set_plan(9);
	if (tracefs_ensure_mounted())
		ktap_exit_fail("cannot mount tracefs");

	ok = true;
	EXPECT(ok, modinfo_field(kmod_path(), "license", value, sizeof(value)) &&
		   !strcmp(value, "GPL"), "license '%s'", value);
	EXPECT(ok, modinfo_field(kmod_path(), "version", value, sizeof(value)) &&
		   !strcmp(value, KHIST_VERSION_STRING), "version '%s'", value);
	EXPECT(ok, modinfo_field(kmod_path(), "description", value, sizeof(value)) &&
		   strlen(value) > 10, "description '%s'", value);
	EXPECT(ok, modinfo_field(kmod_path(), "parmtype", value, sizeof(value)) &&
		   !strcmp(value, "publish_interval_ms:uint"), "parmtype '%s'", value);
	/* The parameter's description states the range the module enforces. */
	snprintf(expected, sizeof(expected), "max %u", KHIST_PUBLISH_INTERVAL_MAX_MS);
	EXPECT(ok, modinfo_field(kmod_path(), "parm", value, sizeof(value)) &&
		   !strncmp(value, "publish_interval_ms:", 20) && strstr(value, expected),
	       "parm '%s' (want its description with '%s')", value, expected);
	ktap_test_result(ok, "modinfo_fields");

	if (kmod_loaded())
		kmod_unload();
	err = kmod_load(NULL);
	ok = err == 0 && kmod_loaded();
	if (err)
		ktap_print_msg("finit_module(%s): %s", kmod_path(), strerror(-err));
	ktap_test_result(ok, "insmod");
	if (!ok)
		ktap_finished();

	ok = true;
	EXPECT(ok, read_sysfs("/sys/module/khist/version", value, sizeof(value)) &&
		   !strcmp(value, KHIST_VERSION_STRING), "sysfs version '%s'", value);
	snprintf(expected, sizeof(expected), "khist: version %s loaded", KHIST_VERSION_STRING);
	EXPECT(ok, kernel_log_contains(expected), "'%s' in the kernel log", expected);
	EXPECT(ok, read_sysfs("/sys/module/khist/parameters/publish_interval_ms", value,
			      sizeof(value)) && !strcmp(value, "1000"),
	       "publish_interval_ms '%s', default 1000", value);
	ktap_print_msg("loaded %s, version %s", kmod_path(), value);
	ktap_test_result(ok, "loaded_and_logged_version");

	err = kmod_load(NULL);
	ktap_test_result(err == -EEXIST, "second_insmod_is_EEXIST");

	err = kmod_unload();
	ok = err == 0 && !kmod_loaded();
	if (err)
		ktap_print_msg("delete_module: %s", strerror(-err));
	ktap_test_result(ok, "rmmod");

	ok = true;
	err = kmod_unload_retry(1);
	EXPECT(ok, err == -ENOENT, "second rmmod: %s", strerror(-err));
	ktap_test_result(ok, "second_rmmod_is_ENOENT");

	ok = true;
	err = kmod_load("publish_interval_ms=3600001");
	EXPECT(ok, err == -EINVAL && !kmod_loaded(), "out-of-range parameter: %s", strerror(-err));
	EXPECT(ok, kernel_log_contains("khist: publish_interval_ms=3600001 is out of range"),
	       "no explanation in the kernel log");
	ktap_test_result(ok, "bad_parameter_refused");

	ktap_test_result(cycles_with_glue_in_use(), "%d_cycles_with_glue_in_use", CYCLES);
	test_nothing_left_after_rmmod();
	ktap_finished();
}
