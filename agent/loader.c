// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <khist_hist.h>

#include "bpffs.h"
#include "buckets.h"
#include "cgroup.h"
#include "loader.h"

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

static char last_error[LOADER_ERROR_SIZE];
static char libbpf_last_line[256];
static bool verbose;

static int fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return err;
}

/* Appends as much of @text as fits. */
static void append(char *buf, size_t size, const char *text)
{
	size_t used = strlen(buf), len = strlen(text);

	if (used + 1 >= size)
		return;
	if (len > size - used - 1)
		len = size - used - 1;
	memcpy(buf + used, text, len);
	buf[used + len] = '\0';
}

const char *loader_error(void)
{
	return last_error;
}

/* libbpf explains failures on stderr; keep its last line for our own message. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	va_list copy;

	va_copy(copy, ap);
	if (level != LIBBPF_DEBUG) {
		vsnprintf(libbpf_last_line, sizeof(libbpf_last_line), fmt, copy);
		libbpf_last_line[strcspn(libbpf_last_line, "\n")] = '\0';
	}
	va_end(copy);
	if (verbose)
		return vfprintf(stderr, fmt, ap);
	return 0;
}

void loader_set_verbose(bool on)
{
	verbose = on;
}

void loader_default_options(struct loader_options *options)
{
	memset(options, 0, sizeof(*options));
	options->pin_root = LOADER_DEFAULT_PIN_ROOT;
	options->layout = -1;
	options->precision = -1;
	options->by_cgroup = -1;
	options->cgroup_rows = KHIST_CGROUP_ROWS;
	options->mode = -1;
	options->process_table_size = LOADER_DEFAULT_PROCESSES;
	options->file_table_size = LOADER_DEFAULT_FILES;
	options->track_files = true;
	options->pin_mode = 0600;
}

int loader_prepare_bpffs(const char *pin_root)
{
	int err;

	if (strncmp(pin_root, "/sys/fs/bpf", 11) || (pin_root[11] && pin_root[11] != '/'))
		return 0;
	err = bpffs_ensure_mounted("/sys/fs/bpf");
	if (err)
		return fail(err, "cannot mount bpffs on /sys/fs/bpf: %s%s", strerror(-err),
			    err == -EPERM ? " (needs root or CAP_SYS_ADMIN)" : "");
	return 0;
}

static void collector_dir(char *buf, size_t size, const char *root, const char *collector)
{
	path_format(buf, size, "%s/%s", root, collector);
}

static int set_rodata(struct bpf_object *obj, const char *name, const void *value, size_t size)
{
	struct bpf_map *rodata = bpf_object__find_map_by_name(obj, ".rodata");
	struct btf *btf = bpf_object__btf(obj);
	const struct btf_var_secinfo *var;
	const struct btf_type *sec;
	size_t data_size;
	char *data;
	int id;

	if (!rodata || !btf)
		return -ENOENT;
	data = bpf_map__initial_value(rodata, &data_size);
	id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
	if (!data || id < 0)
		return -ENOENT;
	sec = btf__type_by_id(btf, id);
	var = btf_var_secinfos(sec);
	for (int i = 0; i < btf_vlen(sec); i++, var++) {
		const struct btf_type *type = btf__type_by_id(btf, var->type);

		if (strcmp(btf__name_by_offset(btf, type->name_off), name))
			continue;
		if (var->size != size || var->offset + size > data_size)
			return -EINVAL;
		memcpy(data + var->offset, value, size);
		return 0;
	}
	return -ENOENT;
}

/*
 * The cgroup v2 id (its inode number) and depth of a cgroup directory: its
 * level below the cgroup2 mount (found in /proc/self/mounts; hosts mount it
 * at /sys/fs/cgroup or, with the v1 hierarchies, at /sys/fs/cgroup/unified).
 */
