/* The module through its PKCS#11 function table: general functions, slots,
 * tokens, PINs, sessions, objects, attributes and operation state.
 * Built twice: linked with the module sources, and (VIA_DLOPEN) loading the
 * built sealkit-pkcs11.so the way applications do. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "harness.h"
#include "p11test.h"

static CK_FUNCTION_LIST_3_0 *p11_3;

/* ---- general ---------------------------------------------------------- */

static void test_not_initialized(void)
{
	CK_ULONG n;
	CK_INFO info;
	CK_ASSERT_RV(p11->C_GetSlotList(CK_FALSE, NULL, &n), CKR_CRYPTOKI_NOT_INITIALIZED);
	CK_ASSERT_RV(p11->C_GetInfo(&info), CKR_CRYPTOKI_NOT_INITIALIZED);
	CK_ASSERT_RV(p11->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
	CK_ASSERT_RV(p11->C_CloseSession(1), CKR_CRYPTOKI_NOT_INITIALIZED);
}

static void test_initialize_args(void)
{
	CK_C_INITIALIZE_ARGS a;
	/* pReserved carries settings (test_profile.c); a bad one is refused. */
	memset(&a, 0, sizeof a);
	a.pReserved = "pin_iterations = 1";
	CK_ASSERT_RV(p11->C_Initialize(&a), CKR_GENERAL_ERROR);
	memset(&a, 0, sizeof a);
	a.LockMutex = (CK_LOCKMUTEX)1; /* only some of the four: invalid */
	CK_ASSERT_RV(p11->C_Initialize(&a), CKR_ARGUMENTS_BAD);
	memset(&a, 0, sizeof a);
	a.flags = CKF_OS_LOCKING_OK;
	CK_OK(p11->C_Initialize(&a));
	CK_ASSERT_RV(p11->C_Initialize(NULL), CKR_CRYPTOKI_ALREADY_INITIALIZED);
	CK_ASSERT_RV(p11->C_Finalize(&a), CKR_ARGUMENTS_BAD);
	p11t_fini();
}

static void test_info(void)
{
	CK_INFO info;
	p11t_init();
	CK_ASSERT_RV(p11->C_GetInfo(NULL), CKR_ARGUMENTS_BAD);
	CK_OK(p11->C_GetInfo(&info));
	CU_ASSERT_EQUAL(info.cryptokiVersion.major, 2);
	CU_ASSERT_EQUAL(info.cryptokiVersion.minor, 40);
	CU_ASSERT(memcmp(info.manufacturerID, "sealkit ", 8) == 0);
	CK_ASSERT_RV(p11->C_GetFunctionList(NULL), CKR_ARGUMENTS_BAD);
	p11t_fini();
}

static void test_interfaces(void)
{
	CK_ULONG n = 0;
	CK_INTERFACE list[4];
	CK_INTERFACE *in = NULL;
	CK_ASSERT_RV(p11_3->C_GetInterfaceList(NULL, NULL), CKR_ARGUMENTS_BAD);
	CK_OK(p11_3->C_GetInterfaceList(NULL, &n));
	CU_ASSERT_EQUAL(n, 2);
	CK_ULONG small = 1;
	CK_ASSERT_RV(p11_3->C_GetInterfaceList(list, &small), CKR_BUFFER_TOO_SMALL);
	CU_ASSERT_EQUAL(small, 2);
	CK_OK(p11_3->C_GetInterfaceList(list, &n));
	CU_ASSERT_STRING_EQUAL((char *)list[0].pInterfaceName, "PKCS 11");
	CU_ASSERT(list[0].flags & CKF_INTERFACE_FORK_SAFE);

	CK_OK(p11_3->C_GetInterface(NULL, NULL, &in, 0));
	CU_ASSERT_EQUAL(((CK_VERSION *)in->pFunctionList)->major, 3);
	CK_VERSION v240 = {2, 40};
	CK_OK(p11_3->C_GetInterface((CK_UTF8CHAR *)"PKCS 11", &v240, &in, 0));
	CU_ASSERT_EQUAL(((CK_FUNCTION_LIST *)in->pFunctionList)->version.minor, 40);
	CK_ASSERT_RV(p11_3->C_GetInterface((CK_UTF8CHAR *)"Vendor X", NULL, &in, 0),
		     CKR_ARGUMENTS_BAD);
	CK_VERSION v9 = {9, 9};
	CK_ASSERT_RV(p11_3->C_GetInterface(NULL, &v9, &in, 0), CKR_ARGUMENTS_BAD);
	CK_ASSERT_RV(p11_3->C_GetInterface(NULL, NULL, NULL, 0), CKR_ARGUMENTS_BAD);

	/* The 3.0 list works: C_SessionCancel and message functions answer
	 * with the spec's codes. */
	CK_FUNCTION_LIST_3_0 *f3;
	CK_OK(p11_3->C_GetInterface(NULL, NULL, &in, 0));
	f3 = in->pFunctionList;
	p11t_init();
	CK_SLOT_ID slot = p11t_make_token("iface");
	CK_SESSION_HANDLE s = p11t_user_session(slot);
	CK_OK(f3->C_SessionCancel(s, CKF_SIGN | CKF_FIND_OBJECTS));
	CK_MECHANISM m = {CKM_AES_GCM, NULL, 0};
	CK_ASSERT_RV(f3->C_MessageEncryptInit(s, &m, 1), CKR_MECHANISM_INVALID);
	CK_ASSERT_RV(f3->C_MessageEncryptFinal(s), CKR_OPERATION_NOT_INITIALIZED);
	CK_ASSERT_RV(f3->C_LoginUser(s, CKU_USER, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN), NULL, 0),
		     CKR_USER_ALREADY_LOGGED_IN);
	p11t_fini();
}

/* ---- slots and tokens ----------------------------------------------------- */

static void test_one_free_slot(void)
{
	p11t_fresh_dir(10);
	p11t_init();
	CK_SLOT_ID slots[4];
	CK_ULONG n = 4;
	CK_ASSERT_RV(p11->C_GetSlotList(CK_FALSE, slots, NULL), CKR_ARGUMENTS_BAD);
	CK_OK(p11->C_GetSlotList(CK_TRUE, slots, &n));
	CU_ASSERT_EQUAL(n, 1);
	CK_FLAGS f = p11t_token_flags(slots[0]);
	CU_ASSERT_FALSE(f & CKF_TOKEN_INITIALIZED);
	CK_SESSION_HANDLE s;
	CK_ASSERT_RV(p11->C_OpenSession(slots[0], CKF_SERIAL_SESSION, NULL, NULL, &s),
		     CKR_TOKEN_NOT_RECOGNIZED);
	CK_SLOT_INFO si;
	CK_OK(p11->C_GetSlotInfo(slots[0], &si));
	CU_ASSERT(si.flags & CKF_TOKEN_PRESENT);
	CK_ASSERT_RV(p11->C_GetSlotInfo(slots[0] + 100, &si), CKR_SLOT_ID_INVALID);
	CK_TOKEN_INFO ti;
	CK_ASSERT_RV(p11->C_GetTokenInfo(slots[0] + 100, &ti), CKR_SLOT_ID_INVALID);
	CK_ASSERT_RV(p11->C_GetTokenInfo(slots[0], NULL), CKR_ARGUMENTS_BAD);
	p11t_fini();
}

