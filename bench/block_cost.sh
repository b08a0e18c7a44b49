#!/usr/bin/env bash
# make bench, block collector: its programs' run time per direct read on
# a loop device of its own against libbpf-tools biolatency -D -Q (a
# latency histogram per disk, OS queue time included), through
# bench/program_cost.sh. khist keeps more per request: latency, queue
# time and size histograms per (disk, op), and requests, bytes and errors.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
reads=20000
image=$(mktemp /tmp/khist-block-bench.XXXXXX)
truncate -s 256M "$image"
dev=$(losetup -f --show "$image") || { rm -f "$image"; echo "block_cost: no loop device" >&2; exit 1; }
trap 'losetup -d "$dev"; rm -f "$image"' EXIT
BENCH_COST_ROUNDS=${BENCH_BLOCK_ROUNDS:-6} "$top/bench/program_cost.sh" \
	"Block collector: program run time per request" block "$reads" \
	"ns per 4 KiB direct read" 1.5 "biolatency -D -Q" "biolatency -D -Q" \
	"dd if=$dev of=/dev/null bs=4096 count=$reads iflag=direct status=none"
