/* Proxied modules, their tokens as slots with stable IDs, and the table of
 * our sessions on them (proxy.h says how it all fits). */
#include "internal.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../module.h"

px_state px = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* ---- loading ---------------------------------------------------------------- */

static void module_free(px_module *m)
{
	if (!m)
		return;
	if (m->initialized)
		m->fl->C_Finalize(NULL);
	if (m->dl)
		dlclose(m->dl);
	profile_free(m->prof);
	free(m->path);
	free(m->init_args);
	free(m->ignore);
	free(m);
}

static CK_RV module_profile(const sk_proxy_conf *pc, sk_profile **out)
{
	/* The numbering: behaviour settings of the configuration are about
	 * our own tokens, not the device; the entry may say how the device
	 * lays out SM2 ciphertexts. */
	sk_config c = {.profile = pc->profile,
		       .sm2_sign_z = SK_UNSET,
		       .sm2_signature = SK_UNSET,
		       .sm2_ciphertext = pc->sm2_ciphertext};
	CK_RV rv = profile_build(&c, out);
	if (rv != CKR_OK)
		fprintf(stderr, "sealkit-pkcs11: %s: proxy %s: no such profile\n", pc->where,
			pc->module);
	return rv;
}

/* Loads and initialises one module. A module that is not there or does not
 * start is left out with a message (the other slots work without it):
 * only a configuration error fails. */
static CK_RV module_load(const sk_proxy_conf *pc, px_module **out)
{
	CK_C_GetFunctionList get;
	CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK};
	px_module *m = calloc(1, sizeof *m);
	CK_RV rv = CKR_HOST_MEMORY;

	*out = NULL;
	if (!m || !(m->path = strdup(pc->module)) ||
	    (pc->init_args && !(m->init_args = strdup(pc->init_args))))
		goto out;
	if (pc->n_ignore) {
		if (!(m->ignore = malloc(pc->n_ignore * sizeof *m->ignore)))
			goto out;
		memcpy(m->ignore, pc->ignore, pc->n_ignore * sizeof *m->ignore);
		m->n_ignore = pc->n_ignore;
	}
	if ((rv = module_profile(pc, &m->prof)) != CKR_OK)
		goto out;
	rv = CKR_OK;
	if (!(m->dl = dlopen(m->path, RTLD_NOW | RTLD_LOCAL))) {
		fprintf(stderr, "sealkit-pkcs11: %s: proxy: cannot load %s: %s\n", pc->where,
			m->path, dlerror());
		goto out;
	}
	get = (CK_C_GetFunctionList)dlsym(m->dl, "C_GetFunctionList");
	if (!get || get(&m->fl) != CKR_OK || !m->fl) {
		fprintf(stderr, "sealkit-pkcs11: %s: proxy: %s is not a PKCS#11 module\n",
			pc->where, m->path);
		goto out;
	}
	/* This very instance (the same file, or a path leading to it)
	 * would call itself back under its own lock. */
	if (get == C_GetFunctionList) {
		sk_debug("proxy: %s is this module, skipped", m->path);
		goto out;
	}
	args.pReserved = m->init_args;
	CK_RV irv = m->fl->C_Initialize(&args);
	if (irv == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		/* The application uses the module too: share it, and leave
		 * C_Finalize to the application. */
		irv = CKR_OK;
	} else if (irv == CKR_OK) {
		m->initialized = true;
	}
	if (irv != CKR_OK) {
		fprintf(stderr, "sealkit-pkcs11: %s: proxy: C_Initialize of %s failed: 0x%lx\n",
			pc->where, m->path, (unsigned long)irv);
		goto out;
	}
	*out = m;
	m = NULL;
out:
	module_free(m);
	return rv;
}

/* ---- tokens as slots ---------------------------------------------------------- */

/* A padded PKCS#11 field without its trailing blanks. */
static size_t field_len(const CK_UTF8CHAR *f, size_t n)
{
	while (n > 0 && (f[n - 1] == ' ' || f[n - 1] == '\0'))
		n--;
	return n;
}

/* What identifies a token: manufacturer|model|serial, the label when the
 * serial is blank. An uninitialised token with a blank serial has nothing
 * of its own (SoftHSM's free slot): the device's slot ID stands in. */
