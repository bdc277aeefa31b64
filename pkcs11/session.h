/* Sessions: handles, state, and the one active operation of each kind. */
#ifndef SEALKIT_SESSION_H
#define SEALKIT_SESSION_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "crypto/crypto.h"
#include "pkcs11x.h"
#include "token.h"

typedef struct sk_session {
	CK_SESSION_HANDLE handle;
	sk_token *token;
	CK_FLAGS flags;
	atomic_int refs;
	atomic_bool closed;
	/* Guards the operations. Crypto runs under it, never under a token
	 * or module lock, so two sessions sign in parallel. */
	pthread_mutex_t lock;
	crypto_op *op[OP_KINDS];
	bool op_multi[OP_KINDS]; /* an Update happened: single-part refused */
	bool finding;
	CK_OBJECT_HANDLE *found;
	CK_ULONG nfound, pos;
} sk_session;

/* Looks up a session (with a reference): CKR_SESSION_HANDLE_INVALID. */
CK_RV session_get(CK_SESSION_HANDLE h, sk_session **out);
void session_put(sk_session *s);
CK_RV session_open(sk_token *t, CK_FLAGS flags, CK_SESSION_HANDLE *out);
CK_RV session_close(CK_SESSION_HANDLE h);
CK_RV session_close_all(sk_token *t);
void session_end_op(sk_session *s, op_kind kind);
/* The PKCS#11 session state, from the token's login state. */
CK_STATE session_state(sk_session *s);
bool session_rw(sk_session *s);

#endif
