/* Vendor numbering profiles (pkcs11/profile.c) through the function table:
 * each shipped profile's codes and behaviour, checked against OpenSSL; the
 * configuration's overrides and behaviour settings; refusal of colliding
 * codes; objects keeping their meaning when the profile changes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "harness.h"
#include "p11test.h"
#include "sm2help.h"

#define SM2_ID "1234567812345678"

static const CK_BYTE sm2_oid[] = {0x06, 0x08, 0x2A, 0x81, 0x1C, 0xCF, 0x55, 0x01, 0x82, 0x2D};
static const char msg[] = "sealkit profile test message";

/* A fresh token dir whose config gets `conf`, then C_Initialize's result. */
static CK_RV start(const char *conf)
{
	p11t_fresh_dir(10);
	p11t_conf_append(conf);
	return p11->C_Initialize(NULL);
}

static CK_SESSION_HANDLE token_session(void)
{
	return p11t_user_session(p11t_make_token("profiles"));
}

static bool listed(CK_MECHANISM_TYPE code)
{
	CK_MECHANISM_TYPE list[256];
	CK_ULONG n = 256;
	CK_OK(p11->C_GetMechanismList(p11t_free_slot(), list, &n));
	for (CK_ULONG i = 0; i < n; i++)
		if (list[i] == code)
			return true;
	return false;
}

static CK_ULONG get_ulong(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type)
{
	CK_ULONG v = 0;
	CK_ATTRIBUTE a = {type, &v, sizeof v};
	CK_OK(p11->C_GetAttributeValue(s, h, &a, 1));
	return v;
}

/* The token made before a restart. */
static CK_SLOT_ID made_slot(void)
{
	CK_SLOT_ID slots[8], made = (CK_SLOT_ID)-1;
	CK_ULONG ns = 8;
	CK_OK(p11->C_GetSlotList(CK_TRUE, slots, &ns));
	for (CK_ULONG i = 0; i < ns; i++)
		if (p11t_token_flags(slots[i]) & CKF_TOKEN_INITIALIZED)
			made = slots[i];
	return made;
}

static CK_OBJECT_HANDLE find_one(CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls)
{
	CK_ATTRIBUTE f = {CKA_CLASS, &cls, sizeof cls};
	CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
	CK_ULONG n = 0;
	CK_OK(p11->C_FindObjectsInit(s, &f, 1));
	CK_OK(p11->C_FindObjects(s, &h, 1, &n));
	CK_OK(p11->C_FindObjectsFinal(s));
	CU_ASSERT_EQUAL(n, 1);
	return h;
}

static void sm2_pair(CK_SESSION_HANDLE s, CK_MECHANISM_TYPE gen, const CK_ATTRIBUTE *extra,
		     CK_ULONG n_extra, CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv)
{
	CK_MECHANISM m = {gen, NULL, 0};
	CK_BBOOL t = CK_TRUE;
	CK_ATTRIBUTE pubt[] = {{CKA_EC_PARAMS, (void *)sm2_oid, sizeof sm2_oid},
			       {CKA_TOKEN, &t, sizeof t}};
	CK_ATTRIBUTE privt[4] = {{CKA_TOKEN, &t, sizeof t}};
	for (CK_ULONG i = 0; i < n_extra && i < 3; i++)
		privt[1 + i] = extra[i];
	CK_OK(p11->C_GenerateKeyPair(s, &m, pubt, 2, privt, 1 + n_extra, pub, priv));
}

/* The public key as OpenSSL's SM2 key, from CKA_EC_POINT (DER OCTET STRING). */
static EVP_PKEY *sm2_public(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE pub)
{
	unsigned char pt[80];
	CK_ATTRIBUTE a = {CKA_EC_POINT, pt, sizeof pt};
	CK_OK(p11->C_GetAttributeValue(s, pub, &a, 1));
	EVP_PKEY *pkey = test_pkey_from_point(pt, a.ulValueLen, "SM2");
	CU_ASSERT_FATAL(pkey != NULL);
	return pkey;
}

