#!/usr/bin/env bash
# make bench, process collector: its programs' run time per process
# lifecycle (a fork, the child's exit, the wait) against a bpftrace
# one-liner that keeps the same (forks per comm, exits per comm and exit
# code, a lifetime histogram), through bench/program_cost.sh. A fork
# costs 200 to 400 us here and varies by more than the programs do, so
# only their own run time can show the difference.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
forks=5000
program=$(mktemp --suffix=.bt)
trap 'rm -f "$program"' EXIT
cat > "$program" <<'BT'
tracepoint:sched:sched_process_fork { @forks[comm] = count(); }
tracepoint:sched:sched_process_exit { @exits[comm, curtask->exit_code >> 8] = count();
	@lifetime = hist(nsecs - curtask->group_leader->start_time); }
BT
BENCH_COST_ROUNDS=${BENCH_PROCESS_ROUNDS:-6} "$top/bench/program_cost.sh" \
	"Process collector: program run time per fork" process "$forks" \
	"ns per fork, exit and wait" 1.0 "bpftrace forks, exits, lifetimes" \
	"bpftrace $program" "$top/build/bench/workload fork $forks"
