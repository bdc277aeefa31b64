/* The PKCS#11 function table: argument checks, state checks, dispatch. */
#include "module.h"
#include "profile.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "attributes.h"
#include "crypto/crypto.h"
#include "session.h"
#include "slot.h"
#include "token.h"

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
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, register_fork_handler);
	if (atomic_load(&module.forked)) {
		/* Forked child: forget the parent's state without touching it
		 * (its SQLite handles and locks belong to the parent). */
		pthread_mutex_init(&module.lock, NULL);
		slot_abandon_all();
		memset(&module.sessions, 0, sizeof module.sessions);
		module.initialized = false;
		atomic_store(&module.forked, false);
	}
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
	if (rv != CKR_OK) {
		module.initialized = false;
		slot_free_all();
		crypto_fini();
		unload_config();
	}
out:
	pthread_mutex_unlock(&module.lock);
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
	pthread_mutex_lock(&module.lock);
	if ((rv = slot_refresh()) != CKR_OK)
		goto out;
	CK_ULONG n = 0;
	for (size_t i = 0; i < module.tokens.count; i++) {
		sk_token *t = module.tokens.items[i];
		if (!slot_token(t->slot_id))
			continue; /* an unreadable file: not a slot */
		if (pSlotList && n < *pulCount)
			pSlotList[n] = t->slot_id;
		n++;
	}
	if (pSlotList && n > *pulCount)
		rv = CKR_BUFFER_TOO_SMALL;
	*pulCount = n;
out:
	pthread_mutex_unlock(&module.lock);
	(void)tokenPresent; /* every slot of ours holds a token */
	return rv;
}

CK_RV C_GetSlotInfo(CK_SLOT_ID slotID, CK_SLOT_INFO_PTR pInfo)
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

