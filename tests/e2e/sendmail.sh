#!/bin/sh
# sendmail: -t with To/Cc/Bcc, -f, -F, -i and the '.' line, CRLF input, the
# headers Postfix's cleanup would add, options Postfix ignores, usage errors,
# option injection, -bp and -q over the queue, and a PHP-like caller.
. "$(dirname "$0")/lib.sh"
setup

U=$(id -un)
B=$UPASROOT/box/$U
mkdir -p "$B"
# pipefrom stands in for send: it keeps argv, $upasname and the message
cat >"$B/pipefrom" <<SH
#!/bin/sh
printf '%s\n' "\$@" >"$T/argv"
printf '%s\n' "\$upasname" >"$T/upasname"
cat >"$T/msg"
SH
chmod +x "$B/pipefrom"
ln -s "$UPAS" "$T/sendmail"
SM=$T/sendmail

# pycheck DESC SCRIPT: python3 reads $T/msg as m (policy default); prints OK or why not
pycheck() {
	out=$(python3 - "$T/msg" <<PY 2>&1
import email, email.policy, sys
raw = open(sys.argv[1], 'rb').read()
m = email.message_from_bytes(raw, policy=email.policy.default)
def fail(why):
    print(why); sys.exit(0)
$2
print("OK")
PY
)
	is "$out" OK "$1"
}
clear() { rm -f "$T/argv" "$T/msg" "$T/upasname"; }

# --- -t: recipients from To, Cc and Bcc plus the command line; Bcc removed
clear
printf 'To: Ann <ann@example.com>, bob@example.com\r\nCc: carol@example.com,\r\n  dave@example.com\r\nBcc: eve@example.com\r\nSubject: hello\r\n\r\nline one\r\n..leading dots stay\r\nline three\r\n' |
	"$SM" -t -f sender@example.org -F 'Jörg Sender' extra@example.net; st=$?
is "$st" 0 "-t: exit 0"
is "$(cat "$T/argv" | tr '\n' ' ')" "-b extra@example.net ann@example.com bob@example.com carol@example.com dave@example.com eve@example.com " \
	"-t: send gets the command line and To/Cc/Bcc recipients"
is "$(cat "$T/upasname")" "sender@example.org" "-f is the envelope sender"
pycheck "-t: Bcc gone; Date, From (-F) and Message-ID added; LF line ends" '
if m["Bcc"] is not None or b"eve@" in raw: fail("bcc leaked")
if b"\r" in raw: fail("CR kept")
a = m["From"].addresses[0]
if a.display_name != "Jörg Sender" or a.addr_spec != "sender@example.org": fail("from %r" % str(m["From"]))
if m["Date"] is None or m["Date"].datetime is None: fail("date")
mid = str(m["Message-ID"])
if not (mid.startswith("<") and mid.endswith(">") and "@" in mid): fail("message-id %r" % mid)
if m["Subject"] != "hello": fail("subject")
if m.get_content() != "line one\n..leading dots stay\nline three\n": fail("body %r" % m.get_content())
'

# --- a complete message is left alone
clear
printf 'From: Real <real@example.org>\nDate: Mon, 2 Jan 2006 15:04:05 +0000\nMessage-ID: <fixed@example.org>\nTo: x@example.com\nSubject: s\n\nbody\n' |
	"$SM" -t -F 'Other Name'
pycheck "existing From, Date and Message-ID are kept" '
if str(m["From"]) != "Real <real@example.org>": fail(str(m["From"]))
if str(m["Message-ID"]) != "<fixed@example.org>": fail(str(m["Message-ID"]))
if str(m["Date"]) != "Mon, 02 Jan 2006 15:04:05 +0000" and "2006" not in str(m["Date"]): fail(str(m["Date"]))
if len(m.get_all("Date")) != 1 or len(m.get_all("From")) != 1: fail("duplicated")
'
is "$(cat "$T/upasname")" "$U" "without -f the sender is the login name"

