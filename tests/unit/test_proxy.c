/* Proxy slots (pkcs11/proxy/) through the function table: SoftHSMv2 behind
 * the module (EC and RSA keys made and used, what SoftHSM lacks completed
 * here), a second instance of sealkit-pkcs11.so with the TASS profile
 * standing in for an SM2 HSM (canonical numbers in, signatures OpenSSL
 * verifies out), and a device that disappears (fakep11.c). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "harness.h"
#include "p11test.h"
#include "sm2help.h"

#define SOFTHSM "/usr/lib/softhsm/libsofthsm2.so"
#define SM2_ID "1234567812345678"

static const CK_BYTE sm2_oid[] = {0x06, 0x08, 0x2A, 0x81, 0x1C, 0xCF, 0x55, 0x01, 0x82, 0x2D};
static const char msg[] = "sealkit proxy test message";

static char tmp[256];        /* SoftHSM's and the inner instance's files */
static char hsm_copy[300];   /* a copy of sealkit-pkcs11.so: another instance */
static char inner_dir[300];  /* its token directory */
static char inner_args[700]; /* its C_Initialize settings */
static bool have_softhsm;

static void run(const char *cmd)
{
	if (system(cmd) != 0) {
		printf("Bail out! %s failed\n", cmd);
		exit(99);
	}
}

static int suite_setup(void)
{
	char cmd[1200];
	const char *module = getenv("SEALKIT_MODULE");
	snprintf(tmp, sizeof tmp, "%s/sealkit-proxy-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!module || !mkdtemp(tmp))
		return 1;
	/* SoftHSM with one token, made with its own tool. */
	have_softhsm = access(SOFTHSM, R_OK) == 0 && system("command -v softhsm2-util >/dev/null") == 0;
	if (have_softhsm) {
		snprintf(cmd, sizeof cmd,
			 "mkdir %s/softhsm && printf 'directories.tokendir = %s/softhsm\\n"
			 "objectstore.backend = file\\nlog.level = ERROR\\n' > %s/softhsm2.conf",
			 tmp, tmp, tmp);
		run(cmd);
		snprintf(cmd, sizeof cmd, "%s/softhsm2.conf", tmp);
		setenv("SOFTHSM2_CONF", cmd, 1);
		run("softhsm2-util --init-token --free --label proxied --so-pin " SO_PIN
		    " --pin " USER_PIN " >/dev/null");
	}
	/* dlopen gives a second instance only for a second file. */
	snprintf(hsm_copy, sizeof hsm_copy, "%s/hsm-pkcs11.so", tmp);
	snprintf(cmd, sizeof cmd, "cp '%s' '%s'", module, hsm_copy);
	run(cmd);
	snprintf(inner_dir, sizeof inner_dir, "%s/hsm-tokens", tmp);
	/* Its own tokens, the TASS numbers, and none of the outer proxies. */
	snprintf(inner_args, sizeof inner_args,
		 "token_dir = %s; profile = tass; proxy =; pin_iterations = 1000", inner_dir);
	return 0;
}

static int suite_cleanup(void)
{
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
	return system(cmd) != 0;
}

/* ---- helpers ------------------------------------------------------------------ */

static void start(const char *conf)
{
	p11t_fresh_dir(10);
	p11t_conf_append(conf);
	p11t_init();
}

/* Our slot holding the token labelled `label`, or (CK_SLOT_ID)-1. */
static CK_SLOT_ID slot_labelled(const char *label)
{
	CK_SLOT_ID ids[16];
	CK_ULONG n = 16;
	char want[32];
	memset(want, ' ', sizeof want);
	memcpy(want, label, strlen(label));
	CK_OK(p11->C_GetSlotList(CK_TRUE, ids, &n));
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;
		if (p11->C_GetTokenInfo(ids[i], &ti) == CKR_OK && !memcmp(ti.label, want, 32))
			return ids[i];
	}
	return (CK_SLOT_ID)-1;
}