CK_RV C_GetTokenInfo(CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo)
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
	/* Soft tokens are never inserted or removed. */
	return (flags & CKF_DONT_BLOCK) ? CKR_NO_EVENT : CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV C_GetMechanismList(CK_SLOT_ID slotID, CK_MECHANISM_TYPE_PTR pMechanismList,
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

CK_RV C_GetMechanismInfo(CK_SLOT_ID slotID, CK_MECHANISM_TYPE type,
				CK_MECHANISM_INFO_PTR pInfo)
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

CK_RV C_InitToken(CK_SLOT_ID slotID, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen,
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

CK_RV C_OpenSession(CK_SLOT_ID slotID, CK_FLAGS flags, CK_VOID_PTR pApplication,
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

CK_RV C_CloseSession(CK_SESSION_HANDLE hSession)
{
	CK_RV rv = module_check();
	if (rv != CKR_OK)
		return rv;
	return session_close(hSession);
}

CK_RV C_CloseAllSessions(CK_SLOT_ID slotID)
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

CK_RV C_GetSessionInfo(CK_SESSION_HANDLE hSession, CK_SESSION_INFO_PTR pInfo)
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

CK_RV C_GetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState,
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

CK_RV C_SetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState,
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

CK_RV C_Login(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
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

CK_RV C_Logout(CK_SESSION_HANDLE hSession)
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

CK_RV C_InitPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen)
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

CK_RV C_SetPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pOldPin, CK_ULONG ulOldLen,
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

/* ---- objects ------------------------------------------------------------------ */

/* Gets an object of the session's token, with a reference. */
static CK_RV get_object(sk_session *s, CK_OBJECT_HANDLE h, sk_object **out)
{
	pthread_mutex_lock(&s->token->lock);
	CK_RV rv = token_object_get(s->token, h, out);
	pthread_mutex_unlock(&s->token->lock);
	return rv;
}

/* May this session hold `o` (a new or changed object)? */
static CK_RV check_writable(sk_session *s, sk_object *o)
{
	if (o->is_token && !session_rw(s))
		return CKR_SESSION_READ_ONLY;
	if (o->is_private && s->token->login != CKU_USER)
		return CKR_USER_NOT_LOGGED_IN;
	/* Key material of token objects is sealed under the token key, which
	 * only a login opens. A key with CKA_PRIVATE=FALSE (pkcs11-tool's
	 * default for --keygen) is therefore visible to everyone but usable
	 * only after login: nothing is ever stored in the clear. */
	if (o->is_token && o->secret.len && s->token->login != CKU_USER)
		return CKR_USER_NOT_LOGGED_IN;
	return CKR_OK;
}

static bool so_logged_in(sk_session *s)
{
	return s->token->login == CKU_SO;
}

/* Adds a finished new object to the session's token. */
static CK_RV add_object(sk_session *s, sk_object *o, CK_OBJECT_HANDLE *out)
{
	pthread_mutex_lock(&s->token->lock);
	CK_RV rv = check_writable(s, o);
	if (rv == CKR_OK) {
		o->session = s->handle;
		rv = token_object_add(s->token, o);
	}
	pthread_mutex_unlock(&s->token->lock);
	if (rv == CKR_OK && out)
		*out = o->handle;
	return rv;
}

CK_RV C_CreateObject(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate,
			    CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phObject)
{
	sk_session *s;
	sk_object *o = NULL;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	if ((!pTemplate && ulCount) || !phObject) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if (!(o = object_new())) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	o->secret_loaded = true;
	rv = object_from_template(ORIGIN_CREATE, CK_UNAVAILABLE_INFORMATION,
				  CK_UNAVAILABLE_INFORMATION, pTemplate, ulCount, so_logged_in(s),
				  o);
	if (rv != CKR_OK)
		goto out;
	pthread_mutex_lock(&s->token->lock);
	rv = check_writable(s, o);
	pthread_mutex_unlock(&s->token->lock);
	if (rv != CKR_OK)
		goto out;
	if (o->cls == CKO_PUBLIC_KEY || o->cls == CKO_PRIVATE_KEY || o->cls == CKO_SECRET_KEY) {
		if ((rv = crypto_check_key(o)) != CKR_OK ||
		    (rv = object_finish_key(o, ORIGIN_CREATE, 0)) != CKR_OK)
			goto out;
	}
	rv = add_object(s, o, phObject);
out:
	object_unref(o);
	session_put(s);
	return rv;
}

/* A private copy of `o` to change: attributes, and secrets in the clear or
 * sealed as they are. */
static CK_RV clone_object(sk_object *o, sk_object **out)
{
	CK_RV rv;
	sk_object *c = object_new();
	if (!c)
		return CKR_HOST_MEMORY;
	c->cls = o->cls;
	c->key_type = o->key_type;
	c->is_token = o->is_token;
	c->is_private = o->is_private;
	if ((rv = attrs_copy(&c->attrs, &o->attrs)) != CKR_OK)
		goto fail;
	pthread_mutex_lock(&o->lock);
	if (o->secret_loaded)
		rv = attrs_copy(&c->secret, &o->secret);
	c->secret_loaded = o->secret_loaded;
	if (rv == CKR_OK && o->sealed) {
		c->sealed = malloc(o->sealed_len);
		if (c->sealed) {
			memcpy(c->sealed, o->sealed, o->sealed_len);
			c->sealed_len = o->sealed_len;
		} else {
			rv = CKR_HOST_MEMORY;
		}
	}
	pthread_mutex_unlock(&o->lock);
	if (rv != CKR_OK)
		goto fail;
	c->token = o->token;
	*out = c;
	return CKR_OK;
fail:
	object_unref(c);
	return rv;
}

CK_RV C_CopyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
			  CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount,
			  CK_OBJECT_HANDLE_PTR phNewObject)
{
	sk_session *s;
	sk_object *o = NULL, *c = NULL;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	if ((!pTemplate && ulCount) || !phNewObject) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if ((rv = get_object(s, hObject, &o)) != CKR_OK)
		goto out;
	if (!attrs_bool(&o->attrs, CKA_COPYABLE, CK_TRUE)) {
		rv = CKR_ACTION_PROHIBITED;
		goto out;
	}
	/* The copy gets a new unique ID, so its secrets are sealed anew. */
	if ((rv = object_open_secret(o)) != CKR_OK || (rv = clone_object(o, &c)) != CKR_OK)
		goto out;
	free(c->sealed);
	c->sealed = NULL;
	c->sealed_len = 0;
	attrs_remove(&c->attrs, CKA_UNIQUE_ID);
	if ((rv = object_apply_template(c, pTemplate, ulCount, true, so_logged_in(s))) != CKR_OK)
		goto out;
	{
		/* A fresh unique ID (fill_defaults makes one when absent). */
		sk_object *tmp = object_new();
		if (!tmp) {
			rv = CKR_HOST_MEMORY;
			goto out;
		}
		tmp->cls = CKO_DATA;
		CK_OBJECT_CLASS cls = CKO_DATA;
		CK_ATTRIBUTE a = {CKA_CLASS, &cls, sizeof cls};
		rv = object_from_template(ORIGIN_CREATE, 0, 0, &a, 1, false, tmp);
		CK_ULONG len;
		const void *uid = rv == CKR_OK ? attrs_get(&tmp->attrs, CKA_UNIQUE_ID, &len) : NULL;
		if (uid)
			rv = attrs_put(&c->attrs, CKA_UNIQUE_ID, uid, len);
		object_unref(tmp);
		if (rv != CKR_OK)
			goto out;
	}
	rv = add_object(s, c, phNewObject);
out:
	object_unref(c);
	object_unref(o);
	session_put(s);
	return rv;
}

CK_RV C_DestroyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject)
{
	sk_session *s;
	sk_object *o = NULL;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	pthread_mutex_lock(&s->token->lock);
	rv = token_object_get(s->token, hObject, &o);
	if (rv == CKR_OK) {
		if (o->is_token && !session_rw(s))
			rv = CKR_SESSION_READ_ONLY;
		else if (!attrs_bool(&o->attrs, CKA_DESTROYABLE, CK_TRUE))
			rv = CKR_ACTION_PROHIBITED;
		else
			rv = token_object_destroy(s->token, o);
	}
	pthread_mutex_unlock(&s->token->lock);
	object_unref(o);
	session_put(s);
	return rv;
}

CK_RV C_GetObjectSize(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
			     CK_ULONG_PTR pulSize)
{
	sk_session *s;
	sk_object *o = NULL;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	if (!pulSize)
		rv = CKR_ARGUMENTS_BAD;
	else if ((rv = get_object(s, hObject, &o)) == CKR_OK)
		*pulSize = object_size(o);
	object_unref(o);
	session_put(s);
	return rv;
}

CK_RV C_GetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
				 CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
	sk_session *s;
	sk_object *o = NULL;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	if (!pTemplate && ulCount)
		rv = CKR_ARGUMENTS_BAD;
	else if ((rv = get_object(s, hObject, &o)) == CKR_OK)
		rv = object_get_attributes(o, pTemplate, ulCount);
	object_unref(o);
	session_put(s);
	return rv;
}

