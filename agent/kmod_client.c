// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "kmod_client.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

struct kmod_client {
	struct nl_sock *sock;
	int family;
	char error[256];
};

struct kmod_request {
	struct kmod_client *client;
	struct kmod_info *info;		/* GET_INFO reply goes here */
	int error;
	bool done;
};

int kmod_client_open(struct kmod_client **out)
{
	struct kmod_client *client;
	int one = 1, err;

	client = calloc(1, sizeof(*client));
	if (!client)
		return -ENOMEM;
	client->sock = nl_socket_alloc();
	if (!client->sock) {
		free(client);
		return -ENOMEM;
	}
	err = genl_connect(client->sock);
	if (err) {
		err = -ECONNREFUSED;
		goto fail;
	}
	/* Ask for the kernel's error strings, without the request echoed back. */
	setsockopt(nl_socket_get_fd(client->sock), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(nl_socket_get_fd(client->sock), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	client->family = genl_ctrl_resolve(client->sock, KHIST_GENL_NAME);
	if (client->family < 0) {
		err = -ENOENT;
		goto fail;
	}
	*out = client;
	return 0;
fail:
	nl_socket_free(client->sock);
	free(client);
	return err;
}

void kmod_client_close(struct kmod_client *client)
{
	if (!client)
		return;
	nl_socket_free(client->sock);
	free(client);
}

const char *kmod_client_error(const struct kmod_client *client)
{
	return client->error;
}

static int on_error(struct sockaddr_nl *addr, struct nlmsgerr *nlerr, void *arg)
{
	struct kmod_request *request = arg;
	struct nlmsghdr *nlh = (struct nlmsghdr *)((char *)nlerr - NLMSG_HDRLEN);
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	size_t offset = sizeof(*nlerr);

	(void)addr;
	request->error = nlerr->error ? nlerr->error : -EPROTO;
	request->done = true;
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NL_STOP;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		offset += nlerr->msg.nlmsg_len - sizeof(nlerr->msg);
	if (nlh->nlmsg_len < NLMSG_HDRLEN + offset)
		return NL_STOP;
	if (nla_parse(tb, NLMSGERR_ATTR_MAX, (struct nlattr *)((char *)nlerr + offset),
		      nlh->nlmsg_len - NLMSG_HDRLEN - offset, NULL) == 0 &&
	    tb[NLMSGERR_ATTR_MSG])
		snprintf(request->client->error, sizeof(request->client->error), "%s",
			 nla_get_string(tb[NLMSGERR_ATTR_MSG]));
	return NL_STOP;
}

static int on_ack(struct nl_msg *msg, void *arg)
{
	struct kmod_request *request = arg;

	(void)msg;
	request->done = true;
	return NL_STOP;
}

static void parse_stats(struct nlattr *stats, struct kmod_info *info)
{
	static struct nla_policy stat_policy[KHIST_ATTR_MAX + 1] = {
		[KHIST_ATTR_STAT_ID] = { .type = NLA_U32 },
		[KHIST_ATTR_STAT_VALUE] = { .type = NLA_U64 },
	};
	struct nlattr *stat;
	int remaining;

	nla_for_each_nested(stat, stats, remaining) {
		struct nlattr *tb[KHIST_ATTR_MAX + 1];
		uint32_t id;

		if (nla_parse_nested(tb, KHIST_ATTR_MAX, stat, stat_policy) ||
		    !tb[KHIST_ATTR_STAT_ID] || !tb[KHIST_ATTR_STAT_VALUE])
			continue;
		id = nla_get_u32(tb[KHIST_ATTR_STAT_ID]);
		if (id < KHIST_STAT_COUNT)
			info->stats[id] = nla_get_u64(tb[KHIST_ATTR_STAT_VALUE]);
	}
}

static int on_reply(struct nl_msg *msg, void *arg)
{
	static struct nla_policy policy[KHIST_ATTR_MAX + 1] = {
		[KHIST_ATTR_VERSION] = { .type = NLA_STRING },
		[KHIST_ATTR_GLUE_READ_ENABLED] = { .type = NLA_U8 },
		[KHIST_ATTR_GLUE_WRITE_ENABLED] = { .type = NLA_U8 },
		[KHIST_ATTR_GLUE_READ_ACTIVE] = { .type = NLA_U8 },
		[KHIST_ATTR_GLUE_WRITE_ACTIVE] = { .type = NLA_U8 },
		[KHIST_ATTR_PUBLISH_INTERVAL_MS] = { .type = NLA_U32 },
		[KHIST_ATTR_BOUND_MAP_ID] = { .type = NLA_U32 },
		[KHIST_ATTR_STATS] = { .type = NLA_NESTED },
		[KHIST_ATTR_FEATURES] = { .type = NLA_U32 },
		[KHIST_ATTR_PROBE_KIND] = { .type = NLA_STRING },
	};
	struct kmod_request *request = arg;
	struct kmod_info *info = request->info;
	struct nlattr *tb[KHIST_ATTR_MAX + 1];

	if (!info)
		return NL_OK;
	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, KHIST_ATTR_MAX, policy)) {
		request->error = -EPROTO;
		return NL_STOP;
	}
	if (tb[KHIST_ATTR_VERSION])
		snprintf(info->version, sizeof(info->version), "%s",
			 nla_get_string(tb[KHIST_ATTR_VERSION]));
#define GET_FLAG(attr, field) \
	do { if (tb[attr]) info->field = nla_get_u8(tb[attr]); } while (0)
	GET_FLAG(KHIST_ATTR_GLUE_READ_ENABLED, read_enabled);
	GET_FLAG(KHIST_ATTR_GLUE_WRITE_ENABLED, write_enabled);
	GET_FLAG(KHIST_ATTR_GLUE_READ_ACTIVE, read_active);
	GET_FLAG(KHIST_ATTR_GLUE_WRITE_ACTIVE, write_active);
#undef GET_FLAG
	if (tb[KHIST_ATTR_PUBLISH_INTERVAL_MS])
		info->publish_interval_ms = nla_get_u32(tb[KHIST_ATTR_PUBLISH_INTERVAL_MS]);
	if (tb[KHIST_ATTR_BOUND_MAP_ID])
		info->bound_map_id = nla_get_u32(tb[KHIST_ATTR_BOUND_MAP_ID]);
	if (tb[KHIST_ATTR_FEATURES])
		info->features = nla_get_u32(tb[KHIST_ATTR_FEATURES]);
	if (tb[KHIST_ATTR_PROBE_KIND])
		snprintf(info->probe_kind, sizeof(info->probe_kind), "%s",
			 nla_get_string(tb[KHIST_ATTR_PROBE_KIND]));
	if (tb[KHIST_ATTR_STATS])
		parse_stats(tb[KHIST_ATTR_STATS], info);
	return NL_OK;
}

