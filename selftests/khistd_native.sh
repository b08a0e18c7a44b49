#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Two real Prometheus servers scrape one khistd: one with native histograms
# (it negotiates the protobuf format), one without (text, classic buckets).
# A workload makes an exactly known number of getppid() calls; both must
# count them exactly, agree on the sum, and their quantiles (native against
# classic histogram_quantile) must agree within one bucket.
if [ -z "${BASH_VERSION:-}" ]; then
	command -v bash >/dev/null 2>&1 && exec bash "$0" "$@"
	echo "KTAP version 1"; echo "1..0 # SKIP needs bash"; exit 4
fi
set -u
dir=$(cd "$(dirname "$0")" && pwd)
. "$dir/ktap.sh"
build=${KHIST_BUILD:-$(cd "$dir/.." && pwd)}

CALLS=50000

ktap_header
[ "$(id -u)" -eq 0 ] || ktap_exit_skip "needs root"
for tool in curl jq prometheus promtool; do
	command -v $tool >/dev/null 2>&1 || ktap_exit_skip "needs $tool"
done
ktap_plan 9

work=$(mktemp -d /tmp/khistd-native.XXXXXX)
root=/sys/fs/bpf/khistd-native-$$
khistd_port=$((20000 + ($$ + 11) % 20000))
native_port=$((khistd_port + 1))
classic_port=$((khistd_port + 2))
daemon= native_pid= classic_pid= workload_pid= busy_pid=
cgroup_mount=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
cgroup_dir=${cgroup_mount:+$cgroup_mount/khist-native-$$}
cleanup() {
	for pid in $daemon $native_pid $classic_pid $workload_pid $busy_pid; do kill "$pid" 2>/dev/null; done
	wait 2>/dev/null
	[ -n "$cgroup_dir" ] && rmdir "$cgroup_dir" 2>/dev/null
	"$build/khist" unload --pin-root "$root" >/dev/null 2>&1
	rmdir "$root" 2>/dev/null
	[ -n "${KEEP_WORK:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

WORKLOAD_DONE=$work/done "$build/selftests/workload" burst $CALLS &
workload_pid=$!
# Something that waits on run queues, in a cgroup of its own: sched by cgroup.
by_cgroup=0
if [ -n "$cgroup_dir" ] && mkdir "$cgroup_dir" 2>/dev/null; then
	sh -c "echo \$\$ > $cgroup_dir/cgroup.procs && exec $build/selftests/workload busy 600" &
	busy_pid=$!
	by_cgroup=1
fi
# Classic buckets at full resolution: both servers then have the same bounds.
cat > "$work/khistd.conf" <<CONF
[khistd]
listen = 127.0.0.1:$khistd_port
pin_root = $root
classic_schema = full
[collector.syscalls]
pid = $workload_pid
[collector.vfs]
enabled = false
[collector.sched]
enabled = $([ $by_cgroup = 1 ] && echo true || echo false)
by_cgroup = 1
[collector.signals]
enabled = false
[collector.process]
enabled = false
[collector.block]
enabled = false
CONF
result=$("$build/selftests/notify_wait" 20000 "$work/khistd.log" "$build/khistd" --config "$work/khistd.conf")
set -- $result
[ "${1:-}" = ready ] || { sed 's/^/# /' "$work/khistd.log"; echo "Bail out! khistd did not start"; exit 1; }
daemon=$2

start_prometheus() {	# start_prometheus NAME PORT [FLAGS...]
	local name=$1 port=$2
	shift 2
	cat > "$work/$name.yml" <<CONF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: khistd
    static_configs:
      - targets: ['127.0.0.1:$khistd_port']
CONF
	prometheus --config.file="$work/$name.yml" --storage.tsdb.path="$work/$name-data" \
		--web.listen-address=127.0.0.1:$port "$@" > "$work/$name.log" 2>&1 &
}
start_prometheus native $native_port --enable-feature=native-histograms
native_pid=$!
start_prometheus classic $classic_port
classic_pid=$!

api() { echo "http://127.0.0.1:$1/api/v1"; }
# query PORT PROMQL: the whole first result (value or histogram), as JSON
query() {
	curl -sf --max-time 5 --data-urlencode "query=$2" "$(api "$1")/query" |
		jq -c 'select(.status == "success") | .data.result[0] // empty'
}
value() { query "$@" | jq -r '.value[1] // empty'; }

up() {
	local port health
	for port in $native_port $classic_port; do
		for _ in $(seq 60); do
			health=$(curl -sf "$(api $port)/targets" | jq -r '.data.activeTargets[0].health // empty')
			[ "$health" = up ] && break
			sleep 0.5
		done
		echo "port $port: $(curl -sf "$(api $port)/targets" | jq -r '.data.activeTargets[0] | "\(.health) \(.lastError)"')"
		[ "$health" = up ] || return 1
	done
}
check both_servers_scrape_khistd up

# Two bursts with scrapes in between: the first makes the series, so the
# second is an increase that rate() sees.
burst() {
	kill -USR1 $workload_pid
	for _ in $(seq 100); do [ "$(cat "$work/done" 2>/dev/null | wc -l)" = "$1" ] && break; sleep 0.1; done
	sleep 3
}
# The calls both servers count now: "native classic".
counted() {
	echo "$(value $native_port 'histogram_count(khist_syscall_latency_seconds{syscall="getppid"})')" \
	     "$(value $classic_port 'khist_syscall_latency_seconds_count{syscall="getppid"}')"
}
burst 1
# The rates are compared over the second burst only: a server that scraped
# during the first one would count part of it, the other not all of it.
for _ in $(seq 100); do [ "$(counted)" = "$CALLS $CALLS" ] && break; sleep 0.1; done
# The window starts within a second of this mark (whole seconds), and each
# server scrapes twice more before the second burst.
sleep 1; first_burst_counted=$(date +%s); sleep 3
burst 2
CALLS=$((2 * CALLS))

native_series() {
	local sample
	sample=$(query $native_port 'khist_syscall_latency_seconds{syscall="getppid"}')
	echo "native sample: $(echo "$sample" | jq -c '.histogram[1] | {count, sum, buckets: (.buckets | length)}')"
	[ -n "$(echo "$sample" | jq -r '.histogram // empty')" ] || return 1
	# No classic series beside it (classic_in_protobuf = false).
	[ -z "$(value $native_port 'count(khist_syscall_latency_seconds_bucket)')" ]
}
check native_server_has_native_histograms native_series

counts() {
	local native classic
	read -r native classic <<< "$(counted)"
	echo "getppid calls: $CALLS made, native histogram_count $native, classic _count $classic"
	[ "$native" = $CALLS ] && [ "$classic" = $CALLS ]
}
check both_count_every_call counts

sums() {
	local native classic
	native=$(value $native_port 'histogram_sum(khist_syscall_latency_seconds{syscall="getppid"})')
	classic=$(value $classic_port 'khist_syscall_latency_seconds_sum{syscall="getppid"}')
	echo "sum: native $native s, classic $classic s"
	awk -v a="$native" -v b="$classic" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a > 0 && d <= a * 1e-9) }'
}
check histogram_sum_matches_the_classic_sum sums

