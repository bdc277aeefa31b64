/* The module's configuration: where soft tokens live and the PIN policy.
 *
 * Sources, first found wins for the file: $SEALKIT_CONF, then
 * ~/.config/sealkit/sealkit.conf, then SYSCONFDIR/sealkit/sealkit.conf.
 * $SEALKIT_TOKEN_DIR overrides the file's token_dir, $SEALKIT_PROFILE its
 * profile, $SEALKIT_PROXY_MODULE adds one proxied module; settings given to
 * C_Initialize go over all of these. The file holds `key = value` lines;
 * `#` starts a comment.
 *
 * Proxied modules (proxy/proxy.h), one entry each:
 *   proxy = MODULE[:PROFILE]      a PKCS#11 module and its vendor profile
 *                                 (canonical when none); PROFILE is the text
 *                                 after the last ':' when it holds no '/'
 *   proxy.init_args = TEXT        C_Initialize's pReserved for the entry above
 *   proxy.ignore_mechanisms = C[, C...]   device codes never used (a device's
 *                                 broken mechanisms); completed in software
 *                                 where that is possible
 *   proxy.sm2_ciphertext = c1c3c2|c1c2c3|der   the device's SM2 ciphertext
 *                                 layout, when not its profile's; converted
 *                                 to and from the application's
 *   proxy =                       (empty) forgets the entries given so far
 * $SEALKIT_PROXY_MODULE=MODULE[:PROFILE] is one more `proxy =` line. */
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

/* One proxied module. */
typedef struct sk_proxy_conf {
	char *module;    /* path given to dlopen */
	char *profile;   /* vendor profile of its numbers; NULL: canonical */
	char *init_args; /* pReserved of its C_Initialize; NULL: none */
	CK_MECHANISM_TYPE *ignore; /* device mechanism codes not to use */
	size_t n_ignore;
	int sm2_ciphertext; /* CT_* of the device; SK_UNSET: its profile's */
	char *where;        /* "file:line" */
} sk_proxy_conf;

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
	sk_proxy_conf *proxies;
	size_t n_proxies;
} sk_config;

/* CKR_GENERAL_ERROR with a message on stderr when the file is malformed.
 * `args` (may be NULL): more settings, as C_Initialize's pReserved carries
 * them ("key=value" lines or ';'-separated), over the file and env. */
CK_RV config_load(sk_config *cfg, const char *args);
void config_free(sk_config *cfg);

#endif
