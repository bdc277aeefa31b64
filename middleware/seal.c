/* Seals (SESeal): parsing V4, V5, V1 and the V1-layout-with-version-4 hybrid,
 * and building V4. See shared/spec/seal-format.md sections 1-3 and 9. */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "asn1.h"

const char *sealkit_format_name(sealkit_format f)
{
	switch (f) {
	case SEALKIT_FORMAT_V1:
		return "V1";
	case SEALKIT_FORMAT_V1_HYBRID:
		return "V1-hybrid";
	case SEALKIT_FORMAT_V4:
		return "V4";
	case SEALKIT_FORMAT_V5:
		return "V5";
	}
	return "unknown";
}

/* ---------------------------------------------------------------- parsing */

static void check_cert(struct parse_ctx *c, sealkit_bytes cert, const char *what)
{
	char why[ASN1_MAX_ERROR_DESCRIPTION_SIZE + 64];
	if (!cert_looks_valid(cert.data, cert.len, why, sizeof why))
		ctx_notice(c, "%s is not a DER X.509 certificate (%s)", what, why);
}

/* certList: certificates (V1, V4 type 1) or digest objects (V4 type 2).
 * list is the SEQUENCE OF TLV, a slice of the seal. */
static int parse_cert_list(struct parse_ctx *c, sealkit_bytes list, int v1, sealkit_seal *seal)
{
	struct der_tlv top, kids[SEAL_MAX_LIST];
	size_t n = 0;
	const char *why = NULL;
	long type = seal->property.cert_list_type;
	char label[96];

	if (der_read(list.data, list.len, 0, &top, &why) || top.tag != TAG_SEQUENCE)
		return ctx_fail(c, "SES_SealInfo.property.certList is not a SEQUENCE OF");
	if (der_children(list.data, &top, kids, SEAL_MAX_LIST, &n, &why))
		return ctx_fail(c, "SES_SealInfo.property.certList: %s", why);
	if (n > SEAL_MAX_LIST)
		return ctx_fail(c, "SES_SealInfo.property.certList: %zu entries, more than %d", n,
				SEAL_MAX_LIST);
	if (!v1 && type != SEALKIT_CERT_LIST_CERTS && type != SEALKIT_CERT_LIST_DIGESTS) {
		/* Untagged CHOICE: the entries tell the alternative (04 cert, 30 digest). */
		if (n == 0 || (kids[0].tag != TAG_OCTET_STRING && kids[0].tag != TAG_SEQUENCE))
			return ctx_fail(
			    c, "SES_SealInfo.property.certListType %ld is neither 1 nor 2", type);
		if (ctx_deviation(c,
				  "SES_SealInfo.property.certListType %ld is neither 1 (certs) nor "
				  "2 (digests); the entries are read as %s",
				  type, kids[0].tag == TAG_SEQUENCE ? "digests" : "certificates"))
			return -1;
		type = kids[0].tag == TAG_SEQUENCE ? SEALKIT_CERT_LIST_DIGESTS
						   : SEALKIT_CERT_LIST_CERTS;
	}
	if (n == 0)
		ctx_notice(c, "SES_SealInfo.property.certList is empty: no signer is permitted");

	if (type == SEALKIT_CERT_LIST_DIGESTS) {
		sealkit_cert_digest *dg = arena_alloc(c->arena, (n ? n : 1) * sizeof *dg);
		if (!dg)
			return ctx_fail(c, "out of memory");
		for (size_t i = 0; i < n; i++) {
			struct decoded d;
			int rc;
			snprintf(label, sizeof label, "certDigestList[%zu]", i);
			if (decode(c, MOD_V4, "GBT38540.CertDigestObj", list.data + kids[i].off,
				   kids[i].hdr + kids[i].len, label, &d))
				return -1;
			rc = read_string(c, &d, "type", &dg[i].type) ||
			     read_octets(c, &d, "value", &dg[i].value);
			decoded_free(&d);
			if (rc)
				return -1;
		}
		seal->property.digests = dg;
		seal->property.n_digests = n;
		return 0;
	}

	seal->property.certs = arena_alloc(c->arena, (n ? n : 1) * sizeof *seal->property.certs);
	if (!seal->property.certs)
		return ctx_fail(c, "out of memory");
	for (size_t i = 0; i < n; i++) {
		sealkit_bytes cert = {list.data + kids[i].off + kids[i].hdr, kids[i].len};
		if (kids[i].tag != TAG_OCTET_STRING) {
			/* iOFD writes IA5String "1" here. */
			seal->property.n_bad_entries++;
			if (ctx_deviation(c,
					  "SES_SealInfo.property.certList[%zu] has tag 0x%02x, not "
					  "an OCTET STRING holding a certificate; dropped",
					  i, kids[i].tag))
				return -1;
			continue;
		}
		snprintf(label, sizeof label, "certList[%zu]", i);
		check_cert(c, cert, label);
		seal->property.certs[seal->property.n_certs++] = cert;
	}
	return 0;
}

