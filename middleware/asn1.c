/* The ASN.1 layer of libsealkit: libtasn1 definitions, a small DER reader,
 * field readers that keep slices of the input, and encoding helpers. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asn1.h"

/* ---------------------------------------------------------------- definitions */

static pthread_once_t defs_once = PTHREAD_ONCE_INIT;
static asn1_node defs[3];
static char defs_error[ASN1_MAX_ERROR_DESCRIPTION_SIZE + 64];

static void defs_load(void)
{
	static const asn1_static_node *const tabs[3] = {
	    [MOD_V4] = gbt38540_asn1_tab,
	    [MOD_V1] = gmt0031_asn1_tab,
	    [MOD_X509] = x509_asn1_tab,
	};
	char desc[ASN1_MAX_ERROR_DESCRIPTION_SIZE] = "";

	for (int i = 0; i < 3; i++) {
		int rc = asn1_array2tree(tabs[i], &defs[i], desc);
		if (rc != ASN1_SUCCESS) {
			snprintf(defs_error, sizeof defs_error, "%s %s", asn1_strerror(rc), desc);
			for (int j = 0; j < 3; j++)
				asn1_delete_structure(&defs[j]);
			return;
		}
	}
}

asn1_node_const asn1_definitions(enum asn1_module m, const char **why)
{
	pthread_once(&defs_once, defs_load);
	if (!defs[m]) {
		*why = defs_error;
		return NULL;
	}
	return defs[m];
}

/* ---------------------------------------------------------------- arena */

struct arena_block {
	struct arena_block *next;
	alignas(max_align_t) unsigned char data[];
};

void *arena_alloc(struct arena *a, size_t n)
{
	struct arena_block *b;

	if (n > SIZE_MAX - sizeof *b)
		return NULL;
	b = calloc(1, sizeof *b + (n ? n : 1));
	if (!b)
		return NULL;
	b->next = a->head;
	a->head = b;
	return b->data;
}

void *arena_memdup(struct arena *a, const void *p, size_t n)
{
	void *q = arena_alloc(a, n + 1); /* +1: a NUL after strings */
	if (q && n)
		memcpy(q, p, n);
	return q;
}

void arena_free(struct arena *a)
{
	while (a->head) {
		struct arena_block *next = a->head->next;
		free(a->head);
		a->head = next;
	}
}

/* ---------------------------------------------------------------- DER reading */

int der_read(const unsigned char *buf, size_t buflen, size_t off, struct der_tlv *t,
	     const char **why)
{
	size_t p, len = 0, n;
	int rc = -1;

	if (off >= buflen || buflen - off < 2) {
		*why = "truncated: no room for a tag and a length";
		goto out;
	}
	if ((buf[off] & 0x1f) == 0x1f) {
		*why = "multi-octet tag (these structures use none)";
		goto out;
	}
	p = off + 1;
	t->long_len = 0;
	if (buf[p] < 0x80) {
		len = buf[p++];
	} else if (buf[p] == 0x80) {
		*why = "indefinite length (BER, not DER)";
		goto out;
	} else {
		n = buf[p++] & 0x7f;
		if (n > 4) {
			*why = "length field longer than 4 octets";
			goto out;
		}
		if (buflen - p < n) {
			*why = "truncated inside a length field";
			goto out;
		}
		t->long_len = buf[p] == 0;
		for (size_t i = 0; i < n; i++)
			len = (len << 8) | buf[p + i];
		p += n;
		if (len < 0x80)
			t->long_len = 1;
	}
	if (len > buflen - p) {
		*why = "truncated: the length runs past the end of the enclosing element";
		goto out;
	}
	t->tag = buf[off];
	t->off = off;
	t->hdr = p - off;
	t->len = len;
	rc = 0;
out:
	return rc;
}

int der_children(const unsigned char *buf, const struct der_tlv *parent, struct der_tlv *kids,
		 size_t max, size_t *n, const char **why)
{
	size_t pos = parent->off + parent->hdr, end = pos + parent->len;
	int rc = -1;

	*n = 0;
	while (pos < end) {
		struct der_tlv k;
		if (der_read(buf, end, pos, &k, why))
			goto out;
		if (*n < max)
			kids[*n] = k;
		(*n)++;
		pos = k.off + k.hdr + k.len;
	}
	rc = 0;
out:
	return rc;
}

/* Deeper than any seal or stamp nests: below it libtasn1 rejects the type anyway. */
#define DER_MAX_DEPTH 24

int der_walk(const unsigned char *buf, size_t len, size_t *long_len_at, size_t *bad_at,
	     const char **why)
{
	struct {
		size_t pos, end;
	} st[DER_MAX_DEPTH];
	int depth = 0, rc = -1;

	*long_len_at = (size_t)-1;
	st[0].pos = 0;
	st[0].end = len;
	while (depth >= 0) {
		struct der_tlv t;
		if (st[depth].pos >= st[depth].end) {
			depth--;
			continue;
		}
		if (der_read(buf, st[depth].end, st[depth].pos, &t, why)) {
			*bad_at = st[depth].pos;
			goto out;
		}
		if (t.long_len && *long_len_at == (size_t)-1)
			*long_len_at = t.off;
		st[depth].pos = t.off + t.hdr + t.len;
		if ((t.tag & 0x20) && t.len > 0 && depth + 1 < DER_MAX_DEPTH) {
			depth++;
			st[depth].pos = t.off + t.hdr;
			st[depth].end = st[depth].pos + t.len;
		}
	}
	rc = 0;
out:
	return rc;
}

