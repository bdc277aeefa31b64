# CUnit tests (crypto): pkcs11/crypto and pkcs11/mechanisms.c, driven directly.
check_PROGRAMS += tests/unit/test_crypto
TESTS += tests/unit/test_crypto
tests_unit_test_crypto_SOURCES = tests/unit/test_crypto.c tests/unit/cryptotest.c tests/unit/cryptotest.h
tests_unit_test_crypto_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/unit
tests_unit_test_crypto_CFLAGS = $(unit_cflags)
tests_unit_test_crypto_LDADD = $(unit_ldadd)

# Known-answer tests of SM2/SM3/SM4 against the standards' examples.
check_PROGRAMS += tests/unit/test_sm_kat
TESTS += tests/unit/test_sm_kat
tests_unit_test_sm_kat_SOURCES = tests/unit/test_sm_kat.c tests/unit/cryptotest.c tests/unit/cryptotest.h
tests_unit_test_sm_kat_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/unit
tests_unit_test_sm_kat_CFLAGS = $(unit_cflags)
tests_unit_test_sm_kat_LDADD = $(unit_ldadd)
