/* The module's configuration: where soft tokens live and the PIN policy.
 *
 * Sources, first found wins for the file: $SEALKIT_CONF, then
 * ~/.config/sealkit/sealkit.conf, then SYSCONFDIR/sealkit/sealkit.conf.
 * $SEALKIT_TOKEN_DIR overrides the file's token_dir, $SEALKIT_PROFILE its
 * profile. The file holds
 * `key = value` lines; `#` starts a comment. */
#ifndef SEALKIT_CONFIG_H
#define SEALKIT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "pkcs11x.h"

/* `mechanism.<op> = 0x...[, 0x...]` or `key_type.<name> = ...`: replaces the
 * profile's codes for one operation (first code primary, the rest aliases). */
typedef struct sk_code_override {
	bool key_type;
	char *name;
	CK_ULONG *codes;
	size_t n_codes;
	char *where; /* "file:line", for messages */
} sk_code_override;

/* Behaviour settings; SK_UNSET keeps the profile's own. */
#define SK_UNSET (-1)
enum { SIG_RAW, SIG_DER };
enum { CT_C1C3C2, CT_C1C2C3, CT_DER };

typedef struct sk_config {
	char *token_dir;
	CK_ULONG max_pin_failures; /* consecutive wrong PINs before the PIN locks */
	CK_ULONG pin_iterations;   /* PBKDF2-HMAC-SM3 rounds for new PINs */
	CK_ULONG min_pin_len;
	CK_ULONG max_pin_len;
	char *profile; /* vendor numbering profile; NULL: canonical */
	sk_code_override *overrides;
	size_t n_overrides;
	int sm2_sign_z;     /* message-in SM2 signatures hash Z||M (1) or M (0) */
	int sm2_signature;  /* SIG_RAW / SIG_DER for every SM2 signature */
	int sm2_ciphertext; /* CT_* for every SM2 encryption */
} sk_config;

/* CKR_GENERAL_ERROR with a message on stderr when the file is malformed.
 * `args` (may be NULL): more settings, as C_Initialize's pReserved carries
 * them ("key=value" lines or ';'-separated), over the file and env. */
CK_RV config_load(sk_config *cfg, const char *args);
void config_free(sk_config *cfg);

#endif
