/* Helpers shared by the tests that drive the crypto layer directly. */
#include "cryptotest.h"

#include <string.h>

size_t unhex(const char *hex, unsigned char *out)
{
	size_t n = 0;

	for (; hex[0] && hex[1]; hex += 2) {
		unsigned v;

		if (sscanf(hex, "%2x", &v) != 1)
			break;
		out[n++] = (unsigned char)v;
	}
	return n;
}

bool eq_hex(const unsigned char *got, size_t len, const char *hex)
{
	unsigned char want[512];
	size_t n = unhex(hex, want);

	return n == len && memcmp(got, want, n) == 0;
}

sk_object *mk_obj(CK_OBJECT_CLASS cls, CK_KEY_TYPE kt)
{
	sk_object *o = object_new();

	CU_ASSERT_FATAL(o != NULL);
	o->cls = cls;
	o->key_type = kt;
	object_set_value(o, CKA_CLASS, &cls, sizeof(cls));
	object_set_value(o, CKA_KEY_TYPE, &kt, sizeof(kt));
	return o;
}

CK_RV oneshot(op_kind kind, CK_MECHANISM *m, sk_object *key, const void *in, size_t in_len,
		     unsigned char *out, CK_ULONG *out_len)
{
	crypto_op *op;
	CK_RV rv = crypto_op_new(kind, m, key, &op);

	if (rv != CKR_OK)
		return rv;
	rv = crypto_op_oneshot(op, in, in_len, out, out_len);
	crypto_op_free(op);
	return rv;
}

CK_RV verify1(CK_MECHANISM *m, sk_object *key, const void *data, size_t len,
		     const unsigned char *sig, CK_ULONG sig_len)
{
	crypto_op *op;
	CK_RV rv = crypto_op_new(OP_VERIFY, m, key, &op);

	if (rv != CKR_OK)
		return rv;
	rv = crypto_op_verify(op, data, len, sig, sig_len);
	crypto_op_free(op);
	return rv;
}
