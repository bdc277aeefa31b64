/* crypto_init and the crypto_op dispatch: mechanism, key and kind checks are
 * done here once; each family's handler does the rest. */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "internal.h"

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static bool inited;
static EVP_MD *mds[MD_COUNT];
static EVP_CIPHER *ciphers[CALG_COUNT][CMODE_COUNT];
static EVP_MAC *hmac;

static const char *const md_names[MD_COUNT] = {
	[MD_SHA1] = "SHA1",	[MD_SHA224] = "SHA2-224", [MD_SHA256] = "SHA2-256",
	[MD_SHA384] = "SHA2-384", [MD_SHA512] = "SHA2-512", [MD_SM3] = "SM3",
};

static const char *const cipher_names[CALG_COUNT][CMODE_COUNT] = {
	[CALG_AES128] = {"AES-128-ECB", "AES-128-CBC", "AES-128-CTR", "AES-128-GCM",
			 "AES-128-WRAP", "AES-128-WRAP-PAD"},
	[CALG_AES192] = {"AES-192-ECB", "AES-192-CBC", "AES-192-CTR", "AES-192-GCM",
			 "AES-192-WRAP", "AES-192-WRAP-PAD"},
	[CALG_AES256] = {"AES-256-ECB", "AES-256-CBC", "AES-256-CTR", "AES-256-GCM",
			 "AES-256-WRAP", "AES-256-WRAP-PAD"},
	[CALG_SM4] = {"SM4-ECB", "SM4-CBC", "SM4-CTR", NULL, NULL, NULL},
};

static void release_all(void)
{
	EVP_MAC_free(hmac);
	hmac = NULL;
	for (int i = 0; i < MD_COUNT; i++) {
		EVP_MD_free(mds[i]);
		mds[i] = NULL;
	}
	for (int a = 0; a < CALG_COUNT; a++)
		for (int m = 0; m < CMODE_COUNT; m++) {
			EVP_CIPHER_free(ciphers[a][m]);
			ciphers[a][m] = NULL;
		}
}

CK_RV crypto_init(void)
{
	CK_RV rv = CKR_OK;

	pthread_mutex_lock(&init_lock);
	if (inited)
		goto out;
	for (int i = MD_SHA1; i < MD_COUNT; i++) {
		mds[i] = EVP_MD_fetch(NULL, md_names[i], NULL);
		/* SM3 may be missing from a FIPS-only configuration: its
		 * mechanisms then report CKR_MECHANISM_INVALID. */
		if (mds[i] == NULL && i != MD_SM3) {
			rv = CKR_GENERAL_ERROR;
			goto out;
		}
	}
	for (int a = 0; a < CALG_COUNT; a++)
		for (int m = 0; m < CMODE_COUNT; m++) {
			if (cipher_names[a][m] == NULL)
				continue;
			ciphers[a][m] = EVP_CIPHER_fetch(NULL, cipher_names[a][m], NULL);
			if (ciphers[a][m] == NULL && a != CALG_SM4) {
				rv = CKR_GENERAL_ERROR;
				goto out;
			}
		}
	hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (hmac == NULL) {
		rv = CKR_GENERAL_ERROR;
		goto out;
	}
	__atomic_store_n(&inited, true, __ATOMIC_RELEASE);
out:
	if (rv != CKR_OK)
		release_all();
	pthread_mutex_unlock(&init_lock);
	return rv;
}

void crypto_fini(void)
{
	pthread_mutex_lock(&init_lock);
	if (inited)
		release_all();
	__atomic_store_n(&inited, false, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&init_lock);
}

CK_RV crypto_ready(void)
{
	/* Racy read is fine: crypto_init itself is serialised and idempotent. */
	if (__atomic_load_n(&inited, __ATOMIC_ACQUIRE))
		return CKR_OK;
	return crypto_init();
}

OSSL_LIB_CTX *sk_libctx(void)
{
	return NULL;
}

const EVP_MD *sk_evp_md(sk_md md)
{
	return md > MD_NONE && md < MD_COUNT ? mds[md] : NULL;
}

EVP_MAC *sk_evp_hmac(void)
{
	return hmac;
}

const EVP_CIPHER *sk_evp_cipher(sk_calg alg, sk_cmode mode)
{
	return ciphers[alg][mode];
}

