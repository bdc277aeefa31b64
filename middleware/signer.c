/* Signers: a private key on a PKCS#11 token, its public key and certificate.
 *
 * SM2 keys sign SM2-with-SM3 with the user ID 1234567812345678, either with
 * the token's "message in" mechanism (the token hashes Z||M) or with its
 * "digest in" mechanism on e = SM3(Z||M) computed here. Vendors number these
 * mechanisms differently and disagree on what they do (spec/pkcs11-sm.md
 * 1.5): Sansec's 0x80008100 leaves Z out, TASS answers in DER. So the first
 * signature of each mechanism is checked against the public key with
 * OpenSSL, which settles "Z or not" and "raw or DER" for good; later ones
 * are trusted (unless SEALKIT_SIGN_VERIFY_ALL). EC keys sign ECDSA the same
 * way. Every answer leaves here as DER SEQUENCE{r,s} with minimal INTEGERs.
 *
 * Threads: each operation borrows a session from the signer's pool, so no
 * session ever serves two threads at once. One more session (the anchor)
 * stays open for the signer's life, which keeps the login alive. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "p11.h"

#define SM2_ID  "1234567812345678"
#define SIG_MAX 512 /* any token answer we accept for a 521-bit curve */
#define MSG_MAX 64  /* hash input: Z (32) or nothing, then the message */

/* Vendor key types that mean SM2 (spec/pkcs11-sm.md 1.3). */
#define CKK_SM2_A    0x80000004UL /* Sansec, TASS, Koal, canonical */
#define CKK_SM2_LUNA 0x80000016UL /* Thales Luna, Trustonic */
#define CKK_SM2_IBM  0x80050002UL /* IBM EP11 */

static const unsigned char sm2_oid_der[] = {0x06, 0x08, 0x2A, 0x81, 0x1C,
					    0xCF, 0x55, 0x01, 0x82, 0x2D};

/* ---- algorithms and vendor profiles ------------------------------------- */

typedef struct sk_alg {
	sealkit_key_kind kind;
	const char *group; /* OpenSSL group name */
	int nid;
	size_t field; /* bytes of r and of s */
	const char *md;
	size_t dlen;
	const char *oid;
	const char *name;
	CK_MECHANISM_TYPE ecdsa_msg; /* CKM_ECDSA_SHAxxx */
} sk_alg;

static const sk_alg algs[] = {
    {SEALKIT_KEY_SM2, "SM2", NID_sm2, 32, "SM3", 32, SEALKIT_OID_SM2_SM3, "SM2-with-SM3", 0},
    {SEALKIT_KEY_EC_P256, "prime256v1", NID_X9_62_prime256v1, 32, "SHA256", 32,
     SEALKIT_OID_ECDSA_SHA256, "ECDSA-with-SHA256", CKM_ECDSA_SHA256},
    {SEALKIT_KEY_EC_P384, "secp384r1", NID_secp384r1, 48, "SHA384", 48, SEALKIT_OID_ECDSA_SHA384,
     "ECDSA-with-SHA384", CKM_ECDSA_SHA384},
    {SEALKIT_KEY_EC_P521, "secp521r1", NID_secp521r1, 66, "SHA512", 64, SEALKIT_OID_ECDSA_SHA512,
     "ECDSA-with-SHA512", CKM_ECDSA_SHA512},
};

/* Whether a message-in mechanism puts Z in front of the message. */
typedef enum zmode { Z_UNKNOWN = 0, Z_YES, Z_NO } zmode;

typedef struct sk_mech_def {
	CK_MECHANISM_TYPE type;
	zmode z; /* what the vendor's documents say; checked on first use */
} sk_mech_def;

#define PROFILE_MAX 3
typedef struct sk_profile {
	const char *name;
	CK_MECHANISM_TYPE detect[PROFILE_MAX]; /* any listed: this vendor (auto) */
	sk_mech_def message[PROFILE_MAX];      /* SM2 sign, message in; preferred first */
	CK_MECHANISM_TYPE digest[PROFILE_MAX]; /* SM2 sign, 32-byte e in */
} sk_profile;

/* In the order auto-detection tries them: the vendor codes that exist
 * nowhere else first, the canonical (Family A common) numbers last. Koal
 * uses the canonical numbers, so only an explicit name selects it. */
static const sk_profile profiles[] = {
    {"sansec",
     {0x80008102UL, 0x80008105UL},
     {{0x80008102UL, Z_YES}, {0x80008103UL, Z_YES}, {0x80008100UL, Z_NO}},
     {0x80008105UL, 0x80008104UL}},
    {"tass",
     {0x80008000UL},
     {{0x80008100UL, Z_UNKNOWN}, {0x80008101UL, Z_UNKNOWN}},
     {0x80008000UL}},
    {"luna", {0x80000B22UL, 0x80000B21UL}, {{0x80000B22UL, Z_YES}}, {0x80000B21UL}},
    {"ibm-ep11", {0x8005000CUL, 0x8005000BUL}, {{0x8005000CUL, Z_YES}}, {0x8005000BUL}},
    {"canonical",
     {0x80008100UL, 0x80008104UL},
     {{0x80008100UL, Z_YES}, {0x80008101UL, Z_YES}},
     {0x80008104UL, 0x80008105UL}},
    {"koal", {0}, {{0x80008100UL, Z_UNKNOWN}, {0x80008101UL, Z_UNKNOWN}}, {0x80008104UL}},
};

/* The last resort: a token listing no SM2 code may still make SM2
 * signatures with CKM_ECDSA on a key on the SM2 curve (the one SM2-capable
 * code p11-kit's RPC forwards). Only a checked probe signature at open
 * time lets a signer use it. */
static const sk_profile ckm_ecdsa_profile = {"ckm-ecdsa", {0}, {{0, Z_UNKNOWN}}, {CKM_ECDSA}};

typedef enum sigfmt { FMT_UNKNOWN = 0, FMT_RAW, FMT_DER } sigfmt;

/* A signing mechanism as this signer knows it. */
typedef struct sk_mech {
	CK_MECHANISM_TYPE type; /* 0: none */
	zmode z;                /* message in: does the token hash Z first */
	sigfmt fmt;
	bool verified; /* one signature checked out: z and fmt are facts */
	bool broken;   /* its signature did not verify: not used again */
} sk_mech;

struct sealkit_signer {
	struct sealkit_module *m;
	atomic_ulong generation;
	unsigned flags;
	pthread_mutex_t lock; /* pool, mechanism state, re-attaching */

	p11_token tok;
	CK_SESSION_HANDLE anchor;
	bool have_anchor;
	CK_SESSION_HANDLE *pool;
	size_t pool_n, pool_cap;
	p11_secret pin;

	_Atomic CK_OBJECT_HANDLE key; /* changes only when re-attaching */
	unsigned char *key_id;
	size_t key_id_len;
	char *key_label;
	bool always_auth;

	const sk_alg *alg;
	const sk_profile *profile;
	sk_mech msg, dig;
	bool probe_ecdsa; /* ckm_ecdsa_profile: proven at open or refused */

	EVP_PKEY *pub;
	EVP_MD *md;
	unsigned char *spki;
	size_t spki_len;
	unsigned char *cert;
	size_t cert_len;
	unsigned char z[32];
};

struct sealkit_sign_ctx {
	sealkit_signer *s;
	EVP_MD_CTX *md; /* the host-side hash: SM3 after Z, or SHA-2 */
	bool on_token;  /* the token hashes too (no digest-in mechanism) */
	CK_MECHANISM_TYPE mech;
	CK_SESSION_HANDLE h;
	bool have_h;
	bool failed;
};

