/* Verification of seals and stamps (spec/seal-format.md sections 3-5):
 * every check runs and is reported by name, so a report says exactly what
 * failed. Signatures are checked over the original bytes, never over a
 * re-encoding. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/ts.h>

#include "certs.h"
#include "digest.h"
#include "ofd.h"
#include "sealkit/ofd.h"
#include "sealkit/seal.h"
#include "sealkit/verify.h"

typedef struct vctx {
	const sealkit_verify_options *opts;
	STACK_OF(X509) *anchors;
	time_t now;
	sealkit_report_item *item;
	bool oom;
} vctx;

static bool strict(const vctx *v)
{
	return v->opts && (v->opts->flags & SEALKIT_VERIFY_STRICT);
}

static bool lenient(const vctx *v)
{
	return v->opts && (v->opts->flags & SEALKIT_VERIFY_LENIENT);
}

static void add_check(vctx *v, const char *name, sealkit_check_result res, bool time_check,
		      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void add_check(vctx *v, const char *name, sealkit_check_result res, bool time_check,
		      const char *fmt, ...)
{
	sealkit_report_item *it = v->item;
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	sealkit_check *c = realloc(it->checks, (it->n_checks + 1) * sizeof *c);
	if (c)
		it->checks = c;
	if (!c || !(c[it->n_checks].detail = strdup(buf))) {
		v->oom = true;
		return;
	}
	c[it->n_checks].name = name;
	c[it->n_checks].result = res;
	c[it->n_checks].advisory =
		time_check && v->opts && (v->opts->flags & SEALKIT_VERIFY_IGNORE_TIME);
	it->n_checks++;
}

static const char *fmt_time(time_t t, char *buf, size_t len)
{
	struct tm tm;
	if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%SZ", &tm))
		snprintf(buf, len, "(time %lld)", (long long)t);
	return buf;
}

/* ---- trust anchors ------------------------------------------------------ */

static sealkit_status load_anchors(const sealkit_verify_options *opts, STACK_OF(X509) **out,
				   sealkit_error *err)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	*out = sk;
	if (!sk)
		return sealkit_fail(err, SEALKIT_ERR_MEMORY, "out of memory");
	for (size_t i = 0; opts && i < opts->n_trust; i++) {
		const char *path = opts->trust_files[i];
		BIO *b = BIO_new_file(path, "rb");
		int before = sk_X509_num(sk);
		X509 *x;
		if (!b)
			return sealkit_fail(err, SEALKIT_ERR_IO, "cannot read trust anchor %s", path);
		while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
			sk_cert_set_sm2_id(x);
			sk_X509_push(sk, x);
		}
		if (sk_X509_num(sk) == before) {
			(void)BIO_reset(b);
			if ((x = d2i_X509_bio(b, NULL)) != NULL) {
				sk_cert_set_sm2_id(x);
				sk_X509_push(sk, x);
			}
		}
		BIO_free(b);
		ERR_clear_error();
		if (sk_X509_num(sk) == before)
			return sealkit_fail(err, SEALKIT_ERR_FORMAT,
					    "%s holds no certificate (PEM or DER)", path);
	}
	return SEALKIT_OK;
}

/* ---- shared pieces -------------------------------------------------------- */

/* Strict DER is decided by the strict parser itself: one source of truth. */
static void check_encoding(vctx *v, bool stamp, const void *der, size_t len)
{
	sealkit_error e = {0};
	sealkit_status st;
	if (stamp) {
		sealkit_stamp *s = NULL;
		st = sealkit_stamp_parse(der, len, SEALKIT_PARSE_STRICT, &s, NULL, &e);
		sealkit_stamp_free(s);
	} else {
		sealkit_seal *s = NULL;
		st = sealkit_seal_parse(der, len, SEALKIT_PARSE_STRICT, &s, NULL, &e);
		sealkit_seal_free(s);
	}
	if (st == SEALKIT_OK)
		add_check(v, "encoding", SEALKIT_CHECK_PASSED, false, "strict DER");
	else if (strict(v))
		add_check(v, "encoding", SEALKIT_CHECK_FAILED, false, "not strict DER: %s",
			  e.message);
	else
		add_check(v, "encoding", SEALKIT_CHECK_PASSED, false,
			  "not strict DER, tolerated (see warnings): %s", e.message);
}

