/* Cryptographic operations on proxied slots: forwarded to the device with
 * its mechanism code, or completed here when the device lacks the
 * mechanism but has what it takes to sign or verify (a plan, below). The
 * session's lock is held across the device calls of its operations, as
 * PKCS#11 serialises a session's calls anyway. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* Largest signature a device hands us for a format change, and the most
 * input we hold for a device that signs only in one part. */
#define SIG_MAX 1024
#define BUFFER_MAX (64UL << 20)

/* ---- plans ---------------------------------------------------------------- */

typedef struct px_plan {
	px_mode mode;
	px_conv conv; /* device signature -> application signature */
	size_t half;
	const px_mech *dev;
	const char *hash; /* PXM_HASH, PXM_SOFT */
	bool z;           /* SM2: Z of the key's point before the message */
	const unsigned char *prefix;
	size_t prefix_len;
	CK_MECHANISM_TYPE ct_app, ct_dev; /* PXM_CT */
} px_plan;

/* SM2 ciphertext layouts: any one converts to any other. */
static const CK_MECHANISM_TYPE sm2_cts[] = {CKM_SM2_ENCRYPT, SKI_SM2_ENCRYPT_C1C2C3,
					    CKM_SM2_ENCRYPT_DER};

/* The ciphertext layout an SM2 encryption operation speaks. */
static sm2_ct_layout ct_layout(CK_MECHANISM_TYPE op)
{
	return op == CKM_SM2_ENCRYPT_DER	   ? SM2_CT_DER
	       : op == SKI_SM2_ENCRYPT_C1C2C3 ? SM2_CT_C1C2C3
					       : SM2_CT_C1C3C2;
}

/* SM2 signatures: what the input is and how the output is encoded. */
enum { SM2_DIGEST_IN, SM2_Z, SM2_NOZ };
static const struct {
	CK_MECHANISM_TYPE op;
	int input;
	bool der;
} sm2_sigs[] = {
	{CKM_SM2, SM2_DIGEST_IN, false},   {SKI_SM2_DER, SM2_DIGEST_IN, true},
	{CKM_SM2_SM3, SM2_Z, false},	   {CKM_SM2_SM3_DER, SM2_Z, true},
	{SKI_SM2_SM3_NOZ, SM2_NOZ, false}, {SKI_SM2_SM3_NOZ_DER, SM2_NOZ, true},
};
#define N_SM2 (sizeof sm2_sigs / sizeof sm2_sigs[0])

/* Hash-and-sign mechanisms over the device's mechanism for a digest. */
static const struct {
	CK_MECHANISM_TYPE op, base;
} over_digest[] = {
	{CKM_ECDSA_SHA1, CKM_ECDSA},
	{CKM_ECDSA_SHA224, CKM_ECDSA},
	{CKM_ECDSA_SHA256, CKM_ECDSA},
	{CKM_ECDSA_SHA384, CKM_ECDSA},
	{CKM_ECDSA_SHA512, CKM_ECDSA},
	{CKM_SHA1_RSA_PKCS, CKM_RSA_PKCS},
	{CKM_SHA224_RSA_PKCS, CKM_RSA_PKCS},
	{CKM_SHA256_RSA_PKCS, CKM_RSA_PKCS},
	{CKM_SHA384_RSA_PKCS, CKM_RSA_PKCS},
	{CKM_SHA512_RSA_PKCS, CKM_RSA_PKCS},
	{CKM_SHA1_RSA_PKCS_PSS, CKM_RSA_PKCS_PSS},
	{CKM_SHA224_RSA_PKCS_PSS, CKM_RSA_PKCS_PSS},
	{CKM_SHA256_RSA_PKCS_PSS, CKM_RSA_PKCS_PSS},
	{CKM_SHA384_RSA_PKCS_PSS, CKM_RSA_PKCS_PSS},
	{CKM_SHA512_RSA_PKCS_PSS, CKM_RSA_PKCS_PSS},
};

static const CK_MECHANISM_TYPE soft_digests[] = {CKM_SHA_1,  CKM_SHA224, CKM_SHA256,
						 CKM_SHA384, CKM_SHA512, CKM_SM3};

static CK_FLAGS kind_flag(op_kind kind)
{
	static const CK_FLAGS f[OP_KINDS] = {
		[OP_ENCRYPT] = CKF_ENCRYPT,	      [OP_DECRYPT] = CKF_DECRYPT,
		[OP_DIGEST] = CKF_DIGEST,	      [OP_SIGN] = CKF_SIGN,
		[OP_VERIFY] = CKF_VERIFY,	      [OP_SIGN_RECOVER] = CKF_SIGN_RECOVER,
		[OP_VERIFY_RECOVER] = CKF_VERIFY_RECOVER,
	};
	return f[kind];
}

static const px_mech *offered(const px_slot *sl, CK_MECHANISM_TYPE op, CK_FLAGS need)
{
	const px_mech *m = px_mech_for(sl, op);
	return m && (m->info.flags & need) ? m : NULL;
}

