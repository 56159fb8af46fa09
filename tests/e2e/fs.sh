#!/bin/sh
# fs -x: a mailbox exported as directories and files (mbox, Maildir, mdir),
# read with cat and grep; a second run writes only what is new and removes
# what is gone, numbers kept and never given again; the files of a corpus
# against Python's email package; links never followed; parts bounded.
. "$(dirname "$0")/lib.sh"
setup
export TZ=UTC
B=$UPASROOT/box/glenda
mkdir -p "$B"
cd "$B" || exit 1
corpus=$top/tests/e2e/imap_corpus

for f in "$corpus"/*.eml; do "$UNIT" mbappend mbox x@example.org <"$f" >/dev/null; done
n=$(ls "$corpus" | wc -l)
"$UPAS" fs -x -f ./mbox -m "$T/tree"
is "$?" 0 "fs -x exports the mbox"
is "$(ls "$T/tree/mbox" | wc -l)" "$n" "a directory a message"
is "$(cat "$T/tree/mbox/1/subject")" "$(sed -n 's/^Subject: //p' "$corpus/01-simple.eml" | head -1)" "subject with cat"
is "$(ls "$T/tree/mbox/2" | grep -c '^[0-9]')" 2 "parts as numbered directories"
check "every file of upas is there" sh -c "for f in body raw rawunix rawbody rawheader header mimeheader unixheader unixdate fileid date from ffrom to cc bcc replyto sender inreplyto messageid references subject type disposition filename digest lines size flags info; do test -f '$T/tree/mbox/1/'\$f || exit 1; done"
is "$(wc -l <"$T/tree/mbox/1/info")" 20 "info has twenty lines"
is "$(cat "$T/tree/mbox/1/raw" | cmp - "$corpus/01-simple.eml" >/dev/null 2>&1 && echo same)" same "raw is the message as delivered"
like "$(grep -l 'image/png\|application/' "$T"/tree/mbox/*/*/type | head -1)" '/[0-9]+/[0-9]+/type$' "grep finds attachments by type"
check "files are read-only, flags is writable" sh -c "test ! -w '$T/tree/mbox/1/raw' -o \$(id -u) = 0; test \$(stat -c %a '$T/tree/mbox/1/flags') = 600"

