/* Stamping OFD packages (spec/seal-format.md sections 7 and 9): one more
 * seal signature, in the signing order every implementation follows. The
 * input is read twice (once to hash what the signature protects, once to
 * copy it) and never written; everything new is built in memory and signed
 * before the output is started, and the output is a temporary file renamed
 * into place, so a failure at any step leaves nothing behind. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zip.h>
#include <libxml/tree.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "digest.h"
#include "ofdpkg.h"
#include "sealkit/make.h"
#include "sealkit/ofd.h"

#define OFD_NS           "http://www.ofdspec.org/2016"
#define XML_DECL         "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define DEFAULT_STAMP_MM 40.0
#define EDGE_MM          15.0 /* the default position's distance from the page edges */

/* ---- a growing text buffer ------------------------------------------------------ */

typedef struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		goto out;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			goto out;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
out:
	return;
}

static void sb_str(sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static void sb_fmt(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_fmt(sbuf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof tmp)
		b->oom = true;
	else
		sb_add(b, tmp, (size_t)n);
}

/* Text or an attribute value, escaped. */
static void sb_xml(sbuf *b, const char *s)
{
	for (; *s; s++) {
		const char *e = *s == '&'   ? "&amp;"
				: *s == '<' ? "&lt;"
				: *s == '>' ? "&gt;"
				: *s == '"' ? "&quot;"
					    : NULL;
		if (e)
			sb_str(b, e);
		else
			sb_add(b, s, 1);
	}
}

/* Millimetres with at most three decimals, whatever the locale. */
static void sb_mm(sbuf *b, double v)
{
	long long m = (long long)(v * 1000.0 + (v < 0 ? -0.5 : 0.5));
	const char *sign = m < 0 ? "-" : "";
	if (m < 0)
		m = -m;
	if (m % 1000 == 0)
		sb_fmt(b, "%s%lld", sign, m / 1000);
	else if (m % 100 == 0)
		sb_fmt(b, "%s%lld.%lld", sign, m / 1000, (m % 1000) / 100);
	else if (m % 10 == 0)
		sb_fmt(b, "%s%lld.%02lld", sign, m / 1000, (m % 1000) / 10);
	else
		sb_fmt(b, "%s%lld.%03lld", sign, m / 1000, m % 1000);
}

/* "x y w h" (ST_Box) whatever the locale; false when it is none. */
static bool parse_box(const char *s, double box[4])
{
	bool ok = false;
	int n = 0;
	while (s && n < 4) {
		double v = 0, scale = 0.1;
		bool neg = false, digits = false;
		while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n' || *s == ',')
			s++;
		if (*s == '-' || *s == '+')
			neg = *s++ == '-';
		for (; *s >= '0' && *s <= '9'; s++, digits = true)
			v = v * 10 + (*s - '0');
		if (*s == '.')
			for (s++; *s >= '0' && *s <= '9'; s++, scale /= 10, digits = true)
				v += (*s - '0') * scale;
		if (!digits)
			goto out;
		box[n++] = neg ? -v : v;
	}
	ok = n == 4;
out:
	return ok;
}

/* snprintf for paths: false when the result would not fit. */
static bool path_fmt(char *out, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool path_fmt(char *out, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out, len, fmt, ap);
	va_end(ap);
	return n >= 0 && (size_t)n < len;
}

/* ---- what is written ------------------------------------------------------------- */

/* A file the output gets instead of (same name) or besides the input's. */
typedef struct newfile {
	char name[SK_OFD_PATH_MAX];
	const unsigned char *data;
	size_t len;
	bool used;
} newfile;

enum { NF_OFD, NF_LIST, NF_SEAL, NF_SIG, NF_VALUE, NF_COUNT };

typedef struct job {
	const sealkit_ofd_stamp_options *o;
	zip_t *z;
	time_t t;
	char doc_path[SK_OFD_PATH_MAX];  /* Document.xml */
	char list_path[SK_OFD_PATH_MAX]; /* Signatures.xml, existing or new */
	bool list_exists;
	char sign_dir[SK_OFD_PATH_MAX]; /* .../Signs/Sign_N */
	char sig_id[40], annot_id[40], max_id[40];
	char *page_id;
	double page_w, page_h;
	double box[4]; /* the StampAnnot's Boundary */
	newfile nf[NF_COUNT];
	unsigned char *ofd_xml, *list_xml, *sig_xml, *value; /* owned by the job */
	size_t sig_len;
} job;

/* ---- reading the document ------------------------------------------------------------ */

static xmlNodePtr first_el(xmlNodePtr n, const char *name)
{
	xmlNodePtr k = n ? n->children : NULL;
	while (k && !sk_ofd_is_el(k, name))
		k = k->next;
	return k;
}

/* Serialises a changed document (it is not signed yet, so its bytes are free). */
static sealkit_status xml_bytes(xmlDocPtr doc, unsigned char **out, size_t *len, sealkit_error *err)
{
	sealkit_status rc = SEALKIT_OK;
	xmlChar *mem = NULL;
	int n = 0;

	xmlDocDumpMemoryEnc(doc, &mem, &n, "UTF-8");
	if (!mem || n <= 0 || !(*out = malloc((size_t)n))) {
		rc = sealkit_fail(err, SEALKIT_ERR_MEMORY, "out of memory");
		goto out;
	}
	memcpy(*out, mem, (size_t)n);
	*len = (size_t)n;
out:
	xmlFree(mem);
	return rc;
}

/* OFD.xml: the first document, its signature list (or where a new one goes,
 * and OFD.xml with the reference to it). */
static sealkit_status read_root(job *j, sealkit_error *err)
{
	sealkit_status rc;
	xmlDocPtr doc = NULL;
	char *root = NULL, *list = NULL, dir[SK_OFD_PATH_MAX];
	zip_int64_t idx = zip_name_locate(j->z, "OFD.xml", 0);

	if (idx < 0) {
		rc = sealkit_fail(err, SEALKIT_ERR_FORMAT, "OFD: the package has no OFD.xml");
		goto out;
	}
	if ((rc = sk_ofd_xml_load(j->z, idx, "OFD.xml", &doc, NULL, NULL, err)) != SEALKIT_OK)
		goto out;
	xmlNodePtr body = first_el(xmlDocGetRootElement(doc), "DocBody");
	xmlNodePtr root_el = first_el(body, "DocRoot");
	root = sk_ofd_text(root_el);
	if (!root || !*root || sk_ofd_norm_path("", root, j->doc_path, sizeof j->doc_path)) {
		rc =
		    sealkit_fail(err, SEALKIT_ERR_FORMAT,
				 "OFD: OFD.xml names no document (DocBody/DocRoot), or one outside "
				 "the package");
		goto out;
	}
	if (zip_name_locate(j->z, j->doc_path, 0) < 0) {
		rc = sealkit_fail(err, SEALKIT_ERR_FORMAT, "OFD: the document /%s is missing",
				  j->doc_path);
		goto out;
	}
	list = sk_ofd_text(first_el(body, "Signatures"));
	if (list && *list) {
		if (sk_ofd_norm_path("", list, j->list_path, sizeof j->list_path)) {
			rc = sealkit_fail(err, SEALKIT_ERR_FORMAT,
					  "OFD: the signature list %s leaves the package", list);
			goto out;
		}
		if (zip_name_locate(j->z, j->list_path, 0) < 0) {
			rc = sealkit_fail(err, SEALKIT_ERR_FORMAT,
					  "OFD: the signature list /%s named in OFD.xml is missing",
					  j->list_path);
			goto out;
		}
		j->list_exists = true;
		goto out;
	}
	/* No list yet: Doc_N/Signs/Signatures.xml, named after DocRoot (schema
	 * order: DocInfo, DocRoot, Versions, Signatures). */
	sk_ofd_dir_of(j->doc_path, dir, sizeof dir);
	if (!path_fmt(j->list_path, sizeof j->list_path, "%s%sSigns/Signatures.xml", dir,
		      *dir ? "/" : "")) {
		rc = sealkit_fail(err, SEALKIT_ERR_FORMAT, "OFD: the document's path is too long");
		goto out;
	}
	xmlNodePtr after = first_el(body, "Versions") ? first_el(body, "Versions") : root_el;
	xmlNodePtr s = xmlNewDocRawNode(doc, body->ns, (const xmlChar *)"Signatures",
					(const xmlChar *)j->list_path);
	if (!s || !xmlAddNextSibling(after, s)) {
		xmlFreeNode(s);
		rc = sealkit_fail(err, SEALKIT_ERR_MEMORY, "out of memory");
		goto out;
	}
	rc = xml_bytes(doc, &j->ofd_xml, &j->nf[NF_OFD].len, err);
	j->nf[NF_OFD].data = j->ofd_xml;
	snprintf(j->nf[NF_OFD].name, sizeof j->nf[NF_OFD].name, "OFD.xml");
out:
	xmlFree(root);
	xmlFree(list);
	if (doc)
		xmlFreeDoc(doc);
	return rc;
}

/* The page's physical box, when its XML names one. */
static void page_box(xmlNodePtr area, double *w, double *h)
{
	char *s = sk_ofd_text(first_el(area, "PhysicalBox"));
	double box[4];
	if (s && parse_box(s, box) && box[2] > 0 && box[3] > 0) {
		*w = box[2];
		*h = box[3];
	}
	xmlFree(s);
}

/* Document.xml: page N's ID and size. */
static sealkit_status read_page(job *j, sealkit_error *err)
{
	sealkit_status rc;
	xmlDocPtr doc = NULL, page = NULL;
	char dir[SK_OFD_PATH_MAX], path[SK_OFD_PATH_MAX], *loc = NULL;
	unsigned want = j->o->page ? j->o->page : 1, n = 0;
	xmlNodePtr p = NULL;
	sealkit_error pe;

	rc = sk_ofd_xml_load(j->z, zip_name_locate(j->z, j->doc_path, 0), j->doc_path, &doc, NULL,
			     NULL, err);
	if (rc != SEALKIT_OK)
		goto out;
	xmlNodePtr root = xmlDocGetRootElement(doc);
	for (xmlNodePtr k = first_el(root, "Pages") ? first_el(root, "Pages")->children : NULL; k;
	     k = k->next)
		if (sk_ofd_is_el(k, "Page") && ++n == want)
			p = k;
	if (!p) {
		rc = sealkit_fail(err, SEALKIT_ERR_ARGS,
				  "OFD: no page %u: the document has %u page%s", want, n,
				  n == 1 ? "" : "s");
		goto out;
	}
	j->page_id = sk_ofd_attr(p, "ID");
	if (!j->page_id || !*j->page_id) {
		rc = sealkit_fail(err, SEALKIT_ERR_FORMAT, "OFD: page %u has no ID", want);
		goto out;
	}
	j->page_w = 210;
	j->page_h = 297;
	page_box(first_el(first_el(root, "CommonData"), "PageArea"), &j->page_w, &j->page_h);
	/* A page may have an area of its own. */
	sk_ofd_dir_of(j->doc_path, dir, sizeof dir);
	loc = sk_ofd_attr(p, "BaseLoc");
	zip_int64_t idx = loc && *loc ? sk_ofd_resolve(j->z, dir, loc, path, sizeof path) : -1;
	if (idx >= 0 && sk_ofd_xml_load(j->z, idx, path, &page, NULL, NULL, &pe) == SEALKIT_OK)
		page_box(first_el(xmlDocGetRootElement(page), "Area"), &j->page_w, &j->page_h);
out:
	xmlFree(loc);
	if (page)
		xmlFreeDoc(page);
	if (doc)
		xmlFreeDoc(doc);
	return rc;
}

/* Whether an earlier signature protects the list and still matches it:
 * rewriting the list would break that signature. */
static bool list_locked(job *j, const char *sig_path, const unsigned char *list, size_t list_len)
{
	bool locked = false;
	xmlDocPtr doc = NULL;
	char dir[SK_OFD_PATH_MAX], path[SK_OFD_PATH_MAX], *method = NULL;
	sealkit_error pe;
	zip_int64_t idx = zip_name_locate(j->z, sig_path, 0);
	unsigned char md[32];

	if (idx < 0 || sk_ofd_xml_load(j->z, idx, sig_path, &doc, NULL, NULL, &pe) != SEALKIT_OK)
		goto out;
	xmlNodePtr refs = first_el(first_el(xmlDocGetRootElement(doc), "SignedInfo"), "References");
	method = sk_ofd_attr(refs, "CheckMethod");
	if (!method || (strcasecmp(method, "SM3") && strcmp(method, SEALKIT_OID_SM3)) ||
	    !EVP_Digest(list, list_len, md, NULL, sk_sm3(), NULL))
		goto out;
	sk_ofd_dir_of(sig_path, dir, sizeof dir);
	for (xmlNodePtr r = refs->children; r && !locked; r = r->next) {
		if (!sk_ofd_is_el(r, "Reference"))
			continue;
		char *ref = sk_ofd_attr(r, "FileRef"),
		     *val = sk_ofd_text(first_el(r, "CheckValue"));
		unsigned char want[64];
		int n = val ? sk_ofd_b64_decode(val, want, sizeof want) : -1;
		if (ref && sk_ofd_resolve(j->z, dir, ref, path, sizeof path) >= 0 &&
		    !strcmp(path, j->list_path) && n == 32 && !CRYPTO_memcmp(want, md, 32))
			locked = true;
		xmlFree(ref);
		xmlFree(val);
	}
out:
	xmlFree(method);
	if (doc)
		xmlFreeDoc(doc);
	return locked;
}

/* The number in an ID ("s001", "2", "004"); 0 when it has none. */
static unsigned long id_number(const char *id)
{
	const char *d = id ? id + strcspn(id, "0123456789") : "";
	return *d ? strtoul(d, NULL, 10) : 0;
}

/* New IDs in the style of `like` (its prefix and zero padding). */
static void make_ids(job *j, const char *like, unsigned long max)
{
	char prefix[9] = "s";
	int width = 3;
	if (like && *like) {
		size_t p = strcspn(like, "0123456789"), d = strspn(like + p, "0123456789");
		bool alpha = p < sizeof prefix && d > 0;
		for (size_t i = 0; i < p && alpha; i++)
			alpha = (like[i] >= 'a' && like[i] <= 'z') ||
				(like[i] >= 'A' && like[i] <= 'Z');
		if (alpha) {
			memcpy(prefix, like, p);
			prefix[p] = '\0';
			width = like[p] == '0' && d > 1 ? (int)d : 1;
		}
	}
	snprintf(j->sig_id, sizeof j->sig_id, "%s%0*lu", prefix, width, max + 1);
	snprintf(j->annot_id, sizeof j->annot_id, "%s%0*lu", prefix, width, max + 2);
	snprintf(j->max_id, sizeof j->max_id, "%s%0*lu", prefix, width, max + 2);
}

/* Signatures.xml with the new signature (and MaxSignId) in it. */
static sealkit_status read_list(job *j, sealkit_error *err)
{
	sealkit_status rc = SEALKIT_OK;
	xmlDocPtr doc = NULL;
	unsigned char *bytes = NULL;
	size_t len = 0;
	char dir[SK_OFD_PATH_MAX], path[SK_OFD_PATH_MAX], base[SK_OFD_PATH_MAX + 2];
	char *max_text = NULL, *last_id = NULL;
	unsigned long max = 0;
	newfile *nf = &j->nf[NF_LIST];

	snprintf(nf->name, sizeof nf->name, "%s", j->list_path);
	if (!path_fmt(base, sizeof base, "/%s/Signature.xml", j->sign_dir)) {
		rc = sealkit_fail(err, SEALKIT_ERR_FORMAT, "OFD: the signature's path is too long");
		goto out;
	}
	if (!j->list_exists) {
		sbuf b = {0};
		make_ids(j, NULL, 0);
		sb_str(&b, XML_DECL "<ofd:Signatures xmlns:ofd=\"" OFD_NS "\"><ofd:MaxSignId>");
		sb_xml(&b, j->max_id);
		sb_str(&b, "</ofd:MaxSignId><ofd:Signature ID=\"");
		sb_xml(&b, j->sig_id);
		sb_str(&b, "\" Type=\"Seal\" BaseLoc=\"");
		sb_xml(&b, base);
		sb_str(&b, "\"/></ofd:Signatures>");
		if (b.oom) {
			free(b.p);
			rc = sealkit_fail(err, SEALKIT_ERR_MEMORY, "out of memory");
			goto out;
		}
		j->list_xml = (unsigned char *)b.p;
		nf->data = j->list_xml;
		nf->len = b.len;
		goto out;
	}
	rc = sk_ofd_xml_load(j->z, zip_name_locate(j->z, j->list_path, 0), j->list_path, &doc,
			     &bytes, &len, err);
	if (rc != SEALKIT_OK)
		goto out;
	xmlNodePtr root = xmlDocGetRootElement(doc), max_el = first_el(root, "MaxSignId");
	sk_ofd_dir_of(j->list_path, dir, sizeof dir);
	for (xmlNodePtr s = root->children; s; s = s->next) {
		if (!sk_ofd_is_el(s, "Signature"))
			continue;
		char *id = sk_ofd_attr(s, "ID"), *loc = sk_ofd_attr(s, "BaseLoc");
		if (id_number(id) > max)
			max = id_number(id);
		xmlFree(last_id);
		last_id = id;
		bool locked = loc && *loc &&
			      sk_ofd_resolve(j->z, dir, loc, path, sizeof path) >= 0 &&
			      list_locked(j, path, bytes, len);
		xmlFree(loc);
		if (locked) {
			rc =
			    sealkit_fail(err, SEALKIT_ERR_UNSUPPORTED,
					 "OFD: the signature /%s protects /%s (it was made \"whole "
					 "protected\"): adding a signature would break it",
					 path, j->list_path);
			goto out;
		}
	}
	max_text = sk_ofd_text(max_el);
	if (id_number(max_text) > max)
		max = id_number(max_text);
	make_ids(j, max_text && *max_text ? max_text : last_id, max);
	if (max_el) {
		xmlNodeSetContent(max_el, NULL);
		xmlNodeAddContent(max_el, (const xmlChar *)j->max_id);
	} else {
		xmlNodePtr m = xmlNewDocRawNode(doc, root->ns, (const xmlChar *)"MaxSignId",
						(const xmlChar *)j->max_id);
		if (!m || !(root->children ? xmlAddPrevSibling(root->children, m)
					   : xmlAddChild(root, m))) {
			xmlFreeNode(m);
			rc = sealkit_fail(err, SEALKIT_ERR_MEMORY, "out of memory");
			goto out;
		}
	}
	xmlNodePtr s = xmlNewChild(root, root->ns, (const xmlChar *)"Signature", NULL);
	if (!s || !xmlSetProp(s, (const xmlChar *)"ID", (const xmlChar *)j->sig_id) ||
	    !xmlSetProp(s, (const xmlChar *)"Type", (const xmlChar *)"Seal") ||
	    !xmlSetProp(s, (const xmlChar *)"BaseLoc", (const xmlChar *)base)) {
		rc = sealkit_fail(err, SEALKIT_ERR_MEMORY, "out of memory");
		goto out;
	}
	if ((rc = xml_bytes(doc, &j->list_xml, &nf->len, err)) == SEALKIT_OK)
		nf->data = j->list_xml;
out:
	xmlFree(max_text);
	xmlFree(last_id);
	free(bytes);
	if (doc)
		xmlFreeDoc(doc);
	return rc;
}

/* Sign_N next to the list, N one past every Sign_K already there. */
static void pick_sign_dir(job *j)
{
	char dir[SK_OFD_PATH_MAX], prefix[SK_OFD_PATH_MAX + 8];
	unsigned long next = 0;
	zip_int64_t n = zip_get_num_entries(j->z, 0);

	sk_ofd_dir_of(j->list_path, dir, sizeof dir);
	snprintf(prefix, sizeof prefix, "%s%sSign_", dir, *dir ? "/" : "");
	size_t pl = strlen(prefix);
	for (zip_int64_t i = 0; i < n; i++) {
		const char *name = zip_get_name(j->z, (zip_uint64_t)i, 0);
		if (!name || strncmp(name, prefix, pl))
			continue;
		char *end;
		unsigned long k = strtoul(name + pl, &end, 10);
		if (end != name + pl && k + 1 > next)
			next = k + 1;
	}
	if (!path_fmt(j->sign_dir, sizeof j->sign_dir, "%s%lu", prefix, next))
		j->sign_dir[0] = '\0';
}

/* The Boundary: the seal's size at the given or the default place. */
static sealkit_status place_stamp(job *j, const sealkit_seal *seal, sealkit_error *err)
{
	sealkit_status rc = SEALKIT_OK;
	const sealkit_ofd_stamp_options *o = j->o;
	double w = o->width > 0              ? o->width
		   : seal->picture.width > 0 ? (double)seal->picture.width
					     : DEFAULT_STAMP_MM;
	double h = o->height > 0              ? o->height
		   : seal->picture.height > 0 ? (double)seal->picture.height
					      : DEFAULT_STAMP_MM;
	double x = o->has_position ? o->x : j->page_w - w - EDGE_MM;
	double y = o->has_position ? o->y : j->page_h - h - EDGE_MM;

	if (!o->has_position) {
		x = x < 0 ? 0 : x;
		y = y < 0 ? 0 : y;
	}
	if (!(x >= 0 && y >= 0 && x < j->page_w && y < j->page_h && w < 1000 && h < 1000)) {
		rc = sealkit_fail(
		    err, SEALKIT_ERR_ARGS,
		    "OFD: the stamp at %.1f,%.1f mm is outside page %u (%.1f x %.1f mm)", x, y,
		    o->page ? o->page : 1, j->page_w, j->page_h);
		goto out;
	}
	j->box[0] = x;
	j->box[1] = y;
	j->box[2] = w;
	j->box[3] = h;
out:
	return rc;
}

/* ---- Signature.xml ------------------------------------------------------------------------- */

/* One protected file: from the input (idx) or new bytes. */
typedef struct ref {
	const char *name;
	zip_int64_t idx;
	const newfile *nf;
} ref;

static int cmp_ref(const void *a, const void *b)
{
	return strcmp(((const ref *)a)->name, ((const ref *)b)->name);
}

static sealkit_status hash_entry(zip_t *z, zip_int64_t idx, const char *name, unsigned char md[32],
				 sealkit_error *err)
{
	sealkit_status rc = SEALKIT_OK;
	zip_file_t *f = zip_fopen_index(z, (zip_uint64_t)idx, 0);
	EVP_MD_CTX *h = EVP_MD_CTX_new();
	unsigned char *buf = malloc(1u << 16);
	zip_int64_t got = 0;

	if (!h || !buf || !EVP_DigestInit_ex(h, sk_sm3(), NULL)) {
		rc = sealkit_fail(err, SEALKIT_ERR_MEMORY, "out of memory or no SM3");
		goto out;
	}
	if (!f) {
		rc = sealkit_fail(err, SEALKIT_ERR_FORMAT, "OFD: cannot open /%s: %s", name,
				  zip_strerror(z));
		goto out;
	}
	while ((got = zip_fread(f, buf, 1u << 16)) > 0)
		EVP_DigestUpdate(h, buf, (size_t)got);
	if (got < 0 || !EVP_DigestFinal_ex(h, md, NULL))
		rc = sealkit_fail(err, SEALKIT_ERR_FORMAT, "OFD: cannot read /%s: %s", name,
				  zip_file_strerror(f));
out:
	if (f)
		zip_fclose(f);
	EVP_MD_CTX_free(h);
	free(buf);
	return rc;
}

static bool is_new(const job *j, const char *name)
{
	bool found = false;
	for (int i = 0; i < NF_COUNT && !found; i++)
		found = j->nf[i].data && !strcmp(j->nf[i].name, name);
	return found;
}

/* The References: every file of the result but this signature's own
 * Signature.xml and SignedValue.dat and (continue signing) the list. */
static sealkit_status add_references(job *j, sbuf *b, sealkit_error *err)
{
	sealkit_status rc = SEALKIT_OK;
	zip_int64_t n = zip_get_num_entries(j->z, 0);
	ref *refs = calloc((size_t)n + NF_COUNT, sizeof *refs);
	size_t count = 0;
	bool all = j->o->flags & SEALKIT_OFD_PROTECT_ALL;

	if (!refs) {
		rc = sealkit_fail(err, SEALKIT_ERR_MEMORY, "out of memory");
		goto out;
	}
	for (zip_int64_t i = 0; i < n; i++) {
		const char *name = zip_get_name(j->z, (zip_uint64_t)i, 0);
		size_t len = name ? strlen(name) : 0;
		if (!len || name[len - 1] == '/' || is_new(j, name))
			continue;
		refs[count++] = (ref){name, i, NULL};
	}
	for (int i = 0; i < NF_COUNT; i++)
		if (j->nf[i].data && i != NF_SIG && i != NF_VALUE && (i != NF_LIST || all))
			refs[count++] = (ref){j->nf[i].name, -1, &j->nf[i]};
	qsort(refs, count, sizeof *refs, cmp_ref);
	sb_str(b, "<ofd:References CheckMethod=\"" SEALKIT_OID_SM3 "\">");
	for (size_t i = 0; i < count; i++) {
		unsigned char md[32], b64[48];
		if (refs[i].nf) {
			if (!EVP_Digest(refs[i].nf->data, refs[i].nf->len, md, NULL, sk_sm3(),
					NULL)) {
				rc = sealkit_fail(err, SEALKIT_ERR_CRYPTO, "SM3 is not available");
				goto out;
			}
		} else if ((rc = hash_entry(j->z, refs[i].idx, refs[i].name, md, err)) !=
			   SEALKIT_OK) {
			goto out;
		}
		EVP_EncodeBlock(b64, md, 32);
		sb_str(b, "<ofd:Reference FileRef=\"/");
		sb_xml(b, refs[i].name);
		sb_str(b, "\"><ofd:CheckValue>");
		sb_str(b, (const char *)b64);
		sb_str(b, "</ofd:CheckValue></ofd:Reference>");
	}
	sb_str(b, "</ofd:References>");
out:
	free(refs);
	return rc;
}

static sealkit_status build_signature_xml(job *j, sealkit_error *err)
{
	sealkit_status rc;
	sbuf b = {0};
	char when[32];
	struct tm tm;

	/* Local time, as every producer writes it; timeInfo carries UTC. */
	strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime_r(&j->t, &tm));
	sb_str(&b, XML_DECL "<ofd:Signature xmlns:ofd=\"" OFD_NS "\"><ofd:SignedInfo>"
			    "<ofd:Provider ProviderName=\"");
	sb_xml(&b, j->o->provider ? j->o->provider : "sealkit");
	sb_str(&b, "\" Version=\"" PACKAGE_VERSION "\" Company=\"sealkit\"/>"
		   "<ofd:SignatureMethod>" SEALKIT_OID_SM2_SM3 "</ofd:SignatureMethod>"
		   "<ofd:SignatureDateTime>");
	sb_str(&b, when);
	sb_str(&b, "</ofd:SignatureDateTime>");
	if ((rc = add_references(j, &b, err)) != SEALKIT_OK)
		goto out;
	sb_str(&b, "<ofd:StampAnnot ID=\"");
	sb_xml(&b, j->annot_id);
	sb_str(&b, "\" PageRef=\"");
	sb_xml(&b, j->page_id);
	sb_str(&b, "\" Boundary=\"");
	for (int i = 0; i < 4; i++) {
		if (i)
			sb_str(&b, " ");
		sb_mm(&b, j->box[i]);
	}
	sb_str(&b, "\"/><ofd:Seal><ofd:BaseLoc>/");
	sb_xml(&b, j->nf[NF_SEAL].name);
	sb_str(&b, "</ofd:BaseLoc></ofd:Seal></ofd:SignedInfo><ofd:SignedValue>/");
	sb_xml(&b, j->nf[NF_VALUE].name);
	sb_str(&b, "</ofd:SignedValue></ofd:Signature>");
	if (b.oom) {
		rc = sealkit_fail(err, SEALKIT_ERR_MEMORY, "out of memory");
		goto out;
	}
	j->sig_xml = (unsigned char *)b.p;
	j->sig_len = b.len;
	b.p = NULL;
	j->nf[NF_SIG].data = j->sig_xml;
	j->nf[NF_SIG].len = j->sig_len;
out:
	free(b.p);
	return rc;
}

