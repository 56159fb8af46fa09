#!/bin/sh
# The smtp client against real receivers on loopback addresses: a private
# Postfix (the message arrives intact, headers added once), smtp-sink in its
# error modes (exit 75 / 69), our smtpd with STARTTLS (CA and host name, pins,
# opportunistic, implicit TLS) and AUTH (CRAM-MD5, LOGIN, PLAIN), MX records
# from dnsmasq (preference, fallback, -b, -g, loopback, NXDOMAIN), and the
# whole pipeline: sendmail, the default rewrite, qer, runq, remotemail, smtp,
# with retries, bounces and a server that vanishes mid-DATA.
. "$(dirname "$0")/lib.sh"
setup
cp -R "$top/configs/root/lib/." "$UPASROOT/lib/"
chmod 711 "$T"	# smtp-sink and Postfix drop privileges and must reach their files
DNSMASQ=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)
SINK=/usr/sbin/smtp-sink
if ! "$UPAS" --list | grep -qx smtp; then
	notok "the smtp applet is built"
	done_testing
	exit 1
fi
for p in "$DNSMASQ" "$SINK"; do
	[ -x "$p" ] || { notok "$p is installed (dnsmasq-base, postfix)"; done_testing; exit 1; }
done
root=0 sinku=
[ "$(id -u)" = 0 ] && root=1 sinku="-u nobody"

# ---- peer.py: a scripted SMTP server, and an AUTH-filtering proxy
#   peer.py server ADDR PORT DIR [key=value...]
#	banner=REPLY	the greeting (a 421 hangs up, another non-2xx refuses all)
#	ehlo=A,B	the EHLO keywords (default PIPELINING,8BITMIME)
#	rcpt.PREFIX=REPLY  the reply to RCPT of a local part starting PREFIX
#	dot=REPLY	the reply after the text; "drop" closes without one
#	dropn=N		drop after the text the first N times, then 250
#   Every command line goes to DIR/log; each text, as received (dot-stuffed,
#   without the final dot), to DIR/text.N; DIR/acc.N once it got its 250.
#   peer.py proxy PORT TARGETPORT MECHS: relay to TARGETPORT, offering only
#   the AUTH mechanisms MECHS in the EHLO reply.
#   peer.py tlsproxy PORT TARGETPORT MECHS CERT KEY: the same, ending the
#   client's STARTTLS with CERT and starting one of its own to TARGETPORT.
cat >"$T/peer.py" <<'PY'
import os, socket, socketserver, sys, threading
mode = sys.argv[1]
def filt(line, mechs):
    if line[4:9].upper() == b"AUTH ":
        return line[:4] + b"AUTH " + mechs + b"\r\n"
    return line
if mode == "tlsproxy":
    import select, ssl
    port, target, mechs = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].encode()
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(sys.argv[5], sys.argv[6])
    cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    cctx.check_hostname = False
    cctx.verify_mode = ssl.CERT_NONE
    def send(s, b):
        s.setblocking(True); s.sendall(b); s.setblocking(False)
    class P(socketserver.BaseRequestHandler):
        def handle(self):
            c = self.request
            u = socket.create_connection(("127.0.0.1", target))
            cf, uf = c.makefile("rb"), u.makefile("rb")
            def reply():	# one reply, every line, from the server to the client
                while True:
                    l = uf.readline()
                    if not l:
                        raise EOFError
                    c.sendall(filt(l, mechs))
                    if l[3:4] != b"-":
                        return l
            reply()
            while True:	# in step until STARTTLS, as RFC 3207 has it
                l = cf.readline()
                if not l:
                    return
                u.sendall(l)
                if l[:8].upper() == b"STARTTLS" and reply().startswith(b"220"):
                    break
                reply()
            u = cctx.wrap_socket(u)
            c = sctx.wrap_socket(c, server_side=True)
            for x in (c, u):
                x.setblocking(False)
            buf = b""
            while True:
                r = select.select([c, u], [], [], 30)[0]
                if not r:
                    return
                for x in r:
                    try:
                        b = x.recv(65536)
                        while b and x.pending():
                            b += x.recv(65536)
                    except ssl.SSLWantReadError:
                        continue
                    if not b:
                        return
                    if x is c:
                        send(u, b)
                        continue
                    buf += b
                    while b"\n" in buf:
                        l, buf = buf.split(b"\n", 1)
                        send(c, filt(l + b"\n", mechs))
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    socketserver.ThreadingTCPServer.daemon_threads = True
    socketserver.ThreadingTCPServer(("127.0.0.1", port), P).serve_forever()
if mode == "proxy":
    port, target, mechs = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].encode()
    def pump(src, dst, edit):
        buf = b""
        try:
            while True:
                b = src.recv(65536)
                if not b:
                    break
                if not edit:
                    dst.sendall(b); continue
                buf += b
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    dst.sendall(filt(line + b"\n", mechs))
        except OSError:
            pass
        for s in (src, dst):
            try: s.shutdown(socket.SHUT_RDWR)
            except OSError: pass
    class P(socketserver.BaseRequestHandler):
        def handle(self):
            up = socket.create_connection(("127.0.0.1", target))
            t = threading.Thread(target=pump, args=(self.request, up, False)); t.start()
            pump(up, self.request, True); t.join()
            up.close()
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    socketserver.ThreadingTCPServer(("127.0.0.1", port), P).serve_forever()
    sys.exit(0)

addr, port, d = sys.argv[2], int(sys.argv[3]), sys.argv[4]
conf = dict(a.split("=", 1) for a in sys.argv[5:])
lock = threading.Lock()
state = {"n": 0, "dropped": 0}
def log(line):
    with lock, open(os.path.join(d, "log"), "ab") as f:
        f.write(line + b"\n")
