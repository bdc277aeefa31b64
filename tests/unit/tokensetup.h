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

#endif
