/* Making seals and stamps with keys on sealkit-pkcs11.so (libsealkit's
 * make.c, certissue.c) and verifying them (verify.c): what we make passes
 * strict verification and `openssl asn1parse`; each kind of damage is
 * caught by the check named for it. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/ts.h>
#include <openssl/pkcs7.h>

#include "harness.h"
#include "pkcs11x.h"
#include "tokensetup.h"
#include "sealkit/make.h"

#define PIN "11223344"
#define TOKEN "make-test"

static char tmpdir[256], docpath[300], uri_maker[400], uri_signer[400], uri_other[400];
static sealkit_signer *maker, *signer, *other;
static unsigned char *ca_cert, *signer_cert, *other_cert, *seal;
static size_t ca_len, signer_len, other_len, seal_len;

static sealkit_signer *open_signer(const char *uri)
{
	sealkit_token_options o = {.pin = PIN};
	sealkit_error err = {0};
	sealkit_signer *s = NULL;
	if (sealkit_signer_open(NULL, uri, &o, &s, &err) != SEALKIT_OK) {
		printf("Bail out! %s: %s\n", uri, err.message);
		exit(99);
	}
	return s;
}

static unsigned char *issue(sealkit_signer *key, const char *dn, sealkit_signer *by,
			    const unsigned char *by_cert, size_t by_len, int ca, size_t *len)
{
	sealkit_cert_request r = {.subject = dn, .days = 30, .ca = ca};
	sealkit_bytes ic = {by_cert, by_len};
	sealkit_error err = {0};
	unsigned char *der = NULL;
	r.subject_spki.data = sealkit_signer_public_key(key, &r.subject_spki.len);
	CU_ASSERT_EQUAL_FATAL(sealkit_cert_issue(&r, by, by_cert ? &ic : NULL, &der, len, &err),
			      SEALKIT_OK);
	return der;
}

static const sealkit_check *find_check(const sealkit_report *r, const char *name)
{
	for (size_t i = 0; i < r->items[0].n_checks; i++)
		if (!strcmp(r->items[0].checks[i].name, name))
			return &r->items[0].checks[i];
	return NULL;
}

static sealkit_check_result result_of(const sealkit_report *r, const char *name)
{
	const sealkit_check *c = find_check(r, name);
	return c ? c->result : (sealkit_check_result)-1;
}

/* The failed checks, "a,b" in report order. */
static const char *failures(const sealkit_report *r)
{
	static char buf[512];
	buf[0] = '\0';
	for (size_t i = 0; i < r->items[0].n_checks; i++)
		if (r->items[0].checks[i].result == SEALKIT_CHECK_FAILED) {
			if (buf[0])
				strcat(buf, ",");
			strncat(buf, r->items[0].checks[i].name, sizeof buf - strlen(buf) - 2);
		}
	return buf;
}

static sealkit_report *verify_stamp(const unsigned char *der, size_t len, const char *doc,
				    unsigned flags, const char *trust)
{
	sealkit_verify_options o = {.flags = flags, .trust_files = &trust, .n_trust = trust ? 1 : 0};
	sealkit_document d = {.path = doc};
	sealkit_report *r = NULL;
	sealkit_error err = {0};
	CU_ASSERT_EQUAL_FATAL(sealkit_verify_stamp(der, len, &d, &o, &r, &err), SEALKIT_OK);
	return r;
}

static int setup(void)
{
	if (!tokensetup_dir(tmpdir, sizeof tmpdir, "sealkit-make"))
		return 1;
	static const char *const keys[] = {"maker", "signer", "other"};
	if (!tokensetup_sm2(TOKEN, PIN, keys, 3))
		harness_skip_all("cannot make a token with SEALKIT_MODULE");
	snprintf(uri_maker, sizeof uri_maker, "pkcs11:token=%s;object=maker;type=private", TOKEN);
	snprintf(uri_signer, sizeof uri_signer, "pkcs11:token=%s;object=signer;type=private", TOKEN);
	snprintf(uri_other, sizeof uri_other, "pkcs11:token=%s;object=other;type=private", TOKEN);
	maker = open_signer(uri_maker);
	signer = open_signer(uri_signer);
	other = open_signer(uri_other);
	/* A document of 1 MB and a bit. */
	snprintf(docpath, sizeof docpath, "%s/document.bin", tmpdir);
	size_t n = (1u << 20) + 77;
	unsigned char *doc = malloc(n);
	for (size_t i = 0; i < n; i++)
		doc[i] = (unsigned char)(i * 131 + (i >> 9));
	bool ok = tokensetup_spit(docpath, doc, n);
	free(doc);
	return ok ? 0 : 1;
}

