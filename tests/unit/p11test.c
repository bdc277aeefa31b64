#include "p11test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

CK_FUNCTION_LIST *p11;

static char dir[256];
static char conf[300];

void p11t_fresh_dir(unsigned max_fails)
{
	static bool registered;
	if (!registered) {
		atexit(p11t_remove_dir); /* forked children _exit and keep it */
		registered = true;
	}
	p11t_remove_dir();
	snprintf(dir, sizeof dir, "%s/sealkit-test-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		exit(99);
	}
	snprintf(conf, sizeof conf, "%s.conf", dir);
	FILE *f = fopen(conf, "w");
	if (!f)
		exit(99);
	fprintf(f, "pin_iterations = 1000\nmax_pin_failures = %u\n", max_fails);
	fclose(f);
	setenv("SEALKIT_TOKEN_DIR", dir, 1);
	setenv("SEALKIT_CONF", conf, 1);
}

void p11t_remove_dir(void)
{
	if (!dir[0])
		return;
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", dir, conf);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	dir[0] = '\0';
}

const char *p11t_dir(void)
{
	return dir;
}

void p11t_conf_append(const char *text)
{
	FILE *f = fopen(conf, "a");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(conf);
		exit(99);
	}
}

void p11t_init(void)
{
	CK_OK(p11->C_Initialize(NULL));
}

void p11t_fini(void)
{
	CK_OK(p11->C_Finalize(NULL));
}

CK_ULONG p11t_slot_count(void)
{
	CK_ULONG n = 0;
	CK_OK(p11->C_GetSlotList(CK_FALSE, NULL, &n));
	return n;
}

CK_FLAGS p11t_token_flags(CK_SLOT_ID slot)
{
	CK_TOKEN_INFO ti;
	CK_OK(p11->C_GetTokenInfo(slot, &ti));
	return ti.flags;
}

CK_SLOT_ID p11t_free_slot(void)
{
	CK_SLOT_ID slots[64];
	CK_ULONG n = 64;
	CK_OK(p11->C_GetSlotList(CK_FALSE, slots, &n));
	for (CK_ULONG i = 0; i < n; i++)
		if (!(p11t_token_flags(slots[i]) & CKF_TOKEN_INITIALIZED))
			return slots[i];
	CU_FAIL("no free slot");
	return (CK_SLOT_ID)-1;
}

CK_SLOT_ID p11t_make_token(const char *label)
{
	CK_UTF8CHAR lab[32];
	memset(lab, ' ', sizeof lab);
	memcpy(lab, label, strlen(label));
	CK_SLOT_ID slot = p11t_free_slot();
	CK_OK(p11->C_InitToken(slot, (CK_UTF8CHAR *)SO_PIN, strlen(SO_PIN), lab));
	CK_SESSION_HANDLE s;
	CK_OK(p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s));
	CK_OK(p11->C_Login(s, CKU_SO, (CK_UTF8CHAR *)SO_PIN, strlen(SO_PIN)));
	CK_OK(p11->C_InitPIN(s, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN)));
	CK_OK(p11->C_Logout(s));
	CK_OK(p11->C_CloseSession(s));
	return slot;
}

CK_SESSION_HANDLE p11t_user_session(CK_SLOT_ID slot)
{
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_OK(p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s));
	CK_RV rv = p11->C_Login(s, CKU_USER, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN));
	CU_ASSERT(rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN);
	return s;
}

void p11t_ec_pair(CK_SESSION_HANDLE s, bool token, const char *label, CK_OBJECT_HANDLE *pub,
		  CK_OBJECT_HANDLE *priv)
{
	static const CK_BYTE p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
	CK_BBOOL tok = token ? CK_TRUE : CK_FALSE;
	CK_MECHANISM m = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
	CK_ATTRIBUTE pubt[] = {{CKA_EC_PARAMS, (void *)p256, sizeof p256},
			       {CKA_TOKEN, &tok, sizeof tok},
			       {CKA_LABEL, (void *)label, strlen(label)},
			       {CKA_ID, (void *)label, strlen(label)}};
	CK_ATTRIBUTE privt[] = {{CKA_TOKEN, &tok, sizeof tok},
				{CKA_LABEL, (void *)label, strlen(label)},
				{CKA_ID, (void *)label, strlen(label)}};
	CK_OK(p11->C_GenerateKeyPair(s, &m, pubt, 4, privt, 3, pub, priv));
}
