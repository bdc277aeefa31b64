# Owned by the crypto layer: OpenSSL glue per algorithm family.
SK_CRYPTO_SOURCES += \
	pkcs11/crypto/internal.h \
	pkcs11/crypto/op.c \
	pkcs11/crypto/pkey.c \
	pkcs11/crypto/digest.c \
	pkcs11/crypto/hmac.c \
	pkcs11/crypto/ec.c \
	pkcs11/crypto/encoding.c \
	pkcs11/crypto/sm2.c \
	pkcs11/crypto/rsa.c \
	pkcs11/crypto/aes.c \
	pkcs11/crypto/gcm.c \
	pkcs11/crypto/blockmac.c \
	pkcs11/crypto/keys.c \
	pkcs11/crypto/wrap.c \
	pkcs11/crypto/random.c
