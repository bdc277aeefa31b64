/* libsealkit: keys and certificates on PKCS#11 tokens.
 *
 * Any PKCS#11 module is loaded through p11-kit: by path, or by the name of a
 * module registered with p11-kit. Tokens, keys and certificates are chosen
 * by RFC 7512 URIs ("pkcs11:token=Company%20Seals;object=signer"), which may
 * carry module-path= / module-name= and pin-value= / pin-source= in their
 * query part.
 *
 * A signer is a private key on a token, its public key and (when the token
 * holds one with the same CKA_ID) its certificate. It signs SM2 keys with
 * SM2-with-SM3 (user ID 1234567812345678) and EC keys with ECDSA; every
 * signature comes back as DER SEQUENCE{r,s}. Signers are safe to use from
 * several threads at once (each operation runs on a PKCS#11 session of its
 * own) and after fork() (the child re-initialises the module and logs in
 * again with the PIN given at open). */
#ifndef SEALKIT_TOKEN_H
#define SEALKIT_TOKEN_H

#include <stddef.h>

#include "sealkit/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sealkit_module sealkit_module;
typedef struct sealkit_signer sealkit_signer;
typedef struct sealkit_sign_ctx sealkit_sign_ctx;

/* ---- flags (sealkit_module_load, sealkit_token_options.flags) ---------- */

/* Log every PKCS#11 call, its CK_RV and its duration on stderr (never a PIN
 * or key bytes). The environment variable SEALKIT_DEBUG=1 does the same. */
#define SEALKIT_TOKEN_DEBUG (1u << 0)
/* Hash on the host and have the token sign the digest (for SM2: compute
 * e = SM3(Z||M) here and use the token's digest-in SM2 mechanism), even
 * when the token offers a mechanism that hashes the message itself. */
#define SEALKIT_SIGN_DIGEST_IN (1u << 1)
/* Refuse keys that are not SM2 (GB/T 38540 allows nothing else). */
#define SEALKIT_SIGN_REQUIRE_SM2 (1u << 2)
/* Check every signature against the public key before returning it, not
 * only the first one per mechanism (which is always checked). */
#define SEALKIT_SIGN_VERIFY_ALL (1u << 3)

/* ---- PINs ---------------------------------------------------------------- */

/* Flags a PIN callback receives. */
#define SEALKIT_PIN_RETRY     (1u << 0) /* the PIN given before was wrong */
#define SEALKIT_PIN_COUNT_LOW (1u << 1) /* the token says few tries are left */
#define SEALKIT_PIN_FINAL_TRY (1u << 2) /* one more wrong PIN locks it */

/* Asked for the user PIN of the token labelled token_label: write it,
 * NUL-terminated, into pin (size bytes) and return 0; return non-zero to
 * give up. Called again (with SEALKIT_PIN_RETRY) after a wrong PIN, at most
 * three times in all. */
typedef int (*sealkit_pin_callback)(void *data, const char *token_label, unsigned flags, char *pin,
				    size_t size);

/* Where a key is and how to reach it. Every field may be 0/NULL. */
typedef struct sealkit_token_options {
	/* Module path, or the name of a module registered with p11-kit. NULL:
	 * the URI's module-path= or module-name=, else $SEALKIT_MODULE, else
	 * the installed sealkit-pkcs11.so. Ignored when a module is given. */
	const char *module;
	/* The user PIN, used when the URI has neither pin-value= nor
	 * pin-source=; then pin_callback is asked. Tokens with a protected
	 * authentication path (PIN pad) need none. */
	const char *pin;
	sealkit_pin_callback pin_callback;
	void *pin_callback_data;
	/* Vendor numbering of the SM2 mechanisms (spec/pkcs11-sm.md): NULL or
	 * "auto" (from the token's mechanism list), "canonical", "sansec",
	 * "tass", "koal", "luna", "ibm-ep11". */
	const char *profile;
	unsigned flags; /* SEALKIT_TOKEN_DEBUG, SEALKIT_SIGN_* */
	/* Receives notes such as "ECDSA-with-SHA256 is not a GB/T 38540
	 * algorithm" (may be NULL). */
	sealkit_warnings *warnings;
} sealkit_token_options;

