#!/usr/bin/env bash
# A module build directory (KDIR) with what kbuild needs for module BTF, for
# a Debian kernel whose headers package ships neither a vmlinux with BTF nor
# resolve_btfids (6.1): without them kbuild skips module BTF, and tp_btf on
# the glue events and the module's kfuncs cannot work.
#
#   btf-kdir.sh dir RELEASE                 the directory (cached, outside the tree)
#   btf-kdir.sh build RELEASE [HEADERS]     make it unless the cache has it
#                                           (prints the dir); HEADERS: the
#                                           kernel's headers, by default
#                                           /usr/src/linux-headers-RELEASE
#
# The directory is the headers' files as links, plus vmlinux, the ELF image
# taken out of /boot/vmlinuz-RELEASE (its .BTF is the running kernel's BTF;
# pahole and resolve_btfids read the types from it), and resolve_btfids from
# the newest installed linux-kbuild-6.12 (the tool reads and patches ELF and
# BTF the same way for 6.1 modules). KHIST_KERNEL_CACHE overrides the parent
# of the cache, /var/cache/khist/kdir. The khist-dkms package runs this
# script too (dkms-make.sh), with the cache in DKMS's build directory.
set -euo pipefail

die() { echo "btf-kdir: $*" >&2; exit 1; }
what=${1:-}
release=${2:-}
[ -n "$what" ] && [ -n "$release" ] ||
	{ awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0" >&2; exit 2; }
cache=${KHIST_KERNEL_CACHE:-/var/cache/khist}/kdir/$release
case $what in
dir) echo "$cache"; exit 0 ;;
build) ;;
*) die "unknown command '$what' (dir, build)" ;;
esac
if [ -f "$cache/built" ]; then
	echo "$cache"
	exit 0
fi

headers=${3:-/usr/src/linux-headers-$release}
image=/boot/vmlinuz-$release
[ -d "$headers" ] || die "$headers missing (install linux-headers-$release)"
[ -r "$image" ] || die "$image missing (install linux-image-$release)"
resolve_btfids=$(ls -d /usr/lib/linux-kbuild-6.12*/tools/bpf/resolve_btfids/resolve_btfids 2>/dev/null |
	sort -V | tail -n 1)
[ -n "$resolve_btfids" ] ||
	die "no resolve_btfids: install a linux-kbuild-6.12.* package (bookworm-security has them)"

rm -rf "$cache"
mkdir -p "$cache/tools/bpf/resolve_btfids"
for entry in "$headers"/* "$headers"/.config "$headers"/.kernelvariables; do
	name=$(basename "$entry")
	[ -e "$entry" ] && [ "$name" != tools ] && ln -s "$entry" "$cache/$name"
done
# The headers' tools (objtool) stay; resolve_btfids joins them.
for entry in "$headers"/tools/*; do
	[ -e "$entry" ] && [ "$(basename "$entry")" != bpf ] && ln -s "$(readlink -f "$entry")" "$cache/tools/"
done
ln -s "$resolve_btfids" "$cache/tools/bpf/resolve_btfids/resolve_btfids"

# The image is a bzImage whose payload the kernel's config says how to unpack.
config=$headers/.config
if grep -q '^CONFIG_KERNEL_LZ4=y' "$config"; then
	magic='\x02\x21\x4c\x18' unpack='lz4 -dc'
elif grep -q '^CONFIG_KERNEL_ZSTD=y' "$config"; then
	magic='\x28\xb5\x2f\xfd' unpack='zstd -dc'
elif grep -q '^CONFIG_KERNEL_XZ=y' "$config"; then
	magic='\xfd\x37\x7a\x58\x5a\x00' unpack='xz -dc'
elif grep -q '^CONFIG_KERNEL_GZIP=y' "$config"; then
	magic='\x1f\x8b\x08' unpack='gzip -dc'
else
	die "$release: unknown kernel compression in $config"
fi
command -v "${unpack%% *}" > /dev/null || die "$release: ${unpack%% *} missing (install the ${unpack%% *} package)"
found=0
for offset in $(LC_ALL=C grep -obUaP "$magic" "$image" | cut -d: -f1); do
	# Trailing data after the payload makes the tools complain: the ELF decides.
	tail -c +$((offset + 1)) "$image" | $unpack > "$cache/vmlinux" 2>/dev/null || true
	# Not grep -q: leaving early would end readelf by SIGPIPE, which pipefail
	# takes for "no .BTF" (one time in six here).
	if readelf -S "$cache/vmlinux" 2>/dev/null | grep ' \.BTF ' > /dev/null; then
		found=1
		break
	fi
done
[ $found = 1 ] || die "$image: no ELF image with .BTF found in it"
touch "$cache/built"
echo "$cache"
