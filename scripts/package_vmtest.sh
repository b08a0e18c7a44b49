#!/usr/bin/env bash
# khist's Debian packages under a real systemd: the packages of `make deb` and selftests/systemd/khist_packages.sh
# go into a Debian bookworm VM with systemd as PID 1 (scripts/systemd_vm.sh),
# which installs them with apt and tests the service across a reboot.
# The packages are built again first (make deb).
#
#   scripts/package_vmtest.sh [-t SECONDS]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
timeout_s=1800
while getopts "t:h" opt; do
	case $opt in
	t) timeout_s=$OPTARG ;;
	*) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
	esac
done

version=$(sed -n 's/^#define KHIST_VERSION_STRING[[:space:]]*"\(.*\)"/\1/p' "$top/include/uapi/khist.h")
debs=("$top/build/deb/khist_${version}_amd64.deb" "$top/build/deb/khist-dkms_${version}_all.deb")
# Built again every time: packages of an older tree would test the wrong thing.
make -C "$top" --no-print-directory deb > "$top/build/deb.log" 2>&1 ||
	{ tail -n 30 "$top/build/deb.log" >&2; exit 1; }
stage=$top/build/vm/packages
rm -rf "$stage"
mkdir -p "$stage"
cp "${debs[@]}" "$top/selftests/systemd/khist_packages.sh" "$top/selftests/ktap.sh" "$stage/"
out=$stage.log
set +e
"$top/scripts/systemd_vm.sh" -t "$timeout_s" -d "$stage" -- /root/khist-vm/khist_packages.sh 2>&1 |
	tee "$out"
rc=${PIPESTATUS[0]}
# The closing line `make check` adds up, from the guest's KTAP totals.
sed -n 's/^# Totals: pass:\([0-9]*\) fail:\([0-9]*\) .* skip:\([0-9]*\) .*/\1 passed, \2 failed, \3 skipped/p' \
	"$out" | tail -n 1
exit "$rc"
