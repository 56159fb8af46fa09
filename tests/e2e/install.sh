#!/bin/sh
# make install: the binary, a link per applet, man pages, the mail root's
# defaults only where no file exists.
. "$(dirname "$0")/lib.sh"
setup
D=$T/dest
"$top/scripts/install.sh" "$UPAS" "$D" /usr /mail >/dev/null
check "binary installed" test -x "$D/usr/lib/upas/upas"
for a in $("$UPAS" --list); do
	check "link for $a" test "$(readlink "$D/usr/lib/upas/$a")" = upas
done
out=$("$D/usr/lib/upas/listen" 2>&1); is $? 64 "an installed link dispatches to its applet"
check "upas on PATH" test -x "$D/usr/bin/upas"
check "man page" test -f "$D/usr/share/man/man8/listen.8"
check "man pages of every section" test -f "$D/usr/share/man/man1/marshal.1" -a -f "$D/usr/share/man/man5/mailbox.5" -a -f "$D/usr/share/man/man6/rewrite.6"
check "default rewrite rules installed" test -f "$D/mail/lib/rewrite"
for d in box lib log tmp queue; do check "mail root has $d/" test -d "$D/mail/$d"; done
check "default files installed" test -f "$D/mail/lib/tls/README"
echo "mine" >"$D/mail/lib/tls/README"
"$top/scripts/install.sh" "$UPAS" "$D" /usr /mail >/dev/null
is "$(cat "$D/mail/lib/tls/README")" "mine" "a second install keeps the user's files"
done_testing
