/* Vendor numbering profiles: the tables of spec/pkcs11-sm.md 1.3 and how a
 * profile is put together (profile.h says what one is).
 *
 * A profile is built in this order, every step refusing a code that would
 * get a second meaning:
 *   1. the vendor's own codes (the first code of an operation is primary);
 *   2. the configuration's overrides, which replace an operation's codes;
 *   3. canonical codes for what the vendor does not number, where free;
 *   4. the unambiguous aliases of spec 1.6, where free;
 * then the behaviour settings (sm2_sign_z, sm2_signature, sm2_ciphertext)
 * turn every SM2 operation into its variant. Steps 3 and 4 skip taken codes
 * silently: a vendor's meaning always wins over ours. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "profile.h"

typedef struct code_pair {
	CK_ULONG code, op;
} code_pair;

typedef struct profile_def {
	const char *name;
	const code_pair *mechs;
	size_t n_mechs;
	const code_pair *keys;
	size_t n_keys;
} profile_def;

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Names of the operations a configuration may renumber. */
static const struct op_name {
	const char *name;
	CK_ULONG op;
} mech_names[] = {
	{"sm2_key_pair_gen", CKM_SM2_KEY_PAIR_GEN},
	{"sm2_sm3", CKM_SM2_SM3},
	{"sm2_sm3_der", CKM_SM2_SM3_DER},
	{"sm2_sm3_noz", SKI_SM2_SM3_NOZ},
	{"sm2_sm3_noz_der", SKI_SM2_SM3_NOZ_DER},
	{"sm2_sign", CKM_SM2},
	{"sm2_sign_der", SKI_SM2_DER},
	{"sm2_encrypt", CKM_SM2_ENCRYPT},
	{"sm2_encrypt_der", CKM_SM2_ENCRYPT_DER},
	{"sm2_encrypt_c1c2c3", SKI_SM2_ENCRYPT_C1C2C3},
	{"sm3", CKM_SM3},
	{"sm3_hmac", CKM_SM3_HMAC},
	{"sm3_hmac_general", CKM_SM3_HMAC_GENERAL},
	{"sm4_key_gen", CKM_SM4_KEY_GEN},
	{"sm4_ecb", CKM_SM4_ECB},
	{"sm4_cbc", CKM_SM4_CBC},
	{"sm4_cbc_pad", CKM_SM4_CBC_PAD},
	{"sm4_ecb_pad", CKM_SM4_ECB_PAD},
	{"sm4_ctr", CKM_SM4_CTR},
	{"sm4_gcm", CKM_SM4_GCM},
	{"sm4_mac", CKM_SM4_MAC},
	{"sm4_mac_general", CKM_SM4_MAC_GENERAL},
},
  key_names[] = {
	  {"sm2", CKK_SM2},
	  {"sm4", CKK_SM4},
};

/* Sansec (swpkcs11.h, xipki's map): 0x80008100 hashes M without Z; the
 * APPID1 codes add Z; 0x80008104 signs a digest with DER output, 0x80008105
 * without. */
static const code_pair sansec_mechs[] = {
	{0x80008001UL, CKM_SM2_KEY_PAIR_GEN},
	{0x80008102UL, CKM_SM2_SM3},
	{0x80008103UL, CKM_SM2_SM3_DER},
	{0x80008100UL, SKI_SM2_SM3_NOZ},
	{0x80008101UL, SKI_SM2_SM3_NOZ_DER},
	{0x80008105UL, CKM_SM2},
	{0x80008104UL, SKI_SM2_DER},
	{0x80008200UL, CKM_SM2_ENCRYPT},
	{0x80008201UL, CKM_SM2_ENCRYPT_DER},
	{0x80009001UL, CKM_SM3},
	{0x80000107UL, CKM_SM4_KEY_GEN},
	{0x80000108UL, CKM_SM4_ECB},
	{0x80000109UL, CKM_SM4_CBC},
	{0x8000A201UL, CKM_SM4_CBC_PAD},
	{0x8000A102UL, CKM_SM4_CBC_PAD}, /* xipki's Sansec map */
	{0x8000A101UL, CKM_SM4_ECB_PAD},
	{0x8000010AUL, CKM_SM4_CTR},
};
static const code_pair sansec_keys[] = {{0x80000004UL, CKK_SM2}, {0x80000106UL, CKK_SM4}};

