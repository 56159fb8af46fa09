#!/bin/sh
# Security checks, each guarding code named in its comment: no open relay in
# any address form, SMTP smuggling, STARTTLS injection against our clients
# (smtp, fs's POP3 and IMAP), path traversal (IMAP names, fs ctl, marshal -a,
# nedmail w and f), symlinked and hard-linked mailboxes as root, the uid a
# pipeto runs as, lib/secrets refused when others could read it, failed
# logins on imap4d, and bounds: literals, long lines, deep MIME nesting,
# idle clients.
. "$(dirname "$0")/lib.sh"
setup
R=$UPASROOT
cp -r "$top/configs/root/lib/." "$R/lib/"
# remote mail stays queued, so a relayed message would be found there
sed -i "s/qer -K /qer /" "$R/lib/rewrite"
root=0
[ "$(id -u)" = 0 ] && root=1
OWNER=$(id -u)
if [ $root = 1 ]; then
	OWNER=4242	# as root, sessions and deliveries become the box owner
	chmod 755 "$T"
fi
mkdir -p "$R/box/alice"
chown "$OWNER:$OWNER" "$R/box/alice"
MBOX=$R/box/alice/mbox
printf 'alice alicepw\n' >"$R/lib/secrets"
chmod 600 "$R/lib/secrets"
count() { grep -c '^From ' "$MBOX" 2>/dev/null || echo 0; }
queued() { find "$R/queue" -type f -name 'C.*' | wc -l; }
serve() {	# serve VAR [listen-options] -- applet args...: a listen on a free port, its port in VAR
	v=$1; shift
	lo=""
	while [ "$1" != -- ]; do lo="$lo $1"; shift; done
	shift
	p=$(freeport)
	spawn "$UPAS" listen -q $lo tcp!127.0.0.1!$p "$@"
	waitport $p || diag "$* did not start"
	eval "$v=$p"
}

mkca ca
openssl req -new -newkey rsa:2048 -nodes -subj "/CN=mx.ours.test" -keyout "$T/srv.key" -out "$T/srv.csr" 2>/dev/null
printf 'subjectAltName=DNS:mx.ours.test,IP:127.0.0.1\n' >"$T/srv.ext"
openssl x509 -req -in "$T/srv.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" -CAcreateserial -days 2 \
	-extfile "$T/srv.ext" -out "$T/srv.crt" 2>/dev/null
cp "$T/ca.crt" "$R/lib/tls/ca.pem"

serve PS -- smtpd -h ours.test
serve PB -- smtpd -h ours.test -B
serve PT -- smtpd -h ours.test -c "$T/srv.crt" -K "$T/srv.key"

# ==== 1. no open relay: an unauthenticated, untrusted client, the default
# configuration. smtpd.c cmd_rcpt takes a recipient as local only when its
# domain is ours, it has no route and its local part holds none of % ! @;
# core/addr.c refuses the rest (a domainless path, empty labels).
rcpts() {	# rcpts PORT ADDR...: one session, one RCPT each; the RCPT replies, one a line
	p=$1; shift
	s="EHLO x\\r\\nMAIL FROM:<a@b.c>\\r\\n"
	for a; do s="${s}RCPT TO:<$a>\\r\\n"; done
	raw $p "${s}QUIT\\r\\n" | sed -n '/^250 2\.1\.0/,/^221/p' | sed '1d;$d'
}
n0=$(count)
set -- 'other%example.net@ours.test' 'other%example.net@OURS.TEST' '"other%example.net"@ours.test' \
	'other%example.net%ours.test@ours.test' 'example.net!other@ours.test' \
	'OURS.TEST!example.net!other@ours.test' 'ours.test!other@example.net' '"example.net!other"@ours.test' \
	'"other@example.net"@ours.test' '"other\@example.net"@ours.test' '@ours.test:other@example.net' \
	'@ours.test,@ours.test:other@example.net' 'other@[10.0.0.1]' 'other@[127.0.0.1]' 'alice@[127.0.0.1]' \
	'other@[IPv6:::1]' 'other@EXAMPLE.NET' 'alice@ours.test.example.net' 'postmaster@example.net'
out=$(rcpts $PS "$@")
for a; do
	l=$(printf '%s\n' "$out" | head -1); out=$(printf '%s\n' "$out" | sed 1d)
	like "$l" '^550 5\.7\.1 relaying denied' "relay refused: $a"
done
set -- 'other%example.net' 'example.net!other' '"other@example.net"' 'localhost!example.net!other' \
	'other@example.net.' 'alice@ours.test.' 'other%example.net.@ours.test' 'other@example.net@ours.test' \
	'local!"x@example.net"' 'other\@example.net@ours.test'
out=$(rcpts $PS "$@")
for a; do
	l=$(printf '%s\n' "$out" | head -1); out=$(printf '%s\n' "$out" | sed 1d)
	like "$l" '^55[03] 5\.[17]\.[13] ' "refused: $a"