static bool in_list(CK_SLOT_ID id, CK_BBOOL present)
{
	CK_SLOT_ID ids[16];
	CK_ULONG n = 16;
	CK_OK(p11->C_GetSlotList(present, ids, &n));
	for (CK_ULONG i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

static bool mech_listed(CK_SLOT_ID slot, CK_MECHANISM_TYPE m)
{
	CK_MECHANISM_TYPE list[300];
	CK_ULONG n = 300;
	CK_OK(p11->C_GetMechanismList(slot, list, &n));
	for (CK_ULONG i = 0; i < n; i++)
		if (list[i] == m)
			return true;
	return false;
}

static EVP_PKEY *public_key(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE pub, const char *group)
{
	unsigned char pt[80];
	CK_ATTRIBUTE a = {CKA_EC_POINT, pt, sizeof pt};
	CK_OK(p11->C_GetAttributeValue(s, pub, &a, 1));
	EVP_PKEY *pkey = test_pkey_from_point(pt, a.ulValueLen, group);
	CU_ASSERT_FATAL(pkey != NULL);
	return pkey;
}

/* OpenSSL's verdict on a raw r||s signature of `data`: SM2 with the ID
 * (e = SM3(Z||M)), or ECDSA with SHA-256. */
static bool openssl_verifies(EVP_PKEY *pkey, const char *sm2_id, const void *data, size_t len,
			     const unsigned char *raw)
{
	unsigned char der[80];
	size_t der_len = sm2_sig_der(raw, der);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int ok;
	if (sm2_id) {
		pctx = EVP_PKEY_CTX_new(pkey, NULL);
		EVP_PKEY_CTX_set1_id(pctx, sm2_id, strlen(sm2_id));
		EVP_MD_CTX_set_pkey_ctx(md, pctx);
		ok = EVP_DigestVerifyInit(md, NULL, EVP_sm3(), NULL, pkey) > 0;
	} else {
		ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey) > 0;
	}
	ok = ok && EVP_DigestVerify(md, der, der_len, data, len) == 1;
	EVP_MD_CTX_free(md);
	EVP_PKEY_CTX_free(pctx);
	return ok;
}

static CK_ULONG sign(CK_SESSION_HANDLE s, CK_MECHANISM *m, CK_OBJECT_HANDLE key, const void *data,
		     CK_ULONG len, unsigned char *sig, CK_ULONG size)
{
	CK_ULONG n = size;
	CK_OK(p11->C_SignInit(s, m, key));
	CK_OK(p11->C_Sign(s, (CK_BYTE_PTR)data, len, sig, &n));
	return n;
}

/* The same in three parts. */
static CK_ULONG sign_parts(CK_SESSION_HANDLE s, CK_MECHANISM *m, CK_OBJECT_HANDLE key,
			   const void *data, CK_ULONG len, unsigned char *sig, CK_ULONG size)
{
	const CK_BYTE *d = data;
	CK_ULONG n = size;
	CK_OK(p11->C_SignInit(s, m, key));
	CK_OK(p11->C_SignUpdate(s, (CK_BYTE_PTR)d, 3));
	CK_OK(p11->C_SignUpdate(s, (CK_BYTE_PTR)d + 3, 5));
	CK_OK(p11->C_SignUpdate(s, (CK_BYTE_PTR)d + 8, len - 8));
	CK_OK(p11->C_SignFinal(s, sig, &n));
	return n;
}

static CK_RV verify(CK_SESSION_HANDLE s, CK_MECHANISM *m, CK_OBJECT_HANDLE key, const void *data,
		    CK_ULONG len, unsigned char *sig, CK_ULONG sig_len)
{
	CK_OK(p11->C_VerifyInit(s, m, key));
	return p11->C_Verify(s, (CK_BYTE_PTR)data, len, sig, sig_len);
}

/* ---- SoftHSMv2 behind the proxy ----------------------------------------------- */

static const char *softhsm_conf(void)
{
	return "proxy = " SOFTHSM "\n";
}

static void test_softhsm_slot(void)
{
	if (!have_softhsm)
		return;
	start(softhsm_conf());
	CK_SLOT_ID id = slot_labelled("proxied");
	CU_ASSERT_FATAL(id != (CK_SLOT_ID)-1);
	CU_ASSERT(id >= 0x40000000UL && id <= 0x7FFFFFFFUL);
	CK_SLOT_INFO si;
	CK_OK(p11->C_GetSlotInfo(id, &si));
	CU_ASSERT(si.flags & CKF_TOKEN_PRESENT);
	/* The soft tokens' free slot is still there, first. */
	CK_SLOT_ID first;
	CK_ULONG n = 1;
	CK_ASSERT_RV(p11->C_GetSlotList(CK_FALSE, &first, &n), CKR_BUFFER_TOO_SMALL);
	CU_ASSERT(n >= 2);
	CU_ASSERT(first < 0x40000000UL);
	CU_ASSERT(p11t_free_slot() < 0x40000000UL);
	p11t_fini();

	/* The same ID after a restart, and through the environment. */
	start(softhsm_conf());
	CU_ASSERT_EQUAL(slot_labelled("proxied"), id);
	p11t_fini();
	setenv("SEALKIT_PROXY_MODULE", SOFTHSM, 1);
	start("");
	CU_ASSERT_EQUAL(slot_labelled("proxied"), id);
	p11t_fini();
	setenv("SEALKIT_PROXY_MODULE", SOFTHSM ":canonical", 1);
	start("");
	CU_ASSERT_EQUAL(slot_labelled("proxied"), id);
	p11t_fini();
	unsetenv("SEALKIT_PROXY_MODULE");
	start("");
	CU_ASSERT_EQUAL(slot_labelled("proxied"), (CK_SLOT_ID)-1);
	p11t_fini();
}

static void test_softhsm_ec(void)
{
	unsigned char sig[200], sig2[200];
	CK_OBJECT_HANDLE pub, priv;
	if (!have_softhsm)
		return;
	start(softhsm_conf());
	CK_SLOT_ID id = slot_labelled("proxied");
	/* SoftHSM 2.6 has CKM_ECDSA only: the hashed variants are ours. */
	CU_ASSERT(mech_listed(id, CKM_ECDSA));
	CU_ASSERT(mech_listed(id, CKM_ECDSA_SHA256));
	CK_SESSION_HANDLE s = p11t_user_session(id);
	CU_ASSERT((s & (1UL << 62)) != 0);
	CK_SESSION_INFO info;
	CK_OK(p11->C_GetSessionInfo(s, &info));
	CU_ASSERT_EQUAL(info.slotID, id);
	CU_ASSERT_EQUAL(info.state, CKS_RW_USER_FUNCTIONS);
	p11t_ec_pair(s, false, "ec", &pub, &priv);
	EVP_PKEY *pkey = public_key(s, pub, "prime256v1");

	CK_MECHANISM m = {CKM_ECDSA_SHA256, NULL, 0};
	CK_ULONG n = sign(s, &m, priv, msg, strlen(msg), sig, sizeof sig);
	CU_ASSERT_EQUAL(n, 64);
	CU_ASSERT(openssl_verifies(pkey, NULL, msg, strlen(msg), sig));
	CK_OK(verify(s, &m, pub, msg, strlen(msg), sig, n));
	sig[5] ^= 1;
	CK_ASSERT_RV(verify(s, &m, pub, msg, strlen(msg), sig, n), CKR_SIGNATURE_INVALID);
	n = sign_parts(s, &m, priv, msg, strlen(msg), sig2, sizeof sig2);
	CU_ASSERT(n == 64 && openssl_verifies(pkey, NULL, msg, strlen(msg), sig2));
	/* A length query keeps the operation; a short buffer too. */
	CK_OK(p11->C_SignInit(s, &m, priv));
	n = 0;
	CK_OK(p11->C_Sign(s, (CK_BYTE_PTR)msg, strlen(msg), NULL, &n));
	CU_ASSERT_EQUAL(n, 64);
	n = 10;
	CK_ASSERT_RV(p11->C_Sign(s, (CK_BYTE_PTR)msg, strlen(msg), sig, &n), CKR_BUFFER_TOO_SMALL);
	n = sizeof sig;
	CK_OK(p11->C_Sign(s, (CK_BYTE_PTR)msg, strlen(msg), sig, &n));
	CU_ASSERT(openssl_verifies(pkey, NULL, msg, strlen(msg), sig));
	CK_ASSERT_RV(p11->C_Sign(s, (CK_BYTE_PTR)msg, 1, sig, &n), CKR_OPERATION_NOT_INITIALIZED);
	/* The device's own mechanism, straight through. */
	unsigned char h[32];
	EVP_Digest(msg, strlen(msg), h, NULL, EVP_sha256(), NULL);
	m.mechanism = CKM_ECDSA;
	n = sign(s, &m, priv, h, 32, sig, sizeof sig);
	CU_ASSERT(n == 64 && openssl_verifies(pkey, NULL, msg, strlen(msg), sig));
	/* Device errors are passed on as they are. */
	m.mechanism = CKM_SM2_SM3;
	CK_ASSERT_RV(p11->C_SignInit(s, &m, priv), CKR_MECHANISM_INVALID);
	CK_ASSERT_RV(p11->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR) "0000", 4),
		     CKR_USER_ALREADY_LOGGED_IN);
	EVP_PKEY_free(pkey);
	p11t_fini();
}

