#!/bin/sh
# imap4d under listen, driven by python imaplib and raw sockets: greeting and
# capabilities, LOGINDISABLED until STARTTLS, LOGIN, AUTHENTICATE PLAIN with
# SASL-IR and CRAM-MD5; SELECT/EXAMINE on mbox, Maildir and mdir INBOXes;
# FETCH items, STORE flags and keywords as the mailbox shows them, APPEND
# with flags and date (APPENDUID), COPY (COPYUID), MOVE, EXPUNGE, UID
# EXPUNGE; UIDs and UIDVALIDITY across sessions and deliveries; \Recent in
# exactly one session; two sessions seeing each other's changes; IDLE pushing
# EXISTS, EXPUNGE and FLAGS; SEARCH; LIST/LSUB/CREATE/DELETE/RENAME/
# SUBSCRIBE/STATUS and refused names; hostile input of every kind.
. "$(dirname "$0")/lib.sh"
setup
R=$UPASROOT
cp -r "$top/configs/root/lib/." "$R/lib/"
users="alice bob dave carol eve fay gus hal"
: >"$R/lib/secrets"
for u in $users; do
	printf '%s %spw\n' "$u" "$u" >>"$R/lib/secrets"
	mkdir -p "$R/box/$u"
done
chmod 600 "$R/lib/secrets"
# bob holds a Maildir, dave an mdir, the rest an mbox
mkdir -p "$R/box/bob/mbox/cur" "$R/box/bob/mbox/new" "$R/box/bob/mbox/tmp" "$R/box/dave/mbox"
OWNER=$(id -u)
if [ "$OWNER" = 0 ]; then
	OWNER=4242
	chmod 755 "$T"
	chown -R $OWNER:$OWNER $(for u in $users; do echo "$R/box/$u"; done)
fi
deliver() {	# deliver USER SUBJECT
	printf 'From: Sender <sender@example.net>\nTo: %s@example.com\nSubject: %s\nMessage-ID: <%s.%s@example.net>\n\nbody of %s\n' \
		"$1" "$2" "$2" "$1" "$2" | "$UPAS" send "$1"
}
for u in alice bob dave carol fay gus hal; do
	for i in 1 2 3; do deliver $u "$u-$i"; done
done

mkca ca
openssl req -new -newkey rsa:2048 -nodes -subj "/CN=imap.test" -keyout "$T/srv.key" -out "$T/srv.csr" 2>/dev/null
printf 'subjectAltName=DNS:imap.test,IP:127.0.0.1\n' >"$T/srv.ext"
openssl x509 -req -in "$T/srv.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" -CAcreateserial -days 2 \
	-extfile "$T/srv.ext" -out "$T/srv.crt" 2>/dev/null
# P: plaintext passwords allowed; PS: STARTTLS required for them; PI: implicit TLS
P=$(freeport)
spawn "$UPAS" listen -q -p 50 tcp!127.0.0.1!$P imap4d -p -d "$T/debug"
PS=$(freeport)
spawn "$UPAS" listen -q -p 50 tcp!127.0.0.1!$PS imap4d -t "$T/srv.crt" -K "$T/srv.key"
PI=$(freeport)
spawn "$UPAS" listen -q -p 50 -c "$T/srv.crt" -k "$T/srv.key" tcp!127.0.0.1!$PI imap4d -p
waitport $P && waitport $PS && waitport $PI || notok "the servers listen"

cat >"$T/it.py" <<'PY'
import imaplib, os, re, socket, ssl, sys, time
H = "127.0.0.1"
R = os.environ["UPASROOT"]
def res(cond, desc, detail=""):
    print(("ok|" if cond else "notok|") + desc + ("|" + str(detail)[:600] if not cond else ""), flush=True)
def imap(port, user=None):
    m = imaplib.IMAP4(H, int(port), timeout=20)
    if user:
        m.login(user, user + "pw")
    return m
def ctx():
    return ssl.create_default_context(cafile=sys.argv[-1])
def fetch(m, uid, item):
    t, d = m.uid("FETCH", str(uid), "(" + item + ")")
    return t, d