unsigned char der_first_child_tag(sealkit_bytes tlv)
{
	struct der_tlv top, kid;
	const char *why;

	if (der_read(tlv.data, tlv.len, 0, &top, &why) || top.len == 0 ||
	    der_read(tlv.data, tlv.len, top.hdr, &kid, &why))
		return 0;
	return kid.tag;
}

size_t der_put_header(unsigned char *out, unsigned char tag, size_t len)
{
	size_t n = 0, k = 0;

	out[n++] = tag;
	if (len < 0x80) {
		out[n++] = (unsigned char)len;
		return n;
	}
	for (size_t v = len; v; v >>= 8)
		k++;
	out[n++] = (unsigned char)(0x80 | k);
	while (k--)
		out[n++] = (unsigned char)(len >> (8 * k));
	return n;
}

/* ---------------------------------------------------------------- messages */

static int ctx_error_v(struct parse_ctx *c, sealkit_status st, const char *suffix, const char *fmt,
		       va_list ap) __attribute__((format(printf, 4, 0)));

static int ctx_error_v(struct parse_ctx *c, sealkit_status st, const char *suffix, const char *fmt,
		       va_list ap)
{
	char msg[SEALKIT_MESSAGE_MAX];

	if (c->status != SEALKIT_OK)
		return -1; /* keep the first, most precise message */
	vsnprintf(msg, sizeof msg, fmt, ap);
	c->status = st;
	sealkit_fail(c->err, st, "%s: %s%s", c->what, msg, suffix);
	return -1;
}

int ctx_fail(struct parse_ctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ctx_error_v(c, SEALKIT_ERR_FORMAT, "", fmt, ap);
	va_end(ap);
	return -1;
}

