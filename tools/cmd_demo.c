/* sealkit demo [--dir DIR]: the main job end to end on a fresh soft token,
 * by running the other commands in this process (no PIN ever reaches a
 * child's argv: there are no children). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sealkit/ofd.h>

#include "cli.h"

#define DEMO_PIN    "11223344"
#define DEMO_SO_PIN "87654321"
#define DEMO_TOKEN  "sealkit demo"

/* A 16x16 red PNG: the seal picture when no drawing is available. */
static const unsigned char demo_png[] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x10, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x91, 0x68,
    0x36, 0x00, 0x00, 0x00, 0x16, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0xb8, 0x20, 0x20, 0x40,
    0x12, 0x62, 0x18, 0xd5, 0x30, 0xaa, 0x61, 0xf8, 0x6a, 0x00, 0x00, 0x58, 0xa0, 0xf0, 0x01, 0x9e,
    0x5c, 0xdd, 0x39, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};

static void help(void)
{
	printf("Usage: sealkit demo [--dir DIR]\n\n"
	       "Runs the main job end to end on a fresh soft token in DIR (default: a new\n"
	       "temporary directory): initialise a token, generate maker and signer SM2 keys,\n"
	       "issue their certificates from a demo CA, make a seal with a picture, stamp a\n"
	       "text file and a one-page OFD document, verify them, and print what it made\n"
	       "and where.\n");
}

static char dir[1024];

static const char *in_dir(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
	return buf;
}

