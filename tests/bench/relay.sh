#!/bin/sh
# Benchmark: relaying a queue of remote mail to one SMTP destination, upas
# (qer, then runq + remotemail + smtp) vs a private Postfix (its smtpd, queue
# manager and smtp client, relayhost = the sink), both into the same
# smtp-sink on a loopback port, on the same machine in one run.  Prints
# messages/s and ratios; never fails on timing.  See tests/bench/README.md.
#
#   tests/bench/relay.sh                 # 1000 messages of 4096 bytes, 10 at once, 3 rounds
#   N=200 C=20 R=5 tests/bench/relay.sh
set -eu

N=${N:-1000}
R=${R:-3}
C=${C:-10}
L=${L:-4096}
SINK=/usr/sbin/smtp-sink
SRC=/usr/sbin/smtp-source
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"

make -s
[ -x build/upas ] || { echo "relay.sh: no build/upas" >&2; exit 1; }
build/upas --list | grep -qx smtp || { echo "relay.sh: build/upas has no smtp applet" >&2; exit 1; }
if ! [ -x "$SINK" ] || ! [ -x "$SRC" ] || ! command -v postfix >/dev/null 2>&1; then
	echo "relay.sh: installing postfix (for smtp-sink, smtp-source and the comparison)" >&2
	echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix >/dev/null
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/upas-bench.XXXXXX")
PF=$T/pf
SPID=
stop() {
	if [ -n "$SPID" ]; then kill "$SPID" 2>/dev/null || :; fi
	if [ -f "$PF/queue/pid/master.pid" ]; then postfix -c "$PF" stop >/dev/null 2>&1 || :; fi
	rm -rf "$T"
}
trap stop EXIT
trap 'exit 1' INT TERM HUP
chmod 755 "$T"
# a copy, so a rebuild during the run changes nothing (the name picks the applet)
mkdir "$T/bin"
cp build/upas "$T/bin/upas"
UPAS=$T/bin/upas

freeport() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
waitport() {
	python3 - "$1" <<'EOF'
import socket, sys, time
for i in range(200):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close(); sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
EOF
}

# ---- the sink: smtp-sink -c prints "sess=A quit=B mesg=C" after every
# message; its last count is what arrived so far
SP=$(freeport)
"$SINK" -u nobody -c "127.0.0.1:$SP" 256 >"$T/sink.out" 2>"$T/sink.err" &
SPID=$!
waitport "$SP" || { echo "relay.sh: smtp-sink does not listen on $SP" >&2; cat "$T/sink.err" >&2; exit 1; }

# run.py MODE ...: one timed round; prints seconds and the messages that arrived
#   upas UPAS N MSG SINKPORT C        queue N with qer, then runq -n C - remotemail
#   pfsmtp SRC N L PFPORT C           smtp-source -s C into Postfix's smtpd
#   pfflush PF N                      let Postfix's smtp transport go, then postqueue -f
# Every mode waits (up to 5 minutes) until the sink has counted N more.
cat >"$T/run.py" <<'EOF'
import os, re, subprocess, sys, time
mode, sinkout = sys.argv[1], os.environ["SINKOUT"]
def count():
    with open(sinkout, "rb") as f:
        f.seek(max(0, os.path.getsize(sinkout) - 200))
        m = re.findall(rb"mesg=(\d+)", f.read())
    return int(m[-1]) if m else 0
def arrive(base, n, since):
    while count() < base + n and time.monotonic() - since < 300:
        time.sleep(0.01)
    return time.monotonic(), count() - base
if mode == "upas":
    upas, n, msg, port, c = sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
    base = count()
    t0 = time.monotonic()
    for i in range(n):
        with open(msg, "rb") as f:
            if subprocess.run([upas, "qer", "-", "mail", "alice@bench.test",
                    "tcp!127.0.0.1!" + port, "bob@sink.test"], stdin=f).returncode:
                sys.exit("qer failed")
    t1 = time.monotonic()
    subprocess.run([upas, "runq", "-n", c, "-", "remotemail"])
    t2, got = arrive(base, n, t1)
    print("%.6f %.6f %d" % (t1 - t0, t2 - t1, got))
