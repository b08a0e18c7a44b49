// SPDX-License-Identifier: GPL-2.0
/*
 * stacks collector against tasks that block in known kernel paths: one
 * sleeps in nanosleep (do_nanosleep), one waits in a pipe read (pipe_read)
 * for as long as the test makes it; both attach modes at once. Then what a
 * user sees: the top list, the folded format, JSON, and a flame graph that
 * headless Chromium renders (a screenshot with frames, not a blank page);
 * drops exported as self-metrics; and, where khist.ko loads, its own
 * functions named in stacks that go through it.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <time.h>
#include <zlib.h>

#include "collector_util.h"
#include "kmod_util.h"
#include "stacks.h"

#define SLEEPS		10
#define SLEEP_MS	100
#define PIPE_WAITS	3
#define PIPE_WAIT_MS	300

static void sleeper(void)
{
	struct timespec pause = { 0, SLEEP_MS * 1000000L };

	prctl(PR_SET_NAME, "kh-sleep");
	for (int i = 0; i < SLEEPS; i++)
		nanosleep(&pause, NULL);
	_exit(0);
}

static void pipe_reader(int fd)
{
	char byte;

	prctl(PR_SET_NAME, "kh-pipe");
	for (int i = 0; i < PIPE_WAITS; i++)
		if (read(fd, &byte, 1) != 1)
			_exit(1);
	_exit(0);
}

/* kh-sleep and kh-pipe, run at once; false if either failed. */
static bool run_workload(void)
{
	int fds[2], status, failed = 0;
	pid_t sleeping, reading;

	if (pipe(fds))
		return false;
	sleeping = fork();
	if (sleeping == 0)
		sleeper();
	reading = fork();
	if (reading == 0) {
		close(fds[1]);
		pipe_reader(fds[0]);
	}
	close(fds[0]);
	for (int i = 0; i < PIPE_WAITS; i++) {
		usleep(PIPE_WAIT_MS * 1000);
		if (write(fds[1], "x", 1) != 1)
			failed = 1;
	}
	close(fds[1]);
	for (pid_t pid; (pid = wait(&status)) > 0;)
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			failed = 1;
	return sleeping > 0 && reading > 0 && !failed;
}

/* The pipe's read path: pipe_read, anon_pipe_read from 6.16 on. */
static bool is_pipe_read(const char *frame)
{
	return !strcmp(frame, "pipe_read") || !strcmp(frame, "anon_pipe_read");
}

static bool has_pipe_read(const struct stack_entry *entry)
{
	for (unsigned int f = 0; f < entry->depth; f++)
		if (is_pipe_read(entry->frames[f]))
			return true;
	return false;
}

static bool has_frame(const struct stack_entry *entry, const char *frame)
{
	for (unsigned int f = 0; f < entry->depth; f++)
		if (!strcmp(entry->frames[f], frame))
			return true;
	return false;
}

/* The stack of @comm with most time (entries come most time first), and @comm's total. */
static const struct stack_entry *top_of(const struct stack_set *set, const char *comm,
					__u64 *total_ns, __u64 *switches)
{
	const struct stack_entry *top = NULL;

	*total_ns = *switches = 0;
	for (unsigned int i = 0; i < set->count; i++) {
		if (strcmp(set->entries[i].comm, comm))
			continue;
		if (!top)
			top = &set->entries[i];
		*total_ns += set->entries[i].time_ns;
		*switches += set->entries[i].count;
	}
	return top;
}

/* The JSON of khist stacks --json has a stack of kh-pipe through the pipe's read. */
static bool json_has_pipe_stack(const char *text)
{
	json_object *root = json_tokener_parse(text), *stacks;
	bool found = false;

	if (!root || !json_object_object_get_ex(root, "stacks", &stacks))
		goto out;
	for (size_t i = 0; i < json_object_array_length(stacks) && !found; i++) {
		json_object *stack = json_object_array_get_idx(stacks, i), *comm, *frames;

		if (!json_object_object_get_ex(stack, "comm", &comm) ||
		    strcmp(json_object_get_string(comm), "kh-pipe") ||
		    !json_object_object_get_ex(stack, "frames", &frames))
			continue;
		for (size_t f = 0; f < json_object_array_length(frames) && !found; f++)
			found = is_pipe_read(json_object_get_string(
				json_object_array_get_idx(frames, f)));
	}
out:
	json_object_put(root);
	return found;
}

