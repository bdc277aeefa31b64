/* sealkit cert issue --key URI --subject DN --days N
 *     ( --self-signed | --ca-cert FILE ( --ca-key FILE | --ca-key-uri URI ) ) -o CERT.pem */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cli.h"

static void help(void)
{
	printf("Usage: sealkit cert issue --key URI --subject DN --days N\n"
	       "         ( --self-signed | --ca-cert FILE ( --ca-key FILE | --ca-key-uri URI ) )\n"
	       "         [--ca] [--pin PIN] [--module PATH] -o CERT.pem\n\n"
	       "Issues an X.509 v3 certificate for the public key of the token key URI.\n"
	       "SM2 keys get SM2-with-SM3 certificates. DN is written /C=CN/O=Org/CN=Name.\n"
	       "The CA signs with its key on a token (--ca-key-uri) or with an unencrypted\n"
	       "private key file (--ca-key, PEM or DER). --ca makes a CA certificate\n"
	       "(implied by --self-signed).\n");
}

static bool open_key(const cli_common *cc, sealkit_module *m, const char *uri,
		     const sealkit_token_options *to, sealkit_signer **s)
{
	sealkit_error err = {0};
	if (sealkit_signer_open(m, uri, to, s, &err) != SEALKIT_OK) {
		cli_token_error(cc, &err);
		return false;
	}
	return true;
}

int cmd_cert(int argc, char **argv)
{
	enum {
		O_KEY = OPT_FIRST_COMMAND_OPTION,
		O_SUBJECT,
		O_DAYS,
		O_SELF,
		O_CA_CERT,
		O_CA_KEY,
		O_CA_KEY_URI,
		O_CA
	};
	static const struct option opts[] = {{"help", no_argument, NULL, OPT_HELP},
					     {"module", required_argument, NULL, OPT_MODULE},
					     {"pin", required_argument, NULL, OPT_PIN},
					     {"key", required_argument, NULL, O_KEY},
					     {"subject", required_argument, NULL, O_SUBJECT},
					     {"days", required_argument, NULL, O_DAYS},
					     {"self-signed", no_argument, NULL, O_SELF},
					     {"ca-cert", required_argument, NULL, O_CA_CERT},
					     {"ca-key", required_argument, NULL, O_CA_KEY},
					     {"ca-key-uri", required_argument, NULL, O_CA_KEY_URI},
					     {"ca", no_argument, NULL, O_CA},
					     {"output", required_argument, NULL, 'o'},
					     {NULL, 0, NULL, 0}};
	cli_common cc = {0};
	const char *key = NULL, *subject = NULL, *ca_cert = NULL, *ca_key = NULL,
		   *ca_key_uri = NULL, *out = NULL, *days_s = NULL;
	bool self = false, ca = false;
	int c;

	if (argc < 2)
		return cli_usage_error("cert", "cert: name a subcommand: issue");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		help();
		return EXIT_OK;
	}
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc - 1, argv + 1, "o:", opts, NULL)) != -1) {
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
		case O_KEY:
			key = optarg;
			break;
		case O_SUBJECT:
			subject = optarg;
			break;
		case O_DAYS:
			days_s = optarg;
			break;
		case O_SELF:
			self = true;
			break;
		case O_CA_CERT:
			ca_cert = optarg;
			break;
		case O_CA_KEY:
			ca_key = optarg;
			break;
		case O_CA_KEY_URI:
			ca_key_uri = optarg;
			break;
		case O_CA:
			ca = true;
			break;
		case 'o':
			out = optarg;
			break;
		default:
			return cli_usage_error("cert", "cert: unknown or incomplete option '%s'",
					       argv[optind]);
		}
	}
	if (strcmp(argv[1], "issue"))
		return cli_usage_error("cert", "cert: unknown subcommand '%s'", argv[1]);
	if (optind != argc - 1)
		return cli_usage_error("cert", "cert issue: unexpected argument '%s'",
				       argv[optind + 1]);
	if (!key || !subject || !days_s || !out)
		return cli_usage_error("cert", "cert issue: needs --key, --subject, --days and -o");
	char *end;
	long days = strtol(days_s, &end, 10);
	if (*end || days < 1 || days > 36500)
		return cli_usage_error("cert",
				       "cert issue: --days takes a number of days (1-36500)");
	if (self == (ca_cert != NULL))
		return cli_usage_error("cert",
				       "cert issue: give either --self-signed or --ca-cert FILE");
	if (ca_cert && !ca_key_uri == !ca_key)
		return cli_usage_error("cert", "cert issue: --ca-cert needs either --ca-key FILE "
					       "or --ca-key-uri URI");
	if (self && (ca_key || ca_key_uri))
		return cli_usage_error("cert", "cert issue: --self-signed signs with --key; "
					       "--ca-key and --ca-key-uri go with --ca-cert");
	if (subject[0] != '/')
		return cli_usage_error("cert",
				       "cert issue: write the subject as /C=CN/O=Org/CN=Name");

	unsigned char *issuer_der = NULL, *der = NULL, *key_file = NULL;
	size_t issuer_len = 0, len = 0, key_len = 0;
	sealkit_module *m = NULL;
	sealkit_signer *subj = NULL, *issuer = NULL;
	int rc = EXIT_FAILURE_;
	if (ca_cert && !cli_read_cert(ca_cert, &issuer_der, &issuer_len))
		return EXIT_FAILURE_;
	if (ca_key && !cli_read_file(ca_key, &key_file, &key_len)) {
		free(issuer_der);
		return EXIT_FAILURE_;
	}
	if (!cli_load_module(&cc, &m))
		goto out;
	sealkit_token_options to;
	cli_token_options(&cc, &to);
	if (!open_key(&cc, m, key, &to, &subj))
		goto out;
	if (ca_key_uri && !open_key(&cc, m, ca_key_uri, &to, &issuer))
		goto out;
	sealkit_cert_request req = {.subject = subject, .days = (int)days, .ca = self || ca};
	req.subject_spki.data = sealkit_signer_public_key(subj, &req.subject_spki.len);
	sealkit_bytes ib = {issuer_der, issuer_len};
	sealkit_error err = {0};
	sealkit_bytes kb = {key_file, key_len};
	if ((key_file ? sealkit_cert_issue_with_key(&req, &kb, &ib, &der, &len, &err)
		      : sealkit_cert_issue(&req, issuer ? issuer : subj, issuer ? &ib : NULL, &der,
					   &len, &err)) != SEALKIT_OK) {
		cli_error("%s", err.message);
		goto out;
	}
	if (!cli_write_pem(out, "CERTIFICATE", der, len))
		goto out;
	printf("wrote %s (%s)\n", out, subject);
	rc = EXIT_OK;
out:
	free(der);
	free(issuer_der);
	if (key_file) {
		OPENSSL_cleanse(key_file, key_len);
		free(key_file);
	}
	sealkit_signer_free(subj);
	sealkit_signer_free(issuer);
	if (m)
		sealkit_module_release(m);
	return rc;
}
