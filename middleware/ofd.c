/* OFD packages (spec/seal-format.md section 7): every signature of a
 * GB/T 33190 document verified into one report item. The package is read
 * with libzip and its XML with libxml2; nothing is ever written. Hostile
 * packages (names leaving the package, duplicates, bombs, entities, deep
 * XML) are refused before anything is read from them. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zip.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>

#include "asn1.h"
#include "certs.h"
#include "digest.h"
#include "ofd.h"
#include "ofdpkg.h"
#include "sealkit/ofd.h"
#include "sealkit/seal.h"

#define OFD_PATH_MAX 1024
#define RATIO_FLOOR  (1u << 20) /* smaller entries may compress as well as they like */

typedef struct pkg {
	zip_t *z;
} pkg;

typedef struct octx {
	pkg *p;
	const sealkit_verify_options *opts;
	sealkit_report *r;
	sealkit_report_item *item;
	bool oom;
} octx;

/* ---- report items ------------------------------------------------------- */

static void check(octx *c, const char *name, sealkit_check_result res, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void check(octx *c, const char *name, sealkit_check_result res, const char *fmt, ...)
{
	sealkit_report_item *it = c->item;
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	sealkit_check *k = realloc(it->checks, (it->n_checks + 1) * sizeof *k);
	if (k)
		it->checks = k;
	if (!k || !(k[it->n_checks].detail = strdup(buf))) {
		c->oom = true;
		goto out;
	}
	k[it->n_checks].name = name;
	k[it->n_checks].result = res;
	k[it->n_checks].advisory = 0;
	it->n_checks++;
out:
	return;
}

/* A new item labelled "/path" (c->item points at it). */
static bool new_item(octx *c, const char *path)
{
	bool ok = false;
	sealkit_report_item *items =
		realloc(c->r->items, (c->r->n_items + 1) * sizeof *c->r->items);
	if (!items)
		goto out;
	c->r->items = items;
	sealkit_report_item *it = &items[c->r->n_items];
	memset(it, 0, sizeof *it);
	it->version = "";
	size_t n = strlen(path) + 2;
	if (!(it->label = malloc(n)))
		goto out;
	snprintf(it->label, n, "/%s", path);
	c->r->n_items++;
	c->item = it;
	ok = true;
out:
	if (!ok)
		c->oom = true;
	return ok;
}

/* ---- paths ---------------------------------------------------------------- */

/* The directory part of path ("" for the root), into dir. */
static void dir_of(const char *path, char *dir, size_t len)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;
	if (n >= len)
		n = len - 1;
	memcpy(dir, path, n);
	dir[n] = '\0';
}

/* Joins dir and ref (ref absolute when it starts with '/' or '\\') and
 * normalises "." and "..". Returns 0, or -1 when the path would leave the
 * package or is too long. out has no leading '/'. */
static int norm_path(const char *dir, const char *ref, char *out, size_t len)
{
	char buf[OFD_PATH_MAX * 2];
	int rc = -1;
	size_t o = 0;
	bool abs = ref[0] == '/' || ref[0] == '\\';

	if (snprintf(buf, sizeof buf, "%s/%s", abs ? "" : dir, ref) >= (int)sizeof buf)
		goto out;
	for (char *q = buf; *q; q++)
		if (*q == '\\')
			*q = '/';
	out[0] = '\0';
	for (char *save = NULL, *seg = strtok_r(buf, "/", &save); seg;
	     seg = strtok_r(NULL, "/", &save)) {
		if (!strcmp(seg, "."))
			continue;
		if (!strcmp(seg, "..")) {
			if (!o)
				goto out;
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o)
				o--;
			out[o] = '\0';
			continue;
		}
		size_t n = strlen(seg);
		if (o + n + 2 > len)
			goto out;
		if (o)
			out[o++] = '/';
		memcpy(out + o, seg, n + 1);
		o += n;
	}
	rc = o ? 0 : -1;
out:
	return rc;
}

/* Whether an entry name stays inside the package as it is written. */
static bool name_is_safe(const char *name)
{
	bool ok = false;
	const char *p = name;
	if (!*name || name[0] == '/' || strchr(name, '\\') || strchr(name, ':'))
		goto out;
	while (*p) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n == 2 && p[0] == '.' && p[1] == '.')
			goto out;
		p += n;
		if (*p == '/')
			p++;
	}
	ok = true;
out:
	return ok;
}

/* ---- the package ------------------------------------------------------------ */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Checks every entry before anything is read: names, duplicates, sizes. */
static sealkit_status pkg_screen(pkg *p, sealkit_error *err)
{
	sealkit_status rc = SEALKIT_OK;
	zip_int64_t n = zip_get_num_entries(p->z, 0);
	const char **names = NULL;
	zip_uint64_t total = 0;

	if (n < 0 || n > SEALKIT_OFD_MAX_ENTRIES) {
		rc = sealkit_fail(err, SEALKIT_ERR_FORMAT,
				  "OFD: the package has %lld entries (at most %d are accepted)",
				  (long long)n, SEALKIT_OFD_MAX_ENTRIES);
		goto out;
	}
	if (!(names = calloc(n ? (size_t)n : 1, sizeof *names))) {
		rc = sealkit_fail(err, SEALKIT_ERR_MEMORY, "out of memory");
		goto out;
	}
	for (zip_int64_t i = 0; i < n; i++) {
		zip_stat_t s;
		zip_stat_init(&s);
		if (zip_stat_index(p->z, (zip_uint64_t)i, 0, &s) || !(s.valid & ZIP_STAT_NAME)) {
			rc = sealkit_fail(err, SEALKIT_ERR_FORMAT, "OFD: entry %lld is unreadable: %s",
					  (long long)i, zip_strerror(p->z));
			goto out;
		}
		names[i] = s.name;
		if (!name_is_safe(s.name)) {
			rc = sealkit_fail(err, SEALKIT_ERR_FORMAT,
					  "OFD: entry '%s' names a path outside the package", s.name);
			goto out;
		}
		if (s.size > SEALKIT_OFD_MAX_ENTRY) {
			rc = sealkit_fail(err, SEALKIT_ERR_FORMAT,
					  "OFD: entry '%s' unpacks to %llu bytes (limit %llu): a zip bomb?",
					  s.name, (unsigned long long)s.size,
					  (unsigned long long)SEALKIT_OFD_MAX_ENTRY);
			goto out;
		}
		if (s.size > RATIO_FLOOR && s.size / (s.comp_size ? s.comp_size : 1) >
						    SEALKIT_OFD_MAX_RATIO) {
			rc = sealkit_fail(err, SEALKIT_ERR_FORMAT,
					  "OFD: entry '%s' expands %llu times (limit %d): a zip bomb?",
					  s.name,
					  (unsigned long long)(s.size / (s.comp_size ? s.comp_size : 1)),
					  SEALKIT_OFD_MAX_RATIO);
			goto out;
		}
		total += s.size;
		if (total > SEALKIT_OFD_MAX_TOTAL) {
			rc = sealkit_fail(err, SEALKIT_ERR_FORMAT,
					  "OFD: the package unpacks to more than %llu bytes: a zip bomb?",
					  (unsigned long long)SEALKIT_OFD_MAX_TOTAL);
			goto out;
		}
	}
	qsort(names, (size_t)n, sizeof *names, cmp_str);
	for (zip_int64_t i = 1; i < n; i++)
		if (!strcmp(names[i - 1], names[i])) {
			rc = sealkit_fail(err, SEALKIT_ERR_FORMAT,
					  "OFD: the package holds two entries named '%s'", names[i]);
			goto out;
		}
out:
	free(names);
	return rc;
}

