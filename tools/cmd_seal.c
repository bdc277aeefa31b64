/* sealkit seal create|show|picture */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "cli.h"
#include "sealkit/draw.h"

static void help(void)
{
	printf("Usage: sealkit seal create --maker-key URI --maker-cert FILE --signer-cert FILE\n"
	       "         [--signer-cert FILE ...] [--digest-list] --name NAME --type N\n"
	       "         --picture FILE [--picture-type png|gif|jpg|bmp|svg|ofd] --size WxH\n"
	       "         --valid-from DATE --valid-to DATE [--es-id ID] [--vid VENDOR]\n"
	       "         [--pin PIN] [--module PATH] -o SEAL.esl\n"
	       "       sealkit seal show SEAL.esl [--json]\n"
	       "       sealkit seal picture SEAL.esl -o FILE\n"
	       "       sealkit seal draw --name NAME [--code CODE] [--text TEXT]\n"
	       "         [--style official|personal] [--size MM] -o FILE.png|FILE.svg\n\n"
	       "--size is in millimetres (40x40). DATE is YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ.\n"
	       "--type takes a number or official (1) / personal (2). --digest-list stores SM3\n"
	       "digests of the signer certificates instead of the certificates.\n"
	       "seal draw: an official seal is a red ring with a star, NAME along the upper arc,\n"
	       "CODE along the lower edge and TEXT under the star; a personal seal is a square\n"
	       "with the name. --size defaults to 42 (official) or 20 (personal) mm.\n");
}

enum {
	O_MAKER_KEY = OPT_FIRST_COMMAND_OPTION,
	O_MAKER_CERT,
	O_SIGNER_CERT,
	O_DIGEST_LIST,
	O_NAME,
	O_TYPE,
	O_PICTURE,
	O_PICTURE_TYPE,
	O_SIZE,
	O_FROM,
	O_TO,
	O_ES_ID,
	O_VID,
	O_CODE,
	O_TEXT,
	O_STYLE
};

typedef struct seal_args {
	cli_common common;
	const char *maker_key, *maker_cert, *name, *type, *picture, *picture_type, *size, *from,
	    *to, *es_id, *vid, *out, *code, *text, *style;
	const char **signer_certs;
	size_t n_signer_certs;
	bool digest_list, json;
	const char *file; /* show/picture */
} seal_args;

static const char *picture_type_of(const char *given, const char *path)
{
	static const char *const map[][2] = {{"png", "PNG"},  {"gif", "GIF"}, {"jpg", "JPG"},
					     {"jpeg", "JPG"}, {"bmp", "BMP"}, {"svg", "SVG"},
					     {"ofd", "ofd"}};
	const char *ext = given;
	if (!ext) {
		ext = strrchr(path, '.');
		ext = ext ? ext + 1 : "";
	}
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (!strcasecmp(ext, map[i][0]))
			return map[i][1];
	return NULL;
}

