#!/usr/bin/env bash
# `make check`: every selftest on the host (unit, BPF, CLI, daemon with a
# real Prometheus), the same built with ASan+UBSan, then every selftest in a
# VM for each test kernel (scripts/kernel/targets), and the map memory test
# in a 32-CPU VM. Ends with one line summing all of them:
# "N passed, N failed, N skipped", after the time each phase took; exits
# non-zero on any failure.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
targets=${TARGETS:-$("$top/scripts/kernel.sh" names)}
passed=0 failed=0 skipped=0 failed_phases="" phase_times=""

run_phase() {
	local name=$1 out line rc start=$SECONDS
	shift
	echo "=== $name: $*"
	out=$(mktemp)
	"$@" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	phase_times="$phase_times $name:$((SECONDS - start))s"
	line=$(grep -aE '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$out" | tail -n 1)
	rm -f "$out"
	if [ -n "$line" ]; then
		set -- $line
		passed=$((passed + $1)) failed=$((failed + $3)) skipped=$((skipped + $5))
		# A phase that failed outside its tests (kernel report, timeout) counts once.
		if [ "$rc" -ne 0 ] && [ "$3" -eq 0 ]; then
			failed=$((failed + 1))
		fi
	elif [ "$rc" -ne 0 ]; then
		failed=$((failed + 1))
	fi
	[ "$rc" -eq 0 ] || failed_phases="$failed_phases $name"
}

run_phase host "$top/build/selftests/run_tests.sh"
run_phase install "$top/scripts/install_test.sh"
run_phase deb "$top/scripts/deb_test.sh"
run_phase sanitize make -C "$top" --no-print-directory sanitize-check
for target in $targets; do
	run_phase "vm-$target" "$top/scripts/vmtest.sh" -f "$target"
done
# The map memory formula once where per-CPU memory dominates: 32 CPUs.
run_phase vm-smp32 "$top/scripts/vmtest.sh" -f cloud -c 32 -t 900 -- \
	env KHIST_MEMORY_CPUS=32 /khist/build/selftests/run_tests.sh khist_memory
# The packages under a real systemd, in a Debian VM (the root filesystem is cached).
run_phase vm-systemd "$top/scripts/package_vmtest.sh"

echo "==="
echo "phase times:$phase_times"
[ -z "$failed_phases" ] || echo "failed phases:$failed_phases"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ -z "$failed_phases" ]
