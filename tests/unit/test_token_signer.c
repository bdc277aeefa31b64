/* Tests of libsealkit's token layer (middleware/p11.c, middleware/signer.c):
 * signers over sealkit-pkcs11.so (also set up as each vendor profile),
 * SoftHSMv2 and p11-kit-client.so talking to a `p11-kit server`. Every
 * signature is checked here with OpenSSL against a public key this test
 * reads from the token itself, with the SM2 ID 1234567812345678. */
#include "config.h"

#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <p11-kit/p11-kit.h>
#include <p11-kit/pkcs11.h>

#include "sealkit/token.h"

#define PIN          "11223344"
#define SO_PIN       "87654321"
#define TOKEN        "sk-test"
#define LOCKED       "sk-locked"
#define MAX_FAILURES 5
#define SM2_ID       "1234567812345678"

static const unsigned char sm2_oid[] = {0x06, 0x08, 0x2A, 0x81, 0x1C, 0xCF, 0x55, 0x01, 0x82, 0x2D};
static const unsigned char p256_oid[] = {0x06, 0x08, 0x2A, 0x86, 0x48,
					 0xCE, 0x3D, 0x03, 0x01, 0x07};

static char tmpdir[256];
static const char *module_path;
static char uri_base[512]; /* "pkcs11:token=sk-test" */

/* Public keys read from the tokens by this test, not by the library. */
static EVP_PKEY *pub_sm2, *pub_sm2ec, *pub_nopub, *pub_p256, *pub_sh_p256;
static unsigned char *cert_der;
static size_t cert_len;

/* ---- helpers ---------------------------------------------------------------- */

static void cleanup_tmp(void)
{
	char cmd[300];
	if (!tmpdir[0])
		return;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* The module's configuration: fast PIN derivation, few tries, extra lines. */
static void set_conf(const char *extra)
{
	char path[300], text[512];
	snprintf(path, sizeof path, "%s/sealkit.conf", tmpdir);
	snprintf(text, sizeof text, "pin_iterations = 1000\nmax_pin_failures = %d\n%s\n",
		 MAX_FAILURES, extra ? extra : "");
	write_text(path, text);
	setenv("SEALKIT_CONF", path, 1);
}

static bool file_contains(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r");
	static char buf[1 << 20];
	size_t n;
	if (!f)
		return false;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strstr(buf, needle) != NULL;
}

/* Sends stderr to path until restore_stderr(). */
static int capture_stderr(const char *path)
{
	int saved, fd;
	fflush(stderr);
	saved = dup(2);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (saved >= 0 && fd >= 0)
		dup2(fd, 2);
	if (fd >= 0)
		close(fd);
	return saved;
}

static void restore_stderr(int saved)
{
	fflush(stderr);
	if (saved >= 0) {
		dup2(saved, 2);
		close(saved);
	}
}

static CK_FUNCTION_LIST *load(const char *path)
{
	CK_FUNCTION_LIST *f = p11_kit_module_load(path, 0);
	if (f && p11_kit_module_initialize(f) != CKR_OK) {
		p11_kit_module_release(f);
		f = NULL;
	}
	return f;
}

static void unload(CK_FUNCTION_LIST *f)
{
	if (!f)
		return;
	p11_kit_module_finalize(f);
	p11_kit_module_release(f);
}

/* The slot of the token labelled label, or (label NULL) the first slot
 * with an uninitialised token. */
static bool slot_of(CK_FUNCTION_LIST *f, const char *label, CK_SLOT_ID *slot)
{
	CK_SLOT_ID ids[64];
	CK_ULONG n = 64;
	char want[32];
	memset(want, ' ', sizeof want);
	if (label)
		memcpy(want, label, strlen(label));
	if (f->C_GetSlotList(CK_TRUE, ids, &n) != CKR_OK)
		return false;
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;
		if (f->C_GetTokenInfo(ids[i], &ti) != CKR_OK)
			continue;
		bool init = ti.flags & CKF_TOKEN_INITIALIZED;
		if ((!label && !init) || (label && init && !memcmp(ti.label, want, 32))) {
			*slot = ids[i];
			return true;
		}
	}
	return false;
}

static bool init_token(CK_FUNCTION_LIST *f, const char *label)
{
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE h;
	CK_UTF8CHAR lab[32];
	bool ok;
	memset(lab, ' ', sizeof lab);
	memcpy(lab, label, strlen(label));
	if (!slot_of(f, NULL, &slot) ||
	    f->C_InitToken(slot, (CK_UTF8CHAR *)SO_PIN, strlen(SO_PIN), lab) != CKR_OK)
		return false;
	if (!slot_of(f, label, &slot) ||
	    f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h) != CKR_OK)
		return false;
	ok = f->C_Login(h, CKU_SO, (CK_UTF8CHAR *)SO_PIN, strlen(SO_PIN)) == CKR_OK &&
	     f->C_InitPIN(h, (CK_UTF8CHAR *)PIN, strlen(PIN)) == CKR_OK;
	f->C_CloseSession(h);
	return ok;
}

static bool user_session(CK_FUNCTION_LIST *f, const char *label, CK_SESSION_HANDLE *h)
{
	CK_SLOT_ID slot;
	CK_RV rv;
	if (!slot_of(f, label, &slot) ||
	    f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, h) != CKR_OK)
		return false;
	rv = f->C_Login(*h, CKU_USER, (CK_UTF8CHAR *)PIN, strlen(PIN));
	return rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN;
}

/* An EC/SM2 key pair; mech 0: CKM_EC_KEY_PAIR_GEN. */
static bool gen_key(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE h, CK_MECHANISM_TYPE mech,
		    const unsigned char *oid, size_t oid_len, CK_BYTE id, const char *label,
		    CK_OBJECT_HANDLE *pub)
{
	CK_MECHANISM m = {mech ? mech : CKM_EC_KEY_PAIR_GEN, NULL, 0};
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ATTRIBUTE pt[] = {
	    {CKA_TOKEN, &yes, sizeof yes},
	    {CKA_PRIVATE, &no, sizeof no},
	    {CKA_VERIFY, &yes, sizeof yes},
	    {CKA_ID, &id, 1},
	    {CKA_LABEL, (void *)label, strlen(label)},
	    {CKA_EC_PARAMS, (void *)oid, oid_len},
	};
	CK_ATTRIBUTE kt[] = {
	    {CKA_TOKEN, &yes, sizeof yes},
	    {CKA_PRIVATE, &yes, sizeof yes},
	    {CKA_SENSITIVE, &yes, sizeof yes},
	    {CKA_SIGN, &yes, sizeof yes},
	    {CKA_ID, &id, 1},
	    {CKA_LABEL, (void *)label, strlen(label)},
	};
	CK_OBJECT_HANDLE priv;
	CK_RV rv = f->C_GenerateKeyPair(h, &m, pt, 6, kt, 6, pub, &priv);
	if (rv != CKR_OK)
		fprintf(stderr, "# C_GenerateKeyPair(%s): 0x%lx\n", label, (unsigned long)rv);
	return rv == CKR_OK;
}

