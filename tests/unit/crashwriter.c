/* Helper of tests/shell/test_store_crash.sh.
 *
 *   crashwriter write PATH FIRST COUNT   inserts objects FIRST, FIRST+1, ...
 *       (COUNT 0: until killed), one transaction each, and prints
 *       "row N" once store_commit() returned CKR_OK for object N.
 *   crashwriter check PATH ACKS          checks that every acknowledged
 *       object is in the store with its exact blobs, and that every row
 *       in the store holds well-formed blobs.
 *
 * Blob contents follow from the object number alone, so the check is exact. */
#include "store/store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Object n's attrs (kind 0) or sealed (kind 1) blob: n in the first 8 bytes,
 * then a pattern; every seventh object spills onto overflow pages. */
static size_t make_blob(uint64_t n, int kind, unsigned char *buf)
{
	size_t len = 8 + (size_t)((n * 97 + (uint64_t)kind * 13) % 2500);
	if (n % 7 == 3)
		len += 5000;
	for (int i = 0; i < 8; i++)
		buf[i] = (unsigned char)(n >> (56 - 8 * i));
	for (size_t k = 8; k < len; k++)
		buf[k] = (unsigned char)(n * 131 + k * 7 + (uint64_t)kind * 59);
	return len;
}
#define BLOB_MAX (8 + 2500 + 5000)

static int fail(const char *what, CK_RV rv)
{
	fprintf(stderr, "crashwriter: %s: CK_RV 0x%lx\n", what, (unsigned long)rv);
	return 1;
}

static CK_RV count_cb(void *ctx, int64_t row, int64_t gen, const void *attrs, size_t attrs_len,
		      const void *sealed, size_t sealed_len)
{
	(*(uint64_t *)ctx)++;
	return CKR_OK;
}

static int do_write(const char *path, uint64_t first, uint64_t count)
{
	static unsigned char a[BLOB_MAX], s[BLOB_MAX];
	store *st = NULL;
	CK_RV rv;

	setvbuf(stdout, NULL, _IOLBF, 0);
	rv = store_open(path, STORE_CREATE, &st);
	if (rv != CKR_OK)
		return fail("store_open", rv);
	for (uint64_t n = first; count == 0 || n < first + count; n++) {
		size_t alen = make_blob(n, 0, a), slen = make_blob(n, 1, s);
		int64_t row = 0, version = 0;
		uint64_t rows = 0;

		rv = store_begin(st);
		if (rv != CKR_OK)
			return fail("store_begin", rv);
		rv = store_object_insert(st, a, alen, s, slen, &row, NULL);
		if (rv == CKR_OK)
			rv = store_meta_put(st, "last", &n, sizeof(n));
		if (rv != CKR_OK) {
			store_rollback(st);
			return fail("insert", rv);
		}
		rv = store_commit(st);
		if (rv != CKR_OK)
			return fail("store_commit", rv);
		printf("%" PRId64 " %" PRIu64 "\n", row, n);
		/* some reads too, while another writer may hold the lock */
		if (n % 25 == 0) {
			rv = store_data_version(st, &version);
			if (rv == CKR_OK)
				rv = store_objects_scan(st, row - 1, count_cb, &rows);
			if (rv != CKR_OK)
				return fail("read", rv);
		}
	}
	store_close(st);
	return 0;
}

struct row_entry {
	int64_t row;
	uint64_t n;
};

struct check {
	struct row_entry *rows;
	size_t count, cap;
	unsigned bad;
};

static CK_RV check_cb(void *ctx, int64_t row, int64_t gen, const void *attrs, size_t attrs_len,
		      const void *sealed, size_t sealed_len)
{
	static unsigned char a[BLOB_MAX], s[BLOB_MAX];
	struct check *c = ctx;
	uint64_t n = 0;
	size_t alen, slen;

	if (!attrs || attrs_len < 8) {
		fprintf(stderr, "row %" PRId64 ": attrs missing or short\n", row);
		c->bad++;
		return CKR_OK;
	}
	for (int i = 0; i < 8; i++)
		n = n << 8 | ((const unsigned char *)attrs)[i];
	alen = make_blob(n, 0, a);
	slen = make_blob(n, 1, s);
	if (alen != attrs_len || memcmp(a, attrs, alen) || slen != sealed_len ||
	    memcmp(s, sealed, slen)) {
		fprintf(stderr, "row %" PRId64 " (object %" PRIu64 "): blobs differ\n", row, n);
		c->bad++;
	}
	if (c->count == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 1024;
		c->rows = realloc(c->rows, c->cap * sizeof(*c->rows));
		if (!c->rows)
			return CKR_HOST_MEMORY;
	}
	c->rows[c->count].row = row;
	c->rows[c->count].n = n;
	c->count++;
	return CKR_OK;
}

static int do_check(const char *path, const char *acks_path)
{
	struct check c = { 0 };
	store *st = NULL;
	FILE *acks;
	char line[128];
	unsigned acked = 0, missing = 0;
	CK_RV rv;

	rv = store_open(path, 0, &st);
	if (rv != CKR_OK)
		return fail("store_open", rv);
	rv = store_objects_scan(st, 0, check_cb, &c);
	store_close(st);
	if (rv != CKR_OK)
		return fail("store_objects_scan", rv);

	acks = fopen(acks_path, "r");
	if (!acks) {
		perror(acks_path);
		return 1;
	}
	while (fgets(line, sizeof(line), acks)) {
		int64_t row;
		uint64_t n;
		size_t lo = 0, hi = c.count;

		/* a line cut by the kill was never acknowledged */
		if (!strchr(line, '\n') || sscanf(line, "%" SCNd64 " %" SCNu64, &row, &n) != 2)
			continue;
		acked++;
		while (lo < hi) { /* the scan comes in row order */
			size_t mid = lo + (hi - lo) / 2;
			if (c.rows[mid].row < row)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == c.count || c.rows[lo].row != row || c.rows[lo].n != n) {
			fprintf(stderr,
				"acknowledged row %" PRId64 " (object %" PRIu64 ") missing\n", row,
				n);
			missing++;
		}
	}
	fclose(acks);
	printf("rows %zu, acknowledged %u, missing %u, malformed %u\n", c.count, acked, missing,
	       c.bad);
	free(c.rows);
	return missing || c.bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "write") == 0)
		return do_write(argv[2], strtoull(argv[3], NULL, 10), strtoull(argv[4], NULL, 10));
	if (argc == 4 && strcmp(argv[1], "check") == 0)
		return do_check(argv[2], argv[3]);
	fprintf(stderr, "usage: crashwriter write PATH FIRST COUNT | check PATH ACKS\n");
	return 2;
}