def body(m, uid, item="BODY.PEEK[]"):
    t, d = fetch(m, uid, item)
    return d[0][1] if t == "OK" and d and isinstance(d[0], tuple) else None
def flags(m, uid):
    t, d = fetch(m, uid, "FLAGS")
    if t != "OK" or not d or d[0] is None:
        return None
    x = re.search(rb"FLAGS \(([^)]*)\)", d[0])
    return sorted(x.group(1).decode().split()) if x else None
def uids(m):
    t, d = m.uid("SEARCH", None, "ALL")
    return [int(x) for x in d[0].split()]
class Raw:
    def __init__(self, port, tls=False):
        self.s = socket.create_connection((H, int(port)), 10)
        if tls:
            self.s = ctx().wrap_socket(self.s, server_hostname=H)
        self.buf = b""
        self.greeting = self.line()
    def send(self, b):
        self.s.sendall(b)
    def line(self, timeout=10):
        self.s.settimeout(timeout)
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError(self.buf)
            self.buf += d
        l, self.buf = self.buf.split(b"\r\n", 1)
        return l
    def until(self, tag, timeout=10):
        out = []
        while True:
            l = self.line(timeout)
            out.append(l)
            if l.startswith(tag + b" "):
                return out
    def cmd(self, tag, text, timeout=10):
        self.send(tag + b" " + text + b"\r\n")
        return self.until(tag, timeout)
    def closed(self, timeout=5):
        self.s.settimeout(timeout)
        try:
            while True:
                d = self.s.recv(65536)
                if not d:
                    return True
                self.buf += d
        except (socket.timeout, OSError):
            return False
PY
export PYTHONPATH="$T" UPAS

# run the python snippet on stdin, each "ok|desc" or "notok|desc|detail" a test
pyt() {
	python3 - "$@" "$T/ca.crt" >"$T/py.out" 2>&1
	rc=$?
	while IFS='|' read -r st desc detail; do
		case $st in
		ok) ok "$desc" ;;
		notok) notok "$desc"; diag "$detail" ;;
		*) diag "$st $desc $detail" ;;
		esac
	done <"$T/py.out"
	[ $rc = 0 ] || notok "python exited $rc"
}

# --- greeting, capabilities, the ways to log in
pyt $P $PS $PI <<'PY'
import base64, hmac, hashlib
from it import *
P, PS, PI = sys.argv[1:4]
r = Raw(PS)
res(r.greeting.startswith(b"* OK [CAPABILITY IMAP4rev1") and b"STARTTLS" in r.greeting and b"LOGINDISABLED" in r.greeting,
    "greeting: capabilities with STARTTLS and LOGINDISABLED", r.greeting)
out = r.cmd(b"a1", b"LOGIN alice alicepw")
res(out[-1].startswith(b"a1 NO [PRIVACYREQUIRED]"), "LOGIN refused before TLS", out)
out = r.cmd(b"a2", b"AUTHENTICATE PLAIN " + base64.b64encode(b"\0alice\0alicepw"))
res(out[-1].startswith(b"a2 NO [PRIVACYREQUIRED]"), "AUTHENTICATE PLAIN refused before TLS", out)
# CRAM-MD5 works in the clear
r.send(b"a3 AUTHENTICATE CRAM-MD5\r\n")
ch = r.line()
chal = base64.b64decode(ch[2:])
resp = b"alice " + hmac.new(b"alicepw", chal, hashlib.md5).hexdigest().encode()
out = r.cmd(b"", base64.b64encode(resp)[0:0] + base64.b64encode(resp)) if False else None
r.send(base64.b64encode(resp) + b"\r\n")
out = r.until(b"a3")
res(out[-1].startswith(b"a3 OK [CAPABILITY") and b"UIDPLUS" in out[-1], "AUTHENTICATE CRAM-MD5 in the clear", out)
# STARTTLS, then LOGIN; the capabilities change
m = imaplib.IMAP4(H, int(PS), timeout=20)
m.starttls(ctx())
t, d = m.capability()
res(b"LOGINDISABLED" not in d[0] and b"STARTTLS" not in d[0] and b"AUTH=PLAIN" in d[0], "capabilities after STARTTLS", d)
t, d = m.login("alice", "alicepw")
res(t == "OK", "LOGIN after STARTTLS", d)
m.logout()
# STARTTLS injection: a command sent with STARTTLS in one packet is dropped
r = Raw(PS)
r.send(b"s1 STARTTLS\r\ns2 CAPABILITY\r\n")
l = r.line()
res(l.startswith(b"s1 OK"), "STARTTLS accepted", l)
s = ctx().wrap_socket(r.s, server_hostname=H)
s.settimeout(2)
s.sendall(b"s3 NOOP\r\n")
got = b""
try:
    while b"s3 " not in got:
        got += s.recv(4096)