/* TASS (xipki's map): signatures are X9.62 DER; 0x80008000 signs a digest;
 * 0x8000010A/B are SM4-MAC (CTR elsewhere); SM4 keys are 0x80000002. */
static const code_pair tass_mechs[] = {
	{0x80008001UL, CKM_SM2_KEY_PAIR_GEN},
	{0x80008100UL, CKM_SM2_SM3_DER},
	{0x80008000UL, SKI_SM2_DER},
	{0x80008200UL, CKM_SM2_ENCRYPT},
	{0x80000005UL, CKM_SM3},
	{0x80000007UL, CKM_SM3_HMAC},
	{0x80000008UL, CKM_SM3_HMAC_GENERAL},
	{0x80000107UL, CKM_SM4_KEY_GEN},
	{0x80000108UL, CKM_SM4_ECB},
	{0x80000109UL, CKM_SM4_CBC},
	{0x8000010CUL, CKM_SM4_CBC_PAD},
	{0x8000010AUL, CKM_SM4_MAC},
	{0x8000010BUL, CKM_SM4_MAC_GENERAL},
};
static const code_pair tass_keys[] = {{0x80000004UL, CKK_SM2}, {0x80000002UL, CKK_SM4}};

/* Koal (its TCKM_ enum): Family A's SM2 core, SM3 at 0x80000005/6, the only
 * public SM4-GCM code. */
static const code_pair koal_mechs[] = {
	{0x80008001UL, CKM_SM2_KEY_PAIR_GEN},
	{0x80008002UL, CKM_SM2_KEY_PAIR_GEN}, /* "encryption key pair" */
	{0x80008100UL, CKM_SM2_SM3},
	{0x80008101UL, CKM_SM2_SM3_DER},
	{0x80008104UL, CKM_SM2},
	{0x80008200UL, CKM_SM2_ENCRYPT},
	{0x80000005UL, CKM_SM3},
	{0x80000006UL, CKM_SM3},
	{0x80000107UL, CKM_SM4_KEY_GEN},
	{0x80000108UL, CKM_SM4_ECB},
	{0x80000109UL, CKM_SM4_CBC},
	{0x8000010CUL, CKM_SM4_CBC_PAD},
	{0x8000A101UL, CKM_SM4_ECB_PAD},
	{0x8000010FUL, CKM_SM4_GCM},
};
static const code_pair koal_keys[] = {{0x80000004UL, CKK_SM2}, {0x80000106UL, CKK_SM4}};

/* Thales Luna (cryptoki_v2.h), also Trustonic's TEE HSM. */
static const code_pair luna_mechs[] = {
	{0x80000B20UL, CKM_SM2_KEY_PAIR_GEN},
	{0x80000B22UL, CKM_SM2_SM3},
	{0x80000B21UL, CKM_SM2},
	{0x80000B01UL, CKM_SM3},
	{0x80000B02UL, CKM_SM3_HMAC},
	{0x80000B03UL, CKM_SM3_HMAC_GENERAL},
	{0x80000B10UL, CKM_SM4_KEY_GEN},
	{0x80000B11UL, CKM_SM4_ECB},
	{0x80000B12UL, CKM_SM4_CBC},
	{0x80000B13UL, CKM_SM4_CBC_PAD},
};
static const code_pair luna_keys[] = {{0x80000016UL, CKK_SM2}, {0x80000015UL, CKK_SM4}};

/* IBM EP11 (openCryptoki, ZzySoftHsmGM). Mechanism and key type numbers
 * overlap (0x80050001 is both), which is fine: separate name spaces. */
static const code_pair ibm_mechs[] = {
	{0x8005000AUL, CKM_SM2_KEY_PAIR_GEN},
	{0x8005000CUL, CKM_SM2_SM3},
	{0x8005000BUL, CKM_SM2},
	{0x8005000DUL, CKM_SM2_ENCRYPT},
	{0x8005000EUL, CKM_SM3},
	{0x80050001UL, CKM_SM4_KEY_GEN},
	{0x80050004UL, CKM_SM4_ECB},
	{0x80050002UL, CKM_SM4_CBC},
	{0x80058007UL, CKM_SM4_MAC},
	{0x80050007UL, CKM_SM4_MAC_GENERAL},
};
static const code_pair ibm_keys[] = {{0x80050002UL, CKK_SM2}, {0x80050001UL, CKK_SM4}};

