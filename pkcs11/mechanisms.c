/* The mechanism table: one row per mechanism, the single place that says
 * what the token can do (C_GetMechanismList/Info) and which handler does it.
 * Key sizes follow the spec's units: bits for RSA and EC, bytes for AES, SM4
 * and HMAC keys, bits for CKM_GENERIC_SECRET_KEY_GEN. */
#include "config.h"

#include "crypto/internal.h"
#include "profile.h"

#define NA CK_UNAVAILABLE_INFORMATION
#define ECF (CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS)
#define SV (CKF_SIGN | CKF_VERIFY)
#define ED (CKF_ENCRYPT | CKF_DECRYPT)
#define WU (CKF_WRAP | CKF_UNWRAP)

/* type, min, max, flags, generated key type, handler, key types, hash, variant, multi-part */
#define ROW(t, lo, hi, fl, gen, ops, kts, md, var, multi)                                       \
	{(t), {(lo), (hi), (fl)}, (gen), (ops), kts, sizeof((CK_KEY_TYPE[])kts) / sizeof(CK_KEY_TYPE), \
	 (md), (var), (multi)}
#define KT(...) {__VA_ARGS__}
#define NOKEY KT(0)

#define RSA_LO 1024
#define RSA_HI 16384
#define HMAC_LO 1
#define HMAC_HI HMAC_KEY_MAX

