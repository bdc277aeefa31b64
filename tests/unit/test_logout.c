/* A logout forgets what the login opened: the secrets and cached EVP_PKEYs of
 * token objects from sealed storage (token_logout, object_forget_secret).
 * Checked through the function table and, white-box, on the objects
 * themselves (the module is linked in); plus a stress run of signing and
 * encrypting threads against a thread that logs in and out. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "module.h"
#include "p11test.h"
#include "slot.h"
#include "token.h"

static CK_SLOT_ID slot;

static int logout_init(void)
{
	p11t_fresh_dir(10);
	return 0;
}

/* In a test, not the suite's init: it asserts. */
static void test_make_token(void)
{
	p11t_init();
	slot = p11t_make_token("logout");
}

static int logout_clean(void)
{
	p11t_remove_dir();
	return 0;
}

/* The object behind a handle, with a reference; NULL when invisible. */
static sk_object *find_object(CK_OBJECT_HANDLE h)
{
	sk_object *o = NULL;
	pthread_mutex_lock(&module.lock);
	sk_token *t = slot_token(slot);
	pthread_mutex_unlock(&module.lock);
	if (!t)
		return NULL;
	pthread_mutex_lock(&t->lock);
	o = u64map_get(&t->objects, h);
	if (o)
		object_ref(o);
	pthread_mutex_unlock(&t->lock);
	return o;
}

/* Whether `o` has opened secrets or a crypto cache right now. */
static bool holds_secrets(sk_object *o)
{
	pthread_mutex_lock(&o->lock);
	bool held = o->secret_loaded || o->secret.buf != NULL || o->cache != NULL;
	pthread_mutex_unlock(&o->lock);
	return held;
}

static void login(CK_SESSION_HANDLE s)
{
	CK_OK(p11->C_Login(s, CKU_USER, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN)));
}

/* Token keys with CKA_PRIVATE=FALSE: visible when logged out, so a use after
 * logout reaches the unsealing (CKR_USER_NOT_LOGGED_IN), not the lookup. */
static void make_keys(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv,
		      CK_OBJECT_HANDLE *aes)
{
	static const CK_BYTE p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ULONG len16 = 16;
	CK_MECHANISM ecgen = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
	CK_ATTRIBUTE pubt[] = {{CKA_EC_PARAMS, (void *)p256, sizeof p256},
			       {CKA_TOKEN, &yes, sizeof yes},
			       {CKA_VERIFY, &yes, sizeof yes}};
	CK_ATTRIBUTE privt[] = {{CKA_TOKEN, &yes, sizeof yes},
				{CKA_PRIVATE, &no, sizeof no},
				{CKA_SIGN, &yes, sizeof yes}};
	CK_OK(p11->C_GenerateKeyPair(s, &ecgen, pubt, 3, privt, 3, pub, priv));
	CK_MECHANISM aesgen = {CKM_AES_KEY_GEN, NULL, 0};
	CK_ATTRIBUTE aest[] = {{CKA_TOKEN, &yes, sizeof yes},
			       {CKA_PRIVATE, &no, sizeof no},
			       {CKA_ENCRYPT, &yes, sizeof yes},
			       {CKA_DECRYPT, &yes, sizeof yes},
			       {CKA_VALUE_LEN, &len16, sizeof len16}};
	CK_OK(p11->C_GenerateKey(s, &aesgen, aest, 5, aes));
}

static CK_RV sign(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key)
{
	CK_MECHANISM m = {CKM_ECDSA_SHA256, NULL, 0};
	CK_BYTE sig[64];
	CK_ULONG len = sizeof sig;
	CK_RV rv = p11->C_SignInit(s, &m, key);
	if (rv == CKR_OK)
		rv = p11->C_Sign(s, (CK_BYTE *)"msg", 3, sig, &len);
	return rv;
}

static CK_RV encrypt(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key)
{
	CK_BYTE iv[12] = {1}, out[64];
	CK_ULONG len = sizeof out;
	CK_GCM_PARAMS gcm = {iv, sizeof iv, 96, NULL, 0, 128};
	CK_MECHANISM m = {CKM_AES_GCM, &gcm, sizeof gcm};
	CK_RV rv = p11->C_EncryptInit(s, &m, key);
	if (rv == CKR_OK)
		rv = p11->C_Encrypt(s, (CK_BYTE *)"0123456789abcdef", 16, out, &len);
	return rv;
}

