#!/bin/sh
# nedmail: transcripts (commands in, the exact output compared) of every
# command and address form on an mbox, flags and deletions written back to
# mbox, Maildir and mdir, replies through marshal, pipes, hostile text kept
# off the terminal, q while deliveries go on, and one session in tmux.
. "$(dirname "$0")/lib.sh"
setup
export TZ=UTC
unset marshal
B=$UPASROOT/box/glenda
mkdir -p "$B"
cd "$B" || exit 1

# mkbox FILE: five messages, oldest first, dates of 2023
mkbox() {
	rm -f "$1" ".$1.idx" ".$1.imp" ".$1.sum"
	cat >"$1" <<'MBOX'
From alice@example.org Mon Jan  2 10:00:00 2023
From: Alice <alice@example.org>
To: glenda@example.org
Subject: hello there
Date: Mon, 2 Jan 2023 10:00:00 +0000
Message-ID: <a1@example.org>

Hi Glenda,
how are you?

From bob@example.com Tue Feb 14 09:30:00 2023
From: bob@example.com
To: glenda@example.org, carol@example.net
Cc: dave@example.net
Subject: pics
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=XX

--XX
Content-Type: text/plain

see attached
--XX
Content-Type: image/png; name=a.png
Content-Disposition: attachment; filename=a.png
Content-Transfer-Encoding: base64

UE5HREFUQQ==
--XX
Content-Type: text/plain
Content-Disposition: inline

and a note
--XX--

From carol@example.net Wed Mar  1 12:00:00 2023
From: Carol <carol@example.net>
Reply-To: carol-list@example.net
To: glenda@example.org
Subject: =?UTF-8?B?w6l0w6k=?= a subject that goes on and on well past fifty characters
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary=YY

--YY
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

caf=C3=A9 plain
--YY
Content-Type: text/html

<p>caf&eacute; <b>html</b></p>
--YY--

From mallory@example.com Thu Apr  6 08:00:00 2023
From: mallory@example.com
To: glenda@example.org
Subject: red alert
Content-Type: text/html

<html><head><style>p {}</style></head><body><p>Hello <a href="https://example.com/x">there</a></p>
<ul><li>one</li><li>two</li></ul></body></html>

From dave@example.net Fri May  5 07:00:00 2023
From: dave@example.net
To: glenda@example.org
Subject: Fwd: hello there
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=ZZ

--ZZ
Content-Type: text/plain

forwarding
--ZZ
Content-Type: message/rfc822

From: Alice <alice@example.org>
Subject: hello there

inner body
--ZZ--
MBOX
}

want() { cat >"$T/want"; }
# run DESC ARGS...: nedmail ARGS with $T/in as input, its stdout and
# stderr as one transcript, against $T/want
n=0
run() {
	d=$1
	shift
	"$UPAS" nedmail "$@" <"$T/in" 2>&1 | sed -e "s|$T|T|g" -e 's|nedmail[A-Za-z0-9]\{6\}|nedmailX|g' >"$T/got"
	n=$((n + 1))
	if [ -n "${RECORD:-}" ]; then cp "$T/got" "$RECORD.$n"; fi
	echo >>"$T/got"	# the heredoc's last line end
	if cmp -s "$T/got" "$T/want"; then ok "$d"; else
		notok "$d"
		diff "$T/want" "$T/got" | head -40 | sed 's/^/#   /'
	fi
}

# --- reading: summaries, parts, addresses, searches, ranges, errors
mkbox mbox
cat >"$T/in" <<'EOF'
,h
5p
4p
4.2h
4H
4.3p
3p
2p
1.2p
=
/bob/
?carol?
%inner body%h
#subject#red#h
#alice#h
/nomatch/
4.9p
9p
zz
hx
fq
,3h
2,4h
4,2h
gkh
g/example.net/h
EOF
want <<'EOF'
5 messages, 5 unread
:   1 H  *    283   5/05  2023 dave@example.net    Fwd: hello there
  2    *    240   4/06  2023 mallory@example.com red alert
  3 H  *    417   3/01  2023 carol@example.net   été a subject that goes on and on well past fift
  4 H  *    419   2/14  2023 bob@example.com     pics
  5    *    167   1/02  2023 alice@example.org   hello there
5: From alice@example.org Mon Jan  2 10:00:00 2023
From: Alice <alice@example.org>
To: glenda@example.org
Subject: hello there
Date: Mon, 2 Jan 2023 10:00:00 +0000