static const profile_def profiles[] = {
	{"canonical", NULL, 0, NULL, 0},
	{"sansec", sansec_mechs, N(sansec_mechs), sansec_keys, N(sansec_keys)},
	{"tass", tass_mechs, N(tass_mechs), tass_keys, N(tass_keys)},
	{"koal", koal_mechs, N(koal_mechs), koal_keys, N(koal_keys)},
	{"luna", luna_mechs, N(luna_mechs), luna_keys, N(luna_keys)},
	{"ibm-ep11", ibm_mechs, N(ibm_mechs), ibm_keys, N(ibm_keys)},
};

/* Spec 1.6: other vendors' codes no vendor uses for anything else. */
static const code_pair mech_aliases[] = {
	{0x80000B22UL, CKM_SM2_SM3},	      /* Luna CKM_SM3_SM2DSA */
	{0x8005000CUL, CKM_SM2_SM3},	      /* IBM CKM_IBM_SM2_SM3 */
	{0x80008105UL, CKM_SM2},	      /* Sansec CKM_SM2_SIGN_NO_DER */
	{0x80000B21UL, CKM_SM2},	      /* Luna CKM_SM2DSA */
	{0x8005000BUL, CKM_SM2},	      /* IBM CKM_IBM_SM2 */
	{0x80000B20UL, CKM_SM2_KEY_PAIR_GEN}, /* Luna */
	{0x8005000AUL, CKM_SM2_KEY_PAIR_GEN}, /* IBM */
	{0x8005000DUL, CKM_SM2_ENCRYPT},      /* IBM CKM_IBM_SM2_ENCRYPT */
	{0x80000B01UL, CKM_SM3},	      /* Luna */
	{0x8005000EUL, CKM_SM3},	      /* IBM, openCryptoki */
	{0x80000B10UL, CKM_SM4_KEY_GEN},      /* Luna */
	{0x80000B11UL, CKM_SM4_ECB},	      /* Luna */
	{0x80000B12UL, CKM_SM4_CBC},	      /* Luna */
	{0x80000B13UL, CKM_SM4_CBC_PAD},      /* Luna */
	{0x8000A201UL, CKM_SM4_CBC_PAD},      /* Sansec, ChainMaker */
	{0x80534D5AUL, CKM_SM4_CTR},	      /* NXP imx-smw */
};
static const code_pair key_aliases[] = {
	{0x80000016UL, CKK_SM2}, /* Luna */
	{0x80050002UL, CKK_SM2}, /* IBM */
	{0x80000015UL, CKK_SM4}, /* Luna */
	{0x80050001UL, CKK_SM4}, /* IBM */
};

/* One direction of one name space: entries in the order they were added
 * (the first per operation is primary), sorted copies for lookups. */
typedef struct code_map {
	code_pair *items;
	size_t count;
	code_pair *by_code, *by_op;
	size_t n_code, n_op;
} code_map;

struct sk_profile {
	char *name;
	code_map mechs, keys;
};

static const char *op_label(const struct op_name *names, size_t n, CK_ULONG op, char *buf,
			    size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (names[i].op == op)
			return names[i].name;
	snprintf(buf, len, "0x%08lX", op);
	return buf;
}

static code_pair *map_find_code(code_map *m, CK_ULONG code)
{
	for (size_t i = 0; i < m->count; i++)
		if (m->items[i].code == code)
			return &m->items[i];
	return NULL;
}

/* Adds code -> op. A code already meaning op is fine; one meaning something
 * else is a collision: refused when `strict` (with a message naming
 * `where`), skipped otherwise. */
