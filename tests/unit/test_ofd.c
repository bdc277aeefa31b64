/* OFD packages: hostile input (traversal, bombs, duplicates, entities,
 * deep XML) gives a clear error and never a crash; deviations real
 * producers make (bytes before the first entry, relative BaseLoc) are
 * handled; a changed Signature.xml or a missing SignedValue.dat is named.
 * The malicious packages are built here with libzip in a temporary
 * directory. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zip.h>

#include "harness.h"
#include "tokensetup.h"
#include "sealkit/ofd.h"
#include "sealkit/verify.h"

static char tmpdir[256];
static char interop[1024];

typedef struct entry {
	const char *name;
	const void *data;
	size_t len; /* 0: strlen(data) */
} entry;

static const char ofd_xml[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<ofd:OFD xmlns:ofd=\"http://www.ofdspec.org/2016\" Version=\"1.0\" DocType=\"OFD\">"
	"<ofd:DocBody><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot>"
	"<ofd:Signatures>Doc_0/Signs/Signatures.xml</ofd:Signatures></ofd:DocBody></ofd:OFD>";
static const char list_xml[] =
	"<?xml version=\"1.0\"?><ofd:Signatures xmlns:ofd=\"http://www.ofdspec.org/2016\">"
	"<ofd:Signature ID=\"s001\" BaseLoc=\"Sign_0/Signature.xml\"/></ofd:Signatures>";

static void tmp_path(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", tmpdir, name);
}

/* Writes a ZIP of the entries (deflated) to tmpdir/name. */
static bool make_zip(const char *name, const entry *e, size_t n, char *path, size_t path_len)
{
	int ze = 0;
	tmp_path(path, path_len, name);
	zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &ze);
	if (!z)
		return false;
	for (size_t i = 0; i < n; i++) {
		size_t len = e[i].len ? e[i].len : strlen(e[i].data);
		zip_source_t *s = zip_source_buffer(z, e[i].data, len, 0);
		if (!s || zip_file_add(z, e[i].name, s, ZIP_FL_ENC_UTF_8) < 0) {
			zip_source_free(s);
			zip_discard(z);
			return false;
		}
	}
	return zip_close(z) == 0;
}

/* Replaces every occurrence of `from` with `to` (same length) in a file. */
static bool patch_file(const char *path, const char *from, const char *to)
{
	size_t len, n = strlen(from), hits = 0;
	unsigned char *b = tokensetup_slurp(path, &len);
	if (!b || strlen(to) != n)
		return false;
	for (size_t i = 0; i + n <= len; i++)
		if (!memcmp(b + i, from, n)) {
			memcpy(b + i, to, n);
			hits++;
		}
	bool ok = hits && tokensetup_spit(path, b, len);
	free(b);
	return ok;
}

/* Verifies path: the status, and the message / report for the caller. */
static sealkit_status verify(const char *path, sealkit_report **r, sealkit_error *e)
{
	memset(e, 0, sizeof *e);
	*r = NULL;
	return sealkit_verify_ofd(path, NULL, r, e);
}

static void expect_refused(const char *path, const char *words)
{
	sealkit_report *r;
	sealkit_error e;
	sealkit_status st = verify(path, &r, &e);
	CU_ASSERT_EQUAL(st, SEALKIT_ERR_FORMAT);
	CU_ASSERT_PTR_NULL(r);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.message, words));
	if (st != SEALKIT_ERR_FORMAT || !strstr(e.message, words))
		fprintf(stderr, "%s: status %d, message '%s' (want '%s')\n", path, st, e.message,
			words);
	sealkit_report_free(r);
}

/* Whether the report has a failed check of that name (in any item). */
static bool has_failed(const sealkit_report *r, const char *name, const char *words)
{
	for (size_t i = 0; r && i < r->n_items; i++)
		for (size_t c = 0; c < r->items[i].n_checks; c++) {
			const sealkit_check *k = &r->items[i].checks[c];
			if (k->result == SEALKIT_CHECK_FAILED && !strcmp(k->name, name) &&
			    (!words || strstr(k->detail, words)))
				return true;
		}
	return false;
}

