# Shared by the e2e scripts: TAP output, a temporary mail root, free ports,
# daemons stopped by PID, certificates. Source it, then call setup.
top=$(cd "$(dirname "$0")/../.." && pwd)
UPAS=${UPAS:-$top/build/upas}
UNIT=${UNIT:-$top/build/unit}
case $UPAS in /*) ;; *) UPAS=$top/$UPAS ;; esac
case $UNIT in /*) ;; *) UNIT=$top/$UNIT ;; esac
ntest=0
nfail=0

ok() { ntest=$((ntest + 1)); echo "ok $ntest - $*"; }
notok() { ntest=$((ntest + 1)); nfail=$((nfail + 1)); echo "not ok $ntest - $*"; }
# check DESC CMD...: ok when CMD succeeds
check() { d=$1; shift; if "$@"; then ok "$d"; else notok "$d"; fi; }
# is GOT WANT DESC
is() {
	if [ "$1" = "$2" ]; then ok "$3"; else notok "$3"; printf '#   got:  %s\n#   want: %s\n' "$1" "$2"; fi
}
# like GOT REGEX DESC (grep -E)
like() {
	if printf '%s\n' "$1" | grep -Eq -- "$2"; then ok "$3"
	else notok "$3"; printf '#   got:  %s\n#   want: /%s/\n' "$(printf '%s' "$1" | head -c 600)" "$2"; fi
}
diag() { printf '# %s\n' "$*"; }

cleanup() {
	if [ -f "$T/pids" ]; then
		while read -r p; do kill "$p" 2>/dev/null; done <"$T/pids"
		sleep 0.1
		while read -r p; do kill -9 "$p" 2>/dev/null; done <"$T/pids"
	fi
	[ -n "${KEEP:-}" ] && echo "# kept $T" || rm -rf "$T"
}
done_testing() {
	echo "1..$ntest"
	[ "$nfail" = 0 ]
}

# A fresh mail root under a temporary directory; everything is removed at exit.
setup() {
	T=$(mktemp -d /tmp/upas-e2e.XXXXXX)
	export UPASROOT="$T/root"
	mkdir -p "$UPASROOT/box" "$UPASROOT/lib/tls" "$UPASROOT/log" "$UPASROOT/tmp" "$UPASROOT/queue"
	trap cleanup EXIT
	trap 'exit 1' INT TERM
}

freeport() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# spawn CMD...: run in the background, remember the PID for cleanup; sets $pid
spawn() {
	"$@" &
	pid=$!
	echo "$pid" >>"$T/pids"
}

# waitfor CMD...: until it succeeds (8 s)
waitfor() {
	_k=0
	while ! "$@" 2>/dev/null; do
		_k=$((_k + 1))
		[ $_k -gt 80 ] && return 1
		sleep 0.1
	done
}

# waitport PORT [HOST]: until something listens there (5 s)
waitport() {
	python3 - "$1" "${2:-127.0.0.1}" <<'PY'
import socket, sys, time
for i in range(100):
    try:
        socket.create_connection((sys.argv[2], int(sys.argv[1])), 0.2).close(); sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
PY
}

# mkca NAME: a self-signed CA in $T/NAME.{key,crt}
mkca() {
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$1 test CA" \
		-keyout "$T/$1.key" -out "$T/$1.crt" 2>/dev/null
}
# mkcert rsa|ec NAME DNSNAME [CA]: a leaf certificate for DNSNAME in $T/NAME.{key,crt}
# (signed by CA when given, else self-signed)
mkcert() {
	case $1 in
	rsa) kopt="-newkey rsa:2048" ;;
	ec) kopt="-newkey ec -pkeyopt ec_paramgen_curve:P-256" ;;
	esac
	if [ -n "${4:-}" ]; then
		openssl req -new $kopt -nodes -subj "/CN=$3" -keyout "$T/$2.key" -out "$T/$2.csr" 2>/dev/null
		printf 'subjectAltName=DNS:%s\n' "$3" >"$T/$2.ext"
		openssl x509 -req -in "$T/$2.csr" -CA "$T/$4.crt" -CAkey "$T/$4.key" -CAcreateserial \
			-days 2 -extfile "$T/$2.ext" -out "$T/$2.crt" 2>/dev/null
	else
		openssl req -x509 $kopt -nodes -days 2 -subj "/CN=$3" -addext "subjectAltName=DNS:$3" \
			-keyout "$T/$2.key" -out "$T/$2.crt" 2>/dev/null
	fi
}

# raw PORT PYTHON-BYTES-LITERAL: send it in one write, print every reply until
# the server hangs up (RAWT seconds, 3 by default); RAWG=1 prints the greeting too
raw() {
	python3 - "$1" "$2" <<'PY'
import socket, sys, ast, time, os
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 3)
s.settimeout(float(os.environ.get('RAWT', '3')))
g = s.recv(512)
out = g if os.environ.get('RAWG') else b""
try:
    s.sendall(ast.literal_eval("b'" + sys.argv[2] + "'"))
    while True:
        b = s.recv(4096)
        if not b: break
        out += b
except socket.timeout:
    out += b"<timeout>"
except (ConnectionResetError, BrokenPipeError):
    out += b"<reset>"
sys.stdout.write(out.decode(errors="replace").replace("\r", ""))
PY
}
