#!/usr/bin/env bash
# The test command (README quick start; CI runs exactly this through .ci/run).
#
#   1. install the Debian packages the build and the tests need;
#   2. autoreconf, build out of tree in build/ and run `make check`
#      (unit tests and the shell tests with real PKCS#11 clients);
#   3. build again in build-asan/ with --enable-sanitizers (ASan + UBSan)
#      and run the CUnit programs there, with LeakSanitizer when it can run;
#   4. count the results of every .trs file of both builds and print
#      "N passed, N failed[, N skipped]" as the very last line.
#
# Exits non-zero when a test failed or a build step broke; a broken step
# counts as one failure in the summary, so a build that breaks never reads
# "0 failed". Environment: JOBS (default 2).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
JOBS=${JOBS:-2}
BUILD=$ROOT/build
ASAN_BUILD=$ROOT/build-asan

broken=()        # names of steps that broke
summary_done=0

step() {
	printf '\n==> %s\n' "$*"
}

# count_results DIR...: totals of the :test-result: lines of all .trs files.
count_results() {
	local dirs=()
	local d
	for d in "$@"; do
		[ -d "$d" ] && dirs+=("$d")
	done
	if [ "${#dirs[@]}" -eq 0 ]; then
		echo "0 0 0"
		return
	fi
	find "${dirs[@]}" -name '*.trs' -type f -print0 |
		xargs -0 -r cat |
		awk '
			/^:test-result:/ {
				r = $2
				if (r == "PASS" || r == "XFAIL") pass++
				else if (r == "SKIP") skip++
				else fail++   # FAIL, XPASS, ERROR and anything unknown
			}
			END { printf "%d %d %d\n", pass, fail, skip }'
}

# show_failures DIR...: the tail of the .log of every test that did not pass.
show_failures() {
	local dirs=()
	local d trs log
	for d in "$@"; do
		[ -d "$d" ] && dirs+=("$d")
	done
	[ "${#dirs[@]}" -eq 0 ] && return 0
	while IFS= read -r -d '' trs; do
		if grep -Eq '^:test-result: (FAIL|XPASS|ERROR)' "$trs"; then
			log=${trs%.trs}.log
			printf '\n---- failed: %s ----\n' "${log#"$ROOT"/}"
			grep -E '^:test-result: (FAIL|XPASS|ERROR)' "$trs" | head -n 20 || true
			if [ -f "$log" ]; then
				printf -- '---- last lines of %s ----\n' "${log#"$ROOT"/}"
				tail -n 60 "$log"
			fi
		fi
	done < <(find "${dirs[@]}" -name '*.trs' -type f -print0 | sort -z)
}

