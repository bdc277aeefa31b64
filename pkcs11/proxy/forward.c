/* The function table of proxied slots and sessions: each call goes to the
 * device with our handles swapped for its own and numbers translated
 * (translate.c); cryptographic operations go through ops.c. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../module.h"

/* ---- slots and tokens ---------------------------------------------------------- */

static CK_RV px_GetSlotInfo(CK_SLOT_ID slotID, CK_SLOT_INFO_PTR pInfo)
{
	CK_RV rv = module_check();
	px_slot *sl;
	char desc[64];
	if (rv != CKR_OK)
		return rv;
	if (!pInfo)
		return CKR_ARGUMENTS_BAD;
	pthread_mutex_lock(&px.lock);
	sl = px.started ? px_slot_find(slotID) : NULL;
	pthread_mutex_unlock(&px.lock);
	if (!sl)
		return CKR_SLOT_ID_INVALID;
	if (atomic_load(&sl->present) &&
	    px_slot_result(sl, sl->mod->fl->C_GetSlotInfo(px_slot_dev(sl), pInfo)) == CKR_OK) {
		/* Ours to say: the token may go, and whether it is there. */
		pInfo->flags |= CKF_REMOVABLE_DEVICE | CKF_TOKEN_PRESENT;
		return CKR_OK;
	}
	memset(pInfo, 0, sizeof *pInfo);
	snprintf(desc, sizeof desc, "sealkit proxy slot 0x%lx", (unsigned long)slotID);
	pad_copy(pInfo->slotDescription, sizeof pInfo->slotDescription, desc);
	pad_copy(pInfo->manufacturerID, sizeof pInfo->manufacturerID, "sealkit");
	pInfo->flags = CKF_REMOVABLE_DEVICE;
	return CKR_OK;
}

static CK_RV px_GetTokenInfo(CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo)
{
	px_slot *sl;
	CK_RV rv = px_slot_get(slotID, &sl);
	if (rv == CKR_OK)
		rv = !pInfo ? CKR_ARGUMENTS_BAD
			    : px_slot_result(sl, sl->mod->fl->C_GetTokenInfo(px_slot_dev(sl), pInfo));
	return rv;
}

static CK_RV px_GetMechanismList(CK_SLOT_ID slotID, CK_MECHANISM_TYPE_PTR pList,
				 CK_ULONG_PTR pulCount)
{
	px_slot *sl;
	CK_RV rv = px_slot_get(slotID, &sl);
	if (rv == CKR_OK)
		rv = !pulCount ? CKR_ARGUMENTS_BAD : px_mech_list(sl, pList, *pulCount, pulCount);
	return rv;
}

static CK_RV px_GetMechanismInfo(CK_SLOT_ID slotID, CK_MECHANISM_TYPE type,
				 CK_MECHANISM_INFO_PTR pInfo)
{
	px_slot *sl;
	CK_RV rv = px_slot_get(slotID, &sl);
	if (rv == CKR_OK)
		rv = !pInfo ? CKR_ARGUMENTS_BAD : px_mech_info(sl, type, pInfo);
	return rv;
}

static CK_RV px_InitToken(CK_SLOT_ID slotID, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen,
			  CK_UTF8CHAR_PTR pLabel)
{
	px_slot *sl;
	CK_RV rv = px_slot_get(slotID, &sl);
	if (rv == CKR_OK)
		rv = px_slot_result(
			sl, sl->mod->fl->C_InitToken(px_slot_dev(sl), pPin, ulPinLen, pLabel));
	if (rv == CKR_OK)
		px_slot_initialized(sl); /* its new serial or label keeps our slot ID */
	return rv;
}

