/* Known-answer tests of SM2, SM3 and SM4 against the examples published in
 * the standards, run through the token's own mechanism paths (crypto_op).
 *
 * Sources of the values (cross-checked in several independent public
 * implementations' test suites, e.g. OpenSSL test/sm2_internal_test.c):
 *   SM3: GB/T 32905-2016 appendix A, examples 1 and 2;
 *   SM4: GB/T 32907-2016 appendix A, examples 1 and 2 (10^6 encryptions);
 *   SM2: GM/T 0003.5-2012 / GB/T 32918.5-2017 appendix A (the sm2p256v1
 *        curve): signature of "message digest" with ID 1234567812345678,
 *        and encryption of "encryption standard", both with the fixed k.
 * Signing takes its k from the RNG inside the token, so the fixed-k
 * signature is recomputed here with plain BIGNUM/EC_POINT code (independent
 * of sm2.c) and compared with the published r, s; the token must verify the
 * published signature and reject altered ones. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>

#include "harness.h"
#include "crypto/crypto.h"
#include "cryptotest.h"

/* ---- SM3, GB/T 32905 ---- */

static void test_sm3(void)
{
	CK_MECHANISM m = {CKM_SM3, NULL, 0};
	unsigned char md[32], msg[64];
	CK_ULONG n = sizeof(md);
	crypto_op *op;

	CU_ASSERT(oneshot(OP_DIGEST, &m, NULL, "abc", 3, md, &n) == CKR_OK && n == 32);
	CU_ASSERT(eq_hex(md, n,
			 "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"));
	for (int i = 0; i < 16; i++)
		memcpy(msg + 4 * i, "abcd", 4);
	/* Example 2 in two parts: the padding goes into a second block. */
	CU_ASSERT_FATAL(crypto_op_new(OP_DIGEST, &m, NULL, &op) == CKR_OK);
	CU_ASSERT(crypto_op_update(op, msg, 7, NULL, NULL) == CKR_OK);
	CU_ASSERT(crypto_op_update(op, msg + 7, 57, NULL, NULL) == CKR_OK);
	n = sizeof(md);
	CU_ASSERT(crypto_op_final(op, md, &n) == CKR_OK && n == 32);
	crypto_op_free(op);
	CU_ASSERT(eq_hex(md, n,
			 "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"));
}

/* ---- SM4, GB/T 32907 ---- */

static sk_object *sm4_key(void)
{
	unsigned char v[16];
	sk_object *k = mk_obj(CKO_SECRET_KEY, CKK_SM4);

	unhex("0123456789abcdeffedcba9876543210", v);
	object_set_value(k, CKA_VALUE, v, sizeof(v));
	CU_ASSERT(crypto_check_key(k) == CKR_OK);
	return k;
}

static void test_sm4(void)
{
	sk_object *k = sm4_key();
	CK_MECHANISM m = {CKM_SM4_ECB, NULL, 0};
	unsigned char pt[16], ct[16], back[16];
	CK_ULONG n = sizeof(ct);

	unhex("0123456789abcdeffedcba9876543210", pt);
	CU_ASSERT(oneshot(OP_ENCRYPT, &m, k, pt, 16, ct, &n) == CKR_OK && n == 16);
	CU_ASSERT(eq_hex(ct, n, "681edf34d206965e86b3e94f536e4246"));
	n = sizeof(back);
	CU_ASSERT(oneshot(OP_DECRYPT, &m, k, ct, 16, back, &n) == CKR_OK && n == 16);
	CU_ASSERT(memcmp(back, pt, 16) == 0);
	object_unref(k);
}

/* Example 2: the block encrypted 10^6 times, as one multi-part ECB
 * operation feeding each output back in. */