static void token_ident(const CK_TOKEN_INFO *ti, CK_SLOT_ID dev, char *out, size_t size)
{
	size_t ser = field_len(ti->serialNumber, sizeof ti->serialNumber);
	const CK_UTF8CHAR *last = ser ? ti->serialNumber : ti->label;
	size_t last_len = ser ? ser : field_len(ti->label, sizeof ti->label);
	int man = (int)field_len(ti->manufacturerID, sizeof ti->manufacturerID);
	int model = (int)field_len(ti->model, sizeof ti->model);
	if (!ser && !(ti->flags & CKF_TOKEN_INITIALIZED))
		snprintf(out, size, "%.*s|%.*s|uninit:%lu", man, (const char *)ti->manufacturerID,
			 model, (const char *)ti->model, (unsigned long)dev);
	else
		snprintf(out, size, "%.*s|%.*s|%s%.*s", man, (const char *)ti->manufacturerID,
			 model, (const char *)ti->model, ser ? "" : "label:", (int)last_len,
			 (const char *)last);
}

px_slot *px_slot_find(CK_SLOT_ID id)
{
	for (size_t i = 0; i < px.slots.count; i++) {
		px_slot *sl = px.slots.items[i];
		if (sl->id == id)
			return sl;
	}
	return NULL;
}

/* FNV-1a of the identity, folded into our range; the next free ID when
 * another token has it. */
static CK_SLOT_ID new_slot_id(const char *ident)
{
	uint32_t h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)ident; *p; p++)
		h = (h ^ *p) * 16777619u;
	CK_SLOT_ID span = PROXY_SLOT_MAX - PROXY_SLOT_MIN + 1;
	CK_SLOT_ID id = PROXY_SLOT_MIN + h % span;
	while (px_slot_find(id))
		id = id == PROXY_SLOT_MAX ? PROXY_SLOT_MIN : id + 1;
	return id;
}

static int cmp_mech(const void *a, const void *b)
{
	CK_MECHANISM_TYPE x = ((const px_mech *)a)->op, y = ((const px_mech *)b)->op;
	return x < y ? -1 : x > y;
}

static bool ignored(const px_module *m, CK_MECHANISM_TYPE code)
{
	for (size_t i = 0; i < m->n_ignore; i++)
		if (m->ignore[i] == code)
			return true;
	return false;
}

/* The device's mechanisms as our operations (codes its profile does not
 * know, and ignored ones, left out; the first code per operation kept). */
static CK_RV load_mechs(px_slot *sl)
{
	CK_FUNCTION_LIST *fl = sl->mod->fl;
	CK_MECHANISM_TYPE *codes = NULL;
	px_mech *v = NULL;
	CK_ULONG n = 0;
	size_t k = 0;
	CK_RV rv = fl->C_GetMechanismList(sl->dev, NULL, &n);
	if (rv != CKR_OK)
		goto out;
	codes = malloc((n ? n : 1) * sizeof *codes);
	v = malloc((n ? n : 1) * sizeof *v);
	if (!codes || !v) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	if ((rv = fl->C_GetMechanismList(sl->dev, codes, &n)) != CKR_OK)
		goto out;
	for (CK_ULONG i = 0; i < n; i++) {
		CK_MECHANISM_TYPE op = profile_mech_in(sl->mod->prof, codes[i]);
		bool dup = false;
		if (op == CK_UNAVAILABLE_INFORMATION || ignored(sl->mod, codes[i]))
			continue;
		for (size_t j = 0; j < k && !dup; j++)
			dup = v[j].op == op;
		if (dup || fl->C_GetMechanismInfo(sl->dev, codes[i], &v[k].info) != CKR_OK)
			continue;
		v[k].op = op;
		v[k].code = codes[i];
		k++;
	}
	/* An empty list is asked for again when the token comes back; a
	 * list once stored stays, as sessions may be reading it. */
	if (k) {
		qsort(v, k, sizeof *v, cmp_mech);
		sl->mechs = v;
		sl->n_mechs = k;
		v = NULL;
	}
out:
	free(codes);
	free(v);
	return rv;
}

const px_mech *px_mech_for(const px_slot *sl, CK_MECHANISM_TYPE op)
{
	px_mech key = {.op = op};
	return bsearch(&key, sl->mechs, sl->n_mechs, sizeof *sl->mechs, cmp_mech);
}

static void set_absent(px_slot *sl)
{
	if (atomic_exchange(&sl->present, false))
		sk_debug("proxy: slot 0x%lx (%s) is gone", (unsigned long)sl->id, sl->ident);
}

