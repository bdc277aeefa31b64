/* Tests of pkcs11/store/seal.c: encryption at rest and PIN wrapping.
 * The blob layouts are re-implemented here independently (HMAC-SM3 by hand
 * through EVP_MAC, PBKDF2 by hand from RFC 8018) so that the format, not
 * just the round trip, is pinned down. */
#include "harness.h"
#include "store/seal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define PIN_BLOB_LEN (9 + 16 + 16 + 64 + 32)

static const CK_UTF8CHAR pin[] = "123456";
#define PIN_LEN (sizeof(pin) - 1)

/* ---- independent primitives ------------------------------------------- */

struct part {
	const void *p;
	size_t n;
};

static void hmac_sm3(const unsigned char *key, size_t key_len, const struct part *parts,
		     size_t nparts, unsigned char out[32])
{
	char digest[] = "SM3";
	OSSL_PARAM params[] = { OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
				OSSL_PARAM_construct_end() };
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
	size_t len = 0;

	CU_ASSERT_FATAL(ctx != NULL);
	CU_ASSERT_FATAL(EVP_MAC_init(ctx, key, key_len, params) == 1);
	for (size_t i = 0; i < nparts; i++)
		CU_ASSERT_FATAL(EVP_MAC_update(ctx, parts[i].p, parts[i].n) == 1);
	CU_ASSERT_FATAL(EVP_MAC_final(ctx, out, &len, 32) == 1 && len == 32);
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
}

/* PBKDF2 (RFC 8018 section 5.2) with HMAC-SM3, written out. */
static void pbkdf2_sm3(const void *pass, size_t pass_len, const unsigned char *salt,
		       size_t salt_len, unsigned iter, unsigned char *out, size_t out_len)
{
	for (uint32_t block = 1; out_len > 0; block++) {
		unsigned char be[4] = { block >> 24, block >> 16, block >> 8, block };
		unsigned char u[32], t[32];
		struct part first[] = { { salt, salt_len }, { be, 4 } };
		size_t n = out_len < 32 ? out_len : 32;

		hmac_sm3(pass, pass_len, first, 2, u);
		memcpy(t, u, 32);
		for (unsigned j = 1; j < iter; j++) {
			struct part next[] = { { u, 32 } };
			hmac_sm3(pass, pass_len, next, 1, u);
			for (int k = 0; k < 32; k++)
				t[k] ^= u[k];
		}
		memcpy(out, t, n);
		out += n;
		out_len -= n;
	}
}

/* SM4-CBC with PKCS#7 padding; returns the output length or -1. */
static int sm4_cbc(int enc, const unsigned char *key, const unsigned char *iv,
		   const unsigned char *in, int in_len, unsigned char *out)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n1 = 0, n2 = 0, ok;

	ok = EVP_CipherInit_ex(ctx, EVP_sm4_cbc(), NULL, key, iv, enc) &&
	     EVP_CipherUpdate(ctx, out, &n1, in, in_len) && EVP_CipherFinal_ex(ctx, out + n1, &n2);
	EVP_CIPHER_CTX_free(ctx);
	return ok ? n1 + n2 : -1;
}

static void be64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