/* How to carry out `op` of `kind` on this slot; false when it cannot be. */
static bool plan_for(const px_slot *sl, op_kind kind, CK_MECHANISM_TYPE op, px_plan *p)
{
	CK_FLAGS need = kind_flag(kind);
	memset(p, 0, sizeof *p);
	if ((p->dev = offered(sl, op, need)))
		return true; /* PXM_DIRECT, as it is */
	if (kind == OP_DIGEST) {
		for (size_t i = 0; i < sizeof soft_digests / sizeof soft_digests[0]; i++)
			if (soft_digests[i] == op) {
				p->mode = PXM_SOFT;
				p->hash = px_hash_name(op);
				return true;
			}
		return false;
	}
	if (kind == OP_ENCRYPT || kind == OP_DECRYPT) {
		bool sm2_ct = false;
		for (size_t i = 0; i < 3; i++)
			sm2_ct |= sm2_cts[i] == op;
		for (size_t i = 0; i < 3 && sm2_ct; i++) {
			if (!(p->dev = offered(sl, sm2_cts[i], need)))
				continue;
			p->mode = PXM_CT;
			p->ct_app = op;
			p->ct_dev = sm2_cts[i];
			return true;
		}
		return false;
	}
	if (kind != OP_SIGN && kind != OP_VERIFY)
		return false;
	for (size_t i = 0; i < sizeof over_digest / sizeof over_digest[0]; i++) {
		if (over_digest[i].op != op || !(p->dev = offered(sl, over_digest[i].base, need)))
			continue;
		p->mode = PXM_HASH;
		p->hash = px_hash_name(op);
		px_digest_info(op, &p->prefix, &p->prefix_len);
		return true;
	}
	size_t want = N_SM2;
	for (size_t i = 0; i < N_SM2; i++)
		if (sm2_sigs[i].op == op)
			want = i;
	if (want == N_SM2)
		return false;
	p->half = 32;
	/* The same input in the other encoding, then (for a message) the
	 * device's signature of a digest in either encoding. */
	for (size_t i = 0; i < N_SM2; i++) {
		if (sm2_sigs[i].input != sm2_sigs[want].input || i == want ||
		    !(p->dev = offered(sl, sm2_sigs[i].op, need)))
			continue;
		p->conv = sm2_sigs[i].der ? PXC_DER_TO_RAW : PXC_RAW_TO_DER;
		return true;
	}
	if (sm2_sigs[want].input == SM2_DIGEST_IN)
		return false;
	for (size_t i = 0; i < 2; i++) {
		if (!(p->dev = offered(sl, sm2_sigs[i].op, need)))
			continue;
		p->mode = PXM_HASH;
		p->hash = "SM3";
		p->z = sm2_sigs[want].input == SM2_Z;
		if (sm2_sigs[i].der != sm2_sigs[want].der)
			p->conv = sm2_sigs[i].der ? PXC_DER_TO_RAW : PXC_RAW_TO_DER;
		return true;
	}
	return false;
}

bool px_can_complete(const px_slot *sl, CK_MECHANISM_TYPE op, CK_MECHANISM_INFO *info)
{
	static const op_kind kinds[] = {OP_SIGN, OP_VERIFY, OP_ENCRYPT, OP_DECRYPT};
	const px_mech *d = NULL;
	CK_FLAGS flags = 0;
	px_plan p;
	memset(info, 0, sizeof *info);
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		if (!plan_for(sl, kinds[i], op, &p) || !p.dev)
			continue;
		d = d ? d : p.dev;
		flags |= kind_flag(kinds[i]);
	}
	if (d) {
		*info = d->info;
		info->flags &= ~(CKF_SIGN | CKF_VERIFY | CKF_ENCRYPT | CKF_DECRYPT |
				 CKF_SIGN_RECOVER | CKF_VERIFY_RECOVER | CKF_WRAP | CKF_UNWRAP |
				 CKF_DERIVE | CKF_DIGEST);
		info->flags |= flags;
		return true;
	}
	if (plan_for(sl, OP_DIGEST, op, &p)) {
		info->flags = CKF_DIGEST;
		return true;
	}
	return false;
}

/* ---- device calls by kind ---------------------------------------------------- */

static CK_RV dev_init(CK_FUNCTION_LIST *fl, op_kind kind, CK_SESSION_HANDLE s, CK_MECHANISM *m,
		      CK_OBJECT_HANDLE key)
{
	switch (kind) {
	case OP_ENCRYPT:
		return fl->C_EncryptInit(s, m, key);
	case OP_DECRYPT:
		return fl->C_DecryptInit(s, m, key);
	case OP_DIGEST:
		return fl->C_DigestInit(s, m);
	case OP_SIGN:
		return fl->C_SignInit(s, m, key);
	case OP_VERIFY:
		return fl->C_VerifyInit(s, m, key);
	case OP_SIGN_RECOVER:
		return fl->C_SignRecoverInit(s, m, key);
	case OP_VERIFY_RECOVER:
		return fl->C_VerifyRecoverInit(s, m, key);
	default:
		return CKR_GENERAL_ERROR;
	}
}

