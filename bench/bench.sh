#!/usr/bin/env bash
# make bench: per-event overhead of the khist collectors against no probes,
# the floor (empty programs on the same attach points) and the tools people
# run by hand (libbpf-tools, bpftrace), measured interleaved in one run; then
# khistd's own cost; then, in the test VM, the vfs attach modes side by side.
# Writes build/bench/results.md. Environment: BENCH_ROUNDS (5), BENCH_VM (1),
# BENCH_WORKLOADS (all: getppid pingpong read-zero read-file), BENCH_AGENT (1),
# BENCH_CGROUP (1: bench/cgroup_cost.sh, the cost of series per cgroup),
# BENCH_PROCESS (1: bench/process_cost.sh, the process collector against bpftrace),
# BENCH_BLOCK (1: bench/block_cost.sh, the block collector against biolatency),
# BENCH_STACKS (1: bench/stacks_cost.sh, the stacks collector against offcputime).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build
bin=$build/bench
out=$build/bench/results
rounds=${BENCH_ROUNDS:-5}
root=/sys/fs/bpf/khist-bench
mkdir -p "$out"
rm -f "$out"/*.md
: > "$out/samples"

[ "$(id -u)" -eq 0 ] || { echo "bench: needs root" >&2; exit 1; }
# Any tracing program already attached (a khistd left running, a pinned
# collector) would add its cost to every condition.
others=$(bpftool prog show 2>/dev/null | grep -cE ' (raw_tracepoint|tracing|tracepoint|kprobe|perf_event) ')
if [ "$others" -gt 0 ] && [ -z "${BENCH_ALLOW_OTHERS:-}" ]; then
	echo "bench: $others tracing BPF programs are loaded already (bpftool prog show);" >&2
	echo "bench: unload them (khist unload, stop khistd) or set BENCH_ALLOW_OTHERS=1" >&2
	exit 1
fi
cached=$out/cached-file
head -c $((4 << 20)) /dev/urandom > "$cached" && cat "$cached" > /dev/null

declare -A workload_cmd=(
	[getppid]="$bin/workload getppid 2000000"
	[pingpong]="$bin/workload pingpong 100000"
	[read-zero]="$bin/workload read-zero 1000000"
	[read-file]="$bin/workload read-file $cached 1000000"
)
declare -A conditions=(
	[getppid]="none floor-syscalls floor-syscalls-clock floor-syscalls-timed khist-syscalls khist-syscalls-log2 khist-all syscount syscount-L bpftrace-count"
	[pingpong]="none floor-sched khist-sched khist-sched-cgroup khist-all runqlat cpudist offcputime bpftrace-runqlat"
	[read-zero]="none floor-syscalls floor-read-syscalls khist-vfs khist-vfs-nofiles khist-vfs-cgroup khist-all bpftrace-readlat"
	[read-file]="none floor-syscalls floor-read-syscalls khist-vfs khist-vfs-nofiles khist-all bpftrace-readlat"
)
workloads=${BENCH_WORKLOADS:-getppid pingpong read-zero read-file}

declare -A bpftrace_program=(
	[bpftrace-count]='tracepoint:raw_syscalls:sys_enter { @[comm] = count(); }'
	[bpftrace-readlat]='tracepoint:syscalls:sys_enter_read { @start[tid] = nsecs; }
		tracepoint:syscalls:sys_exit_read /@start[tid]/ { @ns = hist(nsecs - @start[tid]); delete(@start[tid]); }'
	[bpftrace-runqlat]='tracepoint:sched:sched_wakeup, tracepoint:sched:sched_wakeup_new { @qtime[args->pid] = nsecs; }
		tracepoint:sched:sched_switch { if (args->prev_state == 0) { @qtime[args->prev_pid] = nsecs; }
		$ns = @qtime[args->next_pid]; if ($ns) { @usecs = hist((nsecs - $ns) / 1000); } delete(@qtime[args->next_pid]); }'
)

peer_pid=
wait_for() {	# wait_for FILE TEXT: until TEXT shows in FILE (10 s at most)
	for _ in $(seq 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
	echo "bench: '$2' never appeared in $1" >&2; return 1
}
start_condition() {
	local log=$out/peer.log
	: > "$log"
	case $1 in
	none) ;;
	floor-*)
		"$bin/floor" "${1#floor-}" > "$log" 2>&1 & peer_pid=$!
		wait_for "$log" attached ;;
	khist-all) "$build/khist" load --pin-root "$root" > /dev/null ;;
	# The histograms alone, the job the bpftrace one-liner does: no per-file table.
	khist-vfs-nofiles) "$build/khist" load vfs --files 0 --pin-root "$root" > /dev/null ;;
	# The layout before exponential buckets were the default: BCC's log2.
	khist-syscalls-log2) "$build/khist" load syscalls --layout log2 --pin-root "$root" > /dev/null ;;
	# Series per cgroup two levels down (on a systemd host: /system.slice/NAME).
	khist-sched-cgroup) "$build/khist" load sched --by-cgroup 2 --pin-root "$root" > /dev/null ;;
	khist-vfs-cgroup) "$build/khist" load vfs --by-cgroup 2 --pin-root "$root" > /dev/null ;;
	khist-*) "$build/khist" load "${1#khist-}" --pin-root "$root" > /dev/null ;;
	# stdbuf: their "Tracing..." line would sit in a stdio buffer otherwise.
	syscount) stdbuf -oL syscount > "$log" 2>&1 & peer_pid=$!; wait_for "$log" Tracing ;;
	syscount-L) stdbuf -oL syscount -L > "$log" 2>&1 & peer_pid=$!; wait_for "$log" Tracing ;;
	runqlat) stdbuf -oL runqlat > "$log" 2>&1 & peer_pid=$!; wait_for "$log" Tracing ;;
	cpudist) stdbuf -oL cpudist > "$log" 2>&1 & peer_pid=$!; wait_for "$log" Tracing ;;
	offcputime)
		# It prints nothing until it stops: wait for its program to show up.
		offcputime > "$log" 2>&1 & peer_pid=$!
		for _ in $(seq 100); do bpftool prog show 2>/dev/null | grep -q sched_switch && break; sleep 0.05; done
		sleep 0.3 ;;
	bpftrace-*)
		bpftrace -e "${bpftrace_program[$1]}" > "$log" 2>&1 & peer_pid=$!
		wait_for "$log" Attaching && sleep 0.5 ;;
	esac
}
stop_condition() {
	if [ -n "$peer_pid" ]; then
		kill -INT "$peer_pid" 2>/dev/null
		wait "$peer_pid" 2>/dev/null
		peer_pid=
	fi
	case $1 in khist-*) "$build/khist" unload --pin-root "$root" > /dev/null ;; esac
}
cleanup() { [ -n "$peer_pid" ] && kill "$peer_pid" 2>/dev/null; "$build/khist" unload --pin-root "$root" >/dev/null 2>&1; rmdir "$root" 2>/dev/null; }
trap cleanup EXIT

available() {
	case $1 in
	syscount*|runqlat|cpudist|offcputime) command -v "${1%-L}" > /dev/null ;;
	bpftrace-*) command -v bpftrace > /dev/null ;;
	*) true ;;
	esac
}

echo "bench: $rounds interleaved rounds on $(uname -r), $(nproc) CPUs"
for round in $(seq "$rounds"); do
	for w in $workloads; do
		for c in ${conditions[$w]}; do
			available "$c" || continue
			start_condition "$c" || { stop_condition "$c"; continue; }
			ns=$(${workload_cmd[$w]})
			stop_condition "$c"
			echo "$w $c $ns" >> "$out/samples"
			printf '  round %d  %-10s %-20s %8s ns/op\n' "$round" "$w" "$c" "$ns"
		done
	done
done

# Median and spread per (workload, condition); overhead against "none".
stats() {	# stats WORKLOAD CONDITION -> "median min max"
	awk -v w="$1" -v c="$2" '$1 == w && $2 == c { print $3 }' "$out/samples" | sort -n |
		awk '{ v[NR] = $1 } END { if (NR) printf "%.1f %.1f %.1f\n", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2), v[1], v[NR] }'
}
declare -A median overhead
{
	echo "## Per-event overhead ($(uname -r), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $rounds rounds)"
	echo
	echo "| workload | condition | ns/op (median) | min–max | overhead ns/op |"
	echo "|---|---|---:|---:|---:|"
	for w in $workloads; do
		for c in ${conditions[$w]}; do
			set -- $(stats "$w" "$c")
			[ $# -eq 3 ] || continue
			median[$w,$c]=$1
			overhead[$w,$c]=$(awk -v a="$1" -v b="${median[$w,none]}" 'BEGIN { printf "%.1f", a - b }')
			echo "| $w | $c | $1 | $2–$3 | ${overhead[$w,$c]} |"
		done
	done
} > "$out/overhead.md"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
target() {	# target LABEL WORKLOAD KHIST PEER [LIMIT]: without LIMIT, a reference ratio
	local r
	[ -n "${overhead[$2,$3]:-}" ] && [ -n "${overhead[$2,$4]:-}" ] || { echo "| $1 | n/a | ${5:+≤ $5} | not measured |"; return; }
	r=$(ratio "${overhead[$2,$3]}" "${overhead[$2,$4]}")
	if [ -z "${5:-}" ]; then
		echo "| $1 | $r | | (reference) |"
		return
	fi
	echo "| $1 | $r | ≤ $5 | $(awk -v r="$r" -v l="$5" 'BEGIN { print (r != "n/a" && r <= l) ? "met" : "missed" }') |"
}
# The median of the per-round differences KHIST - BASE: the two run next to
# each other in every round, so a drift of the machine over the run (it
# moves reads by ±50 ns here) cancels, where a difference of medians keeps it.
paired() {	# paired WORKLOAD KHIST BASE -> "median min max" of the differences
	awk -v w="$1" -v a="$2" -v b="$3" '$1 == w && $2 == a { x[++n] = $3 } $1 == w && $2 == b { y[++m] = $3 }
		END { for (i = 1; i <= n && i <= m; i++) print x[i] - y[i] }' "$out/samples" | sort -n |
		awk '{ v[NR] = $1 } END { if (NR) printf "%.1f %.1f %.1f\n", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2), v[1], v[NR] }'
}
delta() {	# delta LABEL WORKLOAD KHIST BASE EVENTS_PER_OP: extra ns per event
	set -- "$1" "$2" "$3" "$4" "$5" $(paired "$2" "$3" "$4")
	[ $# -eq 8 ] || { echo "| $1 | n/a | | not measured |"; return; }
	echo "| $1 | $(awk -v a="$6" -v n="$5" 'BEGIN { printf "%.1f", a / n }') ns | $(awk -v a="$7" -v b="$8" -v n="$5" 'BEGIN { printf "%.1f to %.1f", a / n, b / n }') | (reference) |"
}
{
	echo
	echo "## Targets (overhead ratios, same run)"
	echo
	echo "Reference rows have no target: they show what the mechanisms alone cost."
	echo
	echo "| ratio | measured | target | |"
	echo "|---|---:|---:|---|"
	target "syscalls collector / floor (getppid)" getppid khist-syscalls floor-syscalls 1.5
	target "syscalls, exponential schema 3 (default) / log2 buckets (getppid)" getppid khist-syscalls khist-syscalls-log2 1.10
	target "clock floor / floor (getppid): two clock reads, nothing kept" getppid floor-syscalls-clock floor-syscalls
	target "syscalls collector / syscount -L" getppid khist-syscalls syscount-L 0.4
	target "clock floor / syscount -L: the least any latency collector costs" getppid floor-syscalls-clock syscount-L
	target "syscalls collector / timed floor (clock reads kept in task storage)" getppid khist-syscalls floor-syscalls-timed
	target "sched collector / runqlat" pingpong khist-sched runqlat 0.8
	target "vfs (syscalls mode) / bpftrace read hist (/dev/zero)" read-zero khist-vfs bpftrace-readlat 0.25
	target "vfs (syscalls mode) / bpftrace read hist (cached file)" read-file khist-vfs bpftrace-readlat 0.25
	target "vfs (syscalls mode, no file table) / bpftrace read hist (/dev/zero)" read-zero khist-vfs-nofiles bpftrace-readlat 0.25
	target "vfs (syscalls mode, no file table) / bpftrace read hist (cached file)" read-file khist-vfs-nofiles bpftrace-readlat 0.25
	target "syscall floor / bpftrace read hist (/dev/zero)" read-zero floor-syscalls bpftrace-readlat
	echo
	echo
	echo "Series by cgroup in wall-clock time: the machine's noise is larger than the"
	echo "effect; the target is judged on the programs' own run time below."
	echo
	echo "| series by cgroup (--by-cgroup 2) over the same collector without | extra per event (median of rounds) | rounds' range | |"
	echo "|---|---:|---:|---|"
	# A round trip is two wakeups and two switches; a read one event.
	delta "sched, pipe ping-pong (4 events per round trip)" pingpong khist-sched-cgroup khist-sched 4
	delta "vfs, read of /dev/zero" read-zero khist-vfs-cgroup khist-vfs 1
} > "$out/targets.md"

failed=0
if [ "${BENCH_CGROUP:-1}" = 1 ]; then
	"$top/bench/cgroup_cost.sh" > "$out/cgroup.md" || { echo "bench: cgroup cost failed" >&2; failed=1; }
fi
if [ "${BENCH_PROCESS:-1}" = 1 ]; then
	"$top/bench/process_cost.sh" > "$out/process.md" || { echo "bench: process cost failed" >&2; failed=1; }
fi
if [ "${BENCH_BLOCK:-1}" = 1 ]; then
	"$top/bench/block_cost.sh" > "$out/block.md" || { echo "bench: block cost failed" >&2; failed=1; }
fi
if [ "${BENCH_STACKS:-1}" = 1 ]; then
	"$top/bench/stacks_cost.sh" > "$out/stacks.md" || { echo "bench: stacks cost failed" >&2; failed=1; }
fi
if [ "${BENCH_AGENT:-1}" = 1 ]; then
	"$top/bench/agent_bench.sh" > "$out/agent.md" || { echo "bench: agent benchmark failed" >&2; failed=1; }
fi
if [ "${BENCH_VM:-1}" = 1 ]; then
	"$top/bench/vm_bench.sh" > "$out/vm.md" || { echo "bench: VM benchmark failed" >&2; failed=1; }
fi
cat "$out/overhead.md" "$out/targets.md" "$out/cgroup.md" "$out/process.md" "$out/block.md" \
	"$out/stacks.md" "$out/agent.md" "$out/vm.md" 2>/dev/null > "$build/bench/results.md"
echo
cat "$build/bench/results.md"
echo
echo "bench: results in $build/bench/results.md"
exit $failed
