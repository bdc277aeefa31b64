/* Certificates signed on a token. OpenSSL builds and encodes the
 * TBSCertificate; the token signs those bytes; the three parts are put
 * together here (OpenSSL 3.0 can only sign with a key it holds). */
#define _GNU_SOURCE /* memmem */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "certs.h"
#include "sealkit/make.h"

#define SK_SM2_DEFAULT_ID "1234567812345678"

/* PEM password callback: encrypted keys are refused, never prompted for. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1;
}

/* "/C=CN/O=Org/CN=Name" as an X509_NAME; NULL on a malformed DN. */
static X509_NAME *parse_dn(const char *dn, sealkit_error *err)
{
	X509_NAME *name = X509_NAME_new();
	char *copy = strdup(dn ? dn : ""), *save = NULL;
	bool ok = name && copy && copy[0] == '/';

	for (char *part = ok ? strtok_r(copy + 1, "/", &save) : NULL; ok && part;
	     part = strtok_r(NULL, "/", &save)) {
		char *eq = strchr(part, '=');
		ok = eq && eq != part && eq[1];
		if (ok) {
			*eq = '\0';
			ok = X509_NAME_add_entry_by_txt(name, part, MBSTRING_UTF8,
							(const unsigned char *)eq + 1, -1, -1, 0) == 1;
		}
	}
	ok = ok && X509_NAME_entry_count(name) > 0;
	free(copy);
	ERR_clear_error();
	if (!ok) {
		X509_NAME_free(name);
		sealkit_fail(err, SEALKIT_ERR_ARGS,
			     "subject '%s' is not a DN of the form /C=CN/O=Org/CN=Name", dn ? dn : "");
		return NULL;
	}
	return name;
}

static bool add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	bool ok = ext && X509_add_ext(x, ext, -1) == 1;
	X509_EXTENSION_free(ext);
	return ok;
}

/* DER length octets; returns their count. */
static size_t der_len(unsigned char *p, size_t len)
{
	size_t n = 0;
	if (len < 0x80) {
		p[0] = (unsigned char)len;
		return 1;
	}
	for (size_t l = len; l; l >>= 8)
		n++;
	p[0] = (unsigned char)(0x80 | n);
	for (size_t i = 0; i < n; i++)
		p[1 + i] = (unsigned char)(len >> (8 * (n - 1 - i)));
	return 1 + n;
}

/* Certificate ::= SEQUENCE { tbs, AlgorithmIdentifier, BIT STRING sig } */
static unsigned char *assemble(const unsigned char *tbs, size_t tbs_len, const unsigned char *alg,
			       size_t alg_len, const unsigned char *sig, size_t sig_len,
			       size_t *out_len)
{
	unsigned char bit_hdr[12], seq_hdr[12];
	size_t bh = 0, sh = 0;
	bit_hdr[bh++] = 0x03;
	bh += der_len(bit_hdr + bh, sig_len + 1);
	bit_hdr[bh++] = 0x00; /* unused bits: always 0 (spec section 4) */
	size_t body = tbs_len + alg_len + bh + sig_len;
	seq_hdr[sh++] = 0x30;
	sh += der_len(seq_hdr + sh, body);
	unsigned char *out = malloc(sh + body), *p = out;
	if (!out)
		return NULL;
	memcpy(p, seq_hdr, sh);
	p += sh;
	memcpy(p, tbs, tbs_len);
	p += tbs_len;
	memcpy(p, alg, alg_len);
	p += alg_len;
	memcpy(p, bit_hdr, bh);
	p += bh;
	memcpy(p, sig, sig_len);
	*out_len = sh + body;
	return out;
}

/* Signs x in software with key (SM2: SM2-with-SM3 and the default user ID;
 * EC: ECDSA with the curve's hash; RSA: PKCS#1 v1.5 with SHA-256), OpenSSL
 * writing the algorithm identifiers. */