static int do_create(seal_args *a)
{
	if (!a->maker_key || !a->maker_cert || !a->n_signer_certs || !a->name || !a->type ||
	    !a->picture || !a->size || !a->from || !a->to || !a->out)
		return cli_usage_error("seal", "seal create: needs --maker-key, --maker-cert, "
					       "--signer-cert, --name, --type, --picture, --size, "
					       "--valid-from, --valid-to and -o");
	long type;
	char *end;
	if (!strcmp(a->type, "official"))
		type = 1;
	else if (!strcmp(a->type, "personal"))
		type = 2;
	else if ((type = strtol(a->type, &end, 10)) < 0 || *end || !*a->type)
		return cli_usage_error("seal", "seal create: --type takes a number, official or "
					       "personal");
	long w, h;
	char x;
	if (sscanf(a->size, "%ld%c%ld", &w, &x, &h) != 3 || (x != 'x' && x != 'X') || w <= 0 ||
	    h <= 0)
		return cli_usage_error("seal",
				       "seal create: --size is WxH in millimetres, e.g. 40x40");
	time_t from, to;
	if (!cli_parse_date(a->from, &from) || !cli_parse_date(a->to, &to))
		return cli_usage_error("seal", "seal create: dates are YYYY-MM-DD or "
					       "YYYY-MM-DDTHH:MM:SSZ");
	if (to <= from)
		return cli_usage_error("seal",
				       "seal create: --valid-to must be after --valid-from");
	const char *ptype = picture_type_of(a->picture_type, a->picture);
	if (!ptype)
		return cli_usage_error("seal", "seal create: say which picture type it is: "
					       "--picture-type png|gif|jpg|bmp|svg|ofd");

	int rc = EXIT_FAILURE_;
	unsigned char *pic = NULL, *maker_cert = NULL, *der = NULL;
	size_t pic_len = 0, maker_len = 0, der_len = 0, nc = a->n_signer_certs;
	sealkit_bytes *certs = calloc(nc, sizeof *certs);
	sealkit_cert_digest *digests = calloc(nc, sizeof *digests);
	unsigned char(*dig)[32] = calloc(nc, 32);
	sealkit_module *m = NULL;
	sealkit_signer *maker = NULL;
	sealkit_error err = {0};
	char es_id[40];

	if (!certs || !digests || !dig) {
		cli_error("out of memory");
		goto out;
	}
	if (!cli_read_file(a->picture, &pic, &pic_len) ||
	    !cli_read_cert(a->maker_cert, &maker_cert, &maker_len))
		goto out;
	for (size_t i = 0; i < nc; i++) {
		unsigned char *d;
		size_t l;
		if (!cli_read_cert(a->signer_certs[i], &d, &l))
			goto out;
		certs[i] = (sealkit_bytes){d, l};
		unsigned int dl = 32;
		EVP_Digest(d, l, dig[i], &dl, EVP_sm3(), NULL);
		digests[i] = (sealkit_cert_digest){"sm3", {dig[i], 32}};
	}
	if (!a->es_id) {
		unsigned char r[6];
		RAND_bytes(r, sizeof r);
		snprintf(es_id, sizeof es_id, "SK%lld%02x%02x%02x%02x%02x%02x",
			 (long long)time(NULL), r[0], r[1], r[2], r[3], r[4], r[5]);
	}
	if (!cli_load_module(&a->common, &m))
		goto out;
	sealkit_token_options topts;
	cli_token_options(&a->common, &topts);
	if (sealkit_signer_open(m, a->maker_key, &topts, &maker, &err) != SEALKIT_OK) {
		cli_token_error(&a->common, &err);
		goto out;
	}
	sealkit_seal_fields f = {.vid = a->vid ? a->vid : "sealkit",
				 .es_id = a->es_id ? a->es_id : es_id,
				 .type = type,
				 .name = a->name,
				 .cert_list_type = a->digest_list ? SEALKIT_CERT_LIST_DIGESTS
								  : SEALKIT_CERT_LIST_CERTS,
				 .certs = a->digest_list ? NULL : certs,
				 .n_certs = a->digest_list ? 0 : nc,
				 .digests = a->digest_list ? digests : NULL,
				 .n_digests = a->digest_list ? nc : 0,
				 .create_date = time(NULL),
				 .valid_start = from,
				 .valid_end = to,
				 .picture_type = ptype,
				 .picture = {pic, pic_len},
				 .width = w,
				 .height = h};
	sealkit_bytes mc = {maker_cert, maker_len};
	if (sealkit_seal_make(&f, maker, &mc, &der, &der_len, &err) != SEALKIT_OK) {
		cli_error("%s", err.message);
		goto out;
	}
	if (!cli_write_file(a->out, der, der_len))
		goto out;
	printf("wrote %s: seal '%s' (es-id %s, %zu bytes)\n", a->out, a->name, f.es_id, der_len);
	rc = EXIT_OK;
out:
	for (size_t i = 0; certs && i < nc; i++)
		free((void *)certs[i].data);
	free(certs);
	free(digests);
	free(dig);
	free(pic);
	free(maker_cert);
	free(der);
	sealkit_signer_free(maker);
	if (m)
		sealkit_module_release(m);
	return rc;
}

static bool parse_seal_file(const char *path, unsigned char **data, sealkit_seal **s,
			    sealkit_warnings *w)
{
	size_t len;
	sealkit_error err = {0};
	if (!cli_read_file(path, data, &len))
		return false;
	if (sealkit_seal_parse(*data, len, 0, s, w, &err) != SEALKIT_OK) {
		cli_error("%s: %s", path, err.message);
		return false;
	}
	return true;
}

