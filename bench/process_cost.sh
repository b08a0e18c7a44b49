#!/usr/bin/env bash
# make bench, process collector: its programs' run time per process
# lifecycle (a fork, the child's exit, the wait) against a bpftrace
# one-liner that keeps the same (forks per comm, exits per comm and exit
# code, a lifetime histogram). Both are attached at once, so they see the
# same forks under the same load; the kernel's BPF statistics
# (kernel.bpf_stats_enabled) give each side's run time, summed over its
# programs and divided by the forks. Wall-clock time cannot show this: a
# fork costs 200 to 400 us here and varies by more than the programs do.
# The side attached first pays the cold caches, so the order alternates.
# Prints a markdown table; environment: BENCH_PROCESS_ROUNDS (6, even).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build
rounds=${BENCH_PROCESS_ROUNDS:-6}
forks=5000
limit=1.0
pins=/sys/fs/bpf/khist-process-cost-$$
work=$(mktemp -d)
peer_pid=
program='tracepoint:sched:sched_process_fork { @forks[comm] = count(); }
	tracepoint:sched:sched_process_exit { @exits[comm, curtask->exit_code >> 8] = count();
	@lifetime = hist(nsecs - curtask->group_leader->start_time); }'

cleanup() {
	[ -n "$peer_pid" ] && kill "$peer_pid" 2>/dev/null && wait "$peer_pid" 2>/dev/null
	"$build/khist" unload process --pin-root "$pins" > /dev/null 2>&1
	rmdir "$pins" 2>/dev/null
	sysctl -qw kernel.bpf_stats_enabled="$stats_before" 2>/dev/null
	rm -rf "$work"
}
stats_before=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null || echo 0)
trap cleanup EXIT
command -v bpftrace > /dev/null || { echo "process_cost: no bpftrace (scripts/deps.sh --bench)" >&2; exit 1; }
sysctl -qw kernel.bpf_stats_enabled=1 || { echo "process_cost: cannot enable BPF statistics" >&2; exit 1; }

prog_ids_all() { bpftool prog show -j | jq -r '.[].id' | sort -n; }
run_ns() {	# run_ns ID...: the programs' run time, summed
	local total=0 id ns
	for id in "$@"; do
		ns=$(bpftool prog show id "$id" -j 2>/dev/null | jq -r '.run_time_ns // 0')
		total=$((total + ${ns:-0}))
	done
	echo "$total"
}
load_khist() {
	"$build/khist" load process --pin-root "$pins" > /dev/null ||
		{ echo "process_cost: loading the process collector failed" >&2; exit 1; }
	khist_ids=$(for link in "$pins"/process/links/*; do
		bpftool link show pinned "$link" -j | jq -r '.prog_id'; done | sort -u)
}
start_peer() {
	local before
	before=$(prog_ids_all)
	bpftrace -e "$program" > "$work/peer.log" 2>&1 & peer_pid=$!
	for _ in $(seq 200); do grep -q Attaching "$work/peer.log" && break; sleep 0.05; done
	sleep 0.5
	peer_ids=$(comm -13 <(echo "$before") <(prog_ids_all))
	[ -n "$peer_ids" ] || { echo "process_cost: bpftrace attached nothing" >&2; exit 1; }
}

: > "$work/samples"
for round in $(seq "$rounds"); do
	if [ $((round % 2)) = 1 ]; then load_khist; start_peer; else start_peer; load_khist; fi
	k0=$(run_ns $khist_ids); p0=$(run_ns $peer_ids)
	"$build/bench/workload" fork "$forks" > /dev/null
	k1=$(run_ns $khist_ids); p1=$(run_ns $peer_ids)
	echo "$(( (k1 - k0) / forks )) $(( (p1 - p0) / forks ))" >> "$work/samples"
	kill -INT "$peer_pid"; wait "$peer_pid" 2>/dev/null; peer_pid=
	"$build/khist" unload process --pin-root "$pins" > /dev/null
done
median() {	# median COLUMN
	cut -d' ' -f"$1" "$work/samples" | sort -n |
		awk '{ v[NR] = $1 } END { if (NR) printf "%.0f\n", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}
set -- "$(median 1)" "$(median 2)"
echo "## Process collector: program run time per fork (BPF statistics, $rounds rounds of $forks forks)"
echo
echo "| | khist process | bpftrace forks, exits, lifetimes | ratio | target | |"
echo "|---|---:|---:|---:|---:|---|"
ratio=$(awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
verdict=$(awk -v r="$ratio" -v l="$limit" 'BEGIN { print (r != "n/a" && r <= l) ? "met" : "missed" }')
echo "| ns per fork, exit and wait (median) | $1 | $2 | $ratio | ≤ $limit | $verdict |"
