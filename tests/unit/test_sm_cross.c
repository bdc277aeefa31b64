/* Cross-checks of the SM mechanisms with OpenSSL 3 on random inputs of random
 * lengths, through the module's PKCS#11 function table (test_sm_kat holds the
 * standards' examples, test_crypto the crypto layer's fixed cases):
 *   SM3 (0x80009001), single-part and in random pieces   = EVP SM3;
 *   HMAC-SM3 (0x80000B02) and general (0x80000B03) of random output lengths
 *                                                        = EVP_MAC HMAC-SM3;
 *   SM4 ECB, CBC, CBC-PAD, ECB-PAD, CTR, both directions = EVP SM4-ECB/CBC/CTR;
 *   SM4-GCM: OpenSSL 3.0 has none, so round trips and tamper detection, plus
 *     the ciphertext against EVP SM4-CTR from inc32(J0) for 96-bit IVs;
 *   SM4-MAC / MAC_GENERAL = a CBC-MAC computed here with EVP SM4-CBC;
 *   SM2 signatures both ways: 0x80008100 (raw r||s), 0x80008101 (DER) with
 *     the ID 1234567812345678 or a caller's ID, 0x80008104 (digest in);
 *   SM2 encryption both ways: 0x80008200 (C1||C3||C2), 0x80008201 (DER).
 * Keys, IVs, lengths, split points and data come from a PRNG with a fixed
 * seed, printed first; SEALKIT_CROSS_SEED=N runs with another. Only SM2's own
 * randomness (its k) differs from run to run. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "harness.h"
#include "p11test.h"
#include "sm2help.h"

#define BUF            4096
#define SM2_DEFAULT_ID "1234567812345678"

static uint64_t run_seed = 20240917;
static uint64_t rng;
static CK_SESSION_HANDLE sess;
static unsigned char in_buf[BUF], out_buf[BUF], ref_buf[BUF], back_buf[BUF];

/* ---- reproducible randomness ---- */

/* splitmix64 */
static uint64_t rnd(void)
{
	uint64_t z = (rng += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* 0 .. n-1 (0 when n is 0). */
static size_t below(size_t n)
{
	return n ? (size_t)(rnd() % n) : 0;
}

static void fill(void *p, size_t n)
{
	unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)rnd();
}

/* 0 .. max, half the time below 70 (block, padding and hash-block edges). */
static size_t rnd_len(size_t max)
{
	return below(max + 1 < 70 || below(2) ? max + 1 : 70);
}

/* Each test has its own stream, so one failing test repeats on its own. */
static void stream(unsigned test)
{
	rng = run_seed * 0x100000001B3ULL + test;
}

/* The size of the next multi-part piece: sometimes empty, sometimes all the
 * rest, mostly short. */
static size_t piece(size_t left)
{
	switch (below(6)) {
	case 0:
		return 0;
	case 1:
		return left;
	default:
		return 1 + below(left < 40 ? left : 40);
	}
}

/* Flips one random bit of buf[0..len), len > 0. */
static void flip(unsigned char *buf, size_t len)
{
	buf[below(len)] ^= (unsigned char)(1u << below(8));
}

static bool same(const char *what, unsigned round, const void *got, size_t got_len,
		 const void *want, size_t want_len)
{
	if (got_len == want_len && memcmp(got, want, got_len) == 0)
		return true;
	printf("# %s, round %u: %zu bytes, expected %zu%s\n", what, round, got_len, want_len,
	       got_len == want_len ? ", contents differ" : "");
	return false;
}

/* ---- the function table ---- */

typedef struct crypt_api {
	CK_RV (*init)(CK_SESSION_HANDLE, CK_MECHANISM_PTR, CK_OBJECT_HANDLE);
	CK_RV (*once)(CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG_PTR);
	CK_RV (*update)(CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG_PTR);
	CK_RV (*final)(CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG_PTR);
} crypt_api;

static crypt_api enc_api, dec_api;

/* C_Encrypt or C_Decrypt after a length query, or Update in random pieces
 * and Final. *out_len: room in out, then the bytes written. */
static CK_RV p11_crypt(const crypt_api *api, CK_MECHANISM *m, CK_OBJECT_HANDLE key,
		       const unsigned char *in, size_t len, unsigned char *out, CK_ULONG *out_len,
		       bool parts)
{
	CK_ULONG room = *out_len, total = 0, n = 0;
	CK_RV rv = api->init(sess, m, key);

	if (rv != CKR_OK)
		return rv;
	if (!parts) {
		rv = api->once(sess, (CK_BYTE_PTR)in, len, NULL, &n);
		if (rv != CKR_OK)
			return rv;
		CU_ASSERT(n <= room);
		return api->once(sess, (CK_BYTE_PTR)in, len, out, out_len);
	}
	for (size_t done = 0, k; done < len; done += k) {
		k = piece(len - done);
		n = room - total;
		rv = api->update(sess, (CK_BYTE_PTR)in + done, k, out + total, &n);
		if (rv != CKR_OK)
			return rv;
		total += n;
	}
	n = room - total;
	rv = api->final(sess, out + total, &n);
	*out_len = total + n;
	return rv;
}

/* Feeds in[0..len) to a C_*Update in random pieces. */
static CK_RV feed(CK_RV (*update)(CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG),
		  const unsigned char *in, size_t len)
{
	CK_RV rv = CKR_OK;

	for (size_t done = 0, k; rv == CKR_OK && done < len; done += k) {
		k = piece(len - done);
		rv = update(sess, (CK_BYTE_PTR)in + done, k);
	}
	return rv;
}

/* Digesting and signing: data in, one value out. */
typedef struct sum_api {
	CK_RV (*init)(CK_SESSION_HANDLE, CK_MECHANISM_PTR, CK_OBJECT_HANDLE);
	CK_RV (*once)(CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR, CK_ULONG_PTR);
	CK_RV (*update)(CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG);
	CK_RV (*final)(CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG_PTR);
} sum_api;

static sum_api digest_api, sign_api;

static CK_RV digest_init(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE no_key)
{
	return p11->C_DigestInit(s, m);
}

/* C_Digest / C_Sign, or Update in random pieces and Final. */
static CK_RV p11_sum(const sum_api *api, CK_MECHANISM *m, CK_OBJECT_HANDLE key,
		     const unsigned char *in, size_t len, unsigned char *out, CK_ULONG *out_len,
		     bool parts)
{
	CK_RV rv = api->init(sess, m, key);

	if (rv != CKR_OK)
		return rv;
	if (!parts)
		return api->once(sess, (CK_BYTE_PTR)in, len, out, out_len);
	rv = feed(api->update, in, len);
	return rv == CKR_OK ? api->final(sess, out, out_len) : rv;
}

static CK_RV p11_sign(CK_MECHANISM *m, CK_OBJECT_HANDLE key, const unsigned char *in, size_t len,
		      unsigned char *sig, CK_ULONG *sig_len, bool parts)
{
	return p11_sum(&sign_api, m, key, in, len, sig, sig_len, parts);
}

static CK_RV p11_verify(CK_MECHANISM *m, CK_OBJECT_HANDLE key, const unsigned char *in, size_t len,
			const unsigned char *sig, size_t sig_len, bool parts)
{
	CK_RV rv = p11->C_VerifyInit(sess, m, key);

	if (rv != CKR_OK)
		return rv;
	if (!parts)
		return p11->C_Verify(sess, (CK_BYTE_PTR)in, len, (CK_BYTE_PTR)sig, sig_len);
	rv = feed(p11->C_VerifyUpdate, in, len);
	return rv == CKR_OK ? p11->C_VerifyFinal(sess, (CK_BYTE_PTR)sig, sig_len) : rv;
}

/* A session secret key with this value, usable for everything. */
static CK_OBJECT_HANDLE secret_key(CK_KEY_TYPE kt, const unsigned char *value, size_t len)
{
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_BBOOL yes = CK_TRUE;
	CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof cls},   {CKA_KEY_TYPE, &kt, sizeof kt},
			    {CKA_VALUE, (void *)value, len}, {CKA_ENCRYPT, &yes, sizeof yes},
			    {CKA_DECRYPT, &yes, sizeof yes}, {CKA_SIGN, &yes, sizeof yes},
			    {CKA_VERIFY, &yes, sizeof yes}};
	CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;

	CK_OK(p11->C_CreateObject(sess, t, sizeof t / sizeof t[0], &h));
	return h;
}

