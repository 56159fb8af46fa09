#!/bin/sh
# Crash torture: TORTURE_N deliveries (default 300; make torture: 3000)
# through smtpd and send into an mbox, an mdir and a Maildir, most of them
# killed (SIGKILL, the whole process group) at a random moment; then every
# acknowledged message is there once and intact, none twice, and every
# mailbox reads whole (tests/torture/crash.py).
. "$(dirname "$0")/../e2e/lib.sh"
setup
cp -r "$top/configs/root/lib/." "$UPASROOT/lib/"
sed -i "s/qer -K /qer /" "$UPASROOT/lib/rewrite"
python3 "$top/tests/torture/crash.py" "$UPAS" "$UNIT" "$UPASROOT" "${TORTURE_N:-300}"