static void test_softhsm_rsa(void)
{
	static CK_ULONG bits = 2048;
	static CK_BYTE e[] = {1, 0, 1};
	CK_BBOOL f = CK_FALSE, t = CK_TRUE;
	CK_ATTRIBUTE pubt[] = {{CKA_MODULUS_BITS, &bits, sizeof bits},
			       {CKA_PUBLIC_EXPONENT, e, sizeof e},
			       {CKA_TOKEN, &f, sizeof f},
			       {CKA_VERIFY, &t, sizeof t}};
	CK_ATTRIBUTE privt[] = {{CKA_TOKEN, &f, sizeof f}, {CKA_SIGN, &t, sizeof t}};
	CK_MECHANISM gen = {CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0};
	CK_OBJECT_HANDLE pub, priv;
	unsigned char one[512], parts[512];
	if (!have_softhsm)
		return;
	start(softhsm_conf());
	CK_SESSION_HANDLE s = p11t_user_session(slot_labelled("proxied"));
	CK_OK(p11->C_GenerateKeyPair(s, &gen, pubt, 4, privt, 2, &pub, &priv));
	CK_KEY_TYPE kt = 0;
	CK_ATTRIBUTE a = {CKA_KEY_TYPE, &kt, sizeof kt};
	CK_OK(p11->C_GetAttributeValue(s, priv, &a, 1));
	CU_ASSERT_EQUAL(kt, CKK_RSA);
	/* SoftHSM's SHA256-RSA-PKCS, in one and in several parts. */
	CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
	CK_ULONG n1 = sign(s, &m, priv, msg, strlen(msg), one, sizeof one);
	CK_ULONG n2 = sign_parts(s, &m, priv, msg, strlen(msg), parts, sizeof parts);
	CU_ASSERT(n1 == 256 && n1 == n2 && !memcmp(one, parts, n1));
	CK_OK(verify(s, &m, pub, msg, strlen(msg), one, n1));
	/* CKM_RSA_PKCS is single-part at SoftHSM: our multi-part over it
	 * gives the same (deterministic) signature. */
	m.mechanism = CKM_RSA_PKCS;
	n1 = sign(s, &m, priv, msg, strlen(msg), one, sizeof one);
	n2 = sign_parts(s, &m, priv, msg, strlen(msg), parts, sizeof parts);
	CU_ASSERT(n1 == 256 && n1 == n2 && !memcmp(one, parts, n1));
	/* SHA-224 RSA PKCS#1 by SoftHSM and by us over CKM_RSA_PKCS agree. */
	CK_MECHANISM_INFO mi;
	CK_OK(p11->C_GetMechanismInfo(slot_labelled("proxied"), CKM_SHA224_RSA_PKCS, &mi));
	CU_ASSERT(mi.flags & CKF_SIGN);
	p11t_fini();
}

static void test_softhsm_digest(void)
{
	unsigned char d[64], want[64];
	CK_ULONG n = sizeof d;
	unsigned int wn;
	if (!have_softhsm)
		return;
	start(softhsm_conf());
	CK_SLOT_ID id = slot_labelled("proxied");
	CU_ASSERT(mech_listed(id, CKM_SM3)); /* SoftHSM has none: ours */
	CK_SESSION_HANDLE s;
	CK_OK(p11->C_OpenSession(id, CKF_SERIAL_SESSION, NULL, NULL, &s));
	CK_MECHANISM m = {CKM_SM3, NULL, 0};
	CK_OK(p11->C_DigestInit(s, &m));
	CK_OK(p11->C_DigestUpdate(s, (CK_BYTE_PTR)msg, 4));
	CK_OK(p11->C_DigestUpdate(s, (CK_BYTE_PTR)msg + 4, strlen(msg) - 4));
	CK_OK(p11->C_DigestFinal(s, d, &n));
	EVP_Digest(msg, strlen(msg), want, &wn, EVP_sm3(), NULL);
	CU_ASSERT(n == 32 && !memcmp(d, want, 32));
	m.mechanism = CKM_SHA256; /* SoftHSM's */
	n = sizeof d;
	CK_OK(p11->C_DigestInit(s, &m));
	CK_OK(p11->C_Digest(s, (CK_BYTE_PTR)msg, strlen(msg), d, &n));
	EVP_Digest(msg, strlen(msg), want, &wn, EVP_sha256(), NULL);
	CU_ASSERT(n == 32 && !memcmp(d, want, 32));
	CK_OK(p11->C_CloseSession(s));
	CK_ASSERT_RV(p11->C_CloseSession(s), CKR_SESSION_HANDLE_INVALID);
	p11t_fini();
}

/* Sessions of one proxied slot used from several threads at once. */
typedef struct {
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE priv, pub;
	int ok;
} worker;

static void *sign_loop(void *arg)
{
	worker *w = arg;
	CK_MECHANISM m = {CKM_ECDSA_SHA256, NULL, 0};
	unsigned char sig[80];
	for (int i = 0; i < 50; i++) {
		CK_ULONG n = sizeof sig;
		if (p11->C_SignInit(w->s, &m, w->priv) == CKR_OK &&
		    p11->C_Sign(w->s, (CK_BYTE_PTR)msg, strlen(msg), sig, &n) == CKR_OK &&
		    p11->C_VerifyInit(w->s, &m, w->pub) == CKR_OK &&
		    p11->C_Verify(w->s, (CK_BYTE_PTR)msg, strlen(msg), sig, n) == CKR_OK)
			w->ok++;
	}
	return NULL;
}

static void test_softhsm_threads(void)
{
	worker w[3];
	pthread_t th[3];
	if (!have_softhsm)
		return;
	start(softhsm_conf());
	CK_SLOT_ID id = slot_labelled("proxied");
	for (int i = 0; i < 3; i++) {
		memset(&w[i], 0, sizeof w[i]);
		w[i].s = p11t_user_session(id);
	}
	p11t_ec_pair(w[0].s, false, "threads", &w[0].pub, &w[0].priv);
	for (int i = 0; i < 3; i++) {
		w[i].pub = w[0].pub;
		w[i].priv = w[0].priv;
		CU_ASSERT_FATAL(pthread_create(&th[i], NULL, sign_loop, &w[i]) == 0);
	}
	for (int i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		CU_ASSERT_EQUAL(w[i].ok, 50);
	}
	p11t_fini();
}

/* The proxied slot with an uninitialised token, or (CK_SLOT_ID)-1. */
static CK_SLOT_ID proxied_free_slot(void)
{
	CK_SLOT_ID ids[16];
	CK_ULONG n = 16;
	CK_OK(p11->C_GetSlotList(CK_TRUE, ids, &n));
	for (CK_ULONG i = 0; i < n; i++)
		if (ids[i] >= 0x40000000UL && !(p11t_token_flags(ids[i]) & CKF_TOKEN_INITIALIZED))
			return ids[i];
	return (CK_SLOT_ID)-1;
}

/* SoftHSM's free slot shown behind sealkit, initialised through it (its
 * serial appears then: the slot ID stays for the session), then used. */