/* OpenSSL's verdict on a signature over msg: e = SM3(Z||M) when `z`, else
 * e = SM3(M) verified as a bare SM2 signature. */
static bool openssl_verifies(EVP_PKEY *pkey, bool z, const unsigned char *sig, size_t sig_len,
			     bool der)
{
	unsigned char buf[80];
	if (!der) {
		CU_ASSERT_EQUAL_FATAL(sig_len, 64);
		sig_len = sm2_sig_der(sig, buf);
		sig = buf;
	}
	int ok;
	if (z) {
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new(pkey, NULL);
		EVP_PKEY_CTX_set1_id(pctx, SM2_ID, 16);
		EVP_MD_CTX_set_pkey_ctx(md, pctx);
		ok = EVP_DigestVerifyInit(md, NULL, EVP_sm3(), NULL, pkey) > 0 &&
		     EVP_DigestVerify(md, sig, sig_len, (const unsigned char *)msg, strlen(msg)) == 1;
		EVP_MD_CTX_free(md);
		EVP_PKEY_CTX_free(pctx);
	} else {
		unsigned char e[32];
		unsigned int elen;
		EVP_Digest(msg, strlen(msg), e, &elen, EVP_sm3(), NULL);
		EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new(pkey, NULL);
		ok = EVP_PKEY_verify_init(pctx) > 0 &&
		     EVP_PKEY_verify(pctx, sig, sig_len, e, sizeof e) == 1;
		EVP_PKEY_CTX_free(pctx);
	}
	return ok;
}

static CK_ULONG sign(CK_SESSION_HANDLE s, CK_MECHANISM_TYPE mech, CK_OBJECT_HANDLE key,
		     const void *data, CK_ULONG len, unsigned char *sig)
{
	CK_MECHANISM m = {mech, NULL, 0};
	CK_ULONG n = 80;
	CK_OK(p11->C_SignInit(s, &m, key));
	CK_OK(p11->C_Sign(s, (CK_BYTE_PTR)data, len, sig, &n));
	return n;
}

/* Signs msg with `mech` and checks the form and Z-convention with OpenSSL. */
static void check_msg_sig(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE pub, CK_OBJECT_HANDLE priv,
			  CK_MECHANISM_TYPE mech, bool z, bool der)
{
	unsigned char sig[80];
	EVP_PKEY *pkey = sm2_public(s, pub);
	CK_ULONG n = sign(s, mech, priv, msg, strlen(msg), sig);
	CU_ASSERT(der ? sig[0] == 0x30 && n >= 8 : n == 64);
	CU_ASSERT(openssl_verifies(pkey, z, sig, n, der));
	CU_ASSERT(!openssl_verifies(pkey, !z, sig, n, der));
	/* And the token's own verification accepts exactly that. */
	CK_MECHANISM m = {mech, NULL, 0};
	CK_OK(p11->C_VerifyInit(s, &m, pub));
	CK_OK(p11->C_Verify(s, (CK_BYTE_PTR)msg, strlen(msg), sig, n));
	EVP_PKEY_free(pkey);
}

/* Signs e = SM3(msg) with a digest-in code and checks the form. */
static void check_digest_sig(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE pub, CK_OBJECT_HANDLE priv,
			     CK_MECHANISM_TYPE mech, bool der)
{
	unsigned char e[32], sig[80];
	unsigned int elen;
	EVP_Digest(msg, strlen(msg), e, &elen, EVP_sm3(), NULL);
	EVP_PKEY *pkey = sm2_public(s, pub);
	CK_ULONG n = sign(s, mech, priv, e, sizeof e, sig);
	CU_ASSERT(der ? sig[0] == 0x30 : n == 64);
	CU_ASSERT(openssl_verifies(pkey, false, sig, n, der));
	EVP_PKEY_free(pkey);
}

