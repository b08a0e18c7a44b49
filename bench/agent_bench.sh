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
	echo "| /metrics render (text), $2 series | p50 $4 ms, p99 $6 ms | $target |"
	echo "| snapshot alone (of the render above), $2 series | p50 $8 ms | |"
	"$build/khist" unload --pin-root "$root-$syscalls" > /dev/null
	rmdir "$root-$syscalls"
done

# Exposition formats after one fixed mixed workload, counted by the default
# collectors and, for the baseline, by the same collectors in the layout
# that was the default before exponential buckets (syscalls log2, the
# others log-linear k = 2) under a second pin root.
base=$root-baseline
"$build/khist" load --pin-root "$root" > /dev/null || exit 1
"$build/khist" load syscalls --layout log2 --pin-root "$base" > /dev/null || exit 1
"$build/khist" load sched vfs signals --layout log-linear --precision 2 --pin-root "$base" > /dev/null || exit 1
"$bin/workload" getppid 200000 > /dev/null
"$bin/workload" pingpong 20000 > /dev/null
head -c 1048576 /dev/zero > "$work/file"
"$bin/workload" read-file "$work/file" 20000 > /dev/null
# Many different syscalls, files and processes.
for _ in 1 2 3; do tar -cf - -C "$top" agent bpf include 2>/dev/null | gzip -1 | wc -c > /dev/null; ls -lR /usr/include > /dev/null; done
set -- $("$bin/render" time "$base" 50 text)
baseline_bytes=${10}
echo "| /metrics bytes, before (log2/log-linear buckets, text) | $baseline_bytes ($2 series) | (baseline) |"
for format in text openmetrics protobuf; do
	for gzip in "" gzip; do
		set -- $("$bin/render" time "$root" 50 $format $gzip)
		target=
		if [ "$format" = protobuf ] && [ -n "$gzip" ]; then
			target="bytes ≤ 1/20 of the baseline: $(awk -v a="${10}" -v b="$baseline_bytes" 'BEGIN { printf "1/%.0f %s", b / a, (a * 20 <= b) ? "met" : "missed" }'); render ≤ 1 ms p50: $(awk -v t="${12}" 'BEGIN { print (t <= 1) ? "met" : "missed" }')"
			native_series=$2
		fi
		echo "| /metrics $format${gzip:+ + gzip}: bytes; CPU p50 to render (encode${gzip:+ + gzip}) and with the snapshot | ${10} bytes; ${12} ms, $4 ms | $target |"
	done
done
echo "| series per scrape, native histograms (protobuf) | $native_series | ≤ 400: $(awk -v n="$native_series" 'BEGIN { print (n <= 400) ? "met" : "missed" }') |"
set -- $("$build/khist" memory --pin-root "$root" --json | jq -r '.formula_bytes, .kernel_bytes, .possible_cpus')
here=$1 kernel=$2 possible=$3
at128=$("$build/khist" memory --pin-root "$root" --cpus 128 --json | jq -r .bytes_at_cpus)
echo "| kernel memory of the default collectors' maps, $possible CPUs (formula / kernel) | $(awk -v b="$here" 'BEGIN { printf "%.2f", b / 1048576 }') / $(awk -v b="$kernel" 'BEGIN { printf "%.2f", b / 1048576 }') MiB | equal: $([ "$here" = "$kernel" ] && echo met || echo missed) |"
echo "| the same with 128 possible CPUs (formula) | $(awk -v b="$at128" 'BEGIN { printf "%.2f", b / 1048576 }') MiB | ≤ 32 MiB: $(awk -v b="$at128" 'BEGIN { print (b <= 32 * 1048576) ? "met" : "missed" }') |"
"$build/khist" unload --pin-root "$root" > /dev/null
"$build/khist" unload --pin-root "$base" > /dev/null
rmdir "$base" 2>/dev/null

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
# khistd's own CPU per scrape in each format (the adopted default collectors).
protobuf_accept='application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited'
for format in text openmetrics protobuf; do
	case $format in
	text) accept='text/plain;version=0.0.4' ;;
	openmetrics) accept='application/openmetrics-text;version=1.0.0' ;;
	protobuf) accept=$protobuf_accept ;;
	esac
	for encoding in identity gzip; do
		before=$(cpu)
		for _ in $(seq 100); do
			curl -sf -H "Accept: $accept" -H "Accept-Encoding: $encoding" "http://127.0.0.1:$port/metrics" -o /dev/null
		done
		after=$(cpu)
		bytes=$(curl -sf -H "Accept: $accept" -H "Accept-Encoding: $encoding" "http://127.0.0.1:$port/metrics" | wc -c)
		label=$format
		[ $encoding = gzip ] && label="$format + gzip"
		echo "| khistd CPU per scrape, $label ($bytes bytes, 100 scrapes) | $(awk -v t=$((after - before)) -v hz=$ticks 'BEGIN { printf "%.2f", t * 1000 / hz / 100 }') ms | |"
	done
done
echo "| wall time per scrape (curl, sequential) | ${scrape_ms} ms | |"
echo "| khistd RSS after 100 scrapes (VmRSS / VmHWM) | $(awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' /proc/$daemon/status) / $(awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' /proc/$daemon/status) MiB | ≤ 12 MiB |"
stop

if command -v hyperfine > /dev/null; then
	hyperfine -N --warmup 3 --runs 30 --export-json "$work/hist.json" \
		"$build/khist hist vfs_latency --pin-root $root" > /dev/null 2>&1 &&
	echo "| \`khist hist vfs_latency\` one shot (hyperfine, 30 runs) | $(jq -r '.results[0].mean * 1000 | . * 100 | round / 100' "$work/hist.json") ms | |"
fi