static int ctx_internal(struct parse_ctx *c, sealkit_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int ctx_internal(struct parse_ctx *c, sealkit_status st, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ctx_error_v(c, st, "", fmt, ap);
	va_end(ap);
	return -1;
}

int ctx_deviation(struct parse_ctx *c, const char *fmt, ...)
{
	char msg[SEALKIT_MESSAGE_MAX];
	va_list ap;
	int rc = 0;

	va_start(ap, fmt);
	if (c->flags & SEALKIT_PARSE_STRICT) {
		rc = ctx_error_v(c, SEALKIT_ERR_FORMAT, " (rejected in strict mode)", fmt, ap);
	} else {
		vsnprintf(msg, sizeof msg, fmt, ap);
		sealkit_warn(c->warnings, "%s: %s", c->what, msg);
	}
	va_end(ap);
	return rc;
}

void ctx_notice(struct parse_ctx *c, const char *fmt, ...)
{
	char msg[SEALKIT_MESSAGE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	sealkit_warn(c->warnings, "%s: %s", c->what, msg);
}

/* ---------------------------------------------------------------- decoding */

static int decode_try(enum asn1_module m, const char *type, const unsigned char *der, size_t len,
		      asn1_node *node, char *desc, size_t desclen)
{
	char d[ASN1_MAX_ERROR_DESCRIPTION_SIZE] = "";
	const char *why = NULL;
	asn1_node_const defs_m = asn1_definitions(m, &why);
	int rc = ASN1_GENERIC_ERROR, ilen;

	*node = NULL;
	if (!defs_m) {
		snprintf(desc, desclen, "ASN.1 definitions did not load: %s", why);
		goto out;
	}
	if (len > INT_MAX) {
		snprintf(desc, desclen, "too large (%zu bytes)", len);
		goto out;
	}
	rc = asn1_create_element(defs_m, type, node);
	if (rc != ASN1_SUCCESS) {
		snprintf(desc, desclen, "no type %s: %s", type, asn1_strerror(rc));
		goto out;
	}
	ilen = (int)len;
	/* No time checks: times are checked (and tolerated) by read_seal_time. */
	rc = asn1_der_decoding2(node, der, &ilen,
				ASN1_DECODE_FLAG_STRICT_DER | ASN1_DECODE_FLAG_ALLOW_INCORRECT_TIME,
				d);
	if (rc != ASN1_SUCCESS) {
		size_t dl = strlen(d);
		/* libtasn1 names the element as "version." */
		if (dl >= 2 && d[dl - 2] == '.' && d[dl - 1] == '\'') {
			d[dl - 2] = '\'';
			d[dl - 1] = 0;
		}
		/* libtasn1 says ":: tag error near element 'x'"; keep the words. */
		const char *words = d;
		while (*words == ':' || *words == ' ')
			words++;
		if (*words)
			snprintf(desc, desclen, "%s (%s)", words, asn1_strerror(rc));
		else
			snprintf(desc, desclen, "%s", asn1_strerror(rc));
		asn1_delete_structure(node);
	}
out:
	return rc;
}

int decode(struct parse_ctx *c, enum asn1_module m, const char *type, const unsigned char *der,
	   size_t len, const char *label, struct decoded *d)
{
	char desc[ASN1_MAX_ERROR_DESCRIPTION_SIZE + 64];
	const char *shown = strchr(type, '.');

	memset(d, 0, sizeof *d);
	shown = shown ? shown + 1 : type;
	if (decode_try(m, type, der, len, &d->node, desc, sizeof desc) != ASN1_SUCCESS) {
		if (!strcmp(label, shown))
			return ctx_fail(c, "%s does not decode: %s", label, desc);
		return ctx_fail(c, "%s does not decode as %s: %s", label, shown, desc);
	}
	d->der = der;
	d->len = len;
	d->label = label;
	return 0;
}

void decoded_free(struct decoded *d)
{
	if (d->node)
		asn1_delete_structure(&d->node);
}

int has_element(const struct decoded *d, const char *name)
{
	return asn1_find_node(d->node, name) != NULL;
}

int element_tlv(struct parse_ctx *c, const struct decoded *d, const char *name, struct der_tlv *t)
{
	int start = 0, end = 0, rc;
	const char *why = NULL;

	rc = asn1_der_decoding_startEnd(d->node, d->der, (int)d->len, name, &start, &end);
	if (rc != ASN1_SUCCESS || start < 0 || (size_t)end >= d->len)
		return ctx_internal(c, SEALKIT_ERR_FORMAT, "%s.%s: element not found (%s)",
				    d->label, name, asn1_strerror(rc));
	if (der_read(d->der, (size_t)end + 1, (size_t)start, t, &why) ||
	    t->off + t->hdr + t->len != (size_t)end + 1)
		return ctx_fail(c, "%s.%s: %s", d->label, name, why ? why : "inconsistent length");
	return 0;
}

int read_tlv_bytes(struct parse_ctx *c, const struct decoded *d, const char *name,
		   sealkit_bytes *out)
{
	struct der_tlv t;
	if (element_tlv(c, d, name, &t))
		return -1;
	out->data = d->der + t.off;
	out->len = t.hdr + t.len;
	return 0;
}

int read_octets(struct parse_ctx *c, const struct decoded *d, const char *name, sealkit_bytes *out)
{
	struct der_tlv t;
	if (element_tlv(c, d, name, &t))
		return -1;
	out->data = d->der + t.off + t.hdr;
	out->len = t.len;
	return 0;
}

/* Whether INTEGER content has a superfluous leading 00 or FF octet. */
static int integer_nonminimal(const unsigned char *p, size_t len)
{
	return len > 1 && ((p[0] == 0x00 && !(p[1] & 0x80)) || (p[0] == 0xff && (p[1] & 0x80)));
}

int read_long(struct parse_ctx *c, const struct decoded *d, const char *name, long *out)
{
	struct der_tlv t;
	const unsigned char *p;
	size_t len;
	unsigned long v;

	if (element_tlv(c, d, name, &t))
		return -1;
	p = d->der + t.off + t.hdr;
	len = t.len;
	if (len == 0)
		return ctx_fail(c, "%s.%s: INTEGER with no content octets", d->label, name);
	if (integer_nonminimal(p, len) &&
	    ctx_deviation(c, "%s.%s: INTEGER is not in its shortest form", d->label, name))
		return -1;
	v = (p[0] & 0x80) ? ULONG_MAX : 0;
	/* Skip redundant sign octets, then the rest must fit a long. */
	while (len > 1 && p[0] == ((p[1] & 0x80) ? 0xff : 0x00)) {
		p++;
		len--;
	}
	if (len > sizeof(long))
		return ctx_fail(c, "%s.%s: INTEGER too large (%zu octets)", d->label, name, len);
	for (size_t i = 0; i < len; i++)
		v = (v << 8) | p[i];
	*out = (long)v;
	return 0;
}

int is_ia5(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

int is_printable(const char *s)
{
	for (; *s; s++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 "
			    "'()+,-./:=?",
			    *s))
			return 0;
	return 1;
}

int is_utf8(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char b = s[i];
		size_t n;
		uint32_t cp, min;
		if (b < 0x80) {
			i++;
			continue;
		} else if ((b & 0xe0) == 0xc0) {
			n = 1, cp = b & 0x1f, min = 0x80;
		} else if ((b & 0xf0) == 0xe0) {
			n = 2, cp = b & 0x0f, min = 0x800;
		} else if ((b & 0xf8) == 0xf0) {
			n = 3, cp = b & 0x07, min = 0x10000;
		} else {
			return 0;
		}
		if (len - i <= n)
			return 0;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

int read_string(struct parse_ctx *c, const struct decoded *d, const char *name, const char **out)
{
	struct der_tlv t;
	const unsigned char *p;
	char *s;

	if (element_tlv(c, d, name, &t))
		return -1;
	p = d->der + t.off + t.hdr;
	s = arena_memdup(c->arena, p, t.len);
	if (!s)
		return ctx_internal(c, SEALKIT_ERR_MEMORY, "out of memory");
	if (memchr(p, 0, t.len) &&
	    ctx_deviation(c, "%s.%s: string contains a NUL octet", d->label, name))
		return -1;
	if (t.tag == TAG_UTF8_STRING && !is_utf8(p, t.len) &&
	    ctx_deviation(c, "%s.%s: UTF8String is not valid UTF-8", d->label, name))
		return -1;
	if (t.tag == TAG_IA5_STRING && !is_ia5(s) &&
	    ctx_deviation(c, "%s.%s: IA5String holds non-ASCII octets", d->label, name))
		return -1;
	if (t.tag == TAG_PRINTABLE_STRING && !is_printable(s) &&
	    ctx_deviation(c, "%s.%s: PrintableString holds characters outside its set", d->label,
			  name))
		return -1;
	*out = s;
	return 0;
}

/* Dotted text of OID content octets; -1 when they are not a valid DER OID. */
static int oid_text(const unsigned char *p, size_t len, char *buf, size_t buflen)
{
	size_t used = 0;
	uint64_t v = 0;
	int first = 1, n;

	if (len == 0 || p[len - 1] & 0x80)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (v == 0 && p[i] == 0x80)
			return -1; /* a leading 0x80 pads an arc */
		if (v >> 57)
			return -1; /* arc beyond 64 bits */
		v = (v << 7) | (p[i] & 0x7f);
		if (p[i] & 0x80)
			continue;
		if (first) {
			unsigned top = v < 40 ? 0 : v < 80 ? 1 : 2;
			n = snprintf(buf + used, buflen - used, "%u.%llu", top,
				     (unsigned long long)(v - 40u * top));
			first = 0;
		} else {
			n = snprintf(buf + used, buflen - used, ".%llu", (unsigned long long)v);
		}
		if (n < 0 || (size_t)n >= buflen - used)
			return -1;
		used += (size_t)n;
		v = 0;
	}
	return 0;
}

int read_oid(struct parse_ctx *c, const struct decoded *d, const char *name, const char **out)
{
	struct der_tlv t;
	char buf[512];

	if (element_tlv(c, d, name, &t))
		return -1;
	if (oid_text(d->der + t.off + t.hdr, t.len, buf, sizeof buf))
		return ctx_fail(c, "%s.%s: not a valid OBJECT IDENTIFIER", d->label, name);
	if (!(*out = arena_memdup(c->arena, buf, strlen(buf))))
		return ctx_internal(c, SEALKIT_ERR_MEMORY, "out of memory");
	return 0;
}

int read_bool(struct parse_ctx *c, const struct decoded *d, const char *name, int *out)
{
	struct der_tlv t;
	unsigned char v;

	if (element_tlv(c, d, name, &t))
		return -1;
	if (t.len != 1)
		return ctx_fail(c, "%s.%s: BOOLEAN of %zu octets", d->label, name, t.len);
	v = d->der[t.off + t.hdr];
	if (v != 0x00 && v != 0xff &&
	    ctx_deviation(c, "%s.%s: BOOLEAN TRUE written as 0x%02x, not 0xff", d->label, name, v))
		return -1;
	*out = v != 0;
	return 0;
}

int bits_of_tlv(struct parse_ctx *c, const unsigned char *tlv, const struct der_tlv *t,
		const char *label, sealkit_bytes *out, unsigned *unused)
{
	const unsigned char *p = tlv + t->hdr;
	unsigned u;

	if (t->len == 0)
		return ctx_fail(c, "%s: BIT STRING without its unused-bits octet", label);
	u = p[0];
	if (u > 7 || (t->len == 1 && u != 0))
		return ctx_fail(c, "%s: BIT STRING with an invalid unused-bits octet %u", label, u);
	if (u != 0) {
		int padding = (p[t->len - 1] & ((1u << u) - 1)) != 0;
		if (ctx_deviation(
			c,
			"%s: BIT STRING says %u unused bits%s (the value is read as whole octets)",
			label, u, padding ? " and its padding bits are not zero" : ""))
			return -1;
	}
	out->data = p + 1;
	out->len = t->len - 1;
	if (unused)
		*unused = u;
	return 0;
}

int read_bits(struct parse_ctx *c, const struct decoded *d, const char *name, sealkit_bytes *out,
	      unsigned *unused)
{
	struct der_tlv t;
	char label[160];

	if (element_tlv(c, d, name, &t))
		return -1;
	snprintf(label, sizeof label, "%s.%s", d->label, name);
	return bits_of_tlv(c, d->der + t.off, &t, label, out, unused);
}

int read_seal_time(struct parse_ctx *c, const struct decoded *d, const char *name,
		   unsigned char want, sealkit_time *out)
{
	char alt[32], full[96];
	int alen = sizeof alt, canonical = 0;
	struct der_tlv t;
	const unsigned char *p;

	memset(out, 0, sizeof *out);
	if (asn1_read_value(d->node, name, alt, &alen) != ASN1_SUCCESS || alen <= 0 ||
	    (size_t)alen >= sizeof alt)
		return ctx_fail(c, "%s.%s: no time", d->label, name);
	alt[alen] = 0;
	snprintf(full, sizeof full, "%s.%s", name, alt);
	if (element_tlv(c, d, full, &t))
		return -1;
	p = d->der + t.off + t.hdr;
	out->tag = t.tag;
	out->raw.data = p;
	out->raw.len = t.len;
	if (!(out->text = arena_memdup(c->arena, p, t.len)))
		return ctx_internal(c, SEALKIT_ERR_MEMORY, "out of memory");
	if (time_parse(t.tag, p, t.len, out, &canonical))
		return ctx_fail(c, "%s.%s: '%.40s' is not a valid time", d->label, name,
				is_ia5(out->text) ? out->text : "(binary)");
	if (t.tag != want) {
		if (ctx_deviation(c, "%s.%s is %s; this version uses %s", d->label, name,
				  t.tag == TAG_UTC_TIME ? "UTCTime" : "GeneralizedTime",
				  want == TAG_UTC_TIME ? "UTCTime" : "GeneralizedTime"))
			return -1;
	} else if (!canonical) {
		if (ctx_deviation(c, "%s.%s: '%s' is not in the DER form %s", d->label, name,
				  out->text,
				  t.tag == TAG_UTC_TIME ? "YYMMDDHHMMSSZ" : "YYYYMMDDHHMMSSZ"))
			return -1;
	}
	return 0;
}

/* A list of ExtData given as the TLV whose children they are (a SEQUENCE OF,
 * or an IMPLICIT [0] holding them directly). */
int read_ext_list(struct parse_ctx *c, const unsigned char *base, const struct der_tlv *list,
		  const char *label, sealkit_ext **out, size_t *n)
{
	struct der_tlv kids[SEAL_MAX_LIST];
	size_t count = 0;
	const char *why = NULL;
	sealkit_ext *ext;
	char elabel[160];

	*out = NULL;
	*n = 0;
	if (der_children(base, list, kids, SEAL_MAX_LIST, &count, &why))
		return ctx_fail(c, "%s: %s", label, why);
	if (count > SEAL_MAX_LIST)
		return ctx_fail(c, "%s: %zu entries, more than the %d this parser takes", label,
				count, SEAL_MAX_LIST);
	if (count == 0)
		return 0;
	if (!(ext = arena_alloc(c->arena, count * sizeof *ext)))
		return ctx_internal(c, SEALKIT_ERR_MEMORY, "out of memory");
	for (size_t i = 0; i < count; i++) {
		struct decoded d;
		int rc;
		snprintf(elabel, sizeof elabel, "%s[%zu]", label, i);
		if (decode(c, MOD_V4, "GBT38540.ExtData", base + kids[i].off,
			   kids[i].hdr + kids[i].len, elabel, &d))
			return -1;
		rc = read_oid(c, &d, "extnID", &ext[i].oid) ||
		     (has_element(&d, "critical") &&
		      read_bool(c, &d, "critical", &ext[i].critical)) ||
		     read_octets(c, &d, "extnValue", &ext[i].value);
		decoded_free(&d);
		if (rc)
			return -1;
	}
	*out = ext;
	*n = count;
	return 0;
}

/* ---------------------------------------------------------------- times */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	/* Howard Hinnant's algorithm: days since 1970-01-01 in the proleptic Gregorian calendar. */
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static unsigned days_in_month(int y, unsigned m)
{
	static const unsigned char dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : dm[m - 1];
}

struct cursor {
	const unsigned char *p, *end;
};

static int take_digits(struct cursor *k, int n, int *v)
{
	if (k->end - k->p < n)
		return -1;
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (k->p[i] < '0' || k->p[i] > '9')
			return -1;
		*v = *v * 10 + (k->p[i] - '0');
	}
	k->p += n;
	return 0;
}

static int take(struct cursor *k, char ch)
{
	if (k->p < k->end && *k->p == (unsigned char)ch) {
		k->p++;
		return 1;
	}
	return 0;
}

static int next_is_digit(const struct cursor *k)
{
	return k->p < k->end && *k->p >= '0' && *k->p <= '9';
}

int time_parse(unsigned char tag, const unsigned char *text, size_t len, sealkit_time *out,
	       int *canonical)
{
	struct cursor k = {text, text + len};
	int year, mon, day, hour, min = 0, sec = 0, zh = 0, zm = 0, sign = 0;
	int text_form = tag != TAG_UTC_TIME && tag != TAG_GENERALIZED_TIME;
	int rc = -1;

	*canonical = 0;
	if (tag == TAG_UTC_TIME) {
		if (take_digits(&k, 2, &year))
			goto out;
		year += year < 50 ? 2000 : 1900;
	} else if (take_digits(&k, 4, &year)) {
		goto out;
	}
	if (text_form)
		take(&k, '-');
	if (take_digits(&k, 2, &mon))
		goto out;
	if (text_form)
		take(&k, '-');
	if (take_digits(&k, 2, &day))
		goto out;
	if (text_form && !take(&k, ' '))
		take(&k, 'T');
	if (take_digits(&k, 2, &hour))
		goto out;
	if (text_form)
		take(&k, ':');
	if (next_is_digit(&k)) {
		if (take_digits(&k, 2, &min))
			goto out;
		if (text_form)
			take(&k, ':');
		if (next_is_digit(&k) && take_digits(&k, 2, &sec))
			goto out;
	}
	if (take(&k, '.') || take(&k, ',')) {
		if (!next_is_digit(&k))
			goto out;
		while (next_is_digit(&k))
			k.p++;
	}
	out->zone_known = 0;
	if (take(&k, 'Z')) {
		out->zone_known = 1;
	} else if (k.p < k.end && (*k.p == '+' || *k.p == '-')) {
		sign = *k.p++ == '-' ? -1 : 1;
		if (take_digits(&k, 2, &zh))
			goto out;
		take(&k, ':');
		if (take_digits(&k, 2, &zm) || zh > 23 || zm > 59)
			goto out;
		out->zone_known = 1;
	}
	if (k.p != k.end)
		goto out;
	if (mon < 1 || mon > 12 || day < 1 || (unsigned)day > days_in_month(year, (unsigned)mon) ||
	    hour > 23 || min > 59 || sec > 60)
		goto out;
	out->t = (time_t)(days_from_civil(year, (unsigned)mon, (unsigned)day) * 86400 +
			  hour * 3600 + min * 60 + sec - sign * (zh * 3600 + zm * 60));
	out->has_time = 1;
	/* Canonical: digits only, then Z (DER allows no fraction from us). */
	if (tag == TAG_GENERALIZED_TIME || tag == TAG_UTC_TIME) {
		size_t digits = tag == TAG_GENERALIZED_TIME ? 14 : 12, i = 0;
		while (i < len && text[i] >= '0' && text[i] <= '9')
			i++;
		*canonical = len == digits + 1 && i == digits && text[digits] == 'Z';
	}
	rc = 0;
out:
	return rc;
}

int time_format_generalized(time_t t, char *buf)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
		return -1;
	/* Bounded fields, so the 15 characters always fit (the casts tell the compiler). */
	snprintf(buf, 16, "%04u%02u%02u%02u%02u%02uZ", (unsigned)(tm.tm_year + 1900) % 10000u,
		 (unsigned)(tm.tm_mon + 1) % 100u, (unsigned)tm.tm_mday % 100u,
		 (unsigned)tm.tm_hour % 100u, (unsigned)tm.tm_min % 100u,
		 (unsigned)tm.tm_sec % 100u);
	return 0;
}

