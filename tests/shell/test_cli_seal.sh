#!/bin/sh
# sealkit seal create|show|picture, stamp and verify: what they make verifies
# with --strict and openssl asn1parse reads it; corrupt seals and tampered
# documents exit 1 naming the failed check; other failures exit 2.
. "${top_srcdir:-.}/tests/shell/common.sh"
SK=${top_builddir:-.}/tools/sealkit
sk_need openssl python3
sk_setup
cd "$SK_TMP" || sk_fail "cd"

sk_cli_keys

sk_run "$SK" seal --help
sk_exit 2 "$SK" seal create --maker-key "$M" -o x.esl
sk_exit 2 "$SK" seal create --maker-key "$M" --maker-cert ca.pem --signer-cert signer.pem \
	--name N --type 1 --picture pic.png --size 40 --valid-from 2024-01-01 \
	--valid-to 2030-01-01 -o x.esl
sk_run "$SK" seal create --maker-key "$M" --maker-cert ca.pem --signer-cert signer.pem \
	--name "测试有限公司合同专用章" --type official --picture pic.png --size 40x40 \
	--valid-from 2024-01-01 --valid-to 2035-12-31T23:59:59Z --es-id CLI-0001 -o seal.esl
sk_run openssl asn1parse -inform DER -in seal.esl
sk_run "$SK" verify --strict --trust ca.pem seal.esl
sk_expect '✓ seal-maker-signature' "the maker signature check"
sk_expect '^VALID' "the verdict"
sk_run "$SK" seal show seal.esl
sk_expect 'CLI-0001' "the es-id"
sk_expect '测试有限公司合同专用章' "the name"
"$SK" seal show seal.esl --json >show.json || sk_fail "seal show --json"
python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["es_id"]=="CLI-0001" and d["picture"]["type"]=="PNG"' <show.json ||
	sk_fail "seal show --json does not parse or lacks fields"
sk_run "$SK" seal picture seal.esl -o out.png
cmp pic.png out.png || sk_fail "the picture came back changed"
sk_run "$SK" seal create --maker-key "$M" --maker-cert ca.pem --signer-cert signer.pem \
	--digest-list --name D --type 2 --picture pic.png --size 20x20 \
	--valid-from 2024-01-01 --valid-to 2035-01-01 -o digest.esl
sk_run "$SK" verify --strict digest.esl

printf 'a contract\n' >doc.txt
sk_exit 2 "$SK" stamp --seal seal.esl --key "$S" -o doc.sig
sk_exit 2 "$SK" stamp --seal seal.esl --key "$S" --in missing.txt -o doc.sig
sk_run "$SK" stamp --seal seal.esl --key "$S" --in doc.txt -o doc.sig
sk_run openssl asn1parse -inform DER -in doc.sig
sk_run "$SK" verify --strict --trust ca.pem --doc doc.txt doc.sig
sk_expect '✓ data-hash' "the data-hash check"
"$SK" verify --json --doc doc.txt doc.sig >v.json || sk_fail "verify --json"
python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["valid"] is True and d["kind"]=="stamp"' <v.json ||
	sk_fail "verify --json does not parse or says invalid"
# With the certificate given instead of the stored one.
sk_run "$SK" stamp --seal seal.esl --key "$S" --cert signer.pem --in doc.txt -o doc2.sig --pin "$SK_PIN"

# Wrong PIN: exit 2.
SEALKIT_PIN=00000000 sk_exit 2 "$SK" stamp --seal seal.esl --key "$S" --in doc.txt -o x.sig
sk_expect 'wrong PIN' "a wrong-PIN message"

# Tampered document: exit 1, naming data-hash.
printf 'a contract!\n' >tampered.txt
sk_exit 1 "$SK" verify --doc tampered.txt doc.sig
sk_expect '✗ data-hash' "the failed data-hash check"
sk_expect 'INVALID: failed: data-hash' "the verdict naming data-hash"
"$SK" verify --json --doc tampered.txt doc.sig >t.json
[ $? -eq 1 ] || sk_fail "verify --json of a tampered document must exit 1"
python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["valid"] is False' <t.json ||
	sk_fail "verify --json (tampered)"

# Corrupt seal: one byte of the name changed: exit 1 naming the maker signature.
python3 -c '
import sys
b = bytearray(open("seal.esl", "rb").read())
i = b.find("测试".encode())
b[i + 1] ^= 1
open("corrupt.esl", "wb").write(b)'
sk_exit 1 "$SK" verify corrupt.esl
sk_expect 'failed: seal-maker-signature' "the failed check"
# Garbage: exit 1 naming structure.
printf 'garbage' >garbage.esl
sk_exit 1 "$SK" verify garbage.esl
sk_expect '✗ structure' "the structure check"

# Missing files and usage errors: exit 2.
sk_exit 2 "$SK" verify missing.esl
sk_exit 2 "$SK" verify
sk_exit 2 "$SK" verify --bogus seal.esl
sk_exit 2 "$SK" verify --strict --lenient seal.esl
sk_exit 2 "$SK" seal show missing.esl
printf 'PK\003\004zip' >doc.ofd
sk_exit 2 "$SK" verify doc.ofd
sk_exit 2 "$SK" stamp --seal seal.esl --key "$S" --in doc.ofd -o x.ofd

# Signed OFD documents from other vendors (when the interop samples are there).
interop=${SEALKIT_INTEROP_DIR:-$top_srcdir/../shared/interop}
if [ -f "$interop/ofdrw/1.ofd" ]; then
	sk_exit 0 "$SK" verify "$interop/ofdrw/1.ofd"
	sk_expect 'VALID' "the OFD verdict"
	sk_exit 1 "$SK" verify "$interop/ofdrw/zsbk.ofd"
	sk_expect 'reference-digest' "the failed reference check"
	sk_exit 1 "$SK" verify --json "$interop/ofdrw/h.ofd"
	python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["kind"]=="ofd" and len(r["items"])==2 and not r["items"][0]["valid"] and r["items"][1]["valid"]' "$SK_OUT" ||
		sk_fail "verify --json of h.ofd: one invalid and one valid signature expected"
fi

# Seal imprints: PNG and SVG, usage errors.
if fc-list | grep -q 'WenQuanYi Zen Hei'; then
	sk_exit 0 "$SK" seal draw --name 测试有限公司 --code 1101080012345 --text 合同专用章 -o o.png
	head -c 8 o.png | od -An -tx1 | grep -q '89 50 4e 47' || { echo "seal draw: not a PNG"; exit 1; }
	sk_exit 0 "$SK" seal draw --name 王小明 --style personal --size 18 -o p.svg
	grep -q 'width="18mm"' p.svg || { echo "seal draw: SVG size"; exit 1; }
	sk_exit 2 "$SK" seal draw --name 王小明 --style round -o p.png
	sk_exit 2 "$SK" seal draw --name 王小明 -o p.jpg
	sk_exit 2 "$SK" seal draw -o p.png
fi
exit 0
