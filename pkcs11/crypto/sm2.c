/* SM2 signatures and encryption, per spec/pkcs11-sm.md 1.5-1.6. One handler
 * for every vendor's variant: the SM2V_ bits say whether the token hashes
 * the message, with or without Z, and whether signatures and ciphertexts
 * are raw (r||s, C1||C3||C2 or C1||C2||C3) or DER. Z always uses an explicit user ID: OpenSSL 3.0
 * defaults to an empty one, which no other implementation accepts. */
#include "config.h"

#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "internal.h"

#define SM2_DEFAULT_ID "1234567812345678"
#define SM2_HALF 32
#define SM2_RAW_SIG 64
#define SM2_DER_SIG_MAX 72
#define SM2_C1 65
#define SM2_C3 32
/* ENTL is a 16-bit count of bits. */
#define SM2_ID_MAX 8191

static bool is_der(const crypto_op *op)
{
	return (op->variant & SM2V_DER) != 0;
}

/* A message-in mechanism whose Z (and so e) OpenSSL computes. */
static bool openssl_hashes(const crypto_op *op)
{
	return (op->variant & (SM2V_HASH | SM2V_Z)) == (SM2V_HASH | SM2V_Z);
}

static CK_RV pkey_op_init(crypto_op *op)
{
	int ok;

	switch (op->kind) {
	case OP_SIGN:
		ok = EVP_PKEY_sign_init(op->pctx);
		break;
	case OP_VERIFY:
		ok = EVP_PKEY_verify_init(op->pctx);
		break;
	case OP_ENCRYPT:
		ok = EVP_PKEY_encrypt_init(op->pctx);
		break;
	case OP_DECRYPT:
		ok = EVP_PKEY_decrypt_init(op->pctx);
		break;
	default:
		return CKR_MECHANISM_INVALID;
	}
	return ok > 0 ? CKR_OK : CKR_GENERAL_ERROR;
}

static CK_RV sm2_init(crypto_op *op, const CK_MECHANISM *mech)
{
	const sk_curve *c;
	const void *id = SM2_DEFAULT_ID;
	size_t id_len = sizeof(SM2_DEFAULT_ID) - 1;
	CK_RV rv;

	if (!param_none(mech)) {
		/* Our documented extension: pParameter is the signer's ID,
		 * for the mechanisms that compute Z. */
		if (!openssl_hashes(op) || mech->ulParameterLen > SM2_ID_MAX)
			return CKR_MECHANISM_PARAM_INVALID;
		id = mech->pParameter;
		id_len = mech->ulParameterLen;
	}
	rv = key_curve(op->key, &c);
	if (rv != CKR_OK)
		return rv == CKR_CURVE_NOT_SUPPORTED ? CKR_KEY_TYPE_INCONSISTENT : rv;
	if (!c->sm2)
		return CKR_KEY_TYPE_INCONSISTENT;
	rv = key_pkey(op->key, &op->pkey);
	if (rv != CKR_OK)
		return rv;
	op->pctx = EVP_PKEY_CTX_new_from_pkey(sk_libctx(), op->pkey, NULL);
	if (op->pctx == NULL)
		return CKR_HOST_MEMORY;
	op->out_size = is_der(op) ? SM2_DER_SIG_MAX : SM2_RAW_SIG;
	if (!(op->variant & SM2V_HASH))
		return pkey_op_init(op);

	if (sk_evp_md(MD_SM3) == NULL)
		return CKR_MECHANISM_INVALID;
	op->mdctx = EVP_MD_CTX_new();
	if (op->mdctx == NULL)
		return CKR_HOST_MEMORY;
	if (!openssl_hashes(op)) {
		/* e = SM3(M): a plain digest, then a signature on e. */
		if (EVP_DigestInit_ex(op->mdctx, sk_evp_md(MD_SM3), NULL) <= 0)
			return CKR_GENERAL_ERROR;
		return pkey_op_init(op);
	}
	int ok;
	if (EVP_PKEY_CTX_set1_id(op->pctx, id, id_len) <= 0)
		return CKR_GENERAL_ERROR;
	EVP_MD_CTX_set_pkey_ctx(op->mdctx, op->pctx);
	if (op->kind == OP_SIGN)
		ok = EVP_DigestSignInit_ex(op->mdctx, NULL, "SM3", sk_libctx(), NULL, op->pkey,
					   NULL);
	else
		ok = EVP_DigestVerifyInit_ex(op->mdctx, NULL, "SM3", sk_libctx(), NULL, op->pkey,
					     NULL);
	return ok > 0 ? CKR_OK : CKR_GENERAL_ERROR;
}

