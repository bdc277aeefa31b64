/* Encryption at rest: SM4-CBC then HMAC-SM3 (encrypt-then-MAC), and the
 * token key wrapped under PBKDF2-HMAC-SM3 of a PIN.
 *
 * Sealed blob (version 1):
 *   "SKS" 0x01 | IV (16) | SM4-CBC ciphertext, PKCS#7 padded (16n, n >= 1) | tag (32)
 * PIN blob (version 1):
 *   "SKP" 0x01 | iterations (u32 BE) | salt length (u8) | salt | IV | ciphertext (64) | tag
 * The tag is HMAC-SM3 over
 *   header | aad length (u64 BE) | IV | aad | ciphertext
 * where the header is everything before the IV. Binding the aad length keeps
 * the aad/ciphertext boundary unambiguous; binding the header keeps the
 * iteration count and salt from being swapped.
 *
 * A PIN gives one 32-byte PBKDF2-HMAC-SM3 block, expanded with HMAC-SM3 into
 * the 16-byte SM4 and 32-byte HMAC keys. Asking PBKDF2 for 48 bytes directly
 * would cost us two blocks while a PIN guesser, who can test the SM4 half
 * alone against the CBC padding, pays for one. */
#include "seal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#define ENC_KEY_LEN 16
#define MAC_KEY_LEN 32
#define IV_LEN 16
#define BLOCK_LEN 16
#define TAG_LEN 32
#define SEAL_HDR_LEN 4
#define PIN_SALT_LEN 16
#define PIN_SALT_MIN 16
#define PIN_SALT_MAX 64
#define PIN_FIXED_LEN 9 /* magic, iterations, salt length */
/* The iteration count is not authenticated before the key is derived, so a
 * tampered blob could ask for billions of iterations; about a second here. */
#define PIN_MAX_ITERATIONS 1000000u

static const unsigned char seal_magic[SEAL_HDR_LEN] = { 'S', 'K', 'S', 1 };
static const unsigned char pin_magic[4] = { 'S', 'K', 'P', 1 };

static void put_be64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (unsigned char)v;
		v >>= 8;
	}
}

static CK_RV compute_tag(const unsigned char mac_key[MAC_KEY_LEN], const unsigned char *hdr,
			 size_t hdr_len, const unsigned char *iv, const void *aad, size_t aad_len,
			 const unsigned char *ct, size_t ct_len, unsigned char tag[TAG_LEN])
{
	CK_RV rv = CKR_FUNCTION_FAILED;
	EVP_MAC *mac = NULL;
	EVP_MAC_CTX *ctx = NULL;
	unsigned char alen[8];
	size_t tag_len = 0;
	char digest[] = "SM3";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
		OSSL_PARAM_construct_end(),
	};

	put_be64(alen, aad_len);
	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (!mac || !(ctx = EVP_MAC_CTX_new(mac)))
		goto out;
	if (!EVP_MAC_init(ctx, mac_key, MAC_KEY_LEN, params) ||
	    !EVP_MAC_update(ctx, hdr, hdr_len) || !EVP_MAC_update(ctx, alen, sizeof(alen)) ||
	    !EVP_MAC_update(ctx, iv, IV_LEN) ||
	    (aad_len && !EVP_MAC_update(ctx, aad, aad_len)) ||
	    !EVP_MAC_update(ctx, ct, ct_len) || !EVP_MAC_final(ctx, tag, &tag_len, TAG_LEN) ||
	    tag_len != TAG_LEN)
		goto out;
	rv = CKR_OK;
out:
	EVP_MAC_CTX_free(ctx); /* wipes the keyed state */
	EVP_MAC_free(mac);
	return rv;
}

