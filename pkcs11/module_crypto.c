/* The cryptographic and key management functions of the function table for
 * soft tokens: the one active operation per kind, its state machine, and key
 * generation, wrapping and derivation. dispatch.c routes calls here. */
#include "soft.h"

#include <stdlib.h>
#include <string.h>

#include "attributes.h"
#include "crypto/crypto.h"
#include "session.h"
#include "token.h"

static CK_ATTRIBUTE_TYPE usage_attr(op_kind kind)
{
	switch (kind) {
	case OP_ENCRYPT:
		return CKA_ENCRYPT;
	case OP_DECRYPT:
		return CKA_DECRYPT;
	case OP_SIGN:
		return CKA_SIGN;
	case OP_VERIFY:
		return CKA_VERIFY;
	case OP_SIGN_RECOVER:
		return CKA_SIGN_RECOVER;
	case OP_VERIFY_RECOVER:
		return CKA_VERIFY_RECOVER;
	default:
		return CK_UNAVAILABLE_INFORMATION;
	}
}

/* CKA_ALLOWED_MECHANISMS, when present and not empty, lists what a key may do. */
static bool mechanism_allowed(sk_object *key, CK_MECHANISM_TYPE m)
{
	CK_ULONG len;
	const unsigned char *v = attrs_get(&key->attrs, CKA_ALLOWED_MECHANISMS, &len);
	if (!v || !len)
		return true;
	/* Stored in our numbering (attributes.c), whatever the caller's. */
	CK_MECHANISM_TYPE op = mech_canonical(m);
	for (CK_ULONG i = 0; i + sizeof(CK_MECHANISM_TYPE) <= len; i += sizeof(CK_MECHANISM_TYPE)) {
		CK_MECHANISM_TYPE t;
		memcpy(&t, v + i, sizeof t);
		if (t == op)
			return true;
	}
	return false;
}

/* Looks up a key for an operation: handle, usage flag, allowed mechanisms. */
static CK_RV get_key(sk_session *s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE usage,
		     CK_MECHANISM_TYPE mech, CK_RV invalid, sk_object **out)
{
	sk_object *key;
	pthread_mutex_lock(&s->token->lock);
	CK_RV rv = token_object_lookup(s->token, h, &key);
	pthread_mutex_unlock(&s->token->lock);
	if (rv == CKR_OBJECT_HANDLE_INVALID)
		return invalid;
	if (rv != CKR_OK)
		return rv;
	if (key->cls != CKO_PUBLIC_KEY && key->cls != CKO_PRIVATE_KEY &&
	    key->cls != CKO_SECRET_KEY)
		rv = invalid;
	else if (usage != CK_UNAVAILABLE_INFORMATION && !attrs_bool(&key->attrs, usage, CK_FALSE))
		rv = CKR_KEY_FUNCTION_NOT_PERMITTED;
	else if (!mechanism_allowed(key, mech))
		rv = CKR_MECHANISM_INVALID;
	if (rv != CKR_OK) {
		object_unref(key);
		return rv;
	}
	*out = key;
	return CKR_OK;
}

static CK_RV op_init(CK_SESSION_HANDLE hSession, op_kind kind, CK_MECHANISM_PTR pMechanism,
		     CK_OBJECT_HANDLE hKey)
{
	sk_session *s;
	sk_object *key = NULL;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	if (!pMechanism) {
		session_put(s);
		return CKR_ARGUMENTS_BAD;
	}
	pthread_mutex_lock(&s->lock);
	if (s->op[kind]) {
		rv = CKR_OPERATION_ACTIVE;
		goto out;
	}
	if (kind != OP_DIGEST &&
	    (rv = get_key(s, hKey, usage_attr(kind), pMechanism->mechanism,
			  CKR_KEY_HANDLE_INVALID, &key)) != CKR_OK)
		goto out;
	rv = crypto_op_new(kind, pMechanism, key, &s->op[kind]);
	if (rv != CKR_OK)
		s->op[kind] = NULL;
	s->op_multi[kind] = false;
out:
	pthread_mutex_unlock(&s->lock);
	object_unref(key);
	session_put(s);
	return rv;
}

/* Keeps the operation alive on a length query or a short buffer, as the
 * spec wants; ends it otherwise. */
static void op_after(sk_session *s, op_kind kind, CK_RV rv, bool query)
{
	if (rv == CKR_BUFFER_TOO_SMALL || (rv == CKR_OK && query))
		return;
	session_end_op(s, kind);
}