/* Hands out a signature computed once: DER signatures vary in length, so a
 * too-small buffer keeps the result for the retry. */
static CK_RV emit_der(crypto_op *op, const unsigned char *der, size_t der_len, CK_BYTE *out,
		      CK_ULONG *out_len)
{
	if (*out_len < der_len) {
		CK_RV rv = op_set_pending(op, der, der_len);

		*out_len = der_len;
		return rv == CKR_OK ? CKR_BUFFER_TOO_SMALL : rv;
	}
	memcpy(out, der, der_len);
	*out_len = der_len;
	op_clear_pending(op);
	return CKR_OK;
}

/* OpenSSL's DER signature in the mechanism's form. */
static CK_RV emit_sig(crypto_op *op, const unsigned char *der, size_t der_len, CK_BYTE *out,
		      CK_ULONG *out_len)
{
	if (is_der(op))
		return emit_der(op, der, der_len, out, out_len);
	CK_RV rv = sig_der_to_raw(der, der_len, out, SM2_HALF);
	if (rv == CKR_OK)
		*out_len = SM2_RAW_SIG;
	return rv;
}

static CK_RV sm2_update(crypto_op *op, const CK_BYTE *in, CK_ULONG in_len, CK_BYTE *out,
			CK_ULONG *out_len)
{
	int ok;

	if (!openssl_hashes(op))
		ok = EVP_DigestUpdate(op->mdctx, in, in_len);
	else if (op->kind == OP_SIGN)
		ok = EVP_DigestSignUpdate(op->mdctx, in, in_len);
	else
		ok = EVP_DigestVerifyUpdate(op->mdctx, in, in_len);
	return ok > 0 ? CKR_OK : CKR_GENERAL_ERROR;
}

/* Size checks that can be made before the signature exists: the raw form
 * has a fixed size; the DER form answers a query with its upper bound and
 * otherwise keeps a too-long result for the retry (emit_der). */
static CK_RV sig_out_check(crypto_op *op, CK_BYTE *out, CK_ULONG *out_len, bool *done)
{
	if (!is_der(op))
		return out_check(out, out_len, SM2_RAW_SIG, done);
	*done = out == NULL;
	if (*done)
		*out_len = SM2_DER_SIG_MAX;
	return CKR_OK;
}

/* e = SM3(M) of a mechanism without Z. */
static CK_RV digest_e(crypto_op *op, unsigned char e[SM2_HALF])
{
	unsigned int n = SM2_HALF;

	return EVP_DigestFinal_ex(op->mdctx, e, &n) > 0 && n == SM2_HALF ? CKR_OK
									 : CKR_GENERAL_ERROR;
}

static CK_RV sm2_final(crypto_op *op, CK_BYTE *out, CK_ULONG *out_len)
{
	unsigned char der[SM2_DER_SIG_MAX], e[SM2_HALF];
	size_t der_len = sizeof(der);
	bool done;
	CK_RV rv;

	if (op->pending_set)
		return out_copy(op->pending, op->pending_len, out, out_len);
	rv = sig_out_check(op, out, out_len, &done);
	if (done || rv != CKR_OK)
		return rv;
	if (openssl_hashes(op)) {
		if (EVP_DigestSignFinal(op->mdctx, der, &der_len) <= 0)
			return CKR_GENERAL_ERROR;
	} else {
		if ((rv = digest_e(op, e)) != CKR_OK)
			return rv;
		if (EVP_PKEY_sign(op->pctx, der, &der_len, e, sizeof e) <= 0)
			return CKR_GENERAL_ERROR;
	}
	return emit_sig(op, der, der_len, out, out_len);
}

/* A PKCS#11 signature as DER for OpenSSL: the caller's bytes, or a copy
 * converted into buf (SM2_DER_SIG_MAX bytes). */
static CK_RV sig_to_der(crypto_op *op, const CK_BYTE *sig, CK_ULONG sig_len,
			const unsigned char **der, size_t *der_len, unsigned char *buf)
{
	if (is_der(op)) {
		if (sig_len == 0 || sig_len > SM2_DER_SIG_MAX)
			return CKR_SIGNATURE_LEN_RANGE;
		*der = sig;
		*der_len = sig_len;
		return CKR_OK;
	}
	if (sig_len != SM2_RAW_SIG)
		return CKR_SIGNATURE_LEN_RANGE;
	*der = buf;
	return sig_raw_to_der(sig, SM2_HALF, buf, der_len);
}