/* ---------------------------------------------------------------- signature values */

/* Strips sign octets: the magnitude of a (presumed unsigned) INTEGER. */
static void magnitude(const unsigned char **p, size_t *len)
{
	while (*len > 1 && (*p)[0] == 0) {
		(*p)++;
		(*len)--;
	}
}

#define SIG_MAX_INT 127 /* octets per INTEGER; P-521 needs 66 */

sealkit_status sig_der_from_parts(const unsigned char *r, size_t rlen, const unsigned char *s,
				  size_t slen, unsigned char **der, size_t *der_len,
				  sealkit_error *err)
{
	unsigned char tmp[2][SIG_MAX_INT + 1];
	const unsigned char *v[2] = {r, s};
	size_t l[2] = {rlen, slen};
	static const char *const names[2] = {"r", "s"};
	asn1_node n = NULL;
	sealkit_status st = SEALKIT_ERR_ARGS;

	*der = NULL;
	for (int i = 0; i < 2; i++) {
		if (l[i] == 0) {
			st =
			    sealkit_fail(err, SEALKIT_ERR_ARGS, "signature: %s is empty", names[i]);
			goto out;
		}
		magnitude(&v[i], &l[i]);
		if (l[i] > SIG_MAX_INT) {
			st = sealkit_fail(err, SEALKIT_ERR_ARGS, "signature: %s has %zu octets",
					  names[i], l[i]);
			goto out;
		}
		/* A leading 00 keeps a top bit from making it negative. */
		tmp[i][0] = 0;
		memcpy(tmp[i] + 1, v[i], l[i]);
	}
	if (!(n = encode_start(MOD_X509, "X509.SM2Signature", err)))
		goto out;
	for (int i = 0; i < 2; i++)
		if ((st = encode_write(n, names[i], tmp[i], (int)l[i] + 1, err)) != SEALKIT_OK)
			goto out;
	st = encode_finish(&n, "signature", der, der_len, err);
out:
	if (n)
		asn1_delete_structure(&n);
	return st;
}

