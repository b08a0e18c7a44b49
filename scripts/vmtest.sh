#!/usr/bin/env bash
# Boots a test kernel under QEMU (TCG) with an initramfs made of busybox and
# the build tree, runs one command inside, and exits with its status.
#
#   scripts/vmtest.sh [-f TARGET] [-t SECONDS] [-m MEM] [-c CPUS] [-i] [-- COMMAND...]
#
#   -f TARGET    a test kernel of scripts/kernel/targets: cloud (default), rt,
#                debug (KASAN, lockdep, kmemleak: scripts/kernel/debug-kernel.sh;
#                2G by default), ...
#   -t SECONDS   whole-run timeout (default 900, debug 2700; env VMTEST_TIMEOUT)
#   -m MEM       guest memory (default 1G)
#   -c CPUS      virtual CPUs (default 2)
#   -i           interactive shell instead of a command
#   COMMAND      run inside the VM from /khist (the build tree is at
#                /khist/build); default: every selftest
#
# VMTEST_TCG_THREAD=multi runs the vCPUs on threads of their own. The default,
# single, runs them in turn on one thread: under multi-threaded TCG a vCPU
# can run a stale translation of kernel text another vCPU has just patched
# (an int3 Oops at a finished text_poke site, with no khist code loaded:
# scripts/tcg-text-poke.sh), which would fail runs for nothing.
#
# The run fails when the command fails, on timeout, on a kernel panic, and on
# any WARNING/BUG/Oops/refcount/lockdep/KASAN report in the kernel log; those
# lines are printed. The full console log is kept in build/vm/TARGET/.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
target=cloud
timeout_s=${VMTEST_TIMEOUT:-}
memory=
cpus=2
interactive=0

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 2; }
while getopts "f:t:m:c:ih" opt; do
	case $opt in
	f) target=$OPTARG ;;
	t) timeout_s=$OPTARG ;;
	m) memory=$OPTARG ;;
	c) cpus=$OPTARG ;;
	i) interactive=1 ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ "${1:-}" = "--" ] && shift
flavour=$("$top/scripts/kernel.sh" flavour "$target") || exit 2
kernel_args=$("$top/scripts/kernel.sh" args "$target")
# KASAN and lockdep slow everything down under emulation.
[ -n "$timeout_s" ] || { [ "$flavour" = debug ] && timeout_s=2700 || timeout_s=900; }
case $timeout_s in *[!0-9]*) echo "vmtest: -t takes seconds, got '$timeout_s'" >&2; exit 2 ;; esac
# KASAN's shadow and kmemleak's object pool want room.
[ -n "$memory" ] || { [ "$flavour" = debug ] && memory=2G || memory=1G; }

tcg_thread=${VMTEST_TCG_THREAD:-single}
case $tcg_thread in single|multi) ;; *) echo "vmtest: VMTEST_TCG_THREAD is single or multi, not '$tcg_thread'" >&2; exit 2 ;; esac

release=$("$top/scripts/kernel.sh" release "$target")
image=$("$top/scripts/kernel.sh" image "$target")
module_dir=$top/build/kmod/$release
if [ ! -f "$module_dir/khist.ko" ]; then
	echo "vmtest: $module_dir/khist.ko missing: run 'make' first" >&2
	exit 2
fi