/* The public key object's CKA_EC_POINT as an OpenSSL key. */
static EVP_PKEY *read_pub(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, bool sm2)
{
	unsigned char v[200];
	CK_ATTRIBUTE a = {CKA_EC_POINT, v, sizeof v};
	EVP_PKEY *pkey = NULL;
	if (f->C_GetAttributeValue(h, o, &a, 1) != CKR_OK || a.ulValueLen < 67)
		return NULL;
	/* DER OCTET STRING (04 41) around 04||X||Y */
	OSSL_PARAM params[] = {
	    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, sm2 ? "SM2" : "prime256v1", 0),
	    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, v + 2, a.ulValueLen - 2),
	    OSSL_PARAM_END,
	};
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, sm2 ? "SM2" : "EC", NULL);
	if (!c || EVP_PKEY_fromdata_init(c) <= 0 ||
	    EVP_PKEY_fromdata(c, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pkey = NULL;
	EVP_PKEY_CTX_free(c);
	return pkey;
}

/* A certificate for pub, issued by a throw-away P-256 key (only its public
 * key matters here). */
static unsigned char *make_cert(EVP_PKEY *pub, size_t *len)
{
	EVP_PKEY *ca = EVP_EC_gen("prime256v1");
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	unsigned char *der = NULL;
	int n = -1;
	if (ca && x && name &&
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				       (const unsigned char *)"seal signer", -1, -1, 0) &&
	    X509_set_version(x, 2) && ASN1_INTEGER_set(X509_get_serialNumber(x), 7) &&
	    X509_set_subject_name(x, name) && X509_set_issuer_name(x, name) &&
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) &&
	    X509_gmtime_adj(X509_getm_notAfter(x), 86400) && X509_set_pubkey(x, pub) &&
	    X509_sign(x, ca, EVP_sha256()) > 0)
		n = i2d_X509(x, &der);
	*len = n > 0 ? (size_t)n : 0;
	X509_NAME_free(name);
	X509_free(x);
	EVP_PKEY_free(ca);
	return n > 0 ? der : NULL;
}

static bool store_cert(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE h, CK_BYTE id, const char *label,
		       const unsigned char *der, size_t len)
{
	CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
	CK_CERTIFICATE_TYPE ct = CKC_X_509;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	unsigned char *subj = NULL;
	int sl = x ? i2d_X509_NAME(X509_get_subject_name(x), &subj) : -1;
	CK_ATTRIBUTE t[] = {
	    {CKA_CLASS, &cls, sizeof cls},
	    {CKA_CERTIFICATE_TYPE, &ct, sizeof ct},
	    {CKA_TOKEN, &yes, sizeof yes},
	    {CKA_PRIVATE, &no, sizeof no},
	    {CKA_ID, &id, 1},
	    {CKA_LABEL, (void *)label, strlen(label)},
	    {CKA_SUBJECT, subj, sl > 0 ? (CK_ULONG)sl : 0},
	    {CKA_VALUE, (void *)der, len},
	};
	CK_OBJECT_HANDLE o;
	CK_RV rv = sl > 0 ? f->C_CreateObject(h, t, 8, &o) : CKR_GENERAL_ERROR;
	OPENSSL_free(subj);
	X509_free(x);
	return rv == CKR_OK;
}

static bool find_one(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE h, CK_OBJECT_CLASS cls, CK_BYTE id,
		     CK_OBJECT_HANDLE *o)
{
	CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_ID, &id, 1}};
	CK_ULONG n = 0;
	bool ok = f->C_FindObjectsInit(h, t, 2) == CKR_OK &&
		  f->C_FindObjects(h, o, 1, &n) == CKR_OK && n == 1;
	f->C_FindObjectsFinal(h);
	return ok;
}

/* SM2 with SM3 and the ID 1234567812345678, as every GM verifier does. */
static bool verify_sm2(EVP_PKEY *pub, const void *msg, size_t len, const unsigned char *sig,
		       size_t sig_len)
{
	EVP_MD_CTX *mc = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(pub, NULL);
	bool ok = mc && pc && EVP_PKEY_CTX_set1_id(pc, SM2_ID, 16) > 0;
	if (ok) {
		EVP_MD_CTX_set_pkey_ctx(mc, pc);
		ok = EVP_DigestVerifyInit(mc, NULL, EVP_sm3(), NULL, pub) > 0 &&
		     EVP_DigestVerify(mc, sig, sig_len, msg, len) == 1;
	}
	EVP_MD_CTX_free(mc);
	EVP_PKEY_CTX_free(pc);
	return ok;
}

static bool verify_ecdsa(EVP_PKEY *pub, const void *msg, size_t len, const unsigned char *sig,
			 size_t sig_len)
{
	EVP_MD_CTX *mc = EVP_MD_CTX_new();
	bool ok = mc && EVP_DigestVerifyInit(mc, NULL, EVP_sha256(), NULL, pub) > 0 &&
		  EVP_DigestVerify(mc, sig, sig_len, msg, len) == 1;
	EVP_MD_CTX_free(mc);
	return ok;
}

/* A signature on a digest, no hashing. */
static bool verify_digest(EVP_PKEY *pub, const unsigned char *e, size_t elen,
			  const unsigned char *sig, size_t sig_len)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pub, NULL);
	bool ok =
	    c && EVP_PKEY_verify_init(c) > 0 && EVP_PKEY_verify(c, sig, sig_len, e, elen) == 1;
	EVP_PKEY_CTX_free(c);
	return ok;
}

/* DER SEQUENCE{r,s} with minimal INTEGERs: re-encoding gives the same bytes. */
static bool strict_der(const unsigned char *sig, size_t len)
{
	const unsigned char *p = sig;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
	unsigned char *again = NULL;
	int n = es ? i2d_ECDSA_SIG(es, &again) : -1;
	bool ok = p == sig + len && n == (int)len && memcmp(again, sig, len) == 0;
	OPENSSL_free(again);
	ECDSA_SIG_free(es);
	return ok;
}

static const char *uri(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *uri(const char *fmt, ...)
{
	static char buf[4][768];
	static unsigned next;
	char *b = buf[next++ % 4];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b, 768, fmt, ap);
	va_end(ap);
	return b;
}

static sealkit_token_options opts_module(void)
{
	sealkit_token_options o = {0};
	o.module = module_path;
	return o;
}

static sealkit_signer *open_ok(const char *u, const sealkit_token_options *o)
{
	sealkit_error err = {0};
	sealkit_signer *s = NULL;
	sealkit_status st = sealkit_signer_open(NULL, u, o, &s, &err);
	if (st != SEALKIT_OK)
		printf("# sealkit_signer_open(%s): %s: %s\n", u, sealkit_status_name(st),
		       err.message);
	return s;
}

/* Signs msg, checks the result with OpenSSL (SM2 or ECDSA-SHA256). */
static bool sign_check(sealkit_signer *s, EVP_PKEY *pub, const void *msg, size_t len)
{
	unsigned char *sig = NULL;
	size_t sig_len = 0;
	const char *oid = NULL;
	sealkit_error err = {0};
	sealkit_signer_info info;
	bool ok;
	sealkit_signer_get_info(s, &info);
	if (sealkit_signer_sign(s, msg, len, &sig, &sig_len, &oid, &err) != SEALKIT_OK) {
		printf("# sign: %s\n", err.message);
		return false;
	}
	ok = strict_der(sig, sig_len) && oid && !strcmp(oid, info.alg_oid) &&
	     (info.kind == SEALKIT_KEY_SM2 ? verify_sm2(pub, msg, len, sig, sig_len)
					   : verify_ecdsa(pub, msg, len, sig, sig_len));
	free(sig);
	return ok;
}

/* ---- suite: sealkit-pkcs11.so ------------------------------------------------ */