static CK_RV op_oneshot(CK_SESSION_HANDLE hSession, op_kind kind, CK_BYTE_PTR in,
			CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	sk_session *s;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	pthread_mutex_lock(&s->lock);
	if (!s->op[kind]) {
		rv = CKR_OPERATION_NOT_INITIALIZED;
	} else if ((!in && in_len) || !out_len) {
		rv = CKR_ARGUMENTS_BAD;
		session_end_op(s, kind);
	} else if (s->op_multi[kind]) {
		rv = CKR_OPERATION_ACTIVE; /* multi-part under way: finish it first */
	} else {
		rv = crypto_op_oneshot(s->op[kind], in, in_len, out, out_len);
		op_after(s, kind, rv, out == NULL);
	}
	pthread_mutex_unlock(&s->lock);
	session_put(s);
	return rv;
}

/* Update with the session lock held. */
static CK_RV op_update_locked(sk_session *s, op_kind kind, CK_BYTE_PTR in, CK_ULONG in_len,
			      CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	CK_RV rv;
	bool produces = kind == OP_ENCRYPT || kind == OP_DECRYPT;
	if (!s->op[kind])
		return CKR_OPERATION_NOT_INITIALIZED;
	if ((!in && in_len) || (produces && !out_len)) {
		session_end_op(s, kind);
		return CKR_ARGUMENTS_BAD;
	}
	if (!crypto_op_multipart(s->op[kind])) {
		session_end_op(s, kind);
		return CKR_FUNCTION_NOT_SUPPORTED;
	}
	rv = crypto_op_update(s->op[kind], in, in_len, produces ? out : NULL,
			      produces ? out_len : NULL);
	if (rv == CKR_OK && !(produces && !out))
		s->op_multi[kind] = true;
	if (rv != CKR_OK && rv != CKR_BUFFER_TOO_SMALL)
		session_end_op(s, kind);
	return rv;
}

static CK_RV op_update(CK_SESSION_HANDLE hSession, op_kind kind, CK_BYTE_PTR in, CK_ULONG in_len,
		       CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	sk_session *s;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	pthread_mutex_lock(&s->lock);
	rv = op_update_locked(s, kind, in, in_len, out, out_len);
	pthread_mutex_unlock(&s->lock);
	session_put(s);
	return rv;
}

static CK_RV op_final(CK_SESSION_HANDLE hSession, op_kind kind, CK_BYTE_PTR out,
		      CK_ULONG_PTR out_len)
{
	sk_session *s;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	pthread_mutex_lock(&s->lock);
	if (!s->op[kind]) {
		rv = CKR_OPERATION_NOT_INITIALIZED;
	} else if (!out_len) {
		rv = CKR_ARGUMENTS_BAD;
		session_end_op(s, kind);
	} else if (!crypto_op_multipart(s->op[kind])) {
		rv = CKR_FUNCTION_NOT_SUPPORTED;
		session_end_op(s, kind);
	} else {
		rv = crypto_op_final(s->op[kind], out, out_len);
		op_after(s, kind, rv, out == NULL);
	}
	pthread_mutex_unlock(&s->lock);
	session_put(s);
	return rv;
}

CK_RV soft_EncryptInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{
	return op_init(h, OP_ENCRYPT, m, k);
}

CK_RV soft_Encrypt(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,
		   CK_ULONG_PTR out_len)
{
	return op_oneshot(h, OP_ENCRYPT, in, in_len, out, out_len);
}

CK_RV soft_EncryptUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,
			 CK_ULONG_PTR out_len)
{
	return op_update(h, OP_ENCRYPT, in, in_len, out, out_len);
}

CK_RV soft_EncryptFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	return op_final(h, OP_ENCRYPT, out, out_len);
}

CK_RV soft_DecryptInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{
	return op_init(h, OP_DECRYPT, m, k);
}

CK_RV soft_Decrypt(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,
		   CK_ULONG_PTR out_len)
{
	return op_oneshot(h, OP_DECRYPT, in, in_len, out, out_len);
}

CK_RV soft_DecryptUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,
			 CK_ULONG_PTR out_len)
{
	return op_update(h, OP_DECRYPT, in, in_len, out, out_len);
}

CK_RV soft_DecryptFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	return op_final(h, OP_DECRYPT, out, out_len);
}

