#!/usr/bin/env bash
# Install everything khist needs to build, test and run, by Debian package name.
# Idempotent and non-interactive; a failed install exits non-zero with apt's error.
set -euo pipefail

stamp_dir=${KHIST_DEPS_STAMP_DIR:-/var/lib/khist}
stamp=$stamp_dir/deps-v5.stamp
top=$(cd "$(dirname "$0")/.." && pwd)
# The test kernels: a new line in the table installs its kernel.
targets=$top/scripts/kernel/targets

# Packages from the distribution's main suites.
base_packages=(
	make gcc pkg-config git ca-certificates
	clang-19 llvm-19 lld-19
	dwarves libelf-dev zlib1g-dev
	libnl-3-dev libnl-genl-3-dev
	libmicrohttpd-dev libsystemd-dev libinih-dev libjson-c-dev libprotobuf-c-dev protobuf-c-compiler
	busybox-static cpio kmod curl jq file util-linux
	# A peer the block collector's test compares counts with (biolatency), and
	# the browser the stacks test renders its flame graph in.
	libbpf-tools chromium
	# What the package build (make deb) takes vmlinux.h from: any 6.12 cloud headers.
	linux-headers-6.12-cloud-amd64
	prometheus systemd
	# Packages (make deb), the man pages' check, the systemd VM's root filesystem.
	debhelper dh-dkms dkms lintian groff-base mmdebstrap e2fsprogs
	# The debug test kernel (scripts/kernel/debug-kernel.sh), from source.
	linux-source-6.12 flex bison bc libssl-dev xz-utils
)
# Packages that bookworm only has in bookworm-backports (new enough for CO-RE
# and kfunc __map arguments). The test kernels come from the table of
# targets (scripts/kernel.sh packages), wherever the newest one is.
backport_packages=(libbpf-dev bpftool qemu-system-x86)

# The peers `make bench` measures khist against (scripts/deps.sh --bench).
bench_packages=(bpftrace hyperfine)

die() { echo "deps.sh: $*" >&2; exit 1; }

if [ "${1:-}" = "--bench" ]; then
	missing=()
	for package in "${bench_packages[@]}"; do
		dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
	done
	[ ${#missing[@]} -eq 0 ] && exit 0
	[ "$(id -u)" -eq 0 ] || die "must run as root to install ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y --no-install-recommends "${missing[@]}" ||
		{ apt-get update && apt-get install -y --no-install-recommends "${missing[@]}"; }
	exit
fi

if [ "${1:-}" = "--check" ]; then
	[ -f "$stamp" ] && cat "$0" "$targets" | cmp -s "$stamp" -
	exit
fi

[ "$(id -u)" -eq 0 ] || die "must run as root (apt-get install); try: sudo $0"
[ -r /etc/os-release ] || die "cannot identify the distribution (/etc/os-release missing)"
. /etc/os-release

if [ "${ID:-}" != debian ]; then
	cat >&2 <<MSG
deps.sh: unsupported distribution '${ID:-unknown}'. Install by hand:
  clang/llvm >= 17, libbpf >= 1.4 (dev), bpftool >= 7.4, pahole, libelf, zlib,
  libnl-genl-3, libmicrohttpd, libsystemd, inih, busybox (static), cpio, kmod,
  curl, jq, prometheus (server + promtool), qemu-system-x86 and a 6.12+ kernel
  image with its headers for the VM tests.
MSG
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt_install() { apt-get install -y --no-install-recommends "$@"; }

case "${VERSION_CODENAME:-}" in
bookworm)
	# Enable backports on the same mirror the machine already uses.
	mirror=""
	if [ -f /etc/apt/sources.list.d/debian.sources ]; then
		mirror=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
	fi
	if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
		mirror=$(awk '$1=="deb" && $3 ~ /^bookworm$/ {print $2; exit}' /etc/apt/sources.list)
	fi
	[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
	if ! grep -rqsE '^[^#]*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
		cat > /etc/apt/sources.list.d/khist-backports.sources <<SRC
Types: deb
URIs: $mirror
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	fi
	apt-get update
	apt_install "${base_packages[@]}"
	apt_install -t bookworm-backports "${backport_packages[@]}"
	;;
trixie|forky|sid)
	apt-get update
	apt_install "${base_packages[@]}" "${backport_packages[@]}"
	;;
*)
	die "unsupported Debian release '${VERSION_CODENAME:-unknown}' (need bookworm or newer)"
	;;
esac

kernels=$("$top/scripts/kernel.sh" packages) || die "cannot resolve the test kernels of $targets"
# shellcheck disable=SC2086
apt_install $kernels

mkdir -p "$stamp_dir"
cat "$0" "$targets" > "$stamp"
echo "deps.sh: all dependencies installed"
