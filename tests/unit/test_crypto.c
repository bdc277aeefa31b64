/* Unit tests of the crypto layer (pkcs11/crypto, pkcs11/mechanisms.c): every
 * mechanism driven through crypto_* on in-memory objects, results checked
 * against raw OpenSSL or published vectors, plus the PKCS#11 error codes. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "harness.h"
#include "crypto/crypto.h"
#include "cryptotest.h"
#include "crypto/internal.h"
#include "attributes.h"

/* ---- helpers ---- */

static sk_object *mk_secret(CK_KEY_TYPE kt, const void *val, size_t len)
{
	sk_object *o = mk_obj(CKO_SECRET_KEY, kt);

	CU_ASSERT_FATAL(crypto_check_key(o) == CKR_TEMPLATE_INCOMPLETE);
	object_set_value(o, CKA_VALUE, val, len);
	return o;
}

static sk_object *mk_secret_hex(CK_KEY_TYPE kt, const char *hex)
{
	unsigned char v[64];
	size_t n = unhex(hex, v);

	return mk_secret(kt, v, n);
}

static const void *attr(sk_object *o, CK_ATTRIBUTE_TYPE t, CK_ULONG *len)
{
	const void *v = NULL;

	/* object_value serves public attributes only; these test objects are
	 * never shared, so their secret set can be read in place. */
	if (attr_is_secret(o->cls, o->key_type, t) && !attrs_has(&o->attrs, t))
		return attrs_get(&o->secret, t, len);
	CU_ASSERT(object_value(o, t, &v, len) == CKR_OK);
	return v;
}

static const unsigned char p256_oid[] = {0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07};
static const unsigned char p384_oid[] = {0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x22};
static const unsigned char p521_oid[] = {0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x23};

static void gen_ec(CK_MECHANISM_TYPE mt, CK_KEY_TYPE kt, const unsigned char *oid, size_t oid_len,
		   sk_object **pub, sk_object **priv)
{
	CK_MECHANISM m = {mt, NULL, 0};

	*pub = mk_obj(CKO_PUBLIC_KEY, kt);
	*priv = mk_obj(CKO_PRIVATE_KEY, kt);
	if (oid)
		object_set_value(*pub, CKA_EC_PARAMS, oid, oid_len);
	CU_ASSERT_FATAL(crypto_generate_key_pair(&m, *pub, *priv) == CKR_OK);
}

/* An independent EVP_PKEY from a public key object's attributes. */
static EVP_PKEY *ossl_ec_pub(sk_object *pub, const char *type, const char *group)
{
	CK_ULONG len;
	const unsigned char *pt = attr(pub, CKA_EC_POINT, &len);
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *pk = NULL;
	OSSL_PARAM *p;
	size_t hdr = pt[1] == 0x81 ? 3 : 2;

	CU_ASSERT_FATAL(pt != NULL && pt[0] == 0x04);
	OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
	OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt + hdr, len - hdr);
	p = OSSL_PARAM_BLD_to_param(bld);
	CU_ASSERT(EVP_PKEY_fromdata_init(ctx) > 0);
	CU_ASSERT(EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, p) > 0);
	OSSL_PARAM_free(p);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	CU_ASSERT_FATAL(pk != NULL);
	return pk;
}

static EVP_PKEY *ossl_rsa_pub(sk_object *pub)
{
	CK_ULONG nl, el;
	const unsigned char *n = attr(pub, CKA_MODULUS, &nl), *e = attr(pub, CKA_PUBLIC_EXPONENT, &el);
	BIGNUM *bn = BN_bin2bn(n, (int)nl, NULL), *be = BN_bin2bn(e, (int)el, NULL);
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *pk = NULL;
	OSSL_PARAM *p;

	OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn);
	OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be);
	p = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_fromdata_init(ctx);
	CU_ASSERT(EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, p) > 0);
	OSSL_PARAM_free(p);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	BN_free(bn);
	BN_free(be);
	CU_ASSERT_FATAL(pk != NULL);
	return pk;
}

/* raw r||s -> DER, independently of the module. */
static int raw_to_der(const unsigned char *raw, size_t half, unsigned char **der)
{
	ECDSA_SIG *s = ECDSA_SIG_new();

	ECDSA_SIG_set0(s, BN_bin2bn(raw, (int)half, NULL), BN_bin2bn(raw + half, (int)half, NULL));
	int n = i2d_ECDSA_SIG(s, der);
	ECDSA_SIG_free(s);
	return n;
}

/* ---- mechanisms ---- */

static void test_mech_table(void)
{
	CK_MECHANISM_TYPE list[200];
	CK_ULONG n = mech_list(list, 200);
	const CK_MECHANISM_INFO *i;

	CU_ASSERT(n == mech_count());
	CU_ASSERT(n > 50);
	i = mech_info(CKM_ECDSA_SHA256);
	CU_ASSERT_FATAL(i != NULL);
	CU_ASSERT((i->flags & (CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS | CKF_SIGN)) ==
		  (CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS | CKF_SIGN));
	CU_ASSERT(i->ulMinKeySize == 256 && i->ulMaxKeySize == 521);
	i = mech_info(CKM_AES_KEY_WRAP_PAD);
	CU_ASSERT((i->flags & (CKF_WRAP | CKF_UNWRAP)) == (CKF_WRAP | CKF_UNWRAP));
	CU_ASSERT(i->ulMinKeySize == 16 && i->ulMaxKeySize == 32);
	CU_ASSERT(!(mech_info(CKM_AES_GCM)->flags & CKF_WRAP));
	CU_ASSERT(!(mech_info(CKM_RSA_PKCS)->flags & CKF_WRAP));
	CU_ASSERT(mech_info(CKM_RSA_PKCS_KEY_PAIR_GEN)->ulMinKeySize == 2048);
	CU_ASSERT(mech_info(0x7fff0000UL) == NULL);
	CU_ASSERT(mech_key_type(CKM_AES_KEY_GEN) == CKK_AES);
	CU_ASSERT(mech_key_type(CKM_SM2_KEY_PAIR_GEN) == CKK_SM2);
	CU_ASSERT(mech_key_type(CKM_SHA256) == CK_UNAVAILABLE_INFORMATION);
	/* Every listed mechanism has info. */
	for (CK_ULONG k = 0; k < n; k++)
		CU_ASSERT(mech_info(list[k]) != NULL);
}

/* ---- digests and HMAC ---- */

