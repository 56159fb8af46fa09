#!/bin/sh
# smtpd's policy: HELO checks and the tarpit for strangers, -k, lib/blocked and
# the ratify/ tree, smtpd.conf, names.blocked, greylisting, submission, BDAT,
# -B, the loop guard, -d, -m, partial delivery with a bounce, -f warnings.
. "$(dirname "$0")/lib.sh"
setup
cp -r "$top/configs/root/lib/." "$UPASROOT/lib/"
# remote mail stays queued: no runq is started to try (and bounce) it
sed -i "s/qer -K /qer /" "$UPASROOT/lib/rewrite"
mkdir -p "$UPASROOT/box/alice" "$UPASROOT/box/carol"
MBOX=$UPASROOT/box/alice/mbox
printf 'alice secret\n' >"$UPASROOT/lib/secrets"
chmod 600 "$UPASROOT/lib/secrets"
count() { grep -c '^From ' "$MBOX" 2>/dev/null || echo 0; }
serve() {	# serve VAR smtpd-args...: a listen on a free port, its port in VAR
	v=$1; shift
	p=$(freeport)
	spawn "$UPAS" listen -q tcp!127.0.0.1!$p smtpd "$@"
	waitport $p
	eval "$v=$p"
}
# a stranger: -n makes the loopback peer look like 192.0.2.7
serve PS -h ours.test -n 192.0.2.7 -s -f
serve PE -h ours.test -n 192.0.2.7 -e
serve PA -h ours.test -n 192.0.2.7 -E -p
serve PK -h ours.test -k 127.0.0.0/8
serve PG -h ours.test -n 192.0.2.7 -g
serve PSUB -h ours.test -S -p
serve PB -h ours.test -B
cat >"$T/mailer" <<'SH'
#!/bin/sh
printf '%s\n' "$*" >>"$0.args"
cat >>"$0.out"
SH
chmod +x "$T/mailer"
serve PM -h ours.test -d -p -m "$T/mailer"
serve P0 -h ours.test
echo ours.test >>"$UPASROOT/lib/equivlist"

# --- HELO checks
out=$(raw $PS 'EHLO x\r\nNOOP\r\n')
like "$out" '^554 5\.7\.1 name has no dot' "a stranger's dotless HELO is refused"
check "and the connection is closed" sh -c "! printf '%s' \"\$1\" | grep -q '^250'" x "$out"
out=$(raw $PS 'EHLO ours.test\r\n')
like "$out" '^554 5\.7\.1 Liar' "a stranger claiming to be us is a liar"
for h in mail.localdomain box.test example.com 10.1.2.3 '[10.9.9.9]'; do
	out=$(raw $PS "EHLO $h\r\nQUIT\r\n")
	like "$out" '^554 5\.7\.1' "HELO $h from a stranger is refused"
done
out=$(raw $PS 'EHLO [192.0.2.7]\r\nQUIT\r\n')
like "$out" '^250-ours\.test you are 192\.0\.2\.7' "the peer's own address literal is fine"
out=$(raw $PS 'EHLO mail.client.org\r\nQUIT\r\n')
like "$out" '^250 SMTPUTF8' "a plausible name is fine"
out=$(raw $PE 'EHLO x\r\nQUIT\r\n')
like "$out" '^250 SMTPUTF8' "-e skips the extra checks"
out=$(raw $PE 'EHLO ours.test\r\nQUIT\r\n')
like "$out" '^554 5\.7\.1 Liar' "but not the liar check"
out=$(RAWT=8 raw $PA 'EHLO x\r\nMAIL FROM:<a@example.org>\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nMAIL FROM:<a@example.org>\r\nQUIT\r\n')
like "$out" '^530 5\.7\.0 authentication required' "-E: a bad HELO must authenticate"
like "$out" '^250 2\.1\.0 sender ok' "and may go on after AUTH"
out=$(raw $PS 'EHLO x\r\n' 2>&1; raw $PB 'EHLO x\r\nQUIT\r\n')
like "$out" '^250 SMTPUTF8' "loopback peers are not strangers"
like "$(cat "$UPASROOT/log/smtpd")" '192\.0\.2\.7 HELO x refused: name has no dot' "refusals are logged"