/* ---- hostile packages ------------------------------------------------------ */

static void test_not_zip(void)
{
	char path[512];
	tmp_path(path, sizeof path, "notzip.ofd");
	CU_ASSERT_FATAL(tokensetup_spit(path, "hello, not a zip", 16));
	expect_refused(path, "not a readable ZIP");
	sealkit_report *r;
	sealkit_error e;
	tmp_path(path, sizeof path, "does-not-exist.ofd");
	CU_ASSERT_EQUAL(verify(path, &r, &e), SEALKIT_ERR_IO);
}

static void test_unsigned(void)
{
	char path[512];
	const char *plain = "<?xml version=\"1.0\"?><ofd:OFD xmlns:ofd=\"http://www.ofdspec.org/2016\">"
			    "<ofd:DocBody><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody>"
			    "</ofd:OFD>";
	entry e[] = {{"OFD.xml", plain, 0}, {"Doc_0/Document.xml", "<Document/>", 0}};
	CU_ASSERT_FATAL(make_zip("unsigned.ofd", e, 2, path, sizeof path));
	sealkit_report *r;
	sealkit_error err;
	CU_ASSERT_EQUAL_FATAL(verify(path, &r, &err), SEALKIT_OK);
	CU_ASSERT_EQUAL(r->n_items, 0);
	CU_ASSERT_FALSE(r->valid);
	CU_ASSERT_STRING_EQUAL(r->kind, "ofd");
	sealkit_report_free(r);

	entry none[] = {{"Doc_0/Document.xml", "<Document/>", 0}};
	CU_ASSERT_FATAL(make_zip("no-ofd-xml.ofd", none, 1, path, sizeof path));
	expect_refused(path, "no OFD.xml");
}

static void test_traversal_entry(void)
{
	char path[512];
	entry e[] = {{"OFD.xml", ofd_xml, 0}, {"../../evil.txt", "gotcha", 0}};
	CU_ASSERT_FATAL(make_zip("traversal.ofd", e, 2, path, sizeof path));
	expect_refused(path, "outside the package");

	entry b[] = {{"OFD.xml", ofd_xml, 0}, {"Doc_0/..\\..\\evil.txt", "gotcha", 0}};
	CU_ASSERT_FATAL(make_zip("backslash.ofd", b, 2, path, sizeof path));
	expect_refused(path, "outside the package");

	entry m[] = {{"OFD.xml", ofd_xml, 0}, {"Doc_0/../../evil.txt", "gotcha", 0}};
	CU_ASSERT_FATAL(make_zip("middle.ofd", m, 2, path, sizeof path));
	expect_refused(path, "outside the package");
}

static void test_traversal_reference(void)
{
	char path[512];
	const char *sig =
		"<?xml version=\"1.0\"?><ofd:Signature xmlns:ofd=\"http://www.ofdspec.org/2016\">"
		"<ofd:SignedInfo><ofd:References CheckMethod=\"SM3\">"
		"<ofd:Reference FileRef=\"/../../../etc/passwd\"><ofd:CheckValue>AAAA</ofd:CheckValue>"
		"</ofd:Reference></ofd:References></ofd:SignedInfo>"
		"<ofd:SignedValue>../../../../SignedValue.dat</ofd:SignedValue></ofd:Signature>";
	entry e[] = {{"OFD.xml", ofd_xml, 0},
		     {"Doc_0/Signs/Signatures.xml", list_xml, 0},
		     {"Doc_0/Signs/Sign_0/Signature.xml", sig, 0}};
	CU_ASSERT_FATAL(make_zip("refs.ofd", e, 3, path, sizeof path));
	sealkit_report *r;
	sealkit_error err;
	CU_ASSERT_EQUAL_FATAL(verify(path, &r, &err), SEALKIT_OK);
	CU_ASSERT_EQUAL(r->n_items, 1);
	CU_ASSERT_FALSE(r->valid);
	CU_ASSERT(has_failed(r, "reference-digest", "leaves the package"));
	CU_ASSERT(has_failed(r, "signed-value", "leaves the package"));
	sealkit_report_free(r);

	/* A BaseLoc leaving the package. */
	const char *list = "<?xml version=\"1.0\"?><Signatures>"
			   "<Signature ID=\"1\" BaseLoc=\"../../../../x/Signature.xml\"/></Signatures>";
	entry b[] = {{"OFD.xml", ofd_xml, 0}, {"Doc_0/Signs/Signatures.xml", list, 0}};
	CU_ASSERT_FATAL(make_zip("baseloc.ofd", b, 2, path, sizeof path));
	CU_ASSERT_EQUAL_FATAL(verify(path, &r, &err), SEALKIT_OK);
	CU_ASSERT_EQUAL(r->n_items, 1);
	CU_ASSERT(has_failed(r, "structure", "leaves the package"));
	sealkit_report_free(r);
}