/* r and s of a decoded SM2Signature as content slices of der. */
static int sig_parts(const unsigned char *der, size_t len, sealkit_bytes part[2])
{
	struct der_tlv top, kids[2];
	const char *why;
	size_t n;

	if (der_read(der, len, 0, &top, &why) || top.tag != TAG_SEQUENCE ||
	    top.hdr + top.len != len || der_children(der, &top, kids, 2, &n, &why) || n != 2 ||
	    kids[0].tag != TAG_INTEGER || kids[1].tag != TAG_INTEGER || kids[0].len == 0 ||
	    kids[1].len == 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		part[i].data = der + kids[i].off + kids[i].hdr;
		part[i].len = kids[i].len;
	}
	return 0;
}

int sig_is_strict_der(const unsigned char *der, size_t len)
{
	sealkit_bytes part[2];
	asn1_node node = NULL;
	char desc[128];
	size_t long_at, bad_at;
	const char *why;
	int ok = 0;

	if (decode_try(MOD_X509, "X509.SM2Signature", der, len, &node, desc, sizeof desc) !=
	    ASN1_SUCCESS)
		goto out;
	if (der_walk(der, len, &long_at, &bad_at, &why) || long_at != (size_t)-1 ||
	    sig_parts(der, len, part))
		goto out;
	ok = 1;
	for (int i = 0; i < 2; i++)
		if (integer_nonminimal(part[i].data, part[i].len) || (part[i].data[0] & 0x80))
			ok = 0;
out:
	if (node)
		asn1_delete_structure(&node);
	return ok;
}