work=$top/build/vm/$target
root=$work/root
rm -rf "$root"
mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,run,root,khist/build,usr/bin,usr/sbin}
cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list); do
	[ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
echo 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >> "$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"

# The build tree, minus what only the host build needs, and only this
# kernel's module.
tar -C "$top/build" --exclude=./vm --exclude=./kmod --exclude='*.o' \
	--exclude='*.a' --exclude=./vmlinux.h -cf - . | tar -C "$root/khist/build" -xf -
mkdir -p "$root/khist/build/kmod/$release"
cp "$module_dir/khist.ko" "$root/khist/build/kmod/$release/"

# The scratch disk's driver, where the kernel has it as modules (Debian's
# do; the debug kernel has it built in): insmod-ed by init, in order.
modules=$root/khist/vm-modules
: > "$modules"
if [ -f "/lib/modules/$release/modules.dep" ]; then
	mkdir -p "$root/lib/modules"
	for module in virtio_pci virtio_blk; do
		modprobe --show-depends -S "$release" "$module"
	done | awk '$1 == "insmod" { print $2 }' |
	while read -r ko; do
		name=$(basename "$ko"); name=${name%.xz}; name=${name%.zst}
		[ -e "$root/lib/modules/$name" ] && continue
		case $ko in
		*.xz) xz -dc "$ko" > "$root/lib/modules/$name" ;;
		*.zst) zstd -qdc "$ko" > "$root/lib/modules/$name" ;;
		*) cp "$ko" "$root/lib/modules/$name" ;;
		esac
		echo "/lib/modules/$name" >> "$modules"
	done
fi
# A blank disk for the block collector's test, found in the guest by its serial.
truncate -s 0 "$work/scratch.img"
truncate -s 64M "$work/scratch.img"

# Host tools the tests use, and every shared library of every ELF file.
for tool in bpftool biolatency ${VMTEST_EXTRA_TOOLS:-}; do
	path=$(command -v "$tool") || continue
	path=$(readlink -f "$path")
	cp "$path" "$root/usr/sbin/$(basename "$tool")"
done
find "$root/khist" "$root/usr" -type f -perm -u+x | while read -r elf; do
	file -b "$elf" | grep -q 'dynamically linked' || continue
	ldd "$elf" | awk '/=> \// {print $3} /^\t\/.*ld-linux/ {print $1}'
done | sort -u | while read -r lib; do
	mkdir -p "$root$(dirname "$lib")"
	cp -L "$lib" "$root$lib"
done
[ -e "$root/lib64" ] || ln -s lib "$root/lib64" 2>/dev/null || true