static void test_init_token_and_stable_ids(void)
{
	p11t_fresh_dir(10);
	p11t_init();
	CK_SLOT_ID a = p11t_make_token("first");
	CU_ASSERT_EQUAL(p11t_slot_count(), 2);
	CK_SLOT_ID b = p11t_make_token("second");
	CU_ASSERT_NOT_EQUAL(a, b);
	CU_ASSERT_EQUAL(p11t_slot_count(), 3);
	CK_TOKEN_INFO ti;
	CK_OK(p11->C_GetTokenInfo(b, &ti));
	CU_ASSERT(memcmp(ti.label, "second  ", 8) == 0);
	CU_ASSERT(ti.flags & CKF_TOKEN_INITIALIZED);
	CU_ASSERT(ti.flags & CKF_USER_PIN_INITIALIZED);
	CU_ASSERT(ti.flags & CKF_LOGIN_REQUIRED);
	CU_ASSERT_EQUAL(ti.ulMinPinLen, 4);
	p11t_fini();

	/* After a restart: same IDs, same labels. */
	p11t_init();
	CK_OK(p11->C_GetTokenInfo(a, &ti));
	CU_ASSERT(memcmp(ti.label, "first ", 6) == 0);
	CK_OK(p11->C_GetTokenInfo(b, &ti));
	CU_ASSERT(memcmp(ti.label, "second ", 7) == 0);
	CU_ASSERT_EQUAL(p11t_slot_count(), 3);

	/* Re-initialisation keeps the slot ID and needs the SO PIN. */
	CK_UTF8CHAR lab[32];
	memset(lab, ' ', 32);
	memcpy(lab, "renamed", 7);
	CK_ASSERT_RV(p11->C_InitToken(a, (CK_UTF8CHAR *)"wrong-pin", 9, lab), CKR_PIN_INCORRECT);
	CK_ASSERT_RV(p11->C_InitToken(a, (CK_UTF8CHAR *)SO_PIN, 2, lab), CKR_PIN_LEN_RANGE);
	CK_ASSERT_RV(p11->C_InitToken(a, NULL, 0, lab), CKR_ARGUMENTS_BAD);
	CK_SESSION_HANDLE s;
	CK_OK(p11->C_OpenSession(a, CKF_SERIAL_SESSION, NULL, NULL, &s));
	CK_ASSERT_RV(p11->C_InitToken(a, (CK_UTF8CHAR *)SO_PIN, strlen(SO_PIN), lab),
		     CKR_SESSION_EXISTS);
	CK_OK(p11->C_CloseSession(s));
	CK_OK(p11->C_InitToken(a, (CK_UTF8CHAR *)SO_PIN, strlen(SO_PIN), lab));
	CK_OK(p11->C_GetTokenInfo(a, &ti));
	CU_ASSERT(memcmp(ti.label, "renamed ", 8) == 0);
	CU_ASSERT_FALSE(ti.flags & CKF_USER_PIN_INITIALIZED);
	CU_ASSERT_EQUAL(p11t_slot_count(), 3);
	p11t_fini();
}

static void test_slot_list_buffer(void)
{
	p11t_fresh_dir(10);
	p11t_init();
	p11t_make_token("x");
	CK_SLOT_ID slots[2];
	CK_ULONG n = 1;
	CK_ASSERT_RV(p11->C_GetSlotList(CK_FALSE, slots, &n), CKR_BUFFER_TOO_SMALL);
	CU_ASSERT_EQUAL(n, 2);
	CK_OK(p11->C_GetSlotList(CK_FALSE, slots, &n));
	CU_ASSERT_EQUAL(n, 2);
	p11t_fini();
}

static void test_token_from_other_process(void)
{
	p11t_fresh_dir(10);
	p11t_init();
	CU_ASSERT_EQUAL(p11t_slot_count(), 1);
	pid_t pid = fork();
	if (pid == 0) {
		/* A child is another application: fresh state, own token. */
		if (p11->C_Initialize(NULL) != CKR_OK)
			_exit(2);
		CK_SLOT_ID slot;
		CK_ULONG n = 1;
		if (p11->C_GetSlotList(CK_FALSE, &slot, &n) != CKR_OK)
			_exit(3);
		CK_UTF8CHAR lab[32];
		memset(lab, ' ', 32);
		memcpy(lab, "child", 5);
		if (p11->C_InitToken(slot, (CK_UTF8CHAR *)SO_PIN, strlen(SO_PIN), lab) != CKR_OK)
			_exit(4);
		p11->C_Finalize(NULL);
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* Without restarting, the parent sees the token and a new free slot. */
	CU_ASSERT_EQUAL(p11t_slot_count(), 2);
	CK_SLOT_ID slots[2];
	CK_ULONG n = 2;
	CK_OK(p11->C_GetSlotList(CK_FALSE, slots, &n));
	CK_TOKEN_INFO ti;
	CK_OK(p11->C_GetTokenInfo(slots[0], &ti));
	CU_ASSERT(memcmp(ti.label, "child ", 6) == 0);
	p11t_fini();
}

static void test_garbage_in_dir(void)
{
	p11t_fresh_dir(10);
	char path[400];
	snprintf(path, sizeof path, "%s/token-7.sqlite", p11t_dir());
	FILE *f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("this is not a database, and must stay as it is", f);
	fclose(f);
	snprintf(path, sizeof path, "%s/token-x.sqlite", p11t_dir());
	f = fopen(path, "w");
	fclose(f);
	p11t_init();
	CK_SLOT_ID slots[4];
	CK_ULONG n = 4;
	CK_OK(p11->C_GetSlotList(CK_FALSE, slots, &n));
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(slots[0], 8); /* never reuses the damaged file's ID */
	CK_TOKEN_INFO ti;
	CK_ASSERT_RV(p11->C_GetTokenInfo(7, &ti), CKR_SLOT_ID_INVALID);
	p11t_make_token("ok");
	p11t_fini();
	snprintf(path, sizeof path, "%s/token-7.sqlite", p11t_dir());
	f = fopen(path, "r");
	char buf[100] = {0};
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT(fgets(buf, sizeof buf, f) != NULL);
	fclose(f);
	CU_ASSERT_STRING_EQUAL(buf, "this is not a database, and must stay as it is");
}

/* ---- login and PINs ------------------------------------------------------------ */

static CK_SLOT_ID slot1;

static void test_login_states(void)
{
	p11t_fresh_dir(3);
	p11t_init();
	CK_SLOT_ID slot = p11t_free_slot();
	CK_UTF8CHAR lab[32];
	memset(lab, ' ', 32);
	CK_OK(p11->C_InitToken(slot, (CK_UTF8CHAR *)SO_PIN, strlen(SO_PIN), lab));
	CK_SESSION_HANDLE ro, rw;
	CK_ASSERT_RV(p11->C_OpenSession(slot, 0, NULL, NULL, &ro), CKR_SESSION_PARALLEL_NOT_SUPPORTED);
	CK_ASSERT_RV(p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, NULL), CKR_ARGUMENTS_BAD);
	CK_OK(p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &ro));
	CK_OK(p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &rw));
	CK_ASSERT_RV(p11->C_Login(ro, CKU_USER, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN)),
		     CKR_USER_PIN_NOT_INITIALIZED);
	CK_ASSERT_RV(p11->C_Login(ro, CKU_SO, (CK_UTF8CHAR *)SO_PIN, strlen(SO_PIN)),
		     CKR_SESSION_READ_ONLY_EXISTS);
	CK_ASSERT_RV(p11->C_Login(rw, 77, (CK_UTF8CHAR *)SO_PIN, strlen(SO_PIN)),
		     CKR_USER_TYPE_INVALID);
	CK_ASSERT_RV(p11->C_Logout(rw), CKR_USER_NOT_LOGGED_IN);
	CK_OK(p11->C_CloseSession(ro));
	CK_ASSERT_RV(p11->C_CloseSession(ro), CKR_SESSION_HANDLE_INVALID);
	CK_OK(p11->C_Login(rw, CKU_SO, (CK_UTF8CHAR *)SO_PIN, strlen(SO_PIN)));
	CK_ASSERT_RV(p11->C_Login(rw, CKU_SO, (CK_UTF8CHAR *)SO_PIN, strlen(SO_PIN)),
		     CKR_USER_ALREADY_LOGGED_IN);
	CK_ASSERT_RV(p11->C_Login(rw, CKU_USER, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN)),
		     CKR_USER_ANOTHER_ALREADY_LOGGED_IN);
	CK_ASSERT_RV(p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &ro),
		     CKR_SESSION_READ_WRITE_SO_EXISTS);
	CK_SESSION_INFO si;
	CK_OK(p11->C_GetSessionInfo(rw, &si));
	CU_ASSERT_EQUAL(si.state, CKS_RW_SO_FUNCTIONS);
	CK_ASSERT_RV(p11->C_InitPIN(rw, (CK_UTF8CHAR *)"12", 2), CKR_PIN_LEN_RANGE);
	CK_OK(p11->C_InitPIN(rw, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN)));
	CK_OK(p11->C_Logout(rw));
	CK_ASSERT_RV(p11->C_InitPIN(rw, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN)),
		     CKR_USER_NOT_LOGGED_IN);
	CK_OK(p11->C_Login(rw, CKU_USER, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN)));
	CK_OK(p11->C_GetSessionInfo(rw, &si));
	CU_ASSERT_EQUAL(si.state, CKS_RW_USER_FUNCTIONS);
	CU_ASSERT_EQUAL(si.slotID, slot);
	CK_OK(p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &ro));
	CK_OK(p11->C_GetSessionInfo(ro, &si));
	CU_ASSERT_EQUAL(si.state, CKS_RO_USER_FUNCTIONS); /* login is per application */
	CK_ASSERT_RV(p11->C_SetPIN(ro, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN),
				   (CK_UTF8CHAR *)"newpin1", 7),
		     CKR_SESSION_READ_ONLY);
	CK_OK(p11->C_SetPIN(rw, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN), (CK_UTF8CHAR *)"newpin1",
			    7));
	CK_OK(p11->C_Logout(rw));
	CK_ASSERT_RV(p11->C_Login(rw, CKU_USER, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN)),
		     CKR_PIN_INCORRECT);
	CK_OK(p11->C_Login(rw, CKU_USER, (CK_UTF8CHAR *)"newpin1", 7));
	CK_OK(p11->C_SetPIN(rw, (CK_UTF8CHAR *)"newpin1", 7, (CK_UTF8CHAR *)USER_PIN,
			    strlen(USER_PIN)));
	CK_OK(p11->C_CloseAllSessions(slot));
	CK_ASSERT_RV(p11->C_GetSessionInfo(rw, &si), CKR_SESSION_HANDLE_INVALID);
	slot1 = slot;
	p11t_fini();
}