static CK_RV map_add(code_map *m, CK_ULONG code, CK_ULONG op, bool strict, bool key,
		     const char *where)
{
	code_pair *have = map_find_code(m, code);
	char a[16], b[16];

	if (have && have->op == op)
		return CKR_OK;
	if (have) {
		if (!strict)
			return CKR_OK;
		const struct op_name *names = key ? key_names : mech_names;
		size_t n = key ? N(key_names) : N(mech_names);
		fprintf(stderr,
			"sealkit-pkcs11: %s: %s 0x%08lX would mean both %s and %s; "
			"give each code one meaning\n",
			where, key ? "key type" : "mechanism", code,
			op_label(names, n, have->op, a, sizeof a), op_label(names, n, op, b, sizeof b));
		return CKR_GENERAL_ERROR;
	}
	code_pair *items = realloc(m->items, (m->count + 1) * sizeof *items);
	if (!items)
		return CKR_HOST_MEMORY;
	m->items = items;
	items[m->count++] = (code_pair){code, op};
	return CKR_OK;
}

static void map_remove_op(code_map *m, CK_ULONG op)
{
	size_t w = 0;
	for (size_t i = 0; i < m->count; i++)
		if (m->items[i].op != op)
			m->items[w++] = m->items[i];
	m->count = w;
}

static int cmp_code(const void *a, const void *b)
{
	CK_ULONG x = ((const code_pair *)a)->code, y = ((const code_pair *)b)->code;
	return x < y ? -1 : x > y;
}

static int cmp_op(const void *a, const void *b)
{
	CK_ULONG x = ((const code_pair *)a)->op, y = ((const code_pair *)b)->op;
	return x < y ? -1 : x > y;
}

/* Sorted lookup copies; by_op keeps only each operation's primary code (the
 * sort is not stable, so primaries are picked before sorting). */
static CK_RV map_finish(code_map *m)
{
	size_t n = m->count ? m->count : 1, nops = 0;

	m->by_code = malloc(n * sizeof *m->by_code);
	m->by_op = malloc(n * sizeof *m->by_op);
	if (!m->by_code || !m->by_op)
		return CKR_HOST_MEMORY;
	memcpy(m->by_code, m->items, m->count * sizeof *m->items);
	qsort(m->by_code, m->count, sizeof *m->by_code, cmp_code);
	for (size_t i = 0; i < m->count; i++) {
		bool seen = false;
		for (size_t j = 0; j < nops && !seen; j++)
			seen = m->by_op[j].op == m->items[i].op;
		if (!seen)
			m->by_op[nops++] = m->items[i];
	}
	qsort(m->by_op, nops, sizeof *m->by_op, cmp_op);
	m->n_code = m->count;
	m->n_op = nops;
	return CKR_OK;
}

static void map_free(code_map *m)
{
	free(m->items);
	free(m->by_code);
	free(m->by_op);
}

/* The SM2 variant an operation becomes under the behaviour settings. */
static CK_ULONG behave(const sk_config *cfg, CK_ULONG op)
{
	static const struct {
		CK_ULONG op;
		int z, der; /* message-in signatures */
	} msg[] = {
		{CKM_SM2_SM3, 1, 0},
		{CKM_SM2_SM3_DER, 1, 1},
		{SKI_SM2_SM3_NOZ, 0, 0},
		{SKI_SM2_SM3_NOZ_DER, 0, 1},
	};
	for (size_t i = 0; i < N(msg); i++) {
		if (msg[i].op != op)
			continue;
		int z = cfg->sm2_sign_z != SK_UNSET ? cfg->sm2_sign_z : msg[i].z;
		int der = cfg->sm2_signature != SK_UNSET ? cfg->sm2_signature == SIG_DER
							 : msg[i].der;
		for (size_t j = 0; j < N(msg); j++)
			if (msg[j].z == z && msg[j].der == der)
				return msg[j].op;
	}
	if ((op == CKM_SM2 || op == SKI_SM2_DER) && cfg->sm2_signature != SK_UNSET)
		return cfg->sm2_signature == SIG_DER ? SKI_SM2_DER : CKM_SM2;
	if ((op == CKM_SM2_ENCRYPT || op == CKM_SM2_ENCRYPT_DER || op == SKI_SM2_ENCRYPT_C1C2C3) &&
	    cfg->sm2_ciphertext != SK_UNSET)
		return cfg->sm2_ciphertext == CT_DER	  ? CKM_SM2_ENCRYPT_DER
		       : cfg->sm2_ciphertext == CT_C1C2C3 ? SKI_SM2_ENCRYPT_C1C2C3
							  : CKM_SM2_ENCRYPT;
	return op;
}

