/* Stamping OFD packages (ofdstamp.c) with keys on sealkit-pkcs11.so: every
 * valid sample of shared/interop/expected.tsv gets one more signature that
 * verifies while the earlier ones keep their verdicts; untouched entries
 * are copied as stored; the input never changes; tampering is caught by the
 * check named for it; a failure or a hostile package leaves no file. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>
#include <openssl/evp.h>

#include "harness.h"
#include "tokensetup.h"
#include "sealkit/make.h"
#include "sealkit/ofd.h"

#define PIN   "11223344"
#define TOKEN "ofdstamp-test"

static char tmpdir[256], interop[1024];
static sealkit_signer *maker, *signer, *other;
static unsigned char *ca_cert, *signer_cert, *other_cert, *seal;
static size_t ca_len, signer_len, other_len, seal_len;

/* ---- files ------------------------------------------------------------------ */

static void tmp_path(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", tmpdir, name);
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* SHA-256 of a file, to see that it did not change. */
static bool file_digest(const char *path, unsigned char md[32])
{
	size_t len;
	unsigned char *b = tokensetup_slurp(path, &len);
	bool ok = b && EVP_Digest(b, len, md, NULL, EVP_sha256(), NULL);
	free(b);
	return ok;
}

/* No temporary file left in tmpdir. */
static bool no_temporaries(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	bool clean = true;
	while (d && (e = readdir(d)))
		if (strstr(e->d_name, ".tmp-")) {
			fprintf(stderr, "left behind: %s\n", e->d_name);
			clean = false;
		}
	if (d)
		closedir(d);
	return clean;
}

/* An entry's bytes (uncompressed, or as stored with ZIP_FL_COMPRESSED). */
static unsigned char *entry_bytes(zip_t *z, const char *name, zip_flags_t fl, size_t *len)
{
	zip_stat_t st;
	zip_int64_t idx = zip_name_locate(z, name, 0);
	zip_file_t *f = NULL;
	unsigned char *b = NULL;
	*len = 0;
	zip_stat_init(&st);
	if (idx < 0 || zip_stat_index(z, (zip_uint64_t)idx, 0, &st))
		return NULL;
	size_t n = (size_t)((fl & ZIP_FL_COMPRESSED) ? st.comp_size : st.size);
	if (!(b = malloc(n + 1)) || !(f = zip_fopen_index(z, (zip_uint64_t)idx, fl)) ||
	    zip_fread(f, b, n) != (zip_int64_t)n) {
		free(b);
		b = NULL;
	} else {
		*len = n;
	}
	if (f)
		zip_fclose(f);
	return b;
}

/* Copies the package at from to `to` with entry `name` replaced by data. */
static bool replace_entry(const char *from, const char *to, const char *name, const void *data,
			  size_t len)
{
	size_t n;
	void *all = tokensetup_slurp(from, &n);
	bool ok = all && tokensetup_spit(to, all, n);
	free(all);
	int ze;
	zip_t *z = ok ? zip_open(to, 0, &ze) : NULL;
	zip_int64_t idx = z ? zip_name_locate(z, name, 0) : -1;
	zip_source_t *s = idx >= 0 ? zip_source_buffer(z, data, len, 0) : NULL;
	ok = s && zip_file_replace(z, (zip_uint64_t)idx, s, 0) == 0;
	if (!ok)
		zip_source_free(s);
	if (z)
		ok = ok ? zip_close(z) == 0 : (zip_discard(z), false);
	return ok;
}

/* Copies the package with entry `name` changed: the byte before the first
 * `marker` incremented (the XML stays well-formed). */
static bool tamper_entry(const char *from, const char *to, const char *name, const char *marker)
{
	int ze;
	zip_t *z = zip_open(from, ZIP_RDONLY, &ze);
	size_t len = 0;
	unsigned char *b = z ? entry_bytes(z, name, 0, &len) : NULL;
	bool ok = false;
	if (b && len) {
		b[len] = '\0';
		char *at = strstr((char *)b, marker);
		if (at && at > (char *)b) {
			at[-1]++;
			ok = replace_entry(from, to, name, b, len);
		}
	}
	free(b);
	if (z)
		zip_discard(z);
	return ok;
}

/* ---- reports ---------------------------------------------------------------- */

static sealkit_report *verify(const char *path)
{
	sealkit_report *r = NULL;
	sealkit_error e = {0};
	sealkit_status st = sealkit_verify_ofd(path, NULL, &r, &e);
	if (st != SEALKIT_OK)
		fprintf(stderr, "%s: %s\n", path, e.message);
	CU_ASSERT_EQUAL(st, SEALKIT_OK);
	return r;
}

static sealkit_check_result check_of(const sealkit_report_item *it, const char *name)
{
	sealkit_check_result res = SEALKIT_CHECK_NA;
	for (size_t i = 0; i < it->n_checks; i++)
		if (!strcmp(it->checks[i].name, name)) {
			if (it->checks[i].result == SEALKIT_CHECK_FAILED)
				return SEALKIT_CHECK_FAILED;
			res = it->checks[i].result;
		}
	return res;
}

static void print_failures(const char *what, const sealkit_report *r)
{
	for (size_t i = 0; r && i < r->n_items; i++)
		for (size_t c = 0; c < r->items[i].n_checks; c++)
			if (r->items[i].checks[c].result == SEALKIT_CHECK_FAILED)
				fprintf(stderr, "%s: %s: %s: %s\n", what, r->items[i].label,
					r->items[i].checks[c].name, r->items[i].checks[c].detail);
}

/* ---- stamping ------------------------------------------------------------------ */

static sealkit_status stamp(const char *in, const char *out, const sealkit_ofd_stamp_options *given,
			    sealkit_signer *s, sealkit_error *e)
{
	sealkit_ofd_stamp_options o = {0};
	if (given)
		o = *given;
	static sealkit_bytes sc;
	o.seal = (sealkit_bytes){seal, seal_len};
	if (!o.signer_cert) {
		sc = (sealkit_bytes){signer_cert, signer_len};
		o.signer_cert = &sc;
	}
	memset(e, 0, sizeof *e);
	return sealkit_ofd_stamp(in, out, &o, s, e);
}

/* Stamps in to out and checks: the input unchanged, one more signature that
 * verifies, earlier ones keeping their verdicts, untouched entries copied as
 * stored. */
static void stamp_and_check(const char *label, const char *in, const char *out)
{
	unsigned char before[32], after[32];
	sealkit_error e;
	sealkit_report *r0 = verify(in), *r1 = NULL;
	CU_ASSERT_FATAL(r0 != NULL);
	CU_ASSERT_FATAL(file_digest(in, before));
	sealkit_status st = stamp(in, out, NULL, signer, &e);
	CU_ASSERT_FATAL(file_digest(in, after));
	CU_ASSERT(memcmp(before, after, 32) == 0);
	if (st != SEALKIT_OK) {
		fprintf(stderr, "%s: %s\n", label, e.message);
		CU_FAIL("stamping failed");
		goto out;
	}
	r1 = verify(out);
	CU_ASSERT_FATAL(r1 != NULL);
	CU_ASSERT_EQUAL(r1->n_items, r0->n_items + 1);
	for (size_t i = 0; i < r0->n_items && i < r1->n_items; i++) {
		CU_ASSERT_STRING_EQUAL(r1->items[i].label, r0->items[i].label);
		CU_ASSERT_EQUAL(r1->items[i].valid, r0->items[i].valid);
	}
	if (r1->n_items) {
		CU_ASSERT(r1->items[r1->n_items - 1].valid);
		if (!r1->items[r1->n_items - 1].valid)
			print_failures(label, r1);
	}
	/* Every input entry but OFD.xml and the list: the same stored bytes. */
	int ze;
	zip_t *a = zip_open(out, ZIP_RDONLY, &ze);
	zip_t *b = zip_open(in, ZIP_RDONLY, &ze);
	CU_ASSERT_FATAL(a != NULL);
	if (b) {
		zip_int64_t n = zip_get_num_entries(b, 0);
		CU_ASSERT(zip_get_num_entries(a, 0) >= n + 3);
		for (zip_int64_t i = 0; i < n; i++) {
			const char *name = zip_get_name(b, (zip_uint64_t)i, 0);
			size_t la, lb, ua, ub;
			if (!strcmp(name, "OFD.xml") || strstr(name, "Signatures.xml"))
				continue;
			zip_stat_t sa, sb;
			zip_stat_init(&sa);
			zip_stat_init(&sb);
			CU_ASSERT(zip_stat(a, name, 0, &sa) == 0);
			CU_ASSERT(zip_stat_index(b, (zip_uint64_t)i, 0, &sb) == 0);
			CU_ASSERT_EQUAL(sa.comp_method, sb.comp_method);
			CU_ASSERT_EQUAL(sa.crc, sb.crc);
			/* Times DOS cannot hold (esl-demo has month 14 of 2107) are
			 * normalised by libzip; every other time stays. */
			bool dos_time = sb.mtime < 4354819200; /* 2108-01-01 */
			CU_ASSERT(!dos_time || sa.mtime == sb.mtime);
			if (dos_time && sa.mtime != sb.mtime)
				fprintf(stderr, "%s: %s: time %lld became %lld\n", label, name,
					(long long)sb.mtime, (long long)sa.mtime);
			unsigned char *ca = entry_bytes(a, name, ZIP_FL_COMPRESSED, &la);
			unsigned char *cb = entry_bytes(b, name, ZIP_FL_COMPRESSED, &lb);
			unsigned char *da = entry_bytes(a, name, 0, &ua);
			unsigned char *db = entry_bytes(b, name, 0, &ub);
			CU_ASSERT(la == lb && (!la || (ca && cb && !memcmp(ca, cb, la))));
			CU_ASSERT(ua == ub && (!ua || (da && db && !memcmp(da, db, ua))));
			free(ca);
			free(cb);
			free(da);
			free(db);
		}
		zip_discard(b);
	}
	if (a)
		zip_discard(a);
out:
	sealkit_report_free(r0);
	sealkit_report_free(r1);
}

/* ---- set-up ---------------------------------------------------------------------- */

static sealkit_signer *open_signer(const char *name, const char *pin)
{
	char uri[300];
	sealkit_token_options o = {.pin = pin};
	sealkit_error err = {0};
	sealkit_signer *s = NULL;
	snprintf(uri, sizeof uri, "pkcs11:token=%s;object=%s;type=private", TOKEN, name);
	if (sealkit_signer_open(NULL, uri, &o, &s, &err) != SEALKIT_OK && pin &&
	    !strcmp(pin, PIN)) {
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
	if (sealkit_cert_issue(&r, by, by_cert ? &ic : NULL, &der, len, &err) != SEALKIT_OK) {
		printf("Bail out! certificate %s: %s\n", dn, err.message);
		exit(99);
	}
	return der;
}

static int setup(void)
{
	if (!tokensetup_dir(tmpdir, sizeof tmpdir, "sealkit-ofdstamp"))
		return 1;
	static const char *const keys[] = {"maker", "signer", "other"};
	if (!tokensetup_sm2(TOKEN, PIN, keys, 3))
		harness_skip_all("cannot make a token with SEALKIT_MODULE");
	maker = open_signer("maker", PIN);
	signer = open_signer("signer", PIN);
	other = open_signer("other", PIN);
	ca_cert = issue(maker, "/C=CN/O=sealkit test/CN=Seal Maker CA", maker, NULL, 0, 1, &ca_len);
	signer_cert =
	    issue(signer, "/C=CN/O=sealkit test/CN=张三", maker, ca_cert, ca_len, 0, &signer_len);
	other_cert =
	    issue(other, "/C=CN/O=sealkit test/CN=Other", maker, ca_cert, ca_len, 0, &other_len);
	static const unsigned char png[] = "\x89PNG\r\n\x1a\nnot really a picture";
	sealkit_bytes certs[] = {{signer_cert, signer_len}};
	time_t now = time(NULL);
	sealkit_seal_fields f = {.vid = "sealkit",
				 .es_id = "OFD-0001",
				 .type = 1,
				 .name = "测试有限公司合同专用章",
				 .cert_list_type = SEALKIT_CERT_LIST_CERTS,
				 .certs = certs,
				 .n_certs = 1,
				 .create_date = now,
				 .valid_start = now - 60,
				 .valid_end = now + 86400 * 20,
				 .picture_type = "PNG",
				 .picture = {png, sizeof png - 1},
				 .width = 42,
				 .height = 38};
	sealkit_bytes mc = {ca_cert, ca_len};
	sealkit_error err = {0};
	if (sealkit_seal_make(&f, maker, &mc, &seal, &seal_len, &err) != SEALKIT_OK) {
		printf("Bail out! seal: %s\n", err.message);
		exit(99);
	}
	return 0;
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

/* A fresh text document in tmpdir. */
static void text_doc(const char *name, char *path, size_t len)
{
	sealkit_error e = {0};
	tmp_path(path, len, name);
	CU_ASSERT_EQUAL_FATAL(
	    sealkit_ofd_make_text(path, "第一行 line one\nline <two> & \"3\"\n", &e), SEALKIT_OK);
}

/* ---- tests ------------------------------------------------------------------------ */

static void test_text_document(void)
{
	char doc[512], out[512];
	text_doc("text.ofd", doc, sizeof doc);
	sealkit_report *r = verify(doc);
	CU_ASSERT(r && r->n_items == 0);
	sealkit_report_free(r);
	tmp_path(out, sizeof out, "text-stamped.ofd");
	stamp_and_check("text.ofd", doc, out);
	/* The default place: the lower right of A4, the seal's own size. */
	int ze;
	size_t len;
	zip_t *z = zip_open(out, ZIP_RDONLY, &ze);
	CU_ASSERT_FATAL(z != NULL);
	char *xml = (char *)entry_bytes(z, "Doc_0/Signs/Sign_0/Signature.xml", 0, &len);
	CU_ASSERT_FATAL(xml != NULL);
	xml[len] = '\0';
	CU_ASSERT_PTR_NOT_NULL(strstr(xml, "Boundary=\"153 244 42 38\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(xml, "PageRef=\"1\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(xml, "CheckMethod=\"1.2.156.10197.1.401\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(xml, "FileRef=\"/Doc_0/Signs/Sign_0/Seal.esl\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(xml, "FileRef=\"/OFD.xml\""));
	CU_ASSERT_PTR_NULL(strstr(xml, "FileRef=\"/Doc_0/Signs/Signatures.xml\""));
	CU_ASSERT_PTR_NULL(strstr(xml, "SignedValue.dat\"")); /* never its own value */
	free(xml);
	/* Seal.esl is the seal; OFD.xml names the new list. */
	unsigned char *esl = entry_bytes(z, "Doc_0/Signs/Sign_0/Seal.esl", 0, &len);
	CU_ASSERT(esl && len == seal_len && !memcmp(esl, seal, len));
	free(esl);
	char *root = (char *)entry_bytes(z, "OFD.xml", 0, &len);
	CU_ASSERT_FATAL(root != NULL);
	root[len] = '\0';
	CU_ASSERT_PTR_NOT_NULL(strstr(root, "<ofd:Signatures>Doc_0/Signs/Signatures.xml<"));
	free(root);
	zip_discard(z);
	CU_ASSERT(no_temporaries());
}

static void test_twice_and_position(void)
{
	char doc[512], one[512], two[512];
	text_doc("twice.ofd", doc, sizeof doc);
	tmp_path(one, sizeof one, "twice-1.ofd");
	tmp_path(two, sizeof two, "twice-2.ofd");
	stamp_and_check("first", doc, one);
	sealkit_ofd_stamp_options o = {.page = 1, .has_position = 1, .x = 20.5, .y = 30.25};
	sealkit_error e;
	CU_ASSERT_EQUAL_FATAL(stamp(one, two, &o, signer, &e), SEALKIT_OK);
	sealkit_report *r = verify(two);
	CU_ASSERT_FATAL(r != NULL);
	CU_ASSERT_EQUAL(r->n_items, 2);
	CU_ASSERT(r->valid);
	print_failures("twice", r);
	sealkit_report_free(r);
	int ze;
	size_t len;
	zip_t *z = zip_open(two, ZIP_RDONLY, &ze);
	char *xml = z ? (char *)entry_bytes(z, "Doc_0/Signs/Sign_1/Signature.xml", 0, &len) : NULL;
	CU_ASSERT_FATAL(xml != NULL);
	xml[len] = '\0';
	CU_ASSERT_PTR_NOT_NULL(strstr(xml, "Boundary=\"20.5 30.25 42 38\""));
	/* The second covers the first's files. */
	CU_ASSERT_PTR_NOT_NULL(strstr(xml, "FileRef=\"/Doc_0/Signs/Sign_0/SignedValue.dat\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(xml, "FileRef=\"/Doc_0/Signs/Sign_0/Signature.xml\""));
	free(xml);
	char *list = (char *)entry_bytes(z, "Doc_0/Signs/Signatures.xml", 0, &len);
	CU_ASSERT_FATAL(list != NULL);
	list[len] = '\0';
	CU_ASSERT_PTR_NOT_NULL(strstr(list, "<ofd:MaxSignId>s004</ofd:MaxSignId>"));
	CU_ASSERT_PTR_NOT_NULL(strstr(list, "ID=\"s003\""));
	free(list);
	zip_discard(z);
}

/* Every valid OFD sample (and the unsigned ones) gets one more signature. */
static void test_samples(void)
{
	char path[1100], line[2048];
	snprintf(path, sizeof path, "%s/expected.tsv", interop);
	FILE *f = fopen(path, "r");
	unsigned stamped = 0, locked = 0, n = 0;
	CU_ASSERT_FATAL(f != NULL);
	while (fgets(line, sizeof line, f)) {
		char file[512], doc[512], mode[64], verdict[64];
		if (line[0] == '#' ||
		    sscanf(line, "%511[^\t]\t%511[^\t]\t%63[^\t]\t%63[^\t]", file, doc, mode,
			   verdict) != 4 ||
		    !strstr(file, ".ofd") || strcmp(mode, "default") || strcmp(verdict, "valid"))
			continue;
		char in[1700], out[1100], label[600];
		snprintf(in, sizeof in, "%s/%s", interop, file);
		snprintf(label, sizeof label, "sample-%u.ofd", n++);
		tmp_path(out, sizeof out, label);
		/* Whole-protected documents (Signatures.xml signed) refuse more signatures. */
		sealkit_error e;
		sealkit_status st = stamp(in, out, NULL, signer, &e);
		if (st == SEALKIT_ERR_UNSUPPORTED && strstr(e.message, "whole protected")) {
			CU_ASSERT_FALSE(exists(out));
			locked++;
			continue;
		}
		CU_ASSERT_EQUAL(st, SEALKIT_OK);
		if (st != SEALKIT_OK)
			fprintf(stderr, "%s: %s\n", file, e.message);
		unlink(out);
		stamp_and_check(file, in, out);
		stamped++;
	}
	fclose(f);
	static const char *const unsigned_docs[] = {"unsigned/hello.ofd", "unsigned/invoice.ofd"};
	for (size_t i = 0; i < 2; i++) {
		char in[1100], out[600];
		snprintf(in, sizeof in, "%s/%s", interop, unsigned_docs[i]);
		snprintf(out, sizeof out, "%s/unsigned-%zu.ofd", tmpdir, i);
		if (exists(in)) {
			stamp_and_check(unsigned_docs[i], in, out);
			stamped++;
		}
	}
	printf("# %u samples stamped, %u whole-protected samples refused\n", stamped, locked);
	CU_ASSERT(stamped >= 10);
	CU_ASSERT(locked <= 3);
}

static void test_tampering(void)
{
	char doc[512], one[512], two[512], bad[512];
	sealkit_error e;
	text_doc("tamper.ofd", doc, sizeof doc);
	tmp_path(one, sizeof one, "tamper-1.ofd");
	tmp_path(two, sizeof two, "tamper-2.ofd");
	CU_ASSERT_EQUAL_FATAL(stamp(doc, one, NULL, signer, &e), SEALKIT_OK);
	CU_ASSERT_EQUAL_FATAL(stamp(one, two, NULL, signer, &e), SEALKIT_OK);
	tmp_path(bad, sizeof bad, "tampered.ofd");

	/* A page byte: the Reference digests of both signatures. */
	CU_ASSERT_FATAL(
	    tamper_entry(two, bad, "Doc_0/Pages/Page_0/Content.xml", "</ofd:TextCode>"));
	sealkit_report *r = verify(bad);
	CU_ASSERT_FATAL(r && r->n_items == 2);
	CU_ASSERT_FALSE(r->valid);
	for (size_t i = 0; i < 2; i++) {
		CU_ASSERT_EQUAL(check_of(&r->items[i], "reference-digest"), SEALKIT_CHECK_FAILED);
		CU_ASSERT_EQUAL(check_of(&r->items[i], "data-hash"), SEALKIT_CHECK_PASSED);
		CU_ASSERT_EQUAL(check_of(&r->items[i], "stamp-signature"), SEALKIT_CHECK_PASSED);
	}
	sealkit_report_free(r);

	/* Signature.xml of the second (its time's last digit): its data hash;
	 * nothing else protects it. */
	CU_ASSERT_FATAL(
	    tamper_entry(two, bad, "Doc_0/Signs/Sign_1/Signature.xml", "</ofd:SignatureDateTime>"));
	r = verify(bad);
	CU_ASSERT_FATAL(r && r->n_items == 2);
	CU_ASSERT(r->items[0].valid);
	CU_ASSERT_FALSE(r->items[1].valid);
	CU_ASSERT_EQUAL(check_of(&r->items[1], "data-hash"), SEALKIT_CHECK_FAILED);
	CU_ASSERT_EQUAL(check_of(&r->items[1], "stamp-signature"), SEALKIT_CHECK_PASSED);
	sealkit_report_free(r);
	/* The first's Signature.xml: its data hash and the second's Reference. */
	CU_ASSERT_FATAL(
	    tamper_entry(two, bad, "Doc_0/Signs/Sign_0/Signature.xml", "</ofd:SignatureDateTime>"));
	r = verify(bad);
	CU_ASSERT_FATAL(r && r->n_items == 2);
	CU_ASSERT_EQUAL(check_of(&r->items[0], "data-hash"), SEALKIT_CHECK_FAILED);
	CU_ASSERT_EQUAL(check_of(&r->items[1], "reference-digest"), SEALKIT_CHECK_FAILED);
	sealkit_report_free(r);

	/* SignedValue.dat swapped for a stamp that claims the right dataHash
	 * but whose signature was made over another TBS_Sign: stamp-signature. */
	int ze;
	size_t va_len, sig_len;
	zip_t *z = zip_open(two, ZIP_RDONLY, &ze);
	CU_ASSERT_FATAL(z != NULL);
	unsigned char *va = entry_bytes(z, "Doc_0/Signs/Sign_1/SignedValue.dat", 0, &va_len);
	unsigned char *sx = entry_bytes(z, "Doc_0/Signs/Sign_1/Signature.xml", 0, &sig_len);
	zip_discard(z);
	CU_ASSERT_FATAL(va && sx);
	sealkit_stamp *sa = NULL, *sb = NULL;
	CU_ASSERT_EQUAL_FATAL(sealkit_stamp_parse(va, va_len, 0, &sa, NULL, &e), SEALKIT_OK);
	sx[sig_len - 20] ^= 1; /* another document, the same signer, seal and time */
	sealkit_stamp_request req = {.seal = {seal, seal_len},
				     .document = {.data = sx, .len = sig_len},
				     .time = sa->time_info.t,
				     .property_info = sa->property_info};
	unsigned char *other_der = NULL;
	size_t other_der_len = 0;
	sealkit_bytes sc = {signer_cert, signer_len};
	CU_ASSERT_EQUAL_FATAL(sealkit_stamp_make(&req, signer, &sc, &other_der, &other_der_len, &e),
			      SEALKIT_OK);
	CU_ASSERT_EQUAL_FATAL(sealkit_stamp_parse(other_der, other_der_len, 0, &sb, NULL, &e),
			      SEALKIT_OK);
	/* The other stamp with the real TBS_Sign put in (same length, same place). */
	CU_ASSERT_FATAL(sa->tbs.len == sb->tbs.len);
	size_t off = (size_t)(sb->tbs.data - sb->der.data);
	memcpy(other_der + off, sa->tbs.data, sa->tbs.len);
	CU_ASSERT_FATAL(replace_entry(two, bad, "Doc_0/Signs/Sign_1/SignedValue.dat", other_der,
				      other_der_len));
	r = verify(bad);
	CU_ASSERT_FATAL(r && r->n_items == 2);
	CU_ASSERT(r->items[0].valid);
	CU_ASSERT_EQUAL(check_of(&r->items[1], "stamp-signature"), SEALKIT_CHECK_FAILED);
	CU_ASSERT_EQUAL(check_of(&r->items[1], "data-hash"), SEALKIT_CHECK_PASSED);
	sealkit_report_free(r);
	sealkit_stamp_free(sa);
	sealkit_stamp_free(sb);
	free(other_der);
	free(sx);

	/* The two signatures' SignedValue.dat exchanged: each one's data hash. */
	z = zip_open(two, ZIP_RDONLY, &ze);
	size_t v0_len;
	unsigned char *v0 = entry_bytes(z, "Doc_0/Signs/Sign_0/SignedValue.dat", 0, &v0_len);
	zip_discard(z);
	char mid[512];
	tmp_path(mid, sizeof mid, "swap-mid.ofd");
	CU_ASSERT_FATAL(replace_entry(two, mid, "Doc_0/Signs/Sign_0/SignedValue.dat", va, va_len));
	CU_ASSERT_FATAL(replace_entry(mid, bad, "Doc_0/Signs/Sign_1/SignedValue.dat", v0, v0_len));
	r = verify(bad);
	CU_ASSERT_FATAL(r && r->n_items == 2);
	CU_ASSERT_EQUAL(check_of(&r->items[0], "data-hash"), SEALKIT_CHECK_FAILED);
	CU_ASSERT_EQUAL(check_of(&r->items[1], "data-hash"), SEALKIT_CHECK_FAILED);
	sealkit_report_free(r);
	free(v0);
	free(va);
}

static void test_protect_all(void)
{
	char doc[512], one[512], two[512];
	sealkit_error e;
	text_doc("all.ofd", doc, sizeof doc);
	tmp_path(one, sizeof one, "all-1.ofd");
	tmp_path(two, sizeof two, "all-2.ofd");
	sealkit_ofd_stamp_options o = {.flags = SEALKIT_OFD_PROTECT_ALL};
	CU_ASSERT_EQUAL_FATAL(stamp(doc, one, &o, signer, &e), SEALKIT_OK);
	sealkit_report *r = verify(one);
	CU_ASSERT(r && r->valid && r->n_items == 1);
	sealkit_report_free(r);
	int ze;
	size_t len;
	zip_t *z = zip_open(one, ZIP_RDONLY, &ze);
	char *xml = z ? (char *)entry_bytes(z, "Doc_0/Signs/Sign_0/Signature.xml", 0, &len) : NULL;
	CU_ASSERT_FATAL(xml != NULL);
	xml[len] = '\0';
	CU_ASSERT_PTR_NOT_NULL(strstr(xml, "FileRef=\"/Doc_0/Signs/Signatures.xml\""));
	free(xml);
	zip_discard(z);
	/* A later signature would break it: refused, nothing written. */
	CU_ASSERT_EQUAL(stamp(one, two, NULL, signer, &e), SEALKIT_ERR_UNSUPPORTED);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.message, "whole protected"));
	CU_ASSERT_FALSE(exists(two));
}

static void test_failures_leave_nothing(void)
{
	char doc[512], out[512];
	sealkit_error e;
	text_doc("fail.ofd", doc, sizeof doc);
	tmp_path(out, sizeof out, "fail-out.ofd");

	sealkit_ofd_stamp_options o = {.page = 2};
	CU_ASSERT_EQUAL(stamp(doc, out, &o, signer, &e), SEALKIT_ERR_ARGS);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.message, "no page 2"));
	CU_ASSERT_FALSE(exists(out));
	o = (sealkit_ofd_stamp_options){.has_position = 1, .x = 500, .y = 10};
	CU_ASSERT_EQUAL(stamp(doc, out, &o, signer, &e), SEALKIT_ERR_ARGS);
	CU_ASSERT_FALSE(exists(out));
	/* The signer the seal does not list: refused at the last step. */
	sealkit_bytes oc = {other_cert, other_len};
	o = (sealkit_ofd_stamp_options){.signer_cert = &oc};
	CU_ASSERT_EQUAL(stamp(doc, out, &o, other, &e), SEALKIT_ERR_ARGS);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.message, "seal"));
	CU_ASSERT_FALSE(exists(out));
	/* (A wrong PIN fails at sealkit_signer_open, before any stamping: the CLI
	 * test shows it leaves no output; here the token is logged in already.) */
	/* A directory that does not exist. */
	char nowhere[600];
	snprintf(nowhere, sizeof nowhere, "%s/no/such/dir/out.ofd", tmpdir);
	CU_ASSERT_EQUAL(stamp(doc, nowhere, NULL, signer, &e), SEALKIT_ERR_IO);
	/* An existing output stays as it was when stamping fails. */
	CU_ASSERT_FATAL(tokensetup_spit(out, "old", 3));
	o = (sealkit_ofd_stamp_options){.page = 9};
	CU_ASSERT_NOT_EQUAL(stamp(doc, out, &o, signer, &e), SEALKIT_OK);
	size_t len;
	char *old = tokensetup_slurp(out, &len);
	CU_ASSERT(old && len == 3 && !memcmp(old, "old", 3));
	free(old);
	unlink(out);
	/* The output may not be the input. */
	CU_ASSERT_EQUAL(stamp(doc, doc, NULL, signer, &e), SEALKIT_ERR_ARGS);
	/* Not a seal. */
	sealkit_ofd_stamp_options bad = {.seal = {(const unsigned char *)"nope", 4}};
	memset(&e, 0, sizeof e);
	CU_ASSERT_NOT_EQUAL(sealkit_ofd_stamp(doc, out, &bad, signer, &e), SEALKIT_OK);
	CU_ASSERT_FALSE(exists(out));
	CU_ASSERT(no_temporaries());
}

