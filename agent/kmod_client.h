/* SPDX-License-Identifier: GPL-2.0 */
/* libnl-genl client of the khist module's generic netlink family. */
#ifndef KHIST_KMOD_CLIENT_H
#define KHIST_KMOD_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include <uapi/khist.h>

struct nl_msg;
struct kmod_client;

struct kmod_info {
	char version[32];
	bool read_enabled, write_enabled;	/* consumers may attach */
	bool read_active, write_active;		/* the probe is registered now */
	uint32_t publish_interval_ms;
	uint32_t bound_map_id;			/* 0: none */
	uint32_t features;			/* enum khist_feature bits */
	char probe_kind[16];			/* behind the glue: fprobe, kretprobe */
	uint64_t stats[KHIST_STAT_COUNT];
};

/* A field left at -1 is not sent. */
struct kmod_config {
	int read_enabled;
	int write_enabled;
	long long publish_interval_ms;
};
#define KMOD_CONFIG_UNCHANGED { -1, -1, -1 }

/*
 * Opens a socket and resolves the family. -ENOENT when the module is not
 * loaded; other negative errnos from the socket layer.
 */
int kmod_client_open(struct kmod_client **client);
void kmod_client_close(struct kmod_client *client);

/* Each returns 0 or a negative errno; see kmod_client_error() for why. */
int kmod_get_info(struct kmod_client *client, struct kmod_info *info);
int kmod_set_config(struct kmod_client *client, const struct kmod_config *config);
int kmod_publish(struct kmod_client *client);
int kmod_unbind_map(struct kmod_client *client);
/* Binds the statistics map @map_fd (KHIST_FEATURE_NETLINK_BIND modules only). */
int kmod_bind_map_fd(struct kmod_client *client, int map_fd);

/* A request for @cmd to add attributes to, sent with kmod_send(). */
struct nl_msg *kmod_new_request(struct kmod_client *client, uint8_t cmd);
/* Sends and frees @msg, waits for the acknowledgement. */
int kmod_send(struct kmod_client *client, struct nl_msg *msg);

/* The kernel's extended-ack message of the last failed request, or "". */
const char *kmod_client_error(const struct kmod_client *client);

#endif