/* One device slot with a token: an existing slot of ours, or a new one. */
static CK_RV found_token(px_module *m, CK_SLOT_ID dev, const CK_TOKEN_INFO *ti, px_slot **out)
{
	char ident[sizeof((px_slot *)0)->ident];
	bool uninit = !(ti->flags & CKF_TOKEN_INITIALIZED);
	px_slot *sl = NULL;
	token_ident(ti, dev, ident, sizeof ident);
	for (size_t i = 0; i < px.slots.count && !sl; i++) {
		px_slot *c = px.slots.items[i];
		if (c->mod == m && !strcmp(c->ident, ident))
			sl = c;
	}
	if (sl) {
		sl->dev = dev;
		atomic_store(&sl->uninit, uninit);
		if (!atomic_load(&sl->present)) {
			atomic_fetch_add(&sl->generation, 1);
			if (!sl->n_mechs)
				load_mechs(sl);
			atomic_store(&sl->present, true);
		}
		*out = sl;
		return CKR_OK;
	}
	if (!(sl = calloc(1, sizeof *sl)))
		return CKR_HOST_MEMORY;
	memcpy(sl->ident, ident, sizeof ident);
	sl->mod = m;
	sl->dev = dev;
	sl->id = new_slot_id(ident);
	atomic_init(&sl->present, true);
	atomic_init(&sl->uninit, uninit);
	atomic_init(&sl->generation, 1);
	/* An event for C_WaitForSlotEvent, unless found while starting. */
	sl->ev_present = false;
	sl->ev_uninit = uninit;
	sl->ev_generation = 1;
	if (load_mechs(sl) != CKR_OK)
		sk_debug("proxy: %s: no mechanism list", ident);
	if (!ptrvec_push(&px.slots, sl)) {
		free(sl->mechs);
		free(sl);
		return CKR_HOST_MEMORY;
	}
	sk_debug("proxy: %s slot %lu is our slot 0x%lx", m->path, (unsigned long)dev,
		 (unsigned long)sl->id);
	*out = sl;
	return CKR_OK;
}

/* Asks one module which tokens it has now; px.lock held. What it no longer
 * lists is gone, and so is all of it when it cannot list its slots. */
static CK_RV scan_module(px_module *m)
{
	CK_SLOT_ID *ids = NULL;
	CK_ULONG n = 0;
	CK_RV rv = m->fl->C_GetSlotList(CK_TRUE, NULL, &n);
	if (rv == CKR_OK && !(ids = malloc((n ? n : 1) * sizeof *ids))) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	if (rv == CKR_OK)
		rv = m->fl->C_GetSlotList(CK_TRUE, ids, &n);
	if (rv != CKR_OK)
		n = 0;
	for (size_t j = 0; j < px.slots.count; j++)
		((px_slot *)px.slots.items[j])->seen = false;
	rv = CKR_OK;
	for (CK_ULONG i = 0; i < n && rv == CKR_OK; i++) {
		CK_TOKEN_INFO ti;
		px_slot *sl;
		/* Uninitialised tokens too: C_InitToken is how they start. */
		if (m->fl->C_GetTokenInfo(ids[i], &ti) != CKR_OK)
			continue;
		if ((rv = found_token(m, ids[i], &ti, &sl)) == CKR_OK)
			sl->seen = true;
	}
	for (size_t j = 0; j < px.slots.count && rv == CKR_OK; j++) {
		px_slot *sl = px.slots.items[j];
		if (sl->mod == m && !sl->seen)
			set_absent(sl);
	}
out:
	free(ids);
	return rv;
}

CK_RV proxy_slot_list(bool present_only, CK_SLOT_ID *list, CK_ULONG max, CK_ULONG *n)
{
	CK_RV rv = CKR_OK;
	*n = 0;
	pthread_mutex_lock(&px.lock);
	if (!px.started)
		goto out;
	for (size_t i = 0; i < px.modules.count && rv == CKR_OK; i++)
		rv = scan_module(px.modules.items[i]);
	for (size_t i = 0; i < px.slots.count && rv == CKR_OK; i++) {
		px_slot *sl = px.slots.items[i];
		if (present_only && !atomic_load(&sl->present))
			continue;
		if (list && *n < max)
			list[*n] = sl->id;
		(*n)++;
	}
out:
	pthread_mutex_unlock(&px.lock);
	return rv;
}