static bool check_paths(const struct stack_set *set, const char *mode)
{
	const struct stack_entry *sleep_top, *pipe_top;
	__u64 sleep_ns, sleep_switches, pipe_ns, pipe_switches;
	bool ok = true;

	sleep_top = top_of(set, "kh-sleep", &sleep_ns, &sleep_switches);
	pipe_top = top_of(set, "kh-pipe", &pipe_ns, &pipe_switches);
	EXPECT(ok, sleep_top && has_frame(sleep_top, "do_nanosleep") &&
		   has_frame(sleep_top, "schedule"),
	       "%s: kh-sleep's top stack (%u frames, first %s) has do_nanosleep", mode,
	       sleep_top ? sleep_top->depth : 0,
	       sleep_top && sleep_top->depth ? sleep_top->frames[0] : "none");
	EXPECT(ok, pipe_top && has_pipe_read(pipe_top),
	       "%s: kh-pipe's top stack (%u frames) has pipe_read", mode,
	       pipe_top ? pipe_top->depth : 0);
	/* The order of magnitude: what the tasks were made to wait, not 10 times more. */
	EXPECT(ok, sleep_top && sleep_top->time_ns >= SLEEPS * SLEEP_MS * 900000ULL &&
		   sleep_ns < SLEEPS * SLEEP_MS * 10000000ULL && sleep_top->count >= SLEEPS,
	       "%s: kh-sleep off CPU %llu ns (top stack %llu ns in %llu switches), slept %d ms",
	       mode, (unsigned long long)sleep_ns,
	       sleep_top ? (unsigned long long)sleep_top->time_ns : 0,
	       sleep_top ? (unsigned long long)sleep_top->count : 0, SLEEPS * SLEEP_MS);
	EXPECT(ok, pipe_top && pipe_top->time_ns >= (PIPE_WAITS - 1) * PIPE_WAIT_MS * 1000000ULL &&
		   pipe_ns < PIPE_WAITS * PIPE_WAIT_MS * 10000000ULL,
	       "%s: kh-pipe off CPU %llu ns (top stack %llu ns), waited about %d ms", mode,
	       (unsigned long long)pipe_ns, pipe_top ? (unsigned long long)pipe_top->time_ns : 0,
	       PIPE_WAITS * PIPE_WAIT_MS);
	return ok;
}

static void test_known_paths(void)
{
	const struct stack_desc *desc = collector_find_stacks("offcpu", NULL);
	struct both_modes both;
	bool ok, ran;

	ok = load_both_modes(&both, "stacks");
	ran = run_workload();
	EXPECT(ok, ran, "workload");
	for (int m = 0; m < BOTH_MODES && ran; m++) {
		const char *mode = collector_mode_name(both.mode[m]);
		struct error_context error = {};
		struct stack_set set;

		if (!both.loaded[m] ||
		    stacks_take(&set, both.root[m], both.collector, desc, NULL, &error)) {
			EXPECT(ok, false, "%s: stacks: %s", mode, error.text);
			continue;
		}
		ok &= check_paths(&set, mode);
		stacks_free(&set);
	}
	unload_both_modes(&both);
	ktap_test_result(ok, "known_paths_on_top_in_both_modes");
}

/*
 * The pixels of an 8-bit RGB(A) PNG, not interlaced (what Chromium writes):
 * how many differ from @background, and how many colours there are (up to
 * 64 counted). False when it is not such a PNG.
 */