static sealkit_status pkg_open(pkg *p, zip_source_t *src, sealkit_error *err)
{
	sealkit_status rc = SEALKIT_OK;
	zip_error_t ze;

	zip_error_init(&ze);
	p->z = zip_open_from_source(src, ZIP_RDONLY, &ze);
	if (!p->z) {
		rc = sealkit_fail(err, SEALKIT_ERR_FORMAT, "OFD: not a readable ZIP package: %s",
				  zip_error_strerror(&ze));
		goto out;
	}
	rc = pkg_screen(p, err);
out:
	zip_error_fini(&ze);
	return rc;
}

static zip_int64_t pkg_find(pkg *p, const char *path)
{
	return zip_name_locate(p->z, path, 0);
}

/* Resolves ref written in a file of directory dir (spec 7: relative to the
 * referring file, then to the package root). Returns the entry index, -1
 * when not found (out then holds the first candidate), -2 when the path
 * leaves the package. */
static zip_int64_t pkg_resolve(pkg *p, const char *dir, const char *ref, char *out, size_t len)
{
	zip_int64_t idx = -2;
	char alt[OFD_PATH_MAX];

	if (norm_path(dir, ref, out, len))
		goto out;
	if ((idx = pkg_find(p, out)) >= 0 || ref[0] == '/' || ref[0] == '\\' || !*dir)
		goto out;
	if (!norm_path("", ref, alt, sizeof alt) && pkg_find(p, alt) >= 0) {
		snprintf(out, len, "%s", alt);
		idx = pkg_find(p, alt);
	}
out:
	return idx;
}

/* Reads a whole entry of at most max bytes (NUL-terminated, not counted). */
static sealkit_status pkg_read(pkg *p, zip_int64_t idx, size_t max, unsigned char **buf,
			       size_t *len, sealkit_error *err)
{
	sealkit_status rc = SEALKIT_OK;
	zip_file_t *f = NULL;
	zip_stat_t s;
	unsigned char *b = NULL;

	*buf = NULL;
	*len = 0;
	zip_stat_init(&s);
	if (zip_stat_index(p->z, (zip_uint64_t)idx, 0, &s) || !(s.valid & ZIP_STAT_SIZE)) {
		rc = sealkit_fail(err, SEALKIT_ERR_FORMAT, "OFD: entry %lld is unreadable",
				  (long long)idx);
		goto out;
	}
	if (s.size > max) {
		rc = sealkit_fail(err, SEALKIT_ERR_FORMAT, "OFD: '%s' is too large (%llu bytes)",
				  s.name, (unsigned long long)s.size);
		goto out;
	}
	if (!(b = malloc((size_t)s.size + 1))) {
		rc = sealkit_fail(err, SEALKIT_ERR_MEMORY, "out of memory");
		goto out;
	}
	if (!(f = zip_fopen_index(p->z, (zip_uint64_t)idx, 0))) {
		rc = sealkit_fail(err, SEALKIT_ERR_FORMAT, "OFD: cannot open '%s': %s", s.name,
				  zip_strerror(p->z));
		goto out;
	}
	zip_int64_t got = s.size ? zip_fread(f, b, s.size) : 0;
	if (got < 0 || (zip_uint64_t)got != s.size) {
		rc = sealkit_fail(err, SEALKIT_ERR_FORMAT, "OFD: cannot read '%s': %s", s.name,
				  zip_file_strerror(f));
		goto out;
	}
	b[s.size] = '\0';
	*buf = b;
	*len = (size_t)s.size;
	b = NULL;
out:
	if (f)
		zip_fclose(f);
	free(b);
	return rc;
}

/* Hashes an entry as a stream, after `prefix` (the Z of SM3-with-Z). */
static bool pkg_hash(pkg *p, zip_int64_t idx, const unsigned char *prefix, size_t prefix_len,
		     unsigned char *md, unsigned *md_len, char *why, size_t why_len)
{
	bool ok = false;
	zip_file_t *f = NULL;
	EVP_MD_CTX *h = EVP_MD_CTX_new();
	unsigned char buf[65536];
	zip_int64_t got;

	if (!h || !EVP_DigestInit_ex(h, sk_sm3(), NULL) ||
	    (prefix_len && !EVP_DigestUpdate(h, prefix, prefix_len))) {
		snprintf(why, why_len, "SM3 is not available");
		goto out;
	}
	if (!(f = zip_fopen_index(p->z, (zip_uint64_t)idx, 0))) {
		snprintf(why, why_len, "cannot open: %s", zip_strerror(p->z));
		goto out;
	}
	while ((got = zip_fread(f, buf, sizeof buf)) > 0)
		if (!EVP_DigestUpdate(h, buf, (size_t)got))
			goto out;
	if (got < 0) {
		snprintf(why, why_len, "cannot read: %s", zip_file_strerror(f));
		goto out;
	}
	ok = EVP_DigestFinal_ex(h, md, md_len) > 0;
out:
	if (f)
		zip_fclose(f);
	EVP_MD_CTX_free(h);
	return ok;
}

