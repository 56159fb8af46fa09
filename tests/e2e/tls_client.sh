#!/bin/sh
# tls/: our client against openssl s_server (pins, CA and host name, RSA and EC,
# refusals and their messages), and the STARTTLS plaintext-injection defence
# (CVE-2011-0411) on both sides against python's ssl.
. "$(dirname "$0")/lib.sh"
setup

mkca ca
mkcert rsa rsa mail.example.com ca
mkcert ec ec mail.example.com ca
mkcert rsa wild '*.example.com' ca
mkcert rsa self mail.example.com
mkca other

# sserver NAME [OPTS...]: openssl s_server reversing lines, with $T/NAME.{crt,key}; sets $port
sserver() {
	n=$1; shift
	port=$(freeport)
	spawn openssl s_server -quiet -accept "127.0.0.1:$port" -cert "$T/$n.crt" -key "$T/$n.key" -rev "$@" \
		>"$T/s_server.$n.log" 2>&1
	waitport "$port" || diag "s_server for $n did not start"
}
# run ARGS...: the tool's output (stdout and stderr) in $out, its status in $st
run() { out=$("$UNIT" tlsclient "$@" 2>&1); st=$?; }
der() { openssl x509 -in "$T/$1.crt" -outform der; }
hex() { der "$1" | openssl dgst "-$2" | sed 's/.*= *//'; }

# thumbprint files: hex sha1, openssl's colon form, 9front's base64 sha256
echo "x509 sha1=$(hex self sha1) server=mail.example.com" >"$T/pins.sha1"
printf '# openssl x509 -fingerprint -sha256\nx509 sha256=%s\n' \
	"$(openssl x509 -in "$T/self.crt" -noout -fingerprint -sha256 | sed 's/.*=//')" >"$T/pins.colon"
echo "x509 sha256=$(der self | openssl dgst -sha256 -binary | base64)" >"$T/pins.b64"
echo "x509 sha256=$(hex rsa sha256)" >"$T/pins.other"
echo "x509 sha256=$(hex ec sha256)" >"$T/pins.ec"
selfhex=$(hex self sha256)

# --- pins, against a self-signed RSA server
sserver self
run -p "$T/pins.sha1" -n mail.example.com "$port" hello
is "$out" "olleh" "pinned sha1 (hex) accepted"
run -p "$T/pins.colon" -n mail.example.com "$port" hello
is "$out" "olleh" "pinned sha256 (openssl colon hex) accepted"
run -p "$T/pins.b64" -n elsewhere.example "$port" hello
is "$out" "olleh" "pinned sha256 (9front base64) accepted whatever the name"
run -p "$T/pins.other" -n mail.example.com "$port" hello
is "$st" 1 "pin mismatch refused"
like "$out" "certificate thumbprint sha256=$selfhex not in $T/pins.other" "refusal names the sha256 to pin"
run -p "$T/nosuchpins" -n mail.example.com "$port" hello
like "$out" "sha256=$selfhex not in $T/nosuchpins" "a missing pins file pins nothing"
run -c "$T/ca.crt" -n mail.example.com "$port" hello
is "$st" 1 "self-signed refused with only a CA file"
like "$out" "certificate not trusted \\(sha256=$selfhex\\)" "and the reason is given"
run -c "$T/ca.crt" -p "$T/pins.b64" -n mail.example.com "$port" hello
is "$out" "olleh" "a pin wins over a CA that says no"
run -n mail.example.com "$port" hello
is "$st" 1 "no trust configured: refused"
like "$out" "no trust configured for certificate sha256=$selfhex" "no trust configured: said so"
run -k -n mail.example.com "$port" hello
is "$out" "olleh" "insecure accepted"

# --- CA and host names (RFC 6125: the wildcard covers one leftmost label)
sserver rsa
run -c "$T/ca.crt" -n mail.example.com "$port" "rsa and ca"
is "$out" "ac dna asr" "CA-signed RSA server with the right name accepted"
run -c "$T/ca.crt" -n MAIL.Example.COM. "$port" hello
is "$out" "olleh" "names compare without case, a final dot ignored"
run -c "$T/ca.crt" -n smtp.example.com "$port" hello
is "$st" 1 "wrong host name refused"
like "$out" "certificate does not match host name smtp.example.com" "wrong host name: said so"
run -c "$T/ca.crt" -n 127.0.0.1 "$port" hello
like "$out" "does not match host name 127.0.0.1" "an address literal must match too"
run -c "$T/other.crt" -n mail.example.com "$port" hello
like "$out" "certificate not trusted" "another CA's bundle refuses"
cat "$T/other.crt" "$T/ca.crt" >"$T/bundle.crt"
run -c "$T/bundle.crt" -n mail.example.com "$port" hello
is "$out" "olleh" "a bundle with several CAs accepted"
run -c "$T/nosuch.crt" -n mail.example.com "$port" hello
like "$out" "nosuch.crt: No such file" "a missing CA file is an error"

sserver ec
run -c "$T/ca.crt" -n mail.example.com "$port" hello
is "$out" "olleh" "CA-signed EC server accepted"
run -p "$T/pins.ec" "$port" hello
is "$out" "olleh" "pinned EC server accepted"