Hi Glenda,
how are you?
5: From bob@example.com Tue Feb 14 09:30:00 2023
From: bob@example.com
To: glenda@example.org, carol@example.net
Cc: dave@example.net
Subject: pics

see attached

!--- 4.2 image/png 131 (file,a.png)

--- 4.3 text/plain 64

and a note
4: 4.2    image/png    131  a.png
4.2: 4    multipart/mixed             419    (from,bob@example.com)(subj,pics)
4.1    text/plain                38     
4.2    image/png                 131    (file,a.png)
4.3    text/plain                64     
4.2: and a note
4.3: From carol@example.net Wed Mar  1 12:00:00 2023
From: Carol <carol@example.net>
Reply-To: carol-list@example.net
To: glenda@example.org
Subject: été a subject that goes on and on well past fifty characters

café plain
3: From mallory@example.com Thu Apr  6 08:00:00 2023
From: mallory@example.com
To: glenda@example.org
Subject: red alert

Hello there <https://example.com/x>

* one
* two
2: From: Alice <alice@example.org>
Subject: hello there

inner body
1.2: 1.2
1.2: From bob@example.com Tue Feb 14 09:30:00 2023
From: bob@example.com
To: glenda@example.org, carol@example.net
Cc: dave@example.net
Subject: pics

see attached

!--- 4.2 image/png 131 (file,a.png)

--- 4.3 text/plain 64

and a note
4: From carol@example.net Wed Mar  1 12:00:00 2023
From: Carol <carol@example.net>
Reply-To: carol-list@example.net
To: glenda@example.org
Subject: été a subject that goes on and on well past fifty characters

café plain
3: !search
3: !search
3:   5         167   1/02  2023 alice@example.org   hello there
5: !search
5: !address
5: !address
5: !illegal command
5: !h doesn't take an argument
5: ! alice
5:   1 H  *    283   5/05  2023 dave@example.net    Fwd: hello there
  2         240   4/06  2023 mallory@example.com red alert
  3 H       417   3/01  2023 carol@example.net   été a subject that goes on and on well past fift
3:   2         240   4/06  2023 mallory@example.com red alert
  3 H       417   3/01  2023 carol@example.net   été a subject that goes on and on well past fift
  4 H       419   2/14  2023 bob@example.com     pics
4:   4 H       419   2/14  2023 bob@example.com     pics
  3 H       417   3/01  2023 carol@example.net   été a subject that goes on and on well past fift
  2         240   4/06  2023 mallory@example.com red alert
2: 2:   1 H  *    283   5/05  2023 dave@example.net    Fwd: hello there
  3 H       417   3/01  2023 carol@example.net   été a subject that goes on and on well past fift
3: 

EOF
run "summaries, parts, searches, ranges and errors" -f ./mbox

# an empty line: the next message, out of parts first; the end: !address
cat >"$T/in" <<'EOF'
1.1p


b
b
2.1.2h
2.

-2p
+p
$=
0=
x
EOF
want <<'EOF'
5 messages, 1 unread
: forwarding
1.1: From: Alice <alice@example.org>
Subject: hello there

inner body
1.2: From mallory@example.com Thu Apr  6 08:00:00 2023
From: mallory@example.com
To: glenda@example.org
Subject: red alert

Hello there <https://example.com/x>

* one
* two
2:   2         240   4/06  2023 mallory@example.com red alert
  3 H       417   3/01  2023 carol@example.net   été a subject that goes on and on well past fift
  4 H       419   2/14  2023 bob@example.com     pics
  5         167   1/02  2023 alice@example.org   hello there
5:   5         167   1/02  2023 alice@example.org   hello there
5: !no sub parts
5: !no sub parts
5: !address
5: From carol@example.net Wed Mar  1 12:00:00 2023
From: Carol <carol@example.net>
Reply-To: carol-list@example.net
To: glenda@example.org
Subject: été a subject that goes on and on well past fifty characters

café plain
3: From bob@example.com Tue Feb 14 09:30:00 2023
From: bob@example.com
To: glenda@example.org, carol@example.net
Cc: dave@example.net
Subject: pics

see attached

!--- 4.2 image/png 131 (file,a.png)

--- 4.3 text/plain 64

and a note
4: 5
5: 
: 
EOF
run "empty lines, b, relative and absolute addresses" -f ./mbox

