#!/bin/sh
# Concurrency torture (tests/torture/mix.py): smtpd sessions, pop3 deleting,
# imap4d flagging and expunging, nedmail and fs on one mbox, then on one
# Maildir, for MIX_SECS seconds each (default 5; make torture: 120); then
# nothing delivered is lost, nothing deleted is back, nothing is there twice
# or torn, and every reader agrees on the flags.
. "$(dirname "$0")/../e2e/lib.sh"
setup
cp -r "$top/configs/root/lib/." "$UPASROOT/lib/"
sed -i "s/qer -K /qer /" "$UPASROOT/lib/rewrite"
OWNER=$(id -u)
if [ "$OWNER" = 0 ]; then
	OWNER=4242
	chmod 755 "$T"
fi
R=$UPASROOT
mkdir -p "$R/box/cm" "$R/box/cd/mbox/cur" "$R/box/cd/mbox/new" "$R/box/cd/mbox/tmp"
: >"$R/box/cm/mbox"
chmod 600 "$R/box/cm/mbox"
[ "$(id -u)" = 0 ] && chown -R $OWNER:$OWNER "$R/box/cm" "$R/box/cd" && chmod 1777 "$R/tmp"
python3 "$top/tests/torture/mix.py" "$UPAS" "$UNIT" "$R" "${MIX_SECS:-5}" "$OWNER"