except Exception:
    pass
res(b"s2" not in got and b"s3 OK" in got, "plaintext after STARTTLS is discarded", got)
# implicit TLS
m = imaplib.IMAP4_SSL(H, int(PI), ssl_context=ctx(), timeout=20)
t, d = m.login("bob", "bobpw")
res(t == "OK", "LOGIN over implicit TLS", d)
m.logout()
# SASL-IR PLAIN with -p
r = Raw(P)
out = r.cmd(b"p1", b"AUTHENTICATE PLAIN " + base64.b64encode(b"\0carol\0carolpw"))
res(out[-1].startswith(b"p1 OK"), "AUTHENTICATE PLAIN with an initial response", out)
r = Raw(P)
r.send(b"p2 AUTHENTICATE PLAIN\r\n")
l = r.line()
r.send(base64.b64encode(b"\0carol\0carolpw") + b"\r\n")
out = r.until(b"p2")
res(l == b"+ " or l == b"+", "PLAIN without an initial response asks for it", l)
res(out[-1].startswith(b"p2 OK"), "AUTHENTICATE PLAIN after the challenge", out)
r = Raw(P)
out = r.cmd(b"w1", b"LOGIN alice wrong")
res(out[-1].startswith(b"w1 NO [AUTHENTICATIONFAILED]"), "a wrong password", out)
out = r.cmd(b"w2", b"SELECT INBOX")
res(out[-1].startswith(b"w2 BAD"), "SELECT before login", out)
out = r.cmd(b"w3", b"LOGIN nosuch nosuchpw")
res(out[-1].startswith(b"w3 NO"), "an unknown user", out)
PY

# --- SELECT and FETCH on the three formats
pyt $P <<'PY'
from it import *
P = sys.argv[1]
for u in ("alice", "bob", "dave"):
    m = imap(P, u)
    t, d = m.select("INBOX")
    res(t == "OK" and d == [b"3"], u + ": SELECT INBOX has 3 messages", (t, d))
    v = m.untagged_responses
    res("UIDVALIDITY" in v and "UIDNEXT" in v and v["UIDNEXT"] == [b"4"], u + ": UIDVALIDITY and UIDNEXT", v)
    res(uids(m) == [1, 2, 3], u + ": UIDs 1 2 3", uids(m))
    b = body(m, 2)
    res(b is not None and b"\r\nFrom: Sender <sender@example.net>\r\n" in b and b"Subject: " + u.encode() + b"-2\r\n" in b
        and b.endswith(b"\r\nbody of " + u.encode() + b"-2\r\n") and b"\n" not in b.replace(b"\r\n", b""),
        u + ": BODY[] in CRLF", b)
    t, d = fetch(m, 2, "RFC822.SIZE")
    res(t == "OK" and ("RFC822.SIZE %d" % len(b)).encode() in d[0], u + ": RFC822.SIZE is BODY[]'s length", d)
    t, d = fetch(m, 2, "ENVELOPE")
    res(t == "OK" and b'"' + u.encode() + b'-2"' in d[0] and b'(("Sender" NIL "sender" "example.net"))' in d[0], u + ": ENVELOPE", d)
    t, d = fetch(m, 2, "BODYSTRUCTURE")
    res(t == "OK" and b'("text" "plain"' in d[0].lower() if d and d[0] else False, u + ": BODYSTRUCTURE", d)
    h = body(m, 2, "BODY.PEEK[HEADER.FIELDS (Subject)]")
    res(h == b"Subject: " + u.encode() + b"-2\r\n\r\n", u + ": HEADER.FIELDS", h)
    p = body(m, 2, "BODY.PEEK[TEXT]<0.4>")
    res(p == b"body", u + ": a partial TEXT", p)
    res(flags(m, 2) == ["\\Recent"], u + ": \\Recent for the first session", flags(m, 2))
    # BODY[] without PEEK sets \Seen
    t, d = fetch(m, 1, "BODY[]")
    res(t == "OK" and b"\\Seen" in b"".join(x[0] if isinstance(x, tuple) else x for x in d), u + ": BODY[] sets \\Seen and says so", d)
    t, d = m.store("3", "+FLAGS", "(\\Flagged \\Answered $Label1)")
    res(t == "OK", u + ": STORE +FLAGS", d)
    m.logout()
    m = imap(P, u)
    m.select("INBOX")
    res(flags(m, 1) == ["\\Seen"] and flags(m, 3) == ["$Label1", "\\Answered", "\\Flagged"],
        u + ": flags and keywords persist, \\Recent gone", (flags(m, 1), flags(m, 3)))
    m.logout()
