#!/bin/sh
# OpenSC's pkcs11-tool against sealkit-pkcs11.so: token and PIN set-up, its
# self test, EC P-256/P-384 and RSA 2048 keys made on the token, signatures
# (ECDSA, RSA PKCS#1 v1.5, RSA-PSS) checked by openssl with the public key read
# back from the token, RSA-OAEP decryption of openssl's ciphertext and an
# AES-CBC-PAD round trip. Exit 0 pass, 1 fail, 77 skip.
set -u
. "$(dirname "$0")/common.sh"

sk_need pkcs11-tool openssl
sk_setup

T=pkcs11-tool
sk_init_token "$T"
cd "$SK_TMP" || sk_fail "cd $SK_TMP"

# pkcs11-tool --test skips mechanisms without CKF_HW unless given --allow-sw.
# It tolerates, with a "warning: ... failed" line, CKR_FUNCTION_NOT_SUPPORTED
# from C_SignUpdate with a single-part mechanism (CKM_RSA_PKCS), as SoftHSM
# returns too; any other failure fails the test.
allow_sw=
if pkcs11-tool --help 2>&1 | grep -q -- '--allow-sw'; then
	allow_sw=--allow-sw
fi
self_test() {
	sk_p11 --token-label "$T" --test --login --pin "$SK_PIN" $allow_sw
	grep -v '^warning: PKCS11 function C_SignUpdate failed: rv = CKR_FUNCTION_NOT_SUPPORTED' \
		"$SK_OUT" >"$SK_OUT.filtered"
	if grep -E 'failed|ERR' "$SK_OUT.filtered"; then
		sk_fail "pkcs11-tool --test reported the failure above"
	fi
	sk_expect '^No errors' "pkcs11-tool --test's 'No errors'"
}

# A token with no keys yet: the self test covers digests, random, login.
self_test

sk_p11 --token-label "$T" --list-mechanisms
sk_expect 'ECDSA-SHA256' "ECDSA-SHA256 in the mechanism list"
sk_expect 'SHA256-RSA-PKCS-PSS' "SHA256-RSA-PKCS-PSS in the mechanism list"
sk_expect 'AES-CBC-PAD' "AES-CBC-PAD in the mechanism list"

head -c 5000 /dev/urandom >data || sk_fail "cannot write $SK_TMP/data"
cp data tampered && printf 'x' >>tampered

# ECDSA: sign on the token, verify with openssl; the tampered file must not verify.
# ec_test ID CURVE MECHANISM DIGEST
ec_test() {
	sk_p11 --token-label "$T" --login --pin "$SK_PIN" --keypairgen \
		--key-type "EC:$2" --id "$1" --label "ec-$2" --usage-sign
	sk_read_pubkey "$T" "$1" "ec-$2.pem"
	sk_run openssl pkey -pubin -in "ec-$2.pem" -noout -text
	sk_expect "ASN1 OID: $2" "curve $2 in the public key read back"
	sk_p11 --token-label "$T" --login --pin "$SK_PIN" --sign -m "$3" --id "$1" \
		-i data -o "sig-$1" --signature-format openssl
	sk_run openssl dgst "-$4" -verify "ec-$2.pem" -signature "sig-$1" data
	sk_expect '^Verified OK' "openssl's 'Verified OK'"
	sk_run_fails openssl dgst "-$4" -verify "ec-$2.pem" -signature "sig-$1" tampered
}
ec_test 01 prime256v1 ECDSA-SHA256 sha256
ec_test 02 secp384r1 ECDSA-SHA384 sha384

# CKM_ECDSA on a hash computed outside the token.
sk_run openssl dgst -sha256 -binary -out data.sha256 data
sk_p11 --token-label "$T" --login --pin "$SK_PIN" --sign -m ECDSA --id 01 \
	-i data.sha256 -o sig-raw --signature-format openssl
sk_run openssl pkeyutl -verify -pubin -inkey ec-prime256v1.pem -in data.sha256 -sigfile sig-raw
sk_expect 'Signature Verified Successfully' "openssl's 'Signature Verified Successfully'"

# RSA 2048: PKCS#1 v1.5 and PSS signatures, OAEP decryption.
sk_p11 --token-label "$T" --login --pin "$SK_PIN" --keypairgen --key-type rsa:2048 \
	--id 03 --label rsa2048 --usage-sign --usage-decrypt
sk_read_pubkey "$T" 03 rsa.pem
sk_run openssl pkey -pubin -in rsa.pem -noout -text
sk_expect 'Public-Key: \(2048 bit\)' "a 2048-bit RSA public key"
sk_p11 --token-label "$T" --login --pin "$SK_PIN" --sign -m SHA256-RSA-PKCS --id 03 \
	-i data -o sig-rsa
