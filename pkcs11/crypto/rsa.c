/* RSA: PKCS#1 v1.5 (raw and hash-and-sign), X.509 raw, PSS, OAEP, and
 * sign/verify recover, all through one EVP_PKEY_CTX per operation. */
#include "config.h"

#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "internal.h"

static CK_RV pss_params(crypto_op *op, const CK_MECHANISM *mech)
{
	const CK_RSA_PKCS_PSS_PARAMS *p = mech->pParameter;
	sk_md h, m;
	size_t em_len, hlen;
	CK_ULONG bits;

	if (p == NULL || mech->ulParameterLen != sizeof(*p))
		return CKR_MECHANISM_PARAM_INVALID;
	h = md_from_mech(p->hashAlg);
	m = md_from_mgf(p->mgf);
	if (h == MD_NONE || h == MD_SM3 || m == MD_NONE)
		return CKR_MECHANISM_PARAM_INVALID;
	/* The hash-and-sign variants fix the hash. */
	if (op->def->md != MD_NONE && op->def->md != h)
		return CKR_MECHANISM_PARAM_INVALID;
	op->hash = sk_evp_md(h);
	op->mgf1 = sk_evp_md(m);
	hlen = (size_t)EVP_MD_get_size(op->hash);
	if (key_size(op->key, &bits) != CKR_OK)
		return CKR_GENERAL_ERROR;
	em_len = (bits - 1 + 7) / 8;
	if (em_len < hlen + 2 || p->sLen > em_len - hlen - 2)
		return CKR_MECHANISM_PARAM_INVALID;
	op->salt_len = (int)p->sLen;
	return CKR_OK;
}

static CK_RV oaep_params(crypto_op *op, const CK_MECHANISM *mech)
{
	const CK_RSA_PKCS_OAEP_PARAMS *p = mech->pParameter;
	sk_md h, m;

	if (p == NULL || mech->ulParameterLen != sizeof(*p))
		return CKR_MECHANISM_PARAM_INVALID;
	h = md_from_mech(p->hashAlg);
	m = md_from_mgf(p->mgf);
	if (h == MD_NONE || h == MD_SM3 || m == MD_NONE)
		return CKR_MECHANISM_PARAM_INVALID;
	if (p->source != CKZ_DATA_SPECIFIED && !(p->source == 0 && p->ulSourceDataLen == 0))
		return CKR_MECHANISM_PARAM_INVALID;
	if (p->ulSourceDataLen != 0 && p->pSourceData == NULL)
		return CKR_MECHANISM_PARAM_INVALID;
	op->hash = sk_evp_md(h);
	op->mgf1 = sk_evp_md(m);
	if (p->ulSourceDataLen) {
		op->label = OPENSSL_memdup(p->pSourceData, p->ulSourceDataLen);
		if (op->label == NULL)
			return CKR_HOST_MEMORY;
		op->label_len = p->ulSourceDataLen;
	}
	return CKR_OK;
}

