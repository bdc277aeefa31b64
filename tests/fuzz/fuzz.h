/* Shared by the libFuzzer targets: what must hold for every parse result. */
#ifndef SEALKIT_FUZZ_H
#define SEALKIT_FUZZ_H

#include <stdlib.h>
#include <string.h>

#include "sealkit/seal.h"

/* Reads every octet of b (so ASan sees a bad slice) and checks it lies in whole. */
static inline unsigned fuzz_touch(sealkit_bytes b, sealkit_bytes whole)
{
	unsigned sum = 0;
	if (b.len && (!b.data || b.data < whole.data || b.data + b.len > whole.data + whole.len))
		abort();
	for (size_t i = 0; i < b.len; i++)
		sum += b.data[i];
	return sum;
}

static inline unsigned fuzz_touch_any(sealkit_bytes b)
{
	unsigned sum = 0;
	for (size_t i = 0; i < b.len; i++)
		sum += b.data[i];
	return sum;
}

static inline unsigned fuzz_check_seal(const sealkit_seal *s)
{
	unsigned sum = 0;
	sum += fuzz_touch(s->seal_info, s->der) + fuzz_touch(s->maker_cert, s->der);
	sum += fuzz_touch(s->picture.data, s->der) + fuzz_touch(s->sig.raw, s->der);
	sum += fuzz_touch_any(s->sig.value) + fuzz_touch_any(s->tbs);
	for (size_t i = 0; i < s->property.n_certs; i++)
		sum += fuzz_touch(s->property.certs[i], s->der);
	for (size_t i = 0; i < s->property.n_digests; i++)
		sum += fuzz_touch(s->property.digests[i].value, s->der) +
		       (unsigned)strlen(s->property.digests[i].type);
	for (size_t i = 0; i < s->n_ext; i++)
		sum += fuzz_touch(s->ext[i].value, s->der) + (unsigned)strlen(s->ext[i].oid);
	sum += (unsigned)strlen(s->header.id) + (unsigned)strlen(s->header.vid) +
	       (unsigned)strlen(s->es_id) + (unsigned)strlen(s->property.name) +
	       (unsigned)strlen(s->picture.type) + (unsigned)strlen(s->sig_alg) +
	       (unsigned)strlen(s->property.create_date.text);
	if (!SEALKIT_FORMAT_IS_V1(s->format) &&
	    (s->tbs.data != s->seal_info.data || s->tbs.len != s->seal_info.len))
		abort();
	if (s->has_timestamp)
		sum += fuzz_touch(s->timestamp, s->der);
	return sum;
}

static inline unsigned fuzz_check_stamp(const sealkit_stamp *st)
{
	unsigned sum = fuzz_touch(st->tbs, st->der) + fuzz_touch(st->seal_der, st->der);
	sum += fuzz_touch(st->data_hash, st->der) + fuzz_touch(st->signer_cert, st->der);
	sum += fuzz_touch(st->sig.raw, st->der) + fuzz_touch_any(st->sig.value);
	sum += fuzz_touch(st->time_info.raw, st->der) + (unsigned)strlen(st->time_info.text);
	sum += (unsigned)strlen(st->property_info) + (unsigned)strlen(st->sig_alg);
	for (size_t i = 0; i < st->n_ext; i++)
		sum += fuzz_touch(st->ext[i].value, st->der) + (unsigned)strlen(st->ext[i].oid);
	if (st->has_timestamp)
		sum += fuzz_touch(st->timestamp, st->der);
	if (!st->seal || st->seal->der.data != st->seal_der.data)
		abort();
	return sum + fuzz_check_seal(st->seal);
}

#endif