# the flags are the mailbox's own
mb = open(R + "/box/alice/mbox", "rb").read().decode()
msgs = mb.split("\nFrom ")
res(re.search(r"\nStatus: RO?\n", msgs[0]) and "\nX-Status: AF\n" in msgs[2] and "Status:" not in msgs[1],
    "alice: the mbox holds Status and X-Status", mb[:2000])
names = sorted(os.listdir(R + "/box/bob/mbox/cur"))
res(len(names) == 2 and names[0].endswith(":2,S") and names[1].endswith(":2,FR"), "bob: the Maildir names carry the flags", names)
PY

# --- APPEND, COPY, MOVE, EXPUNGE, keywords, UIDs
pyt $P <<'PY'
from it import *
P = sys.argv[1]
m = imap(P, "carol")
m.select("INBOX")
v0 = m.untagged_responses["UIDVALIDITY"][0]
msg = b"From: a@example.org\r\nSubject: appended\r\nDate: Mon, 2 Jan 2006 15:04:05 +0000\r\n\r\nappended body\r\n"
t, d = m.append("INBOX", "(\\Seen $Work)", '"02-Jan-2006 15:04:05 +0000"', msg)
x = re.search(rb"APPENDUID (\d+) (\d+)", d[0])
res(t == "OK" and x and x.group(1) == v0 and x.group(2) == b"4", "APPEND answers APPENDUID", d)
m.noop()
res(uids(m) == [1, 2, 3, 4], "the appended message is in the view", uids(m))
res(body(m, 4) == msg, "the appended message comes back byte for byte", body(m, 4))
res(flags(m, 4) in (["$Work", "\\Seen"], ["$Work", "\\Recent", "\\Seen"]), "APPEND's flags", flags(m, 4))
t, d = fetch(m, 4, "INTERNALDATE")
res(b"02-Jan-2006" in d[0], "APPEND's date is the INTERNALDATE", d)
t, d = m.append("Nosuch", None, None, msg)
res(t == "NO" and b"TRYCREATE" in d[0], "APPEND to a missing mailbox: TRYCREATE", d)
t, d = m.create("Work")
res(t == "OK", "CREATE Work", d)
t, d = m.create("Work")
res(t == "NO", "CREATE an existing mailbox", d)
r = Raw(P)
r.cmd(b"l", b"LOGIN carol carolpw"); r.cmd(b"s", b"SELECT INBOX")
out = r.cmd(b"c", b"UID COPY 1:2 Work")
cu = re.match(rb"c OK \[COPYUID (\d+) 1:2 1:2\]", out[-1])
t, d = m.status("Work", "(UIDVALIDITY)")
res(cu and (b"UIDVALIDITY " + cu.group(1)) in d[0], "COPY answers COPYUID with the target's UIDVALIDITY", (out, d))
r.cmd(b"o", b"LOGOUT")
t, d = m.status("Work", "(MESSAGES UIDNEXT UNSEEN)")
res(t == "OK" and b"MESSAGES 2" in d[0] and b"UIDNEXT 3" in d[0], "STATUS of the copy", d)
m.uid("STORE", "3", "+FLAGS", "(\\Flagged $Moved)")
t, d = m._simple_command("UID", "MOVE", "3", "Work")
res(t == "OK", "MOVE", d)
res(uids(m) == [1, 2, 4], "MOVE removed the original", uids(m))
m.store("1", "+FLAGS", "(\\Deleted)")
m.store("2", "+FLAGS", "(\\Deleted)")
t, d = m._simple_command("UID", "EXPUNGE", "2")
res(t == "OK" and uids(m) == [1, 4], "UID EXPUNGE removes only the given UIDs", uids(m))
t, d = m.expunge()
res(t == "OK" and d[-1] == b"1" and uids(m) == [4], "EXPUNGE", (d, uids(m)))
m.close()
m.select("Work")
res(uids(m) == [1, 2, 3], "Work holds the copies and the moved message", uids(m))
res(flags(m, 3) in (["$Moved", "\\Flagged", "\\Recent"], ["$Moved", "\\Flagged"]),
    "a moved message keeps its flags", flags(m, 3))
