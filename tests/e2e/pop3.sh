#!/bin/sh
# pop3 under listen with real clients: python poplib (APOP, USER/PASS, AUTH
# PLAIN and CRAM-MD5, CAPA before and after STLS, sizes, TOP, RSET, SYNC,
# UIDL stability on mbox, Maildir and mdir), fetchmail (UIDL keep mode, then
# delete mode over STLS with a CA it trusts), getmail6, curl pop3:// with
# --ssl-reqd and pop3s:// through listen -c, mutt in tmux; deliveries during a
# deleting session lose nothing; STLS injection; bad input of every command;
# a dropped or kill -9'd session deletes nothing; failed logins wait longer
# each time and end the session.
. "$(dirname "$0")/lib.sh"
setup
R=$UPASROOT
cp -r "$top/configs/root/lib/." "$R/lib/"
users="alice bob dave carol ud lpm lpd lpx fm gm cu mu kl sz bad"
: >"$R/lib/secrets"
for u in $users; do
	[ "$u" = carol ] || printf '%s %spw\n' "$u" "$u" >>"$R/lib/secrets"
	mkdir -p "$R/box/$u"
done
printf 'carol {crypt}%s\n' "$(openssl passwd -6 -salt popsalt carolpw)" >>"$R/lib/secrets"
chmod 600 "$R/lib/secrets"
# bob, lpd and sz hold a Maildir; dave and lpx an mdir; the rest an mbox
for u in bob lpd sz; do mkdir -p "$R/box/$u/mbox/cur" "$R/box/$u/mbox/new" "$R/box/$u/mbox/tmp"; done
for u in dave lpx; do mkdir -p "$R/box/$u/mbox"; done
OWNER=$(id -u)
if [ "$OWNER" = 0 ]; then
	# as root the session becomes the owner of box/USER, never root
	OWNER=4242
	chmod 755 "$T"
fi

deliver() {	# deliver USER SUBJECT: through upas send
	printf 'From: sender@example.net\nSubject: %s\n\nbody of %s\n' "$2" "$2" | "$UPAS" send "$1"
}
# a hand-made mbox for ud: two byte-identical messages among others
for s in one two dup dup three; do
	printf 'From sender@example.net Mon Jan  2 15:04:05 2006\nFrom: sender@example.net\nSubject: %s\n\nbody\n\n' "$s"
done >"$R/box/ud/mbox"
# hand-made Maildir files for sz: CRLF with no final newline, dots, From, a bare CR, no body
printf 'Subject: crlf\r\n\r\nline one\r\n.dot\r\n..two dots\r\nlast without newline' >"$R/box/sz/mbox/new/1700000001.A.sz"
printf 'Subject: lf\n\nFrom the start\n.\n.x\nend\n' >"$R/box/sz/mbox/new/1700000002.B.sz"
printf 'Subject: cr\n\na\rb\n\n\n' >"$R/box/sz/mbox/new/1700000003.C.sz"
printf 'Subject: nobody\n' >"$R/box/sz/mbox/new/1700000004.D.sz"
[ "$(id -u)" = 0 ] && chown -R $OWNER:$OWNER $(for u in $users; do echo "$R/box/$u"; done)
for i in 1 2 3; do deliver alice "alice-$i"; done
for i in 1 2 3 4; do deliver bob "bob-$i"; deliver dave "dave-$i"; done
for i in 1 2; do deliver carol "carol-$i"; deliver kl "kl-$i"; done
for i in 1 2 3; do deliver fm "fm-$i"; deliver gm "gm-$i"; deliver cu "cu-$i"; deliver mu "mu-$i"; done
deliver bad "bad-1"

mkca ca
# the server's certificate names pop.test and 127.0.0.1, signed by the CA
openssl req -new -newkey rsa:2048 -nodes -subj "/CN=pop.test" -keyout "$T/srv.key" -out "$T/srv.csr" 2>/dev/null
printf 'subjectAltName=DNS:pop.test,IP:127.0.0.1\n' >"$T/srv.ext"
openssl x509 -req -in "$T/srv.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" -CAcreateserial -days 2 \
	-extfile "$T/srv.ext" -out "$T/srv.crt" 2>/dev/null

