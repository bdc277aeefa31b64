/* PKCS#11 plumbing of libsealkit: modules loaded through p11-kit, the one
 * traced call wrapper, fork detection, RFC 7512 URIs, tokens, objects and
 * login. Messages name what was looked for, what exists and what to do. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <p11-kit/p11-kit.h>

#include "p11.h"

#define PIN_MAX            256
#define PIN_CALLBACK_TRIES 3
#define LIST_MAX           400 /* bytes of "tokens present: ..." in a message */

/* ---- CK_RV names -------------------------------------------------------- */

const char *p11_rv_name(CK_RV rv)
{
	static const struct {
		CK_RV rv;
		const char *name;
	} names[] = {
#define RV(x) {x, #x}
	    RV(CKR_OK),
	    RV(CKR_CANCEL),
	    RV(CKR_HOST_MEMORY),
	    RV(CKR_SLOT_ID_INVALID),
	    RV(CKR_GENERAL_ERROR),
	    RV(CKR_FUNCTION_FAILED),
	    RV(CKR_ARGUMENTS_BAD),
	    RV(CKR_NO_EVENT),
	    RV(CKR_NEED_TO_CREATE_THREADS),
	    RV(CKR_CANT_LOCK),
	    RV(CKR_ATTRIBUTE_READ_ONLY),
	    RV(CKR_ATTRIBUTE_SENSITIVE),
	    RV(CKR_ATTRIBUTE_TYPE_INVALID),
	    RV(CKR_ATTRIBUTE_VALUE_INVALID),
	    RV(CKR_ACTION_PROHIBITED),
	    RV(CKR_DATA_INVALID),
	    RV(CKR_DATA_LEN_RANGE),
	    RV(CKR_DEVICE_ERROR),
	    RV(CKR_DEVICE_MEMORY),
	    RV(CKR_DEVICE_REMOVED),
	    RV(CKR_ENCRYPTED_DATA_INVALID),
	    RV(CKR_ENCRYPTED_DATA_LEN_RANGE),
	    RV(CKR_FUNCTION_CANCELED),
	    RV(CKR_FUNCTION_NOT_PARALLEL),
	    RV(CKR_FUNCTION_NOT_SUPPORTED),
	    RV(CKR_KEY_HANDLE_INVALID),
	    RV(CKR_KEY_SIZE_RANGE),
	    RV(CKR_KEY_TYPE_INCONSISTENT),
	    RV(CKR_KEY_NOT_NEEDED),
	    RV(CKR_KEY_CHANGED),
	    RV(CKR_KEY_NEEDED),
	    RV(CKR_KEY_INDIGESTIBLE),
	    RV(CKR_KEY_FUNCTION_NOT_PERMITTED),
	    RV(CKR_KEY_NOT_WRAPPABLE),
	    RV(CKR_KEY_UNEXTRACTABLE),
	    RV(CKR_MECHANISM_INVALID),
	    RV(CKR_MECHANISM_PARAM_INVALID),
	    RV(CKR_OBJECT_HANDLE_INVALID),
	    RV(CKR_OPERATION_ACTIVE),
	    RV(CKR_OPERATION_NOT_INITIALIZED),
	    RV(CKR_PIN_INCORRECT),
	    RV(CKR_PIN_INVALID),
	    RV(CKR_PIN_LEN_RANGE),
	    RV(CKR_PIN_EXPIRED),
	    RV(CKR_PIN_LOCKED),
	    RV(CKR_SESSION_CLOSED),
	    RV(CKR_SESSION_COUNT),
	    RV(CKR_SESSION_HANDLE_INVALID),
	    RV(CKR_SESSION_PARALLEL_NOT_SUPPORTED),
	    RV(CKR_SESSION_READ_ONLY),
	    RV(CKR_SESSION_EXISTS),
	    RV(CKR_SESSION_READ_ONLY_EXISTS),
	    RV(CKR_SESSION_READ_WRITE_SO_EXISTS),
	    RV(CKR_SIGNATURE_INVALID),
	    RV(CKR_SIGNATURE_LEN_RANGE),
	    RV(CKR_TEMPLATE_INCOMPLETE),
	    RV(CKR_TEMPLATE_INCONSISTENT),
	    RV(CKR_TOKEN_NOT_PRESENT),
	    RV(CKR_TOKEN_NOT_RECOGNIZED),
	    RV(CKR_TOKEN_WRITE_PROTECTED),
	    RV(CKR_USER_ALREADY_LOGGED_IN),
	    RV(CKR_USER_NOT_LOGGED_IN),
	    RV(CKR_USER_PIN_NOT_INITIALIZED),
	    RV(CKR_USER_TYPE_INVALID),
	    RV(CKR_USER_ANOTHER_ALREADY_LOGGED_IN),
	    RV(CKR_USER_TOO_MANY_TYPES),
	    RV(CKR_DOMAIN_PARAMS_INVALID),
	    RV(CKR_CURVE_NOT_SUPPORTED),
	    RV(CKR_BUFFER_TOO_SMALL),
	    RV(CKR_SAVED_STATE_INVALID),
	    RV(CKR_INFORMATION_SENSITIVE),
	    RV(CKR_STATE_UNSAVEABLE),
	    RV(CKR_CRYPTOKI_NOT_INITIALIZED),
	    RV(CKR_CRYPTOKI_ALREADY_INITIALIZED),
	    RV(CKR_MUTEX_BAD),
	    RV(CKR_MUTEX_NOT_LOCKED),
	    RV(CKR_FUNCTION_REJECTED),
#undef RV
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (names[i].rv == rv)
			return names[i].name;
	return rv >= CKR_VENDOR_DEFINED ? "CKR_VENDOR_DEFINED+" : "CKR_(unknown)";
}

CK_RV p11_trace(const struct sealkit_module *m, const char *fn, CK_RV rv, const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms =
	    (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
	fprintf(stderr, "sealkit: p11 %s: %s -> %s (0x%lx, %.3f ms)\n", m->name, fn,
		p11_rv_name(rv), (unsigned long)rv, ms);
	return rv;
}

void p11_debugf(const struct sealkit_module *m, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	if (!m->debug)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	fprintf(stderr, "sealkit: %s: %s\n", m->name, line);
}

/* ---- modules -------------------------------------------------------------- */

static bool env_debug(void)
{
	const char *v = getenv("SEALKIT_DEBUG");
	return v && *v && strcmp(v, "0") != 0;
}

static bool looks_like_path(const char *s)
{
	size_t n = strlen(s);
	return strchr(s, '/') != NULL || (n > 3 && strcmp(s + n - 3, ".so") == 0) ||
	       (n > 4 && strcmp(s + n - 4, ".dll") == 0) ||
	       (n > 6 && strcmp(s + n - 6, ".dylib") == 0);
}

/* $SEALKIT_MODULE, else the installed module: p11-kit knows it as
 * "sealkit" (sealkit.module) and keeps it in its module directory. */
static const char *default_module(void)
{
	const char *env = getenv("SEALKIT_MODULE");
	return env && *env ? env : "sealkit";
}

/* Appends "'item'" to a ", "-separated list in buf, or "..." once full. */
static void list_add(char *buf, size_t size, const char *item)
{
	size_t used = strlen(buf);
	if (used + strlen(item) + 8 >= size) {
		if (used + 5 < size && (used < 3 || strcmp(buf + used - 3, "...") != 0))
			snprintf(buf + used, size - used, "%s...", used ? ", " : "");
		return;
	}
	snprintf(buf + used, size - used, "%s'%s'", used ? ", " : "", item);
}

static void registry_names(CK_FUNCTION_LIST **registry, char *buf, size_t size)
{
	buf[0] = '\0';
	for (size_t i = 0; registry && registry[i]; i++) {
		char *name = p11_kit_module_get_name(registry[i]);
		if (name)
			list_add(buf, size, name);
		free(name);
	}
	if (!buf[0])
		snprintf(buf, size, "none");
}

/* A module registered with p11-kit, or per RFC 7512 a library called
 * NAME.so, libNAME.so (or NAME-pkcs11.so) in p11-kit's module directory. */
static sealkit_status load_by_name(struct sealkit_module *m, const char *name, sealkit_error *err)
{
	char names[LIST_MAX];
	char file[300];
	m->registry = p11_kit_modules_load(NULL, 0);
	m->fl = p11_kit_module_for_name(m->registry, name);
	if (m->fl)
		return SEALKIT_OK;
	static const char *const forms[][2] = {{"", ".so"}, {"lib", ".so"}, {"", "-pkcs11.so"}};
	for (size_t i = 0; i < sizeof forms / sizeof forms[0] && !m->fl; i++) {
		snprintf(file, sizeof file, "%s%s%s", forms[i][0], name, forms[i][1]);
		m->fl = p11_kit_module_load(file, 0);
	}
	if (m->fl) {
		p11_kit_modules_release(m->registry);
		m->registry = NULL;
		return SEALKIT_OK;
	}
	registry_names(m->registry, names, sizeof names);
	return sealkit_fail(
	    err, SEALKIT_ERR_NOT_FOUND,
	    "no PKCS#11 module named '%s' is registered with p11-kit (registered: %s); "
	    "give the module's path instead (or set SEALKIT_MODULE)",
	    name, names);
}

static void module_free(struct sealkit_module *m)
{
	if (!m)
		return;
	if (m->registry)
		p11_kit_modules_release(m->registry);
	else if (m->fl)
		p11_kit_module_release(m->fl);
	pthread_mutex_destroy(&m->lock);
	free(m->name);
	free(m);
}

sealkit_status sealkit_module_load(const char *module, unsigned flags, sealkit_module **out,
				   sealkit_error *err)
{
	struct sealkit_module *m = NULL;
	sealkit_status st = SEALKIT_OK;
	struct timespec t0 = {0, 0};
	CK_RV rv;

	if (!out) {
		st = sealkit_fail(err, SEALKIT_ERR_ARGS, "sealkit_module_load: out is NULL");
		goto out;
	}
	*out = NULL;
	if (!module || !*module)
		module = default_module();
	m = calloc(1, sizeof *m);
	if (m)
		pthread_mutex_init(&m->lock, NULL);
	if (!m || !(m->name = strdup(module))) {
		st = sealkit_fail(err, SEALKIT_ERR_MEMORY, "out of memory loading module '%s'",
				  module);
		goto out;
	}
	atomic_init(&m->refs, 1);
	atomic_init(&m->debug, (flags & SEALKIT_TOKEN_DEBUG) || env_debug());

	if (looks_like_path(module)) {
		m->fl = p11_kit_module_load(module, 0);
		if (!m->fl) {
			const char *why = p11_kit_message();
			st = sealkit_fail(err, SEALKIT_ERR_MODULE,
					  "cannot load the PKCS#11 module '%s': %s%s", module,
					  why ? why : "p11-kit could not load it",
					  access(module, R_OK) != 0 ? " (no such file)" : "");
			goto out;
		}
	} else if ((st = load_by_name(m, module, err)) != SEALKIT_OK) {
		goto out;
	}
	if (m->debug)
		clock_gettime(CLOCK_MONOTONIC, &t0);
	rv = p11_kit_module_initialize(m->fl);
	if (m->debug)
		p11_trace(m, "C_Initialize", rv, &t0);
	if (rv != CKR_OK) {
		const char *why = p11_kit_message();
		st = sealkit_fail(err, SEALKIT_ERR_MODULE,
				  "the PKCS#11 module '%s' failed to initialise: %s%s%s", module,
				  p11_rv_name(rv), why ? ": " : "", why ? why : "");
		goto out;
	}
	atomic_init(&m->pid, (int)getpid());
	atomic_init(&m->generation, 0);
	*out = m;
	m = NULL;
out:
	module_free(m);
	return st;
}

struct sealkit_module *p11_module_ref(struct sealkit_module *m)
{
	atomic_fetch_add(&m->refs, 1);
	return m;
}

void sealkit_module_release(sealkit_module *m)
{
	if (!m || atomic_fetch_sub(&m->refs, 1) != 1)
		return;
	/* In a child that never used the module p11-kit skips C_Finalize. */
	CK_RV rv = p11_kit_module_finalize(m->fl);
	if (m->debug)
		fprintf(stderr, "sealkit: p11 %s: C_Finalize -> %s\n", m->name, p11_rv_name(rv));
	module_free(m);
}

const char *sealkit_module_name(const sealkit_module *m)
{
	return m ? m->name : "";
}

sealkit_status p11_module_check(struct sealkit_module *m, unsigned long *generation,
				sealkit_error *err)
{
	sealkit_status st = SEALKIT_OK;
	int pid = (int)getpid();

	if (atomic_load(&m->pid) == pid)
		goto out;
	pthread_mutex_lock(&m->lock);
	if (atomic_load(&m->pid) != pid) {
		/* A forked child: p11-kit calls the module's C_Initialize again. */
		struct timespec t0 = {0, 0};
		if (m->debug)
			clock_gettime(CLOCK_MONOTONIC, &t0);
		CK_RV rv = p11_kit_module_initialize(m->fl);
		if (m->debug)
			p11_trace(m, "C_Initialize (after fork)", rv, &t0);
		if (rv == CKR_OK || rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
			atomic_fetch_add(&m->generation, 1);
			atomic_store(&m->pid, pid);
		} else {
			st =
			    sealkit_fail(err, SEALKIT_ERR_MODULE,
					 "module '%s' could not be initialised again in the forked "
					 "process: %s",
					 m->name, p11_rv_name(rv));
		}
	}
	pthread_mutex_unlock(&m->lock);
out:
	*generation = atomic_load(&m->generation);
	return st;
}

sealkit_status p11_module_for(struct sealkit_module *given, P11KitUri *uri,
			      const sealkit_token_options *opts, struct sealkit_module **out,
			      sealkit_error *err)
{
	const char *spec = NULL;
	unsigned flags = opts ? opts->flags : 0;

	if (given) {
		*out = p11_module_ref(given);
		return SEALKIT_OK;
	}
	if (opts && opts->module && *opts->module)
		spec = opts->module;
	else if (uri && p11_kit_uri_get_module_path(uri))
		spec = p11_kit_uri_get_module_path(uri);
	else if (uri && p11_kit_uri_get_module_name(uri))
		spec = p11_kit_uri_get_module_name(uri);
	return sealkit_module_load(spec, flags, out, err);
}

/* ---- URIs ----------------------------------------------------------------- */

void p11_uri_shown(const char *text, char *buf, size_t size)
{
	size_t n = strcspn(text, "?");
	if (n >= size)
		n = size - 1;
	memcpy(buf, text, n);
	buf[n] = '\0';
}

sealkit_status p11_uri_parse(const char *text, P11KitUri **out, sealkit_error *err)
{
	char shown[256];
	sealkit_status st = SEALKIT_OK;
	P11KitUri *uri = NULL;
	int r;

	*out = NULL;
	if (!text) {
		st = sealkit_fail(err, SEALKIT_ERR_ARGS, "no PKCS#11 URI given");
		goto out;
	}
	p11_uri_shown(text, shown, sizeof shown);
	uri = p11_kit_uri_new();
	if (!uri) {
		st = sealkit_fail(err, SEALKIT_ERR_MEMORY, "out of memory");
		goto out;
	}
	r = p11_kit_uri_parse(text, P11_KIT_URI_FOR_ANY, uri);
	if (r != P11_KIT_URI_OK) {
		st = sealkit_fail(err, SEALKIT_ERR_ARGS,
				  "'%s' is not a PKCS#11 URI (RFC 7512): %s; write it like "
				  "pkcs11:token=LABEL;object=KEY",
				  shown, p11_kit_uri_message(r));
		goto out;
	}
	if (p11_kit_uri_any_unrecognized(uri)) {
		st = sealkit_fail(
		    err, SEALKIT_ERR_ARGS,
		    "the PKCS#11 URI '%s' has an attribute p11-kit does not know, so "
		    "it would match nothing; use token=, object=, id=, type=, serial=, "
		    "manufacturer=, model=, slot-id=",
		    shown);
		goto out;
	}
	*out = uri;
	uri = NULL;
out:
	if (uri)
		p11_kit_uri_free(uri);
	return st;
}

/* ---- tokens ---------------------------------------------------------------- */

void p11_text(char *dst, const CK_UTF8CHAR *src, size_t n)
{
	memcpy(dst, src, n);
	while (n > 0 && (dst[n - 1] == ' ' || dst[n - 1] == '\0'))
		n--;
	dst[n] = '\0';
}

static sealkit_status slot_list(struct sealkit_module *m, CK_SLOT_ID **slots, CK_ULONG *n,
				sealkit_error *err)
{
	CK_RV rv;
	*slots = NULL;
	*n = 0;
	/* The count may grow between the two calls (a token plugged in). */
	for (int tries = 0; tries < 4; tries++) {
		CK_ULONG count = 0;
		rv = P11(m, C_GetSlotList, CK_TRUE, NULL, &count);
		if (rv != CKR_OK)
			break;
		free(*slots);
		*slots = calloc(count ? count : 1, sizeof **slots);
		if (!*slots)
			return sealkit_fail(err, SEALKIT_ERR_MEMORY, "out of memory");
		rv = P11(m, C_GetSlotList, CK_TRUE, *slots, &count);
		if (rv == CKR_OK) {
			*n = count;
			return SEALKIT_OK;
		}
		if (rv != CKR_BUFFER_TOO_SMALL)
			break;
	}
	free(*slots);
	*slots = NULL;
	return sealkit_fail(err, SEALKIT_ERR_MODULE, "module '%s': C_GetSlotList failed: %s",
			    m->name, p11_rv_name(rv));
}

static bool token_info_blank(const CK_TOKEN_INFO *t)
{
	/* p11_kit_uri_get_token_info fills unset fields with blanks. */
	for (size_t i = 0; i < sizeof t->label; i++)
		if (t->label[i] != ' ' && t->label[i] != '\0')
			return false;
	return true;
}

sealkit_status p11_match_tokens(struct sealkit_module *m, P11KitUri *uri, const char *shown,
				p11_token **found, size_t *count, sealkit_error *err)
{
	sealkit_status st = SEALKIT_OK;
	CK_SLOT_ID *slots = NULL;
	CK_ULONG nslots = 0;
	CK_SLOT_ID want_slot = p11_kit_uri_get_slot_id(uri);
	char present[LIST_MAX] = "";
	size_t uninitialised = 0;
	p11_token *list = NULL;
	size_t n = 0;
	CK_INFO info;
	CK_RV rv;

	*found = NULL;
	*count = 0;
	rv = P11(m, C_GetInfo, &info);
	if (rv == CKR_OK && !p11_kit_uri_match_module_info(uri, &info)) {
		char desc[33], manuf[33];
		p11_text(desc, info.libraryDescription, 32);
		p11_text(manuf, info.manufacturerID, 32);
		st = sealkit_fail(err, SEALKIT_ERR_NOT_FOUND,
				  "module '%s' is '%s' by '%s', not the library '%s' asks for "
				  "(library-description/library-manufacturer)",
				  m->name, desc, manuf, shown);
		goto out;
	}
	if ((st = slot_list(m, &slots, &nslots, err)) != SEALKIT_OK)
		goto out;
	list = calloc(nslots ? nslots : 1, sizeof *list);
	if (!list) {
		st = sealkit_fail(err, SEALKIT_ERR_MEMORY, "out of memory");
		goto out;
	}
	for (CK_ULONG i = 0; i < nslots; i++) {
		CK_SLOT_INFO si;
		p11_token *t = &list[n];
		if (P11(m, C_GetSlotInfo, slots[i], &si) != CKR_OK)
			continue;
		if (P11(m, C_GetTokenInfo, slots[i], &t->info) != CKR_OK)
			continue;
		if (!(t->info.flags & CKF_TOKEN_INITIALIZED)) {
			uninitialised++;
			continue;
		}
		t->slot = slots[i];
		p11_text(t->label, t->info.label, sizeof t->info.label);
		list_add(present, sizeof present, t->label);
		if (want_slot != (CK_SLOT_ID)-1 && want_slot != slots[i])
			continue;
		if (!p11_kit_uri_match_slot_info(uri, &si) ||
		    !p11_kit_uri_match_token_info(uri, &t->info))
			continue;
		n++;
	}
	if (n == 0) {
		const CK_TOKEN_INFO *want = p11_kit_uri_get_token_info(uri);
		char label[33];
		if (!present[0]) {
			st = sealkit_fail(err, SEALKIT_ERR_NOT_FOUND,
					  "module '%s' has no initialised token%s; initialise one "
					  "first (sealkit token init)",
					  m->name, uninitialised ? " (only empty slots)" : "");
			goto out;
		}
		p11_text(label, want->label, sizeof want->label);
		if (!token_info_blank(want))
			st = sealkit_fail(err, SEALKIT_ERR_NOT_FOUND,
					  "no token labelled '%s'; tokens present: %s", label,
					  present);
		else
			st = sealkit_fail(err, SEALKIT_ERR_NOT_FOUND,
					  "no token matches '%s'; tokens present: %s", shown,
					  present);
		goto out;
	}
	*found = list;
	*count = n;
	list = NULL;
out:
	free(list);
	free(slots);
	return st;
}

static bool same_token(const CK_TOKEN_INFO *a, const CK_TOKEN_INFO *b)
{
	return memcmp(a->label, b->label, sizeof a->label) == 0 &&
	       memcmp(a->serialNumber, b->serialNumber, sizeof a->serialNumber) == 0 &&
	       memcmp(a->manufacturerID, b->manufacturerID, sizeof a->manufacturerID) == 0 &&
	       memcmp(a->model, b->model, sizeof a->model) == 0;
}

sealkit_status p11_find_token_again(struct sealkit_module *m, p11_token *tok, sealkit_error *err)
{
	sealkit_status st;
	CK_SLOT_ID *slots = NULL;
	CK_ULONG n = 0;

	if ((st = slot_list(m, &slots, &n, err)) != SEALKIT_OK)
		goto out;
	st = sealkit_fail(err, SEALKIT_ERR_NOT_FOUND, "token '%s' is gone from module '%s'",
			  tok->label, m->name);
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;
		if (P11(m, C_GetTokenInfo, slots[i], &ti) == CKR_OK &&
		    same_token(&ti, &tok->info)) {
			tok->slot = slots[i];
			tok->info = ti;
			st = SEALKIT_OK;
			break;
		}
	}
out:
	free(slots);
	return st;
}

sealkit_status p11_open_session(struct sealkit_module *m, const p11_token *tok,
				CK_SESSION_HANDLE *h, sealkit_error *err)
{
	CK_RV rv = P11(m, C_OpenSession, tok->slot, CKF_SERIAL_SESSION, NULL, NULL, h);
	if (rv == CKR_OK)
		return SEALKIT_OK;
	return sealkit_fail(err, SEALKIT_ERR_MODULE, "cannot open a session on token '%s': %s",
			    tok->label, p11_rv_name(rv));
}

/* ---- PINs and login ------------------------------------------------------- */

void p11_secret_clear(p11_secret *s)
{
	if (s->buf)
		OPENSSL_clear_free(s->buf, PIN_MAX);
	s->buf = NULL;
	s->len = 0;
	s->set = false;
}

static sealkit_status secret_keep(p11_secret *s, const char *pin, size_t len, sealkit_error *err)
{
	p11_secret_clear(s);
	if (len >= PIN_MAX)
		return sealkit_fail(err, SEALKIT_ERR_PIN, "the PIN is longer than %d bytes",
				    PIN_MAX - 1);
	s->buf = OPENSSL_zalloc(PIN_MAX);
	if (!s->buf)
		return sealkit_fail(err, SEALKIT_ERR_MEMORY, "out of memory");
	memcpy(s->buf, pin, len);
	s->len = len;
	s->set = true;
	return SEALKIT_OK;
}

void p11_pin_source_init(p11_pin_source *src, P11KitUri *uri, const sealkit_token_options *opts)
{
	memset(src, 0, sizeof *src);
	if (uri) {
		src->uri_value = p11_kit_uri_get_pin_value(uri);
		src->uri_source = p11_kit_uri_get_pin_source(uri);
	}
	if (opts) {
		src->pin = opts->pin;
		src->callback = opts->pin_callback;
		src->callback_data = opts->pin_callback_data;
	}
}

/* pin-source=file:/path or a plain path: the first line of the file. */
static sealkit_status read_pin_file(const char *source, char *buf, size_t size, size_t *len,
				    sealkit_error *err)
{
	sealkit_status st = SEALKIT_OK;
	const char *path = source;
	FILE *f = NULL;
	size_t n;

	if (strncmp(path, "file://", 7) == 0)
		path += 7;
	else if (strncmp(path, "file:", 5) == 0)
		path += 5;
	f = fopen(path, "re");
	if (!f) {
		st = sealkit_fail(err, SEALKIT_ERR_IO,
				  "cannot read the PIN file '%s' (pin-source): %s", path,
				  strerror(errno));
		goto out;
	}
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	n = strcspn(buf, "\r\n");
	buf[n] = '\0';
	*len = n;
out:
	if (f)
		fclose(f);
	return st;
}

static void pin_flags_note(CK_FLAGS flags, char *buf, size_t size)
{
	if (flags & CKF_USER_PIN_LOCKED)
		snprintf(buf, size, "; the PIN is now locked");
	else if (flags & CKF_USER_PIN_FINAL_TRY)
		snprintf(buf, size, "; one more wrong PIN locks it");
	else if (flags & CKF_USER_PIN_COUNT_LOW)
		snprintf(buf, size, "; few tries are left");
	else
		buf[0] = '\0';
}

static sealkit_status login_failed(struct sealkit_module *m, const p11_token *tok, CK_RV rv,
				   const char *from, sealkit_error *err)
{
	CK_TOKEN_INFO ti;
	char note[64] = "";
	if (P11(m, C_GetTokenInfo, tok->slot, &ti) == CKR_OK)
		pin_flags_note(ti.flags, note, sizeof note);
	switch (rv) {
	case CKR_PIN_INCORRECT:
	case CKR_PIN_INVALID:
	case CKR_PIN_LEN_RANGE:
		if (strstr(note, "locked"))
			return sealkit_fail(
			    err, SEALKIT_ERR_PIN,
			    "wrong PIN (from %s) for token '%s' (%s) and the user "
			    "PIN is now locked; the security officer must unlock it "
			    "(C_InitPIN)",
			    from, tok->label, p11_rv_name(rv));
		return sealkit_fail(err, SEALKIT_ERR_PIN,
				    "wrong PIN (from %s) for token '%s' (%s)%s", from, tok->label,
				    p11_rv_name(rv), note);
	case CKR_PIN_LOCKED:
		return sealkit_fail(
		    err, SEALKIT_ERR_PIN,
		    "the user PIN of token '%s' is locked (CKR_PIN_LOCKED); the "
		    "security officer must unlock it (C_InitPIN) before it signs again",
		    tok->label);
	case CKR_PIN_EXPIRED:
		return sealkit_fail(
		    err, SEALKIT_ERR_PIN,
		    "the user PIN of token '%s' has expired (CKR_PIN_EXPIRED); set a "
		    "new one first",
		    tok->label);
	case CKR_USER_PIN_NOT_INITIALIZED:
		return sealkit_fail(
		    err, SEALKIT_ERR_PIN,
		    "token '%s' has no user PIN yet (CKR_USER_PIN_NOT_INITIALIZED); "
		    "the security officer must set one (C_InitPIN)",
		    tok->label);
	case CKR_USER_ANOTHER_ALREADY_LOGGED_IN:
		return sealkit_fail(
		    err, SEALKIT_ERR_PIN,
		    "the security officer is logged in to token '%s' in this process "
		    "(CKR_USER_ANOTHER_ALREADY_LOGGED_IN); log out first",
		    tok->label);
	default:
		return sealkit_fail(err, SEALKIT_ERR_PIN, "login to token '%s' failed: %s",
				    tok->label, p11_rv_name(rv));
	}
}

static CK_RV do_login(struct sealkit_module *m, CK_SESSION_HANDLE h, CK_USER_TYPE who,
		      const char *pin, size_t len)
{
	return P11(m, C_Login, h, who, (CK_UTF8CHAR_PTR)pin, (CK_ULONG)len);
}

sealkit_status p11_login(struct sealkit_module *m, CK_SESSION_HANDLE h, p11_token *tok,
			 const p11_pin_source *src, p11_secret *kept, sealkit_error *err)
{
	sealkit_status st = SEALKIT_OK;
	char pin[PIN_MAX];
	size_t len = 0;
	const char *from = NULL;
	CK_RV rv;

	pin[0] = '\0';
	rv = P11(m, C_GetTokenInfo, tok->slot, &tok->info);
	if (rv != CKR_OK) {
		st = sealkit_fail(err, SEALKIT_ERR_MODULE, "token '%s': C_GetTokenInfo failed: %s",
				  tok->label, p11_rv_name(rv));
		goto out;
	}
	if (!(tok->info.flags & CKF_LOGIN_REQUIRED))
		goto out;
	if (tok->info.flags & CKF_USER_PIN_LOCKED) {
		st = login_failed(m, tok, CKR_PIN_LOCKED, "", err);
		goto out;
	}
	if (!(tok->info.flags & CKF_USER_PIN_INITIALIZED)) {
		st = login_failed(m, tok, CKR_USER_PIN_NOT_INITIALIZED, "", err);
		goto out;
	}

	if (src->uri_value) {
		from = "the URI's pin-value";
		len = strlen(src->uri_value);
		if (len >= sizeof pin) {
			st = sealkit_fail(err, SEALKIT_ERR_PIN, "the URI's pin-value is too long");
			goto out;
		}
		memcpy(pin, src->uri_value, len + 1);
	} else if (src->uri_source) {
		from = "the URI's pin-source";
		if ((st = read_pin_file(src->uri_source, pin, sizeof pin, &len, err)) != SEALKIT_OK)
			goto out;
	} else if (src->pin) {
		from = "the caller";
		len = strlen(src->pin);
		if (len >= sizeof pin) {
			st = sealkit_fail(err, SEALKIT_ERR_PIN, "the PIN is too long");
			goto out;
		}
		memcpy(pin, src->pin, len + 1);
	} else if (src->callback) {
		from = "the PIN callback";
		unsigned flags = 0;
		for (int tries = 0; tries < PIN_CALLBACK_TRIES; tries++) {
			CK_TOKEN_INFO ti;
			if (P11(m, C_GetTokenInfo, tok->slot, &ti) == CKR_OK) {
				flags |=
				    (ti.flags & CKF_USER_PIN_COUNT_LOW) ? SEALKIT_PIN_COUNT_LOW : 0;
				flags |=
				    (ti.flags & CKF_USER_PIN_FINAL_TRY) ? SEALKIT_PIN_FINAL_TRY : 0;
			}
			OPENSSL_cleanse(pin, sizeof pin);
			if (src->callback(src->callback_data, tok->label, flags, pin, sizeof pin) !=
			    0) {
				st = sealkit_fail(err, SEALKIT_ERR_PIN,
						  "no PIN for token '%s': the PIN callback gave up",
						  tok->label);
				goto out;
			}
			pin[sizeof pin - 1] = '\0';
			len = strlen(pin);
			rv = do_login(m, h, CKU_USER, pin, len);
			if (rv != CKR_PIN_INCORRECT)
				break;
			flags = SEALKIT_PIN_RETRY;
		}
		goto logged;
	} else if (tok->info.flags & CKF_PROTECTED_AUTHENTICATION_PATH) {
		/* The PIN is entered on the device itself. */
		from = "the token's PIN pad";
		rv = do_login(m, h, CKU_USER, NULL, 0);
		goto logged;
	} else {
		st = sealkit_fail(err, SEALKIT_ERR_PIN,
				  "token '%s' needs its user PIN: put pin-value= or pin-source= in "
				  "the URI's query, or give a PIN or a PIN callback",
				  tok->label);
		goto out;
	}
	rv = do_login(m, h, CKU_USER, pin, len);
logged:
	if (rv == CKR_USER_ALREADY_LOGGED_IN)
		rv = CKR_OK;
	if (rv != CKR_OK) {
		st = login_failed(m, tok, rv, from, err);
		goto out;
	}
	if (len > 0)
		st = secret_keep(kept, pin, len, err);
out:
	OPENSSL_cleanse(pin, sizeof pin);
	return st;
}

sealkit_status p11_relogin(struct sealkit_module *m, CK_SESSION_HANDLE h, const p11_token *tok,
			   const p11_secret *kept, CK_USER_TYPE who, sealkit_error *err)
{
	CK_RV rv;
	if (kept->set)
		rv = do_login(m, h, who, kept->buf, kept->len);
	else
		rv = do_login(m, h, who, NULL, 0);
	if (rv == CKR_OK || (rv == CKR_USER_ALREADY_LOGGED_IN && who == CKU_USER))
		return SEALKIT_OK;
	return login_failed(m, tok, rv, "the PIN given at open", err);
}

/* ---- objects ---------------------------------------------------------------- */

sealkit_status p11_find(struct sealkit_module *m, CK_SESSION_HANDLE h, CK_ATTRIBUTE *tmpl,
			CK_ULONG n, CK_OBJECT_HANDLE *out, size_t max, size_t *count,
			sealkit_error *err)
{
	sealkit_status st = SEALKIT_OK;
	CK_OBJECT_HANDLE batch[16];
	CK_ULONG got = 0;
	CK_RV rv;

	*count = 0;
	rv = P11(m, C_FindObjectsInit, h, tmpl, n);
	if (rv != CKR_OK) {
		st = sealkit_fail(err, SEALKIT_ERR_MODULE,
				  "module '%s': C_FindObjectsInit failed: %s", m->name,
				  p11_rv_name(rv));
		goto out;
	}
	/* Counting goes on a little past max so "N keys match" is right. */
	do {
		rv = P11(m, C_FindObjects, h, batch, 16, &got);
		if (rv != CKR_OK) {
			st = sealkit_fail(err, SEALKIT_ERR_MODULE,
					  "module '%s': C_FindObjects failed: %s", m->name,
					  p11_rv_name(rv));
			break;
		}
		for (CK_ULONG i = 0; i < got; i++, (*count)++)
			if (*count < max)
				out[*count] = batch[i];
	} while (got > 0 && *count < max + 64);
	P11(m, C_FindObjectsFinal, h);
out:
	return st;
}

sealkit_status p11_attr(struct sealkit_module *m, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o,
			CK_ATTRIBUTE_TYPE type, unsigned char **val, size_t *len,
			sealkit_error *err)
{
	sealkit_status st = SEALKIT_OK;
	CK_ATTRIBUTE a = {type, NULL, 0};
	unsigned char *buf = NULL;
	CK_RV rv;

	*val = NULL;
	*len = 0;
	rv = P11(m, C_GetAttributeValue, h, o, &a, 1);
	if (rv == CKR_ATTRIBUTE_TYPE_INVALID || rv == CKR_ATTRIBUTE_SENSITIVE ||
	    a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
		goto out;
	if (rv != CKR_OK) {
		st = sealkit_fail(err, SEALKIT_ERR_MODULE,
				  "module '%s': C_GetAttributeValue(0x%lx) failed: %s", m->name,
				  (unsigned long)type, p11_rv_name(rv));
		goto out;
	}
	buf = malloc(a.ulValueLen + 1);
	if (!buf) {
		st = sealkit_fail(err, SEALKIT_ERR_MEMORY, "out of memory");
		goto out;
	}
	a.pValue = buf;
	rv = P11(m, C_GetAttributeValue, h, o, &a, 1);
	if (rv != CKR_OK) {
		st = sealkit_fail(err, SEALKIT_ERR_MODULE,
				  "module '%s': C_GetAttributeValue(0x%lx) failed: %s", m->name,
				  (unsigned long)type, p11_rv_name(rv));
		goto out;
	}
	buf[a.ulValueLen] = '\0';
	*val = buf;
	*len = a.ulValueLen;
	buf = NULL;
out:
	free(buf);
	return st;
}

bool p11_attr_ulong(struct sealkit_module *m, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o,
		    CK_ATTRIBUTE_TYPE type, CK_ULONG *v)
{
	CK_ATTRIBUTE a = {type, v, sizeof *v};
	return P11(m, C_GetAttributeValue, h, o, &a, 1) == CKR_OK && a.ulValueLen == sizeof *v;
}

bool p11_attr_bool(struct sealkit_module *m, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o,
		   CK_ATTRIBUTE_TYPE type)
{
	CK_BBOOL b = CK_FALSE;
	CK_ATTRIBUTE a = {type, &b, sizeof b};
	return P11(m, C_GetAttributeValue, h, o, &a, 1) == CKR_OK && a.ulValueLen == sizeof b &&
	       b == CK_TRUE;
}

sealkit_status p11_mechanisms(struct sealkit_module *m, CK_SLOT_ID slot, CK_MECHANISM_TYPE **list,
			      size_t *n, sealkit_error *err)
{
	sealkit_status st = SEALKIT_OK;
	CK_ULONG count = 0;
	CK_RV rv;

	*list = NULL;
	*n = 0;
	rv = P11(m, C_GetMechanismList, slot, NULL, &count);
	if (rv == CKR_OK) {
		/* One spare entry: p11-kit-client.so 0.24 reads one past the end of
		 * the list while purging the mechanisms its RPC cannot carry. */
		*list = calloc(count + 1, sizeof **list);
		if (!*list) {
			st = sealkit_fail(err, SEALKIT_ERR_MEMORY, "out of memory");
			goto out;
		}
		rv = P11(m, C_GetMechanismList, slot, *list, &count);
	}
	if (rv != CKR_OK) {
		free(*list);
		*list = NULL;
		st = sealkit_fail(err, SEALKIT_ERR_MODULE,
				  "module '%s': C_GetMechanismList failed: %s", m->name,
				  p11_rv_name(rv));
		goto out;
	}
	*n = count;
out:
	return st;
}

/* ---- choosing among tokens, listing keys ---------------------------------- */

void p11_hex(const unsigned char *b, size_t n, char *out, size_t size)
{
	size_t j = 0;
	for (size_t i = 0; i < n && j + 3 < size; i++, j += 2)
		snprintf(out + j, 3, "%02x", b[i]);
	out[j] = '\0';
}

/* "'a' (id 01ab), 'b'" for messages. */
void p11_list_private_keys(struct sealkit_module *m, CK_SESSION_HANDLE h, char *buf, size_t size)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof cls}};
	CK_OBJECT_HANDLE o[8];
	size_t count = 0;

	buf[0] = '\0';
	if (p11_find(m, h, tmpl, 1, o, 8, &count, NULL) != SEALKIT_OK || count == 0) {
		snprintf(buf, size, "none");
		return;
	}
	for (size_t i = 0; i < count && i < 8; i++) {
		unsigned char *label = NULL, *id = NULL;
		size_t ll = 0, il = 0;
		char idhex[41], item[120];
		p11_attr(m, h, o[i], CKA_LABEL, &label, &ll, NULL);
		p11_attr(m, h, o[i], CKA_ID, &id, &il, NULL);
		p11_hex(id, il, idhex, sizeof idhex);
		snprintf(item, sizeof item, "'%.60s'%s%s%s", label ? (char *)label : "",
			 il ? " (id " : "", idhex, il ? ")" : "");
		size_t used = strlen(buf);
		if (used + strlen(item) + 6 < size)
			snprintf(buf + used, size - used, "%s%s", used ? ", " : "", item);
		free(label);
		free(id);
	}
	if (count > 8) {
		size_t used = strlen(buf);
		snprintf(buf + used, size - used, ", ...");
	}
}

