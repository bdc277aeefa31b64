/* Key objects <-> OpenSSL keys: curves, EVP_PKEY built once per object and
 * cached on it, and the attributes written back after generation/unwrap. */
#include "config.h"

#include <string.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>

#include "internal.h"
#include "../attributes.h"

static const unsigned char oid_p256[] = {0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07};
static const unsigned char oid_p384[] = {0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x22};
static const unsigned char oid_p521[] = {0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x23};
static const unsigned char oid_sm2[] = {0x06, 0x08, 0x2A, 0x81, 0x1C, 0xCF, 0x55, 0x01, 0x82, 0x2D};

static const sk_curve curves[] = {
	{"prime256v1", oid_p256, sizeof(oid_p256), 256, false},
	{"secp384r1", oid_p384, sizeof(oid_p384), 384, false},
	{"secp521r1", oid_p521, sizeof(oid_p521), 521, false},
	{"SM2", oid_sm2, sizeof(oid_sm2), 256, true},
};

static int curve_nid(const sk_curve *c)
{
	if (c->sm2)
		return NID_sm2;
	switch (c->bits) {
	case 256:
		return NID_X9_62_prime256v1;
	case 384:
		return NID_secp384r1;
	default:
		return NID_secp521r1;
	}
}

const sk_curve *curve_from_params(const void *der, CK_ULONG len)
{
	for (size_t i = 0; der != NULL && i < sizeof(curves) / sizeof(curves[0]); i++)
		if (len == curves[i].oid_len && memcmp(der, curves[i].oid, len) == 0)
			return &curves[i];
	return NULL;
}

const sk_curve *curve_by_name(const char *name)
{
	for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
		if (strcmp(name, curves[i].name) == 0)
			return &curves[i];
	/* OpenSSL's other names for the same groups. */
	if (strcmp(name, "P-256") == 0 || strcmp(name, "secp256r1") == 0)
		return &curves[0];
	if (strcmp(name, "P-384") == 0)
		return &curves[1];
	if (strcmp(name, "P-521") == 0)
		return &curves[2];
	return NULL;
}

CK_RV key_curve(sk_object *key, const sk_curve **out)
{
	const void *v;
	CK_ULONG len;
	CK_RV rv = object_value(key, CKA_EC_PARAMS, &v, &len);

	if (rv != CKR_OK)
		return rv;
	if (v == NULL && key->key_type == CKK_SM2) {
		*out = &curves[3];
		return CKR_OK;
	}
	*out = curve_from_params(v, len);
	if (*out == NULL)
		return CKR_CURVE_NOT_SUPPORTED;
	/* An SM2 key is on the SM2 curve, whatever its params claim. */
	if (key->key_type == CKK_SM2 && !(*out)->sm2)
		return CKR_KEY_TYPE_INCONSISTENT;
	return CKR_OK;
}

CK_RV key_secret(sk_object *key, key_val *kv)
{
	CK_ULONG l;
	CK_RV rv;

	kv->v = kv->inl;
	kv->len = 0;
	kv->cap = sizeof(kv->inl);
	rv = object_secret_get(key, CKA_VALUE, kv->inl, sizeof(kv->inl), &l);
	if (rv == CKR_BUFFER_TOO_SMALL) {
		/* A long generic secret: the heap. */
		rv = CKR_HOST_MEMORY;
		kv->v = OPENSSL_malloc(l);
		if (kv->v == NULL) {
			kv->v = kv->inl;
			goto out;
		}
		kv->cap = l;
		rv = object_secret_get(key, CKA_VALUE, kv->v, (CK_ULONG)kv->cap, &l);
	}
	if (rv == CKR_OK && l == CK_UNAVAILABLE_INFORMATION)
		rv = CKR_KEY_HANDLE_INVALID;
	if (rv == CKR_OK)
		kv->len = l;
out:
	return rv;
}

