#include "sm2help.h"

#include <string.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>

CK_RV sm2_pair_import(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, EVP_PKEY **ossl,
		      CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv)
{
	CK_OBJECT_CLASS pub_cls = CKO_PUBLIC_KEY, priv_cls = CKO_PRIVATE_KEY;
	CK_KEY_TYPE kt = CKK_SM2;
	CK_BBOOL yes = CK_TRUE;
	/* CKA_EC_POINT: DER OCTET STRING around 04 || x || y. */
	unsigned char point[67] = {0x04, 0x41}, d[32];
	CK_ATTRIBUTE pub_t[] = {{CKA_CLASS, &pub_cls, sizeof pub_cls},
				{CKA_KEY_TYPE, &kt, sizeof kt},
				{CKA_EC_PARAMS, SK_SM2_OID_DER, SK_SM2_OID_DER_LEN},
				{CKA_EC_POINT, point, sizeof point},
				{CKA_VERIFY, &yes, sizeof yes},
				{CKA_ENCRYPT, &yes, sizeof yes}};
	CK_ATTRIBUTE priv_t[] = {{CKA_CLASS, &priv_cls, sizeof priv_cls},
				 {CKA_KEY_TYPE, &kt, sizeof kt},
				 {CKA_EC_PARAMS, SK_SM2_OID_DER, SK_SM2_OID_DER_LEN},
				 {CKA_VALUE, d, sizeof d},
				 {CKA_SIGN, &yes, sizeof yes},
				 {CKA_DECRYPT, &yes, sizeof yes}};
	size_t point_len = 0;
	BIGNUM *bn = NULL;
	CK_RV rv = CKR_FUNCTION_FAILED;

	*ossl = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	if (*ossl == NULL ||
	    !EVP_PKEY_get_octet_string_param(*ossl, OSSL_PKEY_PARAM_PUB_KEY, point + 2, 65,
					     &point_len) ||
	    point_len != 65 || !EVP_PKEY_get_bn_param(*ossl, OSSL_PKEY_PARAM_PRIV_KEY, &bn) ||
	    BN_bn2binpad(bn, d, sizeof d) != sizeof d)
		goto out;
	rv = f->C_CreateObject(s, pub_t, sizeof pub_t / sizeof pub_t[0], pub);
	if (rv == CKR_OK)
		rv = f->C_CreateObject(s, priv_t, sizeof priv_t / sizeof priv_t[0], priv);
out:
	BN_clear_free(bn);
	OPENSSL_cleanse(d, sizeof d);
	if (rv != CKR_OK) {
		EVP_PKEY_free(*ossl);
		*ossl = NULL;
	}
	return rv;
}

bool sm2_sig_raw(const unsigned char *der, size_t len, unsigned char rs[64])
{
	const unsigned char *p = der;
	ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)len);
	unsigned char *again = NULL;
	bool ok = s && p == der + len && BN_bn2binpad(ECDSA_SIG_get0_r(s), rs, 32) == 32 &&
		  BN_bn2binpad(ECDSA_SIG_get0_s(s), rs + 32, 32) == 32 &&
		  i2d_ECDSA_SIG(s, &again) == (int)len && memcmp(again, der, len) == 0;

	OPENSSL_free(again);
	ECDSA_SIG_free(s);
	return ok;
}

size_t sm2_sig_der(const unsigned char rs[64], unsigned char *der)
{
	ECDSA_SIG *s = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(rs, 32, NULL), *sv = BN_bin2bn(rs + 32, 32, NULL);
	int n = -1;

	if (s && r && sv && ECDSA_SIG_set0(s, r, sv)) {
		r = sv = NULL;
		n = i2d_ECDSA_SIG(s, &der);
	}
	BN_free(r);
	BN_free(sv);
	ECDSA_SIG_free(s);
	return n > 0 ? (size_t)n : 0;
}

EVP_PKEY *test_pkey_from_point(const unsigned char *octet, size_t len, const char *group)
{
	EVP_PKEY *pkey = NULL;
	if (len != 67 || octet[0] != 0x04 || octet[1] != 65 || octet[2] != 0x04)
		return NULL;
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, strcmp(group, "SM2") ? "EC" : "SM2",
						       NULL);
	if (b && ctx && OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) &&
	    OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, octet + 2, 65) &&
	    (params = OSSL_PARAM_BLD_to_param(b)) != NULL && EVP_PKEY_fromdata_init(ctx) > 0 &&
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(b);
	return pkey;
}
