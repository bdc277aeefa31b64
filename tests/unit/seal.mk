# CUnit tests of libsealkit seal/stamp structures.
