#!/usr/bin/env bash
# Boots Debian bookworm with systemd as PID 1 under QEMU (TCG) with the Debian
# 6.12 cloud kernel and runs a test script inside on every boot, across
# reboots, to test khist's Debian packages under a real systemd.
#
#   scripts/systemd_vm.sh [-t SECONDS] [-m MEM] [-c CPUS] [-b BOOTS] [-k] [-r] -d DIR -- SCRIPT
#   scripts/systemd_vm.sh -i [-m MEM] [-c CPUS] [-k] [-r] [-d DIR]
#
#   -d DIR       host directory copied into the guest as /root/khist-vm/
#   SCRIPT       path inside the guest, e.g. /root/khist-vm/test.sh
#   -t SECONDS   timeout for the whole run, all boots (default 1500)
#   -m MEM       guest memory (default 2G)
#   -c CPUS      virtual CPUs (default 2)
#   -b BOOTS     most boots allowed (default 4)
#   -k           keep the disk image (build/vm/systemd/disk.img)
#   -r           rebuild the cached root filesystem
#   -i           interactive: one boot, root shell on the console, no SCRIPT
#                (Ctrl-a x quits QEMU)
#
# Protocol with SCRIPT. It must be executable. khist-vm.service runs it as
# root on every boot once the boot has finished (systemctl is-system-running
# --wait has returned), in /root/khist-vm, with stdin from /dev/null and
# stdout and stderr on the serial console, and KHIST_VM_BOOT=N in the
# environment (1 on the first boot). The disk persists across the reboots of
# a run, so SCRIPT can keep state in files. When SCRIPT exits:
#   status 100   the guest reboots and SCRIPT runs again on the next boot
#                (running "systemctl reboot" itself does the same);
#   other        the run ends: the guest prints "# khist-vm: result STATUS"
#                and powers off; this script exits 0 only for status 0.
# A boot that ends without a result line counts as a reboot only when the
# kernel printed "reboot: Restarting system"; otherwise (a panic, a poweroff
# by SCRIPT) the run fails. SCRIPT's KTAP lines (KTAP/TAP version, 1..N,
# ok, not ok, #) are printed here; the runner's own lines are "#" lines too.
#
# The run also fails on timeout and when a kernel line of the console log
# matches the report regex of scripts/vmtest.sh (those lines are printed).
# Kernel lines are those with a "[ 12.345678]" timestamp, minus userspace
# /dev/kmsg writers ("[ 1.2] systemd[1]: ..."), so a script that prints
# WARNING does not fail the run. The console log is build/vm/systemd/console.log.
#
# The root filesystem is built once with mmdebstrap and cached in
# /var/cache/khist/rootfs/, keyed by a hash of the package list and the code
# that builds it; the guest kernel and libbpf match the host's exactly.
#
# Environment: KHIST_VM_APPEND (more kernel command line, such as
# systemd.log_level=debug), KHIST_VM_MIRROR and KHIST_VM_SECURITY_MIRROR
# (Debian mirrors for the root filesystem).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
helpers=$top/scripts/systemd_vm

# The module is built against the host's headers and khist links the host's
# libbpf, so the guest gets exactly those.
kernel_release=$("$top/scripts/kernel.sh" release cloud)
libbpf_version=$(dpkg-query -W -f '${Version}' libbpf1)
packages=(
	systemd systemd-sysv dbus udev kmod apt procps iproute2 curl jq ca-certificates
	initramfs-tools "linux-image-$kernel_release" "linux-headers-$kernel_release"
	dkms gcc make libc6-dev dwarves lz4
	"libbpf1=$libbpf_version" libelf1 zlib1g libnl-3-200 libnl-genl-3-200
	libmicrohttpd12 libsystemd0 libinih1 libjson-c5 libprotobuf-c1
)
mirror=${KHIST_VM_MIRROR:-http://deb.debian.org/debian}
security_mirror=${KHIST_VM_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
sources=(
	"deb $mirror bookworm main"
	"deb $mirror bookworm-updates main"
	"deb $security_mirror bookworm-security main"
	"deb $mirror bookworm-backports main"
)
cache_dir=/var/cache/khist/rootfs
disk_size=4G

timeout_s=1500
memory=2G
cpus=2
max_boots=4
keep=0
rebuild=0
interactive=0
dir=

usage() { awk 'NR > 1 && !/^#/ {exit} NR > 1 {sub(/^# ?/, ""); print}' "$0"; exit 2; }
while getopts "t:m:c:b:d:krih" opt; do
	case $opt in
	t) timeout_s=$OPTARG ;;
	m) memory=$OPTARG ;;
	c) cpus=$OPTARG ;;
	b) max_boots=$OPTARG ;;
	d) dir=$OPTARG ;;
	k) keep=1 ;;
	r) rebuild=1 ;;
	i) interactive=1 ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ "${1:-}" = "--" ] && shift