/* Several tokens match the URI: keep those that show a matching public
 * object (certificate or public key) without logging in. */
static sealkit_status narrow_tokens(struct sealkit_module *m, P11KitUri *uri, const char *shown,
				    p11_token *list, size_t n, p11_token *chosen,
				    sealkit_error *err)
{
	char names[300] = "";
	size_t hits = 0;
	CK_ULONG nattrs = 0;
	CK_ATTRIBUTE *attrs = p11_kit_uri_get_attributes(uri, &nattrs);
	CK_ATTRIBUTE tmpl[8];
	CK_ULONG nt = 0;

	for (CK_ULONG i = 0; i < nattrs && nt < 8; i++)
		if (attrs[i].type != CKA_CLASS)
			tmpl[nt++] = attrs[i];
	for (size_t i = 0; i < n; i++) {
		CK_SESSION_HANDLE h;
		CK_OBJECT_HANDLE o;
		size_t count = 0;
		size_t used = strlen(names);
		snprintf(names + used, sizeof names - used, "%s'%s'", used ? ", " : "",
			 list[i].label);
		if (nt == 0 || p11_open_session(m, &list[i], &h, NULL) != SEALKIT_OK)
			continue;
		if (p11_find(m, h, tmpl, nt, &o, 1, &count, NULL) == SEALKIT_OK && count > 0) {
			if (hits++ == 0)
				*chosen = list[i];
		}
		P11(m, C_CloseSession, h);
	}
	if (hits == 1)
		return SEALKIT_OK;
	return sealkit_fail(err, SEALKIT_ERR_ARGS,
			    "'%s' matches %zu tokens (%s); add token= to the URI to choose one",
			    shown, n, names);
}