/* ---- writing -------------------------------------------------------------------------------- */

/* Adds bytes as a new deflated entry dated t. */
static bool add_bytes(zip_t *out, const char *name, const unsigned char *data, size_t len, time_t t)
{
	bool ok = false;
	zip_source_t *s = zip_source_buffer(out, data, len, 0);
	zip_int64_t idx = s ? zip_file_add(out, name, s, ZIP_FL_ENC_GUESS) : -1;
	if (idx < 0) {
		zip_source_free(s);
		goto out;
	}
	ok = zip_set_file_compression(out, (zip_uint64_t)idx, ZIP_CM_DEFLATE, 0) == 0 &&
	     zip_file_set_mtime(out, (zip_uint64_t)idx, t, 0) == 0;
out:
	return ok;
}

/* Copies entry i of in as it is stored: the compressed bytes, CRC, method,
 * time and attributes (libzip copies data it need not recompress as is). */
static bool copy_entry(zip_t *out, zip_t *in, zip_uint64_t i, const char *name)
{
	bool ok = false;
	zip_stat_t st;
	zip_uint8_t os;
	zip_uint32_t attr;
	zip_source_t *s = NULL;
	zip_int64_t idx = -1;

	zip_stat_init(&st);
	if (zip_stat_index(in, i, 0, &st) || !(st.valid & ZIP_STAT_COMP_METHOD))
		goto out;
	if (!(s = zip_source_zip(out, in, i, ZIP_FL_COMPRESSED, 0, -1)))
		goto out;
	if ((idx = zip_file_add(out, name, s, ZIP_FL_ENC_GUESS)) < 0) {
		zip_source_free(s);
		goto out;
	}
	/* Without this libzip would deflate a stored entry. */
	if (st.comp_method == ZIP_CM_STORE &&
	    zip_set_file_compression(out, (zip_uint64_t)idx, ZIP_CM_STORE, 0))
		goto out;
	if ((st.valid & ZIP_STAT_MTIME) && zip_file_set_mtime(out, (zip_uint64_t)idx, st.mtime, 0))
		goto out;
	if (!zip_file_get_external_attributes(in, i, 0, &os, &attr) &&
	    zip_file_set_external_attributes(out, (zip_uint64_t)idx, 0, os, attr))
		goto out;
	ok = true;
out:
	return ok;
}

