// SPDX-License-Identifier: GPL-2.0
/*
 * The exposition formats without a kernel: Accept negotiation with
 * q-values, and the protobuf encoder decoded back with protobuf-c. Native
 * histograms must give back every bucket count exactly (spans, gaps and
 * deltas), with the schema and zero bucket Prometheus needs; classic
 * buckets merged to a lower schema must be exact cumulative counts.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.pb-c.h"
#include "prometheus.h"
#include "ktap.h"

static const char *const format_names[] = { "text", "openmetrics", "protobuf" };

static bool negotiates(const char *accept, enum exposition_format want)
{
	enum exposition_format got = prometheus_negotiate(accept);

	if (got != want)
		ktap_print_msg("Accept '%s': %s, want %s", accept ? accept : "(none)",
			       format_names[got], format_names[want]);
	return got == want;
}

static void test_negotiation(void)
{
	bool ok = true;

	ok &= negotiates(NULL, FORMAT_TEXT);
	ok &= negotiates("*/*", FORMAT_TEXT);
	ok &= negotiates("text/plain", FORMAT_TEXT);
	/* Prometheus 2.42 with --enable-feature=native-histograms */
	ok &= negotiates("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
			 "encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,"
			 "application/openmetrics-text;version=0.0.1;q=0.75,"
			 "text/plain;version=0.0.4;q=0.5,*/*;q=0.1", FORMAT_PROTOBUF);
	/* ... and without */
	ok &= negotiates("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
			 "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
			 FORMAT_OPENMETRICS);
	/* Prometheus 3.x, scrape_native_histograms: q-values only, highest first */
	ok &= negotiates("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
			 "encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;"
			 "escaping=allow-utf-8;q=0.5,text/plain;version=0.0.4;q=0.3,*/*;q=0.1",
			 FORMAT_PROTOBUF);
	ok &= negotiates("text/plain;q=0.9, application/openmetrics-text;q=0.5", FORMAT_TEXT);
	ok &= negotiates("application/vnd.google.protobuf;q=0, text/plain", FORMAT_TEXT);
	ok &= negotiates("application/vnd.google.protobuf;proto=io.other.Message", FORMAT_TEXT);
	ok &= negotiates("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
			 "encoding=text", FORMAT_TEXT);
	ok &= negotiates("APPLICATION/OPENMETRICS-TEXT; version=1.0.0", FORMAT_OPENMETRICS);
	ok &= negotiates("image/png", FORMAT_TEXT);
	ok &= negotiates(",,;;q=,", FORMAT_TEXT);
	ktap_test_result(ok, "accept_negotiation_with_q_values");
}

/* A snapshot of one exponential histogram family with @series series. */
struct fake {
	struct snapshot snapshot;
	struct snapshot_family family;
	struct snapshot_series series[3];
	struct snapshot_label labels[3];
	__u64 counts[3][KHIST_EXP_TABLE_SIZE];
};

static void fake_histogram(struct fake *f, unsigned int schema)
{
	memset(f, 0, sizeof(*f));
	f->family.name = "khist_test_latency_seconds";
	f->family.type = METRIC_HISTOGRAM;
	f->family.help = "test";
	f->family.decimals = 9;
	buckets_layout(&f->family.buckets, KHIST_LAYOUT_EXPONENTIAL, schema, UNIT_NS);
	f->family.series = f->series;
	f->family.series_count = 3;
	for (unsigned int s = 0; s < 3; s++) {
		static const char *const names[] = { "a", "b", "empty" };

		f->labels[s] = (struct snapshot_label){ "syscall", names[s] };
		f->series[s].labels = &f->labels[s];
		f->series[s].label_count = 1;
		f->series[s].buckets = f->counts[s];
	}
	/* a: the zero bucket, runs with gaps of 1, 3 and 40 buckets, the last bucket */
	f->counts[0][0] = 3;
	f->counts[0][10] = 1;
	f->counts[0][12] = 7;
	f->counts[0][13] = 7;
	f->counts[0][17] = 2;
	f->counts[0][57] = 9;
	f->counts[0][f->family.buckets.count - 1] = 1;
	/* b: random, dense */
	srand(7);
	for (unsigned int b = 100; b < 160; b++)
		f->counts[1][b] = rand() % 3 ? (unsigned int)rand() % 1000 : 0;
	for (unsigned int s = 0; s < 3; s++)
		for (unsigned int b = 0; b < f->family.buckets.count; b++) {
			f->series[s].count += f->counts[s][b];
			f->series[s].sum += f->counts[s][b] * 1000;
		}
	f->snapshot.families = &f->family;
	f->snapshot.family_count = 1;
}

