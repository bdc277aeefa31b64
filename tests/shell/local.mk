# Shell tests with real PKCS#11 clients.
# Each exits 0/1/77 (77: the client is not installed); common.sh holds their
# shared set-up (temporary token dir, fast-PIN config, token initialisation).
SHELL_CLIENT_TESTS = \
	tests/shell/test_pkcs11_tool.sh \
	tests/shell/test_pkcs11_tool_sm.sh \
	tests/shell/test_p11tool.sh \
	tests/shell/test_p11kit.sh \
	tests/shell/test_nss.sh
TESTS += $(SHELL_CLIENT_TESTS)
dist_check_SCRIPTS += $(SHELL_CLIENT_TESTS)
EXTRA_DIST += tests/shell/common.sh

# The CUnit programs among TESTS, one a line: scripts/test.sh runs them again
# in a sanitizer build.
print-unit-tests:
	@for t in $(TESTS); do \
		case $$t in \
		*.sh) ;; \
		tests/unit/test_*) echo "$$t" ;; \
		esac; \
	done
.PHONY: print-unit-tests
