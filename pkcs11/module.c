/* Module-wide functions (initialisation, the slot list) and the soft-token
 * implementations of the slot, token, session and login functions.
 * dispatch.c holds the function table and routes slot and session calls
 * here or to proxy/. */
#include "module.h"
#include "profile.h"
#include "soft.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "attributes.h"
#include "crypto/crypto.h"
#include "session.h"
#include "slot.h"
#include "token.h"
#include "proxy/proxy.h"

sk_module module = {.lock = PTHREAD_MUTEX_INITIALIZER};

#define SK_VERSION_MAJOR 0
#define SK_VERSION_MINOR 1

void pad_copy(CK_UTF8CHAR *dst, size_t dst_len, const char *src)
{
	size_t n = strlen(src);
	memset(dst, ' ', dst_len);
	memcpy(dst, src, n < dst_len ? n : dst_len);
}

void sk_debug(const char *fmt, ...)
{
	static int enabled = -1;
	if (enabled < 0)
		enabled = getenv("SEALKIT_DEBUG") != NULL;
	if (!enabled)
		return;
	va_list ap;
	va_start(ap, fmt);
	fputs("sealkit-pkcs11: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

CK_RV module_check(void)
{
	/* A forked child sees the parent's state but must start afresh. */
	if (!module.initialized || atomic_load_explicit(&module.forked, memory_order_relaxed))
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	return CKR_OK;
}

static void on_fork_child(void)
{
	atomic_store(&module.forked, true);
}

static void register_fork_handler(void)
{
	pthread_atfork(NULL, NULL, on_fork_child);
}

/* ---- general ------------------------------------------------------------ */

static void unload_config(void)
{
	profile_activate(NULL);
	profile_free(module.profile);
	module.profile = NULL;
	config_free(&module.cfg);
}

CK_RV C_Initialize(CK_VOID_PTR pInitArgs)
{
	CK_RV rv;
	const char *args = NULL;
	if (pInitArgs) {
		CK_C_INITIALIZE_ARGS *a = pInitArgs;
		int given = !!a->CreateMutex + !!a->DestroyMutex + !!a->LockMutex + !!a->UnlockMutex;
		if (given != 0 && given != 4)
			return CKR_ARGUMENTS_BAD;
		/* Module parameters, as NSS and p11-kit's x-init-reserved
		 * pass them: a string of settings (config.h). */
		args = a->pReserved;
		/* With or without the caller's mutex functions we use the OS's
		 * own locks, which are always safe for several threads. */
	}
	/* Two instances proxying each other would call back into this one
	 * while it holds its lock: the loop is refused instead. */
	static _Thread_local bool initializing;
	if (initializing)
		return CKR_GENERAL_ERROR;
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, register_fork_handler);
	if (atomic_load(&module.forked)) {
		/* Forked child: forget the parent's state without touching it
		 * (its SQLite handles and locks belong to the parent). */
		pthread_mutex_init(&module.lock, NULL);
		slot_abandon_all();
		proxy_abandon();
		memset(&module.sessions, 0, sizeof module.sessions);
		module.initialized = false;
		atomic_store(&module.forked, false);
	}
	initializing = true;
	pthread_mutex_lock(&module.lock);
	if (module.initialized) {
		rv = CKR_CRYPTOKI_ALREADY_INITIALIZED;
		goto out;
	}
	if ((rv = config_load(&module.cfg, args)) != CKR_OK)
		goto out;
	if ((rv = profile_build(&module.cfg, &module.profile)) != CKR_OK) {
		config_free(&module.cfg);
		goto out;
	}
	if ((rv = crypto_init()) != CKR_OK) {
		unload_config();
		goto out;
	}
	profile_activate(module.profile);
	u64map_init(&module.sessions);
	memset(&module.tokens, 0, sizeof module.tokens);
	if (atomic_load(&module.next_session) == 0)
		atomic_store(&module.next_session, 1);
	if (atomic_load(&module.next_object) == 0)
		atomic_store(&module.next_object, 1);
	module.pid = getpid();
	module.initialized = true;
	rv = slot_refresh();
	if (rv == CKR_OK)
		rv = proxy_start(&module.cfg);
	if (rv != CKR_OK) {
		module.initialized = false;
		proxy_stop();
		slot_free_all();
		crypto_fini();
		unload_config();
	}
out:
	pthread_mutex_unlock(&module.lock);
	initializing = false;
	return rv;
}

CK_RV C_Finalize(CK_VOID_PTR pReserved)
{
	if (pReserved)
		return CKR_ARGUMENTS_BAD;
	CK_RV rv = module_check();
	if (rv != CKR_OK)
		return rv;
	pthread_mutex_lock(&module.lock);
	proxy_stop();
	for (size_t i = 0; i < module.tokens.count; i++)
		session_close_all(module.tokens.items[i]);
	u64map_free(&module.sessions);
	slot_free_all();
	crypto_fini();
	unload_config();
	module.initialized = false;
	pthread_mutex_unlock(&module.lock);
	return CKR_OK;
}

CK_RV C_GetInfo(CK_INFO_PTR pInfo)
{
	CK_RV rv = module_check();
	if (rv != CKR_OK)
		return rv;
	if (!pInfo)
		return CKR_ARGUMENTS_BAD;
	memset(pInfo, 0, sizeof *pInfo);
	pInfo->cryptokiVersion.major = 2;
	pInfo->cryptokiVersion.minor = 40;
	pad_copy(pInfo->manufacturerID, sizeof pInfo->manufacturerID, "sealkit");
	pad_copy(pInfo->libraryDescription, sizeof pInfo->libraryDescription,
		 "sealkit PKCS#11 soft token");
	pInfo->libraryVersion.major = SK_VERSION_MAJOR;
	pInfo->libraryVersion.minor = SK_VERSION_MINOR;
	return CKR_OK;
}

/* ---- slots and tokens ----------------------------------------------------- */

CK_RV C_GetSlotList(CK_BBOOL tokenPresent, CK_SLOT_ID_PTR pSlotList, CK_ULONG_PTR pulCount)
{
	CK_RV rv = module_check();
	if (rv != CKR_OK)
		return rv;
	if (!pulCount)
		return CKR_ARGUMENTS_BAD;
	CK_ULONG max = *pulCount, n = 0, n_proxy = 0;
	pthread_mutex_lock(&module.lock);
	if ((rv = slot_refresh()) == CKR_OK) {
		for (size_t i = 0; i < module.tokens.count; i++) {
			sk_token *t = module.tokens.items[i];
			if (!slot_token(t->slot_id))
				continue; /* an unreadable file: not a slot */
			if (pSlotList && n < max)
				pSlotList[n] = t->slot_id;
			n++;
		}
	}
	pthread_mutex_unlock(&module.lock);
	if (rv != CKR_OK)
		goto out;
	/* Proxied slots after ours (their IDs are all higher), asked for
	 * without module.lock: a slow device must not stall the soft tokens. */
	rv = proxy_slot_list(tokenPresent, pSlotList ? pSlotList + (n < max ? n : max) : NULL,
			     n < max ? max - n : 0, &n_proxy);
	n += n_proxy;
	if (rv == CKR_OK && pSlotList && n > max)
		rv = CKR_BUFFER_TOO_SMALL;
	if (rv == CKR_OK || rv == CKR_BUFFER_TOO_SMALL)
		*pulCount = n;
out:
	return rv;
}

CK_RV soft_GetSlotInfo(CK_SLOT_ID slotID, CK_SLOT_INFO_PTR pInfo)
{
	CK_RV rv = module_check();
	if (rv != CKR_OK)
		return rv;
	if (!pInfo)
		return CKR_ARGUMENTS_BAD;
	pthread_mutex_lock(&module.lock);
	rv = slot_get_info(slotID, pInfo);
	pthread_mutex_unlock(&module.lock);
	return rv;
}

/* Finds a slot's token; module.lock held. */
static CK_RV get_token(CK_SLOT_ID id, sk_token **out)
{
	sk_token *t = slot_token(id);
	if (!t)
		return CKR_SLOT_ID_INVALID;
	*out = t;
	return CKR_OK;
}

CK_RV soft_GetTokenInfo(CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo)
{
	CK_RV rv = module_check();
	sk_token *t;
	if (rv != CKR_OK)
		return rv;
	if (!pInfo)
		return CKR_ARGUMENTS_BAD;
	pthread_mutex_lock(&module.lock);
	if ((rv = get_token(slotID, &t)) == CKR_OK) {
		pthread_mutex_lock(&t->lock);
		rv = token_get_info(t, pInfo);
		pthread_mutex_unlock(&t->lock);
	}
	pthread_mutex_unlock(&module.lock);
	return rv;
}

CK_RV C_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID_PTR pSlot, CK_VOID_PTR pReserved)
{
	CK_RV rv = module_check();
	if (rv != CKR_OK)
		return rv;
	if (!pSlot || pReserved)
		return CKR_ARGUMENTS_BAD;
	/* Soft tokens are never inserted or removed: events come from
	 * proxied devices only, found by looking at their slot lists (a
	 * blocking wait looks four times a second until C_Finalize). */
	if (!(flags & CKF_DONT_BLOCK) && !proxy_active()) {
		rv = CKR_FUNCTION_NOT_SUPPORTED;
		goto out;
	}
	while ((rv = proxy_slot_event(pSlot)) == CKR_NO_EVENT && !(flags & CKF_DONT_BLOCK)) {
		nanosleep(&(struct timespec){.tv_nsec = 250000000L}, NULL);
		if ((rv = module_check()) != CKR_OK)
			break;
	}
out:
	return rv;
}