/* A signature check's result as a report line. */
static void report_sig(vctx *v, const char *name, const char *who, EVP_PKEY *pub,
		       const char *alg, sealkit_bytes tbs, const sealkit_sigvalue *sig)
{
	char detail[512];
	if (!sig->value.len) {
		add_check(v, name, SEALKIT_CHECK_FAILED, false,
			  "the %s signature value is neither DER SEQUENCE{r,s} nor raw r||s", who);
		return;
	}
	sk_sig_result r = sk_sig_verify(pub, alg, tbs.data, tbs.len, sig->value.data,
					sig->value.len, lenient(v), detail, sizeof detail);
	const char *alg_name = sk_sig_alg_name(alg);
	switch (r) {
	case SK_SIG_OK:
		if (!sk_sig_alg_is_gbt(alg)) {
			/* ECDSA from a token without SM2: valid cryptography,
			 * not a GB/T 38540 seal. */
			add_check(v, name, strict(v) ? SEALKIT_CHECK_FAILED : SEALKIT_CHECK_PASSED,
				  false, "%s signature verifies, but %s is not a GB/T 38540 algorithm",
				  who, alg_name);
			if (!strict(v))
				sealkit_warn(&v->item->warnings,
					     "%s signature: %s is not a GB/T 38540 algorithm", who,
					     alg_name);
		} else {
			add_check(v, name, SEALKIT_CHECK_PASSED, false,
				  "%s signature verifies (SM2-with-SM3, ID 1234567812345678%s)", who,
				  sig->raw_rs ? ", stored as raw r||s" : "");
		}
		break;
	case SK_SIG_LENIENT:
		add_check(v, name, SEALKIT_CHECK_PASSED, false, "%s signature: %s", who, detail);
		sealkit_warn(&v->item->warnings, "%s signature: %s", who, detail);
		break;
	case SK_SIG_ALG:
	case SK_SIG_BAD:
		add_check(v, name, SEALKIT_CHECK_FAILED, false, "%s signature: %s", who, detail);
		break;
	}
}

/* ---- the seal --------------------------------------------------------------- */

static void check_cert_list(vctx *v, const sealkit_seal *s)
{
	const char *name = "seal-cert-list";
	if (s->property.n_bad_entries) {
		add_check(v, name, SEALKIT_CHECK_FAILED, false,
			  "%zu entr%s of the seal's signer list %s no certificate",
			  s->property.n_bad_entries, s->property.n_bad_entries == 1 ? "y" : "ies",
			  s->property.n_bad_entries == 1 ? "is" : "are");
		return;
	}
	if (s->property.n_digests) {
		add_check(v, name, SEALKIT_CHECK_PASSED, false,
			  "the seal lists %zu signer certificate digest%s", s->property.n_digests,
			  s->property.n_digests == 1 ? "" : "s");
		return;
	}
	if (!s->property.n_certs) {
		add_check(v, name, SEALKIT_CHECK_FAILED, false, "the seal lists no signer");
		return;
	}
	for (size_t i = 0; i < s->property.n_certs; i++) {
		sealkit_error e;
		X509 *x = sk_cert_parse(s->property.certs[i].data, s->property.certs[i].len, &e);
		if (!x) {
			add_check(v, name, SEALKIT_CHECK_FAILED, false, "signer certificate %zu: %s",
				  i + 1, e.message);
			return;
		}
		X509_free(x);
	}
	add_check(v, name, SEALKIT_CHECK_PASSED, false, "the seal lists %zu signer certificate%s",
		  s->property.n_certs, s->property.n_certs == 1 ? "" : "s");
}