/* Unpacks the first MetricFamily of a delimited stream. */
static Io__Prometheus__Client__MetricFamily *first_family(const char *body, size_t len)
{
	size_t size = 0, at = 0;

	for (unsigned int shift = 0; at < len; shift += 7) {
		unsigned char byte = body[at++];

		size |= (size_t)(byte & 0x7f) << shift;
		if (!(byte & 0x80))
			break;
	}
	if (at + size > len)
		return NULL;
	return io__prometheus__client__metric_family__unpack(NULL, size,
							      (const uint8_t *)body + at);
}

/* Counts per row bucket from spans and deltas. */
static bool decode_native(const Io__Prometheus__Client__Histogram *h, const struct bucket_layout *l,
			  __u64 *counts)
{
	int index = 0;
	unsigned int delta = 0;
	__s64 count = 0;

	memset(counts, 0, KHIST_EXP_TABLE_SIZE * sizeof(*counts));
	counts[0] = h->zero_count;
	for (unsigned int s = 0; s < h->n_positive_span; s++) {
		index += h->positive_span[s]->offset;
		for (unsigned int i = 0; i < h->positive_span[s]->length; i++, index++) {
			unsigned int bucket = index - l->exp->first_index + 1;

			if (delta >= h->n_positive_delta || bucket >= l->count)
				return false;
			count += h->positive_delta[delta++];
			if (count < 0)
				return false;
			counts[bucket] = (__u64)count;
		}
	}
	return delta == h->n_positive_delta;
}

static void test_native_round_trip(void)
{
	static struct fake f;
	bool ok = true;

	for (unsigned int schema = 0; schema <= KHIST_EXP_MAX_SCHEMA; schema++) {
		struct exposition_options options = { FORMAT_PROTOBUF, 0, false };
		Io__Prometheus__Client__MetricFamily *family;
		static __u64 decoded[KHIST_EXP_TABLE_SIZE];
		char *body = NULL;
		size_t len = 0;

		fake_histogram(&f, schema);
		EXPECT(ok, protobuf_render(&f.snapshot, &options, &body, &len) == 0, "render");
		family = body ? first_family(body, len) : NULL;
		EXPECT(ok, family && !strcmp(family->name, "khist_test_latency_seconds") &&
			   family->type == IO__PROMETHEUS__CLIENT__METRIC_TYPE__HISTOGRAM &&
			   family->n_metric == 3, "family");
		for (unsigned int s = 0; ok && s < 3; s++) {
			const Io__Prometheus__Client__Histogram *h = family->metric[s]->histogram;

			EXPECT(ok, h && h->has_schema && h->schema == (int)schema, "schema");
			EXPECT(ok, h->zero_threshold == ldexp(1, KHIST_EXP_ZERO_LOG2_NS) &&
				   h->zero_count == f.counts[s][0], "zero bucket");
			EXPECT(ok, h->sample_count == f.series[s].count &&
				   fabs(h->sample_sum - f.series[s].sum / 1e9) < 1e-12, "count and sum");
			EXPECT(ok, h->n_bucket == 0, "classic buckets unasked for");
			EXPECT(ok, decode_native(h, &f.family.buckets, decoded) &&
				   !memcmp(decoded, f.counts[s], f.family.buckets.count * sizeof(__u64)),
			       "schema %u series %u: buckets differ", schema, s);
			/* Spans cost less than the zero buckets they skip. */
			if (s == 0 && f.family.buckets.count > 60)
				EXPECT(ok, h->n_positive_delta == 7 && h->n_positive_span == 4,
				       "series a: %zu deltas in %zu spans", h->n_positive_delta,
				       h->n_positive_span);
		}
		if (family)
			io__prometheus__client__metric_family__free_unpacked(family, NULL);
		free(body);
	}
	ktap_test_result(ok, "native_buckets_round_trip_at_every_schema");
}