# Within one bucket: the two differ by at most a factor 2^(1/8) (schema 3).
same_bucket() {
	awk -v a="$1" -v b="$2" 'BEGIN { r = a > b ? a / b : b / a; exit !(a > 0 && b > 0 && r <= 2 ^ (1 / 8) * 1.000001) }'
}
quantiles() {
	local q native classic bad=0
	for q in 0.5 0.99; do
		native=$(value $native_port "histogram_quantile($q, khist_syscall_latency_seconds{syscall=\"getppid\"})")
		classic=$(value $classic_port "histogram_quantile($q, khist_syscall_latency_seconds_bucket{syscall=\"getppid\"})")
		echo "q$q: native $native s, classic $classic s"
		same_bucket "$native" "$classic" || bad=1
	done
	return $bad
}
check quantiles_agree_within_a_bucket quantiles

rates() {
	local native classic count range=$(($(date +%s) - first_burst_counted))s
	count=$(value $native_port "histogram_count(rate(khist_syscall_latency_seconds{syscall=\"getppid\"}[$range]))")
	native=$(value $native_port "histogram_quantile(0.99, rate(khist_syscall_latency_seconds{syscall=\"getppid\"}[$range]))")
	classic=$(value $classic_port "histogram_quantile(0.99, rate(khist_syscall_latency_seconds_bucket{syscall=\"getppid\"}[$range]))")
	echo "rate over $range: $count calls/s; q0.99 native $native s, classic $classic s"
	awk -v n="$count" 'BEGIN { exit !(n > 0) }' && same_bucket "$native" "$classic"
}
check quantiles_of_rates_agree rates

per_cgroup() {
	local native classic name=/khist-native-$$
	[ $by_cgroup = 1 ] || { echo "no writable cgroup2 hierarchy"; return 1; }
	native=$(query $native_port "histogram_quantile(0.99, sum by (cgroup) (rate(khist_runq_latency_seconds{cgroup=\"$name\"}[1m])))" | jq -r '.value[1] // empty')
	classic=$(query $classic_port "histogram_quantile(0.99, sum by (cgroup, le) (rate(khist_runq_latency_seconds_bucket{cgroup=\"$name\"}[1m])))" | jq -r '.value[1] // empty')
	echo "q0.99 of run-queue latency in $name: native $native s, classic $classic s"
	awk -v a="$native" -v b="$classic" 'BEGIN { exit !(a > 0 && b > 0) }'
}
check quantiles_per_cgroup per_cgroup

text_page() {
	curl -sf http://127.0.0.1:$khistd_port/metrics > "$work/page.txt" || return 1
	promtool check metrics < "$work/page.txt"
}
check text_format_passes_promtool text_page

scrape_sizes() {
	local text text_gz proto proto_gz accept='application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited'
	text=$(curl -sf http://127.0.0.1:$khistd_port/metrics | wc -c)
	text_gz=$(curl -sf -H 'Accept-Encoding: gzip' http://127.0.0.1:$khistd_port/metrics | wc -c)
	proto=$(curl -sf -H "Accept: $accept" http://127.0.0.1:$khistd_port/metrics | wc -c)
	proto_gz=$(curl -sf -H "Accept: $accept" -H 'Accept-Encoding: gzip' http://127.0.0.1:$khistd_port/metrics | wc -c)
	echo "bytes per scrape: text $text, text+gzip $text_gz, protobuf $proto, protobuf+gzip $proto_gz"
	# gzip that curl did not ask to undo must be smaller and must decompress.
	curl -sf -H 'Accept-Encoding: gzip' http://127.0.0.1:$khistd_port/metrics | gzip -dc | cmp -s - "$work/page.txt" ||
		curl -sf -H 'Accept-Encoding: gzip' http://127.0.0.1:$khistd_port/metrics | gzip -dc | grep -q '^khist_scrape_duration_seconds' || return 1
	[ "$text_gz" -lt "$text" ] && [ "$proto_gz" -lt "$proto" ] && [ "$proto" -lt "$text" ]
}
check gzip_and_protobuf_are_smaller scrape_sizes
ktap_finished
