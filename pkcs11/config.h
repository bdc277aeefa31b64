/* The module's configuration: where soft tokens live and the PIN policy.
 *
 * Sources, first found wins for the file: $SEALKIT_CONF, then
 * ~/.config/sealkit/sealkit.conf, then SYSCONFDIR/sealkit/sealkit.conf.
 * $SEALKIT_TOKEN_DIR overrides the file's token_dir. The file holds
 * `key = value` lines; `#` starts a comment. */
#ifndef SEALKIT_CONFIG_H
#define SEALKIT_CONFIG_H

#include "pkcs11x.h"

typedef struct sk_config {
	char *token_dir;
	CK_ULONG max_pin_failures; /* consecutive wrong PINs before the PIN locks */
	CK_ULONG pin_iterations;   /* PBKDF2-HMAC-SM3 rounds for new PINs */
	CK_ULONG min_pin_len;
	CK_ULONG max_pin_len;
} sk_config;

/* CKR_GENERAL_ERROR with a message on stderr when the file is malformed. */
CK_RV config_load(sk_config *cfg);
void config_free(sk_config *cfg);

#endif