static CK_RV ctx_setup(crypto_op *op)
{
	EVP_PKEY_CTX *c = op->pctx;
	int ok;

	switch (op->kind) {
	case OP_SIGN:
	case OP_SIGN_RECOVER:
		ok = EVP_PKEY_sign_init(c);
		break;
	case OP_VERIFY:
		/* X.509 verification recovers and compares itself. */
		ok = op->variant == RSAV_X509 ? EVP_PKEY_verify_recover_init(c)
					      : EVP_PKEY_verify_init(c);
		break;
	case OP_VERIFY_RECOVER:
		ok = EVP_PKEY_verify_recover_init(c);
		break;
	case OP_ENCRYPT:
		ok = EVP_PKEY_encrypt_init(c);
		break;
	case OP_DECRYPT:
		ok = EVP_PKEY_decrypt_init(c);
		break;
	default:
		return CKR_MECHANISM_INVALID;
	}
	if (ok <= 0)
		return CKR_GENERAL_ERROR;

	switch (op->variant) {
	case RSAV_PKCS:
		ok = EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) > 0;
		if (ok && op->def->md != MD_NONE)
			ok = EVP_PKEY_CTX_set_signature_md(c, sk_evp_md(op->def->md)) > 0;
		break;
	case RSAV_X509:
		ok = EVP_PKEY_CTX_set_rsa_padding(c, RSA_NO_PADDING) > 0;
		break;
	case RSAV_PSS:
		ok = EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PSS_PADDING) > 0 &&
		     EVP_PKEY_CTX_set_signature_md(c, op->hash) > 0 &&
		     EVP_PKEY_CTX_set_rsa_mgf1_md(c, op->mgf1) > 0 &&
		     EVP_PKEY_CTX_set_rsa_pss_saltlen(c, op->salt_len) > 0;
		break;
	case RSAV_OAEP:
		ok = EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) > 0 &&
		     EVP_PKEY_CTX_set_rsa_oaep_md(c, op->hash) > 0 &&
		     EVP_PKEY_CTX_set_rsa_mgf1_md(c, op->mgf1) > 0;
		if (ok && op->label_len) {
			/* The context takes ownership of its own copy. */
			void *l = OPENSSL_memdup(op->label, op->label_len);
			ok = l != NULL && EVP_PKEY_CTX_set0_rsa_oaep_label(c, l, (int)op->label_len) > 0;
			if (!ok)
				OPENSSL_free(l);
		}
		break;
	default:
		ok = 0;
	}
	return ok ? CKR_OK : CKR_GENERAL_ERROR;
}

static CK_RV rsa_init(crypto_op *op, const CK_MECHANISM *mech)
{
	CK_RV rv;

	switch (op->variant) {
	case RSAV_PSS:
		rv = pss_params(op, mech);
		break;
	case RSAV_OAEP:
		rv = oaep_params(op, mech);
		break;
	default:
		rv = param_none(mech) ? CKR_OK : CKR_MECHANISM_PARAM_INVALID;
	}
	if (rv != CKR_OK)
		return rv;
	rv = key_pkey(op->key, &op->pkey);
	if (rv != CKR_OK)
		return rv;
	op->key_bytes = (size_t)EVP_PKEY_get_size(op->pkey);
	op->out_size = op->key_bytes;
	op->pctx = EVP_PKEY_CTX_new_from_pkey(sk_libctx(), op->pkey, NULL);
	if (op->pctx == NULL)
		return CKR_HOST_MEMORY;
	rv = ctx_setup(op);
	if (rv != CKR_OK)
		return rv;
	if (op->def->md != MD_NONE) {
		op->mdctx = EVP_MD_CTX_new();
		if (op->mdctx == NULL)
			return CKR_HOST_MEMORY;
		if (!EVP_DigestInit_ex2(op->mdctx, sk_evp_md(op->def->md), NULL))
			return CKR_GENERAL_ERROR;
	}
	return CKR_OK;
}

/* Largest input the padding allows for signing/encryption. */
static size_t max_input(const crypto_op *op)
{
	size_t k = op->key_bytes, h;

	switch (op->variant) {
	case RSAV_PKCS:
		return k > 11 ? k - 11 : 0;
	case RSAV_OAEP:
		h = (size_t)EVP_MD_get_size(op->hash);
		return k > 2 * h + 2 ? k - 2 * h - 2 : 0;
	default:
		return k;
	}
}

/* X.509 raw input is left-padded with zeros to the modulus length. */
static void left_pad(const CK_BYTE *in, size_t in_len, unsigned char *out, size_t k)
{
	memset(out, 0, k - in_len);
	memcpy(out + k - in_len, in, in_len);
}

/* The private-key operation on a prepared input; out holds key_bytes. */
static CK_RV rsa_sign_input(crypto_op *op, const unsigned char *in, size_t in_len, CK_BYTE *out,
			    CK_ULONG *out_len)
{
	unsigned char padded[2048];
	size_t n = op->key_bytes;

	if (op->variant == RSAV_X509) {
		if (in_len > op->key_bytes || op->key_bytes > sizeof(padded))
			return CKR_DATA_LEN_RANGE;
		left_pad(in, in_len, padded, op->key_bytes);
		in = padded;
		in_len = op->key_bytes;
	}
	if (EVP_PKEY_sign(op->pctx, out, &n, in, in_len) <= 0)
		/* For raw RSA the only input it rejects is one >= n. */
		return op->variant == RSAV_X509 ? CKR_DATA_INVALID : CKR_GENERAL_ERROR;
	*out_len = n;
	return CKR_OK;
}

