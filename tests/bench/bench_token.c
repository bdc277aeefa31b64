/* Benchmarks of the built sealkit-pkcs11.so, loaded with dlopen as users load
 * it, against raw OpenSSL EVP in the same process. Prints one line per figure
 * with the target it is measured against; no pass/fail.
 *
 *   bench_token [--objects N] [--seconds S] [--dir DIR] [--keep]
 *               [--create-limit S] [--only ecdsa,aes,find] [MODULE]
 *
 * MODULE defaults to $SEALKIT_MODULE, then .libs/sealkit-pkcs11.so. Tokens live
 * in a new temporary directory unless --dir names one (a token labelled
 * "bench" found there is reused, with its objects). --only runs some parts
 * (for profiling); "find" includes the C_Initialize..C_Login figure. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* nftw's FTW_* flags */
#endif
#include <dlfcn.h>
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <p11-kit/pkcs11.h>

#define TOKEN_LABEL "bench"
#define SO_PIN "87654321"
#define USER_PIN "11223344"
#define LOOKUPS 1000
#define INIT_ROUNDS 7
#define AES_MSG 8192

static CK_FUNCTION_LIST_PTR p11;
static CK_SLOT_ID slot;
static double bench_seconds = 2.0;
static const char *temp_dir; /* removed at exit unless --keep or --dir */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void remove_temp_dir(void)
{
	if (temp_dir)
		nftw(temp_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("bench_token: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void check(CK_RV rv, const char *call)
{
	if (rv != CKR_OK)
		die("%s failed: rv = 0x%08lx", call, (unsigned long)rv);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void pad_label(CK_UTF8CHAR out[32], const char *label)
{
	memset(out, ' ', 32);
	memcpy(out, label, strlen(label));
}

static void figure(const char *what, double ratio, const char *cmp, double target,
		   const char *target_text)
{
	bool met = strcmp(cmp, ">=") == 0 ? ratio >= target : ratio < target;
	printf("%s   [target %s: %s]\n", what, target_text, met ? "met" : "MISSED");
}

/* ---- module set-up -------------------------------------------------------------- */

static void module_init(void)
{
	CK_C_INITIALIZE_ARGS args;
	memset(&args, 0, sizeof args);
	args.flags = CKF_OS_LOCKING_OK;
	check(p11->C_Initialize(&args), "C_Initialize");
}

/* The slot of the token labelled "bench", initialising the first free slot
 * when there is none. */
static CK_SLOT_ID find_or_init_token(bool *fresh)
{
	CK_SLOT_ID slots[64];
	CK_ULONG n = 64;
	CK_UTF8CHAR label[32];
	pad_label(label, TOKEN_LABEL);
	check(p11->C_GetSlotList(CK_FALSE, slots, &n), "C_GetSlotList");
	CK_SLOT_ID free_slot = (CK_SLOT_ID)-1;
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;
		if (p11->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
			continue;
		if (!(ti.flags & CKF_TOKEN_INITIALIZED)) {
			if (free_slot == (CK_SLOT_ID)-1)
				free_slot = slots[i];
			continue;
		}
		if (!memcmp(ti.label, label, 32)) {
			*fresh = false;
			return slots[i];
		}
	}
	if (free_slot == (CK_SLOT_ID)-1)
		die("no token '%s' and no free slot", TOKEN_LABEL);
	check(p11->C_InitToken(free_slot, (CK_UTF8CHAR_PTR)SO_PIN, strlen(SO_PIN), label),
	      "C_InitToken");
	CK_SESSION_HANDLE s;
	check(p11->C_OpenSession(free_slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s),
	      "C_OpenSession");
	check(p11->C_Login(s, CKU_SO, (CK_UTF8CHAR_PTR)SO_PIN, strlen(SO_PIN)), "C_Login(SO)");
	check(p11->C_InitPIN(s, (CK_UTF8CHAR_PTR)USER_PIN, strlen(USER_PIN)), "C_InitPIN");
	check(p11->C_Logout(s), "C_Logout");
	check(p11->C_CloseSession(s), "C_CloseSession");
	*fresh = true;
	return free_slot;
}

static CK_SESSION_HANDLE open_session(void)
{
	CK_SESSION_HANDLE s;
	check(p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s),
	      "C_OpenSession");
	return s;
}

/* ---- (a) ECDSA P-256 ------------------------------------------------------------- */

static CK_OBJECT_HANDLE ec_key;
static EVP_PKEY *raw_ec_key;
/* The P-256 public key's CKA_EC_PARAMS and CKA_EC_POINT, copied into the
 * many token objects of (c). */
static CK_BYTE ec_params[16], ec_point[80];
static CK_ULONG ec_params_len, ec_point_len;
static unsigned char hash32[32];

struct worker {
	bool raw;
	double deadline;
	unsigned long ops;
	pthread_barrier_t *ready, *go;
};

static void *ecdsa_worker(void *arg)
{
	struct worker *w = arg;
	CK_SESSION_HANDLE s = 0;
	CK_MECHANISM mech = {CKM_ECDSA, NULL, 0};
	unsigned char sig[128];
	if (!w->raw)
		s = open_session();
	pthread_barrier_wait(w->ready);
	pthread_barrier_wait(w->go);
	while (now() < w->deadline) {
		if (w->raw) {
			size_t len = sizeof sig;
			EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(raw_ec_key, NULL);
			if (!ctx || EVP_PKEY_sign_init(ctx) <= 0 ||
			    EVP_PKEY_sign(ctx, sig, &len, hash32, sizeof hash32) <= 0)
				die("EVP_PKEY_sign failed");
			EVP_PKEY_CTX_free(ctx);
		} else {
			CK_ULONG len = sizeof sig;
			check(p11->C_SignInit(s, &mech, ec_key), "C_SignInit(CKM_ECDSA)");
			check(p11->C_Sign(s, hash32, sizeof hash32, sig, &len), "C_Sign");
		}
		w->ops++;
	}
	if (!w->raw)
		check(p11->C_CloseSession(s), "C_CloseSession");
	return NULL;
}

/* Operations per second over bench_seconds with n threads, each with its own
 * session; the clock starts when every thread has its session. */
static double run_threads(int n, bool raw, void *(*fn)(void *))
{
	pthread_t th[8];
	struct worker w[8];
	pthread_barrier_t ready, go;
	pthread_barrier_init(&ready, NULL, (unsigned)n + 1);
	pthread_barrier_init(&go, NULL, (unsigned)n + 1);
	for (int i = 0; i < n; i++) {
		w[i] = (struct worker){.raw = raw, .ready = &ready, .go = &go};
		if (pthread_create(&th[i], NULL, fn, &w[i]))
			die("pthread_create failed");
	}
	pthread_barrier_wait(&ready);
	double t0 = now();
	for (int i = 0; i < n; i++)
		w[i].deadline = t0 + bench_seconds;
	pthread_barrier_wait(&go);
	unsigned long ops = 0;
	for (int i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		ops += w[i].ops;
	}
	double t1 = now();
	pthread_barrier_destroy(&ready);
	pthread_barrier_destroy(&go);
	return (double)ops / (t1 - t0);
}

static void bench_ecdsa(void)
{
	CK_SESSION_HANDLE s = open_session();
	static CK_BYTE p256_oid[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ATTRIBUTE pub[] = {
		{CKA_TOKEN, &no, sizeof no},
		{CKA_VERIFY, &yes, sizeof yes},
		{CKA_EC_PARAMS, p256_oid, sizeof p256_oid},
	};
	CK_ATTRIBUTE priv[] = {
		{CKA_TOKEN, &no, sizeof no},
		{CKA_PRIVATE, &yes, sizeof yes},
		{CKA_SENSITIVE, &yes, sizeof yes},
		{CKA_SIGN, &yes, sizeof yes},
	};
	CK_MECHANISM gen = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
	CK_OBJECT_HANDLE pub_key;
	check(p11->C_GenerateKeyPair(s, &gen, pub, 3, priv, 4, &pub_key, &ec_key),
	      "C_GenerateKeyPair(P-256)");
	CK_ATTRIBUTE get[] = {
		{CKA_EC_PARAMS, ec_params, sizeof ec_params},
		{CKA_EC_POINT, ec_point, sizeof ec_point},
	};
	check(p11->C_GetAttributeValue(s, pub_key, get, 2), "C_GetAttributeValue(EC_POINT)");
	ec_params_len = get[0].ulValueLen;
	ec_point_len = get[1].ulValueLen;
	raw_ec_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (!raw_ec_key)
		die("EVP_PKEY_Q_keygen(P-256) failed");
	RAND_bytes(hash32, sizeof hash32);

	double sk1 = run_threads(1, false, ecdsa_worker);
	double sk2 = run_threads(2, false, ecdsa_worker);
	double raw1 = run_threads(1, true, ecdsa_worker);
	double raw2 = run_threads(2, true, ecdsa_worker);
	char line[256];
	snprintf(line, sizeof line,
		 "ECDSA P-256 C_Sign, 1 thread:  %8.0f ops/s; raw EVP_PKEY_sign %8.0f ops/s; "
		 "sealkit/raw %.2f",
		 sk1, raw1, sk1 / raw1);
	figure(line, sk1 / raw1, ">=", 0.9, ">= 0.90x raw");
	snprintf(line, sizeof line,
		 "ECDSA P-256 C_Sign, 2 threads: %8.0f ops/s; raw EVP_PKEY_sign %8.0f ops/s "
		 "(raw 2/1 threads %.2f); sealkit 2/1 threads %.2f",
		 sk2, raw2, raw2 / raw1, sk2 / sk1);
	figure(line, sk2 / sk1, ">=", 1.8, ">= 1.80x own 1-thread");
	EVP_PKEY_free(raw_ec_key);
	check(p11->C_CloseSession(s), "C_CloseSession");
}

/* ---- (b) AES-128-GCM 8 KB -------------------------------------------------------- */

static void bench_aes_gcm(void)
{
	CK_SESSION_HANDLE s = open_session();
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ULONG key_len = 16;
	CK_ATTRIBUTE tmpl[] = {
		{CKA_TOKEN, &no, sizeof no},
		{CKA_PRIVATE, &yes, sizeof yes},
		{CKA_ENCRYPT, &yes, sizeof yes},
		{CKA_VALUE_LEN, &key_len, sizeof key_len},
	};
	CK_MECHANISM gen = {CKM_AES_KEY_GEN, NULL, 0};
	CK_OBJECT_HANDLE key;
	check(p11->C_GenerateKey(s, &gen, tmpl, 4, &key), "C_GenerateKey(AES-128)");

	static unsigned char msg[AES_MSG], out[AES_MSG + 32];
	unsigned char iv[12] = {0}, raw_key[16];
	RAND_bytes(msg, sizeof msg);
	RAND_bytes(raw_key, sizeof raw_key);
	uint64_t counter = 0;

	unsigned long ops = 0;
	double t0 = now(), t1;
	do {
		counter++;
		memcpy(iv + 4, &counter, sizeof counter);
		CK_GCM_PARAMS gcm = {iv, sizeof iv, 96, NULL, 0, 128};
		CK_MECHANISM mech = {CKM_AES_GCM, &gcm, sizeof gcm};
		CK_ULONG len = sizeof out;
		check(p11->C_EncryptInit(s, &mech, key), "C_EncryptInit(CKM_AES_GCM)");
		check(p11->C_Encrypt(s, msg, sizeof msg, out, &len), "C_Encrypt(CKM_AES_GCM)");
		if (len != AES_MSG + 16)
			die("C_Encrypt(CKM_AES_GCM) of %d bytes gave %lu", AES_MSG, (unsigned long)len);
		ops++;
	} while ((t1 = now()) - t0 < bench_seconds);
	double sk = (double)ops * AES_MSG / (t1 - t0) / 1e6;

	EVP_CIPHER *cipher = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	if (!cipher || !ctx)
		die("EVP_CIPHER_fetch(AES-128-GCM) failed");
	ops = 0;
	t0 = now();
	do {
		int len, fin;
		counter++;
		memcpy(iv + 4, &counter, sizeof counter);
		if (!EVP_EncryptInit_ex2(ctx, cipher, raw_key, iv, NULL) ||
		    !EVP_EncryptUpdate(ctx, out, &len, msg, sizeof msg) ||
		    !EVP_EncryptFinal_ex(ctx, out + len, &fin) ||
		    !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, out + AES_MSG))
			die("EVP AES-128-GCM failed");
		ops++;
	} while ((t1 = now()) - t0 < bench_seconds);
	double raw = (double)ops * AES_MSG / (t1 - t0) / 1e6;
	EVP_CIPHER_CTX_free(ctx);
	EVP_CIPHER_free(cipher);

	char line[256];
	snprintf(line, sizeof line,
		 "AES-128-GCM C_Encrypt of 8 KB (C_EncryptInit each): %7.1f MB/s; raw EVP "
		 "%7.1f MB/s; sealkit/raw %.2f",
		 sk, raw, sk / raw);
	figure(line, sk / raw, ">=", 0.8, ">= 0.80x raw");
	check(p11->C_CloseSession(s), "C_CloseSession");
}

/* ---- (c) C_FindObjects among many token objects ---------------------------------- */

static void obj_id(char *buf, size_t n, unsigned long i)
{
	snprintf(buf, n, "id-%08lu", i);
}

static void obj_label(char *buf, size_t n, unsigned long i)
{
	snprintf(buf, n, "object %08lu", i);
}

/* The objects are public EC keys: cheap to make and to look up by CKA_ID
 * and CKA_LABEL (CKO_DATA objects have no CKA_ID). */
static unsigned long count_token_objects(CK_SESSION_HANDLE s)
{
	CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
	CK_BBOOL yes = CK_TRUE;
	CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_TOKEN, &yes, sizeof yes}};
	CK_OBJECT_HANDLE h[1024];
	CK_ULONG got;
	unsigned long total = 0;
	check(p11->C_FindObjectsInit(s, t, 2), "C_FindObjectsInit(CKO_PUBLIC_KEY)");
	do {
		check(p11->C_FindObjects(s, h, 1024, &got), "C_FindObjects");
		total += got;
	} while (got);
	check(p11->C_FindObjectsFinal(s), "C_FindObjectsFinal");
	return total;
}

/* Makes token objects 0..want-1 (from `have` on); returns how many exist. */
static unsigned long create_objects(CK_SESSION_HANDLE s, unsigned long have, unsigned long want,
				    double limit)
{
	if (have >= want) {
		printf("create token objects: %lu public key objects already on the token\n", have);
		return have;
	}
	CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
	CK_KEY_TYPE kt = CKK_EC;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	char id[32], label[32];
	double t0 = now(), last = t0;
	unsigned long i;
	for (i = have; i < want; i++) {
		obj_id(id, sizeof id, i);
		obj_label(label, sizeof label, i);
		CK_ATTRIBUTE t[] = {
			{CKA_CLASS, &cls, sizeof cls},
			{CKA_KEY_TYPE, &kt, sizeof kt},
			{CKA_TOKEN, &yes, sizeof yes},
			{CKA_PRIVATE, &no, sizeof no},
			{CKA_ID, id, strlen(id)},
			{CKA_LABEL, label, strlen(label)},
			{CKA_EC_PARAMS, ec_params, ec_params_len},
			{CKA_EC_POINT, ec_point, ec_point_len},
		};
		CK_OBJECT_HANDLE h;
		check(p11->C_CreateObject(s, t, 8, &h), "C_CreateObject(CKO_PUBLIC_KEY, CKA_TOKEN)");
		double tn = now();
		if (tn - last >= 5) {
			fprintf(stderr, "  ... %lu of %lu objects, %.0f/s\n", i + 1, want,
				(double)(i + 1 - have) / (tn - t0));
			last = tn;
		}
		if (tn - t0 > limit) {
			i++;
			break;
		}
	}
	double secs = now() - t0;
	printf("create token objects: %lu public EC key objects with C_CreateObject in %.1f s "
	       "(%.0f objects/s, %.0f us each)%s\n",
	       i - have, secs, (double)(i - have) / secs, secs * 1e6 / (double)(i - have),
	       i < want ? "; STOPPED at --create-limit" : "");
	return i;
}

/* Median microseconds of FindObjectsInit + FindObjects + Final for a random
 * object by CKA_ID or CKA_LABEL; every lookup must find exactly that object. */
static double lookup_median(CK_SESSION_HANDLE s, unsigned long nobj, CK_ATTRIBUTE_TYPE type,
			    unsigned int *seed)
{
	static double us[LOOKUPS];
	for (int k = 0; k < LOOKUPS; k++) {
		char v[32];
		unsigned long i = (unsigned long)rand_r(seed) % nobj;
		if (type == CKA_ID)
			obj_id(v, sizeof v, i);
		else
			obj_label(v, sizeof v, i);
		CK_ATTRIBUTE t[] = {{type, v, strlen(v)}};
		CK_OBJECT_HANDLE h[4];
		CK_ULONG got;
		double t0 = now();
		check(p11->C_FindObjectsInit(s, t, 1), "C_FindObjectsInit");
		check(p11->C_FindObjects(s, h, 4, &got), "C_FindObjects");
		check(p11->C_FindObjectsFinal(s), "C_FindObjectsFinal");
		us[k] = (now() - t0) * 1e6;
		if (got != 1)
			die("C_FindObjects for %s '%s' found %lu objects, expected 1",
			    type == CKA_ID ? "CKA_ID" : "CKA_LABEL", v, (unsigned long)got);
	}
	return median(us, LOOKUPS);
}

static unsigned long bench_find(unsigned long want, double limit)
{
	CK_SESSION_HANDLE s = open_session();
	unsigned long nobj = create_objects(s, count_token_objects(s), want, limit);
	if (nobj == 0)
		die("no objects to look up");
	unsigned int seed = 12345;
	char line[256];
	double id_us = lookup_median(s, nobj, CKA_ID, &seed);
	snprintf(line, sizeof line,
		 "C_FindObjects by CKA_ID among %lu token objects: median %.1f us (%d lookups)",
		 nobj, id_us, LOOKUPS);
	figure(line, id_us, "<", 100, "< 100 us");
	double label_us = lookup_median(s, nobj, CKA_LABEL, &seed);
	snprintf(line, sizeof line,
		 "C_FindObjects by CKA_LABEL among %lu token objects: median %.1f us (%d lookups)",
		 nobj, label_us, LOOKUPS);
	figure(line, label_us, "<", 100, "< 100 us");
	check(p11->C_CloseSession(s), "C_CloseSession");
	return nobj;
}

/* ---- (d) C_Initialize .. C_Login on the big token -------------------------------- */

static void bench_init_login(unsigned long nobj)
{
	double ms[INIT_ROUNDS], first_us[INIT_ROUNDS];
	unsigned int seed = 777;
	for (int r = 0; r < INIT_ROUNDS; r++) {
		check(p11->C_Finalize(NULL), "C_Finalize");
		double t0 = now();
		module_init();
		CK_SESSION_HANDLE s = open_session();
		check(p11->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)USER_PIN, strlen(USER_PIN)),
		      "C_Login");
		double t1 = now();
		char v[32];
		obj_id(v, sizeof v, (unsigned long)rand_r(&seed) % nobj);
		CK_ATTRIBUTE t[] = {{CKA_ID, v, strlen(v)}};
		CK_OBJECT_HANDLE h[4];
		CK_ULONG got;
		check(p11->C_FindObjectsInit(s, t, 1), "C_FindObjectsInit");
		check(p11->C_FindObjects(s, h, 4, &got), "C_FindObjects");
		check(p11->C_FindObjectsFinal(s), "C_FindObjectsFinal");
		double t2 = now();
		if (got != 1)
			die("first C_FindObjects after login found %lu objects", (unsigned long)got);
		ms[r] = (t1 - t0) * 1e3;
		first_us[r] = (t2 - t1) * 1e6;
		check(p11->C_CloseSession(s), "C_CloseSession");
	}
	char line[256];
	double m = median(ms, INIT_ROUNDS);
	snprintf(line, sizeof line,
		 "C_Initialize + C_OpenSession + C_Login on a %lu-object token: median %.1f ms "
		 "(%d rounds, after C_Finalize)",
		 nobj, m, INIT_ROUNDS);
	figure(line, m, "<", 200, "< 200 ms");
	printf("first C_FindObjects by CKA_ID after that login: median %.1f us\n",
	       median(first_us, INIT_ROUNDS));
}

