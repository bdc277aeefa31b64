/* GCM (NIST SP 800-38D) over any 128-bit block cipher given as an ECB
 * EVP_CIPHER, and the CKM_SM4_GCM handler built on it: OpenSSL 3.0 has no
 * SM4-GCM. GHASH is the bitwise multiply of the spec, written without
 * data-dependent branches. */
#include "config.h"

#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "internal.h"

#define BLOCK 16
/* SP 800-38D: at most 2^39 - 256 bits of plaintext. */
#define GCM_MAX_TEXT ((((uint64_t)1) << 36) - 32)

struct gcm_ctx {
	EVP_CIPHER_CTX *ecb;
	uint64_t h_hi, h_lo; /* hash subkey H */
	uint64_t x_hi, x_lo; /* running GHASH value */
	unsigned char j0[BLOCK];
	unsigned char ctr[BLOCK]; /* next counter block */
	unsigned char ks[BLOCK];  /* current key stream block... */
	size_t ks_used;           /* ...of which this much is used up */
	unsigned char part[BLOCK]; /* GHASH input not yet a full block */
	size_t part_len;
	uint64_t aad_len, text_len; /* bytes */
	bool in_text;               /* the AAD is closed */
};

static uint64_t load64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static void store64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (unsigned char)v;
		v >>= 8;
	}
}

/* X = (X xor block) * H in GF(2^128), SP 800-38D algorithm 1. */
static void ghash_block(gcm_ctx *g, const unsigned char *block)
{
	uint64_t x_hi = g->x_hi ^ load64(block), x_lo = g->x_lo ^ load64(block + 8);
	uint64_t v_hi = g->h_hi, v_lo = g->h_lo, z_hi = 0, z_lo = 0;

	for (int i = 0; i < 128; i++) {
		uint64_t bit = i < 64 ? x_hi >> (63 - i) : x_lo >> (127 - i);
		uint64_t take = 0 - (bit & 1);
		uint64_t carry = 0 - (v_lo & 1);

		z_hi ^= v_hi & take;
		z_lo ^= v_lo & take;
		v_lo = (v_lo >> 1) | (v_hi << 63);
		v_hi = (v_hi >> 1) ^ (0xE100000000000000ULL & carry);
	}
	g->x_hi = z_hi;
	g->x_lo = z_lo;
}

static void ghash_bytes(gcm_ctx *g, const unsigned char *in, size_t len)
{
	if (len == 0)
		return; /* in may be NULL */
	if (g->part_len) {
		size_t take = BLOCK - g->part_len < len ? BLOCK - g->part_len : len;

		memcpy(g->part + g->part_len, in, take);
		g->part_len += take;
		in += take;
		len -= take;
		if (g->part_len < BLOCK)
			return;
		ghash_block(g, g->part);
		g->part_len = 0;
	}
	for (; len >= BLOCK; in += BLOCK, len -= BLOCK)
		ghash_block(g, in);
	memcpy(g->part, in, len);
	g->part_len = len;
}

/* Zero-pads a pending partial block into the hash. */
static void ghash_flush(gcm_ctx *g)
{
	if (g->part_len == 0)
		return;
	memset(g->part + g->part_len, 0, BLOCK - g->part_len);
	ghash_block(g, g->part);
	g->part_len = 0;
}

static CK_RV encrypt_block(gcm_ctx *g, const unsigned char *in, unsigned char *out)
{
	int n;

	if (!EVP_EncryptUpdate(g->ecb, out, &n, in, BLOCK) || n != BLOCK)
		return CKR_GENERAL_ERROR;
	return CKR_OK;
}

static void inc32(unsigned char *ctr)
{
	for (int i = BLOCK - 1; i >= BLOCK - 4; i--)
		if (++ctr[i] != 0)
			break;
}

