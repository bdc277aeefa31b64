/* ECDSA (raw and with SHA-1/SHA-2) and ECDH1 derivation on P-256/384/521.
 * PKCS#11 signatures are r||s, each padded to the field size; OpenSSL speaks
 * DER, so we convert both ways. */
#include "config.h"

#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "internal.h"

static CK_RV ecdsa_init(crypto_op *op, const CK_MECHANISM *mech)
{
	const sk_curve *c;
	CK_RV rv;

	if (!param_none(mech))
		return CKR_MECHANISM_PARAM_INVALID;
	rv = key_curve(op->key, &c);
	if (rv != CKR_OK)
		return rv == CKR_CURVE_NOT_SUPPORTED ? CKR_KEY_TYPE_INCONSISTENT : rv;
	/* Keys on the SM2 curve are SM2 keys in OpenSSL: use the SM2 mechanisms. */
	if (c->sm2)
		return CKR_KEY_TYPE_INCONSISTENT;
	op->key_bytes = (c->bits + 7) / 8;
	op->out_size = 2 * op->key_bytes;
	rv = key_pkey(op->key, &op->pkey);
	if (rv != CKR_OK)
		return rv;
	op->pctx = EVP_PKEY_CTX_new_from_pkey(sk_libctx(), op->pkey, NULL);
	if (op->pctx == NULL)
		return CKR_HOST_MEMORY;
	if ((op->kind == OP_SIGN ? EVP_PKEY_sign_init(op->pctx) : EVP_PKEY_verify_init(op->pctx)) <= 0)
		return CKR_GENERAL_ERROR;
	if (op->def->md != MD_NONE) {
		op->mdctx = EVP_MD_CTX_new();
		if (op->mdctx == NULL)
			return CKR_HOST_MEMORY;
		if (!EVP_DigestInit_ex2(op->mdctx, sk_evp_md(op->def->md), NULL))
			return CKR_GENERAL_ERROR;
	}
	return CKR_OK;
}

/* Signs a hash (any length: OpenSSL truncates it to the order's bit length
 * as FIPS 186 says) into out, which has room for out_size bytes. */
static CK_RV ecdsa_sign_hash(crypto_op *op, const unsigned char *hash, size_t hash_len,
			     CK_BYTE *out, CK_ULONG *out_len)
{
	unsigned char der[160];
	size_t der_len = sizeof(der);
	CK_RV rv;

	if (EVP_PKEY_sign(op->pctx, der, &der_len, hash, hash_len) <= 0)
		return CKR_GENERAL_ERROR;
	rv = sig_der_to_raw(der, der_len, out, op->key_bytes);
	if (rv == CKR_OK)
		*out_len = op->out_size;
	return rv;
}

static CK_RV ecdsa_verify_hash(crypto_op *op, const unsigned char *hash, size_t hash_len,
			       const CK_BYTE *sig, CK_ULONG sig_len)
{
	unsigned char der[SIG_DER_MAX(66)]; /* P-521 at most */
	size_t der_len;
	CK_RV rv;

	if (sig_len != op->out_size)
		return CKR_SIGNATURE_LEN_RANGE;
	rv = sig_raw_to_der(sig, op->key_bytes, der, &der_len);
	if (rv != CKR_OK)
		return rv;
	return EVP_PKEY_verify(op->pctx, der, der_len, hash, hash_len) == 1 ? CKR_OK
									    : CKR_SIGNATURE_INVALID;
}

static CK_RV ecdsa_update(crypto_op *op, const CK_BYTE *in, CK_ULONG in_len, CK_BYTE *out,
			  CK_ULONG *out_len)
{
	return EVP_DigestUpdate(op->mdctx, in, in_len) ? CKR_OK : CKR_GENERAL_ERROR;
}

static CK_RV finish_hash(crypto_op *op, unsigned char *hash, unsigned int *hash_len)
{
	return EVP_DigestFinal_ex(op->mdctx, hash, hash_len) ? CKR_OK : CKR_GENERAL_ERROR;
}

static CK_RV ecdsa_final(crypto_op *op, CK_BYTE *out, CK_ULONG *out_len)
{
	unsigned char hash[EVP_MAX_MD_SIZE];
	unsigned int hash_len;
	bool done;
	CK_RV rv = out_check(out, out_len, op->out_size, &done);

	if (done || rv != CKR_OK)
		return rv;
	rv = finish_hash(op, hash, &hash_len);
	return rv == CKR_OK ? ecdsa_sign_hash(op, hash, hash_len, out, out_len) : rv;
}

static CK_RV ecdsa_oneshot(crypto_op *op, const CK_BYTE *in, CK_ULONG in_len, CK_BYTE *out,
			   CK_ULONG *out_len)
{
	bool done;
	CK_RV rv = out_check(out, out_len, op->out_size, &done);

	if (done || rv != CKR_OK)
		return rv;
	if (op->mdctx == NULL)
		return ecdsa_sign_hash(op, in, in_len, out, out_len);
	rv = ecdsa_update(op, in, in_len, NULL, NULL);
	return rv == CKR_OK ? ecdsa_final(op, out, out_len) : rv;
}

static CK_RV ecdsa_verify_final(crypto_op *op, const CK_BYTE *sig, CK_ULONG sig_len)
{
	unsigned char hash[EVP_MAX_MD_SIZE];
	unsigned int hash_len;
	CK_RV rv;

	if (sig_len != op->out_size)
		return CKR_SIGNATURE_LEN_RANGE;
	rv = finish_hash(op, hash, &hash_len);
	return rv == CKR_OK ? ecdsa_verify_hash(op, hash, hash_len, sig, sig_len) : rv;
}

