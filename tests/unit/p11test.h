/* Shared helpers for the tests that drive the PKCS#11 function table. */
#ifndef SEALKIT_P11TEST_H
#define SEALKIT_P11TEST_H

#include <CUnit/CUnit.h>
#include <stdbool.h>
#include "pkcs11x.h"

extern CK_FUNCTION_LIST *p11;

#define SO_PIN "12345678"
#define USER_PIN "87654321"

/* A new empty token directory with a fast-PIN config; sets the env. */
void p11t_fresh_dir(unsigned max_fails);
void p11t_remove_dir(void);
const char *p11t_dir(void);
/* Adds lines to the config p11t_fresh_dir wrote (read at C_Initialize). */
void p11t_conf_append(const char *text);

/* C_Initialize with defaults; asserts. */
void p11t_init(void);
void p11t_fini(void);
/* Initialises the free slot as a token with SO_PIN and USER_PIN; returns
 * its slot ID. */
CK_SLOT_ID p11t_make_token(const char *label);
/* Opens an R/W session on `slot` logged in as the user. */
CK_SESSION_HANDLE p11t_user_session(CK_SLOT_ID slot);
/* The first slot without an initialised token. */
CK_SLOT_ID p11t_free_slot(void);
CK_ULONG p11t_slot_count(void);
CK_FLAGS p11t_token_flags(CK_SLOT_ID slot);

/* An EC P-256 key pair on the token (token objects when `token`). */
void p11t_ec_pair(CK_SESSION_HANDLE s, bool token, const char *label, CK_OBJECT_HANDLE *pub,
		  CK_OBJECT_HANDLE *priv);

#define CK_ASSERT_RV(call, expect)                                                                 \
	do {                                                                                       \
		CK_RV rv_ = (call);                                                                \
		if (rv_ != (CK_RV)(expect))                                                        \
			fprintf(stderr, "%s:%d: %s = 0x%lx, expected 0x%lx\n", __FILE__, __LINE__, \
				#call, (unsigned long)rv_, (unsigned long)(expect));               \
		CU_ASSERT_EQUAL(rv_, (CK_RV)(expect));                                             \
	} while (0)

#define CK_OK(call) CK_ASSERT_RV(call, CKR_OK)

#endif
