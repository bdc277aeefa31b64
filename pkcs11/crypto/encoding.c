/* The encodings of SM2/ECDSA values that callers and devices disagree on:
 * signatures as r||s or DER, SM2 ciphertexts as C1||C3||C2, C1||C2||C3 or
 * GM/T 0009 DER. Shared by the crypto layer (which speaks DER to OpenSSL)
 * and the proxy (which converts between an application and a device). No
 * key material passes through here. */
#include "config.h"

#include <string.h>
#include <openssl/ec.h>

#include "internal.h"

#define CT_C1 65 /* 04 || x || y */
#define CT_C3 32
#define CT_HALF 32

CK_RV sig_der_to_raw(const unsigned char *der, size_t der_len, unsigned char *raw, size_t half)
{
	const unsigned char *p = der;
	const BIGNUM *r, *s;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	CK_RV rv = CKR_GENERAL_ERROR;

	if (sig == NULL)
		return rv;
	ECDSA_SIG_get0(sig, &r, &s);
	/* Trailing bytes or a value wider than the field: not a signature. */
	if (p == der + der_len && BN_bn2binpad(r, raw, (int)half) == (int)half &&
	    BN_bn2binpad(s, raw + half, (int)half) == (int)half)
		rv = CKR_OK;
	ECDSA_SIG_free(sig);
	return rv;
}

CK_RV sig_raw_to_der(const unsigned char *raw, size_t half, unsigned char *der, size_t *der_len)
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, (int)half, NULL), *s = BN_bin2bn(raw + half, (int)half, NULL);
	unsigned char *p = der;
	CK_RV rv = CKR_HOST_MEMORY;
	int n;

	if (sig == NULL || r == NULL || s == NULL || !ECDSA_SIG_set0(sig, r, s)) {
		BN_free(r);
		BN_free(s);
		goto out;
	}
	n = i2d_ECDSA_SIG(sig, NULL);
	if (n > 0 && (size_t)n <= SIG_DER_MAX(half) && i2d_ECDSA_SIG(sig, &p) == n) {
		*der_len = (size_t)n;
		rv = CKR_OK;
	}
out:
	ECDSA_SIG_free(sig);
	return rv;
}

/* ---- SM2 ciphertexts ---- */

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

/* DER length octets at p (p NULL: only counted); returns their count. */
static size_t put_len(unsigned char *p, size_t len)
{
	size_t n = 0;

	if (len < 0x80) {
		if (p)
			p[0] = (unsigned char)len;
		return 1;
	}
	for (size_t l = len; l; l >>= 8)
		n++;
	if (p) {
		p[0] = (unsigned char)(0x80 | n);
		for (size_t i = 0; i < n; i++)
			p[n - i] = (unsigned char)(len >> (8 * i));
	}
	return n + 1;
}

/* A 32-byte unsigned number as a minimal DER INTEGER (p NULL: counted). */
static size_t put_uint(unsigned char *p, const unsigned char *v)
{
	size_t len = CT_HALF, h = 0;

	while (len > 1 && *v == 0) {
		v++;
		len--;
	}
	bool pad = v[0] & 0x80;
	if (p)
		p[h] = 0x02;
	h++;
	h += put_len(p ? p + h : NULL, len + pad);
	if (p && pad)
		p[h] = 0;
	h += pad;
	if (p)
		memcpy(p + h, v, len);
	return h + len;
}

/* A DER INTEGER as a 32-byte unsigned number; false when negative or wider. */
static bool get_uint(const unsigned char *v, size_t len, unsigned char *out)
{
	if (len == 0 || (v[0] & 0x80))
		return false;
	while (len > 0 && *v == 0) {
		v++;
		len--;
	}
	if (len > CT_HALF)
		return false;
	memset(out, 0, CT_HALF - len);
	memcpy(out + CT_HALF - len, v, len);
	return true;
}

/* The parts of a ciphertext in any layout: C1 copied to c1, C3 and C2
 * pointing into `in`. */
static bool ct_split(sm2_ct_layout layout, const unsigned char *in, size_t len,
		     unsigned char *c1, const unsigned char **c3, const unsigned char **c2,
		     size_t *c2_len)
{
	if (layout != SM2_CT_DER) {
		if (len <= CT_C1 + CT_C3 || in[0] != 0x04)
			return false;
		memcpy(c1, in, CT_C1);
		*c2_len = len - CT_C1 - CT_C3;
		*c3 = in + CT_C1 + (layout == SM2_CT_C1C2C3 ? *c2_len : 0);
		*c2 = in + CT_C1 + (layout == SM2_CT_C1C2C3 ? 0 : CT_C3);
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
	       get_uint(y, yl, c1 + 1 + CT_HALF);
}

/* SEQUENCE{x, y, C3, C2} at out (NULL: only counted); returns its length. */
static size_t put_der(unsigned char *out, const unsigned char *c1, const unsigned char *c3,
		      const unsigned char *c2, size_t c2_len)
{
	size_t body = put_uint(NULL, c1 + 1) + put_uint(NULL, c1 + 1 + CT_HALF) + 1 +
		      put_len(NULL, CT_C3) + CT_C3 + 1 + put_len(NULL, c2_len) + c2_len;
	size_t n = 1 + put_len(NULL, body) + body;

	if (!out)
		return n;
	*out++ = 0x30;
	out += put_len(out, body);
	out += put_uint(out, c1 + 1);
	out += put_uint(out, c1 + 1 + CT_HALF);
	*out++ = 0x04;
	out += put_len(out, CT_C3);
	memcpy(out, c3, CT_C3);
	out += CT_C3;
	*out++ = 0x04;
	out += put_len(out, c2_len);
	memcpy(out, c2, c2_len);
	return n;
}

CK_RV sm2_ct_convert(sm2_ct_layout from, sm2_ct_layout to, const unsigned char *in, size_t in_len,
		     unsigned char *out, size_t out_cap, size_t *out_len)
{
	unsigned char c1[CT_C1];
	const unsigned char *c3, *c2;
	size_t c2_len, need;

	if (!ct_split(from, in, in_len, c1, &c3, &c2, &c2_len))
		return CKR_ENCRYPTED_DATA_INVALID;
	need = to == SM2_CT_DER ? put_der(NULL, c1, c3, c2, c2_len) : CT_C1 + CT_C3 + c2_len;
	*out_len = need;
	if (out_cap < need)
		return CKR_BUFFER_TOO_SMALL;
	/* c3 and c2 point into `in`, which must not be `out`. */
	if (to == SM2_CT_DER) {
		put_der(out, c1, c3, c2, c2_len);
	} else {
		memcpy(out, c1, CT_C1);
		memcpy(out + CT_C1, to == SM2_CT_C1C2C3 ? c2 : c3, to == SM2_CT_C1C2C3 ? c2_len : CT_C3);
		memcpy(out + CT_C1 + (to == SM2_CT_C1C2C3 ? c2_len : CT_C3),
		       to == SM2_CT_C1C2C3 ? c3 : c2, to == SM2_CT_C1C2C3 ? CT_C3 : c2_len);
	}
	return CKR_OK;
}
