/* AES and SM4 block modes (ECB, CBC, CBC-PAD, ECB-PAD, CTR) and AES-GCM.
 *
 * Block modes keep their own partial block (op->held) and do PKCS#7 padding
 * themselves, with OpenSSL's padding off: that way every output size is
 * known exactly before anything is consumed, as PKCS#11 requires. */
#include "config.h"

#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "internal.h"

#define BLOCK 16

CK_RV cipher_for_key(sk_object *key, sk_cmode mode, const EVP_CIPHER **out)
{
	CK_ULONG len;
	sk_calg alg;
	/* Only the length: no copy of the key needed. */
	CK_RV rv = object_secret_get(key, CKA_VALUE, NULL, 0, &len);

	if (rv != CKR_OK)
		return rv;
	if (len == CK_UNAVAILABLE_INFORMATION)
		return CKR_KEY_HANDLE_INVALID;
	if (key->key_type == CKK_AES) {
		if (len == 16)
			alg = CALG_AES128;
		else if (len == 24)
			alg = CALG_AES192;
		else if (len == 32)
			alg = CALG_AES256;
		else
			return CKR_KEY_SIZE_RANGE;
	} else if (key->key_type == CKK_SM4) {
		if (len != 16)
			return CKR_KEY_SIZE_RANGE;
		alg = CALG_SM4;
	} else {
		return CKR_KEY_TYPE_INCONSISTENT;
	}
	*out = sk_evp_cipher(alg, mode);
	return *out ? CKR_OK : CKR_MECHANISM_INVALID;
}

static bool padded(const crypto_op *op)
{
	return op->variant == CIPHV_CBC_PAD || op->variant == CIPHV_ECB_PAD;
}

static CK_RV cipher_init(crypto_op *op, const CK_MECHANISM *mech)
{
	sk_cmode mode;

	switch (op->variant) {
	case CIPHV_ECB:
	case CIPHV_ECB_PAD:
		if (!param_none(mech))
			return CKR_MECHANISM_PARAM_INVALID;
		mode = CMODE_ECB;
		break;
	case CIPHV_CBC:
	case CIPHV_CBC_PAD:
		if (mech->pParameter == NULL || mech->ulParameterLen != BLOCK)
			return CKR_MECHANISM_PARAM_INVALID;
		memcpy(op->iv, mech->pParameter, BLOCK);
		op->iv_len = BLOCK;
		mode = CMODE_CBC;
		break;
	case CIPHV_CTR: {
		const CK_AES_CTR_PARAMS *p = mech->pParameter;

		if (p == NULL || mech->ulParameterLen != sizeof(*p) || p->ulCounterBits == 0 ||
		    p->ulCounterBits > 128)
			return CKR_MECHANISM_PARAM_INVALID;
		memcpy(op->iv, p->cb, BLOCK);
		op->iv_len = BLOCK;
		/* OpenSSL counts over all 128 bits; a shorter counter must not
		 * wrap into the nonce, so we refuse data past its end. */
		if (p->ulCounterBits < 60) {
			uint64_t ctr = 0;

			for (int i = 8; i < 16; i++)
				ctr = (ctr << 8) | op->iv[i];
			ctr &= ((uint64_t)1 << p->ulCounterBits) - 1;
			op->ctr_left = (((uint64_t)1 << p->ulCounterBits) - ctr) * BLOCK;
			op->ctr_limited = true;
		}
		mode = CMODE_CTR;
		break;
	}
	default:
		return CKR_MECHANISM_INVALID;
	}
	return block_ctx_init(op, mode, op->iv_len ? op->iv : NULL, op->kind == OP_ENCRYPT);
}

CK_RV block_ctx_init(crypto_op *op, sk_cmode mode, const unsigned char *iv, int enc)
{
	const EVP_CIPHER *cipher;
	key_val key;
	CK_RV rv = cipher_for_key(op->key, mode, &cipher);

	if (rv != CKR_OK)
		return rv;
	rv = key_secret(op->key, &key);
	if (rv != CKR_OK)
		goto out;
	rv = CKR_HOST_MEMORY;
	op->cctx = EVP_CIPHER_CTX_new();
	if (op->cctx == NULL)
		goto out;
	/* The key length was checked against the cipher by cipher_for_key;
	 * a logout and new login in between open the same bytes. */
	rv = CKR_GENERAL_ERROR;
	if (key.len != (size_t)EVP_CIPHER_get_key_length(cipher) ||
	    !EVP_CipherInit_ex2(op->cctx, cipher, key.v, iv, enc, NULL) ||
	    !EVP_CIPHER_CTX_set_padding(op->cctx, 0))
		goto out;
	rv = CKR_OK;
out:
	key_val_free(&key);
	return rv;
}

