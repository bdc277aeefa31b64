/* libsealkit: electronic seals (SESeal, 电子印章) and seal signatures
 * (SES_Signature, 电子签章数据; "stamps" below) of GB/T 38540-2020 ("V4")
 * and GM/T 0031-2014 ("V1"): parsing and building. No cryptography here:
 * the parsed structures give a verifier the exact signed bytes, and building
 * is split in two so that signing happens outside (on a PKCS#11 token).
 *
 * The byte-level reference is shared/spec/seal-format.md.
 *
 * Parsing copies the input once; every sealkit_bytes in a parsed structure
 * points into that copy (or, where noted, into a buffer built from slices of
 * it) and lives until the structure is freed. Nothing is ever re-encoded. */
#ifndef SEALKIT_SEAL_H
#define SEALKIT_SEAL_H

#include <stddef.h>
#include <time.h>

#include <sealkit/status.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SEALKIT_OID_SM2_SM3        "1.2.156.10197.1.501" /* SM2-with-SM3 */
#define SEALKIT_OID_SM3            "1.2.156.10197.1.401"
#define SEALKIT_OID_GM_SIGNED_DATA "1.2.156.10197.6.1.4.2.2" /* mislabels easyofd stamps */

typedef struct sealkit_bytes {
	const unsigned char *data;
	size_t len;
} sealkit_bytes;

typedef enum sealkit_format {
	SEALKIT_FORMAT_V1 = 1,    /* GM/T 0031-2014 layout, header version 1 */
	SEALKIT_FORMAT_V1_HYBRID, /* V1 layout with header version 4 (Suwell/JHSEC) */
	SEALKIT_FORMAT_V4,        /* GB/T 38540-2020 */
	SEALKIT_FORMAT_V5,        /* V4 layout with header version 5 (ofdrw "GM/T 0031-2025") */
} sealkit_format;

/* Whether the V1 structures apply (what is signed, where the signer cert is). */
#define SEALKIT_FORMAT_IS_V1(f) ((f) == SEALKIT_FORMAT_V1 || (f) == SEALKIT_FORMAT_V1_HYBRID)

/* "V1", "V1-hybrid", "V4", "V5". */
const char *sealkit_format_name(sealkit_format f);

/* Parse flags. By default vendor deviations from strict DER and from the
 * layout (raw r||s signatures, non-minimal INTEGERs or lengths, BIT STRINGs
 * with unused bits, the wrong time type, IMPLICIT [0] tags, V5's extra seal
 * element, ...) are accepted and each reported as a warning. STRICT turns
 * each of them into SEALKIT_ERR_FORMAT. Notices (a V5 or hybrid header, a
 * header id other than "ES") are warnings in both modes. */
#define SEALKIT_PARSE_STRICT 0x1u

typedef struct sealkit_time {
	int has_time;      /* t is valid */
	time_t t;          /* seconds since the epoch, UTC */
	int zone_known;    /* 0: the text named no zone (V1 text times are local
			    * time by convention); t reads it as UTC */
	unsigned char tag; /* where it came from: 0x17 UTCTime, 0x18 GeneralizedTime,
			    * 0x03 BIT STRING or 0x04 OCTET STRING (V1 timeInfo) */
	const char *text;  /* the original characters ("" when not text) */
	sealkit_bytes raw; /* the original content octets */
} sealkit_time;

/* A signature value as found in a BIT STRING. */
typedef struct sealkit_sigvalue {
	sealkit_bytes value;  /* DER SEQUENCE{r, s} with minimal INTEGERs; the raw
			       * bytes when they already are, else rebuilt; empty
			       * when the value could not be understood */
	sealkit_bytes raw;    /* the BIT STRING content as in the file */
	unsigned unused_bits; /* the BIT STRING's unused-bits octet (0 from a good producer) */
	int raw_rs;           /* the file held 64-byte r||s, not DER */
	int nonminimal;       /* the file's DER had non-minimal or negative INTEGERs */
} sealkit_sigvalue;

typedef struct sealkit_ext {
	const char *oid; /* dotted */
	int critical;
	sealkit_bytes value; /* extnValue content */
} sealkit_ext;

