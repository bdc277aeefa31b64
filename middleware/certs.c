#include <stdio.h>
#include <string.h>
#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509_vfy.h>

#include "certs.h"
#include "digest.h"

/* OpenSSL 3.0 checks an SM2 certificate signature with an empty user ID
 * unless the certificate carries one; every issuer uses the standard ID. */
void sk_cert_set_sm2_id(X509 *x)
{
	ASN1_OCTET_STRING *id = ASN1_OCTET_STRING_new();
	if (!id || !ASN1_OCTET_STRING_set(id, (const unsigned char *)SK_SM2_ID,
					  (int)strlen(SK_SM2_ID))) {
		ASN1_OCTET_STRING_free(id);
		return;
	}
	X509_set0_distinguishing_id(x, id);
}

X509 *sk_cert_parse(const uint8_t *der, size_t len, sealkit_error *err)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	if (!x) {
		sealkit_fail(err, SEALKIT_ERR_FORMAT, "not an X.509 certificate (%zu bytes)", len);
		return NULL;
	}
	if ((size_t)(p - der) != len) {
		X509_free(x);
		sealkit_fail(err, SEALKIT_ERR_FORMAT,
			     "X.509 certificate followed by %zu stray bytes", len - (size_t)(p - der));
		return NULL;
	}
	sk_cert_set_sm2_id(x);
	return x;
}

static bool asn1_time_t(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;
	if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return false;
	*out = timegm(&tm);
	return true;
}

bool sk_cert_validity(X509 *cert, time_t *not_before, time_t *not_after)
{
	return asn1_time_t(X509_get0_notBefore(cert), not_before) &&
	       asn1_time_t(X509_get0_notAfter(cert), not_after);
}

