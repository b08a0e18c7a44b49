#!/usr/bin/env bash
# make bench: a collector's BPF programs' run time per event against a peer
# tool that keeps the same data, both attached at once so they see the
# same events under the same load. The kernel's BPF statistics
# (kernel.bpf_stats_enabled) give each side's run time, summed over its
# programs and divided by the events. Wall-clock time cannot show this
# for events that cost far more than the programs (a fork, an I/O). The
# side attached first pays the cold caches, so the order alternates.
#
#   program_cost.sh TITLE COLLECTOR EVENTS WHAT LIMIT PEER_NAME PEER WORKLOAD
#
# PEER and WORKLOAD are shell commands (PEER runs until SIGINT); WORKLOAD
# makes EVENTS events. Prints a markdown table whose ratio is khist over
# the peer, met when at most LIMIT. Environment: BENCH_COST_ROUNDS (6, even).
set -u
[ $# -eq 8 ] || { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
title=$1 collector=$2 events=$3 what=$4 limit=$5 peer_name=$6 peer=$7 workload=$8
top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build
rounds=${BENCH_COST_ROUNDS:-6}
pins=/sys/fs/bpf/khist-cost-$$
work=$(mktemp -d)
peer_pid=

cleanup() {
	[ -n "$peer_pid" ] && kill -INT "$peer_pid" 2>/dev/null && wait "$peer_pid" 2>/dev/null
	"$build/khist" unload "$collector" --pin-root "$pins" > /dev/null 2>&1
	rmdir "$pins" 2>/dev/null
	sysctl -qw kernel.bpf_stats_enabled="$stats_before" 2>/dev/null
	rm -rf "$work"
}
stats_before=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null || echo 0)
trap cleanup EXIT
fail() { echo "program_cost: $collector: $*" >&2; exit 1; }
command -v "${peer%% *}" > /dev/null || fail "no ${peer%% *} (scripts/deps.sh --bench)"
sysctl -qw kernel.bpf_stats_enabled=1 || fail "cannot enable BPF statistics"

run_ns() {	# run_ns ID...: the programs' run time, summed
	local total=0 id ns
	for id in "$@"; do
		ns=$(bpftool prog show id "$id" -j 2>/dev/null | jq -r '.run_time_ns // 0')
		total=$((total + ${ns:-0}))
	done
	echo "$total"
}
load_khist() {
	"$build/khist" load "$collector" --pin-root "$pins" > /dev/null || fail "loading failed"
	khist_ids=$(for link in "$pins/$collector"/links/*; do
		bpftool link show pinned "$link" -j | jq -r '.prog_id'; done | sort -u)
}
prog_ids_all() { bpftool prog show -j | jq -r '.[].id' | sort -n; }
# The peer is attached once programs appear that were not there, and their
# count holds still (bench.sh runs with no other tracing program loaded).
start_peer() {
	local before ids last=
	before=$(prog_ids_all)
	bash -c "exec $peer" > "$work/peer.log" 2>&1 & peer_pid=$!
	for _ in $(seq 400); do
		sleep 0.05
		ids=$(comm -13 <(echo "$before") <(prog_ids_all))
		[ -n "$ids" ] && [ "$ids" = "$last" ] && break
		last=$ids
	done
	sleep 0.5
	peer_ids=$(comm -13 <(echo "$before") <(prog_ids_all))
	[ -n "$peer_ids" ] || fail "$peer_name attached nothing: $(head -c 300 "$work/peer.log")"
}

: > "$work/samples"
for round in $(seq "$rounds"); do
	khist_ids=
	if [ $((round % 2)) = 1 ]; then load_khist; start_peer; else start_peer; load_khist; fi
	k0=$(run_ns $khist_ids); p0=$(run_ns $peer_ids)
	bash -c "$workload" > /dev/null || fail "the workload failed"
	k1=$(run_ns $khist_ids); p1=$(run_ns $peer_ids)
	echo "$(( (k1 - k0) / events )) $(( (p1 - p0) / events ))" >> "$work/samples"
	kill -INT "$peer_pid"; wait "$peer_pid" 2>/dev/null; peer_pid=
	"$build/khist" unload "$collector" --pin-root "$pins" > /dev/null
done
median() {	# median COLUMN
	cut -d' ' -f"$1" "$work/samples" | sort -n |
		awk '{ v[NR] = $1 } END { if (NR) printf "%.0f\n", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}
set -- "$(median 1)" "$(median 2)"
echo "## $title (BPF statistics, $rounds rounds of $events)"
echo
echo "| | khist $collector | $peer_name | ratio | target | |"
echo "|---|---:|---:|---:|---:|---|"
ratio=$(awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
verdict=$(awk -v r="$ratio" -v l="$limit" 'BEGIN { print (r != "n/a" && r <= l) ? "met" : "missed" }')
echo "| $what (median) | $1 | $2 | $ratio | ≤ $limit | $verdict |"
echo
