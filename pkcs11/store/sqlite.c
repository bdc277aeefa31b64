/* The token store on SQLite (store.h).
 *
 * Recognition. A sealkit store is an SQLite file whose header carries our
 * application_id ("SKT1") and whose user_version is a schema we know. The
 * header is checked before SQLite runs a single statement on the file, so a
 * file we don't recognise is never written to (no journal-mode switch, no
 * hot-journal rollback, no schema).
 *
 * Creation. A new store is built under a temporary name next to `path`
 * (mkstemp: mode 0600; SQLite gives -wal/-shm the same mode), then link()ed
 * into place: the name appears only once the schema is committed, and two
 * processes creating the same token at once end up sharing one of the two
 * files. A zero-length file at `path` is initialised in place, but only with
 * STORE_CREATE (it holds nothing to lose; mkstemp'd paths look like that).
 *
 * Threads. Connections are opened SQLITE_OPEN_NOMUTEX ("multi-thread" mode):
 * a handle is used by one thread at a time (callers lock), which is all that
 * mode needs; FULLMUTEX would only add a mutex per call without making our
 * cached statements or transaction flag safe to share.
 *
 * fork(). A handle must not be used in a child process: SQLite's POSIX locks
 * belong to the parent. Every call checks the pid and fails with
 * CKR_GENERAL_ERROR in a child; store_close() in a child frees only our
 * struct and leaves the connection alone (closing it could checkpoint or
 * delete files the parent still uses).
 *
 * Results store.h leaves open: a missing file without STORE_CREATE is
 * CKR_TOKEN_NOT_RECOGNIZED (and stays missing); a file we can't write is
 * CKR_DEVICE_ERROR; still locked after the 10 s busy timeout is
 * CKR_FUNCTION_FAILED; a full disk CKR_DEVICE_MEMORY; updating a row that is
 * gone CKR_OBJECT_HANDLE_INVALID, deleting one CKR_OK; store_begin() inside
 * a transaction or a scan CKR_GENERAL_ERROR. After a failed write inside
 * store_begin() the caller calls store_rollback(). */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <sqlite3.h>

#define STORE_APP_ID 1397445681 /* 0x534b5431, "SKT1": the header's application_id */
#define STORE_SCHEMA_VERSION 1	/* PRAGMA user_version; bump and migrate in open_checks() */
#define STORE_BUSY_MS 10000

/* Statements run once, when the schema is created. */
#define STR_(x) #x
#define STR(x) STR_(x)
static const char schema_sql[] =
	"CREATE TABLE sealkit_meta(name TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL);"
	/* AUTOINCREMENT: row ids are never reused, even after deleting everything */
	"CREATE TABLE sealkit_objects(row INTEGER PRIMARY KEY AUTOINCREMENT,"
	" gen INTEGER NOT NULL, attrs BLOB NOT NULL, sealed BLOB NOT NULL);"
	"CREATE TABLE sealkit_generation(id INTEGER PRIMARY KEY CHECK (id = 1),"
	" gen INTEGER NOT NULL);"
	"INSERT INTO sealkit_generation VALUES (1, 0);"
	"PRAGMA application_id = " STR(STORE_APP_ID) ";"
	"PRAGMA user_version = " STR(STORE_SCHEMA_VERSION) ";";