/* ---- XML ---------------------------------------------------------------------- */

static int xml_depth(xmlNodePtr root)
{
	int max = 0, d = 0;
	xmlNodePtr n = root;
	while (n) {
		if (n->type == XML_ELEMENT_NODE && d + 1 > max)
			max = d + 1;
		if (n->children && n->type == XML_ELEMENT_NODE) {
			n = n->children;
			d++;
			continue;
		}
		while (n && !n->next && n != root) {
			n = n->parent;
			d--;
		}
		if (!n || n == root)
			break;
		n = n->next;
	}
	return max;
}

/* Parses an entry's XML: no DTD, no entities, no network, bounded depth.
 * *bytes keeps the exact file (the data hash of Signature.xml). */
static sealkit_status xml_load(pkg *p, zip_int64_t idx, const char *path, xmlDocPtr *doc,
			       unsigned char **bytes, size_t *len, sealkit_error *err)
{
	sealkit_status rc;
	xmlParserCtxtPtr ctx = NULL;
	unsigned char *b = NULL;
	size_t n = 0;

	*doc = NULL;
	if ((rc = pkg_read(p, idx, SEALKIT_OFD_MAX_XML, &b, &n, err)) != SEALKIT_OK)
		goto out;
	/* A DTD is where entities (external or exponential) live; OFD has none. */
	for (size_t i = 0; i + 2 < n; i++)
		if (b[i] == '<' && b[i + 1] == '!' && (b[i + 2] == 'D' || b[i + 2] == 'E')) {
			rc = sealkit_fail(err, SEALKIT_ERR_FORMAT,
					  "OFD: %s declares a DTD or entities, which OFD never uses: "
					  "refused",
					  path);
			goto out;
		}
	if (!(ctx = xmlNewParserCtxt())) {
		rc = sealkit_fail(err, SEALKIT_ERR_MEMORY, "out of memory");
		goto out;
	}
	*doc = xmlCtxtReadMemory(ctx, (const char *)b, (int)n, path, NULL,
				 XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!*doc || !xmlDocGetRootElement(*doc)) {
		const xmlError *e = xmlCtxtGetLastError(ctx);
		rc = sealkit_fail(err, SEALKIT_ERR_FORMAT, "OFD: %s is not well-formed XML: %s",
				  path, e && e->message ? e->message : "no root element");
		goto out;
	}
	if ((*doc)->intSubset || (*doc)->extSubset ||
	    xml_depth(xmlDocGetRootElement(*doc)) > SEALKIT_OFD_MAX_DEPTH) {
		rc = sealkit_fail(err, SEALKIT_ERR_FORMAT,
				  "OFD: %s nests elements deeper than %d or has a DTD: refused",
				  path, SEALKIT_OFD_MAX_DEPTH);
		goto out;
	}
	if (bytes) {
		*bytes = b;
		*len = n;
		b = NULL;
	}
out:
	if (rc != SEALKIT_OK && *doc) {
		xmlFreeDoc(*doc);
		*doc = NULL;
	}
	if (ctx)
		xmlFreeParserCtxt(ctx);
	free(b);
	return rc;
}

static bool is_el(xmlNodePtr n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name);
}

/* The first child element of that local name (any namespace, any order). */
static xmlNodePtr child(xmlNodePtr n, const char *name)
{
	xmlNodePtr k = n ? n->children : NULL;
	while (k && !is_el(k, name))
		k = k->next;
	return k;
}

/* Text content or attribute, trimmed, malloc'ed; NULL when absent. */
static char *trimmed(xmlChar *s)
{
	char *t = (char *)s;
	if (!t)
		return NULL;
	size_t a = strspn(t, " \t\r\n"), n = strlen(t);
	while (n > a && strchr(" \t\r\n", t[n - 1]))
		n--;
	memmove(t, t + a, n - a);
	t[n - a] = '\0';
	return t;
}

static char *text_of(xmlNodePtr n)
{
	return n ? trimmed(xmlNodeGetContent(n)) : NULL;
}

static char *attr_of(xmlNodePtr n, const char *name)
{
	return n ? trimmed(xmlGetProp(n, (const xmlChar *)name)) : NULL;
}

/* ---- References ------------------------------------------------------------------ */

/* Z of SM2 (GB/T 32918.2) for the default ID and the key in cert. */
static bool sm2_z(const sealkit_bytes *cert, unsigned char z[32])
{
	bool ok = false;
	sealkit_error e;
	X509 *x = cert && cert->len ? sk_cert_parse(cert->data, cert->len, &e) : NULL;
	EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_sm2);
	BIGNUM *a = BN_new(), *b = BN_new();
	unsigned char pub[133], gen[133], ab[64];
	size_t pub_len = 0, gen_len;
	EVP_MD_CTX *h = EVP_MD_CTX_new();
	static const unsigned char entl[2] = {0x00, 0x80};

	if (!x || !g || !a || !b || !h || !EC_GROUP_get_curve(g, NULL, a, b, NULL) ||
	    BN_bn2binpad(a, ab, 32) != 32 || BN_bn2binpad(b, ab + 32, 32) != 32)
		goto out;
	if (!EVP_PKEY_get_octet_string_param(X509_get0_pubkey(x), OSSL_PKEY_PARAM_PUB_KEY, pub,
					     sizeof pub, &pub_len) ||
	    pub_len != 65 || pub[0] != 0x04)
		goto out;
	gen_len = EC_POINT_point2oct(g, EC_GROUP_get0_generator(g), POINT_CONVERSION_UNCOMPRESSED,
				     gen, sizeof gen, NULL);
	if (gen_len != 65)
		goto out;
	ok = EVP_DigestInit_ex(h, sk_sm3(), NULL) && EVP_DigestUpdate(h, entl, 2) &&
	     EVP_DigestUpdate(h, SK_SM2_ID, 16) && EVP_DigestUpdate(h, ab, 64) &&
	     EVP_DigestUpdate(h, gen + 1, 64) && EVP_DigestUpdate(h, pub + 1, 64) &&
	     EVP_DigestFinal_ex(h, z, NULL);