static int sealkit_init(void)
{
	CK_FUNCTION_LIST *f = NULL;
	CK_SESSION_HANDLE h;
	CK_OBJECT_HANDLE pub = 0, o;
	int rc = -1;

	set_conf(NULL);
	f = load(module_path);
	if (!f) {
		printf("# cannot load %s\n", module_path);
		goto out;
	}
	if (!init_token(f, TOKEN) || !user_session(f, TOKEN, &h))
		goto out;
	/* 01 sm2key: CKM_SM2_KEY_PAIR_GEN, with a certificate
	 * 02 sm2ec: CKM_EC_KEY_PAIR_GEN with the SM2 curve
	 * 03 nopub: public key object removed (CKA_EC_POINT of the private key)
	 * 04 p256: EC P-256 */
	if (!gen_key(f, h, 0x80008001UL, sm2_oid, sizeof sm2_oid, 1, "sm2key", &pub) ||
	    !(pub_sm2 = read_pub(f, h, pub, true)))
		goto out;
	if (!(cert_der = make_cert(pub_sm2, &cert_len)) ||
	    !store_cert(f, h, 1, "sm2key", cert_der, cert_len))
		goto out;
	if (!gen_key(f, h, 0, sm2_oid, sizeof sm2_oid, 2, "sm2ec", &pub) ||
	    !(pub_sm2ec = read_pub(f, h, pub, true)))
		goto out;
	if (!gen_key(f, h, 0x80008001UL, sm2_oid, sizeof sm2_oid, 3, "nopub", &pub) ||
	    !(pub_nopub = read_pub(f, h, pub, true)) || f->C_DestroyObject(h, pub) != CKR_OK ||
	    find_one(f, h, CKO_PUBLIC_KEY, 3, &o))
		goto out;
	if (!gen_key(f, h, 0, p256_oid, sizeof p256_oid, 4, "p256", &pub) ||
	    !(pub_p256 = read_pub(f, h, pub, false)))
		goto out;
	f->C_CloseSession(h);

	/* A second token whose user PIN is locked. */
	if (!init_token(f, LOCKED))
		goto out;
	CK_SLOT_ID slot;
	if (!slot_of(f, LOCKED, &slot) ||
	    f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &h) != CKR_OK)
		goto out;
	for (int i = 0; i < MAX_FAILURES; i++)
		f->C_Login(h, CKU_USER, (CK_UTF8CHAR *)"00000000", 8);
	f->C_CloseSession(h);
	snprintf(uri_base, sizeof uri_base, "pkcs11:token=%s", TOKEN);
	rc = 0;
out:
	/* The library loads the module itself; nothing of ours stays open, so
	 * later suites can re-initialise it with another configuration. */
	unload(f);
	return rc;
}

static void test_sm2_by_uri(void)
{
	sealkit_token_options o = opts_module();
	sealkit_signer *s =
	    open_ok(uri("%s;object=sm2key;type=private?pin-value=%s", uri_base, PIN), &o);
	sealkit_signer_info info;
	static unsigned char big[100000];
	const unsigned char *spki, *cert;
	size_t spki_len, cl;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	sealkit_signer_get_info(s, &info);
	CU_ASSERT_EQUAL(info.kind, SEALKIT_KEY_SM2);
	CU_ASSERT_STRING_EQUAL(info.alg_oid, "1.2.156.10197.1.501");
	CU_ASSERT_EQUAL(info.gbt38540, 1);
	CU_ASSERT_STRING_EQUAL(info.token_label, TOKEN);
	CU_ASSERT_STRING_EQUAL(info.key_label, "sm2key");
	CU_ASSERT_STRING_EQUAL(info.profile, "canonical");
	CU_ASSERT_EQUAL(info.message_mechanism, 0x80008100UL);
	CU_ASSERT_EQUAL(info.digest_mechanism, 0x80008104UL);
	CU_ASSERT_EQUAL(info.key_id_len, 1);

	CU_ASSERT_TRUE(sign_check(s, pub_sm2, "hello seal", 10));
	CU_ASSERT_TRUE(sign_check(s, pub_sm2, "", 0));
	RAND_bytes(big, sizeof big);
	CU_ASSERT_TRUE(sign_check(s, pub_sm2, big, sizeof big));
	/* The check can fail: another key does not verify. */
	{
		unsigned char *sig = NULL;
		size_t sl = 0;
		CU_ASSERT_EQUAL(sealkit_signer_sign(s, "abc", 3, &sig, &sl, NULL, NULL),
				SEALKIT_OK);
		CU_ASSERT_TRUE(verify_sm2(pub_sm2, "abc", 3, sig, sl));
		CU_ASSERT_FALSE(verify_sm2(pub_sm2ec, "abc", 3, sig, sl));
		CU_ASSERT_FALSE(verify_sm2(pub_sm2, "abd", 3, sig, sl));
		free(sig);
	}
	/* Public key and certificate. */
	spki = sealkit_signer_public_key(s, &spki_len);
	unsigned char *mine = NULL;
	int ml = i2d_PUBKEY(pub_sm2, &mine);
	CU_ASSERT_TRUE(spki && ml > 0 && spki_len == (size_t)ml && !memcmp(spki, mine, spki_len));
	OPENSSL_free(mine);
	cert = sealkit_signer_certificate(s, &cl);
	CU_ASSERT_TRUE(cert && cl == cert_len && !memcmp(cert, cert_der, cl));
	sealkit_signer_free(s);
}

static void test_sm2_ec_keygen_and_digest_in(void)
{
	sealkit_token_options o = opts_module();
	sealkit_signer_info info;
	o.flags = SEALKIT_SIGN_DIGEST_IN;
	sealkit_signer *s = open_ok(uri("%s;object=sm2ec?pin-value=%s", uri_base, PIN), &o);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	sealkit_signer_get_info(s, &info);
	CU_ASSERT_EQUAL(info.kind, SEALKIT_KEY_SM2);
	CU_ASSERT_EQUAL(info.message_mechanism, 0);
	CU_ASSERT_EQUAL(info.digest_mechanism, 0x80008104UL);
	CU_ASSERT_PTR_NULL(sealkit_signer_certificate(s, NULL));
	for (int i = 0; i < 5; i++) {
		char msg[32];
		snprintf(msg, sizeof msg, "digest-in %d", i);
		CU_ASSERT_TRUE(sign_check(s, pub_sm2ec, msg, strlen(msg)));
	}
	sealkit_signer_free(s);
}

static void test_sign_digest(void)
{
	sealkit_token_options o = opts_module();
	sealkit_signer *s = open_ok(uri("%s;object=sm2key?pin-value=%s", uri_base, PIN), &o);
	unsigned char e[32], *sig = NULL;
	size_t sl = 0;
	sealkit_error err = {0};
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	RAND_bytes(e, sizeof e);
	CU_ASSERT_EQUAL(sealkit_signer_sign_digest(s, e, 32, &sig, &sl, NULL, &err), SEALKIT_OK);
	CU_ASSERT_TRUE(sig && strict_der(sig, sl) && verify_digest(pub_sm2, e, 32, sig, sl));
	free(sig);
	sig = NULL;
	CU_ASSERT_EQUAL(sealkit_signer_sign_digest(s, e, 20, &sig, &sl, NULL, &err),
			SEALKIT_ERR_ARGS);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "32 bytes"));
	sealkit_signer_free(s);
}

/* 1 MB fed in odd-sized pieces gives the signature of the whole. */
static bool stream_check(sealkit_signer *s, EVP_PKEY *pub)
{
	static unsigned char data[1 << 20];
	sealkit_sign_ctx *ctx = NULL;
	unsigned char *sig = NULL;
	size_t sl = 0, at = 0;
	sealkit_error err = {0};
	bool ok = true;
	RAND_bytes(data, sizeof data);
	if (sealkit_signer_sign_init(s, &ctx, &err) != SEALKIT_OK) {
		printf("# sign_init: %s\n", err.message);
		return false;
	}
	while (ok && at < sizeof data) {
		size_t n = sizeof data - at < 7777 ? sizeof data - at : 7777;
		ok = sealkit_sign_update(ctx, data + at, n, &err) == SEALKIT_OK;
		at += n;
	}
	ok = ok && sealkit_sign_final(ctx, &sig, &sl, NULL, &err) == SEALKIT_OK;
	if (!ok)
		printf("# stream: %s\n", err.message);
	ok = ok && strict_der(sig, sl) && verify_sm2(pub, data, sizeof data, sig, sl);
	sealkit_sign_ctx_free(ctx);
	free(sig);
	return ok;
}