static void test_digest(void)
{
	CK_MECHANISM m = {CKM_SHA256, NULL, 0};
	unsigned char out[64];
	CK_ULONG len = 0;
	crypto_op *op;

	CU_ASSERT(oneshot(OP_DIGEST, &m, NULL, "abc", 3, NULL, &len) == CKR_OK && len == 32);
	len = sizeof(out);
	CU_ASSERT(oneshot(OP_DIGEST, &m, NULL, "abc", 3, out, &len) == CKR_OK);
	CU_ASSERT(eq_hex(out, len,
			 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
	m.mechanism = CKM_SHA_1;
	len = sizeof(out);
	CU_ASSERT(oneshot(OP_DIGEST, &m, NULL, "abc", 3, out, &len) == CKR_OK);
	CU_ASSERT(eq_hex(out, len, "a9993e364706816aba3e25717850c26c9cd0d89d"));
	m.mechanism = CKM_SM3;
	len = sizeof(out);
	CU_ASSERT(oneshot(OP_DIGEST, &m, NULL, "abc", 3, out, &len) == CKR_OK);
	CU_ASSERT(eq_hex(out, len,
			 "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"));

	/* Multi-part SHA-384 with a too-small buffer at Final, then the retry. */
	m.mechanism = CKM_SHA384;
	CU_ASSERT_FATAL(crypto_op_new(OP_DIGEST, &m, NULL, &op) == CKR_OK);
	CU_ASSERT(crypto_op_multipart(op));
	CU_ASSERT(crypto_op_update(op, (const CK_BYTE *)"a", 1, NULL, NULL) == CKR_OK);
	CU_ASSERT(crypto_op_update(op, (const CK_BYTE *)"bc", 2, NULL, NULL) == CKR_OK);
	len = 10;
	CU_ASSERT(crypto_op_final(op, out, &len) == CKR_BUFFER_TOO_SMALL && len == 48);
	CU_ASSERT(crypto_op_final(op, out, &len) == CKR_OK && len == 48);
	CU_ASSERT(eq_hex(out, len,
			 "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
			 "8086072ba1e7cc2358baeca134c825a7"));
	crypto_op_free(op);

	/* A parameter where none is allowed. */
	CK_ULONG junk = 1;
	CK_MECHANISM bad = {CKM_SHA256, &junk, sizeof(junk)};
	CU_ASSERT(crypto_op_new(OP_DIGEST, &bad, NULL, &op) == CKR_MECHANISM_PARAM_INVALID);
	CK_MECHANISM unk = {0x7fff0000UL, NULL, 0};
	CU_ASSERT(crypto_op_new(OP_DIGEST, &unk, NULL, &op) == CKR_MECHANISM_INVALID);
	/* SHA-256 cannot sign. */
	sk_object *k = mk_secret_hex(CKK_GENERIC_SECRET, "00112233");
	m.mechanism = CKM_SHA256;
	CU_ASSERT(crypto_op_new(OP_SIGN, &m, k, &op) == CKR_MECHANISM_INVALID);

	/* C_DigestKey: SHA-256 over the key value. */
	CU_ASSERT_FATAL(crypto_op_new(OP_DIGEST, &m, NULL, &op) == CKR_OK);
	CU_ASSERT(crypto_op_digest_key(op, k) == CKR_OK);
	len = sizeof(out);
	CU_ASSERT(crypto_op_final(op, out, &len) == CKR_OK);
	unsigned char ref[32];
	EVP_Digest("\x00\x11\x22\x33", 4, ref, NULL, EVP_sha256(), NULL);
	CU_ASSERT(len == 32 && memcmp(out, ref, 32) == 0);
	crypto_op_free(op);
	object_unref(k);
}

static void test_hmac(void)
{
	sk_object *k = mk_secret(CKK_GENERIC_SECRET, "Jefe", 4);
	const char *data = "what do ya want for nothing?";
	CK_MECHANISM m = {CKM_SHA256_HMAC, NULL, 0};
	unsigned char out[64];
	CK_ULONG len = sizeof(out);
	crypto_op *op;

	CU_ASSERT(oneshot(OP_SIGN, &m, k, data, strlen(data), out, &len) == CKR_OK);
	CU_ASSERT(eq_hex(out, len,
			 "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"));
	CU_ASSERT(verify1(&m, k, data, strlen(data), out, len) == CKR_OK);
	out[0] ^= 1;
	CU_ASSERT(verify1(&m, k, data, strlen(data), out, len) == CKR_SIGNATURE_INVALID);
	CU_ASSERT(verify1(&m, k, data, strlen(data), out, 31) == CKR_SIGNATURE_LEN_RANGE);

	/* Multi-part SHA-512 HMAC (RFC 4231 case 2). */
	m.mechanism = CKM_SHA512_HMAC;
	CU_ASSERT_FATAL(crypto_op_new(OP_SIGN, &m, k, &op) == CKR_OK);
	CU_ASSERT(crypto_op_update(op, (const CK_BYTE *)data, 10, NULL, NULL) == CKR_OK);
	CU_ASSERT(crypto_op_update(op, (const CK_BYTE *)data + 10, strlen(data) - 10, NULL, NULL) ==
		  CKR_OK);
	len = sizeof(out);
	CU_ASSERT(crypto_op_final(op, out, &len) == CKR_OK);
	CU_ASSERT(eq_hex(out, len,
			 "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
			 "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"));
	crypto_op_free(op);

	/* General: truncated to 16 bytes. */
	CK_ULONG mlen = 16;
	CK_MECHANISM g = {CKM_SHA256_HMAC_GENERAL, &mlen, sizeof(mlen)};
	len = sizeof(out);
	CU_ASSERT(oneshot(OP_SIGN, &g, k, data, strlen(data), out, &len) == CKR_OK);
	CU_ASSERT(eq_hex(out, len, "5bdcc146bf60754e6a042426089575c7"));
	CU_ASSERT(verify1(&g, k, data, strlen(data), out, len) == CKR_OK);
	mlen = 33;
	CU_ASSERT(crypto_op_new(OP_SIGN, &g, k, &op) == CKR_MECHANISM_PARAM_INVALID);
	g.pParameter = NULL;
	g.ulParameterLen = 0;
	CU_ASSERT(crypto_op_new(OP_SIGN, &g, k, &op) == CKR_MECHANISM_PARAM_INVALID);

	/* SM3-HMAC against OpenSSL. */
	m.mechanism = CKM_SM3_HMAC;
	len = sizeof(out);
	CU_ASSERT(oneshot(OP_SIGN, &m, k, data, strlen(data), out, &len) == CKR_OK && len == 32);
	unsigned char ref[64];
	size_t rl = sizeof(ref);
	EVP_Q_mac(NULL, "HMAC", NULL, "SM3", NULL, "Jefe", 4, (const unsigned char *)data,
		  strlen(data), ref, sizeof(ref), &rl);
	CU_ASSERT(rl == 32 && memcmp(ref, out, 32) == 0);

	/* Wrong key types. */
	sk_object *aes = mk_secret_hex(CKK_AES, "000102030405060708090a0b0c0d0e0f");
	CU_ASSERT(crypto_op_new(OP_SIGN, &m, aes, &op) == CKR_KEY_TYPE_INCONSISTENT);
	sk_object *h1 = mk_secret(CKK_SHA_1_HMAC, "Jefe", 4);
	m.mechanism = CKM_SHA256_HMAC;
	CU_ASSERT(crypto_op_new(OP_SIGN, &m, h1, &op) == CKR_KEY_TYPE_INCONSISTENT);
	m.mechanism = CKM_SHA_1_HMAC;
	len = sizeof(out);
	CU_ASSERT(oneshot(OP_SIGN, &m, h1, data, strlen(data), out, &len) == CKR_OK && len == 20);
	object_unref(h1);
	object_unref(aes);
	object_unref(k);
}

/* ---- EC ---- */

static void ecdsa_curve(const unsigned char *oid, size_t oid_len, const char *group, size_t field)
{
	sk_object *pub, *priv;
	CK_MECHANISM m = {CKM_ECDSA, NULL, 0};
	unsigned char hash[64], sig[200], *der = NULL;
	CK_ULONG len, vl;
	crypto_op *op;

	gen_ec(CKM_EC_KEY_PAIR_GEN, CKK_EC, oid, oid_len, &pub, &priv);
	/* Both halves carry params and point; the private one its value. */
	CU_ASSERT(attr(priv, CKA_EC_POINT, &vl) != NULL && vl == 2 + 2 * field + 1 + (field > 60));
	CU_ASSERT(attr(priv, CKA_EC_PARAMS, &vl) != NULL && vl == oid_len);
	CU_ASSERT(attr(priv, CKA_VALUE, &vl) != NULL && vl == field);
	CU_ASSERT(attr(pub, CKA_VALUE, &vl) == NULL);

	memset(hash, 0x5a, sizeof(hash));
	CU_ASSERT_FATAL(crypto_op_new(OP_SIGN, &m, priv, &op) == CKR_OK);
	CU_ASSERT(!crypto_op_multipart(op));
	len = 0;
	CU_ASSERT(crypto_op_oneshot(op, hash, 32, NULL, &len) == CKR_OK && len == 2 * field);
	len = 10;
	CU_ASSERT(crypto_op_oneshot(op, hash, 32, sig, &len) == CKR_BUFFER_TOO_SMALL &&
		  len == 2 * field);
	len = sizeof(sig);
	CU_ASSERT(crypto_op_oneshot(op, hash, 32, sig, &len) == CKR_OK && len == 2 * field);
	crypto_op_free(op);

	/* Independent verification by OpenSSL. */
	EVP_PKEY *opub = ossl_ec_pub(pub, "EC", group);
	EVP_PKEY_CTX *vctx = EVP_PKEY_CTX_new(opub, NULL);
	int dl = raw_to_der(sig, field, &der);
	EVP_PKEY_verify_init(vctx);
	CU_ASSERT(EVP_PKEY_verify(vctx, der, (size_t)dl, hash, 32) == 1);
	OPENSSL_free(der);
	der = NULL;

	CU_ASSERT(verify1(&m, pub, hash, 32, sig, len) == CKR_OK);
	CU_ASSERT(verify1(&m, pub, hash, 31, sig, len) == CKR_SIGNATURE_INVALID);
	CU_ASSERT(verify1(&m, pub, hash, 32, sig, len - 1) == CKR_SIGNATURE_LEN_RANGE);
	/* Verifying with the private key / signing with the public one. */
	CU_ASSERT(crypto_op_new(OP_VERIFY, &m, priv, &op) == CKR_KEY_TYPE_INCONSISTENT);
	CU_ASSERT(crypto_op_new(OP_SIGN, &m, pub, &op) == CKR_KEY_TYPE_INCONSISTENT);

	/* ECDSA-SHA384 multi-part vs OpenSSL's one-shot digest-verify. */
	const char *msg = "the quick brown fox jumps over the lazy dog";
	m.mechanism = CKM_ECDSA_SHA384;
	CU_ASSERT_FATAL(crypto_op_new(OP_SIGN, &m, priv, &op) == CKR_OK);
	CU_ASSERT(crypto_op_multipart(op));
	CU_ASSERT(crypto_op_update(op, (const CK_BYTE *)msg, 9, NULL, NULL) == CKR_OK);
	CU_ASSERT(crypto_op_update(op, (const CK_BYTE *)msg + 9, strlen(msg) - 9, NULL, NULL) ==
		  CKR_OK);
	len = 1;
	CU_ASSERT(crypto_op_final(op, sig, &len) == CKR_BUFFER_TOO_SMALL);
	len = sizeof(sig);
	CU_ASSERT(crypto_op_final(op, sig, &len) == CKR_OK && len == 2 * field);
	crypto_op_free(op);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	dl = raw_to_der(sig, field, &der);
	EVP_DigestVerifyInit(md, NULL, EVP_sha384(), NULL, opub);
	CU_ASSERT(EVP_DigestVerify(md, der, (size_t)dl, (const unsigned char *)msg, strlen(msg)) ==
		  1);
	OPENSSL_free(der);
	EVP_MD_CTX_free(md);
	CU_ASSERT(verify1(&m, pub, msg, strlen(msg), sig, len) == CKR_OK);
	CU_ASSERT(verify1(&m, pub, msg, strlen(msg) - 1, sig, len) == CKR_SIGNATURE_INVALID);

	EVP_PKEY_CTX_free(vctx);
	EVP_PKEY_free(opub);
	object_unref(pub);
	object_unref(priv);
}

static void test_ecdsa(void)
{
	ecdsa_curve(p256_oid, sizeof(p256_oid), "P-256", 32);
	ecdsa_curve(p384_oid, sizeof(p384_oid), "P-384", 48);
	ecdsa_curve(p521_oid, sizeof(p521_oid), "P-521", 66);
}

static void test_ec_keygen_errors(void)
{
	CK_MECHANISM m = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
	sk_object *pub = mk_obj(CKO_PUBLIC_KEY, CKK_EC), *priv = mk_obj(CKO_PRIVATE_KEY, CKK_EC);
	static const unsigned char k1[] = {0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x0A};

	CU_ASSERT(crypto_generate_key_pair(&m, pub, priv) == CKR_TEMPLATE_INCOMPLETE);
	object_set_value(pub, CKA_EC_PARAMS, k1, sizeof(k1));
	CU_ASSERT(crypto_generate_key_pair(&m, pub, priv) == CKR_CURVE_NOT_SUPPORTED);
	object_unref(pub);
	object_unref(priv);
}

/* Imported keys: the point is derived, checked, and normalised to DER. */
static void test_ec_import(void)
{
	sk_object *pub, *priv;
	CK_ULONG len, l2;

	gen_ec(CKM_EC_KEY_PAIR_GEN, CKK_EC, p256_oid, sizeof(p256_oid), &pub, &priv);
	const unsigned char *d = attr(priv, CKA_VALUE, &len);
	const unsigned char *pt = attr(pub, CKA_EC_POINT, &l2);

	sk_object *imp = mk_obj(CKO_PRIVATE_KEY, CKK_EC);
	object_set_value(imp, CKA_EC_PARAMS, p256_oid, sizeof(p256_oid));
	object_set_value(imp, CKA_VALUE, d, len);
	CU_ASSERT(crypto_check_key(imp) == CKR_OK);
	const unsigned char *ipt = attr(imp, CKA_EC_POINT, &len);
	CU_ASSERT(ipt != NULL && len == l2 && memcmp(ipt, pt, l2) == 0);

	/* A public key given as a raw point becomes a DER OCTET STRING. */
	sk_object *ipub = mk_obj(CKO_PUBLIC_KEY, CKK_EC);
	object_set_value(ipub, CKA_EC_PARAMS, p256_oid, sizeof(p256_oid));
	object_set_value(ipub, CKA_EC_POINT, pt + 2, l2 - 2);
	CU_ASSERT(crypto_check_key(ipub) == CKR_OK);
	ipt = attr(ipub, CKA_EC_POINT, &len);
	CU_ASSERT(len == l2 && memcmp(ipt, pt, l2) == 0);

	/* A point off the curve. */
	unsigned char bad[65];
	memcpy(bad, pt + 2, 65);
	bad[64] ^= 1;
	sk_object *bpub = mk_obj(CKO_PUBLIC_KEY, CKK_EC);
	object_set_value(bpub, CKA_EC_PARAMS, p256_oid, sizeof(p256_oid));
	object_set_value(bpub, CKA_EC_POINT, bad, sizeof(bad));
	CU_ASSERT(crypto_check_key(bpub) == CKR_ATTRIBUTE_VALUE_INVALID);
	/* A private key whose point is not d*G. */
	sk_object *bpriv = mk_obj(CKO_PRIVATE_KEY, CKK_EC);
	unsigned char d2[32];
	memcpy(d2, d, 32);
	d2[31] ^= 1;
	object_set_value(bpriv, CKA_EC_PARAMS, p256_oid, sizeof(p256_oid));
	object_set_value(bpriv, CKA_VALUE, d2, 32);
	object_set_value(bpriv, CKA_EC_POINT, pt, l2);
	CU_ASSERT(crypto_check_key(bpriv) == CKR_ATTRIBUTE_VALUE_INVALID);

	/* The imported private key signs; the generated public key verifies. */
	CK_MECHANISM m = {CKM_ECDSA_SHA256, NULL, 0};
	unsigned char sig[64];
	CK_ULONG sl = sizeof(sig);
	CU_ASSERT(oneshot(OP_SIGN, &m, imp, "x", 1, sig, &sl) == CKR_OK);
	CU_ASSERT(verify1(&m, pub, "x", 1, sig, sl) == CKR_OK);

	object_unref(bpriv);
	object_unref(bpub);
	object_unref(ipub);
	object_unref(imp);
	object_unref(pub);
	object_unref(priv);
}

static void test_ecdh(void)
{
	sk_object *apub, *apriv, *bpub, *bpriv;
	CK_ULONG al, bl, vl;

	gen_ec(CKM_EC_KEY_PAIR_GEN, CKK_EC, p256_oid, sizeof(p256_oid), &apub, &apriv);
	gen_ec(CKM_EC_KEY_PAIR_GEN, CKK_EC, p256_oid, sizeof(p256_oid), &bpub, &bpriv);
	const unsigned char *apt = attr(apub, CKA_EC_POINT, &al);
	const unsigned char *bpt = attr(bpub, CKA_EC_POINT, &bl);

	/* A with B's DER point, B with A's raw point: same secret. */
	CK_ECDH1_DERIVE_PARAMS p = {CKD_NULL, 0, NULL, bl, (unsigned char *)bpt};
	CK_MECHANISM m = {CKM_ECDH1_DERIVE, &p, sizeof(p)};
	sk_object *k1 = mk_obj(CKO_SECRET_KEY, CKK_GENERIC_SECRET);
	CU_ASSERT(crypto_derive_key(&m, apriv, k1) == CKR_OK);
	p.ulPublicDataLen = al - 2;
	p.pPublicData = (unsigned char *)apt + 2;
	sk_object *k2 = mk_obj(CKO_SECRET_KEY, CKK_GENERIC_SECRET);
	CU_ASSERT(crypto_derive_key(&m, bpriv, k2) == CKR_OK);
	const unsigned char *v1 = attr(k1, CKA_VALUE, &vl), *v2;
	CK_ULONG vl2;
	v2 = attr(k2, CKA_VALUE, &vl2);
	CU_ASSERT(vl == 32 && vl2 == 32 && memcmp(v1, v2, 32) == 0);

	/* Against OpenSSL's own ECDH. */
	EVP_PKEY *ob = ossl_ec_pub(bpub, "EC", "P-256");
	CK_ULONG dl;
	const unsigned char *d = attr(apriv, CKA_VALUE, &dl);
	EVP_PKEY *oa = NULL;
	{
		OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
		BIGNUM *bn = BN_bin2bn(d, (int)dl, NULL);
		OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0);
		OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, bn);
		OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, apt + 2, al - 2);
		OSSL_PARAM *prm = OSSL_PARAM_BLD_to_param(bld);
		EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
		EVP_PKEY_fromdata_init(c);
		EVP_PKEY_fromdata(c, &oa, EVP_PKEY_KEYPAIR, prm);
		EVP_PKEY_CTX_free(c);
		OSSL_PARAM_free(prm);
		OSSL_PARAM_BLD_free(bld);
		BN_free(bn);
	}
	unsigned char z[32];
	size_t zl = sizeof(z);
	EVP_PKEY_CTX *dc = EVP_PKEY_CTX_new(oa, NULL);
	EVP_PKEY_derive_init(dc);
	EVP_PKEY_derive_set_peer(dc, ob);
	CU_ASSERT(EVP_PKEY_derive(dc, z, &zl) == 1 && zl == 32);
	CU_ASSERT(memcmp(z, v1, 32) == 0);

	/* An AES-128 key takes the last 16 bytes of Z. */
	CK_ULONG sixteen = 16;
	sk_object *k3 = mk_obj(CKO_SECRET_KEY, CKK_AES);
	object_set_value(k3, CKA_VALUE_LEN, &sixteen, sizeof(sixteen));
	p.ulPublicDataLen = bl;
	p.pPublicData = (unsigned char *)bpt;
	CU_ASSERT(crypto_derive_key(&m, apriv, k3) == CKR_OK);
	const unsigned char *v3 = attr(k3, CKA_VALUE, &vl);
	CU_ASSERT(vl == 16 && memcmp(v3, z + 16, 16) == 0);

	/* SHA-256 KDF (X9.63) with shared data, checked by hand. */
	unsigned char shared[] = "info", ref[32], buf[64];
	CK_ECDH1_DERIVE_PARAMS pk = {CKD_SHA256_KDF, 4, shared, bl, (unsigned char *)bpt};
	CK_MECHANISM mk = {CKM_ECDH1_DERIVE, &pk, sizeof(pk)};
	CK_ULONG twenty = 20;
	sk_object *k4 = mk_obj(CKO_SECRET_KEY, CKK_GENERIC_SECRET);
	object_set_value(k4, CKA_VALUE_LEN, &twenty, sizeof(twenty));
	CU_ASSERT(crypto_derive_key(&mk, apriv, k4) == CKR_OK);
	memcpy(buf, z, 32);
	memcpy(buf + 32, "\x00\x00\x00\x01info", 8);
	EVP_Digest(buf, 40, ref, NULL, EVP_sha256(), NULL);
	const unsigned char *v4 = attr(k4, CKA_VALUE, &vl);
	CU_ASSERT(vl == 20 && memcmp(v4, ref, 20) == 0);

	/* Parameter errors. */
	sk_object *k5 = mk_obj(CKO_SECRET_KEY, CKK_GENERIC_SECRET);
	pk.kdf = CKD_NULL; /* shared data with CKD_NULL */
	CU_ASSERT(crypto_derive_key(&mk, apriv, k5) == CKR_MECHANISM_PARAM_INVALID);
	pk.kdf = 0x999;
	CU_ASSERT(crypto_derive_key(&mk, apriv, k5) == CKR_MECHANISM_PARAM_INVALID);
	p.ulPublicDataLen = 10;
	CU_ASSERT(crypto_derive_key(&m, apriv, k5) == CKR_MECHANISM_PARAM_INVALID);
	m.ulParameterLen = 3;
	CU_ASSERT(crypto_derive_key(&m, apriv, k5) == CKR_MECHANISM_PARAM_INVALID);

	EVP_PKEY_CTX_free(dc);
	EVP_PKEY_free(oa);
	EVP_PKEY_free(ob);
	object_unref(k1);
	object_unref(k2);
	object_unref(k3);
	object_unref(k4);
	object_unref(k5);
	object_unref(apub);
	object_unref(apriv);
	object_unref(bpub);
	object_unref(bpriv);
}

