#include "token.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "attributes.h"
#include "crypto/crypto.h"
#include "module.h"

/* Names of the token's values in the store. */
#define M_INITIALIZED "initialized"
#define M_LABEL "label"
#define M_SERIAL "serial"
#define M_MAX_FAILS "max_fails"
#define M_SO_PIN "so_pin"
#define M_USER_PIN "user_pin"
#define M_SO_FAILS "so_fails"
#define M_USER_FAILS "user_fails"

/* Find index values: see index_add(). */
#define INDEX_MANY(p) (((uintptr_t)(p)) & 1u)
#define INDEX_VEC(p) ((ptrvec *)(((uintptr_t)(p)) & ~(uintptr_t)1u))

sk_token *token_new(CK_SLOT_ID id, const char *path)
{
	sk_token *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->path = strdup(path);
	if (!t->path) {
		free(t);
		return NULL;
	}
	t->slot_id = id;
	t->login = SK_NOT_LOGGED_IN;
	t->max_fails = module.cfg.max_pin_failures;
	t->iterations = module.cfg.pin_iterations;
	pthread_mutex_init(&t->lock, NULL);
	pthread_mutex_init(&t->key_lock, NULL);
	u64map_init(&t->objects);
	u64map_init(&t->rows);
	u64map_init(&t->index);
	return t;
}

static void index_clear(sk_token *t)
{
	size_t pos = 0;
	void *v;
	while (u64map_next(&t->index, &pos, NULL, &v)) {
		if (INDEX_MANY(v)) {
			ptrvec_free(INDEX_VEC(v));
			free(INDEX_VEC(v));
		}
	}
	u64map_free(&t->index);
	u64map_init(&t->index);
}

static void objects_clear(sk_token *t)
{
	size_t pos = 0;
	void *v;
	while (u64map_next(&t->objects, &pos, NULL, &v)) {
		sk_object *o = v;
		atomic_store(&o->destroyed, true);
		/* An operation may keep the object a while: not its secrets. */
		object_forget_secret(o);
		object_unref(o);
	}
	u64map_free(&t->objects);
	u64map_free(&t->rows);
	u64map_init(&t->objects);
	u64map_init(&t->rows);
	index_clear(t);
	t->loaded = false;
	t->max_gen = 0;
}

void token_free(sk_token *t)
{
	if (!t)
		return;
	objects_clear(t);
	if (t->st)
		store_close(t->st);
	OPENSSL_cleanse(t->key, sizeof t->key);
	pthread_mutex_destroy(&t->key_lock);
	pthread_mutex_destroy(&t->lock);
	free(t->path);
	free(t);
}

/* Sets the login state and token key (NULL: wipes it). t->lock held; also
 * takes key_lock for token_unseal, which reads them under that alone. */
static void set_login(sk_token *t, CK_USER_TYPE user, const unsigned char *key)
{
	pthread_mutex_lock(&t->key_lock);
	t->login = user;
	if (key)
		memcpy(t->key, key, sizeof t->key);
	else
		OPENSSL_cleanse(t->key, sizeof t->key);
	t->have_key = key != NULL;
	pthread_mutex_unlock(&t->key_lock);
}

/* ---- small meta helpers ------------------------------------------------ */

static CK_RV meta_ulong(sk_token *t, const char *name, CK_ULONG dflt, CK_ULONG *out)
{
	unsigned char *v;
	size_t len;
	CK_RV rv = store_meta_get(t->st, name, &v, &len);
	if (rv != CKR_OK)
		return rv;
	*out = dflt;
	if (v) {
		char buf[32];
		if (len < sizeof buf) {
			memcpy(buf, v, len);
			buf[len] = '\0';
			*out = strtoul(buf, NULL, 10);
		}
		store_free(v, len);
	}
	return CKR_OK;
}

static CK_RV put_ulong(sk_token *t, const char *name, CK_ULONG value)
{
	char buf[32];
	int n = snprintf(buf, sizeof buf, "%lu", (unsigned long)value);
	return store_meta_put(t->st, name, buf, (size_t)n);
}