/* ---- small helpers ---------------------------------------------------------- */

static sealkit_status crypto_fail(sealkit_error *err, const char *what)
{
	return sealkit_fail(err, SEALKIT_ERR_CRYPTO, "OpenSSL failed to %s", what);
}

/* e = H(Z^nz || data) with the signer's digest: nz copies of Z in front
 * (0 for ECDSA; 2 only to recognise a token that added Z to our Z||M). */
static bool host_hash(const sealkit_signer *s, int nz, const void *data, size_t len,
		      unsigned char *e)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned int n = 0;
	bool ok = c && EVP_DigestInit_ex(c, s->md, NULL) > 0;
	for (int i = 0; ok && i < nz; i++)
		ok = EVP_DigestUpdate(c, s->z, sizeof s->z) > 0;
	ok = ok && EVP_DigestUpdate(c, data, len) > 0 && EVP_DigestFinal_ex(c, e, &n) > 0;
	EVP_MD_CTX_free(c);
	return ok && n == s->alg->dlen;
}

/* The token's answer as strict DER. fmt FMT_UNKNOWN: DER if it parses as
 * DER to the last byte, else raw. */
static unsigned char *to_der(const unsigned char *sig, size_t len, size_t field, sigfmt fmt,
			     size_t *der_len)
{
	ECDSA_SIG *es = NULL;
	unsigned char *der = NULL;
	int n;

	if (fmt != FMT_RAW) {
		const unsigned char *p = sig;
		es = d2i_ECDSA_SIG(NULL, &p, (long)len);
		if (es && p != sig + len) {
			ECDSA_SIG_free(es);
			es = NULL;
		}
	}
	if (!es && fmt != FMT_DER && len == 2 * field) {
		BIGNUM *r = BN_bin2bn(sig, (int)field, NULL);
		BIGNUM *s = BN_bin2bn(sig + field, (int)field, NULL);
		es = ECDSA_SIG_new();
		if (!r || !s || !es || !ECDSA_SIG_set0(es, r, s)) {
			BN_free(r);
			BN_free(s);
			ECDSA_SIG_free(es);
			es = NULL;
		}
	}
	if (es && (n = i2d_ECDSA_SIG(es, &der)) > 0)
		*der_len = (size_t)n;
	ECDSA_SIG_free(es);
	return der;
}

/* OpenSSL checks a DER signature on the digest e. */
static bool verify_e(const sealkit_signer *s, const unsigned char *der, size_t der_len,
		     const unsigned char *e)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, s->pub, NULL);
	bool ok = c && EVP_PKEY_verify_init(c) > 0 &&
		  EVP_PKEY_verify(c, der, der_len, e, s->alg->dlen) == 1;
	EVP_PKEY_CTX_free(c);
	return ok;
}

/* Which reading of the answer (DER or raw) verifies against e; the DER
 * form in *der (OPENSSL_free) and the format in *fmt. */
static bool answer_verifies(const sealkit_signer *s, const unsigned char *sig, size_t len,
			    const unsigned char *e, sigfmt *fmt, unsigned char **der,
			    size_t *der_len)
{
	static const sigfmt tries[] = {FMT_DER, FMT_RAW};
	for (size_t i = 0; i < 2; i++) {
		if (*fmt != FMT_UNKNOWN && *fmt != tries[i])
			continue;
		unsigned char *d = to_der(sig, len, s->alg->field, tries[i], der_len);
		if (d && verify_e(s, d, *der_len, e)) {
			*fmt = tries[i];
			*der = d;
			return true;
		}
		OPENSSL_free(d);
	}
	return false;
}

/* The module's number for a mechanism in messages. */
static const char *mech_name(CK_MECHANISM_TYPE t, char *buf, size_t size)
{
	switch (t) {
	case CKM_ECDSA:
		return "CKM_ECDSA";
	case CKM_ECDSA_SHA256:
		return "CKM_ECDSA_SHA256";
	case CKM_ECDSA_SHA384:
		return "CKM_ECDSA_SHA384";
	case CKM_ECDSA_SHA512:
		return "CKM_ECDSA_SHA512";
	default:
		snprintf(buf, size, "0x%08lx", (unsigned long)t);
		return buf;
	}
}

/* ---- sessions ------------------------------------------------------------------ */

static bool still_ours(const sealkit_signer *s)
{
	return atomic_load(&s->m->pid) == (int)getpid() &&
	       atomic_load(&s->m->generation) == s->generation;
}

static sealkit_status find_key_again(sealkit_signer *s, sealkit_error *err);

/* After fork (module re-initialised) or lost sessions: find the token and
 * key again and log in again. Called with s->lock held. */
static sealkit_status reattach(sealkit_signer *s, bool handles_valid, sealkit_error *err)
{
	sealkit_status st;
	p11_debugf(s->m, "signer on token '%s': re-attaching (%s)", s->tok.label,
		   handles_valid ? "sessions lost" : "re-initialised after fork");
	for (size_t i = 0; handles_valid && i < s->pool_n; i++)
		P11(s->m, C_CloseSession, s->pool[i]);
	if (handles_valid && s->have_anchor)
		P11(s->m, C_CloseSession, s->anchor);
	s->pool_n = 0;
	s->have_anchor = false;
	if ((st = p11_find_token_again(s->m, &s->tok, err)) != SEALKIT_OK)
		goto out;
	if ((st = p11_open_session(s->m, &s->tok, &s->anchor, err)) != SEALKIT_OK)
		goto out;
	s->have_anchor = true;
	if (P11(s->m, C_GetTokenInfo, s->tok.slot, &s->tok.info) == CKR_OK &&
	    (s->tok.info.flags & CKF_LOGIN_REQUIRED) &&
	    (st = p11_relogin(s->m, s->anchor, &s->tok, &s->pin, CKU_USER, err)) != SEALKIT_OK)
		goto out;
	st = find_key_again(s, err);
out:
	return st;
}

static sealkit_status session_get(sealkit_signer *s, CK_SESSION_HANDLE *h, sealkit_error *err)
{
	sealkit_status st;
	unsigned long gen;
	bool have = false;

	if ((st = p11_module_check(s->m, &gen, err)) != SEALKIT_OK)
		return st;
	pthread_mutex_lock(&s->lock);
	if (gen != s->generation) {
		if ((st = reattach(s, false, err)) == SEALKIT_OK)
			s->generation = gen;
	}
	if (st == SEALKIT_OK && s->pool_n > 0) {
		*h = s->pool[--s->pool_n];
		have = true;
	}
	pthread_mutex_unlock(&s->lock);
	if (st == SEALKIT_OK && !have)
		st = p11_open_session(s->m, &s->tok, h, err);
	return st;
}

/* A session that saw an error is closed, not pooled: it may still hold
 * an operation or be dead. */
static void session_put(sealkit_signer *s, CK_SESSION_HANDLE h, bool healthy)
{
	pthread_mutex_lock(&s->lock);
	if (!still_ours(s)) {
		healthy = false;
	} else if (healthy && s->pool_n == s->pool_cap) {
		size_t cap = s->pool_cap ? 2 * s->pool_cap : 4;
		CK_SESSION_HANDLE *p = realloc(s->pool, cap * sizeof *p);
		if (p) {
			s->pool = p;
			s->pool_cap = cap;
		}
	}
	if (healthy && s->pool_n < s->pool_cap) {
		s->pool[s->pool_n++] = h;
		h = CK_INVALID_HANDLE;
	}
	pthread_mutex_unlock(&s->lock);
	if (h != CK_INVALID_HANDLE && still_ours(s))
		P11(s->m, C_CloseSession, h);
}