sserver wild
run -c "$T/ca.crt" -n mx.example.com "$port" hello
is "$out" "olleh" "wildcard matches one label"
run -c "$T/ca.crt" -n a.mx.example.com "$port" hello
like "$out" "does not match host name" "wildcard does not match two labels"
run -c "$T/ca.crt" -n example.com "$port" hello
like "$out" "does not match host name" "wildcard does not match the bare domain"

sserver rsa -tls1_3
run -c "$T/ca.crt" -n mail.example.com "$port" hello
like "$out" "alert 70 \\(protocol version\\)" "a TLS 1.3-only server: the alert is named"
diag "$out"

sserver ec -cipher ECDHE-RSA-AES128-GCM-SHA256 -no_tls1_3
run -k "$port" hello
like "$out" "alert 40 \\(handshake failure\\)|cipher" "no cipher suite in common: said so"
diag "$out"

# --- STARTTLS: the server pipelines plaintext after its 220; the client must drop it
cat >"$T/starttls.py" <<'PY'
import socket, ssl, sys
port, cert, key, snifile = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
def sni(sock, name, c):
    open(snifile, "w").write(str(name))
ctx.sni_callback = sni
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", port))
ls.listen(5)
while True:
    s, _ = ls.accept()
    s.settimeout(5)
    try:
        s.sendall(b"220 ready\r\n")
        line = b""
        while not line.endswith(b"\n"):
            b = s.recv(1)
            if not b:
                break
            line += b
        if line.strip() != b"STARTTLS":
            s.close()
            continue
        s.sendall(b"220 go ahead\r\nINJECTED\r\n")
        t = ctx.wrap_socket(s, server_side=True)
        t.sendall(b"TLS hello\r\n")
        f = t.makefile("rb")
        t.sendall(b"echo: " + f.readline())
        t.close()
    except Exception as e:
        print("starttls server:", e, file=sys.stderr)
        s.close()
PY
port=$(freeport)
spawn python3 "$T/starttls.py" "$port" "$T/rsa.crt" "$T/rsa.key" "$T/sni"
waitport "$port"
out=$("$UNIT" tlsclient -s -c "$T/ca.crt" -n mail.example.com "$port" hello 2>"$T/err"); st=$?
is "$st" 0 "STARTTLS client succeeds"
is "$out" "TLS hello
echo: hello" "after STARTTLS only the TLS greeting is read, never INJECTED"
like "$(cat "$T/err")" "discarding [1-9][0-9]* bytes" "the injected plaintext was buffered, and dropped"
is "$(cat "$T/sni")" "mail.example.com" "SNI sent for a host name"
out=$("$UNIT" tlsclient -s -k -n 127.0.0.1 "$port" hello 2>&1)
like "$out" "TLS hello" "STARTTLS to an address literal"
is "$(cat "$T/sni")" "None" "no SNI for an address literal"
run -k "$port"
like "$out" 'peer does not speak tls \(it sent "220 r\.\.\."\)' "implicit TLS to a plaintext server: said so"

# --- STARTTLS server side: the client pipelines EVIL after STARTTLS; the server must drop it
# drive MODE CERT KEY: run tlsserve on a socketpair, speak to it with python's ssl
drive() {
	python3 - "$UNIT" "$@" <<'PY'
import socket, ssl, subprocess, sys
unit, mode, cert, key = sys.argv[1:5]
a, b = socket.socketpair()
args = [unit, "tlsserve"] + (["-s"] if mode == "starttls" else []) + [cert, key]
p = subprocess.Popen(args, stdin=b, stdout=b, stderr=subprocess.PIPE)
b.close()
a.settimeout(5)
f = a.makefile("rb")
if mode == "starttls":
    f.readline()
    a.sendall(b"STARTTLS\r\nEVIL\r\n")
    print(f.readline().decode().strip())
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
t = ctx.wrap_socket(a)
print(t.version())
t.sendall(b"hello\r\n")
print(t.makefile("rb").readline().decode().strip())
t.unwrap().close()
print(p.wait(10), p.stderr.read().decode().strip())
PY
}
out=$(drive starttls "$T/rsa.crt" "$T/rsa.key" 2>&1)
like "$out" "^220 go ahead" "STARTTLS server answers 220"
like "$out" "got hello" "after STARTTLS the server reads the TLS data"
like "$out" "^0 tlsserve: discarding [1-9][0-9]* bytes" "the pipelined EVIL was buffered, dropped, and the server exits 0"
case $out in *EVIL*) notok "EVIL never reaches the server" ;; *) ok "EVIL never reaches the server" ;; esac
out=$(drive implicit "$T/ec.crt" "$T/ec.key" 2>&1)
like "$out" "TLSv1.2" "implicit TLS server with an EC key speaks TLS 1.2"
like "$out" "got hello" "implicit TLS server with an EC key echoes"
out=$(drive implicit "$T/rsa.crt" "$T/rsa.key" 2>&1)
like "$out" "got hello" "implicit TLS server with an RSA key echoes"
out=$("$UNIT" tlsserve "$T/rsa.crt" "$T/ec.key" </dev/null 2>&1)
like "$out" "private key in $T/ec.key does not match the certificate in $T/rsa.crt" \
	"a key that does not match its certificate is refused at load"

done_testing
