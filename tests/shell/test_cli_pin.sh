#!/bin/sh
# PINs and sealkit: a wrong PIN says where it came from (--pin, $SEALKIT_PIN,
# the prompt); the prompt does not echo (checked on a pseudo-terminal from
# util-linux script); --pin/--so-pin values vanish from the process's
# command line; the SEALKIT_DEBUG log never holds a PIN; sealkit runs no
# other program (the demo runs its steps in-process), so no PIN reaches
# another process's arguments.
. "${top_srcdir:-.}/tests/shell/common.sh"
SK=${top_builddir:-.}/tools/sealkit
case "$SK" in /*) ;; *) SK="$(pwd)/$SK" ;; esac
sk_setup
cd "$SK_TMP" || sk_fail "cd"

PIN='Pin-7x9Q-secret'
SO='So-3k8W-secret'
unset SEALKIT_PIN
sk_run "$SK" token init --label T --so-pin "$SO" --pin "$PIN"

# Where a wrong PIN came from; what to do when there is none.
sk_exit 2 "$SK" token keygen --token T --label k --pin Wrong-1
sk_expect "wrong PIN \(given with --pin\) for token 'T'" "--pin named as the source"
SEALKIT_PIN=Wrong-2 sk_exit 2 "$SK" token keygen --token T --label k
sk_expect "wrong PIN \(given with \\\$SEALKIT_PIN\) for token 'T'" "SEALKIT_PIN named as the source"
sk_exit 2 "$SK" token keygen --token T --label k </dev/null
sk_expect "give --pin PIN, set SEALKIT_PIN, or run sealkit on a terminal" "what to do without a PIN"
sk_run "$SK" token keygen --token T --label k --pin "$PIN"
K='pkcs11:token=T;object=k;type=private'
SEALKIT_PIN=Wrong-3 sk_exit 2 "$SK" cert issue --key "$K" --subject /CN=x --days 1 --self-signed -o x.pem
sk_expect "wrong PIN \(given with \\\$SEALKIT_PIN\)" "the source in cert issue"

# The SEALKIT_DEBUG log: every PKCS#11 call, never a PIN.
echo "+ SEALKIT_DEBUG=1 sealkit token keygen / cert issue / token objects"
SEALKIT_DEBUG=1 "$SK" token keygen --token T --label d --pin "$PIN" >debug.log 2>&1 ||
	sk_fail "keygen with SEALKIT_DEBUG=1"
SEALKIT_DEBUG=1 SEALKIT_PIN=$PIN "$SK" cert issue --key "$K" --subject /CN=d --days 1 \
	--self-signed -o d.pem >>debug.log 2>&1 || sk_fail "cert issue with SEALKIT_DEBUG=1"
SEALKIT_DEBUG=1 "$SK" token objects --token T --pin Wrong-4 >>debug.log 2>&1
SEALKIT_DEBUG=1 "$SK" token init --label U --so-pin "$SO" --pin "$PIN" >>debug.log 2>&1 ||
	sk_fail "token init with SEALKIT_DEBUG=1"
sed 's/^/    /' debug.log | head -20
grep -q 'C_Login' debug.log || sk_fail "the debug log shows no C_Login"
! grep -q -e "$PIN" -e "$SO" -e Wrong-4 debug.log || sk_fail "a PIN in the SEALKIT_DEBUG log"

# Process listings: the values of --pin and --so-pin are blanked in argv at
# once. token import blocks reading its --cert from a FIFO meanwhile.
if [ -r /proc/self/cmdline ] && mkfifo cert.fifo; then
	echo "+ sealkit token import --cert cert.fifo --pin ... (looking at /proc/PID/cmdline)"
	"$SK" token import --token T --label k --cert cert.fifo --so-pin "$SO" --pin="$PIN" \
		>import.out 2>&1 &
	pid=$!
	i=0
	while [ $i -lt 100 ]; do
		tr '\0' ' ' </proc/$pid/cmdline >cmdline 2>/dev/null
		grep -q 'xxxx' cmdline && break
		sleep 0.1
		i=$((i + 1))
	done
	sed 's/^/    /' cmdline
	grep -q 'token import' cmdline || sk_fail "sealkit ended before its command line was read"
	! grep -q -e "$PIN" -e "$SO" cmdline || sk_fail "a PIN in the process listing"
	grep -q -- '--pin=x* ' cmdline || sk_fail "--pin= not blanked"
	cat d.pem >cert.fifo
	wait $pid || sk_fail "token import failed: $(cat import.out)"
	sed 's/^/    /' import.out
else
	echo "(no /proc or no mkfifo: process listing not checked)"
fi

# sealkit starts no other program: no system(), popen(), exec*() or
# posix_spawn() in its sources (the demo calls the commands' functions).
if grep -n -E '(^|[^_a-z])(system|popen|execl|execlp|execle|execv|execvp|execvpe|posix_spawnp?|fork)[ ]*\(' \
	"${top_srcdir:-.}"/tools/*.c; then
	sk_fail "sealkit runs another program (see above)"
fi
grep -q 'cmd_token' "${top_srcdir:-.}/tools/cmd_demo.c" || sk_fail "the demo no longer runs its steps in-process?"

# The prompt on a terminal: asked again after a wrong PIN, never echoed.
if ! command -v script >/dev/null 2>&1 || ! script -qec true /dev/null </dev/null >/dev/null 2>&1; then
	echo "(no util-linux script or no pseudo-terminal: the prompt not checked)"
	echo "PASS"
	exit 0
fi
# sk_answer OUT N PIN...: answer the Nth prompt (counting from 1) in OUT
# with the Nth PIN, once it is shown.
sk_answer() {
	out=$1
	shift
	n=0
	for p in "$@"; do
		n=$((n + 1))
		i=0
		while [ "$(grep -c 'PIN for token' "$out" 2>/dev/null)" -lt "$n" ] && [ $i -lt 200 ]; do
			sleep 0.05
			i=$((i + 1))
		done
		printf '%s\n' "$p"
	done
	sleep 1
}
echo "+ (on a terminal) sealkit token keygen --token T --label p: a wrong PIN, then the right one"
: >tty.out
sk_answer tty.out Wrong-5 "$PIN" | script -qfec "'$SK' token keygen --token T --label p" /dev/null >tty.out 2>&1 ||
	{ sed 's/^/    /' tty.out; sk_fail "keygen with PINs typed at the prompt"; }
tr -d '\r' <tty.out | sed 's/^/    /'
[ "$(grep -c "PIN for token 'T'" tty.out)" -eq 2 ] || sk_fail "not prompted twice"
grep -q 'sealkit: wrong PIN' tty.out || sk_fail "no wrong-PIN note at the prompt"
grep -q 'object=p;type=private' tty.out || sk_fail "no key URI after the right PIN"
! grep -q -e "$PIN" -e Wrong-5 tty.out || sk_fail "the prompt echoed a PIN"

echo "+ (on a terminal) three wrong PINs"
: >tty2.out
sk_answer tty2.out Wrong-6 Wrong-7 Wrong-8 |
	script -qfec "'$SK' token keygen --token T --label q" /dev/null >tty2.out 2>&1
tr -d '\r' <tty2.out | sed 's/^/    /'
grep -q "wrong PIN (typed at the prompt) for token 'T'" tty2.out || sk_fail "the prompt not named as the source"
! grep -q -e Wrong-6 -e Wrong-7 -e Wrong-8 tty2.out || sk_fail "the prompt echoed a PIN"
# The right PIN resets the count.
sk_run "$SK" token objects --token T --pin "$PIN"
echo "PASS"