static void test_pin_lockout(void)
{
	/* Continues on the token of test_login_states: max 3 failures. */
	p11t_init();
	CK_SESSION_HANDLE s;
	CK_OK(p11->C_OpenSession(slot1, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s));
	CK_UTF8CHAR bad[] = "badbad";
	CK_ASSERT_RV(p11->C_Login(s, CKU_USER, bad, 6), CKR_PIN_INCORRECT);
	CK_FLAGS f = p11t_token_flags(slot1);
	CU_ASSERT(f & CKF_USER_PIN_COUNT_LOW);
	CU_ASSERT_FALSE(f & CKF_USER_PIN_FINAL_TRY);
	CK_ASSERT_RV(p11->C_Login(s, CKU_USER, bad, 6), CKR_PIN_INCORRECT);
	f = p11t_token_flags(slot1);
	CU_ASSERT(f & CKF_USER_PIN_FINAL_TRY);
	CU_ASSERT_FALSE(f & CKF_USER_PIN_LOCKED);
	p11t_fini();

	/* The counter survives a restart. */
	p11t_init();
	CU_ASSERT(p11t_token_flags(slot1) & CKF_USER_PIN_FINAL_TRY);
	CK_OK(p11->C_OpenSession(slot1, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s));
	CK_ASSERT_RV(p11->C_Login(s, CKU_USER, bad, 6), CKR_PIN_INCORRECT);
	CU_ASSERT(p11t_token_flags(slot1) & CKF_USER_PIN_LOCKED);
	/* Locked: even the right PIN is refused. */
	CK_ASSERT_RV(p11->C_Login(s, CKU_USER, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN)),
		     CKR_PIN_LOCKED);
	/* The SO unlocks by setting a new user PIN. */
	CK_OK(p11->C_Login(s, CKU_SO, (CK_UTF8CHAR *)SO_PIN, strlen(SO_PIN)));
	CK_OK(p11->C_InitPIN(s, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN)));
	CK_OK(p11->C_Logout(s));
	f = p11t_token_flags(slot1);
	CU_ASSERT_FALSE(f & (CKF_USER_PIN_LOCKED | CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY));
	CK_OK(p11->C_Login(s, CKU_USER, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN)));
	CK_OK(p11->C_Logout(s));
	/* A success resets the count. */
	CK_ASSERT_RV(p11->C_Login(s, CKU_USER, bad, 6), CKR_PIN_INCORRECT);
	CK_OK(p11->C_Login(s, CKU_USER, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN)));
	CU_ASSERT_FALSE(p11t_token_flags(slot1) & CKF_USER_PIN_COUNT_LOW);
	CK_OK(p11->C_Logout(s));
	/* SO lockout too. */
	for (int i = 0; i < 3; i++)
		CK_ASSERT_RV(p11->C_Login(s, CKU_SO, bad, 6), CKR_PIN_INCORRECT);
	CU_ASSERT(p11t_token_flags(slot1) & CKF_SO_PIN_LOCKED);
	CK_ASSERT_RV(p11->C_Login(s, CKU_SO, (CK_UTF8CHAR *)SO_PIN, strlen(SO_PIN)), CKR_PIN_LOCKED);
	p11t_fini();
}

/* ---- objects --------------------------------------------------------------------- */

static CK_SLOT_ID objslot;

static int objects_init(void)
{
	p11t_fresh_dir(10);
	return p11->C_Initialize(NULL) != CKR_OK;
}

static void test_objects_token(void)
{
	objslot = p11t_make_token("objects");
	CU_ASSERT(p11t_token_flags(objslot) & CKF_USER_PIN_INITIALIZED);
}

static int objects_clean(void)
{
	p11->C_Finalize(NULL);
	return 0;
}

static CK_OBJECT_HANDLE make_data(CK_SESSION_HANDLE s, CK_BBOOL token, CK_BBOOL priv,
				  const char *label, CK_RV expect)
{
	CK_OBJECT_CLASS cls = CKO_DATA;
	CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
	CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof cls},
			    {CKA_TOKEN, &token, sizeof token},
			    {CKA_PRIVATE, &priv, sizeof priv},
			    {CKA_LABEL, (void *)label, strlen(label)},
			    {CKA_VALUE, "hello", 5}};
	CK_ASSERT_RV(p11->C_CreateObject(s, t, 5, &h), expect);
	return h;
}

static CK_ULONG count_found(CK_SESSION_HANDLE s, CK_ATTRIBUTE *t, CK_ULONG n)
{
	CK_OBJECT_HANDLE hs[64];
	CK_ULONG total = 0, got;
	CK_OK(p11->C_FindObjectsInit(s, t, n));
	do {
		got = 0;
		CK_OK(p11->C_FindObjects(s, hs, 64, &got));
		total += got;
	} while (got);
	CK_OK(p11->C_FindObjectsFinal(s));
	return total;
}

