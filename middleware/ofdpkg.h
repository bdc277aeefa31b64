/* Between ofd.c and ofdstamp.c: reading OFD packages the safe way ofd.c
 * does (screened entries, XML without DTDs, bounded depth, paths that
 * never leave the package). */
#ifndef SEALKIT_MW_OFDPKG_H
#define SEALKIT_MW_OFDPKG_H

#include <stdbool.h>
#include <stddef.h>
#include <zip.h>
#include <libxml/tree.h>

#include "sealkit/status.h"

#define SK_OFD_PATH_MAX 1024

/* Opens the package file at path read-only (bytes before the first entry
 * allowed) and screens every entry: names leaving the package, duplicates,
 * sizes and compression ratios (SEALKIT_ERR_FORMAT). */
sealkit_status sk_ofd_open(const char *path, zip_t **out, sealkit_error *err);

/* A whole entry of at most max bytes, NUL-terminated (not counted). */
sealkit_status sk_ofd_read(zip_t *z, zip_int64_t idx, size_t max, unsigned char **buf, size_t *len,
			   sealkit_error *err);

/* An entry's XML: no DTD or entities, bounded depth. bytes (may be NULL)
 * receives the exact file. */
sealkit_status sk_ofd_xml_load(zip_t *z, zip_int64_t idx, const char *path, xmlDocPtr *doc,
			       unsigned char **bytes, size_t *len, sealkit_error *err);

/* Joins dir and ref and normalises; -1 when the result would leave the
 * package. out has no leading '/'. */
int sk_ofd_norm_path(const char *dir, const char *ref, char *out, size_t len);

/* Resolves ref written in a file of directory dir: the entry index, -1
 * when missing, -2 when the path leaves the package. */
zip_int64_t sk_ofd_resolve(zip_t *z, const char *dir, const char *ref, char *out, size_t len);

/* The directory part of path ("" at the root). */
void sk_ofd_dir_of(const char *path, char *dir, size_t len);

/* XML by local name, any namespace; strings trimmed, xmlFree() them. */
bool sk_ofd_is_el(xmlNodePtr n, const char *name);
xmlNodePtr sk_ofd_child(xmlNodePtr n, const char *name);
char *sk_ofd_text(xmlNodePtr n);
char *sk_ofd_attr(xmlNodePtr n, const char *name);

/* Base64 (whitespace and missing padding tolerated): bytes, or -1. */
int sk_ofd_b64_decode(const char *in, unsigned char *out, size_t cap);

#endif
