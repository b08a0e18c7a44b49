#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# khist's Debian packages under a real systemd, in a VM booted by
# scripts/systemd_vm.sh: runs on every boot, keeps its place in a state file.
#
# Boot 1 (KHIST_VM_BOOT=1): install khist and khist-dkms with apt (DKMS builds the module
# here); khistd reaches active (running) as Type=notify with its status text
# and watchdog; the watchdog restarts a stopped khistd; kill -9 restarts it
# and no counter goes back; a bad configuration fails once, with the error in
# the journal; the sandbox's exposure and a write it denies; then the module
# is set to load at boot, and the VM reboots.
# Boot 2: the module is loaded and khistd runs vfs in glue mode; apt remove
# stops the service and keeps the configuration and the collectors; apt purge
# removes both.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/ktap.sh"
state=$here/state
boot=${KHIST_VM_BOOT:?run by scripts/systemd_vm.sh}
mkdir -p "$state"
# KTAP results across boots: one plan, the counts carried in the state file.
[ -f "$state/counts" ] && . "$state/counts"
save_counts() {
	echo "KTAP_PASS=$KTAP_PASS KTAP_FAIL=$KTAP_FAIL KTAP_SKIP=$KTAP_SKIP KTAP_COUNT=$KTAP_COUNT" \
		> "$state/counts"
}
metrics() { curl -sf --max-time 10 http://127.0.0.1:9818/metrics; }
prop() { systemctl show -p "$1" --value khistd; }
# Waits up to $2 seconds for command $1 (a string) to succeed.
wait_for() {
	local deadline=$((SECONDS + $2))
	until eval "$1"; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 1
	done
}
# The series of one counter family, one "labels value" line each.
counter_series() { metrics | awk -v f="$1" 'index($1, f "{") == 1 || $1 == f { print $1, $2 }' | sort; }
# Series of BEFORE (a file) that went down or went away in AFTER (a file).
went_back() {
	join -a 1 "$1" "$2" | awk 'NF < 3 || $3 + 0 < $2 + 0 { print; bad = 1 } END { exit !bad }'
}

system_running() {
	local status
	status=$(systemctl is-system-running --wait)
	echo "is-system-running: $status; systemd $(systemctl --version | head -n 1)"
	[ "$status" = running ] || { systemctl --failed --no-legend; return 1; }
}

installed() {
	local start=$SECONDS
	apt-get install -y "$here"/khist_*.deb "$here"/khist-dkms_*.deb > "$state/apt.log" 2>&1 ||
		{ tail -n 30 "$state/apt.log"; return 1; }
	echo "apt install of both packages (DKMS build included): $((SECONDS - start)) s"
	dkms status khist
	dkms status khist | grep -q "$(uname -r).*installed"
}

notify_running() {
	local status
	systemctl enable --now khistd || return 1
	wait_for '[ "$(prop SubState)" = running ]' 60 || { systemctl status khistd --no-pager; return 1; }
	status=$(prop StatusText)
	echo "Type=$(prop Type) ActiveState=$(prop ActiveState) SubState=$(prop SubState)"
	echo "StatusText=$status"
	echo "WatchdogUSec=$(prop WatchdogUSec)"
	[ "$(prop Type)" = notify ] && [ "$(prop ActiveState)" = active ] &&
		[[ $status == "serving http://127.0.0.1:9818/metrics; collectors: "*sched* ]] &&
		[ "$(prop WatchdogUSec)" = 30s ] || return 1
	# active (running) of a Type=notify service is READY=1: from the start to it, and from boot.
	local started ready
	started=$(prop ExecMainStartTimestampMonotonic)
	ready=$(prop ActiveEnterTimestampMonotonic)
	echo "start to READY=1: $(( (ready - started) / 1000 )) ms (started by apt)"
	metrics | grep -q '^khist_collector_loaded{collector="sched"} 1'
}

watchdog_restarts() {
	local pid restarts start=$SECONDS
	pid=$(prop MainPID) restarts=$(prop NRestarts)
	kill -STOP "$pid"
	# 30 s of watchdog, 5 s of TimeoutAbortSec at most, 2 s of RestartSec.
	wait_for '[ "$(prop MainPID)" != "$pid" ] && [ "$(prop SubState)" = running ]' 90 ||
		{ systemctl status khistd --no-pager; return 1; }
	echo "stopped pid $pid; a new khistd ($(prop MainPID)) runs after $((SECONDS - start)) s; restarts $restarts -> $(prop NRestarts)"
	journalctl -u khistd -b --no-pager | grep -i watchdog | tail -n 2
	[ "$(prop NRestarts)" -gt "$restarts" ] &&
		journalctl -u khistd -b --no-pager | grep -qi 'watchdog timeout'
}

kill_9_restarts() {
	local pid family
	for family in khist_context_switches_total khist_syscalls_total; do
		counter_series $family > "$state/$family.before"
	done
	pid=$(prop MainPID)
	kill -9 "$pid"
	wait_for '[ "$(prop MainPID)" != "$pid" ] && [ "$(prop SubState)" = running ]' 30 || return 1
	wait_for 'metrics > /dev/null' 10 || return 1
	for family in khist_context_switches_total khist_syscalls_total; do
		counter_series $family > "$state/$family.after"
		echo "$family: $(wc -l < "$state/$family.before") series before kill -9 of $pid," \
		     "$(awk '{ s += $2 } END { printf "%.0f", s }' "$state/$family.before") counted;" \
		     "$(awk '{ s += $2 } END { printf "%.0f", s }' "$state/$family.after") after"
		[ -s "$state/$family.before" ] || { echo "no $family series"; return 1; }
		! went_back "$state/$family.before" "$state/$family.after" || return 1
	done
}

bad_config_fails_once() {
	local restarts
	cp /etc/khist/khistd.conf "$state/khistd.conf.good"
	printf '\n[khistd]\ncolour = blue\n' >> /etc/khist/khistd.conf
	systemctl restart khistd && { echo "khistd started with a bad configuration"; return 1; }
	# A manual restart starts NRestarts again from 0: what counts is that it stays there.
	restarts=$(prop NRestarts)
	sleep 6	# three RestartSec periods: a restart loop would have begun
	echo "Result=$(prop Result) ExecMainStatus=$(prop ExecMainStatus) ActiveState=$(prop ActiveState) NRestarts=$(prop NRestarts)"
	journalctl -u khistd -b --no-pager | grep "unknown key 'colour'" | tail -n 1
	local ok=0
	[ "$(prop ActiveState)" = failed ] && [ "$(prop ExecMainStatus)" = 2 ] &&
		[ "$(prop NRestarts)" = "$restarts" ] &&
		journalctl -u khistd -b --no-pager | grep -q "unknown key 'colour' in \[khistd\]" || ok=1
	cp "$state/khistd.conf.good" /etc/khist/khistd.conf
	systemctl reset-failed khistd
	systemctl start khistd || ok=1
	return $ok
}

sandbox_holds() {
	local exposure pid
	exposure=$(systemd-analyze security khistd.service --no-pager 2>&1 | sed -n 's/.*Overall exposure level for khistd.service: //p')
	echo "systemd-analyze security: $exposure"
	echo "$exposure" > "$state/exposure"
	# Writes from inside the service's mount namespace: /etc is read-only, the pins are not.
	pid=$(prop MainPID)
	if nsenter -t "$pid" -m touch /etc/khist/escape 2> "$state/nsenter.err"; then
		echo "the service's namespace could write /etc"; rm -f /etc/khist/escape; return 1
	fi
	echo "touch /etc/khist/escape in the service's namespace: $(cat "$state/nsenter.err")"
	if nsenter -t "$pid" -m sh -c 'echo 1 > /proc/sys/kernel/printk' 2> "$state/nsenter.err"; then
		echo "the service's namespace could write /proc/sys"; return 1
	fi
	echo "a write to /proc/sys in the service's namespace: $(cat "$state/nsenter.err")"
	# bpffs holds directories and pins only: a directory shows it is writable.
	nsenter -t "$pid" -m sh -c 'mkdir /sys/fs/bpf/khist/write-test && rmdir /sys/fs/bpf/khist/write-test' ||
		{ echo "the service's namespace cannot write its pins"; return 1; }
	awk -v e="${exposure%% *}" 'BEGIN { exit !(e != "" && e <= 4.0) }' && [[ $exposure == *OK* ]]
}

glue_after_reboot() {
	lsmod | grep -q '^khist ' || { echo "khist.ko is not loaded"; return 1; }
	wait_for '[ "$(prop SubState)" = running ]' 60 || return 1
	# Enabled, it started with the boot: READY=1 this long after the kernel started.
	echo "boot to READY=1: $(( $(prop ActiveEnterTimestampMonotonic) / 1000 )) ms," \
	     "start to READY=1: $(( ($(prop ActiveEnterTimestampMonotonic) - $(prop ExecMainStartTimestampMonotonic)) / 1000 )) ms"
	wait_for 'metrics > /dev/null' 10 || return 1
	khist status | grep '^vfs'
	metrics | grep -q '^khist_collector_attach_mode{collector="vfs",mode="glue"[,}]'
}

removed() {
	apt-get remove -y khist > "$state/apt-remove.log" 2>&1 || { tail "$state/apt-remove.log"; return 1; }
	echo "after apt remove: $(systemctl is-active khistd), config $( [ -e /etc/khist/khistd.conf ] && echo kept || echo gone), pins $( [ -d /sys/fs/bpf/khist/sched ] && echo kept || echo gone)"
	! systemctl is-active -q khistd && [ -e /etc/khist/khistd.conf ] && [ -d /sys/fs/bpf/khist/sched ]
}

purged() {
	apt-get purge -y khist > "$state/apt-purge.log" 2>&1 || { tail "$state/apt-purge.log"; return 1; }
	echo "after apt purge: config $( [ -e /etc/khist ] && echo kept || echo gone), pins $( [ -e /sys/fs/bpf/khist ] && echo kept || echo gone)"
	[ ! -e /etc/khist ] && [ ! -e /sys/fs/bpf/khist ]
}

case $boot in
1)
	ktap_header
	ktap_plan 10
	check system_reaches_running system_running
	check apt_installs_khist_and_khist_dkms installed
	check khistd_is_active_running_as_type_notify notify_running
	check watchdog_restarts_a_stopped_khistd watchdog_restarts
	check kill_9_restarts_khistd_counters_go_on kill_9_restarts
	check bad_config_fails_once_with_its_error_in_the_journal bad_config_fails_once
	check sandbox_exposure_ok_and_writes_denied sandbox_holds
	echo khist > /etc/modules-load.d/khist.conf
	save_counts
	ktap_msg "rebooting with khist in /etc/modules-load.d"
	exit 100	# scripts/systemd_vm.sh: reboot and run again
	;;
2)
	check module_loads_at_boot_and_vfs_runs_in_glue_mode glue_after_reboot
	check apt_remove_stops_khistd_keeps_config_and_collectors removed
	check apt_purge_removes_config_and_collectors purged
	save_counts
	ktap_finished
	;;
*)
	echo "not ok - booted $boot times"; exit 1 ;;
esac
