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
static CK_RV bmac_compute(crypto_op *op, unsigned char mac[BLOCK])
{
	CK_RV rv;

	memset(op->held + op->held_len, 0, BLOCK - op->held_len);
	rv = chain(op, op->held);
	op->held_len = 0;
	if (rv == CKR_OK)
		memcpy(mac, op->iv, BLOCK);
	return rv;
}

static CK_RV bmac_final(crypto_op *op, CK_BYTE *out, CK_ULONG *out_len)
{
	unsigned char mac[BLOCK];
	bool done;
	CK_RV rv = out_check(out, out_len, op->out_size, &done);

	if (done || rv != CKR_OK)
		return rv;
	rv = bmac_compute(op, mac);
	if (rv == CKR_OK) {
		memcpy(out, mac, op->out_size);
		*out_len = op->out_size;
	}
	OPENSSL_cleanse(mac, sizeof(mac));
	return rv;
}

static CK_RV bmac_oneshot(crypto_op *op, const CK_BYTE *in, CK_ULONG in_len, CK_BYTE *out,
			  CK_ULONG *out_len)
{
	bool done;
	CK_RV rv = out_check(out, out_len, op->out_size, &done);

	if (done || rv != CKR_OK)
		return rv;
	rv = bmac_update(op, in, in_len, NULL, NULL);
	return rv == CKR_OK ? bmac_final(op, out, out_len) : rv;
}

static CK_RV bmac_verify_final(crypto_op *op, const CK_BYTE *sig, CK_ULONG sig_len)
{
	unsigned char mac[BLOCK];
	CK_RV rv;

	if (sig_len != op->out_size)
		return CKR_SIGNATURE_LEN_RANGE;
	rv = bmac_compute(op, mac);
	if (rv == CKR_OK && CRYPTO_memcmp(mac, sig, sig_len) != 0)
		rv = CKR_SIGNATURE_INVALID;
	OPENSSL_cleanse(mac, sizeof(mac));
	return rv;
}

static CK_RV bmac_verify(crypto_op *op, const CK_BYTE *data, CK_ULONG data_len,
			 const CK_BYTE *sig, CK_ULONG sig_len)
{
	CK_RV rv;

	if (sig_len != op->out_size)
		return CKR_SIGNATURE_LEN_RANGE;
	rv = bmac_update(op, data, data_len, NULL, NULL);
	return rv == CKR_OK ? bmac_verify_final(op, sig, sig_len) : rv;
}

const op_handler block_mac_handler = {
	.init = bmac_init,
	.oneshot = bmac_oneshot,
	.update = bmac_update,
	.final = bmac_final,
	.verify = bmac_verify,
	.verify_final = bmac_verify_final,
};