/* ---- RSA ---- */

static sk_object *rsa_pub, *rsa_priv;

static int rsa_setup(void)
{
	CK_MECHANISM m = {CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0};
	CK_ULONG bits = 2048;

	rsa_pub = object_new();
	rsa_priv = object_new();
	rsa_pub->cls = CKO_PUBLIC_KEY;
	rsa_priv->cls = CKO_PRIVATE_KEY;
	rsa_pub->key_type = rsa_priv->key_type = CKK_RSA;
	object_set_value(rsa_pub, CKA_MODULUS_BITS, &bits, sizeof(bits));
	return crypto_generate_key_pair(&m, rsa_pub, rsa_priv) == CKR_OK ? 0 : 1;
}

static int rsa_teardown(void)
{
	object_unref(rsa_pub);
	object_unref(rsa_priv);
	return 0;
}

static void test_rsa_keygen(void)
{
	CK_ULONG l;
	const CK_ULONG *bits = attr(rsa_pub, CKA_MODULUS_BITS, &l);
	static const CK_ATTRIBUTE_TYPE parts[] = {CKA_MODULUS, CKA_PUBLIC_EXPONENT,
						  CKA_PRIVATE_EXPONENT, CKA_PRIME_1, CKA_PRIME_2,
						  CKA_EXPONENT_1, CKA_EXPONENT_2, CKA_COEFFICIENT};

	CU_ASSERT(*bits == 2048);
	CU_ASSERT(attr(rsa_pub, CKA_MODULUS, &l) != NULL && l == 256);
	const unsigned char *e = attr(rsa_pub, CKA_PUBLIC_EXPONENT, &l);
	CU_ASSERT(l == 3 && memcmp(e, "\x01\x00\x01", 3) == 0);
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		CU_ASSERT(attr(rsa_priv, parts[i], &l) != NULL && l > 0);
	CU_ASSERT(attr(rsa_pub, CKA_PRIVATE_EXPONENT, &l) == NULL);

	/* Size and exponent checks. */
	CK_MECHANISM m = {CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0};
	sk_object *pub = mk_obj(CKO_PUBLIC_KEY, CKK_RSA), *priv = mk_obj(CKO_PRIVATE_KEY, CKK_RSA);
	CU_ASSERT(crypto_generate_key_pair(&m, pub, priv) == CKR_TEMPLATE_INCOMPLETE);
	CK_ULONG small = 1024;
	object_set_value(pub, CKA_MODULUS_BITS, &small, sizeof(small));
	CU_ASSERT(crypto_generate_key_pair(&m, pub, priv) == CKR_KEY_SIZE_RANGE);
	small = 2048;
	object_set_value(pub, CKA_MODULUS_BITS, &small, sizeof(small));
	object_set_value(pub, CKA_PUBLIC_EXPONENT, "\x01\x00\x00", 3);
	CU_ASSERT(crypto_generate_key_pair(&m, pub, priv) == CKR_ATTRIBUTE_VALUE_INVALID);
	object_unref(pub);
	object_unref(priv);
}

static void test_rsa_pkcs(void)
{
	EVP_PKEY *opub = ossl_rsa_pub(rsa_pub);
	CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
	unsigned char sig[256], buf[512];
	CK_ULONG len = sizeof(sig);
	const char *msg = "sealkit";
	crypto_op *op;

	CU_ASSERT(oneshot(OP_SIGN, &m, rsa_priv, msg, 7, sig, &len) == CKR_OK && len == 256);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, opub);
	CU_ASSERT(EVP_DigestVerify(md, sig, len, (const unsigned char *)msg, 7) == 1);
	EVP_MD_CTX_free(md);
	CU_ASSERT(verify1(&m, rsa_pub, msg, 7, sig, len) == CKR_OK);
	CU_ASSERT(verify1(&m, rsa_pub, msg, 6, sig, len) == CKR_SIGNATURE_INVALID);
	CU_ASSERT(verify1(&m, rsa_pub, msg, 7, sig, 255) == CKR_SIGNATURE_LEN_RANGE);

	/* Multi-part gives the same deterministic signature. */
	unsigned char sig2[256];
	CU_ASSERT_FATAL(crypto_op_new(OP_SIGN, &m, rsa_priv, &op) == CKR_OK);
	crypto_op_update(op, (const CK_BYTE *)msg, 3, NULL, NULL);
	crypto_op_update(op, (const CK_BYTE *)msg + 3, 4, NULL, NULL);
	len = 0;
	CU_ASSERT(crypto_op_final(op, NULL, &len) == CKR_OK && len == 256);
	CU_ASSERT(crypto_op_final(op, sig2, &len) == CKR_OK && memcmp(sig, sig2, 256) == 0);
	crypto_op_free(op);

	/* Raw CKM_RSA_PKCS: encrypt by us, decrypt by OpenSSL, and back. */
	m.mechanism = CKM_RSA_PKCS;
	len = sizeof(buf);
	CU_ASSERT(oneshot(OP_ENCRYPT, &m, rsa_pub, msg, 7, buf, &len) == CKR_OK && len == 256);
	unsigned char pt[256];
	CK_ULONG pl = sizeof(pt);
	CU_ASSERT(oneshot(OP_DECRYPT, &m, rsa_priv, buf, len, pt, &pl) == CKR_OK);
	CU_ASSERT(pl == 7 && memcmp(pt, msg, 7) == 0);
	pl = 3;
	CU_ASSERT(oneshot(OP_DECRYPT, &m, rsa_priv, buf, len, pt, &pl) == CKR_BUFFER_TOO_SMALL &&
		  pl == 7);
	pl = sizeof(pt);
	CU_ASSERT(oneshot(OP_DECRYPT, &m, rsa_priv, buf, 255, pt, &pl) ==
		  CKR_ENCRYPTED_DATA_LEN_RANGE);
	buf[100] ^= 1;
	CU_ASSERT(oneshot(OP_DECRYPT, &m, rsa_priv, buf, len, pt, &pl) ==
		  CKR_ENCRYPTED_DATA_INVALID);
	memset(buf, 1, sizeof(buf));
	len = sizeof(sig);
	CU_ASSERT(oneshot(OP_ENCRYPT, &m, rsa_pub, buf, 246, sig, &len) == CKR_DATA_LEN_RANGE);
	CU_ASSERT(oneshot(OP_SIGN, &m, rsa_priv, buf, 246, sig, &len) == CKR_DATA_LEN_RANGE);

	/* Sign raw, verify-recover returns the data. */
	len = sizeof(sig);
	CU_ASSERT(oneshot(OP_SIGN_RECOVER, &m, rsa_priv, msg, 7, sig, &len) == CKR_OK);
	pl = sizeof(pt);
	CU_ASSERT(oneshot(OP_VERIFY_RECOVER, &m, rsa_pub, sig, len, pt, &pl) == CKR_OK);
	CU_ASSERT(pl == 7 && memcmp(pt, msg, 7) == 0);
	CU_ASSERT(verify1(&m, rsa_pub, msg, 7, sig, len) == CKR_OK);

	/* X.509: the output of a decryption is always the modulus size. */
	m.mechanism = CKM_RSA_X_509;
	len = sizeof(sig);
	CU_ASSERT(oneshot(OP_ENCRYPT, &m, rsa_pub, "\x00\x01\x02", 3, sig, &len) == CKR_OK);
	pl = sizeof(pt);
	CU_ASSERT(oneshot(OP_DECRYPT, &m, rsa_priv, sig, len, pt, &pl) == CKR_OK && pl == 256);
	CU_ASSERT(memcmp(pt + 253, "\x00\x01\x02", 3) == 0 && pt[0] == 0);
	len = sizeof(sig);
	CU_ASSERT(oneshot(OP_SIGN, &m, rsa_priv, "\x07", 1, sig, &len) == CKR_OK);
	CU_ASSERT(verify1(&m, rsa_pub, "\x07", 1, sig, len) == CKR_OK);
	CU_ASSERT(verify1(&m, rsa_pub, "\x08", 1, sig, len) == CKR_SIGNATURE_INVALID);

	/* Wrong key type. */
	sk_object *aes = mk_secret_hex(CKK_AES, "000102030405060708090a0b0c0d0e0f");
	CU_ASSERT(crypto_op_new(OP_ENCRYPT, &m, aes, &op) == CKR_KEY_TYPE_INCONSISTENT);
	object_unref(aes);
	EVP_PKEY_free(opub);
}

static void test_rsa_pss_oaep(void)
{
	EVP_PKEY *opub = ossl_rsa_pub(rsa_pub);
	CK_RSA_PKCS_PSS_PARAMS pss = {CKM_SHA256, CKG_MGF1_SHA256, 32};
	CK_MECHANISM m = {CKM_SHA256_RSA_PKCS_PSS, &pss, sizeof(pss)};
	unsigned char sig[256], hash[32];
	CK_ULONG len = sizeof(sig);
	crypto_op *op;

	CU_ASSERT(oneshot(OP_SIGN, &m, rsa_priv, "abc", 3, sig, &len) == CKR_OK && len == 256);
	EVP_PKEY_CTX *pc = NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_DigestVerifyInit(md, &pc, EVP_sha256(), NULL, opub);
	EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING);
	EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, 32);
	CU_ASSERT(EVP_DigestVerify(md, sig, len, (const unsigned char *)"abc", 3) == 1);
	EVP_MD_CTX_free(md);
	CU_ASSERT(verify1(&m, rsa_pub, "abc", 3, sig, len) == CKR_OK);

	/* Plain PSS over a caller's hash. */
	m.mechanism = CKM_RSA_PKCS_PSS;
	EVP_Digest("abc", 3, hash, NULL, EVP_sha256(), NULL);
	CU_ASSERT(verify1(&m, rsa_pub, hash, 32, sig, len) == CKR_OK);
	len = sizeof(sig);
	CU_ASSERT(oneshot(OP_SIGN, &m, rsa_priv, hash, 31, sig, &len) == CKR_DATA_LEN_RANGE);
	CU_ASSERT(oneshot(OP_SIGN, &m, rsa_priv, hash, 32, sig, &len) == CKR_OK);
	CU_ASSERT(verify1(&m, rsa_pub, hash, 32, sig, len) == CKR_OK);

	/* Bad parameters. */
	pss.hashAlg = CKM_SHA384; /* differs from the mechanism's hash */
	m.mechanism = CKM_SHA256_RSA_PKCS_PSS;
	CU_ASSERT(crypto_op_new(OP_SIGN, &m, rsa_priv, &op) == CKR_MECHANISM_PARAM_INVALID);
	pss.hashAlg = CKM_SHA256;
	pss.sLen = 300;
	CU_ASSERT(crypto_op_new(OP_SIGN, &m, rsa_priv, &op) == CKR_MECHANISM_PARAM_INVALID);
	pss.sLen = 32;
	pss.mgf = 77;
	CU_ASSERT(crypto_op_new(OP_SIGN, &m, rsa_priv, &op) == CKR_MECHANISM_PARAM_INVALID);
	m.pParameter = NULL;
	m.ulParameterLen = 0;
	CU_ASSERT(crypto_op_new(OP_SIGN, &m, rsa_priv, &op) == CKR_MECHANISM_PARAM_INVALID);

	/* OAEP SHA-256 with a label: OpenSSL encrypts, the token decrypts. */
	unsigned char ct[256], pt[256];
	size_t cl = sizeof(ct);
	CK_RSA_PKCS_OAEP_PARAMS oaep = {CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED, "lbl", 3};
	CK_MECHANISM om = {CKM_RSA_PKCS_OAEP, &oaep, sizeof(oaep)};
	EVP_PKEY_CTX *ec = EVP_PKEY_CTX_new(opub, NULL);
	EVP_PKEY_encrypt_init(ec);
	EVP_PKEY_CTX_set_rsa_padding(ec, RSA_PKCS1_OAEP_PADDING);
	EVP_PKEY_CTX_set_rsa_oaep_md(ec, EVP_sha256());
	EVP_PKEY_CTX_set_rsa_mgf1_md(ec, EVP_sha256());
	EVP_PKEY_CTX_set0_rsa_oaep_label(ec, OPENSSL_memdup("lbl", 3), 3);
	CU_ASSERT(EVP_PKEY_encrypt(ec, ct, &cl, (const unsigned char *)"secret", 6) == 1);
	EVP_PKEY_CTX_free(ec);
	CK_ULONG pl = sizeof(pt);
	CU_ASSERT(oneshot(OP_DECRYPT, &om, rsa_priv, ct, cl, pt, &pl) == CKR_OK);
	CU_ASSERT(pl == 6 && memcmp(pt, "secret", 6) == 0);
	/* A different label must fail. */
	oaep.pSourceData = "lbX";
	pl = sizeof(pt);
	CU_ASSERT(oaep.ulSourceDataLen == 3 &&
		  oneshot(OP_DECRYPT, &om, rsa_priv, ct, cl, pt, &pl) == CKR_ENCRYPTED_DATA_INVALID);
	/* SHA-1 OAEP round trip, and the length limit 256 - 2*20 - 2. */
	oaep.hashAlg = CKM_SHA_1;
	oaep.mgf = CKG_MGF1_SHA1;
	CK_ULONG ctl = sizeof(ct);
	memset(pt, 3, sizeof(pt));
	CU_ASSERT(oneshot(OP_ENCRYPT, &om, rsa_pub, pt, 215, ct, &ctl) == CKR_DATA_LEN_RANGE);
	CU_ASSERT(oneshot(OP_ENCRYPT, &om, rsa_pub, pt, 214, ct, &ctl) == CKR_OK && ctl == 256);
	pl = sizeof(pt);
	CU_ASSERT(oneshot(OP_DECRYPT, &om, rsa_priv, ct, ctl, pt, &pl) == CKR_OK && pl == 214);
	oaep.source = 7;
	CU_ASSERT(crypto_op_new(OP_ENCRYPT, &om, rsa_pub, &op) == CKR_MECHANISM_PARAM_INVALID);
	EVP_PKEY_free(opub);
}

