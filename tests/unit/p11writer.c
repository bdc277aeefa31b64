/* A PKCS#11 application for the crash and multi-process tests: it loads the
 * built module like any client does.
 *   p11writer init                    make a token (SO and user PIN) in slot 0
 *   p11writer write PREFIX COUNT      create token objects, print each label
 *                                     once C_CreateObject has returned OK
 *   p11writer check < LABELS          every label is there exactly once, with
 *                                     the value write gave it */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkcs11x.h"

static CK_FUNCTION_LIST *p11;

#define SO_PIN "12345678"
#define USER_PIN "87654321"

static void die(const char *what, CK_RV rv)
{
	fprintf(stderr, "p11writer: %s failed: 0x%lx\n", what, (unsigned long)rv);
	exit(1);
}

#define CALL(x)                                                                                    \
	do {                                                                                       \
		CK_RV rv_ = (x);                                                                   \
		if (rv_ != CKR_OK)                                                                 \
			die(#x, rv_);                                                              \
	} while (0)

static void value_for(const char *label, unsigned char out[64])
{
	/* Deterministic contents so the check is exact. */
	unsigned h = 2166136261u;
	for (const char *p = label; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	for (int i = 0; i < 64; i++) {
		h = h * 1103515245u + 12345u;
		out[i] = (unsigned char)(h >> 16);
	}
}

static CK_SESSION_HANDLE user_session(void)
{
	CK_SESSION_HANDLE s;
	CALL(p11->C_OpenSession(0, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s));
	CALL(p11->C_Login(s, CKU_USER, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN)));
	return s;
}

static int do_init(void)
{
	CK_UTF8CHAR label[32];
	memset(label, ' ', sizeof label);
	memcpy(label, "crash", 5);
	CALL(p11->C_InitToken(0, (CK_UTF8CHAR *)SO_PIN, strlen(SO_PIN), label));
	CK_SESSION_HANDLE s;
	CALL(p11->C_OpenSession(0, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s));
	CALL(p11->C_Login(s, CKU_SO, (CK_UTF8CHAR *)SO_PIN, strlen(SO_PIN)));
	CALL(p11->C_InitPIN(s, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN)));
	return 0;
}

static int do_write(const char *prefix, long count)
{
	CK_SESSION_HANDLE s = user_session();
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (long i = 0; i < count; i++) {
		char label[64];
		unsigned char value[64];
		snprintf(label, sizeof label, "%s-%ld", prefix, i);
		value_for(label, value);
		CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
		CK_OBJECT_HANDLE h;
		/* Alternate public data objects and sealed secret keys. */
		if (i % 2) {
			CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
			CK_KEY_TYPE kt = CKK_GENERIC_SECRET;
			CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof cls},
					    {CKA_KEY_TYPE, &kt, sizeof kt},
					    {CKA_TOKEN, &yes, 1},
					    {CKA_SENSITIVE, &no, 1},
					    {CKA_EXTRACTABLE, &yes, 1},
					    {CKA_LABEL, label, strlen(label)},
					    {CKA_VALUE, value, sizeof value}};
			CALL(p11->C_CreateObject(s, t, 7, &h));
		} else {
			CK_OBJECT_CLASS cls = CKO_DATA;
			CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof cls},
					    {CKA_TOKEN, &yes, 1},
					    {CKA_LABEL, label, strlen(label)},
					    {CKA_VALUE, value, sizeof value}};
			CALL(p11->C_CreateObject(s, t, 4, &h));
		}
		printf("%s\n", label);
	}
	return 0;
}

static int do_check(void)
{
	CK_SESSION_HANDLE s = user_session();
	char line[128];
	long n = 0, bad = 0;
	while (fgets(line, sizeof line, stdin)) {
		line[strcspn(line, "\n")] = '\0';
		if (!*line)
			continue;
		n++;
		CK_ATTRIBUTE q = {CKA_LABEL, line, strlen(line)};
		CK_OBJECT_HANDLE hs[2];
		CK_ULONG found = 0;
		CALL(p11->C_FindObjectsInit(s, &q, 1));
		CALL(p11->C_FindObjects(s, hs, 2, &found));
		CALL(p11->C_FindObjectsFinal(s));
		if (found != 1) {
			fprintf(stderr, "p11writer: %s found %lu times\n", line,
				(unsigned long)found);
			bad++;
			continue;
		}
		unsigned char want[64], got[64];
		value_for(line, want);
		CK_ATTRIBUTE v = {CKA_VALUE, got, sizeof got};
		CK_RV rv = p11->C_GetAttributeValue(s, hs[0], &v, 1);
		if (rv != CKR_OK || v.ulValueLen != 64 || memcmp(got, want, 64)) {
			fprintf(stderr, "p11writer: %s has the wrong value (rv 0x%lx)\n", line,
				(unsigned long)rv);
			bad++;
		}
	}
	printf("%ld objects checked, %ld bad\n", n, bad);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *path = getenv("SEALKIT_MODULE");
	if (!path || argc < 2) {
		fprintf(stderr, "usage: SEALKIT_MODULE=... p11writer init|write PREFIX N|check\n");
		return 2;
	}
	void *lib = dlopen(path, RTLD_NOW);
	if (!lib) {
		fprintf(stderr, "p11writer: %s\n", dlerror());
		return 2;
	}
	CK_C_GetFunctionList gfl = (CK_C_GetFunctionList)dlsym(lib, "C_GetFunctionList");
	CALL(gfl(&p11));
	CALL(p11->C_Initialize(NULL));
	int r = 2;
	if (!strcmp(argv[1], "init"))
		r = do_init();
	else if (!strcmp(argv[1], "write") && argc == 4)
		r = do_write(argv[2], atol(argv[3]));
	else if (!strcmp(argv[1], "check"))
		r = do_check();
	p11->C_Finalize(NULL);
	return r;
}
