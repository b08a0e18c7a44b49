#!/usr/bin/env bash
# Whether this QEMU's TCG keeps cross-modified kernel text coherent between
# vCPUs, with no khist code in the guest: the stock kernel of TARGET switches
# the function tracer on and off for vfs_read (ftrace call sites and jump
# labels rewritten with text_poke) while three readers call read(2).
#
#   scripts/tcg-text-poke.sh [-f TARGET] [-s SECONDS] single|multi
#
# Exits 0 when the guest's log stayed clean, 1 on a kernel report (vmtest.sh
# prints it). QEMU 10.0.2 under thread=multi reported "Oops: int3" at a site
# whose int3 had already been replaced (a vCPU ran a stale translation); the
# test VMs run thread=single for that reason (scripts/vmtest.sh). Run this
# with multi after a QEMU upgrade before switching them back.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
target=cloud
seconds=240
while getopts "f:s:h" opt; do
	case $opt in
	f) target=$OPTARG ;;
	s) seconds=$OPTARG ;;
	*) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
mode=${1:-}
case $mode in single|multi) ;; *) echo "tcg-text-poke: single or multi, not '$mode'" >&2; exit 2 ;; esac
case $seconds in ''|*[!0-9]*) echo "tcg-text-poke: -s takes seconds, got '$seconds'" >&2; exit 2 ;; esac

# shellcheck disable=SC2016 # expanded in the guest
guest='
T=/sys/kernel/tracing
[ -e $T/current_tracer ] || mount -t tracefs nodev $T
echo vfs_read > $T/set_ftrace_filter || exit 1
for reader in 1 2 3; do
	( while :; do dd if=/dev/zero of=/dev/null bs=1 count=100000 2>/dev/null; done ) &
done
end=$(( $(cut -d. -f1 /proc/uptime) + $1 ))
toggles=0
while [ "$(cut -d. -f1 /proc/uptime)" -lt $end ]; do
	echo function > $T/current_tracer && echo nop > $T/current_tracer || exit 1
	toggles=$((toggles + 1))
done
kill $(jobs -p)
echo "tcg-text-poke: $toggles tracer switches in $1 s"
'
VMTEST_TCG_THREAD=$mode exec "$top/scripts/vmtest.sh" -f "$target" -t $((seconds + 300)) -- \
	sh -c "$guest" tcg-text-poke "$seconds"