static void test_sm4_million(void)
{
	sk_object *k = sm4_key();
	CK_MECHANISM m = {CKM_SM4_ECB, NULL, 0};
	unsigned char a[16], b[16];
	crypto_op *op;
	CK_ULONG n;
	bool ok = true;

	unhex("0123456789abcdeffedcba9876543210", a);
	CU_ASSERT_FATAL(crypto_op_new(OP_ENCRYPT, &m, k, &op) == CKR_OK);
	for (int i = 0; ok && i < 1000000; i++) {
		n = sizeof(b);
		ok = crypto_op_update(op, a, 16, b, &n) == CKR_OK && n == 16;
		memcpy(a, b, 16);
	}
	CU_ASSERT(ok);
	n = sizeof(b);
	CU_ASSERT(crypto_op_final(op, b, &n) == CKR_OK && n == 0);
	crypto_op_free(op);
	CU_ASSERT(eq_hex(a, 16, "595298c7c6fd271f0402f804c33d3f66"));
	object_unref(k);
}

/* ---- SM2, GM/T 0003.5 appendix A (sm2p256v1) ---- */

#define SM2_D "3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8"
#define SM2_X "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
#define SM2_Y "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"
#define SM2_K "59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21"
#define SM2_Z "B2E14C5C79C6DF5B85F4FE7ED8DB7A262B9DA7E07CCB0EA9F4747B8CCDA8A4F3"
#define SM2_E "F0B43E94BA45ACCAACE692ED534382EB17E6AB5A19CE7B31F4486FDFC0D28640"
#define SM2_R "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3"
#define SM2_S "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA"
/* Encryption of "encryption standard" with the same key and k: C1 || C3 || C2. */
#define SM2_C1 "04" "04EBFC718E8D1798620432268E77FEB6415E2EDE0E073C0F4F640ECD2E149A73" \
	"E858F9D81E5430A57B36DAAB8F950A3C64E6EE6A63094D99283AFF767E124DF0"
#define SM2_C3 "59983C18F809E262923C53AEC295D30383B54E39D609D160AFCB1908D0BD8766"
#define SM2_C2 "21886CA989CA9C7D58087307CA93092D651EFA"

static void sm2_keys(sk_object **pub, sk_object **priv)
{
	unsigned char d[32], pt[67] = {0x04, 0x41, 0x04};

	unhex(SM2_D, d);
	unhex(SM2_X, pt + 3);
	unhex(SM2_Y, pt + 35);
	*priv = mk_obj(CKO_PRIVATE_KEY, CKK_SM2);
	object_set_value(*priv, CKA_EC_PARAMS, SK_SM2_OID_DER, SK_SM2_OID_DER_LEN);
	object_set_value(*priv, CKA_VALUE, d, sizeof(d));
	/* The published public key must be d*G, or the check fails. */
	object_set_value(*priv, CKA_EC_POINT, pt, sizeof(pt));
	CU_ASSERT_FATAL(crypto_check_key(*priv) == CKR_OK);
	*pub = mk_obj(CKO_PUBLIC_KEY, CKK_SM2);
	object_set_value(*pub, CKA_EC_PARAMS, SK_SM2_OID_DER, SK_SM2_OID_DER_LEN);
	object_set_value(*pub, CKA_EC_POINT, pt, sizeof(pt));
	CU_ASSERT_FATAL(crypto_check_key(*pub) == CKR_OK);
}

/* Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA), GM/T 0003.2 5.5. */
static void sm2_z(const EC_GROUP *g, const char *id, unsigned char z[32])
{
	BIGNUM *a = BN_new(), *b = BN_new(), *x = BN_new(), *y = BN_new();
	size_t id_len = strlen(id);
	unsigned char buf[2 + 64 + 6 * 32], *p = buf;

	CU_ASSERT_FATAL(a && b && x && y && id_len <= 64);
	*p++ = (unsigned char)(id_len * 8 >> 8);
	*p++ = (unsigned char)(id_len * 8);
	memcpy(p, id, id_len);
	p += id_len;
	CU_ASSERT(EC_GROUP_get_curve(g, NULL, a, b, NULL));
	CU_ASSERT(EC_POINT_get_affine_coordinates(g, EC_GROUP_get0_generator(g), x, y, NULL));
	BN_bn2binpad(a, p, 32);
	BN_bn2binpad(b, p + 32, 32);
	BN_bn2binpad(x, p + 64, 32);
	BN_bn2binpad(y, p + 96, 32);
	p += 128;
	unhex(SM2_X, p);
	unhex(SM2_Y, p + 32);
	p += 64;
	CU_ASSERT(EVP_Digest(buf, (size_t)(p - buf), z, NULL, EVP_sm3(), NULL));
	BN_free(a);
	BN_free(b);
	BN_free(x);
	BN_free(y);
}