static CK_RV dev_oneshot(CK_FUNCTION_LIST *fl, op_kind kind, CK_SESSION_HANDLE s, CK_BYTE *in,
			 CK_ULONG in_len, CK_BYTE *out, CK_ULONG *out_len)
{
	switch (kind) {
	case OP_ENCRYPT:
		return fl->C_Encrypt(s, in, in_len, out, out_len);
	case OP_DECRYPT:
		return fl->C_Decrypt(s, in, in_len, out, out_len);
	case OP_DIGEST:
		return fl->C_Digest(s, in, in_len, out, out_len);
	case OP_SIGN:
		return fl->C_Sign(s, in, in_len, out, out_len);
	case OP_SIGN_RECOVER:
		return fl->C_SignRecover(s, in, in_len, out, out_len);
	case OP_VERIFY_RECOVER:
		return fl->C_VerifyRecover(s, in, in_len, out, out_len);
	default:
		return CKR_GENERAL_ERROR;
	}
}

static CK_RV dev_update(CK_FUNCTION_LIST *fl, op_kind kind, CK_SESSION_HANDLE s, CK_BYTE *in,
			CK_ULONG in_len, CK_BYTE *out, CK_ULONG *out_len)
{
	switch (kind) {
	case OP_ENCRYPT:
		return fl->C_EncryptUpdate(s, in, in_len, out, out_len);
	case OP_DECRYPT:
		return fl->C_DecryptUpdate(s, in, in_len, out, out_len);
	case OP_DIGEST:
		return fl->C_DigestUpdate(s, in, in_len);
	case OP_SIGN:
		return fl->C_SignUpdate(s, in, in_len);
	case OP_VERIFY:
		return fl->C_VerifyUpdate(s, in, in_len);
	default:
		return CKR_FUNCTION_NOT_SUPPORTED;
	}
}

static CK_RV dev_final(CK_FUNCTION_LIST *fl, op_kind kind, CK_SESSION_HANDLE s, CK_BYTE *out,
		       CK_ULONG *out_len)
{
	switch (kind) {
	case OP_ENCRYPT:
		return fl->C_EncryptFinal(s, out, out_len);
	case OP_DECRYPT:
		return fl->C_DecryptFinal(s, out, out_len);
	case OP_DIGEST:
		return fl->C_DigestFinal(s, out, out_len);
	case OP_SIGN:
		return fl->C_SignFinal(s, out, out_len);
	default:
		return CKR_FUNCTION_NOT_SUPPORTED;
	}
}

/* ---- init -------------------------------------------------------------------- */

/* The public point of a key on the device: CKA_EC_POINT of the key itself
 * (SM2 private keys carry it on sealkit, TASS, Sansec, Luna), else of the
 * public key with the same CKA_ID, looked up in a session of its own so
 * that the application's search is left alone. */
static CK_RV key_point(px_session *s, CK_OBJECT_HANDLE key, unsigned char *pt, size_t *pt_len)
{
	CK_FUNCTION_LIST *fl = px_fl(s);
	unsigned char v[160], id[256];
	CK_ATTRIBUTE a = {CKA_EC_POINT, v, sizeof v};
	CK_ATTRIBUTE ida = {CKA_ID, id, sizeof id};
	CK_SESSION_HANDLE look = CK_INVALID_HANDLE;
	CK_RV rv = fl->C_GetAttributeValue(s->dev, key, &a, 1);
	const unsigned char *p;
	size_t n;
	if (rv == CKR_OK && a.ulValueLen != CK_UNAVAILABLE_INFORMATION)
		goto found;
	if (px_gone(rv) || (rv = fl->C_GetAttributeValue(s->dev, key, &ida, 1)) != CKR_OK)
		goto out;
	{
		CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
		CK_ATTRIBUTE find[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_ID, id, ida.ulValueLen}};
		CK_OBJECT_HANDLE pub;
		CK_ULONG got = 0;
		if ((rv = fl->C_OpenSession(px_slot_dev(s->slot), CKF_SERIAL_SESSION, NULL, NULL,
					    &look)) != CKR_OK ||
		    (rv = fl->C_FindObjectsInit(look, find, 2)) != CKR_OK)
			goto out;
		rv = fl->C_FindObjects(look, &pub, 1, &got);
		fl->C_FindObjectsFinal(look);
		if (rv == CKR_OK && got != 1)
			rv = CKR_KEY_TYPE_INCONSISTENT; /* no public point to make Z of */
		a.ulValueLen = sizeof v;
		if (rv != CKR_OK || (rv = fl->C_GetAttributeValue(look, pub, &a, 1)) != CKR_OK)
			goto out;
	}
found:
	if (a.ulValueLen == 65 && v[0] == 0x04) {
		p = v; /* bare: a DER OCTET STRING of a 65-byte point is 67 bytes */
		n = 65;
	} else if (!px_ec_point(v, a.ulValueLen, &p, &n)) {
		rv = CKR_KEY_TYPE_INCONSISTENT;
		goto out;
	}
	if (n != 65) {
		rv = CKR_KEY_TYPE_INCONSISTENT;
		goto out;
	}
	memcpy(pt, p, n);
	*pt_len = n;
	rv = CKR_OK;
