/* libFuzzer target: sealkit_stamp_parse, tolerant and strict. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Where the checks' sums go, so nothing is optimised away. */
volatile unsigned fuzz_sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (unsigned flags = 0; flags <= SEALKIT_PARSE_STRICT; flags++) {
		sealkit_stamp *s = NULL;
		sealkit_warnings w = {0};
		sealkit_error e = {0};
		sealkit_status st = sealkit_stamp_parse(data, size, flags, &s, &w, &e);
		if (st == SEALKIT_OK)
			fuzz_sink += fuzz_check_stamp(s);
		else if ((st != SEALKIT_ERR_FORMAT && st != SEALKIT_ERR_MEMORY) || !e.message[0] ||
			 s)
			abort();
		sealkit_stamp_free(s);
		sealkit_warnings_free(&w);
	}
	return 0;
}
