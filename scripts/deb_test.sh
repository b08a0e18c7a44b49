#!/usr/bin/env bash
# `make deb` builds both packages, lintian finds no error in them, and the
# khist-dkms package installed here makes DKMS build and install khist.ko
# for every packaged test kernel's headers (6.12 cloud and rt, 6.1 cloud,
# whose headers ship no vmlinux: the module must still get its BTF), in
# DKMS's place with the package's version. Removing the package removes the
# modules again. KTAP out, closing "N passed, N failed, N skipped".
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/selftests/ktap.sh"
deb=$top/build/deb
version=$(sed -n 's/^#define KHIST_VERSION_STRING[[:space:]]*"\(.*\)"/\1/p' "$top/include/uapi/khist.h")
releases=()
# Every packaged test kernel (a kernel built from source has no headers package).
for target in $("$top/scripts/kernel.sh" names --packaged); do
	release=$("$top/scripts/kernel.sh" release "$target" 2>/dev/null) && releases+=("$release")
done

# Whatever fails, the build machine does not keep the package.
trap 'dpkg -r khist-dkms > /dev/null 2>&1' EXIT

ktap_header
ktap_plan 6
built() {
	local start=$SECONDS
	make -C "$top" --no-print-directory deb > "$top/build/deb.log" 2>&1 ||
		{ tail -n 30 "$top/build/deb.log"; return 1; }
	echo "make deb: $((SECONDS - start)) s"
	ls "$deb"/khist_"$version"_amd64.deb "$deb"/khist-dkms_"$version"_all.deb
}
check make_deb_builds_both_packages built

# Errors fail (so does lintian failing to run); the other tags are shown for the record.
lintian_clean() {
	local out status
	out=$(lintian --fail-on error --pedantic --display-info "$deb"/khist_"$version"_amd64.changes 2>&1)
	status=$?
	printf '%s\n' "$out" | grep -v 'running with root privileges' | sed '/^$/d'
	[ $status -eq 0 ] && ! printf '%s\n' "$out" | grep -q '^E:'
}
check lintian_reports_no_errors lintian_clean

contents() {
	local listing
	listing=$(dpkg-deb -c "$deb"/khist_"$version"_amd64.deb)
	for f in ./usr/bin/khist ./usr/sbin/khistd ./lib/systemd/system/khistd.service \
		 ./etc/khist/khistd.conf ./usr/share/man/man8/khist.8.gz ./usr/share/man/man8/khistd.8.gz \
		 ./usr/share/man/man5/khistd.conf.5.gz; do
		grep -q " $f\$" <<< "$listing" || { echo "khist lacks $f"; return 1; }
	done
	dpkg-deb -f "$deb"/khist_"$version"_amd64.deb Depends
	# The configuration is a conffile: an admin's changes survive upgrades.
	dpkg-deb --ctrl-tarfile "$deb"/khist_"$version"_amd64.deb | tar -xO ./conffiles |
		grep -qx /etc/khist/khistd.conf || { echo "khistd.conf is no conffile"; return 1; }
	listing=$(dpkg-deb -c "$deb"/khist-dkms_"$version"_all.deb)
	for f in ./usr/src/khist-$version/dkms.conf ./usr/src/khist-$version/kmod/Kbuild \
		 ./usr/src/khist-$version/include/uapi/khist.h ./usr/src/khist-$version/dkms-make.sh \
		 ./usr/src/khist-$version/btf-kdir.sh; do
		grep -q " $f\$" <<< "$listing" || { echo "khist-dkms lacks $f"; return 1; }
	done
	grep -q 'AUTOINSTALL="yes"' < <(dpkg-deb --fsys-tarfile "$deb"/khist-dkms_"$version"_all.deb |
		tar -xO ./usr/src/khist-"$version"/dkms.conf)
}
check packages_hold_what_they_should contents

# Installing the source package lets DKMS build for the running kernel, which
# has no headers here (so nothing is built for it); the test kernels come next.
dkms_installed() {
	[ ${#releases[@]} -gt 0 ] || { echo "no test kernel headers installed"; return 1; }
	dpkg -i "$deb"/khist-dkms_"$version"_all.deb || {
		tail -n 40 /var/lib/dkms/khist/"$version"/build/make.log 2>/dev/null
		return 1
	}
	for release in "${releases[@]}"; do
		local start=$SECONDS
		dkms install "khist/$version" -k "$release" > "$top/build/dkms-$release.log" 2>&1 ||
			{ tail -n 20 "$top/build/dkms-$release.log"; return 1; }
		echo "dkms install -k $release: $((SECONDS - start)) s"
		# Without module BTF the glue's tp_btf programs and the kfuncs cannot work.
		grep -q 'BTF \[M\]' /var/lib/dkms/khist/"$version"/"$release"/x86_64/log/make.log ||
			{ echo "$release: the module was built without BTF"; return 1; }
	done
	dkms status khist
}
check dkms_builds_and_installs_for_every_test_kernel dkms_installed

modinfo_right() {
	local module field
	for release in "${releases[@]}"; do
		module=$(modinfo -k "$release" -n khist 2>/dev/null) || { echo "$release: no khist module"; return 1; }
		[[ $module == /lib/modules/$release/updates/dkms/khist.ko* ]] ||
			{ echo "$release: $module is not where DKMS puts modules"; return 1; }
		field=$(modinfo -k "$release" -F version khist)
		[ "$field" = "$version" ] || { echo "$release: version '$field', want $version"; return 1; }
		field=$(modinfo -k "$release" -F vermagic khist)
		[[ $field == "$release "* ]] || { echo "$release: vermagic '$field'"; return 1; }
		echo "$release: $module, version $version"
	done
}
check modinfo_shows_the_dkms_module_and_version modinfo_right

removed() {
	dpkg -r khist-dkms >/dev/null || return 1
	for release in "${releases[@]}"; do
		! modinfo -k "$release" -n khist >/dev/null 2>&1 || { echo "$release: khist.ko left behind"; return 1; }
	done
	[ ! -e /usr/src/khist-"$version" ] || { echo "/usr/src/khist-$version left behind"; return 1; }
}
check removing_khist_dkms_removes_the_modules removed
echo "$KTAP_PASS passed, $KTAP_FAIL failed, $KTAP_SKIP skipped"
[ "$KTAP_FAIL" -eq 0 ]
