/* libsealkit speed and memory (issue targets):
 *   stamping a 1 MB document      <= 1.1x (SM3 of 1 MB + one raw SM2 C_Sign on the token)
 *   verifying that stamp          <= 1.1x (SM3 of 1 MB + two SM2 verifications + reading
 *                                          the two certificates)
 *   stamping a 1 GB stream        < 32 MB resident
 * Usage: SEALKIT_MODULE=.../sealkit-pkcs11.so bench_stamp [--seconds S] [--gigabytes G] */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "pkcs11x.h"
#include "sealkit/make.h"
#include "tokensetup.h"

#define PIN "11223344"
#define DOC_SIZE (1u << 20)

static double seconds = 2.0;
static sealkit_signer *maker, *signer;
static unsigned char *ca, *cert, *seal, *doc;
static size_t ca_len, cert_len, seal_len;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const sealkit_error *err)
{
	fprintf(stderr, "bench_stamp: %s: %s\n", what, err ? err->message : "failed");
	exit(1);
}

/* Runs fn until `seconds` pass; returns calls per second. */
static double rate(void (*fn)(void))
{
	double start = now(), end;
	long n = 0;
	fn(); /* warm up */
	do {
		fn();
		n++;
		end = now();
	} while (end - start < seconds);
	return (double)n / (end - start);
}

/* ---- raw: what a stamp costs at least ---- */

static CK_FUNCTION_LIST *p11;
static CK_SESSION_HANDLE raw_session;
static CK_OBJECT_HANDLE raw_key;

static void raw_setup(void)
{
	void *h = dlopen(getenv("SEALKIT_MODULE"), RTLD_NOW);
	CK_C_GetFunctionList gfl = (CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList");
	CK_SLOT_ID slots[16];
	CK_ULONG n = 16;
	gfl(&p11);
	/* The library has initialised this very module instance already. */
	CK_RV rv = p11->C_Initialize(NULL);
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED)
		die("C_Initialize", NULL);
	p11->C_GetSlotList(CK_TRUE, slots, &n);
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;
		if (p11->C_GetTokenInfo(slots[i], &ti) == CKR_OK && (ti.flags & CKF_TOKEN_INITIALIZED))
			p11->C_OpenSession(slots[i], CKF_SERIAL_SESSION, NULL, NULL, &raw_session);
	}
	rv = p11->C_Login(raw_session, CKU_USER, (CK_UTF8CHAR_PTR)PIN, strlen(PIN));
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN)
		die("C_Login", NULL);
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_LABEL, "signer", 6}};
	p11->C_FindObjectsInit(raw_session, t, 2);
	p11->C_FindObjects(raw_session, &raw_key, 1, &n);
	p11->C_FindObjectsFinal(raw_session);
	if (n != 1)
		die("finding the signer key", NULL);
}

static void raw_stamp(void)
{
	unsigned char e[32], sig[64];
	unsigned elen;
	CK_ULONG slen = sizeof sig;
	CK_MECHANISM m = {CKM_SM2, NULL, 0};
	EVP_Digest(doc, DOC_SIZE, e, &elen, EVP_sm3(), NULL);
	if (p11->C_SignInit(raw_session, &m, raw_key) != CKR_OK ||
	    p11->C_Sign(raw_session, e, sizeof e, sig, &slen) != CKR_OK)
		die("raw C_Sign", NULL);
}

static unsigned char *stamp_der;
static size_t stamp_len;
static sealkit_stamp *parsed;
static EVP_PKEY *maker_pub, *signer_pub;

static bool sm2_verify(EVP_PKEY *pub, sealkit_bytes tbs, sealkit_bytes sig)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	bool ok = EVP_DigestVerifyInit(md, &pctx, EVP_sm3(), NULL, pub) > 0 &&
		  EVP_PKEY_CTX_set1_id(pctx, "1234567812345678", 16) > 0 &&
		  EVP_DigestVerify(md, sig.data, sig.len, tbs.data, tbs.len) == 1;
	EVP_MD_CTX_free(md);
	return ok;
}

/* Hash, both signatures, and reading both certificates. */
static void raw_verify(void)
{
	unsigned char e[32];
	unsigned elen;
	const unsigned char *p = parsed->seal->maker_cert.data;
	X509 *a = d2i_X509(NULL, &p, (long)parsed->seal->maker_cert.len);
	p = parsed->signer_cert.data;
	X509 *b = d2i_X509(NULL, &p, (long)parsed->signer_cert.len);
	EVP_Digest(doc, DOC_SIZE, e, &elen, EVP_sm3(), NULL);
	if (!a || !b || memcmp(e, parsed->data_hash.data, 32) ||
	    !sm2_verify(X509_get0_pubkey(a), parsed->seal->tbs, parsed->seal->sig.value) ||
	    !sm2_verify(X509_get0_pubkey(b), parsed->tbs, parsed->sig.value))
		die("raw verification", NULL);
	X509_free(a);
	X509_free(b);
}

/* ---- through libsealkit ---- */

static void lib_stamp(void)
{
	sealkit_stamp_request q = {.seal = {seal, seal_len},
				   .document = {.data = doc, .len = DOC_SIZE}};
	sealkit_bytes c = {cert, cert_len};
	sealkit_error err;
	free(stamp_der);
	if (sealkit_stamp_make(&q, signer, &c, &stamp_der, &stamp_len, &err) != SEALKIT_OK)
		die("sealkit_stamp_make", &err);
}

static void lib_verify(void)
{
	sealkit_document d = {.data = doc, .len = DOC_SIZE};
	sealkit_report *r = NULL;
	sealkit_error err;
	if (sealkit_verify_stamp(stamp_der, stamp_len, &d, NULL, &r, &err) != SEALKIT_OK ||
	    !r->valid)
		die("sealkit_verify_stamp", &err);
	sealkit_report_free(r);
}

