#!/bin/sh
# Benchmark: one IMAP client opening a large mailbox, upas imap4d against
# Dovecot's imap on the same content (mbox, then Maildir), both
# preauthenticated on stdin/stdout, each opened cold (no index files) and then
# warm (the second open). Prints seconds, the servers' CPU time and memory per
# connection and the upas/dovecot ratios next to their targets; never fails on
# timing. See tests/bench/README.md.
#
#   tests/bench/imap.sh             # 20000 messages, 3 rounds
#   N=2000 R=1 tests/bench/imap.sh
set -eu

N=${N:-20000}
R=${R:-3}
B=${B:-200}	# full bodies fetched
DVIMAP=/usr/lib/dovecot/imap
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"

make -s B=build
UPAS=$top/build/upas
[ -x "$UPAS" ] || { echo "imap.sh: no build/upas" >&2; exit 1; }
if "$UPAS" imap4d -x 2>&1 | grep -q 'unknown applet'; then
	echo "imap.sh: build/upas has no imap4d" >&2
	exit 1
fi
if ! [ -x "$DVIMAP" ]; then
	echo "imap.sh: installing dovecot-imapd" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/upas-bench.XXXXXX")
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP
# both servers run as nobody when we are root (Dovecot will not serve mail as root)
chmod 755 "$T"
RUNAS=-1
[ "$(id -u)" = 0 ] && RUNAS=65534

# ---- the mailbox: N generated messages (tests/bench/mkmail.py, as for
# deliver.sh and pop3.sh), as an mbox file (mboxrd quoting) and as a Maildir of the same messages
python3 tests/bench/mkmail.py "$T" "$N" --mbox --maildir
echo "$(nproc) CPUs, $(uname -sr), filesystem of $T: $(df -T "$T" | awk 'NR == 2 { print $2 }')"

# ---- the client: one session over a socketpair that is the server's stdin
# and stdout. SELECT INBOX, UID FETCH 1:* (FLAGS ENVELOPE RFC822.SIZE), UID
# FETCH of B bodies (BODY.PEEK[]) spread over the mailbox, LOGOUT. It checks
# that every message was listed and that each body is RFC822.SIZE octets, and
# prints: seconds to LOGOUT's OK, the server's user+sys seconds, its peak
# VmHWM and its VmRSS idle after SELECT in KB, seconds to the server's exit,
# and the seconds of SELECT, of the first FETCH and of the bodies' FETCH.
cat >"$T/client.py" <<'EOF'
import os, re, socket, subprocess, sys, time
uid, env, nbody, argv = int(sys.argv[1]), dict(a.split("=", 1) for a in sys.argv[2].split(",") if a), int(sys.argv[3]), sys.argv[4:]
def vm(pid, key):
    try:
        for l in open("/proc/%d/status" % pid):
            if l.startswith(key + ":"):
                return int(l.split()[1])
    except OSError:
        pass
    return 0
a, b = socket.socketpair()
kw = dict(user=uid, group=uid, extra_groups=[]) if uid >= 0 and uid != os.getuid() else {}
t0 = time.monotonic()
proc = subprocess.Popen(argv, stdin=b, stdout=b, stderr=subprocess.DEVNULL, env=env, **kw)
b.close()
buf = bytearray()
pos = 0
def fill():
    global buf, pos
    if pos > 1 << 20:
        del buf[:pos]
        pos = 0
    r = a.recv(1 << 18)
    if not r:
        sys.exit("server hung up")
    buf += r
def line():
    global pos
    while True:
        i = buf.find(b"\r\n", pos)
        if i >= 0:
            l = bytes(buf[pos:i])
            pos = i + 2
            return l
        fill()
def octets(n):
    global pos
    while len(buf) - pos < n:
        fill()
    s = bytes(buf[pos:pos + n])
    pos += n
    return s