static void test_create_rules(void)
{
	CK_SESSION_HANDLE ro, rw;
	CK_OK(p11->C_OpenSession(objslot, CKF_SERIAL_SESSION, NULL, NULL, &ro));
	CK_OK(p11->C_OpenSession(objslot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &rw));
	make_data(ro, CK_TRUE, CK_FALSE, "t", CKR_SESSION_READ_ONLY);
	make_data(rw, CK_TRUE, CK_TRUE, "p", CKR_USER_NOT_LOGGED_IN);
	make_data(ro, CK_FALSE, CK_FALSE, "session", CKR_OK);

	CK_OBJECT_HANDLE h;
	CK_OBJECT_CLASS cls = CKO_DATA;
	CK_BBOOL yes = CK_TRUE;
	CK_ULONG one = 1;
	CK_ATTRIBUTE noclass[] = {{CKA_LABEL, "x", 1}};
	CK_ASSERT_RV(p11->C_CreateObject(rw, noclass, 1, &h), CKR_TEMPLATE_INCOMPLETE);
	CK_ATTRIBUTE unknown[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_MODULUS, "x", 1}};
	CK_ASSERT_RV(p11->C_CreateObject(rw, unknown, 2, &h), CKR_ATTRIBUTE_TYPE_INVALID);
	CK_ATTRIBUTE badbool[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_TOKEN, &one, sizeof one}};
	CK_ASSERT_RV(p11->C_CreateObject(rw, badbool, 2, &h), CKR_ATTRIBUTE_VALUE_INVALID);
	CK_BBOOL no = CK_FALSE;
	CK_ATTRIBUTE twice[] = {{CKA_CLASS, &cls, sizeof cls},
				{CKA_TOKEN, &yes, 1},
				{CKA_TOKEN, &no, 1}};
	CK_ASSERT_RV(p11->C_CreateObject(rw, twice, 3, &h), CKR_TEMPLATE_INCONSISTENT);
	CK_ATTRIBUTE nullval[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_LABEL, NULL, 4}};
	CK_ASSERT_RV(p11->C_CreateObject(rw, nullval, 2, &h), CKR_ATTRIBUTE_VALUE_INVALID);
	CK_ASSERT_RV(p11->C_CreateObject(rw, NULL, 2, &h), CKR_ARGUMENTS_BAD);
	CK_ASSERT_RV(p11->C_CreateObject(rw, nullval, 2, NULL), CKR_ARGUMENTS_BAD);
	CK_OBJECT_CLASS hw = CKO_HW_FEATURE;
	CK_ATTRIBUTE hwt[] = {{CKA_CLASS, &hw, sizeof hw}};
	CK_ASSERT_RV(p11->C_CreateObject(rw, hwt, 1, &h), CKR_ATTRIBUTE_VALUE_INVALID);

	/* Keys: footnote 2 (CKA_LOCAL may not be given), required values. */
	CK_OBJECT_CLASS sk = CKO_SECRET_KEY;
	CK_KEY_TYPE aes = CKK_AES;
	CK_BYTE key[16] = {1, 2, 3};
	CK_ATTRIBUTE local[] = {{CKA_CLASS, &sk, sizeof sk},
				{CKA_KEY_TYPE, &aes, sizeof aes},
				{CKA_VALUE, key, sizeof key},
				{CKA_LOCAL, &yes, 1}};
	CK_ASSERT_RV(p11->C_CreateObject(rw, local, 4, &h), CKR_ATTRIBUTE_READ_ONLY);
	CK_ASSERT_RV(p11->C_CreateObject(rw, local, 2, &h), CKR_TEMPLATE_INCOMPLETE);
	CK_KEY_TYPE weird = 0x7777;
	CK_ATTRIBUTE wk[] = {{CKA_CLASS, &sk, sizeof sk}, {CKA_KEY_TYPE, &weird, sizeof weird}};
	CK_ASSERT_RV(p11->C_CreateObject(rw, wk, 2, &h), CKR_ATTRIBUTE_VALUE_INVALID);
	/* CKA_TRUSTED only by the SO. */
	CK_OBJECT_CLASS cc = CKO_CERTIFICATE;
	CK_CERTIFICATE_TYPE x509 = CKC_X_509;
	CK_ATTRIBUTE cert[] = {{CKA_CLASS, &cc, sizeof cc},
			       {CKA_CERTIFICATE_TYPE, &x509, sizeof x509},
			       {CKA_SUBJECT, "s", 1},
			       {CKA_VALUE, "v", 1},
			       {CKA_TRUSTED, &yes, 1}};
	CK_ASSERT_RV(p11->C_CreateObject(rw, cert, 5, &h), CKR_ATTRIBUTE_READ_ONLY);
	CK_OK(p11->C_CreateObject(rw, cert, 4, &h));
	CK_ASSERT_RV(p11->C_CreateObject(rw, cert, 3, &h), CKR_TEMPLATE_INCOMPLETE);
	CK_OK(p11->C_CloseSession(ro));
	CK_OK(p11->C_CloseSession(rw));
}

static void test_get_attribute_semantics(void)
{
	CK_SESSION_HANDLE s = p11t_user_session(objslot);
	CK_OBJECT_CLASS sk = CKO_SECRET_KEY;
	CK_KEY_TYPE aes = CKK_AES;
	CK_BYTE key[16] = {9, 8, 7};
	CK_BBOOL yes = CK_TRUE;
	CK_ATTRIBUTE t[] = {{CKA_CLASS, &sk, sizeof sk},
			    {CKA_KEY_TYPE, &aes, sizeof aes},
			    {CKA_VALUE, key, sizeof key},
			    {CKA_SENSITIVE, &yes, 1},
			    {CKA_LABEL, "secret-key", 10}};
	CK_OBJECT_HANDLE h;
	CK_OK(p11->C_CreateObject(s, t, 5, &h));

	CK_BYTE label[4], value[16];
	CK_ULONG vlen = 0;
	CK_BBOOL local = 7;
	CK_ATTRIBUTE q[] = {{CKA_LABEL, label, sizeof label},   /* too small */
			    {CKA_VALUE, value, sizeof value},   /* sensitive */
			    {CKA_MODULUS, value, sizeof value}, /* no such attribute */
			    {CKA_VALUE_LEN, &vlen, sizeof vlen},
			    {CKA_LOCAL, &local, 1}};
	CK_RV rv = p11->C_GetAttributeValue(s, h, q, 5);
	CU_ASSERT(rv == CKR_BUFFER_TOO_SMALL || rv == CKR_ATTRIBUTE_SENSITIVE ||
		  rv == CKR_ATTRIBUTE_TYPE_INVALID);
	CU_ASSERT_EQUAL(q[0].ulValueLen, CK_UNAVAILABLE_INFORMATION);
	CU_ASSERT_EQUAL(q[1].ulValueLen, CK_UNAVAILABLE_INFORMATION);
	CU_ASSERT_EQUAL(q[2].ulValueLen, CK_UNAVAILABLE_INFORMATION);
	CU_ASSERT_EQUAL(q[3].ulValueLen, sizeof(CK_ULONG));
	CU_ASSERT_EQUAL(vlen, 16);
	CU_ASSERT_EQUAL(local, CK_FALSE);
	/* Length query. */
	CK_ATTRIBUTE lq = {CKA_LABEL, NULL, 0};
	CK_OK(p11->C_GetAttributeValue(s, h, &lq, 1));
	CU_ASSERT_EQUAL(lq.ulValueLen, 10);
	CK_ASSERT_RV(p11->C_GetAttributeValue(s, h, NULL, 1), CKR_ARGUMENTS_BAD);
	CK_ASSERT_RV(p11->C_GetAttributeValue(s, 0x7fffffff, &lq, 1), CKR_OBJECT_HANDLE_INVALID);

	/* Created, not generated: never "always sensitive". */
	CK_BBOOL as = 9, ne = 9;
	CK_ATTRIBUTE a2[] = {{CKA_ALWAYS_SENSITIVE, &as, 1}, {CKA_NEVER_EXTRACTABLE, &ne, 1}};
	CK_OK(p11->C_GetAttributeValue(s, h, a2, 2));
	CU_ASSERT_EQUAL(as, CK_FALSE);
	CU_ASSERT_EQUAL(ne, CK_FALSE);

	/* Sticky attributes. */
	CK_BBOOL no = CK_FALSE;
	CK_ATTRIBUTE unsens = {CKA_SENSITIVE, &no, 1};
	CK_ASSERT_RV(p11->C_SetAttributeValue(s, h, &unsens, 1), CKR_ATTRIBUTE_READ_ONLY);
	CK_ATTRIBUTE vt = {CKA_VALUE_LEN, &vlen, sizeof vlen};
	CK_ULONG other = 32;
	vt.pValue = &other;
	CK_ASSERT_RV(p11->C_SetAttributeValue(s, h, &vt, 1), CKR_ATTRIBUTE_READ_ONLY);
	CK_ATTRIBUTE newlabel = {CKA_LABEL, "renamed", 7};
	CK_OK(p11->C_SetAttributeValue(s, h, &newlabel, 1));
	CK_ATTRIBUTE find = {CKA_LABEL, "renamed", 7};
	CU_ASSERT_EQUAL(count_found(s, &find, 1), 1);
	CK_ATTRIBUTE oldl = {CKA_LABEL, "secret-key", 10};
	CU_ASSERT_EQUAL(count_found(s, &oldl, 1), 0);
	CK_OK(p11->C_CloseSession(s));
}

