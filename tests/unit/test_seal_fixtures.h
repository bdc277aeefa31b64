/* Interop samples for the seal and stamp tests, read in place (never copied
 * into the project): $SEALKIT_INTEROP_DIR, else $(top_srcdir)/../shared/interop.
 * Later tests (verification, OFD) can reuse the loaders and the table. */
#ifndef SEALKIT_TEST_SEAL_FIXTURES_H
#define SEALKIT_TEST_SEAL_FIXTURES_H

#include <stddef.h>

#include "sealkit/seal.h"

/* The interop directory, or NULL when there is none. */
const char *fixture_interop_dir(void);

/* The bytes of a sample (path relative to the interop dir), malloc'ed; NULL
 * when missing. "pkg.ofd!member" names a member of an OFD package, read with
 * unzip -p (NULL when unzip is not installed). */
unsigned char *fixture_load(const char *rel, size_t *len);

/* Writes data to a new file in a fresh temporary directory (for tools that
 * read files, like openssl asn1parse); returns its path or NULL. */
const char *fixture_tmpfile(const char *name, const void *data, size_t len);

/* SM2-with-SM3 with the ID 1234567812345678 (spec section 4), through OpenSSL:
 * 1 verifies, 0 does not, -1 the certificate or key could not be used. */
int fixture_sm2_verify(sealkit_bytes cert_der, sealkit_bytes tbs, sealkit_bytes sig_der);
/* Signs tbs with the PEM private key at path (relative to the interop dir);
 * the DER SEQUENCE{r,s} is malloc'ed. Returns 0 on success. */
int fixture_sm2_sign(const char *key_rel, sealkit_bytes tbs, unsigned char **sig, size_t *sig_len);
/* SM3 of data into out (32 bytes). */
void fixture_sm3(const void *data, size_t len, unsigned char out[32]);

enum fixture_kind { FIXTURE_SEAL, FIXTURE_STAMP };

/* Maker / stamp signature conclusion a correct verifier reaches (MANIFEST.md). */
enum fixture_sig { SIG_VALID, SIG_INVALID, SIG_UNKNOWN };

struct seal_fixture {
	const char *path; /* relative to the interop dir */
	enum fixture_kind kind;
	sealkit_format format;
	int strict_ok; /* parses with SEALKIT_PARSE_STRICT */
	/* Substrings of the default-mode warnings, in any order; the count must
	 * match too (a sample with none gets no warning at all). */
	const char *warnings[6];
	enum fixture_sig maker_sig; /* over seal->tbs (for stamps: the embedded seal) */
	enum fixture_sig stamp_sig; /* over stamp->tbs */
	int in_ofd;                 /* a member of an OFD package (needs unzip) */
};

extern const struct seal_fixture seal_fixtures[];
extern const size_t n_seal_fixtures;

#endif
