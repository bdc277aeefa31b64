/* SM2, SM3 and SM4 through the built sealkit-pkcs11.so, loaded with dlopen as
 * applications load it, against raw OpenSSL EVP doing the same work in the
 * same process. The two sides take turns operation by operation, each timed
 * in thread CPU time, so that drift and other processes on a busy machine hit
 * both alike; printed: throughput from the mean times, their ratio with its
 * target, and the ratio of the median times. No pass/fail.
 *
 *   bench_sm [--seconds S] [--only sm2,sm3,sm4] [MODULE]
 *
 * The raw side is what a careful application does: keys and algorithms set up
 * once; for SM2 a context with the key, SM3 and the ID 1234567812345678 made
 * once and copied for each message (EVP_MD_CTX_copy_ex). The token side is
 * what PKCS#11 asks for: C_*Init and the single-part call for each message.
 * SM2 uses one key on both sides (made by OpenSSL, imported into the token). */
#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "pkcs11x.h"
#include "sm2help.h"

#define SO_PIN   "87654321"
#define USER_PIN "11223344"
#define BIG      8192
#define MAX_OPS  400000

static CK_FUNCTION_LIST *p11;
static CK_SESSION_HANDLE sess;
static double seconds = 2.0;
static char token_dir[] = "/tmp/sealkit-bench-sm.XXXXXX";

