/* Attribute rules per object class, after the footnotes of the PKCS#11
 * attribute tables, and the template handling built on them. */
#ifndef SEALKIT_ATTRIBUTES_H
#define SEALKIT_ATTRIBUTES_H

#include <stdbool.h>
#include "attrs.h"
#include "object.h"

/* How an object comes to be (decides footnotes 1-6). */
typedef enum attr_origin {
	ORIGIN_CREATE,   /* C_CreateObject */
	ORIGIN_GENERATE, /* C_GenerateKey, C_GenerateKeyPair */
	ORIGIN_UNWRAP,   /* C_UnwrapKey */
	ORIGIN_DERIVE,   /* C_DeriveKey */
} attr_origin;

/* Rule flags; the numbers in comments are the spec's footnotes. */
enum {
	AR_CREATE_REQUIRED = 1 << 0,  /* 1 */
	AR_CREATE_FORBIDDEN = 1 << 1, /* 2 */
	AR_GEN_REQUIRED = 1 << 2,     /* 3 */
	AR_GEN_FORBIDDEN = 1 << 3,    /* 4 */
	AR_UNWRAP_REQUIRED = 1 << 4,  /* 5 */
	AR_UNWRAP_FORBIDDEN = 1 << 5, /* 6 */
	AR_SENSITIVE = 1 << 6,        /* 7: key material, kept sealed */
	AR_MODIFIABLE = 1 << 7,       /* 8 */
	AR_SO_ONLY_TRUE = 1 << 9,     /* 10 */
	AR_STICKY_TRUE = 1 << 10,     /* 11 */
	AR_STICKY_FALSE = 1 << 11,    /* 12 */
	AR_COPY_CHANGE = 1 << 12,     /* may be given to C_CopyObject */
	/* value kinds */
	AR_BOOL = 1 << 13,
	AR_ULONG = 1 << 14,
	AR_DATE = 1 << 15,
	AR_MECHS = 1 << 16, /* array of CK_MECHANISM_TYPE */
};

typedef struct attr_rule {
	CK_ATTRIBUTE_TYPE type;
	unsigned flags;
} attr_rule;

/* The rule for `type` on an object of this class and key type, or NULL if
 * such objects have no such attribute. */
const attr_rule *attr_rule_find(CK_OBJECT_CLASS cls, CK_KEY_TYPE key_type, CK_ATTRIBUTE_TYPE type);
/* True for attributes kept in the object's secret set. */
bool attr_is_secret(CK_OBJECT_CLASS cls, CK_KEY_TYPE key_type, CK_ATTRIBUTE_TYPE type);

/* Reads CKA_CLASS / CKA_KEY_TYPE from a caller's template (CKR_OK and
 * `found` false when absent; CKR_ATTRIBUTE_VALUE_INVALID when malformed). */
CK_RV template_ulong(const CK_ATTRIBUTE *tmpl, CK_ULONG count, CK_ATTRIBUTE_TYPE type,
		     CK_ULONG *value, bool *found);

/* Builds a new object from a caller's template: checks every attribute
 * against the rules for `origin`, fills the defaults, and sets cls, key_type,
 * is_token, is_private. `so` says whether the SO is logged in (footnote 10).
 * For generated/derived/unwrapped keys, `cls` and `key_type` come from the
 * mechanism; a template naming others gives CKR_TEMPLATE_INCONSISTENT. The
 * required key material is checked by the caller (crypto) afterwards, except
 * for ORIGIN_CREATE where everything required must be in the template. */
CK_RV object_from_template(attr_origin origin, CK_OBJECT_CLASS cls, CK_KEY_TYPE key_type,
			   const CK_ATTRIBUTE *tmpl, CK_ULONG count, bool so, sk_object *o);
/* After key generation: CKA_LOCAL, CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE,
 * CKA_KEY_GEN_MECHANISM as the spec wants them for `origin`. */
CK_RV object_finish_key(sk_object *o, attr_origin origin, CK_MECHANISM_TYPE mech);

/* C_SetAttributeValue and C_CopyObject: applies a template to `o` (which is
 * a private copy the caller will commit). `copy` allows the attributes only
 * a copy may change. */
CK_RV object_apply_template(sk_object *o, const CK_ATTRIBUTE *tmpl, CK_ULONG count, bool copy,
			    bool so);

/* C_GetAttributeValue on one object, with the spec's combined result. */
CK_RV object_get_attributes(sk_object *o, CK_ATTRIBUTE *tmpl, CK_ULONG count);

/* True when every attribute of the template matches (C_FindObjects). */
bool object_matches(sk_object *o, const CK_ATTRIBUTE *tmpl, CK_ULONG count);

/* Bytes the object takes (C_GetObjectSize). */
CK_ULONG object_size(sk_object *o);

#endif
