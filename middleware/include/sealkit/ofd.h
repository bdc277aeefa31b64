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
#include <time.h>

#include <sealkit/make.h>
#include <sealkit/seal.h>
#include <sealkit/status.h>
#include <sealkit/token.h>
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

/* ---- stamping (ofdstamp.c) -------------------------------------------------
 *
 * sealkit_ofd_stamp adds one seal signature (Type="Seal") to the first
 * document of the package `in` and writes the result to `out`, as
 * spec/seal-format.md sections 7 and 9 say: Doc_N/Signs/Sign_K/Seal.esl (the
 * seal), Signature.xml (References CheckMethod 1.2.156.10197.1.401 with
 * absolute FileRefs, SignatureMethod 1.2.156.10197.1.501, the StampAnnot)
 * and SignedValue.dat (a V4 SES_Signature whose dataHash is SM3 of those
 * exact Signature.xml bytes and whose propertyInfo is its absolute path),
 * listed in Signatures.xml (made, with the reference from OFD.xml, when the
 * document has none).
 *
 * Protected are every file of the result but the new Signature.xml and
 * SignedValue.dat and, by default ("continue signing"), Signatures.xml, so
 * later signatures leave this one valid. A document whose existing
 * signature protects Signatures.xml (and still verifies against it) is
 * refused: a new signature would break that one.
 *
 * `in` is only read. `out` appears complete or not at all: it is written
 * to a temporary file in its directory, synced and renamed into place.
 * Entries signing does not touch are copied as they are stored (the same
 * compressed bytes, CRC and time). Hostile packages are refused as by
 * sealkit_verify_ofd. The signer must hold an SM2 key whose certificate
 * the seal lists. */

/* Protect Signatures.xml too ("whole protected"; blocks later signatures). */
#define SEALKIT_OFD_PROTECT_ALL 0x1u

typedef struct sealkit_ofd_stamp_options {
	sealkit_bytes seal;              /* the V4 SESeal (DER), written as Seal.esl */
	const sealkit_bytes *signer_cert; /* NULL: the certificate stored with the key */
	unsigned page;                   /* 1-based page number; 0: 1 */
	int has_position;                /* 0: the page's lower right */
	double x, y;                     /* the stamp's top-left corner, mm from the page's top-left */
	double width, height;            /* mm; 0: the seal picture's size (40 when it has none) */
	unsigned flags;                  /* SEALKIT_OFD_* */
	time_t time;                     /* signing time; 0: now */
	const char *property_info;       /* NULL: the absolute path of Signature.xml */
	const char *provider;            /* ProviderName; NULL: "sealkit" */
} sealkit_ofd_stamp_options;

sealkit_status sealkit_ofd_stamp(const char *in, const char *out,
				 const sealkit_ofd_stamp_options *opts, sealkit_signer *signer,
				 sealkit_error *err);

/* Writes a small valid one-page (A4) OFD document showing text (UTF-8;
 * one text line per line), atomically as above. */
sealkit_status sealkit_ofd_make_text(const char *path, const char *text, sealkit_error *err);

#ifdef __cplusplus
}
#endif

#endif