static void test_bomb(void)
{
	char path[512];
	size_t big = 24u << 20; /* zeros compress about 1000:1 */
	char *zeros = calloc(1, big);
	CU_ASSERT_FATAL(zeros != NULL);
	entry e[] = {{"OFD.xml", ofd_xml, 0}, {"Doc_0/Res/bomb.bin", zeros, big}};
	bool made = make_zip("bomb.ofd", e, 2, path, sizeof path);
	free(zeros);
	CU_ASSERT_FATAL(made);
	expect_refused(path, "zip bomb");
}

static void test_duplicate(void)
{
	char path[512];
	entry e[] = {{"OFD.xml", ofd_xml, 0}, {"OFD.xmZ", ofd_xml, 0}};
	CU_ASSERT_FATAL(make_zip("dup.ofd", e, 2, path, sizeof path));
	/* libzip refuses to write two entries of one name: rename the second
	 * in its local header and the central directory. */
	CU_ASSERT_FATAL(patch_file(path, "OFD.xmZ", "OFD.xml"));
	expect_refused(path, "two entries named 'OFD.xml'");
}

static void test_xxe(void)
{
	char path[512];
	const char *xxe = "<?xml version=\"1.0\"?>\n"
			  "<!DOCTYPE ofd:OFD [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n"
			  "<ofd:OFD xmlns:ofd=\"http://www.ofdspec.org/2016\"><ofd:DocBody>"
			  "<ofd:Signatures>&x;</ofd:Signatures></ofd:DocBody></ofd:OFD>";
	entry e[] = {{"OFD.xml", xxe, 0}};
	CU_ASSERT_FATAL(make_zip("xxe.ofd", e, 1, path, sizeof path));
	expect_refused(path, "DTD");

	/* Exponential entities in a Signature.xml: that signature fails. */
	const char *lol = "<?xml version=\"1.0\"?>\n<!DOCTYPE s [<!ENTITY a \"aaaaaaaaaa\">"
			  "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">"
			  "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]>"
			  "<Signature><SignedInfo/><SignedValue>&c;</SignedValue></Signature>";
	entry l[] = {{"OFD.xml", ofd_xml, 0},
		     {"Doc_0/Signs/Signatures.xml", list_xml, 0},
		     {"Doc_0/Signs/Sign_0/Signature.xml", lol, 0}};
	CU_ASSERT_FATAL(make_zip("lol.ofd", l, 3, path, sizeof path));
	sealkit_report *r;
	sealkit_error err;
	CU_ASSERT_EQUAL_FATAL(verify(path, &r, &err), SEALKIT_OK);
	CU_ASSERT(has_failed(r, "structure", "DTD"));
	CU_ASSERT_FALSE(r->valid);
	sealkit_report_free(r);
}

static void test_deep(void)
{
	char path[512];
	for (int levels = 100; levels <= 100000; levels *= 1000) {
		size_t cap = (size_t)levels * 8 + 256;
		char *x = malloc(cap), *p = x;
		CU_ASSERT_FATAL(x != NULL);
		p += sprintf(p, "<?xml version=\"1.0\"?><ofd:OFD xmlns:ofd=\"http://www.ofdspec.org/2016\">");
		for (int i = 0; i < levels; i++)
			p += sprintf(p, "<a>");
		for (int i = 0; i < levels; i++)
			p += sprintf(p, "</a>");
		sprintf(p, "</ofd:OFD>");
		entry e[] = {{"OFD.xml", x, 0}};
		bool made = make_zip("deep.ofd", e, 1, path, sizeof path);
		free(x);
		CU_ASSERT_FATAL(made);
		sealkit_report *r;
		sealkit_error err;
		CU_ASSERT_EQUAL(verify(path, &r, &err), SEALKIT_ERR_FORMAT);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "OFD.xml"));
		sealkit_report_free(r);
	}
}

