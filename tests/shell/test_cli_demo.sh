#!/bin/sh
# sealkit demo runs the whole job end to end and says where its files are.
. "${top_srcdir:-.}/tests/shell/common.sh"
SK=${top_builddir:-.}/tools/sealkit
sk_setup
sk_run "$SK" demo --help
sk_run "$SK" demo --dir "$SK_TMP/demo"
sk_expect 'seal .*seal.esl: VALID' "a valid seal"
sk_expect 'stamp .*contract.txt.sig: VALID' "a valid stamp"
sk_expect 'stamped OFD .*contract-stamped.ofd: VALID' "a valid stamped OFD document"
[ -s "$SK_TMP/demo/seal.esl" ] || sk_fail "no seal.esl"
sk_run "$SK" verify --strict --trust "$SK_TMP/demo/maker-ca.pem" --doc "$SK_TMP/demo/contract.txt" \
	"$SK_TMP/demo/contract.txt.sig"
sk_exit_demo=0
"$SK" demo --bogus >/dev/null 2>&1 || sk_exit_demo=$?
[ "$sk_exit_demo" -eq 2 ] || sk_fail "demo --bogus must exit 2"
exit 0