/* Syncs the file at path and the directory holding it. */
static bool sync_path(const char *path, bool dir_too)
{
	bool ok = false;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fsync(fd))
		goto out;
	if (dir_too) {
		char dir[4096];
		const char *slash = strrchr(path, '/');
		size_t n = slash ? (size_t)(slash - path) : 0;
		if (n >= sizeof dir)
			goto out;
		memcpy(dir, path, n);
		dir[n] = '\0';
		int dfd = open(slash ? (n ? dir : "/") : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		/* Some file systems refuse fsync on directories; the rename stands. */
		if (dfd >= 0) {
			(void)fsync(dfd);
			close(dfd);
		}
	}
	ok = true;
out:
	if (fd >= 0)
		close(fd);
	return ok;
}

/* Writes in's entries (those named in nf replaced) and the unused nf files
 * to a temporary file next to path, syncs it and renames it to path. */
static sealkit_status write_package(const char *path, zip_t *in, newfile *nf, size_t n_nf, time_t t,
				    sealkit_error *err)
{
	sealkit_status rc = SEALKIT_OK;
	size_t plen = strlen(path);
	char *tmp = malloc(plen + 16);
	zip_t *out = NULL;
	int fd = -1, ze = 0;
	bool made = false;

	if (!tmp) {
		rc = sealkit_fail(err, SEALKIT_ERR_MEMORY, "out of memory");
		goto out;
	}
	snprintf(tmp, plen + 16, "%s.tmp-XXXXXX", path);
	if ((fd = mkstemp(tmp)) < 0) {
		rc = sealkit_fail(err, SEALKIT_ERR_IO, "cannot create a file next to %s: %s", path,
				  strerror(errno));
		goto out;
	}
	made = true;
	close(fd);
	if (!(out = zip_open(tmp, ZIP_CREATE | ZIP_TRUNCATE, &ze))) {
		rc =
		    sealkit_fail(err, SEALKIT_ERR_IO, "cannot write %s (libzip error %d)", tmp, ze);
		goto out;
	}
	zip_int64_t n = in ? zip_get_num_entries(in, 0) : 0;
	for (zip_int64_t i = 0; i < n; i++) {
		const char *name = zip_get_name(in, (zip_uint64_t)i, 0);
		newfile *repl = NULL;
		for (size_t k = 0; name && k < n_nf && !repl; k++)
			if (nf[k].data && !strcmp(nf[k].name, name))
				repl = &nf[k];
		bool ok = name && (repl ? add_bytes(out, name, repl->data, repl->len, t)
					: copy_entry(out, in, (zip_uint64_t)i, name));
		if (!ok) {
			rc = sealkit_fail(err, SEALKIT_ERR_IO,
					  "cannot copy entry %lld of the package: %s", (long long)i,
					  zip_strerror(out));
			goto out;
		}
		if (repl)
			repl->used = true;
	}
	for (size_t k = 0; k < n_nf; k++)
		if (nf[k].data && !nf[k].used &&
		    !add_bytes(out, nf[k].name, nf[k].data, nf[k].len, t)) {
			rc = sealkit_fail(err, SEALKIT_ERR_IO, "cannot add %s: %s", nf[k].name,
					  zip_strerror(out));
			goto out;
		}
	if (zip_close(out)) {
		rc = sealkit_fail(err, SEALKIT_ERR_IO, "cannot write %s: %s", path,
				  zip_strerror(out));
		goto out;
	}
	out = NULL;
	if (!sync_path(tmp, false) || rename(tmp, path)) {
		rc =
		    sealkit_fail(err, SEALKIT_ERR_IO, "cannot write %s: %s", path, strerror(errno));
		goto out;
	}
	made = false;
	sync_path(path, true);
out:
	if (out)
		zip_discard(out);
	if (made)
		unlink(tmp);
	free(tmp);
	return rc;
}

