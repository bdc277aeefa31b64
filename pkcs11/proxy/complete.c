/* The software halves of what the proxy completes for a device: hashes,
 * SM2's Z, the DigestInfo of RSA PKCS#1 v1.5 and signature formats. Only
 * public values are handled here; private key operations stay on the
 * device. */
#include "internal.h"

#include <string.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>

#define SM2_DEFAULT_ID "1234567812345678"
#define SM2_ID_MAX 8191 /* ENTL is a 16-bit count of bits */

static const struct {
	CK_MECHANISM_TYPE op;
	const char *hash;
} hashes[] = {
	{CKM_SHA_1, "SHA1"},
	{CKM_SHA224, "SHA224"},
	{CKM_SHA256, "SHA256"},
	{CKM_SHA384, "SHA384"},
	{CKM_SHA512, "SHA512"},
	{CKM_SM3, "SM3"},
	{CKM_ECDSA_SHA1, "SHA1"},
	{CKM_ECDSA_SHA224, "SHA224"},
	{CKM_ECDSA_SHA256, "SHA256"},
	{CKM_ECDSA_SHA384, "SHA384"},
	{CKM_ECDSA_SHA512, "SHA512"},
	{CKM_SHA1_RSA_PKCS, "SHA1"},
	{CKM_SHA224_RSA_PKCS, "SHA224"},
	{CKM_SHA256_RSA_PKCS, "SHA256"},
	{CKM_SHA384_RSA_PKCS, "SHA384"},
	{CKM_SHA512_RSA_PKCS, "SHA512"},
	{CKM_SHA1_RSA_PKCS_PSS, "SHA1"},
	{CKM_SHA224_RSA_PKCS_PSS, "SHA224"},
	{CKM_SHA256_RSA_PKCS_PSS, "SHA256"},
	{CKM_SHA384_RSA_PKCS_PSS, "SHA384"},
	{CKM_SHA512_RSA_PKCS_PSS, "SHA512"},
	{CKM_SM2_SM3, "SM3"},
	{CKM_SM2_SM3_DER, "SM3"},
	{SKI_SM2_SM3_NOZ, "SM3"},
	{SKI_SM2_SM3_NOZ_DER, "SM3"},
};

const char *px_hash_name(CK_MECHANISM_TYPE op)
{
	for (size_t i = 0; i < sizeof hashes / sizeof hashes[0]; i++)
		if (hashes[i].op == op)
			return hashes[i].hash;
	return NULL;
}

/* DER of DigestInfo up to the hash value (RFC 8017, 9.2 note 1). */
static const unsigned char di_sha1[] = {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e,
					0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14};
static const unsigned char di_sha224[] = {0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60,
					  0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
					  0x04, 0x05, 0x00, 0x04, 0x1c};
static const unsigned char di_sha256[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
					  0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
					  0x01, 0x05, 0x00, 0x04, 0x20};
static const unsigned char di_sha384[] = {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60,
					  0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
					  0x02, 0x05, 0x00, 0x04, 0x30};
static const unsigned char di_sha512[] = {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60,
					  0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
					  0x03, 0x05, 0x00, 0x04, 0x40};

bool px_digest_info(CK_MECHANISM_TYPE op, const unsigned char **prefix, size_t *len)
{
#define DI(m, v)                                                                                   \
	case m:                                                                                    \
		*prefix = v;                                                                       \
		*len = sizeof v;                                                                   \
		return true
	switch (op) {
		DI(CKM_SHA1_RSA_PKCS, di_sha1);
		DI(CKM_SHA224_RSA_PKCS, di_sha224);
		DI(CKM_SHA256_RSA_PKCS, di_sha256);
		DI(CKM_SHA384_RSA_PKCS, di_sha384);
		DI(CKM_SHA512_RSA_PKCS, di_sha512);
	default:
		return false;
	}
#undef DI
}

/* Hashes fetched once: a fetch per operation would cost more than the
 * proxy's whole share of a signature. */
static EVP_MD *fetched[6];
static const char *const fetched_names[6] = {"SHA1", "SHA224", "SHA256", "SHA384", "SHA512", "SM3"};
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;

static void fetch_all(void)
{
	for (size_t i = 0; i < 6; i++)
		fetched[i] = EVP_MD_fetch(NULL, fetched_names[i], NULL);
}

static const EVP_MD *md_by_name(const char *name)
{
	pthread_once(&fetch_once, fetch_all);
	for (size_t i = 0; i < 6; i++)
		if (!strcmp(fetched_names[i], name))
			return fetched[i];
	return NULL;
}