/* ---- OpenSSL references ---- */

/* EVP SM4 in `name` mode over the whole input, PKCS#7 padding when `pad`. */
static size_t ossl_sm4(const char *name, bool enc, bool pad, const unsigned char key[16],
		       const unsigned char *iv, const unsigned char *in, size_t len,
		       unsigned char *out)
{
	EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, name, NULL);
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
	int a = 0, b = 0;
	bool ok = c && x && EVP_CipherInit_ex2(x, c, key, iv, enc, NULL) &&
		  EVP_CIPHER_CTX_set_padding(x, pad) &&
		  EVP_CipherUpdate(x, out, &a, in, (int)len) && EVP_CipherFinal_ex(x, out + a, &b);

	EVP_CIPHER_CTX_free(x);
	EVP_CIPHER_free(c);
	CU_ASSERT(ok);
	return ok ? (size_t)(a + b) : 0;
}

/* A MAC mechanism and its general form on one key against the reference
 * MAC `want`: each signs as much of it as it should (full_len, out_len
 * bytes), each verifies, and the general one refuses a flipped bit. Returns
 * the number of mismatches. */
static unsigned mac_pair(const char *name, unsigned round, CK_OBJECT_HANDLE k, CK_MECHANISM *full,
			 size_t full_len, CK_MECHANISM *general, CK_ULONG out_len, size_t len,
			 const unsigned char *want)
{
	unsigned char mac[64], bad_mac[64];
	CK_ULONG n = sizeof mac;
	unsigned bad = 0;

	CK_OK(p11_sign(full, k, in_buf, len, mac, &n, below(2)));
	bad += !same(name, round, mac, n, want, full_len);
	CK_OK(p11_verify(full, k, in_buf, len, want, full_len, below(2)));
	n = sizeof mac;
	CK_OK(p11_sign(general, k, in_buf, len, mac, &n, below(2)));
	bad += !same(name, round, mac, n, want, out_len);
	CK_OK(p11_verify(general, k, in_buf, len, want, out_len, below(2)));
	memcpy(bad_mac, want, out_len);
	flip(bad_mac, out_len);
	CK_ASSERT_RV(p11_verify(general, k, in_buf, len, bad_mac, out_len, below(2)),
		     CKR_SIGNATURE_INVALID);
	return bad;
}