out:
	if (look != CK_INVALID_HANDLE)
		fl->C_CloseSession(look);
	return rv;
}

/* The parameter the device gets. Shallow copy: kept for re-initialising a
 * sign or verify operation (multi-part over single-part), whose parameters
 * hold no pointers. */
static CK_RV set_dev_mech(px_op *op, const px_plan *p, const CK_MECHANISM *m)
{
	op->dev_mech.mechanism = p->dev->code;
	if (p->mode == PXM_HASH && !p->prefix && p->hash && p->half == 0 &&
	    p->dev->op == CKM_RSA_PKCS_PSS) {
		/* PSS over a digest: the caller's PSS parameters, whose hash
		 * must be the mechanism's. */
		const CK_RSA_PKCS_PSS_PARAMS *pss = m->pParameter;
		static const CK_MECHANISM_TYPE md_of[] = {CKM_SHA_1, CKM_SHA224, CKM_SHA256,
							   CKM_SHA384, CKM_SHA512};
		static const char *const names[] = {"SHA1", "SHA224", "SHA256", "SHA384",
						    "SHA512"};
		bool ok = false;
		if (!pss || m->ulParameterLen != sizeof *pss)
			return CKR_MECHANISM_PARAM_INVALID;
		for (size_t i = 0; i < 5; i++)
			ok |= md_of[i] == pss->hashAlg && !strcmp(names[i], p->hash);
		if (!ok)
			return CKR_MECHANISM_PARAM_INVALID;
	} else if (p->mode == PXM_HASH && m->ulParameterLen && !p->z) {
		return CKR_MECHANISM_PARAM_INVALID;
	} else if (p->mode == PXM_HASH) {
		return CKR_OK; /* the SM2 ID went into Z; the device signs e */
	}
	if (m->ulParameterLen) {
		if (!m->pParameter)
			return CKR_MECHANISM_PARAM_INVALID;
		if (!(op->dev_param = malloc(m->ulParameterLen)))
			return CKR_HOST_MEMORY;
		memcpy(op->dev_param, m->pParameter, m->ulParameterLen);
		op->dev_mech.pParameter = op->dev_param;
		op->dev_mech.ulParameterLen = m->ulParameterLen;
	}
	return CKR_OK;
}

/* Everything that can fail is done before the device starts its operation:
 * once it has, only a call that finishes it ends it. */
static CK_RV init_locked(px_session *s, op_kind kind, CK_MECHANISM *m, CK_OBJECT_HANDLE key)
{
	px_op *op = &s->op[kind];
	CK_MECHANISM_TYPE code = px_op_of(m->mechanism);
	px_plan p;
	CK_RV rv;
	if (op->active)
		return CKR_OPERATION_ACTIVE;
	if (code == CK_UNAVAILABLE_INFORMATION || !plan_for(s->slot, kind, code, &p))
		return CKR_MECHANISM_INVALID;
	op->mode = p.mode;
	op->conv = p.conv;
	op->half = p.half;
	op->key = key;
	op->prefix = p.prefix;
	op->prefix_len = p.prefix_len;
	op->ct_app = p.ct_app;
	op->ct_dev = p.ct_dev;
	if (p.mode == PXM_SOFT) {
		rv = crypto_op_new(OP_DIGEST, m, NULL, &op->soft);
		goto out;
	}
	if ((rv = set_dev_mech(op, &p, m)) != CKR_OK)
		goto out;
	if (p.mode == PXM_HASH && (rv = px_hash_new(p.hash, &op->md)) != CKR_OK)
		goto out;
	if (p.z) {
		unsigned char pt[65];
		size_t pt_len;
		if ((rv = key_point(s, key, pt, &pt_len)) != CKR_OK ||
		    (rv = px_hash_z(op->md, pt, pt_len, m->ulParameterLen ? m->pParameter : NULL,
				    m->ulParameterLen)) != CKR_OK)
			goto out;
	}
	rv = px_result(s, dev_init(px_fl(s), kind, s->dev, &op->dev_mech, key));
out:
	if (rv == CKR_OK)
		op->active = true;
	else
		px_op_clear(op);
	return rv;
}

CK_RV px_op_init(CK_SESSION_HANDLE h, op_kind kind, CK_MECHANISM *m, CK_OBJECT_HANDLE key)
{
	px_session *s;
	CK_RV rv = px_session_get(h, &s);
	if (rv != CKR_OK)
		return rv;
	if (!m) {
		rv = CKR_ARGUMENTS_BAD;
	} else {
		pthread_mutex_lock(&s->lock);
		rv = init_locked(s, kind, m, key);
		pthread_mutex_unlock(&s->lock);
	}
	px_session_put(s);
	return rv;
}

/* ---- results made here ---------------------------------------------------------- */

/* Keeps the operation on a length query or a short buffer, as the spec
 * wants; ends it otherwise. */
static void after(px_op *op, CK_RV rv, bool query)
{
	if (rv == CKR_BUFFER_TOO_SMALL || (rv == CKR_OK && query))
		return;
	px_op_clear(op);
}