/* SM4-CBC one-shot; `enc` 1 to encrypt, 0 to decrypt (padding checked). */
static CK_RV sm4_cbc(int enc, const unsigned char key[ENC_KEY_LEN], const unsigned char *iv,
		     const unsigned char *in, size_t in_len, unsigned char *out, size_t *out_len)
{
	CK_RV rv = CKR_FUNCTION_FAILED;
	EVP_CIPHER_CTX *ctx = NULL;
	int n1 = 0, n2 = 0;

	if (in_len > INT_MAX - BLOCK_LEN)
		return CKR_DATA_LEN_RANGE;
	if (!(ctx = EVP_CIPHER_CTX_new()))
		return CKR_HOST_MEMORY;
	if (!EVP_CipherInit_ex(ctx, EVP_sm4_cbc(), NULL, key, iv, enc) ||
	    !EVP_CipherUpdate(ctx, out, &n1, in, (int)in_len) ||
	    !EVP_CipherFinal_ex(ctx, out + n1, &n2))
		goto out;
	*out_len = (size_t)n1 + (size_t)n2;
	rv = CKR_OK;
out:
	EVP_CIPHER_CTX_free(ctx); /* wipes the key schedule */
	return rv;
}

/* Writes hdr | IV | ciphertext | tag into a new buffer. */
static CK_RV seal_with(const unsigned char *key, const unsigned char *hdr, size_t hdr_len,
		       const void *aad, size_t aad_len, const void *plain, size_t plain_len,
		       unsigned char **out, size_t *out_len)
{
	CK_RV rv;
	unsigned char *buf = NULL, *iv, *ct;
	size_t ct_len = 0, cap;

	if (plain_len > SIZE_MAX / 2 - hdr_len - IV_LEN - BLOCK_LEN - TAG_LEN)
		return CKR_DATA_LEN_RANGE;
	cap = hdr_len + IV_LEN + (plain_len / BLOCK_LEN + 1) * BLOCK_LEN + TAG_LEN;
	if (!(buf = OPENSSL_malloc(cap)))
		return CKR_HOST_MEMORY;
	memcpy(buf, hdr, hdr_len);
	iv = buf + hdr_len;
	ct = iv + IV_LEN;
	if (RAND_bytes(iv, IV_LEN) != 1) {
		rv = CKR_FUNCTION_FAILED;
		goto out;
	}
	rv = sm4_cbc(1, key, iv, plain, plain_len, ct, &ct_len);
	if (rv != CKR_OK)
		goto out;
	if (hdr_len + IV_LEN + ct_len + TAG_LEN != cap) {
		rv = CKR_GENERAL_ERROR;
		goto out;
	}
	rv = compute_tag(key + ENC_KEY_LEN, hdr, hdr_len, iv, aad, aad_len, ct, ct_len,
			 ct + ct_len);
	if (rv != CKR_OK)
		goto out;
	*out = buf;
	*out_len = cap;
	buf = NULL;
out:
	OPENSSL_clear_free(buf, cap);
	return rv;
}

/* Checks and opens hdr_len | IV | ciphertext | tag (the header was checked
 * by the caller). CKR_DEVICE_ERROR on any mismatch; a tag mismatch is
 * reported as `bad_tag` so the PIN path can say CKR_PIN_INCORRECT. */