# --- the '.' line
clear
printf 'Subject: dot\n\nbefore\n.\nafter\n' | "$SM" x@example.com
pycheck "without -i a '.' line ends the message" '
if m.get_content() != "before\n": fail("body %r" % m.get_content())
'
clear
printf 'Subject: dot\n\nbefore\n.\nafter\n' | "$SM" -i x@example.com
pycheck "-i: a '.' line is text" '
if m.get_content() != "before\n.\nafter\n": fail("body %r" % m.get_content())
'
clear
printf 'Subject: dot\r\n\r\nbefore\r\n.\r\nafter\r\n' | "$SM" -oi x@example.com
pycheck "-oi: the same, with CRLF input" '
if m.get_content() != "before\n.\nafter\n": fail("body %r" % m.get_content())
'
# a caller that writes the '.' and then waits for sendmail to finish
out=$(python3 - "$SM" <<'PY'
import subprocess, sys
p = subprocess.Popen([sys.argv[1], "x@example.com"], stdin=subprocess.PIPE)
p.stdin.write(b"Subject: interactive\n\ntext\n.\n"); p.stdin.flush()
try:
    print(p.wait(timeout=10))
except subprocess.TimeoutExpired:
    p.kill(); print("hung")
PY
)
is "$out" 0 "a '.' line ends input without waiting for end of file"

# --- a message without a header, and -F from $NAME
clear
printf 'just a body\n' | NAME='Env Name' "$SM" x@example.com
pycheck "a body without header gets the header it needs; \$NAME names the sender" '
if m.get_content() != "just a body\n": fail("body %r" % m.get_content())
if m["From"].addresses[0].display_name != "Env Name": fail(str(m["From"]))
if not m["From"].addresses[0].domain: fail("From not qualified")
'

# --- options Postfix accepts and ignores
clear
printf 'Subject: opts\n\nx\n' | "$SM" -oem -odi -om -v -N never -R hdrs -V envid -B 8BITMIME \
	-L label -O opt=1 -U -G -C /nonexistent -h 5 -Am -n -X /dev/null -- x@example.com; st=$?
is "$st" 0 "ignored Postfix options are accepted"
is "$(cat "$T/argv" | tr '\n' ' ')" "-b x@example.com " "and leave the recipients alone"
"$SM" -bi </dev/null; is $? 0 "-bi: nothing to build, exit 0"
"$SM" -I </dev/null; is $? 0 "-I: exit 0"
"$SM" -q15m </dev/null; is $? 0 "-q with an interval: exit 0"

# --- usage errors
"$SM" -Z x@example.com </dev/null >/dev/null 2>&1; is $? 64 "unknown option: 64"
"$SM" -B 9BIT x@example.com </dev/null >/dev/null 2>&1; is $? 64 "-B with a bad body type: 64"
"$SM" -f </dev/null >/dev/null 2>&1; is $? 64 "-f without its argument: 64"
clear
printf 'Subject: none\n\nx\n' | "$SM" -t >/dev/null 2>&1; st=$?
is "$st" 64 "no recipients: 64"
check "no recipients: nothing sent" test ! -e "$T/msg"

# --- option injection (CVE-2016-10074 class) and bad addresses
clear
printf 'x\n' | "$SM" -- -oQ/tmp/x >/dev/null 2>&1; is $? 64 "a recipient beginning with - is refused"
printf 'x\n' | "$SM" x@example.com -oQ/tmp/x >/dev/null 2>&1; is $? 64 "an option after a recipient is a refused recipient"
printf 'x\n' | "$SM" -f '-oQ/tmp/x' x@example.com >/dev/null 2>&1; is $? 64 "a sender beginning with - is refused"
printf 'x\n' | "$SM" -f '"a\" -oQ/tmp/x b"@example.org' x@example.com >/dev/null 2>&1; st=$?
check "a quoted sender cannot add arguments" test "$st" = 64 -o "$(cat "$T/argv" 2>/dev/null | wc -l)" = 2
clear
printf 'x\n' | "$SM" 'bad address@@example.com' >/dev/null 2>&1; is $? 64 "a malformed recipient is refused"
printf 'To: -oQ/tmp@example.com\n\nx\n' | "$SM" -t >/dev/null 2>&1; is $? 65 "a To: address beginning with - is refused"
check "refused messages are not sent" test ! -e "$T/msg"

# --- a PHP-like caller: mail() runs "sendmail -t -i" and writes the message
clear
out=$(python3 - "$SM" <<'PY'
import subprocess, sys
msg = ("To: php@example.com\r\nSubject: =?UTF-8?B?w5xiZXI=?=\r\nX-PHP-Originating-Script: 0:index.php\r\n"
       "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nFrom the web form.\r\n.\r\nstill here\r\n")
r = subprocess.run([sys.argv[1], "-t", "-i"], input=msg.encode(), timeout=20)
print(r.returncode)
PY
)
is "$out" 0 "PHP-like sendmail -t -i: exit 0"
is "$(cat "$T/argv" | tr '\n' ' ')" "-b php@example.com " "PHP-like: the recipient comes from To:"
pycheck "PHP-like: the message arrives whole" '
if str(m["Subject"]) != "Über": fail("subject %r" % str(m["Subject"]))
if m.get_content() != "From the web form.\n.\nstill here\n": fail("body %r" % m.get_content())
if m["From"] is None or m["Message-ID"] is None: fail("not completed")
'

