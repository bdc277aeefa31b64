/* Numbers between the application and a device: both speak a profile
 * (profile.h), ours is the active one, the device's comes with its proxy
 * entry; they meet in our operation codes. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

CK_MECHANISM_TYPE px_op_of(CK_MECHANISM_TYPE app_code)
{
	return profile_mech_in(profile_active(), app_code);
}

bool px_app_code(CK_MECHANISM_TYPE op, CK_MECHANISM_TYPE *code)
{
	return profile_mech_out(profile_active(), op, code);
}

/* Application mechanism code -> device code; unchanged when either side
 * has no name for it (the device then judges it). */
static CK_MECHANISM_TYPE mech_to_dev(const px_slot *sl, CK_MECHANISM_TYPE v)
{
	CK_MECHANISM_TYPE op = px_op_of(v), code;
	const px_mech *m;
	if (op == CK_UNAVAILABLE_INFORMATION)
		return v;
	if ((m = px_mech_for(sl, op)))
		return m->code;
	return profile_mech_out(sl->mod->prof, op, &code) ? code : v;
}

static CK_MECHANISM_TYPE mech_from_dev(const px_slot *sl, CK_MECHANISM_TYPE v)
{
	CK_MECHANISM_TYPE op = profile_mech_in(sl->mod->prof, v), code;
	if (op == CK_UNAVAILABLE_INFORMATION)
		return v;
	return px_app_code(op, &code) ? code : v;
}

static CK_KEY_TYPE key_to_dev(const px_slot *sl, CK_KEY_TYPE v)
{
	return profile_key_out(sl->mod->prof, profile_key_in(profile_active(), v));
}

static CK_KEY_TYPE key_from_dev(const px_slot *sl, CK_KEY_TYPE v)
{
	return profile_key_out(profile_active(), profile_key_in(sl->mod->prof, v));
}

/* Whether an attribute holds numbers we translate, and how many. */
static size_t numbers_in(const CK_ATTRIBUTE *a)
{
	if (!a->pValue || a->ulValueLen == CK_UNAVAILABLE_INFORMATION ||
	    a->ulValueLen % sizeof(CK_ULONG))
		return 0;
	switch (a->type) {
	case CKA_KEY_TYPE:
	case CKA_KEY_GEN_MECHANISM:
		return a->ulValueLen == sizeof(CK_ULONG) ? 1 : 0;
	case CKA_ALLOWED_MECHANISMS:
		return a->ulValueLen / sizeof(CK_ULONG);
	default:
		return 0;
	}
}

static CK_ULONG number_to_dev(const px_slot *sl, CK_ATTRIBUTE_TYPE type, CK_ULONG v)
{
	if (v < CKM_VENDOR_DEFINED)
		return v; /* standard numbers are everybody's */
	return type == CKA_KEY_TYPE ? key_to_dev(sl, v) : mech_to_dev(sl, v);
}

CK_RV px_template_in(const px_slot *sl, CK_ATTRIBUTE *in, CK_ULONG n, CK_ATTRIBUTE **out,
		     void **tmp)
{
	size_t values = 0;
	bool change = false;
	*out = in;
	*tmp = NULL;
	for (CK_ULONG i = 0; i < n; i++) {
		size_t k = numbers_in(&in[i]);
		const CK_ULONG *v = in[i].pValue;
		values += k;
		for (size_t j = 0; j < k && !change; j++)
			change = number_to_dev(sl, in[i].type, v[j]) != v[j];
	}
	if (!change)
		return CKR_OK; /* the caller's own template, no copy */
	/* One block: the attributes, then the translated values. */
	CK_ATTRIBUTE *t = malloc(n * sizeof *t + values * sizeof(CK_ULONG));
	if (!t)
		return CKR_HOST_MEMORY;
	CK_ULONG *vals = (CK_ULONG *)(t + n);
	memcpy(t, in, n * sizeof *t);
	for (CK_ULONG i = 0; i < n; i++) {
		size_t k = numbers_in(&in[i]);
		const CK_ULONG *v = in[i].pValue;
		if (!k)
			continue;
		for (size_t j = 0; j < k; j++)
			vals[j] = number_to_dev(sl, in[i].type, v[j]);
		t[i].pValue = vals;
		vals += k;
	}
	*out = t;
	*tmp = t;
	return CKR_OK;
}