static CK_RV read_state(sk_token *t)
{
	CK_RV rv;
	unsigned char *v;
	size_t len;
	CK_ULONG init = 0;

	if ((rv = meta_ulong(t, M_INITIALIZED, 0, &init)) != CKR_OK)
		return rv;
	t->initialized = init == 1;
	if ((rv = store_meta_get(t->st, M_LABEL, &v, &len)) != CKR_OK)
		return rv;
	memset(t->label, 0, sizeof t->label);
	if (v) {
		memcpy(t->label, v, len < 32 ? len : 32);
		store_free(v, len);
	}
	if ((rv = store_meta_get(t->st, M_SERIAL, &v, &len)) != CKR_OK)
		return rv;
	memset(t->serial, 0, sizeof t->serial);
	if (v) {
		memcpy(t->serial, v, len < 16 ? len : 16);
		store_free(v, len);
	}
	if ((rv = store_meta_get(t->st, M_USER_PIN, &v, &len)) != CKR_OK)
		return rv;
	t->user_pin_set = v != NULL;
	if (v)
		store_free(v, len);
	if ((rv = meta_ulong(t, M_SO_FAILS, 0, &t->so_fails)) != CKR_OK ||
	    (rv = meta_ulong(t, M_USER_FAILS, 0, &t->user_fails)) != CKR_OK ||
	    (rv = meta_ulong(t, M_MAX_FAILS, module.cfg.max_pin_failures, &t->max_fails)) !=
		    CKR_OK)
		return rv;
	return CKR_OK;
}

CK_RV token_open(sk_token *t)
{
	if (t->st)
		return CKR_OK;
	if (access(t->path, F_OK) != 0)
		return CKR_OK; /* a free slot */
	CK_RV rv = store_open(t->path, 0, &t->st);
	if (rv != CKR_OK) {
		t->st = NULL;
		return rv;
	}
	if ((rv = store_data_version(t->st, &t->data_version)) != CKR_OK ||
	    (rv = read_state(t)) != CKR_OK) {
		store_close(t->st);
		t->st = NULL;
	}
	return rv;
}

/* ---- objects in memory --------------------------------------------------- */

static uint64_t index_key(CK_ATTRIBUTE_TYPE type, const void *v, CK_ULONG len)
{
	return hash_bytes(type, v, len);
}

static const CK_ATTRIBUTE_TYPE indexed[] = {CKA_ID, CKA_LABEL};

/* An index entry is one object (the usual case: IDs and labels are mostly
 * unique, and loading 100,000 objects should not cost 200,000 allocations)
 * or, tagged with the low bit, a ptrvec of several. */

static void index_add(sk_token *t, sk_object *o)
{
	for (size_t i = 0; i < sizeof indexed / sizeof indexed[0]; i++) {
		CK_ULONG len;
		const void *v = attrs_get(&o->attrs, indexed[i], &len);
		if (!v || !len)
			continue;
		uint64_t k = index_key(indexed[i], v, len);
		void *cur = u64map_get(&t->index, k);
		if (!cur) {
			u64map_put(&t->index, k, o);
			continue; /* on failure the object is still found by a scan */
		}
		if (!INDEX_MANY(cur)) {
			ptrvec *vec = calloc(1, sizeof *vec);
			if (!vec || !ptrvec_push(vec, cur) ||
			    !u64map_put(&t->index, k, (void *)((uintptr_t)vec | 1u))) {
				if (vec)
					ptrvec_free(vec);
				free(vec);
				continue;
			}
			cur = (void *)((uintptr_t)vec | 1u);
		}
		ptrvec_push(INDEX_VEC(cur), o);
	}
}

static void index_remove(sk_token *t, sk_object *o)
{
	for (size_t i = 0; i < sizeof indexed / sizeof indexed[0]; i++) {
		CK_ULONG len;
		const void *v = attrs_get(&o->attrs, indexed[i], &len);
		if (!v || !len)
			continue;
		uint64_t k = index_key(indexed[i], v, len);
		void *cur = u64map_get(&t->index, k);
		if (!cur)
			continue;
		if (!INDEX_MANY(cur)) {
			if (cur == o)
				u64map_remove(&t->index, k);
			continue;
		}
		ptrvec *vec = INDEX_VEC(cur);
		ptrvec_remove(vec, o);
		if (!vec->count) {
			u64map_remove(&t->index, k);
			ptrvec_free(vec);
			free(vec);
		}
	}
}