static void test_classic_in_protobuf(void)
{
	static struct fake f;
	struct exposition_options options = { FORMAT_PROTOBUF, 0, true };
	Io__Prometheus__Client__MetricFamily *family;
	const Io__Prometheus__Client__Histogram *h;
	char *body = NULL;
	size_t len = 0;
	bool ok = true;

	fake_histogram(&f, 3);
	EXPECT(ok, protobuf_render(&f.snapshot, &options, &body, &len) == 0, "render");
	family = body ? first_family(body, len) : NULL;
	h = family ? family->metric[0]->histogram : NULL;
	EXPECT(ok, h && h->n_bucket > 0 && h->n_positive_span > 0, "native and classic together");
	/* Schema 0: every classic bound a power of two of seconds, counts cumulative and exact. */
	for (size_t i = 0; ok && h && i < h->n_bucket; i++) {
		double bound = h->bucket[i]->upper_bound;
		__u64 want = 0;
		int exponent;

		EXPECT(ok, frexp(bound, &exponent) == 0.5, "bound %g is not a power of two", bound);
		for (unsigned int b = 0; b < f.family.buckets.count; b++)
			if (b == 0 || khist_exp_bound(buckets_native_index(&f.family.buckets, b), 3) <=
				      bound * (1 + 1e-12))
				want += f.counts[0][b];
		EXPECT(ok, h->bucket[i]->cumulative_count == want || i + 1 == h->n_bucket,
		       "le %g: %llu, want %llu", bound,
		       (unsigned long long)h->bucket[i]->cumulative_count, (unsigned long long)want);
	}
	EXPECT(ok, h && h->bucket[h->n_bucket - 1]->cumulative_count == f.series[0].count,
	       "the last classic bucket holds every value");
	if (family)
		io__prometheus__client__metric_family__free_unpacked(family, NULL);
	free(body);
	ktap_test_result(ok, "classic_buckets_merged_exactly_to_schema_0");
}

/* Text format, every bucket: each le reads back as the exact bound, counts cumulative. */
static void test_text_bounds_round_trip(void)
{
	static struct fake f;
	struct exposition_options options = { FORMAT_TEXT, -1, false };
	unsigned int lines = 0, bucket = 0;
	__u64 cumulative = 0;
	char *body = NULL, *line, *next;
	size_t len = 0;
	bool ok = true;

	fake_histogram(&f, 3);
	EXPECT(ok, prometheus_render(&f.snapshot, &options, &body, &len) == 0, "render");
	for (line = body; ok && line && *line; line = next) {
		const char *prefix = "khist_test_latency_seconds_bucket{syscall=\"a\",le=\"";
		double bound, want;
		char *end;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (strncmp(line, prefix, strlen(prefix)))
			continue;
		if (!strncmp(line + strlen(prefix), "+Inf", 4))
			break;
		bound = strtod(line + strlen(prefix), &end);
		want = bucket == 0 ? ldexp(1, KHIST_EXP_ZERO_LOG2_NS) :
		       khist_exp_bound(buckets_native_index(&f.family.buckets, bucket), 3);
		cumulative += f.counts[0][bucket];
		EXPECT(ok, bound == want, "bucket %u: le=%.*s reads back as %.17g, the bound is %.17g",
		       bucket, (int)(end - line - strlen(prefix)), line + strlen(prefix), bound, want);
		EXPECT(ok, strtoull(end + 3, NULL, 10) == cumulative, "bucket %u: %s, want %llu",
		       bucket, end + 3, (unsigned long long)cumulative);
		bucket++;
		lines++;
	}
	EXPECT(ok, lines == f.family.buckets.count, "%u le lines for %u buckets", lines,
	       f.family.buckets.count);
	free(body);
	ktap_test_result(ok, "text_le_bounds_read_back_exactly");
}

int main(void)
{
	ktap_print_header();
	ktap_set_plan(4);
	test_negotiation();
	test_native_round_trip();
	test_classic_in_protobuf();
	test_text_bounds_round_trip();
	ktap_finished();
}