CK_RV gcm_ctx_new(const EVP_CIPHER *ecb, const unsigned char *key, const unsigned char *iv,
		  size_t iv_len, gcm_ctx **out)
{
	unsigned char h[BLOCK] = {0}, lens[BLOCK] = {0};
	gcm_ctx *g;
	CK_RV rv;

	*out = NULL;
	/* The IV's bit length must fit the 64-bit length field. */
	if (iv == NULL || iv_len == 0 || (uint64_t)iv_len > (UINT64_MAX >> 3) ||
	    EVP_CIPHER_get_block_size(ecb) != BLOCK)
		return CKR_MECHANISM_PARAM_INVALID;
	g = OPENSSL_zalloc(sizeof(*g));
	if (g == NULL)
		return CKR_HOST_MEMORY;
	g->ecb = EVP_CIPHER_CTX_new();
	if (g->ecb == NULL) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	if (!EVP_EncryptInit_ex2(g->ecb, ecb, key, NULL, NULL) ||
	    !EVP_CIPHER_CTX_set_padding(g->ecb, 0)) {
		rv = CKR_GENERAL_ERROR;
		goto out;
	}
	rv = encrypt_block(g, h, h);
	if (rv != CKR_OK)
		goto out;
	g->h_hi = load64(h);
	g->h_lo = load64(h + 8);
	if (iv_len == 12) {
		memcpy(g->j0, iv, 12);
		g->j0[15] = 1;
	} else {
		/* J0 = GHASH(IV || 0^(s+64) || [len(IV)]64). */
		ghash_bytes(g, iv, iv_len);
		ghash_flush(g);
		store64(lens + 8, (uint64_t)iv_len * 8);
		ghash_block(g, lens);
		store64(g->j0, g->x_hi);
		store64(g->j0 + 8, g->x_lo);
		g->x_hi = g->x_lo = 0;
	}
	memcpy(g->ctr, g->j0, BLOCK);
	inc32(g->ctr);
	g->ks_used = BLOCK;
	*out = g;
	g = NULL;
out:
	OPENSSL_cleanse(h, sizeof(h));
	gcm_ctx_free(g);
	return rv;
}

void gcm_ctx_free(gcm_ctx *g)
{
	if (g == NULL)
		return;
	EVP_CIPHER_CTX_free(g->ecb);
	OPENSSL_clear_free(g, sizeof(*g));
}

CK_RV gcm_ctx_aad(gcm_ctx *g, const unsigned char *aad, size_t len)
{
	if (g->in_text)
		return CKR_OPERATION_ACTIVE;
	if (len > (UINT64_MAX >> 3) - g->aad_len)
		return CKR_MECHANISM_PARAM_INVALID;
	ghash_bytes(g, aad, len);
	g->aad_len += len;
	return CKR_OK;
}

/* Closes the AAD (padding it to a block) on first use of the text. */
static CK_RV text_len_add(gcm_ctx *g, size_t len)
{
	if (!g->in_text) {
		ghash_flush(g);
		g->in_text = true;
	}
	if (len > GCM_MAX_TEXT - g->text_len)
		return CKR_DATA_LEN_RANGE;
	g->text_len += len;
	return CKR_OK;
}

/* XORs the key stream (CTR with a 32-bit counter) into len bytes. */
static CK_RV ctr_xor(gcm_ctx *g, const unsigned char *in, size_t len, unsigned char *out)
{
	CK_RV rv;

	for (size_t i = 0; i < len; i++) {
		if (g->ks_used == BLOCK) {
			rv = encrypt_block(g, g->ctr, g->ks);
			if (rv != CKR_OK)
				return rv;
			inc32(g->ctr);
			g->ks_used = 0;
		}
		out[i] = in[i] ^ g->ks[g->ks_used++];
	}
	return CKR_OK;
}

CK_RV gcm_ctx_encrypt(gcm_ctx *g, const unsigned char *in, size_t len, unsigned char *out)
{
	CK_RV rv = text_len_add(g, len);

	if (rv == CKR_OK)
		rv = ctr_xor(g, in, len, out);
	if (rv == CKR_OK)
		ghash_bytes(g, out, len);
	return rv;
}

CK_RV gcm_ctx_hash_ciphertext(gcm_ctx *g, const unsigned char *ct, size_t len)
{
	CK_RV rv = text_len_add(g, len);

	if (rv == CKR_OK)
		ghash_bytes(g, ct, len);
	return rv;
}

CK_RV gcm_ctx_decrypt(gcm_ctx *g, const unsigned char *ct, size_t len, unsigned char *out)
{
	return ctr_xor(g, ct, len, out);
}