/* Bytes an update of in_len would output now. */
static size_t update_size(const crypto_op *op, size_t in_len)
{
	size_t total = op->held_len + in_len;

	if (op->variant == CIPHV_CTR)
		return in_len;
	/* Padded decryption holds back the last block until Final. */
	if (padded(op) && op->kind == OP_DECRYPT)
		return total ? ((total - 1) / BLOCK) * BLOCK : 0;
	return total - total % BLOCK;
}

static CK_RV run(crypto_op *op, const unsigned char *in, size_t len, unsigned char *out)
{
	int n;

	if (len == 0)
		return CKR_OK;
	if (!EVP_CipherUpdate(op->cctx, out, &n, in, (int)len) || (size_t)n != len)
		return CKR_GENERAL_ERROR;
	return CKR_OK;
}

static CK_RV cipher_update(crypto_op *op, const CK_BYTE *in, CK_ULONG in_len, CK_BYTE *out,
			   CK_ULONG *out_len)
{
	size_t produce = update_size(op, in_len), done_bytes = 0;
	bool done;
	CK_RV rv;

	if (in_len > 0x7fffffff - BLOCK)
		return CKR_DATA_LEN_RANGE;
	if (op->variant == CIPHV_CTR && op->ctr_limited && in_len > op->ctr_left)
		return CKR_DATA_LEN_RANGE;
	rv = out_check(out, out_len, produce, &done);
	if (done || rv != CKR_OK)
		return rv;
	if (op->variant == CIPHV_CTR) {
		rv = run(op, in, in_len, out);
		if (rv == CKR_OK) {
			op->ctr_left -= op->ctr_limited ? in_len : 0;
			*out_len = in_len;
		}
		return rv;
	}
	/* Complete a held partial block first. */
	if (op->held_len > 0) {
		size_t take = BLOCK - op->held_len < in_len ? BLOCK - op->held_len : in_len;

		memcpy(op->held + op->held_len, in, take);
		op->held_len += take;
		in += take;
		in_len -= take;
		if (op->held_len == BLOCK && produce > 0) {
			rv = run(op, op->held, BLOCK, out);
			if (rv != CKR_OK)
				return rv;
			op->held_len = 0;
			done_bytes = BLOCK;
		}
	}
	rv = run(op, in, produce - done_bytes, out + done_bytes);
	if (rv != CKR_OK)
		return rv;
	in += produce - done_bytes;
	in_len -= produce - done_bytes;
	if (in_len) {
		memcpy(op->held + op->held_len, in, in_len);
		op->held_len += in_len;
	}
	*out_len = produce;
	return CKR_OK;
}

static CK_RV cipher_final(crypto_op *op, CK_BYTE *out, CK_ULONG *out_len)
{
	unsigned char blk[BLOCK];
	bool done;
	CK_RV rv;

	if (op->variant == CIPHV_CTR)
		return out_copy(NULL, 0, out, out_len);
	if (!padded(op)) {
		if (op->held_len != 0)
			return op->kind == OP_ENCRYPT ? CKR_DATA_LEN_RANGE
						      : CKR_ENCRYPTED_DATA_LEN_RANGE;
		return out_copy(NULL, 0, out, out_len);
	}
	if (op->kind == OP_ENCRYPT) {
		unsigned char pad = (unsigned char)(BLOCK - op->held_len);

		rv = out_check(out, out_len, BLOCK, &done);
		if (done || rv != CKR_OK)
			return rv;
		memset(op->held + op->held_len, pad, pad);
		rv = run(op, op->held, BLOCK, out);
		if (rv == CKR_OK) {
			op->held_len = 0;
			*out_len = BLOCK;
		}
		return rv;
	}
	if (op->pending_set)
		return out_copy(op->pending, op->pending_len, out, out_len);
	if (op->held_len != BLOCK)
		return CKR_ENCRYPTED_DATA_LEN_RANGE;
	rv = run(op, op->held, BLOCK, blk);
	if (rv != CKR_OK)
		return rv;
	op->held_len = 0;
	unsigned char pad = blk[BLOCK - 1];
	unsigned bad = pad == 0 || pad > BLOCK;
	for (unsigned i = 0; !bad && i < pad; i++)
		bad |= blk[BLOCK - 1 - i] != pad;
	if (bad) {
		rv = CKR_ENCRYPTED_DATA_INVALID;
	} else if (out != NULL && *out_len >= (CK_ULONG)(BLOCK - pad)) {
		rv = out_copy(blk, BLOCK - pad, out, out_len);
	} else {
		/* The block is decrypted now: keep it for the retry. */
		rv = op_set_pending(op, blk, BLOCK - pad);
		if (rv == CKR_OK)
			rv = out_copy(op->pending, op->pending_len, out, out_len);
	}
	OPENSSL_cleanse(blk, sizeof(blk));
	return rv;
}