static CK_RV ecdsa_verify(crypto_op *op, const CK_BYTE *data, CK_ULONG data_len, const CK_BYTE *sig,
			  CK_ULONG sig_len)
{
	CK_RV rv;

	if (sig_len != op->out_size)
		return CKR_SIGNATURE_LEN_RANGE;
	if (op->mdctx == NULL)
		return ecdsa_verify_hash(op, data, data_len, sig, sig_len);
	rv = ecdsa_update(op, data, data_len, NULL, NULL);
	return rv == CKR_OK ? ecdsa_verify_final(op, sig, sig_len) : rv;
}

const op_handler ecdsa_handler = {
	.init = ecdsa_init,
	.oneshot = ecdsa_oneshot,
	.update = ecdsa_update,
	.final = ecdsa_final,
	.verify = ecdsa_verify,
	.verify_final = ecdsa_verify_final,
};

/* ---- ECDH1 ---- */

static CK_RV kdf_x963(sk_md md, const unsigned char *z, size_t z_len, const unsigned char *info,
		      size_t info_len, unsigned char *out, size_t out_len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(sk_libctx(), "X963KDF", NULL);
	EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM params[4], *p = params;
	CK_RV rv = CKR_HOST_MEMORY;

	if (kctx == NULL)
		goto out;
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						(char *)EVP_MD_get0_name(sk_evp_md(md)), 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)z, z_len);
	if (info_len)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info,
							 info_len);
	*p = OSSL_PARAM_construct_end();
	rv = EVP_KDF_derive(kctx, out, out_len, params) > 0 ? CKR_OK : CKR_GENERAL_ERROR;
out:
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return rv;
}

static sk_md kdf_md(CK_ULONG kdf)
{
	switch (kdf) {
	case CKD_SHA1_KDF:
		return MD_SHA1;
	case CKD_SHA224_KDF:
		return MD_SHA224;
	case CKD_SHA256_KDF:
		return MD_SHA256;
	case CKD_SHA384_KDF:
		return MD_SHA384;
	case CKD_SHA512_KDF:
		return MD_SHA512;
	default:
		return MD_NONE;
	}
}

CK_RV ecdh_derive(const CK_MECHANISM *mech, sk_object *base, sk_object *key)
{
	const CK_ECDH1_DERIVE_PARAMS *prm = mech->pParameter;
	const sk_curve *c;
	const unsigned char *pt;
	size_t pt_len, z_len = 0, want;
	unsigned char z[66], okm[1024];
	EVP_PKEY *mine = NULL, *peer = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	sk_md md = MD_NONE;
	CK_RV rv;

	if (prm == NULL || mech->ulParameterLen != sizeof(*prm))
		return CKR_MECHANISM_PARAM_INVALID;
	if (prm->kdf != CKD_NULL) {
		md = kdf_md(prm->kdf);
		if (md == MD_NONE)
			return CKR_MECHANISM_PARAM_INVALID;
	} else if (prm->ulSharedDataLen != 0) {
		return CKR_MECHANISM_PARAM_INVALID;
	}
	if ((prm->pSharedData == NULL && prm->ulSharedDataLen != 0) || prm->pPublicData == NULL)
		return CKR_MECHANISM_PARAM_INVALID;
	if (base->key_type != CKK_EC || base->cls != CKO_PRIVATE_KEY)
		return CKR_KEY_TYPE_INCONSISTENT;
	rv = key_curve(base, &c);
	if (rv != CKR_OK)
		return rv == CKR_CURVE_NOT_SUPPORTED ? CKR_KEY_TYPE_INCONSISTENT : rv;
	if (c->sm2)
		return CKR_KEY_TYPE_INCONSISTENT;
	if (!ec_point_unwrap(prm->pPublicData, prm->ulPublicDataLen, &pt, &pt_len, (c->bits + 7) / 8))
		return CKR_MECHANISM_PARAM_INVALID;
	rv = key_pkey(base, &mine);
	if (rv != CKR_OK)
		return rv;
	rv = pkey_from_ec_point(c, pt, pt_len, &peer);
	if (rv != CKR_OK) {
		if (rv == CKR_ATTRIBUTE_VALUE_INVALID)
			rv = CKR_MECHANISM_PARAM_INVALID;
		goto out;
	}

	rv = CKR_GENERAL_ERROR;
	z_len = sizeof(z);
	ctx = EVP_PKEY_CTX_new_from_pkey(sk_libctx(), mine, NULL);
	if (ctx == NULL || EVP_PKEY_derive_init(ctx) <= 0 || EVP_PKEY_derive_set_peer(ctx, peer) <= 0 ||
	    EVP_PKEY_derive(ctx, z, &z_len) <= 0)
		goto out;

	/* CKD_NULL: the key is the least significant bytes of Z (as NSS
	 * and SoftHSM do); a KDF produces exactly the length asked for. */
	rv = secret_target_len(key, md == MD_NONE ? z_len : 0, md == MD_NONE ? z_len : sizeof(okm),
			       &want);
	if (rv != CKR_OK)
		goto out;
	if (md == MD_NONE) {
		rv = secret_set(key, z + z_len - want, want);
	} else {
		rv = kdf_x963(md, z, z_len, prm->pSharedData, prm->ulSharedDataLen, okm, want);
		if (rv == CKR_OK)
			rv = secret_set(key, okm, want);
	}
out:
	OPENSSL_cleanse(z, sizeof(z));
	OPENSSL_cleanse(okm, sizeof(okm));
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(peer);
	EVP_PKEY_free(mine);
	return rv;
}
