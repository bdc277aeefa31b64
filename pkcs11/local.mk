# sealkit-pkcs11.so and the convenience library the in-process tests link.

SK_CORE_SOURCES = \
	pkcs11/pkcs11x.h \
	pkcs11/module.c pkcs11/module.h \
	pkcs11/module_objects.c pkcs11/module_crypto.c pkcs11/soft.h \
	pkcs11/dispatch.c \
	pkcs11/config.c pkcs11/config.h \
	pkcs11/slot.c pkcs11/slot.h \
	pkcs11/token.c pkcs11/token.h \
	pkcs11/session.c pkcs11/session.h \
	pkcs11/object.c pkcs11/object.h \
	pkcs11/attributes.c pkcs11/attributes.h \
	pkcs11/attrs.c pkcs11/attrs.h \
	pkcs11/util/map.c pkcs11/util/map.h \
	pkcs11/mechanisms.c pkcs11/crypto/crypto.h \
	pkcs11/profile.c pkcs11/profile.h

SK_CRYPTO_SOURCES =
SK_STORE_SOURCES =
SK_PROXY_SOURCES =
include pkcs11/crypto/local.mk
include pkcs11/store/local.mk
include pkcs11/proxy/local.mk

noinst_LTLIBRARIES += libsk_core.la
libsk_core_la_SOURCES = $(SK_CORE_SOURCES) $(SK_CRYPTO_SOURCES) $(SK_STORE_SOURCES) \
	$(SK_PROXY_SOURCES)
libsk_core_la_CPPFLAGS = $(AM_CPPFLAGS) -DSYSCONFDIR='"$(sysconfdir)"'
libsk_core_la_LIBADD = $(OPENSSL_LIBS) $(SQLITE_LIBS) $(DL_LIBS)

p11module_LTLIBRARIES = sealkit-pkcs11.la
sealkit_pkcs11_la_SOURCES =
sealkit_pkcs11_la_LIBADD = libsk_core.la
sealkit_pkcs11_la_LDFLAGS = $(AM_LDFLAGS) -module -avoid-version -shared -no-undefined \
	-export-symbols-regex '^C_(GetFunctionList|GetInterfaceList|GetInterface)$$'

p11config_DATA = pkcs11/sealkit.module
CLEANFILES += pkcs11/sealkit.module
pkcs11/sealkit.module: Makefile
	$(AM_V_GEN)mkdir -p pkcs11 && \
	{ echo '# sealkit soft token (GB/T 38540 seals): SM2/SM3/SM4, EC, RSA, AES'; \
	  echo 'module: $(p11moduledir)/sealkit-pkcs11.so'; } > $@

# The same .module pointing into the build tree, for tests of the built module.
noinst_DATA = pkcs11/sealkit-build.module
CLEANFILES += pkcs11/sealkit-build.module
pkcs11/sealkit-build.module: Makefile
	$(AM_V_GEN)mkdir -p pkcs11 && \
	echo "module: $(abs_top_builddir)/.libs/sealkit-pkcs11.so" > $@

# p11-kit's module directory holds modules, not libtool archives.
install-data-hook:
	rm -f $(DESTDIR)$(p11moduledir)/sealkit-pkcs11.la