static CK_RV check_sign_input(const crypto_op *op, size_t in_len)
{
	if (op->mdctx != NULL)
		return CKR_OK;
	if (op->variant == RSAV_PSS)
		return in_len == (size_t)EVP_MD_get_size(op->hash) ? CKR_OK : CKR_DATA_LEN_RANGE;
	return in_len <= max_input(op) ? CKR_OK : CKR_DATA_LEN_RANGE;
}

static CK_RV rsa_encrypt(crypto_op *op, const CK_BYTE *in, CK_ULONG in_len, CK_BYTE *out,
			 CK_ULONG *out_len)
{
	unsigned char padded[2048];
	size_t n = op->key_bytes;
	bool done;
	CK_RV rv;

	if (in_len > max_input(op))
		return CKR_DATA_LEN_RANGE;
	rv = out_check(out, out_len, op->key_bytes, &done);
	if (done || rv != CKR_OK)
		return rv;
	if (op->variant == RSAV_X509) {
		if (op->key_bytes > sizeof(padded))
			return CKR_DATA_LEN_RANGE;
		left_pad(in, in_len, padded, op->key_bytes);
		in = padded;
		in_len = op->key_bytes;
	}
	if (EVP_PKEY_encrypt(op->pctx, out, &n, in, in_len) <= 0)
		return op->variant == RSAV_X509 ? CKR_DATA_INVALID : CKR_GENERAL_ERROR;
	*out_len = n;
	return CKR_OK;
}

/* Decrypt and verify-recover: the exact output length is only known after
 * the operation, which is deterministic, so a too-small buffer just means
 * doing it again on the retry. */
static CK_RV rsa_recover(crypto_op *op, const CK_BYTE *in, CK_ULONG in_len, CK_BYTE *out,
			 CK_ULONG *out_len)
{
	unsigned char buf[2048];
	size_t n = sizeof(buf);
	bool done;
	CK_RV rv;
	bool dec = op->kind == OP_DECRYPT;

	if (in_len != op->key_bytes)
		return dec ? CKR_ENCRYPTED_DATA_LEN_RANGE : CKR_SIGNATURE_LEN_RANGE;
	if (op->variant == RSAV_X509) {
		rv = out_check(out, out_len, op->key_bytes, &done);
		if (done || rv != CKR_OK)
			return rv;
	} else if (out == NULL) {
		*out_len = max_input(op);
		return CKR_OK;
	}
	if ((dec ? EVP_PKEY_decrypt(op->pctx, buf, &n, in, in_len)
		 : EVP_PKEY_verify_recover(op->pctx, buf, &n, in, in_len)) <= 0) {
		rv = dec ? CKR_ENCRYPTED_DATA_INVALID : CKR_SIGNATURE_INVALID;
		goto out;
	}
	/* Raw RSA keeps the leading zeros: the output is always k bytes. */
	if (op->variant == RSAV_X509 && n < op->key_bytes) {
		memmove(buf + op->key_bytes - n, buf, n);
		memset(buf, 0, op->key_bytes - n);
		n = op->key_bytes;
	}
	rv = out_copy(buf, n, out, out_len);
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	return rv;
}

static CK_RV rsa_oneshot(crypto_op *op, const CK_BYTE *in, CK_ULONG in_len, CK_BYTE *out,
			 CK_ULONG *out_len)
{
	bool done;
	CK_RV rv;

	switch (op->kind) {
	case OP_ENCRYPT:
		return rsa_encrypt(op, in, in_len, out, out_len);
	case OP_DECRYPT:
	case OP_VERIFY_RECOVER:
		return rsa_recover(op, in, in_len, out, out_len);
	default:
		break;
	}
	rv = check_sign_input(op, in_len);
	if (rv != CKR_OK)
		return rv;
	rv = out_check(out, out_len, op->key_bytes, &done);
	if (done || rv != CKR_OK)
		return rv;
	if (op->mdctx != NULL) {
		unsigned char hash[EVP_MAX_MD_SIZE];
		unsigned int hash_len;

		if (!EVP_DigestUpdate(op->mdctx, in, in_len) ||
		    !EVP_DigestFinal_ex(op->mdctx, hash, &hash_len))
			return CKR_GENERAL_ERROR;
		return rsa_sign_input(op, hash, hash_len, out, out_len);
	}
	return rsa_sign_input(op, in, in_len, out, out_len);
}