# LIFO by default; -r oldest first; -t the To: column
printf ',h\nx\n' >"$T/in"
want <<'EOF'
5 messages, 1 unread
:   1         167   1/02  2023 alice@example.org   hello there
  2 H       419   2/14  2023 bob@example.com     pics
  3 H       417   3/01  2023 carol@example.net   été a subject that goes on and on well past fift
  4         240   4/06  2023 mallory@example.com red alert
  5 H  *    283   5/05  2023 dave@example.net    Fwd: hello there
5: 
EOF
run "-r numbers oldest first" -r -f ./mbox
want <<'EOF'
5 messages, 1 unread
:   1 H  *    283   5/05  2023 glenda@example.org     Fwd: hello there
  2         240   4/06  2023 glenda@example.org     red alert
  3 H       417   3/01  2023 glenda@example.org     été a subject that goes on and on well past fift
  4 H       419   2/14  2023 glenda@example.org ... pics
  5         167   1/02  2023 glenda@example.org     hello there
5: 
EOF
run "-t shows To:" -t -f ./mbox

# help, and the commands that refuse what they are given
cat >"$T/in" <<'EOF'
help
0
d
s a b
k a b
1m
1w
1|
1F +z
/(/
mb a b
x
EOF
want <<'EOF'
5 messages, 1 unread
: Commands are of the form [<range>] <command> [args]
<range> := <addr> | <addr>','<addr>| 'g'<search>
<addr> := '.' | '$' | <number> | <search> | <addr>'+'<addr> | <addr>'-'<addr> | <addr>'.'<number>
<search> := 'k' | '/'<re>'/' | '?'<re>'?' | '%'<re>'%' | '#' <field> '#' <re> '#'
<command> :=
a	reply to sender and recipients
A	reply to sender and recipients with copy
b	print the next 10 headers
d	mark for deletion
F	set message flags [+-][aDdfrSs]
f	file message by from address
fq	print mailbox f appends
H	print message's MIME structure
h	print message summary (,h for all)
help	print this info
i	incorporate new mail
k [flags]	mark mail
K [flags]	unmark mail
m addr	forward mail
M addr	forward mail with message
mb mbox	switch mailboxes
p	print the processed message
P	print the raw message
"	print a quoted version of msg
""	format and quote message
q	exit and remove all deleted mail
r [addr]	reply to sender plus any addrs specified
rf [addr]	file message and reply
R [addr]	reply including copy of message
Rf [addr]	file message and reply with copy
s file	append raw message to file
t	text formatter
u	remove deletion mark
w file	store message contents as file
x	exit without flushing deleted messages
y	synchronize with mail box
=	print current message number
|cmd	pipe message body to a command
||cmd	pipe raw message to a command
!cmd	run a command
: !address
: !d requires an address
: !s requires an address
: !k requires an address
: !usage: m list-of addresses
: !usage: w filename
: !usage: | cmd
: !bad flag z
: !badly formed regular expression
: !usage: mb [mbox]
: 
EOF
run "help and usage errors" -f ./mbox

# --- flags and deletions: written at q, never at x
cp mbox "$T/before"
printf '5p\n4d\n3k\nx\n' >"$T/in"
want <<'EOF'
5 messages, 1 unread
: From alice@example.org Mon Jan  2 10:00:00 2023
From: Alice <alice@example.org>
To: glenda@example.org
Subject: hello there
Date: Mon, 2 Jan 2023 10:00:00 +0000

Hi Glenda,
how are you?
5: 4: 3: 
EOF
run "x leaves the mailbox alone" -f ./mbox
check "x: the mbox is byte for byte as it was" cmp -s mbox "$T/before"
printf '5p\n4d\n3k\n2F +a\n1d\n1u\nq\n' >"$T/in"
want <<'EOF'
5 messages, 1 unread
: From alice@example.org Mon Jan  2 10:00:00 2023
From: Alice <alice@example.org>
To: glenda@example.org
Subject: hello there
Date: Mon, 2 Jan 2023 10:00:00 +0000

Hi Glenda,
how are you?
5: 4: 3: 2: 1: 1: !1 message deleted

EOF
run "q writes seen, flagged and answered and removes the deleted" -f ./mbox
printf ',h\nx\n' >"$T/in"
want <<'EOF'
4 messages, 1 unread
:   1 H  *    283   5/05  2023 dave@example.net    Fwd: hello there
  2    a    240   4/06  2023 mallory@example.com red alert
  3 H  '    417   3/01  2023 carol@example.net   été a subject that goes on and on well past fift
  4         167   1/02  2023 alice@example.org   hello there
4: 
EOF
run "the flags are there when the mailbox is opened again" -f ./mbox
is "$(grep -c '^From ' mbox)" 4 "q: one message fewer in the file"
like "$(sed -n '/^From alice/,/^$/p' mbox)" 'Status: RO' "q: seen is mutt's Status: RO"
like "$(sed -n '/^From carol/,/^$/p' mbox)" 'X-Status: F' "q: flagged is X-Status: F"

# dp: delete and print the next
mkbox mbox
printf '4\ndp\ndp\n=\nq\n' >"$T/in"
want <<'EOF'
5 messages, 5 unread
: From bob@example.com Tue Feb 14 09:30:00 2023
From: bob@example.com
To: glenda@example.org, carol@example.net
Cc: dave@example.net
Subject: pics

see attached

!--- 4.2 image/png 131 (file,a.png)

--- 4.3 text/plain 64

and a note
4: From alice@example.org Mon Jan  2 10:00:00 2023
From: Alice <alice@example.org>
To: glenda@example.org
Subject: hello there
Date: Mon, 2 Jan 2023 10:00:00 +0000

Hi Glenda,
how are you?
5: !address
5: 5
5: !2 messages deleted

EOF
run "dp deletes and goes on" -f ./mbox
is "$(grep -c '^From ' mbox)" 3 "dp: two deleted"

# --- Maildir: p moves a message to cur/ with S; d and q unlink it
mkdir -p md/cur md/new md/tmp
printf 'From: a@x.org\nSubject: one\n\nbody one\n' >md/new/1672653600.M1P1.host
printf 'From: b@x.org\nSubject: two\n\nbody two\n' >md/cur/1672740000.M2P1.host:2,F
printf ',h\n2p\n1d\nq\n' >"$T/in"
want <<'EOF'
2 messages, 2 unread
:   1    '     37   1/03  2023 b@x.org      two
  2    *     37   1/02  2023 a@x.org      one
2: From MAILER-DAEMON Mon Jan  2 10:00:00 2023
From: a@x.org
Subject: one

body one
2: 1: !1 message deleted

EOF
run "Maildir: summaries, read, delete" -f ./md
is "$(cd md && find cur new -type f | sort | tr '\n' ' ')" "cur/1672653600.M1P1.host:2,S " "Maildir: read is cur/:2,S, deleted is gone"

# --- mdir: flags in its index, deletions unlinked
mkdir mdir
printf 'From a@x.org Mon Jan  2 10:00:00 2023\nFrom: a@x.org\nSubject: one\n\nbody one\n' >mdir/1672653600.00
printf 'From b@x.org Tue Jan  3 10:00:00 2023\nFrom: b@x.org\nSubject: two\n\nbody two\n' >mdir/1672740000.00
printf '2p\n1k\nq\n' >"$T/in"
want <<'EOF'
2 messages, 2 unread
: From a@x.org Mon Jan  2 10:00:00 2023
From: a@x.org
Subject: one

body one
2: 1: 
EOF
run "mdir: read and flag" -f ./mdir
printf ',h\n1d\nq\n' >"$T/in"
want <<'EOF'
2 messages, 1 unread
:   1    '     37   1/03  2023 b@x.org      two
  2          37   1/02  2023 a@x.org      one
2: 1: !1 message deleted

EOF
run "mdir: the flags again, then a deletion" -f ./mdir
is "$(ls mdir)" "1672653600.00" "mdir: the deleted file is unlinked"

# --- the summaries kept between sessions: the same lines from them, a
# damaged file ignored, a forged one still shown harmlessly
mkbox mbox
printf ',h\nx\n' >"$T/in"
"$UPAS" nedmail -f ./mbox <"$T/in" >"$T/h1" 2>&1
check "summaries kept beside the mailbox" test -s .mbox.sum
"$UPAS" nedmail -f ./mbox <"$T/in" >"$T/h2" 2>&1
check "the next session shows the same from them" cmp -s "$T/h1" "$T/h2"
printf 'garbage\n' >.mbox.sum
"$UPAS" nedmail -f ./mbox <"$T/in" >"$T/h3" 2>&1
check "a damaged summary file is ignored" cmp -s "$T/h1" "$T/h3"
id=$(sed -n '2s/ .*//p' .mbox.sum)
printf 'upas-sum 1\n%s 0 %%1B[31mx@y - %%07evil%%1B]0;t\n' "$id" >.mbox.sum
like "$("$UPAS" nedmail -f ./mbox <"$T/in" 2>&1 | tr -d '\033\007')" '\?\[31mx@y +\?evil\?\]0;t' "a forged summary is shown harmlessly"

# --- a first ,h of a large mailbox: half its summaries made by a child
# process; each line must still belong to its message
mkdir -p big/cur big/new big/tmp
awk 'BEGIN { for (i = 0; i < 4500; i++) {
	f = sprintf("big/cur/%d.M%dP1.host:2,S", 1600000000 + i, i)
	printf "From: user%d@example.org\nSubject: number %d\n\nbody %d\n", i, i, i > f
	if (i % 3 == 0) for (k = 0; k < 300; k++) print "padding line to pass four kilobytes" > f
	close(f)
} }'
printf ',h\nx\n' >"$T/in"
"$UPAS" nedmail -f ./big <"$T/in" >"$T/big1" 2>&1
bad=$(awk '{ sub(/^[0-9.]*: /, "") } NR > 1 && NF >= 7 { n = $1 + 0; want = 4500 - n; if ($(NF - 2) != "user" want "@example.org" || $NF != want) bad++ }
	END { print bad + 0 }' "$T/big1")
is "$bad" 0 "a first ,h of 4500: every line the right sender and subject"
is "$(grep -c ' user[0-9]*@example.org ' "$T/big1")" 4500 "a first ,h of 4500: every message listed"
check "a first ,h of 4500: sizes learnt in both halves" sh -c "! grep -q '^ *[0-9]* *      0  ' '$T/big1'"
"$UPAS" nedmail -f ./big <"$T/in" >"$T/big2" 2>&1
check "the next ,h, from the kept summaries, is the same" cmp -s "$T/big1" "$T/big2"

# --- s, w, f, fq
mkbox mbox
mkdir -p "$UPASROOT/box/root/f"
printf '5s\n4s folder\n4.2w\n4.2w\n4.2w pic.png\n1f\n1fq\n2s /dev/null\nh\nx\n' >"$T/in"
want <<'EOF'
5 messages, 5 unread
: !saved in ./stored
5: !saved in ./folder
4: !saved in a.png
4.2: !can't create a.png: File exists
4.2: !saved in pic.png
4.2: !saved in T/root/box/root/f/dave
1: ! dave
1: !won't overwrite /dev/null
1:   1 H s*    283   5/05  2023 dave@example.net    Fwd: hello there
1: 
EOF
run "s, w, f and fq" -f ./mbox
is "$(grep -c '^From ' stored)" 1 "s: the message in stored"
is "$(grep -c '^Subject: pics' folder)" 1 "s folder: appended"
is "$(cat a.png)" "PNGDATA" "w: the attachment decoded under its own name"
is "$(cat pic.png)" "PNGDATA" "w file: under the name given"
is "$(grep -c '^Subject: Fwd: hello there' "$UPASROOT/box/root/f/dave")" 1 "f: filed by sender in f/"

# the saved flag is written at q: X-Status S in an mbox, the index of a Maildir
printf '5s\nq\n' | "$UPAS" nedmail -f ./mbox >/dev/null 2>&1
like "$(sed -n '/^From alice/,/^$/p' mbox)" 'X-Status: S' "s: saved is X-Status: S after q"
like "$(printf '5h\nx\n' | "$UPAS" nedmail -f ./mbox 2>&1)" '5 +s\* ' "s: saved shows in the next session"
printf '1s\nq\n' | "$UPAS" nedmail -f ./md >/dev/null 2>&1
like "$(printf '1h\nx\n' | "$UPAS" nedmail -f ./md 2>&1)" '1 +s ' "Maildir: saved kept in its index"

# --- replies and forwards go through marshal, its arguments shown
cat >"$T/marshal" <<'EOF'
#!/bin/sh
echo "marshal got $#:" "$@" | sed "s|$TMPDIR/nedmail[A-Za-z0-9]*|DIR|g"
for a in "$@"; do case $a in */raw) grep -c . "$a" | sed 's/^/raw lines /' ;; esac; done
for a in "$@"; do [ -d "$a" ] && cat "$a/messageid" && echo; done
exit 0
EOF
chmod +x "$T/marshal"
mkdir -p "$T/tmp"
printf '5r\n3r extra@x.org\n4a\n5R\n1m frank@x.org\n3.1M frank@x.org\n5Rf\nh\nx\n' >"$T/in"
want <<'EOF'
5 messages, 5 unread
: !T/marshal -8 -s 'Re: hello there' -R T/tmp/nedmailX alice@example.org
marshal got 6: -8 -s Re: hello there -R DIR alice@example.org
<a1@example.org>
5: !T/marshal -8 -s 'Re: été a subject that goes on and on well past fifty characters' -R T/tmp/nedmailX extra@x.org carol-list@example.net
marshal got 7: -8 -s Re: été a subject that goes on and on well past fifty characters -R DIR extra@x.org carol-list@example.net