/* ---- SM3 and HMAC-SM3 ---- */

static void test_token(void)
{
	CK_SLOT_ID slot = p11t_make_token("sm-cross");

	sess = p11t_user_session(slot);
	CU_ASSERT_FATAL(sess != CK_INVALID_HANDLE);
	enc_api = (crypt_api){p11->C_EncryptInit, p11->C_Encrypt, p11->C_EncryptUpdate,
			      p11->C_EncryptFinal};
	dec_api = (crypt_api){p11->C_DecryptInit, p11->C_Decrypt, p11->C_DecryptUpdate,
			      p11->C_DecryptFinal};
	digest_api = (sum_api){digest_init, p11->C_Digest, p11->C_DigestUpdate, p11->C_DigestFinal};
	sign_api = (sum_api){p11->C_SignInit, p11->C_Sign, p11->C_SignUpdate, p11->C_SignFinal};
}

static void test_sm3(void)
{
	const unsigned rounds = 300;
	CK_MECHANISM m = {CKM_SM3, NULL, 0};
	unsigned char md[64], want[32];
	unsigned bad = 0;
	CK_ULONG n;

	stream(1);
	for (unsigned r = 0; r < rounds; r++) {
		size_t len = rnd_len(BUF);

		fill(in_buf, len);
		CU_ASSERT_FATAL(EVP_Digest(in_buf, len, want, NULL, EVP_sm3(), NULL));
		for (int parts = 0; parts < 2; parts++) {
			n = sizeof md;
			CK_OK(p11_sum(&digest_api, &m, CK_INVALID_HANDLE, in_buf, len, md, &n,
				      parts));
			bad += !same(parts ? "SM3 multi-part" : "SM3", r, md, n, want, 32);
		}
	}
	CU_ASSERT(bad == 0);
	printf("# SM3: %u messages of 0..%d bytes, single-part and in random pieces\n", rounds,
	       BUF);
}

static void test_hmac_sm3(void)
{
	const unsigned rounds = 150;
	unsigned char key[200], want[64];
	unsigned bad = 0;

	stream(2);
	for (unsigned r = 0; r < rounds; r++) {
		size_t key_len = 1 + below(sizeof key), len = rnd_len(3000), want_len = 0;
		CK_ULONG out_len = 1 + below(32);
		CK_MECHANISM full = {CKM_SM3_HMAC, NULL, 0};
		CK_MECHANISM general = {CKM_SM3_HMAC_GENERAL, &out_len, sizeof out_len};

		fill(key, key_len);
		fill(in_buf, len);
		CU_ASSERT_FATAL(EVP_Q_mac(NULL, "HMAC", NULL, "SM3", NULL, key, key_len, in_buf,
					  len, want, sizeof want, &want_len) != NULL &&
				want_len == 32);
		CK_OBJECT_HANDLE k = secret_key(CKK_GENERIC_SECRET, key, key_len);
		bad += mac_pair("HMAC-SM3", r, k, &full, 32, &general, out_len, len, want);
		CK_OK(p11->C_DestroyObject(sess, k));
	}
	CU_ASSERT(bad == 0);
	printf("# HMAC-SM3: %u keys of 1..200 bytes, messages of 0..3000 bytes, general "
	       "lengths 1..32\n",
	       rounds);
}

/* ---- SM4 block modes ---- */

typedef struct sm4_mode {
	CK_MECHANISM_TYPE mech;
	const char *name, *evp;
	bool pad, iv, whole_blocks;
} sm4_mode;

static const sm4_mode sm4_modes[] = {
    {CKM_SM4_ECB, "SM4-ECB", "SM4-ECB", false, false, true},
    {CKM_SM4_CBC, "SM4-CBC", "SM4-CBC", false, true, true},
    {CKM_SM4_CBC_PAD, "SM4-CBC-PAD", "SM4-CBC", true, true, false},
    {CKM_SM4_ECB_PAD, "SM4-ECB-PAD", "SM4-ECB", true, false, false},
    {CKM_SM4_CTR, "SM4-CTR", "SM4-CTR", false, true, false},
};