/* ---- deviations and tampering on the generated sample ---------------------- */

/* Copies generated/signed.ofd to tmpdir/name, or false (then the test is skipped). */
static bool copy_sample(const char *name, char *path, size_t len)
{
	char src[1200];
	size_t n;
	snprintf(src, sizeof src, "%s/generated/signed.ofd", interop);
	void *b = tokensetup_slurp(src, &n);
	tmp_path(path, len, name);
	bool ok = b && tokensetup_spit(path, b, n);
	free(b);
	return ok;
}

/* Replaces (or with data NULL, deletes) one entry of a package. */
static bool rewrite_entry(const char *path, const char *entry_name, const char *data)
{
	int ze = 0;
	zip_t *z = zip_open(path, 0, &ze);
	zip_int64_t i = z ? zip_name_locate(z, entry_name, 0) : -1;
	bool ok = i >= 0;
	if (ok && data) {
		zip_source_t *s = zip_source_buffer(z, strdup(data), strlen(data), 1);
		ok = s && zip_file_replace(z, (zip_uint64_t)i, s, 0) == 0;
		if (!ok)
			zip_source_free(s);
	} else if (ok) {
		ok = zip_delete(z, (zip_uint64_t)i) == 0;
	}
	if (z && (!ok || zip_close(z)))
		zip_discard(z);
	return ok;
}