static void test_softhsm_init_token(void)
{
	unsigned char sig[80];
	CK_UTF8CHAR label[32];
	CK_TOKEN_INFO ti;
	CK_OBJECT_HANDLE pub, priv;
	if (!have_softhsm)
		return;
	start(softhsm_conf());
	CK_SLOT_ID id = proxied_free_slot();
	CU_ASSERT_FATAL(id != (CK_SLOT_ID)-1);
	CU_ASSERT(in_list(id, CK_TRUE));
	CK_OK(p11->C_GetTokenInfo(id, &ti));
	CU_ASSERT(!(ti.flags & CKF_USER_PIN_INITIALIZED));
	memset(label, ' ', sizeof label);
	memcpy(label, "fresh", 5);
	CK_OK(p11->C_InitToken(id, (CK_UTF8CHAR_PTR)SO_PIN, strlen(SO_PIN), label));
	CU_ASSERT_EQUAL(slot_labelled("fresh"), id);
	CK_OK(p11->C_GetTokenInfo(id, &ti));
	CU_ASSERT(ti.flags & CKF_TOKEN_INITIALIZED);
	CK_SESSION_HANDLE s;
	CK_OK(p11->C_OpenSession(id, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s));
	CK_OK(p11->C_Login(s, CKU_SO, (CK_UTF8CHAR_PTR)SO_PIN, strlen(SO_PIN)));
	CK_OK(p11->C_InitPIN(s, (CK_UTF8CHAR_PTR)USER_PIN, strlen(USER_PIN)));
	CK_OK(p11->C_Logout(s));
	CK_OK(p11->C_CloseSession(s));
	CU_ASSERT(p11t_token_flags(id) & CKF_USER_PIN_INITIALIZED);
	/* Still the same slot after more scans, and keys work. */
	CU_ASSERT(in_list(id, CK_TRUE));
	CU_ASSERT_EQUAL(slot_labelled("fresh"), id);
	s = p11t_user_session(id);
	p11t_ec_pair(s, true, "fresh-key", &pub, &priv);
	EVP_PKEY *pkey = public_key(s, pub, "prime256v1");
	CK_MECHANISM m = {CKM_ECDSA_SHA256, NULL, 0};
	CK_ULONG n = sign(s, &m, priv, msg, strlen(msg), sig, sizeof sig);
	CU_ASSERT(n == 64 && openssl_verifies(pkey, NULL, msg, strlen(msg), sig));
	CK_OK(verify(s, &m, pub, msg, strlen(msg), sig, n));
	EVP_PKEY_free(pkey);
	p11t_fini();

	/* After a restart the token is found by its serial (an ID of its own
	 * from then on), with its key; SoftHSM offers a new free slot. */
	start(softhsm_conf());
	CK_SLOT_ID again = slot_labelled("fresh");
	CU_ASSERT_FATAL(again != (CK_SLOT_ID)-1);
	CU_ASSERT(proxied_free_slot() != (CK_SLOT_ID)-1);
	s = p11t_user_session(again);
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE find[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_LABEL, "fresh-key", 9}};
	CK_OBJECT_HANDLE h[2];
	CK_ULONG got = 0;
	CK_OK(p11->C_FindObjectsInit(s, find, 2));
	CK_OK(p11->C_FindObjects(s, h, 2, &got));
	CK_OK(p11->C_FindObjectsFinal(s));
	CU_ASSERT_EQUAL(got, 1);
	p11t_fini();
	start(softhsm_conf());
	CU_ASSERT_EQUAL(slot_labelled("fresh"), again);
	p11t_fini();
}

/* ---- another sealkit with the TASS numbers: an SM2 HSM ------------------------------ */

/* The inner instance's token, made through its own function list. */
static void make_inner_token(void)
{
	CK_C_GetFunctionList get;
	CK_FUNCTION_LIST *fl;
	CK_C_INITIALIZE_ARGS a = {.flags = CKF_OS_LOCKING_OK, .pReserved = inner_args};
	CK_UTF8CHAR label[32];
	CK_SESSION_HANDLE s;
	void *dl = dlopen(hsm_copy, RTLD_NOW | RTLD_LOCAL);
	CU_ASSERT_FATAL(dl != NULL);
	get = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList");
	CU_ASSERT_FATAL(get && get(&fl) == CKR_OK);
	mkdir(inner_dir, 0700);
	CK_OK(fl->C_Initialize(&a));
	memset(label, ' ', sizeof label);
	memcpy(label, "hsm", 3);
	if (fl->C_InitToken(0, (CK_UTF8CHAR_PTR)SO_PIN, strlen(SO_PIN), label) == CKR_OK) {
		CK_OK(fl->C_OpenSession(0, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s));
		CK_OK(fl->C_Login(s, CKU_SO, (CK_UTF8CHAR_PTR)SO_PIN, strlen(SO_PIN)));
		CK_OK(fl->C_InitPIN(s, (CK_UTF8CHAR_PTR)USER_PIN, strlen(USER_PIN)));
		CK_OK(fl->C_CloseSession(s));
	}
	CK_OK(fl->C_Finalize(NULL));
	dlclose(dl);
}

static void start_hsm(const char *extra)
{
	char conf[1200];
	make_inner_token();
	snprintf(conf, sizeof conf, "proxy = %s:tass\nproxy.init_args = %s\n%s", hsm_copy,
		 inner_args, extra);
	start(conf);
}

static void sm2_pair(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv)
{
	CK_MECHANISM m = {0x80008001UL, NULL, 0};
	CK_BBOOL f = CK_FALSE;
	CK_ATTRIBUTE pubt[] = {{CKA_EC_PARAMS, (void *)sm2_oid, sizeof sm2_oid},
			       {CKA_TOKEN, &f, sizeof f}};
	CK_ATTRIBUTE privt[] = {{CKA_TOKEN, &f, sizeof f}};
	CK_OK(p11->C_GenerateKeyPair(s, &m, pubt, 2, privt, 1, pub, priv));
}

/* Signs with the canonical 0x80008100 (Z, raw r||s), one part and three,
 * with the default ID and with one in pParameter; OpenSSL checks each. */
static void check_sm2_sign(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE pub, CK_OBJECT_HANDLE priv)
{
	unsigned char sig[100];
	EVP_PKEY *pkey = public_key(s, pub, "SM2");
	CK_MECHANISM m = {0x80008100UL, NULL, 0};
	CK_ULONG n = sign(s, &m, priv, msg, strlen(msg), sig, sizeof sig);
	CU_ASSERT_EQUAL(n, 64);
	CU_ASSERT(openssl_verifies(pkey, SM2_ID, msg, strlen(msg), sig));
	CK_OK(verify(s, &m, pub, msg, strlen(msg), sig, n));
	sig[0] ^= 0x40;
	CK_ASSERT_RV(verify(s, &m, pub, msg, strlen(msg), sig, n), CKR_SIGNATURE_INVALID);
	n = sign_parts(s, &m, priv, msg, strlen(msg), sig, sizeof sig);
	CU_ASSERT(n == 64 && openssl_verifies(pkey, SM2_ID, msg, strlen(msg), sig));
	CK_MECHANISM alice = {0x80008100UL, (void *)"ALICE123", 8};
	n = sign(s, &alice, priv, msg, strlen(msg), sig, sizeof sig);
	CU_ASSERT(n == 64 && openssl_verifies(pkey, "ALICE123", msg, strlen(msg), sig));
	CU_ASSERT(!openssl_verifies(pkey, SM2_ID, msg, strlen(msg), sig));
	/* The canonical digest-in code: e computed by the caller. */
	unsigned char e[32], z_msg[300];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	(void)z_msg;
	CK_MECHANISM raw = {0x80008104UL, NULL, 0};
	EVP_DigestInit(md, EVP_sm3());
	EVP_DigestUpdate(md, msg, strlen(msg));
	EVP_DigestFinal(md, e, NULL);
	EVP_MD_CTX_free(md);
	n = sign(s, &raw, priv, e, 32, sig, sizeof sig);
	CU_ASSERT_EQUAL(n, 64);
	{
		/* Checked as a plain SM2 signature of e. */
		unsigned char der[80];
		size_t dl = sm2_sig_der(sig, der);
		EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new(pkey, NULL);
		CU_ASSERT(EVP_PKEY_verify_init(pctx) > 0 &&
			  EVP_PKEY_verify(pctx, der, dl, e, 32) == 1);
		EVP_PKEY_CTX_free(pctx);
	}
	EVP_PKEY_free(pkey);
}

