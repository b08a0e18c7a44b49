#!/usr/bin/env bash
# The vfs collector's attach modes side by side in one run of each test VM
# (QEMU TCG: emulated, so only the ratios mean anything), as Markdown.
# Environment: BENCH_VM_TARGETS (test kernels of scripts/kernel/targets,
# default: cloud and every other packaged one whose module is built).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build/bench/results
targets=${BENCH_VM_TARGETS:-$("$top/scripts/kernel.sh" names --packaged | grep -vx rt)}
median() { awk -v m="$1" '$1 == "sample" && $2 == m { print $3 }' "$log" | sort -n |
	awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
failed=0
for target in $targets; do
log=$out/vm-$target.log
if ! "$top/scripts/vmtest.sh" -f "$target" -t 1800 -- sh build/bench/vm_inner.sh "${BENCH_ROUNDS:-5}" \
	> "$log" 2>&1; then
	echo "bench: VM run on $target failed (see $log)" >&2
	failed=1
	continue
fi
none=$(median none)
echo
echo "## vfs attach modes in the $target VM ($("$top/scripts/kernel.sh" release "$target"); emulated under TCG: relative figures only)"
echo
echo "| condition | ns/op (median) | overhead ns/op |"
echo "|---|---:|---:|"
declare -A over
for mode in none floor-glue floor-fentry floor-kprobe floor-fentry-entry floor-kprobe-entry \
	floor-kretprobe glue fentry kprobe; do
	m=$(median $mode)
	over[$mode]=$(awk -v a="$m" -v b="$none" 'BEGIN { printf "%.0f", a - b }')
	echo "| $mode | $m | ${over[$mode]} |"
done
ratio() { awk -v a="$1" -v b="$2" -v l="$3" 'BEGIN { r = a / b; printf "%.2f | ≤ %s | %s", r, l, r <= l ? "met" : "missed" }'; }
echo
echo "| ratio | measured | target | |"
echo "|---|---:|---:|---|"
echo "| glue mode / fentry mode | $(ratio "${over[glue]}" "${over[fentry]}" 0.5) |"
echo "| glue mode / kprobe mode | $(ratio "${over[glue]}" "${over[kprobe]}" 0.3) |"
done
exit $failed
