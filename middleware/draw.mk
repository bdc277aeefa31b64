# Seal imprints (sealkit seal draw): cairo and a fontconfig CJK font.
sealkit_srcs += middleware/draw.c middleware/include/sealkit/draw.h
sealkit_public_h += middleware/include/sealkit/draw.h
sealkit_libadd += $(CAIRO_LIBS) -lm
# libsealkit_la_CPPFLAGS starts with AM_CPPFLAGS.
AM_CPPFLAGS += $(CAIRO_CFLAGS)
