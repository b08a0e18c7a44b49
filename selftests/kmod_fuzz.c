// SPDX-License-Identifier: GPL-2.0
/*
 * A seeded, bounded fuzzer for khist.ko's inputs (run in the VMs, the debug
 * kernel included, where KASAN and lockdep watch):
 *   - the generic netlink family: random and mutated messages of every
 *     command, unknown ones, random attribute types, lengths, nesting and
 *     flags, truncated messages, as root and as an unprivileged user. Every
 *     well-formed request asks for an ack; afterwards GET_INFO must answer,
 *     and the module's request/error counters must match what the fuzzer
 *     saw: each success ack and each error carrying the module's own
 *     message is one handler run, the latter also one handler error;
 *   - the kfuncs: random statistic ids from BPF, and binds of maps of every
 *     type, key/value size, size and flag combination, each accepted exactly
 *     when the documented rules say so.
 *
 *   kmod_fuzz [MESSAGES [SEED]]   defaults: 200000 messages, seed 1
 */
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>

#include "collector_util.h"
#include "kmod_client.h"
#include "kmod_util.h"
#include "progs/kmod_fuzz.h"
#include "kmod_fuzz.skel.h"

struct tally {
	unsigned long sent, silent, acks, errors, module_errors, data_replies, other_family;
};

static __u64 rng_state;

static __u64 next_random(void)
{
	/* xorshift64*: deterministic for a seed. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static unsigned int below(unsigned int n)
{
	return n ? next_random() % n : 0;
}

/* The module's own extended-ack messages: a request its handler refused. */
static const char *const module_messages[] = {
	"no configuration attribute given",
	"glue enable flag must be 0 or 1",
	"publish interval out of range",
	"no statistics map is bound",
	"reply does not fit in one message",
	/* BIND_MAP, where the module binds over netlink (before 6.9) */
	"no map file descriptor given",
	"not the file descriptor of a BPF map",
	"the map must be an ARRAY",
	"the module is going away",
};

static bool from_module(const char *message)
{
	for (unsigned int i = 0; i < sizeof(module_messages) / sizeof(module_messages[0]); i++)
		if (!strncmp(message, module_messages[i], strlen(module_messages[i])))
			return true;
	return false;
}

static int family_id(void)
{
	struct nl_sock *sock = nl_socket_alloc();
	int id = -1;

	if (sock && !genl_connect(sock))
		id = genl_ctrl_resolve(sock, KHIST_GENL_NAME);
	nl_socket_free(sock);
	return id;
}

static int open_socket(void)
{
	struct timeval timeout = { 2, 0 };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC), one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
	return fd;
}

/* Appends one attribute, well-formed or not; returns the new length. */
static size_t put_attribute(char *buf, size_t len, size_t room)
{
	static const unsigned short known[] = { 2, 3, 6 };	/* GLUE_*_ENABLED, PUBLISH_INTERVAL_MS */
	struct nlattr *attr = (struct nlattr *)(buf + len);
	unsigned int payload, choice = below(10);

	if (len + NLA_HDRLEN + 16 > room)
		return len;
	payload = choice < 4 ? (below(2) ? 1 : 4) : below(17);
	attr->nla_type = choice < 6 ? known[below(3)] : below(40);
	if (below(8) == 0)
		attr->nla_type |= NLA_F_NESTED;
	if (below(16) == 0)
		attr->nla_type |= NLA_F_NET_BYTEORDER;
	attr->nla_len = NLA_HDRLEN + payload;
	if (below(12) == 0)
		attr->nla_len = below(NLA_HDRLEN + 24);	/* lies about its length */
	for (unsigned int i = 0; i < payload; i++)
		buf[len + NLA_HDRLEN + i] = (char)(choice < 4 && i == 0 ? below(4) : below(256));
	if (choice == 1 && payload == 4) {
		__u32 interval = below(2) ? below(4000000) : 0xffffffffU;

		memcpy(buf + len + NLA_HDRLEN, &interval, sizeof(interval));
	}
	return len + NLA_ALIGN(NLA_HDRLEN + payload);
}

