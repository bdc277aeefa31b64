# Seal and stamp structures (asn1/, seal.c, stamp.c): filled in by that work.