static void test_streaming(void)
{
	sealkit_token_options o = opts_module();
	sealkit_signer *s = open_ok(uri("%s;object=sm2key?pin-value=%s", uri_base, PIN), &o);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_TRUE(stream_check(s, pub_sm2));
	/* An abandoned stream leaves the signer usable. */
	sealkit_sign_ctx *ctx = NULL;
	CU_ASSERT_EQUAL(sealkit_signer_sign_init(s, &ctx, NULL), SEALKIT_OK);
	CU_ASSERT_EQUAL(sealkit_sign_update(ctx, "partial", 7, NULL), SEALKIT_OK);
	sealkit_sign_ctx_free(ctx);
	CU_ASSERT_TRUE(sign_check(s, pub_sm2, "after", 5));
	sealkit_signer_free(s);
}

/* The TASS profile names no digest-in code our module lists: the stream is
 * hashed by the token (C_SignUpdate), after a probe settled Z and format. */
static void test_streaming_on_token(void)
{
	sealkit_token_options o = opts_module();
	sealkit_signer_info info;
	o.profile = "tass";
	sealkit_signer *s = open_ok(uri("%s;object=sm2key?pin-value=%s", uri_base, PIN), &o);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	sealkit_signer_get_info(s, &info);
	CU_ASSERT_EQUAL(info.digest_mechanism, 0);
	CU_ASSERT_EQUAL(info.message_mechanism, 0x80008100UL);
	CU_ASSERT_TRUE(stream_check(s, pub_sm2));
	CU_ASSERT_TRUE(sign_check(s, pub_sm2, "one-shot too", 12));
	sealkit_signer_free(s);
}

/* Explicit profiles on the canonical module: Sansec's 0x80008100 is
 * documented without Z, ours adds it; the first signature finds out. */
static void test_explicit_profiles(void)
{
	static const char *const names[] = {"sansec", "luna", "ibm-ep11", "koal", "canonical"};
	char log[300];
	snprintf(log, sizeof log, "%s/profiles.log", tmpdir);
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		sealkit_token_options o = opts_module();
		sealkit_signer_info info;
		bool ok = true;
		o.profile = names[i];
		o.flags = SEALKIT_TOKEN_DEBUG;
		int saved = capture_stderr(log);
		sealkit_signer *s =
		    open_ok(uri("%s;object=sm2key?pin-value=%s", uri_base, PIN), &o);
		if (s) {
			sealkit_signer_get_info(s, &info);
			for (int j = 0; j < 3; j++)
				ok &= sign_check(s, pub_sm2, names[i], strlen(names[i]));
			ok &= stream_check(s, pub_sm2);
		}
		sealkit_signer_free(s);
		restore_stderr(saved);
		CU_ASSERT_TRUE_FATAL(s != NULL);
		CU_ASSERT_TRUE(ok);
		CU_ASSERT_STRING_EQUAL(info.profile, names[i]);
		/* Sansec documents 0x80008100 without Z; this module adds Z: the
		 * signer gives Z||M, sees Z||Z||M signed, and signs M again. */
		if (!strcmp(names[i], "sansec"))
			CU_ASSERT_TRUE(
			    file_contains(log, "mechanism 0x80008100 adds Z: signing again"));
	}
	sealkit_token_options o = opts_module();
	sealkit_signer *s = NULL;
	sealkit_error err = {0};
	o.profile = "westone";
	CU_ASSERT_EQUAL(sealkit_signer_open(NULL,
					    uri("%s;object=sm2key?pin-value=%s", uri_base, PIN), &o,
					    &s, &err),
			SEALKIT_ERR_ARGS);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "unknown SM2 profile 'westone'"));
}

static void test_nopub_and_cert_uri(void)
{
	sealkit_token_options o = opts_module();
	o.pin = PIN;
	sealkit_signer *s = open_ok(uri("%s;object=nopub", uri_base), &o);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_TRUE(sign_check(s, pub_nopub, "no public key object", 20));
	sealkit_signer_free(s);
	/* A URI naming the certificate names the private key with its CKA_ID. */
	s = open_ok(uri("%s;object=sm2key;type=cert", uri_base), &o);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	sealkit_signer_info info;
	sealkit_signer_get_info(s, &info);
	CU_ASSERT_STRING_EQUAL(info.key_label, "sm2key");
	CU_ASSERT_TRUE(sign_check(s, pub_sm2, "by certificate", 14));
	sealkit_signer_free(s);
	/* By id. */
	s = open_ok(uri("%s;id=%%02", uri_base), &o);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_TRUE(sign_check(s, pub_sm2ec, "by id", 5));
	sealkit_signer_free(s);
}

static void test_ecdsa_on_sealkit(void)
{
	sealkit_token_options o = opts_module();
	sealkit_warnings w = {0};
	sealkit_signer_info info;
	sealkit_error err = {0};
	sealkit_signer *s = NULL;
	o.pin = PIN;
	o.warnings = &w;
	s = open_ok(uri("%s;object=p256", uri_base), &o);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	sealkit_signer_get_info(s, &info);
	CU_ASSERT_EQUAL(info.kind, SEALKIT_KEY_EC_P256);
	CU_ASSERT_STRING_EQUAL(info.alg_oid, "1.2.840.10045.4.3.2");
	CU_ASSERT_EQUAL(info.gbt38540, 0);
	CU_ASSERT_TRUE(w.count == 1 && strstr(w.items[0], "not a GB/T 38540 algorithm"));
	CU_ASSERT_TRUE(sign_check(s, pub_p256, "ecdsa", 5));
	sealkit_signer_free(s);
	sealkit_warnings_free(&w);
	o.warnings = NULL;
	o.flags = SEALKIT_SIGN_REQUIRE_SM2;
	CU_ASSERT_EQUAL(sealkit_signer_open(NULL, uri("%s;object=p256", uri_base), &o, &s, &err),
			SEALKIT_ERR_UNSUPPORTED);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "not SM2"));
	CU_ASSERT_PTR_NULL(s);
}

static void test_wrong_and_locked_pin(void)
{
	sealkit_token_options o = opts_module();
	sealkit_error err = {0};
	sealkit_signer *s = NULL;
	CU_ASSERT_EQUAL(sealkit_signer_open(NULL,
					    uri("%s;object=sm2key?pin-value=99887766", uri_base),
					    &o, &s, &err),
			SEALKIT_ERR_PIN);
	CU_ASSERT_PTR_NULL(s);
	printf("# %s\n", err.message);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "wrong PIN"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "CKR_PIN_INCORRECT"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "'" TOKEN "'"));
	CU_ASSERT_PTR_NULL(strstr(err.message, "99887766"));

	o.pin = PIN;
	CU_ASSERT_EQUAL(
	    sealkit_signer_open(NULL, uri("pkcs11:token=%s;object=x", LOCKED), &o, &s, &err),
	    SEALKIT_ERR_PIN);
	printf("# %s\n", err.message);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "locked"));

	/* No PIN anywhere. */
	o.pin = NULL;
	CU_ASSERT_EQUAL(sealkit_signer_open(NULL, uri("%s;object=sm2key", uri_base), &o, &s, &err),
			SEALKIT_ERR_PIN);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "needs its user PIN"));
}