static void test_hsm_sm2(void)
{
	CK_OBJECT_HANDLE pub, priv;
	start_hsm("");
	CK_SLOT_ID id = slot_labelled("hsm");
	CU_ASSERT_FATAL(id != (CK_SLOT_ID)-1);
	/* Canonical numbers, though the device speaks TASS's. */
	CU_ASSERT(mech_listed(id, 0x80008100UL));
	CU_ASSERT(mech_listed(id, 0x80008001UL));
	CU_ASSERT(mech_listed(id, 0x80009001UL)); /* SM3: TASS's 0x80000005 */
	CU_ASSERT(!mech_listed(id, 0x80000005UL));
	CK_SESSION_HANDLE s = p11t_user_session(id);
	sm2_pair(s, &pub, &priv);
	CK_KEY_TYPE kt = 0;
	CK_ATTRIBUTE a = {CKA_KEY_TYPE, &kt, sizeof kt};
	CK_OK(p11->C_GetAttributeValue(s, priv, &a, 1));
	CU_ASSERT_EQUAL(kt, 0x80000004UL);
	check_sm2_sign(s, pub, priv);
	p11t_fini();
}

/* Devices without the raw form: one signing messages in DER only (TASS's
 * 0x80008100), one signing digests only (Z, e and the raw form made
 * here). The other SM2 codes of the stand-in are ignored. */
static void test_hsm_der_and_digest_only(void)
{
	static const char *const ignore[] = {
		"proxy.ignore_mechanisms = 0x80000B22\n",
		"proxy.ignore_mechanisms = 0x80000B22, 0x80008100, 0x80008104\n",
	};
	for (size_t i = 0; i < 2; i++) {
		CK_OBJECT_HANDLE pub, priv;
		start_hsm(ignore[i]);
		CK_SLOT_ID id = slot_labelled("hsm");
		CU_ASSERT_FATAL(id != (CK_SLOT_ID)-1);
		CU_ASSERT(mech_listed(id, 0x80008100UL));
		CU_ASSERT(mech_listed(id, 0x80008104UL));
		CK_SESSION_HANDLE s = p11t_user_session(id);
		sm2_pair(s, &pub, &priv);
		check_sm2_sign(s, pub, priv);
		p11t_fini();
	}
}

/* Key types and mechanism lists in templates, both ways. */
static void test_hsm_templates(void)
{
	CK_MECHANISM gen = {CKM_SM4_KEY_GEN, NULL, 0};
	CK_KEY_TYPE kt = CKK_SM4; /* 0x80000106; TASS: 0x80000002 */
	CK_MECHANISM_TYPE allowed[] = {CKM_SM4_ECB, CKM_SM4_MAC}; /* MAC: TASS 0x8000010A */
	CK_BBOOL t = CK_TRUE;
	CK_ULONG len = 16;
	CK_ATTRIBUTE tmpl[] = {{CKA_KEY_TYPE, &kt, sizeof kt},
			       {CKA_ALLOWED_MECHANISMS, allowed, sizeof allowed},
			       {CKA_TOKEN, &t, sizeof t},
			       {CKA_VALUE_LEN, &len, sizeof len},
			       {CKA_LABEL, "sm4", 3}};
	CK_OBJECT_HANDLE key;
	start_hsm("");
	CK_SLOT_ID id = slot_labelled("hsm");
	CK_SESSION_HANDLE s = p11t_user_session(id);
	CK_OK(p11->C_GenerateKey(s, &gen, tmpl, 5, &key));
	CK_KEY_TYPE got = 0;
	CK_MECHANISM_TYPE got_allowed[4] = {0};
	CK_ATTRIBUTE a[] = {{CKA_KEY_TYPE, &got, sizeof got},
			    {CKA_ALLOWED_MECHANISMS, got_allowed, sizeof got_allowed}};
	CK_OK(p11->C_GetAttributeValue(s, key, a, 2));
	CU_ASSERT_EQUAL(got, CKK_SM4);
	CU_ASSERT_EQUAL(a[1].ulValueLen, sizeof allowed);
	CU_ASSERT(got_allowed[0] == CKM_SM4_ECB && got_allowed[1] == CKM_SM4_MAC);
	/* Found by the canonical key type. */
	CK_ATTRIBUTE find = {CKA_KEY_TYPE, &kt, sizeof kt};
	CK_OBJECT_HANDLE h[2];
	CK_ULONG n = 0;
	CK_OK(p11->C_FindObjectsInit(s, &find, 1));
	CK_OK(p11->C_FindObjects(s, h, 2, &n));
	CK_OK(p11->C_FindObjectsFinal(s));
	CU_ASSERT(n == 1 && h[0] == key);
	/* The device itself holds the TASS numbers. */
	CK_C_GetFunctionList get;
	CK_FUNCTION_LIST *fl;
	CK_SESSION_HANDLE ds;
	void *dl = dlopen(hsm_copy, RTLD_NOW | RTLD_NOLOAD);
	CU_ASSERT_FATAL(dl != NULL);
	get = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList");
	CU_ASSERT_FATAL(get && get(&fl) == CKR_OK);
	CK_OK(fl->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &ds));
	a[1].ulValueLen = sizeof got_allowed;
	CK_OK(fl->C_GetAttributeValue(ds, key, a, 2));
	CU_ASSERT_EQUAL(got, 0x80000002UL);
	CU_ASSERT(got_allowed[0] == 0x80000108UL && got_allowed[1] == 0x8000010AUL);
	CK_OK(fl->C_CloseSession(ds));
	dlclose(dl);
	CK_OK(p11->C_DestroyObject(s, key));
	p11t_fini();
}

/* ---- SM2 ciphertext layouts between the application and the device ------------- */

static size_t der_len(unsigned char *p, size_t n)
{
	if (n < 0x80) {
		p[0] = (unsigned char)n;
		return 1;
	}
	p[0] = 0x81;
	p[1] = (unsigned char)n;
	return 2;
}