sk_md md_from_mech(CK_MECHANISM_TYPE m)
{
	switch (m) {
	case CKM_SHA_1:
		return MD_SHA1;
	case CKM_SHA224:
		return MD_SHA224;
	case CKM_SHA256:
		return MD_SHA256;
	case CKM_SHA384:
		return MD_SHA384;
	case CKM_SHA512:
		return MD_SHA512;
	case CKM_SM3:
		return MD_SM3;
	default:
		return MD_NONE;
	}
}

sk_md md_from_mgf(CK_ULONG mgf)
{
	switch (mgf) {
	case CKG_MGF1_SHA1:
		return MD_SHA1;
	case CKG_MGF1_SHA224:
		return MD_SHA224;
	case CKG_MGF1_SHA256:
		return MD_SHA256;
	case CKG_MGF1_SHA384:
		return MD_SHA384;
	case CKG_MGF1_SHA512:
		return MD_SHA512;
	default:
		return MD_NONE;
	}
}

CK_RV out_check(CK_BYTE *out, CK_ULONG *out_len, size_t need, bool *done)
{
	*done = false;
	if (out_len == NULL)
		return CKR_ARGUMENTS_BAD;
	if (out == NULL) {
		*out_len = need;
		*done = true;
		return CKR_OK;
	}
	if (*out_len < need) {
		*out_len = need;
		*done = true;
		return CKR_BUFFER_TOO_SMALL;
	}
	return CKR_OK;
}

CK_RV out_copy(const unsigned char *src, size_t len, CK_BYTE *out, CK_ULONG *out_len)
{
	bool done;
	CK_RV rv = out_check(out, out_len, len, &done);

	if (done || rv != CKR_OK)
		return rv;
	if (len)
		memcpy(out, src, len);
	*out_len = len;
	return CKR_OK;
}

CK_RV op_set_pending(crypto_op *op, const unsigned char *data, size_t len)
{
	op_clear_pending(op);
	op->pending = OPENSSL_malloc(len ? len : 1);
	if (op->pending == NULL)
		return CKR_HOST_MEMORY;
	if (len)
		memcpy(op->pending, data, len);
	op->pending_len = len;
	op->pending_set = true;
	return CKR_OK;
}

void op_clear_pending(crypto_op *op)
{
	if (op->pending)
		OPENSSL_clear_free(op->pending, op->pending_len);
	op->pending = NULL;
	op->pending_len = 0;
	op->pending_set = false;
}

CK_RV op_buffer(crypto_op *op, const CK_BYTE *in, CK_ULONG len)
{
	if (len == 0)
		return CKR_OK;
	if (op->buf_len + len < op->buf_len)
		return CKR_DATA_LEN_RANGE;
	if (op->buf_len + len > op->buf_cap) {
		size_t cap = op->buf_cap ? op->buf_cap : 256;
		unsigned char *nb;

		while (cap < op->buf_len + len)
			cap *= 2;
		/* Not realloc: the old buffer may hold plaintext to wipe. */
		nb = OPENSSL_malloc(cap);
		if (nb == NULL)
			return CKR_HOST_MEMORY;
		if (op->buf_len)
			memcpy(nb, op->buf, op->buf_len);
		OPENSSL_clear_free(op->buf, op->buf_cap);
		op->buf = nb;
		op->buf_cap = cap;
	}
	memcpy(op->buf + op->buf_len, in, len);
	op->buf_len += len;
	return CKR_OK;
}

static CK_FLAGS kind_flag(op_kind kind)
{
	static const CK_FLAGS flags[OP_KINDS] = {
		[OP_ENCRYPT] = CKF_ENCRYPT,	    [OP_DECRYPT] = CKF_DECRYPT,
		[OP_DIGEST] = CKF_DIGEST,	    [OP_SIGN] = CKF_SIGN,
		[OP_VERIFY] = CKF_VERIFY,	    [OP_SIGN_RECOVER] = CKF_SIGN_RECOVER,
		[OP_VERIFY_RECOVER] = CKF_VERIFY_RECOVER,
	};
	return (unsigned)kind < OP_KINDS ? flags[kind] : 0;
}