static bool png_pixels(const char *path, const unsigned char background[3],
		       unsigned long *differing, unsigned int *colours, unsigned int *width,
		       unsigned int *height)
{
	static const unsigned char signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	unsigned char header[8], *data = NULL, *pixels = NULL, *chunk = NULL;
	unsigned int palette[64], channels = 0, known = 0;
	size_t data_len = 0, stride;
	uLongf raw_len;
	bool ok = false;
	FILE *file = fopen(path, "rb");

	*differing = 0;
	if (!file || fread(header, 1, 8, file) != 8 || memcmp(header, signature, 8))
		goto out;
	for (;;) {
		unsigned char length_type[8], crc[4];
		unsigned int length;

		if (fread(length_type, 1, 8, file) != 8)
			goto out;
		length = (unsigned int)length_type[0] << 24 | length_type[1] << 16 |
			 length_type[2] << 8 | length_type[3];
		if (length > (64u << 20))
			goto out;
		free(chunk);
		chunk = malloc(length + 1);
		if (!chunk || fread(chunk, 1, length, file) != length || fread(crc, 1, 4, file) != 4)
			goto out;
		if (!memcmp(length_type + 4, "IHDR", 4)) {
			*width = (unsigned int)chunk[0] << 24 | chunk[1] << 16 | chunk[2] << 8 | chunk[3];
			*height = (unsigned int)chunk[4] << 24 | chunk[5] << 16 | chunk[6] << 8 | chunk[7];
			channels = chunk[9] == 6 ? 4 : chunk[9] == 2 ? 3 : 0;
			if (chunk[8] != 8 || !channels || chunk[12] || *width > 10000 || *height > 10000)
				goto out;
		} else if (!memcmp(length_type + 4, "IDAT", 4)) {
			unsigned char *grown = realloc(data, data_len + length);

			if (!grown)
				goto out;
			data = grown;
			memcpy(data + data_len, chunk, length);
			data_len += length;
		} else if (!memcmp(length_type + 4, "IEND", 4)) {
			break;
		}
	}
	if (!channels)
		goto out;
	stride = (size_t)*width * channels;
	raw_len = (stride + 1) * *height;
	pixels = malloc(raw_len);
	if (!pixels || uncompress(pixels, &raw_len, data, data_len) != Z_OK ||
	    raw_len != (stride + 1) * *height)
		goto out;
	/* Undo each row's filter in place, from the row above it (already undone). */
	for (unsigned int y = 0; y < *height; y++) {
		unsigned char *row = pixels + y * (stride + 1), filter = row[0], *at = row + 1;
		const unsigned char *up = y ? pixels + (y - 1) * (stride + 1) + 1 : NULL;

		for (size_t x = 0; x < stride; x++) {
			int left = x >= channels ? at[x - channels] : 0, above = up ? up[x] : 0;
			int corner = up && x >= channels ? up[x - channels] : 0;
			int p = left + above - corner, pa = abs(p - left), pb = abs(p - above);
			int pc = abs(p - corner);

			switch (filter) {
			case 0: break;
			case 1: at[x] += left; break;
			case 2: at[x] += above; break;
			case 3: at[x] += (left + above) / 2; break;
			case 4: at[x] += pa <= pb && pa <= pc ? left : pb <= pc ? above : corner; break;
			default: goto out;
			}
		}
		for (unsigned int x = 0; x < *width; x++) {
			const unsigned char *pixel = at + (size_t)x * channels;
			unsigned int rgb = pixel[0] << 16 | pixel[1] << 8 | pixel[2];
			bool seen = false;

			if (memcmp(pixel, background, 3))
				(*differing)++;
			for (unsigned int c = 0; c < known && !seen; c++)
				seen = palette[c] == rgb;
			if (!seen && known < ARRAY_SIZE(palette))
				palette[known++] = rgb;
		}
	}
	*colours = known;
	ok = true;
out:
	if (file)
		fclose(file);
	free(chunk);
	free(data);
	free(pixels);
	return ok;
}