static void sm4_cross(unsigned which)
{
	const sm4_mode *mode = &sm4_modes[which];
	const unsigned rounds = 80;
	unsigned char key[16], iv[16];
	unsigned bad = 0;

	stream(10 + which);
	for (unsigned r = 0; r < rounds; r++) {
		size_t len = mode->whole_blocks ? 16 * below(65) : rnd_len(1040);
		CK_AES_CTR_PARAMS ctr;
		CK_MECHANISM m = {mode->mech, NULL, 0};
		CK_ULONG n;

		fill(key, sizeof key);
		fill(iv, sizeof iv);
		fill(in_buf, len);
		if (mode->mech == CKM_SM4_CTR) {
			/* A counter of 16 to 128 bits that does not wrap here:
			 * OpenSSL's counter is always the whole block. */
			ctr.ulCounterBits = 16 << below(4);
			if (ctr.ulCounterBits < 128)
				iv[16 - ctr.ulCounterBits / 8] &= 0x7f;
			memcpy(ctr.cb, iv, 16);
			m.pParameter = &ctr;
			m.ulParameterLen = sizeof ctr;
		} else if (mode->iv) {
			m.pParameter = iv;
			m.ulParameterLen = sizeof iv;
		}
		size_t want_len = ossl_sm4(mode->evp, true, mode->pad, key, mode->iv ? iv : NULL,
					   in_buf, len, ref_buf);
		CK_OBJECT_HANDLE k = secret_key(CKK_SM4, key, sizeof key);
		bool parts = below(2);

		n = BUF;
		CK_OK(p11_crypt(&enc_api, &m, k, in_buf, len, out_buf, &n, parts));
		bad += !same(mode->name, r, out_buf, n, ref_buf, want_len);
		n = BUF;
		CK_OK(p11_crypt(&dec_api, &m, k, ref_buf, want_len, back_buf, &n, !parts));
		bad += !same(mode->name, r, back_buf, n, in_buf, len);
		CK_OK(p11->C_DestroyObject(sess, k));
	}
	CU_ASSERT(bad == 0);
	printf("# %s: %u keys, plaintexts of 0..%d bytes, both directions vs EVP %s\n", mode->name,
	       rounds, mode->whole_blocks ? 1024 : 1040, mode->evp);
}

static void test_sm4_ecb(void)
{
	sm4_cross(0);
}

static void test_sm4_cbc(void)
{
	sm4_cross(1);
}

static void test_sm4_cbc_pad(void)
{
	sm4_cross(2);
}

static void test_sm4_ecb_pad(void)
{
	sm4_cross(3);
}

static void test_sm4_ctr(void)
{
	sm4_cross(4);
}

/* ---- SM4-GCM and SM4-MAC ---- */

static void test_sm4_gcm(void)
{
	const unsigned rounds = 100;
	unsigned char key[16], iv[64], aad[100], j1[16];
	unsigned bad = 0, ctr_checked = 0;

	stream(20);
	for (unsigned r = 0; r < rounds; r++) {
		size_t iv_len = below(3) ? 12 : 1 + below(sizeof iv), aad_len = rnd_len(90);
		size_t len = rnd_len(1000), tag_len = 4 + below(13);
		CK_GCM_PARAMS p = {iv, iv_len, iv_len * 8, aad, aad_len, tag_len * 8};
		CK_MECHANISM m = {CKM_SM4_GCM, &p, sizeof p};
		CK_ULONG n = BUF, n2 = BUF;

		fill(key, sizeof key);
		fill(iv, iv_len);
		fill(aad, sizeof aad);
		fill(in_buf, len);
		CK_OBJECT_HANDLE k = secret_key(CKK_SM4, key, sizeof key);
		CK_OK(p11_crypt(&enc_api, &m, k, in_buf, len, out_buf, &n, false));
		CU_ASSERT(n == len + tag_len);
		/* The same IV gives the same bytes in pieces. */
		CK_OK(p11_crypt(&enc_api, &m, k, in_buf, len, ref_buf, &n2, true));
		bad += !same("SM4-GCM multi-part", r, ref_buf, n2, out_buf, n);
		if (iv_len == 12) {
			/* J0 = IV || 1; the text is SM4-CTR from inc32(J0). */
			memcpy(j1, iv, 12);
			memcpy(j1 + 12, "\0\0\0\2", 4);
			size_t kl = ossl_sm4("SM4-CTR", true, false, key, j1, in_buf, len, ref_buf);
			bad += !same("SM4-GCM vs SM4-CTR", r, out_buf, len, ref_buf, kl);
			ctr_checked++;
		}
		n2 = BUF;
		CK_OK(p11_crypt(&dec_api, &m, k, out_buf, n, back_buf, &n2, below(2)));
		bad += !same("SM4-GCM decrypt", r, back_buf, n2, in_buf, len);

		/* A flipped bit in the text or the tag: refused. */
		flip(out_buf, n);
		n2 = BUF;
		CK_ASSERT_RV(p11_crypt(&dec_api, &m, k, out_buf, n, back_buf, &n2, below(2)),
			     CKR_ENCRYPTED_DATA_INVALID);
		/* Sealed with other AAD, opened with this: refused. */
		p.ulAADLen = aad_len ? aad_len - 1 : 1;
		n = BUF;
		CK_OK(p11_crypt(&enc_api, &m, k, in_buf, len, out_buf, &n, false));
		p.ulAADLen = aad_len;
		n2 = BUF;
		CK_ASSERT_RV(p11_crypt(&dec_api, &m, k, out_buf, n, back_buf, &n2, below(2)),
			     CKR_ENCRYPTED_DATA_INVALID);
		CK_OK(p11->C_DestroyObject(sess, k));
	}
	CU_ASSERT(bad == 0);
	printf("# SM4-GCM: %u round trips (IVs of 1..64 bytes, AAD 0..90, text 0..1000, "
	       "tags 4..16 bytes), tampering refused; %u ciphertexts equal to EVP SM4-CTR\n",
	       rounds, ctr_checked);
}