# --- the tarpit: a 5xx makes a stranger wait 4 s for the next answer
t0=$(date +%s)
out=$(RAWT=10 raw $PS 'EHLO mail.client.org\r\nRCPT TO:<a@b.c>\r\nNOOP\r\nQUIT\r\n')
t1=$(date +%s)
like "$out" '^503' "a refusal"
like "$out" '^221' "the session goes on"
check "the next answer waited (4 s)" test $((t1 - t0)) -ge 4
t0=$(date +%s)
out=$(raw $PB 'EHLO x\r\nRCPT TO:<a@b.c>\r\nNOOP\r\nQUIT\r\n')
t1=$(date +%s)
check "no tarpit for local peers" test $((t1 - t0)) -lt 3

# --- -k drops silently
out=$(RAWG=1 raw $PK 'EHLO x\r\n')
is "$out" "" "-k: no greeting, no answer"

# --- lib/blocked
printf '# test\ndeny 192.0.2.0/24\n' >"$UPASROOT/lib/blocked"
out=$(RAWG=1 raw $PS 'EHLO mail.client.org\r\nMAIL FROM:<a@example.org>\r\nQUIT\r\n')
like "$out" '^554 5\.7\.1 ours\.test mail from your address is refused' "deny: 554 greeting"
like "$out" '^554 5\.7\.1 mail from your address' "deny: every command is 554"
like "$out" '^221' "deny: QUIT still works"
printf 'block 192.0.2.7\n' >"$UPASROOT/lib/blocked"
n0=$(count)
out=$(raw $PS 'EHLO mail.client.org\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<alice@ours.test>\r\nDATA\r\nSubject: spam\r\n\r\nbuy\r\n.\r\nQUIT\r\n')
like "$out" '^554 5\.7\.1 message blocked' "block: the message is refused after the text"
is "$(count)" "$n0" "block: nothing delivered"
check "block with -s: kept under queue.dump" sh -c "grep -rq '^buy' \"\$1\"/queue.dump/*/" x "$UPASROOT"
printf 'delay 192.0.2.7\n' >"$UPASROOT/lib/blocked"
out=$(raw $PS 'EHLO mail.client.org\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<alice@ours.test>\r\nDATA\r\nSubject: later\r\n\r\nx\r\n.\r\nQUIT\r\n')
like "$out" '^450 4\.7\.1' "delay: 450 after the text"
printf 'allow 192.0.2.0/24\n' >"$UPASROOT/lib/blocked"
out=$(raw $PS 'EHLO x\r\nQUIT\r\n')
like "$out" '^250 SMTPUTF8' "allow: no HELO checks"
printf '*deny spam.example\n' >"$UPASROOT/lib/blocked"
out=$(RAWT=8 raw $PS 'EHLO mail.client.org\r\nMAIL FROM:<x@spam.example>\r\nMAIL FROM:<x@ok.example>\r\nQUIT\r\n')
like "$out" '^554 5\.7\.1 mail from that address is refused' "*deny: a sender account is refused"
like "$out" '^250 2\.1\.0' "other senders are not"
printf 'trusted 192.0.2.7\n' >"$UPASROOT/lib/blocked"
out=$(raw $PS 'EHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<bob@elsewhere.example>\r\nQUIT\r\n')
like "$out" '^250 2\.1\.5' "trusted: may relay"
printf 'bogus 1.2.3.4\n' >"$UPASROOT/lib/blocked"
out=$(RAWG=1 raw $PS 'EHLO mail.client.org\r\nQUIT\r\n')
like "$out" '^421 4\.3\.0 ours\.test server configuration error' "a bad lib/blocked defers mail"
like "$(cat "$UPASROOT/log/smtpd")" 'ratify: .*blocked:1' "the bad line is named"
rm -f "$UPASROOT/lib/blocked"

# --- ratify/trusted: POP-before-SMTP grants, an hour long
mkdir -p "$UPASROOT/ratify/trusted"
touch "$UPASROOT/ratify/trusted/192.0.2.7"
out=$(raw $PS 'EHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<bob@elsewhere.example>\r\nQUIT\r\n')
like "$out" '^250 2\.1\.5' "a fresh ratify/trusted entry may relay"
touch -d '2 hours ago' "$UPASROOT/ratify/trusted/192.0.2.7"
out=$(raw $PS 'EHLO mail.client.org\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<bob@elsewhere.example>\r\nQUIT\r\n')
like "$out" '^550 5\.7\.1 relaying denied' "an old one may not"
rm -rf "$UPASROOT/ratify"