static int parse_seal_info(struct parse_ctx *c, sealkit_bytes info, int v1, sealkit_seal *seal)
{
	struct decoded d;
	sealkit_bytes list;
	unsigned char want = v1 ? TAG_UTC_TIME : TAG_GENERALIZED_TIME;
	int rc = -1;

	if (decode(c, v1 ? MOD_V1 : MOD_V4, v1 ? "GMT0031.SES_SealInfo" : "GBT38540.SES_SealInfo",
		   info.data, info.len, "SES_SealInfo", &d))
		return -1;
	if (read_string(c, &d, "header.id", &seal->header.id) ||
	    read_long(c, &d, "header.version", &seal->header.version) ||
	    read_string(c, &d, "header.vid", &seal->header.vid) ||
	    read_string(c, &d, "esID", &seal->es_id) ||
	    read_long(c, &d, "property.type", &seal->property.type) ||
	    read_string(c, &d, "property.name", &seal->property.name))
		goto out;
	if (v1)
		seal->property.cert_list_type = SEALKIT_CERT_LIST_CERTS;
	else if (read_long(c, &d, "property.certListType", &seal->property.cert_list_type))
		goto out;
	if (read_tlv_bytes(c, &d, "property.certList", &list) ||
	    parse_cert_list(c, list, v1, seal) ||
	    read_seal_time(c, &d, "property.createDate", want, &seal->property.create_date) ||
	    read_seal_time(c, &d, "property.validStart", want, &seal->property.valid_start) ||
	    read_seal_time(c, &d, "property.validEnd", want, &seal->property.valid_end) ||
	    read_string(c, &d, "picture.type", &seal->picture.type) ||
	    read_octets(c, &d, "picture.data", &seal->picture.data) ||
	    read_long(c, &d, "picture.width", &seal->picture.width) ||
	    read_long(c, &d, "picture.height", &seal->picture.height))
		goto out;
	if (has_element(&d, "extDatas")) {
		struct der_tlv t;
		if (element_tlv(c, &d, "extDatas", &t) ||
		    read_ext_list(c, d.der, &t, "SES_SealInfo.extDatas", &seal->ext, &seal->n_ext))
			goto out;
	}
	if (strcmp(seal->header.id, "ES") != 0)
		ctx_notice(c, "SES_SealInfo.header.id is '%.32s', not 'ES'", seal->header.id);
	rc = 0;
out:
	decoded_free(&d);
	return rc;
}

/* V4 and V5: SESeal { eSealInfo, cert, signAlgID, signedValue [, [0] timeStamp] }. */
static int parse_v4(struct parse_ctx *c, const unsigned char *der, size_t len, size_t n,
		    sealkit_seal *seal)
{
	struct decoded d;
	sealkit_bytes sig;
	unsigned unused = 0;
	int rc = -1;

	if (n == 5 &&
	    ctx_deviation(
		c, "a fifth element (V5 time stamp) follows signedValue; GB/T 38540 has four"))
		return -1;
	if (decode(c, MOD_V4, n == 5 ? "GBT38540.SESealV5" : "GBT38540.SESeal", der, len, "SESeal",
		   &d))
		return -1;
	if (read_tlv_bytes(c, &d, "eSealInfo", &seal->seal_info))
		goto out;
	/* A V4 stamp has the same outline; its first element starts with an INTEGER. */
	if (der_first_child_tag(seal->seal_info) == TAG_INTEGER) {
		ctx_fail(c, "this is a stamp (SES_Signature: TBS_Sign starts with a version "
			    "INTEGER), not a seal");
		goto out;
	}
	/* Structure first, then how the signature is encoded. */
	if (parse_seal_info(c, seal->seal_info, 0, seal) ||
	    read_octets(c, &d, "cert", &seal->maker_cert) ||
	    read_oid(c, &d, "signAlgID", &seal->sig_alg) ||
	    read_bits(c, &d, "signedValue", &sig, &unused) ||
	    sigvalue_read(c, "SESeal.signedValue", sig, unused, &seal->sig))
		goto out;
	if (n == 5) {
		struct der_tlv t, inner;
		const char *why = NULL;
		if (element_tlv(c, &d, "timeStamp", &t))
			goto out;
		if (der_read(der, t.off + t.hdr + t.len, t.off + t.hdr, &inner, &why)) {
			ctx_fail(c, "SESeal.timeStamp: %s", why);
			goto out;
		}
		if (bits_of_tlv(c, der + inner.off, &inner, "SESeal.timeStamp", &seal->timestamp,
				NULL))
			goto out;
		seal->has_timestamp = 1;
	}
	seal->tbs = seal->seal_info;
	if (seal->header.version == 5) {
		seal->format = SEALKIT_FORMAT_V5;
		ctx_notice(
		    c, "header version 5 (ofdrw's GM/T 0031-2025 \"V5\"): read as GB/T 38540 V4");
	} else {
		seal->format = SEALKIT_FORMAT_V4;
		if (seal->header.version != 4)
			ctx_notice(c, "header version %ld in a GB/T 38540 (V4) layout",
				   seal->header.version);
	}
	rc = 0;
out:
	decoded_free(&d);
	return rc;
}