static void test_sm4_mac(void)
{
	const unsigned rounds = 120;
	unsigned char key[16], zero_iv[16] = {0};
	unsigned bad = 0;

	stream(21);
	for (unsigned r = 0; r < rounds; r++) {
		size_t len = rnd_len(700), padded = len ? (len + 15) / 16 * 16 : 16;
		CK_ULONG out_len = 1 + below(16);
		CK_MECHANISM half = {CKM_SM4_MAC, NULL, 0};
		CK_MECHANISM general = {CKM_SM4_MAC_GENERAL, &out_len, sizeof out_len};

		fill(key, sizeof key);
		memset(in_buf, 0, padded);
		fill(in_buf, len);
		/* CBC-MAC: the last block of SM4-CBC under a zero IV over the
		 * zero-padded data (one zero block for empty data). */
		size_t cl = ossl_sm4("SM4-CBC", true, false, key, zero_iv, in_buf, padded, ref_buf);
		const unsigned char *want = ref_buf + cl - 16;
		CK_OBJECT_HANDLE k = secret_key(CKK_SM4, key, sizeof key);

		bad += mac_pair("SM4-MAC", r, k, &half, 8, &general, out_len, len, want);
		CK_OK(p11->C_DestroyObject(sess, k));
	}
	CU_ASSERT(bad == 0);
	printf("# SM4-MAC: %u keys, data of 0..700 bytes, general lengths 1..16\n", rounds);
}

/* ---- SM2 ---- */

typedef struct sm2_pair {
	EVP_PKEY *ossl; /* OpenSSL's key: the pair, or the public half */
	CK_OBJECT_HANDLE pub, priv;
} sm2_pair;

/* A key pair OpenSSL made, imported with C_CreateObject (CKK 0x80000004). */
static void sm2_import(sm2_pair *kp)
{
	CK_OK(sm2_pair_import(p11, sess, &kp->ossl, &kp->pub, &kp->priv));
	CU_ASSERT_FATAL(kp->ossl != NULL);
}

/* A key pair the token made with `mech` (the SM2 one or CKM_EC_KEY_PAIR_GEN
 * with the SM2 curve); OpenSSL gets the public key from CKA_EC_POINT. */
static void sm2_generate(sm2_pair *kp, CK_MECHANISM_TYPE mech)
{
	CK_MECHANISM m = {mech, NULL, 0};
	CK_BBOOL yes = CK_TRUE;
	CK_ATTRIBUTE pub[] = {{CKA_EC_PARAMS, SK_SM2_OID_DER, SK_SM2_OID_DER_LEN},
			      {CKA_VERIFY, &yes, sizeof yes},
			      {CKA_ENCRYPT, &yes, sizeof yes}};
	CK_ATTRIBUTE priv[] = {{CKA_SIGN, &yes, sizeof yes}, {CKA_DECRYPT, &yes, sizeof yes}};
	unsigned char point[80];
	CK_ATTRIBUTE get = {CKA_EC_POINT, point, sizeof point};
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "SM2", NULL);

	kp->ossl = NULL;
	CK_OK(p11->C_GenerateKeyPair(sess, &m, pub, 3, priv, 2, &kp->pub, &kp->priv));
	CK_OK(p11->C_GetAttributeValue(sess, kp->pub, &get, 1));
	CU_ASSERT_FATAL(get.ulValueLen == 67 && point[0] == 0x04 && point[1] == 0x41);
	OSSL_PARAM prm[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"SM2", 0),
	    OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point + 2, 65),
	    OSSL_PARAM_construct_end()};
	CU_ASSERT(c != NULL && EVP_PKEY_fromdata_init(c) > 0 &&
		  EVP_PKEY_fromdata(c, &kp->ossl, EVP_PKEY_PUBLIC_KEY, prm) > 0);
	EVP_PKEY_CTX_free(c);
	CU_ASSERT_FATAL(kp->ossl != NULL);
}

static void sm2_drop(sm2_pair *kp)
{
	CK_OK(p11->C_DestroyObject(sess, kp->pub));
	CK_OK(p11->C_DestroyObject(sess, kp->priv));
	EVP_PKEY_free(kp->ossl);
}

/* EVP_DigestSign / EVP_DigestVerify, SM3 with the signer's ID. Returns
 * OpenSSL's result: 1 for a signature made or verified. */
static int ossl_sm2_msg(EVP_PKEY *pk, bool sign, const unsigned char *id, size_t id_len,
			const unsigned char *msg, size_t len, unsigned char *sig, size_t *sig_len)
{
	OSSL_PARAM prm[] = {
	    OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_DIST_ID, (void *)id, id_len),
	    OSSL_PARAM_construct_end()};
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int r = -1;

	if (md && sign && EVP_DigestSignInit_ex(md, NULL, "SM3", NULL, NULL, pk, prm) > 0)
		r = EVP_DigestSign(md, sig, sig_len, msg, len);
	else if (md && !sign && EVP_DigestVerifyInit_ex(md, NULL, "SM3", NULL, NULL, pk, prm) > 0)
		r = EVP_DigestVerify(md, sig, *sig_len, msg, len);
	EVP_MD_CTX_free(md);
	return r;
}

/* The SM2 primitive on a 32-byte e (what 0x80008104 does). */
static int ossl_sm2_e(EVP_PKEY *pk, bool sign, const unsigned char e[32], unsigned char *sig,
		      size_t *sig_len)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pk, NULL);
	int r = -1;

	if (c && sign && EVP_PKEY_sign_init(c) > 0)
		r = EVP_PKEY_sign(c, sig, sig_len, e, 32);
	else if (c && !sign && EVP_PKEY_verify_init(c) > 0)
		r = EVP_PKEY_verify(c, sig, *sig_len, e, 32);
	EVP_PKEY_CTX_free(c);
	return r;
}

