/* libsealkit: verifying seals and stamps (V1 and V4) into a report of named
 * checks, each passed, failed or not applicable, with a detail.
 *
 * The check names are stable (scripts read them from `sealkit verify
 * --json`):
 *   structure                  the bytes parse as a seal / stamp
 *   encoding                   strict DER (fails only in strict mode)
 *   seal-maker-signature       the maker's signature over the seal
 *   seal-cert-list             the seal's signer list holds certificates / digests
 *   seal-validity              the seal's dates make sense (notes when expired)
 *   maker-cert-chain           maker certificate chains to a trust anchor
 *   stamp-signature            the signer's signature over TBS_Sign
 *   signer-in-seal             the signer certificate is listed in the seal
 *   data-hash                  dataHash against the document
 *   signing-time-in-seal-validity
 *   signing-time-in-cert-validity
 *   signer-cert-chain          signer certificate chains to a trust anchor
 *   timestamp                  the time-stamp token's imprint, when present
 * Verification runs to the end even after a failure, so the report names
 * every failed check. */
#ifndef SEALKIT_VERIFY_H
#define SEALKIT_VERIFY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <sealkit/status.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Vendor encoding deviations fail (default: accepted with a warning each). */
#define SEALKIT_VERIFY_STRICT 0x1u
/* A wrong algorithm OID whose value verifies as SM2-with-SM3 passes with a warning. */
#define SEALKIT_VERIFY_LENIENT 0x2u
/* Signing-time checks are reported but do not decide the verdict. */
#define SEALKIT_VERIFY_IGNORE_TIME 0x4u

typedef enum sealkit_check_result {
	SEALKIT_CHECK_FAILED = 0,
	SEALKIT_CHECK_PASSED = 1,
	SEALKIT_CHECK_NA = 2, /* does not apply (no document, no trust anchors, ...) */
} sealkit_check_result;

typedef struct sealkit_check {
	const char *name; /* one of the names above */
	sealkit_check_result result;
	int advisory;     /* 1: reported only (ignore-time); does not decide the verdict */
	char *detail;     /* one readable sentence, never NULL */
} sealkit_check;

/* One seal or stamp (an OFD document gives one item per signature). */
typedef struct sealkit_report_item {
	char *label;          /* "seal", "stamp", or the OFD signature's path */
	const char *version;  /* "V1", "V1-hybrid", "V4", "V5", or "" when unparsable */
	int valid;
	sealkit_check *checks;
	size_t n_checks;
	sealkit_warnings warnings; /* tolerated deviations and notes */
} sealkit_report_item;

typedef struct sealkit_report {
	const char *kind; /* "seal", "stamp", "ofd" */
	int valid;        /* every item valid (and at least one item) */
	sealkit_report_item *items;
	size_t n_items;
} sealkit_report;

/* Progress of hashing a document: bytes done, total (0: unknown). */
typedef void (*sealkit_progress_fn)(void *data, uint64_t done, uint64_t total);

typedef struct sealkit_verify_options {
	unsigned flags;                 /* SEALKIT_VERIFY_* */
	const char *const *trust_files; /* CA certificates (PEM, may hold several, or DER) */
	size_t n_trust;
	time_t now;                     /* "now" for notes on expiry; 0: the clock */
	sealkit_progress_fn progress;   /* optional: hashing the document for data-hash */
	void *progress_data;
} sealkit_verify_options;

/* Reads up to len bytes of a stream; returns the count, 0 at the end, -1
 * on an error (then errno says which). */
typedef long (*sealkit_read_fn)(void *data, void *buf, size_t len);

/* A document a stamp covers: a file (hashed as a stream, so size does not
 * matter), bytes in memory, or a stream. All unset: the data-hash check is
 * n/a. */
typedef struct sealkit_document {
	const char *path;
	const void *data;
	size_t len;
	sealkit_read_fn read;
	void *read_data;
} sealkit_document;

/* SEALKIT_OK when verification ran (the verdict is in the report, also for
 * input that does not parse); an error only when it could not run (memory,
 * an unreadable document or trust file). */
sealkit_status sealkit_verify_seal(const void *der, size_t len, const sealkit_verify_options *opts,
				   sealkit_report **out, sealkit_error *err);
sealkit_status sealkit_verify_stamp(const void *der, size_t len, const sealkit_document *doc,
				    const sealkit_verify_options *opts, sealkit_report **out,
				    sealkit_error *err);
/* Guesses seal or stamp from the structure (a stamp embeds a seal). */
sealkit_status sealkit_verify_auto(const void *der, size_t len, const sealkit_document *doc,
				   const sealkit_verify_options *opts, sealkit_report **out,
				   sealkit_error *err);
void sealkit_report_free(sealkit_report *r);

/* The report as the CLI's JSON ({"valid", "kind", "items": [...]}); free() it. */
char *sealkit_report_json(const sealkit_report *r);

#ifdef __cplusplus
}
#endif

#endif
