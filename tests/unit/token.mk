# CUnit tests of libsealkit token access.