static void test_outputs_and_flamegraph(void)
{
	static const unsigned char background[3] = { 0xfd, 0xf6, 0xe3 };
	char args[512], command[1024], svg[64], png[64], *output = malloc(1 << 20);
	unsigned int colours = 0, width = 0, height = 0;
	struct loader_options options;
	unsigned long differing = 0;
	bool ok = true, folded_line = false;
	int status;

	if (!output)
		ktap_exit_fail("out of memory");
	loader_default_options(&options);
	load_or_fail("stacks", &options);
	EXPECT(ok, run_workload(), "workload");
	/* A task may name itself any bytes: the SVG and the JSON must stay valid. */
	if (fork() == 0) {
		prctl(PR_SET_NAME, "kh\x01<&\xff\xfe");
		usleep(100 * 1000);
		_exit(0);
	}
	wait(NULL);

	snprintf(args, sizeof(args), "stacks offcpu --rows 1000 --pin-root %s", test_root());
	status = run_khist(args, output, 1 << 20);
	EXPECT(ok, status == 0 && strstr(output, "kh-sleep") && strstr(output, "do_nanosleep") &&
		   strstr(output, "pipe_read\n"), "stacks offcpu: status %d", status);

	snprintf(args, sizeof(args), "stacks offcpu --folded --pin-root %s", test_root());
	status = run_khist(args, output, 1 << 20);
	for (char *line = strtok(output, "\n"); line; line = strtok(NULL, "\n")) {
		const char *value = strrchr(line, ' ');

		if (!strncmp(line, "kh-sleep;", 9) && strstr(line, ";do_nanosleep;") && value &&
		    strtoull(value + 1, NULL, 10) >= SLEEPS * SLEEP_MS * 900ULL)
			folded_line = true;
	}
	EXPECT(ok, status == 0 && folded_line,
	       "--folded: status %d, a kh-sleep line through do_nanosleep with its microseconds",
	       status);

	snprintf(args, sizeof(args), "stacks offcpu --json --rows 100000 --pin-root %s",
		 test_root());
	status = run_khist(args, output, 1 << 20);
	EXPECT(ok, status == 0 && json_has_pipe_stack(output),
	       "--json: status %d, a kh-pipe stack with its pipe read: %.200s", status, output);

	snprintf(svg, sizeof(svg), "/tmp/khist-flame-%d.svg", getpid());
	snprintf(png, sizeof(png), "/tmp/khist-flame-%d.png", getpid());
	snprintf(args, sizeof(args), "stacks offcpu --svg %s --pin-root %s", svg, test_root());
	status = run_khist(args, output, 4096);
	EXPECT(ok, status == 0, "--svg: status %d: %s", status, output);
	snprintf(command, sizeof(command), "cat %s", svg);
	status = run_shell(command, output, 1 << 20);
	EXPECT(ok, status == 0 && strstr(output, "<svg") && strstr(output, "</svg>") &&
		   strstr(output, "<title>do_nanosleep") && strstr(output, "pipe_read (") &&
		   strstr(output, "<title>kh-sleep") && !strstr(output, "<script") &&
		   strstr(output, "<title>kh?&lt;&amp;??") && !strpbrk(output, "\x01\xff\xfe"),
	       "the SVG holds the frames' titles, no script, and no raw byte of a task's name");
	if (access("/usr/bin/chromium", X_OK)) {
		ktap_print_msg("no chromium here: the SVG's text is checked, not its rendering");
	} else {
		snprintf(command, sizeof(command),
			 "timeout 120 chromium --headless --no-sandbox --disable-gpu "
			 "--hide-scrollbars --window-size=1200,700 --screenshot=%s file://%s 2>&1",
			 png, svg);
		status = run_shell(command, output, 4096);
		EXPECT(ok, status == 0 && png_pixels(png, background, &differing, &colours, &width,
						     &height) &&
			   width == 1200 && height == 700 &&
			   differing > (unsigned long)width * height / 50 && colours >= 8,
		       "chromium's screenshot: status %d, %ux%u, %lu pixels not background, "
		       "%u colours", status, width, height, differing, colours);
		ktap_print_msg("screenshot %ux%u: %lu pixels drawn, %u colours or more", width, height,
			       differing, colours);
	}
	unlink(svg);
	unlink(png);
	unload_all();
	free(output);
	ktap_test_result(ok, "top_folded_json_and_rendered_flamegraph");
}

