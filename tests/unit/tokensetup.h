/* Test set-up shared by the libsealkit tests and benchmarks: a token on
 * $SEALKIT_MODULE with SM2 key pairs, made over plain PKCS#11 (the library
 * under test only uses keys, it does not make tokens). */
#ifndef SEALKIT_TOKENSETUP_H
#define SEALKIT_TOKENSETUP_H

#include <stdbool.h>
#include <stddef.h>

/* Initialises the first free slot as `label` with user PIN `pin` and
 * generates one SM2 key pair per name (CKA_LABEL = CKA_ID = the name).
 * False, with a message on stderr, when anything fails. */
bool tokensetup_sm2(const char *label, const char *pin, const char *const *names, size_t n);
/* The same on any module: SM2 keys, or EC P-256 keys when !sm2. */
bool tokensetup(const char *module, const char *label, const char *pin, const char *const *names,
		size_t n, bool sm2);

/* A new directory under $TMPDIR (or /tmp) named PREFIX-XXXXXX, written
 * into dir, with a tokens/ directory and a fast-PIN sealkit.conf, both set
 * in the environment (SEALKIT_TOKEN_DIR, SEALKIT_CONF). */
bool tokensetup_dir(char *dir, size_t len, const char *prefix);

/* A whole file in memory (malloc'ed, one spare byte), NULL when unreadable. */
void *tokensetup_slurp(const char *path, size_t *len);
bool tokensetup_spit(const char *path, const void *data, size_t len);

#endif