CK_RV soft_DigestInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m)
{
	return op_init(h, OP_DIGEST, m, CK_INVALID_HANDLE);
}

CK_RV soft_Digest(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,
		  CK_ULONG_PTR out_len)
{
	return op_oneshot(h, OP_DIGEST, in, in_len, out, out_len);
}

CK_RV soft_DigestUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len)
{
	return op_update(h, OP_DIGEST, in, in_len, NULL, NULL);
}

CK_RV soft_DigestKey(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hKey)
{
	sk_session *s;
	sk_object *key = NULL;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	pthread_mutex_lock(&s->lock);
	if (!s->op[OP_DIGEST]) {
		rv = CKR_OPERATION_NOT_INITIALIZED;
	} else if ((rv = get_key(s, hKey, CK_UNAVAILABLE_INFORMATION, CK_UNAVAILABLE_INFORMATION,
				 CKR_KEY_HANDLE_INVALID, &key)) == CKR_OK) {
		if (key->cls != CKO_SECRET_KEY)
			rv = CKR_KEY_INDIGESTIBLE;
		else
			rv = crypto_op_digest_key(s->op[OP_DIGEST], key);
		if (rv == CKR_OK)
			s->op_multi[OP_DIGEST] = true;
	}
	if (rv != CKR_OK && rv != CKR_OPERATION_NOT_INITIALIZED)
		session_end_op(s, OP_DIGEST);
	pthread_mutex_unlock(&s->lock);
	object_unref(key);
	session_put(s);
	return rv;
}

CK_RV soft_DigestFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	return op_final(h, OP_DIGEST, out, out_len);
}

CK_RV soft_SignInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{
	return op_init(h, OP_SIGN, m, k);
}

CK_RV soft_Sign(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,
		CK_ULONG_PTR out_len)
{
	return op_oneshot(h, OP_SIGN, in, in_len, out, out_len);
}

CK_RV soft_SignUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len)
{
	return op_update(h, OP_SIGN, in, in_len, NULL, NULL);
}

CK_RV soft_SignFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	return op_final(h, OP_SIGN, out, out_len);
}

CK_RV soft_SignRecoverInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{
	return op_init(h, OP_SIGN_RECOVER, m, k);
}

CK_RV soft_SignRecover(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,
		       CK_ULONG_PTR out_len)
{
	return op_oneshot(h, OP_SIGN_RECOVER, in, in_len, out, out_len);
}

CK_RV soft_VerifyInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{
	return op_init(h, OP_VERIFY, m, k);
}

CK_RV soft_Verify(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
		  CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
	sk_session *s;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	pthread_mutex_lock(&s->lock);
	if (!s->op[OP_VERIFY]) {
		rv = CKR_OPERATION_NOT_INITIALIZED;
	} else if ((!pData && ulDataLen) || !pSignature) {
		rv = CKR_ARGUMENTS_BAD;
		session_end_op(s, OP_VERIFY);
	} else if (s->op_multi[OP_VERIFY]) {
		rv = CKR_OPERATION_ACTIVE;
	} else {
		rv = crypto_op_verify(s->op[OP_VERIFY], pData, ulDataLen, pSignature,
				      ulSignatureLen);
		session_end_op(s, OP_VERIFY);
	}
	pthread_mutex_unlock(&s->lock);
	session_put(s);
	return rv;
}

CK_RV soft_VerifyUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len)
{
	return op_update(h, OP_VERIFY, in, in_len, NULL, NULL);
}

CK_RV soft_VerifyFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
	sk_session *s;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	pthread_mutex_lock(&s->lock);
	if (!s->op[OP_VERIFY]) {
		rv = CKR_OPERATION_NOT_INITIALIZED;
	} else if (!pSignature) {
		rv = CKR_ARGUMENTS_BAD;
		session_end_op(s, OP_VERIFY);
	} else if (!crypto_op_multipart(s->op[OP_VERIFY])) {
		rv = CKR_FUNCTION_NOT_SUPPORTED;
		session_end_op(s, OP_VERIFY);
	} else {
		rv = crypto_op_verify_final(s->op[OP_VERIFY], pSignature, ulSignatureLen);
		session_end_op(s, OP_VERIFY);
	}
	pthread_mutex_unlock(&s->lock);
	session_put(s);
	return rv;
}