static const mech_def table[] = {
	/* Digests */
	ROW(CKM_SHA_1, 0, 0, CKF_DIGEST, NA, &digest_handler, NOKEY, MD_SHA1, 0, true),
	ROW(CKM_SHA224, 0, 0, CKF_DIGEST, NA, &digest_handler, NOKEY, MD_SHA224, 0, true),
	ROW(CKM_SHA256, 0, 0, CKF_DIGEST, NA, &digest_handler, NOKEY, MD_SHA256, 0, true),
	ROW(CKM_SHA384, 0, 0, CKF_DIGEST, NA, &digest_handler, NOKEY, MD_SHA384, 0, true),
	ROW(CKM_SHA512, 0, 0, CKF_DIGEST, NA, &digest_handler, NOKEY, MD_SHA512, 0, true),
	ROW(CKM_SM3, 0, 0, CKF_DIGEST, NA, &digest_handler, NOKEY, MD_SM3, 0, true),

	/* HMAC */
	ROW(CKM_SHA_1_HMAC, HMAC_LO, HMAC_HI, SV, NA, &hmac_handler,
	    KT(CKK_GENERIC_SECRET, CKK_SHA_1_HMAC), MD_SHA1, HMACV_FULL, true),
	ROW(CKM_SHA_1_HMAC_GENERAL, HMAC_LO, HMAC_HI, SV, NA, &hmac_handler,
	    KT(CKK_GENERIC_SECRET, CKK_SHA_1_HMAC), MD_SHA1, HMACV_GENERAL, true),
	ROW(CKM_SHA224_HMAC, HMAC_LO, HMAC_HI, SV, NA, &hmac_handler,
	    KT(CKK_GENERIC_SECRET, CKK_SHA224_HMAC), MD_SHA224, HMACV_FULL, true),
	ROW(CKM_SHA224_HMAC_GENERAL, HMAC_LO, HMAC_HI, SV, NA, &hmac_handler,
	    KT(CKK_GENERIC_SECRET, CKK_SHA224_HMAC), MD_SHA224, HMACV_GENERAL, true),
	ROW(CKM_SHA256_HMAC, HMAC_LO, HMAC_HI, SV, NA, &hmac_handler,
	    KT(CKK_GENERIC_SECRET, CKK_SHA256_HMAC), MD_SHA256, HMACV_FULL, true),
	ROW(CKM_SHA256_HMAC_GENERAL, HMAC_LO, HMAC_HI, SV, NA, &hmac_handler,
	    KT(CKK_GENERIC_SECRET, CKK_SHA256_HMAC), MD_SHA256, HMACV_GENERAL, true),
	ROW(CKM_SHA384_HMAC, HMAC_LO, HMAC_HI, SV, NA, &hmac_handler,
	    KT(CKK_GENERIC_SECRET, CKK_SHA384_HMAC), MD_SHA384, HMACV_FULL, true),
	ROW(CKM_SHA384_HMAC_GENERAL, HMAC_LO, HMAC_HI, SV, NA, &hmac_handler,
	    KT(CKK_GENERIC_SECRET, CKK_SHA384_HMAC), MD_SHA384, HMACV_GENERAL, true),
	ROW(CKM_SHA512_HMAC, HMAC_LO, HMAC_HI, SV, NA, &hmac_handler,
	    KT(CKK_GENERIC_SECRET, CKK_SHA512_HMAC), MD_SHA512, HMACV_FULL, true),
	ROW(CKM_SHA512_HMAC_GENERAL, HMAC_LO, HMAC_HI, SV, NA, &hmac_handler,
	    KT(CKK_GENERIC_SECRET, CKK_SHA512_HMAC), MD_SHA512, HMACV_GENERAL, true),
	ROW(CKM_SM3_HMAC, HMAC_LO, HMAC_HI, SV, NA, &hmac_handler, KT(CKK_GENERIC_SECRET), MD_SM3,
	    HMACV_FULL, true),
	ROW(CKM_SM3_HMAC_GENERAL, HMAC_LO, HMAC_HI, SV, NA, &hmac_handler, KT(CKK_GENERIC_SECRET),
	    MD_SM3, HMACV_GENERAL, true),

	/* Secret key generation */
	ROW(CKM_GENERIC_SECRET_KEY_GEN, 8, HMAC_HI * 8, CKF_GENERATE, CKK_GENERIC_SECRET, NULL,
	    NOKEY, MD_NONE, 0, false),
	ROW(CKM_AES_KEY_GEN, 16, 32, CKF_GENERATE, CKK_AES, NULL, NOKEY, MD_NONE, 0, false),
	ROW(CKM_SM4_KEY_GEN, 16, 16, CKF_GENERATE, CKK_SM4, NULL, NOKEY, MD_NONE, 0, false),

	/* EC */
	ROW(CKM_EC_KEY_PAIR_GEN, 256, 521, CKF_GENERATE_KEY_PAIR | ECF, CKK_EC, NULL, NOKEY,
	    MD_NONE, 0, false),
	ROW(CKM_ECDSA, 256, 521, SV | ECF, NA, &ecdsa_handler, KT(CKK_EC), MD_NONE, 0, false),
	ROW(CKM_ECDSA_SHA1, 256, 521, SV | ECF, NA, &ecdsa_handler, KT(CKK_EC), MD_SHA1, 0, true),
	ROW(CKM_ECDSA_SHA224, 256, 521, SV | ECF, NA, &ecdsa_handler, KT(CKK_EC), MD_SHA224, 0,
	    true),
	ROW(CKM_ECDSA_SHA256, 256, 521, SV | ECF, NA, &ecdsa_handler, KT(CKK_EC), MD_SHA256, 0,
	    true),
	ROW(CKM_ECDSA_SHA384, 256, 521, SV | ECF, NA, &ecdsa_handler, KT(CKK_EC), MD_SHA384, 0,
	    true),
	ROW(CKM_ECDSA_SHA512, 256, 521, SV | ECF, NA, &ecdsa_handler, KT(CKK_EC), MD_SHA512, 0,
	    true),
	ROW(CKM_ECDH1_DERIVE, 256, 521, CKF_DERIVE | ECF, NA, NULL, KT(CKK_EC), MD_NONE, 0, false),

	/* RSA */
	ROW(CKM_RSA_PKCS_KEY_PAIR_GEN, 2048, 4096, CKF_GENERATE_KEY_PAIR, CKK_RSA, NULL, NOKEY,
	    MD_NONE, 0, false),
	ROW(CKM_RSA_PKCS, RSA_LO, RSA_HI, SV | ED | CKF_SIGN_RECOVER | CKF_VERIFY_RECOVER, NA,
	    &rsa_handler, KT(CKK_RSA), MD_NONE, RSAV_PKCS, false),
	ROW(CKM_RSA_X_509, RSA_LO, RSA_HI, SV | ED | CKF_SIGN_RECOVER | CKF_VERIFY_RECOVER, NA,
	    &rsa_handler, KT(CKK_RSA), MD_NONE, RSAV_X509, false),
	ROW(CKM_SHA1_RSA_PKCS, RSA_LO, RSA_HI, SV, NA, &rsa_handler, KT(CKK_RSA), MD_SHA1,
	    RSAV_PKCS, true),
	ROW(CKM_SHA224_RSA_PKCS, RSA_LO, RSA_HI, SV, NA, &rsa_handler, KT(CKK_RSA), MD_SHA224,
	    RSAV_PKCS, true),
	ROW(CKM_SHA256_RSA_PKCS, RSA_LO, RSA_HI, SV, NA, &rsa_handler, KT(CKK_RSA), MD_SHA256,
	    RSAV_PKCS, true),
	ROW(CKM_SHA384_RSA_PKCS, RSA_LO, RSA_HI, SV, NA, &rsa_handler, KT(CKK_RSA), MD_SHA384,
	    RSAV_PKCS, true),
	ROW(CKM_SHA512_RSA_PKCS, RSA_LO, RSA_HI, SV, NA, &rsa_handler, KT(CKK_RSA), MD_SHA512,
	    RSAV_PKCS, true),
	ROW(CKM_RSA_PKCS_PSS, RSA_LO, RSA_HI, SV, NA, &rsa_handler, KT(CKK_RSA), MD_NONE,
	    RSAV_PSS, false),
	ROW(CKM_SHA1_RSA_PKCS_PSS, RSA_LO, RSA_HI, SV, NA, &rsa_handler, KT(CKK_RSA), MD_SHA1,
	    RSAV_PSS, true),
	ROW(CKM_SHA224_RSA_PKCS_PSS, RSA_LO, RSA_HI, SV, NA, &rsa_handler, KT(CKK_RSA), MD_SHA224,
	    RSAV_PSS, true),
	ROW(CKM_SHA256_RSA_PKCS_PSS, RSA_LO, RSA_HI, SV, NA, &rsa_handler, KT(CKK_RSA), MD_SHA256,
	    RSAV_PSS, true),
	ROW(CKM_SHA384_RSA_PKCS_PSS, RSA_LO, RSA_HI, SV, NA, &rsa_handler, KT(CKK_RSA), MD_SHA384,
	    RSAV_PSS, true),
	ROW(CKM_SHA512_RSA_PKCS_PSS, RSA_LO, RSA_HI, SV, NA, &rsa_handler, KT(CKK_RSA), MD_SHA512,
	    RSAV_PSS, true),
	ROW(CKM_RSA_PKCS_OAEP, RSA_LO, RSA_HI, ED, NA, &rsa_handler, KT(CKK_RSA), MD_NONE,
	    RSAV_OAEP, false),

	/* AES */
	ROW(CKM_AES_ECB, 16, 32, ED, NA, &cipher_handler, KT(CKK_AES), MD_NONE, CIPHV_ECB, true),
	ROW(CKM_AES_CBC, 16, 32, ED, NA, &cipher_handler, KT(CKK_AES), MD_NONE, CIPHV_CBC, true),
	ROW(CKM_AES_CBC_PAD, 16, 32, ED | WU, NA, &cipher_handler, KT(CKK_AES), MD_NONE,
	    CIPHV_CBC_PAD, true),
	ROW(CKM_AES_CTR, 16, 32, ED, NA, &cipher_handler, KT(CKK_AES), MD_NONE, CIPHV_CTR, true),
	ROW(CKM_AES_GCM, 16, 32, ED, NA, &gcm_handler, KT(CKK_AES), MD_NONE, 0, true),
	ROW(CKM_AES_KEY_WRAP, 16, 32, WU, NA, NULL, KT(CKK_AES), MD_NONE, 0, false),
	ROW(CKM_AES_KEY_WRAP_PAD, 16, 32, WU, NA, NULL, KT(CKK_AES), MD_NONE, 0, false),

	/* SM2 (the variants without a canonical code are offered by vendor profiles) */
	ROW(CKM_SM2_KEY_PAIR_GEN, 256, 256, CKF_GENERATE_KEY_PAIR, CKK_SM2, NULL, NOKEY, MD_NONE,
	    0, false),
	ROW(CKM_SM2_SM3, 256, 256, SV, NA, &sm2_handler, KT(CKK_SM2, CKK_EC), MD_SM3,
	    SM2V_HASH | SM2V_Z, true),
	ROW(CKM_SM2_SM3_DER, 256, 256, SV, NA, &sm2_handler, KT(CKK_SM2, CKK_EC), MD_SM3,
	    SM2V_HASH | SM2V_Z | SM2V_DER, true),
	ROW(SKI_SM2_SM3_NOZ, 256, 256, SV, NA, &sm2_handler, KT(CKK_SM2, CKK_EC), MD_SM3,
	    SM2V_HASH, true),
	ROW(SKI_SM2_SM3_NOZ_DER, 256, 256, SV, NA, &sm2_handler, KT(CKK_SM2, CKK_EC), MD_SM3,
	    SM2V_HASH | SM2V_DER, true),
	ROW(CKM_SM2, 256, 256, SV, NA, &sm2_handler, KT(CKK_SM2, CKK_EC), MD_NONE, 0, false),
	ROW(SKI_SM2_DER, 256, 256, SV, NA, &sm2_handler, KT(CKK_SM2, CKK_EC), MD_NONE, SM2V_DER,
	    false),
	ROW(CKM_SM2_ENCRYPT, 256, 256, ED, NA, &sm2_handler, KT(CKK_SM2, CKK_EC), MD_SM3,
	    SM2V_ENC, false),
	ROW(CKM_SM2_ENCRYPT_DER, 256, 256, ED, NA, &sm2_handler, KT(CKK_SM2, CKK_EC), MD_SM3,
	    SM2V_ENC | SM2V_DER, false),
	ROW(SKI_SM2_ENCRYPT_C1C2C3, 256, 256, ED, NA, &sm2_handler, KT(CKK_SM2, CKK_EC), MD_SM3,
	    SM2V_ENC | SM2V_C1C2C3, false),

	/* SM4 */
	ROW(CKM_SM4_ECB, 16, 16, ED, NA, &cipher_handler, KT(CKK_SM4), MD_NONE, CIPHV_ECB, true),
	ROW(CKM_SM4_CBC, 16, 16, ED, NA, &cipher_handler, KT(CKK_SM4), MD_NONE, CIPHV_CBC, true),
	ROW(CKM_SM4_CBC_PAD, 16, 16, ED, NA, &cipher_handler, KT(CKK_SM4), MD_NONE,
	    CIPHV_CBC_PAD, true),
	ROW(CKM_SM4_ECB_PAD, 16, 16, ED, NA, &cipher_handler, KT(CKK_SM4), MD_NONE,
	    CIPHV_ECB_PAD, true),
	ROW(CKM_SM4_CTR, 16, 16, ED, NA, &cipher_handler, KT(CKK_SM4), MD_NONE, CIPHV_CTR, true),
	ROW(CKM_SM4_GCM, 16, 16, ED, NA, &soft_gcm_handler, KT(CKK_SM4), MD_NONE, 0, true),
	ROW(CKM_SM4_MAC, 16, 16, SV, NA, &block_mac_handler, KT(CKK_SM4), MD_NONE, BMACV_HALF,
	    true),
	ROW(CKM_SM4_MAC_GENERAL, 16, 16, SV, NA, &block_mac_handler, KT(CKK_SM4), MD_NONE,
	    BMACV_GENERAL, true),
};

