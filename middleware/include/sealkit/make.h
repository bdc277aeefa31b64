/* libsealkit: making seals and stamps with a key on a PKCS#11 token.
 *
 * These put sealkit/seal.h's two-phase building and sealkit/token.h's
 * signer together: encode what is to be signed, have the token sign those
 * exact bytes, assemble. The document a stamp covers is hashed as a
 * stream: a 4 GB file needs no more memory than a small one. */
#ifndef SEALKIT_MAKE_H
#define SEALKIT_MAKE_H

#include <stdint.h>

#include <sealkit/seal.h>
#include <sealkit/status.h>
#include <sealkit/token.h>
#include <sealkit/verify.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A V4 SESeal signed by `maker`. maker_cert: the maker's certificate (DER);
 * NULL uses the one stored with the maker's key. *der is malloc'ed. */
sealkit_status sealkit_seal_make(const sealkit_seal_fields *fields, sealkit_signer *maker,
				 const sealkit_bytes *maker_cert, unsigned char **der, size_t *len,
				 sealkit_error *err);

/* Asked for an RFC 3161 time-stamp token over the signature value (the
 * BIT STRING content) once it exists; return 0 and a malloc'ed token, or
 * non-zero to fail the stamp. */
typedef int (*sealkit_timestamp_fn)(void *data, const unsigned char *sig_value, size_t len,
				    unsigned char **token, size_t *token_len);

/* sealkit_progress_fn (progress of hashing the document) is in sealkit/verify.h. */

typedef struct sealkit_stamp_request {
	sealkit_bytes seal;        /* the V4 SESeal to stamp with */
	sealkit_document document; /* what the stamp covers */
	time_t time;               /* signing time; 0: now */
	const char *property_info; /* NULL: the file name of document.path, else "" */
	const sealkit_ext *ext;    /* optional TBS_Sign extension data */
	size_t n_ext;
	sealkit_timestamp_fn timestamp; /* optional */
	void *timestamp_data;
	sealkit_progress_fn progress; /* optional */
	void *progress_data;
} sealkit_stamp_request;

/* A V4 SES_Signature by `signer` over the request's document. The signer's
 * certificate (signer_cert, or the one stored with its key) must be listed
 * in the seal: a stamp whose signer the seal does not name would never
 * verify, so it is refused. */
sealkit_status sealkit_stamp_make(const sealkit_stamp_request *req, sealkit_signer *signer,
				  const sealkit_bytes *signer_cert, unsigned char **der,
				  size_t *len, sealkit_error *err);

/* ---- certificates, for testing and small deployments (spec/cli.md) ---- */

typedef struct sealkit_cert_request {
	const char *subject;        /* "/C=CN/O=Org/CN=Name" (UTF-8) */
	int days;                   /* validity from not_before */
	time_t not_before;          /* 0: now */
	sealkit_bytes subject_spki; /* DER SubjectPublicKeyInfo of the key certified */
	int ca;                     /* a CA certificate (keyCertSign, cRLSign) */
} sealkit_cert_request;

/* An X.509 v3 certificate signed on the token by `issuer` (SM2 keys:
 * SM2-with-SM3 with the ID 1234567812345678). issuer_cert NULL: self-signed
 * (the subject is the issuer; subject_spki must be the issuer's key). */
sealkit_status sealkit_cert_issue(const sealkit_cert_request *req, sealkit_signer *issuer,
				  const sealkit_bytes *issuer_cert, unsigned char **der,
				  size_t *len, sealkit_error *err);

/* The same, signed in software with the issuer's private key issuer_key
 * (PEM, PKCS#8 or traditional, or DER; not encrypted), which must be the
 * key of issuer_cert (NULL: self-signed, the key of subject_spki). SM2 keys
 * sign SM2-with-SM3 with the ID 1234567812345678, EC keys ECDSA with
 * SHA-256/384/512, RSA keys SHA-256 with PKCS#1 v1.5. */
sealkit_status sealkit_cert_issue_with_key(const sealkit_cert_request *req,
					   const sealkit_bytes *issuer_key,
					   const sealkit_bytes *issuer_cert, unsigned char **der,
					   size_t *len, sealkit_error *err);

#ifdef __cplusplus
}
#endif

#endif