static void test_sample_deviations(void)
{
	char path[512];
	sealkit_report *r;
	sealkit_error err;
	if (!copy_sample("sample.ofd", path, sizeof path)) {
		fprintf(stderr, "no interop sample generated/signed.ofd: skipped\n");
		return;
	}
	CU_ASSERT_EQUAL_FATAL(verify(path, &r, &err), SEALKIT_OK);
	CU_ASSERT(r->valid);
	sealkit_report_free(r);

	/* Relative BaseLoc, resolved against Signatures.xml's directory
	 * (Signatures.xml is not protected by this signature). */
	const char *list = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			   "<ofd:Signatures xmlns:ofd=\"http://www.ofdspec.org/2016\">"
			   "<ofd:Signature BaseLoc=\"Sign_0/Signature.xml\" ID=\"s001\"/>"
			   "<ofd:MaxSignId>s002</ofd:MaxSignId></ofd:Signatures>";
	CU_ASSERT_FATAL(rewrite_entry(path, "Doc_0/Signs/Signatures.xml", list));
	CU_ASSERT_EQUAL_FATAL(verify(path, &r, &err), SEALKIT_OK);
	CU_ASSERT(r->valid);
	CU_ASSERT_EQUAL(r->n_items, 1);
	if (r->n_items)
		CU_ASSERT_STRING_EQUAL(r->items[0].label, "/Doc_0/Signs/Sign_0/Signature.xml");
	sealkit_report_free(r);

	/* Bytes before the first entry (self-extracting style), from memory
	 * through sealkit_verify_auto's dispatch. */
	size_t n;
	unsigned char *b = tokensetup_slurp(path, &n);
	CU_ASSERT_FATAL(b != NULL);
	unsigned char *pre = malloc(n + 4096);
	CU_ASSERT_FATAL(pre != NULL);
	memset(pre, 'x', 4096);
	memcpy(pre + 4096, b, n);
	CU_ASSERT(sealkit_is_zip(pre, n + 4096));
	CU_ASSERT(sealkit_is_zip(b, n));
	CU_ASSERT_FALSE(sealkit_is_zip("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 30));
	sealkit_document d = {0};
	CU_ASSERT_EQUAL(sealkit_verify_auto(pre, n + 4096, &d, NULL, &r, &err), SEALKIT_OK);
	CU_ASSERT(r && r->valid && !strcmp(r->kind, "ofd"));
	if (!r || !r->valid)
		fprintf(stderr, "prefixed package: %s\n", r ? "invalid" : err.message);
	sealkit_report_free(r);
	free(pre);
	free(b);
}

static void test_sample_tampered(void)
{
	char path[512];
	sealkit_report *r;
	sealkit_error err;
	size_t n;
	if (!copy_sample("tampered.ofd", path, sizeof path))
		return;
	/* Signature.xml re-serialised (one space more): dataHash breaks. */
	int ze = 0;
	zip_t *z = zip_open(path, ZIP_RDONLY, &ze);
	CU_ASSERT_FATAL(z != NULL);
	zip_stat_t s;
	CU_ASSERT_FATAL(zip_stat(z, "Doc_0/Signs/Sign_0/Signature.xml", 0, &s) == 0);
	char *x = calloc(1, (size_t)s.size + 2);
	zip_file_t *f = zip_fopen(z, "Doc_0/Signs/Sign_0/Signature.xml", 0);
	CU_ASSERT_FATAL(x && f && zip_fread(f, x, s.size) == (zip_int64_t)s.size);
	zip_fclose(f);
	zip_discard(z);
	n = strlen(x);
	x[n] = '\n';
	CU_ASSERT_FATAL(rewrite_entry(path, "Doc_0/Signs/Sign_0/Signature.xml", x));
	free(x);
	CU_ASSERT_EQUAL_FATAL(verify(path, &r, &err), SEALKIT_OK);
	CU_ASSERT_FALSE(r->valid);
	CU_ASSERT(has_failed(r, "data-hash", NULL));
	sealkit_report_free(r);

	/* SignedValue.dat gone: an unfinished signing. */
	CU_ASSERT_FATAL(copy_sample("nosv.ofd", path, sizeof path));
	CU_ASSERT_FATAL(rewrite_entry(path, "Doc_0/Signs/Sign_0/SignedValue.dat", NULL));
	CU_ASSERT_EQUAL_FATAL(verify(path, &r, &err), SEALKIT_OK);
	CU_ASSERT_FALSE(r->valid);
	CU_ASSERT(has_failed(r, "signed-value", NULL));
	sealkit_report_free(r);
}

static int cleanup(void)
{
	const char *names[] = {"notzip.ofd", "unsigned.ofd", "no-ofd-xml.ofd", "traversal.ofd",
			       "backslash.ofd", "middle.ofd", "refs.ofd", "baseloc.ofd",
			       "bomb.ofd", "dup.ofd", "xxe.ofd", "lol.ofd", "deep.ofd",
			       "sample.ofd", "tampered.ofd", "nosv.ofd"};
	char path[512];
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		tmp_path(path, sizeof path, names[i]);
		unlink(path);
	}
	rmdir(tmpdir);
	return 0;
}

void register_tests(void)
{
	const char *env = getenv("SEALKIT_INTEROP_DIR");
	const char *src = getenv("top_srcdir");
	if (env && *env)
		snprintf(interop, sizeof interop, "%s", env);
	else
		snprintf(interop, sizeof interop, "%s/../shared/interop", src ? src : ".");
	const char *t = getenv("TMPDIR");
	snprintf(tmpdir, sizeof tmpdir, "%s/sealkit-ofd-XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(tmpdir))
		harness_skip_all("cannot make a temporary directory");
	CU_pSuite s = harness_suite("OFD packages", NULL, cleanup);
	harness_test(s, "not a ZIP, unreadable file", test_not_zip);
	harness_test(s, "unsigned package, no OFD.xml", test_unsigned);
	harness_test(s, "entry names leaving the package", test_traversal_entry);
	harness_test(s, "references and BaseLoc leaving the package", test_traversal_reference);
	harness_test(s, "zip bomb", test_bomb);
	harness_test(s, "duplicate entries", test_duplicate);
	harness_test(s, "external and exponential entities", test_xxe);
	harness_test(s, "deeply nested XML", test_deep);
	harness_test(s, "relative BaseLoc, bytes before the first entry", test_sample_deviations);
	harness_test(s, "changed Signature.xml, missing SignedValue.dat", test_sample_tampered);
}