3: !T/marshal -8 -s 'Re: pics' -R T/tmp/nedmailX bob@example.com glenda@example.org carol@example.net dave@example.net
marshal got 9: -8 -s Re: pics -R DIR bob@example.com glenda@example.org carol@example.net dave@example.net

4: !T/marshal -8 -s 'Re: hello there' -R T/tmp/nedmailX -t message/rfc822 -A T/tmp/nedmailX/raw alice@example.org
marshal got 10: -8 -s Re: hello there -R DIR -t message/rfc822 -A DIR/raw alice@example.org
raw lines 7
<a1@example.org>
5: !T/marshal -s 'Fwd: hello there' -t message/rfc822 -A T/tmp/nedmailX/raw -n frank@x.org
marshal got 8: -s Fwd: hello there -t message/rfc822 -A DIR/raw -n frank@x.org
raw lines 14
1: !T/marshal -s 'Fwd: été a subject that goes on and on well past fifty characters' -t mime -A T/tmp/nedmailX/raw -8 frank@x.org
marshal got 8: -s Fwd: été a subject that goes on and on well past fifty characters -t mime -A DIR/raw -8 frank@x.org
raw lines 3
3.1: !saved in T/root/box/root/f/alice
!T/marshal -8 -s 'Re: hello there' -R T/tmp/nedmailX -F -t message/rfc822 -A T/tmp/nedmailX/raw alice@example.org
marshal got 11: -8 -s Re: hello there -R DIR -F -t message/rfc822 -A DIR/raw alice@example.org
raw lines 7
<a1@example.org>
5:   5   sa    167   1/02  2023 alice@example.org   hello there
5: 
EOF
TMPDIR=$T/tmp marshal=$T/marshal run "r, R, a, m, M and Rf through marshal" -f ./mbox
is "$(ls "$T/tmp")" "" "the reply directories are gone"