# --- smtpd.conf
printf 'ournets 10.0.0.0/8, 192.0.2.0/24\nourdomains *.ours2.test\n' >"$UPASROOT/lib/smtpd.conf"
out=$(raw $PS 'EHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<bob@elsewhere.example>\r\nRCPT TO:<alice@sub.ours2.test>\r\nQUIT\r\n')
like "$out" '^250 2\.1\.5.*' "ournets: trusted"
n0=$(count)
out=$(raw $PB 'EHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<alice@mx.sub.ours2.test>\r\nDATA\r\nSubject: ourdomains\r\n\r\nx\r\n.\r\nQUIT\r\n')
like "$out" '^250 2\.0\.0 delivered' "ourdomains: *.dom is ours"
is "$(count)" "$((n0 + 1))" "and delivered locally"
printf 'defaultdomain dflt.test\n' >"$UPASROOT/lib/smtpd.conf"
serve PD
out=$(RAWG=1 raw $PD 'QUIT\r\n')
like "$out" '^220 dflt\.test ESMTP' "defaultdomain names the server without -h"
printf 'norelay maybe\n' >"$UPASROOT/lib/smtpd.conf"
out=$(RAWG=1 raw $PD 'QUIT\r\n')
is "$out" "" "a bad smtpd.conf: no service"
like "$(cat "$UPASROOT/log/listen" 2>/dev/null; "$UPAS" smtpd </dev/null 2>&1)" 'smtpd\.conf:1' "and the line is named"
rm -f "$UPASROOT/lib/smtpd.conf"

# --- names.blocked
printf 'root\n' >"$UPASROOT/lib/names.blocked"
out=$(raw $PB 'EHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<root@ours.test>\r\nRCPT TO:<alice@ours.test>\r\nQUIT\r\n')
like "$out" '^550 5\.1\.1 root: recipient refused' "names.blocked refuses a recipient"
like "$out" '^250 2\.1\.5' "others still pass"
rm -f "$UPASROOT/lib/names.blocked"

# --- greylisting
out=$(raw $PG 'EHLO mail.client.org\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<alice@ours.test>\r\nQUIT\r\n')
like "$out" '^451 4\.7\.1 greylisted' "a new triple is greylisted"
out=$(raw $PG 'EHLO mail.client.org\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<alice@ours.test>\r\nQUIT\r\n')
like "$out" '^451 4\.7\.1 greylisted' "and still too early"
find "$UPASROOT/grey/tmp" -type f -exec touch -d '10 minutes ago' {} +
out=$(raw $PG 'EHLO mail.client.org\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<alice@ours.test>\r\nQUIT\r\n')
like "$out" '^250 2\.1\.5' "after 5 minutes it passes"
like "$(cat "$UPASROOT/grey/whitelist")" '^192\.0\.2\.7' "and the peer is whitelisted"
out=$(raw $PG 'EHLO mail.client.org\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<carol@ours.test>\r\nQUIT\r\n')
like "$out" '^250 2\.1\.5' "a whitelisted peer passes at once"
out=$(raw $PB 'EHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<carol@ours.test>\r\nQUIT\r\n')
like "$out" '^250 2\.1\.5' "loopback is not greylisted"

# --- submission
out=$(raw $PSUB 'EHLO x\r\nMAIL FROM:<alice@ours.test>\r\nQUIT\r\n')
like "$out" '^530 5\.7\.0 authentication required' "-S: MAIL needs AUTH"
out=$(raw $PSUB 'EHLO x\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nMAIL FROM:<carol@ours.test>\r\nMAIL FROM:<alice@elsewhere.example>\r\nQUIT\r\n')
is "$(printf '%s\n' "$out" | grep -c '^553 5\.7\.1 alice may not send as that address')" 2 "-S: only the user's own address in our domains"
out=$(python3 - $PSUB <<'PY' 2>&1
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=5)
s.login("alice", "secret")
s.sendmail("alice@ours.test", ["alice@ours.test", "bob@elsewhere.example"], "Subject: submitted\r\n\r\nhello\r\n")
s.sendmail("alice@ours.test", ["alice@ours.test"], "Date: Sat, 1 Jan 2022 00:00:00 +0000\r\nMessage-ID: <kept@x>\r\nSubject: dated\r\n\r\nhello\r\n")
print(s.quit())
PY
)
like "$out" '221' "-S: authenticated submission delivers"
box=$(cat "$MBOX")
like "$box" '^Message-ID: <[0-9]+\.[0-9a-f]+@ours\.test>$' "a Message-ID is added"
like "$box" '^Date: [A-Z][a-z][a-z], ' "a Date is added"
is "$(grep -c '^Message-ID: <kept@x>' "$MBOX")" 1 "a message's own Message-ID stays"
is "$(sed -n '/^Subject: dated/,$p' "$MBOX" | sed '/^From /q' | grep -c '^Date:')" 0 "and no second Date is added"
like "$box" 'with ESMTPA' "Received: says ESMTPA"