const char *sk_cert_subject(X509 *cert, char *buf, size_t len)
{
	BIO *b = BIO_new(BIO_s_mem());
	buf[0] = '\0';
	if (b && X509_NAME_print_ex(b, X509_get_subject_name(cert), 0,
				    XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
		int n = BIO_read(b, buf, (int)len - 1);
		buf[n > 0 ? n : 0] = '\0';
	}
	BIO_free(b);
	return buf;
}

static const struct sig_alg {
	const char *oid, *name, *md;
	bool sm2;
} sig_algs[] = {
	{SK_OID_SM2_SM3, "SM2-with-SM3", "SM3", true},
	{SK_OID_ECDSA_SHA256, "ECDSA-with-SHA256", "SHA256", false},
	{SK_OID_ECDSA_SHA384, "ECDSA-with-SHA384", "SHA384", false},
	{"1.2.840.10045.4.3.4", "ECDSA-with-SHA512", "SHA512", false},
};

static const struct sig_alg *find_alg(const char *oid)
{
	for (size_t i = 0; oid && i < sizeof sig_algs / sizeof sig_algs[0]; i++)
		if (!strcmp(sig_algs[i].oid, oid))
			return &sig_algs[i];
	return NULL;
}

const char *sk_sig_alg_name(const char *oid)
{
	const struct sig_alg *a = find_alg(oid);
	return a ? a->name : NULL;
}

bool sk_sig_alg_is_gbt(const char *oid)
{
	return oid && !strcmp(oid, SK_OID_SM2_SM3);
}

/* Message-in verification: SM2 with the given user ID (NULL: none set,
 * OpenSSL's empty default), or ECDSA with the named hash. */
static bool verify_msg(EVP_PKEY *pub, const char *md, const char *id, const uint8_t *tbs,
		       size_t tbs_len, const uint8_t *sig, size_t sig_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	bool ok = false;

	if (!ctx)
		return false;
	if (EVP_DigestVerifyInit_ex(ctx, &pctx, md, NULL, NULL, pub, NULL) <= 0)
		goto out;
	if (id && EVP_PKEY_CTX_set1_id(pctx, id, strlen(id)) <= 0)
		goto out;
	ok = EVP_DigestVerify(ctx, sig, sig_len, tbs, tbs_len) == 1;
out:
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

/* A bare SM2/ECDSA verification with e given. */
static bool verify_e(EVP_PKEY *pub, const uint8_t *e, size_t e_len, const uint8_t *sig,
		     size_t sig_len)
{
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
	bool ok = pctx && EVP_PKEY_verify_init(pctx) > 0 &&
		  EVP_PKEY_verify(pctx, sig, sig_len, e, e_len) == 1;
	EVP_PKEY_CTX_free(pctx);
	ERR_clear_error();
	return ok;
}

/* What a value that failed would verify under: vendors' usual mistakes. */
static void diagnose(EVP_PKEY *pub, const uint8_t *tbs, size_t tbs_len, const uint8_t *sig,
		     size_t sig_len, char *detail, size_t detail_len)
{
	unsigned char e[32];
	unsigned e_len = 0;

	if (!EVP_PKEY_is_a(pub, "SM2")) {
		snprintf(detail, detail_len, "the signature does not verify");
		return;
	}
	if (verify_msg(pub, "SM3", "", tbs, tbs_len, sig, sig_len)) {
		snprintf(detail, detail_len,
			 "the signature verifies only with an empty SM2 user ID (OpenSSL's "
			 "default), not the standard 1234567812345678");
		return;
	}
	if (EVP_Digest(tbs, tbs_len, e, &e_len, sk_sm3(), NULL) > 0 &&
	    verify_e(pub, e, e_len, sig, sig_len)) {
		snprintf(detail, detail_len,
			 "the signature verifies only as SM3 of the data without Z");
		return;
	}
	if (tbs_len == 32 && verify_e(pub, tbs, tbs_len, sig, sig_len)) {
		snprintf(detail, detail_len,
			 "the signature verifies only as a bare SM2 signature on the digest");
		return;
	}
	snprintf(detail, detail_len, "the signature does not verify with the signer's key");
}

sk_sig_result sk_sig_verify(EVP_PKEY *pub, const char *alg_oid, const uint8_t *tbs, size_t tbs_len,
			    const uint8_t *sig, size_t sig_len, bool lenient, char *detail,
			    size_t detail_len)
{
	const struct sig_alg *a = find_alg(alg_oid);
	bool sm2_key = EVP_PKEY_is_a(pub, "SM2");

	detail[0] = '\0';
	if (!a) {
		if (lenient && sm2_key &&
		    verify_msg(pub, "SM3", SK_SM2_ID, tbs, tbs_len, sig, sig_len)) {
			snprintf(detail, detail_len,
				 "algorithm OID %s is not SM2-with-SM3, but the value verifies "
				 "as SM2-with-SM3",
				 alg_oid ? alg_oid : "(none)");
			return SK_SIG_LENIENT;
		}
		snprintf(detail, detail_len, "algorithm OID %s is not SM2-with-SM3 (%s)",
			 alg_oid ? alg_oid : "(none)", SK_OID_SM2_SM3);
		return SK_SIG_ALG;
	}
	if (a->sm2 != sm2_key) {
		snprintf(detail, detail_len, "%s needs %s key, and the signer's key is not one",
			 a->name, a->sm2 ? "an SM2" : "an EC");
		return SK_SIG_BAD;
	}
	if (verify_msg(pub, a->md, a->sm2 ? SK_SM2_ID : NULL, tbs, tbs_len, sig, sig_len))
		return SK_SIG_OK;
	diagnose(pub, tbs, tbs_len, sig, sig_len, detail, detail_len);
	return SK_SIG_BAD;
}

bool sk_chain_verify(X509 *cert, STACK_OF(X509) *extra, STACK_OF(X509) *anchors, time_t at,
		     char *detail, size_t detail_len)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	bool ok = false;

	detail[0] = '\0';
	if (!store || !ctx)
		goto out;
	for (int i = 0; i < sk_X509_num(anchors); i++)
		X509_STORE_add_cert(store, sk_X509_value(anchors, i));
	if (X509_STORE_CTX_init(ctx, store, cert, extra) != 1)
		goto out;
	X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
	/* An anchor may be an intermediate CA the caller trusts. */
	X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
	if (at)
		X509_VERIFY_PARAM_set_time(param, at);
	ok = X509_verify_cert(ctx) == 1;
	if (!ok)
		snprintf(detail, detail_len, "%s",
			 X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
out:
	if (!store || !ctx)
		snprintf(detail, detail_len, "out of memory");
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	ERR_clear_error();
	return ok;
}

const EVP_MD *sk_data_hash_md(const char *alg, EVP_MD **fetched)
{
	*fetched = NULL;
	if (alg && !strcmp(alg, SK_OID_ECDSA_SHA256))
		return *fetched = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (alg && !strcmp(alg, SK_OID_ECDSA_SHA384))
		return *fetched = EVP_MD_fetch(NULL, "SHA384", NULL);
	return sk_sm3();
}