typedef struct sealkit_cert_digest {
	const char *type;    /* free text naming the algorithm; "sm3" when we write it */
	sealkit_bytes value; /* digest of the signer certificate DER */
} sealkit_cert_digest;

#define SEALKIT_CERT_LIST_CERTS   1
#define SEALKIT_CERT_LIST_DIGESTS 2

typedef struct sealkit_seal {
	sealkit_format format;
	sealkit_bytes der; /* the whole seal */

	struct {
		const char *id; /* "ES" */
		long version;
		const char *vid;
	} header;
	const char *es_id;
	struct {
		long type;
		const char *name;     /* UTF-8 */
		long cert_list_type;  /* V4: as encoded; V1: SEALKIT_CERT_LIST_CERTS */
		sealkit_bytes *certs; /* DER certificates (certs list) */
		size_t n_certs;
		sealkit_cert_digest *digests; /* certDigestList */
		size_t n_digests;
		size_t n_bad_entries; /* entries that were no certificate (dropped) */
		sealkit_time create_date, valid_start, valid_end;
	} property;
	struct {
		const char *type; /* "PNG", "GIF", "ofd", ... */
		sealkit_bytes data;
		long width, height; /* millimetres */
	} picture;
	sealkit_ext *ext; /* SES_SealInfo.extDatas */
	size_t n_ext;

	sealkit_bytes seal_info;  /* the SES_SealInfo TLV */
	sealkit_bytes maker_cert; /* DER certificate of the seal maker */
	const char *sig_alg;      /* dotted OID */
	sealkit_sigvalue sig;

	/* Exactly the bytes the maker signed (spec 3.1):
	 *   V4, V5: the SES_SealInfo TLV, i.e. the same bytes as seal_info;
	 *   V1:     DER SEQUENCE { SES_SealInfo, cert, signatureAlgorithm }: a
	 *           new SEQUENCE header (minimal length) followed by the original
	 *           SES_SealInfo TLV and the original cert and algorithm TLVs of
	 *           SES_SignInfo, which are adjacent in the file. */
	sealkit_bytes tbs;

	int has_timestamp;       /* V5's fifth element */
	sealkit_bytes timestamp; /* its BIT STRING content */

	void *priv; /* library use */
} sealkit_seal;

typedef struct sealkit_stamp {
	sealkit_format format; /* V4/V5: by the embedded seal's header; V1 or hybrid */
	sealkit_bytes der;     /* the whole SES_Signature */

	long version;            /* TBS_Sign.version */
	sealkit_bytes seal_der;  /* TBS_Sign.eseal, byte for byte */
	sealkit_seal *seal;      /* seal_der parsed; owned by the stamp */
	sealkit_time time_info;  /* V4: GeneralizedTime; V1: BIT STRING text or token */
	sealkit_bytes data_hash; /* BIT STRING content */
	unsigned data_hash_unused_bits;
	const char *property_info;
	sealkit_ext *ext; /* TBS_Sign.extDatas (V4) */
	size_t n_ext;

	sealkit_bytes signer_cert; /* V4: SES_Signature.cert; V1: TBS_Sign.cert */
	const char *sig_alg;       /* dotted OID */
	sealkit_sigvalue sig;

	/* Exactly the bytes the signer signed (spec 3.2): the TBS_Sign TLV. */
	sealkit_bytes tbs;

	int has_timestamp;       /* V4 [0] timeStamp */
	sealkit_bytes timestamp; /* its BIT STRING content (a TimeStampToken) */

	void *priv; /* library use */
} sealkit_stamp;

/* Parses a seal (V4, V5, V1 or the hybrid). On success *out is set and must be
 * freed with sealkit_seal_free. Warnings are appended to warnings (may be
 * NULL), also those found before a failure. Malformed input gives
 * SEALKIT_ERR_FORMAT with a message naming the element. */
sealkit_status sealkit_seal_parse(const void *der, size_t len, unsigned flags, sealkit_seal **out,
				  sealkit_warnings *warnings, sealkit_error *err);
void sealkit_seal_free(sealkit_seal *seal);