static void test_generated_key_flags(void)
{
	CK_SESSION_HANDLE s = p11t_user_session(objslot);
	CK_MECHANISM m = {CKM_AES_KEY_GEN, NULL, 0};
	CK_ULONG len = 32;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ATTRIBUTE t[] = {{CKA_VALUE_LEN, &len, sizeof len},
			    {CKA_SENSITIVE, &yes, 1},
			    {CKA_EXTRACTABLE, &no, 1}};
	CK_OBJECT_HANDLE h;
	CK_OK(p11->C_GenerateKey(s, &m, t, 3, &h));
	CK_BBOOL local = 0, as = 0, ne = 0;
	CK_MECHANISM_TYPE km = 0;
	CK_KEY_TYPE kt = 0;
	CK_ATTRIBUTE q[] = {{CKA_LOCAL, &local, 1},
			    {CKA_ALWAYS_SENSITIVE, &as, 1},
			    {CKA_NEVER_EXTRACTABLE, &ne, 1},
			    {CKA_KEY_GEN_MECHANISM, &km, sizeof km},
			    {CKA_KEY_TYPE, &kt, sizeof kt}};
	CK_OK(p11->C_GetAttributeValue(s, h, q, 5));
	CU_ASSERT_EQUAL(local, CK_TRUE);
	CU_ASSERT_EQUAL(as, CK_TRUE);
	CU_ASSERT_EQUAL(ne, CK_TRUE);
	CU_ASSERT_EQUAL(km, CKM_AES_KEY_GEN);
	CU_ASSERT_EQUAL(kt, CKK_AES);
	CK_ATTRIBUTE ex = {CKA_EXTRACTABLE, &yes, 1};
	CK_ASSERT_RV(p11->C_SetAttributeValue(s, h, &ex, 1), CKR_ATTRIBUTE_READ_ONLY);
	/* Wrong class for the mechanism. */
	CK_OBJECT_CLASS pk = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE bad[] = {{CKA_CLASS, &pk, sizeof pk}, {CKA_VALUE_LEN, &len, sizeof len}};
	CK_ASSERT_RV(p11->C_GenerateKey(s, &m, bad, 2, &h), CKR_TEMPLATE_INCONSISTENT);
	CK_MECHANISM nope = {CKM_RSA_PKCS, NULL, 0};
	CK_ASSERT_RV(p11->C_GenerateKey(s, &nope, t, 3, &h), CKR_MECHANISM_INVALID);

	CK_OBJECT_HANDLE pub, priv;
	p11t_ec_pair(s, false, "ec", &pub, &priv);
	CK_BYTE point[200], params[32];
	CK_ATTRIBUTE ecq[] = {{CKA_EC_POINT, point, sizeof point},
			      {CKA_EC_PARAMS, params, sizeof params}};
	CK_OK(p11->C_GetAttributeValue(s, pub, ecq, 2));
	CU_ASSERT_EQUAL(ecq[0].ulValueLen, 67); /* 04 41 04 X Y */
	CU_ASSERT_EQUAL(point[0], 0x04);
	CU_ASSERT_EQUAL(point[2], 0x04);
	CU_ASSERT_EQUAL(ecq[1].ulValueLen, 10);
	ecq[0].ulValueLen = sizeof point;
	ecq[1].ulValueLen = sizeof params;
	CK_OK(p11->C_GetAttributeValue(s, priv, ecq, 2));
	CU_ASSERT_EQUAL(ecq[1].ulValueLen, 10);
	CK_BYTE v[64];
	CK_ATTRIBUTE pv = {CKA_VALUE, v, sizeof v};
	CK_ASSERT_RV(p11->C_GetAttributeValue(s, priv, &pv, 1), CKR_ATTRIBUTE_SENSITIVE);
	CK_OK(p11->C_CloseSession(s));
}

static void test_copy_destroy_size(void)
{
	CK_SESSION_HANDLE s = p11t_user_session(objslot);
	CK_OBJECT_HANDLE h = make_data(s, CK_TRUE, CK_FALSE, "orig", CKR_OK);
	CK_ULONG size = 0;
	CK_OK(p11->C_GetObjectSize(s, h, &size));
	CU_ASSERT(size > 5);
	CK_ASSERT_RV(p11->C_GetObjectSize(s, h, NULL), CKR_ARGUMENTS_BAD);
	CK_OBJECT_HANDLE c;
	CK_BBOOL no = CK_FALSE;
	CK_ATTRIBUTE ct[] = {{CKA_LABEL, "copy", 4}, {CKA_TOKEN, &no, 1}};
	CK_OK(p11->C_CopyObject(s, h, ct, 2, &c));
	CU_ASSERT_NOT_EQUAL(c, h);
	CK_BYTE buf[16];
	CK_BYTE uid1[64], uid2[64];
	CK_BBOOL tok = 9;
	CK_ATTRIBUTE q[] = {{CKA_LABEL, buf, sizeof buf},
			    {CKA_TOKEN, &tok, 1},
			    {CKA_VALUE, buf + 8, 8},
			    {CKA_UNIQUE_ID, uid2, sizeof uid2}};
	CK_OK(p11->C_GetAttributeValue(s, c, q, 4));
	CU_ASSERT_EQUAL(q[0].ulValueLen, 4);
	CU_ASSERT(memcmp(buf, "copy", 4) == 0);
	CU_ASSERT_EQUAL(tok, CK_FALSE);
	CU_ASSERT(memcmp(buf + 8, "hello", 5) == 0);
	CK_ATTRIBUTE u1 = {CKA_UNIQUE_ID, uid1, sizeof uid1};
	CK_OK(p11->C_GetAttributeValue(s, h, &u1, 1));
	CU_ASSERT(u1.ulValueLen != q[3].ulValueLen || memcmp(uid1, uid2, u1.ulValueLen) != 0);
	CK_ATTRIBUTE uid_set = {CKA_UNIQUE_ID, "x", 1};
	CK_ASSERT_RV(p11->C_SetAttributeValue(s, h, &uid_set, 1), CKR_ATTRIBUTE_READ_ONLY);
	CK_ASSERT_RV(p11->C_CopyObject(s, h, ct, 2, NULL), CKR_ARGUMENTS_BAD);
	CK_OK(p11->C_DestroyObject(s, c));
	CK_ASSERT_RV(p11->C_DestroyObject(s, c), CKR_OBJECT_HANDLE_INVALID);
	/* Not destroyable / not copyable. */
	CK_OBJECT_CLASS cls = CKO_DATA;
	CK_ATTRIBUTE nd[] = {{CKA_CLASS, &cls, sizeof cls},
			     {CKA_DESTROYABLE, &no, 1},
			     {CKA_COPYABLE, &no, 1}};
	CK_OBJECT_HANDLE k;
	CK_OK(p11->C_CreateObject(s, nd, 3, &k));
	CK_ASSERT_RV(p11->C_DestroyObject(s, k), CKR_ACTION_PROHIBITED);
	CK_ASSERT_RV(p11->C_CopyObject(s, k, NULL, 0, &c), CKR_ACTION_PROHIBITED);
	/* Not modifiable. */
	CK_ATTRIBUTE nm[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_MODIFIABLE, &no, 1}};
	CK_OK(p11->C_CreateObject(s, nm, 2, &k));
	CK_ATTRIBUTE l = {CKA_LABEL, "z", 1};
	CK_ASSERT_RV(p11->C_SetAttributeValue(s, k, &l, 1), CKR_ATTRIBUTE_READ_ONLY);
	CK_OK(p11->C_CloseSession(s));
}