static int teardown(void)
{
	sealkit_signer_free(maker);
	sealkit_signer_free(signer);
	sealkit_signer_free(other);
	free(ca_cert);
	free(signer_cert);
	free(other_cert);
	free(seal);
	char cmd[400];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return getenv("KEEP") ? 0 : (system(cmd) == 0 ? 0 : 1);
}

static void test_certificates(void)
{
	ca_cert = issue(maker, "/C=CN/O=sealkit test/CN=Seal Maker CA", maker, NULL, 0, 1, &ca_len);
	signer_cert = issue(signer, "/C=CN/O=sealkit test/CN=张三", maker, ca_cert, ca_len, 0,
			    &signer_len);
	other_cert = issue(other, "/C=CN/O=sealkit test/CN=Other", maker, ca_cert, ca_len, 0,
			   &other_len);
	/* OpenSSL reads them and checks their SM2 signatures itself. */
	const unsigned char *p = ca_cert;
	X509 *ca = d2i_X509(NULL, &p, (long)ca_len);
	p = signer_cert;
	X509 *ee = d2i_X509(NULL, &p, (long)signer_len);
	CU_ASSERT_FATAL(ca && ee);
	/* OpenSSL 3.0 needs the SM2 ID set to check an SM2 certificate. */
	ASN1_OCTET_STRING *id1 = ASN1_OCTET_STRING_new(), *id2 = ASN1_OCTET_STRING_new();
	ASN1_OCTET_STRING_set(id1, (const unsigned char *)"1234567812345678", 16);
	ASN1_OCTET_STRING_set(id2, (const unsigned char *)"1234567812345678", 16);
	X509_set0_distinguishing_id(ca, id1);
	X509_set0_distinguishing_id(ee, id2);
	CU_ASSERT_EQUAL(X509_verify(ca, X509_get0_pubkey(ca)), 1);
	CU_ASSERT_EQUAL(X509_verify(ee, X509_get0_pubkey(ca)), 1);
	CU_ASSERT_EQUAL(X509_verify(ee, X509_get0_pubkey(ee)), 0);
	CU_ASSERT_EQUAL(X509_check_issued(ca, ee), X509_V_OK);
	X509_free(ca);
	X509_free(ee);
	char path[400];
	snprintf(path, sizeof path, "%s/ca.der", tmpdir);
	CU_ASSERT(tokensetup_spit(path, ca_cert, ca_len));
}

static void test_seal(void)
{
	static const unsigned char png[] = "\x89PNG\r\n\x1a\nnot really a picture";
	sealkit_bytes certs[] = {{signer_cert, signer_len}};
	sealkit_seal_fields f = {
		.vid = "sealkit", .es_id = "TEST-0001", .type = 1, .name = "测试有限公司合同专用章",
		.cert_list_type = SEALKIT_CERT_LIST_CERTS, .certs = certs, .n_certs = 1,
		.create_date = time(NULL), .valid_start = time(NULL) - 60,
		.valid_end = time(NULL) + 86400 * 20, .picture_type = "PNG",
		.picture = {png, sizeof png - 1}, .width = 40, .height = 40};
	sealkit_bytes mc = {ca_cert, ca_len};
	sealkit_error err = {0};
	CU_ASSERT_EQUAL_FATAL(sealkit_seal_make(&f, maker, &mc, &seal, &seal_len, &err), SEALKIT_OK);

	/* The maker's certificate must be the maker's. */
	unsigned char *bad = NULL;
	size_t bad_len;
	sealkit_bytes wrong = {signer_cert, signer_len};
	CU_ASSERT_EQUAL(sealkit_seal_make(&f, maker, &wrong, &bad, &bad_len, &err), SEALKIT_ERR_ARGS);
	CU_ASSERT_PTR_NULL(bad);

	char trust[400];
	snprintf(trust, sizeof trust, "%s/ca.der", tmpdir);
	const char *t = trust;
	sealkit_verify_options o = {.flags = SEALKIT_VERIFY_STRICT, .trust_files = &t, .n_trust = 1};
	sealkit_report *r = NULL;
	CU_ASSERT_EQUAL_FATAL(sealkit_verify_seal(seal, seal_len, &o, &r, &err), SEALKIT_OK);
	CU_ASSERT(r->valid);
	CU_ASSERT_STRING_EQUAL(r->items[0].version, "V4");
	CU_ASSERT_EQUAL(result_of(r, "seal-maker-signature"), SEALKIT_CHECK_PASSED);
	CU_ASSERT_EQUAL(result_of(r, "maker-cert-chain"), SEALKIT_CHECK_PASSED);
	CU_ASSERT_EQUAL(result_of(r, "encoding"), SEALKIT_CHECK_PASSED);
	sealkit_report_free(r);

	/* One byte of the seal's name changed: the maker signature fails. */
	unsigned char *copy = malloc(seal_len);
	memcpy(copy, seal, seal_len);
	unsigned char *hit = memmem(copy, seal_len, "测试", strlen("测试"));
	CU_ASSERT_FATAL(hit != NULL);
	hit[1] ^= 1;
	CU_ASSERT_EQUAL(sealkit_verify_seal(copy, seal_len, NULL, &r, &err), SEALKIT_OK);
	CU_ASSERT(!r->valid);
	CU_ASSERT_STRING_EQUAL(failures(r), "seal-maker-signature");
	sealkit_report_free(r);
	free(copy);

	/* openssl asn1parse reads it. */
	char path[400], cmd[600];
	snprintf(path, sizeof path, "%s/seal.esl", tmpdir);
	CU_ASSERT(tokensetup_spit(path, seal, seal_len));
	snprintf(cmd, sizeof cmd, "openssl asn1parse -inform DER -in '%s' >/dev/null 2>&1", path);
	CU_ASSERT_EQUAL(system(cmd), 0);
}