enum stmt_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_META_GET,
	ST_META_PUT,
	ST_META_DELETE,
	ST_GEN_BUMP,
	ST_GEN_GET,
	ST_OBJ_INSERT,
	ST_OBJ_UPDATE,
	ST_OBJ_DELETE,
	ST_OBJ_DELETE_ALL,
	ST_SCAN,
	ST_DATA_VERSION,
	ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_META_GET] = "SELECT value FROM sealkit_meta WHERE name = ?1",
	[ST_META_PUT] = "INSERT OR REPLACE INTO sealkit_meta(name, value) VALUES (?1, ?2)",
	[ST_META_DELETE] = "DELETE FROM sealkit_meta WHERE name = ?1",
	[ST_GEN_BUMP] = "UPDATE sealkit_generation SET gen = gen + 1 WHERE id = 1",
	[ST_GEN_GET] = "SELECT gen FROM sealkit_generation WHERE id = 1",
	[ST_OBJ_INSERT] = "INSERT INTO sealkit_objects(gen, attrs, sealed) VALUES (?1, ?2, ?3)",
	[ST_OBJ_UPDATE] = "UPDATE sealkit_objects SET gen = ?2, attrs = ?3, sealed = ?4"
			  " WHERE row = ?1",
	[ST_OBJ_DELETE] = "DELETE FROM sealkit_objects WHERE row = ?1",
	[ST_OBJ_DELETE_ALL] = "DELETE FROM sealkit_objects",
	[ST_SCAN] = "SELECT row, gen, attrs, sealed FROM sealkit_objects ORDER BY row",
	[ST_DATA_VERSION] = "PRAGMA data_version",
};

struct store {
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
	int in_txn;   /* inside store_begin() ... store_commit()/store_rollback() */
	int scanning; /* inside store_objects_scan(): its statement is live */
	pid_t pid;
};

static CK_RV map_rc(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return CKR_OK;
	case SQLITE_NOMEM:
		return CKR_HOST_MEMORY;
	case SQLITE_FULL:
		return CKR_DEVICE_MEMORY;
	case SQLITE_TOOBIG:
		return CKR_DATA_LEN_RANGE;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		/* still locked after the busy timeout: worth a retry, not broken */
		return CKR_FUNCTION_FAILED;
	default:
		return CKR_DEVICE_ERROR;
	}
}

/* While opening, a file that SQLite finds malformed is not ours. */
static CK_RV map_open_rc(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
	case SQLITE_ERROR: /* missing table or column */
	case SQLITE_SCHEMA:
		return CKR_TOKEN_NOT_RECOGNIZED;
	default:
		return map_rc(rc);
	}
}

static CK_RV check_handle(const store *s)
{
	if (!s)
		return CKR_ARGUMENTS_BAD;
	return s->pid == getpid() ? CKR_OK : CKR_GENERAL_ERROR;
}

/* Steps a statement that returns no rows, then resets it. */
static int step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

/* Runs one-row, one-integer SQL (a pragma) outside the statement cache. */
static int query_int(sqlite3 *db, const char *sql, int64_t *value)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			*value = sqlite3_column_int64(st, 0);
			rc = SQLITE_OK;
		} else if (rc == SQLITE_DONE) {
			rc = SQLITE_CORRUPT;
		}
	}
	sqlite3_finalize(st);
	return rc;
}

/* SQLITE_OK when `sql` returns the text `want`, SQLITE_DONE when other text. */
static int query_text_is(sqlite3 *db, const char *sql, const char *want)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			const unsigned char *t = sqlite3_column_text(st, 0);
			rc = t && strcmp((const char *)t, want) == 0 ? SQLITE_OK : SQLITE_DONE;
		}
	}
	sqlite3_finalize(st);
	return rc;
}

/* Settings that don't touch the file. */
static void configure_connection(sqlite3 *db)
{
	sqlite3_busy_timeout(db, STORE_BUSY_MS);
	sqlite3_extended_result_codes(db, 1);
	/* A crafted file must not be able to corrupt itself further or run
	 * functions with side effects from its schema (triggers, views). */
	sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
#ifdef SQLITE_DBCONFIG_TRUSTED_SCHEMA
	sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
#endif
}

static int configure_durability(sqlite3 *db)
{
	/* Connection settings, but they read the schema: only on files we
	 * recognised. FULL syncs the WAL on every commit; secure_delete zeroes
	 * freed content, e.g. a PIN blob replaced at C_SetPIN (the old one
	 * opens the token key with the old PIN); journal_size_limit drops old
	 * page images from the WAL file when it restarts. */
	return sqlite3_exec(db,
			    "PRAGMA synchronous = FULL; PRAGMA secure_delete = ON;"
			    " PRAGMA journal_size_limit = 0;",
			    NULL, NULL, NULL);
}

/* Looks at the first 100 bytes through SQLite's own file handle: opening and
 * closing a descriptor of ours would drop POSIX locks that other connections
 * of this process hold on the same file. */