# --- BDAT
n0=$(count)
out=$(raw $PB 'EHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<alice@ours.test>\r\nBDAT 20\r\nSubject: chunked\r\n\r\nBDAT 11 LAST\r\n.one\r\ntwo\r\nQUIT\r\n')
like "$out" '^250-CHUNKING' "EHLO offers CHUNKING"
like "$out" '^250 2\.0\.0 20 octets' "a chunk is acknowledged"
like "$out" '^250 2\.0\.0 delivered' "BDAT LAST delivers"
is "$(count)" "$((n0 + 1))" "one message"
like "$(sed -n '/^Subject: chunked/,$p' "$MBOX")" '^\.one$' "BDAT text is not dot-unstuffed"
out=$(raw $P0 'EHLO x\r\nBDAT 7\r\nabc\r\n\r\nNOOP\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<alice@ours.test>\r\nBDAT 11 LAST\r\nbare\nlf\r\n\r\nQUIT\r\n')
like "$out" '^503 5\.5\.1 MAIL first' "BDAT before MAIL: 503 after its octets"
like "$out" '^250 2\.0\.0 ok' "and the stream stays in step"
like "$out" '^550 5\.6\.11' "a bare LF in BDAT text is refused"
out=$(raw $PB 'EHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<alice@ours.test>\r\nBDAT x12\r\nNOOP\r\n')
like "$out" '^421 5\.5\.4 .*bad BDAT size' "a bad BDAT size ends the session"
out=$(raw $PB 'EHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<alice@ours.test>\r\nBDAT 3\r\nab\nDATA\r\nQUIT\r\n')
like "$out" '^503 5\.5\.1 BDAT transfer abandoned' "DATA inside BDAT is refused"

# --- -B: bare LF ends a line, never the text
n0=$(count)
out=$(raw $PB 'EHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<alice@ours.test>\r\nDATA\r\nSubject: barelf\nline\n.\nstill\r\n.\r\nQUIT\r\n')
like "$out" '^250 2\.0\.0 delivered' "-B accepts bare LF"
is "$(count)" "$((n0 + 1))" "as one message"
like "$(sed -n '/^Subject: barelf/,$p' "$MBOX")" '^still$' "<LF>.<LF> did not end it"

# --- a message past LIM_SPOOLMEM (1 MB) moves from memory to tmp/ and arrives whole
n0=$(count)
out=$(python3 - $PB <<'PY' 2>&1
import smtplib, sys
body = "".join("line %07d %s\r\n" % (i, "x" * 60) for i in range(40000))
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=20)
s.sendmail("a@example.org", ["alice@ours.test"], "Subject: big\r\n\r\n" + body)
print(s.quit())
PY
)
like "$out" '221' "a 2.9 MB message is accepted"
is "$(count)" "$((n0 + 1))" "and delivered"
is "$(sed -n '/^Subject: big/,$p' "$MBOX" | grep -c '^line [0-9]* x*$')" 40000 "every line arrives"
like "$(sed -n '/^Subject: big/,$p' "$MBOX" | grep '^line 0039999')" 'x{60}$' "to the last"

# --- the loop guard
hops=$(i=0; while [ $i -lt 33 ]; do printf 'Received: from h%d by h%d; Sat, 1 Jan 2022 00:00:00 +0000\\r\\n' $i $i; i=$((i + 1)); done)
out=$(raw $PB "EHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<alice@ours.test>\r\nDATA\r\n${hops}Subject: loop\r\n\r\nx\r\n.\r\nQUIT\r\n")
like "$out" '^554 5\.4\.6' "more than 32 Received: lines is a loop"

# --- -m and -d
out=$(raw $PM 'EHLO x\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nMAIL FROM:<a@example.org> AUTH=<>\r\nRCPT TO:<alice@ours.test>\r\nRCPT TO:<x@elsewhere.example>\r\nDATA\r\nSubject: m\r\n\r\nx\r\n.\r\nQUIT\r\n')
like "$out" '^250 2\.0\.0 delivered' "-m: the mailer delivers"
is "$(cat "$T/mailer.args")" "-r alice
-r elsewhere.example!x" "-m: one run per recipient, local part or bang path"
like "$(cat "$T/mailer.out")" '^Subject: m$' "-m: the message on its input"
like "$(cat "$UPASROOT/log/smtpd.db")" '< MAIL FROM:<a@example\.org> AUTH=<>' "-d logs commands"
like "$(cat "$UPASROOT/log/smtpd.db")" '> 250 2\.1\.0 sender ok' "-d logs replies"
check "-d leaves AUTH out" sh -c "! grep -q 'AGFsaWNl' \"\$1\"" x "$UPASROOT/log/smtpd.db"
out=$(raw $PB 'EHLO x\r\nMAIL FROM:<a@example.org> AUTH=bad=x\r\nQUIT\r\n')
like "$out" '^501 5\.5\.4 bad AUTH' "a bad AUTH= value is 501"

