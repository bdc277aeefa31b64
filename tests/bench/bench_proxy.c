/* The cost of a proxy slot: C_SignInit + C_Sign (ECDSA P-256 on a SHA-256
 * hash) on a SoftHSMv2 key, called on SoftHSM directly and through
 * sealkit-pkcs11.so's proxied slot for the same token, in the same process
 * and alternating rounds. Also a cheap call (C_GenerateRandom of 16 bytes),
 * where the overhead is not hidden by the signature, and CKM_ECDSA_SHA256,
 * which the proxy completes (SoftHSM 2.6 has CKM_ECDSA only). Prints figures
 * against the target (overhead under 2 us per call, or the proxied rate at
 * least 0.97 of the direct one); no pass/fail.
 *
 *   bench_proxy [--seconds S] [--rounds N] [MODULE]
 *
 * MODULE defaults to $SEALKIT_MODULE, then .libs/sealkit-pkcs11.so. SoftHSM's
 * token lives in a new temporary directory (softhsm2-util makes it). */
#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

#define SOFTHSM "/usr/lib/softhsm/libsofthsm2.so"
#define LABEL "bench-proxy"
#define PIN "11223344"

static double seconds = 1.0;
static int rounds = 5;
static char tmp[256];

static void check(CK_RV rv, const char *call)
{
	if (rv != CKR_OK) {
		fprintf(stderr, "bench_proxy: %s failed: rv = 0x%08lx\n", call, (unsigned long)rv);
		exit(1);
	}
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static CK_FUNCTION_LIST *load(const char *path)
{
	CK_C_GetFunctionList get;
	CK_FUNCTION_LIST *fl;
	void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!dl) {
		fprintf(stderr, "bench_proxy: %s\n", dlerror());
		exit(1);
	}
	get = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList");
	if (!get)
		exit(1);
	check(get(&fl), "C_GetFunctionList");
	return fl;
}

/* The slot holding the token LABEL. */
static CK_SLOT_ID find_slot(CK_FUNCTION_LIST *fl)
{
	CK_SLOT_ID ids[32];
	CK_ULONG n = 32;
	char want[32];
	memset(want, ' ', sizeof want);
	memcpy(want, LABEL, strlen(LABEL));
	check(fl->C_GetSlotList(CK_TRUE, ids, &n), "C_GetSlotList");
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;
		if (fl->C_GetTokenInfo(ids[i], &ti) == CKR_OK && !memcmp(ti.label, want, 32))
			return ids[i];
	}
	fprintf(stderr, "bench_proxy: no token %s\n", LABEL);
	exit(1);
}

static CK_SESSION_HANDLE login(CK_FUNCTION_LIST *fl, CK_SLOT_ID slot)
{
	CK_SESSION_HANDLE s;
	check(fl->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s),
	      "C_OpenSession");
	CK_RV rv = fl->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)PIN, strlen(PIN));
	if (rv != CKR_USER_ALREADY_LOGGED_IN)
		check(rv, "C_Login");
	return s;
}

static CK_OBJECT_HANDLE find_key(CK_FUNCTION_LIST *fl, CK_SESSION_HANDLE s)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_LABEL, "k", 1}};
	CK_OBJECT_HANDLE h;
	CK_ULONG n = 0;
	check(fl->C_FindObjectsInit(s, t, 2), "C_FindObjectsInit");
	check(fl->C_FindObjects(s, &h, 1, &n), "C_FindObjects");
	check(fl->C_FindObjectsFinal(s), "C_FindObjectsFinal");
	if (n != 1)
		exit(1);
	return h;
}

typedef enum { SIGN_ECDSA, SIGN_ECDSA_SHA256, RANDOM } work;

