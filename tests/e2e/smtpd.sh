#!/bin/sh
# smtpd under listen: python smtplib and swaks deliver, pipelining, STARTTLS
# (and plaintext injected behind it), SMTP smuggling vectors, relay attempts in
# every address form, limits.
. "$(dirname "$0")/lib.sh"
setup
cp -r "$top/configs/root/lib/." "$UPASROOT/lib/"
# remote mail stays queued: no runq is started to try (and bounce) it
sed -i "s/qer -K /qer /" "$UPASROOT/lib/rewrite"
mkdir -p "$UPASROOT/box/alice"
MBOX=$UPASROOT/box/alice/mbox
mkcert rsa srv mx.ours.test

"$UPAS" smtpd -Z </dev/null >/dev/null 2>&1; is $? 64 "a bad option exits 64"

P=$(freeport)
spawn "$UPAS" listen -q tcp!127.0.0.1!$P smtpd -h ours.test -z 100000
waitport $P
PT=$(freeport)
spawn "$UPAS" listen -q tcp!127.0.0.1!$PT smtpd -h ours.test -t -c "$T/srv.crt" -K "$T/srv.key"
waitport $PT

count() { grep -c '^From ' "$MBOX" 2>/dev/null || echo 0; }

# --- smtplib: a plain delivery, dot-unstuffing, the Received: line
out=$(python3 - $P <<'PY' 2>&1
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=5)
s.ehlo("client.test")
print(s.esmtp_features)
s.sendmail("bob@example.org", ["alice@ours.test"],
    "Subject: first\r\n\r\nline one\r\n.leading dot\r\n..two dots\r\nend\r\n")
print(s.quit())
PY
)
like "$out" "'size': '100000'" "EHLO advertises SIZE with the -z limit"
like "$out" "pipelining" "EHLO advertises PIPELINING"
like "$out" "smtputf8" "EHLO advertises SMTPUTF8"
check "no STARTTLS without a certificate" sh -c "! printf '%s' \"\$1\" | grep -q starttls" x "$out"
like "$out" "221" "QUIT answers 221"
box=$(cat "$MBOX" 2>/dev/null)
like "$box" '^From example.org!bob ' "the mailbox has the message with the sender"
like "$box" 'Received: from client.test \(\[127.0.0.1\]\)' "Received: names the HELO and peer"
like "$box" 'by ours.test with ESMTP$' "Received: says ESMTP"
like "$box" 'for <alice@ours.test>; [A-Z][a-z][a-z], ' "Received: names the recipient and an RFC 5322 date"
like "$box" '^\.leading dot$' "a stuffed dot is removed"
like "$box" '^\.\.two dots$' "only one stuffed dot is removed"
like "$box" '^end$' "the body is intact"

# --- swaks: pipelining
out=$(swaks --server 127.0.0.1:$P --pipeline --from carol@example.org --to alice@ours.test \
	--header 'Subject: piped' --body 'pipelined body' 2>&1)
like "$out" '250 2.0.0 delivered' "swaks --pipeline delivers"
like "$(cat "$MBOX")" 'pipelined body' "the pipelined message is in the mailbox"

