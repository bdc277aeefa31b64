/* Private glue shared by the crypto layer's files (not for the session layer). */
#ifndef SEALKIT_CRYPTO_INTERNAL_H
#define SEALKIT_CRYPTO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>
#include "crypto.h"

/* Largest generic secret / HMAC key, in bytes. */
#define HMAC_KEY_MAX 4096

/* Hashes fetched once by crypto_init. */
typedef enum sk_md {
	MD_NONE,
	MD_SHA1,
	MD_SHA224,
	MD_SHA256,
	MD_SHA384,
	MD_SHA512,
	MD_SM3,
	MD_COUNT
} sk_md;

/* Block ciphers fetched once by crypto_init. */
typedef enum sk_calg { CALG_AES128, CALG_AES192, CALG_AES256, CALG_SM4, CALG_COUNT } sk_calg;
typedef enum sk_cmode {
	CMODE_ECB,
	CMODE_CBC,
	CMODE_CTR,
	CMODE_GCM,
	CMODE_WRAP,
	CMODE_WRAP_PAD,
	CMODE_COUNT
} sk_cmode;

/* Mechanism-specific variants, interpreted by the family's handler. */
enum {
	/* RSA */
	RSAV_PKCS = 1,
	RSAV_X509,
	RSAV_PSS,
	RSAV_OAEP,
	/* ciphers */
	CIPHV_ECB,
	CIPHV_CBC,
	CIPHV_CBC_PAD,
	CIPHV_ECB_PAD,
	CIPHV_CTR,
	/* HMAC */
	HMACV_FULL,
	HMACV_GENERAL,
	/* block cipher CBC-MAC */
	BMACV_HALF,
	BMACV_GENERAL
};

/* SM2 variants are behaviour bits, so vendor profiles can combine them. */
enum {
	SM2V_HASH = 0x100,   /* message in: the token computes e with SM3 */
	SM2V_Z = 0x200,      /* ...over Z||M (otherwise over M alone, as Sansec) */
	SM2V_DER = 0x400,    /* DER SEQUENCE{r,s} / GM/T 0009 ciphertext, not raw */
	SM2V_ENC = 0x800,    /* encryption, not signature */
	SM2V_C1C2C3 = 0x1000 /* raw ciphertext in the pre-2012 order */
};

typedef struct op_handler op_handler;
typedef struct gcm_ctx gcm_ctx;

/* One row of the mechanism table (mechanisms.c). */
typedef struct mech_def {
	CK_MECHANISM_TYPE type;
	CK_MECHANISM_INFO info;
	CK_KEY_TYPE gen_key_type; /* key generation: the key type made */
	const op_handler *ops;     /* NULL for key management mechanisms */
	CK_KEY_TYPE key_types[4];  /* accepted key types, 0-terminated... */
	unsigned n_key_types;      /* ...with this many entries */
	sk_md md;                  /* hash of digest / hash-and-sign / HMAC mechanisms */
	int variant;
	bool multipart;
} mech_def;

const mech_def *mech_find(CK_MECHANISM_TYPE type);
/* By operation code, bypassing the profile. */
const mech_def *mech_find_op(CK_MECHANISM_TYPE op);
bool mech_accepts_key_type(const mech_def *def, CK_KEY_TYPE kt);

/* The operation state, shared by every family (fields unused by a family stay zero). */
struct crypto_op {
	const mech_def *def;
	const op_handler *ops;
	op_kind kind;
	sk_object *key;
	EVP_PKEY *pkey;    /* our own reference (key_pkey), freed with the op */
	EVP_PKEY_CTX *pctx;
	EVP_MD_CTX *mdctx;
	EVP_MAC_CTX *mac;
	EVP_CIPHER_CTX *cctx;
	gcm_ctx *gcm;        /* our own GCM (block ciphers OpenSSL has no GCM for) */
	const EVP_MD *hash;  /* PSS / OAEP / hash-and-sign */
	const EVP_MD *mgf1;
	int salt_len;
	size_t out_size;     /* signature / MAC / block size, per family */
	size_t key_bytes;    /* modulus or field size in bytes */
	unsigned char iv[16];
	size_t iv_len;
	/* Bytes held back by a block mode (partial block, last block for unpadding). */
	unsigned char held[16];
	size_t held_len;
	/* Accumulated input (GCM decrypt, single-part-only helpers). */
	unsigned char *buf;
	size_t buf_len, buf_cap;
	/* A computed result the caller's buffer was too small for: kept so the
	 * retry returns the same bytes (randomised signatures, unpadded blocks). */
	unsigned char *pending;
	size_t pending_len;
	bool pending_set;
	unsigned char *label;
	size_t label_len;
	size_t tag_len;
	int variant;
	uint64_t ctr_left;   /* blocks left before a short CTR counter wraps */
	bool ctr_limited;
	bool started;        /* a multi-part operation has received data */
};

