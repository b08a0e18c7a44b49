// SPDX-License-Identifier: GPL-2.0
/*
 * Generic netlink family "khist": module information, configuration and
 * control of the statistics map. Mutating commands need CAP_NET_ADMIN.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bpf.h>
#include <linux/err.h>
#include <net/genetlink.h>
#include <net/netlink.h>

#include "khist.h"
#include "khist_compat.h"

static const char * const khist_stat_names[KHIST_STAT_COUNT] = KHIST_STAT_NAMES;

/*
 * The policy checks types and lengths; ranges are checked by the handler so
 * that they fail with -EINVAL (the policy's range checks answer -ERANGE) and
 * are counted in the module's netlink error statistic.
 */
static const struct nla_policy khist_set_config_policy[KHIST_ATTR_MAX + 1] = {
	[KHIST_ATTR_GLUE_READ_ENABLED]	= { .type = NLA_U8 },
	[KHIST_ATTR_GLUE_WRITE_ENABLED]	= { .type = NLA_U8 },
	[KHIST_ATTR_PUBLISH_INTERVAL_MS] = { .type = NLA_U32 },
};

#if !KHIST_HAVE_KFUNC_MAP_ARG
static const struct nla_policy khist_bind_map_policy[KHIST_ATTR_MAX + 1] = {
	[KHIST_ATTR_MAP_FD]		= { .type = NLA_U32 },
};
#endif

static const int khist_enable_attrs[] = {
	KHIST_ATTR_GLUE_READ_ENABLED,
	KHIST_ATTR_GLUE_WRITE_ENABLED,
};

static struct genl_family khist_genl_family;

static int khist_put_stats(struct sk_buff *msg)
{
	struct nlattr *stats, *stat;
	u32 id;

	stats = nla_nest_start(msg, KHIST_ATTR_STATS);
	if (!stats)
		return -EMSGSIZE;
	for (id = 0; id < KHIST_STAT_COUNT; id++) {
		stat = nla_nest_start(msg, KHIST_ATTR_STAT);
		if (!stat ||
		    nla_put_u32(msg, KHIST_ATTR_STAT_ID, id) ||
		    nla_put_string(msg, KHIST_ATTR_STAT_NAME, khist_stat_names[id]) ||
		    nla_put_u64_64bit(msg, KHIST_ATTR_STAT_VALUE, khist_stat_read(id),
				      KHIST_ATTR_PAD))
			return -EMSGSIZE;
		nla_nest_end(msg, stat);
	}
	nla_nest_end(msg, stats);
	return 0;
}

static u32 khist_features(void)
{
	return (KHIST_HAVE_KFUNC_FILTER ? KHIST_FEATURE_PATH_KFUNC : 0) |
	       (KHIST_HAVE_TRUSTED_ARGS ? KHIST_FEATURE_TRUSTED_FILES : 0) |
	       (KHIST_HAVE_NULLABLE_ARGS ? KHIST_FEATURE_NULL_FILES : 0) |
	       (KHIST_HAVE_KFUNC_MAP_ARG ? KHIST_FEATURE_MAP_KFUNC : KHIST_FEATURE_NETLINK_BIND);
}