static void test_every_profile_loads(void)
{
	static const char *const names[] = {"canonical", "sansec", "tass", "koal", "luna",
					    "ibm-ep11"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char conf[64];
		snprintf(conf, sizeof conf, "profile = %s\n", names[i]);
		CK_ASSERT_RV(start(conf), CKR_OK);
		CK_MECHANISM_TYPE list[256];
		CK_ULONG n = 256;
		CK_OK(p11->C_GetMechanismList(p11t_free_slot(), list, &n));
		CU_ASSERT(n > 40);
		for (CK_ULONG a = 0; a < n; a++) {
			/* Internal codes never leak; no code is listed twice;
			 * every listed code has info. */
			CU_ASSERT((list[a] & 0xFFFFFF00UL) != 0x8F534B00UL);
			for (CK_ULONG b = a + 1; b < n; b++)
				CU_ASSERT(list[a] != list[b]);
			CK_MECHANISM_INFO mi;
			CK_OK(p11->C_GetMechanismInfo(p11t_free_slot(), list[a], &mi));
		}
		CK_ASSERT_RV(p11->C_GetMechanismInfo(p11t_free_slot(), 0x8F534B01UL, &(CK_MECHANISM_INFO){0}),
			     CKR_MECHANISM_INVALID);
		p11t_fini();
	}
}

static void test_canonical(void)
{
	CK_OK(start(""));
	CU_ASSERT(listed(0x80008100UL) && listed(0x80008101UL) && listed(0x80008104UL));
	CU_ASSERT(listed(0x80009001UL) && listed(0x8000010AUL) && listed(0x8000010FUL));
	/* Aliases are accepted but not listed. */
	CU_ASSERT(!listed(0x80000B22UL));
	CK_SESSION_HANDLE s = token_session();
	CK_OBJECT_HANDLE pub, priv;
	sm2_pair(s, 0x80000B20UL /* Luna's code, an alias here */, NULL, 0, &pub, &priv);
	CU_ASSERT_EQUAL(get_ulong(s, priv, CKA_KEY_TYPE), 0x80000004UL);
	CU_ASSERT_EQUAL(get_ulong(s, priv, CKA_KEY_GEN_MECHANISM), 0x80008001UL);
	check_msg_sig(s, pub, priv, 0x80008100UL, true, false);
	check_msg_sig(s, pub, priv, 0x80008101UL, true, true);
	check_msg_sig(s, pub, priv, 0x80000B22UL, true, false);
	check_digest_sig(s, pub, priv, 0x80008104UL, false);
	/* CKM_ECDSA on an SM2 key: SM2 on the digest (p11-kit's RPC passes
	 * only standard codes). */
	check_digest_sig(s, pub, priv, CKM_ECDSA, false);
	/* SM2 key pair generation needs no CKA_EC_PARAMS: both keys say SM2. */
	CK_MECHANISM g = {0x80008001UL, NULL, 0};
	CK_OBJECT_HANDLE p2, k2;
	CK_OK(p11->C_GenerateKeyPair(s, &g, NULL, 0, NULL, 0, &p2, &k2));
	unsigned char params[16];
	CK_ATTRIBUTE pa = {CKA_EC_PARAMS, params, sizeof params};
	CK_OK(p11->C_GetAttributeValue(s, p2, &pa, 1));
	CU_ASSERT(pa.ulValueLen == sizeof sm2_oid && !memcmp(params, sm2_oid, sizeof sm2_oid));
	pa.ulValueLen = sizeof params;
	CK_OK(p11->C_GetAttributeValue(s, k2, &pa, 1));
	CU_ASSERT(pa.ulValueLen == sizeof sm2_oid && !memcmp(params, sm2_oid, sizeof sm2_oid));
	check_msg_sig(s, p2, k2, 0x80008100UL, true, false);
	/* CKM_EC_KEY_PAIR_GEN on the SM2 curve makes SM2 keys, and they say so. */
	CK_MECHANISM ecg = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
	CK_ATTRIBUTE ep = {CKA_EC_PARAMS, (void *)sm2_oid, sizeof sm2_oid};
	CK_OBJECT_HANDLE p3, k3;
	CK_OK(p11->C_GenerateKeyPair(s, &ecg, &ep, 1, NULL, 0, &p3, &k3));
	CU_ASSERT_EQUAL(get_ulong(s, p3, CKA_KEY_TYPE), 0x80000004UL);
	CU_ASSERT_EQUAL(get_ulong(s, k3, CKA_KEY_TYPE), 0x80000004UL);
	CU_ASSERT_EQUAL(get_ulong(s, k3, CKA_KEY_GEN_MECHANISM), CKM_EC_KEY_PAIR_GEN);
	check_msg_sig(s, p3, k3, 0x80008100UL, true, false);
	/* Find by an alias key type finds the same key. */
	CK_ULONG kt = 0x80000016UL;
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE f[] = {{CKA_KEY_TYPE, &kt, sizeof kt}, {CKA_CLASS, &cls, sizeof cls}};
	CK_OBJECT_HANDLE h[4];
	CK_ULONG nh = 0;
	CK_OK(p11->C_FindObjectsInit(s, f, 2));
	CK_OK(p11->C_FindObjects(s, h, 4, &nh));
	CK_OK(p11->C_FindObjectsFinal(s));
	CU_ASSERT(nh == 3 && (h[0] == priv || h[1] == priv || h[2] == priv));
	p11t_fini();
}

