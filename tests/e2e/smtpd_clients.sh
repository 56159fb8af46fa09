#!/bin/sh
# smtpd under listen with real clients: curl smtp:// (plain and STARTTLS with
# --ssl-reqd), msmtp (plain and STARTTLS), Postfix's smtp-source with 20
# parallel sessions into one mailbox (each message exactly once), a client
# killed mid-DATA (nothing delivered, nothing left in tmp), and kill -9 of the
# whole smtpd tree right after a 250 (the message is in the mailbox).
. "$(dirname "$0")/lib.sh"
setup
cp -r "$top/configs/root/lib/." "$UPASROOT/lib/"
# remote mail stays queued: no runq is started to try (and bounce) it
sed -i "s/qer -K /qer /" "$UPASROOT/lib/rewrite"
mkdir -p "$UPASROOT/box/alice"
MBOX=$UPASROOT/box/alice/mbox
mkcert rsa srv mx.ours.test

P=$(freeport)
# smtp-source runs 20 sessions from one address, one connection per message:
# the processes of closed connections may still be ending (slowly under ASan,
# which checks for leaks at exit), so the limits leave room for them
spawn "$UPAS" listen -q -n 400 -p 400 tcp!127.0.0.1!$P smtpd -h ours.test
LPID=$pid
waitport $P
PT=$(freeport)
spawn "$UPAS" listen -q tcp!127.0.0.1!$PT smtpd -h ours.test -c "$T/srv.crt" -K "$T/srv.key"
waitport $PT

# count: messages in the mailbox (python mailbox, not a grep)
count() {
	python3 - "$MBOX" <<'PY'
import mailbox, os, sys
print(len(mailbox.mbox(sys.argv[1], create=False)) if os.path.exists(sys.argv[1]) else 0)
PY
}
# has SUBJECT: the Received: line of the message with that Subject
received() {
	python3 - "$MBOX" "$1" <<'PY'
import mailbox, sys
import os
for m in (mailbox.mbox(sys.argv[1], create=False) if os.path.exists(sys.argv[1]) else []):
    if m["Subject"] == sys.argv[2]:
        print(" ".join(m["Received"].split()))
PY
}
msg() {	# msg SUBJECT BODY: an RFC 5322 message with CRLF line ends
	printf 'From: bob@example.net\r\nTo: alice@ours.test\r\nSubject: %s\r\n\r\n%s\r\n.dotted line\r\n' "$1" "$2"
}

# --- curl
msg curl-plain 'body from curl' >"$T/m1"
out=$(curl -sS --max-time 10 "smtp://127.0.0.1:$P" --mail-from bob@example.net \
	--mail-rcpt alice@ours.test --upload-file "$T/m1" 2>&1); st=$?
is "$st" 0 "curl smtp:// delivers (exit 0) $out"
is "$(count)" 1 "the curl message is in the mailbox"
like "$(received curl-plain)" 'with ESMTP for ' "Received: says ESMTP without TLS"
like "$(cat "$MBOX")" '^\.dotted line$' "curl's dot-stuffed line arrives unstuffed"

msg curl-tls 'body from curl over tls' >"$T/m2"
out=$(curl -sS --max-time 10 --ssl-reqd -k "smtp://127.0.0.1:$PT" --mail-from bob@example.net \
	--mail-rcpt alice@ours.test --upload-file "$T/m2" 2>&1); st=$?
is "$st" 0 "curl --ssl-reqd delivers over STARTTLS $out"
like "$(received curl-tls)" 'with ESMTPS' "Received: says ESMTPS after STARTTLS"
out=$(curl -sS --max-time 10 --ssl-reqd -k "smtp://127.0.0.1:$P" --mail-from bob@example.net \
	--mail-rcpt alice@ours.test --upload-file "$T/m2" 2>&1); st=$?
check "curl --ssl-reqd refuses a server without STARTTLS (exit $st)" test "$st" != 0
is "$(count)" 2 "and nothing was sent in the clear"