CK_RV soft_GetMechanismList(CK_SLOT_ID slotID, CK_MECHANISM_TYPE_PTR pMechanismList,
			    CK_ULONG_PTR pulCount)
{
	CK_RV rv = module_check();
	sk_token *t;
	if (rv != CKR_OK)
		return rv;
	if (!pulCount)
		return CKR_ARGUMENTS_BAD;
	pthread_mutex_lock(&module.lock);
	rv = get_token(slotID, &t);
	pthread_mutex_unlock(&module.lock);
	if (rv != CKR_OK)
		return rv;
	CK_ULONG n = mech_count();
	if (pMechanismList) {
		if (*pulCount < n)
			rv = CKR_BUFFER_TOO_SMALL;
		else
			mech_list(pMechanismList, n);
	}
	*pulCount = n;
	return rv;
}

CK_RV soft_GetMechanismInfo(CK_SLOT_ID slotID, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR pInfo)
{
	CK_RV rv = module_check();
	sk_token *t;
	if (rv != CKR_OK)
		return rv;
	if (!pInfo)
		return CKR_ARGUMENTS_BAD;
	pthread_mutex_lock(&module.lock);
	rv = get_token(slotID, &t);
	pthread_mutex_unlock(&module.lock);
	if (rv != CKR_OK)
		return rv;
	const CK_MECHANISM_INFO *mi = mech_info(type);
	if (!mi)
		return CKR_MECHANISM_INVALID;
	*pInfo = *mi;
	return CKR_OK;
}

