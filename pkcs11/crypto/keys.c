/* Key generation, derivation and the consistency check of imported keys.
 * The object layer has built the objects from the templates already; we
 * check the size attributes and fill in the key material. */
#include "config.h"

#include <string.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "internal.h"

static bool is_hmac_type(CK_KEY_TYPE kt)
{
	return kt == CKK_GENERIC_SECRET || kt == CKK_SHA_1_HMAC || kt == CKK_SHA224_HMAC ||
	       kt == CKK_SHA256_HMAC || kt == CKK_SHA384_HMAC || kt == CKK_SHA512_HMAC;
}

CK_RV secret_len_valid(CK_KEY_TYPE kt, size_t len)
{
	if (kt == CKK_AES)
		return len == 16 || len == 24 || len == 32 ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
	if (kt == CKK_SM4)
		return len == 16 ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
	if (is_hmac_type(kt))
		return len > 0 ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
	return CKR_TEMPLATE_INCONSISTENT;
}

/* CKA_VALUE_LEN from the template; false when absent. */
static CK_RV value_len_attr(sk_object *key, CK_ULONG *len, bool *present)
{
	const void *v;
	CK_ULONG l;
	CK_RV rv = object_value(key, CKA_VALUE_LEN, &v, &l);

	*present = false;
	if (rv != CKR_OK || v == NULL)
		return rv;
	if (l != sizeof(CK_ULONG))
		return CKR_ATTRIBUTE_VALUE_INVALID;
	memcpy(len, v, sizeof(*len));
	*present = true;
	return CKR_OK;
}

CK_RV secret_target_len(sk_object *key, size_t dflt, size_t max, size_t *len)
{
	CK_ULONG want;
	bool present;
	CK_RV rv = value_len_attr(key, &want, &present);

	if (rv != CKR_OK)
		return rv;
	if (present) {
		if (want == 0 || want > max)
			return CKR_TEMPLATE_INCONSISTENT;
		*len = want;
	} else if (key->key_type == CKK_SM4) {
		*len = 16;
	} else if (dflt == 0 || (key->key_type == CKK_AES && secret_len_valid(CKK_AES, dflt))) {
		return CKR_TEMPLATE_INCOMPLETE;
	} else {
		*len = dflt;
	}
	if (*len > max)
		return CKR_TEMPLATE_INCONSISTENT;
	rv = secret_len_valid(key->key_type, *len);
	return rv == CKR_ATTRIBUTE_VALUE_INVALID ? CKR_TEMPLATE_INCONSISTENT : rv;
}

CK_RV secret_set(sk_object *key, const unsigned char *v, size_t len)
{
	CK_ULONG l = len;
	CK_RV rv = object_set_value(key, CKA_VALUE, v, len);

	return rv == CKR_OK ? object_set_value(key, CKA_VALUE_LEN, &l, sizeof(l)) : rv;
}

CK_RV crypto_generate_key(const CK_MECHANISM *mech, sk_object *key)
{
	const mech_def *def;
	unsigned char buf[HMAC_KEY_MAX];
	CK_ULONG len = 0;
	bool present;
	CK_RV rv;

	if (mech == NULL || key == NULL)
		return CKR_ARGUMENTS_BAD;
	rv = crypto_ready();
	if (rv != CKR_OK)
		return rv;
	def = mech_find(mech->mechanism);
	if (def == NULL || !(def->info.flags & CKF_GENERATE))
		return CKR_MECHANISM_INVALID;
	if (!param_none(mech))
		return CKR_MECHANISM_PARAM_INVALID;
	if (key->cls != CKO_SECRET_KEY)
		return CKR_TEMPLATE_INCONSISTENT;
	if (key->key_type != def->gen_key_type &&
	    !(def->gen_key_type == CKK_GENERIC_SECRET && is_hmac_type(key->key_type)))
		return CKR_TEMPLATE_INCONSISTENT;
	rv = value_len_attr(key, &len, &present);
	if (rv != CKR_OK)
		return rv;
	switch (def->gen_key_type) {
	case CKK_SM4:
		if (!present)
			len = 16;
		if (len != 16)
			return CKR_KEY_SIZE_RANGE;
		break;
	case CKK_AES:
		if (!present)
			return CKR_TEMPLATE_INCOMPLETE;
		if (len != 16 && len != 24 && len != 32)
			return CKR_KEY_SIZE_RANGE;
		break;
	default:
		if (!present)
			return CKR_TEMPLATE_INCOMPLETE;
		/* This mechanism's sizes are in bits. */
		if (len == 0 || len > sizeof(buf) || len * 8 < def->info.ulMinKeySize ||
		    len * 8 > def->info.ulMaxKeySize)
			return CKR_KEY_SIZE_RANGE;
	}
	if (RAND_priv_bytes(buf, (int)len) != 1)
		return CKR_FUNCTION_FAILED;
	rv = secret_set(key, buf, len);
	OPENSSL_cleanse(buf, sizeof(buf));
	return rv;
}