/* ---- the stamp ----------------------------------------------------------------------------------
 */

static sealkit_status check_args(const char *in, const char *out,
				 const sealkit_ofd_stamp_options *o, sealkit_signer *signer,
				 sealkit_error *err)
{
	sealkit_status rc = SEALKIT_OK;
	struct stat a, b;
	sealkit_signer_info info;

	if (!in || !out || !o || !signer || !o->seal.data || !o->seal.len) {
		rc = sealkit_fail(err, SEALKIT_ERR_ARGS,
				  "OFD stamp: needs the input, the output, a seal and a signer");
		goto out;
	}
	if (stat(in, &a)) {
		rc = sealkit_fail(err, SEALKIT_ERR_IO, "cannot read %s: %s", in, strerror(errno));
		goto out;
	}
	if (!stat(out, &b) && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
		rc = sealkit_fail(err, SEALKIT_ERR_ARGS,
				  "OFD stamp: the output %s is the input; the input is never "
				  "changed, write elsewhere",
				  out);
		goto out;
	}
	sealkit_signer_get_info(signer, &info);
	if (info.kind != SEALKIT_KEY_SM2)
		rc = sealkit_fail(err, SEALKIT_ERR_UNSUPPORTED,
				  "OFD stamp: the signer's key is %s, not SM2 (GB/T 38540 and OFD "
				  "SignatureMethod 1.2.156.10197.1.501 need SM2)",
				  info.alg_name ? info.alg_name : "not SM2");
out:
	return rc;
}