/* ---- modules --------------------------------------------------------------- */

/* Loads and initialises a module: module is a path (contains '/' or ends
 * in ".so"), else the name of a module registered with p11-kit; NULL is the
 * default of sealkit_token_options.module. The module stays loaded until
 * the last sealkit_module_release() and the last signer using it. */
sealkit_status sealkit_module_load(const char *module, unsigned flags, sealkit_module **out,
				   sealkit_error *err);
void sealkit_module_release(sealkit_module *m);

/* "module-path" or "p11-kit module 'name'" as used in messages. */
const char *sealkit_module_name(const sealkit_module *m);

/* ---- signers ----------------------------------------------------------------- */

/* Opens the private key uri names (an URI naming a certificate or public
 * key names the private key with the same CKA_ID), logs in, finds its
 * public key (public key object, CKA_EC_POINT of the private key, or the
 * certificate) and certificate, and picks the signing mechanisms. module
 * may be NULL (then loaded as opts->module says). */
sealkit_status sealkit_signer_open(sealkit_module *module, const char *uri,
				   const sealkit_token_options *opts, sealkit_signer **out,
				   sealkit_error *err);
void sealkit_signer_free(sealkit_signer *s);

typedef enum sealkit_key_kind {
	SEALKIT_KEY_SM2 = 1,
	SEALKIT_KEY_EC_P256,
	SEALKIT_KEY_EC_P384,
	SEALKIT_KEY_EC_P521,
} sealkit_key_kind;

/* What a signer signs with. Strings and bytes belong to the signer. */
typedef struct sealkit_signer_info {
	sealkit_key_kind kind;
	const char *alg_oid;  /* "1.2.156.10197.1.501" (SM2-with-SM3), "1.2.840.10045.4.3.2" ... */
	const char *alg_name; /* "SM2-with-SM3", "ECDSA-with-SHA256" ... */
	int gbt38540;         /* 1: the algorithm GB/T 38540 asks for; 0: it is not */
	size_t digest_len;    /* bytes sealkit_signer_sign_digest() takes */
	const char *token_label;
	const char *key_label; /* "" when the key has none */
	const unsigned char *key_id;
	size_t key_id_len;
	const char *profile;             /* SM2 numbering in use; "standard" for ECDSA */
	unsigned long message_mechanism; /* hashes the message itself; 0: none used */
	unsigned long digest_mechanism;  /* signs a digest; 0: none */
} sealkit_signer_info;

void sealkit_signer_get_info(const sealkit_signer *s, sealkit_signer_info *info);

/* DER SubjectPublicKeyInfo of the key (belongs to the signer). */
const unsigned char *sealkit_signer_public_key(const sealkit_signer *s, size_t *len);
/* DER X.509 certificate with the key's CKA_ID, or NULL (len 0) if none. */
const unsigned char *sealkit_signer_certificate(const sealkit_signer *s, size_t *len);

/* Signs data: SM2-with-SM3 with Z from the ID 1234567812345678 for an SM2
 * key, ECDSA with SHA-256/384/512 (P-256/384/521) for an EC key. *sig is a
 * DER SEQUENCE{r,s} to free(); *alg_oid (may be NULL) is the signature
 * algorithm's dotted OID, a static string. */
sealkit_status sealkit_signer_sign(sealkit_signer *s, const void *data, size_t len,
				   unsigned char **sig, size_t *sig_len, const char **alg_oid,
				   sealkit_error *err);

/* Signs a digest computed by the caller: for SM2 e = SM3(Z||M) (32 bytes),
 * for ECDSA the SHA-2 digest of the key's size. Needs a digest-in mechanism
 * on the token. */
sealkit_status sealkit_signer_sign_digest(sealkit_signer *s, const unsigned char *digest,
					  size_t digest_len, unsigned char **sig, size_t *sig_len,
					  const char **alg_oid, sealkit_error *err);

/* Streaming: the same signature as sealkit_signer_sign() over all the
 * bytes given to update, however many and however large. The hash runs on
 * the host when the token has a digest-in mechanism, else on the token. */
