/* The crypto layer: OpenSSL 3 glue behind every mechanism of the token.
 *
 * The session layer owns the PKCS#11 state machine (one active operation per
 * kind, termination on error, key usage flags, CKA_ALLOWED_MECHANISMS, login).
 * The crypto layer owns everything about the mechanism itself: parameters,
 * key types and sizes, the computation, and the output sizes.
 *
 * Output convention for every function that writes out/out_len, exactly as
 * PKCS#11 wants it, so the session layer can pass the caller's buffer through:
 *   out == NULL          -> *out_len = size needed (an upper bound is allowed
 *                           where the spec allows it), CKR_OK, no state change;
 *   *out_len too small    -> *out_len = size needed, CKR_BUFFER_TOO_SMALL, no
 *                           state change (the caller may retry);
 *   otherwise            -> output written, *out_len = bytes written.
 */
#ifndef SEALKIT_CRYPTO_H
#define SEALKIT_CRYPTO_H

#include <stdbool.h>
#include "pkcs11x.h"
#include "object.h"

typedef enum op_kind {
	OP_ENCRYPT,
	OP_DECRYPT,
	OP_DIGEST,
	OP_SIGN,
	OP_VERIFY,
	OP_SIGN_RECOVER,
	OP_VERIFY_RECOVER,
	OP_KINDS
} op_kind;

typedef struct crypto_op crypto_op;

/* Process-wide setup (one OSSL_LIB_CTX, fetched algorithms) and teardown. */
CK_RV crypto_init(void);
void crypto_fini(void);

/* Starts an operation. Checks the mechanism supports `kind`
 * (CKR_MECHANISM_INVALID), its parameter (CKR_MECHANISM_PARAM_INVALID), the
 * key's type (CKR_KEY_TYPE_INCONSISTENT) and size (CKR_KEY_SIZE_RANGE).
 * `key` is NULL for digests; the operation takes its own reference. */
CK_RV crypto_op_new(op_kind kind, const CK_MECHANISM *mech, sk_object *key, crypto_op **out);
void crypto_op_free(crypto_op *op);

/* Single-part C_Encrypt / C_Decrypt / C_Digest / C_Sign / C_SignRecover /
 * C_VerifyRecover (for verify-recover `in` is the signature). */
CK_RV crypto_op_oneshot(crypto_op *op, const CK_BYTE *in, CK_ULONG in_len, CK_BYTE *out,
			CK_ULONG *out_len);
/* Multi-part update. Digest, sign and verify pass out == out_len == NULL.
 * Only called when crypto_op_multipart() is true: the session layer answers
 * C_*Update on a single-part mechanism itself. */
CK_RV crypto_op_update(crypto_op *op, const CK_BYTE *in, CK_ULONG in_len, CK_BYTE *out,
		       CK_ULONG *out_len);
CK_RV crypto_op_final(crypto_op *op, CK_BYTE *out, CK_ULONG *out_len);
/* True when the mechanism supports C_*Update/C_*Final. */
bool crypto_op_multipart(const crypto_op *op);
/* C_Verify (single part) and C_VerifyFinal: CKR_OK, CKR_SIGNATURE_INVALID or
 * CKR_SIGNATURE_LEN_RANGE. */
CK_RV crypto_op_verify(crypto_op *op, const CK_BYTE *data, CK_ULONG data_len, const CK_BYTE *sig,
		       CK_ULONG sig_len);
CK_RV crypto_op_verify_final(crypto_op *op, const CK_BYTE *sig, CK_ULONG sig_len);
/* C_DigestKey: feeds a secret key's value into a digest operation. */
CK_RV crypto_op_digest_key(crypto_op *op, sk_object *key);

/* Key management. The object layer has already built the new objects from
 * the caller's templates (rules checked, defaults set, CKA_KEY_TYPE set); these
 * fill in the key material with object_set_value() and check the template's
 * size attributes (CKR_TEMPLATE_INCOMPLETE / CKR_ATTRIBUTE_VALUE_INVALID /
 * CKR_KEY_SIZE_RANGE / CKR_CURVE_NOT_SUPPORTED). */