static void check_seal_dates(vctx *v, const sealkit_seal *s, X509 *maker)
{
	const sealkit_time *a = &s->property.valid_start, *b = &s->property.valid_end;
	char t1[40], t2[40];
	if (!a->has_time || !b->has_time) {
		add_check(v, "seal-validity", SEALKIT_CHECK_FAILED, false,
			  "the seal's validity dates are missing or unreadable");
		return;
	}
	if (a->t > b->t) {
		add_check(v, "seal-validity", SEALKIT_CHECK_FAILED, false,
			  "the seal's validity ends (%s) before it starts (%s)",
			  fmt_time(b->t, t2, sizeof t2), fmt_time(a->t, t1, sizeof t1));
		return;
	}
	add_check(v, "seal-validity", SEALKIT_CHECK_PASSED, false, "valid from %s to %s",
		  fmt_time(a->t, t1, sizeof t1), fmt_time(b->t, t2, sizeof t2));
	/* Notes, not failures: an old signature stays valid when the seal
	 * expires later; several vendors date seals outside the maker's
	 * certificate. */
	if (b->t < v->now)
		sealkit_warn(&v->item->warnings, "the seal expired on %s",
			     fmt_time(b->t, t2, sizeof t2));
	time_t nb, na;
	const sealkit_time *c = &s->property.create_date;
	if (maker && c->has_time && sk_cert_validity(maker, &nb, &na) && (c->t < nb || c->t > na))
		sealkit_warn(&v->item->warnings,
			     "the seal was made (%s) outside its maker certificate's validity",
			     fmt_time(c->t, t1, sizeof t1));
}

static void check_chain(vctx *v, const char *name, X509 *cert, time_t at, const char *who)
{
	char detail[256];
	if (!cert) {
		add_check(v, name, SEALKIT_CHECK_FAILED, false, "no readable %s certificate", who);
		return;
	}
	if (!sk_X509_num(v->anchors)) {
		add_check(v, name, SEALKIT_CHECK_NA, false, "no trust anchors given");
		return;
	}
	if (sk_chain_verify(cert, NULL, v->anchors, at, detail, sizeof detail))
		add_check(v, name, SEALKIT_CHECK_PASSED, false,
			  "the %s certificate chains to a trust anchor", who);
	else
		add_check(v, name, SEALKIT_CHECK_FAILED, false,
			  "the %s certificate does not chain to a trust anchor: %s", who, detail);
}

/* The checks of a seal, alone or inside a stamp. */
static void check_seal(vctx *v, const sealkit_seal *s)
{
	sealkit_error e;
	X509 *maker = sk_cert_parse(s->maker_cert.data, s->maker_cert.len, &e);
	if (maker)
		report_sig(v, "seal-maker-signature", "the seal maker's", X509_get0_pubkey(maker),
			   s->sig_alg, s->tbs, &s->sig);
	else
		add_check(v, "seal-maker-signature", SEALKIT_CHECK_FAILED, false,
			  "the seal maker's certificate: %s", e.message);
	check_cert_list(v, s);
	check_seal_dates(v, s, maker);
	const sealkit_time *c = &s->property.create_date;
	check_chain(v, "maker-cert-chain", maker, c->has_time ? c->t : 0, "seal maker's");
	X509_free(maker);
}

/* ---- the stamp ------------------------------------------------------------- */

static bool cert_digest_matches(const sealkit_cert_digest *d, sealkit_bytes cert)
{
	static const char *const mds[] = {"SM3", "SHA256", "SHA1"};
	for (size_t i = 0; i < sizeof mds / sizeof mds[0]; i++) {
		unsigned char md[SK_DIGEST_MAX];
		unsigned n = 0;
		EVP_MD *alg = EVP_MD_fetch(NULL, mds[i], NULL);
		bool ok = alg && EVP_Digest(cert.data, cert.len, md, &n, alg, NULL) > 0 &&
			  n == d->value.len && CRYPTO_memcmp(md, d->value.data, n) == 0;
		EVP_MD_free(alg);
		if (ok)
			return true;
	}
	return false;
}

