# Shell tests of the sealkit command-line program (tools/), one per command group.
SHELL_CLI_TESTS = \
	tests/shell/test_cli_token.sh \
	tests/shell/test_cli_seal.sh \
	tests/shell/test_cli_demo.sh \
	tests/shell/test_cli_ofd.sh \
	tests/shell/test_cli_cert.sh \
	tests/shell/test_cli_pin.sh \
	tests/shell/test_cli_progress.sh \
	tests/shell/test_cli_install.sh
TESTS += $(SHELL_CLI_TESTS)
dist_check_SCRIPTS += $(SHELL_CLI_TESTS)
