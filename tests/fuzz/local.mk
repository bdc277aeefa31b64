# libFuzzer targets, one per decoder. They are built with $(FUZZ_CC) (clang)
# when configure found it links -fsanitize=fuzzer, and compile the decoder
# sources themselves so that libFuzzer's coverage reaches into them. By hand:
#   tests/fuzz/fuzz_seal -max_total_time=600 CORPUS_DIR ../shared/interop/ofdrw
# make check runs both once over every interop seal and stamp.
TESTS += tests/fuzz/test_fuzz_samples.sh
dist_check_SCRIPTS += tests/fuzz/test_fuzz_samples.sh
EXTRA_DIST += tests/fuzz/fuzz.h tests/fuzz/fuzz_seal.c tests/fuzz/fuzz_stamp.c

if HAVE_FUZZER
fuzz_decoder_srcs = $(srcdir)/middleware/asn1.c $(srcdir)/middleware/seal.c \
	$(srcdir)/middleware/stamp.c $(srcdir)/middleware/status.c middleware/asn1_tables.c
fuzz_decoder_deps = $(fuzz_decoder_srcs) $(srcdir)/middleware/asn1.h \
	$(srcdir)/middleware/include/sealkit/seal.h $(srcdir)/tests/fuzz/fuzz.h
fuzz_flags = -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-DHAVE_CONFIG_H -I$(top_builddir) -I$(srcdir)/middleware -I$(srcdir)/middleware/include \
	$(TASN1_CFLAGS) $(WARN_CFLAGS)
check_DATA = tests/fuzz/fuzz_seal tests/fuzz/fuzz_stamp
CLEANFILES += $(check_DATA)

tests/fuzz/fuzz_seal: $(srcdir)/tests/fuzz/fuzz_seal.c $(fuzz_decoder_deps)
	$(AM_V_CCLD)$(MKDIR_P) tests/fuzz && $(FUZZ_CC) $(fuzz_flags) -o $@ \
		$(srcdir)/tests/fuzz/fuzz_seal.c $(fuzz_decoder_srcs) $(TASN1_LIBS) -lpthread
tests/fuzz/fuzz_stamp: $(srcdir)/tests/fuzz/fuzz_stamp.c $(fuzz_decoder_deps)
	$(AM_V_CCLD)$(MKDIR_P) tests/fuzz && $(FUZZ_CC) $(fuzz_flags) -o $@ \
		$(srcdir)/tests/fuzz/fuzz_stamp.c $(fuzz_decoder_srcs) $(TASN1_LIBS) -lpthread
endif