class H(socketserver.StreamRequestHandler):
    def say(self, s):
        self.wfile.write(s.encode() + b"\r\n"); self.wfile.flush()
    def handle(self):
        self.request.settimeout(20)
        banner = conf.get("banner", "220 peer.test ESMTP")
        self.say(banner)
        if banner.startswith("421"):
            return
        ok = banner.startswith("2")
        rcpts = 0
        while True:
            line = self.rfile.readline(4096)
            if not line:
                return
            log(line.rstrip(b"\r\n"))
            cmd = line[:4].upper()
            if cmd == b"QUIT":
                self.say("221 bye"); return
            if not ok:
                self.say("503 5.5.1 go away"); continue
            if cmd == b"EHLO":
                kw = [k for k in conf.get("ehlo", "PIPELINING,8BITMIME").split(",") if k]
                self.say("\r\n".join(["250-peer.test"] + ["250-" + k for k in kw[:-1]] +
                    ["250 " + kw[-1]] if kw else ["250 peer.test"]))
            elif cmd in (b"HELO", b"NOOP", b"RSET"):
                rcpts = 0
                self.say("250 ok")
            elif cmd == b"MAIL":
                rcpts = 0
                self.say(conf.get("mail", "250 ok"))
            elif cmd == b"RCPT":
                who = line[8:].strip().lstrip(b"<").decode(errors="replace")
                r = "250 ok"
                for k, v in conf.items():
                    if k.startswith("rcpt.") and who.startswith(k[5:]):
                        r = v
                if r.startswith("2"):
                    rcpts += 1
                self.say(r)
            elif cmd == b"DATA":
                if rcpts == 0:
                    self.say("554 no valid recipients"); continue
                self.say("354 go ahead")
                text = b""
                while True:
                    l = self.rfile.readline(1 << 20)
                    if not l:
                        return
                    if l == b".\r\n":
                        break
                    text += l
                with lock:
                    state["n"] += 1
                    n = state["n"]
                    drop = conf.get("dot") == "drop" or state["dropped"] < int(conf.get("dropn", "0"))
                    if drop:
                        state["dropped"] += 1
                with open(os.path.join(d, "text.%d" % n), "wb") as f:
                    f.write(text)
                if drop:
                    log(b"<dropped>")
                    return
                r = conf.get("dot", "250 2.0.0 accepted")
                if r.startswith("2"):
                    open(os.path.join(d, "acc.%d" % n), "w").close()
                self.say(r)
            else:
                self.say("502 5.5.1 not here")
socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer.daemon_threads = True
socketserver.ThreadingTCPServer((addr, port), H).serve_forever()
PY

