# The module through its function table: linked in, and dlopen'ed.
check_LTLIBRARIES += tests/unit/libp11test.la
tests_unit_libp11test_la_SOURCES = tests/unit/p11test.c tests/unit/p11test.h
tests_unit_libp11test_la_CFLAGS = $(AM_CFLAGS) $(CUNIT_CFLAGS)

check_PROGRAMS += tests/unit/test_module tests/unit/test_module_dlopen
TESTS += tests/unit/test_module tests/unit/test_module_dlopen
tests_unit_test_module_SOURCES = tests/unit/test_module.c
tests_unit_test_module_CFLAGS = $(unit_cflags)
tests_unit_test_module_LDADD = tests/unit/libp11test.la $(unit_ldadd)
tests_unit_test_module_dlopen_SOURCES = tests/unit/test_module.c
tests_unit_test_module_dlopen_CFLAGS = $(unit_cflags) -DVIA_DLOPEN
tests_unit_test_module_dlopen_LDADD = tests/unit/libp11test.la tests/unit/libharness.la \
	$(CUNIT_LIBS) $(OPENSSL_LIBS) $(DL_LIBS)

# A PKCS#11 client for the crash and two-process test.
check_PROGRAMS += tests/unit/p11writer
tests_unit_p11writer_SOURCES = tests/unit/p11writer.c
tests_unit_p11writer_LDADD = $(DL_LIBS)
TESTS += tests/shell/test_token_crash.sh
dist_check_SCRIPTS += tests/shell/test_token_crash.sh

# Vendor numbering profiles through the function table.
check_PROGRAMS += tests/unit/test_profile
TESTS += tests/unit/test_profile
tests_unit_test_profile_SOURCES = tests/unit/test_profile.c tests/unit/sm2help.c tests/unit/sm2help.h
tests_unit_test_profile_CFLAGS = $(unit_cflags)
tests_unit_test_profile_LDADD = tests/unit/libp11test.la $(unit_ldadd)

# A logout forgets opened secrets and caches; crypto threads against login/logout.
check_PROGRAMS += tests/unit/test_logout
TESTS += tests/unit/test_logout
tests_unit_test_logout_SOURCES = tests/unit/test_logout.c
tests_unit_test_logout_CFLAGS = $(unit_cflags)
tests_unit_test_logout_LDADD = tests/unit/libp11test.la $(unit_ldadd)