static bool rv_session_lost(CK_RV rv)
{
	return rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED ||
	       rv == CKR_KEY_HANDLE_INVALID || rv == CKR_OBJECT_HANDLE_INVALID ||
	       rv == CKR_CRYPTOKI_NOT_INITIALIZED;
}

/* C_SignInit (plus a context login when the key wants one per use). */
static CK_RV sign_init(sealkit_signer *s, CK_SESSION_HANDLE h, CK_MECHANISM_TYPE type)
{
	CK_MECHANISM mech = {type, NULL, 0};
	CK_RV rv = P11(s->m, C_SignInit, h, &mech, s->key);
	if (rv == CKR_USER_NOT_LOGGED_IN &&
	    p11_relogin(s->m, h, &s->tok, &s->pin, CKU_USER, NULL) == SEALKIT_OK)
		rv = P11(s->m, C_SignInit, h, &mech, s->key);
	if (rv == CKR_OK && s->always_auth &&
	    p11_relogin(s->m, h, &s->tok, &s->pin, CKU_CONTEXT_SPECIFIC, NULL) != SEALKIT_OK)
		rv = CKR_PIN_INCORRECT;
	return rv;
}

/* One signature by the token: pre (may be empty) then data, as one
 * C_Sign, or C_SignUpdate twice when there is a prefix. */
static CK_RV token_sign_once(sealkit_signer *s, CK_SESSION_HANDLE h, CK_MECHANISM_TYPE type,
			     const unsigned char *pre, size_t pre_len, const void *data, size_t len,
			     unsigned char *out, size_t *out_len)
{
	CK_ULONG n = SIG_MAX;
	CK_RV rv = sign_init(s, h, type);
	if (rv != CKR_OK)
		return rv;
	if (pre_len == 0) {
		rv = P11(s->m, C_Sign, h, (CK_BYTE_PTR)data, (CK_ULONG)len, out, &n);
	} else {
		rv = P11(s->m, C_SignUpdate, h, (CK_BYTE_PTR)pre, (CK_ULONG)pre_len);
		if (rv == CKR_OK)
			rv = P11(s->m, C_SignUpdate, h, (CK_BYTE_PTR)data, (CK_ULONG)len);
		if (rv == CKR_OK)
			rv = P11(s->m, C_SignFinal, h, out, &n);
	}
	*out_len = n;
	return rv;
}

static sealkit_status token_sign(sealkit_signer *s, CK_MECHANISM_TYPE type,
				 const unsigned char *pre, size_t pre_len, const void *data,
				 size_t len, unsigned char *out, size_t *out_len, CK_RV *rv_out,
				 sealkit_error *err)
{
	sealkit_status st = SEALKIT_OK;
	CK_SESSION_HANDLE h;
	char mb[16];
	CK_RV rv = CKR_OK;

	/* One retry after lost sessions or handles (token re-inserted, p11-kit
	 * server restarted). */
	for (int attempt = 0; attempt < 2; attempt++) {
		if ((st = session_get(s, &h, err)) != SEALKIT_OK)
			goto out;
		rv = token_sign_once(s, h, type, pre, pre_len, data, len, out, out_len);
		session_put(s, h, rv == CKR_OK);
		if (rv == CKR_OK || !rv_session_lost(rv) || attempt > 0)
			break;
		pthread_mutex_lock(&s->lock);
		st = reattach(s, true, err);
		pthread_mutex_unlock(&s->lock);
		if (st != SEALKIT_OK)
			goto out;
	}
	if (rv != CKR_OK) {
		sealkit_status kind =
		    rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED || rv == CKR_USER_NOT_LOGGED_IN
			? SEALKIT_ERR_PIN
			: SEALKIT_ERR_MODULE;
		st = sealkit_fail(err, kind, "token '%s' refused to sign with mechanism %s: %s",
				  s->tok.label, mech_name(type, mb, sizeof mb), p11_rv_name(rv));
	}
out:
	if (rv_out)
		*rv_out = rv;
	return st;
}

/* ---- signing ----------------------------------------------------------------------- */

static sealkit_status hand_out(const sealkit_signer *s, unsigned char *der, size_t der_len,
			       unsigned char **sig, size_t *sig_len, const char **alg_oid,
			       sealkit_error *err)
{
	sealkit_status st = SEALKIT_OK;
	*sig = malloc(der_len);
	if (!*sig) {
		st = sealkit_fail(err, SEALKIT_ERR_MEMORY, "out of memory");
		goto out;
	}
	memcpy(*sig, der, der_len);
	*sig_len = der_len;
	if (alg_oid)
		*alg_oid = s->alg->oid;
out:
	OPENSSL_free(der);
	return st;
}

static void mech_snapshot(sealkit_signer *s, const sk_mech *src, sk_mech *dst)
{
	pthread_mutex_lock(&s->lock);
	*dst = *src;
	pthread_mutex_unlock(&s->lock);
}

static void mech_learn(sealkit_signer *s, sk_mech *dst, zmode z, sigfmt fmt)
{
	char mb[16];
	pthread_mutex_lock(&s->lock);
	if (!dst->verified)
		p11_debugf(s->m, "mechanism %s checked with OpenSSL: %s, %s signature",
			   mech_name(dst->type, mb, sizeof mb),
			   z == Z_YES  ? "hashes Z||M"
			   : z == Z_NO ? "hashes M only"
				       : "digest in",
			   fmt == FMT_DER ? "DER" : "raw r||s");
	dst->z = z;
	dst->fmt = fmt;
	dst->verified = true;
	pthread_mutex_unlock(&s->lock);
}

static void mech_break(sealkit_signer *s, sk_mech *dst)
{
	char mb[16];
	pthread_mutex_lock(&s->lock);
	dst->broken = true;
	pthread_mutex_unlock(&s->lock);
	p11_debugf(s->m, "mechanism %s: its signature does not verify; not used again",
		   mech_name(dst->type, mb, sizeof mb));
}

/* The digest-in path: the token signs e. */
static sealkit_status sign_e(sealkit_signer *s, const unsigned char *e, unsigned char **der,
			     size_t *der_len, sealkit_error *err)
{
	unsigned char out[SIG_MAX];
	size_t out_len = 0;
	sealkit_status st;
	sk_mech m;
	char mb[16];

	mech_snapshot(s, &s->dig, &m);
	st = token_sign(s, m.type, NULL, 0, e, s->alg->dlen, out, &out_len, NULL, err);
	if (st != SEALKIT_OK)
		goto out;
	if (m.verified && !(s->flags & SEALKIT_SIGN_VERIFY_ALL)) {
		*der = to_der(out, out_len, s->alg->field, m.fmt, der_len);
		if (!*der)
			st = sealkit_fail(
			    err, SEALKIT_ERR_CRYPTO,
			    "token '%s' answered with a malformed signature (%zu bytes)",
			    s->tok.label, out_len);
		goto out;
	}
	if (!answer_verifies(s, out, out_len, e, &m.fmt, der, der_len)) {
		mech_break(s, &s->dig);
		st = sealkit_fail(err, SEALKIT_ERR_CRYPTO,
				  "the signature token '%s' made with mechanism %s does not verify "
				  "with the key's public key; check that the public key object or "
				  "certificate stored with key '%s' belongs to it",
				  s->tok.label, mech_name(m.type, mb, sizeof mb), s->key_label);
		goto out;
	}
	mech_learn(s, &s->dig, Z_UNKNOWN, m.fmt);
out:
	OPENSSL_cleanse(out, sizeof out);
	return st;
}

/* The message-in path for data held in memory. Returns SEALKIT_ERR_CRYPTO
 * with *fall_back set when the mechanism proved unusable. */
