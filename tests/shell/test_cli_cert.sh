#!/bin/sh
# sealkit cert issue --ca-cert FILE --ca-key FILE: a CA whose private key is
# a file (made by openssl) certifies token keys; the certificates verify
# with openssl (SM2-with-SM3, ID 1234567812345678; ECDSA) and chain in
# sealkit verify --trust. Wrong, encrypted or missing CA keys exit 2.
. "${top_srcdir:-.}/tests/shell/common.sh"
SK=${top_builddir:-.}/tools/sealkit
sk_need openssl
sk_setup
cd "$SK_TMP" || sk_fail "cd"

export SEALKIT_PIN=$SK_PIN
sk_run "$SK" token init --label T --so-pin "$SK_SO_PIN"
sk_run "$SK" token keygen --token T --label maker
sk_run "$SK" token keygen --token T --label signer
sk_run "$SK" token keygen --token T --label ec --type ec-p256
M='pkcs11:token=T;object=maker;type=private'
S='pkcs11:token=T;object=signer;type=private'
E='pkcs11:token=T;object=ec;type=private'

# An SM2 CA in files, self-signed by openssl with the GB/T default ID.
sk_run openssl genpkey -algorithm SM2 -out ca.key
sk_run openssl req -x509 -new -key ca.key -sm3 -sigopt distid:1234567812345678 \
	-subj "/C=CN/O=CLI/CN=File CA" -days 30 \
	-addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.pem

sk_run "$SK" cert issue --help
sk_expect '--ca-key FILE' "--ca-key in the usage"
sk_run "$SK" cert issue --key "$M" --subject "/C=CN/O=CLI/CN=Maker" --days 30 \
	--ca-cert ca.pem --ca-key ca.key -o maker.pem
sk_run "$SK" cert issue --key "$S" --subject "/C=CN/O=CLI/CN=张三" --days 30 \
	--ca-cert ca.pem --ca-key ca.key -o signer.pem
sk_run openssl x509 -in signer.pem -noout -text
sk_expect 'Signature Algorithm: SM2-with-SM3' "an SM2-with-SM3 certificate"
sk_expect 'Issuer: C = CN, O = CLI, CN = File CA' "the CA as the issuer"
# OpenSSL 3.0 checks SM2 certificate signatures with an empty ID unless told
# the GB/T 32918 default one.
sk_run openssl verify -CAfile ca.pem -vfyopt distid:1234567812345678 maker.pem signer.pem
sk_expect 'signer.pem: OK' "openssl accepting the signature"

# The certificates chain to the file CA in sealkit verify --trust.
sk_run "$SK" token import --token T --label signer --cert signer.pem
printf '\211PNG\r\n\032\nnot really a picture' >pic.png
sk_run "$SK" seal create --maker-key "$M" --maker-cert maker.pem --signer-cert signer.pem \
	--name "文件CA测试章" --type official --picture pic.png --size 40x40 \
	--valid-from 2024-01-01 --valid-to 2035-12-31 -o seal.esl
echo "a document" >doc.txt
sk_run "$SK" stamp --seal seal.esl --key "$S" --in doc.txt -o doc.sig
sk_run "$SK" verify --strict --trust ca.pem --doc doc.txt doc.sig
sk_expect '✓ maker-cert-chain' "the maker chain to the file CA"
sk_expect '✓ signer-cert-chain' "the signer chain to the file CA"
sk_expect '^VALID' "the verdict"

# A P-256 CA key file signs ECDSA-with-SHA256.
sk_run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec-ca.key
sk_run openssl req -x509 -new -key ec-ca.key -sha256 -subj "/CN=EC CA" -days 30 \
	-addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" -out ec-ca.pem
sk_run "$SK" cert issue --key "$E" --subject "/CN=EC user" --days 30 \
	--ca-cert ec-ca.pem --ca-key ec-ca.key -o ec.pem
sk_run openssl verify -CAfile ec-ca.pem ec.pem
sk_run openssl x509 -in ec.pem -noout -text
sk_expect 'ecdsa-with-SHA256' "an ECDSA-with-SHA256 certificate"
# DER key files are read too.
sk_run openssl pkey -in ca.key -outform DER -out ca-key.der
sk_run "$SK" cert issue --key "$S" --subject "/CN=DER" --days 1 \
	--ca-cert ca.pem --ca-key ca-key.der -o der.pem
sk_run openssl verify -CAfile ca.pem -vfyopt distid:1234567812345678 der.pem

# Errors: exit 2 with a sentence saying what is wrong.
sk_exit 2 "$SK" cert issue --key "$S" --subject "/CN=x" --days 1 \
	--ca-cert ca.pem --ca-key ec-ca.key -o x.pem
sk_expect 'the CA key does not belong to the CA certificate' "a key/certificate mismatch"
sk_exit 2 "$SK" cert issue --key "$S" --subject "/CN=x" --days 1 \
	--ca-cert ca.pem --ca-key missing.key -o x.pem
sk_expect 'missing.key: cannot open' "the missing key file"
sk_exit 2 "$SK" cert issue --key "$S" --subject "/CN=x" --days 1 \
	--ca-cert ca.pem --ca-key doc.txt -o x.pem
sk_expect 'holds no private key' "a file that is no key"
sk_run openssl pkey -in ca.key -aes256 -passout pass:secret -out enc.key
sk_exit 2 "$SK" cert issue --key "$S" --subject "/CN=x" --days 1 \
	--ca-cert ca.pem --ca-key enc.key -o x.pem </dev/null
sk_expect 'encrypted' "an encrypted key refused"
# Usage errors.
sk_exit 2 "$SK" cert issue --key "$S" --subject "/CN=x" --days 1 --ca-cert ca.pem -o x.pem
sk_exit 2 "$SK" cert issue --key "$S" --subject "/CN=x" --days 1 --ca-cert ca.pem \
	--ca-key ca.key --ca-key-uri "$M" -o x.pem
sk_exit 2 "$SK" cert issue --key "$S" --subject "/CN=x" --days 1 --self-signed \
	--ca-key ca.key -o x.pem
[ ! -e x.pem ] || sk_fail "a failed cert issue left x.pem behind"
echo "PASS"