/* One random request; its length, 0..15 for a truncated header (no reply comes). */
static size_t make_request(char *buf, size_t room, int family, __u32 seq)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	struct genlmsghdr *genl = NLMSG_DATA(nlh);
	size_t len = NLMSG_HDRLEN + GENL_HDRLEN;
	unsigned int choice = below(100);

	memset(buf, 0, 512);
	if (choice == 0)
		return 1 + below(NLMSG_HDRLEN - 1);	/* an empty send is refused at once */
	nlh->nlmsg_type = family;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	if (below(16) == 0)
		nlh->nlmsg_flags |= NLM_F_DUMP;
	if (below(16) == 0)
		nlh->nlmsg_flags |= NLM_F_ECHO | NLM_F_EXCL;
	nlh->nlmsg_seq = seq;
	choice = below(100);
	genl->cmd = choice < 75 ? 1 + below(4) : choice < 85 ? 0 : below(256);
	genl->version = below(10) ? 1 : below(256);
	genl->reserved = below(10) ? 0 : below(65536);
	for (unsigned int n = below(7); n; n--)
		len = put_attribute(buf, len, room);
	/* Sometimes the attributes are cut short, at any byte. */
	if (below(10) == 0 && len > NLMSG_HDRLEN + GENL_HDRLEN)
		len -= below(len - NLMSG_HDRLEN - GENL_HDRLEN);
	if (below(20) == 0)
		len = NLMSG_HDRLEN + below(GENL_HDRLEN);	/* no room for the genl header */
	nlh->nlmsg_len = len;
	return len;
}

/*
 * Reads until the ack or error of @seq; false when none came. Only answers
 * to requests for khist's family (@ours) count as the module's.
 */
static bool await_ack(int fd, __u32 seq, bool ours, struct tally *tally)
{
	char reply[8192];

	for (;;) {
		ssize_t got = recv(fd, reply, sizeof(reply), 0);

		if (got < 0)
			return false;
		for (struct nlmsghdr *nlh = (struct nlmsghdr *)reply; NLMSG_OK(nlh, (size_t)got);
		     nlh = NLMSG_NEXT(nlh, got)) {
			const struct nlmsgerr *err = NLMSG_DATA(nlh);
			const char *message = "";

			if (nlh->nlmsg_seq != seq)
				continue;
			if (nlh->nlmsg_type == NLMSG_DONE)
				return true;	/* the end of a dump: no ack follows */
			if (nlh->nlmsg_type != NLMSG_ERROR) {
				tally->data_replies += ours;
				continue;
			}
			if (!ours) {
				tally->other_family++;
				return true;
			}
			if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
				size_t at = NLMSG_HDRLEN + sizeof(*err);
				const struct nlattr *attr;

				for (; at + NLA_HDRLEN <= nlh->nlmsg_len; at += NLA_ALIGN(attr->nla_len)) {
					attr = (const struct nlattr *)((const char *)nlh + at);
					if (attr->nla_len < NLA_HDRLEN)
						break;
					if (attr->nla_type == NLMSGERR_ATTR_MSG)
						message = (const char *)attr + NLA_HDRLEN;
				}
			}
			if (!err->error) {
				tally->acks++;
			} else {
				tally->errors++;
				tally->module_errors += from_module(message);
			}
			return true;
		}
	}
}

static bool fuzz(int family, unsigned long messages, struct tally *tally)
{
	static char buf[1024];
	int fd = open_socket();

	if (fd < 0)
		return false;
	for (unsigned long i = 0; i < messages; i++) {
		__u32 seq = i + 1;
		size_t len = make_request(buf, sizeof(buf), family, seq);

		if (send(fd, buf, len, 0) < 0) {
			ktap_print_msg("send: %s", strerror(errno));
			close(fd);
			return false;
		}
		tally->sent++;
		if (len < NLMSG_HDRLEN) {
			tally->silent++;
			continue;
		}
		if (!await_ack(fd, seq, ((struct nlmsghdr *)buf)->nlmsg_type == family, tally)) {
			ktap_print_msg("no answer to message %lu (len %zu)", i, len);
			close(fd);
			return false;
		}
	}
	close(fd);
	return true;
}

