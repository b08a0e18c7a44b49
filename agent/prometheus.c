// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <khist_hist.h>

#include "prometheus.h"

/*
 * The page is built in one growing buffer and written out at the end:
 * formatting thousands of samples through stdio calls cost more than
 * reading the maps.
 */
struct writer {
	char *data;
	size_t len, size;
	bool openmetrics;
	bool failed;
};

static void put(struct writer *w, const char *text, size_t len)
{
	if (w->len + len > w->size) {
		size_t size = w->size ? w->size : 65536;
		char *data;

		while (size < w->len + len)
			size *= 2;
		data = realloc(w->data, size);
		if (!data) {
			w->failed = true;
			return;
		}
		w->data = data;
		w->size = size;
	}
	memcpy(w->data + w->len, text, len);
	w->len += len;
}

static void put_str(struct writer *w, const char *text)
{
	put(w, text, strlen(text));
}

static void put_char(struct writer *w, char c)
{
	put(w, &c, 1);
}

static void put_u64(struct writer *w, unsigned long long value)
{
	char digits[24], *p = digits + sizeof(digits);

	do {
		*--p = '0' + value % 10;
		value /= 10;
	} while (value);
	put(w, p, digits + sizeof(digits) - p);
}

/* HELP text: backslash and newline escaped. */
static void put_help(struct writer *w, const char *text)
{
	for (; *text; text++) {
		if (*text == '\\')
			put_str(w, "\\\\");
		else if (*text == '\n')
			put_str(w, "\\n");
		else
			put_char(w, *text);
	}
}

/*
 * A label value: backslash, quote and newline escaped, and bytes that are
 * not valid UTF-8 (file names can hold anything) replaced by '?'.
 */
static void put_label_value(struct writer *w, const char *value, size_t max)
{
	const unsigned char *p = (const unsigned char *)value, *end = p + strnlen(value, max);

	while (p < end) {
		int extra = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2 :
			    (*p & 0xf8) == 0xf0 ? 3 : -1;
		bool valid = extra >= 0 && p + extra < end;

		for (int i = 1; valid && i <= extra; i++)
			valid = (p[i] & 0xc0) == 0x80;
		if (!valid) {
			put_char(w, '?');
			p++;
			continue;
		}
		if (*p == '\\')
			put_str(w, "\\\\");
		else if (*p == '"')
			put_str(w, "\\\"");
		else if (*p == '\n')
			put_str(w, "\\n");
		else
			put(w, (const char *)p, extra + 1);
		p += extra + 1;
	}
}

/*
 * # HELP / # TYPE (/ # UNIT) of a family. @base is the family name without
 * the _total of counters: OpenMetrics names the family so, 0.0.4 does not.
 */
static void family_header(struct writer *w, const char *base, const char *type, const char *unit,
			  const char *help)
{
	const char *suffix = !w->openmetrics && !strcmp(type, "counter") ? "_total" : "";

	put_str(w, "# HELP ");
	put_str(w, base);
	put_str(w, suffix);
	put_char(w, ' ');
	put_help(w, help);
	put_str(w, "\n# TYPE ");
	put_str(w, base);
	put_str(w, suffix);
	put_char(w, ' ');
	put_str(w, type);
	put_char(w, '\n');
	if (w->openmetrics && unit) {
		put_str(w, "# UNIT ");
		put_str(w, base);
		put_char(w, ' ');
		put_str(w, unit);
		put_char(w, '\n');
	}
}

static void sample_start(struct writer *w, const char *name, const char *suffix,
			 const struct snapshot_label *labels, unsigned int count)
{
	put_str(w, name);
	put_str(w, suffix);
	if (!count)
		return;
	put_char(w, '{');
	for (unsigned int i = 0; i < count; i++) {
		if (i)
			put_char(w, ',');
		put_str(w, labels[i].name);
		put_str(w, "=\"");
		put_label_value(w, labels[i].value, 4096);
		put_char(w, '"');
	}
	put_char(w, '}');
}

static void sample_u64(struct writer *w, const char *name, const char *suffix,
		       const struct snapshot_label *labels, unsigned int count, unsigned long long value)
{
	sample_start(w, name, suffix, labels, count);
	put_char(w, ' ');
	put_u64(w, value);
	put_char(w, '\n');
}