CK_RV C_SetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
				 CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
	sk_session *s;
	sk_object *o = NULL, *c = NULL;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	if (!pTemplate && ulCount) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if ((rv = get_object(s, hObject, &o)) != CKR_OK)
		goto out;
	if (o->is_token && !session_rw(s)) {
		rv = CKR_SESSION_READ_ONLY;
		goto out;
	}
	if (!attrs_bool(&o->attrs, CKA_MODIFIABLE, CK_TRUE)) {
		rv = CKR_ATTRIBUTE_READ_ONLY;
		goto out;
	}
	if ((rv = clone_object(o, &c)) != CKR_OK ||
	    (rv = object_apply_template(c, pTemplate, ulCount, false, so_logged_in(s))) != CKR_OK)
		goto out;
	pthread_mutex_lock(&s->token->lock);
	if (atomic_load(&o->destroyed))
		rv = CKR_OBJECT_HANDLE_INVALID;
	else
		rv = token_object_replace(s->token, o, c);
	pthread_mutex_unlock(&s->token->lock);
out:
	object_unref(c);
	object_unref(o);
	session_put(s);
	return rv;
}

CK_RV C_FindObjectsInit(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate,
			       CK_ULONG ulCount)
{
	sk_session *s;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	if (!pTemplate && ulCount) {
		session_put(s);
		return CKR_ARGUMENTS_BAD;
	}
	pthread_mutex_lock(&s->lock);
	if (s->finding) {
		rv = CKR_OPERATION_ACTIVE;
	} else {
		CK_OBJECT_HANDLE *found;
		CK_ULONG n;
		pthread_mutex_lock(&s->token->lock);
		rv = token_find(s->token, pTemplate, ulCount, &found, &n);
		pthread_mutex_unlock(&s->token->lock);
		if (rv == CKR_OK) {
			s->finding = true;
			s->found = found;
			s->nfound = n;
			s->pos = 0;
		}
	}
	pthread_mutex_unlock(&s->lock);
	session_put(s);
	return rv;
}

CK_RV C_FindObjects(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE_PTR phObject,
			   CK_ULONG ulMaxObjectCount, CK_ULONG_PTR pulObjectCount)
{
	sk_session *s;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	if (!phObject || !pulObjectCount) {
		session_put(s);
		return CKR_ARGUMENTS_BAD;
	}
	pthread_mutex_lock(&s->lock);
	if (!s->finding) {
		rv = CKR_OPERATION_NOT_INITIALIZED;
	} else {
		CK_ULONG n = 0;
		while (n < ulMaxObjectCount && s->pos < s->nfound)
			phObject[n++] = s->found[s->pos++];
		*pulObjectCount = n;
	}
	pthread_mutex_unlock(&s->lock);
	session_put(s);
	return rv;
}

CK_RV C_FindObjectsFinal(CK_SESSION_HANDLE hSession)
{
	sk_session *s;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	pthread_mutex_lock(&s->lock);
	if (!s->finding) {
		rv = CKR_OPERATION_NOT_INITIALIZED;
	} else {
		free(s->found);
		s->found = NULL;
		s->nfound = s->pos = 0;
		s->finding = false;
	}
	pthread_mutex_unlock(&s->lock);
	session_put(s);
	return rv;
}

/* ---- cryptographic operations ------------------------------------------------ */

static CK_ATTRIBUTE_TYPE usage_attr(op_kind kind)
{
	switch (kind) {
	case OP_ENCRYPT:
		return CKA_ENCRYPT;
	case OP_DECRYPT:
		return CKA_DECRYPT;
	case OP_SIGN:
		return CKA_SIGN;
	case OP_VERIFY:
		return CKA_VERIFY;
	case OP_SIGN_RECOVER:
		return CKA_SIGN_RECOVER;
	case OP_VERIFY_RECOVER:
		return CKA_VERIFY_RECOVER;
	default:
		return CK_UNAVAILABLE_INFORMATION;
	}
}

/* CKA_ALLOWED_MECHANISMS, when present and not empty, lists what a key may do. */
static bool mechanism_allowed(sk_object *key, CK_MECHANISM_TYPE m)
{
	CK_ULONG len;
	const unsigned char *v = attrs_get(&key->attrs, CKA_ALLOWED_MECHANISMS, &len);
	if (!v || !len)
		return true;
	/* Stored in our numbering (attributes.c), whatever the caller's. */
	CK_MECHANISM_TYPE op = mech_canonical(m);
	for (CK_ULONG i = 0; i + sizeof(CK_MECHANISM_TYPE) <= len; i += sizeof(CK_MECHANISM_TYPE)) {
		CK_MECHANISM_TYPE t;
		memcpy(&t, v + i, sizeof t);
		if (t == op)
			return true;
	}
	return false;
}

/* Looks up a key for an operation: handle, usage flag, allowed mechanisms. */
static CK_RV get_key(sk_session *s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE usage,
		     CK_MECHANISM_TYPE mech, CK_RV invalid, sk_object **out)
{
	sk_object *key;
	pthread_mutex_lock(&s->token->lock);
	CK_RV rv = token_object_lookup(s->token, h, &key);
	pthread_mutex_unlock(&s->token->lock);
	if (rv == CKR_OBJECT_HANDLE_INVALID)
		return invalid;
	if (rv != CKR_OK)
		return rv;
	if (key->cls != CKO_PUBLIC_KEY && key->cls != CKO_PRIVATE_KEY &&
	    key->cls != CKO_SECRET_KEY)
		rv = invalid;
	else if (usage != CK_UNAVAILABLE_INFORMATION && !attrs_bool(&key->attrs, usage, CK_FALSE))
		rv = CKR_KEY_FUNCTION_NOT_PERMITTED;
	else if (!mechanism_allowed(key, mech))
		rv = CKR_MECHANISM_INVALID;
	if (rv != CKR_OK) {
		object_unref(key);
		return rv;
	}
	*out = key;
	return CKR_OK;
}

