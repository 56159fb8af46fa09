#!/bin/sh
# Benchmark: SMTP reception with durable local delivery, upas smtpd under
# listen vs a private Postfix instance, both driven by Postfix's smtp-source
# on the same machine in one run.  Prints messages/s and the ratio; never
# fails on timing.  See tests/bench/README.md.
#
#   tests/bench/smtp.sh                  # 1000 messages of 4096 bytes, 10 sessions, 3 rounds
#   N=200 S=20 L=8192 tests/bench/smtp.sh
set -eu

N=${N:-1000}
R=${R:-3}
S=${S:-10}
L=${L:-4096}
SRC=/usr/sbin/smtp-source
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"

make -s
UPAS=$top/build/upas
[ -x "$UPAS" ] || { echo "smtp.sh: no build/upas" >&2; exit 1; }
if ! [ -x "$SRC" ] || ! command -v postfix >/dev/null 2>&1; then
	echo "smtp.sh: installing postfix (for smtp-source and the comparison)" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix >/dev/null
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/upas-bench.XXXXXX")
PF=$T/pf
LPID=
stop() {
	if [ -n "$LPID" ]; then kill "$LPID" 2>/dev/null || :; fi
	if [ -f "$PF/queue/pid/master.pid" ]; then postfix -c "$PF" stop >/dev/null 2>&1 || :; fi
	rm -rf "$T"
}
trap stop EXIT
trap 'exit 1' INT TERM HUP
chmod 755 "$T"

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

# run.py PORT MBOX: smtp-source, then wait until all N messages are in MBOX.
# Prints the seconds to the last 250 and to the last message in the mailbox.
cat >"$T/run.py" <<'EOF'
import os, subprocess, sys, time
src, n, s, l, port, mbox = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
def count():
    try:
        with open(mbox, "rb") as f:
            return sum(1 for line in f if line.startswith(b"From "))
    except FileNotFoundError:
        return 0
t0 = time.monotonic()
r = subprocess.run([src, "-s", s, "-m", str(n), "-l", l, "-M", "client.test",
    "-f", "sender@example.net", "-t", "bench@ours.test", "127.0.0.1:" + port])
t1 = time.monotonic()
if r.returncode != 0:
    sys.exit("smtp-source exited %d" % r.returncode)
while count() < n and time.monotonic() - t1 < 120:
    time.sleep(0.02)
t2 = time.monotonic()
print("%.6f %.6f %d" % (t1 - t0, t2 - t0, count()))
EOF

echo "messages: $N of $L bytes, $S parallel sessions, $(nproc) CPUs, $(uname -sr)"
echo "filesystem of $T: $(df -T "$T" | awk 'NR == 2 { print $2 }')"

# ---- upas: listen + smtpd, send -r into box/bench/mbox (file and directory
# fsync'ed before the 250)
export UPASROOT="$T/root"
mkdir -p "$UPASROOT/box/bench" "$UPASROOT/lib" "$UPASROOT/log" "$UPASROOT/tmp"
cp -R configs/root/lib/. "$UPASROOT/lib/"
P=$(freeport)
"$UPAS" listen -q -n $((S * 2)) -p $((S * 2)) "tcp!127.0.0.1!$P" smtpd -h ours.test &
LPID=$!
waitport "$P"
unset UPASROOT

# ---- Postfix: a private instance (own config, queue and data directories),
# smtpd on 127.0.0.1:PORT, virtual(8) delivery into one mbox file as nobody.
# Postfix fsyncs the queue file before the 250 and the mailbox after each
# delivery; its 250 comes before delivery, so the time to the last message
# in the mailbox is the comparable number.
pf_err=
PP=$(freeport)
VM=$T/vmail
mkdir -p "$PF/queue" "$PF/data" "$VM"
chown postfix:postfix "$PF/data"
chown 65534:65534 "$VM"
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
# every service unchrooted; the smtp listener on our port instead of 25
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
# ---- R rounds, the two in turn, each into an empty mailbox; the medians count
med() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ua= ud= pa= pd=
r=0
while [ $r -lt "$R" ]; do
	rm -f "$T/root/box/bench/mbox"
	set -- $(python3 "$T/run.py" "$SRC" "$N" "$S" "$L" "$P" "$T/root/box/bench/mbox")
	ua="$ua $1" ud="$ud $2" u_n=$3
	[ "$u_n" = "$N" ] || echo "WARNING: upas: $u_n of $N messages in the mailbox" >&2
	if [ -z "$pf_err" ]; then
		rm -f "$VM/mbox"
		set -- $(python3 "$T/run.py" "$SRC" "$N" "$S" "$L" "$PP" "$VM/mbox")
		pa="$pa $1" pd="$pd $2" p_n=$3
		[ "$p_n" = "$N" ] || echo "WARNING: postfix: $p_n of $N messages in the mailbox" >&2
	fi
	r=$((r + 1))
done
kill "$LPID"
LPID=
[ -n "$pf_err" ] || postfix -c "$PF" stop >/dev/null 2>&1
echo "upas rounds (s to the last message in the mailbox):$ud"
[ -n "$pf_err" ] || echo "postfix rounds:$pd"
u_acc=$(med $ua) u_del=$(med $ud)
[ -n "$pf_err" ] || { p_acc=$(med $pa) p_del=$(med $pd); }

# ---- report
echo
echo "medians of $R rounds:"
printf '%-8s %12s %12s %10s %10s\n' system "last 250 s" "in mbox s" msgs/s delivered
row() { awk -v s="$1" -v a="$2" -v d="$3" -v n="$N" -v c="$4" \
	'BEGIN { printf "%-8s %12.3f %12.3f %10.0f %10s\n", s, a, d, n / d, c }'; }
row upas "$u_acc" "$u_del" "$u_n"
if [ -n "$pf_err" ]; then
	echo
	echo "no Postfix comparison: $pf_err"
	exit 0
fi
row postfix "$p_acc" "$p_del" "$p_n"
echo
awk -v u="$u_del" -v p="$p_del" 'BEGIN { printf "delivered: upas/postfix throughput = %.2f\n", p / u }'
awk -v u="$u_acc" -v p="$p_acc" 'BEGIN { printf "accepted (postfix 250 = queued, upas 250 = delivered): upas/postfix = %.2f\n", p / u }'