static CK_RV px_OpenSession(CK_SLOT_ID slotID, CK_FLAGS flags, CK_VOID_PTR pApplication,
			    CK_NOTIFY Notify, CK_SESSION_HANDLE_PTR phSession)
{
	CK_SESSION_HANDLE dev = CK_INVALID_HANDLE;
	px_slot *sl;
	CK_RV rv = px_slot_get(slotID, &sl);
	(void)pApplication;
	(void)Notify; /* our callers' callbacks are not the device's business */
	if (rv != CKR_OK)
		return rv;
	if (!phSession)
		return CKR_ARGUMENTS_BAD;
	rv = px_slot_result(sl, sl->mod->fl->C_OpenSession(px_slot_dev(sl), flags, NULL, NULL,
							    &dev));
	if (rv == CKR_OK && (rv = px_session_add(sl, dev, flags, phSession)) != CKR_OK)
		sl->mod->fl->C_CloseSession(dev);
	return rv;
}

static void close_dev(px_session *s)
{
	/* A gone device's session is gone with it: nothing to report. */
	if (!atomic_load(&s->dead))
		px_result(s, px_fl(s)->C_CloseSession(s->dev));
	px_session_put(s);
}

static CK_RV px_CloseSession(CK_SESSION_HANDLE hSession)
{
	CK_RV rv = module_check();
	px_session *s;
	if (rv != CKR_OK)
		return rv;
	if (!(s = px_session_remove(hSession)))
		return CKR_SESSION_HANDLE_INVALID;
	close_dev(s);
	return CKR_OK;
}

static CK_RV px_CloseAllSessions(CK_SLOT_ID slotID)
{
	CK_RV rv = module_check();
	ptrvec mine = {0};
	size_t pos = 0;
	uint64_t h;
	void *v;
	if (rv != CKR_OK)
		return rv;
	pthread_mutex_lock(&px.lock);
	if (!px.started || !px_slot_find(slotID))
		rv = CKR_SLOT_ID_INVALID;
	while (rv == CKR_OK && u64map_next(&px.sessions, &pos, &h, &v))
		if (((px_session *)v)->slot->id == slotID && !ptrvec_push(&mine, (void *)h))
			rv = CKR_HOST_MEMORY;
	pthread_mutex_unlock(&px.lock);
	/* Ours only: the application may use the module itself too. */
	for (size_t i = 0; rv == CKR_OK && i < mine.count; i++) {
		px_session *s = px_session_remove((CK_SESSION_HANDLE)mine.items[i]);
		if (s)
			close_dev(s);
	}
	ptrvec_free(&mine);
	return rv;
}

/* ---- sessions --------------------------------------------------------------------- */

static CK_RV px_GetSessionInfo(CK_SESSION_HANDLE hSession, CK_SESSION_INFO_PTR pInfo)
{
	px_session *s;
	CK_RV rv = px_session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	if (!pInfo)
		rv = CKR_ARGUMENTS_BAD;
	else if ((rv = px_result(s, px_fl(s)->C_GetSessionInfo(s->dev, pInfo))) == CKR_OK)
		pInfo->slotID = s->slot->id;
	px_session_put(s);
	return rv;
}

/* Operation state: ours (hashes, held input) cannot be saved with the
 * device's, so none is, as for soft tokens. */
static CK_RV px_GetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pState,
				  CK_ULONG_PTR pulStateLen)
{
	px_session *s;
	CK_RV rv = px_session_get(hSession, &s);
	(void)pState;
	if (rv != CKR_OK)
		return rv;
	px_session_put(s);
	return pulStateLen ? CKR_STATE_UNSAVEABLE : CKR_ARGUMENTS_BAD;
}

static CK_RV px_SetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pState,
				  CK_ULONG ulStateLen, CK_OBJECT_HANDLE hEnc, CK_OBJECT_HANDLE hAuth)
{
	px_session *s;
	CK_RV rv = px_session_get(hSession, &s);
	(void)ulStateLen, (void)hEnc, (void)hAuth;
	if (rv != CKR_OK)
		return rv;
	px_session_put(s);
	return pState ? CKR_SAVED_STATE_INVALID : CKR_ARGUMENTS_BAD;
}

