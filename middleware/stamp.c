/* Seal signatures ("stamps", SES_Signature): parsing V4, V5, V1 and the
 * hybrid, and building V4. See shared/spec/seal-format.md sections 1-3 and 9. */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "asn1.h"

/* ---------------------------------------------------------------- parsing */

/* The seal inside TBS_Sign, parsed in place: its slices point into the stamp. */
static int parse_embedded_seal(struct parse_ctx *c, sealkit_stamp *stamp)
{
	struct parse_ctx sub = *c;
	char what[64];

	snprintf(what, sizeof what, "%s: seal", c->what);
	sub.what = what;
	if (!(stamp->seal = arena_alloc(c->arena, sizeof *stamp->seal)))
		return ctx_fail(c, "out of memory");
	/* The stamp's der_walk already covered these bytes. */
	if (seal_parse_into(&sub, stamp->seal_der.data, stamp->seal_der.len, 1, stamp->seal)) {
		c->status = sub.status;
		return -1;
	}
	return 0;
}

static void check_signer_cert(struct parse_ctx *c, sealkit_bytes cert)
{
	char why[ASN1_MAX_ERROR_DESCRIPTION_SIZE + 64];
	if (!cert_looks_valid(cert.data, cert.len, why, sizeof why))
		ctx_notice(c, "the signer certificate is not a DER X.509 certificate (%s)", why);
}

/* Whether TBS_Sign.extDatas (the A0 TLV at t) is [0] EXPLICIT: A0 { 30 { 30 ... } }.
 * IMPLICIT holds the ExtData directly: A0 { 30 { 06 ... } }. */
static int ext_is_explicit(const unsigned char *der, const struct der_tlv *t)
{
	struct der_tlv inner, first;
	const char *why;
	size_t end = t->off + t->hdr + t->len;

	if (t->len == 0 || der_read(der, end, t->off + t->hdr, &inner, &why) ||
	    inner.tag != TAG_SEQUENCE)
		return 1; /* let the explicit type report what is wrong */
	if (inner.len == 0)
		return inner.off + inner.hdr == end; /* an empty list: 30 00 alone */
	if (der_read(der, end, inner.off + inner.hdr, &first, &why))
		return 1;
	return first.tag == TAG_SEQUENCE;
}

/* V4 TBS_Sign { version, eseal, timeInfo, dataHash, propertyInfo, [0] extDatas OPTIONAL }. */
static int parse_tbs_v4(struct parse_ctx *c, sealkit_stamp *stamp)
{
	const unsigned char *der = stamp->tbs.data;
	struct der_tlv top, kids[7];
	struct decoded d = {NULL};
	const char *why = NULL, *type = "GBT38540.TBS_Sign";
	size_t n = 0;
	int explicit_ext = 1, rc = -1;

	if (der_read(der, stamp->tbs.len, 0, &top, &why) ||
	    der_children(der, &top, kids, 7, &n, &why)) {
		ctx_fail(c, "TBS_Sign: %s", why);
		goto out;
	}
	if (n == 6 && kids[5].tag == TAG_CONTEXT_0_CONS &&
	    !(explicit_ext = ext_is_explicit(der, &kids[5]))) {
		if (ctx_deviation(
			c, "TBS_Sign.extDatas is [0] IMPLICIT; producers write [0] EXPLICIT"))
			goto out;
		type = "GBT38540.TBS_SignImplicitExt";
	}
	if (decode(c, MOD_V4, type, der, stamp->tbs.len, "TBS_Sign", &d) ||
	    read_long(c, &d, "version", &stamp->version) ||
	    read_tlv_bytes(c, &d, "eseal", &stamp->seal_der) ||
	    read_seal_time(c, &d, "timeInfo", TAG_GENERALIZED_TIME, &stamp->time_info) ||
	    read_bits(c, &d, "dataHash", &stamp->data_hash, &stamp->data_hash_unused_bits) ||
	    read_string(c, &d, "propertyInfo", &stamp->property_info))
		goto out;
	if (has_element(&d, "extDatas")) {
		struct der_tlv t, list;
		if (element_tlv(c, &d, "extDatas", &t))
			goto out;
		list = t;
		if (explicit_ext &&
		    der_read(der, t.off + t.hdr + t.len, t.off + t.hdr, &list, &why)) {
			ctx_fail(c, "TBS_Sign.extDatas: %s", why);
			goto out;
		}
		if (read_ext_list(c, der, &list, "TBS_Sign.extDatas", &stamp->ext, &stamp->n_ext))
			goto out;
	}
	rc = 0;
out:
	decoded_free(&d);
	return rc;
}