done
# a source route is dropped, never followed: <@example.net:alice@ours.test> is alice
out=$(raw $PS 'EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<@example.net:other@ours.test>\r\nRCPT TO:<@example.net:alice@ours.test>\r\nDATA\r\nSubject: routed\r\n\r\nx\r\n.\r\nQUIT\r\n')
like "$out" '^550 5\.1\.1 other: no such user here' "a source route to our domain: the local part alone, unknown"
like "$out" '^250 2\.0\.0 delivered' "a source route to a local user delivers locally"
is "$(count)" "$((n0 + 1))" "to alice's mailbox"
# the whole way, refused recipients mixed with a good one: nothing queued for elsewhere
out=$(raw $PS 'EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<other%example.net@ours.test>\r\nRCPT TO:<example.net!other@ours.test>\r\nRCPT TO:<alice@ours.test>\r\nDATA\r\nSubject: mixed\r\n\r\nx\r\n.\r\nQUIT\r\n')
like "$out" '^250 2\.0\.0 delivered' "the local recipient of a mixed transaction delivered"
is "$(queued)" 0 "nothing was queued for another host"
like "$(raw $PT 'EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<other@example.net>\r\nQUIT\r\n')" '^550 5\.7\.1 relaying denied' \
	"a loopback peer is not trusted without -t"

