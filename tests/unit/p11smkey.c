/* Makes an SM2 key pair on a token, for the shell tests with real clients:
 * pkcs11-tool 0.23 and p11tool 3.7 cannot ask for the SM2 curve (their curve
 * tables lack it), so this stands in for their key generation step and the
 * clients then use the key.
 *   SEALKIT_MODULE=... p11smkey TOKEN-LABEL PIN HEX-ID LABEL sm2|ec
 * sm2: CKM_SM2_KEY_PAIR_GEN (0x80008001), ec: CKM_EC_KEY_PAIR_GEN; both with
 * CKA_EC_PARAMS = the SM2 curve OID. Prints the new public key's CKA_EC_POINT
 * in hex: pkcs11-tool 0.23 cannot read SM2 public keys either ("Reading public
 * keys of type 0x80000004 not (yet) supported"). */
#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkcs11x.h"

static CK_FUNCTION_LIST *p11;

static void need(CK_RV rv, const char *call)
{
	if (rv == CKR_OK)
		return;
	fprintf(stderr, "p11smkey: %s: rv = 0x%08lx\n", call, (unsigned long)rv);
	exit(1);
}

/* The slot whose token is labelled `label` (blank-padded to 32). */
static CK_SLOT_ID slot_of(const char *label)
{
	CK_SLOT_ID ids[32];
	CK_ULONG n = 32;
	char want[32];

	memset(want, ' ', sizeof want);
	memcpy(want, label, strnlen(label, sizeof want));
	need(p11->C_GetSlotList(CK_TRUE, ids, &n), "C_GetSlotList");
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;
		if (p11->C_GetTokenInfo(ids[i], &ti) == CKR_OK && !memcmp(ti.label, want, 32))
			return ids[i];
	}
	fprintf(stderr, "p11smkey: no token labelled '%s'\n", label);
	exit(1);
}

static size_t hex_id(const char *hex, CK_BYTE *out, size_t max)
{
	size_t n = 0;

	for (; hex[0] && hex[1] && n < max; hex += 2) {
		unsigned v;
		if (sscanf(hex, "%2x", &v) != 1)
			break;
		out[n++] = (CK_BYTE)v;
	}
	return n;
}

int main(int argc, char **argv)
{
	const char *path = getenv("SEALKIT_MODULE");
	if (!path || argc != 6 || (strcmp(argv[5], "sm2") && strcmp(argv[5], "ec"))) {
		fprintf(stderr, "usage: SEALKIT_MODULE=... p11smkey TOKEN-LABEL PIN HEX-ID LABEL "
				"sm2|ec\n");
		return 2;
	}
	void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	CK_C_GetFunctionList get_list =
	    lib ? (CK_C_GetFunctionList)dlsym(lib, "C_GetFunctionList") : NULL;
	if (!get_list) {
		fprintf(stderr, "p11smkey: cannot load %s: %s\n", path, dlerror());
		return 1;
	}
	need(get_list(&p11), "C_GetFunctionList");
	need(p11->C_Initialize(NULL), "C_Initialize");

	CK_SESSION_HANDLE s;
	need(p11->C_OpenSession(slot_of(argv[1]), CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
				&s),
	     "C_OpenSession");
	need(p11->C_Login(s, CKU_USER, (CK_UTF8CHAR *)argv[2], strlen(argv[2])), "C_Login");

	CK_BYTE id[64];
	CK_ULONG id_len = hex_id(argv[3], id, sizeof id);
	bool ec = !strcmp(argv[5], "ec");
	CK_MECHANISM mech = {ec ? CKM_EC_KEY_PAIR_GEN : CKM_SM2_KEY_PAIR_GEN, NULL, 0};
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ATTRIBUTE pub[] = {
	    {CKA_TOKEN, &yes, sizeof yes},
	    {CKA_PRIVATE, &no, sizeof no},
	    {CKA_VERIFY, &yes, sizeof yes},
	    {CKA_ENCRYPT, &yes, sizeof yes},
	    {CKA_ID, id, id_len},
	    {CKA_LABEL, argv[4], strlen(argv[4])},
	    {CKA_EC_PARAMS, SK_SM2_OID_DER, SK_SM2_OID_DER_LEN},
	};
	CK_ATTRIBUTE priv[] = {
	    {CKA_TOKEN, &yes, sizeof yes},         {CKA_PRIVATE, &yes, sizeof yes},
	    {CKA_SENSITIVE, &yes, sizeof yes},     {CKA_SIGN, &yes, sizeof yes},
	    {CKA_DECRYPT, &yes, sizeof yes},       {CKA_ID, id, id_len},
	    {CKA_LABEL, argv[4], strlen(argv[4])},
	};
	CK_OBJECT_HANDLE hpub, hpriv;
	need(p11->C_GenerateKeyPair(s, &mech, pub, 7, priv, 7, &hpub, &hpriv), "C_GenerateKeyPair");
	printf("SM2 key pair '%s' made with %s\n", argv[4],
	       ec ? "CKM_EC_KEY_PAIR_GEN and the SM2 curve" : "CKM_SM2_KEY_PAIR_GEN (0x80008001)");
	CK_BYTE point[128];
	CK_ATTRIBUTE get = {CKA_EC_POINT, point, sizeof point};
	need(p11->C_GetAttributeValue(s, hpub, &get, 1), "C_GetAttributeValue(CKA_EC_POINT)");
	printf("CKA_EC_POINT: ");
	for (CK_ULONG i = 0; i < get.ulValueLen; i++)
		printf("%02x", point[i]);
	printf("\n");
	need(p11->C_Finalize(NULL), "C_Finalize");
	return 0;
}
