#!/bin/sh
# aliasmail (namefiles, #include, loops, -f, -n), filter (-n -h -b, \1 in
# file names), mail (nedmail without recipients, marshal with them).
. "$(dirname "$0")/lib.sh"
setup

export site=testhost upasname=glenda USER=glenda
R=$UPASROOT
cp "$top"/configs/root/lib/rewrite "$top"/configs/root/lib/namefiles "$top"/configs/root/lib/fromfiles "$R/lib/"
cat >"$R/lib/names.local" <<'EOF'
# comment
postmaster	root
Staff		alice	bob \
		carol
self		testhost!self
remote		bob@example.com
#include	names.more
EOF
printf 'crew\tdave\n' >"$R/lib/names.more"
printf 'other\tzed\n' >"$R/lib/names.other"
printf 'glenda\tglenda@plan9.example.org\n' >"$R/lib/names.from"
printf 'names.from\n' >"$R/lib/fromfiles"

is "$("$UPAS" aliasmail postmaster)" "root" "a name from names.local"
is "$("$UPAS" aliasmail STAFF | tr '\n' ' ')" "alice bob carol " "case is ignored; continued lines join"
is "$("$UPAS" aliasmail crew)" "dave" "#include reads another file"
is "$("$UPAS" aliasmail self)" "local!self" "a name defined as itself is its local mailbox"
is "$("$UPAS" aliasmail nobody)" "local!nobody" "an unknown name is local"
is "$("$UPAS" aliasmail a!b)" "local!a!b" "a name with ! is not translated"
is "$("$UPAS" aliasmail remote)" "bob@example.com" "an alias may be remote"
is "$("$UPAS" aliasmail -n names.other other)" "local!other" "-n names another list of files"
printf 'names.other\n' >"$R/lib/otherfiles"
is "$("$UPAS" aliasmail -n otherfiles other)" "zed" "-n's list is searched"
is "$("$UPAS" aliasmail -f glenda)" "plan9.example.org" "-f prints the domain of the first address"
is "$("$UPAS" aliasmail -f unknown)" "" "-f prints nothing for an unknown name"
"$UPAS" aliasmail -z >/dev/null 2>&1; is $? 64 "a bad option is a usage error"

# --- filter
mkdir -p "$R/box/alice/f"
msg='From bob@example.com Mon Jan  2 15:04:05 2006 remote from testhost
Subject: [list-9fans] hello
X-Spam: yes

body text SECRET here
'
out=$(printf '%s' "$msg" | "$UPAS" filter -n alice "$R/box/alice/mbox" '^bob@(.*)$' "$R/box/alice/f/\1")
is "$out" "$R/box/alice/f/example.com" "-n prints the file; \\1 comes from the sender match"
out=$(printf '%s' "$msg" | "$UPAS" filter -n alice "$R/box/alice/mbox" 'list-([a-z0-9]+)' "$R/box/alice/f/\1")
is "$out" "$R/box/alice/mbox" "header patterns need -h"
out=$(printf '%s' "$msg" | "$UPAS" filter -nh alice "$R/box/alice/mbox" 'list-([a-z0-9]+)' "$R/box/alice/f/\1")
is "$out" "$R/box/alice/f/9fans" "-h tries the header"
out=$(printf '%s' "$msg" | "$UPAS" filter -nh alice "$R/box/alice/mbox" 'SECRET' "$R/box/alice/f/secret")
is "$out" "$R/box/alice/mbox" "-h does not look in the body"
out=$(printf '%s' "$msg" | "$UPAS" filter -nb alice "$R/box/alice/mbox" 'SECRET' "$R/box/alice/f/secret")
is "$out" "$R/box/alice/f/secret" "-b looks in the body"
out=$(printf '%s' "$msg" | "$UPAS" filter -nb alice "$R/box/alice/mbox" '^X-Spam: (.*)$' "$R/box/alice/f/\1")
is "$out" "$R/box/alice/f/yes" "^ and \$ match at the ends of lines (Plan 9's regexps)"
out=$(printf '%s' "$msg" | "$UPAS" filter -nb alice "$R/box/alice/mbox" 'hello.X-Spam' "$R/box/alice/f/x")
is "$out" "$R/box/alice/mbox" ". does not match a newline"
printf '%s' "$msg" | "$UPAS" filter -h alice "$R/box/alice/mbox" 'X-Spam: yes' "$R/box/alice/f/spam"; st=$?
is "$st" 0 "filter delivers"
like "$(head -1 "$R/box/alice/f/spam")" '^From bob@example.com ' "the sender from the From line, our hop dropped"
check "the message is in the chosen mailbox" grep -q '^body text SECRET here' "$R/box/alice/f/spam"
check "and not in the default one" test ! -e "$R/box/alice/mbox"
"$UPAS" filter alice </dev/null >/dev/null 2>&1; is $? 64 "filter without a mailbox is a usage error"

# --- mail
out=$("$UPAS" mail 2>&1); st=$?
like "$out" 'nedmail' "mail without recipients runs nedmail"
"$UPAS" --list | grep -qx nedmail || is "$st" 69 "which is not built yet: exit 69"
mkdir -p "$R/box/alice"
printf 'hello from mail\n' | "$UPAS" mail -s 'via mail' alice; st=$?
is "$st" 0 "mail with a recipient sends through marshal"
check "the message arrives" grep -q '^Subject: via mail' "$R/box/alice/mbox"

done_testing