static sealkit_status sign_msg(sealkit_signer *s, const void *data, size_t len, unsigned char **der,
			       size_t *der_len, bool *fall_back, sealkit_error *err)
{
	const bool sm2 = s->alg->kind == SEALKIT_KEY_SM2;
	unsigned char out[SIG_MAX];
	unsigned char e_want[64], e_alt[64];
	size_t out_len = 0;
	sealkit_status st = SEALKIT_OK;
	CK_RV rv;
	sk_mech m;
	char mb[16];

	*fall_back = false;
	/* Twice at most: a mechanism that turns out to leave Z out signs again
	 * with Z in front of the message. */
	for (int attempt = 0; attempt < 2; attempt++) {
		mech_snapshot(s, &s->msg, &m);
		bool prefix = sm2 && m.z == Z_NO;
		const unsigned char *pre = prefix ? s->z : NULL;
		size_t pre_len = prefix ? sizeof s->z : 0;

		st = token_sign(s, m.type, pre, pre_len, data, len, out, &out_len, &rv, err);
		if (st != SEALKIT_OK) {
			if (rv == CKR_MECHANISM_INVALID || rv == CKR_MECHANISM_PARAM_INVALID ||
			    rv == CKR_KEY_TYPE_INCONSISTENT || rv == CKR_FUNCTION_NOT_SUPPORTED) {
				mech_break(s, &s->msg);
				*fall_back = true;
			}
			goto out;
		}
		if (m.verified && !(s->flags & SEALKIT_SIGN_VERIFY_ALL)) {
			*der = to_der(out, out_len, s->alg->field, m.fmt, der_len);
			if (!*der)
				st = sealkit_fail(err, SEALKIT_ERR_CRYPTO,
						  "token '%s' answered with a malformed signature "
						  "(%zu bytes)",
						  s->tok.label, out_len);
			goto out;
		}
		/* What we want signed: H(Z||M) for SM2, H(M) for ECDSA. */
		if (!host_hash(s, sm2 ? 1 : 0, data, len, e_want)) {
			st = crypto_fail(err, "hash the message");
			goto out;
		}
		if (answer_verifies(s, out, out_len, e_want, &m.fmt, der, der_len)) {
			mech_learn(s, &s->msg, sm2 ? (prefix ? Z_NO : Z_YES) : Z_UNKNOWN, m.fmt);
			goto out;
		}
		/* Not what we want. Did the token hash the other way round? */
		if (sm2 && !m.verified && attempt == 0) {
			/* We gave Z||M: a token that adds Z hashed Z||Z||M. We
			 * gave M: a token without Z hashed M alone. */
			bool alt_ok = host_hash(s, prefix ? 2 : 0, data, len, e_alt);
			unsigned char *d = NULL;
			size_t dl = 0;
			sigfmt f = m.fmt;
			if (alt_ok && answer_verifies(s, out, out_len, e_alt, &f, &d, &dl)) {
				OPENSSL_free(d);
				pthread_mutex_lock(&s->lock);
				s->msg.z = prefix ? Z_YES : Z_NO;
				s->msg.fmt = f;
				pthread_mutex_unlock(&s->lock);
				p11_debugf(s->m, "mechanism %s %s Z: signing again",
					   mech_name(m.type, mb, sizeof mb),
					   prefix ? "adds" : "leaves out");
				continue;
			}
		}
		break;
	}
	if (!*der) {
		mech_break(s, &s->msg);
		*fall_back = true;
		st = sealkit_fail(err, SEALKIT_ERR_CRYPTO,
				  "the signature token '%s' made with mechanism %s does not verify "
				  "with the key's public key%s",
				  s->tok.label, mech_name(m.type, mb, sizeof mb),
				  sm2 ? " (with or without Z)" : "");
	}
out:
	OPENSSL_cleanse(out, sizeof out);
	return st;
}

static sealkit_status no_digest_mech(const sealkit_signer *s, sealkit_error *err)
{
	return sealkit_fail(err, SEALKIT_ERR_UNSUPPORTED,
			    "token '%s' has no %s mechanism that signs a precomputed digest; use "
			    "sealkit_signer_sign() or the streaming functions",
			    s->tok.label, s->alg->kind == SEALKIT_KEY_SM2 ? "SM2" : "ECDSA");
}

sealkit_status sealkit_signer_sign(sealkit_signer *s, const void *data, size_t len,
				   unsigned char **sig, size_t *sig_len, const char **alg_oid,
				   sealkit_error *err)
{
	unsigned char e[64];
	unsigned char *der = NULL;
	size_t der_len = 0;
	sealkit_status st = SEALKIT_OK;
	bool fall_back = false;
	sk_mech msg, dig;

	if (!s || (!data && len) || !sig || !sig_len) {
		st = sealkit_fail(err, SEALKIT_ERR_ARGS, "sealkit_signer_sign: missing argument");
		goto out;
	}
	*sig = NULL;
	*sig_len = 0;
	if (!data)
		data = "";
	mech_snapshot(s, &s->msg, &msg);
	mech_snapshot(s, &s->dig, &dig);
	bool use_msg = msg.type && !msg.broken && !(s->flags & SEALKIT_SIGN_DIGEST_IN);
	if (use_msg) {
		st = sign_msg(s, data, len, &der, &der_len, &fall_back, err);
		if (st == SEALKIT_OK || !fall_back || !dig.type || dig.broken)
			goto done;
		p11_debugf(s->m, "falling back to the digest-in mechanism");
	}
	if (!dig.type || dig.broken) {
		st = no_digest_mech(s, err);
		goto out;
	}
	if (!host_hash(s, s->alg->kind == SEALKIT_KEY_SM2 ? 1 : 0, data, len, e)) {
		st = crypto_fail(err, "hash the message");
		goto out;
	}
	st = sign_e(s, e, &der, &der_len, err);
done:
	if (st == SEALKIT_OK)
		st = hand_out(s, der, der_len, sig, sig_len, alg_oid, err);
	else
		OPENSSL_free(der);
out:
	return st;
}

sealkit_status sealkit_signer_sign_digest(sealkit_signer *s, const unsigned char *digest,
					  size_t digest_len, unsigned char **sig, size_t *sig_len,
					  const char **alg_oid, sealkit_error *err)
{
	unsigned char *der = NULL;
	size_t der_len = 0;
	sealkit_status st;
	sk_mech dig;

	if (!s || !digest || !sig || !sig_len) {
		st = sealkit_fail(err, SEALKIT_ERR_ARGS,
				  "sealkit_signer_sign_digest: missing argument");
		goto out;
	}
	*sig = NULL;
	*sig_len = 0;
	if (digest_len != s->alg->dlen) {
		st = sealkit_fail(err, SEALKIT_ERR_ARGS, "a %s digest is %zu bytes, not %zu%s",
				  s->alg->name, s->alg->dlen, digest_len,
				  s->alg->kind == SEALKIT_KEY_SM2 ? " (e = SM3(Z||M))" : "");
		goto out;
	}
	mech_snapshot(s, &s->dig, &dig);
	if (!dig.type || dig.broken) {
		st = no_digest_mech(s, err);
		goto out;
	}
	st = sign_e(s, digest, &der, &der_len, err);
	if (st == SEALKIT_OK)
		st = hand_out(s, der, der_len, sig, sig_len, alg_oid, err);
out:
	return st;
}

/* ---- streaming ------------------------------------------------------------------ */

/* Settles z and fmt of the message-in mechanism with a signature on a
 * short fixed text, so a stream can be fed the right way from its start. */
