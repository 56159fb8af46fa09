#!/bin/sh
# Mailboxes: 8 concurrent writers x 125 messages into an mbox, a Maildir and
# an mdir, each message there once and byte-identical; Python's mailbox
# module, s-nail and mutt read the results; locks shared with fcntl users
# and mutt's dotlock; 200 appends killed at random moments per format.
. "$(dirname "$0")/lib.sh"
setup
B=$UPASROOT/box/glenda
mkdir -p "$B/Maildir/cur" "$B/Maildir/new" "$B/Maildir/tmp" "$B/mdir" "$T/msgs" "$T/big" \
	"$B/Maildir.k/cur" "$B/Maildir.k/new" "$B/Maildir.k/tmp" "$B/mdir.k" \
	"$B/Maildir.k.timing/cur" "$B/Maildir.k.timing/new" "$B/Maildir.k.timing/tmp" "$B/mdir.k.timing"
MBOX=$B/mbox MAILDIR=$B/Maildir MDIR=$B/mdir

cat >"$T/gen.py" <<'PY'
# gen.py DIR N SEED MIN MAX: N messages with tricky lines, each with a unique
# Message-ID; every fifth with CRLF line ends, every seventh without a final newline.
import os, random, sys
d, n, seed, lo, hi = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
random.seed(seed)
tricky = [b"From me to you", b">From quoted", b">>From twice", b"", b"", b"From Mon Jan  2 15:04:05 2006",
          b" From upas-escaped", b"From: looks like a header", b".", b"Status: RO", b"From "]
alpha = b"abcdefghijklmnopqrstuvwxyz     ABC0123"
pool = [bytes(random.choice(alpha) for _ in range(random.randint(0, 76))) for _ in range(4000)]
for i in range(n):
    lines = [b"From: w%d@e2e.test" % (i % 8), b"To: glenda@e2e.test", b"Subject: message %d" % i,
             b"Message-ID: <%d.%d.%d@e2e.test>" % (seed, i, random.randrange(1 << 30)), b""]
    size, total = random.randint(lo, hi), 0
    while total < size:
        if random.random() < 0.15:
            l = random.choice(tricky)
        else:
            l = random.choice(pool)
        lines.append(l)
        total += len(l) + 1
    eol = b"\r\n" if i % 5 == 0 else b"\n"
    body = eol.join(lines) + (b"" if i % 7 == 0 else eol)
    open(os.path.join(d, str(i)), "wb").write(body)
PY

cat >"$T/check.py" <<'PY'
# check.py SENT GOT all|some [mutt]: the messages in directory GOT against
# those in SENT, by Message-ID, each normalized (LF, final newline). all:
# every sent message must be there; some: only those listed in
# SENT/delivered. mutt: drop the Content-Length: and Lines: mutt adds to the
# header of what it copies. Prints what is wrong, exits 1 if anything is.
import hashlib, os, re, sys
sent, got, mode = sys.argv[1], sys.argv[2], sys.argv[3]
def mid(b):
    m = re.search(rb"^Message-ID: (<[^>]*>)", b, re.M)
    return m.group(1) if m else None
def norm(b):
    b = b.replace(b"\r\n", b"\n")
    return b if b.endswith(b"\n") else b + b"\n"
want = {}
for f in os.listdir(sent):
    if f.isdigit():
        b = norm(open(os.path.join(sent, f), "rb").read())
        want[mid(b)] = hashlib.sha256(b).hexdigest()
must = set(want) if mode == "all" else set(
    l.strip().encode() for l in open(os.path.join(sent, "delivered")) if l.strip())