lit = re.compile(rb"\{(\d+)\+?\}$")
def response():
    # one response, its literals inline: (text, [literals])
    l = line()
    text, lits = [l], []
    m = lit.search(l)
    while m:
        lits.append(octets(int(m.group(1))))
        l = line()
        text.append(l)
        m = lit.search(l)
    return b"\0".join(text), lits
def command(tag, cmd):
    a.sendall(tag + b" " + cmd + b"\r\n")
    out = []
    while True:
        t, lits = response()
        if t.startswith(tag + b" "):
            if not t.startswith(tag + b" OK"):
                sys.exit("server said: %r" % t[:200])
            return out
        out.append((t, lits))
g, _ = response()
if not g.startswith(b"* PREAUTH"):
    sys.exit("greeting: %r" % g[:200])
ts = time.monotonic()
r = command(b"a", b"SELECT INBOX")
tsel = time.monotonic() - ts
exists = [int(t.split()[1]) for t, _ in r if t.endswith(b" EXISTS")]
idle = vm(proc.pid, "VmRSS")
ts = time.monotonic()
r = command(b"b", b"UID FETCH 1:* (FLAGS ENVELOPE RFC822.SIZE)")
tenv = time.monotonic() - ts
size = {}
fuid = re.compile(rb"[ (]UID (\d+)")
fsize = re.compile(rb"RFC822\.SIZE (\d+)")
for t, _ in r:
    if b" FETCH (" in t:
        size[int(fuid.search(t).group(1))] = int(fsize.search(t).group(1))