# --- protocol errors
out=$(raw $P 'MAIL FROM:<a@b.c>\r\nEHLO x\r\nRCPT TO:<alice@ours.test>\r\nDATA\r\nBOGUS\r\nVRFY alice\r\nNOOP\r\nHELP\r\nQUIT\r\n')
like "$out" '^503 5\.5\.1 say HELO' "MAIL before EHLO is 503"
like "$out" '^503 5\.5\.1 MAIL first' "RCPT before MAIL is 503"
like "$out" '^503 5\.5\.1 RCPT first' "DATA before RCPT is 503"
like "$out" '^500 5\.5\.1 unknown command' "an unknown command is 500"
like "$out" '^502 5\.5\.1 VRFY' "VRFY is off by default"
like "$out" '^250 2\.0\.0 ok' "NOOP is 250"
like "$out" '^214 ' "HELP is 214"
like "$out" '^221 2\.0\.0' "QUIT is 221"
long=$(python3 -c 'print("x" * 1500)')
out=$(raw $P "EHLO x\\r\\nNOOP $long\\r\\nNOOP\\r\\nQUIT\\r\\n")
like "$out" '^500 5\.5\.2 line too long' "an overlong command line is 500 5.5.2"
like "$out" '^250 2\.0\.0 ok' "and the session goes on with the next line"
out=$(raw $P 'EHLO x\r\nMAIL FROM:<a@b.c> FOO=bar\r\nMAIL FROM:<a@b.c> SIZE=200000\r\nQUIT\r\n')
like "$out" '^555 5\.5\.4 ' "an unknown MAIL parameter is 555"
like "$out" '^552 5\.3\.4 ' "SIZE above the limit is 552"
rc=""; i=0; while [ $i -lt 101 ]; do rc="${rc}RCPT TO:<alice@ours.test>\\r\\n"; i=$((i + 1)); done
out=$(raw $P "EHLO x\\r\\nMAIL FROM:<a@b.c>\\r\\n${rc}QUIT\\r\\n")
is "$(printf '%s\n' "$out" | grep -c '^250 2\.1\.5')" 100 "100 recipients are accepted"
like "$out" '^452 4\.5\.3 too many recipients' "the 101st is 452"

# --- relaying, in every address form
n0=$(count)
for a in other@example.net 'other%example.net@ours.test' 'example.net!other@ours.test' \
	'@ours.test:other@example.net' '"other@example.net"@ours.test' '"other!x"@ours.test' \
	'other@[10.0.0.1]'; do
	out=$(raw $P "EHLO x\\r\\nMAIL FROM:<a@b.c>\\r\\nRCPT TO:<$a>\\r\\nQUIT\\r\\n")
	like "$out" '^550 5\.7\.1 relaying denied' "relay refused: $a"
done
out=$(raw $P 'EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<Postmaster>\r\nRCPT TO:<alice@OURS.TEST>\r\nQUIT\r\n')
is "$(printf '%s\n' "$out" | grep -c '^250 2\.1\.5')" 2 "postmaster and our domain in any case are accepted"

