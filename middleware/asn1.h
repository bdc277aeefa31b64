/* The ASN.1 layer under seal.c and stamp.c (private to libsealkit).
 *
 * libtasn1 decodes and encodes against our modules in asn1/ (compiled
 * into asn1_tables.c at build time). Around it sit a small DER reader, used
 * to detect the layout and to check what libtasn1 lets through (non-minimal
 * lengths and INTEGERs, BIT STRING padding), and the field readers that turn
 * a decoded node into values and slices of the input. */
#ifndef SEALKIT_ASN1_H
#define SEALKIT_ASN1_H

#include <stdarg.h>
#include <stddef.h>
#include <time.h>

#include <libtasn1.h>

#include "sealkit/seal.h"

/* The generated tables (asn1_tables.c), one per module. */
extern const asn1_static_node gbt38540_asn1_tab[];
extern const asn1_static_node gmt0031_asn1_tab[];
extern const asn1_static_node x509_asn1_tab[];

enum asn1_module { MOD_V4, MOD_V1, MOD_X509 };

/* Universal tags as they appear in the identifier octet. */
enum {
	TAG_BOOLEAN = 0x01,
	TAG_INTEGER = 0x02,
	TAG_BIT_STRING = 0x03,
	TAG_OCTET_STRING = 0x04,
	TAG_OID = 0x06,
	TAG_UTF8_STRING = 0x0c,
	TAG_PRINTABLE_STRING = 0x13,
	TAG_IA5_STRING = 0x16,
	TAG_UTC_TIME = 0x17,
	TAG_GENERALIZED_TIME = 0x18,
	TAG_SEQUENCE = 0x30,
	TAG_CONTEXT_0 = 0x80,
	TAG_CONTEXT_0_CONS = 0xa0,
};

/* ---- arena: every allocation of a parsed seal or stamp, freed at once ---- */

struct arena {
	struct arena_block *head;
};

void *arena_alloc(struct arena *a, size_t n);
void *arena_memdup(struct arena *a, const void *p, size_t n);
void arena_free(struct arena *a);

/* ---- DER reading ---- */

struct der_tlv {
	unsigned char tag; /* identifier octet (low tag numbers only) */
	size_t off;        /* offset of the identifier octet */
	size_t hdr;        /* identifier and length octets */
	size_t len;        /* content length */
	int long_len;      /* the length is not in its shortest form */
};

/* Reads the TLV at buf[off] that must end within buflen. Returns 0, or -1
 * with a reason in why. */
int der_read(const unsigned char *buf, size_t buflen, size_t off, struct der_tlv *t,
	     const char **why);

/* The children of a constructed TLV (at most max; *n says how many). */
int der_children(const unsigned char *buf, const struct der_tlv *parent, struct der_tlv *kids,
		 size_t max, size_t *n, const char **why);

/* Walks every constructed element of buf[0..len) and checks that the lengths
 * nest exactly. Returns 0 (with the offset of the first non-minimal length in
 * *long_len_at, or (size_t)-1), or -1 with the reason in why and its offset in bad_at. */
int der_walk(const unsigned char *buf, size_t len, size_t *long_len_at, size_t *bad_at,
	     const char **why);

/* The tag of the first element inside a constructed TLV, or 0. */
unsigned char der_first_child_tag(sealkit_bytes tlv);

/* Appends a DER length / a whole TLV header to out (which has room for 6). */
size_t der_put_header(unsigned char *out, unsigned char tag, size_t len);

/* ---- parse context: strictness, warnings and the error message ---- */

struct parse_ctx {
	unsigned flags;             /* SEALKIT_PARSE_* */
	sealkit_warnings *warnings; /* may be NULL */
	sealkit_error *err;         /* may be NULL */
	const char *what;           /* message prefix: "seal", "stamp", "stamp: seal" */
	struct arena *arena;
	sealkit_status status; /* of the first failure */
};

