/* Interop samples for the seal and stamp tests: where they are, how to load
 * them, and what parsing each must give (shared/interop/MANIFEST.md and
 * shared/spec/seal-format.md sections 4 and 8). */
#include "test_seal_fixtures.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define UNUSED_BITS(n) "BIT STRING says " #n " unused bits"

/* path, kind, format, parses strictly, maker signature, stamp signature, in an
 * OFD package, then the expected warnings (NULL-terminated). */
#define SAMPLE(path, kind, fmt, strict, maker, stamp, ofd, ...)                                    \
	{                                                                                          \
		path, FIXTURE_##kind, SEALKIT_FORMAT_##fmt, strict, {__VA_ARGS__}, SIG_##maker,    \
		    SIG_##stamp, ofd                                                               \
	}

const struct seal_fixture seal_fixtures[] = {
    /* Files of their own. */
    SAMPLE("OfdSharp/Seal.esl", SEAL, V4, 1, VALID, UNKNOWN, 0, NULL),
    SAMPLE("OfdSharp/SignedValue.dat", STAMP, V4, 1, VALID, VALID, 0, NULL),
    SAMPLE("esl-demo/Seal.esl", SEAL, V4, 0, VALID, UNKNOWN, 0,
	   "SESeal.signedValue is a raw 64-octet r||s", NULL),
    SAMPLE("generated/seal.esl", SEAL, V4, 1, VALID, UNKNOWN, 0, NULL),
    SAMPLE("generated/seal-digest.esl", SEAL, V4, 1, VALID, UNKNOWN, 0, NULL),
    SAMPLE("generated/signature.dat", STAMP, V4, 1, VALID, VALID, 0, NULL),
    SAMPLE("generated/signature-digestseal.dat", STAMP, V4, 1, VALID, VALID, 0, NULL),
    SAMPLE("generated/negative/seal-badsig.esl", SEAL, V4, 1, INVALID, UNKNOWN, 0, NULL),
    SAMPLE("generated/negative/signature-badsig.dat", STAMP, V4, 1, VALID, INVALID, 0, NULL),
    SAMPLE("generated/negative/signature-emptyid.dat", STAMP, V4, 1, VALID, INVALID, 0, NULL),
    SAMPLE("generated/negative/signature-raw64.dat", STAMP, V4, 0, VALID, VALID, 0,
	   "SES_Signature.signature is a raw 64-octet r||s", NULL),
    /* Signed by "other": the cryptography holds, the binding to the seal does not. */
    SAMPLE("generated/negative/signature-signer-not-in-seal.dat", STAMP, V4, 1, VALID, VALID, 0,
	   NULL),
    SAMPLE("ofdrw/UserV1.esl", SEAL, V1, 1, VALID, UNKNOWN, 0, NULL),
    SAMPLE("ofdrw/UserV4.esl", SEAL, V4, 1, VALID, UNKNOWN, 0, NULL),
    SAMPLE("ofdrw/UserV5.esl", SEAL, V5, 1, VALID, UNKNOWN, 0, "header version 5", NULL),
    SAMPLE("ofdrw/UserV5_ts.esl", SEAL, V5, 0, VALID, UNKNOWN, 0, "a fifth element (V5 time stamp)",
	   "header version 5", NULL),
    /* HebeiGede: verifies under no known convention (spec 3.1). */
    SAMPLE("ofdrw/SESealData.DER", SEAL, V4, 1, INVALID, UNKNOWN, 0, NULL),
    SAMPLE("ofdrw/SignedValueV4.dat", STAMP, V4, 1, VALID, VALID, 0, NULL),
    SAMPLE("ofdrw/SignedValueV5.dat", STAMP, V5, 1, VALID, VALID, 0,
	   "stamp: seal: header version 5", "stamp: the seal has header version 5", NULL),

    /* Stamps that exist only inside OFD packages: the V1 layouts and the
     * encoding deviations the spec lists. */
    SAMPLE("ofd-parser/00101.ofd!Doc_0/Signs/Sign_0/SignedValue.dat", STAMP, V1_HYBRID, 0, VALID,
	   VALID, 1, "SES_Signature.signature: " UNUSED_BITS(1),
	   "TBS_Sign.timeInfo: " UNUSED_BITS(1), "signInfo.signData: " UNUSED_BITS(3),
	   "header version 4 in a GM/T 0031", "TBS_Sign.version 4 in a GM/T 0031", NULL),
    /* iOFD: certList holds IA5String "1"; the stamp signs e = dataHash, not TBS_Sign. */
    SAMPLE("ofdrw/n.ofd!Doc_0/Signs/Sign_0/SignedValue.dat", STAMP, V1, 0, VALID, INVALID, 1,
	   "certList[0] has tag 0x16", NULL),
    SAMPLE("ofdrw/n.ofd!Doc_0/Signs/Sign_0/Seal.esl", SEAL, V1, 0, VALID, UNKNOWN, 1,
	   "certList[0] has tag 0x16", NULL),
    /* tongz: raw r||s stamp signature, TBS_Sign.extDatas [0] EXPLICIT. */
    SAMPLE("ofdrw/keyword.ofd!Doc_0/Signs/Sign_1/SignedValue.dat", STAMP, V4, 0, VALID, VALID, 1,
	   "SES_Signature.signature is a raw 64-octet r||s", NULL),
    /* Koal: non-minimal INTEGER in the stamp signature, raw r||s maker signature. */
    SAMPLE("esl-demo/many-ofd.ofd!Doc_0/Signs/Sign_2/SignedValue.dat", STAMP, V4, 0, VALID, VALID,
	   1, "SES_Signature.signature: INTEGER r or s",
	   "stamp: seal: SESeal.signedValue is a raw 64-octet", NULL),
    /* easyofd: signatureAlgID is the signedData OID; the value is SM2-with-SM3. */
    SAMPLE("easyofd-java/image-seal.ofd!Doc_0/Signs/Sign_0/SignedValue.dat", STAMP, V4, 1, VALID,
	   VALID, 1, NULL),
};