# --- smuggling: nothing but CRLF.CRLF ends the text; bare CR/LF refuses it
n0=$(count)
for v in 'LF.LF|x\n.\nMAIL FROM:<evil@x.y>' 'LF.CRLF|x\n.\r\nMAIL FROM:<evil@x.y>' \
	'CR.CR|x\r.\rMAIL FROM:<evil@x.y>' 'CRLF.LF|x\r\n.\nMAIL FROM:<evil@x.y>' 'bare LF|bare\nlf'; do
	name=${v%%|*}; v=${v#*|}
	out=$(raw $P "EHLO x\\r\\nMAIL FROM:<a@b.c>\\r\\nRCPT TO:<alice@ours.test>\\r\\nDATA\\r\\nSubject: s\\r\\n\\r\\n$v\\r\\nRCPT TO:<alice@ours.test>\\r\\nDATA\\r\\nsmuggled\\r\\n.\\r\\nQUIT\\r\\n")
	like "$out" '^550 5\.6\.11 bare CR or LF' "$name: refused after CRLF.CRLF"
	is "$(printf '%s\n' "$out" | grep -c '^354')" 1 "$name: no command ran inside the text"
done
is "$(count)" "$n0" "no smuggled message was delivered"
out=$(raw $P 'EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<alice@ours.test>\r\nDATA\r\nnul\000byte\r\n.\r\nQUIT\r\n')
like "$out" '^550 5\.6\.0 NUL' "a NUL in the text is refused"
out=$(raw $P "EHLO x\\r\\nMAIL FROM:<a@b.c>\\r\\nRCPT TO:<alice@ours.test>\\r\\nDATA\\r\\n$long\\r\\n.\\r\\nQUIT\\r\\n")
like "$out" '^500 5\.5\.6 text line longer' "a text line over 1000 octets is refused at the end"
big=$(python3 -c 'print("y" * 900 + "\\r\\n", end="")'); body=""; i=0
while [ $i -lt 120 ]; do body="$body$big"; i=$((i + 1)); done
out=$(raw $P "EHLO x\\r\\nMAIL FROM:<a@b.c>\\r\\nRCPT TO:<alice@ours.test>\\r\\nDATA\\r\\n$body.\\r\\nQUIT\\r\\n")
like "$out" '^552 5\.3\.4 message too big' "a message over -z is 552"
like "$out" '^221 ' "and the session survives it"
is "$(count)" "$n0" "none of those was delivered"

# --- unknown user: refused at RCPT (send -x), so no bounce is ever due
out=$(raw $P 'EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<nosuch@ours.test>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n')
like "$out" '^550 5\.1\.1 nosuch: no such user here' "an unknown user is 550 at RCPT"
# a failure only delivery finds (a mailbox that is a symlink) comes back after DATA
mkdir -p "$UPASROOT/box/dave"
ln -s /etc/passwd "$UPASROOT/box/dave/mbox"
out=$(raw $P 'EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<dave@ours.test>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n')
like "$out" '^554 5\.0\.0 mail refused' "a delivery that fails for good is 554 after DATA"

# --- STARTTLS
out=$(swaks --server 127.0.0.1:$PT --tls --from bob@example.org --to alice@ours.test \
	--header 'Subject: secret' --body 'over tls' 2>&1)
like "$out" '250-STARTTLS' "STARTTLS is offered with -c"
like "$out" 'TLS started' "swaks --tls negotiates"
like "$out" '250 2\.0\.0 delivered' "and delivers"
like "$(cat "$MBOX")" 'with ESMTPS' "Received: says ESMTPS"
like "$(cat "$MBOX")" '^	\(using TLSv1\.2 with cipher ECDHE-RSA-[A-Z0-9-]+\)$' "Received: names the TLS version and cipher"
out=$(python3 - $PT <<'PY' 2>&1
import socket, ssl, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
f = s.makefile("rb")
def rd():
    out = []
    while True:
        l = f.readline().decode().rstrip()
        out.append(l)
        if len(l) < 4 or l[3] != "-": return out
rd()
s.sendall(b"EHLO x\r\n"); rd()
s.sendall(b"STARTTLS\r\nMAIL FROM:<evil@x.y>\r\n")
print("starttls:", rd())
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
try:
    t = ctx.wrap_socket(s, server_hostname="mx.ours.test")
except Exception as e:
    print("handshake refused:", type(e).__name__); sys.exit(0)
f = t.makefile("rb")
t.sendall(b"EHLO y\r\n")
r = rd()
print("first after tls:", r[0])
print("offers starttls again:", any("STARTTLS" in l for l in r))
t.sendall(b"STARTTLS\r\n"); print("second:", rd()[0])
PY
)
like "$out" "starttls: \['220 2\.0\.0" "STARTTLS answers 220"
if printf '%s\n' "$out" | grep -q 'handshake refused'; then
	ok "pipelined plaintext after STARTTLS breaks the handshake instead of running"
	ok "(nothing to check after TLS)"; ok "(nothing to check after TLS)"
else
	like "$out" "first after tls: 250-ours.test" "the first reply under TLS answers the client's EHLO, not the injected MAIL"
	like "$out" "offers starttls again: False" "STARTTLS is not offered under TLS"
	like "$out" "second: 503 5\.5\.1" "a second STARTTLS is refused"
fi
out=$(raw $PT 'EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<other@example.net>\r\nQUIT\r\n')
like "$out" '^250 2\.1\.5' "with -t a loopback peer may relay"

# --- AUTH: lib/secrets, PLAIN/LOGIN under TLS or -p, CRAM-MD5 always
printf '# test users\nalice secret\ncarol {crypt}%s\n' "$(openssl passwd -6 hashed)" >"$UPASROOT/lib/secrets"
chmod 600 "$UPASROOT/lib/secrets"
PA=$(freeport)
spawn "$UPAS" listen -q tcp!127.0.0.1!$PA smtpd -h ours.test -c "$T/srv.crt" -K "$T/srv.key"
waitport $PA
PP=$(freeport)
spawn "$UPAS" listen -q tcp!127.0.0.1!$PP smtpd -h ours.test -p
waitport $PP
sw() { swaks --server 127.0.0.1:$1 --from a@example.org --to "$2" --body authed "$@" 2>&1; }
for m in PLAIN LOGIN; do
	out=$(swaks --server 127.0.0.1:$PA --tls --auth $m --auth-user alice --auth-password secret \
		--from a@example.org --to other@example.net --quit-after RCPT 2>&1)
	like "$out" '235 2\.7\.0' "AUTH $m with TLS succeeds"
	like "$out" '<[-~] *250 2\.1\.5' "and the session may relay"
done
like "$out" 'AUTH CRAM-MD5 PLAIN LOGIN' "under TLS all three are offered"
out=$(python3 - $PA <<'PY' 2>&1
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10)
s.ehlo("c.test")
s.user, s.password = "alice", "secret"
print(s.auth("CRAM-MD5", s.auth_cram_md5))
print(s.mail("a@example.org"), s.rcpt("other@example.net"))
PY
)
like "$out" "235, b'2\\.7\\.0" "AUTH CRAM-MD5 without TLS succeeds (smtplib)"
like "$out" "250, b'2\\.1\\.5" "and the session may relay"
out=$(raw $PA 'EHLO x\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<other@example.net>\r\nQUIT\r\n')
like "$out" '^250-AUTH CRAM-MD5$' "without TLS only CRAM-MD5 is offered"
like "$out" '^538 5\.7\.11' "PLAIN without TLS is 538"
like "$out" '^550 5\.7\.1 relaying denied' "unauthenticated, relaying is denied"
out=$(swaks --server 127.0.0.1:$PP --auth PLAIN --auth-user alice --auth-password secret \
	--from a@example.org --to alice@ours.test --body 'plain auth' 2>&1)