sealkit_status p11_choose_token(struct sealkit_module *m, P11KitUri *uri, const char *shown,
				p11_token *tok, sealkit_error *err)
{
	p11_token *list = NULL;
	size_t n = 0;
	sealkit_status st = p11_match_tokens(m, uri, shown, &list, &n, err);
	if (st == SEALKIT_OK) {
		if (n == 1)
			*tok = list[0];
		else
			st = narrow_tokens(m, uri, shown, list, n, tok, err);
	}
	free(list);
	return st;
}

/* ---- certificates by URI ---------------------------------------------------------- */

static sealkit_status cert_on_token(struct sealkit_module *m, p11_token *tok, P11KitUri *uri,
				    const char *shown, const p11_pin_source *pins,
				    unsigned char **der, size_t *der_len, sealkit_error *err)
{
	CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
	CK_ATTRIBUTE tmpl[8] = {{CKA_CLASS, &cls, sizeof cls}};
	CK_ULONG n = 1, nattrs = 0;
	CK_ATTRIBUTE *attrs = p11_kit_uri_get_attributes(uri, &nattrs);
	CK_OBJECT_HANDLE o[2];
	CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
	p11_secret kept = {0};
	size_t count = 0;
	sealkit_status st;
	bool have_pin = pins->uri_value || pins->uri_source || pins->pin || pins->callback;

	for (CK_ULONG i = 0; i < nattrs && n < 8; i++)
		if (attrs[i].type != CKA_CLASS)
			tmpl[n++] = attrs[i];
	if ((st = p11_open_session(m, tok, &h, err)) != SEALKIT_OK)
		goto out;
	st = p11_find(m, h, tmpl, n, o, 2, &count, err);
	if (st == SEALKIT_OK && count == 0 && have_pin) {
		/* A private certificate shows only after login. */
		if ((st = p11_login(m, h, tok, pins, &kept, err)) == SEALKIT_OK)
			st = p11_find(m, h, tmpl, n, o, 2, &count, err);
	}
	if (st != SEALKIT_OK)
		goto out;
	if (count == 0) {
		st = sealkit_fail(err, SEALKIT_ERR_NOT_FOUND,
				  "no certificate matching '%s' on token '%s'", shown, tok->label);
		goto out;
	}
	if (count > 1) {
		st = sealkit_fail(err, SEALKIT_ERR_ARGS,
				  "'%s' matches %zu certificates on token '%s'; add object= or id= "
				  "to choose one",
				  shown, count, tok->label);
		goto out;
	}
	st = p11_attr(m, h, o[0], CKA_VALUE, der, der_len, err);
	if (st == SEALKIT_OK && !*der)
		st = sealkit_fail(err, SEALKIT_ERR_FORMAT,
				  "the certificate '%s' on token '%s' has no value", shown,
				  tok->label);
out:
	p11_secret_clear(&kept);
	if (h != CK_INVALID_HANDLE)
		P11(m, C_CloseSession, h);
	return st;
}