script=${1:-}
die() { echo "systemd_vm: $*" >&2; exit 2; }
case $timeout_s$max_boots in *[!0-9]*) die "-t and -b take numbers" ;; esac
if [ $interactive -eq 0 ] && { [ -z "$dir" ] || [ -z "$script" ] || [ $# -ne 1 ]; }; then
	usage
fi
[ -z "$dir" ] || [ -d "$dir" ] || die "-d $dir: not a directory"
case $script in
*$'\n'*) die "SCRIPT must not contain a newline" ;;
/root/khist-vm/*)
	# Caught here rather than after a boot.
	host_path=$dir/${script#/root/khist-vm/}
	[ -x "$host_path" ] || die "$host_path (SCRIPT in the guest) is missing or not executable"
	;;
esac

now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }
secs() { printf '%d.%01d' $(($1 / 1000)) $(($1 % 1000 / 100)); }

# Writes the root filesystem tree to $1/root and its kernel and initramfs
# to $1/vmlinuz and $1/initrd.img. Everything that decides the contents of
# the tree is in here or in the package and source lists (all hashed).
build_rootfs() {
	local out=$1 root=$1/root
	mkdir -p "$out"
	local excludes=(
		--dpkgopt='path-exclude=/usr/share/man/*'
		--dpkgopt='path-exclude=/usr/share/doc/*'
		--dpkgopt='path-include=/usr/share/doc/*/copyright'
		--dpkgopt='path-exclude=/usr/share/locale/*'
		--dpkgopt='path-include=/usr/share/locale/locale.alias'
		--dpkgopt='path-exclude=/usr/share/info/*'
	)
	# A small initramfs boots faster under TCG: the root disk only needs
	# virtio_blk (ext4 and virtio_pci are built in). This must be in place
	# before the kernel package runs update-initramfs.
	local initramfs_hook='mkdir -p "$1/etc/initramfs-tools/conf.d" "$1/usr/share/initramfs-tools/modules.d"
		echo MODULES=list > "$1/etc/initramfs-tools/conf.d/khist-vm"
		echo virtio_blk > "$1/usr/share/initramfs-tools/modules.d/khist-vm"'
	mmdebstrap --mode=root --format=directory --variant=minbase \
		--include="$(IFS=,; echo "${packages[*]}")" \
		--aptopt='Acquire::Languages "none"' \
		"${excludes[@]}" \
		--essential-hook="$initramfs_hook" \
		bookworm "$root" "${sources[@]}"

	# The documentation was left out to save room, but the packages under
	# test must install complete.
	rm -f "$root/etc/dpkg/dpkg.cfg.d/99mmdebstrap"

	echo khist-vm > "$root/etc/hostname"
	printf '127.0.0.1\tlocalhost\n127.0.1.1\tkhist-vm\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' \
		> "$root/etc/hosts"
	# Passno 0: the kernel mounts the root read-write (no fsck), and the
	# disk is new on every run.
	echo '/dev/vda / ext4 rw,errors=remount-ro 0 0' > "$root/etc/fstab"
	# A persistent journal, so that "journalctl -b -1" works after a reboot.
	mkdir -p "$root/var/log/journal"
	# Periodic jobs and waits for a network the guest does not have only
	# slow the boot under emulation or fail.
	local unit
	for unit in apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer \
		e2scrub_all.timer e2scrub_reap.service fstrim.timer man-db.timer \
		systemd-networkd-wait-online.service; do
		systemctl --root="$root" mask "$unit" > /dev/null
	done
	# Used only with -i (the serial getty is masked on the kernel command
	# line otherwise).
	mkdir -p "$root/etc/systemd/system/serial-getty@ttyS0.service.d"
	printf '[Service]\nExecStart=\nExecStart=-/sbin/agetty --autologin root --keep-baud 115200,57600,38400,9600 - $TERM\n' \
		> "$root/etc/systemd/system/serial-getty@ttyS0.service.d/autologin.conf"
	# ConditionNeedsUpdate= units (ldconfig, hwdb rebuild) would run on the
	# first boot of every disk otherwise: mark /etc and /var as up to date.
	touch -r "$root/usr" "$root/etc/.updated" "$root/var/.updated"

	cp "$root/boot/vmlinuz-$kernel_release" "$out/vmlinuz"
	cp "$root/boot/initrd.img-$kernel_release" "$out/initrd.img"
	case $(lsinitramfs "$out/initrd.img") in
	*/virtio_blk.ko*) ;;
	*) echo "systemd_vm: virtio_blk is missing from the initramfs" >&2; return 1 ;;
	esac
	[ -f "$root/lib/modules/$kernel_release/modules.dep" ] ||
		{ echo "systemd_vm: depmod did not run for $kernel_release" >&2; return 1; }
	dpkg-query --admindir="$root/var/lib/dpkg" -W -f '${Package} ${Version}\n' > "$out/packages"
}