static size_t der_int(unsigned char *p, const unsigned char *v)
{
	size_t len = 32, h = 0;
	while (len > 1 && !*v)
		v++, len--;
	p[h++] = 0x02;
	h += der_len(p + h, len + (*v & 0x80 ? 1 : 0));
	if (*v & 0x80)
		p[h++] = 0;
	memcpy(p + h, v, len);
	return h + len;
}

/* C1||C3||C2 (short messages) -> OpenSSL's SEQUENCE{x, y, C3, C2}. */
static size_t ct_to_der(const unsigned char *raw, size_t len, unsigned char *der)
{
	unsigned char body[300];
	size_t n = 0, c2 = len - 97, h = 0;
	n += der_int(body + n, raw + 1);
	n += der_int(body + n, raw + 33);
	body[n++] = 0x04;
	n += der_len(body + n, 32);
	memcpy(body + n, raw + 65, 32);
	n += 32;
	body[n++] = 0x04;
	n += der_len(body + n, c2);
	memcpy(body + n, raw + 97, c2);
	n += c2;
	der[h++] = 0x30;
	h += der_len(der + h, n);
	memcpy(der + h, body, n);
	return h + n;
}

/* One TLV's value (short or 0x81 lengths). */
static const unsigned char *der_get(const unsigned char **p, unsigned char tag, size_t *len)
{
	const unsigned char *q = *p;
	if (*q++ != tag)
		return NULL;
	*len = *q == 0x81 ? q[1] : *q;
	q += *q == 0x81 ? 2 : 1;
	*p = q + *len;
	return q;
}

/* SEQUENCE{x, y, C3, C2} -> C1||C3||C2; 0 when malformed. */
static size_t ct_from_der(const unsigned char *der, unsigned char *raw)
{
	const unsigned char *p = der, *v[4];
	size_t l[4], seq_len;
	static const unsigned char tags[] = {0x02, 0x02, 0x04, 0x04};
	if (!der_get(&p, 0x30, &seq_len))
		return 0;
	p = der + (der[1] == 0x81 ? 3 : 2);
	for (int i = 0; i < 4; i++)
		if (!(v[i] = der_get(&p, tags[i], &l[i])))
			return 0;
	raw[0] = 0x04;
	for (int i = 0; i < 2; i++) {
		while (l[i] > 32)
			v[i]++, l[i]--;
		memset(raw + 1 + 32 * i, 0, 32 - l[i]);
		memcpy(raw + 1 + 32 * i + 32 - l[i], v[i], l[i]);
	}
	memcpy(raw + 65, v[2], 32);
	memcpy(raw + 97, v[3], l[3]);
	return 97 + l[3];
}

/* C1||C3||C2 <-> C1||C2||C3 */
static void ct_swap(const unsigned char *in, size_t len, unsigned char *out, bool to_c1c2c3)
{
	size_t c2 = len - 97;
	memcpy(out, in, 65);
	if (to_c1c2c3) {
		memcpy(out + 65, in + 97, c2);
		memcpy(out + 65 + c2, in + 65, 32);
	} else {
		memcpy(out + 65, in + 65 + c2, 32);
		memcpy(out + 97, in + 65, c2);
	}
}

static CK_ULONG decrypt(CK_SESSION_HANDLE s, CK_MECHANISM *m, CK_OBJECT_HANDLE key,
			const unsigned char *in, CK_ULONG len, unsigned char *out, CK_ULONG size)
{
	CK_ULONG n = size;
	CK_OK(p11->C_DecryptInit(s, m, key));
	CK_OK(p11->C_Decrypt(s, (CK_BYTE_PTR)in, len, out, &n));
	return n;
}

/* The inner instance lays its ciphertexts out as C1||C2||C3 or in DER
 * under the code that means C1||C3||C2 to the application (0x80008200);
 * the proxy entry says so and the ciphertext is re-encoded both ways. */
static void test_hsm_sm2_ciphertext(void)
{
	static const char *const forms[] = {"c1c2c3", "der"};
	char saved[sizeof inner_args], extra[100];
	memcpy(saved, inner_args, sizeof saved);
	for (size_t f = 0; f < 2; f++) {
		bool der = f == 1;
		unsigned char ct[400], ct2[400], pt[200];
		size_t mlen = strlen(msg), n2;
		CK_OBJECT_HANDLE pub, priv;
		EVP_PKEY *ossl;
		snprintf(inner_args, sizeof inner_args, "%s; sm2_ciphertext = %s", saved, forms[f]);
		snprintf(extra, sizeof extra, "proxy.sm2_ciphertext = %s\n", forms[f]);
		start_hsm(extra);
		CK_SLOT_ID id = slot_labelled("hsm");
		CU_ASSERT_FATAL(id != (CK_SLOT_ID)-1);
		CU_ASSERT(mech_listed(id, 0x80008200UL));
		CK_MECHANISM_INFO mi;
		CK_OK(p11->C_GetMechanismInfo(id, 0x80008200UL, &mi));
		CU_ASSERT((mi.flags & (CKF_ENCRYPT | CKF_DECRYPT)) == (CKF_ENCRYPT | CKF_DECRYPT));
		CK_SESSION_HANDLE s = p11t_user_session(id);
		CK_OK(sm2_pair_import(p11, s, &ossl, &pub, &priv));
		CU_ASSERT_FATAL(ossl != NULL);
		CK_MECHANISM m = {0x80008200UL, NULL, 0};

		/* Encrypted through the proxy: C1||C3||C2, which OpenSSL
		 * decrypts (in its DER). A length query first. */
		CK_ULONG n = 0;
		CK_OK(p11->C_EncryptInit(s, &m, pub));
		CK_OK(p11->C_Encrypt(s, (CK_BYTE_PTR)msg, mlen, NULL, &n));
		CU_ASSERT(n >= mlen + 97);
		n = sizeof ct;
		CK_OK(p11->C_Encrypt(s, (CK_BYTE_PTR)msg, mlen, ct, &n));
		CU_ASSERT_FATAL(n == mlen + 97);
		CU_ASSERT_EQUAL(ct[0], 0x04);
		unsigned char dct[400];
		size_t dlen = ct_to_der(ct, n, dct), plen = sizeof pt;
		EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(ossl, NULL);
		CU_ASSERT(EVP_PKEY_decrypt_init(pc) > 0 &&
			  EVP_PKEY_decrypt(pc, pt, &plen, dct, dlen) > 0 && plen == mlen &&
			  !memcmp(pt, msg, mlen));
		/* Decrypted through the proxy, in one part and in two. */
		CK_ULONG pn = decrypt(s, &m, priv, ct, n, pt, sizeof pt);
		CU_ASSERT(pn == mlen && !memcmp(pt, msg, mlen));
		CK_ULONG part = sizeof pt, fin;
		CK_OK(p11->C_DecryptInit(s, &m, priv));
		CK_OK(p11->C_DecryptUpdate(s, ct, 50, pt, &part));
		CU_ASSERT_EQUAL(part, 0);
		part = sizeof pt;
		CK_OK(p11->C_DecryptUpdate(s, ct + 50, n - 50, pt, &part));
		fin = sizeof pt;
		CK_OK(p11->C_DecryptFinal(s, pt, &fin));
		CU_ASSERT(fin == mlen && !memcmp(pt, msg, mlen));
		/* OpenSSL's ciphertext, in C1||C3||C2, decrypted through the proxy. */
		size_t olen = sizeof dct;
		const unsigned char *um = (const unsigned char *)msg;
		CU_ASSERT_FATAL(EVP_PKEY_encrypt_init(pc) > 0 &&
				EVP_PKEY_encrypt(pc, dct, &olen, um, mlen) > 0);
		n2 = ct_from_der(dct, ct2);
		CU_ASSERT_FATAL(n2 == mlen + 97);
		pn = decrypt(s, &m, priv, ct2, n2, pt, sizeof pt);
		CU_ASSERT(pn == mlen && !memcmp(pt, msg, mlen));
		/* Not a ciphertext: refused, and the next operation starts. */
		CK_OK(p11->C_DecryptInit(s, &m, priv));
		pn = sizeof pt;
		CK_ASSERT_RV(p11->C_Decrypt(s, (CK_BYTE_PTR)msg, mlen, pt, &pn),
			     CKR_ENCRYPTED_DATA_INVALID);
		pn = decrypt(s, &m, priv, ct, n, pt, sizeof pt);
		CU_ASSERT(pn == mlen && !memcmp(pt, msg, mlen));

		/* The device itself wants its own layout. */
		CK_C_GetFunctionList get;
		CK_FUNCTION_LIST *fl;
		CK_SESSION_HANDLE ds;
		void *dl = dlopen(hsm_copy, RTLD_NOW | RTLD_NOLOAD);
		CU_ASSERT_FATAL(dl != NULL);
		get = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList");
		CU_ASSERT_FATAL(get && get(&fl) == CKR_OK);
		CK_OK(fl->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &ds));
		if (der)
			n2 = ct_to_der(ct, n, ct2);
		else
			ct_swap(ct, n, ct2, true), n2 = n;
		CK_ULONG dn = sizeof pt;
		CK_OK(fl->C_DecryptInit(ds, &m, priv));
		CK_OK(fl->C_Decrypt(ds, ct2, n2, pt, &dn));
		CU_ASSERT(dn == mlen && !memcmp(pt, msg, mlen));
		CK_OK(fl->C_CloseSession(ds));
		dlclose(dl);
		EVP_PKEY_CTX_free(pc);
		EVP_PKEY_free(ossl);
		p11t_fini();
	}
	memcpy(inner_args, saved, sizeof saved);
}