const size_t n_seal_fixtures = sizeof seal_fixtures / sizeof seal_fixtures[0];

static int is_dir(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

const char *fixture_interop_dir(void)
{
	static char dir[1024];
	const char *env = getenv("SEALKIT_INTEROP_DIR");
	const char *top = getenv("top_srcdir");

	if (env && *env) {
		snprintf(dir, sizeof dir, "%s", env);
		if (is_dir(dir))
			return dir;
	}
	snprintf(dir, sizeof dir, "%s/../shared/interop",
		 top && *top ? top : SEALKIT_ABS_TOP_SRCDIR);
	return is_dir(dir) ? dir : NULL;
}

static unsigned char *read_stream(FILE *f, size_t *len)
{
	unsigned char *buf = NULL, *p;
	size_t cap = 0, n = 0, got;

	do {
		if (n == cap) {
			cap = cap ? cap * 2 : 65536;
			if (!(p = realloc(buf, cap))) {
				free(buf);
				return NULL;
			}
			buf = p;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
	} while (got > 0);
	*len = n;
	return buf;
}

/* Single-quotes s for sh. */
static void shell_quote(char *out, size_t outlen, const char *s)
{
	size_t n = 0;
	out[n++] = '\'';
	for (; *s && n + 5 < outlen; s++) {
		if (*s == '\'') {
			memcpy(out + n, "'\\''", 4);
			n += 4;
		} else {
			out[n++] = *s;
		}
	}
	out[n++] = '\'';
	out[n] = 0;
}

unsigned char *fixture_load(const char *rel, size_t *len)
{
	const char *dir = fixture_interop_dir();
	const char *bang = strchr(rel, '!');
	char path[1200], cmd[3000], qp[1300], qm[600], member[512];
	unsigned char *buf = NULL;
	FILE *f;

	*len = 0;
	if (!dir)
		return NULL;
	snprintf(path, sizeof path, "%s/%.*s", dir, bang ? (int)(bang - rel) : (int)strlen(rel),
		 rel);
	if (!bang) {
		if ((f = fopen(path, "rb"))) {
			buf = read_stream(f, len);
			fclose(f);
		}
		return buf;
	}
	snprintf(member, sizeof member, "%s", bang + 1);
	shell_quote(qp, sizeof qp, path);
	shell_quote(qm, sizeof qm, member);
	snprintf(cmd, sizeof cmd, "unzip -p %s %s 2>/dev/null", qp, qm);
	if (system("command -v unzip >/dev/null 2>&1") != 0 || !(f = popen(cmd, "r")))
		return NULL;
	buf = read_stream(f, len);
	if (pclose(f) != 0 || *len == 0) {
		free(buf);
		buf = NULL;
		*len = 0;
	}
	return buf;
}

static const char *tmpdir_made;

static void tmpdir_remove(void)
{
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir_made);
	if (system(cmd) != 0)
		fprintf(stderr, "# could not remove %s\n", tmpdir_made);
}

const char *fixture_tmpfile(const char *name, const void *data, size_t len)
{
	static char dir[512];
	static char path[1024];
	const char *base = getenv("TMPDIR");
	FILE *f;

	if (!dir[0]) {
		snprintf(dir, sizeof dir, "%s/test_seal.XXXXXX", base && *base ? base : "/tmp");
		if (!mkdtemp(dir)) {
			dir[0] = 0;
			return NULL;
		}
		tmpdir_made = dir;
		atexit(tmpdir_remove);
	}
	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (!(f = fopen(path, "wb")))
		return NULL;
	if (fwrite(data, 1, len, f) != len) {
		fclose(f);
		return NULL;
	}
	return fclose(f) == 0 ? path : NULL;
}

static const char sm2_id[] = "1234567812345678";

static int sm2_run(EVP_PKEY *pk, int sign, sealkit_bytes tbs, unsigned char *sig, size_t *sig_len)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int rc = -1;

	if (!md || !(pctx = EVP_PKEY_CTX_new(pk, NULL)) ||
	    EVP_PKEY_CTX_set1_id(pctx, sm2_id, sizeof sm2_id - 1) <= 0)
		goto out;
	EVP_MD_CTX_set_pkey_ctx(md, pctx);
	if (sign) {
		if (EVP_DigestSignInit(md, NULL, EVP_sm3(), NULL, pk) == 1 &&
		    EVP_DigestSign(md, sig, sig_len, tbs.data, tbs.len) == 1)
			rc = 0;
	} else if (EVP_DigestVerifyInit(md, NULL, EVP_sm3(), NULL, pk) == 1) {
		rc = EVP_DigestVerify(md, sig, *sig_len, tbs.data, tbs.len) == 1;
	}
out:
	EVP_MD_CTX_free(md);
	EVP_PKEY_CTX_free(pctx);
	return rc;
}

