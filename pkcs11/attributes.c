#include "attributes.h"

#include <string.h>

#include <stdlib.h>

#include "crypto/crypto.h"
#include "profile.h"

#define RQ_C AR_CREATE_REQUIRED
#define NO_C AR_CREATE_FORBIDDEN
#define RQ_G AR_GEN_REQUIRED
#define NO_G AR_GEN_FORBIDDEN
#define RQ_U AR_UNWRAP_REQUIRED
#define NO_U AR_UNWRAP_FORBIDDEN
#define SENS AR_SENSITIVE
#define MOD AR_MODIFIABLE
#define CPY AR_COPY_CHANGE

/* Every object (storage attributes). CKA_CLASS is checked separately. */
static const attr_rule common_rules[] = {
	{CKA_CLASS, AR_ULONG},
	{CKA_TOKEN, AR_BOOL | CPY},
	{CKA_PRIVATE, AR_BOOL | CPY},
	{CKA_MODIFIABLE, AR_BOOL | CPY},
	{CKA_COPYABLE, AR_BOOL | CPY},
	{CKA_DESTROYABLE, AR_BOOL | CPY},
	{CKA_LABEL, MOD},
	{CKA_UNIQUE_ID, NO_C | NO_G | NO_U},
	{0, 0}};

static const attr_rule data_rules[] = {
	{CKA_APPLICATION, MOD},
	{CKA_OBJECT_ID, MOD},
	{CKA_VALUE, MOD},
	{0, 0}};

static const attr_rule cert_rules[] = {
	{CKA_CERTIFICATE_TYPE, RQ_C | AR_ULONG},
	{CKA_TRUSTED, AR_BOOL | AR_SO_ONLY_TRUE},
	{CKA_CERTIFICATE_CATEGORY, AR_ULONG},
	{CKA_CHECK_VALUE, 0},
	{CKA_START_DATE, MOD | AR_DATE},
	{CKA_END_DATE, MOD | AR_DATE},
	{CKA_PUBLIC_KEY_INFO, 0},
	/* X.509 public key certificates */
	{CKA_SUBJECT, RQ_C},
	{CKA_ID, MOD},
	{CKA_ISSUER, MOD},
	{CKA_SERIAL_NUMBER, MOD},
	{CKA_VALUE, RQ_C},
	{CKA_URL, 0},
	{CKA_HASH_OF_SUBJECT_PUBLIC_KEY, 0},
	{CKA_HASH_OF_ISSUER_PUBLIC_KEY, 0},
	{CKA_JAVA_MIDP_SECURITY_DOMAIN, AR_ULONG},
	{CKA_NAME_HASH_ALGORITHM, AR_ULONG},
	{0, 0}};

static const attr_rule key_rules[] = {
	{CKA_KEY_TYPE, RQ_C | RQ_U | AR_ULONG},
	{CKA_ID, MOD},
	{CKA_START_DATE, MOD | AR_DATE},
	{CKA_END_DATE, MOD | AR_DATE},
	{CKA_DERIVE, MOD | AR_BOOL},
	{CKA_LOCAL, NO_C | NO_G | NO_U | AR_BOOL},
	{CKA_KEY_GEN_MECHANISM, NO_C | NO_G | NO_U | AR_ULONG},
	{CKA_ALLOWED_MECHANISMS, AR_MECHS},
	{0, 0}};

static const attr_rule public_rules[] = {
	{CKA_SUBJECT, MOD},
	{CKA_ENCRYPT, MOD | AR_BOOL},
	{CKA_VERIFY, MOD | AR_BOOL},
	{CKA_VERIFY_RECOVER, MOD | AR_BOOL},
	{CKA_WRAP, MOD | AR_BOOL},
	{CKA_TRUSTED, AR_BOOL | AR_SO_ONLY_TRUE},
	{CKA_PUBLIC_KEY_INFO, 0},
	{0, 0}};

static const attr_rule private_rules[] = {
	{CKA_SUBJECT, MOD},
	{CKA_SENSITIVE, MOD | AR_BOOL | AR_STICKY_TRUE},
	{CKA_DECRYPT, MOD | AR_BOOL},
	{CKA_SIGN, MOD | AR_BOOL},
	{CKA_SIGN_RECOVER, MOD | AR_BOOL},
	{CKA_UNWRAP, MOD | AR_BOOL},
	{CKA_EXTRACTABLE, MOD | AR_BOOL | AR_STICKY_FALSE},
	{CKA_ALWAYS_SENSITIVE, NO_C | NO_G | NO_U | AR_BOOL},
	{CKA_NEVER_EXTRACTABLE, NO_C | NO_G | NO_U | AR_BOOL},
	{CKA_WRAP_WITH_TRUSTED, AR_BOOL | AR_STICKY_TRUE},
	{CKA_ALWAYS_AUTHENTICATE, AR_BOOL},
	{CKA_PUBLIC_KEY_INFO, 0},
	{0, 0}};

