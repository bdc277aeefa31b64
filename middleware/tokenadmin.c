/* Token administration over plain PKCS#11: list slots, initialise a token,
 * generate key pairs, store certificates, list objects. What `sealkit
 * token` does; signing stays in signer.c. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "p11.h"
#include "pkcs11x.h"
#include "sealkit/token.h"

/* RFC 3986 percent-encoding of one URI path attribute value. */
static void uri_escape(const char *in, char *out, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)in; *p && o + 4 < size; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p)) {
			out[o++] = (char)*p;
		} else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	out[o] = '\0';
}

sealkit_status sealkit_slots_list(sealkit_module *m, sealkit_slot_entry **out, size_t *n,
				  sealkit_error *err)
{
	CK_ULONG ns = 0;
	CK_SLOT_ID *slots = NULL;
	CK_RV rv;

	*out = NULL;
	*n = 0;
	rv = P11(m, C_GetSlotList, CK_FALSE, NULL, &ns);
	if (rv == CKR_OK) {
		slots = calloc(ns ? ns : 1, sizeof *slots);
		if (!slots)
			return sealkit_fail(err, SEALKIT_ERR_MEMORY, "out of memory");
		rv = P11(m, C_GetSlotList, CK_FALSE, slots, &ns);
	}
	if (rv != CKR_OK) {
		free(slots);
		return sealkit_fail(err, SEALKIT_ERR_MODULE,
				    "module '%s': C_GetSlotList failed: %s", m->name,
				    p11_rv_name(rv));
	}
	sealkit_slot_entry *list = calloc(ns ? ns : 1, sizeof *list);
	if (!list) {
		free(slots);
		return sealkit_fail(err, SEALKIT_ERR_MEMORY, "out of memory");
	}
	for (CK_ULONG i = 0; i < ns; i++) {
		CK_SLOT_INFO si;
		CK_TOKEN_INFO ti;
		sealkit_slot_entry *e = &list[*n];
		if (P11(m, C_GetSlotInfo, slots[i], &si) != CKR_OK)
			continue;
		e->slot = slots[i];
		p11_text(e->description, si.slotDescription, 64);
		e->token_present = (si.flags & CKF_TOKEN_PRESENT) != 0;
		if (e->token_present && P11(m, C_GetTokenInfo, slots[i], &ti) == CKR_OK) {
			e->initialized = (ti.flags & CKF_TOKEN_INITIALIZED) != 0;
			e->flags = ti.flags;
			p11_text(e->label, ti.label, 32);
			p11_text(e->manufacturer, ti.manufacturerID, 32);
			p11_text(e->model, ti.model, 16);
			p11_text(e->serial, ti.serialNumber, 16);
		}
		(*n)++;
	}
	free(slots);
	*out = list;
	return SEALKIT_OK;
}