static sealkit_status probe_msg(sealkit_signer *s, sealkit_error *err)
{
	static const char probe[] = "sealkit: which Z and format does this mechanism use";
	unsigned char *der = NULL;
	size_t der_len = 0;
	bool fall_back = false;
	sealkit_status st = sign_msg(s, probe, sizeof probe - 1, &der, &der_len, &fall_back, err);
	OPENSSL_free(der);
	return st;
}

sealkit_status sealkit_signer_sign_init(sealkit_signer *s, sealkit_sign_ctx **out,
					sealkit_error *err)
{
	sealkit_sign_ctx *ctx = NULL;
	sealkit_status st = SEALKIT_OK;
	sk_mech msg, dig;
	CK_RV rv;

	if (!s || !out) {
		st = sealkit_fail(err, SEALKIT_ERR_ARGS,
				  "sealkit_signer_sign_init: missing argument");
		goto out;
	}
	*out = NULL;
	ctx = calloc(1, sizeof *ctx);
	if (!ctx || !(ctx->md = EVP_MD_CTX_new())) {
		st = sealkit_fail(err, SEALKIT_ERR_MEMORY, "out of memory");
		goto out;
	}
	ctx->s = s;
	if (EVP_DigestInit_ex(ctx->md, s->md, NULL) <= 0 ||
	    (s->alg->kind == SEALKIT_KEY_SM2 &&
	     EVP_DigestUpdate(ctx->md, s->z, sizeof s->z) <= 0)) {
		st = crypto_fail(err, "start the hash");
		goto out;
	}
	mech_snapshot(s, &s->dig, &dig);
	if (dig.type && !dig.broken) {
		*out = ctx; /* host-side hash, digest-in signature at the end */
		ctx = NULL;
		goto out;
	}
	mech_snapshot(s, &s->msg, &msg);
	if (msg.type && !msg.broken && !msg.verified) {
		if ((st = probe_msg(s, err)) != SEALKIT_OK)
			goto out;
		mech_snapshot(s, &s->msg, &msg);
	}
	if (!msg.type || msg.broken) {
		st = sealkit_fail(err, SEALKIT_ERR_UNSUPPORTED,
				  "token '%s' has no usable %s mechanism", s->tok.label,
				  s->alg->name);
		goto out;
	}
	/* The token hashes the stream; the host hashes it too, to check. */
	ctx->on_token = true;
	ctx->mech = msg.type;
	if ((st = session_get(s, &ctx->h, err)) != SEALKIT_OK)
		goto out;
	ctx->have_h = true;
	rv = sign_init(s, ctx->h, msg.type);
	if (rv == CKR_OK && s->alg->kind == SEALKIT_KEY_SM2 && msg.z == Z_NO)
		rv = P11(s->m, C_SignUpdate, ctx->h, s->z, sizeof s->z);
	if (rv != CKR_OK) {
		ctx->failed = true;
		st = sealkit_fail(err, SEALKIT_ERR_MODULE, "token '%s': C_SignInit failed: %s",
				  s->tok.label, p11_rv_name(rv));
		goto out;
	}
	*out = ctx;
	ctx = NULL;
out:
	sealkit_sign_ctx_free(ctx);
	return st;
}

sealkit_status sealkit_sign_update(sealkit_sign_ctx *ctx, const void *data, size_t len,
				   sealkit_error *err)
{
	sealkit_status st = SEALKIT_OK;
	if (!ctx || (!data && len) || ctx->failed) {
		st = sealkit_fail(err, SEALKIT_ERR_ARGS,
				  ctx && ctx->failed ? "this signature already failed"
						     : "sealkit_sign_update: missing argument");
		goto out;
	}
	if (len == 0)
		goto out;
	if (EVP_DigestUpdate(ctx->md, data, len) <= 0) {
		ctx->failed = true;
		st = crypto_fail(err, "hash");
		goto out;
	}
	if (ctx->on_token) {
		CK_RV rv = P11(ctx->s->m, C_SignUpdate, ctx->h, (CK_BYTE_PTR)data, (CK_ULONG)len);
		if (rv != CKR_OK) {
			ctx->failed = true;
			st = sealkit_fail(err, SEALKIT_ERR_MODULE,
					  "token '%s': C_SignUpdate failed: %s", ctx->s->tok.label,
					  p11_rv_name(rv));
		}
	}
out:
	return st;
}

sealkit_status sealkit_sign_final(sealkit_sign_ctx *ctx, unsigned char **sig, size_t *sig_len,
				  const char **alg_oid, sealkit_error *err)
{
	unsigned char e[EVP_MAX_MD_SIZE];
	unsigned char out[SIG_MAX];
	unsigned char *der = NULL;
	size_t der_len = 0;
	unsigned int elen = 0;
	sealkit_status st = SEALKIT_OK;
	sealkit_signer *s;
	sk_mech msg;

	if (!ctx || !sig || !sig_len || ctx->failed) {
		st = sealkit_fail(err, SEALKIT_ERR_ARGS,
				  ctx && ctx->failed ? "this signature already failed"
						     : "sealkit_sign_final: missing argument");
		goto out;
	}
	s = ctx->s;
	*sig = NULL;
	*sig_len = 0;
	ctx->failed = true; /* one final per context */
	if (EVP_DigestFinal_ex(ctx->md, e, &elen) <= 0) {
		st = crypto_fail(err, "finish the hash");
		goto out;
	}
	if (!ctx->on_token) {
		st = sign_e(s, e, &der, &der_len, err);
		goto done;
	}
	CK_ULONG n = sizeof out;
	CK_RV rv = P11(s->m, C_SignFinal, ctx->h, out, &n);
	session_put(s, ctx->h, rv == CKR_OK);
	ctx->have_h = false;
	if (rv != CKR_OK) {
		st = sealkit_fail(err, SEALKIT_ERR_MODULE, "token '%s': C_SignFinal failed: %s",
				  s->tok.label, p11_rv_name(rv));
		goto out;
	}
	mech_snapshot(s, &s->msg, &msg);
	if (s->flags & SEALKIT_SIGN_VERIFY_ALL) {
		if (!answer_verifies(s, out, n, e, &msg.fmt, &der, &der_len))
			st = sealkit_fail(err, SEALKIT_ERR_CRYPTO,
					  "the signature token '%s' made does not verify with the "
					  "key's public key",
					  s->tok.label);
	} else if (!(der = to_der(out, n, s->alg->field, msg.fmt, &der_len))) {
		st = sealkit_fail(err, SEALKIT_ERR_CRYPTO,
				  "token '%s' answered with a malformed signature (%lu bytes)",
				  s->tok.label, (unsigned long)n);
	}
done:
	if (st == SEALKIT_OK)
		st = hand_out(s, der, der_len, sig, sig_len, alg_oid, err);
	else
		OPENSSL_free(der);
out:
	OPENSSL_cleanse(e, sizeof e);
	return st;
}

void sealkit_sign_ctx_free(sealkit_sign_ctx *ctx)
{
	if (!ctx)
		return;
	/* A session with an unfinished operation is closed, not pooled. */
	if (ctx->have_h)
		session_put(ctx->s, ctx->h, false);
	EVP_MD_CTX_free(ctx->md);
	free(ctx);
}

/* ---- opening: key, kind, mechanisms, public key, certificate ------------------ */

