#!/bin/sh
# A full disk and a read-only one (small tmpfs mounts; root only): deliveries
# by send and smtpd into an mbox, an mdir and a Maildir until the space is
# gone. Each is acknowledged (exit 0, 250) and then there whole, or fails
# with a temporary error (exit 75, a 4xx reply) and leaves the mailbox as it
# was; every mailbox reads whole. Then the file system read-only: the same.
. "$(dirname "$0")/../e2e/lib.sh"
setup
if [ "$(id -u)" != 0 ] || ! mount -t tmpfs -o size=64k tmpfs "$T" 2>/dev/null; then
	echo "ok 1 # skip tmpfs mounts need root"
	echo "1..1"
	exit 0
fi
umount "$T"
cp -r "$top/configs/root/lib/." "$UPASROOT/lib/"
sed -i "s/qer -K /qer /" "$UPASROOT/lib/rewrite"
export site=torture upasname=glenda USER=glenda TZ=UTC0
R=$UPASROOT
mounts=""
trap 'for m in $mounts; do umount "$m" 2>/dev/null; done; cleanup' EXIT
for u in fm fd fx; do
	mkdir -p "$R/box/$u"
	mount -t tmpfs -o size=96k,mode=0755 tmpfs "$R/box/$u"
	mounts="$mounts $R/box/$u"
done
mkdir "$R/box/fd/mbox"
mkdir -p "$R/box/fx/mbox/cur" "$R/box/fx/mbox/new" "$R/box/fx/mbox/tmp"

msg() {	# msg N: a message of about 7 KB whose body says its digest
	python3 - "$1" <<-'PY'
	import hashlib, sys
	n = sys.argv[1]
	body = "".join("line %d of message %s, filling the disk a little\n" % (k, n) for k in range(140))
	sys.stdout.write("Message-ID: <f%s@torture>\nX-Sum: %s\n\n%s" % (n, hashlib.sha256(body.encode()).hexdigest(), body))
	PY
}
# verify USER ACKED: upas and the digests agree on what is there
verify() {
	rm -rf "$T/dump"
	mkdir "$T/dump"
	"$UNIT" mbdump "$R/box/$1/mbox" "$T/dump" >/dev/null || return 1
	python3 - "$T/dump" "$2" <<-'PY'
	import hashlib, os, sys
	seen = {}
	for f in os.listdir(sys.argv[1]):
	    head, _, body = open(os.path.join(sys.argv[1], f)).read().partition("\n\n")
	    h = dict(l.split(": ", 1) for l in head.split("\n") if ": " in l)
	    if hashlib.sha256(body.encode()).hexdigest() != h.get("X-Sum"):
	        sys.exit("a message not whole: " + f)
	    seen[h["Message-ID"]] = seen.get(h["Message-ID"], 0) + 1
	for n in sys.argv[2].split():
	    if seen.get("<f%s@torture>" % n) != 1:
	        sys.exit("acknowledged, not there once: " + n)
	if any(c != 1 for c in seen.values()):
	    sys.exit("a message twice")
	PY
}
for u in fm fd fx; do
	acked="" fails=0 other=0
	n=0
	while [ $n -lt 40 ]; do
		n=$((n + 1))
		msg "$u$n" >"$T/m"
		"$UPAS" send "$u" <"$T/m" 2>/dev/null
		case $? in
		0) acked="$acked $u$n" ;;
		75) fails=$((fails + 1)) ;;
		*) other=$((other + 1)) ;;
		esac
	done
	diag "$u: $(echo $acked | wc -w) delivered, $fails refused for the full disk"
	check "$u: the disk fills: temporary failures (75)" test $fails -gt 0
	is "$other" 0 "$u: and no other exit status"
	check "$u: every delivery acknowledged is whole and there once; the mailbox reads" verify "$u" "$acked"
	# smtpd on the full disk: a 4xx after the data, never 250
	msg "${u}s" | sed 's/$/\r/' >"$T/m"
	out=$( (printf 'EHLO client.torture\r\nMAIL FROM:<s@example.org>\r\nRCPT TO:<%s@ours.test>\r\nDATA\r\n' "$u"
		cat "$T/m"; printf '.\r\nQUIT\r\n') | "$UPAS" smtpd -h ours.test 2>/dev/null | tr -d '\r' | tail -2 | head -1)
	like "$out" "^4[0-9][0-9] " "$u: smtpd on the full disk: $out"
	check "$u: which names no path of the server's" sh -c "! printf '%s' '$out' | grep -q /"
	check "$u: the reason goes to log/smtpd" grep -q "No space left" "$R/log/smtpd"
	check "$u: and the mailbox as it was" verify "$u" "$acked"
	# read-only: nothing acknowledged, nothing changed
	mount -o remount,ro "$R/box/$u"
	before=$(find "$R/box/$u" -type f | xargs cat 2>/dev/null | cksum)
	msg "${u}r" | "$UPAS" send "$u" 2>/dev/null
	is "$?" 75 "$u: a read-only mailbox: a temporary failure"
	is "$(find "$R/box/$u" -type f | xargs cat 2>/dev/null | cksum)" "$before" "$u: and nothing changed"
	umount "$R/box/$u"
done
done_testing
