// SPDX-License-Identifier: GPL-2.0
/*
 * khist.ko generic netlink family through the agent's libnl-genl client:
 * GET_INFO, SET_CONFIG, PUBLISH, validation with extack messages,
 * CAP_NET_ADMIN on mutating commands, and the request counters.
 */
#include <string.h>
#include <sys/wait.h>
#include <netlink/genl/genl.h>

#include "collector_util.h"
#include "kmod_client.h"
#include "kmod_util.h"

static struct kmod_client *client;

static bool error_is(int err, int expected_err, const char *expected_message)
{
	if (err == expected_err && !strcmp(kmod_client_error(client), expected_message))
		return true;
	ktap_print_msg("got %d '%s', expected %d '%s'", err, kmod_client_error(client),
		       expected_err, expected_message);
	return false;
}

static int send_u32(uint8_t cmd, int attr, uint32_t value)
{
	struct nl_msg *msg = kmod_new_request(client, cmd);

	if (!msg || nla_put_u32(msg, attr, value))
		return -ENOMEM;
	return kmod_send(client, msg);
}

static void test_get_info(void)
{
	struct kmod_info info;
	bool ok = true;
	int err;

	err = kmod_get_info(client, &info);
	EXPECT(ok, err == 0, "GET_INFO: %s", strerror(-err));
	EXPECT(ok, !strcmp(info.version, KHIST_VERSION_STRING), "version '%s'", info.version);
	EXPECT(ok, info.read_enabled && info.write_enabled, "glue disabled");
	EXPECT(ok, !info.read_active && !info.write_active, "probes registered with no consumer");
	EXPECT(ok, info.publish_interval_ms == 1234, "interval %u (loaded with 1234)",
	       info.publish_interval_ms);
	EXPECT(ok, info.bound_map_id == 0, "bound map %u", info.bound_map_id);
	EXPECT(ok, info.stats[KHIST_STAT_NETLINK_REQUESTS] == 1, "requests %llu on a fresh module",
	       (unsigned long long)info.stats[KHIST_STAT_NETLINK_REQUESTS]);
	ktap_test_result(ok, "get_info");
}

static void test_set_config(void)
{
	struct kmod_config config = { 0, 0, 250 }, restore = { 1, 1, -1 };
	struct kmod_info info;
	bool ok = true;
	int err;

	err = kmod_set_config(client, &config);
	EXPECT(ok, err == 0, "SET_CONFIG: %s '%s'", strerror(-err), kmod_client_error(client));
	kmod_get_info(client, &info);
	EXPECT(ok, info.publish_interval_ms == 250 && !info.read_enabled && !info.write_enabled,
	       "interval %u read %d write %d", info.publish_interval_ms, info.read_enabled,
	       info.write_enabled);
	err = kmod_set_config(client, &restore);
	kmod_get_info(client, &info);
	EXPECT(ok, err == 0 && info.read_enabled && info.write_enabled &&
		   info.publish_interval_ms == 250, "partial update");
	ktap_test_result(ok, "set_config_applies");
}

static void test_rejections(void)
{
	struct kmod_config none = KMOD_CONFIG_UNCHANGED;
	struct kmod_info info;
	struct nl_msg *msg;
	bool ok = true;
	int err;

	err = send_u32(KHIST_CMD_SET_CONFIG, KHIST_ATTR_PUBLISH_INTERVAL_MS,
		       KHIST_PUBLISH_INTERVAL_MAX_MS + 1);
	EXPECT(ok, error_is(err, -EINVAL, "publish interval out of range (0..3600000 ms)"),
	       "interval too large");
	kmod_get_info(client, &info);
	EXPECT(ok, info.publish_interval_ms == 250, "interval changed to %u", info.publish_interval_ms);
	ktap_test_result(ok, "out_of_range_interval_rejected");

	ok = true;
	msg = kmod_new_request(client, KHIST_CMD_SET_CONFIG);
	nla_put_u8(msg, KHIST_ATTR_GLUE_READ_ENABLED, 2);
	err = kmod_send(client, msg);
	EXPECT(ok, error_is(err, -EINVAL, "glue enable flag must be 0 or 1"), "read_enabled=2");
	ktap_test_result(ok, "out_of_range_flag_rejected");

	ok = true;
	err = send_u32(KHIST_CMD_SET_CONFIG, KHIST_ATTR_MAX + 5, 1);
	EXPECT(ok, error_is(err, -EINVAL, "Unknown attribute type"), "unknown attribute");
	msg = kmod_new_request(client, KHIST_CMD_SET_CONFIG);
	nla_put_string(msg, KHIST_ATTR_VERSION, "9.9.9");
	err = kmod_send(client, msg);
	EXPECT(ok, error_is(err, -EINVAL, "Unsupported attribute"), "attribute of another command");
	ktap_test_result(ok, "unknown_attributes_rejected");

	ok = true;
	msg = kmod_new_request(client, KHIST_CMD_SET_CONFIG);
	nla_put_u8(msg, KHIST_ATTR_PUBLISH_INTERVAL_MS, 1);
	err = kmod_send(client, msg);
	EXPECT(ok, err == -EINVAL || err == -ERANGE, "u8 for a u32: %d '%s'", err,
	       kmod_client_error(client));
	EXPECT(ok, kmod_client_error(client)[0] != '\0', "no extack message");
	ktap_test_result(ok, "wrong_attribute_length_rejected");

	ok = true;
	err = kmod_set_config(client, &none);
	EXPECT(ok, error_is(err, -EINVAL, "no configuration attribute given"), "empty SET_CONFIG");
	err = send_u32(KHIST_CMD_PUBLISH, KHIST_ATTR_PUBLISH_INTERVAL_MS, 1);
	EXPECT(ok, err == -EINVAL && kmod_client_error(client)[0], "PUBLISH with an attribute: %d '%s'",
	       err, kmod_client_error(client));
	err = kmod_publish(client);
	EXPECT(ok, error_is(err, -ENOENT, "no statistics map is bound"), "PUBLISH unbound");
	ktap_test_result(ok, "semantic_errors_explained");
}

