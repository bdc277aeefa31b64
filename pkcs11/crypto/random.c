/* C_GenerateRandom and C_SeedRandom on OpenSSL's DRBG. */
#include "config.h"

#include <limits.h>
#include <openssl/rand.h>

#include "internal.h"

CK_RV crypto_random(CK_BYTE *out, CK_ULONG len)
{
	if (out == NULL && len != 0)
		return CKR_ARGUMENTS_BAD;
	while (len > 0) {
		int n = len > INT_MAX ? INT_MAX : (int)len;

		if (RAND_bytes(out, n) != 1)
			return CKR_FUNCTION_FAILED;
		out += n;
		len -= (CK_ULONG)n;
	}
	return CKR_OK;
}

CK_RV crypto_seed(const CK_BYTE *seed, CK_ULONG len)
{
	if (seed == NULL && len != 0)
		return CKR_ARGUMENTS_BAD;
	while (len > 0) {
		int n = len > INT_MAX ? INT_MAX : (int)len;

		/* Mixed in as additional input, credited with no entropy: the
		 * caller's seed must never weaken the DRBG. */
		RAND_add(seed, n, 0.0);
		seed += n;
		len -= (CK_ULONG)n;
	}
	return CKR_OK;
}