static void cert_names(const sealkit_bytes *c, char *subj, char *iss, size_t size, time_t *nb,
		       time_t *na)
{
	const unsigned char *p = c->data;
	X509 *x = d2i_X509(NULL, &p, (long)c->len);
	snprintf(subj, size, "(unreadable certificate)");
	iss[0] = '\0';
	*nb = *na = 0;
	if (!x)
		return;
	X509_NAME_oneline(X509_get_subject_name(x), subj, (int)size);
	X509_NAME_oneline(X509_get_issuer_name(x), iss, (int)size);
	struct tm tm;
	if (ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm))
		*nb = timegm(&tm);
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm))
		*na = timegm(&tm);
	X509_free(x);
}

static void hex(const unsigned char *b, size_t n, char *out, size_t size)
{
	size_t o = 0;
	for (size_t i = 0; i < n && o + 3 < size; i++, o += 2)
		snprintf(out + o, size - o, "%02x", b[i]);
	out[o] = '\0';
}

static void time_str(const sealkit_time *t, char *buf, size_t size)
{
	if (t->has_time)
		cli_format_time(t->t, buf, size);
	else
		snprintf(buf, size, "%s", t->text && *t->text ? t->text : "(none)");
}

static void json_cert_key(json_out *j, const char *key, const sealkit_bytes *c)
{
	char subj[512], iss[512], t1[40], t2[40];
	time_t nb, na;
	cert_names(c, subj, iss, sizeof subj, &nb, &na);
	json_obj(j, key);
	json_str(j, "subject", subj);
	json_str(j, "issuer", iss);
	json_str(j, "not_before", nb ? cli_format_time(nb, t1, sizeof t1) : NULL);
	json_str(j, "not_after", na ? cli_format_time(na, t2, sizeof t2) : NULL);
	json_int(j, "size", (long long)c->len);
	json_end_obj(j);
}

static int do_show(seal_args *a)
{
	unsigned char *data = NULL;
	sealkit_seal *s = NULL;
	sealkit_warnings w = {0};
	char buf[512], iss[512], t1[40], t2[40], t3[40];
	time_t nb, na;
	if (!parse_seal_file(a->file, &data, &s, &w)) {
		free(data);
		sealkit_warnings_free(&w);
		return EXIT_FAILURE_;
	}
	const char *cl =
	    s->property.cert_list_type == SEALKIT_CERT_LIST_DIGESTS ? "digests" : "certificates";
	time_str(&s->property.create_date, t1, sizeof t1);
	time_str(&s->property.valid_start, t2, sizeof t2);
	time_str(&s->property.valid_end, t3, sizeof t3);
	if (a->json) {
		json_out j;
		json_begin(&j, stdout);
		json_obj(&j, NULL);
		json_str(&j, "version", sealkit_format_name(s->format));
		json_obj(&j, "header");
		json_str(&j, "id", s->header.id);
		json_int(&j, "version", s->header.version);
		json_str(&j, "vid", s->header.vid);
		json_end_obj(&j);
		json_str(&j, "es_id", s->es_id);
		json_int(&j, "type", s->property.type);
		json_str(&j, "name", s->property.name);
		json_str(&j, "cert_list_type", cl);
		json_arr(&j, "signer_certs");
		for (size_t i = 0; i < s->property.n_certs; i++)
			json_cert_key(&j, NULL, &s->property.certs[i]);
		json_end_arr(&j);
		json_arr(&j, "signer_cert_digests");
		for (size_t i = 0; i < s->property.n_digests; i++) {
			hex(s->property.digests[i].value.data, s->property.digests[i].value.len,
			    buf, sizeof buf);
			json_obj(&j, NULL);
			json_str(&j, "type", s->property.digests[i].type);
			json_str(&j, "value", buf);
			json_end_obj(&j);
		}
		json_end_arr(&j);
		json_str(&j, "create_date", t1);
		json_str(&j, "valid_from", t2);
		json_str(&j, "valid_to", t3);
		json_obj(&j, "picture");
		json_str(&j, "type", s->picture.type);
		json_int(&j, "bytes", (long long)s->picture.data.len);
		json_int(&j, "width_mm", s->picture.width);
		json_int(&j, "height_mm", s->picture.height);
		json_end_obj(&j);
		json_cert_key(&j, "maker_cert", &s->maker_cert);
		json_str(&j, "signature_algorithm", s->sig_alg);
		json_int(&j, "extensions", (long long)s->n_ext);
		json_arr(&j, "warnings");
		for (size_t i = 0; i < w.count; i++)
			json_str(&j, NULL, w.items[i]);
		json_end_arr(&j);
		json_end_obj(&j);
		json_finish(&j);
	} else {
		printf("seal:            %s (%s)\n", a->file, sealkit_format_name(s->format));
		printf("header:          id %s, version %ld, vendor %s\n", s->header.id,
		       s->header.version, s->header.vid);
		printf("es-id:           %s\n", s->es_id);
		printf("name:            %s\n", s->property.name);
		printf("type:            %ld%s\n", s->property.type,
		       s->property.type == 1   ? " (official)"
		       : s->property.type == 2 ? " (personal)"
					       : "");
		printf("created:         %s\n", t1);
		printf("valid:           %s to %s\n", t2, t3);
		printf("signers (%s):\n", cl);
		for (size_t i = 0; i < s->property.n_certs; i++) {
			cert_names(&s->property.certs[i], buf, iss, sizeof buf, &nb, &na);
			printf("  %s (issuer %s, valid %s to %s)\n", buf, iss,
			       cli_format_time(nb, t1, sizeof t1),
			       cli_format_time(na, t2, sizeof t2));
		}
		for (size_t i = 0; i < s->property.n_digests; i++) {
			hex(s->property.digests[i].value.data, s->property.digests[i].value.len,
			    buf, sizeof buf);
			printf("  %s digest %s\n", s->property.digests[i].type, buf);
		}
		printf("picture:         %s, %zu bytes, %ldx%ld mm\n", s->picture.type,
		       s->picture.data.len, s->picture.width, s->picture.height);
		cert_names(&s->maker_cert, buf, iss, sizeof buf, &nb, &na);
		printf("maker:           %s (issuer %s)\n", buf, iss);
		printf("signature:       %s\n", s->sig_alg);
		for (size_t i = 0; i < w.count; i++)
			printf("warning: %s\n", w.items[i]);
	}
	sealkit_seal_free(s);
	sealkit_warnings_free(&w);
	free(data);
	return EXIT_OK;
}

