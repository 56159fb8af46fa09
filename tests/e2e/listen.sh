#!/bin/sh
# listen: dispatch, plaintext and implicit TLS (openssl s_client, curl), limits,
# garbage and stalled clients, idle timeout, SIGTERM.
. "$(dirname "$0")/lib.sh"
setup

# --- dispatch and usage
out=$("$UPAS" 2>&1); st=$?
like "$out" 'listen' "upas alone lists the applets"
is "$st" 0 "upas alone exits 0"
out=$("$UPAS" --help); like "$out" '^  listen ' "upas --help lists listen with its usage"
"$UPAS" nosuch >/dev/null 2>&1; is $? 64 "unknown applet exits 64"
"$UPAS" listen >/dev/null 2>&1; is $? 64 "listen without arguments exits 64"
out=$("$UPAS" listen -Z x y 2>&1); is $? 64 "bad option exits 64"
like "$out" 'usage: listen ' "bad option prints the usage"
ln -s "$UPAS" "$T/listen"
out=$("$T/listen" 2>&1); st=$?
is "$st" 64 "a link named listen runs listen"
out=$("$UPAS" listen tcp!127.0.0.1!nosuchservice /bin/true 2>&1); is $? 64 "a bad dial string is a usage error"
like "$out" 'unknown service: nosuchservice' "and says why"
"$UPAS" listen -t 5x tcp!127.0.0.1!7 /bin/true >/dev/null 2>&1; is $? 64 "a malformed number is a usage error"
"$UPAS" listen -t 99999999 tcp!127.0.0.1!7 /bin/true >/dev/null 2>&1; is $? 64 "an idle time past a day is refused"
P=$(freeport); spawn python3 -c "import socket,time; s=socket.socket(); s.bind(('127.0.0.1',$P)); s.listen(); time.sleep(30)"
waitport $P
timeout 5 "$UPAS" listen tcp!127.0.0.1!$P /bin/true >/dev/null 2>&1; is $? 69 "a port in use exits 69"

cat >"$T/greet" <<'SH'
#!/bin/sh
echo "hello $TCPREMOTEIP $PROTO"
while read -r l; do echo "echo: $l"; done
SH
cat >"$T/once" <<'SH'
#!/bin/sh
echo "hello $TCPREMOTEIP $PROTO"
read -r l
echo "echo: $l"
SH
cat >"$T/http" <<'SH'
#!/bin/sh
read -r req
printf 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nbehind listen: %s\n' "$req"
SH
chmod +x "$T/greet" "$T/once" "$T/http"

# client PORT TEXT [WAIT]: connect, send TEXT, print what comes back until EOF (2 s max)
client() {
	python3 - "$@" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 3)
s.sendall(sys.argv[2].encode())
s.settimeout(float(sys.argv[3]) if len(sys.argv) > 3 else 2)
out = b""
try:
    while True:
        b = s.recv(4096)
        if not b: break
        out += b
        if len(sys.argv) <= 3 and out.count(b"\n") >= 2: break
except socket.timeout:
    out += b"<timeout>"
sys.stdout.write(out.decode(errors="replace"))
PY
}

# --- plaintext
P=$(freeport)
spawn "$UPAS" listen -l listen.log tcp!127.0.0.1!$P "$T/greet"; LPID=$pid
waitport $P
out=$(client $P "ping
")
like "$out" '^hello 127.0.0.1 TCP' "plaintext: program runs with the peer address in TCPREMOTEIP"
like "$out" 'echo: ping' "plaintext: program reads the connection on fd 0"
sleep 0.3
log=$(cat "$UPASROOT/log/listen.log" 2>/dev/null)
like "$log" "listening on tcp!127.0.0.1!$P" "log: startup line"
like "$log" "127.0.0.1![0-9]+ pid [0-9]+\$" "log: a line per connection"
like "$log" "pid [0-9]+ exit 0 after" "log: the program's exit"

# --- SIGTERM: clean shutdown
kill -TERM $LPID
i=0; while kill -0 $LPID 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
check "SIGTERM stops the listener" sh -c "! kill -0 $LPID 2>/dev/null"
wait $LPID 2>/dev/null; is $? 0 "listener exits 0 on SIGTERM"
check "port closed after SIGTERM" sh -c "! python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", $P), 1)' 2>/dev/null"

# --- limits: per address and total
P=$(freeport)
spawn "$UPAS" listen -q -p 2 -n 3 tcp!127.0.0.1!$P "$T/greet"
waitport $P
sleep 0.3
python3 - $P <<'PY' >"$T/limits"
import socket, sys, time
p = int(sys.argv[1])
held = []
for i in range(2):
    s = socket.create_connection(("127.0.0.1", p), 2); s.settimeout(2)
    held.append((s, s.recv(100)))
time.sleep(0.2)
s = socket.create_connection(("127.0.0.1", p), 2); s.settimeout(2)
try:
    third = s.recv(100)
except Exception as e:
    third = b"<%s>" % str(e).encode()
print("held:", all(b.startswith(b"hello") for _, b in held))
print("third:", repr(third))
for s, _ in held: s.close()
time.sleep(0.5)
s = socket.create_connection(("127.0.0.1", p), 2); s.settimeout(2)
print("after:", repr(s.recv(100)))
PY
out=$(cat "$T/limits")
like "$out" 'held: True' "limits: connections within the limit are served"
like "$out" "third: b''" "limits: one connection too many from an address is closed at once"
like "$out" "after: b'hello" "limits: served again once the others close"

# --- idle timeout in plaintext: the program's reads end
P=$(freeport)
spawn "$UPAS" listen -q -t 1 tcp!127.0.0.1!$P /bin/cat
waitport $P
t0=$(date +%s)
out=$(client $P "x" 5)
t1=$(date +%s)
is "$out" "x" "idle: connection served"
check "idle: silent connection closed after the idle time" test $((t1 - t0)) -le 3