/* ---- AES and SM4 ---- */

static void test_aes_ecb_cbc(void)
{
	sk_object *k = mk_secret_hex(CKK_AES, "000102030405060708090a0b0c0d0e0f");
	CK_MECHANISM m = {CKM_AES_ECB, NULL, 0};
	unsigned char pt[16], out[128], back[128];
	CK_ULONG len = sizeof(out);
	crypto_op *op;

	unhex("00112233445566778899aabbccddeeff", pt);
	CU_ASSERT(oneshot(OP_ENCRYPT, &m, k, pt, 16, out, &len) == CKR_OK);
	CU_ASSERT(eq_hex(out, len, "69c4e0d86a7b0430d8cdb78070b4c55a"));
	CU_ASSERT(oneshot(OP_ENCRYPT, &m, k, pt, 15, out, &len) == CKR_DATA_LEN_RANGE);
	CU_ASSERT(oneshot(OP_DECRYPT, &m, k, pt, 15, out, &len) == CKR_ENCRYPTED_DATA_LEN_RANGE);

	/* CBC multi-part in odd pieces equals OpenSSL's one-shot. */
	unsigned char iv[16], data[80], ref[96];
	int rl, fl;
	memset(iv, 0xA5, 16);
	for (int i = 0; i < 80; i++)
		data[i] = (unsigned char)i;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	EVP_EncryptInit_ex(c, EVP_aes_128_cbc(), NULL, (const unsigned char *)"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f", iv);
	EVP_EncryptUpdate(c, ref, &rl, data, 77);
	EVP_EncryptFinal_ex(c, ref + rl, &fl);
	EVP_CIPHER_CTX_free(c);
	CU_ASSERT(rl + fl == 80);

	CK_MECHANISM cm = {CKM_AES_CBC_PAD, iv, 16};
	CU_ASSERT_FATAL(crypto_op_new(OP_ENCRYPT, &cm, k, &op) == CKR_OK);
	size_t total = 0;
	const size_t pieces[] = {5, 20, 0, 17, 35};
	const unsigned char *in = data;
	for (size_t i = 0; i < 5; i++) {
		CK_ULONG n = 0;
		CU_ASSERT(crypto_op_update(op, in, pieces[i], NULL, &n) == CKR_OK);
		size_t expect = ((total % 16 + 0) + pieces[i]);
		(void)expect;
		CK_ULONG want = n;
		if (want > 0) {
			n = want - 1;
			CU_ASSERT(crypto_op_update(op, in, pieces[i], out + total, &n) ==
				  CKR_BUFFER_TOO_SMALL && n == want);
		}
		n = sizeof(out) - total;
		CU_ASSERT(crypto_op_update(op, in, pieces[i], out + total, &n) == CKR_OK &&
			  n == want);
		total += n;
		in += pieces[i];
	}
	len = 0;
	CU_ASSERT(crypto_op_final(op, NULL, &len) == CKR_OK && len == 16);
	CU_ASSERT(crypto_op_final(op, out + total, &len) == CKR_OK && len == 16);
	total += len;
	crypto_op_free(op);
	CU_ASSERT(total == 80 && memcmp(out, ref, 80) == 0);

	/* Decrypt multi-part: the last block is held until Final. */
	CU_ASSERT_FATAL(crypto_op_new(OP_DECRYPT, &cm, k, &op) == CKR_OK);
	CK_ULONG n = sizeof(back);
	CU_ASSERT(crypto_op_update(op, out, 64, back, &n) == CKR_OK && n == 48);
	CK_ULONG n2 = sizeof(back) - n;
	CU_ASSERT(crypto_op_update(op, out + 64, 16, back + n, &n2) == CKR_OK && n2 == 16);
	CK_ULONG n3 = 5; /* 13 bytes remain: too small, then the retry */
	CU_ASSERT(crypto_op_final(op, back + 64, &n3) == CKR_BUFFER_TOO_SMALL && n3 == 13);
	n3 = 13;
	CU_ASSERT(crypto_op_final(op, back + 64, &n3) == CKR_OK && n3 == 13);
	crypto_op_free(op);
	CU_ASSERT(memcmp(back, data, 77) == 0);

	/* One-shot decrypt with a buffer that fits the plaintext but not the bound. */
	n = 77;
	CU_ASSERT(oneshot(OP_DECRYPT, &cm, k, out, 80, back, &n) == CKR_OK && n == 77);
	n = 76;
	CU_ASSERT(oneshot(OP_DECRYPT, &cm, k, out, 80, back, &n) == CKR_BUFFER_TOO_SMALL && n == 77);
	/* Bad padding. */
	out[79] ^= 0x55;
	n = sizeof(back);
	CU_ASSERT(oneshot(OP_DECRYPT, &cm, k, out, 80, back, &n) == CKR_ENCRYPTED_DATA_INVALID);

	/* Plain CBC, IV checks. */
	cm.mechanism = CKM_AES_CBC;
	n = sizeof(out);
	CU_ASSERT(oneshot(OP_ENCRYPT, &cm, k, data, 70, out, &n) == CKR_DATA_LEN_RANGE);
	CU_ASSERT(oneshot(OP_ENCRYPT, &cm, k, data, 64, out, &n) == CKR_OK && n == 64);
	CU_ASSERT(memcmp(out, ref, 64) == 0);
	cm.ulParameterLen = 8;
	CU_ASSERT(crypto_op_new(OP_ENCRYPT, &cm, k, &op) == CKR_MECHANISM_PARAM_INVALID);
	cm.pParameter = NULL;
	cm.ulParameterLen = 0;
	CU_ASSERT(crypto_op_new(OP_ENCRYPT, &cm, k, &op) == CKR_MECHANISM_PARAM_INVALID);
	/* Multi-part CBC with a partial block left at Final. */
	cm.pParameter = iv;
	cm.ulParameterLen = 16;
	CU_ASSERT_FATAL(crypto_op_new(OP_ENCRYPT, &cm, k, &op) == CKR_OK);
	n = sizeof(out);
	CU_ASSERT(crypto_op_update(op, data, 20, out, &n) == CKR_OK && n == 16);
	n = sizeof(out);
	CU_ASSERT(crypto_op_final(op, out, &n) == CKR_DATA_LEN_RANGE);
	crypto_op_free(op);

	/* Key of the wrong type or size. */
	sk_object *g = mk_secret_hex(CKK_GENERIC_SECRET, "000102030405060708090a0b0c0d0e0f");
	CU_ASSERT(crypto_op_new(OP_ENCRYPT, &m, g, &op) == CKR_KEY_TYPE_INCONSISTENT);
	object_unref(g);
	object_unref(k);
}

static void test_aes_ctr(void)
{
	sk_object *k = mk_secret_hex(CKK_AES, "2b7e151628aed2a6abf7158809cf4f3c");
	CK_AES_CTR_PARAMS p = {128, {0}};
	CK_MECHANISM m = {CKM_AES_CTR, &p, sizeof(p)};
	unsigned char pt[64], out[64];
	CK_ULONG n = sizeof(out);

	/* SP 800-38A F.5.1, first two blocks. */
	unhex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff", p.cb);
	unhex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51", pt);
	CU_ASSERT(oneshot(OP_ENCRYPT, &m, k, pt, 32, out, &n) == CKR_OK);
	CU_ASSERT(eq_hex(out, n,
			 "874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff"));
	/* Multi-part with an odd split. */
	crypto_op *op;
	CK_ULONG a = sizeof(out), b;
	CU_ASSERT_FATAL(crypto_op_new(OP_DECRYPT, &m, k, &op) == CKR_OK);
	CU_ASSERT(crypto_op_update(op, out, 7, pt, &a) == CKR_OK && a == 7);
	b = sizeof(pt) - 7;
	CU_ASSERT(crypto_op_update(op, out + 7, 25, pt + 7, &b) == CKR_OK && b == 25);
	a = 0;
	CU_ASSERT(crypto_op_final(op, NULL, &a) == CKR_OK && a == 0);
	crypto_op_free(op);
	CU_ASSERT(eq_hex(pt, 32, "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"));
	/* A 2-bit counter at its last value leaves room for one block. */
	p.ulCounterBits = 2;
	p.cb[15] = 0xff;
	n = sizeof(out);
	CU_ASSERT(oneshot(OP_ENCRYPT, &m, k, pt, 17, out, &n) == CKR_DATA_LEN_RANGE);
	CU_ASSERT(oneshot(OP_ENCRYPT, &m, k, pt, 16, out, &n) == CKR_OK);
	p.ulCounterBits = 0;
	CU_ASSERT(crypto_op_new(OP_ENCRYPT, &m, k, &op) == CKR_MECHANISM_PARAM_INVALID);
	object_unref(k);
}