static bool make_zip(const char *path, const char *const *names, const char *const *data, size_t n)
{
	int ze = 0;
	zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &ze);
	for (size_t i = 0; z && i < n; i++) {
		zip_source_t *s = zip_source_buffer(z, data[i], strlen(data[i]), 0);
		if (!s || zip_file_add(z, names[i], s, 0) < 0) {
			zip_source_free(s);
			zip_discard(z);
			return false;
		}
	}
	return z && zip_close(z) == 0;
}

static void test_hostile_input(void)
{
	char in[512], out[512], evil[512];
	sealkit_error e;
	tmp_path(out, sizeof out, "hostile-out.ofd");
	tmp_path(evil, sizeof evil, "../evil.txt");
	static const char ofd[] =
	    "<?xml version=\"1.0\"?><ofd:OFD xmlns:ofd=\"http://www.ofdspec.org/2016\">"
	    "<ofd:DocBody><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>";
	static const char document[] =
	    "<?xml version=\"1.0\"?><ofd:Document xmlns:ofd=\"http://www.ofdspec.org/2016\">"
	    "<ofd:Pages><ofd:Page ID=\"1\" BaseLoc=\"Pages/Page_0/Content.xml\"/></ofd:Pages>"
	    "</ofd:Document>";
	const char *n1[] = {"OFD.xml", "Doc_0/Document.xml", "../evil.txt"};
	const char *d1[] = {ofd, document, "gotcha"};
	tmp_path(in, sizeof in, "traversal.ofd");
	CU_ASSERT_FATAL(make_zip(in, n1, d1, 3));
	CU_ASSERT_EQUAL(stamp(in, out, NULL, signer, &e), SEALKIT_ERR_FORMAT);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.message, "outside the package"));
	CU_ASSERT_FALSE(exists(out));
	CU_ASSERT_FALSE(exists(evil));

	static const char entity[] =
	    "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>"
	    "<ofd:OFD xmlns:ofd=\"http://www.ofdspec.org/2016\"><ofd:DocBody>"
	    "<ofd:DocRoot>&e;</ofd:DocRoot></ofd:DocBody></ofd:OFD>";
	const char *n2[] = {"OFD.xml", "Doc_0/Document.xml"};
	const char *d2[] = {entity, document};
	tmp_path(in, sizeof in, "entity.ofd");
	CU_ASSERT_FATAL(make_zip(in, n2, d2, 2));
	CU_ASSERT_EQUAL(stamp(in, out, NULL, signer, &e), SEALKIT_ERR_FORMAT);
	CU_ASSERT_FALSE(exists(out));

	/* DocRoot leaving the package. */
	static const char escape[] =
	    "<?xml version=\"1.0\"?><ofd:OFD xmlns:ofd=\"http://www.ofdspec.org/2016\">"
	    "<ofd:DocBody><ofd:DocRoot>../../etc/passwd</ofd:DocRoot></ofd:DocBody></ofd:OFD>";
	const char *d3[] = {escape, document};
	tmp_path(in, sizeof in, "escape.ofd");
	CU_ASSERT_FATAL(make_zip(in, n2, d3, 2));
	CU_ASSERT_EQUAL(stamp(in, out, NULL, signer, &e), SEALKIT_ERR_FORMAT);
	CU_ASSERT_FALSE(exists(out));

	tmp_path(in, sizeof in, "notzip.ofd");
	CU_ASSERT_FATAL(tokensetup_spit(in, "not a zip at all", 16));
	CU_ASSERT_EQUAL(stamp(in, out, NULL, signer, &e), SEALKIT_ERR_FORMAT);
	CU_ASSERT_FALSE(exists(out));
	CU_ASSERT(no_temporaries());
}

