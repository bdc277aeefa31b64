/* Tests of middleware/seal.c, stamp.c and asn1.c: parsing every interop seal
 * and stamp, the fields and signed bytes they expose, and malformed input.
 * Building is tested in test_seal_build.c (same program). */
#include "config.h"

#include "harness.h"
#include "test_seal_fixtures.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sealkit/seal.h"

void register_build_tests(void);

/* Under ASan these tests free gigabytes in pieces of 2-40 KB; with the default
 * 256 MB quarantine the process grows past 1.5 GB. 32 MB still catches any
 * use after free within a parse. ASAN_OPTIONS overrides this. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "quarantine_size_mb=32";
}

/* ---------------------------------------------------------------- helpers */

static int has_warning(const sealkit_warnings *w, const char *needle)
{
	for (size_t i = 0; i < w->count; i++)
		if (strstr(w->items[i], needle))
			return 1;
	return 0;
}

static void print_warnings(const char *path, const sealkit_warnings *w)
{
	for (size_t i = 0; i < w->count; i++)
		printf("# %s: warning: %s\n", path, w->items[i]);
}

static int inside(sealkit_bytes part, sealkit_bytes whole)
{
	return part.len == 0 || (part.data >= whole.data && part.len <= whole.len &&
				 (size_t)(part.data - whole.data) <= whole.len - part.len);
}

static int same(sealkit_bytes a, sealkit_bytes b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

/* Whether v is DER SEQUENCE{INTEGER, INTEGER} with minimal, positive INTEGERs. */
static int strict_sig_der(sealkit_bytes v)
{
	const unsigned char *p = v.data;
	size_t n = v.len, pos;

	if (n < 8 || p[0] != 0x30 || p[1] >= 0x80 || (size_t)p[1] + 2 != n)
		return 0;
	pos = 2;
	for (int i = 0; i < 2; i++) {
		size_t l;
		if (pos + 2 > n || p[pos] != 0x02 || (l = p[pos + 1]) >= 0x80 || l == 0 ||
		    pos + 2 + l > n)
			return 0;
		if (p[pos + 2] & 0x80)
			return 0;
		if (l > 1 && p[pos + 2] == 0 && !(p[pos + 3] & 0x80))
			return 0;
		pos += 2 + l;
	}
	return pos == n;
}

static unsigned char *load_or_fail(const char *rel, size_t *len)
{
	unsigned char *b = fixture_load(rel, len);
	if (!b)
		printf("# cannot load %s\n", rel);
	return b;
}

/* ---------------------------------------------------------------- samples */

static size_t fixture_next;

static void check_seal_common(const struct seal_fixture *fx, const sealkit_seal *s)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(s->header.id);
	CU_ASSERT_STRING_EQUAL(s->header.id, "ES");
	CU_ASSERT(inside(s->seal_info, s->der));
	CU_ASSERT(inside(s->maker_cert, s->der));
	CU_ASSERT(inside(s->picture.data, s->der));
	CU_ASSERT(inside(s->sig.raw, s->der));
	CU_ASSERT(s->maker_cert.len > 100);
	CU_ASSERT(s->picture.data.len > 100);
	CU_ASSERT(s->property.n_certs + s->property.n_digests + s->property.n_bad_entries >= 1);
	for (size_t i = 0; i < s->property.n_certs; i++) {
		CU_ASSERT(inside(s->property.certs[i], s->der));
		CU_ASSERT(s->property.certs[i].len > 100 && s->property.certs[i].data[0] == 0x30);
	}
	CU_ASSERT(s->property.create_date.has_time && s->property.valid_start.has_time &&
		  s->property.valid_end.has_time);
	CU_ASSERT(s->property.valid_start.t < s->property.valid_end.t);
	CU_ASSERT(strict_sig_der(s->sig.value));
	if (SEALKIT_FORMAT_IS_V1(s->format)) {
		/* tbs = 30 len || SES_SealInfo || cert TLV || alg TLV, all original bytes */
		const unsigned char *p = s->tbs.data;
		size_t hl = p[1] < 0x80 ? 2 : 2 + (p[1] & 0x7f);
		CU_ASSERT(p[0] == 0x30);
		CU_ASSERT(memcmp(p + hl, s->seal_info.data, s->seal_info.len) == 0);
		CU_ASSERT(p[hl + s->seal_info.len] == 0x04);
		CU_ASSERT(memmem(s->tbs.data, s->tbs.len, s->maker_cert.data, s->maker_cert.len) ==
			  s->tbs.data + hl + s->seal_info.len +
			      (s->maker_cert.len < 0x80    ? 2
			       : s->maker_cert.len < 0x100 ? 3
							   : 4));
		CU_ASSERT(p[s->tbs.len - 10] == 0x06);
		CU_ASSERT(s->property.create_date.tag == 0x17);
	} else {
		CU_ASSERT(s->tbs.data == s->seal_info.data && s->tbs.len == s->seal_info.len);
		CU_ASSERT(s->property.create_date.tag == 0x18);
		CU_ASSERT(s->property.cert_list_type == 1 || s->property.cert_list_type == 2);
	}
	if (fx->maker_sig != SIG_UNKNOWN)
		CU_ASSERT_EQUAL(fixture_sm2_verify(s->maker_cert, s->tbs, s->sig.value),
				fx->maker_sig == SIG_VALID ? 1 : 0);
}

