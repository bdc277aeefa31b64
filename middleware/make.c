/* Making seals and stamps: encode, sign on the token, assemble. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "certs.h"
#include "digest.h"
#include "sealkit/make.h"

/* The certificate to name: the caller's, else the one next to the key. */
static sealkit_status pick_cert(sealkit_signer *s, const sealkit_bytes *given, sealkit_bytes *out,
				const char *role, sealkit_error *err)
{
	if (given && given->len) {
		*out = *given;
		return SEALKIT_OK;
	}
	out->data = sealkit_signer_certificate(s, &out->len);
	if (!out->data || !out->len)
		return sealkit_fail(err, SEALKIT_ERR_NOT_FOUND,
				    "the %s key has no certificate on its token (same CKA_ID); "
				    "import one with 'sealkit token import' or give it",
				    role);
	return SEALKIT_OK;
}

/* The key and the certificate must belong together: a seal or stamp naming
 * someone else's certificate would never verify. */
static sealkit_status check_pair(sealkit_signer *s, sealkit_bytes cert, const char *role,
				 sealkit_error *err)
{
	size_t spki_len;
	const unsigned char *spki = sealkit_signer_public_key(s, &spki_len);
	X509 *x = sk_cert_parse(cert.data, cert.len, err);
	sealkit_status st = SEALKIT_OK;
	unsigned char *der = NULL;
	int n;

	if (!x)
		return err ? err->status : SEALKIT_ERR_FORMAT;
	n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
	if (n <= 0 || !spki || (size_t)n != spki_len || memcmp(der, spki, spki_len))
		st = sealkit_fail(err, SEALKIT_ERR_ARGS,
				  "the %s certificate is not for the %s key", role, role);
	OPENSSL_free(der);
	X509_free(x);
	return st;
}

sealkit_status sealkit_seal_make(const sealkit_seal_fields *fields, sealkit_signer *maker,
				 const sealkit_bytes *maker_cert, unsigned char **der, size_t *len,
				 sealkit_error *err)
{
	unsigned char *info = NULL, *sig = NULL;
	size_t info_len = 0, sig_len = 0;
	const char *alg = NULL;
	sealkit_bytes cert;
	sealkit_status st;

	*der = NULL;
	*len = 0;
	if ((st = pick_cert(maker, maker_cert, &cert, "seal maker's", err)) != SEALKIT_OK ||
	    (st = check_pair(maker, cert, "seal maker's", err)) != SEALKIT_OK ||
	    (st = sealkit_seal_encode_info(fields, &info, &info_len, err)) != SEALKIT_OK ||
	    (st = sealkit_signer_sign(maker, info, info_len, &sig, &sig_len, &alg, err)) !=
		    SEALKIT_OK)
		goto out;
	st = sealkit_seal_assemble((sealkit_bytes){info, info_len}, cert, alg,
				   (sealkit_bytes){sig, sig_len}, der, len, err);
out:
	free(info);
	free(sig);
	return st;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

/* The signer certificate must be in the seal's list (or digest list). */
static sealkit_status check_listed(const sealkit_seal *seal, sealkit_bytes cert, sealkit_error *err)
{
	for (size_t i = 0; i < seal->property.n_certs; i++)
		if (seal->property.certs[i].len == cert.len &&
		    !memcmp(seal->property.certs[i].data, cert.data, cert.len))
			return SEALKIT_OK;
	for (size_t i = 0; i < seal->property.n_digests; i++) {
		unsigned char md[SK_DIGEST_MAX];
		unsigned n = 0;
		const sealkit_bytes *v = &seal->property.digests[i].value;
		if (EVP_Digest(cert.data, cert.len, md, &n, sk_sm3(), NULL) > 0 && n == v->len &&
		    !memcmp(md, v->data, n))
			return SEALKIT_OK;
	}
	return sealkit_fail(err, SEALKIT_ERR_ARGS,
			    "the signer's certificate is not listed in seal '%s'; a stamp by this "
			    "key would not verify (make a seal that lists it)",
			    seal->property.name ? seal->property.name : "");
}

sealkit_status sealkit_stamp_make(const sealkit_stamp_request *req, sealkit_signer *signer,
				  const sealkit_bytes *signer_cert, unsigned char **der,
				  size_t *len, sealkit_error *err)
{
	unsigned char *tbs = NULL, *sig = NULL, *token = NULL;
	size_t tbs_len = 0, sig_len = 0, token_len = 0;
	unsigned char hash[SK_DIGEST_MAX];
	unsigned hash_len = 0;
	sealkit_seal *seal = NULL;
	sealkit_signer_info info;
	EVP_MD *fetched = NULL;
	const char *alg = NULL;
	sealkit_bytes cert;
	sealkit_status st;

	*der = NULL;
	*len = 0;
	if ((st = sealkit_seal_parse(req->seal.data, req->seal.len, 0, &seal, NULL, err)) !=
	    SEALKIT_OK)
		goto out;
	if (SEALKIT_FORMAT_IS_V1(seal->format)) {
		st = sealkit_fail(err, SEALKIT_ERR_UNSUPPORTED,
				  "seal '%s' is a V1 (GM/T 0031-2014) seal; stamps are made with "
				  "V4 (GB/T 38540) seals only",
				  seal->property.name ? seal->property.name : "");
		goto out;
	}
	if ((st = pick_cert(signer, signer_cert, &cert, "signer's", err)) != SEALKIT_OK ||
	    (st = check_pair(signer, cert, "signer's", err)) != SEALKIT_OK ||
	    (st = check_listed(seal, cert, err)) != SEALKIT_OK)
		goto out;

	/* dataHash with the hash of the algorithm the signer will use. */
	sealkit_signer_get_info(signer, &info);
	const EVP_MD *md = sk_data_hash_md(info.alg_oid, &fetched);
	if ((st = sk_hash_document(&req->document, md, hash, &hash_len, req->progress,
				   req->progress_data, err)) != SEALKIT_OK)
		goto out;

	sealkit_stamp_fields f = {
		.seal = req->seal,
		.time_info = req->time ? req->time : time(NULL),
		.data_hash = {hash, hash_len},
		.property_info = req->property_info	 ? req->property_info
				 : req->document.path ? base_name(req->document.path)
						      : "",
		.ext = req->ext,
		.n_ext = req->n_ext,
	};
	if ((st = sealkit_stamp_encode_tbs(&f, &tbs, &tbs_len, err)) != SEALKIT_OK ||
	    (st = sealkit_signer_sign(signer, tbs, tbs_len, &sig, &sig_len, &alg, err)) !=
		    SEALKIT_OK)
		goto out;
	if (req->timestamp &&
	    req->timestamp(req->timestamp_data, sig, sig_len, &token, &token_len) != 0) {
		st = sealkit_fail(err, SEALKIT_ERR_CRYPTO, "no time-stamp token for the stamp");
		goto out;
	}
	sealkit_bytes ts = {token, token_len};
	st = sealkit_stamp_assemble((sealkit_bytes){tbs, tbs_len}, cert, alg,
				    (sealkit_bytes){sig, sig_len}, token ? &ts : NULL, der, len, err);
out:
	EVP_MD_free(fetched);
	sealkit_seal_free(seal);
	free(tbs);
	free(sig);
	free(token);
	return st;
}
