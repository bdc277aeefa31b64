#!/bin/sh
# SoftHSMv2 behind sealkit-pkcs11.so (SEALKIT_PROXY_MODULE) with the module
# loaders of test_p11kit.sh and test_nss.sh: `p11-kit list-modules`, with a
# .module file for the built module, shows SoftHSM's token among sealkit's;
# NSS (modutil -add into a new database, with module parameters) lists the
# proxied token, makes an EC P-256 key pair and a self-signed certificate on
# it (certutil -S), which openssl verifies, and a certificate request
# (certutil -R) with an RSA 2048 key made there too; SoftHSM lists the keys
# and certificate NSS made as its own. Exit 0 pass, 1 fail, 77 skip.
set -eu
. "$(dirname "$0")/common.sh"

SOFTHSM=/usr/lib/softhsm/libsofthsm2.so
sk_need softhsm2-util p11-kit modutil certutil pkcs11-tool openssl
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

# 1. p11-kit list-modules with only our module configured (as in
# test_p11kit.sh: p11-kit ignores user configuration for root, so as root the
# listing runs as nobody, on a copy of the module and files nobody can read).
home="$SK_TMP/home"
conf="$home/.config/pkcs11"
mkdir -p "$conf/modules" || sk_fail "mkdir $conf/modules"
printf 'user-config: only\n' >"$conf/pkcs11.conf"
run_as=
if [ "$(id -u)" -eq 0 ]; then
	command -v setpriv >/dev/null 2>&1 || sk_skip "running as root and setpriv (util-linux) is missing"
	run_as="setpriv --reuid=65534 --regid=65534 --clear-groups"
	$run_as true || sk_skip "running as root and cannot switch to uid 65534 with setpriv"
fi
module_path=$SEALKIT_MODULE
if [ -n "$run_as" ] && ! $run_as test -r "$module_path"; then
	mkdir "$SK_TMP/lib"
	cp "$SEALKIT_MODULE" "$SK_TMP/lib/sealkit-pkcs11.so"
	module_path="$SK_TMP/lib/sealkit-pkcs11.so"
fi
printf 'module: %s\n' "$module_path" >"$conf/modules/sealkit.module"
if [ -n "$run_as" ]; then
	chown -R 65534:65534 "$SK_TMP"
	chmod 755 "$SK_TMP"
fi
# $run_as is empty or a command and its options: split on purpose.
# shellcheck disable=SC2086
sk_run $run_as env HOME="$home" XDG_CONFIG_HOME="$home/.config" p11-kit list-modules
sk_expect "^sealkit: $module_path\$" "the module 'sealkit' with its path"
sk_expect 'library-manufacturer: sealkit' "sealkit as library manufacturer"
sk_expect "token: $T\$" "SoftHSM's token '$T' under sealkit"
sk_expect 'manufacturer: SoftHSM project' "SoftHSM as the token's manufacturer"
sk_expect 'model: soft token$' "sealkit's own (free) soft token slot next to it"
sk_reject '^p11-kit-trust:' "a system module despite 'user-config: only'"
sk_reject '^softhsm' "SoftHSM as a module of its own"
if [ -n "$run_as" ]; then
	chown -R 0:0 "$SK_TMP"
	chmod 700 "$SK_TMP"
fi

# 2. NSS: the proxied token in a new database. NSS hands the module's
# parameters to C_Initialize (pReserved), where sealkit reads them as
# settings over the file and the environment: a valid one here, which must
# not keep the proxy from starting.
DB=sql:$SK_TMP/nssdb
mkdir nssdb
printf '%s\n' "$SK_PIN" >pwfile
head -c 64 /dev/urandom >noise
sk_run modutil -dbdir "$DB" -create -force
sk_run modutil -dbdir "$DB" -add sealkit -libfile "$SEALKIT_MODULE" \
	-string 'pin_iterations = 1000' -force
