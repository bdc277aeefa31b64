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

CK_RV px_der_to_raw(const unsigned char *der, size_t der_len, unsigned char *raw, size_t half)
{
	const unsigned char *p = der;
	const BIGNUM *r, *s;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	CK_RV rv = CKR_GENERAL_ERROR;
	if (!sig)
		return rv;
	ECDSA_SIG_get0(sig, &r, &s);
	/* Trailing bytes or a value wider than the field: not ours to pass. */
	if (p == der + der_len && BN_bn2binpad(r, raw, (int)half) == (int)half &&
	    BN_bn2binpad(s, raw + half, (int)half) == (int)half)
		rv = CKR_OK;
	ECDSA_SIG_free(sig);
	return rv;
}

/* `der` has room for 2 * half + 9 bytes. */
CK_RV px_raw_to_der(const unsigned char *raw, size_t half, unsigned char *der, size_t *der_len)
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, (int)half, NULL), *s = BN_bin2bn(raw + half, (int)half, NULL);
	unsigned char *p = der;
	CK_RV rv = CKR_HOST_MEMORY;
	if (!sig || !r || !s || !ECDSA_SIG_set0(sig, r, s)) {
		BN_free(r);
		BN_free(s);
		goto out;
	}
	int n = i2d_ECDSA_SIG(sig, NULL);
	if (n > 0 && (size_t)n <= 2 * half + 9 && i2d_ECDSA_SIG(sig, &p) == n) {
		*der_len = (size_t)n;
		rv = CKR_OK;
	}
out:
	ECDSA_SIG_free(sig);
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

/* ---- SM2 ciphertext layouts ------------------------------------------------- */

#define CT_C1 65 /* 04 || x || y */
#define CT_C3 32

/* One DER TLV of `tag` at *p; false when malformed. */
static bool tlv(const unsigned char **p, const unsigned char *end, unsigned char tag,
		const unsigned char **val, size_t *len)
{
	const unsigned char *q = *p;
	size_t l = 0;
	if (end - q < 2 || *q++ != tag)
		return false;
	if (*q < 0x80) {
		l = *q++;
	} else {
		size_t n = *q++ & 0x7f;
		if (n == 0 || n > 4 || (size_t)(end - q) < n)
			return false;
		while (n--)
			l = (l << 8) | *q++;
	}
	if ((size_t)(end - q) < l)
		return false;
	*val = q;
	*len = l;
	*p = q + l;
	return true;
}

static size_t put_len(unsigned char *p, size_t len)
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
		p[n - i] = (unsigned char)(len >> (8 * i));
	return n + 1;
}

/* A 32-byte unsigned number as a DER INTEGER. */
static size_t put_uint(unsigned char *p, const unsigned char *v)
{
	size_t len = 32, h = 0;
	while (len > 1 && *v == 0) {
		v++;
		len--;
	}
	p[h++] = 0x02;
	h += put_len(p + h, len + (v[0] & 0x80 ? 1 : 0));
	if (v[0] & 0x80)
		p[h++] = 0;
	memcpy(p + h, v, len);
	return h + len;
}

static bool get_uint(const unsigned char *v, size_t len, unsigned char *out)
{
	if (len == 0 || (v[0] & 0x80))
		return false; /* negative */
	while (len > 0 && *v == 0) {
		v++;
		len--;
	}
	if (len > 32)
		return false;
	memset(out, 0, 32 - len);
	memcpy(out + 32 - len, v, len);
	return true;
}

/* The parts of a ciphertext in any layout: C1 copied to c1, C3 and C2
 * pointing into `in`. */
static bool ct_split(CK_MECHANISM_TYPE layout, const unsigned char *in, size_t len,
		     unsigned char *c1, const unsigned char **c3, const unsigned char **c2,
		     size_t *c2_len)
{
	if (layout != CKM_SM2_ENCRYPT_DER) {
		if (len <= CT_C1 + CT_C3 || in[0] != 0x04)
			return false;
		memcpy(c1, in, CT_C1);
		*c2_len = len - CT_C1 - CT_C3;
		*c3 = in + CT_C1 + (layout == SKI_SM2_ENCRYPT_C1C2C3 ? *c2_len : 0);
		*c2 = in + CT_C1 + (layout == SKI_SM2_ENCRYPT_C1C2C3 ? 0 : CT_C3);
		return true;
	}
	const unsigned char *p = in, *end = in + len, *seq, *x, *y;
	size_t seq_len, xl, yl, c3_len;
	if (!tlv(&p, end, 0x30, &seq, &seq_len) || p != end)
		return false;
	p = seq;
	end = seq + seq_len;
	c1[0] = 0x04;
	return tlv(&p, end, 0x02, &x, &xl) && tlv(&p, end, 0x02, &y, &yl) &&
	       tlv(&p, end, 0x04, c3, &c3_len) && tlv(&p, end, 0x04, c2, c2_len) && p == end &&
	       c3_len == CT_C3 && *c2_len > 0 && get_uint(x, xl, c1 + 1) &&
	       get_uint(y, yl, c1 + 33);
}

CK_RV px_sm2_ct_convert(CK_MECHANISM_TYPE from, CK_MECHANISM_TYPE to, const unsigned char *in,
			size_t in_len, unsigned char *out, size_t *out_len)
{
	unsigned char c1[CT_C1];
	const unsigned char *c3, *c2;
	size_t c2_len, n = 0;
	CK_RV rv = CKR_ENCRYPTED_DATA_INVALID;
	if (!ct_split(from, in, in_len, c1, &c3, &c2, &c2_len))
		goto out;
	rv = CKR_OK;
	if (to == CKM_SM2_ENCRYPT_DER) {
		/* The body after room for the SEQUENCE header, then the header. */
		unsigned char *b = out + 6, hdr[6];
		size_t h = 0;
		n += put_uint(b + n, c1 + 1);
		n += put_uint(b + n, c1 + 33);
		b[n++] = 0x04;
		n += put_len(b + n, CT_C3);
		memcpy(b + n, c3, CT_C3);
		n += CT_C3;
		b[n++] = 0x04;
		n += put_len(b + n, c2_len);
		memmove(b + n, c2, c2_len);
		n += c2_len;
		hdr[h++] = 0x30;
		h += put_len(hdr + h, n);
		memmove(out + h, b, n);
		memcpy(out, hdr, h);
		*out_len = h + n;
		goto out;
	}
	/* c3 and c2 may point into `in`, which is not `out`. */
	memcpy(out, c1, CT_C1);
	if (to == SKI_SM2_ENCRYPT_C1C2C3) {
		memcpy(out + CT_C1, c2, c2_len);
		memcpy(out + CT_C1 + c2_len, c3, CT_C3);
	} else {
		memcpy(out + CT_C1, c3, CT_C3);
		memcpy(out + CT_C1 + CT_C3, c2, c2_len);
	}
	*out_len = CT_C1 + CT_C3 + c2_len;
out:
	return rv;
}