/* Takes over the caller's reference. */
static CK_RV track(sk_token *t, sk_object *o)
{
	if (!u64map_put(&t->objects, o->handle, o))
		return CKR_HOST_MEMORY;
	if (o->row && !u64map_put(&t->rows, (uint64_t)o->row, o)) {
		u64map_remove(&t->objects, o->handle);
		return CKR_HOST_MEMORY;
	}
	index_add(t, o);
	return CKR_OK;
}

static void untrack(sk_token *t, sk_object *o)
{
	index_remove(t, o);
	u64map_remove(&t->objects, o->handle);
	if (o->row)
		u64map_remove(&t->rows, (uint64_t)o->row);
}

static CK_RV object_from_row(sk_token *t, int64_t row, int64_t gen, const void *attrs,
			     size_t attrs_len, const void *sealed, size_t sealed_len,
			     sk_object **out)
{
	sk_object *o = object_new();
	if (!o)
		return CKR_HOST_MEMORY;
	CK_RV rv = attrs_load(&o->attrs, attrs, attrs_len);
	if (rv != CKR_OK) {
		object_unref(o);
		return rv;
	}
	if (sealed && sealed_len) {
		o->sealed = malloc(sealed_len);
		if (!o->sealed) {
			object_unref(o);
			return CKR_HOST_MEMORY;
		}
		memcpy(o->sealed, sealed, sealed_len);
		o->sealed_len = sealed_len;
	} else {
		o->secret_loaded = true;
	}
	o->token = t;
	o->row = row;
	o->gen = gen;
	o->cls = attrs_ulong(&o->attrs, CKA_CLASS, CK_UNAVAILABLE_INFORMATION);
	o->key_type = attrs_ulong(&o->attrs, CKA_KEY_TYPE, CK_UNAVAILABLE_INFORMATION);
	o->is_token = true;
	o->is_private = attrs_bool(&o->attrs, CKA_PRIVATE, CK_TRUE);
	*out = o;
	return CKR_OK;
}

struct scan_ctx {
	sk_token *t;
	u64map seen;
};

static CK_RV scan_row(void *ctx, int64_t row, int64_t gen, const void *attrs, size_t attrs_len,
		      const void *sealed, size_t sealed_len)
{
	struct scan_ctx *c = ctx;
	sk_token *t = c->t;
	/* Deletions only matter when we had objects before. */
	if (t->loaded && !u64map_put(&c->seen, (uint64_t)row, (void *)1))
		return CKR_HOST_MEMORY;
	if (gen > t->max_gen)
		t->max_gen = gen;
	sk_object *old = u64map_get(&t->rows, (uint64_t)row);
	if (old && old->gen == gen)
		return CKR_OK;
	if (!attrs)
		return CKR_OK; /* unchanged since we last read it */
	sk_object *o;
	CK_RV rv = object_from_row(t, row, gen, attrs, attrs_len, sealed, sealed_len, &o);
	if (rv != CKR_OK) {
		/* One damaged row must not hide the rest of the token. */
		sk_debug("token %lu: object row %lld unreadable, skipped",
			 (unsigned long)t->slot_id, (long long)row);
		return CKR_OK;
	}
	if (old) {
		o->handle = old->handle;
		untrack(t, old);
		atomic_store(&old->destroyed, true);
		object_unref(old);
	} else {
		o->handle = atomic_fetch_add(&module.next_object, 1);
	}
	rv = track(t, o);
	if (rv != CKR_OK)
		object_unref(o);
	return rv;
}

/* Reads what changed in the store since we last looked. */
static CK_RV load_objects(sk_token *t)
{
	struct scan_ctx c = {t, {0}};
	u64map_init(&c.seen);
	CK_RV rv = store_objects_scan(t->st, t->loaded ? t->max_gen : -1, scan_row, &c);
	if (rv == CKR_OK && t->loaded) {
		/* Rows that are gone were destroyed by another process. */
		size_t pos = 0;
		uint64_t row;
		void *v;
		ptrvec gone = {0};
		while (u64map_next(&t->rows, &pos, &row, &v))
			if (!u64map_get(&c.seen, row))
				ptrvec_push(&gone, v);
		for (size_t i = 0; i < gone.count; i++) {
			sk_object *o = gone.items[i];
			untrack(t, o);
			atomic_store(&o->destroyed, true);
			object_unref(o);
		}
		ptrvec_free(&gone);
	}
	u64map_free(&c.seen);
	if (rv == CKR_OK)
		t->loaded = true;
	return rv;
}