static int cgroup_identity(const char *path, __u64 *id, __u32 *level)
{
	char resolved[PATH_MAX], line[PATH_MAX + 256], mount_point[PATH_MAX] = "";
	const char *rest;
	struct stat st;
	FILE *mounts;

	if (!realpath(path, resolved) || stat(resolved, &st))
		return fail(-errno, "cgroup %s: %s", path, strerror(errno));
	mounts = fopen("/proc/self/mounts", "r");
	while (mounts && fgets(line, sizeof(line), mounts)) {
		char dir[PATH_MAX], type[64];
		size_t len;

		if (sscanf(line, "%*s %4095s %63s", dir, type) != 2 || strcmp(type, "cgroup2"))
			continue;
		len = strlen(dir);
		if (!strncmp(resolved, dir, len) && (resolved[len] == '/' || !resolved[len]) &&
		    len > strlen(mount_point))
			snprintf(mount_point, sizeof(mount_point), "%s", dir);
	}
	if (mounts)
		fclose(mounts);
	if (!S_ISDIR(st.st_mode) || !mount_point[0])
		return fail(-EINVAL, "cgroup %s: not a directory of a cgroup v2 hierarchy", path);
	*id = st.st_ino;
	*level = 0;
	for (rest = resolved + strlen(mount_point); *rest; rest++)
		if (*rest == '/' && rest[1])
			(*level)++;
	return 0;
}

/* The bucket layout a load asks for. */
struct layout_choice {
	enum khist_layout kind;
	unsigned int precision;
	unsigned int by_cgroup, cgroup_rows;	/* 0: not broken down by cgroup */
};

static int size_histogram(struct bpf_object *obj, const struct histogram_desc *hist,
			  const struct layout_choice *layout)
{
	struct bucket_layout buckets;
	struct bpf_map *map = bpf_object__find_map_by_name(obj, hist->map);
	struct bpf_map *shared = hist->shared_map ? bpf_object__find_map_by_name(obj,
										 hist->shared_map) : NULL;
	size_t row;

	if (buckets_layout(&buckets, layout->kind, layout->precision, hist->unit))
		return fail(-EINVAL, "precision %u is out of range for the %s layout",
			    layout->precision, buckets_layout_name(layout->kind, layout->precision));
	row = KHIST_HIST_ROW_WORDS(buckets.count) * sizeof(__u64);
	if (!map || bpf_map__set_max_entries(map, hist->rows_map ? hist->rows :
					     hist->by_cgroup && layout->by_cgroup ?
					     layout->cgroup_rows * hist->slots : histogram_slots(hist)) ||
	    bpf_map__set_value_size(map, row))
		return fail(-EINVAL, "cannot size map %s", hist->map);
	if (hist->shared_map && (!shared || bpf_map__set_max_entries(shared, histogram_slots(hist)) ||
				 bpf_map__set_value_size(shared, row)))
		return fail(-EINVAL, "cannot size map %s", hist->shared_map);
	return 0;
}

static int size_maps(const struct collector *collector, struct bpf_object *obj,
		     const struct loader_options *options, const struct layout_choice *layout)
{
	int cpus = libbpf_num_possible_cpus();
	struct bpf_map *map;
	int err;

	for (unsigned int h = 0; h < collector->histogram_count; h++) {
		err = size_histogram(obj, &collector->histograms[h], layout);
		if (err)
			return err;
	}
	if (layout->by_cgroup) {
		struct bpf_map *rows = bpf_object__find_map_by_name(obj, CGROUP_ROW_MAP);
		struct bpf_map *ids = bpf_object__find_map_by_name(obj, CGROUP_IDS_MAP);
		struct bpf_map *info = bpf_object__find_map_by_name(obj, CGROUP_INFO_MAP);

		if (!rows || !ids || !info)
			return fail(-EINVAL, "%s cannot break its series down by cgroup",
				    collector->name);
		if (bpf_map__set_max_entries(rows, layout->cgroup_rows) ||
		    bpf_map__set_max_entries(ids, layout->cgroup_rows) ||
		    bpf_map__set_max_entries(info, layout->cgroup_rows))
			return fail(-EINVAL, "cannot size the cgroup maps");
	}
	for (unsigned int t = 0; t < collector->table_count; t++) {
		const struct table_desc *table = &collector->tables[t];
		unsigned int entries = table->sizing == SIZE_PROCESSES ? options->process_table_size :
				       table->sizing == SIZE_FILES ? options->file_table_size :
				       table->sizing == SIZE_CPUS ? (cpus > 0 ? cpus : 1) :
				       table->per_cgroup && layout->by_cgroup ?
				       layout->cgroup_rows * table->per_cgroup : 0;

		map = bpf_object__find_map_by_name(obj, table->map);
		if (!map || (entries && bpf_map__set_max_entries(map, entries)))
			return fail(-EINVAL, "cannot size map %s", table->map);
	}
	return 0;
}