sealkit_status sealkit_token_certificate(sealkit_module *module, const char *uri_text,
					 const sealkit_token_options *opts, unsigned char **der,
					 size_t *der_len, sealkit_error *err)
{
	struct sealkit_module *m = NULL;
	sealkit_status st = SEALKIT_OK;
	P11KitUri *uri = NULL;
	p11_token *list = NULL;
	p11_pin_source pins;
	unsigned long gen;
	char shown[256];
	size_t n = 0;

	if (!der || !der_len) {
		st = sealkit_fail(err, SEALKIT_ERR_ARGS,
				  "sealkit_token_certificate: missing argument");
		goto out;
	}
	*der = NULL;
	*der_len = 0;
	if ((st = p11_uri_parse(uri_text, &uri, err)) != SEALKIT_OK)
		goto out;
	p11_uri_shown(uri_text, shown, sizeof shown);
	if ((st = p11_module_for(module, uri, opts, &m, err)) != SEALKIT_OK)
		goto out;
	if ((st = p11_module_check(m, &gen, err)) != SEALKIT_OK)
		goto out;
	if ((st = p11_match_tokens(m, uri, shown, &list, &n, err)) != SEALKIT_OK)
		goto out;
	p11_pin_source_init(&pins, uri, opts);
	/* The first token that has it wins. */
	for (size_t i = 0; i < n; i++) {
		st = cert_on_token(m, &list[i], uri, shown, &pins, der, der_len, err);
		if (st != SEALKIT_ERR_NOT_FOUND)
			break;
	}
out:
	free(list);
	if (uri)
		p11_kit_uri_free(uri);
	sealkit_module_release(m);
	return st;
}