sealkit_status sealkit_signer_sign_init(sealkit_signer *s, sealkit_sign_ctx **ctx,
					sealkit_error *err);
sealkit_status sealkit_sign_update(sealkit_sign_ctx *ctx, const void *data, size_t len,
				   sealkit_error *err);
sealkit_status sealkit_sign_final(sealkit_sign_ctx *ctx, unsigned char **sig, size_t *sig_len,
				  const char **alg_oid, sealkit_error *err);
/* Always call, after final or instead of it. */
void sealkit_sign_ctx_free(sealkit_sign_ctx *ctx);

/* ---- certificates ------------------------------------------------------------ */

/* Reads the certificate uri names (class cert implied) as DER, to free().
 * Logs in only when the certificate is not visible without and a PIN is at
 * hand. module may be NULL. */
sealkit_status sealkit_token_certificate(sealkit_module *module, const char *uri,
					 const sealkit_token_options *opts, unsigned char **der,
					 size_t *der_len, sealkit_error *err);

#define SEALKIT_OID_SM2_SM3      "1.2.156.10197.1.501"
#define SEALKIT_OID_ECDSA_SHA256 "1.2.840.10045.4.3.2"
#define SEALKIT_OID_ECDSA_SHA384 "1.2.840.10045.4.3.3"
#define SEALKIT_OID_ECDSA_SHA512 "1.2.840.10045.4.3.4"

/* ---- token administration (tokenadmin.c): what `sealkit token` does ---- */

/* One slot and the token in it. */
typedef struct sealkit_slot_entry {
	unsigned long slot;
	char description[65];
	int token_present;
	int initialized;     /* CKF_TOKEN_INITIALIZED */
	char label[33];      /* "" when no token / not initialised */
	char manufacturer[33];
	char model[17];
	char serial[17];
	unsigned long flags; /* CK_TOKEN_INFO.flags */
} sealkit_slot_entry;

/* Every slot of the module (malloc'ed array, free()). */
sealkit_status sealkit_slots_list(sealkit_module *m, sealkit_slot_entry **out, size_t *n,
				  sealkit_error *err);

/* Initialises the first slot whose token is not initialised as `label`
 * with the SO PIN, then sets the user PIN. *slot (may be NULL): the slot used. */
sealkit_status sealkit_token_init(sealkit_module *m, const char *label, const char *so_pin,
				  const char *user_pin, unsigned long *slot, sealkit_error *err);

/* Key types sealkit_token_keygen makes: "sm2", "ec-p256", "ec-p384", "rsa2048", "rsa3072". */
/* Generates a key pair on the token labelled `token` (logged in with
 * opts' PIN or callback), CKA_LABEL = label, CKA_ID = id, or when id_len
 * is 0 the SHA-1 of the public key (EC point / RSA modulus). *uri: the
 * private key's RFC 7512 URI, malloc'ed. */
sealkit_status sealkit_token_keygen(sealkit_module *m, const char *token, const char *label,
				    const char *type, const unsigned char *id, size_t id_len,
				    const sealkit_token_options *opts, char **uri,
				    sealkit_error *err);

/* Stores a DER certificate on the token. id_len 0: the CKA_ID of the
 * private key whose public key the certificate holds (none: an error). */
sealkit_status sealkit_token_import_cert(sealkit_module *m, const char *token, const char *label,
					 const unsigned char *der, size_t der_len,
					 const unsigned char *id, size_t id_len,
					 const sealkit_token_options *opts, sealkit_error *err);

typedef struct sealkit_object_entry {
	char kind[16];  /* "private-key", "public-key", "certificate", "secret-key", "data", ... */
	char key_type[12]; /* "sm2", "ec", "rsa", "" */
	char label[129];
	char id_hex[129];
	int is_private; /* CKA_PRIVATE */
} sealkit_object_entry;

/* The objects on token `token`; after a login when opts give a PIN (then
 * private objects too). *logged_in says which. */
sealkit_status sealkit_token_objects(sealkit_module *m, const char *token,
				     const sealkit_token_options *opts, sealkit_object_entry **out,
				     size_t *n, int *logged_in, sealkit_error *err);

#ifdef __cplusplus
}
#endif

#endif