static int khist_fill_info(struct sk_buff *msg, struct genl_info *info)
{
	struct khist_glue_state read, write;
	void *hdr;

	hdr = genlmsg_put_reply(msg, info, &khist_genl_family, 0, KHIST_CMD_GET_INFO);
	if (!hdr)
		return -EMSGSIZE;
	khist_glue_get_state(KHIST_GLUE_READ, &read);
	khist_glue_get_state(KHIST_GLUE_WRITE, &write);
	if (nla_put_string(msg, KHIST_ATTR_VERSION, KHIST_VERSION_STRING) ||
	    nla_put_u8(msg, KHIST_ATTR_GLUE_READ_ENABLED, read.enabled) ||
	    nla_put_u8(msg, KHIST_ATTR_GLUE_WRITE_ENABLED, write.enabled) ||
	    nla_put_u8(msg, KHIST_ATTR_GLUE_READ_ACTIVE, read.active) ||
	    nla_put_u8(msg, KHIST_ATTR_GLUE_WRITE_ACTIVE, write.active) ||
	    nla_put_u32(msg, KHIST_ATTR_PUBLISH_INTERVAL_MS, khist_stats_interval()) ||
	    nla_put_u32(msg, KHIST_ATTR_BOUND_MAP_ID, khist_stats_bound_map_id()) ||
	    nla_put_u32(msg, KHIST_ATTR_FEATURES, khist_features()) ||
	    nla_put_string(msg, KHIST_ATTR_PROBE_KIND, khist_probe_kind) ||
	    khist_put_stats(msg)) {
		genlmsg_cancel(msg, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return 0;
}

static int khist_nl_get_info(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *msg;
	int err;

	khist_stat_inc(KHIST_STAT_NETLINK_REQUESTS);
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg) {
		khist_stat_inc(KHIST_STAT_NETLINK_ERRORS);
		return -ENOMEM;
	}
	err = khist_fill_info(msg, info);
	if (err) {
		nlmsg_free(msg);
		khist_stat_inc(KHIST_STAT_NETLINK_ERRORS);
		GENL_SET_ERR_MSG(info, "reply does not fit in one message");
		return err;
	}
	return genlmsg_reply(msg, info);
}

static int khist_nl_set_config(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr **attrs = info->attrs;

	khist_stat_inc(KHIST_STAT_NETLINK_REQUESTS);
	if (!attrs[KHIST_ATTR_GLUE_READ_ENABLED] && !attrs[KHIST_ATTR_GLUE_WRITE_ENABLED] &&
	    !attrs[KHIST_ATTR_PUBLISH_INTERVAL_MS]) {
		khist_stat_inc(KHIST_STAT_NETLINK_ERRORS);
		GENL_SET_ERR_MSG(info, "no configuration attribute given");
		return -EINVAL;
	}
	for (int i = 0; i < ARRAY_SIZE(khist_enable_attrs); i++) {
		const struct nlattr *flag = attrs[khist_enable_attrs[i]];

		if (flag && nla_get_u8(flag) > 1) {
			khist_stat_inc(KHIST_STAT_NETLINK_ERRORS);
			NL_SET_ERR_MSG_ATTR(info->extack, flag, "glue enable flag must be 0 or 1");
			return -EINVAL;
		}
	}
	if (attrs[KHIST_ATTR_PUBLISH_INTERVAL_MS] &&
	    nla_get_u32(attrs[KHIST_ATTR_PUBLISH_INTERVAL_MS]) > KHIST_PUBLISH_INTERVAL_MAX_MS) {
		khist_stat_inc(KHIST_STAT_NETLINK_ERRORS);
		/* A fixed message (6.1 has no formatted ones): it names the limit. */
		static_assert(KHIST_PUBLISH_INTERVAL_MAX_MS == 3600000U);
		NL_SET_ERR_MSG_ATTR(info->extack, attrs[KHIST_ATTR_PUBLISH_INTERVAL_MS],
				    "publish interval out of range (0..3600000 ms)");
		return -EINVAL;
	}
	/* Validated as a whole: apply. */
	if (attrs[KHIST_ATTR_GLUE_READ_ENABLED])
		khist_glue_set_enabled(KHIST_GLUE_READ,
				       nla_get_u8(attrs[KHIST_ATTR_GLUE_READ_ENABLED]));
	if (attrs[KHIST_ATTR_GLUE_WRITE_ENABLED])
		khist_glue_set_enabled(KHIST_GLUE_WRITE,
				       nla_get_u8(attrs[KHIST_ATTR_GLUE_WRITE_ENABLED]));
	if (attrs[KHIST_ATTR_PUBLISH_INTERVAL_MS])
		khist_stats_set_interval(nla_get_u32(attrs[KHIST_ATTR_PUBLISH_INTERVAL_MS]));
	return 0;
}

static int khist_nl_publish(struct sk_buff *skb, struct genl_info *info)
{
	int err;

	khist_stat_inc(KHIST_STAT_NETLINK_REQUESTS);
	err = khist_stats_publish();
	if (err) {
		khist_stat_inc(KHIST_STAT_NETLINK_ERRORS);
		GENL_SET_ERR_MSG(info, "no statistics map is bound");
	}
	return err;
}

static int khist_nl_unbind_map(struct sk_buff *skb, struct genl_info *info)
{
	int err;

	khist_stat_inc(KHIST_STAT_NETLINK_REQUESTS);
	err = khist_stats_unbind_map();
	if (err) {
		khist_stat_inc(KHIST_STAT_NETLINK_ERRORS);
		GENL_SET_ERR_MSG(info, "no statistics map is bound");
	}
	return err;
}

#if !KHIST_HAVE_KFUNC_MAP_ARG
/* The sender's own descriptor: generic netlink runs this in its sendmsg(). */
static int khist_nl_bind_map(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *fd = info->attrs[KHIST_ATTR_MAP_FD];
	struct bpf_map *map;
	int err;

	khist_stat_inc(KHIST_STAT_NETLINK_REQUESTS);
	if (!fd) {
		khist_stat_inc(KHIST_STAT_NETLINK_ERRORS);
		GENL_SET_ERR_MSG(info, "no map file descriptor given");
		return -EINVAL;
	}
	map = bpf_map_get(nla_get_u32(fd));
	if (IS_ERR(map)) {
		khist_stat_inc(KHIST_STAT_NETLINK_ERRORS);
		NL_SET_ERR_MSG_ATTR(info->extack, fd, "not the file descriptor of a BPF map");
		return PTR_ERR(map);
	}
	/* The binding takes a reference of its own. */
	err = khist_stats_bind_map(map);
	bpf_map_put(map);
	if (err)
		khist_stat_inc(KHIST_STAT_NETLINK_ERRORS);
	if (err == -EINVAL)
		NL_SET_ERR_MSG_ATTR(info->extack, fd,
				    "the map must be an ARRAY or PERCPU_ARRAY with u32 keys, u64 "
				    "values, an entry per statistic, and writable");
	else if (err)
		GENL_SET_ERR_MSG(info, "the module is going away");
	return err;
}
#endif

static const struct genl_ops khist_genl_ops[] = {
	{
		.cmd = KHIST_CMD_GET_INFO,
		.doit = khist_nl_get_info,
	},
	{
		.cmd = KHIST_CMD_SET_CONFIG,
		.doit = khist_nl_set_config,
		.policy = khist_set_config_policy,
		.maxattr = KHIST_ATTR_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KHIST_CMD_PUBLISH,
		.doit = khist_nl_publish,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KHIST_CMD_UNBIND_MAP,
		.doit = khist_nl_unbind_map,
		.flags = GENL_ADMIN_PERM,
	},
#if !KHIST_HAVE_KFUNC_MAP_ARG
	{
		.cmd = KHIST_CMD_BIND_MAP,
		.doit = khist_nl_bind_map,
		.policy = khist_bind_map_policy,
		.maxattr = KHIST_ATTR_MAX,
		.flags = GENL_ADMIN_PERM,
	},
#endif
};

static struct genl_family khist_genl_family __ro_after_init = {
	.name = KHIST_GENL_NAME,
	.version = KHIST_GENL_VERSION,
	.module = THIS_MODULE,
	.ops = khist_genl_ops,
	.n_ops = ARRAY_SIZE(khist_genl_ops),
	/* Strict validation for every command; commands without a policy take no attributes. */
	.resv_start_op = KHIST_CMD_UNSPEC + 1,
};

int khist_netlink_init(void)
{
	return genl_register_family(&khist_genl_family);
}

void khist_netlink_exit(void)
{
	genl_unregister_family(&khist_genl_family);
}
