#!/usr/bin/env bash
# make bench, series per cgroup: what --by-cgroup 2 adds per event to each
# collector's own programs. The collector is loaded twice at once, under two
# pin roots, once by cgroup and once not, so both sets of programs run on
# the same events under the same load; the kernel's BPF statistics
# (kernel.bpf_stats_enabled: run_time_ns / run_cnt per program) give each
# one's run time. The program attached first pays the cold caches, so the
# load order alternates and each pair of rounds gives one difference: the
# table shows their median and range. The workloads run in a cgroup three
# levels down, so the walk from the task's cgroup up to depth 2 is paid.
# Prints a markdown table; environment: BENCH_CGROUP_ROUNDS (12, even).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build
rounds=${BENCH_CGROUP_ROUNDS:-12}
limit_ns=15
work=$(mktemp -d)
pins=/sys/fs/bpf/khist-cgroup-cost-$$
cgroup_dir=

# collector, its programs (a regex of names), how many run per event, the workload, what it measures
cases=(
	"sched;^sched_(switch|wakeup|wakeup_new)_btf$;1;pingpong 100000;sched, pipe ping-pong (per sched event)"
	"vfs;^vfs_sys_(enter|exit)$;2;read-zero 1000000;vfs (syscalls mode), read of /dev/zero (per read)"
	"syscalls;^syscalls_(enter|exit)$;2;getppid 2000000;syscalls, getppid (per call)"
	"signals;^signal_generate_btf$;1;signal 1000000;signals, SIGUSR1 to itself, ignored (per signal)"
)

cleanup() {
	for variant in plain cgroup; do
		for c in sched vfs syscalls signals; do
			"$build/khist" unload "$c" --pin-root "$pins-$variant" > /dev/null 2>&1
		done
	done
	rmdir "$pins-plain" "$pins-cgroup" 2>/dev/null
	[ -n "$cgroup_dir" ] && rmdir "$cgroup_dir/a/b" "$cgroup_dir/a" "$cgroup_dir" 2>/dev/null
	sysctl -qw kernel.bpf_stats_enabled="$stats_before" 2>/dev/null
	rm -rf "$work"
}
stats_before=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null || echo 0)
trap cleanup EXIT

mount=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
if [ -n "$mount" ] && mkdir -p "$mount/khist-bench-$$/a/b" 2>/dev/null; then
	cgroup_dir=$mount/khist-bench-$$
	where="in ${cgroup_dir#"$mount"}/a/b"
else
	where="in this shell's cgroup (no writable cgroup2 mount)"
fi
sysctl -qw kernel.bpf_stats_enabled=1 || { echo "cgroup_cost: cannot enable BPF statistics" >&2; exit 1; }

# ids of the programs of a collector loaded under a pin root, from its pinned links
prog_ids() {
	for link in "$1/$2/links"/*; do
		bpftool link show pinned "$link" -j 2>/dev/null | jq -r '.prog_id'
	done | sort -u
}
# ns per event: run time over run count of the programs named by the regex
run_time() {	# run_time REGEX PER_EVENT ID...
	local re=$1 per=$2 t=0 c=0 id run_ns runs
	shift 2
	for id in "$@"; do
		read -r run_ns runs < <(bpftool prog show id "$id" -j | jq -r --arg re "$re" \
			'select(.name | test($re)) | "\(.run_time_ns // 0) \(.run_cnt // 0)"')
		[ -n "${runs:-}" ] || continue
		t=$((t + run_ns)); c=$((c + runs))
	done
	awk -v t="$t" -v c="$c" -v p="$per" 'BEGIN { if (c > 0) printf "%.2f", t / c * p; else print "n/a" }'
}

echo "## Series per cgroup: program run time (BPF statistics, $rounds rounds, workloads $where)"
echo
echo "| collector, workload | without | with --by-cgroup 2 | extra per event (median of pairs) | pairs' range | target | |"
echo "|---|---:|---:|---:|---:|---:|---|"
failed=0
for case in "${cases[@]}"; do
	IFS=';' read -r collector programs per_event workload label <<< "$case"
	: > "$work/samples"
	for round in $(seq "$rounds"); do
		if [ $((round % 2)) = 1 ]; then order="plain cgroup"; else order="cgroup plain"; fi
		for variant in $order; do
			extra=()
			[ "$variant" = cgroup ] && extra=(--by-cgroup 2)
			"$build/khist" load "$collector" "${extra[@]}" --pin-root "$pins-$variant" \
				> /dev/null || { echo "cgroup_cost: loading $collector failed" >&2; exit 1; }
		done
		if [ -n "$cgroup_dir" ]; then
			sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' sh "$cgroup_dir/a/b" \
				"$build/bench/workload" $workload > /dev/null
		else
			"$build/bench/workload" $workload > /dev/null
		fi
		plain=$(run_time "$programs" "$per_event" $(prog_ids "$pins-plain" "$collector"))
		by_cgroup=$(run_time "$programs" "$per_event" $(prog_ids "$pins-cgroup" "$collector"))
		echo "$plain $by_cgroup" >> "$work/samples"
		for variant in plain cgroup; do
			"$build/khist" unload "$collector" --pin-root "$pins-$variant" > /dev/null
		done
	done
	set -- $(awk '{ p += $1; c += $2; n++ } END { if (n) printf "%.1f %.1f", p / n, c / n }' "$work/samples")
	means="${1:-n/a} ns | ${2:-n/a} ns"
	# one difference per pair of rounds: one of each load order
	set -- $(awk '{ d[NR] = $2 - $1 } END { for (i = 1; i + 1 <= NR; i += 2) print (d[i] + d[i + 1]) / 2 }' \
		"$work/samples" | sort -n |
		awk '{ v[NR] = $1 } END { if (NR) printf "%.1f %.1f %.1f\n", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2), v[1], v[NR] }')
	if [ $# -ne 3 ]; then
		echo "| $label | $means | n/a | | ≤ $limit_ns ns | not measured |"
		failed=1
		continue
	fi
	verdict=$(awk -v d="$1" -v l="$limit_ns" 'BEGIN { print (d <= l) ? "met" : "missed" }')
	echo "| $label | $means | $1 ns | $2 to $3 ns | ≤ $limit_ns ns | $verdict |"
done
exit $failed