static void check_stamp_common(const struct seal_fixture *fx, const sealkit_stamp *st)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(st->seal);
	CU_ASSERT(inside(st->tbs, st->der));
	CU_ASSERT(inside(st->seal_der, st->tbs));
	CU_ASSERT(st->seal->der.data == st->seal_der.data && st->seal->der.len == st->seal_der.len);
	CU_ASSERT(inside(st->data_hash, st->tbs));
	CU_ASSERT_EQUAL(st->data_hash.len, 32);
	CU_ASSERT(inside(st->signer_cert, st->der));
	CU_ASSERT(st->signer_cert.len > 100);
	CU_ASSERT(st->time_info.has_time);
	CU_ASSERT_PTR_NOT_NULL(st->property_info);
	CU_ASSERT(strict_sig_der(st->sig.value));
	if (SEALKIT_FORMAT_IS_V1(st->format)) {
		CU_ASSERT(inside(st->signer_cert, st->tbs)); /* V1: the signer cert is signed */
		CU_ASSERT(st->time_info.tag == 0x03);
	} else {
		CU_ASSERT(!inside(st->signer_cert, st->tbs) || st->signer_cert.len == 0);
		CU_ASSERT(st->time_info.tag == 0x18 && st->time_info.zone_known);
	}
	check_seal_common(fx, st->seal);
	if (fx->stamp_sig != SIG_UNKNOWN)
		CU_ASSERT_EQUAL(fixture_sm2_verify(st->signer_cert, st->tbs, st->sig.value),
				fx->stamp_sig == SIG_VALID ? 1 : 0);
}

static void test_sample(void)
{
	const struct seal_fixture *fx = &seal_fixtures[fixture_next++];
	size_t len = 0, nwant = 0;
	unsigned char *der = fixture_load(fx->path, &len);
	sealkit_warnings w = {0}, ws = {0};
	sealkit_error e = {0}, es = {0};
	sealkit_seal *seal = NULL, *sseal = NULL;
	sealkit_stamp *stamp = NULL, *sstamp = NULL;
	sealkit_status st, sst;

	if (!der) {
		/* OFD members need unzip; files of their own must be there. */
		printf("# %s: %s\n", fx->path, fx->in_ofd ? "skipped (no unzip)" : "missing");
		CU_ASSERT(fx->in_ofd);
		return;
	}
	while (nwant < 6 && fx->warnings[nwant])
		nwant++;
	if (fx->kind == FIXTURE_SEAL) {
		st = sealkit_seal_parse(der, len, 0, &seal, &w, &e);
		sst = sealkit_seal_parse(der, len, SEALKIT_PARSE_STRICT, &sseal, &ws, &es);
	} else {
		st = sealkit_stamp_parse(der, len, 0, &stamp, &w, &e);
		sst = sealkit_stamp_parse(der, len, SEALKIT_PARSE_STRICT, &sstamp, &ws, &es);
	}
	if (st != SEALKIT_OK)
		printf("# %s: %s\n", fx->path, e.message);
	print_warnings(fx->path, &w);
	CU_ASSERT_EQUAL_FATAL(st, SEALKIT_OK);

	CU_ASSERT_EQUAL(fx->kind == FIXTURE_SEAL ? seal->format : stamp->format, fx->format);
	CU_ASSERT_EQUAL(w.count, nwant);
	for (size_t i = 0; i < nwant; i++) {
		if (!has_warning(&w, fx->warnings[i]))
			printf("# %s: expected a warning with '%s'\n", fx->path, fx->warnings[i]);
		CU_ASSERT(has_warning(&w, fx->warnings[i]));
	}
	if (fx->strict_ok) {
		if (sst != SEALKIT_OK)
			printf("# %s (strict): %s\n", fx->path, es.message);
		CU_ASSERT_EQUAL(sst, SEALKIT_OK);
		CU_ASSERT_EQUAL(ws.count, w.count); /* only notices remain */
	} else {
		printf("# %s (strict): %s\n", fx->path, es.message);
		CU_ASSERT_EQUAL(sst, SEALKIT_ERR_FORMAT);
		CU_ASSERT(strstr(es.message, "rejected in strict mode") != NULL);
		CU_ASSERT(sseal == NULL && sstamp == NULL);
	}
	if (seal)
		check_seal_common(fx, seal);
	if (stamp)
		check_stamp_common(fx, stamp);

	sealkit_seal_free(seal);
	sealkit_seal_free(sseal);
	sealkit_stamp_free(stamp);
	sealkit_stamp_free(sstamp);
	sealkit_warnings_free(&w);
	sealkit_warnings_free(&ws);
	free(der);
}