static CK_RV op_init(CK_SESSION_HANDLE hSession, op_kind kind, CK_MECHANISM_PTR pMechanism,
		     CK_OBJECT_HANDLE hKey)
{
	sk_session *s;
	sk_object *key = NULL;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	if (!pMechanism) {
		session_put(s);
		return CKR_ARGUMENTS_BAD;
	}
	pthread_mutex_lock(&s->lock);
	if (s->op[kind]) {
		rv = CKR_OPERATION_ACTIVE;
		goto out;
	}
	if (kind != OP_DIGEST &&
	    (rv = get_key(s, hKey, usage_attr(kind), pMechanism->mechanism,
			  CKR_KEY_HANDLE_INVALID, &key)) != CKR_OK)
		goto out;
	rv = crypto_op_new(kind, pMechanism, key, &s->op[kind]);
	if (rv != CKR_OK)
		s->op[kind] = NULL;
	s->op_multi[kind] = false;
out:
	pthread_mutex_unlock(&s->lock);
	object_unref(key);
	session_put(s);
	return rv;
}

/* Keeps the operation alive on a length query or a short buffer, as the
 * spec wants; ends it otherwise. */
static void op_after(sk_session *s, op_kind kind, CK_RV rv, bool query)
{
	if (rv == CKR_BUFFER_TOO_SMALL || (rv == CKR_OK && query))
		return;
	session_end_op(s, kind);
}

static CK_RV op_oneshot(CK_SESSION_HANDLE hSession, op_kind kind, CK_BYTE_PTR in,
			CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	sk_session *s;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	pthread_mutex_lock(&s->lock);
	if (!s->op[kind]) {
		rv = CKR_OPERATION_NOT_INITIALIZED;
	} else if ((!in && in_len) || !out_len) {
		rv = CKR_ARGUMENTS_BAD;
		session_end_op(s, kind);
	} else if (s->op_multi[kind]) {
		rv = CKR_OPERATION_ACTIVE; /* multi-part under way: finish it first */
	} else {
		rv = crypto_op_oneshot(s->op[kind], in, in_len, out, out_len);
		op_after(s, kind, rv, out == NULL);
	}
	pthread_mutex_unlock(&s->lock);
	session_put(s);
	return rv;
}

/* Update with the session lock held. */
static CK_RV op_update_locked(sk_session *s, op_kind kind, CK_BYTE_PTR in, CK_ULONG in_len,
			      CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	CK_RV rv;
	bool produces = kind == OP_ENCRYPT || kind == OP_DECRYPT;
	if (!s->op[kind])
		return CKR_OPERATION_NOT_INITIALIZED;
	if ((!in && in_len) || (produces && !out_len)) {
		session_end_op(s, kind);
		return CKR_ARGUMENTS_BAD;
	}
	if (!crypto_op_multipart(s->op[kind])) {
		session_end_op(s, kind);
		return CKR_FUNCTION_NOT_SUPPORTED;
	}
	rv = crypto_op_update(s->op[kind], in, in_len, produces ? out : NULL,
			      produces ? out_len : NULL);
	if (rv == CKR_OK && !(produces && !out))
		s->op_multi[kind] = true;
	if (rv != CKR_OK && rv != CKR_BUFFER_TOO_SMALL)
		session_end_op(s, kind);
	return rv;
}

static CK_RV op_update(CK_SESSION_HANDLE hSession, op_kind kind, CK_BYTE_PTR in, CK_ULONG in_len,
		       CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	sk_session *s;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	pthread_mutex_lock(&s->lock);
	rv = op_update_locked(s, kind, in, in_len, out, out_len);
	pthread_mutex_unlock(&s->lock);
	session_put(s);
	return rv;
}

static CK_RV op_final(CK_SESSION_HANDLE hSession, op_kind kind, CK_BYTE_PTR out,
		      CK_ULONG_PTR out_len)
{
	sk_session *s;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	pthread_mutex_lock(&s->lock);
	if (!s->op[kind]) {
		rv = CKR_OPERATION_NOT_INITIALIZED;
	} else if (!out_len) {
		rv = CKR_ARGUMENTS_BAD;
		session_end_op(s, kind);
	} else if (!crypto_op_multipart(s->op[kind])) {
		rv = CKR_FUNCTION_NOT_SUPPORTED;
		session_end_op(s, kind);
	} else {
		rv = crypto_op_final(s->op[kind], out, out_len);
		op_after(s, kind, rv, out == NULL);
	}
	pthread_mutex_unlock(&s->lock);
	session_put(s);
	return rv;
}

CK_RV C_EncryptInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{
	return op_init(h, OP_ENCRYPT, m, k);
}

CK_RV C_Encrypt(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,
		       CK_ULONG_PTR out_len)
{
	return op_oneshot(h, OP_ENCRYPT, in, in_len, out, out_len);
}

CK_RV C_EncryptUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len,
			     CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	return op_update(h, OP_ENCRYPT, in, in_len, out, out_len);
}

CK_RV C_EncryptFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	return op_final(h, OP_ENCRYPT, out, out_len);
}

CK_RV C_DecryptInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{
	return op_init(h, OP_DECRYPT, m, k);
}

CK_RV C_Decrypt(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,
		       CK_ULONG_PTR out_len)
{
	return op_oneshot(h, OP_DECRYPT, in, in_len, out, out_len);
}

CK_RV C_DecryptUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len,
			     CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	return op_update(h, OP_DECRYPT, in, in_len, out, out_len);
}

CK_RV C_DecryptFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	return op_final(h, OP_DECRYPT, out, out_len);
}