CK_RV soft_VerifyRecoverInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{
	return op_init(h, OP_VERIFY_RECOVER, m, k);
}

CK_RV soft_VerifyRecover(CK_SESSION_HANDLE h, CK_BYTE_PTR sig, CK_ULONG sig_len, CK_BYTE_PTR out,
			 CK_ULONG_PTR out_len)
{
	return op_oneshot(h, OP_VERIFY_RECOVER, sig, sig_len, out, out_len);
}

/* Dual-function updates: the producing half runs first so that a length
 * query or a short buffer changes nothing. */
static CK_RV dual_update(CK_SESSION_HANDLE hSession, op_kind produce, op_kind consume,
			 bool consume_output, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,
			 CK_ULONG_PTR out_len)
{
	sk_session *s;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	pthread_mutex_lock(&s->lock);
	if (!s->op[produce] || !s->op[consume]) {
		rv = CKR_OPERATION_NOT_INITIALIZED;
	} else {
		rv = op_update_locked(s, produce, in, in_len, out, out_len);
		if (rv == CKR_OK && out) {
			const CK_BYTE *data = consume_output ? out : in;
			CK_ULONG len = consume_output ? *out_len : in_len;
			rv = op_update_locked(s, consume, (CK_BYTE_PTR)data, len, NULL, NULL);
		}
	}
	pthread_mutex_unlock(&s->lock);
	session_put(s);
	return rv;
}

CK_RV soft_DigestEncryptUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len,
			       CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	return dual_update(h, OP_ENCRYPT, OP_DIGEST, false, in, in_len, out, out_len);
}

CK_RV soft_DecryptDigestUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len,
			       CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	return dual_update(h, OP_DECRYPT, OP_DIGEST, true, in, in_len, out, out_len);
}

CK_RV soft_SignEncryptUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,
			     CK_ULONG_PTR out_len)
{
	return dual_update(h, OP_ENCRYPT, OP_SIGN, false, in, in_len, out, out_len);
}

CK_RV soft_DecryptVerifyUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len,
			       CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	return dual_update(h, OP_DECRYPT, OP_VERIFY, true, in, in_len, out, out_len);
}

/* ---- key management ------------------------------------------------------------ */

CK_RV soft_GenerateKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
		       CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phKey)
{
	sk_session *s;
	sk_object *o = NULL;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	if (!pMechanism || !phKey || (!pTemplate && ulCount)) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	const CK_MECHANISM_INFO *mi = mech_info(pMechanism->mechanism);
	if (!mi || !(mi->flags & CKF_GENERATE)) {
		rv = CKR_MECHANISM_INVALID;
		goto out;
	}
	if (!(o = object_new())) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	o->secret_loaded = true;
	if ((rv = object_from_template(ORIGIN_GENERATE, CKO_SECRET_KEY,
				       mech_key_type(pMechanism->mechanism), pTemplate, ulCount,
				       soft_so_logged_in(s), o)) != CKR_OK)
		goto out;
	pthread_mutex_lock(&s->token->lock);
	rv = soft_check_writable(s, o);
	pthread_mutex_unlock(&s->token->lock);
	if (rv != CKR_OK || (rv = crypto_generate_key(pMechanism, o)) != CKR_OK ||
	    (rv = object_finish_key(o, ORIGIN_GENERATE, mech_canonical(pMechanism->mechanism))) != CKR_OK)
		goto out;
	rv = soft_add_object(s, o, phKey);
out:
	object_unref(o);
	session_put(s);
	return rv;
}