/* Every .esl/.dat/.DER of the interop dir has a row in the table. */
static void scan(const char *dir, const char *rel, size_t *found, size_t *missing)
{
	char path[1400], sub[700];
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		struct stat sb;
		const char *dot = strrchr(de->d_name, '.');
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", de->d_name);
		if (stat(path, &sb) != 0)
			continue;
		if (S_ISDIR(sb.st_mode)) {
			scan(path, sub, found, missing);
		} else if (dot &&
			   (!strcmp(dot, ".esl") || !strcmp(dot, ".dat") || !strcmp(dot, ".DER"))) {
			size_t i;
			for (i = 0; i < n_seal_fixtures; i++)
				if (!strcmp(seal_fixtures[i].path, sub))
					break;
			(*found)++;
			if (i == n_seal_fixtures) {
				(*missing)++;
				printf("# %s has no row in the fixture table\n", sub);
			}
		}
	}
	closedir(d);
}

static void test_every_sample_listed(void)
{
	size_t found = 0, missing = 0;
	scan(fixture_interop_dir(), "", &found, &missing);
	printf("# %zu seal/stamp files in the interop dir\n", found);
	CU_ASSERT(found >= 19);
	CU_ASSERT_EQUAL(missing, 0);
}

/* Seal.esl must equal TBS_Sign.eseal byte for byte in the same package. */
static void test_embedded_seal_matches_file(void)
{
	size_t sl = 0, tl = 0;
	unsigned char *seal = load_or_fail("OfdSharp/Seal.esl", &sl);
	unsigned char *sig = load_or_fail("OfdSharp/SignedValue.dat", &tl);
	sealkit_stamp *st = NULL;

	CU_ASSERT_FATAL(seal && sig);
	CU_ASSERT_EQUAL_FATAL(sealkit_stamp_parse(sig, tl, 0, &st, NULL, NULL), SEALKIT_OK);
	CU_ASSERT(same(st->seal_der, (sealkit_bytes){seal, sl}));
	sealkit_stamp_free(st);
	free(seal);
	free(sig);
}

/* ---------------------------------------------------------------- fields */

static sealkit_seal *parse_seal_file(const char *rel, unsigned flags, sealkit_warnings *w)
{
	size_t len = 0;
	unsigned char *der = load_or_fail(rel, &len);
	sealkit_seal *s = NULL;
	sealkit_error e = {0};
	if (der && sealkit_seal_parse(der, len, flags, &s, w, &e) != SEALKIT_OK)
		printf("# %s: %s\n", rel, e.message);
	free(der);
	return s;
}

static sealkit_stamp *parse_stamp_file(const char *rel, unsigned flags, sealkit_warnings *w)
{
	size_t len = 0;
	unsigned char *der = fixture_load(rel, &len);
	sealkit_stamp *s = NULL;
	sealkit_error e = {0};
	if (der && sealkit_stamp_parse(der, len, flags, &s, w, &e) != SEALKIT_OK)
		printf("# %s: %s\n", rel, e.message);
	free(der);
	return s;
}