static void test_stamp(void)
{
	sealkit_stamp_request q = {.seal = {seal, seal_len}, .document = {.path = docpath}};
	sealkit_bytes sc = {signer_cert, signer_len};
	unsigned char *der = NULL;
	size_t len;
	sealkit_error err = {0};
	CU_ASSERT_FATAL(seal != NULL);
	CU_ASSERT_EQUAL_FATAL(sealkit_stamp_make(&q, signer, &sc, &der, &len, &err), SEALKIT_OK);

	char trust[400];
	snprintf(trust, sizeof trust, "%s/ca.der", tmpdir);
	sealkit_report *r = verify_stamp(der, len, docpath, SEALKIT_VERIFY_STRICT, trust);
	CU_ASSERT(r->valid);
	if (!r->valid)
		fprintf(stderr, "failed: %s\n", failures(r));
	static const char *const all[] = {"structure", "encoding", "seal-maker-signature",
					  "seal-cert-list", "stamp-signature", "signer-in-seal",
					  "data-hash", "signing-time-in-seal-validity",
					  "signing-time-in-cert-validity", "signer-cert-chain"};
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		CU_ASSERT_EQUAL(result_of(r, all[i]), SEALKIT_CHECK_PASSED);
	CU_ASSERT_EQUAL(result_of(r, "timestamp"), SEALKIT_CHECK_NA);
	char *json = sealkit_report_json(r);
	CU_ASSERT(json && strstr(json, "\"valid\": true") && strstr(json, "\"name\": \"data-hash\""));
	free(json);
	sealkit_report_free(r);

	/* The document changed by one byte: only data-hash fails. */
	char changed[400];
	snprintf(changed, sizeof changed, "%s/changed.bin", tmpdir);
	FILE *in = fopen(docpath, "rb");
	unsigned char *buf = malloc(2u << 20);
	size_t n = fread(buf, 1, 2u << 20, in);
	fclose(in);
	buf[n / 2] ^= 0x40;
	CU_ASSERT(tokensetup_spit(changed, buf, n));
	free(buf);
	r = verify_stamp(der, len, changed, 0, NULL);
	CU_ASSERT(!r->valid);
	CU_ASSERT_STRING_EQUAL(failures(r), "data-hash");
	sealkit_report_free(r);

	/* Trusting another CA: the chains fail, nothing else. */
	size_t olen;
	unsigned char *oca = issue(other, "/C=CN/O=elsewhere/CN=Other CA", other, NULL, 0, 1, &olen);
	char opath[400];
	snprintf(opath, sizeof opath, "%s/other-ca.der", tmpdir);
	CU_ASSERT(tokensetup_spit(opath, oca, olen));
	free(oca);
	r = verify_stamp(der, len, docpath, 0, opath);
	CU_ASSERT_STRING_EQUAL(failures(r), "maker-cert-chain,signer-cert-chain");
	sealkit_report_free(r);

	/* A trust file that holds no certificate is an error, not a verdict. */
	const char *notcert = docpath;
	sealkit_verify_options o = {.trust_files = &notcert, .n_trust = 1};
	sealkit_document d = {.path = docpath};
	CU_ASSERT_EQUAL(sealkit_verify_stamp(der, len, &d, &o, &r, &err), SEALKIT_ERR_FORMAT);
	CU_ASSERT_PTR_NULL(r);
	free(der);
}