/* V4: SES_Signature { toSign, cert, signatureAlgID, signature [, [0] timeStamp] }. */
static int parse_v4(struct parse_ctx *c, const unsigned char *der, size_t len,
		    const struct der_tlv *kids, size_t n, sealkit_stamp *stamp)
{
	struct decoded d = {NULL};
	const char *type = "GBT38540.SES_Signature";
	sealkit_bytes sig;
	unsigned unused = 0;
	int implicit_ts = n == 5 && kids[4].tag == TAG_CONTEXT_0, rc = -1;

	if (implicit_ts) {
		if (ctx_deviation(
			c, "SES_Signature.timeStamp is [0] IMPLICIT; producers write [0] EXPLICIT"))
			goto out;
		type = "GBT38540.SES_SignatureImplicitTS";
	}
	if (decode(c, MOD_V4, type, der, len, "SES_Signature", &d) ||
	    read_tlv_bytes(c, &d, "toSign", &stamp->tbs))
		goto out;
	/* A V4 seal has the same outline; its first element starts with a SEQUENCE. */
	if (der_first_child_tag(stamp->tbs) == TAG_SEQUENCE) {
		ctx_fail(c, "this is a seal (SESeal: SES_SealInfo starts with a header SEQUENCE), "
			    "not a stamp");
		goto out;
	}
	/* Structure first, then how the signature is encoded. */
	if (parse_tbs_v4(c, stamp) || parse_embedded_seal(c, stamp) ||
	    read_octets(c, &d, "cert", &stamp->signer_cert) ||
	    read_oid(c, &d, "signatureAlgID", &stamp->sig_alg) ||
	    read_bits(c, &d, "signature", &sig, &unused) ||
	    sigvalue_read(c, "SES_Signature.signature", sig, unused, &stamp->sig))
		goto out;
	if (has_element(&d, "timeStamp")) {
		struct der_tlv t, inner;
		const char *why = NULL;
		if (element_tlv(c, &d, "timeStamp", &t))
			goto out;
		inner = t;
		if (!implicit_ts &&
		    der_read(der, t.off + t.hdr + t.len, t.off + t.hdr, &inner, &why)) {
			ctx_fail(c, "SES_Signature.timeStamp: %s", why);
			goto out;
		}
		if (bits_of_tlv(c, der + inner.off, &inner, "SES_Signature.timeStamp",
				&stamp->timestamp, NULL))
			goto out;
		stamp->has_timestamp = 1;
	}
	switch (stamp->seal->format) {
	case SEALKIT_FORMAT_V5:
		stamp->format = SEALKIT_FORMAT_V5;
		ctx_notice(c,
			   "the seal has header version 5 (ofdrw \"V5\"): read as GB/T 38540 V4");
		break;
	case SEALKIT_FORMAT_V4:
		stamp->format = SEALKIT_FORMAT_V4;
		break;
	default:
		stamp->format = SEALKIT_FORMAT_V4;
		ctx_notice(c, "a GB/T 38540 (V4) stamp holds a GM/T 0031 (V1) seal");
		break;
	}
	if (stamp->version != stamp->seal->header.version)
		ctx_notice(c, "TBS_Sign.version %ld differs from the seal's header version %ld",
			   stamp->version, stamp->seal->header.version);
	rc = 0;
out:
	decoded_free(&d);
	return rc;
}

/* V1 timeInfo and dataHash: BIT STRING, tolerated as OCTET STRING. */
static int v1_bits(struct parse_ctx *c, const struct decoded *d, const char *name,
		   sealkit_bytes *out, unsigned *unused, unsigned char *tag)
{
	struct der_tlv t;
	char label[64];

	snprintf(label, sizeof label, "TBS_Sign.%s", name);
	if (element_tlv(c, d, name, &t))
		return -1;
	*tag = t.tag;
	if (t.tag == TAG_BIT_STRING)
		return bits_of_tlv(c, d->der + t.off, &t, label, out, unused);
	if (t.tag != TAG_OCTET_STRING)
		return ctx_fail(c, "%s has tag 0x%02x; GM/T 0031 has a BIT STRING", label, t.tag);
	if (ctx_deviation(c, "%s is an OCTET STRING; GM/T 0031 has a BIT STRING", label))
		return -1;
	out->data = d->der + t.off + t.hdr;
	out->len = t.len;
	if (unused)
		*unused = 0;
	return 0;
}