out:
	EVP_MD_CTX_free(h);
	BN_free(a);
	BN_free(b);
	EC_GROUP_free(g);
	X509_free(x);
	ERR_clear_error();
	return ok;
}

/* Base64 with whitespace and missing padding tolerated. */
static int b64_decode(const char *in, unsigned char *out, size_t cap)
{
	char buf[256];
	size_t n = 0;
	int got = -1, pad = 0;

	for (const char *p = in; *p; p++)
		if (!strchr(" \t\r\n", *p)) {
			if (n + 4 >= sizeof buf)
				goto out;
			buf[n++] = *p;
		}
	while (n % 4)
		buf[n++] = '=';
	buf[n] = '\0';
	for (size_t i = n; i > 0 && buf[i - 1] == '='; i--)
		pad++;
	if ((n / 4) * 3 > cap || (got = EVP_DecodeBlock(out, (unsigned char *)buf, (int)n)) < 0)
		goto out;
	got -= pad;
out:
	return got;
}

static void check_references(octx *c, xmlNodePtr info, const char *sig_dir,
			     const sealkit_bytes *signer_cert)
{
	xmlNodePtr refs = child(info, "References");
	char *method = attr_of(refs, "CheckMethod");
	bool with_z = false;
	unsigned char z[32];
	size_t count = 0;

	if (!refs) {
		check(c, "reference-digest", SEALKIT_CHECK_FAILED,
		      "SignedInfo has no References: the signature protects no file");
		goto out;
	}
	if (method && !strcmp(method, "1.2.156.10197.1.401.2")) {
		with_z = sm2_z(signer_cert, z);
		if (!with_z) {
			check(c, "reference-digest", SEALKIT_CHECK_FAILED,
			      "CheckMethod %s (SM3 with Z) needs the signer's key, which is not "
			      "readable",
			      method);
			goto out;
		}
	} else if (method && strcasecmp(method, "SM3") && strcmp(method, SEALKIT_OID_SM3)) {
		check(c, "reference-digest", SEALKIT_CHECK_FAILED,
		      "CheckMethod '%s' is not supported (SM3 is)", method);
		goto out;
	} else if (!method) {
		check(c, "reference-digest", SEALKIT_CHECK_FAILED,
		      "References has no CheckMethod (the schema default MD5 is not accepted)");
		goto out;
	}
	for (xmlNodePtr r = refs->children; r; r = r->next) {
		if (!is_el(r, "Reference"))
			continue;
		count++;
		char *ref = attr_of(r, "FileRef"), *val = text_of(child(r, "CheckValue"));
		char path[OFD_PATH_MAX], why[256] = "";
		unsigned char want[64], got[EVP_MAX_MD_SIZE];
		unsigned got_len = 0;
		int want_len = val ? b64_decode(val, want, sizeof want) : -1;
		zip_int64_t idx = ref ? pkg_resolve(c->p, sig_dir, ref, path, sizeof path) : -2;
		if (!ref || !*ref)
			check(c, "reference-digest", SEALKIT_CHECK_FAILED,
			      "Reference %zu has no FileRef", count);
		else if (idx == -2)
			check(c, "reference-digest", SEALKIT_CHECK_FAILED,
			      "%s: the path leaves the package: refused", ref);
		else if (idx < 0)
			check(c, "reference-digest", SEALKIT_CHECK_FAILED,
			      "%s: no such file in the package", ref);
		else if (want_len <= 0)
			check(c, "reference-digest", SEALKIT_CHECK_FAILED,
			      "%s: the CheckValue is not base64", ref);
		else if (!pkg_hash(c->p, idx, with_z ? z : NULL, with_z ? 32 : 0, got, &got_len,
				   why, sizeof why))
			check(c, "reference-digest", SEALKIT_CHECK_FAILED, "%s: %s", ref, why);
		else if ((int)got_len != want_len || CRYPTO_memcmp(got, want, got_len))
			check(c, "reference-digest", SEALKIT_CHECK_FAILED,
			      "%s changed after signing: its %s differs from the CheckValue", ref,
			      with_z ? "SM3(Z||file)" : "SM3");
		else
			check(c, "reference-digest", SEALKIT_CHECK_PASSED, "%s: %s matches", ref,
			      with_z ? "SM3(Z||file)" : "SM3");
		xmlFree(ref);
		xmlFree(val);
	}
	if (!count)
		check(c, "reference-digest", SEALKIT_CHECK_FAILED,
		      "References lists no file: the signature protects nothing");
out:
	xmlFree(method);
}

/* ---- Type="Sign": GB/T 35275 SignedData ------------------------------------------- */

/* A BER element (indefinite lengths allowed, as some producers write). */
typedef struct ber {
	unsigned char tag;
	size_t off, hdr, len; /* len: content bytes (without the end-of-contents octets) */
	size_t end;           /* offset after the element */
	bool indef;
} ber;

static bool ber_read(const unsigned char *b, size_t blen, size_t off, int depth, ber *t)
{
	bool ok = false;
	size_t p = off;

	if (depth > 32 || p + 2 > blen || (b[p] & 0x1f) == 0x1f)
		goto out;
	t->tag = b[p++];
	t->off = off;
	t->indef = false;
	if (b[p] < 0x80) {
		t->len = b[p++];
	} else if (b[p] == 0x80) {
		if (!(t->tag & 0x20))
			goto out;
		t->indef = true;
		p++;
	} else {
		size_t n = b[p++] & 0x7f;
		if (n > 4 || p + n > blen)
			goto out;
		t->len = 0;
		for (size_t i = 0; i < n; i++)
			t->len = (t->len << 8) | b[p++];
	}
	t->hdr = p - off;
	if (t->indef) {
		ber k;
		while (p + 2 <= blen && (b[p] || b[p + 1])) {
			if (!ber_read(b, blen, p, depth + 1, &k))
				goto out;
			p = k.end;
		}
		if (p + 2 > blen)
			goto out;
		t->len = p - off - t->hdr;
		t->end = p + 2;
	} else {
		if (t->len > blen - p)
			goto out;
		t->end = p + t->len;
	}
	ok = true;
out:
	return ok;
}

