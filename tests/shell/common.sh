# shellcheck shell=sh
# Shared setup for the shell tests with real PKCS#11 clients. Sourced, not run.
#
# sk_setup makes a private temporary token directory and a config file with
# fast PIN derivation, exports SEALKIT_TOKEN_DIR and SEALKIT_CONF for it, and
# removes it all on exit. Tests exit 0 (pass), 1 (fail) or 77 (skip).

SK_PIN=11223344
SK_SO_PIN=87654321

: "${SEALKIT_MODULE:=${top_builddir:-.}/.libs/sealkit-pkcs11.so}"

sk_fail() {
	echo "FAIL: $*" >&2
	exit 1
}

sk_skip() {
	echo "SKIP: $*"
	exit 77
}

# sk_need CMD...: skip the test when a client program is not installed.
sk_need() {
	for sk_cmd in "$@"; do
		command -v "$sk_cmd" >/dev/null 2>&1 || sk_skip "$sk_cmd is not installed"
	done
}

sk_setup() {
	case "$SEALKIT_MODULE" in
	/*) ;;
	*) SEALKIT_MODULE="$(pwd)/$SEALKIT_MODULE" ;;
	esac
	[ -f "$SEALKIT_MODULE" ] || sk_fail "the module is not built: $SEALKIT_MODULE"
	export SEALKIT_MODULE
	SK_TMP=$(mktemp -d "${TMPDIR:-/tmp}/sealkit-test.XXXXXX") || sk_fail "mktemp -d failed"
	trap 'rm -rf "$SK_TMP"' EXIT
	trap 'exit 1' HUP INT TERM
	mkdir "$SK_TMP/tokens" || sk_fail "mkdir $SK_TMP/tokens"
	printf 'pin_iterations = 1000\n' >"$SK_TMP/sealkit.conf"
	SEALKIT_TOKEN_DIR="$SK_TMP/tokens"
	SEALKIT_CONF="$SK_TMP/sealkit.conf"
	export SEALKIT_TOKEN_DIR SEALKIT_CONF
	SK_OUT="$SK_TMP/last-output"
	echo "module:    $SEALKIT_MODULE"
	echo "token dir: $SEALKIT_TOKEN_DIR"
}

# sk_run CMD...: run CMD with its output in $SK_OUT (also shown in the log);
# fail the test, naming the command, when it exits non-zero.
sk_run() {
	echo "+ $*"
	if "$@" >"$SK_OUT" 2>&1; then
		sk_rc=0
	else
		sk_rc=$?
	fi
	sed 's/^/    /' "$SK_OUT"
	[ "$sk_rc" -eq 0 ] || sk_fail "command failed (exit $sk_rc): $*"
}

# sk_run_fails CMD...: CMD must exit non-zero (negative checks).
sk_run_fails() {
	echo "+ (must fail) $*"
	if "$@" >"$SK_OUT" 2>&1; then
		sed 's/^/    /' "$SK_OUT"
		sk_fail "command succeeded but should have failed: $*"
	fi
	sed 's/^/    /' "$SK_OUT"
}

# sk_expect PATTERN WHAT: the last command's output must match the extended regex.
sk_expect() {
	grep -E -q -- "$1" "$SK_OUT" || sk_fail "expected $2 ('$1') in the output above"
}

# sk_reject PATTERN WHAT: the last command's output must not match.
sk_reject() {
	if grep -E -- "$1" "$SK_OUT" >/dev/null; then
		sk_fail "unexpected $2 ('$1') in the output above"
	fi
}

sk_p11() {
	sk_run pkcs11-tool --module "$SEALKIT_MODULE" "$@"
}

# sk_init_token LABEL: initialise the (only) free slot 0 of the empty token
# dir as LABEL with $SK_SO_PIN and set the user PIN to $SK_PIN.
sk_init_token() {
	sk_p11 --slot 0 --init-token --label "$1" --so-pin "$SK_SO_PIN"
	sk_p11 --token-label "$1" --login --login-type so --so-pin "$SK_SO_PIN" \
		--init-pin --pin "$SK_PIN"
}

# sk_read_pubkey LABEL ID OUT.pem: read the public key object with CKA_ID ID
# from token LABEL as DER SubjectPublicKeyInfo (pkcs11-tool --read-object) and
# convert it to PEM.
#
# pkcs11-tool 0.23 (Debian 12) has a bug of its own in --read-object for EC
# keys: it hands OpenSSL a freed copy of the point, so it fails with "cannot
# create EVP_PKEY" for some keys (seen with every P-384 key; the module's
# CKA_EC_POINT is correct DER). Then the key is assembled here from the
# CKA_EC_PARAMS and CKA_EC_POINT values that pkcs11-tool --list-objects prints.
sk_read_pubkey() {
	echo "+ pkcs11-tool --module $SEALKIT_MODULE --token-label $1 --read-object --type pubkey --id $2 -o $3.der"
	if pkcs11-tool --module "$SEALKIT_MODULE" --token-label "$1" --read-object \
		--type pubkey --id "$2" -o "$3.der" >"$SK_OUT" 2>&1; then
		sed 's/^/    /' "$SK_OUT"
		sk_run openssl pkey -pubin -inform DER -in "$3.der" -out "$3"
		return
	fi
	sed 's/^/    /' "$SK_OUT"
	grep -q 'cannot create EVP_PKEY' "$SK_OUT" ||
		sk_fail "pkcs11-tool --read-object --type pubkey --id $2 failed"
	echo "    (pkcs11-tool 0.23 --read-object bug for EC keys: building the key from the attributes)"
	sk_p11 --token-label "$1" --list-objects --type pubkey
	# Two words (point, params) appended to the arguments: split on purpose.
	# shellcheck disable=SC2046
	set -- "$1" "$2" "$3" $(awk -v id="$2" '
		/^[^ ]/ { point = ""; params = "" }
		/^  EC_POINT:/ { point = $2 }
		/^  EC_PARAMS:/ { params = $2 }
		/^  ID:/ && $2 == id { print point, params; exit }' "$SK_OUT")
	[ $# -eq 5 ] || sk_fail "no EC public key with ID $2 in the object list"
	case "$5" in
	06082a8648ce3d030107) sk_curve=prime256v1 ;;
	06052b81040022) sk_curve=secp384r1 ;;
	06052b81040023) sk_curve=secp521r1 ;;
	*) sk_fail "unexpected CKA_EC_PARAMS $5" ;;
	esac
	# CKA_EC_POINT is DER: OCTET STRING (04), length (one byte, or 81 + one byte), point.
	case "$4" in
	0481*) sk_point=${4#??????} ;;
	04*) sk_point=${4#????} ;;
	*) sk_fail "CKA_EC_POINT is not a DER OCTET STRING: $4" ;;
	esac
	cat >"$3.cnf" <<SK_EOF
asn1 = SEQUENCE:spki
[spki]
alg = SEQUENCE:alg
pub = FORMAT:HEX,BITSTRING:$sk_point
[alg]
oid = OID:id-ecPublicKey
curve = OID:$sk_curve
SK_EOF
	sk_run openssl asn1parse -genconf "$3.cnf" -out "$3.der" -noout
	sk_run openssl pkey -pubin -inform DER -in "$3.der" -out "$3"
}

# sk_exit WANT CMD...: runs CMD, shows its output (kept in $SK_OUT for
# sk_expect) and fails unless it exits WANT.
sk_exit() {
	want=$1
	shift
	echo "+ (exit $want) $*"
	if "$@" >"$SK_OUT" 2>&1; then rc=0; else rc=$?; fi
	sed 's/^/    /' "$SK_OUT"
	[ "$rc" -eq "$want" ] || sk_fail "exit $rc, expected $want: $*"
}

# sk_cli_keys: with the sealkit command in $SK, a token T holding SM2 keys
# "maker" (URI in $M) and "signer" ($S), a self-signed maker CA (ca.pem), the
# signer's certificate (signer.pem, also on the token) and a stand-in
# picture (pic.png), in the current directory. Sets SEALKIT_PIN.
sk_cli_keys() {
	export SEALKIT_PIN=$SK_PIN
	sk_run "$SK" token init --label T --so-pin "$SK_SO_PIN"
	sk_run "$SK" token keygen --token T --label maker
	sk_run "$SK" token keygen --token T --label signer
	M='pkcs11:token=T;object=maker;type=private'
	S='pkcs11:token=T;object=signer;type=private'
	sk_run "$SK" cert issue --key "$M" --subject "/C=CN/O=CLI/CN=Maker CA" --days 30 --self-signed -o ca.pem
	sk_run "$SK" cert issue --key "$S" --subject "/C=CN/O=CLI/CN=张三" --days 30 \
		--ca-cert ca.pem --ca-key-uri "$M" -o signer.pem
	sk_run "$SK" token import --token T --label signer --cert signer.pem
	printf '\211PNG\r\n\032\nnot really a picture' >pic.png
}