static void test_aes_gcm(void)
{
	sk_object *k = mk_secret_hex(CKK_AES, "00000000000000000000000000000000");
	unsigned char iv[12] = {0}, pt[16] = {0}, out[64], back[64];
	CK_GCM_PARAMS p = {iv, 12, 96, NULL, 0, 128};
	CK_MECHANISM m = {CKM_AES_GCM, &p, sizeof(p)};
	CK_ULONG n = 0;
	crypto_op *op;

	/* GCM spec test case 2. */
	CU_ASSERT(oneshot(OP_ENCRYPT, &m, k, pt, 16, NULL, &n) == CKR_OK && n == 32);
	n = 31;
	CU_ASSERT(oneshot(OP_ENCRYPT, &m, k, pt, 16, out, &n) == CKR_BUFFER_TOO_SMALL && n == 32);
	CU_ASSERT(oneshot(OP_ENCRYPT, &m, k, pt, 16, out, &n) == CKR_OK);
	CU_ASSERT(eq_hex(out, n,
			 "0388dace60b6a392f328c2b971b2fe78ab6e47d42cec13bdf53a67b21257bddf"));

	/* Multi-part decrypt: nothing comes out before Final checks the tag. */
	CU_ASSERT_FATAL(crypto_op_new(OP_DECRYPT, &m, k, &op) == CKR_OK);
	CK_ULONG a = 99;
	/* A length query consumes nothing. */
	CU_ASSERT(crypto_op_update(op, out, 20, NULL, &a) == CKR_OK && a == 0);
	a = sizeof(back);
	CU_ASSERT(crypto_op_update(op, out, 20, back, &a) == CKR_OK && a == 0);
	a = sizeof(back);
	CU_ASSERT(crypto_op_update(op, out + 20, 12, back, &a) == CKR_OK && a == 0);
	a = 0;
	CU_ASSERT(crypto_op_final(op, NULL, &a) == CKR_OK && a == 16);
	a = 15;
	CU_ASSERT(crypto_op_final(op, back, &a) == CKR_BUFFER_TOO_SMALL && a == 16);
	CU_ASSERT(crypto_op_final(op, back, &a) == CKR_OK && a == 16);
	CU_ASSERT(memcmp(back, pt, 16) == 0);
	crypto_op_free(op);

	/* Tampered tag. */
	out[31] ^= 1;
	a = sizeof(back);
	CU_ASSERT(oneshot(OP_DECRYPT, &m, k, out, 32, back, &a) == CKR_ENCRYPTED_DATA_INVALID);
	a = sizeof(back);
	CU_ASSERT(oneshot(OP_DECRYPT, &m, k, out, 10, back, &a) == CKR_ENCRYPTED_DATA_LEN_RANGE);

	/* AAD and a 96-bit tag against OpenSSL, multi-part encryption. */
	unsigned char data[100], ref[100], tag[12];
	int rl, fl;
	for (int i = 0; i < 100; i++)
		data[i] = (unsigned char)(i * 7);
	memset(iv, 0x11, sizeof(iv));
	p.pAAD = (unsigned char *)"header";
	p.ulAADLen = 6;
	p.ulTagBits = 96;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), NULL, (unsigned char[16]){0}, iv);
	EVP_EncryptUpdate(c, NULL, &rl, (const unsigned char *)"header", 6);
	EVP_EncryptUpdate(c, ref, &rl, data, 100);
	EVP_EncryptFinal_ex(c, ref + rl, &fl);
	EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 12, tag);
	EVP_CIPHER_CTX_free(c);
	unsigned char big[128];
	CU_ASSERT_FATAL(crypto_op_new(OP_ENCRYPT, &m, k, &op) == CKR_OK);
	a = sizeof(big);
	CU_ASSERT(crypto_op_update(op, data, 33, big, &a) == CKR_OK && a == 33);
	CK_ULONG b2 = sizeof(big) - 33;
	CU_ASSERT(crypto_op_update(op, data + 33, 67, big + 33, &b2) == CKR_OK && b2 == 67);
	CK_ULONG t = sizeof(big) - 100;
	CU_ASSERT(crypto_op_final(op, big + 100, &t) == CKR_OK && t == 12);
	crypto_op_free(op);
	CU_ASSERT(memcmp(big, ref, 100) == 0 && memcmp(big + 100, tag, 12) == 0);
	a = sizeof(back) + 0;
	unsigned char pt2[128];
	a = sizeof(pt2);
	CU_ASSERT(oneshot(OP_DECRYPT, &m, k, big, 112, pt2, &a) == CKR_OK && a == 100);
	CU_ASSERT(memcmp(pt2, data, 100) == 0);

	/* Parameter checks. */
	p.ulTagBits = 130;
	CU_ASSERT(crypto_op_new(OP_ENCRYPT, &m, k, &op) == CKR_MECHANISM_PARAM_INVALID);
	p.ulTagBits = 128;
	p.ulIvLen = 0;
	CU_ASSERT(crypto_op_new(OP_ENCRYPT, &m, k, &op) == CKR_MECHANISM_PARAM_INVALID);
	p.ulIvLen = 12;
	m.ulParameterLen = 8;
	CU_ASSERT(crypto_op_new(OP_ENCRYPT, &m, k, &op) == CKR_MECHANISM_PARAM_INVALID);
	object_unref(k);
}

static void test_sm4(void)
{
	sk_object *k = mk_secret_hex(CKK_SM4, "0123456789abcdeffedcba9876543210");
	CK_MECHANISM m = {CKM_SM4_ECB, NULL, 0};
	unsigned char pt[32], out[64], back[64];
	CK_ULONG n = sizeof(out);

	/* GB/T 32907 example 1. */
	unhex("0123456789abcdeffedcba9876543210", pt);
	CU_ASSERT(oneshot(OP_ENCRYPT, &m, k, pt, 16, out, &n) == CKR_OK);
	CU_ASSERT(eq_hex(out, n, "681edf34d206965e86b3e94f536e4246"));

	/* ECB-PAD and CBC-PAD round trips. */
	unsigned char iv[16];
	memset(iv, 3, 16);
	CK_MECHANISM pm[] = {{CKM_SM4_ECB_PAD, NULL, 0}, {CKM_SM4_CBC_PAD, iv, 16}};
	for (int i = 0; i < 2; i++) {
		n = sizeof(out);
		CU_ASSERT(oneshot(OP_ENCRYPT, &pm[i], k, "hello sm4", 9, out, &n) == CKR_OK &&
			  n == 16);
		CK_ULONG b = sizeof(back);
		CU_ASSERT(oneshot(OP_DECRYPT, &pm[i], k, out, n, back, &b) == CKR_OK && b == 9);
		CU_ASSERT(memcmp(back, "hello sm4", 9) == 0);
	}
	/* CBC and CTR against OpenSSL. */
	unsigned char ref[32];
	int rl;
	EVP_CIPHER *cbc = EVP_CIPHER_fetch(NULL, "SM4-CBC", NULL);
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	unhex("0123456789abcdeffedcba9876543210", pt + 16);
	EVP_EncryptInit_ex2(c, cbc, pt, iv, NULL);
	EVP_CIPHER_CTX_set_padding(c, 0);
	EVP_EncryptUpdate(c, ref, &rl, pt, 32);
	CK_MECHANISM cm = {CKM_SM4_CBC, iv, 16};
	n = sizeof(out);
	CU_ASSERT(oneshot(OP_ENCRYPT, &cm, k, pt, 32, out, &n) == CKR_OK && n == 32);
	CU_ASSERT(rl == 32 && memcmp(out, ref, 32) == 0);
	EVP_CIPHER_CTX_free(c);
	EVP_CIPHER_free(cbc);
	CK_AES_CTR_PARAMS cp = {128, {0}};
	CK_MECHANISM ctr = {CKM_SM4_CTR, &cp, sizeof(cp)};
	n = sizeof(out);
	CU_ASSERT(oneshot(OP_ENCRYPT, &ctr, k, pt, 21, out, &n) == CKR_OK && n == 21);
	CK_ULONG b = sizeof(back);
	CU_ASSERT(oneshot(OP_DECRYPT, &ctr, k, out, 21, back, &b) == CKR_OK && b == 21);
	CU_ASSERT(memcmp(back, pt, 21) == 0 && memcmp(out, pt, 21) != 0);

	/* SM4 keys are 16 bytes; AES mechanisms refuse them. */
	crypto_op *op;
	CK_MECHANISM aes = {CKM_AES_ECB, NULL, 0};
	CU_ASSERT(crypto_op_new(OP_ENCRYPT, &aes, k, &op) == CKR_KEY_TYPE_INCONSISTENT);
	object_unref(k);
}

/* RFC 8998 appendix A.1 (SM4-GCM), one-shot and multi-part, plus tampering. */
static void test_sm4_gcm(void)
{
	sk_object *k = mk_secret_hex(CKK_SM4, "0123456789ABCDEFFEDCBA9876543210");
	unsigned char iv[12], aad[20], pt[64], out[96], back[96];
	const char *want_ct = "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735"
			      "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D";
	const char *want_tag = "83DE3541E4C2B58177E065A9BF7B62EC";
	CK_GCM_PARAMS p = {iv, 12, 96, aad, 20, 128};
	CK_MECHANISM m = {CKM_SM4_GCM, &p, sizeof(p)};
	CK_ULONG n = 0, a;
	crypto_op *op;

	unhex("00001234567800000000ABCD", iv);
	unhex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2", aad);
	unhex("AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD"
	      "EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA",
	      pt);
	CU_ASSERT(mech_info(CKM_SM4_GCM) != NULL);
	CU_ASSERT(oneshot(OP_ENCRYPT, &m, k, pt, 64, NULL, &n) == CKR_OK && n == 80);
	n = 79;
	CU_ASSERT(oneshot(OP_ENCRYPT, &m, k, pt, 64, out, &n) == CKR_BUFFER_TOO_SMALL && n == 80);
	CU_ASSERT(oneshot(OP_ENCRYPT, &m, k, pt, 64, out, &n) == CKR_OK && n == 80);
	CU_ASSERT(eq_hex(out, 64, want_ct));
	CU_ASSERT(eq_hex(out + 64, 16, want_tag));
	a = sizeof(back);
	CU_ASSERT(oneshot(OP_DECRYPT, &m, k, out, 80, back, &a) == CKR_OK && a == 64);
	CU_ASSERT(memcmp(back, pt, 64) == 0);

	/* Multi-part encryption in uneven pieces gives the same bytes. */
	unsigned char mp[96];
	CK_ULONG got = 0;
	size_t cuts[] = {0, 1, 15, 17, 31, 64};
	CU_ASSERT_FATAL(crypto_op_new(OP_ENCRYPT, &m, k, &op) == CKR_OK);
	for (int i = 0; i + 1 < 6; i++) {
		a = sizeof(mp) - got;
		CU_ASSERT(crypto_op_update(op, pt + cuts[i], cuts[i + 1] - cuts[i], mp + got,
					   &a) == CKR_OK &&
			  a == cuts[i + 1] - cuts[i]);
		got += a;
	}
	a = 0;
	CU_ASSERT(crypto_op_final(op, NULL, &a) == CKR_OK && a == 16);
	a = sizeof(mp) - got;
	CU_ASSERT(crypto_op_final(op, mp + got, &a) == CKR_OK && a == 16);
	crypto_op_free(op);
	CU_ASSERT(got + 16 == 80 && memcmp(mp, out, 80) == 0);

	/* Multi-part decryption releases nothing before Final. */
	CU_ASSERT_FATAL(crypto_op_new(OP_DECRYPT, &m, k, &op) == CKR_OK);
	a = sizeof(back);
	CU_ASSERT(crypto_op_update(op, out, 50, back, &a) == CKR_OK && a == 0);
	a = sizeof(back);
	CU_ASSERT(crypto_op_update(op, out + 50, 30, back, &a) == CKR_OK && a == 0);
	a = 63;
	CU_ASSERT(crypto_op_final(op, back, &a) == CKR_BUFFER_TOO_SMALL && a == 64);
	CU_ASSERT(crypto_op_final(op, back, &a) == CKR_OK && a == 64);
	CU_ASSERT(memcmp(back, pt, 64) == 0);
	crypto_op_free(op);

	/* A flipped bit anywhere (text, tag) or other AAD: refused, no plaintext out. */
	for (int pos = 0; pos < 80; pos += 79) {
		out[pos] ^= 1;
		memset(back, 0x5A, sizeof(back));
		a = sizeof(back);
		CU_ASSERT(oneshot(OP_DECRYPT, &m, k, out, 80, back, &a) ==
			  CKR_ENCRYPTED_DATA_INVALID);
		CU_ASSERT(back[0] == 0x5A && back[63] == 0x5A);
		out[pos] ^= 1;
	}
	p.ulAADLen = 19;
	a = sizeof(back);
	CU_ASSERT(oneshot(OP_DECRYPT, &m, k, out, 80, back, &a) == CKR_ENCRYPTED_DATA_INVALID);
	p.ulAADLen = 20;
	a = sizeof(back);
	CU_ASSERT(oneshot(OP_DECRYPT, &m, k, out, 10, back, &a) == CKR_ENCRYPTED_DATA_LEN_RANGE);

	/* Truncated tag: its prefix. */
	p.ulTagBits = 96;
	n = sizeof(out);
	unsigned char t12[96];
	CU_ASSERT(oneshot(OP_ENCRYPT, &m, k, pt, 64, t12, &n) == CKR_OK && n == 76);
	CU_ASSERT(memcmp(t12, out, 76) == 0);
	a = sizeof(back);
	CU_ASSERT(oneshot(OP_DECRYPT, &m, k, t12, 76, back, &a) == CKR_OK && a == 64);

	/* Parameter checks, as for AES-GCM. */
	p.ulTagBits = 130;
	CU_ASSERT(crypto_op_new(OP_ENCRYPT, &m, k, &op) == CKR_MECHANISM_PARAM_INVALID);
	p.ulTagBits = 100;
	CU_ASSERT(crypto_op_new(OP_ENCRYPT, &m, k, &op) == CKR_MECHANISM_PARAM_INVALID);
	p.ulTagBits = 128;
	p.ulIvLen = 0;
	CU_ASSERT(crypto_op_new(OP_ENCRYPT, &m, k, &op) == CKR_MECHANISM_PARAM_INVALID);
	p.ulIvLen = 12;
	p.pAAD = NULL;
	CU_ASSERT(crypto_op_new(OP_ENCRYPT, &m, k, &op) == CKR_MECHANISM_PARAM_INVALID);
	p.pAAD = aad;
	m.ulParameterLen = 8;
	CU_ASSERT(crypto_op_new(OP_ENCRYPT, &m, k, &op) == CKR_MECHANISM_PARAM_INVALID);
	object_unref(k);
}

/* Our GCM over AES-ECB must equal OpenSSL's AES-GCM: random keys, IV
 * lengths (96-bit and other, which exercises J0 = GHASH(IV)), AAD and text
 * lengths, and random split points. */