CK_RV proxy_slot_event(CK_SLOT_ID *slot)
{
	CK_RV rv = CKR_OK;
	pthread_mutex_lock(&px.lock);
	if (!px.started || !px.modules.count) {
		rv = CKR_NO_EVENT;
		goto out;
	}
	for (size_t i = 0; i < px.modules.count && rv == CKR_OK; i++)
		rv = scan_module(px.modules.items[i]);
	if (rv != CKR_OK)
		goto out;
	rv = CKR_NO_EVENT;
	for (size_t i = 0; i < px.slots.count && rv == CKR_NO_EVENT; i++) {
		px_slot *sl = px.slots.items[i];
		bool present = atomic_load(&sl->present), uninit = atomic_load(&sl->uninit);
		unsigned long gen = atomic_load(&sl->generation);
		/* A token pulled and put back between two looks is an event
		 * too: its sessions are gone. */
		if (sl->ev_present == present &&
		    (!present || (sl->ev_uninit == uninit && sl->ev_generation == gen)))
			continue;
		sl->ev_present = present;
		sl->ev_uninit = uninit;
		sl->ev_generation = gen;
		*slot = sl->id;
		rv = CKR_OK;
	}
out:
	pthread_mutex_unlock(&px.lock);
	return rv;
}

bool proxy_active(void)
{
	pthread_mutex_lock(&px.lock);
	bool on = px.started && px.modules.count > 0;
	pthread_mutex_unlock(&px.lock);
	return on;
}

CK_RV px_slot_get(CK_SLOT_ID id, px_slot **out)
{
	CK_RV rv = module_check();
	if (rv != CKR_OK)
		return rv;
	pthread_mutex_lock(&px.lock);
	px_slot *sl = px.started ? px_slot_find(id) : NULL;
	pthread_mutex_unlock(&px.lock);
	if (!sl)
		return CKR_SLOT_ID_INVALID;
	if (!atomic_load(&sl->present))
		return CKR_TOKEN_NOT_PRESENT;
	*out = sl;
	return CKR_OK;
}

CK_SLOT_ID px_slot_dev(px_slot *sl)
{
	pthread_mutex_lock(&px.lock);
	CK_SLOT_ID dev = sl->dev;
	pthread_mutex_unlock(&px.lock);
	return dev;
}

bool px_gone(CK_RV rv)
{
	return rv == CKR_DEVICE_REMOVED || rv == CKR_TOKEN_NOT_PRESENT ||
	       rv == CKR_TOKEN_NOT_RECOGNIZED || rv == CKR_CRYPTOKI_NOT_INITIALIZED;
}

CK_RV px_slot_result(px_slot *sl, CK_RV rv)
{
	/* What a device says of a token not initialised yet: it is there. */
	if (!px_gone(rv) || (rv == CKR_TOKEN_NOT_RECOGNIZED && atomic_load(&sl->uninit)))
		return rv;
	set_absent(sl);
	return CKR_TOKEN_NOT_PRESENT;
}

void px_slot_initialized(px_slot *sl)
{
	CK_TOKEN_INFO ti;
	char ident[sizeof sl->ident];
	CK_SLOT_ID dev = px_slot_dev(sl);
	if (sl->mod->fl->C_GetTokenInfo(dev, &ti) != CKR_OK)
		return; /* the next scan sees what became of it */
	token_ident(&ti, dev, ident, sizeof ident);
	pthread_mutex_lock(&px.lock);
	if (strcmp(ident, sl->ident))
		sk_debug("proxy: slot 0x%lx is now %s (was %s)", (unsigned long)sl->id, ident,
			 sl->ident);
	memcpy(sl->ident, ident, sizeof ident);
	atomic_store(&sl->uninit, !(ti.flags & CKF_TOKEN_INITIALIZED));
	pthread_mutex_unlock(&px.lock);
}

/* ---- start and stop --------------------------------------------------------- */

CK_RV proxy_start(const sk_config *cfg)
{
	CK_RV rv = CKR_OK;
	pthread_mutex_lock(&px.lock);
	u64map_init(&px.sessions);
	if (atomic_load(&px.next_session) == 0)
		atomic_store(&px.next_session, 1);
	px.started = true;
	for (size_t i = 0; i < cfg->n_proxies && rv == CKR_OK; i++) {
		px_module *m;
		rv = module_load(&cfg->proxies[i], &m);
		if (rv == CKR_OK && m && !ptrvec_push(&px.modules, m)) {
			module_free(m);
			rv = CKR_HOST_MEMORY;
		}
		if (rv == CKR_OK && m)
			rv = scan_module(m);
	}
	/* What is there at the start is no event. */
	for (size_t i = 0; i < px.slots.count; i++) {
		px_slot *sl = px.slots.items[i];
		sl->ev_present = atomic_load(&sl->present);
		sl->ev_uninit = atomic_load(&sl->uninit);
		sl->ev_generation = atomic_load(&sl->generation);
	}
	pthread_mutex_unlock(&px.lock);
	return rv;
}

