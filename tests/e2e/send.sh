#!/bin/sh
# send: local delivery through the shipped rewrite rules, aliases, forward,
# pipeto, errors (dead.letter, bounce), the queue, -x -#, loop guards,
# hostile addresses, concurrent and killed deliveries, ownership as root.
. "$(dirname "$0")/lib.sh"
setup

export site=testhost upasname=glenda USER=glenda TZ=UTC0
R=$UPASROOT
cp "$top"/configs/root/lib/rewrite* "$top"/configs/root/lib/*files "$top"/configs/root/lib/names.local "$R/lib/"
# queue without kicking runq, so the test sees the queued files
sed 's/qer -K /qer /' "$top/configs/root/lib/rewrite" >"$R/lib/rewrite"
cat >>"$R/lib/names.local" <<'EOF'
staff	alice bob
#include names.more
EOF
printf 'crew\tcarol\tlocal!alice\n' >"$R/lib/names.more"
for u in glenda root alice bob carol dave erin mdu kill; do mkdir -p "$R/box/$u"; done
send() { "$UPAS" send "$@"; }
waitfor() {	# waitfor SECONDS CMD...: poll until CMD succeeds
	_n=$(($1 * 10)); shift
	while [ $_n -gt 0 ]; do "$@" && return 0; sleep 0.1; _n=$((_n - 1)); done
	return 1
}

# mbox FILE: each message of an mbox as python sees it, one line each: from|to|subject|payload
mbox() {
	python3 - "$1" <<'PY'
import mailbox, sys
for m in mailbox.mbox(sys.argv[1]):
    p = m.get_payload(decode=True) or b""
    print("%s|%s|%s|%s" % (m.get_from().split()[0], m["To"], m["Subject"], p.decode("utf-8", "replace").replace("\n", "\\n")))
PY
}

# --- a local name: headers added, body intact, From lines quoted
printf 'Subject: hi\n\nline one\nFrom the start\n' | send alice; st=$?
is "$st" 0 "send to a local name exits 0"
m=$(cat "$R/box/alice/mbox" 2>/dev/null)
like "$(head -1 "$R/box/alice/mbox")" '^From glenda [A-Z][a-z][a-z] [A-Z][a-z][a-z] [ 0-9][0-9] ' "From line with the sender and a date"
like "$m" '^Date: [A-Z][a-z][a-z], [0-9]+ [A-Z][a-z][a-z] 20[0-9][0-9] ' "Date: added"
like "$m" '^To: alice$' "To: lists the recipient"
like "$m" '^From: glenda$' "From: added"
like "$m" '^>From the start$' "a body From line is quoted in the mbox"
is "$(mbox "$R/box/alice/mbox")" 'glenda|alice|hi|line one\n>From the start\n' "python reads the message back (mboxrd quoting kept)"
log=$(cat "$R/log/mail" 2>/dev/null)
like "$log" 'delivered alice From glenda .* [0-9]+$' "delivery logged in log/mail"

# --- a body without a header, 8-bit text, -b
printf 'just text\n' | send bob
m=$(cat "$R/box/bob/mbox")
is "$(grep -B2 '^just text' "$R/box/bob/mbox" | head -2 | tr '\n' '|')" "From: glenda||" "a blank line separates added headers from a headerless body"
printf 'Subject: x\n\nGr\303\274\303\237e\n' | send -b carol
m=$(cat "$R/box/carol/mbox")
like "$m" 'Content-Type: text/plain; charset="UTF-8"' "8-bit body gets a UTF-8 MIME header"
case $m in *"To: "*) notok "-b adds no To:" ;; *) ok "-b adds no To:" ;; esac
rm -f "$R/box/alice/mbox" "$R/box/bob/mbox" "$R/box/carol/mbox"

# --- a large message spills to a file and arrives whole; 8-bit text at its end still counts
python3 -c '
import sys
sys.stdout.write("Subject: big\n\n" + "".join("line %06d xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n" % i for i in range(30000)) + "end \u00e9\n")' >"$T/big"
send alice <"$T/big"; st=$?
is "$st" 0 "a 2 MB message is delivered"
python3 - "$R/box/alice/mbox" "$T/big" <<'PY' >"$T/big.out"
import mailbox, sys
m = list(mailbox.mbox(sys.argv[1]))
want = open(sys.argv[2], "rb").read().split(b"\n\n", 1)[1]
print(len(m), m[0].get_payload(decode=True) == want, m[0].get_content_charset())
PY
is "$(cat "$T/big.out")" "1 True utf-8" "it arrives byte for byte, marked UTF-8"
check "nothing is left in tmp/" test -z "$(ls "$R/tmp")"
rm -f "$R/box/alice/mbox"

# --- rmail: the sender from the From line, no headers added
printf 'From bob@example.org Mon Jan  2 15:04:05 2006 remote from \nSubject: r\n\nbody\n' | send -r dave; st=$?
is "$st" 0 "send -r delivers"
like "$(head -1 "$R/box/dave/mbox")" '^From bob@example.org ' "-r takes the sender from the From line"
is "$(head -1 "$R/box/dave/mbox")" 'From bob@example.org Mon Jan  2 15:04:05 2006' "-r keeps the envelope date"
case $(cat "$R/box/dave/mbox") in *Date:*) notok "-r adds no Date:" ;; *) ok "-r adds no Date:" ;; esac
rm -f "$R/box/dave/mbox"
printf 'From bob@example.org Mon Jan  2 15:04:05 PST 2006 remote from gate\nSubject: r\n\nbody\n' | send -r dave
is "$(head -1 "$R/box/dave/mbox")" 'From gate!bob@example.org Mon Jan  2 23:04:05 2006' "-r converts an envelope date with a zone"
rm -f "$R/box/dave/mbox"
printf 'From bob@example.org sometime\nSubject: r\n\nbody\n' | send -r dave
like "$(head -1 "$R/box/dave/mbox")" "^From bob@example.org .* $(date +%Y)\$" "-r with an unreadable envelope date uses now"
rm -f "$R/box/dave/mbox"

# --- equivlist: other names of this system, stripped from the front of bang paths
printf '# names this system also answers to\noldname\nOther.Example\n' >"$R/lib/equivlist"
printf 'Subject: eq\n\nequiv\n' | upasname='oldname!bob' send 'oldname!alice' 'OTHER.example!oldname!bob' carol@other.example; st=$?
is "$st" 0 "send to equivlist names exits 0"
like "$(head -1 "$R/box/alice/mbox" 2>/dev/null)" '^From bob ' "oldname!alice is local alice, and the sender oldname!bob is bob"
check "names are stripped hop by hop, case ignored" grep -q '^Subject: eq' "$R/box/bob/mbox"
check "user@name reaches the local user" grep -q '^Subject: eq' "$R/box/carol/mbox"
printf 'From oldname!erin Mon Jan  2 15:04:05 2006\nSubject: eq2\n\nx\n' | send -r dave
like "$(head -1 "$R/box/dave/mbox" 2>/dev/null)" '^From erin ' "an rmail sender loses an equivlist name"
out=$(send -x 'oldname!other!alice' 2>&1)
like "$out" '^other!alice$' "a name not in equivlist stays"
rm -f "$R/lib/equivlist" "$R"/box/*/mbox

