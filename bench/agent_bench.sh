#!/usr/bin/env bash
# khistd's own cost, as Markdown on stdout: /metrics render time against the
# number of series (synthetic pinned maps), start to READY=1, RSS, CPU per
# scrape, and one `khist hist` run.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build
bin=$build/bench
work=$(mktemp -d /tmp/khist-agent-bench.XXXXXX)
root=/sys/fs/bpf/khist-agent-bench
port=$((20000 + $$ % 20000))
daemon=
cleanup() {
	[ -n "$daemon" ] && kill "$daemon" 2>/dev/null && sleep 0.3
	for r in "$root" "$root"-*; do
		"$build/khist" unload --pin-root "$r" >/dev/null 2>&1; rmdir "$r" 2>/dev/null
	done
	rm -rf "$work"
}
trap cleanup EXIT

echo
echo "## khistd and khist"
echo
echo "| measure | value | target |"
echo "|---|---:|---:|"
for syscalls in 19 96 384; do
	"$bin/render" synth "$root-$syscalls" $syscalls || exit 1
	set -- $("$bin/render" time "$root-$syscalls" 50)
	target=""
	[ $syscalls = 96 ] && target="≤ 2 ms p50 at 5k"
	echo "| /metrics render, $2 series | p50 $4 ms, p99 $6 ms | $target |"
	echo "| snapshot alone (of the render above), $2 series | p50 $8 ms | |"
	"$build/khist" unload --pin-root "$root-$syscalls" > /dev/null
	rmdir "$root-$syscalls"
done

printf '[khistd]\nlisten = 127.0.0.1:%s\npin_root = %s\n' $port "$root" > "$work/khistd.conf"
start() {	# sets $daemon and $ready_ms (no subshell: the pid must survive)
	"$build/selftests/notify_wait" 20000 "$work/khistd.log" "$build/khistd" --config "$work/khistd.conf" > "$work/ready"
	set -- $(cat "$work/ready")
	[ "${1:-}" = ready ] || { echo "khistd did not start: $*" >&2; exit 1; }
	daemon=$2 ready_ms=$3
}
stop() { kill "$daemon"; for _ in $(seq 50); do kill -0 "$daemon" 2>/dev/null || break; sleep 0.1; done; daemon=; }
start; cold=$ready_ms; stop
warm=()
for _ in 1 2 3 4 5; do start; warm+=("$ready_ms"); stop; done
warm_median=$(printf '%s\n' "${warm[@]}" | sort -n | sed -n 3p)
echo "| start → READY=1, collectors not loaded yet | $cold ms | ≤ 300 ms |"
echo "| start → READY=1, adopting pinned collectors (median of 5) | $warm_median ms | ≤ 300 ms |"

start
ticks=$(getconf CLK_TCK)
cpu() { awk '{ print $14 + $15 }' "/proc/$daemon/stat"; }
before=$(cpu)
scrape_start=$(date +%s%N)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/metrics" -o /dev/null; done
scrape_ms=$(( ($(date +%s%N) - scrape_start) / 100000000 ))
after=$(cpu)
series=$(curl -sf "http://127.0.0.1:$port/metrics" | grep -vc '^#')
echo "| CPU per scrape ($series series, 100 scrapes) | $(awk -v t=$((after - before)) -v hz=$ticks 'BEGIN { printf "%.2f", t * 1000 / hz / 100 }') ms | |"
echo "| wall time per scrape (curl, sequential) | ${scrape_ms} ms | |"
echo "| khistd RSS after 100 scrapes (VmRSS / VmHWM) | $(awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' /proc/$daemon/status) / $(awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' /proc/$daemon/status) MiB | ≤ 12 MiB |"
stop

if command -v hyperfine > /dev/null; then
	hyperfine -N --warmup 3 --runs 30 --export-json "$work/hist.json" \
		"$build/khist hist vfs_latency --pin-root $root" > /dev/null 2>&1 &&
	echo "| \`khist hist vfs_latency\` one shot (hyperfine, 30 runs) | $(jq -r '.results[0].mean * 1000 | . * 100 | round / 100' "$work/hist.json") ms | |"
fi
