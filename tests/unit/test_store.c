/* Tests of pkcs11/store/sqlite.c: the token store. */
#include "harness.h"
#include "store/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

static char tmpdir[256];
static unsigned file_counter;

static int suite_init(void)
{
	const char *base = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_store.XXXXXX", base && *base ? base : "/tmp");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int suite_cleanup(void)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A fresh path per call (the returned buffer lives until the next 8 calls). */
static const char *new_path(const char *what)
{
	static char buf[8][300];
	static unsigned next;
	char *p = buf[next++ % 8];
	snprintf(p, 300, "%s/%u-%s", tmpdir, file_counter++, what);
	return p;
}

static const char *sibling(const char *path, const char *suffix)
{
	static char buf[300];
	snprintf(buf, sizeof(buf), "%s%s", path, suffix);
	return buf;
}

static int exists(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0;
}

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	long n;

	*len = 0;
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(n > 0 ? (size_t)n : 1);
	if (buf && n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = n > 0 ? (size_t)n : 0;
	return buf;
}

static void spew(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	CU_ASSERT_FATAL(f != NULL);
	CU_ASSERT_FATAL(len == 0 || fwrite(data, 1, len, f) == len);
	CU_ASSERT_FATAL(fclose(f) == 0);
}

/* Asserts that opening `path` is refused, with and without STORE_CREATE,
 * and that nothing about the file changed or appeared beside it. */
static void assert_refused(const char *path)
{
	size_t before_len, after_len;
	unsigned char *before = slurp(path, &before_len), *after;
	store *s = (store *)1;

	CU_ASSERT_EQUAL(store_open(path, 0, &s), CKR_TOKEN_NOT_RECOGNIZED);
	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT_EQUAL(store_open(path, STORE_CREATE, &s), CKR_TOKEN_NOT_RECOGNIZED);
	CU_ASSERT_PTR_NULL(s);
	after = slurp(path, &after_len);
	CU_ASSERT_EQUAL(after_len, before_len);
	CU_ASSERT(before_len == after_len &&
		  (before_len == 0 || memcmp(before, after, before_len) == 0));
	CU_ASSERT_FALSE(exists(sibling(path, "-wal")));
	CU_ASSERT_FALSE(exists(sibling(path, "-shm")));
	CU_ASSERT_FALSE(exists(sibling(path, "-journal")));
	free(before);
	free(after);
}

/* ---- scan collector ---------------------------------------------------- */

struct seen {
	int64_t row, gen;
	int has_blobs;
	size_t attrs_len, sealed_len;
	unsigned char attrs[64], sealed[64];
};

struct scan {
	struct seen rows[64];
	size_t n;
	CK_RV stop_with;
};

static CK_RV collect(void *ctx, int64_t row, int64_t gen, const void *attrs, size_t attrs_len,
		     const void *sealed, size_t sealed_len)
{
	struct scan *sc = ctx;
	struct seen *e;

	if (sc->n >= 64)
		return CKR_GENERAL_ERROR;
	e = &sc->rows[sc->n++];
	memset(e, 0, sizeof(*e));
	e->row = row;
	e->gen = gen;
	CU_ASSERT((attrs == NULL) == (sealed == NULL));
	e->has_blobs = attrs != NULL;
	e->attrs_len = attrs_len;
	e->sealed_len = sealed_len;
	if (attrs && attrs_len <= 64)
		memcpy(e->attrs, attrs, attrs_len);
	if (sealed && sealed_len <= 64)
		memcpy(e->sealed, sealed, sealed_len);
	return sc->stop_with;
}

static const struct seen *find_row(const struct scan *sc, int64_t row)
{
	for (size_t i = 0; i < sc->n; i++)
		if (sc->rows[i].row == row)
			return &sc->rows[i];
	return NULL;
}

/* ---- tests -------------------------------------------------------------- */

static void test_create_reopen(void)
{
	const char *path = new_path("token.db");
	store *s = NULL;
	unsigned char *v = NULL;
	size_t vlen = 0;
	struct stat sb;
	mode_t old_umask;
	DIR *d;
	struct dirent *de;

	CU_ASSERT_EQUAL(store_open(path, 0, &s), CKR_TOKEN_NOT_RECOGNIZED);
	CU_ASSERT_FALSE(exists(path));

	old_umask = umask(0); /* 0600 must not depend on the umask */
	CU_ASSERT_EQUAL_FATAL(store_open(path, STORE_CREATE, &s), CKR_OK);
	umask(old_umask);
	CU_ASSERT_FATAL(stat(path, &sb) == 0);
	CU_ASSERT_EQUAL(sb.st_mode & 0777, 0600);
	CU_ASSERT_EQUAL(store_meta_put(s, "label", "my token", 8), CKR_OK);
	/* WAL files exist while open and share the mode */
	CU_ASSERT(stat(sibling(path, "-wal"), &sb) == 0 && (sb.st_mode & 0777) == 0600);
	CU_ASSERT(stat(sibling(path, "-shm"), &sb) == 0 && (sb.st_mode & 0777) == 0600);
	store_close(s);

	/* the temporary file used for creation is gone */
	d = opendir(tmpdir);
	CU_ASSERT_FATAL(d != NULL);
	while ((de = readdir(d)))
		CU_ASSERT_PTR_NULL(strstr(de->d_name, ".tmp-"));
	closedir(d);

	s = NULL;
	CU_ASSERT_EQUAL_FATAL(store_open(path, 0, &s), CKR_OK);
	CU_ASSERT_EQUAL(store_meta_get(s, "label", &v, &vlen), CKR_OK);
	CU_ASSERT(vlen == 8 && v && memcmp(v, "my token", 8) == 0);
	store_free(v, vlen);
	store_close(s);

	/* STORE_CREATE on an existing store opens it, keeping its contents */
	CU_ASSERT_EQUAL_FATAL(store_open(path, STORE_CREATE, &s), CKR_OK);
	CU_ASSERT_EQUAL(store_meta_get(s, "label", &v, &vlen), CKR_OK);
	CU_ASSERT(vlen == 8 && v && memcmp(v, "my token", 8) == 0);
	store_free(v, vlen);
	store_close(s);

	CU_ASSERT_EQUAL(store_open(NULL, 0, &s), CKR_ARGUMENTS_BAD);
	CU_ASSERT_EQUAL(store_open(path, 0, NULL), CKR_ARGUMENTS_BAD);
}

static void test_bad_paths(void)
{
	char path[300];
	store *s = NULL;

	/* a directory, and a file in a directory that doesn't exist */
	CU_ASSERT_EQUAL(store_open(tmpdir, STORE_CREATE, &s), CKR_TOKEN_NOT_RECOGNIZED);
	snprintf(path, sizeof(path), "%s/no-such-dir/token.db", tmpdir);
	CU_ASSERT_EQUAL(store_open(path, STORE_CREATE, &s), CKR_DEVICE_ERROR);
	CU_ASSERT_PTR_NULL(s);
}

static void test_meta(void)
{
	store *s = NULL;
	unsigned char *v = (unsigned char *)1, *big;
	size_t vlen = 99;

	CU_ASSERT_EQUAL_FATAL(store_open(new_path("meta.db"), STORE_CREATE, &s), CKR_OK);
	CU_ASSERT_EQUAL(store_meta_get(s, "absent", &v, &vlen), CKR_OK);
	CU_ASSERT_PTR_NULL(v);
	CU_ASSERT_EQUAL(vlen, 0);

	CU_ASSERT_EQUAL(store_meta_put(s, "so-pin", "\x01\x02\x00\x03", 4), CKR_OK);
	CU_ASSERT_EQUAL(store_meta_get(s, "so-pin", &v, &vlen), CKR_OK);
	CU_ASSERT(vlen == 4 && v && memcmp(v, "\x01\x02\x00\x03", 4) == 0);
	store_free(v, vlen);
	CU_ASSERT_EQUAL(store_meta_put(s, "so-pin", "xy", 2), CKR_OK);
	CU_ASSERT_EQUAL(store_meta_get(s, "so-pin", &v, &vlen), CKR_OK);
	CU_ASSERT(vlen == 2 && v && memcmp(v, "xy", 2) == 0);
	store_free(v, vlen);

	/* present but empty is not absent */
	CU_ASSERT_EQUAL(store_meta_put(s, "empty", NULL, 0), CKR_OK);
	CU_ASSERT_EQUAL(store_meta_get(s, "empty", &v, &vlen), CKR_OK);
	CU_ASSERT_PTR_NOT_NULL(v);
	CU_ASSERT_EQUAL(vlen, 0);
	store_free(v, vlen);

	big = malloc(100000);
	for (size_t i = 0; i < 100000; i++)
		big[i] = (unsigned char)(i * 7);
	CU_ASSERT_EQUAL(store_meta_put(s, "big", big, 100000), CKR_OK);
	CU_ASSERT_EQUAL(store_meta_get(s, "big", &v, &vlen), CKR_OK);
	CU_ASSERT(vlen == 100000 && v && memcmp(v, big, 100000) == 0);
	store_free(v, vlen);
	free(big);

	CU_ASSERT_EQUAL(store_meta_delete(s, "so-pin"), CKR_OK);
	CU_ASSERT_EQUAL(store_meta_get(s, "so-pin", &v, &vlen), CKR_OK);
	CU_ASSERT_PTR_NULL(v);
	CU_ASSERT_EQUAL(store_meta_delete(s, "so-pin"), CKR_OK);
	CU_ASSERT_EQUAL(store_meta_get(s, "empty", &v, &vlen), CKR_OK);
	CU_ASSERT_PTR_NOT_NULL(v);
	store_free(v, vlen);

	CU_ASSERT_EQUAL(store_meta_put(s, NULL, "x", 1), CKR_ARGUMENTS_BAD);
	CU_ASSERT_EQUAL(store_meta_put(s, "x", NULL, 1), CKR_ARGUMENTS_BAD);
	CU_ASSERT_EQUAL(store_meta_get(NULL, "x", &v, &vlen), CKR_ARGUMENTS_BAD);
	store_close(s);
}

static void test_objects(void)
{
	store *s = NULL;
	int64_t r1, r2, r3, r4, g1, g2, g3, g4, g5;
	struct scan sc = { .n = 0 };
	const struct seen *e;

	CU_ASSERT_EQUAL_FATAL(store_open(new_path("objects.db"), STORE_CREATE, &s), CKR_OK);
	CU_ASSERT_EQUAL_FATAL(store_object_insert(s, "a1", 2, "s1", 2, &r1, &g1), CKR_OK);
	CU_ASSERT_EQUAL_FATAL(store_object_insert(s, "a2", 2, NULL, 0, &r2, &g2), CKR_OK);
	CU_ASSERT_EQUAL_FATAL(store_object_insert(s, NULL, 0, "s3", 2, &r3, &g3), CKR_OK);
	CU_ASSERT(r1 < r2 && r2 < r3);
	CU_ASSERT(g1 > 0 && g1 < g2 && g2 < g3);

	CU_ASSERT_EQUAL(store_objects_scan(s, 0, collect, &sc), CKR_OK);
	CU_ASSERT_EQUAL_FATAL(sc.n, 3);
	e = find_row(&sc, r1);
	CU_ASSERT(e && e->has_blobs && e->gen == g1 && e->attrs_len == 2 &&
		  !memcmp(e->attrs, "a1", 2) && e->sealed_len == 2 && !memcmp(e->sealed, "s1", 2));
	/* empty blobs still come as (non-NULL) blobs for new rows */
	e = find_row(&sc, r2);
	CU_ASSERT(e && e->has_blobs && e->sealed_len == 0 && e->attrs_len == 2);
	e = find_row(&sc, r3);
	CU_ASSERT(e && e->has_blobs && e->attrs_len == 0 && e->sealed_len == 2);

	/* update: a new generation; only it comes with blobs after g3 */
	CU_ASSERT_EQUAL(store_object_update(s, r2, "A2", 2, "S2", 2, &g4), CKR_OK);
	CU_ASSERT(g4 > g3);
	sc.n = 0;
	CU_ASSERT_EQUAL(store_objects_scan(s, g3, collect, &sc), CKR_OK);
	CU_ASSERT_EQUAL_FATAL(sc.n, 3);
	e = find_row(&sc, r2);
	CU_ASSERT(e && e->has_blobs && e->gen == g4 && !memcmp(e->attrs, "A2", 2) &&
		  !memcmp(e->sealed, "S2", 2));
	e = find_row(&sc, r1);
	CU_ASSERT(e && !e->has_blobs && e->gen == g1 && e->attrs_len == 0);
	e = find_row(&sc, r3);
	CU_ASSERT(e && !e->has_blobs && e->gen == g3);

	/* delete; updating a deleted row fails, deleting it again doesn't */
	CU_ASSERT_EQUAL(store_object_delete(s, r1), CKR_OK);
	CU_ASSERT_EQUAL(store_object_delete(s, r1), CKR_OK);
	CU_ASSERT_EQUAL(store_object_update(s, r1, "x", 1, "y", 1, NULL),
			CKR_OBJECT_HANDLE_INVALID);
	sc.n = 0;
	CU_ASSERT_EQUAL(store_objects_scan(s, g4, collect, &sc), CKR_OK);
	CU_ASSERT_EQUAL(sc.n, 2);
	CU_ASSERT_PTR_NULL(find_row(&sc, r1));
	CU_ASSERT(sc.rows[0].row == r2 && !sc.rows[0].has_blobs);

	/* the callback's error stops the scan */
	sc.n = 0;
	sc.stop_with = CKR_CANCEL;
	CU_ASSERT_EQUAL(store_objects_scan(s, 0, collect, &sc), CKR_CANCEL);
	CU_ASSERT_EQUAL(sc.n, 1);
	sc.stop_with = CKR_OK;

	/* after deleting everything, row ids and generations keep growing */
	CU_ASSERT_EQUAL(store_objects_delete_all(s), CKR_OK);
	sc.n = 0;
	CU_ASSERT_EQUAL(store_objects_scan(s, 0, collect, &sc), CKR_OK);
	CU_ASSERT_EQUAL(sc.n, 0);
	CU_ASSERT_EQUAL(store_object_insert(s, "a4", 2, "s4", 2, &r4, &g5), CKR_OK);
	CU_ASSERT(r4 > r3);
	CU_ASSERT(g5 > g4);

	CU_ASSERT_EQUAL(store_object_insert(s, NULL, 3, "s", 1, &r4, &g5), CKR_ARGUMENTS_BAD);
	CU_ASSERT_EQUAL(store_objects_scan(s, 0, NULL, NULL), CKR_ARGUMENTS_BAD);
	store_close(s);
}

struct big_check {
	const unsigned char *want;
	size_t len;
	int ok;
};

static CK_RV check_big(void *ctx, int64_t row, int64_t gen, const void *attrs, size_t attrs_len,
		       const void *sealed, size_t sealed_len)
{
	struct big_check *bc = ctx;
	bc->ok = attrs_len == bc->len && sealed_len == 1 && !memcmp(attrs, bc->want, bc->len);
	return CKR_OK;
}

static void test_big_object(void)
{
	const char *path = new_path("big.db");
	store *s = NULL;
	size_t len = 1 << 20;
	unsigned char *blob = malloc(len);
	struct big_check bc = { blob, len, 0 };

	for (size_t i = 0; i < len; i++)
		blob[i] = (unsigned char)(i ^ (i >> 8));
	CU_ASSERT_EQUAL_FATAL(store_open(path, STORE_CREATE, &s), CKR_OK);
	CU_ASSERT_EQUAL(store_object_insert(s, blob, len, "x", 1, NULL, NULL), CKR_OK);
	store_close(s);
	CU_ASSERT_EQUAL_FATAL(store_open(path, 0, &s), CKR_OK);
	CU_ASSERT_EQUAL(store_objects_scan(s, 0, check_big, &bc), CKR_OK);
	CU_ASSERT(bc.ok);
	store_close(s);
	free(blob);
}

static void test_transactions(void)
{
	const char *path = new_path("txn.db");
	store *a = NULL, *b = NULL;
	unsigned char *v = NULL;
	size_t vlen = 0;
	struct scan sc = { .n = 0 };
	int64_t g1 = 0, g2 = 0;

	CU_ASSERT_EQUAL_FATAL(store_open(path, STORE_CREATE, &a), CKR_OK);
	CU_ASSERT_EQUAL_FATAL(store_open(path, 0, &b), CKR_OK);

	/* rollback leaves nothing */
	CU_ASSERT_EQUAL_FATAL(store_begin(a), CKR_OK);
	CU_ASSERT_EQUAL(store_begin(a), CKR_GENERAL_ERROR);
	CU_ASSERT_EQUAL(store_object_insert(a, "a", 1, "s", 1, NULL, &g1), CKR_OK);
	CU_ASSERT_EQUAL(store_meta_put(a, "m", "v", 1), CKR_OK);
	/* our own writes are visible inside the transaction */
	CU_ASSERT_EQUAL(store_objects_scan(a, 0, collect, &sc), CKR_OK);
	CU_ASSERT_EQUAL(sc.n, 1);
	store_rollback(a);
	sc.n = 0;
	CU_ASSERT_EQUAL(store_objects_scan(a, 0, collect, &sc), CKR_OK);
	CU_ASSERT_EQUAL(sc.n, 0);
	CU_ASSERT_EQUAL(store_meta_get(a, "m", &v, &vlen), CKR_OK);
	CU_ASSERT_PTR_NULL(v);
	CU_ASSERT_EQUAL(store_commit(a), CKR_GENERAL_ERROR);

	/* commit: all or nothing, and not visible elsewhere before it */
	CU_ASSERT_EQUAL_FATAL(store_begin(a), CKR_OK);
	CU_ASSERT_EQUAL(store_object_insert(a, "a", 1, "s", 1, NULL, NULL), CKR_OK);
	CU_ASSERT_EQUAL(store_object_insert(a, "b", 1, "t", 1, NULL, &g2), CKR_OK);
	CU_ASSERT_EQUAL(store_meta_put(a, "m", "v", 1), CKR_OK);
	sc.n = 0;
	CU_ASSERT_EQUAL(store_objects_scan(b, 0, collect, &sc), CKR_OK);
	CU_ASSERT_EQUAL(sc.n, 0);
	CU_ASSERT_EQUAL(store_commit(a), CKR_OK);
	sc.n = 0;
	CU_ASSERT_EQUAL(store_objects_scan(b, 0, collect, &sc), CKR_OK);
	CU_ASSERT_EQUAL(sc.n, 2);
	CU_ASSERT_EQUAL(store_meta_get(b, "m", &v, &vlen), CKR_OK);
	CU_ASSERT(v && vlen == 1);
	store_free(v, vlen);
	CU_ASSERT(g2 > 0);

	/* a failed write inside a transaction leaves it to the caller */
	CU_ASSERT_EQUAL_FATAL(store_begin(a), CKR_OK);
	CU_ASSERT_EQUAL(store_object_update(a, 9999, "x", 1, "y", 1, NULL),
			CKR_OBJECT_HANDLE_INVALID);
	CU_ASSERT_EQUAL(store_meta_put(a, "n", "w", 1), CKR_OK);
	CU_ASSERT_EQUAL(store_commit(a), CKR_OK);
	CU_ASSERT_EQUAL(store_meta_get(b, "n", &v, &vlen), CKR_OK);
	CU_ASSERT(v && vlen == 1);
	store_free(v, vlen);

	/* closing with a transaction open rolls it back */
	CU_ASSERT_EQUAL_FATAL(store_begin(a), CKR_OK);
	CU_ASSERT_EQUAL(store_meta_put(a, "lost", "x", 1), CKR_OK);
	store_close(a);
	CU_ASSERT_EQUAL(store_meta_get(b, "lost", &v, &vlen), CKR_OK);
	CU_ASSERT_PTR_NULL(v);
	store_close(b);
}

static void test_data_version(void)
{
	const char *path = new_path("dv.db");
	store *a = NULL, *b = NULL;
	int64_t v0 = 0, v1 = 0, v2 = 0, g_b = 0;
	struct scan sc = { .n = 0 };
	const struct seen *e;

	CU_ASSERT_EQUAL_FATAL(store_open(path, STORE_CREATE, &a), CKR_OK);
	CU_ASSERT_EQUAL_FATAL(store_open(path, 0, &b), CKR_OK);
	CU_ASSERT_EQUAL(store_data_version(a, &v0), CKR_OK);
	/* our own writes don't count */
	CU_ASSERT_EQUAL(store_object_insert(a, "a", 1, "s", 1, NULL, NULL), CKR_OK);
	CU_ASSERT_EQUAL(store_meta_put(a, "m", "v", 1), CKR_OK);
	CU_ASSERT_EQUAL(store_data_version(a, &v1), CKR_OK);
	CU_ASSERT_EQUAL(v1, v0);
	/* another connection's commit does */
	CU_ASSERT_EQUAL(store_object_insert(b, "b", 1, "t", 1, NULL, &g_b), CKR_OK);
	CU_ASSERT_EQUAL(store_data_version(a, &v2), CKR_OK);
	CU_ASSERT_NOT_EQUAL(v2, v1);
	CU_ASSERT_EQUAL(store_data_version(a, &v1), CKR_OK);
	CU_ASSERT_EQUAL(v1, v2);
	/* and what it wrote comes with blobs to a scan since our last gen */
	CU_ASSERT_EQUAL(store_objects_scan(a, g_b - 1, collect, &sc), CKR_OK);
	CU_ASSERT_EQUAL(sc.n, 2);
	e = &sc.rows[1];
	CU_ASSERT(e->has_blobs && e->gen == g_b && !memcmp(e->attrs, "b", 1));
	CU_ASSERT(!sc.rows[0].has_blobs);
	/* a rolled-back transaction elsewhere changes nothing */
	CU_ASSERT_EQUAL_FATAL(store_begin(b), CKR_OK);
	CU_ASSERT_EQUAL(store_meta_put(b, "x", "y", 1), CKR_OK);
	store_rollback(b);
	CU_ASSERT_EQUAL(store_data_version(a, &v2), CKR_OK);
	CU_ASSERT_EQUAL(v2, v1);
	CU_ASSERT_EQUAL(store_data_version(a, NULL), CKR_ARGUMENTS_BAD);
	store_close(a);
	store_close(b);
}

static void test_garbage(void)
{
	unsigned char buf[4096];
	const char *path;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 151 + (i >> 3));
	path = new_path("garbage");
	spew(path, buf, sizeof(buf));
	assert_refused(path);

	path = new_path("text");
	spew(path, "hello, world\n", 13);
	assert_refused(path);

	/* an SQLite magic, the rest garbage */
	memcpy(buf, "SQLite format 3", 16);
	path = new_path("fake-sqlite");
	spew(path, buf, sizeof(buf));
	assert_refused(path);

	path = new_path("short-sqlite");
	spew(path, buf, 50);
	assert_refused(path);

	memset(buf, 0, sizeof(buf));
	path = new_path("zeros");
	spew(path, buf, sizeof(buf));
	assert_refused(path);
}