static CK_RV emit(px_op *op, const unsigned char *v, size_t len, CK_BYTE *out, CK_ULONG *out_len)
{
	if (!out) {
		*out_len = len;
		return CKR_OK;
	}
	if (*out_len < len) {
		if (!op->pending_set) {
			if (!(op->pending = malloc(len ? len : 1)))
				return CKR_HOST_MEMORY;
			memcpy(op->pending, v, len);
			op->pending_len = len;
			op->pending_set = true;
		}
		*out_len = len;
		return CKR_BUFFER_TOO_SMALL;
	}
	memcpy(out, v, len);
	*out_len = len;
	return CKR_OK;
}

/* The signature of `data` (or of the device's multi-part input when
 * data == NULL), changed to the application's encoding. */
static CK_RV sign_emit(px_session *s, px_op *op, CK_BYTE *data, CK_ULONG len, CK_BYTE *out,
		       CK_ULONG *out_len)
{
	CK_FUNCTION_LIST *fl = px_fl(s);
	unsigned char sig[SIG_MAX], conv[SIG_MAX];
	CK_ULONG sig_len = sizeof sig;
	size_t conv_len = 0;
	CK_RV rv;
	if (op->pending_set)
		return emit(op, op->pending, op->pending_len, out, out_len);
	if (op->conv == PXC_NONE) {
		rv = data ? fl->C_Sign(s->dev, data, len, out, out_len)
			  : fl->C_SignFinal(s->dev, out, out_len);
		return px_result(s, rv);
	}
	/* A length query or a short buffer answered without the device: raw
	 * is fixed, DER at most 2 * half + 9. */
	size_t want = op->conv == PXC_DER_TO_RAW ? 2 * op->half : 2 * op->half + 9;
	if (!out || (op->conv == PXC_DER_TO_RAW && *out_len < want)) {
		*out_len = want;
		return out ? CKR_BUFFER_TOO_SMALL : CKR_OK;
	}
	rv = data ? fl->C_Sign(s->dev, data, len, sig, &sig_len)
		  : fl->C_SignFinal(s->dev, sig, &sig_len);
	if ((rv = px_result(s, rv)) != CKR_OK)
		return rv == CKR_BUFFER_TOO_SMALL ? CKR_DEVICE_ERROR : rv;
	if (op->conv == PXC_DER_TO_RAW) {
		conv_len = 2 * op->half;
		rv = sig_der_to_raw(sig, sig_len, conv, op->half);
	} else if (sig_len == 2 * op->half) {
		rv = sig_raw_to_der(sig, op->half, conv, &conv_len);
	} else {
		rv = CKR_DEVICE_ERROR;
	}
	if (rv != CKR_OK)
		return CKR_DEVICE_ERROR; /* the device's signature is not what it should be */
	return emit(op, conv, conv_len, out, out_len);
}

/* The application's signature in the device's encoding. A signature that
 * does not convert is given as r = s = 0, which every device refuses, so
 * its operation ends as the caller's does. */
static void verify_sig(const px_op *op, CK_BYTE *sig, CK_ULONG sig_len, unsigned char *buf,
		       CK_BYTE **dev_sig, CK_ULONG *dev_len)
{
	size_t n = 0;
	*dev_sig = sig;
	*dev_len = sig_len;
	if (op->conv == PXC_NONE)
		return;
	*dev_sig = buf;
	if (op->conv == PXC_DER_TO_RAW) {
		/* device wants DER, application gave raw */
		if (sig_len != 2 * op->half || sig_raw_to_der(sig, op->half, buf, &n) != CKR_OK) {
			static const unsigned char zero[] = {0x30, 6, 2, 1, 0, 2, 1, 0};
			memcpy(buf, zero, sizeof zero);
			n = sizeof zero;
		}
	} else {
		n = 2 * op->half;
		if (sig_der_to_raw(sig, sig_len, buf, op->half) != CKR_OK)
			memset(buf, 0, n);
	}
	*dev_len = n;
}

/* prefix || hash of everything hashed so far, computed once. */
static CK_RV finish_digest(px_op *op)
{
	size_t n;
	CK_RV rv = CKR_OK;
	if (op->have_digest)
		return CKR_OK;
	if (op->prefix_len)
		memcpy(op->digest, op->prefix, op->prefix_len);
	rv = px_hash_final(op->md, op->digest + op->prefix_len, &n);
	if (rv == CKR_OK) {
		op->digest_len = op->prefix_len + n;
		op->have_digest = true;
	}
	return rv;
}

/* SM2 encryption with the ciphertext in another layout than the device's:
 * the whole input in one device call, the ciphertext re-encoded on the way
 * out (encrypt) or in (decrypt). No key material is involved. */
