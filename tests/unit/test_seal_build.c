/* Tests of building seals and stamps (middleware/seal.c, stamp.c): round trips
 * through signing and parsing, byte equality with an independent hand-written
 * DER encoder below, re-encoding real samples, and the deviations a tolerant
 * parser accepts, made on purpose with that encoder. */
#include "config.h"

#include "harness.h"
#include "test_seal_fixtures.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sealkit/seal.h"

void register_build_tests(void);

/* ---------------------------------------------------------------- a reference DER writer */

struct dbuf {
	unsigned char *p;
	size_t n;
};

static void dput(struct dbuf *b, const void *d, size_t n)
{
	unsigned char *q = realloc(b->p, b->n + n + 1);
	if (!q)
		abort();
	b->p = q;
	if (n)
		memcpy(b->p + b->n, d, n);
	b->n += n;
}

static void dhdr(struct dbuf *b, unsigned char tag, size_t len)
{
	unsigned char h[6];
	size_t n = 0, k = 0;
	h[n++] = tag;
	if (len < 0x80) {
		h[n++] = (unsigned char)len;
	} else {
		for (size_t v = len; v; v >>= 8)
			k++;
		h[n++] = (unsigned char)(0x80 | k);
		while (k--)
			h[n++] = (unsigned char)(len >> (8 * k));
	}
	dput(b, h, n);
}

static void dtlv(struct dbuf *b, unsigned char tag, const void *d, size_t n)
{
	dhdr(b, tag, n);
	dput(b, d, n);
}

static void dstr(struct dbuf *b, unsigned char tag, const char *s)
{
	dtlv(b, tag, s, strlen(s));
}

/* Moves in into out as the content of one TLV. */
static void dwrap(struct dbuf *out, unsigned char tag, struct dbuf *in)
{
	dtlv(out, tag, in->p, in->n);
	free(in->p);
	in->p = NULL;
	in->n = 0;
}

static void dint(struct dbuf *b, long v)
{
	unsigned char t[sizeof(long) + 1];
	size_t n = 0;
	int i = (int)sizeof(long) - 1;
	/* skip sign octets that the next octet repeats */
	while (i > 0 && (((v >> (8 * i)) & 0xff) == ((v >> (8 * (i - 1)) & 0x80) ? 0xff : 0x00)))
		i--;
	for (; i >= 0; i--)
		t[n++] = (unsigned char)(v >> (8 * i));
	dtlv(b, 0x02, t, n);
}

static void doid(struct dbuf *b, const char *dotted)
{
	unsigned long long arcs[32] = {0};
	unsigned char c[128];
	size_t na = 0, n = 0;
	const char *s = dotted;
	while (*s && na < 32) {
		arcs[na++] = strtoull(s, (char **)&s, 10);
		if (*s == '.')
			s++;
	}
	arcs[1] += 40 * arcs[0];
	for (size_t i = 1; i < na; i++) {
		unsigned char tmp[10];
		size_t k = 0;
		unsigned long long v = arcs[i];
		do {
			tmp[k++] = (unsigned char)(v & 0x7f);
			v >>= 7;
		} while (v);
		while (k--)
			c[n++] = (unsigned char)(tmp[k] | (k ? 0x80 : 0));
	}
	dtlv(b, 0x06, c, n);
}

static void dgtime(struct dbuf *b, time_t t)
{
	struct tm tm;
	char s[32];
	gmtime_r(&t, &tm);
	strftime(s, sizeof s, "%Y%m%d%H%M%SZ", &tm);
	dstr(b, 0x18, s);
}

