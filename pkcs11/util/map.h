/* Hash maps keyed by 64-bit integers: handle tables and the find index. */
#ifndef SEALKIT_MAP_H
#define SEALKIT_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct u64map {
	uint64_t *keys;
	void **vals;
	size_t cap; /* power of two, or 0 */
	size_t count;
	size_t used; /* live + tombstones */
} u64map;

void u64map_init(u64map *m);
void u64map_free(u64map *m);
void *u64map_get(const u64map *m, uint64_t key);
/* Replaces any existing value. False on out-of-memory. */
bool u64map_put(u64map *m, uint64_t key, void *val);
void *u64map_remove(u64map *m, uint64_t key);
/* Iteration: start with *pos = 0. */
bool u64map_next(const u64map *m, size_t *pos, uint64_t *key, void **val);

/* A growable array of pointers. */
typedef struct ptrvec {
	void **items;
	size_t count, cap;
} ptrvec;

bool ptrvec_push(ptrvec *v, void *p);
/* Removes one occurrence (order not kept). */
bool ptrvec_remove(ptrvec *v, void *p);
void ptrvec_free(ptrvec *v);

uint64_t hash_bytes(uint64_t seed, const void *data, size_t len);

#endif
