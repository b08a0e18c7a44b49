#!/bin/sh
# Inside the test VM (busybox sh): 1-byte reads of /dev/zero with the vfs
# collector in each attach mode, and with nothing, interleaved; prints
# "sample MODE NS" lines for vm_bench.sh.
build=${KHIST_BUILD:-/khist/build}
rounds=${1:-5}
root=/sys/fs/bpf/khist-vm-bench
insmod "$build/kmod/$(uname -r)/khist.ko" || exit 1
for round in $(seq "$rounds"); do
	for mode in none glue fentry kprobe floor-glue floor-fentry floor-kprobe \
		    floor-fentry-entry floor-kprobe-entry floor-kretprobe; do
		case $mode in
		none) ;;
		floor-*)
			"$build/bench/floor" "read-${mode#floor-}" > /tmp/floor.log 2>&1 &
			floor=$!
			while ! grep -q attached /tmp/floor.log; do sleep 0.1; done ;;
		*) "$build/khist" load vfs --mode "$mode" --pin-root "$root" > /dev/null || exit 1 ;;
		esac
		echo "sample $mode $("$build/bench/workload" read-zero 200000)"
		case $mode in
		none) ;;
		floor-*) kill "$floor"; wait "$floor" ;;
		*) "$build/khist" unload vfs --pin-root "$root" > /dev/null ;;
		esac
	done
done
