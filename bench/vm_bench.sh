#!/usr/bin/env bash
# The vfs collector's attach modes side by side in one run of the test VM
# (QEMU TCG: emulated, so only the ratios mean anything), as Markdown.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build/bench/results
"$top/scripts/vmtest.sh" -t 1800 -- sh build/bench/vm_inner.sh "${BENCH_ROUNDS:-5}" > "$out/vm.log" 2>&1 ||
	{ echo "bench: VM run failed (see $out/vm.log)" >&2; exit 1; }
median() { awk -v m="$1" '$1 == "sample" && $2 == m { print $3 }' "$out/vm.log" | sort -n |
	awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
none=$(median none)
echo
echo "## vfs attach modes in the test VM (emulated under TCG: relative figures only)"
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
