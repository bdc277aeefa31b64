/* sealkit stamp --seal SEAL.esl --key URI [--cert FILE] --in DOC -o OUT
 *              [--page N] [--at X,Y] [--property TEXT] */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static void help(void)
{
	printf("Usage: sealkit stamp --seal SEAL.esl --key URI [--cert FILE] --in DOC -o OUT\n"
	       "         [--page N] [--at X,Y] [--property TEXT] [--pin PIN] [--module PATH]\n\n"
	       "Stamps DOC with the seal, signed by the token key URI. OUT is a detached V4\n"
	       "SES_Signature (DER) whose dataHash is SM3 of DOC; verify it with\n"
	       "`sealkit verify OUT --doc DOC`. --cert defaults to the certificate stored with\n"
	       "the key. (OFD documents: not supported yet.)\n");
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
		return cli_error("%s: OFD documents are not supported yet; stamping one makes a "
				 "detached stamp only for other files",
				 in);

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
		cli_error("%s", err.message);
		goto out;
	}
	sealkit_stamp_request req = {
	    .seal = {seal_der, seal_len}, .document = {.path = in}, .property_info = property};
	sealkit_bytes cb = {cert_der, cert_len};
	if (sealkit_stamp_make(&req, signer, cert ? &cb : NULL, &der, &der_len, &err) !=
	    SEALKIT_OK) {
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
