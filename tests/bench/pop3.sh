#!/bin/sh
# Benchmark: one POP3 client retrieving and deleting N messages, upas pop3
# against Dovecot's pop3 on the same mailbox content (mbox, then Maildir),
# both preauthenticated on stdin/stdout, in one run.  Prints seconds, the
# ratio, the servers' CPU time and memory per connection; never fails on
# timing.  See tests/bench/README.md.
#
#   tests/bench/pop3.sh             # 5000 messages, 3 rounds
#   N=1000 R=1 tests/bench/pop3.sh
set -eu

N=${N:-5000}
R=${R:-3}
DVPOP=/usr/lib/dovecot/pop3
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"

make -s
UPAS=$top/build/upas
[ -x "$UPAS" ] || { echo "pop3.sh: no build/upas" >&2; exit 1; }
if ! [ -x "$DVPOP" ]; then
	echo "pop3.sh: installing dovecot-pop3d" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-pop3d >/dev/null
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/upas-bench.XXXXXX")
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP
# both servers run as nobody when we are root (Dovecot will not serve mail as root)
chmod 755 "$T"
RUNAS=-1
[ "$(id -u)" = 0 ] && RUNAS=65534

# ---- the mailbox: N generated messages (tests/bench/mkmail.py, as for
# deliver.sh), as an mbox file (mboxrd quoting) and as a Maildir of the same messages
python3 tests/bench/mkmail.py "$T" "$N" --mbox --maildir
echo "$(nproc) CPUs, $(uname -sr), filesystem of $T: $(df -T "$T" | awk 'NR == 2 { print $2 }')"

# ---- the client: one session over a socketpair that is the server's stdin
# and stdout. NOOP, STAT, then RETR and DELE of every message, pipelined 50 at a
# time, then QUIT. It checks every message arrived whole (the octets STAT
# announced) and prints: seconds, the server's user+sys seconds, its peak
# VmHWM and its VmRSS idle after the first NOOP, in KB.
cat >"$T/client.py" <<'EOF'
import os, socket, subprocess, sys, time
uid, env, greets, argv = int(sys.argv[1]), dict(a.split("=", 1) for a in sys.argv[2].split(",") if a), sys.argv[3] == "1", sys.argv[4:]
def vm(pid, key):
    for l in open("/proc/%d/status" % pid):
        if l.startswith(key + ":"):
            return int(l.split()[1])
    return 0
a, b = socket.socketpair()
kw = dict(user=uid, group=uid, extra_groups=[]) if uid >= 0 and uid != os.getuid() else {}
t0 = time.monotonic()
proc = subprocess.Popen(argv, stdin=b, stdout=b, stderr=subprocess.DEVNULL, env=env, **kw)
b.close()
buf = bytearray()
pos = 0
def until(sep):
    global pos, buf
    while True:
        i = buf.find(sep, pos)
        if i >= 0:
            out = bytes(buf[pos:i])
            pos = i + len(sep)
            if pos > 1 << 20:
                del buf[:pos]
                pos = 0
            return out
        r = a.recv(1 << 18)
        if not r:
            sys.exit("server hung up")
        buf += r
def line():
    l = until(b"\r\n")
    if not l.startswith(b"+OK"):
        sys.exit("server said: %r" % l)
    return l
# Dovecot's pop3 on stdin/stdout does not greet
if greets:
    line()
a.sendall(b"NOOP\r\n")
line()
time.sleep(0.05)
idle = vm(proc.pid, "VmRSS")
a.sendall(b"STAT\r\n")
n, total = map(int, line().split()[1:3])
got = octets = 0
for first in range(1, n + 1, 50):
    batch = range(first, min(n, first + 49) + 1)
    a.sendall(b"".join(b"RETR %d\r\nDELE %d\r\n" % (i, i) for i in batch))
    for i in batch:
        line()
        body = until(b"\r\n.\r\n") + b"\r\n"
        octets += len(body) - body.count(b"\r\n..") - body.startswith(b"..")
        got += 1
        line()
# VmHWM never falls: read until the process has exited (a zombie has none)
hwm = vm(proc.pid, "VmHWM")
a.sendall(b"QUIT\r\n")
line()
t = time.monotonic() - t0	# the session is over for the client
while True:
    v = vm(proc.pid, "VmHWM")
    if v == 0:
        break
    hwm = max(hwm, v)
