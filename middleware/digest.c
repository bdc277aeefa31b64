#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "digest.h"
#include "sealkit/verify.h"

/* Large enough that the hash, not the system calls, sets the pace; small
 * enough to keep the resident size flat. */
#define CHUNK (1u << 20)

static EVP_MD *sm3;
static pthread_once_t sm3_once = PTHREAD_ONCE_INIT;

static void fetch_sm3(void)
{
	sm3 = EVP_MD_fetch(NULL, "SM3", NULL);
}

const EVP_MD *sk_sm3(void)
{
	pthread_once(&sm3_once, fetch_sm3);
	return sm3;
}

/* Where the bytes come from: a descriptor or the caller's stream. */
typedef struct source {
	int fd;
	sealkit_read_fn read;
	void *read_data;
} source;

static long source_read(const source *src, void *buf, size_t len)
{
	if (src->read)
		return src->read(src->read_data, buf, len);
	return (long)read(src->fd, buf, len);
}

static sealkit_status hash_source(const source *src, const char *what, const EVP_MD *md,
				  unsigned char *out, unsigned *out_len, sk_progress_fn progress,
				  void *data, sealkit_error *err)
{
	sealkit_status st = SEALKIT_OK;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *buf = malloc(CHUNK);
	uint64_t done = 0, total = 0;
	struct stat sb;

	if (!ctx || !buf) {
		st = sealkit_fail(err, SEALKIT_ERR_MEMORY, "out of memory hashing %s", what);
		goto out;
	}
	if (!md || EVP_DigestInit_ex(ctx, md, NULL) <= 0) {
		st = sealkit_fail(err, SEALKIT_ERR_CRYPTO, "this OpenSSL has no such hash");
		goto out;
	}
	if (!src->read && fstat(src->fd, &sb) == 0 && S_ISREG(sb.st_mode))
		total = (uint64_t)sb.st_size;
	for (;;) {
		long n = source_read(src, buf, CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			st = sealkit_fail(err, SEALKIT_ERR_IO, "cannot read %s: %s", what,
					  strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) <= 0) {
			st = sealkit_fail(err, SEALKIT_ERR_CRYPTO, "hashing %s failed", what);
			goto out;
		}
		done += (uint64_t)n;
		if (progress)
			progress(data, done, total);
	}
	if (EVP_DigestFinal_ex(ctx, out, out_len) <= 0)
		st = sealkit_fail(err, SEALKIT_ERR_CRYPTO, "hashing %s failed", what);
out:
	EVP_MD_CTX_free(ctx);
	free(buf);
	return st;
}

sealkit_status sk_hash_fd(int fd, const char *what, const EVP_MD *md, unsigned char *out,
			  unsigned *out_len, sk_progress_fn progress, void *data, sealkit_error *err)
{
	source src = {fd, NULL, NULL};
	return hash_source(&src, what, md, out, out_len, progress, data, err);
}

sealkit_status sk_hash_document(const sealkit_document *doc, const EVP_MD *md,
				unsigned char *out, unsigned *out_len, sk_progress_fn progress,
				void *data, sealkit_error *err)
{
	if (doc->path)
		return sk_hash_file(doc->path, md, out, out_len, progress, data, err);
	if (doc->read) {
		source src = {-1, doc->read, doc->read_data};
		return hash_source(&src, "the document stream", md, out, out_len, progress, data,
				   err);
	}
	if (!doc->data)
		return sealkit_fail(err, SEALKIT_ERR_ARGS, "no document given");
	if (EVP_Digest(doc->data, doc->len, out, out_len, md, NULL) <= 0)
		return sealkit_fail(err, SEALKIT_ERR_CRYPTO, "hashing the document failed");
	if (progress)
		progress(data, doc->len, doc->len);
	return SEALKIT_OK;
}

sealkit_status sk_hash_file(const char *path, const EVP_MD *md, unsigned char *out,
			    unsigned *out_len, sk_progress_fn progress, void *data,
			    sealkit_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sealkit_fail(err, errno == ENOENT ? SEALKIT_ERR_NOT_FOUND : SEALKIT_ERR_IO,
				    "cannot open %s: %s", path, strerror(errno));
#ifdef POSIX_FADV_SEQUENTIAL
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
	sealkit_status st = sk_hash_fd(fd, path, md, out, out_len, progress, data, err);
	close(fd);
	return st;
}
