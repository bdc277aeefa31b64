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

/* Opens the sealed secret attributes once; they then stay in memory (wiped
 * when the object goes) so pointers handed to the crypto layer stay valid. */
CK_RV object_open_secret(sk_object *o)
{
	CK_RV rv = CKR_OK;
	pthread_mutex_lock(&o->lock);
	if (!o->secret_loaded) {
		if (o->sealed && o->token)
			rv = token_unseal(o->token, o);
		if (rv == CKR_OK)
			o->secret_loaded = true;
	}
	pthread_mutex_unlock(&o->lock);
	return rv;
}

CK_RV object_value(sk_object *o, CK_ATTRIBUTE_TYPE type, const void **value, CK_ULONG *len)
{
	*value = attrs_get(&o->attrs, type, len);
	if (*value || !attr_is_secret(o->cls, o->key_type, type))
		return CKR_OK;
	CK_RV rv = object_open_secret(o);
	if (rv != CKR_OK)
		return rv;
	*value = attrs_get(&o->secret, type, len);
	return CKR_OK;
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

void *object_cache_get(sk_object *o)
{
	pthread_mutex_lock(&o->lock);
	void *c = o->cache;
	pthread_mutex_unlock(&o->lock);
	return c;
}

bool object_cache_set(sk_object *o, void *cache, void (*cache_free)(void *))
{
	bool set = false;
	pthread_mutex_lock(&o->lock);
	if (!o->cache) {
		o->cache = cache;
		o->cache_free = cache_free;
		set = true;
	}
	pthread_mutex_unlock(&o->lock);
	return set;
}