# --- implicit TLS: RSA and EC, openssl s_client and curl
for kind in rsa ec; do
	mkcert $kind srv$kind localhost
	P=$(freeport)
	spawn "$UPAS" listen -q -c "$T/srv$kind.crt" -k "$T/srv$kind.key" tcp!127.0.0.1!$P "$T/once"
	waitport $P
	out=$(echo "over tls" | timeout 10 openssl s_client -connect 127.0.0.1:$P -servername localhost \
		-CAfile "$T/srv$kind.crt" -verify_return_error -quiet 2>&1)
	like "$out" 'hello 127.0.0.1 TCP' "tls $kind: s_client reaches the program"
	like "$out" 'echo: over tls' "tls $kind: bytes flow both ways through the relay"
	P2=$(freeport)
	spawn "$UPAS" listen -q -c "$T/srv$kind.crt" -k "$T/srv$kind.key" tcp!127.0.0.1!$P2 "$T/http"
	waitport $P2
	out=$(curl -sS --max-time 5 --cacert "$T/srv$kind.crt" --resolve localhost:$P2:127.0.0.1 "https://localhost:$P2/x" 2>&1)
	like "$out" '^behind listen: GET /x HTTP' "tls $kind: curl gets a page from the program behind listen"
done

# key and certificate in one file
cat "$T/srvec.crt" "$T/srvec.key" >"$T/both.pem"
P=$(freeport)
spawn "$UPAS" listen -q -c "$T/both.pem" tcp!127.0.0.1!$P "$T/http"
waitport $P
out=$(curl -sS --max-time 5 --cacert "$T/srvec.crt" --resolve localhost:$P:127.0.0.1 "https://localhost:$P/one" 2>&1)
like "$out" 'GET /one' "tls: certificate and key in one file"
out=$("$UPAS" listen -c /nonexistent tcp!127.0.0.1!$(freeport) /bin/true 2>&1); st=$?
is "$st" 78 "tls: a missing certificate exits 78"
like "$out" 'nonexistent' "tls: and says which file"

# --- hostile clients into the TLS listener cost one child each
P=$(freeport)
spawn "$UPAS" listen -c "$T/srvrsa.crt" -k "$T/srvrsa.key" -l tls.log tcp!127.0.0.1!$P "$T/http"
waitport $P
python3 - $P <<'PY'
import os, socket, sys, time
p = int(sys.argv[1])
s = socket.create_connection(("127.0.0.1", p)); s.sendall(os.urandom(3000)); s.close()
s = socket.create_connection(("127.0.0.1", p)); s.sendall(b"GET / HTTP/1.0\r\n\r\n"); time.sleep(0.2); s.close()
s = socket.create_connection(("127.0.0.1", p)); s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"); s.close()
global stalled
stalled = socket.create_connection(("127.0.0.1", p))
time.sleep(0.3)
PY
out=$(curl -sS --max-time 5 --cacert "$T/srvrsa.crt" --resolve localhost:$P:127.0.0.1 "https://localhost:$P/after" 2>&1)
like "$out" 'GET /after' "tls: after garbage, plaintext, a cut handshake and a stall, a good client is served"
sleep 0.3
like "$(cat "$UPASROOT/log/tls.log")" 'tls: ' "tls: a failed handshake is logged"

# --- the program behind TLS gets only fds 0, 1 and 2 (no sockets, no key)
P=$(freeport)
spawn "$UPAS" listen -q -c "$T/srvrsa.crt" -k "$T/srvrsa.key" tcp!127.0.0.1!$P /bin/ls /proc/self/fd
waitport $P
out=$(timeout 10 openssl s_client -quiet -connect 127.0.0.1:$P </dev/null 2>/dev/null | tr '\n' ' ')
is "$out" "0 1 2 3 " "tls: the program inherits no descriptor but its own"

# --- a program that floods output while the client floods input and then
# stalls: the relay neither deadlocks nor outlives the idle time
P=$(freeport)
spawn "$UPAS" listen -t 2 -l flood.log -c "$T/srvrsa.crt" -k "$T/srvrsa.key" tcp!127.0.0.1!$P /usr/bin/yes amp
waitport $P
python3 - $P <<'PY'
import socket, ssl, sys, time
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))), server_hostname="localhost")
s.settimeout(1)
sent = 0
try:
    while sent < 4 << 20:
        sent += s.send(b"NOOP\r\n" * 1000)
except Exception:
    pass
time.sleep(6)
PY
sleep 0.5
log=$(cat "$UPASROOT/log/flood.log")
like "$log" 'idle timeout|client: timed out' "flood: the stalled connection is cut after the idle time"
like "$log" 'pid [0-9]+ exit [0-9]+ after [0-9.]+s' "flood: its processes end"
check "flood: no process is left behind" sh -c "! pgrep -x yes >/dev/null"

# --- -u: the program runs as another user
if [ "$(id -u)" = 0 ]; then
	P=$(freeport)
	spawn "$UPAS" listen -q -u nobody tcp!127.0.0.1!$P /usr/bin/id -u
	waitport $P
	is "$(client $P "" 2)" "65534" "-u nobody: the program runs as nobody"
fi

# --- SIGTERM after connections: listen ends cleanly (exit 0; under ASan, nothing leaked)
P=$(freeport)
spawn "$UPAS" listen -q tcp!127.0.0.1!$P /bin/echo hi
lpid=$pid
waitport $P
for i in 1 2 3 4 5; do client $P "" 1 >/dev/null; done
kill $lpid
wait $lpid 2>/dev/null
is "$?" 0 "SIGTERM: listen ends cleanly after five connections, nothing leaked"

done_testing