static void test_gcm_vs_openssl(void)
{
	EVP_CIPHER *ecb = EVP_CIPHER_fetch(NULL, "AES-128-ECB", NULL);
	EVP_CIPHER *ref = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
	unsigned char key[16], iv[80], aad[80], pt[300], ct[300], rct[300], back[300];
	unsigned char tag[16], rtag[16];
	unsigned rnd[5];

	CU_ASSERT_FATAL(ecb != NULL && ref != NULL);
	for (int round = 0; round < 300; round++) {
		RAND_bytes((unsigned char *)rnd, sizeof(rnd));
		size_t iv_len = round % 3 == 0 ? 12 : 1 + rnd[0] % sizeof(iv);
		size_t aad_len = rnd[1] % sizeof(aad), len = rnd[2] % sizeof(pt);
		size_t cut = len ? rnd[3] % (len + 1) : 0;
		size_t acut = aad_len ? rnd[4] % (aad_len + 1) : 0;
		gcm_ctx *g;
		int rl, fl;

		RAND_bytes(key, sizeof(key));
		RAND_bytes(iv, sizeof(iv));
		RAND_bytes(aad, sizeof(aad));
		RAND_bytes(pt, sizeof(pt));

		OSSL_PARAM prm[] = {
			OSSL_PARAM_construct_size_t(OSSL_CIPHER_PARAM_AEAD_IVLEN, &iv_len),
			OSSL_PARAM_construct_end()};
		EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
		CU_ASSERT_FATAL(EVP_EncryptInit_ex2(c, ref, NULL, NULL, prm) &&
				EVP_EncryptInit_ex2(c, NULL, key, iv, NULL));
		CU_ASSERT(EVP_EncryptUpdate(c, NULL, &rl, aad, (int)aad_len));
		CU_ASSERT(EVP_EncryptUpdate(c, rct, &rl, pt, (int)len));
		CU_ASSERT(EVP_EncryptFinal_ex(c, rct + rl, &fl));
		CU_ASSERT(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, rtag));
		EVP_CIPHER_CTX_free(c);

		CU_ASSERT_FATAL(gcm_ctx_new(ecb, key, iv, iv_len, &g) == CKR_OK);
		CU_ASSERT(gcm_ctx_aad(g, aad, acut) == CKR_OK);
		CU_ASSERT(gcm_ctx_aad(g, aad + acut, aad_len - acut) == CKR_OK);
		CU_ASSERT(gcm_ctx_encrypt(g, pt, cut, ct) == CKR_OK);
		CU_ASSERT(gcm_ctx_encrypt(g, pt + cut, len - cut, ct + cut) == CKR_OK);
		CU_ASSERT(gcm_ctx_tag(g, tag) == CKR_OK);
		gcm_ctx_free(g);
		CU_ASSERT(memcmp(ct, rct, len) == 0);
		CU_ASSERT(memcmp(tag, rtag, 16) == 0);

		CU_ASSERT_FATAL(gcm_ctx_new(ecb, key, iv, iv_len, &g) == CKR_OK);
		CU_ASSERT(gcm_ctx_aad(g, aad, aad_len) == CKR_OK);
		CU_ASSERT(gcm_ctx_hash_ciphertext(g, rct, cut) == CKR_OK);
		CU_ASSERT(gcm_ctx_hash_ciphertext(g, rct + cut, len - cut) == CKR_OK);
		CU_ASSERT(gcm_ctx_tag(g, tag) == CKR_OK);
		CU_ASSERT(memcmp(tag, rtag, 16) == 0);
		CU_ASSERT(gcm_ctx_decrypt(g, rct, len, back) == CKR_OK);
		CU_ASSERT(memcmp(back, pt, len) == 0);
		gcm_ctx_free(g);
	}
	EVP_CIPHER_free(ecb);
	EVP_CIPHER_free(ref);
}

/* CBC-MAC of zero-padded data under a zero IV, computed with EVP SM4-CBC. */
static void ref_cbc_mac(const unsigned char *key, const unsigned char *data, size_t len,
			unsigned char mac[16])
{
	EVP_CIPHER *cbc = EVP_CIPHER_fetch(NULL, "SM4-CBC", NULL);
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	size_t padded = len ? (len + 15) / 16 * 16 : 16;
	unsigned char *in = calloc(1, padded), *out = malloc(padded);
	int n;

	CU_ASSERT_FATAL(cbc && c && in && out);
	memcpy(in, data, len);
	CU_ASSERT(EVP_EncryptInit_ex2(c, cbc, key, (unsigned char[16]){0}, NULL));
	EVP_CIPHER_CTX_set_padding(c, 0);
	CU_ASSERT(EVP_EncryptUpdate(c, out, &n, in, (int)padded) && (size_t)n == padded);
	memcpy(mac, out + padded - 16, 16);
	free(in);
	free(out);
	EVP_CIPHER_CTX_free(c);
	EVP_CIPHER_free(cbc);
}

static void test_sm4_mac(void)
{
	unsigned char key[16], data[100], want[16], mac[16];
	CK_ULONG glen = 4;
	CK_MECHANISM half = {CKM_SM4_MAC, NULL, 0};
	CK_MECHANISM gen = {CKM_SM4_MAC_GENERAL, &glen, sizeof(glen)};
	size_t lens[] = {0, 1, 15, 16, 17, 32, 33, 100};
	crypto_op *op;
	CK_ULONG n;

	RAND_bytes(key, sizeof(key));
	RAND_bytes(data, sizeof(data));
	sk_object *k = mk_secret(CKK_SM4, key, sizeof(key));
	CU_ASSERT(mech_info(CKM_SM4_MAC) != NULL && mech_info(CKM_SM4_MAC_GENERAL) != NULL);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t len = lens[i];

		ref_cbc_mac(key, data, len, want);
		n = 0;
		CU_ASSERT(oneshot(OP_SIGN, &half, k, data, len, NULL, &n) == CKR_OK && n == 8);
		n = sizeof(mac);
		CU_ASSERT(oneshot(OP_SIGN, &half, k, data, len, mac, &n) == CKR_OK && n == 8);
		CU_ASSERT(memcmp(mac, want, 8) == 0);
		CU_ASSERT(verify1(&half, k, data, len, want, 8) == CKR_OK);
		for (glen = 1; glen <= 16; glen += 15) {
			n = sizeof(mac);
			CU_ASSERT(oneshot(OP_SIGN, &gen, k, data, len, mac, &n) == CKR_OK &&
				  n == glen);
			CU_ASSERT(memcmp(mac, want, glen) == 0);
		}
		/* Multi-part in uneven pieces. */
		glen = 16;
		CU_ASSERT_FATAL(crypto_op_new(OP_SIGN, &gen, k, &op) == CKR_OK);
		CU_ASSERT(crypto_op_update(op, data, len / 3, NULL, NULL) == CKR_OK);
		CU_ASSERT(crypto_op_update(op, data + len / 3, len - len / 3, NULL, NULL) ==
			  CKR_OK);
		n = sizeof(mac);
		CU_ASSERT(crypto_op_final(op, mac, &n) == CKR_OK && n == 16);
		CU_ASSERT(memcmp(mac, want, 16) == 0);
		crypto_op_free(op);
		CU_ASSERT_FATAL(crypto_op_new(OP_VERIFY, &gen, k, &op) == CKR_OK);
		CU_ASSERT(crypto_op_update(op, data, len, NULL, NULL) == CKR_OK);
		CU_ASSERT(crypto_op_verify_final(op, want, 16) == CKR_OK);
		crypto_op_free(op);
	}
	want[0] ^= 1;
	CU_ASSERT(verify1(&half, k, data, 100, want, 8) == CKR_SIGNATURE_INVALID);
	CU_ASSERT(verify1(&half, k, data, 100, want, 16) == CKR_SIGNATURE_LEN_RANGE);
	glen = 17;
	CU_ASSERT(crypto_op_new(OP_SIGN, &gen, k, &op) == CKR_MECHANISM_PARAM_INVALID);
	glen = 0;
	CU_ASSERT(crypto_op_new(OP_SIGN, &gen, k, &op) == CKR_MECHANISM_PARAM_INVALID);
	CU_ASSERT(crypto_op_new(OP_ENCRYPT, &half, k, &op) == CKR_MECHANISM_INVALID);
	object_unref(k);
	k = mk_secret_hex(CKK_AES, "00000000000000000000000000000000");
	CU_ASSERT(crypto_op_new(OP_SIGN, &half, k, &op) == CKR_KEY_TYPE_INCONSISTENT);
	object_unref(k);
}

/* Other vendors' codes (spec/pkcs11-sm.md 1.6) work on input, never listed. */
static void test_aliases(void)
{
	static const CK_ULONG mechs[][2] = {
		{0x80000B22UL, CKM_SM2_SM3},	      {0x8005000CUL, CKM_SM2_SM3},
		{0x80008105UL, CKM_SM2},	      {0x80000B21UL, CKM_SM2},
		{0x8005000BUL, CKM_SM2},	      {0x80000B20UL, CKM_SM2_KEY_PAIR_GEN},
		{0x8005000AUL, CKM_SM2_KEY_PAIR_GEN}, {0x8005000DUL, CKM_SM2_ENCRYPT},
		{0x80000B01UL, CKM_SM3},	      {0x8005000EUL, CKM_SM3},
		{0x80000B10UL, CKM_SM4_KEY_GEN},      {0x80000B11UL, CKM_SM4_ECB},
		{0x80000B12UL, CKM_SM4_CBC},	      {0x80000B13UL, CKM_SM4_CBC_PAD},
		{0x8000A201UL, CKM_SM4_CBC_PAD},      {0x80534D5AUL, CKM_SM4_CTR},
	};
	CK_MECHANISM_TYPE list[200];
	CK_ULONG n = mech_list(list, 200);

	CU_ASSERT_FATAL(n <= 200);
	for (size_t i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++) {
		CU_ASSERT(mech_canonical(mechs[i][0]) == mechs[i][1]);
		CU_ASSERT(mech_info(mechs[i][0]) != NULL &&
			  mech_info(mechs[i][0]) == mech_info(mechs[i][1]));
		for (CK_ULONG k = 0; k < n; k++)
			CU_ASSERT(list[k] != mechs[i][0]);
	}
	CU_ASSERT(mech_canonical(CKM_SM4_ECB) == CKM_SM4_ECB);
	/* Clashing values stay unknown (0x80000005 is SM3 at TASS, a key type elsewhere). */
	CU_ASSERT(mech_info(0x80000005UL) == NULL);
	CU_ASSERT(mech_key_type(0x80000B20UL) == CKK_SM2);
	CU_ASSERT(mech_key_type(0x8005000AUL) == CKK_SM2);
	CU_ASSERT(mech_key_type(0x80000B10UL) == CKK_SM4);
	CU_ASSERT(mech_canonical_key_type(0x80000016UL) == CKK_SM2);
	CU_ASSERT(mech_canonical_key_type(0x80050002UL) == CKK_SM2);
	CU_ASSERT(mech_canonical_key_type(0x80000015UL) == CKK_SM4);
	CU_ASSERT(mech_canonical_key_type(0x80050001UL) == CKK_SM4);
	CU_ASSERT(mech_canonical_key_type(CKK_AES) == CKK_AES);

	/* An operation started with an alias equals the canonical one. */
	sk_object *k = mk_secret_hex(CKK_SM4, "0123456789abcdeffedcba9876543210");
	CK_MECHANISM m = {0x80000B11UL, NULL, 0};
	unsigned char pt[16], out[16];
	CK_ULONG len = sizeof(out);
	unhex("0123456789abcdeffedcba9876543210", pt);
	CU_ASSERT(oneshot(OP_ENCRYPT, &m, k, pt, 16, out, &len) == CKR_OK);
	CU_ASSERT(eq_hex(out, len, "681edf34d206965e86b3e94f536e4246"));
	object_unref(k);
	CK_MECHANISM d = {0x8005000EUL, NULL, 0};
	len = sizeof(list);
	CU_ASSERT(oneshot(OP_DIGEST, &d, NULL, "abc", 3, (unsigned char *)list, &len) == CKR_OK);
	CU_ASSERT(eq_hex((unsigned char *)list, len,
			 "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"));

	/* Key generation with an alias mechanism. */
	k = mk_obj(CKO_SECRET_KEY, CKK_SM4);
	m.mechanism = 0x80000B10UL;
	CU_ASSERT(crypto_generate_key(&m, k) == CKR_OK);
	CU_ASSERT(object_secret_get(k, CKA_VALUE, NULL, 0, &len) == CKR_OK && len == 16);
	object_unref(k);

	/* The object layer stores our key type whatever alias the template named. */
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kts[] = {0x80000015UL, 0x80050001UL};
	unsigned char val[16] = {1};
	for (int i = 0; i < 2; i++) {
		CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof(cls)},
				    {CKA_KEY_TYPE, &kts[i], sizeof(kts[i])},
				    {CKA_VALUE, val, sizeof(val)}};
		CK_KEY_TYPE got = 0;
		const void *v;
		CK_ULONG vl;

		k = object_new();
		CU_ASSERT_FATAL(k != NULL);
		CU_ASSERT(object_from_template(ORIGIN_CREATE, CK_UNAVAILABLE_INFORMATION,
					       CK_UNAVAILABLE_INFORMATION, t, 3, false,
					       k) == CKR_OK);
		CU_ASSERT(k->key_type == CKK_SM4);
		if (object_value(k, CKA_KEY_TYPE, &v, &vl) == CKR_OK && vl == sizeof(got))
			memcpy(&got, v, sizeof(got));
		CU_ASSERT(got == CKK_SM4);
		object_unref(k);
	}
}

/* ---- key generation and wrapping ---- */