/* Asymmetric operations need the right half of the pair. */
static CK_RV check_class(op_kind kind, sk_object *key)
{
	bool asym = key->key_type == CKK_RSA || key->key_type == CKK_EC ||
		    key->key_type == CKK_SM2;

	if (!asym)
		return key->cls == CKO_SECRET_KEY ? CKR_OK : CKR_KEY_TYPE_INCONSISTENT;
	switch (kind) {
	case OP_SIGN:
	case OP_DECRYPT:
	case OP_SIGN_RECOVER:
		return key->cls == CKO_PRIVATE_KEY ? CKR_OK : CKR_KEY_TYPE_INCONSISTENT;
	default:
		return key->cls == CKO_PUBLIC_KEY ? CKR_OK : CKR_KEY_TYPE_INCONSISTENT;
	}
}

CK_RV crypto_op_new(op_kind kind, const CK_MECHANISM *mech, sk_object *key, crypto_op **out)
{
	const mech_def *def;
	crypto_op *op = NULL;
	CK_ULONG size;
	CK_RV rv;

	if (mech == NULL || out == NULL)
		return CKR_ARGUMENTS_BAD;
	*out = NULL;
	rv = crypto_ready();
	if (rv != CKR_OK)
		return rv;
	def = mech_find(mech->mechanism);
	if (def == NULL || def->ops == NULL || !(def->info.flags & kind_flag(kind)))
		return CKR_MECHANISM_INVALID;
	if (mech->ulParameterLen != 0 && mech->pParameter == NULL)
		return CKR_MECHANISM_PARAM_INVALID;
	if (kind != OP_DIGEST) {
		if (key == NULL)
			return CKR_KEY_HANDLE_INVALID;
		/* CKM_ECDSA on an SM2 key signs the given digest with SM2 (raw
		 * r||s, as CKM_ECDSA answers): the one way to sign SM2 through
		 * clients that pass only standard codes, such as p11-kit's RPC. */
		const sk_curve *c;
		if (def->type == CKM_ECDSA && (kind == OP_SIGN || kind == OP_VERIFY) &&
		    (key->key_type == CKK_SM2 || key->key_type == CKK_EC) &&
		    key_curve(key, &c) == CKR_OK && c->sm2)
			def = mech_find_op(CKM_SM2);
		if (!mech_accepts_key_type(def, key->key_type))
			return CKR_KEY_TYPE_INCONSISTENT;
		rv = check_class(kind, key);
		if (rv != CKR_OK)
			return rv;
		rv = key_size(key, &size);
		if (rv != CKR_OK)
			return rv;
		if (size < def->info.ulMinKeySize ||
		    (def->info.ulMaxKeySize && size > def->info.ulMaxKeySize))
			return CKR_KEY_SIZE_RANGE;
	}

	op = OPENSSL_zalloc(sizeof(*op));
	if (op == NULL)
		return CKR_HOST_MEMORY;
	op->def = def;
	op->ops = def->ops;
	op->kind = kind;
	op->variant = def->variant;
	if (kind != OP_DIGEST) {
		object_ref(key);
		op->key = key;
	}
	rv = op->ops->init(op, mech);
	if (rv != CKR_OK)
		goto out;
	*out = op;
	op = NULL;
out:
	crypto_op_free(op);
	return rv;
}

void crypto_op_free(crypto_op *op)
{
	if (op == NULL)
		return;
	if (op->ops && op->ops->cleanup)
		op->ops->cleanup(op);
	/* The MD context may borrow pctx (SM2 with its ID): free it first. */
	EVP_MD_CTX_free(op->mdctx);
	EVP_PKEY_CTX_free(op->pctx);
	EVP_MAC_CTX_free(op->mac);
	EVP_CIPHER_CTX_free(op->cctx);
	op_clear_pending(op);
	if (op->buf)
		OPENSSL_clear_free(op->buf, op->buf_cap);
	OPENSSL_free(op->label);
	EVP_PKEY_free(op->pkey);
	if (op->key)
		object_unref(op->key);
	OPENSSL_cleanse(op, sizeof(*op));
	OPENSSL_free(op);
}

CK_RV crypto_op_oneshot(crypto_op *op, const CK_BYTE *in, CK_ULONG in_len, CK_BYTE *out,
			CK_ULONG *out_len)
{
	if (op == NULL || out_len == NULL || (in == NULL && in_len != 0))
		return CKR_ARGUMENTS_BAD;
	if (op->ops->oneshot == NULL)
		return CKR_FUNCTION_NOT_SUPPORTED;
	return op->ops->oneshot(op, in, in_len, out, out_len);
}