/* ---- public keys and certificates of keys ------------------------------------ */

/* CKA_EC_POINT: DER OCTET STRING around the point, or (some tokens) the
 * bare point. */
static EVP_PKEY *pkey_from_point(const p11_keyref *a, const unsigned char *v, size_t len)
{
	const unsigned char *pt = v;
	size_t pt_len = len;
	ASN1_OCTET_STRING *os = NULL;
	const unsigned char *p = v;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;

	if (len > 2 && v[0] == 0x04 && (os = d2i_ASN1_OCTET_STRING(NULL, &p, (long)len)) &&
	    p == v + len && os->length > 0) {
		pt = os->data;
		pt_len = (size_t)os->length;
	}
	OSSL_PARAM params[] = {
	    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)a->group, 0),
	    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pt, pt_len),
	    OSSL_PARAM_END,
	};
	ctx = EVP_PKEY_CTX_new_from_name(NULL, a->sm2 ? "SM2" : "EC", NULL);
	if (!ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	ASN1_OCTET_STRING_free(os);
	return pkey;
}

static bool pkey_is(const p11_keyref *a, const EVP_PKEY *pkey)
{
	char group[64];
	size_t n = 0;
	if (a->sm2 && EVP_PKEY_is_a(pkey, "SM2"))
		return true;
	if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
					    &n))
		return false;
	return OBJ_sn2nid(group) == a->nid || OBJ_txt2nid(group) == a->nid;
}