/* The signature of e with a given k (GM/T 0003.2 6.1, steps A4-A6):
 * (x1, y1) = kG, r = (e + x1) mod n, s = (1 + d)^-1 (k - r d) mod n. */
static void sm2_sign_fixed_k(const EC_GROUP *g, const unsigned char e[32], unsigned char rs[64])
{
	BN_CTX *ctx = BN_CTX_new();
	BIGNUM *d = NULL, *k = NULL, *bn_e = BN_bin2bn(e, 32, NULL), *x1 = BN_new();
	BIGNUM *r = BN_new(), *s = BN_new(), *t = BN_new();
	const BIGNUM *n = EC_GROUP_get0_order(g);
	EC_POINT *kg = EC_POINT_new(g);

	CU_ASSERT_FATAL(ctx && bn_e && x1 && r && s && t && kg);
	CU_ASSERT_FATAL(BN_hex2bn(&d, SM2_D) && BN_hex2bn(&k, SM2_K));
	CU_ASSERT(EC_POINT_mul(g, kg, k, NULL, NULL, ctx));
	CU_ASSERT(EC_POINT_get_affine_coordinates(g, kg, x1, NULL, ctx));
	CU_ASSERT(BN_mod_add(r, bn_e, x1, n, ctx));
	CU_ASSERT(BN_add(t, d, BN_value_one()));
	CU_ASSERT(BN_mod_inverse(t, t, n, ctx) != NULL);
	CU_ASSERT(BN_mod_mul(s, r, d, n, ctx));
	CU_ASSERT(BN_mod_sub(s, k, s, n, ctx));
	CU_ASSERT(BN_mod_mul(s, s, t, n, ctx));
	BN_bn2binpad(r, rs, 32);
	BN_bn2binpad(s, rs + 32, 32);
	EC_POINT_free(kg);
	BN_clear_free(d);
	BN_clear_free(k);
	BN_free(bn_e);
	BN_free(x1);
	BN_free(r);
	BN_free(s);
	BN_free(t);
	BN_CTX_free(ctx);
}

static void test_sm2_sign(void)
{
	EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_sm2);
	const char *msg = "message digest";
	unsigned char z[32], zm[64], e[32], rs[64], sig[64];
	sk_object *pub, *priv;

	CU_ASSERT_FATAL(g != NULL);
	sm2_keys(&pub, &priv);

	/* The published intermediate values and signature, recomputed. */
	sm2_z(g, "1234567812345678", z);
	CU_ASSERT(eq_hex(z, 32, SM2_Z));
	memcpy(zm, z, 32);
	memcpy(zm + 32, msg, strlen(msg));
	CU_ASSERT(EVP_Digest(zm, 32 + strlen(msg), e, NULL, EVP_sm3(), NULL));
	CU_ASSERT(eq_hex(e, 32, SM2_E));
	sm2_sign_fixed_k(g, e, rs);
	CU_ASSERT(eq_hex(rs, 32, SM2_R));
	CU_ASSERT(eq_hex(rs + 32, 32, SM2_S));

	/* The token accepts the published signature: message in (default ID
	 * and the same ID given as the parameter), and digest in. */
	unhex(SM2_R SM2_S, sig);
	CK_MECHANISM m = {CKM_SM2_SM3, NULL, 0};
	CK_MECHANISM mid = {CKM_SM2_SM3, (void *)"1234567812345678", 16};
	CK_MECHANISM raw = {CKM_SM2, NULL, 0};
	CU_ASSERT(verify1(&m, pub, msg, strlen(msg), sig, 64) == CKR_OK);
	CU_ASSERT(verify1(&mid, pub, msg, strlen(msg), sig, 64) == CKR_OK);
	CU_ASSERT(verify1(&raw, pub, e, 32, sig, 64) == CKR_OK);

	/* ...and refuses it altered, or over another message or ID. */
	CK_MECHANISM other = {CKM_SM2_SM3, (void *)"ALICE123@YAHOO.COM", 18};
	CU_ASSERT(verify1(&other, pub, msg, strlen(msg), sig, 64) == CKR_SIGNATURE_INVALID);
	CU_ASSERT(verify1(&m, pub, msg, strlen(msg) - 1, sig, 64) == CKR_SIGNATURE_INVALID);
	for (int i = 0; i < 64; i += 63) {
		sig[i] ^= 0x01;
		CU_ASSERT(verify1(&m, pub, msg, strlen(msg), sig, 64) == CKR_SIGNATURE_INVALID);
		CU_ASSERT(verify1(&raw, pub, e, 32, sig, 64) == CKR_SIGNATURE_INVALID);
		sig[i] ^= 0x01;
	}

	/* The token's own (random k) signature verifies too. */
	CK_ULONG n = sizeof(sig);
	CU_ASSERT(oneshot(OP_SIGN, &m, priv, msg, strlen(msg), sig, &n) == CKR_OK && n == 64);
	CU_ASSERT(verify1(&raw, pub, e, 32, sig, 64) == CKR_OK);

	object_unref(pub);
	object_unref(priv);
	EC_GROUP_free(g);
}

