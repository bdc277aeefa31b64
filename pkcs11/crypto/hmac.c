/* CKM_*_HMAC and CKM_*_HMAC_GENERAL over EVP_MAC "HMAC". */
#include "config.h"

#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "internal.h"

static CK_RV hmac_init(crypto_op *op, const CK_MECHANISM *mech)
{
	const EVP_MD *md = sk_evp_md(op->def->md);
	key_val key;
	OSSL_PARAM params[2];
	CK_RV rv;

	if (md == NULL)
		return CKR_MECHANISM_INVALID;
	op->out_size = (size_t)EVP_MD_get_size(md);
	if (op->variant == HMACV_GENERAL) {
		CK_ULONG want;

		if (mech->ulParameterLen != sizeof(CK_ULONG))
			return CKR_MECHANISM_PARAM_INVALID;
		memcpy(&want, mech->pParameter, sizeof(want));
		if (want == 0 || want > op->out_size)
			return CKR_MECHANISM_PARAM_INVALID;
		op->out_size = want;
	} else if (!param_none(mech)) {
		return CKR_MECHANISM_PARAM_INVALID;
	}
	rv = key_secret(op->key, &key);
	if (rv != CKR_OK)
		goto out;
	rv = CKR_HOST_MEMORY;
	op->mac = EVP_MAC_CTX_new(sk_evp_hmac());
	if (op->mac == NULL)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     (char *)EVP_MD_get0_name(md), 0);
	params[1] = OSSL_PARAM_construct_end();
	rv = EVP_MAC_init(op->mac, key.v, key.len, params) ? CKR_OK : CKR_GENERAL_ERROR;
out:
	key_val_free(&key);
	return rv;
}

static CK_RV hmac_update(crypto_op *op, const CK_BYTE *in, CK_ULONG in_len, CK_BYTE *out,
			 CK_ULONG *out_len)
{
	return EVP_MAC_update(op->mac, in, in_len) ? CKR_OK : CKR_GENERAL_ERROR;
}

/* The whole MAC into mac[]; callers truncate. */
static CK_RV hmac_compute(crypto_op *op, unsigned char *mac)
{
	size_t n;

	return EVP_MAC_final(op->mac, mac, &n, EVP_MAX_MD_SIZE) ? CKR_OK : CKR_GENERAL_ERROR;
}

const op_handler hmac_handler = {
	.init = hmac_init,
	.oneshot = mac_oneshot,
	.update = hmac_update,
	.final = mac_final,
	.verify = mac_verify,
	.verify_final = mac_verify_final,
	.mac = hmac_compute,
};