static int do_picture(seal_args *a)
{
	unsigned char *data = NULL;
	sealkit_seal *s = NULL;
	int rc = EXIT_FAILURE_;
	if (!a->out)
		return cli_usage_error("seal", "seal picture: needs -o FILE");
	if (parse_seal_file(a->file, &data, &s, NULL) &&
	    cli_write_file(a->out, s->picture.data.data, s->picture.data.len)) {
		printf("wrote %s (%s, %zu bytes)\n", a->out, s->picture.type, s->picture.data.len);
		rc = EXIT_OK;
	}
	sealkit_seal_free(s);
	free(data);
	return rc;
}

static int do_draw(const seal_args *a)
{
	sealkit_draw_options o = {.name = a->name, .code = a->code, .text = a->text};
	unsigned char *png = NULL;
	size_t len = 0;
	sealkit_error err;
	char *end;

	if (!a->name)
		return cli_usage_error("seal", "seal draw: needs --name NAME");
	if (!a->out)
		return cli_usage_error("seal", "seal draw: needs -o FILE.png or FILE.svg");
	if (a->style && strcmp(a->style, "official") && strcmp(a->style, "personal"))
		return cli_usage_error("seal", "seal draw: --style is official or personal");
	o.style = a->style && !strcmp(a->style, "personal") ? SEALKIT_DRAW_PERSONAL
							     : SEALKIT_DRAW_OFFICIAL;
	if (a->size) {
		o.size_mm = strtod(a->size, &end);
		if (end == a->size || (*end && strcmp(end, "mm")))
			return cli_usage_error("seal", "seal draw: --size is in millimetres, e.g. 42");
	}
	if (sealkit_draw_format_for_path(a->out, &o.format, &err) != SEALKIT_OK)
		return cli_usage_error("seal", "seal draw: %s", err.message);
	if (sealkit_seal_draw(&o, &png, &len, &err) != SEALKIT_OK)
		return err.status == SEALKIT_ERR_ARGS ? cli_usage_error("seal", "seal draw: %s", err.message)
						      : cli_error("seal draw: %s", err.message);
	int rc = cli_write_file(a->out, png, len) ? EXIT_OK : EXIT_FAILURE_;
	if (rc == EXIT_OK)
		printf("wrote %s (%s seal, %.0f mm)\n", a->out,
		       o.style == SEALKIT_DRAW_PERSONAL ? "personal" : "official",
		       o.size_mm ? o.size_mm : o.style == SEALKIT_DRAW_PERSONAL ? 20.0 : 42.0);
	free(png);
	return rc;
}