CK_RV gcm_ctx_tag(gcm_ctx *g, unsigned char tag[16])
{
	unsigned char lens[BLOCK], s[BLOCK];
	CK_RV rv;

	ghash_flush(g);
	g->in_text = true;
	store64(lens, g->aad_len * 8);
	store64(lens + 8, g->text_len * 8);
	ghash_block(g, lens);
	store64(s, g->x_hi);
	store64(s + 8, g->x_lo);
	rv = encrypt_block(g, g->j0, tag);
	for (int i = 0; rv == CKR_OK && i < BLOCK; i++)
		tag[i] ^= s[i];
	OPENSSL_cleanse(s, sizeof(s));
	return rv;
}

/* ---- CKM_SM4_GCM: CK_GCM_PARAMS handled as for CKM_AES_GCM ---- */

static CK_RV sgcm_init(crypto_op *op, const CK_MECHANISM *mech)
{
	const CK_GCM_PARAMS *p = mech->pParameter;
	const EVP_CIPHER *ecb;
	key_val key;
	CK_RV rv;

	if (p == NULL || mech->ulParameterLen != sizeof(*p))
		return CKR_MECHANISM_PARAM_INVALID;
	if (p->pIv == NULL || p->ulIvLen == 0)
		return CKR_MECHANISM_PARAM_INVALID;
	if (p->ulTagBits == 0 || p->ulTagBits > 128 || p->ulTagBits % 8)
		return CKR_MECHANISM_PARAM_INVALID;
	if (p->ulAADLen && p->pAAD == NULL)
		return CKR_MECHANISM_PARAM_INVALID;
	op->tag_len = p->ulTagBits / 8;
	rv = cipher_for_key(op->key, CMODE_ECB, &ecb);
	if (rv != CKR_OK)
		return rv;
	rv = key_secret(op->key, &key);
	if (rv == CKR_OK && key.len != (size_t)EVP_CIPHER_get_key_length(ecb))
		rv = CKR_GENERAL_ERROR;
	if (rv == CKR_OK)
		rv = gcm_ctx_new(ecb, key.v, p->pIv, p->ulIvLen, &op->gcm);
	key_val_free(&key);
	if (rv != CKR_OK)
		return rv;
	return gcm_ctx_aad(op->gcm, p->pAAD, p->ulAADLen);
}

static CK_RV sgcm_encrypt(crypto_op *op, const CK_BYTE *in, CK_ULONG in_len, CK_BYTE *out)
{
	return gcm_ctx_encrypt(op->gcm, in, in_len, out);
}

static CK_RV sgcm_encrypt_final(crypto_op *op, CK_BYTE *out, CK_ULONG *out_len)
{
	unsigned char tag[BLOCK];
	bool done;
	CK_RV rv = out_check(out, out_len, op->tag_len, &done);

	if (done || rv != CKR_OK)
		return rv;
	rv = gcm_ctx_tag(op->gcm, tag);
	if (rv == CKR_OK) {
		memcpy(out, tag, op->tag_len);
		*out_len = op->tag_len;
	}
	return rv;
}

/* Checks the tag of ct||tag, then decrypts into out (room checked by the
 * caller): no plaintext is written unless the tag matches. */
static CK_RV sgcm_open(crypto_op *op, const unsigned char *in, size_t in_len, CK_BYTE *out,
		       CK_ULONG *out_len)
{
	size_t ct_len = in_len - op->tag_len;
	unsigned char tag[BLOCK];
	CK_RV rv;

	rv = gcm_ctx_hash_ciphertext(op->gcm, in, ct_len);
	if (rv == CKR_DATA_LEN_RANGE)
		return CKR_ENCRYPTED_DATA_LEN_RANGE;
	if (rv == CKR_OK)
		rv = gcm_ctx_tag(op->gcm, tag);
	if (rv != CKR_OK)
		return rv;
	if (CRYPTO_memcmp(tag, in + ct_len, op->tag_len) != 0)
		return CKR_ENCRYPTED_DATA_INVALID;
	rv = gcm_ctx_decrypt(op->gcm, in, ct_len, out);
	if (rv == CKR_OK)
		*out_len = ct_len;
	return rv;
}

