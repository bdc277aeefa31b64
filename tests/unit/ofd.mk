# CUnit tests of OFD packages: hostile ZIP and XML input.
check_PROGRAMS += tests/unit/test_ofd
TESTS += tests/unit/test_ofd
tests_unit_test_ofd_SOURCES = tests/unit/test_ofd.c
tests_unit_test_ofd_CPPFLAGS = $(sealkit_cppflags) $(LIBZIP_CFLAGS)
tests_unit_test_ofd_CFLAGS = $(unit_cflags)
tests_unit_test_ofd_LDADD = $(sealkit_ldadd) tests/unit/libharness.la $(CUNIT_LIBS) $(LIBZIP_LIBS)