uids = sorted(size)
pick = uids[::max(1, len(uids) // nbody)][:nbody]
ts = time.monotonic()
r = command(b"c", b"UID FETCH " + b",".join(b"%d" % u for u in pick) + b" (BODY.PEEK[])")
tbody = time.monotonic() - ts
bad = got = 0
for t, lits in r:
    if b" FETCH (" in t:
        got += 1
        if not lits or len(lits[-1]) != size[int(fuid.search(t).group(1))]:
            bad += 1
hwm = vm(proc.pid, "VmHWM")
command(b"d", b"LOGOUT")
t = time.monotonic() - t0	# the session is over for the client
# VmHWM never falls: read until the process has exited (a zombie has none)
while True:
    v = vm(proc.pid, "VmHWM")
    if v == 0:
        break
    hwm = max(hwm, v)
_, status, ru = os.wait4(proc.pid, 0)
tx = time.monotonic() - t0
if exists != [len(uids)] or got != len(pick) or bad or status != 0:
    sys.exit("EXISTS %r, listed %d, %d of %d bodies, %d of the wrong size, exit status %d" % (exists, len(uids), got, len(pick), bad, status))
print("%.4f %.4f %d %d %.4f %.4f %.4f %.4f" % (t, ru.ru_utime + ru.ru_stime, hwm, idle, tx, tsel, tenv, tbody))
EOF

# ---- the servers
U=$T/u	# upas: a private mail root; imap4d -a bench
D=$T/dv	# dovecot: a private config (-c), no daemon
mkdir -p "$U/lib" "$U/log" "$U/tmp" "$U/box" "$D/run"
cp -R configs/root/lib/. "$U/lib/"
[ "$RUNAS" = 65534 ] && chown -R 65534:65534 "$U" "$D"

fresh() {	# fresh FORMAT PATH: a copy of the mailbox at PATH (mbox or Maildir)
	if [ "$1" = mbox ]; then cp "$T/mbox" "$2"; else cp -R "$T/Maildir" "$2"; fi
	[ "$RUNAS" = 65534 ] && chown -R 65534:65534 "$(dirname "$2")"
	sync
}
upas_run() {	# FORMAT cold|warm
	if [ "$2" = cold ]; then
		rm -rf "$U/box/bench"
		mkdir -p "$U/box/bench"
		fresh "$1" "$U/box/bench/mbox"
	fi
	python3 "$T/client.py" "$RUNAS" "PATH=/usr/bin:/bin,UPASROOT=$U" "$B" "$UPAS" imap4d -a bench
}
dv_run() {	# FORMAT cold|warm
	if [ "$2" = cold ]; then
		rm -rf "$D/m"
		mkdir -p "$D/m/idx"
		fresh "$1" "$D/m/box"
	fi
	case $1 in
	mbox) mail="mbox:$D/m/idx:INBOX=$D/m/box:INDEX=$D/m/idx" ;;
	*) mail="maildir:$D/m/box:INDEX=$D/m/idx" ;;
	esac
	cat >"$D/dovecot.conf" <<-EOF
	ssl = no
	base_dir = $D/run
	state_dir = $D/run
	log_path = /dev/null
	mail_location = $mail
	EOF
	python3 "$T/client.py" "$RUNAS" "PATH=/usr/bin:/bin,USER=nobody,HOME=$D" "$B" "$DVIMAP" -c "$D/dovecot.conf"
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
for f in mbox Maildir; do
	for s in upas dovecot; do : >"$T/$s.$f.cold"; : >"$T/$s.$f.warm"; done
	r=0
	while [ $r -lt "$R" ]; do
		for p in cold warm; do upas_run $f $p >>"$T/upas.$f.$p"; done
		for p in cold warm; do dv_run $f $p >>"$T/dovecot.$f.$p"; done
		r=$((r + 1))
	done
done

col() { awk -v c="$1" '{ print $c }' "$T/$2.$3.$4" | median; }	# col N SYSTEM FORMAT PHASE
echo
echo "one session: SELECT INBOX, UID FETCH 1:* (FLAGS ENVELOPE RFC822.SIZE) of all $N,"
echo "UID FETCH of $B bodies (BODY.PEEK[]), LOGOUT; cold: the first open (no index"
echo "files), warm: the second. seconds: to LOGOUT's OK (select, envelopes, bodies: each"
echo "command's share); to-exit: until the server is gone; medians of $R rounds; cpu: the"
echo "server's user+sys seconds; memory in KB (peak: VmHWM of the server's own image, read"
echo "until it exits; idle: VmRSS right after SELECT)"
printf '%-8s %-8s %-5s %8s %8s %8s %8s %8s %8s %9s %9s\n' system format open seconds select envel bodies to-exit cpu peak idle
for f in mbox Maildir; do
	for p in cold warm; do
		for s in upas dovecot; do
			printf '%-8s %-8s %-5s %8.3f %8.3f %8.3f %8.3f %8.3f %8.3f %9d %9d\n' $s $f $p \
				"$(col 1 $s $f $p)" "$(col 6 $s $f $p)" "$(col 7 $s $f $p)" "$(col 8 $s $f $p)" \
				"$(col 5 $s $f $p)" "$(col 2 $s $f $p)" "$(col 3 $s $f $p)" "$(col 4 $s $f $p)"
		done
	done
done
echo
echo "upas/dovecot (below 1: upas is faster or smaller), against the targets"
for f in mbox Maildir; do
	for p in cold warm; do
		case $p in cold) tt=0.5 ;; *) tt=1 ;; esac
		awk -v f="$f" -v p="$p" -v tt="$tt" -v ut="$(col 1 upas $f $p)" -v dt="$(col 1 dovecot $f $p)" \
			-v uc="$(col 2 upas $f $p)" -v dc="$(col 2 dovecot $f $p)" \
			-v um="$(col 3 upas $f $p)" -v dm="$(col 3 dovecot $f $p)" 'BEGIN {
			printf "%-8s %-5s time %.2f (target <= %s: %s), cpu %.2f, peak memory %.2f (target <= 0.25: %s)\n",
				f, p, ut / dt, tt, ut / dt <= tt ? "met" : "missed", uc / dc, um / dm, um / dm <= 0.25 ? "met" : "missed" }'
	done
done