/* sealkit_cert_issue_with_key: a CA whose key is in a file (PEM/DER). */
static X509 *parse_with_id(const unsigned char *der, size_t len, const char *id)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	if (!x || !id)
		return x;
	ASN1_OCTET_STRING *o = ASN1_OCTET_STRING_new();
	if (!o)
		return x;
	ASN1_OCTET_STRING_set(o, (const unsigned char *)id, (int)strlen(id));
	X509_set0_distinguishing_id(x, o);
	return x;
}

static unsigned char *issue_with_key(const unsigned char *spki, size_t spki_len, const char *dn,
				     const sealkit_bytes *key, const sealkit_bytes *by_cert,
				     int ca, size_t *len, sealkit_status want)
{
	sealkit_cert_request r = {.subject = dn, .days = 30, .ca = ca, .subject_spki = {spki, spki_len}};
	sealkit_error err = {0};
	unsigned char *der = NULL;
	CU_ASSERT_EQUAL(sealkit_cert_issue_with_key(&r, key, by_cert, &der, len, &err), want);
	if (want != SEALKIT_OK) {
		CU_ASSERT_PTR_NULL(der);
		CU_ASSERT(err.message[0] != '\0');
	}
	return der;
}

static void test_certificates_key_file(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	CU_ASSERT_FATAL(k && ec);
	BIO *b = BIO_new(BIO_s_mem());
	CU_ASSERT_FATAL(PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) == 1);
	char *pem;
	long pem_len = BIO_get_mem_data(b, &pem);
	sealkit_bytes key = {(const unsigned char *)pem, (size_t)pem_len};
	unsigned char *spki = NULL, *kder = NULL, *ecspki = NULL, *ecder = NULL;
	int spki_len = i2d_PUBKEY(k, &spki), kder_len = i2d_PrivateKey(k, &kder);
	int ecspki_len = i2d_PUBKEY(ec, &ecspki), ecder_len = i2d_PrivateKey(ec, &ecder);
	CU_ASSERT_FATAL(spki_len > 0 && kder_len > 0 && ecspki_len > 0 && ecder_len > 0);

	/* Self-signed CA from the PEM key, then the token signer's certificate. */
	size_t ca_l = 0, ee_l = 0, ee2_l = 0;
	unsigned char *ca = issue_with_key(spki, (size_t)spki_len, "/C=CN/O=file/CN=File CA", &key,
					   NULL, 1, &ca_l, SEALKIT_OK);
	CU_ASSERT_FATAL(ca != NULL);
	sealkit_bytes cab = {ca, ca_l};
	size_t sp_len;
	const unsigned char *sp = sealkit_signer_public_key(signer, &sp_len);
	unsigned char *ee = issue_with_key(sp, sp_len, "/CN=张三", &key, &cab, 0, &ee_l, SEALKIT_OK);
	/* DER keys too. */
	sealkit_bytes kd = {kder, (size_t)kder_len};
	unsigned char *ee2 = issue_with_key(sp, sp_len, "/CN=DER", &kd, &cab, 0, &ee2_l, SEALKIT_OK);
	CU_ASSERT_FATAL(ee && ee2);
	/* SM2-with-SM3 under the ID 1234567812345678, and no other ID. */
	X509 *xca = parse_with_id(ca, ca_l, "1234567812345678");
	X509 *xee = parse_with_id(ee, ee_l, "1234567812345678");
	X509 *xee2 = parse_with_id(ee2, ee2_l, "1234567812345678");
	X509 *xbad = parse_with_id(ee, ee_l, "1234567812345679");
	CU_ASSERT_FATAL(xca && xee && xee2 && xbad);
	CU_ASSERT_EQUAL(X509_get_signature_nid(xee), NID_SM2_with_SM3);
	CU_ASSERT_EQUAL(X509_verify(xca, X509_get0_pubkey(xca)), 1);
	CU_ASSERT_EQUAL(X509_verify(xee, X509_get0_pubkey(xca)), 1);
	CU_ASSERT_EQUAL(X509_verify(xee2, X509_get0_pubkey(xca)), 1);
	CU_ASSERT_NOT_EQUAL(X509_verify(xbad, X509_get0_pubkey(xca)), 1);
	CU_ASSERT_EQUAL(X509_check_issued(xca, xee), X509_V_OK);
	CU_ASSERT_EQUAL(X509_check_ca(xca), 1);
	CU_ASSERT_EQUAL(X509_check_ca(xee), 0);
	X509_free(xca);
	X509_free(xee);
	X509_free(xee2);
	X509_free(xbad);

	/* EC keys sign ECDSA-with-SHA256. */
	size_t ecca_l = 0;
	sealkit_bytes eck = {ecder, (size_t)ecder_len};
	unsigned char *ecca = issue_with_key(ecspki, (size_t)ecspki_len, "/CN=EC CA", &eck, NULL,
					     1, &ecca_l, SEALKIT_OK);
	X509 *xec = ecca ? parse_with_id(ecca, ecca_l, NULL) : NULL;
	CU_ASSERT_FATAL(xec != NULL);
	CU_ASSERT_EQUAL(X509_get_signature_nid(xec), NID_ecdsa_with_SHA256);
	CU_ASSERT_EQUAL(X509_verify(xec, ec), 1);
	X509_free(xec);

	/* Refused: a key that is not the CA certificate's, a self-signed
	 * certificate for another key, a file that holds no key. */
	size_t l;
	issue_with_key(sp, sp_len, "/CN=x", &eck, &cab, 0, &l, SEALKIT_ERR_ARGS);
	issue_with_key(sp, sp_len, "/CN=x", &key, NULL, 1, &l, SEALKIT_ERR_ARGS);
	sealkit_bytes junk = {(const unsigned char *)"-----BEGIN NOTHING-----\n", 24};
	issue_with_key(sp, sp_len, "/CN=x", &junk, &cab, 0, &l, SEALKIT_ERR_FORMAT);

	free(ca);
	free(ee);
	free(ee2);
	free(ecca);
	OPENSSL_free(spki);
	OPENSSL_free(kder);
	OPENSSL_free(ecspki);
	OPENSSL_free(ecder);
	BIO_free(b);
	EVP_PKEY_free(k);
	EVP_PKEY_free(ec);
}

