/* A set of PKCS#11 attributes packed in one buffer.
 *
 * Each entry is {CK_ULONG type; CK_ULONG len; value; padding to 8}. One
 * allocation per object keeps loading 100,000 objects cheap, and the packed
 * form is also what the store writes (native byte order: a token directory
 * belongs to one machine). */
#ifndef SEALKIT_ATTRS_H
#define SEALKIT_ATTRS_H

#include <stdbool.h>
#include <stddef.h>
#include "pkcs11x.h"

typedef struct attr_set {
	unsigned char *buf;
	size_t len;
	size_t cap;
} attr_set;

#define ATTR_SET_INIT {NULL, 0, 0}

void attrs_init(attr_set *s);
/* Frees the buffer after wiping it (sets may hold key material). */
void attrs_free(attr_set *s);
CK_RV attrs_copy(attr_set *dst, const attr_set *src);
/* Takes a packed blob as stored; CKR_GENERAL_ERROR if it is malformed. */
CK_RV attrs_load(attr_set *s, const void *blob, size_t len);

/* NULL when absent. A present empty value returns a non-NULL pointer. */
const void *attrs_get(const attr_set *s, CK_ATTRIBUTE_TYPE type, CK_ULONG *len);
bool attrs_has(const attr_set *s, CK_ATTRIBUTE_TYPE type);
CK_BBOOL attrs_bool(const attr_set *s, CK_ATTRIBUTE_TYPE type, CK_BBOOL dflt);
CK_ULONG attrs_ulong(const attr_set *s, CK_ATTRIBUTE_TYPE type, CK_ULONG dflt);

/* Adds or replaces. */
CK_RV attrs_put(attr_set *s, CK_ATTRIBUTE_TYPE type, const void *value, CK_ULONG len);
CK_RV attrs_put_bool(attr_set *s, CK_ATTRIBUTE_TYPE type, CK_BBOOL value);
CK_RV attrs_put_ulong(attr_set *s, CK_ATTRIBUTE_TYPE type, CK_ULONG value);
void attrs_remove(attr_set *s, CK_ATTRIBUTE_TYPE type);

/* Iteration: start with *pos = 0; returns false at the end. */
bool attrs_next(const attr_set *s, size_t *pos, CK_ATTRIBUTE_TYPE *type, const void **value,
		CK_ULONG *len);
size_t attrs_count(const attr_set *s);

#endif
