/* SPDX-License-Identifier: GPL-2.0 */
/*
 * khistd's HTTP endpoint (libmicrohttpd): GET /metrics, /api/v1/histograms,
 * /api/v1/stacks, /flamegraph.svg and /healthz, with bounded connections, request sizes and time per
 * connection, served from event-driven threads so a slow or garbage client
 * does not hold up a scrape.
 */
#ifndef KHIST_HTTP_H
#define KHIST_HTTP_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/socket.h>

#include "prometheus.h"
#include "snapshot.h"

struct http_context {
	pthread_rwlock_t *lock;		/* held for reading while a snapshot is taken */
	const struct snapshot_options *snapshot;
	const struct exposition_options *exposition;	/* its format is negotiated per request */
	volatile bool *ready;
};

struct http_server;

/* A listening TCP socket on @addr. The fd, or -errno with the reason in @error. */
int http_listen(const struct sockaddr *addr, socklen_t len, const char *text, char *error,
		size_t size);
struct http_server *http_start(int listen_fd, unsigned int max_connections,
			       struct http_context *context, char *error, size_t size);
void http_stop(struct http_server *server);
/* @body gzipped (as served) into a new buffer; @body is freed either way. NULL: no memory. */
char *http_gzip(char *body, size_t len, size_t *out_len);

#endif