/* A deterministic stream of `left` bytes. */
typedef struct stream {
	unsigned long long left;
	unsigned char x;
} stream;

static long stream_read(void *data, void *buf, size_t len)
{
	stream *s = data;
	size_t n = len < s->left ? len : (size_t)s->left;
	unsigned char *b = buf;
	for (size_t i = 0; i < n; i++)
		b[i] = s->x++;
	s->left -= n;
	return (long)n;
}

static void setup(void)
{
	static const char *const keys[] = {"maker", "signer"};
	char dir[512];
	sealkit_error err;
	if (!tokensetup_dir(dir, sizeof dir, "bench_stamp"))
		die("temporary token directory", NULL);
	if (!tokensetup_sm2("bench", PIN, keys, 2))
		die("token set-up", NULL);
	sealkit_token_options o = {.pin = PIN};
	if (sealkit_signer_open(NULL, "pkcs11:token=bench;object=maker;type=private", &o, &maker,
				&err) != SEALKIT_OK ||
	    sealkit_signer_open(NULL, "pkcs11:token=bench;object=signer;type=private", &o, &signer,
				&err) != SEALKIT_OK)
		die("opening the keys", &err);
	sealkit_cert_request r = {.subject = "/CN=bench CA", .days = 10, .ca = 1};
	r.subject_spki.data = sealkit_signer_public_key(maker, &r.subject_spki.len);
	if (sealkit_cert_issue(&r, maker, NULL, &ca, &ca_len, &err) != SEALKIT_OK)
		die("CA certificate", &err);
	sealkit_bytes cab = {ca, ca_len};
	r = (sealkit_cert_request){.subject = "/CN=bench signer", .days = 10};
	r.subject_spki.data = sealkit_signer_public_key(signer, &r.subject_spki.len);
	if (sealkit_cert_issue(&r, maker, &cab, &cert, &cert_len, &err) != SEALKIT_OK)
		die("signer certificate", &err);
	sealkit_bytes certs[] = {{cert, cert_len}};
	sealkit_seal_fields fields = {.vid = "bench", .es_id = "B1", .type = 1, .name = "bench",
				      .cert_list_type = SEALKIT_CERT_LIST_CERTS, .certs = certs,
				      .n_certs = 1, .create_date = time(NULL),
				      .valid_start = time(NULL) - 10,
				      .valid_end = time(NULL) + 86400, .picture_type = "PNG",
				      .picture = {(const unsigned char *)"png", 3}, .width = 40,
				      .height = 40};
	if (sealkit_seal_make(&fields, maker, &cab, &seal, &seal_len, &err) != SEALKIT_OK)
		die("seal", &err);
	doc = malloc(DOC_SIZE);
	for (size_t i = 0; i < DOC_SIZE; i++)
		doc[i] = (unsigned char)(i * 7);
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir); /* the module keeps its files open */
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

int main(int argc, char **argv)
{
	double gigabytes = 1.0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			seconds = atof(argv[++i]);
		else if (!strcmp(argv[i], "--gigabytes") && i + 1 < argc)
			gigabytes = atof(argv[++i]);
		else {
			fprintf(stderr, "usage: bench_stamp [--seconds S] [--gigabytes G]\n");
			return 2;
		}
	}
	if (!getenv("SEALKIT_MODULE")) {
		fprintf(stderr, "bench_stamp: set SEALKIT_MODULE to the built sealkit-pkcs11.so\n");
		return 2;
	}
	setup();
	raw_setup();
	lib_stamp();
	sealkit_error err;
	if (sealkit_stamp_parse(stamp_der, stamp_len, 0, &parsed, NULL, &err) != SEALKIT_OK)
		die("parse", &err);
	(void)maker_pub;
	(void)signer_pub;

	double rs = rate(raw_stamp), ls = rate(lib_stamp);
	printf("stamp 1 MB:  raw (SM3 + C_Sign) %8.1f/s   libsealkit %8.1f/s   cost ratio %.3f "
	       "(target <= 1.1)\n",
	       rs, ls, rs / ls);
	double rv = rate(raw_verify), lv = rate(lib_verify);
	printf("verify 1 MB: raw (SM3 + 2 SM2 + certs) %8.1f/s   libsealkit %8.1f/s   cost ratio "
	       "%.3f (target <= 1.1)\n",
	       rv, lv, rv / lv);

	/* Memory: a stamp over a long stream. */
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	long before = ru.ru_maxrss;
	stream s = {(unsigned long long)(gigabytes * 1073741824.0), 0};
	sealkit_stamp_request q = {.seal = {seal, seal_len},
				   .document = {.read = stream_read, .read_data = &s}};
	sealkit_bytes c = {cert, cert_len};
	unsigned char *big = NULL;
	size_t big_len;
	double t0 = now();
	if (sealkit_stamp_make(&q, signer, &c, &big, &big_len, &err) != SEALKIT_OK)
		die("big stamp", &err);
	double t1 = now();
	getrusage(RUSAGE_SELF, &ru);
	printf("stamp %.1f GB stream: %.1f s, peak resident %.1f MB (before: %.1f MB; target < 32 "
	       "MB)\n",
	       gigabytes, t1 - t0, ru.ru_maxrss / 1024.0, before / 1024.0);
	free(big);
	sealkit_stamp_free(parsed);
	free(stamp_der);
	sealkit_signer_free(maker);
	sealkit_signer_free(signer);
	free(ca);
	free(cert);
	free(seal);
	free(doc);
	return 0;
}