key=$( {
	printf '%s\n' "${packages[@]}" "${sources[@]}"
	declare -f build_rootfs
} | sha256sum | cut -c1-16)
rootfs=$cache_dir/$key

mkdir -p "$cache_dir"
# One build at a time; a second run waits for it and then reuses it.
exec 8> "$cache_dir/.lock"
flock 8
if [ $rebuild -eq 1 ] || [ ! -d "$rootfs" ]; then
	tmp=$cache_dir/.$key.tmp.$$
	rm -rf "$cache_dir"/.*.tmp.* "$cache_dir"/.*.old "$cache_dir"/.*.log
	echo "systemd_vm: building the root filesystem $rootfs (once; a minute or two)"
	t=$(now_ms)
	# In the background so that set -e holds inside (a function run on the
	# left of || ignores it), and waited for.
	build_rootfs "$tmp" > "$cache_dir/.$key.log" 2>&1 &
	wait $! || {
		tail -n 30 "$cache_dir/.$key.log" >&2
		# Left for a look; the next build removes it.
		die "building the root filesystem failed (log: $cache_dir/.$key.log, tree: $tmp)"
	}
	mv "$cache_dir/.$key.log" "$tmp/build.log"
	# Only a complete build ever carries the final name.
	[ ! -d "$rootfs" ] || mv "$rootfs" "$cache_dir/.$key.old"
	mv "$tmp" "$rootfs"
	rm -rf "$cache_dir/.$key.old"
	echo "systemd_vm: root filesystem built in $(secs $(($(now_ms) - t)))s," \
		"$(du -sh "$rootfs/root" | cut -f1)"
	# Keep a few other versions (other work trees), not every one ever built.
	ls -dt "$cache_dir"/*/ | tail -n +4 | xargs -r rm -rf
fi
touch "$rootfs"
exec 8>&-

work=$top/build/vm/systemd
mkdir -p "$work"
exec 9> "$work/lock"
flock -n 9 || die "another systemd_vm.sh run is using $work"
stage=$work/stage
disk=$work/disk.img
log=$work/console.log
cleanup() {
	rm -rf "$stage"
	[ $keep -eq 1 ] || rm -f "$disk"
}
trap cleanup EXIT

t=$(now_ms)
rm -rf "$stage" "$disk"
# Hard links make the copy nearly free. Only new files may be added to the
# stage, never existing ones written to: they are the cache's files.
cp -al "$rootfs/root" "$stage" 2> /dev/null || { rm -rf "$stage"; cp -a "$rootfs/root" "$stage"; }
mkdir -p "$stage/root/khist-vm" "$stage/etc/khist-vm" "$stage/usr/local/lib/khist-vm"
if [ -n "$dir" ]; then
	cp -a "$dir/." "$stage/root/khist-vm/"
	chown -R root:root "$stage/root/khist-vm"
fi
printf '%s\n' "$script" > "$stage/etc/khist-vm/script"
install -m 755 "$helpers/runner" "$stage/usr/local/lib/khist-vm/runner"
install -m 644 "$helpers/khist-vm.service" "$stage/etc/systemd/system/khist-vm.service"
ln -s /etc/systemd/system/khist-vm.service "$stage/etc/systemd/system/multi-user.target.wants/"
rm -f "$stage/etc/machine-id"
od -An -tx1 -N16 /dev/urandom | tr -d ' \n' > "$stage/etc/machine-id"
echo >> "$stage/etc/machine-id"
truncate -s "$disk_size" "$disk"
mke2fs -q -F -t ext4 -L khist-vm -d "$stage" "$disk"
rm -rf "$stage"
echo "systemd_vm: disk image created in $(secs $(($(now_ms) - t)))s ($disk, $(du -h "$disk" | cut -f1) used)"

append="root=/dev/vda rw console=ttyS0 panic=-1 loglevel=5 ${KHIST_VM_APPEND:-}"
# One TCG thread for the vCPUs, as in vmtest.sh (VMTEST_TCG_THREAD): multi-threaded
# TCG runs stale kernel text after a text_poke (scripts/tcg-text-poke.sh).
tcg_thread=${VMTEST_TCG_THREAD:-single}
case $tcg_thread in single|multi) ;; *) echo "systemd_vm: VMTEST_TCG_THREAD is single or multi, not '$tcg_thread'" >&2; exit 2 ;; esac
qemu=(qemu-system-x86_64 -accel tcg,thread=$tcg_thread -cpu max -m "$memory" -smp "$cpus"
	-nodefaults -no-reboot -display none -vga none -nic none
	-kernel "$rootfs/vmlinuz" -initrd "$rootfs/initrd.img"
	# The disk lives for one run only: flushes to the host are wasted time.
	-drive "file=$disk,format=raw,if=virtio,cache=unsafe"
	-device virtio-rng-pci)

if [ $interactive -eq 1 ]; then
	echo "systemd_vm: interactive boot, log $log; Ctrl-a x quits"
	"${qemu[@]}" -serial mon:stdio -append "$append systemd.mask=khist-vm.service" | tee "$log"
	[ $keep -eq 0 ] || echo "systemd_vm: disk image kept: $disk"
	exit 0
fi

# Shows the script's KTAP lines and when each boot reached its milestones.
watch_console() {
	local boot=$1 start=$2 line
	while IFS= read -r line || [ -n "$line" ]; do
		line=${line%$'\r'}
		case $line in
		# systemd colours the unit name.
		*"Reached target "*"multi-user.target"*)
			echo "systemd_vm: boot $boot: multi-user.target reached $(secs $(($(now_ms) - start)))s after QEMU start" ;;
		"# khist-vm: boot "*": running "*)
			echo "systemd_vm: boot $boot: script started $(secs $(($(now_ms) - start)))s after QEMU start" ;;
		esac
		if [[ $line =~ ^\ *(KTAP\ version|TAP\ version|1\.\.[0-9]|ok\ [0-9]|not\ ok\ [0-9]|#) ]]; then
			printf '%s\n' "$line"
		fi
	done
}

bad='WARNING:|BUG:|Oops|refcount|lockdep is turned off|inconsistent lock state|suspicious RCU usage|bad unlock balance|lock held when returning|KASAN|UBSAN|Kernel panic|general protection fault|Call Trace:|possible circular locking|possible recursive locking|blocked for more than|rcu_.*detected stall|suspected memory leak|unreferenced object'
# Kernel lines, also when one lands in the middle of a line the script wrote
# (the console is shared), minus userspace /dev/kmsg writers.
kernel_reports() {
	tr -d '\r' < "$1" | grep -aoE '\[ *[0-9]+\.[0-9]+\] .*' |
		grep -avE '^\[ *[0-9]+\.[0-9]+\] [^ :]+\[[0-9]+\]: ' |
		grep -aE "$bad" | awk '!seen[$0]++' || true
}

echo "systemd_vm: booting $kernel_release with systemd under TCG, timeout ${timeout_s}s, log $log"
: > "$log"
run_start=$(now_ms)
deadline=$((run_start + timeout_s * 1000))
boot=0
fail=
result=
while [ -z "$fail$result" ]; do
	boot=$((boot + 1))
	left=$(((deadline - $(now_ms)) / 1000))
	[ "$left" -gt 0 ] || { fail="timed out after ${timeout_s}s"; break; }
	bootlog=$work/boot$boot.log
	start=$(now_ms)
	status=0
	timeout -k 10 "$left" "${qemu[@]}" -serial stdio -append "$append systemd.mask=serial-getty@ttyS0.service" < /dev/null |
		tee -a "$log" | tee "$bootlog" | watch_console "$boot" "$start" || status=$?
	echo "systemd_vm: boot $boot: QEMU exited $(secs $(($(now_ms) - start)))s after its start (status $status)"

	offending=$(kernel_reports "$bootlog")
	line=$(tr -d '\r' < "$bootlog" | grep -aE '^# khist-vm: result [0-9]+$' | tail -n 1 || true)
	if [ -n "$offending" ]; then
		fail="the kernel reported problems:"$'\n'"$offending"
	elif [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
		fail="timed out after ${timeout_s}s"
	elif [ -n "$line" ]; then
		result=${line##* }
	elif ! grep -aq 'reboot: Restarting system' "$bootlog"; then
		fail="boot $boot ended without a result or a reboot (panic, crash or poweroff; status $status)"
	elif [ "$boot" -ge "$max_boots" ]; then
		fail="still rebooting after $boot boots (-b $max_boots)"
	fi
done
rm -f "$work"/boot*.log
echo "systemd_vm: $boot boot(s), $(secs $(($(now_ms) - run_start)))s in total"
[ $keep -eq 0 ] || echo "systemd_vm: disk image kept: $disk"

if [ -n "$fail" ]; then
	echo "systemd_vm: FAIL: $fail" >&2
	echo "systemd_vm: full log: $log" >&2
	exit 1
fi
[ "$result" -eq 0 ] || echo "systemd_vm: the script's result is $result (log: $log)" >&2
exit "$result"
