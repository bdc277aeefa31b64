# OFD packages (ofd.c): signatures of GB/T 33190 documents, read with libzip
# and libxml2; stamping them (ofdstamp.c).
sealkit_srcs += middleware/ofd.c middleware/ofd.h middleware/include/sealkit/ofd.h \
	middleware/ofdpkg.h middleware/ofdstamp.c
sealkit_public_h += middleware/include/sealkit/ofd.h
sealkit_libadd += $(LIBZIP_LIBS) $(LIBXML_LIBS)
# libsealkit_la_CPPFLAGS starts with AM_CPPFLAGS.
AM_CPPFLAGS += $(LIBZIP_CFLAGS) $(LIBXML_CFLAGS)