/* Progress callbacks of stamping and of verifying data-hash. */
typedef struct progress_seen {
	int calls;
	uint64_t last_done, last_total;
	bool monotonic;
} progress_seen;

static void on_progress(void *data, uint64_t done, uint64_t total)
{
	progress_seen *p = data;
	if (done < p->last_done)
		p->monotonic = false;
	p->calls++;
	p->last_done = done;
	p->last_total = total;
}

static void test_progress(void)
{
	struct stat sb;
	CU_ASSERT_FATAL(stat(docpath, &sb) == 0 && seal != NULL);
	progress_seen made = {.monotonic = true}, checked = {.monotonic = true};
	sealkit_stamp_request q = {.seal = {seal, seal_len},
				   .document = {.path = docpath},
				   .progress = on_progress,
				   .progress_data = &made};
	sealkit_bytes sc = {signer_cert, signer_len};
	unsigned char *der = NULL;
	size_t len;
	sealkit_error err = {0};
	CU_ASSERT_EQUAL_FATAL(sealkit_stamp_make(&q, signer, &sc, &der, &len, &err), SEALKIT_OK);
	CU_ASSERT(made.calls >= 1 && made.monotonic);
	CU_ASSERT_EQUAL(made.last_done, (uint64_t)sb.st_size);
	CU_ASSERT_EQUAL(made.last_total, (uint64_t)sb.st_size);

	sealkit_verify_options o = {.progress = on_progress, .progress_data = &checked};
	sealkit_document d = {.path = docpath};
	sealkit_report *r = NULL;
	CU_ASSERT_EQUAL_FATAL(sealkit_verify_stamp(der, len, &d, &o, &r, &err), SEALKIT_OK);
	CU_ASSERT(r->valid);
	CU_ASSERT(checked.calls >= 1 && checked.monotonic);
	CU_ASSERT_EQUAL(checked.last_done, (uint64_t)sb.st_size);
	CU_ASSERT_EQUAL(checked.last_total, (uint64_t)sb.st_size);
	sealkit_report_free(r);
	/* No document: no hashing, no calls. */
	checked.calls = 0;
	CU_ASSERT_EQUAL_FATAL(sealkit_verify_stamp(der, len, NULL, &o, &r, &err), SEALKIT_OK);
	CU_ASSERT_EQUAL(checked.calls, 0);
	sealkit_report_free(r);
	free(der);
}