/* V1 timeInfo is "a time stamp or a time": in practice ASCII text. */
static int v1_time_info(struct parse_ctx *c, const struct decoded *d, sealkit_time *ti)
{
	sealkit_bytes raw;
	unsigned char tag = 0;
	int printable = 1, canonical;
	char *text;

	memset(ti, 0, sizeof *ti);
	if (v1_bits(c, d, "timeInfo", &raw, NULL, &tag))
		return -1;
	ti->tag = tag;
	ti->raw = raw;
	for (size_t i = 0; i < raw.len; i++)
		if (raw.data[i] < 0x20 || raw.data[i] > 0x7e)
			printable = 0;
	if (!(text = arena_alloc(c->arena, printable ? raw.len + 1 : 1)))
		return ctx_fail(c, "out of memory");
	if (printable)
		memcpy(text, raw.data, raw.len);
	ti->text = text;
	if (!printable)
		ctx_notice(c,
			   "TBS_Sign.timeInfo holds %zu octets of binary data (a time-stamp "
			   "token?), not a time",
			   raw.len);
	else if (time_parse(0, raw.data, raw.len, ti, &canonical))
		ctx_notice(c, "TBS_Sign.timeInfo '%.40s' is not a time this parser knows", text);
	return 0;
}

/* V1: SES_Signature { toSign, signature }, TBS_Sign { version, eseal, timeInfo,
 * dataHash, propertyInfo, cert, signatureAlgorithm }. */
static int parse_v1(struct parse_ctx *c, const unsigned char *der, size_t len, sealkit_stamp *stamp)
{
	struct decoded d = {NULL}, t = {NULL};
	sealkit_bytes sig;
	unsigned unused = 0;
	unsigned char tag;
	int rc = -1;

	if (decode(c, MOD_V1, "GMT0031.SES_Signature", der, len, "SES_Signature", &d) ||
	    read_tlv_bytes(c, &d, "toSign", &stamp->tbs) ||
	    decode(c, MOD_V1, "GMT0031.TBS_Sign", stamp->tbs.data, stamp->tbs.len, "TBS_Sign",
		   &t) ||
	    read_long(c, &t, "version", &stamp->version) ||
	    read_tlv_bytes(c, &t, "eseal", &stamp->seal_der) ||
	    v1_time_info(c, &t, &stamp->time_info) ||
	    v1_bits(c, &t, "dataHash", &stamp->data_hash, &stamp->data_hash_unused_bits, &tag) ||
	    read_string(c, &t, "propertyInfo", &stamp->property_info) ||
	    read_octets(c, &t, "cert", &stamp->signer_cert) ||
	    read_oid(c, &t, "signatureAlgorithm", &stamp->sig_alg) ||
	    parse_embedded_seal(c, stamp) || read_bits(c, &d, "signature", &sig, &unused) ||
	    sigvalue_read(c, "SES_Signature.signature", sig, unused, &stamp->sig))
		goto out;
	if (stamp->seal->format == SEALKIT_FORMAT_V1_HYBRID || stamp->version == 4) {
		stamp->format = SEALKIT_FORMAT_V1_HYBRID;
		ctx_notice(c,
			   "TBS_Sign.version %ld in a GM/T 0031 (V1) layout (the Suwell/JHSEC "
			   "hybrid): read as V1",
			   stamp->version);
	} else {
		stamp->format = SEALKIT_FORMAT_V1;
	}
	if (!SEALKIT_FORMAT_IS_V1(stamp->seal->format))
		ctx_notice(c, "a GM/T 0031 (V1) stamp holds a GB/T 38540 (V4) seal");
	rc = 0;
out:
	decoded_free(&t);
	decoded_free(&d);
	return rc;
}

