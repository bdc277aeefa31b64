/* C_WrapKey / C_UnwrapKey with CKM_AES_KEY_WRAP (RFC 3394),
 * CKM_AES_KEY_WRAP_PAD (RFC 5649) and CKM_AES_CBC_PAD.
 *
 * Secret keys travel as their CKA_VALUE, private keys as PKCS#8 DER. RFC 3394
 * needs a multiple of 8 bytes: a private key's DER is zero-padded, which
 * unwrap tolerates because DER carries its own length. */
#include "config.h"

#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "internal.h"

typedef struct blob {
	unsigned char *p;
	size_t len;
} blob;

static void blob_free(blob *b)
{
	if (b->p)
		OPENSSL_clear_free(b->p, b->len);
	b->p = NULL;
	b->len = 0;
}

static CK_RV wrapping_key_ok(sk_object *wkey, const CK_MECHANISM *mech, bool wrap)
{
	const mech_def *def = mech_find(mech->mechanism);

	if (def == NULL || !(def->info.flags & (wrap ? CKF_WRAP : CKF_UNWRAP)))
		return CKR_MECHANISM_INVALID;
	if (wkey->cls != CKO_SECRET_KEY || !mech_accepts_key_type(def, wkey->key_type))
		return wrap ? CKR_WRAPPING_KEY_TYPE_INCONSISTENT
			    : CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT;
	return CKR_OK;
}

/* The bytes that represent a key inside a wrapping. */
static CK_RV key_bytes(sk_object *key, bool pad8, blob *out)
{
	key_val v;
	size_t len;
	EVP_PKEY *pkey;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	unsigned char *der = NULL;
	int n;
	CK_RV rv;

	if (key->cls == CKO_SECRET_KEY) {
		rv = key_secret(key, &v);
		if (rv == CKR_KEY_HANDLE_INVALID)
			rv = CKR_KEY_NOT_WRAPPABLE;
		else if (rv == CKR_OK && pad8 && (v.len % 8 || v.len < 16))
			rv = CKR_KEY_SIZE_RANGE;
		if (rv == CKR_OK) {
			out->p = OPENSSL_memdup(v.v, v.len);
			out->len = v.len;
			rv = out->p ? CKR_OK : CKR_HOST_MEMORY;
		}
		key_val_free(&v);
		return rv;
	}
	if (key->cls != CKO_PRIVATE_KEY)
		return CKR_KEY_NOT_WRAPPABLE;
	rv = key_pkey(key, &pkey);
	if (rv != CKR_OK)
		return rv;
	p8 = EVP_PKEY2PKCS8(pkey);
	EVP_PKEY_free(pkey);
	if (p8 == NULL)
		return CKR_KEY_NOT_WRAPPABLE;
	n = i2d_PKCS8_PRIV_KEY_INFO(p8, &der);
	PKCS8_PRIV_KEY_INFO_free(p8);
	if (n <= 0)
		return CKR_GENERAL_ERROR;
	len = (size_t)n;
	out->len = pad8 ? (len + 7) / 8 * 8 : len;
	out->p = OPENSSL_zalloc(out->len);
	if (out->p != NULL)
		memcpy(out->p, der, len);
	OPENSSL_clear_free(der, len);
	return out->p ? CKR_OK : CKR_HOST_MEMORY;
}