# P: plaintext passwords allowed, POP-before-SMTP; PS: STLS, no plaintext
# passwords before it; PI: implicit TLS by listen -c
P=$(freeport)
spawn "$UPAS" listen -q -p 50 tcp!127.0.0.1!$P pop3 -p -r -
LPID=$pid
PS=$(freeport)
spawn "$UPAS" listen -q -p 50 tcp!127.0.0.1!$PS pop3 -t "$T/srv.crt" -K "$T/srv.key"
PI=$(freeport)
spawn "$UPAS" listen -q -p 50 -c "$T/srv.crt" -k "$T/srv.key" tcp!127.0.0.1!$PI pop3 -p
waitport $P && waitport $PS && waitport $PI || notok "the servers listen"

# helpers for the python snippets: PYTHONPATH=$T
cat >"$T/pp.py" <<'PY'
import poplib, ssl, sys
H = "127.0.0.1"
def pop(port, user=None):
    p = poplib.POP3(H, int(port), timeout=20)
    if user:
        p.user(user); p.pass_(user + "pw")
    return p
def subject(lines):
    for l in lines:
        if l.lower().startswith(b"subject: "):
            return l[9:].decode()
        if not l:
            break
    return "?"
def subjects(p):
    return [subject(p.top(i, 0)[1]) for i in range(1, p.stat()[0] + 1)]
def uidls(p):
    return [l.split()[1].decode() for l in p.uidl()[1]]
def ctx():
    c = ssl.create_default_context(cafile=sys.argv[-1])
    return c
PY
export PYTHONPATH="$T"

# --- failed logins: 1, 2, 4 seconds, then the session ends (runs meanwhile)
python3 - $PI "$T/ca.crt" >"$T/fails.out" 2>&1 <<'PY' &
import poplib, time, sys
from pp import *
p = poplib.POP3_SSL(H, int(sys.argv[1]), context=ctx(), timeout=30)
out = []
for i in range(3):
    t = time.monotonic()
    try:
        p.user("alice"); p.pass_("wrong")
        out.append("accepted")
    except poplib.error_proto as e:
        out.append("%s/%d" % (e.args[0].decode().split(" ")[1], int(time.monotonic() - t)))
try:
    p.noop(); out.append("open")
except (poplib.error_proto, OSError, EOFError):
    out.append("closed")
print(" ".join(out))
PY
FAILPID=$!

# --- CAPA and the ways to log in
out=$(python3 - $P $PS "$T/ca.crt" <<'PY'
import base64, hmac, poplib, sys
from pp import *
P, PS = sys.argv[1], sys.argv[2]
def capa(p):
    return " ".join(sorted(k + ("=" + ",".join(v) if v else "") for k, v in p.capa().items()))
def err(f, *a):
    try:
        return f(*a).decode()
    except poplib.error_proto as e:
        return e.args[0].decode()
p = pop(P)
print("greeting:", "timestamp" if p.timestamp.search(p.welcome) else "none")
print("capa P:", capa(p))
print("apop:", err(p.apop, "alice", "alicepw"))
print("capa after login:", capa(p))
p.quit()
p = pop(P)
print("user:", err(p.user, "alice"), err(p.pass_, "alicepw"))
p.quit()
p = pop(P)
print("plain:", err(p._shortcmd, "AUTH PLAIN " + base64.b64encode(b"\0alice\0alicepw").decode()))
p.quit()
p = pop(P)
p._putcmd("AUTH PLAIN")
chal = p._getline()[0]
p._putcmd(base64.b64encode(b"alice\0alice\0alicepw").decode())
print("plain challenged:", chal.decode(), err(p._getresp))
p.quit()
p = pop(P)
p._putcmd("AUTH CRAM-MD5")
chal = p._getline()[0]
d = hmac.new(b"alicepw", base64.b64decode(chal[2:]), "md5").hexdigest()
p._putcmd(base64.b64encode(("alice " + d).encode()).decode())
print("cram-md5:", err(p._getresp))
p.quit()
p = pop(P)
print("crypt user:", err(p.user, "carol"), err(p.pass_, "carolpw"), p.stat()[0])
p.quit()
p = pop(P)
print("crypt apop:", err(p.apop, "carol", "carolpw"))
p.close()
p = pop(PS)
print("capa PS:", capa(p))
print("user in the clear:", err(p.user, "alice"))
print("plain in the clear:", err(p._shortcmd, "AUTH PLAIN " + base64.b64encode(b"\0alice\0alicepw").decode()))
print("stls:", err(p.stls, ctx()))
print("capa PS after stls:", capa(p))
print("user after stls:", err(p.user, "alice"), err(p.pass_, "alicepw"), p.stat()[0])
p.quit()
PY
)
like "$out" 'greeting: timestamp' "the greeting carries an APOP timestamp"
like "$out" 'capa P: AUTH-RESP-CODE IMPLEMENTATION=upas PIPELINING RESP-CODES SASL=CRAM-MD5,PLAIN,LOGIN TOP UIDL USER$' \
	"CAPA with -p: USER and SASL PLAIN, no STLS without a certificate"
