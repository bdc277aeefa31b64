/* Between ofd.c and verify.c: a stamp's checks appended to an OFD item. */
#ifndef SEALKIT_MW_OFD_H
#define SEALKIT_MW_OFD_H

#include "sealkit/verify.h"

/* Parses the stamp der (SignedValue.dat) and appends its checks to item,
 * with doc (the exact Signature.xml bytes) for the data hash. Sets
 * item->version. An error only when verification could not run. */
sealkit_status sk_verify_stamp_into(sealkit_report_item *item, const void *der, size_t len,
				    const sealkit_document *doc, const sealkit_verify_options *opts,
				    sealkit_error *err);

/* Sets every item's and the report's verdict from the checks. */
void sk_report_conclude(sealkit_report *r);

#endif