static void test_not_found_messages(void)
{
	sealkit_token_options o = opts_module();
	sealkit_error err = {0};
	sealkit_signer *s = NULL;
	o.pin = PIN;
	CU_ASSERT_EQUAL(sealkit_signer_open(NULL, "pkcs11:token=nope;object=sm2key", &o, &s, &err),
			SEALKIT_ERR_NOT_FOUND);
	printf("# %s\n", err.message);
	CU_ASSERT_STRING_EQUAL(err.message,
			       "no token labelled 'nope'; tokens present: 'sk-test', 'sk-locked'");

	CU_ASSERT_EQUAL(sealkit_signer_open(NULL, uri("%s;object=ghost", uri_base), &o, &s, &err),
			SEALKIT_ERR_NOT_FOUND);
	printf("# %s\n", err.message);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "no private key matching URI"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "'sm2key' (id 01)"));

	CU_ASSERT_EQUAL(sealkit_signer_open(NULL, uri_base, &o, &s, &err), SEALKIT_ERR_ARGS);
	printf("# %s\n", err.message);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "matches 4 private keys"));

	CU_ASSERT_EQUAL(sealkit_signer_open(NULL, "http://example.com/key", &o, &s, &err),
			SEALKIT_ERR_ARGS);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "not a PKCS#11 URI"));

	CU_ASSERT_EQUAL(sealkit_signer_open(NULL, "pkcs11:token=sk-test;colour=blue", &o, &s, &err),
			SEALKIT_ERR_ARGS);

	sealkit_token_options bad = o;
	bad.module = "/nonexistent/libnothing.so";
	CU_ASSERT_EQUAL(sealkit_signer_open(NULL, uri_base, &bad, &s, &err), SEALKIT_ERR_MODULE);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "no such file"));

	sealkit_module *m = NULL;
	CU_ASSERT_EQUAL(sealkit_module_load("no-such-module", 0, &m, &err), SEALKIT_ERR_NOT_FOUND);
	printf("# %s\n", err.message);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "registered: "));
	CU_ASSERT_PTR_NULL(m);
	/* A registered module, by name. */
	CU_ASSERT_EQUAL(sealkit_module_load("p11-kit-trust", 0, &m, &err), SEALKIT_OK);
	sealkit_module_release(m);
}

static void test_pin_sources(void)
{
	char pinfile[300];
	sealkit_token_options o = {0};
	sealkit_signer *s;

	/* module-path and pin-source from the URI alone. */
	snprintf(pinfile, sizeof pinfile, "%s/pin.txt", tmpdir);
	write_text(pinfile, PIN "\n");
	s = open_ok(uri("%s;object=sm2key?module-path=%s&pin-source=file:%s", uri_base, module_path,
			pinfile),
		    &o);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_TRUE(sign_check(s, pub_sm2, "pin-source", 10));
	sealkit_signer_free(s);
}

struct pin_cb {
	int calls;
	unsigned flags[4];
};

static int pin_cb(void *data, const char *label, unsigned flags, char *pin, size_t size)
{
	struct pin_cb *c = data;
	if (strcmp(label, TOKEN) != 0 || c->calls >= 4)
		return 1;
	c->flags[c->calls] = flags;
	snprintf(pin, size, "%s", c->calls++ == 0 ? "55555555" : PIN);
	return 0;
}

static void test_pin_callback(void)
{
	sealkit_token_options o = opts_module();
	struct pin_cb c = {0};
	o.pin_callback = pin_cb;
	o.pin_callback_data = &c;
	sealkit_signer *s = open_ok(uri("%s;object=sm2key", uri_base), &o);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(c.calls, 2);
	CU_ASSERT_FALSE(c.flags[0] & SEALKIT_PIN_RETRY);
	CU_ASSERT_TRUE(c.flags[1] & SEALKIT_PIN_RETRY);
	CU_ASSERT_TRUE(sign_check(s, pub_sm2, "callback", 8));
	sealkit_signer_free(s);
}

static void test_debug_log(void)
{
	char log[300];
	sealkit_token_options o = opts_module();
	bool opened, signed_ok = false;
	snprintf(log, sizeof log, "%s/debug.log", tmpdir);
	o.flags = SEALKIT_TOKEN_DEBUG;
	int saved = capture_stderr(log);
	sealkit_signer *s = open_ok(uri("%s;object=sm2key?pin-value=%s", uri_base, PIN), &o);
	opened = s != NULL;
	if (s)
		signed_ok = sign_check(s, pub_sm2, "debug", 5);
	sealkit_signer_free(s);
	restore_stderr(saved);
	CU_ASSERT_TRUE(opened && signed_ok);
	CU_ASSERT_TRUE(file_contains(log, "C_Login -> CKR_OK"));
	CU_ASSERT_TRUE(file_contains(log, "C_SignInit -> CKR_OK"));
	CU_ASSERT_TRUE(file_contains(log, "C_Sign -> CKR_OK"));
	CU_ASSERT_TRUE(file_contains(log, "checked with OpenSSL"));
	CU_ASSERT_FALSE(file_contains(log, PIN));
}

struct worker {
	sealkit_signer *s;
	int ok;
};

static void *worker(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < 25; i++) {
		char msg[64];
		snprintf(msg, sizeof msg, "thread %p message %d", (void *)w, i);
		w->ok += sign_check(w->s, pub_sm2, msg, strlen(msg));
	}
	return NULL;
}

static void test_threads(void)
{
	sealkit_token_options o = opts_module();
	sealkit_signer *s = open_ok(uri("%s;object=sm2key?pin-value=%s", uri_base, PIN), &o);
	pthread_t t[4];
	struct worker w[4];
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){s, 0};
		pthread_create(&t[i], NULL, worker, &w[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CU_ASSERT_EQUAL(w[i].ok, 25);
	}
	sealkit_signer_free(s);
}

/* The child re-initialises the module and logs in again by itself. */
static void test_fork(void)
{
	sealkit_token_options o = opts_module();
	sealkit_signer *s = open_ok(uri("%s;object=sm2key?pin-value=%s", uri_base, PIN), &o);
	int status = -1;
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_TRUE(sign_check(s, pub_sm2, "parent before", 13));
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		bool ok = sign_check(s, pub_sm2, "in the child", 12) &&
			  sign_check(s, pub_sm2, "child again", 11);
		fflush(stdout);
		_exit(ok ? 0 : 1);
	}
	CU_ASSERT_TRUE_FATAL(pid > 0);
	waitpid(pid, &status, 0);
	CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CU_ASSERT_TRUE(sign_check(s, pub_sm2, "parent after", 12));
	sealkit_signer_free(s);
}

static void test_certificate_by_uri(void)
{
	sealkit_token_options o = opts_module();
	unsigned char *der = NULL;
	size_t len = 0;
	sealkit_error err = {0};
	CU_ASSERT_EQUAL(sealkit_token_certificate(NULL, uri("%s;object=sm2key", uri_base), &o, &der,
						  &len, &err),
			SEALKIT_OK);
	CU_ASSERT_TRUE(der && len == cert_len && !memcmp(der, cert_der, len));
	free(der);
	der = NULL;
	CU_ASSERT_EQUAL(
	    sealkit_token_certificate(NULL, uri("%s;object=p256", uri_base), &o, &der, &len, &err),
	    SEALKIT_ERR_NOT_FOUND);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "no certificate matching"));
}

