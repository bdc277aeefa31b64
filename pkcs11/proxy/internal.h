/* Private state of the proxy (not for the rest of the module). */
#ifndef SEALKIT_PROXY_INTERNAL_H
#define SEALKIT_PROXY_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "../crypto/crypto.h"
#include "../profile.h"
#include "../util/map.h"
#include "proxy.h"

/* One loaded module. */
typedef struct px_module {
	char *path;
	char *init_args;
	CK_MECHANISM_TYPE *ignore;
	size_t n_ignore;
	sk_profile *prof; /* the device's numbering */
	void *dl;
	CK_FUNCTION_LIST *fl;
	bool initialized; /* its C_Initialize succeeded: C_Finalize it */
} px_module;

/* A mechanism the device offers, read through its profile. */
typedef struct px_mech {
	CK_MECHANISM_TYPE op;   /* our operation code */
	CK_MECHANISM_TYPE code; /* the device's code */
	CK_MECHANISM_INFO info;
} px_mech;

/* A proxied token. Never freed while the module is initialised, so
 * sessions may point at it. */
typedef struct px_slot {
	CK_SLOT_ID id; /* ours */
	px_module *mod;
	CK_SLOT_ID dev;      /* the device's slot ID now; guarded by px.lock */
	char ident[32 + 16 + 16 + 32 + 8]; /* manufacturer|model|serial (or label) */
	atomic_bool present;
	/* The token is not initialised (CKF_TOKEN_INITIALIZED clear). */
	atomic_bool uninit;
	/* What C_WaitForSlotEvent last reported (px.lock). */
	bool ev_present, ev_uninit;
	unsigned long ev_generation;
	bool seen; /* listed by the device in the scan under way (px.lock) */
	/* Bumped each time the token comes back: older sessions are dead. */
	atomic_ulong generation;
	/* The device's mechanisms, sorted by op; replaced (under px.lock)
	 * only while no session is open on the slot. */
	px_mech *mechs;
	size_t n_mechs;
} px_slot;

/* How an operation is carried out. */
typedef enum px_mode {
	PXM_DIRECT,  /* the device's mechanism, maybe with a signature format change */
	PXM_BUFFER,  /* the device's single-part mechanism under multi-part calls */
	PXM_HASH,    /* we hash, the device signs or verifies the digest */
	PXM_SOFT,    /* a digest computed here */
	PXM_CT       /* SM2 encryption, the ciphertext re-encoded (input held) */
} px_mode;

/* Signature format change between the application and the device. */
typedef enum px_conv { PXC_NONE, PXC_DER_TO_RAW, PXC_RAW_TO_DER } px_conv;

typedef struct px_op {
	bool active;
	px_mode mode;
	px_conv conv;   /* device signature -> application signature */
	size_t half;    /* r and s size for conversions */
	CK_MECHANISM dev_mech;
	void *dev_param; /* our copy of the parameter */
	CK_OBJECT_HANDLE key;
	bool multi;     /* an update happened: single-part calls refused */
	/* PXM_HASH */
	void *md;       /* EVP_MD_CTX */
	const unsigned char *prefix; /* DigestInfo before the hash (RSA PKCS#1) */
	size_t prefix_len;
	unsigned char digest[64 + 32]; /* prefix + hash, once computed */
	size_t digest_len;
	bool have_digest;
	/* PXM_BUFFER */
	unsigned char *buf;
	size_t len, cap;
	/* PXM_SOFT */
	crypto_op *soft;
	/* PXM_CT: the application's and the device's ciphertext layouts
	 * (CKM_SM2_ENCRYPT, CKM_SM2_ENCRYPT_DER, SKI_SM2_ENCRYPT_C1C2C3) */
	CK_MECHANISM_TYPE ct_app, ct_dev;
	/* A result made here that did not fit the caller's buffer: kept for
	 * the retry (the device's operation is over). */
	unsigned char *pending;
	size_t pending_len;
	bool pending_set;
} px_op;

typedef struct px_session {
	CK_SESSION_HANDLE handle; /* ours */
	CK_SESSION_HANDLE dev;
	px_slot *slot;
	unsigned long generation;
	CK_FLAGS flags;
	atomic_int refs;
	atomic_bool closed;
	atomic_bool dead; /* the device lost it */
	/* Guards the operations; device calls for them run under it. */
	pthread_mutex_t lock;
	px_op op[OP_KINDS];
} px_session;

typedef struct px_state {
	/* Guards modules, slots and the session table. Never held across a
	 * device call except while finding tokens (proxy_slot_list). */
	pthread_mutex_t lock;
	bool started;
	ptrvec modules; /* px_module * */
	ptrvec slots;   /* px_slot * */
	u64map sessions;
	atomic_ulong next_session;
} px_state;

extern px_state px;

/* ---- devices.c ---- */
/* The slot of one of our IDs, or NULL. */
px_slot *px_slot_find(CK_SLOT_ID id);
/* The slot, present: CKR_SLOT_ID_INVALID / CKR_TOKEN_NOT_PRESENT. Also
 * checks the module is initialised. */
CK_RV px_slot_get(CK_SLOT_ID id, px_slot **out);
/* The device's current slot ID. */
CK_SLOT_ID px_slot_dev(px_slot *sl);
/* Whether a device result means the token is gone. */
bool px_gone(CK_RV rv);
/* After a device call on a slot: a "gone" result marks the token absent
 * and becomes CKR_TOKEN_NOT_PRESENT; others pass (so does
 * CKR_TOKEN_NOT_RECOGNIZED from an uninitialised token). */
