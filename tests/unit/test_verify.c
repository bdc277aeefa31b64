/* Verification against the interop corpus: every seal and stamp row of
 * shared/interop/expected.tsv gets the verdict and the failed checks the
 * file gives; OFD documents through sealkit_verify_ofd. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "tokensetup.h"
#include "sealkit/ofd.h"
#include "sealkit/verify.h"

static char interop[1024];

/* expected.tsv's failure categories, by check name. */
static const struct {
	const char *check, *category;
} categories[] = {
	{"structure", "unparsable"},
	{"encoding", "non-strict-encoding"},
	{"seal-maker-signature", "seal-maker-signature"},
	{"seal-cert-list", "seal-cert-list"},
	{"stamp-signature", "stamp-signature"},
	{"signer-in-seal", "signer-not-in-seal"},
	{"data-hash", "data-hash"},
	{"signing-time-in-seal-validity", "signing-time-outside-seal-validity"},
	{"signing-time-in-cert-validity", "signing-time-outside-cert-validity"},
	{"seal-validity", "seal-validity"},
	{"timestamp", "timestamp"},
	/* OFD signatures (sealkit/ofd.h) */
	{"reference-digest", "reference-digest"},
	{"signed-value", "missing-signed-value"},
	{"seal-file", "seal-file"},
	{"digital-signature", "digital-signature"},
};

static const char *category(const char *check)
{
	for (size_t i = 0; i < sizeof categories / sizeof categories[0]; i++)
		if (!strcmp(categories[i].check, check))
			return categories[i].category;
	return check;
}


/* The failed, deciding checks as "cat1,cat2" in expected.tsv's order (sorted). */
static void failed_categories(const sealkit_report *r, char *out, size_t len)
{
	const char *names[32];
	size_t n = 0;
	for (size_t i = 0; i < r->n_items; i++)
		for (size_t c = 0; c < r->items[i].n_checks; c++) {
			const sealkit_check *ck = &r->items[i].checks[c];
			if (ck->result != SEALKIT_CHECK_FAILED || ck->advisory || n == 32)
				continue;
			const char *cat = category(ck->name);
			bool dup = false;
			for (size_t k = 0; k < n; k++)
				dup = dup || !strcmp(names[k], cat);
			if (!dup)
				names[n++] = cat;
		}
	for (size_t a = 0; a < n; a++)
		for (size_t b = a + 1; b < n; b++)
			if (strcmp(names[a], names[b]) > 0) {
				const char *t = names[a];
				names[a] = names[b];
				names[b] = t;
			}
	out[0] = '\0';
	for (size_t k = 0; k < n; k++) {
		if (k)
			strncat(out, ",", len - strlen(out) - 1);
		strncat(out, names[k], len - strlen(out) - 1);
	}
	if (!n)
		snprintf(out, len, "-");
}

static void print_report(const sealkit_report *r)
{
	for (size_t i = 0; i < r->n_items; i++)
		for (size_t c = 0; c < r->items[i].n_checks; c++)
			fprintf(stderr, "    %s %s %s: %s\n", r->items[i].label,
				r->items[i].checks[c].result == SEALKIT_CHECK_PASSED   ? "ok  "
				: r->items[i].checks[c].result == SEALKIT_CHECK_FAILED ? "FAIL"
										       : "n/a ",
				r->items[i].checks[c].name, r->items[i].checks[c].detail);
}

/* Runs every row whose mode is `mode`. */
static void run_rows(const char *only_mode)
{
	char path[2048], line[2048];
	snprintf(path, sizeof path, "%s/expected.tsv", interop);
	FILE *f = fopen(path, "r");
	CU_ASSERT_FATAL(f != NULL);
	int rows = 0;
	while (fgets(line, sizeof line, f)) {
		char file[512], doc[512], mode[64], verdict[64], why[512];
		if (line[0] == '#' ||
		    sscanf(line, "%511[^\t]\t%511[^\t]\t%63[^\t]\t%63[^\t]\t%511[^\t\n]", file, doc,
			   mode, verdict, why) != 5)
			continue;
		if (strcmp(mode, only_mode))
			continue;
		/* "cat1,cat2 (a remark)": the categories only. */
		char *remark = strstr(why, " (");
		if (remark)
			*remark = '\0';
		bool ofd = strlen(file) > 4 && !strcmp(file + strlen(file) - 4, ".ofd");
		size_t len = 0;
		char fpath[2048], dpath[2048];
		snprintf(fpath, sizeof fpath, "%s/%s", interop, file);
		void *der = tokensetup_slurp(fpath, &len);
		CU_ASSERT_FATAL(der != NULL);
		sealkit_verify_options o = {0};
		o.flags = !strcmp(mode, "strict")	 ? SEALKIT_VERIFY_STRICT
			  : !strcmp(mode, "lenient")	 ? SEALKIT_VERIFY_LENIENT
			  : !strcmp(mode, "ignore-time") ? SEALKIT_VERIFY_IGNORE_TIME
							 : 0;
		sealkit_document d = {0};
		if (strcmp(doc, "-")) {
			snprintf(dpath, sizeof dpath, "%s/%s", interop, doc);
			d.path = dpath;
		}
		sealkit_report *r = NULL;
		sealkit_error err = {0};
		sealkit_status st = ofd ? sealkit_verify_ofd(fpath, &o, &r, &err)
				       : sealkit_verify_auto(der, len, &d, &o, &r, &err);
		CU_ASSERT_EQUAL(st, SEALKIT_OK);
		if (st == SEALKIT_OK) {
			char got[512];
			failed_categories(r, got, sizeof got);
			bool want_valid = !strcmp(verdict, "valid");
			bool ok = r->valid == want_valid && (want_valid || !strcmp(got, why));
			if (!ok) {
				fprintf(stderr, "%s (%s): expected %s [%s], got %s [%s]\n", file, mode,
					verdict, why, r->valid ? "valid" : "invalid", got);
				print_report(r);
			}
			CU_ASSERT(ok);
		} else {
			fprintf(stderr, "%s: %s\n", file, err.message);
		}
		sealkit_report_free(r);
		free(der);
		rows++;
	}
	fclose(f);
	/* The lenient and ignore-time rows may all be OFD documents. */
	CU_ASSERT(rows > 0 || strcmp(only_mode, "default"));
}

static void test_default(void)
{
	run_rows("default");
}

static void test_strict(void)
{
	run_rows("strict");
}

static void test_lenient(void)
{
	run_rows("lenient");
}

static void test_ignore_time(void)
{
	run_rows("ignore-time");
}

void register_tests(void)
{
	const char *env = getenv("SEALKIT_INTEROP_DIR");
	const char *src = getenv("top_srcdir");
	if (env && *env)
		snprintf(interop, sizeof interop, "%s", env);
	else
		snprintf(interop, sizeof interop, "%s/../shared/interop", src ? src : ".");
	char probe[1100];
	snprintf(probe, sizeof probe, "%s/expected.tsv", interop);
	FILE *f = fopen(probe, "r");
	if (!f)
		harness_skip_all("no interop samples (set SEALKIT_INTEROP_DIR)");
	fclose(f);
	CU_pSuite s = harness_suite("interop verdicts", NULL, NULL);
	harness_test(s, "seals, stamps and OFD documents, default mode", test_default);
	harness_test(s, "strict mode", test_strict);
	harness_test(s, "lenient mode", test_lenient);
	harness_test(s, "ignore-time mode", test_ignore_time);
}