static CK_RV gen_ec(const mech_def *def, sk_object *pub, EVP_PKEY **pkey, const sk_curve **curve)
{
	const void *v;
	CK_ULONG len;
	EVP_PKEY_CTX *ctx = NULL;
	CK_RV rv = object_value(pub, CKA_EC_PARAMS, &v, &len);

	if (rv != CKR_OK)
		return rv;
	if (v == NULL) {
		if (def->type != CKM_SM2_KEY_PAIR_GEN)
			return CKR_TEMPLATE_INCOMPLETE;
		/* The public key says its curve like any EC key. */
		rv = attrs_put(&pub->attrs, CKA_EC_PARAMS, SK_SM2_OID_DER, SK_SM2_OID_DER_LEN);
		if (rv != CKR_OK)
			return rv;
		*curve = curve_from_params(SK_SM2_OID_DER, SK_SM2_OID_DER_LEN);
	} else {
		*curve = curve_from_params(v, len);
		if (*curve == NULL)
			return CKR_CURVE_NOT_SUPPORTED;
		if (def->type == CKM_SM2_KEY_PAIR_GEN && !(*curve)->sm2)
			return CKR_CURVE_NOT_SUPPORTED;
	}
	rv = CKR_FUNCTION_FAILED;
	ctx = EVP_PKEY_CTX_new_from_name(sk_libctx(), (*curve)->sm2 ? "SM2" : "EC", NULL);
	if (ctx == NULL || EVP_PKEY_keygen_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_group_name(ctx, (*curve)->name) <= 0 || EVP_PKEY_generate(ctx, pkey) <= 0)
		goto out;
	rv = CKR_OK;
out:
	EVP_PKEY_CTX_free(ctx);
	return rv;
}

static CK_RV gen_rsa(const mech_def *def, sk_object *pub, EVP_PKEY **pkey)
{
	const void *v;
	CK_ULONG len, bits;
	BIGNUM *e = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	CK_RV rv = object_value(pub, CKA_MODULUS_BITS, &v, &len);

	if (rv != CKR_OK)
		return rv;
	if (v == NULL)
		return CKR_TEMPLATE_INCOMPLETE;
	if (len != sizeof(CK_ULONG))
		return CKR_ATTRIBUTE_VALUE_INVALID;
	memcpy(&bits, v, sizeof(bits));
	if (bits < def->info.ulMinKeySize || bits > def->info.ulMaxKeySize)
		return CKR_KEY_SIZE_RANGE;
	rv = object_value(pub, CKA_PUBLIC_EXPONENT, &v, &len);
	if (rv != CKR_OK)
		return rv;
	e = BN_new();
	if (e == NULL)
		return CKR_HOST_MEMORY;
	if (v == NULL ? !BN_set_word(e, 65537) : BN_bin2bn(v, (int)len, e) == NULL) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	/* Odd, at least 3, and small enough to be a sane public exponent. */
	if (!BN_is_odd(e) || BN_is_one(e) || BN_num_bits(e) > 64) {
		rv = CKR_ATTRIBUTE_VALUE_INVALID;
		goto out;
	}
	rv = CKR_FUNCTION_FAILED;
	ctx = EVP_PKEY_CTX_new_from_name(sk_libctx(), "RSA", NULL);
	if (ctx == NULL || EVP_PKEY_keygen_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits) <= 0 ||
	    EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, e) <= 0 || EVP_PKEY_generate(ctx, pkey) <= 0)
		goto out;
	rv = CKR_OK;