static CK_RV px_Login(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
		      CK_ULONG ulPinLen)
{
	px_session *s;
	CK_RV rv = px_session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	rv = px_result(s, px_fl(s)->C_Login(s->dev, userType, pPin, ulPinLen));
	px_session_put(s);
	return rv;
}

static CK_RV px_LoginUser(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType,
			  CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen, CK_UTF8CHAR_PTR pUsername,
			  CK_ULONG ulUsernameLen)
{
	/* A 2.40 device has no named users: the name is not passed. */
	(void)pUsername;
	(void)ulUsernameLen;
	return px_Login(hSession, userType, pPin, ulPinLen);
}

static CK_RV px_Logout(CK_SESSION_HANDLE hSession)
{
	px_session *s;
	CK_RV rv = px_session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	rv = px_result(s, px_fl(s)->C_Logout(s->dev));
	px_session_put(s);
	return rv;
}

static CK_RV px_InitPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen)
{
	px_session *s;
	CK_RV rv = px_session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	rv = px_result(s, px_fl(s)->C_InitPIN(s->dev, pPin, ulPinLen));
	px_session_put(s);
	return rv;
}

static CK_RV px_SetPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pOld, CK_ULONG ulOldLen,
		       CK_UTF8CHAR_PTR pNew, CK_ULONG ulNewLen)
{
	px_session *s;
	CK_RV rv = px_session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	rv = px_result(s, px_fl(s)->C_SetPIN(s->dev, pOld, ulOldLen, pNew, ulNewLen));
	px_session_put(s);
	return rv;
}

/* ---- objects ------------------------------------------------------------------------ */

static CK_RV px_CreateObject(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate,
			     CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phObject)
{
	px_session *s;
	CK_ATTRIBUTE *t;
	void *tmp = NULL;
	CK_RV rv = px_session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	if ((rv = px_template_in(s->slot, pTemplate, ulCount, &t, &tmp)) == CKR_OK)
		rv = px_result(s, px_fl(s)->C_CreateObject(s->dev, t, ulCount, phObject));
	free(tmp);
	px_session_put(s);
	return rv;
}

static CK_RV px_CopyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
			   CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount,
			   CK_OBJECT_HANDLE_PTR phNewObject)
{
	px_session *s;
	CK_ATTRIBUTE *t;
	void *tmp = NULL;
	CK_RV rv = px_session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	if ((rv = px_template_in(s->slot, pTemplate, ulCount, &t, &tmp)) == CKR_OK)
		rv = px_result(s, px_fl(s)->C_CopyObject(s->dev, hObject, t, ulCount, phNewObject));
	free(tmp);
	px_session_put(s);
	return rv;
}

static CK_RV px_DestroyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject)
{
	px_session *s;
	CK_RV rv = px_session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	rv = px_result(s, px_fl(s)->C_DestroyObject(s->dev, hObject));
	px_session_put(s);
	return rv;
}

static CK_RV px_GetObjectSize(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
			      CK_ULONG_PTR pulSize)
{
	px_session *s;
	CK_RV rv = px_session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	rv = px_result(s, px_fl(s)->C_GetObjectSize(s->dev, hObject, pulSize));
	px_session_put(s);
	return rv;
}

static CK_RV px_GetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
				  CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
	px_session *s;
	CK_RV rv = px_session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	rv = px_result(s, px_fl(s)->C_GetAttributeValue(s->dev, hObject, pTemplate, ulCount));
	/* Values are filled in as far as they could be, whatever the result. */
	if (pTemplate && (rv == CKR_OK || rv == CKR_ATTRIBUTE_SENSITIVE ||
			  rv == CKR_ATTRIBUTE_TYPE_INVALID || rv == CKR_BUFFER_TOO_SMALL))
		px_template_out(s->slot, pTemplate, ulCount);
	px_session_put(s);
	return rv;
}