sealkit_status sealkit_token_init(sealkit_module *m, const char *label, const char *so_pin,
				  const char *user_pin, unsigned long *slot, sealkit_error *err)
{
	sealkit_slot_entry *list = NULL;
	size_t n = 0;
	sealkit_status st;
	CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
	CK_UTF8CHAR padded[32];
	CK_RV rv;

	if (!label || !*label || strlen(label) > 32)
		return sealkit_fail(err, SEALKIT_ERR_ARGS,
				    "a token label has 1 to 32 bytes ('%s' does not)",
				    label ? label : "");
	if ((st = sealkit_slots_list(m, &list, &n, err)) != SEALKIT_OK)
		return st;
	size_t i;
	for (i = 0; i < n; i++)
		if (list[i].initialized && !strcmp(list[i].label, label)) {
			free(list);
			return sealkit_fail(err, SEALKIT_ERR_ARGS,
					    "a token labelled '%s' exists already (slot %lu); "
					    "choose another label",
					    label, list[i].slot);
		}
	for (i = 0; i < n; i++)
		if (list[i].token_present && !list[i].initialized)
			break;
	if (i == n) {
		free(list);
		return sealkit_fail(err, SEALKIT_ERR_NOT_FOUND,
				    "module '%s' has no slot with an uninitialised token; "
				    "`sealkit token list` shows the slots",
				    m->name);
	}
	CK_SLOT_ID id = list[i].slot;
	free(list);
	memset(padded, ' ', sizeof padded);
	memcpy(padded, label, strlen(label));
	rv = P11(m, C_InitToken, id, (CK_UTF8CHAR_PTR)so_pin, (CK_ULONG)strlen(so_pin), padded);
	if (rv != CKR_OK)
		return sealkit_fail(
		    err, rv == CKR_PIN_LEN_RANGE ? SEALKIT_ERR_PIN : SEALKIT_ERR_MODULE,
		    "initialising slot %lu failed: %s%s", (unsigned long)id, p11_rv_name(rv),
		    rv == CKR_PIN_LEN_RANGE ? " (the SO PIN is too short or long)" : "");
	rv = P11(m, C_OpenSession, id, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h);
	if (rv == CKR_OK)
		rv = P11(m, C_Login, h, CKU_SO, (CK_UTF8CHAR_PTR)so_pin, (CK_ULONG)strlen(so_pin));
	if (rv == CKR_OK) {
		rv = P11(m, C_InitPIN, h, (CK_UTF8CHAR_PTR)user_pin, (CK_ULONG)strlen(user_pin));
		P11(m, C_Logout, h);
	}
	if (h != CK_INVALID_HANDLE)
		P11(m, C_CloseSession, h);
	if (rv != CKR_OK)
		return sealkit_fail(
		    err, rv == CKR_PIN_LEN_RANGE ? SEALKIT_ERR_PIN : SEALKIT_ERR_MODULE,
		    "token '%s' was initialised but setting its user PIN failed: "
		    "%s%s",
		    label, p11_rv_name(rv),
		    rv == CKR_PIN_LEN_RANGE ? " (the PIN is too short or long)" : "");
	if (slot)
		*slot = id;
	return SEALKIT_OK;
}

/* A read-write session on the token labelled `label`, logged in when opts
 * give a PIN (or always, when need_login). */
static sealkit_status open_token(sealkit_module *m, const char *label,
				 const sealkit_token_options *opts, bool need_login, p11_token *tok,
				 CK_SESSION_HANDLE *h, bool *logged_in, sealkit_error *err)
{
	char enc[200], text[240];
	P11KitUri *uri = NULL;
	p11_pin_source src;
	p11_secret kept = {0};
	sealkit_status st;
	CK_RV rv;

	*h = CK_INVALID_HANDLE;
	*logged_in = false;
	uri_escape(label, enc, sizeof enc);
	snprintf(text, sizeof text, "pkcs11:token=%s", enc);
	if ((st = p11_uri_parse(text, &uri, err)) != SEALKIT_OK)
		return st;
	st = p11_choose_token(m, uri, text, tok, err);
	if (st == SEALKIT_OK) {
		rv = P11(m, C_OpenSession, tok->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL,
			 NULL, h);
		if (rv != CKR_OK)
			st = sealkit_fail(err, SEALKIT_ERR_MODULE,
					  "cannot open a session on token '%s': %s", tok->label,
					  p11_rv_name(rv));
	}
	p11_pin_source_init(&src, uri, opts);
	bool have_pin = src.uri_value || src.uri_source || src.pin || src.callback;
	if (st == SEALKIT_OK && (need_login || have_pin)) {
		st = p11_login(m, *h, tok, &src, &kept, err);
		*logged_in = st == SEALKIT_OK;
	}
	p11_secret_clear(&kept);
	p11_kit_uri_free(uri);
	if (st != SEALKIT_OK && *h != CK_INVALID_HANDLE) {
		P11(m, C_CloseSession, *h);
		*h = CK_INVALID_HANDLE;
	}
	return st;
}

static void sha1(const void *data, size_t len, unsigned char out[20])
{
	unsigned int n = 20;
	EVP_Digest(data, len, out, &n, EVP_sha1(), NULL);
}

/* The point inside a DER OCTET STRING CKA_EC_POINT (or the value itself). */
static void ec_point_inner(const unsigned char *v, size_t len, const unsigned char **p, size_t *n)
{
	*p = v;
	*n = len;
	if (len > 2 && v[0] == 0x04) {
		size_t hl = 2, l = v[1];
		if (v[1] == 0x81 && len > 3) {
			hl = 3;
			l = v[2];
		}
		if (hl + l == len) {
			*p = v + hl;
			*n = l;
		}
	}
}