static const attr_rule secret_rules[] = {
	{CKA_SENSITIVE, MOD | AR_BOOL | AR_STICKY_TRUE},
	{CKA_ENCRYPT, MOD | AR_BOOL},
	{CKA_DECRYPT, MOD | AR_BOOL},
	{CKA_SIGN, MOD | AR_BOOL},
	{CKA_VERIFY, MOD | AR_BOOL},
	{CKA_WRAP, MOD | AR_BOOL},
	{CKA_UNWRAP, MOD | AR_BOOL},
	{CKA_EXTRACTABLE, MOD | AR_BOOL | AR_STICKY_FALSE},
	{CKA_ALWAYS_SENSITIVE, NO_C | NO_G | NO_U | AR_BOOL},
	{CKA_NEVER_EXTRACTABLE, NO_C | NO_G | NO_U | AR_BOOL},
	{CKA_CHECK_VALUE, 0},
	{CKA_WRAP_WITH_TRUSTED, AR_BOOL | AR_STICKY_TRUE},
	{CKA_TRUSTED, AR_BOOL | AR_SO_ONLY_TRUE},
	{0, 0}};

static const attr_rule rsa_public_rules[] = {
	{CKA_MODULUS, RQ_C | NO_G},
	{CKA_MODULUS_BITS, NO_C | RQ_G | AR_ULONG},
	{CKA_PUBLIC_EXPONENT, RQ_C},
	{0, 0}};

static const attr_rule rsa_private_rules[] = {
	{CKA_MODULUS, RQ_C | NO_G | NO_U},
	{CKA_PUBLIC_EXPONENT, NO_G | NO_U},
	{CKA_PRIVATE_EXPONENT, RQ_C | NO_G | NO_U | SENS},
	{CKA_PRIME_1, NO_G | NO_U | SENS},
	{CKA_PRIME_2, NO_G | NO_U | SENS},
	{CKA_EXPONENT_1, NO_G | NO_U | SENS},
	{CKA_EXPONENT_2, NO_G | NO_U | SENS},
	{CKA_COEFFICIENT, NO_G | NO_U | SENS},
	{0, 0}};

static const attr_rule ec_public_rules[] = {
	{CKA_EC_PARAMS, RQ_C | RQ_G},
	{CKA_EC_POINT, RQ_C | NO_G},
	{0, 0}};

/* SM2 key pair generation knows its curve: CKA_EC_PARAMS may be left out. */
static const attr_rule sm2_public_rules[] = {
	{CKA_EC_PARAMS, RQ_C},
	{CKA_EC_POINT, RQ_C | NO_G},
	{0, 0}};

/* CKA_EC_POINT on private keys is not in the spec's table, but SM2 clients
 * read it to compute Z (spec/pkcs11-sm.md 1.4), so we keep it there. */
static const attr_rule ec_private_rules[] = {
	{CKA_EC_PARAMS, RQ_C | NO_G | NO_U},
	{CKA_VALUE, RQ_C | NO_G | NO_U | SENS},
	{CKA_EC_POINT, NO_G | NO_U},
	{0, 0}};

static const attr_rule value_secret_rules[] = {
	{CKA_VALUE, RQ_C | NO_G | NO_U | SENS},
	{CKA_VALUE_LEN, NO_C | AR_ULONG},
	{0, 0}};

static bool is_ec_type(CK_KEY_TYPE kt)
{
	return kt == CKK_EC || kt == CKK_SM2;
}

static bool is_value_secret_type(CK_KEY_TYPE kt)
{
	switch (kt) {
	case CKK_GENERIC_SECRET:
	case CKK_AES:
	case CKK_SM4:
#ifdef CKK_SHA256_HMAC
	case CKK_SHA_1_HMAC:
	case CKK_SHA224_HMAC:
	case CKK_SHA256_HMAC:
	case CKK_SHA384_HMAC:
	case CKK_SHA512_HMAC:
#endif
		return true;
	default:
		return false;
	}
}

/* The tables that apply, most specific first (a type listed twice takes
 * the more specific rule). */