/* The children of a constructed element, at most max. */
static size_t ber_kids(const unsigned char *b, const ber *parent, ber *kids, size_t max)
{
	size_t n = 0, p = parent->off + parent->hdr, end = p + parent->len;
	while (n < max && p < end && ber_read(b, end, p, 1, &kids[n]))
		p = kids[n++].end;
	return n;
}

static void ber_oid(const unsigned char *b, const ber *t, char *out, size_t len)
{
	const unsigned char *p = b + t->off;
	ASN1_OBJECT *o = NULL;
	out[0] = '\0';
	if (t->tag == 0x06 && d2i_ASN1_OBJECT(&o, &p, (long)(t->hdr + t->len)))
		OBJ_obj2txt(out, (int)len, o, 1);
	ASN1_OBJECT_free(o);
}

typedef struct signed_data {
	ber certs[8];
	size_t n_certs;
	ber content;  /* eContent OCTET STRING, tag 0 when absent */
	ber attrs;    /* [0] authenticatedAttributes, tag 0 when absent */
	ber digest;   /* messageDigest value */
	ber sig;      /* encryptedDigest */
	char sig_alg[80];
} signed_data;

/* Finds the parts of a SignedData; false with why when it is none. */
static bool signed_data_parse(const unsigned char *b, size_t len, signed_data *sd, const char **why)
{
	ber ci, k[8], s[8], si[8], info, x;
	char oid[80];
	size_t n, i = 3;
	bool ok = false;

	memset(sd, 0, sizeof *sd);
	*why = "it is not a ContentInfo SEQUENCE { OID, [0] SignedData }";
	if (!ber_read(b, len, 0, 0, &ci) || ci.tag != 0x30 || ber_kids(b, &ci, k, 2) != 2 ||
	    k[0].tag != 0x06 || k[1].tag != 0xa0 || ber_kids(b, &k[1], &x, 1) != 1 || x.tag != 0x30)
		goto out;
	ber_oid(b, &k[0], oid, sizeof oid);
	*why = "its content type is not signedData";
	if (strcmp(oid, "1.2.156.10197.6.1.4.2.2") && strcmp(oid, "1.2.840.113549.1.7.2"))
		goto out;
	*why = "the SignedData lacks version, digestAlgorithms, contentInfo or signerInfos";
	n = ber_kids(b, &x, s, 8);
	if (n < 4 || s[0].tag != 0x02 || s[1].tag != 0x31 || s[2].tag != 0x30)
		goto out;
	ber e[2], ec;
	if (ber_kids(b, &s[2], e, 2) == 2 && e[1].tag == 0xa0 && ber_kids(b, &e[1], &ec, 1) &&
	    ec.tag == 0x04)
		sd->content = ec;
	if (i < n && s[i].tag == 0xa0)
		sd->n_certs = ber_kids(b, &s[i++], sd->certs, 8);
	if (i < n && s[i].tag == 0xa1)
		i++;
	if (i >= n || s[i].tag != 0x31 || ber_kids(b, &s[i], &info, 1) != 1 || info.tag != 0x30)
		goto out;
	*why = "the SignerInfo lacks its digest, algorithms or signature";
	n = ber_kids(b, &info, si, 8);
	i = 3;
	if (n < 5 || si[2].tag != 0x30)
		goto out;
	if (si[i].tag == 0xa0)
		sd->attrs = si[i++];
	if (i + 1 >= n || si[i].tag != 0x30 || si[i + 1].tag != 0x04 ||
	    !ber_kids(b, &si[i], &x, 1))
		goto out;
	ber_oid(b, &x, sd->sig_alg, sizeof sd->sig_alg);
	sd->sig = si[i + 1];
	if (sd->attrs.tag) {
		*why = "the authenticated attributes use an indefinite length (not DER)";
		if (sd->attrs.indef)
			goto out;
		ber at[32], av[2], v;
		size_t na = ber_kids(b, &sd->attrs, at, 32);
		for (size_t a = 0; a < na; a++) {
			if (ber_kids(b, &at[a], av, 2) != 2)
				continue;
			ber_oid(b, &av[0], oid, sizeof oid);
			if (!strcmp(oid, "1.2.840.113549.1.9.4") && ber_kids(b, &av[1], &v, 1) &&
			    v.tag == 0x04)
				sd->digest = v;
		}
		*why = "the authenticated attributes carry no messageDigest";
		if (!sd->digest.tag)
			goto out;
	}
	ok = true;
out:
	return ok;
}

/* The signature value as DER SEQUENCE{r,s} (raw r||s rebuilt), malloc'ed. */
static bool sig_as_der(const unsigned char *v, size_t len, unsigned char **der, size_t *der_len)
{
	bool ok = false;
	if (len == 64 && v[0] != 0x30) {
		ok = sig_der_from_parts(v, 32, v + 32, 32, der, der_len, NULL) == SEALKIT_OK;
		goto out;
	}
	if (!(*der = malloc(len ? len : 1)))
		goto out;
	memcpy(*der, v, len);
	*der_len = len;
	ok = true;
out:
	return ok;
}