sk_run openssl dgst -sha256 -verify rsa.pem -signature sig-rsa data
sk_expect '^Verified OK' "openssl's 'Verified OK'"
sk_run_fails openssl dgst -sha256 -verify rsa.pem -signature sig-rsa tampered

# pkcs11-tool's defaults for SHA256-RSA-PKCS-PSS: MGF1-SHA256, salt as long as the hash.
sk_p11 --token-label "$T" --login --pin "$SK_PIN" --sign -m SHA256-RSA-PKCS-PSS \
	--id 03 -i data -o sig-pss
sk_run openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 \
	-sigopt rsa_mgf1_md:sha256 -verify rsa.pem -signature sig-pss data
sk_expect '^Verified OK' "openssl's 'Verified OK' for RSA-PSS"
sk_run_fails openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 \
	-sigopt rsa_mgf1_md:sha256 -verify rsa.pem -signature sig-pss tampered

printf 'a secret for the token only\n' >secret
sk_run openssl pkeyutl -encrypt -pubin -inkey rsa.pem -pkeyopt rsa_padding_mode:oaep \
	-pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 -in secret -out secret.oaep
sk_p11 --token-label "$T" --login --pin "$SK_PIN" --decrypt -m RSA-PKCS-OAEP \
	--hash-algorithm SHA256 --mgf MGF1-SHA256 --id 03 -i secret.oaep -o secret.out
cmp secret secret.out || sk_fail "RSA-OAEP: the token decrypted something else than openssl encrypted"

# AES-128: key made on the token, CBC-PAD encryption and decryption on the token.
# (pkcs11-tool has --encrypt for secret keys since it has --iv.)
if pkcs11-tool --help 2>&1 | grep -q -- '--iv'; then
	iv=000102030405060708090a0b0c0d0e0f
	head -c 1000 /dev/urandom >plain
	# pkcs11-tool asks for CKA_PRIVATE=FALSE unless told --private. sealkit
	# either refuses that or makes a key that is visible to everyone but
	# usable only after login (its value is sealed under the token key); its
	# value must not be readable. (Use without login is for the unit tests:
	# pkcs11-tool logs in by itself before --encrypt.)
	echo "+ pkcs11-tool ... --keygen --key-type AES:16 --id 11 --label aes-public (no --private)"
	if pkcs11-tool --module "$SEALKIT_MODULE" --token-label "$T" --login --pin "$SK_PIN" \
		--keygen --key-type AES:16 --id 11 --label aes-public >"$SK_OUT" 2>&1; then
		sed 's/^/    /' "$SK_OUT"
		sk_run_fails pkcs11-tool --module "$SEALKIT_MODULE" --token-label "$T" \
			--read-object --type secrkey --id 11 -o aes-public.raw
	else
		sed 's/^/    /' "$SK_OUT"
		echo "    (refused)"
	fi
	sk_p11 --token-label "$T" --login --pin "$SK_PIN" --keygen --key-type AES:16 \
		--id 10 --label aes128 --usage-decrypt --private --sensitive
	sk_p11 --token-label "$T" --login --pin "$SK_PIN" --encrypt -m AES-CBC-PAD --id 10 \
		--iv "$iv" -i plain -o plain.enc
	size=$(wc -c <plain.enc)
	[ "$size" -eq 1008 ] || sk_fail "AES-CBC-PAD of 1000 bytes gave $size bytes, expected 1008"
	if cmp -s -n 1000 plain plain.enc; then
		sk_fail "AES-CBC-PAD 'ciphertext' starts with the plaintext"
	fi
	sk_p11 --token-label "$T" --login --pin "$SK_PIN" --decrypt -m AES-CBC-PAD --id 10 \
		--iv "$iv" -i plain.enc -o plain.dec
	cmp plain plain.dec || sk_fail "AES-CBC-PAD decrypt(encrypt(x)) != x"
else
	echo "pkcs11-tool has no --iv: AES encrypt/decrypt not tested"
fi

# The secret key must not be readable.
sk_p11 --token-label "$T" --login --pin "$SK_PIN" --list-objects
sk_expect 'label: +aes128' "the AES key in the object list"
sk_expect 'label: +rsa2048' "the RSA key in the object list"
if pkcs11-tool --module "$SEALKIT_MODULE" --token-label "$T" --login --pin "$SK_PIN" \
	--read-object --type secrkey --id 10 -o aes.raw >/dev/null 2>&1 && [ -s aes.raw ]; then
	sk_fail "pkcs11-tool could read the AES key value off the token"
fi

# The self test again, now over the keys made above: RSA signatures,
# verification and decryption with several mechanisms.
self_test
if [ -n "$allow_sw" ]; then
	sk_expect 'SHA256-RSA-PKCS: OK' "an RSA signature test in pkcs11-tool --test"
fi

echo "PASS"