static void test_refusals(void)
{
	sealkit_stamp_request q = {.seal = {seal, seal_len}, .document = {.path = docpath}};
	sealkit_bytes oc = {other_cert, other_len}, sc = {signer_cert, signer_len};
	unsigned char *der = NULL;
	size_t len;
	sealkit_error err = {0};
	/* A signer the seal does not list. */
	CU_ASSERT_EQUAL(sealkit_stamp_make(&q, other, &oc, &der, &len, &err), SEALKIT_ERR_ARGS);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "not listed in seal"));
	/* A certificate that is not the key's. */
	CU_ASSERT_EQUAL(sealkit_stamp_make(&q, other, &sc, &der, &len, &err), SEALKIT_ERR_ARGS);
	/* A missing document. */
	q.document.path = "/nonexistent/doc";
	CU_ASSERT_EQUAL(sealkit_stamp_make(&q, signer, &sc, &der, &len, &err),
			SEALKIT_ERR_NOT_FOUND);
	CU_ASSERT_PTR_NULL(der);
}

/* The stamp's signature under a wrong algorithm OID (easyofd's signedData
 * OID): fails by default, passes with a warning when lenient. */
static void test_lenient(void)
{
	sealkit_stamp_request q = {.seal = {seal, seal_len}, .document = {.path = docpath}};
	sealkit_bytes sc = {signer_cert, signer_len};
	unsigned char *der = NULL, *relabelled = NULL;
	size_t len, rlen;
	sealkit_error err = {0};
	sealkit_stamp *st = NULL;
	CU_ASSERT_EQUAL_FATAL(sealkit_stamp_make(&q, signer, &sc, &der, &len, &err), SEALKIT_OK);
	CU_ASSERT_EQUAL_FATAL(sealkit_stamp_parse(der, len, 0, &st, NULL, &err), SEALKIT_OK);
	CU_ASSERT_EQUAL_FATAL(sealkit_stamp_assemble(st->tbs, st->signer_cert,
						     SEALKIT_OID_GM_SIGNED_DATA, st->sig.value, NULL,
						     &relabelled, &rlen, &err),
			      SEALKIT_OK);
	sealkit_report *r = verify_stamp(relabelled, rlen, docpath, 0, NULL);
	CU_ASSERT(!r->valid);
	CU_ASSERT_STRING_EQUAL(failures(r), "stamp-signature");
	sealkit_report_free(r);
	r = verify_stamp(relabelled, rlen, docpath, SEALKIT_VERIFY_LENIENT, NULL);
	CU_ASSERT(r->valid);
	CU_ASSERT(r->items[0].warnings.count > 0);
	sealkit_report_free(r);
	sealkit_stamp_free(st);
	free(der);
	free(relabelled);
}

/* A seal listing SM3 digests of signer certificates, not the certificates. */
static void test_digest_list(void)
{
	unsigned char md[32];
	unsigned n;
	EVP_Digest(signer_cert, signer_len, md, &n, EVP_sm3(), NULL);
	sealkit_cert_digest d = {"sm3", {md, n}};
	sealkit_seal_fields f = {.vid = "sealkit", .es_id = "TEST-0002", .type = 2, .name = "张三",
				 .cert_list_type = SEALKIT_CERT_LIST_DIGESTS, .digests = &d,
				 .n_digests = 1, .create_date = time(NULL),
				 .valid_start = time(NULL) - 60, .valid_end = time(NULL) + 86400,
				 .picture_type = "PNG", .picture = {md, 8}, .width = 20, .height = 20};
	sealkit_bytes mc = {ca_cert, ca_len}, sc = {signer_cert, signer_len};
	unsigned char *dseal = NULL, *der = NULL;
	size_t dlen, len;
	sealkit_error err = {0};
	CU_ASSERT_EQUAL_FATAL(sealkit_seal_make(&f, maker, &mc, &dseal, &dlen, &err), SEALKIT_OK);
	sealkit_stamp_request q = {.seal = {dseal, dlen}, .document = {.data = "abc", .len = 3}};
	CU_ASSERT_EQUAL_FATAL(sealkit_stamp_make(&q, signer, &sc, &der, &len, &err), SEALKIT_OK);
	sealkit_verify_options o = {.flags = SEALKIT_VERIFY_STRICT};
	sealkit_document doc = {.data = "abc", .len = 3};
	sealkit_report *r = NULL;
	CU_ASSERT_EQUAL_FATAL(sealkit_verify_stamp(der, len, &doc, &o, &r, &err), SEALKIT_OK);
	CU_ASSERT(r->valid);
	CU_ASSERT_EQUAL(result_of(r, "signer-in-seal"), SEALKIT_CHECK_PASSED);
	sealkit_report_free(r);
	free(dseal);
	free(der);
}

/* SoftHSMv2 has no SM2: with an EC P-256 key the same structures come out
 * signed with ECDSA-with-SHA256, which verification flags as not a GB/T
 * 38540 algorithm (a warning by default, a failure in strict mode). */