struct nl_msg *kmod_new_request(struct kmod_client *client, uint8_t cmd)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (!msg)
		return NULL;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, client->family, 0,
			 NLM_F_REQUEST | NLM_F_ACK, cmd, KHIST_GENL_VERSION)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

static int transact(struct kmod_client *client, struct nl_msg *msg, struct kmod_info *info)
{
	struct kmod_request request = { .client = client, .info = info };
	struct nl_cb *cb;
	int err;

	client->error[0] = '\0';
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	nl_cb_err(cb, NL_CB_CUSTOM, on_error, &request);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_ack, &request);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_reply, &request);
	err = nl_send_auto(client->sock, msg);
	nlmsg_free(msg);
	if (err < 0) {
		nl_cb_put(cb);
		return -EIO;
	}
	while (!request.done && !request.error) {
		err = nl_recvmsgs(client->sock, cb);
		if (err < 0 && !request.error)
			request.error = -EIO;
	}
	nl_cb_put(cb);
	return request.error;
}

int kmod_send(struct kmod_client *client, struct nl_msg *msg)
{
	return transact(client, msg, NULL);
}

static int simple_request(struct kmod_client *client, uint8_t cmd, struct kmod_info *info)
{
	struct nl_msg *msg = kmod_new_request(client, cmd);

	if (!msg)
		return -ENOMEM;
	return transact(client, msg, info);
}

int kmod_get_info(struct kmod_client *client, struct kmod_info *info)
{
	memset(info, 0, sizeof(*info));
	return simple_request(client, KHIST_CMD_GET_INFO, info);
}

int kmod_set_config(struct kmod_client *client, const struct kmod_config *config)
{
	struct nl_msg *msg = kmod_new_request(client, KHIST_CMD_SET_CONFIG);

	if (!msg)
		return -ENOMEM;
	if ((config->read_enabled >= 0 &&
	     nla_put_u8(msg, KHIST_ATTR_GLUE_READ_ENABLED, config->read_enabled)) ||
	    (config->write_enabled >= 0 &&
	     nla_put_u8(msg, KHIST_ATTR_GLUE_WRITE_ENABLED, config->write_enabled)) ||
	    (config->publish_interval_ms >= 0 &&
	     nla_put_u32(msg, KHIST_ATTR_PUBLISH_INTERVAL_MS, config->publish_interval_ms))) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	return transact(client, msg, NULL);
}

int kmod_publish(struct kmod_client *client)
{
	return simple_request(client, KHIST_CMD_PUBLISH, NULL);
}

int kmod_unbind_map(struct kmod_client *client)
{
	return simple_request(client, KHIST_CMD_UNBIND_MAP, NULL);
}

int kmod_bind_map_fd(struct kmod_client *client, int map_fd)
{
	struct nl_msg *msg = kmod_new_request(client, KHIST_CMD_BIND_MAP);

	if (!msg)
		return -ENOMEM;
	if (nla_put_u32(msg, KHIST_ATTR_MAP_FD, (uint32_t)map_fd)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	return transact(client, msg, NULL);
}