static CK_RV px_SetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
				  CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
	px_session *s;
	CK_ATTRIBUTE *t;
	void *tmp = NULL;
	CK_RV rv = px_session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	if ((rv = px_template_in(s->slot, pTemplate, ulCount, &t, &tmp)) == CKR_OK)
		rv = px_result(s, px_fl(s)->C_SetAttributeValue(s->dev, hObject, t, ulCount));
	free(tmp);
	px_session_put(s);
	return rv;
}

static CK_RV px_FindObjectsInit(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate,
				CK_ULONG ulCount)
{
	px_session *s;
	CK_ATTRIBUTE *t;
	void *tmp = NULL;
	CK_RV rv = px_session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	if ((rv = px_template_in(s->slot, pTemplate, ulCount, &t, &tmp)) == CKR_OK)
		rv = px_result(s, px_fl(s)->C_FindObjectsInit(s->dev, t, ulCount));
	free(tmp);
	px_session_put(s);
	return rv;
}

static CK_RV px_FindObjects(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE_PTR phObject,
			    CK_ULONG ulMax, CK_ULONG_PTR pulCount)
{
	px_session *s;
	CK_RV rv = px_session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	rv = px_result(s, px_fl(s)->C_FindObjects(s->dev, phObject, ulMax, pulCount));
	px_session_put(s);
	return rv;
}

static CK_RV px_FindObjectsFinal(CK_SESSION_HANDLE hSession)
{
	px_session *s;
	CK_RV rv = px_session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	rv = px_result(s, px_fl(s)->C_FindObjectsFinal(s->dev));
	px_session_put(s);
	return rv;
}

/* ---- cryptographic operations (ops.c) ------------------------------------------ */

#define OPS(Kind, KIND)                                                                            \
	static CK_RV px_##Kind##Init(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)  \
	{                                                                                          \
		return px_op_init(h, KIND, m, k);                                                  \
	}                                                                                          \
	static CK_RV px_##Kind(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len,              \
			       CK_BYTE_PTR out, CK_ULONG_PTR out_len)                              \
	{                                                                                          \
		return px_op_oneshot(h, KIND, in, in_len, out, out_len);                           \
	}
OPS(Encrypt, OP_ENCRYPT)
OPS(Decrypt, OP_DECRYPT)
OPS(Sign, OP_SIGN)
OPS(SignRecover, OP_SIGN_RECOVER)
OPS(VerifyRecover, OP_VERIFY_RECOVER)

static CK_RV px_EncryptUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len,
			      CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	return px_op_update(h, OP_ENCRYPT, in, in_len, out, out_len);
}
static CK_RV px_EncryptFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	return px_op_final(h, OP_ENCRYPT, out, out_len);
}
static CK_RV px_DecryptUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len,
			      CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	return px_op_update(h, OP_DECRYPT, in, in_len, out, out_len);
}
static CK_RV px_DecryptFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	return px_op_final(h, OP_DECRYPT, out, out_len);
}
static CK_RV px_DigestInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m)
{
	return px_op_init(h, OP_DIGEST, m, CK_INVALID_HANDLE);
}
static CK_RV px_Digest(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,
		       CK_ULONG_PTR out_len)
{
	return px_op_oneshot(h, OP_DIGEST, in, in_len, out, out_len);
}
static CK_RV px_DigestUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len)
{
	return px_op_update(h, OP_DIGEST, in, in_len, NULL, NULL);
}
static CK_RV px_DigestFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	return px_op_final(h, OP_DIGEST, out, out_len);
}
static CK_RV px_SignUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len)
{
	return px_op_update(h, OP_SIGN, in, in_len, NULL, NULL);
}
static CK_RV px_SignFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	return px_op_final(h, OP_SIGN, out, out_len);
}
static CK_RV px_VerifyInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{
	return px_op_init(h, OP_VERIFY, m, k);
}
static CK_RV px_VerifyUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len)
{
	return px_op_update(h, OP_VERIFY, in, in_len, NULL, NULL);
}
static CK_RV px_DigestEncryptUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len,
				    CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	return px_dual_update(h, OP_ENCRYPT, OP_DIGEST, false, in, in_len, out, out_len);
}
static CK_RV px_DecryptDigestUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len,
				    CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	return px_dual_update(h, OP_DECRYPT, OP_DIGEST, true, in, in_len, out, out_len);
}
static CK_RV px_SignEncryptUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len,
				  CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	return px_dual_update(h, OP_ENCRYPT, OP_SIGN, false, in, in_len, out, out_len);
}
static CK_RV px_DecryptVerifyUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len,
				    CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	return px_dual_update(h, OP_DECRYPT, OP_VERIFY, true, in, in_len, out, out_len);
}

