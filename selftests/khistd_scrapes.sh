#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Concurrent scrapes while short-lived processes come and go: every page is
# complete and parses, and no counter or histogram series of one scraper
# ever goes down between two of its scrapes (a drop is a counter reset to
# Prometheus: rate() spikes). Runs with the sanitizer build too.
if [ -z "${BASH_VERSION:-}" ]; then
	command -v bash >/dev/null 2>&1 && exec bash "$0" "$@"
	echo "KTAP version 1"; echo "1..0 # SKIP needs bash"; exit 4
fi
set -u
dir=$(cd "$(dirname "$0")" && pwd)
. "$dir/ktap.sh"
build=${KHIST_BUILD:-$(cd "$dir/.." && pwd)}

SCRAPERS=${SCRAPERS:-4}
SCRAPES=${SCRAPES:-150}
SPAWNERS=4

ktap_header
[ "$(id -u)" -eq 0 ] || ktap_exit_skip "needs root"
for tool in curl promtool; do
	command -v $tool >/dev/null 2>&1 || ktap_exit_skip "needs $tool"
done
ktap_plan 3

work=$(mktemp -d /tmp/khistd-scrapes.XXXXXX)
root=/sys/fs/bpf/khistd-scrapes-$$
port=$((20000 + ($$ + 7) % 20000))
daemon=
cleanup() {
	[ -n "$daemon" ] && kill "$daemon" 2>/dev/null
	wait 2>/dev/null
	"$build/khist" unload --pin-root "$root" >/dev/null 2>&1
	rmdir "$root" 2>/dev/null
	[ -n "${KEEP_WORK:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

# Every process and file becomes a series, and the tables are big enough
# that nothing is evicted (an evicted entry that comes back starts again).
cat > "$work/khistd.conf" <<CONF
[khistd]
listen = 127.0.0.1:$port
pin_root = $root
max_connections = 64
export_processes = 300
export_files = 300
export_signals = 300
[collector.syscalls]
processes = 65536
[collector.vfs]
files = 65536
CONF
result=$("$build/selftests/notify_wait" 30000 "$work/log" "$build/khistd" --config "$work/khistd.conf")
set -- $result
[ "${1:-}" = ready ] || { sed "s/^/# /" "$work/log"; echo "Bail out! khistd did not start"; exit 1; }
daemon=$2

# Short-lived processes doing system calls and file reads, four at a time,
# until the scrapers are done, and two that take turns on the CPUs the whole
# time (pending slots change hands).
spawn() {
	local n=0
	# Bounded, so that the tables never fill (however slow the scrapes are).
	while [ ! -e "$work/stop" ] && [ $n -lt 4000 ]; do
		head -c 300 /proc/self/stat >/dev/null
		cat /proc/self/status /etc/hostname >/dev/null
		n=$((n + 2))
	done
	echo $n >> "$work/spawned"
}
spawners=()
for s in $(seq $SPAWNERS); do spawn & spawners+=($!); done
"$build/selftests/workload" busy 600 & busy1=$!
"$build/selftests/workload" busy 600 & busy2=$!

scraper() {
	mkdir -p "$work/s$1"
	for n in $(seq -w "$SCRAPES"); do
		curl -sS --max-time 10 -o "$work/s$1/$n" "http://127.0.0.1:$port/metrics" 2>>"$work/s$1/curl" || echo "$n exit $?" >> "$work/s$1/failed"
	done
}
pids=()
for k in $(seq "$SCRAPERS"); do scraper "$k" & pids+=($!); done
wait "${pids[@]}"
touch "$work/stop"
kill $busy1 $busy2
wait

complete() {
	local bad=0
	for k in $(seq "$SCRAPERS"); do
		[ -e "$work/s$k/failed" ] && {
			echo "scraper $k: failed requests: $(paste -sd, "$work/s$k/failed")"
			cat "$work/s$k/curl" 2>/dev/null
			bad=1
		}
		for f in "$work/s$k"/[0-9]*; do
			tail -n 1 "$f" | grep -q '^khist_scrape_duration_seconds [0-9.]*$' ||
				{ echo "incomplete: $f"; bad=1; }
		done
	done
	cat "$work"/s*/[0-9]* | awk '/^khist_scrape_duration_seconds / { n++; t += $2; if ($2 > m) m = $2 }
		END { if (n) printf "scrape duration: mean %.3f s, max %.3f s\n", t / n, m }'
	cat "$work"/s*/[0-9]* | awk '/^khist_table_read_attempts/ { n[$2]++ }
		END { for (a in n) printf "%s: %d\n", a, n[a] > "/dev/stderr" }' 2>&1 |
		sort -n | paste -sd, | sed 's/^/table read attempts per scrape (attempts: scrapes) /'
	echo "$SCRAPERS scrapers x $SCRAPES scrapes while $(awk '{ n += $1 } END { print n }' "$work/spawned") processes came and went"
	[ "$(awk '{ n += $1 } END { print n }' "$work/spawned")" -ge 40 ] || { echo "too few processes"; bad=1; }
	return $bad
}
check every_page_complete complete

parses() {
	local n=0
	for f in "$work"/s1/*0 "$work"/s2/*5; do
		promtool check metrics < "$f" >/dev/null 2>"$work/promtool" ||
			{ cat "$work/promtool"; echo "in $f"; return 1; }
		n=$((n + 1))
	done
	[ $n -gt 0 ]
}
check pages_parse parses

# A series that moves at all moves up: counters (_total), histogram buckets, _sum, _count.
monotonic() {
	local k
	for k in $(seq "$SCRAPERS"); do
		awk 'FNR == 1 { page++ }
		     /^#/ { next }
		     $1 ~ /(_total|_bucket|_sum|_count)(\{|$)/ {
			if (($1 in last) && $2 + 0 < last[$1] + 0) {
				printf "page %d: %s went from %s to %s\n", page, $1, last[$1], $2; bad++
			}
			last[$1] = $2; series[$1] = 1
		     }
		     END { n = 0; for (s in series) n++; printf "scraper: %d series checked\n", n > "/dev/stderr"
			   exit bad > 0 }' "$work/s$k"/[0-9]* 2>>"$work/counted" | head -20 || return 1
		[ "${PIPESTATUS[0]}" -eq 0 ] || return 1
	done
	head -n 1 "$work/counted"
}
check no_series_ever_decreases monotonic
ktap_finished
