# SPDX-License-Identifier: GPL-2.0
# KTAP output for shell selftests (sourced), like selftests/ktap.h.
KTAP_PASS=0 KTAP_FAIL=0 KTAP_SKIP=0 KTAP_COUNT=0 KTAP_PLAN=0

ktap_header() { echo "KTAP version 1"; }
ktap_plan() { KTAP_PLAN=$1; echo "1..$1"; }
ktap_msg() { echo "# $*"; }
ktap_result() {	# ktap_result OK(0|1) NAME
	KTAP_COUNT=$((KTAP_COUNT + 1))
	if [ "$1" -eq 0 ]; then
		KTAP_PASS=$((KTAP_PASS + 1)); echo "ok $KTAP_COUNT $2"
	else
		KTAP_FAIL=$((KTAP_FAIL + 1)); echo "not ok $KTAP_COUNT $2"
	fi
}
ktap_skip() {	# ktap_skip NAME REASON
	KTAP_COUNT=$((KTAP_COUNT + 1)); KTAP_SKIP=$((KTAP_SKIP + 1))
	echo "ok $KTAP_COUNT $1 # SKIP $2"
}
ktap_exit_skip() { echo "1..0 # SKIP $*"; exit 4; }
ktap_finished() {
	local missing=0
	[ "$KTAP_COUNT" -lt "$KTAP_PLAN" ] && missing=$((KTAP_PLAN - KTAP_COUNT))
	echo "# Totals: pass:$KTAP_PASS fail:$KTAP_FAIL xfail:0 xpass:0 skip:$KTAP_SKIP error:$missing"
	[ "$KTAP_FAIL" -eq 0 ] && [ "$missing" -eq 0 ] || exit 1
	[ "$KTAP_PASS" -eq 0 ] && [ "$KTAP_SKIP" -gt 0 ] && exit 4
	exit 0
}
# check NAME COMMAND...: one test case from a command's status, its output
# shown as diagnostics. The command runs in this shell, so a function it
# calls can set variables for the next cases.
check() {
	local name=$1 out status
	shift
	out=$(mktemp)
	"$@" > "$out" 2>&1
	status=$?
	sed 's/^/# /' "$out" | head -n 20
	rm -f "$out"
	ktap_result $status "$name"
}