CK_RV px_slot_result(px_slot *sl, CK_RV rv);
/* After C_InitToken through us: the token's identity as it is now (an
 * uninitialised token's serial and label may have been blank), so that
 * scans keep finding it under the same slot ID. */
void px_slot_initialized(px_slot *sl);
/* The device mechanism for our operation, NULL when not offered. */
const px_mech *px_mech_for(const px_slot *sl, CK_MECHANISM_TYPE op);

/* ---- sessions (devices.c) ---- */
/* A live session (with a reference): CKR_SESSION_HANDLE_INVALID, and
 * CKR_DEVICE_REMOVED when its token went away. */
CK_RV px_session_get(CK_SESSION_HANDLE h, px_session **out);
void px_session_put(px_session *s);
CK_RV px_session_add(px_slot *sl, CK_SESSION_HANDLE dev, CK_FLAGS flags, CK_SESSION_HANDLE *out);
/* Takes a session out of the table; the caller closes it on the device. */
px_session *px_session_remove(CK_SESSION_HANDLE h);
/* After a device call on a session: a "gone" result marks session and
 * token, and becomes CKR_DEVICE_REMOVED; others pass. */
CK_RV px_result(px_session *s, CK_RV rv);
void px_op_clear(px_op *op);

static inline CK_FUNCTION_LIST *px_fl(const px_session *s)
{
	return s->slot->mod->fl;
}

/* ---- translate.c ---- */
/* The application's mechanism code as our operation; CK_UNAVAILABLE_INFORMATION
 * when unknown. */
CK_MECHANISM_TYPE px_op_of(CK_MECHANISM_TYPE app_code);
/* Our operation as the application's code; false when it has none. */
bool px_app_code(CK_MECHANISM_TYPE op, CK_MECHANISM_TYPE *code);
/* A template for the device: a copy with key types and mechanism codes in
 * its numbering, or the caller's own when nothing needs changing. Free
 * *tmp (may be NULL) afterwards. */
CK_RV px_template_in(const px_slot *sl, CK_ATTRIBUTE *in, CK_ULONG n, CK_ATTRIBUTE **out,
		     void **tmp);
/* Attribute values the device returned, into the application's numbering. */
void px_template_out(const px_slot *sl, CK_ATTRIBUTE *t, CK_ULONG n);
/* The mechanisms we show for a slot: the device's and what we complete. */
CK_RV px_mech_list(const px_slot *sl, CK_MECHANISM_TYPE *list, CK_ULONG max, CK_ULONG *n);
CK_RV px_mech_info(const px_slot *sl, CK_MECHANISM_TYPE app_code, CK_MECHANISM_INFO *info);

/* ---- ops.c ---- */
CK_RV px_op_init(CK_SESSION_HANDLE h, op_kind kind, CK_MECHANISM *m, CK_OBJECT_HANDLE key);
CK_RV px_op_oneshot(CK_SESSION_HANDLE h, op_kind kind, CK_BYTE *in, CK_ULONG in_len, CK_BYTE *out,
		    CK_ULONG *out_len);
CK_RV px_op_update(CK_SESSION_HANDLE h, op_kind kind, CK_BYTE *in, CK_ULONG in_len, CK_BYTE *out,
		   CK_ULONG *out_len);
CK_RV px_op_final(CK_SESSION_HANDLE h, op_kind kind, CK_BYTE *out, CK_ULONG *out_len);
CK_RV px_verify(CK_SESSION_HANDLE h, CK_BYTE *data, CK_ULONG data_len, CK_BYTE *sig,
		CK_ULONG sig_len);
CK_RV px_verify_final(CK_SESSION_HANDLE h, CK_BYTE *sig, CK_ULONG sig_len);
CK_RV px_dual_update(CK_SESSION_HANDLE h, op_kind produce, op_kind consume, bool consume_output,
		     CK_BYTE *in, CK_ULONG in_len, CK_BYTE *out, CK_ULONG *out_len);
CK_RV px_digest_key(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE key);
/* Whether ops.c can complete `op` for a kind on this slot (for the list). */
bool px_can_complete(const px_slot *sl, CK_MECHANISM_TYPE op, CK_MECHANISM_INFO *info);

/* ---- complete.c: the software halves ---- */
/* The hash of a hash-and-sign operation or digest (NULL when none). */
const char *px_hash_name(CK_MECHANISM_TYPE op);
/* The DER DigestInfo prefix for an RSA PKCS#1 v1.5 signature. */
bool px_digest_info(CK_MECHANISM_TYPE op, const unsigned char **prefix, size_t *len);
/* Starts a hash; for SM2 with Z, Z of `point` (04||X||Y) and `id` first. */
CK_RV px_hash_new(const char *name, void **md);
CK_RV px_hash_z(void *md, const unsigned char *point, size_t point_len, const unsigned char *id,
		size_t id_len);
CK_RV px_hash_update(void *md, const unsigned char *in, size_t len);
CK_RV px_hash_final(void *md, unsigned char *out, size_t *len);
void px_hash_free(void *md);
/* The point inside CKA_EC_POINT (DER OCTET STRING or bare). */
bool px_ec_point(const unsigned char *v, size_t len, const unsigned char **pt, size_t *pt_len);

#endif
