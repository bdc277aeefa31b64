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

# Cross-checks with OpenSSL on random inputs, through the function table.
check_PROGRAMS += tests/unit/test_sm_cross
TESTS += tests/unit/test_sm_cross
tests_unit_test_sm_cross_SOURCES = tests/unit/test_sm_cross.c tests/unit/sm2help.c \
	tests/unit/sm2help.h
tests_unit_test_sm_cross_CFLAGS = $(unit_cflags)
tests_unit_test_sm_cross_LDADD = tests/unit/libp11test.la $(unit_ldadd)

# Makes SM2 key pairs for the shell tests: pkcs11-tool and p11tool cannot.
check_PROGRAMS += tests/unit/p11smkey
tests_unit_p11smkey_SOURCES = tests/unit/p11smkey.c
tests_unit_p11smkey_LDADD = $(DL_LIBS)
