#!/bin/sh
# The store under kill -9 and under two concurrent writers
# (tests/unit/crashwriter.c writes and checks).
# Exit 0 pass, 1 fail, 77 skip.
set -u

W="${top_builddir:-.}/tests/unit/crashwriter"
if [ ! -x "$W" ]; then
	echo "crashwriter not built: $W"
	exit 1
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/store_crash.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT

fail() {
	echo "FAIL: $*"
	exit 1
}

integrity() {
	command -v sqlite3 >/dev/null 2>&1 || return 0
	res=$(sqlite3 "$1" 'PRAGMA integrity_check' 2>&1)
	[ "$res" = ok ] || fail "integrity_check of $1: $res"
}

# 5..200 ms, as seconds for sleep(1)
random_delay() {
	od -An -N2 -tu2 /dev/urandom | awk '{ printf "%.3f\n", (5 + $1 % 196) / 1000 }'
}

# --- kill -9 at random moments -------------------------------------------
db="$dir/token.db"
acks="$dir/acks"
: >"$acks"
round=0
while [ $round -lt 20 ]; do
	"$W" write "$db" $((round * 1000000)) 0 >>"$acks" 2>"$dir/err" &
	pid=$!
	sleep "$(random_delay)"
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	# the writer must only ever stop by being killed
	[ -s "$dir/err" ] && fail "writer: $(cat "$dir/err")"
	if [ -e "$db" ]; then
		"$W" check "$db" "$acks" || fail "after round $round"
	elif [ -s "$acks" ]; then
		fail "store gone after acknowledged writes"
	fi
	round=$((round + 1))
done
n=$(wc -l <"$acks")
echo "kill -9: 20 rounds, $n acknowledged rows"
[ "$n" -gt 0 ] || fail "no row was ever acknowledged"
"$W" check "$db" "$acks" || fail "final check"
integrity "$db"

# --- two writers at once, on a store neither has created yet ----------------
db2="$dir/shared.db"
"$W" write "$db2" 0 300 >"$dir/a1" 2>"$dir/e1" &
p1=$!
"$W" write "$db2" 5000000 300 >"$dir/a2" 2>"$dir/e2" &
p2=$!
wait $p1 || fail "writer 1: $(cat "$dir/e1")"
wait $p2 || fail "writer 2: $(cat "$dir/e2")"
[ "$(wc -l <"$dir/a1")" -eq 300 ] || fail "writer 1 acknowledged $(wc -l <"$dir/a1") rows"
[ "$(wc -l <"$dir/a2")" -eq 300 ] || fail "writer 2 acknowledged $(wc -l <"$dir/a2") rows"
cat "$dir/a1" "$dir/a2" >"$dir/a"
"$W" check "$db2" "$dir/a" || fail "two writers"
integrity "$db2"
echo "two writers: ok"
exit 0