/* The unprivileged share, in a child that dropped root: tallies come back through a pipe. */
static bool fuzz_unprivileged(int family, unsigned long messages, struct tally *tally)
{
	int pipefd[2], status;
	pid_t child;

	if (pipe(pipefd))
		return false;
	child = fork();
	if (child == 0) {
		struct tally mine = {};
		bool ok;

		close(pipefd[0]);
		if (setgid(65534) || setuid(65534))
			_exit(2);
		rng_state ^= 0x9e3779b97f4a7c15ULL;
		ok = fuzz(family, messages, &mine);
		if (write(pipefd[1], &mine, sizeof(mine)) != sizeof(mine))
			_exit(3);
		_exit(ok ? 0 : 1);
	}
	close(pipefd[1]);
	if (child < 0 || read(pipefd[0], tally, sizeof(*tally)) != sizeof(*tally))
		tally->sent = 0;
	close(pipefd[0]);
	return child > 0 && waitpid(child, &status, 0) == child && WIFEXITED(status) &&
	       WEXITSTATUS(status) == 0 && tally->sent == messages;
}

static void test_netlink(unsigned long messages)
{
	struct kmod_config restore = { 1, 1, 1000 };
	struct tally root = {}, user = {};
	struct kmod_client *client = NULL;
	struct kmod_info before, after;
	unsigned long user_messages = messages / 10;
	bool ok = true;
	int family = family_id();

	if (family < 0)
		ktap_exit_fail("no genl family %s", KHIST_GENL_NAME);
	if (kmod_client_open(&client) || kmod_get_info(client, &before))
		ktap_exit_fail("GET_INFO before fuzzing");
	EXPECT(ok, fuzz(family, messages - user_messages, &root), "fuzzing as root stopped");
	EXPECT(ok, fuzz_unprivileged(family, user_messages, &user), "fuzzing as nobody stopped");
	EXPECT(ok, kmod_set_config(client, &restore) == 0, "SET_CONFIG after fuzzing");
	EXPECT(ok, kmod_get_info(client, &after) == 0, "GET_INFO after fuzzing");
	EXPECT(ok, !strcmp(after.version, KHIST_VERSION_STRING) && after.read_enabled &&
		   after.write_enabled && after.publish_interval_ms == 1000 && !after.bound_map_id,
	       "state after fuzzing: version '%s' enabled %d/%d interval %u map %u", after.version,
	       after.read_enabled, after.write_enabled, after.publish_interval_ms,
	       after.bound_map_id);
	/* Handler runs: each ack of success and each refusal in the module's words. */
	{
		__u64 runs = root.acks + user.acks + root.module_errors + user.module_errors;
		__u64 requests = after.stats[KHIST_STAT_NETLINK_REQUESTS] -
				 before.stats[KHIST_STAT_NETLINK_REQUESTS];
		__u64 refused = after.stats[KHIST_STAT_NETLINK_ERRORS] -
				before.stats[KHIST_STAT_NETLINK_ERRORS];

		/* + the SET_CONFIG and GET_INFO above (the second is counted before its reply). */
		EXPECT(ok, requests == runs + 2, "module counted %llu requests, the fuzzer saw %llu "
		       "handler runs (+2)", (unsigned long long)requests, (unsigned long long)runs);
		EXPECT(ok, refused == root.module_errors + user.module_errors,
		       "module counted %llu errors, the fuzzer saw %lu", (unsigned long long)refused,
		       root.module_errors + user.module_errors);
	}
	ktap_print_msg("%lu messages (%lu as nobody): %lu acks, %lu errors (%lu from handlers), "
		       "%lu GET_INFO replies, %lu truncated headers, %lu to other families",
		       root.sent + user.sent, user.sent, root.acks + user.acks,
		       root.errors + user.errors, root.module_errors + user.module_errors,
		       root.data_replies + user.data_replies, root.silent + user.silent,
		       root.other_family + user.other_family);
	EXPECT(ok, root.acks && root.module_errors && user.errors,
	       "the fuzzer never reached a handler (acks %lu, handler errors %lu)", root.acks,
	       root.module_errors);
	kmod_client_close(client);
	ktap_test_result(ok, "netlink_fuzzed_%lu_messages", messages);
}