CK_RV soft_InitToken(CK_SLOT_ID slotID, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen,
		     CK_UTF8CHAR_PTR pLabel)
{
	CK_RV rv = module_check();
	sk_token *t;
	if (rv != CKR_OK)
		return rv;
	if (!pPin || !pLabel)
		return CKR_ARGUMENTS_BAD;
	pthread_mutex_lock(&module.lock);
	if ((rv = slot_refresh()) != CKR_OK || (rv = get_token(slotID, &t)) != CKR_OK)
		goto out;
	pthread_mutex_lock(&t->lock);
	rv = token_init(t, pPin, ulPinLen, pLabel);
	pthread_mutex_unlock(&t->lock);
	if (rv == CKR_OK)
		rv = slot_refresh(); /* a new free slot appears */
out:
	pthread_mutex_unlock(&module.lock);
	return rv;
}

/* ---- sessions ------------------------------------------------------------- */

CK_RV soft_OpenSession(CK_SLOT_ID slotID, CK_FLAGS flags, CK_VOID_PTR pApplication,
		       CK_NOTIFY Notify, CK_SESSION_HANDLE_PTR phSession)
{
	CK_RV rv = module_check();
	sk_token *t;
	if (rv != CKR_OK)
		return rv;
	if (!phSession)
		return CKR_ARGUMENTS_BAD;
	if (!(flags & CKF_SERIAL_SESSION))
		return CKR_SESSION_PARALLEL_NOT_SUPPORTED;
	pthread_mutex_lock(&module.lock);
	if ((rv = get_token(slotID, &t)) != CKR_OK)
		goto out;
	pthread_mutex_lock(&t->lock);
	if (t->st)
		token_sync(t);
	if (!t->initialized)
		rv = CKR_TOKEN_NOT_RECOGNIZED;
	else if (!(flags & CKF_RW_SESSION) && t->login == CKU_SO)
		rv = CKR_SESSION_READ_WRITE_SO_EXISTS;
	pthread_mutex_unlock(&t->lock);
	if (rv == CKR_OK)
		rv = session_open(t, flags & (CKF_SERIAL_SESSION | CKF_RW_SESSION), phSession);
out:
	pthread_mutex_unlock(&module.lock);
	(void)pApplication;
	(void)Notify;
	return rv;
}