static int sigvalue_rebuild(struct parse_ctx *c, const sealkit_bytes part[2], sealkit_sigvalue *out)
{
	unsigned char *der = NULL;
	size_t len = 0;
	sealkit_error e;
	int rc = 0;

	if (sig_der_from_parts(part[0].data, part[0].len, part[1].data, part[1].len, &der, &len,
			       &e) != SEALKIT_OK) {
		out->value.data = NULL;
		out->value.len = 0;
		goto out;
	}
	if (!(out->value.data = arena_memdup(c->arena, der, len))) {
		rc = ctx_internal(c, SEALKIT_ERR_MEMORY, "out of memory");
		goto out;
	}
	out->value.len = len;
out:
	free(der);
	return rc;
}

int sigvalue_read(struct parse_ctx *c, const char *label, sealkit_bytes content, unsigned unused,
		  sealkit_sigvalue *out)
{
	sealkit_bytes part[2];
	asn1_node node = NULL;
	char desc[128];
	int rc = -1;

	memset(out, 0, sizeof *out);
	out->raw = content;
	out->unused_bits = unused;
	/* DER first: a raw r||s may begin with 0x30 by chance, a DER value is never 64 raw octets.
	 */
	if (content.len > 0 && content.data[0] == TAG_SEQUENCE &&
	    decode_try(MOD_X509, "X509.SM2Signature", content.data, content.len, &node, desc,
		       sizeof desc) == ASN1_SUCCESS &&
	    sig_parts(content.data, content.len, part) == 0) {
		int bad = 0;
		for (int i = 0; i < 2; i++)
			bad |= integer_nonminimal(part[i].data, part[i].len) ||
			       (part[i].data[0] & 0x80);
		if (!bad) {
			size_t long_at, bad_at;
			const char *why;
			if (der_walk(content.data, content.len, &long_at, &bad_at, &why) == 0 &&
			    long_at != (size_t)-1 &&
			    ctx_deviation(c, "%s: non-minimal length in SEQUENCE{r,s}", label))
				goto out;
			out->value = content;
			rc = 0;
			goto out;
		}
		out->nonminimal = 1;
		if (ctx_deviation(
			c, "%s: INTEGER r or s in SEQUENCE{r,s} is not minimal or is negative",
			label))
			goto out;
		rc = sigvalue_rebuild(c, part, out);
		goto out;
	}
	if (content.len == 64) {
		out->raw_rs = 1;
		if (ctx_deviation(c, "%s is a raw 64-octet r||s, not DER SEQUENCE{r,s}", label))
			goto out;
		part[0].data = content.data;
		part[0].len = 32;
		part[1].data = content.data + 32;
		part[1].len = 32;
		rc = sigvalue_rebuild(c, part, out);
		goto out;
	}
	rc = ctx_deviation(c, "%s is neither DER SEQUENCE{r,s} nor a 64-octet r||s (%zu octets)",
			   label, content.len);
out:
	if (node)
		asn1_delete_structure(&node);
	return rc;
}