seen, bad = {}, 0
for f in os.listdir(got):
    b = open(os.path.join(got, f), "rb").read()
    if len(sys.argv) > 4:
        h, sep, rest = b.partition(b"\n\n")
        h = re.sub(rb"(?m)^(Content-Length|Lines): [0-9]+\n", b"", h + b"\n")[:-1]
        b = h + sep + rest
    m = mid(b)
    if m not in want:
        print("# %s: not a message that was sent: %r" % (f, b[:120])); bad += 1; continue
    if hashlib.sha256(b).hexdigest() != want[m]:
        print("# %s: %s differs from what was sent (%d bytes)" % (f, m.decode(), len(b))); bad += 1
    seen[m] = seen.get(m, 0) + 1
for m, k in seen.items():
    if k > 1:
        print("# %s is there %d times" % (m.decode(), k)); bad += 1
for m in must - set(seen):
    print("# %s is missing" % m.decode()); bad += 1
print("# %d messages checked" % len(os.listdir(got)))
sys.exit(1 if bad else 0)
PY

# dump BOX DIR: the messages as upas reads them, one file each
dump() { rm -rf "$2"; mkdir -p "$2"; "$UNIT" mbdump "$1" "$2" >"$2.list"; }

# --- 8 concurrent writers, 125 messages each, into all three formats
python3 "$T/gen.py" "$T/msgs" 1000 1 1000 8000
writer() {
	i=$1
	while [ "$i" -lt 1000 ]; do
		for box in "$MBOX" "$MAILDIR" "$MDIR"; do
			"$UNIT" mbappend "$box" "w$1@e2e.test" <"$T/msgs/$i" || echo "append $i to $box failed" >>"$T/errors"
		done
		i=$((i + 8))
	done
}
for w in 0 1 2 3 4 5 6 7; do writer $w & done
wait
is "$(cat "$T/errors" 2>/dev/null)" "" "3000 concurrent appends succeed"
for box in mbox Maildir mdir; do
	dump "$B/$box" "$T/got.$box"
	is "$(wc -l <"$T/got.$box.list" | tr -d ' ')" 1000 "$box: upas reads 1000 messages"
	out=$(python3 "$T/check.py" "$T/msgs" "$T/got.$box" all 2>&1); st=$?
	is "$st" 0 "$box: each message once and byte-identical"; [ $st = 0 ] || echo "$out" | head -20
done
is "$(ls -a "$B" | grep -c '\.lock$')" 0 "no dotlock left behind"
is "$(ls "$MAILDIR/tmp" | wc -l | tr -d ' ')" 0 "Maildir tmp/ empty"
is "$(ls "$MDIR" | grep -c '\.tmp$')" 0 "mdir: no .tmp files left"
like "$(ls "$MDIR" | head -1)" '^[0-9]{10}\.[0-9]{2}$' "mdir names are secs.NN"
like "$(head -c 64 "$MBOX")" '^From w[0-7]@e2e.test [A-Z][a-z][a-z] [A-Z][a-z][a-z] [ 0-9][0-9] [0-9:]{8} [0-9]{4}' \
	"mbox From line in ctime format"
tail -c 2 "$MBOX" | od -c | grep -q '\\n  *\\n' && ok "mbox ends in a blank line" || notok "mbox ends in a blank line"

# --- Python's mailbox module agrees
out=$(python3 - "$MBOX" "$MAILDIR" "$T" <<'PY'
import mailbox, os, re, sys
mb, md, t = sys.argv[1:4]
for name, box, unq in (("mbox", mailbox.mbox(mb, create=False), True), ("Maildir", mailbox.Maildir(md, factory=None, create=False), False)):
    d = os.path.join(t, "py." + name)
    os.mkdir(d)
    for i, key in enumerate(box.keys()):
        b = box.get_bytes(key)
        if unq:  # Python keeps mboxrd quoting
            b = re.sub(rb"(?m)^>(>*From )", rb"\1", b)
        open(os.path.join(d, str(i)), "wb").write(b)
    print(name, len(box))
PY
)
like "$out" '^mbox 1000$' "Python mailbox.mbox reads 1000 messages"
like "$out" 'Maildir 1000$' "Python mailbox.Maildir reads 1000 messages"
for box in mbox Maildir; do
	out=$(python3 "$T/check.py" "$T/msgs" "$T/py.$box" all 2>&1); st=$?
	is "$st" 0 "Python $box: each message once and byte-identical"; [ $st = 0 ] || echo "$out" | head -10