static void check_signer_listed(vctx *v, const sealkit_stamp *st)
{
	const sealkit_seal *s = st->seal;
	/* A list holding no certificate at all fails seal-cert-list already. */
	if (!s->property.n_certs && !s->property.n_digests && s->property.n_bad_entries) {
		add_check(v, "signer-in-seal", SEALKIT_CHECK_NA, false,
			  "the seal's signer list holds no certificate to look for the signer in "
			  "(see seal-cert-list)");
		return;
	}
	for (size_t i = 0; i < s->property.n_certs; i++)
		if (s->property.certs[i].len == st->signer_cert.len &&
		    !memcmp(s->property.certs[i].data, st->signer_cert.data, st->signer_cert.len)) {
			add_check(v, "signer-in-seal", SEALKIT_CHECK_PASSED, false,
				  "the signer certificate is entry %zu of the seal's list", i + 1);
			return;
		}
	for (size_t i = 0; i < s->property.n_digests; i++)
		if (cert_digest_matches(&s->property.digests[i], st->signer_cert)) {
			add_check(v, "signer-in-seal", SEALKIT_CHECK_PASSED, false,
				  "the signer certificate matches digest %zu of the seal's list",
				  i + 1);
			return;
		}
	add_check(v, "signer-in-seal", SEALKIT_CHECK_FAILED, false,
		  "the signer certificate is not among the seal's %zu listed signer%s",
		  s->property.n_certs + s->property.n_digests,
		  s->property.n_certs + s->property.n_digests == 1 ? "" : "s");
}

static sealkit_status check_data_hash(vctx *v, const sealkit_stamp *st, const sealkit_document *doc,
				      sealkit_error *err)
{
	unsigned char md[SK_DIGEST_MAX];
	unsigned n = 0;
	EVP_MD *fetched;
	const EVP_MD *alg = sk_data_hash_md(st->sig_alg, &fetched);
	sealkit_status rc = SEALKIT_OK;

	if (!doc || (!doc->path && !doc->data && !doc->read)) {
		add_check(v, "data-hash", SEALKIT_CHECK_NA, false,
			  "no document given to check the data hash against");
		goto out;
	}
	if ((rc = sk_hash_document(doc, alg, md, &n, v->opts ? v->opts->progress : NULL,
				   v->opts ? v->opts->progress_data : NULL, err)) != SEALKIT_OK)
		goto out;
	if (n == st->data_hash.len && CRYPTO_memcmp(md, st->data_hash.data, n) == 0)
		add_check(v, "data-hash", SEALKIT_CHECK_PASSED, false,
			  "the document's %s matches the stamp's data hash", EVP_MD_get0_name(alg));
	else
		add_check(v, "data-hash", SEALKIT_CHECK_FAILED, false,
			  "the document's %s differs from the stamp's data hash: the document "
			  "is not the one that was stamped, or it changed",
			  EVP_MD_get0_name(alg));
out:
	EVP_MD_free(fetched);
	return rc;
}