static void test_sm2_decrypt(void)
{
	const char *msg = "encryption standard";
	unsigned char ct[256], der[256], pt[64];
	CK_MECHANISM raw = {CKM_SM2_ENCRYPT, NULL, 0}, dm = {CKM_SM2_ENCRYPT_DER, NULL, 0};
	sk_object *pub, *priv;
	CK_ULONG n;
	size_t len;

	sm2_keys(&pub, &priv);
	len = unhex(SM2_C1 SM2_C3 SM2_C2, ct);
	CU_ASSERT_FATAL(len == 65 + 32 + 19);
	n = sizeof(pt);
	CU_ASSERT(oneshot(OP_DECRYPT, &raw, priv, ct, len, pt, &n) == CKR_OK);
	CU_ASSERT(n == strlen(msg) && memcmp(pt, msg, n) == 0);

	/* The same ciphertext in the GM/T 0009 DER structure. */
	size_t dl = unhex("307C"
			  "0220" "04EBFC718E8D1798620432268E77FEB6415E2EDE0E073C0F4F640ECD2E149A73"
			  "022100"
			  "E858F9D81E5430A57B36DAAB8F950A3C64E6EE6A63094D99283AFF767E124DF0"
			  "0420" SM2_C3
			  "0413" SM2_C2,
			  der);
	n = sizeof(pt);
	CU_ASSERT(oneshot(OP_DECRYPT, &dm, priv, der, dl, pt, &n) == CKR_OK);
	CU_ASSERT(n == strlen(msg) && memcmp(pt, msg, n) == 0);

	/* A changed C2 or C3 byte fails the hash check. */
	ct[len - 1] ^= 1;
	n = sizeof(pt);
	CU_ASSERT(oneshot(OP_DECRYPT, &raw, priv, ct, len, pt, &n) == CKR_ENCRYPTED_DATA_INVALID);
	ct[len - 1] ^= 1;
	ct[70] ^= 1;
	n = sizeof(pt);
	CU_ASSERT(oneshot(OP_DECRYPT, &raw, priv, ct, len, pt, &n) == CKR_ENCRYPTED_DATA_INVALID);
	object_unref(pub);
	object_unref(priv);
}

static int suite_init(void)
{
	return crypto_init() == CKR_OK ? 0 : -1;
}

static int suite_fini(void)
{
	crypto_fini();
	return 0;
}

void register_tests(void)
{
	CU_pSuite s = harness_suite("sm-kat", suite_init, suite_fini);
	harness_test(s, "sm3 GB/T 32905 examples", test_sm3);
	harness_test(s, "sm4 GB/T 32907 example 1", test_sm4);
	harness_test(s, "sm2 GM/T 0003.5 signature", test_sm2_sign);
	harness_test(s, "sm2 GM/T 0003.5 decryption", test_sm2_decrypt);

	CU_pSuite slow = harness_suite("slow", suite_init, suite_fini);
	harness_test(slow, "sm4 GB/T 32907 example 2 (10^6 encryptions)", test_sm4_million);
}
