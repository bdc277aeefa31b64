/* CKM_SHA_1, CKM_SHA224..512, CKM_SM3: plain EVP digests, and C_DigestKey. */
#include "config.h"

#include <openssl/evp.h>

#include "internal.h"

static CK_RV digest_init(crypto_op *op, const CK_MECHANISM *mech)
{
	const EVP_MD *md = sk_evp_md(op->def->md);

	if (md == NULL)
		return CKR_MECHANISM_INVALID;
	if (!param_none(mech))
		return CKR_MECHANISM_PARAM_INVALID;
	op->mdctx = EVP_MD_CTX_new();
	if (op->mdctx == NULL)
		return CKR_HOST_MEMORY;
	if (!EVP_DigestInit_ex2(op->mdctx, md, NULL))
		return CKR_GENERAL_ERROR;
	op->out_size = (size_t)EVP_MD_get_size(md);
	return CKR_OK;
}

static CK_RV digest_update(crypto_op *op, const CK_BYTE *in, CK_ULONG in_len, CK_BYTE *out,
			   CK_ULONG *out_len)
{
	return EVP_DigestUpdate(op->mdctx, in, in_len) ? CKR_OK : CKR_GENERAL_ERROR;
}

static CK_RV digest_final(crypto_op *op, CK_BYTE *out, CK_ULONG *out_len)
{
	unsigned int n;
	bool done;
	CK_RV rv = out_check(out, out_len, op->out_size, &done);

	if (done || rv != CKR_OK)
		return rv;
	if (!EVP_DigestFinal_ex(op->mdctx, out, &n))
		return CKR_GENERAL_ERROR;
	*out_len = n;
	return CKR_OK;
}

static CK_RV digest_oneshot(crypto_op *op, const CK_BYTE *in, CK_ULONG in_len, CK_BYTE *out,
			    CK_ULONG *out_len)
{
	bool done;
	CK_RV rv = out_check(out, out_len, op->out_size, &done);

	if (done || rv != CKR_OK)
		return rv;
	rv = digest_update(op, in, in_len, NULL, NULL);
	return rv == CKR_OK ? digest_final(op, out, out_len) : rv;
}

CK_RV crypto_op_digest_key(crypto_op *op, sk_object *key)
{
	key_val v;
	CK_RV rv;

	if (op == NULL || key == NULL)
		return CKR_ARGUMENTS_BAD;
	if (op->ops != &digest_handler)
		return CKR_OPERATION_NOT_INITIALIZED;
	if (key->cls != CKO_SECRET_KEY)
		return CKR_KEY_INDIGESTIBLE;
	rv = key_secret(key, &v);
	if (rv == CKR_KEY_HANDLE_INVALID)
		rv = CKR_KEY_INDIGESTIBLE;
	else if (rv == CKR_OK && !EVP_DigestUpdate(op->mdctx, v.v, v.len))
		rv = CKR_GENERAL_ERROR;
	key_val_free(&v);
	return rv;
}

const op_handler digest_handler = {
	.init = digest_init,
	.oneshot = digest_oneshot,
	.update = digest_update,
	.final = digest_final,
};