/* One-shot RFC 3394/5649 through OpenSSL's wrap ciphers. */
static CK_RV kw_run(const CK_MECHANISM *mech, sk_object *wkey, bool enc, const unsigned char *in,
		    size_t in_len, unsigned char *out, size_t *out_len)
{
	sk_cmode mode = mech->mechanism == CKM_AES_KEY_WRAP ? CMODE_WRAP : CMODE_WRAP_PAD;
	size_t iv_len = mode == CMODE_WRAP ? 8 : 4;
	const EVP_CIPHER *cipher;
	key_val key;
	EVP_CIPHER_CTX *ctx = NULL;
	int n1, n2;
	CK_RV rv;

	if (!param_none(mech) && mech->ulParameterLen != iv_len)
		return CKR_MECHANISM_PARAM_INVALID;
	rv = cipher_for_key(wkey, mode, &cipher);
	if (rv != CKR_OK)
		return rv;
	rv = key_secret(wkey, &key);
	if (rv != CKR_OK)
		goto out;
	rv = CKR_HOST_MEMORY;
	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL)
		goto out;
	EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	rv = CKR_GENERAL_ERROR;
	if (key.len != (size_t)EVP_CIPHER_get_key_length(cipher) ||
	    !EVP_CipherInit_ex2(ctx, cipher, key.v, param_none(mech) ? NULL : mech->pParameter, enc,
				NULL))
		goto out;
	/* On unwrap a failed integrity check shows up here. */
	if (EVP_CipherUpdate(ctx, out, &n1, in, (int)in_len) <= 0 ||
	    EVP_CipherFinal_ex(ctx, out + n1, &n2) <= 0) {
		rv = enc ? CKR_GENERAL_ERROR : CKR_WRAPPED_KEY_INVALID;
		goto out;
	}
	*out_len = (size_t)n1 + (size_t)n2;
	rv = CKR_OK;
out:
	key_val_free(&key);
	EVP_CIPHER_CTX_free(ctx);
	return rv;
}

/* CBC-PAD wrapping reuses the cipher operation; its error codes become the
 * wrapping ones. */
static CK_RV cbc_run(const CK_MECHANISM *mech, sk_object *wkey, bool enc, const unsigned char *in,
		     size_t in_len, unsigned char *out, CK_ULONG *out_len)
{
	crypto_op *op;
	CK_RV rv = crypto_op_new(enc ? OP_ENCRYPT : OP_DECRYPT, mech, wkey, &op);

	if (rv == CKR_OK) {
		rv = crypto_op_oneshot(op, in, in_len, out, out_len);
		crypto_op_free(op);
	}
	switch (rv) {
	case CKR_KEY_TYPE_INCONSISTENT:
		return enc ? CKR_WRAPPING_KEY_TYPE_INCONSISTENT
			   : CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT;
	case CKR_KEY_SIZE_RANGE:
		return enc ? CKR_WRAPPING_KEY_SIZE_RANGE : CKR_UNWRAPPING_KEY_SIZE_RANGE;
	case CKR_ENCRYPTED_DATA_LEN_RANGE:
		return CKR_WRAPPED_KEY_LEN_RANGE;
	case CKR_ENCRYPTED_DATA_INVALID:
		return CKR_WRAPPED_KEY_INVALID;
	default:
		return rv;
	}
}

static size_t wrapped_size(CK_MECHANISM_TYPE m, size_t len)
{
	switch (m) {
	case CKM_AES_KEY_WRAP:
		return len + 8;
	case CKM_AES_KEY_WRAP_PAD:
		return (len + 7) / 8 * 8 + 8;
	default:
		return (len / 16 + 1) * 16;
	}
}

CK_RV crypto_wrap_key(const CK_MECHANISM *mech, sk_object *wkey, sk_object *key, CK_BYTE *out,
		      CK_ULONG *out_len)
{
	blob data = {NULL, 0};
	size_t need, n;
	bool done;
	CK_RV rv;

	if (mech == NULL || wkey == NULL || key == NULL || out_len == NULL)
		return CKR_ARGUMENTS_BAD;
	rv = crypto_ready();
	if (rv != CKR_OK)
		return rv;
	rv = wrapping_key_ok(wkey, mech, true);
	if (rv != CKR_OK)
		return rv;
	rv = key_bytes(key, mech->mechanism == CKM_AES_KEY_WRAP, &data);
	if (rv != CKR_OK)
		goto out;
	need = wrapped_size(mech->mechanism, data.len);
	rv = out_check(out, out_len, need, &done);
	if (done || rv != CKR_OK)
		goto out;
	if (mech->mechanism == CKM_AES_CBC_PAD) {
		rv = cbc_run(mech, wkey, true, data.p, data.len, out, out_len);
	} else {
		rv = kw_run(mech, wkey, true, data.p, data.len, out, &n);
		if (rv == CKR_OK)
			*out_len = n;
	}
out:
	blob_free(&data);
	return rv;
}