static sealkit_status sign_with_pkey(X509 *x, EVP_PKEY *key, sealkit_error *err)
{
	EVP_MD_CTX *mctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	const char *md = "SHA256";
	bool sm2 = EVP_PKEY_is_a(key, "SM2");
	char curve[64] = "";
	size_t cl = 0;

	if (!sm2 && EVP_PKEY_is_a(key, "EC") &&
	    EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, curve, sizeof curve,
					   &cl) == 1) {
		if (!strcmp(curve, "SM2"))
			sm2 = true;
		else if (!strcmp(curve, "secp384r1") || !strcmp(curve, "P-384"))
			md = "SHA384";
		else if (!strcmp(curve, "secp521r1") || !strcmp(curve, "P-521"))
			md = "SHA512";
	}
	if (sm2)
		md = "SM3";
	else if (EVP_PKEY_is_a(key, "ED25519") || EVP_PKEY_is_a(key, "ED448"))
		md = NULL;
	bool ok = mctx && EVP_DigestSignInit_ex(mctx, &pctx, md, NULL, NULL, key, NULL) == 1 &&
		  (!sm2 || EVP_PKEY_CTX_set1_id(pctx, SK_SM2_DEFAULT_ID, 16) == 1) &&
		  X509_sign_ctx(x, mctx) > 0;
	EVP_MD_CTX_free(mctx);
	if (!ok)
		return sealkit_fail(err, SEALKIT_ERR_CRYPTO,
				    "the CA key could not sign the certificate (%s key)",
				    sm2 ? "SM2" : EVP_PKEY_get0_type_name(key));
	return SEALKIT_OK;
}

/* A private key, PEM (PKCS#8 or traditional) or DER, not encrypted. */
static EVP_PKEY *load_private_key(const sealkit_bytes *b, sealkit_error *err)
{
	EVP_PKEY *k = NULL;
	if (b->len > 0 && ((const unsigned char *)b->data)[0] == 0x30) {
		const unsigned char *p = b->data;
		k = d2i_AutoPrivateKey(NULL, &p, (long)b->len);
	} else if (b->len > 0 && b->len <= INT_MAX) {
		BIO *bio = BIO_new_mem_buf(b->data, (int)b->len);
		k = bio ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) : NULL;
		BIO_free(bio);
	}
	if (!k) {
		bool enc = b->len > 0 && memmem(b->data, b->len, "ENCRYPTED", 9) != NULL;
		ERR_clear_error();
		sealkit_fail(err, SEALKIT_ERR_FORMAT,
			     enc ? "the CA key file is encrypted; sealkit reads unencrypted keys "
				   "only (or store the CA key on a token and use --ca-key-uri)"
				 : "the CA key file holds no private key (PEM or DER)");
	}
	return k;
}

static sealkit_status issue(const sealkit_cert_request *req, sealkit_signer *issuer,
			    EVP_PKEY *issuer_key, const sealkit_bytes *issuer_cert,
			    unsigned char **der, size_t *len, sealkit_error *err);

sealkit_status sealkit_cert_issue(const sealkit_cert_request *req, sealkit_signer *issuer,
				  const sealkit_bytes *issuer_cert, unsigned char **der,
				  size_t *len, sealkit_error *err)
{
	return issue(req, issuer, NULL, issuer_cert, der, len, err);
}

sealkit_status sealkit_cert_issue_with_key(const sealkit_cert_request *req,
					   const sealkit_bytes *issuer_key,
					   const sealkit_bytes *issuer_cert, unsigned char **der,
					   size_t *len, sealkit_error *err)
{
	*der = NULL;
	*len = 0;
	EVP_PKEY *k = load_private_key(issuer_key, err);
	if (!k)
		return SEALKIT_ERR_FORMAT;
	sealkit_status st = issue(req, NULL, k, issuer_cert, der, len, err);
	EVP_PKEY_free(k);
	return st;
}

