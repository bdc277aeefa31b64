/* The token layer's PKCS#11 plumbing, private to libsealkit: a loaded
 * module with its traced call wrapper, fork detection, URI parsing, token
 * and object lookup, login, public keys and certificates of keys. signer.c
 * builds on it. */
#ifndef SEALKIT_P11_H
#define SEALKIT_P11_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include <openssl/evp.h>
#include <p11-kit/pkcs11.h>
#include <p11-kit/uri.h>

#include "sealkit/token.h"

#ifndef CKU_CONTEXT_SPECIFIC
#define CKU_CONTEXT_SPECIFIC 2UL
#endif
#ifndef CKA_PUBLIC_KEY_INFO
#define CKA_PUBLIC_KEY_INFO 0x129UL
#endif

struct sealkit_module {
	CK_FUNCTION_LIST *fl;
	CK_FUNCTION_LIST **registry; /* p11-kit's configured modules, when loaded by name */
	char *name;                  /* as messages show it */
	atomic_bool debug;
	atomic_int refs;
	/* Fork detection: the pid that initialised the module; a child that
	 * finds another pid re-initialises and bumps the generation, which
	 * tells every signer that its sessions and handles are gone. */
	pthread_mutex_t lock;
	atomic_int pid;
	atomic_ulong generation;
};

/* ---- the call wrapper -------------------------------------------------- */

/* Logs "sealkit: p11 <module>: C_Xxx -> CKR_YYY (0.012 ms)" when debugging;
 * returns rv. */
CK_RV p11_trace(const struct sealkit_module *m, const char *fn, CK_RV rv,
		const struct timespec *t0);

/* Every PKCS#11 call of libsealkit goes through this: one branch when not
 * debugging. Arguments are never logged (they may hold a PIN). */
