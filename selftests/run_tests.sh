#!/bin/sh
# Runs every khist selftest program and prints KTAP like kselftest's runner:
# each program's output indented under "# ", one result line per program,
# and a closing line "N passed, N failed, N skipped" summing every test case.
# Usage: run_tests.sh [PROGRAM...]   (default: every program in tests.list)
# Environment: KHIST_BUILD (the build directory holding this selftests/ and
# the binaries; default: the parent of this script's directory),
# KHIST_TEST_TIMEOUT (seconds per program, default 300; a program named in
# the file timeouts beside this script gets the seconds given there).
dir=$(cd "$(dirname "$0")" && pwd)
: "${KHIST_BUILD:=$(cd "$dir/.." && pwd)}"
export KHIST_BUILD
timeout_s=${KHIST_TEST_TIMEOUT:-300}

if [ $# -gt 0 ]; then
	tests="$*"
else
	tests=$(cat "$dir/tests.list")
fi
count=$(echo $tests | wc -w)
passed=0 failed=0 skipped=0 index=0 log=$(mktemp)

echo "KTAP version 1"
echo "1..$count"
for test in $tests; do
	index=$((index + 1))
	echo "# selftests: khist: $test"
	limit=$(awk -v name="$test" '$1 == name { print $2 }' "$dir/timeouts" 2>/dev/null)
	timeout "${limit:-$timeout_s}" "$dir/$test" > "$log" 2>&1
	rc=$?
	sed 's/^/# /' "$log"
	totals=$(grep '^# Totals:' "$log" | tail -n 1)
	if [ -n "$totals" ]; then
		set -- $(echo "$totals" | sed 's/^# Totals: pass:\([0-9]*\) fail:\([0-9]*\) .* skip:\([0-9]*\) error:\([0-9]*\).*/\1 \2 \3 \4/')
		p=$1 f=$2 s=$3 e=$4
		f=$((f + e))
	elif [ $rc -eq 4 ]; then
		p=0 f=0 s=1
	else
		p=0 f=1 s=0
	fi
	# A crash or a non-zero exit with no failed case still fails the program.
	if [ $rc -ne 0 ] && [ $rc -ne 4 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	case $rc in
	0) echo "ok $index selftests: khist: $test" ;;
	4) echo "ok $index selftests: khist: $test # SKIP" ;;
	124) echo "not ok $index selftests: khist: $test # TIMEOUT ${limit:-$timeout_s}s" ;;
	*) echo "not ok $index selftests: khist: $test # exit=$rc" ;;
	esac
done
rm -f "$log"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
