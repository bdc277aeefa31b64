#include "attrs.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#define HDR (2 * sizeof(CK_ULONG))
#define PAD8(n) (((n) + 7u) & ~(size_t)7u)

static CK_ULONG hdr_type(const unsigned char *p)
{
	CK_ULONG v;
	memcpy(&v, p, sizeof v);
	return v;
}

static CK_ULONG hdr_len(const unsigned char *p)
{
	CK_ULONG v;
	memcpy(&v, p + sizeof(CK_ULONG), sizeof v);
	return v;
}

void attrs_init(attr_set *s)
{
	s->buf = NULL;
	s->len = s->cap = 0;
}

void attrs_free(attr_set *s)
{
	if (s->buf) {
		OPENSSL_cleanse(s->buf, s->cap);
		free(s->buf);
	}
	attrs_init(s);
}

/* Grows to hold `need` bytes. Moves the data itself so an old buffer that
 * held key material is wiped before it is freed. */
static CK_RV reserve(attr_set *s, size_t need)
{
	if (need <= s->cap)
		return CKR_OK;
	size_t cap = s->cap ? s->cap : 128;
	while (cap < need)
		cap *= 2;
	unsigned char *nb = malloc(cap);
	if (!nb)
		return CKR_HOST_MEMORY;
	if (s->buf) {
		memcpy(nb, s->buf, s->len);
		OPENSSL_cleanse(s->buf, s->cap);
		free(s->buf);
	}
	s->buf = nb;
	s->cap = cap;
	return CKR_OK;
}

CK_RV attrs_copy(attr_set *dst, const attr_set *src)
{
	attr_set n = ATTR_SET_INIT;
	CK_RV rv = reserve(&n, src->len ? src->len : 1);
	if (rv != CKR_OK)
		return rv;
	if (src->len)
		memcpy(n.buf, src->buf, src->len);
	n.len = src->len;
	attrs_free(dst);
	*dst = n;
	return CKR_OK;
}

CK_RV attrs_load(attr_set *s, const void *blob, size_t len)
{
	const unsigned char *p = blob;
	size_t pos = 0;
	if (len % 8)
		return CKR_GENERAL_ERROR;
	while (pos < len) {
		if (len - pos < HDR)
			return CKR_GENERAL_ERROR;
		CK_ULONG vlen = hdr_len(p + pos);
		if (vlen > len - pos - HDR || PAD8(vlen) > len - pos - HDR)
			return CKR_GENERAL_ERROR;
		pos += HDR + PAD8(vlen);
	}
	attr_set n = ATTR_SET_INIT;
	CK_RV rv = reserve(&n, len ? len : 1);
	if (rv != CKR_OK)
		return rv;
	if (len)
		memcpy(n.buf, blob, len);
	n.len = len;
	attrs_free(s);
	*s = n;
	return CKR_OK;
}

static bool find(const attr_set *s, CK_ATTRIBUTE_TYPE type, size_t *at)
{
	size_t pos = 0;
	while (pos < s->len) {
		if (hdr_type(s->buf + pos) == type) {
			*at = pos;
			return true;
		}
		pos += HDR + PAD8(hdr_len(s->buf + pos));
	}
	return false;
}

const void *attrs_get(const attr_set *s, CK_ATTRIBUTE_TYPE type, CK_ULONG *len)
{
	size_t at;
	if (!find(s, type, &at))
		return NULL;
	if (len)
		*len = hdr_len(s->buf + at);
	return s->buf + at + HDR;
}

bool attrs_has(const attr_set *s, CK_ATTRIBUTE_TYPE type)
{
	size_t at;
	return find(s, type, &at);
}

CK_BBOOL attrs_bool(const attr_set *s, CK_ATTRIBUTE_TYPE type, CK_BBOOL dflt)
{
	CK_ULONG len;
	const CK_BBOOL *v = attrs_get(s, type, &len);
	if (!v || len != sizeof(CK_BBOOL))
		return dflt;
	return *v ? CK_TRUE : CK_FALSE;
}

CK_ULONG attrs_ulong(const attr_set *s, CK_ATTRIBUTE_TYPE type, CK_ULONG dflt)
{
	CK_ULONG len, v;
	const void *p = attrs_get(s, type, &len);
	if (!p || len != sizeof(CK_ULONG))
		return dflt;
	memcpy(&v, p, sizeof v);
	return v;
}

void attrs_remove(attr_set *s, CK_ATTRIBUTE_TYPE type)
{
	size_t at;
	if (!find(s, type, &at))
		return;
	size_t sz = HDR + PAD8(hdr_len(s->buf + at));
	memmove(s->buf + at, s->buf + at + sz, s->len - at - sz);
	s->len -= sz;
	OPENSSL_cleanse(s->buf + s->len, sz);
}

CK_RV attrs_put(attr_set *s, CK_ATTRIBUTE_TYPE type, const void *value, CK_ULONG len)
{
	size_t at;
	if (len > ((size_t)1 << 30))
		return CKR_ATTRIBUTE_VALUE_INVALID;
	if (find(s, type, &at) && hdr_len(s->buf + at) == len) {
		/* Same size: overwrite in place. */
		if (len)
			memcpy(s->buf + at + HDR, value, len);
		return CKR_OK;
	}
	size_t sz = HDR + PAD8(len);
	CK_RV rv = reserve(s, s->len + sz);
	if (rv != CKR_OK)
		return rv;
	attrs_remove(s, type);
	unsigned char *p = s->buf + s->len;
	CK_ULONG t = type, l = len;
	memcpy(p, &t, sizeof t);
	memcpy(p + sizeof t, &l, sizeof l);
	if (len)
		memcpy(p + HDR, value, len);
	memset(p + HDR + len, 0, PAD8(len) - len);
	s->len += sz;
	return CKR_OK;
}

CK_RV attrs_put_bool(attr_set *s, CK_ATTRIBUTE_TYPE type, CK_BBOOL value)
{
	CK_BBOOL v = value ? CK_TRUE : CK_FALSE;
	return attrs_put(s, type, &v, sizeof v);
}

CK_RV attrs_put_ulong(attr_set *s, CK_ATTRIBUTE_TYPE type, CK_ULONG value)
{
	return attrs_put(s, type, &value, sizeof value);
}

bool attrs_next(const attr_set *s, size_t *pos, CK_ATTRIBUTE_TYPE *type, const void **value,
		CK_ULONG *len)
{
	if (*pos >= s->len)
		return false;
	const unsigned char *p = s->buf + *pos;
	*type = hdr_type(p);
	*len = hdr_len(p);
	*value = p + HDR;
	*pos += HDR + PAD8(*len);
	return true;
}

size_t attrs_count(const attr_set *s)
{
	size_t pos = 0, n = 0;
	CK_ATTRIBUTE_TYPE t;
	const void *v;
	CK_ULONG l;
	while (attrs_next(s, &pos, &t, &v, &l))
		n++;
	return n;
}
