/* Proxy slots: the tokens of other PKCS#11 modules (HSMs, USB seal keys,
 * SoftHSMv2) shown as further slots of this module.
 *
 * Configuration (config.h): `proxy = MODULE[:PROFILE]` lines and
 * $SEALKIT_PROXY_MODULE. Each module is loaded with dlopen and initialised
 * once (C_Initialize with CKF_OS_LOCKING_OK and, when configured, its
 * init_args as pReserved); a module that cannot be loaded or initialised is
 * reported on stderr and left out, and the soft tokens work as before.
 *
 * Slot IDs. A device's own slot IDs move (SoftHSMv2 renumbers on
 * initialisation, USB keys get the next free reader), so a proxied token's
 * slot ID is derived from what identifies the token: the FNV-1a hash of
 * its manufacturer ID, model and serial number (label when the serial is
 * blank), folded into PROXY_SLOT_MIN..PROXY_SLOT_MAX. The same token keeps
 * its ID across restarts, processes, re-plugging and module order, with no
 * state on disk; two tokens hashing alike (rare) take the next free ID in
 * the order they are found. Soft token slot IDs stay below PROXY_SLOT_MIN
 * (slot.c).
 *
 * Uninitialised tokens. A device slot whose token is present but not
 * initialised (SoftHSMv2's free slot, a blank USB key) is shown too, so
 * that C_InitToken can reach it. With a serial number it is identified as
 * above, and keeps its ID once initialised. Without one (SoftHSMv2) the
 * device's slot ID stands in for the serial; C_InitToken through us then
 * re-reads the token and keeps the slot ID for the rest of the session,
 * whatever serial and label the device gave it. After a restart such a
 * token is found by its new serial, under the ID that derives from it
 * (stable from then on), and the device's next free slot takes the old
 * free-slot ID. A token initialised by another process is seen as the
 * free slot gone and a new token come.
 *
 * Events. C_WaitForSlotEvent looks at the devices' slot lists and reports
 * a proxied slot whose token was removed, inserted or initialised since
 * the last report (tokens there at C_Initialize are no event); CKF_DONT_BLOCK
 * gives CKR_NO_EVENT when nothing changed, a blocking call looks again
 * every 250 ms until something does or C_Finalize. Soft slots have no
 * events; with no proxied module a blocking call is not supported.
 *
 * Session handles of proxied slots carry PROXY_SESSION_BIT: routing a call
 * (dispatch.c) is a test of the handle. Object handles are the device's own
 * (valid only with sessions of that slot, as PKCS#11 scopes them).
 *
 * Numbers. The application speaks the active profile's codes (profile.h);
 * the device speaks its entry's profile. Mechanisms, CKA_KEY_TYPE,
 * CKA_ALLOWED_MECHANISMS and CKA_KEY_GEN_MECHANISM are translated through
 * our operation codes both ways. What the device lacks is completed where
 * no secret leaves it (ops.c): digests, hash-and-sign over the device's
 * sign-a-digest mechanism (for SM2 with Z from the key's public point and
 * the ID 1234567812345678), multi-part over single-part, raw r||s <-> DER,
 * and SM2 ciphertexts between C1||C3||C2, C1||C2||C3 and DER
 * SEQUENCE{x, y, C3, C2} (`proxy.sm2_ciphertext` names the device's
 * layout when its profile does not).
 *
 * Removal. A device call answering CKR_DEVICE_REMOVED, CKR_TOKEN_NOT_PRESENT,
 * CKR_TOKEN_NOT_RECOGNIZED or CKR_CRYPTOKI_NOT_INITIALIZED (the module lost
 * its state), or a device that stops listing the token, marks the token
 * absent: its sessions answer CKR_DEVICE_REMOVED, its slot
 * CKR_TOKEN_NOT_PRESENT (the slot ID stays in C_GetSlotList(CK_FALSE));
 * other slots, soft or proxied, are not affected. A session the device no
 * longer knows (CKR_SESSION_HANDLE_INVALID / CKR_SESSION_CLOSED for one we
 * hold open: a reset) answers CKR_DEVICE_REMOVED too. Every other device
 * result passes through unchanged. When the token comes back
 * (C_GetSlotList looks), it gets the same slot ID; sessions of
 * before stay dead until closed. */
#ifndef SEALKIT_PROXY_H
#define SEALKIT_PROXY_H

#include <stdbool.h>

#include "../config.h"
#include "../pkcs11x.h"

#define PROXY_SLOT_MIN 0x40000000UL
#define PROXY_SLOT_MAX 0x7FFFFFFFUL
/* Bit 62 on LP64 (bit 30 on 32-bit): soft session handles count up from 1
 * and never get there. */
#define PROXY_SESSION_BIT ((CK_SESSION_HANDLE)1 << (sizeof(CK_SESSION_HANDLE) * 8 - 2))

static inline bool proxy_slot_id(CK_SLOT_ID id)
{
	return id >= PROXY_SLOT_MIN && id <= PROXY_SLOT_MAX;
}

static inline bool proxy_session_handle(CK_SESSION_HANDLE h)
{
	return (h & PROXY_SESSION_BIT) != 0;
}

/* C_Initialize (module.lock held): loads the configured modules and finds
 * their tokens. Only out-of-memory and a configuration error (an unknown
 * profile) fail. */
CK_RV proxy_start(const sk_config *cfg);
/* C_Finalize: closes our sessions and finalises and unloads the modules. */
void proxy_stop(void);
/* In a forked child: forgets the parent's state without calling the
 * modules (the next C_Initialize starts over). */
void proxy_abandon(void);
/* Looks for tokens come and gone, then appends the proxied slots'
 * IDs: all of them, or those with a token present. `list` may be NULL;
 * *n counts every slot whether or not it fitted in `max`. */
CK_RV proxy_slot_list(bool present_only, CK_SLOT_ID *list, CK_ULONG max, CK_ULONG *n);
/* C_WaitForSlotEvent's poll: looks for tokens come and gone, and gives
 * one proxied slot whose token was inserted, removed or initialised since
 * the last report (or since C_Initialize); CKR_NO_EVENT when none. */
CK_RV proxy_slot_event(CK_SLOT_ID *slot);
/* Whether any module is proxied (a blocking wait has something to wait for). */
bool proxy_active(void);

/* The functions for proxied slots and sessions, in a function list's shape
 * (module-wide entries are NULL). */
extern const CK_FUNCTION_LIST_3_0 proxy_backend;

#endif