sealkit_status sealkit_token_keygen(sealkit_module *m, const char *token, const char *label,
				    const char *type, const unsigned char *id, size_t id_len,
				    const sealkit_token_options *opts, char **uri,
				    sealkit_error *err)
{
	static const CK_BYTE sm2_oid[] = SK_SM2_OID_DER;
	static const CK_BYTE p256_oid[] = "\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07";
	static const CK_BYTE p384_oid[] = "\x06\x05\x2b\x81\x04\x00\x22";
	static const CK_BYTE rsa_e[] = {1, 0, 1};
	CK_BBOOL t = CK_TRUE;
	CK_ULONG bits = 0;
	CK_MECHANISM mech = {0, NULL, 0};
	const CK_BYTE *params = NULL;
	size_t params_len = 0;
	unsigned char tmp_id[16];
	p11_token tok;
	CK_SESSION_HANDLE h;
	CK_OBJECT_HANDLE pub = CK_INVALID_HANDLE, priv = CK_INVALID_HANDLE;
	bool logged_in;
	sealkit_status st;
	CK_RV rv;

	*uri = NULL;
	if (!type || !strcmp(type, "sm2")) {
		mech.mechanism = CKM_SM2_KEY_PAIR_GEN;
		params = sm2_oid;
		params_len = sizeof sm2_oid - 1;
	} else if (!strcmp(type, "ec-p256") || !strcmp(type, "ec-p384")) {
		mech.mechanism = CKM_EC_KEY_PAIR_GEN;
		params = type[5] == '2' ? p256_oid : p384_oid;
		params_len = type[5] == '2' ? sizeof p256_oid - 1 : sizeof p384_oid - 1;
	} else if (!strcmp(type, "rsa2048") || !strcmp(type, "rsa3072")) {
		mech.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
		bits = type[3] == '2' ? 2048 : 3072;
	} else {
		return sealkit_fail(err, SEALKIT_ERR_ARGS,
				    "unknown key type '%s'; use sm2, ec-p256, ec-p384, rsa2048 or "
				    "rsa3072",
				    type);
	}
	if (!id_len) {
		/* A unique placeholder until the public key is known. */
		EVP_Digest(label, strlen(label), tmp_id, NULL, EVP_md5(), NULL);
		id = tmp_id;
		id_len = sizeof tmp_id;
	}
	if ((st = open_token(m, token, opts, true, &tok, &h, &logged_in, err)) != SEALKIT_OK)
		return st;

	CK_MECHANISM_INFO mi;
	if (P11(m, C_GetMechanismInfo, tok.slot, mech.mechanism, &mi) != CKR_OK) {
		st = sealkit_fail(err, SEALKIT_ERR_UNSUPPORTED,
				  "token '%s' cannot generate %s keys (no such mechanism); %s",
				  tok.label, type ? type : "sm2",
				  mech.mechanism == CKM_SM2_KEY_PAIR_GEN
				      ? "use an SM2-capable token or --type ec-p256"
				      : "choose another --type");
		goto out;
	}
	CK_ATTRIBUTE pt[6] = {{CKA_TOKEN, &t, 1},
			      {CKA_LABEL, (void *)label, strlen(label)},
			      {CKA_ID, (void *)id, id_len},
			      {CKA_VERIFY, &t, 1}};
	CK_ULONG npt = 4;
	if (params)
		pt[npt++] = (CK_ATTRIBUTE){CKA_EC_PARAMS, (void *)params, params_len};
	else {
		pt[npt++] = (CK_ATTRIBUTE){CKA_MODULUS_BITS, &bits, sizeof bits};
		pt[npt++] = (CK_ATTRIBUTE){CKA_PUBLIC_EXPONENT, (void *)rsa_e, sizeof rsa_e};
	}
	CK_ATTRIBUTE kt[] = {{CKA_TOKEN, &t, 1},
			     {CKA_PRIVATE, &t, 1},
			     {CKA_SENSITIVE, &t, 1},
			     {CKA_SIGN, &t, 1},
			     {CKA_LABEL, (void *)label, strlen(label)},
			     {CKA_ID, (void *)id, id_len}};
	rv = P11(m, C_GenerateKeyPair, h, &mech, pt, npt, kt, 6, &pub, &priv);
	if (rv != CKR_OK) {
		st = sealkit_fail(err, SEALKIT_ERR_MODULE,
				  "generating a %s key on token '%s' failed: %s",
				  type ? type : "sm2", tok.label, p11_rv_name(rv));
		goto out;
	}
	if (id == tmp_id) {
		unsigned char *v = NULL, kid[20];
		size_t vlen = 0;
		st = p11_attr(m, h, pub, params ? CKA_EC_POINT : CKA_MODULUS, &v, &vlen, err);
		if (st == SEALKIT_OK && v) {
			const unsigned char *p;
			size_t n;
			ec_point_inner(v, vlen, &p, &n);
			sha1(p, n, kid);
			CK_ATTRIBUTE a = {CKA_ID, kid, sizeof kid};
			rv = P11(m, C_SetAttributeValue, h, pub, &a, 1);
			if (rv == CKR_OK)
				rv = P11(m, C_SetAttributeValue, h, priv, &a, 1);
			if (rv != CKR_OK)
				st = sealkit_fail(
				    err, SEALKIT_ERR_MODULE,
				    "the key was made but setting its CKA_ID failed: %s",
				    p11_rv_name(rv));
		}
		free(v);
		if (st != SEALKIT_OK)
			goto out;
	}
	char et[200], el[400], *buf = malloc(700);
	if (!buf) {
		st = sealkit_fail(err, SEALKIT_ERR_MEMORY, "out of memory");
		goto out;
	}
	uri_escape(tok.label, et, sizeof et);
	uri_escape(label, el, sizeof el);
	snprintf(buf, 700, "pkcs11:token=%s;object=%s;type=private", et, el);
	*uri = buf;
out:
	P11(m, C_CloseSession, h);
	return st;
}

