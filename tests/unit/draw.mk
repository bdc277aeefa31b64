# CUnit tests of seal imprints (PNG and SVG).
check_PROGRAMS += tests/unit/test_draw
TESTS += tests/unit/test_draw
tests_unit_test_draw_SOURCES = tests/unit/test_draw.c
tests_unit_test_draw_CPPFLAGS = $(sealkit_cppflags) $(CAIRO_CFLAGS)
tests_unit_test_draw_CFLAGS = $(unit_cflags)
tests_unit_test_draw_LDADD = $(sealkit_ldadd) tests/unit/libharness.la $(CUNIT_LIBS) $(CAIRO_LIBS) -lm
