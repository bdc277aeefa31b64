/* The soft-token backend: the function table's implementations for slots
 * and sessions of our own tokens (module.c, module_objects.c,
 * module_crypto.c). dispatch.c routes every call on a soft slot or session
 * here, and proxied ones to proxy/. */
#ifndef SEALKIT_SOFT_H
#define SEALKIT_SOFT_H

#include <stdbool.h>

#include "module.h"
#include "pkcs11x.h"

struct sk_session;
struct sk_object;

/* Shared by the object and key management functions. */
CK_RV soft_check_writable(struct sk_session *s, struct sk_object *o);
bool soft_so_logged_in(struct sk_session *s);
CK_RV soft_add_object(struct sk_session *s, struct sk_object *o, CK_OBJECT_HANDLE *out);

CK_RV soft_GetSlotInfo(CK_SLOT_ID slotID, CK_SLOT_INFO_PTR pInfo);
CK_RV soft_GetTokenInfo(CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo);
CK_RV soft_GetMechanismList(CK_SLOT_ID slotID, CK_MECHANISM_TYPE_PTR pMechanismList,
			    CK_ULONG_PTR pulCount);
CK_RV soft_GetMechanismInfo(CK_SLOT_ID slotID, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR pInfo);
CK_RV soft_InitToken(CK_SLOT_ID slotID, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen,
		     CK_UTF8CHAR_PTR pLabel);
CK_RV soft_OpenSession(CK_SLOT_ID slotID, CK_FLAGS flags, CK_VOID_PTR pApplication,
		       CK_NOTIFY Notify, CK_SESSION_HANDLE_PTR phSession);
CK_RV soft_CloseSession(CK_SESSION_HANDLE hSession);
CK_RV soft_CloseAllSessions(CK_SLOT_ID slotID);
CK_RV soft_GetSessionInfo(CK_SESSION_HANDLE hSession, CK_SESSION_INFO_PTR pInfo);
CK_RV soft_GetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState,
			     CK_ULONG_PTR pulOperationStateLen);
CK_RV soft_SetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState,
			     CK_ULONG ulOperationStateLen, CK_OBJECT_HANDLE hEncryptionKey,
			     CK_OBJECT_HANDLE hAuthenticationKey);
CK_RV soft_Login(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
		 CK_ULONG ulPinLen);
CK_RV soft_Logout(CK_SESSION_HANDLE hSession);
CK_RV soft_InitPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen);
CK_RV soft_SetPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pOldPin, CK_ULONG ulOldLen,
		  CK_UTF8CHAR_PTR pNewPin, CK_ULONG ulNewLen);
CK_RV soft_SeedRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSeed, CK_ULONG ulSeedLen);
CK_RV soft_GenerateRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pRandomData,
			  CK_ULONG ulRandomLen);
CK_RV soft_GetFunctionStatus(CK_SESSION_HANDLE hSession);
CK_RV soft_CancelFunction(CK_SESSION_HANDLE hSession);
CK_RV soft_LoginUser(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
		     CK_ULONG ulPinLen, CK_UTF8CHAR_PTR pUsername, CK_ULONG ulUsernameLen);
CK_RV soft_SessionCancel(CK_SESSION_HANDLE hSession, CK_FLAGS flags);
CK_RV soft_CreateObject(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount,
			CK_OBJECT_HANDLE_PTR phObject);
CK_RV soft_CopyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
		      CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount,
		      CK_OBJECT_HANDLE_PTR phNewObject);
CK_RV soft_DestroyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject);
CK_RV soft_GetObjectSize(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
			 CK_ULONG_PTR pulSize);
CK_RV soft_GetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
			     CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount);
CK_RV soft_SetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
			     CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount);
CK_RV soft_FindObjectsInit(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate,
			   CK_ULONG ulCount);
CK_RV soft_FindObjects(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE_PTR phObject,
		       CK_ULONG ulMaxObjectCount, CK_ULONG_PTR pulObjectCount);
CK_RV soft_FindObjectsFinal(CK_SESSION_HANDLE hSession);
CK_RV soft_EncryptInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k);
CK_RV soft_Encrypt(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,
		   CK_ULONG_PTR out_len);
CK_RV soft_EncryptUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,
			 CK_ULONG_PTR out_len);
CK_RV soft_EncryptFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG_PTR out_len);
CK_RV soft_DecryptInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k);
CK_RV soft_Decrypt(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,
		   CK_ULONG_PTR out_len);
CK_RV soft_DecryptUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,
			 CK_ULONG_PTR out_len);
CK_RV soft_DecryptFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG_PTR out_len);
CK_RV soft_DigestInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m);
CK_RV soft_Digest(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,
		  CK_ULONG_PTR out_len);
CK_RV soft_DigestUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len);
CK_RV soft_DigestKey(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hKey);
CK_RV soft_DigestFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG_PTR out_len);
CK_RV soft_SignInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k);
CK_RV soft_Sign(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,
		CK_ULONG_PTR out_len);
CK_RV soft_SignUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len);
CK_RV soft_SignFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG_PTR out_len);
CK_RV soft_SignRecoverInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k);
CK_RV soft_SignRecover(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,
		       CK_ULONG_PTR out_len);
CK_RV soft_VerifyInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k);
CK_RV soft_Verify(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
		  CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen);
CK_RV soft_VerifyUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len);
CK_RV soft_VerifyFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen);
CK_RV soft_VerifyRecoverInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k);
CK_RV soft_VerifyRecover(CK_SESSION_HANDLE h, CK_BYTE_PTR sig, CK_ULONG sig_len, CK_BYTE_PTR out,
			 CK_ULONG_PTR out_len);
CK_RV soft_DigestEncryptUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len,
			       CK_BYTE_PTR out, CK_ULONG_PTR out_len);
CK_RV soft_DecryptDigestUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len,
			       CK_BYTE_PTR out, CK_ULONG_PTR out_len);
CK_RV soft_SignEncryptUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,
			     CK_ULONG_PTR out_len);
CK_RV soft_DecryptVerifyUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len,
			       CK_BYTE_PTR out, CK_ULONG_PTR out_len);
CK_RV soft_GenerateKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
		       CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phKey);
CK_RV soft_GenerateKeyPair(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
			   CK_ATTRIBUTE_PTR pPublicKeyTemplate, CK_ULONG ulPublicKeyAttributeCount,
			   CK_ATTRIBUTE_PTR pPrivateKeyTemplate,
			   CK_ULONG ulPrivateKeyAttributeCount, CK_OBJECT_HANDLE_PTR phPublicKey,
			   CK_OBJECT_HANDLE_PTR phPrivateKey);
CK_RV soft_WrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
		   CK_OBJECT_HANDLE hWrappingKey, CK_OBJECT_HANDLE hKey, CK_BYTE_PTR pWrappedKey,
		   CK_ULONG_PTR pulWrappedKeyLen);
CK_RV soft_UnwrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
		     CK_OBJECT_HANDLE hUnwrappingKey, CK_BYTE_PTR pWrappedKey,
		     CK_ULONG ulWrappedKeyLen, CK_ATTRIBUTE_PTR pTemplate,
		     CK_ULONG ulAttributeCount, CK_OBJECT_HANDLE_PTR phKey);
CK_RV soft_DeriveKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
		     CK_OBJECT_HANDLE hBaseKey, CK_ATTRIBUTE_PTR pTemplate,
		     CK_ULONG ulAttributeCount, CK_OBJECT_HANDLE_PTR phKey);

#endif
