#!/bin/sh
# sealkit token list|init|keygen|import|objects and cert issue: the happy
# path and the error exits (usage 2, wrong PIN 2, unknown token 2).
. "${top_srcdir:-.}/tests/shell/common.sh"
SK=${top_builddir:-.}/tools/sealkit
sk_setup
cd "$SK_TMP" || sk_fail "cd"

# sk_exit N CMD...: CMD must exit with status N.
sk_run "$SK" --help
sk_run "$SK" token --help
sk_expect 'token keygen' "the keygen usage"
sk_exit 2 "$SK" token
sk_exit 2 "$SK" token frobnicate
sk_exit 2 "$SK" token init --label X
sk_exit 2 "$SK" token keygen --token X --label k --type dsa
sk_exit 2 "$SK" nosuchcommand

sk_run "$SK" token list
sk_expect 'not initialised' "an uninitialised slot"
sk_run "$SK" token init --label "CLI Test" --so-pin "$SK_SO_PIN" --pin "$SK_PIN"
sk_run "$SK" token list
sk_expect "token: 'CLI Test'" "the new token"
sk_exit 2 "$SK" token init --label "CLI Test" --so-pin "$SK_SO_PIN" --pin "$SK_PIN"
sk_expect 'exists already' "a duplicate-label message"

sk_run "$SK" token keygen --token "CLI Test" --label maker --pin "$SK_PIN"
sk_expect '^pkcs11:token=CLI%20Test;object=maker;type=private$' "the key's URI"
SEALKIT_PIN=$SK_PIN sk_run "$SK" token keygen --token "CLI Test" --label signer --id 0102
sk_run "$SK" token keygen --token "CLI Test" --label ec --type ec-p256 --pin "$SK_PIN"

# Unknown token: exit 2 naming the tokens present.
sk_exit 2 "$SK" token keygen --token Nope --label x --pin "$SK_PIN"
sk_expect "no token labelled 'Nope'; tokens present: 'CLI Test'" "the tokens present"
# Wrong PIN: exit 2, a clear message.
sk_exit 2 "$SK" token keygen --token "CLI Test" --label y --pin 99999999
sk_expect 'wrong PIN' "a wrong-PIN message"

M='pkcs11:token=CLI%20Test;object=maker;type=private'
S='pkcs11:token=CLI%20Test;object=signer;type=private'
export SEALKIT_PIN=$SK_PIN
sk_run "$SK" cert issue --key "$M" --subject "/C=CN/O=CLI/CN=CA" --days 10 --self-signed -o ca.pem
sk_run openssl x509 -in ca.pem -noout -subject
sk_run "$SK" cert issue --key "$S" --subject "/C=CN/O=CLI/CN=Signer" --days 10 \
	--ca-cert ca.pem --ca-key-uri "$M" -o signer.pem
sk_exit 2 "$SK" cert issue --key "$S" --subject "/CN=x" --days 10 -o x.pem
sk_exit 2 "$SK" cert issue --key "$S" --subject "/CN=x" --days 10 --ca-cert missing.pem \
	--ca-key-uri "$M" -o x.pem

sk_run "$SK" token import --token "CLI Test" --label signer --cert signer.pem
sk_run "$SK" token objects --token "CLI Test"
sk_expect "certificate +label 'signer' id 0102" "the certificate next to its key"
sk_expect "private-key +sm2 +label 'maker'" "the private key (logged in)"
unset SEALKIT_PIN
sk_run "$SK" token objects --token "CLI Test" </dev/null
sk_reject 'private-key' "private keys without login"
exit 0