sealkit_status sealkit_stamp_parse(const void *der, size_t len, unsigned flags, sealkit_stamp **out,
				   sealkit_warnings *warnings, sealkit_error *err)
{
	struct arena *arena = NULL;
	sealkit_stamp *stamp = NULL;
	unsigned char *copy;
	struct parse_ctx c = {.flags = flags, .warnings = warnings, .err = err, .what = "stamp"};
	struct der_tlv top, kids[6];
	size_t n = 0, long_at, bad_at;
	const char *why = NULL;
	int rc = -1;

	if (out)
		*out = NULL;
	if (!der || !out || (flags & ~SEALKIT_PARSE_STRICT))
		return sealkit_fail(err, SEALKIT_ERR_ARGS,
				    "stamp: no input, no output or unknown flags");
	if (len == 0)
		return sealkit_fail(err, SEALKIT_ERR_FORMAT, "stamp: empty input");
	if (len > INT_MAX)
		return sealkit_fail(err, SEALKIT_ERR_FORMAT, "stamp: %zu octets is too large", len);
	if (!(arena = calloc(1, sizeof *arena)))
		return sealkit_fail(err, SEALKIT_ERR_MEMORY, "stamp: out of memory");
	c.arena = arena;
	if (!(stamp = arena_alloc(arena, sizeof *stamp)) || !(copy = arena_alloc(arena, len))) {
		sealkit_fail(err, c.status = SEALKIT_ERR_MEMORY, "stamp: out of memory");
		goto out;
	}
	/* An exact-size copy: a read past the input is a read past an allocation. */
	memcpy(copy, der, len);
	stamp->priv = arena;
	stamp->der.data = copy;
	stamp->der.len = len;
	if (der_read(copy, len, 0, &top, &why)) {
		ctx_fail(&c, "not a DER element: %s", why);
		goto out;
	}
	if (top.tag != TAG_SEQUENCE) {
		ctx_fail(&c, "does not start with a SEQUENCE (tag 0x%02x)", top.tag);
		goto out;
	}
	if (top.hdr + top.len != len) {
		ctx_fail(&c, "%zu octets follow the stamp's SEQUENCE", len - top.hdr - top.len);
		goto out;
	}
	if (der_walk(copy, len, &long_at, &bad_at, &why)) {
		ctx_fail(&c, "malformed DER at offset %zu: %s", bad_at, why);
		goto out;
	}
	if (long_at != (size_t)-1 &&
	    ctx_deviation(&c, "length at offset %zu is not in its shortest form", long_at))
		goto out;
	if (der_children(copy, &top, kids, 6, &n, &why)) {
		ctx_fail(&c, "malformed DER: %s", why);
		goto out;
	}
	if (n == 2 && kids[0].tag == TAG_SEQUENCE && kids[1].tag == TAG_BIT_STRING)
		rc = parse_v1(&c, copy, len, stamp);
	else if ((n == 4 || n == 5) && kids[0].tag == TAG_SEQUENCE &&
		 kids[1].tag == TAG_OCTET_STRING)
		rc = parse_v4(&c, copy, len, kids, n, stamp);
	else
		ctx_fail(&c,
			 "neither a V4 stamp (TBS_Sign, cert, algorithm, signature[, timeStamp]) "
			 "nor a V1 stamp (TBS_Sign, signature): %zu elements",
			 n);
	if (rc == 0) {
		check_signer_cert(&c, stamp->signer_cert);
		*out = stamp;
		arena = NULL;
	} else if (c.status == SEALKIT_OK) {
		sealkit_fail(err, c.status = SEALKIT_ERR_FORMAT, "stamp: malformed");
	}
out:
	if (arena) {
		arena_free(arena);
		free(arena);
	}
	return *out ? SEALKIT_OK : c.status;
}

void sealkit_stamp_free(sealkit_stamp *stamp)
{
	struct arena *a;

	if (!stamp || !stamp->priv)
		return;
	a = stamp->priv;
	arena_free(a);
	free(a);
}

/* ---------------------------------------------------------------- building */

static int bytes_ok(sealkit_bytes b)
{
	return b.data && b.len > 0 && b.len <= INT_MAX / 8;
}

sealkit_status sealkit_stamp_encode_tbs(const sealkit_stamp_fields *f, unsigned char **der,
					size_t *len, sealkit_error *err)
{
	struct arena arena = {NULL};
	sealkit_seal seal;
	struct parse_ctx c = {.err = err, .what = "stamp: seal", .arena = &arena};
	asn1_node n = NULL;
	sealkit_status st = SEALKIT_ERR_ARGS;

	if (!f || !der || !len) {
		st = sealkit_fail(err, SEALKIT_ERR_ARGS, "stamp: no fields or no output");
		goto out;
	}
	*der = NULL;
	*len = 0;
	if (!bytes_ok(f->seal) || !bytes_ok(f->data_hash) || !f->property_info ||
	    strlen(f->property_info) > INT_MAX / 2 || !is_ia5(f->property_info)) {
		st =
		    sealkit_fail(err, SEALKIT_ERR_ARGS,
				 "stamp: a seal, a data hash and an ASCII propertyInfo are needed");
		goto out;
	}
	/* A vendor's seal may deviate (it is embedded as is), but it must be V4. */
	memset(&seal, 0, sizeof seal);
	if (seal_parse_into(&c, f->seal.data, f->seal.len, 0, &seal)) {
		st = SEALKIT_ERR_ARGS;
		if (err)
			err->status = st;
		goto out;
	}
	if (seal.format != SEALKIT_FORMAT_V4) {
		st = sealkit_fail(err, SEALKIT_ERR_UNSUPPORTED,
				  "stamp: the seal is %s; only V4 seals are stamped",
				  sealkit_format_name(seal.format));
		goto out;
	}
	if (!(n = encode_start(MOD_V4, "GBT38540.TBS_Sign", err))) {
		st = err ? err->status : SEALKIT_ERR_ARGS;
		goto out;
	}
	if ((st = encode_long(n, "version", seal.header.version, err)) ||
	    (st = encode_write(n, "eseal", f->seal.data, (int)f->seal.len, err)) ||
	    (st = encode_time(n, "timeInfo", f->time_info, err)) ||
	    (st = encode_write(n, "dataHash", f->data_hash.data, (int)f->data_hash.len * 8, err)) ||
	    (st = encode_write(n, "propertyInfo", f->property_info ? f->property_info : "",
			       (int)strlen(f->property_info), err)) ||
	    (st = encode_extensions(n, "extDatas", f->ext, f->n_ext, err)))
		goto out;
	st = encode_finish(&n, "stamp: TBS_Sign", der, len, err);
out:
	if (n)
		asn1_delete_structure(&n);
	arena_free(&arena);
	return st;
}

