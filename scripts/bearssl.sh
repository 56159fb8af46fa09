#!/bin/sh
# Fetch BearSSL 0.6 from Debian's source package into build/bearssl/src.
# BEARSSL_TARBALL=path uses a local copy of the same tarball instead (offline builds).
# The tarball's SHA-256 is pinned; nothing is unpacked unless it matches.
set -eu
dir=${1:-build/bearssl}
name=bearssl_0.6+dfsg.1.orig.tar.xz
sum=102a625bd8f6155260867a50c508df8d8c3f796985dd744df1a68e5cd1a79004
[ -f "$dir/src/inc/bearssl.h" ] && exit 0
mkdir -p "$dir"
tarball=${BEARSSL_TARBALL:-$dir/$name}
if [ ! -f "$tarball" ]; then
	if ! ls /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null |
		xargs grep -qsE '^(deb-src|Types:.*deb-src)'; then
		[ "$(id -u)" = 0 ] || { echo "bearssl: no deb-src entry; add one or set BEARSSL_TARBALL" >&2; exit 1; }
		echo "bearssl: adding a deb-src entry for Debian's archive" >&2
		cat >/etc/apt/sources.list.d/upas-deb-src.sources <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
		apt-get update -qq >/dev/null
	fi
	(cd "$dir" && apt-get source --download-only -qq bearssl=0.6+dfsg.1-3 >/dev/null 2>&1 ||
		apt-get source --download-only -qq bearssl >/dev/null 2>&1) || true
	[ -f "$tarball" ] || { echo "bearssl: could not fetch $name (set BEARSSL_TARBALL)" >&2; exit 1; }
fi
got=$(sha256sum "$tarball" | cut -d' ' -f1)
if [ "$got" != "$sum" ]; then
	echo "bearssl: checksum mismatch for $tarball: $got" >&2
	exit 1
fi
rm -rf "$dir/src.tmp" && mkdir -p "$dir/src.tmp"
tar -xJf "$tarball" -C "$dir/src.tmp" --strip-components=1
rm -rf "$dir/src" && mv "$dir/src.tmp" "$dir/src"
