/* Slots: one per token database in the token directory, plus always exactly
 * one free slot. Slot IDs come from the file names (token-N.sqlite), so they
 * are stable across restarts, re-initialisation and processes. */
#ifndef SEALKIT_SLOT_H
#define SEALKIT_SLOT_H

#include "pkcs11x.h"

struct sk_token;

/* Rescans the token directory (new tokens made by other processes appear).
 * Called with module.lock held. */
CK_RV slot_refresh(void);
/* The token of a slot, or NULL (CKR_SLOT_ID_INVALID). module.lock held. */
struct sk_token *slot_token(CK_SLOT_ID id);
void slot_free_all(void);
/* Forgets every token without touching its store (after fork). */
void slot_abandon_all(void);

CK_RV slot_get_info(CK_SLOT_ID id, CK_SLOT_INFO *info);

#endif