static size_t rule_tables(CK_OBJECT_CLASS cls, CK_KEY_TYPE kt, const attr_rule *out[4])
{
	size_t n = 0;
	switch (cls) {
	case CKO_DATA:
		out[n++] = data_rules;
		break;
	case CKO_CERTIFICATE:
		out[n++] = cert_rules;
		break;
	case CKO_PUBLIC_KEY:
		if (kt == CKK_RSA)
			out[n++] = rsa_public_rules;
		else if (kt == CKK_SM2)
			out[n++] = sm2_public_rules;
		else if (is_ec_type(kt))
			out[n++] = ec_public_rules;
		out[n++] = public_rules;
		out[n++] = key_rules;
		break;
	case CKO_PRIVATE_KEY:
		if (kt == CKK_RSA)
			out[n++] = rsa_private_rules;
		else if (is_ec_type(kt))
			out[n++] = ec_private_rules;
		out[n++] = private_rules;
		out[n++] = key_rules;
		break;
	case CKO_SECRET_KEY:
		if (is_value_secret_type(kt))
			out[n++] = value_secret_rules;
		out[n++] = secret_rules;
		out[n++] = key_rules;
		break;
	default:
		break;
	}
	out[n++] = common_rules;
	return n;
}

static bool key_type_known(CK_OBJECT_CLASS cls, CK_KEY_TYPE kt)
{
	if (cls == CKO_SECRET_KEY)
		return is_value_secret_type(kt);
	return kt == CKK_RSA || is_ec_type(kt);
}

const attr_rule *attr_rule_find(CK_OBJECT_CLASS cls, CK_KEY_TYPE kt, CK_ATTRIBUTE_TYPE type)
{
	const attr_rule *tables[4];
	size_t n = rule_tables(cls, kt, tables);
	for (size_t i = 0; i < n; i++)
		for (const attr_rule *r = tables[i]; r->type || r->flags; r++)
			if (r->type == type)
				return r;
	return NULL;
}

bool attr_is_secret(CK_OBJECT_CLASS cls, CK_KEY_TYPE kt, CK_ATTRIBUTE_TYPE type)
{
	const attr_rule *r = attr_rule_find(cls, kt, type);
	return r && (r->flags & AR_SENSITIVE);
}

CK_RV template_ulong(const CK_ATTRIBUTE *tmpl, CK_ULONG count, CK_ATTRIBUTE_TYPE type,
		     CK_ULONG *value, bool *found)
{
	*found = false;
	for (CK_ULONG i = 0; i < count; i++) {
		if (tmpl[i].type != type)
			continue;
		if (!tmpl[i].pValue || tmpl[i].ulValueLen != sizeof(CK_ULONG))
			return CKR_ATTRIBUTE_VALUE_INVALID;
		CK_ULONG v;
		memcpy(&v, tmpl[i].pValue, sizeof v);
		if (*found && v != *value)
			return CKR_TEMPLATE_INCONSISTENT;
		*value = v;
		*found = true;
	}
	return CKR_OK;
}

/* ---- codes the vendor profile renumbers --------------------------------
 * Objects store our numbering (so a token keeps its meaning when the
 * profile changes); callers see and give the active profile's. */

static bool is_coded(CK_ATTRIBUTE_TYPE type)
{
	return type == CKA_KEY_TYPE || type == CKA_KEY_GEN_MECHANISM ||
	       type == CKA_ALLOWED_MECHANISMS;
}

/* A caller's mechanism in our numbering; a code the profile does not know
 * stays as given (it then names nothing we can do). */
static CK_ULONG mech_in(CK_ULONG code)
{
	CK_ULONG op = profile_mech_in(profile_active(), code);
	return op == CK_UNAVAILABLE_INFORMATION ? code : op;
}

/* The caller's value of a coded attribute in our numbering, in `conv`
 * (whose pValue is *tmp when a buffer was needed, to be freed). Shapes are
 * checked by the rules before anything relies on them. */
static CK_RV coded_in(const CK_ATTRIBUTE *a, CK_ATTRIBUTE *conv, CK_ULONG *one, void **tmp)
{
	*conv = *a;
	*tmp = NULL;
	if (!is_coded(a->type) || !a->pValue)
		return CKR_OK;
	if (a->type != CKA_ALLOWED_MECHANISMS) {
		if (a->ulValueLen != sizeof(CK_ULONG))
			return CKR_OK;
		memcpy(one, a->pValue, sizeof *one);
		*one = a->type == CKA_KEY_TYPE ? profile_key_in(profile_active(), *one)
					       : mech_in(*one);
		conv->pValue = one;
		return CKR_OK;
	}
	size_t n = a->ulValueLen / sizeof(CK_MECHANISM_TYPE);
	CK_MECHANISM_TYPE *v = malloc(n ? n * sizeof *v : 1);
	if (!v)
		return CKR_HOST_MEMORY;
	memcpy(v, a->pValue, n * sizeof *v);
	for (size_t i = 0; i < n; i++)
		v[i] = mech_in(v[i]);
	conv->pValue = v;
	*tmp = v;
	return CKR_OK;
}

/* A stored coded value in the caller's numbering, into buf (of cap bytes,
 * enough for the stored value). An operation the profile gives no code is
 * left out of CKA_ALLOWED_MECHANISMS and unavailable as the generating
 * mechanism: its canonical code might mean something else here. */
