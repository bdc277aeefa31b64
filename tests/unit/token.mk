# CUnit tests of libsealkit token access: signers over sealkit-pkcs11.so,
# SoftHSMv2 and p11-kit-client.so talking to a `p11-kit server`.
check_PROGRAMS += tests/unit/test_token_signer
TESTS += tests/unit/test_token_signer
tests_unit_test_token_signer_SOURCES = tests/unit/test_token_signer.c
tests_unit_test_token_signer_CPPFLAGS = $(sealkit_cppflags)
tests_unit_test_token_signer_CFLAGS = $(unit_cflags)
tests_unit_test_token_signer_LDADD = $(sealkit_ldadd) tests/unit/libharness.la $(CUNIT_LIBS)