like "$out" 'apop: \+OK alice has 3 messages' "APOP logs in"
like "$out" 'capa after login: AUTH-RESP-CODE IMPLEMENTATION=upas PIPELINING RESP-CODES SASL=CRAM-MD5,PLAIN,LOGIN TOP UIDL USER$' \
	"CAPA says the same after login"
like "$out" 'user: \+OK now PASS \+OK alice has 3' "USER/PASS logs in"
like "$out" 'plain: \+OK alice has 3' "AUTH PLAIN with an initial response logs in"
like "$out" 'plain challenged: \+  \+OK alice has 3' "AUTH PLAIN after an empty challenge logs in (authzid = authcid)"
like "$out" 'cram-md5: \+OK alice has 3' "AUTH CRAM-MD5 logs in"
like "$out" 'crypt user: \+OK now PASS \+OK carol has 2 messages 2' "a {crypt} secret serves USER/PASS"
like "$out" 'crypt apop: -ERR \[AUTH\]' "but not APOP"
like "$out" 'capa PS: AUTH-RESP-CODE IMPLEMENTATION=upas PIPELINING RESP-CODES SASL=CRAM-MD5 STLS TOP UIDL$' \
	"CAPA without -p before TLS: STLS, SASL CRAM-MD5 only, no USER"
like "$out" 'user in the clear: -ERR \[AUTH\] plaintext' "USER is refused in the clear"
like "$out" 'plain in the clear: -ERR \[AUTH\] plaintext' "AUTH PLAIN is refused in the clear"
like "$out" 'capa PS after stls: AUTH-RESP-CODE IMPLEMENTATION=upas PIPELINING RESP-CODES SASL=CRAM-MD5,PLAIN,LOGIN TOP UIDL USER$' \
	"CAPA after STLS: USER and PLAIN, no STLS"
like "$out" 'user after stls: \+OK now PASS \+OK alice has 3 messages 3' "USER/PASS works under TLS"
check "POP-before-SMTP: -r made ratify/trusted/127.0.0.1#32" test -f "$R/ratify/trusted/127.0.0.1#32"
if [ "$(id -u)" = 0 ]; then
	is "$(stat -c %u "$R/box/alice/.mbox.idx" 2>/dev/null)" $OWNER "the session ran as the box owner (its index is theirs)"
fi