/* An SPKI whose curve is SM2 may come back from d2i_PUBKEY as a plain EC
 * key; rebuild it as an SM2 key so OpenSSL signs and checks SM2. */
static EVP_PKEY *pkey_fix_sm2(const p11_keyref *a, EVP_PKEY *pkey)
{
	unsigned char pt[133];
	size_t n = 0;
	EVP_PKEY *fixed;
	if (!pkey || !a->sm2 || EVP_PKEY_is_a(pkey, "SM2"))
		return pkey;
	if (!EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt,
					     sizeof pt, &n))
		return pkey;
	fixed = pkey_from_point(a, pt, n);
	if (!fixed)
		return pkey;
	EVP_PKEY_free(pkey);
	return fixed;
}

static EVP_PKEY *pkey_from_spki(const p11_keyref *a, const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	EVP_PKEY *pkey = d2i_PUBKEY(NULL, &p, (long)len);
	return pkey_fix_sm2(a, pkey);
}

static sealkit_status read_certificate(struct sealkit_module *m, CK_SESSION_HANDLE h,
				       const p11_keyref *a, EVP_PKEY **pub, unsigned char **cert,
				       size_t *cert_len, sealkit_error *err)
{
	CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
	CK_ATTRIBUTE tmpl[] = {
	    {CKA_CLASS, &cls, sizeof cls},
	    {CKA_ID, (void *)a->id, a->id_len},
	};
	CK_OBJECT_HANDLE o[4];
	size_t count = 0;
	sealkit_status st;

	if (a->id_len == 0) {
		/* No CKA_ID: a certificate with the key's label is the best guess. */
		tmpl[1].type = CKA_LABEL;
		tmpl[1].pValue = (void *)a->label;
		tmpl[1].ulValueLen = strlen(a->label);
		if (tmpl[1].ulValueLen == 0)
			return SEALKIT_OK;
	}
	st = p11_find(m, h, tmpl, 2, o, 4, &count, err);
	for (size_t i = 0; st == SEALKIT_OK && i < count && i < 4 && !*cert; i++) {
		unsigned char *der = NULL;
		size_t len = 0;
		if ((st = p11_attr(m, h, o[i], CKA_VALUE, &der, &len, err)) != SEALKIT_OK)
			break;
		const unsigned char *p = der;
		X509 *x = der ? d2i_X509(NULL, &p, (long)len) : NULL;
		EVP_PKEY *xk = x ? pkey_fix_sm2(a, X509_get_pubkey(x)) : NULL;
		if (xk && !*pub && pkey_is(a, xk)) {
			*pub = xk; /* the certificate is the only public key there is */
			xk = NULL;
		}
		if (x && *pub && EVP_PKEY_eq(*pub, xk ? xk : *pub) == 1) {
			*cert = der;
			*cert_len = len;
			der = NULL;
		}
		EVP_PKEY_free(xk);
		X509_free(x);
		free(der);
	}
	return st;
}