static void check_signed_data(octx *c, const unsigned char *b, size_t len, const unsigned char *xml,
			      size_t xml_len)
{
	signed_data sd;
	const char *why = "";
	unsigned char md[32], *tbs = NULL, *sig = NULL;
	size_t tbs_len = 0, sig_len = 0;
	const char *alg = SK_OID_SM2_SM3;
	bool verified = false;
	char detail[512] = "";

	c->item->version = "GB/T 35275";
	if (!signed_data_parse(b, len, &sd, &why)) {
		check(c, "structure", SEALKIT_CHECK_FAILED,
		      "SignedValue.dat is not a GB/T 35275 SignedData (%s); a bare signature "
		      "value without a certificate cannot be verified from the package",
		      why);
		goto out;
	}
	check(c, "structure", SEALKIT_CHECK_PASSED, "GB/T 35275 SignedData with %zu certificate%s",
	      sd.n_certs, sd.n_certs == 1 ? "" : "s");
	if (!EVP_Digest(xml, xml_len, md, NULL, sk_sm3(), NULL))
		goto out;
	/* What the signer's digest must be, and what the signature covers. */
	const ber *dig = sd.attrs.tag ? &sd.digest : sd.content.tag ? &sd.content : NULL;
	if (!dig)
		check(c, "data-hash", SEALKIT_CHECK_NA,
		      "no embedded digest: the signature itself covers Signature.xml");
	else if (dig->len == 32 && !CRYPTO_memcmp(b + dig->off + dig->hdr, md, 32))
		check(c, "data-hash", SEALKIT_CHECK_PASSED,
		      "the signed %s is SM3 of Signature.xml",
		      sd.attrs.tag ? "messageDigest" : "content");
	else
		check(c, "data-hash", SEALKIT_CHECK_FAILED,
		      "the signed %s is not SM3 of Signature.xml: Signature.xml changed",
		      sd.attrs.tag ? "messageDigest" : "content");
	if (sd.attrs.tag) {
		tbs_len = sd.attrs.hdr + sd.attrs.len;
		if (!(tbs = malloc(tbs_len))) {
			c->oom = true;
			goto out;
		}
		memcpy(tbs, b + sd.attrs.off, tbs_len);
		tbs[0] = 0x31; /* signed as the DER SET OF */
	} else {
		const unsigned char *m = sd.content.tag ? b + sd.content.off + sd.content.hdr : xml;
		tbs_len = sd.content.tag ? sd.content.len : xml_len;
		if (!(tbs = malloc(tbs_len ? tbs_len : 1))) {
			c->oom = true;
			goto out;
		}
		memcpy(tbs, m, tbs_len);
	}
	if (!sig_as_der(b + sd.sig.off + sd.sig.hdr, sd.sig.len, &sig, &sig_len)) {
		c->oom = true;
		goto out;
	}
	if (strcmp(sd.sig_alg, "1.2.156.10197.1.301.1") && strcmp(sd.sig_alg, "1.2.156.10197.1.301") &&
	    strcmp(sd.sig_alg, SK_OID_SM2_SM3))
		alg = sd.sig_alg;
	for (size_t i = 0; i < sd.n_certs && !verified; i++) {
		sealkit_error e;
		X509 *x = sk_cert_parse(b + sd.certs[i].off, sd.certs[i].hdr + sd.certs[i].len, &e);
		if (!x)
			continue;
		verified = sk_sig_verify(X509_get0_pubkey(x), alg, tbs, tbs_len, sig, sig_len,
					 false, detail, sizeof detail) == SK_SIG_OK;
		/* Without attributes, some sign Signature.xml itself. */
		if (!verified && !sd.attrs.tag && sd.content.tag)
			verified = sk_sig_verify(X509_get0_pubkey(x), alg, xml, xml_len, sig,
						 sig_len, false, detail, sizeof detail) == SK_SIG_OK;
		if (verified) {
			char subj[256];
			check(c, "digital-signature", SEALKIT_CHECK_PASSED,
			      "the SignedData signature verifies under %s",
			      sk_cert_subject(x, subj, sizeof subj));
		}
		X509_free(x);
	}
	if (!sd.n_certs)
		check(c, "digital-signature", SEALKIT_CHECK_FAILED,
		      "the SignedData carries no certificate: it cannot be verified from the package");
	else if (!verified)
		check(c, "digital-signature", SEALKIT_CHECK_FAILED,
		      "the SignedData signature verifies under none of its certificates%s%s",
		      *detail ? ": " : "", detail);
out:
	free(tbs);
	free(sig);
	ERR_clear_error();
}

/* ---- one signature ------------------------------------------------------------------ */

static sealkit_status verify_signature(octx *c, zip_int64_t idx, const char *sig_path,
				       const char *type, sealkit_error *err)
{
	sealkit_status rc = SEALKIT_OK;
	xmlDocPtr doc = NULL;
	unsigned char *xml = NULL, *sv = NULL, *esl = NULL;
	size_t xml_len = 0, sv_len = 0, esl_len = 0;
	char dir[OFD_PATH_MAX], path[OFD_PATH_MAX], *sv_ref = NULL, *esl_ref = NULL;
	sealkit_error pe = {0};
	sealkit_stamp *st = NULL;
	bool seal = !type || !*type || !strcmp(type, "Seal");

	if (!new_item(c, sig_path))
		goto out;
	if (idx < 0) {
		check(c, "structure", SEALKIT_CHECK_FAILED,
		      idx == -2 ? "the signature's BaseLoc leaves the package: refused"
				: "Signature.xml is missing from the package");
		goto out;
	}
	if (xml_load(c->p, idx, sig_path, &doc, &xml, &xml_len, &pe) != SEALKIT_OK) {
		check(c, "structure", SEALKIT_CHECK_FAILED, "%s", pe.message);
		goto out;
	}
	xmlNodePtr root = xmlDocGetRootElement(doc), info = child(root, "SignedInfo");
	if (!is_el(root, "Signature") || !info) {
		check(c, "structure", SEALKIT_CHECK_FAILED,
		      "Signature.xml has no Signature root with SignedInfo");
		goto out;
	}
	dir_of(sig_path, dir, sizeof dir);
	sv_ref = text_of(child(root, "SignedValue"));
	zip_int64_t sv_idx = sv_ref && *sv_ref ? pkg_resolve(c->p, dir, sv_ref, path, sizeof path) : -1;
	if (sv_idx >= 0 && pkg_read(c->p, sv_idx, SEALKIT_OFD_MAX_XML, &sv, &sv_len, &pe))
		sv_idx = -1;
	if (seal && sv)
		(void)sealkit_stamp_parse(sv, sv_len, 0, &st, NULL, NULL);
	check_references(c, info, dir, st ? &st->signer_cert : NULL);
	if (!sv_ref || !*sv_ref) {
		check(c, "signed-value", SEALKIT_CHECK_FAILED,
		      "Signature.xml names no SignedValue: the signing was not finished");
		goto out;
	}
	if (sv_idx < 0) {
		check(c, "signed-value", SEALKIT_CHECK_FAILED,
		      "SignedValue %s %s: the signing was not finished", sv_ref,
		      sv_idx == -2 ? "leaves the package" : "is missing or unreadable");
		goto out;
	}
	check(c, "signed-value", SEALKIT_CHECK_PASSED, "/%s (%zu bytes)", path, sv_len);
	if (!seal) {
		if (strcmp(type, "Sign"))
			sealkit_warn(&c->item->warnings, "unknown signature Type '%s' read as Sign",
				     type);
		check_signed_data(c, sv, sv_len, xml, xml_len);
		goto out;
	}
	sealkit_document d = {.data = xml, .len = xml_len};
	if ((rc = sk_verify_stamp_into(c->item, sv, sv_len, &d, c->opts, err)) != SEALKIT_OK)
		goto out;
	esl_ref = text_of(child(child(info, "Seal"), "BaseLoc"));
	if (!esl_ref || !*esl_ref)
		goto out;
	zip_int64_t esl_idx = pkg_resolve(c->p, dir, esl_ref, path, sizeof path);
	if (esl_idx < 0 || pkg_read(c->p, esl_idx, SEALKIT_OFD_MAX_XML, &esl, &esl_len, &pe))
		check(c, "seal-file", SEALKIT_CHECK_FAILED, "Seal %s is missing or unreadable",
		      esl_ref);
	else if (!st)
		check(c, "seal-file", SEALKIT_CHECK_NA, "no readable stamp to compare Seal.esl with");
	else if (esl_len != st->seal_der.len || memcmp(esl, st->seal_der.data, esl_len))
		check(c, "seal-file", SEALKIT_CHECK_FAILED,
		      "/%s differs from the seal inside the stamp", path);
	else
		check(c, "seal-file", SEALKIT_CHECK_PASSED,
		      "/%s equals the seal inside the stamp", path);
out:
	sealkit_stamp_free(st);
	xmlFree(sv_ref);
	xmlFree(esl_ref);
	free(esl);
	free(sv);
	free(xml);
	if (doc)
		xmlFreeDoc(doc);
	return rc;
}