_, status, ru = os.wait4(proc.pid, 0)
tx = time.monotonic() - t0	# and the server is gone: work it did after answering counts here
if got != n or octets != total or status != 0:
    sys.exit("retrieved %d of %d, %d of %d octets, exit status %d" % (got, n, octets, total, status))
print("%.4f %.4f %d %d %.4f" % (t, ru.ru_utime + ru.ru_stime, hwm, idle, tx))
EOF

# ---- the servers
U=$T/u	# upas: a private mail root; pop3 -a on the mailbox
D=$T/dv	# dovecot: a private config (-c), no daemon
mkdir -p "$U/lib" "$U/log" "$U/tmp" "$D/run"
cp -R configs/root/lib/. "$U/lib/"
[ "$RUNAS" = 65534 ] && chown -R 65534:65534 "$U" "$D"

fresh() {	# fresh FORMAT DIR: a copy of the mailbox in DIR/box (mbox or Maildir)
	rm -rf "$2/box" "$2/idx"
	mkdir -p "$2/idx"
	if [ "$1" = mbox ]; then cp "$T/mbox" "$2/box"; else cp -R "$T/Maildir" "$2/box"; fi
	[ "$RUNAS" = 65534 ] && chown -R 65534:65534 "$2/box" "$2/idx"
	sync
}
upas_run() {	# FORMAT
	fresh "$1" "$U"
	python3 "$T/client.py" "$RUNAS" "PATH=/usr/bin:/bin,UPASROOT=$U" 1 "$UPAS" pop3 -a "$U/box"
}
dv_run() {	# FORMAT
	fresh "$1" "$D"
	case $1 in
	mbox) mail="mbox:$D/idx:INBOX=$D/box:INDEX=$D/idx" ;;
	*) mail="maildir:$D/box:INDEX=$D/idx" ;;
	esac
	cat >"$D/dovecot.conf" <<-EOF
	ssl = no
	base_dir = $D/run
	state_dir = $D/run
	log_path = /dev/stderr
	mail_location = $mail
	mail_fsync = always
	EOF
	python3 "$T/client.py" "$RUNAS" "PATH=/usr/bin:/bin,USER=nobody,HOME=$D" 0 "$DVPOP" -c "$D/dovecot.conf"
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
for f in mbox Maildir; do
	: >"$T/upas.$f"
	: >"$T/dovecot.$f"
	r=0
	while [ $r -lt "$R" ]; do
		upas_run $f >>"$T/upas.$f"
		dv_run $f >>"$T/dovecot.$f"
		r=$((r + 1))
	done
done

col() { awk -v c="$1" '{ print $c }' "$T/$2.$3" | median; }	# col N SYSTEM FORMAT
echo
echo "one session: STAT, then RETR + DELE of all $N messages (pipelined 50 at a time), QUIT;"
echo "seconds: to the reply to QUIT; to-exit: until the server process is gone;"
echo "medians of $R rounds; cpu: the server's user+sys seconds; memory in KB (peak: VmHWM"
echo "of the server's own image, read until it exits; idle: VmRSS after the first NOOP)"
printf '%-8s %-8s %8s %8s %8s %8s %10s %10s\n' system format seconds msgs/s to-exit cpu peak idle
for f in mbox Maildir; do
	for s in upas dovecot; do
		printf '%-8s %-8s %8.3f %8.0f %8.3f %8.3f %10d %10d\n' $s $f "$(col 1 $s $f)" \
			"$(awk -v t="$(col 1 $s $f)" -v n="$N" 'BEGIN { print n / t }')" \
			"$(col 5 $s $f)" "$(col 2 $s $f)" "$(col 3 $s $f)" "$(col 4 $s $f)"
	done
done
echo
for f in mbox Maildir; do
	awk -v f="$f" -v ut="$(col 1 upas $f)" -v dt="$(col 1 dovecot $f)" -v uc="$(col 2 upas $f)" \
		-v dc="$(col 2 dovecot $f)" -v um="$(col 3 upas $f)" -v dm="$(col 3 dovecot $f)" \
		-v ux="$(col 5 upas $f)" -v dx="$(col 5 dovecot $f)" 'BEGIN {
		printf "%-8s dovecot/upas: time %.2f (to the server'"'"'s exit %.2f), server cpu %.2f, peak memory %.2f\n", f ":", dt / ut, dx / ux, dc / uc, dm / um }'
done