# --- pipes and commands
printf '5|wc -l\n5||head -1\n!echo hi\n5"\n3""\nt cat -n\n5p\nt\nx\n' >"$T/in"
want <<'EOF'
5 messages, 5 unread
: 2
5: From alice@example.org Mon Jan  2 10:00:00 2023
5: hi
5: 
On Mon Jan  2 10:00:00 UTC 2023, alice@example.org wrote:
> Hi Glenda,
> how are you?

5: 
On Wed Mar  1 12:00:00 UTC 2023, carol@example.net wrote:
> café plain

3: !textfmt cat -n
3: From alice@example.org Mon Jan  2 10:00:00 2023
From: Alice <alice@example.org>
To: glenda@example.org
Subject: hello there
Date: Mon, 2 Jan 2023 10:00:00 +0000

     1	Hi Glenda,
     2	how are you?
5: !textfmt 
5: 
EOF
run "|, ||, !, quoting and t" -f ./mbox

# --- i and y: mail arrives while reading
mkbox mbox
{
	printf '1d\n=\n'
	sleep 0.5
	printf '\nFrom new@example.org Sat Jun  3 10:00:00 2023\nFrom: new@example.org\nSubject: late\n\nlate body\n' >>mbox
	printf 'i\n,h\ny\n,h\n=\nx\n'
} | "$UPAS" nedmail -f ./mbox >"$T/got" 2>&1
want <<'EOF'
5 messages, 5 unread
: 1: 1
1: 1 new message
2:   1    *     47   6/03  2023 new@example.org     late
  2 Hd *    283   5/05  2023 dave@example.net    Fwd: hello there
  3    *    240   4/06  2023 mallory@example.com red alert
  4 H  *    417   3/01  2023 carol@example.net   été a subject that goes on and on well past fift
  5 H  *    419   2/14  2023 bob@example.com     pics
  6    *    167   1/02  2023 alice@example.org   hello there