static CK_RV ct_run(px_session *s, px_op *op, op_kind kind, CK_BYTE *in, CK_ULONG in_len,
		    CK_BYTE *out, CK_ULONG *out_len)
{
	CK_FUNCTION_LIST *fl = px_fl(s);
	unsigned char *dev = NULL, *conv = NULL;
	CK_ULONG dev_len = 0;
	size_t conv_len = 0;
	CK_RV rv = CKR_OK;
	if (op->pending_set) {
		rv = emit(op, op->pending, op->pending_len, out, out_len);
		goto out;
	}
	if (in_len > BUFFER_MAX) {
		rv = CKR_DATA_LEN_RANGE;
		goto out;
	}
	if (kind == OP_DECRYPT) {
		/* The device's plaintext as it is: length queries and short
		 * buffers are its business. */
		if (!(conv = malloc(in_len + 32))) {
			rv = CKR_HOST_MEMORY;
			goto out;
		}
		if (sm2_ct_convert(ct_layout(op->ct_app), ct_layout(op->ct_dev), in, in_len, conv,
				   in_len + 32, &conv_len) != CKR_OK) {
			/* Not a ciphertext: the device refuses it as it is,
			 * which ends its operation as ours ends. */
			dev_len = in_len + 32;
			px_result(s, fl->C_Decrypt(s->dev, in, in_len, conv, &dev_len));
			rv = CKR_ENCRYPTED_DATA_INVALID;
			goto out;
		}
		rv = px_result(s, fl->C_Decrypt(s->dev, conv, conv_len, out, out_len));
		goto out;
	}
	if (!out) {
		/* C1 || C3 || C2 is 97 bytes more than the message; DER at
		 * most 19 more again. */
		*out_len = in_len + 97 + (op->ct_app == CKM_SM2_ENCRYPT_DER ? 19 : 0);
		goto out;
	}
	if ((rv = px_result(s, fl->C_Encrypt(s->dev, in, in_len, NULL, &dev_len))) != CKR_OK)
		goto out;
	if (!(dev = malloc(dev_len + 1)) || !(conv = malloc(dev_len + 32))) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	if ((rv = px_result(s, fl->C_Encrypt(s->dev, in, in_len, dev, &dev_len))) != CKR_OK) {
		if (rv == CKR_BUFFER_TOO_SMALL)
			rv = CKR_DEVICE_ERROR; /* the size it gave was not enough */
		goto out;
	}
	if (sm2_ct_convert(ct_layout(op->ct_dev), ct_layout(op->ct_app), dev, dev_len, conv,
			   dev_len + 32, &conv_len) != CKR_OK) {
		rv = CKR_DEVICE_ERROR; /* the device's ciphertext is not what it should be */
		goto out;
	}
	rv = emit(op, conv, conv_len, out, out_len);
out:
	free(dev);
	free(conv);
	return rv;
}

/* ---- the calls --------------------------------------------------------------------- */

static CK_RV buffer_in(px_op *op, const CK_BYTE *in, CK_ULONG len)
{
	if (len > BUFFER_MAX - op->len)
		return CKR_DATA_LEN_RANGE;
	if (op->len + len > op->cap) {
		size_t cap = op->cap ? op->cap : 4096;
		while (cap < op->len + len)
			cap *= 2;
		unsigned char *b = realloc(op->buf, cap);
		if (!b)
			return CKR_HOST_MEMORY;
		op->buf = b;
		op->cap = cap;
	}
	if (len)
		memcpy(op->buf + op->len, in, len);
	op->len += len;
	return CKR_OK;
}

static CK_RV oneshot_locked(px_session *s, op_kind kind, CK_BYTE *in, CK_ULONG in_len,
			    CK_BYTE *out, CK_ULONG *out_len)
{
	px_op *op = &s->op[kind];
	CK_RV rv;
	if (!op->active)
		return CKR_OPERATION_NOT_INITIALIZED;
	if ((!in && in_len) || !out_len) {
		rv = CKR_ARGUMENTS_BAD;
		if (op->mode == PXM_DIRECT) /* ends the device's operation too */
			rv = px_result(s, dev_oneshot(px_fl(s), kind, s->dev, in, in_len, out,
						      out_len));
		px_op_clear(op);
		return rv;
	}
	if (op->multi)
		return CKR_OPERATION_ACTIVE; /* multi-part under way: finish it first */
	switch (op->mode) {
	case PXM_SOFT:
		rv = crypto_op_oneshot(op->soft, in, in_len, out, out_len);
		break;
	case PXM_CT:
		rv = ct_run(s, op, kind, in, in_len, out, out_len);
		break;
	case PXM_HASH:
		if (!op->have_digest && (rv = px_hash_update(op->md, in, in_len)) != CKR_OK)
			break;
		if ((rv = finish_digest(op)) == CKR_OK)
			rv = sign_emit(s, op, op->digest, op->digest_len, out, out_len);
		break;
	default:
		if (kind == OP_SIGN)
			rv = sign_emit(s, op, in, in_len, out, out_len);
		else
			rv = px_result(s, dev_oneshot(px_fl(s), kind, s->dev, in, in_len, out,
						      out_len));
		break;
	}
	after(op, rv, out == NULL);
	return rv;
}

CK_RV px_op_oneshot(CK_SESSION_HANDLE h, op_kind kind, CK_BYTE *in, CK_ULONG in_len, CK_BYTE *out,
		    CK_ULONG *out_len)
{
	px_session *s;
	CK_RV rv = px_session_get(h, &s);
	if (rv != CKR_OK)
		return rv;
	pthread_mutex_lock(&s->lock);
	rv = oneshot_locked(s, kind, in, in_len, out, out_len);
	pthread_mutex_unlock(&s->lock);
	px_session_put(s);
	return rv;
}

