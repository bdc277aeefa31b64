# CUnit tests (store): the SQLite store and encryption at rest, linked against
# the store's own sources only, not the module.
check_LTLIBRARIES += tests/unit/libstore_only.la
tests_unit_libstore_only_la_SOURCES = pkcs11/store/sqlite.c pkcs11/store/seal.c \
	pkcs11/store/store.h pkcs11/store/seal.h
tests_unit_libstore_only_la_LIBADD = $(OPENSSL_LIBS) $(SQLITE_LIBS)

store_test_ldadd = tests/unit/libharness.la tests/unit/libstore_only.la $(CUNIT_LIBS) \
	$(OPENSSL_LIBS) $(SQLITE_LIBS)

check_PROGRAMS += tests/unit/test_store tests/unit/test_seal
TESTS += tests/unit/test_store tests/unit/test_seal
tests_unit_test_store_SOURCES = tests/unit/test_store.c
tests_unit_test_store_CFLAGS = $(unit_cflags)
tests_unit_test_store_LDADD = $(store_test_ldadd)
tests_unit_test_seal_SOURCES = tests/unit/test_seal.c
tests_unit_test_seal_CFLAGS = $(unit_cflags)
tests_unit_test_seal_LDADD = $(store_test_ldadd)

# kill -9 and two-writer tests: crashwriter writes, the script kills and checks.
check_PROGRAMS += tests/unit/crashwriter
tests_unit_crashwriter_SOURCES = tests/unit/crashwriter.c
tests_unit_crashwriter_LDADD = tests/unit/libstore_only.la $(OPENSSL_LIBS) $(SQLITE_LIBS)
TESTS += tests/shell/test_store_crash.sh
dist_check_SCRIPTS += tests/shell/test_store_crash.sh