/* An integer count of 10^-@decimals units, printed exactly ("0.000001023"). */
static void format_scaled(char *buf, size_t size, unsigned long long value, int decimals)
{
	unsigned long long scale = 1;
	int len;

	for (int i = 0; i < decimals; i++)
		scale *= 10;
	len = snprintf(buf, size, "%llu.%0*llu", value / scale, decimals, value % scale);
	while (len > 0 && buf[len - 1] == '0')
		buf[--len] = '\0';
	if (len > 0 && buf[len - 1] == '.')
		buf[--len] = '\0';
}

static void sample_scaled(struct writer *w, const char *name, const char *suffix,
			  const struct snapshot_label *labels, unsigned int count, unsigned long long value,
			  int decimals)
{
	char text[48];

	format_scaled(text, sizeof(text), value, decimals);
	sample_start(w, name, suffix, labels, count);
	put_char(w, ' ');
	put_str(w, text);
	put_char(w, '\n');
}

static void render_histogram(struct writer *w, const struct snapshot_family *family,
			     int classic_schema)
{
	const struct bucket_layout *layout = &family->buckets;
	unsigned int classic = buckets_classic(layout, classic_schema, NULL, NULL);
	unsigned int *ends = calloc(classic + 1, sizeof(*ends));
	double *bounds = calloc(classic + 1, sizeof(*bounds));
	char (*le)[32] = calloc(classic + 1, sizeof(*le));
	struct writer series = {};

	/* The bucket bounds are the same for every series: format them once. */
	if (!ends || !bounds || !le) {
		w->failed = true;
		goto out;
	}
	buckets_classic(layout, classic_schema, ends, bounds);
	for (unsigned int i = 0; i < classic; i++) {
		/* Log-linear bounds are integers of ns: printed exactly as decimals. */
		if (layout->kind == KHIST_LAYOUT_LOG_LINEAR)
			format_scaled(le[i], sizeof(le[i]), buckets_upper(layout, ends[i]),
				      family->decimals);
		else
			buckets_format_bound(le[i], sizeof(le[i]), bounds[i]);
	}
	for (unsigned int s = 0; s < family->series_count; s++) {
		const struct snapshot_series *one = &family->series[s];
		unsigned int bucket = 0;
		__u64 cumulative = 0;

		/* "NAME_bucket{LABELS,le=" once per series. */
		series.len = 0;
		put_str(&series, family->name);
		put_str(&series, "_bucket{");
		for (unsigned int l = 0; l < one->label_count; l++) {
			put_str(&series, one->labels[l].name);
			put_str(&series, "=\"");
			put_label_value(&series, one->labels[l].value, 4096);
			put_str(&series, "\",");
		}
		put_str(&series, "le=\"");
		if (series.failed) {
			w->failed = true;
			break;
		}
		for (unsigned int i = 0; i < classic; i++) {
			for (; bucket <= ends[i]; bucket++)
				cumulative += one->buckets[bucket];
			put(w, series.data, series.len);
			put_str(w, le[i]);
			put_str(w, "\"} ");
			put_u64(w, cumulative);
			put_char(w, '\n');
		}
		put(w, series.data, series.len);
		put_str(w, "+Inf\"} ");
		put_u64(w, one->count);
		put_char(w, '\n');
		sample_scaled(w, family->name, "_sum", one->labels, one->label_count, one->sum,
			      family->decimals);
		sample_u64(w, family->name, "_count", one->labels, one->label_count, one->count);
	}
out:
	free(series.data);
	free(le);
	free(bounds);
	free(ends);
}

static const char *const type_names[] = {
	[METRIC_COUNTER] = "counter",
	[METRIC_GAUGE] = "gauge",
	[METRIC_HISTOGRAM] = "histogram",
};

static void render_family(struct writer *w, const struct snapshot_family *family,
			  int classic_schema)
{
	const char *suffix = family->type == METRIC_COUNTER ? "_total" : "";

	family_header(w, family->name, type_names[family->type], family->unit, family->help);
	if (family->type == METRIC_HISTOGRAM) {
		render_histogram(w, family, classic_schema);
		return;
	}
	for (unsigned int s = 0; s < family->series_count; s++) {
		const struct snapshot_series *one = &family->series[s];

		if (family->decimals)
			sample_scaled(w, family->name, suffix, one->labels, one->label_count, one->value,
				      family->decimals);
		else
			sample_u64(w, family->name, suffix, one->labels, one->label_count, one->value);
	}
}

