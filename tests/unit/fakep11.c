/* A tiny PKCS#11 module that stands in for a device that disappears: one
 * slot with an initialised token (serial FAKE0001), sessions, login and
 * C_GenerateRandom. fakep11_fail(rv) makes every call from then on return
 * rv and the slot list empty (CKR_DEVICE_REMOVED: the key was pulled);
 * fakep11_fail(CKR_OK) plugs it back in, with its sessions gone, as a
 * re-plugged USB key's are. fakep11_blank(true) makes the token a blank
 * one (not initialised, same serial) until C_InitToken. The test finds
 * the functions with dlsym. */
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "pkcs11x.h"

#define FAKE_SLOT 7

static atomic_ulong failure;
static atomic_ulong next_session = 1;
static atomic_ulong min_session = 1; /* handles below are from before a re-plug */
static bool initialized;
static atomic_bool blank; /* token not initialised */

__attribute__((visibility("default"))) void fakep11_fail(CK_RV rv)
{
	if (rv == CKR_OK)
		atomic_store(&min_session, atomic_load(&next_session));
	atomic_store(&failure, rv);
}

__attribute__((visibility("default"))) void fakep11_blank(bool b)
{
	atomic_store(&blank, b);
}

static CK_RV state(void)
{
	if (!initialized)
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	return atomic_load(&failure);
}

static CK_RV session_ok(CK_SESSION_HANDLE h)
{
	CK_RV rv = state();
	if (rv == CKR_OK && (h < atomic_load(&min_session) || h >= atomic_load(&next_session)))
		rv = CKR_SESSION_HANDLE_INVALID;
	return rv;
}

static void pad(CK_UTF8CHAR *dst, size_t n, const char *s)
{
	memset(dst, ' ', n);
	memcpy(dst, s, strlen(s));
}

static CK_RV f_Initialize(CK_VOID_PTR a)
{
	(void)a;
	if (initialized)
		return CKR_CRYPTOKI_ALREADY_INITIALIZED;
	initialized = true;
	return CKR_OK;
}

static CK_RV f_Finalize(CK_VOID_PTR a)
{
	(void)a;
	if (!initialized)
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	initialized = false;
	return CKR_OK;
}

static CK_RV f_GetInfo(CK_INFO_PTR info)
{
	memset(info, 0, sizeof *info);
	info->cryptokiVersion.major = 2;
	info->cryptokiVersion.minor = 40;
	pad(info->manufacturerID, sizeof info->manufacturerID, "fake");
	pad(info->libraryDescription, sizeof info->libraryDescription, "fake device");
	return initialized ? CKR_OK : CKR_CRYPTOKI_NOT_INITIALIZED;
}

static CK_RV f_GetSlotList(CK_BBOOL present, CK_SLOT_ID_PTR list, CK_ULONG_PTR n)
{
	CK_ULONG have = atomic_load(&failure) == CKR_OK ? 1 : 0;
	(void)present;
	if (!initialized)
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	if (list && *n < have) {
		*n = have;
		return CKR_BUFFER_TOO_SMALL;
	}
	if (list && have)
		list[0] = FAKE_SLOT;
	*n = have;
	return CKR_OK;
}

static CK_RV f_GetSlotInfo(CK_SLOT_ID id, CK_SLOT_INFO_PTR info)
{
	CK_RV rv = state();
	if (rv != CKR_OK)
		return rv;
	if (id != FAKE_SLOT)
		return CKR_SLOT_ID_INVALID;
	memset(info, 0, sizeof *info);
	pad(info->slotDescription, sizeof info->slotDescription, "fake reader");
	pad(info->manufacturerID, sizeof info->manufacturerID, "fake");
	info->flags = CKF_TOKEN_PRESENT | CKF_REMOVABLE_DEVICE | CKF_HW_SLOT;
	return CKR_OK;
}

static CK_RV f_GetTokenInfo(CK_SLOT_ID id, CK_TOKEN_INFO_PTR ti)
{
	CK_RV rv = state();
	if (rv != CKR_OK)
		return rv;
	if (id != FAKE_SLOT)
		return CKR_SLOT_ID_INVALID;
	memset(ti, 0, sizeof *ti);
	pad(ti->label, sizeof ti->label, "fake token");
	pad(ti->manufacturerID, sizeof ti->manufacturerID, "fake");
	pad(ti->model, sizeof ti->model, "seal key");
	pad(ti->serialNumber, sizeof ti->serialNumber, "FAKE0001");
	ti->flags = atomic_load(&blank)
			? CKF_RNG
			: CKF_TOKEN_INITIALIZED | CKF_USER_PIN_INITIALIZED | CKF_RNG;
	ti->ulMaxPinLen = 16;
	ti->ulMinPinLen = 4;
	return CKR_OK;
}