static CK_RV check_header(sqlite3 *db, int *empty)
{
	static const char magic[16] = "SQLite format 3";
	sqlite3_file *f = NULL;
	sqlite3_int64 size = 0;
	unsigned char hdr[100];
	uint32_t app_id;

	*empty = 0;
	if (sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &f) != SQLITE_OK || !f ||
	    !f->pMethods)
		return CKR_DEVICE_ERROR;
	if (f->pMethods->xFileSize(f, &size) != SQLITE_OK)
		return CKR_DEVICE_ERROR;
	if (size == 0) {
		*empty = 1;
		return CKR_OK;
	}
	if (size < (sqlite3_int64)sizeof(hdr))
		return CKR_TOKEN_NOT_RECOGNIZED;
	if (f->pMethods->xRead(f, hdr, sizeof(hdr), 0) != SQLITE_OK)
		return CKR_DEVICE_ERROR;
	if (memcmp(hdr, magic, sizeof(magic)) != 0)
		return CKR_TOKEN_NOT_RECOGNIZED;
	app_id = (uint32_t)hdr[68] << 24 | (uint32_t)hdr[69] << 16 | (uint32_t)hdr[70] << 8 |
		 hdr[71];
	return app_id == STORE_APP_ID ? CKR_OK : CKR_TOKEN_NOT_RECOGNIZED;
}

/* Creates the schema in an empty database. Done inside the write lock so a
 * second process initialising the same file at once sees our schema. */
static CK_RV init_schema(sqlite3 *db)
{
	CK_RV rv;
	int64_t app_id = 0, nobj = 0;
	int rc;

	rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return map_open_rc(rc);
	rc = query_int(db, "PRAGMA application_id", &app_id);
	if (rc == SQLITE_OK)
		rc = query_int(db, "SELECT count(*) FROM sqlite_master", &nobj);
	if (rc != SQLITE_OK) {
		rv = map_open_rc(rc);
		goto out;
	}
	if (app_id == STORE_APP_ID) {
		rv = CKR_OK; /* someone else got there first */
		goto out;
	}
	if (app_id != 0 || nobj != 0) {
		rv = CKR_TOKEN_NOT_RECOGNIZED;
		goto out;
	}
	rc = sqlite3_exec(db, schema_sql, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	rv = map_rc(rc);
out:
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rv;
}

static CK_RV sync_dir_of(const char *path)
{
	char *dir = strdup(path);
	char *slash;
	int fd;
	CK_RV rv = CKR_DEVICE_ERROR;

	if (!dir)
		return CKR_HOST_MEMORY;
	slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		if (fsync(fd) == 0)
			rv = CKR_OK;
		close(fd);
	}
	free(dir);
	return rv;
}

/* Builds a complete store under a temporary name and links it to `path`.
 * CKR_OK also when another process created `path` meanwhile. */
static CK_RV create_file(const char *path)
{
	static const char suffix[] = ".tmp-XXXXXX";
	CK_RV rv = CKR_DEVICE_ERROR;
	sqlite3 *db = NULL;
	size_t n = strlen(path);
	char *tmp = malloc(n + sizeof(suffix));
	int fd, rc;

	if (!tmp)
		return CKR_HOST_MEMORY;
	memcpy(tmp, path, n);
	memcpy(tmp + n, suffix, sizeof(suffix));
	fd = mkstemp(tmp); /* mode 0600 */
	if (fd < 0) {
		free(tmp);
		return CKR_DEVICE_ERROR;
	}
	close(fd); /* a fresh file: nobody holds locks on it */

	rc = sqlite3_open_v2(tmp, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK) {
		configure_connection(db);
		rc = configure_durability(db);
	}
	if (rc != SQLITE_OK) {
		rv = map_rc(rc);
		goto out;
	}
	rv = init_schema(db);
	if (rv != CKR_OK)
		goto out;
	rc = sqlite3_exec(db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		rv = map_rc(rc);
		goto out;
	}
	rc = sqlite3_close(db); /* checkpoints and removes -wal and -shm */
	db = NULL;
	if (rc != SQLITE_OK) {
		rv = map_rc(rc);
		goto out;
	}

	if (link(tmp, path) == 0) {
		rv = sync_dir_of(path);
	} else if (errno == EEXIST) {
		rv = CKR_OK;
	} else if (errno == EPERM || errno == ENOTSUP || errno == EOPNOTSUPP || errno == ENOSYS ||
		   errno == EMLINK) {
		/* No hard links here: an empty file, initialised by the caller in
		 * place (under SQLite's write lock). */
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0) {
			close(fd);
			rv = CKR_OK;
		} else {
			rv = errno == EEXIST ? CKR_OK : CKR_DEVICE_ERROR;
		}
	} else {
		rv = CKR_DEVICE_ERROR;
	}