/* Each family implements what it supports; NULL entries are never reached
 * because crypto_op_new refuses unsupported kinds from the mechanism flags. */
struct op_handler {
	CK_RV (*init)(crypto_op *op, const CK_MECHANISM *mech);
	CK_RV (*oneshot)(crypto_op *op, const CK_BYTE *in, CK_ULONG in_len, CK_BYTE *out,
			 CK_ULONG *out_len);
	CK_RV (*update)(crypto_op *op, const CK_BYTE *in, CK_ULONG in_len, CK_BYTE *out,
			CK_ULONG *out_len);
	CK_RV (*final)(crypto_op *op, CK_BYTE *out, CK_ULONG *out_len);
	CK_RV (*verify)(crypto_op *op, const CK_BYTE *data, CK_ULONG data_len, const CK_BYTE *sig,
			CK_ULONG sig_len);
	CK_RV (*verify_final)(crypto_op *op, const CK_BYTE *sig, CK_ULONG sig_len);
	void (*cleanup)(crypto_op *op);
	/* MACs: the whole MAC of what update took (at most EVP_MAX_MD_SIZE
	 * bytes); the mac_* functions below answer with op->out_size of it. */
	CK_RV (*mac)(crypto_op *op, unsigned char *mac);
};

/* The single-part, final and verification steps every MAC shares (op.c). */
CK_RV mac_oneshot(crypto_op *op, const CK_BYTE *in, CK_ULONG in_len, CK_BYTE *out,
		  CK_ULONG *out_len);
CK_RV mac_final(crypto_op *op, CK_BYTE *out, CK_ULONG *out_len);
CK_RV mac_verify(crypto_op *op, const CK_BYTE *data, CK_ULONG data_len, const CK_BYTE *sig,
		 CK_ULONG sig_len);
CK_RV mac_verify_final(crypto_op *op, const CK_BYTE *sig, CK_ULONG sig_len);

extern const op_handler digest_handler;
extern const op_handler hmac_handler;
extern const op_handler ecdsa_handler;
extern const op_handler rsa_handler;
extern const op_handler cipher_handler;
extern const op_handler gcm_handler;
extern const op_handler soft_gcm_handler;
extern const op_handler block_mac_handler;
extern const op_handler sm2_handler;

/* crypto_init's fetched algorithms (never NULL after a successful init,
 * except SM algorithms a provider lacks). */
const EVP_MD *sk_evp_md(sk_md md);
const EVP_CIPHER *sk_evp_cipher(sk_calg alg, sk_cmode mode);
OSSL_LIB_CTX *sk_libctx(void);
EVP_MAC *sk_evp_hmac(void);
/* Makes sure crypto_init has run (unit tests and lazy callers). */
CK_RV crypto_ready(void);
/* The hash a CKM_SHA* / CKG_MGF1_* value names; MD_NONE if none. */
sk_md md_from_mech(CK_MECHANISM_TYPE m);
sk_md md_from_mgf(CK_ULONG mgf);

/* Output helpers for the convention of crypto.h: returns CKR_OK when the
 * caller's buffer can take `need` bytes, else sets *out_len and returns
 * a length-query CKR_OK (out == NULL) or CKR_BUFFER_TOO_SMALL. *done tells
 * the caller to return immediately. */
CK_RV out_check(CK_BYTE *out, CK_ULONG *out_len, size_t need, bool *done);

/* GCM framing shared by AES-GCM (OpenSSL) and SM4-GCM (gcm.c): only these
 * steps differ. */
typedef struct gcm_steps {
	/* Encrypts in_len bytes into out (which has room for them). */
	CK_RV (*encrypt)(crypto_op *op, const CK_BYTE *in, CK_ULONG in_len, CK_BYTE *out);
	CK_RV (*encrypt_final)(crypto_op *op, CK_BYTE *out, CK_ULONG *out_len);
	CK_RV (*open)(crypto_op *op, const unsigned char *in, size_t in_len, CK_BYTE *out,
		      CK_ULONG *out_len);
} gcm_steps;
CK_RV gcm_frame_update(const gcm_steps *g, crypto_op *op, const CK_BYTE *in, CK_ULONG in_len,
			CK_BYTE *out, CK_ULONG *out_len);
CK_RV gcm_frame_final(const gcm_steps *g, crypto_op *op, CK_BYTE *out, CK_ULONG *out_len);
CK_RV gcm_frame_oneshot(const gcm_steps *g, crypto_op *op, const CK_BYTE *in, CK_ULONG in_len,
			CK_BYTE *out, CK_ULONG *out_len);
