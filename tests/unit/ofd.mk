# CUnit tests of OFD packages: hostile ZIP and XML input.
check_PROGRAMS += tests/unit/test_ofd
TESTS += tests/unit/test_ofd
tests_unit_test_ofd_SOURCES = tests/unit/test_ofd.c tests/unit/tokensetup.c tests/unit/tokensetup.h
tests_unit_test_ofd_CPPFLAGS = $(sealkit_cppflags) $(LIBZIP_CFLAGS)
tests_unit_test_ofd_CFLAGS = $(unit_cflags)
tests_unit_test_ofd_LDADD = $(sealkit_ldadd) tests/unit/libharness.la $(CUNIT_LIBS) $(LIBZIP_LIBS) $(DL_LIBS)

# Stamping OFD packages with keys on sealkit-pkcs11.so (ofdstamp.c).
check_PROGRAMS += tests/unit/test_ofdstamp
TESTS += tests/unit/test_ofdstamp
tests_unit_test_ofdstamp_SOURCES = tests/unit/test_ofdstamp.c tests/unit/tokensetup.c tests/unit/tokensetup.h
tests_unit_test_ofdstamp_CPPFLAGS = $(sealkit_cppflags) $(LIBZIP_CFLAGS) -I$(top_srcdir)/tests/unit
tests_unit_test_ofdstamp_CFLAGS = $(unit_cflags)
tests_unit_test_ofdstamp_LDADD = $(sealkit_ldadd) tests/unit/libharness.la $(CUNIT_LIBS) $(LIBZIP_LIBS) $(DL_LIBS)

# Stamping and verifying a 100 MB OFD against SM3 of its bytes (run by hand):
#   SEALKIT_MODULE=.libs/sealkit-pkcs11.so tests/bench/bench_ofd [--megabytes N]
check_PROGRAMS += tests/bench/bench_ofd
tests_bench_bench_ofd_SOURCES = tests/bench/bench_ofd.c tests/unit/tokensetup.c tests/unit/tokensetup.h
tests_bench_bench_ofd_CPPFLAGS = $(sealkit_cppflags) $(LIBZIP_CFLAGS) -I$(top_srcdir)/tests/unit
tests_bench_bench_ofd_LDADD = $(sealkit_ldadd) $(LIBZIP_LIBS) $(DL_LIBS)
