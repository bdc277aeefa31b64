# Proxy slots: other PKCS#11 modules' tokens as slots of ours (proxy/proxy.h).
SK_PROXY_SOURCES += \
	pkcs11/proxy/proxy.h pkcs11/proxy/internal.h \
	pkcs11/proxy/devices.c \
	pkcs11/proxy/forward.c \
	pkcs11/proxy/ops.c \
	pkcs11/proxy/translate.c \
	pkcs11/proxy/complete.c