/* ---- key management ------------------------------------------------------------------ */

/* The device's code for a key management mechanism it offers. */
static CK_RV dev_mech(px_session *s, const CK_MECHANISM *m, CK_FLAGS need, CK_MECHANISM *out)
{
	CK_MECHANISM_TYPE op;
	const px_mech *d;
	if (!m)
		return CKR_ARGUMENTS_BAD;
	op = px_op_of(m->mechanism);
	d = op == CK_UNAVAILABLE_INFORMATION ? NULL : px_mech_for(s->slot, op);
	if (!d || !(d->info.flags & need))
		return CKR_MECHANISM_INVALID;
	*out = *m;
	out->mechanism = d->code;
	return CKR_OK;
}

static CK_RV px_GenerateKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR m,
			    CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phKey)
{
	px_session *s;
	CK_MECHANISM dm;
	CK_ATTRIBUTE *t;
	void *tmp = NULL;
	CK_RV rv = px_session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	if ((rv = dev_mech(s, m, CKF_GENERATE, &dm)) == CKR_OK &&
	    (rv = px_template_in(s->slot, pTemplate, ulCount, &t, &tmp)) == CKR_OK)
		rv = px_result(s, px_fl(s)->C_GenerateKey(s->dev, &dm, t, ulCount, phKey));
	free(tmp);
	px_session_put(s);
	return rv;
}

static CK_RV px_GenerateKeyPair(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR m,
				CK_ATTRIBUTE_PTR pPub, CK_ULONG nPub, CK_ATTRIBUTE_PTR pPriv,
				CK_ULONG nPriv, CK_OBJECT_HANDLE_PTR phPub, CK_OBJECT_HANDLE_PTR phPriv)
{
	px_session *s;
	CK_MECHANISM dm;
	CK_ATTRIBUTE *tpub, *tpriv;
	void *tmp1 = NULL, *tmp2 = NULL;
	CK_RV rv = px_session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	if ((rv = dev_mech(s, m, CKF_GENERATE_KEY_PAIR, &dm)) == CKR_OK &&
	    (rv = px_template_in(s->slot, pPub, nPub, &tpub, &tmp1)) == CKR_OK &&
	    (rv = px_template_in(s->slot, pPriv, nPriv, &tpriv, &tmp2)) == CKR_OK)
		rv = px_result(s, px_fl(s)->C_GenerateKeyPair(s->dev, &dm, tpub, nPub, tpriv,
							      nPriv, phPub, phPriv));
	free(tmp1);
	free(tmp2);
	px_session_put(s);
	return rv;
}

static CK_RV px_WrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE hWrapping,
			CK_OBJECT_HANDLE hKey, CK_BYTE_PTR pWrapped, CK_ULONG_PTR pulWrappedLen)
{
	px_session *s;
	CK_MECHANISM dm;
	CK_RV rv = px_session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	if ((rv = dev_mech(s, m, CKF_WRAP, &dm)) == CKR_OK)
		rv = px_result(s, px_fl(s)->C_WrapKey(s->dev, &dm, hWrapping, hKey, pWrapped,
						      pulWrappedLen));
	px_session_put(s);
	return rv;
}