/* Calls per second of one piece of work for `seconds`. */
static double rate(CK_FUNCTION_LIST *fl, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, work w)
{
	static CK_BYTE hash[32] = {1, 2, 3};
	CK_BYTE sig[128];
	CK_MECHANISM m = {w == SIGN_ECDSA ? CKM_ECDSA : CKM_ECDSA_SHA256, NULL, 0};
	long n = 0;
	double t0 = now(), t;
	do {
		for (int i = 0; i < 16; i++) {
			CK_ULONG len = sizeof sig;
			if (w == RANDOM) {
				check(fl->C_GenerateRandom(s, sig, 16), "C_GenerateRandom");
				continue;
			}
			check(fl->C_SignInit(s, &m, key), "C_SignInit");
			check(fl->C_Sign(s, hash, sizeof hash, sig, &len), "C_Sign");
		}
		n += 16;
		t = now();
	} while (t - t0 < seconds);
	return (double)n / (t - t0);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Median rates of `rounds` alternating rounds, direct then proxied. */
static void compare(const char *what, CK_FUNCTION_LIST *dfl, CK_SESSION_HANDLE ds,
		    CK_OBJECT_HANDLE dkey, CK_FUNCTION_LIST *pfl, CK_SESSION_HANDLE ps,
		    CK_OBJECT_HANDLE pkey, work dw, work pw, const char *target)
{
	double d[32], p[32];
	/* Which goes first alternates: a machine busy with something else
	 * then weighs on both alike. */
	for (int r = 0; r < rounds; r++) {
		if (r % 2)
			p[r] = rate(pfl, ps, pkey, pw);
		d[r] = rate(dfl, ds, dkey, dw);
		if (!(r % 2))
			p[r] = rate(pfl, ps, pkey, pw);
	}
	qsort(d, (size_t)rounds, sizeof *d, cmp_double);
	qsort(p, (size_t)rounds, sizeof *p, cmp_double);
	double dr = d[rounds / 2], pr = p[rounds / 2];
	printf("%-44s direct %9.0f/s %8.2f us   proxied %9.0f/s %8.2f us   overhead %6.2f us  "
	       "ratio %.3f  (%s)\n",
	       what, dr, 1e6 / dr, pr, 1e6 / pr, 1e6 / pr - 1e6 / dr, pr / dr, target);
}

static void cleanup(void)
{
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
	if (tmp[0] && system(cmd) != 0)
		fprintf(stderr, "bench_proxy: cannot remove %s\n", tmp);
}

int main(int argc, char **argv)
{
	const char *module = getenv("SEALKIT_MODULE");
	char cmd[2048];
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			seconds = atof(argv[++i]);
		else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = atoi(argv[++i]);
		else
			module = argv[i];
	}
	if (rounds < 1 || rounds > 32)
		rounds = 5;
	if (!module)
		module = ".libs/sealkit-pkcs11.so";
	if (access(SOFTHSM, R_OK) != 0 || system("command -v softhsm2-util >/dev/null") != 0) {
		printf("bench_proxy: SoftHSMv2 is not installed: nothing to measure\n");
		return 0;
	}
	snprintf(tmp, sizeof tmp, "%s/bench-proxy-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmp))
		return 1;
	atexit(cleanup);
	snprintf(cmd, sizeof cmd,
		 "mkdir %s/t && printf 'directories.tokendir = %s/t\\nobjectstore.backend = file\\n"
		 "log.level = ERROR\\n' >%s/softhsm2.conf && SOFTHSM2_CONF=%s/softhsm2.conf "
		 "softhsm2-util --init-token --free --label " LABEL " --so-pin 12345678 --pin " PIN
		 " >/dev/null && printf 'pin_iterations = 1000\\n' >%s/sealkit.conf",
		 tmp, tmp, tmp, tmp, tmp);
	if (system(cmd) != 0)
		return 1;
	snprintf(cmd, sizeof cmd, "%s/softhsm2.conf", tmp);
	setenv("SOFTHSM2_CONF", cmd, 1);
	snprintf(cmd, sizeof cmd, "%s/sealkit.conf", tmp);
	setenv("SEALKIT_CONF", cmd, 1);
	snprintf(cmd, sizeof cmd, "%s/soft", tmp);
	setenv("SEALKIT_TOKEN_DIR", cmd, 1);
	setenv("SEALKIT_PROXY_MODULE", SOFTHSM, 1);

	/* SoftHSM first, so the proxy shares its instance (and its key). */
	CK_FUNCTION_LIST *dfl = load(SOFTHSM), *pfl = load(module);
	check(dfl->C_Initialize(NULL), "C_Initialize (SoftHSM)");
	CK_SESSION_HANDLE ds = login(dfl, find_slot(dfl));
	static CK_BYTE p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
	CK_BBOOL t = CK_TRUE;
	CK_ATTRIBUTE pubt[] = {{CKA_EC_PARAMS, p256, sizeof p256}, {CKA_TOKEN, &t, sizeof t}};
	CK_ATTRIBUTE privt[] = {
		{CKA_TOKEN, &t, sizeof t}, {CKA_SIGN, &t, sizeof t}, {CKA_LABEL, "k", 1}};
	CK_MECHANISM gen = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
	CK_OBJECT_HANDLE pub, dkey;
	check(dfl->C_GenerateKeyPair(ds, &gen, pubt, 2, privt, 3, &pub, &dkey),
	      "C_GenerateKeyPair");

	CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK};
	check(pfl->C_Initialize(&args), "C_Initialize (sealkit)");
	CK_SESSION_HANDLE ps = login(pfl, find_slot(pfl));
	CK_OBJECT_HANDLE pkey = find_key(pfl, ps);

	printf("bench_proxy: %s over %s, %d rounds of %.1f s each, medians\n", module, SOFTHSM,
	       rounds, seconds);
	compare("C_SignInit+C_Sign ECDSA P-256", dfl, ds, dkey, pfl, ps, pkey, SIGN_ECDSA,
		SIGN_ECDSA, "target: overhead < 2 us or ratio >= 0.97");
	compare("C_GenerateRandom 16 bytes", dfl, ds, dkey, pfl, ps, pkey, RANDOM, RANDOM,
		"pure forwarding cost");
	compare("ECDSA-SHA256 (proxy hashes) vs ECDSA", dfl, ds, dkey, pfl, ps, pkey, SIGN_ECDSA,
		SIGN_ECDSA_SHA256, "completion, 32-byte message");

	check(pfl->C_Finalize(NULL), "C_Finalize (sealkit)");
	check(dfl->C_Finalize(NULL), "C_Finalize (SoftHSM)");
	return 0;
}