m.logout()
# UIDs hold across sessions and deliveries
m = imap(P, "carol")
m.select("INBOX")
res(m.untagged_responses["UIDVALIDITY"][0] == v0, "UIDVALIDITY stays", m.untagged_responses)
os.system(os.environ["UPAS"] + " send carol </dev/null >/dev/null 2>&1")
msg2 = b"From: x@example.org\nSubject: late\n\nlate\n"
import subprocess
subprocess.run([os.environ["UPAS"], "send", "carol"], input=msg2)
m.noop()
res(uids(m)[-1] >= 5, "a delivery gets a new UID", uids(m))
m.logout()
PY

# --- two sessions: \Recent once, changes seen at the next command, IDLE
pyt $P <<'PY'
from it import *
import subprocess
P = sys.argv[1]
a = Raw(P); a.cmd(b"l", b"LOGIN fay faypw"); out = a.cmd(b"s", b"SELECT INBOX")
b = Raw(P); b.cmd(b"l", b"LOGIN fay faypw"); out2 = b.cmd(b"s", b"SELECT INBOX")
res(b"* 3 RECENT" in out and b"* 0 RECENT" in out2, "\\Recent in exactly one session", (out, out2))
subprocess.run([os.environ["UPAS"], "send", "fay"], input=b"From: x@example.org\nSubject: new\n\nnew\n")
o1 = a.cmd(b"n", b"NOOP"); o2 = b.cmd(b"n", b"NOOP")
r1 = [l for l in o1 if l.endswith(b"RECENT")]; r2 = [l for l in o2 if l.endswith(b"RECENT")]
res(b"* 4 EXISTS" in o1 and b"* 4 EXISTS" in o2, "both sessions see the delivery", (o1, o2))
res(sorted([r1, r2]) == sorted([[b"* 3 RECENT"], [b"* 1 RECENT"]]) or sorted([r1, r2]) == sorted([[b"* 4 RECENT"], [b"* 0 RECENT"]]),
    "the new message is \\Recent in one session only", (r1, r2))
# b idles; a flags and expunges
b.send(b"i IDLE\r\n")
res(b.line().startswith(b"+"), "IDLE continues", "")
a.cmd(b"f", b"STORE 2 +FLAGS (\\Flagged)")
got = []
t0 = time.time()
while time.time() - t0 < 8 and not any(b"FETCH" in l for l in got):
    try: got.append(b.line(8))
    except socket.timeout: break
res(any(re.match(rb"\* 2 FETCH \(.*FLAGS \(.*\\Flagged", l) for l in got), "IDLE pushes another session's flag change", got)
a.cmd(b"d", b"STORE 1 +FLAGS (\\Deleted)")
a.cmd(b"e", b"EXPUNGE")
got = []
t0 = time.time()
while time.time() - t0 < 8 and not any(b"EXPUNGE" in l for l in got):
    try: got.append(b.line(8))
    except socket.timeout: break
res(b"* 1 EXPUNGE" in got, "IDLE pushes another session's expunge", got)
subprocess.run([os.environ["UPAS"], "send", "fay"], input=b"From: x@example.org\nSubject: idle\n\nidle\n")
got = []
t0 = time.time()
while time.time() - t0 < 8 and not any(b"EXISTS" in l for l in got):
    try: got.append(b.line(8))
    except socket.timeout: break