static sealkit_status key_kind(sealkit_signer *s, CK_SESSION_HANDLE h, sealkit_error *err)
{
	sealkit_status st = SEALKIT_OK;
	unsigned char *params = NULL;
	size_t plen = 0;
	CK_ULONG type = 0;
	ASN1_OBJECT *obj = NULL;

	if (!p11_attr_ulong(s->m, h, s->key, CKA_KEY_TYPE, &type)) {
		st = sealkit_fail(err, SEALKIT_ERR_MODULE, "token '%s': cannot read the key's type",
				  s->tok.label);
		goto out;
	}
	if ((st = p11_attr(s->m, h, s->key, CKA_EC_PARAMS, &params, &plen, err)) != SEALKIT_OK)
		goto out;
	if (type == CKK_SM2_A || type == CKK_SM2_LUNA || type == CKK_SM2_IBM ||
	    (type == CKK_EC && plen == sizeof sm2_oid_der &&
	     memcmp(params, sm2_oid_der, plen) == 0)) {
		s->alg = &algs[0];
		goto out;
	}
	if (type == CKK_RSA) {
		st = sealkit_fail(err, SEALKIT_ERR_UNSUPPORTED,
				  "key '%s' on token '%s' is an RSA key; GB/T 38540 seals need an "
				  "SM2 key (EC P-256 works for testing)",
				  s->key_label, s->tok.label);
		goto out;
	}
	if (type != CKK_EC) {
		st = sealkit_fail(err, SEALKIT_ERR_UNSUPPORTED,
				  "key '%s' on token '%s' has key type 0x%lx, which cannot sign "
				  "seals; use an SM2 key",
				  s->key_label, s->tok.label, (unsigned long)type);
		goto out;
	}
	const unsigned char *p = params;
	int nid = NID_undef;
	if (params && (obj = d2i_ASN1_OBJECT(NULL, &p, (long)plen)) != NULL)
		nid = OBJ_obj2nid(obj);
	for (size_t i = 1; i < sizeof algs / sizeof algs[0]; i++)
		if (algs[i].nid == nid)
			s->alg = &algs[i];
	if (!s->alg)
		st = sealkit_fail(err, SEALKIT_ERR_UNSUPPORTED,
				  "EC key '%s' on token '%s' is on curve %s, which sealkit does "
				  "not sign with; use SM2 (or P-256/384/521 for testing)",
				  s->key_label, s->tok.label,
				  nid != NID_undef ? OBJ_nid2sn(nid) : "(unnamed parameters)");
out:
	ASN1_OBJECT_free(obj);
	free(params);
	return st;
}

static bool listed(const CK_MECHANISM_TYPE *list, size_t n, CK_MECHANISM_TYPE t)
{
	for (size_t i = 0; t && i < n; i++)
		if (list[i] == t)
			return true;
	return false;
}

static const sk_profile *profile_named(const char *name)
{
	for (size_t i = 0; i < sizeof profiles / sizeof profiles[0]; i++)
		if (strcmp(profiles[i].name, name) == 0)
			return &profiles[i];
	return strcmp(name, ckm_ecdsa_profile.name) == 0 ? &ckm_ecdsa_profile : NULL;
}

static sealkit_status no_sm2(const sealkit_signer *s, const char *detail, sealkit_error *err)
{
	CK_INFO info;
	char manuf[33] = "";
	if (P11(s->m, C_GetInfo, &info) == CKR_OK)
		p11_text(manuf, info.manufacturerID, sizeof info.manufacturerID);
	return sealkit_fail(
	    err, SEALKIT_ERR_UNSUPPORTED,
	    "token '%s' (module '%s') has no SM2 mechanism; use an SM2-capable token or an EC "
	    "key%s%s",
	    s->tok.label, s->m->name, detail,
	    strcmp(manuf, "PKCS#11 Kit") == 0
		? " (p11-kit's RPC, which p11-kit server and p11-kit-client.so speak, forwards "
		  "only the mechanisms it knows: no vendor-defined SM2 code crosses it)"
		: "");
}

/* Does CKM_ECDSA on this SM2 key make SM2 signatures? One signature on a
 * random e, checked as SM2, says. */
static sealkit_status probe_ecdsa(sealkit_signer *s, sealkit_error *err)
{
	unsigned char e[32];
	unsigned char *der = NULL;
	size_t der_len = 0;
	sealkit_status st;
	if (RAND_bytes(e, sizeof e) != 1)
		return crypto_fail(err, "make a random digest");
	st = sign_e(s, e, &der, &der_len, err);
	OPENSSL_free(der);
	if (st != SEALKIT_OK)
		st = no_sm2(s, " (its CKM_ECDSA makes no SM2 signature either)", err);
	return st;
}

/* Picks the message-in and digest-in mechanisms from the token's list. An
 * explicitly named profile is trusted even for codes the token does not
 * list (some under-report); a failing one is dropped at first use. */
static sealkit_status choose_mechanisms(sealkit_signer *s, const char *profile, sealkit_error *err)
{
	CK_MECHANISM_TYPE *list = NULL;
	size_t n = 0;
	sealkit_status st;
	const sk_profile *p = NULL;
	bool explicit_profile = profile && *profile && strcmp(profile, "auto") != 0;

	if ((st = p11_mechanisms(s->m, s->tok.slot, &list, &n, err)) != SEALKIT_OK)
		goto out;
	if (s->alg->kind != SEALKIT_KEY_SM2) {
		if (listed(list, n, s->alg->ecdsa_msg))
			s->msg.type = s->alg->ecdsa_msg;
		if (listed(list, n, CKM_ECDSA))
			s->dig.type = CKM_ECDSA;
		if (!s->msg.type && !s->dig.type)
			st = sealkit_fail(
			    err, SEALKIT_ERR_UNSUPPORTED,
			    "token '%s' (module '%s') has no ECDSA mechanism for its EC "
			    "key '%s'",
			    s->tok.label, s->m->name, s->key_label);
		goto out;
	}
	if (explicit_profile) {
		if (!(p = profile_named(profile))) {
			st = sealkit_fail(err, SEALKIT_ERR_ARGS,
					  "unknown SM2 profile '%s'; use auto, canonical, sansec, "
					  "tass, koal, luna, ibm-ep11 or ckm-ecdsa",
					  profile);
			goto out;
		}
	} else {
		for (size_t i = 0; !p && i < sizeof profiles / sizeof profiles[0]; i++)
			for (size_t j = 0; j < PROFILE_MAX; j++)
				if (listed(list, n, profiles[i].detect[j]))
					p = &profiles[i];
	}
	if (!p && listed(list, n, CKM_ECDSA))
		p = &ckm_ecdsa_profile;
	if (!p) {
		st = no_sm2(s, "", err);
		goto out;
	}
	s->profile = p;
	s->probe_ecdsa = p == &ckm_ecdsa_profile;
	for (size_t j = 0; j < PROFILE_MAX && !s->msg.type; j++)
		if (listed(list, n, p->message[j].type)) {
			s->msg.type = p->message[j].type;
			s->msg.z = p->message[j].z;
		}
	for (size_t j = 0; j < PROFILE_MAX && !s->dig.type; j++)
		if (listed(list, n, p->digest[j]))
			s->dig.type = p->digest[j];
	if (explicit_profile && !s->msg.type && !s->dig.type) {
		s->msg.type = p->message[0].type;
		s->msg.z = p->message[0].z;
		s->dig.type = p->digest[0];
	}
	if (!s->msg.type && !s->dig.type)
		st = no_sm2(s, " (none that signs)", err);
out:
	free(list);
	return st;
}

/* a || b || xG || yG of the SM2 curve, 32 bytes each, from OpenSSL's own
 * curve table (the values of GB/T 32918.5). */