static CK_RV f_InitToken(CK_SLOT_ID id, CK_UTF8CHAR_PTR pin, CK_ULONG len, CK_UTF8CHAR_PTR label)
{
	CK_RV rv = state();
	(void)label;
	if (rv == CKR_OK && id != FAKE_SLOT)
		rv = CKR_SLOT_ID_INVALID;
	if (rv == CKR_OK && (len != 4 || memcmp(pin, "1234", 4)))
		rv = CKR_PIN_INCORRECT;
	if (rv == CKR_OK)
		atomic_store(&blank, false);
	return rv;
}

static CK_RV f_GetMechanismList(CK_SLOT_ID id, CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR n)
{
	CK_RV rv = state();
	(void)id;
	(void)list;
	if (rv == CKR_OK)
		*n = 0;
	return rv;
}

static CK_RV f_OpenSession(CK_SLOT_ID id, CK_FLAGS flags, CK_VOID_PTR app, CK_NOTIFY notify,
			   CK_SESSION_HANDLE_PTR h)
{
	CK_RV rv = state();
	(void)flags, (void)app, (void)notify;
	if (rv != CKR_OK)
		return rv;
	if (id != FAKE_SLOT)
		return CKR_SLOT_ID_INVALID;
	*h = atomic_fetch_add(&next_session, 1);
	return CKR_OK;
}

static CK_RV f_CloseSession(CK_SESSION_HANDLE h)
{
	return session_ok(h);
}

static CK_RV f_GetSessionInfo(CK_SESSION_HANDLE h, CK_SESSION_INFO_PTR info)
{
	CK_RV rv = session_ok(h);
	if (rv == CKR_OK) {
		memset(info, 0, sizeof *info);
		info->slotID = FAKE_SLOT;
		info->state = CKS_RO_PUBLIC_SESSION;
		info->flags = CKF_SERIAL_SESSION;
	}
	return rv;
}

static CK_RV f_Login(CK_SESSION_HANDLE h, CK_USER_TYPE u, CK_UTF8CHAR_PTR pin, CK_ULONG len)
{
	CK_RV rv = session_ok(h);
	(void)u;
	if (rv == CKR_OK && (len != 4 || memcmp(pin, "1234", 4)))
		rv = CKR_PIN_INCORRECT;
	return rv;
}

static CK_RV f_GenerateRandom(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG len)
{
	CK_RV rv = session_ok(h);
	if (rv == CKR_OK)
		memset(out, 0x5a, len);
	return rv;
}

/* Everything else: not supported (or the failure). */
static CK_RV f_none(void)
{
	CK_RV rv = state();
	return rv == CKR_OK ? CKR_FUNCTION_NOT_SUPPORTED : rv;
}

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR out);

static CK_FUNCTION_LIST functions;

__attribute__((visibility("default"))) CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR out)
{
	/* Unset entries all point at f_none; the calls here never pass it
	 * arguments it would read. */
	size_t first = offsetof(CK_FUNCTION_LIST, C_Initialize);
	void (**slot)(void) = (void (**)(void))((char *)&functions + first);
	size_t n = (sizeof functions - first) / sizeof *slot;
	for (size_t i = 0; i < n; i++)
		if (!slot[i])
			slot[i] = (void (*)(void))f_none;
	functions.version.major = 2;
	functions.version.minor = 40;
	functions.C_Initialize = f_Initialize;
	functions.C_Finalize = f_Finalize;
	functions.C_GetInfo = f_GetInfo;
	functions.C_GetFunctionList = C_GetFunctionList;
	functions.C_GetSlotList = f_GetSlotList;
	functions.C_GetSlotInfo = f_GetSlotInfo;
	functions.C_GetTokenInfo = f_GetTokenInfo;
	functions.C_GetMechanismList = f_GetMechanismList;
	functions.C_InitToken = f_InitToken;
	functions.C_OpenSession = f_OpenSession;
	functions.C_CloseSession = f_CloseSession;
	functions.C_GetSessionInfo = f_GetSessionInfo;
	functions.C_Login = f_Login;
	functions.C_GenerateRandom = f_GenerateRandom;
	*out = &functions;
	return CKR_OK;
}
