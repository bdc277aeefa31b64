/* Hashing documents: streaming, so a 4 GB file costs no more memory than a
 * small one. */
#ifndef SEALKIT_MW_DIGEST_H
#define SEALKIT_MW_DIGEST_H

#include <stdint.h>
#include <openssl/evp.h>

#include "sealkit/status.h"

#define SK_DIGEST_MAX 64

/* Called every chunk with bytes done and the total (0 when unknown). */
typedef void (*sk_progress_fn)(void *data, uint64_t done, uint64_t total);

/* Hashes everything readable from fd (left open). `what` names it in
 * messages. */
sealkit_status sk_hash_fd(int fd, const char *what, const EVP_MD *md, unsigned char *out,
			  unsigned *out_len, sk_progress_fn progress, void *data, sealkit_error *err);
sealkit_status sk_hash_file(const char *path, const EVP_MD *md, unsigned char *out,
			    unsigned *out_len, sk_progress_fn progress, void *data,
			    sealkit_error *err);

struct sealkit_document;
/* Hashes a document (file, memory or stream). SEALKIT_ERR_ARGS when it
 * names nothing. */
sealkit_status sk_hash_document(const struct sealkit_document *doc, const EVP_MD *md,
				unsigned char *out, unsigned *out_len, sk_progress_fn progress,
				void *data, sealkit_error *err);

/* SM3, fetched once. */
const EVP_MD *sk_sm3(void);

#endif