CK_RV token_sync(sk_token *t)
{
	if (!t->st)
		return CKR_OK;
	int64_t v;
	CK_RV rv = store_data_version(t->st, &v);
	if (rv != CKR_OK)
		return rv;
	if (v == t->data_version && t->loaded)
		return CKR_OK;
	bool changed = v != t->data_version;
	t->data_version = v;
	if (changed) {
		bool was_initialized = t->initialized;
		char old_serial[17];
		memcpy(old_serial, t->serial, sizeof old_serial);
		if ((rv = read_state(t)) != CKR_OK)
			return rv;
		/* Re-initialised by another process: everything we had is gone. */
		if (was_initialized && memcmp(old_serial, t->serial, sizeof old_serial)) {
			objects_clear(t);
			set_login(t, SK_NOT_LOGGED_IN, NULL);
		}
	}
	if (!t->initialized)
		return CKR_OK;
	return load_objects(t);
}

/* ---- token info and PINs ------------------------------------------------- */

CK_RV token_get_info(sk_token *t, CK_TOKEN_INFO *info)
{
	memset(info, 0, sizeof *info);
	if (t->st) {
		CK_RV rv = token_sync(t);
		if (rv != CKR_OK)
			return rv;
	}
	char label[33];
	memcpy(label, t->label, 32);
	label[32] = '\0';
	memset(info->label, ' ', sizeof info->label);
	if (t->initialized)
		memcpy(info->label, label, strnlen(label, 32));
	pad_copy(info->manufacturerID, sizeof info->manufacturerID, "sealkit");
	pad_copy(info->model, sizeof info->model, "soft token");
	pad_copy(info->serialNumber, sizeof info->serialNumber, t->initialized ? t->serial : "");
	CK_FLAGS f = CKF_RNG | CKF_DUAL_CRYPTO_OPERATIONS;
	if (t->initialized) {
		f |= CKF_TOKEN_INITIALIZED | CKF_LOGIN_REQUIRED | CKF_RESTORE_KEY_NOT_NEEDED;
		if (t->user_pin_set)
			f |= CKF_USER_PIN_INITIALIZED;
		if (t->user_fails >= t->max_fails)
			f |= CKF_USER_PIN_LOCKED;
		else if (t->user_fails && t->user_fails + 1 == t->max_fails)
			f |= CKF_USER_PIN_FINAL_TRY;
		if (t->user_fails && t->user_fails < t->max_fails)
			f |= CKF_USER_PIN_COUNT_LOW;
		if (t->so_fails >= t->max_fails)
			f |= CKF_SO_PIN_LOCKED;
		else if (t->so_fails && t->so_fails + 1 == t->max_fails)
			f |= CKF_SO_PIN_FINAL_TRY;
		if (t->so_fails && t->so_fails < t->max_fails)
			f |= CKF_SO_PIN_COUNT_LOW;
	}
	info->flags = f;
	info->ulMaxSessionCount = CK_EFFECTIVELY_INFINITE;
	info->ulSessionCount = t->sessions;
	info->ulMaxRwSessionCount = CK_EFFECTIVELY_INFINITE;
	info->ulRwSessionCount = t->rw_sessions;
	info->ulMaxPinLen = module.cfg.max_pin_len;
	info->ulMinPinLen = module.cfg.min_pin_len;
	info->ulTotalPublicMemory = CK_UNAVAILABLE_INFORMATION;
	info->ulFreePublicMemory = CK_UNAVAILABLE_INFORMATION;
	info->ulTotalPrivateMemory = CK_UNAVAILABLE_INFORMATION;
	info->ulFreePrivateMemory = CK_UNAVAILABLE_INFORMATION;
	info->hardwareVersion.minor = 1;
	info->firmwareVersion.minor = 1;
	memset(info->utcTime, ' ', sizeof info->utcTime);
	return CKR_OK;
}

static bool pin_len_ok(CK_ULONG len)
{
	return len >= module.cfg.min_pin_len && len <= module.cfg.max_pin_len;
}

/* Checks a PIN against its wrapped token key, counting failures in the store
 * in the same transaction so that several processes share one counter. On
 * success the token key is in `key`. */