# --- sizes are what RETR sends; TOP; content as stored
out=$(python3 - $P <<'PY'
import sys
from pp import *
for user in ("sz", "alice", "bob", "dave"):
    p = pop(sys.argv[1], user)
    sizes = dict((int(a), int(b)) for a, b in (l.split() for l in p.list()[1]))
    bad = []
    for i, size in sizes.items():
        lines, octets = p.retr(i)[1:]
        if octets != size or sum(len(l) + 2 for l in lines) != size:
            bad.append((i, size, octets))
    print(user, len(sizes), "bad", bad, "stat", p.stat()[1] == sum(sizes.values()))
    if user == "sz":
        print("crlf", p.retr(1)[1])
        print("lf", p.retr(2)[1])
        print("cr", p.retr(3)[1])
        print("top0", p.top(1, 0)[1])
        print("top2", p.top(1, 2)[1])
        print("top9", p.top(4, 9)[1])
    p.quit()
PY
)
for u in sz alice bob dave; do
	like "$out" "^$u [0-9]+ bad \\[\\] stat True" "LIST sizes of $u's messages are the octets RETR sends"
done
like "$out" "crlf \\[b'Subject: crlf', b'', b'line one', b'.dot', b'..two dots', b'last without newline'\\]" \
	"CRLF kept single, dots stuffed, a last line without newline ended"
like "$out" "lf \\[b'Subject: lf', b'', b'From the start', b'.', b'.x', b'end'\\]" "a lone dot line is stuffed, not an end"
like "$out" "cr \\[b'Subject: cr', b'', b'a\\\\rb', b'', b''\\]" "a bare CR passes, blank lines kept"
like "$out" "top0 \\[b'Subject: crlf', b''\\]" "TOP n 0: the header and its blank line"
like "$out" "top2 \\[b'Subject: crlf', b'', b'line one', b'.dot'\\]" "TOP n 2: two body lines"
like "$out" "top9 \\[b'Subject: nobody'\\]" "TOP of a message without a body"

# --- UIDL: stable across sessions, deletions, rewrites and deliveries
for u in ud bob dave; do
	out=$(python3 - $P $u "$R/box/$u/mbox" <<'PY'
import os, subprocess, sys
from pp import *
P, user, box = sys.argv[1:4]
p = pop(P, user); u1 = uidls(p); s1 = subjects(p); p.quit()
ok = len(set(u1)) == len(u1) and all(0 < len(x) <= 70 and all(0x21 <= ord(c) <= 0x7e for c in x) for x in u1)
print("unique", ok, len(u1))
p = pop(P, user); print("again", uidls(p) == u1); p.quit()
p = pop(P, user); p.dele(1); p.quit()
p = pop(P, user); u3 = uidls(p); print("after dele", u3 == u1[1:], subjects(p) == s1[1:]); p.retr(2); p.quit()
if os.path.isfile(box):
    print("seen", open(box).read().count("Status: RO"))
p = pop(P, user); print("after rewrite", uidls(p) == u3); p.quit()
PY
)
	like "$out" 'unique True [0-9]' "$u: UIDLs are unique, 1-70 printable characters"
	like "$out" 'again True' "$u: the same UIDLs in the next session"
	like "$out" 'after dele True True' "$u: UIDLs unchanged after another message is deleted"
	like "$out" 'after rewrite True' "$u: UIDLs unchanged after the retrieved message is marked seen"
	if [ $u = ud ]; then
		like "$out" 'unique True 5' "ud: two byte-identical messages get two UIDLs"
		like "$out" 'seen 1' "ud: the retrieved message is marked seen (Status: RO) at QUIT"
	fi
done
like "$(ls "$R/box/bob/mbox/cur" | sed 's/.*:2,/flags=/' | sort -u)" '^flags=S$' "Maildir: retrieved messages moved to cur/ with S"
deliver ud "four"
out=$(python3 - $P <<'PY'
import sys
from pp import *
p = pop(sys.argv[1], "ud"); u = uidls(p); s = subjects(p); p.quit()
print(len(u), s)
PY
)
like "$out" "^5 \\['two', 'dup', 'dup', 'three', 'four'\\]" "ud: after a rewrite and a delivery the messages are all there, in order"