static bool sm2_curve_abg(unsigned char abg[128])
{
	EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_sm2);
	BIGNUM *a = BN_new(), *b = BN_new(), *x = BN_new(), *y = BN_new();
	bool ok = g && a && b && x && y && EC_GROUP_get_curve(g, NULL, a, b, NULL) &&
		  EC_POINT_get_affine_coordinates(g, EC_GROUP_get0_generator(g), x, y, NULL) &&
		  BN_bn2binpad(a, abg, 32) == 32 && BN_bn2binpad(b, abg + 32, 32) == 32 &&
		  BN_bn2binpad(x, abg + 64, 32) == 32 && BN_bn2binpad(y, abg + 96, 32) == 32;
	BN_free(a);
	BN_free(b);
	BN_free(x);
	BN_free(y);
	EC_GROUP_free(g);
	return ok;
}

/* Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA) (GB/T 32918.2). */
static sealkit_status compute_z(sealkit_signer *s, sealkit_error *err)
{
	static const unsigned char entl[2] = {0x00, 0x80}; /* 16 bytes = 128 bits */
	unsigned char pt[65], abg[128];
	size_t n = 0;
	unsigned int zl = 0;
	EVP_MD_CTX *c = NULL;
	sealkit_status st = SEALKIT_OK;

	if (!EVP_PKEY_get_octet_string_param(s->pub, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt,
					     sizeof pt, &n) ||
	    n != 65 || pt[0] != 0x04 || !sm2_curve_abg(abg)) {
		st = crypto_fail(err, "read the SM2 curve and public point");
		goto out;
	}
	c = EVP_MD_CTX_new();
	if (!c || EVP_DigestInit_ex(c, s->md, NULL) <= 0 || EVP_DigestUpdate(c, entl, 2) <= 0 ||
	    EVP_DigestUpdate(c, SM2_ID, 16) <= 0 || EVP_DigestUpdate(c, abg, sizeof abg) <= 0 ||
	    EVP_DigestUpdate(c, pt + 1, 64) <= 0 || EVP_DigestFinal_ex(c, s->z, &zl) <= 0 ||
	    zl != 32)
		st = crypto_fail(err, "compute Z");
out:
	EVP_MD_CTX_free(c);
	return st;
}

static sealkit_status find_key(sealkit_signer *s, P11KitUri *uri, const char *shown,
			       sealkit_error *err)
{
	CK_OBJECT_CLASS priv = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE tmpl[8];
	CK_ULONG n = 0, nattrs = 0;
	CK_ATTRIBUTE *attrs = p11_kit_uri_get_attributes(uri, &nattrs);
	CK_ATTRIBUTE *cls = p11_kit_uri_get_attribute(uri, CKA_CLASS);
	CK_OBJECT_CLASS want = CKO_PRIVATE_KEY;
	CK_OBJECT_HANDLE o[8];
	unsigned char *id = NULL;
	size_t count = 0, id_len = 0;
	char keys[300];
	sealkit_status st = SEALKIT_OK;

	if (cls && cls->ulValueLen == sizeof(CK_OBJECT_CLASS))
		memcpy(&want, cls->pValue, sizeof want);
	if (want == CKO_CERTIFICATE || want == CKO_PUBLIC_KEY) {
		/* The URI names the certificate or public key: the private key is
		 * the one with its CKA_ID. */
		st = p11_find(s->m, s->anchor, attrs, nattrs, o, 8, &count, err);
		if (st != SEALKIT_OK)
			goto out;
		if (count != 1) {
			st = sealkit_fail(
			    err, count ? SEALKIT_ERR_ARGS : SEALKIT_ERR_NOT_FOUND,
			    "%s %s matching '%s' on token '%s'%s", count ? "several" : "no",
			    want == CKO_CERTIFICATE ? "certificates" : "public keys", shown,
			    s->tok.label, count ? "; add object= or id= to choose one" : "");
			goto out;
		}
		if ((st = p11_attr(s->m, s->anchor, o[0], CKA_ID, &id, &id_len, err)) != SEALKIT_OK)
			goto out;
		if (!id || id_len == 0) {
			st = sealkit_fail(
			    err, SEALKIT_ERR_NOT_FOUND,
			    "the object '%s' names has no CKA_ID, so no private key "
			    "can be paired with it; name the private key (type=private)",
			    shown);
			goto out;
		}
		tmpl[n++] = (CK_ATTRIBUTE){CKA_CLASS, &priv, sizeof priv};
		tmpl[n++] = (CK_ATTRIBUTE){CKA_ID, id, id_len};
	} else if (want != CKO_PRIVATE_KEY) {
		st = sealkit_fail(err, SEALKIT_ERR_ARGS,
				  "'%s' names neither a private key nor a certificate; a signer "
				  "needs type=private (or type=cert)",
				  shown);
		goto out;
	} else {
		tmpl[n++] = (CK_ATTRIBUTE){CKA_CLASS, &priv, sizeof priv};
		for (CK_ULONG i = 0; i < nattrs && n < 8; i++)
			if (attrs[i].type != CKA_CLASS)
				tmpl[n++] = attrs[i];
	}
	if ((st = p11_find(s->m, s->anchor, tmpl, n, o, 8, &count, err)) != SEALKIT_OK)
		goto out;
	if (count == 0) {
		p11_list_private_keys(s->m, s->anchor, keys, sizeof keys);
		st = sealkit_fail(err, SEALKIT_ERR_NOT_FOUND,
				  "no private key matching URI '%s' on token '%s'; private keys "
				  "there: %s",
				  shown, s->tok.label, keys);
		goto out;
	}
	if (count > 1) {
		p11_list_private_keys(s->m, s->anchor, keys, sizeof keys);
		st = sealkit_fail(err, SEALKIT_ERR_ARGS,
				  "URI '%s' matches %zu private keys on token '%s' (%s); add "
				  "object= or id= to choose one",
				  shown, count, s->tok.label, keys);
		goto out;
	}
	s->key = o[0];
out:
	free(id);
	return st;
}

/* The same key again after a re-initialisation, by CKA_ID and label. */
static sealkit_status find_key_again(sealkit_signer *s, sealkit_error *err)
{
	CK_OBJECT_CLASS priv = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE tmpl[3] = {{CKA_CLASS, &priv, sizeof priv}};
	CK_ULONG n = 1;
	CK_OBJECT_HANDLE o;
	size_t count = 0;
	sealkit_status st;

	if (s->key_id_len)
		tmpl[n++] = (CK_ATTRIBUTE){CKA_ID, s->key_id, s->key_id_len};
	if (s->key_label[0])
		tmpl[n++] = (CK_ATTRIBUTE){CKA_LABEL, s->key_label, strlen(s->key_label)};
	st = p11_find(s->m, s->anchor, tmpl, n, &o, 1, &count, err);
	if (st == SEALKIT_OK && count == 0)
		st = sealkit_fail(err, SEALKIT_ERR_NOT_FOUND, "key '%s' is gone from token '%s'",
				  s->key_label, s->tok.label);
	if (st == SEALKIT_OK)
		s->key = o;
	return st;
}

static void signer_close(sealkit_signer *s)
{
	bool ours = still_ours(s);
	for (size_t i = 0; ours && i < s->pool_n; i++)
		P11(s->m, C_CloseSession, s->pool[i]);
	if (ours && s->have_anchor)
		P11(s->m, C_CloseSession, s->anchor);
	s->pool_n = 0;
	s->have_anchor = false;
}

void sealkit_signer_free(sealkit_signer *s)
{
	if (!s)
		return;
	if (s->m) {
		signer_close(s);
		sealkit_module_release(s->m);
	}
	p11_secret_clear(&s->pin);
	pthread_mutex_destroy(&s->lock);
	free(s->pool);
	free(s->key_id);
	free(s->key_label);
	EVP_PKEY_free(s->pub);
	EVP_MD_free(s->md);
	OPENSSL_free(s->spki);
	free(s->cert);
	free(s);
}