static int hex_byte(const char *s)
{
	int v = 0;
	for (int i = 0; i < 2; i++) {
		char c = s[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/* "AB:CD:..." (the openssl CLI's output) to bytes; returns the count. */
static size_t parse_colon_hex(const char *s, unsigned char *out, size_t max)
{
	size_t n = 0;
	while (n < max && s[0] && s[1]) {
		int b = hex_byte(s);
		if (b < 0)
			break;
		out[n++] = (unsigned char)b;
		s += 2;
		if (*s == ':')
			s++;
	}
	return n;
}

static int memmem_found(const unsigned char *hay, size_t hay_len, const unsigned char *needle,
			size_t needle_len)
{
	for (size_t i = 0; i + needle_len <= hay_len; i++)
		if (memcmp(hay + i, needle, needle_len) == 0)
			return 1;
	return 0;
}

/* ---- seal_encrypt / seal_decrypt ----------------------------------------- */

static void test_new_key(void)
{
	unsigned char a[SEAL_KEY_LEN], b[SEAL_KEY_LEN], zero[SEAL_KEY_LEN] = { 0 };

	CU_ASSERT_EQUAL(seal_new_key(a), CKR_OK);
	CU_ASSERT_EQUAL(seal_new_key(b), CKR_OK);
	CU_ASSERT(memcmp(a, b, SEAL_KEY_LEN) != 0);
	CU_ASSERT(memcmp(a, zero, SEAL_KEY_LEN) != 0);
	CU_ASSERT_EQUAL(seal_new_key(NULL), CKR_ARGUMENTS_BAD);
}

static void roundtrip(const unsigned char *key, const void *aad, size_t aad_len, size_t len)
{
	unsigned char *plain = malloc(len + 1), *sealed = NULL, *opened = NULL;
	size_t sealed_len = 0, opened_len = 99;

	for (size_t i = 0; i < len; i++)
		plain[i] = (unsigned char)(i * 31 + 7);
	CU_ASSERT_EQUAL_FATAL(seal_encrypt(key, aad, aad_len, len ? plain : NULL, len, &sealed,
					   &sealed_len),
			      CKR_OK);
	/* header, IV, padded ciphertext, tag */
	CU_ASSERT_EQUAL(sealed_len, 4 + 16 + (len / 16 + 1) * 16 + 32);
	CU_ASSERT_EQUAL(seal_decrypt(key, aad, aad_len, sealed, sealed_len, &opened, &opened_len),
			CKR_OK);
	CU_ASSERT_EQUAL(opened_len, len);
	CU_ASSERT_PTR_NOT_NULL(opened);
	if (opened && opened_len == len)
		CU_ASSERT(memcmp(opened, plain, len) == 0);
	seal_free(opened, opened_len);
	seal_free(sealed, sealed_len);
	free(plain);
}

static void test_roundtrip(void)
{
	unsigned char key[SEAL_KEY_LEN];
	static const char aad[] = "unique-id-0001";

	CU_ASSERT_EQUAL_FATAL(seal_new_key(key), CKR_OK);
	for (size_t len = 0; len <= 70; len++)
		roundtrip(key, aad, sizeof(aad) - 1, len);
	roundtrip(key, NULL, 0, 33);
	roundtrip(key, aad, sizeof(aad) - 1, 1000);
	roundtrip(key, aad, sizeof(aad) - 1, 100000);
}

static void test_mismatch(void)
{
	unsigned char key[SEAL_KEY_LEN], other[SEAL_KEY_LEN];
	unsigned char *sealed = NULL, *out = NULL;
	size_t sealed_len = 0, out_len = 0;
	static const char msg[] = "private key bytes";

	CU_ASSERT_EQUAL_FATAL(seal_new_key(key), CKR_OK);
	memcpy(other, key, SEAL_KEY_LEN);
	CU_ASSERT_EQUAL_FATAL(seal_encrypt(key, "id-1", 4, msg, sizeof(msg), &sealed, &sealed_len),
			      CKR_OK);
	/* the blob of object id-1 moved to id-2, or to an empty id */
	CU_ASSERT_EQUAL(seal_decrypt(key, "id-2", 4, sealed, sealed_len, &out, &out_len),
			CKR_DEVICE_ERROR);
	CU_ASSERT_EQUAL(seal_decrypt(key, "id-1x", 5, sealed, sealed_len, &out, &out_len),
			CKR_DEVICE_ERROR);
	CU_ASSERT_EQUAL(seal_decrypt(key, NULL, 0, sealed, sealed_len, &out, &out_len),
			CKR_DEVICE_ERROR);
	/* a different MAC half, then a different SM4 half */
	other[SEAL_KEY_LEN - 1] ^= 1;
	CU_ASSERT_EQUAL(seal_decrypt(other, "id-1", 4, sealed, sealed_len, &out, &out_len),
			CKR_DEVICE_ERROR);
	other[SEAL_KEY_LEN - 1] ^= 1;
	other[0] ^= 1;
	CU_ASSERT_EQUAL(seal_decrypt(other, "id-1", 4, sealed, sealed_len, &out, &out_len),
			CKR_DEVICE_ERROR);
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_EQUAL(seal_decrypt(key, "id-1", 4, sealed, sealed_len, &out, &out_len), CKR_OK);
	seal_free(out, out_len);
	seal_free(sealed, sealed_len);
}

static void test_seal_bitflips(void)
{
	unsigned char key[SEAL_KEY_LEN];
	unsigned char *sealed = NULL, *out = NULL;
	size_t sealed_len = 0, out_len = 0;
	unsigned undetected = 0;
	static const char msg[] = "0123456789abcdef0123456789abcdefXYZ";

	CU_ASSERT_EQUAL_FATAL(seal_new_key(key), CKR_OK);
	CU_ASSERT_EQUAL_FATAL(seal_encrypt(key, "aad", 3, msg, sizeof(msg), &sealed, &sealed_len),
			      CKR_OK);
	for (size_t bit = 0; bit < sealed_len * 8; bit++) {
		sealed[bit / 8] ^= (unsigned char)(1u << (bit % 8));
		if (seal_decrypt(key, "aad", 3, sealed, sealed_len, &out, &out_len) !=
		    CKR_DEVICE_ERROR) {
			undetected++;
			seal_free(out, out_len);
			out = NULL;
		}
		sealed[bit / 8] ^= (unsigned char)(1u << (bit % 8));
	}
	CU_ASSERT_EQUAL(undetected, 0);
	CU_ASSERT_EQUAL(seal_decrypt(key, "aad", 3, sealed, sealed_len, &out, &out_len), CKR_OK);
	seal_free(out, out_len);
	seal_free(sealed, sealed_len);
}

static void test_seal_truncations(void)
{
	unsigned char key[SEAL_KEY_LEN];
	unsigned char *sealed = NULL, *out = NULL, *longer;
	size_t sealed_len = 0, out_len = 0;
	unsigned accepted = 0;
	static const char msg[] = "a secret of forty bytes, more or less...";

	CU_ASSERT_EQUAL_FATAL(seal_new_key(key), CKR_OK);
	CU_ASSERT_EQUAL_FATAL(seal_encrypt(key, NULL, 0, msg, sizeof(msg), &sealed, &sealed_len),
			      CKR_OK);
	for (size_t len = 0; len < sealed_len; len++) {
		/* an exact-size copy, so ASan sees any read past the end */
		unsigned char *cut = malloc(len ? len : 1);
		memcpy(cut, sealed, len);
		if (seal_decrypt(key, NULL, 0, len ? cut : NULL, len, &out, &out_len) !=
		    CKR_DEVICE_ERROR)
			accepted++;
		free(cut);
	}
	CU_ASSERT_EQUAL(accepted, 0);
	longer = malloc(sealed_len + 16);
	memcpy(longer, sealed, sealed_len);
	memset(longer + sealed_len, 0, 16);
	CU_ASSERT_EQUAL(seal_decrypt(key, NULL, 0, longer, sealed_len + 1, &out, &out_len),
			CKR_DEVICE_ERROR);
	CU_ASSERT_EQUAL(seal_decrypt(key, NULL, 0, longer, sealed_len + 16, &out, &out_len),
			CKR_DEVICE_ERROR);
	free(longer);
	seal_free(sealed, sealed_len);
}

static void test_no_plaintext(void)
{
	unsigned char key[SEAL_KEY_LEN];
	unsigned char *a = NULL, *b = NULL;
	size_t a_len = 0, b_len = 0;
	unsigned char plain[256];

	/* every 8-byte window of the plaintext is distinctive */
	for (size_t i = 0; i < sizeof(plain); i++)
		plain[i] = (unsigned char)i;
	CU_ASSERT_EQUAL_FATAL(seal_new_key(key), CKR_OK);
	CU_ASSERT_EQUAL_FATAL(seal_encrypt(key, NULL, 0, plain, sizeof(plain), &a, &a_len), CKR_OK);
	CU_ASSERT_EQUAL_FATAL(seal_encrypt(key, NULL, 0, plain, sizeof(plain), &b, &b_len), CKR_OK);
	for (size_t i = 0; i + 8 <= sizeof(plain); i++)
		CU_ASSERT_FALSE(memmem_found(a, a_len, plain + i, 8));
	CU_ASSERT_FALSE(memmem_found(a, a_len, key, 8));
	CU_ASSERT_FALSE(memmem_found(a, a_len, key + 16, 8));
	/* random IV: the same plaintext seals differently */
	CU_ASSERT_EQUAL(a_len, b_len);
	CU_ASSERT(memcmp(a + 4, b + 4, 16) != 0);
	CU_ASSERT(memcmp(a + 20, b + 20, a_len - 20) != 0);
	seal_free(a, a_len);
	seal_free(b, b_len);
}

/* The library's sealed blob, checked and opened by the code here. */
static void test_seal_format(void)
{
	unsigned char key[SEAL_KEY_LEN], tag[32], alen[8], plain[64];
	unsigned char *sealed = NULL;
	size_t sealed_len = 0, ct_len;
	static const char msg[] = "format check";
	static const char aad[] = "CKA_UNIQUE_ID";

	CU_ASSERT_EQUAL_FATAL(seal_new_key(key), CKR_OK);
	CU_ASSERT_EQUAL_FATAL(
		seal_encrypt(key, aad, sizeof(aad) - 1, msg, sizeof(msg), &sealed, &sealed_len),
		CKR_OK);
	CU_ASSERT_FATAL(sealed_len == 4 + 16 + 16 + 32);
	CU_ASSERT(memcmp(sealed, "SKS\x01", 4) == 0);
	ct_len = sealed_len - 4 - 16 - 32;
	be64(alen, sizeof(aad) - 1);
	struct part parts[] = { { sealed, 4 },
				{ alen, 8 },
				{ sealed + 4, 16 },
				{ aad, sizeof(aad) - 1 },
				{ sealed + 20, ct_len } };
	hmac_sm3(key + 16, 32, parts, 5, tag);
	CU_ASSERT(memcmp(tag, sealed + 20 + ct_len, 32) == 0);
	CU_ASSERT_EQUAL(sm4_cbc(0, key, sealed + 4, sealed + 20, (int)ct_len, plain),
			(int)sizeof(msg));
	CU_ASSERT(memcmp(plain, msg, sizeof(msg)) == 0);
	seal_free(sealed, sealed_len);
}

/* ---- PIN wrapping -------------------------------------------------------- */

static void test_pin_roundtrip(void)
{
	unsigned char key[SEAL_KEY_LEN], out[SEAL_KEY_LEN];
	unsigned char *blob = NULL, *blob2 = NULL;
	size_t blob_len = 0, blob2_len = 0;
	CK_UTF8CHAR long_pin[1000];
	static const CK_UTF8CHAR nul_pin[] = { '1', 0, '2' };

	CU_ASSERT_EQUAL_FATAL(seal_new_key(key), CKR_OK);
	CU_ASSERT_EQUAL_FATAL(seal_pin_wrap(key, pin, PIN_LEN, 1000, &blob, &blob_len), CKR_OK);
	CU_ASSERT_EQUAL(blob_len, PIN_BLOB_LEN);
	memset(out, 0, sizeof(out));
	CU_ASSERT_EQUAL(seal_pin_unwrap(blob, blob_len, pin, PIN_LEN, out), CKR_OK);
	CU_ASSERT(memcmp(out, key, SEAL_KEY_LEN) == 0);
	/* wrong PINs: another, a prefix, a longer one, an empty one */
	CU_ASSERT_EQUAL(seal_pin_unwrap(blob, blob_len, (const CK_UTF8CHAR *)"123457", 6, out),
			CKR_PIN_INCORRECT);
	CU_ASSERT_EQUAL(seal_pin_unwrap(blob, blob_len, pin, PIN_LEN - 1, out), CKR_PIN_INCORRECT);
	CU_ASSERT_EQUAL(seal_pin_unwrap(blob, blob_len, (const CK_UTF8CHAR *)"1234567", 7, out),
			CKR_PIN_INCORRECT);
	CU_ASSERT_EQUAL(seal_pin_unwrap(blob, blob_len, NULL, 0, out), CKR_PIN_INCORRECT);

	/* same key and PIN twice: fresh salt and IV each time */
	CU_ASSERT_EQUAL_FATAL(seal_pin_wrap(key, pin, PIN_LEN, 1000, &blob2, &blob2_len), CKR_OK);
	CU_ASSERT(memcmp(blob + 9, blob2 + 9, 16) != 0);
	CU_ASSERT_FALSE(memmem_found(blob, blob_len, key, 8));
	CU_ASSERT_FALSE(memmem_found(blob, blob_len, key + 24, 8));
	seal_free(blob2, blob2_len);
	seal_free(blob, blob_len);

	/* PINs are bytes: an embedded NUL counts, empty and long PINs work */
	CU_ASSERT_EQUAL_FATAL(seal_pin_wrap(key, nul_pin, 3, 10, &blob, &blob_len), CKR_OK);
	CU_ASSERT_EQUAL(seal_pin_unwrap(blob, blob_len, nul_pin, 1, out), CKR_PIN_INCORRECT);
	CU_ASSERT_EQUAL(seal_pin_unwrap(blob, blob_len, nul_pin, 3, out), CKR_OK);
	seal_free(blob, blob_len);
	CU_ASSERT_EQUAL_FATAL(seal_pin_wrap(key, NULL, 0, 10, &blob, &blob_len), CKR_OK);
	CU_ASSERT_EQUAL(seal_pin_unwrap(blob, blob_len, pin, PIN_LEN, out), CKR_PIN_INCORRECT);
	CU_ASSERT_EQUAL(seal_pin_unwrap(blob, blob_len, (const CK_UTF8CHAR *)"", 0, out), CKR_OK);
	seal_free(blob, blob_len);
	memset(long_pin, 'x', sizeof(long_pin));
	CU_ASSERT_EQUAL_FATAL(seal_pin_wrap(key, long_pin, sizeof(long_pin), 10, &blob, &blob_len),
			      CKR_OK);
	memset(out, 0, sizeof(out));
	CU_ASSERT_EQUAL(seal_pin_unwrap(blob, blob_len, long_pin, sizeof(long_pin), out), CKR_OK);
	CU_ASSERT(memcmp(out, key, SEAL_KEY_LEN) == 0);
	seal_free(blob, blob_len);
}

static void test_pin_args(void)
{
	unsigned char key[SEAL_KEY_LEN], out[SEAL_KEY_LEN];
	unsigned char *blob = NULL;
	size_t blob_len = 0;

	CU_ASSERT_EQUAL_FATAL(seal_new_key(key), CKR_OK);
	CU_ASSERT_EQUAL(seal_pin_wrap(key, pin, PIN_LEN, 0, &blob, &blob_len), CKR_ARGUMENTS_BAD);
	CU_ASSERT_EQUAL(seal_pin_wrap(key, pin, PIN_LEN, 0xffffffffu, &blob, &blob_len),
			CKR_ARGUMENTS_BAD);
	CU_ASSERT_EQUAL(seal_pin_wrap(key, NULL, 3, 10, &blob, &blob_len), CKR_ARGUMENTS_BAD);
	CU_ASSERT_EQUAL(seal_pin_wrap(NULL, pin, PIN_LEN, 10, &blob, &blob_len), CKR_ARGUMENTS_BAD);
	CU_ASSERT_PTR_NULL(blob);
	CU_ASSERT_EQUAL(seal_pin_unwrap(NULL, 0, pin, PIN_LEN, out), CKR_DEVICE_ERROR);
	CU_ASSERT_EQUAL(seal_pin_unwrap(NULL, 5, pin, PIN_LEN, out), CKR_ARGUMENTS_BAD);
}

static void test_pin_bitflips(void)
{
	unsigned char key[SEAL_KEY_LEN], out[SEAL_KEY_LEN];
	unsigned char *blob = NULL;
	size_t blob_len = 0;
	unsigned undetected = 0, other_rv = 0;

	CU_ASSERT_EQUAL_FATAL(seal_new_key(key), CKR_OK);
	/* one iteration keeps 1,000+ derivations cheap; flipped iteration bits
	 * then ask for up to 2^19 iterations, more are refused outright */
	CU_ASSERT_EQUAL_FATAL(seal_pin_wrap(key, pin, PIN_LEN, 1, &blob, &blob_len), CKR_OK);
	for (size_t bit = 0; bit < blob_len * 8; bit++) {
		CK_RV rv;
		blob[bit / 8] ^= (unsigned char)(1u << (bit % 8));
		rv = seal_pin_unwrap(blob, blob_len, pin, PIN_LEN, out);
		if (rv == CKR_OK)
			undetected++;
		else if (rv != CKR_PIN_INCORRECT && rv != CKR_DEVICE_ERROR)
			other_rv++;
		/* a changed header is malformed, not a wrong PIN */
		if (bit < 32 || (bit >= 64 && bit < 72))
			CU_ASSERT_EQUAL(rv, CKR_DEVICE_ERROR);
		blob[bit / 8] ^= (unsigned char)(1u << (bit % 8));
	}
	CU_ASSERT_EQUAL(undetected, 0);
	CU_ASSERT_EQUAL(other_rv, 0);
	CU_ASSERT_EQUAL(seal_pin_unwrap(blob, blob_len, pin, PIN_LEN, out), CKR_OK);
	seal_free(blob, blob_len);
}

static void test_pin_truncations(void)
{
	unsigned char key[SEAL_KEY_LEN], out[SEAL_KEY_LEN];
	unsigned char *blob = NULL, *longer;
	size_t blob_len = 0;
	unsigned accepted = 0;

	CU_ASSERT_EQUAL_FATAL(seal_new_key(key), CKR_OK);
	CU_ASSERT_EQUAL_FATAL(seal_pin_wrap(key, pin, PIN_LEN, 1, &blob, &blob_len), CKR_OK);
	for (size_t len = 0; len < blob_len; len++) {
		unsigned char *cut = malloc(len ? len : 1);
		memcpy(cut, blob, len);
		if (seal_pin_unwrap(len ? cut : NULL, len, pin, PIN_LEN, out) != CKR_DEVICE_ERROR)
			accepted++;
		free(cut);
	}
	CU_ASSERT_EQUAL(accepted, 0);
	longer = calloc(1, blob_len + 16);
	memcpy(longer, blob, blob_len);
	CU_ASSERT_EQUAL(seal_pin_unwrap(longer, blob_len + 1, pin, PIN_LEN, out), CKR_DEVICE_ERROR);
	CU_ASSERT_EQUAL(seal_pin_unwrap(longer, blob_len + 16, pin, PIN_LEN, out),
			CKR_DEVICE_ERROR);
	/* a salt length byte pointing past the end */
	longer[8] = 255;
	CU_ASSERT_EQUAL(seal_pin_unwrap(longer, blob_len, pin, PIN_LEN, out), CKR_DEVICE_ERROR);
	free(longer);
	seal_free(blob, blob_len);
}

/* Our hand-written PBKDF2-HMAC-SM3 against fixed vectors from
 * `openssl kdf ... PBKDF2`, and against the CLI live for a random salt. */
static void test_pbkdf2_known_answer(void)
{
	static const unsigned char salt[16] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
						0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };
	static const struct {
		unsigned iter;
		const char *hex;
	} kat[] = {
		{ 1, "29:DD:8D:A6:D4:E5:F4:CA:84:35:B3:13:F6:2A:A1:59:9E:2D:C8:C0:14:5E:18:A1:"
		     "73:49:B6:F2:7D:41:4D:D3:B7:91:33:A5:EA:08:94:74:D0:BB:2F:45:17:54:D4:29" },
		{ 1000, "5C:37:6E:B9:C5:53:A7:B4:99:9B:4E:7D:81:9B:6F:37:12:5A:E4:3D:D1:48:2D:CB:"
			"7B:A1:38:D9:56:60:F6:47:B9:C1:B7:5B:F1:77:43:56:63:CD:6B:80:06:35:D2:F6" },
	};
	unsigned char want[48], got[48], rsalt[16];
	char cmd[512], line[512];
	FILE *p;

	for (size_t i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
		CU_ASSERT_FATAL(parse_colon_hex(kat[i].hex, want, 48) == 48);
		pbkdf2_sm3("1234", 4, salt, 16, kat[i].iter, got, 48);
		CU_ASSERT(memcmp(got, want, 48) == 0);
		/* and the library's own primitive agrees */
		CU_ASSERT_FATAL(PKCS5_PBKDF2_HMAC("1234", 4, salt, 16, (int)kat[i].iter, EVP_sm3(),
						  48, got) == 1);
		CU_ASSERT(memcmp(got, want, 48) == 0);
	}

	CU_ASSERT_FATAL(RAND_bytes(rsalt, sizeof(rsalt)) == 1);
	int n = snprintf(cmd, sizeof(cmd),
			 "openssl kdf -keylen 48 -kdfopt digest:SM3 -kdfopt pass:sealkit "
			 "-kdfopt hexsalt:");
	for (size_t i = 0; i < sizeof(rsalt); i++)
		n += snprintf(cmd + n, sizeof(cmd) - (size_t)n, "%02x", rsalt[i]);
	snprintf(cmd + n, sizeof(cmd) - (size_t)n, " -kdfopt iter:2048 PBKDF2 2>/dev/null");
	p = popen(cmd, "r");
	if (p && fgets(line, sizeof(line), p) && parse_colon_hex(line, want, 48) == 48) {
		pbkdf2_sm3("sealkit", 7, rsalt, 16, 2048, got, 48);
		CU_ASSERT(memcmp(got, want, 48) == 0);
	} else {
		printf("# openssl CLI not usable; fixed vectors only\n");
	}
	if (p)
		pclose(p);
}

/* The PIN key schedule, written out: one PBKDF2 block, expanded with
 * HMAC-SM3 into the SM4 key and the HMAC key. */
static void pin_kek(const void *pin_, size_t pin_len, const unsigned char *salt, unsigned iter,
		    unsigned char kek[48])
{
	unsigned char master[32], enc[32];
	pbkdf2_sm3(pin_, pin_len, salt, 16, iter, master, 32);
	struct part e = { "sealkit pin sm4", 15 };
	struct part m = { "sealkit pin mac", 15 };
	hmac_sm3(master, 32, &e, 1, enc);
	hmac_sm3(master, 32, &m, 1, kek + 16);
	memcpy(kek, enc, 16);
}

/* A PIN blob from the library, opened by the code here. */
static void test_pin_blob_format(void)
{
	unsigned char key[SEAL_KEY_LEN], kek[48], tag[32], alen[8] = { 0 }, plain[80];
	unsigned char *blob = NULL;
	size_t blob_len = 0;
	unsigned iter;

	CU_ASSERT_EQUAL_FATAL(seal_new_key(key), CKR_OK);
	CU_ASSERT_EQUAL_FATAL(seal_pin_wrap(key, pin, PIN_LEN, 1234, &blob, &blob_len), CKR_OK);
	CU_ASSERT_FATAL(blob_len == PIN_BLOB_LEN);
	CU_ASSERT(memcmp(blob, "SKP\x01", 4) == 0);
	iter = (unsigned)blob[4] << 24 | (unsigned)blob[5] << 16 | (unsigned)blob[6] << 8 | blob[7];
	CU_ASSERT_EQUAL(iter, 1234);
	CU_ASSERT_EQUAL_FATAL(blob[8], 16);
	pin_kek(pin, PIN_LEN, blob + 9, iter, kek);
	struct part parts[] = { { blob, 25 }, { alen, 8 }, { blob + 25, 16 }, { blob + 41, 64 } };
	hmac_sm3(kek + 16, 32, parts, 4, tag);
	CU_ASSERT(memcmp(tag, blob + 105, 32) == 0);
	CU_ASSERT_EQUAL(sm4_cbc(0, kek, blob + 25, blob + 41, 64, plain), SEAL_KEY_LEN);
	CU_ASSERT(memcmp(plain, key, SEAL_KEY_LEN) == 0);
	seal_free(blob, blob_len);
}

/* A PIN blob built here with fixed salt and IV, opened by the library. */
static void test_pin_blob_built_here(void)
{
	unsigned char blob[PIN_BLOB_LEN], kek[48], key[SEAL_KEY_LEN], out[SEAL_KEY_LEN];
	unsigned char alen[8] = { 0 };

	for (int i = 0; i < SEAL_KEY_LEN; i++)
		key[i] = (unsigned char)(0xa0 + i);
	memcpy(blob, "SKP\x01\x00\x00\x01\x00\x10", 9); /* 256 iterations, 16-byte salt */
	for (int i = 0; i < 16; i++) {
		blob[9 + i] = (unsigned char)(0x10 + i);  /* salt */
		blob[25 + i] = (unsigned char)(0x70 + i); /* IV */
	}
	pin_kek(pin, PIN_LEN, blob + 9, 256, kek);
	CU_ASSERT_FATAL(sm4_cbc(1, kek, blob + 25, key, SEAL_KEY_LEN, blob + 41) == 64);
	struct part parts[] = { { blob, 25 }, { alen, 8 }, { blob + 25, 16 }, { blob + 41, 64 } };
	hmac_sm3(kek + 16, 32, parts, 4, blob + 105);
	memset(out, 0, sizeof(out));
	CU_ASSERT_EQUAL(seal_pin_unwrap(blob, sizeof(blob), pin, PIN_LEN, out), CKR_OK);
	CU_ASSERT(memcmp(out, key, SEAL_KEY_LEN) == 0);
	CU_ASSERT_EQUAL(seal_pin_unwrap(blob, sizeof(blob), (const CK_UTF8CHAR *)"000000", 6, out),
			CKR_PIN_INCORRECT);
}

void register_tests(void)
{
	CU_pSuite s = harness_suite("seal", NULL, NULL);
	harness_test(s, "new key is random", test_new_key);
	harness_test(s, "seal round trips, 0..70, 1000, 100000 bytes", test_roundtrip);
	harness_test(s, "aad or key mismatch rejected", test_mismatch);
	harness_test(s, "every bit flip of a sealed blob rejected", test_seal_bitflips);
	harness_test(s, "every truncation of a sealed blob rejected", test_seal_truncations);
	harness_test(s, "no plaintext or key in a sealed blob; fresh IV", test_no_plaintext);
	harness_test(s, "sealed blob layout (checked independently)", test_seal_format);

	s = harness_suite("pin", NULL, NULL);
	harness_test(s, "PIN wrap round trips, wrong PINs", test_pin_roundtrip);
	harness_test(s, "PIN wrap argument checks", test_pin_args);
	harness_test(s, "every bit flip of a PIN blob rejected", test_pin_bitflips);
	harness_test(s, "every truncation of a PIN blob rejected", test_pin_truncations);
	harness_test(s, "PBKDF2-HMAC-SM3 known answers", test_pbkdf2_known_answer);
	harness_test(s, "PIN blob layout (opened independently)", test_pin_blob_format);
	harness_test(s, "PIN blob built independently opens", test_pin_blob_built_here);
}
