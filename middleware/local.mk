# libsealkit: seals, stamps and verification over any PKCS#11 module.
# Each part of the library keeps its sources in its own fragment.
sealkit_srcs = middleware/status.c middleware/include/sealkit/status.h \
	middleware/digest.c middleware/digest.h middleware/certs.c middleware/certs.h \
	middleware/verify.c middleware/report.c middleware/make.c middleware/certissue.c
sealkit_public_h = middleware/include/sealkit/status.h middleware/include/sealkit/verify.h middleware/include/sealkit/make.h
sealkit_libadd =
include middleware/seal.mk
include middleware/token.mk
include middleware/draw.mk
include middleware/ofd.mk

lib_LTLIBRARIES = libsealkit.la
libsealkit_la_SOURCES = $(sealkit_srcs)
libsealkit_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/middleware/include -I$(top_builddir)/middleware
libsealkit_la_LIBADD = $(sealkit_libadd) $(OPENSSL_LIBS) $(P11KIT_LIBS) $(TASN1_LIBS)
libsealkit_la_LDFLAGS = $(AM_LDFLAGS) -version-info 0:0:0 -no-undefined

sealkitincludedir = $(includedir)/sealkit
sealkitinclude_HEADERS = $(sealkit_public_h)

# What a test or tool linking libsealkit needs.
sealkit_cppflags = $(AM_CPPFLAGS) -I$(top_srcdir)/middleware/include -I$(top_builddir)/middleware
sealkit_ldadd = libsealkit.la $(OPENSSL_LIBS) $(P11KIT_LIBS) $(TASN1_LIBS)