/* Bytes before the first entry (a stub): read past, not copied. */
static void test_prefixed_package(void)
{
	char doc[512], pre[512], out[512];
	sealkit_error e;
	text_doc("plain.ofd", doc, sizeof doc);
	size_t len;
	unsigned char *b = tokensetup_slurp(doc, &len);
	CU_ASSERT_FATAL(b != NULL);
	unsigned char *p = malloc(len + 100);
	CU_ASSERT_FATAL(p != NULL);
	memset(p, 'J', 100);
	memcpy(p + 100, b, len);
	tmp_path(pre, sizeof pre, "prefixed.ofd");
	CU_ASSERT_FATAL(tokensetup_spit(pre, p, len + 100));
	free(b);
	free(p);
	tmp_path(out, sizeof out, "prefixed-out.ofd");
	CU_ASSERT_EQUAL_FATAL(stamp(pre, out, NULL, signer, &e), SEALKIT_OK);
	sealkit_report *r = verify(out);
	CU_ASSERT(r && r->valid && r->n_items == 1);
	sealkit_report_free(r);
}

void register_tests(void)
{
	const char *env = getenv("SEALKIT_INTEROP_DIR");
	const char *src = getenv("top_srcdir");
	if (env && *env)
		snprintf(interop, sizeof interop, "%s", env);
	else
		snprintf(interop, sizeof interop, "%s/../shared/interop", src ? src : ".");
	CU_pSuite s = harness_suite("OFD stamping", setup, teardown);
	harness_test(s, "a text document stamped at the default place", test_text_document);
	harness_test(s, "stamped twice, at a given place", test_twice_and_position);
	char probe[1100];
	snprintf(probe, sizeof probe, "%s/expected.tsv", interop);
	if (access(probe, R_OK) == 0)
		harness_test(s, "every valid interop sample gets one more signature", test_samples);
	harness_test(s, "a tampered page, Signature.xml and SignedValue.dat", test_tampering);
	harness_test(s, "whole protection blocks later signatures", test_protect_all);
	harness_test(s, "failures leave no output", test_failures_leave_nothing);
	harness_test(s, "hostile packages are refused without writing", test_hostile_input);
	harness_test(s, "bytes before the first entry", test_prefixed_package);
}
