# Tokens through PKCS#11 (p11.c, signer.c): filled in by that work.