out:
	if (db)
		sqlite3_close(db);
	unlink(tmp);
	free(tmp);
	return rv;
}

/* Everything after the header check: schema version, WAL, statements. */
static CK_RV open_checks(store *s)
{
	int64_t version = 0, gen = 0;
	int rc;

	rc = query_int(s->db, "PRAGMA user_version", &version);
	if (rc != SQLITE_OK)
		return map_open_rc(rc);
	/* Future schema versions migrate here, inside one write transaction. */
	if (version < 1 || version > STORE_SCHEMA_VERSION)
		return CKR_TOKEN_NOT_RECOGNIZED;
	if (sqlite3_db_readonly(s->db, "main") == 1)
		return CKR_DEVICE_ERROR;

	for (int i = 0; i < ST_COUNT; i++) {
		rc = sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
					&s->st[i], NULL);
		if (rc != SQLITE_OK)
			return map_open_rc(rc);
	}
	/* The generation row must be there: a half-made file is not a store. */
	rc = sqlite3_step(s->st[ST_GEN_GET]);
	if (rc == SQLITE_ROW)
		gen = sqlite3_column_int64(s->st[ST_GEN_GET], 0);
	sqlite3_reset(s->st[ST_GEN_GET]);
	if (rc == SQLITE_DONE || gen < 0)
		return CKR_TOKEN_NOT_RECOGNIZED;
	if (rc != SQLITE_ROW)
		return map_open_rc(rc);

	/* Only now that the schema checked out. Stores made by create_file()
	 * are WAL already; one initialised in place switches here. A busy
	 * switch just keeps the rollback journal, which is as durable. */
	rc = query_text_is(s->db, "PRAGMA journal_mode", "wal");
	if (rc == SQLITE_DONE) {
		rc = sqlite3_exec(s->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
		if ((rc & 0xff) == SQLITE_BUSY)
			rc = SQLITE_OK;
	}
	return rc == SQLITE_OK ? CKR_OK : map_open_rc(rc);
}

CK_RV store_open(const char *path, int flags, store **out)
{
	CK_RV rv;
	struct stat sb;
	store *s = NULL;
	int rc, empty = 0;

	if (!path || !*path || !out)
		return CKR_ARGUMENTS_BAD;
	*out = NULL;
	/* a single-threaded SQLite build cannot serve a multi-threaded module */
	if (!sqlite3_threadsafe())
		return CKR_GENERAL_ERROR;

	if (stat(path, &sb) != 0) {
		if (errno != ENOENT)
			return CKR_DEVICE_ERROR;
		if (!(flags & STORE_CREATE))
			return CKR_TOKEN_NOT_RECOGNIZED;
		rv = create_file(path);
		if (rv != CKR_OK)
			return rv;
	} else if (!S_ISREG(sb.st_mode)) {
		return CKR_TOKEN_NOT_RECOGNIZED;
	}

	if (!(s = calloc(1, sizeof(*s))))
		return CKR_HOST_MEMORY;
	s->pid = getpid();
	/* never SQLITE_OPEN_CREATE: the file exists by now, and if it vanished
	 * meanwhile, creating an empty one here would be wrong */
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		rv = (rc & 0xff) == SQLITE_CANTOPEN ? CKR_DEVICE_ERROR : map_rc(rc);
		goto out;
	}
	configure_connection(s->db);
	rv = check_header(s->db, &empty);
	if (rv == CKR_OK && empty && !(flags & STORE_CREATE))
		rv = CKR_TOKEN_NOT_RECOGNIZED;
	if (rv != CKR_OK)
		goto out;
	rc = configure_durability(s->db);
	if (rc != SQLITE_OK) {
		rv = map_open_rc(rc);
		goto out;
	}
	if (empty) {
		rv = init_schema(s->db);
		if (rv != CKR_OK)
			goto out;
	}
	rv = open_checks(s);
	if (rv != CKR_OK)
		goto out;
	*out = s;
	s = NULL;
