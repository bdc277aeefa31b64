/* Module-wide state: initialisation, the slot table, the session table. */
#ifndef SEALKIT_MODULE_H
#define SEALKIT_MODULE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

#include "config.h"
#include "pkcs11x.h"
#include "util/map.h"

struct sk_token;
struct sk_session;

typedef struct sk_module {
	/* Guards the fields below except the atomic counters. Never held
	 * during cryptography or a login's PBKDF2 (C_InitToken, being rare,
	 * does hold it); taken before any token lock. */
	pthread_mutex_t lock;
	bool initialized;
	pid_t pid;
	/* Set in a forked child (pthread_atfork), so that checking for a fork
	 * costs no getpid() system call on every function. */
	atomic_bool forked;
	sk_config cfg;
	struct sk_profile *profile; /* built from cfg, active while initialised */
	ptrvec tokens;    /* struct sk_token *, sorted by slot ID */
	u64map sessions;  /* handle -> struct sk_session * */
	atomic_ulong next_session;
	atomic_ulong next_object;
} sk_module;

extern sk_module module;

/* CKR_OK when C_Initialize was called in this process (not just in a
 * parent before fork). */
CK_RV module_check(void);

/* Copies a string into a blank-padded fixed-size PKCS#11 field. */
void pad_copy(CK_UTF8CHAR *dst, size_t dst_len, const char *src);

/* Debug log to stderr when SEALKIT_DEBUG is set; never given key bytes. */
void sk_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