out:
	EVP_PKEY_CTX_free(ctx);
	BN_free(e);
	return rv;
}

/* A CKK_EC key on the SM2 curve is an SM2 key (spec/pkcs11-sm.md 1.6: the
 * pair is accepted on input), so it reports the SM2 key type like one made
 * with the SM2 mechanisms. */
static CK_RV as_sm2_key(sk_object *o, const sk_curve *c)
{
	if (o->key_type != CKK_EC || !c->sm2)
		return CKR_OK;
	o->key_type = CKK_SM2;
	return attrs_put_ulong(&o->attrs, CKA_KEY_TYPE, CKK_SM2);
}

CK_RV crypto_generate_key_pair(const CK_MECHANISM *mech, sk_object *pub, sk_object *priv)
{
	const mech_def *def;
	const sk_curve *curve = NULL;
	EVP_PKEY *pkey = NULL;
	CK_RV rv;

	if (mech == NULL || pub == NULL || priv == NULL)
		return CKR_ARGUMENTS_BAD;
	rv = crypto_ready();
	if (rv != CKR_OK)
		return rv;
	def = mech_find(mech->mechanism);
	if (def == NULL || !(def->info.flags & CKF_GENERATE_KEY_PAIR))
		return CKR_MECHANISM_INVALID;
	if (!param_none(mech))
		return CKR_MECHANISM_PARAM_INVALID;
	if (pub->cls != CKO_PUBLIC_KEY || priv->cls != CKO_PRIVATE_KEY ||
	    pub->key_type != priv->key_type)
		return CKR_TEMPLATE_INCONSISTENT;
	switch (def->type) {
	case CKM_RSA_PKCS_KEY_PAIR_GEN:
		if (pub->key_type != CKK_RSA)
			return CKR_TEMPLATE_INCONSISTENT;
		rv = gen_rsa(def, pub, &pkey);
		break;
	case CKM_EC_KEY_PAIR_GEN:
	case CKM_SM2_KEY_PAIR_GEN:
		if (pub->key_type != CKK_EC && pub->key_type != CKK_SM2)
			return CKR_TEMPLATE_INCONSISTENT;
		rv = gen_ec(def, pub, &pkey, &curve);
		if (rv == CKR_OK && pub->key_type == CKK_SM2 && !curve->sm2)
			rv = CKR_TEMPLATE_INCONSISTENT;
		break;
	default:
		return CKR_MECHANISM_INVALID;
	}
	if (rv != CKR_OK)
		goto out;
	rv = key_export(pkey, curve, pub, true);
	if (rv == CKR_OK)
		rv = key_export(pkey, curve, priv, false);
	if (rv == CKR_OK && curve && (rv = as_sm2_key(pub, curve)) == CKR_OK)
		rv = as_sm2_key(priv, curve);
	/* The private half keeps the generated key: no re-parse on first use.
	 * The public half builds its own public-only key when needed. */
	if (rv == CKR_OK)
		key_cache_pkey(priv, pkey);
out:
	EVP_PKEY_free(pkey);
	return rv;
}

CK_RV crypto_derive_key(const CK_MECHANISM *mech, sk_object *base, sk_object *key)
{
	const mech_def *def;
	CK_RV rv;

	if (mech == NULL || base == NULL || key == NULL)
		return CKR_ARGUMENTS_BAD;
	rv = crypto_ready();
	if (rv != CKR_OK)
		return rv;
	def = mech_find(mech->mechanism);
	if (def == NULL || !(def->info.flags & CKF_DERIVE))
		return CKR_MECHANISM_INVALID;
	if (key->cls != CKO_SECRET_KEY)
		return CKR_TEMPLATE_INCONSISTENT;
	if (!mech_accepts_key_type(def, base->key_type))
		return CKR_KEY_TYPE_INCONSISTENT;
	return ecdh_derive(mech, base, key);
}

static CK_RV check_secret(sk_object *key)
{
	CK_ULONG len;
	CK_RV rv = object_secret_get(key, CKA_VALUE, NULL, 0, &len);

	if (rv != CKR_OK)
		return rv;
	if (len == CK_UNAVAILABLE_INFORMATION)
		return CKR_TEMPLATE_INCOMPLETE;
	rv = secret_len_valid(key->key_type, len);
	if (rv != CKR_OK)
		return rv;
	return object_set_value(key, CKA_VALUE_LEN, &len, sizeof(len));
}