sealkit_status sealkit_signer_open(sealkit_module *module, const char *uri_text,
				   const sealkit_token_options *opts, sealkit_signer **out,
				   sealkit_error *err)
{
	sealkit_status st = SEALKIT_OK;
	sealkit_signer *s = NULL;
	P11KitUri *uri = NULL;
	p11_pin_source pins;
	unsigned char *sign_flag = NULL;
	unsigned long gen = 0;
	char shown[256];
	size_t len = 0;
	int n;

	if (!out) {
		st = sealkit_fail(err, SEALKIT_ERR_ARGS, "sealkit_signer_open: out is NULL");
		goto out;
	}
	*out = NULL;
	if ((st = p11_uri_parse(uri_text, &uri, err)) != SEALKIT_OK)
		goto out;
	p11_uri_shown(uri_text, shown, sizeof shown);
	s = calloc(1, sizeof *s);
	if (!s) {
		st = sealkit_fail(err, SEALKIT_ERR_MEMORY, "out of memory");
		goto out;
	}
	pthread_mutex_init(&s->lock, NULL);
	s->flags = opts ? opts->flags : 0;
	if ((st = p11_module_for(module, uri, opts, &s->m, err)) != SEALKIT_OK)
		goto out;
	if (s->flags & SEALKIT_TOKEN_DEBUG)
		s->m->debug = true;
	if ((st = p11_module_check(s->m, &gen, err)) != SEALKIT_OK)
		goto out;
	atomic_store(&s->generation, gen);
	if ((st = p11_choose_token(s->m, uri, shown, &s->tok, err)) != SEALKIT_OK)
		goto out;
	if ((st = p11_open_session(s->m, &s->tok, &s->anchor, err)) != SEALKIT_OK)
		goto out;
	s->have_anchor = true;
	p11_pin_source_init(&pins, uri, opts);
	if ((st = p11_login(s->m, s->anchor, &s->tok, &pins, &s->pin, err)) != SEALKIT_OK)
		goto out;
	if ((st = find_key(s, uri, shown, err)) != SEALKIT_OK)
		goto out;

	if ((st = p11_attr(s->m, s->anchor, s->key, CKA_ID, &s->key_id, &s->key_id_len, err)) !=
	    SEALKIT_OK)
		goto out;
	if ((st = p11_attr(s->m, s->anchor, s->key, CKA_LABEL, (unsigned char **)&s->key_label,
			   &len, err)) != SEALKIT_OK)
		goto out;
	if (!s->key_label && !(s->key_label = strdup(""))) {
		st = sealkit_fail(err, SEALKIT_ERR_MEMORY, "out of memory");
		goto out;
	}
	if (p11_attr(s->m, s->anchor, s->key, CKA_SIGN, &sign_flag, &len, NULL) == SEALKIT_OK &&
	    sign_flag && len == 1 && sign_flag[0] == CK_FALSE) {
		st = sealkit_fail(err, SEALKIT_ERR_UNSUPPORTED,
				  "key '%s' on token '%s' may not sign (CKA_SIGN is false)",
				  s->key_label, s->tok.label);
		goto out;
	}
	s->always_auth = p11_attr_bool(s->m, s->anchor, s->key, CKA_ALWAYS_AUTHENTICATE);
	if ((st = key_kind(s, s->anchor, err)) != SEALKIT_OK)
		goto out;
	if ((s->flags & SEALKIT_SIGN_REQUIRE_SM2) && s->alg->kind != SEALKIT_KEY_SM2) {
		st = sealkit_fail(err, SEALKIT_ERR_UNSUPPORTED,
				  "key '%s' on token '%s' is an EC %s key, not SM2; GB/T 38540 "
				  "seals need an SM2 key on an SM2-capable token",
				  s->key_label, s->tok.label, s->alg->group);
		goto out;
	}
	if ((st = choose_mechanisms(s, opts ? opts->profile : NULL, err)) != SEALKIT_OK)
		goto out;
	if (!(s->md = EVP_MD_fetch(NULL, s->alg->md, NULL))) {
		st = crypto_fail(err, "fetch the digest");
		goto out;
	}
	p11_keyref ref = {s->key,
			  s->key_id,
			  s->key_id_len,
			  s->key_label,
			  s->alg->group,
			  s->alg->nid,
			  s->alg->kind == SEALKIT_KEY_SM2};
	if ((st = p11_public_key(s->m, s->anchor, &s->tok, &ref, &s->pub, &s->cert, &s->cert_len,
				 opts ? opts->warnings : NULL, err)) != SEALKIT_OK) {
		if (s->probe_ecdsa)
			st = no_sm2(s, " (no public key to test its CKM_ECDSA with)", err);
		goto out;
	}
	if ((n = i2d_PUBKEY(s->pub, &s->spki)) <= 0) {
		st = crypto_fail(err, "encode the public key");
		goto out;
	}
	s->spki_len = (size_t)n;
	if (s->alg->kind == SEALKIT_KEY_SM2 && (st = compute_z(s, err)) != SEALKIT_OK)
		goto out;
	if (s->probe_ecdsa && (st = probe_ecdsa(s, err)) != SEALKIT_OK)
		goto out;
	if (s->alg->kind != SEALKIT_KEY_SM2)
		sealkit_warn(opts ? opts->warnings : NULL,
			     "key '%s' is an EC key: signatures are %s, which is not a GB/T 38540 "
			     "algorithm (verifiers flag it, strict mode rejects it)",
			     s->key_label, s->alg->name);
	{
		char a[16], b[16];
		p11_debugf(s->m,
			   "signer '%s' on token '%s': %s, profile %s, message mechanism %s, "
			   "digest mechanism %s",
			   s->key_label, s->tok.label, s->alg->name,
			   s->profile ? s->profile->name : "standard",
			   s->msg.type ? mech_name(s->msg.type, a, sizeof a) : "none",
			   s->dig.type ? mech_name(s->dig.type, b, sizeof b) : "none");
	}
	*out = s;
	s = NULL;
out:
	free(sign_flag);
	sealkit_signer_free(s);
	if (uri)
		p11_kit_uri_free(uri);
	return st;
}

void sealkit_signer_get_info(const sealkit_signer *s, sealkit_signer_info *info)
{
	if (!s || !info)
		return;
	memset(info, 0, sizeof *info);
	info->kind = s->alg->kind;
	info->alg_oid = s->alg->oid;
	info->alg_name = s->alg->name;
	info->gbt38540 = s->alg->kind == SEALKIT_KEY_SM2;
	info->digest_len = s->alg->dlen;
	info->token_label = s->tok.label;
	info->key_label = s->key_label;
	info->key_id = s->key_id;
	info->key_id_len = s->key_id_len;
	info->profile = s->profile ? s->profile->name : "standard";
	info->message_mechanism = s->msg.broken ? 0 : s->msg.type;
	info->digest_mechanism = s->dig.broken ? 0 : s->dig.type;
	if ((s->flags & SEALKIT_SIGN_DIGEST_IN) && info->digest_mechanism)
		info->message_mechanism = 0;
}

const unsigned char *sealkit_signer_public_key(const sealkit_signer *s, size_t *len)
{
	if (len)
		*len = s ? s->spki_len : 0;
	return s ? s->spki : NULL;
}

const unsigned char *sealkit_signer_certificate(const sealkit_signer *s, size_t *len)
{
	if (len)
		*len = s && s->cert ? s->cert_len : 0;
	return s ? s->cert : NULL;
}
