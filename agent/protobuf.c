// SPDX-License-Identifier: GPL-2.0
/*
 * The protobuf exposition of a snapshot: a stream of io.prometheus.client
 * MetricFamily messages, each after its length as a varint. Exponential
 * histograms become native histograms (schema, zero bucket, spans of
 * buckets as deltas), one series however many buckets they have.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics.pb-c.h"
#include "prometheus.h"

/* A zero run this long or shorter stays inside a span: cheaper than a new span. */
#define SPAN_GAP_MAX	2

struct output {
	unsigned char *data;
	size_t len, capacity;
	bool failed;
};

static bool reserve(struct output *out, size_t more)
{
	size_t capacity = out->capacity ? out->capacity : 65536;
	unsigned char *data;

	if (out->failed)
		return false;
	if (out->len + more <= out->capacity)
		return true;
	while (capacity < out->len + more)
		capacity *= 2;
	data = realloc(out->data, capacity);
	if (!data) {
		out->failed = true;
		return false;
	}
	out->data = data;
	out->capacity = capacity;
	return true;
}

static void put_family(struct output *out, const Io__Prometheus__Client__MetricFamily *family)
{
	size_t size = io__prometheus__client__metric_family__get_packed_size(family);
	unsigned char varint[10];
	size_t n = 0;

	for (size_t v = size; ; v >>= 7) {
		varint[n++] = (v & 0x7f) | (v >= 0x80 ? 0x80 : 0);
		if (v < 0x80)
			break;
	}
	if (!reserve(out, n + size))
		return;
	memcpy(out->data + out->len, varint, n);
	out->len += n;
	out->len += io__prometheus__client__metric_family__pack(family, out->data + out->len);
}

static double scaled(__u64 value, unsigned int decimals)
{
	double v = (double)value;

	for (unsigned int i = 0; i < decimals; i++)
		v /= 10;
	return v;
}

/* Everything one family's messages point to, freed once it is packed. */
struct family_memory {
	Io__Prometheus__Client__Metric *metrics, **metric_pointers;
	Io__Prometheus__Client__LabelPair *labels, **label_pointers;
	Io__Prometheus__Client__Counter *counters;
	Io__Prometheus__Client__Gauge *gauges;
	Io__Prometheus__Client__Histogram *histograms;
	Io__Prometheus__Client__BucketSpan *spans, **span_pointers;
	Io__Prometheus__Client__Bucket *classic, **classic_pointers;
	int64_t *deltas;
	unsigned int *ends;
	double *bounds;
};

static void family_memory_free(struct family_memory *m)
{
	free(m->metrics);
	free(m->metric_pointers);
	free(m->labels);
	free(m->label_pointers);
	free(m->counters);
	free(m->gauges);
	free(m->histograms);
	free(m->spans);
	free(m->span_pointers);
	free(m->classic);
	free(m->classic_pointers);
	free(m->deltas);
	free(m->ends);
	free(m->bounds);
	memset(m, 0, sizeof(*m));
}

/*
 * Native buckets of one series as spans of non-zero buckets (a zero run of
 * at most SPAN_GAP_MAX stays inside a span) and deltas. With @h NULL, only
 * adds to @span_count and @delta_count what they would take, to size the
 * arrays; else fills @h from @spans/@deltas on.
 */
static void native_buckets(Io__Prometheus__Client__Histogram *h, const struct bucket_layout *layout,
			   const __u64 *counts, Io__Prometheus__Client__BucketSpan *spans,
			   Io__Prometheus__Client__BucketSpan **span_pointers, int64_t *deltas,
			   size_t *span_count, size_t *delta_count)
{
	int previous_end = 0;	/* index after the last bucket of the previous span */
	__u64 previous = 0;
	unsigned int b = 1;

	if (h) {
		h->positive_span = span_pointers;
		h->positive_delta = deltas;
	}
	while (b < layout->count) {
		Io__Prometheus__Client__BucketSpan *span;
		unsigned int end, zeros;

		while (b < layout->count && !counts[b])
			b++;
		if (b == layout->count)
			break;
		for (end = b, zeros = 0; end < layout->count && zeros <= SPAN_GAP_MAX; end++)
			zeros = counts[end] ? 0 : zeros + 1;
		end -= zeros;
		if (!h) {
			*span_count += 1;
			*delta_count += end - b;
			b = end;
			continue;
		}
		span = &spans[h->n_positive_span];
		io__prometheus__client__bucket_span__init(span);
		span->has_offset = span->has_length = 1;
		span->offset = buckets_native_index(layout, b) - (h->n_positive_span ? previous_end : 0);
		span->length = end - b;
		span_pointers[h->n_positive_span++] = span;
		for (; b < end; b++) {
			deltas[h->n_positive_delta++] = (int64_t)(counts[b] - previous);
			previous = counts[b];
		}
		previous_end = buckets_native_index(layout, end - 1) + 1;
	}
}