# the corpus against Python's email package: from, to, cc, subject, type,
# and each part's filename and decoded body (differences by choice: fs_diff/known)
diff=$top/tests/e2e/fs_diff
out=$(python3 "$diff/diff.py" "$T/tree/mbox" "$diff/known" "$corpus"/*.eml)
like "$out" '^0 [0-9]+$' "the corpus: every field and part as Python's email package reads it"
pydata=$(python3 -c 'import os, test.test_email as t; print(os.path.dirname(t.__file__) + "/data")' 2>/dev/null)
mkdir -p py gen
for f in "$pydata"/msg_*.txt; do "$UNIT" mbappend py/mbox x@example.org <"$f" >/dev/null; done
"$UPAS" fs -x -f ./py/mbox -m "$T/pytree"
out=$(python3 "$diff/diff.py" "$T/pytree/mbox" "$diff/known" "$pydata"/msg_*.txt)
like "$out" '^0 [0-9]{3,}$' "Python's test_email corpus (libpython3 test suite) as Python reads it"
python3 "$diff/gen.py" "$T/gen" 150
for f in "$T"/gen/*.eml; do "$UNIT" mbappend gen/mbox x@example.org <"$f" >/dev/null; done
"$UPAS" fs -x -f ./gen/mbox -m "$T/gentree"
out=$(python3 "$diff/diff.py" "$T/gentree/mbox" "$diff/known" "$T"/gen/*.eml)
like "$out" '^0 [0-9]{4,}$' "150 messages Python's email package made, as it reads them"

# a second run: only the new, the gone removed, numbers kept, never reused
printf 'From: n@example.org\nSubject: late\n\nlate\n' | "$UNIT" mbappend mbox n@example.org >/dev/null
out=$("$UPAS" fs -x -v -f ./mbox -m "$T/tree" 2>&1)
like "$out" "$((n + 1)) messages, 1 new, 0 gone" "a second run writes only the new message"
is "$(cat "$T/tree/mbox/$((n + 1))/subject")" "late" "the new one is the next number"
printf '$d\nq\n' | "$UPAS" nedmail -r -f ./mbox >/dev/null 2>&1
out=$("$UPAS" fs -x -v -f ./mbox -m "$T/tree" 2>&1)
like "$out" "$n messages, 0 new, 1 gone" "a deleted message goes from the tree"
check "its directory is gone" test ! -e "$T/tree/mbox/$((n + 1))"
printf 'From: m@example.org\nSubject: later\n\nlater\n' | "$UNIT" mbappend mbox m@example.org >/dev/null
"$UPAS" fs -x -f ./mbox -m "$T/tree"
is "$(cat "$T/tree/mbox/$((n + 2))/subject" 2>&1)" "later" "a number is never given again"
is "$(cat "$T/tree/mbox/1/subject")" "$(sed -n 's/^Subject: //p' "$corpus/01-simple.eml" | head -1)" "old numbers hold"

# the tree back to the mailbox at the next run: flags written into a flags
# file, a message directory removed; and the mailbox's own changes to the tree
before=$(grep -c '^From ' mbox)
echo '+f' >"$T/tree/mbox/1/flags"
echo '-------' >"$T/tree/mbox/2/flags"
rm -r "$T/tree/mbox/3"
"$UPAS" fs -x -f ./mbox -m "$T/tree"
is "$(grep -c '^From ' mbox)" $((before - 1)) "a removed directory deletes its message"
like "$(printf '1h\nx\n' | "$UPAS" nedmail -r -f ./mbox 2>&1)" "  1    '" "echo +f into flags flags the message"
is "$(cat "$T/tree/mbox/1/flags")" "---fr--" "the flags file is rewritten as fs writes it"
echo '-a' >"$T/tree/mbox/1/flags"
"$UPAS" fs -x -f ./mbox -m "$T/tree"
is "$(cat "$T/tree/mbox/1/flags")" "---fr--" "a change that changes nothing: the file says the flags again"
echo 'nonsense' >"$T/tree/mbox/1/flags"
"$UPAS" fs -x -f ./mbox -m "$T/tree"
is "$(cat "$T/tree/mbox/1/flags")" "---fr--" "and so does a file that says no flags"
like "$(awk '/^From /{n++} n==2' mbox | sed -n '1,/^$/p')" 'Status: O' "seven dashes: not recent, written as Status O"
printf '1F +s\nq\n' | "$UPAS" nedmail -r -f ./mbox >/dev/null 2>&1
"$UPAS" fs -x -f ./mbox -m "$T/tree"
is "$(cat "$T/tree/mbox/1/flags")" "---frs-" "a flag set in the mailbox reaches the flags file"
is "$(sed -n 18p "$T/tree/mbox/1/info")" "---frs-" "and info's flags line"

# changes from the tree while deliveries go on: nothing delivered is lost
i=0
while [ $i -lt 30 ]; do printf 'From: w@example.org\nSubject: busy %d\n\nbusy\n' $i >"$T/busy.$i"; i=$((i + 1)); done
(i=0; while [ $i -lt 30 ]; do "$UNIT" mbappend mbox w@example.org <"$T/busy.$i" >/dev/null; i=$((i + 1)); done) &
dpid=$!
for r in 1 2 3; do
	d=$(ls "$T/tree/mbox" | grep -v '\.' | sort -n | sed -n 4p)
	[ -n "$d" ] && rm -r "$T/tree/mbox/$d"
	"$UPAS" fs -x -f ./mbox -m "$T/tree" 2>/dev/null
done
wait $dpid
"$UPAS" fs -x -f ./mbox -m "$T/tree"
is "$(grep -c '^Subject: busy ' mbox)" 30 "fs deleting during 30 deliveries: every delivery kept"
is "$(ls "$T/tree/mbox" | grep -vc '\.')" "$(grep -c '^From ' mbox)" "the tree has the mailbox's messages"

# Maildir and mdir
mkdir -p md/cur md/new md/tmp mdir
printf 'From: a@x.org\nSubject: one\n\nbody one\n' >md/new/1672653600.M1P1.host
printf 'From: b@x.org\nSubject: two\n\nbody two\n' >md/cur/1672740000.M2P1.host:2,FS
printf 'From a@x.org Mon Jan  2 10:00:00 2023\nFrom: a@x.org\nSubject: three\n\nbody three\n' >mdir/1672653600.00
"$UPAS" fs -x -f ./md -m "$T/tree" && "$UPAS" fs -x -f ./mdir -m "$T/tree"
is "$(cat "$T/tree/md/1/subject") $(cat "$T/tree/md/2/subject")" "one two" "Maildir exported in arrival order"
is "$(cat "$T/tree/md/2/flags")" "---f-s-" "Maildir flags: flagged and seen"
is "$(cat "$T/tree/mdir/1/body")" "body three" "mdir exported"
is "$(cat "$T/tree/mdir/1/fileid")" "1672653600.00" "an mdir message's fileid is its file name"
# a hard link, or on a file system with reflinks (btrfs, XFS) a clone
shared() {	# shared TREEFILE MAILFILE
	[ "$(stat -c %i "$1")" = "$(stat -c %i "$2")" ] && return 0
	case $(stat -f -c %T "$2") in btrfs|xfs) cmp -s "$1" "$2" ;; *) return 1 ;; esac
}
check "a Maildir message's raw is its file, linked" shared "$T/tree/md/2/raw" md/cur/1672740000.M2P1.host:2,FS
check "an mdir message's rawunix is its file, linked" shared "$T/tree/mdir/1/rawunix" mdir/1672653600.00
check "linked, it is read-only" sh -c "! stat -c %A '$T/tree/md/2/raw' | grep -q w"
printf 'From a@x.org Mon Jan  2 10:00:01 2023\nFrom: a@x.org\nSubject: four\n\n>From here\n' >mdir/1672653601.00
"$UPAS" fs -x -f ./mdir -m "$T/tree"
is "$(stat -c %h "$T/tree/mdir/2/rawunix") $(tail -1 "$T/tree/mdir/2/rawunix")" "1 From here" "a file that differs (>From quoted) is copied, not linked"

# links are never followed; parts are bounded
mkdir -p "$T/elsewhere" "$T/tree2"
ln -s "$T/elsewhere" "$T/tree2/md"
"$UPAS" fs -x -f ./md -m "$T/tree2" 2>/dev/null
is "$?" 73 "a mailbox's directory in the tree that is a link is refused"
check "nothing written where the link points" test -z "$(ls "$T/elsewhere")"
rm -rf "$T/tree/md/2" && ln -s "$T/elsewhere" "$T/tree/md/2"
"$UPAS" fs -x -f ./md -m "$T/tree" 2>/dev/null
check "a message directory replaced by a link: the link goes, not what it names" test -d "$T/elsewhere" -a ! -L "$T/tree/md/2"
{
	printf 'From deep@y Mon Jan  2 10:00:00 2023\nFrom: deep@y\nSubject: wide\nContent-Type: multipart/mixed; boundary=b\n\n'
	i=0
	while [ $i -lt 1500 ]; do printf -- '--b\nContent-Type: text/plain\n\np%d\n' $i; i=$((i + 1)); done
	printf -- '--b--\n'
} >wide
"$UPAS" fs -x -f ./wide -m "$T/tree"
is "$(ls "$T/tree/wide/1" | grep -c '^[0-9]')" 1000 "at most 1000 parts of a message in the tree"

# what must never delete mail: a damaged or hostile .ids, a message never
# written, a whole tree gone; a header line past 64 KB is still a message
mkdir -p g
for f in "$corpus/01-simple.eml" "$corpus/02-mixed-attach.eml" "$corpus/03-alt-in-mixed.eml"; do
	"$UNIT" mbappend g/box x@example.org <"$f" >/dev/null
done
"$UPAS" fs -x -f ./g/box -m "$T/g"
sed -i '3s/^2 /1 /' "$T/g/box/.ids"	# two lines with number 1
rm -r "$T/g/box/1"
"$UPAS" fs -x -f ./g/box -m "$T/g"
is "$(grep -c '^From ' g/box)" 3 "a .ids with a number twice counts for nothing: no deletion"
rm -rf "$T/g/box"
"$UPAS" fs -x -f ./g/box -m "$T/g"
rm -r "$T/g/box/1" "$T/g/box/2" "$T/g/box/3"
"$UPAS" fs -x -f ./g/box -m "$T/g"
is "$(grep -c '^From ' g/box)" 3 "every message directory gone: the tree is written again, nothing deleted"
sed -i 's/^\([0-9]*\) [0-9]* /\1 - /' "$T/g/box/.ids"	# as if never written
rm -r "$T/g/box/2"
"$UPAS" fs -x -f ./g/box -m "$T/g"
is "$(grep -c '^From ' g/box)" 3 "a message never written is not taken for one removed"
rm -f "$T/g/box/.ids" && mkfifo "$T/g/box/.ids"
timeout 10 "$UPAS" fs -x -f ./g/box -m "$T/g" 2>/dev/null
check "a .ids that is a FIFO does not hang fs" test $? -ne 124
python3 -c "print('From x@y Mon Jan  2 10:00:00 2023\nFrom: a@b\nX-Long: ' + 'y' * 70000 + '\nSubject: long\n\nbody\n')" >long
"$UPAS" fs -x -f ./long -m "$T/g"
is "$(cat "$T/g/long/1/subject")" "long" "a header line past 64 KB"

# the daemon: deliveries appear in the tree at once, announced; removals
# and flags written in the tree reach the mailbox; SIGTERM ends it
mkdir -p d
for f in "$corpus/01-simple.eml" "$corpus/02-mixed-attach.eml"; do "$UNIT" mbappend d/box x@example.org <"$f" >/dev/null; done
printf '#!/bin/sh\necho "$1 $2" >>%s/told\n' "$T" >"$T/tellme"
chmod +x "$T/tellme"
spawn "$UPAS" fs -b -c "$T/tellme" -f ./d/box -m "$T/dtree" >"$T/biff" 2>"$T/fserr"
check "the daemon's first run" waitfor test -f "$T/dtree/box/2/subject"
printf 'From: new@example.org\nSubject: arrived\n\nhello\n' | "$UNIT" mbappend d/box new@example.org >/dev/null
check "a delivery appears in the tree" waitfor test -f "$T/dtree/box/3/subject"
is "$(cat "$T/dtree/box/3/subject")" "arrived" "its subject"
check "-b prints a line for it" waitfor grep -q "box/3	new@example.org	arrived" "$T/biff"
check "-c runs the program for it" waitfor grep -q "box/3 new@example.org" "$T/told"
rm -r "$T/dtree/box/1"
check "a directory removed in the tree deletes the message" waitfor sh -c "test \$(grep -c '^From ' d/box) = 2"
echo '+f' >"$T/dtree/box/2/flags"
check "a flags file written flags the message" waitfor grep -q 'X-Status: F' d/box
check "and is rewritten as fs writes it" waitfor sh -c "test \$(cat '$T/dtree/box/2/flags') = ---fr--"
before=$(grep -c '^From ' d/box)
mv "$T/dtree/box" "$T/oldbox"
check "the whole tree taken away under the daemon: written again" waitfor sh -c "test \$(ls '$T/dtree/box' | grep -c '^[0-9]*\$') = $before"
check "with new numbers, none given before" sh -c "! test -e '$T/dtree/box/1' && ! test -e '$T/dtree/box/2'"
is "$(grep -c '^From ' d/box)" "$before" "and no message deleted"

# ctl, a named pipe taking upas's commands, rc quoting
L=$(id -un)
U=$UPASROOT/box/$L
mkdir -p "$U/md/cur" "$U/md/new" "$U/md/tmp"
for f in 01-simple 03-alt-in-mixed 07-encoded-words; do "$UNIT" mbappend "$U/md" x@example.org <"$corpus/$f.eml" >/dev/null; done
check "DIR/ctl is a named pipe" test -p "$T/dtree/ctl"
ctl() { printf '%s\n' "$*" >"$T/dtree/ctl"; }
"$UPAS" fs -n -m "$T/dtree" 2>/dev/null
is "$?" 75 "a second fs on the tree is refused: one reads its ctl"
ctl "open md"
check "open: a Maildir of the mail store as a second box" waitfor test -f "$T/dtree/md/3/subject"
ctl "open ./d/box again"
check "a mailbox open already is refused" waitfor grep -q "open already as box" "$T/fserr"
ctl "flag md 1 +f 2 +s"
check "flag: pairs of number and flags reach the mailbox" waitfor sh -c "ls '$U/md/cur' | grep -q ':2,F\$' && ls '$U/md/cur' | grep -q ':2,S\$'"
check "and the tree" waitfor sh -c "test \$(cut -c4 '$T/dtree/md/1/flags') = f"
ctl "delete md 1"
check "delete: the message leaves the mailbox and the tree" waitfor sh -c "! test -e '$T/dtree/md/1' && test \$(ls '$U/md/cur' '$U/md/new' | grep -c :2,) -le 2"
is "$(find "$U/md/cur" "$U/md/new" -type f | wc -l)" 2 "two messages left"
before=$(grep -c '^From ' d/box)
ctl "move md 2 ./d/box"
check "move: the message is appended to the target" waitfor sh -c "test \$(grep -c '^From ' d/box) = $((before + 1))"
check "with its flags" waitfor grep -q '^Status: RO\?$' d/box
check "and leaves the source" waitfor sh -c "test \$(find '$U/md/cur' '$U/md/new' -type f | wc -l) = 1 && ! test -e '$T/dtree/md/2'"
check "the target box, open, shows it" waitfor sh -c "grep -qx 'Nested alternative' '$T'/dtree/box/[0-9]*/subject"
ctl "close md"
check "close: the box leaves the tree" waitfor sh -c "! test -e '$T/dtree/md'"
is "$(find "$U/md/cur" "$U/md/new" -type f | wc -l)" 1 "its mailbox untouched"
ctl "create 'new box'"
check "create: an mdir, opened" waitfor sh -c "test -d '$U/new box' && test -d '$T/dtree/new box'"
printf 'From: q@example.org\nSubject: in new\n\nx\n' | "$UNIT" mbappend "$U/new box" q@example.org >/dev/null
check "a delivery to it shows" waitfor test -f "$T/dtree/new box/1/subject"
ctl "rename 'new box' 'it''s'"
check "rename: the mailbox moves, its box keeps its name and tree" waitfor sh -c "test -d \"$U/it's\" && ! test -e '$U/new box' && test -f '$T/dtree/new box/1/subject'"
ctl "remove it's"
check "an unbalanced quote is refused" waitfor grep -q "unbalanced quote" "$T/fserr"
ctl "remove 'it''s'"
check "remove: the mailbox and its box go" waitfor sh -c "! test -e \"$U/it's\" && ! test -e '$T/dtree/new box'"
mkdir -p "$U/f/sub/deeper"
ctl "remove f"
check "remove refuses a mailbox holding others" waitfor grep -q "remove: f: the mailbox holds other mailboxes" "$T/fserr"
ctl "remove -r f"
check "remove -r: with all within" waitfor sh -c "! test -e '$U/f'"
printf 'From: k@example.org\nSubject: kept\n\nx\n' | "$UNIT" mbappend "$U/keep" k@example.org >/dev/null
ctl "rename -t keep kept"
check "rename -t: the new name has the messages" waitfor grep -q '^Subject: kept' "$U/kept"
check "the old one stays, empty" waitfor sh -c "test -f '$U/keep' && ! test -s '$U/keep'"
# names that climb out of the user's box are refused, and nothing outside changes
mkdir -p "$UPASROOT/box/victim"
echo precious >"$UPASROOT/box/victim/mbox"
ctl "remove ../victim/mbox"
check "remove: a name climbing out of box/USER is refused" waitfor grep -q "remove: ../victim/mbox" "$T/fserr"
ctl "rename kept ../victim/stolen"
check "rename: so is a new name climbing out" waitfor grep -q "rename: .*victim/stolen" "$T/fserr"
ctl "create ../victim/made"
check "create: and one made outside" waitfor grep -q "create: .*victim/made" "$T/fserr"
is "$(ls "$UPASROOT/box/victim")" "mbox" "the other user's box untouched"
is "$(cat "$UPASROOT/box/victim/mbox")" "precious" "and their mailbox"
ctl "flag box 999 +s"
check "a number no message has is an error" waitfor grep -q "no message 999" "$T/fserr"
ctl "frobnicate"
check "an unknown command is an error" waitfor grep -q "frobnicate: unknown ctl message" "$T/fserr"
mkdir -p "$U/a"
printf 'From: n@example.org\nSubject: nested\n\nx\n' | "$UNIT" mbappend "$U/a/m" n@example.org >/dev/null
ctl "open a/m nested"
check "a mailbox within another opened" waitfor test -f "$T/dtree/nested/1/subject"
ctl "rename a c"
ctl "flag nested 1 +f"
check "rename of its parent: the box follows its mailbox" waitfor grep -q 'X-Status: F' "$U/c/m"
ctl "create again box"
check "create under a box name in use is refused" waitfor grep -q "create: box: open already" "$T/fserr"
check "and leaves no mailbox behind" sh -c "! test -e '$U/again'"
ctl "close"
check "close with no box is an error" waitfor grep -q "close: no box" "$T/fserr"
k=$(ls "$T/dtree/box" | grep '^[0-9]*$' | head -1)
rm -r "$T/dtree/box/$k"
ctl "flag box $(ls "$T/dtree/box" | grep '^[0-9]*$' | tail -1) +a"
check "a directory removed just before a ctl command still deletes its message" waitfor sh -c "test \$(grep -c '^From ' d/box) = $(($(grep -c '^From ' d/box) - 1))"
rm "$T/dtree/ctl"
check "ctl removed is made again" waitfor test -p "$T/dtree/ctl"
rm -rf "$T/dtree"
check "the whole tree removed: made again, ctl too" waitfor sh -c "test -p '$T/dtree/ctl' && test -f '$T/dtree/box/.ids'"
"$UPAS" fs -n -m "$T/dtree" 2>/dev/null
is "$?" 75 "and still one daemon serves it"
kill "$pid"
check "SIGTERM ends the daemon" waitfor sh -c "! kill -0 $pid"

# a message past the parser's bounds: named, left out, the others written
python3 - "$B/deep" <<'PY'
import sys
p = ["From x@y Mon Jan  2 10:00:00 2023\nFrom: d@example.org\nSubject: nested\n"]
p += ["Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n" % (i, i) for i in range(60)]
p.append("Content-Type: text/plain\n\nhi\n\nFrom x@y Mon Jan  2 10:00:01 2023\nFrom: e@example.org\nSubject: fine\n\nfine\n")
open(sys.argv[1], "w").write("".join(p))
PY
out=$("$UPAS" fs -x -f ./deep -m "$T/deeptree" 2>&1); st=$?
is "$st" 74 "a message nested too deep: fs -x exits 74"
like "$out" "message 1: MIME parts nested too deep" "and names it"
is "$(ls "$T/deeptree/deep" | grep -v '^\.' | tr '\n' ' ')" "2 " "the other message is written"

done_testing
