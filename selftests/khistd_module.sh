#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# khistd with khist.ko loaded (in the test VM): module = required starts, the
# vfs collector takes the glue, and /metrics carries the module's state
# (GET_INFO over netlink) and its statistics (from the map khistd bound).
# POSIX sh and busybox wget: it runs in the VM's initramfs.
dir=$(cd "$(dirname "$0")" && pwd)
build=${KHIST_BUILD:-$(cd "$dir/.." && pwd)}
. "$dir/ktap.sh"

ktap_header
[ "$(id -u)" -eq 0 ] || ktap_exit_skip "needs root"
[ -e /proc/modules ] || ktap_exit_skip "this kernel cannot load modules (CONFIG_MODULES off: no /proc/modules)"
command -v wget > /dev/null 2>&1 || ktap_exit_skip "needs wget"
ktap_plan 4

root=/sys/fs/bpf/khistd-module-$$
port=$((20000 + $$ % 20000))
work=$(mktemp -d)
module=$build/kmod/$(uname -r)/khist.ko
loaded_here=
[ -d /sys/module/khist ] || { insmod "$module" && loaded_here=1; }
printf '[khistd]\nlisten = 127.0.0.1:%s\npin_root = %s\nmodule = required\n' $port "$root" > "$work/khistd.conf"

result=$("$build/selftests/notify_wait" 60000 "$work/khistd.log" "$build/khistd" --config "$work/khistd.conf")
set -- $result
if [ "${1:-}" = ready ]; then
	daemon=$2
	ktap_result 0 khistd_starts_with_module_required
else
	sed 's/^/# /' "$work/khistd.log"
	ktap_result 1 khistd_starts_with_module_required
	ktap_finished
fi

metric() { wget -q -O - "http://127.0.0.1:$port/metrics" | awk -v s="$1" '$1 == s { print $2 }'; }

glue() {
	wget -q -O "$work/m" "http://127.0.0.1:$port/metrics" || return 1
	grep -q '^khist_collector_attach_mode{collector="vfs",mode="glue",' "$work/m" &&
	grep -q '^khist_module_present 1$' "$work/m" &&
	grep -q '^khist_module_info{version="' "$work/m" &&
	grep -q '^khist_module_glue_probe_registered{event="khist_vfs_read"} 1$' "$work/m"
}
check vfs_uses_the_glue_and_module_state_is_exported glue

# The statistics map is published once a second: wait for reads to show.
statistics() {
	local value=0
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		cat /proc/version /proc/version /proc/version > /dev/null
		sleep 1
		value=$(metric 'khist_module_statistic_total{name="glue_read_events"}')
		[ "${value:-0}" -gt 0 ] && break
	done
	echo "glue_read_events published: ${value:-none}"
	[ "${value:-0}" -gt 0 ] && [ "$(metric 'khist_module_statistic_total{name="map_binds"}')" -ge 1 ]
}
check module_statistics_from_the_bound_map statistics

stopped() {
	kill "$daemon"
	for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$daemon" 2>/dev/null || break; sleep 0.5; done
	! kill -0 "$daemon" 2>/dev/null
}
check sigterm_stops_khistd stopped
"$build/khist" unload --pin-root "$root" > /dev/null
"$build/khist" kmod unbind > /dev/null 2>&1
rm -rf "$root" "$work" 2>/dev/null
if [ -n "$loaded_here" ]; then
	for _ in 1 2 3 4 5 6 7 8 9 10; do rmmod khist 2>/dev/null && break; sleep 0.5; done
fi
ktap_finished