CK_RV soft_GenerateKeyPair(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
			   CK_ATTRIBUTE_PTR pPublicKeyTemplate, CK_ULONG ulPublicKeyAttributeCount,
			   CK_ATTRIBUTE_PTR pPrivateKeyTemplate,
			   CK_ULONG ulPrivateKeyAttributeCount, CK_OBJECT_HANDLE_PTR phPublicKey,
			   CK_OBJECT_HANDLE_PTR phPrivateKey)
{
	sk_session *s;
	sk_object *pub = NULL, *priv = NULL;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	if (!pMechanism || !phPublicKey || !phPrivateKey ||
	    (!pPublicKeyTemplate && ulPublicKeyAttributeCount) ||
	    (!pPrivateKeyTemplate && ulPrivateKeyAttributeCount)) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	const CK_MECHANISM_INFO *mi = mech_info(pMechanism->mechanism);
	if (!mi || !(mi->flags & CKF_GENERATE_KEY_PAIR)) {
		rv = CKR_MECHANISM_INVALID;
		goto out;
	}
	CK_KEY_TYPE kt = mech_key_type(pMechanism->mechanism);
	if (!(pub = object_new()) || !(priv = object_new())) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	pub->secret_loaded = priv->secret_loaded = true;
	bool so = soft_so_logged_in(s);
	if ((rv = object_from_template(ORIGIN_GENERATE, CKO_PUBLIC_KEY, kt, pPublicKeyTemplate,
				       ulPublicKeyAttributeCount, so, pub)) != CKR_OK ||
	    (rv = object_from_template(ORIGIN_GENERATE, CKO_PRIVATE_KEY, kt, pPrivateKeyTemplate,
				       ulPrivateKeyAttributeCount, so, priv)) != CKR_OK)
		goto out;
	pthread_mutex_lock(&s->token->lock);
	rv = soft_check_writable(s, pub);
	if (rv == CKR_OK)
		rv = soft_check_writable(s, priv);
	pthread_mutex_unlock(&s->token->lock);
	if (rv != CKR_OK || (rv = crypto_generate_key_pair(pMechanism, pub, priv)) != CKR_OK ||
	    (rv = object_finish_key(pub, ORIGIN_GENERATE, mech_canonical(pMechanism->mechanism))) != CKR_OK ||
	    (rv = object_finish_key(priv, ORIGIN_GENERATE, mech_canonical(pMechanism->mechanism))) != CKR_OK)
		goto out;
	if ((rv = soft_add_object(s, pub, phPublicKey)) != CKR_OK)
		goto out;
	if ((rv = soft_add_object(s, priv, phPrivateKey)) != CKR_OK) {
		pthread_mutex_lock(&s->token->lock);
		token_object_destroy(s->token, pub);
		pthread_mutex_unlock(&s->token->lock);
	}
out:
	object_unref(pub);
	object_unref(priv);
	session_put(s);
	return rv;
}

CK_RV soft_WrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
		   CK_OBJECT_HANDLE hWrappingKey, CK_OBJECT_HANDLE hKey, CK_BYTE_PTR pWrappedKey,
		   CK_ULONG_PTR pulWrappedKeyLen)
{
	sk_session *s;
	sk_object *wk = NULL, *key = NULL;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	if (!pMechanism || !pulWrappedKeyLen) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	const CK_MECHANISM_INFO *mi = mech_info(pMechanism->mechanism);
	if (!mi || !(mi->flags & CKF_WRAP)) {
		rv = CKR_MECHANISM_INVALID;
		goto out;
	}
	if ((rv = get_key(s, hWrappingKey, CKA_WRAP, pMechanism->mechanism,
			  CKR_WRAPPING_KEY_HANDLE_INVALID, &wk)) != CKR_OK ||
	    (rv = get_key(s, hKey, CK_UNAVAILABLE_INFORMATION, CK_UNAVAILABLE_INFORMATION,
			  CKR_KEY_HANDLE_INVALID, &key)) != CKR_OK)
		goto out;
	if (key->cls == CKO_PUBLIC_KEY) {
		rv = CKR_KEY_NOT_WRAPPABLE;
	} else if (!attrs_bool(&key->attrs, CKA_EXTRACTABLE, CK_FALSE)) {
		rv = CKR_KEY_UNEXTRACTABLE;
	} else if (attrs_bool(&key->attrs, CKA_WRAP_WITH_TRUSTED, CK_FALSE) &&
		   !attrs_bool(&wk->attrs, CKA_TRUSTED, CK_FALSE)) {
		rv = CKR_KEY_NOT_WRAPPABLE;
	} else {
		rv = crypto_wrap_key(pMechanism, wk, key, pWrappedKey, pulWrappedKeyLen);
	}
out:
	object_unref(wk);
	object_unref(key);
	session_put(s);
	return rv;
}