/* The verdict of a message-in verification whose message is all in. */
static CK_RV verify_hashed(crypto_op *op, const unsigned char *der, size_t der_len)
{
	unsigned char e[SM2_HALF];
	CK_RV rv;

	if (openssl_hashes(op))
		return EVP_DigestVerifyFinal(op->mdctx, der, der_len) == 1 ? CKR_OK
									   : CKR_SIGNATURE_INVALID;
	if ((rv = digest_e(op, e)) != CKR_OK)
		return rv;
	return EVP_PKEY_verify(op->pctx, der, der_len, e, sizeof e) == 1 ? CKR_OK
									 : CKR_SIGNATURE_INVALID;
}

static CK_RV sm2_verify_final(crypto_op *op, const CK_BYTE *sig, CK_ULONG sig_len)
{
	const unsigned char *der;
	unsigned char buf[SM2_DER_SIG_MAX];
	size_t der_len;
	CK_RV rv = sig_to_der(op, sig, sig_len, &der, &der_len, buf);

	return rv == CKR_OK ? verify_hashed(op, der, der_len) : rv;
}

/* ---- digest in: e (32 bytes) in, r||s or DER out ---- */

static CK_RV sm2_raw_sign(crypto_op *op, const CK_BYTE *in, CK_ULONG in_len, CK_BYTE *out,
			  CK_ULONG *out_len)
{
	unsigned char der[SM2_DER_SIG_MAX];
	size_t der_len = sizeof(der);
	bool done;
	CK_RV rv;

	if (op->pending_set)
		return out_copy(op->pending, op->pending_len, out, out_len);
	if (in_len != SM2_HALF)
		return CKR_DATA_LEN_RANGE;
	rv = sig_out_check(op, out, out_len, &done);
	if (done || rv != CKR_OK)
		return rv;
	if (EVP_PKEY_sign(op->pctx, der, &der_len, in, in_len) <= 0)
		return CKR_GENERAL_ERROR;
	return emit_sig(op, der, der_len, out, out_len);
}

/* ---- encryption: OpenSSL speaks GM/T 0009 DER; encoding.c converts ---- */

static sm2_ct_layout layout(const crypto_op *op)
{
	return is_der(op) ? SM2_CT_DER : (op->variant & SM2V_C1C2C3) ? SM2_CT_C1C2C3 : SM2_CT_C1C3C2;
}

static CK_RV sm2_encrypt(crypto_op *op, const CK_BYTE *in, CK_ULONG in_len, CK_BYTE *out,
			 CK_ULONG *out_len)
{
	unsigned char *ct = NULL;
	size_t ct_len = 0;
	bool done;
	CK_RV rv;

	if (in_len == 0)
		return CKR_DATA_LEN_RANGE;
	if (op->pending_set)
		return out_copy(op->pending, op->pending_len, out, out_len);
	if (EVP_PKEY_encrypt(op->pctx, NULL, &ct_len, in, in_len) <= 0)
		return CKR_GENERAL_ERROR;
	/* Raw: exact size; DER: OpenSSL's upper bound for a query, and the
	 * result kept if it does not fit (the ciphertext is randomised). */
	if (!is_der(op)) {
		rv = out_check(out, out_len, SM2_C1 + SM2_C3 + in_len, &done);
		if (done || rv != CKR_OK)
			return rv;
	} else if (out == NULL) {
		*out_len = ct_len;
		return CKR_OK;
	}
	ct = OPENSSL_malloc(ct_len);
	if (ct == NULL)
		return CKR_HOST_MEMORY;
	rv = CKR_GENERAL_ERROR;
	if (EVP_PKEY_encrypt(op->pctx, ct, &ct_len, in, in_len) <= 0)
		goto out;
	if (is_der(op)) {
		rv = emit_der(op, ct, ct_len, out, out_len);
	} else {
		size_t n;
		rv = sm2_ct_convert(SM2_CT_DER, layout(op), ct, ct_len, out, *out_len, &n);
		if (rv == CKR_OK)
			*out_len = n;
		else
			rv = CKR_GENERAL_ERROR; /* OpenSSL's own output: cannot happen */
	}
out:
	OPENSSL_free(ct);
	return rv;
}

