#include "tokensetup.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pkcs11x.h"

#define SO_PIN "87654321"

static bool need(CK_RV rv, const char *what)
{
	if (rv != CKR_OK)
		fprintf(stderr, "tokensetup: %s: 0x%lx\n", what, (unsigned long)rv);
	return rv == CKR_OK;
}

static bool gen_key(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, const char *name, bool sm2)
{
	static const CK_BYTE sm2_oid[] = SK_SM2_OID_DER;
	static const CK_BYTE p256_oid[] = "\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07";
	const CK_BYTE *oid = sm2 ? sm2_oid : p256_oid;
	CK_BBOOL t = CK_TRUE;
	CK_MECHANISM m = {sm2 ? CKM_SM2_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN, NULL, 0};
	CK_ATTRIBUTE pub[] = {{CKA_EC_PARAMS, (void *)oid, 10},
			      {CKA_TOKEN, &t, 1},
			      {CKA_LABEL, (void *)name, strlen(name)},
			      {CKA_ID, (void *)name, strlen(name)}};
	CK_ATTRIBUTE priv[] = {{CKA_TOKEN, &t, 1},
			       {CKA_LABEL, (void *)name, strlen(name)},
			       {CKA_ID, (void *)name, strlen(name)}};
	CK_OBJECT_HANDLE a, b;
	return need(f->C_GenerateKeyPair(s, &m, pub, 4, priv, 3, &a, &b), "C_GenerateKeyPair");
}

bool tokensetup_sm2(const char *label, const char *pin, const char *const *names, size_t n)
{
	return tokensetup(getenv("SEALKIT_MODULE"), label, pin, names, n, true);
}

bool tokensetup(const char *path, const char *label, const char *pin, const char *const *names,
		size_t n, bool sm2)
{
	void *h = path ? dlopen(path, RTLD_NOW | RTLD_LOCAL) : NULL;
	CK_C_GetFunctionList gfl = h ? (CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList") : NULL;
	CK_FUNCTION_LIST *f;
	CK_SLOT_ID slots[64];
	CK_ULONG ns = 64;
	CK_SESSION_HANDLE s;
	char padded[32];
	bool ok;

	if (!gfl || gfl(&f) != CKR_OK) {
		fprintf(stderr, "tokensetup: cannot load %s\n", path ? path : "(SEALKIT_MODULE unset)");
		if (h)
			dlclose(h);
		return false;
	}
	memset(padded, ' ', sizeof padded);
	memcpy(padded, label, strnlen(label, sizeof padded));
	ok = need(f->C_Initialize(NULL), "C_Initialize") &&
	     need(f->C_GetSlotList(CK_FALSE, slots, &ns), "C_GetSlotList");
	/* The free slot is the one without an initialised token. */
	CK_SLOT_ID slot = (CK_SLOT_ID)-1;
	for (CK_ULONG i = 0; ok && i < ns; i++) {
		CK_TOKEN_INFO ti;
		if (f->C_GetTokenInfo(slots[i], &ti) == CKR_OK &&
		    !(ti.flags & CKF_TOKEN_INITIALIZED))
			slot = slots[i];
	}
	ok = ok && slot != (CK_SLOT_ID)-1 &&
	     need(f->C_InitToken(slot, (CK_UTF8CHAR_PTR)SO_PIN, 8, (CK_UTF8CHAR_PTR)padded),
		  "C_InitToken") &&
	     need(f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s),
		  "C_OpenSession") &&
	     need(f->C_Login(s, CKU_SO, (CK_UTF8CHAR_PTR)SO_PIN, 8), "C_Login(SO)") &&
	     need(f->C_InitPIN(s, (CK_UTF8CHAR_PTR)pin, strlen(pin)), "C_InitPIN") &&
	     need(f->C_Logout(s), "C_Logout") &&
	     need(f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin)), "C_Login");
	for (size_t i = 0; ok && i < n; i++)
		ok = gen_key(f, s, names[i], sm2);
	f->C_Finalize(NULL);
	dlclose(h);
	return ok;
}

void *tokensetup_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	void *p = NULL;
	long n;
	*len = 0;
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (p = malloc((size_t)n + 1)) && fread(p, 1, (size_t)n, f) == (size_t)n)
		*len = (size_t)n;
	else {
		free(p);
		p = NULL;
	}
	fclose(f);
	return p;
}

bool tokensetup_spit(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	bool ok = f && fwrite(data, 1, len, f) == len;
	if (f)
		ok = fclose(f) == 0 && ok;
	return ok;
}

bool tokensetup_dir(char *dir, size_t len, const char *prefix)
{
	const char *tmp = getenv("TMPDIR");
	char tokens[600], conf[600];
	static const char fast[] = "pin_iterations = 1000\n";
	snprintf(dir, len, "%s/%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", prefix);
	if (!mkdtemp(dir))
		return false;
	snprintf(tokens, sizeof tokens, "%s/tokens", dir);
	snprintf(conf, sizeof conf, "%s/sealkit.conf", dir);
	if (mkdir(tokens, 0700) != 0 || !tokensetup_spit(conf, fast, sizeof fast - 1))
		return false;
	setenv("SEALKIT_TOKEN_DIR", tokens, 1);
	setenv("SEALKIT_CONF", conf, 1);
	return true;
}