#define TABLE_LEN (sizeof(table) / sizeof(table[0]))

/* Every code a caller passes goes through the active profile (profile.c):
 * it names one of our operations, whatever vendor numbering is in use. */
const mech_def *mech_find(CK_MECHANISM_TYPE type)
{
	return mech_find_op(profile_mech_in(profile_active(), type));
}

const mech_def *mech_find_op(CK_MECHANISM_TYPE op)
{
	for (size_t i = 0; i < TABLE_LEN; i++)
		if (table[i].type == op)
			return &table[i];
	return NULL;
}

CK_MECHANISM_TYPE mech_canonical(CK_MECHANISM_TYPE type)
{
	return profile_mech_in(profile_active(), type);
}

CK_KEY_TYPE mech_canonical_key_type(CK_KEY_TYPE kt)
{
	return profile_key_in(profile_active(), kt);
}

bool mech_accepts_key_type(const mech_def *def, CK_KEY_TYPE kt)
{
	for (unsigned i = 0; i < def->n_key_types; i++)
		if (def->key_types[i] == kt)
			return true;
	return false;
}

/* The active profile's primary codes, in table order. */
CK_ULONG mech_list(CK_MECHANISM_TYPE *out, CK_ULONG max)
{
	const sk_profile *p = profile_active();
	CK_ULONG n = 0;

	for (size_t i = 0; i < TABLE_LEN; i++) {
		CK_MECHANISM_TYPE code;
		if (!profile_mech_out(p, table[i].type, &code))
			continue;
		if (out != NULL && n < max)
			out[n] = code;
		n++;
	}
	return n;
}

CK_ULONG mech_count(void)
{
	return mech_list(NULL, 0);
}

/* Every operation of the table, for the profile builder. */
CK_MECHANISM_TYPE mech_op_at(size_t i)
{
	return i < TABLE_LEN ? table[i].type : CK_UNAVAILABLE_INFORMATION;
}

const CK_MECHANISM_INFO *mech_info(CK_MECHANISM_TYPE type)
{
	const mech_def *def = mech_find(type);

	return def ? &def->info : NULL;
}

CK_KEY_TYPE mech_key_type(CK_MECHANISM_TYPE type)
{
	const mech_def *def = mech_find(type);

	return def ? def->gen_key_type : CK_UNAVAILABLE_INFORMATION;
}
