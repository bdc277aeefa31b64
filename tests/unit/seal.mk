# CUnit tests of libsealkit seal/stamp structures. The samples are read from
# $SEALKIT_INTEROP_DIR, else $(top_srcdir)/../shared/interop (skip when neither).
check_LTLIBRARIES += tests/unit/libsealfixtures.la
tests_unit_libsealfixtures_la_SOURCES = tests/unit/test_seal_fixtures.c tests/unit/test_seal_fixtures.h
tests_unit_libsealfixtures_la_CPPFLAGS = $(sealkit_cppflags) -DSEALKIT_ABS_TOP_SRCDIR='"$(abs_top_srcdir)"'
tests_unit_libsealfixtures_la_CFLAGS = $(unit_cflags)

seal_test_ldadd = tests/unit/libsealfixtures.la tests/unit/libharness.la $(sealkit_ldadd) $(CUNIT_LIBS)

check_PROGRAMS += tests/unit/test_seal_asn1 tests/unit/test_seal_mutate
TESTS += tests/unit/test_seal_asn1 tests/unit/test_seal_mutate
tests_unit_test_seal_asn1_SOURCES = tests/unit/test_seal_asn1.c tests/unit/test_seal_build.c
tests_unit_test_seal_asn1_CPPFLAGS = $(sealkit_cppflags)
tests_unit_test_seal_asn1_CFLAGS = $(unit_cflags)
tests_unit_test_seal_asn1_LDADD = $(seal_test_ldadd)
tests_unit_test_seal_mutate_SOURCES = tests/unit/test_seal_mutate.c
tests_unit_test_seal_mutate_CPPFLAGS = $(sealkit_cppflags)
tests_unit_test_seal_mutate_CFLAGS = $(unit_cflags)
tests_unit_test_seal_mutate_LDADD = $(seal_test_ldadd)