/* One module shared by two signers, released before them. */
static void test_shared_module(void)
{
	sealkit_module *m = NULL;
	sealkit_error err = {0};
	sealkit_token_options o = {0};
	sealkit_signer *a = NULL, *b = NULL;
	CU_ASSERT_EQUAL_FATAL(sealkit_module_load(module_path, 0, &m, &err), SEALKIT_OK);
	o.pin = PIN;
	CU_ASSERT_EQUAL(sealkit_signer_open(m, uri("%s;object=sm2key", uri_base), &o, &a, &err),
			SEALKIT_OK);
	CU_ASSERT_EQUAL(sealkit_signer_open(m, uri("%s;object=sm2ec", uri_base), &o, &b, &err),
			SEALKIT_OK);
	sealkit_module_release(m);
	CU_ASSERT_TRUE(a && sign_check(a, pub_sm2, "a", 1));
	CU_ASSERT_TRUE(b && sign_check(b, pub_sm2ec, "b", 1));
	sealkit_signer_free(a);
	CU_ASSERT_TRUE(b && sign_check(b, pub_sm2ec, "b again", 7));
	sealkit_signer_free(b);
}

/* ---- suite: the module configured as each vendor ------------------------------ */

/* Each case re-initialises sealkit-pkcs11.so with a vendor profile (no
 * handle of ours is open, so the library's load runs C_Initialize). Auto
 * detection must find the vendor and every signature must verify: Sansec
 * leaves Z out of 0x80008100, TASS answers in DER, Luna and IBM use their
 * own numbers and key types. */
/* learnt[0]: what the first message-in signatures must teach the signer
 * (its debug log says so), learnt[1] an optional second line of it,
 * learnt[2] what the first digest-in signature must teach. */
static void vendor_case(const char *conf, const char *want_profile, const char *const learnt[3])
{
	sealkit_token_options o = opts_module();
	sealkit_signer_info info;
	char log[300];
	snprintf(log, sizeof log, "%s/vendor.log", tmpdir);
	set_conf(conf);
	for (int digest_in = 0; digest_in < 2; digest_in++) {
		o.flags = SEALKIT_TOKEN_DEBUG | (digest_in ? SEALKIT_SIGN_DIGEST_IN : 0);
		int saved = capture_stderr(log);
		sealkit_signer *s =
		    open_ok(uri("%s;object=sm2key?pin-value=%s", uri_base, PIN), &o);
		bool signed_ok = s != NULL;
		if (s) {
			sealkit_signer_get_info(s, &info);
			for (int i = 0; i < 3; i++)
				signed_ok &= sign_check(s, pub_sm2, conf, strlen(conf));
			signed_ok &= stream_check(s, pub_sm2);
		}
		sealkit_signer_free(s);
		restore_stderr(saved);
		CU_ASSERT_TRUE_FATAL(s != NULL);
		CU_ASSERT_TRUE(signed_ok);
		printf("# profile %s: message mechanism 0x%lx, digest mechanism 0x%lx\n",
		       info.profile, info.message_mechanism, info.digest_mechanism);
		CU_ASSERT_STRING_EQUAL(info.profile, want_profile);
		for (int k = digest_in ? 2 : 0; k < (digest_in ? 3 : 2); k++) {
			if (!learnt[k])
				continue;
			bool found = file_contains(log, learnt[k]);
			if (!found)
				printf("# not in the debug log: %s\n", learnt[k]);
			CU_ASSERT_TRUE(found);
		}
		CU_ASSERT_FALSE(file_contains(log, "not used again"));
	}
	set_conf(NULL);
}

static void test_vendor_sansec(void)
{
	static const char *const learnt[3] = {
	    "mechanism 0x80008102 checked with OpenSSL: hashes Z||M, raw r||s", NULL,
	    "mechanism 0x80008105 checked with OpenSSL: digest in, raw r||s"};
	vendor_case("profile = sansec", "sansec", learnt);
}

static void test_vendor_tass(void)
{
	static const char *const learnt[3] = {
	    "mechanism 0x80008100 checked with OpenSSL: hashes Z||M, DER", NULL,
	    "mechanism 0x80008000 checked with OpenSSL: digest in, DER"};
	vendor_case("profile = tass", "tass", learnt);
}

static void test_vendor_luna(void)
{
	static const char *const learnt[3] = {
	    "mechanism 0x80000b22 checked with OpenSSL: hashes Z||M, raw r||s", NULL,
	    "mechanism 0x80000b21 checked with OpenSSL: digest in, raw r||s"};
	vendor_case("profile = luna", "luna", learnt);
}

static void test_vendor_ibm(void)
{
	static const char *const learnt[3] = {
	    "mechanism 0x8005000c checked with OpenSSL: hashes Z||M, raw r||s", NULL,
	    "mechanism 0x8005000b checked with OpenSSL: digest in, raw r||s"};
	vendor_case("profile = ibm-ep11", "ibm-ep11", learnt);
}

/* Canonical numbers, but 0x80008100 without Z and DER answers: only the
 * first-signature check can tell; the signer then puts Z in front itself. */
static void test_vendor_noz_der(void)
{
	static const char *const learnt[3] = {
	    "mechanism 0x80008100 leaves out Z: signing again",
	    "mechanism 0x80008100 checked with OpenSSL: hashes M only, DER",
	    "mechanism 0x80008104 checked with OpenSSL: digest in, DER"};
	vendor_case("sm2_sign_z = no\nsm2_signature = der", "canonical", learnt);
}

/* ---- suite: SoftHSMv2 -------------------------------------------------------- */

static const char *softhsm_path;

static bool import_sm2(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE h)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	BIGNUM *d = NULL;
	unsigned char dv[32], pt[67] = {0x04, 0x41};
	size_t n = 0;
	CK_OBJECT_CLASS priv = CKO_PRIVATE_KEY, pub = CKO_PUBLIC_KEY;
	CK_KEY_TYPE kt = CKK_EC;
	CK_BBOOL yes = CK_TRUE;
	CK_BYTE id = 2;
	CK_OBJECT_HANDLE o;
	bool ok = k && EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_PRIV_KEY, &d) &&
		  BN_bn2binpad(d, dv, 32) == 32 &&
		  EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pt + 2, 65, &n) &&
		  n == 65;
	CK_ATTRIBUTE kt_priv[] = {
	    {CKA_CLASS, &priv, sizeof priv}, {CKA_KEY_TYPE, &kt, sizeof kt},
	    {CKA_TOKEN, &yes, sizeof yes},   {CKA_PRIVATE, &yes, sizeof yes},
	    {CKA_SIGN, &yes, sizeof yes},    {CKA_ID, &id, 1},
	    {CKA_LABEL, "sm2", 3},           {CKA_EC_PARAMS, (void *)sm2_oid, sizeof sm2_oid},
	    {CKA_VALUE, dv, sizeof dv},
	};
	CK_ATTRIBUTE kt_pub[] = {
	    {CKA_CLASS, &pub, sizeof pub},
	    {CKA_KEY_TYPE, &kt, sizeof kt},
	    {CKA_TOKEN, &yes, sizeof yes},
	    {CKA_VERIFY, &yes, sizeof yes},
	    {CKA_ID, &id, 1},
	    {CKA_LABEL, "sm2", 3},
	    {CKA_EC_PARAMS, (void *)sm2_oid, sizeof sm2_oid},
	    {CKA_EC_POINT, pt, sizeof pt},
	};
	ok = ok && f->C_CreateObject(h, kt_priv, 9, &o) == CKR_OK &&
	     f->C_CreateObject(h, kt_pub, 8, &o) == CKR_OK;
	OPENSSL_cleanse(dv, sizeof dv);
	BN_clear_free(d);
	EVP_PKEY_free(k);
	return ok;
}