out=$(curl -sS --max-time 10 "smtp://127.0.0.1:$P" --mail-from bob@example.net \
	--mail-rcpt victim@elsewhere.test --upload-file "$T/m1" 2>&1); st=$?
check "curl relaying to another domain fails (exit $st)" test "$st" != 0
like "$out" '550' "with 550"

# --- msmtp (no configuration file: --file=/dev/null)
msg msmtp-plain 'body from msmtp' >"$T/m3"
out=$(msmtp --file=/dev/null --host=127.0.0.1 --port=$P --from=bob@example.net \
	--auth=off --tls=off alice@ours.test <"$T/m3" 2>&1); st=$?
is "$st" 0 "msmtp delivers $out"
like "$(received msmtp-plain)" 'with ESMTP for ' "msmtp's message is in the mailbox"
msg msmtp-tls 'body from msmtp over tls' >"$T/m4"
out=$(msmtp --file=/dev/null --host=127.0.0.1 --port=$PT --from=bob@example.net --auth=off \
	--tls=on --tls-starttls=on --tls-certcheck=off alice@ours.test <"$T/m4" 2>&1); st=$?
is "$st" 0 "msmtp delivers over STARTTLS $out"
like "$(received msmtp-tls)" 'with ESMTPS' "msmtp's TLS message says ESMTPS"
out=$(msmtp --file=/dev/null --host=127.0.0.1 --port=$P --from=bob@example.net --auth=off \
	--tls=on --tls-starttls=on --tls-certcheck=off alice@ours.test <"$T/m4" 2>&1); st=$?
check "msmtp with TLS required fails against a server without STARTTLS (exit $st)" test "$st" != 0
is "$(count)" 4 "four messages so far"