CK_RV C_DigestInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m)
{
	return op_init(h, OP_DIGEST, m, CK_INVALID_HANDLE);
}

CK_RV C_Digest(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,
		      CK_ULONG_PTR out_len)
{
	return op_oneshot(h, OP_DIGEST, in, in_len, out, out_len);
}

CK_RV C_DigestUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len)
{
	return op_update(h, OP_DIGEST, in, in_len, NULL, NULL);
}

CK_RV C_DigestKey(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hKey)
{
	sk_session *s;
	sk_object *key = NULL;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	pthread_mutex_lock(&s->lock);
	if (!s->op[OP_DIGEST]) {
		rv = CKR_OPERATION_NOT_INITIALIZED;
	} else if ((rv = get_key(s, hKey, CK_UNAVAILABLE_INFORMATION, CK_UNAVAILABLE_INFORMATION,
				 CKR_KEY_HANDLE_INVALID, &key)) == CKR_OK) {
		if (key->cls != CKO_SECRET_KEY)
			rv = CKR_KEY_INDIGESTIBLE;
		else
			rv = crypto_op_digest_key(s->op[OP_DIGEST], key);
		if (rv == CKR_OK)
			s->op_multi[OP_DIGEST] = true;
	}
	if (rv != CKR_OK && rv != CKR_OPERATION_NOT_INITIALIZED)
		session_end_op(s, OP_DIGEST);
	pthread_mutex_unlock(&s->lock);
	object_unref(key);
	session_put(s);
	return rv;
}

CK_RV C_DigestFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	return op_final(h, OP_DIGEST, out, out_len);
}

CK_RV C_SignInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{
	return op_init(h, OP_SIGN, m, k);
}

CK_RV C_Sign(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,
		    CK_ULONG_PTR out_len)
{
	return op_oneshot(h, OP_SIGN, in, in_len, out, out_len);
}

CK_RV C_SignUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len)
{
	return op_update(h, OP_SIGN, in, in_len, NULL, NULL);
}

CK_RV C_SignFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	return op_final(h, OP_SIGN, out, out_len);
}

CK_RV C_SignRecoverInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{
	return op_init(h, OP_SIGN_RECOVER, m, k);
}

CK_RV C_SignRecover(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,
			   CK_ULONG_PTR out_len)
{
	return op_oneshot(h, OP_SIGN_RECOVER, in, in_len, out, out_len);
}

CK_RV C_VerifyInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{
	return op_init(h, OP_VERIFY, m, k);
}

CK_RV C_Verify(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
		      CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
	sk_session *s;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	pthread_mutex_lock(&s->lock);
	if (!s->op[OP_VERIFY]) {
		rv = CKR_OPERATION_NOT_INITIALIZED;
	} else if ((!pData && ulDataLen) || !pSignature) {
		rv = CKR_ARGUMENTS_BAD;
		session_end_op(s, OP_VERIFY);
	} else if (s->op_multi[OP_VERIFY]) {
		rv = CKR_OPERATION_ACTIVE;
	} else {
		rv = crypto_op_verify(s->op[OP_VERIFY], pData, ulDataLen, pSignature,
				      ulSignatureLen);
		session_end_op(s, OP_VERIFY);
	}
	pthread_mutex_unlock(&s->lock);
	session_put(s);
	return rv;
}

CK_RV C_VerifyUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len)
{
	return op_update(h, OP_VERIFY, in, in_len, NULL, NULL);
}

CK_RV C_VerifyFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature,
			   CK_ULONG ulSignatureLen)
{
	sk_session *s;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	pthread_mutex_lock(&s->lock);
	if (!s->op[OP_VERIFY]) {
		rv = CKR_OPERATION_NOT_INITIALIZED;
	} else if (!pSignature) {
		rv = CKR_ARGUMENTS_BAD;
		session_end_op(s, OP_VERIFY);
	} else if (!crypto_op_multipart(s->op[OP_VERIFY])) {
		rv = CKR_FUNCTION_NOT_SUPPORTED;
		session_end_op(s, OP_VERIFY);
	} else {
		rv = crypto_op_verify_final(s->op[OP_VERIFY], pSignature, ulSignatureLen);
		session_end_op(s, OP_VERIFY);
	}
	pthread_mutex_unlock(&s->lock);
	session_put(s);
	return rv;
}

CK_RV C_VerifyRecoverInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{
	return op_init(h, OP_VERIFY_RECOVER, m, k);
}

CK_RV C_VerifyRecover(CK_SESSION_HANDLE h, CK_BYTE_PTR sig, CK_ULONG sig_len,
			     CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	return op_oneshot(h, OP_VERIFY_RECOVER, sig, sig_len, out, out_len);
}

/* Dual-function updates: the producing half runs first so that a length
 * query or a short buffer changes nothing. */
static CK_RV dual_update(CK_SESSION_HANDLE hSession, op_kind produce, op_kind consume,
			 bool consume_output, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,
			 CK_ULONG_PTR out_len)
{
	sk_session *s;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	pthread_mutex_lock(&s->lock);
	if (!s->op[produce] || !s->op[consume]) {
		rv = CKR_OPERATION_NOT_INITIALIZED;
	} else {
		rv = op_update_locked(s, produce, in, in_len, out, out_len);
		if (rv == CKR_OK && out) {
			const CK_BYTE *data = consume_output ? out : in;
			CK_ULONG len = consume_output ? *out_len : in_len;
			rv = op_update_locked(s, consume, (CK_BYTE_PTR)data, len, NULL, NULL);
		}
	}
	pthread_mutex_unlock(&s->lock);
	session_put(s);
	return rv;
}