/* Random statistic ids through the kfunc: out of range refused and counted, never written. */
static void test_stat_ids(struct kmod_fuzz_bpf *skel)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	struct kmod_info before, after;
	struct kmod_client *client = NULL;
	unsigned long refused = 0, accepted = 0, added_to_errors = 0;
	bool ok = true;

	if (kmod_client_open(&client) || kmod_get_info(client, &before))
		ktap_exit_fail("GET_INFO");
	for (int i = 0; i < 5000; i++) {
		struct stat_request request = { below(3) ? below(64) : (__u32)next_random(),
						below(4) };

		opts.ctx_in = &request;
		opts.ctx_size_in = sizeof(request);
		if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.stat_add), &opts)) {
			EXPECT(ok, false, "running stat_add: %s", strerror(errno));
			break;
		}
		if (request.id < KHIST_STAT_COUNT) {
			EXPECT(ok, opts.retval == 0, "id %u refused: %d", request.id, (int)opts.retval);
			accepted++;
			/* A program may add to kfunc_errors itself. */
			if (request.id == KHIST_STAT_KFUNC_ERRORS)
				added_to_errors += request.delta;
		} else {
			EXPECT(ok, (int)opts.retval == -EINVAL, "id %u: %d", request.id, (int)opts.retval);
			refused++;
		}
	}
	EXPECT(ok, kmod_get_info(client, &after) == 0, "GET_INFO after");
	EXPECT(ok, after.stats[KHIST_STAT_KFUNC_ERRORS] - before.stats[KHIST_STAT_KFUNC_ERRORS] ==
		   refused + added_to_errors, "kfunc_errors grew by %llu for %lu refusals (+%lu added)",
	       (unsigned long long)(after.stats[KHIST_STAT_KFUNC_ERRORS] -
				    before.stats[KHIST_STAT_KFUNC_ERRORS]), refused, added_to_errors);
	ktap_print_msg("stat ids: %lu accepted, %lu refused", accepted, refused);
	kmod_client_close(client);
	ktap_test_result(ok, "random_stat_ids");
}

struct map_shape {
	enum bpf_map_type type;
	__u32 key_size, value_size, max_entries, flags;
	bool frozen;
};

/* The rules khist_stats_map_bind documents. */
static bool bind_allowed(const struct map_shape *shape)
{
	return (shape->type == BPF_MAP_TYPE_ARRAY || shape->type == BPF_MAP_TYPE_PERCPU_ARRAY) &&
	       shape->key_size == 4 && shape->value_size == 8 &&
	       shape->max_entries >= KHIST_STAT_COUNT && !shape->frozen &&
	       !(shape->flags & BPF_F_RDONLY_PROG);
}