static void check_times(vctx *v, const sealkit_stamp *st, X509 *signer)
{
	const sealkit_time *t = &st->time_info;
	const sealkit_seal *s = st->seal;
	char t0[40], t1[40], t2[40];
	if (!t->has_time) {
		add_check(v, "signing-time-in-seal-validity", SEALKIT_CHECK_NA, true,
			  "the stamp carries no readable signing time");
		add_check(v, "signing-time-in-cert-validity", SEALKIT_CHECK_NA, true,
			  "the stamp carries no readable signing time");
		return;
	}
	/* V1 writes the signing time as text, often without a zone: the
	 * producers are Chinese and mean China Standard Time. */
	time_t when = t->t;
	if (!t->zone_known) {
		when -= 8 * 3600;
		sealkit_warn(&v->item->warnings,
			     "the signing time '%s' names no time zone; read as UTC+8 (China)",
			     t->text ? t->text : "");
	}
	fmt_time(when, t0, sizeof t0);
	const sealkit_time *a = &s->property.valid_start, *b = &s->property.valid_end;
	if (!a->has_time || !b->has_time)
		add_check(v, "signing-time-in-seal-validity", SEALKIT_CHECK_FAILED, true,
			  "the seal's validity dates are unreadable");
	else if (when < a->t || when > b->t)
		add_check(v, "signing-time-in-seal-validity", SEALKIT_CHECK_FAILED, true,
			  "signed %s, outside the seal's validity (%s to %s)", t0,
			  fmt_time(a->t, t1, sizeof t1), fmt_time(b->t, t2, sizeof t2));
	else
		add_check(v, "signing-time-in-seal-validity", SEALKIT_CHECK_PASSED, true,
			  "signed %s, within the seal's validity", t0);

	time_t nb, na;
	if (!signer || !sk_cert_validity(signer, &nb, &na))
		add_check(v, "signing-time-in-cert-validity", SEALKIT_CHECK_FAILED, true,
			  "the signer certificate's validity is unreadable");
	else if (when < nb || when > na)
		add_check(v, "signing-time-in-cert-validity", SEALKIT_CHECK_FAILED, true,
			  "signed %s, outside the signer certificate's validity (%s to %s)", t0,
			  fmt_time(nb, t1, sizeof t1), fmt_time(na, t2, sizeof t2));
	else
		add_check(v, "signing-time-in-cert-validity", SEALKIT_CHECK_PASSED, true,
			  "signed %s, within the signer certificate's validity", t0);
}

/* The token's messageImprint must be the hash of the signature value (the
 * BIT STRING content, as ofdrw passes it to its TSA hook). */
static void check_timestamp(vctx *v, const sealkit_stamp *st)
{
	const unsigned char *p = st->timestamp.data;
	PKCS7 *p7 = NULL;
	TS_TST_INFO *info = NULL;
	EVP_MD *md = NULL;

	if (!st->has_timestamp) {
		add_check(v, "timestamp", SEALKIT_CHECK_NA, false, "no time-stamp token");
		return;
	}
	p7 = d2i_PKCS7(NULL, &p, (long)st->timestamp.len);
	info = p7 ? PKCS7_to_TS_TST_INFO(p7) : NULL;
	if (!info) {
		add_check(v, "timestamp", SEALKIT_CHECK_FAILED, false,
			  "the time-stamp token is not an RFC 3161 TimeStampToken");
		goto out;
	}
	TS_MSG_IMPRINT *mi = TS_TST_INFO_get_msg_imprint(info);
	const ASN1_OCTET_STRING *want = TS_MSG_IMPRINT_get_msg(mi);
	char name[80];
	OBJ_obj2txt(name, sizeof name, TS_MSG_IMPRINT_get_algo(mi)->algorithm, 0);
	md = EVP_MD_fetch(NULL, name, NULL);
	unsigned char h[SK_DIGEST_MAX];
	unsigned n = 0;
	if (!md || EVP_Digest(st->sig.raw.data, st->sig.raw.len, h, &n, md, NULL) <= 0)
		add_check(v, "timestamp", SEALKIT_CHECK_FAILED, false,
			  "the time-stamp token's hash %s is not supported", name);
	else if ((int)n != ASN1_STRING_length(want) ||
		 CRYPTO_memcmp(h, ASN1_STRING_get0_data(want), n))
		add_check(v, "timestamp", SEALKIT_CHECK_FAILED, false,
			  "the time-stamp token is for another signature value");
	else
		add_check(v, "timestamp", SEALKIT_CHECK_PASSED, false,
			  "the time-stamp token's imprint matches the signature value "
			  "(the TSA's own signature is not checked)");
out:
	EVP_MD_free(md);
	TS_TST_INFO_free(info);
	PKCS7_free(p7);
	ERR_clear_error();
}