static void test_find_and_visibility(void)
{
	CK_SESSION_HANDLE s = p11t_user_session(objslot);
	make_data(s, CK_TRUE, CK_TRUE, "private-find", CKR_OK);
	make_data(s, CK_TRUE, CK_FALSE, "public-find", CKR_OK);
	CK_OBJECT_HANDLE sess = make_data(s, CK_FALSE, CK_FALSE, "session-find", CKR_OK);
	CK_ATTRIBUTE priv = {CKA_LABEL, "private-find", 12};
	CK_ATTRIBUTE pub = {CKA_LABEL, "public-find", 11};
	CK_ATTRIBUTE sf = {CKA_LABEL, "session-find", 12};
	CU_ASSERT_EQUAL(count_found(s, &priv, 1), 1);
	CU_ASSERT_EQUAL(count_found(s, &pub, 1), 1);
	CU_ASSERT(count_found(s, NULL, 0) >= 3);
	CK_OBJECT_CLASS cls = CKO_DATA;
	CK_ATTRIBUTE both[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_LABEL, "public-find", 11}};
	CU_ASSERT_EQUAL(count_found(s, both, 2), 1);
	CK_OBJECT_CLASS cc = CKO_CERTIFICATE;
	both[0].pValue = &cc;
	CU_ASSERT_EQUAL(count_found(s, both, 2), 0);

	/* State errors. */
	CK_OBJECT_HANDLE hs[4];
	CK_ULONG n;
	CK_ASSERT_RV(p11->C_FindObjects(s, hs, 4, &n), CKR_OPERATION_NOT_INITIALIZED);
	CK_ASSERT_RV(p11->C_FindObjectsFinal(s), CKR_OPERATION_NOT_INITIALIZED);
	CK_OK(p11->C_FindObjectsInit(s, NULL, 0));
	CK_ASSERT_RV(p11->C_FindObjectsInit(s, NULL, 0), CKR_OPERATION_ACTIVE);
	CK_ASSERT_RV(p11->C_FindObjects(s, NULL, 4, &n), CKR_ARGUMENTS_BAD);
	CK_OK(p11->C_FindObjectsFinal(s));
	CK_ASSERT_RV(p11->C_FindObjectsInit(s, NULL, 2), CKR_ARGUMENTS_BAD);

	/* After logout the private object is gone from view. */
	CK_OK(p11->C_Logout(s));
	CU_ASSERT_EQUAL(count_found(s, &priv, 1), 0);
	CU_ASSERT_EQUAL(count_found(s, &pub, 1), 1);
	CU_ASSERT_EQUAL(count_found(s, &sf, 1), 1);
	/* Session objects go with their session. */
	CK_SESSION_HANDLE other;
	CK_OK(p11->C_OpenSession(objslot, CKF_SERIAL_SESSION, NULL, NULL, &other));
	CU_ASSERT_EQUAL(count_found(other, &sf, 1), 1);
	CK_OK(p11->C_CloseSession(s));
	CU_ASSERT_EQUAL(count_found(other, &sf, 1), 0);
	CK_BYTE buf[8];
	CK_ATTRIBUTE q = {CKA_VALUE, buf, sizeof buf};
	CK_ASSERT_RV(p11->C_GetAttributeValue(other, sess, &q, 1), CKR_OBJECT_HANDLE_INVALID);
	CK_OK(p11->C_CloseSession(other));
}

static bool file_contains(const char *path, const unsigned char *needle, size_t n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return false;
	static unsigned char buf[1 << 22];
	size_t len = fread(buf, 1, sizeof buf, f);
	fclose(f);
	for (size_t i = 0; i + n <= len; i++)
		if (memcmp(buf + i, needle, n) == 0)
			return true;
	return false;
}

static void test_persistence_and_no_clear_keys(void)
{
	CK_SESSION_HANDLE s = p11t_user_session(objslot);
	CK_OBJECT_CLASS sk = CKO_SECRET_KEY;
	CK_KEY_TYPE gen = CKK_GENERIC_SECRET;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	unsigned char secret[32];
	for (size_t i = 0; i < sizeof secret; i++)
		secret[i] = (unsigned char)(0xA5 ^ (i * 37));
	CK_ATTRIBUTE t[] = {{CKA_CLASS, &sk, sizeof sk},
			    {CKA_KEY_TYPE, &gen, sizeof gen},
			    {CKA_VALUE, secret, sizeof secret},
			    {CKA_TOKEN, &yes, 1},
			    {CKA_SENSITIVE, &no, 1},
			    {CKA_EXTRACTABLE, &yes, 1},
			    {CKA_LABEL, "persist", 7},
			    {CKA_ID, "\x01\x02", 2}};
	CK_OBJECT_HANDLE h;
	CK_OK(p11->C_CreateObject(s, t, 8, &h));
	CK_BBOOL pubt = CK_FALSE;
	CK_ATTRIBUTE pt[] = {{CKA_CLASS, &sk, sizeof sk},
			     {CKA_KEY_TYPE, &gen, sizeof gen},
			     {CKA_VALUE, secret, sizeof secret},
			     {CKA_TOKEN, &yes, 1},
			     {CKA_PRIVATE, &pubt, 1},
			     {CKA_SENSITIVE, &no, 1},
			     {CKA_EXTRACTABLE, &yes, 1},
			     {CKA_LABEL, "public-sealed", 13}};
	CK_OBJECT_HANDLE pubkey;
	CK_OK(p11->C_CreateObject(s, pt, 8, &pubkey));
	CK_OK(p11->C_Logout(s));
	/* Without login no key material can be sealed. */
	CK_ASSERT_RV(p11->C_CreateObject(s, pt, 8, &h), CKR_USER_NOT_LOGGED_IN);
	CK_OK(p11->C_CloseSession(s));
	p11->C_Finalize(NULL);

	char path[400];
	snprintf(path, sizeof path, "%s/token-%lu.sqlite", p11t_dir(), (unsigned long)objslot);
	CU_ASSERT(access(path, F_OK) == 0);
	const char *suffix[] = {"", "-wal", "-shm"};
	for (int i = 0; i < 3; i++) {
		char p[420];
		snprintf(p, sizeof p, "%s%s", path, suffix[i]);
		CU_ASSERT_FALSE(file_contains(p, secret, sizeof secret));
		CU_ASSERT_FALSE(file_contains(p, (const unsigned char *)USER_PIN, strlen(USER_PIN)));
	}
	struct stat st;
	CU_ASSERT(stat(path, &st) == 0 && (st.st_mode & 077) == 0);

	CK_OK(p11->C_Initialize(NULL));
	/* A public key object is visible before login, but its value is
	 * sealed: reading it needs the login that opens the token key. */
	CK_OK(p11->C_OpenSession(objslot, CKF_SERIAL_SESSION, NULL, NULL, &s));
	CK_ATTRIBUTE pl = {CKA_LABEL, "public-sealed", 13};
	CK_OBJECT_HANDLE ph[2];
	CK_ULONG pn = 0;
	CK_OK(p11->C_FindObjectsInit(s, &pl, 1));
	CK_OK(p11->C_FindObjects(s, ph, 2, &pn));
	CK_OK(p11->C_FindObjectsFinal(s));
	CU_ASSERT_EQUAL_FATAL(pn, 1);
	unsigned char pv[32];
	CK_ATTRIBUTE pq = {CKA_VALUE, pv, sizeof pv};
	CK_ASSERT_RV(p11->C_GetAttributeValue(s, ph[0], &pq, 1), CKR_USER_NOT_LOGGED_IN);
	CK_OK(p11->C_Login(s, CKU_USER, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN)));
	pq.ulValueLen = sizeof pv;
	CK_OK(p11->C_GetAttributeValue(s, ph[0], &pq, 1));
	CU_ASSERT(memcmp(pv, secret, sizeof pv) == 0);
	CK_OK(p11->C_CloseSession(s));
	s = p11t_user_session(objslot);
	CK_ATTRIBUTE id = {CKA_ID, "\x01\x02", 2};
	CK_OBJECT_HANDLE found[2];
	CK_ULONG n = 0;
	CK_OK(p11->C_FindObjectsInit(s, &id, 1));
	CK_OK(p11->C_FindObjects(s, found, 2, &n));
	CK_OK(p11->C_FindObjectsFinal(s));
	CU_ASSERT_EQUAL_FATAL(n, 1);
	unsigned char back[32];
	CK_ATTRIBUTE v = {CKA_VALUE, back, sizeof back};
	CK_OK(p11->C_GetAttributeValue(s, found[0], &v, 1));
	CU_ASSERT(memcmp(back, secret, sizeof secret) == 0);
	/* Before login the key is not even visible. */
	CK_OK(p11->C_Logout(s));
	CK_OK(p11->C_FindObjectsInit(s, &id, 1));
	CK_OK(p11->C_FindObjects(s, found, 2, &n));
	CK_OK(p11->C_FindObjectsFinal(s));
	CU_ASSERT_EQUAL(n, 0);
	CK_OK(p11->C_CloseSession(s));
}