/* A device that refuses C_*Update for a mechanism gets the whole input in
 * one call at the end: its operation is started again (it ended with the
 * refusal) and the input is held here. */
static CK_RV to_buffer(px_session *s, op_kind kind, px_op *op, CK_BYTE *in, CK_ULONG in_len)
{
	CK_RV rv = dev_init(px_fl(s), kind, s->dev, &op->dev_mech, op->key);
	if (rv == CKR_OPERATION_ACTIVE)
		rv = CKR_OK; /* it had not ended it */
	if ((rv = px_result(s, rv)) != CKR_OK)
		return rv;
	op->mode = PXM_BUFFER;
	return buffer_in(op, in, in_len);
}

static CK_RV update_locked(px_session *s, op_kind kind, CK_BYTE *in, CK_ULONG in_len, CK_BYTE *out,
			   CK_ULONG *out_len)
{
	px_op *op = &s->op[kind];
	bool produces = kind == OP_ENCRYPT || kind == OP_DECRYPT;
	CK_RV rv;
	if (!op->active)
		return CKR_OPERATION_NOT_INITIALIZED;
	switch (op->mode) {
	case PXM_SOFT:
		rv = (!in && in_len) ? CKR_ARGUMENTS_BAD
				     : crypto_op_update(op->soft, in, in_len, NULL, NULL);
		break;
	case PXM_HASH:
		rv = (!in && in_len) ? CKR_ARGUMENTS_BAD : px_hash_update(op->md, in, in_len);
		break;
	case PXM_BUFFER:
		rv = (!in && in_len) ? CKR_ARGUMENTS_BAD : buffer_in(op, in, in_len);
		break;
	case PXM_CT:
		/* Held for the final call: no output before it. */
		rv = (!in && in_len) || !out_len ? CKR_ARGUMENTS_BAD : buffer_in(op, in, in_len);
		if (rv == CKR_OK)
			*out_len = 0;
		break;
	default:
		rv = dev_update(px_fl(s), kind, s->dev, in, in_len, out, out_len);
		/* SoftHSM says "not initialised" where others say "not
		 * supported": on a first update, either means "one part". */
		if ((rv == CKR_FUNCTION_NOT_SUPPORTED || rv == CKR_OPERATION_NOT_INITIALIZED) &&
		    !op->multi && !produces && in)
			rv = to_buffer(s, kind, op, in, in_len);
		rv = px_result(s, rv);
		break;
	}
	if (rv == CKR_OK && !(produces && !out))
		op->multi = true;
	if (rv != CKR_OK && rv != CKR_BUFFER_TOO_SMALL)
		px_op_clear(op);
	return rv;
}

CK_RV px_op_update(CK_SESSION_HANDLE h, op_kind kind, CK_BYTE *in, CK_ULONG in_len, CK_BYTE *out,
		   CK_ULONG *out_len)
{
	px_session *s;
	CK_RV rv = px_session_get(h, &s);
	if (rv != CKR_OK)
		return rv;
	pthread_mutex_lock(&s->lock);
	rv = update_locked(s, kind, in, in_len, out, out_len);
	pthread_mutex_unlock(&s->lock);
	px_session_put(s);
	return rv;
}

static CK_RV final_locked(px_session *s, op_kind kind, CK_BYTE *out, CK_ULONG *out_len)
{
	px_op *op = &s->op[kind];
	CK_FUNCTION_LIST *fl = px_fl(s);
	CK_RV rv;
	if (!op->active)
		return CKR_OPERATION_NOT_INITIALIZED;
	if (!out_len) {
		rv = op->mode == PXM_DIRECT ? px_result(s, dev_final(fl, kind, s->dev, out, NULL))
					    : CKR_ARGUMENTS_BAD;
		px_op_clear(op);
		return rv == CKR_OK ? CKR_ARGUMENTS_BAD : rv;
	}
	switch (op->mode) {
	case PXM_SOFT:
		rv = crypto_op_final(op->soft, out, out_len);
		break;
	case PXM_CT:
		rv = ct_run(s, op, kind, op->buf ? op->buf : (CK_BYTE *)"", op->len, out, out_len);
		break;
	case PXM_HASH:
		if ((rv = finish_digest(op)) == CKR_OK)
			rv = sign_emit(s, op, op->digest, op->digest_len, out, out_len);
		break;
	case PXM_BUFFER:
		if (kind == OP_SIGN)
			rv = sign_emit(s, op, op->buf ? op->buf : (CK_BYTE *)"", op->len, out,
				       out_len);
		else
			rv = px_result(s, dev_oneshot(fl, kind, s->dev, op->buf, op->len, out,
						      out_len));
		break;
	default:
		if (kind == OP_SIGN)
			rv = sign_emit(s, op, NULL, 0, out, out_len);
		else
			rv = px_result(s, dev_final(fl, kind, s->dev, out, out_len));
		break;
	}
	after(op, rv, out == NULL);
	return rv;
}