CK_RV C_DigestEncryptUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len,
				   CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	return dual_update(h, OP_ENCRYPT, OP_DIGEST, false, in, in_len, out, out_len);
}

CK_RV C_DecryptDigestUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len,
				   CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	return dual_update(h, OP_DECRYPT, OP_DIGEST, true, in, in_len, out, out_len);
}

CK_RV C_SignEncryptUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len,
				 CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	return dual_update(h, OP_ENCRYPT, OP_SIGN, false, in, in_len, out, out_len);
}

CK_RV C_DecryptVerifyUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len,
				   CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	return dual_update(h, OP_DECRYPT, OP_VERIFY, true, in, in_len, out, out_len);
}

/* ---- key management ------------------------------------------------------------ */

CK_RV C_GenerateKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
			   CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phKey)
{
	sk_session *s;
	sk_object *o = NULL;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	if (!pMechanism || !phKey || (!pTemplate && ulCount)) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	const CK_MECHANISM_INFO *mi = mech_info(pMechanism->mechanism);
	if (!mi || !(mi->flags & CKF_GENERATE)) {
		rv = CKR_MECHANISM_INVALID;
		goto out;
	}
	if (!(o = object_new())) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	o->secret_loaded = true;
	if ((rv = object_from_template(ORIGIN_GENERATE, CKO_SECRET_KEY,
				       mech_key_type(pMechanism->mechanism), pTemplate, ulCount,
				       so_logged_in(s), o)) != CKR_OK)
		goto out;
	pthread_mutex_lock(&s->token->lock);
	rv = check_writable(s, o);
	pthread_mutex_unlock(&s->token->lock);
	if (rv != CKR_OK || (rv = crypto_generate_key(pMechanism, o)) != CKR_OK ||
	    (rv = object_finish_key(o, ORIGIN_GENERATE, mech_canonical(pMechanism->mechanism))) != CKR_OK)
		goto out;
	rv = add_object(s, o, phKey);
out:
	object_unref(o);
	session_put(s);
	return rv;
}

CK_RV C_GenerateKeyPair(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
			       CK_ATTRIBUTE_PTR pPublicKeyTemplate, CK_ULONG ulPublicKeyAttributeCount,
			       CK_ATTRIBUTE_PTR pPrivateKeyTemplate,
			       CK_ULONG ulPrivateKeyAttributeCount, CK_OBJECT_HANDLE_PTR phPublicKey,
			       CK_OBJECT_HANDLE_PTR phPrivateKey)
{
	sk_session *s;
	sk_object *pub = NULL, *priv = NULL;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	if (!pMechanism || !phPublicKey || !phPrivateKey ||
	    (!pPublicKeyTemplate && ulPublicKeyAttributeCount) ||
	    (!pPrivateKeyTemplate && ulPrivateKeyAttributeCount)) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	const CK_MECHANISM_INFO *mi = mech_info(pMechanism->mechanism);
	if (!mi || !(mi->flags & CKF_GENERATE_KEY_PAIR)) {
		rv = CKR_MECHANISM_INVALID;
		goto out;
	}
	CK_KEY_TYPE kt = mech_key_type(pMechanism->mechanism);
	if (!(pub = object_new()) || !(priv = object_new())) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	pub->secret_loaded = priv->secret_loaded = true;
	bool so = so_logged_in(s);
	if ((rv = object_from_template(ORIGIN_GENERATE, CKO_PUBLIC_KEY, kt, pPublicKeyTemplate,
				       ulPublicKeyAttributeCount, so, pub)) != CKR_OK ||
	    (rv = object_from_template(ORIGIN_GENERATE, CKO_PRIVATE_KEY, kt, pPrivateKeyTemplate,
				       ulPrivateKeyAttributeCount, so, priv)) != CKR_OK)
		goto out;
	pthread_mutex_lock(&s->token->lock);
	rv = check_writable(s, pub);
	if (rv == CKR_OK)
		rv = check_writable(s, priv);
	pthread_mutex_unlock(&s->token->lock);
	if (rv != CKR_OK || (rv = crypto_generate_key_pair(pMechanism, pub, priv)) != CKR_OK ||
	    (rv = object_finish_key(pub, ORIGIN_GENERATE, mech_canonical(pMechanism->mechanism))) != CKR_OK ||
	    (rv = object_finish_key(priv, ORIGIN_GENERATE, mech_canonical(pMechanism->mechanism))) != CKR_OK)
		goto out;
	if ((rv = add_object(s, pub, phPublicKey)) != CKR_OK)
		goto out;
	if ((rv = add_object(s, priv, phPrivateKey)) != CKR_OK) {
		pthread_mutex_lock(&s->token->lock);
		token_object_destroy(s->token, pub);
		pthread_mutex_unlock(&s->token->lock);
	}
out:
	object_unref(pub);
	object_unref(priv);
	session_put(s);
	return rv;
}

