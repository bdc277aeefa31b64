/* A soft token: its store, login state, PIN policy and objects. */
#ifndef SEALKIT_TOKEN_H
#define SEALKIT_TOKEN_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "object.h"
#include "pkcs11x.h"
#include "store/seal.h"
#include "store/store.h"
#include "util/map.h"

#define SK_NOT_LOGGED_IN ((CK_USER_TYPE)-1)

typedef struct sk_token {
	CK_SLOT_ID slot_id;
	char *path;
	/* Guards everything below and the store. Taken after module.lock. */
	pthread_mutex_t lock;
	store *st; /* NULL while the slot is free */
	bool initialized;
	char label[33];
	char serial[17];
	bool user_pin_set;
	CK_ULONG so_fails, user_fails;
	CK_ULONG max_fails;
	CK_ULONG iterations;

	/* Login state of this application (this process). login, key and
	 * have_key are written with both `lock` and `key_lock` held, so either
	 * is enough to read them. key_lock is a leaf lock: token_unseal takes
	 * it inside an object's lock, which lets token_logout (under `lock`)
	 * take object locks to forget opened secrets without a lock-order
	 * inversion. */
	pthread_mutex_t key_lock;
	CK_USER_TYPE login;
	unsigned char key[SEAL_KEY_LEN];
	bool have_key;

	CK_ULONG sessions, rw_sessions;

	/* Objects, token and session ones, by handle; token ones also by row. */
	bool loaded;
	int64_t data_version;
	int64_t max_gen;
	u64map objects;
	u64map rows;
	u64map index; /* hash of (type, value) for CKA_ID / CKA_LABEL -> ptrvec */
} sk_token;

sk_token *token_new(CK_SLOT_ID id, const char *path);
void token_free(sk_token *t);
/* Opens the store if the file exists and reads the token's state. Called
 * with t->lock held; harmless when already open. */
CK_RV token_open(sk_token *t);
/* Picks up changes other processes made (PIN counters, objects). t->lock
 * held. Cheap when nothing changed. */
CK_RV token_sync(sk_token *t);

CK_RV token_get_info(sk_token *t, CK_TOKEN_INFO *info);
CK_RV token_init(sk_token *t, const CK_UTF8CHAR *so_pin, CK_ULONG so_pin_len,
		 const CK_UTF8CHAR *label);
CK_RV token_login(sk_token *t, CK_USER_TYPE user, const CK_UTF8CHAR *pin, CK_ULONG pin_len);
/* Also wipes what the login opened: the secrets and crypto caches of token
 * objects from sealed storage (object_forget_secret); a new login opens them
 * again on use. t->lock held. */
CK_RV token_logout(sk_token *t);
CK_RV token_init_pin(sk_token *t, const CK_UTF8CHAR *pin, CK_ULONG pin_len);
CK_RV token_set_pin(sk_token *t, const CK_UTF8CHAR *old_pin, CK_ULONG old_len,
		    const CK_UTF8CHAR *new_pin, CK_ULONG new_len);

/* Objects. All with t->lock held. */
/* Whether the current login state lets the caller see `o`. */
bool token_object_visible(sk_token *t, sk_object *o);
/* Looks up a handle; the object is returned with a reference. */
CK_RV token_object_get(sk_token *t, CK_OBJECT_HANDLE h, sk_object **out);
/* The same without asking the store what other processes changed: for the
 * key of a cryptographic operation, where the check would cost more than a
 * signature's worth of time and a key handle stays valid in this process
 * until it looks again. */
CK_RV token_object_lookup(sk_token *t, CK_OBJECT_HANDLE h, sk_object **out);
/* Gives `o` a handle and, for token objects, writes it to the store. */
CK_RV token_object_add(sk_token *t, sk_object *o);
/* Replaces `old` by `updated` (same handle) after C_SetAttributeValue. */
CK_RV token_object_replace(sk_token *t, sk_object *old, sk_object *updated);
CK_RV token_object_destroy(sk_token *t, sk_object *o);
/* Drops the session objects of one session (or of all, with 0). */
void token_drop_session_objects(sk_token *t, CK_SESSION_HANDLE session);
/* Collects visible objects matching a template into a new array. */
CK_RV token_find(sk_token *t, const CK_ATTRIBUTE *tmpl, CK_ULONG count,
		 CK_OBJECT_HANDLE **found, CK_ULONG *nfound);

/* Opens the sealed secret attributes of `o` (object.c calls this with o->lock
 * held; takes only t->key_lock). CKR_USER_NOT_LOGGED_IN without the token
 * key. */
CK_RV token_unseal(sk_token *t, sk_object *o);

#endif