/* ---- a device that goes away ------------------------------------------------------ */

typedef void (*fail_fn)(CK_RV);

static fail_fn fake_control(void **dl)
{
	*dl = dlopen(FAKEP11_SO, RTLD_NOW | RTLD_NOLOAD);
	CU_ASSERT_FATAL(*dl != NULL);
	fail_fn f = (fail_fn)dlsym(*dl, "fakep11_fail");
	CU_ASSERT_FATAL(f != NULL);
	return f;
}

static void test_device_removed(void)
{
	unsigned char rnd[8];
	void *dl;
	CK_TOKEN_INFO ti;
	start("proxy = " FAKEP11_SO "\n");
	CK_SLOT_ID soft = p11t_make_token("soft");
	CK_SESSION_HANDLE ss = p11t_user_session(soft);
	CK_SLOT_ID id = slot_labelled("fake token");
	CU_ASSERT_FATAL(id != (CK_SLOT_ID)-1);
	fail_fn fail = fake_control(&dl);
	CK_SESSION_HANDLE s, s2;
	CK_OK(p11->C_OpenSession(id, CKF_SERIAL_SESSION, NULL, NULL, &s));
	CK_ASSERT_RV(p11->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR) "9999", 4), CKR_PIN_INCORRECT);
	CK_OK(p11->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR) "1234", 4));
	CK_OK(p11->C_GenerateRandom(s, rnd, sizeof rnd));
	CU_ASSERT_EQUAL(rnd[0], 0x5a);

	/* Not a removal: passed on as it is, and the session lives on. */
	fail(CKR_DEVICE_ERROR);
	CK_ASSERT_RV(p11->C_GenerateRandom(s, rnd, sizeof rnd), CKR_DEVICE_ERROR);
	fail(CKR_OK);
	/* (a re-plug: the fake forgets its sessions) */
	CK_ASSERT_RV(p11->C_GenerateRandom(s, rnd, sizeof rnd), CKR_DEVICE_REMOVED);
	CK_OK(p11->C_CloseSession(s));
	CK_OK(p11->C_OpenSession(id, CKF_SERIAL_SESSION, NULL, NULL, &s));
	CK_OK(p11->C_GenerateRandom(s, rnd, sizeof rnd));

	/* Pulled out mid-session. */
	fail(CKR_DEVICE_REMOVED);
	CK_ASSERT_RV(p11->C_GenerateRandom(s, rnd, sizeof rnd), CKR_DEVICE_REMOVED);
	CK_ASSERT_RV(p11->C_GetSessionInfo(s, &(CK_SESSION_INFO){0}), CKR_DEVICE_REMOVED);
	CK_ASSERT_RV(p11->C_GetTokenInfo(id, &ti), CKR_TOKEN_NOT_PRESENT);
	CK_ASSERT_RV(p11->C_OpenSession(id, CKF_SERIAL_SESSION, NULL, NULL, &s2),
		     CKR_TOKEN_NOT_PRESENT);
	CU_ASSERT(!in_list(id, CK_TRUE));
	CU_ASSERT(in_list(id, CK_FALSE));
	CK_SLOT_INFO si;
	CK_OK(p11->C_GetSlotInfo(id, &si));
	CU_ASSERT(!(si.flags & CKF_TOKEN_PRESENT));
	/* The soft token does not notice. */
	CK_OK(p11->C_GenerateRandom(ss, rnd, sizeof rnd));
	CK_OBJECT_HANDLE pub, priv;
	p11t_ec_pair(ss, false, "still", &pub, &priv);
	CK_OK(p11->C_GetTokenInfo(soft, &ti));

	/* Plugged in again: the same slot ID, old sessions stay dead. */
	fail(CKR_OK);
	CU_ASSERT(in_list(id, CK_TRUE));
	CK_OK(p11->C_GetTokenInfo(id, &ti));
	CK_ASSERT_RV(p11->C_GenerateRandom(s, rnd, sizeof rnd), CKR_DEVICE_REMOVED);
	CK_OK(p11->C_CloseSession(s));
	CK_OK(p11->C_OpenSession(id, CKF_SERIAL_SESSION, NULL, NULL, &s2));
	CK_OK(p11->C_GenerateRandom(s2, rnd, sizeof rnd));
	dlclose(dl);
	p11t_fini();
}