/* An ID for this round: the default one, or random bytes passed to the token
 * as the mechanism parameter (our extension). Returns its length. */
static size_t pick_id(unsigned char id[64], CK_MECHANISM *m)
{
	if (below(3)) {
		memcpy(id, SM2_DEFAULT_ID, 16);
		m->pParameter = NULL;
		m->ulParameterLen = 0;
		return 16;
	}
	size_t len = 1 + below(64);
	fill(id, len);
	m->pParameter = id;
	m->ulParameterLen = len;
	return len;
}

/* A message that differs from msg[0..len) by a bit, or by one byte more. */
static size_t other_msg(const unsigned char *msg, size_t len, unsigned char *out)
{
	memcpy(out, msg, len);
	if (len == 0 || below(4) == 0) {
		out[len] = (unsigned char)rnd();
		return len + 1;
	}
	flip(out, len);
	return len;
}

/* The token signs (keys it made, or OpenSSL's imported), OpenSSL verifies. */
static void test_sm2_sign_token(void)
{
	const unsigned rounds = 60;
	unsigned char id[64], sig[128], rs[64], der[128], e[32];
	unsigned custom_ids = 0;

	stream(30);
	for (unsigned r = 0; r < rounds; r++) {
		sm2_pair kp;
		size_t len = rnd_len(3000), dl;
		CK_MECHANISM m = {below(2) ? CKM_SM2_SM3_DER : CKM_SM2_SM3, NULL, 0};
		CK_MECHANISM digest_in = {CKM_SM2, NULL, 0};
		CK_ULONG sl = sizeof sig;
		bool parts = below(2);

		if (r % 3 == 2)
			sm2_import(&kp);
		else
			sm2_generate(&kp, r % 3 ? CKM_EC_KEY_PAIR_GEN : CKM_SM2_KEY_PAIR_GEN);
		size_t id_len = pick_id(id, &m);
		custom_ids += m.pParameter != NULL;
		fill(in_buf, len);
		CK_OK(p11_sign(&m, kp.priv, in_buf, len, sig, &sl, parts));
		if (m.mechanism == CKM_SM2_SM3) {
			CU_ASSERT(sl == 64);
			dl = sm2_sig_der(sig, der);
		} else {
			CU_ASSERT(sm2_sig_raw(sig, sl, rs)); /* strict DER */
			memcpy(der, sig, sl);
			dl = sl;
		}
		CU_ASSERT(ossl_sm2_msg(kp.ossl, false, id, id_len, in_buf, len, der, &dl) == 1);
		size_t ol = other_msg(in_buf, len, ref_buf);
		CU_ASSERT(ossl_sm2_msg(kp.ossl, false, id, id_len, ref_buf, ol, der, &dl) != 1);
		CK_OK(p11_verify(&m, kp.pub, in_buf, len, sig, sl, !parts));
		CK_ASSERT_RV(p11_verify(&m, kp.pub, ref_buf, ol, sig, sl, parts),
			     CKR_SIGNATURE_INVALID);

		/* Digest in: any 32 bytes e. */
		fill(e, sizeof e);
		sl = sizeof sig;
		CK_OK(p11_sign(&digest_in, kp.priv, e, sizeof e, sig, &sl, false));
		CU_ASSERT_FATAL(sl == 64);
		dl = sm2_sig_der(sig, der);
		CU_ASSERT(ossl_sm2_e(kp.ossl, false, e, der, &dl) == 1);
		flip(e, sizeof e);
		CU_ASSERT(ossl_sm2_e(kp.ossl, false, e, der, &dl) != 1);
		sm2_drop(&kp);
	}
	printf("# SM2 token -> OpenSSL: %u signatures over 0..3000 bytes (0x80008100/0x80008101, "
	       "%u with a caller's ID) and %u over e (0x80008104), keys from 0x80008001, "
	       "CKM_EC_KEY_PAIR_GEN and OpenSSL\n",
	       rounds, custom_ids, rounds);
}

/* OpenSSL signs, the token verifies: message in (DER and raw forms) and
 * digest in. */