CK_RV px_op_final(CK_SESSION_HANDLE h, op_kind kind, CK_BYTE *out, CK_ULONG *out_len)
{
	px_session *s;
	CK_RV rv = px_session_get(h, &s);
	if (rv != CKR_OK)
		return rv;
	pthread_mutex_lock(&s->lock);
	rv = final_locked(s, kind, out, out_len);
	pthread_mutex_unlock(&s->lock);
	px_session_put(s);
	return rv;
}

/* C_Verify (data != NULL or a single part) and C_VerifyFinal (final). */
static CK_RV verify_locked(px_session *s, bool final, CK_BYTE *data, CK_ULONG data_len,
			   CK_BYTE *sig, CK_ULONG sig_len)
{
	px_op *op = &s->op[OP_VERIFY];
	CK_FUNCTION_LIST *fl = px_fl(s);
	unsigned char buf[SIG_MAX];
	CK_BYTE *dsig;
	CK_ULONG dlen;
	CK_RV rv;
	if (!op->active)
		return CKR_OPERATION_NOT_INITIALIZED;
	if (!final && op->multi)
		return CKR_OPERATION_ACTIVE;
	if (!sig || (!final && !data && data_len)) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if (op->conv != PXC_NONE && sig_len > sizeof buf - 16) {
		rv = CKR_SIGNATURE_LEN_RANGE;
		sig_len = 0;
	}
	verify_sig(op, sig, sig_len, buf, &dsig, &dlen);
	switch (op->mode) {
	case PXM_HASH:
		if (!final && (rv = px_hash_update(op->md, data, data_len)) != CKR_OK)
			break;
		if ((rv = finish_digest(op)) == CKR_OK)
			rv = fl->C_Verify(s->dev, op->digest, op->digest_len, dsig, dlen);
		break;
	case PXM_BUFFER:
		rv = fl->C_Verify(s->dev, op->buf ? op->buf : (CK_BYTE *)"", op->len, dsig, dlen);
		break;
	default:
		rv = final ? fl->C_VerifyFinal(s->dev, dsig, dlen)
			   : fl->C_Verify(s->dev, data, data_len, dsig, dlen);
		break;
	}
	rv = px_result(s, rv);
out:
	px_op_clear(op);
	return rv;
}

CK_RV px_verify(CK_SESSION_HANDLE h, CK_BYTE *data, CK_ULONG data_len, CK_BYTE *sig,
		CK_ULONG sig_len)
{
	px_session *s;
	CK_RV rv = px_session_get(h, &s);
	if (rv != CKR_OK)
		return rv;
	pthread_mutex_lock(&s->lock);
	rv = verify_locked(s, false, data, data_len, sig, sig_len);
	pthread_mutex_unlock(&s->lock);
	px_session_put(s);
	return rv;
}

CK_RV px_verify_final(CK_SESSION_HANDLE h, CK_BYTE *sig, CK_ULONG sig_len)
{
	px_session *s;
	CK_RV rv = px_session_get(h, &s);
	if (rv != CKR_OK)
		return rv;
	pthread_mutex_lock(&s->lock);
	rv = verify_locked(s, true, NULL, 0, sig, sig_len);
	pthread_mutex_unlock(&s->lock);
	px_session_put(s);
	return rv;
}

/* Dual-function updates as two updates, the producing one first so a
 * length query or a short buffer changes nothing. */
CK_RV px_dual_update(CK_SESSION_HANDLE h, op_kind produce, op_kind consume, bool consume_output,
		     CK_BYTE *in, CK_ULONG in_len, CK_BYTE *out, CK_ULONG *out_len)
{
	px_session *s;
	CK_RV rv = px_session_get(h, &s);
	if (rv != CKR_OK)
		return rv;
	pthread_mutex_lock(&s->lock);
	if (!s->op[produce].active || !s->op[consume].active) {
		rv = CKR_OPERATION_NOT_INITIALIZED;
	} else {
		rv = update_locked(s, produce, in, in_len, out, out_len);
		if (rv == CKR_OK && out)
			rv = update_locked(s, consume, consume_output ? out : in,
					   consume_output ? *out_len : in_len, NULL, NULL);
	}
	pthread_mutex_unlock(&s->lock);
	px_session_put(s);
	return rv;
}

/* C_DigestKey: the device digests its own key; a digest computed here
 * cannot, as key material never leaves the device. */
CK_RV px_digest_key(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE key)
{
	px_session *s;
	CK_RV rv = px_session_get(h, &s);
	if (rv != CKR_OK)
		return rv;
	pthread_mutex_lock(&s->lock);
	px_op *op = &s->op[OP_DIGEST];
	if (!op->active) {
		rv = CKR_OPERATION_NOT_INITIALIZED;
	} else if (op->mode != PXM_DIRECT) {
		rv = CKR_KEY_INDIGESTIBLE;
		px_op_clear(op);
	} else {
		rv = px_result(s, px_fl(s)->C_DigestKey(s->dev, key));
		if (rv == CKR_OK)
			op->multi = true;
		else
			px_op_clear(op);
	}
	pthread_mutex_unlock(&s->lock);
	px_session_put(s);
	return rv;
}