# --- RSET, SYNC, TOP/RETR of deleted messages
out=$(python3 - $P "$R/box/alice/mbox" <<'PY'
import poplib, sys
from pp import *
def err(f, *a):
    try:
        return f(*a).decode()
    except poplib.error_proto as e:
        return e.args[0].decode()
p = pop(sys.argv[1], "alice")
n = p.stat()[0]
p.dele(1); p.dele(2)
print("stat after dele", p.stat()[0], "of", n)
print("retr deleted:", err(p.retr, 1))
print("rset:", err(p.rset), p.stat()[0])
p.dele(1)
print("sync:", err(p._shortcmd, "SYNC"), "on disk", open(sys.argv[2]).read().count("\nSubject: "))
print("after sync:", p.stat()[0], err(p.rset), p.stat()[0], err(p.retr, 1), err(p.list, 2))
print("list:", [l.decode() for l in p.list()[1]])
p.quit()
PY
)
like "$out" 'stat after dele 1 of 3' "DELE hides messages from STAT"
like "$out" 'retr deleted: -ERR message 1 is deleted' "RETR of a deleted message is refused"
like "$out" 'rset: \+OK 3 messages 3' "RSET brings them back"
like "$out" 'sync: \+OK synced on disk 2' "SYNC removes the deleted message at once"
like "$out" 'after sync: 2 \+OK 2 messages 2 -ERR message 1 is deleted \+OK 2 [0-9]+' \
	"after SYNC the numbers stay and RSET cannot undo it"
like "$out" "list: \\['2 [0-9]+', '3 [0-9]+'\\]" "LIST keeps the numbers of the session"

# --- deliveries during a deleting session: the session sees the five that
# were there at login, deletes them; twenty arrive while it runs, twenty more
# while it quits; all forty are kept
for u in lpm lpd lpx; do
	for i in 0 1 2 3 4; do deliver $u "pre-$i"; done
	out=$(python3 - $P $u "$UPAS" <<'PY'
import subprocess, sys, time
from pp import *
P, user, upas = sys.argv[1:4]
def loop(first):
    sh = 'i=%d; while [ $i -lt %d ]; do printf "Subject: loop-$i\\n\\nbody\\n" | "$0" send %s; i=$((i + 1)); done' % (first, first + 20, user)
    return subprocess.Popen(["sh", "-c", sh, upas])
p = pop(P, user)
n = p.stat()[0]
a = loop(0)
got = []
for i in range(1, n + 1):
    got.append(subject(p.retr(i)[1]))
    p.dele(i)
a.wait()
print("during", p.stat()[0], [l.decode() for l in p.list()[1]])
b = loop(20)
time.sleep(0.05)
p.quit()
b.wait()
p = pop(P, user); left = subjects(p); p.quit()
print("got", got)
print("left", len(left), sorted(left) == sorted("loop-%d" % i for i in range(40)))
PY
)
	like "$out" "got \\['pre-0', 'pre-1', 'pre-2', 'pre-3', 'pre-4'\\]" "$u: the session retrieves the messages of login time"
	like "$out" "during 0 \\[\\]" "$u: deliveries during the session are not shown in it"
	like "$out" "left 40 True" "$u: all 40 messages delivered during the session and its QUIT are kept, once"
done

# --- STLS: commands pipelined behind it are thrown away
out=$(python3 - $PS "$T/ca.crt" <<'PY'
import socket, sys
from pp import *
s = socket.create_connection((H, int(sys.argv[1])), 10)
f = s.makefile("rb")
f.readline()
s.sendall(b"STLS\r\nUSER alice\r\nCAPA\r\n")
print(f.readline().decode().strip())
t = ctx().wrap_socket(s, server_hostname="pop.test")
tf = t.makefile("rb")
t.sendall(b"NOOP\r\nPASS alicepw\r\nQUIT\r\n")
print(" | ".join(tf.readline().decode().strip() for i in range(3)))
PY
)
like "$out" '^\+OK begin TLS' "STLS is answered"
like "$out" '\+OK \| -ERR USER first \| \+OK' "what was pipelined after STLS never ran"