out:
	store_close(s);
	return rv;
}

void store_close(store *s)
{
	if (!s)
		return;
	if (s->pid != getpid()) {
		free(s); /* the connection belongs to the parent */
		return;
	}
	if (s->db && !sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->st[i]);
	if (s->db && sqlite3_close(s->db) != SQLITE_OK)
		sqlite3_close_v2(s->db);
	free(s);
}

CK_RV store_begin(store *s)
{
	CK_RV rv = check_handle(s);
	int rc;

	if (rv != CKR_OK)
		return rv;
	/* nest-free; and a write lock taken under a live scan could deadlock
	 * on the scan's own read snapshot */
	if (s->in_txn || s->scanning)
		return CKR_GENERAL_ERROR;
	rc = step_done(s->st[ST_BEGIN]);
	if (rc != SQLITE_OK)
		return map_rc(rc);
	s->in_txn = 1;
	return CKR_OK;
}

CK_RV store_commit(store *s)
{
	CK_RV rv = check_handle(s);
	int rc;

	if (rv != CKR_OK)
		return rv;
	if (!s->in_txn)
		return CKR_GENERAL_ERROR;
	s->in_txn = 0;
	/* SQLite rolls back on its own after some errors (full disk, I/O) */
	if (sqlite3_get_autocommit(s->db))
		return CKR_DEVICE_ERROR;
	rc = step_done(s->st[ST_COMMIT]);
	if (rc != SQLITE_OK) {
		if (!sqlite3_get_autocommit(s->db))
			step_done(s->st[ST_ROLLBACK]);
		return map_rc(rc);
	}
	return CKR_OK;
}

void store_rollback(store *s)
{
	if (check_handle(s) != CKR_OK)
		return;
	if (s->in_txn && !sqlite3_get_autocommit(s->db))
		step_done(s->st[ST_ROLLBACK]);
	s->in_txn = 0;
}

/* Write functions run in the caller's transaction, or in their own. */
static CK_RV write_begin(store *s, int *own)
{
	CK_RV rv = check_handle(s);

	*own = 0;
	if (rv != CKR_OK)
		return rv;
	if (s->in_txn) {
		/* rolled back under us: don't let the write autocommit alone */
		return sqlite3_get_autocommit(s->db) ? CKR_DEVICE_ERROR : CKR_OK;
	}
	rv = store_begin(s);
	*own = rv == CKR_OK;
	return rv;
}

static CK_RV write_end(store *s, int own, CK_RV rv)
{
	if (!own)
		return rv;
	if (rv == CKR_OK)
		return store_commit(s);
	store_rollback(s);
	return rv;
}

CK_RV store_meta_get(store *s, const char *name, unsigned char **value, size_t *len)
{
	CK_RV rv = check_handle(s);
	sqlite3_stmt *st;
	int rc;

	if (rv != CKR_OK)
		return rv;
	if (!name || !value || !len)
		return CKR_ARGUMENTS_BAD;
	*value = NULL;
	*len = 0;
	st = s->st[ST_META_GET];
	rc = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const void *p = sqlite3_column_blob(st, 0);
		int n = sqlite3_column_bytes(st, 0);
		unsigned char *copy = malloc(n > 0 ? (size_t)n : 1);
		if (!copy || (n > 0 && !p)) {
			free(copy);
			rv = CKR_HOST_MEMORY;
		} else {
			if (n > 0)
				memcpy(copy, p, (size_t)n);
			*value = copy;
			*len = (size_t)n;
		}
	} else if (rc != SQLITE_DONE) {
		rv = map_rc(rc);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rv;
}

