#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The man pages and the programs agree: every option of `khist --help` and
# `khistd --help` is in khist(8) and khistd(8) and the other way round, every
# command of khist is described, and khistd.conf(5) names exactly the keys
# khistd accepts.
if [ -z "${BASH_VERSION:-}" ]; then
	command -v bash >/dev/null 2>&1 && exec bash "$0" "$@"
	echo "KTAP version 1"; echo "1..0 # SKIP needs bash"; exit 4
fi
dir=$(cd "$(dirname "$0")" && pwd)
. "$dir/ktap.sh"
build=${KHIST_BUILD:-$(cd "$dir/.." && pwd)}
man=$dir/man

# Long options (and -v/-h) in a help text or a roff source ("\-" is a dash there).
options_of() { sed 's/\\-/-/g' | grep -oE '(^|[^a-z0-9-])--?[a-z][a-z-]*' | grep -oE -- '--?[a-z][a-z-]*' |
	grep -vE '^-[a-z]{2,}' | sort -u; }

same_sets() {	# same_sets WHAT LEFT-NAME LEFT RIGHT-NAME RIGHT
	local only_left only_right
	only_left=$(comm -23 <(printf '%s\n' "$3") <(printf '%s\n' "$5"))
	only_right=$(comm -13 <(printf '%s\n' "$3") <(printf '%s\n' "$5"))
	[ -z "$only_left$only_right" ] && { echo "$1: $(printf '%s\n' "$3" | wc -l) in both"; return 0; }
	[ -n "$only_left" ] && echo "$1 only in $2:" $only_left
	[ -n "$only_right" ] && echo "$1 only in $4:" $only_right
	return 1
}

khist_options() {
	same_sets options "khist --help" "$("$build/khist" --help 2>&1 | options_of)" \
		khist.8 "$(options_of < "$man/khist.8")"
}

khist_commands() {
	local help_commands man_commands
	# Commands are the first word of the usage lines indented by two spaces.
	help_commands=$("$build/khist" --help 2>&1 | grep -oE '^  [a-z]+' | tr -d ' ' | sort -u)
	# In the man page: the .TP items of the COMMANDS section.
	man_commands=$(sed -n '/^\.SH COMMANDS/,/^\.SH /p' "$man/khist.8" |
		grep -A1 '^\.TP' | grep -oE '^\.B[RI]? +"?[a-z]+' | grep -oE '[a-z]+$' | sort -u)
	same_sets commands "khist --help" "$help_commands" khist.8 "$man_commands"
}

khistd_options() {
	same_sets options "khistd --help" "$("$build/khistd" --help 2>&1 | options_of)" \
		khistd.8 "$(options_of < "$man/khistd.8")"
}

# The keys khistd accepts, from its own error for an unknown one in SECTION.
accepted_keys() {
	local conf
	conf=$(mktemp)
	printf '[%s]\nno_such_key = 1\n' "$1" > "$conf"
	"$build/khistd" --check-config --config "$conf" 2>&1 | sed -n 's/.*(accepted: \([^)]*\)).*/\1/p' |
		tr ',' '\n' | tr -d ' '
	rm -f "$conf"
}

conf_keys() {
	local config_keys man_keys
	config_keys=$( (accepted_keys khistd; accepted_keys collector.sched) | sort -u)
	[ -n "$config_keys" ] || { echo "khistd names no accepted keys"; return 1; }
	man_keys=$(grep -oE '^\.B[IR] [a-z_]+ " = ' "$man/khistd.conf.5" | awk '{print $2}' | sort -u)
	same_sets keys "khistd's accepted keys" "$config_keys" khistd.conf.5 "$man_keys"
}

# A man page that does not format is no man page.
formats() {
	local page out
	for page in khist.8 khistd.8 khistd.conf.5; do
		out=$(groff -man -Tutf8 -ww -z "$man/$page" 2>&1)
		[ -z "$out" ] || { echo "$page: $out"; return 1; }
	done
}

ktap_header
[ -d "$man" ] || ktap_exit_skip "no man pages beside the test ($man)"
ktap_plan 5
check khist_help_and_man_page_have_the_same_options khist_options
check khist_help_and_man_page_have_the_same_commands khist_commands
check khistd_help_and_man_page_have_the_same_options khistd_options
check khistd_conf_man_page_has_every_config_key conf_keys
if command -v groff > /dev/null; then
	check man_pages_format_without_warnings formats
else
	ktap_skip man_pages_format_without_warnings "no groff here"
fi
ktap_finished
