# Shell tests of the sealkit command-line program (tools/), one per command group.
SHELL_CLI_TESTS = \
	tests/shell/test_cli_token.sh \
	tests/shell/test_cli_seal.sh \
	tests/shell/test_cli_demo.sh
TESTS += $(SHELL_CLI_TESTS)
dist_check_SCRIPTS += $(SHELL_CLI_TESTS)