static CK_RV rsa_update(crypto_op *op, const CK_BYTE *in, CK_ULONG in_len, CK_BYTE *out,
			CK_ULONG *out_len)
{
	return EVP_DigestUpdate(op->mdctx, in, in_len) ? CKR_OK : CKR_GENERAL_ERROR;
}

static CK_RV rsa_final(crypto_op *op, CK_BYTE *out, CK_ULONG *out_len)
{
	unsigned char hash[EVP_MAX_MD_SIZE];
	unsigned int hash_len;
	bool done;
	CK_RV rv = out_check(out, out_len, op->key_bytes, &done);

	if (done || rv != CKR_OK)
		return rv;
	if (!EVP_DigestFinal_ex(op->mdctx, hash, &hash_len))
		return CKR_GENERAL_ERROR;
	return rsa_sign_input(op, hash, hash_len, out, out_len);
}

static CK_RV verify_input(crypto_op *op, const unsigned char *in, size_t in_len, const CK_BYTE *sig,
			  CK_ULONG sig_len)
{
	unsigned char rec[2048], padded[2048];
	size_t n = sizeof(rec);
	CK_RV rv;

	if (op->variant != RSAV_X509)
		return EVP_PKEY_verify(op->pctx, sig, sig_len, in, in_len) == 1
			       ? CKR_OK
			       : CKR_SIGNATURE_INVALID;
	if (in_len > op->key_bytes || op->key_bytes > sizeof(padded))
		return CKR_DATA_LEN_RANGE;
	left_pad(in, in_len, padded, op->key_bytes);
	if (EVP_PKEY_verify_recover(op->pctx, rec, &n, sig, sig_len) <= 0 || n > op->key_bytes)
		return CKR_SIGNATURE_INVALID;
	if (n < op->key_bytes) {
		memmove(rec + op->key_bytes - n, rec, n);
		memset(rec, 0, op->key_bytes - n);
	}
	rv = CRYPTO_memcmp(rec, padded, op->key_bytes) == 0 ? CKR_OK : CKR_SIGNATURE_INVALID;
	return rv;
}

static CK_RV rsa_verify(crypto_op *op, const CK_BYTE *data, CK_ULONG data_len, const CK_BYTE *sig,
			CK_ULONG sig_len)
{
	unsigned char hash[EVP_MAX_MD_SIZE];
	unsigned int hash_len;

	if (sig_len != op->key_bytes)
		return CKR_SIGNATURE_LEN_RANGE;
	if (op->mdctx == NULL) {
		CK_RV rv = check_sign_input(op, data_len);

		return rv == CKR_OK ? verify_input(op, data, data_len, sig, sig_len) : rv;
	}
	if (!EVP_DigestUpdate(op->mdctx, data, data_len) ||
	    !EVP_DigestFinal_ex(op->mdctx, hash, &hash_len))
		return CKR_GENERAL_ERROR;
	return verify_input(op, hash, hash_len, sig, sig_len);
}

static CK_RV rsa_verify_final(crypto_op *op, const CK_BYTE *sig, CK_ULONG sig_len)
{
	unsigned char hash[EVP_MAX_MD_SIZE];
	unsigned int hash_len;

	if (sig_len != op->key_bytes)
		return CKR_SIGNATURE_LEN_RANGE;
	if (!EVP_DigestFinal_ex(op->mdctx, hash, &hash_len))
		return CKR_GENERAL_ERROR;
	return verify_input(op, hash, hash_len, sig, sig_len);
}

const op_handler rsa_handler = {
	.init = rsa_init,
	.oneshot = rsa_oneshot,
	.update = rsa_update,
	.final = rsa_final,
	.verify = rsa_verify,
	.verify_final = rsa_verify_final,
};