static int check_pinned_map(struct bpf_map *map, int fd, const char *path)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (bpf_map_get_info_by_fd(fd, &info, &len))
		return fail(-errno, "pinned map %s: %s", path, strerror(errno));
#define MISMATCH(field, want)							\
	if (info.field != (want))						\
		return fail(-EEXIST, "pinned map %s does not match: %s %u, this load needs %u " \
			    "(unload it, or load with --reset to replace it)", path, #field, \
			    (unsigned int)info.field, (unsigned int)(want))
	MISMATCH(type, bpf_map__type(map));
	MISMATCH(key_size, bpf_map__key_size(map));
	MISMATCH(value_size, bpf_map__value_size(map));
	MISMATCH(max_entries, bpf_map__max_entries(map));
	MISMATCH(map_flags, bpf_map__map_flags(map));
#undef MISMATCH
	return 0;
}

/* Reuses every pinned map that matches; a mismatch is an error unless --reset. */
static int reuse_pinned_maps(struct bpf_object *obj, const char *dir, bool reset)
{
	char path[PATH_MAX];
	struct bpf_map *map;
	int err;

	bpf_object__for_each_map(map, obj) {
		int fd;

		if (bpf_map__is_internal(map))
			continue;
		path_format(path, sizeof(path), "%s/%s", dir, bpf_map__name(map));
		fd = bpf_obj_get(path);
		if (fd < 0) {
			if (errno == ENOENT)
				continue;
			return fail(-errno, "opening pinned map %s: %s", path, strerror(errno));
		}
		err = check_pinned_map(map, fd, path);
		if (err && reset) {
			close(fd);
			if (unlink(path))
				return fail(-errno, "removing %s: %s", path, strerror(errno));
			continue;
		}
		if (!err && bpf_map__reuse_fd(map, fd))
			err = fail(-EINVAL, "reusing pinned map %s failed", path);
		close(fd);
		if (err)
			return err;
	}
	return 0;
}

static int own(const char *path, const struct loader_options *options, bool dir)
{
	mode_t mode = options->pin_mode;

	if (dir)
		mode |= (mode & 0444) >> 2;	/* x wherever r */
	if (chmod(path, mode) || chown(path, options->pin_uid, options->pin_gid))
		return fail(-errno, "setting owner/mode of %s: %s", path, strerror(errno));
	return 0;
}

/* A directory this load just created is removed again when it cannot be owned. */
static int make_dir(const char *path, const struct loader_options *options)
{
	bool existed = access(path, F_OK) == 0;
	int err = bpffs_make_dirs(path, 0700);

	if (err)
		return fail(err, "creating %s: %s", path, strerror(-err));
	err = own(path, options, true);
	if (err && !existed)
		rmdir(path);
	return err;
}

static int pin_maps(struct bpf_object *obj, const char *dir, const struct loader_options *options)
{
	char path[PATH_MAX];
	struct bpf_map *map;
	int err;

	bpf_object__for_each_map(map, obj) {
		if (bpf_map__is_internal(map))
			continue;
		path_format(path, sizeof(path), "%s/%s", dir, bpf_map__name(map));
		if (access(path, F_OK)) {
			err = bpf_map__pin(map, path);
			if (err)
				return fail(err, "pinning %s: %s", path, strerror(-err));
		}
		err = own(path, options, false);
		if (err)
			return err;
	}
	return 0;
}

static int write_meta(struct bpf_object *obj, enum khist_attach_mode mode,
		      const struct layout_choice *layout)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, "meta");
	struct khist_meta meta = {};
	struct timespec now;
	__u32 zero = 0;

	if (!map)
		return fail(-ENOENT, "the collector has no meta map");
	/* Kept across reloads: when counting started. */
	bpf_map_lookup_elem(bpf_map__fd(map), &zero, &meta);
	clock_gettime(CLOCK_REALTIME, &now);
	if (!meta.loaded_at_ns)
		meta.loaded_at_ns = now.tv_sec * 1000000000ULL + now.tv_nsec;
	meta.version = KHIST_META_VERSION;
	meta.attach_mode = mode;
	meta.layout = layout->kind;
	meta.precision = layout->precision;
	meta.by_cgroup = layout->by_cgroup;
	meta.cgroup_rows = layout->cgroup_rows;
	if (bpf_map_update_elem(bpf_map__fd(map), &zero, &meta, BPF_ANY))
		return fail(-errno, "writing meta: %s", strerror(errno));
	return 0;
}