# --- aliases: names.local, #include, postmaster, case
printf 'Subject: team\n\nhello team\n' | send Staff crew; st=$?
is "$st" 0 "send to aliases exits 0"
is "$(grep -c '^From glenda' "$R/box/alice/mbox")" 1 "alice gets one copy though two aliases name her"
is "$(mbox "$R/box/bob/mbox" | cut -d'|' -f2,4)" 'Staff, crew|hello team\n' "bob gets it via staff"
check "carol gets it via an #included file" test -s "$R/box/carol/mbox"
printf 'Subject: pm\n\nx\n' | send postmaster
check "postmaster reaches root through names.local" grep -q '^Subject: pm' "$R/box/root/mbox"
rm -f "$R"/box/*/mbox

# --- forward file
echo 'carol' >"$R/box/bob/forward"
printf 'Subject: fwd\n\nforwarded\n' | send bob
check "bob's forward file sends his mail to carol" grep -q '^Subject: fwd' "$R/box/carol/mbox"
check "bob keeps no copy" test ! -e "$R/box/bob/mbox"
rm -f "$R/box/bob/forward" "$R"/box/*/mbox

# --- pipeto: argv, the message with its From line, upasname
cat >"$R/box/dave/pipeto" <<EOF
#!/bin/sh
{ echo "argv: \$*"; echo "upasname: \$upasname"; cat; } >"$T/pipeto.out"
EOF
chmod 755 "$R/box/dave/pipeto"
chmod 777 "$T"
printf 'Subject: p\n\npiped\n' | send dave; st=$?
is "$st" 0 "pipeto delivery exits 0"
out=$(cat "$T/pipeto.out" 2>/dev/null)
like "$out" "^argv: local!dave $R/box/dave/mbox" "pipeto gets the address and the mailbox"
like "$out" 'upasname: dave' "pipeto gets upasname"
like "$out" '^From glenda .* remote from testhost$' "pipeto reads the message with its From line"
like "$out" 'piped' "pipeto reads the body"
check "no mbox when pipeto takes the mail" test ! -e "$R/box/dave/mbox"
rm -f "$R/box/dave/pipeto"