static sealkit_status check_stamp(vctx *v, const sealkit_stamp *st, const sealkit_document *doc,
				  sealkit_error *err)
{
	sealkit_error e;
	check_seal(v, st->seal);
	X509 *signer = sk_cert_parse(st->signer_cert.data, st->signer_cert.len, &e);
	if (signer)
		report_sig(v, "stamp-signature", "the stamp", X509_get0_pubkey(signer), st->sig_alg,
			   st->tbs, &st->sig);
	else
		add_check(v, "stamp-signature", SEALKIT_CHECK_FAILED, false,
			  "the signer certificate: %s", e.message);
	check_signer_listed(v, st);
	sealkit_status rc = check_data_hash(v, st, doc, err);
	check_times(v, st, signer);
	check_chain(v, "signer-cert-chain", signer, st->time_info.has_time ? st->time_info.t : 0,
		    "signer");
	check_timestamp(v, st);
	X509_free(signer);
	return rc;
}

/* ---- reports ------------------------------------------------------------------ */

static sealkit_status new_report(const char *kind, const char *label, sealkit_report **out,
				 sealkit_error *err)
{
	sealkit_report *r = calloc(1, sizeof *r);
	if (r)
		r->items = calloc(1, sizeof *r->items);
	if (!r || !r->items || !(r->items[0].label = strdup(label))) {
		sealkit_report_free(r);
		return sealkit_fail(err, SEALKIT_ERR_MEMORY, "out of memory");
	}
	r->kind = kind;
	r->n_items = 1;
	r->items[0].version = "";
	*out = r;
	return SEALKIT_OK;
}

static void conclude(sealkit_report *r)
{
	r->valid = r->n_items > 0;
	for (size_t i = 0; i < r->n_items; i++) {
		sealkit_report_item *it = &r->items[i];
		it->valid = it->n_checks > 0;
		for (size_t c = 0; c < it->n_checks; c++)
			if (it->checks[c].result == SEALKIT_CHECK_FAILED && !it->checks[c].advisory)
				it->valid = 0;
		r->valid = r->valid && it->valid;
	}
}

static sealkit_status start(vctx *v, const sealkit_verify_options *opts, sealkit_error *err)
{
	memset(v, 0, sizeof *v);
	v->opts = opts;
	v->now = opts && opts->now ? opts->now : time(NULL);
	return load_anchors(opts, &v->anchors, err);
}

static sealkit_status finish(vctx *v, sealkit_status rc, sealkit_report **r, sealkit_error *err)
{
	sk_X509_pop_free(v->anchors, X509_free);
	if (rc == SEALKIT_OK && v->oom)
		rc = sealkit_fail(err, SEALKIT_ERR_MEMORY, "out of memory");
	if (rc != SEALKIT_OK) {
		sealkit_report_free(*r);
		*r = NULL;
		return rc;
	}
	conclude(*r);
	return SEALKIT_OK;
}

sealkit_status sealkit_verify_seal(const void *der, size_t len, const sealkit_verify_options *opts,
				   sealkit_report **out, sealkit_error *err)
{
	vctx v;
	sealkit_seal *s = NULL;
	sealkit_error pe = {0};
	sealkit_status rc;

	*out = NULL;
	if ((rc = start(&v, opts, err)) != SEALKIT_OK || (rc = new_report("seal", "seal", out, err)))
		return finish(&v, rc, out, err);
	v.item = &(*out)->items[0];
	if (sealkit_seal_parse(der, len, 0, &s, &v.item->warnings, &pe) != SEALKIT_OK) {
		add_check(&v, "structure", SEALKIT_CHECK_FAILED, false, "not a readable seal: %s",
			  pe.message);
		return finish(&v, SEALKIT_OK, out, err);
	}
	v.item->version = sealkit_format_name(s->format);
	add_check(&v, "structure", SEALKIT_CHECK_PASSED, false, "%s seal '%s'", v.item->version,
		  s->property.name ? s->property.name : "");
	check_encoding(&v, false, der, len);
	check_seal(&v, s);
	sealkit_seal_free(s);
	return finish(&v, SEALKIT_OK, out, err);
}

