#!/bin/sh
# NSS against sealkit-pkcs11.so: modutil registers the module in a new NSS
# database and lists it with its token; a key and certificate made by openssl
# and written to the token with pkcs11-tool show up in certutil; then NSS makes
# a key pair and a self-signed certificate on the token itself (certutil -S),
# whose signature openssl checks. Exit 0 pass, 1 fail, 77 skip.
set -u
. "$(dirname "$0")/common.sh"

sk_need modutil certutil pkcs11-tool openssl
sk_setup

T=sk-nss
sk_init_token "$T"
cd "$SK_TMP" || sk_fail "cd $SK_TMP"
DB=sql:$SK_TMP/nssdb
mkdir nssdb
printf '%s\n' "$SK_PIN" >pwfile
head -c 64 /dev/urandom >noise

sk_run modutil -dbdir "$DB" -create -force
sk_run modutil -dbdir "$DB" -add sealkit -libfile "$SEALKIT_MODULE" -force
sk_run modutil -dbdir "$DB" -list
sk_expect '^ *[0-9]+\. sealkit$' "the module 'sealkit'"
sk_expect "token: $T\$" "the token '$T'"
sk_run modutil -dbdir "$DB" -list sealkit
sk_expect "Token Name: $T *\$" "the token's name in the module details"

# A key and certificate from outside, written to the token with pkcs11-tool.
sk_run openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout imported.key -out imported.pem -subj '/CN=sealkit NSS import test' -days 30
sk_run openssl x509 -in imported.pem -outform DER -out imported.der
sk_run openssl pkcs8 -topk8 -nocrypt -in imported.key -outform DER -out imported.key.der
sk_p11 --token-label "$T" --login --pin "$SK_PIN" --write-object imported.key.der \
	--type privkey --id 42 --label imported --private --sensitive
sk_p11 --token-label "$T" --login --pin "$SK_PIN" --write-object imported.der \
	--type cert --id 42 --label imported

sk_run certutil -L -h all -d "$DB" -f pwfile
sk_expect "^$T:imported +" "the imported certificate '$T:imported'"
# (-h: without it certutil looks the name up after a login it has no PIN
# for, as the module is not marked FRIENDLY, i.e. certificates readable without login.)
sk_run certutil -L -d "$DB" -h "$T" -f pwfile -n "$T:imported" -a
cp "$SK_OUT" nss-imported.pem
sk_run openssl x509 -in nss-imported.pem -noout -fingerprint -sha256
fp_nss=$(cat "$SK_OUT")
sk_run openssl x509 -in imported.pem -noout -fingerprint -sha256
[ "$fp_nss" = "$(cat "$SK_OUT")" ] || sk_fail "NSS shows another certificate than the one written"
sk_run certutil -K -h "$T" -d "$DB" -f pwfile
sk_expect 'imported' "the imported private key in certutil -K"

# NSS makes a key pair on the token and signs a certificate with it.
sk_run certutil -S -d "$DB" -h "$T" -f pwfile -z noise -x -n nss-made \
	-s 'CN=sealkit NSS key generation test' -k ec -q nistp256 -t u,u,u -v 12
sk_run certutil -L -h all -d "$DB" -f pwfile
sk_expect "^$T:nss-made +" "the certificate NSS made on the token"
sk_run certutil -L -d "$DB" -h "$T" -f pwfile -n "$T:nss-made" -a
cp "$SK_OUT" nss-made.pem
sk_run openssl verify -check_ss_sig -CAfile nss-made.pem nss-made.pem
sk_expect ': OK$' "openssl's OK for the certificate NSS signed on the token"

echo "PASS"