/* Drops are self-metrics; asking for stacks that are not there is an error. */
static void test_drops_and_errors(void)
{
	struct loader_options options;
	char args[256], output[1024];
	struct snapshot s;
	bool ok = true;
	int status;

	snprintf(args, sizeof(args), "stacks offcpu --pin-root %s", test_root());
	status = run_khist(args, output, sizeof(output));
	EXPECT(ok, status == 1 && strstr(output, "not loaded"), "not loaded: %d: %s", status,
	       output);
	snprintf(args, sizeof(args), "stacks oncpu --pin-root %s", test_root());
	status = run_khist(args, output, sizeof(output));
	EXPECT(ok, status == 2 && strstr(output, "no stacks 'oncpu'"), "unknown: %d: %s", status,
	       output);
	snprintf(args, sizeof(args), "stacks offcpu --svg /nonexistent/dir/f.svg --pin-root %s",
		 test_root());
	loader_default_options(&options);
	load_or_fail("stacks", &options);
	status = run_khist(args, output, sizeof(output));
	EXPECT(ok, status == 1 && strstr(output, "/nonexistent/dir/f.svg"),
	       "unwritable --svg: %d: %s", status, output);
	if (!test_snapshot(NULL, &s)) {
		const struct snapshot_family *drops = snapshot_find(&s, "khist_stack_drops");
		bool no_stack = false, table_full = false;

		for (unsigned int i = 0; drops && i < drops->series_count; i++) {
			const char *reason = snapshot_label(&drops->series[i], "reason");

			no_stack |= reason && !strcmp(reason, "no_stack");
			table_full |= reason && !strcmp(reason, "table_full");
		}
		EXPECT(ok, drops && no_stack && table_full,
		       "khist_stack_drops_total{reason} has no_stack and table_full");
		snapshot_free(&s);
	} else {
		ok = false;
	}
	unload_all();
	ktap_test_result(ok, "drops_exported_bad_requests_refused");
}

/*
 * khist.ko's own functions, named with their module: detaching its vfs glue
 * waits for an RCU grace period inside the module (khist_probe_free), so
 * the task doing it is off CPU in a stack through khist.
 */
static void test_module_frames(void)
{
	const struct collector *collector;
	const struct stack_desc *desc = collector_find_stacks("offcpu", &collector);
	struct error_context error = {};
	struct loader_options options;
	enum khist_attach_mode mode;
	const char *why = kmod_unavailable_reason();
	struct stack_set set;
	char root[96], frame[320] = "";
	bool ok = true, loaded_here = false;
	int err;

	if (why) {
		ktap_test_skip("module_frames_named", "%s", why);
		return;
	}
	if (!kmod_loaded()) {
		err = kmod_load(NULL);
		if (err) {
			ktap_test_skip("module_frames_named", "loading %s: %s", kmod_path(),
				       strerror(-err));
			return;
		}
		loaded_here = true;
	}
	loader_default_options(&options);
	load_or_fail("stacks", &options);
	snprintf(root, sizeof(root), "%s-vfs", test_root());
	loader_default_options(&options);
	options.pin_root = root;
	options.mode = KHIST_ATTACH_GLUE;
	err = loader_load(collector_find("vfs"), &options, &mode);
	EXPECT(ok, err == 0, "vfs in glue mode: %s", loader_error());
	if (!err)
		loader_unload(root, collector_find("vfs"));
	rmdir(root);
	/* The glue's tracepoint may be released by a worker a moment later. */
	for (int tries = 0; ok && tries < 50 && !frame[0]; tries++) {
		usleep(100 * 1000);
		if (stacks_take(&set, test_root(), collector, desc, NULL, &error)) {
			EXPECT(ok, false, "stacks: %s", error.text);
			break;
		}
		for (unsigned int i = 0; i < set.count && !frame[0]; i++)
			for (unsigned int f = 0; f < set.entries[i].depth; f++)
				if (strstr(set.entries[i].frames[f], " [khist]")) {
					snprintf(frame, sizeof(frame), "%s (%s)",
						 set.entries[i].frames[f], set.entries[i].comm);
					break;
				}
		stacks_free(&set);
	}
	EXPECT(ok, frame[0], "no stack through a khist.ko function after detaching the glue");
	if (frame[0])
		ktap_print_msg("a stack through %s", frame);
	unload_all();
	if (loaded_here)
		kmod_unload();
	ktap_test_result(ok, "module_frames_named");
}

int main(void)
{
	ktap_print_header();
	require_root_or_skip();
	ktap_set_plan(4);
	test_known_paths();
	test_outputs_and_flamegraph();
	test_drops_and_errors();
	test_module_frames();
	unload_all();
	ktap_finished();
}
