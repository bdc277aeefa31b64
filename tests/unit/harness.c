#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/TestRun.h>

CU_pSuite harness_suite(const char *name, CU_InitializeFunc init, CU_CleanupFunc cleanup)
{
	CU_pSuite s = CU_add_suite(name, init, cleanup);
	if (!s) {
		printf("Bail out! cannot add suite %s: %s\n", name, CU_get_error_msg());
		exit(99);
	}
	return s;
}

void harness_test(CU_pSuite suite, const char *name, CU_TestFunc fn)
{
	if (!CU_add_test(suite, name, fn)) {
		printf("Bail out! cannot add test %s: %s\n", name, CU_get_error_msg());
		exit(99);
	}
}

void harness_skip_all(const char *why)
{
	printf("1..0 # SKIP %s\n", why);
	fflush(stdout);
	exit(0);
}

static unsigned n_run, n_failed;

/* One TAP line per finished test, with the failed assertions as comments. */
static void test_complete(const CU_pTest test, const CU_pSuite suite, const CU_pFailureRecord fail)
{
	n_run++;
	printf("%s %u - %s: %s\n", fail ? "not ok" : "ok", n_run, suite->pName, test->pName);
	if (fail)
		n_failed++;
	for (CU_pFailureRecord f = fail; f; f = f->pNext)
		printf("# %s:%u: %s\n", f->strFileName ? f->strFileName : "?", f->uiLineNumber,
		       f->strCondition ? f->strCondition : "");
	fflush(stdout);
}

/* A suite whose setup failed: each of its tests is a failure. */
static void suite_init_failed(const CU_pSuite suite)
{
	for (CU_pTest t = suite->pTest; t; t = t->pNext) {
		n_run++;
		n_failed++;
		printf("not ok %u - %s: %s # suite setup failed\n", n_run, suite->pName, t->pName);
	}
	fflush(stdout);
}

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS) {
		printf("Bail out! CUnit: %s\n", CU_get_error_msg());
		return 99;
	}
	register_tests();
	CU_set_error_action(CUEA_IGNORE);

	unsigned total = 0;
	for (CU_pSuite s = CU_get_registry()->pSuite; s; s = s->pNext)
		for (CU_pTest t = s->pTest; t; t = t->pNext)
			total++;
	printf("1..%u\n", total);
	fflush(stdout);

	CU_set_test_complete_handler(test_complete);
	CU_set_suite_init_failure_handler(suite_init_failed);
	CU_run_all_tests();
	CU_cleanup_registry();
	return n_failed ? 1 : 0;
}