static CK_RV sm2_decrypt(crypto_op *op, const CK_BYTE *in, CK_ULONG in_len, CK_BYTE *out,
			 CK_ULONG *out_len)
{
	unsigned char *der = NULL, *pt = NULL;
	const unsigned char *src = in;
	size_t src_len = in_len, pt_len = 0;
	bool done;
	CK_RV rv;

	if (!is_der(op)) {
		if (in_len <= SM2_C1 + SM2_C3)
			return CKR_ENCRYPTED_DATA_LEN_RANGE;
		if (in[0] != 0x04)
			return CKR_ENCRYPTED_DATA_INVALID;
		rv = out_check(out, out_len, in_len - SM2_C1 - SM2_C3, &done);
		if (done || rv != CKR_OK)
			return rv;
		/* DER adds at most 20 bytes of headers (and loses none). */
		der = OPENSSL_malloc(in_len + 20);
		if (der == NULL)
			return CKR_HOST_MEMORY;
		rv = sm2_ct_convert(layout(op), SM2_CT_DER, in, in_len, der, in_len + 20, &src_len);
		if (rv != CKR_OK)
			goto out;
		src = der;
	} else if (in_len < 2 + SM2_C1 + SM2_C3) {
		return CKR_ENCRYPTED_DATA_LEN_RANGE;
	}
	rv = CKR_ENCRYPTED_DATA_INVALID;
	if (EVP_PKEY_decrypt(op->pctx, NULL, &pt_len, src, src_len) <= 0)
		goto out;
	pt = OPENSSL_malloc(pt_len ? pt_len : 1);
	if (pt == NULL) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	/* C3 mismatch (wrong key or tampering) fails here. */
	if (EVP_PKEY_decrypt(op->pctx, pt, &pt_len, src, src_len) <= 0)
		goto out;
	rv = out_copy(pt, pt_len, out, out_len);
out:
	if (pt)
		OPENSSL_clear_free(pt, pt_len);
	OPENSSL_free(der);
	return rv;
}

static CK_RV sm2_oneshot(crypto_op *op, const CK_BYTE *in, CK_ULONG in_len, CK_BYTE *out,
			 CK_ULONG *out_len)
{
	bool done;
	CK_RV rv;

	if (op->variant & SM2V_ENC)
		return op->kind == OP_ENCRYPT ? sm2_encrypt(op, in, in_len, out, out_len)
					      : sm2_decrypt(op, in, in_len, out, out_len);
	if (!(op->variant & SM2V_HASH))
		return sm2_raw_sign(op, in, in_len, out, out_len);
	if (op->pending_set)
		return out_copy(op->pending, op->pending_len, out, out_len);
	/* Check what we can before the message is consumed. */
	rv = sig_out_check(op, out, out_len, &done);
	if (done || rv != CKR_OK)
		return rv;
	rv = sm2_update(op, in, in_len, NULL, NULL);
	return rv == CKR_OK ? sm2_final(op, out, out_len) : rv;
}

static CK_RV sm2_verify(crypto_op *op, const CK_BYTE *data, CK_ULONG data_len, const CK_BYTE *sig,
			CK_ULONG sig_len)
{
	const unsigned char *der;
	unsigned char buf[SM2_DER_SIG_MAX];
	size_t der_len;
	CK_RV rv;

	/* The signature's form first: a malformed one is reported as such
	 * whatever the data. */
	rv = sig_to_der(op, sig, sig_len, &der, &der_len, buf);
	if (rv != CKR_OK)
		return rv;
	if (op->variant & SM2V_HASH) {
		rv = sm2_update(op, data, data_len, NULL, NULL);
		return rv == CKR_OK ? verify_hashed(op, der, der_len) : rv;
	}
	if (data_len != SM2_HALF)
		return CKR_DATA_LEN_RANGE;
	return EVP_PKEY_verify(op->pctx, der, der_len, data, data_len) == 1 ? CKR_OK
									    : CKR_SIGNATURE_INVALID;
}

const op_handler sm2_handler = {
	.init = sm2_init,
	.oneshot = sm2_oneshot,
	.update = sm2_update,
	.final = sm2_final,
	.verify = sm2_verify,
	.verify_final = sm2_verify_final,
};
