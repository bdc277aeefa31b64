#!/bin/sh
# sealkit through the installed layout: make install DESTDIR=tmp (the
# configured prefix), then the installed sealkit, with the installed
# libsealkit (LD_LIBRARY_PATH) and the installed sealkit-pkcs11.so
# (SEALKIT_MODULE), runs --help and a small job: token, keys, certificates,
# a seal, a stamp, verify --strict. The installed sealkit(1) renders with man -l.
. "${top_srcdir:-.}/tests/shell/common.sh"
sk_need make
sk_setup
B=${top_builddir:-.}
case "$B" in /*) ;; *) B="$(pwd)/$B" ;; esac
D=$SK_TMP/destdir

echo "+ make -C $B install DESTDIR=$D"
# A make of its own: not the jobserver of the make running the tests.
(unset MAKEFLAGS MFLAGS MAKELEVEL; make -s -C "$B" install DESTDIR="$D") >install.log 2>&1 ||
	{ sed 's/^/    /' install.log; sk_fail "make install DESTDIR=$D failed"; }
rm -f install.log
find "$D" -type f | sed "s|^$D|    |" | sort
SK=$(find "$D" -path '*/bin/sealkit' -type f | head -n 1)
MOD=$(find "$D" -name sealkit-pkcs11.so | head -n 1)
LIB=$(find "$D" -name 'libsealkit.so.*' | head -n 1)
MAN=$(find "$D" -path '*/man1/sealkit.1' | head -n 1)
[ -x "$SK" ] || sk_fail "no bin/sealkit installed"
[ -f "$MOD" ] || sk_fail "no sealkit-pkcs11.so installed"
[ -f "$LIB" ] || sk_fail "no libsealkit.so installed"
[ -f "$MAN" ] || sk_fail "no man1/sealkit.1 installed"
case "$SK" in "$B"/*) sk_fail "the installed sealkit is in the build tree" ;; esac
LD_LIBRARY_PATH=$(dirname "$LIB")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
SEALKIT_MODULE=$MOD
export LD_LIBRARY_PATH SEALKIT_MODULE

# The installed program uses the installed library, not the build tree's.
if command -v ldd >/dev/null 2>&1; then
	ldd "$SK" >"$SK_OUT" 2>&1
	grep 'libsealkit' "$SK_OUT" | sed 's/^/    /'
	grep 'libsealkit' "$SK_OUT" | grep -q "$D" || sk_fail "the installed sealkit does not load the installed libsealkit"
fi

cd "$SK_TMP" || sk_fail "cd"
sk_run "$SK" --help
sk_expect '^  demo ' "the command list"
sk_run "$SK" --version
for c in token cert seal stamp verify demo; do
	sk_run "$SK" $c --help
	sk_expect 'Usage: sealkit' "the usage of $c"
done

export SEALKIT_PIN=$SK_PIN
sk_run "$SK" token list
sk_expect "module: $MOD" "the installed module in use"
sk_run "$SK" token init --label Installed --so-pin "$SK_SO_PIN"
sk_run "$SK" token keygen --token Installed --label maker
sk_run "$SK" token keygen --token Installed --label signer
M='pkcs11:token=Installed;object=maker;type=private'
S='pkcs11:token=Installed;object=signer;type=private'
sk_run "$SK" cert issue --key "$M" --subject "/C=CN/O=Install/CN=CA" --days 30 --self-signed -o ca.pem
sk_run "$SK" cert issue --key "$S" --subject "/C=CN/O=Install/CN=Signer" --days 30 \
	--ca-cert ca.pem --ca-key-uri "$M" -o signer.pem
sk_run "$SK" token import --token Installed --label signer --cert signer.pem
sk_run "$SK" seal draw --name "安装测试有限公司" -o seal.svg
sk_run "$SK" seal create --maker-key "$M" --maker-cert ca.pem --signer-cert signer.pem \
	--name "安装测试章" --type official --picture seal.svg --size 40x40 \
	--valid-from 2024-01-01 --valid-to 2035-12-31 -o seal.esl
echo "installed" >doc.txt
sk_run "$SK" stamp --seal seal.esl --key "$S" --in doc.txt -o doc.sig
sk_run "$SK" verify --strict --trust ca.pem --doc doc.txt doc.sig
sk_expect '^VALID' "the verdict"
echo "tampered" >doc.txt
if "$SK" verify --doc doc.txt doc.sig >"$SK_OUT" 2>&1; then rc=0; else rc=$?; fi
[ "$rc" -eq 1 ] || sk_fail "verify of a tampered document: exit $rc, expected 1"
sk_expect '✗ data-hash' "the failed data-hash check"

# The installed manual page renders without warnings.
if command -v man >/dev/null 2>&1; then
	echo "+ man -l $MAN"
	MANWIDTH=80 MANPAGER=cat PAGER=cat man --warnings -l "$MAN" >man.txt 2>man.err ||
		{ cat man.err; sk_fail "man -l failed"; }
	sed -n '1,12p' man.txt | sed 's/^/    /'
	grep -q 'SYNOPSIS' man.txt || sk_fail "the manual page has no SYNOPSIS"
	grep -q 'sealkit cert issue' man.txt || sk_fail "the manual page lacks the commands"
	[ ! -s man.err ] || { cat man.err; sk_fail "man warnings for sealkit.1"; }
else
	echo "(man is not installed: the manual page not rendered)"
fi
echo "PASS"
