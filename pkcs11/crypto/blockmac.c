/* CBC-MAC over a block cipher (CKM_SM4_MAC, CKM_SM4_MAC_GENERAL), defined as
 * PKCS#11 defines CKM_AES_MAC(_GENERAL): zero IV, the last partial block
 * padded with zero bytes (FIPS 113 data authentication), the MAC taken from
 * the start of the final cipher block; half a block for the plain mechanism.
 * Empty data MACs as one all-zero block, so every input has a MAC.
 * The chaining runs on the ECB cipher here (op->iv holds the state). */
#include "config.h"

#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "internal.h"

#define BLOCK 16

static CK_RV bmac_init(crypto_op *op, const CK_MECHANISM *mech)
{
	CK_RV rv;

	op->out_size = BLOCK / 2;
	if (op->variant == BMACV_GENERAL) {
		CK_ULONG want; /* CK_MAC_GENERAL_PARAMS */

		if (mech->ulParameterLen != sizeof(want))
			return CKR_MECHANISM_PARAM_INVALID;
		memcpy(&want, mech->pParameter, sizeof(want));
		if (want == 0 || want > BLOCK)
			return CKR_MECHANISM_PARAM_INVALID;
		op->out_size = want;
	} else if (!param_none(mech)) {
		return CKR_MECHANISM_PARAM_INVALID;
	}
	rv = block_ctx_init(op, CMODE_ECB, NULL, 1);
	if (rv != CKR_OK)
		return rv;
	memset(op->iv, 0, BLOCK);
	op->iv_len = BLOCK;
	return CKR_OK;
}

/* state = E(state xor block) */
static CK_RV chain(crypto_op *op, const unsigned char *block)
{
	int n;

	for (int i = 0; i < BLOCK; i++)
		op->iv[i] ^= block[i];
	if (!EVP_EncryptUpdate(op->cctx, op->iv, &n, op->iv, BLOCK) || n != BLOCK)
		return CKR_GENERAL_ERROR;
	return CKR_OK;
}

static CK_RV bmac_update(crypto_op *op, const CK_BYTE *in, CK_ULONG in_len, CK_BYTE *out,
			 CK_ULONG *out_len)
{
	CK_RV rv;

	(void)out;
	(void)out_len;
	op->started = true;
	/* The last block, full or not, waits for Final (it may need padding). */
	while (in_len > 0) {
		size_t take;

		if (op->held_len == BLOCK) {
			rv = chain(op, op->held);
			if (rv != CKR_OK)
				return rv;
			op->held_len = 0;
		}
		take = BLOCK - op->held_len < in_len ? BLOCK - op->held_len : in_len;
		memcpy(op->held + op->held_len, in, take);
		op->held_len += take;
		in += take;
		in_len -= take;
	}
	return CKR_OK;
}

/* The whole last cipher block into mac[]; callers truncate. */
static CK_RV bmac_compute(crypto_op *op, unsigned char *mac)
{
	CK_RV rv;

	memset(op->held + op->held_len, 0, BLOCK - op->held_len);
	rv = chain(op, op->held);
	op->held_len = 0;
	if (rv == CKR_OK)
		memcpy(mac, op->iv, BLOCK);
	return rv;
}

const op_handler block_mac_handler = {
	.init = bmac_init,
	.oneshot = mac_oneshot,
	.update = bmac_update,
	.final = mac_final,
	.verify = mac_verify,
	.verify_final = mac_verify_final,
	.mac = bmac_compute,
};