static CK_RV verify_pin(sk_token *t, CK_USER_TYPE user, const CK_UTF8CHAR *pin, CK_ULONG len,
			unsigned char key[SEAL_KEY_LEN])
{
	const char *blob_name = user == CKU_SO ? M_SO_PIN : M_USER_PIN;
	const char *fails_name = user == CKU_SO ? M_SO_FAILS : M_USER_FAILS;
	CK_ULONG fails;
	unsigned char *blob = NULL;
	size_t blob_len = 0;
	CK_RV rv = store_begin(t->st);
	if (rv != CKR_OK)
		return rv;
	if ((rv = meta_ulong(t, fails_name, 0, &fails)) != CKR_OK)
		goto fail;
	if (fails >= t->max_fails) {
		rv = CKR_PIN_LOCKED;
		goto fail;
	}
	if ((rv = store_meta_get(t->st, blob_name, &blob, &blob_len)) != CKR_OK)
		goto fail;
	if (!blob) {
		rv = user == CKU_SO ? CKR_GENERAL_ERROR : CKR_USER_PIN_NOT_INITIALIZED;
		goto fail;
	}
	rv = seal_pin_unwrap(blob, blob_len, pin, len, key);
	store_free(blob, blob_len);
	if (rv == CKR_PIN_INCORRECT) {
		fails++;
		CK_RV r2 = put_ulong(t, fails_name, fails);
		if (r2 == CKR_OK)
			r2 = store_commit(t->st);
		else
			store_rollback(t->st);
		if (r2 != CKR_OK)
			return r2;
	} else if (rv == CKR_OK) {
		CK_RV r2 = fails ? put_ulong(t, fails_name, 0) : CKR_OK;
		if (r2 == CKR_OK)
			r2 = store_commit(t->st);
		else
			store_rollback(t->st);
		if (r2 != CKR_OK) {
			OPENSSL_cleanse(key, SEAL_KEY_LEN);
			return r2;
		}
		fails = 0;
	} else {
		goto fail;
	}
	if (user == CKU_SO)
		t->so_fails = fails;
	else
		t->user_fails = fails;
	return rv;
fail:
	store_rollback(t->st);
	return rv;
}

static void random_serial(char out[17])
{
	unsigned char raw[8];
	static const char digits[] = "0123456789ABCDEF";
	if (crypto_random(raw, sizeof raw) != CKR_OK)
		memset(raw, 0, sizeof raw);
	for (size_t i = 0; i < 8; i++) {
		out[2 * i] = digits[raw[i] >> 4];
		out[2 * i + 1] = digits[raw[i] & 15];
	}
	out[16] = '\0';
}

CK_RV token_init(sk_token *t, const CK_UTF8CHAR *so_pin, CK_ULONG so_pin_len,
		 const CK_UTF8CHAR *label)
{
	CK_RV rv;
	unsigned char key[SEAL_KEY_LEN];
	unsigned char *blob = NULL;
	size_t blob_len = 0;
	char serial[17];

	if (!pin_len_ok(so_pin_len))
		return CKR_PIN_LEN_RANGE;
	if (t->sessions)
		return CKR_SESSION_EXISTS;
	if (!t->st) {
		rv = store_open(t->path, STORE_CREATE, &t->st);
		if (rv != CKR_OK) {
			t->st = NULL;
			return rv;
		}
		store_data_version(t->st, &t->data_version);
	} else if ((rv = token_sync(t)) != CKR_OK) {
		return rv;
	}
	if (t->initialized) {
		/* Re-initialisation needs the SO PIN. */
		rv = verify_pin(t, CKU_SO, so_pin, so_pin_len, key);
		OPENSSL_cleanse(key, sizeof key);
		if (rv == CKR_USER_PIN_NOT_INITIALIZED)
			rv = CKR_GENERAL_ERROR;
		if (rv != CKR_OK)
			return rv;
	}
	if ((rv = seal_new_key(key)) != CKR_OK)
		return rv;
	rv = seal_pin_wrap(key, so_pin, so_pin_len, (uint32_t)module.cfg.pin_iterations, &blob,
			   &blob_len);
	OPENSSL_cleanse(key, sizeof key);
	if (rv != CKR_OK)
		return rv;
	random_serial(serial);

	if ((rv = store_begin(t->st)) != CKR_OK)
		goto out;
	if ((rv = store_objects_delete_all(t->st)) != CKR_OK ||
	    (rv = store_meta_delete(t->st, M_USER_PIN)) != CKR_OK ||
	    (rv = store_meta_put(t->st, M_SO_PIN, blob, blob_len)) != CKR_OK ||
	    (rv = store_meta_put(t->st, M_LABEL, label, 32)) != CKR_OK ||
	    (rv = store_meta_put(t->st, M_SERIAL, serial, 16)) != CKR_OK ||
	    (rv = put_ulong(t, M_SO_FAILS, 0)) != CKR_OK ||
	    (rv = put_ulong(t, M_USER_FAILS, 0)) != CKR_OK ||
	    (rv = put_ulong(t, M_MAX_FAILS, module.cfg.max_pin_failures)) != CKR_OK ||
	    (rv = put_ulong(t, M_INITIALIZED, 1)) != CKR_OK) {
		store_rollback(t->st);
		goto out;
	}
	if ((rv = store_commit(t->st)) != CKR_OK)
		goto out;
	objects_clear(t);
	set_login(t, SK_NOT_LOGGED_IN, NULL);
	rv = read_state(t);
out:
	if (blob)
		seal_free(blob, blob_len);
	return rv;
}