int cmd_seal(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, OPT_HELP},
	    {"module", required_argument, NULL, OPT_MODULE},
	    {"pin", required_argument, NULL, OPT_PIN},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"maker-key", required_argument, NULL, O_MAKER_KEY},
	    {"maker-cert", required_argument, NULL, O_MAKER_CERT},
	    {"signer-cert", required_argument, NULL, O_SIGNER_CERT},
	    {"digest-list", no_argument, NULL, O_DIGEST_LIST},
	    {"name", required_argument, NULL, O_NAME},
	    {"type", required_argument, NULL, O_TYPE},
	    {"picture", required_argument, NULL, O_PICTURE},
	    {"picture-type", required_argument, NULL, O_PICTURE_TYPE},
	    {"size", required_argument, NULL, O_SIZE},
	    {"valid-from", required_argument, NULL, O_FROM},
	    {"valid-to", required_argument, NULL, O_TO},
	    {"es-id", required_argument, NULL, O_ES_ID},
	    {"vid", required_argument, NULL, O_VID},
	    {"code", required_argument, NULL, O_CODE},
	    {"text", required_argument, NULL, O_TEXT},
	    {"style", required_argument, NULL, O_STYLE},
	    {"output", required_argument, NULL, 'o'},
	    {NULL, 0, NULL, 0}};
	seal_args a = {0};
	int c, rc;

	if (argc < 2)
		return cli_usage_error("seal",
				       "seal: name a subcommand: create, show, picture or draw");
	const char *sub = argv[1];
	if (!strcmp(sub, "--help") || !strcmp(sub, "-h")) {
		help();
		return EXIT_OK;
	}
	a.signer_certs = calloc((size_t)argc, sizeof *a.signer_certs);
	if (!a.signer_certs)
		return cli_error("out of memory");
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc - 1, argv + 1, "o:", opts, NULL)) != -1) {
		switch (c) {
		case OPT_HELP:
			help();
			free(a.signer_certs);
			return EXIT_OK;
		case OPT_MODULE:
			a.common.module = optarg;
			break;
		case OPT_PIN:
			a.common.pin = optarg;
			break;
		case OPT_JSON:
			a.json = true;
			break;
		case O_MAKER_KEY:
			a.maker_key = optarg;
			break;
		case O_MAKER_CERT:
			a.maker_cert = optarg;
			break;
		case O_SIGNER_CERT:
			a.signer_certs[a.n_signer_certs++] = optarg;
			break;
		case O_DIGEST_LIST:
			a.digest_list = true;
			break;
		case O_NAME:
			a.name = optarg;
			break;
		case O_TYPE:
			a.type = optarg;
			break;
		case O_PICTURE:
			a.picture = optarg;
			break;
		case O_PICTURE_TYPE:
			a.picture_type = optarg;
			break;
		case O_SIZE:
			a.size = optarg;
			break;
		case O_FROM:
			a.from = optarg;
			break;
		case O_TO:
			a.to = optarg;
			break;
		case O_ES_ID:
			a.es_id = optarg;
			break;
		case O_VID:
			a.vid = optarg;
			break;
		case O_CODE:
			a.code = optarg;
			break;
		case O_TEXT:
			a.text = optarg;
			break;
		case O_STYLE:
			a.style = optarg;
			break;
		case 'o':
			a.out = optarg;
			break;
		default:
			free(a.signer_certs);
			return cli_usage_error("seal", "seal %s: unknown or incomplete option '%s'",
					       sub, argv[optind]);
		}
	}
	int npos = argc - 1 - optind;
	if (!strcmp(sub, "create")) {
		rc = npos ? cli_usage_error("seal", "seal create: unexpected argument '%s'",
					    argv[optind + 1])
			  : do_create(&a);
	} else if (!strcmp(sub, "show") || !strcmp(sub, "picture")) {
		if (npos != 1) {
			rc = cli_usage_error("seal", "seal %s: give one SEAL.esl", sub);
		} else {
			a.file = argv[optind + 1];
			rc = sub[0] == 's' ? do_show(&a) : do_picture(&a);
		}
	} else if (!strcmp(sub, "draw")) {
		rc = npos ? cli_usage_error("seal", "seal draw: unexpected argument '%s'",
					    argv[optind + 1])
			  : do_draw(&a);
	} else {
		rc = cli_usage_error("seal", "seal: unknown subcommand '%s'", sub);
	}
	free(a.signer_certs);
	return rc;
}