static CK_RV open_with(const unsigned char *key, const unsigned char *blob, size_t blob_len,
		       size_t hdr_len, const void *aad, size_t aad_len, CK_RV bad_tag,
		       unsigned char **out, size_t *out_len)
{
	CK_RV rv;
	unsigned char tag[TAG_LEN];
	unsigned char *plain = NULL;
	size_t ct_len, plain_len = 0;
	const unsigned char *iv, *ct;

	if (blob_len < hdr_len + IV_LEN + BLOCK_LEN + TAG_LEN)
		return CKR_DEVICE_ERROR;
	ct_len = blob_len - hdr_len - IV_LEN - TAG_LEN;
	if (ct_len % BLOCK_LEN)
		return CKR_DEVICE_ERROR;
	iv = blob + hdr_len;
	ct = iv + IV_LEN;
	rv = compute_tag(key + ENC_KEY_LEN, blob, hdr_len, iv, aad, aad_len, ct, ct_len, tag);
	if (rv != CKR_OK)
		goto out;
	if (CRYPTO_memcmp(tag, ct + ct_len, TAG_LEN) != 0) {
		rv = bad_tag;
		goto out;
	}
	/* malloc(0) may give NULL; callers expect a buffer for empty plaintexts */
	if (!(plain = OPENSSL_malloc(ct_len))) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	rv = sm4_cbc(0, key, iv, ct, ct_len, plain, &plain_len);
	if (rv != CKR_OK) {
		/* bad padding under a valid tag: we never wrote that */
		rv = CKR_DEVICE_ERROR;
		goto out;
	}
	*out = plain;
	*out_len = plain_len;
	plain = NULL;
out:
	OPENSSL_clear_free(plain, ct_len);
	return rv;
}

CK_RV seal_new_key(unsigned char key[SEAL_KEY_LEN])
{
	if (!key)
		return CKR_ARGUMENTS_BAD;
	return RAND_priv_bytes(key, SEAL_KEY_LEN) == 1 ? CKR_OK : CKR_FUNCTION_FAILED;
}

CK_RV seal_encrypt(const unsigned char key[SEAL_KEY_LEN], const void *aad, size_t aad_len,
		   const void *plain, size_t plain_len, unsigned char **out, size_t *out_len)
{
	if (!key || !out || !out_len || (!aad && aad_len) || (!plain && plain_len))
		return CKR_ARGUMENTS_BAD;
	return seal_with(key, seal_magic, SEAL_HDR_LEN, aad, aad_len, plain, plain_len, out,
			 out_len);
}

CK_RV seal_decrypt(const unsigned char key[SEAL_KEY_LEN], const void *aad, size_t aad_len,
		   const void *sealed, size_t sealed_len, unsigned char **out, size_t *out_len)
{
	if (!key || !out || !out_len || (!aad && aad_len) || (!sealed && sealed_len))
		return CKR_ARGUMENTS_BAD;
	if (sealed_len < SEAL_HDR_LEN || memcmp(sealed, seal_magic, SEAL_HDR_LEN) != 0)
		return CKR_DEVICE_ERROR;
	return open_with(key, sealed, sealed_len, SEAL_HDR_LEN, aad, aad_len, CKR_DEVICE_ERROR,
			 out, out_len);
}

/* HMAC-SM3(key, label) in one go. */
static CK_RV hmac_label(const unsigned char *key, size_t key_len, const char *label,
			unsigned char out[32])
{
	unsigned int len = 0;
	if (!HMAC(EVP_sm3(), key, (int)key_len, (const unsigned char *)label, strlen(label), out,
		  &len) ||
	    len != 32)
		return CKR_FUNCTION_FAILED;
	return CKR_OK;
}

static CK_RV pin_derive(const CK_UTF8CHAR *pin, CK_ULONG pin_len, const unsigned char *salt,
			size_t salt_len, uint32_t iterations, unsigned char kek[SEAL_KEY_LEN])
{
	unsigned char master[32], enc[32];
	CK_RV rv = CKR_FUNCTION_FAILED;
	if (pin_len > INT_MAX)
		return CKR_PIN_LEN_RANGE;
	/* PKCS5_PBKDF2_HMAC takes a NULL password as "", but be explicit */
	if (!PKCS5_PBKDF2_HMAC(pin_len ? (const char *)pin : "", (int)pin_len, salt,
			       (int)salt_len, (int)iterations, EVP_sm3(), sizeof master, master))
		goto out;
	if ((rv = hmac_label(master, sizeof master, "sealkit pin sm4", enc)) != CKR_OK ||
	    (rv = hmac_label(master, sizeof master, "sealkit pin mac", kek + ENC_KEY_LEN)) != CKR_OK)
		goto out;
	memcpy(kek, enc, ENC_KEY_LEN);
out:
	OPENSSL_cleanse(master, sizeof master);
	OPENSSL_cleanse(enc, sizeof enc);
	return rv;
}

