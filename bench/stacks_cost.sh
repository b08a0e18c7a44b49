#!/usr/bin/env bash
# make bench, stacks collector: its program's run time per pipe round
# trip between two processes on one CPU (two context switches, each a
# stack taken and a time added) against libbpf-tools offcputime, through
# bench/program_cost.sh. offcputime also takes each user stack, which
# khist does not.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
trips=20000
BENCH_COST_ROUNDS=${BENCH_STACKS_ROUNDS:-6} "$top/bench/program_cost.sh" \
	"Stacks collector: program run time per round trip" stacks "$trips" \
	"ns per pipe round trip (2 switches)" 1.0 "offcputime" "offcputime" \
	"$top/build/bench/workload pingpong $trips"