int prometheus_render(const struct snapshot *snapshot, const struct exposition_options *options,
		      char **body, size_t *len)
{
	struct writer w = { .openmetrics = options->format == FORMAT_OPENMETRICS };
	struct timespec end;
	char duration[32];

	for (unsigned int i = 0; i < snapshot->family_count; i++)
		render_family(&w, &snapshot->families[i], options->classic_schema);
	clock_gettime(CLOCK_MONOTONIC, &end);
	format_scaled(duration, sizeof(duration),
		      (end.tv_sec - snapshot->started.tv_sec) * 1000000000ULL + end.tv_nsec -
		      snapshot->started.tv_nsec, 9);
	family_header(&w, "khist_scrape_duration_seconds", "gauge", "seconds",
		      "Time khistd took to read the maps and render this page");
	sample_start(&w, "khist_scrape_duration_seconds", "", NULL, 0);
	put_char(&w, ' ');
	put_str(&w, duration);
	put_char(&w, '\n');
	if (w.openmetrics)
		put_str(&w, "# EOF\n");
	if (w.failed) {
		free(w.data);
		return -ENOMEM;
	}
	*body = w.data;
	*len = w.len;
	return 0;
}

static bool media_is(const char *range, size_t len, const char *type)
{
	return strlen(type) == len && !strncasecmp(range, type, len);
}

/* The q-value of one media range's parameters ("; q=0.5"); 1 without one. */
static double range_quality(const char *params, const char *end, bool *other_proto)
{
	double quality = 1;

	while (params < end) {
		const char *next = memchr(params, ';', end - params);
		size_t len;

		if (!next)
			next = end;
		while (params < next && (*params == ' ' || *params == '\t' || *params == ';'))
			params++;
		len = next - params;
		if (len > 2 && !strncasecmp(params, "q=", 2))
			quality = strtod(params + 2, NULL);
		else if (len > 6 && !strncasecmp(params, "proto=", 6))
			*other_proto = !media_is(params + 6, len - 6, "io.prometheus.client.MetricFamily");
		else if (len > 9 && !strncasecmp(params, "encoding=", 9))
			*other_proto |= !media_is(params + 9, len - 9, "delimited");
		params = next + 1;
	}
	return quality;
}

enum exposition_format prometheus_negotiate(const char *accept)
{
	/* Ties go to the richer format: index order is the preference. */
	static const enum exposition_format preference[] = { FORMAT_PROTOBUF, FORMAT_OPENMETRICS,
							     FORMAT_TEXT };
	double best[3] = { 0, 0, 0 };

	while (accept && *accept) {
		const char *end = strchr(accept, ','), *params, *type = accept;
		bool other_proto = false;
		double quality;
		size_t len;
		int format = -1;

		if (!end)
			end = accept + strlen(accept);
		while (type < end && (*type == ' ' || *type == '\t'))
			type++;
		params = memchr(type, ';', end - type);
		if (!params)
			params = end;
		len = params - type;
		while (len && (type[len - 1] == ' ' || type[len - 1] == '\t'))
			len--;
		quality = range_quality(params, end, &other_proto);
		if (media_is(type, len, "application/vnd.google.protobuf") && !other_proto)
			format = 0;
		else if (media_is(type, len, "application/openmetrics-text"))
			format = 1;
		else if (media_is(type, len, "text/plain") || media_is(type, len, "text/*") ||
			 media_is(type, len, "*/*"))
			format = 2;
		if (format >= 0 && quality > best[format])
			best[format] = quality;
		accept = *end ? end + 1 : end;
	}
	if (best[0] > 0 && best[0] >= best[1] && best[0] >= best[2])
		return preference[0];
	if (best[1] > 0 && best[1] >= best[2])
		return preference[1];
	return preference[2];
}

const char *prometheus_content_type(enum exposition_format format)
{
	return format == FORMAT_PROTOBUF ? PROTOBUF_TYPE :
	       format == FORMAT_OPENMETRICS ? OPENMETRICS_TEXT_TYPE : PROMETHEUS_TEXT_TYPE;
}