CK_RV seal_pin_wrap(const unsigned char key[SEAL_KEY_LEN], const CK_UTF8CHAR *pin,
		    CK_ULONG pin_len, uint32_t iterations, unsigned char **blob, size_t *blob_len)
{
	CK_RV rv;
	unsigned char hdr[PIN_FIXED_LEN + PIN_SALT_LEN];
	unsigned char kek[SEAL_KEY_LEN];

	if (!key || (!pin && pin_len) || !blob || !blob_len || iterations == 0 ||
	    iterations > PIN_MAX_ITERATIONS)
		return CKR_ARGUMENTS_BAD;
	memcpy(hdr, pin_magic, 4);
	hdr[4] = (unsigned char)(iterations >> 24);
	hdr[5] = (unsigned char)(iterations >> 16);
	hdr[6] = (unsigned char)(iterations >> 8);
	hdr[7] = (unsigned char)iterations;
	hdr[8] = PIN_SALT_LEN;
	if (RAND_bytes(hdr + PIN_FIXED_LEN, PIN_SALT_LEN) != 1)
		return CKR_FUNCTION_FAILED;
	rv = pin_derive(pin, pin_len, hdr + PIN_FIXED_LEN, PIN_SALT_LEN, iterations, kek);
	if (rv != CKR_OK)
		goto out;
	rv = seal_with(kek, hdr, sizeof(hdr), NULL, 0, key, SEAL_KEY_LEN, blob, blob_len);
out:
	OPENSSL_cleanse(kek, sizeof(kek));
	return rv;
}

CK_RV seal_pin_unwrap(const unsigned char *blob, size_t blob_len, const CK_UTF8CHAR *pin,
		      CK_ULONG pin_len, unsigned char key[SEAL_KEY_LEN])
{
	CK_RV rv;
	unsigned char kek[SEAL_KEY_LEN];
	unsigned char *plain = NULL;
	size_t plain_len = 0, salt_len, hdr_len;
	uint32_t iterations;

	if ((!blob && blob_len) || (!pin && pin_len) || !key)
		return CKR_ARGUMENTS_BAD;
	if (blob_len < PIN_FIXED_LEN || memcmp(blob, pin_magic, 4) != 0)
		return CKR_DEVICE_ERROR;
	iterations = (uint32_t)blob[4] << 24 | (uint32_t)blob[5] << 16 | (uint32_t)blob[6] << 8 |
		     blob[7];
	salt_len = blob[8];
	hdr_len = PIN_FIXED_LEN + salt_len;
	/* the wrapped key is exactly one padded 48-byte plaintext */
	if (iterations == 0 || iterations > PIN_MAX_ITERATIONS || salt_len < PIN_SALT_MIN ||
	    salt_len > PIN_SALT_MAX ||
	    blob_len != hdr_len + IV_LEN + SEAL_KEY_LEN + BLOCK_LEN + TAG_LEN)
		return CKR_DEVICE_ERROR;
	rv = pin_derive(pin, pin_len, blob + PIN_FIXED_LEN, salt_len, iterations, kek);
	if (rv != CKR_OK)
		goto out;
	rv = open_with(kek, blob, blob_len, hdr_len, NULL, 0, CKR_PIN_INCORRECT, &plain,
		       &plain_len);
	if (rv != CKR_OK)
		goto out;
	if (plain_len != SEAL_KEY_LEN) {
		rv = CKR_DEVICE_ERROR;
		goto out;
	}
	memcpy(key, plain, SEAL_KEY_LEN);
out:
	if (plain)
		OPENSSL_clear_free(plain, plain_len);
	OPENSSL_cleanse(kek, sizeof(kek));
	return rv;
}

void seal_free(void *p, size_t len)
{
	OPENSSL_clear_free(p, len);
}