static void test_sm2_sign_openssl(void)
{
	const unsigned rounds = 60;
	unsigned char id[64], der[128], rs[64], e[32];
	unsigned custom_ids = 0;

	stream(31);
	for (unsigned r = 0; r < rounds; r++) {
		sm2_pair kp;
		size_t len = rnd_len(3000), dl = sizeof der;
		CK_MECHANISM m = {CKM_SM2_SM3_DER, NULL, 0};
		CK_MECHANISM digest_in = {CKM_SM2, NULL, 0};

		sm2_import(&kp);
		size_t id_len = pick_id(id, &m);
		custom_ids += m.pParameter != NULL;
		fill(in_buf, len);
		CU_ASSERT_FATAL(ossl_sm2_msg(kp.ossl, true, id, id_len, in_buf, len, der, &dl) ==
				1);
		CU_ASSERT_FATAL(sm2_sig_raw(der, dl, rs));
		CK_OK(p11_verify(&m, kp.pub, in_buf, len, der, dl, below(2)));
		m.mechanism = CKM_SM2_SM3;
		CK_OK(p11_verify(&m, kp.pub, in_buf, len, rs, sizeof rs, below(2)));
		size_t ol = other_msg(in_buf, len, ref_buf);
		CK_ASSERT_RV(p11_verify(&m, kp.pub, ref_buf, ol, rs, sizeof rs, below(2)),
			     CKR_SIGNATURE_INVALID);
		/* Under another ID it is another Z: refused. */
		if (m.pParameter) {
			m.pParameter = NULL;
			m.ulParameterLen = 0;
		} else {
			m.pParameter = (void *)"1234567812345679";
			m.ulParameterLen = 16;
		}
		CK_ASSERT_RV(p11_verify(&m, kp.pub, in_buf, len, rs, sizeof rs, below(2)),
			     CKR_SIGNATURE_INVALID);

		fill(e, sizeof e);
		dl = sizeof der;
		CU_ASSERT_FATAL(ossl_sm2_e(kp.ossl, true, e, der, &dl) == 1);
		CU_ASSERT_FATAL(sm2_sig_raw(der, dl, rs));
		CK_OK(p11_verify(&digest_in, kp.pub, e, sizeof e, rs, sizeof rs, false));
		flip(e, sizeof e);
		CK_ASSERT_RV(p11_verify(&digest_in, kp.pub, e, sizeof e, rs, sizeof rs, false),
			     CKR_SIGNATURE_INVALID);
		sm2_drop(&kp);
	}
	printf("# SM2 OpenSSL -> token: %u signatures over 0..3000 bytes verified as DER and "
	       "raw (%u with a caller's ID), %u over e\n",
	       rounds, custom_ids, rounds);
}

/* GM/T 0009 SEQUENCE{x, y INTEGER, hash, ciphertext OCTET STRING} ->
 * C1||C3||C2 (GM/T 0003 order), with OpenSSL's generic ASN.1 parser.
 * Returns the length, 0 when malformed. */
static size_t ct_raw(const unsigned char *der, size_t len, unsigned char *raw)
{
	const unsigned char *p = der;
	STACK_OF(ASN1_TYPE) *seq = d2i_ASN1_SEQUENCE_ANY(NULL, &p, (long)len);
	size_t n = 0;

	if (seq && p == der + len && sk_ASN1_TYPE_num(seq) == 4) {
		ASN1_TYPE *f[4];
		for (int i = 0; i < 4; i++)
			f[i] = sk_ASN1_TYPE_value(seq, i);
		BIGNUM *x = f[0]->type == V_ASN1_INTEGER
				? ASN1_INTEGER_to_BN(f[0]->value.integer, NULL)
				: NULL;
		BIGNUM *y = f[1]->type == V_ASN1_INTEGER
				? ASN1_INTEGER_to_BN(f[1]->value.integer, NULL)
				: NULL;
		if (x && y && f[2]->type == V_ASN1_OCTET_STRING &&
		    f[3]->type == V_ASN1_OCTET_STRING &&
		    ASN1_STRING_length(f[2]->value.octet_string) == 32 &&
		    BN_bn2binpad(x, raw + 1, 32) == 32 && BN_bn2binpad(y, raw + 33, 32) == 32) {
			size_t c2 = (size_t)ASN1_STRING_length(f[3]->value.octet_string);
			raw[0] = 0x04;
			memcpy(raw + 65, ASN1_STRING_get0_data(f[2]->value.octet_string), 32);
			memcpy(raw + 97, ASN1_STRING_get0_data(f[3]->value.octet_string), c2);
			n = 97 + c2;
		}
		BN_free(x);
		BN_free(y);
	}
	sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
	return n;
}

/* C1||C3||C2 -> GM/T 0009 DER; returns the length. */
static size_t ct_der(const unsigned char *raw, size_t len, unsigned char *der)
{
	STACK_OF(ASN1_TYPE) *seq = sk_ASN1_TYPE_new_null();
	int n = -1;

	for (int i = 0; seq && i < 4; i++) {
		ASN1_TYPE *t = ASN1_TYPE_new();
		if (i < 2) {
			BIGNUM *bn = BN_bin2bn(raw + 1 + 32 * i, 32, NULL);
			ASN1_TYPE_set(t, V_ASN1_INTEGER, BN_to_ASN1_INTEGER(bn, NULL));
			BN_free(bn);
		} else {
			ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
			ASN1_OCTET_STRING_set(os, raw + (i == 2 ? 65 : 97),
					      i == 2 ? 32 : (int)(len - 97));
			ASN1_TYPE_set(t, V_ASN1_OCTET_STRING, os);
		}
		sk_ASN1_TYPE_push(seq, t);
	}
	if (seq && sk_ASN1_TYPE_num(seq) == 4)
		n = i2d_ASN1_SEQUENCE_ANY(seq, &der);
	sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
	CU_ASSERT(n > 0);
	return n > 0 ? (size_t)n : 0;
}