#define CALL(x)                                                                                    \
	do {                                                                                       \
		CK_RV rv_ = (x);                                                                   \
		if (rv_ != CKR_OK) {                                                               \
			fprintf(stderr, "bench_sm: %s: rv = 0x%08lx\n", #x, (unsigned long)rv_);   \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

#define OSSL(x)                                                                                    \
	do {                                                                                       \
		if ((x) <= 0) {                                                                    \
			fprintf(stderr, "bench_sm: %s failed\n", #x);                              \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

static double cpu_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* ---- the measurement ---- */

typedef struct side {
	void (*op)(void *arg);
	void *arg;
	unsigned long ops;
	double secs;
	double *each; /* seconds per operation */
} side;

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double timed(side *x)
{
	double t0 = cpu_s(), t;

	x->op(x->arg);
	t = cpu_s() - t0;
	x->secs += t;
	if (x->ops < MAX_OPS)
		x->each[x->ops] = t;
	x->ops++;
	return t;
}

/* Token and raw in turns until both have had `seconds` of CPU. */
static void race(side *token, side *raw)
{
	double spent = 0;

	token->each = malloc(MAX_OPS * sizeof(double));
	raw->each = malloc(MAX_OPS * sizeof(double));
	if (!token->each || !raw->each) {
		fprintf(stderr, "bench_sm: out of memory\n");
		exit(1);
	}
	token->op(token->arg); /* first-use costs out of the figures */
	raw->op(raw->arg);
	while (spent < seconds)
		spent += timed(token) + timed(raw);
}

static double median(side *x)
{
	size_t n = x->ops < MAX_OPS ? x->ops : MAX_OPS;

	qsort(x->each, n, sizeof(double), by_value);
	return n % 2 ? x->each[n / 2] : (x->each[n / 2 - 1] + x->each[n / 2]) / 2;
}

static void report(const char *what, const char *unit, double scale, side *token, side *raw,
		   const char *raw_what, double target)
{
	double a = (double)token->ops / token->secs * scale,
	       b = (double)raw->ops / raw->secs * scale;

	printf("%-24s %8.1f %s; %-32s %8.1f %s; sealkit/raw %.3f   [target >= %.2fx raw: %s]"
	       "   (median times: %.3f)\n",
	       what, a, unit, raw_what, b, unit, a / b, target, a / b >= target ? "met" : "MISSED",
	       median(raw) / median(token));
	fflush(stdout);
	free(token->each);
	free(raw->each);
}

/* ---- module set-up: a fresh token in slot 0 of an empty directory ---- */

static void remove_token_dir(void)
{
	char cmd[sizeof token_dir + 16];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", token_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_sm: cannot remove %s\n", token_dir);
}

static void load(const char *module)
{
	void *lib = dlopen(module, RTLD_NOW | RTLD_LOCAL);
	CK_C_GetFunctionList get =
	    lib ? (CK_C_GetFunctionList)dlsym(lib, "C_GetFunctionList") : NULL;
	CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK};
	CK_UTF8CHAR label[32];

	if (!get) {
		fprintf(stderr, "bench_sm: cannot load %s: %s\n", module, dlerror());
		exit(1);
	}
	if (!mkdtemp(token_dir)) {
		perror("bench_sm: mkdtemp");
		exit(1);
	}
	atexit(remove_token_dir);
	setenv("SEALKIT_TOKEN_DIR", token_dir, 1);
	setenv("SEALKIT_CONF", "/dev/null", 0);
	CALL(get(&p11));
	CALL(p11->C_Initialize(&args));
	memset(label, ' ', sizeof label);
	memcpy(label, "bench-sm", 8);
	CALL(p11->C_InitToken(0, (CK_UTF8CHAR *)SO_PIN, strlen(SO_PIN), label));
	CALL(p11->C_OpenSession(0, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &sess));
	CALL(p11->C_Login(sess, CKU_SO, (CK_UTF8CHAR *)SO_PIN, strlen(SO_PIN)));
	CALL(p11->C_InitPIN(sess, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN)));
	CALL(p11->C_Logout(sess));
	CALL(p11->C_Login(sess, CKU_USER, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN)));
}

/* ---- SM2 ---- */

static unsigned char msg[BIG], out[BIG + 64];

/* Both sides use one key, and verify the same signatures in turn: SM2
 * verification time depends on the signature's numbers, so one fixed
 * signature per side would favour one of them. */
#define SIGS 16

typedef struct sm2_job {
	size_t len;
	CK_OBJECT_HANDLE key;
	EVP_MD_CTX *tmpl, *work; /* raw: set up once, copied per message */
	unsigned next;
	unsigned char raw[SIGS][64], der[SIGS][72];
	size_t der_len[SIGS];
} sm2_job;

static void token_sign(void *arg)
{
	sm2_job *j = arg;
	CK_MECHANISM m = {CKM_SM2_SM3, NULL, 0};
	CK_ULONG n = sizeof out;

	CALL(p11->C_SignInit(sess, &m, j->key));
	CALL(p11->C_Sign(sess, msg, j->len, out, &n));
}

static void token_verify(void *arg)
{
	sm2_job *j = arg;
	CK_MECHANISM m = {CKM_SM2_SM3, NULL, 0};
	unsigned i = j->next++ % SIGS;

	CALL(p11->C_VerifyInit(sess, &m, j->key));
	CALL(p11->C_Verify(sess, msg, j->len, j->raw[i], 64));
}

static void raw_sign(void *arg)
{
	sm2_job *j = arg;
	size_t n = sizeof out;

	OSSL(EVP_MD_CTX_copy_ex(j->work, j->tmpl));
	OSSL(EVP_DigestSign(j->work, out, &n, msg, j->len));
}

static void raw_verify(void *arg)
{
	sm2_job *j = arg;
	unsigned i = j->next++ % SIGS;

	OSSL(EVP_MD_CTX_copy_ex(j->work, j->tmpl));
	OSSL(EVP_DigestVerify(j->work, j->der[i], j->der_len[i], msg, j->len));
}

/* A DigestSign or DigestVerify context with SM3 and the default ID. */
static EVP_MD_CTX *raw_sm2_ctx(EVP_PKEY *pk, bool sign)
{
	OSSL_PARAM id[] = {OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_DIST_ID,
							     (void *)"1234567812345678", 16),
			   OSSL_PARAM_construct_end()};
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	if (!c) {
		fprintf(stderr, "bench_sm: out of memory\n");
		exit(1);
	}
	if (sign)
		OSSL(EVP_DigestSignInit_ex(c, NULL, "SM3", NULL, NULL, pk, id));
	else
		OSSL(EVP_DigestVerifyInit_ex(c, NULL, "SM3", NULL, NULL, pk, id));
	return c;
}

static void bench_sm2(void)
{
	CK_OBJECT_HANDLE pub, priv;
	EVP_PKEY *pk;
	const size_t lens[] = {32, BIG};

	CALL(sm2_pair_import(p11, sess, &pk, &pub, &priv));
	for (size_t i = 0; i < 2; i++) {
		static sm2_job t, r;
		side ts = {token_sign, &t}, rs = {raw_sign, &r};
		char what[64];

		t = (sm2_job){.len = lens[i], .key = priv};
		r = (sm2_job){
		    .len = lens[i], .tmpl = raw_sm2_ctx(pk, true), .work = EVP_MD_CTX_new()};
		race(&ts, &rs);
		snprintf(what, sizeof what, "SM2 C_Sign, %zu B:", lens[i]);
		report(what, "ops/s", 1, &ts, &rs, "raw EVP_DigestSign (ctx copy):", 0.95);

		/* The token's signatures, raw for it and DER for OpenSSL. */
		for (unsigned k = 0; k < SIGS; k++) {
			token_sign(&t);
			memcpy(t.raw[k], out, 64);
			r.der_len[k] = sm2_sig_der(out, r.der[k]);
		}
		t.key = pub;
		EVP_MD_CTX_free(r.tmpl);
		r.tmpl = raw_sm2_ctx(pk, false);
		side tv = {token_verify, &t}, rv = {raw_verify, &r};
		race(&tv, &rv);
		snprintf(what, sizeof what, "SM2 C_Verify, %zu B:", lens[i]);
		report(what, "ops/s", 1, &tv, &rv, "raw EVP_DigestVerify (ctx copy):", 0.95);
		EVP_MD_CTX_free(r.tmpl);
		EVP_MD_CTX_free(r.work);
	}
	EVP_PKEY_free(pk);
	CALL(p11->C_DestroyObject(sess, pub));
	CALL(p11->C_DestroyObject(sess, priv));
}

/* ---- SM3 ---- */

static EVP_MD *sm3;

static void token_digest(void *arg)
{
	CK_MECHANISM m = {CKM_SM3, NULL, 0};
	CK_ULONG n = 32;

	CALL(p11->C_DigestInit(sess, &m));
	CALL(p11->C_Digest(sess, msg, BIG, out, &n));
}

static void raw_digest(void *arg)
{
	OSSL(EVP_Digest(msg, BIG, out + 32, NULL, sm3, NULL));
}

static void bench_sm3(void)
{
	side t = {token_digest, NULL}, r = {raw_digest, NULL};

	sm3 = EVP_MD_fetch(NULL, "SM3", NULL);
	if (!sm3) {
		fprintf(stderr, "bench_sm: no SM3 in this OpenSSL\n");
		exit(1);
	}
	race(&t, &r);
	if (memcmp(out, out + 32, 32) != 0) {
		fprintf(stderr, "bench_sm: C_Digest and EVP_Digest disagree\n");
		exit(1);
	}
	report("SM3 C_Digest, 8 KB:", "MB/s", BIG / 1e6, &t, &r, "raw EVP_Digest:", 0.9);
	EVP_MD_free(sm3);
}

/* ---- SM4-CBC ---- */

typedef struct sm4_job {
	CK_OBJECT_HANDLE key;
	unsigned char key_bytes[16], iv[16];
	EVP_CIPHER *cipher;
	EVP_CIPHER_CTX *ctx;
} sm4_job;

static void token_encrypt(void *arg)
{
	sm4_job *j = arg;
	CK_MECHANISM m = {CKM_SM4_CBC, j->iv, sizeof j->iv};
	CK_ULONG n = sizeof out;

	j->iv[0]++;
	CALL(p11->C_EncryptInit(sess, &m, j->key));
	CALL(p11->C_Encrypt(sess, msg, BIG, out, &n));
}

static void raw_encrypt(void *arg)
{
	sm4_job *j = arg;
	int n, fin;

	j->iv[0]++;
	OSSL(EVP_EncryptInit_ex2(j->ctx, j->cipher, j->key_bytes, j->iv, NULL));
	OSSL(EVP_CIPHER_CTX_set_padding(j->ctx, 0));
	OSSL(EVP_EncryptUpdate(j->ctx, out, &n, msg, BIG));
	OSSL(EVP_EncryptFinal_ex(j->ctx, out + n, &fin));
}

static void bench_sm4(void)
{
	CK_MECHANISM gen = {CKM_SM4_KEY_GEN, NULL, 0};
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ATTRIBUTE tmpl[] = {{CKA_TOKEN, &no, sizeof no}, {CKA_ENCRYPT, &yes, sizeof yes}};
	sm4_job t = {0}, r = {0};
	side ts = {token_encrypt, &t}, rs = {raw_encrypt, &r};

	CALL(p11->C_GenerateKey(sess, &gen, tmpl, 2, &t.key));
	RAND_bytes(r.key_bytes, sizeof r.key_bytes);
	r.cipher = EVP_CIPHER_fetch(NULL, "SM4-CBC", NULL);
	r.ctx = EVP_CIPHER_CTX_new();
	if (!r.cipher || !r.ctx) {
		fprintf(stderr, "bench_sm: no SM4-CBC in this OpenSSL\n");
		exit(1);
	}
	race(&ts, &rs);
	report("SM4-CBC C_Encrypt, 8 KB:", "MB/s", BIG / 1e6, &ts, &rs,
	       "raw EVP_EncryptUpdate/Final:", 0.9);
	EVP_CIPHER_CTX_free(r.ctx);
	EVP_CIPHER_free(r.cipher);
	CALL(p11->C_DestroyObject(sess, t.key));
}

int main(int argc, char **argv)
{
	const char *module = NULL, *only = "sm2,sm3,sm4";

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
			seconds = strtod(argv[++i], NULL);
		} else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
			only = argv[++i];
		} else if (argv[i][0] != '-' && !module) {
			module = argv[i];
		} else {
			fprintf(stderr, "usage: bench_sm [--seconds S] [--only sm2,sm3,sm4] "
					"[MODULE]\n");
			return 2;
		}
	}
	if (seconds <= 0)
		seconds = 2.0;
	if (!module)
		module = getenv("SEALKIT_MODULE");
	if (!module || !*module)
		module = ".libs/sealkit-pkcs11.so";
	load(module);
	RAND_bytes(msg, sizeof msg);
	printf("sealkit bench_sm: module %s; %.1f s of CPU per figure, token and raw in turns; "
	       "%ld CPUs online\n",
	       module, seconds, sysconf(_SC_NPROCESSORS_ONLN));
	if (strstr(only, "sm2"))
		bench_sm2();
	if (strstr(only, "sm3"))
		bench_sm3();
	if (strstr(only, "sm4"))
		bench_sm4();
	CALL(p11->C_Finalize(NULL));
	return 0;
}