CK_RV px_hash_new(const char *name, void **md)
{
	const EVP_MD *type = md_by_name(name);
	EVP_MD_CTX *c;
	if (!type)
		return CKR_MECHANISM_INVALID;
	if (!(c = EVP_MD_CTX_new()))
		return CKR_HOST_MEMORY;
	if (EVP_DigestInit_ex(c, type, NULL) <= 0) {
		EVP_MD_CTX_free(c);
		return CKR_GENERAL_ERROR;
	}
	*md = c;
	return CKR_OK;
}

CK_RV px_hash_update(void *md, const unsigned char *in, size_t len)
{
	return EVP_DigestUpdate(md, in, len) > 0 ? CKR_OK : CKR_GENERAL_ERROR;
}

CK_RV px_hash_final(void *md, unsigned char *out, size_t *len)
{
	unsigned int n = 0;
	if (EVP_DigestFinal_ex(md, out, &n) <= 0)
		return CKR_GENERAL_ERROR;
	*len = n;
	return CKR_OK;
}

void px_hash_free(void *md)
{
	EVP_MD_CTX_free(md);
}

/* a, b, xG, yG of the SM2 curve (GM/T 0003.5), from OpenSSL. */
static unsigned char sm2_abg[4 * 32];
static bool sm2_abg_ok;
static pthread_once_t sm2_once = PTHREAD_ONCE_INIT;

static void sm2_params(void)
{
	EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_sm2);
	BIGNUM *p = BN_new(), *a = BN_new(), *b = BN_new();
	unsigned char gen[65];
	if (g && p && a && b && EC_GROUP_get_curve(g, p, a, b, NULL) &&
	    BN_bn2binpad(a, sm2_abg, 32) == 32 && BN_bn2binpad(b, sm2_abg + 32, 32) == 32 &&
	    EC_POINT_point2oct(g, EC_GROUP_get0_generator(g), POINT_CONVERSION_UNCOMPRESSED, gen,
			       sizeof gen, NULL) == sizeof gen) {
		memcpy(sm2_abg + 64, gen + 1, 64);
		sm2_abg_ok = true;
	}
	BN_free(p);
	BN_free(a);
	BN_free(b);
	EC_GROUP_free(g);
}

/* Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA), hashed into `md`
 * (an SM3 context) ahead of the message. */
CK_RV px_hash_z(void *md, const unsigned char *point, size_t point_len, const unsigned char *id,
		size_t id_len)
{
	unsigned char z[32], entl[2];
	size_t z_len;
	void *zmd = NULL;
	CK_RV rv;
	if (!id) {
		id = (const unsigned char *)SM2_DEFAULT_ID;
		id_len = sizeof SM2_DEFAULT_ID - 1;
	}
	if (id_len > SM2_ID_MAX)
		return CKR_MECHANISM_PARAM_INVALID;
	if (point_len != 65 || point[0] != 0x04)
		return CKR_KEY_TYPE_INCONSISTENT;
	pthread_once(&sm2_once, sm2_params);
	if (!sm2_abg_ok)
		return CKR_GENERAL_ERROR;
	entl[0] = (unsigned char)((id_len * 8) >> 8);
	entl[1] = (unsigned char)(id_len * 8);
	if ((rv = px_hash_new("SM3", &zmd)) != CKR_OK)
		return rv;
	if ((rv = px_hash_update(zmd, entl, 2)) == CKR_OK &&
	    (rv = px_hash_update(zmd, id, id_len)) == CKR_OK &&
	    (rv = px_hash_update(zmd, sm2_abg, sizeof sm2_abg)) == CKR_OK &&
	    (rv = px_hash_update(zmd, point + 1, 64)) == CKR_OK &&
	    (rv = px_hash_final(zmd, z, &z_len)) == CKR_OK)
		rv = px_hash_update(md, z, z_len);
	px_hash_free(zmd);
	return rv;
}

bool px_ec_point(const unsigned char *v, size_t len, const unsigned char **pt, size_t *pt_len)
{
	if (len >= 3 && v[0] == 0x04 && v[1] == len - 2 && v[1] < 0x80) {
		*pt = v + 2;
		*pt_len = len - 2;
	} else if (len >= 4 && v[0] == 0x04 && v[1] == 0x81 && v[2] == len - 3) {
		*pt = v + 3;
		*pt_len = len - 3;
	} else {
		*pt = v;
		*pt_len = len;
	}
	return *pt_len > 0 && (*pt)[0] == 0x04;
}