static void job_free(job *j)
{
	if (j->z)
		zip_discard(j->z);
	xmlFree(j->page_id);
	free(j->ofd_xml);
	free(j->list_xml);
	free(j->sig_xml);
	free(j->value);
}

sealkit_status sealkit_ofd_stamp(const char *in, const char *out,
				 const sealkit_ofd_stamp_options *opts, sealkit_signer *signer,
				 sealkit_error *err)
{
	sealkit_status rc;
	job j = {.o = opts};
	sealkit_seal *seal = NULL;
	size_t value_len = 0;
	char prop[SK_OFD_PATH_MAX + 2];

	if ((rc = check_args(in, out, opts, signer, err)) != SEALKIT_OK)
		goto out;
	if ((rc = sealkit_seal_parse(opts->seal.data, opts->seal.len, 0, &seal, NULL, err)) !=
	    SEALKIT_OK)
		goto out;
	j.t = opts->time ? opts->time : time(NULL);
	if ((rc = sk_ofd_open(in, &j.z, err)) != SEALKIT_OK || (rc = read_root(&j, err)) ||
	    (rc = read_page(&j, err)) || (rc = place_stamp(&j, seal, err)))
		goto out;
	pick_sign_dir(&j);
	if (!j.sign_dir[0] ||
	    !path_fmt(j.nf[NF_SEAL].name, sizeof j.nf[NF_SEAL].name, "%s/Seal.esl", j.sign_dir) ||
	    !path_fmt(j.nf[NF_SIG].name, sizeof j.nf[NF_SIG].name, "%s/Signature.xml",
		      j.sign_dir) ||
	    !path_fmt(j.nf[NF_VALUE].name, sizeof j.nf[NF_VALUE].name, "%s/SignedValue.dat",
		      j.sign_dir)) {
		rc = sealkit_fail(err, SEALKIT_ERR_FORMAT,
				  "OFD: the signature list's path is too long");
		goto out;
	}
	j.nf[NF_SEAL].data = opts->seal.data;
	j.nf[NF_SEAL].len = opts->seal.len;
	/* 1. Seal.esl and the list; 2. the digests and Signature.xml. */
	if ((rc = read_list(&j, err)) != SEALKIT_OK || (rc = build_signature_xml(&j, err)))
		goto out;
	/* 3-5. dataHash over the exact bytes, the stamp, SignedValue.dat. */
	snprintf(prop, sizeof prop, "/%s", j.nf[NF_SIG].name);
	sealkit_stamp_request req = {
	    .seal = opts->seal,
	    .document = {.data = j.sig_xml, .len = j.sig_len},
	    .time = j.t,
	    .property_info = opts->property_info ? opts->property_info : prop,
	};
	if ((rc = sealkit_stamp_make(&req, signer, opts->signer_cert, &j.value, &value_len, err)))
		goto out;
	j.nf[NF_VALUE].data = j.value;
	j.nf[NF_VALUE].len = value_len;
	rc = write_package(out, j.z, j.nf, NF_COUNT, j.t, err);
out:
	sealkit_seal_free(seal);
	job_free(&j);
	return rc;
}