sealkit_status sealkit_stamp_assemble(sealkit_bytes tbs, sealkit_bytes signer_cert,
				      const char *sig_alg, sealkit_bytes sig_value,
				      const sealkit_bytes *timestamp, unsigned char **der,
				      size_t *len, sealkit_error *err)
{
	struct arena arena = {NULL};
	sealkit_stamp probe;
	struct parse_ctx c = {
	    .flags = SEALKIT_PARSE_STRICT, .err = err, .what = "stamp: tbs", .arena = &arena};
	char why[ASN1_MAX_ERROR_DESCRIPTION_SIZE + 64];
	size_t long_at, bad_at;
	const char *wwhy = NULL;
	asn1_node n = NULL;
	sealkit_status st = SEALKIT_ERR_ARGS;

	if (!der || !len || !bytes_ok(tbs) || !bytes_ok(signer_cert) || !bytes_ok(sig_value) ||
	    (timestamp && (!bytes_ok(*timestamp)))) {
		st = sealkit_fail(
		    err, SEALKIT_ERR_ARGS,
		    "stamp: tbs, signer certificate, signature and output are all needed");
		goto out;
	}
	*der = NULL;
	*len = 0;
	/* The TBS_Sign must be one strict DER element (its seal was checked when encoded). */
	memset(&probe, 0, sizeof probe);
	probe.tbs = tbs;
	if (der_walk(tbs.data, tbs.len, &long_at, &bad_at, &wwhy) || long_at != (size_t)-1) {
		st = sealkit_fail(err, SEALKIT_ERR_ARGS, "stamp: tbs is not strict DER");
		goto out;
	}
	if (parse_tbs_v4(&c, &probe)) {
		st = SEALKIT_ERR_ARGS;
		if (err)
			err->status = st;
		goto out;
	}
	if (!cert_looks_valid(signer_cert.data, signer_cert.len, why, sizeof why)) {
		st = sealkit_fail(
		    err, SEALKIT_ERR_ARGS,
		    "stamp: the signer certificate is not a DER X.509 certificate (%s)", why);
		goto out;
	}
	if (!encode_oid_ok(sig_alg)) {
		st = sealkit_fail(err, SEALKIT_ERR_ARGS, "stamp: '%s' is not a dotted OID",
				  sig_alg ? sig_alg : "(null)");
		goto out;
	}
	if (!sig_is_strict_der(sig_value.data, sig_value.len)) {
		st = sealkit_fail(err, SEALKIT_ERR_ARGS,
				  "stamp: the signature value must be DER SEQUENCE{r,s} "
				  "(sealkit_sig_from_raw converts r||s)");
		goto out;
	}
	if (!(n = encode_start(MOD_V4, "GBT38540.SES_Signature", err))) {
		st = err ? err->status : SEALKIT_ERR_ARGS;
		goto out;
	}
	if ((st = encode_write(n, "toSign", tbs.data, (int)tbs.len, err)) ||
	    (st = encode_write(n, "cert", signer_cert.data, (int)signer_cert.len, err)) ||
	    (st = encode_write(n, "signatureAlgID", sig_alg, 1, err)) ||
	    (st = encode_write(n, "signature", sig_value.data, (int)sig_value.len * 8, err)) ||
	    (st = timestamp
		      ? encode_write(n, "timeStamp", timestamp->data, (int)timestamp->len * 8, err)
		      : encode_write(n, "timeStamp", NULL, 0, err)))
		goto out;
	st = encode_finish(&n, "stamp", der, len, err);
out:
	if (n)
		asn1_delete_structure(&n);
	arena_free(&arena);
	return st;
}