/* V1: SESeal { esealInfo, signInfo { cert, signatureAlgorithm, signData } }. */
static int parse_v1(struct parse_ctx *c, const unsigned char *der, size_t len, sealkit_seal *seal)
{
	struct decoded d;
	struct der_tlv cert, alg;
	sealkit_bytes sig;
	unsigned unused = 0;
	unsigned char hdr[8], *tbs;
	size_t hl, certalg;
	int rc = -1;

	if (decode(c, MOD_V1, "GMT0031.SESeal", der, len, "SESeal", &d))
		return -1;
	if (read_tlv_bytes(c, &d, "esealInfo", &seal->seal_info) ||
	    parse_seal_info(c, seal->seal_info, 1, seal) ||
	    read_octets(c, &d, "signInfo.cert", &seal->maker_cert) ||
	    read_oid(c, &d, "signInfo.signatureAlgorithm", &seal->sig_alg) ||
	    read_bits(c, &d, "signInfo.signData", &sig, &unused) ||
	    sigvalue_read(c, "SESeal.signInfo.signData", sig, unused, &seal->sig) ||
	    element_tlv(c, &d, "signInfo.cert", &cert) ||
	    element_tlv(c, &d, "signInfo.signatureAlgorithm", &alg))
		goto out;
	/* The maker signed SEQUENCE { esealInfo, cert, alg }: a new header over
	 * the original TLVs (cert and alg are adjacent inside SES_SignInfo). */
	certalg = alg.off + alg.hdr + alg.len - cert.off;
	hl = der_put_header(hdr, TAG_SEQUENCE, seal->seal_info.len + certalg);
	if (!(tbs = arena_alloc(c->arena, hl + seal->seal_info.len + certalg))) {
		ctx_fail(c, "out of memory");
		goto out;
	}
	memcpy(tbs, hdr, hl);
	memcpy(tbs + hl, seal->seal_info.data, seal->seal_info.len);
	memcpy(tbs + hl + seal->seal_info.len, der + cert.off, certalg);
	seal->tbs.data = tbs;
	seal->tbs.len = hl + seal->seal_info.len + certalg;
	if (seal->header.version == 1) {
		seal->format = SEALKIT_FORMAT_V1;
	} else if (seal->header.version == 4) {
		seal->format = SEALKIT_FORMAT_V1_HYBRID;
		ctx_notice(c, "header version 4 in a GM/T 0031 (V1) layout (the Suwell/JHSEC "
			      "hybrid): read as V1");
	} else {
		seal->format = SEALKIT_FORMAT_V1;
		ctx_notice(c, "header version %ld in a GM/T 0031 (V1) layout",
			   seal->header.version);
	}
	rc = 0;
out:
	decoded_free(&d);
	return rc;
}

