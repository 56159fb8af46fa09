#!/bin/sh
# fs and remote mailboxes: a POP3 account kept as a local copy (a Maildir)
# in the tree, against Dovecot's pop3 with TLS certificates made by openssl:
# trusted by CA, by thumbprint, one untrusted refused with its thumbprint
# named; APOP, CRAM-MD5, STLS, implicit TLS; UIDLs, so a restart fetches
# nothing twice; a directory removed deletes the message on the server; a
# server gone leaves the tree as it was.
. "$(dirname "$0")/lib.sh"
setup
export TZ=UTC
L=$(id -un)
U=$UPASROOT/box/$L
mkdir -p "$U" "$UPASROOT/lib/tls"
DVPOP=/usr/lib/dovecot/pop3
if [ ! -x /usr/sbin/dovecot ] || [ ! -x "$DVPOP" ]; then
	notok "Dovecot's pop3 is installed (scripts/deps.sh test installs dovecot-pop3d)"
	done_testing
	exit
fi

# a CA and the server's certificate for localhost; a self-signed one nobody trusts
openssl req -x509 -newkey rsa:2048 -nodes -subj "/CN=Test CA" -days 2 -keyout "$T/ca.key" -out "$T/ca.crt" 2>/dev/null
openssl req -new -newkey rsa:2048 -nodes -subj "/CN=pop.test" -keyout "$T/srv.key" -out "$T/srv.csr" 2>/dev/null
printf 'subjectAltName=DNS:pop.test,DNS:localhost,IP:127.0.0.1\n' >"$T/srv.ext"
openssl x509 -req -in "$T/srv.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" -CAcreateserial -days 2 \
	-extfile "$T/srv.ext" -out "$T/srv.crt" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -subj "/CN=evil" -days 2 -keyout "$T/evil.key" -out "$T/evil.crt" 2>/dev/null

OWNER=$(id -u)
[ "$OWNER" = 0 ] && OWNER=4242	# Dovecot will not be root for a user
P=$(freeport)
PS=$(freeport)
PI=$(freeport)
PIS=$(freeport)
D=$T/dv
H=$D/home/alice
HB=$D/home/bob
mkdir -p "$D/run" "$H/Maildir/cur" "$H/Maildir/new" "$H/Maildir/tmp" "$HB/Maildir/cur" "$HB/Maildir/new" "$HB/Maildir/tmp"
chmod 711 "$T"	# Dovecot's auth process reads the users file as its own user
chmod 755 "$D"
printf 'alice:{PLAIN}alicepw:%s:%s::%s::userdb_mail=maildir:~/Maildir\n' "$OWNER" "$OWNER" "$H" >"$D/users"
printf 'bob:{PLAIN}bobpw:%s:%s::%s::userdb_mail=maildir:~/Maildir\n' "$OWNER" "$OWNER" "$HB" >>"$D/users"
cat >"$D/dovecot.conf" <<EOF
protocols = pop3 imap
listen = 127.0.0.1
base_dir = $D/run
state_dir = $D/run
log_path = $D/log
ssl = yes
ssl_cert = <$T/srv.crt
ssl_key = <$T/srv.key
disable_plaintext_auth = no
auth_mechanisms = plain login cram-md5 apop
first_valid_uid = 0
mail_uid = $OWNER
mail_gid = $OWNER
pop3_uidl_format = %g
passdb {
  driver = passwd-file
  args = $D/users
}
userdb {
  driver = passwd-file
  args = $D/users
}
service pop3-login {
  inet_listener pop3 {
    port = $P
  }
  inet_listener pop3s {
    port = $PS
    ssl = yes
  }
  chroot =
}
service imap-login {
  inet_listener imap {
    port = $PI
  }
  inet_listener imaps {
    port = $PIS
    ssl = yes
  }
  chroot =
}
service anvil {
  chroot =
}
EOF
serverput() {	# serverput N SUBJECT: a message in alice's Maildir on the server
	printf 'From: s%s@example.org\nTo: alice@example.org\nSubject: %s\nMessage-ID: <m%s@example.org>\n\nbody %s\n' \
	    "$1" "$2" "$1" "$1" >"$H/Maildir/new/100000000$1.M1P1.pop.test"
	chown "$OWNER:$OWNER" "$H/Maildir/new/100000000$1.M1P1.pop.test" 2>/dev/null
	:
}
for k in 1 2 3; do
	printf 'From: b%s@example.org\nTo: bob@example.org\nSubject: imap %s\n\nbody %s\n' $k $k $k >"$HB/Maildir/new/100000000$k.M1P1.imap.test"
	touch -d '2020-01-02 03:04:05 UTC' "$HB/Maildir/new/100000000$k.M1P1.imap.test"	# INTERNALDATE