static void test_softhsm_ecdsa(void)
{
	static const char *so = "/usr/lib/softhsm/libsofthsm2.so";
	static const char *const keys[] = {"ec"};
	char conf[400], tokdir[400], uri[600];
	if (access(so, R_OK) != 0) {
		fprintf(stderr, "SoftHSMv2 not installed: skipped\n");
		return;
	}
	snprintf(tokdir, sizeof tokdir, "%s/softhsm", tmpdir);
	snprintf(conf, sizeof conf, "%s/softhsm2.conf", tmpdir);
	mkdir(tokdir, 0700);
	char text[500];
	snprintf(text, sizeof text, "directories.tokendir = %s\nobjectstore.backend = file\n", tokdir);
	CU_ASSERT_FATAL(tokensetup_spit(conf, text, strlen(text)));
	setenv("SOFTHSM2_CONF", conf, 1);
	CU_ASSERT_FATAL(tokensetup(so, "softhsm-ec", PIN, keys, 1, false));

	snprintf(uri, sizeof uri, "pkcs11:token=softhsm-ec;object=ec;type=private?module-path=%s", so);
	sealkit_token_options o = {.pin = PIN};
	sealkit_signer *ec = NULL;
	sealkit_error err = {0};
	CU_ASSERT_EQUAL_FATAL(sealkit_signer_open(NULL, uri, &o, &ec, &err), SEALKIT_OK);
	size_t clen;
	unsigned char *cert = issue(ec, "/CN=ECDSA test", ec, NULL, 0, 1, &clen);
	sealkit_bytes cb = {cert, clen};
	sealkit_seal_fields f = {.vid = "sealkit", .es_id = "EC-1", .type = 1, .name = "EC",
				 .cert_list_type = SEALKIT_CERT_LIST_CERTS, .certs = &cb, .n_certs = 1,
				 .create_date = time(NULL), .valid_start = time(NULL) - 60,
				 .valid_end = time(NULL) + 86400, .picture_type = "PNG",
				 .picture = {cert, 8}, .width = 40, .height = 40};
	unsigned char *eseal = NULL, *stamp = NULL;
	size_t elen, slen;
	CU_ASSERT_EQUAL_FATAL(sealkit_seal_make(&f, ec, &cb, &eseal, &elen, &err), SEALKIT_OK);
	sealkit_stamp_request q = {.seal = {eseal, elen}, .document = {.path = docpath}};
	CU_ASSERT_EQUAL_FATAL(sealkit_stamp_make(&q, ec, &cb, &stamp, &slen, &err), SEALKIT_OK);

	sealkit_report *r = verify_stamp(stamp, slen, docpath, 0, NULL);
	CU_ASSERT(r->valid);
	CU_ASSERT(r->items[0].warnings.count >= 2);
	const sealkit_check *c = find_check(r, "stamp-signature");
	CU_ASSERT(c && strstr(c->detail, "not a GB/T 38540 algorithm"));
	sealkit_report_free(r);
	r = verify_stamp(stamp, slen, docpath, SEALKIT_VERIFY_STRICT, NULL);
	CU_ASSERT(!r->valid);
	CU_ASSERT_STRING_EQUAL(failures(r), "seal-maker-signature,stamp-signature");
	sealkit_report_free(r);
	sealkit_signer_free(ec);
	free(cert);
	free(eseal);
	free(stamp);
}

/* ---- a time-stamping authority of our own (OpenSSL's TS code) ---- */

static EVP_PKEY *tsa_key;
static X509 *tsa_cert;

static void make_tsa(void)
{
	tsa_key = EVP_EC_gen("P-256");
	tsa_cert = X509_new();
	X509_set_version(tsa_cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(tsa_cert), 7);
	X509_NAME *n = X509_get_subject_name(tsa_cert);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"test TSA", -1, -1, 0);
	X509_set_issuer_name(tsa_cert, n);
	X509_gmtime_adj(X509_getm_notBefore(tsa_cert), -60);
	X509_gmtime_adj(X509_getm_notAfter(tsa_cert), 86400);
	X509_set_pubkey(tsa_cert, tsa_key);
	X509V3_CTX c;
	X509V3_set_ctx(&c, tsa_cert, tsa_cert, NULL, NULL, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &c, NID_ext_key_usage, "critical,timeStamping");
	X509_add_ext(tsa_cert, e, -1);
	X509_EXTENSION_free(e);
	X509_sign(tsa_cert, tsa_key, EVP_sha256());
}