static void test_logout_forgets(void)
{
	CK_SESSION_HANDLE s = p11t_user_session(slot);
	CK_OBJECT_HANDLE pub, priv, aes;
	make_keys(s, &pub, &priv, &aes);
	CK_OK(sign(s, priv));
	CK_OK(encrypt(s, aes));
	sk_object *opriv = find_object(priv), *oaes = find_object(aes), *opub = find_object(pub);
	CU_ASSERT_FATAL(opriv && oaes && opub);
	CU_ASSERT(opriv->sealed != NULL && oaes->sealed != NULL);
	CU_ASSERT(opriv->cache != NULL); /* the EVP_PKEY the signature used */
	CU_ASSERT(holds_secrets(oaes));

	CK_OK(p11->C_Logout(s));
	CU_ASSERT(!holds_secrets(opriv));
	CU_ASSERT(!holds_secrets(oaes));
	CU_ASSERT(opub->sealed == NULL); /* nothing secret: left alone */
	CK_ASSERT_RV(sign(s, priv), CKR_USER_NOT_LOGGED_IN);
	CK_ASSERT_RV(encrypt(s, aes), CKR_USER_NOT_LOGGED_IN);
	CU_ASSERT(!holds_secrets(opriv));
	CU_ASSERT(!holds_secrets(oaes));

	/* A new login opens them again on use. */
	login(s);
	CU_ASSERT(!holds_secrets(opriv));
	CK_OK(sign(s, priv));
	CK_OK(encrypt(s, aes));
	CU_ASSERT(holds_secrets(opriv) && opriv->cache != NULL);
	CU_ASSERT(holds_secrets(oaes));

	/* Closing the last session logs out too. */
	CK_OK(p11->C_CloseSession(s));
	CU_ASSERT(!holds_secrets(opriv));
	CU_ASSERT(!holds_secrets(oaes));
	object_unref(opriv);
	object_unref(oaes);
	object_unref(opub);
}

/* Operations started before a logout keep their own key references. */
static void test_started_ops_survive(void)
{
	CK_SESSION_HANDLE s = p11t_user_session(slot), s2;
	CK_OBJECT_HANDLE pub, priv, aes;
	make_keys(s, &pub, &priv, &aes);
	CK_OK(p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s2));
	CK_MECHANISM m = {CKM_ECDSA_SHA256, NULL, 0};
	CK_OK(p11->C_SignInit(s2, &m, priv));
	CK_BYTE iv[12] = {2}, out[64], sig[64];
	CK_GCM_PARAMS gcm = {iv, sizeof iv, 96, NULL, 0, 128};
	CK_MECHANISM mg = {CKM_AES_GCM, &gcm, sizeof gcm};
	CK_OK(p11->C_EncryptInit(s, &mg, aes));
	CK_OK(p11->C_Logout(s2));
	CK_ULONG len = sizeof sig;
	CK_OK(p11->C_Sign(s2, (CK_BYTE *)"msg", 3, sig, &len));
	CK_OK(p11->C_VerifyInit(s2, &m, pub));
	CK_OK(p11->C_Verify(s2, (CK_BYTE *)"msg", 3, sig, len));
	len = sizeof out;
	CK_OK(p11->C_Encrypt(s, (CK_BYTE *)"0123456789abcdef", 16, out, &len));
	CK_OK(p11->C_CloseSession(s2));
	CK_OK(p11->C_CloseSession(s));
}

/* ---- stress: crypto threads against a login/logout thread ---------------- */

static CK_OBJECT_HANDLE st_pub, st_priv, st_aes;
static atomic_bool st_stop;
static atomic_ulong st_ok, st_refused, st_bad, st_cycles;