static int softhsm_init(void)
{
	static const char *const candidates[] = {
	    "/usr/lib/softhsm/libsofthsm2.so",
	    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
	    "/usr/lib64/pkcs11/libsofthsm2.so",
	    "/usr/local/lib/softhsm/libsofthsm2.so",
	};
	char dir[300], conf[300], text[600], cmd[900];
	CK_FUNCTION_LIST *f = NULL;
	CK_SESSION_HANDLE h;
	CK_OBJECT_HANDLE pub;
	int rc = -1;

	for (size_t i = 0; i < sizeof candidates / sizeof candidates[0] && !softhsm_path; i++)
		if (access(candidates[i], R_OK) == 0)
			softhsm_path = candidates[i];
	if (!softhsm_path) {
		printf("# SoftHSMv2 is not installed\n");
		return 0; /* each test says so */
	}
	snprintf(dir, sizeof dir, "%s/softhsm", tmpdir);
	snprintf(conf, sizeof conf, "%s/softhsm2.conf", tmpdir);
	mkdir(dir, 0700);
	snprintf(text, sizeof text,
		 "directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n", dir);
	write_text(conf, text);
	setenv("SOFTHSM2_CONF", conf, 1);
	snprintf(cmd, sizeof cmd,
		 "softhsm2-util --module '%s' --init-token --free --label sh-test --so-pin %s "
		 "--pin %s >/dev/null",
		 softhsm_path, SO_PIN, PIN);
	if (system(cmd) != 0) {
		printf("# softhsm2-util --init-token failed\n");
		goto out;
	}
	if (!(f = load(softhsm_path)) || !user_session(f, "sh-test", &h))
		goto out;
	if (!gen_key(f, h, 0, p256_oid, sizeof p256_oid, 1, "p256", &pub) ||
	    !(pub_sh_p256 = read_pub(f, h, pub, false)))
		goto out;
	/* An SM2 key pair made here and imported as an EC key: SoftHSM stores
	 * it, but has no mechanism that makes SM2 signatures with it. */
	if (!import_sm2(f, h))
		printf("# SoftHSM refused the SM2 key objects\n");
	f->C_CloseSession(h);
	rc = 0;
out:
	unload(f);
	return rc;
}

static void test_softhsm_ecdsa(void)
{
	sealkit_token_options o = {0};
	sealkit_warnings w = {0};
	sealkit_signer_info info;
	if (!softhsm_path) {
		printf("# skipped: SoftHSMv2 is not installed\n");
		return;
	}
	o.module = softhsm_path;
	o.pin = PIN;
	o.warnings = &w;
	for (int digest_in = 0; digest_in < 2; digest_in++) {
		o.flags = digest_in ? SEALKIT_SIGN_DIGEST_IN : 0;
		sealkit_signer *s = open_ok("pkcs11:token=sh-test;object=p256;type=private", &o);
		CU_ASSERT_PTR_NOT_NULL_FATAL(s);
		sealkit_signer_get_info(s, &info);
		printf("# SoftHSM: %s, message 0x%lx, digest 0x%lx\n", info.alg_name,
		       info.message_mechanism, info.digest_mechanism);
		CU_ASSERT_STRING_EQUAL(info.alg_oid, SEALKIT_OID_ECDSA_SHA256);
		CU_ASSERT_EQUAL(info.gbt38540, 0);
		CU_ASSERT_EQUAL(info.digest_mechanism, CKM_ECDSA);
		for (int i = 0; i < 3; i++)
			CU_ASSERT_TRUE(sign_check(s, pub_sh_p256, "softhsm", 7));
		/* e = SHA-256(M) signed as a digest. */
		unsigned char e[32], *sig = NULL;
		size_t sl = 0;
		SHA256((const unsigned char *)"pre-hashed", 10, e);
		CU_ASSERT_EQUAL(sealkit_signer_sign_digest(s, e, 32, &sig, &sl, NULL, NULL),
				SEALKIT_OK);
		CU_ASSERT_TRUE(sig && verify_ecdsa(pub_sh_p256, "pre-hashed", 10, sig, sl));
		free(sig);
		sealkit_signer_free(s);
	}
	CU_ASSERT_TRUE(w.count == 2 && strstr(w.items[0], "not a GB/T 38540 algorithm"));
	sealkit_warnings_free(&w);
}

static void test_softhsm_no_sm2(void)
{
	sealkit_token_options o = {0};
	sealkit_error err = {0};
	sealkit_signer *s = NULL;
	if (!softhsm_path) {
		printf("# skipped: SoftHSMv2 is not installed\n");
		return;
	}
	o.module = softhsm_path;
	o.pin = PIN;
	CU_ASSERT_EQUAL(sealkit_signer_open(NULL, "pkcs11:token=sh-test;object=sm2", &o, &s, &err),
			SEALKIT_ERR_UNSUPPORTED);
	printf("# %s\n", err.message);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "has no SM2 mechanism; use an SM2-capable token "
						   "or an EC key"));
	/* SoftHSM lists CKM_ECDSA: the library tried it on the SM2 key and
	 * found no SM2 signature. */
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "CKM_ECDSA"));
	CU_ASSERT_PTR_NULL(s);
	/* Demanding SM2 of the P-256 key says it is not SM2. */
	o.flags = SEALKIT_SIGN_REQUIRE_SM2;
	CU_ASSERT_EQUAL(sealkit_signer_open(NULL, "pkcs11:token=sh-test;object=p256", &o, &s, &err),
			SEALKIT_ERR_UNSUPPORTED);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "not SM2"));
}

/* p11-kit knows SoftHSM as "softhsm2" (its .module file): module-name. */
static void test_softhsm_by_name(void)
{
	sealkit_token_options o = {0};
	sealkit_module *m = NULL;
	if (!softhsm_path) {
		printf("# skipped: SoftHSMv2 is not installed\n");
		return;
	}
	if (sealkit_module_load("softhsm2", 0, &m, NULL) != SEALKIT_OK) {
		printf("# skipped: SoftHSMv2 is not registered with p11-kit as 'softhsm2'\n");
		return;
	}
	sealkit_module_release(m);
	sealkit_signer *s = open_ok(
	    uri("pkcs11:token=sh-test;object=p256?module-name=softhsm2&pin-value=%s", PIN), &o);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_TRUE(sign_check(s, pub_sh_p256, "by name", 7));
	sealkit_signer_free(s);
}

/* ---- suite: p11-kit server + p11-kit-client.so ---------------------------------- */

static pid_t server_pid;
static const char *client_path;
static char server_note[200];

static const char *asan_runtime(void)
{
#if defined(__SANITIZE_ADDRESS__)
	static char path[512];
	FILE *f = fopen("/proc/self/maps", "r");
	char line[1024];
	path[0] = '\0';
	while (f && fgets(line, sizeof line, f)) {
		char *p = strstr(line, "/libasan.so");
		if (p) {
			char *start = strchr(line, '/');
			line[strcspn(line, "\n")] = '\0';
			snprintf(path, sizeof path, "%s", start);
			break;
		}
	}
	if (f)
		fclose(f);
	return path[0] ? path : NULL;
#else
	return NULL;
#endif
}

static int server_init(void)
{
	static const char *const clients[] = {
	    "/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so",
	    "/usr/lib/aarch64-linux-gnu/pkcs11/p11-kit-client.so",
	    "/usr/lib64/pkcs11/p11-kit-client.so",
	    "/usr/lib/pkcs11/p11-kit-client.so",
	};
	char sock[300], addr[320];
	const char *preload = asan_runtime();

	for (size_t i = 0; i < sizeof clients / sizeof clients[0] && !client_path; i++)
		if (access(clients[i], R_OK) == 0)
			client_path = clients[i];
	if (!client_path) {
		snprintf(server_note, sizeof server_note, "p11-kit-client.so is not installed");
		return 0;
	}
	snprintf(sock, sizeof sock, "%s/p11kit.sock", tmpdir);
	fflush(stdout);
	server_pid = fork();
	if (server_pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
#ifdef __linux__
		/* A test that crashes takes its server along. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
		if (preload) {
			/* The ASan build's module needs the ASan runtime first. */
			setenv("LD_PRELOAD", preload, 1);
			setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
		}
		execlp("p11-kit", "p11-kit", "server", "-f", "-n", sock, "--provider", module_path,
		       "pkcs11:", (char *)NULL);
		_exit(127);
	}
	if (server_pid < 0) {
		snprintf(server_note, sizeof server_note, "fork failed");
		return 0;
	}
	for (int i = 0; i < 100; i++) { /* up to 10 s */
		struct stat sb;
		int status;
		if (stat(sock, &sb) == 0 && S_ISSOCK(sb.st_mode))
			break;
		if (waitpid(server_pid, &status, WNOHANG) == server_pid) {
			snprintf(server_note, sizeof server_note,
				 "p11-kit server exited at start (status %d)", status);
			server_pid = 0;
			return 0;
		}
		usleep(100000);
	}
	snprintf(addr, sizeof addr, "unix:path=%s", sock);
	setenv("P11_KIT_SERVER_ADDRESS", addr, 1);
	return 0;
}

