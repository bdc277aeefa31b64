#!/bin/sh
# GnuTLS's p11tool against sealkit-pkcs11.so: the token is listed with its
# label, p11tool makes an EC P-256 key on it and its --test-sign signs with the
# key and verifies the signature. Exit 0 pass, 1 fail, 77 skip.
set -u
. "$(dirname "$0")/common.sh"

sk_need p11tool pkcs11-tool
sk_setup

T=sk-p11tool
sk_init_token "$T"
URL="pkcs11:token=$T"
p11t() {
	p11tool --provider "$SEALKIT_MODULE" --batch "$@"
}
# p11tool also reads the PIN from here when it would prompt.
GNUTLS_PIN=$SK_PIN
export GNUTLS_PIN

sk_run p11t --list-tokens
sk_expect "Label: +$T\$" "the token label '$T'"
sk_expect 'Flags:.*Requires login' "the token flagged as requiring login"
sk_reject '[Uu]ninitialized' "token or PIN flagged as not initialised"

sk_run p11t --login --set-pin="$SK_PIN" --generate-privkey=ecdsa --curve=secp256r1 \
	--label=k "$URL"
sk_expect 'BEGIN PUBLIC KEY' "the new public key"
sed -n '/BEGIN PUBLIC KEY/,/END PUBLIC KEY/p' "$SK_OUT" >"$SK_TMP/k.pub.pem"
sk_run openssl pkey -pubin -in "$SK_TMP/k.pub.pem" -noout -text
sk_expect 'ASN1 OID: prime256v1' "a P-256 public key"

# Without login the private key is invisible, with login it is listed.
# (p11tool exits 2 when it finds nothing.)
echo "+ p11tool --provider $SEALKIT_MODULE --batch --list-privkeys $URL"
p11t --list-privkeys "$URL" >"$SK_OUT" 2>&1
sed 's/^/    /' "$SK_OUT"
sk_reject 'Label: k$' "private key listed without login"
sk_run p11t --login --set-pin="$SK_PIN" --list-privkeys "$URL"
sk_expect 'Label: k$' "the private key 'k' after login"
sk_expect "URL: pkcs11:.*token=$T.*object=k.*type=private" "the private key's URL"
KEY_URL=$(sed -n 's/^[[:space:]]*URL: \(pkcs11:.*object=k.*type=private.*\)$/\1/p' "$SK_OUT" | head -n 1)
[ -n "$KEY_URL" ] || sk_fail "no URL for the private key 'k'"

sk_run p11t --login --set-pin="$SK_PIN" --test-sign "$KEY_URL"
sk_reject 'failed|[Ee]rror' "failure in p11tool --test-sign"
sk_expect 'Verifying against private key parameters\.\.\. ok' "verification against the key"
sk_expect 'Verifying against public key in the token\.\.\. ok' "verification against the token's public key"

# A wrong PIN must not sign.
sk_run_fails p11t --login --set-pin=99999999 --test-sign "$KEY_URL"

echo "PASS"