/* Every Signature of one Signatures.xml. */
static sealkit_status verify_list(octx *c, const char *list_path, sealkit_error *err)
{
	sealkit_status rc = SEALKIT_OK;
	xmlDocPtr doc = NULL;
	char dir[OFD_PATH_MAX];
	zip_int64_t idx = pkg_find(c->p, list_path);

	if (idx < 0) {
		rc = sealkit_fail(err, SEALKIT_ERR_FORMAT,
				  "OFD: the signature list /%s named in OFD.xml is missing", list_path);
		goto out;
	}
	if ((rc = xml_load(c->p, idx, list_path, &doc, NULL, NULL, err)) != SEALKIT_OK)
		goto out;
	dir_of(list_path, dir, sizeof dir);
	for (xmlNodePtr s = xmlDocGetRootElement(doc)->children; s && rc == SEALKIT_OK && !c->oom;
	     s = s->next) {
		if (!is_el(s, "Signature"))
			continue;
		char *loc = attr_of(s, "BaseLoc"), *type = attr_of(s, "Type");
		char path[OFD_PATH_MAX] = "(no BaseLoc)";
		zip_int64_t sig_idx = loc && *loc ? pkg_resolve(c->p, dir, loc, path, sizeof path) : -1;
		if (sig_idx == -2)
			snprintf(path, sizeof path, "%s", loc);
		rc = verify_signature(c, sig_idx, path, type, err);
		xmlFree(loc);
		xmlFree(type);
	}
out:
	if (doc)
		xmlFreeDoc(doc);
	return rc;
}

static sealkit_status verify_package(zip_source_t *src, const sealkit_verify_options *opts,
				     sealkit_report **out, sealkit_error *err)
{
	sealkit_status rc;
	pkg p = {0};
	octx c = {.p = &p, .opts = opts};
	xmlDocPtr doc = NULL;
	zip_int64_t idx;

	*out = NULL;
	if ((rc = pkg_open(&p, src, err)) != SEALKIT_OK)
		goto out;
	if ((idx = pkg_find(&p, "OFD.xml")) < 0) {
		rc = sealkit_fail(err, SEALKIT_ERR_FORMAT, "OFD: the package has no OFD.xml");
		goto out;
	}
	if ((rc = xml_load(&p, idx, "OFD.xml", &doc, NULL, NULL, err)) != SEALKIT_OK)
		goto out;
	if (!(c.r = calloc(1, sizeof *c.r))) {
		rc = sealkit_fail(err, SEALKIT_ERR_MEMORY, "out of memory");
		goto out;
	}
	c.r->kind = "ofd";
	for (xmlNodePtr b = xmlDocGetRootElement(doc)->children; b && rc == SEALKIT_OK;
	     b = b->next) {
		if (!is_el(b, "DocBody"))
			continue;
		char *list = text_of(child(b, "Signatures")), path[OFD_PATH_MAX];
		if (list && *list) {
			if (norm_path("", list, path, sizeof path))
				rc = sealkit_fail(err, SEALKIT_ERR_FORMAT,
						  "OFD: the signature list %s leaves the package",
						  list);
			else
				rc = verify_list(&c, path, err);
		}
		xmlFree(list);
	}
	if (rc == SEALKIT_OK && c.oom)
		rc = sealkit_fail(err, SEALKIT_ERR_MEMORY, "out of memory");
	if (rc == SEALKIT_OK) {
		sk_report_conclude(c.r);
		*out = c.r;
		c.r = NULL;
	}
out:
	sealkit_report_free(c.r);
	if (doc)
		xmlFreeDoc(doc);
	if (p.z)
		zip_discard(p.z);
	else if (src)
		zip_source_free(src);
	return rc;
}

/* Bytes before the first entry (a stub or junk prepended to a ZIP): the
 * central directory's offsets then count from after them. tail is the end
 * of the package, starting at offset tail_off. Returns the prefix length. */
static zip_uint64_t zip_prefix(const unsigned char *tail, size_t tail_len, zip_uint64_t tail_off)
{
	zip_uint64_t prefix = 0;
	for (size_t i = tail_len >= 22 ? tail_len - 22 + 1 : 0; i-- > 0;) {
		if (memcmp(tail + i, "PK\5\6", 4))
			continue;
		const unsigned char *q = tail + i;
		zip_uint64_t cd_size = q[12] | q[13] << 8 | q[14] << 16 | (zip_uint64_t)q[15] << 24;
		zip_uint64_t cd_off = q[16] | q[17] << 8 | q[18] << 16 | (zip_uint64_t)q[19] << 24;
		zip_uint64_t at = tail_off + i;
		if (cd_off != 0xffffffffu && at > cd_size + cd_off)
			prefix = at - cd_size - cd_off;
		break;
	}
	return prefix;
}