static CK_RV px_UnwrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR m,
			  CK_OBJECT_HANDLE hUnwrapping, CK_BYTE_PTR pWrapped, CK_ULONG ulWrappedLen,
			  CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phKey)
{
	px_session *s;
	CK_MECHANISM dm;
	CK_ATTRIBUTE *t;
	void *tmp = NULL;
	CK_RV rv = px_session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	if ((rv = dev_mech(s, m, CKF_UNWRAP, &dm)) == CKR_OK &&
	    (rv = px_template_in(s->slot, pTemplate, ulCount, &t, &tmp)) == CKR_OK)
		rv = px_result(s, px_fl(s)->C_UnwrapKey(s->dev, &dm, hUnwrapping, pWrapped,
							ulWrappedLen, t, ulCount, phKey));
	free(tmp);
	px_session_put(s);
	return rv;
}

static CK_RV px_DeriveKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE hBase,
			  CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phKey)
{
	px_session *s;
	CK_MECHANISM dm;
	CK_ATTRIBUTE *t;
	void *tmp = NULL;
	CK_RV rv = px_session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	if ((rv = dev_mech(s, m, CKF_DERIVE, &dm)) == CKR_OK &&
	    (rv = px_template_in(s->slot, pTemplate, ulCount, &t, &tmp)) == CKR_OK)
		rv = px_result(s, px_fl(s)->C_DeriveKey(s->dev, &dm, hBase, t, ulCount, phKey));
	free(tmp);
	px_session_put(s);
	return rv;
}

/* ---- random, legacy, 3.0 ------------------------------------------------------------- */

static CK_RV px_SeedRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSeed, CK_ULONG ulSeedLen)
{
	px_session *s;
	CK_RV rv = px_session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	rv = px_result(s, px_fl(s)->C_SeedRandom(s->dev, pSeed, ulSeedLen));
	px_session_put(s);
	return rv;
}

static CK_RV px_GenerateRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulLen)
{
	px_session *s;
	CK_RV rv = px_session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	rv = px_result(s, px_fl(s)->C_GenerateRandom(s->dev, pData, ulLen));
	px_session_put(s);
	return rv;
}

static CK_RV px_NotParallel(CK_SESSION_HANDLE hSession)
{
	px_session *s;
	CK_RV rv = px_session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	px_session_put(s);
	return CKR_FUNCTION_NOT_PARALLEL;
}

/* C_SessionCancel: what runs here is dropped; an operation the device runs
 * cannot be cancelled through a 2.40 interface, which the result says. */
static CK_RV px_SessionCancel(CK_SESSION_HANDLE hSession, CK_FLAGS flags)
{
	static const struct {
		CK_FLAGS flag;
		op_kind kind;
	} map[] = {{CKF_ENCRYPT, OP_ENCRYPT}, {CKF_DECRYPT, OP_DECRYPT},
		   {CKF_DIGEST, OP_DIGEST},   {CKF_SIGN, OP_SIGN},
		   {CKF_VERIFY, OP_VERIFY},   {CKF_SIGN_RECOVER, OP_SIGN_RECOVER},
		   {CKF_VERIFY_RECOVER, OP_VERIFY_RECOVER}};
	px_session *s;
	CK_RV rv = px_session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
		px_op *op = &s->op[map[i].kind];
		if (!(flags & map[i].flag) || !op->active)
			continue;
		if (op->mode != PXM_SOFT)
			rv = CKR_OPERATION_CANCEL_FAILED;
		px_op_clear(op);
	}
	pthread_mutex_unlock(&s->lock);
	if (flags & CKF_FIND_OBJECTS)
		px_fl(s)->C_FindObjectsFinal(s->dev);
	px_session_put(s);
	return rv;
}

static CK_RV px_Verify(CK_SESSION_HANDLE h, CK_BYTE_PTR data, CK_ULONG data_len, CK_BYTE_PTR sig,
		       CK_ULONG sig_len)
{
	return px_verify(h, data, data_len, sig, sig_len);
}

