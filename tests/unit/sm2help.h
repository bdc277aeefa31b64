/* SM2 helpers shared by test_sm_cross and bench_sm, which compare the token
 * with OpenSSL on the same keys and signatures. No CUnit here: the benchmark
 * uses them too. */
#ifndef SEALKIT_SM2HELP_H
#define SEALKIT_SM2HELP_H

#include <stdbool.h>
#include <stddef.h>
#include <openssl/evp.h>
#include "pkcs11x.h"

/* EVP_PKEY_Q_keygen("SM2"), then C_CreateObject of its public half (CKA_VERIFY,
 * CKA_ENCRYPT) and private half (CKA_SIGN, CKA_DECRYPT) as session objects of
 * key type 0x80000004. On failure *ossl is NULL and the CK_RV says why
 * (CKR_FUNCTION_FAILED for OpenSSL). */
CK_RV sm2_pair_import(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, EVP_PKEY **ossl,
		      CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv);

/* DER SEQUENCE{r, s} -> raw r||s; false unless it is strict DER of two
 * numbers below 2^256. */
bool sm2_sig_raw(const unsigned char *der, size_t len, unsigned char rs[64]);
/* raw r||s -> DER SEQUENCE{r, s} (at most 72 bytes); returns the length, 0 on
 * failure. */
size_t sm2_sig_der(const unsigned char rs[64], unsigned char *der);

/* The public key whose CKA_EC_POINT (DER OCTET STRING of an uncompressed
 * 65-byte point) is given, on curve `group` ("SM2", "prime256v1"); NULL
 * when it is not such a point. */
EVP_PKEY *test_pkey_from_point(const unsigned char *octet, size_t len, const char *group);

#endif