int seal_parse_into(struct parse_ctx *c, const unsigned char *der, size_t len, int walked,
		    sealkit_seal *seal)
{
	struct der_tlv top, kids[6];
	size_t n = 0, long_at, bad_at;
	const char *why = NULL;
	int rc = -1;

	seal->der.data = der;
	seal->der.len = len;
	if (der_read(der, len, 0, &top, &why)) {
		ctx_fail(c, "not a DER element: %s", why);
		goto out;
	}
	if (top.tag != TAG_SEQUENCE) {
		ctx_fail(c, "does not start with a SEQUENCE (tag 0x%02x)", top.tag);
		goto out;
	}
	if (top.hdr + top.len != len) {
		ctx_fail(c, "%zu octets follow the seal's SEQUENCE", len - top.hdr - top.len);
		goto out;
	}
	if (!walked) {
		if (der_walk(der, len, &long_at, &bad_at, &why)) {
			ctx_fail(c, "malformed DER at offset %zu: %s", bad_at, why);
			goto out;
		}
		if (long_at != (size_t)-1 &&
		    ctx_deviation(c, "length at offset %zu is not in its shortest form", long_at))
			goto out;
	}
	if (der_children(der, &top, kids, 6, &n, &why)) {
		ctx_fail(c, "malformed DER: %s", why);
		goto out;
	}
	if (n == 2 && kids[1].tag == TAG_SEQUENCE)
		rc = parse_v1(c, der, len, seal);
	else if ((n == 4 || n == 5) && kids[1].tag == TAG_OCTET_STRING)
		rc = parse_v4(c, der, len, n, seal);
	else
		ctx_fail(c,
			 "neither a V4 seal (4 elements, cert second) nor a V1 seal (2 elements, "
			 "SES_SignInfo second): %zu elements%s",
			 n,
			 n >= 2 ? (kids[1].tag == TAG_SEQUENCE || kids[1].tag == TAG_OCTET_STRING
				       ? ", in the wrong number"
				       : ", the second neither a SEQUENCE nor an OCTET STRING")
				: "");
	if (rc == 0)
		check_cert(c, seal->maker_cert, "the maker certificate");
out:
	return rc;
}

sealkit_status sealkit_seal_parse(const void *der, size_t len, unsigned flags, sealkit_seal **out,
				  sealkit_warnings *warnings, sealkit_error *err)
{
	struct arena *arena = NULL;
	sealkit_seal *seal = NULL;
	unsigned char *copy;
	struct parse_ctx c = {.flags = flags, .warnings = warnings, .err = err, .what = "seal"};

	if (out)
		*out = NULL;
	if (!der || !out || (flags & ~SEALKIT_PARSE_STRICT))
		return sealkit_fail(err, SEALKIT_ERR_ARGS,
				    "seal: no input, no output or unknown flags");
	if (len == 0)
		return sealkit_fail(err, SEALKIT_ERR_FORMAT, "seal: empty input");
	if (len > INT_MAX)
		return sealkit_fail(err, SEALKIT_ERR_FORMAT, "seal: %zu octets is too large", len);
	if (!(arena = calloc(1, sizeof *arena)))
		return sealkit_fail(err, SEALKIT_ERR_MEMORY, "seal: out of memory");
	c.arena = arena;
	if (!(seal = arena_alloc(arena, sizeof *seal)) || !(copy = arena_alloc(arena, len))) {
		sealkit_fail(err, c.status = SEALKIT_ERR_MEMORY, "seal: out of memory");
		goto out;
	}
	/* An exact-size copy: a read past the input is a read past an allocation. */
	memcpy(copy, der, len);
	seal->priv = arena;
	if (seal_parse_into(&c, copy, len, 0, seal) == 0) {
		*out = seal;
		arena = NULL;
	} else if (c.status == SEALKIT_OK) {
		sealkit_fail(err, c.status = SEALKIT_ERR_FORMAT, "seal: malformed");
	}
out:
	if (arena) {
		arena_free(arena);
		free(arena);
	}
	return *out ? SEALKIT_OK : c.status;
}

void sealkit_seal_free(sealkit_seal *seal)
{
	struct arena *a;

	/* A seal inside a stamp belongs to the stamp's arena (priv NULL). */
	if (!seal || !seal->priv)
		return;
	a = seal->priv;
	arena_free(a);
	free(a);
}

/* ---------------------------------------------------------------- building */

static sealkit_status need_text(const char *s, const char *what, int ascii, sealkit_error *err)
{
	if (!s)
		return sealkit_fail(err, SEALKIT_ERR_ARGS, "seal: %s is missing", what);
	if (strlen(s) > INT_MAX / 2)
		return sealkit_fail(err, SEALKIT_ERR_ARGS, "seal: %s is too long", what);
	if (ascii && !is_ia5(s))
		return sealkit_fail(err, SEALKIT_ERR_ARGS, "seal: %s must be ASCII (IA5String)",
				    what);
	if (!ascii && !is_utf8((const unsigned char *)s, strlen(s)))
		return sealkit_fail(err, SEALKIT_ERR_ARGS, "seal: %s is not valid UTF-8", what);
	return SEALKIT_OK;
}