/* A TimeStampToken over SHA-256 of `what` (the stamp's signature value). */
static int tsa_token(void *data, const unsigned char *what, size_t len, unsigned char **token,
		     size_t *token_len)
{
	int tamper = data != NULL;
	unsigned char h[32];
	unsigned hl;
	EVP_Digest(what, len, h, &hl, EVP_sha256(), NULL);
	h[0] ^= (unsigned char)tamper;
	TS_REQ *req = TS_REQ_new();
	TS_MSG_IMPRINT *mi = TS_MSG_IMPRINT_new();
	X509_ALGOR *alg = X509_ALGOR_new();
	X509_ALGOR_set0(alg, OBJ_nid2obj(NID_sha256), V_ASN1_NULL, NULL);
	TS_MSG_IMPRINT_set_algo(mi, alg);
	TS_MSG_IMPRINT_set_msg(mi, h, (int)hl);
	TS_REQ_set_version(req, 1);
	TS_REQ_set_msg_imprint(req, mi);
	BIO *b = BIO_new(BIO_s_mem());
	i2d_TS_REQ_bio(b, req);
	TS_RESP_CTX *ctx = TS_RESP_CTX_new();
	TS_RESP_CTX_set_signer_cert(ctx, tsa_cert);
	TS_RESP_CTX_set_signer_key(ctx, tsa_key);
	ASN1_OBJECT *policy = OBJ_txt2obj("1.2.3.4.1", 1);
	TS_RESP_CTX_set_def_policy(ctx, policy);
	ASN1_OBJECT_free(policy);
	TS_RESP_CTX_add_md(ctx, EVP_sha256());
	TS_RESP *resp = TS_RESP_create_response(ctx, b);
	PKCS7 *p7 = resp ? TS_RESP_get_token(resp) : NULL;
	unsigned char *der = NULL;
	int n = p7 ? i2d_PKCS7(p7, &der) : -1;
	if (n > 0) {
		*token = malloc((size_t)n);
		memcpy(*token, der, (size_t)n);
		*token_len = (size_t)n;
	}
	OPENSSL_free(der);
	TS_RESP_free(resp);
	TS_RESP_CTX_free(ctx);
	BIO_free(b);
	TS_REQ_free(req);
	TS_MSG_IMPRINT_free(mi);
	X509_ALGOR_free(alg);
	return n > 0 ? 0 : 1;
}

/* A stamp carrying a time-stamp token: its imprint is checked against the
 * signature value; a token over something else fails that check alone. */
static void test_timestamp(void)
{
	make_tsa();
	sealkit_bytes sc = {signer_cert, signer_len};
	sealkit_error err = {0};
	for (int tamper = 0; tamper < 2; tamper++) {
		sealkit_stamp_request q = {.seal = {seal, seal_len},
					   .document = {.path = docpath},
					   .timestamp = tsa_token,
					   .timestamp_data = tamper ? (void *)1 : NULL};
		unsigned char *der = NULL;
		size_t len;
		CU_ASSERT_EQUAL_FATAL(sealkit_stamp_make(&q, signer, &sc, &der, &len, &err), SEALKIT_OK);
		sealkit_report *r = verify_stamp(der, len, docpath, SEALKIT_VERIFY_STRICT, NULL);
		CU_ASSERT_EQUAL(result_of(r, "timestamp"),
				tamper ? SEALKIT_CHECK_FAILED : SEALKIT_CHECK_PASSED);
		CU_ASSERT_EQUAL(r->valid, !tamper);
		if (tamper)
			CU_ASSERT_STRING_EQUAL(failures(r), "timestamp");
		sealkit_report_free(r);
		free(der);
	}
	EVP_PKEY_free(tsa_key);
	X509_free(tsa_cert);
}

void register_tests(void)
{
	if (!getenv("SEALKIT_MODULE"))
		harness_skip_all("SEALKIT_MODULE not set");
	CU_pSuite s = harness_suite("make and verify", setup, teardown);
	harness_test(s, "certificates issued on the token", test_certificates);
	harness_test(s, "seal: strict, chains, tamper, asn1parse", test_seal);
	harness_test(s, "stamp of a 1 MB file: strict, changed document", test_stamp);
	harness_test(s, "certificates issued with a CA key file", test_certificates_key_file);
	harness_test(s, "progress of hashing: stamp and data-hash", test_progress);
	harness_test(s, "refused stamps", test_refusals);
	harness_test(s, "wrong algorithm OID: default vs lenient", test_lenient);
	harness_test(s, "seal with a certificate digest list", test_digest_list);
	harness_test(s, "RFC 3161 time-stamp token imprint", test_timestamp);
	harness_test(s, "SoftHSMv2: ECDSA seals, flagged as not GB/T 38540", test_softhsm_ecdsa);
}
