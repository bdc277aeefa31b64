/* Encryption at rest for a soft token.
 *
 * A random token key (SM4 key + HMAC-SM3 key) seals every secret attribute
 * blob: SM4-CBC then HMAC-SM3 over header, IV, associated data and ciphertext
 * (encrypt-then-MAC). The token key itself is sealed the same way under a key
 * derived from a PIN with PBKDF2-HMAC-SM3, once for the SO PIN and once for
 * the user PIN: changing a PIN re-wraps one key, not every object. A wrong
 * PIN shows up as a MAC mismatch, compared in constant time. */
#ifndef SEALKIT_SEAL_H
#define SEALKIT_SEAL_H

#include <stddef.h>
#include <stdint.h>
#include "pkcs11x.h"

#define SEAL_KEY_LEN 48 /* 16 bytes SM4 key, 32 bytes HMAC-SM3 key */

CK_RV seal_new_key(unsigned char key[SEAL_KEY_LEN]);

/* Wraps the token key under a PIN; the blob records salt and iteration count. */
CK_RV seal_pin_wrap(const unsigned char key[SEAL_KEY_LEN], const CK_UTF8CHAR *pin,
		    CK_ULONG pin_len, uint32_t iterations, unsigned char **blob, size_t *blob_len);
/* CKR_PIN_INCORRECT when the PIN is wrong; CKR_DEVICE_ERROR when the blob is
 * malformed. */
CK_RV seal_pin_unwrap(const unsigned char *blob, size_t blob_len, const CK_UTF8CHAR *pin,
		      CK_ULONG pin_len, unsigned char key[SEAL_KEY_LEN]);

/* Seals / opens a blob bound to `aad` (the object's CKA_UNIQUE_ID, so a blob
 * cannot be moved to another object). seal_open gives CKR_DEVICE_ERROR when
 * the blob was tampered with. Outputs are malloc'd; free with seal_free(). */
CK_RV seal_encrypt(const unsigned char key[SEAL_KEY_LEN], const void *aad, size_t aad_len,
		   const void *plain, size_t plain_len, unsigned char **out, size_t *out_len);
CK_RV seal_decrypt(const unsigned char key[SEAL_KEY_LEN], const void *aad, size_t aad_len,
		   const void *sealed, size_t sealed_len, unsigned char **out, size_t *out_len);
void seal_free(void *p, size_t len);

#endif
