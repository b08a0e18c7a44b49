#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The capabilities khistd.service grants, one by one: what works with each
# set and what fails, with which message.
if [ -z "${BASH_VERSION:-}" ]; then
	command -v bash >/dev/null 2>&1 && exec bash "$0" "$@"
	echo "KTAP version 1"; echo "1..0 # SKIP needs bash"; exit 4
fi
set -u
dir=$(cd "$(dirname "$0")" && pwd)
. "$dir/ktap.sh"
build=${KHIST_BUILD:-$(cd "$dir/.." && pwd)}

ktap_header
[ "$(id -u)" -eq 0 ] || ktap_exit_skip "needs root"
for tool in curl setpriv; do
	command -v $tool >/dev/null 2>&1 || ktap_exit_skip "needs $tool"
done
grep -q perfmon <(setpriv --list-caps) || ktap_exit_skip "setpriv does not know CAP_PERFMON"
ktap_plan 5

work=$(mktemp -d /tmp/khistd-caps.XXXXXX)
root=/sys/fs/bpf/khistd-caps-$$
port=$((20000 + $$ % 20000))
daemon=
cleanup() {
	[ -n "$daemon" ] && kill "$daemon" 2>/dev/null
	sleep 0.3
	"$build/khist" unload --pin-root "$root" >/dev/null 2>&1
	rm -rf "$root" "$work"
}
trap cleanup EXIT
printf '[khistd]\nlisten = 127.0.0.1:%s\npin_root = %s\n' $port "$root" > "$work/plain.conf"
printf '[khistd]\nlisten = 127.0.0.1:%s\npin_root = %s\npin_group = nogroup\npin_mode = 0640\n' \
	$port "$root" > "$work/group.conf"

# with_caps CAPS CONFIG: khistd with only CAPS (root's permitted set is its
# bounding set); sets $daemon when it got ready.
with_caps() {
	local result
	: > "$work/log"
	result=$(setpriv --bounding-set "-all,$1" --inh-caps -all \
		"$build/selftests/notify_wait" 20000 "$work/log" "$build/khistd" --config "$2")
	set -- $result
	[ "${1:-}" = ready ] && daemon=$2
	[ "${1:-}" = ready ]
}
stop() {
	kill "$daemon"; daemon=
	for _ in $(seq 50); do pgrep -f "khistd --config $work" >/dev/null || break; sleep 0.1; done
	"$build/khist" unload --pin-root "$root" >/dev/null 2>&1
}
runs_exported() { curl -s "http://127.0.0.1:$port/metrics" | grep -q '^khist_program_runs_total{'; }

documented_set() {
	with_caps +bpf,+perfmon,+sys_admin,+chown "$work/group.conf" || { cat "$work/log"; return 1; }
	runs_exported || { echo "no khist_program_runs_total"; stop; return 1; }
	stop
}
check documented_capabilities_run_everything documented_set
without_sys_admin() {
	with_caps +bpf,+perfmon "$work/plain.conf" || { cat "$work/log"; return 1; }
	! runs_exported || { echo "program runs exported without CAP_SYS_ADMIN?"; stop; return 1; }
	stop
}
check bpf_and_perfmon_are_enough_to_count without_sys_admin
fails_with() {	# fails_with CAPS CONFIG MESSAGE
	if with_caps "$1" "$2"; then echo "started with only $1"; stop; return 1; fi
	grep -q "$3" "$work/log" || { cat "$work/log"; return 1; }
}
# CAP_SYS_ADMIN stands in for CAP_PERFMON (and CAP_BPF) in the kernel: leave both out.
check without_perfmon_it_says_why fails_with +bpf "$work/plain.conf" \
	"needs root, or at least CAP_BPF and CAP_PERFMON"
check without_bpf_it_says_why fails_with +perfmon "$work/plain.conf" \
	"needs root, or at least CAP_BPF and CAP_PERFMON"
check pin_group_needs_chown fails_with +bpf,+perfmon,+sys_admin "$work/group.conf" \
	"a pin_group other than root needs CAP_CHOWN"
ktap_finished
