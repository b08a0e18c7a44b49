// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <microhttpd.h>
#include <zlib.h>

#include "http.h"
#include "json.h"
#include "loader.h"
#include "prometheus.h"
#include "stacks.h"

/* Headers and request line together; a GET needs far less. */
#define REQUEST_MEMORY_LIMIT	(16 * 1024)
#define CONNECTION_TIMEOUT_S	10
#define POLLING_THREADS		2
/* zlib's fastest level: a 5,000-line page in well under a millisecond, still ~10x smaller. */
#define GZIP_LEVEL		1

struct http_server {
	struct MHD_Daemon *daemon;
	struct http_context *context;
};

int http_listen(const struct sockaddr *addr, socklen_t len, const char *text, char *error,
		size_t size)
{
	int one = 1, fd, err;

	fd = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		err = -errno;
		snprintf(error, size, "cannot create a socket for %s: %s", text, strerror(-err));
		return err;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, addr, len) || listen(fd, 128)) {
		err = -errno;
		snprintf(error, size, "cannot listen on %s: %s", text, strerror(-err));
		close(fd);
		return err;
	}
	return fd;
}

static enum MHD_Result respond(struct MHD_Connection *connection, unsigned int status,
			       const char *type, char *body, size_t len, bool owned)
{
	struct MHD_Response *response;
	enum MHD_Result result;

	response = MHD_create_response_from_buffer(len, body, owned ? MHD_RESPMEM_MUST_FREE :
						   MHD_RESPMEM_PERSISTENT);
	if (!response) {
		if (owned)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	result = MHD_queue_response(connection, status, response);
	MHD_destroy_response(response);
	return result;
}

static enum MHD_Result respond_text(struct MHD_Connection *connection, unsigned int status,
				    const char *text)
{
	return respond(connection, status, "text/plain; charset=utf-8", (char *)text, strlen(text),
		       false);
}

/* One snapshot per request: nothing is shared between requests but the options. */
static int take(struct http_context *context, struct snapshot *snapshot, bool self)
{
	struct snapshot_options options;
	struct error_context error = {};
	int err;

	pthread_rwlock_rdlock(context->lock);
	options = *context->snapshot;
	options.self = self;
	if (!self) {
		options.module = false;
		options.kmod_stats_pin = NULL;
	}
	err = snapshot_take(snapshot, &options, &error);
	pthread_rwlock_unlock(context->lock);
	return err;
}

/* True when the client takes gzip (a q-value of 0 refuses it). */
static bool accepts_gzip(struct MHD_Connection *connection)
{
	const char *accept = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
							 MHD_HTTP_HEADER_ACCEPT_ENCODING);

	for (const char *at = accept; at && (at = strcasestr(at, "gzip")); at += 4) {
		const char *end = at + 4;

		while (*end == ' ')
			end++;
		if (*end == ';') {
			const char *q = strcasestr(end, "q=");
			const char *next = strchr(end, ',');

			if (q && (!next || q < next) && strtod(q + 2, NULL) <= 0)
				return false;
		}
		return true;
	}
	return false;
}