void key_val_free(key_val *kv)
{
	if (kv->v == kv->inl)
		OPENSSL_cleanse(kv->inl, kv->len);
	else
		OPENSSL_clear_free(kv->v, kv->cap);
	kv->v = kv->inl;
	kv->len = 0;
}

static unsigned bits_of(const unsigned char *p, size_t len)
{
	while (len && *p == 0) {
		p++;
		len--;
	}
	if (len == 0)
		return 0;
	unsigned bits = (unsigned)(len - 1) * 8;
	for (unsigned char c = *p; c; c >>= 1)
		bits++;
	return bits;
}

CK_RV key_size(sk_object *key, CK_ULONG *size)
{
	const void *v;
	CK_ULONG len;
	const sk_curve *c;
	CK_RV rv;

	switch (key->key_type) {
	case CKK_RSA:
		rv = object_value(key, CKA_MODULUS, &v, &len);
		if (rv != CKR_OK)
			return rv;
		if (v == NULL)
			return CKR_KEY_TYPE_INCONSISTENT;
		*size = bits_of(v, len);
		return CKR_OK;
	case CKK_EC:
	case CKK_SM2:
		rv = key_curve(key, &c);
		if (rv == CKR_CURVE_NOT_SUPPORTED)
			return CKR_KEY_TYPE_INCONSISTENT;
		if (rv == CKR_OK)
			*size = c->bits;
		return rv;
	default:
		if (key->cls != CKO_SECRET_KEY)
			return CKR_KEY_TYPE_INCONSISTENT;
		/* CKA_VALUE_LEN avoids opening a sealed value just to size it. */
		rv = object_value(key, CKA_VALUE_LEN, &v, &len);
		if (rv == CKR_OK && v != NULL && len == sizeof(CK_ULONG)) {
			memcpy(size, v, sizeof(CK_ULONG));
			return CKR_OK;
		}
		rv = object_secret_get(key, CKA_VALUE, NULL, 0, &len);
		if (rv != CKR_OK)
			return rv;
		*size = len != CK_UNAVAILABLE_INFORMATION ? len : 0;
		return CKR_OK;
	}
}

static void pkey_free(void *p)
{
	EVP_PKEY_free(p);
}

static void pkey_ref(void *p)
{
	EVP_PKEY_up_ref(p);
}

/* An attribute for building a key: public ones from the object, secret ones
 * from the caller's copy of the secret set. */
static CK_RV key_attr(sk_object *o, const attr_set *sec, CK_ATTRIBUTE_TYPE type, const void **v,
		      CK_ULONG *len)
{
	if (!attr_is_secret(o->cls, o->key_type, type))
		return object_value(o, type, v, len);
	*v = attrs_get(sec, type, len);
	return CKR_OK;
}

void key_cache_pkey(sk_object *o, EVP_PKEY *pkey)
{
	if (EVP_PKEY_up_ref(pkey) != 1)
		return;
	if (!object_cache_set(o, pkey, pkey_free))
		EVP_PKEY_free(pkey);
}

bool ec_point_unwrap(const unsigned char *in, size_t in_len, const unsigned char **pt,
		     size_t *pt_len, size_t field)
{
	size_t hdr, len;

	if (in == NULL || in_len < 2)
		return false;
	/* A bare point: uncompressed or compressed. */
	if ((in_len == 1 + 2 * field && in[0] == 0x04) ||
	    (in_len == 1 + field && (in[0] == 0x02 || in[0] == 0x03))) {
		*pt = in;
		*pt_len = in_len;
		return true;
	}
	if (in[0] != 0x04)
		return false;
	if (in[1] < 0x80) {
		hdr = 2;
		len = in[1];
	} else if (in[1] == 0x81 && in_len >= 3 && in[2] >= 0x80) {
		hdr = 3;
		len = in[2];
	} else {
		return false;
	}
	if (hdr + len != in_len)
		return false;
	*pt = in + hdr;
	*pt_len = len;
	return (len == 1 + 2 * field && in[hdr] == 0x04) ||
	       (len == 1 + field && (in[hdr] == 0x02 || in[hdr] == 0x03));
}

