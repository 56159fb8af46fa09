#!/bin/sh
# Queue torture (tests/torture/queue.py): TORTURE_Q messages (default 150;
# make torture: 1500) queued by qer, most qer runs killed; then runq
# delivering them with send into an mbox, killed again and again; every
# acknowledged message delivered whole at least once, and twice only where
# a killed runq explains it.
. "$(dirname "$0")/../e2e/lib.sh"
setup
cp -r "$top/configs/root/lib/." "$UPASROOT/lib/"
python3 "$top/tests/torture/queue.py" "$UPAS" "$UNIT" "$UPASROOT" "${TORTURE_Q:-150}"