static CK_RV check_ec(sk_object *key)
{
	const void *v;
	CK_ULONG len;
	const sk_curve *c;
	EVP_PKEY *pkey = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	CK_RV rv = object_value(key, CKA_EC_PARAMS, &v, &len);

	if (rv != CKR_OK)
		return rv;
	if (v == NULL && key->key_type != CKK_SM2)
		return CKR_TEMPLATE_INCOMPLETE;
	rv = key_curve(key, &c);
	if (rv == CKR_KEY_TYPE_INCONSISTENT)
		return CKR_TEMPLATE_INCONSISTENT;
	if (rv != CKR_OK || (rv = as_sm2_key(key, c)) != CKR_OK)
		return rv;
	if (key->cls == CKO_PRIVATE_KEY)
		rv = object_secret_get(key, CKA_VALUE, NULL, 0, &len);
	else if ((rv = object_value(key, CKA_EC_POINT, &v, &len)) == CKR_OK && v == NULL)
		len = CK_UNAVAILABLE_INFORMATION;
	if (rv != CKR_OK)
		return rv;
	if (len == CK_UNAVAILABLE_INFORMATION)
		return CKR_TEMPLATE_INCOMPLETE;
	rv = key_pkey(key, &pkey);
	if (rv != CKR_OK)
		return rv;
	if (key->cls == CKO_PRIVATE_KEY) {
		/* A given EC_POINT must be d*G. */
		rv = CKR_HOST_MEMORY;
		ctx = EVP_PKEY_CTX_new_from_pkey(sk_libctx(), pkey, NULL);
		if (ctx == NULL)
			goto out;
		rv = EVP_PKEY_pairwise_check(ctx) == 1 ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
		EVP_PKEY_CTX_free(ctx);
		if (rv != CKR_OK)
			goto out;
	}
	/* Normalises EC_POINT to the DER OCTET STRING of the uncompressed point
	 * and adds it to private keys. */
	rv = key_export(pkey, c, key, key->cls == CKO_PUBLIC_KEY);
out:
	EVP_PKEY_free(pkey);
	return rv;
}

static CK_RV check_rsa(sk_object *key)
{
	EVP_PKEY *pkey = NULL;
	EVP_PKEY_CTX *ctx;
	CK_ULONG len, bits;
	CK_RV rv = key_pkey(key, &pkey);

	if (rv != CKR_OK)
		return rv;
	bits = (CK_ULONG)EVP_PKEY_get_bits(pkey);
	if (bits < 512) {
		rv = CKR_ATTRIBUTE_VALUE_INVALID;
		goto out;
	}
	if (key->cls == CKO_PUBLIC_KEY) {
		rv = object_set_value(key, CKA_MODULUS_BITS, &bits, sizeof(bits));
		goto out;
	}
	/* Without the CRT parts there is nothing more to check. */
	rv = object_secret_get(key, CKA_PRIME_1, NULL, 0, &len);
	if (rv != CKR_OK || len == CK_UNAVAILABLE_INFORMATION)
		goto out;
	rv = CKR_HOST_MEMORY;
	ctx = EVP_PKEY_CTX_new_from_pkey(sk_libctx(), pkey, NULL);
	if (ctx == NULL)
		goto out;
	rv = EVP_PKEY_pairwise_check(ctx) == 1 ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
	EVP_PKEY_CTX_free(ctx);
out:
	EVP_PKEY_free(pkey);
	return rv;
}

CK_RV crypto_check_key(sk_object *key)
{
	CK_RV rv;

	if (key == NULL)
		return CKR_ARGUMENTS_BAD;
	rv = crypto_ready();
	if (rv != CKR_OK)
		return rv;
	switch (key->cls) {
	case CKO_SECRET_KEY:
		return check_secret(key);
	case CKO_PUBLIC_KEY:
	case CKO_PRIVATE_KEY:
		if (key->key_type == CKK_RSA)
			return check_rsa(key);
		if (key->key_type == CKK_EC || key->key_type == CKK_SM2)
			return check_ec(key);
		return CKR_TEMPLATE_INCONSISTENT;
	default:
		return CKR_OK;
	}
}
