/* The function table and the one place that routes calls: a slot or session
 * belongs either to a soft token (module.c, module_objects.c,
 * module_crypto.c) or to a proxied device (proxy/). Each side is a backend
 * with the shape of a PKCS#11 function list; proxied slot IDs and session
 * handles come from ranges of their own (proxy/proxy.h), so routing is
 * arithmetic on the handle and costs no lock or lookup. */
#include "module.h"

#include <string.h>

#include "proxy/proxy.h"
#include "soft.h"

static const CK_FUNCTION_LIST_3_0 soft_backend = {
	.version = {3, 0},
	.C_GetSlotInfo = soft_GetSlotInfo,
	.C_GetTokenInfo = soft_GetTokenInfo,
	.C_GetMechanismList = soft_GetMechanismList,
	.C_GetMechanismInfo = soft_GetMechanismInfo,
	.C_InitToken = soft_InitToken,
	.C_InitPIN = soft_InitPIN,
	.C_SetPIN = soft_SetPIN,
	.C_OpenSession = soft_OpenSession,
	.C_CloseSession = soft_CloseSession,
	.C_CloseAllSessions = soft_CloseAllSessions,
	.C_GetSessionInfo = soft_GetSessionInfo,
	.C_GetOperationState = soft_GetOperationState,
	.C_SetOperationState = soft_SetOperationState,
	.C_Login = soft_Login,
	.C_Logout = soft_Logout,
	.C_CreateObject = soft_CreateObject,
	.C_CopyObject = soft_CopyObject,
	.C_DestroyObject = soft_DestroyObject,
	.C_GetObjectSize = soft_GetObjectSize,
	.C_GetAttributeValue = soft_GetAttributeValue,
	.C_SetAttributeValue = soft_SetAttributeValue,
	.C_FindObjectsInit = soft_FindObjectsInit,
	.C_FindObjects = soft_FindObjects,
	.C_FindObjectsFinal = soft_FindObjectsFinal,
	.C_EncryptInit = soft_EncryptInit,
	.C_Encrypt = soft_Encrypt,
	.C_EncryptUpdate = soft_EncryptUpdate,
	.C_EncryptFinal = soft_EncryptFinal,
	.C_DecryptInit = soft_DecryptInit,
	.C_Decrypt = soft_Decrypt,
	.C_DecryptUpdate = soft_DecryptUpdate,
	.C_DecryptFinal = soft_DecryptFinal,
	.C_DigestInit = soft_DigestInit,
	.C_Digest = soft_Digest,
	.C_DigestUpdate = soft_DigestUpdate,
	.C_DigestKey = soft_DigestKey,
	.C_DigestFinal = soft_DigestFinal,
	.C_SignInit = soft_SignInit,
	.C_Sign = soft_Sign,
	.C_SignUpdate = soft_SignUpdate,
	.C_SignFinal = soft_SignFinal,
	.C_SignRecoverInit = soft_SignRecoverInit,
	.C_SignRecover = soft_SignRecover,
	.C_VerifyInit = soft_VerifyInit,
	.C_Verify = soft_Verify,
	.C_VerifyUpdate = soft_VerifyUpdate,
	.C_VerifyFinal = soft_VerifyFinal,
	.C_VerifyRecoverInit = soft_VerifyRecoverInit,
	.C_VerifyRecover = soft_VerifyRecover,
	.C_DigestEncryptUpdate = soft_DigestEncryptUpdate,
	.C_DecryptDigestUpdate = soft_DecryptDigestUpdate,
	.C_SignEncryptUpdate = soft_SignEncryptUpdate,
	.C_DecryptVerifyUpdate = soft_DecryptVerifyUpdate,
	.C_GenerateKey = soft_GenerateKey,
	.C_GenerateKeyPair = soft_GenerateKeyPair,
	.C_WrapKey = soft_WrapKey,
	.C_UnwrapKey = soft_UnwrapKey,
	.C_DeriveKey = soft_DeriveKey,
	.C_SeedRandom = soft_SeedRandom,
	.C_GenerateRandom = soft_GenerateRandom,
	.C_GetFunctionStatus = soft_GetFunctionStatus,
	.C_CancelFunction = soft_CancelFunction,
	.C_LoginUser = soft_LoginUser,
	.C_SessionCancel = soft_SessionCancel,
};

static const CK_FUNCTION_LIST_3_0 *by_slot(CK_SLOT_ID id)
{
	return proxy_slot_id(id) ? &proxy_backend : &soft_backend;
}