static CK_RV px_VerifyFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR sig, CK_ULONG sig_len)
{
	return px_verify_final(h, sig, sig_len);
}

const CK_FUNCTION_LIST_3_0 proxy_backend = {
	.version = {3, 0},
	.C_GetSlotInfo = px_GetSlotInfo,
	.C_GetTokenInfo = px_GetTokenInfo,
	.C_GetMechanismList = px_GetMechanismList,
	.C_GetMechanismInfo = px_GetMechanismInfo,
	.C_InitToken = px_InitToken,
	.C_InitPIN = px_InitPIN,
	.C_SetPIN = px_SetPIN,
	.C_OpenSession = px_OpenSession,
	.C_CloseSession = px_CloseSession,
	.C_CloseAllSessions = px_CloseAllSessions,
	.C_GetSessionInfo = px_GetSessionInfo,
	.C_GetOperationState = px_GetOperationState,
	.C_SetOperationState = px_SetOperationState,
	.C_Login = px_Login,
	.C_Logout = px_Logout,
	.C_CreateObject = px_CreateObject,
	.C_CopyObject = px_CopyObject,
	.C_DestroyObject = px_DestroyObject,
	.C_GetObjectSize = px_GetObjectSize,
	.C_GetAttributeValue = px_GetAttributeValue,
	.C_SetAttributeValue = px_SetAttributeValue,
	.C_FindObjectsInit = px_FindObjectsInit,
	.C_FindObjects = px_FindObjects,
	.C_FindObjectsFinal = px_FindObjectsFinal,
	.C_EncryptInit = px_EncryptInit,
	.C_Encrypt = px_Encrypt,
	.C_EncryptUpdate = px_EncryptUpdate,
	.C_EncryptFinal = px_EncryptFinal,
	.C_DecryptInit = px_DecryptInit,
	.C_Decrypt = px_Decrypt,
	.C_DecryptUpdate = px_DecryptUpdate,
	.C_DecryptFinal = px_DecryptFinal,
	.C_DigestInit = px_DigestInit,
	.C_Digest = px_Digest,
	.C_DigestUpdate = px_DigestUpdate,
	.C_DigestKey = px_digest_key,
	.C_DigestFinal = px_DigestFinal,
	.C_SignInit = px_SignInit,
	.C_Sign = px_Sign,
	.C_SignUpdate = px_SignUpdate,
	.C_SignFinal = px_SignFinal,
	.C_SignRecoverInit = px_SignRecoverInit,
	.C_SignRecover = px_SignRecover,
	.C_VerifyInit = px_VerifyInit,
	.C_Verify = px_Verify,
	.C_VerifyUpdate = px_VerifyUpdate,
	.C_VerifyFinal = px_VerifyFinal,
	.C_VerifyRecoverInit = px_VerifyRecoverInit,
	.C_VerifyRecover = px_VerifyRecover,
	.C_DigestEncryptUpdate = px_DigestEncryptUpdate,
	.C_DecryptDigestUpdate = px_DecryptDigestUpdate,
	.C_SignEncryptUpdate = px_SignEncryptUpdate,
	.C_DecryptVerifyUpdate = px_DecryptVerifyUpdate,
	.C_GenerateKey = px_GenerateKey,
	.C_GenerateKeyPair = px_GenerateKeyPair,
	.C_WrapKey = px_WrapKey,
	.C_UnwrapKey = px_UnwrapKey,
	.C_DeriveKey = px_DeriveKey,
	.C_SeedRandom = px_SeedRandom,
	.C_GenerateRandom = px_GenerateRandom,
	.C_GetFunctionStatus = px_NotParallel,
	.C_CancelFunction = px_NotParallel,
	.C_LoginUser = px_LoginUser,
	.C_SessionCancel = px_SessionCancel,
};