/* d*G as an uncompressed point; also checks 0 < d < n. */
static CK_RV ec_pub_from_priv(const sk_curve *c, const BIGNUM *d, unsigned char *pt, size_t *pt_len)
{
	EC_GROUP *g = EC_GROUP_new_by_curve_name(curve_nid(c));
	EC_POINT *p = NULL;
	CK_RV rv = CKR_HOST_MEMORY;

	if (g == NULL)
		goto out;
	if (BN_is_zero(d) || BN_is_negative(d) || BN_cmp(d, EC_GROUP_get0_order(g)) >= 0) {
		rv = CKR_ATTRIBUTE_VALUE_INVALID;
		goto out;
	}
	p = EC_POINT_new(g);
	if (p == NULL || !EC_POINT_mul(g, p, d, NULL, NULL, NULL))
		goto out;
	*pt_len = EC_POINT_point2oct(g, p, POINT_CONVERSION_UNCOMPRESSED, pt, *pt_len, NULL);
	rv = *pt_len ? CKR_OK : CKR_GENERAL_ERROR;
out:
	EC_POINT_free(p);
	EC_GROUP_free(g);
	return rv;
}

static CK_RV pkey_fromdata(const char *type, int selection, OSSL_PARAM_BLD *bld, EVP_PKEY **out)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = NULL;
	CK_RV rv = CKR_HOST_MEMORY;

	if (params == NULL)
		goto out;
	ctx = EVP_PKEY_CTX_new_from_name(sk_libctx(), type, NULL);
	if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0)
		goto out;
	/* Fails on points off the curve and on inconsistent parts. */
	rv = EVP_PKEY_fromdata(ctx, out, selection, params) > 0 ? CKR_OK
								: CKR_ATTRIBUTE_VALUE_INVALID;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return rv;
}

CK_RV pkey_from_ec_point(const sk_curve *c, const unsigned char *pt, size_t pt_len, EVP_PKEY **out)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	CK_RV rv = CKR_HOST_MEMORY;

	if (bld == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, c->name, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, pt_len))
		goto out;
	rv = pkey_fromdata(c->sm2 ? "SM2" : "EC", EVP_PKEY_PUBLIC_KEY, bld, out);
out:
	OSSL_PARAM_BLD_free(bld);
	return rv;
}

static CK_RV build_ec(sk_object *o, EVP_PKEY **out)
{
	const sk_curve *c;
	const void *v;
	CK_ULONG len;
	const unsigned char *pt = NULL;
	size_t pt_len = 0, field;
	unsigned char calc[1 + 2 * 66];
	BIGNUM *d = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	attr_set sec = ATTR_SET_INIT;
	bool priv = o->cls == CKO_PRIVATE_KEY;
	CK_RV rv = key_curve(o, &c);

	if (rv != CKR_OK)
		return rv;
	field = (c->bits + 7) / 8;
	rv = object_value(o, CKA_EC_POINT, &v, &len);
	if (rv != CKR_OK)
		return rv;
	if (v != NULL && !ec_point_unwrap(v, len, &pt, &pt_len, field))
		return CKR_ATTRIBUTE_VALUE_INVALID;
	if (!priv && pt == NULL)
		return CKR_TEMPLATE_INCOMPLETE;

	rv = CKR_HOST_MEMORY;
	bld = OSSL_PARAM_BLD_new();
	if (bld == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, c->name, 0))
		goto out;
	if (priv) {
		rv = object_secret_copy(o, &sec);
		if (rv != CKR_OK)
			goto out;
		rv = key_attr(o, &sec, CKA_VALUE, &v, &len);
		if (rv != CKR_OK)
			goto out;
		if (v == NULL || len == 0 || len > field) {
			rv = v == NULL ? CKR_TEMPLATE_INCOMPLETE : CKR_ATTRIBUTE_VALUE_INVALID;
			goto out;
		}
		rv = CKR_HOST_MEMORY;
		d = BN_secure_new();
		if (d == NULL || BN_bin2bn(v, (int)len, d) == NULL ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d))
			goto out;
		if (pt == NULL) {
			/* SM2 needs the public point for Z; ECDSA is
			 * cheaper to verify our own signatures with it. */
			pt_len = sizeof(calc);
			rv = ec_pub_from_priv(c, d, calc, &pt_len);
			if (rv != CKR_OK)
				goto out;
			pt = calc;
		}
	}
	rv = CKR_HOST_MEMORY;
	if (!OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, pt_len))
		goto out;
	rv = pkey_fromdata(c->sm2 ? "SM2" : "EC", priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
			   bld, out);