static void remove_dir_entries(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *entry;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((entry = readdir(d))) {
		if (entry->d_name[0] == '.')
			continue;
		path_format(path, sizeof(path), "%s/%s", dir, entry->d_name);
		unlink(path);
	}
	closedir(d);
}

/*
 * Test builds fail a step on purpose (KHIST_FAIL_LOAD_AT=pin_link, exchange
 * or meta) to show that a failed reload leaves the collector as it was.
 */
static bool inject_failure(const char *step)
{
#ifdef KHIST_FAULT_INJECTION
	const char *at = getenv("KHIST_FAIL_LOAD_AT");

	return at && !strcmp(at, step);
#else
	(void)step;
	return false;
#endif
}

static void remove_dir(const char *dir)
{
	remove_dir_entries(dir);
	rmdir(dir);
}

/*
 * The new links are pinned in links_new (bpffs names have no dots), then swapped with links in one
 * rename (RENAME_EXCHANGE): the programs of the old load stay attached
 * until that instant, and none of the new ones counts before it unless the
 * swap is certain. The old links, now in links_new, are then removed (events
 * in between are counted by both, for a moment).
 */
static int pin_links(struct bpf_link **links, struct bpf_program **progs, int count,
		     const char *dir, const struct loader_options *options, char *staging,
		     size_t size)
{
	char links_dir[PATH_MAX], path[PATH_MAX];
	int err;

	path_format(links_dir, sizeof(links_dir), "%s/links", dir);
	path_format(staging, size, "%s/links_new", dir);
	remove_dir(staging);	/* left by a load that died half-way */
	err = make_dir(staging, options);
	if (err)
		return err;
	for (int i = 0; i < count; i++) {
		path_format(path, sizeof(path), "%s/%s", staging, bpf_program__name(progs[i]));
		err = inject_failure("pin_link") ? -EIO : bpf_link__pin(links[i], path);
		if (err) {
			fail(err, "pinning link %s: %s", path, strerror(-err));
			goto undo;
		}
		err = own(path, options, false);
		if (err)
			goto undo;
	}
	if (inject_failure("exchange")) {
		err = fail(-EIO, "swapping %s with %s: %s", staging, links_dir, strerror(EIO));
		goto undo;
	}
	if (access(links_dir, F_OK) == 0) {
		if (renameat2(AT_FDCWD, staging, AT_FDCWD, links_dir, RENAME_EXCHANGE)) {
			err = fail(-errno, "swapping %s with %s: %s", staging, links_dir,
				   strerror(errno));
			goto undo;
		}
	} else if (rename(staging, links_dir)) {
		err = fail(-errno, "renaming %s to %s: %s", staging, links_dir, strerror(errno));
		goto undo;
	}
	return 0;
undo:
	remove_dir(staging);
	return err;
}

/* Undoes a swap: the old links (in @staging) go back in place of the new ones. */
static void unswap_links(const char *dir, const char *staging)
{
	char links_dir[PATH_MAX];

	path_format(links_dir, sizeof(links_dir), "%s/links", dir);
	if (access(staging, F_OK) == 0)
		renameat2(AT_FDCWD, staging, AT_FDCWD, links_dir, RENAME_EXCHANGE);
	remove_dir(staging);
}

/*
 * A reload keeps the layout and precision the collector was loaded with
 * unless told otherwise; a first load takes the exponential layout.
 */
static void choose_layout(const char *dir, const struct loader_options *options,
			  struct layout_choice *layout)
{
	struct khist_meta meta = {};
	bool pinned = false;
	char path[PATH_MAX];
	__u32 zero = 0;
	int fd;

	if (path_format(path, sizeof(path), "%s/meta", dir) && (fd = bpf_obj_get(path)) >= 0) {
		pinned = !bpf_map_lookup_elem(fd, &zero, &meta) &&
			 (meta.version == KHIST_META_VERSION || meta.version == 2) &&
			 meta.layout < KHIST_LAYOUTS;
		close(fd);
	}
	layout->kind = options->layout >= 0 ? (enum khist_layout)options->layout :
		       pinned ? (enum khist_layout)meta.layout : KHIST_LAYOUT_EXPONENTIAL;
	if (options->precision >= 0)
		layout->precision = (unsigned int)options->precision;
	else if (pinned && meta.layout == layout->kind)
		layout->precision = meta.precision;
	else
		layout->precision = layout->kind == KHIST_LAYOUT_EXPONENTIAL ? BUCKETS_DEFAULT_SCHEMA :
				    BUCKETS_DEFAULT_PRECISION;
	layout->by_cgroup = options->by_cgroup >= 0 ? (unsigned int)options->by_cgroup :
			    pinned && meta.version == KHIST_META_VERSION ? meta.by_cgroup : 0;
	layout->cgroup_rows = layout->by_cgroup ? options->cgroup_rows : 0;
	if (options->by_cgroup < 0 && layout->by_cgroup && meta.cgroup_rows)
		layout->cgroup_rows = meta.cgroup_rows;
}