sk_run modutil -dbdir "$DB" -list
sk_expect '^ *[0-9]+\. sealkit$' "the module 'sealkit'"
sk_expect "token: $T\$" "SoftHSM's token '$T' under sealkit"
sk_run modutil -dbdir "$DB" -list sealkit
sk_expect "Token Name: $T *\$" "the proxied token's name in the module details"
sk_expect 'Token Manufacturer: SoftHSM project' "SoftHSM as the token's manufacturer"

sk_run certutil -L -h "$T" -d "$DB" -f pwfile
sk_reject "^$T:" "a certificate on the new token"

# NSS makes an EC key pair on the proxied token and signs a certificate.
sk_run certutil -S -d "$DB" -h "$T" -f pwfile -z noise -x -n nss-ec \
	-s 'CN=sealkit proxy NSS EC test' -k ec -q nistp256 -t u,u,u -v 12
sk_run certutil -L -h "$T" -d "$DB" -f pwfile
sk_expect "^$T:nss-ec +" "the certificate NSS made on the proxied token"
sk_run certutil -L -d "$DB" -h "$T" -f pwfile -n "$T:nss-ec" -a
cp "$SK_OUT" nss-ec.pem
sk_run openssl verify -check_ss_sig -CAfile nss-ec.pem nss-ec.pem
sk_expect ': OK$' "openssl's OK for the certificate NSS signed on the proxied token"
sk_run certutil -K -h "$T" -d "$DB" -f pwfile
sk_expect '<[ 0-9]+> ec +[0-9a-f]+ +.*nss-ec' "the EC private key in certutil -K"
ec_id=$(sed -n 's/^<[ 0-9]*> ec  *\([0-9a-f][0-9a-f]*\) .*/\1/p' "$SK_OUT")

# An RSA key and a certificate request, signed on the proxied token.
sk_run certutil -R -d "$DB" -h "$T" -f pwfile -z noise -k rsa -g 2048 \
	-s 'CN=sealkit proxy NSS RSA test' -a -o nss-rsa.csr
sk_run openssl req -in nss-rsa.csr -noout -verify -subject
sk_expect 'verify OK|Certificate request self-signature verify OK' "openssl's OK for the request"
sk_expect 'sealkit proxy NSS RSA test' "the request's subject"
sk_run certutil -K -h "$T" -d "$DB" -f pwfile
sk_expect '<[ 0-9]+> rsa +[0-9a-f]+ ' "the RSA private key in certutil -K"
rsa_id=$(sed -n 's/^<[ 0-9]*> rsa  *\([0-9a-f][0-9a-f]*\) .*/\1/p' "$SK_OUT")
if [ -z "$ec_id" ] || [ -z "$rsa_id" ]; then
	sk_fail "no key IDs in certutil -K"
fi

# The objects are SoftHSM's: it lists them itself.
sk_run pkcs11-tool --module "$SOFTHSM" --token-label "$T" --login --pin "$SK_PIN" --list-objects
sk_expect '^Private Key Object; EC' "NSS's EC private key in SoftHSM's own list"
sk_expect '^Private Key Object; RSA' "NSS's RSA private key in SoftHSM's own list"
sk_expect '^Certificate Object' "NSS's certificate in SoftHSM's own list"
sk_expect 'label: +nss-ec' "the certificate's nickname as its label"
sk_expect "ID: +$ec_id\$" "the EC key's ID that NSS showed"
sk_expect "ID: +$rsa_id\$" "the RSA key's ID that NSS showed"
# The request carries the public half of SoftHSM's RSA key.
sk_run pkcs11-tool --module "$SOFTHSM" --token-label "$T" --read-object --type pubkey \
	--id "$rsa_id" -o rsa.der
sk_run openssl pkey -pubin -inform DER -in rsa.der -out rsa-softhsm.pem
sk_run openssl req -in nss-rsa.csr -noout -pubkey
cmp -s "$SK_OUT" rsa-softhsm.pem || sk_fail "the request's public key is not SoftHSM's RSA key $rsa_id"

echo "PASS"