static CK_ULONG coded_out(CK_ATTRIBUTE_TYPE type, const void *v, CK_ULONG len, void *buf)
{
	const sk_profile *p = profile_active();
	CK_ULONG n = len / sizeof(CK_ULONG), w = 0, x;
	CK_ULONG *out = buf;

	for (CK_ULONG i = 0; i < n; i++) {
		memcpy(&x, (const unsigned char *)v + i * sizeof x, sizeof x);
		if (type == CKA_KEY_TYPE) {
			out[w++] = profile_key_out(p, x);
		} else if (profile_mech_out(p, x, &out[w])) {
			w++;
		} else if (type == CKA_KEY_GEN_MECHANISM) {
			out[w++] = CK_UNAVAILABLE_INFORMATION;
		} else if (profile_mech_in(p, x) == CK_UNAVAILABLE_INFORMATION &&
			   (x < SKI_BASE || x > SKI_BASE + 0xFF)) {
			out[w++] = x; /* a code nobody here knows: as given */
		}
	}
	return w * sizeof(CK_ULONG);
}

/* Checks a value's shape against its rule. */
static CK_RV check_value(const attr_rule *r, const CK_ATTRIBUTE *a)
{
	if (!a->pValue && a->ulValueLen)
		return CKR_ATTRIBUTE_VALUE_INVALID;
	if ((r->flags & AR_BOOL) && a->ulValueLen != sizeof(CK_BBOOL))
		return CKR_ATTRIBUTE_VALUE_INVALID;
	if ((r->flags & AR_ULONG) && a->ulValueLen != sizeof(CK_ULONG))
		return CKR_ATTRIBUTE_VALUE_INVALID;
	if ((r->flags & AR_DATE) && a->ulValueLen != 0 && a->ulValueLen != sizeof(CK_DATE))
		return CKR_ATTRIBUTE_VALUE_INVALID;
	if ((r->flags & AR_MECHS) && a->ulValueLen % sizeof(CK_MECHANISM_TYPE))
		return CKR_ATTRIBUTE_VALUE_INVALID;
	if ((r->flags & AR_DATE) && a->ulValueLen) {
		const unsigned char *d = a->pValue;
		for (size_t i = 0; i < sizeof(CK_DATE); i++)
			if (d[i] < '0' || d[i] > '9')
				return CKR_ATTRIBUTE_VALUE_INVALID;
	}
	return CKR_OK;
}

static bool bool_value(const CK_ATTRIBUTE *a)
{
	return *(const CK_BBOOL *)a->pValue != CK_FALSE;
}

static CK_RV put(sk_object *o, CK_ATTRIBUTE_TYPE type, const void *v, CK_ULONG len)
{
	return object_set_value(o, type, v, len);
}

/* Stores a caller's attribute, in our numbering where the profile renumbers. */
static CK_RV put_coded(sk_object *o, const CK_ATTRIBUTE *a)
{
	CK_ATTRIBUTE c;
	CK_ULONG one;
	void *tmp;
	CK_RV rv = coded_in(a, &c, &one, &tmp);

	if (rv == CKR_OK)
		rv = put(o, c.type, c.ulValueLen ? c.pValue : "", c.ulValueLen);
	free(tmp);
	return rv;
}

static CK_RV put_default_bool(sk_object *o, CK_ATTRIBUTE_TYPE type, CK_BBOOL v)
{
	if (attrs_has(&o->attrs, type))
		return CKR_OK;
	return attrs_put_bool(&o->attrs, type, v);
}

static CK_RV put_default_bytes(sk_object *o, CK_ATTRIBUTE_TYPE type)
{
	if (attrs_has(&o->attrs, type))
		return CKR_OK;
	return attrs_put(&o->attrs, type, "", 0);
}

static CK_RV put_default_ulong(sk_object *o, CK_ATTRIBUTE_TYPE type, CK_ULONG v)
{
	if (attrs_has(&o->attrs, type))
		return CKR_OK;
	return attrs_put_ulong(&o->attrs, type, v);
}