/* EVP_PKEY_encrypt / EVP_PKEY_decrypt (GM/T 0009 DER); 0 on failure. */
static size_t ossl_sm2_crypt(EVP_PKEY *pk, bool enc, const unsigned char *in, size_t len,
			     unsigned char *out, size_t room)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pk, NULL);
	size_t n = room;
	bool ok = c && (enc ? EVP_PKEY_encrypt_init(c) : EVP_PKEY_decrypt_init(c)) > 0 &&
		  (enc ? EVP_PKEY_encrypt(c, out, &n, in, len)
		       : EVP_PKEY_decrypt(c, out, &n, in, len)) > 0;

	EVP_PKEY_CTX_free(c);
	return ok ? n : 0;
}

static void test_sm2_encrypt(void)
{
	const unsigned rounds = 50;
	CK_MECHANISM raw = {CKM_SM2_ENCRYPT, NULL, 0}, der = {CKM_SM2_ENCRYPT_DER, NULL, 0};
	unsigned bad = 0;

	stream(40);
	for (unsigned r = 0; r < rounds; r++) {
		sm2_pair kp;
		size_t len = 1 + rnd_len(1000), got, cl;
		CK_ULONG n = BUF;

		sm2_import(&kp);
		fill(in_buf, len);
		/* The token encrypts, OpenSSL decrypts: DER as is, raw converted. */
		CK_OK(p11_crypt(&enc_api, &der, kp.pub, in_buf, len, out_buf, &n, false));
		got = ossl_sm2_crypt(kp.ossl, false, out_buf, n, back_buf, BUF);
		bad += !same("SM2 0x80008201 -> OpenSSL", r, back_buf, got, in_buf, len);
		n = BUF;
		CK_OK(p11_crypt(&enc_api, &raw, kp.pub, in_buf, len, out_buf, &n, false));
		CU_ASSERT(n == 97 + len && out_buf[0] == 0x04);
		cl = ct_der(out_buf, n, ref_buf);
		got = ossl_sm2_crypt(kp.ossl, false, ref_buf, cl, back_buf, BUF);
		bad += !same("SM2 0x80008200 -> OpenSSL", r, back_buf, got, in_buf, len);

		/* OpenSSL encrypts, the token decrypts both forms. */
		cl = ossl_sm2_crypt(kp.ossl, true, in_buf, len, ref_buf, BUF);
		CU_ASSERT_FATAL(cl > 0);
		n = BUF;
		CK_OK(p11_crypt(&dec_api, &der, kp.priv, ref_buf, cl, back_buf, &n, false));
		bad += !same("OpenSSL -> SM2 0x80008201", r, back_buf, n, in_buf, len);
		size_t rl = ct_raw(ref_buf, cl, out_buf);
		CU_ASSERT_FATAL(rl == 97 + len);
		n = BUF;
		CK_OK(p11_crypt(&dec_api, &raw, kp.priv, out_buf, rl, back_buf, &n, false));
		bad += !same("OpenSSL -> SM2 0x80008200", r, back_buf, n, in_buf, len);

		/* A changed bit of C3 or C2 fails the hash check. */
		flip(out_buf + 65, rl - 65);
		n = BUF;
		CK_ASSERT_RV(p11_crypt(&dec_api, &raw, kp.priv, out_buf, rl, back_buf, &n, false),
			     CKR_ENCRYPTED_DATA_INVALID);
		sm2_drop(&kp);
	}
	CU_ASSERT(bad == 0);
	printf("# SM2 encryption: %u messages of 1..1001 bytes, token -> OpenSSL and OpenSSL -> "
	       "token, raw and DER\n",
	       rounds);
}

/* ---- registration ---- */

static int cross_init(void)
{
	p11t_fresh_dir(10);
	return p11->C_Initialize(NULL) != CKR_OK;
}

static int cross_clean(void)
{
	p11->C_Finalize(NULL);
	return 0;
}

void register_tests(void)
{
	const char *s = getenv("SEALKIT_CROSS_SEED");

	if (s && *s)
		run_seed = strtoull(s, NULL, 0);
	printf("# seed %llu (SEALKIT_CROSS_SEED=%llu repeats this run)\n",
	       (unsigned long long)run_seed, (unsigned long long)run_seed);
	C_GetFunctionList(&p11);

	CU_pSuite c = harness_suite("sm-cross", cross_init, cross_clean);
	harness_test(c, "make the token", test_token);
	harness_test(c, "SM3 vs EVP", test_sm3);
	harness_test(c, "HMAC-SM3 and general vs EVP_MAC", test_hmac_sm3);
	harness_test(c, "SM4-ECB vs EVP", test_sm4_ecb);
	harness_test(c, "SM4-CBC vs EVP", test_sm4_cbc);
	harness_test(c, "SM4-CBC-PAD vs EVP", test_sm4_cbc_pad);
	harness_test(c, "SM4-ECB-PAD vs EVP", test_sm4_ecb_pad);
	harness_test(c, "SM4-CTR vs EVP", test_sm4_ctr);
	harness_test(c, "SM4-GCM round trips, tampering, CTR part", test_sm4_gcm);
	harness_test(c, "SM4-MAC and general vs CBC-MAC", test_sm4_mac);
	harness_test(c, "SM2 signatures: token signs, OpenSSL verifies", test_sm2_sign_token);
	harness_test(c, "SM2 signatures: OpenSSL signs, token verifies", test_sm2_sign_openssl);
	harness_test(c, "SM2 encryption both ways, raw and DER", test_sm2_encrypt);
}
