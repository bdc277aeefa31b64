# Tokens through PKCS#11 (p11.c, signer.c): modules through p11-kit, RFC 7512
# URIs, login, signers (SM2-with-SM3, ECDSA).
sealkit_srcs += middleware/p11.c middleware/p11.h middleware/signer.c middleware/tokenadmin.c \
	middleware/include/sealkit/token.h
sealkit_public_h += middleware/include/sealkit/token.h