CK_RV token_login(sk_token *t, CK_USER_TYPE user, const CK_UTF8CHAR *pin, CK_ULONG pin_len)
{
	unsigned char key[SEAL_KEY_LEN];
	CK_RV rv = token_sync(t);
	if (rv != CKR_OK)
		return rv;
	if (user == CKU_USER && !t->user_pin_set)
		return CKR_USER_PIN_NOT_INITIALIZED;
	rv = verify_pin(t, user, pin, pin_len, key);
	if (rv != CKR_OK)
		return rv;
	if (user != CKU_CONTEXT_SPECIFIC)
		set_login(t, user, key);
	OPENSSL_cleanse(key, sizeof key);
	return CKR_OK;
}

/* Forgetting happens here, with t->lock held from the state change to the
 * last object, so no object is missed and nothing is opened again in
 * between: token_unseal sees the key gone (key_lock) before the first
 * object is visited. Safe against other threads because a shared object's
 * secrets and cache are only ever used through copies or own references
 * taken under o->lock (object.h); operations started before keep working
 * on theirs, as PKCS#11 allows. Lock order: t->lock, o->lock, t->key_lock. */
CK_RV token_logout(sk_token *t)
{
	set_login(t, SK_NOT_LOGGED_IN, NULL);
	size_t pos = 0;
	void *v;
	while (u64map_next(&t->objects, &pos, NULL, &v)) {
		sk_object *o = v;
		/* o->sealed is set before an object is tracked and never changes. */
		if (o->sealed)
			object_forget_secret(o);
	}
	return CKR_OK;
}

/* Wraps the token key under a new PIN for `user`, resetting its counter. */
static CK_RV rewrap(sk_token *t, CK_USER_TYPE user, const unsigned char key[SEAL_KEY_LEN],
		    const CK_UTF8CHAR *pin, CK_ULONG len)
{
	unsigned char *blob;
	size_t blob_len;
	CK_RV rv = seal_pin_wrap(key, pin, len, (uint32_t)module.cfg.pin_iterations, &blob,
				 &blob_len);
	if (rv != CKR_OK)
		return rv;
	if ((rv = store_begin(t->st)) == CKR_OK) {
		if ((rv = store_meta_put(t->st, user == CKU_SO ? M_SO_PIN : M_USER_PIN, blob,
					 blob_len)) == CKR_OK &&
		    (rv = put_ulong(t, user == CKU_SO ? M_SO_FAILS : M_USER_FAILS, 0)) == CKR_OK)
			rv = store_commit(t->st);
		else
			store_rollback(t->st);
	}
	seal_free(blob, blob_len);
	if (rv == CKR_OK) {
		if (user == CKU_SO) {
			t->so_fails = 0;
		} else {
			t->user_fails = 0;
			t->user_pin_set = true;
		}
	}
	return rv;
}

CK_RV token_init_pin(sk_token *t, const CK_UTF8CHAR *pin, CK_ULONG pin_len)
{
	if (!pin_len_ok(pin_len))
		return CKR_PIN_LEN_RANGE;
	if (t->login != CKU_SO || !t->have_key)
		return CKR_USER_NOT_LOGGED_IN;
	return rewrap(t, CKU_USER, t->key, pin, pin_len);
}

