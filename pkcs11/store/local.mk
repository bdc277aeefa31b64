# The persistent store (SQLite) and encryption at rest.
SK_STORE_SOURCES += pkcs11/store/store.h pkcs11/store/seal.h
SK_STORE_SOURCES += pkcs11/store/sqlite.c pkcs11/store/seal.c
