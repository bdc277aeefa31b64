#!/bin/sh
# sealkit stamp on OFD documents: the result verifies (strictly, with the
# earlier signatures of a real sample still valid), a second stamp adds a
# second valid signature, the input never changes, and a wrong PIN, a bad
# page or a hostile package exits 2 without writing anything.
. "${top_srcdir:-.}/tests/shell/common.sh"
SK=${top_builddir:-.}/tools/sealkit
INTEROP=${SEALKIT_INTEROP_DIR:-${top_srcdir:-.}/../shared/interop}
sk_need python3 sha256sum
sk_setup
cd "$SK_TMP" || sk_fail "cd"

sk_cli_keys
sk_run "$SK" seal create --maker-key "$M" --maker-cert ca.pem --signer-cert signer.pem \
	--name "测试有限公司合同专用章" --type official --picture pic.png --size 40x40 \
	--valid-from 2024-01-01 --valid-to 2035-12-31 -o seal.esl

# An unsigned document: the interop sample, else the demo's own.
if [ -f "$INTEROP/unsigned/hello.ofd" ]; then
	cp "$INTEROP/unsigned/hello.ofd" hello.ofd
else
	sk_run "$SK" demo --dir demo
	cp demo/contract.ofd hello.ofd
fi
before=$(sha256sum hello.ofd)
sk_run "$SK" stamp --seal seal.esl --key "$S" --in hello.ofd -o one.ofd
sk_expect 'one more seal signature' "the summary"
[ "$(sha256sum hello.ofd)" = "$before" ] || sk_fail "the input changed"
sk_run "$SK" verify --strict --trust ca.pem one.ofd
sk_expect '^VALID' "the verdict"
sk_run "$SK" stamp --seal seal.esl --key "$S" --in one.ofd -o two.ofd --page 1 --at 20,30
sk_run "$SK" verify --strict --trust ca.pem --json two.ofd
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["valid"] and d["kind"] == "ofd" and len(d["items"]) == 2, d
' "$SK_OUT" || sk_fail "two valid signatures expected"
unzip -p two.ofd Doc_0/Signs/Sign_1/Signature.xml >sig.xml 2>/dev/null ||
	python3 -c 'import zipfile,sys; sys.stdout.write(zipfile.ZipFile("two.ofd").read("Doc_0/Signs/Sign_1/Signature.xml").decode())' >sig.xml
grep -q 'Boundary="20 30 40 40"' sig.xml || sk_fail "the stamp is not at 20,30"

# A real signed sample: its signature stays valid next to ours.
if [ -f "$INTEROP/ofdrw/1.ofd" ]; then
	sk_run "$SK" stamp --seal seal.esl --key "$S" --in "$INTEROP/ofdrw/1.ofd" -o real.ofd
	sk_run "$SK" verify --json real.ofd
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["valid"] and len(d["items"]) == 2, d
' "$SK_OUT" || sk_fail "the sample's signature and ours must both be valid"
fi

# Failures: exit 2, no output.
SEALKIT_PIN=99999999 sk_exit 2 "$SK" stamp --seal seal.esl --key "$S" --in hello.ofd -o bad.ofd
[ -e bad.ofd ] && sk_fail "a wrong PIN left an output"
sk_exit 2 "$SK" stamp --seal seal.esl --key "$S" --in hello.ofd -o bad.ofd --page 7
sk_expect 'no page 7' "the page error"
[ -e bad.ofd ] && sk_fail "a bad page left an output"
sk_exit 2 "$SK" stamp --seal seal.esl --key "$S" --in hello.ofd -o bad.ofd --at 900,10
[ -e bad.ofd ] && sk_fail "a bad position left an output"
python3 -c '
import zipfile
z = zipfile.ZipFile("evil.ofd", "w")
z.writestr("OFD.xml", "<ofd:OFD xmlns:ofd=\"http://www.ofdspec.org/2016\"><ofd:DocBody><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>")
z.writestr("../../escaped.txt", "gotcha")
z.close()
' || sk_fail "cannot make evil.ofd"
sk_exit 2 "$SK" stamp --seal seal.esl --key "$S" --in evil.ofd -o bad.ofd
sk_expect 'outside the package' "the hostile package error"
[ -e bad.ofd ] && sk_fail "a hostile package left an output"
[ -e ../escaped.txt ] && sk_fail "a file was written outside"
ls -a | grep -q '\.tmp-' && sk_fail "a temporary file was left behind"
exit 0
