/* The persistent store behind a soft token: one SQLite database per token.
 *
 * WAL journal, synchronous=FULL: a transaction that returned CKR_OK survives a
 * kill -9 or a power cut, and a crash never leaves the file unreadable.
 * Several processes may open one store (SQLite's locking, with a busy
 * timeout); store_data_version() tells cheaply whether another connection
 * changed anything since we last looked.
 *
 * The store knows nothing of PKCS#11 attributes: an object is a row holding
 * two opaque blobs (the packed public attributes and the sealed secret ones)
 * and a generation number that grows with every write to the row. */
#ifndef SEALKIT_STORE_H
#define SEALKIT_STORE_H

#include <stddef.h>
#include <stdint.h>
#include "pkcs11x.h"

typedef struct store store;

enum { STORE_CREATE = 1 };

/* Opens (and with STORE_CREATE creates) the database at `path`, creating the
 * schema if it is missing. A file that is not a sealkit store gives
 * CKR_TOKEN_NOT_RECOGNIZED; an I/O problem CKR_DEVICE_ERROR. Files are created
 * with mode 0600. */
CK_RV store_open(const char *path, int flags, store **out);
void store_close(store *s);

/* Write transactions (BEGIN IMMEDIATE ... COMMIT). Every write function also
 * works outside an explicit transaction, as its own transaction. */
CK_RV store_begin(store *s);
CK_RV store_commit(store *s);
void store_rollback(store *s);

/* Small named values (token label, PIN blobs, counters). *value is NULL when
 * absent; free it with store_free() (it wipes). */
CK_RV store_meta_get(store *s, const char *name, unsigned char **value, size_t *len);
CK_RV store_meta_put(store *s, const char *name, const void *value, size_t len);
CK_RV store_meta_delete(store *s, const char *name);
void store_free(void *p, size_t len);

CK_RV store_object_insert(store *s, const void *attrs, size_t attrs_len, const void *sealed,
			  size_t sealed_len, int64_t *row, int64_t *gen);
CK_RV store_object_update(store *s, int64_t row, const void *attrs, size_t attrs_len,
			  const void *sealed, size_t sealed_len, int64_t *gen);
CK_RV store_object_delete(store *s, int64_t row);
CK_RV store_objects_delete_all(store *s);

/* Calls cb for every object row. Rows whose generation is greater than
 * `since` come with their blobs; the others with NULL blobs (so a caller can
 * tell which rows it already has are gone or changed without reading them
 * all again). A non-OK return from cb stops the scan and is returned. */
typedef CK_RV (*store_object_cb)(void *ctx, int64_t row, int64_t gen, const void *attrs,
				 size_t attrs_len, const void *sealed, size_t sealed_len);
CK_RV store_objects_scan(store *s, int64_t since, store_object_cb cb, void *ctx);

/* Changes whenever another connection commits (PRAGMA data_version). */
CK_RV store_data_version(store *s, int64_t *version);

#endif