static CK_RV apply_override(sk_profile *p, const sk_code_override *ov)
{
	const struct op_name *names = ov->key_type ? key_names : mech_names;
	size_t n = ov->key_type ? N(key_names) : N(mech_names);
	code_map *m = ov->key_type ? &p->keys : &p->mechs;
	CK_ULONG op = CK_UNAVAILABLE_INFORMATION;
	CK_RV rv = CKR_OK;

	for (size_t i = 0; i < n; i++)
		if (!strcmp(names[i].name, ov->name))
			op = names[i].op;
	if (op == CK_UNAVAILABLE_INFORMATION) {
		fprintf(stderr, "sealkit-pkcs11: %s: no %s named '%s'; known:", ov->where,
			ov->key_type ? "key type" : "operation", ov->name);
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, " %s", names[i].name);
		fputc('\n', stderr);
		return CKR_GENERAL_ERROR;
	}
	map_remove_op(m, op);
	for (size_t i = 0; i < ov->n_codes && rv == CKR_OK; i++)
		rv = map_add(m, ov->codes[i], op, true, ov->key_type, ov->where);
	return rv;
}

static bool overridden(const sk_code_override *ov, size_t n, bool key, CK_ULONG op)
{
	const struct op_name *names = key ? key_names : mech_names;
	size_t nn = key ? N(key_names) : N(mech_names);
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < nn; j++)
			if (ov[i].key_type == key && names[j].op == op &&
			    !strcmp(ov[i].name, names[j].name))
				return true;
	return false;
}

/* Canonical codes, then the spec's aliases. Internal-only operations get no
 * code. `strict` for the canonical profile, whose own codes these are. */
static CK_RV add_canonical(sk_profile *p, bool strict, const sk_code_override *ov, size_t n_ov)
{
	const char *where = "profile canonical";
	CK_RV rv = CKR_OK;
	CK_ULONG op;

	for (size_t i = 0; rv == CKR_OK && (op = mech_op_at(i)) != CK_UNAVAILABLE_INFORMATION;
	     i++)
		if (op >= CKM_VENDOR_DEFINED && op < SKI_BASE && !overridden(ov, n_ov, false, op))
			rv = map_add(&p->mechs, op, op, strict, false, where);
	for (size_t i = 0; i < N(key_names) && rv == CKR_OK; i++)
		if (!overridden(ov, n_ov, true, key_names[i].op))
			rv = map_add(&p->keys, key_names[i].op, key_names[i].op, strict, true,
				     where);
	for (size_t i = 0; i < N(mech_aliases) && rv == CKR_OK; i++)
		if (!overridden(ov, n_ov, false, mech_aliases[i].op))
			rv = map_add(&p->mechs, mech_aliases[i].code, mech_aliases[i].op, strict,
				     false, where);
	for (size_t i = 0; i < N(key_aliases) && rv == CKR_OK; i++)
		if (!overridden(ov, n_ov, true, key_aliases[i].op))
			rv = map_add(&p->keys, key_aliases[i].code, key_aliases[i].op, strict,
				     true, where);
	return rv;
}

static const profile_def *find_def(const char *name)
{
	for (size_t i = 0; i < N(profiles); i++)
		if (!strcmp(profiles[i].name, name))
			return &profiles[i];
	return NULL;
}