/* ---- operations ---------------------------------------------------------------------- */

static void test_operation_state(void)
{
	CK_SESSION_HANDLE s = p11t_user_session(objslot);
	CK_OBJECT_HANDLE pub, priv;
	p11t_ec_pair(s, false, "ops", &pub, &priv);
	CK_MECHANISM m = {CKM_ECDSA, NULL, 0};
	CK_BYTE hash[32] = {1, 2, 3, 4}, sig[64];
	CK_ULONG len = sizeof sig;
	CK_ASSERT_RV(p11->C_Sign(s, hash, 32, sig, &len), CKR_OPERATION_NOT_INITIALIZED);
	CK_ASSERT_RV(p11->C_SignInit(s, &m, 0x7fffff), CKR_KEY_HANDLE_INVALID);
	CK_ASSERT_RV(p11->C_SignInit(s, NULL, priv), CKR_ARGUMENTS_BAD);
	CK_MECHANISM bogus = {0x7fff0000UL, NULL, 0};
	CK_ASSERT_RV(p11->C_SignInit(s, &bogus, priv), CKR_MECHANISM_INVALID);
	CK_ASSERT_RV(p11->C_SignInit(s, &m, pub), CKR_KEY_FUNCTION_NOT_PERMITTED);
	CK_OK(p11->C_SignInit(s, &m, priv));
	CK_ASSERT_RV(p11->C_SignInit(s, &m, priv), CKR_OPERATION_ACTIVE);
	/* A length query and a short buffer keep the operation. */
	CK_ULONG q = 0;
	CK_OK(p11->C_Sign(s, hash, 32, NULL, &q));
	CU_ASSERT_EQUAL(q, 64);
	len = 10;
	CK_ASSERT_RV(p11->C_Sign(s, hash, 32, sig, &len), CKR_BUFFER_TOO_SMALL);
	CU_ASSERT_EQUAL(len, 64);
	len = sizeof sig;
	CK_OK(p11->C_Sign(s, hash, 32, sig, &len));
	CU_ASSERT_EQUAL(len, 64);
	/* Done: the operation is over. */
	CK_ASSERT_RV(p11->C_Sign(s, hash, 32, sig, &len), CKR_OPERATION_NOT_INITIALIZED);
	CK_OK(p11->C_VerifyInit(s, &m, pub));
	CK_OK(p11->C_Verify(s, hash, 32, sig, len));
	CK_OK(p11->C_VerifyInit(s, &m, pub));
	sig[5] ^= 1;
	CK_ASSERT_RV(p11->C_Verify(s, hash, 32, sig, len), CKR_SIGNATURE_INVALID);
	CK_ASSERT_RV(p11->C_Verify(s, hash, 32, sig, len), CKR_OPERATION_NOT_INITIALIZED);
	/* Raw ECDSA is single-part only. */
	CK_OK(p11->C_SignInit(s, &m, priv));
	CK_ASSERT_RV(p11->C_SignUpdate(s, hash, 32), CKR_FUNCTION_NOT_SUPPORTED);
	CK_ASSERT_RV(p11->C_SignFinal(s, sig, &len), CKR_OPERATION_NOT_INITIALIZED);
	/* Multi-part then single-part is refused. */
	CK_MECHANISM m256 = {CKM_ECDSA_SHA256, NULL, 0};
	CK_OK(p11->C_SignInit(s, &m256, priv));
	CK_OK(p11->C_SignUpdate(s, hash, 10));
	CK_ASSERT_RV(p11->C_Sign(s, hash, 32, sig, &len), CKR_OPERATION_ACTIVE);
	len = sizeof sig;
	CK_OK(p11->C_SignFinal(s, sig, &len));

	/* Allowed mechanisms are enforced. */
	CK_MECHANISM_TYPE only = CKM_ECDSA_SHA256;
	CK_ATTRIBUTE am = {CKA_ALLOWED_MECHANISMS, &only, sizeof only};
	CK_ASSERT_RV(p11->C_SetAttributeValue(s, priv, &am, 1), CKR_ATTRIBUTE_READ_ONLY);
	static const CK_BYTE p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
	CK_ATTRIBUTE pubt = {CKA_EC_PARAMS, (void *)p256, sizeof p256};
	CK_MECHANISM gen = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
	CK_OK(p11->C_GenerateKeyPair(s, &gen, &pubt, 1, &am, 1, &pub, &priv));
	CK_ASSERT_RV(p11->C_SignInit(s, &m, priv), CKR_MECHANISM_INVALID);
	CK_OK(p11->C_SignInit(s, &m256, priv));
	len = sizeof sig;
	CK_OK(p11->C_Sign(s, hash, 32, sig, &len));
	/* CKA_SIGN false. */
	CK_BBOOL no = CK_FALSE;
	CK_ATTRIBUTE ns = {CKA_SIGN, &no, 1};
	CK_OK(p11->C_SetAttributeValue(s, priv, &ns, 1));
	CK_ASSERT_RV(p11->C_SignInit(s, &m256, priv), CKR_KEY_FUNCTION_NOT_PERMITTED);

	/* Digest against OpenSSL. */
	CK_MECHANISM dm = {CKM_SHA256, NULL, 0};
	CK_BYTE d[32], ref[32];
	CK_ULONG dl = sizeof d;
	CK_OK(p11->C_DigestInit(s, &dm));
	CK_OK(p11->C_DigestUpdate(s, (CK_BYTE *)"abc", 3));
	CK_OK(p11->C_DigestUpdate(s, (CK_BYTE *)"def", 3));
	CK_OK(p11->C_DigestFinal(s, d, &dl));
	SHA256((const unsigned char *)"abcdef", 6, ref);
	CU_ASSERT_EQUAL(dl, 32);
	CU_ASSERT(memcmp(d, ref, 32) == 0);
	CK_ASSERT_RV(p11->C_DigestUpdate(s, (CK_BYTE *)"x", 1), CKR_OPERATION_NOT_INITIALIZED);

	CK_BYTE rnd[64] = {0}, zero[64] = {0};
	CK_OK(p11->C_GenerateRandom(s, rnd, sizeof rnd));
	CU_ASSERT(memcmp(rnd, zero, sizeof rnd) != 0);
	CK_ASSERT_RV(p11->C_GenerateRandom(s, NULL, 4), CKR_ARGUMENTS_BAD);
	CK_OK(p11->C_SeedRandom(s, rnd, 8));
	CK_ASSERT_RV(p11->C_GetFunctionStatus(s), CKR_FUNCTION_NOT_PARALLEL);
	CK_ULONG stlen;
	CK_ASSERT_RV(p11->C_GetOperationState(s, NULL, &stlen), CKR_STATE_UNSAVEABLE);
	CK_OK(p11->C_CloseSession(s));
}