typedef struct {
	CK_SLOT_ID slot;
	CK_RV rv;
} waiter;

static void *wait_event(void *arg)
{
	waiter *w = arg;
	w->rv = p11->C_WaitForSlotEvent(0, &w->slot, NULL);
	return NULL;
}

/* C_WaitForSlotEvent: removal, insertion and initialisation of a proxied
 * token, polled (CKF_DONT_BLOCK) and waited for; soft slots have none. */
static void test_slot_events(void)
{
	CK_SLOT_ID ev = 0;
	void *dl;
	start("");
	CK_ASSERT_RV(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &ev, NULL), CKR_NO_EVENT);
	CK_ASSERT_RV(p11->C_WaitForSlotEvent(0, &ev, NULL), CKR_FUNCTION_NOT_SUPPORTED);
	CK_ASSERT_RV(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, NULL, NULL), CKR_ARGUMENTS_BAD);
	p11t_fini();

	start("proxy = " FAKEP11_SO "\n");
	CK_SLOT_ID id = slot_labelled("fake token");
	CU_ASSERT_FATAL(id != (CK_SLOT_ID)-1);
	fail_fn fail = fake_control(&dl);
	void (*blank)(bool) = (void (*)(bool))dlsym(dl, "fakep11_blank");
	CU_ASSERT_FATAL(blank != NULL);
	/* What was there at the start is no event. */
	CK_ASSERT_RV(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &ev, NULL), CKR_NO_EVENT);
	fail(CKR_DEVICE_REMOVED);
	CK_OK(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &ev, NULL));
	CU_ASSERT_EQUAL(ev, id);
	CK_ASSERT_RV(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &ev, NULL), CKR_NO_EVENT);
	CU_ASSERT(!in_list(id, CK_TRUE));
	/* Back, blank: one event, the same slot ID (the serial is kept). */
	blank(true);
	fail(CKR_OK);
	ev = 0;
	CK_OK(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &ev, NULL));
	CU_ASSERT_EQUAL(ev, id);
	CK_ASSERT_RV(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &ev, NULL), CKR_NO_EVENT);
	CU_ASSERT(in_list(id, CK_TRUE));
	CU_ASSERT(!(p11t_token_flags(id) & CKF_TOKEN_INITIALIZED));
	CK_UTF8CHAR label[32];
	memset(label, ' ', sizeof label);
	CK_ASSERT_RV(p11->C_InitToken(id, (CK_UTF8CHAR_PTR) "0000", 4, label), CKR_PIN_INCORRECT);
	CK_OK(p11->C_InitToken(id, (CK_UTF8CHAR_PTR) "1234", 4, label));
	CK_OK(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &ev, NULL));
	CU_ASSERT_EQUAL(ev, id);
	CU_ASSERT(p11t_token_flags(id) & CKF_TOKEN_INITIALIZED);
	CK_ASSERT_RV(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &ev, NULL), CKR_NO_EVENT);
	/* A blocking wait returns when the token goes. */
	waiter w = {0};
	pthread_t th;
	CU_ASSERT_FATAL(pthread_create(&th, NULL, wait_event, &w) == 0);
	usleep(100000);
	fail(CKR_DEVICE_REMOVED);
	pthread_join(th, NULL);
	CK_OK(w.rv);
	CU_ASSERT_EQUAL(w.slot, id);
	fail(CKR_OK);
	dlclose(dl);
	p11t_fini();
}

static void test_config(void)
{
	/* A module that is not there is left out; the soft slots work. */
	start("proxy = /nonexistent/module.so\n");
	CU_ASSERT(p11t_free_slot() < 0x40000000UL);
	p11t_fini();
	static const char *const bad[] = {
		"proxy = " FAKEP11_SO ":nosuchprofile\n",
		"proxy.init_args = x\n",
		"proxy = " FAKEP11_SO "\nproxy.ignore_mechanisms = 0x1, zz\n",
		"proxy = :tass\n",
		"proxy = " FAKEP11_SO "\nproxy.sm2_ciphertext = c2c1c3\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		p11t_fresh_dir(10);
		p11t_conf_append(bad[i]);
		CK_ASSERT_RV(p11->C_Initialize(NULL), CKR_GENERAL_ERROR);
	}
	/* An empty proxy line forgets what came before; a module proxying
	 * itself is skipped rather than called back. */
	char conf[700];
	snprintf(conf, sizeof conf, "proxy = %s\nproxy =\nproxy = %s\n", FAKEP11_SO,
		 getenv("SEALKIT_MODULE"));
	start(conf);
	CU_ASSERT_EQUAL(slot_labelled("fake token"), (CK_SLOT_ID)-1);
	p11t_fini();

	/* Two instances proxying each other (B's arguments name C, C reads
	 * the file that names B): the loop is refused, nothing hangs. */
	char b[300], c[300], cmd[1400], loop_conf[1400];
	snprintf(b, sizeof b, "%s/loop-b.so", tmp);
	snprintf(c, sizeof c, "%s/loop-c.so", tmp);
	snprintf(cmd, sizeof cmd, "cp '%s' '%s' && cp '%s' '%s'", hsm_copy, b, hsm_copy, c);
	run(cmd);
	snprintf(loop_conf, sizeof loop_conf,
		 "proxy = %s\nproxy.init_args = token_dir=%s/loop; proxy =; proxy = %s\n", b, tmp, c);
	start(loop_conf);
	CU_ASSERT(p11t_free_slot() < 0x40000000UL);
	p11t_fini();
}

void register_tests(void)
{
	C_GetFunctionList(&p11);
	CU_pSuite s = harness_suite("proxy", suite_setup, suite_cleanup);
	harness_test(s, "SoftHSM token as a slot with a stable ID", test_softhsm_slot);
	harness_test(s, "SoftHSM: EC P-256, ECDSA-SHA256 completed", test_softhsm_ec);
	harness_test(s, "SoftHSM: RSA, multi-part over single-part", test_softhsm_rsa);
	harness_test(s, "SoftHSM: SM3 digest completed", test_softhsm_digest);
	harness_test(s, "SoftHSM: three threads sign and verify", test_softhsm_threads);
	harness_test(s, "SoftHSM: free slot initialised through the proxy",
		     test_softhsm_init_token);
	harness_test(s, "TASS device: SM2 with canonical numbers", test_hsm_sm2);
	harness_test(s, "TASS device: DER only, digests only", test_hsm_der_and_digest_only);
	harness_test(s, "TASS device: key types and mechanisms in templates",
		     test_hsm_templates);
	harness_test(s, "TASS device: SM2 ciphertext layouts converted", test_hsm_sm2_ciphertext);
	harness_test(s, "a device that fails and disappears", test_device_removed);
	harness_test(s, "slot events of a device", test_slot_events);
	harness_test(s, "proxy configuration", test_config);
}