# --- unknown users: dead.letter when interactive, a bounce otherwise
out=$(printf 'Subject: dead\n\nlost words\n.\nnot read\n' | send -i nosuch 2>&1); st=$?
is "$st" 67 "unknown user exits 67"
like "$out" 'unknown user' "the user is told why"
dl="$R/box/glenda/dead.letter"
check "-i keeps the message in dead.letter" grep -q 'lost words' "$dl"
case $(cat "$dl" 2>/dev/null) in *"not read"*) notok "-i stops at a line with a single dot" ;; *) ok "-i stops at a line with a single dot" ;; esac
is "$(stat -c %a "$dl" 2>/dev/null)" 660 "dead.letter has mode 0660"
rm -f "$dl"
printf 'Subject: gone\n\nto nobody\n' | send nosuch2 >/dev/null 2>&1; st=$?
is "$st" 67 "a background failure exits 67 too"
check "no dead.letter in the background" test ! -e "$dl"
m=$(cat "$R/box/glenda/mbox" 2>/dev/null)
like "$m" 'unknown user' "the sender gets a bounce naming the reason"
like "$m" 'to nobody' "the bounce carries the original"
rm -f "$R/box/glenda/mbox"
printf 'Subject: gone\n\nto nobody\n' | upasname=/dev/null send nosuch3 >/dev/null 2>&1
check "no bounce for the null sender" test ! -e "$R/box/glenda/mbox"

# --- remote addresses go to the queue
if "$UPAS" --list | grep -qx qer; then
	printf 'Subject: out\n\nfar away\n' | send bob@example.com "o'brien@example.com" carol@example.net; st=$?
	is "$st" 0 "remote addresses are queued"
	njobs() { [ "$(find "$R/queue" -name 'C.*' | wc -l)" -ge "$1" ]; }
	waitfor 10 njobs 2
	n=$(find "$R/queue" -name 'C.*' | wc -l)
	is "$n" 2 "one job per destination system"
	c=$(cat $(find "$R/queue" -name 'C.*') 2>/dev/null)
	like "$c" 'example\.com' "the job names the system"
	like "$c" "o('|%27)brien" "an apostrophe in an address reaches the queue intact"
	check "the data file holds the message" grep -rq 'far away' "$R/queue"