# --- the queue: -bp lists it, -q runs it
if "$UPAS" --list | grep -qx qer; then
	out=$("$SM" -bp 2>&1); st=$?
	is "$st" 0 "-bp on an empty queue: exit 0"
	printf 'From: q@example.org\nSubject: queued\n\nqueued body\n' |
		"$UPAS" qer - mail q@example.org net!example.com rcpt@example.com >/dev/null 2>&1
	out=$("$SM" -bp 2>&1); st=$?
	is "$st" 0 "-bp: exit 0"
	like "$out" 'rcpt@example.com' "-bp lists the queued job's recipient"
	"$SM" -bp x@example.com >/dev/null 2>&1; is $? 64 "-bp with recipients: 64"
	"$SM" -q x@example.com >/dev/null 2>&1; is $? 64 "-q with recipients: 64"
	if "$UPAS" --list | grep -qx runq; then
		(UPASROOT=$T/emptyroot; export UPASROOT; mkdir -p "$UPASROOT/queue"; "$SM" -q </dev/null); st=$?
		is "$st" 0 "-q runs runq over an empty queue: exit 0"
	fi
else
	diag "qer not built: skipping -bp"
fi

# --- through the real send into a local mailbox, when send is built
rm -f "$B/pipefrom"
if "$UPAS" --list | grep -qx send && [ -d "$top/configs/root/lib" ]; then
	cp -r "$top/configs/root/lib/." "$UPASROOT/lib/"
	mkdir -p "$UPASROOT/box/glenda"
	printf 'To: glenda\nSubject: via send\n\ncron output\n' | "$SM" -t -f root; st=$?
	is "$st" 0 "sendmail through send: exit 0"
	out=$(python3 - "$UPASROOT/box/glenda/mbox" <<'PY' 2>&1
import mailbox, sys
msgs = list(mailbox.mbox(sys.argv[1], create=False))
if len(msgs) != 1: print("messages: %d" % len(msgs)); sys.exit(0)
m = msgs[0]
if m["Subject"] != "via send" or m["Message-ID"] is None or m.get_payload() != "cron output\n":
    print(repr(m.as_string()[:300])); sys.exit(0)
print("OK")
PY
)
	is "$out" OK "sendmail through send: Python's mailbox reads the delivered message"
else
	diag "send not built: skipping delivery through send"
fi

# --- -bs: an SMTP dialogue on stdin/stdout for local programs (PHP, SwiftMailer)
if "$UPAS" --list | grep -qx smtpd && "$UPAS" --list | grep -qx send; then
	rm -f "$B/pipefrom"
	mkdir -p "$UPASROOT/box/bsuser"
	cp "$top"/configs/root/lib/rewrite* "$top"/configs/root/lib/*files "$top"/configs/root/lib/names.local "$UPASROOT/lib/" 2>/dev/null
	sed 's/qer -K /qer /' "$top/configs/root/lib/rewrite" >"$UPASROOT/lib/rewrite"
	out=$(python3 - "$SM" <<'PY'
import subprocess, sys
p = subprocess.Popen([sys.argv[1], "-bs"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
def cmd(line):
    if line is not None:
        p.stdin.write(line.encode() + b"\r\n"); p.stdin.flush()
    reply = b""
    while True:
        l = p.stdout.readline()
        reply += l
        if len(l) < 4 or l[3:4] != b"-":
            break
    return reply.decode().split("\r\n")[-2]
print(cmd(None)[:3])
print(cmd("EHLO php.example")[:3])
print(cmd("MAIL FROM:<app@localhost>")[:3])
print(cmd("RCPT TO:<bsuser@localhost>")[:3])
print(cmd("RCPT TO:<someone@example.net>")[:3])
print(cmd("DATA")[:3])
print(cmd("Subject: from php\r\n\r\nhello over -bs\r\n.")[:3])
print(cmd("QUIT")[:3])
p.wait()
print("exit", p.returncode)
PY
)
	is "$(echo $out)" "220 250 250 250 250 354 250 221 exit 0" "-bs: a local SMTP session, relaying allowed"
	check "-bs: the local recipient got the message" grep -q 'hello over -bs' "$UPASROOT/box/bsuser/mbox"
	check "-bs: the remote recipient was queued" sh -c "find '$UPASROOT/queue' -name 'C.*' | grep -q ."
else
	diag "smtpd or send not built: -bs skipped"
fi

done_testing