like "$out" '235 2\.7\.0' "with -p PLAIN works without TLS"
like "$(cat "$MBOX")" 'with ESMTPA$' "Received: says ESMTPA"
out=$(swaks --server 127.0.0.1:$PP --auth LOGIN --auth-user carol --auth-password hashed \
	--from a@example.org --to other@example.net --quit-after RCPT 2>&1)
like "$out" '235 2\.7\.0' "a {crypt} \$6\$ entry works for LOGIN"
out=$(swaks --server 127.0.0.1:$PP --auth CRAM-MD5 --auth-user carol --auth-password hashed --quit-after AUTH 2>&1)
like "$out" '535 5\.7\.8' "but not for CRAM-MD5"
t0=$(date +%s)
out=$(RAWT=6 raw $PP 'EHLO x\r\nAUTH PLAIN AGFsaWNlAHdyb25n\r\nAUTH PLAIN\r\n*\r\nAUTH LOGIN YWxpY2U=\r\nd3Jvbmc=\r\nAUTH PLAIN AGFsaWNlAHdyb25n\r\nNOOP\r\n')
t1=$(date +%s)
is "$(printf '%s\n' "$out" | grep -c '^535 5\.7\.8')" 3 "a wrong password is 535 each time"
like "$out" '^501 5\.0\.0 authentication cancelled' "* cancels with 501"
like "$out" '^421 4\.7\.0 .*too many authentication failures' "the third failure hangs up"
check "failures are delayed (1+2+4 s)" test $((t1 - t0)) -ge 6
out=$(raw $PP 'EHLO x\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nQUIT\r\n')
like "$out" '^503 5\.5\.1 already authenticated' "a second AUTH is 503"
like "$(cat "$UPASROOT/log/smtpd")" 'auth PLAIN alice ok' "success is logged"
check "no password in the log" sh -c "! grep -q 'secret\|wrong' \"\$1\"" x "$UPASROOT/log/smtpd"
chmod 644 "$UPASROOT/lib/secrets"
out=$(raw $PP 'EHLO x\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nQUIT\r\n')
check "a secrets file open to others: no AUTH advertised" sh -c "! printf '%s' \"\$1\" | grep -q '^250-AUTH'" x "$out"
like "$out" '^502 5\.5\.1 AUTH not offered' "and AUTH is refused"
like "$(cat "$UPASROOT/log/smtpd")" 'AUTH off: .*mode 644' "the reason is logged"

done_testing