void px_template_out(const px_slot *sl, CK_ATTRIBUTE *t, CK_ULONG n)
{
	for (CK_ULONG i = 0; i < n; i++) {
		size_t k = numbers_in(&t[i]);
		CK_ULONG *v = t[i].pValue;
		for (size_t j = 0; j < k; j++) {
			if (v[j] < CKM_VENDOR_DEFINED)
				continue;
			v[j] = t[i].type == CKA_KEY_TYPE ? key_from_dev(sl, v[j])
							 : mech_from_dev(sl, v[j]);
		}
	}
}

/* Operations we may complete though the device does not list them. */
static const CK_MECHANISM_TYPE completable[] = {
	CKM_SHA_1,
	CKM_SHA224,
	CKM_SHA256,
	CKM_SHA384,
	CKM_SHA512,
	CKM_SM3,
	CKM_ECDSA_SHA1,
	CKM_ECDSA_SHA224,
	CKM_ECDSA_SHA256,
	CKM_ECDSA_SHA384,
	CKM_ECDSA_SHA512,
	CKM_SHA1_RSA_PKCS,
	CKM_SHA224_RSA_PKCS,
	CKM_SHA256_RSA_PKCS,
	CKM_SHA384_RSA_PKCS,
	CKM_SHA512_RSA_PKCS,
	CKM_SHA1_RSA_PKCS_PSS,
	CKM_SHA224_RSA_PKCS_PSS,
	CKM_SHA256_RSA_PKCS_PSS,
	CKM_SHA384_RSA_PKCS_PSS,
	CKM_SHA512_RSA_PKCS_PSS,
	CKM_SM2,
	SKI_SM2_DER,
	CKM_SM2_SM3,
	CKM_SM2_SM3_DER,
	SKI_SM2_SM3_NOZ,
	SKI_SM2_SM3_NOZ_DER,
	CKM_SM2_ENCRYPT,
	CKM_SM2_ENCRYPT_DER,
	SKI_SM2_ENCRYPT_C1C2C3,
};
#define N_COMPLETABLE (sizeof completable / sizeof completable[0])

CK_RV px_mech_list(const px_slot *sl, CK_MECHANISM_TYPE *list, CK_ULONG max, CK_ULONG *n)
{
	CK_MECHANISM_INFO info;
	CK_MECHANISM_TYPE code;
	CK_ULONG k = 0;
	for (size_t i = 0; i < sl->n_mechs; i++) {
		if (!px_app_code(sl->mechs[i].op, &code))
			continue;
		if (list && k < max)
			list[k] = code;
		k++;
	}
	for (size_t i = 0; i < N_COMPLETABLE; i++) {
		if (px_mech_for(sl, completable[i]) || !px_app_code(completable[i], &code) ||
		    !px_can_complete(sl, completable[i], &info))
			continue;
		if (list && k < max)
			list[k] = code;
		k++;
	}
	*n = k;
	return list && k > max ? CKR_BUFFER_TOO_SMALL : CKR_OK;
}

CK_RV px_mech_info(const px_slot *sl, CK_MECHANISM_TYPE app_code, CK_MECHANISM_INFO *info)
{
	CK_MECHANISM_TYPE op = px_op_of(app_code);
	const px_mech *m = op == CK_UNAVAILABLE_INFORMATION ? NULL : px_mech_for(sl, op);
	if (m) {
		*info = m->info;
		return CKR_OK;
	}
	if (op != CK_UNAVAILABLE_INFORMATION && px_can_complete(sl, op, info))
		return CKR_OK;
	return CKR_MECHANISM_INVALID;
}