static void make_foreign_db(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	CU_ASSERT_FATAL(sqlite3_open(path, &db) == SQLITE_OK);
	CU_ASSERT(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
	CU_ASSERT(sqlite3_close(db) == SQLITE_OK);
}

static void test_foreign_sqlite(void)
{
	const char *path = new_path("other.sqlite");
	make_foreign_db(path, "CREATE TABLE t(x); INSERT INTO t VALUES (1);");
	assert_refused(path);

	path = new_path("other-wal.sqlite");
	make_foreign_db(path,
			"PRAGMA journal_mode=WAL; CREATE TABLE t(x); INSERT INTO t VALUES (1);");
	assert_refused(path);

	/* a valid but empty SQLite database is still not ours */
	path = new_path("empty.sqlite");
	make_foreign_db(path, "PRAGMA user_version=1; VACUUM;");
	assert_refused(path);

	/* our marker, but not our schema */
	path = new_path("marker-only.sqlite");
	make_foreign_db(path, "PRAGMA application_id=1397445681; PRAGMA user_version=1;"
			      "CREATE TABLE sealkit_meta(x);");
	{
		store *s = (store *)1;
		CU_ASSERT_EQUAL(store_open(path, 0, &s), CKR_TOKEN_NOT_RECOGNIZED);
		CU_ASSERT_PTR_NULL(s);
		CU_ASSERT_EQUAL(store_open(path, STORE_CREATE, &s), CKR_TOKEN_NOT_RECOGNIZED);
	}
}

static void test_newer_schema(void)
{
	const char *path = new_path("future.db");
	store *s = NULL;
	size_t before_len, after_len;
	unsigned char *before, *after;

	CU_ASSERT_EQUAL_FATAL(store_open(path, STORE_CREATE, &s), CKR_OK);
	store_close(s);
	make_foreign_db(path, "PRAGMA user_version=99;");
	before = slurp(path, &before_len);
	CU_ASSERT_EQUAL(store_open(path, 0, &s), CKR_TOKEN_NOT_RECOGNIZED);
	CU_ASSERT_EQUAL(store_open(path, STORE_CREATE, &s), CKR_TOKEN_NOT_RECOGNIZED);
	after = slurp(path, &after_len);
	CU_ASSERT(before_len == after_len && before && after && !memcmp(before, after, before_len));
	free(before);
	free(after);
}

static void test_zero_length(void)
{
	const char *path = new_path("empty.db");
	store *s = NULL;
	size_t len = 1;
	unsigned char *data;
	int fd = open(path, O_CREAT | O_WRONLY | O_EXCL, 0600);

	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	CU_ASSERT_EQUAL(store_open(path, 0, &s), CKR_TOKEN_NOT_RECOGNIZED);
	data = slurp(path, &len);
	CU_ASSERT_EQUAL(len, 0);
	free(data);
	CU_ASSERT_FALSE(exists(sibling(path, "-wal")));
	CU_ASSERT_FALSE(exists(sibling(path, "-journal")));

	/* STORE_CREATE makes it a store (it held nothing) */
	CU_ASSERT_EQUAL_FATAL(store_open(path, STORE_CREATE, &s), CKR_OK);
	CU_ASSERT_EQUAL(store_object_insert(s, "a", 1, "s", 1, NULL, NULL), CKR_OK);
	store_close(s);
	CU_ASSERT_EQUAL_FATAL(store_open(path, 0, &s), CKR_OK);
	store_close(s);
}

static CK_RV count_rows(void *ctx, int64_t row, int64_t gen, const void *attrs, size_t attrs_len,
			const void *sealed, size_t sealed_len)
{
	(*(unsigned *)ctx)++;
	return CKR_OK;
}

static void test_truncated(void)
{
	const char *path = new_path("full.db"), *cut_path = new_path("cut.db");
	store *s = NULL;
	unsigned char blob[1000], *full;
	size_t full_len;
	unsigned not_refused = 0;

	memset(blob, 0x5a, sizeof(blob));
	CU_ASSERT_EQUAL_FATAL(store_open(path, STORE_CREATE, &s), CKR_OK);
	CU_ASSERT_EQUAL_FATAL(store_begin(s), CKR_OK);
	for (int i = 0; i < 100; i++)
		CU_ASSERT_EQUAL(store_object_insert(s, blob, sizeof(blob), blob, 300, NULL, NULL),
				CKR_OK);
	CU_ASSERT_EQUAL(store_commit(s), CKR_OK);
	store_close(s);
	full = slurp(path, &full_len);
	CU_ASSERT_FATAL(full && full_len >= 8 * 4096 && full_len % 4096 == 0);

	for (size_t len = 0; len < full_len; len += (len < 200 ? 1 : 509)) {
		CK_RV rv;
		unlink(cut_path);
		spew(cut_path, full, len);
		rv = store_open(cut_path, 0, &s);
		if (rv == CKR_OK) {
			/* a cut inside the last page can pass the open; it must
			 * still not crash */
			unsigned n = 0;
			store_objects_scan(s, 0, count_rows, &n);
			store_close(s);
		}
		/* a whole missing page is always noticed */
		if (rv != CKR_TOKEN_NOT_RECOGNIZED && len <= full_len - 4096) {
			not_refused++;
			printf("# cut at %zu: rv 0x%lx\n", len, (unsigned long)rv);
		}
	}
	CU_ASSERT_EQUAL(not_refused, 0);
	free(full);
}

static void test_fork(void)
{
	store *s = NULL;
	unsigned char *v = NULL;
	size_t vlen = 0;
	pid_t pid;
	int status = -1;

	CU_ASSERT_EQUAL_FATAL(store_open(new_path("fork.db"), STORE_CREATE, &s), CKR_OK);
	CU_ASSERT_EQUAL(store_meta_put(s, "k", "v", 1), CKR_OK);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		int bad = store_meta_get(s, "k", &v, &vlen) != CKR_GENERAL_ERROR ||
			  store_meta_put(s, "k", "w", 1) != CKR_GENERAL_ERROR;
		store_close(s); /* only frees our struct */
		_exit(bad);
	}
	CU_ASSERT(waitpid(pid, &status, 0) == pid);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CU_ASSERT_EQUAL(store_meta_get(s, "k", &v, &vlen), CKR_OK);
	CU_ASSERT(v && vlen == 1 && v[0] == 'v');
	store_free(v, vlen);
	CU_ASSERT_EQUAL(store_meta_put(s, "k", "x", 1), CKR_OK);
	store_close(s);
}

