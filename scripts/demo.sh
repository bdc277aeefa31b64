#!/usr/bin/env bash
# The README's first quick-start command: install what is needed, build, and
# run `sealkit demo`, sealkit's main job end to end on a fresh soft token:
# SM2 keys, a demo CA, a drawn seal, a stamped document, both verified.
# Arguments go to `sealkit demo` (e.g. --dir DIR).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
JOBS=${JOBS:-2}

say() {
	printf '\n==> %s\n' "$*"
}

fail() {
	printf '\ndemo FAILED: %s\n' "$*" >&2
	exit 1
}

say "Installing the Debian packages sealkit needs (skipped when present)"
bash "$ROOT/scripts/install-deps.sh" || fail "scripts/install-deps.sh"

if [ ! -f "$ROOT/build/Makefile" ]; then
	say "Configuring the build in build/"
	mkdir -p "$ROOT/m4"
	(cd "$ROOT" && autoreconf -fi) || fail "autoreconf -fi"
	mkdir -p "$ROOT/build"
	(cd "$ROOT/build" && ../configure -q) || fail "configure (see build/config.log)"
fi
say "Building sealkit in build/"
make -C "$ROOT/build" -j"$JOBS" >/dev/null || fail "make in build/ (run 'make -C build' to see why)"
SEALKIT=$ROOT/build/tools/sealkit
MODULE=$ROOT/build/.libs/sealkit-pkcs11.so
[ -x "$SEALKIT" ] && [ -f "$MODULE" ] || fail "the build made no $SEALKIT or $MODULE"

say "Running: sealkit demo $*"
export SEALKIT_MODULE=$MODULE
export SEALKIT_CONF=/dev/null # default settings, not a user's config file
exec "$SEALKIT" demo "$@"