static void test_map_binds(void)
{
	static const enum bpf_map_type types[] = {
		BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_HASH,
		BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_LRU_HASH,
	};
	static const __u32 key_sizes[] = { 4, 8 }, value_sizes[] = { 4, 8, 16 };
	static const __u32 entries[] = { KHIST_STAT_COUNT - 1, KHIST_STAT_COUNT, 1000 };
	static const __u32 flags[] = { 0, BPF_F_RDONLY_PROG, BPF_F_WRONLY_PROG, BPF_F_MMAPABLE };
	unsigned long tried = 0, bound = 0, skipped = 0;
	struct kmod_client *client = NULL;
	bool ok = true, map_kfunc = kmod_features() & KHIST_FEATURE_MAP_KFUNC;

	/* Before 6.9 the module takes the map over netlink, by descriptor. */
	if (!map_kfunc && kmod_client_open(&client))
		ktap_exit_fail("netlink: the module's family");
	for (unsigned int t = 0; t < sizeof(types) / sizeof(types[0]); t++)
	for (unsigned int k = 0; k < sizeof(key_sizes) / sizeof(key_sizes[0]); k++)
	for (unsigned int v = 0; v < sizeof(value_sizes) / sizeof(value_sizes[0]); v++)
	for (unsigned int e = 0; e < sizeof(entries) / sizeof(entries[0]); e++)
	for (unsigned int f = 0; f < sizeof(flags) / sizeof(flags[0]); f++)
	for (int frozen = 0; frozen < 2; frozen++) {
		struct map_shape shape = { types[t], key_sizes[k], value_sizes[v], entries[e],
					   flags[f], frozen };
		struct kmod_fuzz_bpf *skel;
		int err, result;

		bool array = shape.type == BPF_MAP_TYPE_ARRAY ||
			     shape.type == BPF_MAP_TYPE_PERCPU_ARRAY;

		/*
		 * Arrays have 4-byte keys and mmap is for arrays; a hash is refused
		 * for its type alone, so one key and value size is enough for it
		 * (each shape is a program load: slow under KASAN).
		 */
		if ((array && shape.key_size != 4) ||
		    (!array && (shape.key_size != 4 || shape.value_size != 8)))
			continue;
		if (shape.flags == BPF_F_MMAPABLE && shape.type != BPF_MAP_TYPE_ARRAY)
			continue;
		skel = kmod_fuzz_bpf__open();
		if (!skel)
			ktap_exit_fail("opening kmod_fuzz");
		bpf_map__set_type(skel->maps.target, shape.type);
		bpf_map__set_key_size(skel->maps.target, shape.key_size);
		bpf_map__set_value_size(skel->maps.target, shape.value_size);
		bpf_map__set_max_entries(skel->maps.target, shape.max_entries);
		bpf_map__set_map_flags(skel->maps.target, shape.flags |
				       (shape.type == BPF_MAP_TYPE_HASH ||
					shape.type == BPF_MAP_TYPE_PERCPU_HASH ? BPF_F_NO_PREALLOC : 0));
		err = kmod_fuzz_bpf__load(skel);
		if (err) {
			/* A shape the kernel itself refuses (and says why): nothing to bind. */
			skipped++;
			kmod_fuzz_bpf__destroy(skel);
			continue;
		}
		if (shape.frozen && bpf_map_freeze(bpf_map__fd(skel->maps.target))) {
			skipped++;
			kmod_fuzz_bpf__destroy(skel);
			continue;
		}
		result = map_kfunc ? run_syscall_prog(bpf_program__fd(skel->progs.bind_target)) :
			 kmod_bind_map_fd(client, bpf_map__fd(skel->maps.target));
		tried++;
		bound += result == 0;
		EXPECT(ok, bind_allowed(&shape) ? result == 0 : result == -EINVAL,
		       "type %d key %u value %u entries %u flags %#x frozen %d: bind %d", shape.type,
		       shape.key_size, shape.value_size, shape.max_entries, shape.flags, frozen,
		       result);
		if (result == 0)
			EXPECT(ok, (map_kfunc ? run_syscall_prog(bpf_program__fd(skel->progs.unbind)) :
				    kmod_unbind_map(client)) == 0, "unbind after a bind");
		kmod_fuzz_bpf__destroy(skel);
	}
	if (client)
		kmod_client_close(client);
	ktap_print_msg("map shapes: %lu bound or refused as documented (%lu bound), %lu the kernel "
		       "refused to create", tried, bound, skipped);
	ktap_test_result(ok && bound > 0 && tried > 50, "map_binds_of_every_shape");
}

int main(int argc, char **argv)
{
	unsigned long messages = argc > 1 ? strtoul(argv[1], NULL, 10) : 200000;
	struct kmod_fuzz_bpf *skel;

	rng_state = argc > 2 ? strtoull(argv[2], NULL, 10) : 1;
	if (!rng_state)
		rng_state = 1;
	ktap_print_header();
	kmod_fresh_load_or_skip(NULL);
	ktap_set_plan(3);
	ktap_print_msg("seed %llu", (unsigned long long)rng_state);
	test_netlink(messages);
	skel = kmod_fuzz_bpf__open_and_load();
	if (!skel)
		ktap_exit_fail("loading kmod_fuzz: %s", strerror(errno));
	test_stat_ids(skel);
	kmod_fuzz_bpf__destroy(skel);
	test_map_binds();
	if (kmod_unload())
		ktap_exit_fail("rmmod after fuzzing");
	ktap_finished();
}