/* The exponential layout's bounds, for the programs to find buckets with. */
static int set_layout(struct bpf_object *obj, const struct layout_choice *layout)
{
	const struct khist_exp_table *ns, *bytes;
	__u32 kind = layout->kind;

	if (set_rodata(obj, "layout", &kind, sizeof(kind)) ||
	    set_rodata(obj, "precision", &layout->precision, sizeof(layout->precision)))
		return -ENOENT;
	if (layout->by_cgroup &&
	    (set_rodata(obj, "by_cgroup", &layout->by_cgroup, sizeof(layout->by_cgroup)) ||
	     set_rodata(obj, "cgroup_rows", &layout->cgroup_rows, sizeof(layout->cgroup_rows))))
		return -ENOENT;
	if (layout->kind != KHIST_LAYOUT_EXPONENTIAL)
		return 0;
	ns = buckets_exp_table(layout->precision, KHIST_UNIT_NS);
	bytes = buckets_exp_table(layout->precision, KHIST_UNIT_BYTES);
	if (!ns || !bytes || set_rodata(obj, "exp_ns", ns, sizeof(*ns)) ||
	    set_rodata(obj, "exp_bytes", bytes, sizeof(*bytes)))
		return -ENOENT;
	return 0;
}

struct attempt {
	struct bpf_object *obj;
	struct bpf_link *links[COLLECTOR_MAX_PROGRAMS];
	struct bpf_program *progs[COLLECTOR_MAX_PROGRAMS];
	int link_count;
};

static void attempt_destroy(struct attempt *attempt)
{
	for (int i = 0; i < attempt->link_count; i++)
		bpf_link__destroy(attempt->links[i]);
	bpf_object__close(attempt->obj);
	memset(attempt, 0, sizeof(*attempt));
}

static bool mode_has(const struct collector_mode *mode, const char *program)
{
	for (int i = 0; i < COLLECTOR_MAX_PROGRAMS && mode->programs[i]; i++)
		if (!strcmp(mode->programs[i], program))
			return true;
	return false;
}

/* The programs of every mode of a collector loaded by cgroup (khist_cgroup.bpf.h). */
static bool cgroup_program(const char *program)
{
	return !strcmp(program, CGROUP_RMDIR_PROG) || !strcmp(program, CGROUP_ATTACH_PROG);
}