done
serverput 1 "first"
serverput 2 "second"
serverput 3 "third"
chown -R "$OWNER:$OWNER" "$D/home" 2>/dev/null
spawn /usr/sbin/dovecot -F -c "$D/dovecot.conf"
dvpid=$pid
waitport $P && waitport $PS && waitport $PIS || notok "Dovecot listens"
server() { find "$H/Maildir/cur" "$H/Maildir/new" -type f | wc -l; }

printf 'key proto=pass service=pop3 server=localhost user=alice !password=alicepw\n' >"$U/keys"
chmod 600 "$U/keys"
cp "$T/ca.crt" "$UPASROOT/lib/tls/ca.pem"
tree=$T/tree
box=$tree/pop.localhost.alice

out=$("$UPAS" fs -x -v -f "/pops/localhost:$PS/alice" -m "$tree" 2>&1)
is "$?" 0 "fs -x on /pops/: implicit TLS, the server trusted by CA"
like "$out" "3 fetched" "the three messages fetched"
subjects() { for f in "$1"/*/subject; do cat "$f"; echo; done | sort | tr '\n' ' '; }
is "$(subjects "$box")" "first second third " "and in the tree"
check "the copy is a Maildir in the mail store" test -d "$U/pop.localhost.alice/cur"
is "$(server)" 3 "the server keeps them"
out=$("$UPAS" fs -x -v -f "/pops/localhost:$PS/alice" -m "$tree" 2>&1)
like "$out" "0 fetched" "again: nothing fetched twice (UIDL)"
k=$(grep -l '^second$' "$box"/*/subject | xargs dirname)
rm -r "$k"
out=$("$UPAS" fs -x -v -f "/pops/localhost:$PS/alice" -m "$tree" 2>&1)
like "$out" "1 deleted on the server" "a message directory removed: the message deleted on the server"
is "$(server)" 2 "the server has two left"
check "not the others" sh -c "! grep -rq 'Subject: second' '$H/Maildir'"

# a host given as an address: the certificate's iPAddress name
printf 'key proto=pass service=pop3 server=127.0.0.1 user=alice !password=alicepw\n' >>"$U/keys"
out=$("$UPAS" fs -x -v -f "/pops/127.0.0.1:$PS/alice" -m "$T/tree8" 2>&1)
is "$?" 0 "/pops/127.0.0.1: the certificate names the address"
PA=$(freeport)
spawn openssl s_server -quiet -accept "127.0.0.2:$PA" -cert "$T/srv.crt" -key "$T/srv.key" 2>/dev/null
waitport $PA 127.0.0.2
out=$("$UPAS" fs -x -f "/pops/127.0.0.2:$PA/alice" -m "$T/tree8" 2>&1)
check "an address the certificate does not name is refused" test $? -ne 0
like "$out" "does not match host name 127.0.0.2" "and says so"
kill $pid

# STLS, the server trusted by its thumbprint alone
rm "$UPASROOT/lib/tls/ca.pem"
fp=$(openssl x509 -in "$T/srv.crt" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f)
printf 'x509 sha256=%s\n' "$fp" >"$UPASROOT/lib/tls/mail"
serverput 4 "fourth"
out=$("$UPAS" fs -x -v -f "/poptls/localhost:$P/alice" -m "$T/tree2" 2>&1)
is "$?" 0 "/poptls/: STLS, the server trusted by its thumbprint in lib/tls/mail"
like "$out" "1 fetched" "one local copy of the account: only the new message fetched"
is "$(subjects "$T/tree2/pop.localhost.alice")" "first fourth third " "a second tree of it"

# an untrusted certificate is refused, named by its thumbprint
PU=$(freeport)
spawn openssl s_server -quiet -accept "$PU" -cert "$T/evil.crt" -key "$T/evil.key" 2>/dev/null
waitport $PU
efp=$(openssl x509 -in "$T/evil.crt" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f)
out=$("$UPAS" fs -x -f "/pops/localhost:$PU/alice" -m "$T/tree3" 2>&1)
st=$?
check "an untrusted server is refused" test $st -ne 0
like "$(echo "$out" | tr A-F a-f)" "sha256=$efp" "the error names its thumbprint as lib/tls/mail takes it"
kill $pid