sealkit_status sealkit_token_import_cert(sealkit_module *m, const char *token, const char *label,
					 const unsigned char *der, size_t der_len,
					 const unsigned char *id, size_t id_len,
					 const sealkit_token_options *opts, sealkit_error *err)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)der_len);
	unsigned char *subj = NULL, *found_id = NULL;
	int subj_len;
	p11_token tok;
	CK_SESSION_HANDLE h;
	bool logged_in;
	sealkit_status st;
	CK_RV rv;

	if (!x || p != der + der_len) {
		X509_free(x);
		return sealkit_fail(err, SEALKIT_ERR_FORMAT, "not an X.509 certificate");
	}
	subj_len = i2d_X509_NAME(X509_get_subject_name(x), &subj);
	if ((st = open_token(m, token, opts, true, &tok, &h, &logged_in, err)) != SEALKIT_OK)
		goto done;
	if (!id_len) {
		/* The private key whose public key (public key object) is the certificate's. */
		CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
		CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof cls}};
		CK_OBJECT_HANDLE objs[64];
		size_t count = 0;
		const ASN1_BIT_STRING *pk = X509_get0_pubkey_bitstr(x);
		if ((st = p11_find(m, h, tmpl, 1, objs, 64, &count, err)) != SEALKIT_OK)
			goto out;
		for (size_t i = 0; i < count && i < 64 && !found_id; i++) {
			unsigned char *v = NULL, *mod = NULL;
			size_t vlen = 0, mlen = 0;
			const unsigned char *q;
			size_t qn;
			bool match = false;
			if (p11_attr(m, h, objs[i], CKA_EC_POINT, &v, &vlen, NULL) == SEALKIT_OK &&
			    v) {
				ec_point_inner(v, vlen, &q, &qn);
				match = pk && (size_t)pk->length == qn && !memcmp(pk->data, q, qn);
			} else if (p11_attr(m, h, objs[i], CKA_MODULUS, &mod, &mlen, NULL) ==
				       SEALKIT_OK &&
				   mod) {
				const BIGNUM *n = NULL;
				EVP_PKEY *k = X509_get0_pubkey(x);
				BIGNUM *bn = NULL;
				if (k && EVP_PKEY_get_bn_param(k, "n", &bn) == 1) {
					n = bn;
					BIGNUM *t = BN_bin2bn(mod, (int)mlen, NULL);
					match = t && !BN_cmp(t, n);
					BN_free(t);
				}
				BN_free(bn);
			}
			if (match) {
				size_t il = 0;
				if (p11_attr(m, h, objs[i], CKA_ID, &found_id, &il, NULL) ==
					SEALKIT_OK &&
				    found_id) {
					id = found_id;
					id_len = il;
				}
			}
			free(v);
			free(mod);
		}
		if (!found_id) {
			st = sealkit_fail(
			    err, SEALKIT_ERR_NOT_FOUND,
			    "token '%s' holds no key pair for this certificate's public "
			    "key; generate one with `sealkit token keygen` or give --id",
			    tok.label);
			goto out;
		}
	}
	{
		CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
		CK_CERTIFICATE_TYPE ct = CKC_X_509;
		CK_BBOOL t = CK_TRUE, f = CK_FALSE;
		CK_OBJECT_HANDLE o;
		CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof cls},
				       {CKA_CERTIFICATE_TYPE, &ct, sizeof ct},
				       {CKA_TOKEN, &t, 1},
				       {CKA_PRIVATE, &f, 1},
				       {CKA_LABEL, (void *)label, strlen(label)},
				       {CKA_ID, (void *)id, id_len},
				       {CKA_SUBJECT, subj, subj_len > 0 ? (CK_ULONG)subj_len : 0},
				       {CKA_VALUE, (void *)der, der_len}};
		rv = P11(m, C_CreateObject, h, tmpl, sizeof tmpl / sizeof tmpl[0], &o);
		if (rv != CKR_OK)
			st = sealkit_fail(err, SEALKIT_ERR_MODULE,
					  "storing the certificate on token '%s' failed: %s",
					  tok.label, p11_rv_name(rv));
	}
