/* sealkit stamp --seal SEAL.esl --key URI [--cert FILE] --in DOC -o OUT
 *              [--page N] [--at X,Y] [--property TEXT] */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sealkit/ofd.h>

#include "cli.h"

static void help(void)
{
	printf("Usage: sealkit stamp --seal SEAL.esl --key URI [--cert FILE] --in DOC -o OUT\n"
	       "         [--page N] [--at X,Y] [--property TEXT] [--pin PIN] [--module PATH]\n\n"
	       "Stamps DOC with the seal, signed by the token key URI. OUT is a detached V4\n"
	       "SES_Signature (DER) whose dataHash is SM3 of DOC; verify it with\n"
	       "`sealkit verify OUT --doc DOC`. --cert defaults to the certificate stored with\n"
	       "the key.\n\n"
	       "If DOC is an OFD package, OUT is the same document with one more seal\n"
	       "signature: its stamp on page N (default 1) with its top-left corner at X,Y mm\n"
	       "from the page's top-left (default: the page's lower right). Earlier\n"
	       "signatures stay valid; DOC itself is never changed.\n");
}

/* An OFD package: the same document with one more seal signature. */
static int stamp_ofd(const cli_common *cc, const char *seal, const char *key, const char *cert,
		     const char *in, const char *out, const char *page, const char *at,
		     const char *property)
{
	unsigned char *seal_der = NULL, *cert_der = NULL;
	size_t seal_len = 0, cert_len = 0;
	sealkit_module *m = NULL;
	sealkit_signer *signer = NULL;
	sealkit_error err = {0};
	sealkit_ofd_stamp_options o = {.property_info = property};
	sealkit_bytes cb;
	int rc = EXIT_FAILURE_;

	o.page = page ? (unsigned)strtoul(page, NULL, 10) : 1;
	if (at && sscanf(at, "%lf,%lf", &o.x, &o.y) == 2)
		o.has_position = 1;
	if (!cli_read_file(seal, &seal_der, &seal_len))
		goto out;
	o.seal = (sealkit_bytes){seal_der, seal_len};
	if (cert) {
		if (!cli_read_cert(cert, &cert_der, &cert_len))
			goto out;
		cb = (sealkit_bytes){cert_der, cert_len};
		o.signer_cert = &cb;
	}
	if (!cli_load_module(cc, &m))
		goto out;
	sealkit_token_options to;
	cli_token_options(cc, &to);
	if (sealkit_signer_open(m, key, &to, &signer, &err) != SEALKIT_OK) {
		cli_token_error(cc, &err);
		goto out;
	}
	if (sealkit_ofd_stamp(in, out, &o, signer, &err) != SEALKIT_OK) {
		cli_error("%s: %s (nothing was written)", in, err.message);
		goto out;
	}
	printf("wrote %s: %s with one more seal signature on page %u\n", out, in, o.page);
	rc = EXIT_OK;
out:
	free(seal_der);
	free(cert_der);
	sealkit_signer_free(signer);
	if (m)
		sealkit_module_release(m);
	return rc;
}

int cmd_stamp(int argc, char **argv)
{
	enum { O_SEAL = OPT_FIRST_COMMAND_OPTION, O_KEY, O_CERT, O_IN, O_PAGE, O_AT, O_PROPERTY };
	static const struct option opts[] = {{"help", no_argument, NULL, OPT_HELP},
					     {"module", required_argument, NULL, OPT_MODULE},
					     {"pin", required_argument, NULL, OPT_PIN},
					     {"seal", required_argument, NULL, O_SEAL},
					     {"key", required_argument, NULL, O_KEY},
					     {"cert", required_argument, NULL, O_CERT},
					     {"in", required_argument, NULL, O_IN},
					     {"page", required_argument, NULL, O_PAGE},
					     {"at", required_argument, NULL, O_AT},
					     {"property", required_argument, NULL, O_PROPERTY},
					     {"output", required_argument, NULL, 'o'},
					     {NULL, 0, NULL, 0}};
	cli_common cc = {0};
	const char *seal = NULL, *key = NULL, *cert = NULL, *in = NULL, *out = NULL, *page = NULL,
		   *at = NULL, *property = NULL;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		switch (c) {
		case OPT_HELP:
			help();
			return EXIT_OK;
		case OPT_MODULE:
			cc.module = optarg;
			break;
		case OPT_PIN:
			cc.pin = optarg;
			break;
		case O_SEAL:
			seal = optarg;
			break;
		case O_KEY:
			key = optarg;
			break;
		case O_CERT:
			cert = optarg;
			break;
		case O_IN:
			in = optarg;
			break;
		case O_PAGE:
			page = optarg;
			break;
		case O_AT:
			at = optarg;
			break;
		case O_PROPERTY:
			property = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		default:
			return cli_usage_error("stamp", "stamp: unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind != argc)
		return cli_usage_error("stamp", "stamp: unexpected argument '%s'", argv[optind]);
	if (!seal || !key || !in || !out)
		return cli_usage_error("stamp", "stamp: needs --seal, --key, --in and -o");
	if (page) {
		char *end;
		long p = strtol(page, &end, 10);
		if (*end || p < 1)
			return cli_usage_error("stamp", "stamp: --page takes a page number from 1");
	}
	if (at) {
		double x, y;
		char tail;
		if (sscanf(at, "%lf,%lf%c", &x, &y, &tail) != 2)
			return cli_usage_error("stamp",
					       "stamp: --at is X,Y in millimetres, e.g. 150,230");
	}
	if (access(in, R_OK) != 0)
		return cli_error("%s: cannot read the document to stamp", in);
	if (cli_is_ofd(in))
		return stamp_ofd(&cc, seal, key, cert, in, out, page, at, property);

	unsigned char *seal_der = NULL, *cert_der = NULL, *der = NULL;
	size_t seal_len = 0, cert_len = 0, der_len = 0;
	sealkit_module *m = NULL;
	sealkit_signer *signer = NULL;
	sealkit_error err = {0};
	int rc = EXIT_FAILURE_;
	if (!cli_read_file(seal, &seal_der, &seal_len))
		goto out;
	if (cert && !cli_read_cert(cert, &cert_der, &cert_len))
		goto out;
	if (!cli_load_module(&cc, &m))
		goto out;
	sealkit_token_options to;
	cli_token_options(&cc, &to);
	if (sealkit_signer_open(m, key, &to, &signer, &err) != SEALKIT_OK) {
		cli_token_error(&cc, &err);
		goto out;
	}
	cli_progress bar;
	char what[512];
	snprintf(what, sizeof what, "hashing %s", in);
	cli_progress_start(&bar, what);
	sealkit_stamp_request req = {.seal = {seal_der, seal_len},
				     .document = {.path = in},
				     .property_info = property,
				     .progress = cli_progress_update,
				     .progress_data = &bar};
	sealkit_bytes cb = {cert_der, cert_len};
	sealkit_status made = sealkit_stamp_make(&req, signer, cert ? &cb : NULL, &der, &der_len,
						 &err);
	cli_progress_done(&bar);
	if (made != SEALKIT_OK) {
		cli_error("%s", err.message);
		goto out;
	}
	if (!cli_write_file(out, der, der_len))
		goto out;
	printf("wrote %s: detached stamp over %s (%zu bytes)\n", out, in, der_len);
	rc = EXIT_OK;
out:
	free(seal_der);
	free(cert_der);
	free(der);
	sealkit_signer_free(signer);
	if (m)
		sealkit_module_release(m);
	return rc;
}