static void test_secret_keygen(void)
{
	CK_MECHANISM m = {CKM_AES_KEY_GEN, NULL, 0};
	sk_object *k = mk_obj(CKO_SECRET_KEY, CKK_AES);
	CK_ULONG len, vl;

	CU_ASSERT(crypto_generate_key(&m, k) == CKR_TEMPLATE_INCOMPLETE);
	len = 20;
	object_set_value(k, CKA_VALUE_LEN, &len, sizeof(len));
	CU_ASSERT(crypto_generate_key(&m, k) == CKR_KEY_SIZE_RANGE);
	len = 32;
	object_set_value(k, CKA_VALUE_LEN, &len, sizeof(len));
	CU_ASSERT(crypto_generate_key(&m, k) == CKR_OK);
	const unsigned char *v = attr(k, CKA_VALUE, &vl);
	CU_ASSERT(vl == 32 && v != NULL);
	unsigned char zero[32] = {0};
	CU_ASSERT(memcmp(v, zero, 32) != 0);
	object_unref(k);

	m.mechanism = CKM_GENERIC_SECRET_KEY_GEN;
	k = mk_obj(CKO_SECRET_KEY, CKK_GENERIC_SECRET);
	len = 40;
	object_set_value(k, CKA_VALUE_LEN, &len, sizeof(len));
	CU_ASSERT(crypto_generate_key(&m, k) == CKR_OK);
	CU_ASSERT(attr(k, CKA_VALUE, &vl) != NULL && vl == 40);
	object_unref(k);

	m.mechanism = CKM_SM4_KEY_GEN;
	k = mk_obj(CKO_SECRET_KEY, CKK_SM4);
	CU_ASSERT(crypto_generate_key(&m, k) == CKR_OK);
	CU_ASSERT(attr(k, CKA_VALUE, &vl) != NULL && vl == 16);
	object_unref(k);

	/* A generic key-gen mechanism cannot make an AES key. */
	k = mk_obj(CKO_SECRET_KEY, CKK_AES);
	m.mechanism = CKM_GENERIC_SECRET_KEY_GEN;
	CU_ASSERT(crypto_generate_key(&m, k) == CKR_TEMPLATE_INCONSISTENT);
	object_unref(k);

	/* Imported secret keys. */
	k = mk_secret_hex(CKK_AES, "00112233445566778899aabbccddee");
	CU_ASSERT(crypto_check_key(k) == CKR_ATTRIBUTE_VALUE_INVALID);
	object_unref(k);
	k = mk_secret_hex(CKK_AES, "00112233445566778899aabbccddeeff");
	CU_ASSERT(crypto_check_key(k) == CKR_OK);
	const CK_ULONG *vlen = attr(k, CKA_VALUE_LEN, &vl);
	CU_ASSERT(vlen != NULL && *vlen == 16);
	object_unref(k);
}

static void test_wrap_secret(void)
{
	sk_object *kek = mk_secret_hex(CKK_AES, "000102030405060708090a0b0c0d0e0f");
	sk_object *key = mk_secret_hex(CKK_AES, "00112233445566778899aabbccddeeff");
	CK_MECHANISM m = {CKM_AES_KEY_WRAP, NULL, 0};
	unsigned char out[64];
	CK_ULONG n = 0, vl;

	/* RFC 3394 4.1. */
	CU_ASSERT(crypto_wrap_key(&m, kek, key, NULL, &n) == CKR_OK && n == 24);
	n = 23;
	CU_ASSERT(crypto_wrap_key(&m, kek, key, out, &n) == CKR_BUFFER_TOO_SMALL && n == 24);
	CU_ASSERT(crypto_wrap_key(&m, kek, key, out, &n) == CKR_OK);
	CU_ASSERT(eq_hex(out, n, "1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5"));
	sk_object *u = mk_obj(CKO_SECRET_KEY, CKK_AES);
	CU_ASSERT(crypto_unwrap_key(&m, kek, out, n, u) == CKR_OK);
	const unsigned char *uv = attr(u, CKA_VALUE, &vl);
	CU_ASSERT(eq_hex(uv, vl, "00112233445566778899aabbccddeeff"));
	object_unref(u);
	out[5] ^= 1;
	u = mk_obj(CKO_SECRET_KEY, CKK_AES);
	CU_ASSERT(crypto_unwrap_key(&m, kek, out, n, u) == CKR_WRAPPED_KEY_INVALID);
	CU_ASSERT(crypto_unwrap_key(&m, kek, out, 20, u) == CKR_WRAPPED_KEY_LEN_RANGE);
	object_unref(u);

	/* RFC 5649 section 6, 20-byte key with a 192-bit KEK. */
	sk_object *kek2 = mk_secret_hex(CKK_AES, "5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8");
	sk_object *k20 = mk_secret_hex(CKK_GENERIC_SECRET, "c37b7e6492584340bed12207808941155068f738");
	m.mechanism = CKM_AES_KEY_WRAP_PAD;
	n = sizeof(out);
	CU_ASSERT(crypto_wrap_key(&m, kek2, k20, out, &n) == CKR_OK);
	CU_ASSERT(eq_hex(out, n,
			 "138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a"));
	u = mk_obj(CKO_SECRET_KEY, CKK_GENERIC_SECRET);
	CU_ASSERT(crypto_unwrap_key(&m, kek2, out, n, u) == CKR_OK);
	uv = attr(u, CKA_VALUE, &vl);
	CU_ASSERT(eq_hex(uv, vl, "c37b7e6492584340bed12207808941155068f738"));
	object_unref(u);
	/* 20 bytes do not fit RFC 3394. */
	m.mechanism = CKM_AES_KEY_WRAP;
	n = sizeof(out);
	CU_ASSERT(crypto_wrap_key(&m, kek2, k20, out, &n) == CKR_KEY_SIZE_RANGE);

	/* CBC-PAD wrapping. */
	unsigned char iv[16] = {9};
	CK_MECHANISM cm = {CKM_AES_CBC_PAD, iv, 16};
	n = sizeof(out);
	CU_ASSERT(crypto_wrap_key(&cm, kek, k20, out, &n) == CKR_OK && n == 32);
	u = mk_obj(CKO_SECRET_KEY, CKK_GENERIC_SECRET);
	CU_ASSERT(crypto_unwrap_key(&cm, kek, out, n, u) == CKR_OK);
	uv = attr(u, CKA_VALUE, &vl);
	CU_ASSERT(eq_hex(uv, vl, "c37b7e6492584340bed12207808941155068f738"));
	object_unref(u);

	/* Wrapping with a non-AES key; wrapping a public key. */
	m.mechanism = CKM_AES_KEY_WRAP_PAD;
	n = sizeof(out);
	CU_ASSERT(crypto_wrap_key(&m, k20, kek, out, &n) == CKR_WRAPPING_KEY_TYPE_INCONSISTENT);
	CU_ASSERT(crypto_wrap_key(&m, kek, rsa_pub, out, &n) == CKR_KEY_NOT_WRAPPABLE);
	m.mechanism = CKM_AES_GCM;
	CU_ASSERT(crypto_wrap_key(&m, kek, key, out, &n) == CKR_MECHANISM_INVALID);

	object_unref(kek2);
	object_unref(k20);
	object_unref(kek);
	object_unref(key);
}

/* Private keys travel as PKCS#8: wrap, unwrap into a fresh object, sign
 * with it, verify with the original public key. */
static void test_wrap_private(void)
{
	sk_object *kek = mk_secret_hex(CKK_AES, "000102030405060708090a0b0c0d0e0f1011121314151617");
	sk_object *pub, *priv;
	CK_MECHANISM mechs[] = {{CKM_AES_KEY_WRAP, NULL, 0}, {CKM_AES_KEY_WRAP_PAD, NULL, 0}};
	unsigned char out[4096], sig[512];
	CK_ULONG n, sl;

	gen_ec(CKM_EC_KEY_PAIR_GEN, CKK_EC, p384_oid, sizeof(p384_oid), &pub, &priv);
	for (int i = 0; i < 2; i++) {
		n = sizeof(out);
		CU_ASSERT_FATAL(crypto_wrap_key(&mechs[i], kek, priv, out, &n) == CKR_OK);
		sk_object *u = mk_obj(CKO_PRIVATE_KEY, CKK_EC);
		CU_ASSERT_FATAL(crypto_unwrap_key(&mechs[i], kek, out, n, u) == CKR_OK);
		CK_ULONG l1, l2;
		const void *d1 = attr(priv, CKA_VALUE, &l1), *d2 = attr(u, CKA_VALUE, &l2);
		CU_ASSERT(l1 == l2 && memcmp(d1, d2, l1) == 0);
		CK_MECHANISM sm = {CKM_ECDSA_SHA256, NULL, 0};
		sl = sizeof(sig);
		CU_ASSERT(oneshot(OP_SIGN, &sm, u, "m", 1, sig, &sl) == CKR_OK);
		CU_ASSERT(verify1(&sm, pub, "m", 1, sig, sl) == CKR_OK);
		/* The wrong key type in the template. */
		sk_object *r = mk_obj(CKO_PRIVATE_KEY, CKK_RSA);
		CU_ASSERT(crypto_unwrap_key(&mechs[i], kek, out, n, r) == CKR_WRAPPED_KEY_INVALID);
		object_unref(r);
		object_unref(u);
	}
	object_unref(pub);
	object_unref(priv);

	/* SM2 private keys, with CBC-PAD. */
	unsigned char iv[16] = {1};
	CK_MECHANISM cm = {CKM_AES_CBC_PAD, iv, 16};
	gen_ec(CKM_SM2_KEY_PAIR_GEN, CKK_SM2, NULL, 0, &pub, &priv);
	n = sizeof(out);
	CU_ASSERT_FATAL(crypto_wrap_key(&cm, kek, priv, out, &n) == CKR_OK);
	sk_object *s2 = mk_obj(CKO_PRIVATE_KEY, CKK_SM2);
	CU_ASSERT_FATAL(crypto_unwrap_key(&cm, kek, out, n, s2) == CKR_OK);
	CK_MECHANISM sm2 = {CKM_SM2_SM3, NULL, 0};
	sl = sizeof(sig);
	CU_ASSERT(oneshot(OP_SIGN, &sm2, s2, "m", 1, sig, &sl) == CKR_OK);
	CU_ASSERT(verify1(&sm2, pub, "m", 1, sig, sl) == CKR_OK);
	/* The template must name the wrapped key's type. */
	sk_object *r2 = mk_obj(CKO_PRIVATE_KEY, CKK_RSA);
	CU_ASSERT(crypto_unwrap_key(&cm, kek, out, n, r2) == CKR_WRAPPED_KEY_INVALID);
	object_unref(r2);
	object_unref(s2);
	object_unref(pub);
	object_unref(priv);

	/* RSA with RFC 5649. */
	n = sizeof(out);
	CU_ASSERT_FATAL(crypto_wrap_key(&mechs[1], kek, rsa_priv, out, &n) == CKR_OK);
	sk_object *u = mk_obj(CKO_PRIVATE_KEY, CKK_RSA);
	CU_ASSERT_FATAL(crypto_unwrap_key(&mechs[1], kek, out, n, u) == CKR_OK);
	CK_MECHANISM rm = {CKM_SHA256_RSA_PKCS, NULL, 0};
	sl = sizeof(sig);
	CU_ASSERT(oneshot(OP_SIGN, &rm, u, "m", 1, sig, &sl) == CKR_OK);
	CU_ASSERT(verify1(&rm, rsa_pub, "m", 1, sig, sl) == CKR_OK);
	object_unref(u);
	object_unref(kek);
}

/* ---- SM2 ---- */

/* Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA), computed here from
 * the curve's own parameters, independently of OpenSSL's SM2 code. */
static void sm2_z(sk_object *pub, unsigned char z[32])
{
	EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_sm2);
	BIGNUM *a = BN_new(), *b = BN_new(), *x = BN_new(), *y = BN_new();
	unsigned char buf[2 + 16 + 6 * 32];
	CK_ULONG len;
	const unsigned char *pt = attr(pub, CKA_EC_POINT, &len);

	EC_GROUP_get_curve(g, NULL, a, b, NULL);
	EC_POINT_get_affine_coordinates(g, EC_GROUP_get0_generator(g), x, y, NULL);
	buf[0] = 0x00;
	buf[1] = 0x80;
	memcpy(buf + 2, "1234567812345678", 16);
	BN_bn2binpad(a, buf + 18, 32);
	BN_bn2binpad(b, buf + 50, 32);
	BN_bn2binpad(x, buf + 82, 32);
	BN_bn2binpad(y, buf + 114, 32);
	CU_ASSERT_FATAL(len == 67);
	memcpy(buf + 146, pt + 3, 64);
	EVP_Digest(buf, sizeof(buf), z, NULL, EVP_sm3(), NULL);
	BN_free(a);
	BN_free(b);
	BN_free(x);
	BN_free(y);
	EC_GROUP_free(g);
}