/* A read source for the package file at path, past any bytes before the
 * first entry. */
static sealkit_status file_source(const char *path, zip_source_t **src, sealkit_error *err)
{
	sealkit_status rc = SEALKIT_OK;
	zip_error_t ze;
	unsigned char *tail = NULL;
	size_t got = 0;
	FILE *f = NULL;

	zip_error_init(&ze);
	*src = NULL;
	/* The end of central directory record is within the last 64 KiB + 22. */
	if (!(tail = malloc(65557))) {
		rc = sealkit_fail(err, SEALKIT_ERR_MEMORY, "out of memory");
		goto out;
	}
	if (!(f = fopen(path, "rb"))) {
		rc = sealkit_fail(err, SEALKIT_ERR_IO, "cannot read %s", path);
		goto out;
	}
	long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
	long from = size > 65557 ? size - 65557 : 0;
	if (size >= 0 && fseek(f, from, SEEK_SET) == 0)
		got = fread(tail, 1, 65557, f);
	zip_uint64_t prefix = zip_prefix(tail, got, (zip_uint64_t)from);
	if (!(*src = zip_source_file_create(path, prefix, -1, &ze)))
		rc = sealkit_fail(err, SEALKIT_ERR_IO, "cannot read %s: %s", path,
				  zip_error_strerror(&ze));
out:
	if (f)
		fclose(f);
	free(tail);
	zip_error_fini(&ze);
	return rc;
}

sealkit_status sealkit_verify_ofd(const char *path, const sealkit_verify_options *opts,
				  sealkit_report **out, sealkit_error *err)
{
	sealkit_status rc;
	zip_source_t *src;

	if (out)
		*out = NULL;
	if (!path || !out) {
		rc = sealkit_fail(err, SEALKIT_ERR_ARGS, "OFD: no file or no report given");
		goto out;
	}
	if ((rc = file_source(path, &src, err)) != SEALKIT_OK)
		goto out;
	rc = verify_package(src, opts, out, err);
out:
	return rc;
}

sealkit_status sealkit_verify_ofd_mem(const void *data, size_t len,
				      const sealkit_verify_options *opts, sealkit_report **out,
				      sealkit_error *err)
{
	sealkit_status rc;
	zip_error_t ze;
	zip_source_t *src;

	zip_error_init(&ze);
	if (out)
		*out = NULL;
	if (!data || !out) {
		rc = sealkit_fail(err, SEALKIT_ERR_ARGS, "OFD: no package or no report given");
		goto out;
	}
	size_t tail = len > 65557 ? len - 65557 : 0;
	size_t prefix = (size_t)zip_prefix((const unsigned char *)data + tail, len - tail, tail);
	if (!(src = zip_source_buffer_create((const unsigned char *)data + prefix, len - prefix, 0,
					     &ze))) {
		rc = sealkit_fail(err, SEALKIT_ERR_MEMORY, "out of memory");
		goto out;
	}
	rc = verify_package(src, opts, out, err);
out:
	zip_error_fini(&ze);
	return rc;
}

int sealkit_is_zip(const void *data, size_t len)
{
	const unsigned char *b = data;
	int yes = 0;
	if (!b)
		goto out;
	if (len >= 4 && !memcmp(b, "PK\3\4", 4)) {
		yes = 1;
		goto out;
	}
	/* Bytes before the first entry: the end record is within the last 64 KiB + 22. */
	for (size_t i = len >= 22 ? len - 22 + 1 : 0; i-- > 0 && len - i <= 65557;)
		if (!memcmp(b + i, "PK\5\6", 4)) {
			yes = 1;
			goto out;
		}
out:
	return yes;
}

/* ---- for ofdstamp.c (ofdpkg.h) ------------------------------------------------------ */

sealkit_status sk_ofd_open(const char *path, zip_t **out, sealkit_error *err)
{
	sealkit_status rc;
	zip_source_t *src = NULL;
	pkg p = {0};

	*out = NULL;
	if ((rc = file_source(path, &src, err)) != SEALKIT_OK)
		goto out;
	rc = pkg_open(&p, src, err);
	if (!p.z)
		zip_source_free(src);
	else if (rc != SEALKIT_OK)
		zip_discard(p.z);
	else
		*out = p.z;
out:
	return rc;
}

sealkit_status sk_ofd_read(zip_t *z, zip_int64_t idx, size_t max, unsigned char **buf, size_t *len,
			   sealkit_error *err)
{
	pkg p = {z};
	return pkg_read(&p, idx, max, buf, len, err);
}

sealkit_status sk_ofd_xml_load(zip_t *z, zip_int64_t idx, const char *path, xmlDocPtr *doc,
			       unsigned char **bytes, size_t *len, sealkit_error *err)
{
	pkg p = {z};
	return xml_load(&p, idx, path, doc, bytes, len, err);
}

int sk_ofd_norm_path(const char *dir, const char *ref, char *out, size_t len)
{
	return norm_path(dir, ref, out, len);
}

zip_int64_t sk_ofd_resolve(zip_t *z, const char *dir, const char *ref, char *out, size_t len)
{
	pkg p = {z};
	return pkg_resolve(&p, dir, ref, out, len);
}

void sk_ofd_dir_of(const char *path, char *dir, size_t len)
{
	dir_of(path, dir, len);
}

bool sk_ofd_is_el(xmlNodePtr n, const char *name)
{
	return is_el(n, name);
}

xmlNodePtr sk_ofd_child(xmlNodePtr n, const char *name)
{
	return child(n, name);
}

char *sk_ofd_text(xmlNodePtr n)
{
	return text_of(n);
}

char *sk_ofd_attr(xmlNodePtr n, const char *name)
{
	return attr_of(n, name);
}

int sk_ofd_b64_decode(const char *in, unsigned char *out, size_t cap)
{
	return b64_decode(in, out, cap);
}
