/* Stamping and verifying a large OFD document against the floor: SM3 over
 * the package's bytes alone. The document is a one-page text OFD with a
 * large incompressible image resource (as a scanned page would be), made in
 * a child process so that its making does not count in our peak memory.
 * Usage: SEALKIT_MODULE=.../sealkit-pkcs11.so bench_ofd [--megabytes N] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zip.h>
#include <openssl/evp.h>

#include "sealkit/make.h"
#include "sealkit/ofd.h"
#include "tokensetup.h"

#define PIN "11223344"

static char dir[256];

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const sealkit_error *err)
{
	fprintf(stderr, "bench_ofd: %s: %s\n", what, err ? err->message : "failed");
	exit(1);
}

static double peak_mb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss / 1024.0;
}

static sealkit_signer *open_key(const char *name)
{
	char uri[200];
	sealkit_token_options o = {.pin = PIN};
	sealkit_error err = {0};
	sealkit_signer *s = NULL;
	snprintf(uri, sizeof uri, "pkcs11:token=bench-ofd;object=%s;type=private", name);
	if (sealkit_signer_open(NULL, uri, &o, &s, &err) != SEALKIT_OK)
		die(uri, &err);
	return s;
}

/* The document: text OFD plus `mb` MB of pseudo-random "image" (deflated,
 * as writers store images), written by a child process. */
static void make_document(const char *path, unsigned mb)
{
	pid_t pid = fork();
	int status = 1;
	if (pid == 0) {
		char raw[300];
		sealkit_error err = {0};
		int ze;
		if (sealkit_ofd_make_text(path, "A large scanned document\n", &err) != SEALKIT_OK)
			die("make text", &err);
		snprintf(raw, sizeof raw, "%s/image.bin", dir);
		FILE *f = fopen(raw, "wb");
		unsigned char *chunk = malloc(1u << 20);
		unsigned long long x = 88172645463325252ull;
		for (unsigned i = 0; f && chunk && i < mb; i++) {
			for (size_t k = 0; k < (1u << 20); k += 8) {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				memcpy(chunk + k, &x, 8);
			}
			if (fwrite(chunk, 1, 1u << 20, f) != 1u << 20)
				_exit(1);
		}
		free(chunk);
		if (!f || fclose(f))
			_exit(1);
		zip_t *z = zip_open(path, 0, &ze);
		zip_source_t *s = z ? zip_source_file(z, raw, 0, -1) : NULL;
		if (!s || zip_file_add(z, "Doc_0/Res/image_0.png", s, 0) < 0 || zip_close(z))
			_exit(1);
		unlink(raw);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || status != 0)
		die("making the document", NULL);
}

/* The floor: SM3 of every byte of the file. */
static double sm3_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	EVP_MD_CTX *h = EVP_MD_CTX_new();
	EVP_MD *sm3 = EVP_MD_fetch(NULL, "SM3", NULL);
	unsigned char *buf = malloc(1u << 20), md[32];
	size_t got;
	double t0 = now();
	if (!f || !h || !sm3 || !buf || !EVP_DigestInit_ex(h, sm3, NULL))
		die("SM3", NULL);
	while ((got = fread(buf, 1, 1u << 20, f)) > 0)
		EVP_DigestUpdate(h, buf, got);
	EVP_DigestFinal_ex(h, md, NULL);
	double t = now() - t0;
	fclose(f);
	free(buf);
	EVP_MD_free(sm3);
	EVP_MD_CTX_free(h);
	return t;
}

