#!/bin/sh
# sealkit-pkcs11.so as a p11-kit module: the .so exports exactly the three
# PKCS#11 entry points; registered through a .module file in a private p11-kit
# configuration, `p11-kit list-modules` shows it with its token; `make install`
# puts the module and its .module file where p11-kit looks for them.
# Exit 0 pass, 1 fail, 77 skip.
set -u
. "$(dirname "$0")/common.sh"

sk_need p11-kit pkcs11-tool nm pkg-config
sk_setup

# 1. Exported symbols.
echo "+ nm -D --defined-only $SEALKIT_MODULE"
syms=$(nm -D --defined-only "$SEALKIT_MODULE" | awk 'NF >= 3 { print $3 }' | LC_ALL=C sort | tr '\n' ' ')
echo "    $syms"
[ "$syms" = "C_GetFunctionList C_GetInterface C_GetInterfaceList " ] ||
	sk_fail "the module must export exactly C_GetFunctionList, C_GetInterface, C_GetInterfaceList; it exports: $syms"

# 2. p11-kit list-modules with only our module configured.
T=sk-p11kit
sk_init_token "$T"

# p11-kit ignores user configuration for root, so as root the listing runs
# as nobody, with a HOME of its own, on files nobody can read.
home="$SK_TMP/home"
conf="$home/.config/pkcs11"
mkdir -p "$conf/modules"
printf 'user-config: only\n' >"$conf/pkcs11.conf"
run_as=
if [ "$(id -u)" -eq 0 ]; then
	command -v setpriv >/dev/null 2>&1 || sk_skip "running as root and setpriv (util-linux) is missing"
	run_as="setpriv --reuid=65534 --regid=65534 --clear-groups"
	$run_as true || sk_skip "running as root and cannot switch to uid 65534 with setpriv"
fi

module_path=$SEALKIT_MODULE
build_module=${top_builddir:-.}/pkcs11/sealkit-build.module
if [ -n "$run_as" ] && ! $run_as test -r "$module_path"; then
	# The build tree is not readable by nobody: list a copy.
	mkdir "$SK_TMP/lib"
	cp "$SEALKIT_MODULE" "$SK_TMP/lib/sealkit-pkcs11.so"
	module_path="$SK_TMP/lib/sealkit-pkcs11.so"
	printf 'module: %s\n' "$module_path" >"$conf/modules/sealkit.module"
elif [ -f "$build_module" ]; then
	# The .module file the build writes for the built module.
	sk_run cat "$build_module"
	sk_expect "^module: $SEALKIT_MODULE\$" "the built module's path in $build_module"
	cp "$build_module" "$conf/modules/sealkit.module"
else
	printf 'module: %s\n' "$module_path" >"$conf/modules/sealkit.module"
fi
if [ -n "$run_as" ]; then
	chown -R 65534:65534 "$SK_TMP"
	chmod 755 "$SK_TMP"
fi

sk_run $run_as env HOME="$home" XDG_CONFIG_HOME="$home/.config" p11-kit list-modules
sk_expect '^sealkit: ' "the module 'sealkit'"
sk_expect "^sealkit: $module_path\$" "the module's path"
sk_expect 'library-manufacturer: sealkit' "sealkit as library manufacturer"
sk_expect "token: $T\$" "the token '$T'"
sk_reject '^p11-kit-trust:' "a system module despite 'user-config: only'"

# 3. make install into a staging directory.
if [ -z "${top_builddir:-}" ] || [ ! -f "$top_builddir/Makefile" ]; then
	echo "top_builddir is not a configured build tree: make install not tested"
	echo "PASS"
	exit 0
fi
sk_need make
expect_moddir=$(pkg-config --variable=p11_module_path p11-kit-1)
expect_confdir=$(pkg-config --variable=p11_module_configs p11-kit-1)
# A tree configured with --with-p11-module-dir / --with-p11-config-dir
# installs there instead.
made_moddir=$(sed -n 's/^p11moduledir = //p' "$top_builddir/Makefile")
made_confdir=$(sed -n 's/^p11configdir = //p' "$top_builddir/Makefile")
if [ "$made_moddir" != "$expect_moddir" ] || [ "$made_confdir" != "$expect_confdir" ]; then
	echo "configured with other p11-kit directories: $made_moddir, $made_confdir"
	expect_moddir=$made_moddir
	expect_confdir=$made_confdir
fi
[ -n "$expect_moddir" ] && [ -n "$expect_confdir" ] || sk_fail "no p11-kit module directories"

dest="$SK_TMP/destdir"
# A make of its own, not a part of the make check that runs this test.
sk_run env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$top_builddir" install DESTDIR="$dest"
sk_run find "$dest" -type f
[ -f "$dest$expect_moddir/sealkit-pkcs11.so" ] ||
	sk_fail "make install did not put sealkit-pkcs11.so in $expect_moddir"
[ -f "$dest$expect_confdir/sealkit.module" ] ||
	sk_fail "make install did not put sealkit.module in $expect_confdir"
sk_run cat "$dest$expect_confdir/sealkit.module"
sk_expect "^module: ($expect_moddir/)?sealkit-pkcs11.so\$" "the installed module's path"
echo "+ nm -D --defined-only $dest$expect_moddir/sealkit-pkcs11.so"
syms=$(nm -D --defined-only "$dest$expect_moddir/sealkit-pkcs11.so" | awk 'NF >= 3 { print $3 }' | LC_ALL=C sort | tr '\n' ' ')
[ "$syms" = "C_GetFunctionList C_GetInterface C_GetInterfaceList " ] ||
	sk_fail "the installed module exports: $syms"

echo "PASS"