static void cipher_reset(crypto_op *op)
{
	if (op->iv_len)
		EVP_CipherInit_ex2(op->cctx, NULL, NULL, op->iv, -1, NULL);
	op->held_len = 0;
}

static CK_RV cipher_oneshot(crypto_op *op, const CK_BYTE *in, CK_ULONG in_len, CK_BYTE *out,
			    CK_ULONG *out_len)
{
	bool enc = op->kind == OP_ENCRYPT, done;
	size_t need = in_len;
	CK_ULONG n1, n2;
	unsigned char *tmp = NULL;
	CK_RV rv;

	if (op->variant != CIPHV_CTR) {
		if (enc && !padded(op) && in_len % BLOCK)
			return CKR_DATA_LEN_RANGE;
		if (!enc && (in_len % BLOCK || (padded(op) && in_len == 0)))
			return CKR_ENCRYPTED_DATA_LEN_RANGE;
		if (enc && padded(op))
			need = (in_len / BLOCK + 1) * BLOCK;
	}
	if (op->variant == CIPHV_CTR && op->ctr_limited && in_len > op->ctr_left)
		return CKR_DATA_LEN_RANGE;
	if (!enc && padded(op) && out != NULL && *out_len < need) {
		/* Only the unpadded length tells whether it fits. */
		tmp = OPENSSL_malloc(need);
		if (tmp == NULL)
			return CKR_HOST_MEMORY;
		n1 = n2 = need;
		rv = cipher_update(op, in, in_len, tmp, &n1);
		if (rv == CKR_OK)
			rv = cipher_final(op, tmp + n1, &n2);
		if (rv == CKR_OK)
			rv = out_copy(tmp, n1 + n2, out, out_len);
		OPENSSL_clear_free(tmp, need);
		op_clear_pending(op);
		if (rv == CKR_BUFFER_TOO_SMALL)
			cipher_reset(op);
		return rv;
	}
	rv = out_check(out, out_len, need, &done);
	if (done || rv != CKR_OK)
		return rv;
	n1 = *out_len;
	rv = cipher_update(op, in, in_len, out, &n1);
	if (rv != CKR_OK)
		return rv;
	n2 = *out_len - n1;
	rv = cipher_final(op, out + n1, &n2);
	if (rv == CKR_OK)
		*out_len = n1 + n2;
	return rv;
}

const op_handler cipher_handler = {
	.init = cipher_init,
	.oneshot = cipher_oneshot,
	.update = cipher_update,
	.final = cipher_final,
};

/* ---- AES-GCM ---- */