done

# --- s-nail and mutt read them
for box in mbox Maildir; do
	n=$(echo 'from *' | HOME=$T timeout 30 s-nail -# -Rf "$B/$box" 2>/dev/null | grep -c 'message [0-9]')
	is "$n" 1000 "s-nail lists 1000 messages in the $box"
done
mkdir -p "$T/Mail"
printf 'set folder=%s\nset sort=mailbox-order\nset confirmcreate=no\nset mbox_type=mbox\n' "$T" >"$T/muttrc"
# mutt, in tmux: count, then copy every message into a new mbox that upas reads back
tmux -L "upas$$" new-session -d -x 200 -y 40 "HOME=$T mutt -n -F $T/muttrc -R -f $MBOX" 2>/dev/null
screen=""
for i in 1 2 3 4 5 6 7 8 9 10; do
	sleep 0.5
	screen=$(tmux -L "upas$$" capture-pane -p 2>/dev/null)
	printf '%s' "$screen" | grep -q 'Msgs:' && break
done
like "$screen" 'Msgs:1000 ' "mutt counts 1000 messages"
tmux -L "upas$$" send-keys 'T' '~A' Enter '\;' 'C' "$T/mutt.out" Enter 2>/dev/null
last=-1
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
	sleep 0.5
	size=$(wc -c <"$T/mutt.out" 2>/dev/null || echo 0)
	[ "$size" -gt 0 ] && [ "$size" = "$last" ] && break
	last=$size
done
tmux -L "upas$$" send-keys 'x' 2>/dev/null
sleep 0.3
tmux -L "upas$$" kill-server 2>/dev/null
dump "$T/mutt.out" "$T/got.mutt"
out=$(python3 "$T/check.py" "$T/msgs" "$T/got.mutt" all mutt 2>&1); st=$?
is "$st" 0 "mutt copies all 1000, upas reads its copy byte-identical"; [ $st = 0 ] || echo "$out" | head -10

# --- locks: an fcntl holder (Python lockf, as Postfix and mutt take) and
# mutt's dotlock make an append wait, not interleave
python3 "$T/gen.py" "$T/big" 200 2 131072 1048576
cat >"$T/hold.py" <<'PY'
# hold.py fcntl|dotlock|busy BOX UNIT MSG: hold BOX locked 2 s while an append
# runs; print its exit status, whether it ended while the lock was held,
# whether the file changed then, and whether it grew in the end.
import fcntl, os, subprocess, sys, time
how, box, unit, msg = sys.argv[1:5]
size0 = os.path.getsize(box)
if how == "dotlock":
    subprocess.check_call(["mutt_dotlock", box])
else:
    f = open(box, "r+b"); fcntl.lockf(f, fcntl.LOCK_EX)
args = [unit, "mbappend"] + (["-w", "1"] if how == "busy" else []) + [box, "locker"]
p = subprocess.Popen(args, stdin=open(msg, "rb"), stderr=subprocess.DEVNULL)
t0 = time.time()
while time.time() - t0 < 2 and p.poll() is None:
    time.sleep(0.01)
ended = p.poll() is not None
changed = os.path.getsize(box) != size0
if how == "dotlock":
    subprocess.check_call(["mutt_dotlock", "-u", box])
else:
    fcntl.lockf(f, fcntl.LOCK_UN)
rc = p.wait()
print("rc=%d ended=%d changed=%d grew=%d" % (rc, ended, changed, os.path.getsize(box) > size0))
PY
out=$(python3 "$T/hold.py" fcntl "$MBOX" "$UNIT" "$T/big/0")
is "$out" "rc=0 ended=0 changed=0 grew=1" "an append waits for an fcntl lock, then appends"
out=$(python3 "$T/hold.py" dotlock "$MBOX" "$UNIT" "$T/big/1")
is "$out" "rc=0 ended=0 changed=0 grew=1" "an append waits for mutt's dotlock, then appends"
out=$(python3 "$T/hold.py" busy "$MBOX" "$UNIT" "$T/big/2")
is "$out" "rc=75 ended=1 changed=0 grew=0" "a lock held past the wait: temporary failure, file unchanged"
dump "$MBOX" "$T/got.locks"
out=$(python3 - "$T" <<'PY'
import sys
t = sys.argv[1]
def norm(b):
    b = b.replace(b"\r\n", b"\n")
    return b if b.endswith(b"\n") else b + b"\n"
got = [open("%s/got.locks/%d" % (t, i), "rb").read() for i in (1001, 1002)]
want = [norm(open("%s/big/%d" % (t, i), "rb").read()) for i in (0, 1)]
print(len(open(t + "/got.locks.list").readlines()), got == want)
PY
)
is "$out" "1002 True" "the two appends that waited are whole and last"

# --- 200 appends per format, each killed at a random moment
cat >"$T/kill.py" <<'PY'
# kill.py BOX UNIT BIGDIR OUT: append each big message, SIGKILL the writer
# at a random moment of what a whole append takes (timed first, into a
# scratch box, so slow sanitizer builds are killed mid-write too); record
# the Message-IDs of appends that finished.
import os, random, re, subprocess, sys, time
box, unit, big, out = sys.argv[1:5]
random.seed(3)
full = 0
for i in range(3):
    t0 = time.time()
    subprocess.run([unit, "mbappend", box + ".timing", "t"], stdin=open(os.path.join(big, "199"), "rb"))
    full = max(full, time.time() - t0)
done, killed = [], 0
for i in range(200):
    msg = os.path.join(big, str(i))
    p = subprocess.Popen([unit, "mbappend", box, "killed"], stdin=open(msg, "rb"), stderr=subprocess.DEVNULL)
    time.sleep(random.uniform(0, 1.2 * full))
    p.kill()
    if p.wait() == 0:
        done.append(re.search(rb"^Message-ID: (<[^>]*>)", open(msg, "rb").read(), re.M).group(1).decode())
    else:
        killed += 1
open(os.path.join(out, "delivered"), "w").write("\n".join(done) + "\n")
print(killed)
PY
for box in mbox Maildir mdir; do
	k=$(python3 "$T/kill.py" "$B/$box.k" "$UNIT" "$T/big" "$T/big" 2>&1)
	diag "$box: $k of 200 appends killed"
	"$UNIT" mbappend "$B/$box.k" after <"$T/msgs/0" >/dev/null 2>&1 || notok "append after the kills"
	dump "$B/$box.k" "$T/got.$box.k"
	rm -f "$T/got.$box.k/$(wc -l <"$T/got.$box.k.list" | tr -d ' ')"	# the message appended after
	out=$(python3 "$T/check.py" "$T/big" "$T/got.$box.k" some 2>&1); st=$?
	is "$st" 0 "$box: after 200 killed appends every message is whole, none merged, none lost"
	[ $st = 0 ] || echo "$out" | head -10
done
is "$(ls -a "$B" | grep -c '\.lock$')" 0 "no dotlock left after the kills"
cut=$(grep -c 'dead writer' "$UPASROOT/log/mbox" 2>/dev/null)
diag "mbox: ${cut:-0} partial messages of killed writers cut off by the next append"
out=$(python3 - "$B/mbox.k" <<'PY'
import mailbox, sys
print(len(mailbox.mbox(sys.argv[1], create=False)))
PY
)
is "$out" "$(wc -l <"$T/got.mbox.k.list" | tr -d ' ')" "Python reads the killed-writers mbox the same"

done_testing