void px_op_clear(px_op *op)
{
	if (op->md)
		px_hash_free(op->md);
	if (op->soft)
		crypto_op_free(op->soft);
	free(op->dev_param);
	free(op->buf);
	free(op->pending);
	memset(op, 0, sizeof *op);
}

static void session_free(px_session *s)
{
	for (int k = 0; k < OP_KINDS; k++)
		px_op_clear(&s->op[k]);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void proxy_stop(void)
{
	size_t pos = 0;
	void *v;
	pthread_mutex_lock(&px.lock);
	while (u64map_next(&px.sessions, &pos, NULL, &v)) {
		px_session *s = v;
		atomic_store(&s->closed, true);
		px_session_put(s);
	}
	u64map_free(&px.sessions);
	for (size_t i = 0; i < px.modules.count; i++)
		module_free(px.modules.items[i]);
	ptrvec_free(&px.modules);
	for (size_t i = 0; i < px.slots.count; i++) {
		px_slot *sl = px.slots.items[i];
		free(sl->mechs);
		free(sl);
	}
	ptrvec_free(&px.slots);
	px.started = false;
	pthread_mutex_unlock(&px.lock);
}

void proxy_abandon(void)
{
	/* The parent's modules, sessions and locks are not ours to touch. */
	pthread_mutex_init(&px.lock, NULL);
	memset(&px.modules, 0, sizeof px.modules);
	memset(&px.slots, 0, sizeof px.slots);
	memset(&px.sessions, 0, sizeof px.sessions);
	px.started = false;
}

/* ---- sessions --------------------------------------------------------------------- */

CK_RV px_session_add(px_slot *sl, CK_SESSION_HANDLE dev, CK_FLAGS flags, CK_SESSION_HANDLE *out)
{
	px_session *s = calloc(1, sizeof *s);
	CK_RV rv = CKR_OK;
	if (!s)
		return CKR_HOST_MEMORY;
	pthread_mutex_init(&s->lock, NULL);
	atomic_init(&s->refs, 1);
	s->dev = dev;
	s->slot = sl;
	s->flags = flags;
	s->generation = atomic_load(&sl->generation);
	s->handle = PROXY_SESSION_BIT | atomic_fetch_add(&px.next_session, 1);
	pthread_mutex_lock(&px.lock);
	if (!u64map_put(&px.sessions, s->handle, s))
		rv = CKR_HOST_MEMORY;
	pthread_mutex_unlock(&px.lock);
	if (rv != CKR_OK)
		session_free(s);
	else
		*out = s->handle;
	return rv;
}

CK_RV px_session_get(CK_SESSION_HANDLE h, px_session **out)
{
	CK_RV rv = module_check();
	px_session *s = NULL;
	if (rv != CKR_OK)
		return rv;
	pthread_mutex_lock(&px.lock);
	if (px.started)
		s = u64map_get(&px.sessions, h);
	if (s && !atomic_load(&s->closed))
		atomic_fetch_add(&s->refs, 1);
	else
		s = NULL;
	pthread_mutex_unlock(&px.lock);
	if (!s)
		return CKR_SESSION_HANDLE_INVALID;
	if (atomic_load(&s->dead) || !atomic_load(&s->slot->present) ||
	    atomic_load(&s->slot->generation) != s->generation) {
		px_session_put(s);
		return CKR_DEVICE_REMOVED;
	}
	*out = s;
	return CKR_OK;
}

void px_session_put(px_session *s)
{
	if (s && atomic_fetch_sub(&s->refs, 1) == 1)
		session_free(s);
}

px_session *px_session_remove(CK_SESSION_HANDLE h)
{
	pthread_mutex_lock(&px.lock);
	px_session *s = px.started ? u64map_remove(&px.sessions, h) : NULL;
	if (s)
		atomic_store(&s->closed, true);
	pthread_mutex_unlock(&px.lock);
	return s;
}

CK_RV px_result(px_session *s, CK_RV rv)
{
	if (rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED) {
		/* The device lost a session we hold open: it was reset. */
		atomic_store(&s->dead, true);
		return CKR_DEVICE_REMOVED;
	}
	if (!px_gone(rv))
		return rv;
	atomic_store(&s->dead, true);
	set_absent(s->slot);
	return CKR_DEVICE_REMOVED;
}
