#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A real Prometheus server scrapes khistd on loopback while a known workload
# runs; its query API must answer a latency quantile and a counter increase.
if [ -z "${BASH_VERSION:-}" ]; then
	command -v bash >/dev/null 2>&1 && exec bash "$0" "$@"
	echo "KTAP version 1"; echo "1..0 # SKIP needs bash"; exit 4
fi
set -u
dir=$(cd "$(dirname "$0")" && pwd)
. "$dir/ktap.sh"
build=${KHIST_BUILD:-$(cd "$dir/.." && pwd)}

ktap_header
[ "$(id -u)" -eq 0 ] || ktap_exit_skip "needs root"
for tool in curl jq prometheus; do
	command -v $tool >/dev/null 2>&1 || ktap_exit_skip "needs $tool"
done
ktap_plan 4

work=$(mktemp -d /tmp/khistd-prometheus.XXXXXX)
root=/sys/fs/bpf/khistd-prom-$$
khistd_port=$((20000 + $$ % 20000))
prometheus_port=$((khistd_port + 1))
daemon= prometheus_pid= workload_pid=
cleanup() {
	for pid in $daemon $prometheus_pid $workload_pid; do kill "$pid" 2>/dev/null; done
	sleep 0.3
	"$build/khist" unload --pin-root "$root" >/dev/null 2>&1
	rmdir "$root" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

"$build/selftests/workload" busy 30 &
workload_pid=$!
cat > "$work/khistd.conf" <<CONF
[khistd]
listen = 127.0.0.1:$khistd_port
pin_root = $root
[collector.syscalls]
pid = $workload_pid
[collector.vfs]
pid = $workload_pid
CONF
result=$("$build/selftests/notify_wait" 20000 "$work/khistd.log" "$build/khistd" --config "$work/khistd.conf")
set -- $result
[ "${1:-}" = ready ] || { ktap_msg "khistd: $result"; sed 's/^/# /' "$work/khistd.log"; ktap_result 1 khistd_started; ktap_finished; }
daemon=$2
ktap_result 0 khistd_started

cat > "$work/prometheus.yml" <<CONF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: khistd
    static_configs:
      - targets: ['127.0.0.1:$khistd_port']
CONF
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
	--web.listen-address=127.0.0.1:$prometheus_port > "$work/prometheus.log" 2>&1 &
prometheus_pid=$!
api=http://127.0.0.1:$prometheus_port/api/v1

query() {	# query PROMQL: the first result's value, or nothing
	curl -sf --max-time 5 --data-urlencode "query=$1" "$api/query" |
		jq -r 'select(.status == "success") | .data.result[0].value[1] // empty'
}

# Let a dozen scrapes in.
target_up() {
	local health
	for _ in $(seq 60); do
		health=$(curl -sf "$api/targets" | jq -r '.data.activeTargets[0].health // empty')
		[ "$health" = up ] && break
		sleep 0.5
	done
	curl -sf "$api/targets" | jq -r '.data.activeTargets[0] | "health \(.health), last error: \(.lastError)"'
	[ "$health" = up ]
}
check prometheus_scrapes_khistd target_up
sleep 12

median() {
	local q
	q=$(query 'histogram_quantile(0.5, sum by (le) (rate(khist_vfs_latency_seconds_bucket{op="read"}[10s])))')
	echo "median read latency: ${q:-none} s"
	awk -v q="$q" 'BEGIN { exit !(q != "" && q != "NaN" && q > 0 && q < 1) }'
}
check histogram_quantile_of_read_latency median
increase() {
	local n
	n=$(query 'increase(khist_syscalls_total{syscall="getppid"}[10s])')
	echo "getppid increase over 10s: ${n:-none}"
	awk -v n="$n" 'BEGIN { exit !(n != "" && n > 10000) }'
}
check increase_of_a_syscall_counter increase
ktap_finished