CK_RV crypto_generate_key(const CK_MECHANISM *mech, sk_object *key);
CK_RV crypto_generate_key_pair(const CK_MECHANISM *mech, sk_object *pub, sk_object *priv);
CK_RV crypto_wrap_key(const CK_MECHANISM *mech, sk_object *wrapping_key, sk_object *key,
		      CK_BYTE *out, CK_ULONG *out_len);
CK_RV crypto_unwrap_key(const CK_MECHANISM *mech, sk_object *unwrapping_key, const CK_BYTE *in,
			CK_ULONG in_len, sk_object *key);
CK_RV crypto_derive_key(const CK_MECHANISM *mech, sk_object *base, sk_object *key);
/* C_CreateObject of a key: checks the key material is consistent (EC point on
 * the named curve, RSA components, secret length for the key type) and adds
 * derived attributes (e.g. CKA_VALUE_LEN, CKA_EC_POINT on EC private keys). */
CK_RV crypto_check_key(sk_object *key);

CK_RV crypto_random(CK_BYTE *out, CK_ULONG len);
CK_RV crypto_seed(const CK_BYTE *seed, CK_ULONG len);

/* ---- encodings (encoding.c): no key material, shared with the proxy ---- */

/* Signatures: DER SEQUENCE{r, s} <-> r||s of 2 * half bytes. The DER form
 * takes at most SIG_DER_MAX(half) bytes. sig_der_to_raw refuses trailing
 * bytes and numbers wider than half. */
#define SIG_DER_MAX(half) (2 * (half) + 9)
CK_RV sig_der_to_raw(const unsigned char *der, size_t der_len, unsigned char *raw, size_t half);
CK_RV sig_raw_to_der(const unsigned char *raw, size_t half, unsigned char *der, size_t *der_len);

/* SM2 ciphertext layouts: C1||C3||C2 (GM/T 0003-2012), the older
 * C1||C2||C3, and GM/T 0009 DER SEQUENCE{x, y, C3, C2}. */
typedef enum sm2_ct_layout { SM2_CT_C1C3C2, SM2_CT_C1C2C3, SM2_CT_DER } sm2_ct_layout;
/* Re-encodes a ciphertext; *out_len is the size needed (also with
 * CKR_BUFFER_TOO_SMALL when out_cap is less). in and out must not overlap.
 * CKR_ENCRYPTED_DATA_INVALID when `in` is not of layout `from`. */
CK_RV sm2_ct_convert(sm2_ct_layout from, sm2_ct_layout to, const unsigned char *in, size_t in_len,
		     unsigned char *out, size_t out_cap, size_t *out_len);

/* The mechanism table (mechanisms.c). Callers' codes are read through the
 * active vendor profile (profile.h); internally a mechanism is named by its
 * operation code (the canonical code, or an SKI_ code for a vendor-only
 * variant). */
CK_ULONG mech_count(void);
/* Fills up to `max` of the active profile's primary codes; returns how many
 * there are in all. */
CK_ULONG mech_list(CK_MECHANISM_TYPE *out, CK_ULONG max);
/* NULL when the mechanism is not supported. */
const CK_MECHANISM_INFO *mech_info(CK_MECHANISM_TYPE type);
/* For key generation mechanisms: the key type they make, else
 * CK_UNAVAILABLE_INFORMATION. */
CK_KEY_TYPE mech_key_type(CK_MECHANISM_TYPE type);
/* A caller's code as our operation code (CK_UNAVAILABLE_INFORMATION when the
 * profile does not know a vendor-range code), and a caller's key type as
 * ours. */
CK_MECHANISM_TYPE mech_canonical(CK_MECHANISM_TYPE type);
CK_KEY_TYPE mech_canonical_key_type(CK_KEY_TYPE kt);
/* The i-th operation of the table, CK_UNAVAILABLE_INFORMATION past the end. */
CK_MECHANISM_TYPE mech_op_at(size_t i);

#endif
