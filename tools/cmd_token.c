/* sealkit token list|init|keygen|import|objects */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void help(void)
{
	printf("Usage: sealkit token list [--module PATH]\n"
	       "       sealkit token init --label LABEL --so-pin SOPIN --pin PIN [--module PATH]\n"
	       "       sealkit token keygen --token LABEL --label KEY [--type TYPE] [--id HEX]\n"
	       "                            [--pin PIN] [--module PATH]\n"
	       "       sealkit token import --token LABEL --label NAME --cert FILE [--id HEX]\n"
	       "                            [--pin PIN] [--module PATH]\n"
	       "       sealkit token objects --token LABEL [--pin PIN] [--module PATH]\n\n"
	       "  list      slots, tokens and their flags\n"
	       "  init      initialise the first free slot and set the user PIN\n"
	       "  keygen    generate a key pair (TYPE: sm2 (default), ec-p256, ec-p384, rsa2048,\n"
	       "            rsa3072); prints the private key's PKCS#11 URI\n"
	       "  import    store a certificate (PEM or DER) next to its key (same CKA_ID)\n"
	       "  objects   list the token's objects (after login: private ones too)\n\n"
	       "The PIN comes from --pin, else $SEALKIT_PIN, else a prompt on the terminal.\n"
	       "The module is --module, else $SEALKIT_MODULE, else sealkit-pkcs11.so.\n");
}

typedef struct token_args {
	cli_common common;
	const char *label, *so_pin, *token, *type, *id, *cert;
} token_args;

static void token_flags(unsigned long f, char *buf, size_t size)
{
	static const struct {
		unsigned long bit;
		const char *name;
	} names[] = {{0x400, "initialized"},
		     {0x8, "user-pin-initialized"},
		     {0x4, "login-required"},
		     {0x2, "write-protected"},
		     {0x100, "protected-auth-path"},
		     {0x40000, "user-pin-locked"},
		     {0x1, "rng"}};
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (f & names[i].bit) {
			size_t u = strlen(buf);
			snprintf(buf + u, size - u, "%s%s", u ? "," : "", names[i].name);
		}
}

static int do_list(sealkit_module *m)
{
	sealkit_slot_entry *s = NULL;
	size_t n = 0;
	sealkit_error err = {0};
	if (sealkit_slots_list(m, &s, &n, &err) != SEALKIT_OK)
		return cli_error("%s", err.message);
	printf("module: %s\n", sealkit_module_name(m));
	for (size_t i = 0; i < n; i++) {
		char flags[200];
		printf("slot %lu: %s\n", s[i].slot, s[i].description);
		if (!s[i].token_present) {
			printf("  no token\n");
			continue;
		}
		token_flags(s[i].flags, flags, sizeof flags);
		if (s[i].initialized)
			printf("  token: '%s' (%s %s, serial %s)\n", s[i].label, s[i].manufacturer,
			       s[i].model, s[i].serial);
		else
			printf("  token: not initialised (use `sealkit token init`)\n");
		printf("  flags: %s\n", flags);
	}
	if (!n)
		printf("no slots\n");
	free(s);
	return EXIT_OK;
}

static bool get_id(const char *hex, unsigned char *id, size_t *len)
{
	*len = 0;
	if (!hex)
		return true;
	if (!cli_parse_hex(hex, id, 64, len)) {
		cli_usage_error("token", "token: --id takes hexadecimal digits, e.g. --id 01ab");
		return false;
	}
	return true;
}