# --- bad input of every command: an -ERR each, nothing changes, the session goes on
out=$(python3 - $P <<'PY'
import socket, sys
from pp import *
def session(cmds, login=None):
    s = socket.create_connection((H, int(sys.argv[1])), 10)
    f = s.makefile("rb")
    f.readline()
    if login:
        s.sendall(b"USER %s\r\nPASS %spw\r\n" % (login, login))
        f.readline(); f.readline()
    out = []
    try:
        for c in cmds + [b"NOOP"]:
            s.sendall(c + b"\r\n")
            out.append(f.readline().decode().strip())
    except OSError:
        out.append("<closed>")
    return out
pre = [b"STAT", b"RETR 1", b"PASS x", b"USER", b"USER a b", b"APOP", b"APOP bad", b"APOP bad xyz",
       b"AUTH FOO", b"AUTH CRAM-MD5 abc", b"AUTH PLAIN !!!!", b"AUTH PLAIN a b", b"STLS",
       b"CAPA x", b"X" * 600, b"NOOP\0", b"", b"SYNC"]
print("pre", session(pre))
post1 = [b"RETR", b"RETR 0", b"RETR 99", b"RETR x", b"RETR -1", b"RETR 1 2", b"RETR +1", b"TOP 1",
         b"TOP 1 x", b"TOP x 1", b"TOP 1 -1", b"DELE", b"DELE 9999999999", b"LIST 0", b"UIDL 12x"]
print("post1", session(post1, b"bad"))
post2 = [b"STAT 1", b"RSET x", b"SYNC x", b"QUIT x", b"USER bad", b"PASS badpw", b"APOP bad " + b"0" * 32,
         b"AUTH PLAIN", b"STLS", b"NOOP 1", b"LIST 1 2", b"UIDL 0", b"DELE 1 ", b"RETR\t1", b"XYZZY"]
print("post2", session(post2, b"bad"))
bad = session([b"XYZZY"] * 25)
print("limit", bad[19], bad[20])
PY
)
like "$(echo "$out" | grep '^pre')" "^pre \\[('-ERR [^']*', ){18}'\\+OK'\\]$" "before login: every bad command gets -ERR, NOOP still works"
like "$(echo "$out" | grep '^post1')" "^post1 \\[('-ERR [^']*', ){15}'\\+OK'\\]$" "after login: bad message numbers and arguments get -ERR"
like "$(echo "$out" | grep '^post2')" "^post2 \\[('-ERR [^']*', ){12}'\\+OK message 1 deleted', '-ERR [^']*', '-ERR [^']*', '\\+OK'\\]$" \
	"after login: wrong arguments and commands of the other state get -ERR"