sealkit_status sealkit_verify_stamp(const void *der, size_t len, const sealkit_document *doc,
				    const sealkit_verify_options *opts, sealkit_report **out,
				    sealkit_error *err)
{
	vctx v;
	sealkit_stamp *st = NULL;
	sealkit_error pe = {0};
	sealkit_status rc;

	*out = NULL;
	if ((rc = start(&v, opts, err)) != SEALKIT_OK ||
	    (rc = new_report("stamp", "stamp", out, err)))
		return finish(&v, rc, out, err);
	v.item = &(*out)->items[0];
	if (sealkit_stamp_parse(der, len, 0, &st, &v.item->warnings, &pe) != SEALKIT_OK) {
		add_check(&v, "structure", SEALKIT_CHECK_FAILED, false, "not a readable stamp: %s",
			  pe.message);
		return finish(&v, SEALKIT_OK, out, err);
	}
	v.item->version = sealkit_format_name(st->format);
	add_check(&v, "structure", SEALKIT_CHECK_PASSED, false, "%s stamp with seal '%s'",
		  v.item->version, st->seal->property.name ? st->seal->property.name : "");
	check_encoding(&v, true, der, len);
	rc = check_stamp(&v, st, doc, err);
	sealkit_stamp_free(st);
	return finish(&v, rc, out, err);
}

sealkit_status sealkit_verify_auto(const void *der, size_t len, const sealkit_document *doc,
				   const sealkit_verify_options *opts, sealkit_report **out,
				   sealkit_error *err)
{
	sealkit_stamp *st = NULL;
	sealkit_seal *s = NULL;
	bool is_stamp = sealkit_stamp_parse(der, len, 0, &st, NULL, NULL) == SEALKIT_OK;
	bool is_seal = !is_stamp && sealkit_seal_parse(der, len, 0, &s, NULL, NULL) == SEALKIT_OK;
	sealkit_stamp_free(st);
	sealkit_seal_free(s);
	/* An OFD package (a ZIP) is neither seal nor stamp. */
	if (!is_stamp && !is_seal && sealkit_is_zip(der, len))
		return sealkit_verify_ofd_mem(der, len, opts, out, err);
	/* Neither: a document given means the caller expected a stamp. */
	if (is_stamp || (!is_seal && doc && (doc->path || doc->data || doc->read)))
		return sealkit_verify_stamp(der, len, doc, opts, out, err);
	return sealkit_verify_seal(der, len, opts, out, err);
}

/* ---- OFD signatures (ofd.c) ---------------------------------------------------- */

sealkit_status sk_verify_stamp_into(sealkit_report_item *item, const void *der, size_t len,
				    const sealkit_document *doc, const sealkit_verify_options *opts,
				    sealkit_error *err)
{
	vctx v;
	sealkit_stamp *st = NULL;
	sealkit_error pe = {0};
	sealkit_status rc;

	if ((rc = start(&v, opts, err)) != SEALKIT_OK)
		goto out;
	v.item = item;
	if (sealkit_stamp_parse(der, len, 0, &st, &item->warnings, &pe) != SEALKIT_OK) {
		add_check(&v, "structure", SEALKIT_CHECK_FAILED, false,
			  "SignedValue.dat is not a readable stamp: %s", pe.message);
		goto out;
	}
	item->version = sealkit_format_name(st->format);
	add_check(&v, "structure", SEALKIT_CHECK_PASSED, false, "%s stamp with seal '%s'",
		  item->version, st->seal->property.name ? st->seal->property.name : "");
	check_encoding(&v, true, der, len);
	rc = check_stamp(&v, st, doc, err);
out:
	sealkit_stamp_free(st);
	sk_X509_pop_free(v.anchors, X509_free);
	if (rc == SEALKIT_OK && v.oom)
		rc = sealkit_fail(err, SEALKIT_ERR_MEMORY, "out of memory");
	return rc;
}

void sk_report_conclude(sealkit_report *r)
{
	conclude(r);
}

void sealkit_report_free(sealkit_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; r->items && i < r->n_items; i++) {
		sealkit_report_item *it = &r->items[i];
		for (size_t c = 0; c < it->n_checks; c++)
			free(it->checks[c].detail);
		free(it->checks);
		free(it->label);
		sealkit_warnings_free(&it->warnings);
	}
	free(r->items);
	free(r);
}