CK_RV store_meta_put(store *s, const char *name, const void *value, size_t len)
{
	sqlite3_stmt *st;
	CK_RV rv;
	int own, rc;

	if (!name || (!value && len))
		return CKR_ARGUMENTS_BAD;
	rv = write_begin(s, &own);
	if (rv != CKR_OK)
		return rv;
	st = s->st[ST_META_PUT];
	rc = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	/* a non-NULL pointer keeps an empty value a blob, not SQL NULL */
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_blob64(st, 2, len ? value : "", len, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = step_done(st);
	else
		sqlite3_clear_bindings(st);
	return write_end(s, own, map_rc(rc));
}

CK_RV store_meta_delete(store *s, const char *name)
{
	sqlite3_stmt *st;
	CK_RV rv;
	int own, rc;

	if (!name)
		return CKR_ARGUMENTS_BAD;
	rv = write_begin(s, &own);
	if (rv != CKR_OK)
		return rv;
	st = s->st[ST_META_DELETE];
	rc = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = step_done(st);
	return write_end(s, own, map_rc(rc));
}

void store_free(void *p, size_t len)
{
	if (p)
		OPENSSL_cleanse(p, len);
	free(p); /* malloc'd by store_meta_get */
}

/* Takes the next generation number (inside the current write transaction). */
static CK_RV next_generation(store *s, int64_t *gen)
{
	int rc = step_done(s->st[ST_GEN_BUMP]);

	if (rc != SQLITE_OK)
		return map_rc(rc);
	if (sqlite3_changes(s->db) != 1)
		return CKR_DEVICE_ERROR;
	rc = sqlite3_step(s->st[ST_GEN_GET]);
	if (rc == SQLITE_ROW)
		*gen = sqlite3_column_int64(s->st[ST_GEN_GET], 0);
	sqlite3_reset(s->st[ST_GEN_GET]);
	return rc == SQLITE_ROW ? CKR_OK : rc == SQLITE_DONE ? CKR_DEVICE_ERROR : map_rc(rc);
}

static int bind_blobs(sqlite3_stmt *st, int first, const void *attrs, size_t attrs_len,
		      const void *sealed, size_t sealed_len)
{
	int rc = sqlite3_bind_blob64(st, first, attrs_len ? attrs : "", attrs_len, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_blob64(st, first + 1, sealed_len ? sealed : "", sealed_len,
					 SQLITE_STATIC);
	return rc;
}

CK_RV store_object_insert(store *s, const void *attrs, size_t attrs_len, const void *sealed,
			  size_t sealed_len, int64_t *row, int64_t *gen)
{
	sqlite3_stmt *st;
	CK_RV rv;
	int64_t g = 0, r = 0;
	int own, rc;

	if ((!attrs && attrs_len) || (!sealed && sealed_len))
		return CKR_ARGUMENTS_BAD;
	rv = write_begin(s, &own);
	if (rv != CKR_OK)
		return rv;
	rv = next_generation(s, &g);
	if (rv != CKR_OK)
		goto out;
	st = s->st[ST_OBJ_INSERT];
	rc = sqlite3_bind_int64(st, 1, g);
	if (rc == SQLITE_OK)
		rc = bind_blobs(st, 2, attrs, attrs_len, sealed, sealed_len);
	if (rc == SQLITE_OK)
		rc = step_done(st);
	else
		sqlite3_clear_bindings(st);
	rv = map_rc(rc);
	if (rv == CKR_OK)
		r = sqlite3_last_insert_rowid(s->db);
out:
	rv = write_end(s, own, rv);
	if (rv == CKR_OK) {
		if (row)
			*row = r;
		if (gen)
			*gen = g;
	}
	return rv;
}

CK_RV store_object_update(store *s, int64_t row, const void *attrs, size_t attrs_len,
			  const void *sealed, size_t sealed_len, int64_t *gen)
{
	sqlite3_stmt *st;
	CK_RV rv;
	int64_t g = 0;
	int own, rc;

	if ((!attrs && attrs_len) || (!sealed && sealed_len))
		return CKR_ARGUMENTS_BAD;
	rv = write_begin(s, &own);
	if (rv != CKR_OK)
		return rv;
	rv = next_generation(s, &g);
	if (rv != CKR_OK)
		goto out;
	st = s->st[ST_OBJ_UPDATE];
	rc = sqlite3_bind_int64(st, 1, row);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, g);
	if (rc == SQLITE_OK)
		rc = bind_blobs(st, 3, attrs, attrs_len, sealed, sealed_len);
	if (rc == SQLITE_OK)
		rc = step_done(st);
	else
		sqlite3_clear_bindings(st);
	rv = map_rc(rc);
	/* gone, e.g. destroyed by another process */
	if (rv == CKR_OK && sqlite3_changes(s->db) != 1)
		rv = CKR_OBJECT_HANDLE_INVALID;
out:
	rv = write_end(s, own, rv);
	if (rv == CKR_OK && gen)
		*gen = g;
	return rv;
}

/* Deleting a row that is already gone is not an error. */
CK_RV store_object_delete(store *s, int64_t row)
{
	sqlite3_stmt *st;
	CK_RV rv;
	int own, rc;

	rv = write_begin(s, &own);
	if (rv != CKR_OK)
		return rv;
	st = s->st[ST_OBJ_DELETE];
	rc = sqlite3_bind_int64(st, 1, row);
	if (rc == SQLITE_OK)
		rc = step_done(st);
	return write_end(s, own, map_rc(rc));
}

CK_RV store_objects_delete_all(store *s)
{
	CK_RV rv;
	int own;

	rv = write_begin(s, &own);
	if (rv != CKR_OK)
		return rv;
	/* the generation counter and row ids keep growing: caches elsewhere
	 * must see objects created after this as new */
	return write_end(s, own, map_rc(step_done(s->st[ST_OBJ_DELETE_ALL])));
}

/* The callback must not call store_objects_scan() or store_begin(); writes
 * from it are allowed only inside an explicit transaction. */
CK_RV store_objects_scan(store *s, int64_t since, store_object_cb cb, void *ctx)
{
	CK_RV rv = check_handle(s);
	sqlite3_stmt *st;
	int rc;

	if (rv != CKR_OK)
		return rv;
	if (!cb)
		return CKR_ARGUMENTS_BAD;
	if (s->scanning)
		return CKR_GENERAL_ERROR;
	s->scanning = 1;
	st = s->st[ST_SCAN];
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t row = sqlite3_column_int64(st, 0);
		int64_t gen = sqlite3_column_int64(st, 1);
		const void *attrs = NULL, *sealed = NULL;
		size_t attrs_len = 0, sealed_len = 0;

		/* older rows: their blobs are not even read from disk */
		if (gen > since) {
			attrs = sqlite3_column_blob(st, 2);
			attrs_len = (size_t)sqlite3_column_bytes(st, 2);
			sealed = sqlite3_column_blob(st, 3);
			sealed_len = (size_t)sqlite3_column_bytes(st, 3);
			if ((!attrs && attrs_len) || (!sealed && sealed_len)) {
				rv = CKR_HOST_MEMORY;
				break;
			}
			/* an empty blob still comes as a non-NULL pointer */
			if (!attrs)
				attrs = "";
			if (!sealed)
				sealed = "";
		}
		rv = cb(ctx, row, gen, attrs, attrs_len, sealed, sealed_len);
		if (rv != CKR_OK)
			break;
	}
	if (rv == CKR_OK && rc != SQLITE_DONE)
		rv = map_rc(rc);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	s->scanning = 0;
	return rv;
}

CK_RV store_data_version(store *s, int64_t *version)
{
	CK_RV rv = check_handle(s);
	sqlite3_stmt *st;
	int rc;

	if (rv != CKR_OK)
		return rv;
	if (!version)
		return CKR_ARGUMENTS_BAD;
	st = s->st[ST_DATA_VERSION];
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*version = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? CKR_OK : map_rc(rc);
}