static void count(CK_RV rv)
{
	if (rv == CKR_OK)
		atomic_fetch_add(&st_ok, 1);
	else if (rv == CKR_USER_NOT_LOGGED_IN)
		atomic_fetch_add(&st_refused, 1);
	else {
		fprintf(stderr, "stress: unexpected rv 0x%lx\n", (unsigned long)rv);
		atomic_fetch_add(&st_bad, 1);
	}
}

static void *st_signer(void *arg)
{
	(void)arg;
	CK_SESSION_HANDLE s;
	if (p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s) != CKR_OK) {
		atomic_fetch_add(&st_bad, 1);
		return NULL;
	}
	CK_MECHANISM m = {CKM_ECDSA_SHA256, NULL, 0};
	while (!atomic_load(&st_stop)) {
		CK_BYTE sig[64];
		CK_ULONG len = sizeof sig;
		CK_RV rv = p11->C_SignInit(s, &m, st_priv);
		if (rv == CKR_OK) {
			rv = p11->C_Sign(s, (CK_BYTE *)"stress", 6, sig, &len);
			/* A signature made across a logout is still right. */
			if (rv == CKR_OK &&
			    (p11->C_VerifyInit(s, &m, st_pub) != CKR_OK ||
			     p11->C_Verify(s, (CK_BYTE *)"stress", 6, sig, len) != CKR_OK))
				rv = CKR_GENERAL_ERROR;
		}
		count(rv);
	}
	p11->C_CloseSession(s);
	return NULL;
}

static void *st_encrypter(void *arg)
{
	(void)arg;
	CK_SESSION_HANDLE s;
	if (p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s) != CKR_OK) {
		atomic_fetch_add(&st_bad, 1);
		return NULL;
	}
	while (!atomic_load(&st_stop))
		count(encrypt(s, st_aes));
	p11->C_CloseSession(s);
	return NULL;
}

static void *st_toggler(void *arg)
{
	CK_SESSION_HANDLE s = *(CK_SESSION_HANDLE *)arg;
	/* Logged out for a moment each time, so that the workers also meet
	 * the logged-out state, not only the forgetting. */
	struct timespec pause = {0, 50000};
	while (!atomic_load(&st_stop)) {
		if (p11->C_Logout(s) != CKR_OK)
			atomic_fetch_add(&st_bad, 1);
		nanosleep(&pause, NULL);
		if (p11->C_Login(s, CKU_USER, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN)) != CKR_OK)
			atomic_fetch_add(&st_bad, 1);
		atomic_fetch_add(&st_cycles, 1);
	}
	return NULL;
}

static void test_stress(void)
{
	CK_SESSION_HANDLE s = p11t_user_session(slot);
	make_keys(s, &st_pub, &st_priv, &st_aes);
	pthread_t th[4];
	void *(*fn[4])(void *) = {st_signer, st_signer, st_encrypter, st_toggler};
	for (int i = 0; i < 4; i++)
		CU_ASSERT_FATAL(pthread_create(&th[i], NULL, fn[i], &s) == 0);
	struct timespec d = {3, 0};
	nanosleep(&d, NULL);
	atomic_store(&st_stop, true);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	fprintf(stderr, "stress: %lu ok, %lu refused after logout, %lu login cycles\n",
		atomic_load(&st_ok), atomic_load(&st_refused), atomic_load(&st_cycles));
	CU_ASSERT_EQUAL(atomic_load(&st_bad), 0);
	CU_ASSERT(atomic_load(&st_ok) > 0);
	CU_ASSERT(atomic_load(&st_cycles) > 0);
	/* Ending logged out leaves nothing open. */
	p11->C_Logout(s);
	sk_object *o = find_object(st_priv);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT(!holds_secrets(o));
	object_unref(o);
	CK_OK(p11->C_CloseSession(s));
}

void register_tests(void)
{
	C_GetFunctionList(&p11);
	CU_pSuite lo = harness_suite("logout", logout_init, logout_clean);
	harness_test(lo, "make the token", test_make_token);
	harness_test(lo, "logout forgets opened secrets and caches", test_logout_forgets);
	harness_test(lo, "operations started before a logout finish", test_started_ops_survive);
	harness_test(lo, "crypto threads against login/logout", test_stress);
	harness_test(lo, "C_Finalize", p11t_fini);
}
