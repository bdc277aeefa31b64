# CUnit tests of libsealkit verification.
check_PROGRAMS += tests/unit/test_verify
TESTS += tests/unit/test_verify
tests_unit_test_verify_SOURCES = tests/unit/test_verify.c tests/unit/tokensetup.c tests/unit/tokensetup.h
tests_unit_test_verify_CPPFLAGS = $(sealkit_cppflags)
tests_unit_test_verify_CFLAGS = $(unit_cflags)
tests_unit_test_verify_LDADD = $(sealkit_ldadd) tests/unit/libharness.la $(CUNIT_LIBS) $(DL_LIBS)

# Seals, stamps and certificates made with keys on sealkit-pkcs11.so.
check_PROGRAMS += tests/unit/test_make
TESTS += tests/unit/test_make
tests_unit_test_make_SOURCES = tests/unit/test_make.c tests/unit/tokensetup.c tests/unit/tokensetup.h
tests_unit_test_make_CPPFLAGS = $(sealkit_cppflags) -I$(top_srcdir)/tests/unit
tests_unit_test_make_CFLAGS = $(unit_cflags)
tests_unit_test_make_LDADD = $(sealkit_ldadd) tests/unit/libharness.la $(CUNIT_LIBS) $(DL_LIBS)

# libsealkit's speed and memory against raw cryptography (run by hand):
#   SEALKIT_MODULE=.libs/sealkit-pkcs11.so tests/bench/bench_stamp [--seconds S] [--gigabytes G]
check_PROGRAMS += tests/bench/bench_stamp
tests_bench_bench_stamp_SOURCES = tests/bench/bench_stamp.c tests/unit/tokensetup.c tests/unit/tokensetup.h
tests_bench_bench_stamp_CPPFLAGS = $(sealkit_cppflags) -I$(top_srcdir)/tests/unit
tests_bench_bench_stamp_LDADD = $(sealkit_ldadd) $(DL_LIBS)
