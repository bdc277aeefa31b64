#!/usr/bin/env bash
# Install every Debian 12 package that building and testing sealkit needs.
# Fast when everything is already there (one dpkg-query, no apt-get).
set -euo pipefail

PACKAGES=(
	build-essential autoconf automake libtool pkg-config
	libssl-dev libp11-kit-dev libtasn1-6-dev libtasn1-bin libsqlite3-dev libcunit1-dev
	libzip-dev libxml2-dev
	sqlite3 opensc gnutls-bin p11-kit libnss3-tools openssl softhsm2 clang
	libcairo2-dev libfontconfig-dev fonts-wqy-zenhei fontconfig
	# tools the tests call: JSON and byte edits, OFD members, the man page
	python3 unzip man-db
)

missing=()
for pkg in "${PACKAGES[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
	case "$status" in
	ii*) ;;
	*) missing+=("$pkg") ;;
	esac
done

if [ "${#missing[@]}" -eq 0 ]; then
	echo "install-deps: all ${#PACKAGES[@]} packages already installed"
	exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=(sudo)
	else
		echo "install-deps: not root and no sudo: install these packages by hand: ${missing[*]}" >&2
		exit 1
	fi
fi

export DEBIAN_FRONTEND=noninteractive
if ! "${SUDO[@]}" apt-get update -q; then
	echo "install-deps: 'apt-get update' failed" >&2
	exit 1
fi
if ! "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"; then
	echo "install-deps: 'apt-get install ${missing[*]}' failed" >&2
	exit 1
fi
echo "install-deps: done"