static void test_sm2_sign(void)
{
	sk_object *pub, *priv;
	CK_MECHANISM m = {CKM_SM2_SM3, NULL, 0};
	unsigned char sig[128], *der = NULL;
	CK_ULONG n, vl;
	const char *msg = "message digest";
	crypto_op *op;

	gen_ec(CKM_SM2_KEY_PAIR_GEN, CKK_SM2, NULL, 0, &pub, &priv);
	CU_ASSERT(attr(priv, CKA_EC_POINT, &vl) != NULL && vl == 67);
	CU_ASSERT(attr(pub, CKA_EC_PARAMS, &vl) != NULL && vl == SK_SM2_OID_DER_LEN);

	/* Multi-part sign, too-small buffer, retry. */
	CU_ASSERT_FATAL(crypto_op_new(OP_SIGN, &m, priv, &op) == CKR_OK);
	CU_ASSERT(crypto_op_update(op, (const CK_BYTE *)msg, 4, NULL, NULL) == CKR_OK);
	CU_ASSERT(crypto_op_update(op, (const CK_BYTE *)msg + 4, strlen(msg) - 4, NULL, NULL) ==
		  CKR_OK);
	n = 63;
	CU_ASSERT(crypto_op_final(op, sig, &n) == CKR_BUFFER_TOO_SMALL && n == 64);
	CU_ASSERT(crypto_op_final(op, sig, &n) == CKR_OK && n == 64);
	crypto_op_free(op);

	/* OpenSSL verifies it with the default ID set explicitly. */
	EVP_PKEY *opub = ossl_ec_pub(pub, "SM2", "SM2");
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(opub, NULL);
	EVP_PKEY_CTX_set1_id(pc, "1234567812345678", 16);
	EVP_MD_CTX_set_pkey_ctx(md, pc);
	EVP_DigestVerifyInit(md, NULL, EVP_sm3(), NULL, opub);
	int dl = raw_to_der(sig, 32, &der);
	CU_ASSERT(EVP_DigestVerify(md, der, (size_t)dl, (const unsigned char *)msg, strlen(msg)) == 1);
	OPENSSL_free(der);
	EVP_MD_CTX_free(md);
	EVP_PKEY_CTX_free(pc);

	CU_ASSERT(verify1(&m, pub, msg, strlen(msg), sig, 64) == CKR_OK);
	CU_ASSERT(verify1(&m, pub, msg, 3, sig, 64) == CKR_SIGNATURE_INVALID);
	CU_ASSERT(verify1(&m, pub, msg, strlen(msg), sig, 65) == CKR_SIGNATURE_LEN_RANGE);

	/* CKM_SM2 on e = SM3(Z || M) computed here: the token's SM2_SM3
	 * verification must accept it (so both agree on Z). */
	unsigned char z[32], zm[64], e[32];
	sm2_z(pub, z);
	memcpy(zm, z, 32);
	memcpy(zm + 32, msg, strlen(msg));
	EVP_Digest(zm, 32 + strlen(msg), e, NULL, EVP_sm3(), NULL);
	CK_MECHANISM raw = {CKM_SM2, NULL, 0};
	n = sizeof(sig);
	CU_ASSERT(oneshot(OP_SIGN, &raw, priv, e, 31, sig, &n) == CKR_DATA_LEN_RANGE);
	CU_ASSERT(oneshot(OP_SIGN, &raw, priv, e, 32, sig, &n) == CKR_OK && n == 64);
	CU_ASSERT(verify1(&m, pub, msg, strlen(msg), sig, 64) == CKR_OK);
	CU_ASSERT(verify1(&raw, pub, e, 32, sig, 64) == CKR_OK);

	/* DER output: a query gives the bound, the result parses. */
	CK_MECHANISM dm = {CKM_SM2_SM3_DER, NULL, 0};
	n = 0;
	CU_ASSERT(oneshot(OP_SIGN, &dm, priv, msg, strlen(msg), NULL, &n) == CKR_OK && n == 72);
	CU_ASSERT_FATAL(crypto_op_new(OP_SIGN, &dm, priv, &op) == CKR_OK);
	n = 8;
	CU_ASSERT(crypto_op_oneshot(op, (const CK_BYTE *)msg, strlen(msg), sig, &n) ==
		  CKR_BUFFER_TOO_SMALL);
	CK_ULONG want = n;
	unsigned char sig2[128];
	n = sizeof(sig2);
	CU_ASSERT(crypto_op_oneshot(op, (const CK_BYTE *)msg, strlen(msg), sig2, &n) == CKR_OK &&
		  n == want);
	crypto_op_free(op);
	CU_ASSERT(sig2[0] == 0x30 && sig2[1] == n - 2);
	CU_ASSERT(verify1(&dm, pub, msg, strlen(msg), sig2, n) == CKR_OK);
	sig2[n - 1] ^= 1;
	CU_ASSERT(verify1(&dm, pub, msg, strlen(msg), sig2, n) == CKR_SIGNATURE_INVALID);

	/* CKM_ECDSA on an SM2 key is SM2 on a given e (raw r||s): it
	 * verifies under the digest-in SM2 mechanism, and takes only 32 bytes. */
	CK_MECHANISM ec = {CKM_ECDSA, NULL, 0}, sm2e = {CKM_SM2, NULL, 0};
	n = sizeof(sig);
	CU_ASSERT(oneshot(OP_SIGN, &ec, priv, e, sizeof e, sig, &n) == CKR_OK && n == 64);
	CU_ASSERT(verify1(&sm2e, pub, e, sizeof e, sig, n) == CKR_OK);
	CU_ASSERT(verify1(&ec, pub, e, sizeof e, sig, n) == CKR_OK);
	n = sizeof(sig);
	CU_ASSERT(oneshot(OP_SIGN, &ec, priv, e, 20, sig, &n) == CKR_DATA_LEN_RANGE);

	EVP_PKEY_free(opub);
	object_unref(pub);
	object_unref(priv);

	/* CKM_EC_KEY_PAIR_GEN with the SM2 OID makes a usable SM2 key. */
	gen_ec(CKM_EC_KEY_PAIR_GEN, CKK_EC, (const unsigned char *)SK_SM2_OID_DER,
	       SK_SM2_OID_DER_LEN, &pub, &priv);
	n = sizeof(sig);
	CU_ASSERT(oneshot(OP_SIGN, &m, priv, "x", 1, sig, &n) == CKR_OK);
	CU_ASSERT(verify1(&m, pub, "x", 1, sig, n) == CKR_OK);
	CU_ASSERT(crypto_op_new(OP_SIGN, &ec, priv, &op) == CKR_OK);
	crypto_op_free(op);
	object_unref(pub);
	object_unref(priv);

	/* SM2 mechanisms refuse P-256 keys. */
	gen_ec(CKM_EC_KEY_PAIR_GEN, CKK_EC, p256_oid, sizeof(p256_oid), &pub, &priv);
	CU_ASSERT(crypto_op_new(OP_SIGN, &m, priv, &op) == CKR_KEY_TYPE_INCONSISTENT);
	object_unref(pub);
	object_unref(priv);
}

static void test_sm2_encrypt(void)
{
	sk_object *pub, *priv;
	CK_MECHANISM raw = {CKM_SM2_ENCRYPT, NULL, 0}, der = {CKM_SM2_ENCRYPT_DER, NULL, 0};
	unsigned char ct[256], pt[256];
	CK_ULONG n, pl;
	const char *msg = "encryption standard";
	size_t ml = strlen(msg);

	gen_ec(CKM_SM2_KEY_PAIR_GEN, CKK_SM2, NULL, 0, &pub, &priv);
	n = 0;
	CU_ASSERT(oneshot(OP_ENCRYPT, &raw, pub, msg, ml, NULL, &n) == CKR_OK && n == 97 + ml);
	n = sizeof(ct);
	CU_ASSERT(oneshot(OP_ENCRYPT, &raw, pub, msg, ml, ct, &n) == CKR_OK && n == 97 + ml);
	CU_ASSERT(ct[0] == 0x04);
	pl = sizeof(pt);
	CU_ASSERT(oneshot(OP_DECRYPT, &raw, priv, ct, n, pt, &pl) == CKR_OK && pl == ml);
	CU_ASSERT(memcmp(pt, msg, ml) == 0);
	/* C3 = SM3(x2 || M || y2) sits right after C1: tampering with it fails. */
	ct[70] ^= 1;
	pl = sizeof(pt);
	CU_ASSERT(oneshot(OP_DECRYPT, &raw, priv, ct, n, pt, &pl) == CKR_ENCRYPTED_DATA_INVALID);

	/* DER: the token encrypts, OpenSSL decrypts. */
	n = sizeof(ct);
	CU_ASSERT(oneshot(OP_ENCRYPT, &der, pub, msg, ml, ct, &n) == CKR_OK && ct[0] == 0x30);
	CK_ULONG vl;
	const unsigned char *d = attr(priv, CKA_VALUE, &vl);
	EVP_PKEY *opriv = NULL;
	{
		OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
		BIGNUM *bn = BN_bin2bn(d, (int)vl, NULL);
		OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "SM2", 0);
		OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, bn);
		OSSL_PARAM *prm = OSSL_PARAM_BLD_to_param(bld);
		EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "SM2", NULL);
		EVP_PKEY_fromdata_init(c);
		EVP_PKEY_fromdata(c, &opriv, EVP_PKEY_KEYPAIR, prm);
		EVP_PKEY_CTX_free(c);
		OSSL_PARAM_free(prm);
		OSSL_PARAM_BLD_free(bld);
		BN_free(bn);
	}
	CU_ASSERT_FATAL(opriv != NULL);
	EVP_PKEY_CTX *dc = EVP_PKEY_CTX_new(opriv, NULL);
	size_t ol = sizeof(pt);
	EVP_PKEY_decrypt_init(dc);
	CU_ASSERT(EVP_PKEY_decrypt(dc, pt, &ol, ct, n) == 1 && ol == ml);
	CU_ASSERT(memcmp(pt, msg, ml) == 0);
	EVP_PKEY_CTX_free(dc);
	EVP_PKEY_free(opriv);
	pl = sizeof(pt);
	CU_ASSERT(oneshot(OP_DECRYPT, &der, priv, ct, n, pt, &pl) == CKR_OK && pl == ml);

	n = sizeof(ct);
	CU_ASSERT(oneshot(OP_ENCRYPT, &raw, pub, msg, 0, ct, &n) == CKR_DATA_LEN_RANGE);
	pl = sizeof(pt);
	CU_ASSERT(oneshot(OP_DECRYPT, &raw, priv, ct, 90, pt, &pl) == CKR_ENCRYPTED_DATA_LEN_RANGE);
	object_unref(pub);
	object_unref(priv);
}

/* ---- random, threads ---- */

static void test_random(void)
{
	unsigned char a[32], b[32];

	CU_ASSERT(crypto_random(a, sizeof(a)) == CKR_OK);
	CU_ASSERT(crypto_seed((const CK_BYTE *)"seed", 4) == CKR_OK);
	CU_ASSERT(crypto_random(b, sizeof(b)) == CKR_OK);
	CU_ASSERT(memcmp(a, b, sizeof(a)) != 0);
	CU_ASSERT(crypto_random(NULL, 0) == CKR_OK);
}

static sk_object *thr_pub, *thr_priv;

static void *signer(void *arg)
{
	CK_MECHANISM m = {CKM_ECDSA, NULL, 0};
	unsigned char h[32], sig[64];
	long bad = 0;

	memset(h, (int)(intptr_t)arg, sizeof(h));
	for (int i = 0; i < 200; i++) {
		CK_ULONG n = sizeof(sig);
		if (oneshot(OP_SIGN, &m, thr_priv, h, 32, sig, &n) != CKR_OK ||
		    verify1(&m, thr_pub, h, 32, sig, n) != CKR_OK)
			bad++;
	}
	return (void *)bad;
}

static void test_threads(void)
{
	pthread_t t[4];
	void *res;
	long bad = 0;

	gen_ec(CKM_EC_KEY_PAIR_GEN, CKK_EC, p256_oid, sizeof(p256_oid), &thr_pub, &thr_priv);
	for (intptr_t i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, signer, (void *)(i + 1));
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], &res);
		bad += (long)res;
	}
	CU_ASSERT(bad == 0);
	object_unref(thr_pub);
	object_unref(thr_priv);
}

static int suite_init(void)
{
	return crypto_init() == CKR_OK ? 0 : 1;
}

static int suite_fini(void)
{
	return 0;
}

void register_tests(void)
{
	CU_pSuite s = harness_suite("crypto", suite_init, suite_fini);
	harness_test(s, "mechanism table", test_mech_table);
	harness_test(s, "digests", test_digest);
	harness_test(s, "hmac", test_hmac);
	harness_test(s, "ecdsa P-256/384/521", test_ecdsa);
	harness_test(s, "ec keygen errors", test_ec_keygen_errors);
	harness_test(s, "ec import", test_ec_import);
	harness_test(s, "ecdh1 derive", test_ecdh);
	harness_test(s, "aes ecb/cbc/cbc-pad", test_aes_ecb_cbc);
	harness_test(s, "aes ctr", test_aes_ctr);
	harness_test(s, "aes gcm", test_aes_gcm);
	harness_test(s, "sm4", test_sm4);
	harness_test(s, "sm4 gcm", test_sm4_gcm);
	harness_test(s, "gcm vs openssl aes-gcm", test_gcm_vs_openssl);
	harness_test(s, "sm4 mac", test_sm4_mac);
	harness_test(s, "vendor aliases", test_aliases);
	harness_test(s, "secret keygen", test_secret_keygen);
	harness_test(s, "sm2 sign", test_sm2_sign);
	harness_test(s, "sm2 encrypt", test_sm2_encrypt);
	harness_test(s, "random", test_random);
	harness_test(s, "threads", test_threads);

	CU_pSuite r = harness_suite("crypto-rsa", rsa_setup, rsa_teardown);
	harness_test(r, "rsa keygen", test_rsa_keygen);
	harness_test(r, "rsa pkcs1/x509/recover", test_rsa_pkcs);
	harness_test(r, "rsa pss/oaep", test_rsa_pss_oaep);
	harness_test(r, "wrap secret keys", test_wrap_secret);
	harness_test(r, "wrap private keys", test_wrap_private);
}