out:
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(d);
	attrs_free(&sec);
	return rv;
}

static const struct {
	CK_ATTRIBUTE_TYPE attr;
	const char *param;
	bool priv;
} rsa_parts[] = {
	{CKA_MODULUS, OSSL_PKEY_PARAM_RSA_N, false},
	{CKA_PUBLIC_EXPONENT, OSSL_PKEY_PARAM_RSA_E, false},
	{CKA_PRIVATE_EXPONENT, OSSL_PKEY_PARAM_RSA_D, true},
	{CKA_PRIME_1, OSSL_PKEY_PARAM_RSA_FACTOR1, true},
	{CKA_PRIME_2, OSSL_PKEY_PARAM_RSA_FACTOR2, true},
	{CKA_EXPONENT_1, OSSL_PKEY_PARAM_RSA_EXPONENT1, true},
	{CKA_EXPONENT_2, OSSL_PKEY_PARAM_RSA_EXPONENT2, true},
	{CKA_COEFFICIENT, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, true},
};
#define RSA_PARTS (sizeof(rsa_parts) / sizeof(rsa_parts[0]))

static CK_RV build_rsa(sk_object *o, EVP_PKEY **out)
{
	BIGNUM *bn[RSA_PARTS] = {NULL};
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	attr_set sec = ATTR_SET_INIT;
	bool priv = o->cls == CKO_PRIVATE_KEY;
	unsigned have = 0;
	CK_RV rv = CKR_HOST_MEMORY;

	if (bld == NULL)
		goto out;
	if (priv && (rv = object_secret_copy(o, &sec)) != CKR_OK)
		goto out;
	for (size_t i = 0; i < RSA_PARTS; i++) {
		const void *v;
		CK_ULONG len;

		if (rsa_parts[i].priv && !priv)
			break;
		rv = key_attr(o, &sec, rsa_parts[i].attr, &v, &len);
		if (rv != CKR_OK)
			goto out;
		rv = CKR_HOST_MEMORY;
		if (v == NULL || len == 0) {
			/* n, e and d are required; the CRT parts come all or none. */
			if (i < 3) {
				rv = CKR_TEMPLATE_INCOMPLETE;
				goto out;
			}
			continue;
		}
		bn[i] = rsa_parts[i].priv ? BN_secure_new() : BN_new();
		if (bn[i] == NULL || BN_bin2bn(v, (int)len, bn[i]) == NULL)
			goto out;
		have |= 1u << i;
	}
	for (size_t i = 0; i < RSA_PARTS; i++) {
		if (bn[i] == NULL)
			continue;
		if (i >= 3 && (have & 0xF8u) != 0xF8u)
			break;
		if (!OSSL_PARAM_BLD_push_BN(bld, rsa_parts[i].param, bn[i]))
			goto out;
	}
	rv = pkey_fromdata("RSA", priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, bld, out);
out:
	for (size_t i = 0; i < RSA_PARTS; i++)
		BN_clear_free(bn[i]);
	OSSL_PARAM_BLD_free(bld);
	attrs_free(&sec);
	return rv;
}