int cmd_token(int argc, char **argv)
{
	enum { O_LABEL = OPT_FIRST_COMMAND_OPTION, O_SO_PIN, O_TOKEN, O_TYPE, O_ID, O_CERT };
	static const struct option opts[] = {{"help", no_argument, NULL, OPT_HELP},
					     {"module", required_argument, NULL, OPT_MODULE},
					     {"pin", required_argument, NULL, OPT_PIN},
					     {"label", required_argument, NULL, O_LABEL},
					     {"so-pin", required_argument, NULL, O_SO_PIN},
					     {"token", required_argument, NULL, O_TOKEN},
					     {"type", required_argument, NULL, O_TYPE},
					     {"id", required_argument, NULL, O_ID},
					     {"cert", required_argument, NULL, O_CERT},
					     {NULL, 0, NULL, 0}};
	token_args a = {0};
	int c;

	if (argc < 2)
		return cli_usage_error("token", "token: name a subcommand: list, init, keygen, "
						"import or objects");
	const char *sub = argv[1];
	if (!strcmp(sub, "--help") || !strcmp(sub, "-h")) {
		help();
		return EXIT_OK;
	}
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc - 1, argv + 1, "", opts, NULL)) != -1) {
		switch (c) {
		case OPT_HELP:
			help();
			return EXIT_OK;
		case OPT_MODULE:
			a.common.module = optarg;
			break;
		case OPT_PIN:
			a.common.pin = optarg;
			break;
		case O_LABEL:
			a.label = optarg;
			break;
		case O_SO_PIN:
			a.so_pin = optarg;
			break;
		case O_TOKEN:
			a.token = optarg;
			break;
		case O_TYPE:
			a.type = optarg;
			break;
		case O_ID:
			a.id = optarg;
			break;
		case O_CERT:
			a.cert = optarg;
			break;
		default:
			return cli_usage_error("token",
					       "token %s: unknown or incomplete option '%s'", sub,
					       argv[optind]);
		}
	}
	if (optind != argc - 1)
		return cli_usage_error("token", "token %s: unexpected argument '%s'", sub,
				       argv[optind + 1]);

	bool is_list = !strcmp(sub, "list"), is_init = !strcmp(sub, "init"),
	     is_keygen = !strcmp(sub, "keygen"), is_import = !strcmp(sub, "import"),
	     is_objects = !strcmp(sub, "objects");
	if (!is_list && !is_init && !is_keygen && !is_import && !is_objects)
		return cli_usage_error("token", "token: unknown subcommand '%s'", sub);
	if (is_init && (!a.label || !a.so_pin))
		return cli_usage_error("token",
				       "token init: needs --label and --so-pin (and --pin)");
	if ((is_keygen || is_import) && (!a.token || !a.label))
		return cli_usage_error("token", "token %s: needs --token and --label", sub);
	if (is_import && !a.cert)
		return cli_usage_error("token", "token import: needs --cert FILE");
	if (is_objects && !a.token)
		return cli_usage_error("token", "token objects: needs --token LABEL");
	if (a.type && strcmp(a.type, "sm2") && strcmp(a.type, "ec-p256") &&
	    strcmp(a.type, "ec-p384") && strcmp(a.type, "rsa2048") && strcmp(a.type, "rsa3072"))
		return cli_usage_error("token",
				       "token keygen: unknown --type '%s' (sm2, ec-p256, "
				       "ec-p384, rsa2048, rsa3072)",
				       a.type);
	unsigned char id[64];
	size_t id_len;
	if (!get_id(a.id, id, &id_len))
		return EXIT_FAILURE_;

	unsigned char *der = NULL;
	size_t der_len = 0;
	if (is_import && !cli_read_cert(a.cert, &der, &der_len))
		return EXIT_FAILURE_;

	char pinbuf[128];
	const char *user_pin = cli_given_pin(&a.common);
	if (is_init && !user_pin) {
		if (!cli_prompt_secret("new user PIN: ", pinbuf, sizeof pinbuf)) {
			free(der);
			return cli_usage_error("token", "token init: give the user PIN with --pin "
							"or SEALKIT_PIN");
		}
		user_pin = pinbuf;
	}

	sealkit_module *m = NULL;
	if (!cli_load_module(&a.common, &m)) {
		free(der);
		return EXIT_FAILURE_;
	}
	sealkit_error err = {0};
	sealkit_token_options to;
	cli_token_options(&a.common, &to);
	int rc = EXIT_OK;
	if (is_list) {
		rc = do_list(m);
	} else if (is_init) {
		unsigned long slot = 0;
		if (sealkit_token_init(m, a.label, a.so_pin, user_pin, &slot, &err) != SEALKIT_OK)
			rc = cli_error("%s", err.message);
		else
			printf("initialised token '%s' in slot %lu\n", a.label, slot);
	} else if (is_keygen) {
		char *uri = NULL;
		if (sealkit_token_keygen(m, a.token, a.label, a.type, id, id_len, &to, &uri,
					 &err) != SEALKIT_OK)
			rc = cli_token_error(&a.common, &err);
		else
			printf("%s\n", uri);
		free(uri);
	} else if (is_import) {
		if (sealkit_token_import_cert(m, a.token, a.label, der, der_len, id, id_len, &to,
					      &err) != SEALKIT_OK)
			rc = cli_token_error(&a.common, &err);
		else
			printf("stored certificate '%s' on token '%s'\n", a.label, a.token);
	} else {
		sealkit_object_entry *o = NULL;
		size_t n = 0;
		int li = 0;
		if (sealkit_token_objects(m, a.token, &to, &o, &n, &li, &err) != SEALKIT_OK) {
			rc = cli_token_error(&a.common, &err);
		} else {
			printf("token '%s': %zu object%s%s\n", a.token, n, n == 1 ? "" : "s",
			       li ? "" : " (not logged in: public objects only)");
			for (size_t i = 0; i < n; i++)
				printf("  %-12s %-5s label '%s' id %s%s\n", o[i].kind,
				       o[i].key_type, o[i].label,
				       o[i].id_hex[0] ? o[i].id_hex : "-",
				       o[i].is_private ? " private" : "");
		}
		free(o);
	}
	memset(pinbuf, 0, sizeof pinbuf);
	free(der);
	sealkit_module_release(m);
	return rc;
}