/* Opens, configures, loads and attaches the collector in one mode. */
static int try_mode(const struct collector *collector, const struct collector_mode *mode,
		    const struct loader_options *options, const struct layout_choice *layout,
		    const char *dir, struct attempt *attempt)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts, .object_name = collector->name);
	struct bpf_program *prog;
	bool track_files = options->track_files;
	__u64 cgroup_id = 0;
	__u32 cgroup_level = 0;
	const void *elf;
	size_t elf_size;
	int err;

	elf = collector->elf_bytes(&elf_size);
	attempt->obj = bpf_object__open_mem(elf, elf_size, &open_opts);
	if (!attempt->obj)
		return fail(-errno, "opening the %s object: %s", collector->name, strerror(errno));

	if (options->filter_cgroup) {
		err = cgroup_identity(options->filter_cgroup, &cgroup_id, &cgroup_level);
		if (err)
			return err;
	}
	for (unsigned int h = 0; h < collector->histogram_count; h++) {
		const struct histogram_desc *hist = &collector->histograms[h];
		char rows_name[96];

		/* Histograms that share a rows map share its count too. */
		snprintf(rows_name, sizeof(rows_name), "%s_count", hist->rows_map ? hist->rows_map : "");
		if (hist->rows_map && set_rodata(attempt->obj, rows_name, &hist->rows, sizeof(__u32)))
			return fail(-EINVAL, "the %s object lacks %s", collector->name, rows_name);
	}
	if (layout->by_cgroup && !bpf_object__find_map_by_name(attempt->obj, CGROUP_ROW_MAP))
		return fail(-EINVAL, "%s cannot break its series down by cgroup", collector->name);
	if (set_layout(attempt->obj, layout) ||
	    set_rodata(attempt->obj, "filter_tgid", &options->filter_tgid, sizeof(__u32)) ||
	    set_rodata(attempt->obj, "filter_comm", options->filter_comm, KHIST_COMM_LEN) ||
	    set_rodata(attempt->obj, "filter_cgroup_id", &cgroup_id, sizeof(cgroup_id)) ||
	    set_rodata(attempt->obj, "filter_cgroup_level", &cgroup_level, sizeof(cgroup_level)))
		return fail(-EINVAL, "the %s object lacks the common filter variables", collector->name);
	set_rodata(attempt->obj, "track_files", &track_files, sizeof(track_files));

	bpf_object__for_each_program(prog, attempt->obj)
		bpf_program__set_autoload(prog, mode_has(mode, bpf_program__name(prog)) ||
					  (layout->by_cgroup && cgroup_program(bpf_program__name(prog))));
	err = size_maps(collector, attempt->obj, options, layout);
	if (err)
		return err;
	err = reuse_pinned_maps(attempt->obj, dir, options->reset);
	if (err)
		return err;

	libbpf_last_line[0] = '\0';
	err = bpf_object__load(attempt->obj);
	if (err == -ESRCH && mode->mode == KHIST_ATTACH_GLUE)
		return fail(err, "glue mode: khist.ko is not loaded (its events have no BTF)");
	if (err)
		return fail(err, "%s mode: loading failed: %s", collector_mode_name(mode->mode),
			    strerror(-err));
	bpf_object__for_each_program(prog, attempt->obj) {
		struct bpf_link *link;

		if (!bpf_program__autoload(prog))
			continue;
		link = bpf_program__attach(prog);
		if (!link)
			return fail(-errno, "%s mode: attaching %s failed: %s",
				    collector_mode_name(mode->mode), bpf_program__name(prog),
				    strerror(errno));
		attempt->progs[attempt->link_count] = prog;
		attempt->links[attempt->link_count++] = link;
	}
	return 0;
}

int loader_load(const struct collector *collector, const struct loader_options *options,
		enum khist_attach_mode *mode_out)
{
	char dir[PATH_MAX], links[PATH_MAX], staging[PATH_MAX], tried[LOADER_ERROR_SIZE] = "";
	struct layout_choice layout;
	struct bucket_layout check;
	const struct collector_mode *chosen = NULL;
	struct attempt attempt = {};
	int err = -ENOENT;
	bool any_mode = false, first_load;

	libbpf_set_print(libbpf_print);
	if (strlen(options->pin_root) > PATH_MAX / 2)
		return fail(-ENAMETOOLONG, "pin root is longer than %d characters", PATH_MAX / 2);
	if (options->layout >= KHIST_LAYOUTS)
		return fail(-EINVAL, "no bucket layout %d", options->layout);
	if (collector->no_task_filters &&
	    (options->filter_tgid || options->filter_comm[0] || options->filter_cgroup))
		return fail(-EINVAL, "%s counts work no task owns: --pid, --comm and --cgroup do "
			    "not apply to it", collector->name);
	err = loader_prepare_bpffs(options->pin_root);
	if (err)
		return err;
	/* Tracepoint attachment looks the event ids up in tracefs. */
	tracefs_ensure_mounted();
	collector_dir(dir, sizeof(dir), options->pin_root, collector->name);
	choose_layout(dir, options, &layout);
	if (layout.by_cgroup > KHIST_CGROUP_MAX_DEPTH - 1)
		return fail(-EINVAL, "cgroup depth %u is out of range 1..%d", layout.by_cgroup,
			    KHIST_CGROUP_MAX_DEPTH - 1);
	if (layout.by_cgroup && (layout.cgroup_rows < 2 || layout.cgroup_rows > 65536))
		return fail(-EINVAL, "%u cgroup rows: 2..65536 (one is for \"other\")",
			    layout.cgroup_rows);
	if (layout.by_cgroup) {
		char mount[PATH_MAX];

		if (cgroup_mount_point(mount, sizeof(mount)))
			return fail(-ENOENT, "series by cgroup need a cgroup v2 hierarchy: none is mounted "
				    "(mount -t cgroup2 none /sys/fs/cgroup)");
	}
	if (buckets_layout(&check, layout.kind, layout.precision, UNIT_NS))
		return fail(-EINVAL, "precision %u is out of range 0..%d for the %s layout",
			    layout.precision, layout.kind == KHIST_LAYOUT_EXPONENTIAL ?
			    KHIST_EXP_MAX_SCHEMA : KHIST_HIST_MAX_PRECISION,
			    buckets_layout_name(layout.kind, layout.precision));
	/* The pin root too: a group that may read the pins must be able to enter it. */
	if (strcmp(options->pin_root, "/sys/fs/bpf")) {
		err = make_dir(options->pin_root, options);
		if (err)
			return err;
	}
	err = make_dir(dir, options);
	if (err)
		return err;