CK_RV soft_UnwrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
		     CK_OBJECT_HANDLE hUnwrappingKey, CK_BYTE_PTR pWrappedKey,
		     CK_ULONG ulWrappedKeyLen, CK_ATTRIBUTE_PTR pTemplate,
		     CK_ULONG ulAttributeCount, CK_OBJECT_HANDLE_PTR phKey)
{
	sk_session *s;
	sk_object *uk = NULL, *o = NULL;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	if (!pMechanism || !pWrappedKey || !phKey || (!pTemplate && ulAttributeCount)) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	const CK_MECHANISM_INFO *mi = mech_info(pMechanism->mechanism);
	if (!mi || !(mi->flags & CKF_UNWRAP)) {
		rv = CKR_MECHANISM_INVALID;
		goto out;
	}
	if ((rv = get_key(s, hUnwrappingKey, CKA_UNWRAP, pMechanism->mechanism,
			  CKR_UNWRAPPING_KEY_HANDLE_INVALID, &uk)) != CKR_OK)
		goto out;
	CK_ULONG cls;
	bool found;
	if ((rv = template_ulong(pTemplate, ulAttributeCount, CKA_CLASS, &cls, &found)) != CKR_OK)
		goto out;
	if (!found) {
		rv = CKR_TEMPLATE_INCOMPLETE;
		goto out;
	}
	if (cls != CKO_SECRET_KEY && cls != CKO_PRIVATE_KEY) {
		rv = CKR_TEMPLATE_INCONSISTENT;
		goto out;
	}
	if (!(o = object_new())) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	o->secret_loaded = true;
	if ((rv = object_from_template(ORIGIN_UNWRAP, cls, CK_UNAVAILABLE_INFORMATION, pTemplate,
				       ulAttributeCount, soft_so_logged_in(s), o)) != CKR_OK)
		goto out;
	pthread_mutex_lock(&s->token->lock);
	rv = soft_check_writable(s, o);
	pthread_mutex_unlock(&s->token->lock);
	if (rv != CKR_OK ||
	    (rv = crypto_unwrap_key(pMechanism, uk, pWrappedKey, ulWrappedKeyLen, o)) != CKR_OK ||
	    (rv = object_finish_key(o, ORIGIN_UNWRAP, pMechanism->mechanism)) != CKR_OK)
		goto out;
	rv = soft_add_object(s, o, phKey);
out:
	object_unref(uk);
	object_unref(o);
	session_put(s);
	return rv;
}

CK_RV soft_DeriveKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
		     CK_OBJECT_HANDLE hBaseKey, CK_ATTRIBUTE_PTR pTemplate,
		     CK_ULONG ulAttributeCount, CK_OBJECT_HANDLE_PTR phKey)
{
	sk_session *s;
	sk_object *base = NULL, *o = NULL;
	CK_RV rv = session_get(hSession, &s);
	if (rv != CKR_OK)
		return rv;
	if (!pMechanism || !phKey || (!pTemplate && ulAttributeCount)) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	const CK_MECHANISM_INFO *mi = mech_info(pMechanism->mechanism);
	if (!mi || !(mi->flags & CKF_DERIVE)) {
		rv = CKR_MECHANISM_INVALID;
		goto out;
	}
	if ((rv = get_key(s, hBaseKey, CKA_DERIVE, pMechanism->mechanism, CKR_KEY_HANDLE_INVALID,
			  &base)) != CKR_OK)
		goto out;
	if (!(o = object_new())) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	o->secret_loaded = true;
	if ((rv = object_from_template(ORIGIN_DERIVE, CKO_SECRET_KEY, CK_UNAVAILABLE_INFORMATION,
				       pTemplate, ulAttributeCount, soft_so_logged_in(s), o)) != CKR_OK)
		goto out;
	pthread_mutex_lock(&s->token->lock);
	rv = soft_check_writable(s, o);
	pthread_mutex_unlock(&s->token->lock);
	if (rv != CKR_OK || (rv = crypto_derive_key(pMechanism, base, o)) != CKR_OK ||
	    (rv = object_finish_key(o, ORIGIN_DERIVE, pMechanism->mechanism)) != CKR_OK)
		goto out;
	/* A derived key is only "always sensitive" / "never extractable" if
	 * its base key was. */
	if (!attrs_bool(&base->attrs, CKA_ALWAYS_SENSITIVE, CK_FALSE))
		attrs_put_bool(&o->attrs, CKA_ALWAYS_SENSITIVE, CK_FALSE);
	if (!attrs_bool(&base->attrs, CKA_NEVER_EXTRACTABLE, CK_FALSE))
		attrs_put_bool(&o->attrs, CKA_NEVER_EXTRACTABLE, CK_FALSE);
	rv = soft_add_object(s, o, phKey);
out:
	object_unref(base);
	object_unref(o);
	session_put(s);
	return rv;
}