/* UTCTime text YYMMDDHHMMSSZ (a static buffer). */
static const char *utc_text(time_t t)
{
	static char s[32];
	struct tm tm;
	gmtime_r(&t, &tm);
	snprintf(s, sizeof s, "%02d%02d%02d%02d%02d%02dZ", tm.tm_year % 100, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return s;
}

static void dbits(struct dbuf *b, sealkit_bytes v)
{
	dhdr(b, 0x03, v.len + 1);
	dput(b, "", 1);
	dput(b, v.data, v.len);
}

/* Knobs for the deviations real vendors commit. */
struct variant {
	int utc_create;      /* createDate as UTCTime */
	const char *gtime;   /* createDate GeneralizedTime text */
	int long_version;    /* header.version as 02 02 00 04 */
	int bool_01;         /* critical TRUE written as 01 */
	int omit_critical;   /* no BOOLEAN in ExtData */
	long cert_list_type; /* 0: as in the fields */
	int implicit_ts;     /* timeStamp [0] IMPLICIT */
	int implicit_ext;    /* TBS_Sign.extDatas [0] IMPLICIT */
	int padded_hash;     /* dataHash BIT STRING with unused bits 3 and junk padding */
	int utc_time_info;   /* timeInfo as UTCTime */
};

static void ref_ext(struct dbuf *out, const sealkit_ext *ext, size_t n, const struct variant *v)
{
	struct dbuf all = {0};
	for (size_t i = 0; i < n; i++) {
		struct dbuf e = {0};
		unsigned char bv = ext[i].critical ? (v->bool_01 ? 0x01 : 0xff) : 0x00;
		doid(&e, ext[i].oid);
		if (!v->omit_critical)
			dtlv(&e, 0x01, &bv, 1);
		dtlv(&e, 0x04, ext[i].value.data, ext[i].value.len);
		dwrap(&all, 0x30, &e);
	}
	dput(out, all.p, all.n);
	free(all.p);
}

static void ref_seal_info(struct dbuf *out, const sealkit_seal_fields *f, const struct variant *v)
{
	struct dbuf info = {0}, h = {0}, prop = {0}, list = {0}, pic = {0}, ext = {0};
	long clt = v->cert_list_type ? v->cert_list_type : f->cert_list_type;

	dstr(&h, 0x16, "ES");
	if (v->long_version)
		dtlv(&h, 0x02, "\x00\x04", 2);
	else
		dint(&h, 4);
	dstr(&h, 0x16, f->vid);
	dwrap(&info, 0x30, &h);
	dstr(&info, 0x16, f->es_id);

	dint(&prop, f->type);
	dstr(&prop, 0x0c, f->name);
	dint(&prop, clt);
	if (f->cert_list_type == SEALKIT_CERT_LIST_CERTS) {
		for (size_t i = 0; i < f->n_certs; i++)
			dtlv(&list, 0x04, f->certs[i].data, f->certs[i].len);
	} else {
		for (size_t i = 0; i < f->n_digests; i++) {
			struct dbuf o = {0};
			dstr(&o, 0x13, f->digests[i].type);
			dtlv(&o, 0x04, f->digests[i].value.data, f->digests[i].value.len);
			dwrap(&list, 0x30, &o);
		}
	}
	dwrap(&prop, 0x30, &list);
	if (v->utc_create) {
		dstr(&prop, 0x17, utc_text(f->create_date));
	} else if (v->gtime) {
		dstr(&prop, 0x18, v->gtime);
	} else {
		dgtime(&prop, f->create_date);
	}
	dgtime(&prop, f->valid_start);
	dgtime(&prop, f->valid_end);
	dwrap(&info, 0x30, &prop);

	dstr(&pic, 0x16, f->picture_type);
	dtlv(&pic, 0x04, f->picture.data, f->picture.len);
	dint(&pic, f->width);
	dint(&pic, f->height);
	dwrap(&info, 0x30, &pic);
	if (f->n_ext) {
		ref_ext(&ext, f->ext, f->n_ext, v);
		dwrap(&info, 0x30, &ext);
	}
	dwrap(out, 0x30, &info);
}

static void ref_seal(struct dbuf *out, sealkit_bytes info, sealkit_bytes cert, const char *alg,
		     sealkit_bytes sig)
{
	struct dbuf s = {0};
	dput(&s, info.data, info.len);
	dtlv(&s, 0x04, cert.data, cert.len);
	doid(&s, alg);
	dbits(&s, sig);
	dwrap(out, 0x30, &s);
}

static void ref_tbs(struct dbuf *out, const sealkit_stamp_fields *f, const struct variant *v)
{
	struct dbuf t = {0}, ext = {0};
	dint(&t, 4);
	dput(&t, f->seal.data, f->seal.len);
	if (v->utc_time_info) {
		dstr(&t, 0x17, utc_text(f->time_info));
	} else {
		dgtime(&t, f->time_info);
	}
	if (v->padded_hash) {
		dhdr(&t, 0x03, f->data_hash.len + 1);
		dput(&t, "\x03", 1);
		dput(&t, f->data_hash.data, f->data_hash.len - 1);
		dput(&t, "\x07", 1); /* low 3 bits set: non-zero padding */
	} else {
		dbits(&t, f->data_hash);
	}
	dstr(&t, 0x16, f->property_info);
	if (f->n_ext) {
		struct dbuf list = {0};
		ref_ext(&list, f->ext, f->n_ext, v);
		if (v->implicit_ext) {
			dwrap(&t, 0xa0, &list);
		} else {
			dwrap(&ext, 0x30, &list);
			dwrap(&t, 0xa0, &ext);
		}
	}
	dwrap(out, 0x30, &t);
}

static void ref_signature(struct dbuf *out, sealkit_bytes tbs, sealkit_bytes cert, const char *alg,
			  sealkit_bytes sig, const sealkit_bytes *ts, const struct variant *v)
{
	struct dbuf s = {0};
	dput(&s, tbs.data, tbs.len);
	dtlv(&s, 0x04, cert.data, cert.len);
	doid(&s, alg);
	dbits(&s, sig);
	if (ts) {
		struct dbuf b = {0};
		if (v->implicit_ts) {
			dhdr(&s, 0x80, ts->len + 1);
			dput(&s, "", 1);
			dput(&s, ts->data, ts->len);
		} else {
			dbits(&b, *ts);
			dwrap(&s, 0xa0, &b);
		}
	}
	dwrap(out, 0x30, &s);
}

/* ---------------------------------------------------------------- inputs */

struct inputs {
	unsigned char *maker, *signer, *other, *picture, *doc;
	size_t maker_len, signer_len, other_len, picture_len, doc_len;
	sealkit_bytes certs[2];
	sealkit_cert_digest digests[1];
	unsigned char digest[32], doc_hash[32];
	sealkit_ext ext[2];
	sealkit_seal_fields fields;
};

static struct inputs in;

static int build_init(void)
{
	memset(&in, 0, sizeof in);
	in.maker = fixture_load("generated/keys/maker.cert.der", &in.maker_len);
	in.signer = fixture_load("generated/keys/signer.cert.der", &in.signer_len);
	in.other = fixture_load("generated/keys/other.cert.der", &in.other_len);
	in.picture = fixture_load("generated/seal-picture.png", &in.picture_len);
	in.doc = fixture_load("generated/document.txt", &in.doc_len);
	if (!in.maker || !in.signer || !in.other || !in.picture || !in.doc)
		return -1;
	in.certs[0] = (sealkit_bytes){in.signer, in.signer_len};
	in.certs[1] = (sealkit_bytes){in.other, in.other_len};
	fixture_sm3(in.signer, in.signer_len, in.digest);
	in.digests[0] = (sealkit_cert_digest){"sm3", {in.digest, 32}};
	fixture_sm3(in.doc, in.doc_len, in.doc_hash);
	in.ext[0] = (sealkit_ext){"1.2.156.10197.6.7.2.2.1", 0, {(const unsigned char *)"2.1", 3}};
	in.ext[1] = (sealkit_ext){"2.16.156.514556.401", 1, {(const unsigned char *)"8", 1}};
	in.fields = (sealkit_seal_fields){
	    .vid = "SEALKIT",
	    .es_id = "11010800000042",
	    .type = 1,
	    .name = "测试专用章（sealkit）",
	    .cert_list_type = SEALKIT_CERT_LIST_CERTS,
	    .certs = in.certs,
	    .n_certs = 2,
	    .create_date = 1763715600, /* 2025-11-21 09:00:00 UTC */
	    .valid_start = 1763683200,
	    .valid_end = 1858377599,
	    .picture_type = "PNG",
	    .picture = {in.picture, in.picture_len},
	    .width = 40,
	    .height = 40,
	};
	return 0;
}

static int build_cleanup(void)
{
	free(in.maker);
	free(in.signer);
	free(in.other);
	free(in.picture);
	free(in.doc);
	return 0;
}

static int asn1parse_ok(const char *name, const unsigned char *der, size_t len)
{
	char cmd[1200];
	const char *path = fixture_tmpfile(name, der, len);
	if (!path)
		return 0;
	if (system("command -v openssl >/dev/null 2>&1") != 0) {
		printf("# no openssl on PATH: asn1parse not run\n");
		return 1;
	}
	snprintf(cmd, sizeof cmd, "openssl asn1parse -inform DER -in '%s' >/dev/null 2>&1", path);
	return system(cmd) == 0;
}

/* Builds and signs a seal; returns the DER (malloc'ed) and the SES_SealInfo. */
static unsigned char *make_seal(const sealkit_seal_fields *f, size_t *len, unsigned char **info,
				size_t *info_len)
{
	unsigned char *sig = NULL, *der = NULL;
	size_t sig_len = 0;
	sealkit_error e = {0};

	*len = 0;
	if (sealkit_seal_encode_info(f, info, info_len, &e) != SEALKIT_OK) {
		printf("# encode_info: %s\n", e.message);
		return NULL;
	}
	if (fixture_sm2_sign("generated/keys/maker.key.pem", (sealkit_bytes){*info, *info_len},
			     &sig, &sig_len) ||
	    sealkit_seal_assemble((sealkit_bytes){*info, *info_len},
				  (sealkit_bytes){in.maker, in.maker_len}, SEALKIT_OID_SM2_SM3,
				  (sealkit_bytes){sig, sig_len}, &der, len, &e) != SEALKIT_OK)
		printf("# assemble: %s\n", e.message);
	free(sig);
	return der;
}

/* ---------------------------------------------------------------- round trips */

static void check_seal_matches(const sealkit_seal *s, const sealkit_seal_fields *f)
{
	CU_ASSERT_EQUAL(s->format, SEALKIT_FORMAT_V4);
	CU_ASSERT_STRING_EQUAL(s->header.id, "ES");
	CU_ASSERT_EQUAL(s->header.version, 4);
	CU_ASSERT_STRING_EQUAL(s->header.vid, f->vid);
	CU_ASSERT_STRING_EQUAL(s->es_id, f->es_id);
	CU_ASSERT_EQUAL(s->property.type, f->type);
	CU_ASSERT_STRING_EQUAL(s->property.name, f->name);
	CU_ASSERT_EQUAL(s->property.cert_list_type, f->cert_list_type);
	if (f->cert_list_type == SEALKIT_CERT_LIST_CERTS) {
		CU_ASSERT_EQUAL_FATAL(s->property.n_certs, f->n_certs);
		for (size_t i = 0; i < f->n_certs; i++)
			CU_ASSERT(
			    s->property.certs[i].len == f->certs[i].len &&
			    !memcmp(s->property.certs[i].data, f->certs[i].data, f->certs[i].len));
	} else {
		CU_ASSERT_EQUAL_FATAL(s->property.n_digests, f->n_digests);
		for (size_t i = 0; i < f->n_digests; i++) {
			CU_ASSERT_STRING_EQUAL(s->property.digests[i].type, f->digests[i].type);
			CU_ASSERT(s->property.digests[i].value.len == f->digests[i].value.len &&
				  !memcmp(s->property.digests[i].value.data,
					  f->digests[i].value.data, f->digests[i].value.len));
		}
	}
	CU_ASSERT_EQUAL(s->property.create_date.t, f->create_date);
	CU_ASSERT_EQUAL(s->property.valid_start.t, f->valid_start);
	CU_ASSERT_EQUAL(s->property.valid_end.t, f->valid_end);
	CU_ASSERT_EQUAL(strlen(s->property.create_date.text), 15);
	CU_ASSERT_STRING_EQUAL(s->picture.type, f->picture_type);
	CU_ASSERT(s->picture.data.len == f->picture.len &&
		  !memcmp(s->picture.data.data, f->picture.data, f->picture.len));
	CU_ASSERT_EQUAL(s->picture.width, f->width);
	CU_ASSERT_EQUAL(s->picture.height, f->height);
	CU_ASSERT_EQUAL_FATAL(s->n_ext, f->n_ext);
	for (size_t i = 0; i < f->n_ext; i++) {
		CU_ASSERT_STRING_EQUAL(s->ext[i].oid, f->ext[i].oid);
		CU_ASSERT_EQUAL(s->ext[i].critical, f->ext[i].critical);
		CU_ASSERT(s->ext[i].value.len == f->ext[i].value.len &&
			  !memcmp(s->ext[i].value.data, f->ext[i].value.data, f->ext[i].value.len));
	}
}

static void roundtrip_seal(const sealkit_seal_fields *f, const char *file)
{
	unsigned char *info = NULL, *der;
	size_t info_len = 0, len = 0;
	struct dbuf ref = {0}, refseal = {0};
	struct variant v = {0};
	sealkit_warnings w = {0};
	sealkit_seal *s = NULL;
	sealkit_error e = {0};

	der = make_seal(f, &len, &info, &info_len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(der);
	/* the independent encoder writes the same octets */
	ref_seal_info(&ref, f, &v);
	CU_ASSERT(ref.n == info_len && !memcmp(ref.p, info, info_len));

	CU_ASSERT_EQUAL(sealkit_seal_parse(der, len, SEALKIT_PARSE_STRICT, &s, &w, &e), SEALKIT_OK);
	if (!s)
		printf("# %s\n", e.message);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(w.count, 0);
	check_seal_matches(s, f);
	/* the signed bytes are exactly what was encoded, and they verify */
	CU_ASSERT(s->tbs.len == info_len && !memcmp(s->tbs.data, info, info_len));
	CU_ASSERT_EQUAL(fixture_sm2_verify(s->maker_cert, s->tbs, s->sig.value), 1);
	CU_ASSERT(s->sig.value.data == s->sig.raw.data && s->sig.unused_bits == 0);
	ref_seal(&refseal, (sealkit_bytes){info, info_len}, (sealkit_bytes){in.maker, in.maker_len},
		 SEALKIT_OID_SM2_SM3, s->sig.raw);
	CU_ASSERT(refseal.n == len && !memcmp(refseal.p, der, len));
	CU_ASSERT(asn1parse_ok(file, der, len));

	sealkit_seal_free(s);
	sealkit_warnings_free(&w);
	free(ref.p);
	free(refseal.p);
	free(info);
	free(der);
}

static void test_seal_roundtrip_certs(void)
{
	roundtrip_seal(&in.fields, "seal-certs.esl");
}

static void test_seal_roundtrip_digests_ext(void)
{
	sealkit_seal_fields f = in.fields;
	f.cert_list_type = SEALKIT_CERT_LIST_DIGESTS;
	f.digests = in.digests;
	f.n_digests = 1;
	f.ext = in.ext;
	f.n_ext = 2;
	f.picture_type = "ofd";
	f.width = 30;
	f.height = 20;
	f.type = -3; /* negative INTEGERs round-trip too */
	roundtrip_seal(&f, "seal-digests.esl");
}

/* An ExtData with critical FALSE still carries the BOOLEAN (spec 9.1). */
static void test_ext_false_is_written(void)
{
	sealkit_seal_fields f = in.fields;
	unsigned char *info = NULL;
	size_t len = 0;
	static const unsigned char want[] = {0x01, 0x01, 0x00, 0x04, 0x03, '2', '.', '1'};
	f.ext = in.ext;
	f.n_ext = 1;
	CU_ASSERT_EQUAL_FATAL(sealkit_seal_encode_info(&f, &info, &len, NULL), SEALKIT_OK);
	CU_ASSERT(memmem(info, len, want, sizeof want) != NULL);
	free(info);
}

static unsigned char *make_stamp(const unsigned char *seal, size_t seal_len, const sealkit_ext *ext,
				 size_t n_ext, const sealkit_bytes *ts, size_t *len,
				 unsigned char **tbs, size_t *tbs_len, sealkit_stamp_fields *f)
{
	unsigned char *sig = NULL, *der = NULL;
	size_t sig_len = 0;
	sealkit_error e = {0};

	*f = (sealkit_stamp_fields){
	    .seal = {seal, seal_len},
	    .time_info = 1763716000,
	    .data_hash = {in.doc_hash, 32},
	    .property_info = "/Doc_0/Signs/Sign_0/Signature.xml",
	    .ext = ext,
	    .n_ext = n_ext,
	};
	if (sealkit_stamp_encode_tbs(f, tbs, tbs_len, &e) != SEALKIT_OK) {
		printf("# encode_tbs: %s\n", e.message);
		return NULL;
	}
	if (fixture_sm2_sign("generated/keys/signer.key.pem", (sealkit_bytes){*tbs, *tbs_len}, &sig,
			     &sig_len) ||
	    sealkit_stamp_assemble((sealkit_bytes){*tbs, *tbs_len},
				   (sealkit_bytes){in.signer, in.signer_len}, SEALKIT_OID_SM2_SM3,
				   (sealkit_bytes){sig, sig_len}, ts, &der, len, &e) != SEALKIT_OK)
		printf("# stamp assemble: %s\n", e.message);
	free(sig);
	return der;
}

static void roundtrip_stamp(const sealkit_ext *ext, size_t n_ext, const sealkit_bytes *ts,
			    const char *file)
{
	unsigned char *info = NULL, *seal, *tbs = NULL, *der;
	size_t info_len = 0, seal_len = 0, tbs_len = 0, len = 0;
	sealkit_stamp_fields f;
	struct dbuf ref = {0}, refsig = {0};
	struct variant v = {0};
	sealkit_warnings w = {0};
	sealkit_stamp *st = NULL;
	sealkit_error e = {0};

	seal = make_seal(&in.fields, &seal_len, &info, &info_len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(seal);
	der = make_stamp(seal, seal_len, ext, n_ext, ts, &len, &tbs, &tbs_len, &f);
	CU_ASSERT_PTR_NOT_NULL_FATAL(der);
	ref_tbs(&ref, &f, &v);
	CU_ASSERT(ref.n == tbs_len && !memcmp(ref.p, tbs, tbs_len));

	CU_ASSERT_EQUAL(sealkit_stamp_parse(der, len, SEALKIT_PARSE_STRICT, &st, &w, &e),
			SEALKIT_OK);
	if (!st)
		printf("# %s\n", e.message);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_EQUAL(w.count, 0);
	CU_ASSERT_EQUAL(st->format, SEALKIT_FORMAT_V4);
	CU_ASSERT_EQUAL(st->version, 4);
	CU_ASSERT(st->seal_der.len == seal_len && !memcmp(st->seal_der.data, seal, seal_len));
	check_seal_matches(st->seal, &in.fields);
	CU_ASSERT_EQUAL(st->time_info.t, f.time_info);
	CU_ASSERT_STRING_EQUAL(st->time_info.text, "20251121090640Z");
	CU_ASSERT(st->data_hash.len == 32 && !memcmp(st->data_hash.data, in.doc_hash, 32));
	CU_ASSERT_STRING_EQUAL(st->property_info, f.property_info);
	CU_ASSERT_EQUAL_FATAL(st->n_ext, n_ext);
	for (size_t i = 0; i < n_ext; i++) {
		CU_ASSERT_STRING_EQUAL(st->ext[i].oid, ext[i].oid);
		CU_ASSERT_EQUAL(st->ext[i].critical, ext[i].critical);
	}
	CU_ASSERT(st->tbs.len == tbs_len && !memcmp(st->tbs.data, tbs, tbs_len));
	CU_ASSERT(st->signer_cert.len == in.signer_len &&
		  !memcmp(st->signer_cert.data, in.signer, in.signer_len));
	CU_ASSERT_EQUAL(fixture_sm2_verify(st->signer_cert, st->tbs, st->sig.value), 1);
	CU_ASSERT_EQUAL(
	    fixture_sm2_verify(st->seal->maker_cert, st->seal->tbs, st->seal->sig.value), 1);
	CU_ASSERT_EQUAL(st->has_timestamp, ts != NULL);
	if (ts)
		CU_ASSERT(st->timestamp.len == ts->len &&
			  !memcmp(st->timestamp.data, ts->data, ts->len));
	ref_signature(&refsig, (sealkit_bytes){tbs, tbs_len},
		      (sealkit_bytes){in.signer, in.signer_len}, SEALKIT_OID_SM2_SM3, st->sig.raw,
		      ts, &v);
	CU_ASSERT(refsig.n == len && !memcmp(refsig.p, der, len));
	CU_ASSERT(asn1parse_ok(file, der, len));

	sealkit_stamp_free(st);
	sealkit_warnings_free(&w);
	free(ref.p);
	free(refsig.p);
	free(info);
	free(seal);
	free(tbs);
	free(der);
}

static void test_stamp_roundtrip_plain(void)
{
	roundtrip_stamp(NULL, 0, NULL, "stamp-plain.dat");
}

static void test_stamp_roundtrip_ext_ts(void)
{
	static const unsigned char token[] = {0x30, 0x03, 0x02, 0x01, 0x01}; /* stands for a TST */
	sealkit_bytes ts = {token, sizeof token};
	roundtrip_stamp(in.ext, 2, &ts, "stamp-ext-ts.dat");
}

/* Parsed fields of strict real samples encode back to the very same octets. */
static void test_reencode_samples(void)
{
	static const char *const seals[] = {"OfdSharp/Seal.esl", "generated/seal.esl",
					    "generated/seal-digest.esl", "ofdrw/UserV4.esl",
					    "ofdrw/SESealData.DER"};
	static const char *const stamps[] = {"OfdSharp/SignedValue.dat", "generated/signature.dat",
					     "ofdrw/SignedValueV4.dat"};
	for (size_t i = 0; i < sizeof seals / sizeof *seals; i++) {
		size_t len = 0, out_len = 0, seal_len = 0;
		unsigned char *der = fixture_load(seals[i], &len), *out = NULL, *seal = NULL;
		sealkit_seal *s = NULL;
		sealkit_seal_fields f;
		sealkit_error e = {0};
		CU_ASSERT_FATAL(der != NULL);
		CU_ASSERT_EQUAL_FATAL(
		    sealkit_seal_parse(der, len, SEALKIT_PARSE_STRICT, &s, NULL, NULL), SEALKIT_OK);
		f = (sealkit_seal_fields){
		    .vid = s->header.vid,
		    .es_id = s->es_id,
		    .type = s->property.type,
		    .name = s->property.name,
		    .cert_list_type = s->property.cert_list_type,
		    .certs = s->property.certs,
		    .n_certs = s->property.n_certs,
		    .digests = s->property.digests,
		    .n_digests = s->property.n_digests,
		    .create_date = s->property.create_date.t,
		    .valid_start = s->property.valid_start.t,
		    .valid_end = s->property.valid_end.t,
		    .picture_type = s->picture.type,
		    .picture = s->picture.data,
		    .width = s->picture.width,
		    .height = s->picture.height,
		    .ext = s->ext,
		    .n_ext = s->n_ext,
		};
		CU_ASSERT_EQUAL(sealkit_seal_encode_info(&f, &out, &out_len, &e), SEALKIT_OK);
		if (out_len != s->seal_info.len || memcmp(out, s->seal_info.data, out_len))
			printf("# %s: SES_SealInfo re-encodes differently\n", seals[i]);
		CU_ASSERT(out_len == s->seal_info.len && !memcmp(out, s->seal_info.data, out_len));
		CU_ASSERT_EQUAL(sealkit_seal_assemble(s->seal_info, s->maker_cert, s->sig_alg,
						      s->sig.value, &seal, &seal_len, &e),
				SEALKIT_OK);
		CU_ASSERT(seal_len == len && seal && !memcmp(seal, der, len));
		sealkit_seal_free(s);
		free(der);
		free(out);
		free(seal);
	}
	for (size_t i = 0; i < sizeof stamps / sizeof *stamps; i++) {
		size_t len = 0, out_len = 0, stamp_len = 0;
		unsigned char *der = fixture_load(stamps[i], &len), *out = NULL, *stamp = NULL;
		sealkit_stamp *st = NULL;
		sealkit_error e = {0};
		CU_ASSERT_FATAL(der != NULL);
		CU_ASSERT_EQUAL_FATAL(
		    sealkit_stamp_parse(der, len, SEALKIT_PARSE_STRICT, &st, NULL, NULL),
		    SEALKIT_OK);
		sealkit_stamp_fields f = {
		    .seal = st->seal_der,
		    .time_info = st->time_info.t,
		    .data_hash = st->data_hash,
		    .property_info = st->property_info,
		    .ext = st->ext,
		    .n_ext = st->n_ext,
		};
		CU_ASSERT_EQUAL(sealkit_stamp_encode_tbs(&f, &out, &out_len, &e), SEALKIT_OK);
		CU_ASSERT(out_len == st->tbs.len && out && !memcmp(out, st->tbs.data, out_len));
		CU_ASSERT_EQUAL(sealkit_stamp_assemble(st->tbs, st->signer_cert, st->sig_alg,
						       st->sig.value, NULL, &stamp, &stamp_len, &e),
				SEALKIT_OK);
		CU_ASSERT(stamp_len == len && stamp && !memcmp(stamp, der, len));
		sealkit_stamp_free(st);
		free(der);
		free(out);
		free(stamp);
	}
}

/* ---------------------------------------------------------------- signature values */

static void test_sig_from_raw(void)
{
	unsigned char rs[64], *der = NULL;
	size_t len = 0;
	sealkit_error e = {0};

	/* r with its top bit set gets a 00; s with leading zeros loses them */
	memset(rs, 0x11, sizeof rs);
	rs[0] = 0x80;
	rs[32] = 0x00;
	rs[33] = 0x00;
	rs[34] = 0x7f;
	CU_ASSERT_EQUAL_FATAL(sealkit_sig_from_raw(rs, 64, &der, &len, &e), SEALKIT_OK);
	CU_ASSERT_EQUAL(len, 2 + 2 + 33 + 2 + 30);
	CU_ASSERT(der[0] == 0x30 && der[1] == len - 2);
	CU_ASSERT(der[2] == 0x02 && der[3] == 33 && der[4] == 0x00 && der[5] == 0x80);
	CU_ASSERT(der[37] == 0x02 && der[38] == 30 && der[39] == 0x7f);
	sealkit_free(der);

	/* all-zero halves stay one zero octet each */
	memset(rs, 0, sizeof rs);
	CU_ASSERT_EQUAL_FATAL(sealkit_sig_from_raw(rs, 64, &der, &len, &e), SEALKIT_OK);
	CU_ASSERT(len == 8 && !memcmp(der, "\x30\x06\x02\x01\x00\x02\x01\x00", 8));
	free(der);

	CU_ASSERT_EQUAL(sealkit_sig_from_raw(rs, 63, &der, &len, &e), SEALKIT_ERR_ARGS);
	CU_ASSERT(strstr(e.message, "even") != NULL);
	CU_ASSERT_EQUAL(sealkit_sig_from_raw(rs, 0, &der, &len, &e), SEALKIT_ERR_ARGS);
}

static int has_warning_or_error(const sealkit_warnings *w, const sealkit_error *e,
				const char *needle)
{
	for (size_t i = 0; i < w->count; i++)
		if (strstr(w->items[i], needle))
			return 1;
	return strstr(e->message, needle) != NULL;
}

/* ---------------------------------------------------------------- builder errors */

static void expect_arg_error(sealkit_status st, const sealkit_error *e, const char *needle)
{
	if (st != SEALKIT_ERR_ARGS || !strstr(e->message, needle))
		printf("# got %s '%s', wanted '%s'\n", sealkit_status_name(st), e->message, needle);
	CU_ASSERT_EQUAL(st, SEALKIT_ERR_ARGS);
	CU_ASSERT(strstr(e->message, needle) != NULL);
}

static void test_builder_errors(void)
{
	sealkit_seal_fields f;
	sealkit_error e = {0};
	unsigned char *der = NULL, *info = NULL, *seal = NULL, *v1 = NULL;
	size_t len = 0, info_len = 0, seal_len = 0, v1_len = 0;
	static const unsigned char raw[64] = {1};
	sealkit_bytes cert = {in.maker, in.maker_len};

	f = in.fields;
	f.vid = NULL;
	expect_arg_error(sealkit_seal_encode_info(&f, &der, &len, &e), &e, "vid is missing");
	f = in.fields;
	f.es_id = "印章";
	expect_arg_error(sealkit_seal_encode_info(&f, &der, &len, &e), &e, "esID must be ASCII");
	f = in.fields;
	f.name = "\xff\xfe";
	expect_arg_error(sealkit_seal_encode_info(&f, &der, &len, &e), &e, "not valid UTF-8");
	f = in.fields;
	f.cert_list_type = 3;
	expect_arg_error(sealkit_seal_encode_info(&f, &der, &len, &e), &e, "neither 1 nor 2");
	f = in.fields;
	f.n_certs = 0;
	expect_arg_error(sealkit_seal_encode_info(&f, &der, &len, &e), &e, "list is empty");
	f = in.fields;
	f.cert_list_type = SEALKIT_CERT_LIST_DIGESTS;
	f.digests = (sealkit_cert_digest[]){{"sm3*", {in.digest, 32}}};
	f.n_digests = 1;
	expect_arg_error(sealkit_seal_encode_info(&f, &der, &len, &e), &e, "PrintableString");
	f = in.fields;
	f.valid_end = (time_t)400000000000LL; /* year 14645 */
	expect_arg_error(sealkit_seal_encode_info(&f, &der, &len, &e), &e, "years 0-9999");
	f = in.fields;
	f.ext = (sealkit_ext[]){{"1.2.x", 0, {(const unsigned char *)"a", 1}}};
	f.n_ext = 1;
	expect_arg_error(sealkit_seal_encode_info(&f, &der, &len, &e), &e, "not a dotted OID");
	f = in.fields;
	f.picture.len = 0;
	expect_arg_error(sealkit_seal_encode_info(&f, &der, &len, &e), &e, "picture is empty");
	CU_ASSERT_PTR_NULL(der);

	CU_ASSERT_EQUAL_FATAL(sealkit_seal_encode_info(&in.fields, &info, &info_len, &e),
			      SEALKIT_OK);
	expect_arg_error(sealkit_seal_assemble((sealkit_bytes){info, info_len}, cert,
					       SEALKIT_OID_SM2_SM3, (sealkit_bytes){raw, 64}, &der,
					       &len, &e),
			 &e, "must be DER SEQUENCE{r,s}");
	expect_arg_error(sealkit_seal_assemble((sealkit_bytes){info, info_len - 1}, cert,
					       SEALKIT_OID_SM2_SM3, (sealkit_bytes){raw, 64}, &der,
					       &len, &e),
			 &e, "seal_info");
	expect_arg_error(sealkit_seal_assemble((sealkit_bytes){info, info_len},
					       (sealkit_bytes){(const unsigned char *)"nope", 4},
					       SEALKIT_OID_SM2_SM3, (sealkit_bytes){raw, 64}, &der,
					       &len, &e),
			 &e, "not a DER X.509 certificate");
	expect_arg_error(sealkit_seal_assemble((sealkit_bytes){info, info_len}, cert, "1",
					       (sealkit_bytes){raw, 64}, &der, &len, &e),
			 &e, "not a dotted OID");

	/* stamping needs a V4 seal */
	v1 = fixture_load("ofdrw/UserV1.esl", &v1_len);
	CU_ASSERT_FATAL(v1 != NULL);
	sealkit_stamp_fields sf = {.seal = {v1, v1_len},
				   .time_info = 0,
				   .data_hash = {in.doc_hash, 32},
				   .property_info = "x"};
	CU_ASSERT_EQUAL(sealkit_stamp_encode_tbs(&sf, &der, &len, &e), SEALKIT_ERR_UNSUPPORTED);
	CU_ASSERT(strstr(e.message, "only V4 seals") != NULL);
	sf.seal = (sealkit_bytes){info, info_len}; /* not a seal at all */
	CU_ASSERT_EQUAL(sealkit_stamp_encode_tbs(&sf, &der, &len, &e), SEALKIT_ERR_ARGS);
	{
		unsigned char *info2 = NULL;
		size_t info2_len = 0;
		seal = make_seal(&in.fields, &seal_len, &info2, &info2_len);
		free(info2);
	}
	CU_ASSERT_FATAL(seal != NULL);
	sf.seal = (sealkit_bytes){seal, seal_len};
	sf.property_info = "路径";
	expect_arg_error(sealkit_stamp_encode_tbs(&sf, &der, &len, &e), &e, "ASCII propertyInfo");
	expect_arg_error(sealkit_stamp_assemble((sealkit_bytes){info, info_len}, cert,
						SEALKIT_OID_SM2_SM3, (sealkit_bytes){raw, 64}, NULL,
						&der, &len, &e),
			 &e, "tbs");
	CU_ASSERT_PTR_NULL(der);
	free(info);
	free(seal);
	free(v1);
}

/* ---------------------------------------------------------------- deviations, made on purpose */

struct made {
	unsigned char *der;
	size_t len;
};

/* A signed seal whose SES_SealInfo comes from the reference encoder with v. */
static struct made made_seal(const sealkit_seal_fields *f, const struct variant *v)
{
	struct dbuf info = {0}, seal = {0};
	unsigned char *sig = NULL;
	size_t sig_len = 0;
	struct made m = {NULL, 0};

	ref_seal_info(&info, f, v);
	if (fixture_sm2_sign("generated/keys/maker.key.pem", (sealkit_bytes){info.p, info.n}, &sig,
			     &sig_len) == 0) {
		ref_seal(&seal, (sealkit_bytes){info.p, info.n},
			 (sealkit_bytes){in.maker, in.maker_len}, SEALKIT_OID_SM2_SM3,
			 (sealkit_bytes){sig, sig_len});
		m.der = seal.p;
		m.len = seal.n;
	}
	free(sig);
	free(info.p);
	return m;
}

static sealkit_seal *parse_made(struct made m, unsigned flags, sealkit_warnings *w,
				sealkit_error *e)
{
	sealkit_seal *s = NULL;
	sealkit_seal_parse(m.der, m.len, flags, &s, w, e);
	return s;
}

/* Tolerated: parsed with the warning; strict: rejected naming the same thing. */
static sealkit_seal *expect_seal_deviation(const struct variant *v, const sealkit_seal_fields *f,
					   const char *needle)
{
	struct made m = made_seal(f, v);
	sealkit_warnings w = {0};
	sealkit_error e = {0};
	sealkit_seal *s, *strict;

	CU_ASSERT_PTR_NOT_NULL_FATAL(m.der);
	s = parse_made(m, 0, &w, &e);
	strict = parse_made(m, SEALKIT_PARSE_STRICT, NULL, &e);
	if (!s || w.count != 1 || !strstr(w.items[0], needle))
		printf("# '%s': parsed %d, %zu warnings, first '%s'\n", needle, s != NULL, w.count,
		       w.count ? w.items[0] : e.message);
	CU_ASSERT_PTR_NOT_NULL(s);
	CU_ASSERT(w.count == 1 && strstr(w.items[0], needle) != NULL);
	CU_ASSERT_PTR_NULL(strict);
	CU_ASSERT(strstr(e.message, needle) != NULL && strstr(e.message, "strict") != NULL);
	sealkit_warnings_free(&w);
	free(m.der);
	return s;
}

static void test_seal_deviations(void)
{
	sealkit_seal_fields f = in.fields;
	struct variant v;
	sealkit_seal *s;

	v = (struct variant){.utc_create = 1};
	s = expect_seal_deviation(&v, &f, "createDate is UTCTime");
	CU_ASSERT(s && s->property.create_date.t == f.create_date &&
		  s->property.create_date.tag == 0x17);
	sealkit_seal_free(s);

	v = (struct variant){.long_version = 1};
	s = expect_seal_deviation(&v, &f, "header.version: INTEGER is not in its shortest form");
	CU_ASSERT(s && s->header.version == 4);
	sealkit_seal_free(s);

	v = (struct variant){.gtime = "20251121090000.5Z"};
	s = expect_seal_deviation(&v, &f, "not in the DER form YYYYMMDDHHMMSSZ");
	CU_ASSERT(s && s->property.create_date.t == f.create_date);
	sealkit_seal_free(s);

	v = (struct variant){.gtime = "20251121170000+0800"};
	s = expect_seal_deviation(&v, &f, "not in the DER form");
	CU_ASSERT(s && s->property.create_date.t == f.create_date &&
		  s->property.create_date.zone_known);
	sealkit_seal_free(s);

	v = (struct variant){.cert_list_type = 3};
	s = expect_seal_deviation(&v, &f, "certListType 3 is neither 1");
	CU_ASSERT(s && s->property.n_certs == 2);
	sealkit_seal_free(s);

	f.ext = in.ext;
	f.n_ext = 2;
	v = (struct variant){.bool_01 = 1};
	s = expect_seal_deviation(&v, &f, "BOOLEAN TRUE written as 0x01");
	CU_ASSERT(s && s->n_ext == 2 && s->ext[1].critical == 1);
	sealkit_seal_free(s);

	/* DEFAULT FALSE left out: valid, no warning */
	{
		sealkit_warnings w = {0};
		struct made m;
		v = (struct variant){.omit_critical = 1};
		m = made_seal(&f, &v);
		s = parse_made(m, SEALKIT_PARSE_STRICT, &w, NULL);
		CU_ASSERT(s && s->n_ext == 2 && s->ext[0].critical == 0 && s->ext[1].critical == 0);
		CU_ASSERT_EQUAL(w.count, 0);
		sealkit_seal_free(s);
		sealkit_warnings_free(&w);
		free(m.der);
	}

	/* an impossible date is an error in both modes */
	{
		sealkit_error e = {0};
		struct made m;
		v = (struct variant){.gtime = "20251321090000Z"};
		m = made_seal(&in.fields, &v);
		CU_ASSERT_PTR_NULL(parse_made(m, 0, NULL, &e));
		CU_ASSERT(strstr(e.message, "createDate: '20251321090000Z' is not a valid time") !=
			  NULL);
		free(m.der);
	}
}

static void test_stamp_deviations(void)
{
	static const unsigned char token[] = {0x30, 0x03, 0x02, 0x01, 0x01};
	sealkit_bytes ts = {token, sizeof token};
	unsigned char *seal, *tbs = NULL, *der, *sig = NULL;
	size_t seal_len = 0, tbs_len = 0, len = 0, sig_len = 0;
	sealkit_stamp_fields f;
	static const struct {
		struct variant v;
		const char *needle;
	} cases[] = {
	    {{.implicit_ts = 1}, "timeStamp is [0] IMPLICIT"},
	    {{.implicit_ext = 1}, "extDatas is [0] IMPLICIT"},
	    {{.utc_time_info = 1}, "timeInfo is UTCTime"},
	    {{.padded_hash = 1}, "3 unused bits and its padding bits are not zero"},
	};

	{
		unsigned char *info = NULL;
		size_t info_len = 0;
		seal = make_seal(&in.fields, &seal_len, &info, &info_len);
		free(info);
	}
	CU_ASSERT_PTR_NOT_NULL_FATAL(seal);
	der = make_stamp(seal, seal_len, in.ext, 2, &ts, &len, &tbs, &tbs_len, &f);
	CU_ASSERT_PTR_NOT_NULL_FATAL(der);
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct dbuf t = {0}, s = {0};
		sealkit_warnings w = {0};
		sealkit_error e = {0};
		sealkit_stamp *st = NULL, *strict = NULL;
		ref_tbs(&t, &f, &cases[i].v);
		CU_ASSERT_FATAL(fixture_sm2_sign("generated/keys/signer.key.pem",
						 (sealkit_bytes){t.p, t.n}, &sig, &sig_len) == 0);
		ref_signature(&s, (sealkit_bytes){t.p, t.n},
			      (sealkit_bytes){in.signer, in.signer_len}, SEALKIT_OID_SM2_SM3,
			      (sealkit_bytes){sig, sig_len}, &ts, &cases[i].v);
		sealkit_stamp_parse(s.p, s.n, 0, &st, &w, &e);
		sealkit_stamp_parse(s.p, s.n, SEALKIT_PARSE_STRICT, &strict, NULL, &e);
		if (!st || w.count != 1 || !strstr(w.items[0], cases[i].needle))
			printf("# '%s': parsed %d, %zu warnings, first '%s'\n", cases[i].needle,
			       st != NULL, w.count, w.count ? w.items[0] : e.message);
		CU_ASSERT_PTR_NOT_NULL(st);
		CU_ASSERT(w.count == 1 && strstr(w.items[0], cases[i].needle));
		CU_ASSERT_PTR_NULL(strict);
		CU_ASSERT(strstr(e.message, "rejected in strict mode") != NULL);
		if (st) {
			/* the exact signed bytes, however they were encoded */
			CU_ASSERT(st->tbs.len == t.n && !memcmp(st->tbs.data, t.p, t.n));
			CU_ASSERT_EQUAL(fixture_sm2_verify(st->signer_cert, st->tbs, st->sig.value),
					1);
			CU_ASSERT(st->has_timestamp && st->timestamp.len == sizeof token &&
				  !memcmp(st->timestamp.data, token, sizeof token));
			CU_ASSERT_EQUAL(st->n_ext, 2);
			CU_ASSERT_EQUAL(st->time_info.t, f.time_info);
		}
		sealkit_stamp_free(st);
		sealkit_warnings_free(&w);
		free(t.p);
		free(s.p);
		free(sig);
	}
	free(seal);
	free(tbs);
	free(der);
}

/* V1 stamps are read only; this one is put together from UserV1.esl. */
static void test_v1_stamp_variants(void)
{
	size_t len = 0;
	unsigned char *v1 = fixture_load("ofdrw/UserV1.esl", &len);
	sealkit_seal *seal = NULL;
	static const struct {
		unsigned char tag;
		const char *content;
		size_t clen;
		sealkit_status want;
		const char *needle;
		int has_time, zone;
	} cases[] = {
	    {0x03,
	     "\0"
	     "2022-03-24 08:54:12",
	     20, SEALKIT_OK, NULL, 1, 0},
	    {0x03,
	     "\0"
	     "2020-01-25T07:31:56.377Z",
	     25, SEALKIT_OK, NULL, 1, 1},
	    {0x04, "2022-03-24 08:54:12", 19, SEALKIT_OK, "timeInfo is an OCTET STRING", 1, 0},
	    {0x03,
	     "\0"
	     "\x30\x82\x01\x00",
	     5, SEALKIT_OK, "binary data", 0, 0},
	    {0x03,
	     "\0"
	     "yesterday",
	     10, SEALKIT_OK, "not a time this parser knows", 0, 0},
	    {0x05, "", 0, SEALKIT_ERR_FORMAT, "timeInfo has tag 0x05", 0, 0},
	};

	CU_ASSERT_FATAL(v1 != NULL);
	CU_ASSERT_EQUAL_FATAL(sealkit_seal_parse(v1, len, 0, &seal, NULL, NULL), SEALKIT_OK);
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct dbuf t = {0}, s = {0};
		sealkit_warnings w = {0};
		sealkit_error e = {0};
		sealkit_stamp *st = NULL;
		sealkit_status got;
		dint(&t, 1);
		dput(&t, v1, len);
		dtlv(&t, cases[i].tag, cases[i].content, cases[i].clen);
		dbits(&t, (sealkit_bytes){in.doc_hash, 32});
		dstr(&t, 0x16, "/Doc_0/Signs/Sign_0/Signature.xml");
		dtlv(&t, 0x04, seal->property.certs[0].data, seal->property.certs[0].len);
		doid(&t, SEALKIT_OID_SM2_SM3);
		dwrap(&s, 0x30, &t);
		dbits(&s, (sealkit_bytes){(const unsigned char *)"\x30\x06\x02\x01\x01\x02\x01\x01",
					  8});
		dwrap(&t, 0x30, &s);
		got = sealkit_stamp_parse(t.p, t.n, 0, &st, &w, &e);
		if (got != cases[i].want)
			printf("# case %zu: %s\n", i, e.message);
		CU_ASSERT_EQUAL(got, cases[i].want);
		if (cases[i].needle) {
			CU_ASSERT(has_warning_or_error(&w, &e, cases[i].needle));
		} else {
			CU_ASSERT_EQUAL(w.count, 0);
		}
		if (st) {
			CU_ASSERT_EQUAL(st->format, SEALKIT_FORMAT_V1);
			CU_ASSERT_EQUAL(st->time_info.has_time, cases[i].has_time);
			CU_ASSERT_EQUAL(st->time_info.zone_known, cases[i].zone);
			CU_ASSERT_EQUAL(st->time_info.tag, cases[i].tag);
			CU_ASSERT(st->signer_cert.len == seal->property.certs[0].len);
		}
		sealkit_stamp_free(st);
		sealkit_warnings_free(&w);
		free(t.p);
	}
	sealkit_seal_free(seal);
	free(v1);
}

/* ---------------------------------------------------------------- registration */

void register_build_tests(void)
{
	CU_pSuite s = harness_suite("build", build_init, build_cleanup);
	harness_test(s, "seal round trip: certificate list", test_seal_roundtrip_certs);
	harness_test(s, "seal round trip: SM3 digests and extensions",
		     test_seal_roundtrip_digests_ext);
	harness_test(s, "ExtData critical FALSE is written", test_ext_false_is_written);
	harness_test(s, "stamp round trip", test_stamp_roundtrip_plain);
	harness_test(s, "stamp round trip: extensions and time stamp", test_stamp_roundtrip_ext_ts);
	harness_test(s, "real samples re-encode to the same octets", test_reencode_samples);
	harness_test(s, "raw r||s to DER", test_sig_from_raw);
	harness_test(s, "builder argument errors", test_builder_errors);
	harness_test(s, "seal deviations: warned, strict rejects", test_seal_deviations);
	harness_test(s, "stamp deviations: warned, strict rejects", test_stamp_deviations);
	harness_test(s, "V1 stamp timeInfo and dataHash forms", test_v1_stamp_variants);
}