	for (unsigned int i = 0; i < collector->mode_count; i++) {
		const struct collector_mode *mode = &collector->modes[i];

		if (options->mode >= 0 && (int)mode->mode != options->mode)
			continue;
		any_mode = true;
		err = try_mode(collector, mode, options, &layout, dir, &attempt);
		if (!err) {
			chosen = mode;
			break;
		}
		attempt_destroy(&attempt);
		/* A map mismatch is the same in every mode. */
		if (err == -EEXIST)
			return err;
		append(tried, sizeof(tried), tried[0] ? "; " : "");
		append(tried, sizeof(tried), last_error);
	}
	if (!any_mode || err)
		rmdir(dir);	/* only if this attempt left it empty */
	if (!any_mode)
		return fail(-EINVAL, "%s has no attach mode '%s'", collector->name,
			    collector_mode_name(options->mode));
	if (err)
		return fail(err, "%s: no attach mode worked: %s", collector->name, tried);

	*mode_out = chosen->mode;
	path_format(links, sizeof(links), "%s/links", dir);
	first_load = access(links, F_OK) != 0;
	err = pin_maps(attempt.obj, dir, options);
	if (!err)
		err = pin_links(attempt.links, attempt.progs, attempt.link_count, dir, options,
				staging, sizeof(staging));
	if (!err) {
		err = inject_failure("meta") ? fail(-EIO, "writing meta: %s", strerror(EIO)) :
		      write_meta(attempt.obj, chosen->mode, &layout);
		if (err)
			unswap_links(dir, staging);
		else
			remove_dir(staging);	/* the old links: they detach now */
	}
	attempt_destroy(&attempt);
	/* A first load that failed leaves nothing behind; a reload leaves the old collector. */
	if (err && first_load) {
		remove_dir(links);
		remove_dir(dir);
	}
	return err;
}

bool loader_is_loaded(const char *pin_root, const struct collector *collector)
{
	char path[PATH_MAX];

	path_format(path, sizeof(path), "%s/%s/meta", pin_root, collector->name);
	/* Unreachable (EACCES) is not "not loaded": the caller's next step says why. */
	return access(path, F_OK) == 0 || (errno != ENOENT && errno != ENOTDIR);
}

int loader_unload(const char *pin_root, const struct collector *collector)
{
	char dir[PATH_MAX], links[PATH_MAX];

	collector_dir(dir, sizeof(dir), pin_root, collector->name);
	if (access(dir, F_OK)) {
		if (errno == ENOENT || errno == ENOTDIR)
			return fail(-ENOENT, "%s is not loaded (no %s)", collector->name, dir);
		return fail(-errno, "%s: %s", dir, strerror(errno));
	}
	/* Links first (and those of a load that died half-way): the programs stop before their maps go. */
	path_format(links, sizeof(links), "%s/links_new", dir);
	remove_dir(links);
	path_format(links, sizeof(links), "%s/links", dir);
	remove_dir(links);
	remove_dir_entries(dir);
	if (rmdir(dir))
		return fail(-errno, "removing %s: %s", dir, strerror(errno));
	return 0;
}

int loader_set_tgid_filter(const char *pin_root, const struct collector *collector,
			   __u32 tgid)
{
	struct khist_runtime_config config = { .tgid = tgid };
	char path[PATH_MAX];
	__u32 zero = 0;
	int fd, err = 0;

	path_format(path, sizeof(path), "%s/%s/runtime_config", pin_root, collector->name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return fail(-errno, "%s: %s", path, strerror(errno));
	if (bpf_map_update_elem(fd, &zero, &config, BPF_ANY))
		err = fail(-errno, "%s: %s", path, strerror(errno));
	close(fd);
	return err;
}