else
	diag "qer not built yet: queue checks skipped"
fi

# --- | commands run in the background unless -r or -i: the caller does not wait
printf '#!/bin/sh\nsleep 2\ncat >"%s"\n' "$T/slow.out" >"$T/slow"
printf '#!/bin/sh\ncat >/dev/null\necho "no such list here" >&2\nexit 1\n' >"$T/fails"
chmod 755 "$T/slow" "$T/fails"
cp "$R/lib/rewrite" "$T/rewrite.saved"
{ printf 'slow!(.*)\t|\t"%s" "\\1"\nfails!(.*)\t|\t"%s"\n' "$T/slow" "$T/fails"; cat "$T/rewrite.saved"; } >"$R/lib/rewrite"
t0=$(date +%s%N)
out=$(printf 'Subject: slow\n\nin the background\n' | send 'slow!x' 2>&1); st=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
is "$st" 0 "send with a slow | command exits 0"
check "and returns at once, its output closed (${ms} ms)" test "$ms" -lt 1500
check "the command has not finished yet" test ! -e "$T/slow.out"
check "the command delivers later" waitfor 10 grep -qs 'in the background' "$T/slow.out"
printf 'Subject: bg fail\n\nnot taken\n' | send 'fails!x' >/dev/null 2>&1; st=$?
is "$st" 0 "a background failure is not the caller's exit status"
check "a failing background command bounces to the sender" waitfor 10 grep -qs 'no such list here' "$R/box/glenda/mbox"
check "the bounce carries the original" grep -q 'not taken' "$R/box/glenda/mbox"
rm -f "$R/box/glenda/mbox"
out=$(printf 'Subject: fg fail\n\nx\n' | send -r 'fails!x' 2>&1); st=$?
is "$st" 69 "with -r a | failure is the exit status"
like "$out" 'no such list here' "and its reason is on stderr"
sleep 0.3
check "with no bounce" test ! -e "$R/box/glenda/mbox"
cp "$T/rewrite.saved" "$R/lib/rewrite"

