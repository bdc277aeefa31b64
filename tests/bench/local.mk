# Benchmarks: built by make check, run by hand (they print figures).
# bench_token dlopens the built sealkit-pkcs11.so, as users load it:
#   tests/bench/bench_token [--objects N] [--seconds S] [--dir DIR] [MODULE]
check_PROGRAMS += tests/bench/bench_token
tests_bench_bench_token_SOURCES = tests/bench/bench_token.c
tests_bench_bench_token_LDADD = $(OPENSSL_LIBS) $(DL_LIBS)
# bench_sm: SM2 sign/verify, SM3 and SM4-CBC through the module vs raw EVP:
#   tests/bench/bench_sm [--seconds S] [--only sm2,sm3,sm4] [MODULE]
check_PROGRAMS += tests/bench/bench_sm
tests_bench_bench_sm_SOURCES = tests/bench/bench_sm.c tests/unit/sm2help.c tests/unit/sm2help.h
tests_bench_bench_sm_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/unit
tests_bench_bench_sm_LDADD = $(OPENSSL_LIBS) $(DL_LIBS)
# bench_proxy: a proxied C_Sign (SoftHSMv2 behind sealkit-pkcs11.so) against
# SoftHSM called directly: tests/bench/bench_proxy [--seconds S] [--rounds N] [MODULE]
check_PROGRAMS += tests/bench/bench_proxy
tests_bench_bench_proxy_SOURCES = tests/bench/bench_proxy.c
tests_bench_bench_proxy_LDADD = $(DL_LIBS)