# peer NAME ADDR PORT [key=value...]: a peer.py server with its files in $T/NAME
peer() {
	n=$1 a=$2 p=$3; shift 3
	rm -rf "$T/$n"; mkdir -p "$T/$n"
	spawn python3 "$T/peer.py" server "$a" "$p" "$T/$n" "$@"
	waitport "$p" "$a" || diag "peer $n did not start on $a:$p"
}
# sink NAME ADDR PORT [smtp-sink options...]: smtp-sink dumping into $T/NAME
sink() {
	n=$1 a=$2 p=$3; shift 3
	rm -rf "$T/$n"; mkdir -p "$T/$n"; chown nobody "$T/$n" 2>/dev/null
	spawn "$SINK" $sinku -d "$T/$n/%M." "$@" "$a:$p" 64
	w=${a#[}; w=${w%]}
	waitport "$p" "$w" || diag "smtp-sink $n did not start on $a:$p"
}
# texts NAME: how many texts a sink or peer NAME received; accepted NAME: how many it answered 250
texts() { ls "$T/$1" | grep -vc '^log$\|^acc\.'; }
accepted() { ls "$T/$1" | grep -c '^acc\.'; }
# sm ARGS... <msg: run smtp; its output in $out, its status in $st
sm() { out=$(timeout 60 "$UPAS" smtp "$@" 2>&1); st=$?; }
# mbx FILE count | FILE hdr N FIELD... | FILE body N: python's mailbox reads the mbox
cat >"$T/mbx.py" <<'PY'
import mailbox, os, sys, email.parser
f, cmd = sys.argv[1], sys.argv[2]
box = mailbox.mbox(f, create=False) if os.path.exists(f) else None
keys = list(box.keys()) if box is not None else []
if cmd == "count":
    print(len(keys)); sys.exit(0)
raw = box.get_bytes(keys[int(sys.argv[3])])
head, body = raw.split(b"\n\n", 1) if b"\n\n" in raw else (raw, b"")
if cmd == "body":
    sys.stdout.buffer.write(body)
else:
    m = email.parser.BytesHeaderParser().parsebytes(head + b"\n\n")
    for h in sys.argv[4:]:
        v = m.get_all(h) or []
        print("%s %d %s" % (h, len(v), " | ".join(" ".join(str(x).split()) for x in v)))
PY
mbx() { python3 "$T/mbx.py" "$@"; }
# free port on all the loopback addresses given
freeports() {
	python3 - "$@" <<'PY'
import random, socket, sys
for i in range(200):
    p = random.randint(20000, 60000)
    try:
        ss = []
        for a in sys.argv[1:]:
            s = socket.socket(); s.bind((a, p)); ss.append(s)
        print(p); sys.exit(0)
    except OSError:
        pass
sys.exit(1)
PY
}
# waitn N CMD...: until CMD prints N (5 s)
waitn() {
	n=$1; shift
	i=0; while [ "$("$@")" != "$n" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
}
crlfonly() {	# crlfonly FILE: every CR is followed by LF and every LF follows a CR
	python3 -c 'import sys, re; b = open(sys.argv[1], "rb").read(); sys.exit(1 if re.search(rb"\r(?!\n)|(?<!\r)\n", b) else 0)' "$1"
}

# ---- dnsmasq: names under .test, every address on loopback
DP=$(freeport)
spawn "$DNSMASQ" --keep-in-foreground --no-resolv --no-hosts --conf-file=/dev/null \
	--port="$DP" --listen-address=127.0.0.1 --bind-interfaces --pid-file= --local=/test/ \
	--host-record=mx.ours.test,127.0.0.1 --host-record=other.ours.test,127.0.0.1 \
	--mx-host=ours.test,mx.ours.test,10 \
	--mx-host=pref.test,mxb.pref.test,20 --mx-host=pref.test,mxa.pref.test,10 \
	--host-record=mxa.pref.test,127.0.0.2 --host-record=mxb.pref.test,127.0.0.3 \
	--mx-host=down.test,mxa.down.test,10 --mx-host=down.test,mxb.pref.test,20 \
	--host-record=mxa.down.test,127.0.0.4 \
	--mx-host=busy.test,mxa.busy.test,10 --mx-host=busy.test,mxb.pref.test,20 \
	--host-record=mxa.busy.test,127.0.0.5 \
	--mx-host=later.test,mxa.later.test,10 --mx-host=later.test,mxb.pref.test,20 \
	--host-record=mxa.later.test,127.0.0.6 \
	--txt-record=nowhere.test,"no mail here" \
	--host-record=gw.test,127.0.0.3 \
	--mx-host=remote.test,mx.remote.test,10 --host-record=mx.remote.test,127.0.0.7 \
	--mx-host=hard.test,mx.hard.test,10 --host-record=mx.hard.test,127.0.0.8 \
	--mx-host=flaky.test,mx.flaky.test,10 --host-record=mx.flaky.test,127.0.0.9 \
	2>"$T/dnsmasq.log"
waitport "$DP" || { notok "dnsmasq listens on $DP"; cat "$T/dnsmasq.log"; done_testing; exit 1; }
printf 'nameserver 127.0.0.1#%s\noptions timeout:2 attempts:1\n' "$DP" >"$UPASROOT/lib/resolv.conf"

# ---- the messages
# m1: an mbox From line (skipped), no Message-ID/Date/From/To, dots, 8 bits
printf 'From alice Mon Jan  1 00:00:00 2024\nSubject: bare\n\n' >"$T/m1"
printf 'first line\n.leading dot\n..two dots\n.\ncaf\303\251 \303\277 eight bits\n  spaced  \nlast line\n' >"$T/body1"
cat "$T/body1" >>"$T/m1"
# m2: all four headers present
printf 'Message-ID: <given.1@client.test>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nFrom: Alice <alice@client.test>\nTo: Bob <bob@ours.test>\nSubject: full\n\nbody two\n' >"$T/m2"
# m3: bare CR and LF where a line end could be smuggled
printf 'Subject: bare cr\n\nx\r.\rMAIL FROM:<evil@x.test>\r\nline\rcr\n.\r\nend\n' >"$T/m3"

# ==== -f: the message as it would go on the wire, no network
timeout 60 "$UPAS" smtp -f -h client.test tcp!127.0.0.1!1 alice bob@ours.test <"$T/m1" >"$T/f1" 2>&1
st=$? out=$(cat "$T/f1")
is "$st" 0 "-f exits 0"
like "$out" "$(printf '^\\.\\.leading dot\r$')" "-f: a leading dot is doubled"
like "$out" "$(printf '^\\.\\.\\.two dots\r$')" "-f: two leading dots become three"
like "$out" "$(printf '^\\.\\.\r$')" "-f: a lone dot is stuffed"
like "$out" '^Message-I[Dd]: <.+@.+>' "-f adds Message-ID"
like "$out" '^Date: [A-Z][a-z][a-z], [0-9]' "-f adds Date"
like "$out" '^From: .*alice@client\.test' "-f adds From: with the -h domain"
like "$out" '^To: .*bob@ours\.test' "-f adds To:"
check "-f drops the mbox From line" sh -c "! grep -q '^From alice Mon' '$T/f1'"
check "-f: every line ends in CRLF" crlfonly "$T/f1"
timeout 60 "$UPAS" smtp -f tcp!127.0.0.1!1 alice bob@ours.test <"$T/m3" >"$T/f3" 2>&1
check "-f: no bare CR or LF leaves" crlfonly "$T/f3"
check "-f: no CRLF.CRLF inside the text" python3 -c '
import sys
b = open(sys.argv[1], "rb").read()
sys.exit(b"\r\n.\r\n" in (b[:-3] if b.endswith(b"\r\n.\r\n") else b))' "$T/f3"

# ==== 1. Postfix receives
if command -v postfix >/dev/null 2>&1 && [ $root = 1 ]; then
	PF=$T/pf PP=$(freeport) VM=$T/vmail
	mkdir -p "$PF/queue" "$PF/data" "$VM"
	chown postfix:postfix "$PF/data"
	chown 65534:65534 "$VM"
	cat >"$PF/main.cf" <<-EOF
	compatibility_level = 3.6
	config_directory = $PF
	queue_directory = $PF/queue
	data_directory = $PF/data
	maillog_file = $PF/maillog
	maillog_file_prefixes = $PF
	myhostname = pf.ours.test
	mydestination =
	inet_interfaces = 127.0.0.1
	inet_protocols = ipv4
	mynetworks = 127.0.0.2/32
	smtpd_relay_restrictions = permit_mynetworks reject_unauth_destination
	default_transport = error:nothing leaves this test
	relay_transport = error:nothing leaves this test
	alias_maps =
	alias_database =
	local_recipient_maps =
	biff = no
	smtputf8_enable = no
	smtpd_tls_security_level = none
	virtual_mailbox_domains = ours.test
	virtual_mailbox_base = $VM
	virtual_mailbox_maps = static:mbox
	virtual_uid_maps = static:65534
	virtual_gid_maps = static:65534
	virtual_minimum_uid = 100
	EOF
	awk -v port="$PP" '
		/^#/ || /^[ \t]/ || NF < 8 { print; next }
		$1 == "smtp" && $2 == "inet" { $1 = "127.0.0.1:" port }
		{ if ($5 == "y") $5 = "n"; print }
	' /etc/postfix/master.cf >"$PF/master.cf"
	if postfix -c "$PF" start >"$T/pf.log" 2>&1 && waitport "$PP"; then
		cat "$PF/queue/pid/master.pid" >>"$T/pids"
		pfwait() {	# pfwait N: until the mbox holds N messages (10 s)
			i=0; while [ "$(mbx "$VM/mbox" count)" -lt "$1" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
		}
		sm -h client.test "tcp!127.0.0.1!$PP" client.test!alice bob@ours.test <"$T/m1"
		is "$st" 0 "postfix: smtp exits 0 $out"
		pfwait 1
		is "$(mbx "$VM/mbox" count)" 1 "postfix: the message is in the mailbox"
		mbx "$VM/mbox" body 0 >"$T/got1"
		check "postfix: the body arrives byte for byte (dots, 8 bits, spaces)" cmp -s "$T/got1" "$T/body1" ||
			diff "$T/body1" "$T/got1" | sed 's/^/#   /'
		h=$(mbx "$VM/mbox" hdr 0 Message-ID Date From To Return-Path Subject)
		like "$h" '^Message-ID 1 <.+@.+>$' "postfix: one Message-ID added"
		like "$h" '^Date 1 [A-Z][a-z][a-z], ' "postfix: one Date added"
		like "$h" '^From 1 .*alice@client\.test' "postfix: one From added"
		like "$h" '^To 1 .*bob@ours\.test' "postfix: one To added"
		like "$h" '^Return-Path 1 <alice@client\.test>$' "postfix: the bang sender became alice@client.test"
		like "$h" '^Subject 1 bare$' "postfix: the Subject is kept"
		sm -h client.test "tcp!127.0.0.1!$PP" alice@client.test bob@ours.test <"$T/m2"
		is "$st" 0 "postfix: a message with all headers: exit 0 $out"
		pfwait 2
		h=$(mbx "$VM/mbox" hdr 1 Message-ID Date From To)
		is "$h" "$(printf 'Message-ID 1 <given.1@client.test>\nDate 1 Mon, 1 Jan 2024 00:00:00 +0000\nFrom 1 Alice <alice@client.test>\nTo 1 Bob <bob@ours.test>')" \
			"postfix: headers present are kept, not duplicated"
		is "$(mbx "$VM/mbox" body 1)" "body two" "postfix: its body"
		sm -h client.test "tcp!127.0.0.1!$PP" alice bob@ours.test <"$T/m2"
		is "$st" 0 "postfix: an unqualified sender: exit 0 $out"
		pfwait 3
		like "$(mbx "$VM/mbox" hdr 2 Return-Path)" '^Return-Path 1 <alice@client\.test>$' "postfix: the sender qualified with -h"
		sm -h client.test .ours.test "tcp!127.0.0.1!$PP" alice@client.test bob <"$T/m2"
		is "$st" 0 "postfix: an unqualified recipient with .domain: exit 0 $out"
		pfwait 4
		like "$(mbx "$VM/mbox" hdr 3 Delivered-To)" '^Delivered-To 1 bob@ours\.test$' "postfix: the recipient qualified with .domain"
		sm "tcp!127.0.0.1!$PP" /dev/null bob@ours.test <"$T/m2"
		is "$st" 0 "postfix: /dev/null sender: exit 0 $out"
		pfwait 5
		like "$(mbx "$VM/mbox" hdr 4 Return-Path)" '^Return-Path 1 <>$' "postfix: /dev/null is the null sender"
		sm -h client.test "tcp!127.0.0.1!$PP" alice nobody@elsewhere.test <"$T/m2"
		is "$st" 69 "postfix: relaying denied at RCPT is permanent (exit 69)"
		like "$out" "Permanent Failure" "and says Permanent Failure"
		postfix -c "$PF" stop >/dev/null 2>&1
	else
		notok "a private postfix starts on 127.0.0.1:$PP"
		sed 's/^/#   /' "$T/pf.log"; tail -5 "$PF/maillog" 2>/dev/null | sed 's/^/#   /'
	fi
else
	diag "no postfix, or not root: Postfix as the receiver skipped"
fi

# ==== 2. smtp-sink: accepting, and refusing at each step
SP=$(freeport)
sink s0 127.0.0.1 "$SP"
sm -h client.test "tcp!127.0.0.1!$SP" alice bob@sink.test <"$T/m1"
is "$st" 0 "smtp-sink: exit 0 $out"
f=$(ls "$T/s0"/* 2>/dev/null | head -1)
like "$(cat "$f" 2>/dev/null)" '^X-Rcpt-Args: <bob@sink\.test>$' "smtp-sink: RCPT TO:<bob@sink.test>"
like "$(cat "$f" 2>/dev/null)" '^X-Mail-Args: <alice@client\.test>' "smtp-sink: MAIL FROM:<alice@client.test>"
like "$(cat "$f" 2>/dev/null)" '^caf.* eight bits$' "smtp-sink: 8BITMIME offered, the 8-bit line goes as it is"
kill "$pid"
P6=$(python3 -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0)); print(s.getsockname()[1])' 2>/dev/null)
if [ -n "$P6" ]; then
	sink s6 '[::1]' "$P6"
	sm -h client.test "tcp![::1]!$P6" client.test!alice sink.test!carol <"$T/m2"
	is "$st" 0 "tcp![::1]!port: exit 0 $out"
	sm -h client.test "net![::1]!$P6" alice carol@sink.test <"$T/m2"
	is "$st" 0 "net![::1]!port: exit 0 $out"
	is "$(texts s6)" 2 "smtp-sink on ::1 got both"
	like "$(cat "$T"/s6/* 2>/dev/null)" '^X-Rcpt-Args: <carol@sink\.test>$' "a bang recipient goes as carol@sink.test"
	kill "$pid"
else
	diag "no IPv6 loopback: [::1] skipped"
fi
sink s1 127.0.0.1 "$SP" -8
sm -h client.test "tcp!127.0.0.1!$SP" alice bob@sink.test <"$T/m1"
is "$st" 0 "smtp-sink -8 (no 8BITMIME): exit 0 $out"
f=$(ls "$T/s1"/* 2>/dev/null | head -1)
like "$(cat "$f" 2>/dev/null)" '^Content-Transfer-Encoding: quoted-printable' "an 8-bit body becomes quoted-printable"
like "$(cat "$f" 2>/dev/null)" '^caf=C3=A9 =C3=BF eight bits' "and the 8-bit line is encoded"
check "and no 8-bit byte is left" sh -c "! LC_ALL=C grep -q '[^ -~	]' '$f'"
kill "$pid"
# a multipart message: only its 8-bit part is re-encoded, the structure stays
printf 'Subject: mp\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="BB"\n\npreamble\n--BB\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\ncaf\303\251 = good\n--BB\nContent-Type: text/plain\n\nplain ascii\n--BB--\n' >"$T/mp"
sink s1m 127.0.0.1 "$SP" -8
sm -h client.test "tcp!127.0.0.1!$SP" alice bob@sink.test <"$T/mp"
f=$(ls "$T/s1m"/* 2>/dev/null | head -1)
out=$(python3 - "$f" <<'PY' 2>&1
import email, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"))
a, b = m.get_payload()
print(a["Content-Transfer-Encoding"], repr(a.get_payload(decode=True).decode()), b["Content-Transfer-Encoding"], repr(b.get_payload()))
PY
)
is "$out" "quoted-printable 'café = good' None 'plain ascii'" "multipart: the 8-bit part becomes quoted-printable, the others stay"
check "and no 8-bit byte is left" sh -c "! LC_ALL=C grep -q '[^ -~	]' '$f'"
kill "$pid"
# sinkfail NAME WANT DESC OPTIONS...: a sink refusing at some step; smtp's status
sinkfail() {
	n=$1 want=$2 d=$3; shift 3
	sink "$n" 127.0.0.1 "$SP" "$@"
	sm -h client.test "tcp!127.0.0.1!$SP" alice bob@sink.test carol@sink.test <"$T/m1"
	is "$st" "$want" "$d: exit $want"
	case $want in
	75) like "$out" "Retry" "$d: says Retry" ;;
	69) like "$out" "Permanent Failure" "$d: says Permanent Failure" ;;
	esac
	kill "$pid"; wait "$pid" 2>/dev/null
}
sinkfail s2 75 "RCPT 4xx" -r RCPT
is "$(texts s2)" 0 "RCPT 4xx: no DATA was sent"
sinkfail s3 69 "RCPT 5xx" -f RCPT
is "$(texts s3)" 0 "RCPT 5xx: no DATA was sent"
sinkfail s4 75 "4xx after the text" -r .
sinkfail s5 69 "5xx after the text" -f .
sinkfail s6 75 "connection lost before the final reply" -q .
sinkfail s7 75 "421 to DATA" -Q DATA
sinkfail s8 75 "MAIL 4xx" -r MAIL
sinkfail s9 69 "MAIL 5xx" -f MAIL
sinkfail s10 75 "421 greeting" -Q CONNECT
sinkfail s11 69 "5xx greeting" -f CONNECT
sinkfail s12 75 "connection lost at the greeting" -q CONNECT
# a server that stops reading and hangs up while a big text is on its way:
# the writes fail, and that must be a status, not death by SIGPIPE
sink s13 127.0.0.1 "$SP" -A 0
{ printf 'Subject: big\n\n'; head -c 3000000 /dev/zero | tr '\0' x | fold -w 70; } >"$T/m5"
sts=""
for i in 1 2 3 4 5 6 7 8; do sm -h client.test "tcp!127.0.0.1!$SP" alice bob@sink.test <"$T/m5"; sts="$sts $st"; done
like "$sts" '^( (75|69))+$' "a server hanging up mid-text: exit 75 or 69 every time, never a signal"
kill "$pid"; wait "$pid" 2>/dev/null
sm -h client.test "tcp!127.0.0.1!$SP" alice bob@sink.test <"$T/m1"
is "$st" 75 "nothing listening: exit 75"
like "$out" "Retry" "nothing listening: says Retry"

# ---- the scripted peer: per-recipient replies, SIZE, bare CR/LF, -p
PS=$(freeport)
peer p1 127.0.0.1 "$PS" 'rcpt.bad=550 5.1.1 no such user' 'rcpt.temp=451 4.3.0 try later'
sm -h client.test "tcp!127.0.0.1!$PS" alice good1@peer.test bad1@peer.test good2@peer.test <"$T/m1"
is "$st" 69 "one RCPT 5xx, two OK: exit 69"
like "$out" "Permanent Failure" "and says Permanent Failure"
like "$out" "bad1@peer\.test" "naming the refused recipient"
check "and not the others" sh -c "! printf '%s' \"\$1\" | grep -q good1" x "$out"
is "$(accepted p1)" 1 "the message went to the two others"
is "$(grep -c '^RCPT' "$T/p1/log")" 3 "three RCPTs were sent"
: >"$T/p1/log"
sm -h client.test "tcp!127.0.0.1!$PS" alice good1@peer.test temp1@peer.test bad1@peer.test <"$T/m1"
is "$st" 75 "one RCPT 4xx: exit 75"
like "$out" "Retry" "and says Retry"
is "$(accepted p1)" 1 "and nothing was sent"
check "no DATA after a RCPT 4xx" sh -c "! grep -q '^DATA' '$T/p1/log'"
: >"$T/p1/log"
sm -p -h client.test "tcp!127.0.0.1!$PS" alice good1@peer.test <"$T/m1"
is "$st" 0 "-p: recipients verified: exit 0"
check "-p sends no DATA" sh -c "! grep -q '^DATA' '$T/p1/log'"
like "$(cat "$T/p1/log")" "^RCPT TO:<good1@peer\.test>" "-p sends the RCPT"
sm -p -h client.test "tcp!127.0.0.1!$PS" alice bad1@peer.test <"$T/m1"
is "$st" 69 "-p: a refused recipient: exit 69"
sm -p -h client.test "tcp!127.0.0.1!$PS" alice temp1@peer.test <"$T/m1"
is "$st" 75 "-p: a temporary refusal: exit 75"
is "$(accepted p1)" 1 "-p never sent a message"
: >"$T/p1/log"
sm -h client.test "tcp!127.0.0.1!$PS" alice good1@peer.test <"$T/m3"
is "$st" 0 "bare CR and LF in the message: exit 0 $out"
t=$(ls -t "$T"/p1/text.* | head -1)
check "no bare CR or LF went on the wire" crlfonly "$t"
is "$(grep -c '^MAIL' "$T/p1/log")" 1 "and only one MAIL: nothing smuggled"
kill "$pid"
peer p2 127.0.0.1 "$PS" 'ehlo=PIPELINING,8BITMIME,SIZE 1000'
head -c 3000 /dev/zero | tr '\0' x | fold -w 70 >"$T/big"
{ printf 'Subject: big\n\n'; cat "$T/big"; } >"$T/m4"
sm -h client.test "tcp!127.0.0.1!$PS" alice good1@peer.test <"$T/m4"
is "$st" 69 "a message over the server's SIZE: exit 69"
check "refused before DATA" sh -c "! grep -q '^DATA' '$T/p2/log'"
kill "$pid"

# ==== 3. our smtpd: STARTTLS, pins, implicit TLS, AUTH
SR=$T/srv
mkdir -p "$SR/box/carol" "$SR/lib" "$SR/log" "$SR/tmp" "$SR/queue"
cp -R "$top/configs/root/lib/." "$SR/lib/"
printf 'carol\ts3cret\n' >"$SR/lib/secrets"
chmod 600 "$SR/lib/secrets"
CB=$SR/box/carol/mbox
mkca ca
mkcert rsa mx mx.ours.test ca
mkcert rsa self mx.ours.test
srv() {	# srv ARGS...: listen under the server's root; sets $pid
	spawn env UPASROOT="$SR" "$UPAS" listen -q "$@"
}
PT=$(freeport); srv "tcp!127.0.0.1!$PT" smtpd -h ours.test -c "$T/mx.crt" -K "$T/mx.key"
PL=$(freeport); srv "tcp!127.0.0.1!$PL" smtpd -h ours.test -c "$T/self.crt" -K "$T/self.key"
PN=$(freeport); srv "tcp!127.0.0.1!$PN" smtpd -h ours.test -p
PI=$(freeport); srv -c "$T/mx.crt" -k "$T/mx.key" "tcp!127.0.0.1!$PI" smtpd -h ours.test
for p in $PT $PL $PN $PI; do waitport "$p" || diag "smtpd did not start on $p"; done
cp "$T/ca.crt" "$UPASROOT/lib/tls/ca.pem"
# last: the Received: line of the last message in carol's mailbox
last() { python3 -c '
import mailbox, sys
b = mailbox.mbox(sys.argv[1], create=False); m = b[list(b.keys())[-1]]
print(" ".join(m["Received"].split()), "|", m["Subject"])' "$CB" 2>/dev/null; }
carol() { mbx "$CB" count; }

sm -s -l -h client.test "tcp!mx.ours.test!$PT" alice carol@ours.test <"$T/m1"
is "$st" 0 "-s: CA-signed certificate with the right name: exit 0 $out"
like "$(last)" "with ESMTPS .*\| bare$" "the server's Received: says ESMTPS"
sm -s -l -h client.test "net!ours.test!$PT" alice carol@ours.test <"$T/m2"
is "$st" 0 "-s through the MX name: exit 0 $out"
n=$(carol)
sm -s -l -h client.test "tcp!other.ours.test!$PT" alice carol@ours.test <"$T/m1"
is "$st" 69 "-s: the wrong host name is permanent (exit 69)"
like "$out" "other\.ours\.test" "and names the host"
is "$(carol)" "$n" "and nothing was delivered"
sm -s -l -h client.test "tcp!mx.ours.test!$PL" alice carol@ours.test <"$T/m1"
is "$st" 69 "-s: a self-signed certificate, no pin: exit 69"
is "$(carol)" "$n" "and nothing was delivered"
der() { openssl x509 -in "$T/$1.crt" -outform der; }
hex() { der "$1" | openssl dgst -sha256 | sed 's/.*= *//'; }
echo "x509 sha256=$(hex self)" >"$UPASROOT/lib/tls/smtp"
sm -s -l -h client.test "tcp!mx.ours.test!$PL" alice carol@ours.test <"$T/m1"
is "$st" 0 "-s: the pinned sha256 thumbprint is accepted $out"
like "$(last)" "with ESMTPS" "over TLS"
echo "x509 sha1=$(der self | openssl dgst -sha1 | sed 's/.*= *//')" >"$UPASROOT/lib/tls/smtp"
sm -s -l -h client.test "tcp!mx.ours.test!$PL" alice carol@ours.test <"$T/m1"
is "$st" 0 "-s: a sha1 pin too $out"
n=$(carol)
echo "x509 sha256=$(hex mx)" >"$UPASROOT/lib/tls/smtp"
sm -s -l -h client.test "tcp!mx.ours.test!$PL" alice carol@ours.test <"$T/m1"
is "$st" 69 "-s: a pin mismatch is permanent (exit 69)"
like "$out" "$(hex self)" "and names the certificate's sha256"
is "$(carol)" "$n" "and nothing was delivered"
rm -f "$UPASROOT/lib/tls/smtp"
sm -o -h client.test "tcp!127.0.0.1!$PL" alice carol@ours.test <"$T/m2"
is "$st" 0 "-o: a self-signed certificate is fine $out"
like "$(last)" "with ESMTPS" "and TLS was used"
sm -o -h client.test "tcp!127.0.0.1!$PN" alice carol@ours.test <"$T/m2"
is "$st" 0 "-o without STARTTLS offered: plaintext $out"
like "$(last)" "with ESMTP for" "Received: says ESMTP"
sm -t -l -h client.test "tcp!mx.ours.test!$PI" alice carol@ours.test <"$T/m2"
is "$st" 0 "-t: implicit TLS to listen -c $out"

# AUTH: lib/secrets on the server, box/USER/keys on the client. The key's
# user= is the -u name; smtp reads the file as that user, so as root box/carol
# must belong to someone else (uid 4242 here).
keys() {	# keys USER PASSWORD
	mkdir -p "$UPASROOT/box/$1"
	{
	echo "key proto=pass service=smtp server=mx.ours.test user=carol !password=$2"
	echo "key proto=pass service=smtp server=127.0.0.1 user=carol !password=$2"
	} >"$UPASROOT/box/$1/keys"
	chmod 600 "$UPASROOT/box/$1/keys"
	[ "$1" = carol ] && [ $root = 1 ] && chown -R 4242:4242 "$UPASROOT/box/carol"
}
keys carol s3cret
sm -a -s -l -u carol -h client.test "tcp!mx.ours.test!$PT" alice carol@ours.test <"$T/m2"
is "$st" 0 "-a -s: AUTH (CRAM-MD5) under STARTTLS $out"
like "$(last)" "with ESMTPSA" "the server's Received: says ESMTPSA"
like "$(tail -3 "$SR/log/smtpd")" "CRAM-MD5" "the server logged CRAM-MD5"
for mech in LOGIN PLAIN; do
	PX=$(freeport)
	spawn python3 "$T/peer.py" tlsproxy "$PX" "$PT" "$mech" "$T/self.crt" "$T/self.key"
	waitport "$PX"
	sm -a -o -u carol -h client.test "tcp!127.0.0.1!$PX" alice carol@ours.test <"$T/m2"
	is "$st" 0 "-a -o: AUTH $mech under STARTTLS when only $mech is offered $out"
	like "$(last)" "with ESMTPSA" "the server's Received: says ESMTPSA"
	like "$(grep -i "$mech" "$SR/log/smtpd" | tail -1)" "carol" "the server logged $mech for carol"
	kill "$pid"
done
PX=$(freeport)
spawn python3 "$T/peer.py" proxy "$PX" "$PN" PLAIN
waitport "$PX"
sm -a -i -u carol -h client.test "tcp!127.0.0.1!$PX" alice carol@ours.test <"$T/m2"
is "$st" 0 "-a -i: AUTH PLAIN without TLS $out"
like "$(last)" "with ESMTPA" "the server's Received: says ESMTPA"
kill "$pid"
if [ $root = 1 ]; then
	keys root s3cret
	sm -a -s -l -h client.test "tcp!mx.ours.test!$PT" alice carol@ours.test <"$T/m2"
	is "$st" 0 "-a without -u: root's keys $out"
fi
keys carol wrong
n=$(carol)
sm -a -s -l -u carol -h client.test "tcp!mx.ours.test!$PT" alice carol@ours.test <"$T/m2"
is "$st" 69 "-a: a wrong password is permanent (exit 69)"
like "$out" "535" "and shows the 535"
is "$(carol)" "$n" "and nothing was delivered"
keys carol s3cret
sm -a -l -u carol -h client.test "tcp!mx.ours.test!$PN" alice carol@ours.test <"$T/m2"
is "$st" 0 "-a without TLS or -i: sent without AUTH $out"
like "$(last)" "with ESMTP for" "the server's Received: says ESMTP, not ESMTPA"

# ==== 4. MX records from dnsmasq
MP=$(freeports 127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5 127.0.0.6)
sink mxa 127.0.0.2 "$MP"
sink mxb 127.0.0.3 "$MP"
sink mx421 127.0.0.5 "$MP" -Q CONNECT
sink mx450 127.0.0.6 "$MP" -r CONNECT
both() { echo "$(texts mxa):$(texts mxb)"; }
sm -l -h client.test "net!pref.test!$MP" alice bob@pref.test <"$T/m2"
is "$st:$(both)" "0:1:0" "MX: the lower preference (127.0.0.2) gets the mail $out"
sm -l -h client.test "net!down.test!$MP" alice bob@down.test <"$T/m2"
is "$st:$(both)" "0:1:1" "MX: the first refuses connections, the next gets it $out"
sm -l -h client.test "net!busy.test!$MP" alice bob@busy.test <"$T/m2"
is "$st:$(both)" "0:1:2" "MX: the first greets 421, the next gets it $out"
sm -l -h client.test "net!later.test!$MP" alice bob@later.test <"$T/m2"
is "$st:$(both)" "0:1:3" "MX: the first greets 450, the next gets it $out"
sm -l -b mxa.pref.test -h client.test "net!pref.test!$MP" alice bob@pref.test <"$T/m2"
is "$st:$(both)" "0:1:4" "-b mxa.pref.test skips that MX $out"
sm -l -g gw.test -h client.test "net!nowhere.test!$MP" alice bob@nowhere.test <"$T/m2"
is "$st:$(both)" "0:1:5" "-g: a domain without MX or address goes to the gateway $out"
sm -h client.test "net!pref.test!$MP" alice bob@pref.test <"$T/m2"
is "$st" 69 "without -l an MX on loopback is a mail loop: permanent (exit 69)"
like "$out" "loopback" "and says why"
is "$(both)" "1:5" "and nothing was sent"
sm -l -h client.test "net!nx.test!$MP" alice bob@nx.test <"$T/m2"
is "$st" 69 "NXDOMAIN is permanent (exit 69)"
like "$out" "nx\.test" "and names the domain"
sm -l -h client.test "net!nowhere.test!$MP" alice bob@nowhere.test <"$T/m2"
is "$st" 69 "no MX and no address, no gateway: permanent (exit 69)"

# ==== 5. the pipeline: sendmail, rewrite, qer -K, runq, remotemail, smtp
# (remotemail dials net!DOMAIN: port 25 on the MX, which only root can open)
port25=0
[ $root = 1 ] && python3 -c '
import socket
for a in ("127.0.0.7", "127.0.0.8", "127.0.0.9"):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a, 25))' 2>/dev/null && port25=1
if [ $port25 = 1 ]; then
	echo "-l" >"$UPASROOT/lib/remotemail"
	mkdir -p "$UPASROOT/box/alice"
	AB=$UPASROOT/box/alice/mbox
	# qjobs: queued jobs. settle: until runq has logged one more outcome and
	# no process holds a queue lock (probing the lock with flock would make a
	# starting runq think another one has the queue, so /proc is read instead)
	qjobs() { ls "$UPASROOT"/queue/*/C.* 2>/dev/null | wc -l | tr -d ' '; }
	outcomes() { cat "$UPASROOT/log/runq" 2>/dev/null | grep -c ' runq\['; }
	settle() {
		waitn $(($1 + 1)) outcomes
		python3 - "$UPASROOT/queue" <<-'PY' || diag "a runq still holds the queue"
		import os, sys, time
		q = os.path.realpath(sys.argv[1])
		for i in range(100):
		    held = False
		    for p in os.listdir("/proc"):
		        try:
		            for fd in os.listdir("/proc/%s/fd" % p):
		                t = os.readlink("/proc/%s/fd/%s" % (p, fd))
		                if t.startswith(q) and t.endswith("/L.runq"):
		                    held = True
		        except OSError:
		            pass
		    if not held:
		        sys.exit(0)
		    time.sleep(0.05)
		sys.exit(1)
		PY
	}
	pmsg() {	# pmsg RCPT SUBJECT
		printf 'To: %s\nSubject: %s\n\npipeline body %s\n' "$1" "$2" "$2" |
			"$UPAS" sendmail -t -f alice
	}
	sink r25 127.0.0.7 25
	o=$(outcomes)
	pmsg bob@remote.test pipe1; st=$?
	is "$st" 0 "sendmail -t to a remote address exits 0"
	settle "$o"; waitn 1 texts r25
	is "$(texts r25):$(qjobs)" "1:0" "queued, run, sent by remotemail and smtp: the sink has it"
	f=$(ls "$T/r25"/* 2>/dev/null | head -1)
	like "$(cat "$f" 2>/dev/null)" '^X-Rcpt-Args: <bob@remote\.test>' "to bob@remote.test"
	like "$(cat "$f" 2>/dev/null)" '^pipeline body pipe1$' "with its body"
	like "$(cat "$UPASROOT/log/runq")" "delivered to bob via net!remote\.test" "runq logged the delivery"

	# 4xx: kept, and retried by a later runq
	sink f25 127.0.0.9 25 -r RCPT
	o=$(outcomes)
	pmsg bob@flaky.test pipe2
	settle "$o"
	is "$(qjobs)" 1 "a 4xx server: the job stays queued"
	like "$(cat "$UPASROOT"/queue/*/E.* 2>/dev/null)" "Retry" "its E file says Retry"
	kill "$pid"; wait "$pid" 2>/dev/null
	sink f25 127.0.0.9 25
	"$UPAS" runq -a - remotemail
	is "$(qjobs)" 1 "within the retry interval a later runq leaves it"
	for e in "$UPASROOT"/queue/*/E.*; do touch -d '31 minutes ago' "$e"; done
	"$UPAS" sendmail -q
	waitn 1 texts f25
	is "$(qjobs):$(texts f25)" "0:1" "after the interval sendmail -q (runq -a) delivers it"
	kill "$pid"; wait "$pid" 2>/dev/null

	# 5xx: a bounce in the sender's mailbox
	sink h25 127.0.0.8 25 -f RCPT
	o=$(outcomes)
	pmsg bob@hard.test pipe3
	settle "$o"
	is "$(qjobs)" 0 "a 5xx server: the job is removed"
	i=0; while [ "$(mbx "$AB" count)" = 0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	b=$(cat "$AB" 2>/dev/null)
	like "$b" "^Subject: permanent failure" "a bounce is in alice's mailbox"
	like "$b" "500 5\.3\.0" "carrying the server's reply"
	like "$b" "^pipeline body pipe3$" "and the original"
	kill "$pid"; wait "$pid" 2>/dev/null

	# a server that reads the text and hangs up without a reply, once
	peer v25 127.0.0.9 25 dropn=1
	o=$(outcomes)
	pmsg bob@flaky.test pipe4
	settle "$o"
	is "$(qjobs):$(texts v25):$(accepted v25)" "1:1:0" "connection lost after the text: kept for a retry"
	like "$(cat "$UPASROOT"/queue/*/E.* 2>/dev/null)" "Retry" "its E file says Retry"
	"$UPAS" runq -E -a - remotemail
	is "$(qjobs):$(texts v25):$(accepted v25)" "0:2:1" "the retry delivers it"
	"$UPAS" runq -E -a - remotemail
	is "$(accepted v25)" 1 "and it is never delivered twice"
	check "the message that was cut off is the same one" cmp -s "$T/v25/text.1" "$T/v25/text.2"
	kill "$pid"
else
	diag "port 25 on 127.0.0.7-9 cannot be had (not root, or taken): the pipeline skipped"
fi

done_testing