CK_RV soft_CloseSession(CK_SESSION_HANDLE hSession)
{
	CK_RV rv = module_check();
	if (rv != CKR_OK)
		return rv;
	return session_close(hSession);
}

CK_RV soft_CloseAllSessions(CK_SLOT_ID slotID)
{
	CK_RV rv = module_check();
	sk_token *t;
	if (rv != CKR_OK)
		return rv;
	pthread_mutex_lock(&module.lock);
	if ((rv = get_token(slotID, &t)) == CKR_OK)
		rv = session_close_all(t);
	pthread_mutex_unlock(&module.lock);
	return rv;
}

CK_RV soft_GetSessionInfo(CK_SESSION_HANDLE hSession, CK_SESSION_INFO_PTR pInfo)
{
	sk_session *s;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	if (!pInfo) {
		rv = CKR_ARGUMENTS_BAD;
	} else {
		pthread_mutex_lock(&s->token->lock);
		pInfo->slotID = s->token->slot_id;
		pInfo->state = session_state(s);
		pthread_mutex_unlock(&s->token->lock);
		pInfo->flags = s->flags;
		pInfo->ulDeviceError = 0;
	}
	session_put(s);
	return rv;
}

CK_RV soft_GetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState,
			     CK_ULONG_PTR pulOperationStateLen)
{
	sk_session *s;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	session_put(s);
	if (!pulOperationStateLen)
		return CKR_ARGUMENTS_BAD;
	/* OpenSSL contexts cannot be serialised safely. */
	(void)pOperationState;
	return CKR_STATE_UNSAVEABLE;
}

CK_RV soft_SetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState,
			     CK_ULONG ulOperationStateLen, CK_OBJECT_HANDLE hEncryptionKey,
			     CK_OBJECT_HANDLE hAuthenticationKey)
{
	sk_session *s;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	session_put(s);
	if (!pOperationState)
		return CKR_ARGUMENTS_BAD;
	(void)ulOperationStateLen;
	(void)hEncryptionKey;
	(void)hAuthenticationKey;
	return CKR_SAVED_STATE_INVALID; /* we never hand out a state */
}

/* ---- login ------------------------------------------------------------------ */

static bool token_has_ro_session(sk_token *t)
{
	return t->sessions > t->rw_sessions;
}

CK_RV soft_Login(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
		 CK_ULONG ulPinLen)
{
	sk_session *s;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	sk_token *t = s->token;
	if (!pPin && ulPinLen) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if (!pPin) {
		rv = CKR_ARGUMENTS_BAD; /* no protected authentication path */
		goto out;
	}
	if (userType != CKU_SO && userType != CKU_USER && userType != CKU_CONTEXT_SPECIFIC) {
		rv = CKR_USER_TYPE_INVALID;
		goto out;
	}
	pthread_mutex_lock(&t->lock);
	if (userType == CKU_CONTEXT_SPECIFIC) {
		if (t->login != CKU_USER)
			rv = CKR_USER_NOT_LOGGED_IN;
		else
			rv = token_login(t, userType, pPin, ulPinLen);
	} else if (t->login == userType) {
		rv = CKR_USER_ALREADY_LOGGED_IN;
	} else if (t->login != SK_NOT_LOGGED_IN) {
		rv = CKR_USER_ANOTHER_ALREADY_LOGGED_IN;
	} else if (userType == CKU_SO && token_has_ro_session(t)) {
		rv = CKR_SESSION_READ_ONLY_EXISTS;
	} else {
		rv = token_login(t, userType, pPin, ulPinLen);
	}
	pthread_mutex_unlock(&t->lock);
out:
	session_put(s);
	return rv;
}