static const CK_FUNCTION_LIST_3_0 *by_session(CK_SESSION_HANDLE h)
{
	return proxy_session_handle(h) ? &proxy_backend : &soft_backend;
}

/* One router per function: the argument named slotID or hSession picks
 * the backend, every argument goes through unchanged. */
#define BY_SLOT(name, params, args)                                                                \
	CK_RV C_##name params                                                                      \
	{                                                                                          \
		return by_slot(slotID)->C_##name args;                                             \
	}
#define BY_SESSION(name, params, args)                                                             \
	CK_RV C_##name params                                                                      \
	{                                                                                          \
		return by_session(hSession)->C_##name args;                                        \
	}

BY_SLOT(GetSlotInfo, (CK_SLOT_ID slotID, CK_SLOT_INFO_PTR pInfo), (slotID, pInfo))
BY_SLOT(GetTokenInfo, (CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo), (slotID, pInfo))
BY_SLOT(GetMechanismList, (CK_SLOT_ID slotID, CK_MECHANISM_TYPE_PTR pList, CK_ULONG_PTR pulCount),
	(slotID, pList, pulCount))
BY_SLOT(GetMechanismInfo, (CK_SLOT_ID slotID, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR pInfo),
	(slotID, type, pInfo))
BY_SLOT(InitToken,
	(CK_SLOT_ID slotID, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen, CK_UTF8CHAR_PTR pLabel),
	(slotID, pPin, ulPinLen, pLabel))
BY_SLOT(OpenSession,
	(CK_SLOT_ID slotID, CK_FLAGS flags, CK_VOID_PTR pApplication, CK_NOTIFY Notify,
	 CK_SESSION_HANDLE_PTR phSession),
	(slotID, flags, pApplication, Notify, phSession))
BY_SLOT(CloseAllSessions, (CK_SLOT_ID slotID), (slotID))

BY_SESSION(InitPIN, (CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen),
	   (hSession, pPin, ulPinLen))
BY_SESSION(SetPIN,
	   (CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pOldPin, CK_ULONG ulOldLen,
	    CK_UTF8CHAR_PTR pNewPin, CK_ULONG ulNewLen),
	   (hSession, pOldPin, ulOldLen, pNewPin, ulNewLen))
BY_SESSION(CloseSession, (CK_SESSION_HANDLE hSession), (hSession))
BY_SESSION(GetSessionInfo, (CK_SESSION_HANDLE hSession, CK_SESSION_INFO_PTR pInfo),
	   (hSession, pInfo))
BY_SESSION(GetOperationState,
	   (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pState, CK_ULONG_PTR pulStateLen),
	   (hSession, pState, pulStateLen))
BY_SESSION(SetOperationState,
	   (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pState, CK_ULONG ulStateLen,
	    CK_OBJECT_HANDLE hEncryptionKey, CK_OBJECT_HANDLE hAuthenticationKey),
	   (hSession, pState, ulStateLen, hEncryptionKey, hAuthenticationKey))
BY_SESSION(Login,
	   (CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
	    CK_ULONG ulPinLen),
	   (hSession, userType, pPin, ulPinLen))
BY_SESSION(Logout, (CK_SESSION_HANDLE hSession), (hSession))
BY_SESSION(CreateObject,
	   (CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount,
	    CK_OBJECT_HANDLE_PTR phObject),
	   (hSession, pTemplate, ulCount, phObject))
BY_SESSION(CopyObject,
	   (CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject, CK_ATTRIBUTE_PTR pTemplate,
	    CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phNewObject),
	   (hSession, hObject, pTemplate, ulCount, phNewObject))
BY_SESSION(DestroyObject, (CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject),
	   (hSession, hObject))
BY_SESSION(GetObjectSize,
	   (CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject, CK_ULONG_PTR pulSize),
	   (hSession, hObject, pulSize))
BY_SESSION(GetAttributeValue,
	   (CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject, CK_ATTRIBUTE_PTR pTemplate,
	    CK_ULONG ulCount),
	   (hSession, hObject, pTemplate, ulCount))
BY_SESSION(SetAttributeValue,
	   (CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject, CK_ATTRIBUTE_PTR pTemplate,
	    CK_ULONG ulCount),
	   (hSession, hObject, pTemplate, ulCount))
BY_SESSION(FindObjectsInit,
	   (CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount),
	   (hSession, pTemplate, ulCount))
BY_SESSION(FindObjects,
	   (CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE_PTR phObject, CK_ULONG ulMaxObjectCount,
	    CK_ULONG_PTR pulObjectCount),
	   (hSession, phObject, ulMaxObjectCount, pulObjectCount))
