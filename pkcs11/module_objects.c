/* The object functions of the function table for soft tokens: create, copy,
 * destroy, attributes, search. dispatch.c routes calls here. */
#include "soft.h"

#include <stdlib.h>
#include <string.h>

#include "attributes.h"
#include "crypto/crypto.h"
#include "session.h"
#include "token.h"

/* Gets an object of the session's token, with a reference. */
static CK_RV get_object(sk_session *s, CK_OBJECT_HANDLE h, sk_object **out)
{
	pthread_mutex_lock(&s->token->lock);
	CK_RV rv = token_object_get(s->token, h, out);
	pthread_mutex_unlock(&s->token->lock);
	return rv;
}

/* May this session hold `o` (a new or changed object)? */
CK_RV soft_check_writable(sk_session *s, sk_object *o)
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

bool soft_so_logged_in(sk_session *s)
{
	return s->token->login == CKU_SO;
}

/* Adds a finished new object to the session's token. */
CK_RV soft_add_object(sk_session *s, sk_object *o, CK_OBJECT_HANDLE *out)
{
	pthread_mutex_lock(&s->token->lock);
	CK_RV rv = soft_check_writable(s, o);
	if (rv == CKR_OK) {
		o->session = s->handle;
		rv = token_object_add(s->token, o);
	}
	pthread_mutex_unlock(&s->token->lock);
	if (rv == CKR_OK && out)
		*out = o->handle;
	return rv;
}

CK_RV soft_CreateObject(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount,
			CK_OBJECT_HANDLE_PTR phObject)
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
				  CK_UNAVAILABLE_INFORMATION, pTemplate, ulCount, soft_so_logged_in(s),
				  o);
	if (rv != CKR_OK)
		goto out;
	pthread_mutex_lock(&s->token->lock);
	rv = soft_check_writable(s, o);
	pthread_mutex_unlock(&s->token->lock);
	if (rv != CKR_OK)
		goto out;
	if (o->cls == CKO_PUBLIC_KEY || o->cls == CKO_PRIVATE_KEY || o->cls == CKO_SECRET_KEY) {
		if ((rv = crypto_check_key(o)) != CKR_OK ||
		    (rv = object_finish_key(o, ORIGIN_CREATE, 0)) != CKR_OK)
			goto out;
	}
	rv = soft_add_object(s, o, phObject);
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

CK_RV soft_CopyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
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
	/* The copy gets a new unique ID, so its secrets are sealed anew: it
	 * needs them open, copied in the same hold of o's lock that opens
	 * them (a logout in another thread may forget them at any time). */
	if ((rv = clone_object(o, &c)) != CKR_OK ||
	    (rv = object_secret_copy(o, &c->secret)) != CKR_OK)
		goto out;
	c->secret_loaded = true;
	free(c->sealed);
	c->sealed = NULL;
	c->sealed_len = 0;
	attrs_remove(&c->attrs, CKA_UNIQUE_ID);
	if ((rv = object_apply_template(c, pTemplate, ulCount, true, soft_so_logged_in(s))) != CKR_OK)
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
	rv = soft_add_object(s, c, phNewObject);
out:
	object_unref(c);
	object_unref(o);
	session_put(s);
	return rv;
}

CK_RV soft_DestroyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject)
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

CK_RV soft_GetObjectSize(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject, CK_ULONG_PTR pulSize)
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

CK_RV soft_GetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
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

CK_RV soft_SetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
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
	    (rv = object_apply_template(c, pTemplate, ulCount, false, soft_so_logged_in(s))) != CKR_OK)
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

CK_RV soft_FindObjectsInit(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
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

CK_RV soft_FindObjects(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE_PTR phObject,
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

CK_RV soft_FindObjectsFinal(CK_SESSION_HANDLE hSession)
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