int main(int argc, char **argv)
{
	unsigned mb = 100;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--megabytes") && i + 1 < argc)
			mb = (unsigned)atoi(argv[++i]);
	if (!tokensetup_dir(dir, sizeof dir, "sealkit-bench-ofd"))
		die("temporary token directory", NULL);
	char in[700], out[700];
	snprintf(in, sizeof in, "%s/big.ofd", dir);
	snprintf(out, sizeof out, "%s/big-stamped.ofd", dir);

	make_document(in, mb);
	static const char *const keys[] = {"maker", "signer"};
	if (!tokensetup_sm2("bench-ofd", PIN, keys, 2))
		die("token", NULL);
	sealkit_signer *maker = open_key("maker"), *signer = open_key("signer");
	sealkit_cert_request cr = {.subject = "/C=CN/O=bench/CN=CA", .days = 30, .ca = 1};
	sealkit_error err = {0};
	unsigned char *ca = NULL, *cert = NULL, *seal = NULL;
	size_t ca_len, cert_len, seal_len;
	cr.subject_spki.data = sealkit_signer_public_key(maker, &cr.subject_spki.len);
	if (sealkit_cert_issue(&cr, maker, NULL, &ca, &ca_len, &err))
		die("CA", &err);
	sealkit_bytes cab = {ca, ca_len};
	cr = (sealkit_cert_request){.subject = "/C=CN/O=bench/CN=Signer", .days = 30};
	cr.subject_spki.data = sealkit_signer_public_key(signer, &cr.subject_spki.len);
	if (sealkit_cert_issue(&cr, maker, &cab, &cert, &cert_len, &err))
		die("certificate", &err);
	sealkit_bytes certs[] = {{cert, cert_len}};
	static const unsigned char png[] = "\x89PNG\r\n\x1a\nbench";
	time_t t = time(NULL);
	sealkit_seal_fields f = {.vid = "bench",
				 .es_id = "BENCH",
				 .type = 1,
				 .name = "bench",
				 .cert_list_type = SEALKIT_CERT_LIST_CERTS,
				 .certs = certs,
				 .n_certs = 1,
				 .create_date = t,
				 .valid_start = t - 60,
				 .valid_end = t + 86400,
				 .picture_type = "PNG",
				 .picture = {png, sizeof png - 1},
				 .width = 40,
				 .height = 40};
	if (sealkit_seal_make(&f, maker, &cab, &seal, &seal_len, &err))
		die("seal", &err);

	struct stat st;
	stat(in, &st);
	double base_rss = peak_mb();
	double floor_s = sm3_file(in);
	sealkit_bytes sc = {cert, cert_len};
	sealkit_ofd_stamp_options o = {.seal = {seal, seal_len}, .signer_cert = &sc};
	double t0 = now();
	if (sealkit_ofd_stamp(in, out, &o, signer, &err))
		die("stamp", &err);
	double stamp_s = now() - t0;
	double stamp_rss = peak_mb();
	sealkit_report *r = NULL;
	t0 = now();
	if (sealkit_verify_ofd(out, NULL, &r, &err))
		die("verify", &err);
	double verify_s = now() - t0;
	int valid = r->valid;
	sealkit_report_free(r);
	double verify_rss = peak_mb();

	printf("OFD of %.1f MB (%u MB image resource, deflated)\n", st.st_size / 1048576.0, mb);
	printf("  floor: SM3 of the package bytes   %7.3f s  (%.0f MB/s)\n", floor_s,
	       st.st_size / 1048576.0 / floor_s);
	printf("  stamp (hash, sign, copy, fsync)   %7.3f s  %.2fx the floor\n", stamp_s,
	       stamp_s / floor_s);
	printf("  verify (every reference + stamp)  %7.3f s  %.2fx the floor  (%s)\n", verify_s,
	       verify_s / floor_s, valid ? "VALID" : "INVALID");
	printf("  peak RSS: %.1f MB before, %.1f MB after stamping, %.1f MB after verifying\n",
	       base_rss, stamp_rss, verify_rss);

	sealkit_signer_free(maker);
	sealkit_signer_free(signer);
	free(ca);
	free(cert);
	free(seal);
	char cmd[400];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (!getenv("KEEP") && system(cmd))
		fprintf(stderr, "bench_ofd: could not remove %s\n", dir);
	return valid ? 0 : 1;
}