# APOP and CRAM-MD5 without TLS; a wrong password
cp "$T/ca.crt" "$UPASROOT/lib/tls/ca.pem"
out=$("$UPAS" fs -x -v -f "/apopnotls/localhost:$P/alice" -m "$T/tree4" 2>&1)
is "$?" 0 "/apopnotls/: APOP"
like "$(cat "$D/log")" "user=<alice>, method=APOP" "Dovecot saw an APOP login"
out=$("$UPAS" fs -x -v -f "/popnotls/localhost:$P/alice" -m "$T/tree5" 2>&1)
is "$?" 0 "/popnotls/: CRAM-MD5, offered"
like "$(grep 'Login:' "$D/log")" "user=<alice>, method=CRAM-MD5" "Dovecot saw a CRAM-MD5 login"
printf 'key proto=pass service=pop3 server=localhost user=alice !password=wrong\n' >"$U/keys"
out=$("$UPAS" fs -x -f "/pops/localhost:$PS/alice" -m "$T/tree5" 2>&1)
check "a wrong password: an exit status" test $? -ne 0
like "$out" "login: -ERR" "and what the server said"
printf 'key proto=pass service=pop3 server=localhost user=alice !password=alicepw\n' >"$U/keys"

# a server with no TLS and no CRAM-MD5: the password goes in the clear
# only when the name says notls
D2=$T/dv2
P2=$(freeport)
PI2=$(freeport)
mkdir -p "$D2/run"
chmod 755 "$D2"
sed -e "s|$D/run|$D2/run|g; s|$D/log|$D2/log|; s|^ssl = yes|ssl = no|; /^ssl_/d; /pop3s/,/}/d; /imaps/,/}/d" \
    -e "s|auth_mechanisms = .*|auth_mechanisms = plain login|; s|port = $P\$|port = $P2|; s|port = $PI\$|port = $PI2|" \
    "$D/dovecot.conf" >"$D2/dovecot.conf"
spawn /usr/sbin/dovecot -F -c "$D2/dovecot.conf"
waitport $P2 || notok "the second Dovecot listens"
out=$("$UPAS" fs -x -f "/pop/localhost:$P2/alice" -m "$T/tree7" 2>&1)
check "/pop/ with neither STLS nor CRAM-MD5 offered: refused" test $? -ne 0
like "$out" "not sent in the clear" "the password is not sent in the clear"
out=$("$UPAS" fs -x -v -f "/popnotls/localhost:$P2/alice" -m "$T/tree7" 2>&1)
is "$?" 0 "/popnotls/: USER and PASS, as the name asks"
like "$(grep 'Login:' "$D2/log")" "user=<alice>, method=PLAIN" "Dovecot saw the login"

# a server cut off mid-session (a proxy that hangs up after some octets of a
# RETR): nothing half fetched, nothing twice, the next run finishes
big=$(python3 -c 'print("x" * 200000)')
printf 'From: big@example.org\nSubject: big\n\n%s\n' "$big" >"$H/Maildir/new/1000000099.M1P1.pop.test"
chown "$OWNER:$OWNER" "$H/Maildir/new/1000000099.M1P1.pop.test" 2>/dev/null
PX=$(freeport)
cat >"$T/cut.py" <<'PY'
import socket, sys, threading
port, to, limit = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
def pipe(a, b):
    try:
        while (d := a.recv(4096)): b.sendall(d)
    except OSError: pass
def serve(c):
    s = socket.create_connection(("127.0.0.1", to))
    threading.Thread(target=pipe, args=(c, s), daemon=True).start()
    n = 0
    try:
        while (d := s.recv(4096)):
            c.sendall(d); n += len(d)
            if n > limit: break
    except OSError: pass
    for x in (c, s):	# shutdown, not just close: the other thread still reads them
        try: x.shutdown(socket.SHUT_RDWR)
        except OSError: pass
        x.close()
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", port)); ls.listen(5)
while True:
    threading.Thread(target=serve, args=(ls.accept()[0],), daemon=True).start()