static void test_sansec(void)
{
	CK_OK(start("profile = sansec\n"));
	CU_ASSERT(listed(0x80008100UL) && listed(0x80008102UL) && listed(0x80008103UL));
	CU_ASSERT(listed(0x80008105UL) && listed(0x8000A201UL));
	CK_SESSION_HANDLE s = token_session();
	CK_OBJECT_HANDLE pub, priv;
	sm2_pair(s, 0x80008001UL, NULL, 0, &pub, &priv);
	CU_ASSERT_EQUAL(get_ulong(s, pub, CKA_KEY_TYPE), 0x80000004UL);
	check_msg_sig(s, pub, priv, 0x80008100UL, false, false); /* no Z */
	check_msg_sig(s, pub, priv, 0x80008101UL, false, true);
	check_msg_sig(s, pub, priv, 0x80008102UL, true, false); /* APPID1: Z */
	check_msg_sig(s, pub, priv, 0x80008103UL, true, true);
	check_digest_sig(s, pub, priv, 0x80008104UL, true);
	check_digest_sig(s, pub, priv, 0x80008105UL, false);
	p11t_fini();
}

static void test_tass(void)
{
	CK_OK(start("profile = tass\n"));
	CU_ASSERT(listed(0x80008000UL) && listed(0x80000005UL) && listed(0x8000010BUL));
	CU_ASSERT(!listed(0x80009001UL)); /* an alias here, not primary */
	CK_SESSION_HANDLE s = token_session();
	CK_OBJECT_HANDLE pub, priv, sm4;
	sm2_pair(s, 0x80008001UL, NULL, 0, &pub, &priv);
	check_msg_sig(s, pub, priv, 0x80008100UL, true, true); /* Z, X9.62 DER */
	check_digest_sig(s, pub, priv, 0x80008000UL, true);

	/* SM4 keys are 0x80000002 here; 0x8000010A is SM4-MAC, not CTR. */
	CK_MECHANISM gen = {0x80000107UL, NULL, 0};
	CK_BBOOL t = CK_TRUE;
	CK_ATTRIBUTE kt = {CKA_TOKEN, &t, sizeof t};
	CK_OK(p11->C_GenerateKey(s, &gen, &kt, 1, &sm4));
	CU_ASSERT_EQUAL(get_ulong(s, sm4, CKA_KEY_TYPE), 0x80000002UL);
	CK_MECHANISM mac = {0x8000010AUL, NULL, 0};
	unsigned char out[16];
	CK_ULONG n = sizeof out;
	CK_OK(p11->C_SignInit(s, &mac, sm4));
	CK_OK(p11->C_Sign(s, (CK_BYTE_PTR)msg, 16, out, &n));
	CU_ASSERT_EQUAL(n, 8); /* CKM_*_MAC: half a block */
	/* Same MAC under the canonical code: the same operation. */
	unsigned char out2[16];
	CK_ULONG n2 = sizeof out2;
	CK_MECHANISM mac2 = {0x80058007UL, NULL, 0};
	CK_OK(p11->C_SignInit(s, &mac2, sm4));
	CK_OK(p11->C_Sign(s, (CK_BYTE_PTR)msg, 16, out2, &n2));
	CU_ASSERT(n2 == 8 && memcmp(out, out2, 8) == 0);
	p11t_fini();
}