CK_RV token_set_pin(sk_token *t, const CK_UTF8CHAR *old_pin, CK_ULONG old_len,
		    const CK_UTF8CHAR *new_pin, CK_ULONG new_len)
{
	unsigned char key[SEAL_KEY_LEN];
	CK_USER_TYPE user = t->login == CKU_SO ? CKU_SO : CKU_USER;
	CK_RV rv = token_sync(t);
	if (rv != CKR_OK)
		return rv;
	if (user == CKU_USER && !t->user_pin_set)
		return CKR_USER_PIN_NOT_INITIALIZED;
	if ((rv = verify_pin(t, user, old_pin, old_len, key)) != CKR_OK)
		return rv;
	if (!pin_len_ok(new_len))
		rv = CKR_PIN_LEN_RANGE;
	else
		rv = rewrap(t, user, key, new_pin, new_len);
	OPENSSL_cleanse(key, sizeof key);
	return rv;
}

/* ---- objects -------------------------------------------------------------- */

bool token_object_visible(sk_token *t, sk_object *o)
{
	return !o->is_private || t->login == CKU_USER;
}

CK_RV token_object_get(sk_token *t, CK_OBJECT_HANDLE h, sk_object **out)
{
	CK_RV rv = token_sync(t);
	if (rv != CKR_OK)
		return rv;
	return token_object_lookup(t, h, out);
}

CK_RV token_object_lookup(sk_token *t, CK_OBJECT_HANDLE h, sk_object **out)
{
	sk_object *o = u64map_get(&t->objects, h);
	if (!o || !token_object_visible(t, o))
		return CKR_OBJECT_HANDLE_INVALID;
	object_ref(o);
	*out = o;
	return CKR_OK;
}

/* The sealed form of an object's secret attributes, bound to its unique ID. */
static CK_RV seal_secret(sk_token *t, sk_object *o, unsigned char **out, size_t *out_len)
{
	*out = NULL;
	*out_len = 0;
	if (!o->secret.len)
		return CKR_OK;
	if (!t->have_key)
		return CKR_USER_NOT_LOGGED_IN;
	CK_ULONG uid_len;
	const void *uid = attrs_get(&o->attrs, CKA_UNIQUE_ID, &uid_len);
	if (!uid)
		return CKR_GENERAL_ERROR;
	return seal_encrypt(t->key, uid, uid_len, o->secret.buf, o->secret.len, out, out_len);
}

CK_RV token_object_add(sk_token *t, sk_object *o)
{
	CK_RV rv = CKR_OK;
	o->token = t;
	if (o->is_token) {
		if (!t->st || !t->initialized)
			return CKR_TOKEN_NOT_RECOGNIZED;
		unsigned char *sealed;
		size_t sealed_len;
		if ((rv = seal_secret(t, o, &sealed, &sealed_len)) != CKR_OK)
			return rv;
		rv = store_object_insert(t->st, o->attrs.buf, o->attrs.len, sealed, sealed_len,
					 &o->row, &o->gen);
		if (rv == CKR_OK && sealed) {
			o->sealed = sealed;
			o->sealed_len = sealed_len;
		} else if (sealed) {
			seal_free(sealed, sealed_len);
		}
		if (rv != CKR_OK)
			return rv;
		if (o->gen > t->max_gen)
			t->max_gen = o->gen;
	}
	o->secret_loaded = true;
	o->handle = atomic_fetch_add(&module.next_object, 1);
	object_ref(o);
	rv = track(t, o);
	if (rv != CKR_OK) {
		object_unref(o);
		if (o->row)
			store_object_delete(t->st, o->row);
	}
	return rv;
}

CK_RV token_object_replace(sk_token *t, sk_object *old, sk_object *upd)
{
	CK_RV rv;
	upd->token = t;
	upd->handle = old->handle;
	upd->row = old->row;
	upd->gen = old->gen;
	upd->session = old->session;
	if (old->is_token != upd->is_token)
		return CKR_GENERAL_ERROR; /* a copy changes CKA_TOKEN, not a set */
	if (upd->is_token) {
		rv = store_object_update(t->st, upd->row, upd->attrs.buf, upd->attrs.len,
					 upd->sealed, upd->sealed_len, &upd->gen);
		if (rv != CKR_OK)
			return rv;
		if (upd->gen > t->max_gen)
			t->max_gen = upd->gen;
	}
	untrack(t, old);
	object_ref(upd);
	rv = track(t, upd);
	if (rv != CKR_OK) {
		object_unref(upd);
		return rv;
	}
	atomic_store(&old->destroyed, true);
	object_unref(old);
	return CKR_OK;
}