PY
spawn python3 "$T/cut.py" "$PX" "$P" 60000
waitport $PX
before=$(find "$U/pop.localhost.alice/cur" "$U/pop.localhost.alice/new" -type f | wc -l)
out=$("$UPAS" fs -x -f "/popnotls/localhost:$PX/alice" -m "$tree" 2>&1)
check "cut off mid-RETR: fs -x fails" test $? -ne 0
like "$out" "connection lost" "and says the connection was lost"
is "$(find "$U/pop.localhost.alice/cur" "$U/pop.localhost.alice/new" -type f | wc -l)" "$before" "nothing half fetched"
kill $pid
out=$("$UPAS" fs -x -v -f "/popnotls/localhost:$P/alice" -m "$tree" 2>&1)
like "$out" "1 fetched" "the next run fetches it, once"
check "whole" grep -qx big "$box"/*/subject

# the daemon: a new message on the server shows; a removal reaches it
spawn "$UPAS" fs -r 1 -f "/pops/localhost:$PS/alice" -m "$tree" 2>"$T/fserr"
fspid=$pid
check "the daemon fetches what came" waitfor sh -c "grep -qx fourth '$box'/*/subject"
serverput 5 "fifth"
check "and what comes, within its refresh" waitfor sh -c "grep -qx fifth '$box'/*/subject"
k=$(grep -l '^first$' "$box"/*/subject | xargs dirname)
rm -r "$k"
check "a removal reaches the server" waitfor sh -c "! grep -rq 'Subject: first' '$H/Maildir'"
# the server goes away: errors, the tree stays
kill $dvpid
sleep 0.5
before=$(ls "$box" | grep -c '^[0-9]')
serverput 6 "sixth"
sleep 2
is "$(ls "$box" | grep -c '^[0-9]')" "$before" "the server gone: the tree stays as it was"
like "$(cat "$T/fserr")" "localhost" "and fs says why"
spawn /usr/sbin/dovecot -F -c "$D/dovecot.conf"
dvpid=$pid
waitport $PS
check "the server back: the copy catches up" waitfor sh -c "grep -qx sixth '$box'/*/subject"
kill $fspid

# IMAP: the account's INBOX as a local copy, flags both ways, deletions both ways
printf 'key proto=pass service=imap server=localhost user=bob !password=bobpw\n' >>"$U/keys"
imapbox=$T/itree/imap.localhost.bob
imapc() {	# imapc PYTHON: run with M, a logged-in imaplib session on bob's INBOX
	python3 - "$PIS" "$T/ca.crt" "$1" <<-'PY'
	import imaplib, ssl, sys
	ctx = ssl.create_default_context(cafile=sys.argv[2])
	M = imaplib.IMAP4_SSL("localhost", int(sys.argv[1]), ssl_context=ctx)
	M.login("bob", "bobpw")
	M.select("INBOX")
	exec(sys.argv[3])
	M.logout()
	PY
}
out=$("$UPAS" fs -x -v -f "/imaps/localhost:$PIS/bob" -m "$T/itree" 2>&1)
is "$?" 0 "/imaps/: an IMAP account over TLS"
like "$out" "3 fetched" "its three messages fetched"
is "$(subjects "$imapbox")" "imap 1 imap 2 imap 3 " "and in the tree"
like "$(cat "$imapbox"/1/unixdate)" "Jan  2 03:04:05 UTC 2020" "arrived when the server's INTERNALDATE says"
imapc 'M.uid("STORE", M.uid("SEARCH", None, "SUBJECT", "imap 2")[1][0], "+FLAGS", r"(\Flagged)")'
out=$("$UPAS" fs -x -v -f "/imaps/localhost:$PIS/bob" -m "$T/itree" 2>&1)
like "$out" "0 fetched" "again: nothing fetched twice (UIDs)"
k=$(grep -lx 'imap 2' "$imapbox"/*/subject | xargs dirname)
is "$(cut -c4 "$k/flags")" "f" "a flag set on the server reaches the tree"
k=$(grep -lx 'imap 1' "$imapbox"/*/subject | xargs dirname)
echo +s >"$k/flags"
"$UPAS" fs -x -f "/imaps/localhost:$PIS/bob" -m "$T/itree" 2>/dev/null
out=$(imapc 'print(M.uid("FETCH", M.uid("SEARCH", None, "SUBJECT", "imap 1")[1][0], "FLAGS")[1])')
like "$out" 'Seen' "a flag set in the tree reaches the server"
k=$(grep -lx 'imap 3' "$imapbox"/*/subject | xargs dirname)
rm -r "$k"
"$UPAS" fs -x -f "/imaps/localhost:$PIS/bob" -m "$T/itree" 2>/dev/null
is "$(imapc 'print(len(M.uid("SEARCH", None, "ALL")[1][0].split()))')" 2 "a directory removed: the message expunged on the server"
imapc 'M.uid("STORE", M.uid("SEARCH", None, "SUBJECT", "imap 2")[1][0], "+FLAGS", r"(\Deleted)"); M.expunge()'
"$UPAS" fs -x -f "/imaps/localhost:$PIS/bob" -m "$T/itree" 2>/dev/null
check "a message expunged on the server leaves the tree" sh -c "! grep -qx 'imap 2' '$imapbox'/*/subject"
is "$(ls "$imapbox" | grep -c '^[0-9]')" 1 "one left"
imapc 'M.append("INBOX", r"(\Deleted)", None, b"From: o@example.org\r\nSubject: theirs\r\n\r\nx\r\n")'
"$UPAS" fs -x -f "/imaps/localhost:$PIS/bob" -m "$T/itree" 2>/dev/null
k=$(grep -lx 'imap 1' "$imapbox"/*/subject | xargs dirname)
rm -r "$k"
"$UPAS" fs -x -f "/imaps/localhost:$PIS/bob" -m "$T/itree" 2>/dev/null
is "$(imapc 'print(len(M.uid("SEARCH", None, "ALL")[1][0].split()))')" 1 "UID EXPUNGE: another client's deleted message stays"
# the daemon keeps an IDLE session: a change the server tells of syncs at once, not at the refresh
spawn "$UPAS" fs -v -r 3600 -f "/imaps/localhost:$PIS/bob" -m "$T/itree" 2>"$T/idleerr"
fspid=$pid
imapc 'M.append("INBOX", None, None, b"From: o@example.org\r\nSubject: idle 1\r\n\r\nx\r\n")'
check "IDLE: a new message on the server arrives" waitfor sh -c "grep -qx 'idle 1' '$imapbox'/*/subject"
imapc 'M.uid("STORE", M.uid("SEARCH", None, "SUBJECT", "\"idle 1\"")[1][0], "+FLAGS", r"(\Flagged)")'
k=$(grep -lx 'idle 1' "$imapbox"/*/subject | xargs dirname)
check "IDLE: a flag set on the server arrives" waitfor sh -c "cut -c4 '$k/flags' | grep -qx f"
imapc 'M.append("INBOX", None, None, b"From: o@example.org\r\nSubject: idle 2\r\n\r\nx\r\n")'
check "and again" waitfor sh -c "grep -qx 'idle 2' '$imapbox'/*/subject"
check "no errors" sh -c "! grep -Eq 'no IDLE|IDLE:|refused' '$T/idleerr'"
kill $fspid
wait $fspid 2>/dev/null
is "$?" 0 "the daemon ends cleanly on SIGTERM, nothing leaked (IDLE)"
sleep 0.2
is "$(pgrep -f "fs -v -r 3600 -f /imaps/localhost:$PIS/bob" | wc -l)" 0 "the watcher ends with the daemon"
# -C: messages come as their headers; a reader's open fetches the body; the cache keeps -C octets
big() {	# big N: a message of about 3 KB; N=2 a multipart one
	python3 - "$1" <<-'PY'
	import sys
	n = sys.argv[1]
	body = "".join("line %s of big %s, to make it long enough\r\n" % (i, n) for i in range(60))
	if n == "2":
	    msg = ("From: big@example.org\r\nSubject: big 2\r\nMIME-Version: 1.0\r\n"
	        "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
	        + body + "--b\r\nContent-Type: text/plain; name=a.txt\r\n\r\nattached\r\n--b--\r\n")
	else:
	    msg = "From: big@example.org\r\nSubject: big %s\r\n\r\n%s" % (n, body)
	print(repr(msg.encode()))
	PY
}
for n in 1 2 3; do imapc "M.append('INBOX', None, None, $(big $n))"; done
offserver() {	# offserver SUBJECT: until no message on the server has it (8 s)
	for _ in $(seq 40); do
		[ "$(imapc "print(len(M.uid('SEARCH', None, 'SUBJECT', '\"$1\"')[1][0].split()))")" = 0 ] && return 0
		sleep 0.2
	done
	return 1
}
ctree=$T/ctree/imap.localhost.bob
"$UPAS" fs -x -C 4k -f "/imaps/localhost:$PIS/bob" -m "$T/ctree" 2>/dev/null
is "$?" 64 "-C wants the daemon"
spawn "$UPAS" fs -v -C 4k -r 3600 -f "/imaps/localhost:$PIS/bob" -m "$T/ctree" 2>"$T/cerr"
fspid=$pid
check "-C: the messages show" waitfor sh -c "grep -qx 'big 3' '$ctree'/*/subject"
k1=$(grep -lx 'big 1' "$ctree"/*/subject | xargs dirname)
k2=$(grep -lx 'big 2' "$ctree"/*/subject | xargs dirname)
k3=$(grep -lx 'big 3' "$ctree"/*/subject | xargs dirname)
check "their headers only, until read (stat opens nothing)" sh -c "test \$(stat -c %s '$k1/raw') -lt 100 && test ! -s '$k1/rawbody' && test ! -e '$k2/1'"
is "$(cat "$k1/from")" "big@example.org" "the header's files are there"
check "the copy holds headers only" sh -c "test -d '$U/imap.localhost.bob' && ! grep -rqs 'line 3 of big' '$U/imap.localhost.bob'"
like "$(cat "$k1/body")" "line 59 of big 1," "a reader's open fetches the body"
check "then the directory is whole" waitfor sh -c "test -s '$k1/raw' && grep -q 'line 59 of big 1' '$k1/rawbody'"
like "$(cat "$k2/raw")" "name=a.txt" "raw of a multipart message"
check "and its parts appear" waitfor sh -c "grep -qx attached '$k2/2/body'"
check "the cache keeps -C octets: the least recently read goes back to its header" waitfor sh -c "! grep -q line '$k1/rawheader' && test ! -s '$k1/rawbody'"
like "$(cat "$k1/rawunix")" "line 59 of big 1," "and is fetched again when read"
kill $fspid
wait $fspid 2>/dev/null
is "$?" 0 "the daemon ends cleanly on SIGTERM, nothing leaked (-C)"
spawn "$UPAS" fs -C 4k -r 3600 -f "/imaps/localhost:$PIS/bob" -m "$T/ctree" 2>>"$T/cerr"
fspid=$pid
sleep 1
like "$(timeout 20 cat "$k3/body")" "line 59 of big 3," "a daemon started again leases what it left as headers"
check "nothing failed" sh -c "! grep -Eq 'refused|error|lost' '$T/cerr'"
# the server gone: a reader gets the header's file at once, and the body when it is back
k=$(for d in "$k1" "$k2"; do [ -s "$d/rawbody" ] || echo "$d"; done | head -1)
kill $dvpid
sleep 0.5
: >"$T/cerr"
t0=$(date +%s)
out=$(timeout 30 cat "$k/body")
is "$?" 0 "the server gone: the reader is let go"
check "with the header's text" sh -c "! printf '%s' '$out' | grep -q 'line 59'"
check "at once" test $(($(date +%s) - t0)) -lt 10
like "$(cat "$T/cerr")" "localhost" "and fs says why"
spawn /usr/sbin/dovecot -F -c "$D/dovecot.conf"
dvpid=$pid
waitport $PIS
sleep 1
like "$(timeout 30 cat "$k/body")" "line 59 of big" "the server back: the body comes"
for n in 4 5 6; do imapc "M.append('INBOX', None, None, $(big $n))"; done
check "new messages come as headers (IDLE)" waitfor sh -c "grep -qx 'big 6' '$ctree'/*/subject"
k4=$(grep -lx 'big 4' "$ctree"/*/subject | xargs dirname)
k5=$(grep -lx 'big 5' "$ctree"/*/subject | xargs dirname)
k6=$(grep -lx 'big 6' "$ctree"/*/subject | xargs dirname)
cats=""
for f in raw body rawbody rawunix; do timeout 30 cat "$k4/$f" >"$T/c.$f" & cats="$cats $!"; done
wait $cats
check "readers of all four files at once: each gets its whole text" \
    sh -c "for f in raw body rawbody rawunix; do grep -q 'line 59 of big 4' '$T/c.'\$f || exit 1; done"
echo "move imap.localhost.bob ${k5##*/} bigsaved" >"$T/ctree/ctl"
check "ctl move of a header-only message moves it whole" waitfor grep -q 'line 59 of big 5' "$U/bigsaved"
check "and it leaves the server" offserver "big 5"
rm -r "$k6"
check "a header-only message's directory removed: expunged on the server" offserver "big 6"
check "nothing failed" sh -c "! grep -Eq 'refused|error|lost' '$T/cerr'"
kill $fspid
wait $fspid 2>/dev/null
is "$?" 0 "the daemon ends cleanly on SIGTERM, nothing leaked (-C again)"
out=$("$UPAS" fs -x -v -f "/imaps/localhost:$PIS/bob" -m "$T/ctree" 2>&1)
like "$out" "4 fetched" "without -C the headers-only messages are fetched whole"
check "into the copy" grep -rqs 'line 3 of big 2' "$U/imap.localhost.bob"
is "$(ls "$ctree" | grep -c '^[0-9]')" 7 "each once"
# our own servers: pop3 and imap4d behind listen with TLS
printf 'carl carlpw\n' >"$UPASROOT/lib/secrets"
chmod 600 "$UPASROOT/lib/secrets"
mkdir -p "$UPASROOT/box/carl"
for k in 1 2 3; do
	printf 'From: c%s@example.org\nSubject: ours %s\n\nbody %s\n' $k $k $k | "$UNIT" mbappend "$UPASROOT/box/carl/mbox" c@example.org >/dev/null
done
chown -R "$OWNER:$OWNER" "$UPASROOT/box/carl" 2>/dev/null
OP=$(freeport)
OI=$(freeport)
spawn "$UPAS" listen -q -c "$T/srv.crt" -k "$T/srv.key" tcp!127.0.0.1!$OP pop3
spawn "$UPAS" listen -q -c "$T/srv.crt" -k "$T/srv.key" tcp!127.0.0.1!$OI imap4d
waitport $OP && waitport $OI || notok "our servers listen"
printf 'key proto=pass service=pop3 server=localhost user=carl !password=carlpw\nkey proto=pass service=imap server=localhost user=carl !password=carlpw\n' >>"$U/keys"
out=$("$UPAS" fs -x -v -f "/pops/localhost:$OP/carl" -m "$T/otree" 2>&1)
like "$out" "3 fetched" "our pop3: the account fetched"
k=$(grep -lx 'ours 1' "$T/otree/pop.localhost.carl"/*/subject | xargs dirname)
rm -r "$k"
"$UPAS" fs -x -f "/pops/localhost:$OP/carl" -m "$T/otree" 2>/dev/null
is "$(grep -c '^From ' "$UPASROOT/box/carl/mbox")" 2 "our pop3: a directory removed deletes the message"
out=$("$UPAS" fs -x -v -f "/imaps/localhost:$OI/carl" -m "$T/otree" 2>&1)
like "$out" "2 fetched" "our imap4d: the account fetched"
k=$(grep -lx 'ours 2' "$T/otree/imap.localhost.carl"/*/subject | xargs dirname)
echo +f >"$k/flags"
"$UPAS" fs -x -f "/imaps/localhost:$OI/carl" -m "$T/otree" 2>/dev/null
check "our imap4d: a flag set in the tree reaches the mailbox" grep -q '^X-Status: F' "$UPASROOT/box/carl/mbox"
k=$(grep -lx 'ours 3' "$T/otree/imap.localhost.carl"/*/subject | xargs dirname)
rm -r "$k"
"$UPAS" fs -x -f "/imaps/localhost:$OI/carl" -m "$T/otree" 2>/dev/null
is "$(grep -c '^From ' "$UPASROOT/box/carl/mbox")" 1 "our imap4d: a directory removed expunges the message"
spawn "$UPAS" fs -r 3600 -f "/imaps/localhost:$OI/carl" -m "$T/otree" 2>/dev/null
fspid=$pid
sleep 1
printf 'From: c4@example.org\nSubject: ours 4\n\nbody 4\n' | "$UNIT" mbappend "$UPASROOT/box/carl/mbox" c@example.org >/dev/null
check "our imap4d's IDLE: a new message arrives at once" waitfor sh -c "grep -qx 'ours 4' '$T/otree/imap.localhost.carl'/*/subject"
kill $fspid

out=$("$UPAS" fs -x -f "/imap/localhost:$PI2/bob" -m "$T/itree2" 2>&1)
check "/imap/ with neither STARTTLS nor CRAM-MD5: refused" test $? -ne 0
like "$out" "not sent in the clear" "the password is not sent in the clear"
done_testing