static void test_mechanism_info(void)
{
	CK_ULONG n = 0;
	CK_OK(p11->C_GetMechanismList(objslot, NULL, &n));
	CU_ASSERT(n > 20);
	CK_MECHANISM_TYPE *list = calloc(n, sizeof *list);
	CK_ULONG small = 1;
	CK_ASSERT_RV(p11->C_GetMechanismList(objslot, list, &small), CKR_BUFFER_TOO_SMALL);
	CK_OK(p11->C_GetMechanismList(objslot, list, &n));
	bool ecdsa = false;
	for (CK_ULONG i = 0; i < n; i++) {
		CK_MECHANISM_INFO mi;
		CK_OK(p11->C_GetMechanismInfo(objslot, list[i], &mi));
		CU_ASSERT(mi.flags != 0);
		if (list[i] == CKM_ECDSA) {
			ecdsa = true;
			CU_ASSERT(mi.flags & CKF_SIGN);
			CU_ASSERT(mi.flags & CKF_VERIFY);
			CU_ASSERT_EQUAL(mi.ulMinKeySize, 256);
		}
	}
	CU_ASSERT(ecdsa);
	free(list);
	CK_MECHANISM_INFO mi;
	CK_ASSERT_RV(p11->C_GetMechanismInfo(objslot, 0x7fff0000UL, &mi), CKR_MECHANISM_INVALID);
	CK_ASSERT_RV(p11->C_GetMechanismInfo(9999, CKM_ECDSA, &mi), CKR_SLOT_ID_INVALID);
}

/* ---- fork and threads ----------------------------------------------------------------- */

static void test_fork_child(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		CK_ULONG n;
		if (p11->C_GetSlotList(CK_FALSE, NULL, &n) != CKR_CRYPTOKI_NOT_INITIALIZED)
			_exit(2);
		if (p11->C_Finalize(NULL) != CKR_CRYPTOKI_NOT_INITIALIZED)
			_exit(3);
		if (p11->C_Initialize(NULL) != CKR_OK)
			_exit(4);
		if (p11->C_GetSlotList(CK_FALSE, NULL, &n) != CKR_OK || n < 2)
			_exit(5);
		CK_SESSION_HANDLE s;
		if (p11->C_OpenSession(objslot, CKF_SERIAL_SESSION, NULL, NULL, &s) != CKR_OK)
			_exit(6);
		if (p11->C_Login(s, CKU_USER, (CK_UTF8CHAR *)USER_PIN, strlen(USER_PIN)) != CKR_OK)
			_exit(7);
		p11->C_Finalize(NULL);
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	CU_ASSERT(WIFEXITED(status));
	CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
	/* The parent is untouched. */
	CK_SESSION_HANDLE s;
	CK_OK(p11->C_OpenSession(objslot, CKF_SERIAL_SESSION, NULL, NULL, &s));
	CK_OK(p11->C_CloseSession(s));
}

struct signer {
	CK_OBJECT_HANDLE priv, pub;
	int ok;
};

static void *sign_loop(void *arg)
{
	struct signer *w = arg;
	CK_SESSION_HANDLE s;
	if (p11->C_OpenSession(objslot, CKF_SERIAL_SESSION, NULL, NULL, &s) != CKR_OK)
		return NULL;
	CK_MECHANISM m = {CKM_ECDSA_SHA256, NULL, 0};
	for (int i = 0; i < 200; i++) {
		CK_BYTE msg[8], sig[64];
		CK_ULONG len = sizeof sig;
		memcpy(msg, &i, sizeof i);
		if (p11->C_SignInit(s, &m, w->priv) != CKR_OK ||
		    p11->C_Sign(s, msg, sizeof msg, sig, &len) != CKR_OK)
			break;
		if (p11->C_VerifyInit(s, &m, w->pub) != CKR_OK ||
		    p11->C_Verify(s, msg, sizeof msg, sig, len) != CKR_OK)
			break;
		w->ok++;
	}
	p11->C_CloseSession(s);
	return NULL;
}

static void test_two_threads(void)
{
	CK_SESSION_HANDLE s = p11t_user_session(objslot);
	struct signer w[2];
	memset(w, 0, sizeof w);
	p11t_ec_pair(s, true, "threads", &w[0].pub, &w[0].priv);
	w[1] = w[0];
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, sign_loop, &w[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	CU_ASSERT_EQUAL(w[0].ok, 200);
	CU_ASSERT_EQUAL(w[1].ok, 200);
	CK_OK(p11->C_CloseSession(s));
}

static void test_bad_session_handles(void)
{
	CK_SESSION_INFO si;
	CK_ASSERT_RV(p11->C_GetSessionInfo(0, &si), CKR_SESSION_HANDLE_INVALID);
	CK_ASSERT_RV(p11->C_Login(123456, CKU_USER, (CK_UTF8CHAR *)"x", 1),
		     CKR_SESSION_HANDLE_INVALID);
	CK_MECHANISM m = {CKM_SHA256, NULL, 0};
	CK_ASSERT_RV(p11->C_DigestInit(123456, &m), CKR_SESSION_HANDLE_INVALID);
	CK_SESSION_HANDLE s;
	CK_OK(p11->C_OpenSession(objslot, CKF_SERIAL_SESSION, NULL, NULL, &s));
	CK_ASSERT_RV(p11->C_GetSessionInfo(s, NULL), CKR_ARGUMENTS_BAD);
	CK_ASSERT_RV(p11->C_CloseAllSessions(4242), CKR_SLOT_ID_INVALID);
	CK_OK(p11->C_CloseSession(s));
}

static void load_module(void)
{
#ifdef VIA_DLOPEN
	const char *path = getenv("SEALKIT_MODULE");
	if (!path)
		harness_skip_all("SEALKIT_MODULE not set");
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		printf("Bail out! dlopen %s: %s\n", path, dlerror());
		exit(99);
	}
	CK_C_GetFunctionList gfl = (CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList");
	CK_C_GetInterface gi = (CK_C_GetInterface)dlsym(h, "C_GetInterface");
	/* Only the three entry points are exported. */
	if (!gfl || !gi || dlsym(h, "C_Initialize") || dlsym(h, "token_login")) {
		printf("Bail out! wrong exports in %s\n", path);
		exit(99);
	}
	gfl(&p11);
	CK_INTERFACE *in;
	gi(NULL, NULL, &in, 0);
	p11_3 = in->pFunctionList;
#else
	CK_INTERFACE *in;
	C_GetFunctionList(&p11);
	C_GetInterface(NULL, NULL, &in, 0);
	p11_3 = in->pFunctionList;
#endif
}

static int general_init(void)
{
	p11t_fresh_dir(10);
	return 0;
}

void register_tests(void)
{
	load_module();
	CU_pSuite g = harness_suite("general", general_init, NULL);
	harness_test(g, "calls before C_Initialize", test_not_initialized);
	harness_test(g, "C_Initialize arguments", test_initialize_args);
	harness_test(g, "C_GetInfo", test_info);
	harness_test(g, "3.0 interfaces", test_interfaces);

	CU_pSuite sl = harness_suite("slots", NULL, NULL);
	harness_test(sl, "one free slot in an empty dir", test_one_free_slot);
	harness_test(sl, "init token, stable slot IDs, re-init", test_init_token_and_stable_ids);
	harness_test(sl, "slot list buffer", test_slot_list_buffer);
	harness_test(sl, "token made by another process", test_token_from_other_process);
	harness_test(sl, "garbage in the token directory", test_garbage_in_dir);

	CU_pSuite lg = harness_suite("login", NULL, NULL);
	harness_test(lg, "login states and PIN changes", test_login_states);
	harness_test(lg, "PIN lockout survives restarts", test_pin_lockout);

	CU_pSuite ob = harness_suite("objects", objects_init, objects_clean);
	harness_test(ob, "make the token", test_objects_token);
	harness_test(ob, "create rules", test_create_rules);
	harness_test(ob, "C_GetAttributeValue semantics", test_get_attribute_semantics);
	harness_test(ob, "generated key flags", test_generated_key_flags);
	harness_test(ob, "copy, destroy, size", test_copy_destroy_size);
	harness_test(ob, "find and visibility", test_find_and_visibility);
	harness_test(ob, "persistence, no key bytes in clear", test_persistence_and_no_clear_keys);
	harness_test(ob, "operation state machine", test_operation_state);
	harness_test(ob, "mechanism list and info", test_mechanism_info);
	harness_test(ob, "fork: child starts afresh", test_fork_child);
	harness_test(ob, "two threads sign on one token", test_two_threads);
	harness_test(ob, "bad session handles", test_bad_session_handles);
}
