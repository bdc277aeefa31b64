#!/bin/sh
# SoftHSMv2 behind sealkit-pkcs11.so (SEALKIT_PROXY_MODULE): its token is a
# slot of ours. Standard clients on that slot: pkcs11-tool's self test
# (which may only fail where SoftHSM itself fails, asked directly), EC P-256
# and RSA 2048 keys made through sealkit, ECDSA-SHA256 (completed by the
# proxy: SoftHSM 2.6 has CKM_ECDSA only) and SHA256-RSA-PKCS signatures that
# openssl verifies, and p11tool's --test-sign. Exit 0 pass, 1 fail, 77 skip.
set -u
. "$(dirname "$0")/common.sh"

SOFTHSM=/usr/lib/softhsm/libsofthsm2.so
sk_need pkcs11-tool openssl softhsm2-util
[ -r "$SOFTHSM" ] || sk_skip "$SOFTHSM is not installed"
sk_setup

mkdir "$SK_TMP/softhsm" || sk_fail "mkdir"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
	"$SK_TMP/softhsm" >"$SK_TMP/softhsm2.conf"
SOFTHSM2_CONF="$SK_TMP/softhsm2.conf"
SEALKIT_PROXY_MODULE=$SOFTHSM
export SOFTHSM2_CONF SEALKIT_PROXY_MODULE
T=behind-sealkit
sk_run softhsm2-util --init-token --free --label "$T" --so-pin "$SK_SO_PIN" --pin "$SK_PIN"
cd "$SK_TMP" || sk_fail "cd $SK_TMP"

sk_p11 --list-slots
sk_expect "token label +: $T" "SoftHSM's token among sealkit's slots"
sk_expect 'sealkit soft token slot 0' "sealkit's own free slot next to it"
sk_p11 --token-label "$T" --list-mechanisms
sk_expect '^  ECDSA-SHA256' "ECDSA-SHA256 (completed over SoftHSM's ECDSA)"
sk_expect '^  SHA256,' "SoftHSM's own SHA256"

# The self test, on the token with no keys, then with the keys below. Every
# failure it reports must be SoftHSM's own (2.6 refuses OAEP labels).
allow_sw=
if pkcs11-tool --help 2>&1 | grep -q -- '--allow-sw'; then
	allow_sw=--allow-sw
fi
failures() {
	grep -E 'failed|ERR|Abort' "$1" | grep -v 'C_SignUpdate failed: rv = CKR_FUNCTION_NOT_SUPPORTED' |
		sed 's/0x[0-9a-f]*//g' | sort -u
}
self_test() {
	echo "+ pkcs11-tool --module $SOFTHSM --token-label $T --test ... (SoftHSM directly)"
	pkcs11-tool --module "$SOFTHSM" --token-label "$T" --test --login --pin "$SK_PIN" \
		$allow_sw >direct.out 2>&1
	echo "+ pkcs11-tool --module $SEALKIT_MODULE --token-label $T --test ..."
	pkcs11-tool --module "$SEALKIT_MODULE" --token-label "$T" --test --login --pin "$SK_PIN" \
		$allow_sw >proxied.out 2>&1
	sed 's/^/    /' proxied.out
	failures direct.out >direct.fail
	failures proxied.out >proxied.fail
	if ! cmp -s direct.fail proxied.fail && [ -n "$(comm -13 direct.fail proxied.fail)" ]; then
		echo "    failures through sealkit that SoftHSM itself does not have:"
		comm -13 direct.fail proxied.fail | sed 's/^/      /'
		sk_fail "pkcs11-tool --test through the proxy"
	fi
	grep -q 'Digests:' proxied.out || sk_fail "pkcs11-tool --test did not get to the digests"
}
self_test

head -c 5000 /dev/urandom >data || sk_fail "cannot write data"
cp data tampered && printf 'x' >>tampered

sk_p11 --token-label "$T" --login --pin "$SK_PIN" --keypairgen --key-type EC:prime256v1 \
	--id 01 --label ec --usage-sign
sk_read_pubkey "$T" 01 ec.pem
sk_p11 --token-label "$T" --login --pin "$SK_PIN" --sign -m ECDSA-SHA256 --id 01 \
	-i data -o sig-ec --signature-format openssl
sk_run openssl dgst -sha256 -verify ec.pem -signature sig-ec data
sk_expect '^Verified OK' "openssl's 'Verified OK' for ECDSA-SHA256"
sk_run_fails openssl dgst -sha256 -verify ec.pem -signature sig-ec tampered

sk_p11 --token-label "$T" --login --pin "$SK_PIN" --keypairgen --key-type rsa:2048 \
	--id 03 --label rsa --usage-sign
sk_read_pubkey "$T" 03 rsa.pem
sk_p11 --token-label "$T" --login --pin "$SK_PIN" --sign -m SHA256-RSA-PKCS --id 03 \
	-i data -o sig-rsa
sk_run openssl dgst -sha256 -verify rsa.pem -signature sig-rsa data
sk_expect '^Verified OK' "openssl's 'Verified OK' for SHA256-RSA-PKCS"
sk_run_fails openssl dgst -sha256 -verify rsa.pem -signature sig-rsa tampered

# The keys are SoftHSM's: it lists them itself.
sk_run pkcs11-tool --module "$SOFTHSM" --token-label "$T" --login --pin "$SK_PIN" --list-objects
sk_expect 'label: +ec' "the EC key in SoftHSM's own list"
sk_expect 'label: +rsa' "the RSA key in SoftHSM's own list"

self_test

if command -v p11tool >/dev/null 2>&1; then
	GNUTLS_PIN=$SK_PIN
	export GNUTLS_PIN
	sk_run p11tool --provider "$SEALKIT_MODULE" --batch --list-tokens
	sk_expect "Label: +$T\$" "the SoftHSM token in p11tool's list"
	sk_run p11tool --provider "$SEALKIT_MODULE" --batch --login --set-pin="$SK_PIN" \
		--list-privkeys "pkcs11:token=$T"
	KEY_URL=$(sed -n 's/^[[:space:]]*URL: \(pkcs11:.*object=ec.*type=private.*\)$/\1/p' "$SK_OUT" |
		head -n 1)
	[ -n "$KEY_URL" ] || sk_fail "no URL for the private key 'ec'"
	sk_run p11tool --provider "$SEALKIT_MODULE" --batch --login --set-pin="$SK_PIN" \
		--test-sign "$KEY_URL"
	sk_reject 'failed|[Ee]rror' "failure in p11tool --test-sign"
	sk_expect 'Verifying against public key in the token\.\.\. ok' "p11tool's verification"
else
	echo "p11tool is not installed: not tested"
fi

echo "PASS"