6: !1 message deleted
5:   1    *     47   6/03  2023 new@example.org     late
  2    *    240   4/06  2023 mallory@example.com red alert
  3 H  *    417   3/01  2023 carol@example.net   été a subject that goes on and on well past fift
  4 H  *    419   2/14  2023 bob@example.com     pics
  5    *    167   1/02  2023 alice@example.org   hello there
5: 5
5: 
EOF
n=$((n + 1)); [ -n "${RECORD:-}" ] && cp "$T/got" "$RECORD.$n"
echo >>"$T/got"
if cmp -s "$T/got" "$T/want"; then ok "i and y: new mail in, deletions out"; else
	notok "i and y: new mail in, deletions out"; diff "$T/want" "$T/got" | head -40 | sed 's/^/#   /'; fi
is "$(grep -c '^From ' mbox)" 5 "y: one deleted, one arrived"

# --- nothing a message holds reaches the terminal as a control
esc=$(printf '\033')
printf 'From x@y Mon Jan  2 10:00:00 2023\nFrom: "\033[31mEvil\033[0m" <evil@example.com>\nSubject: \033]0;title\007 \302\233c \342\200\256gnp.exe\nContent-Type: text/plain; charset=utf-8\n\nline \033[2J \033P q \033\\ \r\nbell \007 del \177 c1 \302\205 bad \377\376\n' >hostile
printf '1h\n1p\n1H\n1P\n1"\nx\n' >"$T/in"
"$UPAS" nedmail -f ./hostile <"$T/in" >"$T/got" 2>&1
is "$(tr -cd '\000-\010\013-\037\177' <"$T/got" | od -An -c | tr -d ' \n')" "" "no control byte in any output"
check "no C1 control or bidi override in any output" sh -c "! grep -q \"\$(printf '\\302\\233\\|\\302\\205\\|\\342\\200\\256')\" '$T/got'"
like "$(cat "$T/got")" 'line \?\[2J' "escape sequences shown as text"
printf 'From x@y Mon Jan  2 10:00:00 2023\nFrom: x@y\nSubject: att\nContent-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/plain\n\nhi\n--B\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename="../../x.sh"\n\necho pwned\n--B--\n' >att
printf '1.2w\nx\n' | "$UPAS" nedmail -f ./att >/dev/null 2>&1
check "w: a part's file name loses its directories" test -f x.sh -a ! -e ../../x.sh