static int histogram_family(const struct snapshot_family *family,
			    const struct exposition_options *options,
			    Io__Prometheus__Client__MetricFamily *out, struct family_memory *m)
{
	const struct bucket_layout *layout = &family->buckets;
	bool native = layout->kind == KHIST_LAYOUT_EXPONENTIAL;
	bool classic = !native || options->classic_in_protobuf;
	unsigned int series = family->series_count;
	unsigned int classic_count = classic ? buckets_classic(layout, options->classic_schema,
							       NULL, NULL) : 0;
	size_t span_count = 0, delta_count = 0;

	/* Exactly what the series need: a row of 354 buckets holds a few dozen. */
	for (unsigned int s = 0; native && s < series; s++)
		native_buckets(NULL, layout, family->series[s].buckets, NULL, NULL, NULL, &span_count,
			       &delta_count);
	m->histograms = calloc(series + 1, sizeof(*m->histograms));
	m->spans = malloc((span_count + 1) * sizeof(*m->spans));
	m->span_pointers = malloc((span_count + 1) * sizeof(*m->span_pointers));
	m->deltas = malloc((delta_count + 1) * sizeof(*m->deltas));
	m->classic = calloc((size_t)series * classic_count + 1, sizeof(*m->classic));
	m->classic_pointers = calloc((size_t)series * classic_count + 1,
				     sizeof(*m->classic_pointers));
	m->ends = calloc(classic_count + 1, sizeof(*m->ends));
	m->bounds = calloc(classic_count + 1, sizeof(*m->bounds));
	if (!m->histograms || !m->spans || !m->span_pointers || !m->deltas || !m->classic ||
	    !m->classic_pointers || !m->ends || !m->bounds)
		return -ENOMEM;
	if (classic)
		buckets_classic(layout, options->classic_schema, m->ends, m->bounds);
	if (!native && layout->unit == UNIT_NS)
		for (unsigned int i = 0; i < classic_count; i++)
			m->bounds[i] = scaled(buckets_upper(layout, m->ends[i]), family->decimals);
	for (unsigned int s = 0, spans = 0, deltas = 0, classics = 0; s < series; s++) {
		const struct snapshot_series *one = &family->series[s];
		Io__Prometheus__Client__Histogram *h = &m->histograms[s];

		io__prometheus__client__histogram__init(h);
		h->has_sample_count = h->has_sample_sum = 1;
		h->sample_count = one->count;
		h->sample_sum = scaled(one->sum, family->decimals);
		if (native) {
			h->has_schema = h->has_zero_threshold = h->has_zero_count = 1;
			h->schema = (int32_t)layout->precision;
			/* Above 0 also when empty: Prometheus 2.42 takes it as native then. */
			h->zero_threshold = buckets_zero_threshold(layout);
			h->zero_count = one->buckets[0];
			native_buckets(h, layout, one->buckets, m->spans + spans,
				       m->span_pointers + spans, m->deltas + deltas, NULL, NULL);
			spans += h->n_positive_span;
			deltas += h->n_positive_delta;
		}
		if (classic) {
			unsigned int bucket = 0;
			__u64 cumulative = 0;

			h->bucket = m->classic_pointers + classics;
			for (unsigned int i = 0; i < classic_count; i++, classics++) {
				Io__Prometheus__Client__Bucket *b = &m->classic[classics];

				for (; bucket <= m->ends[i]; bucket++)
					cumulative += one->buckets[bucket];
				io__prometheus__client__bucket__init(b);
				b->has_cumulative_count = b->has_upper_bound = 1;
				b->cumulative_count = cumulative;
				b->upper_bound = m->bounds[i];
				h->bucket[h->n_bucket++] = b;
			}
		}
		m->metrics[s].histogram = h;
	}
	out->type = IO__PROMETHEUS__CLIENT__METRIC_TYPE__HISTOGRAM;
	return 0;
}