CK_RV soft_Logout(CK_SESSION_HANDLE hSession)
{
	sk_session *s;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	pthread_mutex_lock(&s->token->lock);
	if (s->token->login == SK_NOT_LOGGED_IN)
		rv = CKR_USER_NOT_LOGGED_IN;
	else
		rv = token_logout(s->token);
	pthread_mutex_unlock(&s->token->lock);
	session_put(s);
	return rv;
}

CK_RV soft_InitPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen)
{
	sk_session *s;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	if (!pPin) {
		rv = CKR_ARGUMENTS_BAD;
	} else if (!session_rw(s)) {
		rv = CKR_SESSION_READ_ONLY;
	} else {
		pthread_mutex_lock(&s->token->lock);
		rv = token_init_pin(s->token, pPin, ulPinLen);
		pthread_mutex_unlock(&s->token->lock);
	}
	session_put(s);
	return rv;
}

CK_RV soft_SetPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pOldPin, CK_ULONG ulOldLen,
		  CK_UTF8CHAR_PTR pNewPin, CK_ULONG ulNewLen)
{
	sk_session *s;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	if (!pOldPin || !pNewPin) {
		rv = CKR_ARGUMENTS_BAD;
	} else if (!session_rw(s)) {
		rv = CKR_SESSION_READ_ONLY;
	} else {
		pthread_mutex_lock(&s->token->lock);
		rv = token_set_pin(s->token, pOldPin, ulOldLen, pNewPin, ulNewLen);
		pthread_mutex_unlock(&s->token->lock);
	}
	session_put(s);
	return rv;
}

/* ---- random, legacy ---------------------------------------------------------------- */

CK_RV soft_SeedRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSeed, CK_ULONG ulSeedLen)
{
	sk_session *s;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	session_put(s);
	if (!pSeed && ulSeedLen)
		return CKR_ARGUMENTS_BAD;
	return crypto_seed(pSeed, ulSeedLen);
}

CK_RV soft_GenerateRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pRandomData, CK_ULONG ulRandomLen)
{
	sk_session *s;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	session_put(s);
	if (!pRandomData && ulRandomLen)
		return CKR_ARGUMENTS_BAD;
	return ulRandomLen ? crypto_random(pRandomData, ulRandomLen) : CKR_OK;
}

CK_RV soft_GetFunctionStatus(CK_SESSION_HANDLE hSession)
{
	sk_session *s;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	session_put(s);
	return CKR_FUNCTION_NOT_PARALLEL;
}

CK_RV soft_CancelFunction(CK_SESSION_HANDLE hSession)
{
	sk_session *s;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	session_put(s);
	return CKR_FUNCTION_NOT_PARALLEL;
}

/* ---- PKCS#11 3.0 ---------------------------------------------------------------------- */

CK_RV soft_LoginUser(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
		     CK_ULONG ulPinLen, CK_UTF8CHAR_PTR pUsername, CK_ULONG ulUsernameLen)
{
	/* Our tokens have no named users: the name is not checked. */
	(void)pUsername;
	(void)ulUsernameLen;
	return soft_Login(hSession, userType, pPin, ulPinLen);
}

CK_RV soft_SessionCancel(CK_SESSION_HANDLE hSession, CK_FLAGS flags)
{
	static const struct {
		CK_FLAGS flag;
		op_kind kind;
	} map[] = {{CKF_ENCRYPT, OP_ENCRYPT},		{CKF_DECRYPT, OP_DECRYPT},
		   {CKF_DIGEST, OP_DIGEST},		{CKF_SIGN, OP_SIGN},
		   {CKF_VERIFY, OP_VERIFY},		{CKF_SIGN_RECOVER, OP_SIGN_RECOVER},
		   {CKF_VERIFY_RECOVER, OP_VERIFY_RECOVER}};
	sk_session *s;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (flags & map[i].flag)
			session_end_op(s, map[i].kind);
	if ((flags & CKF_FIND_OBJECTS) && s->finding) {
		free(s->found);
		s->found = NULL;
		s->nfound = s->pos = 0;
		s->finding = false;
	}
	pthread_mutex_unlock(&s->lock);
	session_put(s);
	return CKR_OK;
}
