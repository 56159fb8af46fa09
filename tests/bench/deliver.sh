#!/bin/sh
# Benchmark: local delivery of N messages, one process per message, one after
# another, by upas send and by Dovecot's dovecot-lda, into an mbox and a
# Maildir.  Prints times; never fails on timing.  See tests/bench/README.md.
#
#   tests/bench/deliver.sh            # 1000 messages
#   N=200 tests/bench/deliver.sh      # fewer
set -eu

N=${N:-1000}
LDA=/usr/lib/dovecot/dovecot-lda
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"

make -s
UPAS=$top/build/upas
[ -x "$UPAS" ] || { echo "deliver.sh: no build/upas" >&2; exit 1; }

if ! command -v "$LDA" >/dev/null 2>&1; then
	echo "deliver.sh: installing dovecot-core" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y dovecot-core >/dev/null
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/upas-bench.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM HUP
# dovecot-lda runs unprivileged (below), so it must reach $T/dv.
chmod 755 "$T"

# ---- messages: generated once (tests/bench/mkmail.py, one file each in
# $T/msg), used by all four runs
python3 tests/bench/mkmail.py "$T" "$N" --files -q

# ---- timing: a python3 loop, one process per message, monotonic clock
cat >"$T/run.py" <<'EOF'
import os, subprocess, sys, time
msgdir, uid, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
files = sorted(os.listdir(msgdir))
kw = {}
if uid >= 0 and uid != os.getuid():
    kw = dict(user=uid, group=uid if uid != 65534 else 65534, extra_groups=[])
t0 = time.monotonic()
for f in files:
    with open(os.path.join(msgdir, f), "rb") as fd:
        r = subprocess.run(cmd, stdin=fd, **kw)
    if r.returncode != 0:
        sys.exit("%s: %s exited %d" % (f, cmd[0], r.returncode))
print("%.6f" % (time.monotonic() - t0))
EOF

sizes=$(cd "$T/msg" && ls -l | awk 'NR > 1 { print $5 }' | sort -n)
med=$(echo "$sizes" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
tot=$(echo "$sizes" | awk '{ s += $1 } END { print s }')
echo "messages: $N, median $med bytes, total $tot bytes, $(nproc) CPUs, $(uname -sr)"
echo "filesystem of $T: $(df -T "$T" | awk 'NR == 2 { print $2 }')"

# spawn overhead of the timing loop itself, for context
t_true=$(python3 "$T/run.py" "$T/msg" -1 /bin/true)

# ---- upas
export UPASROOT="$T/root"
export upasname=sender@example.com
upas_setup() {
	rm -rf "$UPASROOT"
	mkdir -p "$UPASROOT/box/bench" "$UPASROOT/lib" "$UPASROOT/log" "$UPASROOT/tmp"
	cp -R configs/root/lib/. "$UPASROOT/lib/"
}
upas_setup
t_upas_mbox=$(python3 "$T/run.py" "$T/msg" -1 "$UPAS" send bench)
n_upas_mbox=$(grep -c '^From ' "$UPASROOT/box/bench/mbox" || true)

upas_setup
mkdir -p "$UPASROOT/box/bench/mbox/cur" "$UPASROOT/box/bench/mbox/new" "$UPASROOT/box/bench/mbox/tmp"
t_upas_mdir=$(python3 "$T/run.py" "$T/msg" -1 "$UPAS" send bench)
n_upas_mdir=$(ls "$UPASROOT/box/bench/mbox/new" "$UPASROOT/box/bench/mbox/cur" | grep -c '^[0-9]' || true)
unset UPASROOT upasname

# ---- dovecot-lda, no dovecot running, private config.  As root it insists
# on -d user, which needs the auth service; unprivileged it delivers to the
# calling user from USER and HOME.  So it runs as nobody.
dv_setup() {	# mail_location
	rm -rf "$T/dv"
	mkdir -p "$T/dv/mbox" "$T/dv/run"
	: >"$T/dv/dovecot.log"
	cat >"$T/dovecot.conf" <<-EOF
	ssl = no
	base_dir = $T/dv/run
	state_dir = $T/dv/run
	log_path = $T/dv/dovecot.log
	postmaster_address = postmaster@example.com
	mail_location = $1
	mail_fsync = always
	EOF
	chown -R 65534:65534 "$T/dv"
}
dv_run() {
	env -i PATH=/usr/bin:/bin USER=nobody HOME="$T/dv" \
		python3 "$T/run.py" "$T/msg" 65534 "$LDA" -c "$T/dovecot.conf" -f sender@example.com -e
}
dv_setup "mbox:$T/dv/mbox:INBOX=$T/dv/mbox/inbox"
t_dv_mbox=$(dv_run)
n_dv_mbox=$(grep -c '^From ' "$T/dv/mbox/inbox" || true)

dv_setup "maildir:$T/dv/Maildir"
t_dv_mdir=$(dv_run)
n_dv_mdir=$(ls "$T/dv/Maildir/new" "$T/dv/Maildir/cur" | grep -c '^[0-9]' || true)

# ---- report
ok=yes
for v in "upas mbox $n_upas_mbox" "upas Maildir $n_upas_mdir" \
	"dovecot mbox $n_dv_mbox" "dovecot Maildir $n_dv_mdir"; do
	set -- $v
	if [ "$3" != "$N" ]; then
		echo "WARNING: $1 $2: $3 of $N messages in the mailbox" >&2
		ok=no
	fi
done

echo
printf '%-8s %-8s %9s %8s %10s\n' system format seconds msgs/s delivered
row() { awk -v s="$1" -v f="$2" -v t="$3" -v n="$N" -v d="$4" \
	'BEGIN { printf "%-8s %-8s %9.3f %8.0f %10s\n", s, f, t, n / t, d }'; }
row upas mbox "$t_upas_mbox" "$n_upas_mbox"
row dovecot mbox "$t_dv_mbox" "$n_dv_mbox"
row upas Maildir "$t_upas_mdir" "$n_upas_mdir"
row dovecot Maildir "$t_dv_mdir" "$n_dv_mdir"
row baseline true "$t_true" -
echo
awk -v u="$t_upas_mbox" -v d="$t_dv_mbox" 'BEGIN { printf "mbox:    dovecot/upas = %.2f (upas is %.1fx %s)\n", d / u, (d > u ? d / u : u / d), (d > u ? "faster" : "slower") }'
awk -v u="$t_upas_mdir" -v d="$t_dv_mdir" 'BEGIN { printf "Maildir: dovecot/upas = %.2f (upas is %.1fx %s)\n", d / u, (d > u ? d / u : u / d), (d > u ? "faster" : "slower") }'

# ---- sizes, stripped
ssize() { strip -o "$T/s" "$1" 2>/dev/null || cp "$1" "$T/s"; stat -c %s "$T/s"; }
echo
echo "stripped sizes:"
printf '  %-44s %9d\n' build/upas "$(ssize "$UPAS")"
dvtot=$(ssize "$LDA")
printf '  %-44s %9d\n' "$LDA" "$dvtot"
for lib in $(ldd "$LDA" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
	s=$(ssize "$lib")
	printf '  %-44s %9d\n' "$lib" "$s"
	dvtot=$((dvtot + s))
done
printf '  %-44s %9d\n' "dovecot-lda + shared libraries" "$dvtot"
[ "$ok" = yes ] || echo "WARNING: not every message was delivered (see above)"
