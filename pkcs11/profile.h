/* Vendor numbering profiles (spec/pkcs11-sm.md 1.2-1.6).
 *
 * Chinese HSMs and USB seal keys give SM2/SM3/SM4 vendor-defined numbers,
 * and the same number means different things on different products. A
 * profile maps a vendor's numbers to our operations, both ways: codes a
 * caller passes are read through it, and every code or key type the token
 * reports (mechanism list, CKA_KEY_TYPE, CKA_KEY_GEN_MECHANISM,
 * CKA_ALLOWED_MECHANISMS) is written through it. Behaviour is part of the
 * operation a code names (Z or not, raw or DER, ciphertext order), so a
 * vendor's quirks come with its numbers.
 *
 * Standard codes (below CKM_VENDOR_DEFINED) pass unchanged. A vendor-range
 * code the profile does not know is refused, so our internal SKI_ codes
 * never reach a caller and are never accepted from one. */
#ifndef SEALKIT_PROFILE_H
#define SEALKIT_PROFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "pkcs11x.h"

/* Operations no canonical code names: only vendor profiles offer them.
 * Stored in CKA_ALLOWED_MECHANISMS / CKA_KEY_GEN_MECHANISM, so the values
 * are fixed for good. */
#define SKI_BASE 0x8F534B00UL
#define SKI_SM2_SM3_NOZ (SKI_BASE + 1)        /* e = SM3(M), raw r||s (Sansec 0x80008100) */
#define SKI_SM2_SM3_NOZ_DER (SKI_BASE + 2)    /* e = SM3(M), DER */
#define SKI_SM2_DER (SKI_BASE + 3)            /* e in, DER out (TASS, Sansec 0x80008104) */
#define SKI_SM2_ENCRYPT_C1C2C3 (SKI_BASE + 4) /* pre-2012 ciphertext order */

typedef struct sk_profile sk_profile;

/* Builds the profile the configuration names (canonical when none), with
 * its overrides. A name we do not know, an override naming an unknown
 * operation, or two meanings for one code is refused with a message on
 * stderr that says which line and which codes. */
CK_RV profile_build(const sk_config *cfg, sk_profile **out);
void profile_free(sk_profile *p);

/* The profile every lookup uses; NULL restores the canonical one. Set by
 * C_Initialize, cleared by C_Finalize. */
void profile_activate(const sk_profile *p);
const sk_profile *profile_active(void);
const char *profile_name(const sk_profile *p);

/* Caller's code -> our operation (CK_UNAVAILABLE_INFORMATION when unknown). */
CK_MECHANISM_TYPE profile_mech_in(const sk_profile *p, CK_MECHANISM_TYPE code);
/* Our operation -> the profile's primary code; false when not offered. */
bool profile_mech_out(const sk_profile *p, CK_MECHANISM_TYPE op, CK_MECHANISM_TYPE *code);
CK_KEY_TYPE profile_key_in(const sk_profile *p, CK_KEY_TYPE code);
CK_KEY_TYPE profile_key_out(const sk_profile *p, CK_KEY_TYPE kt);

/* The shipped profiles' names; NULL past the last. */
const char *profile_name_at(size_t i);

#endif
