#!/bin/sh
# kill -9 in the middle of a stream of object writes through PKCS#11, many
# times: every object whose C_CreateObject returned is there afterwards, with
# its value, and the token still opens. Then two processes write to one
# token at once and both see everything.
set -u
writer="$top_builddir/tests/unit/p11writer"
[ -x "$writer" ] || { echo "p11writer not built"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export SEALKIT_TOKEN_DIR="$tmp/tokens"
printf 'pin_iterations = 1000\n' > "$tmp/conf"
export SEALKIT_CONF="$tmp/conf"

"$writer" init || { echo "FAIL: cannot make the token"; exit 1; }
: > "$tmp/acked"
round=0
while [ $round -lt 12 ]; do
	round=$((round + 1))
	"$writer" write "r$round" 100000 > "$tmp/out" 2> "$tmp/err" &
	pid=$!
	# 30..330 ms: different moments of the write stream.
	sleep "0.$(( (round * 97) % 300 + 30 ))" 2>/dev/null || sleep 1
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	# A line is only acknowledged once it is complete.
	sed -n '/^r[0-9]*-[0-9]*$/p' "$tmp/out" >> "$tmp/acked"
done
n=$(wc -l < "$tmp/acked")
echo "acknowledged objects over 12 killed writers: $n"
[ "$n" -gt 0 ] || { echo "FAIL: no object was written before the kills"; cat "$tmp/err"; exit 1; }
"$writer" check < "$tmp/acked" || { echo "FAIL: acknowledged objects missing after kill -9"; exit 1; }
if command -v sqlite3 >/dev/null; then
	ic=$(sqlite3 "$SEALKIT_TOKEN_DIR/token-0.sqlite" 'PRAGMA integrity_check')
	[ "$ic" = ok ] || { echo "FAIL: integrity_check says: $ic"; exit 1; }
fi

# Two processes, one token.
"$writer" write pa 150 > "$tmp/pa" 2> "$tmp/pa.err" &
a=$!
"$writer" write pb 150 > "$tmp/pb" 2> "$tmp/pb.err" &
b=$!
wait $a || { echo "FAIL: writer A failed"; cat "$tmp/pa.err"; exit 1; }
wait $b || { echo "FAIL: writer B failed"; cat "$tmp/pb.err"; exit 1; }
[ "$(wc -l < "$tmp/pa")" -eq 150 ] && [ "$(wc -l < "$tmp/pb")" -eq 150 ] ||
	{ echo "FAIL: a writer stopped early"; exit 1; }
cat "$tmp/pa" "$tmp/pb" | "$writer" check || { echo "FAIL: objects of the two writers missing"; exit 1; }
echo "PASS"