/* ---- a small document -------------------------------------------------------------------------
 */

sealkit_status sealkit_ofd_make_text(const char *path, const char *text, sealkit_error *err)
{
	sealkit_status rc = SEALKIT_OK;
	sbuf doc = {0}, page = {0};
	newfile nf[4] = {{.name = "OFD.xml"},
			 {.name = "Doc_0/Document.xml"},
			 {.name = "Doc_0/PublicRes.xml"},
			 {.name = "Doc_0/Pages/Page_0/Content.xml"}};
	static const char ofd[] =
	    XML_DECL "<ofd:OFD xmlns:ofd=\"" OFD_NS "\" Version=\"1.0\" DocType=\"OFD\">"
		     "<ofd:DocBody><ofd:DocInfo><ofd:DocID>sealkit-text</ofd:DocID>"
		     "<ofd:Creator>sealkit</ofd:Creator></ofd:DocInfo>"
		     "<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>";
	static const char res[] = XML_DECL "<ofd:Res xmlns:ofd=\"" OFD_NS "\" BaseLoc=\"Res\">"
					   "<ofd:Fonts><ofd:Font ID=\"2\" FontName=\"宋体\" "
					   "FamilyName=\"宋体\"/></ofd:Fonts></ofd:Res>";
	unsigned id = 4, line = 0;

	if (!path || !text) {
		rc = sealkit_fail(err, SEALKIT_ERR_ARGS, "OFD: no path or no text");
		goto out;
	}
	sb_str(&page, XML_DECL "<ofd:Page xmlns:ofd=\"" OFD_NS "\"><ofd:Content>"
			       "<ofd:Layer ID=\"3\">");
	for (const char *p = text; *p; line++) {
		size_t n = strcspn(p, "\n");
		char *l = strndup(p, n);
		if (!l) {
			page.oom = true;
			break;
		}
		sb_fmt(&page,
		       "<ofd:TextObject ID=\"%u\" Boundary=\"25 %u 160 7\" Font=\"2\" "
		       "Size=\"4.2\"><ofd:TextCode X=\"0\" Y=\"5\">",
		       id++, 25 + line * 8);
		sb_xml(&page, l);
		sb_str(&page, "</ofd:TextCode></ofd:TextObject>");
		free(l);
		p += n + (p[n] == '\n');
	}
	sb_str(&page, "</ofd:Layer></ofd:Content></ofd:Page>");
	sb_fmt(&doc,
	       XML_DECL "<ofd:Document xmlns:ofd=\"" OFD_NS "\"><ofd:CommonData>"
			"<ofd:MaxUnitID>%u</ofd:MaxUnitID><ofd:PageArea>"
			"<ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox></ofd:PageArea>"
			"<ofd:PublicRes>PublicRes.xml</ofd:PublicRes></ofd:CommonData>"
			"<ofd:Pages><ofd:Page ID=\"1\" BaseLoc=\"Pages/Page_0/Content.xml\"/>"
			"</ofd:Pages></ofd:Document>",
	       id - 1);
	if (page.oom || doc.oom) {
		rc = sealkit_fail(err, SEALKIT_ERR_MEMORY, "out of memory");
		goto out;
	}
	nf[0].data = (const unsigned char *)ofd;
	nf[0].len = sizeof ofd - 1;
	nf[1].data = (const unsigned char *)doc.p;
	nf[1].len = doc.len;
	nf[2].data = (const unsigned char *)res;
	nf[2].len = sizeof res - 1;
	nf[3].data = (const unsigned char *)page.p;
	nf[3].len = page.len;
	rc = write_package(path, NULL, nf, 4, time(NULL), err);
out:
	free(doc.p);
	free(page.p);
	return rc;
}