/* Mutating commands need CAP_NET_ADMIN; reading the state does not. */
static void test_unprivileged(void)
{
	int status = -1;
	pid_t child;
	bool ok = true;

	child = fork();
	if (child == 0) {
		struct kmod_config config = { -1, -1, 500 };
		struct kmod_client *nobody;
		struct kmod_info info;

		if (setgid(65534) || setuid(65534) || kmod_client_open(&nobody))
			_exit(10);
		if (kmod_get_info(nobody, &info))
			_exit(11);
		if (kmod_set_config(nobody, &config) != -EPERM)
			_exit(12);
		if (kmod_publish(nobody) != -EPERM)
			_exit(13);
		if (kmod_unbind_map(nobody) != -EPERM)
			_exit(14);
		_exit(0);
	}
	waitpid(child, &status, 0);
	EXPECT(ok, WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "unprivileged child failed at step %d", WEXITSTATUS(status));
	ktap_test_result(ok, "unprivileged_gets_eperm");
}

static void test_request_counters(void)
{
	struct kmod_config config = { -1, -1, 300 }, none = KMOD_CONFIG_UNCHANGED;
	struct kmod_info before, after;
	bool ok = true;

	kmod_get_info(client, &before);
	kmod_set_config(client, &config);
	kmod_set_config(client, &none);
	kmod_publish(client);
	kmod_get_info(client, &after);
	/* set, empty set, publish and the second GET_INFO; two of them failed. */
	EXPECT(ok, after.stats[KHIST_STAT_NETLINK_REQUESTS] ==
		   before.stats[KHIST_STAT_NETLINK_REQUESTS] + 4, "requests %llu -> %llu",
	       (unsigned long long)before.stats[KHIST_STAT_NETLINK_REQUESTS],
	       (unsigned long long)after.stats[KHIST_STAT_NETLINK_REQUESTS]);
	EXPECT(ok, after.stats[KHIST_STAT_NETLINK_ERRORS] ==
		   before.stats[KHIST_STAT_NETLINK_ERRORS] + 2, "errors %llu -> %llu",
	       (unsigned long long)before.stats[KHIST_STAT_NETLINK_ERRORS],
	       (unsigned long long)after.stats[KHIST_STAT_NETLINK_ERRORS]);
	ktap_test_result(ok, "request_and_error_counters");
}

/* `khist kmod` relays the module's extack message, and applies settings. */
static void test_cli(void)
{
	char output[4096], expected[256];
	int status, err;
	bool ok = true;

	err = kmod_publish(client);
	snprintf(expected, sizeof(expected), "khist: kmod publish: %s: %s\n", strerror(-err),
		 kmod_client_error(client));
	status = run_khist("kmod publish", output, sizeof(output));
	EXPECT(ok, err == -ENOENT && status == 1 && !strcmp(output, expected),
	       "exit %d, printed '%s', expected '%s'", status, output, expected);
	status = run_khist("kmod set interval_ms=4321", output, sizeof(output));
	EXPECT(ok, status == 0 && !output[0], "set: exit %d '%s'", status, output);
	status = run_khist("kmod info", output, sizeof(output));
	EXPECT(ok, status == 0 && strstr(output, "publish interval:     4321 ms\n"),
	       "info: exit %d '%s'", status, output);
	status = run_khist("kmod set interval_ms=3600001", output, sizeof(output));
	EXPECT(ok, status == 2 && strstr(output, "interval_ms takes 0..3600000"),
	       "out of range: exit %d '%s'", status, output);
	ktap_test_result(ok, "cli_relays_extack_and_applies");
}

static void test_family_gone_after_unload(void)
{
	struct kmod_client *again = NULL;
	bool ok = true;
	int err;

	kmod_client_close(client);
	client = NULL;
	err = kmod_unload();
	EXPECT(ok, err == 0, "rmmod: %s", strerror(-err));
	err = kmod_client_open(&again);
	EXPECT(ok, err == -ENOENT, "family still resolvable after rmmod: %d", err);
	kmod_client_close(again);
	ktap_test_result(ok, "family_unregistered_on_unload");
}

int main(void)
{
	int err;

	ktap_print_header();
	kmod_fresh_load_or_skip("publish_interval_ms=1234");
	ktap_set_plan(11);
	err = kmod_client_open(&client);
	if (err)
		ktap_exit_fail("netlink: %s", strerror(-err));
	test_get_info();
	test_set_config();
	test_rejections();
	test_unprivileged();
	test_request_counters();
	test_cli();
	test_family_gone_after_unload();
	ktap_finished();
}