/* Several processes creating the same token at once share one store. */
static void test_create_race(void)
{
	const char *path = new_path("race.db");
	enum { N = 6 };
	pid_t pids[N];
	store *s = NULL;
	unsigned n = 0;

	for (int i = 0; i < N; i++) {
		pids[i] = fork();
		CU_ASSERT_FATAL(pids[i] >= 0);
		if (pids[i] == 0) {
			store *c = NULL;
			int bad = store_open(path, STORE_CREATE, &c) != CKR_OK ||
				  store_object_insert(c, "a", 1, "s", 1, NULL, NULL) != CKR_OK;
			store_close(c);
			_exit(bad);
		}
	}
	for (int i = 0; i < N; i++) {
		int status = -1;
		CU_ASSERT(waitpid(pids[i], &status, 0) == pids[i]);
		CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	CU_ASSERT_EQUAL_FATAL(store_open(path, 0, &s), CKR_OK);
	CU_ASSERT_EQUAL(store_objects_scan(s, 0, count_rows, &n), CKR_OK);
	CU_ASSERT_EQUAL(n, N);
	store_close(s);
}

void register_tests(void)
{
	CU_pSuite s = harness_suite("store", suite_init, suite_cleanup);
	harness_test(s, "create (0600, atomic), reopen", test_create_reopen);
	harness_test(s, "directory, missing directory", test_bad_paths);
	harness_test(s, "meta get/put/delete", test_meta);
	harness_test(s, "objects insert/update/delete/scan since", test_objects);
	harness_test(s, "1 MB object", test_big_object);
	harness_test(s, "transactions commit/rollback", test_transactions);
	harness_test(s, "data_version counts others' commits only", test_data_version);
	harness_test(s, "garbage files refused, unchanged", test_garbage);
	harness_test(s, "other SQLite files refused, unchanged", test_foreign_sqlite);
	harness_test(s, "newer schema refused", test_newer_schema);
	harness_test(s, "zero-length file", test_zero_length);
	harness_test(s, "truncated store refused", test_truncated);
	harness_test(s, "handle unusable after fork", test_fork);
	harness_test(s, "concurrent creation", test_create_race);
}