static int bytes_ok(sealkit_bytes b)
{
	return b.data && b.len > 0 && b.len <= INT_MAX / 8;
}

/* The DER of certList: CertInfoList or CertDigestList. */
static sealkit_status encode_cert_list(const sealkit_seal_fields *f, unsigned char **der,
				       size_t *len, sealkit_error *err)
{
	int digests = f->cert_list_type == SEALKIT_CERT_LIST_DIGESTS;
	size_t n = digests ? f->n_digests : f->n_certs;
	asn1_node node = NULL;
	sealkit_status st = SEALKIT_ERR_ARGS;

	if (f->cert_list_type != SEALKIT_CERT_LIST_CERTS && !digests) {
		st = sealkit_fail(err, SEALKIT_ERR_ARGS,
				  "seal: certListType %ld is neither 1 nor 2", f->cert_list_type);
		goto out;
	}
	if (n == 0 || (digests ? !f->digests : !f->certs)) {
		st = sealkit_fail(err, SEALKIT_ERR_ARGS, "seal: the %s list is empty",
				  digests ? "certificate digest" : "signer certificate");
		goto out;
	}
	if (!(node = encode_start(
		  MOD_V4, digests ? "GBT38540.CertDigestList" : "GBT38540.CertInfoList", err)))
		goto out;
	for (size_t i = 0; i < n; i++) {
		if ((st = encode_write(node, "", "NEW", 1, err)) != SEALKIT_OK)
			goto out;
		if (!digests) {
			if (!bytes_ok(f->certs[i])) {
				st = sealkit_fail(err, SEALKIT_ERR_ARGS,
						  "seal: certificate %zu is empty", i);
				goto out;
			}
			st = encode_write(node, "?LAST", f->certs[i].data, (int)f->certs[i].len,
					  err);
		} else {
			const sealkit_cert_digest *dg = &f->digests[i];
			if (!dg->type || !*dg->type || !is_printable(dg->type) ||
			    strlen(dg->type) > 64 || !bytes_ok(dg->value)) {
				st = sealkit_fail(
				    err, SEALKIT_ERR_ARGS,
				    "seal: digest %zu needs a PrintableString type and a value", i);
				goto out;
			}
			if ((st = encode_write(node, "?LAST.type", dg->type, (int)strlen(dg->type),
					       err)) == SEALKIT_OK)
				st = encode_write(node, "?LAST.value", dg->value.data,
						  (int)dg->value.len, err);
		}
		if (st != SEALKIT_OK)
			goto out;
	}
	st = encode_finish(&node, "seal: certList", der, len, err);
out:
	if (node)
		asn1_delete_structure(&node);
	return st;
}

sealkit_status sealkit_seal_encode_info(const sealkit_seal_fields *f, unsigned char **der,
					size_t *len, sealkit_error *err)
{
	unsigned char *list = NULL;
	size_t list_len = 0;
	asn1_node n = NULL;
	sealkit_status st = SEALKIT_ERR_ARGS;

	if (!f || !der || !len) {
		st = sealkit_fail(err, SEALKIT_ERR_ARGS, "seal: no fields or no output");
		goto out;
	}
	*der = NULL;
	*len = 0;
	if ((st = need_text(f->vid, "vid", 1, err)) || (st = need_text(f->es_id, "esID", 1, err)) ||
	    (st = need_text(f->name, "name", 0, err)) ||
	    (st = need_text(f->picture_type, "picture type", 1, err)))
		goto out;
	if (!bytes_ok(f->picture)) {
		st = sealkit_fail(err, SEALKIT_ERR_ARGS, "seal: the picture is empty");
		goto out;
	}
	if ((st = encode_cert_list(f, &list, &list_len, err)) != SEALKIT_OK)
		goto out;
	if (!(n = encode_start(MOD_V4, "GBT38540.SES_SealInfo", err))) {
		st = err ? err->status : SEALKIT_ERR_ARGS;
		goto out;
	}
	if ((st = encode_write(n, "header.id", "ES", 2, err)) ||
	    (st = encode_long(n, "header.version", 4, err)) ||
	    (st = encode_write(n, "header.vid", f->vid, (int)strlen(f->vid), err)) ||
	    (st = encode_write(n, "esID", f->es_id, (int)strlen(f->es_id), err)) ||
	    (st = encode_long(n, "property.type", f->type, err)) ||
	    (st = encode_write(n, "property.name", f->name, (int)strlen(f->name), err)) ||
	    (st = encode_long(n, "property.certListType", f->cert_list_type, err)) ||
	    (st = encode_write(n, "property.certList", list, (int)list_len, err)) ||
	    (st = encode_time(n, "property.createDate", f->create_date, err)) ||
	    (st = encode_time(n, "property.validStart", f->valid_start, err)) ||
	    (st = encode_time(n, "property.validEnd", f->valid_end, err)) ||
	    (st = encode_write(n, "picture.type", f->picture_type, (int)strlen(f->picture_type),
			       err)) ||
	    (st = encode_write(n, "picture.data", f->picture.data, (int)f->picture.len, err)) ||
	    (st = encode_long(n, "picture.width", f->width, err)) ||
	    (st = encode_long(n, "picture.height", f->height, err)) ||
	    (st = encode_extensions(n, "extDatas", f->ext, f->n_ext, err)))
		goto out;
	st = encode_finish(&n, "seal: SES_SealInfo", der, len, err);
out:
	if (n)
		asn1_delete_structure(&n);
	free(list);
	return st;
}

