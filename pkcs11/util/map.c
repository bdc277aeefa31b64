#include "util/map.h"

#include <stdlib.h>
#include <string.h>

/* An empty slot has a NULL value (the map never stores NULL), a deleted one
 * the tombstone marker; keys are stored as they are. */
#define TOMB ((void *)&tomb_marker)
static char tomb_marker;

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

void u64map_init(u64map *m)
{
	memset(m, 0, sizeof *m);
}

void u64map_free(u64map *m)
{
	free(m->keys);
	free(m->vals);
	u64map_init(m);
}

static bool rehash(u64map *m, size_t cap)
{
	uint64_t *keys = calloc(cap, sizeof *keys);
	void **vals = calloc(cap, sizeof *vals);
	if (!keys || !vals) {
		free(keys);
		free(vals);
		return false;
	}
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->vals[i] || m->vals[i] == TOMB)
			continue;
		size_t j = mix(m->keys[i]) & (cap - 1);
		while (vals[j])
			j = (j + 1) & (cap - 1);
		keys[j] = m->keys[i];
		vals[j] = m->vals[i];
	}
	free(m->keys);
	free(m->vals);
	m->keys = keys;
	m->vals = vals;
	m->cap = cap;
	m->used = m->count;
	return true;
}

void *u64map_get(const u64map *m, uint64_t key)
{
	if (!m->cap)
		return NULL;
	size_t j = mix(key) & (m->cap - 1);
	while (m->vals[j]) {
		if (m->vals[j] != TOMB && m->keys[j] == key)
			return m->vals[j];
		j = (j + 1) & (m->cap - 1);
	}
	return NULL;
}

bool u64map_put(u64map *m, uint64_t key, void *val)
{
	if (!val)
		return false;
	if ((m->used + 1) * 4 >= m->cap * 3) {
		size_t cap = m->cap ? m->cap : 16;
		while ((m->count + 1) * 2 >= cap)
			cap *= 2;
		if (!rehash(m, cap))
			return false;
	}
	size_t j = mix(key) & (m->cap - 1), tomb = SIZE_MAX;
	while (m->vals[j]) {
		if (m->vals[j] == TOMB) {
			if (tomb == SIZE_MAX)
				tomb = j;
		} else if (m->keys[j] == key) {
			m->vals[j] = val;
			return true;
		}
		j = (j + 1) & (m->cap - 1);
	}
	if (tomb != SIZE_MAX)
		j = tomb;
	else
		m->used++;
	m->keys[j] = key;
	m->vals[j] = val;
	m->count++;
	return true;
}

void *u64map_remove(u64map *m, uint64_t key)
{
	if (!m->cap)
		return NULL;
	size_t j = mix(key) & (m->cap - 1);
	while (m->vals[j]) {
		if (m->vals[j] != TOMB && m->keys[j] == key) {
			void *v = m->vals[j];
			m->vals[j] = TOMB;
			m->count--;
			return v;
		}
		j = (j + 1) & (m->cap - 1);
	}
	return NULL;
}

bool u64map_next(const u64map *m, size_t *pos, uint64_t *key, void **val)
{
	while (*pos < m->cap) {
		size_t i = (*pos)++;
		if (m->vals[i] && m->vals[i] != TOMB) {
			if (key)
				*key = m->keys[i];
			if (val)
				*val = m->vals[i];
			return true;
		}
	}
	return false;
}

bool ptrvec_push(ptrvec *v, void *p)
{
	if (v->count == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 4;
		void **n = realloc(v->items, cap * sizeof *n);
		if (!n)
			return false;
		v->items = n;
		v->cap = cap;
	}
	v->items[v->count++] = p;
	return true;
}

bool ptrvec_remove(ptrvec *v, void *p)
{
	for (size_t i = 0; i < v->count; i++) {
		if (v->items[i] == p) {
			v->items[i] = v->items[--v->count];
			return true;
		}
	}
	return false;
}

void ptrvec_free(ptrvec *v)
{
	free(v->items);
	memset(v, 0, sizeof *v);
}

/* FNV-1a folded through mix(): fast enough for labels and IDs, and the find
 * code compares real values afterwards, so collisions only cost time. */
uint64_t hash_bytes(uint64_t seed, const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ULL ^ mix(seed);
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return mix(h);
}
