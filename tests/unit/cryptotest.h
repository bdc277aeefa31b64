/* Helpers shared by the tests that drive the crypto layer directly. */
#ifndef SEALKIT_CRYPTOTEST_H
#define SEALKIT_CRYPTOTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <CUnit/CUnit.h>
#include "crypto/crypto.h"

/* Hex to bytes; returns the byte count. */
size_t unhex(const char *hex, unsigned char *out);
bool eq_hex(const unsigned char *got, size_t len, const char *hex);
/* A bare key object of this class and type, as the object layer makes it. */
sk_object *mk_obj(CK_OBJECT_CLASS cls, CK_KEY_TYPE kt);
/* One single-part operation / one verification, start to end. */
CK_RV oneshot(op_kind kind, CK_MECHANISM *m, sk_object *key, const void *in, size_t in_len,
	      unsigned char *out, CK_ULONG *out_len);
CK_RV verify1(CK_MECHANISM *m, sk_object *key, const void *data, size_t len,
	      const unsigned char *sig, CK_ULONG sig_len);

#endif