sealkit_status sealkit_sig_from_raw(const unsigned char *rs, size_t len, unsigned char **der,
				    size_t *der_len, sealkit_error *err)
{
	if (!rs || !der || !der_len || len == 0 || len % 2)
		return sealkit_fail(
		    err, SEALKIT_ERR_ARGS,
		    "signature: a raw r||s needs an even, non-zero length (got %zu)", len);
	return sig_der_from_parts(rs, len / 2, rs + len / 2, len / 2, der, der_len, err);
}

int cert_looks_valid(const unsigned char *der, size_t len, char *why, size_t whylen)
{
	asn1_node node = NULL;
	int ok =
	    decode_try(MOD_X509, "X509.Certificate", der, len, &node, why, whylen) == ASN1_SUCCESS;
	if (node)
		asn1_delete_structure(&node);
	return ok;
}

/* ---------------------------------------------------------------- encoding */

asn1_node encode_start(enum asn1_module m, const char *type, sealkit_error *err)
{
	const char *why = NULL;
	asn1_node_const defs_m = asn1_definitions(m, &why);
	asn1_node n = NULL;
	int rc;

	if (!defs_m) {
		sealkit_fail(err, SEALKIT_ERR_UNSUPPORTED, "ASN.1 definitions did not load: %s",
			     why);
		return NULL;
	}
	rc = asn1_create_element(defs_m, type, &n);
	if (rc != ASN1_SUCCESS) {
		sealkit_fail(err,
			     rc == ASN1_MEM_ALLOC_ERROR ? SEALKIT_ERR_MEMORY : SEALKIT_ERR_ARGS,
			     "%s: %s", type, asn1_strerror(rc));
		return NULL;
	}
	return n;
}