/* Parses a stamp and the seal inside it (warnings about the seal start
 * with "stamp: seal: "). */
sealkit_status sealkit_stamp_parse(const void *der, size_t len, unsigned flags, sealkit_stamp **out,
				   sealkit_warnings *warnings, sealkit_error *err);
void sealkit_stamp_free(sealkit_stamp *stamp);

/* ---- building V4 (strict DER, spec section 9) ----
 *
 * Two phases, signing in between:
 *   1. encode the part to be signed: sealkit_seal_encode_info / sealkit_stamp_encode_tbs;
 *   2. sign those exact bytes (SM2-with-SM3, ID 1234567812345678);
 *   3. sealkit_seal_assemble / sealkit_stamp_assemble, which embed them unchanged.
 * Every output buffer is malloc'ed; free it with free() or sealkit_free(). */

typedef struct sealkit_seal_fields {
	const char *vid;            /* header vendor id (ASCII); header id "ES", version 4 */
	const char *es_id;          /* seal identifier (ASCII) */
	long type;                  /* seal kind */
	const char *name;           /* UTF-8 */
	long cert_list_type;        /* SEALKIT_CERT_LIST_CERTS or _DIGESTS */
	const sealkit_bytes *certs; /* for CERTS: DER certificates */
	size_t n_certs;
	const sealkit_cert_digest *digests; /* for DIGESTS: type (PrintableString) + value */
	size_t n_digests;
	time_t create_date, valid_start, valid_end; /* written as GeneralizedTime, UTC */
	const char *picture_type;                   /* ASCII: "PNG", "GIF", "ofd", ... */
	sealkit_bytes picture;
	long width, height;     /* millimetres */
	const sealkit_ext *ext; /* optional extension data (n_ext 0: none) */
	size_t n_ext;
} sealkit_seal_fields;

/* DER SES_SealInfo: the bytes the seal maker signs. */
sealkit_status sealkit_seal_encode_info(const sealkit_seal_fields *f, unsigned char **der,
					size_t *len, sealkit_error *err);

/* DER SESeal from the exact seal_info bytes, the maker certificate, the
 * signature algorithm (dotted OID) and the signature value, which must be
 * DER SEQUENCE{r,s} (see sealkit_sig_from_raw). */
sealkit_status sealkit_seal_assemble(sealkit_bytes seal_info, sealkit_bytes maker_cert,
				     const char *sig_alg, sealkit_bytes sig_value,
				     unsigned char **der, size_t *len, sealkit_error *err);

typedef struct sealkit_stamp_fields {
	sealkit_bytes seal;        /* a complete V4 SESeal, embedded byte for byte */
	time_t time_info;          /* signing time, written as GeneralizedTime UTC */
	sealkit_bytes data_hash;   /* e.g. SM3 of the document: 32 bytes */
	const char *property_info; /* ASCII; in OFD the path of Signature.xml */
	const sealkit_ext *ext;    /* optional, written [0] EXPLICIT */
	size_t n_ext;
} sealkit_stamp_fields;

/* DER TBS_Sign (version = the seal's header version, 4): the bytes the signer signs. */
sealkit_status sealkit_stamp_encode_tbs(const sealkit_stamp_fields *f, unsigned char **der,
					size_t *len, sealkit_error *err);

/* DER SES_Signature from the exact tbs bytes, the signer certificate, the
 * algorithm, the DER signature value and an optional time-stamp token
 * (NULL: none; else written as [0] EXPLICIT BIT STRING). */
sealkit_status sealkit_stamp_assemble(sealkit_bytes tbs, sealkit_bytes signer_cert,
				      const char *sig_alg, sealkit_bytes sig_value,
				      const sealkit_bytes *timestamp, unsigned char **der,
				      size_t *len, sealkit_error *err);

/* DER SEQUENCE{r,s} from a raw r||s (even length, e.g. 64 for SM2). */
sealkit_status sealkit_sig_from_raw(const unsigned char *rs, size_t len, unsigned char **der,
				    size_t *der_len, sealkit_error *err);

void sealkit_free(void *p);

#ifdef __cplusplus
}
#endif

#endif