CK_RV profile_build(const sk_config *cfg, sk_profile **out)
{
	const char *name = cfg->profile ? cfg->profile : "canonical";
	const profile_def *def = find_def(name);
	char where[64];
	sk_profile *p;
	CK_RV rv = CKR_OK;

	*out = NULL;
	if (!def) {
		fprintf(stderr, "sealkit-pkcs11: unknown profile '%s'; known:", name);
		for (size_t i = 0; i < N(profiles); i++)
			fprintf(stderr, " %s", profiles[i].name);
		fputc('\n', stderr);
		return CKR_GENERAL_ERROR;
	}
	if (!(p = calloc(1, sizeof *p)) || !(p->name = strdup(def->name))) {
		free(p);
		return CKR_HOST_MEMORY;
	}
	snprintf(where, sizeof where, "profile %s", def->name);
	/* The canonical profile's own codes are the canonical ones. */
	bool own = def->n_mechs == 0;
	for (size_t i = 0; i < def->n_mechs && rv == CKR_OK; i++)
		rv = map_add(&p->mechs, def->mechs[i].code, def->mechs[i].op, true, false, where);
	for (size_t i = 0; i < def->n_keys && rv == CKR_OK; i++)
		rv = map_add(&p->keys, def->keys[i].code, def->keys[i].op, true, true, where);
	if (rv == CKR_OK && own)
		rv = add_canonical(p, true, NULL, 0);
	for (size_t i = 0; i < cfg->n_overrides && rv == CKR_OK; i++)
		rv = apply_override(p, &cfg->overrides[i]);
	/* Canonical codes and aliases for what the vendor left unnumbered,
	 * never over a vendor's meaning nor for an operation the
	 * configuration renumbered. */
	if (rv == CKR_OK)
		rv = add_canonical(p, false, cfg->overrides, cfg->n_overrides);
	if (rv != CKR_OK)
		goto out;

	for (size_t i = 0; i < p->mechs.count; i++)
		p->mechs.items[i].op = behave(cfg, p->mechs.items[i].op);
	/* A behaviour setting (say raw signatures) can leave an operation
	 * without any code: then it is neither listed nor accepted. */
	if ((rv = map_finish(&p->mechs)) == CKR_OK)
		rv = map_finish(&p->keys);
out:
	if (rv != CKR_OK) {
		profile_free(p);
		p = NULL;
	}
	*out = p;
	return rv;
}

void profile_free(sk_profile *p)
{
	if (!p)
		return;
	map_free(&p->mechs);
	map_free(&p->keys);
	free(p->name);
	free(p);
}

static const sk_profile *active;
static sk_profile *canonical;
static pthread_once_t canonical_once = PTHREAD_ONCE_INIT;

/* Lookups before any C_Initialize (unit tests of the crypto layer) and
 * after C_Finalize use the canonical profile, built once. */
static void build_canonical(void)
{
	sk_config cfg = {.sm2_sign_z = SK_UNSET,
			 .sm2_signature = SK_UNSET,
			 .sm2_ciphertext = SK_UNSET};
	if (profile_build(&cfg, &canonical) != CKR_OK)
		abort(); /* our own tables collide: a build defect */
}

void profile_activate(const sk_profile *p)
{
	active = p;
}

const sk_profile *profile_active(void)
{
	if (active)
		return active;
	pthread_once(&canonical_once, build_canonical);
	return canonical;
}

const char *profile_name(const sk_profile *p)
{
	return p->name;
}

static const code_pair *search(const code_pair *v, size_t n, CK_ULONG key,
			       int (*cmp)(const void *, const void *))
{
	code_pair k = {key, key};
	return bsearch(&k, v, n, sizeof *v, cmp);
}

CK_MECHANISM_TYPE profile_mech_in(const sk_profile *p, CK_MECHANISM_TYPE code)
{
	if (code < CKM_VENDOR_DEFINED)
		return code;
	const code_pair *hit = search(p->mechs.by_code, p->mechs.n_code, code, cmp_code);
	return hit ? hit->op : CK_UNAVAILABLE_INFORMATION;
}

bool profile_mech_out(const sk_profile *p, CK_MECHANISM_TYPE op, CK_MECHANISM_TYPE *code)
{
	if (op < CKM_VENDOR_DEFINED) {
		*code = op;
		return true;
	}
	const code_pair *hit = search(p->mechs.by_op, p->mechs.n_op, op, cmp_op);
	if (hit)
		*code = hit->code;
	return hit != NULL;
}

/* Unknown vendor key types pass unchanged: the attribute rules refuse them. */
CK_KEY_TYPE profile_key_in(const sk_profile *p, CK_KEY_TYPE code)
{
	if (code < CKK_VENDOR_DEFINED)
		return code;
	const code_pair *hit = search(p->keys.by_code, p->keys.n_code, code, cmp_code);
	return hit ? hit->op : code;
}

CK_KEY_TYPE profile_key_out(const sk_profile *p, CK_KEY_TYPE kt)
{
	if (kt < CKK_VENDOR_DEFINED)
		return kt;
	const code_pair *hit = search(p->keys.by_op, p->keys.n_op, kt, cmp_op);
	return hit ? hit->code : kt;
}

const char *profile_name_at(size_t i)
{
	return i < N(profiles) ? profiles[i].name : NULL;
}