BY_SESSION(FindObjectsFinal, (CK_SESSION_HANDLE hSession), (hSession))

/* The operations: every kind has the same shapes. */
#define OP_INIT(name)                                                                              \
	BY_SESSION(name, (CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k),     \
		   (hSession, m, k))
#define OP_IN_OUT(name)                                                                            \
	BY_SESSION(name,                                                                           \
		   (CK_SESSION_HANDLE hSession, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,  \
		    CK_ULONG_PTR out_len),                                                         \
		   (hSession, in, in_len, out, out_len))
#define OP_IN(name)                                                                                \
	BY_SESSION(name, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR in, CK_ULONG in_len),            \
		   (hSession, in, in_len))
#define OP_OUT(name)                                                                               \
	BY_SESSION(name, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR out, CK_ULONG_PTR out_len),      \
		   (hSession, out, out_len))

OP_INIT(EncryptInit)
OP_IN_OUT(Encrypt)
OP_IN_OUT(EncryptUpdate)
OP_OUT(EncryptFinal)
OP_INIT(DecryptInit)
OP_IN_OUT(Decrypt)
OP_IN_OUT(DecryptUpdate)
OP_OUT(DecryptFinal)
BY_SESSION(DigestInit, (CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR m), (hSession, m))
OP_IN_OUT(Digest)
OP_IN(DigestUpdate)
BY_SESSION(DigestKey, (CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE k), (hSession, k))
OP_OUT(DigestFinal)
OP_INIT(SignInit)
OP_IN_OUT(Sign)
OP_IN(SignUpdate)
OP_OUT(SignFinal)
OP_INIT(SignRecoverInit)
OP_IN_OUT(SignRecover)
OP_INIT(VerifyInit)
BY_SESSION(Verify,
	   (CK_SESSION_HANDLE hSession, CK_BYTE_PTR data, CK_ULONG data_len, CK_BYTE_PTR sig,
	    CK_ULONG sig_len),
	   (hSession, data, data_len, sig, sig_len))
OP_IN(VerifyUpdate)
BY_SESSION(VerifyFinal, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR sig, CK_ULONG sig_len),
	   (hSession, sig, sig_len))
OP_INIT(VerifyRecoverInit)
OP_IN_OUT(VerifyRecover)
OP_IN_OUT(DigestEncryptUpdate)
OP_IN_OUT(DecryptDigestUpdate)
OP_IN_OUT(SignEncryptUpdate)
OP_IN_OUT(DecryptVerifyUpdate)

BY_SESSION(GenerateKey,
	   (CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR m, CK_ATTRIBUTE_PTR pTemplate,
	    CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phKey),
	   (hSession, m, pTemplate, ulCount, phKey))
BY_SESSION(GenerateKeyPair,
	   (CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR m, CK_ATTRIBUTE_PTR pPub, CK_ULONG nPub,
	    CK_ATTRIBUTE_PTR pPriv, CK_ULONG nPriv, CK_OBJECT_HANDLE_PTR phPub,
	    CK_OBJECT_HANDLE_PTR phPriv),
	   (hSession, m, pPub, nPub, pPriv, nPriv, phPub, phPriv))
BY_SESSION(WrapKey,
	   (CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE hWrappingKey,
	    CK_OBJECT_HANDLE hKey, CK_BYTE_PTR pWrapped, CK_ULONG_PTR pulWrappedLen),
	   (hSession, m, hWrappingKey, hKey, pWrapped, pulWrappedLen))
BY_SESSION(UnwrapKey,
	   (CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE hUnwrappingKey,
	    CK_BYTE_PTR pWrapped, CK_ULONG ulWrappedLen, CK_ATTRIBUTE_PTR pTemplate,
	    CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phKey),
	   (hSession, m, hUnwrappingKey, pWrapped, ulWrappedLen, pTemplate, ulCount, phKey))
BY_SESSION(DeriveKey,
	   (CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE hBaseKey,
	    CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phKey),
	   (hSession, m, hBaseKey, pTemplate, ulCount, phKey))
BY_SESSION(SeedRandom, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSeed, CK_ULONG ulSeedLen),
	   (hSession, pSeed, ulSeedLen))
BY_SESSION(GenerateRandom, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulLen),
	   (hSession, pData, ulLen))
BY_SESSION(GetFunctionStatus, (CK_SESSION_HANDLE hSession), (hSession))
BY_SESSION(CancelFunction, (CK_SESSION_HANDLE hSession), (hSession))