CK_RV key_pkey(sk_object *key, EVP_PKEY **out)
{
	/* Our own reference, taken under the object's lock: a logout may drop
	 * the cache's reference at any time after. */
	EVP_PKEY *pkey = object_cache_get(key, pkey_ref);
	CK_RV rv = CKR_OK;

	if (pkey != NULL)
		goto out;
	switch (key->key_type) {
	case CKK_RSA:
		rv = build_rsa(key, &pkey);
		break;
	case CKK_EC:
	case CKK_SM2:
		rv = build_ec(key, &pkey);
		break;
	default:
		rv = CKR_KEY_TYPE_INCONSISTENT;
	}
	if (rv != CKR_OK)
		goto out;
	/* A second reference for the cache. When another thread cached its
	 * copy first, or a logout forgot the secrets we built from, this one
	 * serves only the caller. */
	if (EVP_PKEY_up_ref(pkey) == 1 && !object_cache_set(key, pkey, pkey_free))
		EVP_PKEY_free(pkey);
out:
	if (rv == CKR_OK)
		*out = pkey;
	return rv;
}

static CK_RV set_bn_attr(sk_object *o, CK_ATTRIBUTE_TYPE attr, EVP_PKEY *pkey, const char *param,
			 size_t pad)
{
	BIGNUM *bn = NULL;
	unsigned char buf[1024];
	int n;
	CK_RV rv;

	if (!EVP_PKEY_get_bn_param(pkey, param, &bn))
		return CKR_GENERAL_ERROR;
	n = pad ? BN_bn2binpad(bn, buf, (int)pad) : BN_bn2bin(bn, buf);
	BN_clear_free(bn);
	if (n < 0)
		return CKR_GENERAL_ERROR;
	rv = object_set_value(o, attr, buf, (CK_ULONG)n);
	OPENSSL_cleanse(buf, sizeof(buf));
	return rv;
}

static size_t der_octet_string(const unsigned char *in, size_t len, unsigned char *out)
{
	size_t h = 0;

	out[h++] = 0x04;
	if (len >= 0x80)
		out[h++] = 0x81;
	out[h++] = (unsigned char)len;
	memcpy(out + h, in, len);
	return h + len;
}

CK_RV key_export(EVP_PKEY *pkey, const sk_curve *c, sk_object *o, bool pub)
{
	CK_RV rv = CKR_OK;

	if (EVP_PKEY_is_a(pkey, "RSA")) {
		for (size_t i = 0; i < RSA_PARTS && rv == CKR_OK; i++) {
			if (pub && rsa_parts[i].priv)
				break;
			rv = set_bn_attr(o, rsa_parts[i].attr, pkey, rsa_parts[i].param, 0);
		}
		if (rv == CKR_OK && pub) {
			CK_ULONG bits = (CK_ULONG)EVP_PKEY_get_bits(pkey);
			rv = object_set_value(o, CKA_MODULUS_BITS, &bits, sizeof(bits));
		}
		return rv;
	}

	/* EC and SM2: EC_PARAMS and EC_POINT on both halves, VALUE on the private. */
	size_t field = (c->bits + 7) / 8;
	unsigned char pt[1 + 2 * 66], der[3 + sizeof(pt)];
	BIGNUM *x = NULL, *y = NULL;

	rv = CKR_GENERAL_ERROR;
	if (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) ||
	    !EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y))
		goto out;
	pt[0] = 0x04;
	if (BN_bn2binpad(x, pt + 1, (int)field) < 0 || BN_bn2binpad(y, pt + 1 + field, (int)field) < 0)
		goto out;
	rv = object_set_value(o, CKA_EC_PARAMS, c->oid, c->oid_len);
	if (rv == CKR_OK)
		rv = object_set_value(o, CKA_EC_POINT, der,
				      der_octet_string(pt, 1 + 2 * field, der));
	if (rv == CKR_OK && !pub)
		rv = set_bn_attr(o, CKA_VALUE, pkey, OSSL_PKEY_PARAM_PRIV_KEY, field);
out:
	BN_free(x);
	BN_free(y);
	return rv;
}
