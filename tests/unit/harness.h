/* TAP output for CUnit suites: every CUnit test becomes one automake result.
 * A test program defines register_tests(), which adds its suites. */
#ifndef SEALKIT_TEST_HARNESS_H
#define SEALKIT_TEST_HARNESS_H

#include <CUnit/CUnit.h>

void register_tests(void);

/* Adds a suite or aborts (the registry only fails on out-of-memory). */
CU_pSuite harness_suite(const char *name, CU_InitializeFunc init, CU_CleanupFunc cleanup);
void harness_test(CU_pSuite suite, const char *name, CU_TestFunc fn);

/* Skips the whole program (exit 77 semantics in TAP: "1..0 # SKIP why"). */
void harness_skip_all(const char *why);

#endif