char *http_gzip(char *body, size_t len, size_t *out_len)
{
	z_stream stream = {};
	size_t bound;
	char *out = NULL;

	/* windowBits 15 + 16: a gzip header and trailer around the deflate stream. */
	if (deflateInit2(&stream, GZIP_LEVEL, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		goto out;
	bound = deflateBound(&stream, len);
	out = malloc(bound);
	if (!out)
		goto end;
	stream.next_in = (Bytef *)body;
	stream.avail_in = len;
	stream.next_out = (Bytef *)out;
	stream.avail_out = bound;
	if (deflate(&stream, Z_FINISH) != Z_STREAM_END) {
		free(out);
		out = NULL;
		goto end;
	}
	*out_len = stream.total_out;
end:
	deflateEnd(&stream);
out:
	free(body);
	return out;
}

static enum MHD_Result respond_body(struct MHD_Connection *connection, const char *type,
				    char *body, size_t len)
{
	struct MHD_Response *response;
	enum MHD_Result result;
	bool gzip = accepts_gzip(connection);

	if (gzip) {
		body = http_gzip(body, len, &len);
		if (!body)
			return respond_text(connection, MHD_HTTP_INTERNAL_SERVER_ERROR,
					    "out of memory\n");
	}
	response = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!response) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(response, MHD_HTTP_HEADER_VARY, "Accept, Accept-Encoding");
	if (gzip)
		MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
	result = MHD_queue_response(connection, MHD_HTTP_OK, response);
	MHD_destroy_response(response);
	return result;
}

static enum MHD_Result metrics(struct MHD_Connection *connection, struct http_context *context)
{
	const char *accept = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
							 MHD_HTTP_HEADER_ACCEPT);
	struct exposition_options exposition;
	struct snapshot snapshot;
	char *body = NULL;
	size_t len = 0;
	int err;

	pthread_rwlock_rdlock(context->lock);
	exposition = *context->exposition;
	pthread_rwlock_unlock(context->lock);
	exposition.format = prometheus_negotiate(accept);
	if (take(context, &snapshot, true))
		return respond_text(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	err = exposition.format == FORMAT_PROTOBUF ?
	      protobuf_render(&snapshot, &exposition, &body, &len) :
	      prometheus_render(&snapshot, &exposition, &body, &len);
	snapshot_free(&snapshot);
	if (err)
		return respond_text(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "render failed\n");
	return respond_body(connection, prometheus_content_type(exposition.format), body, len);
}

static enum MHD_Result histograms(struct MHD_Connection *connection, struct http_context *context)
{
	struct snapshot snapshot;
	json_object *root;
	char *body;

	if (take(context, &snapshot, false))
		return respond_text(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	root = json_histograms(&snapshot);
	body = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
	json_object_put(root);
	snapshot_free(&snapshot);
	if (!body)
		return respond_text(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	return respond_body(connection, "application/json", body, strlen(body));
}

/*
 * The stacks of @desc, one request's own. Only the pin root is read under
 * the lock: naming the frames parses /proc/kallsyms, too long to hold up
 * a reload.
 */
static int take_stacks(struct http_context *context, const struct collector *collector,
		       const struct stack_desc *desc, struct stack_set *set,
		       struct error_context *error)
{
	char pin_root[PATH_MAX];

	pthread_rwlock_rdlock(context->lock);
	snprintf(pin_root, sizeof(pin_root), "%s", context->snapshot->pin_root);
	pthread_rwlock_unlock(context->lock);
	if (!loader_is_loaded(pin_root, collector))
		return error_fail(error, -ENOENT, "the %s collector is not loaded", collector->name);
	return stacks_take(set, pin_root, collector, desc, NULL, error);
}

/* Every loaded stack set, the busiest ?rows=N (default 100) stacks of each. */
static enum MHD_Result stacks(struct MHD_Connection *connection, struct http_context *context)
{
	const char *rows_text = MHD_lookup_connection_value(connection, MHD_GET_ARGUMENT_KIND,
							    "rows");
	json_object *root = json_object_new_object(), *list = json_object_new_array();
	unsigned long rows = 100;
	char *body, *end;

	if (rows_text) {
		errno = 0;
		rows = strtoul(rows_text, &end, 10);
		if (errno || end == rows_text || *end || rows < 1 || rows > 100000) {
			json_object_put(root);
			json_object_put(list);
			return respond_text(connection, MHD_HTTP_BAD_REQUEST,
					    "rows: accepted values are 1..100000\n");
		}
	}
	for (unsigned int c = 0; c < collector_count; c++)
		for (unsigned int d = 0; d < collectors[c]->stack_count; d++) {
			struct error_context error = {};
			struct stack_set set;
			char text[ERROR_TEXT_SIZE + 2];

			if (!take_stacks(context, collectors[c], &collectors[c]->stacks[d], &set,
					 &error)) {
				json_object_array_add(list, stacks_json(&set, rows));
				stacks_free(&set);
				continue;
			}
			/* Not loaded: not listed. Loaded but unreadable: the reason, not an empty list. */
			if (error.code == -ENOENT)
				continue;
			json_object_put(root);
			json_object_put(list);
			snprintf(text, sizeof(text), "%s\n", error.text);
			return respond(connection, MHD_HTTP_INTERNAL_SERVER_ERROR,
				       "text/plain; charset=utf-8", strdup(text), strlen(text), true);
		}
	json_object_object_add(root, "stacks", list);
	body = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
	json_object_put(root);
	if (!body)
		return respond_text(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	return respond_body(connection, "application/json", body, strlen(body));
}

static enum MHD_Result flamegraph(struct MHD_Connection *connection, struct http_context *context)
{
	const struct collector *collector;
	const struct stack_desc *desc = collector_find_stacks("offcpu", &collector);
	struct error_context error = {};
	struct stack_set set;
	char *body = NULL, text[ERROR_TEXT_SIZE + 2];
	size_t len = 0;
	FILE *out;
	int err;

	if (!desc)
		error_fail(&error, -ENOENT, "no collector has offcpu stacks");
	if (!desc || take_stacks(context, collector, desc, &set, &error)) {
		snprintf(text, sizeof(text), "%s\n", error.text);
		return respond(connection, error.code == -ENOENT ? MHD_HTTP_NOT_FOUND :
			       MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain; charset=utf-8",
			       strdup(text), strlen(text), true);
	}
	out = open_memstream(&body, &len);
	err = out ? stacks_write_svg(out, &set, "khistd: off-CPU time by kernel stack") : -ENOMEM;
	if (out && fclose(out) && !err)
		err = -ENOMEM;
	stacks_free(&set);
	if (err) {
		free(body);
		return respond_text(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "render failed\n");
	}
	return respond_body(connection, "image/svg+xml", body, len);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *connection, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **request_state)
{
	struct http_context *context = cls;

	(void)version;
	(void)upload_data;
	/* Bodies are not wanted: answer as soon as the headers are in. */
	if (*upload_data_size) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	*request_state = context;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return respond_text(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
	if (!strcmp(url, "/metrics"))
		return metrics(connection, context);
	if (!strcmp(url, "/api/v1/histograms"))
		return histograms(connection, context);
	if (!strcmp(url, "/api/v1/stacks"))
		return stacks(connection, context);
	if (!strcmp(url, "/flamegraph.svg"))
		return flamegraph(connection, context);
	if (!strcmp(url, "/healthz"))
		return *context->ready ? respond_text(connection, MHD_HTTP_OK, "ok\n") :
		       respond_text(connection, MHD_HTTP_SERVICE_UNAVAILABLE, "starting\n");
	if (!strcmp(url, "/"))
		return respond_text(connection, MHD_HTTP_OK,
				    "khistd: /metrics /api/v1/histograms /api/v1/stacks "
				    "/flamegraph.svg /healthz\n");
	return respond_text(connection, MHD_HTTP_NOT_FOUND, "not found\n");
}

struct http_server *http_start(int listen_fd, unsigned int max_connections,
			       struct http_context *context, char *error, size_t size)
{
	struct http_server *server = calloc(1, sizeof(*server));

	if (!server) {
		snprintf(error, size, "out of memory");
		return NULL;
	}
	server->context = context;
	server->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL,
					  NULL, handle, context,
					  MHD_OPTION_LISTEN_SOCKET, listen_fd,
					  MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)POLLING_THREADS,
					  MHD_OPTION_CONNECTION_LIMIT, max_connections,
					  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)CONNECTION_TIMEOUT_S,
					  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)REQUEST_MEMORY_LIMIT,
					  MHD_OPTION_END);
	if (!server->daemon) {
		snprintf(error, size, "the HTTP server did not start");
		free(server);
		return NULL;
	}
	return server;
}

void http_stop(struct http_server *server)
{
	if (!server)
		return;
	MHD_stop_daemon(server->daemon);
	free(server);
}