static int render_family(struct output *out, const struct snapshot_family *family,
			 const struct exposition_options *options)
{
	Io__Prometheus__Client__MetricFamily message = IO__PROMETHEUS__CLIENT__METRIC_FAMILY__INIT;
	unsigned int series = family->series_count, labels = 0;
	struct family_memory m = {};
	char name[160];
	int err = -ENOMEM;

	if (!series)
		return 0;	/* Prometheus skips empty families anyway */
	for (unsigned int s = 0; s < series; s++)
		labels += family->series[s].label_count;
	m.metrics = calloc(series, sizeof(*m.metrics));
	m.metric_pointers = calloc(series, sizeof(*m.metric_pointers));
	m.labels = calloc(labels + 1, sizeof(*m.labels));
	m.label_pointers = calloc(labels + 1, sizeof(*m.label_pointers));
	if (!m.metrics || !m.metric_pointers || !m.labels || !m.label_pointers)
		goto out;
	snprintf(name, sizeof(name), "%s%s", family->name,
		 family->type == METRIC_COUNTER ? "_total" : "");
	message.name = name;
	message.help = (char *)family->help;
	message.has_type = 1;
	for (unsigned int s = 0, l = 0; s < series; s++) {
		const struct snapshot_series *one = &family->series[s];
		Io__Prometheus__Client__Metric *metric = &m.metrics[s];

		io__prometheus__client__metric__init(metric);
		metric->label = m.label_pointers + l;
		for (unsigned int i = 0; i < one->label_count; i++, l++) {
			io__prometheus__client__label_pair__init(&m.labels[l]);
			m.labels[l].name = (char *)one->labels[i].name;
			m.labels[l].value = (char *)one->labels[i].value;
			metric->label[metric->n_label++] = &m.labels[l];
		}
		m.metric_pointers[s] = metric;
	}
	message.metric = m.metric_pointers;
	message.n_metric = series;
	if (family->type == METRIC_HISTOGRAM) {
		err = histogram_family(family, options, &message, &m);
		if (err)
			goto out;
	} else if (family->type == METRIC_COUNTER) {
		message.type = IO__PROMETHEUS__CLIENT__METRIC_TYPE__COUNTER;
		m.counters = calloc(series, sizeof(*m.counters));
		if (!m.counters)
			goto out;
		for (unsigned int s = 0; s < series; s++) {
			io__prometheus__client__counter__init(&m.counters[s]);
			m.counters[s].has_value = 1;
			m.counters[s].value = scaled(family->series[s].value, family->decimals);
			m.metrics[s].counter = &m.counters[s];
		}
	} else {
		message.type = IO__PROMETHEUS__CLIENT__METRIC_TYPE__GAUGE;
		m.gauges = calloc(series, sizeof(*m.gauges));
		if (!m.gauges)
			goto out;
		for (unsigned int s = 0; s < series; s++) {
			io__prometheus__client__gauge__init(&m.gauges[s]);
			m.gauges[s].has_value = 1;
			m.gauges[s].value = scaled(family->series[s].value, family->decimals);
			m.metrics[s].gauge = &m.gauges[s];
		}
	}
	put_family(out, &message);
	err = out->failed ? -ENOMEM : 0;
out:
	family_memory_free(&m);
	return err;
}

int protobuf_render(const struct snapshot *snapshot, const struct exposition_options *options,
		    char **body, size_t *len)
{
	Io__Prometheus__Client__MetricFamily duration = IO__PROMETHEUS__CLIENT__METRIC_FAMILY__INIT;
	Io__Prometheus__Client__Metric metric = IO__PROMETHEUS__CLIENT__METRIC__INIT;
	Io__Prometheus__Client__Metric *metrics[1] = { &metric };
	Io__Prometheus__Client__Gauge gauge = IO__PROMETHEUS__CLIENT__GAUGE__INIT;
	struct output out = {};
	struct timespec end;

	for (unsigned int i = 0; i < snapshot->family_count; i++)
		if (render_family(&out, &snapshot->families[i], options)) {
			free(out.data);
			return -ENOMEM;
		}
	clock_gettime(CLOCK_MONOTONIC, &end);
	gauge.has_value = 1;
	gauge.value = (double)(end.tv_sec - snapshot->started.tv_sec) +
		      (double)(end.tv_nsec - snapshot->started.tv_nsec) / 1e9;
	metric.gauge = &gauge;
	duration.name = "khist_scrape_duration_seconds";
	duration.help = "Time khistd took to read the maps and render this page";
	duration.has_type = 1;
	duration.type = IO__PROMETHEUS__CLIENT__METRIC_TYPE__GAUGE;
	duration.metric = metrics;
	duration.n_metric = 1;
	put_family(&out, &duration);
	if (out.failed) {
		free(out.data);
		return -ENOMEM;
	}
	*body = (char *)out.data;
	*len = out.len;
	return 0;
}
