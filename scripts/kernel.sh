#!/bin/sh
# Test kernels, from the table scripts/kernel/targets.
#   kernel.sh names [--available|--packaged]
#                                  target names in table order (--available:
#                                  those whose kernel and KDIR are ready;
#                                  --packaged: those whose kernel is a package)
#   kernel.sh release TARGET       e.g. 6.12.117+deb12-cloud-amd64
#   kernel.sh kdir TARGET          its module build directory (KDIR)
#   kernel.sh image TARGET         its kernel image
#   kernel.sh flavour TARGET       cloud, rt or debug
#   kernel.sh args TARGET          more kernel command line (may be empty)
#   kernel.sh packages             for scripts/deps.sh: the newest image and
#                                  headers packages the suites carry, per target
#   kernel.sh prepare TARGET       build a kernel that is built from source
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
table=$top/scripts/kernel/targets
usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0" >&2; exit 2; }
die() { echo "kernel.sh: $*" >&2; exit 1; }
what=${1:-}
[ -n "$what" ] || usage

# The table's line for a target: "name flavour kernel kdir args...".
line_of() {
	awk -v name="$1" '!/^#/ && NF >= 5 && $1 == name { print; found = 1; exit }
		END { exit !found }' "$table" || die "no target '$1' in $table"
}
names() { awk '!/^#/ && NF >= 5 { print $1 }' "$table"; }
built_from_source() { case $1 in */*.sh) true ;; *) false ;; esac; }

# The newest installed release of an image package pattern, or nothing.
installed_release() {
	dpkg-query -W -f '${db:Status-Status} ${Package}\n' "$1" 2>/dev/null |
		awk '$1 == "installed" { print $2 }' | sed 's/^linux-image-//' | sort -V | tail -n 1
}
# The newest release of an image package pattern that apt can install.
available_release() {
	prefix=${1%%\**}
	apt-cache pkgnames "$prefix" 2>/dev/null | while read -r package; do
		# shellcheck disable=SC2254
		case $package in $1) echo "$package" ;; esac
	done | sed 's/^linux-image-//' | sort -V | tail -n 1
}

case $what in
names)
	case ${2:-} in
	--available)
		for name in $(names); do
			"$0" kdir "$name" > /dev/null 2>&1 && echo "$name"
		done ;;
	--packaged)
		for name in $(names); do
			line=$(line_of "$name") || exit 1
			set -- $line
			built_from_source "$3" || echo "$name"
		done ;;
	'') names ;;
	*) usage ;;
	esac
	exit 0 ;;
packages)
	names | while read -r name; do
		line=$(line_of "$name") || exit 1
		set -- $line
		built_from_source "$3" && continue
		release=$(available_release "$3")
		[ -n "$release" ] || die "$name: no package matches $3 (apt-get update?)"
		echo "linux-image-$release linux-headers-$release"
	done
	exit 0 ;;
release|kdir|image|flavour|args|prepare) ;;
*) usage ;;
esac

target=${2:-}
[ -n "$target" ] || usage
line=$(line_of "$target") || exit 1
set -- $line
flavour=$2 kernel=$3 kdir=$4
shift 4
args=$*
[ "$args" = - ] && args=

case $what in
flavour) echo "$flavour"; exit 0 ;;
args) echo "$args"; exit 0 ;;
esac

if built_from_source "$kernel"; then
	script=$top/$kernel
	if [ "$what" = prepare ]; then
		"$script" build > /dev/null
		exit
	fi
	dir=$("$script" dir)
	[ -f "$dir/built" ] || die "$target: the kernel is not built ($kernel build)"
	case $what in
	release) cat "$dir/build/include/config/kernel.release" ;;
	kdir) [ "$kdir" = - ] && echo "$dir/build" || echo "$kdir" ;;
	image) echo "$dir/build/arch/x86/boot/bzImage" ;;
	esac
	exit 0
fi

release=$(installed_release "$kernel")
[ -n "$release" ] || die "$target: no package matching $kernel is installed (run scripts/deps.sh)"
case $what in
prepare)
	if built_from_source "$kdir"; then
		"$top/$kdir" build "$release" > /dev/null
	fi ;;
release) echo "$release" ;;
kdir)
	if built_from_source "$kdir"; then
		dir=$("$top/$kdir" dir "$release")
		[ -f "$dir/built" ] || die "$target: $dir is not made ($kdir build $release)"
		echo "$dir"
		exit 0
	fi
	[ "$kdir" = - ] && kdir=/usr/src/linux-headers-$release
	[ -d "$kdir" ] || die "$target: $kdir missing (install linux-headers-$release)"
	echo "$kdir" ;;
image)
	[ -r "/boot/vmlinuz-$release" ] || die "$target: /boot/vmlinuz-$release missing"
	echo "/boot/vmlinuz-$release" ;;
esac