sealkit_status p11_public_key(struct sealkit_module *m, CK_SESSION_HANDLE h, const p11_token *tok,
			      const p11_keyref *a, EVP_PKEY **pub, unsigned char **cert,
			      size_t *cert_len, sealkit_warnings *warnings, sealkit_error *err)
{
	sealkit_status st = SEALKIT_OK;
	unsigned char *v = NULL;
	size_t len = 0;
	const char *from = NULL;

	/* 1. The public key object with the same CKA_ID. */
	if (a->id_len > 0) {
		CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
		CK_ATTRIBUTE tmpl[] = {
		    {CKA_CLASS, &cls, sizeof cls},
		    {CKA_ID, (void *)a->id, a->id_len},
		};
		CK_OBJECT_HANDLE o;
		size_t count = 0;
		if ((st = p11_find(m, h, tmpl, 2, &o, 1, &count, err)) != SEALKIT_OK)
			goto out;
		if (count > 0) {
			if ((st = p11_attr(m, h, o, CKA_PUBLIC_KEY_INFO, &v, &len, err)) !=
			    SEALKIT_OK)
				goto out;
			if (v && len > 0)
				*pub = pkey_from_spki(a, v, len);
			free(v);
			v = NULL;
			if (!*pub) {
				if ((st = p11_attr(m, h, o, CKA_EC_POINT, &v, &len, err)) !=
				    SEALKIT_OK)
					goto out;
				if (v)
					*pub = pkey_from_point(a, v, len);
				free(v);
				v = NULL;
			}
			from = "the public key object";
		}
	}
	/* 2. CKA_EC_POINT on the private key (xipki's vendor behaviour). */
	if (!*pub) {
		if ((st = p11_attr(m, h, a->key, CKA_EC_POINT, &v, &len, err)) != SEALKIT_OK)
			goto out;
		if (v)
			*pub = pkey_from_point(a, v, len);
		from = "the private key's CKA_EC_POINT";
	}
	/* 3. The certificate, which is read in any case. */
	if ((st = read_certificate(m, h, a, pub, cert, cert_len, err)) != SEALKIT_OK)
		goto out;
	if (*pub && !from)
		from = "the certificate";
	if (!*pub) {
		st = sealkit_fail(err, SEALKIT_ERR_NOT_FOUND,
				  "cannot find the public key of key '%s' on token '%s': no public "
				  "key object with its CKA_ID, no CKA_EC_POINT on the key, no "
				  "certificate; import its certificate (sealkit token import)",
				  a->label, tok->label);
		goto out;
	}
	if (!pkey_is(a, *pub)) {
		st = sealkit_fail(err, SEALKIT_ERR_FORMAT,
				  "the public key of key '%s' (from %s) is not a %s key", a->label,
				  from, a->sm2 ? "SM2" : a->group);
		goto out;
	}
	if (a->id_len > 0 && !*cert) {
		/* Say so when a certificate is there but holds another key. */
		CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
		CK_ATTRIBUTE tmpl[] = {
		    {CKA_CLASS, &cls, sizeof cls},
		    {CKA_ID, (void *)a->id, a->id_len},
		};
		CK_OBJECT_HANDLE o;
		size_t count = 0;
		if (p11_find(m, h, tmpl, 2, &o, 1, &count, NULL) == SEALKIT_OK && count > 0)
			sealkit_warn(warnings,
				     "the certificate with the CKA_ID of key '%s' holds another "
				     "public key; it is not used",
				     a->label);
	}
	p11_debugf(m, "key '%s': public key from %s%s", a->label, from,
		   *cert ? ", certificate found" : ", no certificate");
out:
	free(v);
	return st;
}