/* ---- main ----------------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr, "usage: bench_token [--objects N] [--seconds S] [--dir DIR] [--keep] "
			"[--create-limit S] [--only ecdsa,aes,find] [MODULE]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long objects = 100000;
	double create_limit = 900;
	const char *dir = NULL, *module = NULL, *only = "ecdsa,aes,find";
	bool keep = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--objects") && i + 1 < argc)
			objects = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			bench_seconds = strtod(argv[++i], NULL);
		else if (!strcmp(argv[i], "--create-limit") && i + 1 < argc)
			create_limit = strtod(argv[++i], NULL);
		else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			dir = argv[++i];
		else if (!strcmp(argv[i], "--only") && i + 1 < argc)
			only = argv[++i];
		else if (!strcmp(argv[i], "--keep"))
			keep = true;
		else if (argv[i][0] == '-' || module)
			usage();
		else
			module = argv[i];
	}
	if (objects == 0 || bench_seconds <= 0)
		usage();
	if (!module)
		module = getenv("SEALKIT_MODULE");
	if (!module || !*module)
		module = ".libs/sealkit-pkcs11.so";

	static char tmpdir[] = "/tmp/sealkit-bench.XXXXXX"; /* outlives main for atexit */
	if (!dir) {
		if (!mkdtemp(tmpdir))
			die("mkdtemp: %s", strerror(errno));
		dir = tmpdir;
	} else {
		keep = true;
	}
	if (!keep)
		temp_dir = dir;
	atexit(remove_temp_dir);
	setenv("SEALKIT_TOKEN_DIR", dir, 1);
	/* Default settings (real PIN derivation cost) unless the caller chose a config. */
	setenv("SEALKIT_CONF", "/dev/null", 0);

	void *lib = dlopen(module, RTLD_NOW | RTLD_LOCAL);
	if (!lib)
		die("dlopen %s: %s", module, dlerror());
	CK_C_GetFunctionList get_list;
	*(void **)&get_list = dlsym(lib, "C_GetFunctionList");
	if (!get_list)
		die("%s has no C_GetFunctionList", module);
	check(get_list(&p11), "C_GetFunctionList");

	printf("sealkit bench: module %s\n", module);
	printf("token dir %s, SEALKIT_CONF=%s, %ld CPUs online, %.1f s per measurement\n", dir,
	       getenv("SEALKIT_CONF"), sysconf(_SC_NPROCESSORS_ONLN), bench_seconds);
	fflush(stdout);

	module_init();
	bool fresh;
	slot = find_or_init_token(&fresh);
	{
		CK_SESSION_HANDLE s = open_session();
		check(p11->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)USER_PIN, strlen(USER_PIN)),
		      "C_Login");
		/* The login holds for all sessions of this process until C_Finalize. */
		if (strstr(only, "ecdsa") || strstr(only, "find"))
			bench_ecdsa(); /* (find copies its EC public key) */
		fflush(stdout);
		if (strstr(only, "aes"))
			bench_aes_gcm();
		fflush(stdout);
		unsigned long nobj = 0;
		if (strstr(only, "find"))
			nobj = bench_find(objects, create_limit);
		fflush(stdout);
		check(p11->C_CloseSession(s), "C_CloseSession");
		if (nobj)
			bench_init_login(nobj);
	}
	check(p11->C_Finalize(NULL), "C_Finalize");
	dlclose(lib);
	if (keep)
		printf("token kept in %s\n", dir);
	return 0;
}