res(b"* 4 EXISTS" in got, "IDLE pushes a delivery", got)
b.send(b"DONE\r\n")
out = b.until(b"i")
res(out[-1].startswith(b"i OK"), "DONE ends IDLE", out)
# a FETCH by sequence number does not see an expunge; NOOP does
a.cmd(b"d", b"STORE 1 +FLAGS (\\Deleted)")
a.cmd(b"e", b"EXPUNGE")
out = b.cmd(b"f", b"FETCH 1:* (FLAGS)")
res(not any(b"EXPUNGE" in l for l in out), "no EXPUNGE during FETCH", out)
out = b.cmd(b"n", b"NOOP")
res(b"* 1 EXPUNGE" in out, "the expunge is told at NOOP", out)
PY

# --- CONDSTORE (RFC 7162)
pyt $P <<'PY'
from it import *
P = sys.argv[1]
r = Raw(P); r.cmd(b"l", b"LOGIN hal halpw")
out = r.cmd(b"s", b"SELECT INBOX (CONDSTORE)")
hm = re.search(rb"\[HIGHESTMODSEQ (\d+)\]", b" ".join(out))
res(hm is not None and out[-1].startswith(b"s OK"), "SELECT (CONDSTORE) tells HIGHESTMODSEQ", out)
hm = int(hm.group(1)) if hm else 0
out = r.cmd(b"f", b"FETCH 1:* (FLAGS MODSEQ)")
ms = [int(x) for x in re.findall(rb"MODSEQ \((\d+)\)", b" ".join(out))]
res(len(ms) == len([l for l in out if b" FETCH " in l]) and ms and max(ms) <= hm, "FETCH MODSEQ", out)
out = r.cmd(b"t", b"STORE 1 +FLAGS (\\Flagged)")
m1 = re.search(rb"^\* 1 FETCH \(FLAGS \(.*\\Flagged.*\) MODSEQ \((\d+)\)\)", out[0])
res(m1 is not None and int(m1.group(1)) > hm, "STORE answers the new MODSEQ", out)
out = r.cmd(b"c", b"FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % hm)
res([l.split()[1] for l in out if b" FETCH " in l] == [b"1"] and b"MODSEQ" in out[0], "FETCH CHANGEDSINCE gives what changed", out)
out = r.cmd(b"u", b"STORE 1,2 (UNCHANGEDSINCE %d) +FLAGS (\\Answered)" % hm)
res(out[-1].startswith(b"u OK [MODIFIED 1]") and any(l.startswith(b"* 2 FETCH") for l in out) and
    not any(l.startswith(b"* 1 FETCH") for l in out), "STORE UNCHANGEDSINCE leaves a changed message alone", out)
b = Raw(P); b.cmd(b"l", b"LOGIN hal halpw"); b.cmd(b"s", b"SELECT INBOX")
b.cmd(b"k", b"STORE 3 +FLAGS ($Ext)")
out = r.cmd(b"n", b"NOOP")
res(any(re.match(rb"\* 3 FETCH \(UID \d+ FLAGS \(.*\$Ext.*\) MODSEQ \(\d+\)\)", l) for l in out), "another session's change comes with its MODSEQ", out)
out = r.cmd(b"x", b"SEARCH MODSEQ %d" % (hm + 1))
res(re.match(rb"\* SEARCH 1 2 3 \(MODSEQ \d+\)", out[0]) is not None, "SEARCH MODSEQ", out)
out = r.cmd(b"y", b"STATUS INBOX (HIGHESTMODSEQ MESSAGES)")
res(re.search(rb"HIGHESTMODSEQ \d+", out[0]) is not None, "STATUS HIGHESTMODSEQ", out)
out = r.cmd(b"z", b"STORE 1 (UNCHANGEDSINCE x) +FLAGS (\\Seen)")
res(out[-1].startswith(b"z BAD"), "a bad UNCHANGEDSINCE", out)
PY

# --- SEARCH
pyt $P <<'PY'
from it import *
P = sys.argv[1]
m = imap(P, "gus")
m.select("INBOX")
m.store("2", "+FLAGS", "(\\Seen)")
def s(*k):
    t, d = m.search(None, *k)
    return d[0].decode() if t == "OK" else t
res(s("ALL") == "1 2 3", "SEARCH ALL", s("ALL"))
res(s("SEEN") == "2" and s("UNSEEN") == "1 3", "SEARCH SEEN/UNSEEN", (s("SEEN"), s("UNSEEN")))
res(s("SUBJECT", "gus-3") == "3", "SEARCH SUBJECT", s("SUBJECT", "gus-3"))
res(s("BODY", "\"body of gus-1\"") == "1", "SEARCH BODY", s("BODY", "\"body of gus-1\""))
res(s("OR", "SUBJECT", "gus-1", "SUBJECT", "gus-3") == "1 3", "SEARCH OR", "")
res(s("NOT", "FROM", "sender") == "", "SEARCH NOT FROM", s("NOT", "FROM", "sender"))
res(s("2:*") == "2 3" and s("LARGER", "10") == "1 2 3", "SEARCH sets and sizes", "")
t, d = m.uid("SEARCH", None, "SUBJECT", "gus-2")
res(d[0] == b"2", "UID SEARCH", d)
t, d = m.search("KOI8-R", "ALL")
res(t == "NO", "SEARCH with an unknown charset", d)
t, d = m._simple_command("SEARCH", "CHARSET", "UTF-8", "SUBJECT", "gus")
res(t == "OK", "SEARCH CHARSET UTF-8", d)
m.logout()
PY

# --- folders: LIST, LSUB, CREATE, DELETE, RENAME, refused names
ln -s /etc "$R/box/eve/etc"
ln -s /etc/passwd "$R/box/eve/passwd"
pyt $P <<'PY'
from it import *
P = sys.argv[1]
m = imap(P, "eve")
for n in ("Sent", "Drafts", "Trash", "a/b/c", "Caf\u00e9".encode("utf-7").decode().replace("+", "&")):
    t, d = m.create(n)
    res(t == "OK", "CREATE " + n, d)
t, d = m.list('""', "*")
names = [re.search(rb'"/" (.*)$', l).group(1).strip(b'"') for l in d]
res(b"INBOX" in names and b"Sent" in names and b"a/b/c" in names and b"Caf&AOk-" in names, "LIST *", d)
res(not any(b"etc" in x or b"passwd" in x for x in names), "symlinks are not listed", names)
res(any(b"\\Sent" in l for l in d) and any(b"\\Trash" in l for l in d), "SPECIAL-USE attributes", d)
t, d = m.list('""', "%")
res(not any(b"a/b" in l for l in d), "LIST % stays at the top", d)
t, d = m.list('""', '""')
res(d == [b'(\\Noselect) "/" ""'], "LIST with an empty pattern gives the delimiter", d)
def tryit(f, *a):
    try:
        return f(*a)
    except imaplib.IMAP4.error as e:
        return ("BAD", e)
for bad in ("../alice/mbox", "/etc/passwd", "etc", "passwd", "a/../../x", '"foo\x01"', "x.imp", "L.mbox", "INBOX/../../bob/mbox"):
    t, d = tryit(m.select, bad)
    res(t in ("NO", "BAD"), "SELECT refuses " + repr(bad), d)
    t, d = tryit(m.create, bad)
    res(t in ("NO", "BAD"), "CREATE refuses " + repr(bad), d)
res(not os.path.exists(R + "/box/alice/mbox.imp") and os.path.exists("/etc/passwd"), "nothing was made outside the box", "")
t, d = m.rename("a", "z")
res(t == "OK", "RENAME a parent", d)
t, d = m.select("z/b/c")
res(t == "OK", "its children moved along", d)
t, d = m.subscribe("Sent")
t, d = m.lsub('""', "*")
res(t == "OK" and any(b"Sent" in l for l in d) and any(b"INBOX" in l for l in d), "SUBSCRIBE and LSUB", d)
m.unsubscribe("Sent")
t, d = m.lsub('""', "*")
res(not any(b"Sent" in l for l in d), "UNSUBSCRIBE", d)
t, d = m.delete("Trash")
res(t == "OK", "DELETE", d)
t, d = m.delete("INBOX")
res(t == "NO", "DELETE INBOX is refused", d)
t, d = m._simple_command("NAMESPACE")
res(t == "OK", "NAMESPACE", d)
m.logout()
PY

# --- hostile input
pyt $P <<'PY'
from it import *
P = sys.argv[1]
r = Raw(P)
r.cmd(b"l", b"LOGIN eve evepw")
out = r.cmd(b"a", b"APPEND INBOX {999999999999}")
res(out[-1].startswith(b"a BAD") or out[-1].startswith(b"a NO"), "a literal too large gets no continuation", out)
out = r.cmd(b"b", b"LOGIN \"a\\0b\" x")
res(out[-1].startswith(b"b BAD"), "a bad escape in a quoted string", out)
r.send(b"c SELECT {5}\r\n")
res(r.line().startswith(b"+"), "a literal's continuation", "")
r.send(b"IN\x00OX\r\n")
out = r.until(b"c")
res(out[-1].startswith(b"c BAD"), "NUL in a literal is refused", out)
out = r.cmd(b"d", b"FETCH 1 " + b"(" * 100 + b")" * 100)
res(out[-1].startswith(b"d BAD"), "lists nested too deeply", out)
r.send(b"e NOOP " + b"x" * 70000 + b"\r\n")
l = r.line()
res(l.startswith(b"* BAD") or l.startswith(b"e BAD"), "a line too long", l)
out = r.cmd(b"f", b"SELECT INBOX")
res(out[-1].startswith(b"f OK"), "the session goes on after bad input", out)
for c in (b"FETCH", b"FETCH 1", b"FETCH 0 FLAGS", b"FETCH 99 FLAGS", b"FETCH 1 (NOSUCH)", b"FETCH 1 BODY[99.HEADER.x]",
          b"STORE 1 FLAGS", b"STORE 1 +FLAGS (\\Bogus)", b"STORE x FLAGS ()", b"COPY 1", b"SEARCH", b"SEARCH NOSUCH",
          b"SEARCH BEFORE notadate", b"UID FETCH 1:* FLAGS BODY", b"APPEND", b"APPEND INBOX", b"RENAME a", b"STATUS INBOX",
          b"STATUS INBOX (NOSUCH)", b"LIST", b"SELECT", b"EXAMINE", b"CREATE", b"UID", b"UID NOSUCH 1", b"EXPUNGE 1",
          b"ID (\"a\")", b"ENABLE", b"SUBSCRIBE", b"AUTHENTICATE PLAIN", b"LOGIN a b", b"FETCH 1:2,* (BODY.PEEK[HEADER.FIELDS ()])",
          b"FETCH 1 BODY.PEEK[]<x.1>", b"FETCH * (BINARY.PEEK[1]<0.0>)", b"SEARCH 1:2 OR", b"STORE 1:* FLAGS (" + b"k " * 100 + b")"):
    out = r.cmd(b"h", c)
    res(out[-1].startswith(b"h BAD") or out[-1].startswith(b"h NO"), "refused: " + c.decode()[:40], out)
out = r.cmd(b"g", b"NOOP")
res(out[-1].startswith(b"g OK"), "still serving after every bad command", out)
# a non-synchronizing literal too large ends the session (its octets are on their way)
r = Raw(P)
r.cmd(b"l", b"LOGIN eve evepw")
r.send(b"x CREATE {999999+}\r\n")
res(r.closed(5), "a LITERAL+ too large ends the session", r.buf)
# commands after LOGOUT are not read
r = Raw(P)
r.send(b"a LOGOUT\r\nb LOGIN eve evepw\r\n")
res(r.closed(5) and b"b OK" not in r.buf, "LOGOUT ends the session", r.buf)
# too many bad commands
r = Raw(P)
r.send(b"x BOGUS\r\n" * 30)
res(r.closed(5) and b"BYE" in r.buf, "too many bad commands end the session", r.buf[-200:])
PY
grep -q alicepw "$T/debug" && notok "passwords stay out of the debug file" || ok "passwords stay out of the debug file"

done_testing
