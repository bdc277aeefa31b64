#!/bin/sh
# The progress bar of cli.md: stamping and verifying a 60 MB document shows
# one on stderr when stderr is a terminal (a pseudo-terminal from util-linux
# script), and never when stderr is not a terminal or the input is small.
. "${top_srcdir:-.}/tests/shell/common.sh"
SK=${top_builddir:-.}/tools/sealkit
case "$SK" in /*) ;; *) SK="$(pwd)/$SK" ;; esac
sk_need script
script -qec true /dev/null </dev/null >/dev/null 2>&1 || sk_skip "script cannot open a pseudo-terminal here"
sk_setup
cd "$SK_TMP" || sk_fail "cd"

# sk_tty OUT CMD: run the shell command CMD on a pseudo-terminal, its
# terminal output (stdout and stderr, unless CMD redirects them) in OUT.
sk_tty() {
	out=$1
	shift
	echo "+ (on a terminal) $*"
	script -qec "$*" /dev/null </dev/null >"$out" 2>&1 || {
		sed 's/^/    /' "$out"
		sk_fail "failed on a terminal: $*"
	}
	tr '\r' '\n' <"$out" | sed 's/^/    /'
}

export SEALKIT_PIN=$SK_PIN
sk_run "$SK" token init --label T --so-pin "$SK_SO_PIN"
sk_run "$SK" token keygen --token T --label k
K='pkcs11:token=T;object=k;type=private'
sk_run "$SK" cert issue --key "$K" --subject "/CN=Progress" --days 30 --self-signed -o k.pem
sk_run "$SK" token import --token T --label k --cert k.pem
printf '\211PNG\r\n\032\nnot really a picture' >pic.png
sk_run "$SK" seal create --maker-key "$K" --maker-cert k.pem --signer-cert k.pem \
	--name P --type 1 --picture pic.png --size 40x40 --valid-from 2024-01-01 \
	--valid-to 2035-12-31 -o seal.esl
dd if=/dev/zero of=big.bin bs=1000000 count=60 2>/dev/null || sk_fail "dd"
echo "small" >small.txt

# Not a terminal: no bar, nothing on stderr.
echo "+ $SK stamp ... --in big.bin -o big.sig 2>stamp.err"
"$SK" stamp --seal seal.esl --key "$K" --in big.bin -o big.sig >stamp.out 2>stamp.err ||
	sk_fail "stamp of big.bin failed: $(cat stamp.err)"
[ ! -s stamp.err ] || sk_fail "stamp wrote to a stderr that is not a terminal: $(cat stamp.err)"
"$SK" verify --doc big.bin big.sig >verify.out 2>verify.err || sk_fail "verify --doc big.bin"
[ ! -s verify.err ] || sk_fail "verify wrote to a stderr that is not a terminal: $(cat verify.err)"

# A terminal: the bar reaches 100%, on stderr only.
sk_tty tty-stamp.out "'$SK' stamp --seal seal.esl --key '$K' --in big.bin -o big2.sig >/dev/null"
grep -q 'hashing big.bin \[#*\.*\]  *[0-9]*%' tty-stamp.out || sk_fail "no progress bar while stamping"
grep -q '100%  60.0/60.0 MB' tty-stamp.out || sk_fail "the stamping bar did not reach 100%"
sk_tty tty-verify.out "'$SK' verify --strict --doc big.bin big2.sig >/dev/null"
grep -q 'hashing big.bin \[#' tty-verify.out || sk_fail "no progress bar while verifying"
grep -q '100%  60.0/60.0 MB' tty-verify.out || sk_fail "the verifying bar did not reach 100%"
# stdout on the terminal, stderr not: the report, no bar.
sk_tty tty-noerr.out "'$SK' verify --doc big.bin big2.sig 2>bar.err"
grep -q '^VALID' tty-noerr.out || sk_fail "no verdict on the terminal"
! grep -q 'hashing' tty-noerr.out bar.err || sk_fail "a bar although stderr is not a terminal"
# Small input on a terminal: no bar.
sk_run "$SK" stamp --seal seal.esl --key "$K" --in small.txt -o small.sig
sk_tty tty-small.out "'$SK' verify --doc small.txt small.sig"
! grep -q 'hashing' tty-small.out || sk_fail "a bar for a small document"
echo "PASS"
