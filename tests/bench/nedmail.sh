#!/bin/sh
# Benchmark: a summary line of every message (",h", then x) of an
# N-message mailbox, upas nedmail on the mbox against `s-nail -H` on the
# same file, and nedmail on a Maildir copy against mblaze's `mlist | mscan`,
# cold (no index yet) and warm (the index the first run left), in one run;
# and nedmail's warm open alone. Cold: neither the index nor the kept
# summaries (.sum) exist. Every timed run starts with the mailbox's
# files in the page cache. Prints seconds and ratios; never fails on timing.
# See tests/bench/README.md.
#
#   tests/bench/nedmail.sh             # 20000 messages, 3 rounds
#   N=2000 R=1 tests/bench/nedmail.sh
set -eu

N=${N:-20000}
R=${R:-3}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"

make -s
UPAS=$top/build/upas
[ -x "$UPAS" ] || { echo "nedmail.sh: no build/upas" >&2; exit 1; }
for p in s-nail:s-nail mscan:mblaze; do
	if ! command -v "${p%%:*}" >/dev/null 2>&1; then
		echo "nedmail.sh: installing ${p#*:}" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${p#*:}" >/dev/null
	fi
done

T=$(mktemp -d "${TMPDIR:-/tmp}/upas-bench.XXXXXX")
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP
python3 tests/bench/mkmail.py "$T" "$N" --mbox --maildir
echo "$(nproc) CPUs, $(uname -sr), filesystem of $T: $(df -T "$T" | awk 'NR == 2 { print $2 }')"
export UPASROOT="$T/u" TZ=UTC
mkdir -p "$UPASROOT/box"
printf ',h\nx\n' >"$T/h"
printf 'x\n' >"$T/x"

# the mailbox's files read once, so every run finds them in the page cache
cached() { cat "$T/mbox" >/dev/null; find "$T/Maildir" -type f -exec cat {} + >/dev/null; }
# secs CMD...: the seconds CMD took, its output thrown away
secs() {
	s=$(date +%s%N)
	"$@" >/dev/null 2>&1
	e=$(date +%s%N)
	echo "$s $e" | awk '{ printf "%.4f\n", ($2 - $1) / 1e9 }'
}
ned() { "$UPAS" nedmail -f "$1" <"$2"; }
snail() { s-nail -:/ -H -f "$T/mbox"; }
scan() { mlist "$T/Maildir" | mscan; }

for k in ned.mbox.cold ned.mbox.warm ned.open snail ned.md.cold ned.md.warm mscan; do : >"$T/$k"; done
r=0
while [ "$r" -lt "$R" ]; do
	rm -f "$T/.mbox.idx" "$T/.mbox.sum" "$T/Maildir/.idx" "$T/Maildir/.sum"
	cached
	secs ned "$T/mbox" "$T/h" >>"$T/ned.mbox.cold"
	cached
	secs ned "$T/mbox" "$T/h" >>"$T/ned.mbox.warm"
	secs ned "$T/mbox" "$T/x" >>"$T/ned.open"
	cached
	secs snail >>"$T/snail"
	cached
	secs ned "$T/Maildir" "$T/h" >>"$T/ned.md.cold"
	cached
	secs ned "$T/Maildir" "$T/h" >>"$T/ned.md.warm"
	cached
	secs scan >>"$T/mscan"
	r=$((r + 1))
done

median() { sort -n "$T/$1" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
echo
echo "a summary line of each of $N messages, then quit; median of $R, seconds"
printf '%-32s %8s\n' "nedmail ,h mbox, cold" "$(median ned.mbox.cold)"
printf '%-32s %8s\n' "nedmail ,h mbox, warm" "$(median ned.mbox.warm)"
printf '%-32s %8s\n' "s-nail -H mbox" "$(median snail)"
printf '%-32s %8s\n' "nedmail ,h Maildir, cold" "$(median ned.md.cold)"
printf '%-32s %8s\n' "nedmail ,h Maildir, warm" "$(median ned.md.warm)"
printf '%-32s %8s\n' "mlist | mscan Maildir" "$(median mscan)"
printf '%-32s %8s\n' "nedmail open mbox, warm (x)" "$(median ned.open)"
echo
awk -v nc="$(median ned.mbox.cold)" -v nw="$(median ned.mbox.warm)" -v s="$(median snail)" \
    -v mc="$(median ned.md.cold)" -v mw="$(median ned.md.warm)" -v ms="$(median mscan)" -v o="$(median ned.open)" 'BEGIN {
	printf "nedmail/s-nail  mbox:    cold %.2f, warm %.2f (target < 1: %s)\n", nc / s, nw / s, nc < s && nw < s ? "met" : "missed"
	printf "nedmail/mscan   Maildir: cold %.2f, warm %.2f (target < 1: %s)\n", mc / ms, mw / ms, mc < ms && mw < ms ? "met" : "missed"
	printf "warm open: %.0f ms (target < 50: %s)\n", o * 1000, o < 0.05 ? "met" : "missed"
}'
