# Proxy slots (pkcs11/proxy/) through the function table: SoftHSMv2, a second
# sealkit-pkcs11.so with a vendor profile, and fakep11.so, a module that
# fails on command (built as a real loadable module: -rpath makes libtool
# build it shared although it is never installed).
check_LTLIBRARIES += tests/unit/fakep11.la
tests_unit_fakep11_la_SOURCES = tests/unit/fakep11.c
tests_unit_fakep11_la_LDFLAGS = -module -shared -avoid-version -rpath /nowhere

check_PROGRAMS += tests/unit/test_proxy
TESTS += tests/unit/test_proxy
tests_unit_test_proxy_SOURCES = tests/unit/test_proxy.c tests/unit/sm2help.c tests/unit/sm2help.h
tests_unit_test_proxy_CFLAGS = $(unit_cflags) \
	-DFAKEP11_SO='"$(abs_top_builddir)/tests/unit/.libs/fakep11.so"'
tests_unit_test_proxy_LDADD = tests/unit/libp11test.la $(unit_ldadd)
EXTRA_tests_unit_test_proxy_DEPENDENCIES = tests/unit/fakep11.la

# SoftHSMv2 behind the proxy with real clients (pkcs11-tool, openssl, p11tool).
TESTS += tests/shell/test_proxy_softhsm.sh
dist_check_SCRIPTS += tests/shell/test_proxy_softhsm.sh

# The same SoftHSM token through the module loaders: p11-kit list-modules and
# NSS (modutil, certutil key generation on the proxied token).
TESTS += tests/shell/test_proxy_clients.sh
dist_check_SCRIPTS += tests/shell/test_proxy_clients.sh
