# Seal and stamp structures (asn1/, seal.c, stamp.c).
sealkit_srcs += middleware/asn1.c middleware/asn1.h middleware/seal.c middleware/stamp.c \
	middleware/include/sealkit/seal.h
sealkit_public_h += middleware/include/sealkit/seal.h

# Our libtasn1 modules, compiled by asn1Parser into one C file of tables
# (gbt38540_asn1_tab, gmt0031_asn1_tab, x509_asn1_tab) in the build tree.
sealkit_asn1_modules = asn1/gbt38540.asn asn1/gmt0031.asn asn1/x509.asn
EXTRA_DIST += $(sealkit_asn1_modules)
nodist_libsealkit_la_SOURCES = middleware/asn1_tables.c
CLEANFILES += middleware/asn1_tables.c middleware/asn1_tables.c.tmp middleware/asn1_tables.c.part
# libsealkit_la_CPPFLAGS starts with AM_CPPFLAGS.
AM_CPPFLAGS += $(TASN1_CFLAGS)

middleware/asn1_tables.c: $(sealkit_asn1_modules:%=$(srcdir)/%)
	$(AM_V_GEN)$(MKDIR_P) middleware && rm -f $@.tmp && \
	for m in $(sealkit_asn1_modules); do \
		n=`basename $$m .asn`; \
		$(ASN1PARSER) -o $@.part -n $${n}_asn1_tab $(srcdir)/$$m >/dev/null || exit 1; \
		cat $@.part >> $@.tmp && echo >> $@.tmp || exit 1; \
	done && rm -f $@.part && mv $@.tmp $@