# --- -x and -#
out=$(send -x staff bob@example.com nosuch@testhost 2>&1)
like "$out" 'local!alice' "-x lists alias expansions"
like "$out" 'example\.com!bob' "-x lists remote addresses"
like "$out" 'unknown user: local!nosuch' "-x reports unknown users"
out=$(send -# alice bob@example.com 2>&1)
like "$out" ">> $R/box/alice/mbox" "-# shows the mailbox"
like "$out" "qer - mail glenda net!example.com bob" "-# shows the queue command"
check "-x and -# deliver nothing" test ! -e "$R/box/alice/mbox"

# --- loop guards
{ i=0; while [ $i -lt 33 ]; do echo "Received: from x by y; Mon, 2 Jan 2006 15:04:05 +0000"; i=$((i+1)); done
  printf 'Subject: loop\n\nround\n'; } | send -r alice >"$T/out" 2>&1; st=$?
check "more than 32 Received: lines are refused" test "$st" -ne 0
like "$(cat "$T/out")" 'possible forward loop' "the refusal names the loop"
check "and nothing is delivered" test ! -e "$R/box/alice/mbox"
printf 'loop1\tloop2\nloop2\tloop1\n' >>"$R/lib/names.local"
out=$(printf 'x\n' | send -r loop1 2>&1)
like "$out" 'forwarding loop' "an alias loop ends as a forwarding loop"

# --- hostile addresses: never a shell
rm -f /tmp/upas-pwned.$$
for a in "\`touch /tmp/upas-pwned.$$\`" "\$(touch /tmp/upas-pwned.$$)" "a;touch /tmp/upas-pwned.$$" \
	"|touch /tmp/upas-pwned.$$" "-oQ/tmp/upas-pwned.$$"; do
	printf 'x\n' | send -r "$a" >/dev/null 2>&1
done
printf 'x\n' | send -r "\"x;touch /tmp/upas-pwned.$$\"@example.com" "\"a'b\$(touch /tmp/upas-pwned.$$)\"@example.com" >/dev/null 2>&1
check "shell metacharacters in addresses never run anything" test ! -e /tmp/upas-pwned.$$
out=$(send -# "\"x;touch /tmp/upas-pwned.$$ y\"@example.com" 2>&1)
like "$out" "'\"x;touch /tmp/upas-pwned.$$ y\"'" "a quoted local part stays one argument"
printf 'x\n' | send "$(printf 'alice\nbob')" >/dev/null 2>&1; st=$?
is "$st" 65 "an address with a newline is refused"
printf 'x\n' | send "$(printf 'alice\rX')" >/dev/null 2>&1; st=$?
is "$st" 65 "an address with a CR is refused"

# --- 8 senders x 125 messages into one mbox and into one Maildir
rm -f "$R/box/erin/mbox"
mkdir -p "$R/box/mdu/mbox/cur" "$R/box/mdu/mbox/new" "$R/box/mdu/mbox/tmp"
burst() {	# burst USER: 8 x 125 messages, each "msg P I" with some body
	for p in 1 2 3 4 5 6 7 8; do
		(i=1; while [ $i -le 125 ]; do
			printf 'Subject: %s %s\n\nmsg %s %s\nFrom here\n%0300d\n' $p $i $p $i 0 | send "$1" || echo "fail $p $i"
			i=$((i + 1))
		done) &
	done
	wait
}
verify() {	# verify KIND PATH: 1000 distinct, complete messages
	python3 - "$1" "$2" <<'PY'
import mailbox, sys
box = mailbox.mbox(sys.argv[2]) if sys.argv[1] == "mbox" else mailbox.Maildir(sys.argv[2], factory=None)
seen = {}
bad = 0
for m in box:
    p = m.get_payload()
    # python leaves mboxrd quoting in place
    want = "msg %s\n%sFrom here\n%s\n" % (m["Subject"], ">" if sys.argv[1] == "mbox" else "", "0" * 300)
    if p != want:
        bad += 1
    seen[m["Subject"]] = seen.get(m["Subject"], 0) + 1
dups = sum(1 for v in seen.values() if v != 1)
print("%d %d %d" % (len(seen), dups, bad))
PY
}
out=$(burst erin)
is "$out" "" "every concurrent send into an mbox succeeded"
is "$(verify mbox "$R/box/erin/mbox")" "1000 0 0" "1000 messages in the mbox, each once and intact"
out=$(burst mdu)
is "$out" "" "every concurrent send into a Maildir succeeded"
is "$(verify maildir "$R/box/mdu/mbox")" "1000 0 0" "1000 messages in the Maildir, each once and intact"

# --- killing send at random points never leaves a partial or merged message
# once the next append has run
python3 - "$UPAS" "$R/box/kill/mbox" <<'PY' >"$T/kill.out"
import os, random, signal, subprocess, sys, time, mailbox
upas, path = sys.argv[1], sys.argv[2]
body = "".join("line %05d of a message that is long enough to take a while\n" % i for i in range(800))
sent = 0
for i in range(200):
    msg = ("Subject: k%d\n\n" % i + body).encode()
    p = subprocess.Popen([upas, "send", "kill"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        p.stdin.write(msg); p.stdin.close()
    except BrokenPipeError:
        pass
    time.sleep(random.uniform(0, 0.005))
    p.send_signal(signal.SIGKILL)
    p.wait()
# send writes a box it owns itself: the last one killed may have left a partial
# append behind its dotlock, which the next append cuts back (mailbox(5))
p = subprocess.run([upas, "send", "kill"], input=("Subject: last\n\n" + body).encode(),
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
n = bad = 0
subjects = set()
if os.path.exists(path):
    for m in mailbox.mbox(path):
        n += 1
        if m.get_payload() != body or not m["Subject"] or m["Subject"] in subjects:
            bad += 1
        subjects.add(m["Subject"])
    data = open(path, "rb").read()
    if data and not data.endswith(b"\n"):
        bad += 1
print(n, bad)
PY
set -- $(cat "$T/kill.out")
is "${2:-x}" 0 "after 200 killed sends every message in the mbox is whole (${1:-0} delivered)"

# --- as root: the box owner owns what is created, symlinks refused, pipeto as nobody
if [ "$(id -u)" = 0 ]; then
	mkdir -p "$R/box/u4242" "$R/box/sym" "$R/box/pipe"
	chown 4242:4242 "$R/box/u4242"
	printf 'Subject: own\n\nmine\n' | send local!u4242
	is "$(stat -c %u "$R/box/u4242/mbox" 2>/dev/null)" 4242 "the mbox belongs to the box owner"
	echo keep >"$T/target"
	ln -s "$T/target" "$R/box/sym/mbox"
	printf 'Subject: sym\n\nevil\n' | send -r local!sym >"$T/out" 2>&1; st=$?
	check "delivery to a symlinked mbox fails" test "$st" -ne 0
	is "$(cat "$T/target")" keep "the symlink's target is untouched"
	rm "$R/box/sym/mbox"
	ln -s "$T/target" "$R/box/u4242/mbox.new"
	mkdir -p "$T/pt" && chmod 777 "$T/pt"
	cat >"$R/box/pipe/pipeto" <<EOF
#!/bin/sh
id -u >"$T/pt/uid"
EOF
	chmod 755 "$R/box/pipe/pipeto"
	printf 'Subject: p\n\nx\n' | send pipe
	is "$(cat "$T/pt/uid" 2>/dev/null)" 65534 "pipeto runs as nobody"
else
	diag "not root: ownership checks skipped"
fi

# --- quoted local parts cannot name a path outside one user's box
cp "$top/configs/root/lib/rewrite" "$R/lib/rewrite"
for a in 'local!"."' 'local!"alice/."' 'local!"./alice"' 'local!".."'; do
	printf 'From glenda Mon Jan  2 15:04:05 2006\nSubject: t\n\nx\n' | "$UPAS" send -r "$a" >/dev/null 2>&1
	st=$?
	check "$a is refused" test "$st" != 0
done
check "nothing written to box/mbox" test ! -e "$R/box/mbox"

# --- a translator that fails temporarily makes a temporary failure, not a bounce
printf '#!/bin/sh\necho "try later" >&2\nexit 75\n' >"$T/tempfail"
chmod +x "$T/tempfail"
{ printf 'later translate "%s"\n' "$T/tempfail"; cat "$top/configs/root/lib/rewrite"; } >"$R/lib/rewrite"
printf 'From glenda Mon Jan  2 15:04:05 2006\nSubject: t\n\nx\n' | "$UPAS" send -r later >/dev/null 2>&1
is $? 75 "a translator exiting 75 is a temporary failure"

# --- a queued remote delivery with the queue kicked (qer -K starts runq in
# the background): send -r returns at once even when the mailer is slow,
# because runq holds none of send's pipes
mkdir -p "$T/slowbin"
printf '#!/bin/sh\ncat >/dev/null\nsleep 6\nexit 75\n' >"$T/slowbin/remotemail"
chmod +x "$T/slowbin/remotemail"
cp "$top/configs/root/lib/rewrite" "$R/lib/rewrite"
t0=$(date +%s)
printf 'From glenda Mon Jan  2 15:04:05 2006\nSubject: kick\n\nfar\n' | PATH="$T/slowbin:$PATH" "$UPAS" send -r 'example.org!zed'
st=$?
t1=$(date +%s)
is "$st" 0 "a kicked remote delivery is queued"
check "send does not wait for the kicked runq" test $((t1 - t0)) -le 3
sleep 7

done_testing