# The command, quoted for sh.
quote() { printf "'%s' " "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
{
	echo "export KHIST_BUILD=/khist/build"
	# Tests that skip what a host kernel lacks must not skip it here.
	echo "export KHIST_TEST_VM=1"
	if [ $# -eq 0 ]; then
		echo "/khist/build/selftests/run_tests.sh"
	else
		for arg in "$@"; do quote "$arg"; done
		echo
	fi
} > "$root/khist/vm-command"
[ $interactive -eq 1 ] && touch "$root/khist/vm-interactive"

cat > "$root/init" <<'INIT'
#!/bin/sh
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t bpf bpf /sys/fs/bpf
mount -t tracefs tracefs /sys/kernel/tracing
mount -t debugfs debugfs /sys/kernel/debug
mount -t cgroup2 cgroup2 /sys/fs/cgroup
ip link set lo up
while read -r module; do
	insmod "$module" || echo "KHIST-VM: insmod $module failed"
done < /khist/vm-modules
# The scratch disk (vmtest.sh attaches it): the block collector's test uses it.
for tries in 1 2 3 4 5 6 7 8 9 10; do
	for serial in /sys/block/*/serial; do
		[ "$(cat "$serial" 2>/dev/null)" = khist-scratch ] || continue
		disk=${serial%/serial}
		export KHIST_TEST_DISK=/dev/${disk##*/}
	done
	[ -n "${KHIST_TEST_DISK:-}" ] && break
	sleep 1
done
echo "KHIST-VM: scratch disk ${KHIST_TEST_DISK:-missing}"
# Leaks are counted from here on (a debug kernel has kmemleak).
[ -w /sys/kernel/debug/kmemleak ] && echo clear > /sys/kernel/debug/kmemleak
echo "KHIST-VM: booted $(uname -r)"
cd /khist
if [ -f /khist/vm-interactive ]; then
	setsid cttyhack sh -l
	rc=$?
else
	sh /khist/vm-command
	rc=$?
fi
if [ -w /sys/kernel/debug/kmemleak ]; then
	# Two scans: an object must look unreferenced twice to be reported.
	echo scan > /sys/kernel/debug/kmemleak
	sleep 5
	echo scan > /sys/kernel/debug/kmemleak
	echo KHIST-VM-KMEMLEAK-BEGIN
	cat /sys/kernel/debug/kmemleak
	echo KHIST-VM-KMEMLEAK-END
fi
echo KHIST-VM-DMESG-BEGIN
dmesg
echo KHIST-VM-DMESG-END
echo "KHIST-VM-EXIT: $rc"
echo o > /proc/sysrq-trigger
sleep 30
INIT
chmod +x "$root/init"

(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/initramfs.cpio.gz"

log=$work/console.log
qemu=(qemu-system-x86_64 -accel tcg,thread=$tcg_thread -cpu max -m "$memory" -smp "$cpus"
	-kernel "$image" -initrd "$work/initramfs.cpio.gz"
	-drive "file=$work/scratch.img,if=none,id=scratch,format=raw"
	-device virtio-blk-pci,drive=scratch,serial=khist-scratch
	-append "console=ttyS0 panic=-1 loglevel=5${kernel_args:+ $kernel_args}"
	-no-reboot -display none -vga none -monitor none -serial stdio)

echo "vmtest: booting $release ($target) under TCG (thread=$tcg_thread), timeout ${timeout_s}s, log $log"
status=0
if [ $interactive -eq 1 ]; then
	"${qemu[@]}" | tee "$log" || status=$?
else
	# The kernel log dump at the end goes to the log file only.
	timeout "$timeout_s" "${qemu[@]}" < /dev/null | tee "$log" |
		awk '{sub(/\r$/, "")} /^KHIST-VM-(DMESG|KMEMLEAK)-BEGIN/ {skip = 1} !skip {print; fflush()} /^KHIST-VM-(DMESG|KMEMLEAK)-END/ {skip = 0}' ||
		status=$?
fi

bad='WARNING:|BUG:|Oops|refcount|lockdep is turned off|inconsistent lock state|suspicious RCU usage|bad unlock balance|lock held when returning|KASAN|UBSAN|Kernel panic|general protection fault|Call Trace:|possible circular locking|possible recursive locking|blocked for more than|rcu_.*detected stall|suspected memory leak|unreferenced object'
# Kernel lines: the dumped kernel log, kmemleak's report and timestamped console lines.
# The OOM killer's report (from "invoked oom-killer" to its "Killed process",
# which the process collector's test causes) prints a stack by design: its
# "Call Trace:" is not a problem report; every other line of it is checked.
offending=$(awk '/^KHIST-VM-(DMESG|KMEMLEAK)-BEGIN/ {k = 1; next} /^KHIST-VM-(DMESG|KMEMLEAK)-END/ {k = 0}
	k || /^\[ *[0-9]+\.[0-9]+\]/' "$log" |
	awk '/invoked oom-killer:/ {oom = 1} oom && /Call Trace:/ {next} /Killed process [0-9]+/ {oom = 0} {print}' |
	grep -E "$bad" || true)

exit_line=$(grep -a '^KHIST-VM-EXIT: ' "$log" | tail -n 1 || true)
if [ -n "$offending" ]; then
	echo "vmtest: FAIL: kernel reported problems (full log: $log):" >&2
	echo "$offending" >&2
	exit 1
fi
if [ -z "$exit_line" ]; then
	if [ "$status" -eq 124 ]; then
		echo "vmtest: FAIL: timed out after ${timeout_s}s (log: $log)" >&2
	else
		echo "vmtest: FAIL: the VM stopped before the command finished (panic or crash; log: $log)" >&2
	fi
	exit 1
fi
rc=${exit_line#KHIST-VM-EXIT: }
rc=${rc%%[!0-9]*}
[ "$rc" -eq 0 ] || echo "vmtest: the command exited with status $rc" >&2
exit "$rc"
