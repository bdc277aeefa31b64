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
	 * token objects and opened on first use after login; a logout wipes
	 * the opened copy again (object_forget_secret).
	 *
	 * Once an object is shared (in the token's tables, or referenced by
	 * an operation), `secret` and `cache` are read and written only with
	 * `lock` held: readers get copies (object_secret_get/_copy) or their
	 * own reference (object_cache_get), never a pointer into them, so a
	 * forget in another thread cannot free memory a reader is using.
	 * Objects still being built belong to one thread and use them freely. */
	pthread_mutex_t lock;      /* guards secret, secret_loaded, sealed, cache */
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

/* Public attribute values: *value is NULL (and CKR_OK) when the object has
 * no such public attribute. The pointer stays valid while the caller holds a
 * reference (a shared object's public attributes never change). Secret
 * attributes are refused (CKR_GENERAL_ERROR): they may be wiped by a logout
 * at any moment, so they are only handed out as copies, below. */
CK_RV object_value(sk_object *o, CK_ATTRIBUTE_TYPE type, const void **value, CK_ULONG *len);
/* Copies one secret attribute, opening the secrets first if needed
 * (CKR_USER_NOT_LOGGED_IN without the token key). *len is set to its length,
 * CK_UNAVAILABLE_INFORMATION when absent. buf == NULL asks for the length;
 * a too small cap gives CKR_BUFFER_TOO_SMALL and copies nothing. */
CK_RV object_secret_get(sk_object *o, CK_ATTRIBUTE_TYPE type, void *buf, CK_ULONG cap,
			CK_ULONG *len);
/* Copies the whole secret set into *out (replacing it), opening it first if
 * needed. The caller wipes it with attrs_free. */
CK_RV object_secret_copy(sk_object *o, attr_set *out);
/* Opens the sealed secret attributes (CKR_USER_NOT_LOGGED_IN without the
 * token key). */
CK_RV object_open_secret(sk_object *o);
/* After a logout: wipes the opened secrets and the crypto cache of an object
 * whose secrets came from sealed storage, so that they are opened again
 * (with a login) on next use. Operations already started keep their own
 * references and copies. Takes o->lock (after t->lock, before t->key_lock). */
void object_forget_secret(sk_object *o);
CK_BBOOL object_bool(sk_object *o, CK_ATTRIBUTE_TYPE type, CK_BBOOL dflt);
CK_ULONG object_ulong(sk_object *o, CK_ATTRIBUTE_TYPE type, CK_ULONG dflt);
/* Sets a value on an object being built (key generation, unwrap, derive):
 * secret attributes go to the secret set, others to the public one. */
CK_RV object_set_value(sk_object *o, CK_ATTRIBUTE_TYPE type, const void *value, CK_ULONG len);

/* The crypto layer's cached form of the key. object_cache_get returns NULL
 * or the cache with a reference taken by `ref` under the object's lock: the
 * caller owns that reference, and a forget dropping the object's own one
 * meanwhile cannot free it. object_cache_set returns false if the cache is
 * already set or the secrets were forgotten since they were read (a cache
 * built from them must not outlive the logout); the caller keeps its copy. */
void *object_cache_get(sk_object *o, void (*ref)(void *));
bool object_cache_set(sk_object *o, void *cache, void (*cache_free)(void *));

#endif
