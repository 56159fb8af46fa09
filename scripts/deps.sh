#!/bin/sh
# Install what building and testing upas needs, where it is missing.
# Usage: scripts/deps.sh [build|test]   (build: compilers only; test: also the peers)
set -eu
want=${1:-build}
pkgs="musl-tools make gcc dpkg-dev xz-utils file"
[ "$want" = test ] && pkgs="$pkgs clang libclang-rt-14-dev openssl curl python3 swaks msmtp postfix libpython3.11-testsuite procps iproute2 mutt s-nail tmux gnupg dnsmasq-base fetchmail getmail6 isync dovecot-imapd dovecot-pop3d valgrind"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing (run as root, or install them)" >&2
	exit 1
fi
echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# Postfix only for its test tools and private instances (postfix -c): no
# system configuration, so no daemon on port 25.
case " $missing " in *" postfix "*)
	echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections ;;
esac
apt-get update -qq >/dev/null || apt-get update
apt-get install -y -qq --no-install-recommends $missing >/dev/null