/* The framing every GCM shares, whatever computes it: tag length checks,
 * the output-size rules of crypto.h, single-part = update + final. */
CK_RV gcm_frame_update(const gcm_steps *g, crypto_op *op, const CK_BYTE *in, CK_ULONG in_len,
			CK_BYTE *out, CK_ULONG *out_len)
{
	bool done;
	CK_RV rv;

	if (in_len > 0x7fffffff)
		return CKR_DATA_LEN_RANGE;
	if (op->kind == OP_DECRYPT) {
		/* No plaintext leaves before the tag is checked at Final. A
		 * NULL output is a length query: nothing is consumed. */
		if (out == NULL) {
			*out_len = 0;
			return CKR_OK;
		}
		rv = op_buffer(op, in, in_len);
		if (rv == CKR_OK)
			*out_len = 0;
		return rv;
	}
	rv = out_check(out, out_len, in_len, &done);
	if (done || rv != CKR_OK)
		return rv;
	rv = g->encrypt(op, in, in_len, out);
	if (rv == CKR_OK)
		*out_len = in_len;
	return rv;
}

CK_RV gcm_frame_final(const gcm_steps *g, crypto_op *op, CK_BYTE *out, CK_ULONG *out_len)
{
	bool done;
	CK_RV rv;

	if (op->kind == OP_ENCRYPT)
		return g->encrypt_final(op, out, out_len);
	if (op->buf_len < op->tag_len)
		return CKR_ENCRYPTED_DATA_LEN_RANGE;
	rv = out_check(out, out_len, op->buf_len - op->tag_len, &done);
	if (done || rv != CKR_OK)
		return rv;
	return g->open(op, op->buf, op->buf_len, out, out_len);
}

CK_RV gcm_frame_oneshot(const gcm_steps *g, crypto_op *op, const CK_BYTE *in, CK_ULONG in_len,
			CK_BYTE *out, CK_ULONG *out_len)
{
	CK_ULONG n1, n2;
	bool done;
	CK_RV rv;

	if (in_len > 0x7fffffff)
		return op->kind == OP_ENCRYPT ? CKR_DATA_LEN_RANGE : CKR_ENCRYPTED_DATA_LEN_RANGE;
	if (op->kind == OP_DECRYPT) {
		if (in_len < op->tag_len)
			return CKR_ENCRYPTED_DATA_LEN_RANGE;
		rv = out_check(out, out_len, in_len - op->tag_len, &done);
		if (done || rv != CKR_OK)
			return rv;
		return g->open(op, in, in_len, out, out_len);
	}
	rv = out_check(out, out_len, in_len + op->tag_len, &done);
	if (done || rv != CKR_OK)
		return rv;
	n1 = in_len;
	rv = gcm_frame_update(g, op, in, in_len, out, &n1);
	if (rv != CKR_OK)
		return rv;
	n2 = op->tag_len;
	rv = g->encrypt_final(op, out + n1, &n2);
	if (rv == CKR_OK)
		*out_len = n1 + n2;
	return rv;
}

static const gcm_steps sgcm_steps = {sgcm_encrypt, sgcm_encrypt_final, sgcm_open};

static CK_RV sgcm_update(crypto_op *op, const CK_BYTE *in, CK_ULONG in_len, CK_BYTE *out,
			 CK_ULONG *out_len)
{
	return gcm_frame_update(&sgcm_steps, op, in, in_len, out, out_len);
}

static CK_RV sgcm_final(crypto_op *op, CK_BYTE *out, CK_ULONG *out_len)
{
	return gcm_frame_final(&sgcm_steps, op, out, out_len);
}

static CK_RV sgcm_oneshot(crypto_op *op, const CK_BYTE *in, CK_ULONG in_len, CK_BYTE *out,
			  CK_ULONG *out_len)
{
	return gcm_frame_oneshot(&sgcm_steps, op, in, in_len, out, out_len);
}

static void sgcm_cleanup(crypto_op *op)
{
	gcm_ctx_free(op->gcm);
	op->gcm = NULL;
}

const op_handler soft_gcm_handler = {
	.init = sgcm_init,
	.oneshot = sgcm_oneshot,
	.update = sgcm_update,
	.final = sgcm_final,
	.cleanup = sgcm_cleanup,
};