static CK_RV fill_defaults(sk_object *o)
{
	CK_RV rv = CKR_OK;
	bool key = o->cls == CKO_PUBLIC_KEY || o->cls == CKO_PRIVATE_KEY ||
		   o->cls == CKO_SECRET_KEY;
#define TRY(x)                                                                                     \
	do {                                                                                       \
		if ((rv = (x)) != CKR_OK)                                                          \
			return rv;                                                                 \
	} while (0)
	TRY(put_default_bool(o, CKA_TOKEN, CK_FALSE));
	TRY(put_default_bool(o, CKA_PRIVATE,
			     o->cls == CKO_PRIVATE_KEY || o->cls == CKO_SECRET_KEY));
	TRY(put_default_bool(o, CKA_MODIFIABLE, CK_TRUE));
	TRY(put_default_bool(o, CKA_COPYABLE, CK_TRUE));
	TRY(put_default_bool(o, CKA_DESTROYABLE, CK_TRUE));
	TRY(put_default_bytes(o, CKA_LABEL));
	if (!attrs_has(&o->attrs, CKA_UNIQUE_ID)) {
		unsigned char raw[16];
		char hex[33];
		TRY(crypto_random(raw, sizeof raw));
		static const char digits[] = "0123456789abcdef";
		for (size_t i = 0; i < sizeof raw; i++) {
			hex[2 * i] = digits[raw[i] >> 4];
			hex[2 * i + 1] = digits[raw[i] & 15];
		}
		TRY(attrs_put(&o->attrs, CKA_UNIQUE_ID, hex, 32));
	}
	switch (o->cls) {
	case CKO_DATA:
		TRY(put_default_bytes(o, CKA_APPLICATION));
		TRY(put_default_bytes(o, CKA_OBJECT_ID));
		TRY(put_default_bytes(o, CKA_VALUE));
		break;
	case CKO_CERTIFICATE:
		TRY(put_default_bool(o, CKA_TRUSTED, CK_FALSE));
		TRY(put_default_ulong(o, CKA_CERTIFICATE_CATEGORY, 0));
		TRY(put_default_bytes(o, CKA_START_DATE));
		TRY(put_default_bytes(o, CKA_END_DATE));
		TRY(put_default_bytes(o, CKA_ID));
		TRY(put_default_bytes(o, CKA_ISSUER));
		TRY(put_default_bytes(o, CKA_SERIAL_NUMBER));
		TRY(put_default_ulong(o, CKA_JAVA_MIDP_SECURITY_DOMAIN, 0));
		break;
	case CKO_PUBLIC_KEY:
		TRY(put_default_bytes(o, CKA_SUBJECT));
		TRY(put_default_bool(o, CKA_ENCRYPT, CK_TRUE));
		TRY(put_default_bool(o, CKA_VERIFY, CK_TRUE));
		TRY(put_default_bool(o, CKA_VERIFY_RECOVER, CK_TRUE));
		TRY(put_default_bool(o, CKA_WRAP, CK_TRUE));
		TRY(put_default_bool(o, CKA_TRUSTED, CK_FALSE));
		break;
	case CKO_PRIVATE_KEY:
		TRY(put_default_bytes(o, CKA_SUBJECT));
		TRY(put_default_bool(o, CKA_SENSITIVE, CK_TRUE));
		TRY(put_default_bool(o, CKA_DECRYPT, CK_TRUE));
		TRY(put_default_bool(o, CKA_SIGN, CK_TRUE));
		TRY(put_default_bool(o, CKA_SIGN_RECOVER, CK_TRUE));
		TRY(put_default_bool(o, CKA_UNWRAP, CK_TRUE));
		TRY(put_default_bool(o, CKA_EXTRACTABLE, CK_FALSE));
		TRY(put_default_bool(o, CKA_WRAP_WITH_TRUSTED, CK_FALSE));
		TRY(put_default_bool(o, CKA_ALWAYS_AUTHENTICATE, CK_FALSE));
		break;
	case CKO_SECRET_KEY:
		TRY(put_default_bool(o, CKA_SENSITIVE, CK_TRUE));
		TRY(put_default_bool(o, CKA_ENCRYPT, CK_TRUE));
		TRY(put_default_bool(o, CKA_DECRYPT, CK_TRUE));
		TRY(put_default_bool(o, CKA_SIGN, CK_TRUE));
		TRY(put_default_bool(o, CKA_VERIFY, CK_TRUE));
		TRY(put_default_bool(o, CKA_WRAP, CK_TRUE));
		TRY(put_default_bool(o, CKA_UNWRAP, CK_TRUE));
		TRY(put_default_bool(o, CKA_EXTRACTABLE, CK_FALSE));
		TRY(put_default_bool(o, CKA_WRAP_WITH_TRUSTED, CK_FALSE));
		TRY(put_default_bool(o, CKA_TRUSTED, CK_FALSE));
		break;
	default:
		break;
	}
	if (key) {
		TRY(put_default_bytes(o, CKA_ID));
		TRY(put_default_bytes(o, CKA_START_DATE));
		TRY(put_default_bytes(o, CKA_END_DATE));
		TRY(put_default_bool(o, CKA_DERIVE, CK_FALSE));
		TRY(put_default_bool(o, CKA_LOCAL, CK_FALSE));
		TRY(put_default_ulong(o, CKA_KEY_GEN_MECHANISM, CK_UNAVAILABLE_INFORMATION));
		TRY(put_default_bool(o, CKA_ALWAYS_SENSITIVE, CK_FALSE));
		TRY(put_default_bool(o, CKA_NEVER_EXTRACTABLE, CK_FALSE));
		if (o->cls == CKO_PUBLIC_KEY) {
			attrs_remove(&o->attrs, CKA_ALWAYS_SENSITIVE);
			attrs_remove(&o->attrs, CKA_NEVER_EXTRACTABLE);
		}
	}
#undef TRY
	return rv;
}

