#!/bin/sh
# What DKMS runs to build khist.ko (MAKE[0] in dkms.conf):
#
#   dkms-make.sh RELEASE KERNEL_SOURCE_DIR SOURCE
#
# SOURCE is the module's source as DKMS copied it (kmod/, include/, this
# script and btf-kdir.sh).
# Headers that ship a vmlinux (Debian's 6.12) are the build directory as
# they are. Headers that ship none (Debian's 6.1) would make kbuild skip
# module BTF, and without it the glue's tp_btf programs and the kfuncs
# cannot work: then btf-kdir.sh makes a build directory beside the source
# (removed with DKMS's build directory) from the headers and the kernel's
# image, and says what to install when something it needs is missing.
set -eu
[ $# -eq 3 ] || { echo "usage: dkms-make.sh RELEASE KERNEL_SOURCE_DIR SOURCE" >&2; exit 2; }
release=$1
headers=$2
source=$3
kdir=$headers
if [ ! -e "$headers/vmlinux" ] && grep -q '^CONFIG_DEBUG_INFO_BTF_MODULES=y' "$headers/.config"; then
	kdir=$(KHIST_KERNEL_CACHE="$source/kernel" bash "$source/btf-kdir.sh" build "$release" "$headers")
fi
exec make -C "$kdir" M="$source/kmod" modules