CK_RV C_WrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
		       CK_OBJECT_HANDLE hWrappingKey, CK_OBJECT_HANDLE hKey, CK_BYTE_PTR pWrappedKey,
		       CK_ULONG_PTR pulWrappedKeyLen)
{
	sk_session *s;
	sk_object *wk = NULL, *key = NULL;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	if (!pMechanism || !pulWrappedKeyLen) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	const CK_MECHANISM_INFO *mi = mech_info(pMechanism->mechanism);
	if (!mi || !(mi->flags & CKF_WRAP)) {
		rv = CKR_MECHANISM_INVALID;
		goto out;
	}
	if ((rv = get_key(s, hWrappingKey, CKA_WRAP, pMechanism->mechanism,
			  CKR_WRAPPING_KEY_HANDLE_INVALID, &wk)) != CKR_OK ||
	    (rv = get_key(s, hKey, CK_UNAVAILABLE_INFORMATION, CK_UNAVAILABLE_INFORMATION,
			  CKR_KEY_HANDLE_INVALID, &key)) != CKR_OK)
		goto out;
	if (key->cls == CKO_PUBLIC_KEY) {
		rv = CKR_KEY_NOT_WRAPPABLE;
	} else if (!attrs_bool(&key->attrs, CKA_EXTRACTABLE, CK_FALSE)) {
		rv = CKR_KEY_UNEXTRACTABLE;
	} else if (attrs_bool(&key->attrs, CKA_WRAP_WITH_TRUSTED, CK_FALSE) &&
		   !attrs_bool(&wk->attrs, CKA_TRUSTED, CK_FALSE)) {
		rv = CKR_KEY_NOT_WRAPPABLE;
	} else {
		rv = crypto_wrap_key(pMechanism, wk, key, pWrappedKey, pulWrappedKeyLen);
	}
out:
	object_unref(wk);
	object_unref(key);
	session_put(s);
	return rv;
}

CK_RV C_UnwrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
			 CK_OBJECT_HANDLE hUnwrappingKey, CK_BYTE_PTR pWrappedKey,
			 CK_ULONG ulWrappedKeyLen, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulAttributeCount,
			 CK_OBJECT_HANDLE_PTR phKey)
{
	sk_session *s;
	sk_object *uk = NULL, *o = NULL;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	if (!pMechanism || !pWrappedKey || !phKey || (!pTemplate && ulAttributeCount)) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	const CK_MECHANISM_INFO *mi = mech_info(pMechanism->mechanism);
	if (!mi || !(mi->flags & CKF_UNWRAP)) {
		rv = CKR_MECHANISM_INVALID;
		goto out;
	}
	if ((rv = get_key(s, hUnwrappingKey, CKA_UNWRAP, pMechanism->mechanism,
			  CKR_UNWRAPPING_KEY_HANDLE_INVALID, &uk)) != CKR_OK)
		goto out;
	CK_ULONG cls;
	bool found;
	if ((rv = template_ulong(pTemplate, ulAttributeCount, CKA_CLASS, &cls, &found)) != CKR_OK)
		goto out;
	if (!found) {
		rv = CKR_TEMPLATE_INCOMPLETE;
		goto out;
	}
	if (cls != CKO_SECRET_KEY && cls != CKO_PRIVATE_KEY) {
		rv = CKR_TEMPLATE_INCONSISTENT;
		goto out;
	}
	if (!(o = object_new())) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	o->secret_loaded = true;
	if ((rv = object_from_template(ORIGIN_UNWRAP, cls, CK_UNAVAILABLE_INFORMATION, pTemplate,
				       ulAttributeCount, so_logged_in(s), o)) != CKR_OK)
		goto out;
	pthread_mutex_lock(&s->token->lock);
	rv = check_writable(s, o);
	pthread_mutex_unlock(&s->token->lock);
	if (rv != CKR_OK ||
	    (rv = crypto_unwrap_key(pMechanism, uk, pWrappedKey, ulWrappedKeyLen, o)) != CKR_OK ||
	    (rv = object_finish_key(o, ORIGIN_UNWRAP, pMechanism->mechanism)) != CKR_OK)
		goto out;
	rv = add_object(s, o, phKey);
out:
	object_unref(uk);
	object_unref(o);
	session_put(s);
	return rv;
}

CK_RV C_DeriveKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
			 CK_OBJECT_HANDLE hBaseKey, CK_ATTRIBUTE_PTR pTemplate,
			 CK_ULONG ulAttributeCount, CK_OBJECT_HANDLE_PTR phKey)
{
	sk_session *s;
	sk_object *base = NULL, *o = NULL;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	if (!pMechanism || !phKey || (!pTemplate && ulAttributeCount)) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	const CK_MECHANISM_INFO *mi = mech_info(pMechanism->mechanism);
	if (!mi || !(mi->flags & CKF_DERIVE)) {
		rv = CKR_MECHANISM_INVALID;
		goto out;
	}
	if ((rv = get_key(s, hBaseKey, CKA_DERIVE, pMechanism->mechanism, CKR_KEY_HANDLE_INVALID,
			  &base)) != CKR_OK)
		goto out;
	if (!(o = object_new())) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	o->secret_loaded = true;
	if ((rv = object_from_template(ORIGIN_DERIVE, CKO_SECRET_KEY, CK_UNAVAILABLE_INFORMATION,
				       pTemplate, ulAttributeCount, so_logged_in(s), o)) != CKR_OK)
		goto out;
	pthread_mutex_lock(&s->token->lock);
	rv = check_writable(s, o);
	pthread_mutex_unlock(&s->token->lock);
	if (rv != CKR_OK || (rv = crypto_derive_key(pMechanism, base, o)) != CKR_OK ||
	    (rv = object_finish_key(o, ORIGIN_DERIVE, pMechanism->mechanism)) != CKR_OK)
		goto out;
	/* A derived key is only "always sensitive" / "never extractable" if
	 * its base key was. */
	if (!attrs_bool(&base->attrs, CKA_ALWAYS_SENSITIVE, CK_FALSE))
		attrs_put_bool(&o->attrs, CKA_ALWAYS_SENSITIVE, CK_FALSE);
	if (!attrs_bool(&base->attrs, CKA_NEVER_EXTRACTABLE, CK_FALSE))
		attrs_put_bool(&o->attrs, CKA_NEVER_EXTRACTABLE, CK_FALSE);
	rv = add_object(s, o, phKey);
out:
	object_unref(base);
	object_unref(o);
	session_put(s);
	return rv;
}