print_summary() {
	local pass fail skip
	[ "$summary_done" -eq 1 ] && return 0
	summary_done=1
	read -r pass fail skip < <(count_results "$BUILD" "$ASAN_BUILD")
	show_failures "$BUILD" "$ASAN_BUILD"
	if [ "${#broken[@]}" -gt 0 ]; then
		printf '\n'
		local b
		for b in "${broken[@]}"; do
			printf 'BROKEN (counted as a failure): %s\n' "$b"
		done
		fail=$((fail + ${#broken[@]}))
	fi
	printf '\n'
	if [ "$skip" -gt 0 ]; then
		printf '%d passed, %d failed, %d skipped\n' "$pass" "$fail" "$skip"
	else
		printf '%d passed, %d failed\n' "$pass" "$fail"
	fi
	[ "$fail" -eq 0 ]
}

# An unexpected error (set -e) still ends with the summary and a failure.
on_exit() {
	local rc=$?
	trap - EXIT
	if [ "$summary_done" -eq 0 ]; then
		broken+=("scripts/test.sh stopped early (exit $rc)")
		print_summary || true
		exit 1
	fi
	exit "$rc"
}
trap on_exit EXIT

# Old results would be counted again: remove them (and only them).
clear_results() {
	local d
	for d in "$@"; do
		[ -d "$d" ] || continue
		find "$d" \( -name '*.trs' -o -name '*.log' \) -type f \
			! -name config.log -delete
	done
}

# configure_in DIR ARGS...: configure DIR (again, each run: cheap, and the
# configure script may have changed).
configure_in() {
	local dir=$1
	shift
	mkdir -p "$dir"
	(cd "$dir" && "$ROOT/configure" -q "$@")
}

# LeakSanitizer needs to stop the process's threads with ptrace; containers
# often forbid that. Probe with a program that leaks.
lsan_works() {
	local tmp rc=0
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/sealkit-lsan.XXXXXX")
	printf '#include <stdlib.h>\nint main(void) { void *p = malloc(64); p = 0; return p != 0; }\n' \
		>"$tmp/leak.c"
	if ! cc -fsanitize=address -g -O0 -o "$tmp/leak" "$tmp/leak.c" 2>/dev/null; then
		rm -rf "$tmp"
		return 1
	fi
	ASAN_OPTIONS=detect_leaks=1 "$tmp/leak" >"$tmp/out" 2>&1 || rc=$?
	# Working LSan reports the leak (exit 23); broken LSan says it cannot run.
	if [ "$rc" -ne 0 ] && grep -q 'ERROR: LeakSanitizer: detected memory leaks' "$tmp/out"; then
		rm -rf "$tmp"
		return 0
	fi
	sed 's/^/    /' "$tmp/out" | head -n 5
	rm -rf "$tmp"
	return 1
}

# ---- 1. dependencies -----------------------------------------------------------

step "dependencies"
if ! bash "$ROOT/scripts/install-deps.sh"; then
	broken+=("scripts/install-deps.sh")
	print_summary || exit 1
fi

# ---- 2. normal build and make check ----------------------------------------------

step "autoreconf -fi"
mkdir -p "$ROOT/m4"
if ! autoreconf -fi; then
	broken+=("autoreconf -fi")
	print_summary || exit 1
fi

build_ok=0
clear_results "$BUILD" "$ASAN_BUILD"

step "configure build/"
if configure_in "$BUILD"; then
	step "make -j$JOBS (build/)"
	if make -C "$BUILD" -j"$JOBS"; then
		build_ok=1
	else
		broken+=("make in build/")
	fi
else
	broken+=("configure in build/ (see build/config.log)")
fi
if [ "$build_ok" -eq 1 ]; then
	step "make -j$JOBS check (build/)"
	check_rc=0
	make -C "$BUILD" -j"$JOBS" check || check_rc=$?
	if [ "$check_rc" -ne 0 ]; then
		read -r _ failed_now _ < <(count_results "$BUILD")
		if [ "$failed_now" -eq 0 ]; then
			broken+=("make check in build/ failed without a failed test (building the tests?)")
		fi
	fi
fi

# ---- 3. sanitizer build, CUnit programs ------------------------------------------

if [ "$build_ok" -eq 1 ]; then
	step "configure build-asan/ --enable-sanitizers"
	if ! configure_in "$ASAN_BUILD" --enable-sanitizers; then
		broken+=("configure --enable-sanitizers in build-asan/ (see build-asan/config.log)")
	else
		unit_tests=$(make -s --no-print-directory -C "$ASAN_BUILD" print-unit-tests | tr '\n' ' ')
		unit_tests=${unit_tests% }
		if [ -z "$unit_tests" ]; then
			broken+=("no CUnit programs found by 'make print-unit-tests'")
		else
			if lsan_works; then
				asan_options=detect_leaks=1
			else
				asan_options=detect_leaks=0
				echo "NOTE: LeakSanitizer cannot run here (ptrace is restricted):" \
					"the sanitizer build runs with detect_leaks=0, leaks are NOT checked."
			fi
			step "make check in build-asan/ with ASAN_OPTIONS=$asan_options: $unit_tests"
			check_rc=0
			ASAN_OPTIONS="$asan_options:abort_on_error=0:print_summary=1" \
				LSAN_OPTIONS="suppressions=$ROOT/tests/lsan.supp" \
				UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
				make -C "$ASAN_BUILD" -j"$JOBS" check TESTS="$unit_tests" || check_rc=$?
			if [ "$check_rc" -ne 0 ]; then
				read -r _ failed_now _ < <(count_results "$ASAN_BUILD")
				if [ "$failed_now" -eq 0 ]; then
					broken+=("make check in build-asan/ failed without a failed test (sanitizer build broken?)")
				fi
			fi
		fi
	fi
else
	echo "build/ did not build: the sanitizer build is skipped"
fi

# ---- 4. summary -------------------------------------------------------------------

if print_summary; then
	exit 0
fi
exit 1
