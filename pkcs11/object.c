#include "object.h"

#include <stdlib.h>
#include <string.h>

#include "attributes.h"
#include "token.h"

sk_object *object_new(void)
{
	sk_object *o = calloc(1, sizeof *o);
	if (!o)
		return NULL;
	pthread_mutex_init(&o->lock, NULL);
	o->key_type = CK_UNAVAILABLE_INFORMATION;
	o->cls = CK_UNAVAILABLE_INFORMATION;
	atomic_init(&o->refs, 1);
	atomic_init(&o->destroyed, false);
	return o;
}

void object_ref(sk_object *o)
{
	atomic_fetch_add(&o->refs, 1);
}

void object_unref(sk_object *o)
{
	if (!o || atomic_fetch_sub(&o->refs, 1) != 1)
		return;
	attrs_free(&o->attrs);
	attrs_free(&o->secret);
	free(o->sealed);
	if (o->cache && o->cache_free)
		o->cache_free(o->cache);
	pthread_mutex_destroy(&o->lock);
	free(o);
}

/* Opens the sealed secret attributes; o->lock held. They then stay in memory
 * until the object goes or a logout forgets them. */
static CK_RV open_locked(sk_object *o)
{
	CK_RV rv = CKR_OK;
	if (!o->secret_loaded) {
		if (o->sealed && o->token)
			rv = token_unseal(o->token, o);
		if (rv == CKR_OK)
			o->secret_loaded = true;
	}
	return rv;
}

CK_RV object_open_secret(sk_object *o)
{
	pthread_mutex_lock(&o->lock);
	CK_RV rv = open_locked(o);
	pthread_mutex_unlock(&o->lock);
	return rv;
}

CK_RV object_value(sk_object *o, CK_ATTRIBUTE_TYPE type, const void **value, CK_ULONG *len)
{
	CK_RV rv = CKR_OK;
	*value = attrs_get(&o->attrs, type, len);
	/* A pointer into the secret set would dangle after a logout. */
	if (!*value && attr_is_secret(o->cls, o->key_type, type))
		rv = CKR_GENERAL_ERROR;
	return rv;
}

CK_RV object_secret_get(sk_object *o, CK_ATTRIBUTE_TYPE type, void *buf, CK_ULONG cap,
			CK_ULONG *len)
{
	CK_ULONG l = 0;
	/* Opened and copied under one hold of the lock: a forget cannot come
	 * in between. */
	pthread_mutex_lock(&o->lock);
	CK_RV rv = open_locked(o);
	if (rv != CKR_OK)
		goto out;
	const void *v = attrs_get(&o->secret, type, &l);
	if (!v) {
		*len = CK_UNAVAILABLE_INFORMATION;
		goto out;
	}
	*len = l;
	if (!buf)
		goto out;
	if (cap < l) {
		rv = CKR_BUFFER_TOO_SMALL;
		goto out;
	}
	if (l)
		memcpy(buf, v, l);
out:
	pthread_mutex_unlock(&o->lock);
	return rv;
}

CK_RV object_secret_copy(sk_object *o, attr_set *out)
{
	pthread_mutex_lock(&o->lock);
	CK_RV rv = open_locked(o);
	if (rv == CKR_OK)
		rv = attrs_copy(out, &o->secret);
	pthread_mutex_unlock(&o->lock);
	return rv;
}

void object_forget_secret(sk_object *o)
{
	void *cache = NULL;
	void (*cache_free)(void *) = NULL;
	pthread_mutex_lock(&o->lock);
	/* Only what a login can open again: session objects and objects being
	 * built have no sealed copy, their secrets are all there is. */
	if (o->sealed) {
		attrs_free(&o->secret); /* wipes */
		o->secret_loaded = false;
		cache = o->cache;
		cache_free = o->cache_free;
		o->cache = NULL;
		o->cache_free = NULL;
	}
	pthread_mutex_unlock(&o->lock);
	/* Outside the lock: drops the object's reference only; operations
	 * holding their own keep the key until they end. */
	if (cache && cache_free)
		cache_free(cache);
}

CK_BBOOL object_bool(sk_object *o, CK_ATTRIBUTE_TYPE type, CK_BBOOL dflt)
{
	return attrs_bool(&o->attrs, type, dflt);
}

CK_ULONG object_ulong(sk_object *o, CK_ATTRIBUTE_TYPE type, CK_ULONG dflt)
{
	return attrs_ulong(&o->attrs, type, dflt);
}

CK_RV object_set_value(sk_object *o, CK_ATTRIBUTE_TYPE type, const void *value, CK_ULONG len)
{
	if (attr_is_secret(o->cls, o->key_type, type)) {
		o->secret_loaded = true;
		return attrs_put(&o->secret, type, value, len);
	}
	return attrs_put(&o->attrs, type, value, len);
}

void *object_cache_get(sk_object *o, void (*ref)(void *))
{
	pthread_mutex_lock(&o->lock);
	void *c = o->cache;
	if (c)
		ref(c);
	pthread_mutex_unlock(&o->lock);
	return c;
}

bool object_cache_set(sk_object *o, void *cache, void (*cache_free)(void *))
{
	bool set = false;
	pthread_mutex_lock(&o->lock);
	/* Not loaded while sealed: forgotten after the caller read them. */
	if (!o->cache && (o->secret_loaded || !o->sealed)) {
		o->cache = cache;
		o->cache_free = cache_free;
		set = true;
	}
	pthread_mutex_unlock(&o->lock);
	return set;
}