static sealkit_status issue(const sealkit_cert_request *req, sealkit_signer *issuer,
			    EVP_PKEY *issuer_key, const sealkit_bytes *issuer_cert,
			    unsigned char **der, size_t *len, sealkit_error *err)
{
	sealkit_status st = SEALKIT_ERR_CRYPTO;
	X509 *x = X509_new(), *ix = NULL;
	X509_NAME *subject = NULL;
	EVP_PKEY *pub = NULL;
	BIGNUM *serial = NULL;
	X509_ALGOR *alg = NULL;
	unsigned char *tbs = NULL, *algder = NULL, *sig = NULL;
	int tbs_len, alg_len;
	size_t sig_len = 0;
	const char *sig_oid = NULL;
	sealkit_signer_info info;

	*der = NULL;
	*len = 0;
	if (!x)
		return sealkit_fail(err, SEALKIT_ERR_MEMORY, "out of memory");
	if (req->days <= 0) {
		st = sealkit_fail(err, SEALKIT_ERR_ARGS, "a certificate needs --days of 1 or more");
		goto out;
	}
	if (!(subject = parse_dn(req->subject, err))) {
		st = SEALKIT_ERR_ARGS;
		goto out;
	}
	const unsigned char *p = req->subject_spki.data;
	if (!(pub = d2i_PUBKEY(NULL, &p, (long)req->subject_spki.len))) {
		st = sealkit_fail(err, SEALKIT_ERR_FORMAT, "the subject key is not a public key");
		goto out;
	}
	if (issuer_cert && !(ix = sk_cert_parse(issuer_cert->data, issuer_cert->len, err))) {
		st = SEALKIT_ERR_FORMAT;
		goto out;
	}
	unsigned char rnd[16];
	if (RAND_bytes(rnd, sizeof rnd) != 1)
		goto fail;
	rnd[0] &= 0x7f; /* a positive serial number */
	time_t nb = req->not_before ? req->not_before : time(NULL);
	if (!(serial = BN_bin2bn(rnd, sizeof rnd, NULL)) || !X509_set_version(x, 2) ||
	    !BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) ||
	    !X509_set_subject_name(x, subject) ||
	    !X509_set_issuer_name(x, ix ? X509_get_subject_name(ix) : subject) ||
	    !X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &nb) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), req->days, 0, &nb) || !X509_set_pubkey(x, pub))
		goto fail;
	if (!add_ext(x, ix, NID_basic_constraints, req->ca ? "critical,CA:TRUE" : "critical,CA:FALSE") ||
	    !add_ext(x, ix, NID_key_usage,
		     req->ca ? "critical,keyCertSign,cRLSign,digitalSignature"
			     : "critical,digitalSignature,nonRepudiation") ||
	    !add_ext(x, ix, NID_subject_key_identifier, "hash") ||
	    (ix && !add_ext(x, ix, NID_authority_key_identifier, "keyid:always")))
		goto fail;

	if (issuer_key) {
		/* The key must be the CA certificate's (self-signed: the subject's). */
		if (ix ? X509_check_private_key(ix, issuer_key) != 1
		       : EVP_PKEY_eq(pub, issuer_key) != 1) {
			st = sealkit_fail(err, SEALKIT_ERR_ARGS,
					  ix ? "the CA key does not belong to the CA certificate"
					     : "a self-signed certificate needs the subject's own key");
			goto out;
		}
		if ((st = sign_with_pkey(x, issuer_key, err)) != SEALKIT_OK)
			goto out;
		int l = i2d_X509(x, NULL);
		unsigned char *q = l > 0 ? malloc((size_t)l) : NULL;
		*der = q;
		if (!q || i2d_X509(x, &q) != l) {
			free(*der);
			*der = NULL;
			goto fail;
		}
		*len = (size_t)l;
		st = SEALKIT_OK;
		goto out;
	}

	/* The algorithm goes into the TBS before it is encoded and signed. */
	sealkit_signer_get_info(issuer, &info);
	ASN1_OBJECT *oid = OBJ_txt2obj(info.alg_oid, 1);
	if (!oid || !(alg = X509_ALGOR_new()) || !X509_ALGOR_set0(alg, oid, V_ASN1_UNDEF, NULL)) {
		ASN1_OBJECT_free(oid);
		goto fail;
	}
	/* OpenSSL 3.0 has no setter for the TBS signature algorithm outside
	 * X509_sign; the certificate is ours and not yet encoded, so writing
	 * the field through the getter's pointer is sound. */
	if (!X509_ALGOR_copy((X509_ALGOR *)X509_get0_tbs_sigalg(x), alg))
		goto fail;
	if ((tbs_len = i2d_re_X509_tbs(x, &tbs)) <= 0 || (alg_len = i2d_X509_ALGOR(alg, &algder)) <= 0)
		goto fail;
	if ((st = sealkit_signer_sign(issuer, tbs, (size_t)tbs_len, &sig, &sig_len, &sig_oid, err)) !=
	    SEALKIT_OK)
		goto out;
	if (!(*der = assemble(tbs, (size_t)tbs_len, algder, (size_t)alg_len, sig, sig_len, len))) {
		st = sealkit_fail(err, SEALKIT_ERR_MEMORY, "out of memory");
		goto out;
	}
	st = SEALKIT_OK;
	goto out;
fail:
	st = sealkit_fail(err, SEALKIT_ERR_CRYPTO, "OpenSSL could not build the certificate");
out:
	ERR_clear_error();
	X509_free(x);
	X509_free(ix);
	X509_NAME_free(subject);
	EVP_PKEY_free(pub);
	BN_free(serial);
	X509_ALGOR_free(alg);
	OPENSSL_free(tbs);
	OPENSSL_free(algder);
	free(sig);
	return st;
}