elif mode == "pfsmtp":
    src, n, l, port, c = sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
    base = count()
    t0 = time.monotonic()
    r = subprocess.run([src, "-s", c, "-m", str(n), "-l", l, "-M", "bench.test",
        "-f", "alice@bench.test", "-t", "bob@sink.test", "127.0.0.1:" + port])
    t1 = time.monotonic()
    if r.returncode:
        sys.exit("smtp-source exited %d" % r.returncode)
    t2, got = arrive(base, n, t0)
    print("%.6f %.6f %d" % (t1 - t0, t2 - t0, got))
elif mode == "pfflush":
    pf, n = sys.argv[2], int(sys.argv[3])
    base = count()
    subprocess.run(["postconf", "-c", pf, "-e", "defer_transports="])
    subprocess.run(["postfix", "-c", pf, "reload"], stderr=subprocess.DEVNULL)
    time.sleep(1)
    early = count() - base
    t0 = time.monotonic()
    subprocess.run(["postqueue", "-c", pf, "-f"])
    t1, got = arrive(base, n, t0)
    print("%.6f %d %d" % (t1 - t0, got, early))
EOF
export SINKOUT="$T/sink.out"

# the message upas queues: 4 KB of text with the headers a client would add
python3 - "$L" >"$T/msg" <<'EOF'
import sys
l = int(sys.argv[1])
sys.stdout.write("From: alice@bench.test\nTo: bob@sink.test\nSubject: relay bench\n"
    "Date: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <relay.bench@bench.test>\n\n")