CK_RV token_object_destroy(sk_token *t, sk_object *o)
{
	if (o->row) {
		CK_RV rv = store_object_delete(t->st, o->row);
		if (rv != CKR_OK)
			return rv;
	}
	untrack(t, o);
	atomic_store(&o->destroyed, true);
	object_unref(o);
	return CKR_OK;
}

void token_drop_session_objects(sk_token *t, CK_SESSION_HANDLE session)
{
	ptrvec drop = {0};
	size_t pos = 0;
	void *v;
	while (u64map_next(&t->objects, &pos, NULL, &v)) {
		sk_object *o = v;
		if (!o->is_token && (!session || o->session == session))
			ptrvec_push(&drop, o);
	}
	for (size_t i = 0; i < drop.count; i++)
		token_object_destroy(t, drop.items[i]);
	ptrvec_free(&drop);
}

CK_RV token_find(sk_token *t, const CK_ATTRIBUTE *tmpl, CK_ULONG count,
		 CK_OBJECT_HANDLE **found, CK_ULONG *nfound)
{
	CK_RV rv = token_sync(t);
	if (rv != CKR_OK)
		return rv;
	*found = NULL;
	*nfound = 0;

	/* Narrow down by an indexed attribute when the template has one. */
	ptrvec *candidates = NULL, single = {0};
	void *one = NULL;
	bool use_index = false;
	for (CK_ULONG i = 0; i < count && !use_index; i++) {
		for (size_t j = 0; j < sizeof indexed / sizeof indexed[0]; j++) {
			if (tmpl[i].type == indexed[j] && tmpl[i].ulValueLen && tmpl[i].pValue) {
				void *hit = u64map_get(
					&t->index, index_key(tmpl[i].type, tmpl[i].pValue,
							     tmpl[i].ulValueLen));
				if (hit && INDEX_MANY(hit)) {
					candidates = INDEX_VEC(hit);
				} else if (hit) {
					one = hit;
					single.items = &one;
					single.count = single.cap = 1;
					candidates = &single;
				}
				use_index = true;
				break;
			}
		}
	}
	size_t cap = use_index ? (candidates ? candidates->count : 0) : t->objects.count;
	CK_OBJECT_HANDLE *out = malloc((cap ? cap : 1) * sizeof *out);
	if (!out)
		return CKR_HOST_MEMORY;
	CK_ULONG n = 0;
	if (use_index) {
		for (size_t i = 0; candidates && i < candidates->count; i++) {
			sk_object *o = candidates->items[i];
			if (token_object_visible(t, o) && object_matches(o, tmpl, count))
				out[n++] = o->handle;
		}
	} else {
		size_t pos = 0;
		void *v;
		while (u64map_next(&t->objects, &pos, NULL, &v)) {
			sk_object *o = v;
			if (token_object_visible(t, o) && object_matches(o, tmpl, count))
				out[n++] = o->handle;
		}
	}
	*found = out;
	*nfound = n;
	return CKR_OK;
}

CK_RV token_unseal(sk_token *t, sk_object *o)
{
	CK_RV rv;
	unsigned char key[SEAL_KEY_LEN];
	/* Copy the key under key_lock (not t->lock: we are inside o->lock,
	 * which token_logout takes under t->lock); decrypt outside it. */
	pthread_mutex_lock(&t->key_lock);
	bool have = t->have_key && t->login == CKU_USER;
	if (have)
		memcpy(key, t->key, sizeof key);
	pthread_mutex_unlock(&t->key_lock);
	if (!have)
		return CKR_USER_NOT_LOGGED_IN;
	CK_ULONG uid_len;
	const void *uid = attrs_get(&o->attrs, CKA_UNIQUE_ID, &uid_len);
	unsigned char *plain = NULL;
	size_t plain_len = 0;
	if (!uid) {
		rv = CKR_GENERAL_ERROR;
		goto out;
	}
	rv = seal_decrypt(key, uid, uid_len, o->sealed, o->sealed_len, &plain, &plain_len);
	if (rv != CKR_OK)
		goto out;
	rv = attrs_load(&o->secret, plain, plain_len);
	seal_free(plain, plain_len);
out:
	OPENSSL_cleanse(key, sizeof key);
	return rv;
}