sealkit_status sealkit_seal_assemble(sealkit_bytes seal_info, sealkit_bytes maker_cert,
				     const char *sig_alg, sealkit_bytes sig_value,
				     unsigned char **der, size_t *len, sealkit_error *err)
{
	struct arena arena = {NULL};
	sealkit_seal probe;
	struct parse_ctx c = {
	    .flags = SEALKIT_PARSE_STRICT, .err = err, .what = "seal: seal_info", .arena = &arena};
	char why[ASN1_MAX_ERROR_DESCRIPTION_SIZE + 64];
	asn1_node n = NULL;
	sealkit_status st = SEALKIT_ERR_ARGS;

	if (!der || !len || !bytes_ok(seal_info) || !bytes_ok(maker_cert) || !bytes_ok(sig_value)) {
		st = sealkit_fail(
		    err, SEALKIT_ERR_ARGS,
		    "seal: seal_info, maker certificate, signature and output are all needed");
		goto out;
	}
	*der = NULL;
	*len = 0;
	/* Only what we would accept in strict mode gets signed into a seal. */
	memset(&probe, 0, sizeof probe);
	if (parse_seal_info(&c, seal_info, 0, &probe)) {
		st = SEALKIT_ERR_ARGS;
		if (err)
			err->status = st;
		goto out;
	}
	if (probe.header.version != 4) {
		st = sealkit_fail(err, SEALKIT_ERR_ARGS,
				  "seal: seal_info has header version %ld, not 4",
				  probe.header.version);
		goto out;
	}
	if (!cert_looks_valid(maker_cert.data, maker_cert.len, why, sizeof why)) {
		st = sealkit_fail(err, SEALKIT_ERR_ARGS,
				  "seal: the maker certificate is not a DER X.509 certificate (%s)",
				  why);
		goto out;
	}
	if (!encode_oid_ok(sig_alg)) {
		st = sealkit_fail(err, SEALKIT_ERR_ARGS, "seal: '%s' is not a dotted OID",
				  sig_alg ? sig_alg : "(null)");
		goto out;
	}
	if (!sig_is_strict_der(sig_value.data, sig_value.len)) {
		st = sealkit_fail(err, SEALKIT_ERR_ARGS,
				  "seal: the signature value must be DER SEQUENCE{r,s} "
				  "(sealkit_sig_from_raw converts r||s)");
		goto out;
	}
	if (!(n = encode_start(MOD_V4, "GBT38540.SESeal", err))) {
		st = err ? err->status : SEALKIT_ERR_ARGS;
		goto out;
	}
	if ((st = encode_write(n, "eSealInfo", seal_info.data, (int)seal_info.len, err)) ||
	    (st = encode_write(n, "cert", maker_cert.data, (int)maker_cert.len, err)) ||
	    (st = encode_write(n, "signAlgID", sig_alg, 1, err)) ||
	    (st = encode_write(n, "signedValue", sig_value.data, (int)sig_value.len * 8, err)))
		goto out;
	st = encode_finish(&n, "seal", der, len, err);
out:
	if (n)
		asn1_delete_structure(&n);
	arena_free(&arena);
	return st;
}
