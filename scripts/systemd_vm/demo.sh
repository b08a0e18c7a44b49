#!/bin/bash
# Sample guest script for scripts/systemd_vm.sh: checks the systemd guest on
# the first boot, reboots, and checks that the disk kept its state.
#
#   mkdir -p /tmp/demo && cp scripts/systemd_vm/demo.sh /tmp/demo/
#   scripts/systemd_vm.sh -d /tmp/demo -- /root/khist-vm/demo.sh
#
# Test numbers continue across boots (the counter is in the state file).
set -u

state=/root/khist-vm/state
n=$(cat "$state.n" 2>/dev/null || echo 0)
failed=$(cat "$state.failed" 2>/dev/null || echo 0)

result() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n $2"
	else
		echo "not ok $n $2"
		failed=$((failed + 1))
	fi
	echo "$n" > "$state.n"
	echo "$failed" > "$state.failed"
}
check() {
	local name=$1
	shift
	"$@"
	result $? "$name"
}
mounted() { awk -v p="$1" -v t="$2" '$2 == p && $3 == t {f = 1} END {exit !f}' /proc/mounts; }

# A module built and installed with dkms, as khist's -dkms package will be.
dkms_module() {
	local src=/usr/src/khist-vm-hello-1.0
	mkdir -p "$src"
	cat > "$src/hello.c" <<-'EOF'
	#include <linux/module.h>
	static int __init hello_init(void) { return 0; }
	static void __exit hello_exit(void) { }
	module_init(hello_init);
	module_exit(hello_exit);
	MODULE_LICENSE("GPL");
	EOF
	echo 'obj-m := khist_vm_hello.o' > "$src/Makefile"
	echo 'khist_vm_hello-y := hello.o' >> "$src/Makefile"
	cat > "$src/dkms.conf" <<-'EOF'
	PACKAGE_NAME=khist-vm-hello
	PACKAGE_VERSION=1.0
	BUILT_MODULE_NAME[0]=khist_vm_hello
	DEST_MODULE_LOCATION[0]=/updates/dkms
	AUTOINSTALL=yes
	EOF
	dkms install -m khist-vm-hello -v 1.0 > /root/khist-vm/dkms.log 2>&1 &&
		modprobe khist_vm_hello && rmmod khist_vm_hello
}

case ${KHIST_VM_BOOT:?run by scripts/systemd_vm.sh} in
1)
	echo "KTAP version 1"
	echo "1..11"
	echo "# $(systemd --version | head -n 1)"
	echo "# kernel $(uname -r)"
	check "- PID 1 is systemd" [ "$(cat /proc/1/comm)" = systemd ]
	sys=$(systemctl is-system-running --wait)
	echo "# is-system-running: $sys"
	[ "$sys" = running ] || systemctl --failed --no-legend --plain | sed 's/^/# failed: /'
	check "- the system is running" [ "$sys" = running ]
	check "- bpffs is mounted at /sys/fs/bpf" mounted /sys/fs/bpf bpf
	check "- tracefs is mounted at /sys/kernel/tracing" mounted /sys/kernel/tracing tracefs
	check "- cgroup2 is mounted at /sys/fs/cgroup" mounted /sys/fs/cgroup cgroup2
	check "- kernel headers at /lib/modules/$(uname -r)/build" \
		test -f "/lib/modules/$(uname -r)/build/Makefile"
	t=$(cut -d' ' -f1 /proc/uptime)
	check "- dkms builds, installs and loads a module" dkms_module
	echo "# dkms took $(awk -v t="$t" '{print $1 - t}' /proc/uptime)s; dkms status: $(dkms status | tr '\n' ';')"
	cat /proc/sys/kernel/random/boot_id > "$state"
	check "- state file written" test -s "$state"
	exit 100
	;;
2)
	check "- the state file survived the reboot" test -s "$state"
	check "- this is a different boot" [ "$(cat "$state")" != "$(cat /proc/sys/kernel/random/boot_id)" ]
	journalctl --list-boots --no-pager | sed 's/^/# /'
	check "- the dkms module loads after the reboot" modprobe khist_vm_hello
	[ "$failed" -eq 0 ]
	exit
	;;
*)
	echo "not ok - unexpected boot $KHIST_VM_BOOT"
	exit 1
	;;
esac