static void test_luna_and_allowed_mechanisms(void)
{
	CK_OK(start("profile = luna\n"));
	CK_SESSION_HANDLE s = token_session();
	CK_OBJECT_HANDLE pub, priv;
	CK_MECHANISM_TYPE allowed[] = {0x80000B22UL};
	CK_ATTRIBUTE extra[] = {{CKA_ALLOWED_MECHANISMS, allowed, sizeof allowed}};
	sm2_pair(s, 0x80000B20UL, extra, 1, &pub, &priv);
	CU_ASSERT_EQUAL(get_ulong(s, priv, CKA_KEY_TYPE), 0x80000016UL);
	CU_ASSERT_EQUAL(get_ulong(s, priv, CKA_KEY_GEN_MECHANISM), 0x80000B20UL);
	CU_ASSERT_EQUAL(get_ulong(s, priv, CKA_ALLOWED_MECHANISMS), 0x80000B22UL);
	check_msg_sig(s, pub, priv, 0x80000B22UL, true, false);
	CK_MECHANISM other = {0x80000B21UL, NULL, 0};
	CK_ASSERT_RV(p11->C_SignInit(s, &other, priv), CKR_MECHANISM_INVALID);
	p11t_fini();

	/* The same key under the canonical profile: our numbers, same meaning. */
	p11t_conf_append("profile = canonical\n");
	CK_OK(p11->C_Initialize(NULL));
	s = p11t_user_session(made_slot());
	pub = find_one(s, CKO_PUBLIC_KEY);
	priv = find_one(s, CKO_PRIVATE_KEY);
	CU_ASSERT_EQUAL(get_ulong(s, priv, CKA_KEY_TYPE), 0x80000004UL);
	CU_ASSERT_EQUAL(get_ulong(s, priv, CKA_KEY_GEN_MECHANISM), 0x80008001UL);
	CU_ASSERT_EQUAL(get_ulong(s, priv, CKA_ALLOWED_MECHANISMS), 0x80008100UL);
	check_msg_sig(s, pub, priv, 0x80008100UL, true, false);
	p11t_fini();
}

static void test_ibm_ep11(void)
{
	CK_OK(start("profile = ibm-ep11\n"));
	CK_SESSION_HANDLE s = token_session();
	CK_OBJECT_HANDLE pub, priv;
	sm2_pair(s, 0x8005000AUL, NULL, 0, &pub, &priv);
	CU_ASSERT_EQUAL(get_ulong(s, priv, CKA_KEY_TYPE), 0x80050002UL);
	check_msg_sig(s, pub, priv, 0x8005000CUL, true, false);
	check_digest_sig(s, pub, priv, 0x8005000BUL, false);
	p11t_fini();
}

static void test_koal(void)
{
	CK_OK(start("profile = koal\n"));
	CU_ASSERT(listed(0x8000010FUL) && listed(0x80000005UL) && !listed(0x80000006UL));
	CK_SESSION_HANDLE s = token_session();
	CK_OBJECT_HANDLE pub, priv;
	sm2_pair(s, 0x80008002UL, NULL, 0, &pub, &priv);
	check_msg_sig(s, pub, priv, 0x80008100UL, true, false);
	/* Both SM3 codes give SM3. */
	unsigned char d1[32], d2[32], ref[32];
	unsigned int rl;
	CK_ULONG n1 = 32, n2 = 32;
	CK_MECHANISM m1 = {0x80000005UL, NULL, 0}, m2 = {0x80000006UL, NULL, 0};
	CK_OK(p11->C_DigestInit(s, &m1));
	CK_OK(p11->C_Digest(s, (CK_BYTE_PTR)msg, strlen(msg), d1, &n1));
	CK_OK(p11->C_DigestInit(s, &m2));
	CK_OK(p11->C_Digest(s, (CK_BYTE_PTR)msg, strlen(msg), d2, &n2));
	EVP_Digest(msg, strlen(msg), ref, &rl, EVP_sm3(), NULL);
	CU_ASSERT(!memcmp(d1, ref, 32) && !memcmp(d2, ref, 32));
	p11t_fini();
}