/* Copies a prepared result respecting the same convention. */
CK_RV out_copy(const unsigned char *src, size_t len, CK_BYTE *out, CK_ULONG *out_len);
/* The pending-result helpers on an operation. */
CK_RV op_set_pending(crypto_op *op, const unsigned char *data, size_t len);
void op_clear_pending(crypto_op *op);
CK_RV op_buffer(crypto_op *op, const CK_BYTE *in, CK_ULONG len);
/* True when the mechanism carries no parameter (a NULL or empty one). */
static inline bool param_none(const CK_MECHANISM *m)
{
	return m->ulParameterLen == 0;
}

/* ---- keys (pkey.c) ---- */
typedef struct sk_curve {
	const char *name;        /* OpenSSL group name */
	const unsigned char *oid; /* DER of the OID, tag and length included */
	size_t oid_len;
	unsigned bits;
	bool sm2;
} sk_curve;

const sk_curve *curve_from_params(const void *der, CK_ULONG len);
const sk_curve *curve_by_name(const char *name);
/* The key's EVP_PKEY, built once and cached on the object. *out is the
 * caller's own reference (EVP_PKEY_free it): a logout may drop the cache's
 * at any time. */
CK_RV key_pkey(sk_object *key, EVP_PKEY **out);
/* The key's curve (EC and SM2 keys). */
CK_RV key_curve(sk_object *key, const sk_curve **out);
/* Secret key bytes (CKA_VALUE), copied out of the object: a logout may wipe
 * the object's own copy at any time. Short keys (every AES/SM4 key, most
 * HMAC ones) stay in `inl`, on the caller's stack; key_val_free wipes. */
typedef struct key_val {
	unsigned char *v;
	size_t len;
	size_t cap;
	unsigned char inl[128];
} key_val;
/* CKR_KEY_HANDLE_INVALID when the key has no value. Call key_val_free
 * whatever it returns. */
CK_RV key_secret(sk_object *key, key_val *kv);
void key_val_free(key_val *kv);
/* Size in the mechanism-info unit: bits for RSA/EC, bytes for secret keys. */
CK_RV key_size(sk_object *key, CK_ULONG *size);
/* Writes the attributes of an EVP_PKEY into a key object: public
 * (pub == true) or private attributes. */
CK_RV key_export(EVP_PKEY *pkey, const sk_curve *curve, sk_object *o, bool pub);
/* EVP_PKEY from raw parts (ECDH peer, tests). */
CK_RV pkey_from_ec_point(const sk_curve *curve, const unsigned char *pt, size_t pt_len,
			 EVP_PKEY **out);
/* Unwraps an optional DER OCTET STRING around an EC point. */
bool ec_point_unwrap(const unsigned char *in, size_t in_len, const unsigned char **pt,
		     size_t *pt_len, size_t field_bytes);
void key_cache_pkey(sk_object *o, EVP_PKEY *pkey);

/* ---- key management helpers (keys.c, ec.c) ---- */
/* Length of a derived/unwrapped secret key: CKA_VALUE_LEN of the template,
 * else dflt (0: the template must say), checked against the key type. */
CK_RV secret_target_len(sk_object *key, size_t dflt, size_t max, size_t *len);
/* Sets CKA_VALUE and CKA_VALUE_LEN. */
CK_RV secret_set(sk_object *key, const unsigned char *v, size_t len);
/* Checks a secret value's length against the key type. */
CK_RV secret_len_valid(CK_KEY_TYPE kt, size_t len);
CK_RV ecdh_derive(const CK_MECHANISM *mech, sk_object *base, sk_object *key);

/* ---- symmetric helpers (aes.c) ---- */
CK_RV cipher_for_key(sk_object *key, sk_cmode mode, const EVP_CIPHER **out);
/* op->cctx: the key's cipher in `mode`, keyed, without padding (we pad). */
CK_RV block_ctx_init(crypto_op *op, sk_cmode mode, const unsigned char *iv, int enc);

/* ---- GCM over a 128-bit block cipher's ECB (gcm.c) ----
 * Order of use: new, aad (any number of calls), then encrypt, or
 * hash_ciphertext + tag + decrypt; tag once at the end. */
CK_RV gcm_ctx_new(const EVP_CIPHER *ecb, const unsigned char *key, const unsigned char *iv,
		  size_t iv_len, gcm_ctx **out);
void gcm_ctx_free(gcm_ctx *g);
CK_RV gcm_ctx_aad(gcm_ctx *g, const unsigned char *aad, size_t len);
CK_RV gcm_ctx_encrypt(gcm_ctx *g, const unsigned char *in, size_t len, unsigned char *out);
/* Decryption: hash the ciphertext, check the tag, only then decrypt it. */
CK_RV gcm_ctx_hash_ciphertext(gcm_ctx *g, const unsigned char *ct, size_t len);
CK_RV gcm_ctx_decrypt(gcm_ctx *g, const unsigned char *ct, size_t len, unsigned char *out);
CK_RV gcm_ctx_tag(gcm_ctx *g, unsigned char tag[16]);

#endif