/* Runs one sealkit command in this process; argv ends with NULL. */
static int run(const char *title, ...)
{
	const char *args[40];
	int n = 0;
	va_list ap;
	va_start(ap, title);
	while (n < 39 && (args[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	args[n] = NULL;
	printf("\n== %s\n", title);
	fflush(stdout);
	int (*fn)(int, char **) = !strcmp(args[0], "token")   ? cmd_token
				  : !strcmp(args[0], "cert")  ? cmd_cert
				  : !strcmp(args[0], "seal")  ? cmd_seal
				  : !strcmp(args[0], "stamp") ? cmd_stamp
							      : cmd_verify;
	int rc = fn(n, (char **)args);
	fflush(stdout);
	return rc;
}

int cmd_demo(int argc, char **argv)
{
	static const struct option opts[] = {{"help", no_argument, NULL, OPT_HELP},
					     {"dir", required_argument, NULL, 'd'},
					     {NULL, 0, NULL, 0}};
	const char *given = NULL;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case OPT_HELP:
			help();
			return EXIT_OK;
		case 'd':
			given = optarg;
			break;
		default:
			return cli_usage_error("demo", "demo: unknown or incomplete option '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind != argc)
		return cli_usage_error("demo", "demo: unexpected argument '%s'", argv[optind]);
	if (given) {
		if (mkdir(given, 0700) != 0 && errno != EEXIST)
			return cli_error("%s: cannot create the demo directory: %s", given,
					 strerror(errno));
		snprintf(dir, sizeof dir, "%s", given);
	} else {
		snprintf(dir, sizeof dir, "%s/sealkit-demo-XXXXXX",
			 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
		if (!mkdtemp(dir))
			return cli_error("cannot make a temporary directory: %s", strerror(errno));
	}
	char tokens[1100], ca[1100], signer[1100], pic[1100], seal[1100], doc[1100], stamp[1100];
	char ofd[1100], ofd_out[1100];
	in_dir(tokens, sizeof tokens, "tokens");
	if (mkdir(tokens, 0700) != 0 && errno != EEXIST)
		return cli_error("%s: cannot create: %s", tokens, strerror(errno));
	/* A fresh token: refuse a directory that holds an earlier demo. */
	if (access(in_dir(ca, sizeof ca, "maker-ca.pem"), F_OK) == 0)
		return cli_error("%s already holds a demo; give an empty --dir", dir);
	setenv("SEALKIT_TOKEN_DIR", tokens, 1);
	setenv("SEALKIT_PIN", DEMO_PIN, 1);
	printf("sealkit demo in %s\n", dir);
	printf("module: %s\n", cli_module_path(NULL) ? cli_module_path(NULL) : "sealkit (p11-kit)");

	in_dir(ca, sizeof ca, "maker-ca.pem");
	in_dir(signer, sizeof signer, "signer.pem");
	in_dir(pic, sizeof pic, "seal.png");
	in_dir(seal, sizeof seal, "seal.esl");
	in_dir(doc, sizeof doc, "contract.txt");
	in_dir(stamp, sizeof stamp, "contract.txt.sig");
	in_dir(ofd, sizeof ofd, "contract.ofd");
	in_dir(ofd_out, sizeof ofd_out, "contract-stamped.ofd");
	const char *maker_uri = "pkcs11:token=sealkit%20demo;object=maker;type=private";
	const char *signer_uri = "pkcs11:token=sealkit%20demo;object=signer;type=private";
	static const char text[] = "Contract No. 2024-001\nBetween A and B.\n"
				   "This text file is stamped with a detached seal signature.\n";
	char from[16], to[16];
	time_t now = time(NULL);
	strftime(from, sizeof from, "%Y-%m-%d", gmtime(&(time_t){now - 86400}));
	strftime(to, sizeof to, "%Y-%m-%d", gmtime(&(time_t){now + 86400 * 365}));

	if (!cli_write_file(doc, text, sizeof text - 1))
		return EXIT_FAILURE_;
	/* The same text as a one-page OFD document. */
	sealkit_error oe = {0};
	if (sealkit_ofd_make_text(ofd, text, &oe) != SEALKIT_OK)
		return cli_error("%s: %s", ofd, oe.message);
	/* The seal's picture: drawn, or a plain red square when no CJK font
	 * is installed. */
	if (run("draw the seal imprint", "seal", "draw", "--name", "示例科技有限公司", "--text",
		"合同专用章", "--code", "1101080012345", "--size", "40", "-o", pic, NULL) &&
	    !cli_write_file(pic, demo_png, sizeof demo_png))
		return EXIT_FAILURE_;
	if (run("initialise a soft token", "token", "init", "--label", DEMO_TOKEN, "--so-pin",
		DEMO_SO_PIN, NULL) ||
	    run("generate the seal maker's SM2 key", "token", "keygen", "--token", DEMO_TOKEN,
		"--label", "maker", NULL) ||
	    run("generate the signer's SM2 key", "token", "keygen", "--token", DEMO_TOKEN,
		"--label", "signer", NULL) ||
	    run("issue the demo CA (the seal maker's certificate)", "cert", "issue", "--key",
		maker_uri, "--subject", "/C=CN/O=sealkit demo/CN=Demo Seal Maker CA", "--days",
		"365", "--self-signed", "-o", ca, NULL) ||
	    run("issue the signer's certificate", "cert", "issue", "--key", signer_uri, "--subject",
		"/C=CN/O=sealkit demo/CN=张三", "--days", "365", "--ca-cert", ca, "--ca-key-uri",
		maker_uri, "-o", signer, NULL) ||
	    run("store the signer's certificate on the token", "token", "import", "--token",
		DEMO_TOKEN, "--label", "signer", "--cert", signer, NULL) ||
	    run("make the seal", "seal", "create", "--maker-key", maker_uri, "--maker-cert", ca,
		"--signer-cert", signer, "--name", "示例科技有限公司合同专用章", "--type",
		"official", "--picture", pic, "--size", "40x40", "--valid-from", from, "--valid-to",
		to, "-o", seal, NULL) ||
	    run("stamp a text file", "stamp", "--seal", seal, "--key", signer_uri, "--in", doc,
		"-o", stamp, NULL) ||
	    run("stamp the OFD document (page 1, lower right)", "stamp", "--seal", seal, "--key",
		signer_uri, "--in", ofd, "-o", ofd_out, NULL))
		return cli_error("demo: a step failed (see above); the files so far are in %s",
				 dir);
	int v1 = run("verify the seal", "verify", "--strict", "--trust", ca, seal, NULL);
	int v2 =
	    run("verify the stamp", "verify", "--strict", "--trust", ca, "--doc", doc, stamp, NULL);
	int v3 = run("verify the stamped OFD document", "verify", "--strict", "--trust", ca, ofd_out,
		     NULL);
	printf("\n== what the demo made (in %s)\n", dir);
	printf("  soft token      %s (token '%s', user PIN %s)\n", tokens, DEMO_TOKEN, DEMO_PIN);
	printf("  demo CA         %s\n", ca);
	printf("  signer cert     %s\n", signer);
	printf("  seal picture    %s\n", pic);
	printf("  seal            %s: %s\n", seal, v1 == 0 ? "VALID" : "INVALID");
	printf("  document        %s\n", doc);
	printf("  stamp           %s: %s\n", stamp, v2 == 0 ? "VALID" : "INVALID");
	printf("  OFD document    %s\n", ofd);
	printf("  stamped OFD     %s: %s\n", ofd_out, v3 == 0 ? "VALID" : "INVALID");
	printf("\nTry: SEALKIT_TOKEN_DIR=%s sealkit token objects --token '%s'\n", tokens,
	       DEMO_TOKEN);
	return v1 == 0 && v2 == 0 && v3 == 0
		   ? EXIT_OK
		   : (v1 == 1 || v2 == 1 || v3 == 1 ? EXIT_INVALID : EXIT_FAILURE_);
}