CK_RV object_from_template(attr_origin origin, CK_OBJECT_CLASS cls, CK_KEY_TYPE key_type,
			   const CK_ATTRIBUTE *tmpl, CK_ULONG count, bool so, sk_object *o)
{
	CK_RV rv;
	CK_ULONG v;
	bool found;

	if (count && !tmpl)
		return CKR_ARGUMENTS_BAD;
	if ((rv = template_ulong(tmpl, count, CKA_CLASS, &v, &found)) != CKR_OK)
		return rv;
	if (origin == ORIGIN_CREATE) {
		if (!found)
			return CKR_TEMPLATE_INCOMPLETE;
		cls = v;
	} else if (found && v != cls) {
		return CKR_TEMPLATE_INCONSISTENT;
	}
	if (cls != CKO_DATA && cls != CKO_CERTIFICATE && cls != CKO_PUBLIC_KEY &&
	    cls != CKO_PRIVATE_KEY && cls != CKO_SECRET_KEY)
		return origin == ORIGIN_CREATE ? CKR_ATTRIBUTE_VALUE_INVALID
					       : CKR_TEMPLATE_INCONSISTENT;

	bool is_key = cls == CKO_PUBLIC_KEY || cls == CKO_PRIVATE_KEY || cls == CKO_SECRET_KEY;
	key_type = is_key ? key_type : CK_UNAVAILABLE_INFORMATION;
	if (is_key) {
		if ((rv = template_ulong(tmpl, count, CKA_KEY_TYPE, &v, &found)) != CKR_OK)
			return rv;
		/* Objects store our key type whatever alias the caller used. */
		v = found ? mech_canonical_key_type(v) : v;
		if (found) {
			if (key_type == CK_UNAVAILABLE_INFORMATION)
				key_type = v;
			else if (key_type != v &&
				 !(is_ec_type(key_type) && is_ec_type(v)))
				return CKR_TEMPLATE_INCONSISTENT;
		}
		if (key_type == CK_UNAVAILABLE_INFORMATION)
			return CKR_TEMPLATE_INCOMPLETE;
		if (!key_type_known(cls, key_type))
			return origin == ORIGIN_CREATE || origin == ORIGIN_UNWRAP
				       ? CKR_ATTRIBUTE_VALUE_INVALID
				       : CKR_TEMPLATE_INCONSISTENT;
	} else if (cls == CKO_CERTIFICATE) {
		if ((rv = template_ulong(tmpl, count, CKA_CERTIFICATE_TYPE, &v, &found)) != CKR_OK)
			return rv;
		if (!found)
			return CKR_TEMPLATE_INCOMPLETE;
		if (v != CKC_X_509)
			return CKR_ATTRIBUTE_VALUE_INVALID;
	}
	o->cls = cls;
	o->key_type = key_type;

	unsigned req = origin == ORIGIN_CREATE     ? AR_CREATE_REQUIRED
		       : origin == ORIGIN_GENERATE ? AR_GEN_REQUIRED
		       : origin == ORIGIN_UNWRAP   ? AR_UNWRAP_REQUIRED
						   : 0;
	unsigned forbid = origin == ORIGIN_CREATE     ? AR_CREATE_FORBIDDEN
			  : origin == ORIGIN_GENERATE ? AR_GEN_FORBIDDEN
						      : AR_UNWRAP_FORBIDDEN;

	for (CK_ULONG i = 0; i < count; i++) {
		const CK_ATTRIBUTE *a = &tmpl[i];
		const attr_rule *r = attr_rule_find(cls, key_type, a->type);
		if (!r)
			return CKR_ATTRIBUTE_TYPE_INVALID;
		if ((rv = check_value(r, a)) != CKR_OK)
			return rv;
		if (r->flags & forbid)
			return CKR_ATTRIBUTE_READ_ONLY;
		if ((r->flags & AR_SO_ONLY_TRUE) && bool_value(a) && !so)
			return CKR_ATTRIBUTE_READ_ONLY;
		/* The same attribute twice must agree. */
		for (CK_ULONG j = 0; j < i; j++)
			if (tmpl[j].type == a->type &&
			    (tmpl[j].ulValueLen != a->ulValueLen ||
			     (a->ulValueLen && memcmp(tmpl[j].pValue, a->pValue, a->ulValueLen))))
				return CKR_TEMPLATE_INCONSISTENT;
		if (a->type == CKA_CLASS || a->type == CKA_KEY_TYPE)
			continue;
		if ((rv = put_coded(o, a)) != CKR_OK)
			return rv;
	}
	if (is_key && (rv = attrs_put_ulong(&o->attrs, CKA_KEY_TYPE, key_type)) != CKR_OK)
		return rv;
	if ((rv = attrs_put_ulong(&o->attrs, CKA_CLASS, cls)) != CKR_OK)
		return rv;

	/* Required attributes of this origin. */
	if (req) {
		const attr_rule *tables[4];
		size_t n = rule_tables(cls, key_type, tables);
		for (size_t t = 0; t < n; t++)
			for (const attr_rule *r = tables[t]; r->type || r->flags; r++)
				if ((r->flags & req) && !attrs_has(&o->attrs, r->type) &&
				    !attrs_has(&o->secret, r->type) && r->type != CKA_CLASS)
					return CKR_TEMPLATE_INCOMPLETE;
	}
	if ((rv = fill_defaults(o)) != CKR_OK)
		return rv;
	o->is_token = attrs_bool(&o->attrs, CKA_TOKEN, CK_FALSE);
	o->is_private = attrs_bool(&o->attrs, CKA_PRIVATE, CK_FALSE);
	return CKR_OK;
}

