#!/usr/bin/env bash
# `make install` into a scratch DESTDIR: the files land where documented,
# the installed configuration passes --check-config, and the unit passes
# systemd-analyze verify (with ExecStart pointing at the built khistd, which
# verify requires to exist). KTAP out, closing "N passed, N failed, N skipped".
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/selftests/ktap.sh"
dest=$(mktemp -d /tmp/khist-install.XXXXXX)
trap 'rm -rf "$dest"' EXIT

ktap_header
ktap_plan 3
installed() {
	make -C "$top" --no-print-directory install DESTDIR="$dest" PREFIX=/usr >/dev/null || return 1
	for f in usr/bin/khist usr/sbin/khistd usr/lib/systemd/system/khistd.service \
		 etc/khist/khistd.conf usr/share/doc/khist/README.md usr/share/doc/khist/AGENT.md \
		 usr/share/man/man8/khist.8 usr/share/man/man8/khistd.8 usr/share/man/man5/khistd.conf.5; do
		[ -e "$dest/$f" ] || { echo "missing $f"; return 1; }
	done
	grep -q '^ExecStart=/usr/sbin/khistd --config /etc/khist/khistd.conf$' \
		"$dest/usr/lib/systemd/system/khistd.service"
}
check install_puts_files_in_place installed
check installed_config_is_valid "$dest/usr/sbin/khistd" --check-config --config "$dest/etc/khist/khistd.conf"
verify() {
	command -v systemd-analyze >/dev/null || { echo "no systemd-analyze"; return 1; }
	mkdir -p "$dest/verify"
	sed "s|^ExecStart=/usr/sbin/khistd|ExecStart=$top/build/khistd|" \
		"$dest/usr/lib/systemd/system/khistd.service" > "$dest/verify/khistd.service"
	# Documentation= names the installed man pages: verify looks them up.
	MANPATH=$dest/usr/share/man systemd-analyze verify "$dest/verify/khistd.service"
}
check unit_passes_systemd_analyze_verify verify
echo "$KTAP_PASS passed, $KTAP_FAIL failed, $KTAP_SKIP skipped"
[ "$KTAP_FAIL" -eq 0 ]
