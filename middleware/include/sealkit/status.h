/* libsealkit: results and messages shared by every part of the library.
 *
 * Every public function returns a sealkit_status and, when it fails, fills
 * the caller's sealkit_error (which may be NULL) with a message that says
 * what was wrong and, where it can, what to do next. Decoders that tolerate
 * vendor deviations report each one in a sealkit_warnings list. */
#ifndef SEALKIT_STATUS_H
#define SEALKIT_STATUS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sealkit_status {
	SEALKIT_OK = 0,
	SEALKIT_ERR_ARGS,        /* the caller passed something invalid */
	SEALKIT_ERR_MEMORY,      /* out of memory */
	SEALKIT_ERR_IO,          /* a file could not be read or written */
	SEALKIT_ERR_FORMAT,      /* malformed input: DER, XML, ZIP, PEM */
	SEALKIT_ERR_UNSUPPORTED, /* well-formed but not supported (version, algorithm) */
	SEALKIT_ERR_MODULE,      /* a PKCS#11 module could not be loaded or failed */
	SEALKIT_ERR_PIN,         /* PIN wrong, locked or missing */
	SEALKIT_ERR_NOT_FOUND,   /* no such token, key, certificate or file */
	SEALKIT_ERR_CRYPTO,      /* a cryptographic operation failed */
	SEALKIT_ERR_INVALID,     /* verification ran and concluded "invalid" */
} sealkit_status;

#define SEALKIT_MESSAGE_MAX 512

typedef struct sealkit_error {
	sealkit_status status;
	char message[SEALKIT_MESSAGE_MAX];
} sealkit_error;

/* Sets err (when not NULL) and returns st, so a failure is one line:
 *   return sealkit_fail(err, SEALKIT_ERR_FORMAT, "seal: %s", why); */
sealkit_status sealkit_fail(sealkit_error *err, sealkit_status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A short stable name: "ok", "format", "pin", ... */
const char *sealkit_status_name(sealkit_status st);

/* Deviations a tolerant decoder accepted, one readable line each. */
typedef struct sealkit_warnings {
	char **items;
	size_t count;
} sealkit_warnings;

/* Appends one warning (w may be NULL: then nothing is kept). */
void sealkit_warn(sealkit_warnings *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sealkit_warnings_free(sealkit_warnings *w);

#ifdef __cplusplus
}
#endif

#endif
