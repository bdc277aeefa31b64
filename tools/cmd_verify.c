/* sealkit verify FILE [--doc DOC] [--trust CA.pem ...] [--strict] [--lenient]
 *                      [--ignore-time] [--json] */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "sealkit/ofd.h"

static void help(void)
{
	printf(
	    "Usage: sealkit verify FILE [--doc DOC] [--trust CA.pem ...] [--strict] [--lenient]\n"
	    "                      [--ignore-time] [--json]\n\n"
	    "Verifies a seal (SESeal) or a stamp (SES_Signature), V1 or V4.\n\n"
	    "  --doc DOC       the document a detached stamp signs (checks data-hash)\n"
	    "  --trust CA.pem  certificate chains must lead to one of these CAs (repeatable)\n"
	    "  --strict        vendor encoding deviations fail\n"
	    "  --lenient       a wrong algorithm OID whose value verifies passes, with a warning\n"
	    "  --ignore-time   signing-time checks are reported but do not fail\n"
	    "  --json          print the report as one JSON document\n\n"
	    "Exit status: 0 every check passed, 1 the object is invalid, 2 failure.\n");
}

static const char *mark(const sealkit_check *c)
{
	switch (c->result) {
	case SEALKIT_CHECK_PASSED:
		return "\xe2\x9c\x93"; /* ✓ */
	case SEALKIT_CHECK_FAILED:
		return "\xe2\x9c\x97"; /* ✗ */
	default:
		return "\xe2\x80\x93"; /* – */
	}
}

int verify_print(const char *label, const sealkit_report *r, bool json)
{
	if (json) {
		char *j = sealkit_report_json(r);
		if (!j)
			return cli_error("out of memory");
		fputs(j, stdout);
		if (!*j || j[strlen(j) - 1] != '\n')
			fputc('\n', stdout);
		free(j);
		return r->valid ? EXIT_OK : EXIT_INVALID;
	}
	for (size_t i = 0; i < r->n_items; i++) {
		const sealkit_report_item *it = &r->items[i];
		printf("%s: %s%s%s\n", label, it->label, it->version[0] ? " " : "", it->version);
		for (size_t k = 0; k < it->n_checks; k++) {
			const sealkit_check *c = &it->checks[k];
			printf("  %s %-30s %s%s\n", mark(c), c->name, c->detail,
			       c->advisory && c->result == SEALKIT_CHECK_FAILED ? " (ignored)"
										: "");
		}
		for (size_t w = 0; w < it->warnings.count; w++)
			printf("  warning: %s\n", it->warnings.items[w]);
	}
	if (r->valid) {
		printf("VALID: every check passed\n");
	} else {
		printf("INVALID: failed:");
		bool any = false;
		for (size_t i = 0; i < r->n_items; i++)
			for (size_t k = 0; k < r->items[i].n_checks; k++) {
				const sealkit_check *c = &r->items[i].checks[k];
				if (c->result == SEALKIT_CHECK_FAILED && !c->advisory) {
					printf(" %s", c->name);
					any = true;
				}
			}
		printf("%s\n", any ? "" : " nothing to verify");
	}
	return r->valid ? EXIT_OK : EXIT_INVALID;
}

int cmd_verify(int argc, char **argv)
{
	enum { O_DOC = OPT_FIRST_COMMAND_OPTION, O_TRUST, O_STRICT, O_LENIENT, O_IGNORE_TIME };
	static const struct option opts[] = {{"help", no_argument, NULL, OPT_HELP},
					     {"json", no_argument, NULL, OPT_JSON},
					     {"doc", required_argument, NULL, O_DOC},
					     {"trust", required_argument, NULL, O_TRUST},
					     {"strict", no_argument, NULL, O_STRICT},
					     {"lenient", no_argument, NULL, O_LENIENT},
					     {"ignore-time", no_argument, NULL, O_IGNORE_TIME},
					     {NULL, 0, NULL, 0}};
	const char *doc = NULL;
	const char **trust = calloc((size_t)argc + 1, sizeof *trust);
	size_t n_trust = 0;
	unsigned flags = 0;
	bool json = false;
	int c, rc = EXIT_FAILURE_;

	if (!trust)
		return cli_error("out of memory");
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case OPT_HELP:
			help();
			free(trust);
			return EXIT_OK;
		case OPT_JSON:
			json = true;
			break;
		case O_DOC:
			doc = optarg;
			break;
		case O_TRUST:
			trust[n_trust++] = optarg;
			break;
		case O_STRICT:
			flags |= SEALKIT_VERIFY_STRICT;
			break;
		case O_LENIENT:
			flags |= SEALKIT_VERIFY_LENIENT;
			break;
		case O_IGNORE_TIME:
			flags |= SEALKIT_VERIFY_IGNORE_TIME;
			break;
		default:
			free(trust);
			return cli_usage_error("verify",
					       "verify: unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind != argc - 1) {
		free(trust);
		return cli_usage_error("verify", "verify: give exactly one FILE to verify");
	}
	if ((flags & SEALKIT_VERIFY_STRICT) && (flags & SEALKIT_VERIFY_LENIENT)) {
		free(trust);
		return cli_usage_error("verify",
				       "verify: --strict and --lenient exclude each other");
	}
	const char *file = argv[optind];
	unsigned char *data = NULL;
	size_t len = 0;
	sealkit_report *r = NULL;
	sealkit_error err = {0};
	cli_progress bar;
	char what[512];
	snprintf(what, sizeof what, "hashing %s", doc ? doc : file);
	cli_progress_start(&bar, what);
	sealkit_verify_options vo = {.flags = flags,
				     .trust_files = trust,
				     .n_trust = n_trust,
				     .progress = cli_progress_update,
				     .progress_data = &bar};
	sealkit_document d = {.path = doc};

	for (size_t i = 0; i < n_trust; i++)
		if (access(trust[i], R_OK) != 0) {
			cli_error("%s: cannot read the trust anchor file", trust[i]);
			goto out;
		}
	if (doc && access(doc, R_OK) != 0) {
		cli_error("%s: cannot read the document given with --doc", doc);
		goto out;
	}
	/* An OFD package is read from its file, entry by entry. */
	bool ofd = cli_is_ofd(file);
	if (!ofd && !cli_read_file(file, &data, &len))
		goto out;
	if (ofd ? sealkit_verify_ofd(file, &vo, &r, &err) != SEALKIT_OK
		: sealkit_verify_auto(data, len, doc ? &d : NULL, &vo, &r, &err) != SEALKIT_OK) {
		cli_progress_done(&bar);
		cli_error("%s: %s", file, err.message);
		goto out;
	}
	cli_progress_done(&bar);
	rc = verify_print(file, r, json);
out:
	sealkit_report_free(r);
	free(data);
	free(trust);
	return rc;
}