# --- partial delivery: the good copy stays, the sender gets a bounce for the rest
# (dave's mailbox is a symlink: send -x takes him, delivery refuses)
mkdir -p "$UPASROOT/box/dave"
ln -s /etc/passwd "$UPASROOT/box/dave/mbox"
n0=$(count)
out=$(raw $PB 'EHLO x\r\nMAIL FROM:<carol@ours.test>\r\nRCPT TO:<alice@ours.test>\r\nRCPT TO:<dave@ours.test>\r\nRCPT TO:<nosuch@ours.test>\r\nDATA\r\nSubject: partial\r\n\r\nx\r\n.\r\nQUIT\r\n')
like "$out" '^550 5\.1\.1 nosuch: no such user here' "an unknown recipient is refused at RCPT"
like "$out" '^250 2\.0\.0 delivered to 1 of 2' "one of two: 250"
is "$(count)" "$((n0 + 1))" "alice has it"
like "$(cat "$UPASROOT/box/carol/mbox" 2>/dev/null)" 'dave@ours\.test: .*symbolic link' "carol hears of dave"
out=$(raw $PB 'EHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<postmaster@ours.test>\r\nQUIT\r\n')
like "$out" '^250 2\.1\.5' "postmaster is always taken"

# --- -f: strangers claiming our domains are marked
out=$(raw $PS 'EHLO mail.client.org\r\nMAIL FROM:<boss@ours.test>\r\nRCPT TO:<alice@ours.test>\r\nDATA\r\nFrom: Boss <boss@ours.test>\r\nSubject: forged\r\n\r\nx\r\n.\r\nQUIT\r\n')
like "$out" '^250 2\.0\.0 delivered' "delivered"
like "$(cat "$MBOX")" '^X-warning: suspect envelope domain ours\.test from 192\.0\.2\.7' "-f warns of the envelope"
like "$(cat "$MBOX")" '^X-warning: suspect header domain ours\.test' "and of the header"

# --- -r: the sender's domain and the HELO name must resolve (dnsmasq as the DNS)
DNSMASQ=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)
PN=$(freeport)
spawn "$DNSMASQ" --keep-in-foreground --no-resolv --no-hosts --conf-file=/dev/null \
	--port="$PN" --listen-address=127.0.0.1 --bind-interfaces --pid-file= --local=/org/ \
	--host-record=mail.client.org,192.0.2.7 --mx-host=sender.org,mail.client.org,10 \
	--host-record=elsewhere.org,198.51.100.1 2>"$T/dnsmasq.log"
waitport "$PN"
printf 'nameserver 127.0.0.1#%s\noptions timeout:1 attempts:1\n' "$PN" >"$UPASROOT/lib/resolv.conf"
serve PR -h ours.test -n 192.0.2.7 -r
out=$(RAWT=8 raw $PR 'EHLO mail.client.org\r\nMAIL FROM:<a@sender.org>\r\nRSET\r\nMAIL FROM:<a@nosuch.org>\r\nQUIT\r\n')
like "$out" '^250 2\.1\.0 sender ok' "-r: a sender domain with an MX passes"
like "$out" '^553 5\.1\.8 sender domain nosuch\.org does not exist' "-r: a domain that does not exist is refused"
out=$(raw $PR 'EHLO elsewhere.org\r\n')
like "$out" '^554 5\.7\.1 name does not resolve to your address' "-r: a HELO name that is not the peer is refused"
out=$(raw $PR 'EHLO unknown.org\r\n')
like "$out" '^554 5\.7\.1 name does not resolve' "-r: a HELO name that does not resolve is refused"
printf 'nameserver 127.0.0.1#%s\noptions timeout:1 attempts:1\n' "$(freeport)" >"$UPASROOT/lib/resolv.conf"
out=$(RAWT=6 raw $PR 'EHLO mail.client.org\r\nMAIL FROM:<a@sender.org>\r\nQUIT\r\n')
like "$out" '^451 4\.1\.8 cannot check' "-r: a silent DNS defers"
rm -f "$UPASROOT/lib/resolv.conf"

done_testing