/* ---- PKCS#11 3.0 ----------------------------------------------------------- */

static BY_SESSION(LoginUser,
		  (CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
		   CK_ULONG ulPinLen, CK_UTF8CHAR_PTR pUsername, CK_ULONG ulUsernameLen),
		  (hSession, userType, pPin, ulPinLen, pUsername, ulUsernameLen))
static BY_SESSION(SessionCancel, (CK_SESSION_HANDLE hSession, CK_FLAGS flags), (hSession, flags))

/* Message-based operations: neither backend offers a mechanism for them,
 * so every init says so and every other call finds nothing initialised,
 * once the session is known to be valid. */
static CK_RV session_valid(CK_SESSION_HANDLE h)
{
	CK_SESSION_INFO info;
	return by_session(h)->C_GetSessionInfo(h, &info);
}

static CK_RV message_init(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m)
{
	CK_RV rv = session_valid(h);
	if (rv == CKR_OK)
		rv = m ? CKR_MECHANISM_INVALID : CKR_ARGUMENTS_BAD;
	return rv;
}

static CK_RV message_none(CK_SESSION_HANDLE h)
{
	CK_RV rv = session_valid(h);
	return rv == CKR_OK ? CKR_OPERATION_NOT_INITIALIZED : rv;
}

static CK_RV C_MessageCryptInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{
	(void)k;
	return message_init(h, m);
}
static CK_RV C_CryptMessage(CK_SESSION_HANDLE h, CK_VOID_PTR p, CK_ULONG pl, CK_BYTE_PTR a,
			    CK_ULONG al, CK_BYTE_PTR i, CK_ULONG il, CK_BYTE_PTR o, CK_ULONG_PTR ol)
{
	(void)p, (void)pl, (void)a, (void)al, (void)i, (void)il, (void)o, (void)ol;
	return message_none(h);
}
static CK_RV C_CryptMessageBegin(CK_SESSION_HANDLE h, CK_VOID_PTR p, CK_ULONG pl, CK_BYTE_PTR a,
				 CK_ULONG al)
{
	(void)p, (void)pl, (void)a, (void)al;
	return message_none(h);
}
static CK_RV C_CryptMessageNext(CK_SESSION_HANDLE h, CK_VOID_PTR p, CK_ULONG pl, CK_BYTE_PTR i,
				CK_ULONG il, CK_BYTE_PTR o, CK_ULONG_PTR ol, CK_FLAGS f)
{
	(void)p, (void)pl, (void)i, (void)il, (void)o, (void)ol, (void)f;
	return message_none(h);
}
static CK_RV C_MessageFinal(CK_SESSION_HANDLE h)
{
	return message_none(h);
}
static CK_RV C_SignMessage(CK_SESSION_HANDLE h, CK_VOID_PTR p, CK_ULONG pl, CK_BYTE_PTR d,
			   CK_ULONG dl, CK_BYTE_PTR sg, CK_ULONG_PTR sl)
{
	(void)p, (void)pl, (void)d, (void)dl, (void)sg, (void)sl;
	return message_none(h);
}
static CK_RV C_MessageBegin(CK_SESSION_HANDLE h, CK_VOID_PTR p, CK_ULONG pl)
{
	(void)p, (void)pl;
	return message_none(h);
}
static CK_RV C_SignMessageNext(CK_SESSION_HANDLE h, CK_VOID_PTR p, CK_ULONG pl, CK_BYTE_PTR d,
			       CK_ULONG dl, CK_BYTE_PTR sg, CK_ULONG_PTR sl)
{
	(void)p, (void)pl, (void)d, (void)dl, (void)sg, (void)sl;
	return message_none(h);
}
static CK_RV C_VerifyMessage(CK_SESSION_HANDLE h, CK_VOID_PTR p, CK_ULONG pl, CK_BYTE_PTR d,
			     CK_ULONG dl, CK_BYTE_PTR sg, CK_ULONG sl)
{
	(void)p, (void)pl, (void)d, (void)dl, (void)sg, (void)sl;
	return message_none(h);
}

/* ---- function lists and interfaces ----------------------------------------- */