# --- what a message says never becomes an option, a file name or a crash
long=$(printf 'x%.0s' $(seq 1 300))
{
	printf 'From x@y Mon Jan  2 10:00:00 2023\nFrom: <-A/etc/passwd>, ok@example.org\nReply-To: -S/tmp/x\n'
	printf 'To: "padpadpadpadpadpadpadpad" <aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@x.org>, b@x.org\n'
	printf 'Subject: crlf\nContent-Type: text/plain\n\none\r\ntwo\r\n\n'
	printf 'From y@y Mon Jan  2 10:00:00 2023\nFrom: (comment) <.%s@y> (more)\nSubject: long sender\n\nx\n\n' "$long"
	printf 'From deep@y Mon Jan  2 10:00:00 2023\nFrom: deep@y\nSubject: deep\n'
	i=0
	while [ $i -lt 40 ]; do printf 'Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n' $i $i; i=$((i + 1)); done
	printf 'Content-Type: text/plain\n\nbottom\n'
	while [ $i -gt 0 ]; do i=$((i - 1)); printf -- '--b%d--\n' $i; done
} >evil
printf '#!/bin/sh\necho "args:" "$@" | sed "s|$TMPDIR/nedmail[A-Za-z0-9]*|DIR|g"\n' >"$T/echoargs"
chmod +x "$T/echoargs"
printf '3a\n3r\n3p\n2fq\n2f\n,h\n1H\n1p\n+99999999999999999999h\n-9223372036854775808h\nx\n' >"$T/in"
out=$(TMPDIR=$T/tmp marshal=$T/echoargs "$UPAS" nedmail -f ./evil <"$T/in" 2>&1)
like "$out" 'args: -8 -s Re: crlf -R DIR ok@example.org aaa' "a: addresses starting with - are dropped"
like "$out" 'args: -8 -s Re: crlf -R DIR ok@example.org
' "r: a Reply-To that is an option is none: From's address"
like "$out" 'one
two' "CRLF text shows its lines"
like "$out" '! _\.x{40}' "fq: a sender's name made harmless"
check "f: the folder is in box/USER/f, its name harmless" sh -c "ls '$UPASROOT/box/root/f' | grep -q '^_\.xxxx'"
like "$out" 'nested too deep' "parts past the numbering say so"
is "$(printf '%s\n' "$out" | grep -c '!address')" 2 "huge relative addresses are refused"
like "$(printf '3h\nx\n' | "$UPAS" nedmail -t -f ./evil 2>&1)" ' aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa \.\.\. +crlf' "-t: the To: column is cut"

