#!/bin/sh
# Benchmark: upas fs on an N-message mailbox (mbox and Maildir): the time to
# the first complete tree (fs -x), a second run with nothing new, the time
# for one delivered message to appear in the tree of a running fs daemon
# (and the daemon's CPU for it), and the disk the tree takes against the
# mailbox. Prints seconds and sizes; never fails on timing. See
# tests/bench/README.md.
#
#   tests/bench/fs.sh              # 20000 messages
#   N=2000 tests/bench/fs.sh
set -eu

N=${N:-20000}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
make -s
UPAS=$top/build/upas
UNIT=$top/build/unit
make -s build/unit
T=$(mktemp -d "${TMPDIR:-/tmp}/upas-bench.XXXXXX")
trap 'kill $dpid 2>/dev/null; rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP
dpid=
python3 tests/bench/mkmail.py "$T" "$N" --mbox --maildir
echo "$(nproc) CPUs, $(uname -sr), filesystem of $T: $(df -T "$T" | awk 'NR == 2 { print $2 }')"
export UPASROOT="$T/u" TZ=UTC
mkdir -p "$UPASROOT/box"

secs() {	# secs CMD...: seconds CMD took
	s=$(date +%s%N)
	"$@" >/dev/null 2>&1
	e=$(date +%s%N)
	echo "$s $e" | awk '{ printf "%.3f", ($2 - $1) / 1e9 }'
}
kb() { du -sk "$1" | awk '{ print $1 }'; }
added() { du -skc "$1" "$2" | awk 'END { print $1 }'; }	# added MAILBOX TREE: KB the tree adds (links counted once)
cputicks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

printf 'From: new@example.org\nSubject: just now\n\nhello\n' >"$T/one"
for f in mbox Maildir; do
	sync
	first=$(secs "$UPAS" fs -x -f "$T/$f" -m "$T/tree")
	again=$(secs "$UPAS" fs -x -f "$T/$f" -m "$T/tree")
	"$UPAS" fs -f "$T/$f" -m "$T/tree" &
	dpid=$!
	sleep 1
	c0=$(cputicks $dpid)
	n=$((N + 1))
	s=$(date +%s%N)
	"$UNIT" mbappend "$T/$f" new@example.org <"$T/one" >/dev/null
	while [ ! -f "$T/tree/$f/$n/subject" ]; do sleep 0.005; done
	e=$(date +%s%N)
	sleep 0.5
	c1=$(cputicks $dpid)
	kill $dpid
	wait $dpid 2>/dev/null || true
	dpid=
	appear=$(echo "$s $e" | awk '{ printf "%.3f", ($2 - $1) / 1e9 }')
	cpu=$(echo "$c0 $c1 $(getconf CLK_TCK)" | awk '{ printf "%.3f", ($2 - $1) / $3 }')
	printf '%-8s first tree %6ss, again %6ss, one delivery visible after %6ss (daemon cpu %ss), tree adds %s MB to a mailbox of %s MB\n' \
	    "$f" "$first" "$again" "$appear" "$cpu" "$((($(added "$T/$f" "$T/tree/$f") - $(kb "$T/$f")) / 1024))" "$(($(kb "$T/$f") / 1024))"
done
