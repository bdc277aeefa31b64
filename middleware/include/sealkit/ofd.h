/* libsealkit: the seal and digital signatures of OFD documents (GB/T 33190
 * §18; spec/seal-format.md section 7), verified into a report of kind
 * "ofd" with one item per signature, labelled with its Signature.xml path.
 *
 * Besides the stamp's own checks (sealkit/verify.h), an OFD item has:
 *   structure          Signature.xml (or a SignedData) is readable
 *   reference-digest   one per Reference: the file's digest under CheckMethod
 *   signed-value       SignedValue.dat is named and present
 *   seal-file          Seal.esl equals the seal inside the stamp
 *   digital-signature  Type="Sign": the GB/T 35275 SignedData signature
 *   data-hash          Type="Sign": the signed digest against Signature.xml
 *
 * A package is refused (SEALKIT_ERR_FORMAT, no report) when it is not a
 * ZIP, has no OFD.xml, or is hostile: an entry name leaving the package
 * (absolute, "..", backslashes), two entries of one name, more entries or
 * bytes than the limits below, a compression ratio above the limit, or XML
 * with a DOCTYPE (entities) or nested too deep. */
#ifndef SEALKIT_OFD_H
#define SEALKIT_OFD_H

#include <stddef.h>

#include <sealkit/status.h>
#include <sealkit/verify.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SEALKIT_OFD_MAX_ENTRIES 20000                 /* entries in one package */
#define SEALKIT_OFD_MAX_ENTRY   (512ull << 20)        /* uncompressed bytes of one entry */
#define SEALKIT_OFD_MAX_TOTAL   (4ull << 30)          /* uncompressed bytes of all entries */
#define SEALKIT_OFD_MAX_RATIO   200                   /* uncompressed / compressed, entries > 1 MiB */
#define SEALKIT_OFD_MAX_XML     (16u << 20)           /* one XML file or SignedValue.dat */
#define SEALKIT_OFD_MAX_DEPTH   64                    /* XML element nesting */

/* Verifies every signature of the OFD file at path. SEALKIT_OK when
 * verification ran (a package without signatures gives a report with no
 * items, which is not valid: "not signed"). */
sealkit_status sealkit_verify_ofd(const char *path, const sealkit_verify_options *opts,
				  sealkit_report **out, sealkit_error *err);
/* The same for a package in memory (not copied; keep it until this returns). */
sealkit_status sealkit_verify_ofd_mem(const void *data, size_t len,
				      const sealkit_verify_options *opts, sealkit_report **out,
				      sealkit_error *err);

/* Whether bytes look like a ZIP (a local header or, after leading bytes,
 * an end-of-central-directory record). */
int sealkit_is_zip(const void *data, size_t len);

#ifdef __cplusplus
}
#endif

#endif