line = "La de da de da de da de da de da de da de da de da de da de da de da.\n"
sys.stdout.write((line * (l // len(line) + 1))[:l])
EOF

echo "messages: $N of $L bytes, $C deliveries at once, $R rounds, $(nproc) CPUs, $(uname -sr)"
echo "filesystem of $T: $(df -T "$T" | awk 'NR == 2 { print $2 }')"

# ---- upas: a private mail root; qer puts each message in queue/USER, runq
# runs remotemail, which runs smtp -h bench.test tcp!127.0.0.1!SINKPORT
export UPASROOT="$T/root"
mkdir -p "$UPASROOT/box" "$UPASROOT/lib" "$UPASROOT/log" "$UPASROOT/tmp" "$UPASROOT/queue"
cp -R configs/root/lib/. "$UPASROOT/lib/"

# ---- Postfix: a private instance (own config, queue and data directories),
# smtpd on 127.0.0.1:PORT taking mail from loopback, relayhost the sink; as
# many deliveries to it at once as upas's runq -n
pf_err=
PP=$(freeport)
mkdir -p "$PF/queue" "$PF/data"
chown postfix:postfix "$PF/data"
cat >"$PF/main.cf" <<EOF
compatibility_level = 3.6
config_directory = $PF
queue_directory = $PF/queue
data_directory = $PF/data
maillog_file = $PF/maillog
maillog_file_prefixes = $PF
myhostname = bench.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:$SP
smtp_host_lookup = native
initial_destination_concurrency = $C
default_destination_concurrency_limit = $C
alias_maps =
alias_database =
biff = no
smtputf8_enable = no
smtpd_tls_security_level = none
smtp_tls_security_level = none
EOF
awk -v port="$PP" '
	/^#/ || /^[ \t]/ || NF < 8 { print; next }
	$1 == "smtp" && $2 == "inet" { $1 = "127.0.0.1:" port }
	{ if ($5 == "y") $5 = "n"; print }
' /etc/postfix/master.cf >"$PF/master.cf"
if ! postfix -c "$PF" check >"$T/pf.log" 2>&1 || ! postfix -c "$PF" start >>"$T/pf.log" 2>&1; then
	pf_err="postfix -c $PF would not start: $(tail -3 "$PF/maillog" 2>/dev/null | tr '\n' ' ')"
elif ! waitport "$PP"; then
	pf_err="the private postfix does not listen on 127.0.0.1:$PP"
fi
# pfhold: smtp-source injects N messages that stay in Postfix's deferred queue
# (defer_transports = smtp); the flush that lets them go is timed (pfflush)
pfhold() {
	postconf -c "$PF" -e defer_transports=smtp
	postfix -c "$PF" reload >/dev/null 2>&1
	sleep 1
	"$SRC" -s "$C" -m "$N" -l "$L" -M bench.test -f alice@bench.test -t bob@sink.test "127.0.0.1:$PP"
	i=0
	while [ "$(find "$PF/queue/deferred" -type f | wc -l)" -lt "$N" ] && [ $i -lt 1200 ]; do
		sleep 0.1; i=$((i + 1))
	done
}

# ---- R rounds, the systems in turn, so drift in the machine hits all
med() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
uq= ud= ut= pi= pt= pd=
r=0
while [ $r -lt "$R" ]; do
	set -- $(python3 "$T/run.py" upas "$UPAS" "$N" "$T/msg" "$SP" "$C")
	uq="$uq $1" ud="$ud $2" u_n=$3
	ut="$ut $(awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", a + b }')"
	[ "$u_n" = "$N" ] || echo "WARNING: upas: $u_n of $N messages reached the sink" >&2
	left=$(ls "$UPASROOT/queue"/*/ 2>/dev/null | grep -c '^C\.' || :)
	[ "$left" = 0 ] || echo "WARNING: upas: $left jobs left in the queue" >&2
	if [ -z "$pf_err" ]; then
		set -- $(python3 "$T/run.py" pfsmtp "$SRC" "$N" "$L" "$PP" "$C")
		pi="$pi $1" pt="$pt $2" p_n=$3
		[ "$p_n" = "$N" ] || echo "WARNING: postfix: $p_n of $N messages reached the sink" >&2
		pfhold >/dev/null
		set -- $(python3 "$T/run.py" pfflush "$PF" "$N")
		pd="$pd $1" f_n=$2
		[ "$f_n" = "$N" ] || echo "WARNING: postfix flush: $f_n of $N messages reached the sink" >&2
		[ "$3" = 0 ] || echo "WARNING: postfix flush: $3 messages left before the flush" >&2
	fi
	r=$((r + 1))
done
echo "upas rounds (s to drain the queue):$ud"
[ -n "$pf_err" ] || echo "postfix rounds (s to drain the queue):$pd"
[ -n "$pf_err" ] || echo "postfix rounds (s from injection to the sink):$pt"
u_q=$(med $uq) u_d=$(med $ud) u_t=$(med $ut)
[ -n "$pf_err" ] || { p_i=$(med $pi) p_d=$(med $pd) p_t=$(med $pt); }

# ---- report
echo
echo "medians of $R rounds:"
printf '%-8s %12s %12s %12s %10s %10s\n' system "queued s" "drained s" "total s" "drain/s" "total/s"
row() { awk -v s="$1" -v q="$2" -v d="$3" -v t="$4" -v n="$N" \
	'BEGIN { printf "%-8s %12.3f %12.3f %12.3f %10.0f %10.0f\n", s, q, d, t, n / d, n / t }'; }
row upas "$u_q" "$u_d" "$u_t"
if [ -n "$pf_err" ]; then
	echo
	echo "no Postfix comparison: $pf_err"
	exit 0
fi
row postfix "$p_i" "$p_d" "$p_t"
echo
echo "upas queued with one qer per message, then ran the queue; Postfix took the"
echo "messages by SMTP (smtp-source, $C sessions) while relaying them (total), and,"
echo "in a separate round, relayed them from its deferred queue (drained)."
awk -v u="$u_d" -v p="$p_d" 'BEGIN { printf "drain: upas/postfix throughput = %.2f\n", p / u }'
awk -v u="$u_t" -v p="$p_t" 'BEGIN { printf "injection to sink: upas/postfix throughput = %.2f\n", p / u }'
