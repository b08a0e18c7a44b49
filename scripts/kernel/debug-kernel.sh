#!/usr/bin/env bash
# The debug test kernel: built from Debian's linux-source-6.12 with
# scripts/kernel/debug.config over tinyconfig, cached outside the tree.
#
#   debug-kernel.sh dir      the cache directory for this source and fragment
#   debug-kernel.sh build    build it unless the cache has it (prints the dir)
#   debug-kernel.sh check    exit 0 when it is built
#
# The cache is /var/cache/khist/kernel/<source version>-<fragment hash>/
# (KHIST_KERNEL_CACHE overrides the parent): build/ is the kbuild output
# (KDIR for the module, arch/x86/boot/bzImage, vmlinux with BTF).
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
fragment=$top/scripts/kernel/debug.config
cache_root=${KHIST_KERNEL_CACHE:-/var/cache/khist/kernel}
tarball=/usr/src/linux-source-6.12.tar.xz

die() { echo "debug-kernel: $*" >&2; exit 1; }

version=$(dpkg-query -W -f '${Version}' linux-source-6.12 2>/dev/null) ||
	die "linux-source-6.12 is not installed (run scripts/deps.sh)"
hash=$(sha256sum "$fragment" | cut -c1-12)
dir=$cache_root/$version-$hash
image=$dir/build/arch/x86/boot/bzImage

case ${1:-} in
dir) echo "$dir"; exit 0 ;;
check) [ -f "$dir/built" ]; exit ;;
build) ;;
*) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac

if [ -f "$dir/built" ]; then
	echo "$dir"
	exit 0
fi
[ -r "$tarball" ] || die "$tarball missing (install linux-source-6.12)"
mkdir -p "$dir"
start=$(date +%s)
if [ ! -f "$dir/src/Makefile" ]; then
	echo "debug-kernel: unpacking $tarball" >&2
	rm -rf "$dir/src" "$dir/src.tmp"
	mkdir -p "$dir/src.tmp"
	tar -C "$dir/src.tmp" --strip-components=1 -xf "$tarball"
	mv "$dir/src.tmp" "$dir/src"
fi
make_kernel() { make -C "$dir/src" O="$dir/build" ARCH=x86_64 "$@"; }
mkdir -p "$dir/build"
make_kernel -s tinyconfig
"$dir/src/scripts/kconfig/merge_config.sh" -m -O "$dir/build" "$dir/build/.config" "$fragment" >/dev/null
make_kernel -s olddefconfig
# Every line of the fragment must hold: a dependency kconfig dropped is an error here.
missing=0
while read -r line; do
	case $line in
	CONFIG_*=*) grep -qx "$line" "$dir/build/.config" || { echo "debug-kernel: not set: $line" >&2; missing=1; } ;;
	"# CONFIG_"*" is not set")
		option=${line#\# }; option=${option%% *}
		! grep -q "^$option=" "$dir/build/.config" || { echo "debug-kernel: set: $option" >&2; missing=1; } ;;
	esac
done < "$fragment"
[ $missing -eq 0 ] || die "the fragment does not hold over tinyconfig"
echo "debug-kernel: building $(make_kernel -s kernelrelease) in $dir/build" >&2
make_kernel -j"$(nproc)" bzImage modules >"$dir/build.log" 2>&1 ||
	{ tail -n 30 "$dir/build.log" >&2; die "kernel build failed (log: $dir/build.log)"; }
[ -f "$image" ] || die "no $image after the build"
echo "$(( $(date +%s) - start ))" > "$dir/build-seconds"
touch "$dir/built"
echo "debug-kernel: built in $(cat "$dir/build-seconds") s" >&2
echo "$dir"