CK_RV crypto_op_update(crypto_op *op, const CK_BYTE *in, CK_ULONG in_len, CK_BYTE *out,
		       CK_ULONG *out_len)
{
	if (op == NULL || (in == NULL && in_len != 0))
		return CKR_ARGUMENTS_BAD;
	if (op->ops->update == NULL || !op->def->multipart)
		return CKR_FUNCTION_NOT_SUPPORTED;
	if ((op->kind == OP_ENCRYPT || op->kind == OP_DECRYPT) && out_len == NULL)
		return CKR_ARGUMENTS_BAD;
	return op->ops->update(op, in, in_len, out, out_len);
}

CK_RV crypto_op_final(crypto_op *op, CK_BYTE *out, CK_ULONG *out_len)
{
	if (op == NULL || out_len == NULL)
		return CKR_ARGUMENTS_BAD;
	if (op->ops->final == NULL || !op->def->multipart)
		return CKR_FUNCTION_NOT_SUPPORTED;
	return op->ops->final(op, out, out_len);
}

bool crypto_op_multipart(const crypto_op *op)
{
	return op != NULL && op->def->multipart && op->ops->update != NULL &&
	       op->kind != OP_SIGN_RECOVER && op->kind != OP_VERIFY_RECOVER;
}

CK_RV crypto_op_verify(crypto_op *op, const CK_BYTE *data, CK_ULONG data_len, const CK_BYTE *sig,
		       CK_ULONG sig_len)
{
	if (op == NULL || (data == NULL && data_len != 0) || (sig == NULL && sig_len != 0))
		return CKR_ARGUMENTS_BAD;
	if (op->kind != OP_VERIFY || op->ops->verify == NULL)
		return CKR_OPERATION_NOT_INITIALIZED;
	return op->ops->verify(op, data, data_len, sig, sig_len);
}

CK_RV crypto_op_verify_final(crypto_op *op, const CK_BYTE *sig, CK_ULONG sig_len)
{
	if (op == NULL || (sig == NULL && sig_len != 0))
		return CKR_ARGUMENTS_BAD;
	if (op->kind != OP_VERIFY || op->ops->verify_final == NULL || !op->def->multipart)
		return CKR_OPERATION_NOT_INITIALIZED;
	return op->ops->verify_final(op, sig, sig_len);
}

/* ---- what every MAC (HMAC, block cipher CBC-MAC) shares ---- */

CK_RV mac_final(crypto_op *op, CK_BYTE *out, CK_ULONG *out_len)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	bool done;
	CK_RV rv = out_check(out, out_len, op->out_size, &done);

	if (done || rv != CKR_OK)
		return rv;
	rv = op->ops->mac(op, mac);
	if (rv == CKR_OK) {
		memcpy(out, mac, op->out_size);
		*out_len = op->out_size;
	}
	OPENSSL_cleanse(mac, sizeof(mac));
	return rv;
}

CK_RV mac_oneshot(crypto_op *op, const CK_BYTE *in, CK_ULONG in_len, CK_BYTE *out,
		  CK_ULONG *out_len)
{
	bool done;
	CK_RV rv = out_check(out, out_len, op->out_size, &done);

	if (done || rv != CKR_OK)
		return rv;
	rv = op->ops->update(op, in, in_len, NULL, NULL);
	return rv == CKR_OK ? mac_final(op, out, out_len) : rv;
}

CK_RV mac_verify_final(crypto_op *op, const CK_BYTE *sig, CK_ULONG sig_len)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	CK_RV rv;

	if (sig_len != op->out_size)
		return CKR_SIGNATURE_LEN_RANGE;
	rv = op->ops->mac(op, mac);
	if (rv == CKR_OK && CRYPTO_memcmp(mac, sig, sig_len) != 0)
		rv = CKR_SIGNATURE_INVALID;
	OPENSSL_cleanse(mac, sizeof(mac));
	return rv;
}

CK_RV mac_verify(crypto_op *op, const CK_BYTE *data, CK_ULONG data_len, const CK_BYTE *sig,
		 CK_ULONG sig_len)
{
	CK_RV rv;

	if (sig_len != op->out_size)
		return CKR_SIGNATURE_LEN_RANGE;
	rv = op->ops->update(op, data, data_len, NULL, NULL);
	return rv == CKR_OK ? mac_verify_final(op, sig, sig_len) : rv;
}