CK_RV object_finish_key(sk_object *o, attr_origin origin, CK_MECHANISM_TYPE mech)
{
	CK_RV rv;
	bool local = origin == ORIGIN_GENERATE;
	if ((rv = attrs_put_bool(&o->attrs, CKA_LOCAL, local)) != CKR_OK)
		return rv;
	if ((rv = attrs_put_ulong(&o->attrs, CKA_KEY_GEN_MECHANISM,
				  local ? mech : CK_UNAVAILABLE_INFORMATION)) != CKR_OK)
		return rv;
	if (o->cls != CKO_PRIVATE_KEY && o->cls != CKO_SECRET_KEY)
		return CKR_OK;
	/* Derived keys inherit from their base (set by the caller afterwards);
	 * generated ones start from their own flags; created or unwrapped keys
	 * were in the clear somewhere, so they were never "always" anything. */
	bool fresh = origin == ORIGIN_GENERATE || origin == ORIGIN_DERIVE;
	CK_BBOOL sens = attrs_bool(&o->attrs, CKA_SENSITIVE, CK_FALSE);
	CK_BBOOL extr = attrs_bool(&o->attrs, CKA_EXTRACTABLE, CK_FALSE);
	if ((rv = attrs_put_bool(&o->attrs, CKA_ALWAYS_SENSITIVE, fresh && sens)) != CKR_OK)
		return rv;
	return attrs_put_bool(&o->attrs, CKA_NEVER_EXTRACTABLE, fresh && !extr);
}

/* One attribute of C_SetAttributeValue / C_CopyObject, value in our numbering. */
static CK_RV apply_one(sk_object *o, const attr_rule *r, const CK_ATTRIBUTE *a, bool copy,
		       bool so)
{
	CK_RV rv;
	const void *cur;
	CK_ULONG cur_len = 0;
	cur = attrs_get(&o->attrs, a->type, &cur_len);
	bool same = cur && cur_len == a->ulValueLen &&
		    (!cur_len || memcmp(cur, a->pValue, cur_len) == 0);
	if (same)
		return CKR_OK; /* setting a value to itself is always fine */
	bool allowed = (r->flags & AR_MODIFIABLE) || (copy && (r->flags & AR_COPY_CHANGE));
	if (!allowed)
		return CKR_ATTRIBUTE_READ_ONLY;
	if ((r->flags & AR_SO_ONLY_TRUE) && bool_value(a) && !so)
		return CKR_ATTRIBUTE_READ_ONLY;
	if ((r->flags & AR_STICKY_TRUE) && cur && *(const CK_BBOOL *)cur && !bool_value(a))
		return CKR_ATTRIBUTE_READ_ONLY;
	if ((r->flags & AR_STICKY_FALSE) && cur && !*(const CK_BBOOL *)cur &&
	    bool_value(a))
		return CKR_ATTRIBUTE_READ_ONLY;
	/* A copy may only take these from TRUE to FALSE. */
	if (copy && (a->type == CKA_MODIFIABLE || a->type == CKA_COPYABLE ||
		     a->type == CKA_DESTROYABLE) && bool_value(a))
		return CKR_ATTRIBUTE_READ_ONLY;
	if ((rv = put(o, a->type, a->ulValueLen ? a->pValue : "", a->ulValueLen)) != CKR_OK)
		return rv;
	/* Turning SENSITIVE on / EXTRACTABLE off is allowed; the
	 * ALWAYS_ / NEVER_ flags stay as they were (they only go
	 * false when the key was exposed). */
	return CKR_OK;
}