#define P11(m, fn, ...)                                                                            \
	__extension__({                                                                            \
		struct timespec p11_t0_ = {0, 0};                                                  \
		bool p11_dbg_ = atomic_load_explicit(&(m)->debug, memory_order_relaxed);           \
		if (p11_dbg_)                                                                      \
			clock_gettime(CLOCK_MONOTONIC, &p11_t0_);                                  \
		CK_RV p11_rv_ = (m)->fl->fn(__VA_ARGS__);                                          \
		p11_dbg_ ? p11_trace((m), #fn, p11_rv_, &p11_t0_) : p11_rv_;                       \
	})

const char *p11_rv_name(CK_RV rv);
/* A debug line (when debugging is on) about a decision, never a secret. */
void p11_debugf(const struct sealkit_module *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- modules ----------------------------------------------------------- */

struct sealkit_module *p11_module_ref(struct sealkit_module *m);
/* Re-initialises the module in a forked child; *generation is the current
 * generation (compare with the one a signer saw). */
sealkit_status p11_module_check(struct sealkit_module *m, unsigned long *generation,
				sealkit_error *err);
/* The module to use: given (a new reference), else the one opts or the URI
 * name, else the default. */
sealkit_status p11_module_for(struct sealkit_module *given, P11KitUri *uri,
			      const sealkit_token_options *opts, struct sealkit_module **out,
			      sealkit_error *err);

/* ---- URIs -------------------------------------------------------------- */

sealkit_status p11_uri_parse(const char *text, P11KitUri **out, sealkit_error *err);
/* The URI as messages show it: without its query part (no pin-value). */
void p11_uri_shown(const char *text, char *buf, size_t size);

/* ---- tokens ------------------------------------------------------------ */

typedef struct p11_token {
	CK_SLOT_ID slot;
	CK_TOKEN_INFO info;
	char label[33];
} p11_token;

/* The initialised tokens the URI matches (malloc'ed, *count >= 1), or
 * SEALKIT_ERR_NOT_FOUND naming the tokens present. */
sealkit_status p11_match_tokens(struct sealkit_module *m, P11KitUri *uri, const char *shown,
				p11_token **found, size_t *count, sealkit_error *err);
/* Finds the slot of the token with this label, serial, manufacturer and model
 * again (after a re-initialisation). */
sealkit_status p11_find_token_again(struct sealkit_module *m, p11_token *tok, sealkit_error *err);
/* Blank-padded PKCS#11 text to a C string (dst has n + 1 bytes). */
void p11_text(char *dst, const CK_UTF8CHAR *src, size_t n);

sealkit_status p11_open_session(struct sealkit_module *m, const p11_token *tok,
				CK_SESSION_HANDLE *h, sealkit_error *err);

/* ---- PINs and login ----------------------------------------------------- */

/* A PIN kept for logging in again (after fork, or per signature for keys
 * with CKA_ALWAYS_AUTHENTICATE); cleansed when dropped. */
typedef struct p11_secret {
	char *buf;
	size_t len;
	bool set;
} p11_secret;

void p11_secret_clear(p11_secret *s);

typedef struct p11_pin_source {
	const char *uri_value;  /* pin-value= */
	const char *uri_source; /* pin-source= (a file) */
	const char *pin;        /* the caller's */
	sealkit_pin_callback callback;
	void *callback_data;
} p11_pin_source;

void p11_pin_source_init(p11_pin_source *src, P11KitUri *uri, const sealkit_token_options *opts);

/* Logs the user in on h unless the token needs no login or someone already
 * did; keeps the PIN used in *kept. */
sealkit_status p11_login(struct sealkit_module *m, CK_SESSION_HANDLE h, p11_token *tok,
			 const p11_pin_source *src, p11_secret *kept, sealkit_error *err);
/* Logs in again with a kept PIN, as user or (context) for one operation. */
sealkit_status p11_relogin(struct sealkit_module *m, CK_SESSION_HANDLE h, const p11_token *tok,
			   const p11_secret *kept, CK_USER_TYPE who, sealkit_error *err);

/* ---- objects ------------------------------------------------------------ */

/* Up to max handles matching tmpl; *count is how many matched in all (may
 * exceed max). */
sealkit_status p11_find(struct sealkit_module *m, CK_SESSION_HANDLE h, CK_ATTRIBUTE *tmpl,
			CK_ULONG n, CK_OBJECT_HANDLE *out, size_t max, size_t *count,
			sealkit_error *err);
/* One attribute's value, malloc'ed (NUL-terminated for convenience). An
 * attribute the object does not have gives SEALKIT_OK with *val NULL. */
sealkit_status p11_attr(struct sealkit_module *m, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o,
			CK_ATTRIBUTE_TYPE type, unsigned char **val, size_t *len,
			sealkit_error *err);
/* A CK_ULONG or CK_BBOOL attribute; false when absent or unreadable. */
bool p11_attr_ulong(struct sealkit_module *m, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o,
		    CK_ATTRIBUTE_TYPE type, CK_ULONG *v);
bool p11_attr_bool(struct sealkit_module *m, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o,
		   CK_ATTRIBUTE_TYPE type);

/* Lower-case hex of b (as much as fits in out). */
void p11_hex(const unsigned char *b, size_t n, char *out, size_t size);
/* "'a' (id 01ab), 'b'": the private keys h sees, for messages. */
void p11_list_private_keys(struct sealkit_module *m, CK_SESSION_HANDLE h, char *buf, size_t size);
/* The one token the URI means: the only match, or among several the only
 * one showing a matching public object; else an error naming them. */
sealkit_status p11_choose_token(struct sealkit_module *m, P11KitUri *uri, const char *shown,
				p11_token *tok, sealkit_error *err);

/* A private key and the curve its public key must be on. */
typedef struct p11_keyref {
	CK_OBJECT_HANDLE key;
	const unsigned char *id;
	size_t id_len;
	const char *label;
	const char *group; /* OpenSSL group name */
	int nid;
	bool sm2; /* an SM2 key (OpenSSL key type "SM2") */
} p11_keyref;

/* The key's public key: the public key object with its CKA_ID
 * (CKA_PUBLIC_KEY_INFO or CKA_EC_POINT), else the private key's own
 * CKA_EC_POINT, else its certificate. *cert: the DER certificate with the
 * same CKA_ID (or label, without one) holding that public key; NULL when
 * there is none. */
sealkit_status p11_public_key(struct sealkit_module *m, CK_SESSION_HANDLE h, const p11_token *tok,
			      const p11_keyref *ref, EVP_PKEY **pub, unsigned char **cert,
			      size_t *cert_len, sealkit_warnings *warnings, sealkit_error *err);

/* The slot's mechanisms (malloc'ed). */
sealkit_status p11_mechanisms(struct sealkit_module *m, CK_SLOT_ID slot, CK_MECHANISM_TYPE **list,
			      size_t *n, sealkit_error *err);

#endif