static void test_overrides_and_behaviour(void)
{
	CK_OK(start("mechanism.sm2_sm3 = 0x80001234, 0x80001235\n"));
	CU_ASSERT(listed(0x80001234UL) && !listed(0x80001235UL) && !listed(0x80008100UL));
	CK_SESSION_HANDLE s = token_session();
	CK_OBJECT_HANDLE pub, priv;
	sm2_pair(s, 0x80008001UL, NULL, 0, &pub, &priv);
	check_msg_sig(s, pub, priv, 0x80001234UL, true, false);
	check_msg_sig(s, pub, priv, 0x80001235UL, true, false);
	CK_MECHANISM old = {0x80008100UL, NULL, 0};
	CK_ASSERT_RV(p11->C_SignInit(s, &old, priv), CKR_MECHANISM_INVALID);
	p11t_fini();

	/* DER for every SM2 signature, including digest-in. */
	CK_OK(start("sm2_signature = der\n"));
	s = token_session();
	sm2_pair(s, 0x80008001UL, NULL, 0, &pub, &priv);
	check_msg_sig(s, pub, priv, 0x80008100UL, true, true);
	check_digest_sig(s, pub, priv, 0x80008104UL, true);
	p11t_fini();

	/* Z off for every message-in signature. */
	CK_OK(start("sm2_sign_z = no\n"));
	s = token_session();
	sm2_pair(s, 0x80008001UL, NULL, 0, &pub, &priv);
	check_msg_sig(s, pub, priv, 0x80008100UL, false, false);
	p11t_fini();
}

/* sm2_ciphertext = c1c2c3: checked by reordering by hand and decrypting
 * under the canonical (C1||C3||C2) profile. */
static void test_ciphertext_order(void)
{
	CK_OK(start("sm2_ciphertext = c1c2c3\n"));
	CK_SESSION_HANDLE s = token_session();
	CK_OBJECT_HANDLE pub, priv;
	sm2_pair(s, 0x80008001UL, NULL, 0, &pub, &priv);
	CK_MECHANISM enc = {0x80008200UL, NULL, 0};
	unsigned char ct[256], fixed[256], pt[64];
	CK_ULONG n = sizeof ct, np = sizeof pt, len = strlen(msg);
	CK_OK(p11->C_EncryptInit(s, &enc, pub));
	CK_OK(p11->C_Encrypt(s, (CK_BYTE_PTR)msg, len, ct, &n));
	CU_ASSERT_FATAL(n == 65 + 32 + len);
	memcpy(fixed, ct, 65);
	memcpy(fixed + 65, ct + 65 + len, 32);
	memcpy(fixed + 97, ct + 65, len);
	/* Round trip in this profile. */
	CK_OK(p11->C_DecryptInit(s, &enc, priv));
	CK_OK(p11->C_Decrypt(s, ct, n, pt, &np));
	CU_ASSERT(np == len && !memcmp(pt, msg, len));
	p11t_fini();

	/* The same token under C1||C3||C2: our reordering decrypts, the
	 * original order does not. */
	p11t_conf_append("sm2_ciphertext = c1c3c2\n");
	CK_OK(p11->C_Initialize(NULL));
	s = p11t_user_session(made_slot());
	priv = find_one(s, CKO_PRIVATE_KEY);
	np = sizeof pt;
	CK_OK(p11->C_DecryptInit(s, &enc, priv));
	CK_OK(p11->C_Decrypt(s, fixed, n, pt, &np));
	CU_ASSERT(np == len && !memcmp(pt, msg, len));
	np = sizeof pt;
	CK_OK(p11->C_DecryptInit(s, &enc, priv));
	CK_ASSERT_RV(p11->C_Decrypt(s, ct, n, pt, &np), CKR_ENCRYPTED_DATA_INVALID);
	p11t_fini();
}