# ==== 2. SMTP smuggling: smtpd.c endline ends DATA only at CRLF.CRLF (crlf &&
# b->prevcrlf), flags a bare CR or LF (Dbare) and answers after the real end,
# so nothing inside the text is read as a command. smtpd.sh has LF.LF,
# LF.CRLF, CR.CR, CRLF.LF; here the rest, on the default server and on -B
# (bare LF accepted as a line end, never as part of the end).
n0=$(count)
for v in 'CR.CRLF|x\r.\r\n' 'CRLF.CR|x\r\n.\r' 'CRLF.CRCRLF|x\r\n.\r\r\n' 'LF.CRCRLF|x\n.\r\r\n' \
	'CRLF.NUL|x\r\n.\000\r\n'; do
	name=${v%%|*}; v=${v#*|}
	out=$(raw $PS "EHLO x\\r\\nMAIL FROM:<a@b.c>\\r\\nRCPT TO:<alice@ours.test>\\r\\nDATA\\r\\nSubject: s\\r\\n\\r\\n${v}MAIL FROM:<evil@x.y>\\r\\nRCPT TO:<alice@ours.test>\\r\\nDATA\\r\\nsmuggled\\r\\n.\\r\\nQUIT\\r\\n")
	like "$out" '^5[05]0 5\.[56]\.(0|11) ' "$name: the text is refused after CRLF.CRLF"
	is "$(printf '%s\n' "$out" | grep -c '^354')" 1 "$name: no command ran inside the text"
done
is "$(count)" "$n0" "no smuggled message was delivered"
out=$(raw $PS 'EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<alice@ours.test>\r\nDATA\r\nSubject: dot space\r\n\r\nx\r\n. \r\nMAIL FROM:<evil@x.y>\r\n.\r\nQUIT\r\n')
is "$(printf '%s\n' "$out" | grep -c '^250 2\.1\.0')" 1 "CRLF.SP CRLF is text, not the end"
is "$(count)" "$((n0 + 1))" "one message"
n0=$(count)
for v in 'LF.LF|x\n.\n' 'CRLF.LF|x\r\n.\n' 'LF.CRLF|x\n.\r\n'; do
	name=${v%%|*}; v=${v#*|}
	out=$(raw $PB "EHLO x\\r\\nMAIL FROM:<a@b.c>\\r\\nRCPT TO:<alice@ours.test>\\r\\nDATA\\r\\nSubject: barelf $name\\r\\n\\r\\n${v}MAIL FROM:<evil@x.y>\\r\\nRCPT TO:<alice@ours.test>\\r\\nDATA\\r\\nafter\\r\\n.\\r\\nQUIT\\r\\n")
	is "$(printf '%s\n' "$out" | grep -c '^354')" 1 "-B, $name: not the end, no command ran inside the text"
	like "$out" '^250 2\.0\.0 delivered' "-B, $name: one message, ended by CRLF.CRLF"
done
is "$(count)" "$((n0 + 3))" "-B: three messages, none smuggled"
is "$(sed -n '/^Subject: barelf/,$p' "$MBOX" | grep -c '^MAIL FROM:<evil@x.y>')" 3 "each holding the would-be command as text"
# BDAT: a chunk's octets are text whatever they hold
out=$(raw $PS 'EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<alice@ours.test>\r\nBDAT 56 LAST\r\nSubject: chunk\r\n\r\nx\r\n.\r\nMAIL FROM:<evil@x.y>\r\nRCPT TO:<a\r\nQUIT\r\n')
is "$(printf '%s\n' "$out" | grep -c '^250 2\.1\.0')" 1 "BDAT: a dot line and MAIL inside a chunk are not commands"

# ==== 3. STARTTLS injection against our clients (CVE-2011-0411's client side,
# "NO STARTTLS" 2021): a proxy in front of our own servers writes plaintext
# right behind the server's "go ahead", in the same segment; the client must
# drop it (tls/tls.c tls_starttls_client: bio_discard) and read only what
# comes under TLS. The servers' side is in smtpd.sh, pop3.sh, imap4d.sh.
cat >"$T/inject.py" <<'PY'
import select, socket, socketserver, ssl, sys
port, target, cert, key = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
inject = sys.argv[5].encode().decode("unicode_escape").encode("latin-1")
sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
sctx.load_cert_chain(cert, key)
cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
cctx.check_hostname = False
cctx.verify_mode = ssl.CERT_NONE
class H(socketserver.BaseRequestHandler):
    def handle(self):
        c, u = self.request, socket.create_connection(("127.0.0.1", target))
        buf, asked = b"", False
        while not asked:	# plaintext both ways until the client asks for TLS
            for x in select.select([c, u], [], [], 30)[0]:
                b = x.recv(65536)
                if not b:
                    return
                (c if x is u else u).sendall(b)
                if x is c:
                    buf += b
                    for l in buf.split(b"\n")[:-1]:
                        w = l.split()
                        asked = asked or (len(w) in (1, 2) and w[-1].upper() in (b"STARTTLS", b"STLS"))
                    buf = buf.split(b"\n")[-1]
        line = b""
        while not line.endswith(b"\n"):
            b = u.recv(1)
            if not b:
                return
            line += b
        c.sendall(line + inject)	# one write: the client reads both at once
        u = cctx.wrap_socket(u)
        c = sctx.wrap_socket(c, server_side=True)
        for x in (c, u):
            x.setblocking(False)
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
                y = u if x is c else c
                y.setblocking(True)
                y.sendall(b)
                y.setblocking(False)
socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer.daemon_threads = True
socketserver.ThreadingTCPServer(("127.0.0.1", port), H).serve_forever()
PY
proxy() {	# proxy VAR TARGETPORT INJECT: the injecting proxy on a free port, its port in VAR
	p=$(freeport)
	spawn python3 "$T/inject.py" "$p" "$2" "$T/srv.crt" "$T/srv.key" "$3"
	waitport $p || diag "the proxy did not start"
	eval "$1=$p"
}
# smtp: an injected 554 read as the answer to EHLO would fail the delivery
proxy PX $PT '554 5.7.0 injected\r\n'
n0=$(count)
printf 'Subject: through the proxy\n\nbody\n' >"$T/m1"
out=$(timeout 60 "$UPAS" smtp -s -h client.test "tcp!127.0.0.1!$PX" alice alice@ours.test <"$T/m1" 2>&1); st=$?
is "$st" 0 "smtp -s through an injecting server: delivered"
[ "$st" = 0 ] || diag "$out"
check "the injected reply was never read" sh -c "! printf '%s' \"\$1\" | grep -q injected" x "$out"
is "$(count)" "$((n0 + 1))" "one message arrived"
like "$(sed -n '/^Subject: through the proxy/q;p' "$MBOX" | tail -8)" 'with ESMTPS' "over TLS"
# fs's POP3 and IMAP clients: /pop/ and /imap/ take STLS and STARTTLS when offered
serve PP -- pop3 -t "$T/srv.crt" -K "$T/srv.key"
serve PI -- imap4d -t "$T/srv.crt" -K "$T/srv.key"
proxy PXP $PP '-ERR injected\r\n'
# imapc's tags are u1, u2...: an injected tagged NO would fail the next command
proxy PXI $PI "$(i=1; while [ $i -le 9 ]; do printf 'u%d NO injected\\r\\n' $i; i=$((i + 1)); done)"
L=$(id -un)
mkdir -p "$R/box/$L"
printf 'key proto=pass service=pop3 server=127.0.0.1 user=alice !password=alicepw\nkey proto=pass service=imap server=127.0.0.1 user=alice !password=alicepw\n' >"$R/box/$L/keys"
chmod 600 "$R/box/$L/keys"
out=$(timeout 60 "$UPAS" fs -x -v -f "/pop/127.0.0.1:$PXP/alice" -m "$T/ptree" 2>&1); st=$?
is "$st" 0 "fs /pop/ through an injecting server: STLS, then fetched"
[ "$st" = 0 ] || diag "$out"
like "$out" "$(count) fetched" "every message fetched"
check "the injected -ERR was never read" sh -c "! printf '%s' \"\$1\" | grep -q injected" x "$out"
out=$(timeout 60 "$UPAS" fs -x -v -f "/imap/127.0.0.1:$PXI/alice" -m "$T/itree" 2>&1); st=$?
is "$st" 0 "fs /imap/ through an injecting server: STARTTLS, then fetched"
[ "$st" = 0 ] || diag "$out"
like "$out" "$(count) fetched" "every message fetched"
check "the injected NO was never read" sh -c "! printf '%s' \"\$1\" | grep -q injected" x "$out"

# ==== 4. path traversal
# IMAP names (core/imapname.c imap_path): every component checked, "..", ".",
# empty and absolute refused, no symlink followed on the way or at the end.
# imap4d.sh tries SELECT and CREATE; here DELETE, RENAME both ways, STATUS,
# COPY, APPEND, through a symlinked directory and to a symlinked file.
serve PIP -- imap4d -p
E=$R/box/eve
mkdir -p "$E/Work" "$R/box/victim" "$T/outside"
printf 'eve evepw\nalice alicepw\n' >"$R/lib/secrets"
echo precious >"$R/box/victim/mbox"
printf 'From a Mon Jan  2 15:04:05 2006\nSubject: outside\n\nx\n' >"$T/outside/inner"
echo secret >"$T/outside/file"
ln -s "$T/outside" "$E/link"
ln -s "$T/outside/inner" "$E/flink"
chown -R "$OWNER:$OWNER" "$E"
chown -h "$OWNER:$OWNER" "$E/link" "$E/flink"
printf 'Subject: eve\n\nx\n' | "$UPAS" send eve
snap() { (cd "$T" && find outside root/box/victim -printf '%p %s %T@\n' | sort; cat outside/* root/box/victim/mbox) | cksum; }
before=$(snap)
out=$(python3 - $PIP <<'PY' 2>&1
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 10)
f = s.makefile("rb")
f.readline()
n = 0
def cmd(c):
    global n
    n += 1
    t = b"t%d" % n
    s.sendall(t + b" " + c + b"\r\n")
    while True:
        l = f.readline()
        if not l or l.startswith(t + b" "):
            return l.decode().strip()
cmd(b"LOGIN eve evepw")
cmd(b"SELECT INBOX")
cmd(b"CREATE Work2")
names = [b'"../victim/mbox"', b'"/tmp"', b"link", b"link/inner", b"flink", b"INBOX/../../victim/mbox",
         b'"Work/../../victim/mbox"', b"..", b'"."', b"Work/.", b'"Work//x"', b'"&AC8-etc"']
for nm in names:
    for c in (b"DELETE " + nm, b"RENAME " + nm + b" stolen", b"RENAME Work2 " + nm, b"STATUS " + nm + b" (MESSAGES)",
              b"COPY 1 " + nm, b"CREATE " + nm + b"/made", b"SELECT " + nm, b"APPEND " + nm + b" {3+}\r\nx\r\n"):
        r = cmd(c)
        print(("refused" if r.split()[1:2] in ([b"NO"], ["NO"], ["BAD"]) else "ALLOWED"), c.decode().split("\r")[0], "|", r)
    cmd(b"SELECT INBOX")
PY
)
is "$(printf '%s\n' "$out" | grep -c '^refused')" 96 "IMAP: DELETE, RENAME, STATUS, COPY, CREATE, SELECT, APPEND refuse every climbing or linked name"
is "$(printf '%s\n' "$out" | grep -E '^refused [A-Z]+ (1 )?f?link' | grep -vc 'symbolic link')" 0 \
	"IMAP: each name through a symlink refused for the symlink"
printf '%s\n' "$out" | grep -E -v '^refused' | while read -r l; do diag "$l"; done
printf '%s\n' "$out" | grep -E '^refused [A-Z]+ (1 )?f?link' | grep -v 'symbolic link' | while read -r l; do diag "$l"; done
is "$(snap)" "$before" "nothing outside eve's box was read into it, written or removed"
check "the symlinks are still there" test -L "$E/link" -a -L "$E/flink"

# fs ctl (applets/fs.c ctl: remove, rename, create go through imapname.c
# imap_delete, imap_rename, imap_create): the same names from the ctl file;
# fs.sh has "../" for each
L=$(id -un)
U=$R/box/$L
mkdir -p "$U/Work"
ln -s "$T/outside" "$U/link"
ln -s "$T/outside/inner" "$U/flink"
printf 'From: a@example.org\nSubject: c\n\nx\n' | "$UNIT" mbappend "$U/ctlbox" a@example.org >/dev/null
spawn "$UPAS" fs -f "$U/ctlbox" -m "$T/ctree" 2>"$T/fserr"
fspid=$pid
waitfor test -p "$T/ctree/ctl" || notok "fs makes its ctl"
ctl() { printf '%s\n' "$*" >"$T/ctree/ctl"; }
n=0
for c in "remove link" "remove -r link" "remove flink" "remove link/inner" "rename link x" "rename flink x" \
	"rename Work link/x" "rename Work flink" "create link/made" "create $T/outside/abs" "remove $T/outside/file" \
	"rename Work $T/outside/moved" "remove Work/../../victim/mbox"; do
	ctl "$c"
	n=$((n + 1))
	waitfor sh -c "test \$(wc -l <'$T/fserr') -ge $n"
	like "$(sed -n "${n}p" "$T/fserr")" "ctl: ${c%% *}: .*(symbolic link|not a name in the mail store|invalid part)" "ctl $c: refused"
done
is "$(snap)" "$before" "nothing outside the user's box changed"
check "the symlinks are still there" test -L "$U/link" -a -L "$U/flink" -a -d "$U/Work"
kill $fspid

# marshal -a (applets/marshal.c attpart: basename_of, mime_param): the
# attachment's file name is the path's last component, quoted or RFC 2231
# encoded, so no name can carry a directory or a header of its own
B=$R/box/$L
printf '#!/bin/sh\ncat >"%s/marshalled"\n' "$T" >"$B/pipefrom"
chmod +x "$B/pipefrom"
mkdir -p "$T/att/sub"
printf 'data\n' >"$T/att/x\";filename=..%2F..%2Fevil"
printf 'data\n' >"$T/att/new
Bcc: evil@example.org
X-Injected: yes"
printf 'body\n' | "$UPAS" marshal -s att -a "$T/att/sub/../x\";filename=..%2F..%2Fevil" -a "$T/att/new
Bcc: evil@example.org
X-Injected: yes" bob@example.com
is "$?" 0 "marshal -a with hostile file names"
out=$(python3 - "$T/marshalled" <<'PY'
import email, email.policy, sys
m = email.message_from_bytes(open(sys.argv[1], "rb").read(), policy=email.policy.default)
for p in m.iter_attachments():
    print(repr(p.get_filename()))
for p in m.walk():
    print("bcc" if p["Bcc"] is not None or p["X-Injected"] is not None else "clean")
PY
)
is "$(printf '%s\n' "$out" | sed -n 1,2p)" "'x\";filename=..%2F..%2Fevil'
'new\\nBcc: evil@example.org\\nX-Injected: yes'" "the file names are the last components, whole"
check "no part gained a header from a name" sh -c "! printf '%s' \"\$1\" | grep -q bcc" x "$out"

# nedmail w (applets/nedmail.c c_w: the name's last component after / or \,
# harmless(), open O_CREAT|O_EXCL|O_NOFOLLOW) and f (fname: harmless() on
# the sender's address, under box/USER/f)
mkdir -p "$T/wdir" "$B/f"
cd "$T/wdir" || exit 1
ln -s "$T/outside/file" planted
for f in 'filename="/tmp/upas-abs.sh"' 'filename="..\\..\\win.sh"' "filename*=utf-8''..%2F..%2Fenc.sh" \
	'filename="=?utf-8?q?..=2F..=2Fq.sh?="' 'filename=".."' 'filename=""' 'filename="-rf"' 'filename=".bashrc"' \
	'filename="planted"' 'filename="../planted"'; do
	printf 'From x@y Mon Jan  2 10:00:00 2023\nFrom: x@y\nSubject: att\nContent-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/plain\n\nhi\n--B\nContent-Type: application/octet-stream\nContent-Disposition: attachment; %s\n\necho pwned\n--B--\n' "$f" >"$T/wmsg"
	printf '1.2w\nx\n' | "$UPAS" nedmail -f "$T/wmsg" >>"$T/wout" 2>&1
done
is "$(ls -A "$T/wdir" | sort | tr '\n' ' ')" "_-rf _.. _.bashrc enc.sh part planted q.sh upas-abs.sh win.sh " \
	"w: every hostile name saved by its harmless last component, here"
like "$(cat "$T/wout")" "can't create planted: File exists" "w: a planted symlink is never written through"
check "w: nothing written to /tmp" test ! -e /tmp/upas-abs.sh
printf 'From ../../x@y Mon Jan  2 10:00:00 2023\nFrom: "../../../outside/pw"@y\nSubject: f\n\nx\n' >"$T/fmsg"
printf '1f\n1fq\nx\n' | "$UPAS" nedmail -f "$T/fmsg" >"$T/fout" 2>&1
like "$(cat "$T/fout")" "saved in $B/f/_" "f: the folder is in box/USER/f, named harmlessly"
is "$(snap)" "$before" "nothing outside changed"
cd "$T" || exit 1

# ==== 5. delivery as root never follows a link the user planted. send.c
# bindlocal: a box directory that is a symlink is no user (lstat, S_ISDIR);
# catmail: a mailbox that is a symlink is refused (lstat), and the append runs
# in a child that became the box owner (priv_owner, priv_become), so a hard
# link to a root file cannot be written either; mb_append opens with
# O_NOFOLLOW, Maildir's tmp/ and new/ with openat O_NOFOLLOW (maildir.c).
# 6. pipeto runs as the box owner, never root (send.c pipetouser).
if [ $root = 1 ]; then
	mkdir -p "$R/box/victim2" "$R/box/hard" "$R/box/sym" "$R/box/md/mbox/cur" "$R/box/md/mbox/tmp" "$R/box/rootbox" \
		"$R/box/pipe" "$R/box/rootpipe" "$R/box/grppipe" "$T/mdout" "$T/pt"
	chmod 777 "$T/pt"
	echo precious >"$R/box/victim2/mbox"
	chown -R 4243:4243 "$R/box/victim2"
	ln -s "$R/box/victim2" "$R/box/evil"
	echo rootonly >"$T/rootfile"
	chmod 600 "$T/rootfile"
	ln "$T/rootfile" "$R/box/hard/mbox"
	ln -s "$T/rootfile" "$R/box/sym/mbox"
	ln -s "$T/mdout" "$R/box/md/mbox/new"
	ln -s "$T/rootfile" "$R/box/rootbox/mbox"
	chown -R 4242:4242 "$R/box/hard" "$R/box/sym" "$R/box/md" "$R/box/pipe"
	chown -h 4242:4242 "$R/box/sym/mbox" "$R/box/md/mbox/new"
	chown 4242:0 "$R/box/grppipe"
	chown 0:0 "$T/rootfile"
	for u in evil hard sym md rootbox; do
		printf 'Subject: to %s\n\nevil\n' $u | "$UPAS" send -r $u >"$T/send.$u" 2>&1
		echo $? >"$T/st.$u"
	done
	is "$(cat "$T/st.evil")" 67 "send: a box directory that is a symlink is an unknown user"
	is "$(cat "$R/box/victim2/mbox")" precious "and the box it points to is untouched"
	check "send: a mailbox hard-linked to a root file fails" test "$(cat "$T/st.hard")" != 0
	check "send: a mailbox symlinked to a root file fails" test "$(cat "$T/st.sym")" != 0
	like "$(cat "$T/send.sym")" 'symbolic link' "and says why"
	check "send: a root-owned box whose mailbox is a symlink fails" test "$(cat "$T/st.rootbox")" != 0
	is "$(cat "$T/rootfile")" rootonly "the root file is untouched"
	is "$(ls "$T/mdout")" "" "a Maildir's new/ that is a symlink is never written through"
	# the same through smtpd (as root, it runs send for each recipient)
	out=$(raw $PS 'EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<evil@ours.test>\r\nRCPT TO:<hard@ours.test>\r\nDATA\r\nSubject: via smtpd\r\n\r\nx\r\n.\r\nRCPT TO:<sym@ours.test>\r\nRCPT TO:<rootbox@ours.test>\r\nQUIT\r\n')
	like "$out" '^550 5\.1\.1 evil: no such user here' "smtpd: a symlinked box directory is no user"
	like "$out" '^(554|451) ' "smtpd: a hard-linked mailbox refuses the message"
	is "$(cat "$T/rootfile")" rootonly "the root file is still untouched"
	# pipeto: the box owner's uid and gid; root's never
	for u in pipe rootpipe grppipe; do
		printf '#!/bin/sh\necho "$(id -u) $(id -g) $upasname" >%s/pt/%s\ncat >/dev/null\n' "$T" $u >"$R/box/$u/pipeto"
		chmod 755 "$R/box/$u/pipeto"
		printf 'Subject: p\n\nx\n' | "$UPAS" send -r $u
	done
	is "$(cat "$T/pt/pipe" 2>/dev/null)" "4242 4242 pipe" "pipeto runs as the box owner, \$upasname set"
	is "$(cat "$T/pt/rootpipe" 2>/dev/null)" "65534 65534 rootpipe" "a root-owned box's pipeto runs as nobody"
	is "$(cat "$T/pt/grppipe" 2>/dev/null)" "4242 65534 grppipe" "a box in root's group: nobody's group"
	# core/priv.c priv_become: no user keeps root's group (deliveries, sessions)
	rm -f "$R/box/grppipe/pipeto"
	printf 'Subject: g\n\nx\n' | "$UPAS" send grppipe
	is "$(stat -c '%u %g' "$R/box/grppipe/mbox" 2>&1)" "4242 65534" "a delivery into a box in root's group runs in nobody's group"
	out=$(printf 'a STATUS INBOX (MESSAGES)\r\nb LOGOUT\r\n' | "$UPAS" imap4d -a grppipe 2>&1)
	like "$out" 'MESSAGES 1' "and imap4d -a serves it"
	rm -f "$T/pt/pipe"
	out=$(raw $PS 'EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<pipe@ours.test>\r\nDATA\r\nSubject: p\r\n\r\nx\r\n.\r\nQUIT\r\n')
	like "$out" '^250 2\.0\.0 delivered' "smtpd: delivered to a pipeto"
	is "$(cat "$T/pt/pipe" 2>/dev/null)" "4242 4242 pipe" "which ran as the box owner"
else
	diag "not root: delivery ownership, links and pipeto's uid not checked"
fi

# ==== 7. lib/secrets (core/keys.c keys_readfile: O_NOFOLLOW, owner, mode
# 077): a file others may read, or someone else's, or a symlink, lets nobody
# in, and the log says why. smtpd.sh has mode 644 for smtpd.
serve PPP -- pop3 -p
serve PSA -- smtpd -h ours.test -p
login3() {	# what imap4d, pop3 and smtpd answer a good password, one line each
	raw $PIP 'a LOGIN alice alicepw\r\nb LOGOUT\r\n' | head -1
	raw $PPP 'USER alice\r\nPASS alicepw\r\nQUIT\r\n' | grep -v 'now PASS' | head -1
	raw $PSA 'EHLO x\r\nAUTH PLAIN AGFsaWNlAGFsaWNlcHc=\r\nQUIT\r\n' | grep -v '^250' | head -1
}
out=$(login3)
like "$out" '^a OK \[CAPABILITY .*\] Logged in' "a 0600 lib/secrets: imap4d lets alice in"
like "$out" '^\+OK alice has [0-9]+ messages' "pop3 too"
like "$out" '^235 2\.7\.0' "smtpd too"
for how in 640 604 owner link; do
	case $how in
	owner) [ $root = 1 ] || continue; chmod 600 "$R/lib/secrets"; chown 4242 "$R/lib/secrets"; why='owned by uid 4242' ;;
	link) chown 0 "$R/lib/secrets" 2>/dev/null; mv "$R/lib/secrets" "$T/secrets"; ln -s "$T/secrets" "$R/lib/secrets"; why='a symbolic link' ;;
	*) chmod $how "$R/lib/secrets"; why="mode $how: group or other may read it" ;;
	esac
	: >"$R/log/imap4d"; : >"$R/log/pop3"; : >"$R/log/smtpd"
	out=$(login3)
	like "$out" '^a NO \[UNAVAILABLE\]' "secrets $how: imap4d lets nobody in"
	like "$out" '^-ERR \[SYS/PERM\]' "secrets $how: pop3 lets nobody in"
	like "$out" '^502 5\.5\.1 AUTH not offered' "secrets $how: smtpd offers no AUTH"
	for a in imap4d pop3 smtpd; do
		like "$(cat "$R/log/$a")" "secrets: $why" "secrets $how: $a logs why"
	done
done
rm -f "$R/lib/secrets"; mv "$T/secrets" "$R/lib/secrets"; chown 0 "$R/lib/secrets" 2>/dev/null; chmod 600 "$R/lib/secrets"

# ==== 8. failed logins (imap4d.c failed: sleep(sasl_delay(n)), then
# LIM_AUTHFAILS ends the session): 1, 2, 4 seconds, then BYE; in the
# background while the bounds below are checked. smtpd.sh and pop3.sh
# have the same for smtpd and pop3.
python3 - $PIP >"$T/fails.out" 2>&1 <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 10)
s.settimeout(20)
f = s.makefile("rb")
f.readline()
out = []
for i in range(3):
    t = time.monotonic()
    s.sendall(b"f%d LOGIN alice wrong%d\r\n" % (i, i))
    l = f.readline().decode().strip()
    out.append("%s/%.1f" % (l.split(" ")[1] if l.startswith("f") else l, time.monotonic() - t))
rest = f.read().decode().replace("\r\n", " ").strip()
print(" ".join(out), "|", rest)
PY
FAILPID=$!

# ==== 9. bounds
# IMAP literals (core/imap.c literal: n checked against in->maxlit before the
# continuation is sent, the octets read only then): 64 KB outside APPEND,
# 64 MB for APPEND after login; a non-synchronizing one too large ends the
# session, since its octets are on their way
out=$(python3 - $PIP <<'PY' 2>&1
import socket, sys
def session(cmds, login=False):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 10)
    s.settimeout(5)
    f = s.makefile("rb")
    f.readline()
    got = []
    if login:
        s.sendall(b"l LOGIN alice alicepw\r\n")
        while not f.readline().startswith(b"l "):
            pass
    for c in cmds:
        s.sendall(c + b"\r\n")
        try:
            l = f.readline().decode().strip()
        except socket.timeout:
            l = "<timeout>"
        except OSError:
            l = ""	# reset: closed with our octets unread
        got.append(l or "<closed>")
    return got
print("pre", session([b"a LOGIN {999999999}", b"b LOGIN {65537}", b"c NOOP"]))
print("post", session([b"a APPEND INBOX {999999999}", b"b APPEND INBOX {67108865}", b"c CREATE {65537}",
                       b"d APPEND INBOX {1099511627777}", b"e NOOP"], True))
print("many", session([b"m LOGIN" + b" {1+}\r\nx" * 65, b"n NOOP"]))
print("plus", session([b"p LOGIN {999999999+}", b"q NOOP"]))
PY
)
like "$out" "pre \\['a BAD [^']*', 'b BAD [^']*', 'c OK" "before login: literals over 64 KB refused with no continuation, the session goes on"
like "$out" "post \\['a BAD [^']*', 'b BAD [^']*', 'c BAD [^']*', 'd BAD [^']*', 'e OK" "after login: over 64 MB for APPEND, 64 KB else, refused the same way"
like "$out" "many \\['\\* BYE [^']*', '<closed>'\\]" "65 literals in one command: refused (here {1+}, so the session ends)"
like "$out" "plus \\['\\* BYE [^']*', '<closed>'\\]" "a {n+} literal too large ends the session"

# smtpd DATA (smtpd.c putbyte: the line buffer stops at LIM_TEXTLINE, the
# rest only counted; bodyline: the header held in memory up to
# LIM_MSGHDRSIZE): a 3 MB line, a 3 MB header
python3 - $PS >"$T/long.out" 2>&1 <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 10)
s.settimeout(30)
s.sendall(b"EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<alice@ours.test>\r\nDATA\r\n")
s.sendall(b"Subject: long line\r\n\r\n" + b"x" * (3 << 20) + b"\r\n.\r\n")
s.sendall(b"MAIL FROM:<a@b.c>\r\nRCPT TO:<alice@ours.test>\r\nDATA\r\nSubject: long header\r\n")
s.sendall(b"".join(b"X-H%d: %s\r\n" % (i, b"y" * 900) for i in range(3500)) + b"\r\nbody\r\n.\r\nQUIT\r\n")
out = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    out += b
print(out.decode().replace("\r", ""))
PY
like "$(cat "$T/long.out")" '^500 5\.5\.6 text line longer' "smtpd: a 3 MB line is refused after the text"
like "$(cat "$T/long.out")" '^250 2\.0\.0 delivered' "smtpd: a 3 MB header is taken in bounded memory"
like "$(cat "$T/long.out")" '^221 ' "and the session goes on"

# message parsing (core/msg.c parse: LIM_MSGDEPTH, LIM_MSGPARTS; line:
# LIM_MSGLINE): 10000 multiparts nested, 20000 side by side, a 2 MB header
# line; imap4d answers NO [PARSE] for what needs the structure (imap4d.c
# fetchone, not "expunged") and BODY[] whole; nedmail shows them as stored
mkdir -p "$R/box/deep"
chown "$OWNER:$OWNER" "$R/box/deep"
python3 - "$T" <<'PY'
import sys
T = sys.argv[1]
n = 10000
p = ["From: d@example.org\nSubject: nested\nContent-Type: multipart/mixed; boundary=b0\n\n"]
for i in range(n):
    p.append("--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n" % (i, i + 1))
p.append("--b%d\nContent-Type: text/plain\n\nbottom\n" % n)
for i in reversed(range(n + 1)):
    p.append("--b%d--\n" % i)
open(T + "/nested.eml", "w").write("".join(p))
p = ["From: d@example.org\nSubject: wide\nContent-Type: multipart/mixed; boundary=w\n\n"]
p += ["--w\nContent-Type: text/plain\n\n%d\n" % i for i in range(20000)]
open(T + "/wide.eml", "w").write("".join(p) + "--w--\n")
open(T + "/longhdr.eml", "w").write("From: d@example.org\nSubject: long header line\nX-Long: " + "z" * (2 << 20) + "\n\nbody\n")
PY
for m in nested wide longhdr; do "$UPAS" send deep <"$T/$m.eml"; done
printf 'deep deeppw\n' >>"$R/lib/secrets"
out=$(python3 - $PIP <<'PY' 2>&1
import imaplib, sys, time
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]), timeout=30)
m.login("deep", "deeppw")
m.select("INBOX")
t = time.monotonic()
for i in (1, 2, 3):
    for it in ("BODYSTRUCTURE", "BODY.PEEK[1]", "ENVELOPE"):
        typ, d = m.fetch(str(i), "(" + it + ")")
        print(i, it, typ, d[-1].decode()[:40] if typ != "OK" else "")
    typ, d = m.fetch(str(i), "(BODY.PEEK[])")
    print(i, "BODY[]", typ, len(d[0][1]) if typ == "OK" else d)
print("seconds", int(time.monotonic() - t))
print(m.noop()[0])
PY
)
for i in 1 2 3; do
	for it in BODYSTRUCTURE 'BODY.PEEK\[1\]'; do
		like "$out" "^$i $it NO \\[PARSE\\]" "imap4d: message $i (of nested, wide, long line): $it is NO [PARSE]"
	done
done
like "$out" '^1 ENVELOPE OK' "the nested one's ENVELOPE needs only its header"
like "$out" '^3 ENVELOPE NO \[PARSE\]' "the long header line's ENVELOPE is NO [PARSE]"
for i in 1 2 3; do
	like "$out" "^$i BODY\\[\\] OK [0-9]{6,}" "imap4d: BODY[] still gives message $i whole"
done
like "$out" '^OK$' "and the session goes on"
like "$(cat "$R/log/imap4d")" 'uid 1: MIME parts nested too deep' "the log says why"
out=$(cd "$R/box/deep" && printf '1p\n2p\n3p\n1H\nx\n' | timeout 60 "$UPAS" nedmail -f ./mbox 2>&1)
is "$?" 0 "nedmail reads them all"
is "$(printf '%s\n' "$out" | grep -c '^!not parsed')" 3 "and shows each as stored, saying why"
like "$out" 'nested too deep \(limit 50\)' "nesting"
like "$out" 'too many MIME parts' "parts"
like "$out" 'line too long' "line length"
out=$(raw $PPP 'USER deep\r\nPASS deeppw\r\nRETR 1\r\nQUIT\r\n' | grep -c '^--b9999$')
is "$out" 1 "pop3 RETR gives the nested message whole"

# idle clients (core/conn.c conn_wait: the socket's SO_RCVTIMEO, listen -t,
# bounds every wait): each session ends after 2 s of silence
serve PSI -t 2 -- smtpd -h ours.test
serve PPI -t 2 -- pop3 -p
serve PII -t 2 -- imap4d -p
n1=$(count)
idle() {	# idle NAME PORT TEXT: the seconds until the server hangs up, and the last line
	(t0=$(date +%s.%N); out=$(RAWT=15 raw $2 "$3"); t1=$(date +%s.%N)
	printf '%s %s\n' "$(awk "BEGIN { print $t1 - $t0 }")" "$(printf '%s' "$out" | tail -1)" >"$T/idle.$1") &
	idlers="$idlers $!"
}
idlers=""
idle cmd $PSI 'EHLO x\r\n'
idle data $PSI 'EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<alice@ours.test>\r\nDATA\r\nSubject: slow\r\n\r\nhalf a'
idle pop $PPI 'USER alice\r\n'
idle imap $PII 'a NOOP\r\n'
idle imapin $PII 'a LOGIN alice alicepw\r\nb SELECT INBOX\r\n'
wait $idlers
for x in cmd data pop imap imapin; do
	set -- $(cat "$T/idle.$x")
	check "idle $x: the session ended by itself" test "${2:-<timeout>}" != "<timeout>"
	check "idle $x: after at least 2 s (${1:-?} s)" awk "BEGIN { exit !(${1:-0} >= 1.9) }"
done
# saying why (core/bio.c: a read that timed out leaves writing to the
# connection); pop3 closes without a word, as RFC 1939 says
like "$(cut -d' ' -f2- "$T/idle.cmd")" '^421 4\.4\.2 .*timeout' "idle smtpd: 421 says why"
like "$(cut -d' ' -f2- "$T/idle.data")" '^421 4\.4\.2 .*DATA' "idle in DATA: 421 says why"
like "$(cut -d' ' -f2- "$T/idle.imap")" '^\* BYE Autologout' "idle imap4d: BYE says why"
like "$(cut -d' ' -f2- "$T/idle.imapin")" '^\* BYE Autologout' "and after login"
is "$(count)" "$n1" "the half-sent message was not delivered"

wait $FAILPID
like "$(cat "$T/fails.out")" '^NO/1\.[0-9] NO/2\.[0-9] NO/4\.[0-9] \| \* BYE Too many failed logins' \
	"imap4d: failed logins answered after 1, 2, 4 s, then BYE"
like "$(cat "$R/log/imap4d")" 'LOGIN alice failed \(3\)' "and logged, counted"
check "no password in the log" sh -c "! grep -q 'wrong[0-9]' \"\$1\"" x "$R/log/imap4d"

done_testing
