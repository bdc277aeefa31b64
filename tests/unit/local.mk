# CUnit suites (each file names the unit it tests).
include tests/unit/core.mk
include tests/unit/crypto.mk
include tests/unit/store.mk
include tests/unit/seal.mk
include tests/unit/token.mk
include tests/unit/verify.mk
include tests/unit/draw.mk
include tests/unit/ofd.mk
include tests/unit/proxy.mk