like "$out" "limit -ERR unknown command -ERR too many bad commands" "20 bad commands end the session"
like "$out" "'-ERR line too long'" "an overlong line is refused"
like "$out" "'-ERR NUL or CR in command'" "a NUL in a command is refused"
out=$(python3 -c "
from pp import *
p = pop($P, 'bad'); print(p.stat()[0], subjects(p)); p.quit()")
is "$out" "1 ['bad-1']" "the bad sessions changed nothing (their DELE went without QUIT)"

# --- a dropped session and a kill -9'd one delete nothing
out=$(python3 - $P $LPID <<'PY'
import os, signal, socket, sys, time
from pp import *
p = pop(sys.argv[1], "kl")
n = p.stat()[0]
for i in range(1, n + 1):
    p.dele(i)
p.sock.close()
time.sleep(0.3)
p = pop(sys.argv[1], "kl")
print("dropped", n, p.stat()[0])
for i in range(1, n + 1):
    p.dele(i)
kids = []
for t in os.listdir("/proc/%s/task" % sys.argv[2]):
    kids += open("/proc/%s/task/%s/children" % (sys.argv[2], t)).read().split()
for k in kids:
    try:
        os.kill(int(k), signal.SIGKILL)
    except ProcessLookupError:
        pass
time.sleep(0.3)
p = pop(sys.argv[1], "kl")
print("killed", len(kids), p.stat()[0])
p.quit()
PY
)
like "$out" 'dropped 2 2' "a connection dropped without QUIT deletes nothing"
like "$out" 'killed [1-9][0-9]* 2' "kill -9 of the session deletes nothing"

# --- fetchmail: UIDL keep mode, then delete mode over STLS with the CA
fetch() {	# fetch RCFILE: fetchmail's exit status (0 mail, 1 none)
	HOME=$T FETCHMAILHOME=$T fetchmail -v --nosyslog -f "$1" >>"$T/fm.log" 2>&1
	echo $?
}
cat >"$T/fmrc" <<EOF
set idfile "$T/fm.ids"
poll 127.0.0.1 port $P protocol pop3 uidl
	user fm password fmpw keep sslproto '' mda "cat >>$T/fm.out"
EOF
cat >"$T/fmrc2" <<EOF
poll 127.0.0.1 port $PS protocol pop3
	user fm password fmpw fetchall nokeep sslproto 'tls1.2+' sslcommonname pop.test sslcertck sslcertfile "$T/ca.crt" mda "cat >>$T/fm2.out"
EOF
chmod 600 "$T/fmrc" "$T/fmrc2"
if command -v fetchmail >/dev/null 2>&1; then
	st=$(fetch "$T/fmrc")
	is "$st $(grep -c '^Subject: fm-' "$T/fm.out")" "0 3" "fetchmail keep: three messages"
	st=$(fetch "$T/fmrc")
	is "$st $(grep -c '^Subject: fm-' "$T/fm.out")" "1 3" "fetchmail keep again: nothing new by UIDL"
	deliver fm fm-4
	st=$(fetch "$T/fmrc")
	is "$st $(grep '^Subject: fm-' "$T/fm.out" | tr '\n' ' ')" "0 Subject: fm-1 Subject: fm-2 Subject: fm-3 Subject: fm-4 " \
		"fetchmail keep: only the new message"
	st=$(fetch "$T/fmrc2")
	is "$st $(grep -c '^Subject: fm-' "$T/fm2.out")" "0 4" "fetchmail over STLS, certificate checked, deletes all four"
	like "$(grep -i 'STLS' "$T/fm.log")" 'STLS' "fetchmail used STLS"
	is "$(grep -c '^From ' "$R/box/fm/mbox")" 0 "the mailbox is empty"
else
	notok "fetchmail is not installed (scripts/deps.sh test)"
fi

# --- getmail6 (it refuses to deliver as root: it runs as nobody)
mkdir -p "$T/gm" "$T/gmout/cur" "$T/gmout/new" "$T/gmout/tmp"
cat >"$T/gm/getmailrc" <<EOF
[retriever]
type = SimplePOP3Retriever
server = 127.0.0.1
port = $P
username = gm
password = gmpw
[destination]
type = Maildir
path = $T/gmout/
[options]
delete = true
read_all = true
verbose = 0
EOF
if command -v getmail >/dev/null 2>&1; then
	as=""
	if [ "$(id -u)" = 0 ]; then
		chown -R 65534 "$T/gm" "$T/gmout"
		as="setpriv --reuid=65534 --regid=65534 --clear-groups"
	fi
	out=$(HOME=$T $as getmail --getmaildir "$T/gm" --rcfile getmailrc 2>&1); st=$?
	is "$st $(cat "$T/gmout/new/"* 2>/dev/null | grep -c '^Subject: gm-')" "0 3" "getmail6 retrieves three messages $out"
	is "$(grep -c '^From ' "$R/box/gm/mbox")" 0 "and deletes them"
else
	notok "getmail6 is not installed (scripts/deps.sh test)"
fi

# --- curl: STLS with --ssl-reqd, implicit TLS, and refusal without TLS
out=$(curl -sS --max-time 10 --ssl-reqd --cacert "$T/ca.crt" -u cu:cupw "pop3://127.0.0.1:$PS/" 2>&1)
like "$(echo "$out" | tr -d '\r' | tr '\n' ' ')" '^1 [0-9]+ 2 [0-9]+ 3 [0-9]+ $' "curl --ssl-reqd lists over STLS"
out=$(curl -sS --max-time 10 --ssl-reqd --cacert "$T/ca.crt" -u cu:cupw "pop3://127.0.0.1:$PS/2" 2>&1)
like "$out" 'Subject: cu-2' "curl retrieves message 2 over STLS"
out=$(curl -sS --max-time 10 --cacert "$T/ca.crt" -u cu:cupw "pop3s://127.0.0.1:$PI/3" 2>&1)
like "$out" 'Subject: cu-3' "curl pop3s:// retrieves through listen -c"
out=$(curl -sS --max-time 10 --ssl-reqd -u cu:cupw "pop3://127.0.0.1:$P/" 2>&1); st=$?
check "curl --ssl-reqd refuses a server without STLS (exit $st)" test "$st" != 0
out=$(curl -sS --max-time 10 --cacert "$T/ca.crt" -u cu:cupw -X 'DELE 1' -I "pop3s://127.0.0.1:$PI/" 2>&1); st=$?
is "$st $(grep -c '^From ' "$R/box/cu/mbox")" "0 2" "curl DELE through pop3s:// removes one message $out"

# --- mutt in tmux: reads the POP mailbox, deletes one, syncs
printf 'set folder=%s\nset pop_pass=mupw\nset ssl_starttls=no\nset ssl_force_tls=no\nset sort=mailbox-order\nset delete=yes\nset mail_check=0\n' "$T" >"$T/muttrc"
if command -v mutt >/dev/null 2>&1 && command -v tmux >/dev/null 2>&1; then
	tmux -L "pop$$" new-session -d -x 160 -y 30 "HOME=$T mutt -n -F $T/muttrc -f pop://mu@127.0.0.1:$P/" 2>/dev/null
	screen=""
	for i in $(seq 50); do
		screen=$(tmux -L "pop$$" capture-pane -p 2>/dev/null)
		printf '%s' "$screen" | grep -q 'Msgs:3' && break
		sleep 0.1
	done
	like "$screen" 'Msgs:3 ' "mutt shows three messages"
	like "$screen" 'mu-2' "with their subjects"
	tmux -L "pop$$" send-keys 'd' '$' 2>/dev/null
	for i in $(seq 50); do
		[ "$(grep -c '^From ' "$R/box/mu/mbox")" = 2 ] && break
		sleep 0.1
	done
	is "$(grep '^Subject: ' "$R/box/mu/mbox" | tr '\n' ' ')" "Subject: mu-2 Subject: mu-3 " "mutt's deletion reached the mailbox"
	tmux -L "pop$$" send-keys 'q' 2>/dev/null
	sleep 0.2
	tmux -L "pop$$" kill-server 2>/dev/null
else
	notok "mutt or tmux is not installed (scripts/deps.sh test)"
fi

# --- -a: preauthenticated on a mailbox, on stdin and stdout
out=$(printf 'STAT\r\nUSER alice\r\nQUIT\r\n' | "$UPAS" pop3 -a "$R/box/carol/mbox" 2>&1 | tr -d '\r' | tr '\n' '|')
like "$out" '^\+OK [^|]* POP3 server ready\|\+OK 2 [0-9]+\|-ERR already logged in\|\+OK' "-a serves the mailbox without a login"

# --- -d: the conversation, without the password
out=$(printf 'USER alice\r\nPASS alicepw\r\nSTAT\r\nQUIT\r\n' | "$UPAS" pop3 -p -d "$T/debug" 2>&1 | tr -d '\r' | tr '\n' '|')
like "$out" '\+OK now PASS\|\+OK alice has [0-9]+ messages\|\+OK [0-9]+ [0-9]+\|\+OK' "a session on stdin and stdout"
like "$(tr '\n' '|' <"$T/debug")" '< USER alice\|[^|]*> \+OK now PASS\|[^|]*< PASS\|' "-d logs the conversation"
check "but not the password" sh -c "! grep -q alicepw '$T/debug'"

wait $FAILPID
is "$(cat "$T/fails.out")" "[AUTH]/1 [AUTH]/2 [AUTH]/4 closed" "failed logins wait 1, 2, 4 seconds, then the session ends"

check "the log holds no sanitizer report" sh -c "! grep -Eq 'Sanitizer|runtime error' '$R/log/pop3'"

done_testing