static CK_RV gcm_init(crypto_op *op, const CK_MECHANISM *mech)
{
	const CK_GCM_PARAMS *p = mech->pParameter;
	const EVP_CIPHER *cipher;
	key_val key;
	size_t iv_len;
	OSSL_PARAM prm[2];
	int n;
	CK_RV rv;

	if (p == NULL || mech->ulParameterLen != sizeof(*p))
		return CKR_MECHANISM_PARAM_INVALID;
	/* OpenSSL keeps at most 128 bytes of IV. */
	if (p->pIv == NULL || p->ulIvLen == 0 || p->ulIvLen > 128)
		return CKR_MECHANISM_PARAM_INVALID;
	if (p->ulTagBits == 0 || p->ulTagBits > 128 || p->ulTagBits % 8)
		return CKR_MECHANISM_PARAM_INVALID;
	if (p->ulAADLen && p->pAAD == NULL)
		return CKR_MECHANISM_PARAM_INVALID;
	op->tag_len = p->ulTagBits / 8;
	rv = cipher_for_key(op->key, CMODE_GCM, &cipher);
	if (rv != CKR_OK)
		return rv;
	rv = key_secret(op->key, &key);
	if (rv != CKR_OK)
		goto out;
	rv = CKR_HOST_MEMORY;
	op->cctx = EVP_CIPHER_CTX_new();
	if (op->cctx == NULL)
		goto out;
	rv = CKR_GENERAL_ERROR;
	if (key.len != (size_t)EVP_CIPHER_get_key_length(cipher))
		goto out;
	iv_len = p->ulIvLen;
	prm[0] = OSSL_PARAM_construct_size_t(OSSL_CIPHER_PARAM_AEAD_IVLEN, &iv_len);
	prm[1] = OSSL_PARAM_construct_end();
	/* The common 96-bit IV needs one init; others set the length first. */
	if (iv_len == 12) {
		if (!EVP_CipherInit_ex2(op->cctx, cipher, key.v, p->pIv, op->kind == OP_ENCRYPT,
					NULL))
			goto out;
	} else if (!EVP_CipherInit_ex2(op->cctx, cipher, NULL, NULL, op->kind == OP_ENCRYPT, prm) ||
		   !EVP_CipherInit_ex2(op->cctx, NULL, key.v, p->pIv, -1, NULL)) {
		goto out;
	}
	if (p->ulAADLen && !EVP_CipherUpdate(op->cctx, NULL, &n, p->pAAD, (int)p->ulAADLen))
		goto out;
	rv = CKR_OK;
out:
	key_val_free(&key);
	return rv;
}

static CK_RV gcm_encrypt_final(crypto_op *op, CK_BYTE *out, CK_ULONG *out_len)
{
	int n;
	bool done;
	CK_RV rv = out_check(out, out_len, op->tag_len, &done);

	if (done || rv != CKR_OK)
		return rv;
	if (!EVP_CipherFinal_ex(op->cctx, out, &n) ||
	    !EVP_CIPHER_CTX_ctrl(op->cctx, EVP_CTRL_AEAD_GET_TAG, (int)op->tag_len, out))
		return CKR_GENERAL_ERROR;
	*out_len = op->tag_len;
	return CKR_OK;
}

/* Decrypts ct||tag into out (room checked by the caller); wipes out on a bad tag. */
static CK_RV gcm_open(crypto_op *op, const unsigned char *in, size_t in_len, CK_BYTE *out,
		      CK_ULONG *out_len)
{
	size_t ct_len = in_len - op->tag_len;
	int n;
	CK_RV rv;

	if (!EVP_CIPHER_CTX_ctrl(op->cctx, EVP_CTRL_AEAD_SET_TAG, (int)op->tag_len,
				 (void *)(in + ct_len)))
		return CKR_GENERAL_ERROR;
	rv = run(op, in, ct_len, out);
	if (rv != CKR_OK)
		return rv;
	if (EVP_CipherFinal_ex(op->cctx, out + ct_len, &n) <= 0) {
		OPENSSL_cleanse(out, ct_len);
		return CKR_ENCRYPTED_DATA_INVALID;
	}
	*out_len = ct_len;
	return CKR_OK;
}

static CK_RV gcm_encrypt(crypto_op *op, const CK_BYTE *in, CK_ULONG in_len, CK_BYTE *out)
{
	return run(op, in, in_len, out);
}

static const gcm_steps evp_gcm_steps = {gcm_encrypt, gcm_encrypt_final, gcm_open};

static CK_RV gcm_update(crypto_op *op, const CK_BYTE *in, CK_ULONG in_len, CK_BYTE *out,
			CK_ULONG *out_len)
{
	return gcm_frame_update(&evp_gcm_steps, op, in, in_len, out, out_len);
}

static CK_RV gcm_final(crypto_op *op, CK_BYTE *out, CK_ULONG *out_len)
{
	return gcm_frame_final(&evp_gcm_steps, op, out, out_len);
}

static CK_RV gcm_oneshot(crypto_op *op, const CK_BYTE *in, CK_ULONG in_len, CK_BYTE *out,
			 CK_ULONG *out_len)
{
	return gcm_frame_oneshot(&evp_gcm_steps, op, in, in_len, out, out_len);
}

const op_handler gcm_handler = {
	.init = gcm_init,
	.oneshot = gcm_oneshot,
	.update = gcm_update,
	.final = gcm_final,
};