# --- Postfix's smtp client relaying to us: a private instance (postfix -c)
# with relayhost [127.0.0.1]:P, fed by smtp-source on its own port
if command -v postfix >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
	PF=$T/pf PP=$(freeport)
	chmod 711 "$T"	# postfix drops privileges and must reach $PF
	mkdir -p "$PF/queue" "$PF/data"
	chown postfix:postfix "$PF/data"
	cat >"$PF/main.cf" <<-EOF
	compatibility_level = 3.6
	queue_directory = $PF/queue
	data_directory = $PF/data
	maillog_file = $PF/maillog
	maillog_file_prefixes = $PF
	myhostname = relay.test
	mydestination =
	inet_interfaces = 127.0.0.1
	inet_protocols = ipv4
	mynetworks = 127.0.0.0/8
	relayhost = [127.0.0.1]:$P
	smtp_host_lookup = native
	alias_maps =
	biff = no
	EOF
	awk -v port="$PP" '
		/^#/ || /^[ \t]/ || NF < 8 { print; next }
		$1 == "smtp" && $2 == "inet" { $1 = "127.0.0.1:" port }
		{ if ($5 == "y") $5 = "n"; print }
	' /etc/postfix/master.cf >"$PF/master.cf"
	if postfix -c "$PF" start >/dev/null 2>&1 && waitport "$PP"; then
		cat "$PF/queue/pid/master.pid" >>"$T/pids"
		before=$(count)
		/usr/sbin/smtp-source -m 3 -M client.test -f sender@example.net -t alice@ours.test \
			127.0.0.1:$PP >/dev/null 2>&1
		i=0
		while [ "$(count)" -lt $((before + 3)) ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
		is "$(count)" "$((before + 3))" "Postfix relays three messages to us"
		like "$(tail -20 "$MBOX")" 'from relay.test \(\[127.0.0.1\]\)' "Received: names Postfix's EHLO"
		like "$(grep 'status=sent' "$PF/maillog" | tail -1)" 'relay=127.0.0.1\[127.0.0.1\]:[0-9]+.*250 2\.0\.0' "Postfix logs our 250"
		postfix -c "$PF" stop >/dev/null 2>&1
	else
		notok "a private Postfix starts: $(tail -2 "$PF/maillog" 2>/dev/null)"
	fi
fi

# --- smtp-source: 20 parallel sessions, N messages, one mailbox
N=${N:-2000}
SRC=/usr/sbin/smtp-source
if [ -x "$SRC" ]; then
	before=$(count)
	out=$(timeout 60 "$SRC" -s 20 -m "$N" -l 2000 -M client.test -f sender@example.net \
		-t alice@ours.test 127.0.0.1:$P 2>&1); st=$?
	is "$st" 0 "smtp-source -s 20 -m $N finishes without error $out"
	got=$(python3 - "$MBOX" "$before" "$N" <<'PY'
import mailbox, sys
msgs = list(mailbox.mbox(sys.argv[1], create=False))[int(sys.argv[2]):]
ids = [m["Message-Id"] for m in msgs]
bad = [m for m in msgs if m.get_from().split()[0] != "example.net!sender"
       or len(m.get_payload()) < 1900]
print(len(msgs), len(set(ids)), None in ids, len(bad))
PY
)
	is "$got" "$N $N False 0" "every smtp-source message is in the mailbox exactly once, whole (count, distinct ids, missing id, bad)"
	is "$(ls -A "$UPASROOT/tmp")" "" "nothing left in tmp"
else
	notok "smtp-source is not installed (scripts/deps.sh test)"
fi
total=$(count)

# --- a client killed mid-DATA leaves nothing behind
out=$(python3 - $P <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
f = s.makefile("rb")
def rd():
    while True:
        l = f.readline()
        if l[3:4] != b"-": return l.decode().strip()
rd()
for c in (b"EHLO client.test", b"MAIL FROM:<bob@example.net>", b"RCPT TO:<alice@ours.test>", b"DATA"):
    s.sendall(c + b"\r\n"); r = rd()
print(r)
s.sendall(b"Subject: half\r\n\r\n" + b"x" * 5000 + b"\r\nhalf of the body\r\n")
time.sleep(0.3)
s.close()
PY
)
like "$out" '^354' "DATA is answered 354"
sleep 0.5
is "$(count)" "$total" "a client killed mid-DATA delivers nothing"
is "$(ls -A "$UPASROOT/tmp")" "" "and leaves nothing in tmp"
check "nor a partial message in the mailbox" sh -c "! grep -q 'half of the body' '$MBOX'"

# --- kill -9 of listen and every smtpd right after the 250 loses nothing
out=$(python3 - $P $LPID <<'PY'
import os, signal, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
f = s.makefile("rb")
def rd():
    while True:
        l = f.readline()
        if l[3:4] != b"-": return l.decode().strip()
rd()
for c in (b"EHLO client.test", b"MAIL FROM:<bob@example.net>", b"RCPT TO:<alice@ours.test>", b"DATA"):
    s.sendall(c + b"\r\n"); rd()
s.sendall(b"Subject: killed\r\n\r\nsurvives kill -9\r\n.\r\n")
r = rd()
# the listener and its children (the smtpd of this session and whatever it runs)
def tree(p):
    out = [p]
    for t in os.listdir("/proc/%d/task" % p):
        try:
            for c in open("/proc/%d/task/%s/children" % (p, t)).read().split():
                out += tree(int(c))
        except OSError:
            pass
    return out
pids = tree(int(sys.argv[2]))
for p in pids:
    try: os.kill(p, signal.SIGKILL)
    except ProcessLookupError: pass
print(r, len(pids))
PY
)
like "$out" '^250 ' "the message is accepted ($out)"
is "$(count)" "$((total + 1))" "after kill -9 of the smtpd tree the message is in the mailbox"
like "$(received killed)" 'by ours.test' "whole, with its Received: line"
check "and its body" grep -q 'survives kill -9' "$MBOX"

done_testing
