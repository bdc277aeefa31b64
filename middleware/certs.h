/* Certificates and signature values, checked with OpenSSL: what the
 * verifier needs below the seal structures. */
#ifndef SEALKIT_MW_CERTS_H
#define SEALKIT_MW_CERTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <openssl/x509.h>

#include "sealkit/status.h"

#define SK_OID_SM2_SM3 "1.2.156.10197.1.501"
#define SK_OID_ECDSA_SHA256 "1.2.840.10045.4.3.2"
#define SK_OID_ECDSA_SHA384 "1.2.840.10045.4.3.3"
#define SK_SM2_ID "1234567812345678"

/* Sets the SM2 user ID 1234567812345678 for checking x's own signature
 * (OpenSSL 3.0 would use an empty one). */
void sk_cert_set_sm2_id(X509 *x);

/* A DER certificate (with the SM2 ID set); NULL and a message when it is
 * not one. */
X509 *sk_cert_parse(const uint8_t *der, size_t len, sealkit_error *err);

/* notBefore / notAfter as time_t. */
bool sk_cert_validity(X509 *cert, time_t *not_before, time_t *not_after);

/* "CN=..., O=..." for messages, into buf. */
const char *sk_cert_subject(X509 *cert, char *buf, size_t len);

/* The outcome of checking one signature value. */
typedef enum sk_sig_result {
	SK_SIG_OK,      /* verifies under the named algorithm */
	SK_SIG_BAD,     /* does not verify */
	SK_SIG_ALG,     /* the algorithm is not one we verify (detail says which) */
	SK_SIG_LENIENT, /* a wrong OID, but verifies as SM2-with-SM3 (lenient only) */
} sk_sig_result;

/* Checks sig (DER SEQUENCE{r,s}) over tbs with pub under alg_oid. With
 * `lenient`, an OID that is not a signature algorithm we know is tried as
 * SM2-with-SM3. When the value does not verify, detail tells what it would
 * verify under, if anything (an empty user ID, no Z, e = SM3(tbs) or the
 * bare tbs as e): the usual vendor mistakes. */
sk_sig_result sk_sig_verify(EVP_PKEY *pub, const char *alg_oid, const uint8_t *tbs, size_t tbs_len,
			    const uint8_t *sig, size_t sig_len, bool lenient, char *detail,
			    size_t detail_len);

/* The name of a signature algorithm OID ("SM2-with-SM3"), or NULL. */
const char *sk_sig_alg_name(const char *oid);
/* The hash a stamp's dataHash uses under a signature algorithm (spec 3.3):
 * SM3 for SM2-with-SM3 and anything unknown, SHA-2 for ECDSA. *fetched
 * is to be EVP_MD_free'd. */
const EVP_MD *sk_data_hash_md(const char *sig_alg, EVP_MD **fetched);

/* True for the one algorithm GB/T 38540 allows. */
bool sk_sig_alg_is_gbt(const char *oid);

/* Chains cert to one of `anchors` at time `at` (0: now), with `extra`
 * certificates as intermediates. Anchors may be intermediate CAs. */
bool sk_chain_verify(X509 *cert, STACK_OF(X509) *extra, STACK_OF(X509) *anchors, time_t at,
		     char *detail, size_t detail_len);

#endif