static int server_cleanup(void)
{
	if (server_pid > 0) {
		kill(server_pid, SIGTERM);
		waitpid(server_pid, NULL, 0);
		server_pid = 0;
	}
	return 0;
}

static bool server_up(void)
{
	if (server_note[0] || server_pid <= 0) {
		printf("# %s\n", server_note[0] ? server_note : "no p11-kit server");
		return false;
	}
	return true;
}

/* The p11-kit server, its RPC and p11-kit-client.so carry lookup, login,
 * certificates and ECDSA signatures. */
static void test_server_ecdsa(void)
{
	sealkit_token_options o = {0};
	unsigned char *der = NULL, e[32], *sig = NULL;
	size_t len = 0, sl = 0;
	CU_ASSERT_TRUE_FATAL(server_up());
	o.module = client_path;
	o.pin = PIN;
	sealkit_signer *s = open_ok(uri("%s;object=p256;type=private", uri_base), &o);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	for (int i = 0; i < 5; i++)
		CU_ASSERT_TRUE(sign_check(s, pub_p256, "through the server", 18));
	SHA256((const unsigned char *)"pre-hashed", 10, e);
	CU_ASSERT_EQUAL(sealkit_signer_sign_digest(s, e, 32, &sig, &sl, NULL, NULL), SEALKIT_OK);
	CU_ASSERT_TRUE(sig && verify_ecdsa(pub_p256, "pre-hashed", 10, sig, sl));
	free(sig);
	sealkit_signer_free(s);
	CU_ASSERT_EQUAL(sealkit_token_certificate(NULL, uri("%s;object=sm2key", uri_base), &o, &der,
						  &len, NULL),
			SEALKIT_OK);
	CU_ASSERT_TRUE(der && len == cert_len && !memcmp(der, cert_der, len));
	free(der);
}

/* SM2 through the server: p11-kit 0.24's RPC refuses every mechanism
 * outside its allow-list (all vendor-defined SM2 codes), so this works only
 * when the module also makes SM2 signatures with CKM_ECDSA on SM2 keys.
 * Either it signs and verifies, or the library says exactly why not. */
static void test_server_sm2(void)
{
	sealkit_token_options o = {0};
	sealkit_error err = {0};
	sealkit_signer *s = NULL;
	CU_ASSERT_TRUE_FATAL(server_up());
	o.module = client_path;
	o.pin = PIN;
	sealkit_status st =
	    sealkit_signer_open(NULL, uri("%s;object=sm2key;type=private", uri_base), &o, &s, &err);
	/* p11-kit's RPC passes standard codes only: SM2 goes through as
	 * CKM_ECDSA on the SM2 key, which sealkit-pkcs11 signs with SM2. */
	if (st != SEALKIT_OK)
		fprintf(stderr, "SM2 through p11-kit server: %s\n", err.message);
	CU_ASSERT_EQUAL_FATAL(st, SEALKIT_OK);
	sealkit_signer_info info;
	sealkit_signer_get_info(s, &info);
	CU_ASSERT_EQUAL(info.kind, SEALKIT_KEY_SM2);
	for (int i = 0; i < 5; i++)
		CU_ASSERT_TRUE(sign_check(s, pub_sm2, "through the server", 18));
	CU_ASSERT_TRUE(stream_check(s, pub_sm2));
	sealkit_signer_free(s);
}

/* ---- registration -------------------------------------------------------------- */

void register_tests(void)
{
	const char *base = getenv("TMPDIR");
	char tokens[300];

	module_path = getenv("SEALKIT_MODULE");
	if (!module_path || access(module_path, R_OK) != 0)
		harness_skip_all("SEALKIT_MODULE does not name the built sealkit-pkcs11.so");
	snprintf(tmpdir, sizeof tmpdir, "%s/test_token_signer.XXXXXX",
		 base && *base ? base : "/tmp");
	if (!mkdtemp(tmpdir))
		harness_skip_all("cannot make a temporary directory");
	atexit(cleanup_tmp);
	snprintf(tokens, sizeof tokens, "%s/tokens", tmpdir);
	mkdir(tokens, 0700);
	setenv("SEALKIT_TOKEN_DIR", tokens, 1);
	unsetenv("SEALKIT_DEBUG");

	CU_pSuite s = harness_suite("sealkit-pkcs11", sealkit_init, NULL);
	harness_test(s, "SM2 by URI, verified by OpenSSL", test_sm2_by_uri);
	harness_test(s, "SM2 key from CKM_EC_KEY_PAIR_GEN, digest-in forced",
		     test_sm2_ec_keygen_and_digest_in);
	harness_test(s, "sign a precomputed e", test_sign_digest);
	harness_test(s, "streaming, host-side hash", test_streaming);
	harness_test(s, "streaming, token-side hash", test_streaming_on_token);
	harness_test(s, "explicit vendor profiles", test_explicit_profiles);
	harness_test(s, "public key from the private key; URI naming the cert",
		     test_nopub_and_cert_uri);
	harness_test(s, "ECDSA P-256 flagged as not GB/T 38540", test_ecdsa_on_sealkit);
	harness_test(s, "wrong, locked and missing PIN", test_wrong_and_locked_pin);
	harness_test(s, "not found: token, key, module; bad URIs", test_not_found_messages);
	harness_test(s, "module-path and pin-source in the URI", test_pin_sources);
	harness_test(s, "PIN callback with a retry", test_pin_callback);
	harness_test(s, "debug log of calls, without the PIN", test_debug_log);
	harness_test(s, "four threads on one signer", test_threads);
	harness_test(s, "fork: the child signs", test_fork);
	harness_test(s, "certificate by URI", test_certificate_by_uri);
	harness_test(s, "one module, two signers", test_shared_module);

	s = harness_suite("vendor profiles of sealkit-pkcs11", NULL, NULL);
	harness_test(s, "sansec (APPID1 codes, raw digest-in)", test_vendor_sansec);
	harness_test(s, "tass (DER signatures)", test_vendor_tass);
	harness_test(s, "luna", test_vendor_luna);
	harness_test(s, "ibm-ep11", test_vendor_ibm);
	harness_test(s, "canonical numbers, no Z, DER", test_vendor_noz_der);

	s = harness_suite("SoftHSMv2", softhsm_init, NULL);
	harness_test(s, "EC P-256: ECDSA-with-SHA256", test_softhsm_ecdsa);
	harness_test(s, "SM2 key: no SM2 mechanism", test_softhsm_no_sm2);
	harness_test(s, "module-name=softhsm2", test_softhsm_by_name);

	s = harness_suite("p11-kit server", server_init, server_cleanup);
	harness_test(s, "ECDSA, certificate through p11-kit-client.so", test_server_ecdsa);
	harness_test(s, "SM2 through p11-kit-client.so", test_server_sm2);
}