CK_RV object_apply_template(sk_object *o, const CK_ATTRIBUTE *tmpl, CK_ULONG count, bool copy,
			    bool so)
{
	CK_RV rv;
	if (count && !tmpl)
		return CKR_ARGUMENTS_BAD;
	for (CK_ULONG i = 0; i < count; i++) {
		CK_ATTRIBUTE conv;
		CK_ULONG one;
		void *tmp = NULL;
		const attr_rule *r = attr_rule_find(o->cls, o->key_type, tmpl[i].type);
		if (!r)
			return CKR_ATTRIBUTE_TYPE_INVALID;
		if ((rv = check_value(r, &tmpl[i])) != CKR_OK)
			return rv;
		if ((rv = coded_in(&tmpl[i], &conv, &one, &tmp)) != CKR_OK)
			return rv;
		rv = apply_one(o, r, &conv, copy, so);
		free(tmp);
		if (rv != CKR_OK)
			return rv;
	}
	o->is_token = attrs_bool(&o->attrs, CKA_TOKEN, CK_FALSE);
	o->is_private = attrs_bool(&o->attrs, CKA_PRIVATE, CK_FALSE);
	return CKR_OK;
}

static bool hidden(sk_object *o, CK_ATTRIBUTE_TYPE type)
{
	if (!attr_is_secret(o->cls, o->key_type, type))
		return false;
	return attrs_bool(&o->attrs, CKA_SENSITIVE, CK_FALSE) ||
	       !attrs_bool(&o->attrs, CKA_EXTRACTABLE, CK_FALSE);
}

CK_RV object_get_attributes(sk_object *o, CK_ATTRIBUTE *tmpl, CK_ULONG count)
{
	CK_RV result = CKR_OK;
	/* Readable secret values (non-sensitive, extractable keys) come from a
	 * copy: a logout may wipe the object's own at any time. */
	attr_set sec = ATTR_SET_INIT;
	bool have_sec = false;
	for (CK_ULONG i = 0; i < count; i++) {
		CK_ATTRIBUTE *a = &tmpl[i];
		CK_RV rv = CKR_OK;
		const void *v = NULL;
		CK_ULONG len = 0;
		CK_ULONG small[16];
		void *conv = NULL;
		if (hidden(o, a->type)) {
			rv = CKR_ATTRIBUTE_SENSITIVE;
		} else if (attr_is_secret(o->cls, o->key_type, a->type) &&
			   !attrs_has(&o->attrs, a->type)) {
			if (!have_sec && (rv = object_secret_copy(o, &sec)) != CKR_OK) {
				result = rv;
				goto out;
			}
			have_sec = true;
			v = attrs_get(&sec, a->type, &len);
			if (!v)
				rv = CKR_ATTRIBUTE_TYPE_INVALID;
		} else {
			if ((rv = object_value(o, a->type, &v, &len)) != CKR_OK) {
				result = rv;
				goto out;
			}
			if (!v)
				rv = CKR_ATTRIBUTE_TYPE_INVALID;
		}
		if (rv == CKR_OK && is_coded(a->type)) {
			conv = len <= sizeof small ? small : malloc(len);
			if (!conv) {
				result = CKR_HOST_MEMORY;
				goto out;
			}
			len = coded_out(a->type, v, len, conv);
			v = conv;
		}
		if (rv == CKR_OK && a->pValue) {
			if (a->ulValueLen < len)
				rv = CKR_BUFFER_TOO_SMALL;
			else if (len)
				memcpy(a->pValue, v, len);
		}
		if (conv != small)
			free(conv);
		if (rv == CKR_OK) {
			a->ulValueLen = len;
		} else {
			a->ulValueLen = CK_UNAVAILABLE_INFORMATION;
			if (result == CKR_OK)
				result = rv;
		}
	}
out:
	attrs_free(&sec);
	return result;
}

bool object_matches(sk_object *o, const CK_ATTRIBUTE *tmpl, CK_ULONG count)
{
	for (CK_ULONG i = 0; i < count; i++) {
		CK_ULONG len;
		/* Secret attributes never match: searching by key value would
		 * be an oracle for sensitive keys. */
		if (attr_is_secret(o->cls, o->key_type, tmpl[i].type))
			return false;
		const void *v = attrs_get(&o->attrs, tmpl[i].type, &len);
		if (!v || len != tmpl[i].ulValueLen)
			return false;
		CK_ATTRIBUTE want;
		CK_ULONG one;
		void *tmp;
		/* Allocation failure: no match rather than a wrong one. */
		if (coded_in(&tmpl[i], &want, &one, &tmp) != CKR_OK)
			return false;
		bool differ = len && (!want.pValue || memcmp(v, want.pValue, len));
		free(tmp);
		if (differ)
			return false;
	}
	return true;
}

CK_ULONG object_size(sk_object *o)
{
	return (CK_ULONG)(o->attrs.len + (o->sealed ? o->sealed_len : o->secret.len));
}