#define FUNCTIONS_2_40                                                                             \
	C_Initialize, C_Finalize, C_GetInfo, C_GetFunctionList, C_GetSlotList, C_GetSlotInfo,      \
		C_GetTokenInfo, C_GetMechanismList, C_GetMechanismInfo, C_InitToken, C_InitPIN,    \
		C_SetPIN, C_OpenSession, C_CloseSession, C_CloseAllSessions, C_GetSessionInfo,     \
		C_GetOperationState, C_SetOperationState, C_Login, C_Logout, C_CreateObject,       \
		C_CopyObject, C_DestroyObject, C_GetObjectSize, C_GetAttributeValue,               \
		C_SetAttributeValue, C_FindObjectsInit, C_FindObjects, C_FindObjectsFinal,         \
		C_EncryptInit, C_Encrypt, C_EncryptUpdate, C_EncryptFinal, C_DecryptInit,          \
		C_Decrypt, C_DecryptUpdate, C_DecryptFinal, C_DigestInit, C_Digest,                \
		C_DigestUpdate, C_DigestKey, C_DigestFinal, C_SignInit, C_Sign, C_SignUpdate,      \
		C_SignFinal, C_SignRecoverInit, C_SignRecover, C_VerifyInit, C_Verify,             \
		C_VerifyUpdate, C_VerifyFinal, C_VerifyRecoverInit, C_VerifyRecover,               \
		C_DigestEncryptUpdate, C_DecryptDigestUpdate, C_SignEncryptUpdate,                 \
		C_DecryptVerifyUpdate, C_GenerateKey, C_GenerateKeyPair, C_WrapKey, C_UnwrapKey,   \
		C_DeriveKey, C_SeedRandom, C_GenerateRandom, C_GetFunctionStatus,                  \
		C_CancelFunction, C_WaitForSlotEvent

static CK_FUNCTION_LIST functions_2_40 = {{2, 40}, FUNCTIONS_2_40};

static CK_FUNCTION_LIST_3_0 functions_3_0 = {
	{3, 0},
	FUNCTIONS_2_40,
	C_GetInterfaceList,
	C_GetInterface,
	C_LoginUser,
	C_SessionCancel,
	/* Encrypt and decrypt messages have the same shapes. */
	C_MessageCryptInit,
	C_CryptMessage,
	C_CryptMessageBegin,
	C_CryptMessageNext,
	C_MessageFinal,
	C_MessageCryptInit,
	C_CryptMessage,
	C_CryptMessageBegin,
	C_CryptMessageNext,
	C_MessageFinal,
	C_MessageCryptInit,
	C_SignMessage,
	C_MessageBegin,
	C_SignMessageNext,
	C_MessageFinal,
	C_MessageCryptInit,
	C_VerifyMessage,
	C_MessageBegin,
	C_VerifyMessage,
	C_MessageFinal,
};

static CK_INTERFACE interfaces[] = {
	{(CK_CHAR *)"PKCS 11", &functions_3_0, CKF_INTERFACE_FORK_SAFE},
	{(CK_CHAR *)"PKCS 11", &functions_2_40, CKF_INTERFACE_FORK_SAFE},
};
#define N_INTERFACES (sizeof interfaces / sizeof interfaces[0])

__attribute__((visibility("default"))) CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList)
{
	if (!ppFunctionList)
		return CKR_ARGUMENTS_BAD;
	*ppFunctionList = &functions_2_40;
	return CKR_OK;
}

__attribute__((visibility("default"))) CK_RV C_GetInterfaceList(CK_INTERFACE_PTR pInterfacesList,
								CK_ULONG_PTR pulCount)
{
	if (!pulCount)
		return CKR_ARGUMENTS_BAD;
	CK_RV rv = CKR_OK;
	if (pInterfacesList) {
		if (*pulCount < N_INTERFACES)
			rv = CKR_BUFFER_TOO_SMALL;
		else
			memcpy(pInterfacesList, interfaces, sizeof interfaces);
	}
	*pulCount = N_INTERFACES;
	return rv;
}

__attribute__((visibility("default"))) CK_RV C_GetInterface(CK_UTF8CHAR_PTR pInterfaceName,
							    CK_VERSION_PTR pVersion,
							    CK_INTERFACE_PTR_PTR ppInterface,
							    CK_FLAGS flags)
{
	if (!ppInterface)
		return CKR_ARGUMENTS_BAD;
	for (size_t i = 0; i < N_INTERFACES; i++) {
		CK_INTERFACE *in = &interfaces[i];
		const CK_VERSION *v = in->pFunctionList;
		if (pInterfaceName && strcmp((const char *)pInterfaceName,
					     (const char *)in->pInterfaceName))
			continue;
		if (pVersion && (pVersion->major != v->major || pVersion->minor != v->minor))
			continue;
		if ((flags & in->flags) != flags)
			continue;
		*ppInterface = in;
		return CKR_OK;
	}
	return CKR_ARGUMENTS_BAD;
}