sealkit_status encode_write(asn1_node n, const char *name, const void *value, int len,
			    sealkit_error *err)
{
	int rc = asn1_write_value(n, name, value, len);
	if (rc == ASN1_SUCCESS)
		return SEALKIT_OK;
	return sealkit_fail(err, rc == ASN1_MEM_ALLOC_ERROR ? SEALKIT_ERR_MEMORY : SEALKIT_ERR_ARGS,
			    "cannot write %s: %s", name, asn1_strerror(rc));
}

sealkit_status encode_long(asn1_node n, const char *name, long v, sealkit_error *err)
{
	char buf[32];
	snprintf(buf, sizeof buf, "%ld", v);
	return encode_write(n, name, buf, 0, err);
}

sealkit_status encode_time(asn1_node n, const char *name, time_t t, sealkit_error *err)
{
	char buf[16], full[96];
	sealkit_status st;

	if (time_format_generalized(t, buf))
		return sealkit_fail(err, SEALKIT_ERR_ARGS, "%s: time %lld is outside years 0-9999",
				    name, (long long)t);
	snprintf(full, sizeof full, "%s.generalTime", name);
	if ((st = encode_write(n, name, "generalTime", 1, err)) != SEALKIT_OK)
		return st;
	return encode_write(n, full, buf, 1, err);
}

static int oid_valid(const char *s)
{
	int arcs = 0;

	if (!s || !*s)
		return 0;
	while (*s) {
		const char *start = s;
		while (*s >= '0' && *s <= '9')
			s++;
		if (s == start || s - start > 19 || (s - start > 1 && *start == '0'))
			return 0;
		if (arcs == 0 && (s - start != 1 || *start > '2'))
			return 0;
		arcs++;
		if (*s == '.' && s[1])
			s++;
		else if (*s)
			return 0;
	}
	return arcs >= 2;
}

int encode_oid_ok(const char *oid)
{
	return oid_valid(oid);
}

sealkit_status encode_extensions(asn1_node n, const char *name, const sealkit_ext *ext,
				 size_t n_ext, sealkit_error *err)
{
	char f[128];
	sealkit_status st = SEALKIT_OK;

	if (n_ext == 0)
		return encode_write(n, name, NULL, 0, err);
	if (!ext)
		return sealkit_fail(err, SEALKIT_ERR_ARGS, "%s: %zu entries but no array", name,
				    n_ext);
	for (size_t i = 0; i < n_ext; i++) {
		if (!oid_valid(ext[i].oid))
			return sealkit_fail(err, SEALKIT_ERR_ARGS,
					    "%s[%zu]: '%s' is not a dotted OID", name, i,
					    ext[i].oid ? ext[i].oid : "(null)");
		if (ext[i].value.len > INT_MAX || (!ext[i].value.data && ext[i].value.len))
			return sealkit_fail(err, SEALKIT_ERR_ARGS, "%s[%zu]: bad value", name, i);
		if ((st = encode_write(n, name, "NEW", 1, err)) != SEALKIT_OK)
			return st;
		snprintf(f, sizeof f, "%s.?LAST.extnID", name);
		if ((st = encode_write(n, f, ext[i].oid, 1, err)) != SEALKIT_OK)
			return st;
		/* Written even when FALSE, as every producer does (spec 9.1). */
		snprintf(f, sizeof f, "%s.?LAST.critical", name);
		if ((st = encode_write(n, f, ext[i].critical ? "TRUE" : "FALSE", 1, err)) !=
		    SEALKIT_OK)
			return st;
		snprintf(f, sizeof f, "%s.?LAST.extnValue", name);
		/* libtasn1 takes len 0 as "no value"; an empty OCTET STRING needs a pointer. */
		if ((st =
			 encode_write(n, f, ext[i].value.len ? (const void *)ext[i].value.data : "",
				      (int)ext[i].value.len, err)) != SEALKIT_OK)
			return st;
	}
	return st;
}

sealkit_status encode_finish(asn1_node *n, const char *what, unsigned char **der, size_t *len,
			     sealkit_error *err)
{
	char desc[ASN1_MAX_ERROR_DESCRIPTION_SIZE] = "";
	unsigned char *buf = NULL;
	int ilen = 0, rc;
	sealkit_status st = SEALKIT_OK;

	*der = NULL;
	*len = 0;
	rc = asn1_der_coding(*n, "", NULL, &ilen, desc);
	if (rc != ASN1_MEM_ERROR) {
		st = sealkit_fail(err, SEALKIT_ERR_ARGS, "%s: cannot encode: %s %s", what,
				  asn1_strerror(rc), desc);
		goto out;
	}
	if (!(buf = malloc((size_t)ilen))) {
		st = sealkit_fail(err, SEALKIT_ERR_MEMORY, "%s: out of memory", what);
		goto out;
	}
	rc = asn1_der_coding(*n, "", buf, &ilen, desc);
	if (rc != ASN1_SUCCESS) {
		free(buf);
		st = sealkit_fail(err, SEALKIT_ERR_ARGS, "%s: cannot encode: %s %s", what,
				  asn1_strerror(rc), desc);
		goto out;
	}
	*der = buf;
	*len = (size_t)ilen;
out:
	asn1_delete_structure(n);
	return st;
}

void sealkit_free(void *p)
{
	free(p);
}
