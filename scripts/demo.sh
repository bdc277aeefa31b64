#!/usr/bin/env bash
# Token smoke run (README quick start): build sealkit-pkcs11.so, make a soft
# token in a new directory with OpenSC's pkcs11-tool, generate an EC P-256 key
# pair on it, sign a file with ECDSA-SHA256 on the token and verify the
# signature with openssl using the public key read back from the token.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
JOBS=${JOBS:-2}
SO_PIN=87654321
PIN=123456
LABEL=demo

say() {
	printf '\n==> %s\n' "$*"
}

fail() {
	printf '\ndemo FAILED: %s\n' "$*" >&2
	exit 1
}

# run CMD...: show the command, run it, stop with its name if it fails.
run() {
	printf '$ %s\n' "$*"
	"$@" || fail "command failed (exit $?): $*"
}

say "Installing the Debian packages sealkit needs (skipped when present)"
bash "$ROOT/scripts/install-deps.sh" || fail "scripts/install-deps.sh"

if [ ! -f "$ROOT/build/Makefile" ]; then
	say "Configuring the build in build/"
	mkdir -p "$ROOT/m4"
	(cd "$ROOT" && autoreconf -fi) || fail "autoreconf -fi"
	mkdir -p "$ROOT/build"
	(cd "$ROOT/build" && ../configure -q) || fail "configure (see build/config.log)"
fi
say "Building sealkit-pkcs11.so in build/"
make -C "$ROOT/build" -j"$JOBS" >/dev/null || fail "make in build/ (run 'make -C build' to see why)"
MODULE=$ROOT/build/.libs/sealkit-pkcs11.so
[ -f "$MODULE" ] || fail "the build made no $MODULE"
echo "module: $MODULE"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sealkit-demo.XXXXXX")
export SEALKIT_TOKEN_DIR=$WORK/tokens
export SEALKIT_CONF=/dev/null    # default settings, not a user's config file
mkdir "$SEALKIT_TOKEN_DIR"
cd "$WORK"
echo "working directory: $WORK"
echo "token directory (SEALKIT_TOKEN_DIR): $SEALKIT_TOKEN_DIR"

p11() {
	run pkcs11-tool --module "$MODULE" "$@"
}

say "The empty token directory shows one free slot"
p11 --list-slots

say "Initialising the token '$LABEL' (SO PIN $SO_PIN) and setting its user PIN ($PIN)"
p11 --slot 0 --init-token --label "$LABEL" --so-pin "$SO_PIN"
p11 --token-label "$LABEL" --login --login-type so --so-pin "$SO_PIN" --init-pin --pin "$PIN"

say "Generating an EC P-256 key pair on the token (label demo-key, ID 01)"
p11 --token-label "$LABEL" --login --pin "$PIN" --keypairgen --key-type EC:prime256v1 \
	--id 01 --label demo-key --usage-sign

say "Signing a document with ECDSA-SHA256 on the token"
printf 'sealkit demo document, signed on %s\n' "$(date -u '+%Y-%m-%d %H:%M:%S UTC')" >document.txt
p11 --token-label "$LABEL" --login --pin "$PIN" --sign --mechanism ECDSA-SHA256 --id 01 \
	--input-file document.txt --output-file document.sig --signature-format openssl

say "Reading the public key back from the token"
printf '$ pkcs11-tool --module %s --token-label %s --read-object --type pubkey --id 01 --output-file demo-key.pub.der\n' \
	"$MODULE" "$LABEL"
if pkcs11-tool --module "$MODULE" --token-label "$LABEL" --read-object --type pubkey --id 01 \
	--output-file demo-key.pub.der; then
	run openssl pkey -pubin -inform DER -in demo-key.pub.der -out demo-key.pub.pem
else
	# pkcs11-tool 0.23 sometimes fails to export EC public keys ("cannot
	# create EVP_PKEY", a bug of its own); GnuTLS's p11tool exports it too.
	echo "pkcs11-tool could not export the key; asking p11tool instead"
	run p11tool --provider "$MODULE" --login --set-pin="$PIN" --export-pubkey --outfile demo-key.pub.pem \
		"pkcs11:token=$LABEL;id=%01;type=public"
fi
cat demo-key.pub.pem

say "The objects on the token (after login)"
p11 --token-label "$LABEL" --login --pin "$PIN" --list-objects

say "Verifying the signature with openssl"
printf '$ openssl dgst -sha256 -verify demo-key.pub.pem -signature document.sig document.txt\n'
if ! out=$(openssl dgst -sha256 -verify demo-key.pub.pem -signature document.sig document.txt 2>&1); then
	echo "$out"
	fail "openssl could not verify the token's signature"
fi
echo "$out"
[ "$out" = "Verified OK" ] || fail "unexpected openssl output: $out"

cat <<EOT

Files in $WORK:
  tokens/            the soft token (SQLite store; keys sealed, no key bytes in clear)
  document.txt       the signed document
  document.sig       its ECDSA-SHA256 signature (DER), made on the token
  demo-key.pub.pem   the public key read back from the token
Remove them with: rm -rf '$WORK'

Verification succeeded: document.sig is a valid ECDSA P-256 / SHA-256 signature of document.txt by the token key demo-key.
EOT
