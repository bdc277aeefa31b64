/* Objects: token and session objects, their attributes and handles. */
#ifndef SEALKIT_OBJECT_H
#define SEALKIT_OBJECT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include "attrs.h"

struct sk_token;

typedef struct sk_object {
	CK_OBJECT_HANDLE handle;
	struct sk_token *token;
	int64_t row;               /* store row; 0 for session objects */
	int64_t gen;               /* store generation of the row we loaded */
	CK_SESSION_HANDLE session; /* creating session, for session objects */
	CK_OBJECT_CLASS cls;
	CK_KEY_TYPE key_type;      /* CK_UNAVAILABLE_INFORMATION when not a key */
	bool is_token;
	bool is_private;
	attr_set attrs;            /* every attribute except the secret ones */

	/* Secret attributes (key material, secret data) are kept sealed for
	 * token objects and opened on first use after login. */
	pthread_mutex_t lock;      /* guards secret, sealed, cache */
	attr_set secret;
	bool secret_loaded;
	unsigned char *sealed;
	size_t sealed_len;

	/* One derived form of the key kept by the crypto layer (an EVP_PKEY…). */
	void *cache;
	void (*cache_free)(void *);

	atomic_int refs;
	atomic_bool destroyed;
} sk_object;

/* A new, empty object holding one reference. */
sk_object *object_new(void);
void object_ref(sk_object *o);
void object_unref(sk_object *o);

/* Attribute values for the crypto layer: looks in the public attributes, then
 * in the secret ones (opening them with the token key if needed). *value is
 * NULL (and CKR_OK) when the object has no such attribute. The pointer stays
 * valid while the caller holds a reference and does not modify the object. */
CK_RV object_value(sk_object *o, CK_ATTRIBUTE_TYPE type, const void **value, CK_ULONG *len);
/* Opens the sealed secret attributes (CKR_USER_NOT_LOGGED_IN without the
 * token key). Never call with the token's lock held. */
CK_RV object_open_secret(sk_object *o);
CK_BBOOL object_bool(sk_object *o, CK_ATTRIBUTE_TYPE type, CK_BBOOL dflt);
CK_ULONG object_ulong(sk_object *o, CK_ATTRIBUTE_TYPE type, CK_ULONG dflt);
/* Sets a value on an object being built (key generation, unwrap, derive):
 * secret attributes go to the secret set, others to the public one. */
CK_RV object_set_value(sk_object *o, CK_ATTRIBUTE_TYPE type, const void *value, CK_ULONG len);

/* The crypto layer's cached form of the key. object_cache_set returns false
 * if another thread got there first; the caller then frees its own copy and
 * uses object_cache_get. The cache lives as long as the object. */
void *object_cache_get(sk_object *o);
bool object_cache_set(sk_object *o, void *cache, void (*cache_free)(void *));

#endif