static void test_fields_gomain_seal(void)
{
	sealkit_seal *s = parse_seal_file("OfdSharp/Seal.esl", SEALKIT_PARSE_STRICT, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(s->format, SEALKIT_FORMAT_V4);
	CU_ASSERT_EQUAL(s->header.version, 4);
	CU_ASSERT_STRING_EQUAL(s->header.vid, "GOMAIN");
	CU_ASSERT_STRING_EQUAL(s->es_id, "50011200000001");
	CU_ASSERT_EQUAL(s->property.type, 3);
	CU_ASSERT_STRING_EQUAL(s->property.name, "测试全国统一发票监制章国家税务总局重庆市税务局");
	CU_ASSERT_EQUAL(s->property.cert_list_type, SEALKIT_CERT_LIST_CERTS);
	CU_ASSERT_EQUAL(s->property.n_certs, 1);
	/* 20200226061554Z */
	CU_ASSERT_EQUAL(s->property.create_date.t, 1582697754);
	CU_ASSERT_STRING_EQUAL(s->property.create_date.text, "20200226061554Z");
	CU_ASSERT(s->property.create_date.zone_known);
	CU_ASSERT_EQUAL(s->property.valid_end.t, 1677340800); /* 20230225160000Z */
	CU_ASSERT_STRING_EQUAL(s->picture.type, "ofd");
	CU_ASSERT_EQUAL(s->picture.width, 30);
	CU_ASSERT_EQUAL(s->picture.height, 20);
	CU_ASSERT(s->picture.data.len > 2 &&
		  !memcmp(s->picture.data.data, "PK", 2)); /* an OFD (zip) */
	CU_ASSERT_EQUAL(s->n_ext, 0);
	CU_ASSERT_STRING_EQUAL(s->sig_alg, SEALKIT_OID_SM2_SM3);
	CU_ASSERT(!s->sig.raw_rs && !s->sig.nonminimal && s->sig.unused_bits == 0);
	CU_ASSERT(s->sig.value.data == s->sig.raw.data); /* already DER: no copy */
	CU_ASSERT(!s->has_timestamp);
	sealkit_seal_free(s);
}

static void test_fields_generated_seals(void)
{
	size_t cl = 0, ml = 0;
	unsigned char *signer = load_or_fail("generated/keys/signer.cert.der", &cl);
	unsigned char *maker = load_or_fail("generated/keys/maker.cert.der", &ml);
	sealkit_seal *s = parse_seal_file("generated/seal.esl", SEALKIT_PARSE_STRICT, NULL);
	sealkit_seal *d = parse_seal_file("generated/seal-digest.esl", SEALKIT_PARSE_STRICT, NULL);
	unsigned char h[32];

	CU_ASSERT_FATAL(signer && maker && s && d);
	CU_ASSERT_STRING_EQUAL(s->header.vid, "STEERGEN");
	CU_ASSERT_STRING_EQUAL(s->es_id, "11010800000001");
	CU_ASSERT_EQUAL(s->property.n_certs, 1);
	CU_ASSERT(same(s->property.certs[0], (sealkit_bytes){signer, cl}));
	CU_ASSERT(same(s->maker_cert, (sealkit_bytes){maker, ml}));
	CU_ASSERT_STRING_EQUAL(s->picture.type, "PNG");
	CU_ASSERT_EQUAL(s->picture.width, 40);

	CU_ASSERT_EQUAL(d->property.cert_list_type, SEALKIT_CERT_LIST_DIGESTS);
	CU_ASSERT_EQUAL(d->property.n_certs, 0);
	CU_ASSERT_EQUAL_FATAL(d->property.n_digests, 1);
	CU_ASSERT_STRING_EQUAL(d->property.digests[0].type, "sm3");
	fixture_sm3(signer, cl, h);
	CU_ASSERT(same(d->property.digests[0].value, (sealkit_bytes){h, 32}));
	sealkit_seal_free(s);
	sealkit_seal_free(d);
	free(signer);
	free(maker);
}

static void test_fields_v1_seal(void)
{
	sealkit_seal *s = parse_seal_file("ofdrw/UserV1.esl", SEALKIT_PARSE_STRICT, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(s->format, SEALKIT_FORMAT_V1);
	CU_ASSERT_EQUAL(s->header.version, 1);
	CU_ASSERT_STRING_EQUAL(s->header.vid, "OFDR&WTest");
	CU_ASSERT_STRING_EQUAL(s->property.name, "OFDRW测试用印章");
	CU_ASSERT_EQUAL(s->property.cert_list_type, SEALKIT_CERT_LIST_CERTS);
	CU_ASSERT_EQUAL(s->property.n_certs, 1);
	CU_ASSERT_EQUAL(s->property.create_date.tag, 0x17);
	CU_ASSERT_STRING_EQUAL(s->property.create_date.text, "200422021807Z");
	CU_ASSERT_EQUAL(s->property.create_date.t, 1587521887);
	CU_ASSERT_EQUAL(s->property.valid_end.t, 1650593887); /* 220422021807Z */
	/* The maker signed a SEQUENCE we rebuilt from original slices: not a slice itself. */
	CU_ASSERT(!inside(s->tbs, s->der));
	CU_ASSERT_EQUAL(s->tbs.len, 4 + s->seal_info.len + 4 + s->maker_cert.len + 10);
	sealkit_seal_free(s);
}

static void test_fields_koal_raw(void)
{
	sealkit_warnings w = {0};
	sealkit_seal *s = parse_seal_file("esl-demo/Seal.esl", 0, &w);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT(s->sig.raw_rs);
	CU_ASSERT_EQUAL(s->sig.raw.len, 64);
	/* The DER value carries the same r and s. */
	CU_ASSERT(strict_sig_der(s->sig.value));
	CU_ASSERT(memmem(s->sig.value.data, s->sig.value.len, s->sig.raw.data + 1, 31) != NULL);
	CU_ASSERT(memmem(s->sig.value.data, s->sig.value.len, s->sig.raw.data + 33, 31) != NULL);
	CU_ASSERT_EQUAL_FATAL(s->n_ext, 5);
	CU_ASSERT_STRING_EQUAL(s->ext[0].oid, "2.16.156.514556.402");
	CU_ASSERT_EQUAL(s->ext[0].critical, 0);
	CU_ASSERT(s->ext[0].value.len == 1 && s->ext[0].value.data[0] == '0');
	CU_ASSERT_STRING_EQUAL(s->ext[4].oid, "2.16.156.514556.401");
	sealkit_seal_free(s);
	sealkit_warnings_free(&w);
}

static void test_fields_hebei_ext(void)
{
	sealkit_seal *s = parse_seal_file("ofdrw/SESealData.DER", 0, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(s->property.n_certs, 2);
	CU_ASSERT_STRING_EQUAL(s->picture.type, "GIF");
	CU_ASSERT_EQUAL_FATAL(s->n_ext, 3);
	CU_ASSERT_STRING_EQUAL(s->ext[1].oid, "1.2.156.112600.7.2");
	CU_ASSERT_EQUAL(s->ext[1].critical, 1); /* BOOLEAN FF */
	CU_ASSERT_EQUAL(s->ext[2].value.len, 35);
	sealkit_seal_free(s);
}

static void test_fields_v5_timestamp(void)
{
	sealkit_seal *s = parse_seal_file("ofdrw/UserV5_ts.esl", 0, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT(s->has_timestamp);
	CU_ASSERT(inside(s->timestamp, s->der));
	CU_ASSERT_EQUAL(s->timestamp.len, 3); /* ofdrw's dummy 3-octet token */
	sealkit_seal_free(s);
}

static void test_fields_stamps(void)
{
	sealkit_stamp *st =
	    parse_stamp_file("OfdSharp/SignedValue.dat", SEALKIT_PARSE_STRICT, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_EQUAL(st->version, 4);
	CU_ASSERT_STRING_EQUAL(st->time_info.text, "20200305032131Z");
	CU_ASSERT_EQUAL(st->time_info.t, 1583378491);
	CU_ASSERT_STRING_EQUAL(st->property_info, "/Doc_0/Signs/Sign_0/Signature.xml");
	CU_ASSERT_EQUAL(st->data_hash_unused_bits, 0);
	CU_ASSERT_STRING_EQUAL(st->sig_alg, SEALKIT_OID_SM2_SM3);
	CU_ASSERT(!st->has_timestamp && st->n_ext == 0);
	CU_ASSERT_STRING_EQUAL(st->seal->header.vid, "GOMAIN");
	sealkit_stamp_free(st);

	/* dataHash of the generated stamp is SM3(document.txt). */
	size_t dl = 0;
	unsigned char *doc = load_or_fail("generated/document.txt", &dl), h[32];
	st = parse_stamp_file("generated/signature.dat", SEALKIT_PARSE_STRICT, NULL);
	CU_ASSERT_FATAL(doc && st);
	fixture_sm3(doc, dl, h);
	CU_ASSERT(same(st->data_hash, (sealkit_bytes){h, 32}));
	CU_ASSERT_STRING_EQUAL(st->property_info, "document.txt");
	sealkit_stamp_free(st);
	free(doc);
}

static void test_fields_ofd_stamps(void)
{
	sealkit_warnings w = {0};
	sealkit_stamp *st;

	if (system("command -v unzip >/dev/null 2>&1") != 0) {
		printf("# skipped: no unzip\n");
		return;
	}
	/* Suwell/JHSEC hybrid: text time, unused bits, propertyInfo " ". */
	st = parse_stamp_file("ofd-parser/00101.ofd!Doc_0/Signs/Sign_0/SignedValue.dat", 0, &w);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_EQUAL(st->format, SEALKIT_FORMAT_V1_HYBRID);
	CU_ASSERT_EQUAL(st->seal->format, SEALKIT_FORMAT_V1_HYBRID);
	CU_ASSERT_STRING_EQUAL(st->time_info.text, "2022-03-24 08:54:12");
	CU_ASSERT(st->time_info.has_time && !st->time_info.zone_known);
	CU_ASSERT_EQUAL(st->time_info.t, 1648112052); /* read as if UTC */
	CU_ASSERT_STRING_EQUAL(st->property_info, " ");
	CU_ASSERT_EQUAL(st->sig.unused_bits, 1);
	CU_ASSERT_EQUAL(st->seal->sig.unused_bits, 3);
	CU_ASSERT_STRING_EQUAL(st->seal->picture.type, "GIF");
	sealkit_stamp_free(st);
	sealkit_warnings_free(&w);

	/* iOFD: ISO time text, the certList entry that is no certificate. */
	st = parse_stamp_file("ofdrw/n.ofd!Doc_0/Signs/Sign_0/SignedValue.dat", 0, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_EQUAL(st->time_info.t, 1579937516); /* 2020-01-25T07:31:56.377Z */
	CU_ASSERT(st->time_info.zone_known);
	CU_ASSERT_EQUAL(st->seal->property.n_certs, 0);
	CU_ASSERT_EQUAL(st->seal->property.n_bad_entries, 1);
	CU_ASSERT_EQUAL_FATAL(st->seal->n_ext, 1);
	CU_ASSERT_STRING_EQUAL(st->seal->ext[0].oid, "1.3.6.1.4.1.54706.1");
	CU_ASSERT_EQUAL(st->seal->ext[0].critical, 1);
	sealkit_stamp_free(st);

	/* tongz: TBS_Sign.extDatas [0] EXPLICIT, raw stamp signature. */
	st = parse_stamp_file("ofdrw/keyword.ofd!Doc_0/Signs/Sign_1/SignedValue.dat", 0, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT(st->sig.raw_rs);
	CU_ASSERT_EQUAL_FATAL(st->n_ext, 1);
	CU_ASSERT_STRING_EQUAL(st->ext[0].oid, "1.3.6.1.5.5.7.1.4");
	CU_ASSERT_EQUAL(st->ext[0].critical, 1);
	CU_ASSERT_EQUAL(st->ext[0].value.len, 72);
	sealkit_stamp_free(st);

	/* Koal: the non-minimal INTEGER, normalised. */
	st = parse_stamp_file("esl-demo/many-ofd.ofd!Doc_0/Signs/Sign_2/SignedValue.dat", 0, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT(st->sig.nonminimal && !st->sig.raw_rs);
	CU_ASSERT(st->sig.value.len < st->sig.raw.len);
	CU_ASSERT(strict_sig_der(st->sig.value));
	sealkit_stamp_free(st);

	/* easyofd: the mislabelled algorithm is reported as found. */
	st = parse_stamp_file("easyofd-java/image-seal.ofd!Doc_0/Signs/Sign_0/SignedValue.dat", 0,
			      NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_STRING_EQUAL(st->sig_alg, SEALKIT_OID_GM_SIGNED_DATA);
	CU_ASSERT_STRING_EQUAL(st->property_info, "Doc_0/Signs/Sign_0/Signature.xml");
	sealkit_stamp_free(st);
}

/* UserV1.esl with header version 4: the Suwell/JHSEC hybrid, made here. */
static void test_synthetic_hybrid(void)
{
	size_t len = 0;
	unsigned char *der = load_or_fail("ofdrw/UserV1.esl", &len);
	sealkit_warnings w = {0};
	sealkit_seal *s = NULL;

	CU_ASSERT_FATAL(der != NULL);
	CU_ASSERT_FATAL(der[14] == 0x02 && der[15] == 0x01 && der[16] == 0x01);
	der[16] = 4;
	CU_ASSERT_EQUAL_FATAL(sealkit_seal_parse(der, len, SEALKIT_PARSE_STRICT, &s, &w, NULL),
			      SEALKIT_OK);
	CU_ASSERT_EQUAL(s->format, SEALKIT_FORMAT_V1_HYBRID);
	CU_ASSERT(has_warning(&w, "Suwell/JHSEC hybrid"));
	sealkit_seal_free(s);
	sealkit_warnings_free(&w);
	free(der);
}

/* ---------------------------------------------------------------- malformed input */

static sealkit_status parse_any(const unsigned char *b, size_t n, int stamp, unsigned flags,
				sealkit_error *e)
{
	sealkit_status st;
	sealkit_warnings w = {0};
	if (stamp) {
		sealkit_stamp *s = NULL;
		st = sealkit_stamp_parse(b, n, flags, &s, &w, e);
		CU_ASSERT((st == SEALKIT_OK) == (s != NULL));
		sealkit_stamp_free(s);
	} else {
		sealkit_seal *s = NULL;
		st = sealkit_seal_parse(b, n, flags, &s, &w, e);
		CU_ASSERT((st == SEALKIT_OK) == (s != NULL));
		sealkit_seal_free(s);
	}
	sealkit_warnings_free(&w);
	return st;
}

static unsigned failures_without_message;

static void expect_format(const unsigned char *b, size_t n, int stamp, unsigned flags)
{
	sealkit_error e = {0};
	sealkit_status st = parse_any(b, n, stamp, flags, &e);
	CU_ASSERT_EQUAL(st, SEALKIT_ERR_FORMAT);
	if (st != SEALKIT_OK &&
	    strncmp(e.message, stamp ? "stamp: " : "seal: ", stamp ? 7 : 6) != 0)
		failures_without_message++;
}

static void expect_ok_or_format(const unsigned char *b, size_t n, int stamp, unsigned flags)
{
	sealkit_error e = {0};
	sealkit_status st = parse_any(b, n, stamp, flags, &e);
	CU_ASSERT(st == SEALKIT_OK || st == SEALKIT_ERR_FORMAT);
	if (st != SEALKIT_OK &&
	    strncmp(e.message, stamp ? "stamp: " : "seal: ", stamp ? 7 : 6) != 0)
		failures_without_message++;
}

static const char *const truncation_samples[] = {
    "OfdSharp/Seal.esl",
    "generated/signature.dat",
    "ofdrw/UserV1.esl",
    "ofdrw/UserV5_ts.esl",
};

/* Every prefix of a real sample: a format error, from both parsers, in both modes. */
static void test_truncation_every_length(void)
{
	failures_without_message = 0;
	for (size_t k = 0; k < sizeof truncation_samples / sizeof *truncation_samples; k++) {
		size_t len = 0;
		unsigned char *der = load_or_fail(truncation_samples[k], &len);
		CU_ASSERT_FATAL(der != NULL);
		/* The parsers work on an exact-size copy of their input, so ASan
		 * sees any read past n without a copy here. */
		for (size_t n = 1; n < len; n++)
			for (int stamp = 0; stamp < 2; stamp++)
				for (unsigned f = 0; f < 2; f++)
					expect_format(der, n, stamp, f);
		free(der);
	}
	CU_ASSERT_EQUAL(failures_without_message, 0);
}

/* Prefixes whose outer length is patched to fit: the inner structure is cut. */
static void test_truncation_inner(void)
{
	failures_without_message = 0;
	for (size_t k = 0; k < sizeof truncation_samples / sizeof *truncation_samples; k++) {
		size_t len = 0;
		unsigned char *der = load_or_fail(truncation_samples[k], &len);
		size_t hl;
		CU_ASSERT_FATAL(der != NULL && der[1] == 0x82);
		hl = 4;
		for (size_t n = hl; n < len; n++) {
			size_t clen = n - hl;
			der[2] = (unsigned char)(clen >> 8);
			der[3] = (unsigned char)clen;
			for (int stamp = 0; stamp < 2; stamp++)
				expect_ok_or_format(der, n, stamp, 0);
		}
		free(der);
	}
	CU_ASSERT_EQUAL(failures_without_message, 0);
}

/* Single corrupted octets across the structural parts of a seal and a stamp. */
static void test_corrupted_octets(void)
{
	static const unsigned char values[] = {0x00, 0xff, 0x81, 0x30};
	static const char *const files[] = {"generated/seal-digest.esl", "OfdSharp/SignedValue.dat",
					    "ofdrw/UserV1.esl"};
	failures_without_message = 0;
	for (size_t k = 0; k < 3; k++) {
		size_t len = 0;
		unsigned char *der = load_or_fail(files[k], &len);
		CU_ASSERT_FATAL(der != NULL);
		for (size_t i = 0; i < len; i++) {
			/* the header region, and the tail (cert, algorithm, signature) */
			if (i >= 300 && i + 700 < len)
				continue;
			unsigned char keep = der[i];
			for (size_t v = 0; v < sizeof values; v++) {
				der[i] = values[v] == keep ? (unsigned char)(keep ^ 1) : values[v];
				for (int stamp = 0; stamp < 2; stamp++)
					expect_ok_or_format(der, len, stamp,
							    stamp ? 0 : SEALKIT_PARSE_STRICT);
			}
			der[i] = keep;
		}
		free(der);
	}
	CU_ASSERT_EQUAL(failures_without_message, 0);
}

static void expect_message(const unsigned char *b, size_t n, int stamp, unsigned flags,
			   sealkit_status want, const char *needle)
{
	sealkit_error e = {0};
	sealkit_status st = parse_any(b, n, stamp, flags, &e);
	if (st != want || !strstr(e.message, needle))
		printf("# got %s '%s', wanted %s with '%s'\n", sealkit_status_name(st), e.message,
		       sealkit_status_name(want), needle);
	CU_ASSERT_EQUAL(st, want);
	CU_ASSERT(strstr(e.message, needle) != NULL);
}

static void test_crafted_inputs(void)
{
	static const unsigned char indefinite[] = {0x30, 0x80, 0x02, 0x01, 0x01, 0x00, 0x00};
	static const unsigned char huge[] = {0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x00};
	static const unsigned char empty_seq[] = {0x30, 0x00};
	static const unsigned char not_seq[] = {0x31, 0x03, 0x02, 0x01, 0x04};
	static const unsigned char long_tag[] = {0x3f, 0x81, 0x01, 0x00};
	unsigned char deep[4000];
	size_t len = 0, slen = 0;
	unsigned char *seal = load_or_fail("generated/seal.esl", &len);
	unsigned char *stamp = load_or_fail("generated/signature.dat", &slen);
	unsigned char *buf;
	sealkit_seal *s = NULL;

	CU_ASSERT_FATAL(seal && stamp);
	expect_message(indefinite, sizeof indefinite, 0, 0, SEALKIT_ERR_FORMAT,
		       "indefinite length");
	expect_message(huge, sizeof huge, 1, 0, SEALKIT_ERR_FORMAT, "truncated");
	expect_message(empty_seq, 2, 0, 0, SEALKIT_ERR_FORMAT, "0 elements");
	expect_message(not_seq, sizeof not_seq, 1, 0, SEALKIT_ERR_FORMAT,
		       "does not start with a SEQUENCE");
	expect_message(long_tag, sizeof long_tag, 0, 0, SEALKIT_ERR_FORMAT, "multi-octet tag");
	expect_message(seal, 1, 0, 0, SEALKIT_ERR_FORMAT, "truncated");
	/* 1000 nested SEQUENCEs, built from the inside out */
	{
		size_t n = 0;
		for (int i = 0; i < 1000; i++) {
			unsigned char h[4];
			size_t hl = n < 0x80 ? 2 : n < 0x100 ? 3 : 4;
			h[0] = 0x30;
			if (hl == 2) {
				h[1] = (unsigned char)n;
			} else {
				h[1] = (unsigned char)(0x80 | (hl - 2));
				h[hl - 1] = (unsigned char)n;
				if (hl == 4)
					h[2] = (unsigned char)(n >> 8);
			}
			memmove(deep + hl, deep, n);
			memcpy(deep, h, hl);
			n += hl;
		}
		expect_ok_or_format(deep, n, 0, 0);
		expect_ok_or_format(deep, n, 1, 0);
		expect_message(deep, n, 0, 0, SEALKIT_ERR_FORMAT, "1 elements");
	}

	/* the wrong parser */
	expect_message(stamp, slen, 0, 0, SEALKIT_ERR_FORMAT, "this is a stamp");
	expect_message(seal, len, 1, 0, SEALKIT_ERR_FORMAT, "this is a seal");

	/* trailing garbage */
	buf = malloc(len + 3);
	memcpy(buf, seal, len);
	memcpy(buf + len, "\0\0\0", 3);
	expect_message(buf, len + 3, 0, 0, SEALKIT_ERR_FORMAT, "3 octets follow");
	free(buf);

	/* a non-minimal outer length: 30 82 xx xx -> 30 84 00 00 xx xx */
	buf = malloc(len + 2);
	CU_ASSERT_FATAL(seal[1] == 0x82);
	buf[0] = 0x30;
	buf[1] = 0x84;
	buf[2] = buf[3] = 0;
	memcpy(buf + 4, seal + 2, len - 2);
	expect_message(buf, len + 2, 0, SEALKIT_PARSE_STRICT, SEALKIT_ERR_FORMAT, "shortest form");
	{
		sealkit_warnings w = {0};
		CU_ASSERT_EQUAL(sealkit_seal_parse(buf, len + 2, 0, &s, &w, NULL), SEALKIT_OK);
		CU_ASSERT(has_warning(&w, "offset 0 is not in its shortest form"));
		CU_ASSERT(s && s->der.len == len + 2);
		sealkit_seal_free(s);
		sealkit_warnings_free(&w);
	}
	free(buf);

	/* arguments */
	CU_ASSERT_EQUAL(sealkit_seal_parse(NULL, 5, 0, &s, NULL, NULL), SEALKIT_ERR_ARGS);
	CU_ASSERT_EQUAL(sealkit_seal_parse(seal, len, 0, NULL, NULL, NULL), SEALKIT_ERR_ARGS);
	CU_ASSERT_EQUAL(sealkit_seal_parse(seal, len, 0x80, &s, NULL, NULL), SEALKIT_ERR_ARGS);
	CU_ASSERT_EQUAL(sealkit_stamp_parse(stamp, 0, 0, &(sealkit_stamp *){NULL}, NULL, NULL),
			SEALKIT_ERR_FORMAT);
	sealkit_seal_free(NULL);
	sealkit_stamp_free(NULL);
	CU_ASSERT_STRING_EQUAL(sealkit_format_name(SEALKIT_FORMAT_V1_HYBRID), "V1-hybrid");
	free(seal);
	free(stamp);
}

/* ---------------------------------------------------------------- threads */

struct thread_job {
	const unsigned char *seal, *stamp;
	size_t seal_len, stamp_len;
	int failures;
};

static void *parse_many(void *arg)
{
	struct thread_job *j = arg;
	for (int i = 0; i < 40; i++) {
		sealkit_seal *s = NULL;
		sealkit_stamp *st = NULL;
		sealkit_warnings w = {0};
		if (sealkit_seal_parse(j->seal, j->seal_len, 0, &s, &w, NULL) != SEALKIT_OK ||
		    sealkit_stamp_parse(j->stamp, j->stamp_len, SEALKIT_PARSE_STRICT, &st, &w,
					NULL) != SEALKIT_OK ||
		    st->seal->property.n_certs != 1 || w.count != 1)
			j->failures++;
		sealkit_seal_free(s);
		sealkit_stamp_free(st);
		sealkit_warnings_free(&w);
	}
	return NULL;
}

/* The definitions load once (pthread_once); parsing shares nothing else. */
static void test_parallel_parsing(void)
{
	size_t sl = 0, tl = 0;
	unsigned char *seal = load_or_fail("esl-demo/Seal.esl", &sl);
	unsigned char *stamp = load_or_fail("OfdSharp/SignedValue.dat", &tl);
	struct thread_job jobs[4];
	pthread_t th[4];
	int failures = 0;

	CU_ASSERT_FATAL(seal && stamp);
	for (int i = 0; i < 4; i++) {
		jobs[i] = (struct thread_job){seal, stamp, sl, tl, 0};
		CU_ASSERT_FATAL(pthread_create(&th[i], NULL, parse_many, &jobs[i]) == 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		failures += jobs[i].failures;
	}
	CU_ASSERT_EQUAL(failures, 0);
	free(seal);
	free(stamp);
}

/* ---------------------------------------------------------------- registration */

static int samples_init(void)
{
	fixture_next = 0;
	return 0;
}

void register_tests(void)
{
	CU_pSuite s;

	if (!fixture_interop_dir())
		harness_skip_all("no interop samples ($SEALKIT_INTEROP_DIR or ../shared/interop)");

	/* First, so that the definitions are loaded by racing threads. */
	s = harness_suite("threads", NULL, NULL);
	harness_test(s, "parallel parsing", test_parallel_parsing);

	s = harness_suite("samples", samples_init, NULL);
	for (size_t i = 0; i < n_seal_fixtures; i++) {
		static char names[64][160];
		snprintf(names[i % 64], sizeof names[0], "parse %s", seal_fixtures[i].path);
		harness_test(s, names[i % 64], test_sample);
	}
	harness_test(s, "every seal/stamp file has a row", test_every_sample_listed);
	harness_test(s, "Seal.esl equals TBS_Sign.eseal", test_embedded_seal_matches_file);

	s = harness_suite("fields", NULL, NULL);
	harness_test(s, "gomain V4 seal", test_fields_gomain_seal);
	harness_test(s, "generated seals: certs and SM3 digests", test_fields_generated_seals);
	harness_test(s, "V1 seal and its rebuilt signed SEQUENCE", test_fields_v1_seal);
	harness_test(s, "Koal raw r||s and extensions", test_fields_koal_raw);
	harness_test(s, "HebeiGede extensions", test_fields_hebei_ext);
	harness_test(s, "V5 time stamp element", test_fields_v5_timestamp);
	harness_test(s, "V4 stamps", test_fields_stamps);
	harness_test(s, "stamps inside OFD packages", test_fields_ofd_stamps);
	harness_test(s, "synthetic V1 hybrid", test_synthetic_hybrid);

	s = harness_suite("malformed", NULL, NULL);
	harness_test(s, "truncation at every length", test_truncation_every_length);
	harness_test(s, "truncation inside the outer SEQUENCE", test_truncation_inner);
	harness_test(s, "corrupted octets", test_corrupted_octets);
	harness_test(s, "crafted inputs and arguments", test_crafted_inputs);

	register_build_tests();
}
