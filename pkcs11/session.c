#include "session.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "module.h"

CK_RV session_get(CK_SESSION_HANDLE h, sk_session **out)
{
	CK_RV rv = CKR_SESSION_HANDLE_INVALID;
	pthread_mutex_lock(&module.lock);
	if (module_check() != CKR_OK) {
		rv = CKR_CRYPTOKI_NOT_INITIALIZED;
	} else {
		sk_session *s = u64map_get(&module.sessions, h);
		if (s && !atomic_load(&s->closed)) {
			atomic_fetch_add(&s->refs, 1);
			*out = s;
			rv = CKR_OK;
		}
	}
	pthread_mutex_unlock(&module.lock);
	return rv;
}

static void session_free(sk_session *s)
{
	for (int k = 0; k < OP_KINDS; k++)
		if (s->op[k])
			crypto_op_free(s->op[k]);
	free(s->found);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void session_put(sk_session *s)
{
	if (s && atomic_fetch_sub(&s->refs, 1) == 1)
		session_free(s);
}

CK_RV session_open(sk_token *t, CK_FLAGS flags, CK_SESSION_HANDLE *out)
{
	sk_session *s = calloc(1, sizeof *s);
	if (!s)
		return CKR_HOST_MEMORY;
	pthread_mutex_init(&s->lock, NULL);
	atomic_init(&s->refs, 1);
	atomic_init(&s->closed, false);
	s->token = t;
	s->flags = flags;
	s->handle = atomic_fetch_add(&module.next_session, 1);
	/* module.lock is held by the caller. */
	if (!u64map_put(&module.sessions, s->handle, s)) {
		session_free(s);
		return CKR_HOST_MEMORY;
	}
	pthread_mutex_lock(&t->lock);
	t->sessions++;
	if (flags & CKF_RW_SESSION)
		t->rw_sessions++;
	pthread_mutex_unlock(&t->lock);
	*out = s->handle;
	return CKR_OK;
}

/* Called with module.lock held; the session is already out of the table. */
static void detach(sk_session *s)
{
	sk_token *t = s->token;
	atomic_store(&s->closed, true);
	pthread_mutex_lock(&t->lock);
	token_drop_session_objects(t, s->handle);
	t->sessions--;
	if (s->flags & CKF_RW_SESSION)
		t->rw_sessions--;
	/* The last session closed logs the application out. */
	if (!t->sessions)
		token_logout(t);
	pthread_mutex_unlock(&t->lock);
	session_put(s);
}

CK_RV session_close(CK_SESSION_HANDLE h)
{
	CK_RV rv = CKR_SESSION_HANDLE_INVALID;
	pthread_mutex_lock(&module.lock);
	sk_session *s = u64map_remove(&module.sessions, h);
	if (s) {
		detach(s);
		rv = CKR_OK;
	}
	pthread_mutex_unlock(&module.lock);
	return rv;
}

CK_RV session_close_all(sk_token *t)
{
	/* module.lock held by the caller. */
	ptrvec mine = {0};
	size_t pos = 0;
	void *v;
	while (u64map_next(&module.sessions, &pos, NULL, &v))
		if (((sk_session *)v)->token == t && !ptrvec_push(&mine, v)) {
			ptrvec_free(&mine);
			return CKR_HOST_MEMORY;
		}
	for (size_t i = 0; i < mine.count; i++) {
		sk_session *s = mine.items[i];
		u64map_remove(&module.sessions, s->handle);
		detach(s);
	}
	ptrvec_free(&mine);
	return CKR_OK;
}

void session_end_op(sk_session *s, op_kind kind)
{
	if (s->op[kind]) {
		crypto_op_free(s->op[kind]);
		s->op[kind] = NULL;
	}
	s->op_multi[kind] = false;
}

bool session_rw(sk_session *s)
{
	return (s->flags & CKF_RW_SESSION) != 0;
}

CK_STATE session_state(sk_session *s)
{
	CK_USER_TYPE login = s->token->login;
	bool rw = session_rw(s);
	if (login == CKU_SO)
		return CKS_RW_SO_FUNCTIONS;
	if (login == CKU_USER)
		return rw ? CKS_RW_USER_FUNCTIONS : CKS_RO_USER_FUNCTIONS;
	return rw ? CKS_RW_PUBLIC_SESSION : CKS_RO_PUBLIC_SESSION;
}
