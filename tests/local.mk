# Tests. Unit test programs print TAP (tests/unit/harness.c turns each CUnit
# test into one result), shell tests exit 0/1/77.
TEST_EXTENSIONS = .sh
LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh
SH_LOG_DRIVER = $(SHELL) $(top_srcdir)/build-aux/test-driver
AM_TESTS_ENVIRONMENT = \
	top_builddir='$(abs_top_builddir)'; export top_builddir; \
	top_srcdir='$(abs_top_srcdir)'; export top_srcdir; \
	SEALKIT_MODULE='$(abs_top_builddir)/.libs/sealkit-pkcs11.so'; export SEALKIT_MODULE; \
	SEALKIT_CONF=/dev/null; export SEALKIT_CONF;

check_LTLIBRARIES += tests/unit/libharness.la
tests_unit_libharness_la_SOURCES = tests/unit/harness.c tests/unit/harness.h
tests_unit_libharness_la_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)

unit_cflags = $(AM_CFLAGS) $(CUNIT_CFLAGS)
unit_ldadd = tests/unit/libharness.la libsk_core.la $(CUNIT_LIBS) $(OPENSSL_LIBS) $(SQLITE_LIBS) $(DL_LIBS)

include tests/unit/local.mk
include tests/shell/local.mk
include tests/shell/cli.mk
include tests/bench/local.mk
include tests/fuzz/local.mk
EXTRA_DIST += tests/lsan.supp
