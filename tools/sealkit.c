/* sealkit: make, stamp and verify electronic seals (GB/T 38540) with keys
 * on PKCS#11 tokens. The contract is shared/spec/cli.md. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *what;
} commands[] = {
    {"token", cmd_token, "list, initialise and fill PKCS#11 tokens"},
    {"cert", cmd_cert, "issue X.509 certificates for token keys"},
    {"seal", cmd_seal, "create, show and take apart seals (SESeal)"},
    {"stamp", cmd_stamp, "stamp a document with a seal (SES_Signature)"},
    {"verify", cmd_verify, "verify a seal or a stamp"},
    {"demo", cmd_demo, "run the whole job on a fresh soft token"},
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: sealkit COMMAND [OPTIONS]\n\n"
		   "Electronic seals (GB/T 38540-2020) signed with SM2/SM3 on PKCS#11 tokens.\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].what);
	fprintf(f, "\n'sealkit COMMAND --help' describes a command. Exit status: 0 success,\n"
		   "1 the object verified as invalid, 2 usage errors and other failures.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_FAILURE_;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("sealkit %s\n", PACKAGE_VERSION);
		return EXIT_OK;
	}
	cli_hide_secrets(argc, argv);
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (!strcmp(argv[1], commands[i].name)) {
			int rc = commands[i].run(argc - 1, argv + 1);
			fflush(stdout);
			return rc;
		}
	fprintf(stderr, "sealkit: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_FAILURE_;
}