/* ---- random, legacy ---------------------------------------------------------------- */

CK_RV C_SeedRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSeed, CK_ULONG ulSeedLen)
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

CK_RV C_GenerateRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pRandomData,
			      CK_ULONG ulRandomLen)
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

CK_RV C_GetFunctionStatus(CK_SESSION_HANDLE hSession)
{
	sk_session *s;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	session_put(s);
	return CKR_FUNCTION_NOT_PARALLEL;
}

CK_RV C_CancelFunction(CK_SESSION_HANDLE hSession)
{
	sk_session *s;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	session_put(s);
	return CKR_FUNCTION_NOT_PARALLEL;
}

/* ---- PKCS#11 3.0 ---------------------------------------------------------------------- */

static CK_RV C_LoginUser(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
			 CK_ULONG ulPinLen, CK_UTF8CHAR_PTR pUsername, CK_ULONG ulUsernameLen)
{
	/* Our tokens have no named users: the name is not checked. */
	(void)pUsername;
	(void)ulUsernameLen;
	return C_Login(hSession, userType, pPin, ulPinLen);
}

static CK_RV C_SessionCancel(CK_SESSION_HANDLE hSession, CK_FLAGS flags)
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

/* Message-based operations: no mechanism of ours offers them, so every
 * init says so and every other call finds nothing initialised. */
static CK_RV message_init(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism)
{
	sk_session *s;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	session_put(s);
	return pMechanism ? CKR_MECHANISM_INVALID : CKR_ARGUMENTS_BAD;
}

static CK_RV message_none(CK_SESSION_HANDLE hSession)
{
	sk_session *s;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	session_put(s);
	return CKR_OPERATION_NOT_INITIALIZED;
}

static CK_RV C_MessageEncryptInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{
	(void)k;
	return message_init(h, m);
}
static CK_RV C_EncryptMessage(CK_SESSION_HANDLE h, CK_VOID_PTR p, CK_ULONG pl, CK_BYTE_PTR a,
			      CK_ULONG al, CK_BYTE_PTR i, CK_ULONG il, CK_BYTE_PTR o,
			      CK_ULONG_PTR ol)
{
	(void)p, (void)pl, (void)a, (void)al, (void)i, (void)il, (void)o, (void)ol;
	return message_none(h);
}
static CK_RV C_EncryptMessageBegin(CK_SESSION_HANDLE h, CK_VOID_PTR p, CK_ULONG pl,
				   CK_BYTE_PTR a, CK_ULONG al)
{
	(void)p, (void)pl, (void)a, (void)al;
	return message_none(h);
}
static CK_RV C_EncryptMessageNext(CK_SESSION_HANDLE h, CK_VOID_PTR p, CK_ULONG pl, CK_BYTE_PTR i,
				  CK_ULONG il, CK_BYTE_PTR o, CK_ULONG_PTR ol, CK_FLAGS f)
{
	(void)p, (void)pl, (void)i, (void)il, (void)o, (void)ol, (void)f;
	return message_none(h);
}
static CK_RV C_MessageEncryptFinal(CK_SESSION_HANDLE h)
{
	return message_none(h);
}
static CK_RV C_MessageDecryptInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{
	(void)k;
	return message_init(h, m);
}
static CK_RV C_MessageSignInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{
	(void)k;
	return message_init(h, m);
}
static CK_RV C_SignMessage(CK_SESSION_HANDLE h, CK_VOID_PTR p, CK_ULONG pl, CK_BYTE_PTR d,
			   CK_ULONG dl, CK_BYTE_PTR sg, CK_ULONG_PTR sl)
{
	(void)p, (void)pl, (void)d, (void)dl, (void)sg, (void)sl;
	return message_none(h);
}
static CK_RV C_SignMessageBegin(CK_SESSION_HANDLE h, CK_VOID_PTR p, CK_ULONG pl)
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
static CK_RV C_MessageVerifyInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{
	(void)k;
	return message_init(h, m);
}
static CK_RV C_VerifyMessage(CK_SESSION_HANDLE h, CK_VOID_PTR p, CK_ULONG pl, CK_BYTE_PTR d,
			     CK_ULONG dl, CK_BYTE_PTR sg, CK_ULONG sl)
{
	(void)p, (void)pl, (void)d, (void)dl, (void)sg, (void)sl;
	return message_none(h);
}
static CK_RV C_VerifyMessageNext(CK_SESSION_HANDLE h, CK_VOID_PTR p, CK_ULONG pl, CK_BYTE_PTR d,
				 CK_ULONG dl, CK_BYTE_PTR sg, CK_ULONG sl)
{
	(void)p, (void)pl, (void)d, (void)dl, (void)sg, (void)sl;
	return message_none(h);
}

/* ---- function lists and interfaces ------------------------------------------------ */

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
	C_MessageEncryptInit,
	C_EncryptMessage,
	C_EncryptMessageBegin,
	C_EncryptMessageNext,
	C_MessageEncryptFinal,
	C_MessageDecryptInit,
	/* Decrypt has the same shapes as encrypt. */
	C_EncryptMessage,
	C_EncryptMessageBegin,
	C_EncryptMessageNext,
	C_MessageEncryptFinal,
	C_MessageSignInit,
	C_SignMessage,
	C_SignMessageBegin,
	C_SignMessageNext,
	C_MessageEncryptFinal,
	C_MessageVerifyInit,
	C_VerifyMessage,
	C_SignMessageBegin,
	C_VerifyMessageNext,
	C_MessageEncryptFinal,
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