static CK_RV unwrap_private(sk_object *key, const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)len);
	EVP_PKEY *pkey = NULL;
	const sk_curve *c = NULL;
	char group[64];
	CK_RV rv = CKR_WRAPPED_KEY_INVALID;

	if (p8 == NULL)
		return rv;
	/* Only RFC 3394 zero padding may follow the DER. */
	for (const unsigned char *q = p; q < der + len; q++)
		if (*q != 0)
			goto out;
	pkey = EVP_PKCS82PKEY_ex(p8, sk_libctx(), NULL);
	if (pkey == NULL)
		goto out;
	if (key->key_type == CKK_RSA) {
		if (!EVP_PKEY_is_a(pkey, "RSA"))
			goto out;
	} else if (key->key_type == CKK_EC || key->key_type == CKK_SM2) {
		if (!EVP_PKEY_is_a(pkey, "EC") && !EVP_PKEY_is_a(pkey, "SM2"))
			goto out;
		if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
						    sizeof(group), NULL))
			goto out;
		c = curve_by_name(group);
		if (c == NULL) {
			rv = CKR_CURVE_NOT_SUPPORTED;
			goto out;
		}
		if (key->key_type == CKK_SM2 && !c->sm2)
			goto out;
	} else {
		rv = CKR_TEMPLATE_INCONSISTENT;
		goto out;
	}
	/* Not cached: an SM2-curve key decodes as "EC", and key_pkey builds
	 * the right kind from the attributes on first use. */
	rv = key_export(pkey, c, key, false);
out:
	EVP_PKEY_free(pkey);
	PKCS8_PRIV_KEY_INFO_free(p8);
	return rv;
}

CK_RV crypto_unwrap_key(const CK_MECHANISM *mech, sk_object *ukey, const CK_BYTE *in,
			CK_ULONG in_len, sk_object *key)
{
	unsigned char *plain = NULL;
	size_t plain_len = 0, want;
	CK_ULONG n;
	CK_RV rv;

	if (mech == NULL || ukey == NULL || key == NULL || (in == NULL && in_len != 0))
		return CKR_ARGUMENTS_BAD;
	rv = crypto_ready();
	if (rv != CKR_OK)
		return rv;
	rv = wrapping_key_ok(ukey, mech, false);
	if (rv != CKR_OK)
		return rv;
	switch (mech->mechanism) {
	case CKM_AES_KEY_WRAP:
		if (in_len % 8 || in_len < 24)
			return CKR_WRAPPED_KEY_LEN_RANGE;
		break;
	case CKM_AES_KEY_WRAP_PAD:
		if (in_len % 8 || in_len < 16)
			return CKR_WRAPPED_KEY_LEN_RANGE;
		break;
	default:
		if (in_len % 16 || in_len == 0)
			return CKR_WRAPPED_KEY_LEN_RANGE;
	}
	plain = OPENSSL_malloc(in_len);
	if (plain == NULL)
		return CKR_HOST_MEMORY;
	if (mech->mechanism == CKM_AES_CBC_PAD) {
		n = in_len;
		rv = cbc_run(mech, ukey, false, in, in_len, plain, &n);
		plain_len = n;
	} else {
		rv = kw_run(mech, ukey, false, in, in_len, plain, &plain_len);
	}
	if (rv != CKR_OK)
		goto out;
	if (key->cls == CKO_SECRET_KEY) {
		/* CKA_VALUE_LEN, if the template gives it, may shorten the value. */
		rv = secret_target_len(key, plain_len, plain_len, &want);
		if (rv == CKR_OK)
			rv = secret_set(key, plain, want);
	} else if (key->cls == CKO_PRIVATE_KEY) {
		rv = unwrap_private(key, plain, plain_len);
	} else {
		rv = CKR_TEMPLATE_INCONSISTENT;
	}
out:
	OPENSSL_clear_free(plain, in_len);
	return rv;
}