# --- -s one message file; -c a new mailbox
printf 'Subject: single\nFrom: one@example.org\n\nbody\n' >"$T/one.eml"
printf 'h\np\ni\nd\nq\n' >"$T/in"
"$UPAS" nedmail -s "$T/one.eml" <"$T/in" >"$T/got" 2>&1
like "$(cat "$T/got")" '^1 message, 1 unread' "-s: a mailbox of one"
like "$(cat "$T/got")" 'one@example.org +single' "-s: its summary"
like "$(cat "$T/got")" '!illegal command' "-s: no i"
is "$(cat "$T/one.eml" | wc -l)" 4 "-s: the file is left alone"
"$UPAS" nedmail -c && check "-c: an empty mailbox" test -f "$UPASROOT/box/root/mbox" -a ! -s "$UPASROOT/box/root/mbox"
"$UPAS" nedmail -c lists/upas && check "-c dir: box/USER/dir/mbox" test -f "$UPASROOT/box/root/lists/upas/mbox"
"$UPAS" nedmail -c ../x 2>/dev/null; is "$?" 64 "-c: no name outside box/USER"
"$UPAS" nedmail -c lists/upas 2>/dev/null; is "$?" 73 "-c: an existing mailbox is left alone"
"$UPAS" nedmail -f ./nosuch </dev/null >/dev/null 2>&1; is "$?" 66 "a missing mailbox: exit 66"
head -c 5000 /dev/zero | tr '\0' x >"$T/in"
printf '\n=\nx\n' >>"$T/in"
like "$("$UPAS" nedmail -f ./mbox <"$T/in" 2>&1)" '!line too long' "a command line too long is refused"

# p with names: the files upas/fs would show
mkbox mbox
like "$(printf '1p from subject type\n4.2p filename disposition\n3p info\n1p id bogus\nx\n' | "$UPAS" nedmail -f ./mbox 2>&1)" 'dave@example.netFwd: hello theremultipart/mixed
.*a.pngfile
.*carol@example.net
glenda@example.org

carol-list@example.net
.*1 bogus ' "p name...: upas/fs's files of a message and a part"

# mail without recipients is nedmail
like "$(printf ',h\nx\n' | "$UPAS" mail -f ./mbox 2>&1)" '^[0-9]+ messages?' "mail -f runs nedmail"

# --- q while deliveries go on: nothing is lost
mkbox mbox
i=0
while [ $i -lt 40 ]; do
	printf 'From: w@example.org\nSubject: busy %d\n\nbody %d\n' $i $i >"$T/busy.$i"
	i=$((i + 1))
done
(
	i=0
	while [ $i -lt 40 ]; do "$UNIT" mbappend mbox w@example.org <"$T/busy.$i" >/dev/null; i=$((i + 1)); done
) &
dpid=$!
for r in 1 2 3; do
	printf '1d\n2p\nq\n' | "$UPAS" nedmail -r -f ./mbox >/dev/null 2>&1
done
wait $dpid
n40=$(grep -c '^Subject: busy ' mbox)
is "$n40" 40 "q during 40 deliveries: every delivered message is there"
is "$(grep -c '^From ' mbox)" $((5 + 40 - 3)) "q during deliveries: exactly the three deleted are gone"

# --- an interactive session in tmux
if command -v tmux >/dev/null 2>&1; then
	mkbox mbox
	sock="ned$$"
	tmux -L "$sock" new-session -d -x 120 -y 30 "UPASROOT=$UPASROOT TZ=UTC $UPAS nedmail -f $B/mbox" 2>/dev/null
	sleep 0.5
	tmux -L "$sock" send-keys ',h' Enter 2>/dev/null
	sleep 0.5
	tmux -L "$sock" send-keys '5p' Enter 2>/dev/null
	sleep 0.5
	screen=$(tmux -L "$sock" capture-pane -p 2>/dev/null)
	tmux -L "$sock" send-keys 'q' Enter 2>/dev/null
	sleep 0.5
	tmux -L "$sock" kill-server 2>/dev/null
	like "$screen" '5 messages, 5 unread' "tmux: the count at the start"
	like "$screen" '3 H  \*    417   3/01  2023 carol@example.net' "tmux: the summaries"
	like "$screen" 'how are you\?' "tmux: a message read"
	like "$(sed -n '/^From alice/,/^$/p' mbox)" 'Status: RO' "tmux: q wrote the flag"
else
	diag "tmux missing: the interactive session is skipped"
fi

done_testing