out:
	P11(m, C_CloseSession, h);
done:
	free(found_id);
	OPENSSL_free(subj);
	X509_free(x);
	return st;
}

static const char *class_name(CK_ULONG c)
{
	switch (c) {
	case CKO_PRIVATE_KEY:
		return "private-key";
	case CKO_PUBLIC_KEY:
		return "public-key";
	case CKO_CERTIFICATE:
		return "certificate";
	case CKO_SECRET_KEY:
		return "secret-key";
	case CKO_DATA:
		return "data";
	default:
		return "other";
	}
}

static const char *key_type_name(CK_ULONG k)
{
	switch (k) {
	case CKK_SM2:
		return "sm2";
	case CKK_EC:
		return "ec";
	case CKK_RSA:
		return "rsa";
	default:
		return "other";
	}
}

sealkit_status sealkit_token_objects(sealkit_module *m, const char *token,
				     const sealkit_token_options *opts, sealkit_object_entry **out,
				     size_t *n, int *logged_in, sealkit_error *err)
{
	p11_token tok;
	CK_SESSION_HANDLE h;
	bool li;
	sealkit_status st;
	CK_OBJECT_HANDLE objs[512];
	size_t count = 0;

	*out = NULL;
	*n = 0;
	if ((st = open_token(m, token, opts, false, &tok, &h, &li, err)) != SEALKIT_OK)
		return st;
	*logged_in = li;
	if ((st = p11_find(m, h, NULL, 0, objs, 512, &count, err)) != SEALKIT_OK)
		goto out;
	if (count > 512)
		count = 512;
	sealkit_object_entry *list = calloc(count ? count : 1, sizeof *list);
	if (!list) {
		st = sealkit_fail(err, SEALKIT_ERR_MEMORY, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < count; i++) {
		sealkit_object_entry *e = &list[i];
		CK_ULONG cls = 0, kt = 0;
		unsigned char *v = NULL;
		size_t len = 0;
		p11_attr_ulong(m, h, objs[i], CKA_CLASS, &cls);
		snprintf(e->kind, sizeof e->kind, "%s", class_name(cls));
		if ((cls == CKO_PRIVATE_KEY || cls == CKO_PUBLIC_KEY || cls == CKO_SECRET_KEY) &&
		    p11_attr_ulong(m, h, objs[i], CKA_KEY_TYPE, &kt))
			snprintf(e->key_type, sizeof e->key_type, "%s", key_type_name(kt));
		if (p11_attr(m, h, objs[i], CKA_LABEL, &v, &len, NULL) == SEALKIT_OK && v)
			snprintf(e->label, sizeof e->label, "%.*s", (int)len, (const char *)v);
		free(v);
		v = NULL;
		if (p11_attr(m, h, objs[i], CKA_ID, &v, &len, NULL) == SEALKIT_OK && v)
			p11_hex(v, len, e->id_hex, sizeof e->id_hex);
		free(v);
		e->is_private = p11_attr_bool(m, h, objs[i], CKA_PRIVATE);
	}
	*out = list;
	*n = count;
out:
	P11(m, C_CloseSession, h);
	return st;
}
