#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# khistd end to end on the host: configuration errors, sd_notify READY,
# /metrics (promtool), OpenMetrics, JSON equal to /metrics, bad and slow
# HTTP clients, port in use, kill -9 and restart, SIGHUP, SIGTERM.
if [ -z "${BASH_VERSION:-}" ]; then
	command -v bash >/dev/null 2>&1 && exec bash "$0" "$@"
	echo "KTAP version 1"; echo "1..0 # SKIP needs bash"; exit 4
fi
set -u
dir=$(cd "$(dirname "$0")" && pwd)
. "$dir/ktap.sh"
build=${KHIST_BUILD:-$(cd "$dir/.." && pwd)}
khistd=$build/khistd
khist=$build/khist

ktap_header
[ "$(id -u)" -eq 0 ] || ktap_exit_skip "needs root"
for tool in curl jq promtool; do
	command -v $tool >/dev/null 2>&1 || ktap_exit_skip "needs $tool"
done
ktap_plan 21

work=$(mktemp -d /tmp/khistd-test.XXXXXX)
root=/sys/fs/bpf/khistd-test-$$
port=$((20000 + $$ % 20000))
url=http://127.0.0.1:$port
calls=5000
daemon=
burst=

cleanup() {
	[ -n "$daemon" ] && kill -9 "$daemon" 2>/dev/null
	[ -n "$burst" ] && kill "$burst" 2>/dev/null
	"$khist" unload --pin-root "$root" >/dev/null 2>&1
	rmdir "$root" 2>/dev/null
	[ -n "${KEEP_WORK:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

# The process every collector is filtered to: its counts move only when asked
# (sched and block, which count what no one process owns, stay off).
WORKLOAD_DONE=$work/done "$build/selftests/workload" burst $calls &
burst=$!
run_burst() {	# one burst of $calls getppid() calls, waited for
	local before
	before=$(cat "$work/done" 2>/dev/null | wc -l)
	kill -USR1 "$burst"
	for _ in $(seq 100); do
		[ "$(cat "$work/done" 2>/dev/null | wc -l)" -gt "$before" ] && return 0
		sleep 0.05
	done
	return 1
}

write_config() {	# write_config FILE [EXTRA KHISTD LINES] [vfs enabled]
	cat > "$1" <<CONF
[khistd]
listen = 127.0.0.1:$port
pin_root = $root
max_connections = 64
${2:-}
[collector.syscalls]
pid = $burst
[collector.sched]
enabled = false
[collector.block]
enabled = false
[collector.stacks]
enabled = true
pid = $burst
[collector.process]
pid = $burst
[collector.vfs]
enabled = ${3:-true}
pid = $burst
files = 64
CONF
}
write_config "$work/khistd.conf"

start_daemon() {	# start_daemon CONFIG: khistd under notify_wait; sets $daemon and $ready_ms
	local result
	result=$("$build/selftests/notify_wait" 20000 "$work/khistd.log" "$khistd" --config "$1")
	set -- $result
	[ "${1:-}" = ready ] || { echo "khistd did not get ready: $result"; tail -n 5 "$work/khistd.log"; return 1; }
	daemon=$2 ready_ms=$3
}

# The daemon is not this shell's child, so 'wait' cannot tell when it is gone;
# and one killed with -9 tears its memory down before it closes its files (its
# listening socket too): under ASan that takes a while.
exited() {	# exited PID: wait up to 10 s until the process is gone
	for _ in $(seq 200); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.05
	done
	echo "process $1 still running"
	return 1
}

scrape() { curl -sf --max-time 10 "$url/metrics" -o "$1"; }
value() {	# value FILE SERIES: the sample value of one exact series
	awk -v s="$2" '$1 == s { print $2; found = 1 } END { if (!found) print "missing" }' "$1"
}

# 1-3: configuration
check config_check_accepts_the_file bash -c "'$khistd' --check-config --config '$work/khistd.conf' | grep -q 'configuration OK'"

config_error() {	# config_error CONTENT EXPECTED-MESSAGE
	printf '%b' "$1" > "$work/bad.conf"
	local out status
	out=$("$khistd" --check-config --config "$work/bad.conf" 2>&1); status=$?
	[ $status -eq 2 ] && [[ "$out" == *"$2"* ]] || { echo "status $status: $out (wanted: $2)"; return 1; }
}
config_errors() {
	config_error '[khistd]\nthis line is not ini\n' "bad.conf:2: not a section, a KEY = VALUE line or a comment" &&
	config_error '[khistd]\ncolour = blue\n' "bad.conf:2: unknown key 'colour' in [khistd] (accepted: listen, pin_root" &&
	config_error '[collector.gpu]\nenabled = true\n' "bad.conf:2: unknown collector [collector.gpu]" &&
	config_error '[collector.vfs]\nprecision = 9\n' "bad.conf:2: precision '9': accepted values are 0..5" &&
	config_error '[collector.vfs]\nmode = turbo\n' "mode 'turbo': accepted values are auto, glue, fentry, kprobe, syscalls" &&
	config_error '[khistd]\nlisten = 300.1.2.3:80\n' "listen address '300.1.2.3:80' is not ADDRESS:PORT" &&
	config_error '[khistd]\nlisten = 127.0.0.1:99999\n' "is not ADDRESS:PORT" &&
	config_error '[khistd]\nmodule = maybe\n' "module 'maybe': accepted values are auto, off, required" &&
	config_error '[khistd]\ncgroup_grace_period = -1\n' "cgroup_grace_period '-1': accepted values are 0..86400 (seconds)" &&
	config_error '[extra]\nkey = 1\n' "unknown section [extra]"
}
check config_errors_name_file_line_key_and_values config_errors
check bad_listen_option_is_a_usage_error bash -c "'$khistd' --listen nowhere --check-config; [ \$? -eq 2 ]"

# 4: READY over sd_notify after the first map read
if start_daemon "$work/khistd.conf"; then
	ktap_msg "start to READY=1: $ready_ms ms"
	ktap_result 0 sd_notify_ready
else
	ktap_result 1 sd_notify_ready
	ktap_finished
fi

# 5-6: exposition formats
metrics_format() {
	local type
	type=$(curl -s -o "$work/m1" -w '%{content_type}' "$url/metrics")
	[ "$type" = "text/plain; version=0.0.4; charset=utf-8" ] || { echo "type $type"; return 1; }
	promtool check metrics < "$work/m1"
}
check metrics_pass_promtool metrics_format
openmetrics() {
	local type
	type=$(curl -s -H 'Accept: application/openmetrics-text;version=1.0.0,text/plain;q=0.5' \
		-o "$work/om" -w '%{content_type}' "$url/metrics")
	[ "$type" = "application/openmetrics-text; version=1.0.0; charset=utf-8" ] &&
	[ "$(tail -n 1 "$work/om")" = "# EOF" ] &&
	grep -q '^# TYPE khist_syscalls counter$' "$work/om" &&
	grep -q '^# UNIT khist_syscall_latency_seconds seconds$' "$work/om"
}
check openmetrics_on_request openmetrics

# 7-8: exact counts, and JSON equal to /metrics at the same instant
counted() {
	run_burst || { echo "burst did not finish"; return 1; }
	scrape "$work/m2" || return 1
	local calls_seen latency_seen
	calls_seen=$(value "$work/m2" 'khist_syscalls_total{syscall="getppid"}')
	latency_seen=$(value "$work/m2" 'khist_syscall_latency_seconds_count{syscall="getppid"}')
	[ "$calls_seen" = $calls ] && [ "$latency_seen" = $calls ] ||
		{ echo "getppid: $calls_seen calls, $latency_seen latency samples, made $calls"; return 1; }
}
check workload_counted_exactly counted
json_equals_metrics() {
	curl -sf "$url/api/v1/histograms" -o "$work/h.json" && scrape "$work/m3" || return 1
	jq -e . "$work/h.json" >/dev/null || { echo "not JSON"; return 1; }
	# "metric{labels} count" from the JSON, compared line by line with /metrics.
	jq -r '.histograms[] | .name as $n | (if .unit == "ns" then "seconds" else "bytes" end) as $u |
		.series[] | "khist_\($n)_\($u)_count" +
		(if (.labels | length) > 0 then "{" + ([.labels | to_entries[] | "\(.key)=\"\(.value)\""] | join(",")) + "}" else "" end) +
		" \(.count)"' "$work/h.json" | sort > "$work/json-counts"
	grep -E '^khist_[a-z_]+_(seconds|bytes)_count' "$work/m3" | sort > "$work/metric-counts"
	[ -s "$work/json-counts" ] && diff "$work/json-counts" "$work/metric-counts"
}
check json_counts_equal_metrics_counts json_equals_metrics
# The burst process waits for its signal between bursts: off CPU in a stack of its own.
# A wait is counted when it ends, and the last one ended before the collector
# was loaded, so one more burst ends the wait that began after the last one.
stacks_endpoints() {
	local type code
	run_burst || { echo "burst did not finish"; return 1; }
	curl -sf "$url/api/v1/stacks?rows=5" -o "$work/stacks.json" || { echo "GET /api/v1/stacks"; return 1; }
	jq -e '.stacks[0].name == "offcpu" and (.stacks[0].stacks | length) >= 1 and
		(.stacks[0].stacks | length) <= 5 and (.stacks[0].stacks[0].frames | index(["schedule"]))' \
		"$work/stacks.json" > /dev/null || { echo "stacks: $(head -c 400 "$work/stacks.json")"; return 1; }
	type=$(curl -s -o "$work/flame.svg" -w '%{content_type}' "$url/flamegraph.svg")
	[ "$type" = "image/svg+xml" ] && grep -q '<title>schedule (' "$work/flame.svg" &&
		[ "$(tail -n 1 "$work/flame.svg")" = "</svg>" ] || { echo "flamegraph.svg: $type"; return 1; }
	code=$(curl -s -o /dev/null -w '%{http_code}' "$url/api/v1/stacks?rows=zero")
	[ "$code" = 400 ] || { echo "rows=zero: HTTP $code"; return 1; }
}
check stacks_json_and_flamegraph_served stacks_endpoints

# 9-12: HTTP edges
codes() {
	[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/healthz")" = 200 ] &&
	[ "$(curl -s "$url/healthz")" = ok ] &&
	[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/nothing-here")" = 404 ] &&
	[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -d x=1 "$url/metrics")" = 405 ]
}
check healthz_404_405 codes
garbage() {
	local reply
	reply=$(printf 'GARBAGE GARBAGE\r\n\r\n' | timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port; cat >&3; cat <&3" | head -n 1)
	[[ "$reply" == "HTTP/1.1 400"* ]] || { echo "garbage got: $reply"; return 1; }
	reply=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c 65536 /dev/zero | tr '\0' a)" "$url/metrics")
	[ "$reply" = 431 ] || [ "$reply" = 413 ] || { echo "oversized got $reply"; return 1; }
	[ "$(curl -s "$url/healthz")" = ok ]
}
check garbage_and_oversized_requests_refused garbage
slow_clients() {
	local fds=() fd t
	for _ in $(seq 20); do exec {fd}<>/dev/tcp/127.0.0.1/$port; fds+=($fd); done
	printf 'GET /metrics HTTP/1.1\r\nHost: x\r\n' >&"${fds[0]}"	# never finished
	t=$(curl -s -o /dev/null -w '%{time_total}' --max-time 5 "$url/metrics") || { echo "blocked"; return 1; }
	for fd in "${fds[@]}"; do exec {fd}>&-; done
	awk -v t="$t" 'BEGIN { exit !(t < 2) }' || { echo "scrape took ${t}s beside 20 idle clients"; return 1; }
}
check slow_clients_do_not_block_scrapes slow_clients
concurrent() {
	local ok=0 refused=0 other=0 pids=()
	for _ in $(seq 200); do
		curl -s -o /dev/null -w '%{http_code}\n' --max-time 30 "$url/metrics" >> "$work/codes" &
		pids+=($!)
	done
	wait "${pids[@]}"
	ok=$(grep -c '^200$' "$work/codes"); refused=$(grep -c '^000$' "$work/codes")
	other=$((200 - ok - refused))
	ktap_msg "200 concurrent scrapes: $ok answered, $refused refused beyond max_connections"
	[ $other -eq 0 ] && [ $ok -ge 64 ] && [ "$(curl -s "$url/healthz")" = ok ]
}
check two_hundred_concurrent_connections concurrent

# 13: self metrics
self_metrics() {
	scrape "$work/m4" || return 1
	[ "$(value "$work/m4" 'khist_collector_loaded{collector="syscalls"}')" = 1 ] &&
	[ "$(value "$work/m4" 'khist_collector_loaded{collector="sched"}')" = 0 ] &&
	grep -q '^khist_collector_attach_mode{collector="vfs",mode="' "$work/m4" &&
	awk '$1 ~ /^khist_program_runs_total\{collector="syscalls",program="syscalls_exit"\}$/ && $2 > 0 { f = 1 } END { exit !f }' "$work/m4" &&
	grep -q '^khist_map_capacity{collector="vfs",map="file_table"} 64$' "$work/m4" &&
	grep -q '^khist_scrape_duration_seconds ' "$work/m4" &&
	grep -q '^khist_build_info{version="' "$work/m4"
}
check self_metrics self_metrics

# 14: a second daemon on the same port
port_in_use() {
	local out status
	out=$("$khistd" --config "$work/khistd.conf" 2>&1); status=$?
	[ $status -eq 1 ] && [[ "$out" == *"cannot listen on 127.0.0.1:$port: Address already in use"* ]] ||
		{ echo "status $status: $out"; return 1; }
}
check port_in_use_is_one_clear_error port_in_use

# 15: kill -9, count while down, restart: nothing goes backwards
restart() {
	scrape "$work/before" || return 1
	kill -9 "$daemon"; exited "$daemon" || return 1; daemon=
	run_burst || return 1
	start_daemon "$work/khistd.conf" || return 1
	scrape "$work/after" || return 1
	local before after
	before=$(value "$work/before" 'khist_syscalls_total{syscall="getppid"}')
	after=$(value "$work/after" 'khist_syscalls_total{syscall="getppid"}')
	[ "$after" = $((before + calls)) ] || { echo "getppid $before before, $after after"; return 1; }
	# Every counter series of before is still there and not smaller.
	awk 'NR == FNR { if ($1 ~ /_total(\{|$)/ && $1 !~ /^khist_program_run/) seen[$1] = $2; next }
	     ($1 in seen) { if ($2 + 0 < seen[$1] + 0) { print "went back: " $1; bad = 1 } delete seen[$1] }
	     END { for (s in seen) if (s !~ /^khist_(module|file_|process_|signals_)/) { print "gone: " s; bad = 1 } exit bad }' \
		"$work/before" "$work/after"
}
check counters_survive_kill_9_and_keep_counting restart

# 16-17: SIGHUP
reload() {
	local before after
	scrape "$work/r1" || return 1
	write_config "$work/khistd.conf" "" false
	kill -HUP "$daemon"
	for _ in $(seq 100); do [ -e "$root/vfs" ] || break; sleep 0.05; done
	[ ! -e "$root/vfs" ] || { echo "vfs still pinned after SIGHUP"; return 1; }
	scrape "$work/r2" || return 1
	before=$(value "$work/r1" 'khist_syscalls_total{syscall="getppid"}')
	after=$(value "$work/r2" 'khist_syscalls_total{syscall="getppid"}')
	[ "$after" = "$before" ] && [ "$(value "$work/r2" 'khist_collector_loaded{collector="vfs"}')" = 0 ] ||
		{ echo "after reload: getppid $before -> $after"; return 1; }
}
check sighup_removes_collectors_keeps_counts reload
bad_reload() {
	printf '[khistd]\nnonsense\n' > "$work/khistd.conf"
	kill -HUP "$daemon"; sleep 0.5
	grep -q 'reload refused, keeping the running configuration' "$work/khistd.log" &&
	[ "$(curl -s "$url/healthz")" = ok ]
}
check bad_config_on_sighup_keeps_running bad_reload

# 18-19: SIGTERM, with and without unload_on_exit
stop() {
	write_config "$work/khistd.conf"
	kill -TERM "$daemon"
	exited "$daemon" && daemon= &&
	[ -e "$root/syscalls/links/syscalls_exit" ] && grep -q 'keep counting' "$work/khistd.log"
}
check sigterm_leaves_collectors_counting stop
unload_on_exit() {
	write_config "$work/exit.conf" "unload_on_exit = true"
	start_daemon "$work/exit.conf" || return 1
	kill -TERM "$daemon"
	exited "$daemon"
	daemon=
	[ ! -e "$root/syscalls" ] && [ ! -e "$root/vfs" ]
}
check unload_on_exit_removes_collectors unload_on_exit

# 20: module = required without the module
module_required() {
	if [ -d /sys/module/khist ]; then echo "module loaded here"; return 0; fi
	local out status
	write_config "$work/module.conf" "module = required"
	out=$("$khistd" --config "$work/module.conf" 2>&1); status=$?
	[ $status -eq 1 ] && [[ "$out" == *"module = required, but khist.ko is not loaded"* ]] ||
		{ echo "status $status: $out"; return 1; }
}
check module_required_but_absent module_required

ktap_finished