/* A malformed input: records the error, returns -1. */
int ctx_fail(struct parse_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A deviation from strict DER or from the layout that real vendors commit:
 * a warning, or in strict mode an error. Returns 0 to go on, -1 to stop. */
int ctx_deviation(struct parse_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Worth knowing, never an error (V5, the hybrid, a header id other than ES). */
void ctx_notice(struct parse_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- decoding with libtasn1 ---- */

asn1_node_const asn1_definitions(enum asn1_module m, const char **why);

/* A buffer decoded against one type; der points into the parsed copy, so
 * every slice read from it is a slice of the original input. */
struct decoded {
	asn1_node node;
	const unsigned char *der;
	size_t len;
	const char *label; /* "SES_SealInfo": names the fields in messages */
};

/* Lists (certificates, extensions) longer than this are refused. */
#define SEAL_MAX_LIST 256

/* Decodes der[0..len) as type (strict DER framing: no indefinite lengths,
 * nothing after the value). */
int decode(struct parse_ctx *c, enum asn1_module m, const char *type, const unsigned char *der,
	   size_t len, const char *label, struct decoded *d);
void decoded_free(struct decoded *d);

/* Whether an OPTIONAL element was present. */
int has_element(const struct decoded *d, const char *name);

/* The TLV of a named element; offsets are into d->der. */
int element_tlv(struct parse_ctx *c, const struct decoded *d, const char *name, struct der_tlv *t);

/* Field readers. Messages name the field as "<label>.<name>". */
int read_tlv_bytes(struct parse_ctx *c, const struct decoded *d, const char *name,
		   sealkit_bytes *out);
int read_octets(struct parse_ctx *c, const struct decoded *d, const char *name, sealkit_bytes *out);
int read_long(struct parse_ctx *c, const struct decoded *d, const char *name, long *out);
int read_string(struct parse_ctx *c, const struct decoded *d, const char *name, const char **out);
int read_oid(struct parse_ctx *c, const struct decoded *d, const char *name, const char **out);
int read_bool(struct parse_ctx *c, const struct decoded *d, const char *name, int *out);
/* A BIT STRING's content after the unused-bits octet; a non-zero unused-bits
 * octet is a deviation. */
int read_bits(struct parse_ctx *c, const struct decoded *d, const char *name, sealkit_bytes *out,
	      unsigned *unused);
/* A SealTime CHOICE; want is the tag this version should use. */
int read_seal_time(struct parse_ctx *c, const struct decoded *d, const char *name,
		   unsigned char want, sealkit_time *out);
/* ExtData entries: the children of list (a SEQUENCE OF, or an IMPLICIT [0]). */
int read_ext_list(struct parse_ctx *c, const unsigned char *base, const struct der_tlv *list,
		  const char *label, sealkit_ext **out, size_t *n);

/* The BIT STRING content of an already located TLV (for ANY fields). */
int bits_of_tlv(struct parse_ctx *c, const unsigned char *tlv, const struct der_tlv *t,
		const char *label, sealkit_bytes *out, unsigned *unused);

/* ---- values ---- */

/* Parses the text of a UTCTime/GeneralizedTime (tag) or a free text time
 * (tag 0: V1 timeInfo). Returns 0 when out->has_time was set; canonical
 * tells whether the text is exactly YYMMDDHHMMSSZ / YYYYMMDDHHMMSSZ. */
int time_parse(unsigned char tag, const unsigned char *text, size_t len, sealkit_time *out,
	       int *canonical);
/* YYYYMMDDHHMMSSZ for t (buf has 16 bytes); -1 when t is out of range. */
int time_format_generalized(time_t t, char *buf);

/* Normalises a signature value (BIT STRING content) to DER SEQUENCE{r,s}. */
int sigvalue_read(struct parse_ctx *c, const char *label, sealkit_bytes content, unsigned unused,
		  sealkit_sigvalue *out);
/* DER SEQUENCE{r,s} from two unsigned big-endian integers (malloc'ed). */
sealkit_status sig_der_from_parts(const unsigned char *r, size_t rlen, const unsigned char *s,
				  size_t slen, unsigned char **der, size_t *der_len,
				  sealkit_error *err);
/* Whether der is exactly one strict DER SEQUENCE{r,s} with positive minimal INTEGERs. */
int sig_is_strict_der(const unsigned char *der, size_t len);

/* Whether a certificate has the outline of an X.509 certificate. */
int cert_looks_valid(const unsigned char *der, size_t len, char *why, size_t whylen);

/* ---- encoding ---- */

/* Creates an empty structure of type; NULL and err set on failure. */
asn1_node encode_start(enum asn1_module m, const char *type, sealkit_error *err);
/* asn1_write_value with a message naming the field on failure. */
sealkit_status encode_write(asn1_node n, const char *name, const void *value, int len,
			    sealkit_error *err);
sealkit_status encode_long(asn1_node n, const char *name, long v, sealkit_error *err);
sealkit_status encode_time(asn1_node n, const char *name, time_t t, sealkit_error *err);
sealkit_status encode_extensions(asn1_node n, const char *name, const sealkit_ext *ext,
				 size_t n_ext, sealkit_error *err);
/* DER of the whole structure (malloc'ed); deletes n. */
sealkit_status encode_finish(asn1_node *n, const char *what, unsigned char **der, size_t *len,
			     sealkit_error *err);

/* Whether s is a dotted OID we can write. */
int encode_oid_ok(const char *oid);

int is_ia5(const char *s);
int is_printable(const char *s);
int is_utf8(const unsigned char *s, size_t len);

/* ---- shared by seal.c and stamp.c ---- */

/* Parses a seal from der (which the caller's arena keeps alive: the seal's
 * slices point into it). walked: der_walk already ran over these bytes. */
int seal_parse_into(struct parse_ctx *c, const unsigned char *der, size_t len, int walked,
		    sealkit_seal *seal);

#endif
