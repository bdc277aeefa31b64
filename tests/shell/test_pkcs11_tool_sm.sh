#!/bin/sh
# SM2 and SM3 through real clients. pkcs11-tool lists the SM mechanisms (by
# hex code: it has no names for them) and no alias codes, hashes with SM3
# (0x80009001) as openssl does, and signs with 0x80008100 (raw r||s),
# 0x80008101 (DER) and 0x80008104 (e in) on SM2 keys; openssl verifies every
# signature with the ID 1234567812345678 and refuses a changed file or another
# ID; pkcs11-tool --verify agrees.
#
# The SM2 keys: pkcs11-tool 0.23 (--key-type EC:<curve>) and p11tool 3.7
# (--curve) have no SM2 curve in their tables, and their refusals are checked
# here; tests/unit/p11smkey makes the keys as such a client would, with
# 0x80008001 and with CKM_EC_KEY_PAIR_GEN and the SM2 curve. pkcs11-tool then
# lists and uses them, and exports the CKK_EC one's point; p11tool lists them,
# makes a P-256 key that the SM2 mechanisms refuse. Exit 0 pass, 1 fail, 77 skip.
set -u
. "$(dirname "$0")/common.sh"

sk_need pkcs11-tool openssl
sk_setup
SMKEY=${top_builddir:-.}/tests/unit/p11smkey
case "$SMKEY" in
/*) ;;
*) SMKEY="$(pwd)/$SMKEY" ;;
esac
[ -x "$SMKEY" ] || sk_fail "$SMKEY is not built ('make check' builds it)"

T=sk-sm
sk_init_token "$T"
cd "$SK_TMP" || sk_fail "cd $SK_TMP"

# 1. The mechanism list: every canonical SM code with its functions, no alias.
sk_p11 --token-label "$T" --list-mechanisms
while read -r code uses; do
	line=$(grep -E "^ *mechtype-$code," "$SK_OUT") || sk_fail "$code is not in the mechanism list"
	for use in $uses; do
		case "$line," in
		*", $use,"*) ;;
		*) sk_fail "$code is listed without '$use': $line" ;;
		esac
	done
done <<'EOF'
0x80009001 digest
0x80000B02 sign verify
0x80000B03 sign verify
0x80008001 generate_key_pair
0x80008100 sign verify
0x80008101 sign verify
0x80008104 sign verify
0x80008200 encrypt decrypt
0x80008201 encrypt decrypt
0x80000107 generate
0x80000108 encrypt decrypt
0x80000109 encrypt decrypt
0x8000010C encrypt decrypt
0x8000A101 encrypt decrypt
0x8000010A encrypt decrypt
0x8000010F encrypt decrypt
0x80058007 sign verify
0x80050007 sign verify
EOF
sk_reject 'mechtype-0x(80000B2[0-2]|8005000[A-E]|80008105|80000B01|80000B1[0-3]|8000A201|80534D5A),' \
	"an alias code in the mechanism list (only the profile's primary codes are listed)"

# 2. SM3: pkcs11-tool --hash against openssl dgst, over C_DigestUpdate pieces.
head -c 5000 /dev/urandom >data || sk_fail "cannot write $SK_TMP/data"
head -c 100 /dev/urandom >short
for f in data short; do
	cp "$f" "$f.changed" && printf 'x' >>"$f.changed"
	sk_p11 --token-label "$T" --hash -m 0x80009001 -i "$f" -o "$f.sm3"
	sk_run openssl dgst -sm3 -binary -out "$f.sm3.openssl" "$f"
	cmp "$f.sm3" "$f.sm3.openssl" || sk_fail "SM3 of $f: pkcs11-tool (0x80009001) and openssl differ"
done

# 3. Key generation by the clients themselves.
# pkcs11-tool 0.23 takes only the curve names and OIDs of its own table.
tool_key=
for curve in sm2 SM2 sm2p256v1 1.2.156.10197.1.301; do
	echo "+ pkcs11-tool --module $SEALKIT_MODULE ... --keypairgen --key-type EC:$curve --id 30"
	if pkcs11-tool --module "$SEALKIT_MODULE" --token-label "$T" --login --pin "$SK_PIN" \
		--keypairgen --key-type "EC:$curve" --id 30 --label tool-sm2 >"$SK_OUT" 2>&1; then
		sed 's/^/    /' "$SK_OUT"
		tool_key=30
		break
	fi
	sed 's/^/    /' "$SK_OUT"
	sk_expect "Unknown EC key params '$curve'" "pkcs11-tool's own refusal of the curve (else the module failed)"
done
[ -n "$tool_key" ] || echo "    (this pkcs11-tool has no SM2 curve: the keys come from p11smkey)"
# The SM2 mechanism with another curve: the module refuses the curve.
sk_run_fails pkcs11-tool --module "$SEALKIT_MODULE" --token-label "$T" --login --pin "$SK_PIN" \
	--keypairgen --key-type EC:prime256v1 -m 0x80008001 --id 31 --label p256-via-sm2
sk_expect '0x140|CURVE_NOT_SUPPORTED' "CKR_CURVE_NOT_SUPPORTED for 0x80008001 with the P-256 curve"

# 4. SM2 keys: 01 of key type 0x80000004 (0x80008001), 02 of CKK_EC with the
# SM2 curve (CKM_EC_KEY_PAIR_GEN).
sk_run "$SMKEY" "$T" "$SK_PIN" 01 sm2-vendor sm2
point01=$(sed -n 's/^CKA_EC_POINT: //p' "$SK_OUT")
sk_run "$SMKEY" "$T" "$SK_PIN" 02 sm2-ec ec
point02=$(sed -n 's/^CKA_EC_POINT: //p' "$SK_OUT")

# Both keys are SM2 keys and say so with the SM2 key type, however they were
# made (pkcs11-tool prints it as an unknown algorithm, 2147483652).
sk_p11 --token-label "$T" --login --pin "$SK_PIN" --list-objects
sk_expect 'label: +sm2-vendor' "the 0x80000004 key in the object list"
sk_expect 'label: +sm2-ec' "the key made with CKM_EC_KEY_PAIR_GEN in the object list"
n=$(grep -c 'Key Object; unknown key algorithm 2147483652' "$SK_OUT" || true)
[ "$n" -eq 4 ] || sk_fail "expected 4 key objects of type 0x80000004 (CKK_EC on the SM2 curve reports SM2), saw $n"
if [ -n "$tool_key" ]; then
	# Its point cannot be listed for a vendor key type; the signing checks
	# below use the keys whose points p11smkey printed.
	echo "    (this pkcs11-tool made an SM2 key; its signatures are not checked here)"
	tool_key=
fi

# sm2_pem POINT OUT: the public key as PEM for openssl. (pkcs11-tool 0.23
# --read-object cannot: "Reading public keys of type 0x80000004 not (yet)
# supported", and for CKK_EC its EVP_PKEY bug of common.sh.) The DER is the
# SubjectPublicKeyInfo header of an SM2 key openssl made (26 bytes: SEQUENCE,
# id-ecPublicKey, SM2 curve, BIT STRING) and then the 65-byte point.
sm2_pem() {
	if [ ! -s spki-header ]; then
		sk_run openssl genpkey -algorithm SM2 -out tmpl.key
		sk_run openssl pkey -in tmpl.key -pubout -outform DER -out tmpl.der
		[ "$(wc -c <tmpl.der)" -eq 91 ] || sk_fail "openssl's SM2 public key is not 91 bytes of DER"
		head -c 26 tmpl.der >spki-header
	fi
	case "$1" in
	0441*) ;;
	*) sk_fail "CKA_EC_POINT is not a DER OCTET STRING of 65 bytes: $1" ;;
	esac
	sk_run openssl asn1parse -genstr "FORMAT:HEX,OCTETSTRING:${1#0441}" -noout -out "$2.point"
	{ cat spki-header && tail -c 65 "$2.point"; } >"$2.der" || sk_fail "cannot write $2.der"
	sk_run openssl pkey -pubin -inform DER -in "$2.der" -out "$2"
	sk_run openssl pkey -pubin -in "$2" -noout -text
	sk_expect 'ASN1 OID: SM2' "the SM2 curve in the public key"
}

# raw_der RAW DER: r||s (32 + 32 bytes) as DER SEQUENCE{r, s}.
raw_der() {
	[ "$(wc -c <"$1")" -eq 64 ] || sk_fail "$1: a raw SM2 signature is 64 bytes"
	hex=$(od -An -v -tx1 "$1" | tr -d ' \n')
	printf 'asn1 = SEQUENCE:sig\n[sig]\nr = INTEGER:0x%s\ns = INTEGER:0x%s\n' \
		"$(printf '%s' "$hex" | cut -c1-64)" "$(printf '%s' "$hex" | cut -c65-128)" >"$2.cnf"
	sk_run openssl asn1parse -genconf "$2.cnf" -noout -out "$2"
}

# token_verify_says PATTERN ARGS: pkcs11-tool --verify prints PATTERN (it
# exits 0 for a bad signature too).
token_verify_says() {
	want=$1
	shift
	echo "+ pkcs11-tool --module $SEALKIT_MODULE --token-label $T --verify $*"
	pkcs11-tool --module "$SEALKIT_MODULE" --token-label "$T" --verify "$@" >"$SK_OUT" 2>&1
	sed 's/^/    /' "$SK_OUT"
	sk_expect "$want" "pkcs11-tool --verify's '$want'"
}

# sign_check ID PUB.pem: pkcs11-tool signs data (C_SignUpdate pieces) and
# short (C_Sign) with 0x80008100 and 0x80008101, and a 32-byte e with
# 0x80008104; openssl verifies.
sign_check() {
	for f in data short; do
		for mech in 0x80008100 0x80008101; do
			sig=sig-$1-$mech-$f
			sk_p11 --token-label "$T" --login --pin "$SK_PIN" --sign -m "$mech" --id "$1" \
				-i "$f" -o "$sig"
			if [ "$mech" = 0x80008100 ]; then
				raw_der "$sig" "$sig.der"
			else
				cp "$sig" "$sig.der"
			fi
			sk_run openssl pkeyutl -verify -pubin -inkey "$2" -rawin -digest sm3 \
				-pkeyopt distid:1234567812345678 -in "$f" -sigfile "$sig.der"
			sk_expect 'Signature Verified Successfully' "openssl's verification of $mech"
			sk_run_fails openssl pkeyutl -verify -pubin -inkey "$2" -rawin -digest sm3 \
				-pkeyopt distid:1234567812345678 -in "$f.changed" -sigfile "$sig.der"
			sk_run_fails openssl pkeyutl -verify -pubin -inkey "$2" -rawin -digest sm3 \
				-pkeyopt distid:1234567812345679 -in "$f" -sigfile "$sig.der"
			token_verify_says '^Signature is valid' -m "$mech" --id "$1" -i "$f" \
				--signature-file "$sig"
			token_verify_says '^Invalid signature' -m "$mech" --id "$1" -i "$f.changed" \
				--signature-file "$sig"
		done
	done
	head -c 32 /dev/urandom >e || sk_fail "cannot write $SK_TMP/e"
	sk_p11 --token-label "$T" --login --pin "$SK_PIN" --sign -m 0x80008104 --id "$1" -i e \
		-o "sig-$1-e"
	raw_der "sig-$1-e" "sig-$1-e.der"
	sk_run openssl pkeyutl -verify -pubin -inkey "$2" -in e -sigfile "sig-$1-e.der"
	sk_expect 'Signature Verified Successfully' "openssl's verification of 0x80008104"
	sk_run_fails openssl pkeyutl -verify -pubin -inkey "$2" -in short -sigfile "sig-$1-e.der"
}

sm2_pem "$point01" sm2-vendor.pem
sign_check 01 sm2-vendor.pem
sm2_pem "$point02" sm2-ec.pem
sign_check 02 sm2-ec.pem
if [ -n "$tool_key" ]; then
	sign_check 30 tool-sm2.pem
fi

# 5. p11tool: GnuTLS 3.7 has no SM2 curve; it lists the SM2 keys, and the P-256
# key it makes (CKM_EC_KEY_PAIR_GEN) is refused by the SM2 mechanisms.
if command -v p11tool >/dev/null 2>&1; then
	GNUTLS_PIN=$SK_PIN
	export GNUTLS_PIN
	p11t() {
		p11tool --provider "$SEALKIT_MODULE" --batch "$@"
	}
	echo "+ p11tool --provider $SEALKIT_MODULE --batch --login --generate-privkey=ecdsa --curve=sm2 ..."
	p11t --login --generate-privkey=ecdsa --curve=sm2 --label p11tool-sm2 "pkcs11:token=$T" \
		>"$SK_OUT" 2>&1
	sed 's/^/    /' "$SK_OUT"
	if grep -q 'BEGIN PUBLIC KEY' "$SK_OUT"; then
		echo "    (this p11tool made an SM2 key: extend this test to sign with it)"
	else
		sk_expect '^Unsupported curve: sm2' "p11tool's own refusal of the SM2 curve"
	fi
	sk_run p11t --login --list-privkeys "pkcs11:token=$T"
	sk_expect 'Label: sm2-vendor$' "the 0x80000004 private key in p11tool's list"
	sk_expect 'Label: sm2-ec$' "the SM2 private key made with CKM_EC_KEY_PAIR_GEN in p11tool's list"

	sk_run p11t --login --generate-privkey=ecdsa --curve=secp256r1 --label p11tool-p256 \
		"pkcs11:token=$T"
	sk_expect 'BEGIN PUBLIC KEY' "the P-256 public key p11tool made"
	sk_p11 --token-label "$T" --login --pin "$SK_PIN" --list-objects --type privkey
	p256_id=$(awk '/^[^ ]/ { id = ""; found = 0 } /^  ID:/ { id = $2 } /^  label: +p11tool-p256$/ { found = 1 }
		found && id != "" { print id; exit }' "$SK_OUT")
	[ -n "$p256_id" ] || sk_fail "no ID for p11tool's key in the object list"
	sk_run_fails pkcs11-tool --module "$SEALKIT_MODULE" --token-label "$T" --login --pin "$SK_PIN" \
		--sign -m 0x80008100 --id "$p256_id" -i short -o sig-p256
	sk_expect 'CKR_KEY_TYPE_INCONSISTENT' "CKR_KEY_TYPE_INCONSISTENT for SM2 signing with a P-256 key"
else
	echo "p11tool is not installed: its part is not tested"
fi

echo "PASS"