int fixture_sm2_verify(sealkit_bytes cert_der, sealkit_bytes tbs, sealkit_bytes sig_der)
{
	const unsigned char *p = cert_der.data;
	X509 *x = d2i_X509(NULL, &p, (long)cert_der.len);
	EVP_PKEY *pk = x ? X509_get0_pubkey(x) : NULL;
	size_t len = sig_der.len;
	int rc = -1;

	if (pk)
		rc = sm2_run(pk, 0, tbs, (unsigned char *)sig_der.data, &len);
	X509_free(x);
	return rc;
}

int fixture_sm2_sign(const char *key_rel, sealkit_bytes tbs, unsigned char **sig, size_t *sig_len)
{
	size_t klen = 0;
	unsigned char *pem = fixture_load(key_rel, &klen);
	BIO *bio = pem ? BIO_new_mem_buf(pem, (int)klen) : NULL;
	EVP_PKEY *pk = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	int rc = -1;

	*sig = NULL;
	*sig_len = 0;
	if (!pk || !(*sig = malloc(80)))
		goto out;
	*sig_len = 80;
	rc = sm2_run(pk, 1, tbs, *sig, sig_len);
out:
	if (rc) {
		free(*sig);
		*sig = NULL;
	}
	EVP_PKEY_free(pk);
	BIO_free(bio);
	free(pem);
	return rc;
}

void fixture_sm3(const void *data, size_t len, unsigned char out[32])
{
	unsigned int n = 32;
	EVP_Digest(data, len, out, &n, EVP_sm3(), NULL);
}
