#!/bin/sh
# Locate an installed test kernel by flavour (cloud, rt, ...).
#   kernel.sh release FLAVOUR   -> e.g. 6.12.95+deb12-cloud-amd64 (newest installed)
#   kernel.sh kdir FLAVOUR      -> its headers directory (KDIR)
#   kernel.sh image FLAVOUR     -> its vmlinuz
# The debug flavour is the kernel scripts/kernel/debug-kernel.sh builds.
set -eu
what=${1:?usage: kernel.sh release|kdir|image FLAVOUR}
flavour=${2:?usage: kernel.sh release|kdir|image FLAVOUR}

if [ "$flavour" = debug ]; then
	dir=$("$(dirname "$0")/kernel/debug-kernel.sh" dir)
	if [ ! -f "$dir/built" ]; then
		echo "kernel.sh: the debug kernel is not built (scripts/kernel/debug-kernel.sh build)" >&2
		exit 1
	fi
	case $what in
	release) cat "$dir/build/include/config/kernel.release" ;;
	kdir) echo "$dir/build" ;;
	image) echo "$dir/build/arch/x86/boot/bzImage" ;;
	*) echo "kernel.sh: unknown query '$what'" >&2; exit 2 ;;
	esac
	exit 0
fi

release=$(ls -d /usr/src/linux-headers-*-"$flavour"-amd64 2>/dev/null |
	sed "s|^/usr/src/linux-headers-||" | sort -V | tail -n 1)
if [ -z "$release" ]; then
	echo "kernel.sh: no linux-headers-*-$flavour-amd64 installed (run scripts/deps.sh)" >&2
	exit 1
fi
case $what in
release) echo "$release" ;;
kdir) echo "/usr/src/linux-headers-$release" ;;
image)
	if [ ! -r "/boot/vmlinuz-$release" ]; then
		echo "kernel.sh: /boot/vmlinuz-$release missing (install linux-image-$release)" >&2
		exit 1
	fi
	echo "/boot/vmlinuz-$release" ;;
*) echo "kernel.sh: unknown query '$what'" >&2; exit 2 ;;
esac