static void test_refusals(void)
{
	static const char *const bad[] = {
		"profile = nosuchvendor\n",
		"profile = tass\nmechanism.sm4_ctr = 0x8000010A\n", /* TASS's SM4-MAC */
		"mechanism.sm3 = 0x80008100\n",		     /* canonical SM2-SM3 */
		"mechanism.nosuchop = 0x80001000\n",
		"mechanism.sm3 = 0x00000250\n", /* not vendor-defined */
		"mechanism.sm3 =\n",
		"key_type.sm4 = 0x80000004\n", /* SM2's */
		"sm2_signature = maybe\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CK_RV rv = start(bad[i]);
		if (rv != CKR_GENERAL_ERROR)
			fprintf(stderr, "accepted: %s", bad[i]);
		CU_ASSERT_EQUAL(rv, CKR_GENERAL_ERROR);
		if (rv == CKR_OK)
			p11t_fini();
	}
	/* An override that moves a code out of a collision is fine. */
	CK_OK(start("profile = tass\nmechanism.sm4_ctr = 0x80001010\n"));
	CU_ASSERT(listed(0x80001010UL));
	p11t_fini();
}

static void test_env_profile(void)
{
	setenv("SEALKIT_PROFILE", "luna", 1);
	CK_OK(start(""));
	CU_ASSERT(listed(0x80000B22UL) && !listed(0x80008100UL));
	p11t_fini();
	unsetenv("SEALKIT_PROFILE");
}

/* Settings in C_Initialize's pReserved (NSS, p11-kit x-init-reserved). */
static void test_init_args(void)
{
	CK_C_INITIALIZE_ARGS a;
	p11t_fresh_dir(10);
	memset(&a, 0, sizeof a);
	a.pReserved = "profile = tass; sm2_signature = raw";
	CK_OK(p11->C_Initialize(&a));
	CU_ASSERT(listed(0x80000005UL) && !listed(0x80009001UL));
	CK_SESSION_HANDLE s = token_session();
	CK_OBJECT_HANDLE pub, priv;
	sm2_pair(s, 0x80008001UL, NULL, 0, &pub, &priv);
	check_msg_sig(s, pub, priv, 0x80008100UL, true, false);
	p11t_fini();
	a.pReserved = "profile = tass\nmechanism.sm4_ctr = 0x8000010B";
	CK_ASSERT_RV(p11->C_Initialize(&a), CKR_GENERAL_ERROR);
}

void register_tests(void)
{
	C_GetFunctionList(&p11);
	CU_pSuite s = harness_suite("profiles", NULL, NULL);
	harness_test(s, "every shipped profile loads, no duplicates", test_every_profile_loads);
	harness_test(s, "canonical codes and aliases", test_canonical);
	harness_test(s, "sansec: no Z under 0x80008100", test_sansec);
	harness_test(s, "tass: DER, SM4 key type, SM4-MAC codes", test_tass);
	harness_test(s, "luna: allowed mechanisms across profiles", test_luna_and_allowed_mechanisms);
	harness_test(s, "ibm-ep11", test_ibm_ep11);
	harness_test(s, "koal", test_koal);
	harness_test(s, "overrides and behaviour settings", test_overrides_and_behaviour);
	harness_test(s, "C1||C2||C3 ciphertexts", test_ciphertext_order);
	harness_test(s, "colliding and malformed settings refused", test_refusals);
	harness_test(s, "SEALKIT_PROFILE", test_env_profile);
	harness_test(s, "settings in C_Initialize arguments", test_init_args);
}
